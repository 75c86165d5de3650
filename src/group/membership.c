/* The classic group state machine: JoinGroup, SyncGroup, Heartbeat and
 * LeaveGroup, session and rebalance timeouts, as Apache Kafka's group
 * coordinator (GroupMetadataManager's classic-group part) runs them. The
 * function names follow Kafka's so the two can be read side by side:
 *
 * - A JoinGroup is parked on its member (join_fn) until the join phase
 *   completes: when every known member has rejoined and no member id handed
 *   out with MEMBER_ID_REQUIRED is outstanding, or when the rebalance
 *   timeout (the largest of the members') passes; members that did not
 *   rejoin by then are dropped. A new group first waits
 *   group.initial.rebalance.delay.ms, again for each new member, up to the
 *   rebalance timeout (Kafka's InitialDelayedJoin).
 * - Completing the join starts a generation: the protocol most members
 *   prefer among those all support, the leader gets every member's
 *   metadata. SyncGroups are parked (sync_fn) until the leader's arrives
 *   with the assignment, which is written to __consumer_offsets and handed
 *   to everyone; members that do not sync within the rebalance timeout are
 *   removed.
 * - Each member has a session timer, restarted by heartbeats (and commits);
 *   a member parked in a join or sync satisfies it. When it fires the
 *   member is removed and the group rebalances.
 * - Static members (group.instance.id) keep their place across restarts: a
 *   rejoin with an unknown member id replaces the old member id, fencing
 *   the old one (FENCED_INSTANCE_ID), without a rebalance when nothing
 *   changed. */
#include "group/group_int.h"
#include "group/consumer_group_int.h"
#include "base/log.h"
#include "group/group_records.h"
#include "protocol/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        abort();
    return p;
}

/* ---- members and their protocols ---- */

gr_gmember_t *gr_gm_find(gr_group_t *g, gr_str_t id)
{
    if (id.len < 0)
        return NULL;
    for (gr_gmember_t *m = g->members; m; m = m->next)
        if (gr_gc_str_is(m->id, id))
            return m;
    return NULL;
}

static gr_gmember_t *static_member(gr_group_t *g, gr_str_t instance_id)
{
    if (instance_id.len < 0)
        return NULL;
    for (gr_gmember_t *m = g->members; m; m = m->next)
        if (m->instance_id && gr_gc_str_is(m->instance_id, instance_id))
            return m;
    return NULL;
}

static gr_gpending_t *pending_find(gr_group_t *g, gr_str_t id)
{
    for (gr_gpending_t *p = g->pending; p; p = p->next)
        if (gr_gc_str_is(p->id, id))
            return p;
    return NULL;
}

static void free_protos(gr_gproto_t *p, int32_t n)
{
    for (int32_t i = 0; i < n; i++) {
        free(p[i].name);
        free(p[i].meta);
    }
    free(p);
}

void gr_gm_free(gr_gcoord_t *c, gr_gmember_t *m)
{
    gr_gc_timer_cancel(c, &m->hb);
    free(m->id);
    free(m->instance_id);
    free(m->client_id);
    free(m->client_host);
    free(m->protocol_type);
    free_protos(m->protos, m->nprotos);
    free(m->assignment);
    free(m);
}

void gr_gm_pending_free(gr_gcoord_t *c, gr_gpending_t *p)
{
    gr_gc_timer_cancel(c, &p->hb);
    free(p->id);
    free(p);
}

const gr_gproto_t *gr_gm_proto(const gr_gmember_t *m, const char *name)
{
    for (int32_t i = 0; i < m->nprotos; i++)
        if (strcmp(m->protos[i].name, name) == 0)
            return &m->protos[i];
    return NULL;
}

static int32_t proto_count(const gr_group_t *g, gr_str_t name)
{
    for (gr_gproto_count_t *pc = g->proto_counts; pc; pc = pc->next)
        if (gr_gc_str_is(pc->name, name))
            return pc->count;
    return 0;
}

void gr_gm_protos_add(gr_group_t *g, gr_gmember_t *m, int32_t delta)
{
    for (int32_t i = 0; i < m->nprotos; i++) {
        gr_gproto_count_t **pp = &g->proto_counts;
        while (*pp && strcmp((*pp)->name, m->protos[i].name) != 0)
            pp = &(*pp)->next;
        if (!*pp) {
            if (delta <= 0)
                continue;
            gr_gproto_count_t *pc = xcalloc(1, sizeof *pc);
            pc->name = gr_gc_strdup(gr_str(m->protos[i].name));
            *pp = pc; /* appended: first-seen order breaks protocol vote ties */
        }
        (*pp)->count += delta;
        if ((*pp)->count <= 0) {
            gr_gproto_count_t *dead = *pp;
            *pp = dead->next;
            free(dead->name);
            free(dead);
        }
    }
}

static void member_set_protos(gr_gmember_t *m, const gr_JoinGroupRequest *rq)
{
    int32_t n = rq->Protocols_count > 0 ? rq->Protocols_count : 0;
    gr_gproto_t *p = xcalloc((size_t)n, sizeof *p);
    for (int32_t i = 0; i < n; i++) {
        const gr_JoinGroupRequest_JoinGroupRequestProtocol *rp = &rq->Protocols[i];
        p[i].name = gr_gc_strdup(rp->Name);
        p[i].meta_len = rp->Metadata.len > 0 ? rp->Metadata.len : 0;
        p[i].meta = xcalloc((size_t)p[i].meta_len + 1, 1);
        if (p[i].meta_len)
            memcpy(p[i].meta, rp->Metadata.ptr, (size_t)p[i].meta_len);
    }
    free_protos(m->protos, m->nprotos);
    m->protos = p;
    m->nprotos = n;
}

/* The same protocols with the same metadata in the same order. */
static bool member_matches(const gr_gmember_t *m, const gr_JoinGroupRequest *rq)
{
    if (m->nprotos != (rq->Protocols_count > 0 ? rq->Protocols_count : 0))
        return false;
    for (int32_t i = 0; i < m->nprotos; i++) {
        const gr_JoinGroupRequest_JoinGroupRequestProtocol *rp = &rq->Protocols[i];
        int32_t ml = rp->Metadata.len > 0 ? rp->Metadata.len : 0;
        if (!gr_gc_str_is(m->protos[i].name, rp->Name) || ml != m->protos[i].meta_len ||
            (ml && memcmp(m->protos[i].meta, rp->Metadata.ptr, (size_t)ml) != 0))
            return false;
    }
    return true;
}

static int32_t rebalance_timeout(const gr_group_t *g)
{
    int32_t t = 0;
    for (gr_gmember_t *m = g->members; m; m = m->next)
        if (m->rebalance_timeout_ms > t)
            t = m->rebalance_timeout_ms;
    return t;
}

static bool all_members_joined(const gr_group_t *g)
{
    return g->nmembers == g->nawaiting_join && g->npending == 0;
}

static bool supports_protocols(const gr_group_t *g, const gr_JoinGroupRequest *rq)
{
    if (g->state == GR_GSTATE_EMPTY)
        return rq->ProtocolType.len > 0 && rq->Protocols_count > 0;
    if (!g->protocol_type || !gr_gc_str_is(g->protocol_type, rq->ProtocolType))
        return false;
    for (int32_t i = 0; i < rq->Protocols_count; i++)
        if (proto_count(g, rq->Protocols[i].Name) == g->nmembers)
            return true;
    return false;
}

/* Kafka's selectProtocol: among the protocols every member supports, each
 * member votes for the first it lists; the most votes win. */
#define select_protocol gr_gm_select_protocol

const char *gr_gm_select_protocol(gr_group_t *g)
{
    int32_t ncand = 0;
    for (gr_gproto_count_t *pc = g->proto_counts; pc; pc = pc->next)
        if (pc->count == g->nmembers)
            ncand++;
    if (ncand == 0)
        return g->members && g->members->nprotos ? g->members->protos[0].name : "";
    const char **cand = xcalloc((size_t)ncand, sizeof *cand);
    int32_t *votes = xcalloc((size_t)ncand, sizeof *votes);
    int32_t k = 0;
    for (gr_gproto_count_t *pc = g->proto_counts; pc; pc = pc->next)
        if (pc->count == g->nmembers)
            cand[k++] = pc->name;
    for (gr_gmember_t *m = g->members; m; m = m->next)
        for (int32_t i = 0; i < m->nprotos; i++) {
            int32_t j;
            for (j = 0; j < ncand && strcmp(cand[j], m->protos[i].name) != 0; j++)
                ;
            if (j < ncand) {
                votes[j]++;
                break;
            }
        }
    int32_t best = 0;
    for (int32_t j = 1; j < ncand; j++)
        if (votes[j] > votes[best])
            best = j;
    const char *r = cand[best];
    free(cand);
    free(votes);
    return r;
}

/* ---- subscribed topics (consumer protocol) ---- */

static void add_subscribed(void *arg, gr_str_t topic)
{
    gr_group_t *g = arg;
    for (int32_t i = 0; i < g->nsubscribed; i++)
        if (gr_gc_str_is(g->subscribed[i], topic))
            return;
    char **n = realloc(g->subscribed, ((size_t)g->nsubscribed + 1) * sizeof *n);
    if (!n)
        abort();
    g->subscribed = n;
    g->subscribed[g->nsubscribed++] = gr_gc_strdup(topic);
}

void gr_gm_compute_subscribed(gr_group_t *g)
{
    for (int32_t i = 0; i < g->nsubscribed; i++)
        free(g->subscribed[i]);
    free(g->subscribed);
    g->subscribed = NULL;
    g->nsubscribed = 0;
    g->subscribed_known = false;
    if (!g->protocol_type || strcmp(g->protocol_type, "consumer") != 0)
        return;
    if (g->nmembers == 0) {
        g->subscribed_known = true;
        return;
    }
    if (!g->protocol_name)
        return;
    for (gr_gmember_t *m = g->members; m; m = m->next) {
        const gr_gproto_t *p = gr_gm_proto(m, g->protocol_name);
        if (!p || gr_grec_subscription_topics(p->meta, (size_t)p->meta_len, add_subscribed, g) != 0) {
            gr_log(GR_LOG_WARN, "group", "group %s: member %s has subscription metadata that does not parse",
                   g->id, m->id);
            for (int32_t i = 0; i < g->nsubscribed; i++)
                free(g->subscribed[i]);
            free(g->subscribed);
            g->subscribed = NULL;
            g->nsubscribed = 0;
            return;
        }
    }
    g->subscribed_known = true;
}

bool gr_gm_is_subscribed(const gr_group_t *g, const char *topic)
{
    if (!g->subscribed_known)
        return false;
    for (int32_t i = 0; i < g->nsubscribed; i++)
        if (strcmp(g->subscribed[i], topic) == 0)
            return true;
    return false;
}

/* ---- answering parked requests ---- */

static void join_error(gr_gjoin_fn fn, void *arg, int16_t err, gr_str_t member_id)
{
    gr_JoinGroupResponse r;
    gr_JoinGroupResponse_init(&r);
    r.ErrorCode = err;
    r.MemberId = member_id.len >= 0 ? member_id : gr_str("");
    r.ProtocolName = gr_str(NULL);
    fn(arg, &r);
}

static void sync_error(gr_gsync_fn fn, void *arg, int16_t err)
{
    gr_SyncGroupResponse r;
    gr_SyncGroupResponse_init(&r);
    r.ErrorCode = err;
    r.Assignment.ptr = (const uint8_t *)"";
    r.Assignment.len = 0;
    fn(arg, &r);
}

/* Completes a parked JoinGroup; false when none was parked. */
static bool complete_join(gr_group_t *g, gr_gmember_t *m, const gr_JoinGroupResponse *r)
{
    if (!m->join_fn)
        return false;
    gr_gjoin_fn fn = m->join_fn;
    void *arg = m->join_arg;
    m->join_fn = NULL;
    m->join_arg = NULL;
    g->nawaiting_join--;
    fn(arg, r);
    return true;
}

static bool complete_sync(gr_gmember_t *m, const gr_SyncGroupResponse *r)
{
    if (!m->sync_fn)
        return false;
    gr_gsync_fn fn = m->sync_fn;
    void *arg = m->sync_arg;
    m->sync_fn = NULL;
    m->sync_arg = NULL;
    fn(arg, r);
    return true;
}

void gr_gm_fail_parked(gr_gmember_t *m, int16_t err)
{
    if (m->join_fn) {
        gr_JoinGroupResponse r;
        gr_JoinGroupResponse_init(&r);
        r.ErrorCode = err;
        r.MemberId = gr_str(m->id);
        r.ProtocolName = gr_str(NULL);
        complete_join(m->grp, m, &r);
    }
    if (m->sync_fn) {
        gr_gsync_fn fn = m->sync_fn;
        void *arg = m->sync_arg;
        m->sync_fn = NULL;
        sync_error(fn, arg, err);
    }
}

/* The JoinGroup answer of a completed join (members only for the leader:
 * each member's id, instance id and metadata for the chosen protocol). */
static void join_success(gr_group_t *g, gr_gmember_t *m, bool with_members, const char *leader,
                         bool skip_assignment, gr_JoinGroupResponse *r)
{
    gr_JoinGroupResponse_init(r);
    r->GenerationId = g->generation;
    r->ProtocolName = gr_str(g->protocol_name);
    r->ProtocolType = gr_str(g->protocol_type);
    r->Leader = gr_str(leader ? leader : "");
    r->MemberId = gr_str(m->id);
    r->SkipAssignment = skip_assignment;
    if (!with_members)
        return;
    r->Members = xcalloc((size_t)g->nmembers, sizeof *r->Members);
    int32_t i = 0;
    for (gr_gmember_t *x = g->members; x; x = x->next, i++) {
        gr_JoinGroupResponse_JoinGroupResponseMember *rm = &r->Members[i];
        rm->MemberId = gr_str(x->id);
        rm->GroupInstanceId = gr_str(x->instance_id);
        const gr_gproto_t *p = g->protocol_name ? gr_gm_proto(x, g->protocol_name) : NULL;
        rm->Metadata.ptr = p ? p->meta : (const uint8_t *)"";
        rm->Metadata.len = p ? p->meta_len : 0;
    }
    r->Members_count = g->nmembers;
}

/* ---- adding and removing members ---- */

static void hb_timer_fn(gr_gcoord_t *c, gr_gtimer_t *t);
static void pending_timer_fn(gr_gcoord_t *c, gr_gtimer_t *t);

static void schedule_heartbeat(gr_gcoord_t *c, gr_gmember_t *m, int64_t ms)
{
    gr_gc_timer_arm(c, &m->hb, ms);
}

void gr_gm_heartbeat_member(gr_gcoord_t *c, gr_group_t *g, gr_gmember_t *m)
{
    (void)g;
    schedule_heartbeat(c, m, m->session_timeout_ms);
}

static gr_gmember_t *member_new(gr_group_t *g, const char *id, const gr_gclient_t *cl,
                                const gr_JoinGroupRequest *rq, int32_t rebalance_ms)
{
    gr_gmember_t *m = xcalloc(1, sizeof *m);
    m->grp = g;
    m->id = gr_gc_strdup(gr_str(id));
    m->instance_id = rq->GroupInstanceId.len >= 0 ? gr_gc_strdup(rq->GroupInstanceId) : NULL;
    m->client_id = gr_gc_strdup(cl->client_id);
    m->client_host = gr_gc_strdup(gr_str(cl->client_host ? cl->client_host : ""));
    m->protocol_type = gr_gc_strdup(rq->ProtocolType);
    m->rebalance_timeout_ms = rebalance_ms;
    m->session_timeout_ms = rq->SessionTimeoutMs;
    member_set_protos(m, rq);
    m->assignment = xcalloc(1, 1);
    gr_gc_timer_init(&m->hb, hb_timer_fn);
    return m;
}

static void group_add(gr_gcoord_t *c, gr_group_t *g, gr_gmember_t *m, gr_gjoin_fn fn, void *arg)
{
    if (g->nmembers == 0) {
        free(g->protocol_type);
        g->protocol_type = gr_gc_strdup(gr_str(m->protocol_type));
    }
    gr_gmember_t **tail = &g->members;
    while (*tail)
        tail = &(*tail)->next;
    *tail = m;
    g->nmembers++;
    gr_gm_protos_add(g, m, 1);
    if (fn) {
        m->join_fn = fn;
        m->join_arg = arg;
        g->nawaiting_join++;
    }
    for (gr_gpending_t **pp = &g->pending; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->id, m->id) == 0) {
            gr_gpending_t *p = *pp;
            *pp = p->next;
            g->npending--;
            gr_gm_pending_free(c, p);
            break;
        }
    if (!g->leader)
        g->leader = m;
}

/* Kafka's ClassicGroup.remove: parked requests of the member are answered
 * with UNKNOWN_MEMBER_ID (Kafka leaves a parked SyncGroup to the client's
 * timeout; we must answer every request). */
static void member_remove(gr_gcoord_t *c, gr_group_t *g, gr_gmember_t *m)
{
    for (gr_gmember_t **pp = &g->members; *pp; pp = &(*pp)->next)
        if (*pp == m) {
            *pp = m->next;
            g->nmembers--;
            break;
        }
    gr_gm_protos_add(g, m, -1);
    gr_gm_fail_parked(m, GR_KERR_UNKNOWN_MEMBER_ID);
    if (m->pending_sync) {
        m->pending_sync = false;
        g->npending_sync--;
    }
    if (g->leader == m)
        g->leader = g->members;
    gr_gm_free(c, m);
}

static void pending_remove(gr_gcoord_t *c, gr_group_t *g, gr_gpending_t *p)
{
    for (gr_gpending_t **pp = &g->pending; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            g->npending--;
            break;
        }
    gr_gm_pending_free(c, p);
}

static void update_member(gr_group_t *g, gr_gmember_t *m, const gr_JoinGroupRequest *rq, int32_t rebalance_ms,
                          gr_gjoin_fn fn, void *arg)
{
    gr_gm_protos_add(g, m, -1);
    member_set_protos(m, rq);
    gr_gm_protos_add(g, m, 1);
    m->rebalance_timeout_ms = rebalance_ms;
    m->session_timeout_ms = rq->SessionTimeoutMs;
    if (m->join_fn) {
        /* A second JoinGroup while one is parked (a client retrying on a
         * new connection): the first is answered now, the new one parked. */
        gr_gjoin_fn old = m->join_fn;
        void *old_arg = m->join_arg;
        m->join_fn = NULL;
        join_error(old, old_arg, GR_KERR_REBALANCE_IN_PROGRESS, gr_str(m->id));
        g->nawaiting_join--;
    }
    m->join_fn = fn;
    m->join_arg = arg;
    g->nawaiting_join++;
}

int16_t gr_gm_validate_member(gr_group_t *g, gr_str_t member_id, gr_str_t instance_id)
{
    if (instance_id.len >= 0) {
        gr_gmember_t *m = static_member(g, instance_id);
        if (!m)
            return GR_KERR_UNKNOWN_MEMBER_ID;
        if (!gr_gc_str_is(m->id, member_id)) {
            gr_log(GR_LOG_INFO, "group", "group %s: static member %.*s is fenced: its member id is %s, not %.*s",
                   g->id, (int)instance_id.len, instance_id.ptr, m->id, member_id.len > 0 ? (int)member_id.len : 0,
                   member_id.len > 0 ? member_id.ptr : "");
            return GR_KERR_FENCED_INSTANCE_ID;
        }
        return 0;
    }
    return gr_gm_find(g, member_id) ? 0 : GR_KERR_UNKNOWN_MEMBER_ID;
}

/* ---- rebalancing ---- */

static void complete_join_phase(gr_gcoord_t *c, gr_group_t *g);

static void propagate_assignment(gr_gcoord_t *c, gr_group_t *g, int16_t err)
{
    for (gr_gmember_t *m = g->members; m; m = m->next) {
        gr_SyncGroupResponse r;
        gr_SyncGroupResponse_init(&r);
        r.ErrorCode = err;
        r.ProtocolType = gr_str(g->protocol_type);
        r.ProtocolName = gr_str(g->protocol_name);
        r.Assignment.ptr = m->assignment;
        r.Assignment.len = m->assignment_len;
        if (complete_sync(m, &r))
            schedule_heartbeat(c, m, m->session_timeout_ms);
    }
}

static void clear_assignment(gr_gmember_t *m)
{
    m->assignment_len = 0;
}

static void reset_and_propagate(gr_gcoord_t *c, gr_group_t *g, int16_t err)
{
    for (gr_gmember_t *m = g->members; m; m = m->next)
        clear_assignment(m);
    propagate_assignment(c, g, err);
}

static void maybe_complete_join_else_schedule(gr_gcoord_t *c, gr_group_t *g)
{
    if (all_members_joined(g)) {
        complete_join_phase(c, g);
        return;
    }
    g->join_mode = GR_GJOIN_TIMER_NORMAL;
    gr_gc_timer_arm(c, &g->join_timer, rebalance_timeout(g));
}

static void prepare_rebalance(gr_gcoord_t *c, gr_group_t *g, const char *reason)
{
    if (g->state == GR_GSTATE_COMPLETING)
        reset_and_propagate(c, g, GR_KERR_REBALANCE_IN_PROGRESS);
    gr_gc_timer_cancel(c, &g->sync_timer);
    bool initial = g->state == GR_GSTATE_EMPTY;
    if (initial) {
        int32_t delay = c->cfg.initial_rebalance_delay_ms;
        int32_t remaining = rebalance_timeout(g) - delay;
        g->join_mode = GR_GJOIN_TIMER_INITIAL;
        g->join_delay_ms = delay;
        g->join_remaining_ms = remaining > 0 ? remaining : 0;
        gr_gc_timer_arm(c, &g->join_timer, delay);
    }
    gr_gc_transition(g, GR_GSTATE_PREPARING);
    gr_log(GR_LOG_INFO, "group", "preparing to rebalance group %s in state PreparingRebalance with old generation %d "
           "(reason: %s)", g->id, g->generation, reason);
    if (!initial)
        maybe_complete_join_else_schedule(c, g);
}

static void maybe_complete_join_phase(gr_gcoord_t *c, gr_group_t *g)
{
    if (g->state == GR_GSTATE_PREPARING && all_members_joined(g) && g->prev_state != GR_GSTATE_EMPTY)
        complete_join_phase(c, g);
}

static void maybe_prepare_rebalance_or_complete_join(gr_gcoord_t *c, gr_group_t *g, const char *reason)
{
    if (g->state == GR_GSTATE_STABLE || g->state == GR_GSTATE_COMPLETING || g->state == GR_GSTATE_EMPTY)
        prepare_rebalance(c, g, reason);
    else
        maybe_complete_join_phase(c, g);
}

static bool maybe_elect_new_joined_leader(gr_group_t *g)
{
    if (!g->leader)
        return false;
    if (g->leader->join_fn)
        return true;
    for (gr_gmember_t *m = g->members; m; m = m->next)
        if (m->join_fn) {
            gr_log(GR_LOG_INFO, "group", "group %s: leader %s did not rejoin; %s is the new leader", g->id,
                   g->leader->id, m->id);
            g->leader = m;
            return true;
        }
    return false;
}

static void init_next_generation(gr_group_t *g)
{
    g->generation++;
    free(g->protocol_name);
    g->protocol_name = NULL;
    if (g->nmembers > 0) {
        g->protocol_name = gr_gc_strdup(gr_str(select_protocol(g)));
        gr_gm_compute_subscribed(g);
        gr_gc_transition(g, GR_GSTATE_COMPLETING);
    } else {
        gr_gm_compute_subscribed(g);
        gr_gc_transition(g, GR_GSTATE_EMPTY);
    }
    for (gr_gmember_t *m = g->members; m; m = m->next)
        m->pending_sync = false;
    g->npending_sync = 0;
}

/* Kafka's completeClassicGroupJoin. */
static void complete_join_phase(gr_gcoord_t *c, gr_group_t *g)
{
    gr_gc_timer_cancel(c, &g->join_timer);
    g->join_mode = GR_GJOIN_TIMER_NONE;
    /* Dynamic members that did not rejoin in time leave the group. */
    for (gr_gmember_t *m = g->members, *next; m; m = next) {
        next = m->next;
        if (!m->join_fn && !m->instance_id) {
            gr_log(GR_LOG_INFO, "group", "group %s: removing member %s, which did not rejoin in time", g->id, m->id);
            member_remove(c, g, m);
        }
    }
    if (!maybe_elect_new_joined_leader(g) && g->nmembers > 0) {
        gr_log(GR_LOG_WARN, "group", "group %s could not complete the rebalance: no member rejoined", g->id);
        g->join_mode = GR_GJOIN_TIMER_NORMAL;
        gr_gc_timer_arm(c, &g->join_timer, rebalance_timeout(g));
        return;
    }
    init_next_generation(g);
    if (g->state == GR_GSTATE_EMPTY) {
        gr_log(GR_LOG_INFO, "group", "group %s with generation %d is now empty", g->id, g->generation);
        gr_gc_write_group(c, g);
        return;
    }
    gr_log(GR_LOG_INFO, "group", "stabilized group %s generation %d (protocol %s) with %d member(s)", g->id,
           g->generation, g->protocol_name, g->nmembers);
    for (gr_gmember_t *m = g->members; m; m = m->next) {
        gr_JoinGroupResponse r;
        bool leader = g->leader == m;
        join_success(g, m, leader, g->leader ? g->leader->id : NULL, false, &r);
        complete_join(g, m, &r);
        free(r.Members);
        schedule_heartbeat(c, m, m->session_timeout_ms);
        m->is_new = false;
        m->pending_sync = true;
        g->npending_sync++;
    }
    g->sync_generation = g->generation;
    gr_gc_timer_arm(c, &g->sync_timer, rebalance_timeout(g));
}

void gr_gm_join_timer(gr_gcoord_t *c, gr_group_t *g)
{
    if (g->join_mode == GR_GJOIN_TIMER_INITIAL && g->new_member_added && g->join_remaining_ms != 0) {
        /* A member joined during the delay: wait once more, within the
         * rebalance timeout. */
        g->new_member_added = false;
        int32_t delay = c->cfg.initial_rebalance_delay_ms < g->join_remaining_ms ? c->cfg.initial_rebalance_delay_ms
                                                                               : g->join_remaining_ms;
        int32_t remaining = g->join_remaining_ms - g->join_delay_ms;
        g->join_delay_ms = delay;
        g->join_remaining_ms = remaining > 0 ? remaining : 0;
        gr_gc_timer_arm(c, &g->join_timer, delay);
        return;
    }
    complete_join_phase(c, g);
}

static void remove_pending_sync_member(gr_gcoord_t *c, gr_group_t *g, gr_gmember_t *m)
{
    if (m->pending_sync) {
        m->pending_sync = false;
        g->npending_sync--;
    }
    switch (g->state) {
    case GR_GSTATE_COMPLETING:
    case GR_GSTATE_STABLE:
        if (g->npending_sync == 0)
            gr_gc_timer_cancel(c, &g->sync_timer);
        break;
    default:
        gr_gc_timer_cancel(c, &g->sync_timer);
    }
}

/* Members that got their JoinGroup answer but never sent SyncGroup within
 * the rebalance timeout are removed (Kafka's expirePendingSync). */
void gr_gm_sync_timer(gr_gcoord_t *c, gr_group_t *g)
{
    if (g->sync_generation != g->generation)
        return;
    if ((g->state != GR_GSTATE_COMPLETING && g->state != GR_GSTATE_STABLE) || g->npending_sync == 0)
        return;
    for (gr_gmember_t *m = g->members, *next; m; m = next) {
        next = m->next;
        if (m->pending_sync) {
            gr_log(GR_LOG_INFO, "group", "group %s: removing member %s, which did not send SyncGroup in time",
                   g->id, m->id);
            member_remove(c, g, m);
        }
    }
    prepare_rebalance(c, g, "members did not sync in time");
}

/* Kafka's removeMemberAndUpdateClassicGroup. */
static void remove_member_and_update(gr_gcoord_t *c, gr_group_t *g, gr_gmember_t *m, const char *reason)
{
    gr_JoinGroupResponse r;
    gr_JoinGroupResponse_init(&r);
    r.ErrorCode = GR_KERR_UNKNOWN_MEMBER_ID;
    r.ProtocolName = gr_str(NULL);
    complete_join(g, m, &r);
    member_remove(c, g, m);
    if (g->state == GR_GSTATE_STABLE || g->state == GR_GSTATE_COMPLETING)
        maybe_prepare_rebalance_or_complete_join(c, g, reason);
    else if (g->state == GR_GSTATE_PREPARING)
        maybe_complete_join_phase(c, g);
}

static void hb_timer_fn(gr_gcoord_t *c, gr_gtimer_t *t)
{
    gr_gmember_t *m = (gr_gmember_t *)((char *)t - offsetof(gr_gmember_t, hb));
    gr_group_t *g = m->grp;
    /* New members may expire while parked; others parked in a join or sync
     * satisfy their session (Kafka's hasSatisfiedHeartbeat). */
    bool satisfied = !m->is_new && (m->join_fn || m->sync_fn);
    if (satisfied)
        return;
    gr_log(GR_LOG_INFO, "group", "group %s: member %s %s", g->id, m->id,
           m->is_new ? "did not complete its first join in time" : "failed to heartbeat within its session timeout");
    remove_member_and_update(c, g, m, "a member's session expired");
}

static void pending_timer_fn(gr_gcoord_t *c, gr_gtimer_t *t)
{
    gr_gpending_t *p = (gr_gpending_t *)((char *)t - offsetof(gr_gpending_t, hb));
    gr_group_t *g = p->grp;
    gr_log(GR_LOG_INFO, "group", "group %s: pending member %s did not rejoin within its session timeout", g->id, p->id);
    pending_remove(c, g, p);
    if (g->state == GR_GSTATE_PREPARING)
        maybe_complete_join_phase(c, g);
}

void gr_gm_prepare_rebalance(gr_gcoord_t *c, gr_group_t *g, const char *reason)
{
    prepare_rebalance(c, g, reason);
}

void gr_gm_adopt(gr_gcoord_t *c, gr_group_t *g, gr_gmember_t *m)
{
    m->grp = g;
    gr_gc_timer_init(&m->hb, hb_timer_fn);
    gr_gmember_t **tail = &g->members;
    while (*tail)
        tail = &(*tail)->next;
    *tail = m;
    m->next = NULL;
    g->nmembers++;
    gr_gm_protos_add(g, m, 1);
    if (!g->leader)
        g->leader = m;
    schedule_heartbeat(c, m, m->session_timeout_ms);
}

void gr_gm_loaded(gr_gcoord_t *c, gr_group_t *g)
{
    for (gr_gmember_t *m = g->members; m; m = m->next) {
        m->hb.fn = hb_timer_fn;
        schedule_heartbeat(c, m, m->session_timeout_ms);
    }
}

/* ---- JoinGroup ---- */

typedef struct join_ctx_s {
    gr_gcoord_t             *c;
    const gr_gclient_t      *cl;
    const gr_JoinGroupRequest *rq;
    int32_t                  rebalance_ms;
    gr_gjoin_fn              fn;
    void                    *arg;
} join_ctx_t;

static void add_member_then_rebalance(join_ctx_t *x, gr_group_t *g, const char *member_id)
{
    gr_gmember_t *m = member_new(g, member_id, x->cl, x->rq, x->rebalance_ms);
    m->is_new = true;
    if (g->state == GR_GSTATE_PREPARING && g->prev_state == GR_GSTATE_EMPTY)
        g->new_member_added = true;
    group_add(x->c, g, m, x->fn, x->arg);
    /* A new member's session does not run yet; its JoinGroup times out
     * after Kafka's fixed new-member join timeout instead. */
    schedule_heartbeat(x->c, m, x->c->cfg.new_member_join_timeout_ms);
    gr_log(GR_LOG_INFO, "group", "member %s joins group %s (state %s)", member_id, g->id,
           gr_gc_state_name(g->state));
    maybe_prepare_rebalance_or_complete_join(x->c, g, "a new member joined");
}

static void update_member_then_rebalance(join_ctx_t *x, gr_group_t *g, gr_gmember_t *m, const char *reason)
{
    update_member(g, m, x->rq, x->rebalance_ms, x->fn, x->arg);
    maybe_prepare_rebalance_or_complete_join(x->c, g, reason);
}

static char *new_member_id(const gr_JoinGroupRequest *rq, const gr_gclient_t *cl)
{
    gr_uuid_t u;
    gr_uuid_random(&u);
    u.b[6] = (uint8_t)((u.b[6] & 0x0f) | 0x40);
    u.b[8] = (uint8_t)((u.b[8] & 0x3f) | 0x80);
    gr_str_t prefix = rq->GroupInstanceId.len >= 0 ? rq->GroupInstanceId : cl->client_id;
    int plen = prefix.len > 0 ? (prefix.len > 1024 ? 1024 : (int)prefix.len) : 0;
    char *id = xcalloc((size_t)plen + 40, 1);
    int n = snprintf(id, (size_t)plen + 40, "%.*s-", plen, plen ? prefix.ptr : "");
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            id[n++] = '-';
        id[n++] = hex[u.b[i] >> 4];
        id[n++] = hex[u.b[i] & 15];
    }
    id[n] = 0;
    return id;
}

/* Kafka's updateStaticMemberThenRebalanceOrCompleteJoin. */
static void update_static_member(join_ctx_t *x, gr_group_t *g, gr_gmember_t *m, char *new_id)
{
    gr_gcoord_t *c = x->c;
    char *old_leader = g->leader ? gr_gc_strdup(gr_str(g->leader->id)) : NULL;
    char *old_id = m->id;
    /* Fence whoever waits under the old member id. */
    if (m->join_fn) {
        gr_JoinGroupResponse r;
        gr_JoinGroupResponse_init(&r);
        r.ErrorCode = GR_KERR_FENCED_INSTANCE_ID;
        r.MemberId = gr_str(old_id);
        r.ProtocolName = gr_str(NULL);
        complete_join(g, m, &r);
    }
    if (m->sync_fn) {
        gr_gsync_fn fn = m->sync_fn;
        void *arg = m->sync_arg;
        m->sync_fn = NULL;
        sync_error(fn, arg, GR_KERR_FENCED_INSTANCE_ID);
    }
    m->id = new_id;
    schedule_heartbeat(c, m, m->session_timeout_ms);
    /* Kept to undo the change if it cannot be written. */
    gr_gproto_t *old_protos = m->protos;
    int32_t old_nprotos = m->nprotos;
    int32_t old_rebalance = m->rebalance_timeout_ms, old_session = m->session_timeout_ms;
    gr_gm_protos_add(g, m, -1);
    m->protos = NULL;
    m->nprotos = 0;
    member_set_protos(m, x->rq);
    gr_gm_protos_add(g, m, 1);
    m->rebalance_timeout_ms = x->rebalance_ms;
    m->session_timeout_ms = x->rq->SessionTimeoutMs;
    m->join_fn = x->fn;
    m->join_arg = x->arg;
    g->nawaiting_join++;

    if (g->state == GR_GSTATE_STABLE) {
        const char *next = select_protocol(g);
        if (g->protocol_name && strcmp(g->protocol_name, next) == 0) {
            /* Nothing the assignment depends on changed: no rebalance, the
             * new member id is only recorded. */
            int16_t err = gr_gc_write_group(c, g);
            if (err) {
                gr_gm_protos_add(g, m, -1);
                free_protos(m->protos, m->nprotos);
                m->protos = old_protos;
                m->nprotos = old_nprotos;
                old_protos = NULL;
                old_nprotos = 0;
                gr_gm_protos_add(g, m, 1);
                m->rebalance_timeout_ms = old_rebalance;
                m->session_timeout_ms = old_session;
                m->join_fn = NULL;
                g->nawaiting_join--;
                m->id = old_id;
                old_id = new_id;
                schedule_heartbeat(c, m, m->session_timeout_ms);
                gr_JoinGroupResponse r;
                gr_JoinGroupResponse_init(&r);
                r.ErrorCode = gr_gc_append_error(err);
                r.MemberId = gr_str("");
                r.GenerationId = g->generation;
                r.ProtocolName = gr_str(g->protocol_name);
                r.ProtocolType = gr_str(g->protocol_type);
                r.Leader = gr_str(old_leader ? old_leader : "");
                x->fn(x->arg, &r);
            } else if (x->cl->api_version >= 9) {
                /* The leader learns it is the leader but need not assign. */
                bool leader = g->leader == m;
                gr_JoinGroupResponse r;
                join_success(g, m, leader, g->leader ? g->leader->id : NULL, leader, &r);
                complete_join(g, m, &r);
                free(r.Members);
            } else {
                /* Older clients are told the old leader id, so a rejoining
                 * static leader does not run an assignment. */
                gr_JoinGroupResponse r;
                join_success(g, m, false, old_leader, false, &r);
                complete_join(g, m, &r);
            }
        } else {
            maybe_prepare_rebalance_or_complete_join(c, g, "a static member rejoined with other protocols");
        }
    } else if (g->state == GR_GSTATE_COMPLETING) {
        prepare_rebalance(c, g, "a static member rejoined during CompletingRebalance");
    } else {
        maybe_complete_join_phase(c, g);
    }
    free_protos(old_protos, old_nprotos);
    free(old_id);
    free(old_leader);
}

static void join_new_member(join_ctx_t *x, gr_group_t *g)
{
    const gr_JoinGroupRequest *rq = x->rq;
    if (!supports_protocols(g, rq)) {
        join_error(x->fn, x->arg, GR_KERR_INCONSISTENT_GROUP_PROTOCOL, gr_str(""));
        return;
    }
    char *id = new_member_id(rq, x->cl);
    if (rq->GroupInstanceId.len >= 0) {
        gr_gmember_t *existing = static_member(g, rq->GroupInstanceId);
        if (existing) {
            gr_log(GR_LOG_INFO, "group", "static member %.*s of group %s rejoins: member id %s replaces %s",
                   (int)rq->GroupInstanceId.len, rq->GroupInstanceId.ptr, g->id, id, existing->id);
            update_static_member(x, g, existing, id); /* takes id */
            return;
        }
        add_member_then_rebalance(x, g, id);
    } else if (x->cl->api_version >= 4) {
        /* Two-step join: the member gets its id and must rejoin with it
         * within its session timeout. */
        gr_gpending_t *p = xcalloc(1, sizeof *p);
        p->grp = g;
        p->id = gr_gc_strdup(gr_str(id));
        gr_gc_timer_init(&p->hb, pending_timer_fn);
        p->next = g->pending;
        g->pending = p;
        g->npending++;
        gr_gc_timer_arm(x->c, &p->hb, rq->SessionTimeoutMs);
        join_error(x->fn, x->arg, GR_KERR_MEMBER_ID_REQUIRED, gr_str(id));
    } else {
        add_member_then_rebalance(x, g, id);
    }
    free(id);
}

static void join_existing_member(join_ctx_t *x, gr_group_t *g)
{
    const gr_JoinGroupRequest *rq = x->rq;
    gr_str_t mid = rq->MemberId;
    if (!supports_protocols(g, rq)) {
        join_error(x->fn, x->arg, GR_KERR_INCONSISTENT_GROUP_PROTOCOL, mid);
        return;
    }
    if (pending_find(g, mid)) {
        if (rq->GroupInstanceId.len >= 0) {
            join_error(x->fn, x->arg, GR_KERR_UNKNOWN_SERVER_ERROR, mid);
            return;
        }
        char *id = gr_gc_strdup(mid);
        add_member_then_rebalance(x, g, id);
        free(id);
        return;
    }
    int16_t err = gr_gm_validate_member(g, mid, rq->GroupInstanceId);
    if (err) {
        join_error(x->fn, x->arg, err, mid);
        return;
    }
    gr_gmember_t *m = gr_gm_find(g, mid);
    switch (g->state) {
    case GR_GSTATE_PREPARING:
        update_member_then_rebalance(x, g, m, "a member rejoined");
        return;
    case GR_GSTATE_COMPLETING:
        if (member_matches(m, rq)) {
            /* The member missed our JoinGroup answer: send it again. */
            gr_JoinGroupResponse r;
            bool leader = g->leader == m;
            join_success(g, m, leader, g->leader ? g->leader->id : NULL, false, &r);
            x->fn(x->arg, &r);
            free(r.Members);
        } else {
            update_member_then_rebalance(x, g, m, "a member changed its metadata");
        }
        return;
    case GR_GSTATE_STABLE:
        if (g->leader == m) {
            /* The leader may rejoin to force a rebalance (e.g. for new
             * partitions). */
            update_member_then_rebalance(x, g, m, "the leader rejoined");
        } else if (!member_matches(m, rq)) {
            update_member_then_rebalance(x, g, m, "a member changed its metadata");
        } else {
            gr_JoinGroupResponse r;
            join_success(g, m, false, g->leader ? g->leader->id : NULL, false, &r);
            x->fn(x->arg, &r);
        }
        return;
    default:
        join_error(x->fn, x->arg, GR_KERR_UNKNOWN_MEMBER_ID, mid);
    }
}

static bool accept_joining_member(gr_gcoord_t *c, gr_group_t *g, gr_str_t mid)
{
    gr_gmember_t *m = gr_gm_find(g, mid);
    switch (g->state) {
    case GR_GSTATE_PREPARING:
        return (m && m->join_fn) || g->nawaiting_join < c->cfg.max_size;
    case GR_GSTATE_COMPLETING:
    case GR_GSTATE_STABLE:
        return m || g->nmembers < c->cfg.max_size;
    default:
        return true;
    }
}

void gr_gcoord_join(gr_gcoord_t *c, const gr_gclient_t *cl, const gr_JoinGroupRequest *rq, gr_gjoin_fn fn,
                    void *arg)
{
    if (rq->GroupId.len <= 0) {
        join_error(fn, arg, GR_KERR_INVALID_GROUP_ID, rq->MemberId);
        return;
    }
    if (rq->SessionTimeoutMs < c->cfg.min_session_timeout_ms || rq->SessionTimeoutMs > c->cfg.max_session_timeout_ms) {
        join_error(fn, arg, GR_KERR_INVALID_SESSION_TIMEOUT, rq->MemberId);
        return;
    }
    int16_t err = gr_gcoord_status(c, rq->GroupId);
    if (err) {
        join_error(fn, arg, err, rq->MemberId);
        return;
    }
    join_ctx_t x = {c, cl, rq, cl->api_version == 0 ? rq->SessionTimeoutMs : rq->RebalanceTimeoutMs, fn, arg};
    bool unknown = rq->MemberId.len <= 0;
    gr_group_t *g = gr_gc_group_find(c, rq->GroupId);
    if (g && g->cg && g->cg->nmembers > 0) {
        /* A classic member joins a consumer group (Kafka's
         * classicGroupJoinToConsumerGroup, whatever the migration policy). */
        gr_cg_classic_join(c, g, cl, rq, x.rebalance_ms, fn, arg);
        return;
    }
    if (g && g->cg) {
        err = gr_gcoord_cg_classic_join(c, rq->GroupId);
        if (err) {
            join_error(fn, arg, err, rq->MemberId);
            return;
        }
    }
    if (!g) {
        if (!unknown) {
            join_error(fn, arg, GR_KERR_UNKNOWN_MEMBER_ID, rq->MemberId);
            return;
        }
        g = gr_gc_group_create(c, rq->GroupId);
        if (!g) {
            join_error(fn, arg, GR_KERR_UNKNOWN_SERVER_ERROR, rq->MemberId);
            return;
        }
    }
    if (!accept_joining_member(c, g, rq->MemberId)) {
        gr_gmember_t *m = gr_gm_find(g, rq->MemberId);
        if (m)
            member_remove(c, g, m);
        gr_gpending_t *p = pending_find(g, rq->MemberId);
        if (p)
            pending_remove(c, g, p);
        join_error(fn, arg, GR_KERR_GROUP_MAX_SIZE_REACHED, gr_str(""));
    } else if (unknown) {
        join_new_member(&x, g);
    } else {
        join_existing_member(&x, g);
    }
}

/* ---- SyncGroup ---- */

static bool protocol_inconsistent(gr_str_t req, const char *grp)
{
    return req.len >= 0 && grp && !gr_gc_str_is(grp, req);
}

void gr_gcoord_sync(gr_gcoord_t *c, const gr_gclient_t *cl, const gr_SyncGroupRequest *rq, gr_gsync_fn fn,
                    void *arg)
{
    /* From v5 both are mandatory (Kafka checks this first). */
    if (cl->api_version >= 5 && (rq->ProtocolType.len < 0 || rq->ProtocolName.len < 0)) {
        sync_error(fn, arg, GR_KERR_INCONSISTENT_GROUP_PROTOCOL);
        return;
    }
    if (rq->GroupId.len <= 0) {
        sync_error(fn, arg, GR_KERR_INVALID_GROUP_ID);
        return;
    }
    int16_t err = gr_gcoord_status(c, rq->GroupId);
    if (err) {
        sync_error(fn, arg, err);
        return;
    }
    gr_group_t *g = gr_gc_group_find(c, rq->GroupId);
    if (!g || (g->cg && g->cg->nmembers == 0)) {
        sync_error(fn, arg, GR_KERR_UNKNOWN_MEMBER_ID);
        return;
    }
    if (g->cg) {
        gr_cg_classic_sync(c, g, rq, fn, arg);
        return;
    }
    err = gr_gm_validate_member(g, rq->MemberId, rq->GroupInstanceId);
    if (!err && rq->GenerationId != g->generation)
        err = GR_KERR_ILLEGAL_GENERATION;
    if (!err && (protocol_inconsistent(rq->ProtocolType, g->protocol_type) ||
                 protocol_inconsistent(rq->ProtocolName, g->protocol_name)))
        err = GR_KERR_INCONSISTENT_GROUP_PROTOCOL;
    if (err) {
        sync_error(fn, arg, err);
        return;
    }
    gr_gmember_t *m = gr_gm_find(g, rq->MemberId);
    switch (g->state) {
    case GR_GSTATE_EMPTY:
        sync_error(fn, arg, GR_KERR_UNKNOWN_MEMBER_ID);
        return;
    case GR_GSTATE_PREPARING:
        sync_error(fn, arg, GR_KERR_REBALANCE_IN_PROGRESS);
        return;
    case GR_GSTATE_COMPLETING:
        break;
    case GR_GSTATE_STABLE: {
        remove_pending_sync_member(c, g, m);
        gr_SyncGroupResponse r;
        gr_SyncGroupResponse_init(&r);
        r.ProtocolType = gr_str(g->protocol_type);
        r.ProtocolName = gr_str(g->protocol_name);
        r.Assignment.ptr = m->assignment;
        r.Assignment.len = m->assignment_len;
        fn(arg, &r);
        return;
    }
    default:
        sync_error(fn, arg, GR_KERR_COORDINATOR_NOT_AVAILABLE);
        return;
    }

    /* CompletingRebalance: park until the leader's assignment is stored. */
    if (m->sync_fn) {
        gr_gsync_fn old = m->sync_fn;
        void *old_arg = m->sync_arg;
        m->sync_fn = NULL;
        sync_error(old, old_arg, GR_KERR_REBALANCE_IN_PROGRESS);
    }
    m->sync_fn = fn;
    m->sync_arg = arg;
    remove_pending_sync_member(c, g, m);
    if (g->leader != m)
        return;
    gr_log(GR_LOG_INFO, "group", "assignment received from leader %s of group %s for generation %d", m->id, g->id,
           g->generation);
    for (gr_gmember_t *x = g->members; x; x = x->next)
        clear_assignment(x);
    for (int32_t i = 0; i < rq->Assignments_count; i++) {
        const gr_SyncGroupRequest_SyncGroupRequestAssignment *a = &rq->Assignments[i];
        gr_gmember_t *x = gr_gm_find(g, a->MemberId);
        if (!x)
            continue;
        int32_t len = a->Assignment.len > 0 ? a->Assignment.len : 0;
        uint8_t *copy = xcalloc((size_t)len + 1, 1);
        if (len)
            memcpy(copy, a->Assignment.ptr, (size_t)len);
        free(x->assignment);
        x->assignment = copy;
        x->assignment_len = len;
    }
    err = gr_gc_write_group(c, g);
    if (err) {
        int16_t e = gr_gc_append_error(err);
        reset_and_propagate(c, g, e);
        maybe_prepare_rebalance_or_complete_join(c, g, "the group's assignment could not be stored");
        return;
    }
    propagate_assignment(c, g, GR_KERR_NONE);
    gr_gc_transition(g, GR_GSTATE_STABLE);
}

/* ---- Heartbeat ---- */

int16_t gr_gcoord_heartbeat(gr_gcoord_t *c, const gr_HeartbeatRequest *rq)
{
    if (rq->GroupId.len <= 0)
        return GR_KERR_INVALID_GROUP_ID;
    int16_t err = gr_gcoord_status(c, rq->GroupId);
    if (err)
        return err;
    gr_group_t *g = gr_gc_group_find(c, rq->GroupId);
    if (!g)
        return GR_KERR_UNKNOWN_MEMBER_ID;
    if (g->cg)
        return gr_cg_classic_heartbeat(c, g, rq);
    err = gr_gm_validate_member(g, rq->MemberId, rq->GroupInstanceId);
    if (err)
        return err;
    if (rq->GenerationId != g->generation)
        return GR_KERR_ILLEGAL_GENERATION;
    gr_gmember_t *m = gr_gm_find(g, rq->MemberId);
    switch (g->state) {
    case GR_GSTATE_PREPARING:
        schedule_heartbeat(c, m, m->session_timeout_ms);
        return GR_KERR_REBALANCE_IN_PROGRESS;
    case GR_GSTATE_COMPLETING:
    case GR_GSTATE_STABLE:
        schedule_heartbeat(c, m, m->session_timeout_ms);
        return GR_KERR_NONE;
    default:
        return GR_KERR_UNKNOWN_MEMBER_ID;
    }
}

/* ---- LeaveGroup ---- */

static void remove_current_member(gr_gcoord_t *c, gr_group_t *g, gr_gmember_t *m, gr_str_t reason)
{
    gr_log(GR_LOG_INFO, "group", "member %s leaves group %s (reason: %.*s)", m->id, g->id,
           reason.len > 0 ? (int)reason.len : 12, reason.len > 0 ? reason.ptr : "not provided");
    gr_JoinGroupResponse r;
    gr_JoinGroupResponse_init(&r);
    r.ErrorCode = GR_KERR_UNKNOWN_MEMBER_ID;
    r.ProtocolName = gr_str(NULL);
    complete_join(g, m, &r);
    member_remove(c, g, m);
}

void gr_gcoord_leave(gr_gcoord_t *c, const gr_LeaveGroupRequest *rq, gr_arena_t *a, gr_LeaveGroupResponse *resp)
{
    int32_t n = rq->Members_count > 0 ? rq->Members_count : 0;
    resp->ErrorCode = 0;
    resp->Members = gr_arena_calloc(a, (size_t)n + 1, sizeof *resp->Members);
    if (!resp->Members) {
        resp->ErrorCode = GR_KERR_UNKNOWN_SERVER_ERROR;
        return;
    }
    if (rq->GroupId.len <= 0) {
        resp->ErrorCode = GR_KERR_INVALID_GROUP_ID;
        return;
    }
    int16_t err = gr_gcoord_status(c, rq->GroupId);
    if (err) {
        resp->ErrorCode = err;
        return;
    }
    resp->Members_count = n;
    gr_group_t *g = gr_gc_group_find(c, rq->GroupId);
    if (g && g->cg) {
        gr_cg_classic_leave(c, g, rq, resp);
        return;
    }
    int valid = 0;
    for (int32_t i = 0; i < n; i++) {
        const gr_LeaveGroupRequest_MemberIdentity *mi = &rq->Members[i];
        gr_LeaveGroupResponse_MemberResponse *r = &resp->Members[i];
        r->MemberId = mi->MemberId;
        r->GroupInstanceId = mi->GroupInstanceId;
        if (!g) {
            r->ErrorCode = GR_KERR_UNKNOWN_MEMBER_ID;
            continue;
        }
        if (mi->MemberId.len <= 0) {
            /* Removal by group.instance.id (an admin removing members). */
            gr_gmember_t *m = static_member(g, mi->GroupInstanceId);
            if (m) {
                remove_current_member(c, g, m, mi->Reason);
                valid++;
            } else {
                r->ErrorCode = GR_KERR_UNKNOWN_MEMBER_ID;
            }
            continue;
        }
        gr_gpending_t *p = pending_find(g, mi->MemberId);
        if (p) {
            pending_remove(c, g, p);
            valid++;
            continue;
        }
        err = gr_gm_validate_member(g, mi->MemberId, mi->GroupInstanceId);
        if (err) {
            r->ErrorCode = err;
            continue;
        }
        remove_current_member(c, g, gr_gm_find(g, mi->MemberId), mi->Reason);
        valid++;
    }
    if (!g || valid == 0)
        return;
    if (g->state == GR_GSTATE_STABLE || g->state == GR_GSTATE_COMPLETING)
        maybe_prepare_rebalance_or_complete_join(c, g, "members left the group");
    else if (g->state == GR_GSTATE_PREPARING)
        maybe_complete_join_phase(c, g);
}
