/* Round-trip and robustness tests of the generated codecs
 * (build/gen/kafka_msgs.c), for every request and response API key, every
 * version in gr_api_schemas[], and the request/response headers.
 *
 * For each (kind, key, version):
 *   - garbage: uniform and biased pseudo-random inputs, truncations and
 *     byte mutations of valid encodings are decoded from exactly-sized heap
 *     copies, so ASan flags any read past the end. A decoder must return 0 or
 *     a negative code; a strict prefix of a valid encoding must fail.
 *   - round trip: messages are made by decoding a pseudo-random byte stream
 *     biased towards small numbers (so array counts and lengths stay small
 *     and decoding goes deep) until some decode. Each is encoded (E1),
 *     decoded again (which must consume exactly E1), re-encoded (E2); E1 and
 *     E2 must be byte-identical and the counting encoder (what
 *     gr_<Msg>_size() uses) must agree with both lengths.
 * Problems are collected over all pairs and reported together (first few
 * with their input as hex), so one run lists every broken (key, version).
 *
 * Golden vectors at the end check exact bytes: an ApiVersions v3 frame as
 * librdkafka sends it, Metadata v0/v1 topics, a Produce v3 frame with a
 * real record batch, and RequestHeader v1/v2 edge cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "kafka_msgs.h"
#include "protocol/errors.h"
#include "protocol/records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_LIMIT ((size_t)32 << 20)
#define STREAM_LEN 1024
#define RT_ATTEMPTS 300   /* random streams tried per (kind, key, version) */
#define RT_WANTED 6       /* successful round trips wanted per pair */
#define GARBAGE_UNIFORM 150
#define GARBAGE_BIASED 150
#define MUTATIONS 24
#define MAX_REPORTS 40

/* ---- deterministic PRNG (splitmix64) ---- */

static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Mostly zeros and small values, some 0xff (null lengths), some anything:
 * big-endian counts and lengths then come out small enough to fit. Flavour
 * 1 makes zeros rarer, for compact (flexible) encodings where a zero length
 * byte means null and a non-nullable field then fails. */
static uint8_t biased_byte(uint64_t *s, int flavour)
{
    uint64_t x = rnd(s);
    unsigned sel = (unsigned)(x & 0xff);
    x >>= 8;
    unsigned zeros = flavour ? 40 : 150;
    if (sel < zeros)
        return 0;
    if (sel < 225)
        return (uint8_t)(1 + x % (flavour ? 3 : 4));
    if (sel < 235)
        return 0xff;
    return (uint8_t)x;
}

/* ---- the codecs under test, behind one signature ---- */

typedef int (*dec_fn)(int16_t key, int16_t v, gr_reader_t *r, gr_arena_t *a, void **out);
typedef void (*enc_fn)(int16_t key, int16_t v, gr_buf_t *b, const void *m);

static int reqhdr_dec(int16_t key, int16_t v, gr_reader_t *r, gr_arena_t *a, void **out)
{
    (void)key;
    gr_RequestHeader *m = gr_arena_alloc(a, sizeof *m);
    if (!m)
        return GR_ENOMEM;
    *out = m;
    return gr_RequestHeader_decode(r, a, v, m);
}

static void reqhdr_enc(int16_t key, int16_t v, gr_buf_t *b, const void *m)
{
    (void)key;
    gr_RequestHeader_encode(b, v, m);
}

static int resphdr_dec(int16_t key, int16_t v, gr_reader_t *r, gr_arena_t *a, void **out)
{
    (void)key;
    gr_ResponseHeader *m = gr_arena_alloc(a, sizeof *m);
    if (!m)
        return GR_ENOMEM;
    *out = m;
    return gr_ResponseHeader_decode(r, a, v, m);
}

static void resphdr_enc(int16_t key, int16_t v, gr_buf_t *b, const void *m)
{
    (void)key;
    gr_ResponseHeader_encode(b, v, m);
}

typedef struct kind_s {
    const char *name;
    dec_fn      dec;
    enc_fn      enc;
} kind_t;

static const kind_t k_request = {"request", gr_request_decode_any, gr_request_encode_any};
static const kind_t k_response = {"response", gr_response_decode_any, gr_response_encode_any};
static const kind_t k_reqhdr = {"RequestHeader", reqhdr_dec, reqhdr_enc};
static const kind_t k_resphdr = {"ResponseHeader", resphdr_dec, resphdr_enc};

/* ---- failure collection ---- */

typedef struct ctx_s {
    const kind_t *kind;
    int16_t       key;
    int16_t       v;
    /* statistics */
    long pairs, decodes, round_trips, big_round_trips, failures;
} ctx_t;

static void hexdump(const uint8_t *p, size_t n)
{
    size_t shown = n > 256 ? 256 : n;
    for (size_t i = 0; i < shown; i++)
        fprintf(stderr, "%02x", p[i]);
    fprintf(stderr, "%s\n", shown < n ? "..." : "");
}

__attribute__((format(printf, 4, 5))) static void report(ctx_t *c, const uint8_t *in, size_t len, const char *fmt,
                                                         ...)
{
    c->failures++;
    if (c->failures > MAX_REPORTS)
        return;
    const char *name = c->kind == &k_request || c->kind == &k_response ? gr_api_schemas[c->key].name : "";
    fprintf(stderr, "FAIL %s %s(%d) v%d: ", c->kind->name, name ? name : "?", c->key, c->v);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n  input (%zu bytes): ", len);
    hexdump(in, len);
}

/* ---- decode / encode helpers ---- */

/* Decodes from an exact heap copy of in[0..len) so ASan sees overreads.
 * Returns the decoder's result; *consumed gets the reader offset. */
static int decode_copy(ctx_t *c, const uint8_t *in, size_t len, gr_arena_t *a, void **m, size_t *consumed)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, in, len);
    gr_reader_t r;
    gr_reader_init(&r, copy, len);
    *m = NULL;
    int rc = c->kind->dec(c->key, c->v, &r, a, m);
    c->decodes++;
    if (consumed)
        *consumed = r.off;
    if (rc > 0)
        report(c, in, len, "decoder returned %d (> 0)", rc);
    if (r.off > len)
        report(c, in, len, "reader offset %zu past length", r.off);
    /* Decoded slices point into copy, which is freed below; for a message
     * the caller goes on using, decode again from a copy in the arena so the
     * slices live as long as the message does. */
    if (rc == 0 && len) {
        uint8_t *keep = gr_arena_alloc(a, len);
        if (!keep) {
            free(copy);
            return GR_ENOMEM;
        }
        memcpy(keep, copy, len);
        gr_reader_init(&r, keep, len);
        rc = c->kind->dec(c->key, c->v, &r, a, m);
        if (rc != 0)
            report(c, in, len, "second decode of the same bytes gave %d", rc);
    }
    free(copy);
    return rc;
}

static void encode(const ctx_t *c, const void *m, gr_buf_t *out)
{
    gr_buf_init(out);
    c->kind->enc(c->key, c->v, out, m);
    assert_int_equal(out->oom, 0);
}

static size_t counted_size(const ctx_t *c, const void *m)
{
    gr_buf_t cnt;
    gr_buf_init_counting(&cnt);
    c->kind->enc(c->key, c->v, &cnt, m);
    return cnt.len;
}

/* m was decoded from src (for reports). Checks encode/decode/encode. On
 * success *e1 holds the first encoding (caller frees). */
static bool roundtrip(ctx_t *c, const void *m, const uint8_t *src, size_t srclen, gr_buf_t *e1)
{
    encode(c, m, e1);
    bool ok = true;
    size_t n1 = counted_size(c, m);
    if (n1 != e1->len) {
        report(c, src, srclen, "size() %zu != encoded length %zu", n1, e1->len);
        ok = false;
    }
    gr_arena_t a;
    gr_arena_init(&a, ARENA_LIMIT);
    void *m2;
    size_t used = 0;
    int rc = decode_copy(c, e1->data, e1->len, &a, &m2, &used);
    if (rc) {
        report(c, e1->data, e1->len, "re-decoding the encoding failed (%d); original input follows", rc);
        report(c, src, srclen, "(original input of the failure above)");
        gr_arena_free(&a);
        return false;
    }
    if (used != e1->len) {
        report(c, e1->data, e1->len, "re-decoding consumed %zu of %zu bytes", used, e1->len);
        ok = false;
    }
    gr_buf_t e2;
    encode(c, m2, &e2);
    if (e2.len != e1->len || (e1->len && memcmp(e1->data, e2.data, e1->len) != 0)) {
        report(c, e1->data, e1->len, "re-encoding differs (%zu vs %zu bytes); second encoding:", e1->len, e2.len);
        report(c, e2.data, e2.len, "(second encoding)");
        ok = false;
    }
    size_t n2 = counted_size(c, m2);
    if (n2 != e2.len) {
        report(c, e1->data, e1->len, "size() %zu != length %zu of the re-encoding", n2, e2.len);
        ok = false;
    }
    gr_buf_free(&e2);
    gr_arena_free(&a);
    return ok;
}

/* Garbage-level decode: must not crash; a success must round-trip. */
static void decode_garbage(ctx_t *c, const uint8_t *in, size_t len)
{
    gr_arena_t a;
    gr_arena_init(&a, ARENA_LIMIT);
    void *m;
    int rc = decode_copy(c, in, len, &a, &m, NULL);
    if (rc == 0) {
        gr_buf_t e;
        roundtrip(c, m, in, len, &e);
        gr_buf_free(&e);
    }
    gr_arena_free(&a);
}

/* Every strict prefix of a valid encoding must fail to decode, and byte
 * mutations must not crash. */
static void truncations_and_mutations(ctx_t *c, const uint8_t *enc, size_t len, uint64_t *seed)
{
    size_t step = len <= 256 ? 1 : len / 128;
    for (size_t n = 0; n < len; n += step) {
        gr_arena_t a;
        gr_arena_init(&a, ARENA_LIMIT);
        void *m;
        int rc = decode_copy(c, enc, n, &a, &m, NULL);
        if (rc >= 0)
            report(c, enc, n, "a %zu-byte prefix of a %zu-byte encoding decoded (%d)", n, len, rc);
        gr_arena_free(&a);
    }
    if (!len)
        return;
    uint8_t *mut = malloc(len + 8);
    assert_non_null(mut);
    for (int i = 0; i < MUTATIONS; i++) {
        memcpy(mut, enc, len);
        size_t mlen = len;
        int edits = 1 + (int)(rnd(seed) % 3);
        for (int e = 0; e < edits; e++) {
            uint64_t x = rnd(seed);
            size_t at = (size_t)(x % mlen);
            switch ((x >> 32) % 4) {
            case 0: mut[at] = (uint8_t)(x >> 40); break;
            case 1: mut[at] ^= (uint8_t)(1u << ((x >> 40) % 8)); break;
            case 2: mut[at] = 0xff; break;
            default: mut[at] = (uint8_t)(mut[at] + 1); break;
            }
        }
        if (i % 4 == 3) /* trailing bytes are ignored by a decoder but must not hurt */
            for (int e = 0; e < 8; e++)
                mut[mlen++] = (uint8_t)rnd(seed);
        decode_garbage(c, mut, mlen);
    }
    free(mut);
}

static uint64_t pair_seed(const ctx_t *c, uint64_t salt)
{
    uint64_t s = (uint64_t)(unsigned char)c->kind->name[0] * 1000003u + (uint64_t)c->key * 7919u +
                 (uint64_t)c->v * 104729u + salt * 0x100000001b3ULL;
    rnd(&s);
    return s;
}

static void test_pair(ctx_t *c)
{
    c->pairs++;
    uint8_t *buf = malloc(STREAM_LEN);
    assert_non_null(buf);

    /* (b) round trips from biased streams; special streams first. */
    int ok = 0;
    for (int attempt = 0; attempt < RT_ATTEMPTS && ok < RT_WANTED; attempt++) {
        uint64_t s = pair_seed(c, (uint64_t)attempt + 1);
        size_t len = STREAM_LEN;
        if (attempt == 0)
            memset(buf, 0, len);
        else if (attempt == 1)
            memset(buf, 1, len);
        else
            for (size_t i = 0; i < len; i++)
                buf[i] = biased_byte(&s, attempt % 2);
        gr_arena_t a;
        gr_arena_init(&a, ARENA_LIMIT);
        void *m;
        size_t used = 0;
        int rc = decode_copy(c, buf, len, &a, &m, &used);
        if (rc == 0) {
            gr_buf_t e1;
            if (roundtrip(c, m, buf, used, &e1)) {
                ok++;
                c->round_trips++;
                if (e1.len >= 32)
                    c->big_round_trips++;
                truncations_and_mutations(c, e1.data, e1.len, &s);
            }
            gr_buf_free(&e1);
        }
        gr_arena_free(&a);
    }
    if (ok == 0)
        report(c, NULL, 0, "no pseudo-random stream decoded in %d attempts", RT_ATTEMPTS);

    /* (a) garbage. */
    uint64_t s = pair_seed(c, 0xabcdef);
    for (int i = 0; i < GARBAGE_UNIFORM + GARBAGE_BIASED; i++) {
        size_t len = (size_t)(rnd(&s) % (i % 8 == 0 ? STREAM_LEN : 96));
        for (size_t j = 0; j < len; j++)
            buf[j] = i < GARBAGE_UNIFORM ? (uint8_t)rnd(&s) : biased_byte(&s, i % 2);
        decode_garbage(c, buf, len);
    }
    free(buf);
}

static void summary(const char *what, const ctx_t *c)
{
    print_message("%s: %ld (key, version) pairs, %ld decodes, %ld round trips (%ld of 32+ bytes), %ld failures\n",
                  what, c->pairs, c->decodes, c->round_trips, c->big_round_trips, c->failures);
}

static void run_api_kind(const kind_t *kind)
{
    ctx_t c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    for (int key = 0; key < GR_API_COUNT; key++) {
        const gr_api_schema_t *sch = &gr_api_schemas[key];
        if (!sch->name)
            continue;
        for (int v = sch->min_version; v <= sch->max_version; v++) {
            c.key = (int16_t)key;
            c.v = (int16_t)v;
            test_pair(&c);
        }
    }
    summary(kind->name, &c);
    assert_int_equal(c.failures, 0);
}

static void test_requests(void **state)
{
    (void)state;
    run_api_kind(&k_request);
}

static void test_responses(void **state)
{
    (void)state;
    run_api_kind(&k_response);
}

static void test_headers(void **state)
{
    (void)state;
    ctx_t c;
    memset(&c, 0, sizeof c);
    c.kind = &k_reqhdr;
    for (int v = 0; v <= 2; v++) {
        c.v = (int16_t)v;
        test_pair(&c);
    }
    summary("RequestHeader", &c);
    ctx_t d;
    memset(&d, 0, sizeof d);
    d.kind = &k_resphdr;
    for (int v = 0; v <= 1; v++) {
        d.v = (int16_t)v;
        test_pair(&d);
    }
    summary("ResponseHeader", &d);
    assert_int_equal(c.failures + d.failures, 0);
}

/* An unknown key is refused, never decoded or crashed on. */
static void test_unknown_api_key(void **state)
{
    (void)state;
    static const uint8_t body[] = {0, 0, 0, 0};
    int16_t keys[] = {-1, GR_API_COUNT, 1000, INT16_MAX, INT16_MIN};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        gr_arena_t a;
        gr_arena_init(&a, ARENA_LIMIT);
        gr_reader_t r;
        gr_reader_init(&r, body, sizeof body);
        void *m = NULL;
        assert_true(gr_request_decode_any(keys[i], 0, &r, &a, &m) < 0);
        gr_reader_init(&r, body, sizeof body);
        assert_true(gr_response_decode_any(keys[i], 0, &r, &a, &m) < 0);
        gr_arena_free(&a);
    }
}

/* Compact (flexible) lengths are uvarints of up to 64 bits: huge ones,
 * including those that become negative as int64 (2^63 and up), must be
 * refused without signed overflow (UBSan) for strings, bytes and arrays. */
static void test_hostile_compact_lengths(void **state)
{
    (void)state;
    static const uint8_t lens[][11] = {
        {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 'x'}, /* 2^63 */
        {0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 'x'}, /* 2^63 + 1 */
        {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 'x'}, /* 2^64 - 1 */
        {0x80, 0x80, 0x80, 0x80, 0x10, 'x'},                               /* 2^32 */
        {0x81, 0x80, 0x80, 0x80, 0x08, 'x'},                               /* 2^31 + 1 */
        {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, /* 11 bytes */
    };
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        for (int nullable = 0; nullable < 2; nullable++) {
            gr_reader_t r;
            gr_str_t str;
            gr_bytes_t bytes;
            int32_t n;
            gr_reader_init(&r, lens[i], sizeof lens[i]);
            assert_int_equal(gr_codec_read_string(&r, true, nullable, &str), GR_EMALFORMED);
            gr_reader_init(&r, lens[i], sizeof lens[i]);
            assert_int_equal(gr_codec_read_bytes(&r, true, nullable, &bytes), GR_EMALFORMED);
            gr_reader_init(&r, lens[i], sizeof lens[i]);
            assert_int_equal(gr_codec_read_array_len(&r, true, nullable, &n), GR_EMALFORMED);
        }
    }
}

/* ---- golden vectors ---- */

static void expect_bytes(const gr_buf_t *b, const uint8_t *want, size_t n)
{
    if (b->len != n || memcmp(b->data, want, n) != 0) {
        fprintf(stderr, "got  (%zu): ", b->len);
        hexdump(b->data, b->len);
        fprintf(stderr, "want (%zu): ", n);
        hexdump(want, n);
        fail_msg("encoding differs from the golden bytes");
    }
}

/* The first frame confluent-kafka-python 2.16.1 (librdkafka 2.16.0) sends,
 * size prefix removed, captured by tests/fuzz/make_seeds.py:
 * RequestHeader v2 + ApiVersionsRequest v3. */
static const uint8_t apiversions_v3_librdkafka[] = {
    0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01,    /* key 18, v3, correlation id 1 */
    0x00, 0x07, 'r', 'd', 'k', 'a', 'f', 'k', 'a',     /* client id: a classic string even in v2 */
    0x00,                                              /* header tagged fields: none */
    0x17, 'c', 'o', 'n', 'f', 'l', 'u', 'e', 'n', 't', /* ClientSoftwareName, compact: len + 1 */
    '-', 'k', 'a', 'f', 'k', 'a', '-', 'p', 'y', 't', 'h', 'o', 'n',
    0x16, '2', '.', '1', '6', '.', '1', '-', 'r', 'd', 'k', 'a', 'f', 'k', 'a', /* ClientSoftwareVersion */
    '-', '2', '.', '1', '6', '.', '0',
    0x00, /* body tagged fields: none */
};

static void test_golden_apiversions_v3(void **state)
{
    (void)state;
    const uint8_t *f = apiversions_v3_librdkafka;
    size_t n = sizeof apiversions_v3_librdkafka;
    gr_arena_t a;
    gr_arena_init(&a, ARENA_LIMIT);
    gr_reader_t r;
    gr_reader_init(&r, f, n);
    gr_RequestHeader h;
    assert_int_equal(gr_RequestHeader_decode(&r, &a, 2, &h), 0);
    assert_int_equal(h.RequestApiKey, GR_API_ApiVersions);
    assert_int_equal(h.RequestApiVersion, 3);
    assert_int_equal(h.CorrelationId, 1);
    assert_true(gr_str_eq(h.ClientId, "rdkafka"));
    assert_int_equal(r.off, 18);
    gr_ApiVersionsRequest req;
    assert_int_equal(gr_ApiVersionsRequest_decode(&r, &a, 3, &req), 0);
    assert_true(gr_str_eq(req.ClientSoftwareName, "confluent-kafka-python"));
    assert_true(gr_str_eq(req.ClientSoftwareVersion, "2.16.1-rdkafka-2.16.0"));
    assert_int_equal(r.off, n);

    gr_buf_t b;
    gr_buf_init(&b);
    gr_RequestHeader_encode(&b, 2, &h);
    gr_ApiVersionsRequest_encode(&b, 3, &req);
    expect_bytes(&b, f, n);
    assert_int_equal(gr_RequestHeader_size(2, &h) + gr_ApiVersionsRequest_size(3, &req), n);

    /* Built from scratch rather than decoded: same bytes. */
    gr_buf_reset(&b);
    gr_ApiVersionsRequest_init(&req);
    req.ClientSoftwareName = gr_str("confluent-kafka-python");
    req.ClientSoftwareVersion = gr_str("2.16.1-rdkafka-2.16.0");
    gr_ApiVersionsRequest_encode(&b, 3, &req);
    expect_bytes(&b, f + 18, n - 18);
    /* v0-v2 have no body at all. */
    gr_buf_reset(&b);
    gr_ApiVersionsRequest_encode(&b, 2, &req);
    assert_int_equal(b.len, 0);
    gr_buf_free(&b);
    gr_arena_free(&a);
}

static void test_golden_metadata_null_topics(void **state)
{
    (void)state;
    static const uint8_t all_v0[] = {0x00, 0x00, 0x00, 0x00};  /* v0: empty array = all topics */
    static const uint8_t null_v1[] = {0xff, 0xff, 0xff, 0xff}; /* v1+: null = all topics */
    static const uint8_t one_v1[] = {0x00, 0x00, 0x00, 0x01, 0x00, 0x03, 'f', 'o', 'o'};
    gr_arena_t a;
    gr_arena_init(&a, ARENA_LIMIT);
    gr_reader_t r;
    gr_MetadataRequest m;

    gr_reader_init(&r, all_v0, sizeof all_v0);
    assert_int_equal(gr_MetadataRequest_decode(&r, &a, 0, &m), 0);
    assert_int_equal(m.Topics_count, 0);
    /* A null array is not allowed in v0. */
    gr_reader_init(&r, null_v1, sizeof null_v1);
    assert_true(gr_MetadataRequest_decode(&r, &a, 0, &m) < 0);
    gr_reader_init(&r, null_v1, sizeof null_v1);
    assert_int_equal(gr_MetadataRequest_decode(&r, &a, 1, &m), 0);
    assert_int_equal(m.Topics_count, -1);
    assert_null(m.Topics);

    gr_buf_t b;
    gr_buf_init(&b);
    gr_MetadataRequest_encode(&b, 1, &m);
    expect_bytes(&b, null_v1, sizeof null_v1);

    gr_reader_init(&r, one_v1, sizeof one_v1);
    assert_int_equal(gr_MetadataRequest_decode(&r, &a, 1, &m), 0);
    assert_int_equal(m.Topics_count, 1);
    assert_true(gr_str_eq(m.Topics[0].Name, "foo"));
    gr_buf_reset(&b);
    gr_MetadataRequest_encode(&b, 1, &m);
    expect_bytes(&b, one_v1, sizeof one_v1);

    gr_MetadataRequest_init(&m);
    m.Topics_count = 0;
    gr_buf_reset(&b);
    gr_MetadataRequest_encode(&b, 0, &m);
    expect_bytes(&b, all_v0, sizeof all_v0);
    gr_buf_free(&b);
    gr_arena_free(&a);
}

/* A ProduceRequest v3 body: TransactionalId null, acks -1, timeout 30000,
 * topic "t" partition 0 with one uncompressed batch of one record
 * (key null, value "hi", timestamp 1700000000000), CRC-32C as set by
 * tests/fuzz/make_seeds.py. */
static const uint8_t batch_hi[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* baseOffset */
    0x00, 0x00, 0x00, 0x3a,                         /* batchLength 58 */
    0xff, 0xff, 0xff, 0xff,                         /* partitionLeaderEpoch */
    0x02,                                           /* magic */
    0xbb, 0xcc, 0x41, 0x15,                         /* crc */
    0x00, 0x00,                                     /* attributes */
    0x00, 0x00, 0x00, 0x00,                         /* lastOffsetDelta */
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* baseTimestamp */
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* maxTimestamp */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* producerId */
    0xff, 0xff,                                     /* producerEpoch */
    0xff, 0xff, 0xff, 0xff,                         /* baseSequence */
    0x00, 0x00, 0x00, 0x01,                         /* recordCount */
    0x10, 0x00, 0x00, 0x00, 0x01, 0x04, 'h', 'i', 0x00,
    /* record: length 8, attrs, tsDelta 0, offDelta 0, key -1, value 2 "hi", 0 headers
     * (varints zigzag-encoded) */
};

static void test_golden_produce_v3(void **state)
{
    (void)state;
    uint8_t frame[256];
    size_t n = 0;
    static const uint8_t head[] = {
        0xff, 0xff,             /* TransactionalId null */
        0xff, 0xff,             /* Acks -1 */
        0x00, 0x00, 0x75, 0x30, /* TimeoutMs 30000 */
        0x00, 0x00, 0x00, 0x01, /* 1 topic */
        0x00, 0x01, 't',        /* Name */
        0x00, 0x00, 0x00, 0x01, /* 1 partition */
        0x00, 0x00, 0x00, 0x00, /* Index 0 */
        0x00, 0x00, 0x00, 0x46, /* Records: 70 bytes */
    };
    assert_int_equal(sizeof batch_hi, 70);
    memcpy(frame, head, sizeof head);
    n = sizeof head;
    memcpy(frame + n, batch_hi, sizeof batch_hi);
    n += sizeof batch_hi;

    gr_arena_t a;
    gr_arena_init(&a, ARENA_LIMIT);
    gr_reader_t r;
    gr_reader_init(&r, frame, n);
    gr_ProduceRequest m;
    assert_int_equal(gr_ProduceRequest_decode(&r, &a, 3, &m), 0);
    assert_int_equal(r.off, n);
    assert_int_equal(m.TransactionalId.len, -1);
    assert_int_equal(m.Acks, -1);
    assert_int_equal(m.TimeoutMs, 30000);
    assert_int_equal(m.TopicData_count, 1);
    assert_true(gr_str_eq(m.TopicData[0].Name, "t"));
    assert_int_equal(m.TopicData[0].PartitionData_count, 1);
    gr_bytes_t rec = m.TopicData[0].PartitionData[0].Records;
    assert_int_equal(rec.len, sizeof batch_hi);
    assert_ptr_equal(rec.ptr, frame + sizeof head); /* a slice, not a copy */

    /* The blob is a valid batch for a v3 client append. */
    uint8_t copy[sizeof batch_hi];
    memcpy(copy, rec.ptr, sizeof copy);
    gr_records_validate_opts_t o;
    memset(&o, 0, sizeof o);
    o.produce_version = 3;
    o.now_ms = 1700000000000;
    gr_records_validate_result_t res;
    memset(&res, 0, sizeof res);
    assert_int_equal(gr_records_validate(copy, sizeof copy, &o, &res), 0);
    assert_int_equal(res.error_code, 0);
    assert_int_equal(res.record_count, 1);
    gr_record_iter_t it;
    gr_record_t one;
    assert_int_equal(gr_record_iter_init(&it, rec.ptr, (size_t)rec.len, NULL, 0), 0);
    assert_int_equal(gr_record_iter_next(&it, &one), 1);
    assert_int_equal(one.key.len, -1);
    assert_int_equal(one.value.len, 2);
    assert_memory_equal(one.value.ptr, "hi", 2);
    assert_int_equal(one.timestamp, 1700000000000);
    assert_int_equal(gr_record_iter_next(&it, &one), 0);

    /* The builder makes the same bytes. */
    gr_batch_builder_t bb;
    gr_buf_t built;
    gr_buf_init(&built);
    gr_batch_builder_init(&bb, 0);
    gr_bytes_t nokey = {NULL, -1}, val = {(const uint8_t *)"hi", 2};
    assert_int_equal(gr_batch_builder_add(&bb, 1700000000000, nokey, val, NULL, 0), 0);
    assert_int_equal(gr_batch_builder_finish(&bb, &built), 0);
    gr_batch_builder_free(&bb);
    expect_bytes(&built, batch_hi, sizeof batch_hi);
    gr_buf_free(&built);

    gr_buf_t b;
    gr_buf_init(&b);
    gr_ProduceRequest_encode(&b, 3, &m);
    expect_bytes(&b, frame, n);
    assert_int_equal(gr_ProduceRequest_size(3, &m), n);
    gr_buf_free(&b);
    gr_arena_free(&a);
}

static void test_golden_request_header(void **state)
{
    (void)state;
    /* v1 with a null client id (length -1). */
    static const uint8_t v1_null[] = {0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07, 0xff, 0xff};
    /* v2: client id "abcd" (still a classic string), one unknown tagged
     * field (tag 5, 2 bytes), then the body's first byte. */
    static const uint8_t v2_tag[] = {0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x04,
                                     'a',  'b',  'c',  'd',  0x01, 0x05, 0x02, 0xaa, 0xbb, 0x77};
    static const uint8_t v2_plain[] = {0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x2a,
                                       0x00, 0x04, 'a',  'b',  'c',  'd',  0x00};
    gr_arena_t a;
    gr_arena_init(&a, ARENA_LIMIT);
    gr_reader_t r;
    gr_RequestHeader h;
    gr_buf_t b;
    gr_buf_init(&b);

    gr_reader_init(&r, v1_null, sizeof v1_null);
    assert_int_equal(gr_RequestHeader_decode(&r, &a, 1, &h), 0);
    assert_int_equal(h.RequestApiKey, 3);
    assert_int_equal(h.RequestApiVersion, 1);
    assert_int_equal(h.CorrelationId, 7);
    assert_int_equal(h.ClientId.len, -1);
    assert_int_equal(r.off, sizeof v1_null);
    gr_RequestHeader_encode(&b, 1, &h);
    expect_bytes(&b, v1_null, sizeof v1_null);
    /* v0 has no client id: only the first 8 bytes are read. */
    gr_reader_init(&r, v1_null, sizeof v1_null);
    assert_int_equal(gr_RequestHeader_decode(&r, &a, 0, &h), 0);
    assert_int_equal(r.off, 8);

    gr_reader_init(&r, v2_tag, sizeof v2_tag);
    assert_int_equal(gr_RequestHeader_decode(&r, &a, 2, &h), 0);
    assert_int_equal(h.CorrelationId, 42);
    assert_true(gr_str_eq(h.ClientId, "abcd"));
    assert_int_equal(r.off, sizeof v2_tag - 1); /* the unknown tag skipped, body untouched */
    gr_buf_reset(&b);
    gr_RequestHeader_encode(&b, 2, &h);
    expect_bytes(&b, v2_plain, sizeof v2_plain); /* unknown tags are not kept */
    assert_int_equal(gr_RequestHeader_size(2, &h), sizeof v2_plain);

    /* A tagged field running past the frame, and a tag count larger than
     * the bytes left, are malformed. */
    gr_reader_init(&r, v2_tag, 18);
    assert_true(gr_RequestHeader_decode(&r, &a, 2, &h) < 0);
    static const uint8_t v2_many[] = {0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x2a, 0xff, 0xff, 0x7f};
    gr_reader_init(&r, v2_many, sizeof v2_many);
    assert_true(gr_RequestHeader_decode(&r, &a, 2, &h) < 0);
    /* A client id length of -2 is malformed even where null is allowed. */
    static const uint8_t v1_neg2[] = {0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07, 0xff, 0xfe};
    gr_reader_init(&r, v1_neg2, sizeof v1_neg2);
    assert_true(gr_RequestHeader_decode(&r, &a, 1, &h) < 0);
    gr_buf_free(&b);
    gr_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_apiversions_v3),
        cmocka_unit_test(test_golden_metadata_null_topics),
        cmocka_unit_test(test_golden_produce_v3),
        cmocka_unit_test(test_golden_request_header),
        cmocka_unit_test(test_unknown_api_key),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_requests),
        cmocka_unit_test(test_responses),
        cmocka_unit_test(test_hostile_compact_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
