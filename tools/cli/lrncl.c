/* lrncl.c: the lrncl command-line program: usage and dispatch to the subcommands.
 *
 *   lrncl devices    list the OpenCL devices as platform:device indices, marking the default
 *                    (tools/common/cli_device.c)
 *   lrncl forward    LRN forward of a 4-D float32 or float16 .npy file, NCHW or NHWC
 *                    (optionally writing the float32 scale) (cli_run.c)
 *   lrncl backward   LRN backward: dx from x and dy (the forward runs first, with its scale)
 *   lrncl demo       AlexNet's LRN layers on the default device, checked against the float64
 *                    reference and timed with profiling events (cli_demo.c)
 *   lrncl tune       times every launch tuning of the bench's cases or of one problem
 *                    (--shape and the problem flags), stores the fastest (tune.c, tune_problem.c)
 *   lrncl compile    adds a problem's programs to a bundle folder, or writes their sources
 *                    for an offline compiler (cli_store.c)
 *   lrncl explain    what a plan does: device, kernels and launch sizes, programs (cli_store.c)
 *   lrncl bench      runs lrncl-bench, the performance suite (a separate program, built where
 *                    oneDNN is found: it links oneDNN, which lrncl itself does not)
 *
 *   lrncl --version  the program's and the library's version; `lrncl COMMAND --help` prints that
 *                    command's own usage (cli_usage.c)
 *
 * Errors: exit status 1 (2 for a bad command line) and exactly one line "lrncl: <what is
 * wrong>" on stderr; standard output that could not be written (> /dev/full) is an error too.
 * cli_fail() records the first failure, the cleanup ladders run, and main prints it. Option
 * parsing is in cli_options.c. */
#define _POSIX_C_SOURCE 200809L /* execv, readlink */

#include "cli_commands.h"
#include "cli_common.h"
#include "cli_device.h"
#include "cli_options.h"
#include "cli_usage.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* `lrncl bench ARGS` runs `lrncl-bench ARGS`: first the one beside this program (a build tree,
 * or an installed bin/), then the one on PATH. */
static int forward_to_bench(int argc, char **argv) {
    char self[PATH_MAX], path[PATH_MAX + 16];
    char **args = calloc((size_t)argc + 1, sizeof *args);
    if (!args) {
        fprintf(stderr, "lrncl: out of host memory\n");
        return CLI_FAILED;
    }
    args[0] = "lrncl-bench";
    for (int i = 2; i < argc; i++)
        args[i - 1] = argv[i];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            slash[1] = '\0';
            snprintf(path, sizeof path, "%slrncl-bench", self);
            execv(path, args);
        }
    }
    execvp("lrncl-bench", args);
    int err = errno;
    free(args);
    fflush(stdout);
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            /* no lrncl-bench to ask: say what the command is and that it is not built */
            cli_print_command_usage("bench");
            printf("\nlrncl-bench is not installed here.\n");
            return CLI_OK;
        }
    if (err == ENOENT)
        fprintf(stderr, "lrncl: lrncl-bench is not installed: the benchmark is a separate program, built "
                        "when oneDNN (libdnnl-dev) is found at configure time\n");
    else
        fprintf(stderr, "lrncl: cannot run lrncl-bench: %s\n", strerror(err));
    return CLI_FAILED;
}

/* ---- main ---------------------------------------------------------------------------------- */

/* Runs forward, backward, compile, explain, devices or demo; CLI_HELP when the command's own usage is wanted. */
static int run_command(int argc, char **argv) {
    const char *cmd = argv[1];
    const char *value[OPT_COUNT];
    run_options o;
    memset(&o, 0, sizeof o);
    int backward = strcmp(cmd, "backward") == 0;
    unsigned allowed;

    if (strcmp(cmd, "devices") == 0)
        allowed = 0;
    else if (strcmp(cmd, "demo") == 0)
        allowed = OPT_BIT(OPT_DEVICE);
    else if (strcmp(cmd, "forward") == 0)
        allowed = OPTS_PARAMS | OPT_BIT(OPT_SCALE_OUTPUT) | OPT_BIT(OPT_BINARIES);
    else if (backward)
        allowed = OPTS_PARAMS | OPT_BIT(OPT_GRAD_OUTPUT) | OPT_BIT(OPT_BINARIES);
    else if (strcmp(cmd, "compile") == 0)
        allowed = OPTS_PROBLEM | OPT_BIT(OPT_SHAPE) | OPT_BIT(OPT_DTYPE) | OPT_BIT(OPT_OUTPUT) |
                  OPT_BIT(OPT_EMIT_SOURCE);
    else if (strcmp(cmd, "explain") == 0)
        allowed = OPTS_PROBLEM | OPT_BIT(OPT_SHAPE) | OPT_BIT(OPT_DTYPE) | OPT_BIT(OPT_BINARIES);
    else {
        cli_fail("unknown command '%s' (expected devices, forward, backward, compile, explain, demo, bench "
                 "or tune)", cmd);
        return CLI_USAGE;
    }
    int rc = cli_collect_options(cmd, argc - 2, argv + 2, allowed, value);
    if (rc != CLI_OK)
        return rc;
    if (strcmp(cmd, "compile") == 0 || strcmp(cmd, "explain") == 0) {
        int compile = strcmp(cmd, "compile") == 0;
        if (!cli_build_problem_options(compile, value, &o))
            return CLI_USAGE;
        return compile ? cli_cmd_compile(&o) : cli_cmd_explain(&o);
    }
    if (strcmp(cmd, "devices") == 0)
        return cli_cmd_devices();
    if (strcmp(cmd, "demo") == 0)
        return cli_device_option(value[OPT_DEVICE], &o) ? cli_cmd_demo(&o) : CLI_USAGE;
    if (!cli_build_run_options(backward, value, &o))
        return CLI_USAGE;
    return cli_cmd_run(backward, &o);
}

static int dispatch(int argc, char **argv) {
    if (argc < 2) {
        fputs(cli_usage_text, stdout);
        fputs(cli_params_text, stdout);
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(cli_usage_text, stdout);
        fputs(cli_params_text, stdout);
        return CLI_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        if (argc > 2) {
            fprintf(stderr, "lrncl: --version takes no arguments\n");
            return CLI_USAGE;
        }
        cli_print_version();
        return CLI_OK;
    }
    if (strcmp(cmd, "bench") == 0) /* its own options, errors and exit statuses */
        return forward_to_bench(argc, argv);
    if (strcmp(cmd, "tune") == 0)
        return tune_main(argc, argv);
    int rc = run_command(argc, argv);
    if (rc == CLI_HELP) {
        cli_print_command_usage(cmd);
        return CLI_OK;
    }
    if (rc != CLI_OK) {
        fflush(stdout);
        fprintf(stderr, "lrncl: %s\n", cli_error_text());
    }
    return rc;
}

int main(int argc, char **argv) {
    int rc = dispatch(argc, argv);
    /* A command that printed into a full disk or a closed stream has failed; one that failed
     * already has said why. */
    if (!cli_finish_stdout() && rc == CLI_OK) {
        fprintf(stderr, "lrncl: %s\n", cli_error_text());
        rc = CLI_FAILED;
    }
    return rc;
}
