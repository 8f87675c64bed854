/* cli_commands.h: the lrncl command's subcommands, one file each (tools/cli_*.c, tune.c).
 * Each returns the process exit status (cli_options.h) and records a failure with cli_fail. */
#ifndef LRNCL_CLI_COMMANDS_H
#define LRNCL_CLI_COMMANDS_H

#include "cli_options.h"

/* lrncl forward / lrncl backward on .npy files (cli_run.c). */
int cli_cmd_run(int backward, const run_options *o);
/* lrncl compile and lrncl explain (cli_store.c). */
int cli_cmd_compile(const run_options *o);
int cli_cmd_explain(const run_options *o);
/* The lrncl context a run uses: binary-only on o->binaries when given, else the usual one
 * (cli_store.c). 1 on success, else 0 (recorded). */
int cli_open_run_context(const run_options *o, lrncl_context **out);
/* The descriptor of compile / explain: o's problem flags, the shape and dtype from --input or
 * --shape / --dtype (cli_store.c). 1 on success, else 0 (recorded). */
int cli_problem_desc(const run_options *o, lrncl_desc *d);
/* lrncl demo (cli_demo.c). */
int cli_cmd_demo(const run_options *o);
/* lrncl tune, with the whole command line (argv[1] is "tune"); prints its own errors and
 * returns the exit status (tune.c). */
int tune_main(int argc, char **argv);

#endif /* LRNCL_CLI_COMMANDS_H */
