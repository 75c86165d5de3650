/* CreateTopics (key 19), versions 0-7: validates each topic (name,
 * partitions, replication factor, configs) and creates it through the
 * controller; validateOnly checks without creating. v5+ answers carry the
 * effective configs, partition count and replication factor. */
#include "api/describe_configs.h"
#include "api/dispatch.h"
#include "cluster/controller.h"
#include "kafka_msgs.h"
#include "protocol/errors.h"
#include "server/broker.h"
#include "server/config.h"

#include <stdio.h>
#include <string.h>

typedef gr_CreateTopicsResponse_CreatableTopicResult result_t;

static void fill_configs(gr_req_t *req, gr_broker_t *b, gr_meta_topic_t *t, result_t *res,
                         const gr_ctrl_config_t *pending, int npending)
{
    gr_topic_config_t tc;
    if (gr_api_topic_config_build(b, t ? t->configs : NULL, pending, npending, &tc) != 0)
        return;
    size_t n = 0;
    const gr_config_def_t *defs = gr_config_defs(GR_CONFIG_SCOPE_TOPIC, &n);
    res->Configs = gr_arena_calloc(&req->arena, n + 1, sizeof *res->Configs);
    res->Configs_count = 0;
    for (size_t i = 0; res->Configs && i < n; i++) {
        gr_config_entry_t ce;
        if (gr_topic_config_describe(&tc, b->cfg, defs[i].name, &ce) != 0)
            continue;
        gr_CreateTopicsResponse_CreatableTopicConfigs *c = &res->Configs[res->Configs_count++];
        c->Name = gr_str(gr_arena_strndup(&req->arena, ce.name, strlen(ce.name)));
        c->Value = ce.value ? gr_str(gr_arena_strndup(&req->arena, ce.value, strlen(ce.value))) : gr_str(NULL);
        c->ReadOnly = ce.read_only;
        c->ConfigSource = (int8_t)ce.source;
        c->IsSensitive = ce.is_sensitive;
    }
    gr_topic_config_free(&tc);
}

void gr_api_create_topics(gr_req_t *req)
{
    gr_broker_t *b = req->broker;
    gr_CreateTopicsRequest rq;
    if (gr_CreateTopicsRequest_decode(&req->body, &req->arena, req->api_version, &rq) != 0) {
        gr_req_malformed(req, "bad CreateTopics body");
        return;
    }
    gr_CreateTopicsResponse rs;
    gr_CreateTopicsResponse_init(&rs);
    rs.Topics = gr_arena_calloc(&req->arena, (size_t)rq.Topics_count + 1, sizeof *rs.Topics);
    if (!rs.Topics) {
        gr_req_malformed(req, "out of memory");
        return;
    }
    int32_t nin = rq.Topics_count > 0 ? rq.Topics_count : 0;
    rs.Topics_count = 0;
    for (int32_t i = 0; i < nin; i++) {
        gr_CreateTopicsRequest_CreatableTopic *qt = &rq.Topics[i];
        /* A name given twice gets one answer, an error (as Kafka does). */
        bool dup = false, seen = false;
        for (int32_t j = 0; j < nin; j++)
            if (j != i && qt->Name.len >= 0 && qt->Name.len == rq.Topics[j].Name.len &&
                memcmp(qt->Name.ptr, rq.Topics[j].Name.ptr, (size_t)qt->Name.len) == 0) {
                dup = true;
                if (j < i)
                    seen = true;
            }
        if (seen)
            continue;
        result_t *res = &rs.Topics[rs.Topics_count++];
        res->Name = qt->Name;
        res->NumPartitions = -1;
        res->ReplicationFactor = -1;
        res->Configs_count = 0;
        res->ErrorMessage = gr_str(NULL);
        if (dup) {
            res->ErrorCode = GR_KERR_INVALID_REQUEST;
            res->ErrorMessage = gr_str("Duplicate topic name.");
            continue;
        }
        if (qt->Assignments_count > 0) {
            if (qt->NumPartitions != -1 || qt->ReplicationFactor != -1) {
                res->ErrorCode = GR_KERR_INVALID_REQUEST;
                res->ErrorMessage = gr_str("Both numPartitions or replicationFactor and "
                                           "replicasAssignments were set. Both cannot be used at "
                                           "the same time.");
                continue;
            }
            /* Manual assignment: one node hosts everything today, so the
             * assignment must name this broker only. */
            bool ok = true;
            for (int32_t a = 0; a < qt->Assignments_count; a++) {
                gr_CreateTopicsRequest_CreatableReplicaAssignment *as = &qt->Assignments[a];
                if (as->PartitionIndex != a || as->BrokerIds_count != 1 ||
                    as->BrokerIds[0] != b->node_id)
                    ok = false;
            }
            if (!ok) {
                res->ErrorCode = GR_KERR_INVALID_REPLICA_ASSIGNMENT;
                res->ErrorMessage = gr_str("Replica assignment names brokers that are not registered.");
                continue;
            }
            qt->NumPartitions = qt->Assignments_count;
            qt->ReplicationFactor = 1;
        }
        gr_ctrl_config_t *cfgs = NULL;
        int ncfg = qt->Configs_count > 0 ? qt->Configs_count : 0;
        if (ncfg) {
            cfgs = gr_arena_calloc(&req->arena, (size_t)ncfg, sizeof *cfgs);
            if (!cfgs) {
                gr_req_malformed(req, "out of memory");
                return;
            }
            for (int c = 0; c < ncfg; c++) {
                cfgs[c].name = qt->Configs[c].Name;
                cfgs[c].value = qt->Configs[c].Value;
            }
        }
        char msg[512] = "";
        gr_uuid_t id = {{0}};
        int32_t np = -1;
        int16_t rf = -1;
        int16_t err = gr_ctrl_create_topic(b, qt->Name, qt->NumPartitions, qt->ReplicationFactor,
                                           cfgs, ncfg, rq.validateOnly, &id, &np, &rf, msg,
                                           sizeof msg);
        res->ErrorCode = err;
        if (err) {
            res->ErrorMessage = gr_str(gr_arena_strndup(&req->arena, msg, strlen(msg)));
            continue;
        }
        res->TopicId = id;
        res->NumPartitions = np;
        res->ReplicationFactor = rf;
        gr_meta_topic_t *t = rq.validateOnly ? NULL : gr_meta_topic_by_id(&b->meta, &id);
        fill_configs(req, b, t, res, rq.validateOnly ? cfgs : NULL, rq.validateOnly ? ncfg : 0);
    }
    GR_REQ_REPLY(req, CreateTopicsResponse, &rs);
}
