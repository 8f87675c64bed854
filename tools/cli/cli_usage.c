/* cli_usage.c: the lrncl command's usage texts (general and per command) and --version. */
#include "cli_usage.h"

#include "lrncl.h"

#include <stdio.h>
#include <string.h>

#ifndef LRNCL_CLI_VERSION
#error "LRNCL_CLI_VERSION (the project version) must be defined by the build"
#endif

const char cli_usage_text[] =
    "usage: lrncl <command> [options]\n"
    "       lrncl <command> --help     that command's own usage\n"
    "       lrncl --version            the program's and the library's version\n"
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
    "              the device, kernels, launch sizes and where each program came from\n"
    "  demo        [--device P:D] AlexNet's LRN layers, checked against the float64\n"
    "              reference and timed (median of 10 runs after a warm-up)\n"
    "  bench       [--case NAME] [--runs N] [--layout nchw|nhwc] [--dtype f32|f16] [--json]\n"
    "              [--device P:D] runs lrncl-bench, the performance suite: time, GB/s,\n"
    "              % of a copy, ratio to oneDNN and to a naive kernel (lrncl-bench --help)\n"
    "  tune        [--case NAME | --shape NxCxHxW [params]] [--runs N] [--layout L]\n"
    "              [--dtype T] [--device P:D] [--db FILE]\n"
    "              times every work-group size and slide block of the bench's cases or of\n"
    "              one problem, and stores the fastest for LRNCL_TUNING_DB\n"
    "\n"
    "Programs are cached on disk in $LRNCL_CACHE_DIR (default $XDG_CACHE_HOME/lrncl, else\n"
    "~/.cache/lrncl; LRNCL_CACHE_DIR=off turns the cache off).\n"
    "\n";

const char cli_params_text[] =
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
    "                            (default: $LRNCL_DEVICE, else the first device)\n";

static const char files_text[] =
    "\n"
    "Files are NumPy .npy, C order, 4-D: (N,C,H,W) with --layout nchw, (N,H,W,C) with\n"
    "--layout nhwc. dtype float32 or float16 (stored as float16, computed in float32);\n"
    "--grad-output must match the input's dtype and shape. Outputs have the input's shape,\n"
    "layout and dtype, except --scale-output, which is always float32. Output files are\n"
    "replaced only when the whole run succeeded, all or none, keeping their mode (a link is\n"
    "written through; a read-only file is refused). A pipe or device (/dev/stdout, a FIFO)\n"
    "is written in place, first.\n";

static const struct {
    const char *name, *usage;
    int params; /* 1: print the params and files texts after it */
} commands[] = {
    {"devices",
     "usage: lrncl devices\n"
     "\n"
     "Lists every OpenCL platform and device as P:D (the numbers --device and LRNCL_DEVICE\n"
     "take), with the device's name, type and OpenCL C version; [default] marks the device\n"
     "lrncl uses without --device: $LRNCL_DEVICE, else the first device.\n",
     0},
    {"forward",
     "usage: lrncl forward [params] --input x.npy --output y.npy [--scale-output s.npy]\n"
     "                     [--binaries DIR]\n"
     "\n"
     "LRN forward of x into y; --scale-output also writes the scale\n"
     "(k + a * sum of squares over the window, float32) a later backward can reuse.\n"
     "--binaries DIR runs from the program bundle DIR alone (see lrncl compile): a program it\n"
     "lacks is an error naming the command that makes it, never a build from source.\n"
     "\n",
     1},
    {"backward",
     "usage: lrncl backward [params] --input x.npy --grad-output dy.npy --output dx.npy\n"
     "                      [--binaries DIR]\n"
     "\n"
     "LRN backward: dx from x and dy. The forward runs first (y and its scale), then the\n"
     "backward reads them. --binaries DIR as for lrncl forward.\n"
     "\n",
     1},
    {"compile",
     "usage: lrncl compile [params] (--input x.npy | --shape NxCxHxW [--dtype f32|f16])\n"
     "                     --output DIR [--emit-source]\n"
     "\n"
     "Adds the OpenCL programs this problem needs to the bundle folder DIR (created if\n"
     "missing): one device binary per kernel variant, <variant>.bin, and a line each in\n"
     "DIR/manifest.txt (with its size and checksum). Run it again with other problems to add\n"
     "more; what DIR holds stays, except binaries that do not match their line, rebuilt.\n"
     "The binaries are for this device and driver only. --shape takes the file's order\n"
     "(NxHxWxC with --layout nhwc); --dtype f32 (default) or f16.\n"
     "--emit-source writes <variant>.cl and <variant>.options instead, building nothing: the\n"
     "input of a vendor's offline compiler, whose binary goes into DIR as <variant>.bin;\n"
     "running the same --emit-source command again then records it in the manifest.\n"
     "Use the bundle with lrncl forward|backward --binaries DIR, or\n"
     "lrncl_context_create_from_bundle / lrncl_context_set_bundle.\n"
     "\n",
     1},
    {"explain",
     "usage: lrncl explain [params] (--input x.npy | --shape NxCxHxW [--dtype f32|f16])\n"
     "                     [--binaries DIR]\n"
     "\n"
     "Makes the plan and prints what it would do: the device and the class of kernels\n"
     "chosen, whether the disk cache is used (and if not, why: LRNCL_CACHE_DIR=off, or a\n"
     "folder of another user or writable by others), each kernel by name with the global\n"
     "and local sizes its runs enqueue, its slide block and where its tuning came from,\n"
     "and each program with where it came from (memory, bundle, disk cache, built) and\n"
     "its build options; then the time the plan took to make.\n"
     "\n",
     1},
    {"demo",
     "usage: lrncl demo [--device P:D]\n"
     "\n"
     "AlexNet's norm1 and norm2 (across channels) and a within-channel layer, forward and\n"
     "backward on one device: each result checked against the float64 reference (bound 1e-5\n"
     "of the largest value), each pass timed with profiling events (median of 10 runs after\n"
     "a warm-up). Exit 1 when a check fails.\n",
     0},
    {"bench",
     "usage: lrncl bench [lrncl-bench options]\n"
     "\n"
     "Runs lrncl-bench, the performance suite, with the same options: the one beside this\n"
     "program, else the one on PATH. lrncl-bench is a separate program, built where oneDNN\n"
     "(libdnnl-dev) is found; `lrncl-bench --help` lists its options.\n",
     0},
};

int cli_print_command_usage(const char *cmd) {
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(cmd, commands[i].name) == 0) {
            fputs(commands[i].usage, stdout);
            if (commands[i].params) {
                fputs(cli_params_text, stdout);
                fputs(files_text, stdout);
            }
            return 1;
        }
    return 0;
}

void cli_print_version(void) {
    printf("lrncl %s\nlibrary: liblrncl %s (built with header %d.%d.%d)\n", LRNCL_CLI_VERSION, lrncl_version_string(),
           LRNCL_VERSION_MAJOR, LRNCL_VERSION_MINOR, LRNCL_VERSION_PATCH);
}
