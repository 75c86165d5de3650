/* libFuzzer target: one request frame as a broker reads it after the 4-byte
 * size prefix. The first four bytes name the API key and version; the
 * RequestHeader is decoded at the header version that pair implies (v2 for
 * flexible versions, v0 for ControlledShutdown v0, else v1) and the body
 * with gr_request_decode_any(). Keys and versions outside gr_api_schemas[]
 * stop after the header, as the broker answers those with
 * UNSUPPORTED_VERSION without decoding a body.
 *
 * Whatever decodes must re-encode to bytes that decode again, consuming
 * all of them, and re-encode identically, with the counting encoder
 * agreeing on the length; a mismatch aborts like a crash. */
#include "base/arena.h"
#include "base/buf.h"
#include "kafka_msgs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds what one frame may allocate, like the per-request arena limit. */
#define FRAME_ARENA_LIMIT ((size_t)64 << 20)

static int16_t request_header_version(int16_t key, int16_t v)
{
    if (key == GR_API_ControlledShutdown && v == 0)
        return 0;
    int16_t flex = gr_api_schemas[key].flexible_from;
    return flex >= 0 && v >= flex ? 2 : 1;
}

static void die(const char *what, int16_t key, int16_t v)
{
    fprintf(stderr, "fuzz_frame: %s (api key %d, version %d)\n", what, key, v);
    abort();
}

/* Decodes header + body from p[0..n); 0 or the first error. */
static int decode_frame(const uint8_t *p, size_t n, int16_t key, int16_t v, int16_t hv, gr_arena_t *a,
                        gr_RequestHeader *h, void **body, size_t *used)
{
    gr_reader_t r;
    gr_reader_init(&r, p, n);
    int rc = gr_RequestHeader_decode(&r, a, hv, h);
    if (rc == 0)
        rc = gr_request_decode_any(key, v, &r, a, body);
    *used = r.off;
    return rc;
}

static void encode_frame(gr_buf_t *b, int16_t key, int16_t v, int16_t hv, const gr_RequestHeader *h,
                         const void *body)
{
    gr_RequestHeader_encode(b, hv, h);
    gr_request_encode_any(key, v, b, body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int16_t key = size >= 2 ? (int16_t)gr_be16(data) : -1;
    int16_t v = size >= 4 ? (int16_t)gr_be16(data + 2) : -1;
    bool known = key >= 0 && key < GR_API_COUNT && gr_api_schemas[key].name &&
                 v >= gr_api_schemas[key].min_version && v <= gr_api_schemas[key].max_version;

    gr_arena_t a;
    gr_arena_init(&a, FRAME_ARENA_LIMIT);
    if (!known) {
        /* Only the header is read; at v1 and v2 both, as either may be
         * tried on an unknown version. */
        for (int16_t hv = 1; hv <= 2; hv++) {
            gr_reader_t r;
            gr_reader_init(&r, data, size);
            gr_RequestHeader h;
            (void)gr_RequestHeader_decode(&r, &a, hv, &h);
        }
        gr_arena_free(&a);
        return 0;
    }

    int16_t hv = request_header_version(key, v);
    gr_RequestHeader h;
    void *body = NULL;
    size_t used = 0;
    int rc = decode_frame(data, size, key, v, hv, &a, &h, &body, &used);
    if (rc > 0 || used > size)
        die("decoder returned > 0 or overran", key, v);
    if (rc) {
        gr_arena_free(&a);
        return 0;
    }

    gr_buf_t e1, e2, cnt;
    gr_buf_init(&e1);
    gr_buf_init(&e2);
    gr_buf_init_counting(&cnt);
    encode_frame(&e1, key, v, hv, &h, body);
    encode_frame(&cnt, key, v, hv, &h, body);
    if (e1.oom) {
        gr_buf_free(&e1);
        gr_arena_free(&a);
        return 0;
    }
    if (cnt.len != e1.len)
        die("counted size differs from the encoding", key, v);

    /* Decode the encoding from an exact copy so overreads show. */
    uint8_t *copy = malloc(e1.len ? e1.len : 1);
    if (!copy)
        abort();
    if (e1.len)
        memcpy(copy, e1.data, e1.len);
    gr_arena_t a2;
    gr_arena_init(&a2, FRAME_ARENA_LIMIT);
    gr_RequestHeader h2;
    void *body2 = NULL;
    rc = decode_frame(copy, e1.len, key, v, hv, &a2, &h2, &body2, &used);
    if (rc)
        die("the re-encoded frame does not decode", key, v);
    if (used != e1.len)
        die("the re-encoded frame decodes without consuming all of it", key, v);
    encode_frame(&e2, key, v, hv, &h2, body2);
    if (!e2.oom && (e2.len != e1.len || memcmp(e1.data, e2.data, e1.len) != 0))
        die("re-encoding is not stable", key, v);

    free(copy);
    gr_buf_free(&e1);
    gr_buf_free(&e2);
    gr_arena_free(&a2);
    gr_arena_free(&a);
    return 0;
}
