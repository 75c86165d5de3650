/* DeleteRecords (key 21), versions 0-2: moves each partition's log start
 * offset up to the requested offset (-1 = the high watermark), so that
 * the records below it are gone for readers at once and their segments'
 * files soon after (gr_part_delete_records). The answer waits until the
 * new log start offsets are in log-start-offset-checkpoint, so they
 * survive a crash. A partition named twice counts once, with its last
 * offset, and a topic named twice answers once, as Kafka's map-based
 * handling does; the answer lists topics and partitions sorted (Kafka's
 * order is its hash map's). */
#include "api/dispatch.h"
#include "kafka_msgs.h"
#include "log/log_manager.h"
#include "protocol/errors.h"
#include "server/partition.h"

#include <stdlib.h>
#include <string.h>

typedef gr_DeleteRecordsResponse_DeleteRecordsTopicResult topic_res_t;
typedef gr_DeleteRecordsResponse_DeleteRecordsPartitionResult part_res_t;

typedef struct dr_op_s {
    gr_req_t               *req;
    gr_DeleteRecordsResponse rs;
    bool                   *changed; /* per (topic, partition) slot: its start moved */
    int32_t                 nslots;
} dr_op_t;

/* One (topic, partition, offset) of the request, in request order. */
typedef struct want_s {
    gr_str_t name;
    int32_t  partition;
    int32_t  order;
    int64_t  offset;
} want_t;

static int cmp_str(gr_str_t x, gr_str_t y)
{
    int32_t xl = x.len > 0 ? x.len : 0, yl = y.len > 0 ? y.len : 0;
    int c = xl && yl ? memcmp(x.ptr, y.ptr, (size_t)(xl < yl ? xl : yl)) : 0;
    return c ? c : (xl > yl) - (xl < yl);
}

static int cmp_want(const void *a, const void *b)
{
    const want_t *x = a, *y = b;
    int c = cmp_str(x->name, y->name);
    if (c)
        return c;
    if (x->partition != y->partition)
        return x->partition < y->partition ? -1 : 1;
    return (x->order > y->order) - (x->order < y->order);
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
    want_t *want = gr_arena_calloc(&req->arena, (size_t)np + 1, sizeof *want);
    if (!op || !want)
        goto oom;
    op->req = req;
    gr_DeleteRecordsResponse_init(&op->rs);
    /* Sorted by topic, partition, then request order: the last offset
     * asked for a partition wins, as in Kafka's map of requests. Sorting
     * keeps a request naming many partitions linear-logarithmic. */
    int32_t k = 0;
    for (int32_t i = 0; i < nt; i++)
        for (int32_t j = 0; j < rq.Topics[i].Partitions_count; j++, k++)
            want[k] = (want_t){rq.Topics[i].Name, rq.Topics[i].Partitions[j].PartitionIndex, k,
                               rq.Topics[i].Partitions[j].Offset};
    qsort(want, (size_t)np, sizeof *want, cmp_want);
    op->rs.Topics = gr_arena_calloc(&req->arena, (size_t)nt + 1, sizeof *op->rs.Topics);
    part_res_t *parts = gr_arena_calloc(&req->arena, (size_t)np + 1, sizeof *parts);
    op->changed = gr_arena_calloc(&req->arena, (size_t)np + 1, sizeof *op->changed);
    if (!op->rs.Topics || !parts || !op->changed)
        goto oom;
    topic_res_t *rt = NULL;
    int32_t np_out = 0;
    for (int32_t i = 0; i < np; i++) {
        if (i + 1 < np && cmp_str(want[i].name, want[i + 1].name) == 0 &&
            want[i].partition == want[i + 1].partition)
            continue; /* a later offset for the same partition follows */
        if (!rt || cmp_str(rt->Name, want[i].name) != 0) {
            if (op->rs.Topics_count == nt)
                goto oom; /* cannot happen: no more topics than in the request */
            rt = &op->rs.Topics[op->rs.Topics_count++];
            rt->Name = want[i].name;
            rt->Partitions = &parts[np_out];
        }
        part_res_t *p = &rt->Partitions[rt->Partitions_count++];
        p->PartitionIndex = want[i].partition;
        p->LowWatermark = want[i].offset; /* the request, until applied */
        np_out++;
    }
    /* Apply, in response order. */
    bool any_changed = false;
    k = 0;
    for (int32_t i = 0; i < op->rs.Topics_count; i++) {
        topic_res_t *tr = &op->rs.Topics[i];
        gr_meta_topic_t *t = tr->Name.len > 0
                                 ? gr_meta_topic_by_name(&b->meta, tr->Name.ptr, (size_t)tr->Name.len)
                                 : NULL;
        for (int32_t j = 0; j < tr->Partitions_count; j++, k++) {
            part_res_t *p = &tr->Partitions[j];
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
    on_checkpointed(op, any_changed ? -1 : 0); /* closing, or out of memory */
    return;
oom:
    gr_req_malformed(req, "out of memory");
}
