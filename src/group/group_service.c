/* The group coordinator's place in the broker; see group_service.h. */
#include "group/group_service.h"
#include "group/consumer_group.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "cluster/controller.h"
#include "log/partition_log.h"
#include "protocol/compress.h"
#include "protocol/errors.h"
#include "protocol/records.h"
#include "server/broker.h"
#include "server/partition.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct gr_gsvc_s {
    gr_broker_t *b;
    gr_gcoord_t *coord;
    uv_timer_t   timer;
    bool         timer_open;
} gr_gsvc_t;

/* ---- the coordinator's operations ---- */

static int64_t svc_mono(void *arg)
{
    (void)arg;
    return gr_clock_mono_ms();
}

static int64_t svc_wall(void *arg)
{
    (void)arg;
    return gr_clock_wall_ms();
}

static void on_timer(uv_timer_t *t)
{
    gr_gsvc_t *s = t->data;
    if (s->coord)
        gr_gcoord_run_timers(s->coord);
}

static void svc_arm(void *arg, int64_t deadline)
{
    gr_gsvc_t *s = arg;
    if (!s->timer_open)
        return;
    if (deadline == INT64_MAX) {
        uv_timer_stop(&s->timer);
        return;
    }
    int64_t delay = deadline - gr_clock_mono_ms();
    uv_timer_start(&s->timer, on_timer, delay > 0 ? (uint64_t)delay : 0, 0);
}

static gr_meta_topic_t *offsets_topic(gr_broker_t *b)
{
    return gr_meta_topic_by_name(&b->meta, GR_GROUP_OFFSETS_TOPIC, strlen(GR_GROUP_OFFSETS_TOPIC));
}

static int codec_of(int32_t id)
{
    return id >= GR_CODEC_NONE && id <= GR_CODEC_ZSTD ? id : GR_CODEC_NONE;
}

typedef struct flush_wait_s {
    gr_gcoord_done_fn done;
    void             *arg;
    bool              in_call; /* inside gr_part_flush_async */
    bool              failed_in_call;
} flush_wait_t;

static void on_flushed(void *arg, int err)
{
    flush_wait_t *w = arg;
    if (w->in_call) {
        w->failed_in_call = true;
        return;
    }
    w->done(w->arg, err ? GR_KERR_KAFKA_STORAGE_ERROR : 0);
    free(w);
}

static int16_t svc_append(void *arg, int32_t partition, const gr_bytes_t *keys, const gr_bytes_t *values, int n,
                          gr_gcoord_done_fn done, void *done_arg)
{
    gr_gsvc_t *s = arg;
    gr_broker_t *b = s->b;
    if (b->stopping)
        return GR_KERR_NOT_COORDINATOR;
    gr_meta_topic_t *t = offsets_topic(b);
    if (!t)
        return GR_KERR_UNKNOWN_TOPIC_OR_PARTITION;
    gr_part_t *part = gr_broker_part(b, t, partition);
    if (!part)
        return GR_KERR_NOT_LEADER_OR_FOLLOWER;
    gr_batch_builder_t bb;
    gr_batch_builder_init(&bb, codec_of(b->cfg->offsets_topic_compression_codec));
    int64_t now = gr_clock_wall_ms();
    for (int i = 0; i < n; i++)
        gr_batch_builder_add(&bb, now, keys[i], values[i], NULL, 0);
    gr_buf_t batch;
    gr_buf_init(&batch);
    int rc = gr_batch_builder_finish(&bb, &batch);
    gr_batch_builder_free(&bb);
    if (rc != 0) {
        gr_buf_free(&batch);
        return GR_KERR_UNKNOWN_SERVER_ERROR;
    }
    /* A trusted append (produce version -1): the broker made these bytes. */
    gr_arena_t arena;
    gr_arena_init(&arena, 0);
    gr_part_append_result_t res;
    gr_part_append(part, -1, batch.data, batch.len, &arena, &res);
    gr_arena_free(&arena);
    gr_buf_free(&batch);
    if (res.error)
        return res.error;
    if (!done)
        return 0;
    flush_wait_t *w = calloc(1, sizeof *w);
    if (!w)
        return GR_KERR_UNKNOWN_SERVER_ERROR;
    w->done = done;
    w->arg = done_arg;
    w->in_call = true;
    gr_part_flush_async(part, res.last_offset, on_flushed, w);
    w->in_call = false;
    if (w->failed_in_call) {
        free(w);
        return GR_KERR_KAFKA_STORAGE_ERROR;
    }
    return 0;
}

/* ---- loading __consumer_offsets ---- */

static void load_partition(gr_gsvc_t *s, gr_part_t *part, int32_t p)
{
    gr_gcoord_t *c = s->coord;
    gr_gcoord_load_begin(c, p);
    gr_plog_t *log = part->log;
    int64_t off = gr_plog_start_offset(log);
    int64_t end = gr_plog_leo(log);
    int64_t nrec = 0, bad = 0;
    gr_buf_t buf, scratch;
    gr_buf_init(&buf);
    gr_buf_init(&scratch);
    while (off < end) {
        gr_buf_reset(&buf);
        int rc = gr_plog_read_copy(log, off, (size_t)s->b->cfg->offsets_load_buffer_size, end, &buf);
        if (rc != 0 && rc != GR_ERANGE)
            gr_log(GR_LOG_ERROR, "group", "cannot read %s-%d at offset %lld: %s; groups of this partition "
                   "are loaded only up to there", GR_GROUP_OFFSETS_TOPIC, p, (long long)off, gr_strerror(rc));
        if (rc != 0 || buf.len == 0)
            break;
        size_t pos = 0;
        int64_t next = off;
        while (pos + GR_BATCH_HDR_SIZE <= buf.len) {
            size_t blen;
            if (gr_batch_span(buf.data + pos, buf.len - pos, &blen) != 0)
                break;
            gr_batch_hdr_t h;
            gr_batch_hdr_parse(buf.data + pos, blen, &h);
            gr_record_iter_t it;
            if (!gr_batch_is_control(&h) &&
                gr_record_iter_init(&it, buf.data + pos, blen, &scratch, 0) == 0) {
                gr_record_t r;
                while (gr_record_iter_next(&it, &r) == 1) {
                    if (r.offset < off)
                        continue;
                    nrec++;
                    if (gr_gcoord_replay(c, p, r.key, r.value) != 0)
                        bad++;
                }
            }
            next = gr_batch_last_offset(&h) + 1;
            pos += blen;
        }
        if (next <= off)
            break;
        off = next;
    }
    gr_buf_free(&buf);
    gr_buf_free(&scratch);
    gr_gcoord_load_end(c, p);
    if (nrec > 0)
        gr_log(GR_LOG_INFO, "group", "loaded %s-%d: %lld record(s)%s", GR_GROUP_OFFSETS_TOPIC, p, (long long)nrec,
               bad ? " (some did not parse and were skipped)" : "");
}

/* Loads the hosted partitions of __consumer_offsets not loaded yet. */
static void load_all(gr_gsvc_t *s)
{
    gr_meta_topic_t *t = offsets_topic(s->b);
    if (!t || !s->coord)
        return;
    gr_gcoord_set_partition_count(s->coord, t->nparts);
    for (int32_t p = 0; p < t->nparts; p++) {
        if (gr_gcoord_owns(s->coord, p) || t->parts[p].leader != s->b->node_id)
            continue;
        gr_part_t *part = gr_broker_part(s->b, t, p);
        if (part)
            load_partition(s, part, p);
    }
}

/* ---- start and stop ---- */

int gr_group_service_start(gr_broker_t *b)
{
    gr_gsvc_t *s = calloc(1, sizeof *s);
    if (!s)
        return GR_ENOMEM;
    s->b = b;
    uv_timer_init(b->loop, &s->timer);
    s->timer.data = s;
    s->timer_open = true;
    gr_gcoord_config_t cfg;
    gr_gcoord_config_default(&cfg);
    const gr_config_t *bc = b->cfg;
    cfg.num_partitions = bc->offsets_topic_num_partitions;
    cfg.initial_rebalance_delay_ms = bc->group_initial_rebalance_delay_ms;
    cfg.min_session_timeout_ms = bc->group_min_session_timeout_ms;
    cfg.max_session_timeout_ms = bc->group_max_session_timeout_ms;
    cfg.max_size = bc->group_max_size;
    cfg.offsets_retention_ms = (int64_t)bc->offsets_retention_minutes * 60 * 1000;
    cfg.retention_check_interval_ms = bc->offsets_retention_check_interval_ms;
    cfg.offset_metadata_max_bytes = bc->offset_metadata_max_bytes;
    cfg.consumer_session_timeout_ms = bc->group_consumer_session_timeout_ms;
    cfg.consumer_heartbeat_interval_ms = bc->group_consumer_heartbeat_interval_ms;
    cfg.consumer_max_size = bc->group_consumer_max_size;
    if (bc->group_consumer_assignors && *bc->group_consumer_assignors) {
        const char *l = bc->group_consumer_assignors;
        snprintf(cfg.consumer_assignor, sizeof cfg.consumer_assignor, "%.*s", (int)strcspn(l, ", "), l);
        /* "uniform, range", as Kafka lists them in its error message. */
        size_t n = 0;
        for (; *l && n + 3 < sizeof cfg.consumer_assignors_list; l++) {
            if (*l == ' ')
                continue;
            cfg.consumer_assignors_list[n++] = *l;
            if (*l == ',')
                cfg.consumer_assignors_list[n++] = ' ';
        }
        cfg.consumer_assignors_list[n] = 0;
    }
    int policy = gr_gcoord_migration_policy(bc->group_consumer_migration_policy);
    if (policy >= 0)
        cfg.migration_policy = policy;
    gr_gcoord_ops_t ops = {s, svc_mono, svc_wall, svc_append, svc_arm};
    b->groups = s;
    s->coord = gr_gcoord_new(&cfg, &ops);
    if (!s->coord)
        return GR_ENOMEM;
    gr_gcg_meta_t meta;
    gr_group_meta(b, &meta);
    gr_gcoord_set_meta(s->coord, &meta);
    load_all(s);
    return 0;
}

void gr_group_service_stop(gr_broker_t *b)
{
    gr_gsvc_t *s = b->groups;
    if (!s)
        return;
    if (s->coord)
        gr_gcoord_shutdown(s->coord);
    if (s->timer_open) {
        uv_timer_stop(&s->timer);
        uv_close((uv_handle_t *)&s->timer, NULL);
        s->timer_open = false;
    }
}

void gr_group_service_free(gr_broker_t *b)
{
    gr_gsvc_t *s = b->groups;
    if (!s)
        return;
    s->timer_open = false;
    gr_gcoord_free(s->coord);
    s->coord = NULL;
    /* The timer handle was closed by gr_group_service_stop, or by the
     * broker's final walk over handles, before this runs. */
    free(s);
    b->groups = NULL;
}

void gr_group_service_topic_deleted(gr_broker_t *b, const char *topic)
{
    gr_gcoord_t *c = gr_group_coord(b);
    if (c && strcmp(topic, GR_GROUP_OFFSETS_TOPIC) != 0)
        gr_gcoord_topic_deleted(c, topic);
}

gr_gcoord_t *gr_group_coord(gr_broker_t *b)
{
    gr_gsvc_t *s = b->groups;
    return s && !b->stopping ? s->coord : NULL;
}

/* ---- FindCoordinator ---- */

static int16_t create_offsets_topic(gr_broker_t *b)
{
    const gr_config_t *cfg = b->cfg;
    int nbrokers = b->meta.nbrokers > 0 ? b->meta.nbrokers : 1;
    int16_t rf = cfg->offsets_topic_replication_factor;
    if (rf > nbrokers)
        rf = (int16_t)nbrokers;
    if (rf < 1)
        rf = 1;
    char segment[32];
    snprintf(segment, sizeof segment, "%d", cfg->offsets_topic_segment_bytes);
    gr_ctrl_config_t configs[] = {
        {gr_str("cleanup.policy"), gr_str("compact")},
        {gr_str("compression.type"), gr_str("producer")},
        {gr_str("segment.bytes"), gr_str(segment)},
    };
    gr_uuid_t id;
    int32_t np;
    int16_t rf_out;
    char msg[256];
    int16_t err = gr_ctrl_create_topic(b, gr_str(GR_GROUP_OFFSETS_TOPIC), cfg->offsets_topic_num_partitions, rf,
                                       configs, 3, false, &id, &np, &rf_out, msg, sizeof msg);
    if (err && err != GR_KERR_TOPIC_ALREADY_EXISTS) {
        gr_log(GR_LOG_ERROR, "group", "cannot create %s: %s", GR_GROUP_OFFSETS_TOPIC, msg);
        return err;
    }
    return 0;
}

int16_t gr_group_find_coordinator(gr_broker_t *b, gr_str_t group_id, int32_t *node_id, const char **host,
                                  int32_t *port)
{
    *node_id = -1;
    *host = "";
    *port = -1;
    gr_gsvc_t *s = b->groups;
    if (!s || !s->coord || b->stopping)
        return GR_KERR_COORDINATOR_NOT_AVAILABLE;
    gr_meta_topic_t *t = offsets_topic(b);
    if (!t) {
        /* Kafka answers COORDINATOR_NOT_AVAILABLE while it creates the
         * topic; ours is created at once, so the answer can be given. */
        if (create_offsets_topic(b) != 0)
            return GR_KERR_COORDINATOR_NOT_AVAILABLE;
        t = offsets_topic(b);
        if (!t)
            return GR_KERR_COORDINATOR_NOT_AVAILABLE;
    }
    load_all(s);
    int32_t p = gr_gcoord_partition_for(s->coord, group_id);
    gr_meta_partition_t *mp = gr_meta_partition(t, p);
    if (!mp || mp->leader < 0)
        return GR_KERR_COORDINATOR_NOT_AVAILABLE;
    if (mp->leader == b->node_id) {
        *node_id = b->node_id;
        *host = b->adv_host;
        *port = b->adv_port;
        return 0;
    }
    for (int i = 0; i < b->meta.nbrokers; i++)
        if (b->meta.brokers[i].id == mp->leader) {
            *node_id = mp->leader;
            *host = b->meta.brokers[i].host;
            *port = b->meta.brokers[i].port;
            return 0;
        }
    return GR_KERR_COORDINATOR_NOT_AVAILABLE;
}

void gr_group_client(gr_req_t *req, gr_gclient_t *cl, char *buf, size_t buflen)
{
    cl->api_version = req->api_version;
    cl->client_id = req->client_id.len >= 0 ? req->client_id : gr_str("");
    const char *peer = gr_req_peer(req);
    const char *colon = strrchr(peer, ':');
    int n = colon ? (int)(colon - peer) : (int)strlen(peer);
    snprintf(buf, buflen, "/%.*s", n, peer);
    cl->client_host = buf;
}

static bool meta_topic(void *broker, gr_str_t name, gr_uuid_t *id, int32_t *nparts)
{
    gr_broker_t *b = broker;
    if (name.len <= 0)
        return false;
    gr_meta_topic_t *t = gr_meta_topic_by_name(&b->meta, name.ptr, (size_t)name.len);
    if (!t)
        return false;
    *id = t->id;
    *nparts = t->nparts;
    return true;
}

static void meta_each_topic(void *broker, void (*fn)(void *ctx, const char *name), void *ctx)
{
    gr_broker_t *b = broker;
    for (gr_meta_topic_t *t = b->meta.topics; t; t = t->next)
        if (!t->internal)
            fn(ctx, t->name);
}

/* Every topic change is a record of the metadata log. */
static int64_t meta_version(void *broker)
{
    return ((gr_broker_t *)broker)->meta.applied_offset;
}

void gr_group_meta(gr_broker_t *b, gr_gcg_meta_t *out)
{
    out->arg = b;
    out->topic = meta_topic;
    out->each_topic = meta_each_topic;
    out->version = meta_version;
}
