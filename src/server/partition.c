/* Hosted partitions: append, read, flush and long-poll wake-ups; see
 * partition.h. */
#include "server/partition.h"
#include "api/describe_configs.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/splice.h"
#include "log/log_io.h"
#include "log/log_manager.h"
#include "log/partition_log.h"
#include "protocol/compress.h"
#include "protocol/errors.h"
#include "protocol/records.h"
#include "txn/producer_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The topic's effective configuration, rebuilt after its configs changed. */
const gr_topic_config_t *gr_part_config(gr_part_t *part)
{
    if (!part->tc_valid) {
        if (gr_api_topic_config_build(part->broker, part->topic->configs, NULL, 0, &part->tc) != 0)
            return NULL;
        part->tc_valid = true;
    }
    return &part->tc;
}

/* The codec a topic's compression.type asks for, or -1 for "producer"
 * (keep what the producer sent). */
static int topic_codec(const gr_topic_config_t *tc)
{
    const char *c = tc->compression_type;
    if (!c || strcmp(c, "producer") == 0)
        return -1;
    if (strcmp(c, "uncompressed") == 0)
        return GR_CODEC_NONE;
    if (strcmp(c, "gzip") == 0)
        return GR_CODEC_GZIP;
    if (strcmp(c, "snappy") == 0)
        return GR_CODEC_SNAPPY;
    if (strcmp(c, "lz4") == 0)
        return GR_CODEC_LZ4;
    if (strcmp(c, "zstd") == 0)
        return GR_CODEC_ZSTD;
    return -1;
}

/* Rewrites validated batches in another codec, keeping every record's
 * offset delta, timestamp, key, value and headers and the producer fields.
 * The new bytes live in the arena. Returns 0 or a negative error. */
static int recompress(uint8_t *in, size_t len, int codec, bool log_append_time, int64_t now,
                      gr_arena_t *arena, uint8_t **out, size_t *out_len)
{
    gr_buf_t res, scratch;
    gr_buf_init(&res);
    gr_buf_init(&scratch);
    int rc = 0;
    size_t pos = 0;
    while (rc == 0 && pos + 61 <= len) {
        size_t blen = 12 + (size_t)(int32_t)gr_be32(in + pos + 8);
        gr_batch_hdr_t h;
        gr_record_iter_t it;
        if (blen > len - pos || gr_batch_hdr_parse(in + pos, blen, &h) != 0 ||
            gr_record_iter_init(&it, in + pos, blen, &scratch, 0) != 0) {
            rc = GR_EMALFORMED;
            break;
        }
        gr_batch_builder_t bb;
        gr_batch_builder_init(&bb, codec);
        gr_batch_builder_set_partition_leader_epoch(&bb, h.partition_leader_epoch);
        if (h.producer_id >= 0)
            gr_batch_builder_set_producer(&bb, h.producer_id, h.producer_epoch, h.base_sequence,
                                          gr_batch_is_transactional(&h));
        if (log_append_time)
            gr_batch_builder_set_log_append_time(&bb, now);
        gr_record_t r;
        int n;
        while ((n = gr_record_iter_next(&it, &r)) == 1) {
            gr_record_header_t hdrs[64];
            int32_t nh = 0;
            size_t hp = 0;
            gr_record_header_t hh;
            while (nh < 64 && gr_record_header_next(&r, &hp, &hh) == 1)
                hdrs[nh++] = hh;
            if (nh < r.header_count) {
                rc = GR_EUNSUPPORTED; /* more headers than we carry over */
                break;
            }
            if ((rc = gr_batch_builder_add(&bb, r.timestamp, r.key, r.value, hdrs, nh)) != 0)
                break;
        }
        if (rc == 0 && n < 0)
            rc = n;
        if (rc == 0)
            rc = gr_batch_builder_finish(&bb, &res);
        gr_batch_builder_free(&bb);
        pos += blen;
    }
    if (rc == 0) {
        uint8_t *p = gr_arena_alloc(arena, res.len ? res.len : 1);
        if (!p) {
            rc = GR_ENOMEM;
        } else {
            memcpy(p, res.data, res.len);
            *out = p;
            *out_len = res.len;
        }
    }
    gr_buf_free(&res);
    gr_buf_free(&scratch);
    return rc;
}

void gr_part_append(gr_part_t *part, int16_t produce_version, uint8_t *records, size_t len, gr_arena_t *arena,
                    gr_part_append_result_t *res)
{
    memset(res, 0, sizeof *res);
    res->base_offset = -1;
    res->last_offset = -1;
    res->log_append_time = -1;
    res->bad_batch_index = -1;
    res->bad_record_index = -1;

    const gr_topic_config_t *tc = gr_part_config(part);
    if (!tc) {
        res->error = GR_KERR_UNKNOWN_SERVER_ERROR;
        return;
    }
    gr_records_validate_opts_t opts;
    memset(&opts, 0, sizeof opts);
    opts.produce_version = produce_version;
    opts.max_message_bytes = tc->max_message_bytes;
    opts.segment_bytes = tc->segment_bytes;
    opts.require_keys = tc->cleanup_compact;
    opts.timestamp_type = tc->log_append_time ? GR_TS_LOG_APPEND_TIME : GR_TS_CREATE_TIME;
    opts.now_ms = gr_clock_wall_ms();
    opts.timestamp_before_max_ms = tc->message_timestamp_before_max_ms;
    opts.timestamp_after_max_ms = tc->message_timestamp_after_max_ms;
    opts.topic = part->topic->name;
    opts.partition = part->id;

    gr_records_validate_result_t *vr = gr_arena_alloc(arena, sizeof *vr);
    gr_batch_info_t *infos = gr_arena_calloc(arena, 8, sizeof *infos);
    if (!vr || !infos) {
        res->error = GR_KERR_UNKNOWN_SERVER_ERROR;
        return;
    }
    vr->batches = infos;
    vr->batches_cap = 8;
    if (gr_records_validate(records, len, &opts, vr) != 0) {
        res->error = GR_KERR_UNKNOWN_SERVER_ERROR;
        return;
    }
    if (vr->error_code) {
        res->error = vr->error_code;
        res->error_message = vr->error_message_on_wire
                                 ? gr_arena_strndup(arena, vr->error_message, strlen(vr->error_message))
                                 : NULL;
        if (vr->record_error_count > 0) {
            res->bad_batch_index = 0;
            res->bad_record_index = vr->record_errors[0].batch_index;
            res->error_message = gr_arena_strndup(arena, vr->record_errors[0].message,
                                                  strlen(vr->record_errors[0].message));
        }
        GR_LOG_RL(GR_LOG_INFO, "produce", "%s-%d: refused records: %s (%s)", part->topic->name,
                  part->id, vr->error_message, gr_kerr_name(vr->error_code));
        return;
    }

    /* Idempotence: a producer's batch is checked against its last sequences. */
    gr_batch_info_t *bi = vr->batch_count > 0 ? &infos[0] : NULL;
    bool idempotent = bi && bi->producer_id >= 0 && part->pstate;
    if (idempotent) {
        int64_t dup_offset = -1;
        int16_t e = gr_pstate_check(part->pstate, bi->producer_id, bi->producer_epoch,
                                    bi->base_sequence, bi->last_sequence, &dup_offset);
        if (e == GR_PSTATE_DUPLICATE) {
            /* A retry of a batch already in the log: answer with its offset. */
            res->base_offset = dup_offset;
            res->last_offset = dup_offset + bi->record_count - 1;
            res->log_append_time = vr->log_append_time_ms;
            return;
        }
        if (e != 0) {
            res->error = e;
            return;
        }
    }

    /* A topic with its own compression.type stores batches in that codec. */
    int codec = topic_codec(tc);
    if (codec >= 0 && bi && bi->codec != codec) {
        uint8_t *nb;
        size_t nlen;
        int rrc = recompress(records, len, codec, tc->log_append_time, opts.now_ms, arena, &nb, &nlen);
        if (rrc != 0) {
            gr_log(GR_LOG_WARN, "produce", "%s-%d: cannot recompress a batch: %s", part->topic->name,
                   part->id, gr_strerror(rrc));
            res->error = GR_KERR_INVALID_RECORD;
            return;
        }
        records = nb;
        len = nlen;
    }

    int64_t base = -1, last = -1;
    gr_meta_partition_t *mp = gr_meta_partition(part->topic, part->id);
    int rc = gr_plog_append(part->log, records, len, mp ? mp->leader_epoch : 0, &base, &last);
    if (rc != 0) {
        gr_log(GR_LOG_ERROR, "log", "%s-%d: append failed: %s", part->topic->name, part->id,
               gr_strerror(rc));
        res->error = GR_KERR_KAFKA_STORAGE_ERROR;
        return;
    }
    if (idempotent)
        gr_pstate_update(part->pstate, bi->producer_id, bi->producer_epoch, bi->base_sequence,
                         bi->last_sequence, base, last, bi->max_timestamp);
    res->base_offset = base;
    res->last_offset = last;
    res->log_append_time = vr->log_append_time_ms;

    /* One node: appended is committed. Wake the long polls. */
    gr_plog_set_hw(part->log, last + 1);
    gr_fetch_waiter_t *w = part->waiters;
    part->waiters = NULL;
    while (w) {
        gr_fetch_waiter_t *next = w->next;
        w->next = w->prev = NULL;
        w->part = NULL;
        w->cb(w);
        w = next;
    }
}

void gr_part_flush_async(gr_part_t *part, int64_t last_offset, gr_part_flush_cb cb, void *arg)
{
    int rc = gr_logmgr_flush_async(part->broker->logs, part->log, last_offset + 1, cb, arg);
    if (rc != 0)
        cb(arg, rc);
}

/* The slice gr_part_read and gr_part_read_splice send; an empty slice
 * (nothing to send) with GR_KERR_NONE when nothing fits. partial: cut at
 * max_bytes inside a batch, as Kafka's fetch does. */
static int16_t part_slice(gr_part_t *part, int64_t offset, int32_t max_bytes, bool min_one,
                          bool partial, gr_plog_slice_t *sl)
{
    memset(sl, 0, sizeof *sl);
    sl->fd = -1;
    int64_t hw = gr_plog_hw(part->log);
    if (offset < gr_plog_start_offset(part->log) || offset > gr_plog_leo(part->log))
        return GR_KERR_OFFSET_OUT_OF_RANGE;
    if (offset >= hw)
        return GR_KERR_NONE;
    size_t mb = max_bytes > 0 ? (size_t)max_bytes : 0;
    int rc = partial ? gr_plog_read_fetch(part->log, offset, mb, hw, sl)
                     : gr_plog_read(part->log, offset, mb, hw, sl);
    if (rc == GR_ERANGE)
        return GR_KERR_OFFSET_OUT_OF_RANGE;
    if (rc != 0)
        return GR_KERR_KAFKA_STORAGE_ERROR;
    if (sl->len == 0 || (!min_one && sl->len > (size_t)max_bytes))
        gr_plog_slice_release(sl);
    return GR_KERR_NONE;
}

static int16_t read_copy(gr_part_t *part, int64_t offset, int32_t max_bytes, bool min_one,
                         bool partial, gr_arena_t *arena, gr_bytes_t *out)
{
    out->ptr = (const uint8_t *)"";
    out->len = 0;
    gr_plog_slice_t sl;
    int16_t err = part_slice(part, offset, max_bytes, min_one, partial, &sl);
    if (err || sl.len == 0)
        return err;
    uint8_t *p = gr_arena_alloc(arena, sl.len);
    if (!p) {
        gr_plog_slice_release(&sl);
        return GR_KERR_UNKNOWN_SERVER_ERROR;
    }
    int rc = gr_log_io_pread_all(sl.fd, p, sl.len, sl.pos);
    size_t n = sl.len;
    gr_plog_slice_release(&sl);
    if (rc != 0)
        return GR_KERR_KAFKA_STORAGE_ERROR;
    out->ptr = p;
    out->len = (int32_t)n;
    return GR_KERR_NONE;
}

int16_t gr_part_read(gr_part_t *part, int64_t offset, int32_t max_bytes, bool min_one,
                     gr_arena_t *arena, gr_bytes_t *out)
{
    return read_copy(part, offset, max_bytes, min_one, false, arena, out);
}

int16_t gr_part_read_fetch_copy(gr_part_t *part, int64_t offset, int32_t max_bytes, bool min_one,
                                gr_arena_t *arena, gr_bytes_t *out)
{
    return read_copy(part, offset, max_bytes, min_one, true, arena, out);
}

static void seg_release(void *seg) { gr_log_segment_unref(seg); }

int16_t gr_part_read_splice(gr_part_t *part, int64_t offset, int32_t max_bytes, bool min_one,
                            gr_buf_t *resp, gr_bytes_t *out)
{
    out->ptr = (const uint8_t *)"";
    out->len = 0;
    gr_plog_slice_t sl;
    int16_t err = part_slice(part, offset, max_bytes, min_one, true, &sl);
    if (err || sl.len == 0)
        return err;
    const uint8_t *tag;
    /* The reference on the segment passes to the registered range. */
    if (gr_splices_add(resp, sl.fd, sl.pos, sl.len, seg_release, sl.seg, &tag) != 0)
        return GR_KERR_UNKNOWN_SERVER_ERROR;
    out->ptr = tag;
    out->len = (int32_t)sl.len;
    return GR_KERR_NONE;
}

int16_t gr_part_delete_records(gr_part_t *part, int64_t offset, int64_t *low_watermark)
{
    *low_watermark = -1;
    const gr_topic_config_t *tc = gr_part_config(part);
    if (!tc)
        return GR_KERR_UNKNOWN_SERVER_ERROR;
    if (!tc->cleanup_delete)
        return GR_KERR_POLICY_VIOLATION;
    int64_t hw = gr_plog_hw(part->log);
    if (offset == -1)
        offset = hw;
    if (offset < 0 || offset > hw)
        return GR_KERR_OFFSET_OUT_OF_RANGE;
    int rc = gr_plog_advance_start_offset(part->log, offset);
    if (rc) {
        gr_log(GR_LOG_ERROR, "log", "%s-%d: cannot delete records below %lld: %s",
               part->topic->name, part->id, (long long)offset, gr_strerror(rc));
        return GR_KERR_KAFKA_STORAGE_ERROR;
    }
    *low_watermark = gr_plog_start_offset(part->log);
    return GR_KERR_NONE;
}

int64_t gr_part_hw(gr_part_t *part) { return gr_plog_hw(part->log); }
int64_t gr_part_log_start(gr_part_t *part) { return gr_plog_start_offset(part->log); }
int64_t gr_part_leo(gr_part_t *part) { return gr_plog_leo(part->log); }

int32_t gr_part_leader_epoch(gr_part_t *part)
{
    gr_meta_partition_t *mp = gr_meta_partition(part->topic, part->id);
    return mp ? mp->leader_epoch : 0;
}

int16_t gr_part_check_epoch(gr_part_t *part, int32_t current)
{
    if (current < 0)
        return GR_KERR_NONE;
    int32_t epoch = gr_part_leader_epoch(part);
    if (current == epoch)
        return GR_KERR_NONE;
    return current < epoch ? GR_KERR_FENCED_LEADER_EPOCH : GR_KERR_UNKNOWN_LEADER_EPOCH;
}

void gr_part_add_waiter(gr_part_t *part, gr_fetch_waiter_t *w)
{
    w->part = part;
    w->prev = NULL;
    w->next = part->waiters;
    if (part->waiters)
        part->waiters->prev = w;
    part->waiters = w;
}

void gr_part_remove_waiter(gr_fetch_waiter_t *w)
{
    gr_part_t *part = w->part;
    if (!part)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        part->waiters = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->next = w->prev = NULL;
    w->part = NULL;
}
