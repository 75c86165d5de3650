/* KIP-848 consumer groups ("group.protocol=consumer"): ConsumerGroupHeartbeat
 * and ConsumerGroupDescribe on the group coordinator (group.h), with
 * server-side assignment (assignor.h), member epochs and revocation before
 * reassignment, as Apache Kafka's GroupMetadataManager runs them.
 *
 * A consumer group is a gr_group_t of the coordinator's table with a
 * gr_cgroup_t attached (g->cg); classic members and consumer-protocol
 * members are never in one group. The group's epoch, members,
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

/* A classic JoinGroup for group_id: 0 when it may go on (an empty
 * consumer group is turned back into a classic one), or
 * INCONSISTENT_GROUP_PROTOCOL while the group has consumer-protocol
 * members (Kafka 4 would let the classic member join the consumer group:
 * online migration is not implemented here). */
int16_t gr_gcoord_cg_classic_join(gr_gcoord_t *c, gr_str_t group_id);

/* "Empty", "Assigning", "Reconciling", "Stable" of a consumer group, NULL
 * for a classic one. */
const char *gr_gcoord_cg_state(gr_gcoord_t *c, gr_str_t group_id);
int32_t gr_gcoord_cg_epoch(gr_gcoord_t *c, gr_str_t group_id);

#endif
