/* cli_commands.h: the lrncl command's subcommands, one file each (tools/cli_*.c, tune.c).
 * Each returns the process exit status (cli_options.h) and records a failure with cli_fail. */
#ifndef LRNCL_CLI_COMMANDS_H
#define LRNCL_CLI_COMMANDS_H

#include "cli_options.h"

/* lrncl forward / lrncl backward on .npy files (cli_run.c). */
int cli_cmd_run(int backward, const run_options *o);
/* lrncl demo (cli_demo.c). */
int cli_cmd_demo(const run_options *o);
/* lrncl tune, with the whole command line (argv[1] is "tune"); prints its own errors and
 * returns the exit status (tune.c). */
int tune_main(int argc, char **argv);

#endif /* LRNCL_CLI_COMMANDS_H */
