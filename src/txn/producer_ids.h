/* Producer ids for InitProducerId, handed out from blocks.
 *
 * Kafka's controller reserves producer ids in blocks of 1000 with a
 * ProducerIdsRecord (its NextProducerId field) in the metadata log; a broker
 * hands out the ids of its block one by one and asks for a new block when it
 * runs out. Ids are never reused: after a restart allocation resumes at the
 * persisted next block start, and the rest of the old block is skipped.
 *
 * Not thread-safe: one owner (the transaction coordinator) calls it. */
#ifndef GR_TXN_PRODUCER_IDS_H
#define GR_TXN_PRODUCER_IDS_H

#include <stdint.h>

/* Kafka's ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE. */
#define GR_PID_BLOCK_SIZE 1000

/* Called before any id of [block_start, next_block_start) is handed out. It
 * must make next_block_start durable (the value to pass to
 * gr_pid_alloc_init() after a restart; Kafka's NextProducerId) and return 0,
 * or return a negative error, in which case no id is handed out and the next
 * gr_pid_alloc_next() calls it again for the same block. */
typedef int (*gr_pid_reserve_fn)(void *arg, int64_t block_start, int64_t next_block_start);

typedef struct gr_pid_alloc_s {
    int64_t           next;       /* next id of the current block */
    int64_t           block_end;  /* exclusive end of the current block */
    int64_t           next_block; /* start of the block to reserve next */
    int64_t           block_size;
    gr_pid_reserve_fn reserve;
    void             *arg;
} gr_pid_alloc_t;

/* next_block_start: the last value persisted by reserve, or 0 on a new
 * cluster. block_size <= 0 means GR_PID_BLOCK_SIZE. */
void gr_pid_alloc_init(gr_pid_alloc_t *a, int64_t next_block_start, int64_t block_size,
                       gr_pid_reserve_fn reserve, void *arg);

/* Sets *pid to a never-used producer id. Returns 0, the reserve callback's
 * error, or GR_ERANGE when the id space is exhausted. */
int gr_pid_alloc_next(gr_pid_alloc_t *a, int64_t *pid);

#endif
