/* One Kafka request on its way through the broker.
 *
 * A request is created by the connection when a whole frame has arrived,
 * decoded and dispatched on the event-loop thread, and answered exactly once
 * with gr_req_reply() (or gr_req_finish_noreply() for acks=0 produce), either
 * at once or later from a delayed operation. Responses leave the connection in
 * request order whatever order requests complete in.
 *
 * Ownership: the connection owns queued requests. If the connection closes
 * while a request is still pending, req->conn becomes NULL and the request is
 * freed when its handler finally answers, so delayed operations may always
 * complete the requests they hold. */
#ifndef GR_NET_REQUEST_H
#define GR_NET_REQUEST_H

#include "base/arena.h"
#include "base/buf.h"
#include "protocol/codec.h"

#include <stdbool.h>
#include <stdint.h>

struct gr_conn_s;
struct gr_broker_s;

typedef struct gr_req_s {
    struct gr_conn_s   *conn;   /* NULL once the connection has gone */
    struct gr_broker_s *broker;
    struct gr_req_s    *next;   /* the connection's in-order queue */

    int16_t  api_key;
    int16_t  api_version;
    int16_t  header_version;
    int32_t  correlation_id;
    gr_str_t client_id;         /* slice of frame */

    uint8_t    *frame;          /* the whole request frame, owned */
    size_t      frame_len;
    gr_reader_t body;           /* positioned after the request header */
    gr_arena_t  arena;          /* freed with the request */

    gr_buf_t out;               /* size prefix + response header + body */
    bool     done;              /* answered; out is ready (or empty) */
    bool     close_conn;        /* close the connection after this one */
    int64_t  meta_end;          /* metadata log end when answered: the reply
                                   waits until that much of it is durable */
    int64_t  start_us;
} gr_req_t;

/* Encodes the response header for req and the body with encode(). */
#define GR_REQ_REPLY(req, Msg, resp)                                          \
    do {                                                                      \
        gr_req_begin_response(req);                                           \
        gr_##Msg##_encode(&(req)->out, (req)->api_version, (resp));           \
        gr_req_end_response(req);                                             \
    } while (0)

void gr_req_begin_response(gr_req_t *req);
void gr_req_end_response(gr_req_t *req);
/* The request is complete and needs no response (acks=0). */
void gr_req_finish_noreply(gr_req_t *req);
/* The request body did not parse: log one rate-limited line and close the
 * connection once earlier responses are out. */
void gr_req_malformed(gr_req_t *req, const char *what);
/* A peer name for log lines, "ip:port". */
const char *gr_req_peer(const gr_req_t *req);

#endif
