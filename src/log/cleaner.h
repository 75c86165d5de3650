/* The log cleaner: compaction of partitions whose cleanup.policy contains
 * "compact", keeping the latest record of every key (Kafka's LogCleaner).
 *
 * One cleaner per log directory. Background threads (log.cleaner.threads)
 * pick the dirtiest registered log: dirty ratio = bytes after the
 * cleaner's checkpoint / all bytes, at least min.cleanable.dirty.ratio, or
 * a dirty record older than max.compaction.lag.ms; segments with a record
 * newer than min.compaction.lag.ms and the active segment are never
 * touched. A cleaning:
 *   1. maps key -> latest offset over the dirty range, in
 *      log.cleaner.dedupe.buffer.size bytes (cleaner_map.h); when the map
 *      fills, the range ends there and the rest waits for the next round;
 *   2. rewrites the closed segments up to the range's end, in groups that
 *      stay under segment.bytes, keeping a record only if it is the latest
 *      of its key (or newer than the range), dropping tombstones whose
 *      delete horizon has passed (KIP-534: the first cleaning that keeps a
 *      tombstone stamps its batch with horizon = now + delete.retention.ms
 *      in the baseTimestamp field, attribute bit 6; a later cleaning drops
 *      it), with offsets, timestamps, headers, codec and producer fields
 *      kept; batches that lose no record are copied byte for byte; the
 *      last batch of each producer is kept, empty if need be (Kafka's
 *      rule, so idempotent producers keep their sequences);
 *   3. swaps each group in crash-safely (cleaner_files.h), the in-memory
 *      list change on the event loop;
 *   4. records the range's end in <log dir>/cleaner-offset-checkpoint.
 * I/O is throttled to log.cleaner.io.max.bytes.per.second (reads plus
 * writes, all threads together) and the threads yield between segments.
 * Records without a key are dropped, as Kafka's cleaner does (produce
 * refuses them on a compacted topic). Control batches are kept as they are.
 *
 * Thread rules: every function is for the loop thread that owns the
 * registered logs, except where said. The threads touch a log only through
 * gr_plog_clean_view (under its mutex) and the segment references it hands
 * out; every change to a log's segment list is made on the loop thread, in
 * gr_cleaner_run_loop_work, which the loop runs when cfg.wake asks it to. */
#ifndef GR_LOG_CLEANER_H
#define GR_LOG_CLEANER_H

#include "log/partition_log.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct gr_cleaner_s gr_cleaner_t;

#define GR_CLEANER_CHECKPOINT_FILE "cleaner-offset-checkpoint"

typedef struct gr_cleaner_config_s {
    int     threads;               /* log.cleaner.threads; 0 = none (gr_cleaner_clean_now only) */
    int64_t backoff_ms;            /* log.cleaner.backoff.ms: sleep when nothing is dirty */
    int64_t dedupe_buffer_size;    /* log.cleaner.dedupe.buffer.size, split among the threads */
    int64_t io_buffer_size;        /* log.cleaner.io.buffer.size, split among the threads */
    double  io_buffer_load_factor; /* log.cleaner.io.buffer.load.factor: how full the map gets */
    double  io_max_bytes_per_second; /* reads + writes of all threads; <= 0 = unlimited */
    /* producer.id.expiration.ms: the last batch of a producer active within
     * this long is kept (empty if all its records went), as Kafka does, so
     * idempotent producers keep their sequence numbers across a restart. */
    int64_t producer_id_expiration_ms;
    int64_t (*clock_ms)(void);     /* wall clock; NULL = gr_clock_wall_ms */
    /* Asks the loop thread to call gr_cleaner_run_loop_work soon (any
     * thread; e.g. uv_async_send). Required when threads > 0. */
    void  (*wake)(void *arg);
    void   *wake_arg;
} gr_cleaner_config_t;

/* A compacted log's settings (its topic's effective config). */
typedef struct gr_cleaner_log_config_s {
    double  min_cleanable_dirty_ratio; /* min.cleanable.dirty.ratio */
    int64_t min_compaction_lag_ms;     /* min.compaction.lag.ms */
    int64_t max_compaction_lag_ms;     /* max.compaction.lag.ms (INT64_MAX = none) */
    int64_t delete_retention_ms;       /* delete.retention.ms */
} gr_cleaner_log_config_t;

/* Kafka's defaults: 1 thread, 15 s, 128 MiB, 512 KiB, 0.9, unlimited, one
 * day; ratio 0.5, lags 0 and none, one day. */
void gr_cleaner_config_default(gr_cleaner_config_t *cfg);
void gr_cleaner_log_config_default(gr_cleaner_log_config_t *cfg);

/* Totals since the cleaner was made (any thread). */
typedef struct gr_cleaner_stats_s {
    uint64_t cleanings;          /* logs cleaned */
    uint64_t segments_in, segments_out;
    uint64_t bytes_read, bytes_written;
    uint64_t records_read, records_kept;
    uint64_t tombstones_dropped;
    uint64_t aborted;            /* cleanings given up (log changed, deleted, stop) */
    uint64_t errors;
    int64_t  busy_ms;            /* time spent cleaning */
} gr_cleaner_stats_t;

/* Makes a cleaner for the log directory dir (reads its
 * cleaner-offset-checkpoint; a bad file is ignored with a warning). No
 * thread runs yet. GR_EINVAL for bad settings. */
int gr_cleaner_new(const gr_cleaner_config_t *cfg, const char *dir, gr_cleaner_t **out);
/* Starts the threads. */
int gr_cleaner_start(gr_cleaner_t *c);
/* Stops and joins the threads. A cleaning in progress is given up; one
 * whose swap was half done is left to recovery at the next open, which
 * finishes it. Safe without start. */
void gr_cleaner_stop(gr_cleaner_t *c);
/* After stop. */
void gr_cleaner_free(gr_cleaner_t *c);
/* New settings (the log.cleaner.* keys changed at run time, as Kafka's
 * LogCleaner.reconfigure): the threads are stopped (a cleaning in progress
 * is given up) and started again with cfg; registered logs and checkpoints
 * stay. NULL wake / clock_ms keep the current ones. GR_EINVAL for bad
 * settings (nothing changes). */
int gr_cleaner_reconfigure(gr_cleaner_t *c, const gr_cleaner_config_t *cfg);

/* Compacts plog (a log in the cleaner's directory, named topic-partition)
 * with cfg, or updates the settings of a registered log. The log must stay
 * open until gr_cleaner_unregister. GR_ENOMEM. */
int gr_cleaner_register(gr_cleaner_t *c, gr_plog_t *plog, const char *topic, int32_t partition,
                        const gr_cleaner_log_config_t *cfg);
/* Stops compacting plog (before it is closed or deleted, or when its
 * policy no longer has compact) and forgets its checkpoint, also one read
 * from the file for topic-partition when plog was never registered. A
 * cleaning of it in progress is given up at its next step; it never
 * touches plog again once this returns. */
void gr_cleaner_unregister(gr_cleaner_t *c, gr_plog_t *plog, const char *topic,
                           int32_t partition);

/* Runs the list changes the threads asked for (see cfg.wake). */
void gr_cleaner_run_loop_work(gr_cleaner_t *c);

/* Cleans the dirtiest log that qualifies, now, on the calling (loop)
 * thread; for tests and tools, with or without threads (a log busy in a
 * thread is skipped). Returns 1 when a log was cleaned, 0 when none
 * qualified, or an error. */
int gr_cleaner_clean_now(gr_cleaner_t *c);
/* Wakes the threads to look for work now (instead of after the backoff). */
void gr_cleaner_kick(gr_cleaner_t *c);

void gr_cleaner_get_stats(gr_cleaner_t *c, gr_cleaner_stats_t *out);
/* The first dirty offset recorded for plog, -1 when none. */
int64_t gr_cleaner_first_dirty(gr_cleaner_t *c, gr_plog_t *plog);

/* ---- the selection rule, pure (tests) ---- */

typedef struct gr_cleaner_grade_s {
    int64_t first_dirty;      /* the dirty range is [first_dirty, uncleanable) */
    int64_t uncleanable;
    int64_t clean_bytes;      /* segments wholly below first_dirty */
    int64_t cleanable_bytes;  /* segments in the dirty range */
    double  ratio;            /* cleanable / (clean + cleanable) */
    bool    due;              /* max.compaction.lag.ms passed for a dirty record */
    bool    tombstones_due;   /* a kept tombstone's delete horizon passed */
    bool    should_clean;
} gr_cleaner_grade_t;

/* Grades a log from its view, its checkpoint (-1 none) and settings, at
 * now; tombstone_due_ms is the earliest delete horizon of tombstones the
 * last cleaning kept (INT64_MAX none). */
void gr_cleaner_grade(const gr_plog_clean_view_t *v, int64_t checkpoint,
                      const gr_cleaner_log_config_t *cfg, int64_t now, int64_t tombstone_due_ms,
                      gr_cleaner_grade_t *g);

#endif
