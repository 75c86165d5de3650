/* ListOffsets (key 2), versions 0-9: the earliest (-2, and -4 EARLIEST_LOCAL,
 * which equals it without tiered storage), latest (-1: the high watermark,
 * which is also the last stable offset without transactions),
 * max-timestamp (-3) and latest-tiered (-5: none without tiered storage)
 * offsets, or the first offset at or after a timestamp. v0 answers in its
 * old array form. */
#include "api/dispatch.h"
#include "kafka_msgs.h"
#include "log/partition_log.h"
#include "protocol/errors.h"
#include "protocol/records.h"
#include "server/partition.h"

typedef gr_ListOffsetsResponse_ListOffsetsPartitionResponse presp_t;

/* MAX_TIMESTAMP as Kafka answers it (UnifiedLog.fetchOffsetByTimestamp):
 * the segment with the largest timestamp, its first batch carrying it,
 * and in that batch the first record whose timestamp equals the batch's
 * maxTimestamp (RecordBatch.offsetOfMaxTimestamp), with the batch's leader
 * epoch. The log start offset plays no part: after DeleteRecords into the
 * middle of a segment the answer may be a deleted record. No answer (-1)
 * when the log is empty or no record matches. */
static void max_timestamp(gr_part_t *part, presp_t *pr)
{
    int64_t last = -1, t = -1;
    if (gr_plog_max_timestamp(part->log, &last, &t) != 0 || last < 0)
        return;
    gr_buf_t batch, scratch;
    gr_buf_init(&batch);
    gr_buf_init(&scratch);
    gr_record_iter_t it;
    if (gr_plog_read_batch_at(part->log, last, &batch) == 0 &&
        gr_record_iter_init(&it, batch.data, batch.len, &scratch, 0) == 0) {
        gr_record_t r;
        while (gr_record_iter_next(&it, &r) == 1) {
            if (r.timestamp == it.hdr.max_timestamp) {
                pr->Offset = r.offset;
                pr->Timestamp = it.hdr.max_timestamp;
                pr->LeaderEpoch = it.hdr.partition_leader_epoch >= 0 ? it.hdr.partition_leader_epoch : -1;
                break;
            }
        }
    }
    gr_buf_free(&scratch);
    gr_buf_free(&batch);
}

/* The log indexes timestamps per batch; Kafka answers per record. Look
 * inside the batch at offset for the first record at or above the log
 * start offset whose timestamp is at least ts. Leaves the offset and
 * timestamp unchanged when the batch cannot be read. */
static void refine_in_batch(gr_part_t *part, gr_arena_t *arena, int64_t ts, int64_t *off, int64_t *t)
{
    gr_bytes_t data;
    if (gr_part_read(part, *off, 1, true, arena, &data) != 0 || data.len < 61)
        return;
    size_t blen = 12 + (size_t)(int32_t)gr_be32(data.ptr + 8);
    if (blen > (size_t)data.len)
        return;
    gr_buf_t scratch;
    gr_buf_init(&scratch);
    gr_record_iter_t it;
    if (gr_record_iter_init(&it, data.ptr, blen, &scratch, 0) == 0) {
        gr_record_t r;
        int64_t best_off = -1, best_ts = INT64_MIN;
        while (gr_record_iter_next(&it, &r) == 1) {
            if (r.offset >= gr_part_log_start(part) && r.timestamp >= ts) {
                best_off = r.offset;
                best_ts = r.timestamp;
                break;
            }
        }
        if (best_off >= 0) {
            *off = best_off;
            *t = best_ts;
        }
    }
    gr_buf_free(&scratch);
}

static void lookup(gr_part_t *part, gr_arena_t *arena, int16_t v, int64_t ts, presp_t *pr)
{
    pr->Timestamp = -1;
    pr->Offset = -1;
    pr->LeaderEpoch = -1;
    /* The special timestamps exist from the version that introduced them. */
    if ((ts == -3 && v < 7) || (ts == -4 && v < 8) || (ts == -5 && v < 9)) {
        pr->ErrorCode = GR_KERR_UNSUPPORTED_VERSION;
        return;
    }
    if (ts == -5)
        return; /* no tiered storage: nothing is pending upload */
    pr->LeaderEpoch = gr_part_leader_epoch(part);
    switch (ts) {
    case -2: /* earliest */
    case -4: /* earliest local */
        pr->Offset = gr_part_log_start(part);
        return;
    case -1: /* latest */
        pr->Offset = gr_part_hw(part);
        return;
    case -3: /* max timestamp */
        pr->LeaderEpoch = -1;
        max_timestamp(part, pr);
        return;
    default:
        break;
    }
    if (ts < 0) {
        pr->ErrorCode = GR_KERR_INVALID_REQUEST;
        return;
    }
    int64_t off = -1, t = -1;
    if (gr_plog_offset_for_timestamp(part->log, ts, &off, &t) == 0 && off >= 0 && off < gr_part_hw(part)) {
        refine_in_batch(part, arena, ts, &off, &t);
        pr->Offset = off;
        pr->Timestamp = t;
    } else {
        pr->LeaderEpoch = -1;
    }
}

void gr_api_list_offsets(gr_req_t *req)
{
    gr_broker_t *b = req->broker;
    gr_ListOffsetsRequest rq;
    if (gr_ListOffsetsRequest_decode(&req->body, &req->arena, req->api_version, &rq) != 0) {
        gr_req_malformed(req, "bad ListOffsets body");
        return;
    }
    gr_ListOffsetsResponse rs;
    gr_ListOffsetsResponse_init(&rs);
    int32_t nt = rq.Topics_count > 0 ? rq.Topics_count : 0;
    rs.Topics = gr_arena_calloc(&req->arena, (size_t)nt + 1, sizeof *rs.Topics);
    if (!rs.Topics)
        goto oom;
    rs.Topics_count = nt;
    for (int32_t i = 0; i < nt; i++) {
        gr_ListOffsetsRequest_ListOffsetsTopic *qt = &rq.Topics[i];
        gr_ListOffsetsResponse_ListOffsetsTopicResponse *rt = &rs.Topics[i];
        rt->Name = qt->Name;
        int32_t np = qt->Partitions_count > 0 ? qt->Partitions_count : 0;
        rt->Partitions = gr_arena_calloc(&req->arena, (size_t)np + 1, sizeof *rt->Partitions);
        if (!rt->Partitions)
            goto oom;
        rt->Partitions_count = np;
        gr_meta_topic_t *t = qt->Name.len >= 0 ? gr_meta_topic_by_name(&b->meta, qt->Name.ptr, (size_t)qt->Name.len) : NULL;
        for (int32_t j = 0; j < np; j++) {
            gr_ListOffsetsRequest_ListOffsetsPartition *qp = &qt->Partitions[j];
            presp_t *pr = &rt->Partitions[j];
            pr->PartitionIndex = qp->PartitionIndex;
            pr->Timestamp = -1;
            pr->Offset = -1;
            pr->LeaderEpoch = -1;
            gr_part_t *part = t ? gr_broker_part(b, t, qp->PartitionIndex) : NULL;
            if (!part) {
                pr->ErrorCode = GR_KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            pr->ErrorCode = gr_part_check_epoch(part, qp->CurrentLeaderEpoch);
            if (pr->ErrorCode)
                continue;
            lookup(part, &req->arena, req->api_version, qp->Timestamp, pr);
            if (req->api_version == 0 && pr->ErrorCode == 0) {
                pr->OldStyleOffsets = gr_arena_calloc(&req->arena, 1, sizeof(int64_t));
                if (!pr->OldStyleOffsets)
                    goto oom;
                pr->OldStyleOffsets[0] = pr->Offset;
                pr->OldStyleOffsets_count = pr->Offset >= 0 && qp->MaxNumOffsets > 0 ? 1 : 0;
            }
        }
    }
    GR_REQ_REPLY(req, ListOffsetsResponse, &rs);
    return;
oom:
    gr_req_malformed(req, "out of memory");
}
