/* `gregor topic create|list|describe|delete|delete-records`, on
 * librdkafka's Admin API (CreateTopics, DeleteTopics, DescribeConfigs,
 * DeleteRecords), Metadata and watermark queries (ListOffsets); the size
 * on disk comes from DescribeLogDirs, sent through raw.c because
 * librdkafka has no call for it. */
#include "cli/cli_int.h"
#include "kafka_msgs.h"

#include <stdlib.h>
#include <string.h>

const char gr_cli_topic_usage[] =
    "usage: gregor topic create NAME [--partitions N] [--replication-factor N]\n"
    "                               [--config KEY=VALUE]... [--if-not-exists]\n"
    "       gregor topic list [--internal]\n"
    "       gregor topic describe NAME\n"
    "       gregor topic delete NAME [--if-exists]\n"
    "       gregor topic delete-records NAME --before OFFSET [--partition P]\n"
    "  create    --partitions and --replication-factor default to the broker's defaults\n"
    "  list      topic names, one per line; --internal includes internal topics (__*)\n"
    "  describe  partitions with leader, replicas and ISR, start and end offsets and size on\n"
    "            disk, and the topic's own configs\n"
    "  delete-records  removes the records below OFFSET (\"end\": all of them) of every\n"
    "            partition, or of partition P: the log start offset moves there\n";

#define MAX_CONFIGS 128

enum {
    OPT_PARTITIONS = 1,
    OPT_RF,
    OPT_CONFIG,
    OPT_IF_NOT_EXISTS,
    OPT_IF_EXISTS,
    OPT_INTERNAL,
    OPT_BEFORE,
    OPT_PARTITION,
};

/* An admin client; auto creation is off so that describing a topic that
 * does not exist never creates it. */
static int admin_new(gr_cli_t *cli, const char *what, rd_kafka_t **rkp)
{
    rd_kafka_conf_t *conf = gr_cli_conf_new(cli);
    if (gr_cli_conf_set(conf, what, "allow.auto.create.topics", "false") != 0) {
        rd_kafka_conf_destroy(conf);
        return GR_CLI_EUSAGE;
    }
    return gr_cli_client_new(cli, RD_KAFKA_PRODUCER, conf, what, rkp);
}

/* ---- create ---- */

typedef struct create_args_s {
    int         partitions;
    int         rf;
    const char *configs[MAX_CONFIGS];
    int         nconfigs;
    int         if_not_exists;
} create_args_t;

static int create_opt(void *ctx, int id, const char *val)
{
    create_args_t *c = ctx;
    switch (id) {
    case OPT_PARTITIONS:
        return gr_cli_opt_int(gr_cli_topic_usage, "--partitions", val, 1, 1000000, &c->partitions);
    case OPT_RF:
        return gr_cli_opt_int(gr_cli_topic_usage, "--replication-factor", val, 1, 32767, &c->rf);
    case OPT_CONFIG:
        if (!strchr(val, '=') || val[0] == '=')
            return gr_cli_usage_error(gr_cli_topic_usage, "--config needs KEY=VALUE, got '%s'", val);
        if (c->nconfigs == MAX_CONFIGS)
            return gr_cli_usage_error(gr_cli_topic_usage, "too many --config options");
        c->configs[c->nconfigs++] = val;
        return 0;
    case OPT_IF_NOT_EXISTS:
        c->if_not_exists = 1;
        return 0;
    }
    return 0;
}

static int topic_create(gr_cli_t *cli, gr_cli_args_t *a)
{
    static const gr_cli_opt_t opts[] = {
        {"partitions", 'p', 1, OPT_PARTITIONS},
        {"replication-factor", 'r', 1, OPT_RF},
        {"config", 'c', 1, OPT_CONFIG},
        {"if-not-exists", 0, 0, OPT_IF_NOT_EXISTS},
        {NULL, 0, 0, 0},
    };
    create_args_t c = {.partitions = -1, .rf = -1};
    const char   *name;
    int           rc = gr_cli_args_one(cli, a, opts, "a topic NAME", &name, create_opt, &c);
    if (rc)
        return rc < 0 ? gr_cli_help(gr_cli_topic_usage) : rc;

    char what[300];
    snprintf(what, sizeof(what), "topic create %s", name);
    char               errstr[512];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(name, c.partitions, c.rf, errstr, sizeof(errstr));
    if (!nt)
        return gr_cli_usage_error(gr_cli_topic_usage, "%s: %s", what, errstr);
    for (int i = 0; i < c.nconfigs; i++) {
        char   key[256];
        const char *eq = strchr(c.configs[i], '=');
        size_t n = (size_t)(eq - c.configs[i]);
        if (n >= sizeof(key))
            n = sizeof(key) - 1;
        memcpy(key, c.configs[i], n);
        key[n] = '\0';
        if (rd_kafka_NewTopic_set_config(nt, key, eq + 1) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            rd_kafka_NewTopic_destroy(nt);
            return gr_cli_usage_error(gr_cli_topic_usage, "%s: bad config '%s'", what, c.configs[i]);
        }
    }

    rd_kafka_t *rk;
    if ((rc = admin_new(cli, what, &rk)) != 0) {
        rd_kafka_NewTopic_destroy(nt);
        return rc;
    }
    rd_kafka_queue_t        *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *ao = gr_cli_admin_options(cli, rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_CreateTopics(rk, &nt, 1, ao, q);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_NewTopic_destroy(nt);

    rd_kafka_event_t *ev;
    rc = gr_cli_admin_wait(cli, rk, q, what, &ev);
    if (rc == 0) {
        size_t                          n;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        rd_kafka_resp_err_t err = n ? rd_kafka_topic_result_error(res[0]) : RD_KAFKA_RESP_ERR__FAIL;
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            printf("created topic %s\n", name);
        } else if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS && c.if_not_exists) {
            printf("topic %s already exists\n", name);
        } else {
            const char *es = n ? rd_kafka_topic_result_error_string(res[0]) : NULL;
            gr_cli_errorf(what, "%s", es && *es ? es : rd_kafka_err2str(err));
            rc = GR_CLI_EBROKER;
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return rc;
}

/* ---- delete ---- */

static int delete_opt(void *ctx, int id, const char *val)
{
    *(int *)ctx = 1; /* --if-exists, the only option */
    return 0;
}

static int topic_delete(gr_cli_t *cli, gr_cli_args_t *a)
{
    static const gr_cli_opt_t opts[] = {
        {"if-exists", 0, 0, OPT_IF_EXISTS},
        {NULL, 0, 0, 0},
    };
    int         if_exists = 0;
    const char *name;
    int         rc = gr_cli_args_one(cli, a, opts, "a topic NAME", &name, delete_opt, &if_exists);
    if (rc)
        return rc < 0 ? gr_cli_help(gr_cli_topic_usage) : rc;

    char what[300];
    snprintf(what, sizeof(what), "topic delete %s", name);
    rd_kafka_t *rk;
    if ((rc = admin_new(cli, what, &rk)) != 0)
        return rc;
    rd_kafka_queue_t        *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *ao = gr_cli_admin_options(cli, rk, RD_KAFKA_ADMIN_OP_DELETETOPICS);
    rd_kafka_DeleteTopic_t  *dt = rd_kafka_DeleteTopic_new(name);
    rd_kafka_DeleteTopics(rk, &dt, 1, ao, q);
    rd_kafka_DeleteTopic_destroy(dt);
    rd_kafka_AdminOptions_destroy(ao);

    rd_kafka_event_t *ev;
    rc = gr_cli_admin_wait(cli, rk, q, what, &ev);
    if (rc == 0) {
        size_t                          n;
        const rd_kafka_topic_result_t **res =
            rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
        rd_kafka_resp_err_t err = n ? rd_kafka_topic_result_error(res[0]) : RD_KAFKA_RESP_ERR__FAIL;
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            printf("deleted topic %s\n", name);
        } else if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
            if (if_exists) {
                printf("topic %s does not exist\n", name);
            } else {
                gr_cli_errorf(what, "topic '%s' does not exist", name);
                rc = GR_CLI_EBROKER;
            }
        } else {
            const char *es = n ? rd_kafka_topic_result_error_string(res[0]) : NULL;
            gr_cli_errorf(what, "%s", es && *es ? es : rd_kafka_err2str(err));
            rc = GR_CLI_EBROKER;
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return rc;
}

/* ---- list ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int topic_list(gr_cli_t *cli, gr_cli_args_t *a)
{
    static const gr_cli_opt_t opts[] = {
        {"internal", 0, 0, OPT_INTERNAL},
        {NULL, 0, 0, 0},
    };
    int         internal = 0, id;
    const char *val;
    while ((id = gr_cli_args_next(cli, a, opts, &val)) != GR_CLI_ARG_END) {
        if (id == GR_CLI_ARG_ERR)
            return GR_CLI_EUSAGE;
        if (id == GR_CLI_ARG_HELP)
            return gr_cli_help(gr_cli_topic_usage);
        if (id == GR_CLI_ARG_POS)
            return gr_cli_usage_error(gr_cli_topic_usage, "unexpected argument '%s'", val);
        internal = 1;
    }

    rd_kafka_t *rk;
    int         rc = admin_new(cli, "topic list", &rk);
    if (rc)
        return rc;
    const rd_kafka_metadata_t *md;
    rc = gr_cli_metadata(cli, rk, NULL, "topic list", &md);
    if (rc == 0) {
        const char **names = calloc((size_t)md->topic_cnt + 1, sizeof(*names));
        int          n = 0;
        for (int i = 0; names && i < md->topic_cnt; i++) {
            const char *t = md->topics[i].topic;
            if (md->topics[i].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
                continue;
            if (!internal && gr_cli_topic_is_internal(t))
                continue;
            names[n++] = t;
        }
        qsort(names, (size_t)n, sizeof(*names), cmp_str);
        for (int i = 0; i < n; i++)
            printf("%s\n", names[i]);
        free(names);
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_destroy(rk);
    return rc;
}

/* ---- describe ---- */

static int cmp_part(const void *a, const void *b)
{
    const rd_kafka_metadata_partition_t *pa = *(const rd_kafka_metadata_partition_t *const *)a;
    const rd_kafka_metadata_partition_t *pb = *(const rd_kafka_metadata_partition_t *const *)b;
    return (pa->id > pb->id) - (pa->id < pb->id);
}

static void print_ids(const char *label, const int32_t *ids, int n)
{
    printf("\t%s: ", label);
    for (int i = 0; i < n; i++)
        printf("%s%d", i ? "," : "", ids[i]);
}

/* Prints `Configs: k=v,...` with the configs set on the topic itself, like
 * kafka-topics.sh: values inherited from broker or cluster settings (Kafka 4
 * sets min.insync.replicas cluster-wide) would only be noise here. */
static int print_configs(gr_cli_t *cli, rd_kafka_t *rk, const char *name, const char *what, FILE *out)
{
    rd_kafka_queue_t         *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t  *ao = gr_cli_admin_options(cli, rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_ConfigResource_t *cr = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, name);
    rd_kafka_DescribeConfigs(rk, &cr, 1, ao, q);
    rd_kafka_ConfigResource_destroy(cr);
    rd_kafka_AdminOptions_destroy(ao);

    rd_kafka_event_t *ev;
    int               rc = gr_cli_admin_wait(cli, rk, q, what, &ev);
    if (rc == 0) {
        size_t                            nres;
        const rd_kafka_ConfigResource_t **res =
            rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &nres);
        if (nres && rd_kafka_ConfigResource_error(res[0])) {
            gr_cli_errorf(what, "cannot describe configs: %s", rd_kafka_ConfigResource_error_string(res[0]));
            rc = GR_CLI_EBROKER;
        } else {
            fputs("\tConfigs: ", out);
            size_t                         n = 0;
            const rd_kafka_ConfigEntry_t **ents = nres ? rd_kafka_ConfigResource_configs(res[0], &n) : NULL;
            int                            first = 1;
            for (size_t i = 0; i < n; i++) {
                if (rd_kafka_ConfigEntry_source(ents[i]) != RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG)
                    continue;
                const char *v = rd_kafka_ConfigEntry_value(ents[i]);
                fprintf(out, "%s%s=%s", first ? "" : ",", rd_kafka_ConfigEntry_name(ents[i]),
                       rd_kafka_ConfigEntry_is_sensitive(ents[i]) ? "(sensitive)" : v ? v : "null");
                first = 0;
            }
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
    return rc;
}

#if RD_KAFKA_VERSION >= 0x020400ff
/* Topic ids reach clients through DescribeTopics (librdkafka >= 2.4). */
static void print_topic_id(gr_cli_t *cli, rd_kafka_t *rk, const char *name, const char *what)
{
    rd_kafka_queue_t           *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t    *ao = gr_cli_admin_options(cli, rk, RD_KAFKA_ADMIN_OP_DESCRIBETOPICS);
    rd_kafka_TopicCollection_t *tc = rd_kafka_TopicCollection_of_topic_names(&name, 1);
    rd_kafka_DescribeTopics(rk, tc, ao, q);
    rd_kafka_TopicCollection_destroy(tc);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_event_t *ev;
    if (gr_cli_admin_wait(cli, rk, q, what, &ev) == 0) {
        size_t                              n;
        const rd_kafka_TopicDescription_t **td =
            rd_kafka_DescribeTopics_result_topics(rd_kafka_event_DescribeTopics_result(ev), &n);
        if (n && !rd_kafka_TopicDescription_error(td[0])) {
            const rd_kafka_Uuid_t *id = rd_kafka_TopicDescription_topic_id(td[0]);
            const char            *s = id ? rd_kafka_Uuid_base64str(id) : NULL;
            if (s)
                printf("\tTopicId: %s", s);
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
}
#endif

/* Size on disk of each partition, from DescribeLogDirs on its leader;
 * sizes[i] stays -1 where it cannot be known (a broker without the API,
 * one that cannot be reached). */
static void partition_sizes(gr_cli_t *cli, const rd_kafka_metadata_t *md, const char *name,
                            const rd_kafka_metadata_partition_t **parts, int n, int64_t *sizes)
{
    for (int i = 0; i < n; i++)
        sizes[i] = -1;
    int32_t *ids = calloc((size_t)n + 1, sizeof *ids);
    if (!ids)
        return;
    for (int b = 0; b < md->broker_cnt; b++) {
        int32_t leader = md->brokers[b].id;
        int k = 0;
        for (int i = 0; i < n; i++)
            if (parts[i]->leader == leader)
                ids[k++] = parts[i]->id;
        if (k == 0)
            continue;
        gr_cli_raw_t raw;
        if (gr_cli_raw_open(cli, md->brokers[b].host, md->brokers[b].port, &raw) == 0) {
            int16_t v = gr_cli_raw_version(&raw, GR_API_DescribeLogDirs, 4);
            gr_DescribeLogDirsRequest_DescribableLogDirTopic t = {gr_str(name), ids, k};
            gr_DescribeLogDirsRequest rq;
            gr_DescribeLogDirsRequest_init(&rq);
            rq.Topics = &t;
            rq.Topics_count = 1;
            gr_buf_t body;
            gr_buf_init(&body);
            gr_reader_t r;
            gr_DescribeLogDirsResponse rs;
            if (v >= 1) {
                gr_DescribeLogDirsRequest_encode(&body, v, &rq);
                if (gr_cli_raw_call(&raw, GR_API_DescribeLogDirs, v, &body, &r) == 0 &&
                    gr_DescribeLogDirsResponse_decode(&r, &raw.arena, v, &rs) == 0)
                    for (int32_t d = 0; d < rs.Results_count; d++)
                        for (int32_t ti = 0; ti < rs.Results[d].Topics_count; ti++) {
                            gr_DescribeLogDirsResponse_DescribeLogDirsTopic *rt = &rs.Results[d].Topics[ti];
                            if (!gr_str_eq(rt->Name, name))
                                continue;
                            for (int32_t pi = 0; pi < rt->Partitions_count; pi++)
                                for (int i = 0; i < n; i++)
                                    if (parts[i]->id == rt->Partitions[pi].PartitionIndex &&
                                        !rt->Partitions[pi].IsFutureKey)
                                        sizes[i] = rt->Partitions[pi].PartitionSize;
                        }
            }
            gr_buf_free(&body);
        }
        gr_cli_raw_close(&raw);
    }
    free(ids);
}

static int topic_describe(gr_cli_t *cli, gr_cli_args_t *a)
{
    static const gr_cli_opt_t opts[] = {{NULL, 0, 0, 0}};
    const char               *name;
    int                       rc = gr_cli_args_one(cli, a, opts, "a topic NAME", &name, NULL, NULL);
    if (rc)
        return rc < 0 ? gr_cli_help(gr_cli_topic_usage) : rc;

    char what[300];
    snprintf(what, sizeof(what), "topic describe %s", name);
    rd_kafka_t *rk;
    if ((rc = admin_new(cli, what, &rk)) != 0)
        return rc;
    const rd_kafka_metadata_t       *md;
    const rd_kafka_metadata_topic_t *mt;
    rc = gr_cli_topic_metadata(cli, rk, name, what, &md, &mt);
    if (rc) {
        rd_kafka_destroy(rk);
        return rc;
    }
    const rd_kafka_metadata_partition_t **parts = calloc((size_t)mt->partition_cnt + 1, sizeof(*parts));
    if (!parts) {
        rd_kafka_metadata_destroy(md);
        rd_kafka_destroy(rk);
        gr_cli_errorf(what, "out of memory");
        return GR_CLI_EBROKER;
    }
    for (int i = 0; i < mt->partition_cnt; i++)
        parts[i] = &mt->partitions[i];
    qsort(parts, (size_t)mt->partition_cnt, sizeof(*parts), cmp_part);

    /* Configs first: if the broker cannot describe them, the partitions
     * are still printed (and the exit code says something failed). */
    char  *configs = NULL;
    size_t configs_len = 0;
    FILE  *cf = open_memstream(&configs, &configs_len);
    if (cf) {
        rc = print_configs(cli, rk, name, what, cf);
        fclose(cf);
    }
    printf("Topic: %s", name);
#if RD_KAFKA_VERSION >= 0x020400ff
    print_topic_id(cli, rk, name, what);
#endif
    printf("\tPartitionCount: %d\tReplicationFactor: %d%s\n", mt->partition_cnt,
           mt->partition_cnt ? parts[0]->replica_cnt : 0, configs ? configs : "");
    free(configs);
    int64_t *sizes = calloc((size_t)mt->partition_cnt + 1, sizeof *sizes);
    if (sizes)
        partition_sizes(cli, md, name, parts, mt->partition_cnt, sizes);
    for (int i = 0; i < mt->partition_cnt; i++) {
        const rd_kafka_metadata_partition_t *p = parts[i];
        printf("\tTopic: %s\tPartition: %d\tLeader: ", name, p->id);
        if (p->leader >= 0)
            printf("%d", p->leader);
        else
            printf("none");
        print_ids("Replicas", p->replicas, p->replica_cnt);
        print_ids("Isr", p->isrs, p->isr_cnt);
        /* Log start offset and high watermark (ListOffsets earliest and latest). */
        int64_t lo = -1, hi = -1;
        if (!p->err && rd_kafka_query_watermark_offsets(rk, name, p->id, &lo, &hi,
                                                        cli->request_timeout_ms) ==
                           RD_KAFKA_RESP_ERR_NO_ERROR)
            printf("\tStartOffset: %lld\tEndOffset: %lld", (long long)lo, (long long)hi);
        if (sizes && sizes[i] >= 0)
            printf("\tSize: %lld", (long long)sizes[i]);
        if (p->err)
            printf("\tError: %s", rd_kafka_err2str(p->err));
        printf("\n");
    }
    free(sizes);
    free(parts);
    rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    return rc;
}

/* ---- delete-records ---- */

typedef struct dr_args_s {
    int64_t before; /* -1: the high watermark ("end") */
    int     have_before;
    int     partition; /* -1: all */
} dr_args_t;

static int dr_opt(void *ctx, int id, const char *val)
{
    dr_args_t *d = ctx;
    if (id == OPT_BEFORE) {
        d->have_before = 1;
        if (strcmp(val, "end") == 0) {
            d->before = -1;
            return 0;
        }
        return gr_cli_opt_i64(gr_cli_topic_usage, "--before", val, 0, INT64_MAX, &d->before);
    }
    return gr_cli_opt_int(gr_cli_topic_usage, "--partition", val, 0, 1000000, &d->partition);
}

static int topic_delete_records(gr_cli_t *cli, gr_cli_args_t *a)
{
    static const gr_cli_opt_t opts[] = {
        {"before", 0, 1, OPT_BEFORE},
        {"partition", 'p', 1, OPT_PARTITION},
        {NULL, 0, 0, 0},
    };
    dr_args_t d = {0, 0, -1};
    const char *name;
    int rc = gr_cli_args_one(cli, a, opts, "a topic NAME", &name, dr_opt, &d);
    if (rc)
        return rc < 0 ? gr_cli_help(gr_cli_topic_usage) : rc;
    if (!d.have_before)
        return gr_cli_usage_error(gr_cli_topic_usage, "--before OFFSET is required");

    char what[300];
    snprintf(what, sizeof(what), "topic delete-records %s", name);
    rd_kafka_t *rk;
    if ((rc = admin_new(cli, what, &rk)) != 0)
        return rc;
    const rd_kafka_metadata_t       *md;
    const rd_kafka_metadata_topic_t *mt;
    if ((rc = gr_cli_topic_metadata(cli, rk, name, what, &md, &mt)) != 0) {
        rd_kafka_destroy(rk);
        return rc;
    }
    rd_kafka_topic_partition_list_t *tpl = rd_kafka_topic_partition_list_new(mt->partition_cnt);
    for (int i = 0; i < mt->partition_cnt; i++)
        if (d.partition < 0 || mt->partitions[i].id == d.partition)
            rd_kafka_topic_partition_list_add(tpl, name, mt->partitions[i].id)->offset =
                d.before < 0 ? RD_KAFKA_OFFSET_END : d.before;
    rd_kafka_metadata_destroy(md);
    if (tpl->cnt == 0) {
        rd_kafka_topic_partition_list_destroy(tpl);
        rd_kafka_destroy(rk);
        gr_cli_errorf(what, "topic '%s' has no partition %d", name, d.partition);
        return GR_CLI_EBROKER;
    }
    rd_kafka_DeleteRecords_t *dr = rd_kafka_DeleteRecords_new(tpl);
    rd_kafka_topic_partition_list_destroy(tpl);
    rd_kafka_queue_t        *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *ao = gr_cli_admin_options(cli, rk, RD_KAFKA_ADMIN_OP_DELETERECORDS);
    char errstr[256];
    rd_kafka_AdminOptions_set_operation_timeout(ao, cli->request_timeout_ms, errstr, sizeof errstr);
    rd_kafka_DeleteRecords(rk, &dr, 1, ao, q);
    rd_kafka_DeleteRecords_destroy(dr);
    rd_kafka_AdminOptions_destroy(ao);

    rd_kafka_event_t *ev;
    rc = gr_cli_admin_wait(cli, rk, q, what, &ev);
    if (rc == 0) {
        const rd_kafka_topic_partition_list_t *res =
            rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(ev));
        for (int i = 0; res && i < res->cnt; i++) {
            const rd_kafka_topic_partition_t *p = &res->elems[i];
            if (p->err) {
                gr_cli_errorf(what, "partition %d: %s", p->partition, rd_kafka_err2str(p->err));
                rc = GR_CLI_EBROKER;
            } else {
                printf("Topic: %s\tPartition: %d\tLowWatermark: %lld\n", p->topic, p->partition,
                       (long long)p->offset);
            }
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return rc;
}

int gr_cli_topic(gr_cli_t *cli, int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(gr_cli_t *, gr_cli_args_t *);
    } actions[] = {
        {"create", topic_create},
        {"list", topic_list},
        {"describe", topic_describe},
        {"delete", topic_delete},
        {"delete-records", topic_delete_records},
    };
    gr_cli_args_t a;
    gr_cli_args_init(&a, argc, argv, 1, gr_cli_topic_usage);
    /* Global options may come before the action word. */
    while (a.i < argc && argv[a.i][0] == '-') {
        if (strcmp(argv[a.i], "--help") == 0 || strcmp(argv[a.i], "-h") == 0)
            return gr_cli_help(gr_cli_topic_usage);
        int g = gr_cli_global_opt(cli, argc, argv, &a.i, gr_cli_topic_usage);
        if (g == GR_CLI_ARG_ERR)
            return GR_CLI_EUSAGE;
        if (g == 0)
            return gr_cli_usage_error(gr_cli_topic_usage, "unknown option '%s'", argv[a.i]);
    }
    if (a.i >= argc)
        return gr_cli_usage_error(gr_cli_topic_usage, "topic needs an action: create, list, describe, delete or delete-records");
    const char *act = argv[a.i++];
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
        if (strcmp(act, actions[i].name) == 0)
            return actions[i].run(cli, &a);
    return gr_cli_usage_error(gr_cli_topic_usage, "unknown topic action '%s'", act);
}
