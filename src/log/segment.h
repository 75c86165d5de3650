/* One log segment: the batches of a partition from one base offset on, in
 * three files named by that offset (see docs/format.md and segment.c):
 *   <20-digit base offset>.log        the RecordBatch v2 bytes
 *   <20-digit base offset>.index      sparse offset -> file position
 *   <20-digit base offset>.timeindex  sparse max timestamp -> offset
 * The index entries are also kept in memory (8 + 12 bytes per entry, one
 * entry per index_interval bytes of log: about 0.5% of the log size).
 *
 * Thread rules: a segment is created, appended to, read, truncated and
 * closed by the event-loop thread only. gr_log_segment_flush() may run on
 * any thread concurrently with appends. The segment is reference counted:
 * a holder of a reference may use gr_log_segment_fd() and flush, and the
 * files stay open (though perhaps unlinked) until the last reference is
 * dropped. Reference counting is thread-safe. */
#ifndef GR_LOG_SEGMENT_H
#define GR_LOG_SEGMENT_H

#include "log/batch_hdr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gr_segment_s gr_segment_t;

/* Called for each batch a scan or recovery visits. hdr61 is the batch's
 * header (borrowed for the call); fd and pos let the callee pread the rest
 * of the batch (12 + batchLength bytes at pos) during the call. */
typedef void (*gr_log_batch_fn)(void *arg, const uint8_t *hdr61, int fd, int64_t pos);

/* Creates (or empties) the three files of a new segment in dir. */
int gr_log_segment_create(const char *dir, int64_t base_offset, int32_t index_interval,
                          gr_segment_t **out);

/* The same with files named "<base>.log<suffix>" etc. (the log cleaner
 * writes "<base>.log.cleaned"). "" is gr_log_segment_create. */
int gr_log_segment_create_suffixed(const char *dir, int64_t base_offset, int32_t index_interval,
                                   const char *suffix, gr_segment_t **out);
/* Renames the three files from "<name><from>" to "<name><to>" (the
 * .index, then the .timeindex, then the .log) and keeps the new names for
 * later deletes. GR_EINVAL if a name does not end in from; on a failed
 * rename the files renamed so far keep their new names. No fsync. By the
 * thread that owns the segment. */
int gr_log_segment_rename_suffix(gr_segment_t *seg, const char *from, const char *to);
/* The .log file's current path (borrowed, valid until the next rename). */
const char *gr_log_segment_log_path(const gr_segment_t *seg);

/* Opens an existing segment. Index files are loaded and checked against the
 * log; if one is missing or fails a check, or the tail of the log after the
 * last index entry does not parse, the segment is marked as needing
 * recovery (gr_log_segment_needs_recovery) instead of failing. */
int gr_log_segment_open(const char *dir, int64_t base_offset, int32_t index_interval,
                        gr_segment_t **out);

bool gr_log_segment_needs_recovery(const gr_segment_t *seg);

/* Validates every batch (length bounds, magic 2, CRC, offsets increasing
 * and not below min_offset), truncates the file at the first bad one,
 * rebuilds both indexes from the good ones, and calls fn (if not NULL) for
 * each good batch. *truncated_bytes gets the number of bytes removed and
 * *truncated_at the offset the first removed byte would have had. */
int gr_log_segment_recover(gr_segment_t *seg, int64_t min_offset, gr_log_batch_fn fn,
                           void *arg, int64_t *truncated_bytes, int64_t *truncated_at);

/* Appends whole batches whose offsets are final: len bytes of back-to-back
 * batches that the caller has checked (headers valid, offsets increasing
 * from gr_log_segment_next_offset or later, relative offsets within int32,
 * size + len <= INT32_MAX). Writes with pwrite; no fsync. On a write error
 * the file is cut back to its previous size and the error returned. */
int gr_log_segment_append(gr_segment_t *seg, const uint8_t *batches, size_t len);

/* Position and header of the first batch whose last offset >= offset.
 * GR_ENOTFOUND when every batch ends before offset. */
int gr_log_segment_find(gr_segment_t *seg, int64_t offset, int64_t *pos,
                        gr_log_batch_hdr_t *hdr);

/* The extent [*pos, *pos + *len) of batches for a read: from the first
 * batch whose last offset >= offset, only batches whose last offset is
 * below max_offset, at most max_bytes but always the first batch whole.
 * Whole batches only, unless partial: then the extent is cut at max_bytes
 * even inside a batch, as Kafka's fetch does (clients drop a partial last
 * batch and fetch it again). *len is 0 when that first batch is not below
 * max_offset. GR_ENOTFOUND when every batch ends before offset. */
int gr_log_segment_read_range(gr_segment_t *seg, int64_t offset, int64_t max_bytes,
                              int64_t max_offset, bool partial, int64_t *pos, int64_t *len,
                              int64_t *first_offset);

/* Position and header of the first batch whose maxTimestamp >= ts, using
 * the time index then a scan. GR_ENOTFOUND when there is none. */
int gr_log_segment_find_ts(gr_segment_t *seg, int64_t ts, int64_t *pos,
                           gr_log_batch_hdr_t *hdr);

/* Reads and checks the header of the batch at pos (which must be a batch
 * boundary). */
int gr_log_segment_read_hdr(gr_segment_t *seg, int64_t pos, gr_log_batch_hdr_t *hdr);

/* Calls fn for every batch whose last offset >= from_offset, reading
 * headers only (no CRC check). */
int gr_log_segment_scan(gr_segment_t *seg, int64_t from_offset, gr_log_batch_fn fn,
                        void *arg);

/* Removes the batch containing offset and every later one (Kafka's
 * truncateTo: batches are never split, so the segment's next offset may
 * end up below offset). Index entries past the cut are dropped; the
 * segment's max timestamp falls back to the last remaining time index
 * entry, as in Kafka. */
int gr_log_segment_truncate(gr_segment_t *seg, int64_t offset);

/* The segment stops being the active one: appends a final time index entry
 * for its max timestamp so that it survives a reopen. */
int gr_log_segment_seal(gr_segment_t *seg);

/* fsyncs the log and both index files. Any thread, with a reference. */
int gr_log_segment_flush(gr_segment_t *seg);

void gr_log_segment_ref(gr_segment_t *seg);
/* Drops a reference; the last one closes the files and frees memory. */
void gr_log_segment_unref(gr_segment_t *seg);
/* Drops the owner's reference (same as unref; for readability). */
void gr_log_segment_close(gr_segment_t *seg);
/* Unlinks the three files, then drops the owner's reference. */
int gr_log_segment_delete(gr_segment_t *seg);

/* Retention's way out: renames the three files to "<name>.deleted" (Kafka's
 * marker for files on their way out, removed at the next open if a crash
 * comes first) and drops the owner's reference. paths gets the new names,
 * malloc'd, for the caller to unlink later off the event loop (an entry is
 * NULL when that file was missing or could not be renamed, in which case it
 * was unlinked at once). Readers holding references keep reading through
 * their descriptors. */
int gr_log_segment_retire(gr_segment_t *seg, char *paths[3]);
/* Last modification time of the .log file in ms since the epoch, -1 on
 * error (Kafka's fallback when a segment carries no timestamp). */
int64_t gr_log_segment_mtime_ms(const gr_segment_t *seg);

int64_t gr_log_segment_base_offset(const gr_segment_t *seg);
/* One past the last offset in the segment; the base offset when empty. */
int64_t gr_log_segment_next_offset(const gr_segment_t *seg);
int64_t gr_log_segment_size(const gr_segment_t *seg);
/* Largest maxTimestamp seen and the last offset of the first batch that
 * carried it; -1 and -1 when unknown or empty. */
int64_t gr_log_segment_max_ts(const gr_segment_t *seg);
int64_t gr_log_segment_max_ts_offset(const gr_segment_t *seg);
/* maxTimestamp of the first batch, -1 if empty or unknown. */
int64_t gr_log_segment_first_batch_ts(const gr_segment_t *seg);
/* True when another index entry might not fit in max_index_bytes. */
bool gr_log_segment_index_full(const gr_segment_t *seg, int64_t max_index_bytes);
/* The log file's descriptor: valid while the caller holds a reference. */
int gr_log_segment_fd(const gr_segment_t *seg);
size_t gr_log_segment_index_entries(const gr_segment_t *seg);
size_t gr_log_segment_timeindex_entries(const gr_segment_t *seg);

/* Writes "<dir>/<20-digit base><suffix>" into out; returns 0 or GR_ETOOBIG. */
int gr_log_segment_path(char *out, size_t cap, const char *dir, int64_t base,
                        const char *suffix);

#endif
