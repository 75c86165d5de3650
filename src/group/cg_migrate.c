/* Online migration between classic groups and KIP-848 consumer groups, as
 * Apache Kafka 4.1's GroupMetadataManager does it (its validateOnlineUpgrade,
 * convertToConsumerGroup, consumerGroupFenceMembers,
 * validateOnlineDowngradeWithFencedMembers and convertToClassicGroup), under
 * group.consumer.migration.policy (cfg.migration_policy):
 *
 *   upgrade    A ConsumerGroupHeartbeat that joins a classic group with
 *              members (protocol type "consumer", no more members than
 *              group.consumer.max.size) turns it into a consumer group. Its
 *              members keep their member ids and become classic members of
 *              the consumer group: member epoch = the group's generation,
 *              assigned = target = the partitions of their last SyncGroup
 *              assignment, subscription from their metadata for the chosen
 *              protocol, session timeout and supported protocols kept as the
 *              ClassicMemberMetadata of their member record. The group epoch
 *              and assignment epoch start at the generation. Parked JoinGroup
 *              and SyncGroup requests are answered REBALANCE_IN_PROGRESS: the
 *              members rejoin the consumer group. Refusals are
 *              GROUP_ID_NOT_FOUND with Kafka's messages.
 *   downgrade  When members leave or are fenced (leave, session, rebalance,
 *              join or sync timeout) and only classic members remain (at most
 *              group.max.size), the consumer group becomes a classic group:
 *              generation = the group epoch, members with their supported
 *              protocols, the protocol most of them prefer, each member's
 *              target assignment encoded as a ConsumerProtocolAssignment; it
 *              is Stable and prepares a rebalance at once.
 *
 * Records (written ahead of the request's own, one batch, see gr_cg_flush):
 * an upgrade writes the GroupMetadata tombstone, then the consumer group as
 * Kafka's createConsumerGroupRecords does (every member's metadata, the
 * group epoch, every target assignment, the assignment epoch, every current
 * assignment); a downgrade writes the consumer group's tombstones
 * (gr_cg_tombstones) and the new GroupMetadata record.
 *
 * Event-loop thread only, like the rest of the coordinator. */
#include "base/err.h"
#include "base/log.h"
#include "group/consumer_group_int.h"
#include "group/group_records.h"
#include "protocol/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The newest versions of the embedded consumer protocol. */
#define SUBSCRIPTION_MAX_VERSION 3
#define ASSIGNMENT_MAX_VERSION   3

/* ---- the consumer protocol embedded in classic groups ---- */

int16_t gr_cg_protocol_version(const uint8_t *p, int32_t len)
{
    if (!p || len < 2)
        return -1;
    return (int16_t)((uint16_t)p[0] << 8 | p[1]);
}

int gr_cg_decode_subscription(const uint8_t *p, int32_t len, gr_arena_t *a, gr_ConsumerProtocolSubscription *out)
{
    gr_ConsumerProtocolSubscription_init(out);
    int16_t v = gr_cg_protocol_version(p, len);
    if (v < 0)
        return GR_EMALFORMED;
    gr_reader_t rd;
    gr_reader_init(&rd, p + 2, (size_t)len - 2);
    if (gr_ConsumerProtocolSubscription_decode(&rd, a, v > SUBSCRIPTION_MAX_VERSION ? SUBSCRIPTION_MAX_VERSION : v,
                                               out) != 0 ||
        rd.err)
        return GR_EMALFORMED;
    return 0;
}

int gr_cg_decode_assignment(const uint8_t *p, int32_t len, gr_arena_t *a, gr_ConsumerProtocolAssignment *out)
{
    gr_ConsumerProtocolAssignment_init(out);
    int16_t v = gr_cg_protocol_version(p, len);
    if (v < 0)
        return GR_EMALFORMED;
    gr_reader_t rd;
    gr_reader_init(&rd, p + 2, (size_t)len - 2);
    if (gr_ConsumerProtocolAssignment_decode(&rd, a, v > ASSIGNMENT_MAX_VERSION ? ASSIGNMENT_MAX_VERSION : v, out) != 0 ||
        rd.err)
        return GR_EMALFORMED;
    return 0;
}

void gr_cg_encode_assignment(gr_buf_t *b, const gr_cgroup_t *cg, const tpset_t *parts, int16_t version)
{
    if (version < 0)
        version = 0;
    if (version > ASSIGNMENT_MAX_VERSION)
        version = ASSIGNMENT_MAX_VERSION;
    gr_arena_t a;
    gr_arena_init(&a, 0);
    gr_ConsumerProtocolAssignment as;
    gr_ConsumerProtocolAssignment_init(&as);
    as.AssignedPartitions = gr_arena_calloc(&a, (size_t)parts->n + 1, sizeof *as.AssignedPartitions);
    int32_t *ps = gr_arena_calloc(&a, (size_t)parts->n + 1, sizeof *ps);
    as.UserData.ptr = NULL;
    as.UserData.len = -1;
    if (as.AssignedPartitions && ps) {
        const gr_uuid_t *cur = NULL;
        gr_ConsumerProtocolAssignment_TopicPartition *tp = NULL;
        for (int32_t i = 0; i < parts->n; i++) {
            const tp_t *x = &parts->v[i];
            if (!cur || !gr_uuid_eq(cur, &x->tid)) {
                cur = &x->tid;
                /* A topic that is gone is left out, as Kafka does. */
                const cg_topic_t *t = gr_cg_topic_by_id(cg, &x->tid);
                tp = NULL;
                if (t) {
                    tp = &as.AssignedPartitions[as.AssignedPartitions_count++];
                    tp->Topic = gr_str(t->name);
                    tp->Partitions = ps + i;
                    tp->Partitions_count = 0;
                }
            }
            if (tp)
                tp->Partitions[tp->Partitions_count++] = x->p;
        }
    }
    gr_buf_put_i16(b, version);
    gr_ConsumerProtocolAssignment_encode(b, version, &as);
    gr_arena_free(&a);
}

/* ---- upgrade: a classic group becomes a consumer group ---- */

/* What a classic member becomes, parsed before anything changes. */
typedef struct conv_s {
    gr_gmember_t *gm;
    char        **topics;
    int32_t       ntopics;
    char         *rack; /* NULL: none */
    tpset_t       assigned;
} conv_t;

static void conv_free(conv_t *v, int32_t n)
{
    for (int32_t i = 0; i < n; i++) {
        for (int32_t k = 0; k < v[i].ntopics; k++)
            free(v[i].topics[k]);
        free(v[i].topics);
        free(v[i].rack);
        tpset_free(&v[i].assigned);
    }
    free(v);
}

/* Kafka's ConsumerGroup.fromClassicGroup for one member: 0, or the Kafka
 * error with msg (malformed metadata, a custom assignor's user data). */
static int16_t convert_member(gr_group_t *g, gr_gmember_t *gm, const gr_gcg_meta_t *meta, conv_t *out, char *msg,
                              size_t msglen)
{
    gr_arena_t a;
    gr_arena_init(&a, 0);
    int16_t err = 0;
    out->gm = gm;
    if (gm->assignment_len > 0) {
        gr_ConsumerProtocolAssignment as;
        if (gr_cg_decode_assignment(gm->assignment, gm->assignment_len, &a, &as) != 0) {
            err = GR_KERR_GROUP_ID_NOT_FOUND;
            snprintf(msg, msglen,
                     "Cannot upgrade classic group %s to consumer group because the embedded consumer protocol is "
                     "malformed.",
                     g->id);
            goto out;
        }
        if (as.UserData.len > 0) {
            err = GR_KERR_GROUP_ID_NOT_FOUND;
            snprintf(msg, msglen,
                     "Cannot upgrade classic group %s to consumer group because an unsupported custom assignor is in "
                     "use. Please refer to the documentation or switch to a default assignor before re-attempting "
                     "the upgrade.",
                     g->id);
            goto out;
        }
        int32_t cap = 0;
        for (int32_t i = 0; i < as.AssignedPartitions_count; i++) {
            gr_uuid_t id;
            int32_t np;
            /* Topics the image does not know are left out (Kafka's
             * toTopicPartitionMap). */
            if (!meta || !meta->topic || !meta->topic(meta->arg, as.AssignedPartitions[i].Topic, &id, &np))
                continue;
            for (int32_t j = 0; j < as.AssignedPartitions[i].Partitions_count; j++)
                if (gr_cg_tpset_push(&out->assigned, &cap, &id, as.AssignedPartitions[i].Partitions[j]) != 0)
                    abort();
        }
        gr_cg_tpset_sort(&out->assigned);
    }
    /* Every member supports the chosen protocol (it voted among those all
     * support); Kafka would fail on one that does not. */
    const gr_gproto_t *p = gr_gm_proto(gm, g->protocol_name);
    gr_ConsumerProtocolSubscription sub;
    if (!p) {
        err = GR_KERR_UNKNOWN_SERVER_ERROR;
        msg[0] = 0;
        goto out;
    }
    if (gr_cg_decode_subscription(p->meta, p->meta_len, &a, &sub) != 0) {
        err = GR_KERR_GROUP_ID_NOT_FOUND;
        snprintf(msg, msglen,
                 "Cannot upgrade classic group %s to consumer group because the embedded consumer protocol is "
                 "malformed.",
                 g->id);
        goto out;
    }
    out->topics = calloc((size_t)sub.Topics_count + 1, sizeof *out->topics);
    if (!out->topics)
        abort();
    for (int32_t i = 0; i < sub.Topics_count; i++) {
        bool dup = false;
        for (int32_t k = 0; k < out->ntopics && !dup; k++)
            dup = gr_gc_str_is(out->topics[k], sub.Topics[i]);
        if (!dup)
            out->topics[out->ntopics++] = gr_gc_strdup(sub.Topics[i]);
    }
    out->rack = sub.RackId.len >= 0 ? gr_gc_strdup(sub.RackId) : NULL;
out:
    gr_arena_free(&a);
    return err;
}

static gr_gproto_t *copy_protos(const gr_gproto_t *src, int32_t n)
{
    gr_gproto_t *p = calloc((size_t)n + 1, sizeof *p);
    if (!p)
        abort();
    for (int32_t i = 0; i < n; i++) {
        p[i].name = gr_gc_strdup(gr_str(src[i].name));
        p[i].meta_len = src[i].meta_len;
        p[i].meta = malloc((size_t)src[i].meta_len + 1);
        if (!p[i].meta)
            abort();
        if (src[i].meta_len)
            memcpy(p[i].meta, src[i].meta, (size_t)src[i].meta_len);
    }
    return p;
}

int16_t gr_cg_upgrade(gr_gcoord_t *c, gr_group_t *g, const gr_ConsumerGroupHeartbeatRequest *rq,
                      const gr_gcg_meta_t *meta, bool convert, char *msg, size_t msglen)
{
    msg[0] = 0;
    if (!(c->cfg.migration_policy & GR_GMIGRATE_UPGRADE)) {
        gr_log(GR_LOG_INFO, "group", "cannot upgrade classic group %s to consumer group: online upgrade is disabled",
               g->id);
        snprintf(msg, msglen, "Cannot upgrade classic group %s to consumer group because online upgrade is disabled.",
                 g->id);
        return GR_KERR_GROUP_ID_NOT_FOUND;
    }
    if (!g->protocol_type || strcmp(g->protocol_type, "consumer") != 0) {
        gr_log(GR_LOG_INFO, "group",
               "cannot upgrade classic group %s to consumer group: it does not use the consumer embedded protocol",
               g->id);
        snprintf(msg, msglen,
                 "Cannot upgrade classic group %s to consumer group because the group does not use the consumer "
                 "embedded protocol.",
                 g->id);
        return GR_KERR_GROUP_ID_NOT_FOUND;
    }
    if (g->nmembers > c->cfg.consumer_max_size) {
        gr_log(GR_LOG_INFO, "group",
               "cannot upgrade classic group %s to consumer group: %d members, more than group.consumer.max.size",
               g->id, g->nmembers);
        snprintf(msg, msglen,
                 "Cannot upgrade classic group %s to consumer group because the group size exceeds the consumer "
                 "group maximum size.",
                 g->id);
        return GR_KERR_GROUP_ID_NOT_FOUND;
    }
    /* Whoever waits in a JoinGroup or SyncGroup rejoins (the consumer group,
     * if the conversion goes through). Kafka does this first, so also when
     * the conversion fails below. */
    for (gr_gmember_t *m = g->members; m; m = m->next)
        gr_gm_fail_parked(m, GR_KERR_REBALANCE_IN_PROGRESS);
    if (!g->protocol_name) {
        /* The group's first join phase: no protocol chosen yet, so no
         * subscription to read. Kafka fails here the same way (an
         * unexpected error from its Optional.get). */
        gr_log(GR_LOG_WARN, "group", "cannot upgrade classic group %s during its first rebalance", g->id);
        return GR_KERR_UNKNOWN_SERVER_ERROR;
    }
    conv_t *v = calloc((size_t)g->nmembers + 1, sizeof *v);
    if (!v)
        abort();
    int32_t n = 0;
    int16_t err = 0;
    for (gr_gmember_t *m = g->members; m && !err; m = m->next, n++)
        err = convert_member(g, m, meta, &v[n], msg, msglen);
    if (!err && g->nmembers >= c->cfg.consumer_max_size &&
        (rq->MemberId.len <= 0 || !gr_gm_find(g, rq->MemberId))) {
        /* The new member would not fit (throwIfConsumerGroupIsFull, which
         * Kafka checks right after the conversion and then drops it). */
        err = GR_KERR_GROUP_MAX_SIZE_REACHED;
        snprintf(msg, msglen, "The consumer group has reached its maximum capacity of %d members.",
                 c->cfg.consumer_max_size);
    }
    if (err || !convert) {
        conv_free(v, n);
        return err;
    }

    /* The classic group's record goes; the consumer group's are written. */
    gr_buf_t *k, *val;
    gr_grecs_add(&g->pend, &k, &val);
    gr_grec_group_key(k, gr_str(g->id));

    gr_gc_timer_cancel(c, &g->join_timer);
    gr_gc_timer_cancel(c, &g->sync_timer);
    g->join_mode = GR_GJOIN_TIMER_NONE;
    int32_t generation = g->generation;
    gr_cgroup_t *cg = gr_cg_new(g);
    if (!cg)
        abort();
    cg->group_epoch = cg->assignment_epoch = generation;
    for (int32_t i = 0; i < n; i++) {
        gr_gmember_t *gm = v[i].gm;
        gr_cmember_t *m = gr_cg_member_add(cg, gr_str(gm->id));
        if (!m)
            abort();
        m->instance_id = gm->instance_id ? gr_gc_strdup(gr_str(gm->instance_id)) : NULL;
        m->rack_id = v[i].rack;
        v[i].rack = NULL;
        m->client_id = gr_gc_strdup(gr_str(gm->client_id));
        m->client_host = gr_gc_strdup(gr_str(gm->client_host));
        m->topics = v[i].topics;
        m->ntopics = v[i].ntopics;
        v[i].topics = NULL;
        v[i].ntopics = 0;
        m->rebalance_timeout_ms = gm->rebalance_timeout_ms;
        m->epoch = m->prev_epoch = generation;
        m->state = CM_STABLE;
        tpset_take(&m->assigned, &v[i].assigned);
        if (gr_cg_tpset_copy(&m->target, &m->assigned) != 0)
            abort();
        m->classic = true;
        m->classic_session_ms = gm->session_timeout_ms;
        m->protos = copy_protos(gm->protos, gm->nprotos);
        m->nprotos = gm->nprotos;
        m->has_meta = true;
        m->dirty = CM_DIRTY_META | CM_DIRTY_TARGET | CM_DIRTY_CURRENT;
    }
    conv_free(v, n);
    /* The classic members are now the consumer group's. */
    gr_gc_clear_members(c, g);
    g->generation = 0;
    if (meta && meta->topic)
        gr_cg_refresh_topics(cg, meta);
    else
        gr_cg_sync_view(cg);
    cg->metadata_hash = gr_cg_topics_hash(cg);
    cg->dirty_epoch = cg->dirty_assignment_epoch = true;
    gr_cg_take_records(cg, &g->pend);
    for (gr_cmember_t *m = cg->members; m; m = m->next)
        gr_gc_timer_arm(c, &m->session, m->classic_session_ms);
    gr_log(GR_LOG_INFO, "group", "classic group %s becomes a consumer group (online upgrade) with %d member(s) at epoch %d",
           g->id, cg->nmembers, generation);
    return 0;
}

/* ---- fencing members, and the downgrade it may cause ---- */

static bool leaving(gr_cmember_t *const *ms, int32_t n, const gr_cmember_t *m)
{
    for (int32_t i = 0; i < n; i++)
        if (ms[i] == m)
            return true;
    return false;
}

/* Kafka's validateOnlineDowngradeWithFencedMembers. */
static bool may_downgrade(gr_gcoord_t *c, gr_cgroup_t *cg, gr_cmember_t **ms, int32_t n)
{
    int32_t remaining = 0;
    for (gr_cmember_t *m = cg->members; m; m = m->next) {
        if (leaving(ms, n, m))
            continue;
        if (!m->classic)
            return false;
        remaining++;
    }
    if (remaining == 0)
        return false;
    if (!(c->cfg.migration_policy & GR_GMIGRATE_DOWNGRADE)) {
        gr_log(GR_LOG_INFO, "group",
               "cannot downgrade consumer group %s to classic group: the online downgrade is disabled", cg->grp->id);
        return false;
    }
    if (remaining > c->cfg.max_size) {
        gr_log(GR_LOG_INFO, "group", "cannot downgrade consumer group %s to classic group: more members than group.max.size",
               cg->grp->id);
        return false;
    }
    return true;
}

/* Kafka's convertToClassicGroup for members leaving. */
static void downgrade(gr_gcoord_t *c, gr_group_t *g, gr_cmember_t **ms, int32_t n)
{
    gr_cgroup_t *cg = g->cg;
    /* Anything the consumer group still had to write, then its tombstones
     * (leaving members included). */
    gr_cg_take_records(cg, &g->pend);
    gr_cg_tombstones(g, &g->pend);
    if (c->meta.topic)
        gr_cg_refresh_topics(cg, &c->meta); /* topic names for the assignments */
    int32_t epoch = cg->group_epoch;

    g->cg = NULL;
    free(g->protocol_type);
    g->protocol_type = gr_gc_strdup(gr_str("consumer"));
    free(g->protocol_name);
    g->protocol_name = NULL;
    g->generation = epoch;
    g->leader = NULL;
    for (gr_cmember_t *m = cg->members; m; m = m->next) {
        if (leaving(ms, n, m))
            continue;
        gr_gmember_t *gm = calloc(1, sizeof *gm);
        if (!gm)
            abort();
        gm->id = gr_gc_strdup(gr_str(m->id));
        gm->instance_id = m->instance_id ? gr_gc_strdup(gr_str(m->instance_id)) : NULL;
        gm->client_id = gr_gc_strdup(gr_str(m->client_id ? m->client_id : ""));
        gm->client_host = gr_gc_strdup(gr_str(m->client_host ? m->client_host : ""));
        gm->protocol_type = gr_gc_strdup(gr_str("consumer"));
        gm->rebalance_timeout_ms = m->rebalance_timeout_ms;
        gm->session_timeout_ms = m->classic_session_ms;
        gm->protos = m->protos;
        gm->nprotos = m->nprotos;
        m->protos = NULL;
        m->nprotos = 0;
        gm->assignment = calloc(1, 1);
        if (!gm->assignment)
            abort();
        gr_gm_adopt(c, g, gm);
    }
    g->protocol_name = gr_gc_strdup(gr_str(gr_gm_select_protocol(g)));
    gr_gm_compute_subscribed(g);
    /* Each member's target assignment, in the version of its metadata for
     * the chosen protocol (Kafka's ClassicGroup.fromConsumerGroup). */
    for (gr_gmember_t *gm = g->members; gm; gm = gm->next) {
        gr_cmember_t *m = gr_cg_member_find(cg, gr_str(gm->id));
        const gr_gproto_t *p = gr_gm_proto(gm, g->protocol_name);
        gr_buf_t b;
        gr_buf_init(&b);
        gr_cg_encode_assignment(&b, cg, &m->target, p ? gr_cg_protocol_version(p->meta, p->meta_len) : 0);
        if (b.oom)
            abort();
        free(gm->assignment);
        gm->assignment = malloc(b.len + 1);
        if (!gm->assignment)
            abort();
        memcpy(gm->assignment, b.data, b.len);
        gm->assignment_len = (int32_t)b.len;
        gr_buf_free(&b);
    }
    gr_gc_transition(g, GR_GSTATE_STABLE);
    gr_gc_group_record(g, &g->pend);
    g->cg = cg;
    gr_cg_free(c, g); /* the leaving members with it */
    gr_log(GR_LOG_INFO, "group", "consumer group %s becomes a classic group (online downgrade) with %d member(s), "
           "generation %d", g->id, g->nmembers, g->generation);
    char reason[300];
    snprintf(reason, sizeof reason, "Downgrade group %s from consumer to classic for member leaving.", g->id);
    gr_gm_prepare_rebalance(c, g, reason);
}

void gr_cg_fence(gr_gcoord_t *c, gr_group_t *g, gr_cmember_t **ms, int32_t n, const char *why)
{
    gr_cgroup_t *cg = g->cg;
    if (!cg || n <= 0)
        return;
    for (int32_t i = 0; i < n; i++)
        gr_log(GR_LOG_INFO, "group", "consumer group %s: member %s %s", g->id, ms[i]->id, why);
    if (may_downgrade(c, cg, ms, n)) {
        downgrade(c, g, ms, n);
        return;
    }
    for (int32_t i = 0; i < n; i++)
        gr_cg_member_unlink(c, cg, ms[i]);
    gr_cg_drop_unused_regexes(cg);
    /* The epoch record carries the topics of the members that stay. */
    if (c->meta.topic)
        gr_cg_refresh_topics(cg, &c->meta);
    gr_log(GR_LOG_INFO, "group", "consumer group %s: group epoch %d -> %d", g->id, cg->group_epoch, cg->group_epoch + 1);
    gr_cg_bump_epoch(cg);
}
