/* Classic members inside a KIP-848 consumer group: members that speak
 * JoinGroup, SyncGroup, Heartbeat and LeaveGroup (the Java classic consumer,
 * librdkafka, kafka-python...) in a group that has been upgraded, or that
 * they joined while consumer-protocol members were in it. As Apache Kafka
 * 4.1's GroupMetadataManager (classicGroupJoinToConsumerGroup,
 * classicGroupSyncToConsumerGroup, classicGroupHeartbeatToConsumerGroup,
 * classicGroupLeaveToConsumerGroup), the broker assigns their partitions:
 *
 *   JoinGroup  creates or updates the member from its subscription (the
 *              metadata of its first protocol: topics, rack, owned
 *              partitions), bumps the group epoch when its subscription
 *              changed, recomputes the target assignment when due and
 *              reconciles the member as a heartbeat would (the owned
 *              partitions of a cooperative member must be revoked first; an
 *              eager one owns none when it rejoins). It is answered at once,
 *              once the records are durable, as a follower: generation = the
 *              member epoch, protocol = the member's first, no leader work.
 *   SyncGroup  answers the member's assigned partitions as a
 *              ConsumerProtocolAssignment (in its subscription's version),
 *              or REBALANCE_IN_PROGRESS when the group moved on since.
 *   Heartbeat  keeps the session (the member's own session timeout) and
 *              answers REBALANCE_IN_PROGRESS when the member must rejoin: the
 *              group epoch moved past its epoch, it has partitions to revoke,
 *              or partitions it waits for were released.
 *   LeaveGroup fences the members (by member id, or by instance id as admin
 *              clients remove members); the group may become classic then.
 *
 * A classic member that does not rejoin within its rebalance timeout after
 * being told to (join timer), or does not send SyncGroup within it after
 * its JoinGroup (sync timer), is fenced. Event-loop thread only. */
#include "base/log.h"
#include "group/consumer_group_int.h"
#include "protocol/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

static bool no_topic(void *arg, gr_str_t name, gr_uuid_t *id, int32_t *nparts)
{
    (void)arg;
    (void)name;
    (void)id;
    (void)nparts;
    return false;
}

static void no_topics(void *arg, void (*fn)(void *ctx, const char *name), void *ctx)
{
    (void)arg;
    (void)fn;
    (void)ctx;
}

static int64_t no_version(void *arg)
{
    (void)arg;
    return 0;
}

/* The coordinator's image, or one without topics. */
static const gr_gcg_meta_t *meta_of(gr_gcoord_t *c)
{
    static const gr_gcg_meta_t none = {NULL, no_topic, no_topics, no_version};
    return c->meta.topic ? &c->meta : &none;
}

/* Kafka's validateConsumerGroupMember: by member id, or by instance id
 * (which must still map to this member id). */
static gr_cmember_t *validate_member(gr_cgroup_t *cg, gr_str_t member_id, gr_str_t instance_id, int16_t *err)
{
    *err = 0;
    if (instance_id.len < 0) {
        gr_cmember_t *m = gr_cg_member_find(cg, member_id);
        if (!m)
            *err = GR_KERR_UNKNOWN_MEMBER_ID;
        return m;
    }
    gr_cmember_t *m = gr_cg_static_find(cg, instance_id);
    if (!m)
        *err = GR_KERR_UNKNOWN_MEMBER_ID;
    else if (!gr_gc_str_is(m->id, member_id))
        *err = GR_KERR_FENCED_INSTANCE_ID;
    return *err ? NULL : m;
}

/* Kafka's scheduleConsumerGroupJoinTimeoutIfAbsent. */
static void arm_join_timeout(gr_gcoord_t *c, gr_cmember_t *m)
{
    if (m->join_timer.idx < 0)
        gr_gc_timer_arm(c, &m->join_timer, m->rebalance_timeout_ms);
}

static void fence_one(gr_gcoord_t *c, gr_cmember_t *m, const char *why)
{
    gr_group_t *g = m->cg->grp;
    gr_cmember_t *one[1] = {m};
    gr_cg_fence(c, g, one, 1, why);
    gr_cg_flush(c, g, NULL, NULL, NULL);
}

void gr_cg_classic_join_timeout(gr_gcoord_t *c, gr_gtimer_t *t)
{
    gr_cmember_t *m = (gr_cmember_t *)((char *)t - offsetof(gr_cmember_t, join_timer));
    fence_one(c, m, "failed to rejoin (classic protocol) within its rebalance timeout");
}

void gr_cg_classic_sync_timeout(gr_gcoord_t *c, gr_gtimer_t *t)
{
    gr_cmember_t *m = (gr_cmember_t *)((char *)t - offsetof(gr_cmember_t, sync_timer));
    fence_one(c, m, "failed to sync (classic protocol) within its rebalance timeout");
}

/* ---- JoinGroup ---- */

static void join_error(gr_gjoin_fn fn, void *arg, int16_t err, gr_str_t member_id)
{
    gr_JoinGroupResponse r;
    gr_JoinGroupResponse_init(&r);
    r.ErrorCode = err;
    r.MemberId = member_id.len >= 0 ? member_id : gr_str("");
    r.ProtocolName = gr_str(NULL);
    fn(arg, &r);
}

/* Kafka's ConsumerGroup.supportsClassicProtocols: the "consumer" protocol
 * type and a protocol every classic member of the group supports. */
static bool supports_protocols(const gr_cgroup_t *cg, const gr_JoinGroupRequest *rq)
{
    if (!gr_gc_str_is("consumer", rq->ProtocolType))
        return false;
    int32_t nclassic = 0;
    for (const gr_cmember_t *m = cg->members; m; m = m->next)
        nclassic += m->classic;
    for (int32_t i = 0; i < rq->Protocols_count; i++) {
        int32_t k = 0;
        for (const gr_cmember_t *m = cg->members; m; m = m->next) {
            if (!m->classic)
                continue;
            for (int32_t j = 0; j < m->nprotos; j++)
                if (gr_gc_str_is(m->protos[j].name, rq->Protocols[i].Name)) {
                    k++;
                    break;
                }
        }
        if (k == nclassic)
            return true;
    }
    return false;
}

/* The same protocols, with the same metadata, in the same order. */
static bool same_protos(const gr_cmember_t *m, const gr_JoinGroupRequest *rq)
{
    if (m->nprotos != rq->Protocols_count)
        return false;
    for (int32_t i = 0; i < m->nprotos; i++) {
        const gr_bytes_t *md = &rq->Protocols[i].Metadata;
        int32_t len = md->len > 0 ? md->len : 0;
        if (!gr_gc_str_is(m->protos[i].name, rq->Protocols[i].Name) || m->protos[i].meta_len != len ||
            (len && memcmp(m->protos[i].meta, md->ptr, (size_t)len) != 0))
            return false;
    }
    return true;
}

static void set_protos(gr_cmember_t *m, const gr_JoinGroupRequest *rq)
{
    for (int32_t i = 0; i < m->nprotos; i++) {
        free(m->protos[i].name);
        free(m->protos[i].meta);
    }
    free(m->protos);
    int32_t n = rq->Protocols_count > 0 ? rq->Protocols_count : 0;
    m->protos = calloc((size_t)n + 1, sizeof *m->protos);
    if (!m->protos)
        abort();
    for (int32_t i = 0; i < n; i++) {
        const gr_bytes_t *md = &rq->Protocols[i].Metadata;
        m->protos[i].name = gr_gc_strdup(rq->Protocols[i].Name);
        m->protos[i].meta_len = md->len > 0 ? md->len : 0;
        m->protos[i].meta = malloc((size_t)m->protos[i].meta_len + 1);
        if (!m->protos[i].meta)
            abort();
        if (m->protos[i].meta_len)
            memcpy(m->protos[i].meta, md->ptr, (size_t)m->protos[i].meta_len);
    }
    m->nprotos = n;
}

/* The subscribed topics of the subscription; true when they changed. */
static bool set_topics(gr_cmember_t *m, const gr_ConsumerProtocolSubscription *sub)
{
    char **t = calloc((size_t)sub->Topics_count + 1, sizeof *t);
    if (!t)
        abort();
    int32_t k = 0;
    for (int32_t i = 0; i < sub->Topics_count; i++) {
        bool dup = false;
        for (int32_t j = 0; j < k && !dup; j++)
            dup = gr_gc_str_is(t[j], sub->Topics[i]);
        if (!dup)
            t[k++] = gr_gc_strdup(sub->Topics[i]);
    }
    bool same = k == m->ntopics;
    for (int32_t i = 0; i < k && same; i++) {
        bool found = false;
        for (int32_t j = 0; j < m->ntopics && !found; j++)
            found = strcmp(m->topics[j], t[i]) == 0;
        same = found;
    }
    for (int32_t i = 0; i < m->ntopics; i++)
        free(m->topics[i]);
    free(m->topics);
    m->topics = t;
    m->ntopics = k;
    return !same;
}

/* A JoinGroup answered once its records are durable. */
typedef struct join_wait_s {
    gr_gjoin_fn fn;
    void       *arg;
    char       *member_id;
    char       *req_member_id;
    char       *protocol;
    int32_t     generation;
} join_wait_t;

static void join_answer(void *arg, int16_t err)
{
    join_wait_t *w = arg;
    gr_JoinGroupResponse r;
    gr_JoinGroupResponse_init(&r);
    if (err) {
        r.ErrorCode = gr_gc_append_error(err);
        r.MemberId = gr_str(w->req_member_id);
        r.ProtocolName = gr_str(NULL);
    } else {
        r.MemberId = gr_str(w->member_id);
        r.GenerationId = w->generation;
        r.ProtocolType = gr_str("consumer");
        r.ProtocolName = gr_str(w->protocol);
        r.Leader = gr_str("");
    }
    w->fn(w->arg, &r);
    free(w->member_id);
    free(w->req_member_id);
    free(w->protocol);
    free(w);
}

void gr_cg_classic_join(gr_gcoord_t *c, gr_group_t *g, const gr_gclient_t *cl, const gr_JoinGroupRequest *rq,
                        int32_t rebalance_ms, gr_gjoin_fn fn, void *arg)
{
    gr_cgroup_t *cg = g->cg;
    const gr_gcg_meta_t *meta = meta_of(c);
    bool unknown = rq->MemberId.len <= 0;
    char idbuf[23];
    gr_str_t mid = rq->MemberId;
    if (unknown) {
        gr_cg_new_member_id(idbuf);
        mid = gr_str(idbuf);
    }
    if (cg->nmembers >= c->cfg.consumer_max_size && !gr_cg_member_find(cg, mid)) {
        join_error(fn, arg, GR_KERR_GROUP_MAX_SIZE_REACHED, rq->MemberId);
        return;
    }
    if (!supports_protocols(cg, rq)) {
        join_error(fn, arg, GR_KERR_INCONSISTENT_GROUP_PROTOCOL, rq->MemberId);
        return;
    }
    if (cl->api_version >= 4 && rq->GroupInstanceId.len < 0 && unknown) {
        /* A dynamic member gets its id and joins again with it; the id is
         * not remembered (any id is taken as a new member). */
        join_error(fn, arg, GR_KERR_MEMBER_ID_REQUIRED, mid);
        return;
    }
    gr_cmember_t *sm = rq->GroupInstanceId.len >= 0 ? gr_cg_static_find(cg, rq->GroupInstanceId) : NULL;
    if (rq->GroupInstanceId.len >= 0 && !unknown) {
        /* A static member rejoining with its member id. */
        if (!sm || !gr_gc_str_is(sm->id, mid)) {
            join_error(fn, arg, sm ? GR_KERR_FENCED_INSTANCE_ID : GR_KERR_UNKNOWN_MEMBER_ID, rq->MemberId);
            return;
        }
    }
    gr_arena_t a;
    gr_arena_init(&a, 0);
    gr_ConsumerProtocolSubscription sub;
    if (gr_cg_decode_subscription(rq->Protocols[0].Metadata.ptr, rq->Protocols[0].Metadata.len, &a, &sub) != 0) {
        /* Kafka: "Malformed embedded consumer protocol in subscription
         * deserialization." (an IllegalStateException). */
        gr_arena_free(&a);
        join_error(fn, arg, GR_KERR_UNKNOWN_SERVER_ERROR, rq->MemberId);
        return;
    }

    /* The member: found, created, or a static member taking over the
     * instance id's place (epoch 0, its assignment kept). */
    gr_cmember_t *m = NULL;
    if (rq->GroupInstanceId.len < 0) {
        m = gr_cg_member_find(cg, mid);
    } else if (!unknown) {
        m = sm;
    } else if (sm) {
        char *old = sm->id;
        sm->id = gr_gc_strdup(mid);
        gr_log(GR_LOG_INFO, "group", "consumer group %s: static member %.*s rejoins with the classic protocol: "
               "member %s replaces %s", g->id, (int)rq->GroupInstanceId.len, rq->GroupInstanceId.ptr, sm->id, old);
        gr_cg_note_removed(cg, old);
        free(old);
        sm->epoch = sm->prev_epoch = 0;
        sm->dirty = CM_DIRTY_META | CM_DIRTY_TARGET | CM_DIRTY_CURRENT;
        m = sm;
    }
    if (!m) {
        m = gr_cg_member_add(cg, mid);
        if (!m)
            abort();
        m->has_meta = true;
        m->dirty = CM_DIRTY_META | CM_DIRTY_TARGET | CM_DIRTY_CURRENT;
        gr_log(GR_LOG_INFO, "group", "consumer group %s: member %s joins with the classic protocol", g->id, m->id);
    }

    /* What the member tells about itself (Kafka's updated member). */
    bool bump = false;
    if (rq->GroupInstanceId.len >= 0 && gr_cg_set_str(&m->instance_id, rq->GroupInstanceId))
        m->dirty |= CM_DIRTY_META;
    if (sub.RackId.len >= 0 && gr_cg_set_str(&m->rack_id, sub.RackId))
        m->dirty |= CM_DIRTY_META;
    if (rebalance_ms != -1 && m->rebalance_timeout_ms != rebalance_ms) {
        m->rebalance_timeout_ms = rebalance_ms;
        m->dirty |= CM_DIRTY_META;
    }
    if (set_topics(m, &sub)) {
        bump = true;
        m->dirty |= CM_DIRTY_META;
    }
    if (m->regex) {
        /* Classic members subscribe by names only. */
        free(m->regex);
        m->regex = NULL;
        bump = true;
        m->dirty |= CM_DIRTY_META;
    }
    if (gr_cg_set_str(&m->client_id, cl->client_id))
        m->dirty |= CM_DIRTY_META;
    if (gr_cg_set_str(&m->client_host, gr_str(cl->client_host ? cl->client_host : "")))
        m->dirty |= CM_DIRTY_META;
    if (!m->classic || m->classic_session_ms != rq->SessionTimeoutMs || !same_protos(m, rq)) {
        m->classic = true;
        m->classic_session_ms = rq->SessionTimeoutMs;
        set_protos(m, rq);
        m->dirty |= CM_DIRTY_META;
    }
    if (gr_cg_update_regexes(c, cg, meta))
        bump = true;
    if (gr_cg_refresh_topics(cg, meta))
        bump = true;
    if (bump)
        gr_cg_bump_epoch(cg);
    if (cg->group_epoch > cg->assignment_epoch)
        gr_cg_compute_target(c, cg);

    /* Reconcile with what it owns (a cooperative member lists its
     * partitions; an eager one gave them all up before rejoining). */
    tpset_t owned = {0};
    int32_t cap = 0;
    for (int32_t i = 0; i < sub.OwnedPartitions_count; i++) {
        gr_uuid_t id;
        int32_t np;
        if (!meta->topic(meta->arg, sub.OwnedPartitions[i].Topic, &id, &np))
            continue;
        for (int32_t j = 0; j < sub.OwnedPartitions[i].Partitions_count; j++)
            if (gr_cg_tpset_push(&owned, &cap, &id, sub.OwnedPartitions[i].Partitions[j]) != 0)
                abort();
    }
    gr_cg_tpset_sort(&owned);
    gr_cg_reconcile(cg, m, &owned);
    tpset_free(&owned);
    gr_arena_free(&a);

    gr_gc_timer_cancel(c, &m->join_timer);
    gr_gc_timer_cancel(c, &m->rebalance);
    gr_gc_timer_arm(c, &m->session, m->classic_session_ms);
    gr_gc_timer_arm(c, &m->sync_timer, rebalance_ms);

    join_wait_t *w = calloc(1, sizeof *w);
    if (!w)
        abort();
    w->fn = fn;
    w->arg = arg;
    w->member_id = gr_gc_strdup(gr_str(m->id));
    w->req_member_id = gr_gc_strdup(rq->MemberId);
    w->protocol = gr_gc_strdup(gr_str(m->protos[0].name));
    w->generation = m->epoch;
    bool pending = false;
    int16_t err = gr_cg_flush(c, g, join_answer, w, &pending);
    if (!pending)
        join_answer(w, err);
}

/* ---- SyncGroup ---- */

static void sync_error(gr_gsync_fn fn, void *arg, int16_t err)
{
    gr_SyncGroupResponse r;
    gr_SyncGroupResponse_init(&r);
    r.ErrorCode = err;
    r.Assignment.ptr = (const uint8_t *)"";
    r.Assignment.len = 0;
    fn(arg, &r);
}

void gr_cg_classic_sync(gr_gcoord_t *c, gr_group_t *g, const gr_SyncGroupRequest *rq, gr_gsync_fn fn, void *arg)
{
    gr_cgroup_t *cg = g->cg;
    int16_t err;
    gr_cmember_t *m = validate_member(cg, rq->MemberId, rq->GroupInstanceId, &err);
    if (!err && !m->classic)
        err = GR_KERR_UNKNOWN_MEMBER_ID;
    if (!err && rq->GenerationId != m->epoch)
        err = GR_KERR_ILLEGAL_GENERATION;
    if (!err && ((rq->ProtocolType.len >= 0 && !gr_gc_str_is("consumer", rq->ProtocolType)) ||
                 (rq->ProtocolName.len >= 0 && (m->nprotos == 0 || !gr_gc_str_is(m->protos[0].name, rq->ProtocolName)))))
        err = GR_KERR_INCONSISTENT_GROUP_PROTOCOL;
    if (!err && cg->group_epoch > m->epoch && m->state != CM_UNREVOKED) {
        /* A rebalance began since its JoinGroup: it must rejoin (unless it
         * is revoking, which ends with a rejoin anyway). */
        arm_join_timeout(c, m);
        err = GR_KERR_REBALANCE_IN_PROGRESS;
    }
    if (err) {
        sync_error(fn, arg, err);
        return;
    }
    gr_gc_timer_cancel(c, &m->sync_timer);
    gr_gc_timer_arm(c, &m->session, m->classic_session_ms);
    /* The topics' names (a group just loaded has not looked them up). */
    gr_cg_refresh_topics(cg, meta_of(c));
    gr_buf_t b;
    gr_buf_init(&b);
    int16_t version = m->nprotos ? gr_cg_protocol_version(m->protos[0].meta, m->protos[0].meta_len) : 0;
    gr_cg_encode_assignment(&b, cg, &m->assigned, version);
    if (b.oom) {
        gr_buf_free(&b);
        sync_error(fn, arg, GR_KERR_UNKNOWN_SERVER_ERROR);
        return;
    }
    gr_SyncGroupResponse r;
    gr_SyncGroupResponse_init(&r);
    r.ProtocolType = rq->ProtocolType;
    r.ProtocolName = rq->ProtocolName;
    r.Assignment.ptr = b.data;
    r.Assignment.len = (int32_t)b.len;
    fn(arg, &r);
    gr_buf_free(&b);
}

/* ---- Heartbeat ---- */

/* Kafka's ConsumerGroup.waitingOnUnreleasedPartition: a partition of its
 * target it does not have yet is still held by another member. */
static bool waiting_on_unreleased(const gr_cgroup_t *cg, const gr_cmember_t *m)
{
    for (int32_t i = 0; i < m->target.n; i++) {
        const tp_t *x = &m->target.v[i];
        if (!gr_cg_tpset_has(&m->assigned, &x->tid, x->p) && gr_cg_partition_epoch(cg, m, &x->tid, x->p) != -1)
            return true;
    }
    return false;
}

int16_t gr_cg_classic_heartbeat(gr_gcoord_t *c, gr_group_t *g, const gr_HeartbeatRequest *rq)
{
    gr_cgroup_t *cg = g->cg;
    int16_t err;
    gr_cmember_t *m = validate_member(cg, rq->MemberId, rq->GroupInstanceId, &err);
    if (err)
        return err;
    if (!m->classic)
        return GR_KERR_UNKNOWN_MEMBER_ID;
    if (rq->GenerationId != m->epoch)
        return GR_KERR_ILLEGAL_GENERATION;
    gr_gc_timer_arm(c, &m->session, m->classic_session_ms);
    /* It must rejoin: the group epoch moved on, it has partitions to
     * revoke, or the partitions it waits for are free now. */
    if (m->epoch < cg->group_epoch || m->state == CM_UNREVOKED ||
        (m->state == CM_UNRELEASED && !waiting_on_unreleased(cg, m))) {
        arm_join_timeout(c, m);
        return GR_KERR_REBALANCE_IN_PROGRESS;
    }
    return 0;
}

/* ---- LeaveGroup ---- */

void gr_cg_classic_leave(gr_gcoord_t *c, gr_group_t *g, const gr_LeaveGroupRequest *rq, gr_LeaveGroupResponse *resp)
{
    gr_cgroup_t *cg = g->cg;
    int32_t n = rq->Members_count > 0 ? rq->Members_count : 0;
    gr_cmember_t **valid = calloc((size_t)n + 1, sizeof *valid);
    if (!valid)
        abort();
    int32_t nvalid = 0;
    for (int32_t i = 0; i < n; i++) {
        const gr_LeaveGroupRequest_MemberIdentity *mi = &rq->Members[i];
        gr_LeaveGroupResponse_MemberResponse *r = &resp->Members[i];
        r->MemberId = mi->MemberId;
        r->GroupInstanceId = mi->GroupInstanceId;
        gr_cmember_t *m;
        if (mi->GroupInstanceId.len < 0) {
            m = gr_cg_member_find(cg, mi->MemberId);
            if (!m)
                r->ErrorCode = GR_KERR_UNKNOWN_MEMBER_ID;
        } else {
            /* By instance id alone (member id ""): an admin removing it. */
            m = gr_cg_static_find(cg, mi->GroupInstanceId);
            if (!m)
                r->ErrorCode = GR_KERR_UNKNOWN_MEMBER_ID;
            else if (mi->MemberId.len > 0 && !gr_gc_str_is(m->id, mi->MemberId))
                r->ErrorCode = GR_KERR_FENCED_INSTANCE_ID;
        }
        if (r->ErrorCode)
            continue;
        gr_log(GR_LOG_INFO, "group", "consumer group %s: member %s leaves (LeaveGroup; reason: %.*s)", g->id, m->id,
               mi->Reason.len > 0 ? (int)mi->Reason.len : 12, mi->Reason.len > 0 ? mi->Reason.ptr : "not provided");
        bool seen = false;
        for (int32_t j = 0; j < nvalid && !seen; j++)
            seen = valid[j] == m;
        if (!seen)
            valid[nvalid++] = m;
    }
    gr_cg_fence(c, g, valid, nvalid, "left the group");
    gr_cg_flush(c, g, NULL, NULL, NULL);
    free(valid);
}
