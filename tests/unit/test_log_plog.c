/* Unit tests for the partition log: offsets, reads (middle of batch, size
 * and HW limits, across segment rolls), timestamps, truncation, recovery
 * after torn or corrupt tails, index rebuild, epochs, flushing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/log.h"
#include "batch_builder.h"
#include "log/partition_log.h"
#include "test_log_util.h"

#include <pthread.h>
#include <stdatomic.h>

static gr_plog_config_t small_cfg(void)
{
    gr_plog_config_t c;
    gr_plog_config_default(&c);
    c.segment_bytes = 2048;
    c.index_interval_bytes = 200;
    return c;
}

/* Appends n batches of nrec records (as a producer sends them: offset 0)
 * one append each; the stamped bytes are appended to all (if not NULL). */
static void append_n(gr_plog_t *pl, int n, int nrec, size_t vlen, int64_t ts0, int32_t epoch,
                     gr_buf_t *all)
{
    for (int i = 0; i < n; i++) {
        gr_buf_t b;
        gr_buf_init(&b);
        bb_opts_t o = bb_defaults();
        o.nrecords = nrec;
        o.value_len = vlen;
        o.base_ts = ts0 + i * 10;
        bb_append(&b, &o);
        int64_t base, last, leo = gr_plog_leo(pl);
        assert_int_equal(gr_plog_append(pl, b.data, b.len, epoch, &base, &last), 0);
        assert_int_equal(base, leo);
        assert_int_equal(last, leo + nrec - 1);
        assert_int_equal(gr_plog_leo(pl), last + 1);
        if (all)
            gr_buf_put(all, b.data, b.len);
        gr_buf_free(&b);
    }
}

/* Reads everything from offset from to max_offset by repeated reads. */
static void read_all(gr_plog_t *pl, int64_t from, int64_t max_offset, size_t max_bytes,
                     gr_buf_t *out)
{
    int64_t off = from;
    for (;;) {
        size_t before = out->len;
        assert_int_equal(gr_plog_read_copy(pl, off, max_bytes, max_offset, out), 0);
        if (out->len == before)
            break;
        /* Continue after the last batch read. */
        size_t p = before, lastp = before;
        while (p < out->len) {
            lastp = p;
            p += 12 + gr_be32(out->data + p + 8);
        }
        assert_int_equal(p, out->len);
        off = (int64_t)gr_be64(out->data + lastp) + (int32_t)gr_be32(out->data + lastp + 23) + 1;
    }
}

/* Fetch reads (gr_plog_read_fetch) are cut at max_bytes inside a batch, as
 * Kafka answers a fetch, but never past the HW and never below one whole
 * first batch. */
static void test_read_fetch_partial(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    gr_plog_config_t cfg;
    gr_plog_config_default(&cfg);
    gr_plog_t *pl;
    assert_int_equal(gr_plog_open(dir, &cfg, -1, &pl), 0);
    gr_buf_t all;
    gr_buf_init(&all);
    append_n(pl, 10, 5, 100, 1000, 0, &all); /* ten batches of offsets 5k..5k+4 */
    gr_plog_set_hw(pl, gr_plog_leo(pl));
    size_t bsz = all.len / 10;
    assert_int_equal(bsz * 10, all.len);

    gr_plog_slice_t s;
    /* Cut inside the fourth batch. */
    size_t lim = 3 * bsz + bsz / 2;
    assert_int_equal(gr_plog_read_fetch(pl, 0, lim, INT64_MAX, &s), 0);
    assert_int_equal(s.len, lim);
    assert_int_equal(s.pos, 0);
    gr_plog_slice_release(&s);
    /* The whole-batch read stops before it. */
    assert_int_equal(gr_plog_read(pl, 0, lim, INT64_MAX, &s), 0);
    assert_int_equal(s.len, 3 * bsz);
    gr_plog_slice_release(&s);
    /* A limit below one batch still gets the first batch whole. */
    assert_int_equal(gr_plog_read_fetch(pl, 12, 10, INT64_MAX, &s), 0);
    assert_int_equal(s.first_offset, 10);
    assert_int_equal(s.len, bsz);
    gr_plog_slice_release(&s);
    /* The HW ends the range at a whole batch, whatever the limit. */
    gr_plog_set_hw(pl, 23);
    assert_int_equal(gr_plog_read_fetch(pl, 0, 1 << 20, gr_plog_hw(pl), &s), 0);
    assert_int_equal(s.len, 4 * bsz); /* batches 0..19; 20..24 is not below 23 */
    gr_plog_slice_release(&s);
    /* Everything when the limit allows. */
    gr_plog_set_hw(pl, gr_plog_leo(pl));
    assert_int_equal(gr_plog_read_fetch(pl, 0, 1 << 20, gr_plog_hw(pl), &s), 0);
    assert_int_equal(s.len, all.len);
    uint8_t *got = malloc(s.len);
    assert_non_null(got);
    assert_int_equal(gr_log_io_pread_all(s.fd, got, s.len, s.pos), 0);
    assert_memory_equal(got, all.data, all.len);
    free(got);
    gr_plog_slice_release(&s);
    gr_plog_close(pl);
    gr_buf_free(&all);
    tu_rmdir(dir);
}

static void test_append_read_roll(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    gr_plog_config_t cfg = small_cfg();
    gr_plog_t *pl;
    assert_int_equal(gr_plog_open(dir, &cfg, -1, &pl), 0);
    assert_int_equal(gr_plog_leo(pl), 0);
    gr_buf_t all;
    gr_buf_init(&all);
    append_n(pl, 60, 3, 40, 1000, 0, &all);
    assert_int_equal(gr_plog_leo(pl), 180);
    assert_true(gr_plog_segment_count(pl) > 3);
    gr_plog_set_hw(pl, gr_plog_leo(pl));

    gr_buf_t got;
    gr_buf_init(&got);
    read_all(pl, 0, gr_plog_hw(pl), 1 << 20, &got);
    assert_int_equal(got.len, all.len);
    assert_memory_equal(got.data, all.data, all.len);

    /* Small max_bytes: still whole batches, same bytes. */
    gr_buf_reset(&got);
    read_all(pl, 0, gr_plog_hw(pl), 1, &got);
    assert_int_equal(got.len, all.len);
    assert_memory_equal(got.data, all.data, all.len);

    /* Middle of a batch: the whole batch comes back. */
    gr_plog_slice_t s;
    assert_int_equal(gr_plog_read(pl, 100, 1, INT64_MAX, &s), 0);
    assert_int_equal(s.first_offset, 99);
    assert_true(s.len > 0);
    gr_plog_slice_release(&s);

    /* HW limit: nothing at or past max_offset, empty at the HW. */
    assert_int_equal(gr_plog_read(pl, 30, 1 << 20, 33, &s), 0);
    assert_int_equal(s.first_offset, 30);
    uint8_t hdr[61];
    assert_int_equal(gr_log_io_pread_all(s.fd, hdr, 61, s.pos), 0);
    assert_int_equal(s.len, 12 + gr_be32(hdr + 8)); /* exactly batch 30..32 */
    gr_plog_slice_release(&s);
    assert_int_equal(gr_plog_read(pl, 31, 1 << 20, 32, &s), 0);
    assert_int_equal(s.len, 0); /* batch 30..32 not wholly below 32 */
    assert_int_equal(gr_plog_read(pl, 180, 100, 180, &s), 0);
    assert_int_equal(s.len, 0);
    assert_int_equal(gr_plog_read(pl, 181, 100, 200, &s), GR_ERANGE);
    assert_int_equal(gr_plog_read(pl, -1, 100, 200, &s), GR_ERANGE);

    /* Reopen keeps everything. */
    gr_plog_close(pl);
    assert_int_equal(gr_plog_open(dir, &cfg, 180, &pl), 0);
    assert_int_equal(gr_plog_leo(pl), 180);
    gr_buf_reset(&got);
    read_all(pl, 0, 180, 1 << 20, &got);
    assert_int_equal(got.len, all.len);
    assert_memory_equal(got.data, all.data, all.len);
    gr_plog_close(pl);
    gr_buf_free(&all);
    gr_buf_free(&got);
    tu_rmdir(dir);
}

static void test_multi_batch_append_and_errors(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    gr_plog_config_t cfg = small_cfg();
    gr_plog_t *pl;
    assert_int_equal(gr_plog_open(dir, &cfg, -1, &pl), 0);
    gr_buf_t b;
    gr_buf_init(&b);
    bb_simple(&b, 2, 5, 100);
    bb_simple(&b, 3, 5, 200);
    int64_t base, last;
    assert_int_equal(gr_plog_append(pl, b.data, b.len, 4, &base, &last), 0);
    assert_int_equal(base, 0);
    assert_int_equal(last, 4);
    assert_int_equal((int64_t)gr_be64(b.data + 0), 0);
    size_t second = 12 + gr_be32(b.data + 8);
    assert_int_equal((int64_t)gr_be64(b.data + second), 2);
    assert_int_equal((int32_t)gr_be32(b.data + second + 12), 4);
    /* Garbage framing is refused and changes nothing. */
    uint8_t junk[70] = {0};
    assert_int_equal(gr_plog_append(pl, junk, sizeof junk, 4, &base, &last), GR_EMALFORMED);
    assert_int_equal(gr_plog_append(pl, b.data, b.len - 1, 4, &base, &last), GR_EMALFORMED);
    assert_int_equal(gr_plog_leo(pl), 5);
    /* Follower appends keep offsets; going backwards is refused. */
    gr_buf_t f;
    gr_buf_init(&f);
    bb_opts_t o = bb_defaults();
    o.base_offset = 10;
    o.leader_epoch = 6;
    o.nrecords = 2;
    bb_append(&f, &o);
    assert_int_equal(gr_plog_append_follower(pl, f.data, f.len, &base, &last), 0);
    assert_int_equal(base, 10);
    assert_int_equal(gr_plog_leo(pl), 12);
    assert_int_equal(gr_plog_append_follower(pl, f.data, f.len, &base, &last), GR_ERANGE);
    assert_int_equal(gr_plog_latest_epoch(pl), 6);
    /* Reading offset 7 (in the gap) returns the next batch. */
    gr_plog_slice_t s;
    assert_int_equal(gr_plog_read(pl, 7, 1000, 100, &s), 0);
    assert_int_equal(s.first_offset, 10);
    gr_plog_slice_release(&s);
    gr_plog_close(pl);
    gr_buf_free(&b);
    gr_buf_free(&f);
    tu_rmdir(dir);
}

static void test_timestamps(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    gr_plog_config_t cfg = small_cfg();
    gr_plog_t *pl;
    assert_int_equal(gr_plog_open(dir, &cfg, -1, &pl), 0);
    /* Batch i: offsets 2i..2i+1, timestamps 1000+10i and +1. */
    append_n(pl, 50, 2, 60, 1000, 0, NULL);
    /* One batch with an older timestamp after the max. */
    gr_buf_t b;
    gr_buf_init(&b);
    bb_simple(&b, 1, 10, 5);
    assert_int_equal(gr_plog_append(pl, b.data, b.len, 0, NULL, NULL), 0);
    int64_t off, ts;
    assert_int_equal(gr_plog_offset_for_timestamp(pl, 0, &off, &ts), 0);
    assert_int_equal(off, 0);
    assert_int_equal(ts, 1001);
    assert_int_equal(gr_plog_offset_for_timestamp(pl, 1201, &off, &ts), 0);
    assert_int_equal(off, 40);
    assert_int_equal(ts, 1201);
    assert_int_equal(gr_plog_offset_for_timestamp(pl, 1202, &off, &ts), 0);
    assert_int_equal(off, 42);
    assert_int_equal(gr_plog_offset_for_timestamp(pl, 1491, &off, &ts), 0);
    assert_int_equal(off, 98);
    assert_int_equal(gr_plog_offset_for_timestamp(pl, 1492, &off, &ts), GR_ENOTFOUND);
    assert_int_equal(gr_plog_max_timestamp(pl, &off, &ts), 0);
    assert_int_equal(ts, 1491);
    assert_int_equal(off, 99);
    /* Same answers after a reopen (sealed segments keep their max). */
    gr_plog_close(pl);
    assert_int_equal(gr_plog_open(dir, &cfg, 101, &pl), 0);
    assert_int_equal(gr_plog_max_timestamp(pl, &off, &ts), 0);
    assert_int_equal(ts, 1491);
    assert_int_equal(off, 99);
    assert_int_equal(gr_plog_offset_for_timestamp(pl, 1202, &off, &ts), 0);
    assert_int_equal(off, 42);
    /* The log start offset bounds the answer. */
    assert_int_equal(gr_plog_advance_start_offset(pl, 43), 0);
    assert_int_equal(gr_plog_offset_for_timestamp(pl, 0, &off, &ts), 0);
    assert_int_equal(off, 43);
    gr_plog_close(pl);
    gr_buf_free(&b);
    tu_rmdir(dir);
}

/* MAX_TIMESTAMP ignores the log start offset, as Kafka does: a segment
 * holding the start in its middle counts whole, and its batch below the
 * start can still be read (gr_plog_read_batch_at). */
static void test_max_timestamp_below_start(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    gr_plog_config_t cfg = small_cfg();
    gr_plog_t *pl;
    assert_int_equal(gr_plog_open(dir, &cfg, -1, &pl), 0);
    append_n(pl, 1, 2, 60, 5000, 0, NULL); /* offsets 0-1 at 5000, 5001 */
    append_n(pl, 30, 2, 60, 1000, 0, NULL); /* offsets 2-61: about 10 batches a segment */
    int64_t off, ts;
    assert_int_equal(gr_plog_advance_start_offset(pl, 5), 0);
    assert_int_equal(gr_plog_start_offset(pl), 5);
    assert_int_equal(gr_plog_max_timestamp(pl, &off, &ts), 0);
    assert_int_equal(ts, 5001);
    assert_int_equal(off, 1);
    gr_buf_t b;
    gr_buf_init(&b);
    assert_int_equal(gr_plog_read_batch_at(pl, 1, &b), 0);
    assert_int_equal(gr_be64(b.data), 0);
    assert_int_equal(b.len, 12 + gr_be32(b.data + 8));
    gr_buf_reset(&b);
    assert_int_equal(gr_plog_read_batch_at(pl, 40, &b), 0);
    assert_int_equal(gr_be64(b.data), 40);
    assert_int_equal(gr_plog_read_batch_at(pl, gr_plog_leo(pl), &b), GR_ENOTFOUND);
    /* Once the segment is wholly below the start it is gone, and so is its
     * timestamp. */
    assert_int_equal(gr_plog_advance_start_offset(pl, 50), 0);
    assert_int_equal(gr_plog_max_timestamp(pl, &off, &ts), 0);
    assert_int_equal(ts, 1000 + 29 * 10 + 1);
    assert_int_equal(off, 61);
    gr_buf_reset(&b);
    assert_int_equal(gr_plog_read_batch_at(pl, 1, &b), GR_ENOTFOUND);
    gr_buf_free(&b);
    gr_plog_close(pl);
    tu_rmdir(dir);
}

static void test_truncate(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    gr_plog_config_t cfg = small_cfg();
    gr_plog_t *pl;
    assert_int_equal(gr_plog_open(dir, &cfg, -1, &pl), 0);
    append_n(pl, 40, 4, 50, 1000, 1, NULL);
    append_n(pl, 40, 4, 50, 2000, 3, NULL);
    assert_int_equal(gr_plog_leo(pl), 320);
    gr_plog_set_hw(pl, 320);
    assert_int_equal(gr_plog_flush(pl, 320), 0);
    size_t nseg = gr_plog_segment_count(pl);
    int32_t e;
    int64_t end;
    gr_plog_last_epoch_end_offset(pl, 1, &e, &end);
    assert_int_equal(e, 1);
    assert_int_equal(end, 160);
    gr_plog_last_epoch_end_offset(pl, 2, &e, &end);
    assert_int_equal(e, 1);
    assert_int_equal(end, 160);
    gr_plog_last_epoch_end_offset(pl, 3, &e, &end);
    assert_int_equal(e, 3);
    assert_int_equal(end, 320);
    gr_plog_last_epoch_end_offset(pl, 4, &e, &end);
    assert_int_equal(e, -1);
    assert_int_equal(end, -1);
    gr_plog_last_epoch_end_offset(pl, 0, &e, &end);
    assert_int_equal(e, 0);
    assert_int_equal(end, 0);

    /* Into the middle of batch 148..151: it goes whole. */
    assert_int_equal(gr_plog_truncate_to(pl, 151), 0);
    assert_int_equal(gr_plog_leo(pl), 148);
    assert_int_equal(gr_plog_hw(pl), 148);
    assert_int_equal(gr_plog_flushed_offset(pl), 148);
    assert_true(gr_plog_segment_count(pl) < nseg);
    assert_int_equal(gr_plog_latest_epoch(pl), 1);
    gr_plog_slice_t s;
    assert_int_equal(gr_plog_read(pl, 151, 100, INT64_MAX, &s), GR_ERANGE);
    /* Appends continue from the new LEO. */
    append_n(pl, 1, 4, 50, 3000, 5, NULL);
    assert_int_equal(gr_plog_leo(pl), 152);
    gr_plog_last_epoch_end_offset(pl, 3, &e, &end);
    assert_int_equal(e, 1);
    assert_int_equal(end, 148);
    assert_int_equal(gr_plog_truncate_to(pl, -5), GR_ERANGE);
    /* Epochs survive a reopen, and are rebuilt if the file is lost. */
    assert_int_equal(gr_plog_flush(pl, INT64_MAX), 0);
    gr_plog_close(pl);
    assert_int_equal(gr_plog_open(dir, &cfg, 152, &pl), 0);
    gr_plog_last_epoch_end_offset(pl, 1, &e, &end);
    assert_int_equal(end, 148);
    assert_int_equal(gr_plog_latest_epoch(pl), 5);
    gr_plog_close(pl);
    char *ep = tu_path(dir, "leader-epoch-checkpoint");
    assert_true(tu_exists(ep));
    unlink(ep);
    assert_int_equal(gr_plog_open(dir, &cfg, 152, &pl), 0);
    gr_plog_last_epoch_end_offset(pl, 1, &e, &end);
    assert_int_equal(e, 1);
    assert_int_equal(end, 148);
    assert_int_equal(gr_plog_latest_epoch(pl), 5);
    /* Truncate fully. */
    assert_int_equal(gr_plog_truncate_fully(pl, 1000), 0);
    assert_int_equal(gr_plog_leo(pl), 1000);
    assert_int_equal(gr_plog_start_offset(pl), 1000);
    assert_int_equal(gr_plog_segment_count(pl), 1);
    append_n(pl, 1, 1, 5, 1, 7, NULL);
    assert_int_equal(gr_plog_leo(pl), 1001);
    gr_plog_close(pl);
    free(ep);
    tu_rmdir(dir);
}

typedef struct {
    int     n;
    int64_t first, last;
} seen_t;

static void on_batch(void *arg, const uint8_t *hdr61, int fd, int64_t pos)
{
    seen_t *s = arg;
    int64_t b = (int64_t)gr_be64(hdr61);
    if (s->n++ == 0)
        s->first = b;
    s->last = b;
}

static void test_recovery(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    gr_plog_config_t cfg = small_cfg();
    gr_plog_t *pl;
    assert_int_equal(gr_plog_open(dir, &cfg, -1, &pl), 0);
    gr_buf_t all;
    gr_buf_init(&all);
    append_n(pl, 40, 2, 60, 1000, 2, &all);
    int64_t leo = gr_plog_leo(pl);
    size_t nseg = gr_plog_segment_count(pl);
    int64_t last_base = gr_plog_segment_base(pl, nseg - 1);
    gr_plog_close(pl);

    char name[64];
    snprintf(name, sizeof name, "%020lld.log", (long long)last_base);
    char *lp = tu_path(dir, name);
    int64_t lsz = tu_size(lp);
    assert_true(lsz > 100);

    /* 1. Torn tail: cut the last batch in half. The batch size is known
     * from the appended bytes (all batches are the same size). */
    int64_t bsz = 12 + gr_be32(all.data + 8);
    tu_cut(lp, lsz - bsz / 2);
    seen_t seen = {0, -1, -1};
    gr_plog_open_opts_t o = {.recovery_point = -1, .log_start_offset = -1,
                             .high_watermark = -1, .on_batch = on_batch, .on_batch_arg = &seen};
    assert_int_equal(gr_plog_open_ex(dir, &cfg, &o, &pl), 0);
    assert_int_equal(gr_plog_leo(pl), leo - 2);
    assert_int_equal(seen.n, 39);
    assert_int_equal(seen.first, 0);
    assert_int_equal(seen.last, leo - 4);
    assert_int_equal(tu_size(lp), lsz - bsz);
    gr_buf_t got;
    gr_buf_init(&got);
    read_all(pl, 0, INT64_MAX, 1 << 20, &got);
    assert_int_equal(got.len, all.len - (size_t)bsz);
    assert_memory_equal(got.data, all.data, got.len);
    gr_plog_close(pl);

    /* 2. A flipped byte in the (new) last batch, recovery point inside
     * the last segment: only that segment is scanned. */
    tu_flip(lp, lsz - bsz - 5);
    seen = (seen_t){0, -1, -1};
    o.recovery_point = last_base;
    assert_int_equal(gr_plog_open_ex(dir, &cfg, &o, &pl), 0);
    assert_int_equal(gr_plog_leo(pl), leo - 4);
    assert_true(seen.n >= 0 && seen.n < 39);
    gr_buf_reset(&got);
    read_all(pl, 0, INT64_MAX, 1 << 20, &got);
    assert_int_equal(got.len, all.len - 2 * (size_t)bsz);
    assert_memory_equal(got.data, all.data, got.len);
    gr_plog_close(pl);

    /* 3. Corruption in an earlier unflushed segment deletes the later ones. */
    assert_int_equal(gr_plog_open(dir, &cfg, 0, &pl), 0);
    int64_t b1 = gr_plog_segment_base(pl, 1);
    gr_plog_close(pl);
    snprintf(name, sizeof name, "%020lld.log", (long long)0);
    char *lp0 = tu_path(dir, name);
    tu_flip(lp0, tu_size(lp0) - 3);
    assert_int_equal(gr_plog_open(dir, &cfg, -1, &pl), 0);
    assert_int_equal(gr_plog_segment_count(pl), 1);
    assert_true(gr_plog_leo(pl) < b1);
    assert_int_equal(gr_plog_leo(pl), b1 - 2);
    gr_plog_close(pl);
    free(lp0);
    free(lp);
    gr_buf_free(&all);
    gr_buf_free(&got);
    tu_rmdir(dir);
}

static void test_missing_index_rebuilt(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    gr_plog_config_t cfg = small_cfg();
    gr_plog_t *pl;
    assert_int_equal(gr_plog_open(dir, &cfg, -1, &pl), 0);
    gr_buf_t all;
    gr_buf_init(&all);
    append_n(pl, 30, 2, 60, 1000, 0, &all);
    int64_t leo = gr_plog_leo(pl);
    assert_int_equal(gr_plog_flush(pl, leo), 0);
    assert_int_equal(gr_plog_flushed_offset(pl), leo);
    gr_plog_close(pl);
    char *ip = tu_path(dir, "00000000000000000000.index");
    char *tp = tu_path(dir, "00000000000000000000.timeindex");
    int64_t isz = tu_size(ip);
    assert_true(isz > 0);
    unlink(ip);
    unlink(tp);
    /* Trusted segment (below the recovery point) but its index is gone. */
    assert_int_equal(gr_plog_open(dir, &cfg, leo, &pl), 0);
    assert_int_equal(tu_size(ip), isz);
    assert_true(tu_size(tp) > 0);
    assert_int_equal(gr_plog_leo(pl), leo);
    gr_buf_t got;
    gr_buf_init(&got);
    read_all(pl, 0, INT64_MAX, 300, &got);
    assert_int_equal(got.len, all.len);
    assert_memory_equal(got.data, all.data, all.len);
    gr_plog_close(pl);
    free(ip);
    free(tp);
    gr_buf_free(&all);
    gr_buf_free(&got);
    tu_rmdir(dir);
}

static void test_slice_outlives_segment(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    gr_plog_config_t cfg = small_cfg();
    gr_plog_t *pl;
    assert_int_equal(gr_plog_open(dir, &cfg, -1, &pl), 0);
    gr_buf_t all;
    gr_buf_init(&all);
    append_n(pl, 5, 2, 60, 1000, 0, &all);
    gr_plog_slice_t s;
    assert_int_equal(gr_plog_read(pl, 0, 1 << 20, INT64_MAX, &s), 0);
    assert_int_equal(s.len, all.len);
    /* Roll several times, then delete the first segment. */
    append_n(pl, 40, 2, 60, 2000, 0, NULL);
    assert_true(gr_plog_segment_count(pl) > 2);
    assert_int_equal(gr_plog_advance_start_offset(pl, gr_plog_segment_base(pl, 1)), 0);
    assert_false(tu_exists(gr_plog_dir(pl)) == 0);
    char *lp = tu_path(dir, "00000000000000000000.log");
    assert_false(tu_exists(lp));
    uint8_t *buf = malloc(s.len);
    assert_int_equal(gr_log_io_pread_all(s.fd, buf, s.len, s.pos), 0);
    assert_memory_equal(buf, all.data, all.len);
    gr_plog_slice_release(&s);
    assert_int_equal(gr_plog_read(pl, 0, 100, INT64_MAX, &s), GR_ERANGE);
    free(buf);
    free(lp);
    gr_plog_close(pl);
    gr_buf_free(&all);
    tu_rmdir(dir);
}

static int64_t fake_now;
static int64_t fake_clock(void) { return fake_now; }

static void test_roll_by_time_and_flush_policy(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    gr_plog_config_t cfg;
    gr_plog_config_default(&cfg);
    cfg.segment_ms = 1000;
    cfg.flush_interval_messages = 10;
    cfg.flush_interval_ms = 5000;
    cfg.clock_ms = fake_clock;
    fake_now = 1000000;
    gr_plog_t *pl;
    assert_int_equal(gr_plog_open(dir, &cfg, -1, &pl), 0);
    assert_false(gr_plog_needs_flush(pl, fake_now) && gr_plog_flush(pl, INT64_MAX) != 0);
    assert_int_equal(gr_plog_flush(pl, INT64_MAX), 0);
    append_n(pl, 3, 1, 10, 1, -1, NULL); /* no epoch: no epoch file to write */
    assert_false(gr_plog_needs_flush(pl, fake_now));
    append_n(pl, 7, 1, 10, 1, -1, NULL);
    assert_true(gr_plog_needs_flush(pl, fake_now)); /* 10 unflushed messages */
    assert_int_equal(gr_plog_flush(pl, 4), 0);
    assert_int_equal(gr_plog_flushed_offset(pl), 4);
    assert_false(gr_plog_needs_flush(pl, fake_now));
    assert_true(gr_plog_needs_flush(pl, fake_now + 5000)); /* flush.ms */
    assert_int_equal(gr_plog_flush(pl, INT64_MAX), 0);
    assert_int_equal(gr_plog_flushed_offset(pl), 10);
    assert_int_equal(gr_plog_segment_count(pl), 1);
    fake_now += 999;
    append_n(pl, 1, 1, 10, 1, -1, NULL);
    assert_int_equal(gr_plog_segment_count(pl), 1);
    fake_now += 1;
    append_n(pl, 1, 1, 10, 1, -1, NULL);
    assert_int_equal(gr_plog_segment_count(pl), 2);
    assert_int_equal(gr_plog_segment_base(pl, 1), 11);
    assert_true(gr_plog_needs_flush(pl, fake_now)); /* a rolled segment */
    assert_int_equal(gr_plog_flush(pl, INT64_MAX), 0);
    assert_int_equal(gr_plog_flushed_offset(pl), 12);
    gr_plog_close(pl);
    tu_rmdir(dir);
}

typedef struct {
    gr_plog_t  *pl;
    atomic_int  stop;
    int         flushes;
} flusher_t;

static void *flusher_main(void *arg)
{
    flusher_t *f = arg;
    while (!atomic_load(&f->stop)) {
        assert_int_equal(gr_plog_flush(f->pl, INT64_MAX), 0);
        f->flushes++;
    }
    return NULL;
}

static void test_flush_concurrent_with_appends(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    gr_plog_config_t cfg = small_cfg();
    gr_plog_t *pl;
    assert_int_equal(gr_plog_open(dir, &cfg, -1, &pl), 0);
    flusher_t f = {pl, 0, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, flusher_main, &f), 0);
    for (int i = 0; i < 20; i++) {
        append_n(pl, 20, 2, 30, 1000, i / 5, NULL);
        assert_true(gr_plog_flushed_offset(pl) <= gr_plog_leo(pl));
        if (i == 10)
            assert_int_equal(gr_plog_truncate_to(pl, gr_plog_leo(pl) - 30), 0);
    }
    atomic_store(&f.stop, 1);
    pthread_join(th, NULL);
    assert_int_equal(gr_plog_flush(pl, INT64_MAX), 0);
    assert_int_equal(gr_plog_flushed_offset(pl), gr_plog_leo(pl));
    int64_t leo = gr_plog_leo(pl);
    gr_plog_close(pl);
    assert_int_equal(gr_plog_open(dir, &cfg, leo, &pl), 0);
    assert_int_equal(gr_plog_leo(pl), leo);
    gr_plog_close(pl);
    tu_rmdir(dir);
}

static void test_delete(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *pd = tu_path(dir, "t-0");
    gr_plog_config_t cfg = small_cfg();
    gr_plog_t *pl;
    assert_int_equal(gr_plog_open(pd, &cfg, -1, &pl), 0);
    append_n(pl, 5, 2, 10, 1, 0, NULL);
    assert_int_equal(gr_plog_delete(pl), 0);
    assert_false(tu_exists(pd));
    /* Nothing left in the parent either. */
    assert_int_equal(rmdir(dir), 0);
    assert_int_equal(mkdir(dir, 0700), 0);
    free(pd);
    tu_rmdir(dir);
}

int main(void)
{
    gr_log_level = GR_LOG_ERROR + 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_read_roll),
        cmocka_unit_test(test_read_fetch_partial),
        cmocka_unit_test(test_multi_batch_append_and_errors),
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_max_timestamp_below_start),
        cmocka_unit_test(test_truncate),
        cmocka_unit_test(test_recovery),
        cmocka_unit_test(test_missing_index_rebuilt),
        cmocka_unit_test(test_slice_outlives_segment),
        cmocka_unit_test(test_roll_by_time_and_flush_policy),
        cmocka_unit_test(test_flush_concurrent_with_appends),
        cmocka_unit_test(test_delete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
