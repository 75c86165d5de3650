/* Tests of src/txn/producer_ids.c: producer ids handed out in blocks that
 * are persisted before use. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/err.h"
#include "txn/producer_ids.h"

#include <stdint.h>

typedef struct {
    int     calls;
    int64_t persisted; /* what survives a restart */
    int64_t last_start;
    int     fail;
} store_t;

static int reserve(void *arg, int64_t start, int64_t next_start)
{
    store_t *s = arg;
    s->calls++;
    if (s->fail)
        return -5; /* -EIO */
    assert_int_equal(start, s->persisted);
    s->last_start = start;
    s->persisted = next_start;
    return 0;
}

static void test_blocks(void **state)
{
    store_t s = {0};
    gr_pid_alloc_t a;
    gr_pid_alloc_init(&a, 0, 0, reserve, &s);
    int64_t pid;
    for (int64_t i = 0; i < GR_PID_BLOCK_SIZE; i++) {
        assert_int_equal(gr_pid_alloc_next(&a, &pid), 0);
        assert_int_equal(pid, i);
    }
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.persisted, 1000);
    /* The next id needs the next block, persisted first. */
    assert_int_equal(gr_pid_alloc_next(&a, &pid), 0);
    assert_int_equal(pid, 1000);
    assert_int_equal(s.calls, 2);
    assert_int_equal(s.persisted, 2000);
}

static void test_restart_skips_rest_of_block(void **state)
{
    store_t s = {0};
    gr_pid_alloc_t a;
    gr_pid_alloc_init(&a, 0, 10, reserve, &s);
    int64_t pid;
    for (int i = 0; i < 3; i++)
        assert_int_equal(gr_pid_alloc_next(&a, &pid), 0);
    assert_int_equal(pid, 2);
    /* Restart from what was persisted: ids 3..9 are never handed out. */
    gr_pid_alloc_init(&a, s.persisted, 10, reserve, &s);
    assert_int_equal(gr_pid_alloc_next(&a, &pid), 0);
    assert_int_equal(pid, 10);
    assert_int_equal(s.persisted, 20);
}

static void test_reserve_failure(void **state)
{
    store_t s = {0};
    gr_pid_alloc_t a;
    gr_pid_alloc_init(&a, 0, 2, reserve, &s);
    int64_t pid = -7;
    s.fail = 1;
    assert_int_equal(gr_pid_alloc_next(&a, &pid), -5);
    assert_int_equal(pid, -7);
    s.fail = 0;
    assert_int_equal(gr_pid_alloc_next(&a, &pid), 0);
    assert_int_equal(pid, 0);
    assert_int_equal(s.calls, 2);
}

static void test_exhausted(void **state)
{
    store_t s = {.persisted = INT64_MAX - 1000};
    gr_pid_alloc_t a;
    gr_pid_alloc_init(&a, INT64_MAX - 1000, 1000, reserve, &s);
    int64_t pid;
    for (int i = 0; i < 1000; i++)
        assert_int_equal(gr_pid_alloc_next(&a, &pid), 0);
    assert_int_equal(pid, INT64_MAX - 1);
    assert_int_equal(gr_pid_alloc_next(&a, &pid), GR_ERANGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocks),
        cmocka_unit_test(test_restart_skips_rest_of_block),
        cmocka_unit_test(test_reserve_failure),
        cmocka_unit_test(test_exhausted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
