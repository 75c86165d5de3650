/* Test helper: builds valid Kafka RecordBatch v2 bytes (uncompressed, correct
 * CRC-32C) so tests can produce realistic log contents.
 *
 * Record encoding (inside the batch, after the 61-byte header):
 *   length varint (bytes after this field), attributes int8 (0),
 *   timestampDelta varlong, offsetDelta varint, keyLength varint (-1 = null)
 *   + key, valueLength varint + value, headerCount varint (0). */
#ifndef GR_TESTS_BATCH_BUILDER_H
#define GR_TESTS_BATCH_BUILDER_H

#include "base/buf.h"
#include "base/crc32c.h"

#include <stdint.h>
#include <string.h>

typedef struct bb_opts_s {
    int64_t base_offset;    /* what producers send: 0 */
    int32_t leader_epoch;   /* -1 from producers */
    int64_t base_ts;        /* first record's timestamp */
    int64_t ts_step;        /* timestamp delta between records */
    int32_t nrecords;       /* >= 1 */
    size_t  value_len;      /* each record's value: value_len bytes of 'a'+i */
    const char *key;        /* NULL for a null key */
    int64_t producer_id;    /* -1 when not idempotent */
    int16_t producer_epoch;
    int32_t base_sequence;
    int16_t attributes;     /* compression bits must stay 0 */
} bb_opts_t;

static inline bb_opts_t bb_defaults(void)
{
    bb_opts_t o;
    memset(&o, 0, sizeof o);
    o.leader_epoch = -1;
    o.base_ts = 1700000000000LL;
    o.ts_step = 1;
    o.nrecords = 1;
    o.value_len = 10;
    o.producer_id = -1;
    o.producer_epoch = -1;
    o.base_sequence = -1;
    return o;
}

/* Appends one batch to out; returns its size in bytes. */
static inline size_t bb_append(gr_buf_t *out, const bb_opts_t *o)
{
    size_t start = out->len;
    gr_buf_t recs;
    gr_buf_init(&recs);
    for (int32_t i = 0; i < o->nrecords; i++) {
        gr_buf_t r;
        gr_buf_init(&r);
        gr_buf_put_i8(&r, 0);
        gr_buf_put_varlong(&r, (int64_t)i * o->ts_step);
        gr_buf_put_varint(&r, i);
        if (o->key) {
            gr_buf_put_varint(&r, (int32_t)strlen(o->key));
            gr_buf_put(&r, o->key, strlen(o->key));
        } else {
            gr_buf_put_varint(&r, -1);
        }
        gr_buf_put_varint(&r, (int32_t)o->value_len);
        for (size_t k = 0; k < o->value_len; k++)
            gr_buf_put_i8(&r, (int8_t)('a' + (i + (int32_t)k) % 26));
        gr_buf_put_varint(&r, 0);
        gr_buf_put_varint(&recs, (int32_t)r.len);
        gr_buf_put(&recs, r.data, r.len);
        gr_buf_free(&r);
    }
    int64_t max_ts = o->base_ts + (int64_t)(o->nrecords - 1) * o->ts_step;
    if (o->ts_step < 0)
        max_ts = o->base_ts;
    gr_buf_put_i64(out, o->base_offset);
    gr_buf_put_i32(out, (int32_t)(49 + recs.len));
    gr_buf_put_i32(out, o->leader_epoch);
    gr_buf_put_i8(out, 2);
    size_t crc_at = out->len;
    gr_buf_put_u32(out, 0);
    gr_buf_put_i16(out, o->attributes);
    gr_buf_put_i32(out, o->nrecords - 1);
    gr_buf_put_i64(out, o->base_ts);
    gr_buf_put_i64(out, max_ts);
    gr_buf_put_i64(out, o->producer_id);
    gr_buf_put_i16(out, o->producer_epoch);
    gr_buf_put_i32(out, o->base_sequence);
    gr_buf_put_i32(out, o->nrecords);
    gr_buf_put(out, recs.data, recs.len);
    gr_buf_free(&recs);
    uint32_t crc = gr_crc32c(0, out->data + crc_at + 4, out->len - crc_at - 4);
    gr_wbe32(out->data + crc_at, crc);
    return out->len - start;
}

/* Shorthand: a batch of n records with values of vlen bytes, timestamps
 * from ts. */
static inline size_t bb_simple(gr_buf_t *out, int32_t n, size_t vlen, int64_t ts)
{
    bb_opts_t o = bb_defaults();
    o.nrecords = n;
    o.value_len = vlen;
    o.base_ts = ts;
    return bb_append(out, &o);
}

#endif
