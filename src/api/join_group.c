/* JoinGroup (key 11), versions 0-9: a member joins (or rejoins) a classic
 * group; the answer waits until the group's join phase completes (see
 * group/membership.c). v4+ with an empty member id is answered at once with
 * MEMBER_ID_REQUIRED and the id to rejoin with; v0 has no rebalance
 * timeout (the session timeout is used). A JoinGroup for a KIP-848
 * consumer group with members joins it as a classic member, answered once
 * its records are durable (group/cg_classic.c). */
#include "api/dispatch.h"
#include "group/group_service.h"
#include "kafka_msgs.h"
#include "protocol/errors.h"
#include "server/broker.h"

static void on_join(void *arg, const gr_JoinGroupResponse *resp)
{
    gr_req_t *req = arg;
    gr_JoinGroupResponse r = *resp;
    /* As Kafka's JoinGroupResponse: before v7 the protocol name cannot be
     * null, from v7 an empty one is sent as null. */
    if (req->api_version < 7 && r.ProtocolName.len < 0)
        r.ProtocolName = gr_str("");
    if (req->api_version >= 7 && r.ProtocolName.len == 0)
        r.ProtocolName = gr_str(NULL);
    if (r.MemberId.len < 0)
        r.MemberId = gr_str("");
    if (r.Leader.len < 0)
        r.Leader = gr_str("");
    GR_REQ_REPLY(req, JoinGroupResponse, &r);
}

void gr_api_join_group(gr_req_t *req)
{
    gr_JoinGroupRequest rq;
    if (gr_JoinGroupRequest_decode(&req->body, &req->arena, req->api_version, &rq) != 0) {
        gr_req_malformed(req, "bad JoinGroup body");
        return;
    }
    gr_gcoord_t *c = gr_group_coord(req->broker);
    if (!c) {
        gr_JoinGroupResponse r;
        gr_JoinGroupResponse_init(&r);
        r.ErrorCode = GR_KERR_COORDINATOR_NOT_AVAILABLE;
        r.MemberId = rq.MemberId;
        r.ProtocolName = gr_str(NULL);
        on_join(req, &r);
        return;
    }
    gr_gclient_t cl;
    char host[80];
    gr_group_client(req, &cl, host, sizeof host);
    gr_gcoord_join(c, &cl, &rq, on_join, req);
}
