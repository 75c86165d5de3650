/* ListGroups (key 16), versions 0-5: the groups this broker coordinates,
 * filtered by state (v4+, case-insensitive, e.g. "stable") and by type
 * (v5+: every group here is "classic"). */
#include "api/dispatch.h"
#include "group/group_service.h"
#include "kafka_msgs.h"
#include "protocol/errors.h"
#include "server/broker.h"

void gr_api_list_groups(gr_req_t *req)
{
    gr_ListGroupsRequest rq;
    if (gr_ListGroupsRequest_decode(&req->body, &req->arena, req->api_version, &rq) != 0) {
        gr_req_malformed(req, "bad ListGroups body");
        return;
    }
    gr_ListGroupsResponse rs;
    gr_ListGroupsResponse_init(&rs);
    gr_gcoord_t *c = gr_group_coord(req->broker);
    if (c)
        gr_gcoord_list(c, &rq, &req->arena, &rs);
    else
        rs.ErrorCode = GR_KERR_COORDINATOR_NOT_AVAILABLE;
    GR_REQ_REPLY(req, ListGroupsResponse, &rs);
}
