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
    "  backward    [params] --input x.npy --grad-output dy.npy --output dx.npy\n"
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
    "\n"
    "Files are NumPy .npy, C order, 4-D: (N,C,H,W) with --layout nchw, (N,H,W,C) with\n"
    "--layout nhwc. dtype float32 or float16 (stored as float16, computed in float32);\n"
    "--grad-output must match the input's dtype and shape. Outputs have the input's shape,\n"
    "layout and dtype, except --scale-output, which is always float32.\n";


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
        allowed = OPTS_PARAMS | OPT_BIT(OPT_SCALE_OUTPUT);
    else if (backward)
        allowed = OPTS_PARAMS | OPT_BIT(OPT_GRAD_OUTPUT);
    else {
        cli_fail("unknown command '%s' (expected devices, forward, backward, demo, bench or tune)", cmd);
        return CLI_USAGE;
    }
    int rc = cli_collect_options(cmd, argc - 2, argv + 2, allowed, value);
    if (rc != CLI_OK)
        return rc;
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
