/* Runtime for the generated codecs (build/gen/kafka_msgs.[ch]): the value
 * types that generated structs hold and the string/bytes/array primitives
 * in their classic and compact (flexible-version) encodings.
 *
 * Decoded strings and bytes are slices into the input buffer: they stay
 * valid only as long as the request frame does and are not NUL-terminated. */
#ifndef GR_PROTOCOL_CODEC_H
#define GR_PROTOCOL_CODEC_H

#include "base/arena.h"
#include "base/buf.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct gr_str_s {
    const char *ptr;
    int32_t     len; /* -1: null */
} gr_str_t;

typedef struct gr_bytes_s {
    const uint8_t *ptr;
    int32_t        len; /* -1: null */
} gr_bytes_t;

typedef struct gr_uuid_s {
    uint8_t b[16];
} gr_uuid_t;

static inline gr_str_t gr_str(const char *s)
{
    gr_str_t r = {s, s ? (int32_t)strlen(s) : -1};
    return r;
}

static inline bool gr_str_eq(gr_str_t a, const char *s)
{
    size_t n = strlen(s);
    return a.len >= 0 && (size_t)a.len == n && memcmp(a.ptr, s, n) == 0;
}

static inline bool gr_uuid_is_zero(const gr_uuid_t *u)
{
    for (int i = 0; i < 16; i++)
        if (u->b[i])
            return false;
    return true;
}

static inline bool gr_uuid_eq(const gr_uuid_t *a, const gr_uuid_t *b)
{
    return memcmp(a->b, b->b, 16) == 0;
}

/* Each returns 0 or GR_EMALFORMED. A null where the version does not allow
 * one is malformed, as it is for Kafka. */
int gr_codec_read_string(gr_reader_t *r, bool compact, bool nullable, gr_str_t *out);
int gr_codec_read_bytes(gr_reader_t *r, bool compact, bool nullable, gr_bytes_t *out);
/* Reads an array length; a count larger than the bytes left is malformed,
 * which bounds every allocation by the frame size. */
int gr_codec_read_array_len(gr_reader_t *r, bool compact, bool nullable, int32_t *out);
void gr_codec_read_uuid(gr_reader_t *r, gr_uuid_t *out);

void gr_codec_write_string(gr_buf_t *b, bool compact, const gr_str_t *s);
void gr_codec_write_bytes(gr_buf_t *b, bool compact, const gr_bytes_t *s);
/* Records fields: like bytes, but a ptr registered as a file range with the
 * buffer (base/splice.h) is placed there instead of copied. */
void gr_codec_write_records(gr_buf_t *b, bool compact, const gr_bytes_t *s);
void gr_codec_write_array_len(gr_buf_t *b, bool compact, int32_t n);

/* Base64-free textual UUID forms are not needed on the wire; these give the
 * 22-character URL-safe base64 form Kafka prints for topic ids. */
void gr_uuid_to_base64(const gr_uuid_t *u, char out[23]);
int gr_uuid_from_base64(const char *s, gr_uuid_t *out);
void gr_uuid_random(gr_uuid_t *u);

#endif
