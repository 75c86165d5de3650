/* Metadata (key 3), versions 0-12: brokers, cluster id, controller and the
 * requested topics with their partitions, leaders and replicas, from the
 * metadata image. Unknown topics are created when the request allows it
 * (v4+, always in v0-3) and auto.create.topics.enable is on; the topic is
 * created synchronously, so the answer already carries its partitions. */
#include "api/dispatch.h"
#include "cluster/controller.h"
#include "kafka_msgs.h"
#include "protocol/errors.h"
#include "server/broker.h"

typedef gr_MetadataResponse_MetadataResponseTopic resp_topic_t;
typedef gr_MetadataResponse_MetadataResponsePartition resp_part_t;

static void fill_topic(gr_req_t *req, gr_meta_topic_t *t, resp_topic_t *rt)
{
    rt->ErrorCode = 0;
    rt->Name = gr_str(t->name);
    rt->TopicId = t->id;
    rt->IsInternal = t->internal;
    rt->TopicAuthorizedOperations = INT32_MIN;
    rt->Partitions = gr_arena_calloc(&req->arena, (size_t)t->nparts + 1, sizeof *rt->Partitions);
    if (!rt->Partitions)
        return;
    rt->Partitions_count = t->nparts;
    for (int32_t i = 0; i < t->nparts; i++) {
        gr_meta_partition_t *p = &t->parts[i];
        resp_part_t *rp = &rt->Partitions[i];
        rp->PartitionIndex = p->id;
        rp->LeaderId = p->leader;
        rp->LeaderEpoch = p->leader_epoch;
        rp->ReplicaNodes = p->replicas;
        rp->ReplicaNodes_count = p->nreplicas;
        rp->IsrNodes = p->isr;
        rp->IsrNodes_count = p->nisr;
        rp->OfflineReplicas_count = 0;
        rp->ErrorCode = p->leader < 0 ? GR_KERR_LEADER_NOT_AVAILABLE : 0;
    }
}

void gr_api_metadata(gr_req_t *req)
{
    gr_broker_t *b = req->broker;
    gr_MetadataRequest rq;
    if (gr_MetadataRequest_decode(&req->body, &req->arena, req->api_version, &rq) != 0) {
        gr_req_malformed(req, "bad Metadata body");
        return;
    }
    int16_t v = req->api_version;
    bool all = rq.Topics_count < 0 || (v == 0 && rq.Topics_count == 0);
    bool allow_create = (v < 4 || rq.AllowAutoTopicCreation) && b->cfg->auto_create_topics_enable;

    gr_MetadataResponse rs;
    gr_MetadataResponse_init(&rs);
    rs.ClusterId = gr_str(b->cluster_id);
    rs.ControllerId = b->node_id;
    rs.ClusterAuthorizedOperations = INT32_MIN;
    rs.Brokers = gr_arena_calloc(&req->arena, (size_t)b->meta.nbrokers + 1, sizeof *rs.Brokers);
    if (!rs.Brokers)
        goto oom;
    for (int i = 0; i < b->meta.nbrokers; i++) {
        gr_meta_broker_t *mb = &b->meta.brokers[i];
        rs.Brokers[i].NodeId = mb->id;
        rs.Brokers[i].Host = gr_str(mb->host);
        rs.Brokers[i].Port = mb->port;
        rs.Brokers[i].Rack = mb->has_rack ? gr_str(mb->rack) : gr_str(NULL);
    }
    rs.Brokers_count = b->meta.nbrokers;

    if (all) {
        rs.Topics = gr_arena_calloc(&req->arena, (size_t)b->meta.ntopics + 1, sizeof *rs.Topics);
        if (!rs.Topics)
            goto oom;
        int n = 0;
        for (gr_meta_topic_t *t = b->meta.topics; t; t = t->next)
            fill_topic(req, t, &rs.Topics[n++]);
        rs.Topics_count = n;
    } else {
        rs.Topics = gr_arena_calloc(&req->arena, (size_t)rq.Topics_count + 1, sizeof *rs.Topics);
        if (!rs.Topics)
            goto oom;
        rs.Topics_count = rq.Topics_count;
        for (int32_t i = 0; i < rq.Topics_count; i++) {
            gr_MetadataRequest_MetadataRequestTopic *qt = &rq.Topics[i];
            resp_topic_t *rt = &rs.Topics[i];
            rt->TopicAuthorizedOperations = INT32_MIN;
            rt->Name = qt->Name;
            rt->TopicId = qt->TopicId;
            gr_meta_topic_t *t = NULL;
            /* A topic id comes first, as Kafka looks them up (the Java
             * consumer asks for the topics of a regex assignment by id,
             * with an empty name). */
            if (!gr_uuid_is_zero(&qt->TopicId)) {
                t = gr_meta_topic_by_id(&b->meta, &qt->TopicId);
                if (!t) {
                    rt->Name = gr_str(NULL);
                    rt->ErrorCode = GR_KERR_UNKNOWN_TOPIC_ID;
                    continue;
                }
            } else if (qt->Name.len >= 0) {
                t = gr_meta_topic_by_name(&b->meta, qt->Name.ptr, (size_t)qt->Name.len);
            } else {
                rt->ErrorCode = GR_KERR_INVALID_REQUEST;
                continue;
            }
            if (!t && allow_create) {
                const char *why;
                if (!gr_ctrl_topic_name_valid(qt->Name.ptr, (size_t)qt->Name.len, &why)) {
                    rt->ErrorCode = GR_KERR_INVALID_TOPIC_EXCEPTION;
                    continue;
                }
                gr_uuid_t id;
                int32_t np;
                int16_t rf;
                char msg[256];
                int16_t err = gr_ctrl_create_topic(b, qt->Name, -1, -1, NULL, 0, false, &id, &np,
                                                   &rf, msg, sizeof msg);
                if (err) {
                    rt->ErrorCode = err;
                    continue;
                }
                t = gr_meta_topic_by_id(&b->meta, &id);
            }
            if (!t) {
                rt->ErrorCode = GR_KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            fill_topic(req, t, rt);
        }
    }
    GR_REQ_REPLY(req, MetadataResponse, &rs);
    return;
oom:
    gr_req_malformed(req, "out of memory");
}
