/* Unit tests for retention: the selection rules (retention.c), the
 * partition log applying them (gr_plog_retain, gr_plog_advance_start_offset
 * with reads below and inside the new start), *.deleted files and their
 * delayed removal, and the log manager's retention pass and checkpoint. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "batch_builder.h"
#include "log/checkpoint.h"
#include "log/log_manager.h"
#include "log/partition_log.h"
#include "log/retention.h"
#include "test_log_util.h"

#include <dirent.h>

#define DAY (24LL * 3600 * 1000)
#define NOW (1700000000000LL + 30 * DAY)

static const uint8_t TOPIC_ID[16] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};

/* ---- selection rules ---- */

static gr_retention_policy_t policy(int64_t ms, int64_t bytes, bool del)
{
    gr_retention_policy_t p = {ms, bytes, del};
    return p;
}

/* Four closed segments of 100 bytes at offsets 0, 10, 20, 30 with largest
 * timestamps 10, 8, 6, 4 days ago, and an active one at 40 (1 day old). */
static void five(gr_retention_seg_t s[5])
{
    for (int i = 0; i < 5; i++) {
        s[i].base_offset = 10 * i;
        s[i].size = 100;
        s[i].largest_ts = NOW - (10 - 2 * i) * DAY;
    }
    s[4].largest_ts = NOW - DAY;
}

static void test_select_time(void **state)
{
    (void)state;
    gr_retention_seg_t s[5];
    five(s);
    unsigned why;
    gr_retention_policy_t p = policy(7 * DAY, -1, true);
    /* 10 and 8 days old go; 6 days stays and stops the walk. */
    assert_int_equal(gr_retention_select(s, 5, 0, 50, 50, &p, NOW, &why), 2);
    assert_int_equal(why, GR_RETAIN_TIME);
    /* Kafka's rule is strict: exactly retention.ms old stays. */
    p = policy(8 * DAY, -1, true);
    assert_int_equal(gr_retention_select(s, 5, 0, 50, 50, &p, NOW, &why), 1);
    /* The walk stops at the first keeper even if a later one is older. */
    s[1].largest_ts = NOW;
    p = policy(7 * DAY, -1, true);
    assert_int_equal(gr_retention_select(s, 5, 0, 50, 50, &p, NOW, &why), 1);
    five(s);
    /* Not while the segment is not wholly below the high watermark. */
    assert_int_equal(gr_retention_select(s, 5, 0, 50, 15, &p, NOW, &why), 1);
    assert_int_equal(gr_retention_select(s, 5, 0, 50, 9, &p, NOW, &why), 0);
    /* -1 keeps everything; without "delete" time does not count. */
    p = policy(-1, -1, true);
    assert_int_equal(gr_retention_select(s, 5, 0, 50, 50, &p, NOW, &why), 0);
    assert_int_equal(why, 0);
    p = policy(7 * DAY, -1, false);
    assert_int_equal(gr_retention_select(s, 5, 0, 50, 50, &p, NOW, &why), 0);
    /* Timestamps from a producer's clock: the future is never old, the far
     * past does not overflow. */
    s[0].largest_ts = INT64_MAX;
    p = policy(0, -1, true);
    assert_int_equal(gr_retention_select(s, 5, 0, 50, 50, &p, NOW, &why), 0);
    s[0].largest_ts = INT64_MIN;
    s[1].largest_ts = NOW + DAY;
    assert_int_equal(gr_retention_select(s, 5, 0, 50, 50, &p, NOW, &why), 1);
    s[0].largest_ts = NOW - 10 * DAY;
    p = policy(INT64_MAX, -1, true);
    assert_int_equal(gr_retention_select(s, 5, 0, 50, 50, &p, NOW, &why), 0);
}

static void test_select_active_segment(void **state)
{
    (void)state;
    gr_retention_seg_t s[5];
    five(s);
    unsigned why;
    /* Everything expired: the active segment is selected too (the log rolls
     * it first), but only when wholly below the HW. */
    gr_retention_policy_t p = policy(0, -1, true);
    assert_int_equal(gr_retention_select(s, 5, 0, 50, 50, &p, NOW, &why), 5);
    assert_int_equal(gr_retention_select(s, 5, 0, 50, 49, &p, NOW, &why), 4);
    /* An empty active segment never is. */
    s[4].size = 0;
    assert_int_equal(gr_retention_select(s, 5, 0, 40, 40, &p, NOW, &why), 4);
    assert_int_equal(gr_retention_select(s + 4, 1, 40, 40, 40, &p, NOW, &why), 0);
    assert_int_equal(gr_retention_select(s, 0, 0, 0, 0, &p, NOW, &why), 0);
}

static void test_select_size(void **state)
{
    (void)state;
    gr_retention_seg_t s[5];
    five(s);
    unsigned why;
    /* 500 bytes, limit 250: segments go while the rest stays >= 250. */
    gr_retention_policy_t p = policy(-1, 250, true);
    assert_int_equal(gr_retention_select(s, 5, 0, 50, 50, &p, NOW, &why), 2);
    assert_int_equal(why, GR_RETAIN_SIZE);
    p = policy(-1, 300, true);
    assert_int_equal(gr_retention_select(s, 5, 0, 50, 50, &p, NOW, &why), 2);
    p = policy(-1, 301, true);
    assert_int_equal(gr_retention_select(s, 5, 0, 50, 50, &p, NOW, &why), 1);
    p = policy(-1, 500, true);
    assert_int_equal(gr_retention_select(s, 5, 0, 50, 50, &p, NOW, &why), 0);
    p = policy(-1, 501, true);
    assert_int_equal(gr_retention_select(s, 5, 0, 50, 50, &p, NOW, &why), 0);
    /* retention.bytes=0 lets everything go, as in Kafka. */
    p = policy(-1, 0, true);
    assert_int_equal(gr_retention_select(s, 5, 0, 50, 50, &p, NOW, &why), 5);
    /* A first segment bigger than the excess stops the walk. */
    s[0].size = 400;
    p = policy(-1, 500, true);
    assert_int_equal(gr_retention_select(s, 5, 0, 50, 50, &p, NOW, &why), 0);
    /* Not without "delete". */
    five(s);
    p = policy(-1, 250, false);
    assert_int_equal(gr_retention_select(s, 5, 0, 50, 50, &p, NOW, &why), 0);
    /* Size, then time on what is left. */
    p = policy(5 * DAY, 400, true);
    assert_int_equal(gr_retention_select(s, 5, 0, 50, 50, &p, NOW, &why), 3);
    assert_int_equal(why, GR_RETAIN_SIZE | GR_RETAIN_TIME);
    assert_string_equal(gr_retention_reason_text(why), "retention size, retention time");
}

static void test_select_log_start(void **state)
{
    (void)state;
    gr_retention_seg_t s[5];
    five(s);
    unsigned why;
    /* Segments wholly below the log start go whatever the policy. */
    gr_retention_policy_t p = policy(-1, -1, false);
    assert_int_equal(gr_retention_select(s, 5, 25, 50, 50, &p, NOW, &why), 2);
    assert_int_equal(why, GR_RETAIN_LOG_START);
    assert_int_equal(gr_retention_select(s, 5, 20, 50, 50, &p, NOW, &why), 2);
    assert_int_equal(gr_retention_select(s, 5, 19, 50, 50, &p, NOW, &why), 1);
    /* Never the active segment by this rule. */
    assert_int_equal(gr_retention_select(s, 5, 50, 50, 50, &p, NOW, &why), 4);
    /* Then the size rule counts only what is left. */
    p = policy(-1, 200, true);
    assert_int_equal(gr_retention_select(s, 5, 10, 50, 50, &p, NOW, &why), 3);
    assert_int_equal(why, GR_RETAIN_LOG_START | GR_RETAIN_SIZE);
}

/* ---- the partition log ---- */

static int64_t fake_now = NOW;
static int64_t fake_clock(void) { return fake_now; }

static gr_plog_config_t cfg_small(void)
{
    gr_plog_config_t c;
    gr_plog_config_default(&c);
    c.segment_bytes = 1024;
    c.index_interval_bytes = 100;
    c.clock_ms = fake_clock;
    return c;
}

/* n batches of 5 records (about 150 bytes each) with timestamp ts. */
static void append_at(gr_plog_t *pl, int n, int64_t ts)
{
    for (int i = 0; i < n; i++) {
        gr_buf_t b;
        gr_buf_init(&b);
        bb_simple(&b, 5, 16, ts);
        assert_int_equal(gr_plog_append(pl, b.data, b.len, 0, NULL, NULL), 0);
        gr_buf_free(&b);
    }
    gr_plog_set_hw(pl, gr_plog_leo(pl));
}

static size_t count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    size_t n = 0, sl = strlen(suffix);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l > sl && strcmp(e->d_name + l - sl, suffix) == 0)
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

typedef struct {
    char   *paths[64];
    int64_t delays[64];
    int     n;
} removed_t;

static void on_removed(void *arg, char *path, int64_t delay_ms)
{
    removed_t *r = arg;
    assert_true(r->n < 64);
    r->delays[r->n] = delay_ms;
    r->paths[r->n++] = path;
}

static void removed_free(removed_t *r)
{
    for (int i = 0; i < r->n; i++)
        free(r->paths[i]);
    r->n = 0;
}

static void test_plog_retain_by_time(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    gr_plog_config_t c = cfg_small();
    c.retention_ms = 7 * DAY;
    c.file_delete_delay_ms = 1234;
    gr_plog_t *pl;
    assert_int_equal(gr_plog_open(dir, &c, -1, &pl), 0);
    removed_t rm = {0};
    gr_plog_set_remover(pl, on_removed, &rm);
    /* Old data (20 days), then recent data (1 day): several segments each. */
    append_at(pl, 12, NOW - 20 * DAY);
    int64_t old_end = gr_plog_leo(pl);
    append_at(pl, 12, NOW - DAY);
    size_t nseg = gr_plog_segment_count(pl);
    assert_true(nseg >= 4);
    /* Segments wholly of old data go; the one holding the boundary (if any
     * recent batch shares it) stays. */
    size_t removed;
    unsigned why;
    assert_int_equal(gr_plog_retain(pl, NOW, &removed, &why), 0);
    assert_true(removed >= 1);
    assert_int_equal(why, GR_RETAIN_TIME);
    assert_int_equal(gr_plog_segment_count(pl), nseg - removed);
    int64_t start = gr_plog_start_offset(pl);
    assert_int_equal(start, gr_plog_segment_base(pl, 0));
    assert_true(start > 0 && start <= old_end);
    /* Files were renamed, handed to the remover with the delay, not unlinked. */
    assert_int_equal((size_t)rm.n, 3 * removed);
    for (int i = 0; i < rm.n; i++) {
        assert_int_equal(rm.delays[i], 1234);
        assert_non_null(strstr(rm.paths[i], ".deleted"));
        assert_true(tu_exists(rm.paths[i]));
    }
    assert_int_equal(count_files(dir, ".log.deleted"), removed);
    /* Reads below the start are out of range; at the start they work. */
    gr_buf_t out;
    gr_buf_init(&out);
    assert_int_equal(gr_plog_read_copy(pl, start - 1, 1 << 20, INT64_MAX, &out), GR_ERANGE);
    assert_int_equal(gr_plog_read_copy(pl, start, 1 << 20, INT64_MAX, &out), 0);
    assert_true(out.len > 0);
    assert_int_equal((int64_t)gr_be64(out.data), start);
    gr_buf_free(&out);
    /* Running again changes nothing. */
    assert_int_equal(gr_plog_retain(pl, NOW, &removed, &why), 0);
    assert_int_equal(removed, 0);
    /* A lowered retention takes the rest, the active segment included: it
     * is rolled first, so the log keeps an empty active segment at the LEO. */
    int64_t leo = gr_plog_leo(pl);
    gr_plog_config_t c2 = c;
    c2.retention_ms = DAY / 2;
    assert_int_equal(gr_plog_set_config(pl, &c2), 0);
    assert_int_equal(gr_plog_retain(pl, NOW, &removed, &why), 0);
    assert_true(removed >= 1);
    assert_int_equal(gr_plog_segment_count(pl), 1);
    assert_int_equal(gr_plog_segment_base(pl, 0), leo);
    assert_int_equal(gr_plog_start_offset(pl), leo);
    assert_int_equal(gr_plog_leo(pl), leo);
    assert_int_equal(gr_plog_hw(pl), leo);
    /* Appends continue at the same offsets. */
    append_at(pl, 1, NOW);
    assert_int_equal(gr_plog_leo(pl), leo + 5);
    gr_plog_close(pl);

    /* Reopen: the *.deleted files left behind are removed, and the log
     * starts at its first segment. */
    removed_free(&rm);
    assert_true(count_files(dir, ".deleted") > 0);
    assert_int_equal(gr_plog_open(dir, &c, -1, &pl), 0);
    assert_int_equal(count_files(dir, ".deleted"), 0);
    assert_int_equal(gr_plog_start_offset(pl), leo);
    assert_int_equal(gr_plog_leo(pl), leo + 5);
    gr_plog_close(pl);
    tu_rmdir(dir);
}

static void test_plog_retain_by_size_and_policy(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    gr_plog_config_t c = cfg_small();
    c.retention_ms = -1;
    c.retention_bytes = 2048;
    gr_plog_t *pl;
    assert_int_equal(gr_plog_open(dir, &c, -1, &pl), 0);
    append_at(pl, 40, NOW);
    assert_true(gr_plog_size(pl) > 4096);
    /* compact only: retention leaves the log alone. */
    gr_plog_config_t cc = c;
    cc.cleanup_delete = false;
    assert_int_equal(gr_plog_set_config(pl, &cc), 0);
    size_t removed;
    assert_int_equal(gr_plog_retain(pl, NOW, &removed, NULL), 0);
    assert_int_equal(removed, 0);
    /* delete: down to at least 2048 bytes, and no segment more. */
    assert_int_equal(gr_plog_set_config(pl, &c), 0);
    unsigned why;
    assert_int_equal(gr_plog_retain(pl, NOW, &removed, &why), 0);
    assert_true(removed > 0);
    assert_int_equal(why, GR_RETAIN_SIZE);
    int64_t size = gr_plog_size(pl);
    assert_true(size >= 2048);
    /* The oldest remaining segment could not have gone. */
    assert_true(gr_plog_segment_count(pl) >= 2);
    assert_int_equal(gr_plog_start_offset(pl), gr_plog_segment_base(pl, 0));
    /* Without a remover the files are unlinked at once. */
    assert_int_equal(count_files(dir, ".deleted"), 0);
    assert_int_equal(count_files(dir, ".log"), gr_plog_segment_count(pl));
    gr_plog_close(pl);
    tu_rmdir(dir);
}

static void test_plog_start_inside_segment(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    gr_plog_config_t c = cfg_small();
    c.retention_ms = -1;
    gr_plog_t *pl;
    assert_int_equal(gr_plog_open(dir, &c, -1, &pl), 0);
    append_at(pl, 20, NOW - 40 * DAY);
    size_t nseg = gr_plog_segment_count(pl);
    int64_t b1 = gr_plog_segment_base(pl, 1);
    /* Inside the second segment and inside a batch (batches hold 5). */
    int64_t start = b1 + 7;
    assert_int_equal(gr_plog_advance_start_offset(pl, start), 0);
    assert_int_equal(gr_plog_start_offset(pl), start);
    assert_int_equal(gr_plog_segment_count(pl), nseg - 1);
    assert_int_equal(gr_plog_segment_base(pl, 0), b1);
    /* Below the start: out of range. At it: the whole batch holding it
     * (a client skips the records below what it asked for). */
    gr_buf_t out;
    gr_buf_init(&out);
    assert_int_equal(gr_plog_read_copy(pl, start - 1, 1 << 20, INT64_MAX, &out), GR_ERANGE);
    assert_int_equal(gr_plog_read_copy(pl, start, 1 << 20, INT64_MAX, &out), 0);
    assert_true(out.len > 0);
    assert_int_equal((int64_t)gr_be64(out.data), b1 + 5);
    gr_buf_free(&out);
    /* Timestamp lookups never answer below the start. */
    int64_t off, ts;
    assert_int_equal(gr_plog_offset_for_timestamp(pl, 0, &off, &ts), 0);
    assert_int_equal(off, start);
    /* Lower or equal: no change. Above the LEO: refused. */
    assert_int_equal(gr_plog_advance_start_offset(pl, start - 3), 0);
    assert_int_equal(gr_plog_start_offset(pl), start);
    assert_int_equal(gr_plog_advance_start_offset(pl, gr_plog_leo(pl) + 1), GR_ERANGE);
    /* Up to the LEO: every closed segment goes, the active one stays. */
    int64_t leo = gr_plog_leo(pl);
    assert_int_equal(gr_plog_advance_start_offset(pl, leo), 0);
    assert_int_equal(gr_plog_segment_count(pl), 1);
    assert_int_equal(gr_plog_start_offset(pl), leo);
    gr_buf_init(&out);
    assert_int_equal(gr_plog_read_copy(pl, leo, 1 << 20, INT64_MAX, &out), 0);
    assert_int_equal(out.len, 0);
    gr_buf_free(&out);
    gr_plog_close(pl);

    /* Reopened with a checkpointed start inside a later segment while the
     * earlier segments still exist (a crash before they were removed): the
     * start holds, and retention's log-start rule removes them. */
    char *dir2 = tu_tmpdir();
    assert_int_equal(gr_plog_open(dir2, &c, -1, &pl), 0);
    append_at(pl, 20, NOW);
    int64_t b2 = gr_plog_segment_base(pl, 2);
    nseg = gr_plog_segment_count(pl);
    gr_plog_close(pl);
    gr_plog_open_opts_t o = {.recovery_point = -1, .log_start_offset = b2 + 1, .high_watermark = -1};
    assert_int_equal(gr_plog_open_ex(dir2, &c, &o, &pl), 0);
    assert_int_equal(gr_plog_start_offset(pl), b2 + 1);
    assert_int_equal(gr_plog_segment_count(pl), nseg);
    gr_plog_set_hw(pl, gr_plog_leo(pl));
    size_t removed;
    unsigned why;
    assert_int_equal(gr_plog_retain(pl, NOW, &removed, &why), 0);
    assert_int_equal(removed, 2);
    assert_int_equal(why, GR_RETAIN_LOG_START);
    assert_int_equal(gr_plog_start_offset(pl), b2 + 1);
    assert_int_equal(gr_plog_segment_base(pl, 0), b2);
    gr_plog_close(pl);
    tu_rmdir(dir2);
    tu_rmdir(dir);
}

static void test_plog_slice_survives_retention(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    gr_plog_config_t c = cfg_small();
    c.retention_ms = DAY;
    gr_plog_t *pl;
    assert_int_equal(gr_plog_open(dir, &c, -1, &pl), 0);
    removed_t rm = {0};
    gr_plog_set_remover(pl, on_removed, &rm);
    append_at(pl, 12, NOW - 3 * DAY);
    append_at(pl, 1, NOW);
    /* A fetch holds a slice of the first segment while retention removes
     * it and its files are unlinked: the bytes stay readable. */
    gr_plog_slice_t sl;
    assert_int_equal(gr_plog_read(pl, 0, 1 << 20, INT64_MAX, &sl), 0);
    assert_true(sl.len > 0);
    size_t removed;
    assert_int_equal(gr_plog_retain(pl, NOW, &removed, NULL), 0);
    assert_true(removed >= 1);
    for (int i = 0; i < rm.n; i++)
        assert_int_equal(unlink(rm.paths[i]), 0);
    uint8_t hdr[12];
    assert_int_equal(pread(sl.fd, hdr, sizeof hdr, sl.pos), (ssize_t)sizeof hdr);
    assert_int_equal((int64_t)gr_be64(hdr), 0);
    gr_plog_slice_release(&sl);
    removed_free(&rm);
    gr_plog_close(pl);
    tu_rmdir(dir);
}

/* ---- the log manager ---- */

typedef struct {
    uv_loop_t *loop;
    int        calls, status;
} ckpt_res_t;

static void on_ckpt(void *arg, int status)
{
    ckpt_res_t *r = arg;
    r->calls++;
    r->status = status;
}

typedef struct {
    gr_logmgr_t *mgr;
    int64_t      deadline;
    int          done;
    gr_plog_t   *pl;        /* and, when set, until its start is ... */
    int64_t      want_start;
} poll_t;

/* Waits (keeping the loop alive: the manager's timers do not) until no
 * removal is pending, or the deadline. */
static void poll_removals(uv_timer_t *t)
{
    poll_t *p = t->data;
    bool ok = gr_logmgr_pending_removals(p->mgr) == 0 &&
              (!p->pl || gr_plog_start_offset(p->pl) == p->want_start);
    if (ok || gr_clock_mono_ms() > p->deadline) {
        p->done = ok;
        uv_timer_stop(t);
    }
}

static int64_t ckpt_start(const char *dir, const char *topic)
{
    char *p = tu_path(dir, "log-start-offset-checkpoint");
    gr_log_ckpt_entry_t *e;
    size_t n;
    int64_t v = -1;
    if (gr_log_ckpt_read_offsets(p, &e, &n) == 0) {
        for (size_t i = 0; i < n; i++)
            if (strcmp(e[i].topic, topic) == 0)
                v = e[i].offset;
        gr_log_ckpt_free_offsets(e, n);
    }
    free(p);
    return v;
}

static void test_logmgr_retention(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    uv_loop_t loop;
    uv_loop_init(&loop);
    gr_logmgr_config_t c;
    gr_logmgr_config_default(&c);
    c.dir = dir;
    c.flush_check_ms = 5;
    c.plog = cfg_small();
    c.plog.retention_ms = 7 * DAY;
    c.plog.file_delete_delay_ms = 20;
    gr_logmgr_t *mgr;
    assert_int_equal(gr_logmgr_open(&c, &loop, &mgr), 0);
    gr_plog_t *pl, *meta;
    assert_int_equal(gr_logmgr_create(mgr, "r", 0, TOPIC_ID, NULL, &pl), 0);
    assert_int_equal(gr_logmgr_create(mgr, "__cluster_metadata", 0, TOPIC_ID, NULL, &meta), 0);
    append_at(pl, 12, NOW - 20 * DAY);
    append_at(pl, 2, NOW);
    append_at(meta, 12, NOW - 20 * DAY);
    append_at(meta, 2, NOW);
    size_t meta_segs = gr_plog_segment_count(meta);

    size_t removed = gr_logmgr_retain(mgr);
    assert_true(removed >= 1);
    int64_t start = gr_plog_start_offset(pl);
    assert_true(start > 0);
    /* The metadata log is never touched by retention. */
    assert_int_equal(gr_plog_segment_count(meta), meta_segs);
    assert_int_equal(gr_plog_start_offset(meta), 0);
    char *pdir = tu_path(dir, "r-0");
    assert_int_equal(count_files(pdir, ".log.deleted"), removed);
    assert_int_equal(gr_logmgr_pending_removals(mgr), 3 * removed);

    /* A checkpoint waiter is called once the new start is on disk. */
    ckpt_res_t r = {&loop, 0, 99};
    assert_int_equal(gr_logmgr_checkpoint_async(mgr, on_ckpt, &r), 0);
    assert_int_equal(r.calls, 0);
    /* The delayed unlinks run on the flush timer; wait for them. */
    poll_t p = {mgr, gr_clock_mono_ms() + 10000, 0, NULL, 0};
    uv_timer_t t;
    uv_timer_init(&loop, &t);
    t.data = &p;
    uv_timer_start(&t, poll_removals, 2, 2);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(p.done);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.status, 0);
    assert_int_equal(ckpt_start(dir, "r"), start);
    assert_int_equal(count_files(pdir, ".deleted"), 0);
    assert_int_equal(count_files(pdir, ".log"), gr_plog_segment_count(pl));

    /* Removals still delayed at close are done by close. */
    gr_plog_config_t pc;
    gr_plog_get_config(pl, &pc);
    pc.retention_ms = 0;
    pc.file_delete_delay_ms = 3600 * 1000;
    assert_int_equal(gr_plog_set_config(pl, &pc), 0);
    int64_t leo = gr_plog_leo(pl);
    fake_now = NOW + DAY;
    assert_true(gr_logmgr_retain(mgr) >= 1);
    fake_now = NOW;
    assert_true(gr_logmgr_pending_removals(mgr) > 0);
    assert_true(count_files(pdir, ".deleted") > 0);
    uv_close((uv_handle_t *)&t, NULL);
    gr_logmgr_close(mgr);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(count_files(pdir, ".deleted"), 0);
    assert_int_equal(ckpt_start(dir, "r"), leo);

    /* And the start offset survives a reopen. */
    assert_int_equal(gr_logmgr_open(&c, &loop, &mgr), 0);
    pl = gr_logmgr_get(mgr, "r", 0);
    assert_non_null(pl);
    assert_int_equal(gr_plog_start_offset(pl), leo);
    assert_int_equal(gr_plog_leo(pl), leo);
    gr_logmgr_close(mgr);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    free(pdir);
    tu_rmdir(dir);
}

static void test_logmgr_retention_timer(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    uv_loop_t loop;
    uv_loop_init(&loop);
    gr_logmgr_config_t c;
    gr_logmgr_config_default(&c);
    c.dir = dir;
    c.flush_check_ms = 5;
    c.retention_check_ms = 5;
    c.plog = cfg_small();
    c.plog.retention_bytes = 0;
    c.plog.file_delete_delay_ms = 0;
    gr_logmgr_t *mgr;
    assert_int_equal(gr_logmgr_open(&c, &loop, &mgr), 0);
    gr_plog_t *pl;
    assert_int_equal(gr_logmgr_create(mgr, "q", 0, TOPIC_ID, NULL, &pl), 0);
    append_at(pl, 12, NOW);
    int64_t leo = gr_plog_leo(pl);
    /* The timer applies retention.bytes=0: everything goes. */
    poll_t p = {mgr, gr_clock_mono_ms() + 10000, 0, pl, leo};
    uv_timer_t t;
    uv_timer_init(&loop, &t);
    t.data = &p;
    uv_timer_start(&t, poll_removals, 2, 2);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(gr_plog_start_offset(pl), leo);
    assert_true(p.done);
    char *pdir = tu_path(dir, "q-0");
    assert_int_equal(count_files(pdir, ".deleted"), 0);
    assert_int_equal(count_files(pdir, ".log"), 1);
    uv_close((uv_handle_t *)&t, NULL);
    gr_logmgr_close(mgr);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    free(pdir);
    tu_rmdir(dir);
}

int main(void)
{
    gr_log_level = GR_LOG_ERROR + 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_select_time),
        cmocka_unit_test(test_select_active_segment),
        cmocka_unit_test(test_select_size),
        cmocka_unit_test(test_select_log_start),
        cmocka_unit_test(test_plog_retain_by_time),
        cmocka_unit_test(test_plog_retain_by_size_and_policy),
        cmocka_unit_test(test_plog_start_inside_segment),
        cmocka_unit_test(test_plog_slice_survives_retention),
        cmocka_unit_test(test_logmgr_retention),
        cmocka_unit_test(test_logmgr_retention_timer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
