/* The broker process: its event loop, configuration, listeners, logs, the
 * metadata image and the per-partition state of partitions hosted here.
 * One gr_broker_t per process, created by gr_broker_run() and passed to
 * everything that needs it (there is no global). Event-loop thread only,
 * unless a field says otherwise. */
#ifndef GR_SERVER_BROKER_H
#define GR_SERVER_BROKER_H

#include "cluster/meta.h"
#include "net/conn.h"
#include "server/config.h"
#include "txn/producer_ids.h"

#include <stdbool.h>
#include <uv.h>

struct gr_logmgr_s;
struct gr_plog_s;
struct gr_pstate_s;
struct gr_fetch_waiter_s;
struct gr_gsvc_s;

/* A partition hosted on this broker: its log and producer state. */
typedef struct gr_part_s {
    struct gr_broker_s *broker;
    gr_meta_topic_t    *topic;  /* borrowed from the image */
    int32_t             id;
    struct gr_plog_s   *log;
    struct gr_pstate_s *pstate;
    struct gr_fetch_waiter_s *waiters; /* long-poll fetches to wake on append */
    gr_topic_config_t   tc;       /* the topic's effective config, when tc_valid */
    bool                tc_valid; /* cleared when the topic's configs change */
} gr_part_t;

#define GR_MAX_LISTENERS 4

typedef struct gr_broker_s {
    uv_loop_t     *loop;
    gr_config_t   *cfg;
    int32_t        node_id;
    char           cluster_id[32];

    struct gr_logmgr_s *logs;
    struct gr_plog_s   *metalog;  /* __cluster_metadata-0 */
    /* Metadata records are applied when written and made durable by a
     * flusher thread; replies built after a write wait for it (conn.c). */
    bool                meta_async;    /* flush off the loop (once serving) */
    bool                meta_flushing; /* a flush of the metadata log is running */
    bool                meta_held;     /* some reply waits for meta_durable */
    int64_t             meta_durable;  /* metadata log offsets below this are on disk */
    int64_t             meta_flush_upto; /* what the running flush makes durable */
    gr_meta_t           meta;
    gr_pid_alloc_t      pids;

    gr_listener_t  listeners[GR_MAX_LISTENERS];
    int            nlisteners;
    char           adv_host[256];
    int            adv_port;

    gr_conn_t     *conns;
    int            nconns;

    uv_signal_t    sigterm, sigint;
    uv_timer_t     tick;
    bool           stopping;
    int            exit_code;

    struct gr_fetch_sessions_s *fetch_sessions;
    struct gr_gsvc_s           *groups; /* the group coordinator (group/group_service.h) */
} gr_broker_t;

/* Run a broker with the given configuration until SIGTERM/SIGINT. Returns
 * the process exit code. */
int gr_broker_run(gr_config_t *cfg);

/* The hosted partition, or NULL when the topic/partition is unknown here. */
gr_part_t *gr_broker_part(gr_broker_t *b, gr_meta_topic_t *t, int32_t partition);

/* Commit metadata records (each a framed record in recs[i]) as one atomic
 * batch of the metadata log, then apply them to the image. While serving,
 * the fsync runs on a flusher thread: every reply built from now on is held
 * until the batch is durable (gr_broker_meta_durable_for), so no client
 * sees metadata that a crash could take back. Before that (start-up) the
 * batch is fsynced here. */
int gr_broker_commit_records(gr_broker_t *b, gr_buf_t *recs, int n);

/* Whether a reply built when the metadata log ended at meta_end may go out. */
static inline bool gr_broker_meta_durable_for(const gr_broker_t *b, int64_t meta_end)
{
    return meta_end <= b->meta_durable;
}

#endif
