/* Private structures of KIP-848 consumer groups, shared by
 * consumer_group.c (the heartbeat state machine) and cg_records.c (their
 * records in __consumer_offsets: writing and replaying them).
 *
 * A consumer group owns its members; a member owns its strings and its
 * partition sets. Event-loop thread only. */
#ifndef GR_GROUP_CONSUMER_GROUP_INT_H
#define GR_GROUP_CONSUMER_GROUP_INT_H

#include "group/consumer_group.h"
#include "group/group_int.h"

#include <regex.h>

#include <stdlib.h>
#include <string.h>

/* A member's reconciliation state; the values are Kafka's MemberState
 * bytes, as the ConsumerGroupCurrentMemberAssignment record stores them. */
enum { CM_STABLE = 0, CM_UNREVOKED = 1, CM_UNRELEASED = 2 };

#define LEAVE_EPOCH        (-1)
#define LEAVE_STATIC_EPOCH (-2)

/* What of a member must be written again (gr_cmember_t.dirty). */
enum {
    CM_DIRTY_META = 1,    /* ConsumerGroupMemberMetadata */
    CM_DIRTY_TARGET = 2,  /* ConsumerGroupTargetAssignmentMember */
    CM_DIRTY_CURRENT = 4, /* ConsumerGroupCurrentMemberAssignment */
};

/* A partition by topic id; sets are sorted arrays without duplicates. */
typedef struct tp_s {
    gr_uuid_t tid;
    int32_t   p;
} tp_t;

typedef struct tpset_s {
    tp_t   *v;
    int32_t n;
} tpset_t;

typedef struct cg_topic_s {
    char     *name;
    gr_uuid_t id;
    int32_t   nparts;
} cg_topic_t;

/* A regular expression some member subscribes with, resolved against the
 * metadata image (ConsumerGroupRegularExpression record). */
typedef struct cg_regex_s {
    char    *re;
    regex_t  rx;
    bool     compiled;
    char   **topics; /* matching topic names, sorted */
    int32_t  ntopics;
    int64_t  version; /* the image version it was resolved at; -1: never */
    int64_t  ts;      /* wall ms of that resolution */
    bool     dirty;   /* its record is to be written */
    struct cg_regex_s *next;
} cg_regex_t;

typedef struct gr_cmember_s {
    struct gr_cgroup_s *cg;
    char   *id;
    char   *instance_id; /* NULL: dynamic */
    char   *rack_id;
    char   *client_id;
    char   *client_host;
    char   *assignor;    /* requested ServerAssignor, NULL: none */
    char  **topics;      /* subscribed topic names */
    int32_t ntopics;
    char   *regex;       /* SubscribedTopicRegex, NULL: none */
    int32_t rebalance_timeout_ms;
    int32_t epoch, prev_epoch;
    int     state;
    tpset_t assigned, revoking, target;
    gr_gtimer_t session;
    gr_gtimer_t rebalance;
    int32_t     rebalance_epoch;
    /* Loading: a record of the member other than its metadata may come
     * first (compaction reorders keys); a member whose metadata never
     * comes is dropped when the partition is loaded. */
    bool    has_meta;
    int     dirty; /* CM_DIRTY_* */
    /* A member speaking the classic protocol (JoinGroup, SyncGroup,
     * Heartbeat, LeaveGroup) inside the consumer group, as Kafka's
     * ClassicMemberMetadata records it: its session timeout and the
     * protocols it supports (name and metadata, its preferred first). It
     * must rejoin before join_timer fires once told REBALANCE_IN_PROGRESS,
     * and send SyncGroup before sync_timer fires after a JoinGroup. */
    bool         classic;
    int32_t      classic_session_ms;
    gr_gproto_t *protos;
    int32_t      nprotos;
    gr_gtimer_t  join_timer;
    gr_gtimer_t  sync_timer;
    struct gr_cmember_s *next;
} gr_cmember_t;

typedef struct gr_cgroup_s {
    gr_group_t   *grp;
    int32_t       group_epoch, assignment_epoch;
    /* Hash of the subscribed topics (names, ids, partition counts) when
     * the group epoch last changed, stored with the group epoch (Kafka
     * 4.1's MetadataHash, KIP-1101, computed our own way): after a restart
     * the topics are compared against it, not re-discovered. */
    int64_t       metadata_hash;
    gr_cmember_t *members;
    int32_t       nmembers;
    cg_topic_t   *topics; /* subscribed topics that exist, sorted by name */
    int32_t       ntopics;
    char         *assignor; /* of the last target assignment */
    cg_regex_t   *regexes;  /* those the members use */
    /* Records still to write (cg_records.c): the group epoch, the
     * assignment epoch, a tombstone for the classic GroupMetadata of the
     * group this one replaced, and tombstones of removed member ids. */
    bool          dirty_epoch, dirty_assignment_epoch, dirty_classic_tombstone;
    char        **removed;
    int32_t       nremoved, removed_cap;
    char        **removed_regexes; /* regular expressions no member uses now */
    int32_t       nremoved_regexes;
} gr_cgroup_t;

/* ---- partition sets ---- */

static inline int tp_cmp(const void *a, const void *b)
{
    const tp_t *x = a, *y = b;
    int c = memcmp(x->tid.b, y->tid.b, 16);
    if (c)
        return c;
    return x->p < y->p ? -1 : x->p > y->p;
}

static inline void tpset_free(tpset_t *s)
{
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static inline void tpset_take(tpset_t *dst, tpset_t *src)
{
    free(dst->v);
    *dst = *src;
    src->v = NULL;
    src->n = 0;
}

static inline bool tpset_eq(const tpset_t *a, const tpset_t *b)
{
    return a->n == b->n && (a->n == 0 || memcmp(a->v, b->v, (size_t)a->n * sizeof *a->v) == 0);
}

/* Appends (tid, p); *cap is the allocated length. 0, or GR_ENOMEM (the set
 * is unchanged). */
int gr_cg_tpset_push(tpset_t *s, int32_t *cap, const gr_uuid_t *tid, int32_t p);
/* Sorts and drops duplicates. */
void gr_cg_tpset_sort(tpset_t *s);
/* A copy of src into dst (freed first). 0 or GR_ENOMEM (dst empty). */
int gr_cg_tpset_copy(tpset_t *dst, const tpset_t *src);

bool gr_cg_tpset_has(const tpset_t *s, const gr_uuid_t *tid, int32_t p);

/* ---- consumer_group.c ---- */

gr_cgroup_t *gr_cg_new(gr_group_t *g);
gr_cmember_t *gr_cg_member_find(gr_cgroup_t *cg, gr_str_t id);
/* The member with group.instance.id instance_id (len -1: none), or NULL. */
gr_cmember_t *gr_cg_static_find(gr_cgroup_t *cg, gr_str_t instance_id);
const cg_topic_t *gr_cg_topic_by_id(const gr_cgroup_t *cg, const gr_uuid_t *id);
/* A 22-character base64 UUID, as Kafka's Uuid.randomUuid().toString(). */
void gr_cg_new_member_id(char out[23]);
/* Frees a member already unlinked from its group (timers cancelled). */
void gr_cg_member_free(gr_gcoord_t *c, gr_cmember_t *m);
/* Unlinks m and frees it, noting its records for tombstones; no epoch
 * bump (gr_cg_fence does that once for all the members it removes). */
void gr_cg_member_unlink(gr_gcoord_t *c, gr_cgroup_t *cg, gr_cmember_t *m);
/* Resolves the members' regular expressions against the image; true when
 * a resolution changed. */
bool gr_cg_update_regexes(gr_gcoord_t *c, gr_cgroup_t *cg, const gr_gcg_meta_t *meta);
/* Drops expressions no member uses any more; true when one was. */
bool gr_cg_drop_unused_regexes(gr_cgroup_t *cg);
/* Re-reads the subscribed topics from the image; true when they differ
 * from those of the last group epoch (cg->metadata_hash). */
bool gr_cg_refresh_topics(gr_cgroup_t *cg, const gr_gcg_meta_t *meta);
int64_t gr_cg_topics_hash(const gr_cgroup_t *cg);
/* Bumps the group epoch (with the hash of the topics now subscribed). */
void gr_cg_bump_epoch(gr_cgroup_t *cg);
/* Runs the group's assignor: the target assignment takes the group epoch. */
void gr_cg_compute_target(gr_gcoord_t *c, gr_cgroup_t *cg);
/* Moves m towards its target (Kafka's CurrentAssignmentBuilder); owned
 * n -1: the member did not say what it owns. Marks m's current assignment
 * dirty when it changed. */
void gr_cg_reconcile(gr_cgroup_t *cg, gr_cmember_t *m, const tpset_t *owned);
/* The epoch of the member other than self holding (tid, p), or -1. */
int32_t gr_cg_partition_epoch(const gr_cgroup_t *cg, const gr_cmember_t *self, const gr_uuid_t *tid, int32_t p);
/* Replaces *field with a copy of v (len -1: NULL) when it differs; true
 * when it did. */
bool gr_cg_set_str(char **field, gr_str_t v);

/* ---- cg_migrate.c: classic <-> consumer group conversions ---- */

/* ConsumerProtocolSubscription and ConsumerProtocolAssignment (the
 * classic consumer's embedded protocol): decoded from arena a; versions
 * above the newest known are read as the newest, as Kafka does. 0 or
 * GR_EMALFORMED. */
int gr_cg_decode_subscription(const uint8_t *p, int32_t len, gr_arena_t *a, gr_ConsumerProtocolSubscription *out);
int gr_cg_decode_assignment(const uint8_t *p, int32_t len, gr_arena_t *a, gr_ConsumerProtocolAssignment *out);
/* The version that starts a subscription (-1: none readable). */
int16_t gr_cg_protocol_version(const uint8_t *p, int32_t len);
/* Appends a ConsumerProtocolAssignment of parts (topic names from the
 * group's topics; partitions of unknown topics are left out) in version
 * (capped at the newest), as Kafka's serializeAssignment. */
void gr_cg_encode_assignment(gr_buf_t *b, const gr_cgroup_t *cg, const tpset_t *parts, int16_t version);

/* The heartbeat of a new member of g, a classic group with members:
 * Kafka's validateOnlineUpgrade and convertToConsumerGroup. Returns 0 once
 * g is a consumer group (its records pending in g->pend), or a Kafka error
 * with *msg set (a static or arena string) and g still classic. The
 * checks the new member would fail right after the conversion (group full,
 * instance id in use, bad regular expression) are made first: Kafka
 * converts, fails and drops the conversion's records. With convert
 * false, everything but the conversion itself is done (the heartbeat is
 * about to fail for another reason: a bad regular expression). */
int16_t gr_cg_upgrade(gr_gcoord_t *c, gr_group_t *g, const gr_ConsumerGroupHeartbeatRequest *rq,
                      const gr_gcg_meta_t *meta, bool convert, char *msg, size_t msglen);
/* Removes members from the consumer group (left, fenced, timed out), as
 * Kafka's consumerGroupFenceMembers: when only classic members remain and
 * the policy allows it, the group becomes a classic group instead
 * (convertToClassicGroup) and rebalances; otherwise the members go and the
 * group epoch is bumped once. The members are freed either way; g->cg may
 * be NULL afterwards. */
void gr_cg_fence(gr_gcoord_t *c, gr_group_t *g, gr_cmember_t **ms, int32_t n, const char *why);

/* ---- cg_classic.c: classic members inside a consumer group ---- */

void gr_cg_classic_join(gr_gcoord_t *c, gr_group_t *g, const gr_gclient_t *cl, const gr_JoinGroupRequest *rq,
                        int32_t rebalance_ms, gr_gjoin_fn fn, void *arg);
void gr_cg_classic_sync(gr_gcoord_t *c, gr_group_t *g, const gr_SyncGroupRequest *rq, gr_gsync_fn fn, void *arg);
int16_t gr_cg_classic_heartbeat(gr_gcoord_t *c, gr_group_t *g, const gr_HeartbeatRequest *rq);
/* LeaveGroup: fills resp->Members (n entries). */
void gr_cg_classic_leave(gr_gcoord_t *c, gr_group_t *g, const gr_LeaveGroupRequest *rq,
                         gr_LeaveGroupResponse *resp);
/* Timer callbacks of a classic member (join and sync timeouts). */
void gr_cg_classic_join_timeout(gr_gcoord_t *c, gr_gtimer_t *t);
void gr_cg_classic_sync_timeout(gr_gcoord_t *c, gr_gtimer_t *t);
/* A new member at the end of the list (its timers initialised); NULL when
 * out of memory. */
gr_cmember_t *gr_cg_member_add(gr_cgroup_t *cg, gr_str_t id);
/* Unlinks and frees m without writing anything (loading). */
void gr_cg_member_drop(gr_gcoord_t *c, gr_cgroup_t *cg, gr_cmember_t *m);
/* The regular expression re of the group, or NULL. */
cg_regex_t *gr_cg_regex_find(gr_cgroup_t *cg, const char *re);
/* A new regular expression (compiled; not resolved). NULL when it does
 * not compile or memory runs out. */
cg_regex_t *gr_cg_regex_add(gr_cgroup_t *cg, const char *re);
void gr_cg_regex_free(cg_regex_t *x);
/* Updates the classic view (state, subscribed topics) of the group. */
void gr_cg_sync_view(gr_cgroup_t *cg);
/* Session (and, for a member revoking partitions, rebalance) timers of a
 * loaded group's members. */
void gr_cg_start_timers(gr_gcoord_t *c, gr_cgroup_t *cg);

/* ---- cg_records.c ---- */

/* Adds the records the group has pending (the dirty flags, removed
 * members) to r; gr_cg_take_records also clears them. */
void gr_cg_records(gr_cgroup_t *cg, gr_grecs_t *r);
void gr_cg_take_records(gr_cgroup_t *cg, gr_grecs_t *r);
/* Writes the pending records of g: those of a conversion (g->pend), then
 * the consumer group's (nothing to write: returns 0 and never calls done).
 * With done, done(arg, err) follows once they are durable and true is
 * returned through *pending. Kafka error code. */
int16_t gr_cg_flush(gr_gcoord_t *c, gr_group_t *g, gr_gcoord_done_fn done, void *arg, bool *pending);
/* A member id whose records must be tombstoned (the member is gone). */
void gr_cg_note_removed(gr_cgroup_t *cg, const char *member_id);

#endif
