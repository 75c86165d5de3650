/* Unit tests for the log cleaner: the offset map, the selection rule, the
 * cleaning of synthetic logs (latest value per key kept, offsets kept,
 * tombstones kept until delete.retention.ms past their first cleaning,
 * active segment untouched, compressed batches, headers), and crash
 * recovery from leftover .cleaned, .swap and .deleted files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/log.h"
#include "log/cleaner.h"
#include "log/cleaner_files.h"
#include "log/cleaner_map.h"
#include "log/partition_log.h"
#include "protocol/compress.h"
#include "protocol/records.h"
#include "test_log_util.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <time.h>

/* ---- helpers ---- */

static int64_t fake_now = 1700000000000LL;
static int64_t fake_clock(void) { return fake_now; }

static gr_plog_config_t small_cfg(void)
{
    gr_plog_config_t c;
    gr_plog_config_default(&c);
    c.segment_bytes = 1024;
    c.index_interval_bytes = 128;
    c.clock_ms = fake_clock;
    return c;
}

static gr_cleaner_t *new_cleaner(const char *dir)
{
    gr_cleaner_config_t cc;
    gr_cleaner_config_default(&cc);
    cc.threads = 0;
    cc.dedupe_buffer_size = 1 << 20;
    cc.clock_ms = fake_clock;
    gr_cleaner_t *c;
    assert_int_equal(gr_cleaner_new(&cc, dir, &c), 0);
    return c;
}

static gr_cleaner_log_config_t eager_cfg(void)
{
    gr_cleaner_log_config_t lc;
    gr_cleaner_log_config_default(&lc);
    lc.min_cleanable_dirty_ratio = 0.01;
    lc.delete_retention_ms = 1000;
    return lc;
}

/* Appends one batch of n records key[i] = value[i] (value NULL = a
 * tombstone) in codec; returns the base offset. */
static int64_t put_batch(gr_plog_t *pl, int codec, int n, const char *const *keys,
                         const char *const *values)
{
    gr_batch_builder_t bb;
    gr_batch_builder_init(&bb, codec);
    for (int i = 0; i < n; i++) {
        gr_bytes_t k = {(const uint8_t *)keys[i], (int32_t)strlen(keys[i])};
        gr_bytes_t v = {(const uint8_t *)values[i], values[i] ? (int32_t)strlen(values[i]) : -1};
        gr_record_header_t h = {{(const uint8_t *)"h", 1}, {(const uint8_t *)keys[i], 1}};
        assert_int_equal(gr_batch_builder_add(&bb, fake_now, k, v, &h, 1), 0);
    }
    gr_buf_t out;
    gr_buf_init(&out);
    assert_int_equal(gr_batch_builder_finish(&bb, &out), 0);
    gr_batch_builder_free(&bb);
    int64_t base, last;
    assert_int_equal(gr_plog_append(pl, out.data, out.len, 0, &base, &last), 0);
    gr_plog_set_hw(pl, gr_plog_leo(pl));
    gr_buf_free(&out);
    return base;
}

static int64_t put1(gr_plog_t *pl, const char *key, const char *value)
{
    return put_batch(pl, GR_CODEC_NONE, 1, &key, &value);
}

typedef struct {
    int64_t offset;
    char    key[32];
    char    value[64];
    bool    tombstone;
    int     codec;
    bool    horizon;
} rec_t;

/* Every record of the log, in order. */
static size_t read_records(gr_plog_t *pl, rec_t *out, size_t cap)
{
    gr_buf_t buf, scratch;
    gr_buf_init(&buf);
    gr_buf_init(&scratch);
    int64_t off = gr_plog_start_offset(pl);
    size_t n = 0;
    for (;;) {
        gr_buf_reset(&buf);
        assert_int_equal(gr_plog_read_copy(pl, off, 1 << 20, gr_plog_leo(pl), &buf), 0);
        if (buf.len == 0)
            break;
        size_t pos = 0;
        while (pos < buf.len) {
            size_t blen = 12 + gr_be32(buf.data + pos + 8);
            assert_true(gr_batch_crc_ok(buf.data + pos, blen));
            gr_record_iter_t it;
            assert_int_equal(gr_record_iter_init(&it, buf.data + pos, blen, &scratch, 0), 0);
            gr_record_t r;
            int rc;
            while ((rc = gr_record_iter_next(&it, &r)) == 1) {
                assert_true(n < cap);
                rec_t *o = &out[n++];
                memset(o, 0, sizeof *o);
                o->offset = r.offset;
                memcpy(o->key, r.key.ptr, (size_t)r.key.len);
                o->tombstone = r.value.len < 0;
                if (!o->tombstone)
                    memcpy(o->value, r.value.ptr, (size_t)r.value.len);
                o->codec = gr_batch_codec(&it.hdr);
                o->horizon = (it.hdr.attributes & GR_BATCH_ATTR_DELETE_HORIZON) != 0;
                /* The header survived. */
                size_t hp = 0;
                gr_record_header_t hh;
                assert_int_equal(gr_record_header_next(&r, &hp, &hh), 1);
                assert_int_equal(hh.key.len, 1);
            }
            assert_int_equal(rc, 0);
            off = gr_batch_last_offset(&it.hdr) + 1;
            pos += blen;
        }
    }
    gr_buf_free(&buf);
    gr_buf_free(&scratch);
    return n;
}

static void assert_increasing(const rec_t *r, size_t n)
{
    for (size_t i = 1; i < n; i++)
        assert_true(r[i].offset > r[i - 1].offset);
}

static int count_suffix(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name), sl = strlen(suffix);
        if (l >= sl && strcmp(e->d_name + l - sl, suffix) == 0)
            n++;
    }
    closedir(d);
    return n;
}

/* ---- offset map ---- */

static void test_map(void **state)
{
    (void)state;
    uint64_t h[2];
    const char *fox = "The quick brown fox jumps over the lazy dog";
    gr_cleaner_hash128(fox, strlen(fox), h); /* MurmurHash3 x64_128 test vector */
    assert_true(h[0] == 0xe34bbc7bbc071b6cULL && h[1] == 0x7a433ca9c49a9347ULL);

    gr_cleaner_map_t m;
    assert_int_equal(gr_cleaner_map_init(&m, 24, 0.9), GR_EINVAL); /* one slot */
    assert_int_equal(gr_cleaner_map_init(&m, 24 * 100, 0.5), 0);
    assert_int_equal(m.nslots, 100);
    assert_int_equal(m.max_size, 50);
    assert_int_equal(gr_cleaner_map_get(&m, "a", 1), -1);
    assert_int_equal(gr_cleaner_map_put(&m, "a", 1, 5), 0);
    assert_int_equal(gr_cleaner_map_put(&m, "b", 1, 6), 0);
    assert_int_equal(gr_cleaner_map_put(&m, "a", 1, 7), 0); /* a later offset replaces */
    assert_int_equal(gr_cleaner_map_get(&m, "a", 1), 7);
    assert_int_equal(gr_cleaner_map_get(&m, "b", 1), 6);
    assert_int_equal(gr_cleaner_map_get(&m, "c", 1), -1);
    assert_int_equal(gr_cleaner_map_get(&m, "", 0), -1);
    assert_int_equal(m.size, 2);
    assert_int_equal(m.latest, 7);
    char key[16];
    for (int i = 0; i < 48; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(gr_cleaner_map_put(&m, key, strlen(key), 100 + i), 0);
    }
    assert_true(gr_cleaner_map_full(&m));
    assert_int_equal(gr_cleaner_map_room(&m), 0);
    assert_int_equal(gr_cleaner_map_put(&m, "new", 3, 1000), GR_ETOOBIG);
    assert_int_equal(gr_cleaner_map_put(&m, "k3", 2, 1000), 0); /* updates still fit */
    for (int i = 0; i < 48; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(gr_cleaner_map_get(&m, key, strlen(key)), i == 3 ? 1000 : 100 + i);
    }
    assert_int_equal(gr_cleaner_map_get(&m, "missing", 7), -1);
    gr_cleaner_map_free(&m);

    /* Load factor 1 still leaves a free slot so misses terminate. */
    assert_int_equal(gr_cleaner_map_init(&m, 24 * 4, 1.0), 0);
    assert_int_equal(m.max_size, 3);
    for (int i = 0; i < 3; i++) {
        snprintf(key, sizeof key, "x%d", i);
        assert_int_equal(gr_cleaner_map_put(&m, key, strlen(key), i), 0);
    }
    assert_int_equal(gr_cleaner_map_get(&m, "nope", 4), -1);
    gr_cleaner_map_free(&m);
}

/* ---- selection ---- */

static void test_grade(void **state)
{
    (void)state;
    gr_plog_seg_info_t segs[4] = {
        {NULL, 0, 100, 1000, 5000, 4000, 0},
        {NULL, 100, 200, 1000, 6000, 5500, 0},
        {NULL, 200, 300, 1000, 7000, 6500, 0},
        {NULL, 300, 400, 1000, 8000, 7500, 0},
    };
    gr_plog_clean_view_t v = {segs, 4, 0, 450, 400, {0}};
    gr_cleaner_log_config_t lc;
    gr_cleaner_log_config_default(&lc);
    gr_cleaner_grade_t g;

    /* Never cleaned: everything closed is dirty. */
    gr_cleaner_grade(&v, -1, &lc, 10000, INT64_MAX, &g);
    assert_int_equal(g.first_dirty, 0);
    assert_int_equal(g.uncleanable, 400);
    assert_int_equal(g.clean_bytes, 0);
    assert_int_equal(g.cleanable_bytes, 4000);
    assert_true(g.ratio == 1.0);
    assert_true(g.should_clean);

    /* Checkpoint at 300: 1000 dirty of 4000 = 0.25 < 0.5. */
    gr_cleaner_grade(&v, 300, &lc, 10000, INT64_MAX, &g);
    assert_int_equal(g.first_dirty, 300);
    assert_int_equal(g.clean_bytes, 3000);
    assert_int_equal(g.cleanable_bytes, 1000);
    assert_false(g.should_clean);
    lc.min_cleanable_dirty_ratio = 0.25;
    gr_cleaner_grade(&v, 300, &lc, 10000, INT64_MAX, &g);
    assert_true(g.should_clean);
    lc.min_cleanable_dirty_ratio = 0.5;

    /* Checkpoint inside a segment: that segment counts as dirty. */
    gr_cleaner_grade(&v, 250, &lc, 10000, INT64_MAX, &g);
    assert_int_equal(g.cleanable_bytes, 2000);
    assert_true(g.should_clean);

    /* A checkpoint below the log start or past the LEO means the start. */
    v.log_start = 150;
    gr_cleaner_grade(&v, 100, &lc, 10000, INT64_MAX, &g);
    assert_int_equal(g.first_dirty, 150);
    gr_cleaner_grade(&v, 9999, &lc, 10000, INT64_MAX, &g);
    assert_int_equal(g.first_dirty, 150);
    v.log_start = 0;

    /* min.compaction.lag.ms: segments with a record newer than now - lag wait. */
    lc.min_compaction_lag_ms = 3500; /* now 10000: limit 6500; segment 1 (max 6000) is old */
    gr_cleaner_grade(&v, -1, &lc, 10000, INT64_MAX, &g);
    assert_int_equal(g.uncleanable, 200);
    assert_int_equal(g.cleanable_bytes, 2000);
    lc.min_compaction_lag_ms = 100000;
    gr_cleaner_grade(&v, -1, &lc, 10000, INT64_MAX, &g);
    assert_int_equal(g.uncleanable, 0);
    assert_false(g.should_clean);
    lc.min_compaction_lag_ms = 0;

    /* max.compaction.lag.ms makes a log due whatever its ratio. */
    lc.max_compaction_lag_ms = 4000; /* first dirty segment (300) started at 7500 */
    gr_cleaner_grade(&v, 300, &lc, 10000, INT64_MAX, &g);
    assert_false(g.due);
    gr_cleaner_grade(&v, 300, &lc, 12000, INT64_MAX, &g);
    assert_true(g.due);
    assert_true(g.should_clean);
    lc.max_compaction_lag_ms = INT64_MAX;

    /* Nothing dirty, but a kept tombstone's horizon passed. */
    gr_cleaner_grade(&v, 400, &lc, 10000, INT64_MAX, &g);
    assert_false(g.should_clean);
    gr_cleaner_grade(&v, 400, &lc, 10000, 9000, &g);
    assert_true(g.tombstones_due);
    assert_true(g.should_clean);

    /* Only an active segment: nothing to do. */
    gr_plog_clean_view_t empty = {segs, 0, 0, 10, 0, {0}};
    gr_cleaner_grade(&empty, -1, &lc, 10000, 0, &g);
    assert_false(g.should_clean);
}

/* ---- cleaning ---- */

#define NKEYS 10
#define ROUNDS 30

static int64_t all_offs[NKEYS][ROUNDS];

static void fill_updates(gr_plog_t *pl, int64_t *latest_off, int *latest_val)
{
    char key[16], val[32];
    for (int r = 0; r < ROUNDS; r++)
        for (int k = 0; k < NKEYS; k++) {
            snprintf(key, sizeof key, "key-%d", k);
            snprintf(val, sizeof val, "value-%d-%d", k, r);
            latest_off[k] = all_offs[k][r] = put1(pl, key, val);
            latest_val[k] = r;
        }
}

/* The round of key k's last update below offset end, -1 if none. */
static int last_round_below(int k, int64_t end)
{
    int r = -1;
    for (int i = 0; i < ROUNDS; i++)
        if (all_offs[k][i] < end)
            r = i;
    return r;
}

static void test_clean_latest_per_key(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *pdir = tu_path(dir, "t-0");
    gr_plog_config_t cfg = small_cfg();
    gr_plog_t *pl;
    assert_int_equal(gr_plog_open(pdir, &cfg, -1, &pl), 0);
    int64_t latest_off[NKEYS];
    int latest_val[NKEYS];
    fill_updates(pl, latest_off, latest_val);
    size_t nsegs = gr_plog_segment_count(pl);
    /* Old files: the cleaned ones must look as old. */
    for (size_t i = 0; i + 1 < nsegs; i++) {
        char nm[64];
        snprintf(nm, sizeof nm, "%020" PRId64 ".log", gr_plog_segment_base(pl, i));
        char *p = tu_path(pdir, nm);
        struct timespec old_ts[2] = {{.tv_sec = time(NULL) - 7200}, {.tv_sec = time(NULL) - 3600}};
        assert_int_equal(utimensat(AT_FDCWD, p, old_ts, 0), 0);
        free(p);
    }
    assert_true(nsegs > 5);
    int64_t leo = gr_plog_leo(pl);
    int64_t active_base = gr_plog_segment_base(pl, nsegs - 1);
    int64_t size_before = gr_plog_size(pl);

    /* The active segment's bytes, to compare afterwards. */
    char name[64];
    snprintf(name, sizeof name, "%020" PRId64 ".log", active_base);
    char *active_path = tu_path(pdir, name);
    int64_t active_size = tu_size(active_path);

    gr_cleaner_t *c = new_cleaner(dir);
    gr_cleaner_log_config_t lc = eager_cfg();
    assert_int_equal(gr_cleaner_register(c, pl, "t", 0, &lc), 0);
    assert_int_equal(gr_cleaner_clean_now(c), 1);
    assert_int_equal(gr_cleaner_first_dirty(c, pl), active_base);

    /* Offsets, LEO and the active segment unchanged; fewer bytes (the
     * groups were made by the old sizes, so no fewer segments yet). */
    assert_int_equal(gr_plog_leo(pl), leo);
    assert_int_equal(gr_plog_segment_count(pl), nsegs);
    assert_true(gr_plog_size(pl) < size_before / 5);
    assert_int_equal(gr_plog_segment_base(pl, gr_plog_segment_count(pl) - 1), active_base);
    assert_int_equal(tu_size(active_path), active_size);
    assert_int_equal(count_suffix(pdir, ".cleaned"), 0);
    assert_int_equal(count_suffix(pdir, ".swap"), 0);
    assert_int_equal(count_suffix(pdir, ".deleted"), 0);

    rec_t recs[512];
    size_t n = read_records(pl, recs, 512);
    assert_increasing(recs, n);
    /* Below the active segment: one record per key, the last one there. */
    int seen[NKEYS] = {0};
    for (size_t i = 0; i < n; i++) {
        int k = atoi(recs[i].key + 4);
        if (recs[i].offset >= active_base)
            continue;
        seen[k]++;
        int r = last_round_below(k, active_base);
        assert_int_equal(recs[i].offset, all_offs[k][r]);
        char want[32];
        snprintf(want, sizeof want, "value-%d-%d", k, r);
        assert_string_equal(recs[i].value, want);
    }
    /* Every key's latest value is somewhere in the log. */
    for (int k = 0; k < NKEYS; k++) {
        bool found = false;
        for (size_t i = 0; i < n; i++)
            if (recs[i].offset == latest_off[k])
                found = true;
        assert_true(found);
        assert_true(seen[k] <= 1);
    }

    /* A cleaned segment keeps the time of the newest one it replaced. */
    char *seg0 = tu_path(pdir, "00000000000000000000.log");
    struct stat st0;
    assert_int_equal(stat(seg0, &st0), 0);
    assert_true(st0.st_mtime <= time(NULL) - 1000);
    free(seg0);

    /* A second clean with nothing new to map does nothing. */
    assert_int_equal(gr_cleaner_clean_now(c), 0);

    /* New updates make it dirty again; this time the small cleaned
     * segments are merged. */
    fill_updates(pl, latest_off, latest_val);
    nsegs = gr_plog_segment_count(pl);
    active_base = gr_plog_segment_base(pl, nsegs - 1);
    assert_int_equal(gr_cleaner_clean_now(c), 1);
    assert_true(gr_plog_segment_count(pl) + 3 < nsegs); /* the first ones merged */
    n = read_records(pl, recs, 512);
    assert_increasing(recs, n);
    snprintf(name, sizeof name, "%020" PRId64 ".log", active_base);
    free(active_path);
    active_path = tu_path(pdir, name);

    /* The checkpoint file holds the first dirty offset. */
    char *ck = tu_path(dir, GR_CLEANER_CHECKPOINT_FILE);
    char *text;
    size_t len;
    assert_int_equal(gr_log_io_read_file(ck, 4096, &text, &len), 0);
    char want[64];
    snprintf(want, sizeof want, "0\n1\nt 0 %" PRId64 "\n", active_base);
    assert_string_equal(text, want);
    free(text);
    free(ck);

    /* Reopened: the same records; a new cleaner knows the checkpoint. */
    gr_cleaner_unregister(c, pl, "t", 0);
    gr_plog_close(pl);
    gr_cleaner_free(c);
    assert_int_equal(gr_plog_open(pdir, &cfg, -1, &pl), 0);
    rec_t again[512];
    size_t n2 = read_records(pl, again, 512);
    assert_int_equal(n2, n);
    assert_memory_equal(again, recs, n * sizeof *recs);
    c = new_cleaner(dir);
    assert_int_equal(gr_cleaner_register(c, pl, "t", 0, &lc), 0);
    assert_int_equal(gr_cleaner_first_dirty(c, pl), active_base);
    assert_int_equal(gr_cleaner_clean_now(c), 0);
    gr_cleaner_unregister(c, pl, "t", 0);
    gr_cleaner_free(c);
    gr_plog_close(pl);
    free(active_path);
    free(pdir);
    tu_rmdir(dir);
}

/* Several records per batch, compressed: kept records keep their codec,
 * offsets and headers; batches that lose nothing are copied. */
static void test_clean_compressed(void **state)
{
    (void)state;
    static const int codecs[] = {GR_CODEC_NONE, GR_CODEC_GZIP, GR_CODEC_SNAPPY, GR_CODEC_LZ4,
                                 GR_CODEC_ZSTD};
    for (size_t ci = 0; ci < sizeof codecs / sizeof *codecs; ci++) {
        char *dir = tu_tmpdir();
        char *pdir = tu_path(dir, "z-3");
        gr_plog_config_t cfg = small_cfg();
        gr_plog_t *pl;
        assert_int_equal(gr_plog_open(pdir, &cfg, -1, &pl), 0);
        const char *keys[4] = {"a", "b", "c", "d"};
        const char *vals[4];
        char vb[4][32];
        for (int r = 0; r < 40; r++) {
            for (int i = 0; i < 4; i++) {
                snprintf(vb[i], sizeof vb[i], "%c-%d-xxxxxxxxxxxxxxxx", 'a' + i, r);
                vals[i] = vb[i];
            }
            /* Key "d" only in the first batch: its record must stay. */
            put_batch(pl, codecs[ci], r == 0 ? 4 : 3, keys, vals);
        }
        gr_cleaner_t *c = new_cleaner(dir);
        gr_cleaner_log_config_t lc = eager_cfg();
        assert_int_equal(gr_cleaner_register(c, pl, "z", 3, &lc), 0);
        assert_int_equal(gr_cleaner_clean_now(c), 1);
        int64_t active_base = gr_plog_segment_base(pl, gr_plog_segment_count(pl) - 1);
        rec_t recs[256];
        size_t n = read_records(pl, recs, 256);
        assert_increasing(recs, n);
        size_t below = 0;
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(recs[i].codec, codecs[ci]);
            if (recs[i].offset < active_base)
                below++;
            if (recs[i].key[0] == 'd')
                assert_int_equal(recs[i].offset, 3);
        }
        assert_true(below <= 4);
        assert_true(recs[0].key[0] == 'd' || recs[0].offset >= active_base);
        gr_cleaner_unregister(c, pl, "z", 3);
        gr_cleaner_free(c);
        gr_plog_close(pl);
        free(pdir);
        tu_rmdir(dir);
    }
}

/* KIP-534: a tombstone survives its first cleaning (which stamps the
 * horizon) and goes at the first cleaning after delete.retention.ms. */
static void test_tombstones(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *pdir = tu_path(dir, "t-1");
    gr_plog_config_t cfg = small_cfg();
    gr_plog_t *pl;
    assert_int_equal(gr_plog_open(pdir, &cfg, -1, &pl), 0);
    int64_t latest_off[NKEYS];
    int latest_val[NKEYS];
    fill_updates(pl, latest_off, latest_val);
    int64_t tomb = put1(pl, "key-3", NULL);
    /* Roll past the tombstone. */
    for (int i = 0; i < 40; i++)
        put1(pl, "filler", "f");

    gr_cleaner_t *c = new_cleaner(dir);
    gr_cleaner_log_config_t lc = eager_cfg(); /* delete.retention.ms = 1000 */
    assert_int_equal(gr_cleaner_register(c, pl, "t", 1, &lc), 0);
    assert_int_equal(gr_cleaner_clean_now(c), 1);
    rec_t recs[512];
    size_t n = read_records(pl, recs, 512);
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(recs[i].key, "key-3") != 0)
            continue;
        /* Only the tombstone is left of key-3, with its horizon stamped. */
        assert_int_equal(recs[i].offset, tomb);
        assert_true(recs[i].tombstone);
        assert_true(recs[i].horizon);
        found = true;
    }
    assert_true(found);

    /* Before the horizon: nothing qualifies (nothing dirty either). */
    fake_now += 500;
    assert_int_equal(gr_cleaner_clean_now(c), 0);
    /* After it: a cleaning runs for the tombstone alone and drops it. */
    fake_now += 600;
    assert_int_equal(gr_cleaner_clean_now(c), 1);
    n = read_records(pl, recs, 512);
    assert_increasing(recs, n);
    for (size_t i = 0; i < n; i++)
        assert_string_not_equal(recs[i].key, "key-3");
    for (int k = 0; k < NKEYS; k++) {
        if (k == 3)
            continue;
        found = false;
        for (size_t i = 0; i < n; i++)
            if (recs[i].offset == latest_off[k])
                found = true;
        assert_true(found);
    }
    gr_cleaner_get_stats(c, &(gr_cleaner_stats_t){0});
    gr_cleaner_stats_t st;
    gr_cleaner_get_stats(c, &st);
    assert_int_equal(st.tombstones_dropped, 1);
    assert_int_equal(st.cleanings, 2);
    gr_cleaner_unregister(c, pl, "t", 1);
    gr_cleaner_free(c);
    gr_plog_close(pl);
    free(pdir);
    tu_rmdir(dir);
}

/* A small dedupe buffer: each cleaning maps what fits, and repeated
 * cleanings reach the same result. */
static void test_small_map(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *pdir = tu_path(dir, "s-0");
    gr_plog_config_t cfg = small_cfg();
    gr_plog_t *pl;
    assert_int_equal(gr_plog_open(pdir, &cfg, -1, &pl), 0);
    char key[16], val[32];
    int64_t latest[100];
    for (int r = 0; r < 3; r++)
        for (int k = 0; k < 100; k++) {
            snprintf(key, sizeof key, "k%02d", k);
            snprintf(val, sizeof val, "v%d", r);
            latest[k] = put1(pl, key, val);
        }
    gr_cleaner_config_t cc;
    gr_cleaner_config_default(&cc);
    cc.threads = 0;
    cc.dedupe_buffer_size = 24 * 64; /* 57 keys at most */
    cc.clock_ms = fake_clock;
    gr_cleaner_t *c;
    assert_int_equal(gr_cleaner_new(&cc, dir, &c), 0);
    gr_cleaner_log_config_t lc = eager_cfg();
    assert_int_equal(gr_cleaner_register(c, pl, "s", 0, &lc), 0);
    int rounds = 0;
    while (gr_cleaner_clean_now(c) == 1)
        assert_true(++rounds < 50);
    assert_true(rounds > 1);
    int64_t active_base = gr_plog_segment_base(pl, gr_plog_segment_count(pl) - 1);
    assert_int_equal(gr_cleaner_first_dirty(c, pl), active_base);
    rec_t recs[512];
    size_t n = read_records(pl, recs, 512);
    assert_increasing(recs, n);
    for (int k = 0; k < 100; k++) {
        bool found = false;
        for (size_t i = 0; i < n; i++)
            if (recs[i].offset == latest[k])
                found = true;
        assert_true(found);
    }
    gr_cleaner_unregister(c, pl, "s", 0);
    gr_cleaner_free(c);
    gr_plog_close(pl);
    free(pdir);
    tu_rmdir(dir);
}

/* Kafka keeps the last batch of each producer (empty if all its records
 * went) so the producer's sequence survives; older ones go; producers idle
 * for producer.id.expiration.ms are let go. */
static int64_t put_idem(gr_plog_t *pl, int64_t pid, int32_t seq, int n, const char *key)
{
    gr_batch_builder_t bb;
    gr_batch_builder_init(&bb, GR_CODEC_NONE);
    gr_batch_builder_set_producer(&bb, pid, 3, seq, false);
    for (int i = 0; i < n; i++) {
        gr_bytes_t k = {(const uint8_t *)key, (int32_t)strlen(key)};
        gr_bytes_t v = {(const uint8_t *)"v", 1};
        gr_record_header_t h = {{(const uint8_t *)"h", 1}, {(const uint8_t *)"x", 1}};
        assert_int_equal(gr_batch_builder_add(&bb, fake_now, k, v, &h, 1), 0);
    }
    gr_buf_t out;
    gr_buf_init(&out);
    assert_int_equal(gr_batch_builder_finish(&bb, &out), 0);
    gr_batch_builder_free(&bb);
    int64_t base, last;
    assert_int_equal(gr_plog_append(pl, out.data, out.len, 0, &base, &last), 0);
    gr_plog_set_hw(pl, gr_plog_leo(pl));
    gr_buf_free(&out);
    return base;
}

typedef struct {
    gr_log_batch_hdr_t h[64];
    int                n;
} hdrs_t;

static void collect_hdr(void *arg, const uint8_t *hdr61, int fd, int64_t pos)
{
    (void)fd;
    (void)pos;
    hdrs_t *hs = arg;
    if (hs->n < 64)
        gr_log_batch_hdr_parse(hdr61, &hs->h[hs->n++]);
}

static void test_producer_last_batch_kept(void **state)
{
    (void)state;
    for (int expired = 0; expired < 2; expired++) {
        char *dir = tu_tmpdir();
        char *pdir = tu_path(dir, "i-0");
        gr_plog_config_t cfg = small_cfg();
        gr_plog_t *pl;
        assert_int_equal(gr_plog_open(pdir, &cfg, -1, &pl), 0);
        put_idem(pl, 7, 0, 2, "x");                /* offsets 0-1, seq 0-1 */
        int64_t b7 = put_idem(pl, 7, 2, 3, "y");   /* offsets 2-4, seq 2-4: pid 7's last */
        put_idem(pl, 8, 0, 1, "x");
        put_idem(pl, 8, 1, 1, "y");
        for (int i = 0; i < 40; i++)
            put1(pl, "filler", "f");
        gr_cleaner_t *c = new_cleaner(dir);
        gr_cleaner_log_config_t lc = eager_cfg();
        assert_int_equal(gr_cleaner_register(c, pl, "i", 0, &lc), 0);
        int64_t saved = fake_now;
        if (expired)
            fake_now += 86400000LL + 1;
        assert_int_equal(gr_cleaner_clean_now(c), 1);
        fake_now = saved;
        hdrs_t hs = {.n = 0};
        assert_int_equal(gr_plog_scan(pl, 0, collect_hdr, &hs), 0);
        int n7 = 0, n8 = 0;
        for (int i = 0; i < hs.n; i++) {
            gr_log_batch_hdr_t *h = &hs.h[i];
            if (h->producer_id == 7) {
                n7++;
                assert_int_equal(h->base_offset, b7);
                assert_int_equal(h->record_count, 0);
                assert_int_equal(h->last_offset_delta, 2);
                assert_int_equal(h->base_sequence, 2);
                assert_int_equal(h->producer_epoch, 3);
            } else if (h->producer_id == 8) {
                n8++;
                assert_int_equal(h->record_count, 1);
            }
        }
        assert_int_equal(n7, expired ? 0 : 1);
        assert_int_equal(n8, 2); /* they hold the latest x and y */
        /* The empty batch is valid on disk (reopen checks every CRC). */
        gr_cleaner_unregister(c, pl, "i", 0);
        gr_cleaner_free(c);
        gr_plog_close(pl);
        assert_int_equal(gr_plog_open(pdir, &cfg, -1, &pl), 0);
        rec_t recs[128];
        size_t nr = read_records(pl, recs, 128);
        assert_increasing(recs, nr);
        gr_plog_close(pl);
        free(pdir);
        tu_rmdir(dir);
    }
}

/* ---- threads ---- */

static atomic_int wakes;
static void count_wake(void *arg)
{
    (void)arg;
    atomic_fetch_add(&wakes, 1);
}

static void wait_wakes(int n)
{
    for (int i = 0; i < 5000 && atomic_load(&wakes) < n; i++)
        usleep(1000);
    assert_true(atomic_load(&wakes) >= n);
}

/* A cleaner thread asks the loop for each swap; stopping it while it waits
 * for the install leaves the log as it was, while it waits for the final
 * rename the stop does the rename. Either way no cleaner file is left and
 * every latest value is there. */
static void test_threads_and_stop(void **state)
{
    (void)state;
    for (int variant = 0; variant < 3; variant++) {
        char *dir = tu_tmpdir();
        char *pdir = tu_path(dir, "w-0");
        gr_plog_config_t cfg = small_cfg();
        cfg.segment_bytes = 1 << 20;
        gr_plog_t *pl;
        assert_int_equal(gr_plog_open(pdir, &cfg, -1, &pl), 0);
        gr_plog_config_t wcfg = small_cfg();
        gr_plog_set_config(pl, &wcfg); /* small segments while writing */
        int64_t latest_off[NKEYS];
        int latest_val[NKEYS];
        fill_updates(pl, latest_off, latest_val);
        gr_plog_set_config(pl, &cfg); /* one group when cleaning */
        int64_t active_base = gr_plog_segment_base(pl, gr_plog_segment_count(pl) - 1);

        gr_cleaner_config_t cc;
        gr_cleaner_config_default(&cc);
        cc.threads = 1;
        cc.backoff_ms = 5;
        cc.dedupe_buffer_size = 1 << 20;
        cc.clock_ms = fake_clock;
        cc.wake = count_wake;
        atomic_store(&wakes, 0);
        gr_cleaner_t *c;
        assert_int_equal(gr_cleaner_new(&cc, dir, &c), 0);
        gr_cleaner_log_config_t lc = eager_cfg();
        assert_int_equal(gr_cleaner_register(c, pl, "w", 0, &lc), 0);
        assert_int_equal(gr_cleaner_start(c), 0);
        wait_wakes(1); /* waits for the install */
        if (variant == 0) {
            gr_cleaner_stop(c); /* never installed */
            assert_int_equal(gr_cleaner_first_dirty(c, pl), -1);
        } else {
            gr_cleaner_run_loop_work(c); /* installed */
            wait_wakes(2);              /* waits for the final rename */
            if (variant == 1) {
                gr_cleaner_stop(c); /* the stop renames */
            } else {
                gr_cleaner_run_loop_work(c);
                for (int i = 0; i < 5000 && gr_cleaner_first_dirty(c, pl) != active_base; i++)
                    usleep(1000);
                assert_int_equal(gr_cleaner_first_dirty(c, pl), active_base);
                /* New settings: the thread restarts, the registry stays. */
                cc.backoff_ms = 10;
                assert_int_equal(gr_cleaner_reconfigure(c, &cc), 0);
                cc.io_buffer_load_factor = 2;
                assert_int_equal(gr_cleaner_reconfigure(c, &cc), GR_EINVAL);
                gr_cleaner_stop(c);
                assert_int_equal(gr_cleaner_first_dirty(c, pl), active_base);
            }
            gr_cleaner_stats_t st;
            gr_cleaner_get_stats(c, &st);
            assert_int_equal(st.segments_out, 1);
        }
        assert_int_equal(count_suffix(pdir, ".cleaned"), 0);
        assert_int_equal(count_suffix(pdir, ".swap"), 0);
        assert_int_equal(count_suffix(pdir, ".deleted"), 0);
        assert_int_equal(gr_plog_segment_count(pl), variant == 0 ? gr_plog_segment_count(pl) : 2);
        rec_t recs[512];
        size_t n = read_records(pl, recs, 512);
        assert_increasing(recs, n);
        for (int k = 0; k < NKEYS; k++) {
            bool found = false;
            for (size_t i = 0; i < n; i++)
                if (recs[i].offset == latest_off[k])
                    found = true;
            assert_true(found);
        }
        gr_cleaner_unregister(c, pl, "w", 0);
        gr_cleaner_free(c);
        gr_plog_close(pl);
        assert_int_equal(gr_plog_open(pdir, &cfg, -1, &pl), 0);
        rec_t again[512];
        assert_int_equal(read_records(pl, again, 512), n);
        assert_memory_equal(again, recs, n * sizeof *recs);
        gr_plog_close(pl);
        free(pdir);
        tu_rmdir(dir);
    }
}

/* ---- crash recovery ---- */

static void copy_file(const char *from, const char *to)
{
    char *buf;
    size_t len;
    assert_int_equal(gr_log_io_read_file(from, 64 << 20, &buf, &len), 0);
    tu_write(to, buf, len);
    free(buf);
}

static void copy_dir(const char *from, const char *to)
{
    mkdir(to, 0755);
    DIR *d = opendir(from);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *a = tu_path(from, e->d_name), *b = tu_path(to, e->d_name);
        copy_file(a, b);
        free(a);
        free(b);
    }
    closedir(d);
}

/* Leftover .cleaned files (crash while writing) are removed; the log is
 * as before. */
static void test_recover_cleaned(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *pdir = tu_path(dir, "r-0");
    gr_plog_config_t cfg = small_cfg();
    gr_plog_t *pl;
    assert_int_equal(gr_plog_open(pdir, &cfg, -1, &pl), 0);
    int64_t latest_off[NKEYS];
    int latest_val[NKEYS];
    fill_updates(pl, latest_off, latest_val);
    rec_t before[512];
    size_t n = read_records(pl, before, 512);
    gr_plog_close(pl);

    char *p = tu_path(pdir, "00000000000000000000.log.cleaned");
    tu_write(p, "half a segment", 14);
    free(p);
    p = tu_path(pdir, "00000000000000000000.index.cleaned");
    tu_write(p, "", 0);
    free(p);
    assert_int_equal(gr_plog_open(pdir, &cfg, -1, &pl), 0);
    assert_int_equal(count_suffix(pdir, ".cleaned"), 0);
    rec_t after[512];
    assert_int_equal(read_records(pl, after, 512), n);
    assert_memory_equal(after, before, n * sizeof *before);
    gr_plog_close(pl);
    free(pdir);
    tu_rmdir(dir);
}

/* A crash after the swap file became durable: whatever state the old
 * segments are in (all there, some or all renamed *.deleted, the swap's
 * indexes already renamed), recovery ends with the cleaned log. */
static void test_recover_swap(void **state)
{
    (void)state;
    for (int variant = 0; variant < 4; variant++) {
        char *dir = tu_tmpdir();
        char *orig = tu_path(dir, "o-0"), *done = tu_path(dir, "d-0"), *crash = tu_path(dir, "c-0");
        gr_plog_config_t cfg = small_cfg();
        cfg.segment_bytes = 1 << 20; /* everything in one cleaned group */
        gr_plog_t *pl;
        assert_int_equal(gr_plog_open(orig, &cfg, -1, &pl), 0);
        int64_t latest_off[NKEYS];
        int latest_val[NKEYS];
        /* Small segments while writing, so there are several. */
        gr_plog_config_t wcfg = small_cfg();
        gr_plog_set_config(pl, &wcfg);
        fill_updates(pl, latest_off, latest_val);
        size_t nsegs = gr_plog_segment_count(pl);
        int64_t bases[64];
        for (size_t i = 0; i < nsegs; i++)
            bases[i] = gr_plog_segment_base(pl, i);
        gr_plog_close(pl);
        copy_dir(orig, done);
        copy_dir(orig, crash);

        /* The finished cleaning, for reference. */
        assert_int_equal(gr_plog_open(done, &cfg, -1, &pl), 0);
        gr_cleaner_t *c = new_cleaner(dir);
        gr_cleaner_log_config_t lc = eager_cfg();
        assert_int_equal(gr_cleaner_register(c, pl, "d", 0, &lc), 0);
        assert_int_equal(gr_cleaner_clean_now(c), 1);
        assert_int_equal(gr_plog_segment_count(pl), 2); /* one cleaned + active */
        rec_t want[512];
        size_t nw = read_records(pl, want, 512);
        gr_cleaner_unregister(c, pl, "d", 0);
        gr_cleaner_free(c);
        gr_plog_close(pl);

        /* The crash: the cleaned segment as a .swap beside the old ones. */
        const char *ext[3] = {".log", ".index", ".timeindex"};
        for (int k = 0; k < 3; k++) {
            char a[64], b[64];
            snprintf(a, sizeof a, "00000000000000000000%s", ext[k]);
            snprintf(b, sizeof b, "00000000000000000000%s.swap", ext[k]);
            char *pa = tu_path(done, a), *pb = tu_path(crash, b);
            if (variant == 3 && k > 0)
                pb[strlen(pb) - strlen(".swap")] = 0; /* this index was renamed already */
            copy_file(pa, pb);
            free(pa);
            free(pb);
        }
        /* Old segments: variant 0 all there, 1 the first half renamed
         * *.deleted, 2 and 3 all renamed. */
        for (size_t i = 0; i + 1 < nsegs && variant > 0; i++) {
            if (variant == 1 && i >= (nsegs - 1) / 2)
                break;
            for (int k = 0; k < 3; k++) {
                char a[64], b[64];
                snprintf(a, sizeof a, "%020" PRId64 "%s", bases[i], ext[k]);
                snprintf(b, sizeof b, "%020" PRId64 "%s.deleted", bases[i], ext[k]);
                char *pa = tu_path(crash, a), *pb = tu_path(crash, b);
                if (variant == 3 && i == 0 && k > 0) {
                    free(pa);
                    free(pb);
                    continue; /* the swap's indexes took these names */
                }
                assert_int_equal(rename(pa, pb), 0);
                free(pa);
                free(pb);
            }
        }
        assert_int_equal(gr_plog_open(crash, &cfg, -1, &pl), 0);
        assert_int_equal(count_suffix(crash, ".swap"), 0);
        assert_int_equal(count_suffix(crash, ".deleted"), 0);
        assert_int_equal(gr_plog_segment_count(pl), 2);
        rec_t got[512];
        size_t ng = read_records(pl, got, 512);
        assert_int_equal(ng, nw);
        assert_memory_equal(got, want, nw * sizeof *want);
        for (int k = 0; k < NKEYS; k++) {
            bool found = false;
            for (size_t i = 0; i < ng; i++)
                if (got[i].offset == latest_off[k])
                    found = true;
            assert_true(found);
        }
        gr_plog_close(pl);
        free(orig);
        free(done);
        free(crash);
        tu_rmdir(dir);
    }
}

/* A swap whose records all lie below a later old segment of its group:
 * that segment is kept (its superseded records come back, no offset is
 * duplicated). An empty swap replaces its own base only. */
static void test_recover_swap_partial_range(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *pdir = tu_path(dir, "p-0");
    gr_plog_config_t cfg = small_cfg();
    gr_plog_t *pl;
    assert_int_equal(gr_plog_open(pdir, &cfg, -1, &pl), 0);
    int64_t latest_off[NKEYS];
    int latest_val[NKEYS];
    fill_updates(pl, latest_off, latest_val);
    int64_t b1 = gr_plog_segment_base(pl, 1);
    gr_plog_close(pl);
    /* Swap for base 0 holding only offset 0's batch: copy the first batch. */
    char *seg0 = tu_path(pdir, "00000000000000000000.log");
    char *buf;
    size_t len;
    assert_int_equal(gr_log_io_read_file(seg0, 1 << 20, &buf, &len), 0);
    size_t first = 12 + gr_be32((uint8_t *)buf + 8);
    char *swap = tu_path(pdir, "00000000000000000000.log.swap");
    tu_write(swap, buf, first);
    free(buf);
    assert_int_equal(gr_cleaner_recover_dir(pdir), 0);
    assert_int_equal(tu_size(seg0), (int64_t)first);
    char name[64];
    snprintf(name, sizeof name, "%020" PRId64 ".log", b1);
    char *p1 = tu_path(pdir, name);
    assert_true(tu_exists(p1)); /* above the swap's last offset: kept */
    assert_int_equal(gr_plog_open(pdir, &cfg, -1, &pl), 0);
    rec_t recs[512];
    size_t n = read_records(pl, recs, 512);
    assert_increasing(recs, n);
    assert_int_equal(recs[0].offset, 0);
    assert_int_equal(recs[1].offset, b1); /* the rest of segment 0 went */
    gr_plog_close(pl);
    free(p1);
    free(seg0);
    free(swap);
    free(pdir);
    tu_rmdir(dir);
}

/* Cleaning with a reader holding an old segment, and a log deleted
 * (unregistered) between cleanings. */
static void test_reader_keeps_old_segment(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *pdir = tu_path(dir, "q-0");
    gr_plog_config_t cfg = small_cfg();
    gr_plog_t *pl;
    assert_int_equal(gr_plog_open(pdir, &cfg, -1, &pl), 0);
    int64_t latest_off[NKEYS];
    int latest_val[NKEYS];
    fill_updates(pl, latest_off, latest_val);
    gr_plog_slice_t s;
    assert_int_equal(gr_plog_read(pl, 0, 1 << 20, gr_plog_hw(pl), &s), 0);
    assert_true(s.len > 0);
    uint8_t *before = malloc(s.len);
    assert_int_equal(gr_log_io_pread_all(s.fd, before, s.len, s.pos), 0);
    gr_cleaner_t *c = new_cleaner(dir);
    gr_cleaner_log_config_t lc = eager_cfg();
    assert_int_equal(gr_cleaner_register(c, pl, "q", 0, &lc), 0);
    assert_int_equal(gr_cleaner_clean_now(c), 1);
    /* The slice still reads the old bytes (file unlinked, fd open). */
    uint8_t *after = malloc(s.len);
    assert_int_equal(gr_log_io_pread_all(s.fd, after, s.len, s.pos), 0);
    assert_memory_equal(before, after, s.len);
    gr_plog_slice_release(&s);
    gr_cleaner_unregister(c, pl, "q", 0);
    assert_int_equal(gr_cleaner_clean_now(c), 0);
    gr_cleaner_free(c);
    gr_plog_close(pl);
    free(before);
    free(after);
    free(pdir);
    tu_rmdir(dir);
}

int main(void)
{
    gr_log_level = GR_LOG_ERROR;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map),
        cmocka_unit_test(test_grade),
        cmocka_unit_test(test_clean_latest_per_key),
        cmocka_unit_test(test_clean_compressed),
        cmocka_unit_test(test_tombstones),
        cmocka_unit_test(test_small_map),
        cmocka_unit_test(test_producer_last_batch_kept),
        cmocka_unit_test(test_threads_and_stop),
        cmocka_unit_test(test_recover_cleaned),
        cmocka_unit_test(test_recover_swap),
        cmocka_unit_test(test_recover_swap_partial_range),
        cmocka_unit_test(test_reader_keeps_old_segment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
