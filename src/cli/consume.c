/* `gregor consume`: prints records as values, key<TAB>value lines or JSON
 * objects. Without --group it reads the partitions itself (no group
 * coordinator needed: librdkafka's group-less consumer); with --group it
 * subscribe()s as a group member. */
#include "cli/cli_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"

const char gr_cli_consume_usage[] =
    "usage: gregor consume TOPIC [--from-beginning] [--offset N|-N|earliest|latest]\n"
    "                      [--partition N] [--count N] [--format value|kv|json]\n"
    "                      [--timeout-ms MS] [--group G]\n"
    "  Starts at the end of each partition unless --from-beginning or --offset\n"
    "  (-N: N records before the end). Stops after --count records, or when\n"
    "  --timeout-ms pass without a record; otherwise runs until Ctrl-C.\n"
    "  --format kv prints key<TAB>value; json prints one object per line with topic,\n"
    "  partition, offset, timestamp, key, value and headers ([{\"key\":..,\"value\":..}]).\n"
    "  --group G consumes as a member of consumer group G: the offsets of printed\n"
    "  records are committed every second and on exit.\n";

enum {
    OPT_FROM_BEGINNING = 1,
    OPT_OFFSET,
    OPT_PARTITION,
    OPT_COUNT,
    OPT_FORMAT,
    OPT_TIMEOUT,
    OPT_GROUP,
};

enum { FMT_VALUE, FMT_KV, FMT_JSON };

typedef struct consume_args_s {
    const char *topic;
    const char *group;
    int64_t     start;     /* an RD_KAFKA_OFFSET_* or an absolute offset */
    int         start_set; /* --offset or --from-beginning given */
    int         start_numeric;
    int         partition; /* -1: all */
    int64_t     count;     /* 0: unlimited */
    int64_t     timeout_ms; /* 0: none */
    int         format;
} consume_args_t;

static void print_bytes_or_null(FILE *f, const void *p, size_t len)
{
    if (p)
        fwrite(p, 1, len, f);
    else
        fputs("null", f);
}

static void print_json_bytes_or_null(FILE *f, const void *p, size_t len)
{
    if (p)
        gr_cli_json_str(f, p, len);
    else
        fputs("null", f);
}

static void print_record(FILE *f, const rd_kafka_message_t *m, int format)
{
    if (format == FMT_VALUE) {
        print_bytes_or_null(f, m->payload, m->len);
    } else if (format == FMT_KV) {
        print_bytes_or_null(f, m->key, m->key_len);
        putc('\t', f);
        print_bytes_or_null(f, m->payload, m->len);
    } else {
        rd_kafka_timestamp_type_t tstype;
        int64_t                   ts = rd_kafka_message_timestamp(m, &tstype);
        fputs("{\"topic\":", f);
        gr_cli_json_str(f, rd_kafka_topic_name(m->rkt), strlen(rd_kafka_topic_name(m->rkt)));
        fprintf(f, ",\"partition\":%" PRId32 ",\"offset\":%" PRId64 ",\"timestamp\":%" PRId64,
                m->partition, m->offset, ts);
        fprintf(f, ",\"timestamp_type\":\"%s\"",
                tstype == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME ? "LogAppendTime"
                : tstype == RD_KAFKA_TIMESTAMP_CREATE_TIME  ? "CreateTime"
                                                            : "None");
        fputs(",\"key\":", f);
        print_json_bytes_or_null(f, m->key, m->key_len);
        fputs(",\"value\":", f);
        print_json_bytes_or_null(f, m->payload, m->len);
        fputs(",\"headers\":[", f);
        rd_kafka_headers_t *hdrs;
        if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            const char *name;
            const void *val;
            size_t      vlen;
            for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &vlen) == 0; i++) {
                fputs(i ? ",{\"key\":" : "{\"key\":", f);
                gr_cli_json_str(f, name, strlen(name));
                fputs(",\"value\":", f);
                print_json_bytes_or_null(f, val, vlen);
                putc('}', f);
            }
        }
        fputs("]}", f);
    }
    putc('\n', f);
}

static int is_fatal(rd_kafka_resp_err_t err)
{
    switch (err) {
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_INVALID_GROUP_ID:
    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
    case RD_KAFKA_RESP_ERR__FATAL:
        return 1;
    default:
        return 0;
    }
}

static int parse_args(gr_cli_t *cli, int argc, char **argv, consume_args_t *c)
{
    static const gr_cli_opt_t opts[] = {
        {"from-beginning", 0, 0, OPT_FROM_BEGINNING},
        {"offset", 'o', 1, OPT_OFFSET},
        {"partition", 'p', 1, OPT_PARTITION},
        {"count", 'c', 1, OPT_COUNT},
        {"format", 'f', 1, OPT_FORMAT},
        {"timeout-ms", 't', 1, OPT_TIMEOUT},
        {"group", 'g', 1, OPT_GROUP},
        {NULL, 0, 0, 0},
    };
    const char *usage = gr_cli_consume_usage;
    const char *val;
    int         id, rc;
    gr_cli_args_t a;

    memset(c, 0, sizeof(*c));
    c->start = RD_KAFKA_OFFSET_END;
    c->partition = -1;
    c->format = FMT_VALUE;
    gr_cli_args_init(&a, argc, argv, 1, usage);
    while ((id = gr_cli_args_next(cli, &a, opts, &val)) != GR_CLI_ARG_END) {
        switch (id) {
        case GR_CLI_ARG_ERR: return GR_CLI_EUSAGE;
        case GR_CLI_ARG_HELP: return -1;
        case GR_CLI_ARG_POS:
            if (c->topic)
                return gr_cli_usage_error(usage, "unexpected argument '%s'", val);
            c->topic = val;
            break;
        case OPT_FROM_BEGINNING:
            c->start = RD_KAFKA_OFFSET_BEGINNING;
            c->start_set = 1;
            c->start_numeric = 0;
            break;
        case OPT_OFFSET:
            c->start_set = 1;
            c->start_numeric = 0;
            if (strcmp(val, "earliest") == 0 || strcmp(val, "beginning") == 0) {
                c->start = RD_KAFKA_OFFSET_BEGINNING;
            } else if (strcmp(val, "latest") == 0 || strcmp(val, "end") == 0) {
                c->start = RD_KAFKA_OFFSET_END;
            } else {
                int64_t n;
                if (gr_cli_parse_i64(val, -INT32_MAX, INT64_MAX, &n) != 0)
                    return gr_cli_usage_error(usage, "--offset must be N, -N, earliest or latest, got '%s'", val);
                c->start = n >= 0 ? n : RD_KAFKA_OFFSET_TAIL(-n);
                c->start_numeric = 1;
            }
            break;
        case OPT_PARTITION:
            if ((rc = gr_cli_opt_int(usage, "--partition", val, 0, INT32_MAX, &c->partition)))
                return rc;
            break;
        case OPT_COUNT:
            if ((rc = gr_cli_opt_i64(usage, "--count", val, 1, INT64_MAX, &c->count)))
                return rc;
            break;
        case OPT_FORMAT:
            if (strcmp(val, "value") == 0)
                c->format = FMT_VALUE;
            else if (strcmp(val, "kv") == 0)
                c->format = FMT_KV;
            else if (strcmp(val, "json") == 0)
                c->format = FMT_JSON;
            else
                return gr_cli_usage_error(usage, "--format must be value, kv or json, got '%s'", val);
            break;
        case OPT_TIMEOUT:
            if ((rc = gr_cli_opt_i64(usage, "--timeout-ms", val, 1, INT32_MAX, &c->timeout_ms)))
                return rc;
            break;
        case OPT_GROUP:
            if (!*val)
                return gr_cli_usage_error(usage, "--group must not be empty");
            c->group = val;
            break;
        }
    }
    if (!c->topic || !*c->topic)
        return gr_cli_usage_error(usage, "a TOPIC is required");
    if (c->group && c->partition >= 0)
        return gr_cli_usage_error(usage, "--partition cannot be used with --group");
    if (c->group && c->start_numeric)
        return gr_cli_usage_error(usage, "--offset N cannot be used with --group (use earliest or latest)");
    return 0;
}

/* Group membership: records whether the group ever gave this member
 * partitions, so that a broker without consumer groups (librdkafka then
 * finds no coordinator and waits silently) is reported, not mistaken for
 * an empty topic. */
typedef struct group_state_s {
    int joined;
} group_state_t;

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque)
{
    group_state_t *gs = ((gr_cli_t *)opaque)->state;
    int            cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        gs->joined = 1;
        if (cooperative)
            rd_kafka_error_destroy(rd_kafka_incremental_assign(rk, parts));
        else
            rd_kafka_assign(rk, parts);
    } else if (cooperative) {
        rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, parts));
    } else {
        rd_kafka_assign(rk, NULL);
    }
}

static int subscribe_topic(gr_cli_t *cli, rd_kafka_t *rk, const consume_args_t *c, const char *what)
{
    const rd_kafka_metadata_t       *md;
    const rd_kafka_metadata_topic_t *mt;
    int                              rc = gr_cli_topic_metadata(cli, rk, c->topic, what, &md, &mt);
    if (rc)
        return rc;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, c->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err) {
        gr_cli_errorf(what, "cannot subscribe: %s", rd_kafka_err2str(err));
        return GR_CLI_EBROKER;
    }
    return 0;
}

int gr_cli_consume(gr_cli_t *cli, int argc, char **argv)
{
    consume_args_t c;
    int            rc = parse_args(cli, argc, argv, &c);
    if (rc)
        return rc < 0 ? gr_cli_help(gr_cli_consume_usage) : rc;

    char what[300];
    snprintf(what, sizeof(what), "consume %s", c.topic);

    rd_kafka_conf_t *conf = gr_cli_conf_new(cli);
    group_state_t gs = {0};
    if (c.group) {
        cli->state = &gs;
        rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
        rc = gr_cli_conf_set(conf, what, "group.id", c.group);
        if (!rc)
            rc = gr_cli_conf_set(conf, what, "auto.offset.reset",
                                 c.start == RD_KAFKA_OFFSET_BEGINNING ? "earliest" : "latest");
        /* Commit as we go: a record counts as consumed once printed
         * (offsets are stored when poll returns it), and the stored
         * offsets go to the group every second and once more on exit. */
        if (!rc)
            rc = gr_cli_conf_set(conf, what, "enable.auto.commit", "true");
        if (!rc)
            rc = gr_cli_conf_set(conf, what, "auto.commit.interval.ms", "1000");
    }
    if (rc) {
        rd_kafka_conf_destroy(conf);
        return rc;
    }
    rd_kafka_t *rk;
    if ((rc = gr_cli_client_new(cli, RD_KAFKA_CONSUMER, conf, what, &rk)))
        return rc;

    gr_cli_fetch_t f;
    memset(&f, 0, sizeof(f));
    if (c.group) {
        rc = subscribe_topic(cli, rk, &c, what);
        rd_kafka_poll_set_consumer(rk);
    } else {
        rc = gr_cli_fetch_start(cli, rk, c.topic, c.partition, c.start, what, &f);
    }
    if (rc) {
        rd_kafka_destroy(rk);
        return rc;
    }

    int64_t consumed = 0;
    int64_t started = gr_clock_mono_ms(), last = started;
    int     warned = 0;
    while (!gr_cli_stop && (c.count == 0 || consumed < c.count)) {
        if (gs.joined == 1) {
            /* The idle timeout counts from the moment the group assigned us
             * partitions, not from the start of the (slower) join. */
            last = gr_clock_mono_ms();
            gs.joined = 2;
        }
        if (c.group && !gs.joined && !warned && gr_clock_mono_ms() - started > cli->request_timeout_ms) {
            gr_cli_errorf(what, "warning: still not a member of group '%s' after %d ms", c.group,
                          cli->request_timeout_ms);
            warned = 1;
        }
        rd_kafka_message_t *m = c.group ? rd_kafka_consumer_poll(rk, 100) : gr_cli_fetch_poll(rk, &f, 100);
        if (cli->fatal) {
            gr_cli_errorf(what, "%s", cli->last_error);
            rc = GR_CLI_EBROKER;
            if (m)
                rd_kafka_message_destroy(m);
            break;
        }
        if (!m) {
            fflush(stdout);
            if (c.timeout_ms && gr_clock_mono_ms() - last >= c.timeout_ms)
                break;
            continue;
        }
        if (m->err) {
            rd_kafka_resp_err_t err = m->err;
            if (err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                gr_cli_errorf(what, "%s%s", is_fatal(err) ? "" : "warning: ", rd_kafka_message_errstr(m));
                if (is_fatal(err))
                    rc = GR_CLI_EBROKER;
            }
            rd_kafka_message_destroy(m);
            if (rc)
                break;
            continue;
        }
        print_record(stdout, m, c.format);
        rd_kafka_message_destroy(m);
        consumed++;
        last = gr_clock_mono_ms();
        if (ferror(stdout))
            break;
    }
    fflush(stdout);
    if (ferror(stdout) && errno != EPIPE && !rc) {
        gr_cli_errorf(what, "cannot write to stdout: %s", strerror(errno));
        rc = GR_CLI_EBROKER;
    }
    if (!rc && c.group && !gs.joined && !consumed) {
        gr_cli_errorf(what, "never joined group '%s' (does the broker support consumer groups?)", c.group);
        rc = GR_CLI_EBROKER;
    }
    fprintf(stderr, "consumed %" PRId64 " records\n", consumed);
    if (c.group) {
        /* A synchronous commit of what was printed, so that the next
         * member (or `group describe`) sees it as soon as we exit. */
        rd_kafka_resp_err_t err = gs.joined ? rd_kafka_commit(rk, NULL, 0) : RD_KAFKA_RESP_ERR_NO_ERROR;
        if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
            gr_cli_errorf(what, "warning: cannot commit offsets: %s", rd_kafka_err2str(err));
        rd_kafka_consumer_close(rk);
    }
    else
        gr_cli_fetch_stop(&f);
    rd_kafka_destroy(rk);
    return rc;
}
