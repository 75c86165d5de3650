/* ConsumerGroupDescribe (key 69), version 0: members, epochs, current and
 * target assignments of KIP-848 consumer groups. A classic group or an
 * unknown one is GROUP_ID_NOT_FOUND, as in Kafka. Without ACLs every
 * operation on a group is allowed, which is what is reported when asked. */
#include "api/dispatch.h"
#include "group/consumer_group.h"
#include "group/group_service.h"
#include "kafka_msgs.h"
#include "protocol/errors.h"
#include "server/broker.h"

/* READ (3), DELETE (6), DESCRIBE (8), DESCRIBE_CONFIGS (10), ALTER_CONFIGS
 * (11): Kafka's answer for a group when no authorizer is configured. */
#define GROUP_OPERATIONS ((1 << 3) | (1 << 6) | (1 << 8) | (1 << 10) | (1 << 11))

void gr_api_consumer_group_describe(gr_req_t *req)
{
    gr_ConsumerGroupDescribeRequest rq;
    if (gr_ConsumerGroupDescribeRequest_decode(&req->body, &req->arena, req->api_version, &rq) != 0) {
        gr_req_malformed(req, "bad ConsumerGroupDescribe body");
        return;
    }
    gr_ConsumerGroupDescribeResponse rs;
    gr_ConsumerGroupDescribeResponse_init(&rs);
    int32_t n = rq.GroupIds_count > 0 ? rq.GroupIds_count : 0;
    rs.Groups = gr_arena_calloc(&req->arena, (size_t)n + 1, sizeof *rs.Groups);
    if (!rs.Groups) {
        gr_req_malformed(req, "out of memory");
        return;
    }
    rs.Groups_count = n;
    gr_gcoord_t *c = gr_group_coord(req->broker);
    for (int32_t i = 0; i < n; i++) {
        gr_ConsumerGroupDescribeResponse_DescribedGroup *g = &rs.Groups[i];
        if (c) {
            gr_gcg_meta_t meta;
            gr_group_meta(req->broker, &meta);
            gr_gcoord_cg_describe(c, rq.GroupIds[i], &meta, &req->arena, g);
            if (rq.IncludeAuthorizedOperations && g->ErrorCode == 0)
                g->AuthorizedOperations = GROUP_OPERATIONS;
            continue;
        }
        g->GroupId = rq.GroupIds[i];
        g->ErrorCode = GR_KERR_COORDINATOR_NOT_AVAILABLE;
        g->GroupState = gr_str("");
        g->AssignorName = gr_str("");
        g->ErrorMessage = gr_str(NULL);
        g->AuthorizedOperations = INT32_MIN;
    }
    GR_REQ_REPLY(req, ConsumerGroupDescribeResponse, &rs);
}
