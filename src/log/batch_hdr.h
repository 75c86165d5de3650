/* The 61-byte header of a Kafka RecordBatch v2, as the log reads it from
 * disk or from a produce request. The log never looks inside the records;
 * it needs only offsets, lengths, timestamps, the CRC and the producer
 * fields (which recovery hands to the producer-state layer).
 *
 * Layout (big-endian), offsets in bytes:
 *   0 baseOffset int64      8 batchLength int32   12 partitionLeaderEpoch int32
 *  16 magic int8           17 crc uint32 (CRC-32C of bytes 21..end)
 *  21 attributes int16     23 lastOffsetDelta int32
 *  27 baseTimestamp int64  35 maxTimestamp int64  43 producerId int64
 *  51 producerEpoch int16  53 baseSequence int32  57 recordCount int32
 *  61 records...
 * batchLength counts the bytes after itself, so a batch occupies
 * 12 + batchLength bytes. */
#ifndef GR_LOG_BATCH_HDR_H
#define GR_LOG_BATCH_HDR_H

#include "base/buf.h"
#include "base/err.h"

#include <stdint.h>

#define GR_LOGB_HDR_SIZE 61
#define GR_LOGB_LOG_OVERHEAD 12 /* baseOffset + batchLength */
#define GR_LOGB_CRC_START 21
#define GR_LOGB_MAGIC_V2 2
#define GR_LOGB_OFF_BASE_OFFSET 0
#define GR_LOGB_OFF_LENGTH 8
#define GR_LOGB_OFF_EPOCH 12
#define GR_LOGB_OFF_MAGIC 16
#define GR_LOGB_OFF_CRC 17
#define GR_LOGB_OFF_ATTRIBUTES 21
#define GR_LOGB_OFF_LAST_DELTA 23
#define GR_LOGB_OFF_BASE_TS 27
#define GR_LOGB_OFF_MAX_TS 35

typedef struct gr_log_batch_hdr_s {
    int64_t  base_offset;
    int32_t  batch_length;
    int32_t  leader_epoch;
    int8_t   magic;
    uint32_t crc;
    int16_t  attributes;
    int32_t  last_offset_delta;
    int64_t  base_ts;
    int64_t  max_ts;
    int64_t  producer_id;
    int16_t  producer_epoch;
    int32_t  base_sequence;
    int32_t  record_count;
} gr_log_batch_hdr_t;

static inline void gr_log_batch_hdr_parse(const uint8_t *p, gr_log_batch_hdr_t *h)
{
    h->base_offset = (int64_t)gr_be64(p + 0);
    h->batch_length = (int32_t)gr_be32(p + 8);
    h->leader_epoch = (int32_t)gr_be32(p + 12);
    h->magic = (int8_t)p[16];
    h->crc = gr_be32(p + 17);
    h->attributes = (int16_t)gr_be16(p + 21);
    h->last_offset_delta = (int32_t)gr_be32(p + 23);
    h->base_ts = (int64_t)gr_be64(p + 27);
    h->max_ts = (int64_t)gr_be64(p + 35);
    h->producer_id = (int64_t)gr_be64(p + 43);
    h->producer_epoch = (int16_t)gr_be16(p + 51);
    h->base_sequence = (int32_t)gr_be32(p + 53);
    h->record_count = (int32_t)gr_be32(p + 57);
}

/* Bytes the whole batch occupies (header included). Only meaningful after
 * gr_log_batch_hdr_check() accepted the header. */
static inline int64_t gr_log_batch_size(const gr_log_batch_hdr_t *h)
{
    return (int64_t)GR_LOGB_LOG_OVERHEAD + h->batch_length;
}

static inline int64_t gr_log_batch_last_offset(const gr_log_batch_hdr_t *h)
{
    return h->base_offset + h->last_offset_delta;
}

/* Checks what can be checked from the header alone: magic 2, a length that
 * covers at least the header and fits in max_size bytes, a non-negative
 * offset range that does not overflow. Returns 0 or GR_ECORRUPT. */
static inline int gr_log_batch_hdr_check(const gr_log_batch_hdr_t *h, int64_t max_size)
{
    if (h->magic != GR_LOGB_MAGIC_V2)
        return GR_ECORRUPT;
    if (h->batch_length < GR_LOGB_HDR_SIZE - GR_LOGB_LOG_OVERHEAD)
        return GR_ECORRUPT;
    if (gr_log_batch_size(h) > max_size)
        return GR_ECORRUPT;
    if (h->base_offset < 0 || h->last_offset_delta < 0 ||
        h->base_offset > INT64_MAX - h->last_offset_delta)
        return GR_ECORRUPT;
    return 0;
}

#endif
