/* Byte buffers and readers; see buf.h. */
#include "base/buf.h"
#include "base/err.h"
#include "base/splice.h"

#include <stdlib.h>

void gr_buf_init(gr_buf_t *b) { memset(b, 0, sizeof *b); }

void gr_buf_init_counting(gr_buf_t *b)
{
    memset(b, 0, sizeof *b);
    b->counting = 1;
}

void gr_buf_free(gr_buf_t *b)
{
    free(b->data);
    gr_splices_free(b->splices);
    memset(b, 0, sizeof *b);
}

void gr_buf_reset(gr_buf_t *b)
{
    b->len = 0;
    b->oom = 0;
}

int gr_buf_reserve(gr_buf_t *b, size_t n)
{
    if (b->counting)
        return 0;
    if (b->len + n <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n)
        cap *= 2;
    uint8_t *d = realloc(b->data, cap);
    if (!d) {
        b->oom = 1;
        return GR_ENOMEM;
    }
    b->data = d;
    b->cap = cap;
    return 0;
}

uint8_t *gr_buf_take(gr_buf_t *b, size_t *len)
{
    uint8_t *d = b->data;
    *len = b->len;
    struct gr_splices_s *s = b->splices;
    memset(b, 0, sizeof *b);
    b->splices = s;
    return d;
}

void gr_buf_put(gr_buf_t *b, const void *p, size_t n)
{
    if (b->counting) {
        b->len += n;
        return;
    }
    if (n == 0 || gr_buf_reserve(b, n))
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void gr_buf_put_i8(gr_buf_t *b, int8_t v) { gr_buf_put(b, &v, 1); }

void gr_buf_put_i16(gr_buf_t *b, int16_t v)
{
    uint8_t t[2];
    gr_wbe16(t, (uint16_t)v);
    gr_buf_put(b, t, 2);
}

void gr_buf_put_u16(gr_buf_t *b, uint16_t v) { gr_buf_put_i16(b, (int16_t)v); }

void gr_buf_put_i32(gr_buf_t *b, int32_t v)
{
    uint8_t t[4];
    gr_wbe32(t, (uint32_t)v);
    gr_buf_put(b, t, 4);
}

void gr_buf_put_u32(gr_buf_t *b, uint32_t v) { gr_buf_put_i32(b, (int32_t)v); }

void gr_buf_put_i64(gr_buf_t *b, int64_t v)
{
    uint8_t t[8];
    gr_wbe64(t, (uint64_t)v);
    gr_buf_put(b, t, 8);
}

void gr_buf_put_f64(gr_buf_t *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    gr_buf_put_i64(b, (int64_t)u);
}

void gr_buf_put_uvarint(gr_buf_t *b, uint64_t v)
{
    uint8_t t[10];
    size_t n = 0;
    while (v >= 0x80) {
        t[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    t[n++] = (uint8_t)v;
    gr_buf_put(b, t, n);
}

void gr_buf_put_varint(gr_buf_t *b, int32_t v)
{
    gr_buf_put_uvarint(b, (uint32_t)(((uint32_t)v << 1) ^ (uint32_t)(v >> 31)));
}

void gr_buf_put_varlong(gr_buf_t *b, int64_t v)
{
    gr_buf_put_uvarint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void gr_buf_patch_i32(gr_buf_t *b, size_t pos, int32_t v)
{
    if (b->counting || b->oom || pos + 4 > b->len)
        return;
    gr_wbe32(b->data + pos, (uint32_t)v);
}

size_t gr_uvarint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t gr_varint_size(int32_t v)
{
    return gr_uvarint_size((uint32_t)(((uint32_t)v << 1) ^ (uint32_t)(v >> 31)));
}

size_t gr_varlong_size(int64_t v)
{
    return gr_uvarint_size(((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

const uint8_t *gr_read_bytes(gr_reader_t *r, size_t n)
{
    if (r->err || n > r->len - r->off) {
        r->err = GR_EMALFORMED;
        return NULL;
    }
    const uint8_t *p = r->p + r->off;
    r->off += n;
    return p;
}

int8_t gr_read_i8(gr_reader_t *r)
{
    const uint8_t *p = gr_read_bytes(r, 1);
    return p ? (int8_t)p[0] : 0;
}

int16_t gr_read_i16(gr_reader_t *r)
{
    const uint8_t *p = gr_read_bytes(r, 2);
    return p ? (int16_t)gr_be16(p) : 0;
}

uint16_t gr_read_u16(gr_reader_t *r) { return (uint16_t)gr_read_i16(r); }

int32_t gr_read_i32(gr_reader_t *r)
{
    const uint8_t *p = gr_read_bytes(r, 4);
    return p ? (int32_t)gr_be32(p) : 0;
}

uint32_t gr_read_u32(gr_reader_t *r) { return (uint32_t)gr_read_i32(r); }

int64_t gr_read_i64(gr_reader_t *r)
{
    const uint8_t *p = gr_read_bytes(r, 8);
    return p ? (int64_t)gr_be64(p) : 0;
}

double gr_read_f64(gr_reader_t *r)
{
    uint64_t u = (uint64_t)gr_read_i64(r);
    double d;
    memcpy(&d, &u, 8);
    return d;
}

uint64_t gr_read_uvarint(gr_reader_t *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        const uint8_t *p = gr_read_bytes(r, 1);
        if (!p)
            return 0;
        v |= (uint64_t)(p[0] & 0x7f) << shift;
        if (!(p[0] & 0x80))
            return v;
    }
    r->err = GR_EMALFORMED;
    return 0;
}

int32_t gr_read_varint(gr_reader_t *r)
{
    uint64_t u = gr_read_uvarint(r);
    if (u > 0xffffffffu) {
        r->err = GR_EMALFORMED;
        return 0;
    }
    uint32_t v = (uint32_t)u;
    return (int32_t)((v >> 1) ^ (uint32_t)-(int32_t)(v & 1));
}

int64_t gr_read_varlong(gr_reader_t *r)
{
    uint64_t u = gr_read_uvarint(r);
    return (int64_t)((u >> 1) ^ (uint64_t)-(int64_t)(u & 1));
}
