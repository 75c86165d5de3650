/* FindCoordinator (key 10), versions 0-6: which broker coordinates a group
 * (key type 0) or a transactional id (key type 1). v0-3 carry one key,
 * v4+ a list. Groups are coordinated by the leader of their partition of
 * __consumer_offsets, which is created on the first request, as Kafka does
 * (Kafka answers COORDINATOR_NOT_AVAILABLE while creating it; ours exists
 * at once, so the first answer already names the coordinator).
 * Transactions are not served yet: COORDINATOR_NOT_AVAILABLE. */
#include "api/dispatch.h"
#include "group/group_service.h"
#include "kafka_msgs.h"
#include "protocol/errors.h"
#include "server/broker.h"

static int16_t coordinator_for(gr_broker_t *b, int8_t type, gr_str_t key, int32_t *node, const char **host,
                               int32_t *port)
{
    *node = -1;
    *host = "";
    *port = -1;
    if (type == 0)
        return gr_group_find_coordinator(b, key.len >= 0 ? key : gr_str(""), node, host, port);
    if (type == 1)
        return GR_KERR_COORDINATOR_NOT_AVAILABLE;
    return GR_KERR_INVALID_REQUEST;
}

void gr_api_find_coordinator(gr_req_t *req)
{
    gr_broker_t *b = req->broker;
    int16_t v = req->api_version;
    gr_FindCoordinatorRequest rq;
    if (gr_FindCoordinatorRequest_decode(&req->body, &req->arena, v, &rq) != 0) {
        gr_req_malformed(req, "bad FindCoordinator body");
        return;
    }
    gr_FindCoordinatorResponse rs;
    gr_FindCoordinatorResponse_init(&rs);
    if (v < 4) {
        const char *host;
        int16_t err = coordinator_for(b, rq.KeyType, rq.Key, &rs.NodeId, &host, &rs.Port);
        rs.ErrorCode = err;
        rs.Host = gr_str(host);
        /* Kafka sends Errors.message(): "NONE" on success. */
        rs.ErrorMessage = gr_str(err ? gr_kerr_message(err) : "NONE");
        GR_REQ_REPLY(req, FindCoordinatorResponse, &rs);
        return;
    }
    int32_t n = rq.CoordinatorKeys_count > 0 ? rq.CoordinatorKeys_count : 0;
    rs.Coordinators = gr_arena_calloc(&req->arena, (size_t)n + 1, sizeof *rs.Coordinators);
    if (!rs.Coordinators) {
        gr_req_malformed(req, "out of memory");
        return;
    }
    rs.Coordinators_count = n;
    for (int32_t i = 0; i < n; i++) {
        gr_FindCoordinatorResponse_Coordinator *co = &rs.Coordinators[i];
        const char *host;
        co->Key = rq.CoordinatorKeys[i];
        co->ErrorCode = coordinator_for(b, rq.KeyType, co->Key, &co->NodeId, &host, &co->Port);
        co->Host = gr_str(host);
        /* v4+: Kafka leaves the message empty except for INVALID_REQUEST. */
        co->ErrorMessage = gr_str(co->ErrorCode == GR_KERR_INVALID_REQUEST ? gr_kerr_message(co->ErrorCode) : "");
    }
    GR_REQ_REPLY(req, FindCoordinatorResponse, &rs);
}
