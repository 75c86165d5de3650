/* Incremental fetch sessions (KIP-227). A session remembers the partitions
 * a client fetches and what the last answer told it, so later requests name
 * only what changed and answers carry only partitions with news. Sessions
 * live in a bounded cache (max.incremental.fetch.session.cache.slots); the
 * least recently used idle one is evicted when it is full. A session in use
 * by a waiting fetch is never evicted. Event-loop thread only. */
#ifndef GR_API_FETCH_SESSION_H
#define GR_API_FETCH_SESSION_H

#include "server/broker.h"

typedef struct gr_fetch_sess_part_s {
    struct gr_fetch_sess_part_s *next;
    gr_str_t  name;          /* owned copy */
    gr_uuid_t id;
    int32_t   partition;
    int64_t   fetch_offset;
    int32_t   max_bytes;
    int32_t   leader_epoch;  /* the client's CurrentLeaderEpoch, -1: none */
    int64_t   last_hw, last_lso, last_log_start; /* -2: never sent */
} gr_fetch_sess_part_t;

typedef struct gr_fetch_sess_s gr_fetch_sess_t;

/* Resolve (session id, epoch) from a request: a new full session, an
 * existing one for an incremental fetch, or none (sessionless). Returns a
 * Kafka error code (FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH).
 * A non-NULL session must be released with gr_fetch_sess_end(). */
int16_t gr_fetch_sess_begin(gr_broker_t *b, int32_t id, int32_t epoch, gr_fetch_sess_t **out,
                            bool *incremental);
void gr_fetch_sess_end(gr_fetch_sess_t *s);
int32_t gr_fetch_sess_id(const gr_fetch_sess_t *s);
int32_t gr_fetch_sess_count(const gr_fetch_sess_t *s);

void gr_fetch_sess_upsert(gr_fetch_sess_t *s, gr_meta_topic_t *t, gr_str_t name,
                          const gr_uuid_t *id, int32_t partition, int64_t offset, int32_t max_bytes,
                          int32_t leader_epoch);
void gr_fetch_sess_forget(gr_fetch_sess_t *s, gr_str_t name, const gr_uuid_t *id, int32_t partition,
                          bool by_id);
gr_fetch_sess_part_t *gr_fetch_sess_next(gr_fetch_sess_t *s, gr_fetch_sess_part_t *prev);
gr_meta_topic_t *gr_fetch_sess_part_topic(gr_broker_t *b, gr_fetch_sess_part_t *sp);
bool gr_fetch_sess_part_changed(const gr_fetch_sess_part_t *sp, int64_t hw, int64_t lso, int64_t ls);
void gr_fetch_sess_part_sent(gr_fetch_sess_part_t *sp, int64_t hw, int64_t lso, int64_t ls);

void gr_fetch_sessions_free(gr_broker_t *b);

#endif
