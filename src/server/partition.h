/* Partitions hosted on this broker: the one place where a produced batch is
 * validated, checked for idempotence, appended and made visible, and where
 * reads, offset lookups and long-poll wake-ups meet the log. Event-loop
 * thread only. */
#ifndef GR_SERVER_PARTITION_H
#define GR_SERVER_PARTITION_H

#include "server/broker.h"

#include <stdint.h>

typedef struct gr_part_append_result_s {
    int16_t     error;           /* Kafka error code */
    const char *error_message;   /* static or arena string, or NULL */
    int64_t     base_offset;
    int64_t     last_offset;
    int64_t     log_append_time; /* -1 unless the topic uses LogAppendTime */
    int32_t     bad_batch_index; /* for RecordErrors, -1 if none */
    int32_t     bad_record_index;
} gr_part_append_result_t;

/* Validate and append one partition's records from a Produce request (the
 * bytes are modified in place: offsets, epochs, LogAppendTime). */
void gr_part_append(gr_part_t *part, int16_t produce_version, uint8_t *records, size_t len, gr_arena_t *arena,
                    gr_part_append_result_t *res);

/* Calls cb(arg, err) on the loop thread once everything up to last_offset is
 * on disk; err is 0 or a negative error. */
typedef void (*gr_part_flush_cb)(void *arg, int err);
void gr_part_flush_async(gr_part_t *part, int64_t last_offset, gr_part_flush_cb cb, void *arg);

/* Reads whole batches starting with the one containing offset, up to
 * max_bytes (at least one batch when min_one), never past the high
 * watermark. Returns a Kafka error code; *out points into arena. */
int16_t gr_part_read(gr_part_t *part, int64_t offset, int32_t max_bytes, bool min_one,
                     gr_arena_t *arena, gr_bytes_t *out);
/* The range a Fetch answers with, without copying it: like gr_part_read
 * but cut at max_bytes even inside a batch, as Kafka does (the client
 * drops a partial last batch and asks for it again), so each answer
 * carries as much as the limits allow. It is registered as a file range
 * with the response buffer (base/splice.h) and *out gets the tag and
 * length that stand for it in the response. The range keeps its segment
 * open until the buffer is freed. */
int16_t gr_part_read_splice(gr_part_t *part, int64_t offset, int32_t max_bytes, bool min_one,
                            gr_buf_t *resp, gr_bytes_t *out);
/* The same range as gr_part_read_splice, copied into arena: for Fetch
 * v0-3, which down-convert it (protocol/downconvert.h). */
int16_t gr_part_read_fetch_copy(gr_part_t *part, int64_t offset, int32_t max_bytes, bool min_one,
                                gr_arena_t *arena, gr_bytes_t *out);

/* DeleteRecords on this partition: raises the log start offset to offset
 * (-1 = the high watermark) and removes the segments wholly below it.
 * Kafka's answers: POLICY_VIOLATION when cleanup.policy lacks "delete",
 * OFFSET_OUT_OF_RANGE below 0 or above the high watermark; an offset at or
 * below the current start changes nothing. *low_watermark gets the log
 * start offset afterwards (-1 on error). Returns a Kafka error code. The
 * caller makes the new start durable (gr_logmgr_checkpoint_async). */
int16_t gr_part_delete_records(gr_part_t *part, int64_t offset, int64_t *low_watermark);

/* The topic's effective configuration (cached; NULL when out of memory). */
const gr_topic_config_t *gr_part_config(gr_part_t *part);

int64_t gr_part_hw(gr_part_t *part);
int64_t gr_part_log_start(gr_part_t *part);
int64_t gr_part_leo(gr_part_t *part);
int32_t gr_part_leader_epoch(gr_part_t *part);
/* A request's CurrentLeaderEpoch against this partition's: NONE when it is
 * -1 (no check) or equal, FENCED_LEADER_EPOCH when older (the client is
 * behind), UNKNOWN_LEADER_EPOCH when newer (this broker is behind). */
int16_t gr_part_check_epoch(gr_part_t *part, int32_t current_leader_epoch);

/* Long-poll support: a waiter is woken (cb called once) when data is
 * appended to the partition. Waiters must be removed before being freed. */
typedef struct gr_fetch_waiter_s {
    struct gr_fetch_waiter_s *next, *prev;
    gr_part_t *part;
    void (*cb)(struct gr_fetch_waiter_s *w);
    void *arg;
    /* Set before cb when the partition is going away (topic deleted, broker
     * stopping): the waiter must answer now and drop its references. */
    bool final;
} gr_fetch_waiter_t;

void gr_part_add_waiter(gr_part_t *part, gr_fetch_waiter_t *w);
void gr_part_remove_waiter(gr_fetch_waiter_t *w);

#endif
