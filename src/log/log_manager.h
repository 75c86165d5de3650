/* Log manager: owns one log directory (one entry of log.dirs) and every
 * partition log in it.
 *
 *   <dir>/.lock                                flock(LOCK_EX|LOCK_NB) while open
 *   <dir>/meta.properties                      version, node.id, cluster.id, directory.id
 *   <dir>/recovery-point-offset-checkpoint     flushed offset per partition
 *   <dir>/log-start-offset-checkpoint          log start offset per partition
 *   <dir>/replication-offset-checkpoint        high watermark per partition
 *   <dir>/<topic>-<partition>/                 partition logs (partition_log.h)
 *   <dir>/<topic>-<partition>/partition.metadata   topic id
 *
 * It runs the fsync policy off the event loop: flusher threads fsync
 * partitions whose policy asks for it (checked every flush_check_ms), and
 * gr_logmgr_flush_async() lets acks=all wait for durability, with
 * concurrent requests for one partition served by one fsync.
 *
 * It also runs retention: every retention_check_ms each partition's
 * gr_plog_retain() removes the segments its retention settings let go
 * (never those of __cluster_metadata), and the files of removed segments
 * (renamed *.deleted) are unlinked by the same worker threads once their
 * file.delete.delay.ms has passed. A moved log start offset is written to
 * log-start-offset-checkpoint at once.
 *
 * Thread rules: every function is for the thread running `loop`, and every
 * callback runs on it. The flusher threads are internal. */
#ifndef GR_LOG_LOG_MANAGER_H
#define GR_LOG_LOG_MANAGER_H

#include "log/cleaner.h"
#include "log/partition_log.h"

#include <stdint.h>
#include <uv.h>

typedef struct gr_logmgr_s gr_logmgr_t;

typedef struct gr_logmgr_config_s {
    const char      *dir;             /* created if missing */
    int32_t          node_id;         /* must match meta.properties if present */
    const char      *cluster_id;      /* NULL: keep the file's, or make one */
    gr_plog_config_t plog;            /* defaults for partitions */
    int64_t          flush_check_ms;  /* how often flush policies are checked (1000) */
    int64_t          checkpoint_ms;   /* log.flush.offset.checkpoint.interval.ms (60000) */
    int64_t          retention_check_ms; /* log.retention.check.interval.ms (300000); 0 = never */
    int              flusher_threads; /* 2 */
    /* The log cleaner (compaction) of this directory: off by default here;
     * the broker turns it on with log.cleaner.enable. cleaner.wake is the
     * manager's own. */
    bool                cleaner_enable;
    gr_cleaner_config_t cleaner;
    /* Called while partitions are recovered during gr_logmgr_open, for each
     * batch recovery checked (see gr_plog_open_opts_t). May be NULL. */
    void (*on_recover_batch)(void *arg, const char *topic, int32_t partition,
                             const uint8_t *hdr61, int fd, int64_t pos);
    void *on_recover_arg;
} gr_logmgr_config_t;

void gr_logmgr_config_default(gr_logmgr_config_t *cfg);

/* Creates the directory if needed, locks it (-EBUSY, with an ERROR line,
 * if another process or manager holds it), checks or writes
 * meta.properties (GR_EINVAL on a node.id or cluster.id mismatch), reads
 * the checkpoints and opens and recovers every partition directory found.
 * Leftover "*-delete" directories are removed. */
int gr_logmgr_open(const gr_logmgr_config_t *cfg, uv_loop_t *loop, gr_logmgr_t **out);

/* The log directory as configured (borrowed). */
const char *gr_logmgr_dir(const gr_logmgr_t *mgr);
const char *gr_logmgr_cluster_id(const gr_logmgr_t *mgr);
const char *gr_logmgr_directory_id(const gr_logmgr_t *mgr);

/* Borrowed pointer, valid until the partition is deleted or the manager
 * closed; NULL if absent. */
gr_plog_t *gr_logmgr_get(gr_logmgr_t *mgr, const char *topic, int32_t partition);
/* Creates <topic>-<partition>/ with its partition.metadata and an empty
 * log. cfg NULL = the manager's defaults. GR_EEXIST (and *out set) if it
 * exists already; GR_EINVAL for an illegal topic name or partition. */
int gr_logmgr_create(gr_logmgr_t *mgr, const char *topic, int32_t partition,
                     const uint8_t topic_id[16], const gr_plog_config_t *cfg, gr_plog_t **out);
/* The topic id from partition.metadata (all zero if it was unreadable). */
int gr_logmgr_topic_id(gr_logmgr_t *mgr, const char *topic, int32_t partition,
                       uint8_t topic_id[16]);
/* Deletes the partition's directory (gr_plog_delete). Pending flush
 * callbacks get GR_ENOTFOUND. If a flush is running, the deletion finishes
 * when it ends; the partition is gone from the manager at once. */
int gr_logmgr_delete(gr_logmgr_t *mgr, const char *topic, int32_t partition);

size_t gr_logmgr_count(const gr_logmgr_t *mgr);
/* Number of partition flushes run so far (metrics, tests). */
uint64_t gr_logmgr_flush_jobs(gr_logmgr_t *mgr);
void gr_logmgr_foreach(gr_logmgr_t *mgr,
                       void (*fn)(void *arg, const char *topic, int32_t partition,
                                  gr_plog_t *plog),
                       void *arg);

/* Writes the three checkpoint files now (blocking; the timer does it on a
 * flusher thread). */
int gr_logmgr_checkpoint(gr_logmgr_t *mgr);

/* status: 0 once the checkpoint files hold offsets taken at or after the
 * call, else the write error. */
typedef void (*gr_logmgr_flush_cb)(void *arg, int status);

/* Writes the checkpoint files on a flusher thread with the offsets of now
 * (DeleteRecords waits for its new log start offset to be durable). cb
 * (NULL: nobody waits) runs later on the loop thread, exactly once.
 * Returns 0, or GR_EINVAL (closing) / GR_ENOMEM and cb never runs. */
int gr_logmgr_checkpoint_async(gr_logmgr_t *mgr, gr_logmgr_flush_cb cb, void *arg);

/* Runs retention over every partition now (the timer does it every
 * retention_check_ms). Returns the number of segments removed. */
size_t gr_logmgr_retain(gr_logmgr_t *mgr);
/* Segment files waiting for their delayed unlink (tests). */
size_t gr_logmgr_pending_removals(const gr_logmgr_t *mgr);

/* For flushes, status is 0 once every offset below upto is durable, else
 * the flush error, GR_ENOTFOUND if the partition was deleted, GR_ERANGE if
 * the offsets were truncated away before they became durable.
 *
 * Asks for offsets below upto (exclusive) of plog (a log of this manager)
 * to be made durable; cb runs on the loop thread, always later (never
 * inside this call), exactly once. Returns 0, or an error and cb never
 * runs: GR_ENOTFOUND (not this manager's), GR_ERANGE (upto > LEO),
 * GR_EINVAL (closing), GR_ENOMEM. */
int gr_logmgr_flush_async(gr_logmgr_t *mgr, gr_plog_t *plog, int64_t upto,
                          gr_logmgr_flush_cb cb, void *arg);

/* Compacts plog (a log of this manager) with cfg, by the log cleaner, or
 * stops compacting it (cfg NULL). Nothing happens without a cleaner. */
int gr_logmgr_set_compaction(gr_logmgr_t *mgr, gr_plog_t *plog,
                             const gr_cleaner_log_config_t *cfg);
/* The cleaner, NULL when disabled (tests, metrics). */
gr_cleaner_t *gr_logmgr_cleaner(gr_logmgr_t *mgr);
/* Applies new cleaner settings (log.cleaner.* changed at run time; see
 * gr_cleaner_reconfigure). Nothing happens without a cleaner. */
int gr_logmgr_reconfigure_cleaner(gr_logmgr_t *mgr, const gr_cleaner_config_t *cfg);

/* Stops the cleaner, the timers and flusher threads, flushes every partition
 * (blocking), runs the pending flush callbacks, writes the checkpoints,
 * closes the logs and releases the lock. The manager's libuv handles are
 * closed asynchronously: run the loop afterwards so they are released
 * (the memory is freed in their close callbacks). */
void gr_logmgr_close(gr_logmgr_t *mgr);

#endif
