/* ConsumerGroupHeartbeat (key 68), versions 0-1: a member of a KIP-848
 * consumer group joins (epoch 0), heartbeats, reconciles its server-side
 * assignment and leaves (epoch -1, static members -2); see
 * group/consumer_group.c. The answer waits until the records the
 * heartbeat wrote to __consumer_offsets are durable. */
#include "api/dispatch.h"
#include "group/consumer_group.h"
#include "group/group_service.h"
#include "kafka_msgs.h"
#include "protocol/errors.h"
#include "server/broker.h"

#include <string.h>

typedef struct hb_op_s {
    gr_req_t                         *req;
    gr_ConsumerGroupHeartbeatResponse rs;
} hb_op_t;

static void on_durable(void *arg, int16_t err)
{
    hb_op_t *op = arg;
    if (err) {
        op->rs.ErrorCode = err;
        op->rs.ErrorMessage = gr_str(NULL);
        op->rs.Assignment = NULL;
    }
    GR_REQ_REPLY(op->req, ConsumerGroupHeartbeatResponse, &op->rs);
}

void gr_api_consumer_group_heartbeat(gr_req_t *req)
{
    gr_ConsumerGroupHeartbeatRequest rq;
    hb_op_t *op = gr_arena_alloc(&req->arena, sizeof *op);
    if (!op || gr_ConsumerGroupHeartbeatRequest_decode(&req->body, &req->arena, req->api_version, &rq) != 0) {
        gr_req_malformed(req, "bad ConsumerGroupHeartbeat body");
        return;
    }
    op->req = req;
    gr_ConsumerGroupHeartbeatResponse_init(&op->rs);
    gr_gcoord_t *c = gr_group_coord(req->broker);
    if (!c) {
        op->rs.ErrorCode = GR_KERR_COORDINATOR_NOT_AVAILABLE;
    } else {
        gr_gclient_t cl;
        char host[80];
        gr_group_client(req, &cl, host, sizeof host);
        gr_gcg_meta_t meta;
        gr_group_meta(req->broker, &meta);
        if (gr_gcoord_cg_heartbeat(c, &cl, &rq, &meta, &req->arena, &op->rs, on_durable, op))
            return;
    }
    GR_REQ_REPLY(req, ConsumerGroupHeartbeatResponse, &op->rs);
}
