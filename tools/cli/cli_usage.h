/* cli_usage.h: the lrncl command's usage texts: the general one and each command's own. */
#ifndef LRNCL_CLI_USAGE_H
#define LRNCL_CLI_USAGE_H

/* The general usage (`lrncl --help`). */
extern const char cli_usage_text[];
/* The problem flags forward, backward and tune share, as printed in their usage. */
extern const char cli_params_text[];
/* Prints `lrncl CMD --help` to stdout: the command's usage, then the parameters where it takes
 * them. 0 when cmd is not a command of lrncl (nothing printed). */
int cli_print_command_usage(const char *cmd);
/* Prints "lrncl X.Y.Z" and the library's version (`lrncl --version`). */
void cli_print_version(void);

#endif /* LRNCL_CLI_USAGE_H */
