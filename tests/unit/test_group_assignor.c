/* Unit tests of the KIP-848 server-side assignors (src/group/assignor.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "group/assignor.h"

static int32_t count_topic(const gr_gasn_member_t *m, int32_t topic)
{
    int32_t n = 0;
    for (int32_t i = 0; i < m->nout; i++)
        n += m->out[i].topic == topic;
    return n;
}

static void free_out(gr_gasn_member_t *ms, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        free(ms[i].out);
}

/* Each partition exactly once, counts differ by at most one. */
static void check_balanced(gr_gasn_member_t *ms, int32_t nm, int32_t total)
{
    int32_t seen[64] = {0}, sum = 0, lo = INT32_MAX, hi = 0;
    for (int32_t i = 0; i < nm; i++) {
        sum += ms[i].nout;
        lo = ms[i].nout < lo ? ms[i].nout : lo;
        hi = ms[i].nout > hi ? ms[i].nout : hi;
        for (int32_t k = 0; k < ms[i].nout; k++)
            seen[ms[i].out[k].topic * 16 + ms[i].out[k].partition]++;
    }
    assert_int_equal(sum, total);
    assert_true(hi - lo <= 1);
    for (int32_t s = 0; s < 64; s++)
        assert_true(seen[s] <= 1);
}

static void test_uniform_sticky(void **state)
{
    (void)state;
    bool subs[1] = {true};
    int32_t nparts[1] = {6};
    gr_gasn_tp_t all[6] = {{0, 0}, {0, 1}, {0, 2}, {0, 3}, {0, 4}, {0, 5}};
    /* The first member had everything; a second joins. */
    gr_gasn_member_t ms[3] = {{"a", subs, all, 6, NULL, 0}, {"b", subs, NULL, 0, NULL, 0}};
    assert_int_equal(gr_gasn_assign("uniform", nparts, 1, ms, 2), 0);
    check_balanced(ms, 2, 6);
    assert_int_equal(ms[0].nout, 3);
    assert_int_equal(ms[0].out[0].partition, 0); /* kept its first three */
    assert_int_equal(ms[0].out[2].partition, 2);
    /* A third joins: a and b each give up one, keeping the rest. */
    gr_gasn_tp_t pa[3], pb[3];
    for (int i = 0; i < 3; i++) {
        pa[i] = ms[0].out[i];
        pb[i] = ms[1].out[i];
    }
    free_out(ms, 2);
    gr_gasn_member_t ms3[3] = {{"a", subs, pa, 3, NULL, 0}, {"b", subs, pb, 3, NULL, 0}, {"c", subs, NULL, 0, NULL, 0}};
    assert_int_equal(gr_gasn_assign("uniform", nparts, 1, ms3, 3), 0);
    check_balanced(ms3, 3, 6);
    for (int32_t k = 0; k < ms3[0].nout; k++)
        assert_true(ms3[0].out[k].partition <= 2);
    for (int32_t k = 0; k < ms3[1].nout; k++)
        assert_true(ms3[1].out[k].partition >= 3);
    free_out(ms3, 3);
}

static void test_uniform_more_members_than_partitions(void **state)
{
    (void)state;
    bool subs[1] = {true};
    int32_t nparts[1] = {2};
    gr_gasn_member_t ms[3] = {{"a", subs, NULL, 0, NULL, 0}, {"b", subs, NULL, 0, NULL, 0},
                              {"c", subs, NULL, 0, NULL, 0}};
    assert_int_equal(gr_gasn_assign("uniform", nparts, 1, ms, 3), 0);
    check_balanced(ms, 3, 2);
    free_out(ms, 3);
}

static void test_uniform_heterogeneous(void **state)
{
    (void)state;
    bool s_ab[2] = {true, true}, s_a[2] = {true, false};
    int32_t nparts[2] = {4, 4};
    gr_gasn_member_t ms[2] = {{"x", s_ab, NULL, 0, NULL, 0}, {"y", s_a, NULL, 0, NULL, 0}};
    assert_int_equal(gr_gasn_assign("uniform", nparts, 2, ms, 2), 0);
    /* Only x reads topic 1; topic 0 is shared so the loads even out. */
    assert_int_equal(count_topic(&ms[0], 1), 4);
    assert_int_equal(count_topic(&ms[1], 1), 0);
    assert_int_equal(ms[0].nout + ms[1].nout, 8);
    assert_true(count_topic(&ms[1], 0) >= 2);
    free_out(ms, 2);
}

static void test_range(void **state)
{
    (void)state;
    bool s[2] = {true, true}, s0[2] = {true, false};
    int32_t nparts[2] = {5, 2};
    /* Sorted by member id: "m1" before "m2", whatever the order given. */
    gr_gasn_member_t ms[2] = {{"m2", s0, NULL, 0, NULL, 0}, {"m1", s, NULL, 0, NULL, 0}};
    assert_int_equal(gr_gasn_assign("range", nparts, 2, ms, 2), 0);
    assert_int_equal(count_topic(&ms[1], 0), 3); /* partitions 0-2 */
    assert_int_equal(ms[1].out[0].partition, 0);
    assert_int_equal(count_topic(&ms[0], 0), 2); /* partitions 3-4 */
    assert_int_equal(ms[0].out[0].partition, 3);
    assert_int_equal(count_topic(&ms[1], 1), 2);
    assert_int_equal(count_topic(&ms[0], 1), 0);
    free_out(ms, 2);
    assert_true(gr_gasn_known("range", 5));
    assert_true(gr_gasn_known("uniform", 7));
    assert_false(gr_gasn_known("sticky", 6));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uniform_sticky),
        cmocka_unit_test(test_uniform_more_members_than_partitions),
        cmocka_unit_test(test_uniform_heterogeneous),
        cmocka_unit_test(test_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
