/* Unit tests of protocol/compress.c: round trips of the four codecs, the
 * framings other clients write (raw and xerial snappy, multi-member gzip,
 * concatenated lz4/zstd frames, zstd without a content size), truncated and
 * garbage input, and output bounds against decompression bombs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "records_util.h"

#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

static const int codecs[] = {GR_CODEC_GZIP, GR_CODEC_SNAPPY, GR_CODEC_LZ4, GR_CODEC_ZSTD};
#define NCODECS 4

/* Half random, half repetitive text, so both paths of each codec run. */
static uint8_t *make_input(size_t n, uint64_t seed)
{
    uint8_t *p = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        p[i] = (i / 4096) % 2 ? (uint8_t)ru_rand(&seed) : (uint8_t)("kafka-gregor "[i % 13]);
    return p;
}

static void roundtrip(int codec, size_t n)
{
    uint8_t *in = make_input(n, n + 7);
    gr_buf_t c, d;
    gr_buf_init(&c);
    gr_buf_init(&d);
    assert_int_equal(gr_compress(codec, in, n, &c), 0);
    gr_buf_put(&d, "pre", 3); /* output is appended */
    assert_int_equal(gr_decompress(codec, c.data, c.len, &d, n), 0);
    assert_int_equal(d.len, n + 3);
    assert_memory_equal(d.data, "pre", 3);
    if (n)
        assert_memory_equal(d.data + 3, in, n);
    /* One byte less than needed is too big, and leaves out as it was. */
    if (n) {
        d.len = 3;
        assert_int_equal(gr_decompress(codec, c.data, c.len, &d, n - 1), GR_ETOOBIG);
        assert_int_equal(d.len, 3);
    }
    gr_buf_free(&c);
    gr_buf_free(&d);
    free(in);
}

static void test_roundtrip_all(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 13, 1000, 32768, 32769, 65536 + 5, 300000};
    for (int c = 0; c < NCODECS; c++)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
            roundtrip(codecs[c], sizes[i]);
}

static void test_unknown_codec(void **state)
{
    (void)state;
    gr_buf_t b;
    gr_buf_init(&b);
    assert_int_equal(gr_decompress(0, (const uint8_t *)"x", 1, &b, 10), GR_EUNSUPPORTED);
    assert_int_equal(gr_decompress(5, (const uint8_t *)"x", 1, &b, 10), GR_EUNSUPPORTED);
    assert_int_equal(gr_compress(7, (const uint8_t *)"x", 1, &b), GR_EUNSUPPORTED);
    assert_string_equal(gr_codec_name(GR_CODEC_ZSTD), "zstd");
    assert_string_equal(gr_codec_name(9), "unknown");
    gr_buf_free(&b);
}

/* librdkafka writes one raw snappy block, no framing. */
static void test_snappy_raw(void **state)
{
    (void)state;
    size_t n = 100000;
    uint8_t *in = make_input(n, 3);
    size_t clen = snappy_max_compressed_length(n);
    char *c = malloc(clen);
    assert_int_equal(snappy_compress((const char *)in, n, c, &clen), SNAPPY_OK);
    gr_buf_t d;
    gr_buf_init(&d);
    assert_int_equal(gr_decompress(GR_CODEC_SNAPPY, (uint8_t *)c, clen, &d, n), 0);
    assert_int_equal(d.len, n);
    assert_memory_equal(d.data, in, n);
    d.len = 0;
    /* The stated length is checked before anything is allocated. */
    assert_int_equal(gr_decompress(GR_CODEC_SNAPPY, (uint8_t *)c, clen, &d, n - 1), GR_ETOOBIG);
    assert_int_equal(gr_decompress(GR_CODEC_SNAPPY, (uint8_t *)c, clen - 1, &d, n), GR_EMALFORMED);
    assert_int_equal(d.len, 0);
    gr_buf_free(&d);
    free(c);
    free(in);
}

/* The Java client's framing, written here by hand: header, then blocks;
 * also two streams back to back, as snappy-java reads them. */
static void test_snappy_xerial(void **state)
{
    (void)state;
    static const uint8_t magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
    const char *parts[] = {"hello ", "xerial ", "world"};
    gr_buf_t x, d;
    gr_buf_init(&x);
    gr_buf_init(&d);
    for (int s = 0; s < 2; s++) {
        gr_buf_put(&x, magic, 8);
        gr_buf_put_i32(&x, 1);
        gr_buf_put_i32(&x, 1);
        for (int i = 0; i < 3; i++) {
            size_t n = strlen(parts[i]), clen = snappy_max_compressed_length(n);
            char tmp[64];
            assert_int_equal(snappy_compress(parts[i], n, tmp, &clen), SNAPPY_OK);
            gr_buf_put_i32(&x, (int32_t)clen);
            gr_buf_put(&x, tmp, clen);
        }
    }
    assert_int_equal(gr_decompress(GR_CODEC_SNAPPY, x.data, x.len, &d, 1000), 0);
    assert_int_equal(d.len, 36);
    assert_memory_equal(d.data, "hello xerial worldhello xerial world", 36);
    /* Truncated inside a block, inside a length, and a length past the end. */
    d.len = 0;
    assert_int_equal(gr_decompress(GR_CODEC_SNAPPY, x.data, x.len - 1, &d, 1000), GR_EMALFORMED);
    assert_int_equal(gr_decompress(GR_CODEC_SNAPPY, x.data, 16 + 2, &d, 1000), GR_EMALFORMED);
    gr_wbe32(x.data + 16, 0x7fffffff);
    assert_int_equal(gr_decompress(GR_CODEC_SNAPPY, x.data, x.len, &d, 1000), GR_EMALFORMED);
    /* A bare header is an empty stream. */
    assert_int_equal(gr_decompress(GR_CODEC_SNAPPY, x.data, 16, &d, 1000), 0);
    assert_int_equal(d.len, 0);
    /* Our own output is xerial-framed. */
    gr_buf_reset(&x);
    assert_int_equal(gr_compress(GR_CODEC_SNAPPY, (const uint8_t *)"abc", 3, &x), 0);
    assert_memory_equal(x.data, magic, 8);
    gr_buf_free(&x);
    gr_buf_free(&d);
}

static void gzip_member(gr_buf_t *out, const char *s)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    uint8_t tmp[256];
    z.next_in = (Bytef *)(uintptr_t)s;
    z.avail_in = (uInt)strlen(s);
    z.next_out = tmp;
    z.avail_out = sizeof tmp;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    gr_buf_put(out, tmp, sizeof tmp - z.avail_out);
    deflateEnd(&z);
}

static void test_gzip_members(void **state)
{
    (void)state;
    gr_buf_t g, d;
    gr_buf_init(&g);
    gr_buf_init(&d);
    gzip_member(&g, "first ");
    gzip_member(&g, "second");
    assert_int_equal(gr_decompress(GR_CODEC_GZIP, g.data, g.len, &d, 100), 0);
    assert_int_equal(d.len, 12);
    assert_memory_equal(d.data, "first second", 12);
    /* Bytes after the last member that are not a member are ignored. */
    gr_buf_put(&g, "\0\0\0junk", 7);
    d.len = 0;
    assert_int_equal(gr_decompress(GR_CODEC_GZIP, g.data, g.len, &d, 100), 0);
    assert_int_equal(d.len, 12);
    /* A truncated member is not. */
    d.len = 0;
    assert_int_equal(gr_decompress(GR_CODEC_GZIP, g.data, 10, &d, 100), GR_EMALFORMED);
    assert_int_equal(gr_decompress(GR_CODEC_GZIP, g.data, 0, &d, 100), GR_EMALFORMED);
    assert_int_equal(gr_decompress(GR_CODEC_GZIP, (const uint8_t *)"garbage!", 8, &d, 100), GR_EMALFORMED);
    assert_int_equal(d.len, 0);
    gr_buf_free(&g);
    gr_buf_free(&d);
}

static void test_lz4_zstd_concatenated(void **state)
{
    (void)state;
    for (int c = 2; c < NCODECS; c++) {
        gr_buf_t x, d;
        gr_buf_init(&x);
        gr_buf_init(&d);
        assert_int_equal(gr_compress(codecs[c], (const uint8_t *)"one,", 4, &x), 0);
        assert_int_equal(gr_compress(codecs[c], (const uint8_t *)"two", 3, &x), 0);
        assert_int_equal(gr_decompress(codecs[c], x.data, x.len, &d, 100), 0);
        assert_int_equal(d.len, 7);
        assert_memory_equal(d.data, "one,two", 7);
        /* Truncation at every length fails cleanly. */
        for (size_t cut = 0; cut < x.len; cut++) {
            d.len = 0;
            int rc = gr_decompress(codecs[c], x.data, cut, &d, 100);
            /* A cut exactly between the frames is a valid first frame. */
            if (rc == 0)
                assert_int_equal(d.len, 4);
            else
                assert_int_equal(rc, GR_EMALFORMED);
        }
        gr_buf_free(&x);
        gr_buf_free(&d);
    }
}

/* zstd streamed without a pledged size: the frame states no content size. */
static void test_zstd_streaming_no_size(void **state)
{
    (void)state;
    size_t n = 500000;
    uint8_t *in = make_input(n, 11);
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    size_t cap = ZSTD_compressBound(n);
    uint8_t *c = malloc(cap);
    ZSTD_outBuffer ob = {c, cap, 0};
    ZSTD_inBuffer ib = {in, n, 0};
    /* e_continue first: the size is not known when the frame header is made. */
    assert_false(ZSTD_isError(ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_continue)));
    while (ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_end) != 0)
        ;
    assert_int_equal(ZSTD_getFrameContentSize(c, ob.pos), ZSTD_CONTENTSIZE_UNKNOWN);
    gr_buf_t d;
    gr_buf_init(&d);
    assert_int_equal(gr_decompress(GR_CODEC_ZSTD, c, ob.pos, &d, n), 0);
    assert_int_equal(d.len, n);
    assert_memory_equal(d.data, in, n);
    d.len = 0;
    assert_int_equal(gr_decompress(GR_CODEC_ZSTD, c, ob.pos, &d, n - 1), GR_ETOOBIG);
    gr_buf_free(&d);
    ZSTD_freeCCtx(cc);
    free(c);
    free(in);
}

/* A frame asking for a 128 MiB window is refused when the bound is small. */
static void test_zstd_window_limit(void **state)
{
    (void)state;
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, 27)));
    uint8_t c[256];
    ZSTD_outBuffer ob = {c, sizeof c, 0};
    ZSTD_inBuffer ib = {"tiny", 4, 0};
    assert_false(ZSTD_isError(ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_continue)));
    while (ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_end) != 0)
        ;
    gr_buf_t d;
    gr_buf_init(&d);
    assert_int_equal(gr_decompress(GR_CODEC_ZSTD, c, ob.pos, &d, 1 << 20), GR_ETOOBIG);
    /* With a bound as large as the window, it is accepted. */
    assert_int_equal(gr_decompress(GR_CODEC_ZSTD, c, ob.pos, &d, (size_t)1 << 27), 0);
    assert_int_equal(d.len, 4);
    gr_buf_free(&d);
    ZSTD_freeCCtx(cc);
}

/* 64 MiB of zeros compress to a little; decoding with a 1 MiB bound must
 * fail with GR_ETOOBIG having allocated about the bound, not 64 MiB. */
static void test_bombs(void **state)
{
    (void)state;
    size_t n = (size_t)64 << 20;
    uint8_t *zeros = calloc(1, n);
    assert_non_null(zeros);
    for (int c = 0; c < NCODECS; c++) {
        gr_buf_t x, d;
        gr_buf_init(&x);
        gr_buf_init(&d);
        assert_int_equal(gr_compress(codecs[c], zeros, n, &x), 0);
        assert_true(x.len < n / 10);
        assert_int_equal(gr_decompress(codecs[c], x.data, x.len, &d, (size_t)1 << 20), GR_ETOOBIG);
        assert_int_equal(d.len, 0);
        assert_true(d.cap <= ((size_t)3 << 20));
        gr_buf_free(&x);
        gr_buf_free(&d);
    }
    free(zeros);
}

static void test_garbage_never_crashes(void **state)
{
    (void)state;
    uint64_t seed = 42;
    uint8_t buf[512];
    gr_buf_t d;
    gr_buf_init(&d);
    for (int round = 0; round < 4000; round++) {
        size_t n = ru_rand(&seed) % sizeof buf;
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)ru_rand(&seed);
        /* Sometimes start with a real header so the decoders go deeper. */
        int codec = codecs[round % NCODECS];
        if (round % 3 == 0 && n > 32) {
            gr_buf_t h;
            gr_buf_init(&h);
            gr_compress(codec, buf + 32, n - 32, &h);
            memcpy(buf, h.data, h.len < 24 ? h.len : 24);
            gr_buf_free(&h);
        }
        d.len = 0;
        int rc = gr_decompress(codec, buf, n, &d, 4096);
        assert_true(rc == 0 || rc == GR_EMALFORMED || rc == GR_ETOOBIG);
        assert_true(d.len <= 4096);
    }
    gr_buf_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_all),
        cmocka_unit_test(test_unknown_codec),
        cmocka_unit_test(test_snappy_raw),
        cmocka_unit_test(test_snappy_xerial),
        cmocka_unit_test(test_gzip_members),
        cmocka_unit_test(test_lz4_zstd_concatenated),
        cmocka_unit_test(test_zstd_streaming_no_size),
        cmocka_unit_test(test_zstd_window_limit),
        cmocka_unit_test(test_bombs),
        cmocka_unit_test(test_garbage_never_crashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
