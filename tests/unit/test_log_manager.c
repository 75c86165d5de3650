/* Unit tests for the log manager: directory, lock, meta.properties,
 * checkpoints, partition discovery, deletion and asynchronous flushes. */
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
#include "test_log_util.h"

#include <errno.h>

static const uint8_t TOPIC_ID[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static gr_logmgr_config_t cfg_for(const char *dir)
{
    gr_logmgr_config_t c;
    gr_logmgr_config_default(&c);
    c.dir = dir;
    c.node_id = 3;
    c.plog.segment_bytes = 4096;
    return c;
}

static void append_some(gr_plog_t *pl, int n)
{
    for (int i = 0; i < n; i++) {
        gr_buf_t b;
        gr_buf_init(&b);
        bb_simple(&b, 3, 20, 1000 + i);
        assert_int_equal(gr_plog_append(pl, b.data, b.len, 0, NULL, NULL), 0);
        gr_buf_free(&b);
    }
    gr_plog_set_hw(pl, gr_plog_leo(pl));
}

/* Closes the manager and lets the loop release its handles. */
static void close_mgr(gr_logmgr_t *mgr, uv_loop_t *loop)
{
    gr_logmgr_close(mgr);
    assert_int_equal(uv_run(loop, UV_RUN_DEFAULT), 0);
}

static char *slurp(const char *path)
{
    char *buf;
    size_t len;
    if (gr_log_io_read_file(path, 1 << 20, &buf, &len))
        return NULL;
    return buf;
}

static void test_dir_meta_lock(void **state)
{
    (void)state;
    char *root = tu_tmpdir();
    char *dir = tu_path(root, "data");
    uv_loop_t loop;
    uv_loop_init(&loop);
    gr_logmgr_config_t c = cfg_for(dir);
    gr_logmgr_t *mgr, *mgr2;
    assert_int_equal(gr_logmgr_open(&c, &loop, &mgr), 0);
    assert_int_equal(strlen(gr_logmgr_cluster_id(mgr)), 22);

    char *mp = tu_path(dir, "meta.properties");
    char *meta = slurp(mp);
    assert_non_null(meta);
    assert_non_null(strstr(meta, "version=1\n"));
    assert_non_null(strstr(meta, "node.id=3\n"));
    char want[64];
    snprintf(want, sizeof want, "cluster.id=%s\n", gr_logmgr_cluster_id(mgr));
    assert_non_null(strstr(meta, want));
    snprintf(want, sizeof want, "directory.id=%s\n", gr_logmgr_directory_id(mgr));
    assert_non_null(strstr(meta, want));
    char cluster[23];
    strcpy(cluster, gr_logmgr_cluster_id(mgr));

    /* A second manager on the same directory is refused. */
    assert_int_equal(gr_logmgr_open(&c, &loop, &mgr2), -EBUSY);
    close_mgr(mgr, &loop);

    /* Reopen keeps the ids; a different node.id or cluster.id is refused. */
    assert_int_equal(gr_logmgr_open(&c, &loop, &mgr), 0);
    assert_string_equal(gr_logmgr_cluster_id(mgr), cluster);
    close_mgr(mgr, &loop);
    c.node_id = 4;
    assert_int_equal(gr_logmgr_open(&c, &loop, &mgr), GR_EINVAL);
    c.node_id = 3;
    c.cluster_id = "AAAAAAAAAAAAAAAAAAAAAA";
    assert_int_equal(gr_logmgr_open(&c, &loop, &mgr), GR_EINVAL);
    c.cluster_id = cluster;
    assert_int_equal(gr_logmgr_open(&c, &loop, &mgr), 0);
    close_mgr(mgr, &loop);
    /* A Kafka-written file with comments and no directory.id is accepted. */
    char kafka[200];
    snprintf(kafka, sizeof kafka, "#\n#Thu Jan 01 00:00:00 UTC 2025\nnode.id=3\nversion=1\ncluster.id=%s\n",
             cluster);
    tu_write(mp, kafka, strlen(kafka));
    assert_int_equal(gr_logmgr_open(&c, &loop, &mgr), 0);
    close_mgr(mgr, &loop);
    free(meta);
    meta = slurp(mp);
    assert_non_null(strstr(meta, "directory.id="));

    assert_int_equal(uv_loop_close(&loop), 0);
    free(meta);
    free(mp);
    free(dir);
    tu_rmdir(root);
}

static void test_partitions_and_checkpoints(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    uv_loop_t loop;
    uv_loop_init(&loop);
    gr_logmgr_config_t c = cfg_for(dir);
    gr_logmgr_t *mgr;
    assert_int_equal(gr_logmgr_open(&c, &loop, &mgr), 0);
    gr_plog_t *a, *b, *x;
    assert_int_equal(gr_logmgr_create(mgr, "my-topic.v2", 3, TOPIC_ID, NULL, &a), 0);
    assert_int_equal(gr_logmgr_create(mgr, "other", 0, TOPIC_ID, NULL, &b), 0);
    assert_int_equal(gr_logmgr_create(mgr, "other", 0, TOPIC_ID, NULL, &x), GR_EEXIST);
    assert_ptr_equal(x, b);
    assert_int_equal(gr_logmgr_create(mgr, "bad/name", 0, TOPIC_ID, NULL, &x), GR_EINVAL);
    assert_int_equal(gr_logmgr_create(mgr, "..", 0, TOPIC_ID, NULL, &x), GR_EINVAL);
    assert_ptr_equal(gr_logmgr_get(mgr, "my-topic.v2", 3), a);
    assert_null(gr_logmgr_get(mgr, "my-topic.v2", 4));
    append_some(a, 100);
    append_some(b, 7);
    assert_true(gr_plog_segment_count(a) > 1);
    assert_int_equal(gr_plog_flush(a, 150), 0);
    assert_int_equal(gr_plog_advance_start_offset(b, 3), 0);
    assert_int_equal(gr_logmgr_checkpoint(mgr), 0);

    char *pm = tu_path(dir, "my-topic.v2-3/partition.metadata");
    char *text = slurp(pm);
    char b64[23];
    gr_log_uuid_to_base64(TOPIC_ID, b64);
    char want[64];
    snprintf(want, sizeof want, "version: 0\ntopic_id: %s\n", b64);
    assert_string_equal(text, want);
    free(text);

    char *rp = tu_path(dir, "recovery-point-offset-checkpoint");
    gr_log_ckpt_entry_t *e;
    size_t n;
    assert_int_equal(gr_log_ckpt_read_offsets(rp, &e, &n), 0);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(e[i].topic, "my-topic.v2")) {
            assert_int_equal(e[i].partition, 3);
            assert_int_equal(e[i].offset, 150);
        } else {
            assert_string_equal(e[i].topic, "other");
            assert_int_equal(e[i].offset, 0);
        }
    }
    gr_log_ckpt_free_offsets(e, n);
    close_mgr(mgr, &loop);

    /* Close flushed everything and wrote the checkpoints. */
    assert_int_equal(gr_log_ckpt_read_offsets(rp, &e, &n), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(e[i].offset, !strcmp(e[i].topic, "other") ? 21 : 300);
    gr_log_ckpt_free_offsets(e, n);

    /* A leftover deletion is cleaned up; the partitions come back. */
    char *gone = tu_path(dir, "old-0.0123456789abcdef0123456789abcdef-delete");
    assert_int_equal(mkdir(gone, 0755), 0);
    assert_int_equal(gr_logmgr_open(&c, &loop, &mgr), 0);
    assert_false(tu_exists(gone));
    assert_int_equal(gr_logmgr_count(mgr), 2);
    a = gr_logmgr_get(mgr, "my-topic.v2", 3);
    b = gr_logmgr_get(mgr, "other", 0);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(gr_plog_leo(a), 300);
    assert_int_equal(gr_plog_flushed_offset(a), 300);
    assert_int_equal(gr_plog_hw(a), 300);
    assert_int_equal(gr_plog_start_offset(b), 3);
    uint8_t id[16];
    assert_int_equal(gr_logmgr_topic_id(mgr, "my-topic.v2", 3, id), 0);
    assert_memory_equal(id, TOPIC_ID, 16);

    /* Delete: the directory goes away. */
    char *pd = tu_path(dir, "other-0");
    assert_true(tu_exists(pd));
    assert_int_equal(gr_logmgr_delete(mgr, "other", 0), 0);
    assert_false(tu_exists(pd));
    assert_null(gr_logmgr_get(mgr, "other", 0));
    assert_int_equal(gr_logmgr_delete(mgr, "other", 0), GR_ENOTFOUND);
    close_mgr(mgr, &loop);

    /* A corrupt checkpoint is ignored (full recovery), not fatal. */
    tu_write(rp, "0\n5\nfoo 1\n", 10);
    assert_int_equal(gr_logmgr_open(&c, &loop, &mgr), 0);
    a = gr_logmgr_get(mgr, "my-topic.v2", 3);
    assert_int_equal(gr_plog_leo(a), 300);
    close_mgr(mgr, &loop);

    assert_int_equal(uv_loop_close(&loop), 0);
    free(pd);
    free(gone);
    free(rp);
    free(pm);
    tu_rmdir(dir);
}

static void test_checkpoint_files(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *p = tu_path(dir, "ck");
    gr_log_ckpt_entry_t in[2] = {{"a.b-c", 0, 5}, {"x", 2147483647, INT64_MAX}};
    assert_int_equal(gr_log_ckpt_write_offsets(p, in, 2), 0);
    char *t = slurp(p);
    assert_string_equal(t, "0\n2\na.b-c 0 5\nx 2147483647 9223372036854775807\n");
    free(t);
    gr_log_ckpt_entry_t *e;
    size_t n;
    assert_int_equal(gr_log_ckpt_read_offsets(p, &e, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(e[1].topic, "x");
    assert_int_equal(e[1].offset, INT64_MAX);
    gr_log_ckpt_free_offsets(e, n);

    const char *bad[] = {
        "",          "1\n0\n",           "0\n1\n",          "0\n1\na 0\n",   "0\n1\na 0 1 2\n",
        "0\n1\na -1 5\n", "0\n1\na 0 99999999999999999999\n", "0\n0\nextra\n",
        "0\n1\na 0 5",    "0\n1\na b/c 0\n", "0\n2\na 0 5\n",  "0\n1\n.. 0 5\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        tu_write(p, bad[i], strlen(bad[i]));
        assert_int_equal(gr_log_ckpt_read_offsets(p, &e, &n), GR_ECORRUPT);
    }
    unlink(p);
    assert_int_equal(gr_log_ckpt_read_offsets(p, &e, &n), -ENOENT);

    gr_log_epoch_entry_t ep[2] = {{0, 0}, {4, 100}};
    assert_int_equal(gr_log_ckpt_write_epochs(p, ep, 2), 0);
    t = slurp(p);
    assert_string_equal(t, "0\n2\n0 0\n4 100\n");
    free(t);
    gr_log_epoch_entry_t *ee;
    assert_int_equal(gr_log_ckpt_read_epochs(p, &ee, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ee[1].epoch, 4);
    assert_int_equal(ee[1].start_offset, 100);
    free(ee);

    uint8_t u[16], v[16];
    char s[23];
    for (int i = 0; i < 50; i++) {
        assert_int_equal(gr_log_uuid_random(u), 0);
        gr_log_uuid_to_base64(u, s);
        assert_int_equal(strlen(s), 22);
        assert_true(s[0] != '-');
        assert_int_equal(gr_log_uuid_from_base64(s, 22, v), 0);
        assert_memory_equal(u, v, 16);
    }
    /* Kafka's example: Uuid.fromString("AAAAAAAAAAAAAAAAAAAAAQ") is ONE. */
    assert_int_equal(gr_log_uuid_from_base64("AAAAAAAAAAAAAAAAAAAAAQ", 22, v), 0);
    assert_int_equal(v[15], 1);
    assert_int_equal(gr_log_uuid_from_base64("AAAAAAAAAAAAAAAAAAAAAR", 22, v), GR_EMALFORMED);
    assert_int_equal(gr_log_uuid_from_base64("AAAAAAAAAAAAAAAAAAAA*Q", 22, v), GR_EMALFORMED);
    free(p);
    tu_rmdir(dir);
}

typedef struct {
    int calls;
    int status;
    int64_t durable_at_cb;
    gr_plog_t *pl;
} flush_res_t;

static void on_flushed(void *arg, int status)
{
    flush_res_t *r = arg;
    r->calls++;
    r->status = status;
    if (r->pl)
        r->durable_at_cb = gr_plog_flushed_offset(r->pl);
}

static void test_flush_async(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    uv_loop_t loop;
    uv_loop_init(&loop);
    gr_logmgr_config_t c = cfg_for(dir);
    gr_logmgr_t *mgr;
    assert_int_equal(gr_logmgr_open(&c, &loop, &mgr), 0);
    gr_plog_t *pl;
    assert_int_equal(gr_logmgr_create(mgr, "t", 0, TOPIC_ID, NULL, &pl), 0);

    flush_res_t r[6];
    memset(r, 0, sizeof r);
    for (int i = 0; i < 5; i++) {
        append_some(pl, 4);
        r[i].pl = pl;
        r[i].status = 99;
        assert_int_equal(gr_logmgr_flush_async(mgr, pl, gr_plog_leo(pl), on_flushed, &r[i]), 0);
        assert_int_equal(r[i].calls, 0); /* never inside the call */
    }
    assert_int_equal(gr_logmgr_flush_async(mgr, pl, gr_plog_leo(pl) + 1, on_flushed, &r[5]),
                     GR_ERANGE);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(r[i].calls, 1);
        assert_int_equal(r[i].status, 0);
        assert_true(r[i].durable_at_cb >= 12 * (i + 1));
    }
    assert_int_equal(gr_plog_flushed_offset(pl), 60);
    /* Five requests in one loop turn: at most two fsync rounds. */
    assert_true(gr_logmgr_flush_jobs(mgr) <= 2);

    /* Already durable: still called back later, with 0. */
    memset(r, 0, sizeof r);
    assert_int_equal(gr_logmgr_flush_async(mgr, pl, 10, on_flushed, &r[0]), 0);
    assert_int_equal(r[0].calls, 0);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(r[0].calls, 1);
    assert_int_equal(r[0].status, 0);

    /* Deleting the partition fails pending waiters. */
    append_some(pl, 1);
    assert_int_equal(gr_logmgr_flush_async(mgr, pl, gr_plog_leo(pl), on_flushed, &r[1]), 0);
    assert_int_equal(gr_logmgr_delete(mgr, "t", 0), 0);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(r[1].calls, 1);
    assert_true(r[1].status == GR_ENOTFOUND || r[1].status == 0);
    char *pd = tu_path(dir, "t-0");
    assert_false(tu_exists(pd));
    free(pd);

    /* Waiters pending at close are answered by the final flush. */
    assert_int_equal(gr_logmgr_create(mgr, "u", 1, TOPIC_ID, NULL, &pl), 0);
    append_some(pl, 3);
    assert_int_equal(gr_logmgr_flush_async(mgr, pl, gr_plog_leo(pl), on_flushed, &r[2]), 0);
    gr_logmgr_close(mgr);
    assert_int_equal(r[2].calls, 1);
    assert_int_equal(r[2].status, 0);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    tu_rmdir(dir);
}

typedef struct {
    gr_plog_t *pl;
    char      *ckpt_path;
    int64_t    deadline;
    int        flushed, checkpointed;
} wait_t;

/* Polls (the manager's own timers do not keep the loop alive; this one
 * does) until the flush policy and the checkpoint timer have acted, or
 * until the deadline. */
static void poll_cond(uv_timer_t *t)
{
    wait_t *w = t->data;
    if (gr_plog_flushed_offset(w->pl) == gr_plog_leo(w->pl))
        w->flushed = 1;
    gr_log_ckpt_entry_t *e;
    size_t n;
    if (w->flushed && gr_log_ckpt_read_offsets(w->ckpt_path, &e, &n) == 0) {
        w->checkpointed = n == 1 && e[0].offset == gr_plog_leo(w->pl);
        gr_log_ckpt_free_offsets(e, n);
    }
    if ((w->flushed && w->checkpointed) || gr_clock_mono_ms() > w->deadline)
        uv_timer_stop(t);
}

static void test_flush_policy_timer(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    uv_loop_t loop;
    uv_loop_init(&loop);
    gr_logmgr_config_t c = cfg_for(dir);
    c.flush_check_ms = 2;
    c.checkpoint_ms = 3;
    c.plog.flush_interval_messages = 5;
    gr_logmgr_t *mgr;
    assert_int_equal(gr_logmgr_open(&c, &loop, &mgr), 0);
    gr_plog_t *pl;
    assert_int_equal(gr_logmgr_create(mgr, "p", 0, TOPIC_ID, NULL, &pl), 0);
    append_some(pl, 2); /* 6 messages: over the policy */
    assert_true(gr_plog_flushed_offset(pl) < 6);
    wait_t w = {pl, tu_path(dir, "recovery-point-offset-checkpoint"),
                gr_clock_mono_ms() + 10000, 0, 0};
    uv_timer_t t;
    uv_timer_init(&loop, &t);
    t.data = &w;
    uv_timer_start(&t, poll_cond, 1, 1);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(w.flushed);
    assert_true(w.checkpointed);
    uv_close((uv_handle_t *)&t, NULL);
    close_mgr(mgr, &loop);
    assert_int_equal(uv_loop_close(&loop), 0);
    free(w.ckpt_path);
    tu_rmdir(dir);
}

int main(void)
{
    gr_log_level = GR_LOG_ERROR + 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dir_meta_lock),
        cmocka_unit_test(test_partitions_and_checkpoints),
        cmocka_unit_test(test_checkpoint_files),
        cmocka_unit_test(test_flush_async),
        cmocka_unit_test(test_flush_policy_timer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
