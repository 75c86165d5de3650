/* The records of __consumer_offsets, byte for byte as Apache Kafka's group
 * coordinator writes them (schemas OffsetCommitKey/Value and
 * GroupMetadataKey/Value of Kafka's group-coordinator module), so Kafka's
 * own tools (kafka-dump-log --offsets-decoder) can read our logs and we can
 * read theirs. All integers are big-endian; strings are int16 length + bytes
 * (-1 = null) and bytes int32 length + bytes in the non-flexible versions;
 * flexible versions (value version 4) use compact lengths and tagged fields.
 *
 * Record key (never null):
 *    int16  type     0 or 1: an offset commit, 2: group metadata,
 *                    3-8 and 16: KIP-848 consumer group records
 *                    (9-15, 17 and up: share and streams groups, ignored)
 *    offset commit:  string group, string topic, int32 partition
 *    group metadata: string group
 *    consumer group: string group, then string member id (types 5, 7, 8)
 *                    or string regular expression (type 16)
 *
 * The values of the KIP-848 records are the flexible version 0 of Kafka's
 * ConsumerGroup*Value schemas (schemas/coordinator, generated codecs),
 * written and replayed by cg_records.c.
 *
 * OffsetCommitValue (null = the offset was deleted):
 *    int16  version  we write 3, or 1 when the commit has an explicit expiry
 *    int64  offset
 *    int32  leaderEpoch        v3+ (-1 = none)
 *    string metadata
 *    int64  commitTimestamp
 *    int64  expireTimestamp    v1 only
 *
 * GroupMetadataValue (null = the group was deleted):
 *    int16  version  we write 3
 *    string protocolType
 *    int32  generation
 *    string protocol           nullable
 *    string leader             nullable
 *    int64  currentStateTimestamp   v2+ (-1 = unknown)
 *    array  members (int32 count), each:
 *       string memberId
 *       string groupInstanceId nullable, v3+
 *       string clientId
 *       string clientHost
 *       int32  rebalanceTimeout  v1+
 *       int32  sessionTimeout
 *       bytes  subscription      (the member's metadata for the protocol)
 *       bytes  assignment
 *
 * Also here: Java's String.hashCode, which places a group on a partition,
 * and the topic list of the consumer protocol's subscription metadata. */
#ifndef GR_GROUP_GROUP_RECORDS_H
#define GR_GROUP_GROUP_RECORDS_H

#include "base/arena.h"
#include "base/buf.h"
#include "protocol/codec.h"

#include <stdint.h>

enum {
    GR_GREC_OFFSET_COMMIT_LEGACY = 0,
    GR_GREC_OFFSET_COMMIT = 1,
    GR_GREC_GROUP_METADATA = 2,
    /* 3-8, 16: GR_CREC_* of the generated kafka_msgs.h */
};

typedef struct gr_grec_key_s {
    int16_t  type;
    gr_str_t group;
    gr_str_t topic;     /* offset commits only */
    int32_t  partition; /* offset commits only */
    gr_str_t member;    /* consumer group member id or regular expression */
} gr_grec_key_t;

typedef struct gr_grec_offset_s {
    int64_t  offset;
    int32_t  leader_epoch; /* -1: none */
    gr_str_t metadata;
    int64_t  commit_ts;
    int64_t  expire_ts;    /* -1: none (only version 1 carries one) */
} gr_grec_offset_t;

typedef struct gr_grec_member_s {
    gr_str_t   member_id;
    gr_str_t   instance_id; /* len -1: null */
    gr_str_t   client_id;
    gr_str_t   client_host;
    int32_t    rebalance_timeout_ms;
    int32_t    session_timeout_ms;
    gr_bytes_t subscription;
    gr_bytes_t assignment;
} gr_grec_member_t;

typedef struct gr_grec_group_s {
    gr_str_t          protocol_type;
    int32_t           generation;
    gr_str_t          protocol; /* len -1: null */
    gr_str_t          leader;   /* len -1: null */
    int64_t           state_ts; /* -1: unknown */
    gr_grec_member_t *members;
    int32_t           nmembers;
} gr_grec_group_t;

/* Encoders append to b. */
void gr_grec_offset_key(gr_buf_t *b, gr_str_t group, gr_str_t topic, int32_t partition);
void gr_grec_group_key(gr_buf_t *b, gr_str_t group);
void gr_grec_offset_value(gr_buf_t *b, const gr_grec_offset_t *v);
void gr_grec_group_value(gr_buf_t *b, const gr_grec_group_t *v);

/* Decoders: slices point into p. 0, GR_EMALFORMED, or GR_EUNSUPPORTED for
 * a key type or value version we do not know (the caller skips those). */
int gr_grec_key_parse(const uint8_t *p, size_t len, gr_grec_key_t *out);
int gr_grec_offset_value_parse(const uint8_t *p, size_t len, gr_grec_offset_t *out);
/* Members are allocated from arena. */
int gr_grec_group_value_parse(const uint8_t *p, size_t len, gr_arena_t *arena, gr_grec_group_t *out);

/* Java's String.hashCode() of the string the UTF-8 bytes decode to
 * (malformed bytes count as U+FFFD, as Java's decoder makes them). */
int32_t gr_grec_java_hash(const char *s, size_t len);
/* Kafka's partitionFor: Utils.abs(groupId.hashCode()) % nparts. */
int32_t gr_grec_partition_for(const char *group, size_t len, int32_t nparts);
/* Length of the string in UTF-16 code units, as Java's String.length(). */
size_t gr_grec_java_length(const char *s, size_t len);

/* Calls fn for each topic of a ConsumerProtocolSubscription (any version:
 * int16 version, then an array of topic strings; later fields are not
 * needed). 0, or GR_EMALFORMED when the bytes are not one. */
int gr_grec_subscription_topics(const uint8_t *p, size_t len, void (*fn)(void *arg, gr_str_t topic),
                                void *arg);

#endif
