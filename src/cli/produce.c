/* `gregor produce`: one record per line of stdin or a file. Keyed records
 * are partitioned like Kafka's Java client (murmur2(key) % partitions);
 * records without a key are spread by librdkafka's sticky partitioner.
 * Waits for every delivery report before it exits. */
#include "cli/cli_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char gr_cli_produce_usage[] =
    "usage: gregor produce TOPIC [--key K | --key-separator SEP] [--header K=V]...\n"
    "                      [--partition N] [--acks 0|1|all] [--compression none|gzip|snappy|lz4|zstd]\n"
    "                      [--file F] [--idempotent]\n"
    "  Reads one record per line from stdin (or F). --key gives every record key K;\n"
    "  --key-separator splits each line at the first SEP into key and value.\n"
    "  Keyed records go to partition murmur2(key) % partitions, as with Kafka's Java client.\n"
    "  Prints `produced N records` on stderr; exits 2 if any record failed.\n";

#define MAX_HEADERS 64

enum {
    OPT_KEY = 1,
    OPT_KEY_SEP,
    OPT_HEADER,
    OPT_PARTITION,
    OPT_ACKS,
    OPT_COMPRESSION,
    OPT_FILE,
    OPT_IDEMPOTENT,
};

typedef struct produce_state_s {
    long                delivered;
    long                failed;
    rd_kafka_resp_err_t first_err;
} produce_state_t;

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    produce_state_t *st = m->_private;
    if (!st)
        return;
    if (m->err) {
        if (!st->failed)
            st->first_err = m->err;
        st->failed++;
    } else {
        st->delivered++;
    }
}

/* Produces one record, waiting while librdkafka's queue is full. Takes hdrs. */
static rd_kafka_resp_err_t send_one(rd_kafka_t *rk, const char *topic, int32_t partition,
                                    const void *key, size_t klen, const void *val, size_t vlen,
                                    rd_kafka_headers_t *hdrs, produce_state_t *st)
{
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, klen),
            RD_KAFKA_V_VALUE((void *)val, vlen), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(st),
            RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            if (err && hdrs)
                rd_kafka_headers_destroy(hdrs);
            return err;
        }
        rd_kafka_poll(rk, 100);
    }
}

int gr_cli_produce(gr_cli_t *cli, int argc, char **argv)
{
    static const gr_cli_opt_t opts[] = {
        {"key", 'k', 1, OPT_KEY},
        {"key-separator", 0, 1, OPT_KEY_SEP},
        {"header", 'H', 1, OPT_HEADER},
        {"partition", 'p', 1, OPT_PARTITION},
        {"acks", 'a', 1, OPT_ACKS},
        {"compression", 'z', 1, OPT_COMPRESSION},
        {"file", 'f', 1, OPT_FILE},
        {"idempotent", 0, 0, OPT_IDEMPOTENT},
        {NULL, 0, 0, 0},
    };
    const char *usage = gr_cli_produce_usage;
    const char *topic = NULL, *key = NULL, *sep = NULL, *file = NULL;
    const char *acks = NULL, *codec = NULL;
    const char *headers[MAX_HEADERS];
    int         nheaders = 0, idempotent = 0, partition = RD_KAFKA_PARTITION_UA;
    int         id, rc;
    const char *val;

    gr_cli_args_t a;
    gr_cli_args_init(&a, argc, argv, 1, usage);
    while ((id = gr_cli_args_next(cli, &a, opts, &val)) != GR_CLI_ARG_END) {
        switch (id) {
        case GR_CLI_ARG_ERR: return GR_CLI_EUSAGE;
        case GR_CLI_ARG_HELP: return gr_cli_help(usage);
        case GR_CLI_ARG_POS:
            if (topic)
                return gr_cli_usage_error(usage, "unexpected argument '%s'", val);
            topic = val;
            break;
        case OPT_KEY: key = val; break;
        case OPT_KEY_SEP:
            if (!*val)
                return gr_cli_usage_error(usage, "--key-separator must not be empty");
            sep = val;
            break;
        case OPT_HEADER:
            if (!strchr(val, '=') || val[0] == '=')
                return gr_cli_usage_error(usage, "--header needs KEY=VALUE, got '%s'", val);
            if (nheaders == MAX_HEADERS)
                return gr_cli_usage_error(usage, "too many --header options (at most %d)", MAX_HEADERS);
            headers[nheaders++] = val;
            break;
        case OPT_PARTITION:
            if ((rc = gr_cli_opt_int(usage, "--partition", val, 0, INT32_MAX, &partition)))
                return rc;
            break;
        case OPT_ACKS:
            if ((rc = gr_cli_opt_acks(usage, val, &acks)))
                return rc;
            break;
        case OPT_COMPRESSION:
            if ((rc = gr_cli_opt_compression(usage, val, &codec)))
                return rc;
            break;
        case OPT_FILE: file = val; break;
        case OPT_IDEMPOTENT: idempotent = 1; break;
        }
    }
    if (!topic || !*topic)
        return gr_cli_usage_error(usage, "a TOPIC is required");
    if (key && sep)
        return gr_cli_usage_error(usage, "--key and --key-separator exclude each other");
    if (idempotent && acks && strcmp(acks, "-1") != 0)
        return gr_cli_usage_error(usage, "--idempotent needs --acks all");

    char what[300];
    snprintf(what, sizeof(what), "produce %s", topic);

    FILE *in = stdin;
    if (file && strcmp(file, "-") != 0) {
        in = fopen(file, "rb");
        if (!in) {
            gr_cli_errorf(what, "cannot open %s: %s", file, strerror(errno));
            return GR_CLI_EUSAGE;
        }
    }

    rd_kafka_conf_t *conf = gr_cli_conf_new(cli);
    rc = gr_cli_conf_set(conf, what, "partitioner", "murmur2_random");
    if (!rc && acks)
        rc = gr_cli_conf_set(conf, what, "acks", acks);
    if (!rc && codec)
        rc = gr_cli_conf_set(conf, what, "compression.codec", codec);
    if (!rc && idempotent)
        rc = gr_cli_conf_set(conf, what, "enable.idempotence", "true");
    if (rc) {
        rd_kafka_conf_destroy(conf);
        goto close_in;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
    rd_kafka_t *rk;
    if ((rc = gr_cli_client_new(cli, RD_KAFKA_PRODUCER, conf, what, &rk)))
        goto close_in;

    /* Fail early and clearly when the brokers are unreachable, the topic is
     * missing (and the broker does not create it on demand) or the partition
     * is out of range. */
    const rd_kafka_metadata_t       *md;
    const rd_kafka_metadata_topic_t *mt;
    if ((rc = gr_cli_topic_metadata_wait(cli, rk, topic, what, GR_CLI_AUTO_CREATE_WAIT_MS, &md, &mt)))
        goto destroy;
    if (partition != RD_KAFKA_PARTITION_UA && mt->partition_cnt > 0 && partition >= mt->partition_cnt) {
        gr_cli_errorf(what, "partition %d does not exist (the topic has %d)", partition, mt->partition_cnt);
        rd_kafka_metadata_destroy(md);
        rc = GR_CLI_EBROKER;
        goto destroy;
    }
    rd_kafka_metadata_destroy(md);

    rd_kafka_headers_t *tmpl = NULL;
    if (nheaders) {
        tmpl = rd_kafka_headers_new((size_t)nheaders);
        for (int i = 0; i < nheaders; i++) {
            const char *eq = strchr(headers[i], '=');
            rd_kafka_header_add(tmpl, headers[i], eq - headers[i], eq + 1, -1);
        }
    }

    produce_state_t     st = {0};
    char               *line = NULL;
    size_t              cap = 0;
    long                lineno = 0, sent = 0;
    rd_kafka_resp_err_t send_err = RD_KAFKA_RESP_ERR_NO_ERROR;
    int                 input_rc = 0;
    size_t              seplen = sep ? strlen(sep) : 0;
    for (;;) {
        errno = 0;
        ssize_t n = getline(&line, &cap, in);
        if (n < 0) {
            if (ferror(in) && errno != EINTR) {
                gr_cli_errorf(what, "cannot read %s: %s", file ? file : "stdin", strerror(errno));
                input_rc = GR_CLI_EUSAGE;
            }
            break;
        }
        lineno++;
        /* Like Java's readLine(): the line ends at \n, \r\n (or EOF). */
        if (n > 0 && line[n - 1] == '\n')
            n--;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        const char *k = key, *v = line;
        size_t      klen = key ? strlen(key) : 0, vlen = (size_t)n;
        if (sep) {
            const char *s = memmem(line, (size_t)n, sep, seplen);
            if (!s) {
                gr_cli_errorf(what, "line %ld has no key separator '%s'", lineno, sep);
                input_rc = GR_CLI_EUSAGE;
                break;
            }
            k = line;
            klen = (size_t)(s - line);
            v = s + seplen;
            vlen = (size_t)n - klen - seplen;
        }
        send_err = send_one(rk, topic, partition, k, klen, v, vlen,
                            tmpl ? rd_kafka_headers_copy(tmpl) : NULL, &st);
        if (send_err)
            break;
        sent++;
        rd_kafka_poll(rk, 0);
        if (gr_cli_stop)
            break;
    }
    free(line);
    if (tmpl)
        rd_kafka_headers_destroy(tmpl);

    /* Wait for every delivery report; a second Ctrl-C gives up on the rest. */
    while (rd_kafka_outq_len(rk) > 0) {
        rd_kafka_poll(rk, 100);
        if (gr_cli_stop >= 2 || (gr_cli_stop && !sent)) {
            rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
            rd_kafka_poll(rk, 100);
            break;
        }
    }
    rd_kafka_poll(rk, 0);
    long undelivered = sent - st.delivered - st.failed;

    fprintf(stderr, "produced %ld records\n", st.delivered);
    if (send_err) {
        gr_cli_errorf(what, "cannot produce record %ld: %s", lineno, rd_kafka_err2str(send_err));
        rc = GR_CLI_EBROKER;
    } else if (st.failed || undelivered > 0) {
        gr_cli_errorf(what, "%ld of %ld records failed: %s", st.failed + undelivered, sent,
                      st.failed ? rd_kafka_err2str(st.first_err) : "interrupted");
        rc = GR_CLI_EBROKER;
    } else {
        rc = input_rc;
    }
destroy:
    rd_kafka_destroy(rk);
close_in:
    if (in != stdin)
        fclose(in);
    return rc;
}
