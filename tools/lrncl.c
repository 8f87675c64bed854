/* lrncl.c: the lrncl command-line program: usage and dispatch to the subcommands.
 *
 *   lrncl devices    list the OpenCL devices as platform:device indices, marking the default
 *                    (cli_device.c)
 *   lrncl forward    LRN forward of a 4-D float32 or float16 .npy file, NCHW or NHWC
 *                    (optionally writing the float32 scale) (cli_run.c)
 *   lrncl backward   LRN backward: dx from x and dy (the forward runs first, with its scale)
 *   lrncl demo       AlexNet's LRN layers on the default device, checked against the float64
 *                    reference and timed with profiling events (cli_demo.c)
 *   lrncl tune       times every launch tuning of the bench's cases, stores the fastest (tune.c)
 *   lrncl compile    adds a problem's programs to a bundle folder, or writes their sources
 *                    for an offline compiler (cli_store.c)
 *   lrncl explain    what a plan does: device, kernels and launch sizes, programs (cli_store.c)
 *   lrncl bench      runs lrncl-bench, the performance suite (a separate program, built where
 *                    oneDNN is found: it links oneDNN, which lrncl itself does not)
 *
 * Errors: exit status 1 (2 for a bad command line) and exactly one line "lrncl: <what is
 * wrong>" on stderr. cli_fail() records the first failure, the cleanup ladders run, and main prints
 * it. Option parsing is in cli_options.c. */
#define _POSIX_C_SOURCE 200809L /* execv, readlink */

#include "cli_commands.h"
#include "cli_common.h"
#include "cli_device.h"
#include "cli_options.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
    "usage: lrncl <command> [options]\n"
    "\n"
    "commands:\n"
    "  devices     list OpenCL devices as platform:device ([default] marks the default)\n"
    "  forward     [params] --input x.npy --output y.npy [--scale-output s.npy]\n"
    "              [--binaries DIR]\n"
    "  backward    [params] --input x.npy --grad-output dy.npy --output dx.npy\n"
    "              [--binaries DIR]\n"
    "  compile     [params] (--input x.npy | --shape NxCxHxW [--dtype f32|f16]) --output DIR\n"
    "              [--emit-source] adds the problem's programs to the bundle DIR\n"
    "  explain     [params] (--input x.npy | --shape NxCxHxW [--dtype f32|f16]) [--binaries DIR]\n"
    "              prints the device, kernels, launch sizes and where each program came from\n"
    "  demo        [--device P:D] AlexNet's LRN layers, checked against the float64\n"
    "              reference and timed (median of 10 runs after a warm-up)\n"
    "  bench       [--case NAME] [--runs N] [--layout nchw|nhwc] [--dtype f32|f16] [--json]\n"
    "              [--device P:D] runs lrncl-bench, the performance suite: time, GB/s,\n"
    "              % of a copy, ratio to oneDNN and to a naive kernel (lrncl-bench --help)\n"
    "  tune        [--case NAME] [--runs N] [--layout L] [--dtype T] [--device P:D] [--db FILE]\n"
    "              times every work-group size and slide block of the bench's cases and\n"
    "              stores the fastest for LRNCL_TUNING_DB (lrncl tune --help for more)\n"
    "\n"
    "params (the convention's meaning; defaults are Caffe's, whatever the convention):\n"
    "  --mode across|within      window across channels (default) or within a channel\n"
    "  --size N                  window size (default 5); odd for caffe; for tensorflow\n"
    "                            it is depth_radius r, a window of 2r+1 channels\n"
    "  --alpha A                 scaling (default 1): a = A/N across, A/N^2 within;\n"
    "                            tensorflow: a = A (raw)\n"
    "  --beta B                  exponent (default 0.75)\n"
    "  --k K                     bias (default 1; caffe within-channel uses 1 in its place)\n"
    "  --convention C            whose meaning --size, --alpha and --k carry (default caffe):\n"
    "                            caffe, pytorch, onnx, tensorflow, cudnn, miopen, onednn\n"
    "                            (within-channel: caffe, miopen and onednn only)\n"
    "  --layout nchw|nhwc        layout of every .npy file (default nchw)\n"
    "  --device P:D              platform P, device D as 'lrncl devices' numbers them\n"
    "                            (default: $LRNCL_DEVICE, else the first device)\n"
    "  --binaries DIR            run from the program bundle DIR alone (made by lrncl compile);\n"
    "                            a program it lacks is an error, never a build from source\n"
    "\n"
    "Programs are cached on disk in $LRNCL_CACHE_DIR (default $XDG_CACHE_HOME/lrncl, else\n"
    "~/.cache/lrncl; LRNCL_CACHE_DIR=off turns the cache off). Each command has its own --help.\n"
    "\n"
    "Files are NumPy .npy, C order, 4-D: (N,C,H,W) with --layout nchw, (N,H,W,C) with\n"
    "--layout nhwc. dtype float32 or float16 (stored as float16, computed in float32);\n"
    "--grad-output must match the input's dtype and shape. Outputs have the input's shape,\n"
    "layout and dtype, except --scale-output, which is always float32.\n";


/* Each command's own usage (`lrncl COMMAND --help`). */
static const char params_text[] =
    "params: --mode across|within, --size N, --alpha A, --beta B, --k K, --convention C,\n"
    "        --layout nchw|nhwc, --device P:D (lrncl --help explains each)\n";
static const struct {
    const char *cmd, *text;
} command_usage[] = {
    {"devices", "usage: lrncl devices\n\nLists the OpenCL devices as platform:device indices; [default] marks\n"
                "the one lrncl uses without --device or LRNCL_DEVICE.\n"},
    {"forward", "usage: lrncl forward [params] --input x.npy --output y.npy [--scale-output s.npy]\n"
                "                     [--binaries DIR]\n\n"
                "LRN forward of a 4-D float32 or float16 .npy file (NCHW, or NHWC with --layout nhwc).\n"
                "--scale-output also writes the float32 scale. --binaries DIR runs from the bundle DIR\n"
                "alone (see lrncl compile): a program it lacks is an error naming the command that makes it.\n"},
    {"backward", "usage: lrncl backward [params] --input x.npy --grad-output dy.npy --output dx.npy\n"
                 "                      [--binaries DIR]\n\n"
                 "LRN backward: dx from x and dy (the forward runs first, writing its scale).\n"
                 "--binaries DIR as for lrncl forward.\n"},
    {"demo", "usage: lrncl demo [--device P:D]\n\nAlexNet's LRN layers on the device, checked against the "
             "float64 reference\nand timed (median of 10 runs after a warm-up).\n"},
    {"compile", "usage: lrncl compile [params] (--input x.npy | --shape NxCxHxW [--dtype f32|f16])\n"
                "                     --output DIR [--emit-source]\n\n"
                "Adds the OpenCL programs this problem needs to the bundle folder DIR (created if\n"
                "missing): one device binary per kernel variant, <variant>.bin, and a line each in\n"
                "DIR/manifest.txt. Run it again with other problems to add more; what DIR holds stays.\n"
                "The binaries are for this device and driver only. --shape takes the file's order\n"
                "(NxHxWxC with --layout nhwc); --dtype f32 (default) or f16.\n"
                "--emit-source writes <variant>.cl and <variant>.options instead, building nothing: the\n"
                "input of a vendor's offline compiler, whose binary goes into DIR as <variant>.bin.\n"
                "Use the bundle with lrncl forward|backward --binaries DIR, or\n"
                "lrncl_context_create_from_bundle / lrncl_context_set_bundle.\n"},
    {"explain", "usage: lrncl explain [params] (--input x.npy | --shape NxCxHxW [--dtype f32|f16])\n"
                "                     [--binaries DIR]\n\n"
                "Makes the plan and prints what it would do: the device and the class of kernels\n"
                "chosen, each kernel by name with the global and local sizes its runs enqueue, its\n"
                "slide block and where its tuning came from, and each program with where it came\n"
                "from (memory, bundle, disk cache, built) and its build options; then the time the\n"
                "plan took to make.\n"},
};

static int print_command_usage(const char *cmd) {
    for (size_t i = 0; i < sizeof command_usage / sizeof command_usage[0]; i++)
        if (strcmp(cmd, command_usage[i].cmd) == 0) {
            fputs(command_usage[i].text, stdout);
            if (strcmp(cmd, "devices") != 0 && strcmp(cmd, "demo") != 0)
                fputs(params_text, stdout);
            return 1;
        }
    return 0;
}

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
    if (err == ENOENT)
        fprintf(stderr, "lrncl: lrncl-bench is not installed: the benchmark is a separate program, built "
                        "when oneDNN (libdnnl-dev) is found at configure time\n");
    else
        fprintf(stderr, "lrncl: cannot run lrncl-bench: %s\n", strerror(err));
    return CLI_FAILED;
}

/* ---- main ---------------------------------------------------------------------------------- */

static int run_command(int argc, char **argv) {
    const char *cmd = argv[1];
    const char *value[OPT_COUNT];
    run_options o;
    memset(&o, 0, sizeof o);
    int backward = strcmp(cmd, "backward") == 0;
    unsigned allowed;

    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0)
        return CLI_HELP;
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
    if (rc == CLI_HELP && print_command_usage(cmd))
        return CLI_OK;
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

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs(usage_text, stdout);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "bench") == 0) /* its own options, errors and exit statuses */
        return forward_to_bench(argc, argv);
    if (strcmp(argv[1], "tune") == 0)
        return tune_main(argc, argv);
    int rc = run_command(argc, argv);
    if (rc == CLI_HELP) {
        fputs(usage_text, stdout);
        return CLI_OK;
    }
    if (rc != CLI_OK) {
        fflush(stdout);
        fprintf(stderr, "lrncl: %s\n", cli_error_text());
    }
    return rc;
}
