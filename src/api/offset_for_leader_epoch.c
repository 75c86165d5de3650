/* OffsetForLeaderEpoch (key 23), versions 0-4: for each partition the end
 * offset of the requested leader epoch (the start of the next epoch, or
 * the log end for the current one), from the log's leader-epoch cache.
 * Followers and consumers use it to detect and cut a diverged log. */
#include "api/dispatch.h"
#include "kafka_msgs.h"
#include "log/partition_log.h"
#include "protocol/errors.h"
#include "server/partition.h"

typedef gr_OffsetForLeaderEpochResponse_EpochEndOffset presp_t;

void gr_api_offset_for_leader_epoch(gr_req_t *req)
{
    gr_broker_t *b = req->broker;
    gr_OffsetForLeaderEpochRequest rq;
    if (gr_OffsetForLeaderEpochRequest_decode(&req->body, &req->arena, req->api_version, &rq) != 0) {
        gr_req_malformed(req, "bad OffsetForLeaderEpoch body");
        return;
    }
    gr_OffsetForLeaderEpochResponse rs;
    gr_OffsetForLeaderEpochResponse_init(&rs);
    int32_t nt = rq.Topics_count > 0 ? rq.Topics_count : 0;
    rs.Topics = gr_arena_calloc(&req->arena, (size_t)nt + 1, sizeof *rs.Topics);
    if (!rs.Topics)
        goto oom;
    rs.Topics_count = nt;
    for (int32_t i = 0; i < nt; i++) {
        gr_OffsetForLeaderEpochRequest_OffsetForLeaderTopic *qt = &rq.Topics[i];
        gr_OffsetForLeaderEpochResponse_OffsetForLeaderTopicResult *rt = &rs.Topics[i];
        rt->Topic = qt->Topic;
        int32_t np = qt->Partitions_count > 0 ? qt->Partitions_count : 0;
        rt->Partitions = gr_arena_calloc(&req->arena, (size_t)np + 1, sizeof *rt->Partitions);
        if (!rt->Partitions)
            goto oom;
        rt->Partitions_count = np;
        gr_meta_topic_t *t = qt->Topic.len >= 0 ? gr_meta_topic_by_name(&b->meta, qt->Topic.ptr, (size_t)qt->Topic.len) : NULL;
        for (int32_t j = 0; j < np; j++) {
            gr_OffsetForLeaderEpochRequest_OffsetForLeaderPartition *qp = &qt->Partitions[j];
            presp_t *pr = &rt->Partitions[j];
            pr->Partition = qp->Partition;
            pr->LeaderEpoch = -1;
            pr->EndOffset = -1;
            gr_part_t *part = t ? gr_broker_part(b, t, qp->Partition) : NULL;
            if (!part) {
                pr->ErrorCode = GR_KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            pr->ErrorCode = gr_part_check_epoch(part, qp->CurrentLeaderEpoch);
            if (pr->ErrorCode)
                continue;
            int32_t cur = gr_part_leader_epoch(part);
            int32_t e = -1;
            int64_t end = -1;
            if (qp->LeaderEpoch == cur) {
                e = cur;
                end = gr_part_leo(part);
            } else {
                gr_plog_last_epoch_end_offset(part->log, qp->LeaderEpoch, &e, &end);
            }
            pr->LeaderEpoch = e;
            pr->EndOffset = end;
        }
    }
    GR_REQ_REPLY(req, OffsetForLeaderEpochResponse, &rs);
    return;
oom:
    gr_req_malformed(req, "out of memory");
}
