/* DeleteRecords (key 21), versions 0-2: moves each partition's log start
 * offset up to the requested offset (-1 = the high watermark), so that
 * the records below it are gone for readers at once and their segments'
 * files soon after (gr_part_delete_records). The answer waits until the
 * new log start offsets are in log-start-offset-checkpoint, so they
 * survive a crash. A partition named twice counts once, with its last
 * offset, and a topic named twice answers once, as Kafka's map-based
 * handling does. */
#include "api/dispatch.h"
#include "kafka_msgs.h"
#include "log/log_manager.h"
#include "protocol/errors.h"
#include "server/partition.h"

#include <string.h>

typedef gr_DeleteRecordsResponse_DeleteRecordsTopicResult topic_res_t;
typedef gr_DeleteRecordsResponse_DeleteRecordsPartitionResult part_res_t;

typedef struct dr_op_s {
    gr_req_t               *req;
    gr_DeleteRecordsResponse rs;
    bool                   *changed; /* per (topic, partition) slot: its start moved */
    int32_t                 nslots;
} dr_op_t;

/* The result slot for (name, partition) in rs, added if new. Topics and
 * partitions keep the order of their first appearance. */
static part_res_t *slot_for(dr_op_t *op, gr_str_t name, int32_t partition)
{
    gr_DeleteRecordsResponse *rs = &op->rs;
    topic_res_t *t = NULL;
    for (int32_t i = 0; i < rs->Topics_count && !t; i++)
        if (rs->Topics[i].Name.len == name.len &&
            (name.len <= 0 || memcmp(rs->Topics[i].Name.ptr, name.ptr, (size_t)name.len) == 0))
            t = &rs->Topics[i];
    if (!t) {
        t = &rs->Topics[rs->Topics_count++];
        t->Name = name;
        t->Partitions_count = 0;
    }
    for (int32_t i = 0; i < t->Partitions_count; i++)
        if (t->Partitions[i].PartitionIndex == partition)
            return &t->Partitions[i];
    part_res_t *p = &t->Partitions[t->Partitions_count++];
    p->PartitionIndex = partition;
    return p;
}

static void on_checkpointed(void *arg, int status)
{
    dr_op_t *op = arg;
    int32_t k = 0;
    for (int32_t i = 0; i < op->rs.Topics_count; i++)
        for (int32_t j = 0; j < op->rs.Topics[i].Partitions_count; j++, k++)
            if (status != 0 && k < op->nslots && op->changed[k]) {
                /* The start moved but is not durable: say so. */
                op->rs.Topics[i].Partitions[j].ErrorCode = GR_KERR_KAFKA_STORAGE_ERROR;
                op->rs.Topics[i].Partitions[j].LowWatermark = -1;
            }
    GR_REQ_REPLY(op->req, DeleteRecordsResponse, &op->rs);
}

void gr_api_delete_records(gr_req_t *req)
{
    gr_broker_t *b = req->broker;
    gr_DeleteRecordsRequest rq;
    if (gr_DeleteRecordsRequest_decode(&req->body, &req->arena, req->api_version, &rq) != 0) {
        gr_req_malformed(req, "bad DeleteRecords body");
        return;
    }
    dr_op_t *op = gr_arena_calloc(&req->arena, 1, sizeof *op);
    int32_t nt = rq.Topics_count > 0 ? rq.Topics_count : 0, np = 0;
    for (int32_t i = 0; i < nt; i++)
        np += rq.Topics[i].Partitions_count > 0 ? rq.Topics[i].Partitions_count : 0;
    if (!op)
        goto oom;
    op->req = req;
    gr_DeleteRecordsResponse_init(&op->rs);
    op->rs.Topics = gr_arena_calloc(&req->arena, (size_t)nt + 1, sizeof *op->rs.Topics);
    op->changed = gr_arena_calloc(&req->arena, (size_t)np + 1, sizeof *op->changed);
    if (!op->rs.Topics || !op->changed)
        goto oom;
    /* Room for every partition under each topic (duplicates share a slot). */
    for (int32_t i = 0; i < nt; i++) {
        op->rs.Topics[i].Partitions = gr_arena_calloc(&req->arena, (size_t)np + 1, sizeof(part_res_t));
        if (!op->rs.Topics[i].Partitions)
            goto oom;
    }
    /* Collect: the last offset asked for a partition wins. */
    for (int32_t i = 0; i < nt; i++) {
        gr_DeleteRecordsRequest_DeleteRecordsTopic *qt = &rq.Topics[i];
        for (int32_t j = 0; j < qt->Partitions_count; j++) {
            part_res_t *p = slot_for(op, qt->Name, qt->Partitions[j].PartitionIndex);
            p->LowWatermark = qt->Partitions[j].Offset; /* the request, until applied */
        }
    }
    /* Apply, in response order. */
    bool any_changed = false;
    int32_t k = 0;
    for (int32_t i = 0; i < op->rs.Topics_count; i++) {
        topic_res_t *rt = &op->rs.Topics[i];
        gr_meta_topic_t *t = rt->Name.len > 0
                                 ? gr_meta_topic_by_name(&b->meta, rt->Name.ptr, (size_t)rt->Name.len)
                                 : NULL;
        for (int32_t j = 0; j < rt->Partitions_count; j++, k++) {
            part_res_t *p = &rt->Partitions[j];
            int64_t offset = p->LowWatermark;
            p->LowWatermark = -1;
            gr_part_t *part = t ? gr_broker_part(b, t, p->PartitionIndex) : NULL;
            if (!part) {
                p->ErrorCode = GR_KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            int64_t before = gr_part_log_start(part);
            p->ErrorCode = gr_part_delete_records(part, offset, &p->LowWatermark);
            if (p->ErrorCode == 0 && p->LowWatermark != before) {
                op->changed[k] = true;
                any_changed = true;
            }
        }
    }
    op->nslots = k;
    if (any_changed && gr_logmgr_checkpoint_async(b->logs, on_checkpointed, op) == 0)
        return;
    on_checkpointed(op, any_changed ? GR_KERR_KAFKA_STORAGE_ERROR : 0);
    return;
oom:
    gr_req_malformed(req, "out of memory");
}
