/* The controller: turns administrative requests into metadata records and
 * commits them. Today every broker is its own one-voter quorum, so the
 * controller runs in-process and commits directly; with a Raft quorum these
 * functions will run on the active controller. Each returns a Kafka error
 * code (0 for success) and, on error, a message for the response. */
#ifndef GR_CLUSTER_CONTROLLER_H
#define GR_CLUSTER_CONTROLLER_H

#include "protocol/codec.h"

#include <stdbool.h>
#include <stdint.h>

struct gr_broker_s;

typedef struct gr_ctrl_config_s {
    gr_str_t name;
    gr_str_t value;
} gr_ctrl_config_t;

/* True when name is a legal topic name (Kafka's rules). */
bool gr_ctrl_topic_name_valid(const char *name, size_t len, const char **why);

int16_t gr_ctrl_create_topic(struct gr_broker_s *b, gr_str_t name, int32_t nparts, int16_t rf,
                             const gr_ctrl_config_t *configs, int nconfigs, bool validate_only,
                             gr_uuid_t *id_out, int32_t *nparts_out, int16_t *rf_out,
                             char *msg, size_t msglen);
int16_t gr_ctrl_delete_topic(struct gr_broker_s *b, const gr_uuid_t *id);
int16_t gr_ctrl_create_partitions(struct gr_broker_s *b, gr_str_t name, int32_t count,
                                  bool validate_only, char *msg, size_t msglen);
/* The producer-id allocator's reserve callback (arg is the broker):
 * records next_block_start durably before ids below it are handed out. */
int gr_ctrl_reserve_producer_ids(void *arg, int64_t block_start, int64_t next_block_start);

#endif
