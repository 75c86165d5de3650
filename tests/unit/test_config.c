/* Unit tests of the configuration table, server.properties parsing,
 * validation, synonym resolution, topic configs and DescribeConfigs answers.
 * Expected values marked "Kafka 4.1.1" were taken from a running Apache Kafka
 * 4.1.1 (kafka-configs.sh --describe --all) with the same settings. */
#include "base/err.h"
#include "server/config.h"
#include "server/config_int.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static char err[1024];

static int setup_cfg(void **state)
{
    gr_config_t *cfg = calloc(1, sizeof *cfg);
    assert_non_null(cfg);
    assert_int_equal(gr_config_init_defaults(cfg), 0);
    err[0] = 0;
    *state = cfg;
    return 0;
}

static int teardown_cfg(void **state)
{
    gr_config_free(*state);
    free(*state);
    return 0;
}

static void set_ok(gr_config_t *cfg, const char *k, const char *v, gr_config_source_t src)
{
    int rc = gr_config_set(cfg, k, v, src, err, sizeof err);
    if (rc != 0)
        fail_msg("set %s=%s: %s", k, v ? v : "(null)", err);
}

static void load_ok(gr_config_t *cfg, const char *text)
{
    int rc = gr_config_load_string(cfg, text, "test.properties", err, sizeof err);
    if (rc != 0)
        fail_msg("load: %s", err);
}

/* "SOURCE:name=value" list of an entry's synonyms, for compact asserts. */
static const char *synonyms_str(const gr_config_entry_t *e)
{
    static char buf[1024];
    size_t      o = 0;
    buf[0] = 0;
    for (size_t i = 0; i < e->n_synonyms && o < sizeof buf; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s:%s=%s", i ? ", " : "",
                              gr_config_source_name(e->synonyms[i].source), e->synonyms[i].name,
                              e->synonyms[i].value ? e->synonyms[i].value : "null");
    return buf;
}

/* ---- the table ---- */

static void test_table_consistent(void **state)
{
    (void)state;
    for (int s = 0; s < 2; s++) {
        size_t                 n;
        const gr_config_def_t *t = gr_config_defs((gr_config_scope_t)s, &n);
        assert_true(n > (s ? 30u : 140u));
        for (size_t i = 0; i < n; i++) {
            const gr_config_def_t *d = &t[i];
            assert_non_null(d->name);
            assert_non_null(d->doc);
            assert_true(d->type >= GR_CONFIG_BOOLEAN && d->type <= GR_CONFIG_PASSWORD);
            /* Names are unique within a scope. */
            assert_ptr_equal(gr_config_def_find((gr_config_scope_t)s, d->name), d);
            /* Kafka's default is recorded exactly when Gregor's differs. */
            assert_int_equal(!!(d->flags & GR_CONFIG_F_GREGOR_DEFAULT), d->kafka_def != NULL);
            /* Every default is valid and already canonical. */
            if (d->def) {
                char *canon = NULL;
                if (gr_config_canon(d, d->def, &canon, err, sizeof err) != 0)
                    fail_msg("default of %s: %s", d->name, err);
                assert_string_equal(canon, d->def);
                free(canon);
            }
            if (s == GR_CONFIG_SCOPE_TOPIC) {
                assert_true(d->field != 0);
                if (d->synonym)
                    assert_non_null(gr_config_def_find(GR_CONFIG_SCOPE_BROKER, d->synonym));
                /* Kafka: topic configs are never read-only. */
            } else {
                if (d->synonym)
                    assert_non_null(gr_config_def_find(GR_CONFIG_SCOPE_TOPIC, d->synonym));
                for (const char *const *c = d->chain; c && *c; c++)
                    assert_non_null(gr_config_def_find(GR_CONFIG_SCOPE_BROKER, *c));
            }
        }
    }
}

static void test_type_and_source_codes(void **state)
{
    (void)state;
    /* Kafka's DescribeConfigs codes. */
    assert_int_equal(GR_CONFIG_BOOLEAN, 1);
    assert_int_equal(GR_CONFIG_PASSWORD, 9);
    assert_int_equal(GR_CONFIG_SOURCE_DYNAMIC_TOPIC, 1);
    assert_int_equal(GR_CONFIG_SOURCE_DYNAMIC_BROKER, 2);
    assert_int_equal(GR_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER, 3);
    assert_int_equal(GR_CONFIG_SOURCE_STATIC_BROKER, 4);
    assert_int_equal(GR_CONFIG_SOURCE_DEFAULT, 5);
    assert_string_equal(gr_config_type_name(GR_CONFIG_LONG), "long");
    assert_string_equal(gr_config_source_name(GR_CONFIG_SOURCE_DEFAULT), "DEFAULT_CONFIG");
}

/* ---- defaults ---- */

static void test_defaults_match_kafka(void **state)
{
    gr_config_t *cfg = *state;
    static const struct {
        const char *key, *value;
    } kafka[] = {
        {"num.partitions", "1"},
        {"default.replication.factor", "1"},
        {"auto.create.topics.enable", "true"},
        {"delete.topic.enable", "true"},
        {"log.retention.hours", "168"},
        {"log.retention.bytes", "-1"},
        {"log.segment.bytes", "1073741824"},
        {"message.max.bytes", "1048588"},
        {"socket.request.max.bytes", "104857600"},
        {"socket.send.buffer.bytes", "102400"},
        {"offsets.topic.num.partitions", "50"},
        {"offsets.retention.minutes", "10080"},
        {"group.initial.rebalance.delay.ms", "3000"},
        {"group.min.session.timeout.ms", "6000"},
        {"group.max.session.timeout.ms", "1800000"},
        {"connections.max.idle.ms", "600000"},
        {"min.insync.replicas", "1"},
        {"log.flush.interval.messages", "9223372036854775807"},
        {"log.flush.scheduler.interval.ms", "9223372036854775807"},
        {"log.retention.check.interval.ms", "300000"},
        {"num.recovery.threads.per.data.dir", "2"},
        {"log.message.timestamp.after.max.ms", "3600000"},
        {"log.cleaner.io.max.bytes.per.second", "1.7976931348623157E308"},
        {"log.cleaner.min.cleanable.ratio", "0.5"},
        {"listener.security.protocol.map",
         "SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT"},
        {"compression.type", "producer"},
        {"transaction.max.timeout.ms", "900000"},
        {"transactional.id.expiration.ms", "604800000"},
        {"producer.id.expiration.ms", "86400000"},
        {"fetch.max.bytes", "57671680"},
        {"max.incremental.fetch.session.cache.slots", "1000"},
        {"replica.lag.time.max.ms", "30000"},
        {"group.coordinator.rebalance.protocols", "classic,consumer,streams"},
        {"controller.quorum.voters", ""},
    };
    for (size_t i = 0; i < sizeof kafka / sizeof kafka[0]; i++) {
        const char *v = gr_config_get_str(cfg, kafka[i].key);
        if (!v || strcmp(v, kafka[i].value) != 0)
            fail_msg("%s = %s, Kafka says %s", kafka[i].key, v ? v : "null", kafka[i].value);
        assert_int_equal(gr_config_get_source(cfg, kafka[i].key), GR_CONFIG_SOURCE_DEFAULT);
    }
    /* Keys without a default in Kafka have none here either. */
    assert_null(gr_config_get_str(cfg, "log.retention.ms"));
    assert_null(gr_config_get_str(cfg, "log.dirs"));
    assert_null(gr_config_get_str(cfg, "advertised.listeners"));

    /* Typed fields. */
    assert_int_equal(cfg->num_partitions, 1);
    assert_int_equal(cfg->log_segment_bytes, 1073741824);
    assert_true(cfg->auto_create_topics_enable);
    assert_int_equal(cfg->message_max_bytes, 1048588);
    assert_int_equal(cfg->socket_request_max_bytes, 104857600);
    assert_int_equal(cfg->connections_max_idle_ms, 600000);
    assert_int_equal(cfg->log_retention_ms, 604800000);
    assert_int_equal(cfg->log_roll_ms, 604800000);
    assert_int_equal(cfg->log_roll_jitter_ms, 0);
    assert_int_equal(cfg->log_flush_interval_messages, INT64_MAX);
    assert_int_equal(cfg->log_flush_interval_ms, INT64_MAX);
    assert_int_equal(cfg->offsets_topic_num_partitions, 50);
    assert_true(cfg->log_cleaner_min_cleanable_ratio == 0.5);
    assert_true(cfg->log_cleaner_io_max_bytes_per_second > 1e308);
    assert_true(cfg->log_cleaner_enable);
}

static void test_gregor_defaults(void **state)
{
    gr_config_t *cfg = *state;
    assert_string_equal(cfg->listeners, "PLAINTEXT://127.0.0.1:9092");
    assert_string_equal(cfg->log_dirs, "./gregor-data");
    assert_string_equal(cfg->process_roles, "broker,controller");
    assert_true(cfg->role_broker);
    assert_true(cfg->role_controller);
    assert_int_equal(cfg->node_id, 1);
    /* Kafka's defaults; the controller caps internal topics at the number of
     * registered brokers instead of refusing to create them. */
    assert_int_equal(cfg->offsets_topic_replication_factor, 3);
    assert_int_equal(cfg->transaction_state_log_replication_factor, 3);
    assert_int_equal(cfg->transaction_state_log_min_isr, 2);
    const gr_config_def_t *d = gr_config_def_find(GR_CONFIG_SCOPE_BROKER, "listeners");
    assert_true(d->flags & GR_CONFIG_F_GREGOR_DEFAULT);
    assert_string_equal(d->kafka_def, "PLAINTEXT://:9092");
    assert_int_equal(gr_config_check(cfg, err, sizeof err), 0);
}

/* ---- parsing ---- */

static void test_properties_syntax(void **state)
{
    gr_config_t *cfg = *state;
    load_ok(cfg, "# a comment\n"
                 "! another comment\n"
                 "\n"
                 "   \t\n"
                 "num.partitions=3\n"
                 "   default.replication.factor : 2\n"
                 "log.retention.hours 24\n"
                 "listeners = PLAINTEXT://127.0.0.1:19092,\\\n"
                 "            CONTROLLER://127.0.0.1:19093\n"
                 "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\r\n"
                 "broker.rack=r\\u00e4ck\\tone\r\n"
                 "log.dirs=/data/a\\\\b\n"
                 "auto.create.topics.enable=FALSE   \n"
                 "log.cleanup.policy = compact , delete\n"
                 "#num.partitions=99\\\n"
                 "message.max.bytes=2000000");
    assert_int_equal(cfg->num_partitions, 3);
    assert_int_equal(cfg->default_replication_factor, 2);
    assert_int_equal(cfg->log_retention_ms, 24LL * 3600 * 1000);
    assert_string_equal(cfg->listeners, "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093");
    assert_string_equal(cfg->broker_rack, "r\xc3\xa4" "ck\tone");
    assert_string_equal(cfg->log_dirs, "/data/a\\b");
    assert_false(cfg->auto_create_topics_enable);
    assert_string_equal(gr_config_get_str(cfg, "auto.create.topics.enable"), "false");
    assert_string_equal(cfg->log_cleanup_policy, "compact,delete");
    /* A comment line never continues: message.max.bytes was read. */
    assert_int_equal(cfg->message_max_bytes, 2000000);
    assert_int_equal(gr_config_get_source(cfg, "num.partitions"), GR_CONFIG_SOURCE_STATIC_BROKER);
    assert_int_equal(gr_config_check(cfg, err, sizeof err), 0);
}

static void test_properties_escapes_in_key(void **state)
{
    gr_config_t *cfg = *state;
    /* "num\.partitions" is the key num.partitions; '=' after whitespace is
     * the separator; a value may contain '=' and ':'. */
    load_ok(cfg, "num\\.partitions   =   4\n"
                 "advertised.listeners=PLAINTEXT://host:9092\n");
    assert_int_equal(cfg->num_partitions, 4);
    assert_string_equal(cfg->advertised_listeners, "PLAINTEXT://host:9092");
}

static void test_unknown_key_names_file_and_line(void **state)
{
    gr_config_t *cfg = *state;
    int rc = gr_config_load_string(cfg,
                                   "num.partitions=2\n"
                                   "\n"
                                   "# comment\n"
                                   "log.retention.hour=5\n",
                                   "server.properties", err, sizeof err);
    assert_int_equal(rc, GR_ENOTFOUND);
    assert_non_null(strstr(err, "server.properties:4:"));
    assert_non_null(strstr(err, "'log.retention.hour'"));
    assert_non_null(strstr(err, "did you mean 'log.retention.hours'"));
    /* Keys before the error were applied. */
    assert_int_equal(cfg->num_partitions, 2);
}

static void test_error_line_of_continued_line(void **state)
{
    gr_config_t *cfg = *state;
    int rc = gr_config_load_string(cfg,
                                   "num.partitions=2\n"
                                   "log.segment.bytes=\\\n"
                                   "   12\\\n"
                                   "   x\n",
                                   "f", err, sizeof err);
    assert_int_equal(rc, GR_EINVAL);
    assert_string_equal(err,
                        "f:2: Invalid value 12x for configuration log.segment.bytes: Not a number of "
                        "type INT");
}

static void test_load_file(void **state)
{
    gr_config_t *cfg = *state;
    char         path[] = "/tmp/gregor-test-config-XXXXXX";
    int          fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "node.id=7\nlog.dir=/var/lib/gregor\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(gr_config_load_file(cfg, path, err, sizeof err), 0);
    assert_int_equal(cfg->node_id, 7);
    /* log.dirs unset: log.dir is used. */
    assert_string_equal(cfg->log_dirs, "/var/lib/gregor");
    unlink(path);
    assert_true(gr_config_load_file(cfg, path, err, sizeof err) < 0);
    assert_non_null(strstr(err, path));
}

static void test_set_kv(void **state)
{
    gr_config_t *cfg = *state;
    assert_int_equal(gr_config_set_kv(cfg, " num.partitions = 6", err, sizeof err), 0);
    assert_int_equal(cfg->num_partitions, 6);
    assert_int_equal(gr_config_set_kv(cfg, "num.partitions", err, sizeof err), GR_EINVAL);
    assert_non_null(strstr(err, "KEY=VALUE"));
    assert_int_equal(gr_config_set_kv(cfg, "num.partitions=0", err, sizeof err), GR_EINVAL);
    assert_string_equal(err, "--set num.partitions: Invalid value 0 for configuration "
                             "num.partitions: Value must be at least 1");
    assert_int_equal(gr_config_set_kv(cfg, "nope=1", err, sizeof err), GR_ENOTFOUND);
}

/* ---- validation ---- */

static void expect_invalid(gr_config_t *cfg, const char *k, const char *v, const char *msg)
{
    int rc = gr_config_set(cfg, k, v, GR_CONFIG_SOURCE_STATIC_BROKER, err, sizeof err);
    if (rc != GR_EINVAL)
        fail_msg("%s=%s accepted (rc %d)", k, v, rc);
    if (!strstr(err, msg))
        fail_msg("%s=%s: message \"%s\" lacks \"%s\"", k, v, err, msg);
}

static void test_validation_errors(void **state)
{
    gr_config_t *cfg = *state;
    expect_invalid(cfg, "num.partitions", "0",
                   "Invalid value 0 for configuration num.partitions: Value must be at least 1");
    expect_invalid(cfg, "auto.create.topics.enable", "yes",
                   "Invalid value yes for configuration auto.create.topics.enable: Expected value "
                   "to be either true or false");
    expect_invalid(cfg, "log.segment.bytes", "1g", "Not a number of type INT");
    expect_invalid(cfg, "log.segment.bytes", "2147483648", "Not a number of type INT");
    expect_invalid(cfg, "log.segment.bytes", "1000", "Value must be at least 1048576");
    expect_invalid(cfg, "offsets.topic.replication.factor", "40000", "Not a number of type SHORT");
    expect_invalid(cfg, "log.retention.ms", "1.5", "Not a number of type LONG");
    expect_invalid(cfg, "log.cleaner.min.cleanable.ratio", "1.5", "Value must be no more than 1");
    expect_invalid(cfg, "log.cleaner.min.cleanable.ratio", "half", "Not a number of type DOUBLE");
    expect_invalid(cfg, "log.cleaner.io.buffer.load.factor", "nan", "Not a number of type DOUBLE");
    expect_invalid(cfg, "log.cleaner.io.buffer.load.factor", "0x1p-1", "Not a number of type DOUBLE");
    expect_invalid(cfg, "log.message.timestamp.type", "createtime",
                   "String must be one of: CreateTime, LogAppendTime");
    expect_invalid(cfg, "log.cleanup.policy", "compact,forever",
                   "String must be one of: compact, delete");
    expect_invalid(cfg, "compression.type", "brotli", "String must be one of:");
    expect_invalid(cfg, "compression.gzip.level", "10", "Value must be between 1 and 9, or -1");
    expect_invalid(cfg, "compression.zstd.level", "23", "Value must be no more than 22");
    expect_invalid(cfg, "process.roles", "broker,broker", "must not be duplicated");
    expect_invalid(cfg, "process.roles", "worker", "String must be one of: broker, controller");
    expect_invalid(cfg, "process.roles", "", "must not be empty");
    expect_invalid(cfg, "listeners", "127.0.0.1:9092", "Unable to parse 127.0.0.1:9092");
    expect_invalid(cfg, "listeners", "PLAINTEXT://:99999", "to a broker endpoint");
    expect_invalid(cfg, "listeners", "A://:1,A://:2", "listener name A appears twice");
    expect_invalid(cfg, "listener.security.protocol.map", "PLAINTEXT:TLS", "NAME:PROTOCOL");
    expect_invalid(cfg, "controller.quorum.voters", "1@localhost", "{id}@{host}:{port}");
    expect_invalid(cfg, "remote.log.storage.system.enable", "true", "no tiered storage");
    /* Nothing was changed by the failures. */
    assert_int_equal(cfg->num_partitions, 1);
    assert_string_equal(cfg->process_roles, "broker,controller");

    /* Accepted forms. */
    set_ok(cfg, "listeners", "PLAINTEXT://[::1]:9092,CONTROLLER://0.0.0.0:9093,", GR_CONFIG_SOURCE_STATIC_BROKER);
    set_ok(cfg, "controller.quorum.voters", "1@host-a:9093, 2@10.0.0.2:9093",
           GR_CONFIG_SOURCE_STATIC_BROKER);
    assert_string_equal(cfg->controller_quorum_voters, "1@host-a:9093,2@10.0.0.2:9093");
    set_ok(cfg, "compression.gzip.level", "-1", GR_CONFIG_SOURCE_STATIC_BROKER);
}

static void test_canonical_values(void **state)
{
    gr_config_t *cfg = *state;
    set_ok(cfg, "num.partitions", " +007 ", GR_CONFIG_SOURCE_STATIC_BROKER);
    assert_string_equal(gr_config_get_str(cfg, "num.partitions"), "7");
    set_ok(cfg, "log.preallocate", "True", GR_CONFIG_SOURCE_STATIC_BROKER);
    assert_string_equal(gr_config_get_str(cfg, "log.preallocate"), "true");
    set_ok(cfg, "log.cleaner.min.cleanable.ratio", "0.50", GR_CONFIG_SOURCE_STATIC_BROKER);
    assert_string_equal(gr_config_get_str(cfg, "log.cleaner.min.cleanable.ratio"), "0.5");
    set_ok(cfg, "log.cleaner.io.max.bytes.per.second", "10000000", GR_CONFIG_SOURCE_STATIC_BROKER);
    assert_string_equal(gr_config_get_str(cfg, "log.cleaner.io.max.bytes.per.second"), "1.0E7");
    set_ok(cfg, "log.cleanup.policy", "", GR_CONFIG_SOURCE_STATIC_BROKER);
    assert_string_equal(gr_config_get_str(cfg, "log.cleanup.policy"), "");
}

static void test_format_double(void **state)
{
    (void)state;
    static const struct {
        double      v;
        const char *s;
    } cases[] = {
        {0.5, "0.5"},       {1.0, "1.0"},         {100.0, "100.0"},  {0.9, "0.9"},
        {0.001, "0.001"},   {0.0001, "1.0E-4"},   {1e7, "1.0E7"},    {1234567.0, "1234567.0"},
        {-2.5, "-2.5"},     {0.0, "0.0"},         {0.1 + 0.2, "0.30000000000000004"},
        {1.7976931348623157e308, "1.7976931348623157E308"},
    };
    char buf[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gr_config_format_double(cases[i].v, buf, sizeof buf);
        assert_string_equal(buf, cases[i].s);
    }
}

/* ---- synonyms ---- */

static void test_retention_synonyms(void **state)
{
    gr_config_t      *cfg = *state;
    gr_topic_config_t tc;
    gr_config_entry_t e;

    set_ok(cfg, "log.retention.hours", "1", GR_CONFIG_SOURCE_STATIC_BROKER);
    assert_int_equal(cfg->log_retention_ms, 3600000);
    assert_int_equal(gr_topic_config_init(&tc, cfg), 0);
    assert_int_equal(tc.retention_ms, 3600000);

    /* Kafka 4.1.1: retention.ms=3600000 sensitive=false synonyms={} (the
     * synonym list starts at log.retention.ms, which is unset). */
    assert_int_equal(gr_topic_config_describe(&tc, cfg, "retention.ms", &e), 0);
    assert_string_equal(e.value, "3600000");
    assert_int_equal(e.source, GR_CONFIG_SOURCE_DEFAULT);
    assert_int_equal(e.n_synonyms, 0);
    assert_int_equal(e.type, GR_CONFIG_LONG);
    assert_false(e.read_only);

    /* The broker key itself: Kafka 4.1.1 log.retention.hours=1
     * synonyms={STATIC_BROKER_CONFIG:log.retention.hours=1, DEFAULT_CONFIG:log.retention.hours=168}. */
    assert_int_equal(gr_config_describe(cfg, "log.retention.hours", true, &e), 0);
    assert_string_equal(e.value, "1");
    assert_int_equal(e.source, GR_CONFIG_SOURCE_STATIC_BROKER);
    assert_true(e.read_only);
    assert_string_equal(synonyms_str(&e), "STATIC_BROKER_CONFIG:log.retention.hours=1, "
                                          "DEFAULT_CONFIG:log.retention.hours=168");
    assert_int_equal(gr_config_describe(cfg, "log.retention.ms", true, &e), 0);
    assert_null(e.value);
    assert_int_equal(e.n_synonyms, 0);
    assert_false(e.read_only);

    /* minutes beat hours, ms beats minutes. */
    set_ok(cfg, "log.retention.minutes", "30", GR_CONFIG_SOURCE_STATIC_BROKER);
    assert_int_equal(cfg->log_retention_ms, 1800000);
    set_ok(cfg, "log.retention.ms", "1234", GR_CONFIG_SOURCE_STATIC_BROKER);
    assert_int_equal(cfg->log_retention_ms, 1234);
    assert_int_equal(gr_topic_config_refresh(&tc, cfg), 0);
    assert_int_equal(tc.retention_ms, 1234);
    assert_int_equal(gr_topic_config_describe(&tc, cfg, "retention.ms", &e), 0);
    assert_string_equal(e.value, "1234");
    assert_int_equal(e.source, GR_CONFIG_SOURCE_STATIC_BROKER);
    assert_string_equal(synonyms_str(&e), "STATIC_BROKER_CONFIG:log.retention.ms=1234, "
                                          "STATIC_BROKER_CONFIG:log.retention.minutes=30, "
                                          "STATIC_BROKER_CONFIG:log.retention.hours=1, "
                                          "DEFAULT_CONFIG:log.retention.hours=168");

    /* Any negative retention means forever (-1). */
    set_ok(cfg, "log.retention.ms", "-5", GR_CONFIG_SOURCE_STATIC_BROKER);
    assert_int_equal(cfg->log_retention_ms, -1);
    assert_int_equal(gr_topic_config_refresh(&tc, cfg), 0);
    assert_int_equal(tc.retention_ms, -1);
    gr_topic_config_free(&tc);
}

/* The settings of the Kafka 4.1.1 run these expectations come from:
 * server.properties with log.retention.hours=1, log.roll.ms=3600000,
 * message.max.bytes=2000000, log.cleaner.min.cleanable.ratio=0.25; topic t1
 * created with segment.bytes=2000000 and cleanup.policy="compact, delete". */
static void test_describe_matches_kafka(void **state)
{
    gr_config_t      *cfg = *state;
    gr_topic_config_t tc;
    gr_config_entry_t e;
    load_ok(cfg, "log.retention.hours=1\nlog.roll.ms=3600000\nmessage.max.bytes=2000000\n"
                 "log.cleaner.min.cleanable.ratio=0.25\n");
    assert_int_equal(gr_topic_config_init(&tc, cfg), 0);
    assert_int_equal(gr_topic_config_set(&tc, cfg, "segment.bytes", "2000000", err, sizeof err), 0);
    assert_int_equal(
        gr_topic_config_set(&tc, cfg, "cleanup.policy", "compact, delete", err, sizeof err), 0);

    static const struct {
        const char *key, *value, *synonyms;
    } topic[] = {
        {"cleanup.policy", "compact,delete",
         "DYNAMIC_TOPIC_CONFIG:cleanup.policy=compact,delete, DEFAULT_CONFIG:log.cleanup.policy=delete"},
        {"compression.gzip.level", "-1", "DEFAULT_CONFIG:compression.gzip.level=-1"},
        {"delete.retention.ms", "86400000",
         "DEFAULT_CONFIG:log.cleaner.delete.retention.ms=86400000"},
        {"flush.ms", "9223372036854775807", ""},
        {"follower.replication.throttled.replicas", "", ""},
        {"local.retention.ms", "-2", "DEFAULT_CONFIG:log.local.retention.ms=-2"},
        {"max.message.bytes", "2000000",
         "STATIC_BROKER_CONFIG:message.max.bytes=2000000, DEFAULT_CONFIG:message.max.bytes=1048588"},
        {"message.timestamp.after.max.ms", "3600000",
         "DEFAULT_CONFIG:log.message.timestamp.after.max.ms=3600000"},
        {"min.cleanable.dirty.ratio", "0.25",
         "STATIC_BROKER_CONFIG:log.cleaner.min.cleanable.ratio=0.25, "
         "DEFAULT_CONFIG:log.cleaner.min.cleanable.ratio=0.5"},
        {"remote.storage.enable", "false", ""},
        {"retention.ms", "3600000", ""},
        {"segment.bytes", "2000000",
         "DYNAMIC_TOPIC_CONFIG:segment.bytes=2000000, DEFAULT_CONFIG:log.segment.bytes=1073741824"},
        {"segment.jitter.ms", "0", ""},
        {"segment.ms", "3600000",
         "STATIC_BROKER_CONFIG:log.roll.ms=3600000, DEFAULT_CONFIG:log.roll.hours=168"},
        {"unclean.leader.election.enable", "false",
         "DEFAULT_CONFIG:unclean.leader.election.enable=false"},
    };
    for (size_t i = 0; i < sizeof topic / sizeof topic[0]; i++) {
        assert_int_equal(gr_topic_config_describe(&tc, cfg, topic[i].key, &e), 0);
        assert_string_equal(e.value, topic[i].value);
        if (strcmp(synonyms_str(&e), topic[i].synonyms) != 0)
            fail_msg("%s synonyms {%s}, Kafka {%s}", topic[i].key, synonyms_str(&e),
                     topic[i].synonyms);
    }
    assert_int_equal(gr_topic_config_describe(&tc, cfg, "segment.bytes", &e), 0);
    assert_int_equal(e.source, GR_CONFIG_SOURCE_DYNAMIC_TOPIC);
    assert_int_equal(gr_topic_config_describe(&tc, cfg, "max.message.bytes", &e), 0);
    assert_int_equal(e.source, GR_CONFIG_SOURCE_STATIC_BROKER);
    assert_int_equal(e.type, GR_CONFIG_INT);

    static const struct {
        const char *key, *value, *synonyms;
    } broker[] = {
        {"log.roll.ms", "3600000",
         "STATIC_BROKER_CONFIG:log.roll.ms=3600000, DEFAULT_CONFIG:log.roll.hours=168"},
        {"log.roll.hours", "168", "DEFAULT_CONFIG:log.roll.hours=168"},
        {"log.flush.interval.ms", NULL, ""},
        {"message.max.bytes", "2000000",
         "STATIC_BROKER_CONFIG:message.max.bytes=2000000, DEFAULT_CONFIG:message.max.bytes=1048588"},
        {"num.recovery.threads.per.data.dir", "2", "DEFAULT_CONFIG:num.recovery.threads.per.data.dir=2"},
    };
    for (size_t i = 0; i < sizeof broker / sizeof broker[0]; i++) {
        assert_int_equal(gr_config_describe(cfg, broker[i].key, true, &e), 0);
        if (broker[i].value)
            assert_string_equal(e.value, broker[i].value);
        else
            assert_null(e.value);
        assert_string_equal(synonyms_str(&e), broker[i].synonyms);
    }
    gr_topic_config_free(&tc);
}

static void test_node_id_and_log_dirs_synonyms(void **state)
{
    gr_config_t      *cfg = *state;
    gr_config_entry_t e;
    /* Only broker.id set: node.id follows, as Kafka's populateSynonyms does. */
    load_ok(cfg, "broker.id=5\n");
    assert_int_equal(cfg->node_id, 5);
    assert_int_equal(gr_config_describe(cfg, "node.id", true, &e), 0);
    assert_string_equal(e.value, "5");
    assert_int_equal(e.source, GR_CONFIG_SOURCE_STATIC_BROKER);
    assert_int_equal(gr_config_check(cfg, err, sizeof err), 0);
    /* Both set and different: an error at startup. */
    load_ok(cfg, "node.id=6\n");
    assert_int_equal(gr_config_check(cfg, err, sizeof err), GR_EINVAL);
    assert_non_null(strstr(err, "must match"));

    /* log.dirs wins over log.dir. */
    load_ok(cfg, "log.dir=/a\n");
    assert_string_equal(cfg->log_dirs, "/a");
    load_ok(cfg, "log.dirs=/b,/c\n");
    assert_string_equal(cfg->log_dirs, "/b,/c");
    /* cluster.id is accepted but not listed. */
    load_ok(cfg, "cluster.id=MkU3OEVBNTcwNTJENDM2Qk\n");
    assert_string_equal(cfg->cluster_id, "MkU3OEVBNTcwNTJENDM2Qk");
    assert_int_equal(gr_config_describe(cfg, "cluster.id", true, &e), GR_ENOTFOUND);
}

/* ---- dynamic broker configs ---- */

static void test_dynamic_sources(void **state)
{
    gr_config_t      *cfg = *state;
    gr_config_entry_t e;
    load_ok(cfg, "message.max.bytes=2000000\n");

    /* Cluster default, then per broker: per broker wins. */
    set_ok(cfg, "message.max.bytes", "3000000", GR_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER);
    assert_int_equal(cfg->message_max_bytes, 3000000);
    set_ok(cfg, "message.max.bytes", "4000000", GR_CONFIG_SOURCE_DYNAMIC_BROKER);
    assert_int_equal(cfg->message_max_bytes, 4000000);
    assert_int_equal(gr_config_get_source(cfg, "message.max.bytes"), GR_CONFIG_SOURCE_DYNAMIC_BROKER);
    assert_int_equal(gr_config_describe(cfg, "message.max.bytes", true, &e), 0);
    assert_int_equal(e.source, GR_CONFIG_SOURCE_DYNAMIC_BROKER);
    assert_string_equal(synonyms_str(&e), "DYNAMIC_BROKER_CONFIG:message.max.bytes=4000000, "
                                          "DYNAMIC_DEFAULT_BROKER_CONFIG:message.max.bytes=3000000, "
                                          "STATIC_BROKER_CONFIG:message.max.bytes=2000000, "
                                          "DEFAULT_CONFIG:message.max.bytes=1048588");
    /* The cluster-default resource shows only the dynamic default. */
    assert_int_equal(gr_config_describe(cfg, "message.max.bytes", false, &e), 0);
    assert_string_equal(e.value, "3000000");
    assert_string_equal(synonyms_str(&e), "DYNAMIC_DEFAULT_BROKER_CONFIG:message.max.bytes=3000000");

    /* A topic without an override follows the broker. */
    gr_topic_config_t tc;
    assert_int_equal(gr_topic_config_init(&tc, cfg), 0);
    assert_int_equal(tc.max_message_bytes, 4000000);
    set_ok(cfg, "message.max.bytes", NULL, GR_CONFIG_SOURCE_DYNAMIC_BROKER);
    assert_int_equal(gr_topic_config_refresh(&tc, cfg), 0);
    assert_int_equal(tc.max_message_bytes, 3000000);
    gr_topic_config_free(&tc);

    /* Read-only keys cannot change dynamically; per-broker keys have no
     * cluster default. */
    assert_int_equal(gr_config_set(cfg, "num.partitions", "2", GR_CONFIG_SOURCE_DYNAMIC_BROKER, err,
                                   sizeof err),
                     GR_EINVAL);
    assert_string_equal(err, "Cannot update these configs dynamically: Set(num.partitions)");
    assert_int_equal(gr_config_set(cfg, "listeners", "PLAINTEXT://:1",
                                   GR_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER, err, sizeof err),
                     GR_EINVAL);
    assert_non_null(strstr(err, "broker id must be specified"));
    set_ok(cfg, "listeners", "PLAINTEXT://127.0.0.1:9999", GR_CONFIG_SOURCE_DYNAMIC_BROKER);
    assert_string_equal(cfg->listeners, "PLAINTEXT://127.0.0.1:9999");
    assert_int_equal(gr_config_set(cfg, "num.partitions", "2", GR_CONFIG_SOURCE_DEFAULT, err,
                                   sizeof err),
                     GR_EINVAL);
    assert_string_equal(gr_config_get_at(cfg, "message.max.bytes", GR_CONFIG_SOURCE_STATIC_BROKER),
                        "2000000");
    assert_null(gr_config_get_at(cfg, "message.max.bytes", GR_CONFIG_SOURCE_DYNAMIC_BROKER));
}

/* ---- topic configs ---- */

static void test_topic_overrides(void **state)
{
    gr_config_t      *cfg = *state;
    gr_topic_config_t tc;
    gr_config_entry_t e;
    assert_int_equal(gr_topic_config_init(&tc, cfg), 0);
    assert_int_equal(tc.segment_bytes, 1073741824);
    assert_true(tc.cleanup_delete);
    assert_false(tc.cleanup_compact);
    assert_false(tc.log_append_time);
    assert_string_equal(tc.compression_type, "producer");
    assert_true(tc.min_cleanable_dirty_ratio == 0.5);

    assert_int_equal(gr_topic_config_set(&tc, cfg, "retention.ms", "1000", err, sizeof err), 0);
    assert_int_equal(gr_topic_config_set(&tc, cfg, "cleanup.policy", "compact", err, sizeof err), 0);
    assert_int_equal(
        gr_topic_config_set(&tc, cfg, "message.timestamp.type", "LogAppendTime", err, sizeof err), 0);
    assert_int_equal(tc.retention_ms, 1000);
    assert_true(tc.cleanup_compact);
    assert_false(tc.cleanup_delete);
    assert_true(tc.log_append_time);
    assert_string_equal(gr_topic_config_override(&tc, "retention.ms"), "1000");
    assert_int_equal(gr_topic_config_describe(&tc, cfg, "retention.ms", &e), 0);
    assert_int_equal(e.source, GR_CONFIG_SOURCE_DYNAMIC_TOPIC);
    assert_string_equal(synonyms_str(&e), "DYNAMIC_TOPIC_CONFIG:retention.ms=1000");
    assert_string_equal(e.documentation,
                        gr_config_def_find(GR_CONFIG_SCOPE_TOPIC, "retention.ms")->doc);

    /* Removing the override falls back to the broker. */
    assert_int_equal(gr_topic_config_set(&tc, cfg, "retention.ms", NULL, err, sizeof err), 0);
    assert_int_equal(tc.retention_ms, 604800000);
    assert_null(gr_topic_config_override(&tc, "retention.ms"));
    assert_string_equal(gr_topic_config_get_str(&tc, "retention.ms"), "604800000");

    /* Validation for CreateTopics / AlterConfigs. */
    assert_int_equal(gr_topic_config_validate("retention.ms", "-1", err, sizeof err), 0);
    assert_int_equal(gr_topic_config_validate("retention.ms", "-2", err, sizeof err), GR_EINVAL);
    assert_string_equal(err, "Invalid value -2 for configuration retention.ms: Value must be at least -1");
    assert_int_equal(gr_topic_config_validate("retention.hours", "1", err, sizeof err), GR_ENOTFOUND);
    assert_string_equal(err, "Unknown topic config name: retention.hours");
    assert_int_equal(gr_topic_config_validate("segment.bytes", "100", err, sizeof err), GR_EINVAL);
    assert_int_equal(gr_topic_config_validate("remote.storage.enable", "true", err, sizeof err),
                     GR_EINVAL);
    assert_non_null(strstr(err, "Tiered Storage functionality is disabled"));
    assert_int_equal(gr_topic_config_validate("leader.replication.throttled.replicas", "0:1,1:2",
                                              err, sizeof err),
                     0);
    assert_int_equal(gr_topic_config_validate("leader.replication.throttled.replicas", "*", err,
                                              sizeof err),
                     0);
    assert_int_equal(gr_topic_config_validate("leader.replication.throttled.replicas", "0-1", err,
                                              sizeof err),
                     GR_EINVAL);
    assert_int_equal(gr_topic_config_validate("min.insync.replicas", NULL, err, sizeof err),
                     GR_EINVAL);
    /* A rejected set leaves the topic as it was. */
    assert_int_equal(gr_topic_config_set(&tc, cfg, "segment.bytes", "abc", err, sizeof err),
                     GR_EINVAL);
    assert_int_equal(tc.segment_bytes, 1073741824);

    /* Cross-key check. */
    assert_int_equal(gr_topic_config_check(&tc, err, sizeof err), 0);
    assert_int_equal(gr_topic_config_set(&tc, cfg, "min.compaction.lag.ms", "10", err, sizeof err), 0);
    assert_int_equal(gr_topic_config_set(&tc, cfg, "max.compaction.lag.ms", "5", err, sizeof err), 0);
    assert_int_equal(gr_topic_config_check(&tc, err, sizeof err), GR_EINVAL);
    assert_string_equal(err, "conflict topic config setting min.compaction.lag.ms (10) > "
                             "max.compaction.lag.ms (5)");
    gr_topic_config_free(&tc);
}

/* ---- checks across keys ---- */

static void test_cross_key_checks(void **state)
{
    gr_config_t *cfg = *state;
    set_ok(cfg, "listeners", "PLAINTEXT://:9092,INTERNAL://:9093", GR_CONFIG_SOURCE_STATIC_BROKER);
    assert_int_equal(gr_config_check(cfg, err, sizeof err), GR_EINVAL);
    assert_non_null(strstr(err, "No security protocol defined for listener INTERNAL"));
    set_ok(cfg, "listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,INTERNAL:SSL",
           GR_CONFIG_SOURCE_STATIC_BROKER);
    assert_int_equal(gr_config_check(cfg, err, sizeof err), 0);

    /* Controller listeners are PLAINTEXT by default while the map is unset. */
    set_ok(cfg, "listener.security.protocol.map", NULL, GR_CONFIG_SOURCE_STATIC_BROKER);
    set_ok(cfg, "listeners", "PLAINTEXT://:9092,CONTROLLER://:9093", GR_CONFIG_SOURCE_STATIC_BROKER);
    set_ok(cfg, "controller.listener.names", "CONTROLLER", GR_CONFIG_SOURCE_STATIC_BROKER);
    assert_int_equal(gr_config_check(cfg, err, sizeof err), 0);

    set_ok(cfg, "advertised.listeners", "PLAINTEXT://0.0.0.0:9092", GR_CONFIG_SOURCE_STATIC_BROKER);
    assert_int_equal(gr_config_check(cfg, err, sizeof err), GR_EINVAL);
    assert_non_null(strstr(err, "0.0.0.0"));
    set_ok(cfg, "advertised.listeners", "PLAINTEXT://broker1:9092", GR_CONFIG_SOURCE_STATIC_BROKER);

    set_ok(cfg, "inter.broker.listener.name", "REPLICATION", GR_CONFIG_SOURCE_STATIC_BROKER);
    assert_int_equal(gr_config_check(cfg, err, sizeof err), GR_EINVAL);
    set_ok(cfg, "inter.broker.listener.name", "PLAINTEXT", GR_CONFIG_SOURCE_STATIC_BROKER);
    assert_int_equal(gr_config_check(cfg, err, sizeof err), 0);
    set_ok(cfg, "security.inter.broker.protocol", "PLAINTEXT", GR_CONFIG_SOURCE_STATIC_BROKER);
    assert_int_equal(gr_config_check(cfg, err, sizeof err), GR_EINVAL);
    assert_non_null(strstr(err, "Only one of"));
    set_ok(cfg, "security.inter.broker.protocol", NULL, GR_CONFIG_SOURCE_STATIC_BROKER);

    set_ok(cfg, "group.consumer.session.timeout.ms", "1000", GR_CONFIG_SOURCE_STATIC_BROKER);
    assert_int_equal(gr_config_check(cfg, err, sizeof err), GR_EINVAL);
    assert_string_equal(err, "group.consumer.session.timeout.ms must be greater than or equal to "
                             "group.consumer.min.session.timeout.ms");
}

/* ---- docs ---- */

static void test_markdown(void **state)
{
    (void)state;
    char  *doc = NULL;
    size_t len = 0;
    FILE  *f = open_memstream(&doc, &len);
    assert_non_null(f);
    assert_int_equal(gr_config_write_markdown(f), 0);
    fclose(f);
    assert_non_null(strstr(doc, "# Configuration"));
    assert_non_null(strstr(doc, "gregor serve --config"));
    assert_non_null(strstr(doc, "--set KEY=VALUE"));
    assert_non_null(strstr(doc, "| `log.retention.hours` | int | `168` |  | read-only | "));
    assert_non_null(strstr(doc, "| `listeners` | string | `PLAINTEXT://127.0.0.1:9092` (Gregor; "
                                "Kafka: `PLAINTEXT://:9092`) |"));
    assert_non_null(strstr(doc, "| `retention.ms` | long | `604800000` | [-1,...] | "
                                "`log.retention.ms` |"));
    /* Dynamic keys that are topic defaults are marked: topics follow them at once. */
    assert_non_null(strstr(doc, "| `log.cleanup.policy` | list | `delete` | [compact, delete] | "
                                "cluster-wide † |"));
    assert_non_null(strstr(doc, "| `max.connections` | int | `2147483647` | [0,...] | cluster-wide |"));
    assert_non_null(strstr(doc, "Every topic key is dynamic"));
    assert_non_null(strstr(doc, "## Topic configuration"));
    assert_non_null(strstr(doc, "### Consumer groups"));
    /* Every key appears. */
    for (int s = 0; s < 2; s++) {
        size_t                 n;
        const gr_config_def_t *t = gr_config_defs((gr_config_scope_t)s, &n);
        for (size_t i = 0; i < n; i++) {
            char needle[128];
            snprintf(needle, sizeof needle, "| `%s` |", t[i].name);
            if (!strstr(doc, needle))
                fail_msg("%s missing from the docs", t[i].name);
        }
    }
    free(doc);
}

/* Writes docs/configuration.md when GREGOR_WRITE_CONFIG_DOC names a path
 * (the lead wires `gregor config-doc` to the same function). */
static void test_write_doc_file(void **state)
{
    (void)state;
    const char *path = getenv("GREGOR_WRITE_CONFIG_DOC");
    if (!path)
        skip();
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(gr_config_write_markdown(f), 0);
    assert_int_equal(fclose(f), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_cfg, teardown_cfg)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_consistent),
        cmocka_unit_test(test_type_and_source_codes),
        T(test_defaults_match_kafka),
        T(test_gregor_defaults),
        T(test_properties_syntax),
        T(test_properties_escapes_in_key),
        T(test_unknown_key_names_file_and_line),
        T(test_error_line_of_continued_line),
        T(test_load_file),
        T(test_set_kv),
        T(test_validation_errors),
        T(test_canonical_values),
        cmocka_unit_test(test_format_double),
        T(test_retention_synonyms),
        T(test_describe_matches_kafka),
        T(test_node_id_and_log_dirs_synonyms),
        T(test_dynamic_sources),
        T(test_topic_overrides),
        T(test_cross_key_checks),
        cmocka_unit_test(test_markdown),
        cmocka_unit_test(test_write_doc_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
