/* The metadata image: topics, partitions, their configs, brokers and the
 * producer-id high-water mark, built by applying metadata records (the
 * schemas in schemas/metadata) in log order.
 *
 * Every change goes through a record: the controller turns a request into
 * records, the records are made durable in the metadata log (a one-voter
 * quorum today, a Raft quorum later), and gr_meta_apply() folds each one into
 * the image on every node. Nothing else mutates the image, which is what
 * lets replication of the metadata log be added without touching handlers.
 * The image lives on the event-loop thread. */
#ifndef GR_CLUSTER_META_H
#define GR_CLUSTER_META_H

#include "protocol/codec.h"

#include <stdbool.h>
#include <stdint.h>

struct gr_plog_s;

typedef struct gr_meta_partition_s {
    int32_t  id;
    int32_t  leader;
    int32_t  leader_epoch;
    int32_t  partition_epoch;
    int32_t *replicas;
    int32_t  nreplicas;
    int32_t *isr;
    int32_t  nisr;
    void    *local;  /* the broker's per-partition state when hosted here */
} gr_meta_partition_t;

typedef struct gr_meta_config_s {
    char *resource; /* broker configs: "" (cluster default) or a node id */
    char *name;
    char *value;
    struct gr_meta_config_s *next;
} gr_meta_config_t;

typedef struct gr_meta_topic_s {
    char                *name;
    gr_uuid_t            id;
    gr_meta_partition_t *parts;
    int32_t              nparts;
    gr_meta_config_t    *configs;  /* topic-level overrides */
    bool                 internal;
    struct gr_meta_topic_s *next;  /* list in creation order */
} gr_meta_topic_t;

typedef struct gr_meta_broker_s {
    int32_t id;
    char    host[256];
    int32_t port;
    char    rack[64];
    bool    has_rack;
} gr_meta_broker_t;

/* Called after a record changed the image, so the broker can open or
 * delete local logs. kind is the record type (GR_MREC_*). */
typedef void (*gr_meta_listener_fn)(void *arg, int kind, gr_meta_topic_t *topic, int32_t partition);

typedef struct gr_meta_s {
    gr_meta_topic_t  *topics;
    int32_t           ntopics;
    gr_meta_broker_t  brokers[16];
    int32_t           nbrokers;
    gr_meta_config_t *broker_configs; /* dynamic broker configs */
    /* During a ConfigRecord notification: the resource, key and new value
     * (NULL when removed) of the change. */
    const char       *changed_resource, *changed_name, *changed_value;
    int64_t           next_producer_id;
    int64_t           applied_offset; /* last metadata log offset applied */
    gr_meta_listener_fn listener;
    void             *listener_arg;
} gr_meta_t;

void gr_meta_init(gr_meta_t *m);
void gr_meta_free(gr_meta_t *m);

gr_meta_topic_t *gr_meta_topic_by_name(gr_meta_t *m, const char *name, size_t len);
gr_meta_topic_t *gr_meta_topic_by_id(gr_meta_t *m, const gr_uuid_t *id);
gr_meta_partition_t *gr_meta_partition(gr_meta_topic_t *t, int32_t p);
const char *gr_meta_topic_config(const gr_meta_topic_t *t, const char *key);

/* Apply one serialized metadata record (frame version, api key, version,
 * body, as in Kafka's metadata log). Returns 0, or a negative error for a
 * record that does not parse; unknown record types are skipped. */
int gr_meta_apply(gr_meta_t *m, const uint8_t *rec, size_t len);

/* Serialize a metadata record struct with its frame into b. */
void gr_meta_frame(gr_buf_t *b, int16_t api_key, int16_t version);

#endif
