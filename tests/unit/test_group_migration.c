/* Tests of online migration between classic and KIP-848 consumer groups
 * (src/group/cg_migrate.c, cg_classic.c) with a fake clock, a fake metadata
 * image (one topic "t" of 6 partitions) and an in-memory __consumer_offsets:
 * the upgrade a consumer-protocol join makes, classic members' JoinGroup,
 * SyncGroup and Heartbeat inside the consumer group, their join, sync and
 * session timeouts, the downgrade when the last consumer-protocol member
 * goes, the policy, and a mixed group reloaded after a restart. The same
 * behaviours are compared with Apache Kafka in
 * tests/integration/test_groups_differential.py. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "group/consumer_group.h"
#include "group/group.h"
#include "protocol/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the fake broker ---- */

typedef struct rec_s {
    int32_t  partition;
    uint8_t *key, *value;
    int32_t  klen, vlen;
} rec_t;

typedef struct done_s {
    gr_gcoord_done_fn fn;
    void             *arg;
} done_t;

typedef struct env_s {
    int64_t      now, wall;
    rec_t        recs[2048];
    int          nrecs;
    done_t       dones[64];
    int          ndones;
    gr_gcoord_t *c;
    gr_gcoord_config_t cfg;
    gr_gcg_meta_t meta;
} env_t;

static const gr_uuid_t topic_id = {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}};

static bool m_topic(void *arg, gr_str_t name, gr_uuid_t *id, int32_t *nparts)
{
    (void)arg;
    if (!gr_str_eq(name, "t"))
        return false;
    *id = topic_id;
    *nparts = 6;
    return true;
}

static void m_each(void *arg, void (*fn)(void *ctx, const char *name), void *ctx)
{
    (void)arg;
    fn(ctx, "t");
}

static int64_t m_version(void *arg)
{
    (void)arg;
    return 1;
}

static int64_t f_mono(void *arg) { return ((env_t *)arg)->now; }
static int64_t f_wall(void *arg) { return ((env_t *)arg)->wall; }
static void f_arm(void *arg, int64_t deadline) { (void)arg; (void)deadline; }

static int16_t f_append(void *arg, int32_t partition, const gr_bytes_t *keys, const gr_bytes_t *values, int n,
                        gr_gcoord_done_fn done, void *done_arg)
{
    env_t *e = arg;
    for (int i = 0; i < n; i++) {
        assert_true(e->nrecs < 2048);
        rec_t *r = &e->recs[e->nrecs++];
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

static void flush_dones(env_t *e)
{
    while (e->ndones > 0) {
        done_t d = e->dones[0];
        memmove(e->dones, e->dones + 1, (size_t)--e->ndones * sizeof *e->dones);
        d.fn(d.arg, 0);
    }
}

static env_t *env_new_cfg(const gr_gcoord_config_t *cfg, const env_t *from)
{
    env_t *e = calloc(1, sizeof *e);
    e->now = from ? from->now : 1000;
    e->wall = from ? from->wall : 1700000000000LL;
    e->cfg = *cfg;
    e->meta = (gr_gcg_meta_t){e, m_topic, m_each, m_version};
    gr_gcoord_ops_t ops = {e, f_mono, f_wall, f_append, f_arm};
    e->c = gr_gcoord_new(cfg, &ops);
    assert_non_null(e->c);
    gr_gcoord_set_meta(e->c, &e->meta);
    return e;
}

static void load_all(env_t *e, const env_t *from)
{
    for (int32_t p = 0; p < e->cfg.num_partitions; p++) {
        gr_gcoord_load_begin(e->c, p);
        for (int i = 0; from && i < from->nrecs; i++) {
            const rec_t *r = &from->recs[i];
            if (r->partition != p)
                continue;
            gr_bytes_t k = {r->key, r->klen}, v = {r->value, r->vlen};
            assert_int_equal(gr_gcoord_replay(e->c, p, k, v), 0);
        }
        gr_gcoord_load_end(e->c, p);
    }
}

static gr_gcoord_config_t test_cfg(void)
{
    gr_gcoord_config_t cfg;
    gr_gcoord_config_default(&cfg);
    cfg.num_partitions = 1;
    cfg.initial_rebalance_delay_ms = 0;
    cfg.min_session_timeout_ms = 1000;
    cfg.consumer_session_timeout_ms = 45000;
    return cfg;
}

static env_t *env_new(int policy)
{
    gr_gcoord_config_t cfg = test_cfg();
    cfg.migration_policy = policy;
    env_t *e = env_new_cfg(&cfg, NULL);
    load_all(e, NULL);
    return e;
}

static void env_free(env_t *e)
{
    flush_dones(e);
    gr_gcoord_free(e->c);
    for (int i = 0; i < e->nrecs; i++) {
        free(e->recs[i].key);
        free(e->recs[i].value);
    }
    free(e);
}

static env_t *restart(env_t *e)
{
    env_t *n = env_new_cfg(&e->cfg, e);
    load_all(n, e);
    env_free(e);
    return n;
}

static void advance(env_t *e, int64_t ms)
{
    e->now += ms;
    e->wall += ms;
    gr_gcoord_run_timers(e->c);
}

/* ---- the embedded consumer protocol ---- */

/* A ConsumerProtocolSubscription v1 of topic "t" owning parts (n of them). */
static void subscription(gr_buf_t *b, const int32_t *parts, int32_t n)
{
    gr_ConsumerProtocolSubscription s;
    gr_ConsumerProtocolSubscription_init(&s);
    gr_str_t topics[1] = {gr_str("t")};
    s.Topics = topics;
    s.Topics_count = 1;
    s.UserData.ptr = NULL;
    s.UserData.len = -1;
    gr_ConsumerProtocolSubscription_TopicPartition tp = {gr_str("t"), (int32_t *)parts, n};
    s.OwnedPartitions = &tp;
    s.OwnedPartitions_count = n > 0;
    s.RackId = gr_str(NULL);
    gr_buf_put_i16(b, 1);
    gr_ConsumerProtocolSubscription_encode(b, 1, &s);
}

static void assignment_bytes(gr_buf_t *b, const int32_t *parts, int32_t n)
{
    gr_ConsumerProtocolAssignment a;
    gr_ConsumerProtocolAssignment_init(&a);
    gr_ConsumerProtocolAssignment_TopicPartition tp = {gr_str("t"), (int32_t *)parts, n};
    a.AssignedPartitions = &tp;
    a.AssignedPartitions_count = 1;
    a.UserData.ptr = NULL;
    a.UserData.len = -1;
    gr_buf_put_i16(b, 1);
    gr_ConsumerProtocolAssignment_encode(b, 1, &a);
}

/* The partitions of an assignment (a bit per partition), -1 if it does not parse. */
static int parts_mask(const uint8_t *p, int32_t len)
{
    gr_arena_t a;
    gr_arena_init(&a, 0);
    gr_reader_t rd;
    gr_reader_init(&rd, p + 2, (size_t)len - 2);
    gr_ConsumerProtocolAssignment as;
    int mask = -1;
    if (len >= 2 && gr_ConsumerProtocolAssignment_decode(&rd, &a, 1, &as) == 0) {
        mask = 0;
        for (int32_t i = 0; i < as.AssignedPartitions_count; i++)
            for (int32_t j = 0; j < as.AssignedPartitions[i].Partitions_count; j++)
                mask |= 1 << as.AssignedPartitions[i].Partitions[j];
    }
    gr_arena_free(&a);
    return mask;
}

/* ---- classic requests ---- */

typedef struct join_res_s {
    bool    done;
    int16_t error;
    int32_t generation;
    char    member_id[128];
    char    leader[128];
    char    protocol[32];
} join_res_t;

static void on_join(void *arg, const gr_JoinGroupResponse *r)
{
    join_res_t *j = arg;
    assert_false(j->done);
    j->done = true;
    j->error = r->ErrorCode;
    j->generation = r->GenerationId;
    snprintf(j->member_id, sizeof j->member_id, "%.*s", r->MemberId.len > 0 ? (int)r->MemberId.len : 0,
             r->MemberId.len > 0 ? r->MemberId.ptr : "");
    snprintf(j->leader, sizeof j->leader, "%.*s", r->Leader.len > 0 ? (int)r->Leader.len : 0,
             r->Leader.len > 0 ? r->Leader.ptr : "");
    snprintf(j->protocol, sizeof j->protocol, "%.*s", r->ProtocolName.len > 0 ? (int)r->ProtocolName.len : 0,
             r->ProtocolName.len > 0 ? r->ProtocolName.ptr : "");
}

static void join(env_t *e, const char *member, const int32_t *owned, int32_t nowned, int32_t session, join_res_t *res)
{
    char mid[128];
    snprintf(mid, sizeof mid, "%s", member ? member : "");
    memset(res, 0, sizeof *res);
    gr_buf_t meta;
    gr_buf_init(&meta);
    subscription(&meta, owned, nowned);
    gr_JoinGroupRequest rq;
    gr_JoinGroupRequest_init(&rq);
    rq.GroupId = gr_str("g");
    rq.MemberId = gr_str(mid);
    rq.SessionTimeoutMs = session ? session : 10000;
    rq.RebalanceTimeoutMs = 5000;
    rq.GroupInstanceId = gr_str(NULL);
    rq.ProtocolType = gr_str("consumer");
    gr_JoinGroupRequest_JoinGroupRequestProtocol ps[2] = {
        {gr_str("range"), {meta.data, (int32_t)meta.len}},
        {gr_str("cooperative-sticky"), {meta.data, (int32_t)meta.len}},
    };
    rq.Protocols = ps;
    rq.Protocols_count = 2;
    gr_gclient_t cl = {5, gr_str("client"), "/127.0.0.1"};
    gr_gcoord_join(e->c, &cl, &rq, on_join, res);
    gr_buf_free(&meta);
    flush_dones(e);
}

/* Two-step join of a new classic member. */
static void join_new(env_t *e, int32_t session, join_res_t *res)
{
    join(e, "", NULL, 0, session, res);
    assert_true(res->done);
    assert_int_equal(res->error, GR_KERR_MEMBER_ID_REQUIRED);
    char id[128];
    snprintf(id, sizeof id, "%s", res->member_id);
    join(e, id, NULL, 0, session, res);
    advance(e, 0); /* a new group's (zero) initial delay */
}

typedef struct sync_res_s {
    bool    done;
    int16_t error;
    int     mask;
} sync_res_t;

static void on_sync(void *arg, const gr_SyncGroupResponse *r)
{
    sync_res_t *s = arg;
    assert_false(s->done);
    s->done = true;
    s->error = r->ErrorCode;
    s->mask = r->ErrorCode ? 0 : parts_mask(r->Assignment.ptr, r->Assignment.len);
}

/* SyncGroup; as the leader with two members' assignments when to[] set. */
static void sync_(env_t *e, const char *member, int32_t gen, const char *const *to, const int *masks,
                  sync_res_t *res)
{
    memset(res, 0, sizeof *res);
    gr_SyncGroupRequest rq;
    gr_SyncGroupRequest_init(&rq);
    rq.GroupId = gr_str("g");
    rq.MemberId = gr_str(member);
    rq.GenerationId = gen;
    rq.ProtocolType = gr_str("consumer");
    rq.ProtocolName = gr_str("range");
    gr_SyncGroupRequest_SyncGroupRequestAssignment as[2];
    gr_buf_t bufs[2];
    int n = 0;
    for (int i = 0; to && i < 2 && to[i]; i++, n++) {
        int32_t ps[6], np = 0;
        for (int p = 0; p < 6; p++)
            if (masks[i] & (1 << p))
                ps[np++] = p;
        gr_buf_init(&bufs[i]);
        assignment_bytes(&bufs[i], ps, np);
        as[i].MemberId = gr_str(to[i]);
        as[i].Assignment.ptr = bufs[i].data;
        as[i].Assignment.len = (int32_t)bufs[i].len;
    }
    rq.Assignments = as;
    rq.Assignments_count = n;
    gr_gclient_t cl = {5, gr_str("client"), "/127.0.0.1"};
    gr_gcoord_sync(e->c, &cl, &rq, on_sync, res);
    for (int i = 0; i < n; i++)
        gr_buf_free(&bufs[i]);
}

static int16_t heartbeat(env_t *e, const char *member, int32_t gen)
{
    gr_HeartbeatRequest rq;
    gr_HeartbeatRequest_init(&rq);
    rq.GroupId = gr_str("g");
    rq.MemberId = gr_str(member);
    rq.GenerationId = gen;
    rq.GroupInstanceId = gr_str(NULL);
    return gr_gcoord_heartbeat(e->c, &rq);
}

static int16_t leave(env_t *e, const char *member)
{
    gr_LeaveGroupRequest rq;
    gr_LeaveGroupRequest_init(&rq);
    gr_LeaveGroupRequest_MemberIdentity mi = {gr_str(member), gr_str(NULL), gr_str(NULL)};
    rq.GroupId = gr_str("g");
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

/* ---- consumer-protocol heartbeats ---- */

typedef struct hb_res_s {
    int16_t error;
    int32_t epoch;
    char    member_id[64];
    char    message[300];
    int     mask; /* -1: no assignment in the answer */
} hb_res_t;

static void hb_done(void *arg, int16_t err)
{
    (void)arg;
    assert_int_equal(err, 0);
}

static void cg_heartbeat(env_t *e, const char *member, int32_t epoch, int owned_mask, hb_res_t *res)
{
    gr_ConsumerGroupHeartbeatRequest rq;
    gr_ConsumerGroupHeartbeatRequest_init(&rq);
    rq.GroupId = gr_str("g");
    rq.MemberId = gr_str(member ? member : "");
    rq.MemberEpoch = epoch;
    rq.InstanceId = gr_str(NULL);
    rq.RackId = gr_str(NULL);
    rq.ServerAssignor = gr_str(NULL);
    rq.SubscribedTopicRegex = gr_str(NULL);
    gr_str_t topics[1] = {gr_str("t")};
    int32_t ps[6], np = 0;
    for (int p = 0; p < 6; p++)
        if (owned_mask > 0 && (owned_mask & (1 << p)))
            ps[np++] = p;
    gr_ConsumerGroupHeartbeatRequest_TopicPartitions tp = {topic_id, ps, np};
    if (epoch == 0) {
        rq.RebalanceTimeoutMs = 5000;
        rq.SubscribedTopicNames = topics;
        rq.SubscribedTopicNames_count = 1;
        rq.TopicPartitions_count = 0;
    } else {
        rq.RebalanceTimeoutMs = -1;
        rq.SubscribedTopicNames_count = -1;
        rq.TopicPartitions = owned_mask >= 0 ? &tp : NULL;
        rq.TopicPartitions_count = owned_mask >= 0 ? (np > 0) : -1;
    }
    gr_arena_t a;
    gr_arena_init(&a, 0);
    gr_ConsumerGroupHeartbeatResponse out;
    gr_ConsumerGroupHeartbeatResponse_init(&out);
    gr_gclient_t cl = {0, gr_str("c"), "/127.0.0.1"};
    gr_gcoord_cg_heartbeat(e->c, &cl, &rq, &e->meta, &a, &out, hb_done, NULL);
    flush_dones(e);
    res->error = out.ErrorCode;
    res->epoch = out.MemberEpoch;
    snprintf(res->member_id, sizeof res->member_id, "%.*s", out.MemberId.len > 0 ? (int)out.MemberId.len : 0,
             out.MemberId.len > 0 ? out.MemberId.ptr : "");
    snprintf(res->message, sizeof res->message, "%.*s", out.ErrorMessage.len > 0 ? (int)out.ErrorMessage.len : 0,
             out.ErrorMessage.len > 0 ? out.ErrorMessage.ptr : "");
    res->mask = -1;
    if (out.Assignment) {
        res->mask = 0;
        for (int32_t i = 0; i < out.Assignment->TopicPartitions_count; i++)
            for (int32_t j = 0; j < out.Assignment->TopicPartitions[i].Partitions_count; j++)
                res->mask |= 1 << out.Assignment->TopicPartitions[i].Partitions[j];
    }
    gr_arena_free(&a);
}

static const char *state(env_t *e) { return gr_gcoord_group_state(e->c, gr_str("g")); }
static const char *cg_state(env_t *e) { return gr_gcoord_cg_state(e->c, gr_str("g")); }

/* Two classic members, Stable in generation 2: a owns 0-2, b 3-5. */
static void classic_pair(env_t *e, join_res_t *a, join_res_t *b, int32_t session_b)
{
    sync_res_t s, s2;
    join_new(e, 0, a);
    assert_true(a->done);
    assert_int_equal(a->error, 0);
    const char *to1[] = {a->member_id, NULL};
    int all[] = {0x3f};
    sync_(e, a->member_id, a->generation, to1, all, &s);
    assert_int_equal(s.error, 0);
    join_new(e, session_b, b);
    assert_false(b->done);
    join(e, a->member_id, NULL, 0, 0, a);
    assert_true(a->done && b->done);
    assert_int_equal(a->generation, 2);
    const char *to2[] = {a->member_id, b->member_id};
    int masks[] = {0x07, 0x38};
    sync_(e, b->member_id, 2, NULL, NULL, &s2);
    sync_(e, a->member_id, 2, to2, masks, &s);
    assert_true(s.done && s2.done);
    assert_string_equal(state(e), "Stable");
}

/* ---- tests ---- */

static void test_upgrade_then_classic_members_rejoin(void **st)
{
    (void)st;
    env_t *e = env_new(GR_GMIGRATE_UPGRADE | GR_GMIGRATE_DOWNGRADE);
    join_res_t a, b;
    classic_pair(e, &a, &b, 0);
    hb_res_t c;
    cg_heartbeat(e, NULL, 0, 0, &c);
    assert_int_equal(c.error, 0);
    assert_int_equal(c.epoch, 3);
    assert_int_equal(c.mask, 0); /* its partitions are still a's and b's */
    assert_string_equal(cg_state(e), "Reconciling");
    assert_int_equal(gr_gcoord_cg_epoch(e->c, gr_str("g")), 3);
    /* The classic members learn of the rebalance from their heartbeats. */
    assert_int_equal(heartbeat(e, a.member_id, 2), GR_KERR_REBALANCE_IN_PROGRESS);
    assert_int_equal(heartbeat(e, a.member_id, 3), GR_KERR_ILLEGAL_GENERATION);
    assert_int_equal(heartbeat(e, c.member_id, 3), GR_KERR_UNKNOWN_MEMBER_ID); /* not classic */
    sync_res_t s;
    sync_(e, a.member_id, 2, NULL, NULL, &s);
    assert_int_equal(s.error, GR_KERR_REBALANCE_IN_PROGRESS);
    /* a rejoins (eager: owns nothing) and gets 2 of its 3 partitions. */
    join(e, a.member_id, NULL, 0, 0, &a);
    assert_true(a.done);
    assert_int_equal(a.error, 0);
    assert_int_equal(a.generation, 3);
    assert_string_equal(a.leader, "");
    assert_string_equal(a.protocol, "range");
    sync_(e, a.member_id, 3, NULL, NULL, &s);
    assert_int_equal(s.error, 0);
    assert_int_equal(__builtin_popcount((unsigned)s.mask), 2);
    assert_int_equal(s.mask & ~0x07, 0);
    assert_int_equal(heartbeat(e, a.member_id, 3), 0);
    /* b is cooperative this time: it still owns 3-5 when it rejoins, so it
     * must revoke one first (kept at its epoch, told to rejoin). */
    int32_t owned[] = {3, 4, 5};
    join(e, b.member_id, owned, 3, 0, &b);
    assert_int_equal(b.error, 0);
    assert_int_equal(b.generation, 2);
    sync_(e, b.member_id, 2, NULL, NULL, &s);
    assert_int_equal(s.error, 0);
    assert_int_equal(__builtin_popcount((unsigned)s.mask), 2);
    assert_int_equal(heartbeat(e, b.member_id, 2), GR_KERR_REBALANCE_IN_PROGRESS);
    int32_t kept[2], nk = 0;
    for (int p = 3; p < 6; p++)
        if (s.mask & (1 << p))
            kept[nk++] = p;
    join(e, b.member_id, kept, nk, 0, &b);
    assert_int_equal(b.generation, 3);
    sync_(e, b.member_id, 3, NULL, NULL, &s);
    assert_int_equal(__builtin_popcount((unsigned)s.mask), 2);
    /* Now c gets the two released partitions. */
    cg_heartbeat(e, c.member_id, 3, 0, &c);
    assert_int_equal(c.error, 0);
    assert_int_equal(__builtin_popcount((unsigned)c.mask), 2);
    assert_int_equal(c.mask & s.mask, 0);
    cg_heartbeat(e, c.member_id, 3, c.mask, &c);
    assert_string_equal(cg_state(e), "Stable");
    /* A classic LeaveGroup fences the member: one new group epoch. */
    assert_int_equal(leave(e, a.member_id), 0);
    assert_int_equal(leave(e, a.member_id), GR_KERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(heartbeat(e, a.member_id, 3), GR_KERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(gr_gcoord_cg_epoch(e->c, gr_str("g")), 4);
    assert_int_equal(heartbeat(e, b.member_id, 3), GR_KERR_REBALANCE_IN_PROGRESS);
    env_free(e);
}

static void test_classic_timeouts_and_downgrade(void **st)
{
    (void)st;
    env_t *e = env_new(GR_GMIGRATE_UPGRADE | GR_GMIGRATE_DOWNGRADE);
    join_res_t a, b;
    classic_pair(e, &a, &b, 20000);
    hb_res_t c;
    cg_heartbeat(e, NULL, 0, 0, &c);
    assert_int_equal(c.error, 0);
    /* a is told to rejoin and never does: its rebalance timeout (5 s) fences
     * it; b keeps heartbeating (session 20 s) without rejoining either. */
    assert_int_equal(heartbeat(e, a.member_id, 2), GR_KERR_REBALANCE_IN_PROGRESS);
    assert_int_equal(heartbeat(e, b.member_id, 2), GR_KERR_REBALANCE_IN_PROGRESS);
    advance(e, 4000);
    cg_heartbeat(e, c.member_id, c.epoch, 0, &c);
    assert_int_equal(heartbeat(e, a.member_id, 2), GR_KERR_REBALANCE_IN_PROGRESS);
    advance(e, 1500);
    assert_int_equal(heartbeat(e, a.member_id, 2), GR_KERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(heartbeat(e, b.member_id, 2), GR_KERR_UNKNOWN_MEMBER_ID); /* the same timeout */
    /* A classic member that joins and never syncs is fenced after its
     * rebalance timeout too. */
    join_res_t d;
    join_new(e, 0, &d);
    assert_int_equal(d.error, 0);
    cg_heartbeat(e, c.member_id, c.epoch, 0, &c);
    advance(e, 5100);
    assert_int_equal(heartbeat(e, d.member_id, d.generation), GR_KERR_UNKNOWN_MEMBER_ID);
    /* A classic member that stops heartbeating goes after its own session. */
    join_new(e, 3000, &d);
    sync_res_t s;
    sync_(e, d.member_id, d.generation, NULL, NULL, &s);
    assert_int_equal(s.error, 0);
    cg_heartbeat(e, c.member_id, c.epoch, 0, &c);
    advance(e, 2000);
    cg_heartbeat(e, c.member_id, c.epoch, 0, &c);
    assert_int_equal(heartbeat(e, d.member_id, d.generation), 0);
    advance(e, 3100);
    assert_int_equal(heartbeat(e, d.member_id, d.generation), GR_KERR_UNKNOWN_MEMBER_ID);
    /* One classic member, then the consumer-protocol member misses its
     * session: the group becomes classic and rebalances. */
    join_new(e, 60000, &d);
    sync_(e, d.member_id, d.generation, NULL, NULL, &s);
    int32_t epoch = gr_gcoord_cg_epoch(e->c, gr_str("g"));
    for (int i = 0; i < 12; i++) {
        advance(e, 4000);
        heartbeat(e, d.member_id, d.generation);
    }
    assert_null(cg_state(e));
    assert_string_equal(state(e), "PreparingRebalance");
    assert_int_equal(gr_gcoord_group_generation(e->c, gr_str("g")), epoch);
    assert_int_equal(gr_gcoord_group_size(e->c, gr_str("g")), 1);
    join(e, d.member_id, NULL, 0, 60000, &d);
    assert_true(d.done);
    assert_int_equal(d.error, 0);
    assert_string_equal(d.leader, d.member_id);
    assert_string_equal(state(e), "CompletingRebalance");
    env_free(e);
}

static void test_policy_and_refusals(void **st)
{
    (void)st;
    env_t *e = env_new(GR_GMIGRATE_DOWNGRADE);
    join_res_t a, b;
    classic_pair(e, &a, &b, 0);
    hb_res_t c;
    cg_heartbeat(e, NULL, 0, 0, &c);
    assert_int_equal(c.error, GR_KERR_GROUP_ID_NOT_FOUND);
    assert_string_equal(c.message, "Cannot upgrade classic group g to consumer group because online upgrade is disabled.");
    assert_string_equal(state(e), "Stable");
    assert_int_equal(heartbeat(e, a.member_id, 2), 0);
    env_free(e);

    /* Too many members for group.consumer.max.size. */
    gr_gcoord_config_t cfg = test_cfg();
    cfg.consumer_max_size = 1;
    e = env_new_cfg(&cfg, NULL);
    load_all(e, NULL);
    classic_pair(e, &a, &b, 0);
    cg_heartbeat(e, NULL, 0, 0, &c);
    assert_int_equal(c.error, GR_KERR_GROUP_ID_NOT_FOUND);
    assert_non_null(strstr(c.message, "exceeds the consumer group maximum size"));
    env_free(e);

    /* Metadata that is not a ConsumerProtocolSubscription. */
    e = env_new(GR_GMIGRATE_UPGRADE | GR_GMIGRATE_DOWNGRADE);
    for (int step = 0; step < 2; step++) {
        gr_JoinGroupRequest rq;
        gr_JoinGroupRequest_init(&rq);
        rq.GroupId = gr_str("g");
        rq.MemberId = gr_str(step ? a.member_id : "");
        rq.SessionTimeoutMs = rq.RebalanceTimeoutMs = 10000;
        rq.GroupInstanceId = gr_str(NULL);
        rq.ProtocolType = gr_str("consumer");
        gr_JoinGroupRequest_JoinGroupRequestProtocol p = {gr_str("range"), {(const uint8_t *)"\0\0\0\0\0\x09", 6}};
        rq.Protocols = &p;
        rq.Protocols_count = 1;
        gr_gclient_t cl = {5, gr_str("client"), "/127.0.0.1"};
        char id[128];
        snprintf(id, sizeof id, "%s", a.member_id);
        rq.MemberId = gr_str(step ? id : "");
        memset(&a, 0, sizeof a);
        gr_gcoord_join(e->c, &cl, &rq, on_join, &a);
        advance(e, 0);
        assert_true(a.done);
    }
    assert_int_equal(a.error, 0);
    sync_res_t s;
    sync_(e, a.member_id, a.generation, NULL, NULL, &s);
    cg_heartbeat(e, NULL, 0, 0, &c);
    assert_int_equal(c.error, GR_KERR_GROUP_ID_NOT_FOUND);
    assert_string_equal(c.message, "Cannot upgrade classic group g to consumer group because the embedded consumer "
                                   "protocol is malformed.");
    assert_int_equal(heartbeat(e, a.member_id, a.generation), 0);
    env_free(e);

    /* The group's first join phase (no protocol chosen yet): Kafka fails
     * with an unexpected error; the parked JoinGroup must rejoin. */
    cfg = test_cfg();
    cfg.initial_rebalance_delay_ms = 3000;
    e = env_new_cfg(&cfg, NULL);
    load_all(e, NULL);
    join_new(e, 0, &a);
    assert_false(a.done);
    cg_heartbeat(e, NULL, 0, 0, &c);
    assert_int_equal(c.error, GR_KERR_UNKNOWN_SERVER_ERROR);
    assert_true(a.done);
    assert_int_equal(a.error, GR_KERR_REBALANCE_IN_PROGRESS);
    assert_string_equal(state(e), "PreparingRebalance");
    env_free(e);
}

static void test_mixed_group_survives_restart(void **st)
{
    (void)st;
    env_t *e = env_new(GR_GMIGRATE_UPGRADE | GR_GMIGRATE_DOWNGRADE);
    join_res_t a, b;
    classic_pair(e, &a, &b, 15000);
    hb_res_t c;
    cg_heartbeat(e, NULL, 0, 0, &c);
    join(e, a.member_id, NULL, 0, 0, &a);
    sync_res_t s;
    sync_(e, a.member_id, a.generation, NULL, NULL, &s);
    int amask = s.mask;
    e = restart(e);
    assert_string_equal(cg_state(e), "Reconciling");
    /* The classic members are classic members still, epochs kept. */
    assert_int_equal(heartbeat(e, a.member_id, 3), 0);
    sync_(e, a.member_id, 3, NULL, NULL, &s);
    assert_int_equal(s.error, 0);
    assert_int_equal(s.mask, amask);
    /* b, silent, is fenced when its session (15 s, from its
     * ClassicMemberMetadata) runs out. */
    int cown = 0;
    for (int i = 0; i < 4; i++) {
        advance(e, 4000);
        heartbeat(e, a.member_id, 3);
        cg_heartbeat(e, c.member_id, c.epoch, cown, &c);
        assert_int_equal(c.error, 0);
        if (c.mask >= 0)
            cown = c.mask;
    }
    assert_int_equal(heartbeat(e, b.member_id, 2), GR_KERR_UNKNOWN_MEMBER_ID);
    /* The consumer-protocol member leaves: a classic group of a, which a
     * finds after a restart too. */
    cg_heartbeat(e, c.member_id, -1, -1, &c);
    assert_int_equal(c.error, 0);
    assert_string_equal(state(e), "PreparingRebalance");
    int32_t gen = gr_gcoord_group_generation(e->c, gr_str("g"));
    e = restart(e);
    assert_null(cg_state(e));
    assert_int_equal(gr_gcoord_group_generation(e->c, gr_str("g")), gen);
    assert_int_equal(gr_gcoord_group_size(e->c, gr_str("g")), 1);
    assert_int_equal(heartbeat(e, a.member_id, gen), 0);
    env_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upgrade_then_classic_members_rejoin),
        cmocka_unit_test(test_classic_timeouts_and_downgrade),
        cmocka_unit_test(test_policy_and_refusals),
        cmocka_unit_test(test_mixed_group_survives_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
