/* The gregor binary: `gregor serve` runs a broker; every other subcommand
 * is the command-line tool (src/cli). */
#include "api/dispatch.h"
#include "base/log.h"
#include "cli/cli.h"
#include "server/broker.h"
#include "server/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void serve_usage(FILE *f)
{
    fprintf(f, "usage: gregor serve [--config FILE] [--set KEY=VALUE]...\n"
               "  Runs a broker. Keys are Apache Kafka's server.properties keys; with no\n"
               "  arguments: one node that is broker and controller, listening on\n"
               "  PLAINTEXT://127.0.0.1:9092 with data in ./gregor-data.\n");
}

static int serve(int argc, char **argv)
{
    char err[512];
    gr_config_t *cfg = calloc(1, sizeof *cfg);
    if (!cfg || gr_config_init_defaults(cfg) != 0) {
        fprintf(stderr, "gregor: out of memory\n");
        return 1;
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if ((strcmp(a, "--config") == 0 || strcmp(a, "-c") == 0) && i + 1 < argc) {
            if (gr_config_load_file(cfg, argv[++i], err, sizeof err) != 0) {
                fprintf(stderr, "gregor: %s\n", err);
                return 1;
            }
        } else if (strncmp(a, "--config=", 9) == 0) {
            if (gr_config_load_file(cfg, a + 9, err, sizeof err) != 0) {
                fprintf(stderr, "gregor: %s\n", err);
                return 1;
            }
        } else if (strcmp(a, "--set") == 0 && i + 1 < argc) {
            if (gr_config_set_kv(cfg, argv[++i], err, sizeof err) != 0) {
                fprintf(stderr, "gregor: --set %s: %s\n", argv[i], err);
                return 1;
            }
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            serve_usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "gregor: serve: unknown argument '%s'\n", a);
            serve_usage(stderr);
            return 1;
        }
    }
    if (gr_config_check(cfg, err, sizeof err) != 0) {
        fprintf(stderr, "gregor: %s\n", err);
        return 1;
    }
    int rc = gr_broker_run(cfg);
    gr_config_free(cfg);
    free(cfg);
    return rc;
}

int main(int argc, char **argv)
{
    const char *lvl = getenv("GREGOR_LOG_LEVEL");
    if (lvl) {
        if (strcmp(lvl, "debug") == 0)
            gr_log_level = GR_LOG_DEBUG;
        else if (strcmp(lvl, "warn") == 0)
            gr_log_level = GR_LOG_WARN;
    }
    if (argc >= 2 && strcmp(argv[1], "serve") == 0)
        return serve(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "protocol-doc") == 0)
        return gr_api_write_protocol_doc(stdout);
    if (argc >= 2 && strcmp(argv[1], "config-doc") == 0) {
        gr_config_write_markdown(stdout);
        return 0;
    }
    return gr_cli_main(argc, argv);
}
