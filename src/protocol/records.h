/* RecordBatch v2 (magic 2): header access, validation of produced batches,
 * a record iterator and a batch builder.
 *
 * Byte layout of a batch (big-endian; offsets from the batch start):
 *
 *    0 baseOffset           int64   \ the 12-byte "log overhead"; not
 *    8 batchLength          int32   / covered by batchLength or the CRC
 *   12 partitionLeaderEpoch int32
 *   16 magic                int8    (2)
 *   17 crc                  uint32  CRC-32C of bytes 21..end
 *   21 attributes           int16   bits 0-2 codec, 3 LogAppendTime,
 *                                   4 transactional, 5 control,
 *                                   6 hasDeleteHorizonMs
 *   23 lastOffsetDelta      int32
 *   27 baseTimestamp        int64
 *   35 maxTimestamp         int64
 *   43 producerId           int64
 *   51 producerEpoch        int16
 *   53 baseSequence         int32
 *   57 recordCount          int32
 *   61 records              compressed as a whole when codec != 0
 *
 * A record: length varint (of the rest), attributes int8, timestampDelta
 * varlong, offsetDelta varint, keyLength varint (-1 null), key,
 * valueLength varint (-1 null), value, headerCount varint, then per header
 * keyLength varint (>= 0), key, valueLength varint (-1 null), value.
 * Varints are zigzag LEB128, at most 5 bytes (varint) or 10 (varlong).
 *
 * baseOffset and partitionLeaderEpoch lie before the CRC'd range, so the
 * broker assigns them without touching the CRC. */
#ifndef GR_PROTOCOL_RECORDS_H
#define GR_PROTOCOL_RECORDS_H

#include "base/buf.h"
#include "protocol/codec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    GR_BATCH_OFF_BASE_OFFSET = 0,
    GR_BATCH_OFF_LENGTH = 8,
    GR_BATCH_OFF_LEADER_EPOCH = 12,
    GR_BATCH_OFF_MAGIC = 16,
    GR_BATCH_OFF_CRC = 17,
    GR_BATCH_OFF_ATTRIBUTES = 21,
    GR_BATCH_OFF_LAST_OFFSET_DELTA = 23,
    GR_BATCH_OFF_BASE_TIMESTAMP = 27,
    GR_BATCH_OFF_MAX_TIMESTAMP = 35,
    GR_BATCH_OFF_PRODUCER_ID = 43,
    GR_BATCH_OFF_PRODUCER_EPOCH = 51,
    GR_BATCH_OFF_BASE_SEQUENCE = 53,
    GR_BATCH_OFF_RECORD_COUNT = 57,
    GR_LOG_OVERHEAD = 12,    /* baseOffset + batchLength */
    GR_BATCH_MIN_LENGTH = 49 /* smallest batchLength: header (61) - 12 */
};
#ifndef GR_BATCH_HDR_SIZE
#define GR_BATCH_HDR_SIZE 61 /* header up to the records (also in log/batch_hdr.h) */
#endif

#define GR_BATCH_ATTR_CODEC_MASK 0x07
#define GR_BATCH_ATTR_LOG_APPEND_TIME 0x08
#define GR_BATCH_ATTR_TRANSACTIONAL 0x10
#define GR_BATCH_ATTR_CONTROL 0x20
#define GR_BATCH_ATTR_DELETE_HORIZON 0x40

enum { GR_TS_CREATE_TIME = 0, GR_TS_LOG_APPEND_TIME = 1 };

/* Kafka's RecordBatch.NO_TIMESTAMP, NO_PRODUCER_ID, NO_SEQUENCE. */
#define GR_NO_TIMESTAMP ((int64_t)-1)
#define GR_NO_PRODUCER_ID ((int64_t)-1)
#define GR_NO_SEQUENCE ((int32_t)-1)

typedef struct gr_batch_hdr_s {
    int64_t  base_offset;
    int32_t  batch_length;
    int32_t  partition_leader_epoch;
    int8_t   magic;
    uint32_t crc;
    int16_t  attributes;
    int32_t  last_offset_delta;
    int64_t  base_timestamp;
    int64_t  max_timestamp;
    int64_t  producer_id;
    int16_t  producer_epoch;
    int32_t  base_sequence;
    int32_t  record_count;
} gr_batch_hdr_t;

/* Reads the header fields at p. Needs len >= GR_BATCH_HDR_SIZE (else
 * GR_EMALFORMED); checks nothing else: magic, length and CRC are the
 * caller's (or gr_batch_check's) business. The magic byte sits at the same
 * place in every format, so a magic 0/1 message can be recognised here. */
int gr_batch_hdr_parse(const uint8_t *p, size_t len, gr_batch_hdr_t *h);

static inline int gr_batch_codec(const gr_batch_hdr_t *h) { return h->attributes & GR_BATCH_ATTR_CODEC_MASK; }
static inline bool gr_batch_is_transactional(const gr_batch_hdr_t *h) { return h->attributes & GR_BATCH_ATTR_TRANSACTIONAL; }
static inline bool gr_batch_is_control(const gr_batch_hdr_t *h) { return h->attributes & GR_BATCH_ATTR_CONTROL; }
static inline int gr_batch_timestamp_type(const gr_batch_hdr_t *h)
{
    return (h->attributes & GR_BATCH_ATTR_LOG_APPEND_TIME) ? GR_TS_LOG_APPEND_TIME : GR_TS_CREATE_TIME;
}
/* Whole size on disk and on the wire: log overhead + batchLength. */
static inline int64_t gr_batch_size(const gr_batch_hdr_t *h) { return (int64_t)GR_LOG_OVERHEAD + h->batch_length; }
/* Wraps like Java's long arithmetic on nonsense input instead of being UB. */
static inline int64_t gr_batch_last_offset(const gr_batch_hdr_t *h)
{
    return (int64_t)((uint64_t)h->base_offset + (uint64_t)(int64_t)h->last_offset_delta);
}
/* Sequence of the last record; producer sequences wrap at INT32_MAX. */
int32_t gr_batch_last_sequence(const gr_batch_hdr_t *h);

/* Size of the complete batch that starts at p, if one does: 0 and *size
 * set, or GR_EMALFORMED when fewer than 12 bytes, a batchLength below
 * GR_BATCH_MIN_LENGTH, or a batch running past len. Looks at nothing but
 * the length (any magic); for walking logs and fetch ranges. */
int gr_batch_span(const uint8_t *p, size_t len, size_t *size);

/* CRC-32C of a whole batch of `size` bytes as stored in its crc field
 * (bytes 21..size). size must be >= GR_BATCH_HDR_SIZE. */
uint32_t gr_batch_crc_compute(const uint8_t *batch, size_t size);
bool gr_batch_crc_ok(const uint8_t *batch, size_t size);

/* In-place edits of a batch of `size` bytes. The first two lie outside the
 * CRC; set_max_timestamp rewrites maxTimestamp and the LogAppendTime bit
 * (ts_type GR_TS_*) and recomputes the CRC, unless both already match. */
void gr_batch_set_base_offset(uint8_t *batch, int64_t base_offset);
void gr_batch_set_partition_leader_epoch(uint8_t *batch, int32_t epoch);
void gr_batch_set_max_timestamp(uint8_t *batch, size_t size, int ts_type, int64_t max_timestamp);

/* ---- Validation of a Produce request's records ---- */

/* Limits of record errors kept in a result (Kafka reports all; we keep the
 * first few with their messages and count the rest). */
#define GR_RECORDS_MAX_RECORD_ERRORS 16
#define GR_RECORDS_MSG_LEN 256

/* Default bound on decompressed bytes per batch when opts leave it 0. */
#define GR_RECORDS_DEFAULT_MAX_DECOMPRESSED ((size_t)64 * 1024 * 1024)

typedef struct gr_records_validate_opts_s {
    /* Produce request version of a client append (Kafka 4 takes 3 and up;
     * lower values are treated as 3). -1: a trusted, broker-made append
     * (internal topics, coordinators): several batches, control batches, any
     * base offset and empty batches are then allowed. */
    int16_t produce_version;
    /* The topic's max.message.bytes: a batch whose whole size (12 +
     * batchLength) exceeds it is MESSAGE_TOO_LARGE. 0: no limit. */
    int64_t max_message_bytes;
    /* The topic's segment.bytes: all batches together larger than this are
     * RECORD_LIST_TOO_LARGE. 0: no limit. */
    int64_t segment_bytes;
    /* Bound on one batch's decompressed records; 0: the default above. */
    size_t max_decompressed_bytes;
    /* cleanup.policy contains compact: every record needs a key. */
    bool require_keys;
    /* The topic's message.timestamp.type: GR_TS_CREATE_TIME or
     * GR_TS_LOG_APPEND_TIME. */
    int timestamp_type;
    /* Wall clock (ms) used for LogAppendTime and the range checks. */
    int64_t now_ms;
    /* message.timestamp.before.max.ms / after.max.ms, CreateTime only.
     * Kafka's "disabled" is Long.MAX_VALUE (INT64_MAX); 0 here also means
     * disabled so zeroed options stay permissive. */
    int64_t timestamp_before_max_ms;
    int64_t timestamp_after_max_ms;
    /* Optional, for error messages only ("topic-partition"). */
    const char *topic;
    int32_t     partition;
    /* Optional scratch buffer for decompression, reused across calls to
     * save allocations; its contents are replaced. NULL: one is made and
     * freed inside the call. */
    gr_buf_t *scratch;
} gr_records_validate_opts_t;

/* What validation learned about one batch. */
typedef struct gr_batch_info_s {
    size_t  pos;  /* offset of the batch in the blob */
    size_t  size; /* its whole size */
    int32_t record_count;
    int     codec;
    bool    transactional;
    bool    control;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t last_sequence;
    /* maxTimestamp as stored after validation (the append time under
     * LogAppendTime), and the offset delta of the first record carrying the
     * largest timestamp (0 under LogAppendTime), for the time index. */
    int64_t max_timestamp;
    int32_t offset_delta_of_max_timestamp;
} gr_batch_info_t;

/* One entry of Produce v8+ RecordErrors. */
typedef struct gr_record_error_s {
    int32_t batch_index; /* index of the record in its batch */
    char    message[GR_RECORDS_MSG_LEN];
} gr_record_error_t;

typedef struct gr_records_validate_result_s {
    /* Set by the caller before the call: where per-batch info goes (may be
     * NULL/0). Batches past batches_cap are validated but not described. */
    gr_batch_info_t *batches;
    int32_t          batches_cap;

    /* Filled in by the call. */
    int16_t error_code;      /* a GR_KERR_* (protocol/errors.h); 0 if valid */
    char    error_message[GR_RECORDS_MSG_LEN];
    /* Kafka puts a message into the response's ErrorMessage only for
     * record-level errors (RecordErrors present); for other errors it sends
     * null. This flag says which case it is; error_message is always set
     * when error_code != 0, for logs. */
    bool    error_message_on_wire;
    int32_t batch_count;
    int64_t record_count;
    /* LogAppendTimeMs for the Produce response: now_ms under LogAppendTime,
     * else -1. */
    int64_t log_append_time_ms;
    /* The bytes were changed (maxTimestamp/attributes, new CRC). */
    bool    rewritten;
    int32_t record_error_count; /* total; only the first few are kept */
    gr_record_error_t record_errors[GR_RECORDS_MAX_RECORD_ERRORS];
} gr_records_validate_result_t;

/* Validates the records of one partition of a Produce request (one or more
 * batches back to back) the way Apache Kafka 4's broker does before an
 * append, and fixes the header up as Kafka does: under LogAppendTime,
 * maxTimestamp becomes opts->now_ms and the LogAppendTime bit is set; under
 * CreateTime, maxTimestamp becomes the largest record timestamp; the CRC is
 * recomputed whenever the bytes change. Offsets and the partition leader
 * epoch are left for the caller (gr_batch_set_*).
 *
 * Returns 0 when the records were examined (res->error_code then says
 * whether they are valid, with res->error_message), or GR_ENOMEM when the
 * check could not be completed. On error the blob may have been partly
 * rewritten (only header fields of batches that passed) and must not be
 * appended. The error codes chosen and why are listed in records.c. */
int gr_records_validate(uint8_t *data, size_t len, const gr_records_validate_opts_t *opts,
                        gr_records_validate_result_t *res);

/* ---- Iterating over the records of one batch ---- */

typedef struct gr_record_s {
    int32_t    index;        /* position in the batch */
    int8_t     attributes;   /* unused by Kafka so far */
    int64_t    timestamp;    /* absolute; maxTimestamp under LogAppendTime */
    int64_t    timestamp_delta;
    int32_t    offset_delta;
    int64_t    offset;       /* baseOffset + offsetDelta */
    gr_bytes_t key;          /* len -1: null */
    gr_bytes_t value;        /* len -1: null */
    int32_t    header_count;
    const uint8_t *headers;  /* the encoded headers, for gr_record_header_next */
    size_t     headers_len;
} gr_record_t;

typedef struct gr_record_header_s {
    gr_bytes_t key;   /* never null */
    gr_bytes_t value; /* len -1: null */
} gr_record_header_t;

typedef struct gr_record_iter_s {
    gr_batch_hdr_t hdr;
    const uint8_t *p;   /* records area (the batch's, or the scratch buffer) */
    size_t         len;
    size_t         off;
    int32_t        index;
    int            err;
} gr_record_iter_t;

/* Prepares to walk the records of the batch batch[0..size). A compressed
 * batch is decompressed into scratch (its contents replaced; at most
 * max_decompressed bytes, 0 = GR_RECORDS_DEFAULT_MAX_DECOMPRESSED). Record
 * slices point into the batch or into scratch and stay valid while both do
 * and scratch is not reused. The CRC is not checked (gr_batch_crc_ok).
 * Returns 0, GR_EMALFORMED (not a complete magic-2 batch, bad codec, bad
 * compressed data), GR_ETOOBIG or GR_ENOMEM. scratch may be NULL for an
 * uncompressed batch. */
int gr_record_iter_init(gr_record_iter_t *it, const uint8_t *batch, size_t size, gr_buf_t *scratch,
                        size_t max_decompressed);

/* The next record: 1 and *rec filled, 0 after the last one (recordCount
 * records and no bytes left over), or GR_EMALFORMED (it->err is set and
 * stays set). */
int gr_record_iter_next(gr_record_iter_t *it, gr_record_t *rec);

/* Walks rec's headers: 1 and *h filled, 0 at the end, GR_EMALFORMED. *pos
 * starts at 0. Headers of a record that gr_record_iter_next returned are
 * already known to parse. */
int gr_record_header_next(const gr_record_t *rec, size_t *pos, gr_record_header_t *h);

/* ---- Building a batch ---- */

typedef struct gr_batch_builder_s {
    gr_buf_t records; /* the encoded records, uncompressed */
    int      codec;
    int16_t  attributes;
    int64_t  base_offset;
    int32_t  partition_leader_epoch;
    int64_t  producer_id;
    int16_t  producer_epoch;
    int32_t  base_sequence;
    int32_t  count;
    int64_t  base_timestamp;
    int64_t  max_timestamp;
    int64_t  log_append_time; /* GR_NO_TIMESTAMP unless set */
    int32_t  last_delta;      /* offset delta of the last record added, -1 if none */
    bool     fixed_base_ts;   /* base_timestamp set by set_delete_horizon */
    int      err;
} gr_batch_builder_t;

/* Starts an empty batch compressed with codec (GR_CODEC_*): base offset 0,
 * leader epoch -1, no producer id, CreateTime. */
void gr_batch_builder_init(gr_batch_builder_t *b, int codec);
void gr_batch_builder_free(gr_batch_builder_t *b);
void gr_batch_builder_set_base_offset(gr_batch_builder_t *b, int64_t base_offset);
void gr_batch_builder_set_partition_leader_epoch(gr_batch_builder_t *b, int32_t epoch);
void gr_batch_builder_set_producer(gr_batch_builder_t *b, int64_t producer_id, int16_t epoch,
                                   int32_t base_sequence, bool transactional);
void gr_batch_builder_set_control(gr_batch_builder_t *b, bool control);
/* Marks the batch LogAppendTime with the given append time. */
void gr_batch_builder_set_log_append_time(gr_batch_builder_t *b, int64_t now_ms);

/* Adds a record (key/value len -1 for null). The first record's timestamp
 * becomes the base timestamp. Returns 0, GR_ETOOBIG (over INT32_MAX bytes or
 * records) or GR_ENOMEM; a failure sticks and makes finish fail too. */
int gr_batch_builder_add(gr_batch_builder_t *b, int64_t timestamp, gr_bytes_t key, gr_bytes_t value,
                         const gr_record_header_t *headers, int32_t header_count);

/* Adds a record at an explicit offset delta, greater than the previous
 * record's (GR_EINVAL otherwise): for rewriting a batch with some records
 * left out while every other keeps its offset (the log cleaner).
 * gr_batch_builder_add uses the previous delta + 1. lastOffsetDelta is the
 * last record's delta. */
int gr_batch_builder_add_at(gr_batch_builder_t *b, int32_t offset_delta, int64_t timestamp,
                            gr_bytes_t key, gr_bytes_t value, const gr_record_header_t *headers,
                            int32_t header_count);
/* KIP-534: sets attribute bit 6 and stores horizon_ms (after which the
 * cleaner may drop this batch's tombstones) in the baseTimestamp field;
 * record timestamps are then deltas from it. Call before adding records. */
void gr_batch_builder_set_delete_horizon(gr_batch_builder_t *b, int64_t horizon_ms);

/* Appends the finished batch (compressed if asked, CRC set) to out.
 * Returns 0 or the first error. The builder can be freed or reused after
 * gr_batch_builder_init again. */
int gr_batch_builder_finish(gr_batch_builder_t *b, gr_buf_t *out);

#endif
