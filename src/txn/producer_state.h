/* Idempotent-producer state of one partition, as Kafka's broker keeps it
 * (ProducerStateManager / ProducerStateEntry / ProducerAppendInfo).
 *
 * For every producer id that wrote to the partition we keep its epoch and the
 * metadata of its last 5 batches, so that a retried batch is recognised and
 * answered with the offsets it was first written at, a gap in the sequence is
 * refused, and a fenced (older) epoch is refused. The state is rebuilt after a
 * restart from the newest snapshot file plus a replay of the log written after
 * it; the snapshot format is Kafka's and is described at the top of
 * producer_state.c.
 *
 * How the produce path uses it, per batch whose producer id is >= 0:
 *
 *   err = gr_pstate_check(ps, pid, epoch, first_seq, last_seq, &base);
 *   GR_PSTATE_DUPLICATE -> do not append; answer ErrorCode NONE (0) with
 *                          BaseOffset = base (see gr_pstate_find_duplicate
 *                          for the rest of what Kafka answers)
 *   any other non-zero  -> do not append; answer that Kafka error code
 *   GR_PSTATE_OK        -> append; once the append succeeded call
 *                          gr_pstate_update() with the assigned offsets.
 *
 * A follower copying the leader's log, and log recovery, call
 * gr_pstate_replay_batch() instead: no checks, the log is the truth.
 *
 * Threads: a gr_pstate_t is not thread-safe; the partition's owner serializes
 * every call. gr_pstate_snapshot_write_file() touches no gr_pstate_t and may
 * run on a worker thread (it fsyncs). */
#ifndef GR_TXN_PRODUCER_STATE_H
#define GR_TXN_PRODUCER_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* The answers of gr_pstate_check(). All but GR_PSTATE_DUPLICATE are Kafka
 * error codes, sent as they are. */
enum {
    GR_PSTATE_OK = 0,
    /* Not a Kafka error code and never sent: the batch was already written.
     * Kafka answers NONE with the original offsets (it has not sent
     * DUPLICATE_SEQUENCE_NUMBER (46) since 1.0). */
    GR_PSTATE_DUPLICATE = -1000,
    GR_PSTATE_OUT_OF_ORDER_SEQUENCE_NUMBER = 45,
    GR_PSTATE_INVALID_PRODUCER_EPOCH = 47,
};

/* Batches remembered per producer (Kafka's NUM_BATCHES_TO_RETAIN); equal to
 * the most in-flight requests an idempotent producer may have. */
#define GR_PSTATE_BATCHES 5
/* Kafka's RecordBatch.NO_PRODUCER_EPOCH / NO_SEQUENCE. */
#define GR_PSTATE_NO_EPOCH    ((int16_t)-1)
#define GR_PSTATE_NO_SEQUENCE ((int32_t)-1)
/* Default of producer.id.expiration.ms. */
#define GR_PSTATE_EXPIRATION_MS_DEFAULT 86400000LL

typedef struct gr_pstate_batch_s {
    int32_t first_seq;
    int32_t last_seq;
    int64_t first_offset;
    int64_t last_offset;
    int64_t max_timestamp;
} gr_pstate_batch_t;

typedef struct gr_pstate_entry_s {
    int64_t producer_id;
    int16_t producer_epoch;     /* GR_PSTATE_NO_EPOCH until a batch is seen */
    int32_t coordinator_epoch;  /* -1 until a transaction marker is seen */
    int64_t last_timestamp;     /* max timestamp of the newest batch; drives expiry */
    int64_t current_txn_first_offset; /* -1: no open transaction */
    int     nbatches;           /* 0..GR_PSTATE_BATCHES */
    int     head;               /* index of the oldest batch in batches[] */
    gr_pstate_batch_t batches[GR_PSTATE_BATCHES]; /* ring, oldest first from head */
} gr_pstate_entry_t;

typedef struct gr_pstate_s gr_pstate_t;

gr_pstate_t *gr_pstate_new(void);
void gr_pstate_free(gr_pstate_t *ps);
/* Forget every producer (snapshot files are left alone). */
void gr_pstate_clear(gr_pstate_t *ps);
size_t gr_pstate_count(const gr_pstate_t *ps);

/* Borrows the entry of a producer id, or NULL. Valid until the next call that
 * changes ps. */
const gr_pstate_entry_t *gr_pstate_get(const gr_pstate_t *ps, int64_t pid);
/* The newest batch of an entry, or NULL when it has none. */
const gr_pstate_batch_t *gr_pstate_entry_last_batch(const gr_pstate_entry_t *e);

/* Validates a batch a client produces, in Kafka's order: a retry of one of
 * the remembered batches (same epoch, same first and last sequence) is
 * GR_PSTATE_DUPLICATE with *dup_base_offset_out set to its original first
 * offset; an epoch below the current one is INVALID_PRODUCER_EPOCH; a new
 * epoch must start at sequence 0 and the same epoch must continue at the
 * last sequence + 1 (INT32_MAX is followed by 0), else
 * OUT_OF_ORDER_SEQUENCE_NUMBER. An unknown producer id is accepted at any
 * sequence (Kafka >= 2.5 no longer answers UNKNOWN_PRODUCER_ID; the producer
 * may have expired or its batches been deleted by retention). pid < 0 is not
 * idempotent and always GR_PSTATE_OK. Changes nothing. dup_base_offset_out
 * may be NULL. */
int16_t gr_pstate_check(gr_pstate_t *ps, int64_t pid, int16_t epoch, int32_t first_seq,
                        int32_t last_seq, int64_t *dup_base_offset_out);

/* The remembered batch that a produced batch duplicates, or NULL; borrowed
 * until ps changes. On a duplicate Kafka answers BaseOffset = first_offset and
 * LogAppendTime = max_timestamp (even for CreateTime topics). */
const gr_pstate_batch_t *gr_pstate_find_duplicate(const gr_pstate_t *ps, int64_t pid,
                                                  int16_t epoch, int32_t first_seq,
                                                  int32_t last_seq);

/* Records a batch that was appended after gr_pstate_check() said OK. A new
 * epoch forgets the batches of the old one; the oldest of 5 batches makes room.
 * Returns 0, GR_EINVAL for pid < 0, or GR_ENOMEM. */
int gr_pstate_update(gr_pstate_t *ps, int64_t pid, int16_t epoch, int32_t first_seq,
                     int32_t last_seq, int64_t first_offset, int64_t last_offset,
                     int64_t max_ts);

/* Rebuilds state from a data batch read back from the log (recovery from a
 * snapshot's offset to the log end, or a follower's append): the fields of
 * its header, no checks. Batches with pid < 0 only advance the offset the
 * state covers. */
int gr_pstate_replay_batch(gr_pstate_t *ps, int64_t pid, int16_t epoch, int32_t base_seq,
                           int32_t last_seq, int64_t base_offset, int64_t last_offset,
                           int64_t max_ts);

/* Removes producers whose newest batch timestamp is expiration_ms or more
 * before now_ms and that have no open transaction (Kafka's
 * isProducerExpired: it measures from the batch's max timestamp, not from
 * when the broker saw it). Returns how many were removed. */
size_t gr_pstate_expire(gr_pstate_t *ps, int64_t now_ms, int64_t expiration_ms);

/* Snapshots. A snapshot named N holds the state after every batch below
 * offset N (N is the log end offset when it was taken); after loading it the
 * caller replays the log from offset N. */

/* Serializes the state in Kafka's snapshot format into out (appended). */
int gr_pstate_snapshot_encode(const gr_pstate_t *ps, gr_buf_t *out);
/* Writes bytes as <dir>/<20-digit offset>.snapshot atomically (temporary
 * file, fsync, rename, fsync of the directory), then deletes all but the
 * newest GR_PSTATE_SNAPSHOTS_KEPT snapshots. Blocking; touches no state. */
int gr_pstate_snapshot_write_file(const char *dir, int64_t offset, const void *bytes,
                                  size_t len);
#define GR_PSTATE_SNAPSHOTS_KEPT 2
/* encode + write_file. */
int gr_pstate_snapshot_write(gr_pstate_t *ps, const char *partition_dir, int64_t offset);

/* Replaces the state with the newest valid snapshot whose offset is <=
 * max_offset (INT64_MAX: the newest of all) and sets *offset_out to its
 * offset, or to -1 when there is none (state left empty; replay the whole
 * log). A snapshot that fails its checks is logged and deleted, as Kafka
 * does, and the next older one tried; one that cannot be read (EIO, EACCES)
 * stops the load with that error, since deleting it could lose state.
 * Leftover temporary files are removed. Kafka also drops expired producers
 * while loading: call gr_pstate_expire() after the replay. Returns 0 or a
 * negative error. */
int gr_pstate_snapshot_load(gr_pstate_t *ps, const char *partition_dir, int64_t max_offset,
                            int64_t *offset_out);

/* The log was truncated to end_offset (every offset >= end_offset is gone):
 * deletes the snapshots above end_offset and reloads, as Kafka's
 * truncateAndReload does, since batches newer than the snapshot cannot be
 * taken out of the 5-batch windows reliably. *replay_from_out is where the
 * caller replays the log from, up to end_offset: a snapshot's offset, -1 for
 * the log start, or end_offset itself when no idempotent batch at or above
 * end_offset was in the state (it is kept as it is, nothing to replay). */
int gr_pstate_truncate(gr_pstate_t *ps, const char *partition_dir, int64_t end_offset,
                       int64_t *replay_from_out);

#endif
