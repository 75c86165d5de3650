/* RecordBatch v2: header access, Produce validation, iteration, building.
 * The byte layout is at the top of records.h.
 *
 * Error codes gr_records_validate answers, checked against Apache Kafka 4's
 * broker (ProduceRequest.validateRecords, UnifiedLog.analyzeAndValidateRecords,
 * LogValidator, DefaultRecord.readFrom). Since KIP-467 (Kafka 2.4) Kafka's
 * org.apache.kafka.common.InvalidRecordException maps to INVALID_RECORD (87),
 * not CORRUPT_MESSAGE; only a failed CRC or an impossible batch length is
 * CORRUPT_MESSAGE. In the order Kafka checks:
 *
 *   no complete batch (empty, truncated)      INVALID_RECORD
 *   batchLength < 14 (Kafka's V0 overhead)    CORRUPT_MESSAGE
 *   magic != 2 (magic 0/1)                    INVALID_RECORD (Kafka 4 has no
 *                                             Produce v0-2, and v3+ demands
 *                                             magic 2 with this error)
 *   zstd in Produce < v7                      UNSUPPORTED_COMPRESSION_TYPE
 *   a second complete batch (Produce v3+)     INVALID_RECORD, whatever the
 *                                             producer (idempotent or not)
 *   bytes after the batch not a whole batch   CORRUPT_MESSAGE  [Kafka drops
 *                                             them silently; we refuse]
 *   baseOffset != 0 (client)                  INVALID_RECORD
 *   12 + batchLength > max.message.bytes      MESSAGE_TOO_LARGE
 *   batch shorter than 61 bytes, CRC wrong    CORRUPT_MESSAGE
 *   lastOffsetDelta+1 <= 0, recordCount <= 0,
 *   recordCount != lastOffsetDelta + 1        INVALID_RECORD
 *   control batch from a client               INVALID_RECORD
 *   producerId >= 0 and baseSequence < 0      INVALID_RECORD
 *   codec 5-7                                 UNSUPPORTED_COMPRESSION_TYPE
 *                                             [Kafka: an IllegalArgumentException,
 *                                             so UNKNOWN_SERVER_ERROR]
 *   compressed data does not decode           INVALID_RECORD [Kafka:
 *                                             UNKNOWN_SERVER_ERROR via
 *                                             KafkaException]
 *   decompressed size over the bound          MESSAGE_TOO_LARGE [Kafka has
 *                                             no bound; this code lets the
 *                                             Java producer split the batch]
 *   a record does not parse, fewer records
 *   than recordCount, bytes left over         INVALID_RECORD
 *   offsetDelta != record index (client)      INVALID_RECORD [Kafka rewrites
 *                                             compressed batches and ignores
 *                                             it in uncompressed ones; we store
 *                                             bytes as received, so refuse]
 *   key missing on a compacted topic          INVALID_RECORD + RecordErrors
 *   timestamp out of the before/after range,
 *   or a client batch marked LogAppendTime    INVALID_TIMESTAMP + RecordErrors
 *   all batches > segment.bytes               RECORD_LIST_TOO_LARGE
 *
 * Record-level errors (the last two groups) are collected over the whole
 * batch, like Kafka's ApiRecordError list, and turned into one error at its
 * end: INVALID_TIMESTAMP if any was a timestamp error, else INVALID_RECORD.
 * Only then does Kafka fill the response's ErrorMessage. */
#include "protocol/records.h"
#include "base/crc32c.h"
#include "base/err.h"
#include "protocol/compress.h"
#include "protocol/errors.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#define LEGACY_RECORD_OVERHEAD_V0 14

/* ---- header ---- */

int gr_batch_hdr_parse(const uint8_t *p, size_t len, gr_batch_hdr_t *h)
{
    if (len < GR_BATCH_HDR_SIZE)
        return GR_EMALFORMED;
    h->base_offset = (int64_t)gr_be64(p + GR_BATCH_OFF_BASE_OFFSET);
    h->batch_length = (int32_t)gr_be32(p + GR_BATCH_OFF_LENGTH);
    h->partition_leader_epoch = (int32_t)gr_be32(p + GR_BATCH_OFF_LEADER_EPOCH);
    h->magic = (int8_t)p[GR_BATCH_OFF_MAGIC];
    h->crc = gr_be32(p + GR_BATCH_OFF_CRC);
    h->attributes = (int16_t)gr_be16(p + GR_BATCH_OFF_ATTRIBUTES);
    h->last_offset_delta = (int32_t)gr_be32(p + GR_BATCH_OFF_LAST_OFFSET_DELTA);
    h->base_timestamp = (int64_t)gr_be64(p + GR_BATCH_OFF_BASE_TIMESTAMP);
    h->max_timestamp = (int64_t)gr_be64(p + GR_BATCH_OFF_MAX_TIMESTAMP);
    h->producer_id = (int64_t)gr_be64(p + GR_BATCH_OFF_PRODUCER_ID);
    h->producer_epoch = (int16_t)gr_be16(p + GR_BATCH_OFF_PRODUCER_EPOCH);
    h->base_sequence = (int32_t)gr_be32(p + GR_BATCH_OFF_BASE_SEQUENCE);
    h->record_count = (int32_t)gr_be32(p + GR_BATCH_OFF_RECORD_COUNT);
    return 0;
}

/* Kafka's DefaultRecordBatch.incrementSequence: wraps past INT32_MAX to 0. */
static int32_t seq_add(int32_t seq, int32_t n)
{
    if (seq > INT32_MAX - n)
        return n - (INT32_MAX - seq) - 1;
    return seq + n;
}

int32_t gr_batch_last_sequence(const gr_batch_hdr_t *h)
{
    if (h->base_sequence == GR_NO_SEQUENCE || h->last_offset_delta < 0)
        return GR_NO_SEQUENCE;
    return seq_add(h->base_sequence, h->last_offset_delta);
}

int gr_batch_span(const uint8_t *p, size_t len, size_t *size)
{
    if (len < GR_LOG_OVERHEAD)
        return GR_EMALFORMED;
    int32_t blen = (int32_t)gr_be32(p + GR_BATCH_OFF_LENGTH);
    if (blen < GR_BATCH_MIN_LENGTH || (uint64_t)blen > len - GR_LOG_OVERHEAD)
        return GR_EMALFORMED;
    *size = GR_LOG_OVERHEAD + (size_t)blen;
    return 0;
}

uint32_t gr_batch_crc_compute(const uint8_t *batch, size_t size)
{
    return gr_crc32c(0, batch + GR_BATCH_OFF_ATTRIBUTES, size - GR_BATCH_OFF_ATTRIBUTES);
}

bool gr_batch_crc_ok(const uint8_t *batch, size_t size)
{
    return size >= GR_BATCH_HDR_SIZE &&
           gr_be32(batch + GR_BATCH_OFF_CRC) == gr_batch_crc_compute(batch, size);
}

void gr_batch_set_base_offset(uint8_t *batch, int64_t base_offset)
{
    gr_wbe64(batch + GR_BATCH_OFF_BASE_OFFSET, (uint64_t)base_offset);
}

void gr_batch_set_partition_leader_epoch(uint8_t *batch, int32_t epoch)
{
    gr_wbe32(batch + GR_BATCH_OFF_LEADER_EPOCH, (uint32_t)epoch);
}

void gr_batch_set_max_timestamp(uint8_t *batch, size_t size, int ts_type, int64_t max_timestamp)
{
    uint16_t attr = gr_be16(batch + GR_BATCH_OFF_ATTRIBUTES);
    uint16_t nattr = ts_type == GR_TS_LOG_APPEND_TIME ? (uint16_t)(attr | GR_BATCH_ATTR_LOG_APPEND_TIME)
                                                      : (uint16_t)(attr & ~GR_BATCH_ATTR_LOG_APPEND_TIME);
    if (nattr == attr && (int64_t)gr_be64(batch + GR_BATCH_OFF_MAX_TIMESTAMP) == max_timestamp)
        return;
    gr_wbe16(batch + GR_BATCH_OFF_ATTRIBUTES, nattr);
    gr_wbe64(batch + GR_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)max_timestamp);
    gr_wbe32(batch + GR_BATCH_OFF_CRC, gr_batch_crc_compute(batch, size));
}

/* ---- record parsing ---- */

/* Kafka's varint limits: 5 bytes for an int, 10 for a long. */
static int rd_uvar(const uint8_t *p, size_t end, size_t *off, int max_bytes, uint64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < max_bytes; i++) {
        if (*off >= end)
            return -1;
        uint8_t b = p[(*off)++];
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

static int rd_varint(const uint8_t *p, size_t end, size_t *off, int32_t *out)
{
    uint64_t u;
    if (rd_uvar(p, end, off, 5, &u) || u > UINT32_MAX)
        return -1;
    uint32_t v = (uint32_t)u;
    *out = (int32_t)((v >> 1) ^ (0u - (v & 1)));
    return 0;
}

static int rd_varlong(const uint8_t *p, size_t end, size_t *off, int64_t *out)
{
    uint64_t u;
    if (rd_uvar(p, end, off, 10, &u))
        return -1;
    *out = (int64_t)((u >> 1) ^ (0ull - (u & 1)));
    return 0;
}

/* A length-prefixed byte string: len -1 is null when nullable. */
static int rd_bytes(const uint8_t *p, size_t end, size_t *off, bool nullable, gr_bytes_t *out)
{
    int32_t n;
    if (rd_varint(p, end, off, &n))
        return -1;
    if (n == -1 && nullable) {
        out->ptr = NULL;
        out->len = -1;
        return 0;
    }
    if (n < 0 || (size_t)n > end - *off)
        return -1;
    out->ptr = p + *off;
    out->len = n;
    *off += (size_t)n;
    return 0;
}

/* Parses the record at p[*off..len) into rec (index, timestamp, offset are
 * the caller's). On failure returns GR_EMALFORMED with *why set. */
static int parse_record(const uint8_t *p, size_t len, size_t *off, gr_record_t *rec, const char **why)
{
    int32_t size;
    if (rd_varint(p, len, off, &size)) {
        *why = "bad record length varint";
        return GR_EMALFORMED;
    }
    if (size < 0 || (size_t)size > len - *off) {
        *why = "record length runs past the end of the batch";
        return GR_EMALFORMED;
    }
    size_t end = *off + (size_t)size;
    if (*off >= end) {
        *why = "record too short";
        return GR_EMALFORMED;
    }
    rec->attributes = (int8_t)p[(*off)++];
    if (rd_varlong(p, end, off, &rec->timestamp_delta) || rd_varint(p, end, off, &rec->offset_delta)) {
        *why = "bad timestamp or offset delta";
        return GR_EMALFORMED;
    }
    if (rd_bytes(p, end, off, true, &rec->key)) {
        *why = "bad key length";
        return GR_EMALFORMED;
    }
    if (rd_bytes(p, end, off, true, &rec->value)) {
        *why = "bad value length";
        return GR_EMALFORMED;
    }
    if (rd_varint(p, end, off, &rec->header_count) || rec->header_count < 0 ||
        (size_t)rec->header_count > (end - *off) / 2) {
        *why = "invalid number of record headers";
        return GR_EMALFORMED;
    }
    rec->headers = p + *off;
    for (int32_t i = 0; i < rec->header_count; i++) {
        gr_bytes_t k, v;
        if (rd_bytes(p, end, off, false, &k)) {
            *why = "bad or null header key";
            return GR_EMALFORMED;
        }
        if (rd_bytes(p, end, off, true, &v)) {
            *why = "bad header value length";
            return GR_EMALFORMED;
        }
    }
    rec->headers_len = (size_t)(p + *off - rec->headers);
    if (*off != end) {
        *why = "record length does not match its contents";
        return GR_EMALFORMED;
    }
    return 0;
}

int gr_record_header_next(const gr_record_t *rec, size_t *pos, gr_record_header_t *h)
{
    if (*pos >= rec->headers_len)
        return 0;
    if (rd_bytes(rec->headers, rec->headers_len, pos, false, &h->key) ||
        rd_bytes(rec->headers, rec->headers_len, pos, true, &h->value))
        return GR_EMALFORMED;
    return 1;
}

/* ---- iterator ---- */

int gr_record_iter_init(gr_record_iter_t *it, const uint8_t *batch, size_t size, gr_buf_t *scratch,
                        size_t max_decompressed)
{
    memset(it, 0, sizeof *it);
    it->err = GR_EMALFORMED;
    if (gr_batch_hdr_parse(batch, size, &it->hdr) || it->hdr.magic != 2 ||
        it->hdr.batch_length < GR_BATCH_MIN_LENGTH || (uint64_t)gr_batch_size(&it->hdr) > size ||
        it->hdr.record_count < 0)
        return GR_EMALFORMED;
    const uint8_t *recs = batch + GR_BATCH_HDR_SIZE;
    size_t recs_len = (size_t)gr_batch_size(&it->hdr) - GR_BATCH_HDR_SIZE;
    int codec = gr_batch_codec(&it->hdr);
    if (codec == GR_CODEC_NONE) {
        it->p = recs;
        it->len = recs_len;
    } else if (codec <= GR_CODEC_ZSTD) {
        if (!scratch)
            return it->err = GR_EINVAL;
        gr_buf_reset(scratch);
        int rc = gr_decompress(codec, recs, recs_len, scratch,
                               max_decompressed ? max_decompressed : GR_RECORDS_DEFAULT_MAX_DECOMPRESSED);
        if (rc)
            return it->err = rc;
        it->p = scratch->data;
        it->len = scratch->len;
    } else {
        return GR_EMALFORMED;
    }
    it->err = 0;
    return 0;
}

/* Parses the next record; *why says what was wrong on GR_EMALFORMED. */
static int iter_next(gr_record_iter_t *it, gr_record_t *rec, const char **why)
{
    if (it->err)
        return it->err;
    if (it->index >= it->hdr.record_count) {
        if (it->off != it->len) {
            *why = "bytes remain after the declared number of records";
            return it->err = GR_EMALFORMED;
        }
        return 0;
    }
    if (it->off >= it->len) {
        *why = "fewer records than the declared count";
        return it->err = GR_EMALFORMED;
    }
    int rc = parse_record(it->p, it->len, &it->off, rec, why);
    if (rc)
        return it->err = rc;
    rec->index = it->index++;
    /* Java's long arithmetic wraps; so does ours, without UB. */
    rec->offset = (int64_t)((uint64_t)it->hdr.base_offset + (uint64_t)(int64_t)rec->offset_delta);
    if (gr_batch_timestamp_type(&it->hdr) == GR_TS_LOG_APPEND_TIME)
        rec->timestamp = it->hdr.max_timestamp;
    else
        rec->timestamp = (int64_t)((uint64_t)it->hdr.base_timestamp + (uint64_t)rec->timestamp_delta);
    return 1;
}

int gr_record_iter_next(gr_record_iter_t *it, gr_record_t *rec)
{
    const char *why = NULL;
    return iter_next(it, rec, &why);
}

/* ---- validation ---- */

typedef struct {
    const gr_records_validate_opts_t *opts;
    gr_records_validate_result_t     *res;
    char                              tp[192]; /* "topic-partition" for messages */
    int                               n_ts_errors;
} vctx_t;

__attribute__((format(printf, 3, 4))) static void fail(vctx_t *v, int16_t code, const char *fmt, ...)
{
    if (v->res->error_code)
        return;
    v->res->error_code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->res->error_message, sizeof v->res->error_message, fmt, ap);
    va_end(ap);
}

__attribute__((format(printf, 4, 5))) static void record_error(vctx_t *v, bool ts, int32_t index,
                                                                 const char *fmt, ...)
{
    gr_records_validate_result_t *res = v->res;
    if (ts)
        v->n_ts_errors++;
    if (res->record_error_count < GR_RECORDS_MAX_RECORD_ERRORS) {
        gr_record_error_t *e = &res->record_errors[res->record_error_count];
        e->batch_index = index;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->message, sizeof e->message, fmt, ap);
        va_end(ap);
    }
    if (res->record_error_count < INT32_MAX)
        res->record_error_count++;
}

static bool is_client(const gr_records_validate_opts_t *o) { return o->produce_version >= 0; }

static int16_t client_version(const gr_records_validate_opts_t *o)
{
    return o->produce_version < 3 ? 3 : o->produce_version;
}

/* Kafka's ProduceRequest.validateRecords and the framing of
 * ByteBufferLogInputStream: finds the batches. Returns false on error. */
static bool check_framing(vctx_t *v, const uint8_t *data, size_t len)
{
    const gr_records_validate_opts_t *o = v->opts;
    size_t pos = 0;
    int32_t n = 0;
    while (pos < len) {
        size_t left = len - pos;
        int32_t blen = left >= GR_LOG_OVERHEAD ? (int32_t)gr_be32(data + pos + GR_BATCH_OFF_LENGTH) : 0;
        if (left >= GR_LOG_OVERHEAD && blen < LEGACY_RECORD_OVERHEAD_V0) {
            fail(v, GR_KERR_CORRUPT_MESSAGE,
                 "Record size %" PRId32 " is less than the minimum record overhead (%d)", blen,
                 LEGACY_RECORD_OVERHEAD_V0);
            return false;
        }
        if (left < GR_LOG_OVERHEAD || (uint64_t)blen > left - GR_LOG_OVERHEAD) {
            if (n == 0)
                fail(v, GR_KERR_INVALID_RECORD,
                     "Produce requests with version %d must have at least one record batch per partition",
                     is_client(o) ? client_version(o) : 3);
            else
                fail(v, GR_KERR_CORRUPT_MESSAGE,
                     "Trailing %zu bytes after the last complete record batch in %s", left, v->tp);
            return false;
        }
        const uint8_t *b = data + pos;
        if (b[GR_BATCH_OFF_MAGIC] != 2) {
            fail(v, GR_KERR_INVALID_RECORD,
                 "Produce requests with version %d are only allowed to contain record batches with "
                 "magic version 2",
                 is_client(o) ? client_version(o) : 3);
            return false;
        }
        if (n == 0 && is_client(o) && client_version(o) < 7 &&
            (gr_be16(b + GR_BATCH_OFF_ATTRIBUTES) & GR_BATCH_ATTR_CODEC_MASK) == GR_CODEC_ZSTD) {
            fail(v, GR_KERR_UNSUPPORTED_COMPRESSION_TYPE,
                 "Produce requests with version %d are not allowed to use ZStandard compression",
                 client_version(o));
            return false;
        }
        if (n == 1 && is_client(o)) {
            fail(v, GR_KERR_INVALID_RECORD,
                 "Produce requests with version %d are only allowed to contain exactly one record "
                 "batch per partition",
                 client_version(o));
            return false;
        }
        n++;
        pos += GR_LOG_OVERHEAD + (size_t)blen;
    }
    if (n == 0) {
        fail(v, GR_KERR_INVALID_RECORD,
             "Produce requests with version %d must have at least one record batch per partition",
             is_client(o) ? client_version(o) : 3);
        return false;
    }
    return true;
}

/* Kafka's LogValidator.validateBatch for a client's batch. */
static bool check_batch_header(vctx_t *v, const gr_batch_hdr_t *h)
{
    int64_t last = (int64_t)h->last_offset_delta; /* base offset is 0 here */
    if (!is_client(v->opts)) {
        /* Broker-made batches: compaction may leave fewer records than the
         * offset range, and empty batches are legal. */
        if (h->record_count < 0 || h->last_offset_delta < -1 ||
            (int64_t)h->record_count > last + 1) {
            fail(v, GR_KERR_CORRUPT_MESSAGE,
                 "Batch offset range [%" PRId64 ", %" PRId64 "] cannot hold %" PRId32 " records in %s",
                 h->base_offset, gr_batch_last_offset(h), h->record_count, v->tp);
            return false;
        }
        return true;
    }
    if (last + 1 <= 0) {
        fail(v, GR_KERR_INVALID_RECORD,
             "Batch has an invalid offset range: [%" PRId64 ", %" PRId64 "] in topic partition %s.",
             h->base_offset, gr_batch_last_offset(h), v->tp);
        return false;
    }
    if (h->record_count <= 0) {
        fail(v, GR_KERR_INVALID_RECORD,
             "Invalid reported count for record batch: %" PRId32 " in topic partition %s.",
             h->record_count, v->tp);
        return false;
    }
    if (last + 1 != h->record_count) {
        fail(v, GR_KERR_INVALID_RECORD,
             "Inconsistent batch offset range [%" PRId64 ", %" PRId64
             "] and count of records %" PRId32 " in topic partition %s.",
             h->base_offset, gr_batch_last_offset(h), h->record_count, v->tp);
        return false;
    }
    if (gr_batch_is_control(h)) {
        fail(v, GR_KERR_INVALID_RECORD,
             "Clients are not allowed to write control records in topic partition %s.", v->tp);
        return false;
    }
    if (h->producer_id >= 0 && h->base_sequence < 0) {
        fail(v, GR_KERR_INVALID_RECORD,
             "Invalid sequence number %" PRId32 " in record batch with producerId %" PRId64
             " in topic partition %s.",
             h->base_sequence, h->producer_id, v->tp);
        return false;
    }
    return true;
}

/* ts < now - before || ts > now + after, without overflow; a bound of 0 or
 * INT64_MAX is disabled. */
static bool ts_out_of_range(const gr_records_validate_opts_t *o, int64_t ts, int64_t *lo, int64_t *hi)
{
    int64_t now = o->now_ms;
    int64_t before = o->timestamp_before_max_ms, after = o->timestamp_after_max_ms;
    *lo = (before <= 0 || before == INT64_MAX || now < INT64_MIN + before) ? INT64_MIN : now - before;
    *hi = (after <= 0 || after == INT64_MAX || now > INT64_MAX - after) ? INT64_MAX : now + after;
    return ts < *lo || ts > *hi;
}

/* Walks the records of one batch. Returns 0 when done (v->res->error_code
 * says whether they passed) or GR_ENOMEM. */
static int check_records(vctx_t *v, uint8_t *batch, size_t size, const gr_batch_hdr_t *h,
                         gr_buf_t *scratch, gr_batch_info_t *info)
{
    const gr_records_validate_opts_t *o = v->opts;
    size_t maxdec = o->max_decompressed_bytes ? o->max_decompressed_bytes : GR_RECORDS_DEFAULT_MAX_DECOMPRESSED;
    int codec = gr_batch_codec(h);
    if (codec > GR_CODEC_ZSTD) {
        fail(v, GR_KERR_UNSUPPORTED_COMPRESSION_TYPE, "Unknown compression type id: %d", codec);
        return 0;
    }
    gr_record_iter_t it;
    int rc = gr_record_iter_init(&it, batch, size, scratch, maxdec);
    if (rc == GR_ENOMEM)
        return rc;
    if (rc == GR_ETOOBIG) {
        fail(v, GR_KERR_MESSAGE_TOO_LARGE,
             "The %s-compressed record batch in %s decompresses to more than %zu bytes",
             gr_codec_name(codec), v->tp, maxdec);
        return 0;
    }
    if (rc) {
        fail(v, GR_KERR_INVALID_RECORD, "Failed to decompress the %s record batch in %s",
             gr_codec_name(codec), v->tp);
        return 0;
    }
    bool client = is_client(o);
    bool lat_topic = o->timestamp_type == GR_TS_LOG_APPEND_TIME;
    bool lat_batch = gr_batch_timestamp_type(h) == GR_TS_LOG_APPEND_TIME;
    int64_t max_ts = GR_NO_TIMESTAMP;
    int32_t max_ts_delta = 0, prev_delta = -1;
    gr_record_t rec;
    const char *why = "malformed record";
    while ((rc = iter_next(&it, &rec, &why)) == 1) {
        if (client ? rec.offset_delta != rec.index
                   : (rec.offset_delta <= prev_delta || rec.offset_delta > h->last_offset_delta)) {
            fail(v, GR_KERR_INVALID_RECORD,
                 "Record %" PRId32 " has offset delta %" PRId32 " (expected %s%" PRId64 ") in %s",
                 rec.index, rec.offset_delta, client ? "" : "at least ",
                 client ? (int64_t)rec.index : (int64_t)prev_delta + 1, v->tp);
            return 0;
        }
        prev_delta = rec.offset_delta;
        /* Kafka's validateRecord: one error per record, key first. */
        int64_t lo, hi;
        if (o->require_keys && rec.key.len < 0) {
            record_error(v, false, rec.index,
                         "Compacted topic cannot accept message without key in topic partition %s.", v->tp);
        } else if (!lat_topic && rec.timestamp != GR_NO_TIMESTAMP &&
                   ts_out_of_range(o, rec.timestamp, &lo, &hi)) {
            record_error(v, true, rec.index,
                         "Timestamp %" PRId64 " of message with offset %" PRId64
                         " is out of range. The timestamp should be within [%" PRId64 ", %" PRId64 "]",
                         rec.timestamp, rec.offset, lo, hi);
        } else if ((lat_topic || rec.timestamp == GR_NO_TIMESTAMP) && lat_batch && client) {
            record_error(v, true, rec.index,
                         "Invalid timestamp type in message with offset %" PRId64
                         ". Producer should not set timestamp type to LogAppendTime.",
                         rec.offset);
        }
        if (rec.timestamp > max_ts) {
            max_ts = rec.timestamp;
            max_ts_delta = rec.offset_delta;
        }
    }
    if (rc < 0) {
        fail(v, GR_KERR_INVALID_RECORD, "Invalid record in %s: %s", v->tp, why);
        return 0;
    }
    gr_records_validate_result_t *res = v->res;
    if (res->record_error_count > 0) {
        if (v->n_ts_errors > 0)
            fail(v, GR_KERR_INVALID_TIMESTAMP, "One or more records have been rejected due to invalid timestamp");
        else
            fail(v, GR_KERR_INVALID_RECORD,
                 "One or more records have been rejected due to %" PRId32 " record errors in total, "
                 "and only showing the first three errors at most: %s",
                 res->record_error_count, res->record_errors[0].message);
        res->error_message_on_wire = true;
        return 0;
    }
    /* Kafka's setMaxTimestamp after a successful validation. */
    uint8_t before[GR_BATCH_HDR_SIZE];
    memcpy(before, batch, sizeof before);
    if (lat_topic) {
        gr_batch_set_max_timestamp(batch, size, GR_TS_LOG_APPEND_TIME, o->now_ms);
        max_ts = o->now_ms;
        max_ts_delta = 0;
        res->log_append_time_ms = o->now_ms;
    } else {
        gr_batch_set_max_timestamp(batch, size, GR_TS_CREATE_TIME, max_ts);
    }
    if (memcmp(before, batch, sizeof before))
        res->rewritten = true;
    if (info) {
        info->record_count = h->record_count;
        info->codec = codec;
        info->transactional = gr_batch_is_transactional(h);
        info->control = gr_batch_is_control(h);
        info->producer_id = h->producer_id;
        info->producer_epoch = h->producer_epoch;
        info->base_sequence = h->base_sequence;
        info->last_sequence = gr_batch_last_sequence(h);
        info->max_timestamp = max_ts;
        info->offset_delta_of_max_timestamp = max_ts_delta;
    }
    return 0;
}

int gr_records_validate(uint8_t *data, size_t len, const gr_records_validate_opts_t *opts,
                        gr_records_validate_result_t *res)
{
    gr_batch_info_t *infos = res->batches;
    int32_t cap = infos ? res->batches_cap : 0;
    memset(res, 0, sizeof *res);
    res->batches = infos;
    res->batches_cap = cap;
    res->log_append_time_ms = -1;

    vctx_t v;
    memset(&v, 0, sizeof v);
    v.opts = opts;
    v.res = res;
    if (opts->topic)
        snprintf(v.tp, sizeof v.tp, "%s-%" PRId32, opts->topic, opts->partition);
    else
        snprintf(v.tp, sizeof v.tp, "partition %" PRId32, opts->partition);

    if (!data && len)
        len = 0;
    if (!check_framing(&v, data, len))
        return 0;

    gr_buf_t local;
    gr_buf_init(&local);
    gr_buf_t *scratch = opts->scratch ? opts->scratch : &local;
    int rc = 0;
    size_t pos = 0;
    while (pos < len && !res->error_code) {
        uint8_t *b = data + pos;
        size_t size = GR_LOG_OVERHEAD + (size_t)gr_be32(b + GR_BATCH_OFF_LENGTH); /* framing checked */
        int64_t base_offset = (int64_t)gr_be64(b + GR_BATCH_OFF_BASE_OFFSET);
        if (is_client(opts) && base_offset != 0) {
            fail(&v, GR_KERR_INVALID_RECORD,
                 "The baseOffset of the record batch in the append to %s should be 0, but it is %" PRId64,
                 v.tp, base_offset);
            break;
        }
        if (opts->max_message_bytes > 0 && (int64_t)size > opts->max_message_bytes) {
            fail(&v, GR_KERR_MESSAGE_TOO_LARGE,
                 "The record batch size in the append to %s is %zu bytes which exceeds the maximum "
                 "configured value of %" PRId64 ".",
                 v.tp, size, opts->max_message_bytes);
            break;
        }
        if (!gr_batch_crc_ok(b, size)) {
            fail(&v, GR_KERR_CORRUPT_MESSAGE, "Record is corrupt (stored crc = %" PRIu32 ") in topic partition %s.",
                 size >= GR_BATCH_OFF_CRC + 4 ? gr_be32(b + GR_BATCH_OFF_CRC) : 0, v.tp);
            break;
        }
        gr_batch_hdr_t h;
        gr_batch_hdr_parse(b, size, &h); /* size >= 61: the CRC check ensured it */
        if (!check_batch_header(&v, &h))
            break;
        gr_batch_info_t *info = res->batch_count < cap ? &infos[res->batch_count] : NULL;
        if (info) {
            memset(info, 0, sizeof *info);
            info->pos = pos;
            info->size = size;
        }
        rc = check_records(&v, b, size, &h, scratch, info);
        if (rc || res->error_code)
            break;
        res->batch_count++;
        res->record_count += h.record_count;
        pos += size;
    }
    gr_buf_free(&local);
    if (rc)
        return rc;
    if (!res->error_code && opts->segment_bytes > 0 && (int64_t)len > opts->segment_bytes)
        fail(&v, GR_KERR_RECORD_LIST_TOO_LARGE,
             "Message batch size is %zu bytes in append to partition %s which exceeds the maximum "
             "configured segment size of %" PRId64 ".",
             len, v.tp, opts->segment_bytes);
    if (res->error_code) {
        res->batch_count = 0;
        res->record_count = 0;
        res->log_append_time_ms = -1;
    }
    return 0;
}

/* ---- builder ---- */

void gr_batch_builder_init(gr_batch_builder_t *b, int codec)
{
    memset(b, 0, sizeof *b);
    gr_buf_init(&b->records);
    b->codec = codec;
    b->partition_leader_epoch = -1;
    b->producer_id = GR_NO_PRODUCER_ID;
    b->producer_epoch = -1;
    b->base_sequence = GR_NO_SEQUENCE;
    b->base_timestamp = GR_NO_TIMESTAMP;
    b->max_timestamp = GR_NO_TIMESTAMP;
    b->log_append_time = GR_NO_TIMESTAMP;
    b->last_delta = -1;
    if (codec < GR_CODEC_NONE || codec > GR_CODEC_ZSTD)
        b->err = GR_EUNSUPPORTED;
}

void gr_batch_builder_free(gr_batch_builder_t *b) { gr_buf_free(&b->records); }

void gr_batch_builder_set_base_offset(gr_batch_builder_t *b, int64_t base_offset) { b->base_offset = base_offset; }

void gr_batch_builder_set_partition_leader_epoch(gr_batch_builder_t *b, int32_t epoch)
{
    b->partition_leader_epoch = epoch;
}

void gr_batch_builder_set_producer(gr_batch_builder_t *b, int64_t producer_id, int16_t epoch,
                                   int32_t base_sequence, bool transactional)
{
    b->producer_id = producer_id;
    b->producer_epoch = epoch;
    b->base_sequence = base_sequence;
    if (transactional)
        b->attributes |= GR_BATCH_ATTR_TRANSACTIONAL;
    else
        b->attributes &= ~GR_BATCH_ATTR_TRANSACTIONAL;
}

void gr_batch_builder_set_control(gr_batch_builder_t *b, bool control)
{
    if (control)
        b->attributes |= GR_BATCH_ATTR_CONTROL;
    else
        b->attributes &= ~GR_BATCH_ATTR_CONTROL;
}

void gr_batch_builder_set_log_append_time(gr_batch_builder_t *b, int64_t now_ms)
{
    b->attributes |= GR_BATCH_ATTR_LOG_APPEND_TIME;
    b->log_append_time = now_ms;
}

static size_t bytes_size(gr_bytes_t x)
{
    return x.len < 0 ? gr_varint_size(-1) : gr_varint_size(x.len) + (size_t)x.len;
}

static void put_bytes(gr_buf_t *o, gr_bytes_t x)
{
    if (x.len < 0) {
        gr_buf_put_varint(o, -1);
        return;
    }
    gr_buf_put_varint(o, x.len);
    gr_buf_put(o, x.ptr, (size_t)x.len);
}

void gr_batch_builder_set_delete_horizon(gr_batch_builder_t *b, int64_t horizon_ms)
{
    b->attributes |= GR_BATCH_ATTR_DELETE_HORIZON;
    b->base_timestamp = horizon_ms;
    b->fixed_base_ts = true;
}

int gr_batch_builder_add(gr_batch_builder_t *b, int64_t timestamp, gr_bytes_t key, gr_bytes_t value,
                         const gr_record_header_t *headers, int32_t header_count)
{
    if (b->last_delta == INT32_MAX)
        return b->err = GR_EINVAL;
    return gr_batch_builder_add_at(b, b->last_delta + 1, timestamp, key, value, headers,
                                   header_count);
}

int gr_batch_builder_add_at(gr_batch_builder_t *b, int32_t offset_delta, int64_t timestamp,
                            gr_bytes_t key, gr_bytes_t value, const gr_record_header_t *headers,
                            int32_t header_count)
{
    if (b->err)
        return b->err;
    if (b->count == INT32_MAX || header_count < 0 || (header_count > 0 && !headers) ||
        offset_delta <= b->last_delta)
        return b->err = GR_EINVAL;
    if (b->count == 0 && !b->fixed_base_ts)
        b->base_timestamp = timestamp;
    int64_t ts_delta = (int64_t)((uint64_t)timestamp - (uint64_t)b->base_timestamp);
    /* Body size, computed in 64 bits so huge inputs are refused, not wrapped. */
    uint64_t body = 1 + gr_varlong_size(ts_delta) + gr_varint_size(offset_delta);
    body += bytes_size(key) + bytes_size(value) + gr_varint_size(header_count);
    for (int32_t i = 0; i < header_count; i++) {
        if (headers[i].key.len < 0)
            return b->err = GR_EINVAL; /* header keys are never null */
        body += bytes_size(headers[i].key) + bytes_size(headers[i].value);
    }
    if (body > INT32_MAX || b->records.len + body + 5 > INT32_MAX - GR_BATCH_HDR_SIZE)
        return b->err = GR_ETOOBIG;
    size_t start = b->records.len;
    gr_buf_put_varint(&b->records, (int32_t)body);
    gr_buf_put_i8(&b->records, 0); /* attributes */
    gr_buf_put_varlong(&b->records, ts_delta);
    gr_buf_put_varint(&b->records, offset_delta);
    put_bytes(&b->records, key);
    put_bytes(&b->records, value);
    gr_buf_put_varint(&b->records, header_count);
    for (int32_t i = 0; i < header_count; i++) {
        put_bytes(&b->records, headers[i].key);
        put_bytes(&b->records, headers[i].value);
    }
    if (b->records.oom) {
        b->records.len = start;
        return b->err = GR_ENOMEM;
    }
    if (b->count == 0 || timestamp > b->max_timestamp)
        b->max_timestamp = timestamp;
    b->count++;
    b->last_delta = offset_delta;
    return 0;
}

int gr_batch_builder_finish(gr_batch_builder_t *b, gr_buf_t *out)
{
    if (b->err)
        return b->err;
    if (out->counting)
        return GR_EINVAL;
    size_t start = out->len;
    uint8_t hdr[GR_BATCH_HDR_SIZE];
    memset(hdr, 0, sizeof hdr);
    gr_buf_put(out, hdr, sizeof hdr);
    if (out->oom)
        return GR_ENOMEM;
    int codec = b->records.len ? b->codec : GR_CODEC_NONE;
    if (codec == GR_CODEC_NONE) {
        gr_buf_put(out, b->records.data, b->records.len);
        if (out->oom) {
            out->len = start;
            return GR_ENOMEM;
        }
    } else {
        int rc = gr_compress(codec, b->records.data, b->records.len, out);
        if (rc) {
            out->len = start;
            return rc;
        }
    }
    size_t size = out->len - start;
    if (size - GR_LOG_OVERHEAD > INT32_MAX) {
        out->len = start;
        return GR_ETOOBIG;
    }
    uint8_t *p = out->data + start;
    int16_t attr = (int16_t)((b->attributes & ~GR_BATCH_ATTR_CODEC_MASK) | codec);
    int64_t max_ts = (b->attributes & GR_BATCH_ATTR_LOG_APPEND_TIME) ? b->log_append_time : b->max_timestamp;
    gr_wbe64(p + GR_BATCH_OFF_BASE_OFFSET, (uint64_t)b->base_offset);
    gr_wbe32(p + GR_BATCH_OFF_LENGTH, (uint32_t)(size - GR_LOG_OVERHEAD));
    gr_wbe32(p + GR_BATCH_OFF_LEADER_EPOCH, (uint32_t)b->partition_leader_epoch);
    p[GR_BATCH_OFF_MAGIC] = 2;
    gr_wbe16(p + GR_BATCH_OFF_ATTRIBUTES, (uint16_t)attr);
    gr_wbe32(p + GR_BATCH_OFF_LAST_OFFSET_DELTA, (uint32_t)b->last_delta);
    gr_wbe64(p + GR_BATCH_OFF_BASE_TIMESTAMP, (uint64_t)b->base_timestamp);
    gr_wbe64(p + GR_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)max_ts);
    gr_wbe64(p + GR_BATCH_OFF_PRODUCER_ID, (uint64_t)b->producer_id);
    gr_wbe16(p + GR_BATCH_OFF_PRODUCER_EPOCH, (uint16_t)b->producer_epoch);
    gr_wbe32(p + GR_BATCH_OFF_BASE_SEQUENCE, (uint32_t)b->base_sequence);
    gr_wbe32(p + GR_BATCH_OFF_RECORD_COUNT, (uint32_t)b->count);
    gr_wbe32(p + GR_BATCH_OFF_CRC, gr_batch_crc_compute(p, size));
    return 0;
}
