/* Tests of src/txn/producer_state.c: Kafka's idempotent-producer checks
 * (ProducerAppendInfo.checkSequence / checkProducerEpoch, findDuplicateBatch)
 * and its ProducerStateManager snapshot files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/crc32c.h"
#include "base/err.h"
#include "txn/producer_state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ---- */

typedef struct {
    gr_pstate_t *ps;
    char         dir[64];
} fix_t;

static int setup(void **state)
{
    fix_t *f = calloc(1, sizeof *f);
    f->ps = gr_pstate_new();
    strcpy(f->dir, "/tmp/gr-pstate-XXXXXX");
    if (!f->ps || !mkdtemp(f->dir))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fix_t *f = *state;
    DIR *d = opendir(f->dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            unlinkat(dirfd(d), de->d_name, 0);
    if (d)
        closedir(d);
    rmdir(f->dir);
    gr_pstate_free(f->ps);
    free(f);
    return 0;
}

static int file_exists(const char *dir, const char *name)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

static int count_files(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static size_t read_all(const char *dir, const char *name, uint8_t *buf, size_t cap)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *fp = fopen(p, "rb");
    assert_non_null(fp);
    size_t n = fread(buf, 1, cap, fp);
    fclose(fp);
    return n;
}

static void write_all(const char *dir, const char *name, const uint8_t *buf, size_t len)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *fp = fopen(p, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, len, fp), len);
    fclose(fp);
}

/* Appends a batch of n records the way the produce path does: check, then
 * update at the next offset. Returns the check's answer. */
static int16_t produce(gr_pstate_t *ps, int64_t *leo, int64_t pid, int16_t epoch,
                       int32_t first_seq, int32_t n, int64_t ts)
{
    int32_t last_seq = (int32_t)(((int64_t)first_seq + n - 1) % ((int64_t)INT32_MAX + 1));
    int64_t dup = -42;
    int16_t err = gr_pstate_check(ps, pid, epoch, first_seq, last_seq, &dup);
    if (err == GR_PSTATE_OK && pid >= 0) {
        assert_int_equal(gr_pstate_update(ps, pid, epoch, first_seq, last_seq, *leo,
                                          *leo + n - 1, ts), 0);
        *leo += n;
    }
    return err;
}

/* ---- sequence and epoch checks ---- */

static void test_in_order_accepted(void **state)
{
    fix_t *f = *state;
    int64_t leo = 0;
    assert_int_equal(produce(f->ps, &leo, 7, 0, 0, 5, 100), GR_PSTATE_OK);
    assert_int_equal(produce(f->ps, &leo, 7, 0, 5, 3, 101), GR_PSTATE_OK);
    assert_int_equal(produce(f->ps, &leo, 7, 0, 8, 1, 102), GR_PSTATE_OK);
    /* Another producer interleaves with its own sequence. */
    assert_int_equal(produce(f->ps, &leo, 8, 3, 0, 2, 103), GR_PSTATE_OK);
    assert_int_equal(produce(f->ps, &leo, 7, 0, 9, 1, 104), GR_PSTATE_OK);
    const gr_pstate_entry_t *e = gr_pstate_get(f->ps, 7);
    assert_non_null(e);
    assert_int_equal(e->producer_epoch, 0);
    assert_int_equal(e->nbatches, 4);
    const gr_pstate_batch_t *b = gr_pstate_entry_last_batch(e);
    assert_int_equal(b->first_seq, 9);
    assert_int_equal(b->first_offset, 11);
    assert_int_equal(e->last_timestamp, 104);
    assert_int_equal(gr_pstate_count(f->ps), 2);
}

static void test_duplicates_of_last_five(void **state)
{
    fix_t *f = *state;
    int64_t leo = 1000;
    for (int i = 0; i < 7; i++) /* batches of 2 records: seqs 0-1, 2-3, ..., 12-13 */
        assert_int_equal(produce(f->ps, &leo, 42, 1, 2 * i, 2, 500 + i), GR_PSTATE_OK);
    /* The last 5 (seqs 4..13, offsets 1004..1013) are recognised, each with
     * its original offsets. */
    for (int i = 2; i < 7; i++) {
        int64_t base = -1;
        assert_int_equal(gr_pstate_check(f->ps, 42, 1, 2 * i, 2 * i + 1, &base),
                         GR_PSTATE_DUPLICATE);
        assert_int_equal(base, 1000 + 2 * i);
        const gr_pstate_batch_t *d = gr_pstate_find_duplicate(f->ps, 42, 1, 2 * i, 2 * i + 1);
        assert_non_null(d);
        assert_int_equal(d->last_offset, 1000 + 2 * i + 1);
        assert_int_equal(d->max_timestamp, 500 + i);
    }
    /* The 6th newest has left the window: Kafka then sees a sequence behind
     * the last one, OUT_OF_ORDER_SEQUENCE_NUMBER (it never answers
     * DUPLICATE_SEQUENCE_NUMBER). */
    assert_int_equal(gr_pstate_check(f->ps, 42, 1, 2, 3, NULL),
                     GR_PSTATE_OUT_OF_ORDER_SEQUENCE_NUMBER);
    /* Only the exact range is a duplicate. */
    assert_int_equal(gr_pstate_check(f->ps, 42, 1, 12, 12, NULL),
                     GR_PSTATE_OUT_OF_ORDER_SEQUENCE_NUMBER);
    /* A duplicate changes nothing; the next sequence still goes in. */
    assert_int_equal(produce(f->ps, &leo, 42, 1, 14, 1, 600), GR_PSTATE_OK);
}

static void test_gap_is_out_of_order(void **state)
{
    fix_t *f = *state;
    int64_t leo = 0;
    assert_int_equal(produce(f->ps, &leo, 1, 0, 0, 3, 1), GR_PSTATE_OK);
    assert_int_equal(produce(f->ps, &leo, 1, 0, 4, 1, 1), GR_PSTATE_OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_int_equal(GR_PSTATE_OUT_OF_ORDER_SEQUENCE_NUMBER, 45);
    assert_int_equal(leo, 3); /* nothing appended */
    assert_int_equal(produce(f->ps, &leo, 1, 0, 3, 1, 1), GR_PSTATE_OK);
}

static void test_old_epoch_is_fenced(void **state)
{
    fix_t *f = *state;
    int64_t leo = 0;
    assert_int_equal(produce(f->ps, &leo, 9, 5, 0, 1, 1), GR_PSTATE_OK);
    assert_int_equal(produce(f->ps, &leo, 9, 4, 1, 1, 1), GR_PSTATE_INVALID_PRODUCER_EPOCH);
    assert_int_equal(GR_PSTATE_INVALID_PRODUCER_EPOCH, 47);
    /* Even a batch that matches a remembered range is fenced when its epoch
     * is older: duplicates must match the epoch. */
    assert_int_equal(produce(f->ps, &leo, 9, 4, 0, 1, 1), GR_PSTATE_INVALID_PRODUCER_EPOCH);
}

static void test_new_epoch_starts_at_zero(void **state)
{
    fix_t *f = *state;
    int64_t leo = 0;
    assert_int_equal(produce(f->ps, &leo, 3, 0, 0, 10, 1), GR_PSTATE_OK);
    assert_int_equal(produce(f->ps, &leo, 3, 1, 10, 1, 1), GR_PSTATE_OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_int_equal(produce(f->ps, &leo, 3, 1, 0, 2, 1), GR_PSTATE_OK);
    const gr_pstate_entry_t *e = gr_pstate_get(f->ps, 3);
    assert_int_equal(e->producer_epoch, 1);
    assert_int_equal(e->nbatches, 1); /* the old epoch's batches are gone */
    /* The old epoch is fenced now, retries included. */
    assert_int_equal(produce(f->ps, &leo, 3, 0, 0, 10, 1), GR_PSTATE_INVALID_PRODUCER_EPOCH);
    assert_int_equal(produce(f->ps, &leo, 3, 1, 2, 1, 1), GR_PSTATE_OK);
}

static void test_unknown_producer_any_sequence(void **state)
{
    fix_t *f = *state;
    int64_t leo = 0;
    /* Kafka >= 2.5: an unknown producer id (expired, or its batches deleted
     * by retention) is accepted at any sequence, not UNKNOWN_PRODUCER_ID. */
    assert_int_equal(produce(f->ps, &leo, 77, 2, 1234, 1, 1), GR_PSTATE_OK);
    assert_int_equal(produce(f->ps, &leo, 77, 2, 1235, 1, 1), GR_PSTATE_OK);
    assert_int_equal(produce(f->ps, &leo, 77, 2, 1237, 1, 1), GR_PSTATE_OUT_OF_ORDER_SEQUENCE_NUMBER);
}

static void test_non_idempotent_not_checked(void **state)
{
    fix_t *f = *state;
    int64_t dup = 5;
    assert_int_equal(gr_pstate_check(f->ps, -1, -1, -1, -1, &dup), GR_PSTATE_OK);
    assert_int_equal(dup, 5);
    assert_int_equal(gr_pstate_update(f->ps, -1, -1, -1, -1, 0, 0, 0), GR_EINVAL);
    assert_int_equal(gr_pstate_replay_batch(f->ps, -1, -1, -1, -1, 0, 9, 0), 0);
    assert_int_equal(gr_pstate_count(f->ps), 0);
}

static void test_sequence_wraps(void **state)
{
    fix_t *f = *state;
    int64_t leo = 0;
    assert_int_equal(produce(f->ps, &leo, 5, 0, INT32_MAX - 1, 2, 1), GR_PSTATE_OK);
    assert_int_equal(gr_pstate_entry_last_batch(gr_pstate_get(f->ps, 5))->last_seq, INT32_MAX);
    assert_int_equal(produce(f->ps, &leo, 5, 0, 1, 1, 1), GR_PSTATE_OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_int_equal(produce(f->ps, &leo, 5, 0, 0, 1, 1), GR_PSTATE_OK);
    /* A batch that itself spans the wrap: MAX-1, MAX, 0. */
    assert_int_equal(produce(f->ps, &leo, 6, 0, INT32_MAX - 1, 3, 1), GR_PSTATE_OK);
    int64_t base = -1;
    assert_int_equal(gr_pstate_check(f->ps, 6, 0, INT32_MAX - 1, 0, &base), GR_PSTATE_DUPLICATE);
    assert_int_equal(base, 3);
    assert_int_equal(produce(f->ps, &leo, 6, 0, 1, 1, 1), GR_PSTATE_OK);
}

static void test_replay_trusts_log(void **state)
{
    fix_t *f = *state;
    /* Replay takes what the log says, even a lower epoch or a gap. */
    assert_int_equal(gr_pstate_replay_batch(f->ps, 11, 3, 0, 4, 0, 4, 10), 0);
    assert_int_equal(gr_pstate_replay_batch(f->ps, 11, 3, 9, 9, 5, 5, 11), 0);
    assert_int_equal(gr_pstate_replay_batch(f->ps, 11, 2, 0, 0, 6, 6, 12), 0);
    const gr_pstate_entry_t *e = gr_pstate_get(f->ps, 11);
    assert_int_equal(e->producer_epoch, 2);
    assert_int_equal(e->nbatches, 1);
    assert_int_equal(gr_pstate_check(f->ps, 11, 2, 1, 1, NULL), GR_PSTATE_OK);
}

/* ---- expiry ---- */

static void test_expiry(void **state)
{
    fix_t *f = *state;
    int64_t leo = 0;
    const int64_t exp = GR_PSTATE_EXPIRATION_MS_DEFAULT;
    assert_int_equal(exp, 86400000);
    assert_int_equal(produce(f->ps, &leo, 1, 0, 0, 1, 1000), GR_PSTATE_OK);
    assert_int_equal(produce(f->ps, &leo, 2, 0, 0, 1, 5000), GR_PSTATE_OK);
    assert_int_equal(gr_pstate_expire(f->ps, 1000 + exp - 1, exp), 0);
    /* Kafka: expired when now - lastTimestamp >= expiration. */
    assert_int_equal(gr_pstate_expire(f->ps, 1000 + exp, exp), 1);
    assert_null(gr_pstate_get(f->ps, 1));
    assert_non_null(gr_pstate_get(f->ps, 2));
    /* The expired producer may come back at any sequence. */
    assert_int_equal(produce(f->ps, &leo, 1, 0, 57, 1, 2000), GR_PSTATE_OK);
}

static void test_expiry_many(void **state)
{
    fix_t *f = *state;
    /* Enough producers to grow the table and to exercise removal inside
     * probe runs. */
    for (int64_t pid = 0; pid < 3000; pid++)
        assert_int_equal(gr_pstate_update(f->ps, pid * 7919, 0, 0, 0, pid, pid,
                                          pid % 3 == 0 ? 10 : 1000000), 0);
    assert_int_equal(gr_pstate_count(f->ps), 3000);
    assert_int_equal(gr_pstate_expire(f->ps, 100010, 100000), 1000);
    assert_int_equal(gr_pstate_count(f->ps), 2000);
    for (int64_t pid = 0; pid < 3000; pid++) {
        const gr_pstate_entry_t *e = gr_pstate_get(f->ps, pid * 7919);
        if (pid % 3 == 0)
            assert_null(e);
        else
            assert_true(e && gr_pstate_entry_last_batch(e)->first_offset == pid);
    }
}

/* ---- snapshots ---- */

static void test_snapshot_round_trip(void **state)
{
    fix_t *f = *state;
    int64_t leo = 0;
    for (int i = 0; i < 4; i++)
        assert_int_equal(produce(f->ps, &leo, 100, 2, 3 * i, 3, 7000 + i), GR_PSTATE_OK);
    assert_int_equal(produce(f->ps, &leo, 200, 0, INT32_MAX - 1, 3, 8000), GR_PSTATE_OK);
    assert_int_equal(gr_pstate_update(f->ps, 300, 4, 0, 0, leo, leo, 9000), 0);
    leo++;
    assert_int_equal(gr_pstate_snapshot_write(f->ps, f->dir, leo), 0);
    assert_true(file_exists(f->dir, "00000000000000000016.snapshot"));
    assert_int_equal(count_files(f->dir), 1);

    gr_pstate_t *ps2 = gr_pstate_new();
    int64_t off = 0;
    assert_int_equal(gr_pstate_snapshot_load(ps2, f->dir, INT64_MAX, &off), 0);
    assert_int_equal(off, 16);
    assert_int_equal(gr_pstate_count(ps2), 3);
    const gr_pstate_entry_t *e = gr_pstate_get(ps2, 100);
    assert_int_equal(e->producer_epoch, 2);
    assert_int_equal(e->nbatches, 1); /* Kafka keeps only the newest batch */
    assert_int_equal(e->last_timestamp, 7003);
    assert_int_equal(e->coordinator_epoch, -1);
    assert_int_equal(e->current_txn_first_offset, -1);
    const gr_pstate_batch_t *b = gr_pstate_entry_last_batch(e);
    assert_int_equal(b->first_seq, 9);
    assert_int_equal(b->last_seq, 11);
    assert_int_equal(b->first_offset, 9);
    assert_int_equal(b->last_offset, 11);
    /* After a restart the newest batch is still a duplicate with its offsets;
     * an older one is out of order, as in Kafka. */
    int64_t base = -1;
    assert_int_equal(gr_pstate_check(ps2, 100, 2, 9, 11, &base), GR_PSTATE_DUPLICATE);
    assert_int_equal(base, 9);
    assert_int_equal(gr_pstate_check(ps2, 100, 2, 6, 8, NULL), GR_PSTATE_OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_int_equal(gr_pstate_check(ps2, 100, 2, 12, 12, NULL), GR_PSTATE_OK);
    /* The batch across the sequence wrap (MAX-1, MAX, 0) comes back whole. */
    b = gr_pstate_entry_last_batch(gr_pstate_get(ps2, 200));
    assert_int_equal(b->first_seq, INT32_MAX - 1);
    assert_int_equal(b->last_seq, 0);
    assert_int_equal(b->first_offset, 12);
    assert_int_equal(gr_pstate_check(ps2, 200, 0, INT32_MAX - 1, 0, &base), GR_PSTATE_DUPLICATE);
    assert_int_equal(base, 12);

    /* Writing the loaded state gives the same bytes. */
    gr_buf_t a, c;
    gr_buf_init(&a);
    gr_buf_init(&c);
    assert_int_equal(gr_pstate_snapshot_encode(f->ps, &a), 0);
    assert_int_equal(gr_pstate_snapshot_encode(ps2, &c), 0);
    assert_int_equal(a.len, c.len);
    assert_memory_equal(a.data, c.data, a.len);
    gr_buf_free(&a);
    gr_buf_free(&c);
    gr_pstate_free(ps2);
}

static void test_snapshot_bytes(void **state)
{
    fix_t *f = *state;
    /* One producer: id 0x0102030405060708, epoch 3, records at offsets
     * 20..24 with sequences 10..14, timestamp 1700000000000. */
    assert_int_equal(gr_pstate_update(f->ps, 0x0102030405060708LL, 3, 10, 14, 20, 24,
                                      1700000000000LL), 0);
    assert_int_equal(gr_pstate_snapshot_write(f->ps, f->dir, 25), 0);
    uint8_t got[128];
    size_t n = read_all(f->dir, "00000000000000000025.snapshot", got, sizeof got);
    /* The bytes Kafka 4.1.1's ProducerStateManager.writeSnapshot() writes
     * for the same entry (captured with Kafka's jars; its readSnapshot()
     * reads ours back as BatchMetadata(firstSeq=10, lastSeq=14,
     * firstOffset=20, lastOffset=24)). */
    static const uint8_t want[] = {
        0x00, 0x01,                                     /* version 1 */
        0xbd, 0x02, 0xea, 0xa2,                         /* crc */
        0x00, 0x00, 0x00, 0x01,                         /* 1 entry */
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, /* producer_id */
        0x00, 0x03,                                     /* epoch */
        0x00, 0x00, 0x00, 0x0e,                         /* last_sequence 14 */
        0, 0, 0, 0, 0, 0, 0, 0x18,                      /* last_offset 24 */
        0x00, 0x00, 0x00, 0x04,                         /* offset_delta 4 */
        0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* timestamp */
        0xff, 0xff, 0xff, 0xff,                         /* coordinator_epoch -1 */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* current_txn_first_offset -1 */
    };
    assert_int_equal(n, sizeof want);
    assert_int_equal(n, 10 + 46);
    assert_memory_equal(got, want, n);
    uint32_t crc = gr_crc32c(0, got + 6, n - 6);
    uint32_t stored = ((uint32_t)got[2] << 24) | ((uint32_t)got[3] << 16) |
                      ((uint32_t)got[4] << 8) | got[5];
    assert_int_equal(stored, crc);
}

static void test_snapshot_keeps_two(void **state)
{
    fix_t *f = *state;
    assert_int_equal(gr_pstate_update(f->ps, 1, 0, 0, 0, 0, 0, 1), 0);
    assert_int_equal(gr_pstate_snapshot_write(f->ps, f->dir, 1), 0);
    assert_int_equal(gr_pstate_snapshot_write(f->ps, f->dir, 2), 0);
    assert_int_equal(gr_pstate_snapshot_write(f->ps, f->dir, 3), 0);
    assert_int_equal(count_files(f->dir), 2);
    assert_false(file_exists(f->dir, "00000000000000000001.snapshot"));
    assert_true(file_exists(f->dir, "00000000000000000002.snapshot"));
    assert_true(file_exists(f->dir, "00000000000000000003.snapshot"));
}

static void test_snapshot_corrupt_skipped(void **state)
{
    fix_t *f = *state;
    int64_t leo = 0;
    assert_int_equal(produce(f->ps, &leo, 1, 0, 0, 10, 1), GR_PSTATE_OK);
    assert_int_equal(gr_pstate_snapshot_write(f->ps, f->dir, 10), 0);
    assert_int_equal(produce(f->ps, &leo, 1, 0, 10, 10, 2), GR_PSTATE_OK);
    assert_int_equal(gr_pstate_snapshot_write(f->ps, f->dir, 20), 0);

    /* Flip a bit inside the newest one's entry. */
    uint8_t buf[256];
    size_t n = read_all(f->dir, "00000000000000000020.snapshot", buf, sizeof buf);
    buf[20] ^= 0x40;
    write_all(f->dir, "00000000000000000020.snapshot", buf, n);

    gr_pstate_t *ps2 = gr_pstate_new();
    int64_t off = 0;
    assert_int_equal(gr_pstate_snapshot_load(ps2, f->dir, INT64_MAX, &off), 0);
    assert_int_equal(off, 10);
    assert_false(file_exists(f->dir, "00000000000000000020.snapshot"));
    assert_int_equal(gr_pstate_entry_last_batch(gr_pstate_get(ps2, 1))->last_seq, 9);

    /* Wrong version, and a truncated file: both skipped, then none left. */
    n = read_all(f->dir, "00000000000000000010.snapshot", buf, sizeof buf);
    buf[1] = 2;
    write_all(f->dir, "00000000000000000010.snapshot", buf, n);
    write_all(f->dir, "00000000000000000005.snapshot", buf, 7);
    assert_int_equal(gr_pstate_snapshot_load(ps2, f->dir, INT64_MAX, &off), 0);
    assert_int_equal(off, -1);
    assert_int_equal(gr_pstate_count(ps2), 0);
    assert_int_equal(count_files(f->dir), 0);
    gr_pstate_free(ps2);
}

static void test_snapshot_bad_count(void **state)
{
    fix_t *f = *state;
    assert_int_equal(gr_pstate_update(f->ps, 1, 0, 0, 0, 0, 0, 1), 0);
    assert_int_equal(gr_pstate_snapshot_write(f->ps, f->dir, 1), 0);
    uint8_t buf[128];
    size_t n = read_all(f->dir, "00000000000000000001.snapshot", buf, sizeof buf);
    /* Claim 2 entries and fix the CRC up: the length check still refuses it. */
    buf[9] = 2;
    uint32_t crc = gr_crc32c(0, buf + 6, n - 6);
    buf[2] = (uint8_t)(crc >> 24);
    buf[3] = (uint8_t)(crc >> 16);
    buf[4] = (uint8_t)(crc >> 8);
    buf[5] = (uint8_t)crc;
    write_all(f->dir, "00000000000000000001.snapshot", buf, n);
    int64_t off = 0;
    assert_int_equal(gr_pstate_snapshot_load(f->ps, f->dir, INT64_MAX, &off), 0);
    assert_int_equal(off, -1);
}

static void test_snapshot_load_limits(void **state)
{
    fix_t *f = *state;
    int64_t off = 0;
    /* No snapshot at all. */
    assert_int_equal(gr_pstate_snapshot_load(f->ps, f->dir, INT64_MAX, &off), 0);
    assert_int_equal(off, -1);
    /* A missing directory is an error, not "no snapshot". */
    assert_int_equal(gr_pstate_snapshot_load(f->ps, "/nonexistent/gr", INT64_MAX, &off), -ENOENT);

    assert_int_equal(gr_pstate_update(f->ps, 1, 0, 0, 0, 0, 0, 1), 0);
    assert_int_equal(gr_pstate_snapshot_write(f->ps, f->dir, 10), 0);
    assert_int_equal(gr_pstate_update(f->ps, 1, 0, 1, 1, 10, 10, 1), 0);
    assert_int_equal(gr_pstate_snapshot_write(f->ps, f->dir, 20), 0);
    assert_int_equal(gr_pstate_snapshot_load(f->ps, f->dir, 15, &off), 0);
    assert_int_equal(off, 10);
    assert_int_equal(gr_pstate_entry_last_batch(gr_pstate_get(f->ps, 1))->last_seq, 0);
    assert_int_equal(gr_pstate_snapshot_load(f->ps, f->dir, 20, &off), 0);
    assert_int_equal(off, 20);
    assert_int_equal(gr_pstate_snapshot_load(f->ps, f->dir, 9, &off), 0);
    assert_int_equal(off, -1);
    assert_int_equal(gr_pstate_count(f->ps), 0);
    /* Both files are still there: load only deletes corrupt ones. */
    assert_int_equal(count_files(f->dir), 2);

    /* A torn temporary file and strangers are ignored; the torn one removed. */
    write_all(f->dir, "00000000000000000030.snapshot.tmp", (const uint8_t *)"x", 1);
    write_all(f->dir, "leader-epoch-checkpoint", (const uint8_t *)"0\n", 2);
    assert_int_equal(gr_pstate_snapshot_load(f->ps, f->dir, INT64_MAX, &off), 0);
    assert_int_equal(off, 20);
    assert_false(file_exists(f->dir, "00000000000000000030.snapshot.tmp"));
    assert_true(file_exists(f->dir, "leader-epoch-checkpoint"));
}

static void test_snapshot_empty_state(void **state)
{
    fix_t *f = *state;
    assert_int_equal(gr_pstate_snapshot_write(f->ps, f->dir, 0), 0);
    uint8_t buf[64];
    assert_int_equal(read_all(f->dir, "00000000000000000000.snapshot", buf, sizeof buf), 10);
    int64_t off = -5;
    assert_int_equal(gr_pstate_snapshot_load(f->ps, f->dir, INT64_MAX, &off), 0);
    assert_int_equal(off, 0);
    assert_int_equal(gr_pstate_count(f->ps), 0);
}

/* ---- truncation ---- */

static void test_truncate(void **state)
{
    fix_t *f = *state;
    int64_t leo = 0;
    for (int i = 0; i < 3; i++) /* offsets 0..29, seqs 0..29 */
        assert_int_equal(produce(f->ps, &leo, 1, 0, 10 * i, 10, 1), GR_PSTATE_OK);
    assert_int_equal(gr_pstate_snapshot_write(f->ps, f->dir, 30), 0);
    for (int i = 3; i < 5; i++) /* offsets 30..49 */
        assert_int_equal(produce(f->ps, &leo, 1, 0, 10 * i, 10, 1), GR_PSTATE_OK);
    assert_int_equal(gr_pstate_snapshot_write(f->ps, f->dir, 50), 0);

    /* Truncating at or past the end keeps everything. */
    int64_t from = 0;
    assert_int_equal(gr_pstate_truncate(f->ps, f->dir, 50, &from), 0);
    assert_int_equal(from, 50);
    assert_int_equal(gr_pstate_entry_last_batch(gr_pstate_get(f->ps, 1))->last_seq, 49);

    /* Truncate to 40: the snapshot at 50 goes, state comes from 30, and the
     * caller replays [30, 40). */
    assert_int_equal(gr_pstate_truncate(f->ps, f->dir, 40, &from), 0);
    assert_int_equal(from, 30);
    assert_false(file_exists(f->dir, "00000000000000000050.snapshot"));
    assert_true(file_exists(f->dir, "00000000000000000030.snapshot"));
    assert_int_equal(gr_pstate_replay_batch(f->ps, 1, 0, 30, 39, 30, 39, 1), 0);
    assert_int_equal(gr_pstate_entry_last_batch(gr_pstate_get(f->ps, 1))->last_seq, 39);
    /* The producer resends what was cut off; it goes in. */
    int64_t leo2 = 40;
    assert_int_equal(produce(f->ps, &leo2, 1, 0, 40, 10, 1), GR_PSTATE_OK);

    /* Truncate below every snapshot: all go, replay from the log start. */
    assert_int_equal(gr_pstate_truncate(f->ps, f->dir, 5, &from), 0);
    assert_int_equal(from, -1);
    assert_int_equal(gr_pstate_count(f->ps), 0);
    assert_int_equal(count_files(f->dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_in_order_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_of_last_five, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gap_is_out_of_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_epoch_is_fenced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_epoch_starts_at_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_producer_any_sequence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_non_idempotent_not_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sequence_wraps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_trusts_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_keeps_two, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_corrupt_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_bad_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_load_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_empty_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncate, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
