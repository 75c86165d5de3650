/* Helpers shared by the record and compression unit tests: building batches
 * (through the real builder, or around hand-made record bytes) and patching
 * header fields with the CRC fixed up afterwards. Header-only: each test
 * binary includes it once. */
#ifndef GR_TESTS_RECORDS_UTIL_H
#define GR_TESTS_RECORDS_UTIL_H

#include "base/buf.h"
#include "base/err.h"
#include "protocol/compress.h"
#include "protocol/records.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline gr_bytes_t ru_bytes(const char *s)
{
    gr_bytes_t b = {(const uint8_t *)s, s ? (int32_t)strlen(s) : -1};
    return b;
}

/* A batch of n records "k<i>" -> "value-<i>" (record 1 has a null key when
 * null_key_at1), timestamps ts0 + i, two headers on record 0. Appended to
 * out; returns 0 or the builder's error. */
static inline int ru_build(gr_buf_t *out, int codec, int n, int64_t ts0, int null_key_at1)
{
    gr_batch_builder_t b;
    gr_batch_builder_init(&b, codec);
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        char k[32], v[64];
        snprintf(k, sizeof k, "k%d", i);
        snprintf(v, sizeof v, "value-%d", i);
        gr_record_header_t h[2] = {{ru_bytes("h1"), ru_bytes("x")}, {ru_bytes("h2"), ru_bytes(NULL)}};
        gr_bytes_t key = (null_key_at1 && i == 1) ? ru_bytes(NULL) : ru_bytes(k);
        rc = gr_batch_builder_add(&b, ts0 + i, key, ru_bytes(v), i == 0 ? h : NULL, i == 0 ? 2 : 0);
    }
    if (!rc)
        rc = gr_batch_builder_finish(&b, out);
    gr_batch_builder_free(&b);
    return rc;
}

/* Wraps hand-made record bytes (uncompressed) in a v2 header with the
 * given count and lastOffsetDelta = count - 1, compressing them with codec
 * (which may also be an invalid codec number, stored as is), CRC set. */
static inline void ru_wrap(gr_buf_t *out, const uint8_t *recs, size_t n, int32_t count, int codec)
{
    size_t start = out->len;
    uint8_t hdr[GR_BATCH_HDR_SIZE] = {0};
    gr_buf_put(out, hdr, sizeof hdr);
    if (codec >= GR_CODEC_GZIP && codec <= GR_CODEC_ZSTD)
        gr_compress(codec, recs, n, out);
    else
        gr_buf_put(out, recs, n);
    uint8_t *p = out->data + start;
    size_t size = out->len - start;
    gr_wbe32(p + GR_BATCH_OFF_LENGTH, (uint32_t)(size - GR_LOG_OVERHEAD));
    gr_wbe32(p + GR_BATCH_OFF_LEADER_EPOCH, (uint32_t)-1);
    p[GR_BATCH_OFF_MAGIC] = 2;
    gr_wbe16(p + GR_BATCH_OFF_ATTRIBUTES, (uint16_t)codec);
    gr_wbe32(p + GR_BATCH_OFF_LAST_OFFSET_DELTA, (uint32_t)(count - 1));
    gr_wbe64(p + GR_BATCH_OFF_BASE_TIMESTAMP, 1000);
    gr_wbe64(p + GR_BATCH_OFF_MAX_TIMESTAMP, 1000);
    gr_wbe64(p + GR_BATCH_OFF_PRODUCER_ID, (uint64_t)-1);
    gr_wbe16(p + GR_BATCH_OFF_PRODUCER_EPOCH, (uint16_t)-1);
    gr_wbe32(p + GR_BATCH_OFF_BASE_SEQUENCE, (uint32_t)-1);
    gr_wbe32(p + GR_BATCH_OFF_RECORD_COUNT, (uint32_t)count);
    gr_wbe32(p + GR_BATCH_OFF_CRC, gr_batch_crc_compute(p, size));
}

static inline void ru_fix_crc(uint8_t *batch, size_t size)
{
    gr_wbe32(batch + GR_BATCH_OFF_CRC, gr_batch_crc_compute(batch, size));
}

static inline void ru_set32(uint8_t *batch, size_t size, int off, int32_t v)
{
    gr_wbe32(batch + off, (uint32_t)v);
    ru_fix_crc(batch, size);
}

static inline void ru_set16(uint8_t *batch, size_t size, int off, int16_t v)
{
    gr_wbe16(batch + off, (uint16_t)v);
    ru_fix_crc(batch, size);
}

static inline void ru_set64(uint8_t *batch, size_t size, int off, int64_t v)
{
    gr_wbe64(batch + off, (uint64_t)v);
    ru_fix_crc(batch, size);
}

/* Default options of a client Produce v9 to a CreateTime topic. */
static inline gr_records_validate_opts_t ru_opts(void)
{
    gr_records_validate_opts_t o;
    memset(&o, 0, sizeof o);
    o.produce_version = 9;
    o.max_message_bytes = 1048588;
    o.timestamp_type = GR_TS_CREATE_TIME;
    o.now_ms = 1700000000000;
    o.timestamp_before_max_ms = INT64_MAX;
    o.timestamp_after_max_ms = INT64_MAX;
    o.topic = "t";
    o.partition = 0;
    return o;
}

/* Deterministic pseudo-random bytes for tests. */
static inline uint32_t ru_rand(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 33);
}

#endif
