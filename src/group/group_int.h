/* Private structures of the group coordinator, shared by coordinator.c
 * (groups, timers, loading), membership.c (join, sync, heartbeat, leave)
 * and offsets.c (commits, fetches, expiry, admin APIs). Strings are owned,
 * NUL-terminated copies; a group owns its members, pending members and
 * offsets, and frees them with itself. */
#ifndef GR_GROUP_GROUP_INT_H
#define GR_GROUP_GROUP_INT_H

#include "group/consumer_group.h"
#include "group/group.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct gr_gtimer_s gr_gtimer_t;
typedef void (*gr_gtimer_fn)(gr_gcoord_t *c, gr_gtimer_t *t);

/* A deadline in the coordinator's timer heap. Embedded in the object it
 * belongs to, which cancels it before being freed. */
struct gr_gtimer_s {
    int64_t      deadline;
    int32_t      idx; /* heap position, -1 when not armed */
    gr_gtimer_fn fn;
};

typedef enum {
    GR_GSTATE_EMPTY,
    GR_GSTATE_PREPARING,  /* PreparingRebalance */
    GR_GSTATE_COMPLETING, /* CompletingRebalance */
    GR_GSTATE_STABLE,
    GR_GSTATE_DEAD,
} gr_gstate_t;

typedef struct gr_gproto_s {
    char    *name;
    uint8_t *meta;
    int32_t  meta_len;
} gr_gproto_t;

struct gr_group_s;

typedef struct gr_gmember_s {
    struct gr_group_s *grp;
    char   *id;
    char   *instance_id; /* NULL: a dynamic member */
    char   *client_id;
    char   *client_host;
    char   *protocol_type;
    int32_t rebalance_timeout_ms;
    int32_t session_timeout_ms;
    gr_gproto_t *protos;
    int32_t      nprotos;
    uint8_t *assignment;
    int32_t  assignment_len;
    bool     is_new;       /* joined but not yet through a completed join */
    bool     pending_sync; /* got a JoinGroup answer, no SyncGroup yet */
    /* A parked JoinGroup / SyncGroup (awaiting join / sync when set). */
    gr_gjoin_fn join_fn;
    void       *join_arg;
    gr_gsync_fn sync_fn;
    void       *sync_arg;
    gr_gtimer_t hb; /* session (or new-member join) expiry */
    struct gr_gmember_s *next;
} gr_gmember_t;

/* A member id handed out with MEMBER_ID_REQUIRED that has not joined yet. */
typedef struct gr_gpending_s {
    struct gr_group_s *grp;
    char       *id;
    gr_gtimer_t hb;
    struct gr_gpending_s *next;
} gr_gpending_t;

/* How many members support a protocol name (Kafka's supportedProtocols). */
typedef struct gr_gproto_count_s {
    char   *name;
    int32_t count;
    struct gr_gproto_count_s *next;
} gr_gproto_count_t;

typedef struct gr_goffset_s {
    bool    present;
    int64_t offset;
    int32_t leader_epoch;
    char   *metadata;      /* metadata_len bytes (NULs included), then a NUL */
    int32_t metadata_len;
    int64_t commit_ts;
    int64_t expire_ts; /* -1: none */
} gr_goffset_t;

typedef struct gr_gtopic_s {
    char         *name;
    gr_goffset_t *parts; /* indexed by partition */
    int32_t       cap;
    int32_t       count; /* present entries */
    struct gr_gtopic_s *next;
} gr_gtopic_t;

/* Records for one append, built before it. An allocation failure while
 * adding marks the set (oom) and hands out scratch buffers, so builders
 * need no error paths; gr_gc_append_recs then refuses to write it. */
typedef struct gr_grecs_s {
    gr_buf_t *keys, *values;
    int       n, cap;
    bool      oom;
    gr_buf_t  spare_key, spare_value;
} gr_grecs_t;

enum { GR_GJOIN_TIMER_NONE, GR_GJOIN_TIMER_INITIAL, GR_GJOIN_TIMER_NORMAL };

typedef struct gr_group_s {
    gr_gcoord_t *coord;
    char        *id;
    size_t       id_len;
    int32_t      partition;
    gr_gstate_t  state, prev_state;
    int64_t      state_ts; /* wall ms of the last transition, -1: unknown */
    char        *protocol_type; /* NULL: none (a simple group) */
    char        *protocol_name; /* NULL: none */
    int32_t      generation;
    gr_gmember_t *members; /* in join order */
    int32_t      nmembers;
    gr_gmember_t *leader;
    gr_gpending_t *pending;
    int32_t      npending;
    int32_t      nawaiting_join;
    int32_t      npending_sync;
    bool         new_member_added;
    gr_gproto_count_t *proto_counts;
    /* One join timer (Kafka's join key): the initial delayed join of a new
     * group, or the rebalance timeout of a join phase. */
    gr_gtimer_t  join_timer;
    int          join_mode;
    int32_t      join_delay_ms, join_remaining_ms;
    gr_gtimer_t  sync_timer; /* pending-sync expiry */
    int32_t      sync_generation;
    /* Topics the members subscribe to (consumer protocol only); known is
     * false when they cannot be told (Kafka's Optional.empty). */
    char       **subscribed;
    int32_t      nsubscribed;
    bool         subscribed_known;
    gr_gtopic_t *offsets;
    int32_t      noffsets;
    /* A record of this group reached the log (or was loaded): until then
     * Kafka's DescribeGroups and ListGroups do not see the group. */
    bool         persisted;
    /* A KIP-848 consumer group (consumer_group.c), NULL: classic. */
    struct gr_cgroup_s *cg;
    /* Records of a conversion between the two kinds of group (cg_migrate.c),
     * written ahead of the group's next records (gr_cg_flush). */
    gr_grecs_t   pend;
    struct gr_group_s *hnext;
} gr_group_t;

enum { GR_GPART_NONE = 0, GR_GPART_LOADING = 1, GR_GPART_OWNED = 2 };

struct gr_gcoord_s {
    gr_gcoord_config_t cfg;
    gr_gcoord_ops_t    ops;
    gr_group_t       **buckets;
    size_t             nbuckets;
    size_t             ngroups;
    uint8_t           *pstate; /* GR_GPART_* per partition */
    int32_t            nparts;
    gr_gtimer_t      **heap;
    int32_t            heap_len, heap_cap;
    int64_t            armed; /* deadline last reported to ops.arm_timer */
    gr_gtimer_t        expire_timer;
    bool               shut;
    /* The metadata image as consumer groups read it (topic names and ids);
     * meta.topic NULL until gr_gcoord_set_meta. */
    gr_gcg_meta_t      meta;
};

/* ---- coordinator.c ---- */

int64_t gr_gc_now(gr_gcoord_t *c);
int64_t gr_gc_wall(gr_gcoord_t *c);
void gr_gc_timer_init(gr_gtimer_t *t, gr_gtimer_fn fn);
void gr_gc_timer_arm(gr_gcoord_t *c, gr_gtimer_t *t, int64_t delay_ms);
void gr_gc_timer_cancel(gr_gcoord_t *c, gr_gtimer_t *t);

gr_group_t *gr_gc_group_find(gr_gcoord_t *c, gr_str_t id);
gr_group_t *gr_gc_group_create(gr_gcoord_t *c, gr_str_t id);
/* Removes the group from the table and frees it; parked requests of its
 * members are answered (NOT_COORDINATOR). */
void gr_gc_group_free(gr_gcoord_t *c, gr_group_t *g);
const char *gr_gc_state_name(gr_gstate_t s);
void gr_gc_transition(gr_group_t *g, gr_gstate_t s);


/* Adds a record: its key and value buffers. A value left empty (data
 * NULL) is a tombstone. */
void gr_grecs_add(gr_grecs_t *r, gr_buf_t **key, gr_buf_t **value);
void gr_grecs_free(gr_grecs_t *r);
/* Appends r's records for g's partition (nothing when r is empty: 0);
 * UNKNOWN_SERVER_ERROR when r could not be built. See gr_gc_append. */
int16_t gr_gc_append_recs(gr_gcoord_t *c, gr_group_t *g, gr_grecs_t *r, gr_gcoord_done_fn done, void *arg);
/* What a failed append tells a client (Kafka's
 * appendGroupMetadataErrorToResponseError). */
int16_t gr_gc_append_error(int16_t err);

/* Encodes g's GroupMetadataValue (members' metadata for the selected
 * protocol and their current assignments) and appends it. Kafka error. */
int16_t gr_gc_write_group(gr_gcoord_t *c, gr_group_t *g);
/* Adds g's GroupMetadata record to r. */
void gr_gc_group_record(gr_group_t *g, gr_grecs_t *r);
/* Removes every member and pending member of a classic group (parked
 * requests answered NOT_COORDINATOR) and its protocol counts. */
void gr_gc_clear_members(gr_gcoord_t *c, gr_group_t *g);
/* Appends records for g's partition; marks g persisted on success. */
int16_t gr_gc_append(gr_gcoord_t *c, gr_group_t *g, gr_buf_t *keys, gr_buf_t *values, int n,
                     gr_gcoord_done_fn done, void *arg);

char *gr_gc_strdup(gr_str_t s);
bool gr_gc_str_is(const char *a, gr_str_t b);

/* ---- membership.c ---- */

gr_gmember_t *gr_gm_find(gr_group_t *g, gr_str_t id);
/* Frees a member that is no longer in any list (timers cancelled here). */
void gr_gm_free(gr_gcoord_t *c, gr_gmember_t *m);
void gr_gm_pending_free(gr_gcoord_t *c, gr_gpending_t *p);
/* Members' protocol counts and the group's list of subscribed topics. */
void gr_gm_protos_add(gr_group_t *g, gr_gmember_t *m, int32_t delta);
void gr_gm_compute_subscribed(gr_group_t *g);
bool gr_gm_is_subscribed(const gr_group_t *g, const char *topic);
const gr_gproto_t *gr_gm_proto(const gr_gmember_t *m, const char *name);
/* After loading: session timers for the members of a loaded group. */
void gr_gm_loaded(gr_gcoord_t *c, gr_group_t *g);
/* Answers a member's parked requests with err (join and sync). */
void gr_gm_fail_parked(gr_gmember_t *m, int16_t err);
/* Kafka's selectProtocol over the group's members. */
const char *gr_gm_select_protocol(gr_group_t *g);
/* Appends m (built by the caller, not yet in any list) to g's members:
 * protocol counts, leader if none, its session timer. */
void gr_gm_adopt(gr_gcoord_t *c, gr_group_t *g, gr_gmember_t *m);
/* Kafka's prepareRebalance. */
void gr_gm_prepare_rebalance(gr_gcoord_t *c, gr_group_t *g, const char *reason);
void gr_gm_heartbeat_member(gr_gcoord_t *c, gr_group_t *g, gr_gmember_t *m);
int16_t gr_gm_validate_member(gr_group_t *g, gr_str_t member_id, gr_str_t instance_id);

/* ---- offsets.c ---- */

gr_goffset_t *gr_go_find(gr_group_t *g, const char *topic, size_t tlen, int32_t partition);
/* Sets (or adds) a committed offset; 0, or GR_ENOMEM with nothing changed. */
int gr_go_set(gr_group_t *g, gr_str_t topic, int32_t partition, int64_t offset, int32_t leader_epoch,
               gr_str_t metadata, int64_t commit_ts, int64_t expire_ts);
void gr_go_delete(gr_group_t *g, gr_str_t topic, int32_t partition);
void gr_go_free_all(gr_group_t *g);
void gr_go_expire_timer(gr_gcoord_t *c, gr_gtimer_t *t);

/* ---- consumer_group.c (KIP-848 groups: g->cg set) ---- */

/* Frees g->cg and its members (timers cancelled). */
void gr_cg_free(gr_gcoord_t *c, gr_group_t *g);
/* OffsetCommit / OffsetFetch checks of a consumer group's member and
 * member epoch: 0 or a Kafka error code. */
int16_t gr_cg_validate_commit(gr_group_t *g, gr_str_t member_id, int32_t epoch, int16_t api_version);
int16_t gr_cg_validate_fetch(gr_group_t *g, gr_str_t member_id, int32_t epoch);
/* The consumer group's state name ("Assigning", ...); NULL if classic. */
const char *gr_cg_state_name(const gr_group_t *g);
/* Tombstones of every record of the consumer group g (deleting it). */
void gr_cg_tombstones(gr_group_t *g, gr_grecs_t *r);
/* Replays one KIP-848 record of __consumer_offsets (cg_records.c): the key
 * type and its group and member (or regular expression) fields; value len
 * -1 is a tombstone. 0 or a negative error. */
int gr_cg_replay(gr_gcoord_t *c, int16_t type, gr_str_t group, gr_str_t member, gr_bytes_t value);
/* After loading g's partition: drops members whose metadata record never
 * came, starts the members' timers. */
void gr_cg_loaded(gr_gcoord_t *c, gr_group_t *g);

#endif
