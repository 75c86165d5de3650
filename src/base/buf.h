/* Byte buffers.
 *
 * gr_buf_t   - a growable output buffer that owns its bytes. A buffer in
 *              "counting" mode (data == NULL, counting == 1) only adds up
 *              lengths, which is how encoded sizes are computed without a
 *              second hand-written walk.
 * gr_reader_t - a bounds-checked cursor over borrowed bytes. Every read
 *              checks the remaining length; the first failure sets err and
 *              all later reads return zero, so decoders test once at the end
 *              (or wherever an allocation depends on a value read).
 *
 * Kafka's wire integers are big-endian; varints are protobuf-style (LEB128),
 * signed ones zigzag-encoded. */
#ifndef GR_BASE_BUF_H
#define GR_BASE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct gr_buf_s {
    uint8_t *data;
    size_t   len;
    size_t   cap;
    int      counting; /* 1: only count bytes, data stays NULL */
    int      oom;      /* an allocation failed; contents are incomplete */
    struct gr_splices_s *splices; /* file ranges sent in place of bytes (splice.h) */
} gr_buf_t;

void gr_buf_init(gr_buf_t *b);
void gr_buf_init_counting(gr_buf_t *b);
void gr_buf_free(gr_buf_t *b);
void gr_buf_reset(gr_buf_t *b);
/* Ensure room for n more bytes; returns 0 or GR_ENOMEM. */
int gr_buf_reserve(gr_buf_t *b, size_t n);
/* Take ownership of the bytes; the buffer is reset to empty (file ranges
 * registered with it stay with it). */
uint8_t *gr_buf_take(gr_buf_t *b, size_t *len);

void gr_buf_put(gr_buf_t *b, const void *p, size_t n);
void gr_buf_put_i8(gr_buf_t *b, int8_t v);
void gr_buf_put_i16(gr_buf_t *b, int16_t v);
void gr_buf_put_i32(gr_buf_t *b, int32_t v);
void gr_buf_put_i64(gr_buf_t *b, int64_t v);
void gr_buf_put_u16(gr_buf_t *b, uint16_t v);
void gr_buf_put_u32(gr_buf_t *b, uint32_t v);
void gr_buf_put_f64(gr_buf_t *b, double v);
void gr_buf_put_uvarint(gr_buf_t *b, uint64_t v);
void gr_buf_put_varint(gr_buf_t *b, int32_t v);
void gr_buf_put_varlong(gr_buf_t *b, int64_t v);
/* Overwrite 4 bytes at pos (for length prefixes written after the fact). */
void gr_buf_patch_i32(gr_buf_t *b, size_t pos, int32_t v);

size_t gr_uvarint_size(uint64_t v);
size_t gr_varint_size(int32_t v);
size_t gr_varlong_size(int64_t v);

typedef struct gr_reader_s {
    const uint8_t *p;
    size_t         len;
    size_t         off;
    int            err; /* 0, or GR_EMALFORMED once a read ran past the end */
} gr_reader_t;

static inline void gr_reader_init(gr_reader_t *r, const void *p, size_t len)
{
    r->p = (const uint8_t *)p;
    r->len = len;
    r->off = 0;
    r->err = 0;
}

static inline size_t gr_reader_left(const gr_reader_t *r)
{
    return r->err ? 0 : r->len - r->off;
}

/* Returns a pointer to n bytes and advances, or NULL (and sets err). */
const uint8_t *gr_read_bytes(gr_reader_t *r, size_t n);
int8_t   gr_read_i8(gr_reader_t *r);
int16_t  gr_read_i16(gr_reader_t *r);
int32_t  gr_read_i32(gr_reader_t *r);
int64_t  gr_read_i64(gr_reader_t *r);
uint16_t gr_read_u16(gr_reader_t *r);
uint32_t gr_read_u32(gr_reader_t *r);
double   gr_read_f64(gr_reader_t *r);
uint64_t gr_read_uvarint(gr_reader_t *r);
int32_t  gr_read_varint(gr_reader_t *r);
int64_t  gr_read_varlong(gr_reader_t *r);

static inline uint16_t gr_be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t gr_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t gr_be64(const uint8_t *p)
{
    return ((uint64_t)gr_be32(p) << 32) | gr_be32(p + 4);
}
static inline void gr_wbe16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void gr_wbe32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void gr_wbe64(uint8_t *p, uint64_t v)
{
    gr_wbe32(p, (uint32_t)(v >> 32));
    gr_wbe32(p + 4, (uint32_t)v);
}

#endif
