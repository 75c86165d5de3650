/* OffsetCommit (key 8), versions 0-9: a group's committed offsets, written
 * to __consumer_offsets and answered once they are on disk. Partitions of
 * unknown topics get UNKNOWN_TOPIC_OR_PARTITION here; the coordinator
 * checks the group, generation and member (see group/offsets.c).
 * v9's KIP-848 member epochs are not served: classic groups only. */
#include "api/dispatch.h"
#include "group/group_service.h"
#include "kafka_msgs.h"
#include "protocol/errors.h"
#include "server/broker.h"

typedef struct commit_op_s {
    gr_req_t                *req;
    gr_OffsetCommitResponse  rs;
    gr_gcommit_part_t       *parts;
    int                      nparts;
} commit_op_t;

static void reply(commit_op_t *op)
{
    GR_REQ_REPLY(op->req, OffsetCommitResponse, &op->rs);
}

static void on_durable(void *arg, int16_t err)
{
    commit_op_t *op = arg;
    if (err)
        for (int i = 0; i < op->nparts; i++)
            *op->parts[i].error = err;
    reply(op);
}

void gr_api_offset_commit(gr_req_t *req)
{
    gr_broker_t *b = req->broker;
    int16_t v = req->api_version;
    gr_OffsetCommitRequest rq;
    commit_op_t *op = gr_arena_alloc(&req->arena, sizeof *op);
    if (!op || gr_OffsetCommitRequest_decode(&req->body, &req->arena, v, &rq) != 0) {
        gr_req_malformed(req, "bad OffsetCommit body");
        return;
    }
    op->req = req;
    gr_OffsetCommitResponse_init(&op->rs);
    int32_t nt = rq.Topics_count > 0 ? rq.Topics_count : 0, total = 0;
    for (int32_t i = 0; i < nt; i++)
        total += rq.Topics[i].Partitions_count > 0 ? rq.Topics[i].Partitions_count : 0;
    op->rs.Topics = gr_arena_calloc(&req->arena, (size_t)nt + 1, sizeof *op->rs.Topics);
    op->parts = gr_arena_calloc(&req->arena, (size_t)total + 1, sizeof *op->parts);
    if (!op->rs.Topics || !op->parts) {
        gr_req_malformed(req, "out of memory");
        return;
    }
    op->rs.Topics_count = nt;
    gr_gcoord_t *c = gr_group_coord(b);
    for (int32_t i = 0; i < nt; i++) {
        gr_OffsetCommitRequest_OffsetCommitRequestTopic *qt = &rq.Topics[i];
        gr_OffsetCommitResponse_OffsetCommitResponseTopic *rt = &op->rs.Topics[i];
        int32_t np = qt->Partitions_count > 0 ? qt->Partitions_count : 0;
        rt->Name = qt->Name;
        rt->Partitions = gr_arena_calloc(&req->arena, (size_t)np + 1, sizeof *rt->Partitions);
        if (!rt->Partitions) {
            gr_req_malformed(req, "out of memory");
            return;
        }
        rt->Partitions_count = np;
        gr_meta_topic_t *t = qt->Name.len >= 0 ? gr_meta_topic_by_name(&b->meta, qt->Name.ptr, (size_t)qt->Name.len)
                                               : NULL;
        for (int32_t j = 0; j < np; j++) {
            gr_OffsetCommitRequest_OffsetCommitRequestPartition *qp = &qt->Partitions[j];
            rt->Partitions[j].PartitionIndex = qp->PartitionIndex;
            if (!c) {
                rt->Partitions[j].ErrorCode = GR_KERR_COORDINATOR_NOT_AVAILABLE;
                continue;
            }
            if (!t || qp->PartitionIndex < 0 || qp->PartitionIndex >= t->nparts) {
                rt->Partitions[j].ErrorCode = GR_KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            gr_gcommit_part_t *p = &op->parts[op->nparts++];
            p->topic = qt->Name;
            p->partition = qp->PartitionIndex;
            p->offset = qp->CommittedOffset;
            p->leader_epoch = v >= 6 ? qp->CommittedLeaderEpoch : -1;
            p->metadata = qp->CommittedMetadata;
            p->commit_ts = v == 1 ? qp->CommitTimestamp : -1;
            p->error = &rt->Partitions[j].ErrorCode;
        }
    }
    if (!c) {
        reply(op);
        return;
    }
    gr_gcommit_t gc = {
        .api_version = v,
        .group_id = rq.GroupId,
        .generation = v >= 1 ? rq.GenerationIdOrMemberEpoch : -1,
        .member_id = v >= 1 ? rq.MemberId : gr_str(""),
        .instance_id = v >= 7 ? rq.GroupInstanceId : gr_str(NULL),
        .retention_ms = v >= 2 && v <= 4 ? rq.RetentionTimeMs : -1,
    };
    if (!gr_gcoord_commit(c, &gc, op->parts, op->nparts, on_durable, op))
        reply(op);
}
