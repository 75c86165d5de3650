/* Controller operations; see controller.h. */
#include "cluster/controller.h"
#include "base/err.h"
#include "base/log.h"
#include "kafka_msgs.h"
#include "protocol/errors.h"
#include "server/broker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool gr_ctrl_topic_name_valid(const char *name, size_t len, const char **why)
{
    if (len == 0) {
        *why = "Topic name is illegal, it can't be empty";
        return false;
    }
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.')) {
        *why = "Topic name cannot be \".\" or \"..\"";
        return false;
    }
    if (len > 249) {
        *why = "Topic name is illegal, it can't be longer than 249 characters";
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-')) {
            *why = "Topic name contains a character other than ASCII alphanumerics, '.', '_' "
                   "and '-'";
            return false;
        }
    }
    return true;
}

static void add_partition_record(gr_buf_t *rec, const gr_uuid_t *id, int32_t p, int32_t node)
{
    gr_PartitionRecord pr;
    gr_PartitionRecord_init(&pr);
    pr.PartitionId = p;
    pr.TopicId = *id;
    int32_t replicas[1] = {node};
    pr.Replicas = replicas;
    pr.Replicas_count = 1;
    pr.Isr = replicas;
    pr.Isr_count = 1;
    pr.Leader = node;
    pr.LeaderEpoch = 0;
    pr.PartitionEpoch = 0;
    gr_buf_init(rec);
    gr_meta_frame(rec, GR_MREC_PartitionRecord, 0);
    gr_PartitionRecord_encode(rec, 0, &pr);
}

int16_t gr_ctrl_create_topic(gr_broker_t *b, gr_str_t name, int32_t nparts, int16_t rf,
                             const gr_ctrl_config_t *configs, int nconfigs, bool validate_only,
                             gr_uuid_t *id_out, int32_t *nparts_out, int16_t *rf_out, char *msg,
                             size_t msglen)
{
    const char *why = NULL;
    if (name.len < 0 || !gr_ctrl_topic_name_valid(name.ptr, (size_t)name.len, &why)) {
        snprintf(msg, msglen, "%s", why ? why : "Topic name is null");
        return GR_KERR_INVALID_TOPIC_EXCEPTION;
    }
    if (gr_meta_topic_by_name(&b->meta, name.ptr, (size_t)name.len)) {
        snprintf(msg, msglen, "Topic '%.*s' already exists.", (int)name.len, name.ptr);
        return GR_KERR_TOPIC_ALREADY_EXISTS;
    }
    if (nparts == -1)
        nparts = b->cfg->num_partitions;
    if (rf == -1)
        rf = (int16_t)b->cfg->default_replication_factor;
    if (nparts <= 0) {
        snprintf(msg, msglen, "Number of partitions was set to an invalid non-positive value.");
        return GR_KERR_INVALID_PARTITIONS;
    }
    if (nparts > 100000) {
        snprintf(msg, msglen, "Number of partitions %d is larger than this broker allows.", nparts);
        return GR_KERR_INVALID_PARTITIONS;
    }
    if (rf <= 0) {
        snprintf(msg, msglen, "Replication factor must be larger than 0, or -1 to use the default value.");
        return GR_KERR_INVALID_REPLICATION_FACTOR;
    }
    int nbrokers = b->meta.nbrokers > 0 ? b->meta.nbrokers : 1;
    if (rf > nbrokers) {
        snprintf(msg, msglen,
                 "Unable to replicate the partition %d time(s): The target replication factor of "
                 "%d cannot be reached because only %d broker(s) are registered.",
                 rf, rf, nbrokers);
        return GR_KERR_INVALID_REPLICATION_FACTOR;
    }
    for (int i = 0; i < nconfigs; i++) {
        char key[256], val[4096];
        if (configs[i].name.len < 0 || configs[i].name.len >= (int)sizeof key ||
            configs[i].value.len >= (int)sizeof val) {
            snprintf(msg, msglen, "Invalid config name or value.");
            return GR_KERR_INVALID_CONFIG;
        }
        snprintf(key, sizeof key, "%.*s", (int)configs[i].name.len, configs[i].name.ptr);
        if (configs[i].value.len < 0) {
            snprintf(msg, msglen, "Null value not supported for topic configs: %s", key);
            return GR_KERR_INVALID_CONFIG;
        }
        snprintf(val, sizeof val, "%.*s", (int)configs[i].value.len, configs[i].value.ptr);
        char err[512];
        if (gr_topic_config_validate(key, val, err, sizeof err) != 0) {
            snprintf(msg, msglen, "%s", err);
            return GR_KERR_INVALID_CONFIG;
        }
    }
    *nparts_out = nparts;
    *rf_out = rf;
    if (validate_only)
        return GR_KERR_NONE;

    gr_uuid_t id;
    do {
        gr_uuid_random(&id);
    } while (gr_meta_topic_by_id(&b->meta, &id));
    int n = 1 + nparts + nconfigs;
    gr_buf_t *recs = calloc((size_t)n, sizeof *recs);
    if (!recs)
        return GR_KERR_UNKNOWN_SERVER_ERROR;
    gr_TopicRecord tr;
    gr_TopicRecord_init(&tr);
    tr.Name = name;
    tr.TopicId = id;
    gr_buf_init(&recs[0]);
    gr_meta_frame(&recs[0], GR_MREC_TopicRecord, 0);
    gr_TopicRecord_encode(&recs[0], 0, &tr);
    /* Configs before partitions, so a partition's log opens with them. */
    for (int32_t p = 0; p < nparts; p++)
        add_partition_record(&recs[1 + nconfigs + p], &id, p, b->node_id);
    for (int i = 0; i < nconfigs; i++) {
        gr_ConfigRecord cr;
        gr_ConfigRecord_init(&cr);
        cr.ResourceType = 2;
        cr.ResourceName = name;
        cr.Name = configs[i].name;
        cr.Value = configs[i].value;
        gr_buf_t *r = &recs[1 + i];
        gr_buf_init(r);
        gr_meta_frame(r, GR_MREC_ConfigRecord, 0);
        gr_ConfigRecord_encode(r, 0, &cr);
    }
    int rc = gr_broker_commit_records(b, recs, n);
    for (int i = 0; i < n; i++)
        gr_buf_free(&recs[i]);
    free(recs);
    if (rc != 0) {
        snprintf(msg, msglen, "Could not write the metadata log: %s", gr_strerror(rc));
        return GR_KERR_UNKNOWN_SERVER_ERROR;
    }
    *id_out = id;
    gr_log(GR_LOG_INFO, "controller", "created topic %.*s with %d partition(s)", (int)name.len,
           name.ptr, nparts);
    return GR_KERR_NONE;
}

int16_t gr_ctrl_delete_topic(gr_broker_t *b, const gr_uuid_t *id)
{
    gr_RemoveTopicRecord rr;
    gr_RemoveTopicRecord_init(&rr);
    rr.TopicId = *id;
    gr_buf_t rec;
    gr_buf_init(&rec);
    gr_meta_frame(&rec, GR_MREC_RemoveTopicRecord, 0);
    gr_RemoveTopicRecord_encode(&rec, 0, &rr);
    int rc = gr_broker_commit_records(b, &rec, 1);
    gr_buf_free(&rec);
    return rc ? GR_KERR_UNKNOWN_SERVER_ERROR : GR_KERR_NONE;
}

int16_t gr_ctrl_create_partitions(gr_broker_t *b, gr_str_t name, int32_t count, bool validate_only,
                                  char *msg, size_t msglen)
{
    gr_meta_topic_t *t = name.len >= 0 ? gr_meta_topic_by_name(&b->meta, name.ptr, (size_t)name.len) : NULL;
    if (!t) {
        snprintf(msg, msglen, "The topic '%.*s' does not exist.", name.len > 0 ? (int)name.len : 0,
                 name.len > 0 ? name.ptr : "");
        return GR_KERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    if (count < t->nparts) {
        snprintf(msg, msglen, "The topic %s currently has %d partition(s); %d would not be an increase.",
                 t->name, t->nparts, count);
        return GR_KERR_INVALID_PARTITIONS;
    }
    if (count == t->nparts) {
        snprintf(msg, msglen, "Topic already has %d partition(s).", t->nparts);
        return GR_KERR_INVALID_PARTITIONS;
    }
    if (count > 100000) {
        snprintf(msg, msglen, "Number of partitions %d is larger than this broker allows.", count);
        return GR_KERR_INVALID_PARTITIONS;
    }
    if (validate_only)
        return GR_KERR_NONE;
    int n = count - t->nparts;
    gr_buf_t *recs = calloc((size_t)n, sizeof *recs);
    if (!recs)
        return GR_KERR_UNKNOWN_SERVER_ERROR;
    gr_uuid_t id = t->id;
    for (int i = 0; i < n; i++)
        add_partition_record(&recs[i], &id, t->nparts + i, b->node_id);
    int rc = gr_broker_commit_records(b, recs, n);
    for (int i = 0; i < n; i++)
        gr_buf_free(&recs[i]);
    free(recs);
    return rc ? GR_KERR_UNKNOWN_SERVER_ERROR : GR_KERR_NONE;
}

int gr_ctrl_reserve_producer_ids(void *arg, int64_t block_start, int64_t next_block_start)
{
    gr_broker_t *b = arg;
    (void)block_start;
    gr_ProducerIdsRecord pr;
    gr_ProducerIdsRecord_init(&pr);
    pr.BrokerId = b->node_id;
    pr.BrokerEpoch = 0;
    pr.NextProducerId = next_block_start;
    gr_buf_t rec;
    gr_buf_init(&rec);
    gr_meta_frame(&rec, GR_MREC_ProducerIdsRecord, 0);
    gr_ProducerIdsRecord_encode(&rec, 0, &pr);
    int rc = gr_broker_commit_records(b, &rec, 1);
    gr_buf_free(&rec);
    return rc;
}
