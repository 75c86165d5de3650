/* Unit tests of protocol/records.c: header access, Produce validation with
 * Kafka 4's error codes, the record iterator and the batch builder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "records_util.h"
#include "protocol/errors.h"

static const int all_codecs[] = {GR_CODEC_NONE, GR_CODEC_GZIP, GR_CODEC_SNAPPY, GR_CODEC_LZ4, GR_CODEC_ZSTD};
#define NALL 5

typedef struct {
    gr_records_validate_opts_t   o;
    gr_records_validate_result_t r;
    gr_batch_info_t              info[4];
} vt_t;

static int16_t validate(vt_t *t, gr_buf_t *b)
{
    t->r.batches = t->info;
    t->r.batches_cap = 4;
    assert_int_equal(gr_records_validate(b->data, b->len, &t->o, &t->r), 0);
    if (t->r.error_code == 0)
        assert_string_equal(t->r.error_message, "");
    else
        assert_true(t->r.error_message[0] != 0);
    return t->r.error_code;
}

static void vt_init(vt_t *t)
{
    memset(t, 0, sizeof *t);
    t->o = ru_opts();
}

/* ---- errors table ---- */

static void test_error_names(void **state)
{
    (void)state;
    assert_int_equal(GR_KERR_NONE, 0);
    assert_int_equal(GR_KERR_UNKNOWN_SERVER_ERROR, -1);
    assert_int_equal(GR_KERR_CORRUPT_MESSAGE, 2);
    assert_int_equal(GR_KERR_INVALID_TIMESTAMP, 32);
    assert_int_equal(GR_KERR_UNSUPPORTED_VERSION, 35);
    assert_int_equal(GR_KERR_UNSUPPORTED_FOR_MESSAGE_FORMAT, 43);
    assert_int_equal(GR_KERR_INVALID_RECORD, 87);
    assert_int_equal(GR_KERR_UNKNOWN_TOPIC_ID, 100);
    assert_int_equal(GR_KERR_INCONSISTENT_TOPIC_ID, 103);
    assert_int_equal(GR_KERR_SHARE_SESSION_LIMIT_REACHED, 133);
    assert_string_equal(gr_kerr_name(GR_KERR_RECORD_LIST_TOO_LARGE), "RECORD_LIST_TOO_LARGE");
    assert_string_equal(gr_kerr_name(-1), "UNKNOWN_SERVER_ERROR");
    assert_string_equal(gr_kerr_name(1000), "UNKNOWN_ERROR_CODE");
    assert_string_equal(gr_kerr_name(-2), "UNKNOWN_ERROR_CODE");
    assert_null(gr_kerr_message(0));
    for (int c = -1; c <= GR_KERR_MAX_; c++) {
        assert_true(gr_kerr_known((int16_t)c));
        if (c)
            assert_non_null(gr_kerr_message((int16_t)c));
    }
    assert_false(gr_kerr_known(GR_KERR_MAX_ + 1));
    assert_non_null(gr_kerr_message(-100));
}

/* ---- builder, header, iterator ---- */

static void test_header_fields(void **state)
{
    (void)state;
    gr_buf_t b;
    gr_buf_init(&b);
    gr_batch_builder_t bb;
    gr_batch_builder_init(&bb, GR_CODEC_NONE);
    gr_batch_builder_set_base_offset(&bb, 100);
    gr_batch_builder_set_partition_leader_epoch(&bb, 7);
    gr_batch_builder_set_producer(&bb, 55, 3, INT32_MAX - 1, true);
    for (int i = 0; i < 4; i++)
        assert_int_equal(gr_batch_builder_add(&bb, 5000 - i, ru_bytes("k"), ru_bytes("v"), NULL, 0), 0);
    assert_int_equal(gr_batch_builder_finish(&bb, &b), 0);
    gr_batch_builder_free(&bb);

    gr_batch_hdr_t h;
    assert_int_equal(gr_batch_hdr_parse(b.data, b.len, &h), 0);
    assert_int_equal(h.base_offset, 100);
    assert_int_equal(gr_batch_size(&h), b.len);
    assert_int_equal(h.partition_leader_epoch, 7);
    assert_int_equal(h.magic, 2);
    assert_true(gr_batch_is_transactional(&h));
    assert_false(gr_batch_is_control(&h));
    assert_int_equal(gr_batch_codec(&h), 0);
    assert_int_equal(h.last_offset_delta, 3);
    assert_int_equal(gr_batch_last_offset(&h), 103);
    assert_int_equal(h.base_timestamp, 5000);
    assert_int_equal(h.max_timestamp, 5000);
    assert_int_equal(h.producer_id, 55);
    assert_int_equal(h.producer_epoch, 3);
    assert_int_equal(h.record_count, 4);
    /* Sequences wrap past INT32_MAX to 0. */
    assert_int_equal(gr_batch_last_sequence(&h), 1);
    assert_true(gr_batch_crc_ok(b.data, b.len));
    assert_int_equal(gr_batch_hdr_parse(b.data, 60, &h), GR_EMALFORMED);

    size_t span;
    assert_int_equal(gr_batch_span(b.data, b.len, &span), 0);
    assert_int_equal(span, b.len);
    assert_int_equal(gr_batch_span(b.data, b.len - 1, &span), GR_EMALFORMED);
    assert_int_equal(gr_batch_span(b.data, 11, &span), GR_EMALFORMED);

    /* Offset and leader epoch lie outside the CRC. */
    gr_batch_set_base_offset(b.data, 999);
    gr_batch_set_partition_leader_epoch(b.data, 9);
    assert_true(gr_batch_crc_ok(b.data, b.len));
    gr_batch_set_max_timestamp(b.data, b.len, GR_TS_LOG_APPEND_TIME, 77);
    assert_true(gr_batch_crc_ok(b.data, b.len));
    gr_batch_hdr_parse(b.data, b.len, &h);
    assert_int_equal(h.base_offset, 999);
    assert_int_equal(gr_batch_timestamp_type(&h), GR_TS_LOG_APPEND_TIME);
    assert_int_equal(h.max_timestamp, 77);
    gr_buf_free(&b);
}

static void test_iterator_roundtrip(void **state)
{
    (void)state;
    for (int c = 0; c < NALL; c++) {
        gr_batch_builder_t bb;
        gr_batch_builder_init(&bb, all_codecs[c]);
        gr_batch_builder_set_base_offset(&bb, 40);
        gr_record_header_t hs[3] = {
            {ru_bytes("a"), ru_bytes("1")},
            {ru_bytes(""), ru_bytes(NULL)},
            {ru_bytes("big"), {(const uint8_t *)"\0\1\2", 3}},
        };
        assert_int_equal(gr_batch_builder_add(&bb, 1000, ru_bytes(NULL), ru_bytes(NULL), NULL, 0), 0);
        assert_int_equal(gr_batch_builder_add(&bb, 999, ru_bytes(""), ru_bytes("v"), hs, 3), 0);
        assert_int_equal(gr_batch_builder_add(&bb, 1500, ru_bytes("key"), ru_bytes(""), NULL, 0), 0);
        gr_buf_t b, scratch;
        gr_buf_init(&b);
        gr_buf_init(&scratch);
        assert_int_equal(gr_batch_builder_finish(&bb, &b), 0);
        gr_batch_builder_free(&bb);

        gr_record_iter_t it;
        assert_int_equal(gr_record_iter_init(&it, b.data, b.len, &scratch, 0), 0);
        assert_int_equal(gr_batch_codec(&it.hdr), all_codecs[c]);
        assert_int_equal(it.hdr.max_timestamp, 1500);
        gr_record_t r;
        assert_int_equal(gr_record_iter_next(&it, &r), 1);
        assert_int_equal(r.offset, 40);
        assert_int_equal(r.timestamp, 1000);
        assert_int_equal(r.key.len, -1);
        assert_null(r.key.ptr);
        assert_int_equal(r.value.len, -1);
        assert_int_equal(r.header_count, 0);

        assert_int_equal(gr_record_iter_next(&it, &r), 1);
        assert_int_equal(r.index, 1);
        assert_int_equal(r.offset, 41);
        assert_int_equal(r.timestamp, 999);
        assert_int_equal(r.timestamp_delta, -1);
        assert_int_equal(r.key.len, 0);
        assert_int_equal(r.value.len, 1);
        assert_memory_equal(r.value.ptr, "v", 1);
        assert_int_equal(r.header_count, 3);
        size_t pos = 0;
        gr_record_header_t h;
        assert_int_equal(gr_record_header_next(&r, &pos, &h), 1);
        assert_int_equal(h.key.len, 1);
        assert_memory_equal(h.key.ptr, "a", 1);
        assert_memory_equal(h.value.ptr, "1", 1);
        assert_int_equal(gr_record_header_next(&r, &pos, &h), 1);
        assert_int_equal(h.key.len, 0);
        assert_int_equal(h.value.len, -1);
        assert_int_equal(gr_record_header_next(&r, &pos, &h), 1);
        assert_int_equal(h.value.len, 3);
        assert_memory_equal(h.value.ptr, "\0\1\2", 3);
        assert_int_equal(gr_record_header_next(&r, &pos, &h), 0);

        assert_int_equal(gr_record_iter_next(&it, &r), 1);
        assert_int_equal(r.key.len, 3);
        assert_int_equal(r.value.len, 0);
        assert_int_equal(r.timestamp, 1500);
        assert_int_equal(gr_record_iter_next(&it, &r), 0);
        assert_int_equal(gr_record_iter_next(&it, &r), 0);

        /* Under LogAppendTime every record carries the batch's time. */
        gr_batch_set_max_timestamp(b.data, b.len, GR_TS_LOG_APPEND_TIME, 123456);
        assert_int_equal(gr_record_iter_init(&it, b.data, b.len, &scratch, 0), 0);
        while (gr_record_iter_next(&it, &r) == 1)
            assert_int_equal(r.timestamp, 123456);
        assert_int_equal(it.err, 0);
        /* A compressed batch needs scratch space. */
        if (all_codecs[c])
            assert_int_equal(gr_record_iter_init(&it, b.data, b.len, NULL, 0), GR_EINVAL);
        gr_buf_free(&b);
        gr_buf_free(&scratch);
    }
}

static void test_builder_errors(void **state)
{
    (void)state;
    gr_batch_builder_t bb;
    gr_buf_t b;
    gr_buf_init(&b);
    gr_batch_builder_init(&bb, 6);
    assert_int_equal(gr_batch_builder_add(&bb, 1, ru_bytes("k"), ru_bytes("v"), NULL, 0), GR_EUNSUPPORTED);
    assert_int_equal(gr_batch_builder_finish(&bb, &b), GR_EUNSUPPORTED);
    gr_batch_builder_free(&bb);
    gr_batch_builder_init(&bb, GR_CODEC_NONE);
    gr_record_header_t bad = {ru_bytes(NULL), ru_bytes("v")};
    assert_int_equal(gr_batch_builder_add(&bb, 1, ru_bytes("k"), ru_bytes("v"), &bad, 1), GR_EINVAL);
    assert_int_equal(gr_batch_builder_finish(&bb, &b), GR_EINVAL);
    assert_int_equal(b.len, 0);
    gr_batch_builder_free(&bb);
    /* An empty batch (as compaction leaves) is well formed. */
    gr_batch_builder_init(&bb, GR_CODEC_ZSTD);
    assert_int_equal(gr_batch_builder_finish(&bb, &b), 0);
    gr_batch_builder_free(&bb);
    assert_int_equal(b.len, GR_BATCH_HDR_SIZE);
    gr_record_iter_t it;
    gr_record_t r;
    assert_int_equal(gr_record_iter_init(&it, b.data, b.len, NULL, 0), 0);
    assert_int_equal(gr_record_iter_next(&it, &r), 0);
    gr_buf_free(&b);
}

/* ---- validation: valid input ---- */

static void test_valid_every_codec(void **state)
{
    (void)state;
    for (int c = 0; c < NALL; c++) {
        gr_buf_t b;
        gr_buf_init(&b);
        assert_int_equal(ru_build(&b, all_codecs[c], 50, 1700000000000 - 5, 0), 0);
        uint8_t *copy = malloc(b.len);
        memcpy(copy, b.data, b.len);
        vt_t t;
        vt_init(&t);
        assert_int_equal(validate(&t, &b), GR_KERR_NONE);
        assert_int_equal(t.r.batch_count, 1);
        assert_int_equal(t.r.record_count, 50);
        assert_int_equal(t.r.log_append_time_ms, -1);
        assert_false(t.r.rewritten);
        assert_memory_equal(copy, b.data, b.len); /* nothing to fix */
        gr_batch_info_t *i = &t.info[0];
        assert_int_equal(i->pos, 0);
        assert_int_equal(i->size, b.len);
        assert_int_equal(i->record_count, 50);
        assert_int_equal(i->codec, all_codecs[c]);
        assert_int_equal(i->producer_id, -1);
        assert_int_equal(i->base_sequence, -1);
        assert_int_equal(i->last_sequence, -1);
        assert_int_equal(i->max_timestamp, 1700000000000 + 44);
        assert_int_equal(i->offset_delta_of_max_timestamp, 49);
        free(copy);
        gr_buf_free(&b);
    }
}

static void test_idempotent_info(void **state)
{
    (void)state;
    gr_buf_t b;
    gr_buf_init(&b);
    gr_batch_builder_t bb;
    gr_batch_builder_init(&bb, GR_CODEC_LZ4);
    gr_batch_builder_set_producer(&bb, 4242, 2, 10, false);
    for (int i = 0; i < 3; i++)
        gr_batch_builder_add(&bb, 100, ru_bytes("k"), ru_bytes("v"), NULL, 0);
    assert_int_equal(gr_batch_builder_finish(&bb, &b), 0);
    gr_batch_builder_free(&bb);
    vt_t t;
    vt_init(&t);
    assert_int_equal(validate(&t, &b), GR_KERR_NONE);
    assert_int_equal(t.info[0].producer_id, 4242);
    assert_int_equal(t.info[0].producer_epoch, 2);
    assert_int_equal(t.info[0].base_sequence, 10);
    assert_int_equal(t.info[0].last_sequence, 12);
    assert_int_equal(t.info[0].offset_delta_of_max_timestamp, 0); /* first of equal maxima */

    /* A producer id without a sequence is refused. */
    ru_set32(b.data, b.len, GR_BATCH_OFF_BASE_SEQUENCE, -1);
    assert_int_equal(validate(&t, &b), GR_KERR_INVALID_RECORD);
    assert_false(t.r.error_message_on_wire);
    gr_buf_free(&b);
}

static void test_log_append_time(void **state)
{
    (void)state;
    for (int c = 0; c < NALL; c++) {
        gr_buf_t b;
        gr_buf_init(&b);
        assert_int_equal(ru_build(&b, all_codecs[c], 5, 1000, 0), 0);
        vt_t t;
        vt_init(&t);
        t.o.timestamp_type = GR_TS_LOG_APPEND_TIME;
        t.o.now_ms = 1700000000123;
        assert_int_equal(validate(&t, &b), GR_KERR_NONE);
        assert_true(t.r.rewritten);
        assert_int_equal(t.r.log_append_time_ms, 1700000000123);
        assert_true(gr_batch_crc_ok(b.data, b.len));
        gr_batch_hdr_t h;
        gr_batch_hdr_parse(b.data, b.len, &h);
        assert_int_equal(gr_batch_timestamp_type(&h), GR_TS_LOG_APPEND_TIME);
        assert_int_equal(h.max_timestamp, 1700000000123);
        assert_int_equal(h.base_timestamp, 1000); /* records keep their deltas */
        assert_int_equal(gr_batch_codec(&h), all_codecs[c]);
        assert_int_equal(t.info[0].max_timestamp, 1700000000123);
        /* The rewritten batch validates again, unchanged. */
        assert_int_equal(validate(&t, &b), GR_KERR_INVALID_TIMESTAMP); /* now a client LAT batch */
        t.o.produce_version = -1;
        assert_int_equal(validate(&t, &b), GR_KERR_NONE);
        assert_false(t.r.rewritten);
        gr_buf_free(&b);
    }
}

static void test_create_time_max_fixed(void **state)
{
    (void)state;
    gr_buf_t b;
    gr_buf_init(&b);
    assert_int_equal(ru_build(&b, GR_CODEC_SNAPPY, 3, 5000, 0), 0);
    ru_set64(b.data, b.len, GR_BATCH_OFF_MAX_TIMESTAMP, 1);
    vt_t t;
    vt_init(&t);
    assert_int_equal(validate(&t, &b), GR_KERR_NONE);
    assert_true(t.r.rewritten);
    assert_true(gr_batch_crc_ok(b.data, b.len));
    assert_int_equal((int64_t)gr_be64(b.data + GR_BATCH_OFF_MAX_TIMESTAMP), 5002);
    gr_buf_free(&b);
}

/* ---- validation: framing ---- */

static void test_empty_and_truncated(void **state)
{
    (void)state;
    vt_t t;
    vt_init(&t);
    gr_buf_t b;
    gr_buf_init(&b);
    assert_int_equal(gr_records_validate(NULL, 0, &t.o, &t.r), 0);
    assert_int_equal(t.r.error_code, GR_KERR_INVALID_RECORD);
    assert_int_equal(ru_build(&b, GR_CODEC_NONE, 3, 1, 0), 0);
    size_t full = b.len;
    /* Every cut of a lone batch: Kafka sees no batch at all. */
    for (size_t cut = 0; cut < full; cut++) {
        b.len = cut;
        assert_int_equal(validate(&t, &b), GR_KERR_INVALID_RECORD);
    }
    /* A batch followed by part of another. */
    b.len = full;
    gr_buf_put(&b, b.data, 30);
    assert_int_equal(validate(&t, &b), GR_KERR_CORRUPT_MESSAGE);
    b.len = full + 5;
    assert_int_equal(validate(&t, &b), GR_KERR_CORRUPT_MESSAGE);
    /* batchLength below Kafka's minimum overhead. */
    b.len = full;
    gr_wbe32(b.data + GR_BATCH_OFF_LENGTH, 13);
    assert_int_equal(validate(&t, &b), GR_KERR_CORRUPT_MESSAGE);
    gr_wbe32(b.data + GR_BATCH_OFF_LENGTH, -5);
    assert_int_equal(validate(&t, &b), GR_KERR_CORRUPT_MESSAGE);
    /* Long enough to frame, too short for a v2 header: a CRC failure. */
    gr_buf_t s;
    gr_buf_init(&s);
    gr_buf_put(&s, b.data, 40);
    gr_wbe32(s.data + GR_BATCH_OFF_LENGTH, 28);
    assert_int_equal(validate(&t, &s), GR_KERR_CORRUPT_MESSAGE);
    gr_buf_free(&s);
    gr_buf_free(&b);
}

static void test_magic_0_1(void **state)
{
    (void)state;
    for (int m = 0; m <= 3; m += 1) {
        if (m == 2)
            continue;
        gr_buf_t b;
        gr_buf_init(&b);
        assert_int_equal(ru_build(&b, GR_CODEC_NONE, 2, 1, 0), 0);
        b.data[GR_BATCH_OFF_MAGIC] = (uint8_t)m;
        vt_t t;
        vt_init(&t);
        assert_int_equal(validate(&t, &b), GR_KERR_INVALID_RECORD);
        assert_non_null(strstr(t.r.error_message, "magic version 2"));
        /* A magic-0 message shorter than a v2 header is refused the same way. */
        b.len = 26;
        gr_wbe32(b.data + GR_BATCH_OFF_LENGTH, 14);
        assert_int_equal(validate(&t, &b), GR_KERR_INVALID_RECORD);
        gr_buf_free(&b);
    }
}

static void test_two_batches(void **state)
{
    (void)state;
    gr_buf_t b;
    gr_buf_init(&b);
    assert_int_equal(ru_build(&b, GR_CODEC_NONE, 2, 1, 0), 0);
    assert_int_equal(ru_build(&b, GR_CODEC_GZIP, 3, 1, 0), 0);
    vt_t t;
    vt_init(&t);
    assert_int_equal(validate(&t, &b), GR_KERR_INVALID_RECORD);
    assert_non_null(strstr(t.r.error_message, "exactly one record batch"));
    assert_int_equal(t.r.batch_count, 0);
    /* Broker-made appends may carry several. */
    t.o.produce_version = -1;
    assert_int_equal(validate(&t, &b), GR_KERR_NONE);
    assert_int_equal(t.r.batch_count, 2);
    assert_int_equal(t.r.record_count, 5);
    assert_int_equal(t.info[1].pos, t.info[0].size);
    assert_int_equal(t.info[1].codec, GR_CODEC_GZIP);
    gr_buf_free(&b);
}

static void test_base_offset_and_size(void **state)
{
    (void)state;
    gr_buf_t b;
    gr_buf_init(&b);
    assert_int_equal(ru_build(&b, GR_CODEC_NONE, 10, 1, 0), 0);
    vt_t t;
    vt_init(&t);
    t.o.max_message_bytes = (int64_t)b.len;
    assert_int_equal(validate(&t, &b), GR_KERR_NONE);
    t.o.max_message_bytes = (int64_t)b.len - 1; /* the 12-byte overhead counts */
    assert_int_equal(validate(&t, &b), GR_KERR_MESSAGE_TOO_LARGE);
    t.o.max_message_bytes = 0;
    t.o.segment_bytes = (int64_t)b.len - 1;
    assert_int_equal(validate(&t, &b), GR_KERR_RECORD_LIST_TOO_LARGE);
    t.o.segment_bytes = 0;
    gr_batch_set_base_offset(b.data, 5);
    assert_int_equal(validate(&t, &b), GR_KERR_INVALID_RECORD);
    t.o.produce_version = -1;
    assert_int_equal(validate(&t, &b), GR_KERR_NONE);
    /* Regression (found by fuzzing): the last offset of a nonsense header
     * was computed with signed overflow while formatting the error. */
    gr_batch_set_base_offset(b.data, INT64_MIN);
    ru_set32(b.data, b.len, GR_BATCH_OFF_LAST_OFFSET_DELTA, -65536);
    assert_int_equal(validate(&t, &b), GR_KERR_CORRUPT_MESSAGE);
    gr_buf_free(&b);
}

static void test_bad_crc(void **state)
{
    (void)state;
    for (int c = 0; c < NALL; c++) {
        gr_buf_t b;
        gr_buf_init(&b);
        assert_int_equal(ru_build(&b, all_codecs[c], 4, 1, 0), 0);
        vt_t t;
        vt_init(&t);
        for (size_t i = GR_BATCH_OFF_CRC; i < b.len; i++) {
            b.data[i] ^= 0x10;
            assert_int_equal(validate(&t, &b), GR_KERR_CORRUPT_MESSAGE);
            b.data[i] ^= 0x10;
        }
        assert_int_equal(validate(&t, &b), GR_KERR_NONE);
        gr_buf_free(&b);
    }
}

static void test_zstd_old_produce(void **state)
{
    (void)state;
    gr_buf_t b;
    gr_buf_init(&b);
    assert_int_equal(ru_build(&b, GR_CODEC_ZSTD, 2, 1, 0), 0);
    vt_t t;
    vt_init(&t);
    t.o.produce_version = 6;
    assert_int_equal(validate(&t, &b), GR_KERR_UNSUPPORTED_COMPRESSION_TYPE);
    t.o.produce_version = 7;
    assert_int_equal(validate(&t, &b), GR_KERR_NONE);
    gr_buf_free(&b);
}

/* ---- validation: counts and records ---- */

static void test_wrong_counts(void **state)
{
    (void)state;
    for (int c = 0; c < NALL; c++) {
        gr_buf_t b;
        gr_buf_init(&b);
        assert_int_equal(ru_build(&b, all_codecs[c], 3, 1, 0), 0);
        vt_t t;
        vt_init(&t);
        /* count disagrees with lastOffsetDelta */
        ru_set32(b.data, b.len, GR_BATCH_OFF_RECORD_COUNT, 4);
        assert_int_equal(validate(&t, &b), GR_KERR_INVALID_RECORD);
        /* consistent header, but fewer records than it says */
        ru_set32(b.data, b.len, GR_BATCH_OFF_LAST_OFFSET_DELTA, 3);
        assert_int_equal(validate(&t, &b), GR_KERR_INVALID_RECORD);
        /* more records than it says */
        ru_set32(b.data, b.len, GR_BATCH_OFF_RECORD_COUNT, 2);
        ru_set32(b.data, b.len, GR_BATCH_OFF_LAST_OFFSET_DELTA, 1);
        assert_int_equal(validate(&t, &b), GR_KERR_INVALID_RECORD);
        assert_non_null(strstr(t.r.error_message, "remain"));
        /* empty and negative */
        ru_set32(b.data, b.len, GR_BATCH_OFF_RECORD_COUNT, 0);
        ru_set32(b.data, b.len, GR_BATCH_OFF_LAST_OFFSET_DELTA, -1);
        assert_int_equal(validate(&t, &b), GR_KERR_INVALID_RECORD);
        ru_set32(b.data, b.len, GR_BATCH_OFF_RECORD_COUNT, -3);
        assert_int_equal(validate(&t, &b), GR_KERR_INVALID_RECORD);
        t.o.produce_version = -1;
        assert_int_equal(validate(&t, &b), GR_KERR_CORRUPT_MESSAGE);
        gr_buf_free(&b);
    }
}

/* Records written by hand, to reach every parse error. */
static void put_record(gr_buf_t *o, int32_t off_delta, int32_t klen, const char *key, int32_t vlen,
                       int32_t nh, int32_t hklen)
{
    gr_buf_t body;
    gr_buf_init(&body);
    gr_buf_put_i8(&body, 0);
    gr_buf_put_varlong(&body, 0);
    gr_buf_put_varint(&body, off_delta);
    gr_buf_put_varint(&body, klen);
    if (klen > 0)
        gr_buf_put(&body, key, (size_t)klen);
    gr_buf_put_varint(&body, vlen);
    if (vlen > 0)
        gr_buf_put(&body, "vvvvvvvv", (size_t)vlen);
    gr_buf_put_varint(&body, nh);
    for (int i = 0; i < nh; i++) {
        gr_buf_put_varint(&body, hklen);
        if (hklen > 0)
            gr_buf_put(&body, "hk", (size_t)hklen);
        gr_buf_put_varint(&body, -1);
    }
    gr_buf_put_varint(o, (int32_t)body.len);
    gr_buf_put(o, body.data, body.len);
    gr_buf_free(&body);
}

static int16_t validate_records(const gr_buf_t *recs, int32_t count, int codec, gr_records_validate_opts_t *o)
{
    gr_buf_t b;
    gr_buf_init(&b);
    ru_wrap(&b, recs->data, recs->len, count, codec);
    vt_t t;
    vt_init(&t);
    if (o)
        t.o = *o;
    int16_t e = validate(&t, &b);
    gr_buf_free(&b);
    return e;
}

static void test_bad_records(void **state)
{
    (void)state;
    for (int c = 0; c < NALL; c++) {
        int codec = all_codecs[c];
        gr_buf_t r;
        gr_buf_init(&r);
        put_record(&r, 0, 1, "k", 2, 1, 2);
        put_record(&r, 1, -1, NULL, -1, 0, 0);
        assert_int_equal(validate_records(&r, 2, codec, NULL), GR_KERR_NONE);

        /* offset delta not equal to the index */
        gr_buf_reset(&r);
        put_record(&r, 0, 1, "k", 2, 0, 0);
        put_record(&r, 2, 1, "k", 2, 0, 0);
        assert_int_equal(validate_records(&r, 2, codec, NULL), GR_KERR_INVALID_RECORD);
        gr_records_validate_opts_t trusted = ru_opts();
        trusted.produce_version = -1;
        /* ...which a broker-made (compacted) batch may have, within its range */
        gr_buf_t b;
        gr_buf_init(&b);
        ru_wrap(&b, r.data, r.len, 2, codec);
        ru_set32(b.data, b.len, GR_BATCH_OFF_LAST_OFFSET_DELTA, 2);
        vt_t t;
        vt_init(&t);
        t.o = trusted;
        assert_int_equal(validate(&t, &b), GR_KERR_NONE);
        /* but not past its lastOffsetDelta */
        ru_set32(b.data, b.len, GR_BATCH_OFF_LAST_OFFSET_DELTA, 1);
        assert_int_equal(validate(&t, &b), GR_KERR_INVALID_RECORD);
        gr_buf_free(&b);

        /* key length below -1, value length past the end */
        gr_buf_reset(&r);
        put_record(&r, 0, -2, NULL, 1, 0, 0);
        assert_int_equal(validate_records(&r, 1, codec, NULL), GR_KERR_INVALID_RECORD);
        gr_buf_reset(&r);
        put_record(&r, 0, 1, "k", 2, 0, 0);
        r.data[r.len - 4] = 0x7e; /* value length varint -> 63 */
        assert_int_equal(validate_records(&r, 1, codec, NULL), GR_KERR_INVALID_RECORD);
        /* negative header count, null header key */
        gr_buf_reset(&r);
        put_record(&r, 0, 1, "k", 1, -1, 0);
        assert_int_equal(validate_records(&r, 1, codec, NULL), GR_KERR_INVALID_RECORD);
        gr_buf_reset(&r);
        put_record(&r, 0, 1, "k", 1, 1, -1);
        assert_int_equal(validate_records(&r, 1, codec, NULL), GR_KERR_INVALID_RECORD);
        /* record length longer / shorter than its contents */
        gr_buf_reset(&r);
        put_record(&r, 0, 1, "k", 1, 0, 0);
        gr_buf_put_i8(&r, 0);
        r.data[0]++;
        assert_int_equal(validate_records(&r, 1, codec, NULL), GR_KERR_INVALID_RECORD);
        r.data[0] -= 2;
        assert_int_equal(validate_records(&r, 1, codec, NULL), GR_KERR_INVALID_RECORD);
        /* varints: a 6-byte varint, a record length varint running off the end */
        gr_buf_reset(&r);
        gr_buf_put(&r, "\x80\x80\x80\x80\x80\x00", 6);
        assert_int_equal(validate_records(&r, 1, codec, NULL), GR_KERR_INVALID_RECORD);
        gr_buf_reset(&r);
        gr_buf_put(&r, "\xff\xff\xff", 3);
        assert_int_equal(validate_records(&r, 1, codec, NULL), GR_KERR_INVALID_RECORD);
        gr_buf_reset(&r);
        gr_buf_put(&r, "\xfe\xff\xff\xff\x0f", 5); /* INT32_MAX */
        assert_int_equal(validate_records(&r, 1, codec, NULL), GR_KERR_INVALID_RECORD);
        gr_buf_free(&r);
    }
}

static void test_unknown_codec(void **state)
{
    (void)state;
    gr_buf_t r;
    gr_buf_init(&r);
    put_record(&r, 0, 1, "k", 1, 0, 0);
    for (int codec = 5; codec <= 7; codec++)
        assert_int_equal(validate_records(&r, 1, codec, NULL), GR_KERR_UNSUPPORTED_COMPRESSION_TYPE);
    /* A codec bit set over data that is not compressed. */
    gr_buf_t b;
    gr_buf_init(&b);
    ru_wrap(&b, r.data, r.len, 1, GR_CODEC_NONE);
    for (int codec = 1; codec <= 4; codec++) {
        ru_set16(b.data, b.len, GR_BATCH_OFF_ATTRIBUTES, (int16_t)codec);
        vt_t t;
        vt_init(&t);
        assert_int_equal(validate(&t, &b), GR_KERR_INVALID_RECORD);
    }
    gr_buf_free(&b);
    gr_buf_free(&r);
}

static void test_zip_bomb(void **state)
{
    (void)state;
    size_t n = (size_t)32 << 20;
    uint8_t *zeros = calloc(1, n);
    for (int c = 1; c < NALL; c++) {
        gr_buf_t b;
        gr_buf_init(&b);
        ru_wrap(&b, zeros, n, 1, all_codecs[c]);
        assert_true(b.len < (size_t)4 << 20);
        vt_t t;
        vt_init(&t);
        t.o.max_decompressed_bytes = (size_t)1 << 20;
        gr_buf_t scratch;
        gr_buf_init(&scratch);
        t.o.scratch = &scratch;
        assert_int_equal(validate(&t, &b), GR_KERR_MESSAGE_TOO_LARGE);
        assert_true(scratch.cap <= (size_t)3 << 20);
        gr_buf_free(&scratch);
        gr_buf_free(&b);
    }
    free(zeros);
}

/* ---- validation: record-level errors ---- */

static void test_compacted_needs_keys(void **state)
{
    (void)state;
    for (int c = 0; c < NALL; c++) {
        gr_buf_t b;
        gr_buf_init(&b);
        assert_int_equal(ru_build(&b, all_codecs[c], 3, 1, 1), 0);
        vt_t t;
        vt_init(&t);
        assert_int_equal(validate(&t, &b), GR_KERR_NONE);
        t.o.require_keys = true;
        assert_int_equal(validate(&t, &b), GR_KERR_INVALID_RECORD);
        assert_true(t.r.error_message_on_wire);
        assert_int_equal(t.r.record_error_count, 1);
        assert_int_equal(t.r.record_errors[0].batch_index, 1);
        assert_non_null(strstr(t.r.record_errors[0].message, "without key"));
        assert_non_null(strstr(t.r.record_errors[0].message, "t-0"));
        assert_int_equal(t.r.batch_count, 0);
        gr_buf_free(&b);
    }
}

static void test_timestamp_range(void **state)
{
    (void)state;
    gr_buf_t b;
    gr_buf_init(&b);
    int64_t now = 1700000000000;
    assert_int_equal(ru_build(&b, GR_CODEC_GZIP, 30, now - 10, 0), 0); /* now-10 .. now+19 */
    vt_t t;
    vt_init(&t);
    t.o.now_ms = now;
    t.o.timestamp_before_max_ms = 5;
    assert_int_equal(validate(&t, &b), GR_KERR_INVALID_TIMESTAMP);
    assert_true(t.r.error_message_on_wire);
    assert_int_equal(t.r.record_error_count, 5); /* now-10 .. now-6 */
    assert_int_equal(t.r.record_errors[4].batch_index, 4);
    t.o.timestamp_before_max_ms = INT64_MAX;
    t.o.timestamp_after_max_ms = 10;
    assert_int_equal(validate(&t, &b), GR_KERR_INVALID_TIMESTAMP);
    assert_int_equal(t.r.record_error_count, 9); /* now+11 .. now+19 */
    assert_int_equal(t.r.record_errors[0].batch_index, 21);
    /* Over the kept maximum: all counted, the first few kept. */
    t.o.timestamp_after_max_ms = 0;
    t.o.timestamp_before_max_ms = 1;
    t.o.now_ms = INT64_MAX; /* extreme clock must not overflow */
    assert_int_equal(validate(&t, &b), GR_KERR_INVALID_TIMESTAMP);
    assert_int_equal(t.r.record_error_count, 30);
    /* A key error wins over a timestamp error in the same record, and any
     * timestamp error makes the whole answer INVALID_TIMESTAMP. */
    gr_buf_reset(&b);
    assert_int_equal(ru_build(&b, GR_CODEC_NONE, 3, 5, 1), 0);
    t.o.now_ms = now;
    t.o.require_keys = true;
    assert_int_equal(validate(&t, &b), GR_KERR_INVALID_TIMESTAMP);
    assert_int_equal(t.r.record_error_count, 3);
    assert_non_null(strstr(t.r.record_errors[1].message, "without key"));
    /* No-timestamp records (-1) are not range-checked. */
    gr_buf_reset(&b);
    assert_int_equal(ru_build(&b, GR_CODEC_NONE, 1, -1, 0), 0);
    t.o.require_keys = false;
    assert_int_equal(validate(&t, &b), GR_KERR_NONE);
    gr_buf_free(&b);
}

static void test_client_log_append_time_bit(void **state)
{
    (void)state;
    gr_buf_t b;
    gr_buf_init(&b);
    assert_int_equal(ru_build(&b, GR_CODEC_NONE, 2, 100, 0), 0);
    ru_set16(b.data, b.len, GR_BATCH_OFF_ATTRIBUTES, GR_BATCH_ATTR_LOG_APPEND_TIME);
    vt_t t;
    vt_init(&t);
    t.o.timestamp_type = GR_TS_LOG_APPEND_TIME;
    assert_int_equal(validate(&t, &b), GR_KERR_INVALID_TIMESTAMP);
    assert_non_null(strstr(t.r.record_errors[0].message, "LogAppendTime"));
    gr_buf_free(&b);
}

static void test_control_batch(void **state)
{
    (void)state;
    gr_buf_t b;
    gr_buf_init(&b);
    gr_batch_builder_t bb;
    gr_batch_builder_init(&bb, GR_CODEC_NONE);
    gr_batch_builder_set_producer(&bb, 7, 0, 0, true);
    gr_batch_builder_set_control(&bb, true);
    uint8_t key[4] = {0, 0, 0, 1}; /* version 0, type COMMIT */
    gr_bytes_t k = {key, 4};
    gr_batch_builder_add(&bb, 5, k, ru_bytes("ctl"), NULL, 0);
    assert_int_equal(gr_batch_builder_finish(&bb, &b), 0);
    gr_batch_builder_free(&bb);
    vt_t t;
    vt_init(&t);
    assert_int_equal(validate(&t, &b), GR_KERR_INVALID_RECORD);
    assert_non_null(strstr(t.r.error_message, "control"));
    t.o.produce_version = -1;
    assert_int_equal(validate(&t, &b), GR_KERR_NONE);
    assert_true(t.info[0].control);
    assert_true(t.info[0].transactional);
    gr_buf_free(&b);
}

/* Random damage to valid batches of every codec, with and without a fixed
 * CRC, and random cuts: never a crash, never an unexpected return. */
static void test_mutations_never_crash(void **state)
{
    (void)state;
    uint64_t seed = 7;
    gr_buf_t scratch;
    gr_buf_init(&scratch);
    for (int c = 0; c < NALL; c++) {
        gr_buf_t orig;
        gr_buf_init(&orig);
        assert_int_equal(ru_build(&orig, all_codecs[c], 20, 1, 1), 0);
        gr_buf_t b;
        gr_buf_init(&b);
        for (int round = 0; round < 3000; round++) {
            gr_buf_reset(&b);
            gr_buf_put(&b, orig.data, orig.len);
            int nflip = 1 + (int)(ru_rand(&seed) % 4);
            for (int i = 0; i < nflip; i++) {
                size_t at = ru_rand(&seed) % b.len;
                /* Mostly hit the records; they are the deep part. */
                if (round % 2 && b.len > GR_BATCH_HDR_SIZE)
                    at = GR_BATCH_HDR_SIZE + ru_rand(&seed) % (b.len - GR_BATCH_HDR_SIZE);
                b.data[at] = (uint8_t)ru_rand(&seed);
            }
            if (round % 5 == 0)
                b.len = ru_rand(&seed) % (b.len + 1);
            if (round % 3 && b.len >= GR_BATCH_HDR_SIZE)
                ru_fix_crc(b.data, b.len);
            vt_t t;
            vt_init(&t);
            t.o.produce_version = round % 7 == 0 ? -1 : 9;
            t.o.require_keys = round % 11 == 0;
            t.o.max_decompressed_bytes = 1 << 16;
            t.o.scratch = &scratch;
            t.r.batches = t.info;
            t.r.batches_cap = 4;
            assert_int_equal(gr_records_validate(b.data, b.len, &t.o, &t.r), 0);
            assert_true(gr_kerr_known(t.r.error_code));
            /* And the iterator over the same bytes. */
            gr_record_iter_t it;
            gr_record_t r;
            if (gr_record_iter_init(&it, b.data, b.len, &scratch, 1 << 16) == 0) {
                int rc;
                while ((rc = gr_record_iter_next(&it, &r)) == 1) {
                    size_t pos = 0;
                    gr_record_header_t h;
                    while (gr_record_header_next(&r, &pos, &h) == 1)
                        ;
                }
                assert_true(rc == 0 || rc == GR_EMALFORMED);
            }
        }
        gr_buf_free(&b);
        gr_buf_free(&orig);
    }
    gr_buf_free(&scratch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_names),
        cmocka_unit_test(test_header_fields),
        cmocka_unit_test(test_iterator_roundtrip),
        cmocka_unit_test(test_builder_errors),
        cmocka_unit_test(test_valid_every_codec),
        cmocka_unit_test(test_idempotent_info),
        cmocka_unit_test(test_log_append_time),
        cmocka_unit_test(test_create_time_max_fixed),
        cmocka_unit_test(test_empty_and_truncated),
        cmocka_unit_test(test_magic_0_1),
        cmocka_unit_test(test_two_batches),
        cmocka_unit_test(test_base_offset_and_size),
        cmocka_unit_test(test_bad_crc),
        cmocka_unit_test(test_zstd_old_produce),
        cmocka_unit_test(test_wrong_counts),
        cmocka_unit_test(test_bad_records),
        cmocka_unit_test(test_unknown_codec),
        cmocka_unit_test(test_zip_bomb),
        cmocka_unit_test(test_compacted_needs_keys),
        cmocka_unit_test(test_timestamp_range),
        cmocka_unit_test(test_client_log_append_time_bit),
        cmocka_unit_test(test_control_batch),
        cmocka_unit_test(test_mutations_never_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
