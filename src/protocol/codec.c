/* Primitive encodings used by the generated codecs; see codec.h. */
#include "protocol/codec.h"
#include "base/splice.h"
#include "base/err.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/random.h>
#include <unistd.h>

/* A compact length: unsigned varint of length + 1, 0 meaning null. Values
 * beyond int32 are malformed before any arithmetic on them. */
static int64_t read_compact_len(gr_reader_t *r)
{
    uint64_t u = gr_read_uvarint(r);
    if (u > (uint64_t)INT32_MAX + 1) {
        r->err = GR_EMALFORMED;
        return 0;
    }
    return (int64_t)u - 1;
}

int gr_codec_read_string(gr_reader_t *r, bool compact, bool nullable, gr_str_t *out)
{
    int64_t len;
    if (compact)
        len = read_compact_len(r);
    else
        len = gr_read_i16(r);
    if (r->err)
        return r->err;
    if (len < 0) {
        if (len != -1 || !nullable)
            return r->err = GR_EMALFORMED;
        out->ptr = NULL;
        out->len = -1;
        return 0;
    }
    if (len > 0x7fff && !compact)
        return r->err = GR_EMALFORMED;
    const uint8_t *p = gr_read_bytes(r, (size_t)len);
    if (!p)
        return r->err;
    out->ptr = (const char *)p;
    out->len = (int32_t)len;
    return 0;
}

int gr_codec_read_bytes(gr_reader_t *r, bool compact, bool nullable, gr_bytes_t *out)
{
    int64_t len;
    if (compact)
        len = read_compact_len(r);
    else
        len = gr_read_i32(r);
    if (r->err)
        return r->err;
    if (len < 0) {
        if (len != -1 || !nullable)
            return r->err = GR_EMALFORMED;
        out->ptr = NULL;
        out->len = -1;
        return 0;
    }
    if (len > INT32_MAX)
        return r->err = GR_EMALFORMED;
    const uint8_t *p = gr_read_bytes(r, (size_t)len);
    if (!p)
        return r->err;
    out->ptr = p;
    out->len = (int32_t)len;
    return 0;
}

int gr_codec_read_array_len(gr_reader_t *r, bool compact, bool nullable, int32_t *out)
{
    int64_t n;
    if (compact)
        n = read_compact_len(r);
    else
        n = gr_read_i32(r);
    if (r->err)
        return r->err;
    if (n < 0) {
        if (n != -1 || !nullable)
            return r->err = GR_EMALFORMED;
        *out = -1;
        return 0;
    }
    if ((uint64_t)n > gr_reader_left(r))
        return r->err = GR_EMALFORMED;
    *out = (int32_t)n;
    return 0;
}

void gr_codec_read_uuid(gr_reader_t *r, gr_uuid_t *out)
{
    const uint8_t *p = gr_read_bytes(r, 16);
    if (p)
        memcpy(out->b, p, 16);
    else
        memset(out->b, 0, 16);
}

void gr_codec_write_string(gr_buf_t *b, bool compact, const gr_str_t *s)
{
    if (s->len < 0 || !s->ptr) {
        if (compact)
            gr_buf_put_uvarint(b, 0);
        else
            gr_buf_put_i16(b, -1);
        return;
    }
    if (compact)
        gr_buf_put_uvarint(b, (uint64_t)s->len + 1);
    else
        gr_buf_put_i16(b, (int16_t)s->len);
    gr_buf_put(b, s->ptr, (size_t)s->len);
}

void gr_codec_write_bytes(gr_buf_t *b, bool compact, const gr_bytes_t *s)
{
    if (s->len < 0) {
        if (compact)
            gr_buf_put_uvarint(b, 0);
        else
            gr_buf_put_i32(b, -1);
        return;
    }
    if (compact)
        gr_buf_put_uvarint(b, (uint64_t)s->len + 1);
    else
        gr_buf_put_i32(b, s->len);
    gr_buf_put(b, s->ptr, (size_t)s->len);
}

void gr_codec_write_records(gr_buf_t *b, bool compact, const gr_bytes_t *s)
{
    if (s->len <= 0 || !b->splices) {
        gr_codec_write_bytes(b, compact, s);
        return;
    }
    if (compact)
        gr_buf_put_uvarint(b, (uint64_t)s->len + 1);
    else
        gr_buf_put_i32(b, s->len);
    if (!gr_splices_place(b, s->ptr, (size_t)s->len))
        gr_buf_put(b, s->ptr, (size_t)s->len);
}

void gr_codec_write_array_len(gr_buf_t *b, bool compact, int32_t n)
{
    if (compact)
        gr_buf_put_uvarint(b, n < 0 ? 0 : (uint64_t)n + 1);
    else
        gr_buf_put_i32(b, n);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void gr_uuid_to_base64(const gr_uuid_t *u, char out[23])
{
    int o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (int i = 0; i < 16; i++) {
        acc = (acc << 8) | u->b[i];
        bits += 8;
        while (bits >= 6) {
            out[o++] = b64[(acc >> (bits - 6)) & 63];
            bits -= 6;
        }
    }
    if (bits)
        out[o++] = b64[(acc << (6 - bits)) & 63];
    out[o] = 0;
}

int gr_uuid_from_base64(const char *s, gr_uuid_t *out)
{
    uint32_t acc = 0;
    int bits = 0, o = 0;
    for (int i = 0; i < 22; i++) {
        const char *p = s[i] ? strchr(b64, s[i]) : NULL;
        if (!p)
            return GR_EINVAL;
        acc = (acc << 6) | (uint32_t)(p - b64);
        bits += 6;
        if (bits >= 8) {
            if (o < 16)
                out->b[o++] = (uint8_t)(acc >> (bits - 8));
            bits -= 8;
        }
    }
    return s[22] == 0 && o == 16 ? 0 : GR_EINVAL;
}

void gr_uuid_random(gr_uuid_t *u)
{
    do {
        if (getrandom(u->b, 16, 0) != 16) {
            for (int i = 0; i < 16; i++)
                u->b[i] = (uint8_t)rand();
        }
        u->b[6] = (u->b[6] & 0x0f) | 0x40;
        u->b[8] = (u->b[8] & 0x3f) | 0x80;
        /* Kafka reserves the zero UUID and the one with only the last bit set. */
    } while (gr_uuid_is_zero(u));
}
