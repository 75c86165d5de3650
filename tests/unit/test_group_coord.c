/* Tests of the classic group coordinator (src/group/coordinator.c,
 * membership.c, offsets.c) with a fake clock and an in-memory
 * __consumer_offsets: joins, the initial delayed join, rebalances, session
 * and rebalance timeouts, static members, error codes, commits and their
 * reload, retention. Time only moves when a test says so. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "group/group.h"
#include "group/group_records.h"
#include "protocol/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the fake broker ---- */

typedef struct rec_s {
    int32_t  partition;
    uint8_t *key, *value;
    int32_t  klen, vlen; /* vlen -1: tombstone */
} rec_t;

typedef struct done_s {
    gr_gcoord_done_fn fn;
    void             *arg;
} done_t;

typedef struct env_s {
    int64_t      now, wall;
    int64_t      armed;
    rec_t        recs[4096];
    int          nrecs;
    done_t       dones[256];
    int          ndones;
    int16_t      fail_append;
    gr_gcoord_t *c;
    gr_gcoord_config_t cfg;
} env_t;

static int64_t f_mono(void *arg) { return ((env_t *)arg)->now; }
static int64_t f_wall(void *arg) { return ((env_t *)arg)->wall; }

static int16_t f_append(void *arg, int32_t partition, const gr_bytes_t *keys, const gr_bytes_t *values, int n,
                        gr_gcoord_done_fn done, void *done_arg)
{
    env_t *e = arg;
    if (e->fail_append)
        return e->fail_append;
    for (int i = 0; i < n; i++) {
        rec_t *r = &e->recs[e->nrecs++];
        assert_true(e->nrecs < 4096);
        r->partition = partition;
        r->klen = keys[i].len;
        r->key = malloc((size_t)keys[i].len + 1);
        memcpy(r->key, keys[i].ptr, (size_t)keys[i].len);
        r->vlen = values[i].len;
        r->value = NULL;
        if (values[i].len >= 0) {
            r->value = malloc((size_t)values[i].len + 1);
            memcpy(r->value, values[i].ptr, (size_t)values[i].len);
        }
    }
    if (done) {
        e->dones[e->ndones].fn = done;
        e->dones[e->ndones].arg = done_arg;
        e->ndones++;
    }
    return 0;
}

static void f_arm(void *arg, int64_t deadline) { ((env_t *)arg)->armed = deadline; }

static env_t *env_new_cfg(const gr_gcoord_config_t *cfg)
{
    env_t *e = calloc(1, sizeof *e);
    e->now = 1000;
    e->wall = 1700000000000LL;
    e->cfg = *cfg;
    gr_gcoord_ops_t ops = {e, f_mono, f_wall, f_append, f_arm};
    e->c = gr_gcoord_new(cfg, &ops);
    assert_non_null(e->c);
    for (int32_t p = 0; p < cfg->num_partitions; p++) {
        gr_gcoord_load_begin(e->c, p);
        gr_gcoord_load_end(e->c, p);
    }
    return e;
}

static gr_gcoord_config_t test_cfg(void)
{
    gr_gcoord_config_t cfg;
    gr_gcoord_config_default(&cfg);
    cfg.num_partitions = 4;
    cfg.initial_rebalance_delay_ms = 0;
    cfg.min_session_timeout_ms = 1000;
    return cfg;
}

static env_t *env_new(void)
{
    gr_gcoord_config_t cfg = test_cfg();
    return env_new_cfg(&cfg);
}

static void env_free(env_t *e)
{
    gr_gcoord_free(e->c);
    for (int i = 0; i < e->nrecs; i++) {
        free(e->recs[i].key);
        free(e->recs[i].value);
    }
    free(e);
}

/* Moves both clocks and fires due timers. */
static void advance(env_t *e, int64_t ms)
{
    e->now += ms;
    e->wall += ms;
    gr_gcoord_run_timers(e->c);
}

static void flush_dones(env_t *e)
{
    for (int i = 0; i < e->ndones; i++)
        e->dones[i].fn(e->dones[i].arg, 0);
    e->ndones = 0;
}

/* ---- requests and captured answers ---- */

typedef struct join_res_s {
    bool    done;
    int16_t error;
    int32_t generation;
    char    member_id[128];
    char    leader[128];
    char    protocol[32];
    int32_t nmembers;
    bool    skip;
} join_res_t;

static void on_join(void *arg, const gr_JoinGroupResponse *r)
{
    join_res_t *j = arg;
    assert_false(j->done); /* answered exactly once */
    j->done = true;
    j->error = r->ErrorCode;
    j->generation = r->GenerationId;
    snprintf(j->member_id, sizeof j->member_id, "%.*s", r->MemberId.len > 0 ? (int)r->MemberId.len : 0,
             r->MemberId.len > 0 ? r->MemberId.ptr : "");
    snprintf(j->leader, sizeof j->leader, "%.*s", r->Leader.len > 0 ? (int)r->Leader.len : 0,
             r->Leader.len > 0 ? r->Leader.ptr : "");
    snprintf(j->protocol, sizeof j->protocol, "%.*s", r->ProtocolName.len > 0 ? (int)r->ProtocolName.len : 0,
             r->ProtocolName.len > 0 ? r->ProtocolName.ptr : "");
    j->nmembers = r->Members_count;
    j->skip = r->SkipAssignment;
}

typedef struct join_opts_s {
    const char *instance;
    const char *ptype;    /* default "consumer" */
    const char *protos[3];/* default {"range"} */
    int32_t     session;  /* default 10000 */
    int32_t     rebalance;/* default 5000 */
    int16_t     version;  /* default 5 */
    const char *metadata; /* default "" */
} join_opts_t;

static void join(env_t *e, const char *group, const char *member, const join_opts_t *o, join_res_t *res)
{
    char mid[128]; /* member may point into res */
    snprintf(mid, sizeof mid, "%s", member ? member : "");
    member = mid;
    memset(res, 0, sizeof *res);
    gr_JoinGroupRequest rq;
    gr_JoinGroupRequest_init(&rq);
    rq.GroupId = gr_str(group);
    rq.MemberId = gr_str(member ? member : "");
    rq.SessionTimeoutMs = o && o->session ? o->session : 10000;
    rq.RebalanceTimeoutMs = o && o->rebalance ? o->rebalance : 5000;
    rq.GroupInstanceId = gr_str(o ? o->instance : NULL);
    rq.ProtocolType = gr_str(o && o->ptype ? o->ptype : "consumer");
    gr_JoinGroupRequest_JoinGroupRequestProtocol ps[3];
    int n = 0;
    for (int i = 0; i < 3 && o && o->protos[i]; i++) {
        ps[n].Name = gr_str(o->protos[i]);
        ps[n].Metadata.ptr = (const uint8_t *)(o->metadata ? o->metadata : "");
        ps[n].Metadata.len = (int32_t)strlen(o->metadata ? o->metadata : "");
        n++;
    }
    if (n == 0) {
        ps[0].Name = gr_str("range");
        ps[0].Metadata.ptr = (const uint8_t *)(o && o->metadata ? o->metadata : "");
        ps[0].Metadata.len = (int32_t)strlen(o && o->metadata ? o->metadata : "");
        n = 1;
    }
    rq.Protocols = ps;
    rq.Protocols_count = n;
    gr_gclient_t cl = {o && o->version ? o->version : 5, gr_str("client"), "/127.0.0.1"};
    gr_gcoord_join(e->c, &cl, &rq, on_join, res);
}

/* A full two-step join of a new dynamic member; returns its member id in
 * res->member_id (the second JoinGroup is parked or answered). */
static void join_new(env_t *e, const char *group, const join_opts_t *o, join_res_t *res)
{
    join(e, group, "", o, res);
    assert_true(res->done);
    assert_int_equal(res->error, GR_KERR_MEMBER_ID_REQUIRED);
    char id[128];
    snprintf(id, sizeof id, "%s", res->member_id);
    join(e, group, id, o, res);
}

typedef struct sync_res_s {
    bool    done;
    int16_t error;
    char    assignment[64];
} sync_res_t;

static void on_sync(void *arg, const gr_SyncGroupResponse *r)
{
    sync_res_t *s = arg;
    assert_false(s->done);
    s->done = true;
    s->error = r->ErrorCode;
    snprintf(s->assignment, sizeof s->assignment, "%.*s", r->Assignment.len > 0 ? (int)r->Assignment.len : 0,
             r->Assignment.len > 0 ? (const char *)r->Assignment.ptr : "");
}

/* SyncGroup; with assign_to set, as the leader giving each member "a-<n>". */
static void sync_(env_t *e, const char *group, const char *member, int32_t gen, const char *const *assign_to,
                  sync_res_t *res)
{
    memset(res, 0, sizeof *res);
    gr_SyncGroupRequest rq;
    gr_SyncGroupRequest_init(&rq);
    rq.GroupId = gr_str(group);
    rq.MemberId = gr_str(member);
    rq.GenerationId = gen;
    rq.ProtocolType = gr_str("consumer"); /* mandatory from v5 */
    rq.ProtocolName = gr_str("range");
    gr_SyncGroupRequest_SyncGroupRequestAssignment as[8];
    char bufs[8][16];
    int n = 0;
    for (int i = 0; assign_to && assign_to[i]; i++) {
        snprintf(bufs[i], sizeof bufs[i], "a-%d", i);
        as[i].MemberId = gr_str(assign_to[i]);
        as[i].Assignment.ptr = (const uint8_t *)bufs[i];
        as[i].Assignment.len = (int32_t)strlen(bufs[i]);
        n++;
    }
    rq.Assignments = as;
    rq.Assignments_count = n;
    gr_gclient_t cl = {5, gr_str("client"), "/127.0.0.1"};
    gr_gcoord_sync(e->c, &cl, &rq, on_sync, res);
}

static int16_t heartbeat(env_t *e, const char *group, const char *member, int32_t gen, const char *instance)
{
    gr_HeartbeatRequest rq;
    gr_HeartbeatRequest_init(&rq);
    rq.GroupId = gr_str(group);
    rq.MemberId = gr_str(member);
    rq.GenerationId = gen;
    rq.GroupInstanceId = gr_str(instance);
    return gr_gcoord_heartbeat(e->c, &rq);
}

static int16_t leave(env_t *e, const char *group, const char *member, const char *instance)
{
    gr_LeaveGroupRequest rq;
    gr_LeaveGroupRequest_init(&rq);
    gr_LeaveGroupRequest_MemberIdentity mi = {gr_str(member), gr_str(instance), gr_str(NULL)};
    rq.GroupId = gr_str(group);
    rq.Members = &mi;
    rq.Members_count = 1;
    gr_arena_t a;
    gr_arena_init(&a, 0);
    gr_LeaveGroupResponse rs;
    gr_LeaveGroupResponse_init(&rs);
    gr_gcoord_leave(e->c, &rq, &a, &rs);
    int16_t err = rs.ErrorCode ? rs.ErrorCode : rs.Members[0].ErrorCode;
    gr_arena_free(&a);
    return err;
}

typedef struct commit_res_s {
    bool    done;
    int16_t err;
} commit_res_t;

static void on_committed(void *arg, int16_t err)
{
    commit_res_t *r = arg;
    r->done = true;
    r->err = err;
}

/* Commits offset to topic "t" partition p; returns the partition's error
 * once durable. */
static int16_t commit(env_t *e, const char *group, const char *member, int32_t gen, int32_t p, int64_t offset,
                      const char *metadata)
{
    int16_t err = -99;
    gr_gcommit_part_t part = {gr_str("t"), p, offset, -1, gr_str(metadata), -1, &err};
    gr_gcommit_t rq = {8, gr_str(group), gen, gr_str(member ? member : ""), gr_str(NULL), -1};
    commit_res_t r = {0};
    if (gr_gcoord_commit(e->c, &rq, &part, 1, on_committed, &r)) {
        assert_false(r.done); /* only once durable */
        flush_dones(e);
        assert_true(r.done);
        if (r.err)
            err = r.err;
    }
    return err;
}

/* The committed offset of "t"-p, -1 for none. */
static int64_t fetch(env_t *e, const char *group, int32_t p, char *metadata, size_t mlen)
{
    int32_t parts[1] = {p};
    gr_OffsetFetchRequest_OffsetFetchRequestTopics t = {gr_str("t"), parts, 1};
    gr_OffsetFetchRequest_OffsetFetchRequestGroup g = {gr_str(group), gr_str(NULL), -1, &t, 1};
    gr_arena_t a;
    gr_arena_init(&a, 0);
    gr_OffsetFetchResponse_OffsetFetchResponseGroup out;
    gr_gcoord_fetch_offsets(e->c, &g, false, &a, &out);
    assert_int_equal(out.ErrorCode, 0);
    assert_int_equal(out.Topics_count, 1);
    int64_t off = out.Topics[0].Partitions[0].CommittedOffset;
    if (metadata)
        snprintf(metadata, mlen, "%.*s", (int)out.Topics[0].Partitions[0].Metadata.len,
                 out.Topics[0].Partitions[0].Metadata.ptr);
    gr_arena_free(&a);
    return off;
}

static const char *state(env_t *e, const char *group) { return gr_gcoord_group_state(e->c, gr_str(group)); }

/* ---- tests ---- */

static void test_two_step_join_and_sync(void **st)
{
    env_t *e = env_new();
    join_res_t j;
    join_new(e, "g", NULL, &j);
    assert_false(j.done); /* parked: the initial delay (0 here) runs on a timer */
    assert_string_equal(state(e, "g"), "PreparingRebalance");
    advance(e, 0);
    assert_true(j.done);
    assert_int_equal(j.error, 0);
    assert_int_equal(j.generation, 1);
    assert_string_equal(j.leader, j.member_id);
    assert_string_equal(j.protocol, "range");
    assert_int_equal(j.nmembers, 1);
    assert_string_equal(state(e, "g"), "CompletingRebalance");
    assert_true(strncmp(j.member_id, "client-", 7) == 0);
    assert_int_equal(strlen(j.member_id), 7 + 36);

    sync_res_t s;
    const char *to[] = {j.member_id, NULL};
    sync_(e, "g", j.member_id, 1, to, &s);
    assert_true(s.done);
    assert_int_equal(s.error, 0);
    assert_string_equal(s.assignment, "a-0");
    assert_string_equal(state(e, "g"), "Stable");
    /* the group metadata record was written */
    assert_true(e->nrecs >= 1);
    assert_int_equal(heartbeat(e, "g", j.member_id, 1, NULL), 0);
    assert_int_equal(heartbeat(e, "g", j.member_id, 2, NULL), GR_KERR_ILLEGAL_GENERATION);
    assert_int_equal(heartbeat(e, "g", "nobody", 1, NULL), GR_KERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(heartbeat(e, "nogroup", "x", 1, NULL), GR_KERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(heartbeat(e, "", "x", 1, NULL), GR_KERR_INVALID_GROUP_ID);
    env_free(e);
}

static void test_v3_join_needs_no_member_id(void **st)
{
    env_t *e = env_new();
    join_res_t j;
    join_opts_t o = {.version = 3};
    join(e, "g", "", &o, &j);
    assert_false(j.done);
    advance(e, 0);
    assert_true(j.done);
    assert_int_equal(j.error, 0);
    assert_int_equal(j.generation, 1);
    env_free(e);
}

static void test_initial_delay_extends_for_new_members(void **st)
{
    gr_gcoord_config_t cfg = test_cfg();
    cfg.initial_rebalance_delay_ms = 3000;
    env_t *e = env_new_cfg(&cfg);
    join_opts_t o = {.rebalance = 10000};
    join_res_t a, b;
    join_new(e, "g", &o, &a);
    advance(e, 1000);
    join_new(e, "g", &o, &b);
    /* 3000: a member came during the delay, so wait another 3000 */
    advance(e, 2000);
    assert_false(a.done);
    advance(e, 2999);
    assert_false(a.done);
    advance(e, 1);
    assert_true(a.done && b.done);
    assert_int_equal(a.generation, 1);
    assert_int_equal(b.generation, 1);
    assert_int_equal(a.nmembers + b.nmembers, 2); /* only the leader gets the list */
    env_free(e);
}

static void test_pending_member_expires(void **st)
{
    env_t *e = env_new();
    join_res_t j;
    join_opts_t o = {.session = 2000};
    join(e, "g", "", &o, &j);
    assert_int_equal(j.error, GR_KERR_MEMBER_ID_REQUIRED);
    char id[128];
    snprintf(id, sizeof id, "%s", j.member_id);
    advance(e, 2000);
    /* the id expired with its session timeout */
    join(e, "g", id, &o, &j);
    assert_true(j.done);
    assert_int_equal(j.error, GR_KERR_UNKNOWN_MEMBER_ID);
    env_free(e);
}

/* Two members, Stable at generation 1; ids in a and b (a leads). */
static void two_members(env_t *e, join_res_t *a, join_res_t *b)
{
    join_new(e, "g", NULL, a);
    join_new(e, "g", NULL, b);
    advance(e, 0);
    assert_true(a->done && b->done);
    assert_int_equal(a->generation, 1);
    sync_res_t sa, sb;
    const char *to[] = {a->member_id, b->member_id, NULL};
    const char *leader = strcmp(a->leader, a->member_id) == 0 ? a->member_id : b->member_id;
    sync_(e, "g", strcmp(leader, a->member_id) == 0 ? b->member_id : a->member_id, 1, NULL, &sb);
    assert_false(sb.done); /* a follower waits for the leader */
    sync_(e, "g", leader, 1, to, &sa);
    assert_true(sa.done && sb.done);
    assert_int_equal(sa.error, 0);
    assert_int_equal(sb.error, 0);
    assert_string_equal(state(e, "g"), "Stable");
    if (strcmp(leader, b->member_id) == 0) {
        join_res_t t = *a;
        *a = *b;
        *b = t;
    }
}

static void test_new_member_triggers_rebalance(void **st)
{
    env_t *e = env_new();
    join_res_t a, b, c;
    two_members(e, &a, &b);
    join_new(e, "g", NULL, &c);
    assert_false(c.done);
    assert_string_equal(state(e, "g"), "PreparingRebalance");
    assert_int_equal(heartbeat(e, "g", a.member_id, 1, NULL), GR_KERR_REBALANCE_IN_PROGRESS);
    sync_res_t s;
    sync_(e, "g", a.member_id, 1, NULL, &s);
    assert_int_equal(s.error, GR_KERR_REBALANCE_IN_PROGRESS);
    join(e, "g", a.member_id, NULL, &a);
    assert_false(a.done);
    join(e, "g", b.member_id, NULL, &b);
    /* all three joined: the join phase completes at once */
    assert_true(a.done && b.done && c.done);
    assert_int_equal(a.generation, 2);
    assert_string_equal(a.leader, a.member_id);
    assert_int_equal(a.nmembers, 3);
    assert_int_equal(b.nmembers, 0);
    assert_int_equal(gr_gcoord_group_size(e->c, gr_str("g")), 3);
    env_free(e);
}

static void test_member_not_rejoining_is_dropped(void **st)
{
    env_t *e = env_new();
    join_res_t a, b;
    two_members(e, &a, &b);
    /* b rejoins (say with new metadata); a never does */
    join_opts_t o = {.metadata = "x"};
    join(e, "g", b.member_id, &o, &b);
    assert_false(b.done);
    assert_string_equal(state(e, "g"), "PreparingRebalance");
    advance(e, 4999);
    assert_false(b.done);
    advance(e, 1); /* the rebalance timeout (5000) */
    assert_true(b.done);
    assert_int_equal(b.error, 0);
    assert_int_equal(b.generation, 2);
    assert_string_equal(b.leader, b.member_id); /* leadership moved */
    assert_int_equal(gr_gcoord_group_size(e->c, gr_str("g")), 1);
    assert_int_equal(heartbeat(e, "g", a.member_id, 2, NULL), GR_KERR_UNKNOWN_MEMBER_ID);
    env_free(e);
}

static void test_session_timeout_removes_member(void **st)
{
    env_t *e = env_new();
    join_res_t a, b;
    two_members(e, &a, &b);
    for (int i = 0; i < 3; i++) {
        advance(e, 3000);
        assert_int_equal(heartbeat(e, "g", a.member_id, 1, NULL), 0);
    }
    assert_string_equal(state(e, "g"), "Stable");
    advance(e, 1000);
    /* b stopped heartbeating 10 s ago: gone, the group rebalances */
    assert_string_equal(state(e, "g"), "PreparingRebalance");
    assert_int_equal(heartbeat(e, "g", a.member_id, 1, NULL), GR_KERR_REBALANCE_IN_PROGRESS);
    join(e, "g", a.member_id, NULL, &a);
    assert_true(a.done);
    assert_int_equal(a.generation, 2);
    assert_int_equal(a.nmembers, 1);
    env_free(e);
}

static void test_leave_rebalances_and_empties(void **st)
{
    env_t *e = env_new();
    join_res_t a, b;
    two_members(e, &a, &b);
    assert_int_equal(leave(e, "g", b.member_id, NULL), 0);
    assert_string_equal(state(e, "g"), "PreparingRebalance");
    assert_int_equal(leave(e, "g", b.member_id, NULL), GR_KERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(leave(e, "g", a.member_id, NULL), 0);
    /* nobody left: the join phase completes into Empty at once */
    assert_string_equal(state(e, "g"), "Empty");
    assert_int_equal(gr_gcoord_group_generation(e->c, gr_str("g")), 2);
    assert_int_equal(leave(e, "nogroup", "m", NULL), GR_KERR_UNKNOWN_MEMBER_ID);
    env_free(e);
}

static void test_leader_leaving_during_sync_wakes_followers(void **st)
{
    env_t *e = env_new();
    join_res_t a, b;
    join_new(e, "g", NULL, &a);
    join_new(e, "g", NULL, &b);
    advance(e, 0);
    const char *follower = strcmp(a.leader, a.member_id) == 0 ? b.member_id : a.member_id;
    const char *leader = a.leader;
    sync_res_t s;
    sync_(e, "g", follower, 1, NULL, &s);
    assert_false(s.done);
    assert_int_equal(leave(e, "g", leader, NULL), 0);
    assert_true(s.done);
    assert_int_equal(s.error, GR_KERR_REBALANCE_IN_PROGRESS);
    env_free(e);
}

static void test_members_that_never_sync_are_removed(void **st)
{
    env_t *e = env_new();
    join_res_t a, b;
    join_new(e, "g", NULL, &a);
    join_new(e, "g", NULL, &b);
    advance(e, 0);
    sync_res_t s;
    const char *to[] = {a.member_id, b.member_id, NULL};
    const char *leader = a.leader;
    const char *follower = strcmp(leader, a.member_id) == 0 ? b.member_id : a.member_id;
    sync_(e, "g", leader, 1, to, &s);
    assert_true(s.done);
    assert_string_equal(state(e, "g"), "Stable");
    char fid[128];
    snprintf(fid, sizeof fid, "%s", follower);
    advance(e, 5000); /* the follower never synced within the rebalance timeout */
    assert_string_equal(state(e, "g"), "PreparingRebalance");
    assert_int_equal(gr_gcoord_group_size(e->c, gr_str("g")), 1);
    assert_int_equal(heartbeat(e, "g", fid, 1, NULL), GR_KERR_UNKNOWN_MEMBER_ID);
    env_free(e);
}

static void test_error_codes(void **st)
{
    env_t *e = env_new();
    join_res_t j;
    join_opts_t bad = {.session = 10};
    join(e, "g", "", &bad, &j);
    assert_int_equal(j.error, GR_KERR_INVALID_SESSION_TIMEOUT);
    join(e, "", "", NULL, &j);
    assert_int_equal(j.error, GR_KERR_INVALID_GROUP_ID);
    join(e, "g2", "someone", NULL, &j);
    assert_int_equal(j.error, GR_KERR_UNKNOWN_MEMBER_ID);
    join_opts_t noproto = {.ptype = ""};
    join(e, "g3", "", &noproto, &j);
    assert_int_equal(j.error, GR_KERR_INCONSISTENT_GROUP_PROTOCOL);

    join_res_t a, b;
    two_members(e, &a, &b);
    /* another protocol type, or no protocol in common */
    join_opts_t connect = {.ptype = "connect"};
    join(e, "g", "", &connect, &j);
    assert_int_equal(j.error, GR_KERR_INCONSISTENT_GROUP_PROTOCOL);
    join_opts_t rr = {.protos = {"roundrobin"}};
    join(e, "g", "", &rr, &j);
    assert_int_equal(j.error, GR_KERR_INCONSISTENT_GROUP_PROTOCOL);
    sync_res_t s;
    sync_(e, "g", a.member_id, 7, NULL, &s);
    assert_int_equal(s.error, GR_KERR_ILLEGAL_GENERATION);
    sync_(e, "g", "nobody", 1, NULL, &s);
    assert_int_equal(s.error, GR_KERR_UNKNOWN_MEMBER_ID);
    sync_(e, "none", "nobody", 1, NULL, &s);
    assert_int_equal(s.error, GR_KERR_UNKNOWN_MEMBER_ID);
    /* a follower in Stable gets its assignment again */
    sync_(e, "g", b.member_id, 1, NULL, &s);
    assert_int_equal(s.error, 0);
    assert_string_equal(s.assignment, "a-1");
    env_free(e);
}

static void test_group_max_size(void **st)
{
    gr_gcoord_config_t cfg = test_cfg();
    cfg.max_size = 1;
    env_t *e = env_new_cfg(&cfg);
    join_res_t a, b;
    join_new(e, "g", NULL, &a);
    join(e, "g", "", NULL, &b);
    assert_true(b.done);
    assert_int_equal(b.error, GR_KERR_GROUP_MAX_SIZE_REACHED);
    advance(e, 0);
    assert_true(a.done);
    assert_int_equal(a.error, 0);
    env_free(e);
}

static void test_static_member_rejoin_without_rebalance(void **st)
{
    env_t *e = env_new();
    join_opts_t o = {.instance = "inst-1"};
    join_res_t a;
    join(e, "g", "", &o, &a); /* static members skip MEMBER_ID_REQUIRED */
    advance(e, 0);
    assert_true(a.done);
    assert_int_equal(a.error, 0);
    assert_true(strncmp(a.member_id, "inst-1-", 7) == 0);
    sync_res_t s;
    const char *to[] = {a.member_id, NULL};
    sync_(e, "g", a.member_id, 1, to, &s);
    assert_string_equal(state(e, "g"), "Stable");
    char old[128];
    snprintf(old, sizeof old, "%s", a.member_id);

    /* restarted with the same group.instance.id: a new member id, same
     * generation, no rebalance */
    join_res_t a2;
    join(e, "g", "", &o, &a2);
    assert_true(a2.done);
    assert_int_equal(a2.error, 0);
    assert_int_equal(a2.generation, 1);
    assert_string_not_equal(a2.member_id, old);
    assert_string_equal(state(e, "g"), "Stable");
    /* v5: the old leader id, so it does not run an assignment */
    assert_string_equal(a2.leader, old);
    sync_(e, "g", a2.member_id, 1, NULL, &s);
    assert_int_equal(s.error, 0);
    assert_string_equal(s.assignment, "a-0");
    /* the old incarnation is fenced */
    assert_int_equal(heartbeat(e, "g", old, 1, "inst-1"), GR_KERR_FENCED_INSTANCE_ID);
    assert_int_equal(heartbeat(e, "g", a2.member_id, 1, "inst-1"), 0);
    assert_int_equal(heartbeat(e, "g", a2.member_id, 1, "inst-2"), GR_KERR_UNKNOWN_MEMBER_ID);

    /* v9: told it is the leader, and to skip the assignment */
    join_opts_t o9 = {.instance = "inst-1", .version = 9};
    join_res_t a3;
    join(e, "g", "", &o9, &a3);
    assert_int_equal(a3.error, 0);
    assert_string_equal(a3.leader, a3.member_id);
    assert_true(a3.skip);
    assert_int_equal(a3.nmembers, 1);

    /* an admin removes it by instance id */
    assert_int_equal(leave(e, "g", "", "inst-1"), 0);
    assert_string_equal(state(e, "g"), "Empty");
    env_free(e);
}

static void test_static_member_survives_session_less_restart(void **st)
{
    env_t *e = env_new();
    join_opts_t o = {.instance = "i", .session = 6000};
    join_res_t a;
    join(e, "g", "", &o, &a);
    advance(e, 0);
    sync_res_t s;
    const char *to[] = {a.member_id, NULL};
    sync_(e, "g", a.member_id, 1, to, &s);
    /* a static member that is away longer than its session is removed too */
    advance(e, 6000);
    assert_string_equal(state(e, "g"), "Empty");
    env_free(e);
}

static void test_commit_fetch_and_generation_checks(void **st)
{
    env_t *e = env_new();
    /* a simple group: generation -1, no member */
    assert_int_equal(commit(e, "simple", NULL, -1, 0, 42, "meta"), 0);
    char md[64];
    assert_int_equal(fetch(e, "simple", 0, md, sizeof md), 42);
    assert_string_equal(md, "meta");
    assert_int_equal(fetch(e, "simple", 1, md, sizeof md), -1);
    assert_string_equal(md, "");
    assert_int_equal(fetch(e, "nogroup", 0, NULL, 0), -1);
    assert_string_equal(state(e, "simple"), "Empty");

    join_res_t a, b;
    two_members(e, &a, &b);
    assert_int_equal(commit(e, "g", a.member_id, 1, 0, 10, NULL), 0);
    assert_int_equal(commit(e, "g", a.member_id, 2, 0, 10, NULL), GR_KERR_ILLEGAL_GENERATION);
    assert_int_equal(commit(e, "g", "x", 1, 0, 10, NULL), GR_KERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(commit(e, "g", NULL, -1, 0, 10, NULL), GR_KERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(commit(e, "nogroup", "x", 3, 0, 10, NULL), GR_KERR_ILLEGAL_GENERATION);
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(commit(e, "g", a.member_id, 1, 1, 10, big), GR_KERR_OFFSET_METADATA_TOO_LARGE);
    assert_int_equal(fetch(e, "g", 1, NULL, 0), -1);
    /* during CompletingRebalance a member's commit is refused */
    join_res_t c;
    join_new(e, "g", NULL, &c);
    join(e, "g", a.member_id, NULL, &a);
    join(e, "g", b.member_id, NULL, &b);
    assert_string_equal(state(e, "g"), "CompletingRebalance");
    assert_int_equal(commit(e, "g", a.member_id, 2, 0, 11, NULL), GR_KERR_REBALANCE_IN_PROGRESS);
    assert_int_equal(fetch(e, "g", 0, NULL, 0), 10);
    /* a failed append is NOT_COORDINATOR (KAFKA_STORAGE_ERROR mapped) */
    e->fail_append = GR_KERR_KAFKA_STORAGE_ERROR;
    assert_int_equal(commit(e, "simple", NULL, -1, 0, 43, NULL), GR_KERR_NOT_COORDINATOR);
    e->fail_append = 0;
    assert_int_equal(fetch(e, "simple", 0, NULL, 0), 42);
    env_free(e);
}

/* Replays e's records into a fresh coordinator, as a broker restart does. */
static env_t *restart(env_t *e)
{
    env_t *n = calloc(1, sizeof *n);
    n->now = e->now;
    n->wall = e->wall;
    n->cfg = e->cfg;
    gr_gcoord_ops_t ops = {n, f_mono, f_wall, f_append, f_arm};
    n->c = gr_gcoord_new(&n->cfg, &ops);
    for (int32_t p = 0; p < n->cfg.num_partitions; p++) {
        gr_gcoord_load_begin(n->c, p);
        for (int i = 0; i < e->nrecs; i++) {
            rec_t *r = &e->recs[i];
            if (r->partition != p)
                continue;
            gr_bytes_t k = {r->key, r->klen}, v = {r->value, r->vlen};
            assert_int_equal(gr_gcoord_replay(n->c, p, k, v), 0);
            /* the new log starts with the old records */
            rec_t *c = &n->recs[n->nrecs++];
            *c = *r;
            c->key = malloc((size_t)r->klen + 1);
            memcpy(c->key, r->key, (size_t)r->klen);
            c->value = NULL;
            if (r->vlen >= 0) {
                c->value = malloc((size_t)r->vlen + 1);
                memcpy(c->value, r->value, (size_t)r->vlen);
            }
        }
        gr_gcoord_load_end(n->c, p);
    }
    env_free(e);
    return n;
}

static void test_reload_after_restart(void **st)
{
    env_t *e = env_new();
    join_res_t a, b;
    two_members(e, &a, &b);
    assert_int_equal(commit(e, "g", a.member_id, 1, 0, 100, "m0"), 0);
    assert_int_equal(commit(e, "g", b.member_id, 1, 1, 200, ""), 0);
    assert_int_equal(commit(e, "s", NULL, -1, 0, 5, NULL), 0);
    assert_int_equal(commit(e, "s", NULL, -1, 0, 6, NULL), 0);
    e = restart(e);
    char md[16];
    assert_int_equal(fetch(e, "g", 0, md, sizeof md), 100);
    assert_string_equal(md, "m0");
    assert_int_equal(fetch(e, "g", 1, NULL, 0), 200);
    assert_int_equal(fetch(e, "s", 0, NULL, 0), 6);
    assert_string_equal(state(e, "g"), "Stable");
    assert_string_equal(state(e, "s"), "Empty");
    assert_int_equal(gr_gcoord_group_generation(e->c, gr_str("g")), 1);
    /* members carry on in their generation after the restart */
    assert_int_equal(heartbeat(e, "g", a.member_id, 1, NULL), 0);
    sync_res_t s;
    sync_(e, "g", b.member_id, 1, NULL, &s);
    assert_int_equal(s.error, 0);
    assert_string_equal(s.assignment, "a-1");
    /* one that does not come back expires */
    for (int i = 0; i < 4; i++) {
        advance(e, 3000);
        heartbeat(e, "g", a.member_id, 1, NULL);
    }
    assert_string_equal(state(e, "g"), "PreparingRebalance");
    env_free(e);
}

static void test_delete_group_and_offsets(void **st)
{
    env_t *e = env_new();
    join_res_t a, b;
    /* the members subscribe to topic "t" (consumer protocol v0 metadata) */
    static const char sub[] = "\x00\x00\x00\x00\x00\x01\x00\x01t\xff\xff\xff\xff";
    join_opts_t o = {.metadata = NULL};
    (void)o;
    two_members(e, &a, &b);
    assert_int_equal(commit(e, "g", a.member_id, 1, 0, 100, NULL), 0);
    assert_int_equal(gr_gcoord_delete_group(e->c, gr_str("g")), GR_KERR_NON_EMPTY_GROUP);
    assert_int_equal(gr_gcoord_delete_group(e->c, gr_str("none")), GR_KERR_GROUP_ID_NOT_FOUND);
    /* metadata "" does not parse as a subscription: not subscribed */
    int16_t err = -1;
    gr_gdelete_part_t dp = {gr_str("t"), 0, &err};
    assert_int_equal(gr_gcoord_delete_offsets(e->c, gr_str("g"), &dp, 1), 0);
    assert_int_equal(err, 0);
    assert_int_equal(fetch(e, "g", 0, NULL, 0), -1);

    /* a group whose members subscribe to t keeps t's offsets */
    join_res_t c;
    join_opts_t so = {.metadata = NULL};
    memset(&so, 0, sizeof so);
    gr_JoinGroupRequest rq;
    gr_JoinGroupRequest_init(&rq);
    gr_JoinGroupRequest_JoinGroupRequestProtocol p = {gr_str("range"), {(const uint8_t *)sub, sizeof sub - 1}};
    rq.GroupId = gr_str("h");
    rq.MemberId = gr_str("");
    rq.SessionTimeoutMs = 10000;
    rq.RebalanceTimeoutMs = 5000;
    rq.ProtocolType = gr_str("consumer");
    rq.Protocols = &p;
    rq.Protocols_count = 1;
    gr_gclient_t cl = {3, gr_str("client"), "/127.0.0.1"};
    memset(&c, 0, sizeof c);
    gr_gcoord_join(e->c, &cl, &rq, on_join, &c);
    advance(e, 0);
    assert_true(c.done);
    sync_res_t s;
    const char *to[] = {c.member_id, NULL};
    sync_(e, "h", c.member_id, 1, to, &s);
    assert_int_equal(commit(e, "h", c.member_id, 1, 0, 7, NULL), 0);
    err = -1;
    assert_int_equal(gr_gcoord_delete_offsets(e->c, gr_str("h"), &dp, 1), 0);
    assert_int_equal(err, GR_KERR_GROUP_SUBSCRIBED_TO_TOPIC);
    assert_int_equal(fetch(e, "h", 0, NULL, 0), 7);

    /* empty: deletable, with its offsets */
    assert_int_equal(leave(e, "h", c.member_id, NULL), 0);
    assert_int_equal(gr_gcoord_delete_group(e->c, gr_str("h")), 0);
    assert_string_equal(state(e, "h"), "Dead");
    assert_int_equal(fetch(e, "h", 0, NULL, 0), -1);
    e = restart(e);
    assert_string_equal(state(e, "h"), "Dead");
    assert_int_equal(fetch(e, "h", 0, NULL, 0), -1);
    env_free(e);
}

static void test_offsets_of_empty_groups_expire(void **st)
{
    gr_gcoord_config_t cfg = test_cfg();
    cfg.offsets_retention_ms = 60000;
    cfg.retention_check_interval_ms = 1000;
    env_t *e = env_new_cfg(&cfg);
    assert_int_equal(commit(e, "simple", NULL, -1, 0, 1, NULL), 0);
    join_res_t a, b;
    two_members(e, &a, &b);
    assert_int_equal(commit(e, "g", a.member_id, 1, 0, 1, NULL), 0);
    for (int i = 0; i < 59; i++) {
        heartbeat(e, "g", a.member_id, 1, NULL);
        heartbeat(e, "g", b.member_id, 1, NULL);
        advance(e, 1000);
    }
    assert_int_equal(fetch(e, "simple", 0, NULL, 0), 1);
    /* simple group: 60 s after its commit */
    for (int i = 0; i < 3; i++) {
        heartbeat(e, "g", a.member_id, 1, NULL);
        heartbeat(e, "g", b.member_id, 1, NULL);
        advance(e, 1000);
    }
    assert_int_equal(fetch(e, "simple", 0, NULL, 0), -1);
    assert_string_equal(state(e, "simple"), "Dead"); /* no offsets left: deleted */
    /* a group with members keeps them (its subscription is unknown here) */
    assert_int_equal(fetch(e, "g", 0, NULL, 0), 1);
    assert_int_equal(leave(e, "g", a.member_id, NULL), 0);
    assert_int_equal(leave(e, "g", b.member_id, NULL), 0);
    assert_string_equal(state(e, "g"), "Empty");
    /* an empty group: counted from when it became empty */
    advance(e, 59000);
    assert_int_equal(fetch(e, "g", 0, NULL, 0), 1);
    advance(e, 2000);
    assert_int_equal(fetch(e, "g", 0, NULL, 0), -1);
    assert_string_equal(state(e, "g"), "Dead");
    e = restart(e);
    assert_string_equal(state(e, "g"), "Dead");
    env_free(e);
}

static void test_deleted_topic_loses_its_offsets(void **st)
{
    env_t *e = env_new();
    assert_int_equal(commit(e, "g1", NULL, -1, 0, 5, NULL), 0);
    assert_int_equal(commit(e, "g1", NULL, -1, 3, 6, NULL), 0);
    assert_int_equal(commit(e, "g2", NULL, -1, 1, 7, NULL), 0);
    int before = e->nrecs;
    gr_gcoord_topic_deleted(e->c, "other");
    assert_int_equal(e->nrecs, before);
    gr_gcoord_topic_deleted(e->c, "t");
    assert_int_equal(e->nrecs, before + 3); /* one tombstone per committed partition */
    assert_int_equal(fetch(e, "g1", 0, NULL, 0), -1);
    assert_int_equal(fetch(e, "g1", 3, NULL, 0), -1);
    assert_int_equal(fetch(e, "g2", 1, NULL, 0), -1);
    e = restart(e);
    assert_int_equal(fetch(e, "g1", 0, NULL, 0), -1);
    assert_int_equal(fetch(e, "g2", 1, NULL, 0), -1);
    env_free(e);
}

static void test_shutdown_answers_parked(void **st)
{
    env_t *e = env_new();
    join_res_t a, b;
    two_members(e, &a, &b);
    join(e, "g", a.member_id, NULL, &a);
    assert_false(a.done);
    gr_gcoord_shutdown(e->c);
    assert_true(a.done);
    assert_int_equal(a.error, GR_KERR_NOT_COORDINATOR);
    assert_int_equal(heartbeat(e, "g", b.member_id, 1, NULL), GR_KERR_NOT_COORDINATOR);
    env_free(e);
}

static void test_unowned_partition(void **st)
{
    gr_gcoord_config_t cfg = test_cfg();
    env_t *e = calloc(1, sizeof *e);
    e->cfg = cfg;
    gr_gcoord_ops_t ops = {e, f_mono, f_wall, f_append, f_arm};
    e->c = gr_gcoord_new(&cfg, &ops);
    int32_t p = gr_gcoord_partition_for(e->c, gr_str("g"));
    assert_int_equal(gr_gcoord_status(e->c, gr_str("g")), GR_KERR_NOT_COORDINATOR);
    gr_gcoord_load_begin(e->c, p);
    assert_int_equal(gr_gcoord_status(e->c, gr_str("g")), GR_KERR_COORDINATOR_LOAD_IN_PROGRESS);
    join_res_t j;
    join(e, "g", "", NULL, &j);
    assert_int_equal(j.error, GR_KERR_COORDINATOR_LOAD_IN_PROGRESS);
    gr_gcoord_load_end(e->c, p);
    assert_int_equal(gr_gcoord_status(e->c, gr_str("g")), 0);
    env_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_step_join_and_sync),
        cmocka_unit_test(test_v3_join_needs_no_member_id),
        cmocka_unit_test(test_initial_delay_extends_for_new_members),
        cmocka_unit_test(test_pending_member_expires),
        cmocka_unit_test(test_new_member_triggers_rebalance),
        cmocka_unit_test(test_member_not_rejoining_is_dropped),
        cmocka_unit_test(test_session_timeout_removes_member),
        cmocka_unit_test(test_leave_rebalances_and_empties),
        cmocka_unit_test(test_leader_leaving_during_sync_wakes_followers),
        cmocka_unit_test(test_members_that_never_sync_are_removed),
        cmocka_unit_test(test_error_codes),
        cmocka_unit_test(test_group_max_size),
        cmocka_unit_test(test_static_member_rejoin_without_rebalance),
        cmocka_unit_test(test_static_member_survives_session_less_restart),
        cmocka_unit_test(test_commit_fetch_and_generation_checks),
        cmocka_unit_test(test_reload_after_restart),
        cmocka_unit_test(test_delete_group_and_offsets),
        cmocka_unit_test(test_offsets_of_empty_groups_expire),
        cmocka_unit_test(test_deleted_topic_loses_its_offsets),
        cmocka_unit_test(test_shutdown_answers_parked),
        cmocka_unit_test(test_unowned_partition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
