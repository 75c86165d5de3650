/* DeleteGroups (key 42), versions 0-2: deletes empty groups and their
 * committed offsets (tombstones in __consumer_offsets). A group with
 * members is NON_EMPTY_GROUP, an unknown one GROUP_ID_NOT_FOUND. */
#include "api/dispatch.h"
#include "group/group_service.h"
#include "kafka_msgs.h"
#include "protocol/errors.h"
#include "server/broker.h"

void gr_api_delete_groups(gr_req_t *req)
{
    gr_DeleteGroupsRequest rq;
    if (gr_DeleteGroupsRequest_decode(&req->body, &req->arena, req->api_version, &rq) != 0) {
        gr_req_malformed(req, "bad DeleteGroups body");
        return;
    }
    gr_DeleteGroupsResponse rs;
    gr_DeleteGroupsResponse_init(&rs);
    int32_t n = rq.GroupsNames_count > 0 ? rq.GroupsNames_count : 0;
    rs.Results = gr_arena_calloc(&req->arena, (size_t)n + 1, sizeof *rs.Results);
    if (!rs.Results) {
        gr_req_malformed(req, "out of memory");
        return;
    }
    rs.Results_count = n;
    gr_gcoord_t *c = gr_group_coord(req->broker);
    for (int32_t i = 0; i < n; i++) {
        rs.Results[i].GroupId = rq.GroupsNames[i];
        rs.Results[i].ErrorCode = c ? gr_gcoord_delete_group(c, rq.GroupsNames[i]) : GR_KERR_COORDINATOR_NOT_AVAILABLE;
    }
    GR_REQ_REPLY(req, DeleteGroupsResponse, &rs);
}
