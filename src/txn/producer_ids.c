/* Producer id blocks; see producer_ids.h. */
#include "txn/producer_ids.h"

#include "base/err.h"

void gr_pid_alloc_init(gr_pid_alloc_t *a, int64_t next_block_start, int64_t block_size,
                       gr_pid_reserve_fn reserve, void *arg)
{
    a->next = 0;
    a->block_end = 0; /* empty: the first call reserves a block */
    a->next_block = next_block_start < 0 ? 0 : next_block_start;
    a->block_size = block_size > 0 ? block_size : GR_PID_BLOCK_SIZE;
    a->reserve = reserve;
    a->arg = arg;
}

int gr_pid_alloc_next(gr_pid_alloc_t *a, int64_t *pid)
{
    if (a->next >= a->block_end) {
        /* Kafka's controller: "Exhausted all producerIds". */
        if (a->next_block > INT64_MAX - a->block_size)
            return GR_ERANGE;
        int64_t start = a->next_block;
        int64_t end = start + a->block_size;
        if (a->reserve) {
            int rc = a->reserve(a->arg, start, end);
            if (rc)
                return rc;
        }
        a->next = start;
        a->block_end = end;
        a->next_block = end;
    }
    *pid = a->next++;
    return 0;
}
