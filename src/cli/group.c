/* `gregor group list|describe|delete|reset-offsets`, in the spirit of
 * Kafka's kafka-consumer-groups.sh and Redpanda's `rpk group`, on
 * librdkafka's Admin API (ListConsumerGroups, DescribeConsumerGroups,
 * ListConsumerGroupOffsets, AlterConsumerGroupOffsets, DeleteGroups, all in
 * librdkafka >= 2.0) plus ListOffsets through query_watermark_offsets and
 * offsets_for_times for log ends and timestamps. */
#include "cli/cli_int.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

const char gr_cli_group_usage[] =
    "usage: gregor group list [--state S[,S...]]\n"
    "       gregor group describe GROUP\n"
    "       gregor group delete GROUP\n"
    "       gregor group reset-offsets GROUP --topic T [--partition P]\n"
    "                    (--to-earliest | --to-latest | --to-offset N | --to-datetime DT)\n"
    "                    [--dry-run]\n"
    "  list           groups with their state, type (consumer or simple) and assignor;\n"
    "                 --state keeps the groups in the given states (Stable, Empty,\n"
    "                 PreparingRebalance, CompletingRebalance, Dead)\n"
    "  describe       state, coordinator and members, then per partition the committed\n"
    "                 offset, log end offset, lag and the member that owns it\n"
    "  delete         deletes a group without active members, with its committed offsets\n"
    "  reset-offsets  sets the group's committed offsets on the topic's partitions (or\n"
    "                 one); refused while the group has active members. --to-offset is\n"
    "                 clamped to the partition's range; --to-datetime\n"
    "                 YYYY-MM-DDTHH:MM:SS[.SSS][Z|+HH:MM] (local time without a zone)\n"
    "                 picks the first offset at or after it, else the log end.\n"
    "                 Prints GROUP TOPIC PARTITION NEW-OFFSET; --dry-run commits nothing.\n";

enum {
    OPT_STATE = 1,
    OPT_TOPIC,
    OPT_PARTITION,
    OPT_TO_EARLIEST,
    OPT_TO_LATEST,
    OPT_TO_OFFSET,
    OPT_TO_DATETIME,
    OPT_DRY_RUN,
    OPT_EXECUTE,
};

/* ---- a table printed with aligned columns ---- */

#define TABLE_MAX_COLS 10

typedef struct table_s {
    int     ncols;
    char  **cells; /* row-major, ncols a row */
    size_t  n, cap;
    int     oom;
} table_t;

static void table_add(table_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void table_add(table_t *t, const char *fmt, ...)
{
    if (t->oom)
        return;
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        char **c = realloc(t->cells, cap * sizeof(*c));
        if (!c) {
            t->oom = 1;
            return;
        }
        t->cells = c;
        t->cap = cap;
    }
    char    buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    /* An empty cell would shift the columns of anyone reading with split(). */
    char *s = strdup(buf[0] ? buf : "-");
    if (!s) {
        t->oom = 1;
        return;
    }
    t->cells[t->n++] = s;
}

static void table_print(const table_t *t, FILE *f)
{
    size_t width[TABLE_MAX_COLS] = {0};
    for (size_t i = 0; i < t->n; i++) {
        size_t len = strlen(t->cells[i]);
        if (len > width[i % (size_t)t->ncols])
            width[i % (size_t)t->ncols] = len;
    }
    for (size_t i = 0; i < t->n; i++) {
        size_t col = i % (size_t)t->ncols;
        if (col + 1 == (size_t)t->ncols || i + 1 == t->n)
            fprintf(f, "%s\n", t->cells[i]);
        else
            fprintf(f, "%-*s  ", (int)width[col], t->cells[i]);
    }
}

static void table_free(table_t *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof(*t));
}

/* ---- shared pieces ---- */

/* An admin client. A consumer handle, so that the log end offsets it asks
 * for are read_uncommitted ones (as kafka-consumer-groups.sh shows them);
 * without group.id it joins nothing. */
static int admin_new(gr_cli_t *cli, const char *what, rd_kafka_t **rkp)
{
    rd_kafka_conf_t *conf = gr_cli_conf_new(cli);
    if (gr_cli_conf_set(conf, what, "isolation.level", "read_uncommitted") != 0 ||
        gr_cli_conf_set(conf, what, "allow.auto.create.topics", "false") != 0) {
        rd_kafka_conf_destroy(conf);
        return GR_CLI_EUSAGE;
    }
    return gr_cli_client_new(cli, RD_KAFKA_CONSUMER, conf, what, rkp);
}

static const char *state_name(rd_kafka_consumer_group_state_t s)
{
    return rd_kafka_consumer_group_state_name(s);
}

/* Describes one group. On success *evp holds the result (destroy it) and
 * *descp points into it; *missing is set when the broker does not know the
 * group (GROUP_ID_NOT_FOUND, or the Dead state older brokers answer with). */
static int describe_one(gr_cli_t *cli, rd_kafka_t *rk, const char *group, const char *what,
                        rd_kafka_event_t **evp, const rd_kafka_ConsumerGroupDescription_t **descp,
                        int *missing)
{
    rd_kafka_queue_t        *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *ao = gr_cli_admin_options(cli, rk, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS);
    rd_kafka_DescribeConsumerGroups(rk, &group, 1, ao, q);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_event_t *ev;
    int               rc = gr_cli_admin_wait(cli, rk, q, what, &ev);
    rd_kafka_queue_destroy(q);
    if (rc)
        return rc;
    size_t                                      n;
    const rd_kafka_ConsumerGroupDescription_t **d =
        rd_kafka_DescribeConsumerGroups_result_groups(rd_kafka_event_DescribeConsumerGroups_result(ev), &n);
    if (n != 1) {
        gr_cli_errorf(what, "the broker described %zu groups, not 1", n);
        rd_kafka_event_destroy(ev);
        return GR_CLI_EBROKER;
    }
    const rd_kafka_error_t *err = rd_kafka_ConsumerGroupDescription_error(d[0]);
    *missing = 0;
    if (err && rd_kafka_error_code(err) == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) {
        *missing = 1;
    } else if (err) {
        gr_cli_errorf(what, "%s", rd_kafka_error_string(err));
        rd_kafka_event_destroy(ev);
        return GR_CLI_EBROKER;
    } else if (rd_kafka_ConsumerGroupDescription_state(d[0]) == RD_KAFKA_CONSUMER_GROUP_STATE_DEAD) {
        *missing = 1;
    }
    *evp = ev;
    *descp = d[0];
    return 0;
}

/* Lists every offset the group committed. On success *evp holds the result
 * (destroy it) and *partsp points into it (NULL when there are none). */
static int committed_offsets(gr_cli_t *cli, rd_kafka_t *rk, const char *group, const char *what,
                             rd_kafka_event_t **evp, const rd_kafka_topic_partition_list_t **partsp)
{
    rd_kafka_queue_t                    *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t             *ao = gr_cli_admin_options(cli, rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS);
    rd_kafka_ListConsumerGroupOffsets_t *lo = rd_kafka_ListConsumerGroupOffsets_new(group, NULL);
    rd_kafka_ListConsumerGroupOffsets(rk, &lo, 1, ao, q);
    rd_kafka_ListConsumerGroupOffsets_destroy(lo);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_event_t *ev;
    int               rc = gr_cli_admin_wait(cli, rk, q, what, &ev);
    rd_kafka_queue_destroy(q);
    if (rc)
        return rc;
    size_t                          n;
    const rd_kafka_group_result_t **res =
        rd_kafka_ListConsumerGroupOffsets_result_groups(rd_kafka_event_ListConsumerGroupOffsets_result(ev), &n);
    const rd_kafka_error_t *err = n ? rd_kafka_group_result_error(res[0]) : NULL;
    if (!n || (err && rd_kafka_error_code(err) != RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND)) {
        gr_cli_errorf(what, "cannot list committed offsets: %s", err ? rd_kafka_error_string(err) : "no result");
        rd_kafka_event_destroy(ev);
        return GR_CLI_EBROKER;
    }
    *evp = ev;
    *partsp = err ? NULL : rd_kafka_group_result_partitions(res[0]);
    return 0;
}

/* ---- list ---- */

static int parse_states(const char *s, rd_kafka_consumer_group_state_t *states, size_t *n)
{
    *n = 0;
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t      len = comma ? (size_t)(comma - s) : strlen(s);
        int         found = 0;
        for (int i = 0; i < RD_KAFKA_CONSUMER_GROUP_STATE__CNT && len; i++) {
            const char *name = state_name((rd_kafka_consumer_group_state_t)i);
            if (strlen(name) == len && strncasecmp(name, s, len) == 0) {
                int dup = 0;
                for (size_t j = 0; j < *n; j++)
                    dup |= states[j] == (rd_kafka_consumer_group_state_t)i;
                if (!dup)
                    states[(*n)++] = (rd_kafka_consumer_group_state_t)i;
                found = 1;
            }
        }
        if (!found)
            return -1;
        s += len + (comma ? 1 : 0);
        if (comma && !*s)
            return -1;
    }
    return *n ? 0 : -1;
}

typedef struct list_args_s {
    rd_kafka_consumer_group_state_t states[RD_KAFKA_CONSUMER_GROUP_STATE__CNT];
    size_t                          nstates;
} list_args_t;

static int cmp_listing(const void *a, const void *b)
{
    return strcmp(rd_kafka_ConsumerGroupListing_group_id(*(const rd_kafka_ConsumerGroupListing_t *const *)a),
                  rd_kafka_ConsumerGroupListing_group_id(*(const rd_kafka_ConsumerGroupListing_t *const *)b));
}

/* The assignor of each listed group, from one DescribeConsumerGroups call;
 * the listing itself has none in librdkafka 2.0. Best effort: on failure
 * the column shows "-". Returns the event to destroy, or NULL. */
static rd_kafka_event_t *describe_many(gr_cli_t *cli, rd_kafka_t *rk, const char **groups, size_t n,
                                       const rd_kafka_ConsumerGroupDescription_t ***descs, size_t *ndescs)
{
    rd_kafka_queue_t        *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *ao = gr_cli_admin_options(cli, rk, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS);
    rd_kafka_DescribeConsumerGroups(rk, groups, n, ao, q);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_event_t *ev;
    int               rc = gr_cli_admin_wait(cli, rk, q, "group list", &ev);
    rd_kafka_queue_destroy(q);
    if (rc)
        return NULL;
    *descs = (const rd_kafka_ConsumerGroupDescription_t **)rd_kafka_DescribeConsumerGroups_result_groups(
        rd_kafka_event_DescribeConsumerGroups_result(ev), ndescs);
    return ev;
}

static int list_opt(void *ctx, int id, const char *val)
{
    list_args_t *l = ctx;
    (void)id; /* --state, the only option */
    if (parse_states(val, l->states, &l->nstates) != 0)
        return gr_cli_usage_error(gr_cli_group_usage,
                                  "--state takes Stable, Empty, PreparingRebalance, CompletingRebalance, "
                                  "Dead or Unknown (comma-separated), got '%s'",
                                  val);
    return 0;
}

static int group_list(gr_cli_t *cli, gr_cli_args_t *a)
{
    static const gr_cli_opt_t opts[] = {
        {"state", 's', 1, OPT_STATE},
        {NULL, 0, 0, 0},
    };
    list_args_t l = {.nstates = 0};
    const char *val;
    int         id, rc;
    while ((id = gr_cli_args_next(cli, a, opts, &val)) != GR_CLI_ARG_END) {
        if (id == GR_CLI_ARG_ERR)
            return GR_CLI_EUSAGE;
        if (id == GR_CLI_ARG_HELP)
            return gr_cli_help(gr_cli_group_usage);
        if (id == GR_CLI_ARG_POS)
            return gr_cli_usage_error(gr_cli_group_usage, "unexpected argument '%s'", val);
        if ((rc = list_opt(&l, id, val)))
            return rc;
    }

    const char *what = "group list";
    rd_kafka_t *rk;
    if ((rc = admin_new(cli, what, &rk)))
        return rc;
    rd_kafka_queue_t        *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *ao = gr_cli_admin_options(cli, rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS);
    if (l.nstates) {
        rd_kafka_error_t *e = rd_kafka_AdminOptions_set_match_consumer_group_states(ao, l.states, l.nstates);
        if (e) {
            gr_cli_errorf(what, "cannot filter by state: %s", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            rd_kafka_AdminOptions_destroy(ao);
            rd_kafka_queue_destroy(q);
            rd_kafka_destroy(rk);
            return GR_CLI_EBROKER;
        }
    }
    rd_kafka_ListConsumerGroups(rk, ao, q);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_event_t *ev;
    rc = gr_cli_admin_wait(cli, rk, q, what, &ev);
    rd_kafka_queue_destroy(q);
    if (rc) {
        rd_kafka_destroy(rk);
        return rc;
    }

    const rd_kafka_ListConsumerGroups_result_t *res = rd_kafka_event_ListConsumerGroups_result(ev);
    size_t                                      n, nerr;
    const rd_kafka_ConsumerGroupListing_t     **valid = rd_kafka_ListConsumerGroups_result_valid(res, &n);
    const rd_kafka_error_t                    **errs = rd_kafka_ListConsumerGroups_result_errors(res, &nerr);
    if (nerr && !n) {
        gr_cli_errorf(what, "%s", rd_kafka_error_string(errs[0]));
        rd_kafka_event_destroy(ev);
        rd_kafka_destroy(rk);
        return GR_CLI_EBROKER;
    }
    for (size_t i = 0; i < nerr; i++) /* some brokers answered: show what they know */
        gr_cli_errorf(what, "warning: %s", rd_kafka_error_string(errs[i]));

    const rd_kafka_ConsumerGroupListing_t **sorted = calloc(n + 1, sizeof(*sorted));
    const char                            **ids = calloc(n + 1, sizeof(*ids));
    if (!sorted || !ids) {
        free(sorted);
        free(ids);
        gr_cli_errorf(what, "out of memory");
        rd_kafka_event_destroy(ev);
        rd_kafka_destroy(rk);
        return GR_CLI_EBROKER;
    }
    if (n)
        memcpy(sorted, valid, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), cmp_listing);
    for (size_t i = 0; i < n; i++)
        ids[i] = rd_kafka_ConsumerGroupListing_group_id(sorted[i]);

    const rd_kafka_ConsumerGroupDescription_t **descs = NULL;
    size_t                                      ndescs = 0;
    rd_kafka_event_t *dev = n ? describe_many(cli, rk, ids, n, &descs, &ndescs) : NULL;

    table_t t = {.ncols = 4};
    table_add(&t, "GROUP");
    table_add(&t, "STATE");
    table_add(&t, "TYPE");
    table_add(&t, "ASSIGNOR");
    for (size_t i = 0; i < n; i++) {
        const char *assignor = "-";
        for (size_t j = 0; j < ndescs; j++) {
            if (strcmp(rd_kafka_ConsumerGroupDescription_group_id(descs[j]), ids[i]) == 0 &&
                !rd_kafka_ConsumerGroupDescription_error(descs[j])) {
                const char *s = rd_kafka_ConsumerGroupDescription_partition_assignor(descs[j]);
                if (s && *s)
                    assignor = s;
            }
        }
        table_add(&t, "%s", ids[i]);
        table_add(&t, "%s", state_name(rd_kafka_ConsumerGroupListing_state(sorted[i])));
        table_add(&t, "%s", rd_kafka_ConsumerGroupListing_is_simple_consumer_group(sorted[i]) ? "simple" : "consumer");
        table_add(&t, "%s", assignor);
    }
    if (t.oom) {
        gr_cli_errorf(what, "out of memory");
        rc = GR_CLI_EBROKER;
    } else {
        table_print(&t, stdout);
    }
    table_free(&t);
    if (dev)
        rd_kafka_event_destroy(dev);
    free(sorted);
    free(ids);
    rd_kafka_event_destroy(ev);
    rd_kafka_destroy(rk);
    return rc;
}

/* ---- describe ---- */

/* Formats "topic(0,1,2),other(0)" for a member's assignment. */
static void format_assignment(const rd_kafka_topic_partition_list_t *parts, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    if (!parts || parts->cnt == 0) {
        snprintf(buf, size, "-");
        return;
    }
    rd_kafka_topic_partition_list_t *s = rd_kafka_topic_partition_list_copy(parts);
    rd_kafka_topic_partition_list_sort(s, NULL, NULL);
    for (int i = 0; i < s->cnt && len < size; i++) {
        int same = i > 0 && strcmp(s->elems[i - 1].topic, s->elems[i].topic) == 0;
        int last = i + 1 == s->cnt || strcmp(s->elems[i + 1].topic, s->elems[i].topic) != 0;
        int w;
        if (same)
            w = snprintf(buf + len, size - len, ",%" PRId32 "%s", s->elems[i].partition, last ? ")" : "");
        else
            w = snprintf(buf + len, size - len, "%s%s(%" PRId32 "%s", i ? "," : "", s->elems[i].topic,
                         s->elems[i].partition, last ? ")" : "");
        if (w < 0)
            break;
        len += (size_t)w;
    }
    rd_kafka_topic_partition_list_destroy(s);
}

static int group_describe(gr_cli_t *cli, gr_cli_args_t *a)
{
    static const gr_cli_opt_t opts[] = {{NULL, 0, 0, 0}};
    const char               *group;
    int                       rc = gr_cli_args_one(cli, a, opts, "a GROUP", &group, NULL, NULL);
    if (rc)
        return rc < 0 ? gr_cli_help(gr_cli_group_usage) : rc;

    char what[300];
    snprintf(what, sizeof(what), "group describe %s", group);
    rd_kafka_t *rk;
    if ((rc = admin_new(cli, what, &rk)))
        return rc;

    rd_kafka_event_t                          *dev = NULL, *oev = NULL;
    const rd_kafka_ConsumerGroupDescription_t *desc;
    const rd_kafka_topic_partition_list_t     *committed = NULL;
    rd_kafka_topic_partition_list_t           *rows = NULL;
    int                                        missing;
    if ((rc = describe_one(cli, rk, group, what, &dev, &desc, &missing)))
        goto out;
    if ((rc = committed_offsets(cli, rk, group, what, &oev, &committed)))
        goto out;
    if (missing && (!committed || committed->cnt == 0)) {
        gr_cli_errorf(what, "group '%s' does not exist", group);
        rc = GR_CLI_EBROKER;
        goto out;
    }

    /* One row per partition the group committed or is assigned; the row's
     * offset is the committed one, its opaque the owning member. */
    rows = rd_kafka_topic_partition_list_new(16);
    for (int i = 0; committed && i < committed->cnt; i++) {
        const rd_kafka_topic_partition_t *c = &committed->elems[i];
        rd_kafka_topic_partition_t       *r = rd_kafka_topic_partition_list_add(rows, c->topic, c->partition);
        r->offset = c->err ? RD_KAFKA_OFFSET_INVALID : c->offset;
    }
    size_t nmembers = missing ? 0 : rd_kafka_ConsumerGroupDescription_member_count(desc);
    for (size_t m = 0; m < nmembers; m++) {
        const rd_kafka_MemberDescription_t    *md = rd_kafka_ConsumerGroupDescription_member(desc, m);
        const rd_kafka_MemberAssignment_t     *ma = rd_kafka_MemberDescription_assignment(md);
        const rd_kafka_topic_partition_list_t *ap = ma ? rd_kafka_MemberAssignment_partitions(ma) : NULL;
        for (int i = 0; ap && i < ap->cnt; i++) {
            rd_kafka_topic_partition_t *r =
                rd_kafka_topic_partition_list_find(rows, ap->elems[i].topic, ap->elems[i].partition);
            if (!r) {
                r = rd_kafka_topic_partition_list_add(rows, ap->elems[i].topic, ap->elems[i].partition);
                r->offset = RD_KAFKA_OFFSET_INVALID;
            }
            r->opaque = (void *)md;
        }
    }
    rd_kafka_topic_partition_list_sort(rows, NULL, NULL);

    /* Log end offsets, and the lag behind them. */
    int64_t *leo = calloc((size_t)rows->cnt + 1, sizeof(*leo));
    if (!leo) {
        gr_cli_errorf(what, "out of memory");
        rc = GR_CLI_EBROKER;
        goto out;
    }
    int64_t total_lag = 0; /* over the partitions whose lag is known */
    for (int i = 0; i < rows->cnt; i++) {
        int64_t lo, hi;
        rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
            rk, rows->elems[i].topic, rows->elems[i].partition, &lo, &hi, cli->request_timeout_ms);
        leo[i] = err ? -1 : hi;
        if (err)
            gr_cli_errorf(what, "warning: no log end offset for %s-%" PRId32 ": %s", rows->elems[i].topic,
                          rows->elems[i].partition, rd_kafka_err2str(err));
        if (leo[i] >= 0 && rows->elems[i].offset >= 0)
            total_lag += leo[i] > rows->elems[i].offset ? leo[i] - rows->elems[i].offset : 0;
        if (gr_cli_stop) {
            gr_cli_errorf(what, "interrupted");
            free(leo);
            rc = GR_CLI_EBROKER;
            goto out;
        }
    }

    /* The summary, like rpk's. */
    table_t head = {.ncols = 2};
    table_add(&head, "GROUP");
    table_add(&head, "%s", group);
    const rd_kafka_Node_t *coord = missing ? NULL : rd_kafka_ConsumerGroupDescription_coordinator(desc);
    table_add(&head, "COORDINATOR");
    if (coord)
        table_add(&head, "%d (%s:%u)", rd_kafka_Node_id(coord), rd_kafka_Node_host(coord),
                  (unsigned)rd_kafka_Node_port(coord));
    else
        table_add(&head, "-");
    table_add(&head, "STATE");
    table_add(&head, "%s", missing ? "Dead" : state_name(rd_kafka_ConsumerGroupDescription_state(desc)));
    const char *assignor = missing ? NULL : rd_kafka_ConsumerGroupDescription_partition_assignor(desc);
    table_add(&head, "ASSIGNOR");
    table_add(&head, "%s", assignor && *assignor ? assignor : "-");
    table_add(&head, "MEMBERS");
    table_add(&head, "%zu", nmembers);
    table_add(&head, "TOTAL-LAG");
    table_add(&head, "%" PRId64, total_lag);

    /* Members and their assignments, like kafka-consumer-groups --members --verbose. */
    table_t mem = {.ncols = 5};
    table_add(&mem, "CONSUMER-ID");
    table_add(&mem, "HOST");
    table_add(&mem, "CLIENT-ID");
    table_add(&mem, "#PARTITIONS");
    table_add(&mem, "ASSIGNMENT");
    for (size_t m = 0; m < nmembers; m++) {
        const rd_kafka_MemberDescription_t    *md = rd_kafka_ConsumerGroupDescription_member(desc, m);
        const rd_kafka_MemberAssignment_t     *ma = rd_kafka_MemberDescription_assignment(md);
        const rd_kafka_topic_partition_list_t *ap = ma ? rd_kafka_MemberAssignment_partitions(ma) : NULL;
        char                                   asg[1024];
        format_assignment(ap, asg, sizeof(asg));
        table_add(&mem, "%s", rd_kafka_MemberDescription_consumer_id(md));
        table_add(&mem, "%s", rd_kafka_MemberDescription_host(md));
        table_add(&mem, "%s", rd_kafka_MemberDescription_client_id(md));
        table_add(&mem, "%d", ap ? ap->cnt : 0);
        table_add(&mem, "%s", asg);
    }

    /* Partitions, like kafka-consumer-groups --describe. */
    table_t parts = {.ncols = 8};
    table_add(&parts, "TOPIC");
    table_add(&parts, "PARTITION");
    table_add(&parts, "CURRENT-OFFSET");
    table_add(&parts, "LOG-END-OFFSET");
    table_add(&parts, "LAG");
    table_add(&parts, "CONSUMER-ID");
    table_add(&parts, "HOST");
    table_add(&parts, "CLIENT-ID");
    for (int i = 0; i < rows->cnt; i++) {
        const rd_kafka_topic_partition_t   *r = &rows->elems[i];
        const rd_kafka_MemberDescription_t *md = r->opaque;
        table_add(&parts, "%s", r->topic);
        table_add(&parts, "%" PRId32, r->partition);
        if (r->offset >= 0)
            table_add(&parts, "%" PRId64, r->offset);
        else
            table_add(&parts, "-");
        if (leo[i] >= 0)
            table_add(&parts, "%" PRId64, leo[i]);
        else
            table_add(&parts, "-");
        if (leo[i] >= 0 && r->offset >= 0)
            table_add(&parts, "%" PRId64, leo[i] > r->offset ? leo[i] - r->offset : 0);
        else
            table_add(&parts, "-");
        table_add(&parts, "%s", md ? rd_kafka_MemberDescription_consumer_id(md) : "-");
        table_add(&parts, "%s", md ? rd_kafka_MemberDescription_host(md) : "-");
        table_add(&parts, "%s", md ? rd_kafka_MemberDescription_client_id(md) : "-");
    }
    free(leo);

    if (head.oom || mem.oom || parts.oom) {
        gr_cli_errorf(what, "out of memory");
        rc = GR_CLI_EBROKER;
    } else {
        table_print(&head, stdout);
        if (nmembers) {
            putchar('\n');
            table_print(&mem, stdout);
        }
        putchar('\n');
        table_print(&parts, stdout);
    }
    table_free(&head);
    table_free(&mem);
    table_free(&parts);

out:
    if (rows)
        rd_kafka_topic_partition_list_destroy(rows);
    if (oev)
        rd_kafka_event_destroy(oev);
    if (dev)
        rd_kafka_event_destroy(dev);
    rd_kafka_destroy(rk);
    return rc;
}

/* ---- delete ---- */

static int group_delete(gr_cli_t *cli, gr_cli_args_t *a)
{
    static const gr_cli_opt_t opts[] = {{NULL, 0, 0, 0}};
    const char               *group;
    int                       rc = gr_cli_args_one(cli, a, opts, "a GROUP", &group, NULL, NULL);
    if (rc)
        return rc < 0 ? gr_cli_help(gr_cli_group_usage) : rc;

    char what[300];
    snprintf(what, sizeof(what), "group delete %s", group);
    rd_kafka_t *rk;
    if ((rc = admin_new(cli, what, &rk)))
        return rc;
    rd_kafka_queue_t        *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *ao = gr_cli_admin_options(cli, rk, RD_KAFKA_ADMIN_OP_DELETEGROUPS);
    rd_kafka_DeleteGroup_t  *dg = rd_kafka_DeleteGroup_new(group);
    rd_kafka_DeleteGroups(rk, &dg, 1, ao, q);
    rd_kafka_DeleteGroup_destroy(dg);
    rd_kafka_AdminOptions_destroy(ao);

    rd_kafka_event_t *ev;
    rc = gr_cli_admin_wait(cli, rk, q, what, &ev);
    if (rc == 0) {
        size_t                          n;
        const rd_kafka_group_result_t **res =
            rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev), &n);
        const rd_kafka_error_t *err = n ? rd_kafka_group_result_error(res[0]) : NULL;
        rd_kafka_resp_err_t     code = !n ? RD_KAFKA_RESP_ERR__FAIL : err ? rd_kafka_error_code(err) : 0;
        if (code == RD_KAFKA_RESP_ERR_NO_ERROR) {
            printf("deleted group %s\n", group);
        } else {
            if (code == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND)
                gr_cli_errorf(what, "group '%s' does not exist", group);
            else if (code == RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP)
                gr_cli_errorf(what, "group '%s' is not empty: it has active members", group);
            else
                gr_cli_errorf(what, "%s", err ? rd_kafka_error_string(err) : "no result");
            rc = GR_CLI_EBROKER;
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return rc;
}

/* ---- reset-offsets ---- */

enum { RESET_NONE, RESET_EARLIEST, RESET_LATEST, RESET_OFFSET, RESET_DATETIME };

typedef struct reset_args_s {
    const char *topic;
    int         partition; /* -1: all */
    int         how;       /* RESET_* */
    int64_t     offset;    /* --to-offset */
    int64_t     ts_ms;     /* --to-datetime */
    int         dry_run;
} reset_args_t;

static int parse_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

/* Parses YYYY-MM-DDTHH:MM:SS[.SSS][Z|+HH:MM|-HH:MM|+HHMM] into milliseconds
 * since the epoch; without a zone the time is local, as Kafka's tool reads
 * it. Returns 0 or -1. */
static int parse_datetime(const char *s, int64_t *out)
{
    struct tm tm;
    int       y, mo, d, h, mi, sec, ms = 0;
    memset(&tm, 0, sizeof(tm));
    if (parse_digits(&s, 4, &y) || *s++ != '-' || parse_digits(&s, 2, &mo) || *s++ != '-' ||
        parse_digits(&s, 2, &d) || (*s != 'T' && *s != ' '))
        return -1;
    s++;
    if (parse_digits(&s, 2, &h) || *s++ != ':' || parse_digits(&s, 2, &mi) || *s++ != ':' ||
        parse_digits(&s, 2, &sec))
        return -1;
    if (*s == '.') {
        s++;
        int digits = 0;
        ms = 0;
        while (isdigit((unsigned char)*s)) {
            if (digits < 3)
                ms = ms * 10 + (*s - '0');
            digits++;
            s++;
        }
        if (!digits)
            return -1;
        for (; digits < 3; digits++)
            ms *= 10;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t;
    if (*s == '\0') {
        tm.tm_isdst = -1;
        t = mktime(&tm);
    } else {
        long off = 0;
        if (*s == 'Z' && s[1] == '\0') {
            s++;
        } else if (*s == '+' || *s == '-') {
            int sign = *s++ == '-' ? -1 : 1, oh, om;
            if (parse_digits(&s, 2, &oh))
                return -1;
            if (*s == ':')
                s++;
            if (parse_digits(&s, 2, &om) || *s || oh > 23 || om > 59)
                return -1;
            off = sign * (oh * 3600L + om * 60L);
        } else {
            return -1;
        }
        t = timegm(&tm);
        if (t != (time_t)-1)
            t -= off;
    }
    if (t == (time_t)-1)
        return -1;
    *out = (int64_t)t * 1000 + ms;
    return 0;
}

static int reset_opt(void *ctx, int id, const char *val)
{
    reset_args_t *r = ctx;
    const char   *usage = gr_cli_group_usage;
    int           how = RESET_NONE, rc;
    switch (id) {
    case OPT_TOPIC:
        if (!*val)
            return gr_cli_usage_error(usage, "--topic must not be empty");
        r->topic = val;
        return 0;
    case OPT_PARTITION:
        return gr_cli_opt_int(usage, "--partition", val, 0, INT32_MAX, &r->partition);
    case OPT_DRY_RUN:
        r->dry_run = 1;
        return 0;
    case OPT_EXECUTE: /* kafka-consumer-groups.sh wants it; committing is our default */
        return 0;
    case OPT_TO_EARLIEST: how = RESET_EARLIEST; break;
    case OPT_TO_LATEST: how = RESET_LATEST; break;
    case OPT_TO_OFFSET:
        how = RESET_OFFSET;
        if ((rc = gr_cli_opt_i64(usage, "--to-offset", val, 0, INT64_MAX, &r->offset)))
            return rc;
        break;
    case OPT_TO_DATETIME:
        how = RESET_DATETIME;
        if (parse_datetime(val, &r->ts_ms) != 0)
            return gr_cli_usage_error(usage, "--to-datetime needs YYYY-MM-DDTHH:MM:SS[.SSS][Z|+HH:MM], got '%s'", val);
        break;
    }
    if (r->how != RESET_NONE)
        return gr_cli_usage_error(usage, "give one of --to-earliest, --to-latest, --to-offset, --to-datetime");
    r->how = how;
    return 0;
}

/* Fills plan's offsets with the new offset of each partition. */
static int reset_compute(gr_cli_t *cli, rd_kafka_t *rk, const reset_args_t *r, const char *what,
                         rd_kafka_topic_partition_list_t *plan)
{
    if (r->how == RESET_DATETIME) {
        for (int i = 0; i < plan->cnt; i++)
            plan->elems[i].offset = r->ts_ms;
        rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(rk, plan, cli->request_timeout_ms);
        if (err) {
            gr_cli_errorf(what, "cannot look up offsets by time: %s", rd_kafka_err2str(err));
            return GR_CLI_EBROKER;
        }
    }
    for (int i = 0; i < plan->cnt; i++) {
        rd_kafka_topic_partition_t *p = &plan->elems[i];
        if (p->err) {
            gr_cli_errorf(what, "partition %" PRId32 ": %s", p->partition, rd_kafka_err2str(p->err));
            return GR_CLI_EBROKER;
        }
        int64_t lo, hi;
        rd_kafka_resp_err_t err =
            rd_kafka_query_watermark_offsets(rk, p->topic, p->partition, &lo, &hi, cli->request_timeout_ms);
        if (err) {
            gr_cli_errorf(what, "cannot get the offsets of partition %" PRId32 ": %s", p->partition,
                          rd_kafka_err2str(err));
            return GR_CLI_EBROKER;
        }
        switch (r->how) {
        case RESET_EARLIEST: p->offset = lo; break;
        case RESET_LATEST: p->offset = hi; break;
        case RESET_OFFSET: /* clamped into the log, as Kafka's tool does */
            p->offset = r->offset < lo ? lo : r->offset > hi ? hi : r->offset;
            break;
        case RESET_DATETIME: /* no record at or after the time: the log end */
            if (p->offset < 0)
                p->offset = hi;
            break;
        }
    }
    return 0;
}

static int reset_commit(gr_cli_t *cli, rd_kafka_t *rk, const char *group, const char *what,
                        const rd_kafka_topic_partition_list_t *plan)
{
    rd_kafka_queue_t                     *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t              *ao = gr_cli_admin_options(cli, rk, RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS);
    rd_kafka_AlterConsumerGroupOffsets_t *ag = rd_kafka_AlterConsumerGroupOffsets_new(group, plan);
    rd_kafka_AlterConsumerGroupOffsets(rk, &ag, 1, ao, q);
    rd_kafka_AlterConsumerGroupOffsets_destroy(ag);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_event_t *ev;
    int               rc = gr_cli_admin_wait(cli, rk, q, what, &ev);
    rd_kafka_queue_destroy(q);
    if (rc)
        return rc;
    size_t                          n;
    const rd_kafka_group_result_t **res =
        rd_kafka_AlterConsumerGroupOffsets_result_groups(rd_kafka_event_AlterConsumerGroupOffsets_result(ev), &n);
    const rd_kafka_error_t *err = n ? rd_kafka_group_result_error(res[0]) : NULL;
    if (!n || err) {
        gr_cli_errorf(what, "cannot commit offsets: %s", err ? rd_kafka_error_string(err) : "no result");
        rc = GR_CLI_EBROKER;
    } else {
        const rd_kafka_topic_partition_list_t *done = rd_kafka_group_result_partitions(res[0]);
        for (int i = 0; done && i < done->cnt; i++) {
            if (done->elems[i].err) {
                gr_cli_errorf(what, "cannot commit the offset of %s-%" PRId32 ": %s", done->elems[i].topic,
                              done->elems[i].partition, rd_kafka_err2str(done->elems[i].err));
                rc = GR_CLI_EBROKER;
                break;
            }
        }
    }
    rd_kafka_event_destroy(ev);
    return rc;
}

static int group_reset_offsets(gr_cli_t *cli, gr_cli_args_t *a)
{
    static const gr_cli_opt_t opts[] = {
        {"topic", 't', 1, OPT_TOPIC},
        {"partition", 'p', 1, OPT_PARTITION},
        {"to-earliest", 0, 0, OPT_TO_EARLIEST},
        {"to-latest", 0, 0, OPT_TO_LATEST},
        {"to-offset", 0, 1, OPT_TO_OFFSET},
        {"to-datetime", 0, 1, OPT_TO_DATETIME},
        {"dry-run", 0, 0, OPT_DRY_RUN},
        {"execute", 0, 0, OPT_EXECUTE},
        {NULL, 0, 0, 0},
    };
    reset_args_t r = {.partition = -1, .how = RESET_NONE};
    const char  *group;
    int          rc = gr_cli_args_one(cli, a, opts, "a GROUP", &group, reset_opt, &r);
    if (rc)
        return rc < 0 ? gr_cli_help(gr_cli_group_usage) : rc;
    if (!r.topic)
        return gr_cli_usage_error(gr_cli_group_usage, "reset-offsets needs --topic");
    if (r.how == RESET_NONE)
        return gr_cli_usage_error(gr_cli_group_usage,
                                  "reset-offsets needs one of --to-earliest, --to-latest, --to-offset, --to-datetime");

    char what[300];
    snprintf(what, sizeof(what), "group reset-offsets %s", group);
    rd_kafka_t *rk;
    if ((rc = admin_new(cli, what, &rk)))
        return rc;

    /* Members would overwrite the new offsets with their own, so Kafka's
     * tool refuses unless the group is Empty (or does not exist yet). */
    rd_kafka_event_t                          *dev;
    const rd_kafka_ConsumerGroupDescription_t *desc;
    int                                        missing;
    rd_kafka_topic_partition_list_t           *plan = NULL;
    const rd_kafka_metadata_t                 *md = NULL;
    const rd_kafka_metadata_topic_t           *mt;
    if ((rc = describe_one(cli, rk, group, what, &dev, &desc, &missing)))
        goto out;
    rd_kafka_consumer_group_state_t state = missing ? RD_KAFKA_CONSUMER_GROUP_STATE_DEAD
                                                    : rd_kafka_ConsumerGroupDescription_state(desc);
    rd_kafka_event_destroy(dev);
    if (state != RD_KAFKA_CONSUMER_GROUP_STATE_EMPTY && state != RD_KAFKA_CONSUMER_GROUP_STATE_DEAD) {
        gr_cli_errorf(what, "assignments can only be reset if the group '%s' is inactive, but the current state is %s",
                      group, state_name(state));
        rc = GR_CLI_EBROKER;
        goto out;
    }

    if ((rc = gr_cli_topic_metadata(cli, rk, r.topic, what, &md, &mt)))
        goto out;
    if (r.partition >= 0 && r.partition >= mt->partition_cnt) {
        gr_cli_errorf(what, "partition %d does not exist (topic '%s' has %d)", r.partition, r.topic,
                      mt->partition_cnt);
        rc = GR_CLI_EBROKER;
        goto out;
    }
    plan = rd_kafka_topic_partition_list_new(mt->partition_cnt > 0 ? mt->partition_cnt : 1);
    for (int i = 0; i < mt->partition_cnt; i++)
        if (r.partition < 0 || mt->partitions[i].id == r.partition)
            rd_kafka_topic_partition_list_add(plan, r.topic, mt->partitions[i].id);
    rd_kafka_topic_partition_list_sort(plan, NULL, NULL);
    if (plan->cnt == 0) {
        gr_cli_errorf(what, "topic '%s' has no partitions", r.topic);
        rc = GR_CLI_EBROKER;
        goto out;
    }
    if ((rc = reset_compute(cli, rk, &r, what, plan)))
        goto out;
    if (!r.dry_run && (rc = reset_commit(cli, rk, group, what, plan)))
        goto out;

    table_t t = {.ncols = 4};
    table_add(&t, "GROUP");
    table_add(&t, "TOPIC");
    table_add(&t, "PARTITION");
    table_add(&t, "NEW-OFFSET");
    for (int i = 0; i < plan->cnt; i++) {
        table_add(&t, "%s", group);
        table_add(&t, "%s", plan->elems[i].topic);
        table_add(&t, "%" PRId32, plan->elems[i].partition);
        table_add(&t, "%" PRId64, plan->elems[i].offset);
    }
    if (t.oom) {
        gr_cli_errorf(what, "out of memory");
        rc = GR_CLI_EBROKER;
    } else {
        table_print(&t, stdout);
        if (r.dry_run)
            fprintf(stderr, "dry run: offsets not committed\n");
    }
    table_free(&t);

out:
    if (plan)
        rd_kafka_topic_partition_list_destroy(plan);
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    return rc;
}

/* ---- dispatch ---- */

int gr_cli_group(gr_cli_t *cli, int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(gr_cli_t *, gr_cli_args_t *);
    } actions[] = {
        {"list", group_list},
        {"describe", group_describe},
        {"delete", group_delete},
        {"reset-offsets", group_reset_offsets},
    };
    gr_cli_args_t a;
    gr_cli_args_init(&a, argc, argv, 1, gr_cli_group_usage);
    /* Global options may come before the action word. */
    while (a.i < argc && argv[a.i][0] == '-') {
        if (strcmp(argv[a.i], "--help") == 0 || strcmp(argv[a.i], "-h") == 0)
            return gr_cli_help(gr_cli_group_usage);
        int g = gr_cli_global_opt(cli, argc, argv, &a.i, gr_cli_group_usage);
        if (g == GR_CLI_ARG_ERR)
            return GR_CLI_EUSAGE;
        if (g == 0)
            return gr_cli_usage_error(gr_cli_group_usage, "unknown option '%s'", argv[a.i]);
    }
    if (a.i >= argc)
        return gr_cli_usage_error(gr_cli_group_usage,
                                  "group needs an action: list, describe, delete or reset-offsets");
    const char *act = argv[a.i++];
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
        if (strcmp(act, actions[i].name) == 0)
            return actions[i].run(cli, &a);
    return gr_cli_usage_error(gr_cli_group_usage, "unknown group action '%s'", act);
}
