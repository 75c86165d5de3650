/* Leader-epoch cache of one partition: the list of (leader epoch, first
 * offset written in that epoch), Kafka's LeaderEpochFileCache. It answers
 * OffsetForLeaderEpoch and is saved as the partition's
 * leader-epoch-checkpoint file (checkpoint.h).
 *
 * Thread rules: not synchronised; the partition log guards it. */
#ifndef GR_LOG_EPOCH_CACHE_H
#define GR_LOG_EPOCH_CACHE_H

#include "log/checkpoint.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gr_log_epoch_cache_s {
    gr_log_epoch_entry_t *e; /* epochs and start offsets both increasing */
    size_t                n, cap;
} gr_log_epoch_cache_t;

void gr_log_epoch_cache_init(gr_log_epoch_cache_t *c);
void gr_log_epoch_cache_free(gr_log_epoch_cache_t *c);
/* Replaces the contents; entries that are not strictly increasing in both
 * fields are rejected with GR_ECORRUPT and the cache is left empty. */
int gr_log_epoch_cache_set(gr_log_epoch_cache_t *c, const gr_log_epoch_entry_t *e, size_t n);

/* Records that epoch starts at start_offset (Kafka's assign): ignored when
 * epoch < 0 or the latest entry already has this epoch at a start offset
 * <= start_offset; otherwise entries with epoch >= epoch or start offset
 * >= start_offset are dropped and the new one appended. Returns true if the
 * cache changed. */
bool gr_log_epoch_cache_assign(gr_log_epoch_cache_t *c, int32_t epoch, int64_t start_offset);

/* Drops entries whose start offset >= end_offset (after a truncation). */
bool gr_log_epoch_cache_truncate_from_end(gr_log_epoch_cache_t *c, int64_t end_offset);

/* Kafka's endOffsetFor: for the requested epoch, the largest known epoch
 * <= it and the offset where the next larger epoch starts (log_end_offset
 * if the requested epoch is the latest). (-1, -1) when the epoch is -1 or
 * newer than every known epoch. */
void gr_log_epoch_cache_end_offset_for(const gr_log_epoch_cache_t *c, int32_t epoch,
                                       int64_t log_end_offset, int32_t *epoch_out,
                                       int64_t *end_offset_out);

/* The latest epoch, -1 if none. */
int32_t gr_log_epoch_cache_latest(const gr_log_epoch_cache_t *c);

#endif
