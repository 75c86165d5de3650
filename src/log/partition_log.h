/* Partition log: the directory <log.dirs>/<topic>-<partition>/ holding one
 * partition's segments (segment.h), its leader-epoch-checkpoint, and the
 * offsets that describe it: log start offset, log end offset (LEO), high
 * watermark (HW) and recovery point (everything below it is fsynced).
 *
 * Thread rules: every function is for the event-loop thread that owns the
 * log, except gr_plog_flush(), gr_plog_flushed_offset() and
 * gr_plog_needs_flush(), which any thread may call at any time, also
 * concurrently with appends. A mutex inside guards the few fields that
 * flushing shares with the loop (segment list, LEO, recovery point, the
 * epoch cache); appends take it once, briefly, to publish the new LEO. */
#ifndef GR_LOG_PARTITION_LOG_H
#define GR_LOG_PARTITION_LOG_H

#include "base/buf.h"
#include "log/segment.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gr_plog_s gr_plog_t;

typedef struct gr_plog_config_s {
    int64_t segment_bytes;           /* segment.bytes: roll past this size (<= INT32_MAX) */
    int64_t segment_ms;              /* segment.ms: roll a segment this old */
    int32_t index_interval_bytes;    /* index.interval.bytes */
    int64_t max_index_bytes;         /* segment.index.bytes: roll when an index is this big */
    int64_t flush_interval_messages; /* flush.messages: INT64_MAX = never */
    int64_t flush_interval_ms;       /* flush.ms: INT64_MAX = never (rely on the OS) */
    /* Retention (gr_plog_retain, retention.h). */
    int64_t retention_ms;            /* retention.ms: -1 = no time limit */
    int64_t retention_bytes;         /* retention.bytes: -1 = no size limit */
    bool    cleanup_delete;          /* cleanup.policy contains "delete" */
    int64_t file_delete_delay_ms;    /* file.delete.delay.ms, given to the remover */
    int64_t (*clock_ms)(void);       /* wall clock in ms; NULL = gr_clock_wall_ms (tests inject one) */
} gr_plog_config_t;

/* Kafka's defaults: 1 GiB, 7 days, 4096, 10 MiB, never, never; retention 7
 * days, no size limit, cleanup.policy=delete, file.delete.delay.ms 60 s. */
void gr_plog_config_default(gr_plog_config_t *cfg);
/* GR_EINVAL when a value is out of range. */
int gr_plog_config_check(const gr_plog_config_t *cfg);
/* Replaces the settings of an open log (a topic's configuration changed,
 * or the log was opened before its topic's overrides were known). Takes
 * effect at the next append or roll. GR_EINVAL for invalid settings. */
int gr_plog_set_config(gr_plog_t *plog, const gr_plog_config_t *cfg);

typedef struct gr_plog_open_opts_s {
    /* Offsets below this were fsynced and are trusted; -1 = unknown, scan
     * and check every batch. */
    int64_t recovery_point;
    /* From log-start-offset-checkpoint; -1 = the first segment's base. */
    int64_t log_start_offset;
    /* From replication-offset-checkpoint; -1 = log start offset. */
    int64_t high_watermark;
    /* Called, during open, for each batch that recovery checked (those at
     * or after the segment holding the recovery point, and those of any
     * segment whose index had to be rebuilt), in offset order. May be NULL.
     * Use gr_plog_scan() to replay from an earlier offset. */
    gr_log_batch_fn on_batch;
    void           *on_batch_arg;
} gr_plog_open_opts_t;

/* Opens (creating the directory and a first segment if needed) and
 * recovers a partition log: a torn or corrupt tail is cut off (one log
 * line says how many bytes from which offset) and indexes are rebuilt for
 * scanned segments; the leader-epoch cache is loaded or rebuilt from batch
 * headers. cfg is copied. */
int gr_plog_open(const char *dir, const gr_plog_config_t *cfg, int64_t recovery_point,
                 gr_plog_t **out);
int gr_plog_open_ex(const char *dir, const gr_plog_config_t *cfg,
                    const gr_plog_open_opts_t *opts, gr_plog_t **out);

/* Appends one or more whole, already validated batches as leader: the log
 * writes baseOffset (consecutive from the LEO) and partitionLeaderEpoch
 * into each header in place (both outside the CRC), rolls a segment first
 * if needed, writes, updates the indexes and advances the LEO. No fsync.
 * Out: first and last offset assigned. GR_EMALFORMED if the bytes are not
 * back-to-back v2 batch headers; on any error nothing was appended. */
int gr_plog_append(gr_plog_t *plog, uint8_t *batches, size_t len, int32_t leader_epoch,
                   int64_t *base_offset_out, int64_t *last_offset_out);

/* Appends batches that already carry their offsets and epochs (a follower
 * copying its leader). The first base offset must be >= the LEO (gaps are
 * kept) and offsets must increase, else GR_ERANGE. */
int gr_plog_append_follower(gr_plog_t *plog, const uint8_t *batches, size_t len,
                            int64_t *base_offset_out, int64_t *last_offset_out);

int64_t gr_plog_leo(const gr_plog_t *plog);
int64_t gr_plog_start_offset(const gr_plog_t *plog);
/* The high watermark is moved only by its owner (replication, or on a
 * single node the produce path: hw = leo after append). set_hw clamps the
 * value to [log start, LEO]. */
int64_t gr_plog_hw(const gr_plog_t *plog);
void gr_plog_set_hw(gr_plog_t *plog, int64_t hw);
/* Raises the log start offset (DeleteRecords, retention) to offset, which
 * must be <= LEO, and removes the segments that lie wholly below it (never
 * the active one; their files go to the remover, below). An offset at or
 * below the current start changes nothing. A start inside a segment (or a
 * batch) is fine: reads below it get GR_ERANGE. */
int gr_plog_advance_start_offset(gr_plog_t *plog, int64_t offset);

/* Where the files of segments removed by gr_plog_advance_start_offset and
 * gr_plog_retain go: fn gets each file already renamed to "<name>.deleted"
 * (path malloc'd, fn owns it) and the log's file.delete.delay.ms, and is
 * expected to unlink it that much later off the event loop. Called on the
 * loop thread during the call that removed the segment. Without a remover
 * the files are unlinked at once. Leftover *.deleted files are removed when
 * the log is opened. */
typedef void (*gr_plog_remove_fn)(void *arg, char *path, int64_t delay_ms);
void gr_plog_set_remover(gr_plog_t *plog, gr_plog_remove_fn fn, void *arg);

/* Applies retention now, Kafka's way (retention.h: log start, then
 * retention.bytes, then retention.ms, the last two only when
 * cfg.cleanup_delete): removes the oldest segments the rules select,
 * rolling the active segment first when it goes too, and raises the log
 * start offset to the first remaining segment's base. *removed (may be
 * NULL) gets the number of segments removed, *reasons (may be NULL) the
 * GR_RETAIN_* bits. */
int gr_plog_retain(gr_plog_t *plog, int64_t now_ms, size_t *removed, unsigned *reasons);

/* Closes the active segment and starts a new one at the LEO (nothing
 * happens when the active segment is empty). */
int gr_plog_roll(gr_plog_t *plog);

/* A file range of whole batches. The slice holds a reference on its
 * segment, so fd stays open and the bytes stay readable even if the
 * segment is rolled, truncated away or deleted meanwhile; the holder must
 * call gr_plog_slice_release() exactly once (safe on an empty slice, and
 * from any thread). */
typedef struct gr_plog_slice_s {
    int           fd;           /* -1 when empty */
    int64_t       pos;          /* file position of the first batch */
    size_t        len;          /* 0 when empty */
    int64_t       first_offset; /* base offset of the first batch, -1 when empty */
    gr_segment_t *seg;          /* the reference; do not touch */
} gr_plog_slice_t;

/* Whole batches starting with the one that contains offset (a fetch in
 * the middle of a batch gets the whole batch), only batches whose last
 * offset is below max_offset (exclusive; usually the HW), at most
 * max_bytes except that the first batch is always included whole
 * (KIP-74). Stops at the end of a segment; the caller asks again from the
 * next offset. Returns GR_ERANGE if offset < log start or > LEO; an empty
 * slice if offset == LEO or nothing is below max_offset. */
int gr_plog_read(gr_plog_t *plog, int64_t offset, size_t max_bytes, int64_t max_offset,
                 gr_plog_slice_t *out);
/* Like gr_plog_read, but the range is cut at max_bytes even inside a
 * batch (the first batch still whole), as Kafka answers a fetch. */
int gr_plog_read_fetch(gr_plog_t *plog, int64_t offset, size_t max_bytes, int64_t max_offset,
                       gr_plog_slice_t *out);
void gr_plog_slice_release(gr_plog_slice_t *slice);
/* Same as gr_plog_read, appending the bytes to out (pread). */
int gr_plog_read_copy(gr_plog_t *plog, int64_t offset, size_t max_bytes, int64_t max_offset,
                      gr_buf_t *out);

/* ListOffsets by timestamp, at batch granularity: the base offset (or the
 * log start offset if higher) of the first batch whose maxTimestamp >= ts,
 * and that batch's maxTimestamp. Kafka returns the exact first record with
 * timestamp >= ts; the batch's base offset is <= that record, so a
 * consumer that seeks there sees at most a few extra older records of the
 * same batch. GR_ENOTFOUND when no batch qualifies. */
int gr_plog_offset_for_timestamp(gr_plog_t *plog, int64_t ts, int64_t *offset,
                                 int64_t *timestamp);
/* ListOffsets MAX_TIMESTAMP, at batch granularity: the largest
 * maxTimestamp in the log's segments and the last offset of the first
 * batch that carries it (Kafka returns the exact record's offset, which is
 * <= this; gr_plog_read_batch_at reads the batch). As in Kafka, the log
 * start offset does not count: a segment holding it in its middle is
 * searched whole, so the answer may lie below it. GR_ENOTFOUND when the
 * log is empty. */
int gr_plog_max_timestamp(gr_plog_t *plog, int64_t *offset, int64_t *timestamp);
/* Appends to out the whole batch that holds offset, even below the log
 * start offset (while a segment still holds it) and above the high
 * watermark: for MAX_TIMESTAMP's record lookup. GR_ENOTFOUND when no
 * segment has a batch holding offset. Event-loop thread (pread). */
int gr_plog_read_batch_at(gr_plog_t *plog, int64_t offset, gr_buf_t *out);

/* OffsetForLeaderEpoch (Kafka's LeaderEpochFileCache.endOffsetFor). */
void gr_plog_last_epoch_end_offset(gr_plog_t *plog, int32_t epoch, int32_t *epoch_out,
                                   int64_t *end_offset_out);
int32_t gr_plog_latest_epoch(gr_plog_t *plog);

/* Removes every batch at or after offset, by whole batches (the batch
 * containing offset goes too, so the LEO may end below offset). Adjusts
 * HW, recovery point and epoch cache. GR_ERANGE if offset < log start. */
int gr_plog_truncate_to(gr_plog_t *plog, int64_t offset);
/* Deletes all segments and restarts the log empty at new_start. */
int gr_plog_truncate_fully(gr_plog_t *plog, int64_t new_start);

/* Calls fn for each batch header from the batch containing from_offset to
 * the LEO (no CRC check): for the producer-state layer to replay from its
 * snapshot. */
int gr_plog_scan(gr_plog_t *plog, int64_t from_offset, gr_log_batch_fn fn, void *arg);

/* Makes offsets below upto (exclusive; pass the LEO for everything)
 * durable: fsyncs the segments holding them and their indexes, the
 * directory if a segment was created, and writes leader-epoch-checkpoint
 * if it changed; then raises the recovery point. Blocking: run it on a
 * worker thread. Flushes of one log are serialised. After an fsync
 * failure the log refuses further appends and flushes with that error
 * (the data may be lost; a retried fsync would lie). */
int gr_plog_flush(gr_plog_t *plog, int64_t upto);
/* The recovery point: every offset below it is durable. */
int64_t gr_plog_flushed_offset(gr_plog_t *plog);
/* True when the flush policy (flush.messages counted as LEO - recovery
 * point, flush.ms since the last flush) or a rolled segment or a changed
 * epoch cache asks for a flush. */
bool gr_plog_needs_flush(gr_plog_t *plog, int64_t now_ms);
/* 0, or the error that failed the log. */
int gr_plog_error(gr_plog_t *plog);

/* Closes files and frees the log (writing leader-epoch-checkpoint if it
 * changed; no fsync of data: flush first for that). Open slices stay
 * valid. */
void gr_plog_close(gr_plog_t *plog);
/* Renames the directory to <dir>.<32 hex>-delete, closes the log and
 * removes that directory. */
int gr_plog_delete(gr_plog_t *plog);

const char *gr_plog_dir(const gr_plog_t *plog);
/* Bytes of all the segments' .log files (DescribeLogDirs' PartitionSize). */
int64_t gr_plog_size(const gr_plog_t *plog);
/* The settings in effect (a copy). */
void gr_plog_get_config(const gr_plog_t *plog, gr_plog_config_t *out);
size_t gr_plog_segment_count(const gr_plog_t *plog);
/* Base offsets of the segments, oldest first (for tests and tools). */
int64_t gr_plog_segment_base(const gr_plog_t *plog, size_t i);
/* One pointer for the owner (the log manager keeps its entry here). */
void gr_plog_set_user(gr_plog_t *plog, void *user);
void *gr_plog_user(const gr_plog_t *plog);

/* ---- For the log cleaner (cleaner.c) ---- */

typedef struct gr_plog_seg_info_s {
    gr_segment_t *seg; /* referenced when the view was taken with refs, else NULL */
    int64_t       base, next, size;
    int64_t       max_ts, first_ts; /* -1 when unknown */
    size_t        index_entries;
} gr_plog_seg_info_t;

typedef struct gr_plog_clean_view_s {
    gr_plog_seg_info_t *segs; /* the closed segments (all but the active), oldest first */
    size_t              n;
    int64_t             log_start, leo, active_base;
    gr_plog_config_t    cfg;
} gr_plog_clean_view_t;

/* Any thread: the closed segments and the log's offsets, taken together
 * under the log's mutex. A closed segment's bytes never change (except by
 * a follower's truncation, on the loop), so a holder of references may
 * read them from any thread. Free with gr_plog_clean_view_free (which
 * drops the references). */
int gr_plog_clean_view(gr_plog_t *plog, bool refs, gr_plog_clean_view_t *out);
void gr_plog_clean_view_free(gr_plog_clean_view_t *v);

/* Loop thread: replaces the n consecutive closed segments old[0..n) by
 * seg, whose batches lie within their offsets and which is durable,
 * under the mutex (flushers see the old list or the new one). The log
 * takes the caller's reference on seg, and hands its references on old[]
 * to the caller, who deletes or closes them; their files are untouched.
 * GR_ENOTFOUND (nothing changed) when old[] are no longer consecutive
 * closed segments of the log. */
int gr_plog_replace_segments(gr_plog_t *plog, gr_segment_t *const *old, size_t n,
                             gr_segment_t *seg);
/* Loop thread: whether seg is one of the log's segments. */
bool gr_plog_has_segment(const gr_plog_t *plog, const gr_segment_t *seg);

#endif
