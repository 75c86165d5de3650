/* The classic group coordinator: consumer groups (and any other protocol
 * type, e.g. Kafka Connect's "connect") that join, sync, heartbeat, leave
 * and commit offsets, as Apache Kafka's ClassicGroup state machine does:
 *
 *   Empty --join--> PreparingRebalance --all joined / rebalance timeout-->
 *   CompletingRebalance --leader's SyncGroup--> Stable --join, leave,
 *   session expiry--> PreparingRebalance ...   (Dead: deleted)
 *
 * The coordinator is a state machine without I/O: the broker gives it a
 * clock, a way to append records to __consumer_offsets and a way to arm one
 * timer (gr_gcoord_ops_t), which is what lets unit tests drive it with a
 * fake clock and an in-memory log. It never blocks: a JoinGroup or SyncGroup
 * that must wait is parked with its callback and answered later (from
 * another request or from a timer); OffsetCommit answers once its records
 * are durable. Every parked callback is called exactly once, also at
 * shutdown (with NOT_COORDINATOR).
 *
 * Groups live on partition Utils.abs(groupId.hashCode()) % partitions of
 * __consumer_offsets; the coordinator serves the groups of the partitions
 * it has loaded (gr_gcoord_load_*) and answers NOT_COORDINATOR for others.
 *
 * Response structs handed to callbacks borrow the coordinator's strings and
 * bytes: they are valid only during the call, which must encode (or copy)
 * what it needs before returning. Event-loop thread only. */
#ifndef GR_GROUP_GROUP_H
#define GR_GROUP_GROUP_H

#include "base/arena.h"
#include "kafka_msgs.h"
#include "protocol/codec.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct gr_gcoord_s gr_gcoord_t;

typedef struct gr_gcoord_config_s {
    int32_t num_partitions;             /* offsets.topic.num.partitions */
    int32_t initial_rebalance_delay_ms; /* group.initial.rebalance.delay.ms */
    int32_t min_session_timeout_ms;     /* group.min.session.timeout.ms */
    int32_t max_session_timeout_ms;     /* group.max.session.timeout.ms */
    int32_t max_size;                   /* group.max.size */
    int64_t offsets_retention_ms;       /* offsets.retention.minutes, in ms */
    int64_t retention_check_interval_ms;/* offsets.retention.check.interval.ms */
    int32_t offset_metadata_max_bytes;  /* offset.metadata.max.bytes */
    int32_t new_member_join_timeout_ms; /* Kafka's fixed 5 minutes */
    /* KIP-848 consumer groups (consumer_group.h). */
    int32_t consumer_session_timeout_ms;    /* group.consumer.session.timeout.ms */
    int32_t consumer_heartbeat_interval_ms; /* group.consumer.heartbeat.interval.ms */
    int32_t consumer_max_size;              /* group.consumer.max.size */
    char    consumer_assignor[32];          /* the first of group.consumer.assignors */
    char    consumer_assignors_list[128];   /* group.consumer.assignors, for messages */
    /* group.consumer.migration.policy: GR_GMIGRATE_* bits (both: Kafka's
     * default "bidirectional"). */
    int     migration_policy;
} gr_gcoord_config_t;

enum {
    GR_GMIGRATE_UPGRADE = 1,   /* a non-empty classic group may become a consumer group */
    GR_GMIGRATE_DOWNGRADE = 2, /* and a consumer group of classic members a classic group */
};

/* The GR_GMIGRATE_* bits of a group.consumer.migration.policy value
 * (disabled, upgrade, downgrade, bidirectional; any case); -1 for another. */
int gr_gcoord_migration_policy(const char *name);

/* Kafka's defaults (offsets.topic.num.partitions 50 and so on). */
void gr_gcoord_config_default(gr_gcoord_config_t *cfg);

/* err: 0, or a Kafka error code for the whole write. */
typedef void (*gr_gcoord_done_fn)(void *arg, int16_t err);

typedef struct gr_gcoord_ops_s {
    void *arg;
    /* Monotonic milliseconds, for timeouts. */
    int64_t (*mono_ms)(void *arg);
    /* Wall-clock milliseconds, for commit and state timestamps. */
    int64_t (*wall_ms)(void *arg);
    /* Appends n key/value records (value len -1: tombstone) to partition
     * `partition` of __consumer_offsets as one batch. Returns 0 once they
     * are in the log, or a Kafka error code (nothing appended). With done
     * set, done(done_arg, err) is called later, from the loop and never
     * from inside append, once the records are durable. */
    int16_t (*append)(void *arg, int32_t partition, const gr_bytes_t *keys, const gr_bytes_t *values,
                      int n, gr_gcoord_done_fn done, void *done_arg);
    /* The earliest timer deadline (mono ms) is now `deadline` (INT64_MAX:
     * none): call gr_gcoord_run_timers() then. */
    void (*arm_timer)(void *arg, int64_t deadline);
} gr_gcoord_ops_t;

gr_gcoord_t *gr_gcoord_new(const gr_gcoord_config_t *cfg, const gr_gcoord_ops_t *ops);
/* Answers every parked request with NOT_COORDINATOR, cancels all timers;
 * afterwards every request is answered NOT_COORDINATOR. */
void gr_gcoord_shutdown(gr_gcoord_t *c);
void gr_gcoord_free(gr_gcoord_t *c);

/* Fires the timers that are due. */
void gr_gcoord_run_timers(gr_gcoord_t *c);

/* ---- partitions of __consumer_offsets ---- */

/* The number of partitions groups are hashed over (the topic's). */
void gr_gcoord_set_partition_count(gr_gcoord_t *c, int32_t n);
int32_t gr_gcoord_partition_for(const gr_gcoord_t *c, gr_str_t group_id);
/* Loading a partition: begin, replay its records in log order (value
 * len -1 for a tombstone), end. Groups of a loading partition answer
 * COORDINATOR_LOAD_IN_PROGRESS. replay returns 0, or a negative error for a
 * record that does not parse (the caller logs and skips it). */
void gr_gcoord_load_begin(gr_gcoord_t *c, int32_t partition);
int gr_gcoord_replay(gr_gcoord_t *c, int32_t partition, gr_bytes_t key, gr_bytes_t value);
void gr_gcoord_load_end(gr_gcoord_t *c, int32_t partition);
bool gr_gcoord_owns(const gr_gcoord_t *c, int32_t partition);
/* 0 when this coordinator serves group_id now; else NOT_COORDINATOR or
 * COORDINATOR_LOAD_IN_PROGRESS. */
int16_t gr_gcoord_status(const gr_gcoord_t *c, gr_str_t group_id);

/* ---- the group APIs ---- */

/* Who sent a request. */
typedef struct gr_gclient_s {
    int16_t     api_version;
    gr_str_t    client_id;
    const char *client_host; /* "/1.2.3.4", as Kafka prints it */
} gr_gclient_t;

typedef void (*gr_gjoin_fn)(void *arg, const gr_JoinGroupResponse *resp);
typedef void (*gr_gsync_fn)(void *arg, const gr_SyncGroupResponse *resp);

/* JoinGroup: fn is called exactly once, maybe before this returns. */
void gr_gcoord_join(gr_gcoord_t *c, const gr_gclient_t *cl, const gr_JoinGroupRequest *rq,
                    gr_gjoin_fn fn, void *arg);
/* SyncGroup: likewise. */
void gr_gcoord_sync(gr_gcoord_t *c, const gr_gclient_t *cl, const gr_SyncGroupRequest *rq,
                    gr_gsync_fn fn, void *arg);
/* Heartbeat: the error code. */
int16_t gr_gcoord_heartbeat(gr_gcoord_t *c, const gr_HeartbeatRequest *rq);
/* LeaveGroup with rq->Members filled (v0-2 callers put MemberId there):
 * fills resp->ErrorCode and one resp->Members entry per request member. */
void gr_gcoord_leave(gr_gcoord_t *c, const gr_LeaveGroupRequest *rq, gr_arena_t *a,
                     gr_LeaveGroupResponse *resp);

/* One partition of an OffsetCommit; the result is written to *error. */
typedef struct gr_gcommit_part_s {
    gr_str_t topic;
    int32_t  partition;
    int64_t  offset;
    int32_t  leader_epoch;
    gr_str_t metadata;  /* len -1: null */
    int64_t  commit_ts; /* -1: now */
    int16_t *error;
} gr_gcommit_part_t;

typedef struct gr_gcommit_s {
    int16_t  api_version;
    gr_str_t group_id;
    int32_t  generation; /* GenerationIdOrMemberEpoch */
    gr_str_t member_id;
    gr_str_t instance_id;
    int64_t  retention_ms; /* -1: the broker's retention */
} gr_gcommit_t;

/* OffsetCommit of parts (the partitions that exist). Every *error is set
 * before it returns. Returns true when done(arg, err) will follow once the
 * records are durable (a non-zero err then applies to every part); false
 * when the answer is complete now. */
bool gr_gcoord_commit(gr_gcoord_t *c, const gr_gcommit_t *rq, gr_gcommit_part_t *parts, int n,
                      gr_gcoord_done_fn done, void *arg);

/* OffsetFetch of one group (Topics_count -1: every committed offset). */
void gr_gcoord_fetch_offsets(gr_gcoord_t *c, const gr_OffsetFetchRequest_OffsetFetchRequestGroup *rq,
                             bool require_stable, gr_arena_t *a,
                             gr_OffsetFetchResponse_OffsetFetchResponseGroup *out);

/* ListGroups (filters as in v4/v5; empty lists match everything). */
void gr_gcoord_list(gr_gcoord_t *c, const gr_ListGroupsRequest *rq, gr_arena_t *a,
                    gr_ListGroupsResponse *out);
/* DescribeGroups of one group. */
void gr_gcoord_describe(gr_gcoord_t *c, gr_str_t group_id, gr_arena_t *a,
                        gr_DescribeGroupsResponse_DescribedGroup *out);
/* DeleteGroups of one group: its error code. */
int16_t gr_gcoord_delete_group(gr_gcoord_t *c, gr_str_t group_id);

typedef struct gr_gdelete_part_s {
    gr_str_t topic;
    int32_t  partition;
    int16_t *error;
} gr_gdelete_part_t;

/* OffsetDelete: returns the top-level error; sets each part's error. */
int16_t gr_gcoord_delete_offsets(gr_gcoord_t *c, gr_str_t group_id, gr_gdelete_part_t *parts, int n);

/* A topic was deleted: every group's committed offsets for it are deleted
 * too (tombstones), as Kafka's onPartitionsDeleted does, so a topic
 * created again under the name starts without stale offsets. */
void gr_gcoord_topic_deleted(gr_gcoord_t *c, const char *topic);

/* ---- for tests and tools ---- */

/* "Empty", "PreparingRebalance", ..., or "Dead" for an unknown group. */
const char *gr_gcoord_group_state(gr_gcoord_t *c, gr_str_t group_id);
int32_t gr_gcoord_group_generation(gr_gcoord_t *c, gr_str_t group_id);
int32_t gr_gcoord_group_size(gr_gcoord_t *c, gr_str_t group_id);

#endif
