/* Log manager: log directory, lock, meta.properties, checkpoints, the
 * partition table and the flusher threads.
 *
 * Files in the log directory (ASCII, '\n' line ends):
 *
 *   .lock   empty; held with flock(LOCK_EX|LOCK_NB) while a broker uses the
 *           directory (released by the kernel if the process dies).
 *
 *   meta.properties   Java properties as Kafka writes them (KRaft, v1):
 *             #Written by Gregor
 *             cluster.id=<22-char base64 Uuid>
 *             directory.id=<22-char base64 Uuid>
 *             node.id=<int32>
 *             version=1
 *           Read rules: '#' and '!' lines are comments, "key=value" with
 *           blanks around both trimmed; unknown keys ignored; version must
 *           be 1; node.id must match the configuration; cluster.id must
 *           match it when the configuration names one. A file without
 *           directory.id gets one (the file is rewritten).
 *
 *   recovery-point-offset-checkpoint, log-start-offset-checkpoint,
 *   replication-offset-checkpoint   "0\n<N>\n" then N lines
 *           "<topic> <partition> <offset>" (checkpoint.c). Written
 *           atomically every checkpoint_ms and on close. A missing or bad
 *           file means: recover every partition from its first batch, log
 *           start = first segment, HW = log start.
 *
 *   <topic>-<partition>/partition.metadata
 *             version: 0
 *             topic_id: <22-char base64 Uuid>
 *           written (atomically) when the partition is created.
 *
 * Directory names: the partition is the decimal after the last '-', the
 * topic everything before it (and must be a legal topic name). Names ending
 * in "-delete" are partitions being deleted and are removed at open;
 * "-future" and "-stray" directories and "__cluster_metadata-0" are left
 * alone. */
#include "log/log_manager.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "log/checkpoint.h"
#include "log/log_io.h"
#include "log/retention.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECOVERY_CKPT "recovery-point-offset-checkpoint"
#define START_CKPT "log-start-offset-checkpoint"
#define HW_CKPT "replication-offset-checkpoint"
#define META_FILE "meta.properties"
#define PART_META_FILE "partition.metadata"
#define METADATA_PREFIX "__cluster_metadata"

typedef struct waiter_s {
    struct waiter_s   *next;
    int64_t            upto;
    gr_logmgr_flush_cb cb;
    void              *arg;
    int                status; /* for the fire list */
} waiter_t;

typedef struct entry_s {
    struct entry_s *hnext; /* hash chain */
    char           *topic;
    int32_t         partition;
    uint8_t         topic_id[16];
    gr_plog_t      *plog;
    waiter_t       *waiters; /* loop thread only */
    bool            inflight;
    bool            deleting;
} entry_t;

enum { JOB_FLUSH, JOB_CHECKPOINT, JOB_UNLINK };

/* A file of a removed segment (renamed *.deleted) waiting for its unlink. */
typedef struct removal_s {
    struct removal_s *next;
    char             *path;
    int64_t           due_ms; /* monotonic clock */
} removal_t;

typedef struct job_s {
    struct job_s *next;
    int           kind;
    entry_t      *entry;
    int64_t       target;
    int           status;
    /* JOB_CHECKPOINT: snapshots of the three files, and who waits for them. */
    gr_log_ckpt_entry_t *ck[3];
    size_t               nck;
    waiter_t            *waiters;
    /* JOB_UNLINK: the files. */
    removal_t *files;
} job_t;

struct gr_logmgr_s {
    gr_logmgr_config_t cfg;
    char              *dir;
    char               cluster_id[23];
    char               directory_id[23];
    int                lock_fd;
    uv_loop_t         *loop;

    entry_t **buckets;
    size_t    nbuckets, count;

    uv_timer_t flush_timer;
    uv_timer_t ckpt_timer;
    uv_timer_t retention_timer;
    uv_async_t async;
    int        open_handles;
    bool       handles_started;
    bool       closing;
    bool       ckpt_inflight;
    bool       ckpt_again;       /* offsets changed while a checkpoint was being written */
    waiter_t  *ckpt_waiters;     /* gr_logmgr_checkpoint_async callers for the next one */
    removal_t *removals;         /* segment files waiting for their delay */
    size_t     nremovals;
    int        pending; /* jobs queued or running, plus ready waiters */
    waiter_t  *ready;   /* already durable, to call on the next loop turn */

    pthread_t      *threads;
    int             nthreads;
    pthread_mutex_t mu; /* guards queue, done, stop */
    pthread_cond_t  cond;
    job_t          *queue, *queue_tail;
    job_t          *done;
    bool            stop;
    /* Serialises checkpoint writes (timer job vs gr_logmgr_checkpoint). */
    pthread_mutex_t ckpt_mu;
    atomic_uint_fast64_t fsyncs; /* flush jobs run, for tests and metrics */
    gr_cleaner_t        *cleaner; /* NULL unless cfg.cleaner_enable */
};

void gr_logmgr_config_default(gr_logmgr_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    gr_plog_config_default(&cfg->plog);
    cfg->node_id = 1;
    cfg->flush_check_ms = 1000;
    cfg->checkpoint_ms = 60000;
    cfg->retention_check_ms = 300000;
    cfg->flusher_threads = 2;
    gr_cleaner_config_default(&cfg->cleaner);
}

/* ---- partition table ---- */

static uint64_t key_hash(const char *topic, int32_t partition)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = topic; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ULL;
    return (h ^ (uint32_t)partition) * 1099511628211ULL;
}

static entry_t **find_slot(gr_logmgr_t *mgr, const char *topic, int32_t partition)
{
    entry_t **pp = &mgr->buckets[key_hash(topic, partition) & (mgr->nbuckets - 1)];
    while (*pp && ((*pp)->partition != partition || strcmp((*pp)->topic, topic) != 0))
        pp = &(*pp)->hnext;
    return pp;
}

static int table_grow(gr_logmgr_t *mgr)
{
    size_t n = mgr->nbuckets ? mgr->nbuckets * 2 : 64;
    entry_t **b = calloc(n, sizeof *b);
    if (!b)
        return GR_ENOMEM;
    for (size_t i = 0; i < mgr->nbuckets; i++) {
        entry_t *e = mgr->buckets[i];
        while (e) {
            entry_t *next = e->hnext;
            size_t k = key_hash(e->topic, e->partition) & (n - 1);
            e->hnext = b[k];
            b[k] = e;
            e = next;
        }
    }
    free(mgr->buckets);
    mgr->buckets = b;
    mgr->nbuckets = n;
    return 0;
}

static int table_add(gr_logmgr_t *mgr, entry_t *e)
{
    if (mgr->count + 1 > mgr->nbuckets) {
        int rc = table_grow(mgr);
        if (rc)
            return rc;
    }
    entry_t **pp = find_slot(mgr, e->topic, e->partition);
    e->hnext = NULL;
    *pp = e;
    mgr->count++;
    return 0;
}

static void table_remove(gr_logmgr_t *mgr, entry_t *e)
{
    entry_t **pp = find_slot(mgr, e->topic, e->partition);
    if (*pp == e) {
        *pp = e->hnext;
        mgr->count--;
    }
}

static void entry_free(entry_t *e)
{
    free(e->topic);
    free(e);
}

/* ---- files ---- */

static char *path_in(const char *dir, const char *name)
{
    char *p;
    return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

static char *trim(char *s, char *end)
{
    while (s < end && (*s == ' ' || *s == '\t' || *s == '\r'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    *end = '\0';
    return s;
}

static int write_meta(gr_logmgr_t *mgr)
{
    char *path = path_in(mgr->dir, META_FILE);
    char text[256];
    int n = snprintf(text, sizeof text,
                     "#Written by Gregor\ncluster.id=%s\ndirectory.id=%s\nnode.id=%" PRId32
                     "\nversion=1\n",
                     mgr->cluster_id, mgr->directory_id, mgr->cfg.node_id);
    int rc = path ? gr_log_io_write_atomic(path, text, (size_t)n) : GR_ENOMEM;
    free(path);
    return rc;
}

static int load_meta(gr_logmgr_t *mgr)
{
    char *path = path_in(mgr->dir, META_FILE);
    if (!path)
        return GR_ENOMEM;
    char *buf = NULL;
    size_t len;
    int rc = gr_log_io_read_file(path, 65536, &buf, &len);
    bool rewrite = false;
    uint8_t id[16];
    if (rc == -ENOENT) {
        rc = 0;
        if (mgr->cfg.cluster_id) {
            if (gr_log_uuid_from_base64(mgr->cfg.cluster_id, strlen(mgr->cfg.cluster_id), id)) {
                gr_log(GR_LOG_ERROR, "log", "cluster.id '%s' is not a base64 Uuid",
                       mgr->cfg.cluster_id);
                rc = GR_EINVAL;
                goto out;
            }
            gr_log_uuid_to_base64(id, mgr->cluster_id);
        } else {
            if ((rc = gr_log_uuid_random(id)) != 0)
                goto out;
            gr_log_uuid_to_base64(id, mgr->cluster_id);
        }
        rewrite = true;
    } else if (rc) {
        gr_log(GR_LOG_ERROR, "log", "cannot read %s: %s", path, gr_strerror(rc));
        goto out;
    } else {
        char cluster[64] = "", dirid[64] = "", node[32] = "", version[16] = "";
        char *p = buf, *end = buf + len;
        while (p < end) {
            char *nl = memchr(p, '\n', (size_t)(end - p));
            char *le = nl ? nl : end;
            char *eq = memchr(p, '=', (size_t)(le - p));
            char *ls = trim(p, le);
            if (*ls != '#' && *ls != '!' && *ls && eq) {
                *eq = '\0';
                char *k = trim(ls, eq);
                char *v = trim(eq + 1, le);
                char *dst = !strcmp(k, "cluster.id") ? cluster
                            : !strcmp(k, "directory.id") ? dirid
                            : !strcmp(k, "node.id") ? node
                            : !strcmp(k, "version") ? version : NULL;
                size_t cap = dst == node ? sizeof node : dst == version ? sizeof version : 64;
                if (dst && strlen(v) < cap)
                    strcpy(dst, v);
            }
            p = le + 1;
        }
        char want_node[16];
        snprintf(want_node, sizeof want_node, "%" PRId32, mgr->cfg.node_id);
        if (strcmp(version, "1") != 0) {
            gr_log(GR_LOG_ERROR, "log", "%s: version=%s, only 1 is supported", path, version);
            rc = GR_EINVAL;
        } else if (strcmp(node, want_node) != 0) {
            gr_log(GR_LOG_ERROR, "log", "%s: node.id=%s but this broker is node.id=%s", path,
                   node, want_node);
            rc = GR_EINVAL;
        } else if (gr_log_uuid_from_base64(cluster, strlen(cluster), id)) {
            gr_log(GR_LOG_ERROR, "log", "%s: bad cluster.id '%s'", path, cluster);
            rc = GR_EINVAL;
        } else if (mgr->cfg.cluster_id && strcmp(mgr->cfg.cluster_id, cluster) != 0) {
            gr_log(GR_LOG_ERROR, "log", "%s: cluster.id=%s but the broker expects %s", path,
                   cluster, mgr->cfg.cluster_id);
            rc = GR_EINVAL;
        }
        if (rc)
            goto out;
        gr_log_uuid_to_base64(id, mgr->cluster_id); /* the same 22 characters */
        if (gr_log_uuid_from_base64(dirid, strlen(dirid), id) == 0)
            gr_log_uuid_to_base64(id, mgr->directory_id);
        else
            rewrite = true;
    }
    if (!mgr->directory_id[0]) {
        if ((rc = gr_log_uuid_random(id)) != 0)
            goto out;
        gr_log_uuid_to_base64(id, mgr->directory_id);
    }
    if (rewrite)
        rc = write_meta(mgr);
out:
    free(buf);
    free(path);
    return rc;
}

static int write_part_meta(const char *pdir, const uint8_t id[16])
{
    char *path = path_in(pdir, PART_META_FILE);
    char b64[23], text[64];
    gr_log_uuid_to_base64(id, b64);
    int n = snprintf(text, sizeof text, "version: 0\ntopic_id: %s\n", b64);
    int rc = path ? gr_log_io_write_atomic(path, text, (size_t)n) : GR_ENOMEM;
    free(path);
    return rc;
}

static int read_part_meta(const char *pdir, uint8_t id[16])
{
    char *path = path_in(pdir, PART_META_FILE);
    char *buf = NULL;
    size_t len;
    int rc = path ? gr_log_io_read_file(path, 4096, &buf, &len) : GR_ENOMEM;
    free(path);
    if (rc)
        return rc;
    rc = GR_ECORRUPT;
    const char *v = strstr(buf, "version: 0\n");
    const char *t = strstr(buf, "topic_id: ");
    if (v == buf && t) {
        t += strlen("topic_id: ");
        size_t n = strcspn(t, "\r\n");
        rc = gr_log_uuid_from_base64(t, n, id) ? GR_ECORRUPT : 0;
    }
    free(buf);
    return rc;
}

/* Parses "<topic>-<partition>" into a NUL-terminated topic (malloc'd). */
static int parse_part_dir(const char *name, char **topic, int32_t *partition)
{
    const char *dash = strrchr(name, '-');
    if (!dash || dash == name || !dash[1] || strlen(dash + 1) > 10)
        return GR_EINVAL;
    int64_t p = 0;
    for (const char *c = dash + 1; *c; c++) {
        if (*c < '0' || *c > '9')
            return GR_EINVAL;
        p = p * 10 + (*c - '0');
    }
    if (p > INT32_MAX || !gr_log_topic_name_valid(name, (size_t)(dash - name)))
        return GR_EINVAL;
    *topic = strndup(name, (size_t)(dash - name));
    if (!*topic)
        return GR_ENOMEM;
    *partition = (int32_t)p;
    return 0;
}

/* Sorted checkpoint entries for lookups during open. */
typedef struct {
    gr_log_ckpt_entry_t *e;
    size_t               n;
} ckpt_t;

static int ckpt_cmp(const void *a, const void *b)
{
    const gr_log_ckpt_entry_t *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

static void ckpt_load(const char *dir, const char *name, ckpt_t *c)
{
    c->e = NULL;
    c->n = 0;
    char *path = path_in(dir, name);
    if (!path)
        return;
    int rc = gr_log_ckpt_read_offsets(path, &c->e, &c->n);
    if (rc && rc != -ENOENT)
        gr_log(GR_LOG_WARN, "log", "ignoring %s: %s", path, gr_strerror(rc));
    if (rc) {
        c->e = NULL;
        c->n = 0;
    } else if (c->n) {
        qsort(c->e, c->n, sizeof *c->e, ckpt_cmp);
    }
    free(path);
}

static int64_t ckpt_get(const ckpt_t *c, const char *topic, int32_t partition)
{
    gr_log_ckpt_entry_t key = {(char *)(uintptr_t)topic, partition, 0};
    gr_log_ckpt_entry_t *e = c->n ? bsearch(&key, c->e, c->n, sizeof key, ckpt_cmp) : NULL;
    return e ? e->offset : -1;
}

typedef struct {
    gr_logmgr_t *mgr;
    const char  *topic;
    int32_t      partition;
} recover_arg_t;

static void on_recover_batch(void *arg, const uint8_t *hdr61, int fd, int64_t pos)
{
    recover_arg_t *ra = arg;
    ra->mgr->cfg.on_recover_batch(ra->mgr->cfg.on_recover_arg, ra->topic, ra->partition, hdr61,
                                  fd, pos);
}

static void on_remove(void *arg, char *path, int64_t delay_ms);
static void start_checkpoint(gr_logmgr_t *mgr);
static void removals_free(removal_t *r);
static void submit_due_removals(gr_logmgr_t *mgr, bool all);

static int open_partition(gr_logmgr_t *mgr, const char *name, const ckpt_t ck[3])
{
    char *topic;
    int32_t partition;
    if (parse_part_dir(name, &topic, &partition)) {
        gr_log(GR_LOG_WARN, "log", "%s: ignoring directory %s (not <topic>-<partition>)",
               mgr->dir, name);
        return 0;
    }
    entry_t *e = calloc(1, sizeof *e);
    char *pdir = path_in(mgr->dir, name);
    if (!e || !pdir) {
        free(topic);
        free(e);
        free(pdir);
        return GR_ENOMEM;
    }
    e->topic = topic;
    e->partition = partition;
    int rc = read_part_meta(pdir, e->topic_id);
    if (rc)
        gr_log(GR_LOG_WARN, "log", "%s/%s unreadable (%s); topic id unknown", pdir,
               PART_META_FILE, gr_strerror(rc));
    recover_arg_t ra = {mgr, topic, partition};
    gr_plog_open_opts_t o = {
        .recovery_point = ckpt_get(&ck[0], topic, partition),
        .log_start_offset = ckpt_get(&ck[1], topic, partition),
        .high_watermark = ckpt_get(&ck[2], topic, partition),
        .on_batch = mgr->cfg.on_recover_batch ? on_recover_batch : NULL,
        .on_batch_arg = &ra,
    };
    rc = gr_plog_open_ex(pdir, &mgr->cfg.plog, &o, &e->plog);
    free(pdir);
    if (rc == 0 && (rc = table_add(mgr, e)) != 0)
        gr_plog_close(e->plog);
    if (rc) {
        gr_log(GR_LOG_ERROR, "log", "%s: cannot open partition %s: %s", mgr->dir, name,
               gr_strerror(rc));
        entry_free(e);
        return rc;
    }
    gr_plog_set_user(e->plog, e);
    gr_plog_set_remover(e->plog, on_remove, mgr);
    return 0;
}

static int open_partitions(gr_logmgr_t *mgr)
{
    ckpt_t ck[3];
    ckpt_load(mgr->dir, RECOVERY_CKPT, &ck[0]);
    ckpt_load(mgr->dir, START_CKPT, &ck[1]);
    ckpt_load(mgr->dir, HW_CKPT, &ck[2]);
    DIR *d = opendir(mgr->dir);
    int rc = d ? 0 : -errno;
    struct dirent *de;
    while (rc == 0 && d && (de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        size_t l = strlen(n);
        if (n[0] == '.' || !strcmp(n, "__cluster_metadata-0"))
            continue;
        char *p = path_in(mgr->dir, n);
        struct stat st;
        bool is_dir = p && lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
        if (is_dir && l > 7 && !strcmp(n + l - 7, "-delete")) {
            gr_log(GR_LOG_INFO, "log", "removing %s left by an unfinished deletion", p);
            gr_log_io_rmtree(p);
        } else if (is_dir && !(l > 7 && !strcmp(n + l - 7, "-future")) &&
                   !(l > 6 && !strcmp(n + l - 6, "-stray"))) {
            rc = open_partition(mgr, n, ck);
        }
        free(p);
    }
    if (d)
        closedir(d);
    for (int i = 0; i < 3; i++)
        gr_log_ckpt_free_offsets(ck[i].e, ck[i].n);
    return rc;
}

/* ---- flusher threads ---- */

static void run_job(gr_logmgr_t *mgr, job_t *j)
{
    if (j->kind == JOB_FLUSH) {
        j->status = gr_plog_flush(j->entry->plog, j->target);
        atomic_fetch_add(&mgr->fsyncs, 1);
        return;
    }
    if (j->kind == JOB_UNLINK) {
        j->status = 0;
        for (removal_t *r = j->files; r; r = r->next)
            if (unlink(r->path) != 0 && errno != ENOENT) {
                GR_LOG_RL(GR_LOG_ERROR, "log", "cannot delete %s: %s", r->path, strerror(errno));
                if (!j->status)
                    j->status = -errno;
            }
        return;
    }
    static const char *names[3] = {RECOVERY_CKPT, START_CKPT, HW_CKPT};
    j->status = 0;
    pthread_mutex_lock(&mgr->ckpt_mu);
    for (int i = 0; i < 3; i++) {
        char *path = path_in(mgr->dir, names[i]);
        int rc = path ? gr_log_ckpt_write_offsets(path, j->ck[i], j->nck) : GR_ENOMEM;
        free(path);
        if (rc && !j->status)
            j->status = rc;
    }
    pthread_mutex_unlock(&mgr->ckpt_mu);
}

static void *flusher_main(void *arg)
{
    gr_logmgr_t *mgr = arg;
    pthread_mutex_lock(&mgr->mu);
    for (;;) {
        while (!mgr->stop && !mgr->queue)
            pthread_cond_wait(&mgr->cond, &mgr->mu);
        if (mgr->stop)
            break;
        job_t *j = mgr->queue;
        mgr->queue = j->next;
        if (!mgr->queue)
            mgr->queue_tail = NULL;
        pthread_mutex_unlock(&mgr->mu);
        run_job(mgr, j);
        pthread_mutex_lock(&mgr->mu);
        j->next = mgr->done;
        mgr->done = j;
        uv_async_send(&mgr->async);
    }
    pthread_mutex_unlock(&mgr->mu);
    return NULL;
}

static void update_ref(gr_logmgr_t *mgr)
{
    if (!mgr->handles_started)
        return;
    if (mgr->pending > 0)
        uv_ref((uv_handle_t *)&mgr->async);
    else
        uv_unref((uv_handle_t *)&mgr->async);
}

static void submit(gr_logmgr_t *mgr, job_t *j)
{
    j->next = NULL;
    pthread_mutex_lock(&mgr->mu);
    if (mgr->queue_tail)
        mgr->queue_tail->next = j;
    else
        mgr->queue = j;
    mgr->queue_tail = j;
    pthread_cond_signal(&mgr->cond);
    pthread_mutex_unlock(&mgr->mu);
    mgr->pending++;
    update_ref(mgr);
}

static void start_flush(gr_logmgr_t *mgr, entry_t *e)
{
    if (e->inflight || mgr->closing)
        return;
    job_t *j = calloc(1, sizeof *j);
    if (!j)
        return; /* retried by the next policy check or request */
    j->kind = JOB_FLUSH;
    j->entry = e;
    j->target = gr_plog_leo(e->plog);
    e->inflight = true;
    submit(mgr, j);
}

static void fire(waiter_t *w)
{
    while (w) {
        waiter_t *next = w->next;
        w->cb(w->arg, w->status);
        free(w);
        w = next;
    }
}

/* Moves the waiters of e that are settled (by status or by the flushed
 * offset) onto *fire_list. */
static void settle(entry_t *e, int status, waiter_t **fire_list)
{
    int64_t durable = gr_plog_flushed_offset(e->plog);
    int64_t leo = gr_plog_leo(e->plog);
    waiter_t **pp = &e->waiters;
    while (*pp) {
        waiter_t *w = *pp;
        int st = 1;
        if (status)
            st = status;
        else if (w->upto <= durable)
            st = 0;
        else if (w->upto > leo)
            st = GR_ERANGE;
        if (st == 1) {
            pp = &w->next;
            continue;
        }
        *pp = w->next;
        w->status = st;
        w->next = *fire_list;
        *fire_list = w;
    }
}

static void finish_delete(entry_t *e)
{
    int rc = gr_plog_delete(e->plog);
    if (rc)
        gr_log(GR_LOG_ERROR, "log", "deleting %s-%" PRId32 ": %s", e->topic, e->partition,
               gr_strerror(rc));
    entry_free(e);
}

/* Handles finished jobs; callbacks run last, after all bookkeeping, so a
 * callback may call back into the manager. */
static void process_done(gr_logmgr_t *mgr)
{
    pthread_mutex_lock(&mgr->mu);
    job_t *done = mgr->done;
    mgr->done = NULL;
    pthread_mutex_unlock(&mgr->mu);
    waiter_t *fire_list = mgr->ready;
    mgr->ready = NULL;
    for (waiter_t *w = fire_list; w; w = w->next)
        mgr->pending--;
    while (done) {
        job_t *j = done;
        done = j->next;
        mgr->pending--;
        if (j->kind == JOB_CHECKPOINT) {
            mgr->ckpt_inflight = false;
            if (j->status)
                GR_LOG_RL(GR_LOG_ERROR, "log", "%s: writing checkpoints failed: %s", mgr->dir,
                          gr_strerror(j->status));
            for (int i = 0; i < 3; i++)
                gr_log_ckpt_free_offsets(j->ck[i], j->nck);
            while (j->waiters) {
                waiter_t *w = j->waiters;
                j->waiters = w->next;
                w->status = j->status;
                w->next = fire_list;
                fire_list = w;
            }
            if (mgr->ckpt_again || mgr->ckpt_waiters)
                start_checkpoint(mgr);
        } else if (j->kind == JOB_UNLINK) {
            removals_free(j->files);
        } else {
            entry_t *e = j->entry;
            e->inflight = false;
            if (e->deleting) {
                settle(e, GR_ENOTFOUND, &fire_list);
                finish_delete(e);
            } else {
                settle(e, j->status, &fire_list);
                if (e->waiters)
                    start_flush(mgr, e);
            }
        }
        free(j);
    }
    update_ref(mgr);
    fire(fire_list);
}

static void on_async(uv_async_t *h)
{
    gr_logmgr_t *mgr = h->data;
    process_done(mgr);
    gr_cleaner_run_loop_work(mgr->cleaner);
}

/* ---- the log cleaner ---- */

static void cleaner_wake(void *arg)
{
    gr_logmgr_t *mgr = arg;
    uv_async_send(&mgr->async);
}

static void start_cleaner(gr_logmgr_t *mgr)
{
    gr_cleaner_config_t cc = mgr->cfg.cleaner;
    cc.wake = cleaner_wake;
    cc.wake_arg = mgr;
    if (!cc.clock_ms)
        cc.clock_ms = mgr->cfg.plog.clock_ms;
    int rc = gr_cleaner_new(&cc, mgr->dir, &mgr->cleaner);
    if (rc == 0)
        rc = gr_cleaner_start(mgr->cleaner);
    if (rc) {
        gr_log(GR_LOG_ERROR, "log", "%s: the log cleaner cannot start (%s); no compaction",
               mgr->dir, gr_strerror(rc));
        gr_cleaner_free(mgr->cleaner);
        mgr->cleaner = NULL;
    }
}

int gr_logmgr_set_compaction(gr_logmgr_t *mgr, gr_plog_t *plog,
                             const gr_cleaner_log_config_t *cfg)
{
    entry_t *e = plog ? gr_plog_user(plog) : NULL;
    if (!mgr->cleaner || !e)
        return 0;
    if (!cfg) {
        gr_cleaner_unregister(mgr->cleaner, plog, e->topic, e->partition);
        return 0;
    }
    return gr_cleaner_register(mgr->cleaner, plog, e->topic, e->partition, cfg);
}

gr_cleaner_t *gr_logmgr_cleaner(gr_logmgr_t *mgr) { return mgr->cleaner; }

int gr_logmgr_reconfigure_cleaner(gr_logmgr_t *mgr, const gr_cleaner_config_t *cfg)
{
    if (!mgr->cleaner)
        return 0;
    gr_cleaner_config_t cc = *cfg;
    cc.wake = cleaner_wake;
    cc.wake_arg = mgr;
    if (!cc.clock_ms)
        cc.clock_ms = mgr->cfg.plog.clock_ms;
    mgr->cfg.cleaner = cc;
    return gr_cleaner_reconfigure(mgr->cleaner, &cc);
}

static void on_flush_timer(uv_timer_t *t)
{
    gr_logmgr_t *mgr = t->data;
    int64_t now = mgr->cfg.plog.clock_ms ? mgr->cfg.plog.clock_ms() : gr_clock_wall_ms();
    for (size_t i = 0; i < mgr->nbuckets; i++)
        for (entry_t *e = mgr->buckets[i]; e; e = e->hnext)
            if (!e->inflight && gr_plog_needs_flush(e->plog, now))
                start_flush(mgr, e);
    submit_due_removals(mgr, false);
}

/* Snapshot of every partition's offsets for the checkpoint files. */
static int snapshot(gr_logmgr_t *mgr, gr_log_ckpt_entry_t *ck[3], size_t *n)
{
    *n = mgr->count;
    for (int k = 0; k < 3; k++) {
        ck[k] = calloc(mgr->count ? mgr->count : 1, sizeof *ck[k]);
        if (!ck[k]) {
            for (int m = 0; m < k; m++)
                gr_log_ckpt_free_offsets(ck[m], *n);
            return GR_ENOMEM;
        }
    }
    size_t i = 0;
    for (size_t b = 0; b < mgr->nbuckets; b++)
        for (entry_t *e = mgr->buckets[b]; e; e = e->hnext, i++) {
            int64_t v[3] = {gr_plog_flushed_offset(e->plog), gr_plog_start_offset(e->plog),
                            gr_plog_hw(e->plog)};
            for (int k = 0; k < 3; k++) {
                ck[k][i].topic = strdup(e->topic);
                ck[k][i].partition = e->partition;
                ck[k][i].offset = v[k];
                if (!ck[k][i].topic) {
                    for (int m = 0; m < 3; m++)
                        gr_log_ckpt_free_offsets(ck[m], *n);
                    return GR_ENOMEM;
                }
            }
        }
    return 0;
}

/* Starts writing the checkpoint files with the offsets of now, taking the
 * waiters along; if a write is already running, another follows it. */
static void start_checkpoint(gr_logmgr_t *mgr)
{
    if (mgr->closing)
        return;
    if (mgr->ckpt_inflight) {
        mgr->ckpt_again = true;
        return;
    }
    job_t *j = calloc(1, sizeof *j);
    if (!j)
        return; /* the waiters go with the timer's next checkpoint */
    j->kind = JOB_CHECKPOINT;
    if (snapshot(mgr, j->ck, &j->nck)) {
        free(j);
        return;
    }
    j->waiters = mgr->ckpt_waiters;
    mgr->ckpt_waiters = NULL;
    mgr->ckpt_again = false;
    mgr->ckpt_inflight = true;
    submit(mgr, j);
}

static void on_ckpt_timer(uv_timer_t *t) { start_checkpoint(t->data); }

/* ---- retention and delayed file removal ---- */

static void removals_free(removal_t *r)
{
    while (r) {
        removal_t *next = r->next;
        free(r->path);
        free(r);
        r = next;
    }
}

/* Hands the removals that are due (all of them with `all`) to a worker. */
static void submit_due_removals(gr_logmgr_t *mgr, bool all)
{
    int64_t now = gr_clock_mono_ms();
    removal_t *due = NULL, **pp = &mgr->removals;
    while (*pp) {
        removal_t *r = *pp;
        if (all || r->due_ms <= now) {
            *pp = r->next;
            r->next = due;
            due = r;
            mgr->nremovals--;
        } else {
            pp = &r->next;
        }
    }
    if (!due)
        return;
    job_t *j = calloc(1, sizeof *j);
    if (!j) {
        /* Put them back; the next tick retries. */
        while (due) {
            removal_t *r = due;
            due = r->next;
            r->next = mgr->removals;
            mgr->removals = r;
            mgr->nremovals++;
        }
        return;
    }
    j->kind = JOB_UNLINK;
    j->files = due;
    submit(mgr, j);
}

/* The partition logs' remover: a segment file renamed *.deleted is
 * unlinked after its file.delete.delay.ms, by a worker thread. */
static void on_remove(void *arg, char *path, int64_t delay_ms)
{
    gr_logmgr_t *mgr = arg;
    removal_t *r = calloc(1, sizeof *r);
    if (!r || mgr->closing) {
        /* No memory, or no workers any more: unlink now. */
        if (unlink(path) != 0 && errno != ENOENT)
            gr_log(GR_LOG_ERROR, "log", "cannot delete %s: %s", path, strerror(errno));
        free(path);
        free(r);
        return;
    }
    r->path = path;
    int64_t now = gr_clock_mono_ms();
    r->due_ms = delay_ms > INT64_MAX - now ? INT64_MAX : now + delay_ms;
    r->next = mgr->removals;
    mgr->removals = r;
    mgr->nremovals++;
    if (delay_ms <= 0)
        submit_due_removals(mgr, false);
}

size_t gr_logmgr_retain(gr_logmgr_t *mgr)
{
    int64_t now = mgr->cfg.plog.clock_ms ? mgr->cfg.plog.clock_ms() : gr_clock_wall_ms();
    size_t total = 0;
    for (size_t i = 0; i < mgr->nbuckets; i++)
        for (entry_t *e = mgr->buckets[i]; e; e = e->hnext) {
            /* The metadata log is the cluster's history: never retention's. */
            if (e->deleting || strncmp(e->topic, METADATA_PREFIX, strlen(METADATA_PREFIX)) == 0)
                continue;
            size_t removed = 0;
            unsigned why = 0;
            int rc = gr_plog_retain(e->plog, now, &removed, &why);
            if (rc)
                GR_LOG_RL(GR_LOG_ERROR, "log", "%s-%" PRId32 ": retention failed: %s", e->topic,
                          e->partition, gr_strerror(rc));
            if (removed)
                gr_log(GR_LOG_INFO, "log",
                       "%s-%" PRId32 ": deleted %zu segment(s) by %s; log start offset is now %" PRId64,
                       e->topic, e->partition, removed, gr_retention_reason_text(why),
                       gr_plog_start_offset(e->plog));
            total += removed;
        }
    if (total)
        start_checkpoint(mgr);
    return total;
}

static void on_retention_timer(uv_timer_t *t) { gr_logmgr_retain(t->data); }

size_t gr_logmgr_pending_removals(const gr_logmgr_t *mgr) { return mgr->nremovals; }

/* ---- public ---- */

static void mgr_free(gr_logmgr_t *mgr)
{
    if (mgr->lock_fd >= 0)
        close(mgr->lock_fd);
    pthread_mutex_destroy(&mgr->mu);
    pthread_mutex_destroy(&mgr->ckpt_mu);
    pthread_cond_destroy(&mgr->cond);
    free(mgr->buckets);
    free(mgr->threads);
    free(mgr->dir);
    free(mgr);
}

static void close_entries(gr_logmgr_t *mgr)
{
    for (size_t i = 0; i < mgr->nbuckets; i++) {
        entry_t *e = mgr->buckets[i];
        while (e) {
            entry_t *next = e->hnext;
            gr_plog_close(e->plog);
            entry_free(e);
            e = next;
        }
        mgr->buckets[i] = NULL;
    }
    mgr->count = 0;
}

int gr_logmgr_open(const gr_logmgr_config_t *cfg, uv_loop_t *loop, gr_logmgr_t **out)
{
    if (!cfg->dir || !loop || cfg->flush_check_ms < 1 || cfg->checkpoint_ms < 1 ||
        cfg->retention_check_ms < 0 ||
        cfg->flusher_threads < 1 || cfg->flusher_threads > 64 || cfg->node_id < 0 ||
        gr_plog_config_check(&cfg->plog))
        return GR_EINVAL;
    gr_logmgr_t *mgr = calloc(1, sizeof *mgr);
    if (!mgr)
        return GR_ENOMEM;
    mgr->cfg = *cfg;
    mgr->loop = loop;
    mgr->lock_fd = -1;
    pthread_mutex_init(&mgr->mu, NULL);
    pthread_mutex_init(&mgr->ckpt_mu, NULL);
    pthread_cond_init(&mgr->cond, NULL);
    mgr->dir = strdup(cfg->dir);
    mgr->cfg.dir = mgr->dir;
    int rc = mgr->dir ? table_grow(mgr) : GR_ENOMEM;
    if (rc)
        goto fail;
    if (mkdir(mgr->dir, 0755) != 0 && errno != EEXIST) {
        rc = -errno;
        gr_log(GR_LOG_ERROR, "log", "cannot create log dir %s: %s", mgr->dir, strerror(errno));
        goto fail;
    }
    char *lock_path = path_in(mgr->dir, ".lock");
    if (!lock_path) {
        rc = GR_ENOMEM;
        goto fail;
    }
    mgr->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (mgr->lock_fd < 0 || flock(mgr->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        rc = (errno == EWOULDBLOCK) ? -EBUSY : -errno;
        if (rc == -EBUSY)
            gr_log(GR_LOG_ERROR, "log",
                   "log dir %s is in use by another broker (cannot lock %s); is one already "
                   "running on it?",
                   mgr->dir, lock_path);
        else
            gr_log(GR_LOG_ERROR, "log", "cannot lock %s: %s", lock_path, gr_strerror(rc));
        free(lock_path);
        goto fail;
    }
    free(lock_path);
    if ((rc = load_meta(mgr)) != 0 || (rc = open_partitions(mgr)) != 0) {
        close_entries(mgr);
        goto fail;
    }

    mgr->nthreads = cfg->flusher_threads;
    mgr->threads = calloc((size_t)mgr->nthreads, sizeof *mgr->threads);
    if (!mgr->threads) {
        rc = GR_ENOMEM;
        close_entries(mgr);
        goto fail;
    }
    uv_async_init(loop, &mgr->async, on_async);
    uv_timer_init(loop, &mgr->flush_timer);
    uv_timer_init(loop, &mgr->ckpt_timer);
    uv_timer_init(loop, &mgr->retention_timer);
    mgr->async.data = mgr->flush_timer.data = mgr->ckpt_timer.data = mgr;
    mgr->retention_timer.data = mgr;
    mgr->open_handles = 4;
    mgr->handles_started = true;
    uv_timer_start(&mgr->flush_timer, on_flush_timer, (uint64_t)cfg->flush_check_ms,
                   (uint64_t)cfg->flush_check_ms);
    uv_timer_start(&mgr->ckpt_timer, on_ckpt_timer, (uint64_t)cfg->checkpoint_ms,
                   (uint64_t)cfg->checkpoint_ms);
    if (cfg->retention_check_ms > 0)
        uv_timer_start(&mgr->retention_timer, on_retention_timer,
                       (uint64_t)cfg->retention_check_ms, (uint64_t)cfg->retention_check_ms);
    /* The timers and the wake-up handle never keep the loop alive by
     * themselves; pending work does (update_ref). */
    uv_unref((uv_handle_t *)&mgr->flush_timer);
    uv_unref((uv_handle_t *)&mgr->ckpt_timer);
    uv_unref((uv_handle_t *)&mgr->retention_timer);
    uv_unref((uv_handle_t *)&mgr->async);
    for (int i = 0; i < mgr->nthreads; i++) {
        if (pthread_create(&mgr->threads[i], NULL, flusher_main, mgr) != 0) {
            mgr->nthreads = i;
            gr_log(GR_LOG_WARN, "log", "started only %d flusher threads", i);
            break;
        }
    }
    if (mgr->nthreads == 0) {
        /* Cannot work without one; close cleanly through the normal path. */
        gr_logmgr_close(mgr);
        return GR_ENOMEM;
    }
    if (cfg->cleaner_enable)
        start_cleaner(mgr);
    gr_log(GR_LOG_INFO, "log", "log dir %s: %zu partitions, cluster.id %s", mgr->dir,
           mgr->count, mgr->cluster_id);
    *out = mgr;
    return 0;
fail:
    mgr_free(mgr);
    return rc;
}

const char *gr_logmgr_dir(const gr_logmgr_t *mgr) { return mgr->dir; }
const char *gr_logmgr_cluster_id(const gr_logmgr_t *mgr) { return mgr->cluster_id; }
const char *gr_logmgr_directory_id(const gr_logmgr_t *mgr) { return mgr->directory_id; }

gr_plog_t *gr_logmgr_get(gr_logmgr_t *mgr, const char *topic, int32_t partition)
{
    entry_t *e = *find_slot(mgr, topic, partition);
    return e ? e->plog : NULL;
}

int gr_logmgr_create(gr_logmgr_t *mgr, const char *topic, int32_t partition,
                     const uint8_t topic_id[16], const gr_plog_config_t *cfg, gr_plog_t **out)
{
    if (!gr_log_topic_name_valid(topic, strlen(topic)) || partition < 0 || mgr->closing)
        return GR_EINVAL;
    entry_t *old = *find_slot(mgr, topic, partition);
    if (old) {
        *out = old->plog;
        return GR_EEXIST;
    }
    entry_t *e = calloc(1, sizeof *e);
    char *pdir = NULL;
    if (!e || (e->topic = strdup(topic)) == NULL ||
        asprintf(&pdir, "%s/%s-%" PRId32, mgr->dir, topic, partition) < 0) {
        if (e)
            free(e->topic);
        free(e);
        return GR_ENOMEM;
    }
    e->partition = partition;
    memcpy(e->topic_id, topic_id, 16);
    int rc = 0;
    if (mkdir(pdir, 0755) != 0 && errno != EEXIST)
        rc = -errno;
    if (rc == 0)
        rc = write_part_meta(pdir, topic_id);
    if (rc == 0)
        rc = gr_plog_open(pdir, cfg ? cfg : &mgr->cfg.plog, -1, &e->plog);
    if (rc == 0 && (rc = table_add(mgr, e)) != 0)
        gr_plog_close(e->plog);
    if (rc) {
        gr_log(GR_LOG_ERROR, "log", "cannot create %s: %s", pdir, gr_strerror(rc));
        free(pdir);
        entry_free(e);
        return rc;
    }
    free(pdir);
    gr_plog_set_user(e->plog, e);
    gr_plog_set_remover(e->plog, on_remove, mgr);
    *out = e->plog;
    return 0;
}

int gr_logmgr_topic_id(gr_logmgr_t *mgr, const char *topic, int32_t partition,
                       uint8_t topic_id[16])
{
    entry_t *e = *find_slot(mgr, topic, partition);
    if (!e)
        return GR_ENOTFOUND;
    memcpy(topic_id, e->topic_id, 16);
    return 0;
}

int gr_logmgr_delete(gr_logmgr_t *mgr, const char *topic, int32_t partition)
{
    entry_t *e = *find_slot(mgr, topic, partition);
    if (!e)
        return GR_ENOTFOUND;
    table_remove(mgr, e);
    if (mgr->cleaner)
        gr_cleaner_unregister(mgr->cleaner, e->plog, e->topic, e->partition);
    e->deleting = true;
    waiter_t *fire_list = NULL;
    settle(e, GR_ENOTFOUND, &fire_list);
    /* Callbacks run on a later loop turn, as promised. */
    while (fire_list) {
        waiter_t *w = fire_list;
        fire_list = w->next;
        w->next = mgr->ready;
        mgr->ready = w;
        mgr->pending++;
    }
    if (mgr->ready) {
        update_ref(mgr);
        uv_async_send(&mgr->async);
    }
    if (e->inflight)
        return 0; /* finished by process_done */
    finish_delete(e);
    return 0;
}

size_t gr_logmgr_count(const gr_logmgr_t *mgr) { return mgr->count; }

uint64_t gr_logmgr_flush_jobs(gr_logmgr_t *mgr) { return atomic_load(&mgr->fsyncs); }

void gr_logmgr_foreach(gr_logmgr_t *mgr,
                       void (*fn)(void *arg, const char *topic, int32_t partition,
                                  gr_plog_t *plog),
                       void *arg)
{
    for (size_t i = 0; i < mgr->nbuckets; i++)
        for (entry_t *e = mgr->buckets[i]; e; e = e->hnext)
            fn(arg, e->topic, e->partition, e->plog);
}

int gr_logmgr_checkpoint(gr_logmgr_t *mgr)
{
    job_t j = {.kind = JOB_CHECKPOINT};
    int rc = snapshot(mgr, j.ck, &j.nck);
    if (rc)
        return rc;
    run_job(mgr, &j);
    for (int i = 0; i < 3; i++)
        gr_log_ckpt_free_offsets(j.ck[i], j.nck);
    return j.status;
}

int gr_logmgr_checkpoint_async(gr_logmgr_t *mgr, gr_logmgr_flush_cb cb, void *arg)
{
    if (mgr->closing)
        return GR_EINVAL;
    if (cb) {
        waiter_t *w = calloc(1, sizeof *w);
        if (!w)
            return GR_ENOMEM;
        w->cb = cb;
        w->arg = arg;
        w->next = mgr->ckpt_waiters;
        mgr->ckpt_waiters = w;
    }
    start_checkpoint(mgr);
    return 0;
}

int gr_logmgr_flush_async(gr_logmgr_t *mgr, gr_plog_t *plog, int64_t upto,
                          gr_logmgr_flush_cb cb, void *arg)
{
    entry_t *e = plog ? gr_plog_user(plog) : NULL;
    if (mgr->closing)
        return GR_EINVAL;
    if (!e || e->deleting || *find_slot(mgr, e->topic, e->partition) != e)
        return GR_ENOTFOUND;
    if (upto > gr_plog_leo(plog))
        return GR_ERANGE;
    waiter_t *w = calloc(1, sizeof *w);
    if (!w)
        return GR_ENOMEM;
    w->upto = upto;
    w->cb = cb;
    w->arg = arg;
    if (upto <= gr_plog_flushed_offset(plog)) {
        w->next = mgr->ready;
        mgr->ready = w;
        mgr->pending++;
        update_ref(mgr);
        uv_async_send(&mgr->async);
        return 0;
    }
    w->next = e->waiters;
    e->waiters = w;
    start_flush(mgr, e);
    return 0;
}

static void on_handle_closed(uv_handle_t *h)
{
    gr_logmgr_t *mgr = h->data;
    if (--mgr->open_handles == 0)
        mgr_free(mgr);
}

void gr_logmgr_close(gr_logmgr_t *mgr)
{
    /* The cleaner first: it gives up a cleaning half way and never touches
     * a log again (recovery finishes a half-done swap at the next open). */
    gr_cleaner_stop(mgr->cleaner);
    gr_cleaner_free(mgr->cleaner);
    mgr->cleaner = NULL;
    mgr->closing = true;
    uv_timer_stop(&mgr->flush_timer);
    uv_timer_stop(&mgr->ckpt_timer);
    uv_timer_stop(&mgr->retention_timer);
    pthread_mutex_lock(&mgr->mu);
    mgr->stop = true;
    pthread_cond_broadcast(&mgr->cond);
    pthread_mutex_unlock(&mgr->mu);
    for (int i = 0; i < mgr->nthreads; i++)
        pthread_join(mgr->threads[i], NULL);

    /* Jobs that never ran count as finished-with-nothing-done; the final
     * flush below covers them. */
    pthread_mutex_lock(&mgr->mu);
    job_t *q = mgr->queue;
    mgr->queue = mgr->queue_tail = NULL;
    while (q) {
        job_t *j = q;
        q = j->next;
        j->status = 0;
        if (j->kind == JOB_UNLINK)
            run_job(mgr, j);
        j->next = mgr->done;
        mgr->done = j;
    }
    pthread_mutex_unlock(&mgr->mu);
    process_done(mgr);
    /* Files still waiting for their delay go now. */
    for (removal_t *r = mgr->removals; r; r = r->next)
        if (unlink(r->path) != 0 && errno != ENOENT)
            gr_log(GR_LOG_ERROR, "log", "cannot delete %s: %s", r->path, strerror(errno));
    removals_free(mgr->removals);
    mgr->removals = NULL;
    mgr->nremovals = 0;

    waiter_t *fire_list = NULL;
    for (size_t i = 0; i < mgr->nbuckets; i++)
        for (entry_t *e = mgr->buckets[i]; e; e = e->hnext) {
            int rc = gr_plog_flush(e->plog, INT64_MAX);
            if (rc)
                gr_log(GR_LOG_ERROR, "log", "final flush of %s-%" PRId32 " failed: %s",
                       e->topic, e->partition, gr_strerror(rc));
            settle(e, rc, &fire_list);
            /* Anything left is above the LEO now; it cannot complete. */
            settle(e, GR_ERANGE, &fire_list);
        }
    waiter_t *ready = mgr->ready;
    mgr->ready = NULL;
    fire(ready);
    fire(fire_list);
    int rc = gr_logmgr_checkpoint(mgr);
    if (rc)
        gr_log(GR_LOG_ERROR, "log", "%s: final checkpoint failed: %s", mgr->dir,
               gr_strerror(rc));
    for (waiter_t *w = mgr->ckpt_waiters; w; w = w->next)
        w->status = rc;
    fire(mgr->ckpt_waiters);
    mgr->ckpt_waiters = NULL;
    close_entries(mgr);
    if (mgr->lock_fd >= 0) {
        close(mgr->lock_fd);
        mgr->lock_fd = -1;
    }
    uv_close((uv_handle_t *)&mgr->flush_timer, on_handle_closed);
    uv_close((uv_handle_t *)&mgr->ckpt_timer, on_handle_closed);
    uv_close((uv_handle_t *)&mgr->retention_timer, on_handle_closed);
    uv_close((uv_handle_t *)&mgr->async, on_handle_closed);
}
