/* `gregor config describe|set|delete|append|subtract` for topics and
 * brokers, like Kafka's kafka-configs.sh.
 *
 * The brokers come from librdkafka's metadata; the config requests
 * themselves go through raw.c with Gregor's own codecs, because Debian's
 * librdkafka 2.0 cannot send them: it has no IncrementalAlterConfigs (that
 * came in 2.2), and its DescribeConfigs crashes on the cluster-default
 * broker resource "". (librdkafka's AlterConfigs with the whole override
 * set read back first would race with other writers and cannot carry
 * sensitive values.) One request, one resource: only the keys named
 * change. It goes to the broker named by ID for per-broker configs, else
 * to the broker that answered the metadata request. */
#include "cli/cli_int.h"
#include "kafka_msgs.h"
#include "protocol/errors.h"

#include <stdlib.h>
#include <string.h>

const char gr_cli_config_usage[] =
    "usage: gregor config describe topic NAME [--dynamic]\n"
    "       gregor config describe broker [ID | --default] [--dynamic]\n"
    "       gregor config set topic NAME KEY=VALUE... [--validate-only]\n"
    "       gregor config set broker (ID | --default) KEY=VALUE... [--validate-only]\n"
    "       gregor config delete topic NAME KEY... | broker (ID | --default) KEY...\n"
    "       gregor config append|subtract topic NAME KEY=ITEM[,ITEM]...\n"
    "  describe  every config with its value, source and synonyms (--dynamic: only the ones set\n"
    "            dynamically); a broker without ID means every broker, --default the\n"
    "            cluster-wide defaults\n"
    "  set       sets keys; they apply at once and survive restarts\n"
    "  delete    removes keys, so the broker's or the default value applies again\n"
    "  append    adds items to list keys (cleanup.policy, ...); subtract removes them\n";

enum { OPT_DEFAULT = 1, OPT_DYNAMIC, OPT_VALIDATE_ONLY };

#define MAX_KEYS 128

typedef struct cfg_args_s {
    int         type;        /* 2 topic, 4 broker */
    const char *name;        /* topic name, broker id, "" for --default, NULL: not given */
    const char *items[MAX_KEYS];
    int         nitems;
    int         dynamic, validate_only;
} cfg_args_t;

static bool all_digits(const char *s) { return *s && strspn(s, "0123456789") == strlen(s); }

/* ENTITY [NAME] [ITEM...] and the options, in any order. */
static int parse(gr_cli_t *cli, gr_cli_args_t *a, bool want_items, cfg_args_t *c)
{
    static const gr_cli_opt_t opts[] = {
        {"default", 0, 0, OPT_DEFAULT},
        {"dynamic", 0, 0, OPT_DYNAMIC},
        {"validate-only", 0, 0, OPT_VALIDATE_ONLY},
        {NULL, 0, 0, 0},
    };
    memset(c, 0, sizeof *c);
    const char *val, *pos[MAX_KEYS + 2];
    int id, npos = 0, is_default = 0;
    while ((id = gr_cli_args_next(cli, a, opts, &val)) != GR_CLI_ARG_END) {
        if (id == GR_CLI_ARG_ERR)
            return GR_CLI_EUSAGE;
        if (id == GR_CLI_ARG_HELP)
            return -1;
        if (id == OPT_DEFAULT)
            is_default = 1;
        else if (id == OPT_DYNAMIC)
            c->dynamic = 1;
        else if (id == OPT_VALIDATE_ONLY)
            c->validate_only = 1;
        else if (npos < MAX_KEYS + 2)
            pos[npos++] = val;
        else
            return gr_cli_usage_error(a->usage, "too many arguments");
    }
    if (npos == 0)
        return gr_cli_usage_error(a->usage, "say topic or broker");
    const char *kind = pos[0];
    int next = 1;
    if (strcmp(kind, "topic") == 0 || strcmp(kind, "topics") == 0) {
        c->type = 2;
        if (is_default)
            return gr_cli_usage_error(a->usage, "--default is for brokers; topics take their "
                                                "defaults from the broker configs");
        if (npos < 2 || !*pos[1])
            return gr_cli_usage_error(a->usage, "a topic NAME is required");
        c->name = pos[next++];
    } else if (strcmp(kind, "broker") == 0 || strcmp(kind, "brokers") == 0) {
        c->type = 4;
        if (npos > 1 && all_digits(pos[1])) {
            if (is_default)
                return gr_cli_usage_error(a->usage, "give a broker ID or --default, not both");
            c->name = pos[next++];
        } else if (is_default) {
            c->name = "";
        } else if (want_items) {
            return gr_cli_usage_error(a->usage, "name the broker: an ID, or --default for the "
                                                "cluster-wide default");
        }
    } else {
        return gr_cli_usage_error(a->usage, "unknown entity '%s': topic or broker", kind);
    }
    for (; next < npos; next++) {
        if (c->nitems == MAX_KEYS)
            return gr_cli_usage_error(a->usage, "too many keys");
        c->items[c->nitems++] = pos[next];
    }
    if (want_items && c->nitems == 0)
        return gr_cli_usage_error(a->usage, "no KEY given");
    return 0;
}

static int admin_new(gr_cli_t *cli, const char *what, rd_kafka_t **rkp)
{
    rd_kafka_conf_t *conf = gr_cli_conf_new(cli);
    if (gr_cli_conf_set(conf, what, "allow.auto.create.topics", "false") != 0) {
        rd_kafka_conf_destroy(conf);
        return GR_CLI_EUSAGE;
    }
    return gr_cli_client_new(cli, RD_KAFKA_PRODUCER, conf, what, rkp);
}

static const char *entity_text(const cfg_args_t *c, char *buf, size_t len)
{
    if (c->type == 2)
        snprintf(buf, len, "topic %s", c->name);
    else if (!*c->name)
        snprintf(buf, len, "default broker");
    else
        snprintf(buf, len, "broker %s", c->name);
    return buf;
}

/* ---- describe ---- */

typedef gr_DescribeConfigsResponse_DescribeConfigsResourceResult entry_t;

static const char *source_name(int8_t s)
{
    static const char *const names[] = {
        "UNKNOWN",
        "DYNAMIC_TOPIC_CONFIG",
        "DYNAMIC_BROKER_CONFIG",
        "DYNAMIC_DEFAULT_BROKER_CONFIG",
        "STATIC_BROKER_CONFIG",
        "DEFAULT_CONFIG",
        "DYNAMIC_BROKER_LOGGER_CONFIG",
        "CLIENT_METRICS_CONFIG",
        "GROUP_CONFIG",
    };
    return s >= 0 && s < (int8_t)(sizeof names / sizeof names[0]) ? names[s] : "UNKNOWN";
}

static bool is_dynamic(int8_t s) { return s >= 1 && s <= 3; }

static int cmp_entry(const void *a, const void *b)
{
    const entry_t *x = *(const entry_t *const *)a, *y = *(const entry_t *const *)b;
    int32_t xl = x->Name.len > 0 ? x->Name.len : 0, yl = y->Name.len > 0 ? y->Name.len : 0;
    int c = memcmp(x->Name.ptr, y->Name.ptr, (size_t)(xl < yl ? xl : yl));
    return c ? c : (xl > yl) - (xl < yl);
}

/* A string slice for printf's "%.*s" (null prints as "null"). */
#define SLICE(s) (int)((s).len >= 0 ? (s).len : 4), ((s).len >= 0 ? (s).ptr : "null")

/* kafka-configs.sh --describe's line, with the entry's own source added. */
static void print_entry(const entry_t *e)
{
    gr_str_t v = e->IsSensitive ? gr_str(NULL) : e->Value;
    printf("  %.*s=%.*s source=%s sensitive=%s synonyms={", SLICE(e->Name), SLICE(v),
           source_name(e->ConfigSource), e->IsSensitive ? "true" : "false");
    for (int32_t i = 0; i < e->Synonyms_count; i++) {
        gr_str_t sv = e->IsSensitive ? gr_str(NULL) : e->Synonyms[i].Value;
        printf("%s%s:%.*s=%.*s", i ? ", " : "", source_name(e->Synonyms[i].Source),
               SLICE(e->Synonyms[i].Name), SLICE(sv));
    }
    printf("}\n");
}

static int open_raw(gr_cli_t *cli, const char *host, int port, const char *what, gr_cli_raw_t *raw)
{
    if (gr_cli_raw_open(cli, host, port, raw) == 0)
        return 0;
    gr_cli_errorf(what, "%s", raw->error);
    gr_cli_raw_close(raw);
    return GR_CLI_EBROKER;
}

static void print_error(const char *what, int16_t code, gr_str_t m)
{
    if (m.len > 0)
        gr_cli_errorf(what, "%.*s (%s)", (int)m.len, m.ptr, gr_kerr_name(code));
    else
        gr_cli_errorf(what, "%s (%s)", gr_kerr_message(code), gr_kerr_name(code));
}

/* DescribeConfigs of one resource on raw's broker, printed sorted by key. */
static int describe_one(gr_cli_raw_t *raw, const cfg_args_t *c, const char *name, const char *what)
{
    int16_t v = gr_cli_raw_version(raw, GR_API_DescribeConfigs, 4);
    if (v < 1) {
        gr_cli_errorf(what, "broker %s does not support DescribeConfigs v1+", raw->broker);
        return GR_CLI_EBROKER;
    }
    gr_DescribeConfigsRequest_DescribeConfigsResource res;
    memset(&res, 0, sizeof res);
    res.ResourceType = (int8_t)c->type;
    res.ResourceName = gr_str(name);
    res.ConfigurationKeys_count = -1;
    gr_DescribeConfigsRequest rq;
    gr_DescribeConfigsRequest_init(&rq);
    rq.Resources = &res;
    rq.Resources_count = 1;
    rq.IncludeSynonyms = true;
    gr_buf_t body;
    gr_buf_init(&body);
    gr_DescribeConfigsRequest_encode(&body, v, &rq);
    gr_reader_t r;
    gr_DescribeConfigsResponse rs;
    int rc = gr_cli_raw_call(raw, GR_API_DescribeConfigs, v, &body, &r);
    gr_buf_free(&body);
    if (rc == 0 && (gr_DescribeConfigsResponse_decode(&r, &raw->arena, v, &rs) != 0 ||
                    rs.Results_count != 1)) {
        snprintf(raw->error, sizeof raw->error, "bad DescribeConfigs answer from %s", raw->broker);
        rc = -1;
    }
    if (rc) {
        gr_cli_errorf(what, "%s", raw->error);
        return GR_CLI_EBROKER;
    }
    gr_DescribeConfigsResponse_DescribeConfigsResult *out = &rs.Results[0];
    if (out->ErrorCode == GR_KERR_UNKNOWN_TOPIC_OR_PARTITION && c->type == 2) {
        gr_cli_errorf(what, "topic '%s' does not exist", name);
        return GR_CLI_EBROKER;
    }
    if (out->ErrorCode) {
        print_error(what, out->ErrorCode, out->ErrorMessage);
        return GR_CLI_EBROKER;
    }
    const entry_t **sorted = calloc((size_t)out->Configs_count + 1, sizeof *sorted);
    if (!sorted) {
        gr_cli_errorf(what, "out of memory");
        return GR_CLI_EBROKER;
    }
    size_t k = 0;
    for (int32_t i = 0; i < out->Configs_count; i++)
        if (!c->dynamic || is_dynamic(out->Configs[i].ConfigSource))
            sorted[k++] = &out->Configs[i];
    qsort(sorted, k, sizeof *sorted, cmp_entry);
    if (c->type == 2)
        printf("%s configs for topic %s are:\n", c->dynamic ? "Dynamic" : "All", name);
    else if (!*name)
        printf("Default configs for brokers in the cluster are:\n");
    else
        printf("%s configs for broker %s are:\n", c->dynamic ? "Dynamic" : "All", name);
    for (size_t i = 0; i < k; i++)
        print_entry(sorted[i]);
    free(sorted);
    return 0;
}

static int cmp_int(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* The brokers of the cluster from metadata: ids sorted, and the address
 * of `want` (-1: of the broker that answered). */
typedef struct brokers_s {
    int32_t ids[64];
    int     n;
    char    host[256];
    int     port;
} brokers_t;

static int find_brokers(gr_cli_t *cli, int32_t want, const char *what, brokers_t *out)
{
    memset(out, 0, sizeof *out);
    rd_kafka_t *rk;
    int rc = admin_new(cli, what, &rk);
    if (rc)
        return rc;
    const rd_kafka_metadata_t *md;
    rc = gr_cli_metadata(cli, rk, NULL, what, &md);
    if (rc == 0) {
        if (want < 0)
            want = md->orig_broker_id;
        rc = GR_CLI_EBROKER;
        for (int i = 0; i < md->broker_cnt; i++) {
            if (out->n < 64)
                out->ids[out->n++] = md->brokers[i].id;
            if (md->brokers[i].id == want) {
                snprintf(out->host, sizeof out->host, "%s", md->brokers[i].host);
                out->port = md->brokers[i].port;
                rc = 0;
            }
        }
        if (rc)
            gr_cli_errorf(what, "no broker with id %d in the cluster", want);
        qsort(out->ids, (size_t)out->n, sizeof out->ids[0], cmp_int);
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_destroy(rk);
    return rc;
}

static int describe_each(gr_cli_t *cli, const cfg_args_t *c, const brokers_t *bs, const char *name,
                         const char *what)
{
    gr_cli_raw_t raw;
    int rc = open_raw(cli, bs->host, bs->port, what, &raw);
    if (rc)
        return rc;
    rc = describe_one(&raw, c, name, what);
    gr_cli_raw_close(&raw);
    return rc;
}

static int config_describe(gr_cli_t *cli, gr_cli_args_t *a)
{
    cfg_args_t c;
    int rc = parse(cli, a, false, &c);
    if (rc)
        return rc < 0 ? gr_cli_help(gr_cli_config_usage) : rc;
    if (c.nitems)
        return gr_cli_usage_error(gr_cli_config_usage, "unexpected argument '%s'", c.items[0]);
    char ent[300], what[400];
    snprintf(what, sizeof what, "config describe %s",
             c.name ? entity_text(&c, ent, sizeof ent) : "broker");
    brokers_t bs;
    int32_t want = c.type == 4 && c.name && *c.name ? (int32_t)atoi(c.name) : -1;
    if ((rc = find_brokers(cli, want, what, &bs)) != 0)
        return rc;
    if (c.name)
        return describe_each(cli, &c, &bs, c.name, what);
    /* No broker named: every broker, in id order, as kafka-configs does. */
    for (int i = 0; i < bs.n && rc == 0; i++) {
        char id[16];
        snprintf(id, sizeof id, "%d", bs.ids[i]);
        brokers_t one;
        if ((rc = find_brokers(cli, bs.ids[i], what, &one)) == 0)
            rc = describe_each(cli, &c, &one, id, what);
    }
    return rc;
}

/* ---- set, delete, append, subtract ---- */

static int config_alter(gr_cli_t *cli, gr_cli_args_t *a, int8_t op, const char *verb)
{
    cfg_args_t c;
    int rc = parse(cli, a, true, &c);
    if (rc)
        return rc < 0 ? gr_cli_help(gr_cli_config_usage) : rc;
    char ent[300], what[400];
    snprintf(what, sizeof what, "config %s %s", verb, entity_text(&c, ent, sizeof ent));

    gr_IncrementalAlterConfigsRequest_AlterableConfig cfgs[MAX_KEYS];
    char keys[MAX_KEYS][256];
    for (int i = 0; i < c.nitems; i++) {
        const char *it = c.items[i], *eq = strchr(it, '=');
        memset(&cfgs[i], 0, sizeof cfgs[i]);
        cfgs[i].ConfigOperation = op;
        if (op == 1) { /* DELETE: bare keys */
            if (eq)
                return gr_cli_usage_error(gr_cli_config_usage, "delete takes KEY, not '%s'", it);
            cfgs[i].Name = gr_str(it);
            cfgs[i].Value = gr_str(NULL);
            continue;
        }
        if (!eq || eq == it)
            return gr_cli_usage_error(gr_cli_config_usage, "%s needs KEY=VALUE, got '%s'", verb, it);
        size_t kl = (size_t)(eq - it);
        if (kl >= sizeof keys[i])
            return gr_cli_usage_error(gr_cli_config_usage, "key too long: '%s'", it);
        memcpy(keys[i], it, kl);
        keys[i][kl] = '\0';
        cfgs[i].Name = gr_str(keys[i]);
        cfgs[i].Value = gr_str(eq + 1);
    }

    /* To the broker named, or any (the controller gets it from there). */
    brokers_t bs;
    int32_t want = c.type == 4 && *c.name ? (int32_t)atoi(c.name) : -1;
    if ((rc = find_brokers(cli, want, what, &bs)) != 0)
        return rc;
    gr_cli_raw_t raw;
    if ((rc = open_raw(cli, bs.host, bs.port, what, &raw)) != 0)
        return rc;
    int16_t v = gr_cli_raw_version(&raw, GR_API_IncrementalAlterConfigs, 1);
    if (v < 0) {
        gr_cli_errorf(what, "broker %s does not support IncrementalAlterConfigs", raw.broker);
        gr_cli_raw_close(&raw);
        return GR_CLI_EBROKER;
    }
    gr_IncrementalAlterConfigsRequest_AlterConfigsResource res;
    memset(&res, 0, sizeof res);
    res.ResourceType = (int8_t)c.type;
    res.ResourceName = gr_str(c.name);
    res.Configs = cfgs;
    res.Configs_count = c.nitems;
    gr_IncrementalAlterConfigsRequest rq;
    gr_IncrementalAlterConfigsRequest_init(&rq);
    rq.Resources = &res;
    rq.Resources_count = 1;
    rq.ValidateOnly = c.validate_only;
    gr_buf_t body;
    gr_buf_init(&body);
    gr_IncrementalAlterConfigsRequest_encode(&body, v, &rq);
    gr_reader_t r;
    gr_IncrementalAlterConfigsResponse rs;
    rc = gr_cli_raw_call(&raw, GR_API_IncrementalAlterConfigs, v, &body, &r);
    gr_buf_free(&body);
    if (rc == 0 && (gr_IncrementalAlterConfigsResponse_decode(&r, &raw.arena, v, &rs) != 0 ||
                    rs.Responses_count != 1)) {
        snprintf(raw.error, sizeof raw.error, "bad IncrementalAlterConfigs answer from %s", raw.broker);
        rc = -1;
    }
    if (rc) {
        gr_cli_errorf(what, "%s", raw.error);
        rc = GR_CLI_EBROKER;
    } else if (rs.Responses[0].ErrorCode) {
        print_error(what, rs.Responses[0].ErrorCode, rs.Responses[0].ErrorMessage);
        rc = GR_CLI_EBROKER;
    } else if (c.validate_only) {
        printf("Validated config for %s (nothing changed).\n", ent);
    } else {
        printf("Completed updating config for %s.\n", ent);
    }
    gr_cli_raw_close(&raw);
    return rc;
}

static int config_set(gr_cli_t *cli, gr_cli_args_t *a) { return config_alter(cli, a, 0, "set"); }
static int config_delete(gr_cli_t *cli, gr_cli_args_t *a) { return config_alter(cli, a, 1, "delete"); }
static int config_append(gr_cli_t *cli, gr_cli_args_t *a) { return config_alter(cli, a, 2, "append"); }
static int config_subtract(gr_cli_t *cli, gr_cli_args_t *a)
{
    return config_alter(cli, a, 3, "subtract");
}

int gr_cli_config(gr_cli_t *cli, int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(gr_cli_t *, gr_cli_args_t *);
    } actions[] = {
        {"describe", config_describe}, {"set", config_set},           {"delete", config_delete},
        {"append", config_append},     {"subtract", config_subtract},
    };
    gr_cli_args_t a;
    gr_cli_args_init(&a, argc, argv, 1, gr_cli_config_usage);
    while (a.i < argc && argv[a.i][0] == '-') {
        if (strcmp(argv[a.i], "--help") == 0 || strcmp(argv[a.i], "-h") == 0)
            return gr_cli_help(gr_cli_config_usage);
        int g = gr_cli_global_opt(cli, argc, argv, &a.i, gr_cli_config_usage);
        if (g == GR_CLI_ARG_ERR)
            return GR_CLI_EUSAGE;
        if (g == 0)
            return gr_cli_usage_error(gr_cli_config_usage, "unknown option '%s'", argv[a.i]);
    }
    if (a.i >= argc)
        return gr_cli_usage_error(gr_cli_config_usage,
                                  "config needs an action: describe, set, delete, append or subtract");
    const char *act = argv[a.i++];
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
        if (strcmp(act, actions[i].name) == 0)
            return actions[i].run(cli, &a);
    return gr_cli_usage_error(gr_cli_config_usage, "unknown config action '%s'", act);
}
