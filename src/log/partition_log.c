/* Partition log: segments of one partition, offsets, recovery, flushing.
 *
 * Directory <log.dirs>/<topic>-<partition>/:
 *   <20-digit base>.log / .index / .timeindex   segments (segment.c)
 *   leader-epoch-checkpoint                     epoch cache (checkpoint.c)
 *   partition.metadata                          topic id (log_manager.c)
 * Segments are contiguous in offsets: each begins at or after the end of
 * the previous one; the last one is active (appended to).
 *
 * Recovery rules (gr_plog_open):
 *   1. Segment files are found by name: exactly 20 decimal digits + ".log".
 *      Index files without a .log and *.tmp files are removed. With no
 *      segment, an empty one is created at the log start offset (or 0).
 *   2. Segments before the one holding the recovery point are trusted: only
 *      their indexes are checked (and rebuilt by a full check if bad).
 *   3. From the segment holding the recovery point on (all segments if it
 *      is unknown), every batch is checked: header bounds, magic 2,
 *      increasing offsets, CRC-32C. At the first bad batch the segment is
 *      cut there, every later segment is deleted (that data was never
 *      flushed), and one WARN line gives the bytes and offset removed.
 *   4. LEO = end of the last segment; the recovery point becomes
 *      min(checkpoint, LEO); HW = min(checkpoint, LEO) (or the log start).
 *   5. leader-epoch-checkpoint is loaded; epochs seen in checked batches
 *      are added (Kafka's rule: only epochs above the latest), entries at
 *      or past the LEO dropped. If the file is missing or bad, the cache is
 *      rebuilt from every batch header. */
#include "log/partition_log.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "log/checkpoint.h"
#include "log/cleaner_files.h"
#include "log/epoch_cache.h"
#include "log/log_io.h"
#include "log/retention.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EPOCH_FILE "leader-epoch-checkpoint"

struct gr_plog_s {
    char            *dir;
    gr_plog_config_t cfg;

    /* mu guards: segs/nsegs/cap (changed only by the loop under mu, read by
     * flushers under mu), leo, rp, trunc_gen, dir_dirty, roll_pending,
     * epochs, epochs_dirty, failed, last_flush_ms. The loop reads fields it
     * alone writes without taking mu. */
    pthread_mutex_t mu;
    /* Serialises flushes of this log. Never taken by the loop. */
    pthread_mutex_t flush_mu;

    gr_segment_t **segs;
    size_t         nsegs, cap;

    int64_t  leo;
    int64_t  hw;
    int64_t  start;
    int64_t  rp;
    uint64_t trunc_gen;
    int64_t  last_flush_ms;
    int64_t  active_since_ms; /* roll clock of the active segment; -1 = not started */
    bool     dir_dirty;
    bool     roll_pending;
    bool     epochs_dirty;
    int      failed;

    gr_log_epoch_cache_t epochs;
    void                *user;

    gr_plog_remove_fn remove_fn; /* where removed segments' files go; NULL = unlink now */
    void             *remove_arg;
};

void gr_plog_config_default(gr_plog_config_t *cfg)
{
    cfg->segment_bytes = 1073741824;
    cfg->segment_ms = 7LL * 24 * 3600 * 1000;
    cfg->index_interval_bytes = 4096;
    cfg->max_index_bytes = 10485760;
    cfg->flush_interval_messages = INT64_MAX;
    cfg->flush_interval_ms = INT64_MAX;
    cfg->retention_ms = 7LL * 24 * 3600 * 1000;
    cfg->retention_bytes = -1;
    cfg->cleanup_delete = true;
    cfg->file_delete_delay_ms = 60000;
    cfg->clock_ms = NULL;
}

int gr_plog_config_check(const gr_plog_config_t *cfg)
{
    if (cfg->segment_bytes < 14 || cfg->segment_bytes > INT32_MAX || cfg->segment_ms < 1 ||
        cfg->index_interval_bytes < 0 || cfg->max_index_bytes < 12 ||
        cfg->max_index_bytes > INT32_MAX || cfg->flush_interval_messages < 1 ||
        cfg->flush_interval_ms < 0 || cfg->retention_ms < -1 || cfg->file_delete_delay_ms < 0)
        return GR_EINVAL;
    return 0;
}

static int64_t now_ms(const gr_plog_t *pl)
{
    return pl->cfg.clock_ms ? pl->cfg.clock_ms() : gr_clock_wall_ms();
}

static gr_segment_t *active(const gr_plog_t *pl) { return pl->segs[pl->nsegs - 1]; }

static int segs_push(gr_plog_t *pl, gr_segment_t *seg)
{
    if (pl->nsegs == pl->cap) {
        size_t cap = pl->cap ? pl->cap * 2 : 8;
        gr_segment_t **n = realloc(pl->segs, cap * sizeof *n);
        if (!n)
            return GR_ENOMEM;
        pl->segs = n;
        pl->cap = cap;
    }
    pl->segs[pl->nsegs++] = seg;
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Parses "<20 digits><suffix>". */
static bool parse_seg_name(const char *name, const char *suffix, int64_t *base)
{
    size_t n = strlen(name), sl = strlen(suffix);
    if (n != 20 + sl || strcmp(name + 20, suffix) != 0)
        return false;
    int64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9')
            return false;
        int d = name[i] - '0';
        if (v > (INT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *base = v;
    return true;
}

static bool has_log_file(const char *dir, int64_t base)
{
    char p[4096];
    struct stat st;
    return gr_log_segment_path(p, sizeof p, dir, base, ".log") == 0 && stat(p, &st) == 0;
}

/* Lists segment base offsets, sorted; removes orphans and temporaries. */
static int list_segments(const char *dir, int64_t **out, size_t *n_out)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    int64_t *v = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int64_t base;
        if (parse_seg_name(e->d_name, ".log", &base)) {
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                int64_t *nv = realloc(v, cap * sizeof *nv);
                if (!nv) {
                    rc = GR_ENOMEM;
                    break;
                }
                v = nv;
            }
            v[n++] = base;
        } else if ((parse_seg_name(e->d_name, ".index", &base) ||
                    parse_seg_name(e->d_name, ".timeindex", &base)) &&
                   !has_log_file(dir, base)) {
            char p[4096];
            if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < (int)sizeof p)
                unlink(p);
        } else {
            size_t l = strlen(e->d_name);
            /* *.deleted: segments retention or DeleteRecords removed, whose
             * delayed unlink a crash or a stop came before. */
            if ((l > 4 && strcmp(e->d_name + l - 4, ".tmp") == 0) ||
                (l > 8 && strcmp(e->d_name + l - 8, ".deleted") == 0)) {
                char p[4096];
                if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < (int)sizeof p)
                    unlink(p);
            }
        }
    }
    closedir(d);
    if (rc) {
        free(v);
        return rc;
    }
    if (n)
        qsort(v, n, sizeof *v, cmp_i64);
    *out = v;
    *n_out = n;
    return 0;
}

typedef struct {
    gr_plog_t      *pl;
    gr_log_batch_fn fn;
    void           *arg;
    bool            any_epoch; /* rebuild mode: assign every epoch change */
} recover_ctx_t;

static void on_recovered_batch(void *arg, const uint8_t *hdr61, int fd, int64_t pos)
{
    recover_ctx_t *rc = arg;
    int32_t epoch = (int32_t)gr_be32(hdr61 + GR_LOGB_OFF_EPOCH);
    int64_t base = (int64_t)gr_be64(hdr61 + GR_LOGB_OFF_BASE_OFFSET);
    if (epoch >= 0 && (rc->any_epoch || epoch > gr_log_epoch_cache_latest(&rc->pl->epochs)))
        if (gr_log_epoch_cache_assign(&rc->pl->epochs, epoch, base))
            rc->pl->epochs_dirty = true;
    if (rc->fn)
        rc->fn(rc->arg, hdr61, fd, pos);
}

static void plog_free(gr_plog_t *pl)
{
    for (size_t i = 0; i < pl->nsegs; i++)
        gr_log_segment_close(pl->segs[i]);
    free(pl->segs);
    gr_log_epoch_cache_free(&pl->epochs);
    pthread_mutex_destroy(&pl->mu);
    pthread_mutex_destroy(&pl->flush_mu);
    free(pl->dir);
    free(pl);
}

static char *epoch_path(const gr_plog_t *pl)
{
    char *p;
    return asprintf(&p, "%s/%s", pl->dir, EPOCH_FILE) < 0 ? NULL : p;
}

static void load_epochs(gr_plog_t *pl, bool *ok)
{
    *ok = false;
    char *path = epoch_path(pl);
    if (!path)
        return;
    gr_log_epoch_entry_t *e = NULL;
    size_t n = 0;
    int rc = gr_log_ckpt_read_epochs(path, &e, &n);
    if (rc == 0) {
        rc = gr_log_epoch_cache_set(&pl->epochs, e, n);
        free(e);
    }
    if (rc == 0)
        *ok = true;
    else if (rc != -ENOENT)
        gr_log(GR_LOG_WARN, "log", "%s: %s unreadable (%s); rebuilding it from batch headers",
               pl->dir, EPOCH_FILE, gr_strerror(rc));
    free(path);
}

static int recover(gr_plog_t *pl, const gr_plog_open_opts_t *o)
{
    recover_ctx_t ctx = {pl, o->on_batch, o->on_batch_arg, false};
    bool epochs_ok;
    load_epochs(pl, &epochs_ok);

    /* The first segment that holds unflushed data. */
    size_t k = 0;
    if (o->recovery_point >= 0)
        while (k + 1 < pl->nsegs && gr_log_segment_base_offset(pl->segs[k + 1]) <= o->recovery_point)
            k++;

    for (size_t i = 0; i < pl->nsegs; i++) {
        gr_segment_t *seg = pl->segs[i];
        if (i < k && !gr_log_segment_needs_recovery(seg))
            continue;
        if (i < k)
            gr_log(GR_LOG_WARN, "log", "%s: rebuilding the indexes of segment %020" PRId64,
                   pl->dir, gr_log_segment_base_offset(seg));
        int64_t min_off = i ? gr_log_segment_next_offset(pl->segs[i - 1]) : 0;
        int64_t cut_bytes = 0, cut_at = 0;
        int rc = gr_log_segment_recover(seg, min_off, on_recovered_batch, &ctx, &cut_bytes, &cut_at);
        if (rc)
            return rc;
        if (cut_bytes == 0)
            continue;
        gr_log(GR_LOG_WARN, "log",
               "%s: truncated %" PRId64 " bytes of torn or corrupt data at offset %" PRId64
               " in segment %020" PRId64 "%s",
               pl->dir, cut_bytes, cut_at, gr_log_segment_base_offset(seg),
               (i + 1 < pl->nsegs && i >= k) ? ", deleting the later segments" : "");
        if (i < k) {
            /* Flushed data went bad (disk corruption). Like Kafka, cut only
             * this segment: the later ones hold acknowledged data. */
            gr_log(GR_LOG_ERROR, "log", "%s: the corrupt data lay below the recovery point",
                   pl->dir);
            pl->dir_dirty = true;
            continue;
        }
        while (pl->nsegs > i + 1) {
            gr_segment_t *s = pl->segs[--pl->nsegs];
            int drc = gr_log_segment_delete(s);
            if (drc)
                return drc;
        }
        pl->dir_dirty = true;
        break;
    }
    pl->leo = gr_log_segment_next_offset(active(pl));

    if (!epochs_ok) {
        gr_log_epoch_cache_free(&pl->epochs);
        ctx.fn = NULL;
        ctx.any_epoch = true;
        for (size_t i = 0; i < pl->nsegs; i++) {
            int rc = gr_log_segment_scan(pl->segs[i], 0, on_recovered_batch, &ctx);
            if (rc)
                return rc;
        }
        pl->epochs_dirty = true;
    }
    if (gr_log_epoch_cache_truncate_from_end(&pl->epochs, pl->leo))
        pl->epochs_dirty = true;
    return 0;
}

int gr_plog_set_config(gr_plog_t *pl, const gr_plog_config_t *cfg)
{
    int rc = gr_plog_config_check(cfg);
    if (rc)
        return rc;
    pthread_mutex_lock(&pl->mu);
    int64_t (*clock)(void) = pl->cfg.clock_ms;
    pl->cfg = *cfg;
    if (!pl->cfg.clock_ms)
        pl->cfg.clock_ms = clock;
    pthread_mutex_unlock(&pl->mu);
    return 0;
}

int gr_plog_open_ex(const char *dir, const gr_plog_config_t *cfg,
                    const gr_plog_open_opts_t *o, gr_plog_t **out)
{
    int rc = gr_plog_config_check(cfg);
    if (rc)
        return rc;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return -errno;
    gr_plog_t *pl = calloc(1, sizeof *pl);
    if (!pl)
        return GR_ENOMEM;
    pthread_mutex_init(&pl->mu, NULL);
    pthread_mutex_init(&pl->flush_mu, NULL);
    gr_log_epoch_cache_init(&pl->epochs);
    pl->cfg = *cfg;
    pl->dir = strdup(dir);
    if (!pl->dir) {
        plog_free(pl);
        return GR_ENOMEM;
    }

    /* A compaction a crash interrupted is finished or undone first. */
    rc = gr_cleaner_recover_dir(dir);
    if (rc)
        goto fail;
    int64_t *bases = NULL;
    size_t nb = 0;
    rc = list_segments(dir, &bases, &nb);
    if (rc)
        goto fail;
    for (size_t i = 0; i < nb; i++) {
        gr_segment_t *seg;
        rc = gr_log_segment_open(dir, bases[i], cfg->index_interval_bytes, &seg);
        if (rc == 0 && (rc = segs_push(pl, seg)) != 0)
            gr_log_segment_close(seg);
        if (rc) {
            gr_log(GR_LOG_ERROR, "log", "%s: cannot open segment %020" PRId64 ": %s", dir,
                   bases[i], gr_strerror(rc));
            free(bases);
            goto fail;
        }
    }
    free(bases);
    if (pl->nsegs == 0) {
        gr_segment_t *seg;
        int64_t base = o->log_start_offset > 0 ? o->log_start_offset : 0;
        rc = gr_log_segment_create(dir, base, cfg->index_interval_bytes, &seg);
        if (rc == 0 && (rc = segs_push(pl, seg)) != 0)
            gr_log_segment_close(seg);
        if (rc)
            goto fail;
        pl->dir_dirty = true;
    }

    rc = recover(pl, o);
    if (rc) {
        gr_log(GR_LOG_ERROR, "log", "%s: recovery failed: %s", dir, gr_strerror(rc));
        goto fail;
    }
    int64_t first = gr_log_segment_base_offset(pl->segs[0]);
    pl->start = o->log_start_offset > first ? o->log_start_offset : first;
    if (pl->start > pl->leo)
        pl->start = pl->leo;
    pl->rp = o->recovery_point >= pl->start ? o->recovery_point : pl->start;
    if (pl->rp > pl->leo)
        pl->rp = pl->leo;
    pl->hw = o->high_watermark >= pl->start ? o->high_watermark : pl->start;
    if (pl->hw > pl->leo)
        pl->hw = pl->leo;
    int64_t now = now_ms(pl);
    pl->last_flush_ms = now;
    int64_t first_ts = gr_log_segment_first_batch_ts(active(pl));
    if (gr_log_segment_size(active(pl)) == 0)
        pl->active_since_ms = -1;
    else
        pl->active_since_ms = (first_ts >= 0 && first_ts <= now) ? first_ts : now;
    *out = pl;
    return 0;
fail:
    plog_free(pl);
    return rc;
}

int gr_plog_open(const char *dir, const gr_plog_config_t *cfg, int64_t recovery_point,
                 gr_plog_t **out)
{
    gr_plog_open_opts_t o = {.recovery_point = recovery_point,
                             .log_start_offset = -1,
                             .high_watermark = -1};
    return gr_plog_open_ex(dir, cfg, &o, out);
}

/* Starts a new active segment at base. An empty active segment is replaced
 * instead of kept. */
static int roll(gr_plog_t *pl, int64_t base)
{
    gr_segment_t *old = active(pl), *seg;
    bool replace = gr_log_segment_size(old) == 0;
    if (!replace)
        gr_log_segment_seal(old);
    else if (gr_log_segment_base_offset(old) == base)
        return 0;
    int rc = gr_log_segment_create(pl->dir, base, pl->cfg.index_interval_bytes, &seg);
    if (rc)
        return rc;
    pthread_mutex_lock(&pl->mu);
    if (replace) {
        pl->segs[pl->nsegs - 1] = seg;
    } else if ((rc = segs_push(pl, seg)) != 0) {
        pthread_mutex_unlock(&pl->mu);
        gr_log_segment_delete(seg);
        return rc;
    }
    pl->dir_dirty = true;
    if (!replace)
        pl->roll_pending = true;
    pthread_mutex_unlock(&pl->mu);
    if (replace)
        gr_log_segment_delete(old);
    pl->active_since_ms = -1;
    return 0;
}

static int append(gr_plog_t *pl, uint8_t *b, size_t len, bool assign, int32_t epoch,
                  int64_t *base_out, int64_t *last_out)
{
    if (pl->failed)
        return pl->failed;
    if (len == 0)
        return GR_EINVAL;
    if (len > INT32_MAX)
        return GR_ETOOBIG;

    /* Pass 1: check the framing and work out the offsets. */
    int64_t next = pl->leo, first = -1;
    for (size_t off = 0; off < len;) {
        gr_log_batch_hdr_t h;
        if (len - off < GR_LOGB_HDR_SIZE)
            return GR_EMALFORMED;
        gr_log_batch_hdr_parse(b + off, &h);
        if (assign)
            h.base_offset = next;
        if (gr_log_batch_hdr_check(&h, (int64_t)(len - off)))
            return GR_EMALFORMED;
        if (!assign && h.base_offset < next)
            return GR_ERANGE;
        if (first < 0)
            first = h.base_offset;
        next = gr_log_batch_last_offset(&h) + 1;
        off += (size_t)gr_log_batch_size(&h);
    }
    int64_t last = next - 1;

    /* Roll first if the batches would not fit the active segment. */
    int64_t now = now_ms(pl);
    gr_segment_t *seg = active(pl);
    int64_t size = gr_log_segment_size(seg);
    bool rel_overflow = last - gr_log_segment_base_offset(seg) > INT32_MAX;
    if (rel_overflow ||
        (size > 0 && ((int64_t)len > pl->cfg.segment_bytes - size ||
                      (pl->active_since_ms >= 0 && now - pl->active_since_ms >= pl->cfg.segment_ms) ||
                      gr_log_segment_index_full(seg, pl->cfg.max_index_bytes)))) {
        int rc = roll(pl, first);
        if (rc)
            return rc;
        seg = active(pl);
        if (last - gr_log_segment_base_offset(seg) > INT32_MAX)
            return GR_ERANGE; /* one append spanning more than 2^31 offsets */
    }

    /* Pass 2: stamp offsets and epoch (outside the CRC). */
    if (assign) {
        int64_t o = pl->leo;
        for (size_t off = 0; off < len;) {
            gr_wbe64(b + off + GR_LOGB_OFF_BASE_OFFSET, (uint64_t)o);
            gr_wbe32(b + off + GR_LOGB_OFF_EPOCH, (uint32_t)epoch);
            o += (int32_t)gr_be32(b + off + GR_LOGB_OFF_LAST_DELTA) + 1;
            off += GR_LOGB_LOG_OVERHEAD + (size_t)(int32_t)gr_be32(b + off + GR_LOGB_OFF_LENGTH);
        }
    }
    int rc = gr_log_segment_append(seg, b, len);
    if (rc) {
        GR_LOG_RL(GR_LOG_ERROR, "log", "%s: append of %zu bytes failed: %s", pl->dir, len,
                  gr_strerror(rc));
        return rc;
    }
    if (pl->active_since_ms < 0)
        pl->active_since_ms = now;

    pthread_mutex_lock(&pl->mu);
    for (size_t off = 0; off < len;) {
        int32_t e = (int32_t)gr_be32(b + off + GR_LOGB_OFF_EPOCH);
        int64_t bo = (int64_t)gr_be64(b + off + GR_LOGB_OFF_BASE_OFFSET);
        if (gr_log_epoch_cache_assign(&pl->epochs, e, bo))
            pl->epochs_dirty = true;
        if (assign)
            break; /* one epoch for all */
        off += GR_LOGB_LOG_OVERHEAD + (size_t)(int32_t)gr_be32(b + off + GR_LOGB_OFF_LENGTH);
    }
    pl->leo = next;
    pthread_mutex_unlock(&pl->mu);
    if (base_out)
        *base_out = first;
    if (last_out)
        *last_out = last;
    return 0;
}

int gr_plog_append(gr_plog_t *plog, uint8_t *batches, size_t len, int32_t leader_epoch,
                   int64_t *base_offset_out, int64_t *last_offset_out)
{
    return append(plog, batches, len, true, leader_epoch, base_offset_out, last_offset_out);
}

int gr_plog_append_follower(gr_plog_t *plog, const uint8_t *batches, size_t len,
                            int64_t *base_offset_out, int64_t *last_offset_out)
{
    /* With assign == false the bytes are only read. */
    return append(plog, (uint8_t *)(uintptr_t)batches, len, false, -1, base_offset_out,
                  last_offset_out);
}

int64_t gr_plog_leo(const gr_plog_t *plog) { return plog->leo; }
int64_t gr_plog_start_offset(const gr_plog_t *plog) { return plog->start; }
int64_t gr_plog_hw(const gr_plog_t *plog) { return plog->hw; }

void gr_plog_set_hw(gr_plog_t *plog, int64_t hw)
{
    if (hw > plog->leo)
        hw = plog->leo;
    if (hw < plog->start)
        hw = plog->start;
    plog->hw = hw;
}

/* Index of the last segment whose base <= offset (0 if none). */
static size_t seg_for(const gr_plog_t *pl, int64_t offset)
{
    size_t lo = 0, hi = pl->nsegs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (gr_log_segment_base_offset(pl->segs[mid]) <= offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? lo - 1 : 0;
}

/* Lets go of a segment already taken out of the list: to the remover
 * (files renamed *.deleted, unlinked later off the loop), else unlinked. */
static int remove_segment(gr_plog_t *pl, gr_segment_t *seg)
{
    if (!pl->remove_fn)
        return gr_log_segment_delete(seg);
    char *paths[3];
    int rc = gr_log_segment_retire(seg, paths);
    for (int i = 0; i < 3; i++)
        if (paths[i])
            pl->remove_fn(pl->remove_arg, paths[i], pl->cfg.file_delete_delay_ms);
    return rc;
}

void gr_plog_set_remover(gr_plog_t *plog, gr_plog_remove_fn fn, void *arg)
{
    plog->remove_fn = fn;
    plog->remove_arg = arg;
}

int gr_plog_advance_start_offset(gr_plog_t *plog, int64_t offset)
{
    if (offset > plog->leo)
        return GR_ERANGE;
    /* Segments below the current start may still be here (the log was
     * opened with a checkpointed start inside a later segment). */
    if (offset < plog->start)
        offset = plog->start;
    size_t drop = 0;
    while (drop + 1 < plog->nsegs && gr_log_segment_base_offset(plog->segs[drop + 1]) <= offset)
        drop++;
    if (drop == 0 && offset == plog->start)
        return 0;
    gr_segment_t **gone = drop ? malloc(drop * sizeof *gone) : NULL;
    if (drop && !gone)
        return GR_ENOMEM;
    pthread_mutex_lock(&plog->mu);
    if (drop) {
        memcpy(gone, plog->segs, drop * sizeof *gone);
        memmove(plog->segs, plog->segs + drop, (plog->nsegs - drop) * sizeof *gone);
        plog->nsegs -= drop;
        plog->dir_dirty = true;
    }
    plog->start = offset;
    if (plog->hw < offset)
        plog->hw = offset;
    pthread_mutex_unlock(&plog->mu);
    int rc = 0;
    for (size_t i = 0; i < drop; i++) {
        int r = remove_segment(plog, gone[i]);
        if (r && !rc)
            rc = r;
    }
    free(gone);
    return rc;
}

int gr_plog_roll(gr_plog_t *plog)
{
    if (plog->failed)
        return plog->failed;
    if (gr_log_segment_size(active(plog)) == 0)
        return 0;
    return roll(plog, plog->leo);
}

int gr_plog_retain(gr_plog_t *plog, int64_t now_ms, size_t *removed, unsigned *reasons)
{
    if (removed)
        *removed = 0;
    if (reasons)
        *reasons = 0;
    size_t n = plog->nsegs;
    gr_retention_seg_t *rs = malloc(n * sizeof *rs);
    if (!rs)
        return GR_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        gr_segment_t *seg = plog->segs[i];
        rs[i].base_offset = gr_log_segment_base_offset(seg);
        rs[i].size = gr_log_segment_size(seg);
        rs[i].largest_ts = gr_log_segment_max_ts(seg);
        /* Kafka's LogSegment.largestTimestamp falls back to the file's
         * modification time when no batch carried a timestamp. */
        if (rs[i].largest_ts < 0)
            rs[i].largest_ts = gr_log_segment_mtime_ms(seg);
    }
    gr_retention_policy_t pol = {plog->cfg.retention_ms, plog->cfg.retention_bytes,
                                 plog->cfg.cleanup_delete};
    unsigned why = 0;
    size_t k = gr_retention_select(rs, n, plog->start, plog->leo, plog->hw, &pol, now_ms, &why);
    free(rs);
    if (k == 0)
        return 0;
    int rc = 0;
    if (k == n) {
        /* The active segment goes too: close it first, so that what is
         * deleted is a closed segment and the log keeps an (empty) one. */
        rc = roll(plog, plog->leo);
        if (rc)
            return rc;
    }
    int64_t new_start = gr_log_segment_base_offset(plog->segs[k]);
    rc = gr_plog_advance_start_offset(plog, new_start);
    if (removed)
        *removed = k;
    if (reasons)
        *reasons = why;
    return rc;
}

static int plog_read(gr_plog_t *plog, int64_t offset, size_t max_bytes, int64_t max_offset,
                     bool partial, gr_plog_slice_t *out)
{
    memset(out, 0, sizeof *out);
    out->fd = -1;
    out->first_offset = -1;
    if (offset < plog->start || offset > plog->leo)
        return GR_ERANGE;
    if (offset == plog->leo || offset >= max_offset)
        return 0;
    int64_t mb = max_bytes > (size_t)INT64_MAX ? INT64_MAX : (int64_t)max_bytes;
    for (size_t i = seg_for(plog, offset); i < plog->nsegs; i++) {
        gr_segment_t *seg = plog->segs[i];
        int64_t pos, len, first;
        int rc = gr_log_segment_read_range(seg, offset, mb, max_offset, partial, &pos, &len, &first);
        if (rc == GR_ENOTFOUND)
            continue; /* offset falls after this segment's last batch */
        if (rc)
            return rc;
        if (len == 0)
            return 0;
        gr_log_segment_ref(seg);
        out->seg = seg;
        out->fd = gr_log_segment_fd(seg);
        out->pos = pos;
        out->len = (size_t)len;
        out->first_offset = first;
        return 0;
    }
    return 0;
}

int gr_plog_read(gr_plog_t *plog, int64_t offset, size_t max_bytes, int64_t max_offset,
                 gr_plog_slice_t *out)
{
    return plog_read(plog, offset, max_bytes, max_offset, false, out);
}

int gr_plog_read_fetch(gr_plog_t *plog, int64_t offset, size_t max_bytes, int64_t max_offset,
                       gr_plog_slice_t *out)
{
    return plog_read(plog, offset, max_bytes, max_offset, true, out);
}

int gr_plog_read_batch_at(gr_plog_t *plog, int64_t offset, gr_buf_t *out)
{
    if (offset < 0 || offset >= plog->leo)
        return GR_ENOTFOUND;
    gr_segment_t *seg = plog->segs[seg_for(plog, offset)];
    int64_t pos, len, first;
    int rc = gr_log_segment_read_range(seg, offset, 1, plog->leo, false, &pos, &len, &first);
    if (rc)
        return rc;
    if (len <= 0 || first > offset)
        return GR_ENOTFOUND; /* offset lies in a gap (compaction), not in a batch */
    if (gr_buf_reserve(out, (size_t)len))
        return GR_ENOMEM;
    rc = gr_log_io_pread_all(gr_log_segment_fd(seg), out->data + out->len, (size_t)len, pos);
    if (rc)
        return rc;
    out->len += (size_t)len;
    return 0;
}

void gr_plog_slice_release(gr_plog_slice_t *slice)
{
    if (slice->seg)
        gr_log_segment_unref(slice->seg);
    slice->seg = NULL;
    slice->fd = -1;
    slice->len = 0;
}

int gr_plog_read_copy(gr_plog_t *plog, int64_t offset, size_t max_bytes, int64_t max_offset,
                      gr_buf_t *out)
{
    gr_plog_slice_t s;
    int rc = gr_plog_read(plog, offset, max_bytes, max_offset, &s);
    if (rc || s.len == 0)
        return rc;
    rc = gr_buf_reserve(out, s.len);
    if (rc == 0) {
        rc = gr_log_io_pread_all(s.fd, out->data + out->len, s.len, s.pos);
        if (rc == 0)
            out->len += s.len;
    }
    gr_plog_slice_release(&s);
    return rc;
}

int gr_plog_offset_for_timestamp(gr_plog_t *plog, int64_t ts, int64_t *offset,
                                 int64_t *timestamp)
{
    for (size_t i = seg_for(plog, plog->start); i < plog->nsegs; i++) {
        gr_segment_t *seg = plog->segs[i];
        if (gr_log_segment_max_ts(seg) < ts)
            continue;
        int64_t pos;
        gr_log_batch_hdr_t h;
        int rc = gr_log_segment_find_ts(seg, ts, &pos, &h);
        /* Batches wholly below the log start offset do not count. */
        while (rc == 0 && gr_log_batch_last_offset(&h) < plog->start) {
            int64_t next = gr_log_batch_last_offset(&h) + 1;
            rc = gr_log_segment_find(seg, next, &pos, &h);
            while (rc == 0 && h.max_ts < ts) {
                next = gr_log_batch_last_offset(&h) + 1;
                rc = gr_log_segment_find(seg, next, &pos, &h);
            }
        }
        if (rc == GR_ENOTFOUND)
            continue;
        if (rc)
            return rc;
        *offset = h.base_offset > plog->start ? h.base_offset : plog->start;
        *timestamp = h.max_ts;
        return 0;
    }
    return GR_ENOTFOUND;
}

int gr_plog_max_timestamp(gr_plog_t *plog, int64_t *offset, int64_t *timestamp)
{
    /* Every segment, the log start offset notwithstanding: Kafka's
     * MAX_TIMESTAMP looks at every segment it still has, so a segment that
     * holds the start in its middle counts whole. */
    int64_t best_ts = -1, best_off = -1;
    for (size_t i = 0; i < plog->nsegs; i++) {
        gr_segment_t *seg = plog->segs[i];
        int64_t o = gr_log_segment_max_ts_offset(seg);
        if (o < 0)
            continue;
        if (best_off < 0 || gr_log_segment_max_ts(seg) > best_ts) {
            best_ts = gr_log_segment_max_ts(seg);
            best_off = o;
        }
    }
    if (best_off < 0)
        return GR_ENOTFOUND;
    *offset = best_off;
    *timestamp = best_ts;
    return 0;
}

void gr_plog_last_epoch_end_offset(gr_plog_t *plog, int32_t epoch, int32_t *epoch_out,
                                   int64_t *end_offset_out)
{
    gr_log_epoch_cache_end_offset_for(&plog->epochs, epoch, plog->leo, epoch_out,
                                      end_offset_out);
}

int32_t gr_plog_latest_epoch(gr_plog_t *plog) { return gr_log_epoch_cache_latest(&plog->epochs); }

/* After a truncation: everything derived from the LEO follows it. Called
 * with mu held. */
static void after_truncate(gr_plog_t *pl)
{
    pl->leo = gr_log_segment_next_offset(active(pl));
    if (pl->start > pl->leo)
        pl->start = pl->leo;
    if (pl->hw > pl->leo)
        pl->hw = pl->leo;
    if (pl->rp > pl->leo)
        pl->rp = pl->leo;
    pl->trunc_gen++;
    if (gr_log_epoch_cache_truncate_from_end(&pl->epochs, pl->leo))
        pl->epochs_dirty = true;
}

int gr_plog_truncate_to(gr_plog_t *plog, int64_t offset)
{
    if (offset < plog->start)
        return GR_ERANGE;
    if (offset >= plog->leo)
        return 0;
    size_t keep = plog->nsegs;
    while (keep > 1 && gr_log_segment_base_offset(plog->segs[keep - 1]) >= offset)
        keep--;
    size_t ngone = plog->nsegs - keep;
    gr_segment_t **gone = ngone ? malloc(ngone * sizeof *gone) : NULL;
    if (ngone && !gone)
        return GR_ENOMEM;
    /* Cut the surviving segment first: if that fails nothing has changed. */
    int rc = gr_log_segment_truncate(plog->segs[keep - 1], offset);
    if (rc) {
        free(gone);
        return rc;
    }
    pthread_mutex_lock(&plog->mu);
    if (ngone) {
        memcpy(gone, plog->segs + keep, ngone * sizeof *gone);
        plog->dir_dirty = true;
    }
    plog->nsegs = keep;
    after_truncate(plog);
    pthread_mutex_unlock(&plog->mu);
    for (size_t i = 0; i < ngone; i++) {
        int r = gr_log_segment_delete(gone[i]);
        if (r && !rc)
            rc = r;
    }
    free(gone);
    if (gr_log_segment_size(active(plog)) == 0)
        plog->active_since_ms = -1;
    return rc;
}

int gr_plog_truncate_fully(gr_plog_t *plog, int64_t new_start)
{
    if (new_start < 0)
        return GR_EINVAL;
    /* Unpublish the segments before deleting them, so that a concurrent
     * flush cannot pick one up. */
    pthread_mutex_lock(&plog->mu);
    size_t n = plog->nsegs;
    gr_segment_t **gone = malloc(n * sizeof *gone);
    if (!gone) {
        pthread_mutex_unlock(&plog->mu);
        return GR_ENOMEM;
    }
    memcpy(gone, plog->segs, n * sizeof *gone);
    plog->nsegs = 0;
    pthread_mutex_unlock(&plog->mu);
    for (size_t i = 0; i < n; i++)
        gr_log_segment_delete(gone[i]);
    free(gone);

    gr_segment_t *seg;
    int rc = gr_log_segment_create(plog->dir, new_start, plog->cfg.index_interval_bytes, &seg);
    pthread_mutex_lock(&plog->mu);
    if (rc) {
        /* No segment at all: the log cannot be used any more. */
        plog->failed = rc;
        pthread_mutex_unlock(&plog->mu);
        gr_log(GR_LOG_ERROR, "log", "%s: cannot create a segment at %" PRId64 ": %s",
               plog->dir, new_start, gr_strerror(rc));
        return rc;
    }
    plog->segs[0] = seg;
    plog->nsegs = 1;
    plog->dir_dirty = true;
    gr_log_epoch_cache_free(&plog->epochs);
    plog->epochs_dirty = true;
    after_truncate(plog);
    plog->start = plog->hw = plog->rp = new_start;
    pthread_mutex_unlock(&plog->mu);
    plog->active_since_ms = -1;
    return 0;
}

int gr_plog_scan(gr_plog_t *plog, int64_t from_offset, gr_log_batch_fn fn, void *arg)
{
    for (size_t i = seg_for(plog, from_offset); i < plog->nsegs; i++) {
        int rc = gr_log_segment_scan(plog->segs[i], from_offset, fn, arg);
        if (rc)
            return rc;
    }
    return 0;
}

int gr_plog_flush(gr_plog_t *plog, int64_t upto)
{
    pthread_mutex_lock(&plog->flush_mu);
    pthread_mutex_lock(&plog->mu);
    int rc = plog->failed;
    int64_t target = upto < plog->leo ? upto : plog->leo;
    if (rc || (target <= plog->rp && !plog->dir_dirty && !plog->roll_pending &&
               !plog->epochs_dirty)) {
        pthread_mutex_unlock(&plog->mu);
        pthread_mutex_unlock(&plog->flush_mu);
        return rc;
    }
    uint64_t gen = plog->trunc_gen;
    int64_t rp = plog->rp;
    gr_segment_t **segs = malloc((plog->nsegs ? plog->nsegs : 1) * sizeof *segs);
    gr_log_epoch_entry_t *ep = NULL;
    size_t nseg = 0, nep = plog->epochs.n;
    bool write_epochs = plog->epochs_dirty, sync_dir = plog->dir_dirty;
    if (write_epochs && nep)
        ep = malloc(nep * sizeof *ep);
    if (!segs || (write_epochs && nep && !ep)) {
        pthread_mutex_unlock(&plog->mu);
        pthread_mutex_unlock(&plog->flush_mu);
        free(segs);
        free(ep);
        return GR_ENOMEM;
    }
    for (size_t i = 0; i < plog->nsegs; i++) {
        gr_segment_t *s = plog->segs[i];
        bool ends_after_rp = i + 1 == plog->nsegs ||
                             gr_log_segment_base_offset(plog->segs[i + 1]) > rp;
        if (gr_log_segment_base_offset(s) < target && ends_after_rp) {
            gr_log_segment_ref(s);
            segs[nseg++] = s;
        }
    }
    if (ep)
        memcpy(ep, plog->epochs.e, nep * sizeof *ep);
    plog->epochs_dirty = plog->dir_dirty = plog->roll_pending = false;
    pthread_mutex_unlock(&plog->mu);

    for (size_t i = 0; i < nseg && rc == 0; i++)
        rc = gr_log_segment_flush(segs[i]);
    if (rc == 0 && sync_dir)
        rc = gr_log_io_fsync_dir(plog->dir);
    if (rc == 0 && write_epochs) {
        char *path = epoch_path(plog);
        rc = path ? gr_log_ckpt_write_epochs(path, ep, ep ? nep : 0) : GR_ENOMEM;
        free(path);
    }
    for (size_t i = 0; i < nseg; i++)
        gr_log_segment_unref(segs[i]);
    free(segs);
    free(ep);

    pthread_mutex_lock(&plog->mu);
    if (rc && rc != GR_ENOMEM) {
        plog->failed = rc;
        gr_log(GR_LOG_ERROR, "log", "%s: flush failed, log is now read-only: %s", plog->dir,
               gr_strerror(rc));
    } else if (rc) {
        plog->epochs_dirty |= write_epochs;
        plog->dir_dirty |= sync_dir;
    } else {
        if (gen == plog->trunc_gen && target > plog->rp)
            plog->rp = target;
        plog->last_flush_ms = now_ms(plog);
    }
    pthread_mutex_unlock(&plog->mu);
    pthread_mutex_unlock(&plog->flush_mu);
    return rc;
}

int64_t gr_plog_flushed_offset(gr_plog_t *plog)
{
    pthread_mutex_lock(&plog->mu);
    int64_t rp = plog->rp;
    pthread_mutex_unlock(&plog->mu);
    return rp;
}

bool gr_plog_needs_flush(gr_plog_t *plog, int64_t now)
{
    pthread_mutex_lock(&plog->mu);
    int64_t unflushed = plog->leo - plog->rp;
    bool r = !plog->failed &&
             (plog->roll_pending || plog->epochs_dirty ||
              (unflushed > 0 && unflushed >= plog->cfg.flush_interval_messages) ||
              (unflushed > 0 && plog->cfg.flush_interval_ms != INT64_MAX &&
               now >= plog->last_flush_ms &&
               now - plog->last_flush_ms >= plog->cfg.flush_interval_ms));
    pthread_mutex_unlock(&plog->mu);
    return r;
}

int gr_plog_error(gr_plog_t *plog)
{
    pthread_mutex_lock(&plog->mu);
    int rc = plog->failed;
    pthread_mutex_unlock(&plog->mu);
    return rc;
}

void gr_plog_close(gr_plog_t *plog)
{
    if (!plog)
        return;
    if (plog->epochs_dirty && !plog->failed) {
        char *path = epoch_path(plog);
        if (path)
            gr_log_ckpt_write_epochs(path, plog->epochs.e, plog->epochs.n);
        free(path);
    }
    plog_free(plog);
}

int gr_plog_delete(gr_plog_t *plog)
{
    uint8_t id[16];
    char *to = NULL;
    int rc = gr_log_io_random(id, sizeof id);
    if (rc == 0) {
        char hex[33];
        for (int i = 0; i < 16; i++)
            snprintf(hex + 2 * i, 3, "%02x", id[i]);
        if (asprintf(&to, "%s.%s-delete", plog->dir, hex) < 0)
            to = NULL;
    }
    if (!to) {
        gr_plog_close(plog);
        return rc ? rc : GR_ENOMEM;
    }
    if (rename(plog->dir, to) != 0) {
        rc = -errno;
        free(to);
        gr_plog_close(plog);
        return rc;
    }
    plog->epochs_dirty = false; /* the file goes with the directory */
    gr_plog_close(plog);
    rc = gr_log_io_rmtree(to);
    free(to);
    return rc;
}

const char *gr_plog_dir(const gr_plog_t *plog) { return plog->dir; }

int64_t gr_plog_size(const gr_plog_t *plog)
{
    int64_t total = 0;
    for (size_t i = 0; i < plog->nsegs; i++)
        total += gr_log_segment_size(plog->segs[i]);
    return total;
}

void gr_plog_get_config(const gr_plog_t *plog, gr_plog_config_t *out) { *out = plog->cfg; }
size_t gr_plog_segment_count(const gr_plog_t *plog) { return plog->nsegs; }
int64_t gr_plog_segment_base(const gr_plog_t *plog, size_t i)
{
    return i < plog->nsegs ? gr_log_segment_base_offset(plog->segs[i]) : -1;
}
void gr_plog_set_user(gr_plog_t *plog, void *user) { plog->user = user; }
void *gr_plog_user(const gr_plog_t *plog) { return plog->user; }

/* ---- for the log cleaner (cleaner.c) ---- */

int gr_plog_clean_view(gr_plog_t *plog, bool refs, gr_plog_clean_view_t *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&plog->mu);
    size_t n = plog->nsegs ? plog->nsegs - 1 : 0;
    out->segs = calloc(n ? n : 1, sizeof *out->segs);
    if (!out->segs) {
        pthread_mutex_unlock(&plog->mu);
        return GR_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        gr_segment_t *seg = plog->segs[i];
        gr_plog_seg_info_t *si = &out->segs[i];
        si->base = gr_log_segment_base_offset(seg);
        si->next = gr_log_segment_next_offset(seg);
        si->size = gr_log_segment_size(seg);
        si->max_ts = gr_log_segment_max_ts(seg);
        si->first_ts = gr_log_segment_first_batch_ts(seg);
        si->index_entries = gr_log_segment_index_entries(seg);
        if (refs) {
            gr_log_segment_ref(seg);
            si->seg = seg;
        }
    }
    out->n = n;
    out->log_start = plog->start;
    out->leo = plog->leo;
    out->active_base = plog->nsegs ? gr_log_segment_base_offset(active(plog)) : plog->leo;
    out->cfg = plog->cfg;
    pthread_mutex_unlock(&plog->mu);
    return 0;
}

void gr_plog_clean_view_free(gr_plog_clean_view_t *v)
{
    for (size_t i = 0; i < v->n; i++)
        if (v->segs[i].seg)
            gr_log_segment_unref(v->segs[i].seg);
    free(v->segs);
    memset(v, 0, sizeof *v);
}

int gr_plog_replace_segments(gr_plog_t *plog, gr_segment_t *const *old, size_t n,
                             gr_segment_t *seg)
{
    if (n == 0)
        return GR_EINVAL;
    size_t i = 0;
    while (i < plog->nsegs && plog->segs[i] != old[0])
        i++;
    /* All of them, consecutive, and none the active one. */
    if (i + n >= plog->nsegs)
        return GR_ENOTFOUND;
    for (size_t j = 1; j < n; j++)
        if (plog->segs[i + j] != old[j])
            return GR_ENOTFOUND;
    pthread_mutex_lock(&plog->mu);
    plog->segs[i] = seg;
    memmove(plog->segs + i + 1, plog->segs + i + n, (plog->nsegs - i - n) * sizeof *plog->segs);
    plog->nsegs -= n - 1;
    pthread_mutex_unlock(&plog->mu);
    return 0;
}

bool gr_plog_has_segment(const gr_plog_t *plog, const gr_segment_t *seg)
{
    for (size_t i = 0; i < plog->nsegs; i++)
        if (plog->segs[i] == seg)
            return true;
    return false;
}
