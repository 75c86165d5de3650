/* Kafka protocol error codes: the int16 ErrorCode of every response.
 *
 * The list follows Apache Kafka's Errors.java (codes -1..133 are in released
 * Kafka up to 4.1; 134..141 are newer, from trunk's cluster-mirroring work,
 * and may still change). The names are Kafka's, prefixed GR_KERR_; the
 * messages are our own short wording. These codes live only in protocol and
 * API code: internal functions return negative GR_E* codes (base/err.h) and
 * the API layer converts them in one place. */
#ifndef GR_PROTOCOL_ERRORS_H
#define GR_PROTOCOL_ERRORS_H

#include <stdbool.h>
#include <stdint.h>

/* X(NAME, code, default message) */
#define GR_KERR_LIST(X) \
    X(UNKNOWN_SERVER_ERROR, -1, "An unexpected error occurred on the server.") \
    X(NONE, 0, NULL) \
    X(OFFSET_OUT_OF_RANGE, 1, "The offset is outside the range this partition holds.") \
    X(CORRUPT_MESSAGE, 2, "The record batch is corrupt: CRC mismatch, bad size or bad structure.") \
    X(UNKNOWN_TOPIC_OR_PARTITION, 3, "This broker does not host the topic-partition.") \
    X(INVALID_FETCH_SIZE, 4, "The fetch size is invalid.") \
    X(LEADER_NOT_AVAILABLE, 5, "The partition has no leader right now (an election is in progress).") \
    X(NOT_LEADER_OR_FOLLOWER, 6, "This broker is not the leader (or not a replica) of the partition.") \
    X(REQUEST_TIMED_OUT, 7, "The request timed out.") \
    X(BROKER_NOT_AVAILABLE, 8, "The broker is not available.") \
    X(REPLICA_NOT_AVAILABLE, 9, "The replica is not available for the partition.") \
    X(MESSAGE_TOO_LARGE, 10, "A record batch is larger than the largest size the topic accepts.") \
    X(STALE_CONTROLLER_EPOCH, 11, "The controller epoch is stale; the controller moved.") \
    X(OFFSET_METADATA_TOO_LARGE, 12, "The offset metadata string is too long.") \
    X(NETWORK_EXCEPTION, 13, "The connection closed before a response arrived.") \
    X(COORDINATOR_LOAD_IN_PROGRESS, 14, "The coordinator is still loading its state.") \
    X(COORDINATOR_NOT_AVAILABLE, 15, "The coordinator is not available.") \
    X(NOT_COORDINATOR, 16, "This broker is not the coordinator for the key.") \
    X(INVALID_TOPIC_EXCEPTION, 17, "The topic name is invalid or the operation is not allowed on this topic.") \
    X(RECORD_LIST_TOO_LARGE, 18, "The record batches are larger than the configured segment size.") \
    X(NOT_ENOUGH_REPLICAS, 19, "Fewer in-sync replicas than min.insync.replicas; records rejected.") \
    X(NOT_ENOUGH_REPLICAS_AFTER_APPEND, 20, "Records were written, but to fewer in-sync replicas than required.") \
    X(INVALID_REQUIRED_ACKS, 21, "The acks value is invalid.") \
    X(ILLEGAL_GENERATION, 22, "The group generation id is not valid.") \
    X(INCONSISTENT_GROUP_PROTOCOL, 23, "The member's protocols do not match the group's, or are empty.") \
    X(INVALID_GROUP_ID, 24, "The group id is invalid.") \
    X(UNKNOWN_MEMBER_ID, 25, "The coordinator does not know this member id.") \
    X(INVALID_SESSION_TIMEOUT, 26, "The session timeout is outside the broker's allowed range.") \
    X(REBALANCE_IN_PROGRESS, 27, "The group is rebalancing; the member must rejoin.") \
    X(INVALID_COMMIT_OFFSET_SIZE, 28, "The size of the committed offset data is invalid.") \
    X(TOPIC_AUTHORIZATION_FAILED, 29, "Not authorized to access the topic.") \
    X(GROUP_AUTHORIZATION_FAILED, 30, "Not authorized to access the group.") \
    X(CLUSTER_AUTHORIZATION_FAILED, 31, "Not authorized to perform the cluster operation.") \
    X(INVALID_TIMESTAMP, 32, "A record timestamp is outside the accepted range.") \
    X(UNSUPPORTED_SASL_MECHANISM, 33, "The SASL mechanism is not supported.") \
    X(ILLEGAL_SASL_STATE, 34, "The request is not valid in the current SASL state.") \
    X(UNSUPPORTED_VERSION, 35, "The API version is not supported.") \
    X(TOPIC_ALREADY_EXISTS, 36, "A topic with this name already exists.") \
    X(INVALID_PARTITIONS, 37, "The number of partitions is invalid.") \
    X(INVALID_REPLICATION_FACTOR, 38, "The replication factor is invalid or larger than the number of brokers.") \
    X(INVALID_REPLICA_ASSIGNMENT, 39, "The replica assignment is invalid.") \
    X(INVALID_CONFIG, 40, "The configuration is invalid.") \
    X(NOT_CONTROLLER, 41, "This node is not the active controller.") \
    X(INVALID_REQUEST, 42, "The request is malformed or not valid for this broker.") \
    X(UNSUPPORTED_FOR_MESSAGE_FORMAT, 43, "The message format does not support this request.") \
    X(POLICY_VIOLATION, 44, "The request violates a configured policy.") \
    X(OUT_OF_ORDER_SEQUENCE_NUMBER, 45, "The producer sequence number is out of order.") \
    X(DUPLICATE_SEQUENCE_NUMBER, 46, "The producer sequence number is a duplicate.") \
    X(INVALID_PRODUCER_EPOCH, 47, "The producer epoch is older than the current one.") \
    X(INVALID_TXN_STATE, 48, "The transactional operation is not valid in the current state.") \
    X(INVALID_PRODUCER_ID_MAPPING, 49, "The producer id is not assigned to this transactional id.") \
    X(INVALID_TRANSACTION_TIMEOUT, 50, "The transaction timeout exceeds transaction.max.timeout.ms.") \
    X(CONCURRENT_TRANSACTIONS, 51, "Another operation on this transaction is in progress.") \
    X(TRANSACTION_COORDINATOR_FENCED, 52, "The transaction coordinator is no longer current.") \
    X(TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 53, "Not authorized to use the transactional id.") \
    X(SECURITY_DISABLED, 54, "Security features are disabled.") \
    X(OPERATION_NOT_ATTEMPTED, 55, "The operation was not attempted because another part of the request failed.") \
    X(KAFKA_STORAGE_ERROR, 56, "A disk error occurred while accessing the log.") \
    X(LOG_DIR_NOT_FOUND, 57, "The log directory is not configured on the broker.") \
    X(SASL_AUTHENTICATION_FAILED, 58, "SASL authentication failed.") \
    X(UNKNOWN_PRODUCER_ID, 59, "The broker has no state for this producer id.") \
    X(REASSIGNMENT_IN_PROGRESS, 60, "A partition reassignment is in progress.") \
    X(DELEGATION_TOKEN_AUTH_DISABLED, 61, "Delegation tokens are not enabled.") \
    X(DELEGATION_TOKEN_NOT_FOUND, 62, "The delegation token was not found.") \
    X(DELEGATION_TOKEN_OWNER_MISMATCH, 63, "The principal is not the token's owner or renewer.") \
    X(DELEGATION_TOKEN_REQUEST_NOT_ALLOWED, 64, "Delegation token requests are not allowed on this channel.") \
    X(DELEGATION_TOKEN_AUTHORIZATION_FAILED, 65, "Not authorized for the delegation token.") \
    X(DELEGATION_TOKEN_EXPIRED, 66, "The delegation token has expired.") \
    X(INVALID_PRINCIPAL_TYPE, 67, "The principal type is not supported.") \
    X(NON_EMPTY_GROUP, 68, "The group is not empty.") \
    X(GROUP_ID_NOT_FOUND, 69, "The group does not exist.") \
    X(FETCH_SESSION_ID_NOT_FOUND, 70, "The fetch session was not found.") \
    X(INVALID_FETCH_SESSION_EPOCH, 71, "The fetch session epoch is invalid.") \
    X(LISTENER_NOT_FOUND, 72, "The leader has no listener matching the one this request used.") \
    X(TOPIC_DELETION_DISABLED, 73, "Topic deletion is disabled.") \
    X(FENCED_LEADER_EPOCH, 74, "The leader epoch in the request is older than the broker's.") \
    X(UNKNOWN_LEADER_EPOCH, 75, "The leader epoch in the request is newer than the broker's.") \
    X(UNSUPPORTED_COMPRESSION_TYPE, 76, "The compression type is not supported for this request.") \
    X(STALE_BROKER_EPOCH, 77, "The broker epoch is stale.") \
    X(OFFSET_NOT_AVAILABLE, 78, "The offset is not available yet after a leader change.") \
    X(MEMBER_ID_REQUIRED, 79, "The member must rejoin with the member id it was given.") \
    X(PREFERRED_LEADER_NOT_AVAILABLE, 80, "The preferred leader is not available.") \
    X(GROUP_MAX_SIZE_REACHED, 81, "The group has reached its maximum size.") \
    X(FENCED_INSTANCE_ID, 82, "Another member with the same group.instance.id has joined.") \
    X(ELIGIBLE_LEADERS_NOT_AVAILABLE, 83, "No eligible leader is available for the partition.") \
    X(ELECTION_NOT_NEEDED, 84, "A leader election is not needed for the partition.") \
    X(NO_REASSIGNMENT_IN_PROGRESS, 85, "No partition reassignment is in progress.") \
    X(GROUP_SUBSCRIBED_TO_TOPIC, 86, "The group is subscribed to the topic; its offsets cannot be deleted.") \
    X(INVALID_RECORD, 87, "A record failed validation on the broker and was rejected.") \
    X(UNSTABLE_OFFSET_COMMIT, 88, "Unstable offsets must be resolved first.") \
    X(THROTTLING_QUOTA_EXCEEDED, 89, "The throttling quota has been exceeded.") \
    X(PRODUCER_FENCED, 90, "A newer producer with the same transactional id has fenced this one.") \
    X(RESOURCE_NOT_FOUND, 91, "The resource does not exist.") \
    X(DUPLICATE_RESOURCE, 92, "The request names the same resource twice.") \
    X(UNACCEPTABLE_CREDENTIAL, 93, "The credential does not meet the acceptance criteria.") \
    X(INCONSISTENT_VOTER_SET, 94, "The sender or receiver is not in the expected voter set.") \
    X(INVALID_UPDATE_VERSION, 95, "The update version is invalid.") \
    X(FEATURE_UPDATE_FAILED, 96, "The feature update failed on the server.") \
    X(PRINCIPAL_DESERIALIZATION_FAILURE, 97, "The forwarded request's principal could not be deserialized.") \
    X(SNAPSHOT_NOT_FOUND, 98, "The snapshot was not found.") \
    X(POSITION_OUT_OF_RANGE, 99, "The position is outside the snapshot.") \
    X(UNKNOWN_TOPIC_ID, 100, "This broker does not host a topic with this id.") \
    X(DUPLICATE_BROKER_REGISTRATION, 101, "The broker id is already registered.") \
    X(BROKER_ID_NOT_REGISTERED, 102, "The broker id is not registered.") \
    X(INCONSISTENT_TOPIC_ID, 103, "The topic id does not match the log's topic id.") \
    X(INCONSISTENT_CLUSTER_ID, 104, "The cluster id does not match this cluster's.") \
    X(TRANSACTIONAL_ID_NOT_FOUND, 105, "The transactional id was not found.") \
    X(FETCH_SESSION_TOPIC_ID_ERROR, 106, "The fetch session used topic ids inconsistently.") \
    X(INELIGIBLE_REPLICA, 107, "The new ISR contains an ineligible replica.") \
    X(NEW_LEADER_ELECTED, 108, "The partition state was updated but a new leader was elected.") \
    X(OFFSET_MOVED_TO_TIERED_STORAGE, 109, "The offset has moved to tiered storage.") \
    X(FENCED_MEMBER_EPOCH, 110, "The member epoch is fenced; the member must rejoin.") \
    X(UNRELEASED_INSTANCE_ID, 111, "The instance id is still held by another member.") \
    X(UNSUPPORTED_ASSIGNOR, 112, "The assignor or its version is not supported by the group.") \
    X(STALE_MEMBER_EPOCH, 113, "The member epoch is stale.") \
    X(MISMATCHED_ENDPOINT_TYPE, 114, "The request was sent to the wrong type of endpoint.") \
    X(UNSUPPORTED_ENDPOINT_TYPE, 115, "This endpoint type is not supported.") \
    X(UNKNOWN_CONTROLLER_ID, 116, "The controller id is not known.") \
    X(UNKNOWN_SUBSCRIPTION_ID, 117, "The telemetry subscription id is unknown or outdated.") \
    X(TELEMETRY_TOO_LARGE, 118, "The telemetry payload is too large.") \
    X(INVALID_REGISTRATION, 119, "The broker registration is invalid.") \
    X(TRANSACTION_ABORTABLE, 120, "The transaction hit an error; the client may abort it and continue.") \
    X(INVALID_RECORD_STATE, 121, "The record state is invalid; the acknowledgement failed.") \
    X(SHARE_SESSION_NOT_FOUND, 122, "The share session was not found.") \
    X(INVALID_SHARE_SESSION_EPOCH, 123, "The share session epoch is invalid.") \
    X(FENCED_STATE_EPOCH, 124, "The share-group state epoch does not match.") \
    X(INVALID_VOTER_KEY, 125, "The voter key does not match this replica.") \
    X(DUPLICATE_VOTER, 126, "The voter is already in the voter set.") \
    X(VOTER_NOT_FOUND, 127, "The voter is not in the voter set.") \
    X(INVALID_REGULAR_EXPRESSION, 128, "The regular expression is invalid.") \
    X(REBOOTSTRAP_REQUIRED, 129, "The client's metadata is stale; it should rebootstrap.") \
    X(STREAMS_INVALID_TOPOLOGY, 130, "The streams topology is invalid.") \
    X(STREAMS_INVALID_TOPOLOGY_EPOCH, 131, "The streams topology epoch is invalid.") \
    X(STREAMS_TOPOLOGY_FENCED, 132, "The streams topology epoch is outdated.") \
    X(SHARE_SESSION_LIMIT_REACHED, 133, "The share session limit has been reached.") \
    X(READ_ONLY_TOPIC, 134, "The topic is read-only.") \
    X(INVALID_MIRROR_NAME, 135, "The mirror name is invalid.") \
    X(UNKNOWN_MIRROR, 136, "The mirror does not exist.") \
    X(TOPIC_ALREADY_IN_MIRROR, 137, "The topic already belongs to a mirror.") \
    X(TOPIC_NOT_IN_MIRROR, 138, "The topic does not belong to the mirror.") \
    X(MIRROR_TOPIC_ALREADY_PAUSED, 139, "The mirror topic is already paused.") \
    X(MIRROR_TOPIC_NOT_PAUSED, 140, "The mirror topic is not paused.") \
    X(MIRROR_TOPIC_BEING_REMOVED, 141, "The mirror topic is being removed.")

enum {
#define GR_KERR_ENUM_(name, code, msg) GR_KERR_##name = (code),
    GR_KERR_LIST(GR_KERR_ENUM_)
#undef GR_KERR_ENUM_
    GR_KERR_MIN_ = -1,
    GR_KERR_MAX_ = 141,
};

/* Kafka's name for the code ("CORRUPT_MESSAGE"), or "UNKNOWN_ERROR_CODE" for
 * a code outside the table. The string is static. */
const char *gr_kerr_name(int16_t code);

/* A short default message for the code, for a response's ErrorMessage when
 * there is nothing more specific to say. NULL for NONE; a generic text for a
 * code outside the table. The string is static. */
const char *gr_kerr_message(int16_t code);

/* Whether the code is one of the table's. */
bool gr_kerr_known(int16_t code);

#endif
