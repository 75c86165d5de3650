/* libFuzzer target: the records blob of one Produce partition. Runs
 * gr_records_validate() on a copy (options vary with the input so more
 * paths run: client v9 or trusted append, compacted topic, LogAppendTime,
 * timestamp bounds), then walks every batch with gr_batch_span() and
 * iterates its records and headers with gr_record_iter_*().
 *
 * Consistency checks that abort like a crash:
 *   - a blob the validator accepts iterates cleanly, batch by batch, with
 *     exactly the record counts the validator reported, and each accepted
 *     batch's CRC matches after any rewrite;
 *   - validate returns 0 or GR_ENOMEM, never anything else;
 * and then down-converts the same bytes to message format v0 or v1 (Fetch
 * v0-3), which must return 0 with output inside the arena's bounds, or
 * GR_EUNSUPPORTED / GR_ECORRUPT / GR_ENOMEM. */
#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "protocol/downconvert.h"
#include "protocol/records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MESSAGE_BYTES ((int64_t)1 << 20)
#define MAX_DECOMPRESSED ((size_t)4 << 20)
#define NOW_MS INT64_C(1700000000000)
#define MAX_BATCH_INFOS 8

static void die(const char *what)
{
    fprintf(stderr, "fuzz_records: %s\n", what);
    abort();
}

/* Iterates all records of the batch at p[0..n); returns the number read,
 * or -1 if the batch does not iterate cleanly. */
static int64_t iterate_batch(const uint8_t *p, size_t n, gr_buf_t *scratch)
{
    gr_record_iter_t it;
    if (gr_record_iter_init(&it, p, n, scratch, MAX_DECOMPRESSED))
        return -1;
    int64_t count = 0;
    gr_record_t rec;
    int rc;
    while ((rc = gr_record_iter_next(&it, &rec)) == 1) {
        count++;
        /* Touch every byte the slices claim, so ASan checks them. */
        volatile uint8_t sink = 0;
        if (rec.key.len > 0)
            sink ^= rec.key.ptr[rec.key.len - 1];
        if (rec.value.len > 0)
            sink ^= rec.value.ptr[rec.value.len - 1];
        size_t pos = 0;
        gr_record_header_t hdr;
        int32_t nh = 0;
        int hr;
        while ((hr = gr_record_header_next(&rec, &pos, &hdr)) == 1) {
            nh++;
            if (hdr.key.len > 0)
                sink ^= hdr.key.ptr[hdr.key.len - 1];
            if (hdr.value.len > 0)
                sink ^= hdr.value.ptr[hdr.value.len - 1];
        }
        if (hr != 0 || nh != rec.header_count)
            die("headers of a parsed record do not walk");
        (void)sink;
    }
    return rc == 0 ? count : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        abort();
    if (size)
        memcpy(copy, data, size);

    /* Options from the last byte, so a mutation can pick them without
     * disturbing the batch framing up front. */
    uint8_t sel = size ? data[size - 1] : 0;
    gr_buf_t scratch;
    gr_buf_init(&scratch);
    gr_records_validate_opts_t o;
    memset(&o, 0, sizeof o);
    o.produce_version = (sel & 1) ? -1 : 9;
    o.max_message_bytes = MAX_MESSAGE_BYTES;
    o.max_decompressed_bytes = MAX_DECOMPRESSED;
    o.require_keys = sel & 2;
    o.timestamp_type = (sel & 4) ? GR_TS_LOG_APPEND_TIME : GR_TS_CREATE_TIME;
    o.now_ms = NOW_MS;
    if (sel & 8) {
        o.timestamp_before_max_ms = 3600 * 1000;
        o.timestamp_after_max_ms = 3600 * 1000;
    }
    o.topic = "fuzz";
    o.scratch = (sel & 16) ? &scratch : NULL;

    gr_batch_info_t infos[MAX_BATCH_INFOS];
    gr_records_validate_result_t res;
    memset(&res, 0, sizeof res);
    res.batches = infos;
    res.batches_cap = MAX_BATCH_INFOS;
    int rc = gr_records_validate(copy, size, &o, &res);
    if (rc != 0 && rc != GR_ENOMEM)
        die("gr_records_validate returned an unexpected code");

    if (rc == 0 && res.error_code == 0) {
        if (res.batch_count < 1)
            die("accepted records with no batch");
        int64_t total = 0;
        for (int32_t i = 0; i < res.batch_count && i < MAX_BATCH_INFOS; i++) {
            const gr_batch_info_t *bi = &infos[i];
            if (bi->pos > size || bi->size > size - bi->pos)
                die("batch info out of range");
            if (!gr_batch_crc_ok(copy + bi->pos, bi->size))
                die("an accepted batch has a bad CRC after validation");
            int64_t n = iterate_batch(copy + bi->pos, bi->size, &scratch);
            if (n != bi->record_count)
                die("an accepted batch does not iterate to its record count");
            total += n;
        }
        if (res.batch_count <= MAX_BATCH_INFOS && total != res.record_count)
            die("record counts disagree");
    }

    /* Down-convert the bytes as stored (accepted or not: the converter
     * checks every CRC and length itself). */
    memcpy(copy, data, size);
    {
        gr_arena_t arena;
        gr_arena_init(&arena, 0);
        gr_bytes_t out;
        int64_t fetch_offset = (sel & 32) ? 0 : (int64_t)(sel >> 6);
        int dc = gr_downconvert(copy, size, (sel & 64) ? 1 : 0, fetch_offset, &arena, &out);
        if (dc == 0) {
            if (out.len < 0)
                die("down-conversion returned a negative length");
            volatile uint8_t sink = out.len > 0 ? out.ptr[out.len - 1] : 0;
            (void)sink;
        } else if (dc != GR_EUNSUPPORTED && dc != GR_ECORRUPT && dc != GR_ENOMEM) {
            die("gr_downconvert returned an unexpected code");
        }
        gr_arena_free(&arena);
    }

    /* Walk the original bytes too, accepted or not. */
    size_t pos = 0, bsize;
    while (pos < size && gr_batch_span(copy + pos, size - pos, &bsize) == 0) {
        if (bsize == 0 || bsize > size - pos)
            die("gr_batch_span returned a bad size");
        (void)iterate_batch(copy + pos, bsize, &scratch);
        pos += bsize;
    }

    gr_buf_free(&scratch);
    free(copy);
    return 0;
}
