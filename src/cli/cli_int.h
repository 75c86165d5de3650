/* Shared state and helpers of the command-line tool: global options, an
 * option parser, librdkafka configuration, error reporting, metadata and
 * admin-result waits that fail fast when no broker can be reached, and JSON
 * string output. Everything runs on the main thread; librdkafka callbacks
 * are served from rd_kafka_poll()/rd_kafka_consumer_poll() on that thread. */
#ifndef GR_CLI_CLI_INT_H
#define GR_CLI_CLI_INT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <librdkafka/rdkafka.h>

#include "base/arena.h"
#include "cli/cli.h"
#include "protocol/codec.h"

#define GR_CLI_MAX_PROPS 64
#define GR_CLI_DEFAULT_BROKERS "localhost:9092"
#define GR_CLI_DEFAULT_TIMEOUT_MS 30000
#define GR_CLI_AUTO_CREATE_WAIT_MS 5000 /* produce: how long a missing topic may take to appear */

typedef struct gr_cli_s {
    const char *brokers;            /* --brokers, GREGOR_BROKERS or the default */
    int         request_timeout_ms; /* bounds connecting, metadata and admin requests */
    const char *props[GR_CLI_MAX_PROPS]; /* -X key=value, applied last */
    int         nprops;
    int         verbose;            /* show librdkafka's own log lines */
    /* Set by the error callback. */
    int         brokers_down;       /* RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN seen */
    int         fatal;              /* a fatal client error (e.g. idempotence) */
    char        last_error[512];    /* the last transport or fatal error text */
    void       *state;              /* the running command's state, for its callbacks */
} gr_cli_t;

/* Set by SIGINT/SIGTERM; loops check it between polls. */
extern volatile sig_atomic_t gr_cli_stop;
void gr_cli_signals_install(void);

/* ---- errors and usage ---- */

/* Prints `gregor: <what>: <why>` on stderr. */
void gr_cli_errorf(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints `gregor: <msg>` and the command's usage on stderr; returns GR_CLI_EUSAGE. */
int gr_cli_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints usage on stdout for --help; returns GR_CLI_OK. */
int gr_cli_help(const char *usage);

/* ---- options ----
 * Long options are `--name value` or `--name=value`; a short option is `-x
 * value` or `-xvalue`. The options every command takes (--brokers/-b,
 * -X/--property, --request-timeout-ms, -v/--verbose) are handled inside
 * gr_cli_args_next() and update the gr_cli_t. "--" ends options. */
typedef struct gr_cli_opt_s {
    const char *name;  /* without the leading "--" */
    char        short_name;
    int         has_arg;
    int         id;    /* > 0 */
} gr_cli_opt_t;

enum {
    GR_CLI_ARG_END = 0,   /* no more arguments */
    GR_CLI_ARG_POS = -1,  /* a positional argument, in *val */
    GR_CLI_ARG_ERR = -2,  /* a usage error was printed */
    GR_CLI_ARG_HELP = -3, /* --help or -h */
};

typedef struct gr_cli_args_s {
    int          argc;
    char       **argv;
    int          i;
    int          no_more_opts;
    const char  *usage; /* printed with usage errors */
} gr_cli_args_t;

void gr_cli_args_init(gr_cli_args_t *a, int argc, char **argv, int first, const char *usage);
/* Returns an option id, or one of GR_CLI_ARG_*. opts ends with a zeroed row. */
int gr_cli_args_next(gr_cli_t *cli, gr_cli_args_t *a, const gr_cli_opt_t *opts, const char **val);
/* Reads exactly one positional argument (and the given options, each passed
 * to on_opt when not NULL) after an action word; what names it in the error
 * when it is missing ("a GROUP is required"). Returns 0, -1 for --help, or
 * an exit code. */
int gr_cli_args_one(gr_cli_t *cli, gr_cli_args_t *a, const gr_cli_opt_t *opts, const char *what,
                    const char **arg, int (*on_opt)(void *, int, const char *), void *ctx);
/* Handles one global option at argv[*i] (advancing *i past its value).
 * Returns 1 if it was one, 0 if not, GR_CLI_ARG_ERR on a bad value. */
int gr_cli_global_opt(gr_cli_t *cli, int argc, char **argv, int *i, const char *usage);

/* Parses a decimal integer in [min, max]; returns 0 or -1. */
int gr_cli_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/* Parses an option's integer value or prints a usage error; returns 0 or GR_CLI_EUSAGE. */
int gr_cli_opt_i64(const char *usage, const char *opt, const char *s, int64_t min, int64_t max,
                   int64_t *out);
int gr_cli_opt_int(const char *usage, const char *opt, const char *s, int min, int max, int *out);
/* Checks --acks and --compression values; the result is the librdkafka value. */
int gr_cli_opt_acks(const char *usage, const char *s, const char **out);
int gr_cli_opt_compression(const char *usage, const char *s, const char **out);

/* ---- librdkafka clients ---- */

/* A configuration with bootstrap.servers, callbacks and quiet logging.
 * Never NULL (librdkafka aborts on out of memory). */
rd_kafka_conf_t *gr_cli_conf_new(gr_cli_t *cli);
/* Sets one property; on failure prints `gregor: <what>: <why>` and returns
 * GR_CLI_EUSAGE. */
int gr_cli_conf_set(rd_kafka_conf_t *conf, const char *what, const char *key, const char *val);
/* Applies -X properties and creates the client. Takes conf in every case.
 * Returns 0 or an exit code (error printed). */
int gr_cli_client_new(gr_cli_t *cli, rd_kafka_type_t type, rd_kafka_conf_t *conf,
                      const char *what, rd_kafka_t **rkp);

/* Fetches metadata: all topics when topic is NULL, else that topic only.
 * Waits up to the request timeout but gives up as soon as every broker is
 * known to be down. Returns 0 (free *mdp with rd_kafka_metadata_destroy) or
 * GR_CLI_EBROKER with the error printed. */
int gr_cli_metadata(gr_cli_t *cli, rd_kafka_t *rk, const char *topic, const char *what,
                    const rd_kafka_metadata_t **mdp);
/* The topic's entry in md, or NULL. */
const rd_kafka_metadata_topic_t *gr_cli_md_topic(const rd_kafka_metadata_t *md, const char *topic);
/* Fetches metadata for one topic that must exist; prints the error otherwise.
 * On success *mtp points into *mdp. */
int gr_cli_topic_metadata(gr_cli_t *cli, rd_kafka_t *rk, const char *topic, const char *what,
                          const rd_kafka_metadata_t **mdp, const rd_kafka_metadata_topic_t **mtp);
/* The same, but while the topic is unknown asks again for up to wait_ms:
 * a broker that creates topics on demand (Kafka 4 answers the first
 * request with UNKNOWN_TOPIC_OR_PARTITION) gets time to do so. */
int gr_cli_topic_metadata_wait(gr_cli_t *cli, rd_kafka_t *rk, const char *topic, const char *what,
                               int wait_ms, const rd_kafka_metadata_t **mdp,
                               const rd_kafka_metadata_topic_t **mtp);
/* Internal topics are the ones named with a leading "__" (__consumer_offsets,
 * __transaction_state, ...): librdkafka 2.0's metadata carries no flag. */
int gr_cli_topic_is_internal(const char *name);

/* Admin options with the request timeout (and operation timeout) set. */
rd_kafka_AdminOptions_t *gr_cli_admin_options(gr_cli_t *cli, rd_kafka_t *rk, rd_kafka_admin_op_t op);
/* Waits for the result event of an admin call on q. Returns 0 with *evp set
 * (destroy it), or GR_CLI_EBROKER with the error printed. */
int gr_cli_admin_wait(gr_cli_t *cli, rd_kafka_t *rk, rd_kafka_queue_t *q, const char *what,
                      rd_kafka_event_t **evp);
/* Prints "cannot reach brokers ..." if the error callback saw every broker
 * down; returns 1 if it did. */
int gr_cli_check_brokers_down(gr_cli_t *cli, const char *what);

/* ---- group-less consuming ----
 * Reads partitions with librdkafka's legacy consumer (consume_start_queue),
 * which needs no group.id and never talks to a group coordinator: that is
 * what `consume` without --group and `bench consume` want. */
typedef struct gr_cli_fetch_s {
    rd_kafka_topic_t *rkt;
    rd_kafka_queue_t *q;
    int32_t          *parts; /* the partitions started */
    int               nparts;
} gr_cli_fetch_t;

/* Starts every partition of the topic (partition < 0) or just one at
 * offset (an absolute offset or RD_KAFKA_OFFSET_*). Returns 0 or an exit
 * code with the error printed. */
int gr_cli_fetch_start(gr_cli_t *cli, rd_kafka_t *rk, const char *topic, int partition,
                       int64_t offset, const char *what, gr_cli_fetch_t *f);
/* The next message or error (destroy it), or NULL after timeout_ms. Also
 * serves rk's callbacks. */
rd_kafka_message_t *gr_cli_fetch_poll(rd_kafka_t *rk, gr_cli_fetch_t *f, int timeout_ms);
void gr_cli_fetch_stop(gr_cli_fetch_t *f);

/* ---- raw requests (raw.c) ----
 * A blocking connection to one broker with Gregor's own codecs, for the
 * APIs librdkafka 2.0 cannot send (IncrementalAlterConfigs,
 * DescribeLogDirs). Opening asks the broker's ApiVersions. */
typedef struct gr_cli_raw_s {
    int        fd;
    int32_t    correlation;
    char       broker[300];   /* host:port, for messages */
    char       error[512];    /* why the last call failed */
    int16_t    min_version[128], max_version[128]; /* per API key; max -1: not served */
    uint8_t   *resp;          /* the last response frame */
    gr_arena_t arena;         /* decoded responses live here until close */
} gr_cli_raw_t;

/* 0, or -1 with c->error set (close c in both cases). */
int gr_cli_raw_open(gr_cli_t *cli, const char *host, int port, gr_cli_raw_t *c);
/* The highest version of api both sides speak, at most want_max; -1: none. */
int16_t gr_cli_raw_version(const gr_cli_raw_t *c, int16_t api, int16_t want_max);
/* Sends body (encoded at version v) and sets *out to read the response
 * body, valid until the next call or close. 0, or -1 with c->error set. */
int gr_cli_raw_call(gr_cli_raw_t *c, int16_t api, int16_t v, const gr_buf_t *body, gr_reader_t *out);
void gr_cli_raw_close(gr_cli_raw_t *c);

/* ---- output ---- */

/* Writes s[0..len) as a JSON string with quotes; invalid UTF-8 becomes U+FFFD. */
void gr_cli_json_str(FILE *f, const void *s, size_t len);

/* ---- commands (argv[0] is the command name) ---- */
int gr_cli_topic(gr_cli_t *cli, int argc, char **argv);
int gr_cli_produce(gr_cli_t *cli, int argc, char **argv);
int gr_cli_consume(gr_cli_t *cli, int argc, char **argv);
int gr_cli_group(gr_cli_t *cli, int argc, char **argv);
int gr_cli_cluster(gr_cli_t *cli, int argc, char **argv);
int gr_cli_config(gr_cli_t *cli, int argc, char **argv);
int gr_cli_bench(gr_cli_t *cli, int argc, char **argv);

extern const char gr_cli_topic_usage[];
extern const char gr_cli_produce_usage[];
extern const char gr_cli_consume_usage[];
extern const char gr_cli_group_usage[];
extern const char gr_cli_cluster_usage[];
extern const char gr_cli_config_usage[];
extern const char gr_cli_bench_usage[];
extern const char gr_cli_global_usage[];

#endif
