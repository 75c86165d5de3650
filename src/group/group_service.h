/* The group coordinator inside the broker: it gives the coordinator
 * (group.h) its clock, its timer (one uv_timer_t) and its log (the
 * partitions of __consumer_offsets hosted here, written through the
 * ordinary partition path as trusted appends and made durable with
 * gr_part_flush_async), creates __consumer_offsets on first use and loads
 * the hosted partitions of it. Event-loop thread only.
 *
 * Loading is synchronous: at start (before the loop serves any request)
 * and when the topic has just been created (its partitions are empty). */
#ifndef GR_GROUP_GROUP_SERVICE_H
#define GR_GROUP_GROUP_SERVICE_H

#include "group/group.h"
#include "net/request.h"

#define GR_GROUP_OFFSETS_TOPIC "__consumer_offsets"

struct gr_broker_s;

/* Creates the coordinator and loads every hosted partition of
 * __consumer_offsets. Call once the broker's partitions are open. */
int gr_group_service_start(struct gr_broker_s *b);
/* Answers parked group requests (NOT_COORDINATOR) and stops the timer;
 * call when the broker starts shutting down. */
void gr_group_service_stop(struct gr_broker_s *b);
/* Frees everything; after the loop has run its last callbacks. */
void gr_group_service_free(struct gr_broker_s *b);

/* A topic is being deleted: groups' committed offsets for it go too. */
void gr_group_service_topic_deleted(struct gr_broker_s *b, const char *topic);

/* The coordinator, or NULL before start / after stop. */
gr_gcoord_t *gr_group_coord(struct gr_broker_s *b);

/* FindCoordinator for a group id: the node that coordinates it, creating
 * __consumer_offsets first when it does not exist yet. Returns a Kafka
 * error code (COORDINATOR_NOT_AVAILABLE when there is none now). host
 * points into the broker's image or configuration. */
int16_t gr_group_find_coordinator(struct gr_broker_s *b, gr_str_t group_id, int32_t *node_id, const char **host,
                                  int32_t *port);

/* What KIP-848 groups read of the broker's metadata image. */
struct gr_gcg_meta_s;
void gr_group_meta(struct gr_broker_s *b, struct gr_gcg_meta_s *out);

/* Who sent req, for the coordinator: client id, API version and the peer
 * address as Kafka prints it ("/127.0.0.1"), kept in buf. */
void gr_group_client(gr_req_t *req, gr_gclient_t *cl, char *buf, size_t buflen);

#endif
