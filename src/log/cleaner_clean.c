/* One cleaning of one log: the offset map over the dirty range (pass 1),
 * then the closed segments rewritten group by group and swapped in
 * (pass 2). See cleaner.h for the rules and cleaner_files.h for the file
 * protocol. Runs on a cleaner thread (or the loop thread for
 * gr_cleaner_clean_now); the log itself is only touched through the
 * loop requests at the end of each group. */
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "log/batch_hdr.h"
#include "log/cleaner_files.h"
#include "log/cleaner_int.h"
#include "log/log_io.h"
#include "log/segment.h"
#include "protocol/records.h"

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- reading a segment batch by batch ---- */

typedef struct {
    int       fd;
    int64_t   size;     /* bytes of the segment when the view was taken */
    int64_t   file_pos; /* file position of buf->data[0] */
    size_t    off;      /* next batch in buf */
    size_t    chunk;    /* preferred read size */
    gr_buf_t *buf;
} breader_t;

static void breader_init(breader_t *r, const gr_plog_seg_info_t *si, gr_buf_t *buf, size_t chunk)
{
    r->fd = gr_log_segment_fd(si->seg);
    r->size = si->size;
    r->file_pos = 0;
    r->off = 0;
    r->chunk = chunk;
    r->buf = buf;
    buf->len = 0;
}

/* Makes need bytes available from off. */
static int breader_fill(breader_t *r, size_t need)
{
    gr_buf_t *b = r->buf;
    size_t have = b->len - r->off;
    if (have >= need)
        return 0;
    if (have)
        memmove(b->data, b->data + r->off, have);
    r->file_pos += (int64_t)r->off;
    r->off = 0;
    b->len = have;
    int64_t left = r->size - (r->file_pos + (int64_t)have);
    size_t want = need > r->chunk ? need : r->chunk;
    size_t n = want - have;
    if ((int64_t)n > left)
        n = (size_t)left;
    if (have + n < need)
        return GR_ECORRUPT;
    if (gr_buf_reserve(b, n))
        return GR_ENOMEM;
    int rc = gr_log_io_pread_all(r->fd, b->data + have, n, r->file_pos + (int64_t)have);
    if (rc)
        return rc;
    b->len = have + n;
    return 0;
}

/* 1 and the next batch (valid until the next call), 0 at the end, or an
 * error (GR_ECORRUPT when the bytes are not batches). */
static int breader_next(breader_t *r, const uint8_t **batch, gr_log_batch_hdr_t *h)
{
    int64_t pos = r->file_pos + (int64_t)r->off;
    if (pos >= r->size)
        return 0;
    int rc = breader_fill(r, GR_LOGB_HDR_SIZE);
    if (rc)
        return rc;
    gr_log_batch_hdr_parse(r->buf->data + r->off, h);
    if (gr_log_batch_hdr_check(h, r->size - pos))
        return GR_ECORRUPT;
    size_t size = (size_t)gr_log_batch_size(h);
    if ((rc = breader_fill(r, size)) != 0)
        return rc;
    *batch = r->buf->data + r->off;
    r->off += size;
    return 1;
}

/* ---- pass 1: the offset map ---- */

static int map_batch(cworker_t *w, gr_cleaner_map_t *map, const uint8_t *b, size_t size)
{
    gr_record_iter_t it;
    int rc = gr_record_iter_init(&it, b, size, &w->scratch, 0);
    if (rc)
        return rc;
    gr_record_t rec;
    while ((rc = gr_record_iter_next(&it, &rec)) == 1) {
        if (rec.key.len < 0)
            continue;
        if ((rc = gr_cleaner_map_put(map, rec.key.ptr, (size_t)rec.key.len, rec.offset)) != 0)
            return rc;
    }
    return rc;
}

/* Maps [first_dirty, uncleanable) or as much of it as fits; *end gets the
 * offset after the last batch mapped. */
static int build_map(cworker_t *w, centry_t *e, const gr_plog_clean_view_t *v,
                     const gr_cleaner_grade_t *g, gr_cleaner_map_t *map, int64_t *end,
                     cresult_t *res)
{
    *end = g->first_dirty;
    bool full = false;
    for (size_t i = 0; i < v->n && !full; i++) {
        const gr_plog_seg_info_t *si = &v->segs[i];
        if (si->next <= g->first_dirty)
            continue;
        if (si->base >= g->uncleanable)
            break;
        breader_t r;
        breader_init(&r, si, &w->rbuf, w->io_bytes);
        const uint8_t *b;
        gr_log_batch_hdr_t h;
        int rc;
        while ((rc = breader_next(&r, &b, &h)) == 1) {
            int64_t last = gr_log_batch_last_offset(&h);
            if (last < g->first_dirty)
                continue;
            if (last >= g->uncleanable) {
                full = true; /* cannot happen: uncleanable is a segment base */
                break;
            }
            size_t size = (size_t)gr_log_batch_size(&h);
            if (!gr_batch_crc_ok(b, size))
                return GR_ECRC;
            if (h.attributes & GR_BATCH_ATTR_CONTROL) {
                *end = last + 1;
                continue;
            }
            if (gr_cleaner_map_room(map) < (size_t)(h.record_count > 0 ? h.record_count : 0)) {
                if (*end > g->first_dirty) {
                    full = true;
                    break;
                }
                gr_log(GR_LOG_WARN, "cleaner",
                       "%s-%" PRId32 ": one batch has more keys (%" PRId32
                       ") than the dedupe buffer holds; raise log.cleaner.dedupe.buffer.size",
                       e->topic, e->partition, h.record_count);
                return GR_ETOOBIG;
            }
            if ((rc = map_batch(w, map, b, size)) != 0)
                return rc;
            *end = last + 1;
        }
        if (rc < 0)
            return rc;
        res->st.bytes_read += (uint64_t)si->size;
        gr_cleaner_throttle(w->c, (size_t)si->size);
        if (gr_cleaner_should_abort(w->c, e))
            return -ECANCELED;
    }
    return 0;
}

/* ---- pass 2: rewriting ---- */

typedef struct {
    gr_record_t        *recs;
    size_t              nrecs, cap;
    gr_record_header_t *hdrs;
    size_t              hcap;
    /* producer id -> base offset of its last batch below the map's end
     * (open addressing, key -1 = empty), for keeping that batch */
    int64_t            *pid_key, *pid_last;
    size_t              pid_cap, pid_n;
    int64_t             pid_expired_before; /* batches older than this do not count */
} kept_t;

static size_t pid_slot(const kept_t *k, int64_t pid)
{
    size_t i = (size_t)(((uint64_t)pid * 0x9e3779b97f4a7c15ULL) >> 7) & (k->pid_cap - 1);
    while (k->pid_key[i] != -1 && k->pid_key[i] != pid)
        i = (i + 1) & (k->pid_cap - 1);
    return i;
}

static int pid_put(kept_t *k, int64_t pid, int64_t base)
{
    if (k->pid_n * 2 >= k->pid_cap) {
        size_t cap = k->pid_cap ? k->pid_cap * 2 : 64;
        int64_t *nk = malloc(cap * sizeof *nk), *nl = malloc(cap * sizeof *nl);
        if (!nk || !nl) {
            free(nk);
            free(nl);
            return GR_ENOMEM;
        }
        for (size_t i = 0; i < cap; i++)
            nk[i] = -1;
        kept_t nkp = {.pid_key = nk, .pid_last = nl, .pid_cap = cap};
        for (size_t i = 0; i < k->pid_cap; i++)
            if (k->pid_key[i] != -1) {
                size_t j = pid_slot(&nkp, k->pid_key[i]);
                nk[j] = k->pid_key[i];
                nl[j] = k->pid_last[i];
            }
        free(k->pid_key);
        free(k->pid_last);
        k->pid_key = nk;
        k->pid_last = nl;
        k->pid_cap = cap;
    }
    size_t i = pid_slot(k, pid);
    if (k->pid_key[i] == -1) {
        k->pid_key[i] = pid;
        k->pid_n++;
    }
    k->pid_last[i] = base;
    return 0;
}

static bool is_last_of_producer(const kept_t *k, int64_t pid, int64_t base)
{
    if (pid < 0 || k->pid_cap == 0)
        return false;
    size_t i = pid_slot(k, pid);
    return k->pid_key[i] == pid && k->pid_last[i] == base;
}

typedef struct {
    kept_t *k;
    int64_t end;
    int     rc;
} pid_scan_t;

static void on_scan_batch(void *arg, const uint8_t *hdr61, int fd, int64_t pos)
{
    (void)fd;
    (void)pos;
    pid_scan_t *ps = arg;
    gr_log_batch_hdr_t h;
    gr_log_batch_hdr_parse(hdr61, &h);
    if (ps->rc == 0 && h.producer_id >= 0 && h.base_offset < ps->end &&
        h.max_ts >= ps->k->pid_expired_before)
        ps->rc = pid_put(ps->k, h.producer_id, h.base_offset);
}

/* Notes the last batch of every producer in segs[0..n) below end: like
 * Kafka, the cleaner keeps it (empty if need be) so that the producer's
 * last sequence number survives for idempotence after a restart.
 * Producers idle longer than producer.id.expiration.ms are let go. */
static int scan_producers(kept_t *k, gr_plog_seg_info_t *segs, size_t n, int64_t end)
{
    pid_scan_t ps = {k, end, 0};
    for (size_t i = 0; i < n && ps.rc == 0; i++) {
        int rc = gr_log_segment_scan(segs[i].seg, 0, on_scan_batch, &ps);
        if (rc)
            return rc;
    }
    return ps.rc;
}

/* Kafka's DefaultRecordBatch.writeEmptyHeader: the batch's offsets,
 * producer fields and epoch, no record. */
static void put_empty_batch(gr_buf_t *out, const gr_batch_hdr_t *h)
{
    uint8_t b[GR_BATCH_HDR_SIZE];
    memset(b, 0, sizeof b);
    int16_t attr = (int16_t)(h->attributes & (GR_BATCH_ATTR_LOG_APPEND_TIME |
                                              GR_BATCH_ATTR_TRANSACTIONAL | GR_BATCH_ATTR_CONTROL));
    gr_wbe64(b + GR_BATCH_OFF_BASE_OFFSET, (uint64_t)h->base_offset);
    gr_wbe32(b + GR_BATCH_OFF_LENGTH, GR_BATCH_HDR_SIZE - GR_LOG_OVERHEAD);
    gr_wbe32(b + GR_BATCH_OFF_LEADER_EPOCH, (uint32_t)h->partition_leader_epoch);
    b[GR_BATCH_OFF_MAGIC] = 2;
    gr_wbe16(b + GR_BATCH_OFF_ATTRIBUTES, (uint16_t)attr);
    gr_wbe32(b + GR_BATCH_OFF_LAST_OFFSET_DELTA, (uint32_t)h->last_offset_delta);
    gr_wbe64(b + GR_BATCH_OFF_BASE_TIMESTAMP, (uint64_t)h->max_timestamp);
    gr_wbe64(b + GR_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)h->max_timestamp);
    gr_wbe64(b + GR_BATCH_OFF_PRODUCER_ID, (uint64_t)h->producer_id);
    gr_wbe16(b + GR_BATCH_OFF_PRODUCER_EPOCH, (uint16_t)h->producer_epoch);
    gr_wbe32(b + GR_BATCH_OFF_BASE_SEQUENCE, (uint32_t)h->base_sequence);
    gr_wbe32(b + GR_BATCH_OFF_RECORD_COUNT, 0);
    gr_wbe32(b + GR_BATCH_OFF_CRC, gr_batch_crc_compute(b, sizeof b));
    gr_buf_put(out, b, sizeof b);
}

static int kept_push(kept_t *k, const gr_record_t *r)
{
    if (k->nrecs == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 256;
        gr_record_t *n = realloc(k->recs, cap * sizeof *n);
        if (!n)
            return GR_ENOMEM;
        k->recs = n;
        k->cap = cap;
    }
    k->recs[k->nrecs++] = *r;
    return 0;
}

static int64_t add_sat(int64_t a, int64_t b)
{
    return (b > 0 && a > INT64_MAX - b) ? INT64_MAX : a + b;
}

/* Filters one batch below the map's end into out: copied as it is when it
 * keeps every record and needs no delete horizon, rebuilt with the kept
 * records otherwise, left out when none is kept. */
static int filter_batch(cworker_t *w, kept_t *k, gr_cleaner_map_t *map, const uint8_t *b,
                        size_t size, int64_t now, const gr_cleaner_log_config_t *cfg,
                        gr_buf_t *out, cresult_t *res)
{
    gr_batch_hdr_t h;
    gr_batch_hdr_parse(b, size, &h);
    bool has_horizon = (h.attributes & GR_BATCH_ATTR_DELETE_HORIZON) != 0;
    int64_t horizon = has_horizon ? h.base_timestamp : -1;
    gr_record_iter_t it;
    int rc = gr_record_iter_init(&it, b, size, &w->scratch, 0);
    if (rc)
        return rc;
    k->nrecs = 0;
    size_t dropped = 0, tombstones = 0;
    gr_record_t rec;
    while ((rc = gr_record_iter_next(&it, &rec)) == 1) {
        res->st.records_read++;
        bool keep;
        if (rec.key.len < 0) {
            keep = false; /* Kafka drops keyless records from compacted logs */
        } else {
            int64_t latest = gr_cleaner_map_get(map, rec.key.ptr, (size_t)rec.key.len);
            keep = rec.offset >= latest;
            if (keep && rec.value.len < 0) {
                keep = !has_horizon || now < horizon;
                if (!keep)
                    res->st.tombstones_dropped++;
            }
        }
        if (!keep) {
            dropped++;
            continue;
        }
        if (rec.value.len < 0)
            tombstones++;
        if ((rc = kept_push(k, &rec)) != 0)
            return rc;
    }
    if (rc < 0)
        return rc;
    res->st.records_kept += k->nrecs;
    bool set_horizon = !has_horizon && tombstones > 0;
    if (tombstones > 0) {
        int64_t hz = has_horizon ? horizon : add_sat(now, cfg->delete_retention_ms);
        if (hz < res->tombstone_due_ms)
            res->tombstone_due_ms = hz;
    }
    if (dropped == 0 && !set_horizon) {
        gr_buf_put(out, b, size);
        return out->oom ? GR_ENOMEM : 0;
    }
    if (k->nrecs == 0) {
        if (is_last_of_producer(k, h.producer_id, h.base_offset)) {
            put_empty_batch(out, &h);
            return out->oom ? GR_ENOMEM : 0;
        }
        return 0;
    }

    gr_batch_builder_t bb;
    gr_batch_builder_init(&bb, gr_batch_codec(&h));
    gr_batch_builder_set_base_offset(&bb, h.base_offset);
    gr_batch_builder_set_partition_leader_epoch(&bb, h.partition_leader_epoch);
    gr_batch_builder_set_producer(&bb, h.producer_id, h.producer_epoch, h.base_sequence,
                                  gr_batch_is_transactional(&h));
    if (gr_batch_timestamp_type(&h) == GR_TS_LOG_APPEND_TIME)
        gr_batch_builder_set_log_append_time(&bb, h.max_timestamp);
    if (has_horizon || set_horizon)
        gr_batch_builder_set_delete_horizon(
            &bb, has_horizon ? horizon : add_sat(now, cfg->delete_retention_ms));
    for (size_t i = 0; i < k->nrecs && rc == 0; i++) {
        gr_record_t *r = &k->recs[i];
        size_t nh = r->header_count > 0 ? (size_t)r->header_count : 0;
        if (nh > k->hcap) {
            gr_record_header_t *n = realloc(k->hdrs, nh * sizeof *n);
            if (!n) {
                rc = GR_ENOMEM;
                break;
            }
            k->hdrs = n;
            k->hcap = nh;
        }
        size_t pos = 0, got = 0;
        while (got < nh && gr_record_header_next(r, &pos, &k->hdrs[got]) == 1)
            got++;
        if (got != nh) {
            rc = GR_EMALFORMED;
            break;
        }
        rc = gr_batch_builder_add_at(&bb, r->offset_delta, r->timestamp, r->key, r->value,
                                     k->hdrs, (int32_t)nh);
    }
    if (rc == 0)
        rc = gr_batch_builder_finish(&bb, out);
    gr_batch_builder_free(&bb);
    return rc;
}

static int write_out(gr_segment_t *out, gr_buf_t *wbuf, cresult_t *res)
{
    if (wbuf->len == 0)
        return 0;
    int rc = gr_log_segment_append(out, wbuf->data, wbuf->len);
    res->st.bytes_written += wbuf->len;
    wbuf->len = 0;
    return rc;
}

/* Loop thread: puts the cleaned segment in place of the group. */
static void stage_install(gr_cleaner_t *c, loop_req_t *r)
{
    pthread_mutex_lock(&c->mu);
    gr_plog_t *plog = atomic_load(&r->entry->removed) ? NULL : r->entry->plog;
    pthread_mutex_unlock(&c->mu);
    r->rc = -ECANCELED;
    if (!plog)
        return;
    /* A follower's truncation would have changed a closed segment. */
    for (size_t i = 0; i < r->nold; i++)
        if (gr_log_segment_size(r->old[i]) != r->old_sizes[i])
            return;
    if (gr_plog_replace_segments(plog, r->old, r->nold, r->seg) == 0)
        r->rc = 0;
}

/* Loop thread: the cleaned segment takes its final name, if still listed
 * (retention may have removed it meanwhile). */
static void stage_finish(gr_cleaner_t *c, loop_req_t *r)
{
    pthread_mutex_lock(&c->mu);
    gr_plog_t *plog = atomic_load(&r->entry->removed) ? NULL : r->entry->plog;
    pthread_mutex_unlock(&c->mu);
    r->rc = plog ? gr_cleaner_rename_final(plog, r->seg) : 0;
}

int gr_cleaner_rename_final(gr_plog_t *plog, gr_segment_t *seg)
{
    if (!gr_plog_has_segment(plog, seg))
        return 0;
    return gr_log_segment_rename_suffix(seg, GR_CLEANER_SWAP_SUFFIX, "");
}

int gr_cleaner_finish_swap(cworker_t *w, centry_t *e, gr_segment_t *seg)
{
    loop_req_t fin = {.fn = stage_finish, .entry = e, .seg = seg};
    int rc = gr_cleaner_on_loop(w, &fin);
    if (rc == 0) {
        rc = gr_log_io_fsync_dir(e->dir);
        if (rc == 0)
            gr_cleaner_crash_point("renamed");
        return rc;
    }
    /* Not renamed (a stop, or an error): the next cleaning of this log, or
     * the stop, renames it first, so that no later cleaning writes a swap
     * file over it. */
    pthread_mutex_lock(&w->c->mu);
    if (!e->unfinished) {
        gr_log_segment_ref(seg);
        e->unfinished = seg;
    }
    pthread_mutex_unlock(&w->c->mu);
    if (rc != -ECANCELED)
        gr_log(GR_LOG_ERROR, "cleaner", "%s: cannot give a cleaned segment its name: %s", e->dir,
               gr_strerror(rc));
    return rc;
}

/* The cleaned segment takes the newest modification time of the segments
 * it replaces, as in Kafka: retention falls back on it for segments
 * without timestamps, and compaction must not make data look younger. */
static void keep_mtime(gr_segment_t *out, const gr_plog_seg_info_t *segs, size_t n)
{
    int64_t ms = -1;
    for (size_t i = 0; i < n; i++) {
        int64_t m = gr_log_segment_mtime_ms(segs[i].seg);
        if (m > ms)
            ms = m;
    }
    if (ms < 0)
        return;
    struct timespec ts[2] = {{.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000},
                             {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000}};
    if (futimens(gr_log_segment_fd(out), ts) != 0)
        GR_LOG_RL(GR_LOG_WARN, "cleaner", "cannot set the time of a cleaned segment: %s",
                  strerror(errno));
}

/* Rewrites segs[0..n) into one segment and swaps it in. */
static int clean_group(cworker_t *w, centry_t *e, const char *dir, gr_plog_seg_info_t *segs,
                       size_t n, gr_cleaner_map_t *map, int64_t end, int64_t now,
                       const gr_plog_config_t *pcfg, kept_t *k, cresult_t *res)
{
    gr_segment_t *out;
    int rc = gr_log_segment_create_suffixed(dir, segs[0].base, pcfg->index_interval_bytes,
                                            GR_CLEANER_CLEANED_SUFFIX, &out);
    if (rc)
        return rc;
    gr_buf_t *wbuf = &w->wbuf;
    wbuf->len = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        breader_t r;
        breader_init(&r, &segs[i], &w->rbuf, w->io_bytes);
        const uint8_t *b;
        gr_log_batch_hdr_t h;
        while (rc == 0 && (rc = breader_next(&r, &b, &h)) == 1) {
            size_t size = (size_t)gr_log_batch_size(&h);
            rc = 0;
            if (!gr_batch_crc_ok(b, size)) {
                rc = GR_ECRC;
                break;
            }
            if (h.base_offset >= end || (h.attributes & GR_BATCH_ATTR_CONTROL)) {
                gr_buf_put(wbuf, b, size); /* newer than the map knows, or a marker */
                rc = wbuf->oom ? GR_ENOMEM : 0;
            } else {
                rc = filter_batch(w, k, map, b, size, now, &w->lcfg, wbuf, res);
            }
            if (rc == 0 && wbuf->len >= w->io_bytes)
                rc = write_out(out, wbuf, res);
        }
        if (rc > 0)
            rc = 0;
        res->st.bytes_read += (uint64_t)segs[i].size;
        gr_cleaner_throttle(w->c, (size_t)segs[i].size);
        if (rc == 0 && gr_cleaner_should_abort(w->c, e))
            rc = -ECANCELED;
    }
    if (rc == 0)
        rc = write_out(out, wbuf, res);
    if (rc == 0)
        rc = gr_log_segment_seal(out);
    if (rc == 0)
        keep_mtime(out, segs, n);
    if (rc == 0)
        rc = gr_log_segment_flush(out);
    if (rc) {
        gr_log_segment_delete(out);
        return rc;
    }
    gr_cleaner_crash_point("cleaned");
    gr_cleaner_throttle(w->c, (size_t)gr_log_segment_size(out));

    /* The durable intent: from here recovery completes the swap. */
    rc = gr_log_segment_rename_suffix(out, GR_CLEANER_CLEANED_SUFFIX, GR_CLEANER_SWAP_SUFFIX);
    if (rc == 0)
        rc = gr_log_io_fsync_dir(dir);
    if (rc) {
        gr_log_segment_delete(out);
        return rc;
    }

    gr_cleaner_crash_point("swap");
    gr_segment_t **old = malloc(n * sizeof *old);
    int64_t *sizes = malloc(n * sizeof *sizes);
    if (!old || !sizes) {
        free(old);
        free(sizes);
        gr_log_segment_delete(out);
        gr_log_io_fsync_dir(dir);
        return GR_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        old[i] = segs[i].seg;
        sizes[i] = segs[i].size;
    }
    gr_log_segment_ref(out); /* ours, until the end of this group */
    loop_req_t req = {.fn = stage_install, .entry = e, .old = old, .nold = n,
                      .old_sizes = sizes, .seg = out};
    rc = gr_cleaner_on_loop(w, &req);
    if (rc) {
        /* Not installed: the swap files go, the old segments stay. */
        gr_log_segment_unref(out);
        gr_log_segment_delete(out);
        gr_log_io_fsync_dir(dir);
        free(old);
        free(sizes);
        return rc;
    }
    /* The log's references on old[] are ours now; no one else knows their
     * paths. Their files become *.deleted, durably, before the swap file
     * takes its final name (else a crash could leave both). */
    gr_cleaner_crash_point("installed");
    for (size_t i = 0; i < n; i++) {
        int r2 = gr_log_segment_rename_suffix(old[i], "", GR_CLEANER_DELETED_SUFFIX);
        if (r2) {
            gr_log(GR_LOG_ERROR, "cleaner", "%s: cannot rename %s: %s", dir,
                   gr_log_segment_log_path(old[i]), gr_strerror(r2));
            rc = r2;
        }
        if (i == 0)
            gr_cleaner_crash_point("deleting");
    }
    if (rc == 0)
        rc = gr_log_io_fsync_dir(dir);
    if (rc == 0) {
        /* The swap file is durable and the old files are durably *.deleted:
         * they can go whatever happens next. */
        gr_cleaner_crash_point("deleted");
        rc = gr_cleaner_finish_swap(w, e, out);
        for (size_t i = 0; i < n; i++)
            gr_log_segment_delete(old[i]);
    } else {
        /* Some old files keep their names: renaming the swap file now could
         * leave two segments with the same offsets after a crash. Recovery
         * at the next start finishes it; until then this log waits. */
        gr_log(GR_LOG_ERROR, "cleaner",
               "%s: compaction stopped half way (%s); it completes at the next start", dir,
               gr_strerror(rc));
        pthread_mutex_lock(&w->c->mu);
        e->stuck = true;
        pthread_mutex_unlock(&w->c->mu);
        for (size_t i = 0; i < n; i++)
            gr_log_segment_close(old[i]);
    }
    res->st.segments_in += n;
    res->st.segments_out++;
    gr_log_segment_unref(out);
    free(old);
    free(sizes);
    return rc;
}

int gr_cleaner_clean_log(cworker_t *w, centry_t *e, gr_plog_clean_view_t *v,
                         const gr_cleaner_grade_t *g, int64_t now, cresult_t *res)
{
    memset(res, 0, sizeof *res);
    res->tombstone_due_ms = INT64_MAX;
    res->end_offset = g->first_dirty;
    gr_cleaner_map_t map;
    int rc = gr_cleaner_map_init(&map, w->map_bytes, w->c->cfg.io_buffer_load_factor);
    if (rc)
        return rc;
    int64_t end = g->first_dirty;
    if (g->uncleanable > g->first_dirty)
        rc = build_map(w, e, v, g, &map, &end, res);

    /* Everything from the first segment to the one holding end - 1. */
    size_t m = 0;
    while (rc == 0 && m < v->n && v->segs[m].base < end)
        m++;
    kept_t k = {0};
    k.pid_expired_before = now - w->c->cfg.producer_id_expiration_ms;
    if (rc == 0 && m > 0)
        rc = scan_producers(&k, v->segs, m, end);
    const gr_plog_config_t *pcfg = &v->cfg;
    for (size_t i = 0; rc == 0 && i < m;) {
        size_t j = i + 1;
        int64_t bytes = v->segs[i].size;
        int64_t idx = (int64_t)v->segs[i].index_entries * 8;
        while (j < m && bytes + v->segs[j].size <= pcfg->segment_bytes &&
               idx + (int64_t)v->segs[j].index_entries * 8 <= pcfg->max_index_bytes &&
               v->segs[j].next - 1 - v->segs[i].base <= INT32_MAX) {
            bytes += v->segs[j].size;
            idx += (int64_t)v->segs[j].index_entries * 8;
            j++;
        }
        rc = clean_group(w, e, e->dir, v->segs + i, j - i, &map, end, now, pcfg, &k, res);
        i = j;
        sched_yield();
    }
    free(k.recs);
    free(k.hdrs);
    free(k.pid_key);
    free(k.pid_last);
    gr_cleaner_map_free(&map);
    if (rc == 0)
        res->end_offset = end;
    return rc;
}
