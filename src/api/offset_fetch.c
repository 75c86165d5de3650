/* OffsetFetch (key 9), versions 0-9: a group's committed offsets. v0-7
 * ask for one group (Topics null from v2: every committed offset), v8+ for
 * several. A partition without a commit answers offset -1, metadata "" and
 * no error, as Kafka does. RequireStable (v7+) never waits: no
 * transactional offsets are pending here. */
#include "api/dispatch.h"
#include "group/group_service.h"
#include "kafka_msgs.h"
#include "protocol/errors.h"
#include "server/broker.h"

typedef gr_OffsetFetchResponse_OffsetFetchResponseGroup rgroup_t;

static void fetch_group(gr_req_t *req, gr_gcoord_t *c, const gr_OffsetFetchRequest_OffsetFetchRequestGroup *g,
                        bool require_stable, rgroup_t *out)
{
    if (c) {
        gr_gcoord_fetch_offsets(c, g, require_stable, &req->arena, out);
        return;
    }
    memset(out, 0, sizeof *out);
    out->GroupId = g->GroupId;
    out->ErrorCode = GR_KERR_COORDINATOR_NOT_AVAILABLE;
}

void gr_api_offset_fetch(gr_req_t *req)
{
    int16_t v = req->api_version;
    gr_OffsetFetchRequest rq;
    if (gr_OffsetFetchRequest_decode(&req->body, &req->arena, v, &rq) != 0) {
        gr_req_malformed(req, "bad OffsetFetch body");
        return;
    }
    gr_gcoord_t *c = gr_group_coord(req->broker);
    gr_OffsetFetchResponse rs;
    gr_OffsetFetchResponse_init(&rs);
    if (v >= 8) {
        int32_t n = rq.Groups_count > 0 ? rq.Groups_count : 0;
        rs.Groups = gr_arena_calloc(&req->arena, (size_t)n + 1, sizeof *rs.Groups);
        if (!rs.Groups) {
            gr_req_malformed(req, "out of memory");
            return;
        }
        rs.Groups_count = n;
        for (int32_t i = 0; i < n; i++)
            fetch_group(req, c, &rq.Groups[i], rq.RequireStable, &rs.Groups[i]);
        GR_REQ_REPLY(req, OffsetFetchResponse, &rs);
        return;
    }

    /* One group: ask as a v8 group and answer in the old shape. */
    gr_OffsetFetchRequest_OffsetFetchRequestGroup g;
    memset(&g, 0, sizeof g);
    g.GroupId = rq.GroupId;
    g.MemberId = gr_str(NULL);
    g.MemberEpoch = -1;
    g.Topics_count = rq.Topics_count;
    if (rq.Topics_count > 0) {
        g.Topics = gr_arena_calloc(&req->arena, (size_t)rq.Topics_count, sizeof *g.Topics);
        if (!g.Topics) {
            gr_req_malformed(req, "out of memory");
            return;
        }
        for (int32_t i = 0; i < rq.Topics_count; i++) {
            g.Topics[i].Name = rq.Topics[i].Name;
            g.Topics[i].PartitionIndexes = rq.Topics[i].PartitionIndexes;
            g.Topics[i].PartitionIndexes_count = rq.Topics[i].PartitionIndexes_count;
        }
    }
    rgroup_t out;
    fetch_group(req, c, &g, v >= 7 && rq.RequireStable, &out);
    rs.ErrorCode = out.ErrorCode;
    if (out.ErrorCode && v < 2 && rq.Topics_count > 0) {
        /* v0-1 have no group error: every partition carries it. */
        rs.Topics = gr_arena_calloc(&req->arena, (size_t)rq.Topics_count, sizeof *rs.Topics);
        if (!rs.Topics) {
            gr_req_malformed(req, "out of memory");
            return;
        }
        rs.Topics_count = rq.Topics_count;
        for (int32_t i = 0; i < rq.Topics_count; i++) {
            int32_t np = rq.Topics[i].PartitionIndexes_count > 0 ? rq.Topics[i].PartitionIndexes_count : 0;
            rs.Topics[i].Name = rq.Topics[i].Name;
            rs.Topics[i].Partitions = gr_arena_calloc(&req->arena, (size_t)np + 1, sizeof *rs.Topics[i].Partitions);
            if (!rs.Topics[i].Partitions) {
                gr_req_malformed(req, "out of memory");
                return;
            }
            rs.Topics[i].Partitions_count = np;
            for (int32_t j = 0; j < np; j++) {
                gr_OffsetFetchResponse_OffsetFetchResponsePartition *p = &rs.Topics[i].Partitions[j];
                p->PartitionIndex = rq.Topics[i].PartitionIndexes[j];
                p->CommittedOffset = -1;
                p->CommittedLeaderEpoch = -1;
                p->Metadata = gr_str("");
                p->ErrorCode = out.ErrorCode;
            }
        }
        GR_REQ_REPLY(req, OffsetFetchResponse, &rs);
        return;
    }
    rs.Topics = gr_arena_calloc(&req->arena, (size_t)out.Topics_count + 1, sizeof *rs.Topics);
    if (!rs.Topics) {
        gr_req_malformed(req, "out of memory");
        return;
    }
    rs.Topics_count = out.Topics_count;
    for (int32_t i = 0; i < out.Topics_count; i++) {
        gr_OffsetFetchResponse_OffsetFetchResponseTopics *ot = &out.Topics[i];
        gr_OffsetFetchResponse_OffsetFetchResponseTopic *rt = &rs.Topics[i];
        rt->Name = ot->Name;
        rt->Partitions = gr_arena_calloc(&req->arena, (size_t)ot->Partitions_count + 1, sizeof *rt->Partitions);
        if (!rt->Partitions) {
            gr_req_malformed(req, "out of memory");
            return;
        }
        rt->Partitions_count = ot->Partitions_count;
        for (int32_t j = 0; j < ot->Partitions_count; j++) {
            gr_OffsetFetchResponse_OffsetFetchResponsePartitions *op = &ot->Partitions[j];
            gr_OffsetFetchResponse_OffsetFetchResponsePartition *rp = &rt->Partitions[j];
            rp->PartitionIndex = op->PartitionIndex;
            rp->CommittedOffset = op->CommittedOffset;
            rp->CommittedLeaderEpoch = op->CommittedLeaderEpoch;
            rp->Metadata = op->Metadata;
            rp->ErrorCode = op->ErrorCode;
        }
    }
    GR_REQ_REPLY(req, OffsetFetchResponse, &rs);
}
