/* Entry point of the `gregor` tool: global options, then one of the
 * commands below. Each command lives in its own file and parses its own
 * options; the options every command takes are in common.c. */
#include "cli/cli_int.h"

#include <stdlib.h>
#include <string.h>

const char gr_cli_global_usage[] =
    "\n"
    "Options every command takes (before or after the command):\n"
    "  -b, --brokers HOST:PORT[,...]  bootstrap brokers (default: $GREGOR_BROKERS, else localhost:9092)\n"
    "  -X, --property KEY=VALUE       set a librdkafka property (repeatable)\n"
    "  --request-timeout-ms MS        bound on connecting, metadata and admin requests (default 30000)\n"
    "  -v, --verbose                  show librdkafka's log lines\n"
    "Exit codes: 0 success, 1 usage error, 2 broker or client error.\n";

typedef struct cli_cmd_s {
    const char *name;
    int (*run)(gr_cli_t *cli, int argc, char **argv);
    const char *usage;
} cli_cmd_t;

static const cli_cmd_t cmds[] = {
    {"topic", gr_cli_topic, gr_cli_topic_usage},
    {"produce", gr_cli_produce, gr_cli_produce_usage},
    {"consume", gr_cli_consume, gr_cli_consume_usage},
    {"group", gr_cli_group, gr_cli_group_usage},
    {"cluster", gr_cli_cluster, gr_cli_cluster_usage},
    {"config", gr_cli_config, gr_cli_config_usage},
    {"bench", gr_cli_bench, gr_cli_bench_usage},
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static const char short_usage[] =
    "usage: gregor [--brokers HOST:PORT] <command> [options]\n"
    "commands:\n"
    "  serve      run a broker (see `gregor serve --help`)\n"
    "  topic      create, list, describe, delete topics; delete records\n"
    "  produce    write records from stdin or a file, one per line\n"
    "  consume    print records\n"
    "  group      list, describe, delete consumer groups; reset their offsets\n"
    "  cluster    show the cluster's id, controller and brokers\n"
    "  config     describe and change topic and broker configs\n"
    "  bench      measure produce and consume throughput and latency\n"
    "  help [COMMAND]\n";

static const cli_cmd_t *find_cmd(const char *name)
{
    for (size_t i = 0; i < NCMDS; i++)
        if (strcmp(cmds[i].name, name) == 0)
            return &cmds[i];
    return NULL;
}

static int print_help(const char *topic)
{
    if (topic) {
        const cli_cmd_t *c = find_cmd(topic);
        if (!c)
            return gr_cli_usage_error(short_usage, "unknown command '%s'", topic);
        return gr_cli_help(c->usage);
    }
    fputs(short_usage, stdout);
    for (size_t i = 0; i < NCMDS; i++) {
        putc('\n', stdout);
        fputs(cmds[i].usage, stdout);
    }
    fputs(gr_cli_global_usage, stdout);
    return GR_CLI_OK;
}

int gr_cli_main(int argc, char **argv)
{
    gr_cli_t cli;
    memset(&cli, 0, sizeof(cli));
    const char *env = getenv("GREGOR_BROKERS");
    cli.brokers = env && *env ? env : GR_CLI_DEFAULT_BROKERS;
    cli.request_timeout_ms = GR_CLI_DEFAULT_TIMEOUT_MS;

    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return print_help(NULL);
        int g = gr_cli_global_opt(&cli, argc, argv, &i, short_usage);
        if (g == GR_CLI_ARG_ERR)
            return GR_CLI_EUSAGE;
        if (g == 0)
            return gr_cli_usage_error(short_usage, "unknown option '%s'", argv[i]);
    }
    if (i >= argc)
        return gr_cli_usage_error(short_usage, "no command given");
    if (strcmp(argv[i], "help") == 0)
        return print_help(i + 1 < argc ? argv[i + 1] : NULL);
    const cli_cmd_t *c = find_cmd(argv[i]);
    if (!c)
        return gr_cli_usage_error(short_usage, "unknown command '%s'", argv[i]);
    gr_cli_signals_install();
    int rc = c->run(&cli, argc - i, argv + i);
    fflush(stdout);
    return rc;
}
