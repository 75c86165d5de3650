/* The server-side assignors of KIP-848 consumer groups: "uniform" (the
 * default, Kafka's UniformAssignor: balanced and sticky) and "range"
 * (Kafka's RangeAssignor: each topic's partitions in contiguous ranges over
 * the members subscribed to it, sorted by member id). Pure functions: no
 * coordinator state, no I/O. */
#ifndef GR_GROUP_ASSIGNOR_H
#define GR_GROUP_ASSIGNOR_H

#include <stdbool.h>
#include <stdint.h>

/* A topic partition by the index of its topic in the assignor's topic
 * array. */
typedef struct gr_gasn_tp_s {
    int32_t topic;
    int32_t partition;
} gr_gasn_tp_t;

typedef struct gr_gasn_member_s {
    const char *id;
    const bool *subscribed;   /* [ntopics]: subscribed to topic i */
    const gr_gasn_tp_t *prev; /* the previous target (stickiness) */
    int32_t     nprev;
    /* Output: malloc'ed, sorted by (topic, partition); the caller frees. */
    gr_gasn_tp_t *out;
    int32_t       nout;
} gr_gasn_member_t;

/* true when name is an assignor we have. */
bool gr_gasn_known(const char *name, int32_t len);

/* Computes the target assignment of every member over ntopics topics with
 * nparts[i] partitions each. Returns 0, or -ENOMEM (nothing allocated). */
int gr_gasn_assign(const char *assignor, const int32_t *nparts, int32_t ntopics, gr_gasn_member_t *members,
                   int32_t nmembers);

#endif
