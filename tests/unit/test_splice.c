/* File ranges carried by an output buffer (base/splice.h): a FetchResponse
 * encoded with a registered range in place of its records leaves the range
 * out of the buffer and places it at the right offset, so that the buffer
 * with the range inserted is byte for byte the response encoded with the
 * records in memory. Ranges not placed, dropped by truncation or still held
 * when the buffer is freed are each released exactly once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/splice.h"
#include "kafka_msgs.h"

#include <stdlib.h>
#include <string.h>

static int released[8];

static void on_release(void *arg) { released[(intptr_t)arg]++; }

static const uint8_t REC_A[] = "records-of-partition-zero";
static const uint8_t REC_B[] = "partition-two";

/* A FetchResponse with two partitions whose records are recs[0..1]. */
static void encode_fetch(gr_buf_t *b, int16_t v, gr_bytes_t recs[2])
{
    gr_FetchResponse_PartitionData pd[2];
    memset(pd, 0, sizeof pd);
    for (int i = 0; i < 2; i++) {
        pd[i].PartitionIndex = i * 2;
        pd[i].HighWatermark = 100 + i;
        pd[i].LastStableOffset = 100 + i;
        pd[i].AbortedTransactions_count = 0;
        pd[i].PreferredReadReplica = -1;
        pd[i].Records = recs[i];
    }
    gr_FetchResponse_FetchableTopicResponse t;
    memset(&t, 0, sizeof t);
    t.Topic = gr_str("topic");
    t.Partitions = pd;
    t.Partitions_count = 2;
    gr_FetchResponse rs;
    gr_FetchResponse_init(&rs);
    rs.Responses = &t;
    rs.Responses_count = 1;
    gr_FetchResponse_encode(b, v, &rs);
}

/* The buffer with its placed ranges inserted, the ranges' bytes taken from
 * src[] by registration index. */
static size_t splice_out(const gr_buf_t *b, const uint8_t *src[], uint8_t *out)
{
    size_t n = 0, mem = 0;
    const gr_splices_t *s = b->splices;
    for (size_t k = 0; s && k < s->norder; k++) {
        const gr_splice_t *sp = s->order[k];
        memcpy(out + n, b->data + mem, sp->at - mem);
        n += sp->at - mem;
        mem = sp->at;
        size_t idx = 0;
        while (s->v[idx] != sp)
            idx++;
        memcpy(out + n, src[idx], sp->len);
        n += sp->len;
    }
    memcpy(out + n, b->data + mem, b->len - mem);
    return n + b->len - mem;
}

static void test_placed_ranges_rebuild_the_response(void **state)
{
    (void)state;
    const int16_t versions[] = {4, 11, 12, 16};
    for (size_t vi = 0; vi < sizeof versions / sizeof *versions; vi++) {
        int16_t v = versions[vi];
        memset(released, 0, sizeof released);
        gr_buf_t want, got;
        gr_buf_init(&want);
        gr_buf_init(&got);
        gr_bytes_t mem[2] = {{REC_A, (int32_t)sizeof REC_A}, {REC_B, (int32_t)sizeof REC_B}};
        encode_fetch(&want, v, mem);

        gr_bytes_t tagged[2];
        for (int i = 0; i < 2; i++) {
            const uint8_t *tag;
            assert_int_equal(gr_splices_add(&got, 100 + i, 7 * i, (size_t)mem[i].len, on_release,
                                            (void *)(intptr_t)i, &tag),
                             0);
            tagged[i].ptr = tag;
            tagged[i].len = mem[i].len;
        }
        encode_fetch(&got, v, tagged);
        assert_int_equal(gr_splices_placed_bytes(&got), sizeof REC_A + sizeof REC_B);
        assert_int_equal(got.len + gr_splices_placed_bytes(&got), want.len);
        assert_int_equal(got.splices->norder, 2);
        assert_int_equal(got.splices->order[0]->fd, 100);
        assert_int_equal(got.splices->order[1]->pos, 7);

        uint8_t joined[1024];
        const uint8_t *src[2] = {REC_A, REC_B};
        assert_true(want.len <= sizeof joined);
        assert_int_equal(splice_out(&got, src, joined), want.len);
        assert_memory_equal(joined, want.data, want.len);

        /* Encoding again (a reset answer) places the ranges afresh. */
        gr_buf_reset(&got);
        gr_splices_unplace(&got);
        encode_fetch(&got, v, tagged);
        assert_int_equal(got.splices->norder, 2);
        assert_int_equal(got.len + gr_splices_placed_bytes(&got), want.len);

        assert_int_equal(released[0] + released[1], 0);
        gr_buf_free(&got);
        assert_int_equal(released[0], 1);
        assert_int_equal(released[1], 1);
        gr_buf_free(&want);
    }
}

static void test_counting_and_foreign_pointers_copy(void **state)
{
    (void)state;
    memset(released, 0, sizeof released);
    gr_buf_t b;
    gr_buf_init(&b);
    const uint8_t *tag;
    assert_int_equal(gr_splices_add(&b, 3, 0, 5, on_release, (void *)(intptr_t)2, &tag), 0);
    /* A length that does not match the range is not placed. */
    assert_false(gr_splices_place(&b, tag, 4));
    /* Bytes that are not a registered tag are copied as usual. */
    gr_bytes_t plain = {REC_B, 5};
    gr_codec_write_records(&b, false, &plain);
    assert_int_equal(b.len, 4 + 5);
    assert_int_equal(gr_splices_placed_bytes(&b), 0);
    /* A counting buffer never places (sizes include the range). */
    gr_buf_t c;
    gr_buf_init_counting(&c);
    gr_bytes_t t = {tag, 5};
    gr_codec_write_records(&c, false, &t);
    assert_int_equal(c.len, 9);
    gr_buf_free(&b);
    assert_int_equal(released[2], 1);
}

static void test_truncate_releases_the_dropped_ranges(void **state)
{
    (void)state;
    memset(released, 0, sizeof released);
    gr_buf_t b;
    gr_buf_init(&b);
    const uint8_t *tags[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(gr_splices_add(&b, i, 0, 10, on_release, (void *)(intptr_t)i, &tags[i]), 0);
    size_t mark = gr_splices_count(&b);
    assert_int_equal(mark, 3);
    for (int i = 3; i < 6; i++) {
        const uint8_t *t;
        assert_int_equal(gr_splices_add(&b, i, 0, 10, on_release, (void *)(intptr_t)i, &t), 0);
    }
    gr_splices_truncate(&b, mark);
    assert_int_equal(gr_splices_count(&b), 3);
    for (int i = 0; i < 6; i++)
        assert_int_equal(released[i], i >= 3 ? 1 : 0);
    /* Take keeps the ranges with the buffer; free releases them. */
    gr_buf_put_i32(&b, 1);
    size_t len;
    free(gr_buf_take(&b, &len));
    assert_int_equal(gr_splices_count(&b), 3);
    gr_buf_free(&b);
    for (int i = 0; i < 6; i++)
        assert_int_equal(released[i], 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_placed_ranges_rebuild_the_response),
        cmocka_unit_test(test_counting_and_foreign_pointers_copy),
        cmocka_unit_test(test_truncate_releases_the_dropped_ranges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
