/* Retention: which of a partition's oldest segments may be deleted, by
 * Kafka's rules (UnifiedLog.deleteOldSegments). Pure logic, no I/O: the
 * partition log (gr_plog_retain) describes its segments, this decides, the
 * log removes. Any thread.
 *
 * The rules, applied in this order, each to what the previous left:
 *   1. log start: a segment goes when the next segment begins at or below
 *      the log start offset (DeleteRecords moved it past the segment). This
 *      one applies whatever cleanup.policy says.
 *   2. size (cleanup.policy has "delete", retention.bytes >= 0): when the
 *      log's total size is at least retention.bytes, the oldest segments go
 *      while what remains stays at or above retention.bytes.
 *   3. time (cleanup.policy has "delete", retention.ms >= 0): a segment goes
 *      when now - its largest timestamp > retention.ms.
 * Only a prefix of the segment list goes (the first segment that must stay
 * stops the walk), only segments wholly below the high watermark, and
 * never an empty active segment. The active (last) segment may be selected
 * when it is non-empty and every older one goes too: the caller rolls it
 * first (Kafka does the same), so an active segment is never deleted. */
#ifndef GR_LOG_RETENTION_H
#define GR_LOG_RETENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gr_retention_seg_s {
    int64_t base_offset;
    int64_t size;       /* bytes of its .log file */
    int64_t largest_ts; /* largest batch timestamp, else the file's mtime (ms) */
} gr_retention_seg_t;

typedef struct gr_retention_policy_s {
    int64_t retention_ms;    /* < 0: no time limit */
    int64_t retention_bytes; /* < 0: no size limit */
    bool    cleanup_delete;  /* cleanup.policy contains "delete" */
} gr_retention_policy_t;

/* Why segments were selected (a bit set). */
enum {
    GR_RETAIN_LOG_START = 1 << 0,
    GR_RETAIN_SIZE = 1 << 1,
    GR_RETAIN_TIME = 1 << 2,
};

/* segs: the n (>= 1) segments oldest first, the last one active. leo, hw
 * and log_start are the log's. Returns how many of the oldest segments
 * may be deleted (0..n; n means the active one too, see above) and sets
 * *reasons (may be NULL) to the rules that selected them. */
size_t gr_retention_select(const gr_retention_seg_t *segs, size_t n, int64_t log_start,
                           int64_t leo, int64_t hw, const gr_retention_policy_t *policy,
                           int64_t now_ms, unsigned *reasons);

/* Short words for log lines: "retention time", "retention size, log start
 * offset", ... */
const char *gr_retention_reason_text(unsigned reasons);

#endif
