/* Down-conversion of stored RecordBatch v2 to message format v0/v1 for
 * Fetch v0-3; see downconvert.h for the contract.
 *
 * A legacy message set is messages back to back, no header. One message,
 * big-endian, offsets from its start:
 *
 *    0 offset       int64   absolute, except inside a magic-1 wrapper (below)
 *    8 messageSize  int32   bytes after this field: 14 + key + value (v0),
 *                           22 + key + value (v1)
 *   12 crc          uint32  CRC-32 (IEEE 802.3, zlib's crc32) of bytes 16..end
 *   16 magic        int8    0 or 1
 *   17 attributes   int8    bits 0-2 codec (0 none, 1 gzip, 2 snappy, 3 lz4),
 *                           bit 3 timestamp type (v1 only: 1 = LogAppendTime)
 *   18 timestamp    int64   v1 only
 *      keyLength    int32   -1 = null key
 *      key
 *      valueLength  int32   -1 = null value
 *      value
 *
 * Conversion of one v2 batch (Kafka's RecordsUtil.downConvert and
 * MemoryRecordsBuilder, reimplemented):
 *
 * - A control batch is dropped: v0/v1 have no transaction markers.
 * - Headers, producer id/epoch/sequence and leader epoch are dropped.
 * - Uncompressed: one message per record at its absolute offset; records
 *   below the fetch offset are dropped (an uncompressed v0/v1 "batch" is
 *   one message, so a fetch from the middle of a v2 batch must not return
 *   the records before it; some librdkafka versions rely on this).
 * - Compressed (gzip, snappy, lz4): one wrapper message whose attributes
 *   carry the batch's codec, with a null key and, as value, the message set
 *   of all the batch's records (records below the fetch offset included:
 *   the client skips them), each uncompressed, compressed as a whole.
 *   Magic 1: inner offsets relative to the first record's offset, wrapper
 *   offset = the last record's absolute offset, wrapper timestamp = the
 *   largest inner timestamp (the append time under LogAppendTime).
 *   Magic 0: inner offsets absolute, wrapper offset = the last offset.
 *   Compression framings are those of compress.h (xerial snappy, lz4 frame
 *   with independent 64 KiB blocks), which is what Kafka writes; for magic
 *   0 the lz4 frame header checksum is Kafka's original, "broken" one:
 *   xxh32 over the 4 magic bytes as well as FLG and BD, where the lz4 spec
 *   covers only FLG and BD (Kafka's KafkaLZ4BlockOutputStream with
 *   useBrokenFlagDescriptorChecksum; clients reading magic 0 expect it).
 * - zstd cannot be converted (no magic 0/1 codec): GR_EUNSUPPORTED.
 * - Timestamps (magic 1): the record's timestamp, which under LogAppendTime
 *   is the batch's maxTimestamp; attributes bit 3 set on every message of a
 *   LogAppendTime batch, inner and wrapper.
 *
 * Where Gregor differs from Kafka, on purpose:
 * - Each batch's CRC-32C is checked before it is converted (Kafka does not
 *   check, and would hand out corrupt data under fresh CRC-32s).
 * - Kafka's response reserves max(bytes read, first converted batch) and
 *   pads what conversion did not fill with an "overflow" message; Gregor
 *   sends the converted bytes without padding (the same messages).
 * - A zstd or corrupt batch after the first converted batch ends the
 *   output just before it; Kafka drops the whole 128 KiB conversion chunk
 *   that holds it, so it may send fewer messages than Gregor does.
 *
 * Memory: the result lives in the caller's arena; decompression and the
 * inner message sets use heap buffers freed before returning. Every length
 * comes from gr_record_iter, which bounds it by the batch (and the
 * decompression bound), and every message size is checked to fit int32
 * before it is written. */
#include "protocol/downconvert.h"
#include "base/buf.h"
#include "base/err.h"
#include "protocol/compress.h"
#include "protocol/records.h"

#include <stdbool.h>
#include <string.h>
#include <zlib.h>

/* Kafka's LazyDownConversionRecordsSend.MIN_OVERFLOW_MESSAGE_LENGTH
 * (the log overhead) and DefaultRecordBatch.RECORD_BATCH_OVERHEAD. */
#define OVERFLOW_STUB_LEN 12
#define OVERFLOW_STUB_SIZE 61

/* lz4 frame header: magic (4), FLG, BD, HC; we never write a content size. */
#define LZ4_FRAME_HC_POS 6

uint32_t gr_xxh32_short(const uint8_t *p, size_t len)
{
    const uint32_t P1 = 2654435761U, P2 = 2246822519U, P3 = 3266489917U, P4 = 668265263U,
                   P5 = 374761393U;
    uint32_t h = P5 + (uint32_t)len;
    size_t i = 0;
    for (; i + 4 <= len; i += 4) {
        uint32_t w = (uint32_t)p[i] | (uint32_t)p[i + 1] << 8 | (uint32_t)p[i + 2] << 16 |
                     (uint32_t)p[i + 3] << 24;
        h += w * P3;
        h = ((h << 17) | (h >> 15)) * P4;
    }
    for (; i < len; i++) {
        h += p[i] * P5;
        h = ((h << 11) | (h >> 21)) * P1;
    }
    h ^= h >> 15;
    h *= P2;
    h ^= h >> 13;
    h *= P3;
    h ^= h >> 16;
    return h;
}

typedef struct dc_s {
    int      magic;
    int64_t  fetch_offset;
    gr_buf_t out;     /* the converted message set */
    gr_buf_t inner;   /* a wrapper's message set before compression */
    gr_buf_t comp;    /* its compressed form */
    gr_buf_t scratch; /* the decompressed records of a v2 batch */
} dc_t;

static size_t blen(gr_bytes_t b) { return b.len > 0 ? (size_t)b.len : 0; }

/* Appends one legacy message to b; returns 0, GR_ETOOBIG or GR_ENOMEM. */
static int put_message(gr_buf_t *b, int magic, int64_t offset, uint8_t attrs, int64_t ts,
                       gr_bytes_t key, gr_bytes_t value)
{
    size_t body = (size_t)(magic ? GR_LEGACY_OVERHEAD_V1 : GR_LEGACY_OVERHEAD_V0) - GR_LOG_OVERHEAD;
    if (blen(key) > INT32_MAX - body || blen(value) > INT32_MAX - body - blen(key))
        return GR_ETOOBIG;
    size_t size = body + blen(key) + blen(value);
    if (gr_buf_reserve(b, GR_LOG_OVERHEAD + size))
        return GR_ENOMEM;
    size_t pos = b->len;
    gr_buf_put_i64(b, offset);
    gr_buf_put_i32(b, (int32_t)size);
    gr_buf_put_u32(b, 0); /* crc, below */
    gr_buf_put_i8(b, (int8_t)magic);
    gr_buf_put_i8(b, (int8_t)attrs);
    if (magic)
        gr_buf_put_i64(b, ts);
    gr_buf_put_i32(b, key.len < 0 ? -1 : key.len);
    gr_buf_put(b, key.ptr, blen(key));
    gr_buf_put_i32(b, value.len < 0 ? -1 : value.len);
    gr_buf_put(b, value.ptr, blen(value));
    if (b->oom)
        return GR_ENOMEM;
    uint8_t *m = b->data + pos;
    uLong crc = crc32(0L, m + 16, (uInt)(size - 4));
    gr_wbe32(m + 12, (uint32_t)crc);
    return 0;
}

/* Converts one non-control v2 batch (codec none, gzip, snappy or lz4) and
 * appends its messages to dc->out. On error dc->out is left as it was. */
static int convert_batch(dc_t *dc, const uint8_t *batch, size_t size)
{
    gr_record_iter_t it;
    int rc = gr_record_iter_init(&it, batch, size, &dc->scratch, 0);
    if (rc)
        return rc == GR_ENOMEM ? rc : GR_ECORRUPT;
    const gr_batch_hdr_t *h = &it.hdr;
    int codec = gr_batch_codec(h);
    bool lat = gr_batch_timestamp_type(h) == GR_TS_LOG_APPEND_TIME;
    uint8_t ts_attr = dc->magic && lat ? GR_LEGACY_ATTR_LOG_APPEND_TIME : 0;
    size_t start = dc->out.len;
    gr_buf_t *dst = codec == GR_CODEC_NONE ? &dc->out : &dc->inner;
    gr_buf_reset(&dc->inner);
    int64_t first = 0, last = 0, max_ts = GR_NO_TIMESTAMP;
    int32_t n = 0;
    gr_record_t r;
    while ((rc = gr_record_iter_next(&it, &r)) == 1) {
        if (codec == GR_CODEC_NONE && r.offset < dc->fetch_offset)
            continue;
        if (n++ == 0)
            first = r.offset;
        last = r.offset;
        if (r.timestamp > max_ts)
            max_ts = r.timestamp;
        /* Wraps like Java's long arithmetic on nonsense offsets, without UB. */
        int64_t off = codec != GR_CODEC_NONE && dc->magic
                          ? (int64_t)((uint64_t)r.offset - (uint64_t)first)
                          : r.offset;
        if ((rc = put_message(dst, dc->magic, off, ts_attr, r.timestamp, r.key, r.value)) != 0)
            goto fail;
    }
    if (rc < 0) {
        rc = GR_ECORRUPT;
        goto fail;
    }
    if (codec == GR_CODEC_NONE || n == 0)
        return 0;

    gr_buf_reset(&dc->comp);
    if ((rc = gr_compress(codec, dc->inner.data, dc->inner.len, &dc->comp)) != 0)
        goto fail;
    if (codec == GR_CODEC_LZ4 && dc->magic == 0 && dc->comp.len > LZ4_FRAME_HC_POS)
        dc->comp.data[LZ4_FRAME_HC_POS] = (uint8_t)(gr_xxh32_short(dc->comp.data, LZ4_FRAME_HC_POS) >> 8);
    if (dc->comp.len > INT32_MAX) {
        rc = GR_ETOOBIG;
        goto fail;
    }
    gr_bytes_t nokey = {NULL, -1};
    gr_bytes_t value = {dc->comp.data, (int32_t)dc->comp.len};
    rc = put_message(&dc->out, dc->magic, last, (uint8_t)(codec | ts_attr),
                     lat ? h->max_timestamp : max_ts, nokey, value);
    if (rc == 0)
        return 0;
fail:
    dc->out.len = start;
    return rc;
}

int gr_downconvert(const uint8_t *in, size_t len, int magic, int64_t fetch_offset,
                   gr_arena_t *arena, gr_bytes_t *out)
{
    out->ptr = (const uint8_t *)"";
    out->len = 0;
    if (magic != 0 && magic != 1)
        return GR_EINVAL;
    dc_t dc;
    memset(&dc, 0, sizeof dc);
    dc.magic = magic;
    dc.fetch_offset = fetch_offset;
    gr_buf_init(&dc.out);
    gr_buf_init(&dc.inner);
    gr_buf_init(&dc.comp);
    gr_buf_init(&dc.scratch);

    size_t limit = len, pos = 0;
    bool any_batch = false, converted = false;
    int rc = 0;
    while (len - pos >= GR_LOG_OVERHEAD) {
        const uint8_t *b = in + pos;
        int32_t blen32 = (int32_t)gr_be32(b + GR_BATCH_OFF_LENGTH);
        int err = 0;
        size_t size = 0;
        if (blen32 < GR_BATCH_MIN_LENGTH) {
            err = GR_ECORRUPT;
        } else {
            if ((size_t)blen32 > len - pos - GR_LOG_OVERHEAD)
                break; /* a partial batch at the end: not ours to send */
            size = GR_LOG_OVERHEAD + (size_t)blen32;
            any_batch = true;
            pos += size;
            gr_batch_hdr_t h;
            if (gr_batch_hdr_parse(b, size, &h) || h.magic != 2 || !gr_batch_crc_ok(b, size))
                err = GR_ECORRUPT;
            else if (gr_batch_is_control(&h))
                continue;
            else if (gr_batch_codec(&h) == GR_CODEC_ZSTD)
                err = GR_EUNSUPPORTED;
            else if (gr_batch_codec(&h) > GR_CODEC_ZSTD)
                err = GR_ECORRUPT;
            else
                err = convert_batch(&dc, b, size);
        }
        if (err) {
            if (!converted)
                rc = err;
            break;
        }
        if (!converted && dc.out.len > 0) {
            converted = true;
            if (dc.out.len > limit)
                limit = dc.out.len; /* the first converted batch goes whole */
        }
        if (dc.out.len >= limit)
            break;
    }

    if (rc == 0) {
        const uint8_t *src = dc.out.data;
        size_t n = dc.out.len < limit ? dc.out.len : limit;
        uint8_t stub[OVERFLOW_STUB_LEN];
        if (!converted && any_batch) {
            gr_wbe64(stub, (uint64_t)INT64_C(-1));
            gr_wbe32(stub + 8, OVERFLOW_STUB_SIZE);
            src = stub;
            n = sizeof stub;
        }
        if (n > INT32_MAX) {
            rc = GR_ETOOBIG;
        } else if (n > 0) {
            uint8_t *p = gr_arena_alloc(arena, n);
            if (!p) {
                rc = GR_ENOMEM;
            } else {
                memcpy(p, src, n);
                out->ptr = p;
                out->len = (int32_t)n;
            }
        }
    }
    gr_buf_free(&dc.out);
    gr_buf_free(&dc.inner);
    gr_buf_free(&dc.comp);
    gr_buf_free(&dc.scratch);
    return rc;
}
