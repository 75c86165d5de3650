/* Tests of src/group/group_records.c: __consumer_offsets keys and values
 * byte for byte as Kafka writes them, every value version Kafka defines
 * read back, Java's String.hashCode and the group's partition. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/err.h"
#include "group/group_records.h"

#include <string.h>

static void test_offset_key_bytes(void **state)
{
    gr_buf_t b;
    gr_buf_init(&b);
    gr_grec_offset_key(&b, gr_str("g"), gr_str("tp"), 7);
    static const uint8_t want[] = {0, 1, 0, 1, 'g', 0, 2, 't', 'p', 0, 0, 0, 7};
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    gr_grec_key_t k;
    assert_int_equal(gr_grec_key_parse(b.data, b.len, &k), 0);
    assert_int_equal(k.type, GR_GREC_OFFSET_COMMIT);
    assert_true(gr_str_eq(k.group, "g") && gr_str_eq(k.topic, "tp"));
    assert_int_equal(k.partition, 7);
    gr_buf_free(&b);

    /* Legacy type 0 has the same layout; unknown types are reported. */
    static const uint8_t legacy[] = {0, 0, 0, 1, 'g', 0, 1, 't', 0, 0, 0, 1};
    assert_int_equal(gr_grec_key_parse(legacy, sizeof legacy, &k), 0);
    assert_int_equal(k.type, 0);
    /* KIP-848 consumer group keys parse (group, then member id); share
     * group keys (type 9) are not ours. */
    static const uint8_t kip848[] = {0, 3, 0, 1, 'g'};
    assert_int_equal(gr_grec_key_parse(kip848, sizeof kip848, &k), 0);
    assert_int_equal(k.type, 3);
    static const uint8_t member[] = {0, 5, 0, 1, 'g', 0, 2, 'm', '1'};
    assert_int_equal(gr_grec_key_parse(member, sizeof member, &k), 0);
    assert_int_equal(k.member.len, 2);
    static const uint8_t share[] = {0, 9, 0, 1, 'g'};
    assert_int_equal(gr_grec_key_parse(share, sizeof share, &k), GR_EUNSUPPORTED);
    assert_int_equal(gr_grec_key_parse(legacy, 5, &k), GR_EMALFORMED);
}

static void test_group_key_bytes(void **state)
{
    gr_buf_t b;
    gr_buf_init(&b);
    gr_grec_group_key(&b, gr_str("grp"));
    static const uint8_t want[] = {0, 2, 0, 3, 'g', 'r', 'p'};
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    gr_buf_free(&b);
}

static void test_offset_value_v3_and_v1(void **state)
{
    gr_buf_t b;
    gr_buf_init(&b);
    gr_grec_offset_t v = {42, 5, gr_str("md"), 1000, -1};
    gr_grec_offset_value(&b, &v);
    static const uint8_t want[] = {0, 3, 0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 0, 5, 0, 2, 'm', 'd',
                                   0, 0, 0, 0, 0, 0, 0x03, 0xe8};
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    gr_grec_offset_t r;
    assert_int_equal(gr_grec_offset_value_parse(b.data, b.len, &r), 0);
    assert_int_equal(r.offset, 42);
    assert_int_equal(r.leader_epoch, 5);
    assert_true(gr_str_eq(r.metadata, "md"));
    assert_int_equal(r.commit_ts, 1000);
    assert_int_equal(r.expire_ts, -1);

    /* An explicit expiry is only expressible in version 1. */
    gr_buf_reset(&b);
    v.expire_ts = 5000;
    gr_grec_offset_value(&b, &v);
    assert_int_equal(b.data[1], 1);
    assert_int_equal(gr_grec_offset_value_parse(b.data, b.len, &r), 0);
    assert_int_equal(r.leader_epoch, -1);
    assert_int_equal(r.expire_ts, 5000);
    gr_buf_free(&b);
}

static void test_offset_value_flexible_v4(void **state)
{
    /* version 4: compact string metadata and a tagged-field section. */
    static const uint8_t v4[] = {0, 4, 0, 0, 0, 0, 0, 0, 0, 9, 0xff, 0xff, 0xff, 0xff, 3, 'a', 'b',
                                 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 2, 0xaa, 0xbb};
    gr_grec_offset_t r;
    assert_int_equal(gr_grec_offset_value_parse(v4, sizeof v4, &r), 0);
    assert_int_equal(r.offset, 9);
    assert_int_equal(r.leader_epoch, -1);
    assert_true(gr_str_eq(r.metadata, "ab"));
    assert_int_equal(r.commit_ts, 1);
    /* version 0: no leader epoch. */
    static const uint8_t v0[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    assert_int_equal(gr_grec_offset_value_parse(v0, sizeof v0, &r), 0);
    assert_int_equal(r.offset, 9);
    assert_int_equal(r.commit_ts, 2);
    static const uint8_t v9[] = {0, 9, 0};
    assert_int_equal(gr_grec_offset_value_parse(v9, sizeof v9, &r), GR_EUNSUPPORTED);
}

static void test_group_value_roundtrip(void **state)
{
    gr_grec_member_t ms[2] = {
        {gr_str("m1"), gr_str(NULL), gr_str("c1"), gr_str("/127.0.0.1"), 300000, 10000,
         {(const uint8_t *)"sub", 3}, {(const uint8_t *)"as", 2}},
        {gr_str("m2"), gr_str("inst"), gr_str("c2"), gr_str("/10.0.0.1"), 60000, 45000,
         {(const uint8_t *)"", 0}, {NULL, 0}},
    };
    gr_grec_group_t v = {gr_str("consumer"), 7, gr_str("range"), gr_str("m1"), 123456789, ms, 2};
    gr_buf_t b;
    gr_buf_init(&b);
    gr_grec_group_value(&b, &v);
    /* version 3, then protocolType "consumer" */
    static const uint8_t head[] = {0, 3, 0, 8, 'c', 'o', 'n', 's', 'u', 'm', 'e', 'r', 0, 0, 0, 7};
    assert_memory_equal(b.data, head, sizeof head);
    gr_arena_t a;
    gr_arena_init(&a, 0);
    gr_grec_group_t r;
    assert_int_equal(gr_grec_group_value_parse(b.data, b.len, &a, &r), 0);
    assert_true(gr_str_eq(r.protocol_type, "consumer"));
    assert_int_equal(r.generation, 7);
    assert_true(gr_str_eq(r.protocol, "range") && gr_str_eq(r.leader, "m1"));
    assert_int_equal(r.state_ts, 123456789);
    assert_int_equal(r.nmembers, 2);
    assert_true(gr_str_eq(r.members[0].member_id, "m1"));
    assert_int_equal(r.members[0].instance_id.len, -1);
    assert_true(gr_str_eq(r.members[0].client_host, "/127.0.0.1"));
    assert_int_equal(r.members[0].rebalance_timeout_ms, 300000);
    assert_int_equal(r.members[0].session_timeout_ms, 10000);
    assert_int_equal(r.members[0].subscription.len, 3);
    assert_memory_equal(r.members[0].assignment.ptr, "as", 2);
    assert_true(gr_str_eq(r.members[1].instance_id, "inst"));
    assert_int_equal(r.members[1].assignment.len, 0);
    /* Truncated: malformed, never a crash. */
    for (size_t n = 0; n < b.len; n++)
        assert_int_not_equal(gr_grec_group_value_parse(b.data, n, &a, &r), 0);
    gr_arena_free(&a);
    gr_buf_free(&b);

    /* An empty group: null protocol and leader. */
    gr_grec_group_t e = {gr_str(""), 3, gr_str(NULL), gr_str(NULL), -1, NULL, 0};
    gr_buf_init(&b);
    gr_grec_group_value(&b, &e);
    static const uint8_t want[] = {0, 3, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    gr_buf_free(&b);
}

static void test_group_value_v0_and_flexible_v4(void **state)
{
    /* v0: no currentStateTimestamp, no groupInstanceId, no rebalanceTimeout. */
    static const uint8_t v0[] = {0, 0, 0, 1, 'c', 0, 0, 0, 2, 0, 1, 'p', 0, 1, 'm', 0, 0, 0, 1,
                                 0, 1, 'm', 0, 1, 'x', 0, 1, 'h', 0, 0, 0x27, 0x10,
                                 0, 0, 0, 1, 'S', 0, 0, 0, 1, 'A'};
    gr_arena_t a;
    gr_arena_init(&a, 0);
    gr_grec_group_t r;
    assert_int_equal(gr_grec_group_value_parse(v0, sizeof v0, &a, &r), 0);
    assert_int_equal(r.state_ts, -1);
    assert_int_equal(r.nmembers, 1);
    assert_int_equal(r.members[0].rebalance_timeout_ms, -1);
    assert_int_equal(r.members[0].session_timeout_ms, 10000);
    assert_memory_equal(r.members[0].subscription.ptr, "S", 1);

    /* v4: compact everything, tagged fields after each struct. */
    static const uint8_t v4[] = {0, 4, 2, 'c', 0, 0, 0, 2, 2, 'p', 0, 0, 0, 0, 0, 0, 0, 0, 5,
                                 2, /* one member */
                                 2, 'm', 0, 2, 'x', 2, 'h', 0, 0, 0, 1, 0, 0, 0x27, 0x10, 2, 'S', 1, 0,
                                 0};
    assert_int_equal(gr_grec_group_value_parse(v4, sizeof v4, &a, &r), 0);
    assert_true(gr_str_eq(r.protocol, "p"));
    assert_int_equal(r.leader.len, -1);
    assert_int_equal(r.state_ts, 5);
    assert_int_equal(r.nmembers, 1);
    assert_true(gr_str_eq(r.members[0].member_id, "m"));
    assert_int_equal(r.members[0].instance_id.len, -1);
    assert_int_equal(r.members[0].rebalance_timeout_ms, 1);
    assert_int_equal(r.members[0].assignment.len, 0);
    gr_arena_free(&a);
}

static void test_java_hash(void **state)
{
    assert_int_equal(gr_grec_java_hash("hello", 5), 99162322);
    assert_int_equal(gr_grec_java_hash("", 0), 0);
    assert_int_equal(gr_grec_java_hash("my-group", 8), -1906497762);
    assert_int_equal(gr_grec_java_hash("\xc3\xa9", 2), 233);                 /* U+00E9 */
    assert_int_equal(gr_grec_java_hash("\xf0\x9f\x98\x80", 4), 1772899);     /* U+1F600: a surrogate pair */
    assert_int_equal(gr_grec_java_length("\xf0\x9f\x98\x80" "a", 5), 3);
    assert_int_equal(gr_grec_java_hash("polygenelubricants", 18), INT32_MIN);
    /* Utils.abs(Integer.MIN_VALUE) is 0 */
    assert_int_equal(gr_grec_partition_for("polygenelubricants", 18, 50), 0);
    assert_int_equal(gr_grec_partition_for("test-group", 10, 50), 12);
    assert_int_equal(gr_grec_partition_for("my-group", 8, 50), 12);
    assert_int_equal(gr_grec_partition_for("console-consumer-12345", 22, 50), 6);
    /* Malformed UTF-8 counts as U+FFFD per bad byte. */
    assert_int_equal(gr_grec_java_hash("\xff", 1), 0xfffd);
}

static void count_topic(void *arg, gr_str_t t)
{
    int *n = arg;
    (*n)++;
    assert_true(gr_str_eq(t, *n == 1 ? "a" : "bc"));
}

static void test_subscription_topics(void **state)
{
    /* ConsumerProtocolSubscription v1: topics, userData, ownedPartitions. */
    static const uint8_t sub[] = {0, 1, 0, 0, 0, 2, 0, 1, 'a', 0, 2, 'b', 'c', 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    int n = 0;
    assert_int_equal(gr_grec_subscription_topics(sub, sizeof sub, count_topic, &n), 0);
    assert_int_equal(n, 2);
    n = 0;
    assert_int_equal(gr_grec_subscription_topics(sub, 8, count_topic, &n), GR_EMALFORMED);
    assert_int_equal(gr_grec_subscription_topics((const uint8_t *)"\xff\xff", 2, count_topic, &n), GR_EMALFORMED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offset_key_bytes),
        cmocka_unit_test(test_group_key_bytes),
        cmocka_unit_test(test_offset_value_v3_and_v1),
        cmocka_unit_test(test_offset_value_flexible_v4),
        cmocka_unit_test(test_group_value_roundtrip),
        cmocka_unit_test(test_group_value_v0_and_flexible_v4),
        cmocka_unit_test(test_java_hash),
        cmocka_unit_test(test_subscription_topics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
