/* Request header decoding and the dispatch table; see dispatch.h. */
#include "api/dispatch.h"
#include "base/log.h"
#include "kafka_msgs.h"
#include "net/conn.h"

#include <stddef.h>

/* Version ranges: what Apache Kafka 3.9/4.0 accepts for each API, up to
 * the newest stable version in the vendored schemas. */
static const gr_api_row_t rows[] = {
    {GR_API_Produce, 0, 11, gr_api_produce, 0},
    {GR_API_Fetch, 0, 17, gr_api_fetch, 0},
    {GR_API_ListOffsets, 0, 9, gr_api_list_offsets, 0},
    {GR_API_Metadata, 0, 12, gr_api_metadata, 0},
    {GR_API_ApiVersions, 0, 4, gr_api_api_versions, 0},
    {GR_API_CreateTopics, 0, 7, gr_api_create_topics, 0},
    {GR_API_DeleteTopics, 0, 6, gr_api_delete_topics, 0},
    {GR_API_InitProducerId, 0, 5, gr_api_init_producer_id, 0},
    {GR_API_OffsetForLeaderEpoch, 0, 4, gr_api_offset_for_leader_epoch, 0},
    {GR_API_DescribeConfigs, 0, 4, gr_api_describe_configs, 0},
    {GR_API_CreatePartitions, 0, 3, gr_api_create_partitions, 0},
    {GR_API_DescribeCluster, 0, 1, gr_api_describe_cluster, 0},
    /* Retention and live configuration. */
    {GR_API_DeleteRecords, 0, 2, gr_api_delete_records, 0},
    {GR_API_AlterConfigs, 0, 2, gr_api_alter_configs, 0},
    {GR_API_IncrementalAlterConfigs, 0, 1, gr_api_incremental_alter_configs, 0},
    {GR_API_DescribeLogDirs, 1, 4, gr_api_describe_log_dirs, 0},
    /* Groups and committed offsets (src/group/). */
    {GR_API_OffsetCommit, 0, 9, gr_api_offset_commit, 0},
    {GR_API_OffsetFetch, 0, 9, gr_api_offset_fetch, 0},
    {GR_API_FindCoordinator, 0, 6, gr_api_find_coordinator, 0},
    {GR_API_JoinGroup, 0, 9, gr_api_join_group, 0},
    {GR_API_Heartbeat, 0, 4, gr_api_heartbeat, 0},
    {GR_API_LeaveGroup, 0, 5, gr_api_leave_group, 0},
    {GR_API_SyncGroup, 0, 5, gr_api_sync_group, 0},
    {GR_API_DescribeGroups, 0, 5, gr_api_describe_groups, 0},
    {GR_API_ListGroups, 0, 5, gr_api_list_groups, 0},
    {GR_API_DeleteGroups, 0, 2, gr_api_delete_groups, 0},
    {GR_API_OffsetDelete, 0, 0, gr_api_offset_delete, 0},
    /* KIP-848 consumer groups: heartbeat v1 has regular expressions and
     * client-made member ids, describe v1 the members' types. */
    {GR_API_ConsumerGroupHeartbeat, 0, 1, gr_api_consumer_group_heartbeat, 0},
    {GR_API_ConsumerGroupDescribe, 0, 1, gr_api_consumer_group_describe, 0},
};

static const gr_api_row_t *by_key[GR_API_COUNT];
static int sorted_init;
static const gr_api_row_t *sorted[sizeof rows / sizeof rows[0] + 1];

static void table_init(void)
{
    if (sorted_init)
        return;
    int n = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        by_key[rows[i].api_key] = &rows[i];
    for (int k = 0; k < GR_API_COUNT; k++)
        if (by_key[k])
            sorted[n++] = by_key[k];
    sorted[n] = NULL;
    sorted_init = 1;
}

const gr_api_row_t *gr_api_row(int16_t api_key)
{
    table_init();
    if (api_key < 0 || api_key >= GR_API_COUNT)
        return NULL;
    return by_key[api_key];
}

const gr_api_row_t *gr_api_row_at(int i)
{
    table_init();
    return sorted[i];
}

const char *gr_api_name(int16_t api_key)
{
    if (api_key < 0 || api_key >= GR_API_COUNT || !gr_api_schemas[api_key].name)
        return "Unknown";
    return gr_api_schemas[api_key].name;
}

/* Kafka's header version for a request: v2 for flexible versions, else v1
 * (v0 only for ControlledShutdown v0, which we do not serve). */
static int16_t request_header_version(int16_t key, int16_t version)
{
    const gr_api_schema_t *s = &gr_api_schemas[key];
    if (s->flexible_from >= 0 && version >= s->flexible_from)
        return 2;
    return 1;
}

void gr_api_dispatch(gr_req_t *req)
{
    gr_reader_t r;
    gr_reader_init(&r, req->frame, req->frame_len);
    req->api_key = gr_read_i16(&r);
    req->api_version = gr_read_i16(&r);
    req->correlation_id = gr_read_i32(&r);
    const gr_api_row_t *row = gr_api_row(req->api_key);
    if (!row) {
        req->body = r;
        gr_req_malformed(req, "unknown API key");
        return;
    }
    req->header_version = request_header_version(req->api_key, req->api_version);
    gr_RequestHeader hdr;
    gr_reader_init(&r, req->frame, req->frame_len);
    if (gr_RequestHeader_decode(&r, &req->arena, req->header_version, &hdr) != 0) {
        req->body = r;
        gr_req_malformed(req, "bad request header");
        return;
    }
    req->client_id = hdr.ClientId;
    req->body = r;
    /* The body reader starts after the header. */
    gr_reader_init(&req->body, req->frame + r.off, req->frame_len - r.off);
    if (req->api_version < row->min_version || req->api_version > row->max_version) {
        if (req->api_key == GR_API_ApiVersions) {
            /* Answered at v0 with UNSUPPORTED_VERSION and our ranges, so the
             * client can retry at a version we speak. */
            gr_api_api_versions(req);
            return;
        }
        gr_req_malformed(req, "unsupported version");
        return;
    }
    row->handler(req);
}
