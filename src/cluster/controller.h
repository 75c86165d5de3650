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
/* IncrementalAlterConfigs operations (Kafka's AlterConfigOp.OpType). */
enum {
    GR_CONFIG_OP_SET = 0,
    GR_CONFIG_OP_DELETE = 1,
    GR_CONFIG_OP_APPEND = 2,   /* list keys: add items not there yet */
    GR_CONFIG_OP_SUBTRACT = 3, /* list keys: remove items */
};

typedef struct gr_ctrl_config_op_s {
    gr_str_t name;
    int8_t   op;    /* GR_CONFIG_OP_* */
    gr_str_t value; /* null only for DELETE */
} gr_ctrl_config_op_t;

/* One resource of IncrementalAlterConfigs, or of AlterConfigs (legacy:
 * every op is a SET and the resource's other dynamic configs are
 * removed). rtype 2 is a topic, 4 a broker (name "" = the cluster default,
 * else this node's id). Everything is checked first, with Kafka's error
 * codes (controller_configs.c lists them); then, unless validate_only, the
 * changes are committed as ConfigRecords in one metadata batch and apply
 * at once. msg gets the error message ("" on success). */
int16_t gr_ctrl_alter_configs(struct gr_broker_s *b, int8_t rtype, gr_str_t rname,
                              const gr_ctrl_config_op_t *ops, int nops, bool legacy,
                              bool validate_only, char *msg, size_t msglen);

/* The producer-id allocator's reserve callback (arg is the broker):
 * records next_block_start durably before ids below it are handed out. */
int gr_ctrl_reserve_producer_ids(void *arg, int64_t block_start, int64_t next_block_start);

#endif
