/* `gregor cluster info`: cluster id, controller, brokers and topic count.
 * Uses DescribeCluster where librdkafka has it (>= 2.3); Debian 12's 2.0
 * does not, so the same facts come from Metadata there. */
#include "cli/cli_int.h"

#include <stdlib.h>
#include <string.h>

const char gr_cli_cluster_usage[] =
    "usage: gregor cluster info [--json]\n"
    "  Prints the cluster id, the controller id, the brokers (id host:port) and the\n"
    "  number of topics (internal ones counted apart).\n";

enum { OPT_JSON = 1 };

typedef struct broker_s {
    int32_t     id;
    const char *host;
    int         port;
} broker_t;

typedef struct cluster_info_s {
    char     *cluster_id; /* rd_kafka_mem_free()d or freed by the event */
    int32_t   controller;
    broker_t *brokers;
    int       nbrokers;
    int       topics;
    int       internal_topics;
} cluster_info_t;

static int cmp_broker(const void *a, const void *b)
{
    const broker_t *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

static void print_info(const cluster_info_t *ci, int json)
{
    if (json) {
        fputs("{\"cluster_id\":", stdout);
        if (ci->cluster_id)
            gr_cli_json_str(stdout, ci->cluster_id, strlen(ci->cluster_id));
        else
            fputs("null", stdout);
        printf(",\"controller_id\":%d,\"brokers\":[", ci->controller);
        for (int i = 0; i < ci->nbrokers; i++) {
            printf("%s{\"id\":%d,\"host\":", i ? "," : "", ci->brokers[i].id);
            gr_cli_json_str(stdout, ci->brokers[i].host, strlen(ci->brokers[i].host));
            printf(",\"port\":%d}", ci->brokers[i].port);
        }
        printf("],\"topics\":%d,\"internal_topics\":%d}\n", ci->topics, ci->internal_topics);
        return;
    }
    printf("Cluster ID: %s\n", ci->cluster_id ? ci->cluster_id : "(none)");
    if (ci->controller >= 0)
        printf("Controller: %d\n", ci->controller);
    else
        printf("Controller: (unknown)\n");
    printf("Brokers: %d\n", ci->nbrokers);
    for (int i = 0; i < ci->nbrokers; i++)
        printf("  %d %s:%d\n", ci->brokers[i].id, ci->brokers[i].host, ci->brokers[i].port);
    printf("Topics: %d (and %d internal)\n", ci->topics, ci->internal_topics);
}

#if RD_KAFKA_VERSION >= 0x020300ff
/* Fills cluster id, controller and brokers from DescribeCluster. The strings
 * point into *evp, which the caller destroys after printing. */
static int describe_cluster(gr_cli_t *cli, rd_kafka_t *rk, cluster_info_t *ci, rd_kafka_event_t **evp)
{
    rd_kafka_queue_t        *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *ao = gr_cli_admin_options(cli, rk, RD_KAFKA_ADMIN_OP_DESCRIBECLUSTER);
    rd_kafka_DescribeCluster(rk, ao, q);
    rd_kafka_AdminOptions_destroy(ao);
    int rc = gr_cli_admin_wait(cli, rk, q, "cluster info", evp);
    rd_kafka_queue_destroy(q);
    if (rc)
        return rc;
    const rd_kafka_DescribeCluster_result_t *res = rd_kafka_event_DescribeCluster_result(*evp);
    size_t                                   n;
    const rd_kafka_Node_t                  **nodes = rd_kafka_DescribeCluster_result_nodes(res, &n);
    const rd_kafka_Node_t                   *ctl = rd_kafka_DescribeCluster_result_controller(res);
    ci->cluster_id = (char *)rd_kafka_DescribeCluster_result_cluster_id(res);
    ci->controller = ctl ? rd_kafka_Node_id(ctl) : -1;
    ci->brokers = calloc(n + 1, sizeof(*ci->brokers));
    if (!ci->brokers)
        return GR_CLI_EBROKER;
    for (size_t i = 0; i < n; i++) {
        ci->brokers[i].id = rd_kafka_Node_id(nodes[i]);
        ci->brokers[i].host = rd_kafka_Node_host(nodes[i]);
        ci->brokers[i].port = rd_kafka_Node_port(nodes[i]);
    }
    ci->nbrokers = (int)n;
    return 0;
}
#endif

static int cluster_info(gr_cli_t *cli, int json)
{
    const char *what = "cluster info";
    rd_kafka_conf_t *conf = gr_cli_conf_new(cli);
    rd_kafka_t      *rk;
    int              rc = gr_cli_client_new(cli, RD_KAFKA_PRODUCER, conf, what, &rk);
    if (rc)
        return rc;
    const rd_kafka_metadata_t *md;
    if ((rc = gr_cli_metadata(cli, rk, NULL, what, &md))) {
        rd_kafka_destroy(rk);
        return rc;
    }
    cluster_info_t ci = {.controller = -1};
    for (int i = 0; i < md->topic_cnt; i++) {
        if (md->topics[i].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
            continue;
        if (gr_cli_topic_is_internal(md->topics[i].topic))
            ci.internal_topics++;
        else
            ci.topics++;
    }

    rd_kafka_event_t *ev = NULL;
    int               from_metadata = 1;
#if RD_KAFKA_VERSION >= 0x020300ff
    if ((rc = describe_cluster(cli, rk, &ci, &ev)) != 0)
        goto out;
    from_metadata = 0;
#endif
    if (from_metadata) {
        ci.cluster_id = rd_kafka_clusterid(rk, cli->request_timeout_ms);
        ci.controller = rd_kafka_controllerid(rk, cli->request_timeout_ms);
        ci.brokers = calloc((size_t)md->broker_cnt + 1, sizeof(*ci.brokers));
        if (!ci.brokers) {
            gr_cli_errorf(what, "out of memory");
            rc = GR_CLI_EBROKER;
            goto out;
        }
        for (int i = 0; i < md->broker_cnt; i++) {
            ci.brokers[i].id = md->brokers[i].id;
            ci.brokers[i].host = md->brokers[i].host;
            ci.brokers[i].port = md->brokers[i].port;
        }
        ci.nbrokers = md->broker_cnt;
    }
    qsort(ci.brokers, (size_t)ci.nbrokers, sizeof(*ci.brokers), cmp_broker);
    print_info(&ci, json);
out:
    if (from_metadata && ci.cluster_id)
        rd_kafka_mem_free(rk, ci.cluster_id);
    if (ev)
        rd_kafka_event_destroy(ev);
    free(ci.brokers);
    rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    return rc;
}

int gr_cli_cluster(gr_cli_t *cli, int argc, char **argv)
{
    static const gr_cli_opt_t opts[] = {
        {"json", 0, 0, OPT_JSON},
        {NULL, 0, 0, 0},
    };
    const char   *usage = gr_cli_cluster_usage;
    const char   *action = NULL, *val;
    int           json = 0, id;
    gr_cli_args_t a;
    gr_cli_args_init(&a, argc, argv, 1, usage);
    while ((id = gr_cli_args_next(cli, &a, opts, &val)) != GR_CLI_ARG_END) {
        if (id == GR_CLI_ARG_ERR)
            return GR_CLI_EUSAGE;
        if (id == GR_CLI_ARG_HELP)
            return gr_cli_help(usage);
        if (id == GR_CLI_ARG_POS) {
            if (action)
                return gr_cli_usage_error(usage, "unexpected argument '%s'", val);
            action = val;
            continue;
        }
        json = 1;
    }
    if (!action)
        return gr_cli_usage_error(usage, "cluster needs an action: info");
    if (strcmp(action, "info") != 0)
        return gr_cli_usage_error(usage, "unknown cluster action '%s'", action);
    return cluster_info(cli, json);
}
