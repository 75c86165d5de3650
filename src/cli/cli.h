/* The `gregor` command-line tool: topics, produce, consume, cluster and
 * bench, on librdkafka. The server's main() hands every subcommand other
 * than `serve` to gr_cli_main(). */
#ifndef GR_CLI_CLI_H
#define GR_CLI_CLI_H

/* Exit codes: 0 success, 1 a usage error (a short usage went to stderr),
 * 2 a broker or client error (one `gregor: <what>: <why>` line on stderr). */
enum { GR_CLI_OK = 0, GR_CLI_EUSAGE = 1, GR_CLI_EBROKER = 2 };

/* argv[0] is the program name, argv[1] a subcommand or a global option.
 * Returns the process exit code. Not reentrant: it installs SIGINT and
 * SIGTERM handlers and uses process-wide state. */
int gr_cli_main(int argc, char **argv);

#endif
