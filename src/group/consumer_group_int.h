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

/* ---- consumer_group.c ---- */

gr_cgroup_t *gr_cg_new(gr_group_t *g);
gr_cmember_t *gr_cg_member_find(gr_cgroup_t *cg, gr_str_t id);
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
 * members) to r and clears them. */
void gr_cg_records(gr_cgroup_t *cg, gr_grecs_t *r);
/* Writes the pending records of g (nothing to write: returns 0 and never
 * calls done). With done, done(arg, err) follows once they are durable
 * and true is returned through *pending. Kafka error code. */
int16_t gr_cg_flush(gr_gcoord_t *c, gr_group_t *g, gr_gcoord_done_fn done, void *arg, bool *pending);
/* A member id whose records must be tombstoned (the member is gone). */
void gr_cg_note_removed(gr_cgroup_t *cg, const char *member_id);

#endif
