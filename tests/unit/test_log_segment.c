/* Unit tests for log segments: append, offset and timestamp lookups,
 * index building, truncation, reopen, recovery and deletion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "batch_builder.h"
#include "log/segment.h"
#include "test_log_util.h"

/* Appends n batches of nrec records each to out, with offsets from base;
 * records their positions and sizes. Timestamps are 1000 * batch index. */
static void make_batches(gr_buf_t *out, int64_t base, int n, int nrec, size_t vlen,
                         int64_t *pos, int64_t *sizes)
{
    for (int i = 0; i < n; i++) {
        bb_opts_t o = bb_defaults();
        o.base_offset = base + (int64_t)i * nrec;
        o.nrecords = nrec;
        o.value_len = vlen;
        o.base_ts = 1000 * (int64_t)(i + 1);
        if (pos)
            pos[i] = (int64_t)out->len;
        size_t sz = bb_append(out, &o);
        if (sizes)
            sizes[i] = (int64_t)sz;
    }
}

static void test_append_find(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    gr_segment_t *seg;
    assert_int_equal(gr_log_segment_create(dir, 100, 256, &seg), 0);
    gr_buf_t b;
    gr_buf_init(&b);
    int64_t pos[50];
    make_batches(&b, 100, 50, 4, 50, pos, NULL);
    assert_int_equal(gr_log_segment_append(seg, b.data, b.len), 0);
    assert_int_equal(gr_log_segment_next_offset(seg), 100 + 200);
    assert_int_equal(gr_log_segment_size(seg), (int64_t)b.len);
    assert_true(gr_log_segment_index_entries(seg) > 5);
    assert_true(gr_log_segment_timeindex_entries(seg) > 5);

    for (int64_t off = 100; off < 300; off++) {
        int64_t p;
        gr_log_batch_hdr_t h;
        assert_int_equal(gr_log_segment_find(seg, off, &p, &h), 0);
        int i = (int)((off - 100) / 4);
        assert_int_equal(p, pos[i]);
        assert_int_equal(h.base_offset, 100 + 4 * i);
    }
    int64_t p;
    assert_int_equal(gr_log_segment_find(seg, 300, &p, NULL), GR_ENOTFOUND);
    assert_int_equal(gr_log_segment_find(seg, 0, &p, NULL), 0);
    assert_int_equal(p, 0);

    /* Timestamps: batch i has max ts 1000*(i+1) + 3. */
    gr_log_batch_hdr_t h;
    assert_int_equal(gr_log_segment_find_ts(seg, 0, &p, &h), 0);
    assert_int_equal(h.base_offset, 100);
    assert_int_equal(gr_log_segment_find_ts(seg, 7003, &p, &h), 0);
    assert_int_equal(h.base_offset, 100 + 6 * 4);
    assert_int_equal(gr_log_segment_find_ts(seg, 7004, &p, &h), 0);
    assert_int_equal(h.base_offset, 100 + 7 * 4);
    assert_int_equal(gr_log_segment_find_ts(seg, 50004, &p, &h), GR_ENOTFOUND);
    assert_int_equal(gr_log_segment_max_ts(seg), 50003);
    assert_int_equal(gr_log_segment_max_ts_offset(seg), 299);

    /* The index file holds exactly the entries, 8 bytes each. */
    char *ip = tu_path(dir, "00000000000000000100.index");
    char *tp = tu_path(dir, "00000000000000000100.timeindex");
    assert_int_equal(tu_size(ip), (int64_t)(8 * gr_log_segment_index_entries(seg)));
    assert_int_equal(tu_size(tp), (int64_t)(12 * gr_log_segment_timeindex_entries(seg)));

    /* Reopen: same lookups, same next offset. */
    assert_int_equal(gr_log_segment_seal(seg), 0);
    size_t nidx = gr_log_segment_index_entries(seg);
    gr_log_segment_close(seg);
    assert_int_equal(gr_log_segment_open(dir, 100, 256, &seg), 0);
    assert_false(gr_log_segment_needs_recovery(seg));
    assert_int_equal(gr_log_segment_index_entries(seg), nidx);
    assert_int_equal(gr_log_segment_next_offset(seg), 300);
    assert_int_equal(gr_log_segment_max_ts(seg), 50003);
    assert_int_equal(gr_log_segment_find(seg, 257, &p, &h), 0);
    assert_int_equal(h.base_offset, 256);
    gr_log_segment_close(seg);
    free(ip);
    free(tp);
    gr_buf_free(&b);
    tu_rmdir(dir);
}

static void test_truncate(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    gr_segment_t *seg;
    assert_int_equal(gr_log_segment_create(dir, 0, 128, &seg), 0);
    gr_buf_t b;
    gr_buf_init(&b);
    int64_t pos[20];
    make_batches(&b, 0, 20, 5, 40, pos, NULL);
    assert_int_equal(gr_log_segment_append(seg, b.data, b.len), 0);
    /* Offset 52 is inside batch 10 (50..54): the whole batch goes. */
    assert_int_equal(gr_log_segment_truncate(seg, 52), 0);
    assert_int_equal(gr_log_segment_next_offset(seg), 50);
    assert_int_equal(gr_log_segment_size(seg), pos[10]);
    int64_t p;
    assert_int_equal(gr_log_segment_find(seg, 50, &p, NULL), GR_ENOTFOUND);
    assert_int_equal(gr_log_segment_find(seg, 49, &p, NULL), 0);
    assert_int_equal(p, pos[9]);
    /* Appending continues at 50. */
    gr_buf_t c;
    gr_buf_init(&c);
    make_batches(&c, 50, 1, 5, 40, NULL, NULL);
    assert_int_equal(gr_log_segment_append(seg, c.data, c.len), 0);
    assert_int_equal(gr_log_segment_next_offset(seg), 55);
    /* Truncate to the base empties it. */
    assert_int_equal(gr_log_segment_truncate(seg, 0), 0);
    assert_int_equal(gr_log_segment_size(seg), 0);
    assert_int_equal(gr_log_segment_next_offset(seg), 0);
    assert_int_equal(gr_log_segment_index_entries(seg), 0);
    gr_log_segment_close(seg);
    gr_buf_free(&b);
    gr_buf_free(&c);
    tu_rmdir(dir);
}

typedef struct {
    int     n;
    int64_t last_base;
} count_ctx_t;

static void count_batch(void *arg, const uint8_t *hdr61, int fd, int64_t pos)
{
    count_ctx_t *c = arg;
    c->n++;
    c->last_base = (int64_t)gr_be64(hdr61);
    uint8_t b[12];
    assert_int_equal(gr_log_io_pread_all(fd, b, 12, pos), 0);
    assert_memory_equal(b, hdr61, 12);
}

static void test_recover_torn_and_corrupt(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *lp = tu_path(dir, "00000000000000000000.log");
    gr_segment_t *seg;
    assert_int_equal(gr_log_segment_create(dir, 0, 128, &seg), 0);
    gr_buf_t b;
    gr_buf_init(&b);
    int64_t pos[10], sz[10];
    make_batches(&b, 0, 10, 3, 30, pos, sz);
    assert_int_equal(gr_log_segment_append(seg, b.data, b.len), 0);
    gr_log_segment_close(seg);

    /* Torn tail: the last batch is cut in the middle. */
    tu_cut(lp, pos[9] + sz[9] / 2);
    assert_int_equal(gr_log_segment_open(dir, 0, 128, &seg), 0);
    assert_true(gr_log_segment_needs_recovery(seg));
    count_ctx_t c = {0, -1};
    int64_t cut, at;
    assert_int_equal(gr_log_segment_recover(seg, 0, count_batch, &c, &cut, &at), 0);
    assert_int_equal(cut, sz[9] / 2);
    assert_int_equal(at, 27);
    assert_int_equal(c.n, 9);
    assert_int_equal(c.last_base, 24);
    assert_int_equal(gr_log_segment_next_offset(seg), 27);
    assert_int_equal(tu_size(lp), pos[9]);
    gr_log_segment_close(seg);

    /* A flipped byte in the records of batch 7: CRC fails, cut there. */
    tu_flip(lp, pos[7] + 70);
    assert_int_equal(gr_log_segment_open(dir, 0, 128, &seg), 0);
    assert_int_equal(gr_log_segment_recover(seg, 0, NULL, NULL, &cut, &at), 0);
    assert_int_equal(at, 21);
    assert_int_equal(cut, sz[7] + sz[8]);
    assert_int_equal(gr_log_segment_size(seg), pos[7]);
    gr_log_segment_close(seg);

    /* A garbage length in a header is bounded, not trusted. */
    uint8_t bad[4] = {0x7f, 0xff, 0xff, 0xff};
    int fd = open(lp, O_RDWR);
    assert_true(pwrite(fd, bad, 4, pos[5] + 8) == 4);
    close(fd);
    assert_int_equal(gr_log_segment_open(dir, 0, 128, &seg), 0);
    /* (open checks only the tail after the last index entry; a full check
     * is the recovery's job.) */
    assert_int_equal(gr_log_segment_recover(seg, 0, NULL, NULL, &cut, &at), 0);
    assert_int_equal(gr_log_segment_size(seg), pos[5]);
    assert_int_equal(gr_log_segment_next_offset(seg), 15);
    gr_log_segment_close(seg);
    free(lp);
    gr_buf_free(&b);
    tu_rmdir(dir);
}

static void test_bad_index_rebuilt(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *ip = tu_path(dir, "00000000000000000000.index");
    char *tp = tu_path(dir, "00000000000000000000.timeindex");
    gr_segment_t *seg;
    assert_int_equal(gr_log_segment_create(dir, 0, 100, &seg), 0);
    gr_buf_t b;
    gr_buf_init(&b);
    make_batches(&b, 0, 30, 2, 60, NULL, NULL);
    assert_int_equal(gr_log_segment_append(seg, b.data, b.len), 0);
    size_t n = gr_log_segment_index_entries(seg);
    int64_t isz = tu_size(ip);
    gr_log_segment_close(seg);

    /* Missing index. */
    unlink(ip);
    assert_int_equal(gr_log_segment_open(dir, 0, 100, &seg), 0);
    assert_true(gr_log_segment_needs_recovery(seg));
    int64_t cut, at;
    assert_int_equal(gr_log_segment_recover(seg, 0, NULL, NULL, &cut, &at), 0);
    assert_int_equal(cut, 0);
    assert_int_equal(gr_log_segment_index_entries(seg), n);
    assert_int_equal(tu_size(ip), isz);
    gr_log_segment_close(seg);

    /* Garbage index: position beyond the log, and a torn entry. */
    uint8_t junk[12] = {0, 0, 0, 1, 0x7f, 0, 0, 0, 9, 9, 9, 9};
    tu_write(ip, junk, 8);
    assert_int_equal(gr_log_segment_open(dir, 0, 100, &seg), 0);
    assert_true(gr_log_segment_needs_recovery(seg));
    gr_log_segment_close(seg);
    tu_write(ip, junk, 12);
    assert_int_equal(gr_log_segment_open(dir, 0, 100, &seg), 0);
    assert_true(gr_log_segment_needs_recovery(seg));
    gr_log_segment_close(seg);
    tu_write(tp, junk, 12); /* time index pointing past the end */
    assert_int_equal(gr_log_segment_open(dir, 0, 100, &seg), 0);
    assert_true(gr_log_segment_needs_recovery(seg));
    assert_int_equal(gr_log_segment_recover(seg, 0, NULL, NULL, &cut, &at), 0);
    assert_int_equal(gr_log_segment_index_entries(seg), n);
    int64_t p;
    gr_log_batch_hdr_t h;
    assert_int_equal(gr_log_segment_find(seg, 41, &p, &h), 0);
    assert_int_equal(h.base_offset, 40);
    gr_log_segment_close(seg);
    free(ip);
    free(tp);
    gr_buf_free(&b);
    tu_rmdir(dir);
}

static void test_delete_and_refs(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *lp = tu_path(dir, "00000000000000000007.log");
    gr_segment_t *seg;
    assert_int_equal(gr_log_segment_create(dir, 7, 4096, &seg), 0);
    gr_buf_t b;
    gr_buf_init(&b);
    make_batches(&b, 7, 3, 2, 10, NULL, NULL);
    assert_int_equal(gr_log_segment_append(seg, b.data, b.len), 0);
    assert_int_equal(gr_log_segment_flush(seg), 0);
    gr_log_segment_ref(seg);
    assert_int_equal(gr_log_segment_delete(seg), 0);
    assert_false(tu_exists(lp));
    /* The reference keeps the descriptor readable. */
    uint8_t got[64];
    assert_int_equal(gr_log_io_pread_all(gr_log_segment_fd(seg), got, 64, 0), 0);
    assert_memory_equal(got, b.data, 64);
    gr_log_segment_unref(seg);
    free(lp);
    gr_buf_free(&b);
    tu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_find),
        cmocka_unit_test(test_truncate),
        cmocka_unit_test(test_recover_torn_and_corrupt),
        cmocka_unit_test(test_bad_index_rebuilt),
        cmocka_unit_test(test_delete_and_refs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
