/* Helpers every command uses: options, errors, librdkafka configuration,
 * metadata and admin waits, JSON strings. See cli_int.h. */
#include "cli/cli_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"

volatile sig_atomic_t gr_cli_stop;

static void on_signal(int sig)
{
    (void)sig;
    if (gr_cli_stop < 100)
        gr_cli_stop++;
}

void gr_cli_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a blocking read of stdin returns EINTR on Ctrl-C so
     * produce stops reading and flushes what it has. */
    sa.sa_flags = 0;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* A closed stdout (consume | head) shows up as EPIPE from the write. */
    signal(SIGPIPE, SIG_IGN);
}

/* ---- errors and usage ---- */

void gr_cli_errorf(const char *what, const char *fmt, ...)
{
    char    why[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    /* One line, whatever the reason text holds. */
    for (char *p = why; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    fprintf(stderr, "gregor: %s: %s\n", what, why);
}

int gr_cli_usage_error(const char *usage, const char *fmt, ...)
{
    char    msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "gregor: %s\n", msg);
    if (usage)
        fprintf(stderr, "%s(run `gregor help` for all commands)\n", usage);
    return GR_CLI_EUSAGE;
}

int gr_cli_help(const char *usage)
{
    fputs(usage, stdout);
    fputs(gr_cli_global_usage, stdout);
    return GR_CLI_OK;
}

/* ---- options ---- */

enum { GOPT_BROKERS = 1, GOPT_PROPERTY, GOPT_TIMEOUT, GOPT_VERBOSE };

static const gr_cli_opt_t global_opts[] = {
    {"brokers", 'b', 1, GOPT_BROKERS},
    {"property", 'X', 1, GOPT_PROPERTY},
    {"request-timeout-ms", 0, 1, GOPT_TIMEOUT},
    {"verbose", 'v', 0, GOPT_VERBOSE},
    {NULL, 0, 0, 0},
};

/* Finds arg's option in opts. *inl is the value written in the same word
 * (`--x=v`, `-xv`), or NULL. */
static const gr_cli_opt_t *match_opt(const gr_cli_opt_t *opts, const char *arg, const char **inl)
{
    *inl = NULL;
    if (arg[0] != '-' || arg[1] == '\0')
        return NULL;
    if (arg[1] == '-') {
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t      n = eq ? (size_t)(eq - name) : strlen(name);
        for (const gr_cli_opt_t *o = opts; o->name; o++) {
            if (strlen(o->name) == n && strncmp(o->name, name, n) == 0) {
                *inl = eq ? eq + 1 : NULL;
                return o;
            }
        }
        return NULL;
    }
    for (const gr_cli_opt_t *o = opts; o->name; o++) {
        if (o->short_name && o->short_name == arg[1]) {
            *inl = arg[2] ? arg + 2 : NULL;
            return o;
        }
    }
    return NULL;
}

/* Consumes the option at argv[*i] and its value. Returns 0 or GR_CLI_ARG_ERR. */
static int take_value(const gr_cli_opt_t *o, const char *inl, int argc, char **argv, int *i,
                      const char *usage, const char **val)
{
    const char *arg = argv[*i];
    (*i)++;
    *val = NULL;
    if (o->has_arg) {
        if (inl) {
            *val = inl;
        } else if (*i < argc) {
            *val = argv[(*i)++];
        } else {
            gr_cli_usage_error(usage, "option %s needs a value", arg);
            return GR_CLI_ARG_ERR;
        }
    } else if (inl) {
        gr_cli_usage_error(usage, "option %s takes no value", arg);
        return GR_CLI_ARG_ERR;
    }
    return 0;
}

int gr_cli_global_opt(gr_cli_t *cli, int argc, char **argv, int *i, const char *usage)
{
    const char         *inl, *val;
    const gr_cli_opt_t *o = match_opt(global_opts, argv[*i], &inl);
    if (!o)
        return 0;
    if (take_value(o, inl, argc, argv, i, usage, &val) != 0)
        return GR_CLI_ARG_ERR;
    switch (o->id) {
    case GOPT_BROKERS:
        if (!*val) {
            gr_cli_usage_error(usage, "--brokers needs HOST:PORT[,HOST:PORT...]");
            return GR_CLI_ARG_ERR;
        }
        cli->brokers = val;
        break;
    case GOPT_PROPERTY:
        if (!strchr(val, '=') || val[0] == '=') {
            gr_cli_usage_error(usage, "-X needs KEY=VALUE (a librdkafka property), got '%s'", val);
            return GR_CLI_ARG_ERR;
        }
        if (cli->nprops == GR_CLI_MAX_PROPS) {
            gr_cli_usage_error(usage, "too many -X properties (at most %d)", GR_CLI_MAX_PROPS);
            return GR_CLI_ARG_ERR;
        }
        cli->props[cli->nprops++] = val;
        break;
    case GOPT_TIMEOUT:
        if (gr_cli_opt_int(usage, "--request-timeout-ms", val, 1, INT32_MAX,
                           &cli->request_timeout_ms) != 0)
            return GR_CLI_ARG_ERR;
        break;
    case GOPT_VERBOSE:
        cli->verbose = 1;
        break;
    }
    return 1;
}

void gr_cli_args_init(gr_cli_args_t *a, int argc, char **argv, int first, const char *usage)
{
    a->argc = argc;
    a->argv = argv;
    a->i = first;
    a->no_more_opts = 0;
    a->usage = usage;
}

int gr_cli_args_next(gr_cli_t *cli, gr_cli_args_t *a, const gr_cli_opt_t *opts, const char **val)
{
    for (;;) {
        if (a->i >= a->argc)
            return GR_CLI_ARG_END;
        const char *arg = a->argv[a->i];
        if (a->no_more_opts || arg[0] != '-' || arg[1] == '\0') {
            a->i++;
            *val = arg;
            return GR_CLI_ARG_POS;
        }
        if (strcmp(arg, "--") == 0) {
            a->no_more_opts = 1;
            a->i++;
            continue;
        }
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            a->i++;
            return GR_CLI_ARG_HELP;
        }
        int g = gr_cli_global_opt(cli, a->argc, a->argv, &a->i, a->usage);
        if (g == GR_CLI_ARG_ERR)
            return GR_CLI_ARG_ERR;
        if (g == 1)
            continue;
        const char         *inl;
        const gr_cli_opt_t *o = match_opt(opts, arg, &inl);
        if (!o) {
            gr_cli_usage_error(a->usage, "unknown option '%s'", arg);
            return GR_CLI_ARG_ERR;
        }
        if (take_value(o, inl, a->argc, a->argv, &a->i, a->usage, val) != 0)
            return GR_CLI_ARG_ERR;
        return o->id;
    }
}

int gr_cli_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    if (!s || !*s)
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int gr_cli_opt_i64(const char *usage, const char *opt, const char *s, int64_t min, int64_t max,
                   int64_t *out)
{
    if (gr_cli_parse_i64(s, min, max, out) == 0)
        return 0;
    return gr_cli_usage_error(usage, "%s needs an integer from %" PRId64 " to %" PRId64 ", got '%s'",
                              opt, min, max, s);
}

int gr_cli_opt_int(const char *usage, const char *opt, const char *s, int min, int max, int *out)
{
    int64_t v;
    int     rc = gr_cli_opt_i64(usage, opt, s, min, max, &v);
    if (rc == 0)
        *out = (int)v;
    return rc;
}

int gr_cli_opt_acks(const char *usage, const char *s, const char **out)
{
    if (strcmp(s, "all") == 0 || strcmp(s, "-1") == 0)
        *out = "-1";
    else if (strcmp(s, "0") == 0 || strcmp(s, "1") == 0)
        *out = s;
    else
        return gr_cli_usage_error(usage, "--acks must be 0, 1 or all, got '%s'", s);
    return 0;
}

int gr_cli_opt_compression(const char *usage, const char *s, const char **out)
{
    static const char *const codecs[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++) {
        if (strcmp(s, codecs[i]) == 0) {
            *out = codecs[i];
            return 0;
        }
    }
    return gr_cli_usage_error(usage, "--compression must be none, gzip, snappy, lz4 or zstd, got '%s'", s);
}

/* ---- librdkafka clients ---- */

/* librdkafka prefixes transport errors with the broker's name
 * ("127.0.0.1:1/bootstrap: Connect to ..."); the address is already in our
 * message, so drop it. */
static const char *strip_broker_prefix(const char *reason)
{
    const char *colon = strstr(reason, ": ");
    if (colon && memchr(reason, '/', (size_t)(colon - reason)) && !memchr(reason, ' ', (size_t)(colon - reason)))
        return colon + 2;
    return reason;
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    gr_cli_t *cli = opaque;
    if (cli->verbose)
        fprintf(stderr, "gregor: librdkafka error: %s: %s\n", rd_kafka_err2name(err), reason);
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        cli->brokers_down = 1;
        if (!cli->last_error[0])
            snprintf(cli->last_error, sizeof(cli->last_error), "%s", reason);
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512];
        rd_kafka_fatal_error(rk, buf, sizeof(buf));
        cli->fatal = 1;
        snprintf(cli->last_error, sizeof(cli->last_error), "%s", buf);
        return;
    }
    snprintf(cli->last_error, sizeof(cli->last_error), "%s", strip_broker_prefix(reason));
}

/* Called from librdkafka's threads; only reads cli->verbose, which is set
 * before any client exists. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    const gr_cli_t *cli = rd_kafka_opaque(rk);
    if (cli && cli->verbose)
        fprintf(stderr, "%%%d|%s|%s: %s\n", level, rd_kafka_name(rk), fac, buf);
}

rd_kafka_conf_t *gr_cli_conf_new(gr_cli_t *cli)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char             errstr[256];
    rd_kafka_conf_set(conf, "bootstrap.servers", cli->brokers, errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "client.id", "gregor-cli", errstr, sizeof(errstr));
    rd_kafka_conf_set_opaque(conf, cli);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    return conf;
}

int gr_cli_conf_set(rd_kafka_conf_t *conf, const char *what, const char *key, const char *val)
{
    char errstr[512];
    if (rd_kafka_conf_set(conf, key, val, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        gr_cli_errorf(what, "cannot set %s=%s: %s", key, val, errstr);
        return GR_CLI_EUSAGE;
    }
    return 0;
}

int gr_cli_client_new(gr_cli_t *cli, rd_kafka_type_t type, rd_kafka_conf_t *conf,
                      const char *what, rd_kafka_t **rkp)
{
    char errstr[512];
    for (int i = 0; i < cli->nprops; i++) {
        char        key[256];
        const char *eq = strchr(cli->props[i], '=');
        size_t      n = (size_t)(eq - cli->props[i]);
        if (n >= sizeof(key))
            n = sizeof(key) - 1;
        memcpy(key, cli->props[i], n);
        key[n] = '\0';
        if (gr_cli_conf_set(conf, what, key, eq + 1) != 0) {
            rd_kafka_conf_destroy(conf);
            return GR_CLI_EUSAGE;
        }
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        gr_cli_errorf(what, "cannot create client: %s", errstr);
        return GR_CLI_EUSAGE;
    }
    *rkp = rk;
    return 0;
}

int gr_cli_check_brokers_down(gr_cli_t *cli, const char *what)
{
    if (cli->fatal) {
        gr_cli_errorf(what, "%s", cli->last_error);
        return 1;
    }
    if (!cli->brokers_down)
        return 0;
    gr_cli_errorf(what, "cannot reach brokers %s: %s", cli->brokers,
                  cli->last_error[0] ? cli->last_error : "all brokers are down");
    return 1;
}

int gr_cli_metadata(gr_cli_t *cli, rd_kafka_t *rk, const char *topic, const char *what,
                    const rd_kafka_metadata_t **mdp)
{
    rd_kafka_topic_t   *rkt = topic ? rd_kafka_topic_new(rk, topic, NULL) : NULL;
    int64_t             deadline = gr_clock_mono_ms() + cli->request_timeout_ms;
    rd_kafka_resp_err_t err;
    int                 rc = GR_CLI_EBROKER;

    /* Ask in short slices so that a refused connection (every broker down)
     * ends the wait at once instead of after the whole timeout. */
    for (;;) {
        int64_t left = deadline - gr_clock_mono_ms();
        if (left <= 0) {
            err = RD_KAFKA_RESP_ERR__TIMED_OUT;
            break;
        }
        err = rd_kafka_metadata(rk, topic == NULL, rkt, mdp, (int)(left < 500 ? left : 500));
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            rc = 0;
            break;
        }
        if (err != RD_KAFKA_RESP_ERR__TIMED_OUT && err != RD_KAFKA_RESP_ERR__TRANSPORT)
            break;
        rd_kafka_poll(rk, 0);
        if (gr_cli_check_brokers_down(cli, what))
            goto out;
        if (gr_cli_stop) {
            gr_cli_errorf(what, "interrupted");
            goto out;
        }
    }
    if (rc != 0)
        gr_cli_errorf(what, "cannot fetch metadata from %s: %s", cli->brokers,
                      err == RD_KAFKA_RESP_ERR__TIMED_OUT && cli->last_error[0] ? cli->last_error
                                                                                 : rd_kafka_err2str(err));
out:
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    return rc;
}

const rd_kafka_metadata_topic_t *gr_cli_md_topic(const rd_kafka_metadata_t *md, const char *topic)
{
    for (int i = 0; i < md->topic_cnt; i++)
        if (strcmp(md->topics[i].topic, topic) == 0)
            return &md->topics[i];
    return NULL;
}

int gr_cli_topic_metadata(gr_cli_t *cli, rd_kafka_t *rk, const char *topic, const char *what,
                          const rd_kafka_metadata_t **mdp, const rd_kafka_metadata_topic_t **mtp)
{
    return gr_cli_topic_metadata_wait(cli, rk, topic, what, 0, mdp, mtp);
}

int gr_cli_topic_metadata_wait(gr_cli_t *cli, rd_kafka_t *rk, const char *topic, const char *what,
                               int wait_ms, const rd_kafka_metadata_t **mdp,
                               const rd_kafka_metadata_topic_t **mtp)
{
    int64_t                          deadline = gr_clock_mono_ms() + wait_ms;
    const rd_kafka_metadata_topic_t *mt;
    for (;;) {
        int rc = gr_cli_metadata(cli, rk, topic, what, mdp);
        if (rc)
            return rc;
        mt = gr_cli_md_topic(*mdp, topic);
        if ((mt && mt->err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) ||
            gr_clock_mono_ms() >= deadline || gr_cli_stop)
            break;
        rd_kafka_metadata_destroy(*mdp);
        rd_kafka_poll(rk, 200);
    }
    if (!mt || mt->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        gr_cli_errorf(what, "topic '%s' does not exist", topic);
    } else if (mt->err && mt->err != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE) {
        gr_cli_errorf(what, "topic '%s': %s", topic, rd_kafka_err2str(mt->err));
    } else {
        *mtp = mt;
        return 0;
    }
    rd_kafka_metadata_destroy(*mdp);
    *mdp = NULL;
    return GR_CLI_EBROKER;
}

int gr_cli_topic_is_internal(const char *name)
{
    return name[0] == '_' && name[1] == '_';
}

rd_kafka_AdminOptions_t *gr_cli_admin_options(gr_cli_t *cli, rd_kafka_t *rk, rd_kafka_admin_op_t op)
{
    char                     errstr[256];
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, op);
    rd_kafka_AdminOptions_set_request_timeout(o, cli->request_timeout_ms, errstr, sizeof(errstr));
    if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS || op == RD_KAFKA_ADMIN_OP_DELETETOPICS)
        rd_kafka_AdminOptions_set_operation_timeout(o, cli->request_timeout_ms, errstr,
                                                    sizeof(errstr));
    return o;
}

int gr_cli_admin_wait(gr_cli_t *cli, rd_kafka_t *rk, rd_kafka_queue_t *q, const char *what,
                      rd_kafka_event_t **evp)
{
    /* The request carries its own timeout; this bound only guards against a
     * result that never comes. */
    int64_t deadline = gr_clock_mono_ms() + 2 * (int64_t)cli->request_timeout_ms + 5000;
    for (;;) {
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 200);
        if (ev) {
            if (rd_kafka_event_error(ev)) {
                gr_cli_errorf(what, "%s", rd_kafka_event_error_string(ev));
                rd_kafka_event_destroy(ev);
                return GR_CLI_EBROKER;
            }
            *evp = ev;
            return 0;
        }
        rd_kafka_poll(rk, 0);
        if (gr_cli_check_brokers_down(cli, what))
            return GR_CLI_EBROKER;
        if (gr_cli_stop) {
            gr_cli_errorf(what, "interrupted");
            return GR_CLI_EBROKER;
        }
        if (gr_clock_mono_ms() > deadline) {
            gr_cli_errorf(what, "no answer from %s: %s", cli->brokers, rd_kafka_err2str(RD_KAFKA_RESP_ERR__TIMED_OUT));
            return GR_CLI_EBROKER;
        }
    }
}

/* ---- group-less consuming ---- */

int gr_cli_fetch_start(gr_cli_t *cli, rd_kafka_t *rk, const char *topic, int partition,
                       int64_t offset, const char *what, gr_cli_fetch_t *f)
{
    const rd_kafka_metadata_t       *md;
    const rd_kafka_metadata_topic_t *mt;
    memset(f, 0, sizeof(*f));
    int rc = gr_cli_topic_metadata(cli, rk, topic, what, &md, &mt);
    if (rc)
        return rc;
    if (mt->partition_cnt == 0) {
        gr_cli_errorf(what, "topic '%s' has no partitions yet", topic);
        rc = GR_CLI_EBROKER;
        goto out;
    }
    if (partition >= mt->partition_cnt) {
        gr_cli_errorf(what, "partition %d does not exist (the topic has %d)", partition, mt->partition_cnt);
        rc = GR_CLI_EBROKER;
        goto out;
    }
    f->parts = calloc((size_t)mt->partition_cnt, sizeof(*f->parts));
    if (!f->parts) {
        gr_cli_errorf(what, "out of memory");
        rc = GR_CLI_EBROKER;
        goto out;
    }
    f->rkt = rd_kafka_topic_new(rk, topic, NULL);
    f->q = rd_kafka_queue_new(rk);
    for (int i = 0; i < mt->partition_cnt; i++) {
        int32_t p = mt->partitions[i].id;
        if (partition >= 0 && p != partition)
            continue;
        if (rd_kafka_consume_start_queue(f->rkt, p, offset, f->q) == -1) {
            gr_cli_errorf(what, "cannot start partition %d: %s", p, rd_kafka_err2str(rd_kafka_last_error()));
            rc = GR_CLI_EBROKER;
            gr_cli_fetch_stop(f);
            goto out;
        }
        f->parts[f->nparts++] = p;
    }
out:
    rd_kafka_metadata_destroy(md);
    return rc;
}

rd_kafka_message_t *gr_cli_fetch_poll(rd_kafka_t *rk, gr_cli_fetch_t *f, int timeout_ms)
{
    rd_kafka_poll(rk, 0);
    return rd_kafka_consume_queue(f->q, timeout_ms);
}

void gr_cli_fetch_stop(gr_cli_fetch_t *f)
{
    for (int i = 0; i < f->nparts; i++)
        rd_kafka_consume_stop(f->rkt, f->parts[i]);
    if (f->q)
        rd_kafka_queue_destroy(f->q);
    if (f->rkt)
        rd_kafka_topic_destroy(f->rkt);
    free(f->parts);
    memset(f, 0, sizeof(*f));
}

/* ---- output ---- */

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_seq(const uint8_t *p, size_t n)
{
    uint32_t cp;
    size_t   len;
    if (p[0] < 0xc2)
        return 0; /* continuation byte or overlong 2-byte lead */
    if (p[0] < 0xe0) {
        len = 2;
        cp = p[0] & 0x1f;
    } else if (p[0] < 0xf0) {
        len = 3;
        cp = p[0] & 0x0f;
    } else if (p[0] < 0xf5) {
        len = 4;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

void gr_cli_json_str(FILE *f, const void *s, size_t len)
{
    const uint8_t *p = s;
    size_t         i = 0;
    putc('"', f);
    while (i < len) {
        uint8_t c = p[i];
        if (c >= 0x80) {
            size_t n = utf8_seq(p + i, len - i);
            if (n) {
                fwrite(p + i, 1, n, f);
                i += n;
            } else {
                fputs("\\ufffd", f);
                i++;
            }
            continue;
        }
        switch (c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        case '\b': fputs("\\b", f); break;
        case '\f': fputs("\\f", f); break;
        default:
            if (c < 0x20)
                fprintf(f, "\\u%04x", c);
            else
                putc(c, f);
        }
        i++;
    }
    putc('"', f);
}

int gr_cli_args_one(gr_cli_t *cli, gr_cli_args_t *a, const gr_cli_opt_t *opts, const char *what,
                    const char **arg, int (*on_opt)(void *, int, const char *), void *ctx)
{
    const char *val;
    int         id;
    *arg = NULL;
    while ((id = gr_cli_args_next(cli, a, opts, &val)) != GR_CLI_ARG_END) {
        if (id == GR_CLI_ARG_ERR)
            return GR_CLI_EUSAGE;
        if (id == GR_CLI_ARG_HELP)
            return -1;
        if (id == GR_CLI_ARG_POS) {
            if (*arg)
                return gr_cli_usage_error(a->usage, "unexpected argument '%s'", val);
            *arg = val;
            continue;
        }
        int rc = on_opt ? on_opt(ctx, id, val) : 0;
        if (rc)
            return rc;
    }
    if (!*arg || !**arg)
        return gr_cli_usage_error(a->usage, "%s is required", what);
    return 0;
}
