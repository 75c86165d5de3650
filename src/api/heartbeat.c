/* Heartbeat (key 12), versions 0-4: a member keeps its session alive and
 * learns whether the group is rebalancing (REBALANCE_IN_PROGRESS), also as
 * a classic member of a KIP-848 consumer group (group/cg_classic.c). */
#include "api/dispatch.h"
#include "group/group_service.h"
#include "kafka_msgs.h"
#include "protocol/errors.h"
#include "server/broker.h"

void gr_api_heartbeat(gr_req_t *req)
{
    gr_HeartbeatRequest rq;
    if (gr_HeartbeatRequest_decode(&req->body, &req->arena, req->api_version, &rq) != 0) {
        gr_req_malformed(req, "bad Heartbeat body");
        return;
    }
    gr_HeartbeatResponse rs;
    gr_HeartbeatResponse_init(&rs);
    gr_gcoord_t *c = gr_group_coord(req->broker);
    rs.ErrorCode = c ? gr_gcoord_heartbeat(c, &rq) : GR_KERR_COORDINATOR_NOT_AVAILABLE;
    GR_REQ_REPLY(req, HeartbeatResponse, &rs);
}
