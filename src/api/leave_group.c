/* LeaveGroup (key 13), versions 0-5: members leave a group, which then
 * rebalances at once. v0-2 name one member (MemberId) and answer with one
 * error code; v3+ name a batch (by member id, or by group.instance.id with
 * an empty member id, as admin clients remove static members) and answer
 * per member. Members of a KIP-848 consumer group are removed from it (the
 * group may become classic then: group/cg_migrate.c). */
#include "api/dispatch.h"
#include "group/group_service.h"
#include "kafka_msgs.h"
#include "protocol/errors.h"
#include "server/broker.h"

void gr_api_leave_group(gr_req_t *req)
{
    int16_t v = req->api_version;
    gr_LeaveGroupRequest rq;
    if (gr_LeaveGroupRequest_decode(&req->body, &req->arena, v, &rq) != 0) {
        gr_req_malformed(req, "bad LeaveGroup body");
        return;
    }
    gr_LeaveGroupRequest_MemberIdentity one;
    if (v < 3) {
        one.MemberId = rq.MemberId;
        one.GroupInstanceId = gr_str(NULL);
        one.Reason = gr_str(NULL);
        rq.Members = &one;
        rq.Members_count = 1;
    }
    gr_LeaveGroupResponse rs;
    gr_LeaveGroupResponse_init(&rs);
    gr_gcoord_t *c = gr_group_coord(req->broker);
    if (c)
        gr_gcoord_leave(c, &rq, &req->arena, &rs);
    else
        rs.ErrorCode = GR_KERR_COORDINATOR_NOT_AVAILABLE;
    if (v < 3) {
        /* One error: the request's, else the member's. */
        if (rs.ErrorCode == 0 && rs.Members_count > 0)
            rs.ErrorCode = rs.Members[0].ErrorCode;
        rs.Members_count = 0;
    }
    GR_REQ_REPLY(req, LeaveGroupResponse, &rs);
}
