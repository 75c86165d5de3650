/* `gregor bench produce|consume`: throughput and produce latency, in the
 * spirit of Kafka's producer/consumer perf tools. A progress line goes to
 * stderr once a second; the summary (a line, or one JSON object with
 * --json) goes to stdout. Produce latency is the time from produce() to the
 * record's delivery report. MB is 2^20 bytes, as in Kafka's tools. */
#include "cli/cli_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"

const char gr_cli_bench_usage[] =
    "usage: gregor bench produce --topic T [--records N] [--record-size B] [--acks 0|1|all]\n"
    "                            [--compression C] [--partitions-create N] [--rate R] [--json]\n"
    "       gregor bench consume --topic T [--records N] [--timeout-ms MS] [--json]\n"
    "  produce  sends N records (default 100000) of B bytes (default 100); --partitions-create\n"
    "           creates the topic with N partitions first if it does not exist; --rate caps\n"
    "           records/s. Reports records/s, MB/s and latency p50/p95/p99/max.\n"
    "  consume  reads from the beginning of every partition until N records, or (without\n"
    "           --records) until the end of every partition; gives up after --timeout-ms\n"
    "           (default 10000) without a record.\n";

enum {
    OPT_TOPIC = 1,
    OPT_RECORDS,
    OPT_RECORD_SIZE,
    OPT_ACKS,
    OPT_COMPRESSION,
    OPT_PARTITIONS_CREATE,
    OPT_RATE,
    OPT_JSON,
    OPT_TIMEOUT,
};

typedef struct bench_args_s {
    const char *topic;
    int64_t     records;
    int         records_set;
    int64_t     record_size;
    const char *acks;
    const char *compression;
    int         partitions_create;
    int64_t     rate;
    int         json;
    int64_t     timeout_ms;
} bench_args_t;

static int parse_args(gr_cli_t *cli, int argc, char **argv, int produce, bench_args_t *b)
{
    static const gr_cli_opt_t opts[] = {
        {"topic", 't', 1, OPT_TOPIC},
        {"records", 'n', 1, OPT_RECORDS},
        {"record-size", 's', 1, OPT_RECORD_SIZE},
        {"acks", 'a', 1, OPT_ACKS},
        {"compression", 'z', 1, OPT_COMPRESSION},
        {"partitions-create", 0, 1, OPT_PARTITIONS_CREATE},
        {"rate", 0, 1, OPT_RATE},
        {"json", 0, 0, OPT_JSON},
        {"timeout-ms", 0, 1, OPT_TIMEOUT},
        {NULL, 0, 0, 0},
    };
    const char   *usage = gr_cli_bench_usage;
    const char   *val;
    int           id, rc;
    gr_cli_args_t a;

    memset(b, 0, sizeof(*b));
    b->records = 100000;
    b->record_size = 100;
    b->acks = "-1";
    b->compression = "none";
    b->timeout_ms = 10000;
    gr_cli_args_init(&a, argc, argv, 2, usage);
    while ((id = gr_cli_args_next(cli, &a, opts, &val)) != GR_CLI_ARG_END) {
        if (!produce && (id == OPT_RECORD_SIZE || id == OPT_ACKS || id == OPT_COMPRESSION ||
                         id == OPT_PARTITIONS_CREATE || id == OPT_RATE))
            return gr_cli_usage_error(usage, "that option is for bench produce only");
        if (produce && id == OPT_TIMEOUT)
            return gr_cli_usage_error(usage, "bench produce takes no --timeout-ms");
        switch (id) {
        case GR_CLI_ARG_ERR: return GR_CLI_EUSAGE;
        case GR_CLI_ARG_HELP: return -1;
        case GR_CLI_ARG_POS:
            if (b->topic)
                return gr_cli_usage_error(usage, "unexpected argument '%s'", val);
            b->topic = val; /* `bench produce T` works too */
            break;
        case OPT_TOPIC: b->topic = val; break;
        case OPT_RECORDS:
            if ((rc = gr_cli_opt_i64(usage, "--records", val, 1, INT32_MAX, &b->records)))
                return rc;
            b->records_set = 1;
            break;
        case OPT_RECORD_SIZE:
            if ((rc = gr_cli_opt_i64(usage, "--record-size", val, 0, 64 << 20, &b->record_size)))
                return rc;
            break;
        case OPT_ACKS:
            if ((rc = gr_cli_opt_acks(usage, val, &b->acks)))
                return rc;
            break;
        case OPT_COMPRESSION:
            if ((rc = gr_cli_opt_compression(usage, val, &b->compression)))
                return rc;
            break;
        case OPT_PARTITIONS_CREATE:
            if ((rc = gr_cli_opt_int(usage, "--partitions-create", val, 1, 1000000, &b->partitions_create)))
                return rc;
            break;
        case OPT_RATE:
            if ((rc = gr_cli_opt_i64(usage, "--rate", val, 1, INT64_MAX, &b->rate)))
                return rc;
            break;
        case OPT_JSON: b->json = 1; break;
        case OPT_TIMEOUT:
            if ((rc = gr_cli_opt_i64(usage, "--timeout-ms", val, 1, INT32_MAX, &b->timeout_ms)))
                return rc;
            break;
        }
    }
    if (!b->topic || !*b->topic)
        return gr_cli_usage_error(usage, "--topic is required");
    return 0;
}

static double mb(int64_t bytes)
{
    return (double)bytes / (1024.0 * 1024.0);
}

/* ---- produce ---- */

typedef struct bench_produce_s {
    int64_t            *sent_us;  /* produce() time of record i */
    int32_t            *lat_us;   /* latency of the i-th delivery, in order of arrival */
    int64_t             acked;
    int64_t             failed;
    rd_kafka_resp_err_t first_err;
    int64_t             last_dr_us;
    /* The current progress window. */
    int64_t             win_acked;
    int64_t             win_lat_sum;
    int32_t             win_lat_max;
} bench_produce_t;

static void bench_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    bench_produce_t *bp = ((gr_cli_t *)opaque)->state;
    int64_t          now = gr_clock_mono_us();
    size_t           idx = (size_t)(uintptr_t)m->_private; /* the record's number */
    bp->last_dr_us = now;
    if (m->err) {
        if (!bp->failed)
            bp->first_err = m->err;
        bp->failed++;
        return;
    }
    int64_t lat = now - bp->sent_us[idx];
    if (lat > INT32_MAX)
        lat = INT32_MAX;
    bp->lat_us[bp->acked++] = (int32_t)lat;
    bp->win_acked++;
    bp->win_lat_sum += lat;
    if (lat > bp->win_lat_max)
        bp->win_lat_max = (int32_t)lat;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static double pct_ms(const int32_t *sorted, int64_t n, double p)
{
    if (n == 0)
        return 0.0;
    int64_t i = (int64_t)(p * (double)n);
    if (i >= n)
        i = n - 1;
    return sorted[i] / 1000.0;
}

static int create_topic_if_missing(gr_cli_t *cli, const char *topic, int partitions, const char *what)
{
    rd_kafka_conf_t *conf = gr_cli_conf_new(cli);
    rd_kafka_t      *rk;
    int              rc = gr_cli_client_new(cli, RD_KAFKA_PRODUCER, conf, what, &rk);
    if (rc)
        return rc;
    char                 errstr[256];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, -1, errstr, sizeof(errstr));
    if (!nt) {
        rd_kafka_destroy(rk);
        gr_cli_errorf(what, "cannot create topic: %s", errstr);
        return GR_CLI_EUSAGE;
    }
    rd_kafka_queue_t        *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *ao = gr_cli_admin_options(cli, rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_CreateTopics(rk, &nt, 1, ao, q);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_event_t *ev;
    if ((rc = gr_cli_admin_wait(cli, rk, q, what, &ev)) == 0) {
        size_t                          n;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        rd_kafka_resp_err_t err = n ? rd_kafka_topic_result_error(res[0]) : RD_KAFKA_RESP_ERR__FAIL;
        if (err && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            gr_cli_errorf(what, "cannot create topic: %s",
                          n && rd_kafka_topic_result_error_string(res[0]) ? rd_kafka_topic_result_error_string(res[0])
                                                                          : rd_kafka_err2str(err));
            rc = GR_CLI_EBROKER;
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return rc;
}

static int bench_produce(gr_cli_t *cli, const bench_args_t *b)
{
    char what[300];
    snprintf(what, sizeof(what), "bench produce %s", b->topic);
    int rc;
    if (b->partitions_create && (rc = create_topic_if_missing(cli, b->topic, b->partitions_create, what)))
        return rc;

    bench_produce_t bp;
    memset(&bp, 0, sizeof(bp));
    bp.sent_us = calloc((size_t)b->records, sizeof(*bp.sent_us));
    bp.lat_us = calloc((size_t)b->records, sizeof(*bp.lat_us));
    char *payload = malloc((size_t)b->record_size + 1);
    if (!bp.sent_us || !bp.lat_us || !payload) {
        gr_cli_errorf(what, "out of memory for %" PRId64 " records", b->records);
        rc = GR_CLI_EBROKER;
        goto free_mem;
    }
    /* Random capital letters, like Kafka's perf tool, so that compression
     * has realistic work to do. */
    uint64_t x = (uint64_t)time(NULL) | 1;
    for (int64_t i = 0; i < b->record_size; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        payload[i] = (char)('A' + x % 26);
    }

    rd_kafka_conf_t *conf = gr_cli_conf_new(cli);
    rc = gr_cli_conf_set(conf, what, "acks", b->acks);
    if (!rc)
        rc = gr_cli_conf_set(conf, what, "compression.codec", b->compression);
    if (!rc)
        rc = gr_cli_conf_set(conf, what, "partitioner", "murmur2_random");
    if (rc) {
        rd_kafka_conf_destroy(conf);
        goto free_mem;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, bench_dr_cb);
    cli->state = &bp;
    rd_kafka_t *rk;
    if ((rc = gr_cli_client_new(cli, RD_KAFKA_PRODUCER, conf, what, &rk)))
        goto free_mem;
    const rd_kafka_metadata_t       *md;
    const rd_kafka_metadata_topic_t *mt;
    if ((rc = gr_cli_topic_metadata_wait(cli, rk, b->topic, what, GR_CLI_AUTO_CREATE_WAIT_MS, &md, &mt)))
        goto destroy;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, b->topic, NULL);

    int64_t             start = gr_clock_mono_us();
    int64_t             next_progress = start + 1000000;
    int64_t             win_start = start;
    int64_t             sent = 0;
    rd_kafka_resp_err_t send_err = RD_KAFKA_RESP_ERR_NO_ERROR;
    while (sent < b->records && !gr_cli_stop) {
        int64_t now = gr_clock_mono_us();
        if (now >= next_progress) {
            double secs = (double)(now - win_start) / 1e6;
            fprintf(stderr,
                    "%" PRId64 " records sent, %" PRId64 " acked, %.1f records/s (%.2f MB/s), "
                    "%.1f ms avg latency, %.1f ms max latency\n",
                    sent, bp.acked, (double)bp.win_acked / secs,
                    mb(bp.win_acked * b->record_size) / secs,
                    bp.win_acked ? (double)bp.win_lat_sum / (double)bp.win_acked / 1000.0 : 0.0,
                    bp.win_lat_max / 1000.0);
            bp.win_acked = bp.win_lat_sum = 0;
            bp.win_lat_max = 0;
            win_start = now;
            next_progress = now + 1000000;
        }
        if (b->rate) {
            /* Pace against the ideal schedule so short stalls catch up. */
            int64_t due = start + (int64_t)((double)sent * 1e6 / (double)b->rate);
            if (due > now) {
                rd_kafka_poll(rk, (int)((due - now) / 1000));
                continue;
            }
        }
        bp.sent_us[sent] = now;
        if (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, 0, payload, (size_t)b->record_size, NULL, 0,
                             (void *)(uintptr_t)sent) == -1) {
            rd_kafka_resp_err_t err = rd_kafka_last_error();
            if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(rk, 1);
                continue;
            }
            send_err = err;
            break;
        }
        sent++;
        rd_kafka_poll(rk, 0);
    }
    while (rd_kafka_outq_len(rk) > 0 && gr_cli_stop < 2)
        rd_kafka_poll(rk, 50);
    if (gr_cli_stop >= 2) {
        rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(rk, 100);
    }
    rd_kafka_topic_destroy(rkt);

    int64_t end = bp.last_dr_us > start ? bp.last_dr_us : gr_clock_mono_us();
    double  secs = (double)(end - start) / 1e6;
    if (secs <= 0)
        secs = 1e-6;
    qsort(bp.lat_us, (size_t)bp.acked, sizeof(*bp.lat_us), cmp_i32);
    double lat_sum = 0;
    for (int64_t i = 0; i < bp.acked; i++)
        lat_sum += bp.lat_us[i];
    double avg = bp.acked ? lat_sum / (double)bp.acked / 1000.0 : 0.0;
    double rps = (double)bp.acked / secs;
    double mbps = mb(bp.acked * b->record_size) / secs;
    double p50 = pct_ms(bp.lat_us, bp.acked, 0.50), p95 = pct_ms(bp.lat_us, bp.acked, 0.95);
    double p99 = pct_ms(bp.lat_us, bp.acked, 0.99), p999 = pct_ms(bp.lat_us, bp.acked, 0.999);
    double max = bp.acked ? bp.lat_us[bp.acked - 1] / 1000.0 : 0.0;
    if (b->json) {
        fputs("{\"bench\":\"produce\",\"topic\":", stdout);
        gr_cli_json_str(stdout, b->topic, strlen(b->topic));
        printf(",\"records\":%" PRId64 ",\"failed\":%" PRId64 ",\"record_size\":%" PRId64
               ",\"acks\":\"%s\",\"compression\":\"%s\",\"elapsed_s\":%.3f"
               ",\"records_per_sec\":%.1f,\"mb_per_sec\":%.3f"
               ",\"latency_ms\":{\"avg\":%.3f,\"p50\":%.3f,\"p95\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f}}\n",
               bp.acked, bp.failed + (sent - bp.acked - bp.failed), b->record_size,
               strcmp(b->acks, "-1") == 0 ? "all" : b->acks, b->compression, secs, rps, mbps, avg,
               p50, p95, p99, p999, max);
    } else {
        printf("%" PRId64 " records sent, %.1f records/s (%.2f MB/s), %.2f ms avg latency, "
               "p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, max %.2f ms\n",
               bp.acked, rps, mbps, avg, p50, p95, p99, max);
    }
    fflush(stdout);
    if (send_err) {
        gr_cli_errorf(what, "cannot produce: %s", rd_kafka_err2str(send_err));
        rc = GR_CLI_EBROKER;
    } else if (bp.failed || bp.acked < sent) {
        gr_cli_errorf(what, "%" PRId64 " of %" PRId64 " records failed: %s", sent - bp.acked, sent,
                      bp.failed ? rd_kafka_err2str(bp.first_err) : "interrupted");
        rc = GR_CLI_EBROKER;
    } else if (sent < b->records) {
        gr_cli_errorf(what, "interrupted after %" PRId64 " of %" PRId64 " records", sent, b->records);
        rc = GR_CLI_EBROKER;
    }
destroy:
    rd_kafka_destroy(rk);
free_mem:
    free(payload);
    free(bp.sent_us);
    free(bp.lat_us);
    return rc;
}

/* ---- consume ---- */

static int bench_consume(gr_cli_t *cli, const bench_args_t *b)
{
    char what[300];
    snprintf(what, sizeof(what), "bench consume %s", b->topic);
    rd_kafka_conf_t *conf = gr_cli_conf_new(cli);
    int              rc = gr_cli_conf_set(conf, what, "enable.partition.eof", "true");
    if (rc) {
        rd_kafka_conf_destroy(conf);
        return rc;
    }
    rd_kafka_t *rk;
    if ((rc = gr_cli_client_new(cli, RD_KAFKA_CONSUMER, conf, what, &rk)))
        return rc;
    gr_cli_fetch_t f;
    if ((rc = gr_cli_fetch_start(cli, rk, b->topic, -1, RD_KAFKA_OFFSET_BEGINNING, what, &f))) {
        rd_kafka_destroy(rk);
        return rc;
    }
    int32_t max_id = 0;
    for (int i = 0; i < f.nparts; i++)
        if (f.parts[i] > max_id)
            max_id = f.parts[i];
    int   nparts = f.nparts;
    char *at_eof = calloc((size_t)max_id + 1, 1);
    if (!at_eof) {
        gr_cli_errorf(what, "out of memory");
        gr_cli_fetch_stop(&f);
        rd_kafka_destroy(rk);
        return GR_CLI_EBROKER;
    }

    int64_t start = gr_clock_mono_us(), first = 0, last = start;
    int64_t next_progress = start + 1000000, win_start = start, win_records = 0, win_bytes = 0;
    int64_t records = 0, bytes = 0;
    int     eofs = 0;
    while (!gr_cli_stop) {
        if (b->records_set ? records >= b->records : eofs >= nparts)
            break;
        rd_kafka_message_t *m = gr_cli_fetch_poll(rk, &f, 100);
        int64_t             now = gr_clock_mono_us();
        if (m && m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (m->partition >= 0 && m->partition <= max_id && !at_eof[m->partition]) {
                at_eof[m->partition] = 1;
                eofs++;
            }
        } else if (m && m->err) {
            gr_cli_errorf(what, "%s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            rc = GR_CLI_EBROKER;
            break;
        } else if (m) {
            if (!first)
                first = now;
            last = now;
            records++;
            bytes += (int64_t)(m->len + m->key_len);
            win_records++;
            win_bytes += (int64_t)(m->len + m->key_len);
        } else if ((now - last) / 1000 >= b->timeout_ms) {
            break;
        }
        if (m)
            rd_kafka_message_destroy(m);
        if (now >= next_progress) {
            double secs = (double)(now - win_start) / 1e6;
            fprintf(stderr, "%" PRId64 " records received, %.1f records/s (%.2f MB/s)\n", records,
                    (double)win_records / secs, mb(win_bytes) / secs);
            win_records = win_bytes = 0;
            win_start = now;
            next_progress = now + 1000000;
        }
    }
    double secs = first ? (double)(last - first) / 1e6 : 0.0;
    double rps = secs > 0 ? (double)records / secs : 0.0;
    double mbps = secs > 0 ? mb(bytes) / secs : 0.0;
    double startup_ms = first ? (double)(first - start) / 1000.0 : 0.0;
    if (b->json) {
        fputs("{\"bench\":\"consume\",\"topic\":", stdout);
        gr_cli_json_str(stdout, b->topic, strlen(b->topic));
        printf(",\"records\":%" PRId64 ",\"bytes\":%" PRId64 ",\"elapsed_s\":%.3f"
               ",\"records_per_sec\":%.1f,\"mb_per_sec\":%.3f,\"first_record_ms\":%.1f}\n",
               records, bytes, secs, rps, mbps, startup_ms);
    } else {
        printf("%" PRId64 " records received, %.1f records/s (%.2f MB/s), first record after %.1f ms\n",
               records, rps, mbps, startup_ms);
    }
    fflush(stdout);
    if (!rc && b->records_set && records < b->records) {
        gr_cli_errorf(what, "only %" PRId64 " of %" PRId64 " records arrived within %" PRId64 " ms",
                      records, b->records, b->timeout_ms);
        rc = GR_CLI_EBROKER;
    }
    free(at_eof);
    gr_cli_fetch_stop(&f);
    rd_kafka_destroy(rk);
    return rc;
}

int gr_cli_bench(gr_cli_t *cli, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        if (argc >= 2)
            return gr_cli_help(gr_cli_bench_usage);
        return gr_cli_usage_error(gr_cli_bench_usage, "bench needs an action: produce or consume");
    }
    int produce = strcmp(argv[1], "produce") == 0;
    if (!produce && strcmp(argv[1], "consume") != 0)
        return gr_cli_usage_error(gr_cli_bench_usage, "unknown bench action '%s'", argv[1]);
    bench_args_t b;
    int          rc = parse_args(cli, argc, argv, produce, &b);
    if (rc)
        return rc < 0 ? gr_cli_help(gr_cli_bench_usage) : rc;
    return produce ? bench_produce(cli, &b) : bench_consume(cli, &b);
}
