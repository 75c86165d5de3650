/* The group coordinator's core: the table of groups, the timer heap, the
 * partitions of __consumer_offsets it serves and their loading (replaying
 * the records of group_records.h), and writing group metadata records. The
 * group state machine is in membership.c, offsets in offsets.c. */
#include "group/group_int.h"
#include "base/err.h"
#include "base/log.h"
#include "group/group_records.h"
#include "protocol/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void gr_gcoord_config_default(gr_gcoord_config_t *cfg)
{
    cfg->num_partitions = 50;
    cfg->initial_rebalance_delay_ms = 3000;
    cfg->min_session_timeout_ms = 6000;
    cfg->max_session_timeout_ms = 1800000;
    cfg->max_size = INT32_MAX;
    cfg->offsets_retention_ms = 10080LL * 60 * 1000;
    cfg->retention_check_interval_ms = 600000;
    cfg->offset_metadata_max_bytes = 4096;
    cfg->new_member_join_timeout_ms = 5 * 60 * 1000;
    cfg->consumer_session_timeout_ms = 45000;
    cfg->consumer_heartbeat_interval_ms = 5000;
    cfg->consumer_max_size = INT32_MAX;
    snprintf(cfg->consumer_assignor, sizeof cfg->consumer_assignor, "uniform");
    snprintf(cfg->consumer_assignors_list, sizeof cfg->consumer_assignors_list, "uniform, range");
    cfg->migration_policy = GR_GMIGRATE_UPGRADE | GR_GMIGRATE_DOWNGRADE;
}

int gr_gcoord_migration_policy(const char *name)
{
    static const struct {
        const char *name;
        int         bits;
    } policies[] = {
        {"disabled", 0},
        {"upgrade", GR_GMIGRATE_UPGRADE},
        {"downgrade", GR_GMIGRATE_DOWNGRADE},
        {"bidirectional", GR_GMIGRATE_UPGRADE | GR_GMIGRATE_DOWNGRADE},
    };
    for (size_t i = 0; name && i < sizeof policies / sizeof policies[0]; i++)
        if (strcasecmp(name, policies[i].name) == 0)
            return policies[i].bits;
    return -1;
}

/* Coordinator state cannot be left half-built, and a broker that cannot
 * allocate a few bytes for a member id cannot serve anyway: the small
 * allocations of the coordinator abort on failure (with a log line)
 * instead of unwinding. Sizes are bounded by the request that caused them. */
char *gr_gc_strdup(gr_str_t s)
{
    size_t n = s.len > 0 ? (size_t)s.len : 0;
    char *p = malloc(n + 1);
    if (!p) {
        gr_log(GR_LOG_ERROR, "group", "out of memory");
        abort();
    }
    if (n)
        memcpy(p, s.ptr, n);
    p[n] = 0;
    return p;
}

bool gr_gc_str_is(const char *a, gr_str_t b)
{
    if (!a)
        return b.len < 0;
    if (b.len < 0)
        return false;
    return strlen(a) == (size_t)b.len && memcmp(a, b.ptr, (size_t)b.len) == 0;
}

int64_t gr_gc_now(gr_gcoord_t *c) { return c->ops.mono_ms(c->ops.arg); }
int64_t gr_gc_wall(gr_gcoord_t *c) { return c->ops.wall_ms(c->ops.arg); }

/* ---- timers: a binary min-heap of deadlines ---- */

void gr_gc_timer_init(gr_gtimer_t *t, gr_gtimer_fn fn)
{
    t->deadline = 0;
    t->idx = -1;
    t->fn = fn;
}

static void heap_swap(gr_gcoord_t *c, int32_t a, int32_t b)
{
    gr_gtimer_t *t = c->heap[a];
    c->heap[a] = c->heap[b];
    c->heap[b] = t;
    c->heap[a]->idx = a;
    c->heap[b]->idx = b;
}

static void heap_up(gr_gcoord_t *c, int32_t i)
{
    while (i > 0) {
        int32_t p = (i - 1) / 2;
        if (c->heap[p]->deadline <= c->heap[i]->deadline)
            break;
        heap_swap(c, p, i);
        i = p;
    }
}

static void heap_down(gr_gcoord_t *c, int32_t i)
{
    for (;;) {
        int32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < c->heap_len && c->heap[l]->deadline < c->heap[m]->deadline)
            m = l;
        if (r < c->heap_len && c->heap[r]->deadline < c->heap[m]->deadline)
            m = r;
        if (m == i)
            break;
        heap_swap(c, m, i);
        i = m;
    }
}

/* Tells the broker about a new earliest deadline. */
static void rearm(gr_gcoord_t *c)
{
    int64_t d = c->heap_len > 0 ? c->heap[0]->deadline : INT64_MAX;
    if (d != c->armed && c->ops.arm_timer) {
        c->armed = d;
        c->ops.arm_timer(c->ops.arg, d);
    }
}

static void heap_remove(gr_gcoord_t *c, gr_gtimer_t *t)
{
    int32_t i = t->idx;
    int32_t last = --c->heap_len;
    if (i != last) {
        c->heap[i] = c->heap[last];
        c->heap[i]->idx = i;
        heap_down(c, i);
        heap_up(c, i);
    }
    t->idx = -1;
}

void gr_gc_timer_cancel(gr_gcoord_t *c, gr_gtimer_t *t)
{
    if (t->idx < 0)
        return;
    heap_remove(c, t);
    rearm(c);
}

void gr_gc_timer_arm(gr_gcoord_t *c, gr_gtimer_t *t, int64_t delay_ms)
{
    if (c->shut)
        return;
    if (delay_ms < 0)
        delay_ms = 0;
    int64_t now = gr_gc_now(c);
    int64_t deadline = delay_ms > INT64_MAX - now ? INT64_MAX - 1 : now + delay_ms;
    if (t->idx >= 0) {
        t->deadline = deadline;
        heap_down(c, t->idx);
        heap_up(c, t->idx);
        rearm(c);
        return;
    }
    if (c->heap_len == c->heap_cap) {
        int32_t cap = c->heap_cap ? c->heap_cap * 2 : 64;
        gr_gtimer_t **h = realloc(c->heap, (size_t)cap * sizeof *h);
        if (!h)
            abort();
        c->heap = h;
        c->heap_cap = cap;
    }
    t->deadline = deadline;
    t->idx = c->heap_len;
    c->heap[c->heap_len++] = t;
    heap_up(c, t->idx);
    rearm(c);
}

void gr_gcoord_run_timers(gr_gcoord_t *c)
{
    if (c->shut)
        return;
    int64_t now = gr_gc_now(c);
    /* A timer armed by a callback with delay 0 runs in the next round, so a
     * callback that re-arms itself cannot spin here. */
    int rounds = 0;
    while (c->heap_len > 0 && c->heap[0]->deadline <= now && rounds++ < 100000) {
        gr_gtimer_t *t = c->heap[0];
        heap_remove(c, t);
        t->fn(c, t);
        if (c->shut)
            return;
    }
    c->armed = -1; /* force a report */
    rearm(c);
}

/* ---- the table of groups ---- */

static uint64_t str_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

gr_group_t *gr_gc_group_find(gr_gcoord_t *c, gr_str_t id)
{
    if (id.len < 0 || !c->nbuckets)
        return NULL;
    size_t b = str_hash(id.ptr, (size_t)id.len) % c->nbuckets;
    for (gr_group_t *g = c->buckets[b]; g; g = g->hnext)
        if (g->id_len == (size_t)id.len && memcmp(g->id, id.ptr, g->id_len) == 0)
            return g;
    return NULL;
}

static void table_grow(gr_gcoord_t *c)
{
    size_t n = c->nbuckets ? c->nbuckets * 2 : 64;
    gr_group_t **nb = calloc(n, sizeof *nb);
    if (!nb)
        return; /* keep the longer chains */
    for (size_t i = 0; i < c->nbuckets; i++) {
        gr_group_t *g = c->buckets[i];
        while (g) {
            gr_group_t *next = g->hnext;
            size_t b = str_hash(g->id, g->id_len) % n;
            g->hnext = nb[b];
            nb[b] = g;
            g = next;
        }
    }
    free(c->buckets);
    c->buckets = nb;
    c->nbuckets = n;
}

static void join_timer_fn(gr_gcoord_t *c, gr_gtimer_t *t);
static void sync_timer_fn(gr_gcoord_t *c, gr_gtimer_t *t);

gr_group_t *gr_gc_group_create(gr_gcoord_t *c, gr_str_t id)
{
    if (c->ngroups + 1 > c->nbuckets)
        table_grow(c);
    if (!c->nbuckets)
        return NULL;
    gr_group_t *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->coord = c;
    g->id = gr_gc_strdup(id);
    g->id_len = id.len > 0 ? (size_t)id.len : 0;
    g->partition = gr_gcoord_partition_for(c, id);
    g->state = g->prev_state = GR_GSTATE_EMPTY;
    g->state_ts = gr_gc_wall(c);
    gr_gc_timer_init(&g->join_timer, join_timer_fn);
    gr_gc_timer_init(&g->sync_timer, sync_timer_fn);
    size_t b = str_hash(g->id, g->id_len) % c->nbuckets;
    g->hnext = c->buckets[b];
    c->buckets[b] = g;
    c->ngroups++;
    return g;
}

#define group_clear_members gr_gc_clear_members

void gr_gc_clear_members(gr_gcoord_t *c, gr_group_t *g)
{
    while (g->members) {
        gr_gmember_t *m = g->members;
        g->members = m->next;
        gr_gm_fail_parked(m, GR_KERR_NOT_COORDINATOR);
        gr_gm_free(c, m);
    }
    g->nmembers = 0;
    g->leader = NULL;
    g->nawaiting_join = 0;
    g->npending_sync = 0;
    while (g->pending) {
        gr_gpending_t *p = g->pending;
        g->pending = p->next;
        gr_gm_pending_free(c, p);
    }
    g->npending = 0;
    while (g->proto_counts) {
        gr_gproto_count_t *pc = g->proto_counts;
        g->proto_counts = pc->next;
        free(pc->name);
        free(pc);
    }
}

static void group_clear_subscribed(gr_group_t *g)
{
    for (int32_t i = 0; i < g->nsubscribed; i++)
        free(g->subscribed[i]);
    free(g->subscribed);
    g->subscribed = NULL;
    g->nsubscribed = 0;
    g->subscribed_known = false;
}

void gr_gc_group_free(gr_gcoord_t *c, gr_group_t *g)
{
    size_t b = str_hash(g->id, g->id_len) % c->nbuckets;
    for (gr_group_t **pp = &c->buckets[b]; *pp; pp = &(*pp)->hnext)
        if (*pp == g) {
            *pp = g->hnext;
            c->ngroups--;
            break;
        }
    gr_gc_timer_cancel(c, &g->join_timer);
    gr_gc_timer_cancel(c, &g->sync_timer);
    group_clear_members(c, g);
    group_clear_subscribed(g);
    gr_cg_free(c, g);
    gr_go_free_all(g);
    gr_grecs_free(&g->pend);
    free(g->protocol_type);
    free(g->protocol_name);
    free(g->id);
    free(g);
}

const char *gr_gc_state_name(gr_gstate_t s)
{
    switch (s) {
    case GR_GSTATE_EMPTY: return "Empty";
    case GR_GSTATE_PREPARING: return "PreparingRebalance";
    case GR_GSTATE_COMPLETING: return "CompletingRebalance";
    case GR_GSTATE_STABLE: return "Stable";
    default: return "Dead";
    }
}

void gr_gc_transition(gr_group_t *g, gr_gstate_t s)
{
    g->prev_state = g->state;
    g->state = s;
    g->state_ts = gr_gc_wall(g->coord);
}

/* The join and sync timers call into membership.c. */
void gr_gm_join_timer(gr_gcoord_t *c, gr_group_t *g);
void gr_gm_sync_timer(gr_gcoord_t *c, gr_group_t *g);

static void join_timer_fn(gr_gcoord_t *c, gr_gtimer_t *t)
{
    gr_group_t *g = (gr_group_t *)((char *)t - offsetof(gr_group_t, join_timer));
    gr_gm_join_timer(c, g);
}

static void sync_timer_fn(gr_gcoord_t *c, gr_gtimer_t *t)
{
    gr_group_t *g = (gr_group_t *)((char *)t - offsetof(gr_group_t, sync_timer));
    gr_gm_sync_timer(c, g);
}

/* ---- the coordinator ---- */

gr_gcoord_t *gr_gcoord_new(const gr_gcoord_config_t *cfg, const gr_gcoord_ops_t *ops)
{
    gr_gcoord_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->cfg = *cfg;
    c->ops = *ops;
    c->armed = INT64_MAX;
    table_grow(c);
    gr_gcoord_set_partition_count(c, cfg->num_partitions > 0 ? cfg->num_partitions : 1);
    if (!c->buckets || !c->pstate) {
        gr_gcoord_free(c);
        return NULL;
    }
    gr_gc_timer_init(&c->expire_timer, gr_go_expire_timer);
    gr_gc_timer_arm(c, &c->expire_timer, c->cfg.retention_check_interval_ms);
    return c;
}

void gr_gcoord_shutdown(gr_gcoord_t *c)
{
    if (c->shut)
        return;
    for (size_t i = 0; i < c->nbuckets; i++)
        for (gr_group_t *g = c->buckets[i]; g; g = g->hnext)
            for (gr_gmember_t *m = g->members; m; m = m->next)
                gr_gm_fail_parked(m, GR_KERR_NOT_COORDINATOR);
    while (c->heap_len > 0)
        heap_remove(c, c->heap[0]);
    c->shut = true;
    if (c->ops.arm_timer)
        c->ops.arm_timer(c->ops.arg, INT64_MAX);
}

void gr_gcoord_free(gr_gcoord_t *c)
{
    if (!c)
        return;
    gr_gcoord_shutdown(c);
    for (size_t i = 0; i < c->nbuckets; i++)
        while (c->buckets[i])
            gr_gc_group_free(c, c->buckets[i]);
    free(c->buckets);
    free(c->heap);
    free(c->pstate);
    free(c);
}

/* ---- partitions ---- */

void gr_gcoord_set_partition_count(gr_gcoord_t *c, int32_t n)
{
    if (n <= 0 || n == c->nparts)
        return;
    uint8_t *ps = calloc((size_t)n, 1);
    if (!ps)
        return;
    if (c->pstate)
        memcpy(ps, c->pstate, (size_t)(n < c->nparts ? n : c->nparts));
    free(c->pstate);
    c->pstate = ps;
    c->nparts = n;
}

int32_t gr_gcoord_partition_for(const gr_gcoord_t *c, gr_str_t group_id)
{
    return gr_grec_partition_for(group_id.ptr ? group_id.ptr : "", group_id.len > 0 ? (size_t)group_id.len : 0,
                                 c->nparts);
}

bool gr_gcoord_owns(const gr_gcoord_t *c, int32_t p)
{
    return p >= 0 && p < c->nparts && c->pstate[p] == GR_GPART_OWNED;
}

int16_t gr_gcoord_status(const gr_gcoord_t *c, gr_str_t group_id)
{
    if (c->shut)
        return GR_KERR_NOT_COORDINATOR;
    int32_t p = gr_gcoord_partition_for(c, group_id);
    if (p < 0 || p >= c->nparts || c->pstate[p] == GR_GPART_NONE)
        return GR_KERR_NOT_COORDINATOR;
    if (c->pstate[p] == GR_GPART_LOADING)
        return GR_KERR_COORDINATOR_LOAD_IN_PROGRESS;
    return GR_KERR_NONE;
}

void gr_gcoord_load_begin(gr_gcoord_t *c, int32_t p)
{
    if (p >= 0 && p < c->nparts)
        c->pstate[p] = GR_GPART_LOADING;
}

void gr_gcoord_load_end(gr_gcoord_t *c, int32_t p)
{
    if (p < 0 || p >= c->nparts)
        return;
    c->pstate[p] = GR_GPART_OWNED;
    for (size_t i = 0; i < c->nbuckets; i++)
        for (gr_group_t *g = c->buckets[i]; g; g = g->hnext)
            if (g->partition == p && g->cg)
                gr_cg_loaded(c, g);
            else if (g->partition == p)
                gr_gm_loaded(c, g);
}

/* A GroupMetadataValue replaces what the group knew about its members. */
static int replay_group(gr_gcoord_t *c, gr_str_t id, gr_bytes_t value)
{
    gr_group_t *g = gr_gc_group_find(c, id);
    if (value.len < 0) {
        if (!g || g->cg)
            return 0; /* a consumer group's records are its own */
        if (g->noffsets == 0) {
            gr_gc_group_free(c, g);
            return 0;
        }
        /* Offsets outlive their group's metadata (Kafka keeps them apart):
         * what is left is a simple group. */
        group_clear_members(c, g);
        group_clear_subscribed(g);
        free(g->protocol_type);
        free(g->protocol_name);
        g->protocol_type = g->protocol_name = NULL;
        g->generation = 0;
        g->state = g->prev_state = GR_GSTATE_EMPTY;
        return 0;
    }
    gr_arena_t arena;
    gr_arena_init(&arena, 0);
    gr_grec_group_t v;
    int rc = gr_grec_group_value_parse(value.ptr, (size_t)value.len, &arena, &v);
    if (rc != 0) {
        gr_arena_free(&arena);
        return rc;
    }
    if (!g)
        g = gr_gc_group_create(c, id);
    if (!g) {
        gr_arena_free(&arena);
        return GR_ENOMEM;
    }
    gr_cg_free(c, g); /* a consumer group converted to a classic one */
    group_clear_members(c, g);
    free(g->protocol_type);
    free(g->protocol_name);
    g->protocol_type = v.protocol_type.len > 0 ? gr_gc_strdup(v.protocol_type) : NULL;
    g->protocol_name = v.protocol.len >= 0 ? gr_gc_strdup(v.protocol) : NULL;
    g->generation = v.generation;
    g->state_ts = v.state_ts;
    g->persisted = true;
    gr_gmember_t **tail = &g->members;
    for (int32_t i = 0; i < v.nmembers; i++) {
        gr_grec_member_t *rm = &v.members[i];
        gr_gmember_t *m = calloc(1, sizeof *m);
        gr_gproto_t *pr = calloc(1, sizeof *pr);
        if (!m || !pr) {
            free(m);
            free(pr);
            break;
        }
        m->grp = g;
        m->id = gr_gc_strdup(rm->member_id);
        m->instance_id = rm->instance_id.len >= 0 ? gr_gc_strdup(rm->instance_id) : NULL;
        m->client_id = gr_gc_strdup(rm->client_id);
        m->client_host = gr_gc_strdup(rm->client_host);
        m->protocol_type = gr_gc_strdup(v.protocol_type);
        m->rebalance_timeout_ms = rm->rebalance_timeout_ms >= 0 ? rm->rebalance_timeout_ms : rm->session_timeout_ms;
        m->session_timeout_ms = rm->session_timeout_ms;
        pr->name = gr_gc_strdup(v.protocol.len >= 0 ? v.protocol : gr_str(""));
        pr->meta_len = rm->subscription.len > 0 ? rm->subscription.len : 0;
        pr->meta = malloc((size_t)pr->meta_len + 1);
        m->assignment = malloc((size_t)(rm->assignment.len > 0 ? rm->assignment.len : 0) + 1);
        if (!pr->meta || !m->assignment) {
            gr_log(GR_LOG_ERROR, "group", "out of memory");
            abort();
        }
        if (pr->meta_len)
            memcpy(pr->meta, rm->subscription.ptr, (size_t)pr->meta_len);
        m->protos = pr;
        m->nprotos = 1;
        m->assignment_len = rm->assignment.len > 0 ? rm->assignment.len : 0;
        if (m->assignment_len)
            memcpy(m->assignment, rm->assignment.ptr, (size_t)m->assignment_len);
        gr_gc_timer_init(&m->hb, NULL);
        *tail = m;
        tail = &m->next;
        g->nmembers++;
        gr_gm_protos_add(g, m, 1);
        if (gr_gc_str_is(m->id, v.leader))
            g->leader = m;
    }
    if (!g->leader)
        g->leader = g->members;
    g->state = g->prev_state = g->nmembers > 0 ? GR_GSTATE_STABLE : GR_GSTATE_EMPTY;
    gr_gm_compute_subscribed(g);
    gr_arena_free(&arena);
    return 0;
}

int gr_gcoord_replay(gr_gcoord_t *c, int32_t partition, gr_bytes_t key, gr_bytes_t value)
{
    (void)partition;
    if (key.len <= 0)
        return GR_EMALFORMED;
    gr_grec_key_t k;
    int rc = gr_grec_key_parse(key.ptr, (size_t)key.len, &k);
    if (rc == GR_EUNSUPPORTED)
        return 0; /* a kind of group we do not serve */
    if (rc != 0)
        return rc;
    if (k.type == GR_GREC_GROUP_METADATA)
        return replay_group(c, k.group, value);
    if (k.type != GR_GREC_OFFSET_COMMIT && k.type != GR_GREC_OFFSET_COMMIT_LEGACY)
        return gr_cg_replay(c, k.type, k.group, k.member, value);
    gr_group_t *g = gr_gc_group_find(c, k.group);
    if (value.len < 0) {
        if (g)
            gr_go_delete(g, k.topic, k.partition);
        return 0;
    }
    gr_grec_offset_t ov;
    rc = gr_grec_offset_value_parse(value.ptr, (size_t)value.len, &ov);
    if (rc == GR_EUNSUPPORTED)
        return 0;
    if (rc != 0)
        return rc;
    if (k.partition < 0 || k.partition > 10000000)
        return GR_EMALFORMED;
    if (!g) {
        /* Offsets without group metadata: a simple group. */
        g = gr_gc_group_create(c, k.group);
        if (!g)
            return GR_ENOMEM;
    }
    g->persisted = true;
    return gr_go_set(g, k.topic, k.partition, ov.offset, ov.leader_epoch, ov.metadata, ov.commit_ts,
                     ov.expire_ts);
}

/* ---- writing records ---- */

int16_t gr_gc_append(gr_gcoord_t *c, gr_group_t *g, gr_buf_t *keys, gr_buf_t *values, int n,
                     gr_gcoord_done_fn done, void *arg)
{
    if (c->shut)
        return GR_KERR_NOT_COORDINATOR;
    gr_bytes_t *kb = calloc((size_t)(n > 0 ? n : 1), 2 * sizeof *kb);
    if (!kb)
        return GR_KERR_UNKNOWN_SERVER_ERROR;
    gr_bytes_t *vb = kb + n;
    for (int i = 0; i < n; i++) {
        if (keys[i].oom || values[i].oom) {
            free(kb);
            return GR_KERR_UNKNOWN_SERVER_ERROR;
        }
        kb[i].ptr = keys[i].data;
        kb[i].len = (int32_t)keys[i].len;
        /* An empty values[i] with data NULL is a tombstone. */
        vb[i].ptr = values[i].data;
        vb[i].len = values[i].data ? (int32_t)values[i].len : -1;
    }
    int16_t err = c->ops.append(c->ops.arg, g->partition, kb, vb, n, done, arg);
    free(kb);
    if (err == 0)
        g->persisted = true;
    return err;
}

void gr_grecs_add(gr_grecs_t *r, gr_buf_t **key, gr_buf_t **value)
{
    if (!r->oom && r->n == r->cap) {
        int cap = r->cap ? r->cap * 2 : 8;
        gr_buf_t *k = realloc(r->keys, (size_t)cap * sizeof *k);
        if (k)
            r->keys = k;
        gr_buf_t *v = k ? realloc(r->values, (size_t)cap * sizeof *v) : NULL;
        if (v) {
            r->values = v;
            r->cap = cap;
        } else {
            r->oom = true;
        }
    }
    if (r->oom) {
        gr_buf_reset(&r->spare_key);
        gr_buf_reset(&r->spare_value);
        *key = &r->spare_key;
        *value = &r->spare_value;
        return;
    }
    gr_buf_init(&r->keys[r->n]);
    gr_buf_init(&r->values[r->n]);
    *key = &r->keys[r->n];
    *value = &r->values[r->n];
    r->n++;
}

void gr_grecs_free(gr_grecs_t *r)
{
    for (int i = 0; i < r->n; i++) {
        gr_buf_free(&r->keys[i]);
        gr_buf_free(&r->values[i]);
    }
    free(r->keys);
    free(r->values);
    gr_buf_free(&r->spare_key);
    gr_buf_free(&r->spare_value);
    memset(r, 0, sizeof *r);
}

int16_t gr_gc_append_recs(gr_gcoord_t *c, gr_group_t *g, gr_grecs_t *r, gr_gcoord_done_fn done, void *arg)
{
    if (r->oom) {
        gr_log(GR_LOG_ERROR, "group", "out of memory building the records of group %s", g->id);
        return GR_KERR_UNKNOWN_SERVER_ERROR;
    }
    if (r->n == 0)
        return 0;
    return gr_gc_append(c, g, r->keys, r->values, r->n, done, arg);
}

int16_t gr_gc_append_error(int16_t err)
{
    switch (err) {
    case GR_KERR_UNKNOWN_TOPIC_OR_PARTITION:
    case GR_KERR_NOT_ENOUGH_REPLICAS:
    case GR_KERR_REQUEST_TIMED_OUT:
        return GR_KERR_COORDINATOR_NOT_AVAILABLE;
    case GR_KERR_NOT_LEADER_OR_FOLLOWER:
    case GR_KERR_KAFKA_STORAGE_ERROR:
        return GR_KERR_NOT_COORDINATOR;
    case GR_KERR_MESSAGE_TOO_LARGE:
    case GR_KERR_RECORD_LIST_TOO_LARGE:
    case GR_KERR_INVALID_FETCH_SIZE:
        return GR_KERR_UNKNOWN_SERVER_ERROR;
    default:
        return err;
    }
}

void gr_gc_group_record(gr_group_t *g, gr_grecs_t *r)
{
    gr_grec_group_t v;
    memset(&v, 0, sizeof v);
    v.protocol_type = gr_str(g->protocol_type ? g->protocol_type : "");
    v.generation = g->generation;
    v.protocol = gr_str(g->protocol_name);
    v.leader = gr_str(g->leader ? g->leader->id : NULL);
    v.state_ts = g->state_ts;
    gr_grec_member_t *ms = calloc((size_t)g->nmembers + 1, sizeof *ms);
    if (!ms) {
        r->oom = true;
        return;
    }
    int32_t i = 0;
    for (gr_gmember_t *m = g->members; m; m = m->next, i++) {
        ms[i].member_id = gr_str(m->id);
        ms[i].instance_id = gr_str(m->instance_id);
        ms[i].client_id = gr_str(m->client_id);
        ms[i].client_host = gr_str(m->client_host);
        ms[i].rebalance_timeout_ms = m->rebalance_timeout_ms;
        ms[i].session_timeout_ms = m->session_timeout_ms;
        const gr_gproto_t *p = g->protocol_name ? gr_gm_proto(m, g->protocol_name) : NULL;
        ms[i].subscription.ptr = p ? p->meta : NULL;
        ms[i].subscription.len = p ? p->meta_len : 0;
        ms[i].assignment.ptr = m->assignment;
        ms[i].assignment.len = m->assignment_len;
    }
    v.members = ms;
    v.nmembers = g->nmembers;
    gr_buf_t *key, *value;
    gr_grecs_add(r, &key, &value);
    gr_grec_group_key(key, gr_str(g->id));
    gr_grec_group_value(value, &v);
    free(ms);
}

int16_t gr_gc_write_group(gr_gcoord_t *c, gr_group_t *g)
{
    /* Records a conversion left behind go first. */
    gr_grecs_t r = g->pend;
    memset(&g->pend, 0, sizeof g->pend);
    gr_gc_group_record(g, &r);
    int16_t err = gr_gc_append_recs(c, g, &r, NULL, NULL);
    gr_grecs_free(&r);
    if (err)
        gr_log(GR_LOG_WARN, "group", "cannot write the metadata of group %s: %s", g->id, gr_kerr_name(err));
    return err;
}

/* ---- for tests and tools ---- */

const char *gr_gcoord_group_state(gr_gcoord_t *c, gr_str_t id)
{
    gr_group_t *g = gr_gc_group_find(c, id);
    return g ? gr_gc_state_name(g->state) : "Dead";
}

int32_t gr_gcoord_group_generation(gr_gcoord_t *c, gr_str_t id)
{
    gr_group_t *g = gr_gc_group_find(c, id);
    return g ? g->generation : -1;
}

int32_t gr_gcoord_group_size(gr_gcoord_t *c, gr_str_t id)
{
    gr_group_t *g = gr_gc_group_find(c, id);
    return g ? g->nmembers : 0;
}
