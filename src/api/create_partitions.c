/* CreatePartitions (key 37), versions 0-3: grows a topic's partition
 * count; manual assignments may only name this broker today. */
#include "api/dispatch.h"
#include "cluster/controller.h"
#include "kafka_msgs.h"
#include "protocol/errors.h"
#include "server/broker.h"

#include <string.h>

void gr_api_create_partitions(gr_req_t *req)
{
    gr_broker_t *b = req->broker;
    gr_CreatePartitionsRequest rq;
    if (gr_CreatePartitionsRequest_decode(&req->body, &req->arena, req->api_version, &rq) != 0) {
        gr_req_malformed(req, "bad CreatePartitions body");
        return;
    }
    gr_CreatePartitionsResponse rs;
    gr_CreatePartitionsResponse_init(&rs);
    int32_t n = rq.Topics_count > 0 ? rq.Topics_count : 0;
    rs.Results = gr_arena_calloc(&req->arena, (size_t)n + 1, sizeof *rs.Results);
    if (!rs.Results) {
        gr_req_malformed(req, "out of memory");
        return;
    }
    rs.Results_count = n;
    for (int32_t i = 0; i < n; i++) {
        gr_CreatePartitionsRequest_CreatePartitionsTopic *qt = &rq.Topics[i];
        gr_CreatePartitionsResponse_CreatePartitionsTopicResult *res = &rs.Results[i];
        res->Name = qt->Name;
        res->ErrorMessage = gr_str(NULL);
        if (qt->Assignments_count > 0) {
            bool ok = true;
            for (int32_t a = 0; a < qt->Assignments_count; a++)
                if (qt->Assignments[a].BrokerIds_count != 1 ||
                    qt->Assignments[a].BrokerIds[0] != b->node_id)
                    ok = false;
            if (!ok) {
                res->ErrorCode = GR_KERR_INVALID_REPLICA_ASSIGNMENT;
                res->ErrorMessage = gr_str("Replica assignment names brokers that are not registered.");
                continue;
            }
        }
        char msg[512] = "";
        res->ErrorCode = gr_ctrl_create_partitions(b, qt->Name, qt->Count, rq.ValidateOnly, msg,
                                                   sizeof msg);
        /* Kafka sends no message for an unknown topic. */
        if (res->ErrorCode && res->ErrorCode != GR_KERR_UNKNOWN_TOPIC_OR_PARTITION)
            res->ErrorMessage = gr_str(gr_arena_strndup(&req->arena, msg, strlen(msg)));
    }
    GR_REQ_REPLY(req, CreatePartitionsResponse, &rs);
}
