/* cli_options.h: the lrncl command's option parsing: "--name value" / "--name=value" pairs,
 * and the problem flags (mode, window, parameters, convention, layout, device) every command
 * that makes a plan shares. Pure functions over argv, so they can be fuzzed alone. */
#ifndef LRNCL_CLI_OPTIONS_H
#define LRNCL_CLI_OPTIONS_H

#include "lrncl.h"

/* Exit statuses of the lrncl command; CLI_HELP is internal (print the usage, exit 0). */
enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2, CLI_HELP = 3 };

enum cli_opt {
    OPT_MODE, OPT_SIZE, OPT_ALPHA, OPT_BETA, OPT_K, OPT_CONVENTION, OPT_LAYOUT, OPT_DEVICE,
    OPT_INPUT, OPT_GRAD_OUTPUT, OPT_OUTPUT, OPT_SCALE_OUTPUT,
    OPT_SHAPE, OPT_DTYPE, OPT_BINARIES, OPT_EMIT_SOURCE, OPT_COUNT
};
extern const char *const cli_opt_names[OPT_COUNT];

#define OPT_BIT(o) (1u << (o))
/* The problem flags, and --input / --output, which forward and backward share. */
#define OPTS_PARAMS                                                                          \
    (OPT_BIT(OPT_MODE) | OPT_BIT(OPT_SIZE) | OPT_BIT(OPT_ALPHA) | OPT_BIT(OPT_BETA) |        \
     OPT_BIT(OPT_K) | OPT_BIT(OPT_CONVENTION) | OPT_BIT(OPT_LAYOUT) | OPT_BIT(OPT_DEVICE) | \
     OPT_BIT(OPT_INPUT) | OPT_BIT(OPT_OUTPUT))

/* The problem flags without the files: what compile and explain take with --input or --shape. */
#define OPTS_PROBLEM (OPTS_PARAMS & ~OPT_BIT(OPT_OUTPUT))
/* Options that take no value ("--emit-source"); their value[] is "1" when given. */
#define OPTS_FLAGS OPT_BIT(OPT_EMIT_SOURCE)

/* Collects the options of argv[0..argc-1] into value[] (pointers into argv; NULL when absent),
 * allowing only the options in the mask `allowed`. Returns CLI_OK, CLI_HELP (for --help or -h)
 * or CLI_USAGE (the reason recorded with cli_fail). cmd names the command in messages. */
int cli_collect_options(const char *cmd, int argc, char **argv, unsigned allowed, const char *value[OPT_COUNT]);

typedef struct {
    lrncl_desc desc;           /* mode, convention, layout and parameters; the shape and dtype
                                  come from the input file */
    int has_device;
    unsigned platform, device; /* --device P:D */
    const char *input, *grad_output, *output, *scale_output;
    const char *binaries;      /* --binaries DIR: a binary-only context on that bundle */
    const char *shape;         /* --shape NxCxHxW (compile, explain) */
    size_t shape_dims[4];      /* its four numbers, in the file's order */
    const char *dtype;         /* --dtype f32|f16 with --shape (default f32) */
    int emit_source;           /* compile --emit-source */
} run_options;

/* --device P:D into o (nothing when value is NULL); 0 (recorded) when malformed. */
int cli_device_option(const char *value, run_options *o);
/* The problem flags among the collected values (--mode, --size, --alpha, --beta, --k,
 * --convention, --layout) into *d, from lrncl_desc_init's defaults; the shape stays 0. 1 on
 * success, else 0 (recorded). */
int cli_build_problem(const char *value[OPT_COUNT], lrncl_desc *d);
/* Turns the collected values of forward (backward = 0) or backward into *o, with
 * lrncl_desc_init's defaults; checks the required files. 1 on success, else 0 (recorded). */
int cli_build_run_options(int backward, const char *value[OPT_COUNT], run_options *o);
/* "NxCxHxW" (or any four dimensions in that form): four positive decimal integers separated by
 * 'x', nothing else, into dims; 1 on success, 0 otherwise (nothing recorded: the caller says
 * which order it expects). */
int cli_parse_shape(const char *s, size_t dims[4]);
/* The same for compile and explain: the problem flags, and --input or --shape (exactly one);
 * compile needs --output. */
int cli_build_problem_options(int compile, const char *value[OPT_COUNT], run_options *o);

#endif /* LRNCL_CLI_OPTIONS_H */
