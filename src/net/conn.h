/* Client connections: framing, pipelining with in-order replies, limits.
 *
 * A connection reads size-prefixed frames, checks the size against
 * socket.request.max.bytes before allocating, turns each frame into a
 * gr_req_t and hands it to the dispatcher. Many requests may be in flight;
 * replies are written strictly in request order. Reading pauses while too
 * many requests are pending or too many reply bytes are queued, which bounds
 * the memory one connection can hold. Idle connections are closed after
 * connections.max.idle.ms. All functions run on the event-loop thread. */
#ifndef GR_NET_CONN_H
#define GR_NET_CONN_H

#include "net/request.h"

#include <uv.h>

struct gr_broker_s;

typedef struct gr_listener_s {
    uv_tcp_t            tcp;
    struct gr_broker_s *broker;
    char                name[64];  /* listener name, e.g. PLAINTEXT */
    char                host[256];
    int                 port;
} gr_listener_t;

typedef struct gr_conn_s {
    uv_tcp_t            tcp;
    struct gr_broker_s *broker;
    gr_listener_t      *listener;
    struct gr_conn_s   *prev, *next; /* broker's connection list */
    char                peer[64];

    uint8_t  sizebuf[4];
    size_t   sizebuf_len;
    uint8_t *frame;          /* frame being read, NULL while reading a size */
    size_t   frame_len, frame_got;

    gr_req_t *head, *tail;   /* requests in arrival order */
    gr_req_t *cur;           /* reply with file ranges being written (conn_pump) */
    size_t    cur_mem;       /* its buffer bytes written or queued so far */
    size_t    cur_idx;       /* its next file range */
    size_t    cur_file_off;  /* bytes of that range written or queued */
    int       inflight;
    size_t    queued_bytes;  /* written to libuv but not yet completed */
    bool      reading;
    bool      closing;
    int64_t   last_active_ms;
} gr_conn_t;

int gr_listener_start(struct gr_broker_s *broker, gr_listener_t *l, const char *host, int port);
void gr_listener_stop(gr_listener_t *l);
/* Called by the request layer when a request completes. */
void gr_conn_request_done(gr_conn_t *conn);
void gr_conn_close(gr_conn_t *conn);
/* Close connections idle for longer than max_idle_ms. */
void gr_conn_sweep_idle(struct gr_broker_s *broker, int64_t now_ms, int64_t max_idle_ms);

#endif
