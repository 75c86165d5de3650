/* Broker start, run and stop; see broker.h.
 *
 * Start order: configuration (done by main) -> log directory (lock,
 * meta.properties) -> metadata log replayed into the image -> this broker's
 * registration -> partitions hosted here opened (with recovery) -> listeners.
 * Stop order on SIGTERM/SIGINT: listeners and connections closed, every log
 * flushed and checkpointed, files closed, exit code 0. */
#include "server/broker.h"
#include "api/describe_configs.h"
#include "api/fetch_session.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "cluster/controller.h"
#include "group/group_service.h"
#include "kafka_msgs.h"
#include "log/log_manager.h"
#include "log/partition_log.h"
#include "protocol/compress.h"
#include "protocol/records.h"
#include "server/partition.h"
#include "txn/producer_state.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define METADATA_TOPIC "__cluster_metadata"
#define TICK_MS 200

/* ---- metadata log ---- */

typedef struct replay_ctx_s {
    gr_broker_t *b;
    int          errors;
} replay_ctx_t;

static int replay_metadata(gr_broker_t *b)
{
    gr_buf_t buf;
    gr_buf_init(&buf);
    int64_t off = gr_plog_start_offset(b->metalog);
    int64_t end = gr_plog_leo(b->metalog);
    int rc = 0;
    while (off < end) {
        gr_buf_reset(&buf);
        rc = gr_plog_read_copy(b->metalog, off, 1 << 20, end, &buf);
        if (rc || buf.len == 0)
            break;
        /* Walk the batches and their records. */
        size_t pos = 0;
        int64_t next = off;
        while (pos + 61 <= buf.len) {
            gr_record_iter_t it;
            int32_t bl = (int32_t)gr_be32(buf.data + pos + 8);
            if (bl < 49 || (size_t)bl + 12 > buf.len - pos)
                break;
            size_t blen = 12 + (size_t)bl;
            int64_t base = (int64_t)gr_be64(buf.data + pos);
            if (gr_record_iter_init(&it, buf.data + pos, blen, NULL, 0) == 0) {
                gr_record_t r;
                while (gr_record_iter_next(&it, &r) == 1) {
                    if (base + r.offset_delta < off)
                        continue;
                    if (r.value.len > 0 && gr_meta_apply(&b->meta, r.value.ptr, (size_t)r.value.len) != 0)
                        gr_log(GR_LOG_WARN, "metadata", "skipping a metadata record at offset %lld that does not parse",
                               (long long)(base + r.offset_delta));
                    b->meta.applied_offset = base + r.offset_delta;
                }
            }
            next = base + (int64_t)(int32_t)gr_be32(buf.data + pos + 23) + 1;
            pos += blen;
        }
        if (next <= off)
            break;
        off = next;
    }
    gr_buf_free(&buf);
    return rc == GR_ERANGE ? 0 : rc;
}

static void meta_flush_start(gr_broker_t *b);
static void broker_stop(gr_broker_t *b);

static void meta_flush_done(void *arg, int status)
{
    gr_broker_t *b = arg;
    int64_t upto = b->meta_flush_upto;
    b->meta_flushing = false;
    if (status != 0) {
        if (b->stopping)
            return;
        /* The metadata log cannot be trusted any more: stop, as Kafka halts
         * on a metadata log failure. Replies waiting for it never go out. */
        gr_log(GR_LOG_ERROR, "metadata", "cannot flush the metadata log: %s; shutting down",
               gr_strerror(status));
        b->exit_code = 1;
        broker_stop(b);
        return;
    }
    if (upto > b->meta_durable)
        b->meta_durable = upto;
    if (gr_plog_leo(b->metalog) > b->meta_durable)
        meta_flush_start(b);
    if (b->meta_held) {
        b->meta_held = false;
        for (gr_conn_t *c = b->conns, *next; c; c = next) {
            next = c->next;
            gr_conn_request_done(c);
        }
    }
}

static void meta_flush_start(gr_broker_t *b)
{
    if (b->meta_flushing)
        return;
    int64_t upto = gr_plog_leo(b->metalog);
    b->meta_flush_upto = upto;
    int rc = gr_logmgr_flush_async(b->logs, b->metalog, upto, meta_flush_done, b);
    if (rc != 0) {
        meta_flush_done(b, rc);
        return;
    }
    b->meta_flushing = true;
}

int gr_broker_commit_records(gr_broker_t *b, gr_buf_t *recs, int n)
{
    gr_batch_builder_t bb;
    gr_batch_builder_init(&bb, GR_CODEC_NONE);
    int64_t now = gr_clock_wall_ms();
    for (int i = 0; i < n; i++) {
        gr_bytes_t value = {recs[i].data, (int32_t)recs[i].len};
        gr_bytes_t nokey = {NULL, -1};
        gr_batch_builder_add(&bb, now, nokey, value, NULL, 0);
    }
    gr_buf_t batch;
    gr_buf_init(&batch);
    int rc = gr_batch_builder_finish(&bb, &batch);
    gr_batch_builder_free(&bb);
    int64_t base = 0, last = 0;
    if (rc == 0)
        rc = gr_plog_append(b->metalog, batch.data, batch.len, 0, &base, &last);
    gr_buf_free(&batch);
    if (rc == 0 && !b->meta_async) {
        rc = gr_plog_flush(b->metalog, last + 1);
        if (rc == 0)
            b->meta_durable = last + 1;
    }
    if (rc != 0) {
        gr_log(GR_LOG_ERROR, "metadata", "cannot write the metadata log: %s", gr_strerror(rc));
        return rc;
    }
    gr_plog_set_hw(b->metalog, last + 1);
    for (int i = 0; i < n; i++) {
        if (gr_meta_apply(&b->meta, recs[i].data, recs[i].len) != 0)
            gr_log(GR_LOG_ERROR, "metadata", "a record just written does not apply");
        b->meta.applied_offset = base + i;
    }
    if (b->meta_async)
        meta_flush_start(b);
    return 0;
}

/* ---- hosted partitions ---- */

static void part_close(gr_part_t *part, bool delete_files)
{
    if (!part)
        return;
    while (part->waiters) {
        gr_fetch_waiter_t *w = part->waiters;
        gr_part_remove_waiter(w);
        w->final = true;
        w->cb(w);
    }
    if (part->log && delete_files)
        gr_logmgr_delete(part->broker->logs, part->topic->name, part->id);
    if (part->pstate)
        gr_pstate_free(part->pstate);
    if (part->tc_valid)
        gr_topic_config_free(&part->tc);
    free(part);
}

static void pstate_replay_cb(void *arg, const uint8_t *hdr, int fd, int64_t pos)
{
    (void)fd;
    (void)pos;
    gr_pstate_t *ps = arg;
    gr_log_batch_hdr_t h;
    gr_log_batch_hdr_parse(hdr, &h);
    if (h.producer_id < 0)
        return;
    gr_pstate_replay_batch(ps, h.producer_id, h.producer_epoch, h.base_sequence,
                           h.base_sequence < 0 ? -1 : h.base_sequence + h.last_offset_delta,
                           h.base_offset, h.base_offset + h.last_offset_delta, h.max_ts);
}

/* The partition log's settings from the topic's effective configuration. */
static void plog_config_for(gr_broker_t *b, const gr_meta_config_t *overrides, gr_plog_config_t *pc)
{
    gr_plog_config_default(pc);
    gr_topic_config_t tc;
    if (gr_api_topic_config_build(b, overrides, NULL, 0, &tc) != 0)
        return;
    pc->segment_bytes = tc.segment_bytes;
    pc->segment_ms = tc.segment_ms;
    pc->index_interval_bytes = tc.index_interval_bytes;
    pc->max_index_bytes = tc.segment_index_bytes;
    pc->flush_interval_messages = tc.flush_messages;
    pc->flush_interval_ms = tc.flush_ms;
    pc->retention_ms = tc.retention_ms < 0 ? -1 : tc.retention_ms;
    pc->retention_bytes = tc.retention_bytes;
    pc->cleanup_delete = tc.cleanup_delete;
    pc->file_delete_delay_ms = tc.file_delete_delay_ms;
    gr_topic_config_free(&tc);
}

static int open_log(gr_broker_t *b, const char *topic, int32_t p, const uint8_t id[16],
                    const gr_meta_config_t *overrides, gr_plog_t **out)
{
    gr_plog_config_t pc;
    plog_config_for(b, overrides, &pc);
    if (strcmp(topic, METADATA_TOPIC) == 0) {
        /* The cluster's history: no retention (snapshots will come first). */
        pc.retention_ms = -1;
        pc.retention_bytes = -1;
        pc.cleanup_delete = false;
    }
    *out = gr_logmgr_get(b->logs, topic, p);
    if (*out) {
        /* Opened at start with the defaults: apply the topic's settings. */
        gr_plog_set_config(*out, &pc);
        return 0;
    }
    static const uint8_t zero[16];
    int rc = gr_logmgr_create(b->logs, topic, p, id ? id : zero, &pc, out);
    return rc == GR_EEXIST ? 0 : rc;
}

/* Registers the partition with the log cleaner when its cleanup.policy
 * has compact (also "compact,delete"), with its topic's settings, and
 * unregisters it otherwise. */
static void set_compaction(gr_broker_t *b, gr_part_t *part)
{
    const gr_topic_config_t *tc = gr_part_config(part);
    if (!tc || !part->log)
        return;
    if (!tc->cleanup_compact) {
        gr_logmgr_set_compaction(b->logs, part->log, NULL);
        return;
    }
    gr_cleaner_log_config_t lc = {
        .min_cleanable_dirty_ratio = tc->min_cleanable_dirty_ratio,
        .min_compaction_lag_ms = tc->min_compaction_lag_ms,
        .max_compaction_lag_ms = tc->max_compaction_lag_ms,
        .delete_retention_ms = tc->delete_retention_ms,
    };
    if (gr_logmgr_set_compaction(b->logs, part->log, &lc) != 0)
        gr_log(GR_LOG_ERROR, "broker", "%s-%d: cannot register with the log cleaner",
               part->topic->name, part->id);
}

static gr_part_t *host_partition(gr_broker_t *b, gr_meta_topic_t *t, int32_t p)
{
    gr_meta_partition_t *mp = gr_meta_partition(t, p);
    if (!mp)
        return NULL;
    if (mp->local)
        return mp->local;
    gr_part_t *part = calloc(1, sizeof *part);
    if (!part)
        return NULL;
    part->broker = b;
    part->topic = t;
    part->id = p;
    int rc = open_log(b, t->name, p, t->id.b, t->configs, &part->log);
    if (rc != 0) {
        gr_log(GR_LOG_ERROR, "broker", "cannot open the log of %s-%d: %s", t->name, p, gr_strerror(rc));
        free(part);
        return NULL;
    }
    part->pstate = gr_pstate_new();
    if (part->pstate) {
        /* Producer state: newest snapshot, then the log after it. */
        int64_t snap = -1;
        const char *dir = gr_plog_dir(part->log);
        if (gr_pstate_snapshot_load(part->pstate, dir, gr_plog_leo(part->log), &snap) != 0)
            snap = -1;
        gr_plog_scan(part->log, snap < 0 ? gr_plog_start_offset(part->log) : snap, pstate_replay_cb,
                     part->pstate);
    }
    /* A single node is leader of everything it hosts: what is in the log is
     * committed. */
    gr_plog_set_hw(part->log, gr_plog_leo(part->log));
    mp->local = part;
    set_compaction(b, part);
    return part;
}

gr_part_t *gr_broker_part(gr_broker_t *b, gr_meta_topic_t *t, int32_t partition)
{
    gr_meta_partition_t *mp = gr_meta_partition(t, partition);
    if (!mp)
        return NULL;
    if (mp->local)
        return mp->local;
    if (mp->leader != b->node_id)
        return NULL;
    return host_partition(b, t, partition);
}

static bool replaying;

/* Every hosted partition of t (all topics when t is NULL) takes its
 * configuration again: the cached topic config is dropped and the log's
 * settings (segments, flush, retention) recomputed. */
static void refresh_part_configs(gr_broker_t *b, gr_meta_topic_t *only)
{
    for (gr_meta_topic_t *t = only ? only : b->meta.topics; t; t = only ? NULL : t->next)
        for (int32_t i = 0; i < t->nparts; i++) {
            gr_part_t *part = t->parts[i].local;
            if (!part)
                continue;
            if (part->tc_valid) {
                gr_topic_config_free(&part->tc);
                part->tc_valid = false;
            }
            if (part->log) {
                gr_plog_config_t pc;
                plog_config_for(b, t->configs, &pc);
                gr_plog_set_config(part->log, &pc);
                set_compaction(b, part);
            }
        }
}

/* The log cleaner's settings from the broker configuration. */
static void cleaner_config_for(const gr_config_t *cfg, gr_cleaner_config_t *cc)
{
    gr_cleaner_config_default(cc);
    cc->threads = cfg->log_cleaner_threads;
    cc->backoff_ms = cfg->log_cleaner_backoff_ms;
    cc->dedupe_buffer_size = cfg->log_cleaner_dedupe_buffer_size;
    cc->io_buffer_size = cfg->log_cleaner_io_buffer_size;
    cc->io_buffer_load_factor = cfg->log_cleaner_io_buffer_load_factor;
    cc->io_max_bytes_per_second = cfg->log_cleaner_io_max_bytes_per_second;
    cc->producer_id_expiration_ms = cfg->producer_id_expiration_ms;
}

/* A dynamic broker config from the metadata log, into the live config. */
static void apply_broker_config(gr_broker_t *b, const char *resource, const char *name,
                                const char *value)
{
    char id[16], err[256];
    snprintf(id, sizeof id, "%d", b->node_id);
    gr_config_source_t src;
    if (!resource || !*resource)
        src = GR_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER;
    else if (strcmp(resource, id) == 0)
        src = GR_CONFIG_SOURCE_DYNAMIC_BROKER;
    else
        return;
    if (gr_config_set(b->cfg, name, value, src, err, sizeof err) != 0)
        gr_log(GR_LOG_WARN, "config", "ignoring dynamic config %s: %s", name, err);
}

static void apply_all_broker_configs(gr_broker_t *b)
{
    for (gr_meta_config_t *c = b->meta.broker_configs; c; c = c->next)
        apply_broker_config(b, c->resource, c->name, c->value);
}

static void on_meta_change(void *arg, int kind, gr_meta_topic_t *t, int32_t p)
{
    gr_broker_t *b = arg;
    if (replaying)
        return;
    if (kind == GR_MREC_PartitionRecord && t) {
        host_partition(b, t, p);
    } else if (kind == GR_MREC_ConfigRecord && !t && b->meta.changed_name) {
        apply_broker_config(b, b->meta.changed_resource, b->meta.changed_name, b->meta.changed_value);
        /* log.cleaner.* take effect as in Kafka: the cleaner restarts. */
        if (strncmp(b->meta.changed_name, "log.cleaner.", 12) == 0 ||
            strcmp(b->meta.changed_name, "producer.id.expiration.ms") == 0) {
            gr_cleaner_config_t cc;
            cleaner_config_for(b->cfg, &cc);
            if (gr_logmgr_reconfigure_cleaner(b->logs, &cc) != 0)
                gr_log(GR_LOG_WARN, "config", "the log cleaner keeps its settings: %s is invalid",
                       b->meta.changed_name);
        }
        /* Topics take their defaults from the broker (log.retention.ms for
         * retention.ms, ...): every hosted partition follows at once. */
        refresh_part_configs(b, NULL);
    } else if (kind == GR_MREC_ConfigRecord && t) {
        refresh_part_configs(b, t);
    } else if (kind == GR_MREC_RemoveTopicRecord && t) {
        gr_group_service_topic_deleted(b, t->name); /* groups' offsets for it */
        for (int32_t i = 0; i < t->nparts; i++) {
            part_close(t->parts[i].local, true);
            t->parts[i].local = NULL;
        }
    }
}

/* ---- listeners ---- */

/* Parses "NAME://host:port,..." and starts each listener. */
static int start_listeners(gr_broker_t *b)
{
    const char *spec = gr_config_get_str(b->cfg, "listeners");
    const char *ctl = gr_config_get_str(b->cfg, "controller.listener.names");
    char *copy = strdup(spec ? spec : "PLAINTEXT://127.0.0.1:9092");
    if (!copy)
        return GR_ENOMEM;
    int rc = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        char *sep = strstr(tok, "://");
        if (!sep) {
            gr_log(GR_LOG_ERROR, "broker", "listeners: '%s' is not NAME://HOST:PORT", tok);
            rc = GR_EINVAL;
            break;
        }
        *sep = 0;
        const char *name = tok;
        char *hostport = sep + 3;
        char *colon = strrchr(hostport, ':');
        if (!colon) {
            gr_log(GR_LOG_ERROR, "broker", "listeners: '%s' has no port", hostport);
            rc = GR_EINVAL;
            break;
        }
        *colon = 0;
        int port = atoi(colon + 1);
        char *host = hostport;
        if (host[0] == '[') { /* [::1] */
            host++;
            char *e = strchr(host, ']');
            if (e)
                *e = 0;
        }
        if (ctl && *ctl && strstr(ctl, name))
            continue; /* the controller listener: the quorum is in-process today */
        if (b->nlisteners >= GR_MAX_LISTENERS) {
            gr_log(GR_LOG_ERROR, "broker", "listeners: at most %d are supported", GR_MAX_LISTENERS);
            rc = GR_EINVAL;
            break;
        }
        gr_listener_t *l = &b->listeners[b->nlisteners];
        snprintf(l->name, sizeof l->name, "%s", name);
        rc = gr_listener_start(b, l, host, port);
        if (rc) {
            fprintf(stderr, "gregor: cannot listen on %s:%d: %s\n", host, port,
                    rc == UV_EADDRINUSE ? "address already in use (is another broker running?)"
                                        : uv_strerror(rc));
            break;
        }
        b->nlisteners++;
        if (b->nlisteners == 1) {
            snprintf(b->adv_host, sizeof b->adv_host, "%s",
                     *host && strcmp(host, "0.0.0.0") && strcmp(host, "::") ? host : "localhost");
            b->adv_port = l->port;
        }
        gr_log(GR_LOG_INFO, "broker", "listening on %s://%s:%d", name, host, l->port);
    }
    free(copy);
    if (rc == 0 && b->nlisteners == 0) {
        gr_log(GR_LOG_ERROR, "broker", "no client listener configured");
        rc = GR_EINVAL;
    }
    /* advertised.listeners overrides what clients are told. */
    const char *adv = gr_config_get_str(b->cfg, "advertised.listeners");
    if (rc == 0 && adv && *adv) {
        const char *sep = strstr(adv, "://");
        if (sep) {
            char hp[300];
            snprintf(hp, sizeof hp, "%s", sep + 3);
            char *comma = strchr(hp, ',');
            if (comma)
                *comma = 0;
            char *colon = strrchr(hp, ':');
            if (colon) {
                *colon = 0;
                snprintf(b->adv_host, sizeof b->adv_host, "%.255s", hp);
                b->adv_port = atoi(colon + 1);
            }
        }
    }
    return rc;
}

/* The records a new cluster starts with, as Kafka's storage format writes
 * them: the cluster-wide default of min.insync.replicas. */
static int bootstrap_records(gr_broker_t *b)
{
    gr_ConfigRecord cr;
    gr_ConfigRecord_init(&cr);
    cr.ResourceType = 4;
    cr.ResourceName = gr_str("");
    cr.Name = gr_str("min.insync.replicas");
    char v[16];
    snprintf(v, sizeof v, "%d", b->cfg->min_insync_replicas);
    cr.Value = gr_str(v);
    gr_buf_t rec;
    gr_buf_init(&rec);
    gr_meta_frame(&rec, GR_MREC_ConfigRecord, 0);
    gr_ConfigRecord_encode(&rec, 0, &cr);
    int rc = gr_broker_commit_records(b, &rec, 1);
    gr_buf_free(&rec);
    return rc;
}

/* Record this broker's endpoint in the metadata log when it changed. */
static int register_self(gr_broker_t *b)
{
    for (int i = 0; i < b->meta.nbrokers; i++) {
        gr_meta_broker_t *mb = &b->meta.brokers[i];
        if (mb->id == b->node_id && strcmp(mb->host, b->adv_host) == 0 && mb->port == b->adv_port)
            return 0;
    }
    gr_RegisterBrokerRecord r;
    gr_RegisterBrokerRecord_init(&r);
    r.BrokerId = b->node_id;
    r.BrokerEpoch = gr_clock_wall_ms();
    gr_RegisterBrokerRecord_BrokerEndpoint ep;
    memset(&ep, 0, sizeof ep);
    ep.Name = gr_str(b->listeners[0].name);
    ep.Host = gr_str(b->adv_host);
    ep.Port = (uint16_t)b->adv_port;
    ep.SecurityProtocol = 0;
    r.EndPoints = &ep;
    r.EndPoints_count = 1;
    r.Rack = gr_str(NULL);
    gr_buf_t rec;
    gr_buf_init(&rec);
    gr_meta_frame(&rec, GR_MREC_RegisterBrokerRecord, 0);
    gr_RegisterBrokerRecord_encode(&rec, 0, &r);
    int rc = gr_broker_commit_records(b, &rec, 1);
    gr_buf_free(&rec);
    return rc;
}

/* Partition directories of topics that no longer exist (deleted while this
 * broker was down) are removed. */
typedef struct orphan_s {
    char    topic[256];
    int32_t partition;
} orphan_t;

typedef struct orphans_s {
    gr_broker_t *b;
    orphan_t     list[64];
    int          n;
} orphans_t;

static void find_orphan(void *arg, const char *topic, int32_t partition, gr_plog_t *plog)
{
    (void)plog;
    orphans_t *o = arg;
    if (strcmp(topic, METADATA_TOPIC) == 0 || o->n >= 64)
        return;
    gr_meta_topic_t *t = gr_meta_topic_by_name(&o->b->meta, topic, strlen(topic));
    if (t && partition < t->nparts)
        return;
    snprintf(o->list[o->n].topic, sizeof o->list[o->n].topic, "%s", topic);
    o->list[o->n].partition = partition;
    o->n++;
}

static void remove_orphans(gr_broker_t *b)
{
    orphans_t *o = calloc(1, sizeof *o);
    if (!o)
        return;
    o->b = b;
    gr_logmgr_foreach(b->logs, find_orphan, o);
    for (int i = 0; i < o->n; i++) {
        gr_log(GR_LOG_INFO, "broker", "removing the log of %s-%d: its topic was deleted",
               o->list[i].topic, o->list[i].partition);
        gr_logmgr_delete(b->logs, o->list[i].topic, o->list[i].partition);
    }
    free(o);
}

/* ---- timers, signals, stop ---- */

static void on_tick(uv_timer_t *t)
{
    gr_broker_t *b = t->data;
    int64_t now = gr_clock_mono_ms();
    gr_conn_sweep_idle(b, now, b->cfg->connections_max_idle_ms);
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void broker_stop(gr_broker_t *b)
{
    if (b->stopping)
        return;
    b->stopping = true;
    gr_log(GR_LOG_INFO, "broker", "shutting down");
    for (int i = 0; i < b->nlisteners; i++)
        gr_listener_stop(&b->listeners[i]);
    /* Wake long polls so they answer now, then drop the connections. */
    for (gr_meta_topic_t *t = b->meta.topics; t; t = t->next)
        for (int32_t i = 0; i < t->nparts; i++) {
            gr_part_t *part = t->parts[i].local;
            while (part && part->waiters) {
                gr_fetch_waiter_t *w = part->waiters;
                gr_part_remove_waiter(w);
                w->final = true;
                w->cb(w);
            }
        }
    while (b->conns)
        gr_conn_close(b->conns);
    /* Group coordinator: parked JoinGroup/SyncGroup answered, timer off. */
    gr_group_service_stop(b);
    uv_timer_stop(&b->tick);
    uv_signal_stop(&b->sigterm);
    uv_signal_stop(&b->sigint);
    uv_stop(b->loop);
}

static void on_signal(uv_signal_t *s, int signum)
{
    gr_broker_t *b = s->data;
    gr_log(GR_LOG_INFO, "broker", "received signal %d", signum);
    broker_stop(b);
}

int gr_broker_run(gr_config_t *cfg)
{
    gr_broker_t *b = calloc(1, sizeof *b);
    if (!b)
        return 1;
    b->cfg = cfg;
    b->loop = uv_default_loop();
    b->node_id = cfg->node_id;
    gr_meta_init(&b->meta);
    b->meta.listener = on_meta_change;
    b->meta.listener_arg = b;
    int exit_code = 1;

    /* Thousands of client connections plus segment files need more than the
     * usual soft limit of 1024 descriptors. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    const char *dirs = cfg->log_dirs;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", dirs && *dirs ? dirs : "./gregor-data");
    char *comma = strchr(dir, ',');
    if (comma) {
        *comma = 0;
        gr_log(GR_LOG_WARN, "broker", "log.dirs: only the first directory (%s) is used", dir);
    }
    gr_logmgr_config_t lc;
    gr_logmgr_config_default(&lc);
    lc.dir = dir;
    lc.node_id = b->node_id;
    plog_config_for(b, NULL, &lc.plog);
    /* Logs found at startup open with these settings until their topic's
     * own are applied (host_partition): no retention until then, so a
     * compacted topic's log is never trimmed by the broker's defaults. */
    lc.plog.retention_ms = -1;
    lc.plog.retention_bytes = -1;
    lc.plog.cleanup_delete = false;
    lc.checkpoint_ms = cfg->log_flush_offset_checkpoint_interval_ms;
    lc.retention_check_ms = cfg->log_retention_check_interval_ms;
    lc.cleaner_enable = cfg->log_cleaner_enable;
    cleaner_config_for(cfg, &lc.cleaner);
    int rc = gr_logmgr_open(&lc, b->loop, &b->logs);
    if (rc != 0) {
        if (rc == -EBUSY)
            fprintf(stderr, "gregor: log directory %s is locked by another process "
                            "(is another broker using it?)\n", dir);
        else
            fprintf(stderr, "gregor: cannot open log directory %s: %s\n", dir, gr_strerror(rc));
        goto out;
    }
    snprintf(b->cluster_id, sizeof b->cluster_id, "%s", gr_logmgr_cluster_id(b->logs));

    rc = open_log(b, METADATA_TOPIC, 0, NULL, NULL, &b->metalog);
    if (rc != 0) {
        fprintf(stderr, "gregor: cannot open the metadata log: %s\n", gr_strerror(rc));
        goto out;
    }
    replaying = true;
    rc = replay_metadata(b);
    replaying = false;
    if (rc != 0) {
        fprintf(stderr, "gregor: cannot read the metadata log: %s\n", gr_strerror(rc));
        goto out;
    }
    gr_plog_set_hw(b->metalog, gr_plog_leo(b->metalog));
    bool new_cluster = gr_plog_leo(b->metalog) == 0;
    apply_all_broker_configs(b);
    /* The cleaner started with the static settings; dynamic ones from the
     * metadata log apply now. */
    for (gr_meta_config_t *c = b->meta.broker_configs; c; c = c->next)
        if (strncmp(c->name, "log.cleaner.", 12) == 0 ||
            strcmp(c->name, "producer.id.expiration.ms") == 0) {
            gr_cleaner_config_t cc;
            cleaner_config_for(b->cfg, &cc);
            gr_logmgr_reconfigure_cleaner(b->logs, &cc);
            break;
        }
    if (new_cluster && bootstrap_records(b) != 0)
        goto out;
    if (b->meta.next_producer_id < 0)
        b->meta.next_producer_id = 0;
    gr_pid_alloc_init(&b->pids, b->meta.next_producer_id, 0, gr_ctrl_reserve_producer_ids, b);

    if (start_listeners(b) != 0)
        goto out;
    if (register_self(b) != 0)
        goto out;
    /* Open (and recover) every partition this broker leads. */
    for (gr_meta_topic_t *t = b->meta.topics; t; t = t->next)
        for (int32_t i = 0; i < t->nparts; i++)
            if (t->parts[i].leader == b->node_id)
                host_partition(b, t, i);
    remove_orphans(b);
    /* The group coordinator loads __consumer_offsets before any request. */
    if (gr_group_service_start(b) != 0) {
        fprintf(stderr, "gregor: cannot start the group coordinator\n");
        goto out;
    }

    uv_signal_init(b->loop, &b->sigterm);
    b->sigterm.data = b;
    uv_signal_start(&b->sigterm, on_signal, SIGTERM);
    uv_signal_init(b->loop, &b->sigint);
    b->sigint.data = b;
    uv_signal_start(&b->sigint, on_signal, SIGINT);
    uv_timer_init(b->loop, &b->tick);
    b->tick.data = b;
    uv_timer_start(&b->tick, on_tick, TICK_MS, TICK_MS);
    signal(SIGPIPE, SIG_IGN);

    gr_log(GR_LOG_INFO, "broker", "node %d of cluster %s ready, data in %s", b->node_id,
           b->cluster_id, dir);
    b->meta_durable = gr_plog_leo(b->metalog);
    b->meta_async = true;
    uv_run(b->loop, UV_RUN_DEFAULT);
    exit_code = b->exit_code;

out:
    /* Flush and checkpoint everything, then close. */
    for (gr_meta_topic_t *t = b->meta.topics; t; t = t->next)
        for (int32_t i = 0; i < t->nparts; i++) {
            gr_part_t *part = t->parts[i].local;
            if (part && part->pstate && part->log)
                gr_pstate_snapshot_write(part->pstate, gr_plog_dir(part->log), gr_plog_leo(part->log));
            part_close(part, false);
            t->parts[i].local = NULL;
        }
    if (b->logs)
        gr_logmgr_close(b->logs);
    gr_fetch_sessions_free(b);
    uv_walk(b->loop, close_walk, NULL);
    uv_run(b->loop, UV_RUN_DEFAULT);
    gr_group_service_free(b); /* after its timer handle has closed */
    uv_loop_close(b->loop);
    gr_meta_free(&b->meta);
    free(b);
    if (exit_code == 0)
        gr_log(GR_LOG_INFO, "broker", "stopped");
    return exit_code;
}
