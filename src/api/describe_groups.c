/* DescribeGroups (key 15), versions 0-5: state, protocol and members of
 * groups. Member metadata is sent only for Stable groups, as Kafka does; an
 * unknown group is "Dead" with no error. Without ACLs every operation on a
 * group is allowed, which is what v3+ report when asked. */
#include "api/dispatch.h"
#include "group/group_service.h"
#include "kafka_msgs.h"
#include "protocol/errors.h"
#include "server/broker.h"

/* READ (3), DELETE (6), DESCRIBE (8), DESCRIBE_CONFIGS (10), ALTER_CONFIGS
 * (11): Kafka's answer for a group when no authorizer is configured. */
#define GROUP_OPERATIONS ((1 << 3) | (1 << 6) | (1 << 8) | (1 << 10) | (1 << 11))

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
            if (req->api_version >= 3 && rq.IncludeAuthorizedOperations)
                g->AuthorizedOperations = GROUP_OPERATIONS;
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
