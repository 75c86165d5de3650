/* KIP-848 consumer groups ("group.protocol=consumer"): ConsumerGroupHeartbeat
 * and ConsumerGroupDescribe on the group coordinator (group.h), with
 * server-side assignment (assignor.h), member epochs and revocation before
 * reassignment, as Apache Kafka's GroupMetadataManager runs them.
 *
 * A consumer group is a gr_group_t of the coordinator's table with a
 * gr_cgroup_t attached (g->cg). Members that speak the classic protocol
 * (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) may be in it next to
 * consumer-protocol members, as Kafka 4's online migration has it
 * (group.consumer.migration.policy, cg_migrate.c and cg_classic.c): a
 * non-empty classic group using the consumer protocol type becomes a
 * consumer group when a ConsumerGroupHeartbeat member joins it (upgrade),
 * a classic member may always join a non-empty consumer group, and a
 * consumer group whose last consumer-protocol member leaves becomes a
 * classic group again and rebalances (downgrade). The group's epoch, members,
 * subscriptions, target and current assignments are written to
 * __consumer_offsets as Kafka's ConsumerGroup* records (cg_records.c) and
 * replayed when the broker starts, so a group survives a restart with its
 * members (until their sessions expire) and their epochs.
 *
 * Event-loop thread only, like the rest of the coordinator. Strings in
 * responses are copied into the request's arena. */
#ifndef GR_GROUP_CONSUMER_GROUP_H
#define GR_GROUP_CONSUMER_GROUP_H

#include "group/group.h"

/* What consumer groups read of the metadata image. */
typedef struct gr_gcg_meta_s {
    void *arg;
    /* A topic by name: false when it does not exist. */
    bool (*topic)(void *arg, gr_str_t name, gr_uuid_t *id, int32_t *nparts);
    /* Calls fn(ctx, name) for every topic. */
    void (*each_topic)(void *arg, void (*fn)(void *ctx, const char *name), void *ctx);
    /* A number that changes whenever the topics do (regular expressions
     * are resolved again then). */
    int64_t (*version)(void *arg);
} gr_gcg_meta_t;

/* ConsumerGroupHeartbeat: fills out (its Assignment from the arena).
 * Returns true when the heartbeat wrote records: out must then be sent
 * only when done(arg, err) is called, once they are durable (err: the
 * write failed, out->ErrorCode is to be set from it); false when out is
 * complete now. */
bool gr_gcoord_cg_heartbeat(gr_gcoord_t *c, const gr_gclient_t *cl, const gr_ConsumerGroupHeartbeatRequest *rq,
                            const gr_gcg_meta_t *meta, gr_arena_t *a, gr_ConsumerGroupHeartbeatResponse *out,
                            gr_gcoord_done_fn done, void *arg);

/* ConsumerGroupDescribe of one group (meta names the topics of the
 * assignments); api_version 1+ tells each member's type. */
void gr_gcoord_cg_describe(gr_gcoord_t *c, gr_str_t group_id, const gr_gcg_meta_t *meta, gr_arena_t *a,
                           gr_ConsumerGroupDescribeResponse_DescribedGroup *out);

/* A classic JoinGroup for group_id, before the classic code runs: an
 * empty consumer group is turned back into a classic one (its offsets
 * stay). 0, or the error of writing the consumer group's tombstones. A
 * non-empty consumer group takes the JoinGroup itself (gr_gcoord_join). */
int16_t gr_gcoord_cg_classic_join(gr_gcoord_t *c, gr_str_t group_id);

/* The image the coordinator reads topics from for the requests that do
 * not bring it (classic members of consumer groups, timers); copied. */
void gr_gcoord_set_meta(gr_gcoord_t *c, const gr_gcg_meta_t *meta);

/* "Empty", "Assigning", "Reconciling", "Stable" of a consumer group, NULL
 * for a classic one. */
const char *gr_gcoord_cg_state(gr_gcoord_t *c, gr_str_t group_id);
int32_t gr_gcoord_cg_epoch(gr_gcoord_t *c, gr_str_t group_id);

#endif
