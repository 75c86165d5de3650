/* Unit tests of protocol/downconvert.c: RecordBatch v2 to message format
 * v0/v1 for Fetch v0-3. Uncompressed and each codec, in both magics;
 * offsets in the middle of a batch; null keys and values; headers dropped;
 * LogAppendTime; control and zstd batches; corrupt input; the size rule
 * (cut at max(bytes read, first converted batch)). The output is parsed
 * back here independently: sizes, CRC-32s, offsets, attributes,
 * timestamps, and the lz4 frame header checksum Kafka writes for magic 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "records_util.h"
#include "base/arena.h"
#include "protocol/downconvert.h"

#include <zlib.h>

#define TS0 1700000000000LL

typedef struct msg_s {
    int64_t offset;     /* as written (relative inside a magic-1 wrapper) */
    int8_t  magic;
    uint8_t attrs;
    int64_t ts;         /* magic 1 only */
    gr_bytes_t key, value;
} msg_t;

/* Parses the complete messages of a legacy message set, checking each
 * CRC-32 and size field; returns their number (a partial tail is left). */
static int parse_msgs(const uint8_t *p, size_t len, int magic, msg_t *m, int cap, size_t *used)
{
    size_t pos = 0;
    int n = 0;
    while (len - pos >= 12) {
        int32_t size = (int32_t)gr_be32(p + pos + 8);
        assert_true(size >= (magic ? 22 : 14));
        if ((size_t)size > len - pos - 12)
            break;
        const uint8_t *b = p + pos + 12;
        assert_int_equal(gr_be32(b), (uint32_t)crc32(0L, b + 4, (uInt)(size - 4)));
        assert_true(n < cap);
        msg_t *x = &m[n++];
        x->offset = (int64_t)gr_be64(p + pos);
        x->magic = (int8_t)b[4];
        assert_int_equal(x->magic, magic);
        x->attrs = b[5];
        size_t q = 6;
        x->ts = -2;
        if (magic) {
            x->ts = (int64_t)gr_be64(b + q);
            q += 8;
        }
        x->key.len = (int32_t)gr_be32(b + q);
        q += 4;
        x->key.ptr = b + q;
        q += x->key.len > 0 ? (size_t)x->key.len : 0;
        x->value.len = (int32_t)gr_be32(b + q);
        q += 4;
        x->value.ptr = b + q;
        q += x->value.len > 0 ? (size_t)x->value.len : 0;
        assert_int_equal(q, (size_t)size); /* the fields fill the message exactly */
        pos += 12 + (size_t)size;
    }
    if (used)
        *used = pos;
    return n;
}

static void assert_bytes(gr_bytes_t b, const char *s)
{
    if (!s) {
        assert_int_equal(b.len, -1);
        return;
    }
    assert_int_equal(b.len, (int32_t)strlen(s));
    assert_memory_equal(b.ptr, s, strlen(s));
}

/* The inner message set of a wrapper, decompressed into d. For lz4 the
 * frame header checksum must be Kafka's: over magic+FLG+BD for magic 0
 * ("broken"), over FLG+BD for magic 1 (the lz4 spec). */
static void unwrap(const msg_t *w, int magic, gr_buf_t *d)
{
    int codec = w->attrs & 7;
    assert_true(codec >= GR_CODEC_GZIP && codec <= GR_CODEC_LZ4);
    uint8_t *c = malloc((size_t)w->value.len);
    memcpy(c, w->value.ptr, (size_t)w->value.len);
    if (codec == GR_CODEC_LZ4) {
        assert_true(w->value.len > 7);
        assert_int_equal(c[4] & 0x08, 0); /* no content size field */
        uint8_t broken = (uint8_t)(gr_xxh32_short(c, 6) >> 8);
        uint8_t proper = (uint8_t)(gr_xxh32_short(c + 4, 2) >> 8);
        assert_int_equal(c[6], magic == 0 ? broken : proper);
        c[6] = proper;
    }
    gr_buf_reset(d);
    assert_int_equal(gr_decompress(codec, c, (size_t)w->value.len, d, 1 << 24), 0);
    free(c);
}

/* A batch of n records at base: "k<i>" -> "value-<i>", record 1 with a null
 * key, record 2 with a null value, headers on record 0, timestamps TS0+i. */
static void build(gr_buf_t *out, int codec, int64_t base, int n, bool log_append_time, int64_t lat)
{
    gr_batch_builder_t b;
    gr_batch_builder_init(&b, codec);
    gr_batch_builder_set_base_offset(&b, base);
    if (log_append_time)
        gr_batch_builder_set_log_append_time(&b, lat);
    for (int i = 0; i < n; i++) {
        char k[32], v[64];
        snprintf(k, sizeof k, "k%d", i);
        snprintf(v, sizeof v, "value-%d", i);
        gr_record_header_t h[1] = {{ru_bytes("h"), ru_bytes("x")}};
        assert_int_equal(gr_batch_builder_add(&b, TS0 + i, i == 1 ? ru_bytes(NULL) : ru_bytes(k),
                                              i == 2 ? ru_bytes(NULL) : ru_bytes(v), i == 0 ? h : NULL,
                                              i == 0 ? 1 : 0),
                         0);
    }
    assert_int_equal(gr_batch_builder_finish(&b, out), 0);
    gr_batch_builder_free(&b);
}

static void check_record(const msg_t *m, int i, int magic, int64_t ts, uint8_t attrs)
{
    char k[32], v[64];
    snprintf(k, sizeof k, "k%d", i);
    snprintf(v, sizeof v, "value-%d", i);
    assert_bytes(m->key, i == 1 ? NULL : k);
    assert_bytes(m->value, i == 2 ? NULL : v);
    assert_int_equal(m->attrs, attrs);
    if (magic)
        assert_int_equal(m->ts, ts);
}

/* Appends n bytes that read as the start of a batch too long to be there:
 * bytes read that convert to nothing, which raise the size cut the way a
 * partial batch at the end of a fetch does (Kafka counts it too). Tests
 * that want every message converted add 4 KiB. */
static void pad_read(gr_buf_t *in, size_t n)
{
    uint8_t junk[4096];
    memset(junk, 0, sizeof junk);
    gr_wbe32(junk + 8, 1000000);
    assert_true(n >= 12 && n <= sizeof junk);
    gr_buf_put(in, junk, n);
}

static gr_bytes_t convert(gr_arena_t *a, const gr_buf_t *in, int magic, int64_t fetch_offset, int want_rc)
{
    gr_bytes_t out;
    assert_int_equal(gr_downconvert(in->data, in->len, magic, fetch_offset, a, &out), want_rc);
    return out;
}

static void test_xxh32(void **state)
{
    (void)state;
    assert_int_equal(gr_xxh32_short((const uint8_t *)"", 0), 0x02CC5D05u);
    assert_int_equal(gr_xxh32_short((const uint8_t *)"a", 1), 0x550D7456u);
    assert_int_equal(gr_xxh32_short((const uint8_t *)"abc", 3), 0x32D153FFu);
    /* liblz4 computes the spec's header checksum the same way. */
    gr_buf_t c;
    gr_buf_init(&c);
    assert_int_equal(gr_compress(GR_CODEC_LZ4, (const uint8_t *)"hello hello hello", 17, &c), 0);
    assert_int_equal(c.data[6], (uint8_t)(gr_xxh32_short(c.data + 4, 2) >> 8));
    gr_buf_free(&c);
}

static void test_uncompressed(void **state)
{
    (void)state;
    for (int magic = 0; magic <= 1; magic++) {
        gr_arena_t a;
        gr_arena_init(&a, 0);
        gr_buf_t in;
        gr_buf_init(&in);
        build(&in, GR_CODEC_NONE, 100, 4, false, 0);
        build(&in, GR_CODEC_NONE, 104, 3, false, 0);
        pad_read(&in, 4096);
        gr_bytes_t out = convert(&a, &in, magic, 100, 0);
        msg_t m[16];
        size_t used;
        assert_int_equal(parse_msgs(out.ptr, (size_t)out.len, magic, m, 16, &used), 7);
        assert_int_equal(used, (size_t)out.len);
        for (int i = 0; i < 7; i++) {
            int r = i < 4 ? i : i - 4;
            assert_int_equal(m[i].offset, 100 + i);
            check_record(&m[i], r, magic, TS0 + r, 0);
        }
        /* Sizes: 26 (v0) or 34 (v1) bytes of overhead per message. */
        size_t want = 0;
        for (int i = 0; i < 7; i++)
            want += (size_t)(magic ? GR_LEGACY_OVERHEAD_V1 : GR_LEGACY_OVERHEAD_V0) +
                    (m[i].key.len > 0 ? (size_t)m[i].key.len : 0) +
                    (m[i].value.len > 0 ? (size_t)m[i].value.len : 0);
        assert_int_equal((size_t)out.len, want);
        gr_buf_free(&in);
        gr_arena_free(&a);
    }
}

static void test_middle_of_uncompressed_batch(void **state)
{
    (void)state;
    gr_arena_t a;
    gr_arena_init(&a, 0);
    gr_buf_t in;
    gr_buf_init(&in);
    build(&in, GR_CODEC_NONE, 100, 4, false, 0);
    build(&in, GR_CODEC_NONE, 104, 3, false, 0);
    pad_read(&in, 4096);
    gr_bytes_t out = convert(&a, &in, 1, 102, 0);
    msg_t m[16];
    assert_int_equal(parse_msgs(out.ptr, (size_t)out.len, 1, m, 16, NULL), 5);
    assert_int_equal(m[0].offset, 102);
    check_record(&m[0], 2, 1, TS0 + 2, 0);
    assert_int_equal(m[4].offset, 106);
    /* Past the first batch's records: it converts to nothing, so the
     * second one is "first". */
    out = convert(&a, &in, 0, 104, 0);
    assert_int_equal(parse_msgs(out.ptr, (size_t)out.len, 0, m, 16, NULL), 3);
    assert_int_equal(m[0].offset, 104);
    gr_buf_free(&in);
    gr_arena_free(&a);
}

static void check_wrapper(int codec, int magic, bool lat)
{
    gr_arena_t a;
    gr_arena_init(&a, 0);
    gr_buf_t in, d;
    gr_buf_init(&in);
    gr_buf_init(&d);
    const int64_t append = TS0 + 5000;
    build(&in, codec, 200, 5, lat, append);
    build(&in, codec, 205, 2, lat, append);
    pad_read(&in, 4096);
    /* From the middle of the first batch: compressed batches keep every
     * record; the client skips those below its offset. */
    gr_bytes_t out = convert(&a, &in, magic, 202, 0);
    msg_t w[4], m[16];
    size_t used;
    assert_int_equal(parse_msgs(out.ptr, (size_t)out.len, magic, w, 4, &used), 2);
    assert_int_equal(used, (size_t)out.len);
    uint8_t ts_attr = magic && lat ? GR_LEGACY_ATTR_LOG_APPEND_TIME : 0;
    const int counts[2] = {5, 2};
    const int64_t bases[2] = {200, 205};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(w[k].attrs, codec | ts_attr);
        assert_int_equal(w[k].key.len, -1);
        assert_int_equal(w[k].offset, bases[k] + counts[k] - 1); /* the last inner offset */
        if (magic)
            assert_int_equal(w[k].ts, lat ? append : TS0 + counts[k] - 1); /* the max */
        unwrap(&w[k], magic, &d);
        size_t iused;
        assert_int_equal(parse_msgs(d.data, d.len, magic, m, 16, &iused), counts[k]);
        assert_int_equal(iused, d.len);
        for (int i = 0; i < counts[k]; i++) {
            assert_int_equal(m[i].offset, magic ? i : bases[k] + i);
            check_record(&m[i], i, magic, lat ? append : TS0 + i, ts_attr);
        }
    }
    gr_buf_free(&d);
    gr_buf_free(&in);
    gr_arena_free(&a);
}

static void test_each_codec(void **state)
{
    (void)state;
    const int codecs[] = {GR_CODEC_GZIP, GR_CODEC_SNAPPY, GR_CODEC_LZ4};
    for (size_t c = 0; c < 3; c++)
        for (int magic = 0; magic <= 1; magic++)
            for (int lat = 0; lat <= 1; lat++)
                check_wrapper(codecs[c], magic, lat);
}

static void test_log_append_time_uncompressed(void **state)
{
    (void)state;
    for (int magic = 0; magic <= 1; magic++) {
        gr_arena_t a;
        gr_arena_init(&a, 0);
        gr_buf_t in;
        gr_buf_init(&in);
        build(&in, GR_CODEC_NONE, 0, 3, true, TS0 + 777);
        pad_read(&in, 4096);
        gr_bytes_t out = convert(&a, &in, magic, 0, 0);
        msg_t m[8];
        assert_int_equal(parse_msgs(out.ptr, (size_t)out.len, magic, m, 8, NULL), 3);
        for (int i = 0; i < 3; i++)
            check_record(&m[i], i, magic, TS0 + 777, magic ? GR_LEGACY_ATTR_LOG_APPEND_TIME : 0);
        gr_buf_free(&in);
        gr_arena_free(&a);
    }
}

static void build_control(gr_buf_t *out, int64_t base)
{
    gr_batch_builder_t b;
    gr_batch_builder_init(&b, GR_CODEC_NONE);
    gr_batch_builder_set_base_offset(&b, base);
    gr_batch_builder_set_producer(&b, 7, 0, -1, true);
    gr_batch_builder_set_control(&b, true);
    uint8_t key[4] = {0, 0, 0, 1}, val[6] = {0, 0, 0, 0, 0, 0};
    gr_bytes_t k = {key, 4}, v = {val, 6};
    assert_int_equal(gr_batch_builder_add(&b, TS0, k, v, NULL, 0), 0);
    assert_int_equal(gr_batch_builder_finish(&b, out), 0);
    gr_batch_builder_free(&b);
}

static void test_control_batches(void **state)
{
    (void)state;
    gr_arena_t a;
    gr_arena_init(&a, 0);
    gr_buf_t in;
    gr_buf_init(&in);
    build_control(&in, 9);
    /* Only a control batch: Kafka's 12-byte overflow stub, no message. */
    gr_bytes_t out = convert(&a, &in, 1, 9, 0);
    assert_int_equal(out.len, 12);
    assert_int_equal((int64_t)gr_be64(out.ptr), -1);
    assert_int_equal(gr_be32(out.ptr + 8), 61);
    msg_t m[8];
    assert_int_equal(parse_msgs(out.ptr, (size_t)out.len, 1, m, 8, NULL), 0);
    /* A control batch among data batches is skipped. */
    build(&in, GR_CODEC_GZIP, 10, 3, false, 0);
    pad_read(&in, 4096);
    out = convert(&a, &in, 0, 9, 0);
    assert_int_equal(parse_msgs(out.ptr, (size_t)out.len, 0, m, 8, NULL), 1);
    assert_int_equal(m[0].offset, 12);
    gr_buf_free(&in);
    gr_arena_free(&a);
}

static void test_zstd(void **state)
{
    (void)state;
    gr_arena_t a;
    gr_arena_init(&a, 0);
    gr_buf_t in;
    gr_buf_init(&in);
    build(&in, GR_CODEC_ZSTD, 0, 3, false, 0);
    build(&in, GR_CODEC_NONE, 3, 2, false, 0);
    gr_bytes_t out = convert(&a, &in, 1, 0, GR_EUNSUPPORTED);
    assert_int_equal(out.len, 0);
    /* After a control batch it is still the first batch to convert. */
    gr_buf_t in2;
    gr_buf_init(&in2);
    build_control(&in2, 0);
    build(&in2, GR_CODEC_ZSTD, 1, 3, false, 0);
    convert(&a, &in2, 0, 0, GR_EUNSUPPORTED);
    /* After a converted batch, a zstd batch ends the output before it. */
    gr_buf_reset(&in2);
    build(&in2, GR_CODEC_SNAPPY, 0, 3, false, 0);
    build(&in2, GR_CODEC_ZSTD, 3, 3, false, 0);
    build(&in2, GR_CODEC_NONE, 6, 3, false, 0);
    pad_read(&in2, 4096);
    out = convert(&a, &in2, 1, 0, 0);
    msg_t m[8];
    size_t used;
    assert_int_equal(parse_msgs(out.ptr, (size_t)out.len, 1, m, 8, &used), 1);
    assert_int_equal(used, (size_t)out.len);
    assert_int_equal(m[0].offset, 2);
    gr_buf_free(&in2);
    gr_buf_free(&in);
    gr_arena_free(&a);
}

static void test_corrupt(void **state)
{
    (void)state;
    gr_arena_t a;
    gr_arena_init(&a, 0);
    gr_buf_t in;
    gr_buf_init(&in);
    build(&in, GR_CODEC_NONE, 0, 3, false, 0);
    size_t first = in.len;
    build(&in, GR_CODEC_NONE, 3, 3, false, 0);
    pad_read(&in, 4096);
    /* A flipped byte in the second batch's records: output stops before it. */
    in.data[first + 70] ^= 0x40;
    gr_bytes_t out = convert(&a, &in, 1, 0, 0);
    msg_t m[8];
    assert_int_equal(parse_msgs(out.ptr, (size_t)out.len, 1, m, 8, NULL), 3);
    /* The same in the first batch: an error. */
    in.data[first + 70] ^= 0x40;
    in.data[70] ^= 0x40;
    convert(&a, &in, 1, 0, GR_ECORRUPT);
    in.data[70] ^= 0x40;
    /* A batch length below the v2 minimum. */
    gr_wbe32(in.data + 8, 20);
    convert(&a, &in, 0, 0, GR_ECORRUPT);
    /* Not magic 2. */
    gr_buf_t old;
    gr_buf_init(&old);
    build(&old, GR_CODEC_NONE, 0, 1, false, 0);
    old.data[16] = 1;
    convert(&a, &old, 0, 0, GR_ECORRUPT);
    /* Bad magic argument. */
    gr_bytes_t o;
    assert_int_equal(gr_downconvert(old.data, old.len, 2, 0, &a, &o), GR_EINVAL);
    gr_buf_free(&old);
    gr_buf_free(&in);
    gr_arena_free(&a);
}

/* n records "kk" -> "vvvvvvv" at base: 43 bytes each in magic 1, fewer in
 * v2. */
static void build_plain(gr_buf_t *out, int64_t base, int n)
{
    gr_batch_builder_t b;
    gr_batch_builder_init(&b, GR_CODEC_NONE);
    gr_batch_builder_set_base_offset(&b, base);
    for (int i = 0; i < n; i++)
        assert_int_equal(gr_batch_builder_add(&b, TS0 + i, ru_bytes("kk"), ru_bytes("vvvvvvv"), NULL, 0), 0);
    assert_int_equal(gr_batch_builder_finish(&b, out), 0);
    gr_batch_builder_free(&b);
}

static void test_bounds(void **state)
{
    (void)state;
    gr_arena_t a;
    gr_arena_init(&a, 0);
    gr_buf_t in;
    gr_buf_init(&in);
    msg_t m[64];
    size_t used;
    const size_t msg = GR_LEGACY_OVERHEAD_V1 + 2 + 7;

    /* Empty input, and a lone partial batch (what a hard v0-2 limit can
     * leave): nothing, not even the stub. */
    gr_bytes_t out = convert(&a, &in, 1, 0, 0);
    assert_int_equal(out.len, 0);
    build_plain(&in, 0, 5);
    assert_true(in.len < 5 * msg);
    gr_buf_t part;
    gr_buf_init(&part);
    gr_buf_put(&part, in.data, in.len - 1);
    out = convert(&a, &part, 1, 0, 0);
    assert_int_equal(out.len, 0);

    /* Small records grow when converted, so the first batch alone exceeds
     * what was read: it goes whole (KIP-74). */
    out = convert(&a, &in, 1, 0, 0);
    assert_int_equal((size_t)out.len, 5 * msg);
    assert_int_equal(parse_msgs(out.ptr, (size_t)out.len, 1, m, 64, &used), 5);

    /* Two batches (282 bytes read, 430 converted): cut at 282, inside the
     * seventh message, which clients drop as partial. */
    build_plain(&in, 5, 5);
    out = convert(&a, &in, 1, 0, 0);
    assert_int_equal((size_t)out.len, in.len);
    assert_int_equal(parse_msgs(out.ptr, (size_t)out.len, 1, m, 64, &used), 6);
    assert_int_equal(used, 6 * msg);
    assert_int_equal(m[5].offset, 5);

    /* A trailing partial batch counts as read (Kafka's slice does) but is
     * not converted: the cut moves with the bytes read. */
    for (size_t pad = 12; pad < 200; pad += 7) {
        gr_buf_t t;
        gr_buf_init(&t);
        gr_buf_put(&t, in.data, in.len);
        pad_read(&t, pad);
        out = convert(&a, &t, 1, 0, 0);
        size_t all = 10 * msg;
        assert_int_equal((size_t)out.len, t.len < all ? t.len : all);
        int n = parse_msgs(out.ptr, (size_t)out.len, 1, m, 64, &used);
        assert_int_equal((size_t)n, (size_t)out.len / msg);
        for (int i = 0; i < n; i++)
            assert_int_equal(m[i].offset, i);
        gr_buf_free(&t);
    }
    gr_buf_free(&part);
    gr_buf_free(&in);
    gr_arena_free(&a);
}

/* A large compressed batch: the decompressed records and the inner message
 * set go through heap buffers, the result through the arena. */
static void test_large_batch(void **state)
{
    (void)state;
    gr_arena_t a;
    gr_arena_init(&a, 0);
    gr_buf_t in, d;
    gr_buf_init(&in);
    gr_buf_init(&d);
    gr_batch_builder_t b;
    gr_batch_builder_init(&b, GR_CODEC_LZ4);
    static uint8_t val[100000];
    for (size_t i = 0; i < sizeof val; i++)
        val[i] = (uint8_t)(i * 7 + i / 1000);
    for (int i = 0; i < 20; i++) {
        gr_bytes_t v = {val, (int32_t)sizeof val};
        assert_int_equal(gr_batch_builder_add(&b, TS0 + i, ru_bytes("k"), v, NULL, 0), 0);
    }
    assert_int_equal(gr_batch_builder_finish(&b, &in), 0);
    gr_batch_builder_free(&b);
    gr_bytes_t out = convert(&a, &in, 0, 0, 0);
    msg_t w[2], m[32];
    assert_int_equal(parse_msgs(out.ptr, (size_t)out.len, 0, w, 2, NULL), 1);
    assert_int_equal(w[0].offset, 19);
    unwrap(&w[0], 0, &d);
    assert_int_equal(parse_msgs(d.data, d.len, 0, m, 32, NULL), 20);
    assert_int_equal(m[19].value.len, (int32_t)sizeof val);
    assert_memory_equal(m[19].value.ptr, val, sizeof val);
    gr_buf_free(&d);
    gr_buf_free(&in);
    gr_arena_free(&a);
}

/* An arena with a limit: the copy into it fails cleanly. */
static void test_arena_limit(void **state)
{
    (void)state;
    gr_arena_t a;
    gr_arena_init(&a, 64);
    gr_buf_t in;
    gr_buf_init(&in);
    build(&in, GR_CODEC_NONE, 0, 5, false, 0);
    gr_bytes_t out;
    assert_int_equal(gr_downconvert(in.data, in.len, 1, 0, &a, &out), GR_ENOMEM);
    assert_int_equal(out.len, 0);
    gr_buf_free(&in);
    gr_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xxh32),
        cmocka_unit_test(test_uncompressed),
        cmocka_unit_test(test_middle_of_uncompressed_batch),
        cmocka_unit_test(test_each_codec),
        cmocka_unit_test(test_log_append_time_uncompressed),
        cmocka_unit_test(test_control_batches),
        cmocka_unit_test(test_zstd),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_large_batch),
        cmocka_unit_test(test_arena_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
