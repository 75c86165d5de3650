/* DescribeGroups (key 15), versions 0-5: state, protocol and members of
 * groups. Member metadata is sent only for Stable groups, as Kafka does; an
 * unknown group is "Dead" with no error. Authorized operations (v3+) are
 * not computed (no ACLs yet): INT32_MIN, "not requested". */
#include "api/dispatch.h"
#include "group/group_service.h"
#include "kafka_msgs.h"
#include "protocol/errors.h"
#include "server/broker.h"

void gr_api_describe_groups(gr_req_t *req)
{
    gr_DescribeGroupsRequest rq;
    if (gr_DescribeGroupsRequest_decode(&req->body, &req->arena, req->api_version, &rq) != 0) {
        gr_req_malformed(req, "bad DescribeGroups body");
        return;
    }
    gr_DescribeGroupsResponse rs;
    gr_DescribeGroupsResponse_init(&rs);
    int32_t n = rq.Groups_count > 0 ? rq.Groups_count : 0;
    rs.Groups = gr_arena_calloc(&req->arena, (size_t)n + 1, sizeof *rs.Groups);
    if (!rs.Groups) {
        gr_req_malformed(req, "out of memory");
        return;
    }
    rs.Groups_count = n;
    gr_gcoord_t *c = gr_group_coord(req->broker);
    for (int32_t i = 0; i < n; i++) {
        gr_DescribeGroupsResponse_DescribedGroup *g = &rs.Groups[i];
        if (c) {
            gr_gcoord_describe(c, rq.Groups[i], &req->arena, g);
            continue;
        }
        g->GroupId = rq.Groups[i];
        g->ErrorCode = GR_KERR_COORDINATOR_NOT_AVAILABLE;
        g->GroupState = gr_str("");
        g->ProtocolType = gr_str("");
        g->ProtocolData = gr_str("");
        g->AuthorizedOperations = INT32_MIN;
    }
    GR_REQ_REPLY(req, DescribeGroupsResponse, &rs);
}
