/* KIP-848 consumer groups ("group.protocol=consumer"): ConsumerGroupHeartbeat
 * and ConsumerGroupDescribe on the group coordinator (group.h), with
 * server-side assignment (assignor.h), member epochs and revocation before
 * reassignment, as Apache Kafka's GroupMetadataManager runs them.
 *
 * A consumer group is a gr_group_t of the coordinator's table with a
 * gr_cgroup_t attached (g->cg); classic members and consumer-protocol
 * members are never in one group. Membership and assignments live in
 * memory only: nothing but the group's committed offsets reaches
 * __consumer_offsets, so after a restart the members rejoin (their
 * heartbeats get UNKNOWN_MEMBER_ID / GROUP_ID_NOT_FOUND, which makes a
 * client rejoin with epoch 0) and resume from the committed offsets.
 *
 * Event-loop thread only, like the rest of the coordinator. Strings in
 * responses are copied into the request's arena. */
#ifndef GR_GROUP_CONSUMER_GROUP_H
#define GR_GROUP_CONSUMER_GROUP_H

#include "group/group.h"

/* Resolves a topic name from the metadata image: false when it does not
 * exist. */
typedef bool (*gr_gcg_topic_fn)(void *arg, gr_str_t name, gr_uuid_t *id, int32_t *nparts);

/* ConsumerGroupHeartbeat: fills out (its Assignment from the arena). */
void gr_gcoord_cg_heartbeat(gr_gcoord_t *c, const gr_gclient_t *cl, const gr_ConsumerGroupHeartbeatRequest *rq,
                            gr_gcg_topic_fn topic_fn, void *topic_arg, gr_arena_t *a,
                            gr_ConsumerGroupHeartbeatResponse *out);

/* ConsumerGroupDescribe of one group. */
void gr_gcoord_cg_describe(gr_gcoord_t *c, gr_str_t group_id, gr_arena_t *a,
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
