/* The log cleaner: registry of compacted logs, the selection rule, the
 * threads, the throttle, the loop-thread requests and
 * cleaner-offset-checkpoint. One cleaning is in cleaner_clean.c.
 *
 * <log dir>/cleaner-offset-checkpoint has the text format of the other
 * offset checkpoints (checkpoint.h: "0", the count, then
 * "<topic> <partition> <offset>" lines): per compacted partition, the
 * first offset not yet cleaned (Kafka's firstDirtyOffset). Written
 * atomically after every cleaning. A missing or bad file means "nothing
 * cleaned yet": the next cleaning maps from the log start, which costs
 * time, never data. An offset below the log start or past the LEO is
 * replaced by the log start. */
#include "log/cleaner.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "log/checkpoint.h"
#include "log/cleaner_int.h"
#include "log/log_io.h"
#include "log/segment.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void gr_cleaner_config_default(gr_cleaner_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->threads = 1;
    cfg->backoff_ms = 15000;
    cfg->dedupe_buffer_size = 128LL << 20;
    cfg->io_buffer_size = 512 << 10;
    cfg->io_buffer_load_factor = 0.9;
    cfg->io_max_bytes_per_second = 0;
    cfg->producer_id_expiration_ms = 86400000;
}

void gr_cleaner_log_config_default(gr_cleaner_log_config_t *cfg)
{
    cfg->min_cleanable_dirty_ratio = 0.5;
    cfg->min_compaction_lag_ms = 0;
    cfg->max_compaction_lag_ms = INT64_MAX;
    cfg->delete_retention_ms = 86400000;
}

int64_t gr_cleaner_now(const gr_cleaner_t *c)
{
    return c->cfg.clock_ms ? c->cfg.clock_ms() : gr_clock_wall_ms();
}

/* ---- the selection rule ---- */

void gr_cleaner_grade(const gr_plog_clean_view_t *v, int64_t checkpoint,
                      const gr_cleaner_log_config_t *cfg, int64_t now, int64_t tombstone_due_ms,
                      gr_cleaner_grade_t *g)
{
    memset(g, 0, sizeof *g);
    int64_t fd = checkpoint;
    if (fd < v->log_start || fd > v->leo)
        fd = v->log_start;
    int64_t unc = v->active_base > fd ? v->active_base : fd;
    /* Segments holding a record newer than min.compaction.lag.ms wait. */
    if (cfg->min_compaction_lag_ms > 0) {
        int64_t limit = now - cfg->min_compaction_lag_ms;
        for (size_t i = 0; i < v->n; i++) {
            const gr_plog_seg_info_t *s = &v->segs[i];
            if (s->next <= fd || s->base >= unc)
                continue;
            if (s->max_ts > limit) {
                unc = s->base > fd ? s->base : fd;
                break;
            }
        }
    }
    int64_t first_dirty_ts = -1;
    for (size_t i = 0; i < v->n; i++) {
        const gr_plog_seg_info_t *s = &v->segs[i];
        if (s->next <= fd) {
            g->clean_bytes += s->size;
        } else if (s->base < unc) {
            g->cleanable_bytes += s->size;
            if (first_dirty_ts < 0 && s->first_ts >= 0)
                first_dirty_ts = s->first_ts;
        }
    }
    int64_t total = g->clean_bytes + g->cleanable_bytes;
    g->first_dirty = fd;
    g->uncleanable = unc;
    g->ratio = total > 0 ? (double)g->cleanable_bytes / (double)total : 0;
    g->due = cfg->max_compaction_lag_ms < INT64_MAX && first_dirty_ts >= 0 &&
             now - first_dirty_ts > cfg->max_compaction_lag_ms;
    g->tombstones_due = tombstone_due_ms <= now && g->clean_bytes > 0;
    g->should_clean = (g->cleanable_bytes > 0 &&
                       (g->ratio >= cfg->min_cleanable_dirty_ratio || g->due)) ||
                      g->tombstones_due;
}

/* ---- registry ---- */

static void entry_free(centry_t *e)
{
    if (e->unfinished)
        gr_log_segment_unref(e->unfinished);
    free(e->topic);
    free(e->dir);
    free(e);
}

static centry_t *entry_new(const char *topic, int32_t partition)
{
    centry_t *e = calloc(1, sizeof *e);
    if (!e || !(e->topic = strdup(topic))) {
        free(e);
        return NULL;
    }
    e->partition = partition;
    e->first_dirty = -1;
    e->tombstone_due_ms = INT64_MAX;
    atomic_init(&e->removed, false);
    gr_cleaner_log_config_default(&e->cfg);
    return e;
}

static void unlink_entry(gr_cleaner_t *c, centry_t *e)
{
    for (centry_t **pp = &c->entries; *pp; pp = &(*pp)->next)
        if (*pp == e) {
            *pp = e->next;
            return;
        }
}

static void load_checkpoint(gr_cleaner_t *c)
{
    gr_log_ckpt_entry_t *ck = NULL;
    size_t n = 0;
    int rc = gr_log_ckpt_read_offsets(c->ckpt_path, &ck, &n);
    if (rc) {
        if (rc != -ENOENT)
            gr_log(GR_LOG_WARN, "cleaner", "ignoring %s: %s", c->ckpt_path, gr_strerror(rc));
        return;
    }
    for (size_t i = 0; i < n; i++) {
        centry_t *e = entry_new(ck[i].topic, ck[i].partition);
        if (!e)
            break;
        e->first_dirty = ck[i].offset;
        e->next = c->entries;
        c->entries = e;
    }
    gr_log_ckpt_free_offsets(ck, n);
}

static int write_checkpoint(gr_cleaner_t *c)
{
    pthread_mutex_lock(&c->ckpt_mu);
    pthread_mutex_lock(&c->mu);
    size_t n = 0;
    for (centry_t *e = c->entries; e; e = e->next)
        n++;
    gr_log_ckpt_entry_t *ck = calloc(n ? n : 1, sizeof *ck);
    size_t k = 0;
    int rc = ck ? 0 : GR_ENOMEM;
    for (centry_t *e = c->entries; e && rc == 0; e = e->next) {
        if (e->first_dirty < 0 || atomic_load(&e->removed))
            continue;
        ck[k].topic = strdup(e->topic);
        ck[k].partition = e->partition;
        ck[k].offset = e->first_dirty;
        if (!ck[k].topic)
            rc = GR_ENOMEM;
        else
            k++;
    }
    pthread_mutex_unlock(&c->mu);
    if (rc == 0)
        rc = gr_log_ckpt_write_offsets(c->ckpt_path, ck, k);
    if (ck)
        gr_log_ckpt_free_offsets(ck, k);
    pthread_mutex_unlock(&c->ckpt_mu);
    if (rc)
        GR_LOG_RL(GR_LOG_ERROR, "cleaner", "cannot write %s: %s", c->ckpt_path, gr_strerror(rc));
    return rc;
}

int gr_cleaner_register(gr_cleaner_t *c, gr_plog_t *plog, const char *topic, int32_t partition,
                        const gr_cleaner_log_config_t *cfg)
{
    pthread_mutex_lock(&c->mu);
    centry_t *e = NULL;
    for (centry_t *x = c->entries; x && !e; x = x->next)
        if (x->plog == plog && plog)
            e = x;
    for (centry_t *x = c->entries; x && !e; x = x->next)
        if (!x->plog && !x->busy && x->partition == partition && strcmp(x->topic, topic) == 0)
            e = x;
    int rc = 0;
    if (!e) {
        e = entry_new(topic, partition);
        if (!e) {
            rc = GR_ENOMEM;
        } else {
            e->next = c->entries;
            c->entries = e;
        }
    }
    if (e && !e->plog) {
        e->dir = strdup(gr_plog_dir(plog));
        if (!e->dir) {
            unlink_entry(c, e);
            entry_free(e);
            e = NULL;
            rc = GR_ENOMEM;
        } else {
            e->plog = plog;
        }
    }
    if (e) {
        e->cfg = *cfg;
        e->retry_ms = 0;
        c->kicked = true;
        pthread_cond_broadcast(&c->cond);
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void gr_cleaner_unregister(gr_cleaner_t *c, gr_plog_t *plog, const char *topic, int32_t partition)
{
    pthread_mutex_lock(&c->mu);
    centry_t **pp = &c->entries;
    while (*pp) {
        centry_t *e = *pp;
        bool match = (plog && e->plog == plog) ||
                     (!e->plog && topic && e->partition == partition && !strcmp(e->topic, topic));
        if (!match) {
            pp = &e->next;
            continue;
        }
        if (e->busy) {
            /* The cleaning gives up at its next step and frees the entry. */
            atomic_store(&e->removed, true);
            e->plog = NULL;
            pp = &e->next;
            continue;
        }
        *pp = e->next;
        entry_free(e);
    }
    pthread_mutex_unlock(&c->mu);
}

int64_t gr_cleaner_first_dirty(gr_cleaner_t *c, gr_plog_t *plog)
{
    int64_t r = -1;
    pthread_mutex_lock(&c->mu);
    for (centry_t *e = c->entries; e; e = e->next)
        if (e->plog == plog)
            r = e->first_dirty;
    pthread_mutex_unlock(&c->mu);
    return r;
}

void gr_cleaner_get_stats(gr_cleaner_t *c, gr_cleaner_stats_t *out)
{
    pthread_mutex_lock(&c->mu);
    *out = c->stats;
    pthread_mutex_unlock(&c->mu);
}

bool gr_cleaner_should_abort(gr_cleaner_t *c, centry_t *e)
{
    if (atomic_load(&e->removed))
        return true;
    pthread_mutex_lock(&c->mu);
    bool stop = c->stop;
    pthread_mutex_unlock(&c->mu);
    return stop;
}

/* ---- loop-thread requests ---- */

int gr_cleaner_on_loop(cworker_t *w, loop_req_t *r)
{
    gr_cleaner_t *c = w->c;
    r->done = false;
    r->rc = 0;
    r->next = NULL;
    if (w->on_loop) {
        r->fn(c, r);
        return r->rc;
    }
    pthread_mutex_lock(&c->mu);
    if (c->stop) {
        pthread_mutex_unlock(&c->mu);
        return -ECANCELED;
    }
    if (c->reqs_tail)
        c->reqs_tail->next = r;
    else
        c->reqs = r;
    c->reqs_tail = r;
    pthread_mutex_unlock(&c->mu);
    c->cfg.wake(c->cfg.wake_arg);
    pthread_mutex_lock(&c->mu);
    while (!r->done && !c->stop)
        pthread_cond_wait(&c->cond, &c->mu);
    int rc = r->rc;
    if (!r->done) {
        /* Stopping: the loop will not run it. */
        loop_req_t **pp = &c->reqs, *prev = NULL;
        while (*pp && *pp != r) {
            prev = *pp;
            pp = &(*pp)->next;
        }
        if (*pp) {
            *pp = r->next;
            if (c->reqs_tail == r)
                c->reqs_tail = prev;
        }
        rc = -ECANCELED;
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void gr_cleaner_run_loop_work(gr_cleaner_t *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    loop_req_t *list = c->reqs;
    c->reqs = c->reqs_tail = NULL;
    pthread_mutex_unlock(&c->mu);
    if (!list)
        return;
    for (loop_req_t *r = list; r; r = r->next)
        r->fn(c, r);
    pthread_mutex_lock(&c->mu);
    while (list) {
        loop_req_t *next = list->next;
        list->done = true; /* the waiter may free it as soon as mu is released */
        list = next;
    }
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mu);
}

/* ---- throttle ---- */

/* Sleeps until deadline (monotonic µs) or until the cleaner stops. */
static void sleep_until(gr_cleaner_t *c, int64_t deadline_us)
{
    struct timespec ts = {.tv_sec = deadline_us / 1000000,
                          .tv_nsec = (long)(deadline_us % 1000000) * 1000};
    pthread_mutex_lock(&c->mu);
    while (!c->stop && gr_clock_mono_us() < deadline_us)
        if (pthread_cond_timedwait(&c->cond, &c->mu, &ts) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&c->mu);
}

void gr_cleaner_throttle(gr_cleaner_t *c, size_t bytes)
{
    double rate = c->cfg.io_max_bytes_per_second;
    if (!(rate > 0) || rate >= 1e300 || bytes == 0)
        return;
    pthread_mutex_lock(&c->thr_mu);
    int64_t now = gr_clock_mono_us();
    if (c->thr_start_us == 0 || now - c->thr_start_us > 5000000) {
        /* A fresh window after a pause, so idle time is not saved up. */
        c->thr_start_us = now;
        c->thr_bytes = 0;
    }
    c->thr_bytes += (double)bytes;
    int64_t due = c->thr_start_us + (int64_t)(c->thr_bytes / rate * 1e6);
    pthread_mutex_unlock(&c->thr_mu);
    if (due > now)
        sleep_until(c, due);
}

/* ---- cleaning ---- */

static void worker_init(cworker_t *w, gr_cleaner_t *c, bool on_loop)
{
    memset(w, 0, sizeof *w);
    w->c = c;
    w->on_loop = on_loop;
    int n = c->cfg.threads > 0 ? c->cfg.threads : 1;
    w->map_bytes = (size_t)(c->cfg.dedupe_buffer_size / n);
    w->io_bytes = (size_t)(c->cfg.io_buffer_size / n / 2);
    if (w->io_bytes < 65536)
        w->io_bytes = 65536;
    gr_buf_init(&w->rbuf);
    gr_buf_init(&w->wbuf);
    gr_buf_init(&w->scratch);
    gr_buf_init(&w->batch);
}

static void worker_free(cworker_t *w)
{
    gr_buf_free(&w->rbuf);
    gr_buf_free(&w->wbuf);
    gr_buf_free(&w->scratch);
    gr_buf_free(&w->batch);
}

static void stats_add(gr_cleaner_stats_t *t, const gr_cleaner_stats_t *s)
{
    t->segments_in += s->segments_in;
    t->segments_out += s->segments_out;
    t->bytes_read += s->bytes_read;
    t->bytes_written += s->bytes_written;
    t->records_read += s->records_read;
    t->records_kept += s->records_kept;
    t->tombstones_dropped += s->tombstones_dropped;
}

/* Picks, grades and cleans one log. 1 cleaned, 0 nothing to do, < 0 error. */
static int clean_one(gr_cleaner_t *c, cworker_t *w)
{
    int64_t now = gr_cleaner_now(c);
    pthread_mutex_lock(&c->mu);
    if (c->stop) {
        pthread_mutex_unlock(&c->mu);
        return 0;
    }
    centry_t *best = NULL;
    gr_cleaner_grade_t bg = {0};
    for (centry_t *e = c->entries; e; e = e->next) {
        if (!e->plog || e->busy || e->stuck || atomic_load(&e->removed) || e->retry_ms > now)
            continue;
        gr_plog_clean_view_t v;
        if (gr_plog_clean_view(e->plog, false, &v) != 0)
            continue;
        gr_cleaner_grade_t g;
        gr_cleaner_grade(&v, e->first_dirty, &e->cfg, now, e->tombstone_due_ms, &g);
        gr_plog_clean_view_free(&v);
        if (!g.should_clean)
            continue;
        bool better = !best || (g.due && !bg.due) ||
                      (g.due == bg.due && g.ratio > bg.ratio);
        if (better) {
            best = e;
            bg = g;
        }
    }
    if (!best) {
        pthread_mutex_unlock(&c->mu);
        return 0;
    }
    centry_t *e = best;
    gr_plog_clean_view_t v;
    int rc = gr_plog_clean_view(e->plog, true, &v);
    if (rc) {
        pthread_mutex_unlock(&c->mu);
        return rc;
    }
    gr_cleaner_grade(&v, e->first_dirty, &e->cfg, now, e->tombstone_due_ms, &bg);
    w->lcfg = e->cfg; /* the loop may change e->cfg meanwhile */
    e->busy = true;
    gr_segment_t *unfinished = e->unfinished;
    e->unfinished = NULL;
    pthread_mutex_unlock(&c->mu);

    int64_t t0 = gr_clock_mono_ms();
    cresult_t res;
    memset(&res, 0, sizeof res);
    /* A segment an earlier cleaning swapped in but could not rename: its
     * rename comes first (else this cleaning's swap file could take its
     * name). finish_swap puts it back in e->unfinished if that fails. */
    if (unfinished) {
        rc = gr_cleaner_finish_swap(w, e, unfinished);
        gr_log_segment_unref(unfinished);
    }
    if (rc == 0)
        rc = gr_cleaner_clean_log(w, e, &v, &bg, now, &res);
    gr_plog_clean_view_free(&v);
    int64_t ms = gr_clock_mono_ms() - t0;

    pthread_mutex_lock(&c->mu);
    e->busy = false;
    c->stats.busy_ms += ms;
    stats_add(&c->stats, &res.st);
    bool removed = atomic_load(&e->removed);
    if (removed) {
        unlink_entry(c, e);
        c->stats.aborted++;
    } else if (rc == 0) {
        e->first_dirty = res.end_offset;
        e->tombstone_due_ms = res.tombstone_due_ms;
        c->stats.cleanings++;
    } else if (rc == -ECANCELED) {
        c->stats.aborted++;
    } else {
        c->stats.errors++;
        int64_t backoff = c->cfg.backoff_ms > 60000 ? c->cfg.backoff_ms : 60000;
        e->retry_ms = now + backoff;
    }
    pthread_mutex_unlock(&c->mu);

    if (removed) {
        gr_log(GR_LOG_INFO, "cleaner", "%s-%" PRId32 ": cleaning given up, the log went away",
               e->topic, e->partition);
        entry_free(e);
        return 0;
    }
    if (rc == -ECANCELED) {
        gr_log(GR_LOG_INFO, "cleaner", "%s-%" PRId32 ": cleaning given up (log changed or stop)",
               e->topic, e->partition);
        return 0;
    }
    if (rc) {
        gr_log(GR_LOG_ERROR, "cleaner", "%s-%" PRId32 ": cleaning failed: %s; next try later",
               e->topic, e->partition, gr_strerror(rc));
        return rc;
    }
    double in_mb = (double)res.st.bytes_read / 1048576.0;
    gr_log(GR_LOG_INFO, "cleaner",
           "%s-%" PRId32 ": cleaned offsets [%" PRId64 ", %" PRId64 ") (ratio %.2f%s): %" PRIu64
           " segments -> %" PRIu64 ", %.2f MB read, %.2f MB written, %" PRIu64 " of %" PRIu64
           " records kept, %" PRIu64 " tombstones dropped, %" PRId64 " ms",
           e->topic, e->partition, bg.first_dirty, res.end_offset, bg.ratio,
           bg.due ? ", max lag" : (bg.tombstones_due ? ", tombstones" : ""),
           res.st.segments_in, res.st.segments_out, in_mb,
           (double)res.st.bytes_written / 1048576.0, res.st.records_kept, res.st.records_read,
           res.st.tombstones_dropped, ms);
    write_checkpoint(c);
    return 1;
}

int gr_cleaner_clean_now(gr_cleaner_t *c)
{
    cworker_t w;
    worker_init(&w, c, true);
    int rc = clean_one(c, &w);
    worker_free(&w);
    return rc;
}

static void *cleaner_main(void *arg)
{
    gr_cleaner_t *c = arg;
    cworker_t w;
    worker_init(&w, c, false);
    for (;;) {
        int rc = clean_one(c, &w);
        pthread_mutex_lock(&c->mu);
        if (c->stop) {
            pthread_mutex_unlock(&c->mu);
            break;
        }
        if (rc <= 0 && !c->kicked) {
            int64_t deadline = gr_clock_mono_us() + c->cfg.backoff_ms * 1000;
            struct timespec ts = {.tv_sec = deadline / 1000000,
                                  .tv_nsec = (long)(deadline % 1000000) * 1000};
            while (!c->stop && !c->kicked &&
                   pthread_cond_timedwait(&c->cond, &c->mu, &ts) != ETIMEDOUT)
                ;
        }
        c->kicked = false;
        pthread_mutex_unlock(&c->mu);
    }
    worker_free(&w);
    return NULL;
}

/* ---- life cycle ---- */

static bool config_ok(const gr_cleaner_config_t *cfg)
{
    return !(cfg->threads < 0 || cfg->threads > 64 || cfg->backoff_ms < 0 ||
             cfg->dedupe_buffer_size < 1024 || cfg->io_buffer_size < 0 ||
             !(cfg->io_buffer_load_factor > 0 && cfg->io_buffer_load_factor <= 1) ||
             (cfg->threads > 0 && !cfg->wake));
}

int gr_cleaner_new(const gr_cleaner_config_t *cfg, const char *dir, gr_cleaner_t **out)
{
    if (!config_ok(cfg))
        return GR_EINVAL;
    gr_cleaner_t *c = calloc(1, sizeof *c);
    if (!c)
        return GR_ENOMEM;
    c->cfg = *cfg;
    if (c->cfg.backoff_ms < 1)
        c->cfg.backoff_ms = 1;
    if (!(c->dir = strdup(dir)) ||
        asprintf(&c->ckpt_path, "%s/%s", dir, GR_CLEANER_CHECKPOINT_FILE) < 0) {
        free(c->dir);
        free(c);
        return GR_ENOMEM;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->ckpt_mu, NULL);
    pthread_mutex_init(&c->thr_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cond, &ca);
    pthread_condattr_destroy(&ca);
    load_checkpoint(c);
    *out = c;
    return 0;
}

int gr_cleaner_start(gr_cleaner_t *c)
{
    if (c->cfg.threads == 0 || c->threads)
        return 0;
    c->threads = calloc((size_t)c->cfg.threads, sizeof *c->threads);
    if (!c->threads)
        return GR_ENOMEM;
    for (int i = 0; i < c->cfg.threads; i++) {
        if (pthread_create(&c->threads[i], NULL, cleaner_main, c) != 0) {
            gr_log(GR_LOG_WARN, "cleaner", "started only %d cleaner threads", i);
            break;
        }
        c->nthreads++;
    }
    gr_log(GR_LOG_INFO, "cleaner", "log cleaner started with %d threads", c->nthreads);
    return 0;
}

int gr_cleaner_reconfigure(gr_cleaner_t *c, const gr_cleaner_config_t *cfg)
{
    gr_cleaner_config_t n = *cfg;
    if (!n.wake) {
        n.wake = c->cfg.wake;
        n.wake_arg = c->cfg.wake_arg;
    }
    if (!n.clock_ms)
        n.clock_ms = c->cfg.clock_ms;
    if (!config_ok(&n))
        return GR_EINVAL;
    if (n.backoff_ms < 1)
        n.backoff_ms = 1;
    gr_cleaner_stop(c);
    pthread_mutex_lock(&c->mu);
    c->cfg = n;
    c->stop = false;
    c->kicked = true;
    pthread_mutex_unlock(&c->mu);
    pthread_mutex_lock(&c->thr_mu);
    c->thr_start_us = 0;
    c->thr_bytes = 0;
    pthread_mutex_unlock(&c->thr_mu);
    gr_log(GR_LOG_INFO, "cleaner", "log cleaner reconfigured");
    return gr_cleaner_start(c);
}

void gr_cleaner_kick(gr_cleaner_t *c)
{
    pthread_mutex_lock(&c->mu);
    c->kicked = true;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mu);
}

void gr_cleaner_stop(gr_cleaner_t *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mu);
    for (int i = 0; i < c->nthreads; i++)
        pthread_join(c->threads[i], NULL);
    c->nthreads = 0;
    free(c->threads);
    c->threads = NULL;
    /* Renames a stop cut short are done here, on the loop thread, while the
     * logs are still open (no thread runs any more: no lock needed). */
    for (centry_t *e = c->entries; e; e = e->next) {
        if (!e->unfinished)
            continue;
        if (e->plog && !atomic_load(&e->removed) &&
            gr_cleaner_rename_final(e->plog, e->unfinished) == 0)
            gr_log_io_fsync_dir(e->dir);
        gr_log_segment_unref(e->unfinished);
        e->unfinished = NULL;
    }
}

void gr_cleaner_free(gr_cleaner_t *c)
{
    if (!c)
        return;
    while (c->entries) {
        centry_t *e = c->entries;
        c->entries = e->next;
        entry_free(e);
    }
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->ckpt_mu);
    pthread_mutex_destroy(&c->thr_mu);
    pthread_cond_destroy(&c->cond);
    free(c->threads);
    free(c->ckpt_path);
    free(c->dir);
    free(c);
}
