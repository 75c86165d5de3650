/* Broker and topic configuration, Kafka's way.
 *
 * One table (config_table.c) lists every key Gregor accepts: its Kafka name,
 * type, default, valid values, how Kafka lets it change at run time, and a
 * line of documentation. Everything else is made from that table: parsing
 * server.properties and --set, validation, the typed gr_config_t the broker
 * reads, DescribeConfigs answers (value, source, synonyms), per-topic
 * effective configuration, and docs/configuration.md.
 *
 * Values are kept as strings per source (static file/--set, dynamic per
 * broker, dynamic cluster default), in canonical form (trimmed, booleans in
 * lower case, numbers re-rendered, list items trimmed), because that is what
 * DescribeConfigs shows; the typed fields are recomputed from them after
 * every change.
 *
 * Threads: none of these objects is locked. One thread owns a gr_config_t
 * (and the gr_topic_config_t made from it); others get copies or take the
 * owner's lock. Errors: 0 or a negative GR_E* code; errbuf receives one line
 * naming the key (Kafka's wording where Kafka has one). */
#ifndef GR_SERVER_CONFIG_H
#define GR_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* DescribeConfigs ConfigType codes. */
typedef enum gr_config_type_e {
    GR_CONFIG_UNKNOWN = 0,
    GR_CONFIG_BOOLEAN = 1,
    GR_CONFIG_STRING = 2,
    GR_CONFIG_INT = 3,
    GR_CONFIG_SHORT = 4,
    GR_CONFIG_LONG = 5,
    GR_CONFIG_DOUBLE = 6,
    GR_CONFIG_LIST = 7,
    GR_CONFIG_CLASS = 8,
    GR_CONFIG_PASSWORD = 9,
} gr_config_type_t;

/* DescribeConfigs ConfigSource codes (Kafka's DescribeConfigsResponse.ConfigSource). */
typedef enum gr_config_source_e {
    GR_CONFIG_SOURCE_UNKNOWN = 0,
    GR_CONFIG_SOURCE_DYNAMIC_TOPIC = 1,          /* TOPIC_CONFIG */
    GR_CONFIG_SOURCE_DYNAMIC_BROKER = 2,         /* DYNAMIC_BROKER_CONFIG */
    GR_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER = 3, /* DYNAMIC_DEFAULT_BROKER_CONFIG */
    GR_CONFIG_SOURCE_STATIC_BROKER = 4,          /* STATIC_BROKER_CONFIG */
    GR_CONFIG_SOURCE_DEFAULT = 5,                /* DEFAULT_CONFIG */
    GR_CONFIG_SOURCE_DYNAMIC_BROKER_LOGGER = 6,
    GR_CONFIG_SOURCE_CLIENT_METRICS = 7,
    GR_CONFIG_SOURCE_GROUP = 8,
} gr_config_source_t;

/* Kafka's "Update Mode" column. */
typedef enum gr_config_update_e {
    GR_CONFIG_READ_ONLY = 0,    /* only in server.properties / --set; restart to change */
    GR_CONFIG_PER_BROKER = 1,   /* dynamic, for one broker at a time */
    GR_CONFIG_CLUSTER_WIDE = 2, /* dynamic, per broker or as the cluster default */
} gr_config_update_t;

typedef enum gr_config_scope_e {
    GR_CONFIG_SCOPE_BROKER = 0,
    GR_CONFIG_SCOPE_TOPIC = 1,
} gr_config_scope_t;

enum {
    GR_CONFIG_F_MIN = 1 << 0,            /* min (or dmin) applies */
    GR_CONFIG_F_MAX = 1 << 1,            /* max (or dmax) applies */
    GR_CONFIG_F_SENSITIVE = 1 << 2,      /* value never shown (DescribeConfigs value null) */
    GR_CONFIG_F_GREGOR_DEFAULT = 1 << 3, /* Gregor's default differs from Kafka's (kafka_def) */
    GR_CONFIG_F_GREGOR_ONLY = 1 << 4,    /* not a Kafka key */
    GR_CONFIG_F_HIDDEN = 1 << 5,         /* accepted, but not listed by DescribeConfigs */
    GR_CONFIG_F_NODUP = 1 << 6,          /* LIST: items must be unique */
    GR_CONFIG_F_NONEMPTY = 1 << 7,       /* LIST/STRING: must not be empty */
};

typedef struct gr_config_def_s gr_config_def_t;

/* Extra validation of a canonical value; writes one line to err on failure. */
typedef int (*gr_config_check_fn)(const gr_config_def_t *def, const char *value, char *err,
                                  size_t errlen);

/* One key. The tables are static and immutable. */
struct gr_config_def_s {
    const char        *name;
    gr_config_type_t   type;
    const char        *def;       /* default, canonical string as DescribeConfigs shows it; NULL = none */
    const char        *kafka_def; /* Kafka's default when GR_CONFIG_F_GREGOR_DEFAULT, else NULL */
    unsigned           flags;     /* GR_CONFIG_F_* */
    int64_t            min, max;  /* INT/SHORT/LONG range, per F_MIN / F_MAX */
    double             dmin, dmax;       /* DOUBLE range, per F_MIN / F_MAX */
    const char *const *allowed;   /* STRING/LIST: NULL-terminated allowed values; NULL = any */
    gr_config_check_fn check;     /* further validation, or NULL */
    const char        *valid_doc; /* "Valid values" text when range/allowed do not say it */
    gr_config_update_t update;
    /* Broker key: the topic key whose server default it is (or NULL).
     * Topic key: the broker key that supplies its default (or NULL). */
    const char        *synonym;
    /* Broker key: Kafka's synonym list for it, first = highest priority
     * (log.retention.ms, .minutes, .hours); NULL = just itself. */
    const char *const *chain;
    int64_t            unit_ms;   /* chain member in hours/minutes: ms per unit; 0 = 1 */
    size_t             field;     /* 1 + offsetof the typed field in gr_config_t /
                                   * gr_topic_config_t; 0 = no typed field */
    const char        *doc;       /* one line, our words */
};

/* The table of a scope, in documentation order; *count set. */
const gr_config_def_t *gr_config_defs(gr_config_scope_t scope, size_t *count);
/* A key by exact name, or NULL. */
const gr_config_def_t *gr_config_def_find(gr_config_scope_t scope, const char *name);

typedef struct gr_config_slot_s gr_config_slot_t; /* private: values per source of one key */

/* The broker's configuration. Typed fields hold the effective value (dynamic
 * per-broker over dynamic default over static over default). String fields
 * borrow the stored value: valid until that key is set again or the config is
 * freed. Fields named after a key chain (log_retention_ms, ...) are resolved
 * the way Kafka resolves them. */
typedef struct gr_config_s {
    /* node and quorum */
    int32_t     node_id;            /* node.id, or broker.id when only that is set */
    const char *process_roles;      /* "broker,controller" */
    bool        role_broker, role_controller;
    const char *controller_listener_names;
    const char *controller_quorum_voters;
    const char *controller_quorum_bootstrap_servers;
    int32_t     controller_quorum_election_timeout_ms;
    int32_t     controller_quorum_fetch_timeout_ms;
    int32_t     controller_quorum_election_backoff_max_ms;
    int32_t     controller_quorum_append_linger_ms;
    int32_t     controller_quorum_request_timeout_ms;
    int32_t     controller_quorum_retry_backoff_ms;
    const char *metadata_log_dir;   /* NULL: first of log_dirs */
    int32_t     metadata_log_segment_bytes;
    int64_t     metadata_log_segment_ms;
    int64_t     metadata_max_retention_bytes;
    int64_t     metadata_max_retention_ms;
    int64_t     metadata_log_max_record_bytes_between_snapshots;
    int64_t     metadata_log_max_snapshot_interval_ms;
    int32_t     metadata_max_idle_interval_ms;
    int32_t     broker_heartbeat_interval_ms;
    int32_t     broker_session_timeout_ms;
    int32_t     initial_broker_registration_timeout_ms;
    const char *broker_rack;        /* NULL: none */
    const char *cluster_id;         /* NULL: from meta.properties / generated */

    /* network */
    const char *listeners;
    const char *advertised_listeners; /* NULL: listeners */
    const char *listener_security_protocol_map;
    const char *inter_broker_listener_name;
    const char *security_inter_broker_protocol;
    int32_t     socket_send_buffer_bytes;
    int32_t     socket_receive_buffer_bytes;
    int32_t     socket_request_max_bytes;
    int32_t     socket_listen_backlog_size;
    int64_t     connections_max_idle_ms;
    int32_t     max_connections;
    int32_t     max_connections_per_ip;
    const char *max_connections_per_ip_overrides;
    int32_t     max_connection_creation_rate;
    int32_t     num_network_threads;
    int32_t     num_io_threads;
    int32_t     background_threads;
    int32_t     queued_max_requests;
    int64_t     queued_max_request_bytes;
    int32_t     request_timeout_ms;

    /* topics */
    int32_t     num_partitions;
    int32_t     default_replication_factor;
    bool        auto_create_topics_enable;
    bool        delete_topic_enable;
    int32_t     message_max_bytes;
    const char *compression_type;
    int32_t     compression_gzip_level;
    int32_t     compression_lz4_level;
    int32_t     compression_zstd_level;
    int32_t     min_insync_replicas;
    bool        unclean_leader_election_enable;
    bool        auto_leader_rebalance_enable;
    int64_t     leader_imbalance_check_interval_seconds;

    /* log */
    const char *log_dirs;           /* log.dirs, or log.dir when log.dirs is unset */
    int32_t     log_segment_bytes;
    int64_t     log_roll_ms;        /* log.roll.ms, else log.roll.hours */
    int64_t     log_roll_jitter_ms; /* log.roll.jitter.ms, else log.roll.jitter.hours */
    int64_t     log_retention_ms;   /* log.retention.ms / .minutes / .hours; -1 = forever */
    int64_t     log_retention_bytes;
    int64_t     log_retention_check_interval_ms;
    const char *log_cleanup_policy;
    int32_t     log_index_size_max_bytes;
    int32_t     log_index_interval_bytes;
    int64_t     log_flush_interval_messages;
    int64_t     log_flush_interval_ms; /* log.flush.interval.ms, else log.flush.scheduler.interval.ms */
    int64_t     log_flush_scheduler_interval_ms;
    int32_t     log_flush_offset_checkpoint_interval_ms;
    int32_t     log_flush_start_offset_checkpoint_interval_ms;
    int64_t     log_segment_delete_delay_ms;
    bool        log_preallocate;
    const char *log_message_timestamp_type;
    int64_t     log_message_timestamp_before_max_ms;
    int64_t     log_message_timestamp_after_max_ms;
    int64_t     log_dir_failure_timeout_ms;
    int32_t     num_recovery_threads_per_data_dir;
    bool        log_cleaner_enable;
    int32_t     log_cleaner_threads;
    int64_t     log_cleaner_backoff_ms;
    int64_t     log_cleaner_dedupe_buffer_size;
    int32_t     log_cleaner_io_buffer_size;
    double      log_cleaner_io_buffer_load_factor;
    double      log_cleaner_io_max_bytes_per_second;
    double      log_cleaner_min_cleanable_ratio;
    int64_t     log_cleaner_delete_retention_ms;
    int64_t     log_cleaner_min_compaction_lag_ms;
    int64_t     log_cleaner_max_compaction_lag_ms;

    /* groups */
    int32_t     offsets_topic_num_partitions;
    int16_t     offsets_topic_replication_factor;
    int32_t     offsets_topic_segment_bytes;
    int32_t     offsets_topic_compression_codec;
    int32_t     offsets_retention_minutes;
    int64_t     offsets_retention_check_interval_ms;
    int32_t     offsets_commit_timeout_ms;
    int32_t     offsets_load_buffer_size;
    int32_t     offset_metadata_max_bytes;
    int32_t     group_initial_rebalance_delay_ms;
    int32_t     group_min_session_timeout_ms;
    int32_t     group_max_session_timeout_ms;
    int32_t     group_max_size;
    const char *group_coordinator_rebalance_protocols;
    int32_t     group_consumer_session_timeout_ms;
    int32_t     group_consumer_min_session_timeout_ms;
    int32_t     group_consumer_max_session_timeout_ms;
    int32_t     group_consumer_heartbeat_interval_ms;
    int32_t     group_consumer_min_heartbeat_interval_ms;
    int32_t     group_consumer_max_heartbeat_interval_ms;
    int32_t     group_consumer_max_size;
    const char *group_consumer_assignors;
    const char *group_consumer_migration_policy;

    /* transactions and producer ids */
    int32_t     transaction_state_log_num_partitions;
    int16_t     transaction_state_log_replication_factor;
    int32_t     transaction_state_log_min_isr;
    int32_t     transaction_state_log_segment_bytes;
    int32_t     transaction_state_log_load_buffer_size;
    int32_t     transactional_id_expiration_ms;
    int32_t     transaction_max_timeout_ms;
    int32_t     transaction_abort_timed_out_transaction_cleanup_interval_ms;
    int32_t     transaction_remove_expired_transaction_cleanup_interval_ms;
    bool        transaction_partition_verification_enable;
    int32_t     producer_id_expiration_ms;

    /* fetch and replication */
    int32_t     fetch_max_bytes;
    int32_t     max_incremental_fetch_session_cache_slots;
    int64_t     replica_lag_time_max_ms;
    int32_t     replica_fetch_max_bytes;
    int32_t     replica_fetch_min_bytes;
    int32_t     replica_fetch_wait_max_ms;
    int32_t     replica_fetch_backoff_ms;
    int32_t     replica_fetch_response_max_bytes;
    int32_t     replica_socket_timeout_ms;
    int32_t     replica_socket_receive_buffer_bytes;
    int64_t     replica_high_watermark_checkpoint_interval_ms;
    int32_t     num_replica_fetchers;
    int32_t     fetch_purgatory_purge_interval_requests;
    int32_t     producer_purgatory_purge_interval_requests;
    int32_t     delete_records_purgatory_purge_interval_requests;

    gr_config_slot_t *slots; /* private: one per broker key, table order */
} gr_config_t;

/* Every key at its default. Returns 0 or GR_ENOMEM. Free with gr_config_free. */
int gr_config_init_defaults(gr_config_t *cfg);
void gr_config_free(gr_config_t *cfg);

/* Reads a server.properties file (Java properties syntax: key=value, key: value
 * or key value; # and ! comments; trailing-backslash continuation; escapes
 * \t \n \r \f \\ \uXXXX) and sets each key as STATIC_BROKER_CONFIG. Stops at
 * the first error: "PATH:LINE: message" in errbuf; an unknown key is an error.
 * Returns 0, -errno (file), GR_ENOTFOUND (unknown key) or GR_EINVAL. */
int gr_config_load_file(gr_config_t *cfg, const char *path, char *errbuf, size_t errlen);
/* Same, from a string; name is used in messages. */
int gr_config_load_string(gr_config_t *cfg, const char *text, const char *name, char *errbuf,
                          size_t errlen);

/* Sets (value != NULL) or removes (value == NULL) a broker key at one source:
 * STATIC_BROKER (file, --set), DYNAMIC_BROKER or DYNAMIC_DEFAULT_BROKER.
 * Validates type, range and allowed values; dynamic sources refuse read-only
 * keys and the cluster default refuses per-broker keys, as Kafka does.
 * Returns 0, GR_ENOTFOUND (unknown key), GR_EINVAL (bad value, wrong source). */
int gr_config_set(gr_config_t *cfg, const char *key, const char *value, gr_config_source_t source,
                  char *errbuf, size_t errlen);
/* The checks gr_config_set makes for a dynamic source (DYNAMIC_BROKER or
 * DYNAMIC_DEFAULT_BROKER), without changing anything: known key ("Unknown
 * broker config name: ..."), not read-only, not per-broker at the cluster
 * default, and (value != NULL) a valid value. For AlterConfigs and
 * IncrementalAlterConfigs before they write a record. Returns 0,
 * GR_ENOTFOUND or GR_EINVAL, with Kafka's wording in errbuf. */
int gr_config_check_set(const gr_config_t *cfg, const char *key, const char *value,
                        gr_config_source_t source, char *errbuf, size_t errlen);
/* "KEY=VALUE" as given to --set, as STATIC_BROKER_CONFIG. */
int gr_config_set_kv(gr_config_t *cfg, const char *kv, char *errbuf, size_t errlen);
/* Checks that need several keys (node.id vs broker.id, listeners vs the
 * protocol map, ...). Call once after the file and every --set. */
int gr_config_check(const gr_config_t *cfg, char *errbuf, size_t errlen);

/* Effective value of a broker key, canonical; NULL if unknown key or no value.
 * Valid until the key is set again. */
const char *gr_config_get_str(const gr_config_t *cfg, const char *key);
/* Where the effective value comes from (DEFAULT when nothing is set). */
gr_config_source_t gr_config_get_source(const gr_config_t *cfg, const char *key);
/* The value stored at one source (STATIC_BROKER, DYNAMIC_BROKER,
 * DYNAMIC_DEFAULT_BROKER), or the table default for DEFAULT; NULL if none. */
const char *gr_config_get_at(const gr_config_t *cfg, const char *key, gr_config_source_t source);

/* One DescribeConfigs entry. Pointers borrow from the config (or topic
 * config) and the table: valid until that config changes. */
#define GR_CONFIG_MAX_SYNONYMS 16
typedef struct gr_config_synonym_s {
    const char        *name;
    const char        *value; /* NULL for sensitive keys */
    gr_config_source_t source;
} gr_config_synonym_t;

typedef struct gr_config_entry_s {
    const char         *name;
    const char         *value; /* NULL: sensitive, or no value */
    gr_config_source_t  source;
    bool                read_only;
    bool                is_sensitive;
    gr_config_type_t    type;
    const char         *documentation;
    size_t              n_synonyms;
    gr_config_synonym_t synonyms[GR_CONFIG_MAX_SYNONYMS];
} gr_config_entry_t;

/* Broker resource. per_broker = true for "<node id>" (every key, value and
 * synonyms from all sources); false for the cluster-default resource ""
 * (Kafka lists only keys with a DYNAMIC_DEFAULT_BROKER value there: check
 * gr_config_get_at first). Returns 0, or GR_ENOTFOUND for an unknown or
 * hidden key. Iterate with gr_config_defs(GR_CONFIG_SCOPE_BROKER). */
int gr_config_describe(const gr_config_t *cfg, const char *key, bool per_broker,
                       gr_config_entry_t *out);

/* ---- topics ---- */

typedef struct gr_topic_config_s {
    int32_t     segment_bytes;
    int64_t     segment_ms;
    int64_t     segment_jitter_ms;
    int32_t     segment_index_bytes;
    int64_t     flush_messages;
    int64_t     flush_ms;
    int64_t     retention_bytes;
    int64_t     retention_ms;
    int32_t     max_message_bytes;
    int32_t     index_interval_bytes;
    int64_t     delete_retention_ms;
    int64_t     min_compaction_lag_ms;
    int64_t     max_compaction_lag_ms;
    int64_t     file_delete_delay_ms;
    double      min_cleanable_dirty_ratio;
    const char *cleanup_policy;
    bool        cleanup_compact, cleanup_delete; /* derived from cleanup_policy */
    bool        unclean_leader_election_enable;
    int32_t     min_insync_replicas;
    const char *compression_type;
    int32_t     compression_gzip_level;
    int32_t     compression_lz4_level;
    int32_t     compression_zstd_level;
    bool        preallocate;
    const char *message_timestamp_type;
    bool        log_append_time; /* derived: message.timestamp.type=LogAppendTime */
    int64_t     message_timestamp_before_max_ms;
    int64_t     message_timestamp_after_max_ms;
    const char *leader_replication_throttled_replicas;
    const char *follower_replication_throttled_replicas;
    bool        remote_storage_enable;
    int64_t     local_retention_ms;
    int64_t     local_retention_bytes;
    bool        remote_log_copy_disable;
    bool        remote_log_delete_on_disable;

    char      **overrides; /* private: per topic key, the DYNAMIC_TOPIC_CONFIG value or NULL */
    char      **effective; /* private: per topic key, the effective value string */
} gr_topic_config_t;

/* The effective config of a topic without overrides: every key from the
 * broker (its synonym's value) or the topic default. Returns 0 or GR_ENOMEM. */
int gr_topic_config_init(gr_topic_config_t *tc, const gr_config_t *broker);
void gr_topic_config_free(gr_topic_config_t *tc);
/* Sets (value != NULL) or removes (NULL) a topic override. Validates as
 * gr_topic_config_validate. Returns 0, GR_ENOTFOUND, GR_EINVAL or GR_ENOMEM. */
int gr_topic_config_set(gr_topic_config_t *tc, const gr_config_t *broker, const char *key,
                        const char *value, char *errbuf, size_t errlen);
/* Recomputes every value after the broker config changed. */
int gr_topic_config_refresh(gr_topic_config_t *tc, const gr_config_t *broker);
/* Validation for CreateTopics / AlterConfigs: unknown key or bad value
 * becomes INVALID_CONFIG with errbuf as its message. */
int gr_topic_config_validate(const char *key, const char *value, char *errbuf, size_t errlen);
/* Cross-key checks (min.compaction.lag.ms <= max.compaction.lag.ms). */
int gr_topic_config_check(const gr_topic_config_t *tc, char *errbuf, size_t errlen);
/* The override of key, or NULL. */
const char *gr_topic_config_override(const gr_topic_config_t *tc, const char *key);
/* The effective value string of key, or NULL for an unknown key. */
const char *gr_topic_config_get_str(const gr_topic_config_t *tc, const char *key);
/* DescribeConfigs of a topic, Kafka's semantics: value is the effective one;
 * synonyms are [the override, then the broker synonyms set dynamically per
 * broker, as cluster default, statically, then the broker default], cut so
 * the list starts at the first broker synonym's own name; source is the first
 * synonym's, or DEFAULT_CONFIG when there is none. */
int gr_topic_config_describe(const gr_topic_config_t *tc, const gr_config_t *broker,
                             const char *key, gr_config_entry_t *out);

/* ---- docs ---- */

/* Writes docs/configuration.md. Returns 0 or -errno. */
int gr_config_write_markdown(FILE *out);

/* Kafka's name of a type ("int") / source ("STATIC_BROKER_CONFIG"). */
const char *gr_config_type_name(gr_config_type_t type);
const char *gr_config_source_name(gr_config_source_t source);

#endif
