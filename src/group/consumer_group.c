/* KIP-848 consumer groups on the group coordinator; see consumer_group.h.
 *
 * The group has a group epoch, bumped when a member joins or leaves, when
 * a subscription or the requested server assignor changes, and when a
 * subscribed topic appears, disappears or gains partitions (checked on
 * every heartbeat against the metadata image). When the group epoch is
 * ahead of the assignment epoch, the next heartbeat runs the group's
 * assignor (the one most members ask for, else the first of
 * group.consumer.assignors) and the target assignment takes the group
 * epoch.
 *
 * Each member then reconciles towards its target as Kafka's
 * CurrentAssignmentBuilder does:
 *   - partitions it has that are no longer its target are revoked first:
 *     it is told its assignment without them, keeps its epoch and stays
 *     UNREVOKED_PARTITIONS until a heartbeat's owned partitions no longer
 *     list them (or its rebalance timeout passes: then it is removed);
 *   - partitions of its target still held by another member (assigned or
 *     being revoked) are withheld (UNRELEASED_PARTITIONS) and given once
 *     released; the member already has the target epoch;
 *   - otherwise it is STABLE at the assignment epoch.
 * A heartbeat with an epoch ahead of the member's, or behind it (except
 * the previous epoch with owned partitions within its assignment: a lost
 * response) is FENCED_MEMBER_EPOCH. Missing heartbeats for
 * group.consumer.session.timeout.ms remove the member.
 *
 * Group state: Empty (no members), Assigning (group epoch > assignment
 * epoch), Reconciling (a member not yet stable at the assignment epoch),
 * Stable.
 *
 * Members may also speak the classic protocol (m->classic): their requests
 * are in cg_classic.c, the conversions between classic and consumer groups
 * (online migration) in cg_migrate.c. A member removed for any reason goes
 * through gr_cg_fence, which may turn the group into a classic one. */
#include "group/consumer_group.h"
#include "base/err.h"
#include "base/log.h"
#include "group/assignor.h"
#include "group/cg_regex.h"
#include "group/consumer_group_int.h"
#include "protocol/errors.h"

#include <stdarg.h>
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

/* ---- partition sets ---- */

#define tpset_has gr_cg_tpset_has

bool gr_cg_tpset_has(const tpset_t *s, const gr_uuid_t *tid, int32_t p)
{
    tp_t k = {*tid, p};
    return s->n > 0 && bsearch(&k, s->v, (size_t)s->n, sizeof k, tp_cmp) != NULL;
}

int gr_cg_tpset_push(tpset_t *s, int32_t *cap, const gr_uuid_t *tid, int32_t p)
{
    if (s->n == *cap) {
        int32_t ncap = *cap ? *cap * 2 : 16;
        tp_t *v = realloc(s->v, (size_t)ncap * sizeof *v);
        if (!v)
            return GR_ENOMEM;
        s->v = v;
        *cap = ncap;
    }
    s->v[s->n++] = (tp_t){*tid, p};
    return 0;
}

static void tpset_push(tpset_t *s, int32_t *cap, const gr_uuid_t *tid, int32_t p)
{
    if (gr_cg_tpset_push(s, cap, tid, p) != 0)
        abort();
}

void gr_cg_tpset_sort(tpset_t *s)
{
    if (s->n > 1)
        qsort(s->v, (size_t)s->n, sizeof *s->v, tp_cmp);
    int32_t k = 0;
    for (int32_t i = 0; i < s->n; i++)
        if (k == 0 || tp_cmp(&s->v[k - 1], &s->v[i]) != 0)
            s->v[k++] = s->v[i];
    s->n = k;
}

#define tpset_sort gr_cg_tpset_sort

int gr_cg_tpset_copy(tpset_t *dst, const tpset_t *src)
{
    tpset_free(dst);
    if (src->n == 0)
        return 0;
    dst->v = malloc((size_t)src->n * sizeof *dst->v);
    if (!dst->v)
        return GR_ENOMEM;
    memcpy(dst->v, src->v, (size_t)src->n * sizeof *dst->v);
    dst->n = src->n;
    return 0;
}

/* ---- lookups ---- */

#define member_find gr_cg_member_find

gr_cmember_t *gr_cg_member_find(gr_cgroup_t *cg, gr_str_t id)
{
    if (id.len <= 0)
        return NULL;
    for (gr_cmember_t *m = cg->members; m; m = m->next)
        if (gr_gc_str_is(m->id, id))
            return m;
    return NULL;
}

#define static_find gr_cg_static_find

gr_cmember_t *gr_cg_static_find(gr_cgroup_t *cg, gr_str_t instance_id)
{
    if (instance_id.len < 0)
        return NULL;
    for (gr_cmember_t *m = cg->members; m; m = m->next)
        if (m->instance_id && gr_gc_str_is(m->instance_id, instance_id))
            return m;
    return NULL;
}

#define topic_by_id gr_cg_topic_by_id

const cg_topic_t *gr_cg_topic_by_id(const gr_cgroup_t *cg, const gr_uuid_t *id)
{
    for (int32_t i = 0; i < cg->ntopics; i++)
        if (gr_uuid_eq(&cg->topics[i].id, id))
            return &cg->topics[i];
    return NULL;
}

static bool member_has_name(const gr_cmember_t *m, const char *topic)
{
    for (int32_t i = 0; i < m->ntopics; i++)
        if (strcmp(m->topics[i], topic) == 0)
            return true;
    return false;
}

static int str_ptr_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

cg_regex_t *gr_cg_regex_find(gr_cgroup_t *cg, const char *re)
{
    for (cg_regex_t *x = cg->regexes; x; x = x->next)
        if (strcmp(x->re, re) == 0)
            return x;
    return NULL;
}

/* A topic the member's regular expression resolved to. */
static bool regex_has(const gr_cmember_t *m, const char *topic)
{
    if (!m->regex)
        return false;
    cg_regex_t *x = gr_cg_regex_find(m->cg, m->regex);
    return x && x->ntopics > 0 &&
           bsearch(&topic, x->topics, (size_t)x->ntopics, sizeof *x->topics, str_ptr_cmp) != NULL;
}

/* Subscribed by name or through its regular expression. */
static bool member_subscribes(const gr_cmember_t *m, const char *topic)
{
    return member_has_name(m, topic) || regex_has(m, topic);
}

static void free_names(char **v, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void gr_cg_regex_free(cg_regex_t *x)
{
    if (!x)
        return;
    if (x->compiled)
        regfree(&x->rx);
    free_names(x->topics, x->ntopics);
    free(x->re);
    free(x);
}

cg_regex_t *gr_cg_regex_add(gr_cgroup_t *cg, const char *re)
{
    cg_regex_t *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    char err[200];
    x->re = gr_gc_strdup(gr_str(re));
    x->version = -1;
    if (gr_cg_regex_compile(re, &x->rx, err, sizeof err) != 0) {
        gr_cg_regex_free(x);
        return NULL;
    }
    x->compiled = true;
    x->next = cg->regexes;
    cg->regexes = x;
    return x;
}

/* Internal topics are never matched (Kafka's Topic.isInternal). */
static bool internal_topic(const char *name)
{
    return strcmp(name, "__consumer_offsets") == 0 || strcmp(name, "__transaction_state") == 0 ||
           strcmp(name, "__share_group_state") == 0;
}

typedef struct resolve_s {
    cg_regex_t *x;
    char      **v;
    int32_t     n, cap;
} resolve_t;

static void resolve_one(void *ctx, const char *name)
{
    resolve_t *r = ctx;
    if (internal_topic(name) || !gr_cg_regex_match(&r->x->rx, name))
        return;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 8;
        char **v = realloc(r->v, (size_t)r->cap * sizeof *v);
        if (!v)
            abort();
        r->v = v;
    }
    r->v[r->n++] = gr_gc_strdup(gr_str(name));
}

/* Kafka's regular expression refresh (done here on the heartbeat, when the
 * image changed): the group's expressions are those its members use, each
 * resolved to the matching topic names. True when a resolution changed,
 * which bumps the group epoch. */
/* Drops the expressions no member uses (their records get tombstones);
 * true when one was. */
#define drop_unused_regexes gr_cg_drop_unused_regexes

bool gr_cg_drop_unused_regexes(gr_cgroup_t *cg)
{
    bool changed = false;
    for (cg_regex_t **pp = &cg->regexes; *pp;) {
        cg_regex_t *x = *pp;
        bool used = false;
        for (gr_cmember_t *m = cg->members; m && !used; m = m->next)
            used = m->regex && strcmp(m->regex, x->re) == 0;
        if (used) {
            pp = &x->next;
            continue;
        }
        *pp = x->next;
        char **v = realloc(cg->removed_regexes, (size_t)(cg->nremoved_regexes + 1) * sizeof *v);
        if (v) {
            cg->removed_regexes = v;
            v[cg->nremoved_regexes++] = gr_gc_strdup(gr_str(x->re));
        }
        gr_cg_regex_free(x);
        changed = true;
    }
    return changed;
}

#define update_regexes gr_cg_update_regexes

bool gr_cg_update_regexes(gr_gcoord_t *c, gr_cgroup_t *cg, const gr_gcg_meta_t *meta)
{
    for (gr_cmember_t *m = cg->members; m; m = m->next)
        if (m->regex && !gr_cg_regex_find(cg, m->regex) && !gr_cg_regex_add(cg, m->regex))
            gr_log(GR_LOG_WARN, "group", "consumer group %s: regular expression %s of member %s does not compile",
                   cg->grp->id, m->regex, m->id);
    bool changed = drop_unused_regexes(cg);
    int64_t version = meta->version(meta->arg);
    for (cg_regex_t *x = cg->regexes; x; x = x->next) {
        if (x->version == version)
            continue;
        resolve_t r = {x, NULL, 0, 0};
        meta->each_topic(meta->arg, resolve_one, &r);
        if (r.n > 1)
            qsort(r.v, (size_t)r.n, sizeof *r.v, str_ptr_cmp);
        bool same = r.n == x->ntopics;
        for (int32_t i = 0; i < r.n && same; i++)
            same = strcmp(r.v[i], x->topics[i]) == 0;
        x->version = version;
        x->ts = gr_gc_wall(c);
        if (same) {
            free_names(r.v, r.n);
            continue;
        }
        gr_log(GR_LOG_INFO, "group", "consumer group %s: regular expression %s matches %d topic(s)", cg->grp->id,
               x->re, r.n);
        free_names(x->topics, x->ntopics);
        x->topics = r.v;
        x->ntopics = r.n;
        x->dirty = true;
        changed = true;
    }
    return changed;
}

/* The epoch of the member other than `self` holding (tid, p), or -1. */
#define partition_epoch gr_cg_partition_epoch

int32_t gr_cg_partition_epoch(const gr_cgroup_t *cg, const gr_cmember_t *self, const gr_uuid_t *tid, int32_t p)
{
    for (gr_cmember_t *m = cg->members; m; m = m->next)
        if (m != self && (tpset_has(&m->assigned, tid, p) || tpset_has(&m->revoking, tid, p)))
            return m->epoch;
    return -1;
}

/* ---- the group's state ---- */

static const char *cg_state(const gr_cgroup_t *cg)
{
    if (cg->nmembers == 0)
        return "Empty";
    if (cg->group_epoch > cg->assignment_epoch)
        return "Assigning";
    for (gr_cmember_t *m = cg->members; m; m = m->next)
        if (m->state != CM_STABLE || m->epoch != cg->assignment_epoch)
            return "Reconciling";
    return "Stable";
}

/* The classic fields other code reads (state, subscribed topics) follow
 * the consumer group: Empty or not for DeleteGroups and offset expiry, the
 * subscribed topic names (existing or not, as Kafka's
 * isSubscribedToTopic) for OffsetDelete and expiry. */
void gr_cg_sync_view(gr_cgroup_t *cg)
{
    gr_group_t *g = cg->grp;
    gr_gstate_t s = cg->nmembers ? GR_GSTATE_STABLE : GR_GSTATE_EMPTY;
    if (g->state != s)
        gr_gc_transition(g, s);
    for (int32_t i = 0; i < g->nsubscribed; i++)
        free(g->subscribed[i]);
    free(g->subscribed);
    int32_t cap = 0;
    for (gr_cmember_t *m = cg->members; m; m = m->next)
        cap += m->ntopics;
    for (cg_regex_t *x = cg->regexes; x; x = x->next)
        cap += x->ntopics;
    g->subscribed = xcalloc((size_t)cap, sizeof *g->subscribed);
    g->nsubscribed = 0;
    for (gr_cmember_t *m = cg->members; m; m = m->next) {
        cg_regex_t *x = m->regex ? gr_cg_regex_find(cg, m->regex) : NULL;
        for (int32_t k = 0; k < 2; k++) {
            char **names = k == 0 ? m->topics : x ? x->topics : NULL;
            int32_t n = k == 0 ? m->ntopics : x ? x->ntopics : 0;
            for (int32_t i = 0; i < n; i++) {
                bool seen = false;
                for (int32_t j = 0; j < g->nsubscribed && !seen; j++)
                    seen = strcmp(g->subscribed[j], names[i]) == 0;
                if (!seen)
                    g->subscribed[g->nsubscribed++] = gr_gc_strdup(gr_str(names[i]));
            }
        }
    }
    g->subscribed_known = true;
}

#define sync_classic_view gr_cg_sync_view

/* ---- members ---- */

static void session_timer_fn(gr_gcoord_t *c, gr_gtimer_t *t);
static void rebalance_timer_fn(gr_gcoord_t *c, gr_gtimer_t *t);

#define member_free gr_cg_member_free

void gr_cg_member_free(gr_gcoord_t *c, gr_cmember_t *m)
{
    gr_gc_timer_cancel(c, &m->session);
    gr_gc_timer_cancel(c, &m->rebalance);
    gr_gc_timer_cancel(c, &m->join_timer);
    gr_gc_timer_cancel(c, &m->sync_timer);
    for (int32_t i = 0; i < m->nprotos; i++) {
        free(m->protos[i].name);
        free(m->protos[i].meta);
    }
    free(m->protos);
    free(m->id);
    free(m->instance_id);
    free(m->rack_id);
    free(m->client_id);
    free(m->client_host);
    free(m->assignor);
    free(m->regex);
    for (int32_t i = 0; i < m->ntopics; i++)
        free(m->topics[i]);
    free(m->topics);
    tpset_free(&m->assigned);
    tpset_free(&m->revoking);
    tpset_free(&m->target);
    free(m);
}

void gr_cg_member_unlink(gr_gcoord_t *c, gr_cgroup_t *cg, gr_cmember_t *m)
{
    for (gr_cmember_t **pp = &cg->members; *pp; pp = &(*pp)->next)
        if (*pp == m) {
            *pp = m->next;
            cg->nmembers--;
            break;
        }
    gr_cg_note_removed(cg, m->id);
    member_free(c, m);
}

/* Kafka's consumerGroupFenceMember: the member goes (the group may become
 * a classic group then, see gr_cg_fence). */
static void member_remove(gr_gcoord_t *c, gr_cgroup_t *cg, gr_cmember_t *m, const char *why)
{
    gr_cmember_t *one[1] = {m};
    gr_cg_fence(c, cg->grp, one, 1, why);
}

void gr_cg_member_drop(gr_gcoord_t *c, gr_cgroup_t *cg, gr_cmember_t *m)
{
    for (gr_cmember_t **pp = &cg->members; *pp; pp = &(*pp)->next)
        if (*pp == m) {
            *pp = m->next;
            cg->nmembers--;
            break;
        }
    member_free(c, m);
}

gr_cmember_t *gr_cg_member_add(gr_cgroup_t *cg, gr_str_t id)
{
    gr_cmember_t *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->cg = cg;
    m->id = gr_gc_strdup(id);
    m->state = CM_STABLE;
    gr_gc_timer_init(&m->session, session_timer_fn);
    gr_gc_timer_init(&m->rebalance, rebalance_timer_fn);
    gr_gc_timer_init(&m->join_timer, gr_cg_classic_join_timeout);
    gr_gc_timer_init(&m->sync_timer, gr_cg_classic_sync_timeout);
    gr_cmember_t **tail = &cg->members;
    while (*tail)
        tail = &(*tail)->next;
    *tail = m;
    cg->nmembers++;
    return m;
}

void gr_cg_start_timers(gr_gcoord_t *c, gr_cgroup_t *cg)
{
    for (gr_cmember_t *m = cg->members; m; m = m->next) {
        gr_gc_timer_arm(c, &m->session, m->classic ? m->classic_session_ms : c->cfg.consumer_session_timeout_ms);
        if (m->state == CM_UNREVOKED && !m->classic) {
            m->rebalance_epoch = m->epoch;
            gr_gc_timer_arm(c, &m->rebalance, m->rebalance_timeout_ms);
        }
    }
}

static void session_timer_fn(gr_gcoord_t *c, gr_gtimer_t *t)
{
    gr_cmember_t *m = (gr_cmember_t *)((char *)t - offsetof(gr_cmember_t, session));
    gr_group_t *g = m->cg->grp;
    member_remove(c, m->cg, m, "missed its session timeout");
    gr_cg_flush(c, g, NULL, NULL, NULL);
}

static void rebalance_timer_fn(gr_gcoord_t *c, gr_gtimer_t *t)
{
    gr_cmember_t *m = (gr_cmember_t *)((char *)t - offsetof(gr_cmember_t, rebalance));
    gr_group_t *g = m->cg->grp;
    if (m->state == CM_UNREVOKED && m->epoch == m->rebalance_epoch) {
        member_remove(c, m->cg, m, "did not revoke its partitions within its rebalance timeout");
        gr_cg_flush(c, g, NULL, NULL, NULL);
    }
}

#define new_member_id gr_cg_new_member_id

void gr_cg_new_member_id(char out[23])
{
    gr_uuid_t u;
    gr_uuid_random(&u);
    gr_uuid_to_base64(&u, out);
}

/* ---- subscriptions and the target assignment ---- */

static bool set_subscription(gr_cmember_t *m, const gr_ConsumerGroupHeartbeatRequest *rq)
{
    int32_t n = rq->SubscribedTopicNames_count;
    char **t = xcalloc((size_t)n, sizeof *t);
    int32_t k = 0;
    for (int32_t i = 0; i < n; i++) {
        bool dup = false;
        for (int32_t j = 0; j < k && !dup; j++)
            dup = gr_gc_str_is(t[j], rq->SubscribedTopicNames[i]);
        if (!dup)
            t[k++] = gr_gc_strdup(rq->SubscribedTopicNames[i]);
    }
    bool same = k == m->ntopics;
    for (int32_t i = 0; i < k && same; i++)
        same = member_has_name(m, t[i]);
    for (int32_t i = 0; i < m->ntopics; i++)
        free(m->topics[i]);
    free(m->topics);
    m->topics = t;
    m->ntopics = k;
    return !same;
}

static int topic_name_cmp(const void *a, const void *b)
{
    return strcmp(((const cg_topic_t *)a)->name, ((const cg_topic_t *)b)->name);
}

/* FNV-1a over the subscribed topics (name, id, partition count, in name
 * order); 0 for none. Kafka 4.1 stores a hash of its own making (XXH3 of
 * more fields) in the same place: both only compare with themselves. */
#define topics_hash gr_cg_topics_hash

int64_t gr_cg_topics_hash(const gr_cgroup_t *cg)
{
    if (cg->ntopics == 0)
        return 0;
    uint64_t h = 1469598103934665603ULL;
    for (int32_t i = 0; i < cg->ntopics; i++) {
        const cg_topic_t *t = &cg->topics[i];
        uint8_t np[4] = {(uint8_t)(t->nparts >> 24), (uint8_t)(t->nparts >> 16), (uint8_t)(t->nparts >> 8),
                         (uint8_t)t->nparts};
        const uint8_t *parts[3] = {(const uint8_t *)t->name, t->id.b, np};
        size_t lens[3] = {strlen(t->name) + 1, 16, 4};
        for (int k = 0; k < 3; k++)
            for (size_t j = 0; j < lens[k]; j++) {
                h ^= parts[k][j];
                h *= 1099511628211ULL;
            }
    }
    return h ? (int64_t)h : 1;
}

/* Re-reads the subscribed topics from the metadata image; true when they
 * differ from those of the last group epoch (a topic created, deleted,
 * recreated or with more partitions). */
#define refresh_topics gr_cg_refresh_topics

bool gr_cg_refresh_topics(gr_cgroup_t *cg, const gr_gcg_meta_t *meta)
{
    /* The classic view's list: every name subscribed, directly or by a
     * regular expression. */
    gr_cg_sync_view(cg);
    gr_group_t *g = cg->grp;
    cg_topic_t *nt = xcalloc((size_t)g->nsubscribed, sizeof *nt);
    int32_t n = 0;
    for (int32_t i = 0; i < g->nsubscribed; i++) {
        gr_uuid_t id;
        int32_t np;
        if (!meta->topic(meta->arg, gr_str(g->subscribed[i]), &id, &np))
            continue;
        nt[n].name = gr_gc_strdup(gr_str(g->subscribed[i]));
        nt[n].id = id;
        nt[n].nparts = np;
        n++;
    }
    if (n > 1)
        qsort(nt, (size_t)n, sizeof *nt, topic_name_cmp);
    for (int32_t i = 0; i < cg->ntopics; i++)
        free(cg->topics[i].name);
    free(cg->topics);
    cg->topics = nt;
    cg->ntopics = n;
    return topics_hash(cg) != cg->metadata_hash;
}

/* Kafka's default: the assignor most members ask for, ties to the first
 * configured one; none asked for: the first configured. */
static const char *group_assignor(gr_gcoord_t *c, gr_cgroup_t *cg)
{
    const char *best = NULL;
    int32_t best_n = 0;
    for (gr_cmember_t *m = cg->members; m; m = m->next) {
        if (!m->assignor)
            continue;
        int32_t k = 0;
        for (gr_cmember_t *x = cg->members; x; x = x->next)
            k += x->assignor && strcmp(x->assignor, m->assignor) == 0;
        if (k > best_n) {
            best = m->assignor;
            best_n = k;
        }
    }
    return best ? best : c->cfg.consumer_assignor;
}

void gr_cg_bump_epoch(gr_cgroup_t *cg)
{
    cg->group_epoch++;
    cg->metadata_hash = topics_hash(cg);
    cg->dirty_epoch = true;
    gr_cg_sync_view(cg);
}

#define compute_target gr_cg_compute_target

void gr_cg_compute_target(gr_gcoord_t *c, gr_cgroup_t *cg)
{
    const char *name = group_assignor(c, cg);
    int32_t nt = cg->ntopics, nm = cg->nmembers;
    int32_t *nparts = xcalloc((size_t)nt, sizeof *nparts);
    for (int32_t t = 0; t < nt; t++)
        nparts[t] = cg->topics[t].nparts;
    gr_gasn_member_t *ms = xcalloc((size_t)nm, sizeof *ms);
    bool *subs = xcalloc((size_t)nm * (size_t)(nt ? nt : 1), sizeof *subs);
    gr_gasn_tp_t *prev_all = NULL;
    int32_t i = 0, total_prev = 0;
    for (gr_cmember_t *m = cg->members; m; m = m->next)
        total_prev += m->target.n;
    prev_all = xcalloc((size_t)total_prev, sizeof *prev_all);
    int32_t pos = 0;
    for (gr_cmember_t *m = cg->members; m; m = m->next, i++) {
        ms[i].id = m->id;
        bool *s = subs + (size_t)i * (size_t)(nt ? nt : 1);
        for (int32_t t = 0; t < nt; t++)
            s[t] = member_subscribes(m, cg->topics[t].name);
        ms[i].subscribed = s;
        ms[i].prev = prev_all + pos;
        for (int32_t k = 0; k < m->target.n; k++)
            for (int32_t t = 0; t < nt; t++)
                if (gr_uuid_eq(&cg->topics[t].id, &m->target.v[k].tid)) {
                    prev_all[pos++] = (gr_gasn_tp_t){t, m->target.v[k].p};
                    ms[i].nprev++;
                    break;
                }
    }
    if (gr_gasn_assign(name, nparts, nt, ms, nm) != 0)
        abort(); /* out of memory: coordinator state cannot be half-built */
    i = 0;
    for (gr_cmember_t *m = cg->members; m; m = m->next, i++) {
        tpset_t s = {0};
        int32_t cap = 0;
        for (int32_t k = 0; k < ms[i].nout; k++)
            tpset_push(&s, &cap, &cg->topics[ms[i].out[k].topic].id, ms[i].out[k].partition);
        tpset_sort(&s);
        if (!tpset_eq(&s, &m->target))
            m->dirty |= CM_DIRTY_TARGET;
        tpset_take(&m->target, &s);
        free(ms[i].out);
    }
    cg->dirty_assignment_epoch = true;
    free(cg->assignor);
    cg->assignor = gr_gc_strdup(gr_str(name));
    cg->assignment_epoch = cg->group_epoch;
    gr_log(GR_LOG_INFO, "group", "consumer group %s: target assignment for epoch %d by the %s assignor", cg->grp->id,
           cg->assignment_epoch, name);
    free(nparts);
    free(ms);
    free(subs);
    free(prev_all);
}

/* ---- reconciliation (Kafka's CurrentAssignmentBuilder) ---- */

/* The owned partitions of a heartbeat; owned->v NULL with n -1: not sent. */
static bool owns_any(const tpset_t *owned, const tpset_t *revoking)
{
    if (owned->n < 0)
        return true; /* not told: assume it still owns them */
    for (int32_t i = 0; i < owned->n; i++)
        if (tpset_has(revoking, &owned->v[i].tid, owned->v[i].p))
            return true;
    return false;
}

static void compute_next(gr_cgroup_t *cg, gr_cmember_t *m, const tpset_t *owned)
{
    tpset_t keep = {0}, revoke = {0};
    int32_t kcap = 0, rcap = 0;
    for (int32_t i = 0; i < m->assigned.n; i++) {
        const tp_t *x = &m->assigned.v[i];
        const cg_topic_t *t = topic_by_id(cg, &x->tid);
        bool in_target = tpset_has(&m->target, &x->tid, x->p) && t && member_subscribes(m, t->name);
        if (in_target)
            tpset_push(&keep, &kcap, &x->tid, x->p);
        else
            tpset_push(&revoke, &rcap, &x->tid, x->p);
    }
    if (revoke.n > 0 && owns_any(owned, &revoke)) {
        m->state = CM_UNREVOKED;
        m->prev_epoch = m->epoch;
        tpset_take(&m->assigned, &keep);
        tpset_take(&m->revoking, &revoke);
        return;
    }
    tpset_free(&revoke);
    bool unreleased = false;
    for (int32_t i = 0; i < m->target.n; i++) {
        const tp_t *x = &m->target.v[i];
        const cg_topic_t *t = topic_by_id(cg, &x->tid);
        if (!t || !member_subscribes(m, t->name) || tpset_has(&m->assigned, &x->tid, x->p))
            continue;
        if (partition_epoch(cg, m, &x->tid, x->p) != -1 && !tpset_has(&m->revoking, &x->tid, x->p))
            unreleased = true;
        else
            tpset_push(&keep, &kcap, &x->tid, x->p);
    }
    tpset_sort(&keep);
    tpset_take(&m->assigned, &keep);
    tpset_free(&m->revoking);
    m->state = unreleased ? CM_UNRELEASED : CM_STABLE;
    /* Kafka's updateMemberEpoch: the previous epoch follows even when the
     * epoch stays. */
    m->prev_epoch = m->epoch;
    m->epoch = cg->assignment_epoch;
}

static void reconcile_state(gr_cgroup_t *cg, gr_cmember_t *m, const tpset_t *owned)
{
    switch (m->state) {
    case CM_STABLE:
        if (m->epoch != cg->assignment_epoch)
            compute_next(cg, m, owned);
        break;
    case CM_UNREVOKED:
        if (!owns_any(owned, &m->revoking))
            compute_next(cg, m, owned);
        break;
    default:
        compute_next(cg, m, owned);
        break;
    }
}

void gr_cg_reconcile(gr_cgroup_t *cg, gr_cmember_t *m, const tpset_t *owned)
{
    tpset_t assigned = {0}, revoking = {0};
    if (gr_cg_tpset_copy(&assigned, &m->assigned) != 0 || gr_cg_tpset_copy(&revoking, &m->revoking) != 0)
        abort();
    int32_t epoch = m->epoch, prev = m->prev_epoch;
    int state = m->state;
    reconcile_state(cg, m, owned);
    if (m->epoch != epoch || m->prev_epoch != prev || m->state != state || !tpset_eq(&assigned, &m->assigned) ||
        !tpset_eq(&revoking, &m->revoking))
        m->dirty |= CM_DIRTY_CURRENT;
    tpset_free(&assigned);
    tpset_free(&revoking);
}

/* ---- ConsumerGroupHeartbeat ---- */

typedef struct hb_s {
    gr_ConsumerGroupHeartbeatResponse *out;
    gr_arena_t *a;
} hb_t;

static void hb_error(hb_t *h, int16_t err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void hb_error(hb_t *h, int16_t err, const char *fmt, ...)
{
    h->out->ErrorCode = err;
    if (!fmt) {
        h->out->ErrorMessage = gr_str(NULL);
        return;
    }
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *s = gr_arena_strndup(h->a, buf, strlen(buf));
    h->out->ErrorMessage = s ? gr_str(s) : gr_str(NULL);
}

/* Kafka's throwIfConsumerGroupHeartbeatRequestIsInvalid. */
static bool validate_request(gr_gcoord_t *c, int16_t version, const gr_ConsumerGroupHeartbeatRequest *rq, hb_t *h)
{
    if (rq->GroupId.len <= 0) {
        hb_error(h, GR_KERR_INVALID_REQUEST, "GroupId can't be empty.");
        return false;
    }
    if (rq->InstanceId.len == 0) {
        hb_error(h, GR_KERR_INVALID_REQUEST, "InstanceId can't be empty.");
        return false;
    }
    if (rq->RackId.len == 0) {
        hb_error(h, GR_KERR_INVALID_REQUEST, "RackId can't be empty.");
        return false;
    }
    /* v1 (KIP-1082): the member id is always the client's. */
    if (version >= 1 || rq->MemberEpoch > 0 || rq->MemberEpoch == LEAVE_EPOCH ||
        rq->MemberEpoch == LEAVE_STATIC_EPOCH) {
        if (rq->MemberId.len <= 0) {
            hb_error(h, GR_KERR_INVALID_REQUEST, "MemberId can't be empty.");
            return false;
        }
    }
    if (rq->MemberEpoch == 0) {
        if (rq->RebalanceTimeoutMs == -1) {
            hb_error(h, GR_KERR_INVALID_REQUEST, "RebalanceTimeoutMs must be provided in first request.");
            return false;
        }
        if (rq->TopicPartitions_count != 0) {
            hb_error(h, GR_KERR_INVALID_REQUEST, "TopicPartitions must be empty when (re-)joining.");
            return false;
        }
        if (rq->SubscribedTopicNames_count < 0 && rq->SubscribedTopicRegex.len < 0) {
            hb_error(h, GR_KERR_INVALID_REQUEST,
                     "SubscribedTopicNames or SubscribedTopicRegex must be set in first request.");
            return false;
        }
    } else if (rq->MemberEpoch == LEAVE_STATIC_EPOCH) {
        if (rq->InstanceId.len < 0) {
            hb_error(h, GR_KERR_INVALID_REQUEST, "InstanceId can't be null.");
            return false;
        }
    } else if (rq->MemberEpoch < LEAVE_STATIC_EPOCH) {
        hb_error(h, GR_KERR_INVALID_REQUEST, "MemberEpoch is invalid.");
        return false;
    }
    if (rq->ServerAssignor.len >= 0 && !gr_gasn_known(rq->ServerAssignor.ptr, rq->ServerAssignor.len)) {
        hb_error(h, GR_KERR_UNSUPPORTED_ASSIGNOR, "ServerAssignor %.*s is not supported. Supported assignors: %s.",
                 (int)rq->ServerAssignor.len, rq->ServerAssignor.ptr, c->cfg.consumer_assignors_list);
        return false;
    }
    return true;
}

gr_cgroup_t *gr_cg_new(gr_group_t *g)
{
    gr_cgroup_t *cg = calloc(1, sizeof *cg);
    if (!cg)
        return NULL;
    cg->grp = g;
    g->cg = cg;
    free(g->protocol_type);
    g->protocol_type = gr_gc_strdup(gr_str("consumer"));
    free(g->protocol_name);
    g->protocol_name = NULL;
    /* Kafka writes the group's records when it is created, so admin APIs
     * see it from its first member on. */
    g->persisted = true;
    return cg;
}

void gr_cg_free(gr_gcoord_t *c, gr_group_t *g)
{
    gr_cgroup_t *cg = g->cg;
    if (!cg)
        return;
    while (cg->members) {
        gr_cmember_t *m = cg->members;
        cg->members = m->next;
        member_free(c, m);
    }
    for (int32_t i = 0; i < cg->ntopics; i++)
        free(cg->topics[i].name);
    free(cg->topics);
    free(cg->assignor);
    for (int32_t i = 0; i < cg->nremoved; i++)
        free(cg->removed[i]);
    free(cg->removed);
    free_names(cg->removed_regexes, cg->nremoved_regexes);
    while (cg->regexes) {
        cg_regex_t *x = cg->regexes;
        cg->regexes = x->next;
        gr_cg_regex_free(x);
    }
    free(cg);
    g->cg = NULL;
}

static void leave(gr_gcoord_t *c, gr_group_t *g, const gr_ConsumerGroupHeartbeatRequest *rq, hb_t *h)
{
    gr_cgroup_t *cg = g ? g->cg : NULL;
    if (!cg) {
        hb_error(h, GR_KERR_GROUP_ID_NOT_FOUND, "Consumer group %.*s not found.", (int)rq->GroupId.len,
                 rq->GroupId.ptr);
        return;
    }
    gr_cmember_t *m = rq->InstanceId.len >= 0 ? static_find(cg, rq->InstanceId) : member_find(cg, rq->MemberId);
    if (!m || (rq->InstanceId.len >= 0 && !gr_gc_str_is(m->id, rq->MemberId))) {
        if (m && rq->InstanceId.len >= 0)
            hb_error(h, GR_KERR_FENCED_INSTANCE_ID, "Static member %.*s with instance id %.*s is fenced.",
                     (int)rq->MemberId.len, rq->MemberId.ptr, (int)rq->InstanceId.len, rq->InstanceId.ptr);
        else
            hb_error(h, GR_KERR_UNKNOWN_MEMBER_ID, "Member %.*s is not a member of group %s.",
                     (int)rq->MemberId.len, rq->MemberId.ptr, g->id);
        return;
    }
    h->out->MemberId = gr_str(gr_arena_strndup(h->a, m->id, strlen(m->id)));
    h->out->MemberEpoch = rq->MemberEpoch;
    if (rq->MemberEpoch == LEAVE_STATIC_EPOCH) {
        /* A static member that will come back keeps its place (and its
         * partitions) until its session times out. */
        gr_log(GR_LOG_INFO, "group", "consumer group %s: static member %s (%s) left temporarily", g->id, m->id,
               m->instance_id);
        m->prev_epoch = m->epoch;
        m->epoch = LEAVE_STATIC_EPOCH;
        m->dirty |= CM_DIRTY_CURRENT;
        gr_gc_timer_cancel(c, &m->rebalance);
        return;
    }
    member_remove(c, cg, m, "left the group");
}

static void fill_assignment(gr_cgroup_t *cg, gr_cmember_t *m, hb_t *h)
{
    gr_ConsumerGroupHeartbeatResponse_Assignment *as = gr_arena_calloc(h->a, 1, sizeof *as);
    if (!as)
        return;
    as->TopicPartitions = gr_arena_calloc(h->a, (size_t)m->assigned.n + 1, sizeof *as->TopicPartitions);
    int32_t *parts = gr_arena_calloc(h->a, (size_t)m->assigned.n + 1, sizeof *parts);
    if (!as->TopicPartitions || !parts)
        return;
    (void)cg;
    for (int32_t i = 0; i < m->assigned.n; i++) {
        const tp_t *x = &m->assigned.v[i];
        gr_ConsumerGroupHeartbeatResponse_TopicPartitions *tp =
            as->TopicPartitions_count ? &as->TopicPartitions[as->TopicPartitions_count - 1] : NULL;
        if (!tp || !gr_uuid_eq(&tp->TopicId, &x->tid)) {
            tp = &as->TopicPartitions[as->TopicPartitions_count++];
            tp->TopicId = x->tid;
            tp->Partitions = parts + i;
        }
        tp->Partitions[tp->Partitions_count++] = x->p;
    }
    h->out->Assignment = as;
}

/* Kafka's throwIfRegularExpressionIsInvalid, checked once the member is
 * known (as Kafka does, when it updates the member's subscription). */
static bool regex_invalid(const gr_ConsumerGroupHeartbeatRequest *rq, hb_t *h)
{
    if (rq->SubscribedTopicRegex.len <= 0)
        return false;
    char re[256], why[200];
    regex_t rx;
    if ((size_t)rq->SubscribedTopicRegex.len >= sizeof re) {
        hb_error(h, GR_KERR_INVALID_REGULAR_EXPRESSION, "SubscribedTopicRegex is longer than %zu bytes.", sizeof re - 1);
        return true;
    }
    memcpy(re, rq->SubscribedTopicRegex.ptr, (size_t)rq->SubscribedTopicRegex.len);
    re[rq->SubscribedTopicRegex.len] = 0;
    if (gr_cg_regex_compile(re, &rx, why, sizeof why) != 0) {
        hb_error(h, GR_KERR_INVALID_REGULAR_EXPRESSION, "SubscribedTopicRegex `%s` is not a valid regular expression: %s.",
                 re, why);
        return true;
    }
    regfree(&rx);
    return false;
}

#define set_str gr_cg_set_str

bool gr_cg_set_str(char **field, gr_str_t v)
{
    if (gr_gc_str_is(*field, v))
        return false;
    free(*field);
    *field = v.len >= 0 ? gr_gc_strdup(v) : NULL;
    return true;
}

/* The heartbeat's work; returns the group it touched (whose records are
 * then written), or NULL. */
static gr_group_t *heartbeat(gr_gcoord_t *c, const gr_gclient_t *cl, const gr_ConsumerGroupHeartbeatRequest *rq,
                             const gr_gcg_meta_t *meta, hb_t *h)
{
    gr_ConsumerGroupHeartbeatResponse *out = h->out;
    gr_arena_t *a = h->a;
    if (!validate_request(c, cl->api_version, rq, h))
        return NULL;
    int16_t err = gr_gcoord_status(c, rq->GroupId);
    if (err) {
        hb_error(h, err, NULL);
        return NULL;
    }
    gr_group_t *g = gr_gc_group_find(c, rq->GroupId);
    if (rq->MemberEpoch == LEAVE_EPOCH || rq->MemberEpoch == LEAVE_STATIC_EPOCH) {
        leave(c, g, rq, h);
        return g;
    }
    bool join = rq->MemberEpoch == 0;
    if (!g) {
        if (!join) {
            hb_error(h, GR_KERR_GROUP_ID_NOT_FOUND, "Consumer group %.*s not found.", (int)rq->GroupId.len,
                     rq->GroupId.ptr);
            return NULL;
        }
        g = gr_gc_group_create(c, rq->GroupId);
        if (!g) {
            hb_error(h, GR_KERR_UNKNOWN_SERVER_ERROR, NULL);
            return NULL;
        }
    }
    if (!g->cg && join && g->state != GR_GSTATE_EMPTY) {
        /* Online upgrade: the classic group's members become classic
         * members of the consumer group, which the new member joins. */
        gr_ConsumerGroupHeartbeatResponse rx;
        gr_ConsumerGroupHeartbeatResponse_init(&rx);
        hb_t rh = {&rx, a};
        bool bad_regex = regex_invalid(rq, &rh);
        char msg[400];
        int16_t uerr = gr_cg_upgrade(c, g, rq, meta, !bad_regex, msg, sizeof msg);
        if (uerr) {
            if (msg[0])
                hb_error(h, uerr, "%s", msg);
            else
                hb_error(h, uerr, NULL);
            return NULL;
        }
        if (bad_regex) {
            out->ErrorCode = rx.ErrorCode;
            out->ErrorMessage = rx.ErrorMessage;
            return NULL;
        }
    }
    if (!g->cg) {
        if (g->state != GR_GSTATE_EMPTY) {
            hb_error(h, GR_KERR_GROUP_ID_NOT_FOUND, "Group %s is not a consumer group.", g->id);
            return NULL;
        }
        if (!join) {
            /* An empty classic group (e.g. one with committed offsets
             * only): the member must rejoin; GROUP_ID_NOT_FOUND would be
             * fatal to the Java consumer. */
            hb_error(h, GR_KERR_UNKNOWN_MEMBER_ID, "Member %.*s is not a member of group %s.",
                     (int)rq->MemberId.len, rq->MemberId.ptr, g->id);
            return NULL;
        }
        bool had_record = g->persisted && g->protocol_type;
        /* Members that got an id but never joined (Kafka drops the empty
         * classic group with them). */
        gr_gc_clear_members(c, g);
        if (!gr_cg_new(g)) {
            hb_error(h, GR_KERR_UNKNOWN_SERVER_ERROR, NULL);
            return NULL;
        }
        gr_log(GR_LOG_INFO, "group", "group %s becomes a consumer group (KIP-848)", g->id);
        /* Kafka deletes the empty classic group it replaces. */
        g->cg->dirty_classic_tombstone = had_record;
    }
    gr_cgroup_t *cg = g->cg;
    bool bump = false;
    gr_cmember_t *m = NULL;
    if (join) {
        gr_cmember_t *sm = static_find(cg, rq->InstanceId);
        /* A classic static member is replaced at once (Kafka checks that the
         * instance id was released only between consumer-protocol members). */
        if (sm && !sm->classic && sm->epoch != LEAVE_STATIC_EPOCH && !gr_gc_str_is(sm->id, rq->MemberId)) {
            hb_error(h, GR_KERR_UNRELEASED_INSTANCE_ID, "Static member %s with instance id %.*s is not released yet.",
                     sm->id, (int)rq->InstanceId.len, rq->InstanceId.ptr);
            return g;
        }
        m = member_find(cg, rq->MemberId);
        if (regex_invalid(rq, h))
            return g;
        if (sm && sm != m) {
            /* A static member comes back under a new member id: it takes
             * the old one's place, epoch and partitions. */
            char idbuf[23];
            if (rq->MemberId.len <= 0)
                new_member_id(idbuf);
            char *old = sm->id;
            sm->id = gr_gc_strdup(rq->MemberId.len > 0 ? rq->MemberId : gr_str(idbuf));
            gr_log(GR_LOG_INFO, "group", "consumer group %s: static member %s replaces %s", g->id, sm->id, old);
            /* The old member id's records go, the new one's are written. */
            gr_cg_note_removed(cg, old);
            sm->dirty = CM_DIRTY_META | CM_DIRTY_TARGET | CM_DIRTY_CURRENT;
            free(old);
            sm->epoch = sm->prev_epoch > 0 ? sm->prev_epoch : 0;
            m = sm;
        } else if (!m) {
            if (cg->nmembers >= c->cfg.consumer_max_size) {
                hb_error(h, GR_KERR_GROUP_MAX_SIZE_REACHED, "The consumer group has reached its maximum capacity of %d members.",
                         c->cfg.consumer_max_size);
                return g;
            }
            char idbuf[23];
            if (rq->MemberId.len <= 0)
                new_member_id(idbuf);
            m = gr_cg_member_add(cg, rq->MemberId.len > 0 ? rq->MemberId : gr_str(idbuf));
            if (!m) {
                hb_error(h, GR_KERR_UNKNOWN_SERVER_ERROR, NULL);
                return g;
            }
            m->instance_id = rq->InstanceId.len >= 0 ? gr_gc_strdup(rq->InstanceId) : NULL;
            m->has_meta = true;
            m->dirty = CM_DIRTY_META | CM_DIRTY_TARGET | CM_DIRTY_CURRENT;
            bump = true;
            gr_log(GR_LOG_INFO, "group", "consumer group %s: member %s joins", g->id, m->id);
        }
    } else {
        m = member_find(cg, rq->MemberId);
        if (!m) {
            hb_error(h, GR_KERR_UNKNOWN_MEMBER_ID, "Member %.*s is not a member of group %s.", (int)rq->MemberId.len,
                     rq->MemberId.ptr, g->id);
            return g;
        }
        if (rq->InstanceId.len >= 0 && (!m->instance_id || !gr_gc_str_is(m->instance_id, rq->InstanceId))) {
            hb_error(h, GR_KERR_FENCED_INSTANCE_ID, "Static member %s is fenced.", m->id);
            return g;
        }
        /* Kafka's throwIfConsumerGroupMemberEpochIsInvalid. */
        tpset_t owned_check = {0};
        if (rq->MemberEpoch > m->epoch) {
            hb_error(h, GR_KERR_FENCED_MEMBER_EPOCH,
                     "The consumer group member has a greater member epoch (%d) than the one known by the group "
                     "coordinator (%d). The member must abandon all its partitions and rejoin.",
                     rq->MemberEpoch, m->epoch);
            return g;
        }
        if (rq->MemberEpoch < m->epoch) {
            bool subset = rq->MemberEpoch == m->prev_epoch;
            for (int32_t i = 0; subset && i < rq->TopicPartitions_count; i++)
                for (int32_t j = 0; subset && j < rq->TopicPartitions[i].Partitions_count; j++)
                    subset = tpset_has(&m->assigned, &rq->TopicPartitions[i].TopicId,
                                       rq->TopicPartitions[i].Partitions[j]);
            if (!subset) {
                hb_error(h, GR_KERR_FENCED_MEMBER_EPOCH,
                         "The consumer group member has a smaller member epoch (%d) than the one known by the group "
                         "coordinator (%d). The member must abandon all its partitions and rejoin.",
                         rq->MemberEpoch, m->epoch);
                return g;
            }
        }
        (void)owned_check;
        if (regex_invalid(rq, h))
            return g;
    }
    /* A member that spoke the classic protocol and heartbeats now speaks the
     * consumer protocol (Kafka clears its ClassicMemberMetadata). */
    if (m->classic) {
        m->classic = false;
        for (int32_t i = 0; i < m->nprotos; i++) {
            free(m->protos[i].name);
            free(m->protos[i].meta);
        }
        free(m->protos);
        m->protos = NULL;
        m->nprotos = 0;
        gr_gc_timer_cancel(c, &m->join_timer);
        gr_gc_timer_cancel(c, &m->sync_timer);
        m->dirty |= CM_DIRTY_META;
    }
    /* What the member tells about itself. */
    if (rq->RebalanceTimeoutMs != -1 && m->rebalance_timeout_ms != rq->RebalanceTimeoutMs) {
        m->rebalance_timeout_ms = rq->RebalanceTimeoutMs;
        m->dirty |= CM_DIRTY_META;
    }
    if (rq->SubscribedTopicNames_count >= 0 && set_subscription(m, rq)) {
        bump = true;
        m->dirty |= CM_DIRTY_META;
        gr_log(GR_LOG_INFO, "group", "consumer group %s: member %s changes its subscription", g->id, m->id);
    }
    if (rq->SubscribedTopicRegex.len >= 0 &&
        set_str(&m->regex, rq->SubscribedTopicRegex.len > 0 ? rq->SubscribedTopicRegex : gr_str(NULL))) {
        bump = true;
        m->dirty |= CM_DIRTY_META;
        gr_log(GR_LOG_INFO, "group", "consumer group %s: member %s subscribes to regular expression %s", g->id,
               m->id, m->regex ? m->regex : "(none)");
    }
    if (rq->ServerAssignor.len >= 0 && set_str(&m->assignor, rq->ServerAssignor)) {
        bump = true;
        m->dirty |= CM_DIRTY_META;
    }
    if (rq->RackId.len >= 0 && set_str(&m->rack_id, rq->RackId))
        m->dirty |= CM_DIRTY_META;
    if (set_str(&m->client_id, cl->client_id))
        m->dirty |= CM_DIRTY_META;
    if (set_str(&m->client_host, gr_str(cl->client_host ? cl->client_host : "")))
        m->dirty |= CM_DIRTY_META;
    if (update_regexes(c, cg, meta))
        bump = true;
    if (refresh_topics(cg, meta))
        bump = true;
    if (bump)
        gr_cg_bump_epoch(cg);
    if (cg->group_epoch > cg->assignment_epoch)
        compute_target(c, cg);

    /* Reconcile the member towards its target. */
    tpset_t owned = {NULL, -1};
    int32_t ocap = 0;
    if (rq->TopicPartitions_count >= 0) {
        owned.n = 0;
        for (int32_t i = 0; i < rq->TopicPartitions_count; i++)
            for (int32_t j = 0; j < rq->TopicPartitions[i].Partitions_count; j++)
                tpset_push(&owned, &ocap, &rq->TopicPartitions[i].TopicId, rq->TopicPartitions[i].Partitions[j]);
        tpset_sort(&owned);
    }
    tpset_t before = {0};
    if (m->assigned.n) {
        before.v = xcalloc((size_t)m->assigned.n, sizeof *before.v);
        memcpy(before.v, m->assigned.v, (size_t)m->assigned.n * sizeof *before.v);
        before.n = m->assigned.n;
    }
    int32_t old_epoch = m->epoch;
    int old_state = m->state;
    gr_cg_reconcile(cg, m, &owned);
    free(owned.v);
    if (m->state == CM_UNREVOKED) {
        if (old_state != CM_UNREVOKED || old_epoch != m->epoch || m->rebalance.idx < 0) {
            m->rebalance_epoch = m->epoch;
            gr_gc_timer_arm(c, &m->rebalance, m->rebalance_timeout_ms);
        }
    } else {
        gr_gc_timer_cancel(c, &m->rebalance);
    }
    gr_gc_timer_arm(c, &m->session, c->cfg.consumer_session_timeout_ms);

    out->MemberId = gr_str(gr_arena_strndup(a, m->id, strlen(m->id)));
    out->MemberEpoch = m->epoch;
    out->HeartbeatIntervalMs = c->cfg.consumer_heartbeat_interval_ms;
    bool full = join || (rq->RebalanceTimeoutMs != -1 && rq->SubscribedTopicNames_count >= 0 &&
                         rq->TopicPartitions_count >= 0);
    if (full || !tpset_eq(&before, &m->assigned))
        fill_assignment(cg, m, h);
    free(before.v);
    return g;
}

bool gr_gcoord_cg_heartbeat(gr_gcoord_t *c, const gr_gclient_t *cl, const gr_ConsumerGroupHeartbeatRequest *rq,
                            const gr_gcg_meta_t *meta, gr_arena_t *a, gr_ConsumerGroupHeartbeatResponse *out,
                            gr_gcoord_done_fn done, void *arg)
{
    hb_t h = {out, a};
    out->MemberId = gr_str(NULL);
    out->ErrorMessage = gr_str(NULL);
    out->Assignment = NULL;
    gr_group_t *before = rq->GroupId.len > 0 ? gr_gc_group_find(c, rq->GroupId) : NULL;
    bool was_cg = before && before->cg;
    char *old_type = before && !was_cg && before->protocol_type ? gr_gc_strdup(gr_str(before->protocol_type)) : NULL;
    gr_group_t *g = heartbeat(c, cl, rq, meta, &h);
    if (g && g->cg && !was_cg && out->ErrorCode != 0 && g->cg->nmembers == 0) {
        /* A failed join leaves no group behind (Kafka's are rolled back
         * with the request's records). */
        if (!before) {
            gr_gc_group_free(c, g);
        } else {
            gr_cg_free(c, g);
            free(g->protocol_type);
            g->protocol_type = old_type;
            old_type = NULL;
        }
        g = NULL;
    }
    free(old_type);
    if (!g)
        return false;
    /* What changed is written before the member is answered, as Kafka
     * answers once its records are committed (also when the member's
     * leaving turned the group into a classic group: g->cg NULL). */
    bool pending = false;
    int16_t err = gr_cg_flush(c, g, done, arg, &pending);
    if (err && out->ErrorCode == 0) {
        hb_error(&h, gr_gc_append_error(err), NULL);
        out->Assignment = NULL;
    }
    return pending;
}

/* ---- ConsumerGroupDescribe ---- */

static void describe_parts(gr_cgroup_t *cg, const tpset_t *s, gr_arena_t *a,
                           gr_ConsumerGroupDescribeResponse_Assignment *out)
{
    out->TopicPartitions = gr_arena_calloc(a, (size_t)s->n + 1, sizeof *out->TopicPartitions);
    int32_t *parts = gr_arena_calloc(a, (size_t)s->n + 1, sizeof *parts);
    if (!out->TopicPartitions || !parts)
        return;
    for (int32_t i = 0; i < s->n; i++) {
        const tp_t *x = &s->v[i];
        gr_ConsumerGroupDescribeResponse_TopicPartitions *tp =
            out->TopicPartitions_count ? &out->TopicPartitions[out->TopicPartitions_count - 1] : NULL;
        if (!tp || !gr_uuid_eq(&tp->TopicId, &x->tid)) {
            const cg_topic_t *t = topic_by_id(cg, &x->tid);
            tp = &out->TopicPartitions[out->TopicPartitions_count++];
            tp->TopicId = x->tid;
            tp->TopicName = t ? gr_str(gr_arena_strndup(a, t->name, strlen(t->name))) : gr_str("");
            tp->Partitions = parts + i;
        }
        tp->Partitions[tp->Partitions_count++] = x->p;
    }
}

static gr_str_t astr(gr_arena_t *a, const char *s)
{
    if (!s)
        return gr_str(NULL);
    char *p = gr_arena_strndup(a, s, strlen(s));
    return p ? gr_str(p) : gr_str("");
}

void gr_gcoord_cg_describe(gr_gcoord_t *c, gr_str_t group_id, const gr_gcg_meta_t *meta, gr_arena_t *a,
                           gr_ConsumerGroupDescribeResponse_DescribedGroup *out)
{
    memset(out, 0, sizeof *out);
    out->GroupId = group_id;
    out->GroupState = gr_str("");
    out->AssignorName = gr_str("");
    out->ErrorMessage = gr_str(NULL);
    out->AuthorizedOperations = INT32_MIN;
    int16_t err = group_id.len < 0 ? GR_KERR_INVALID_GROUP_ID : gr_gcoord_status(c, group_id);
    if (err) {
        out->ErrorCode = err;
        return;
    }
    gr_group_t *g = gr_gc_group_find(c, group_id);
    char msg[300];
    if (!g || (!g->cg && !g->persisted)) {
        snprintf(msg, sizeof msg, "Group %.*s not found.", group_id.len > 200 ? 200 : (int)group_id.len,
                 group_id.ptr ? group_id.ptr : "");
        out->ErrorCode = GR_KERR_GROUP_ID_NOT_FOUND;
        out->ErrorMessage = astr(a, msg);
        return;
    }
    if (!g->cg) {
        snprintf(msg, sizeof msg, "Group %s is not a consumer group.", g->id);
        out->ErrorCode = GR_KERR_GROUP_ID_NOT_FOUND;
        out->ErrorMessage = astr(a, msg);
        return;
    }
    gr_cgroup_t *cg = g->cg;
    /* The topics' names (a loaded group has not looked them up yet). */
    refresh_topics(cg, meta);
    out->GroupState = gr_str(cg_state(cg));
    out->GroupEpoch = cg->group_epoch;
    out->AssignmentEpoch = cg->assignment_epoch;
    /* Kafka's asDescribedGroup: the assignor the members prefer now. */
    out->AssignorName = astr(a, group_assignor(c, cg));
    out->Members = gr_arena_calloc(a, (size_t)cg->nmembers + 1, sizeof *out->Members);
    if (!out->Members)
        return;
    for (gr_cmember_t *m = cg->members; m; m = m->next) {
        gr_ConsumerGroupDescribeResponse_Member *dm = &out->Members[out->Members_count++];
        dm->MemberId = astr(a, m->id);
        dm->InstanceId = astr(a, m->instance_id);
        dm->RackId = astr(a, m->rack_id);
        dm->MemberEpoch = m->epoch;
        dm->ClientId = astr(a, m->client_id ? m->client_id : "");
        dm->ClientHost = astr(a, m->client_host ? m->client_host : "");
        dm->SubscribedTopicRegex = astr(a, m->regex ? m->regex : ""); /* "": none, as Kafka sends it */
        dm->MemberType = m->classic ? 0 : 1; /* ConsumerGroupDescribe v1: 0 classic, 1 consumer protocol */
        dm->SubscribedTopicNames = gr_arena_calloc(a, (size_t)m->ntopics + 1, sizeof *dm->SubscribedTopicNames);
        if (dm->SubscribedTopicNames)
            for (int32_t i = 0; i < m->ntopics; i++)
                dm->SubscribedTopicNames[dm->SubscribedTopicNames_count++] = astr(a, m->topics[i]);
        describe_parts(cg, &m->assigned, a, &dm->Assignment);
        describe_parts(cg, &m->target, a, &dm->TargetAssignment);
    }
}

/* ---- what the classic code asks of consumer groups ---- */

void gr_gcoord_set_meta(gr_gcoord_t *c, const gr_gcg_meta_t *meta)
{
    c->meta = *meta;
}

int16_t gr_gcoord_cg_classic_join(gr_gcoord_t *c, gr_str_t group_id)
{
    gr_group_t *g = gr_gc_group_find(c, group_id);
    if (!g || !g->cg || g->cg->nmembers > 0)
        return 0;
    /* An empty consumer group becomes a classic group again; its committed
     * offsets stay. Kafka deletes the consumer group's records. */
    gr_cg_flush(c, g, NULL, NULL, NULL);
    gr_grecs_t r = {0};
    gr_cg_tombstones(g, &r);
    int16_t err = gr_gc_append_recs(c, g, &r, NULL, NULL);
    gr_grecs_free(&r);
    if (err)
        return gr_gc_append_error(err);
    gr_log(GR_LOG_INFO, "group", "empty consumer group %s becomes a classic group", g->id);
    gr_cg_free(c, g);
    free(g->protocol_type);
    g->protocol_type = NULL;
    for (int32_t i = 0; i < g->nsubscribed; i++)
        free(g->subscribed[i]);
    free(g->subscribed);
    g->subscribed = NULL;
    g->nsubscribed = 0;
    g->subscribed_known = false;
    return 0;
}

const char *gr_cg_state_name(const gr_group_t *g)
{
    return g->cg ? cg_state(g->cg) : NULL;
}

int16_t gr_cg_validate_commit(gr_group_t *g, gr_str_t member_id, int32_t epoch, int16_t api_version)
{
    gr_cgroup_t *cg = g->cg;
    /* An admin client or a consumer without group management may commit
     * for an empty group. */
    if (epoch < 0 && cg->nmembers == 0)
        return 0;
    gr_cmember_t *m = member_find(cg, member_id);
    if (!m)
        return GR_KERR_UNKNOWN_MEMBER_ID;
    /* Classic members commit with any version, their member epoch being
     * their generation (Kafka's ConsumerGroup.validateOffsetCommit). */
    if (!m->classic && api_version < 9)
        return GR_KERR_UNSUPPORTED_VERSION;
    if (epoch != m->epoch)
        return m->classic ? GR_KERR_ILLEGAL_GENERATION : GR_KERR_STALE_MEMBER_EPOCH;
    return 0;
}

int16_t gr_cg_validate_fetch(gr_group_t *g, gr_str_t member_id, int32_t epoch)
{
    if (epoch == -1)
        return 0;
    gr_cmember_t *m = member_find(g->cg, member_id);
    if (!m)
        return GR_KERR_UNKNOWN_MEMBER_ID;
    if (epoch != m->epoch)
        return m->classic ? GR_KERR_ILLEGAL_GENERATION : GR_KERR_STALE_MEMBER_EPOCH;
    return 0;
}

const char *gr_gcoord_cg_state(gr_gcoord_t *c, gr_str_t group_id)
{
    gr_group_t *g = gr_gc_group_find(c, group_id);
    return g && g->cg ? cg_state(g->cg) : NULL;
}

int32_t gr_gcoord_cg_epoch(gr_gcoord_t *c, gr_str_t group_id)
{
    gr_group_t *g = gr_gc_group_find(c, group_id);
    return g && g->cg ? g->cg->group_epoch : -1;
}
