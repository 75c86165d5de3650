/* OffsetDelete (key 47), version 0: deletes a group's committed offsets
 * of some partitions. Refused for a group with members unless it is a
 * consumer group, and per topic while the group subscribes to it
 * (GROUP_SUBSCRIBED_TO_TOPIC, from the members' consumer-protocol
 * subscriptions). */
#include "api/dispatch.h"
#include "group/group_service.h"
#include "kafka_msgs.h"
#include "protocol/errors.h"
#include "server/broker.h"

void gr_api_offset_delete(gr_req_t *req)
{
    gr_broker_t *b = req->broker;
    gr_OffsetDeleteRequest rq;
    if (gr_OffsetDeleteRequest_decode(&req->body, &req->arena, req->api_version, &rq) != 0) {
        gr_req_malformed(req, "bad OffsetDelete body");
        return;
    }
    gr_OffsetDeleteResponse rs;
    gr_OffsetDeleteResponse_init(&rs);
    gr_gcoord_t *c = gr_group_coord(b);
    if (!c) {
        rs.ErrorCode = GR_KERR_COORDINATOR_NOT_AVAILABLE;
        GR_REQ_REPLY(req, OffsetDeleteResponse, &rs);
        return;
    }
    int32_t nt = rq.Topics_count > 0 ? rq.Topics_count : 0, total = 0;
    for (int32_t i = 0; i < nt; i++)
        total += rq.Topics[i].Partitions_count > 0 ? rq.Topics[i].Partitions_count : 0;
    rs.Topics = gr_arena_calloc(&req->arena, (size_t)nt + 1, sizeof *rs.Topics);
    gr_gdelete_part_t *parts = gr_arena_calloc(&req->arena, (size_t)total + 1, sizeof *parts);
    if (!rs.Topics || !parts) {
        gr_req_malformed(req, "out of memory");
        return;
    }
    int n = 0;
    for (int32_t i = 0; i < nt; i++) {
        gr_OffsetDeleteRequest_OffsetDeleteRequestTopic *qt = &rq.Topics[i];
        gr_OffsetDeleteResponse_OffsetDeleteResponseTopic *rt = &rs.Topics[i];
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
            int32_t pi = qt->Partitions[j].PartitionIndex;
            rt->Partitions[j].PartitionIndex = pi;
            if (!t || pi < 0 || pi >= t->nparts) {
                rt->Partitions[j].ErrorCode = GR_KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            parts[n].topic = qt->Name;
            parts[n].partition = pi;
            parts[n].error = &rt->Partitions[j].ErrorCode;
            n++;
        }
    }
    rs.Topics_count = nt;
    int16_t err = gr_gcoord_delete_offsets(c, rq.GroupId, parts, n);
    if (err) {
        rs.ErrorCode = err;
        rs.Topics_count = 0;
    }
    GR_REQ_REPLY(req, OffsetDeleteResponse, &rs);
}
