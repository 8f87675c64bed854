/* bench.c: `lrncl bench`, the performance suite of SPEC section 7.
 *
 * For every case of a fixed suite (AlexNet's and GoogLeNet's LRN layers across channels, two
 * within-channel shapes) and every pass (forward inference, forward training, backward): the
 * median of --runs event-timed runs after warm-up, the GB/s of the fewest bytes the pass must
 * move, that as a percentage of a clEnqueueCopyBuffer moving the same bytes on the same device,
 * and two peers timed in the same run: oneDNN's LRN on the CPU (when built with libdnnl) and a
 * naive OpenCL kernel compiled here from a string. Inputs are random and rotate through enough
 * buffer sets that every pass cycles through more than 64 MiB, so no run finds its data in the
 * last-level cache; the copy and oneDNN rotate alike. Before timing, every case is checked
 * against the float64 reference on the whole tensor (lrncl, the naive kernel and oneDNN alike,
 * to SPEC section 6's bounds); a failed check makes the exit status 1.
 *
 * Timing: one run is enqueued after a marker on a profiling queue and finished before the next;
 * its time runs from the marker's end to the end of the run's last command (lrncl may enqueue
 * several kernels). lrncl, copy and naive runs are interleaved run by run, and oneDNN's
 * (clock_gettime around execute + wait) alternate with them in blocks of a few rounds, so that
 * drift on a noisy machine hits every contender alike; each block first waits until the other
 * side's threads are idle, so oneDNN's OpenMP threads, which spin for 8-10 ms after each call,
 * never compete with a timed OpenCL run, and opens with an untimed run (see time_pass).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, CLOCK_MONOTONIC */

#include "bench.h"
#include "cli_common.h"
#include "lrncl.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef LRNCL_BENCH_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#endif
#ifdef LRNCL_BENCH_OPENMP
#include <omp.h>
#endif

enum { BENCH_OK = 0, BENCH_FAILED = 1, BENCH_USAGE = 2, BENCH_HELP = 3 /* internal */ };

static const char bench_usage[] =
    "usage: lrncl bench [--case NAME] [--runs N] [--layout nchw|nhwc] [--dtype f32|f16]\n"
    "                   [--json] [--device P:D]\n"
    "\n"
    "Times every case below in three passes (forward inference, forward training, backward):\n"
    "median of N event-timed runs after warm-up (default 20, the least SPEC section 7 accepts),\n"
    "GB/s of the fewest bytes, % of a clEnqueueCopyBuffer of those bytes, and the ratio to\n"
    "oneDNN's LRN on the CPU and to a naive OpenCL kernel, all measured in the same run.\n"
    "Each case is first checked against the float64 reference; a failed check exits 1.\n"
    "\n"
    "  --case NAME       one case: alexnet-norm1, alexnet-norm2, googlenet, within-small,\n"
    "                    within-alexnet (default: all)\n"
    "  --runs N          timed runs per measurement (default 20; fewer is allowed for a\n"
    "                    quick look and marked as not for reports)\n"
    "  --layout L        nchw (default) or nhwc, for lrncl, the copy, the naive kernel and oneDNN\n"
    "  --dtype T         f32 (default) or f16 (float16 storage; the scale stays float32;\n"
    "                    oneDNN runs float32)\n"
    "  --json            a JSON array of one object per case and pass instead of the table\n"
    "  --device P:D      platform P, device D as 'lrncl devices' numbers them\n";

/* ---- error reporting ----------------------------------------------------------------------- */

/* Prints the recorded failure as "lrncl: [prefix: ]what" and forgets it. */
static void report_error(const char *prefix) {
    fflush(stdout);
    fprintf(stderr, "lrncl: %s%s%s\n", prefix ? prefix : "", prefix ? ": " : "", cli_error_text());
    cli_error_reset();
}



#ifdef LRNCL_BENCH_ONEDNN
static int dn_ok(dnnl_status_t s, const char *what) {
    if (s == dnnl_success)
        return 1;
    cli_fail("%s failed: oneDNN status %d", what, (int)s);
    return 0;
}
#endif


/* ---- the suite ------------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    lrncl_mode mode;
    size_t n, c, h, w;
    int size;
} bench_case;

/* Caffe's parameters for all: alpha 1e-4, beta 0.75, k 1. */
static const bench_case bench_cases[] = {
    {"alexnet-norm1", LRNCL_ACROSS_CHANNELS, 8, 96, 55, 55, 5},
    {"alexnet-norm2", LRNCL_ACROSS_CHANNELS, 8, 256, 27, 27, 5},
    {"googlenet", LRNCL_ACROSS_CHANNELS, 4, 192, 56, 56, 5},
    {"within-small", LRNCL_WITHIN_CHANNEL, 32, 32, 16, 16, 3},
    {"within-alexnet", LRNCL_WITHIN_CHANNEL, 8, 96, 55, 55, 5},
};
enum { BENCH_NCASES = (int)(sizeof bench_cases / sizeof bench_cases[0]) };
static const float bench_alpha = 1e-4f, bench_beta = 0.75f, bench_k = 1.0f;

enum { PASS_INFER, PASS_TRAIN, PASS_BACKWARD, PASS_COUNT };
static const char *const pass_names[PASS_COUNT] = {"fwd-infer", "fwd-train", "backward"};

enum { MIN_REPORT_RUNS = 20 };
/* Every pass cycles through more than this many bytes (the L3 here is 32 MiB). */
static const size_t rotate_bytes = (size_t)64 << 20;
enum { MAX_SLOTS = 256 };
enum { NAIVE_LOCAL = 64 };
enum { WARM_UP_ROUNDS = 2 };
/* A peer whose runs would take longer than this per pass gets fewer timed runs (at least
 * PEER_MIN_RUNS, marked in the report): oneDNN's reference within-channel backward takes
 * seconds a run, and the whole bench should stay within a few minutes. lrncl and the copy
 * always get --runs. */
static const double peer_budget_s = 10.0;
enum { PEER_MIN_RUNS = 5 };

typedef struct {
    const char *only_case;
    int runs;
    lrncl_layout layout;
    lrncl_dtype dtype;
    int json;
    int has_device;
    unsigned platform, device;
    const char *db_path; /* lrncl tune only: the database file to update */
} bench_options;

/* ---- option parsing ------------------------------------------------------------------------- */

/* argv[2..]: "--name value", "--name=value" and the flag --json. */
static int parse_options(int argc, char **argv, bench_options *o) {
    memset(o, 0, sizeof *o);
    o->runs = MIN_REPORT_RUNS;
    o->layout = LRNCL_LAYOUT_NCHW;
    o->dtype = LRNCL_FLOAT32;
    int seen_runs = 0, seen_layout = 0, seen_dtype = 0;
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return BENCH_HELP;
        if (strcmp(arg, "--json") == 0) {
            o->json = 1;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0) {
            cli_fail("unexpected argument '%s' (see lrncl %s --help)", arg, argv[1]);
            return BENCH_USAGE;
        }
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        static const char *const names[] = {"case", "runs", "layout", "dtype", "device", "db"};
        const int nnames = strcmp(argv[1], "tune") == 0 ? 6 : 5; /* --db is lrncl tune's */
        int which = 0;
        while (which < nnames && !(strlen(names[which]) == len && strncmp(names[which], name, len) == 0))
            which++;
        if (which == nnames) {
            cli_fail("unknown option '%.*s' for lrncl %s (see lrncl %s --help)", (int)len + 2, arg, argv[1], argv[1]);
            return BENCH_USAGE;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
        if (!v || !*v || (!eq && strncmp(v, "--", 2) == 0)) {
            cli_fail("--%s needs a value", names[which]);
            return BENCH_USAGE;
        }
        if (!eq)
            i++;
        int *seen = which == 1 ? &seen_runs : which == 2 ? &seen_layout : which == 3 ? &seen_dtype : NULL;
        if ((which == 0 && o->only_case) || (which == 4 && o->has_device) || (which == 5 && o->db_path) ||
            (seen && *seen)) {
            cli_fail("--%s given twice", names[which]);
            return BENCH_USAGE;
        }
        if (seen)
            *seen = 1;
        switch (which) {
        case 0: {
            int k = 0;
            while (k < BENCH_NCASES && strcmp(v, bench_cases[k].name) != 0)
                k++;
            if (k == BENCH_NCASES) {
                cli_fail("unknown --case '%s' (expected alexnet-norm1, alexnet-norm2, googlenet, within-small or "
                     "within-alexnet)", v);
                return BENCH_USAGE;
            }
            o->only_case = bench_cases[k].name;
            break;
        }
        case 1: {
            char *end;
            errno = 0;
            long r = strtol(v, &end, 10);
            if (*end || errno || r < 1 || r > 100000) {
                cli_fail("--runs: '%s' is not a count from 1 to 100000", v);
                return BENCH_USAGE;
            }
            o->runs = (int)r;
            break;
        }
        case 2:
            if (strcmp(v, "nchw") == 0)
                o->layout = LRNCL_LAYOUT_NCHW;
            else if (strcmp(v, "nhwc") == 0)
                o->layout = LRNCL_LAYOUT_NHWC;
            else {
                cli_fail("unknown --layout '%s' (expected nchw or nhwc)", v);
                return BENCH_USAGE;
            }
            break;
        case 3:
            if (strcmp(v, "f32") == 0)
                o->dtype = LRNCL_FLOAT32;
            else if (strcmp(v, "f16") == 0)
                o->dtype = LRNCL_FLOAT16;
            else {
                cli_fail("unknown --dtype '%s' (expected f32 or f16)", v);
                return BENCH_USAGE;
            }
            break;
        case 5:
            o->db_path = v;
            break;
        default:
            if (!cli_parse_device_pair(v, &o->platform, &o->device)) {
                cli_fail("--device: '%s' is not of the form P:D (e.g. 0:0)", v);
                return BENCH_USAGE;
            }
            o->has_device = 1;
            break;
        }
    }
    return BENCH_OK;
}

/* ---- host data: random values, float16, layouts ---------------------------------------------- */

/* Deterministic, roughly normal values (sum of 4 uniforms, variance 1): xorshift64*. */
static double bench_random(uint64_t *state) {
    double sum = 0;
    for (int i = 0; i < 4; i++) {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        sum += (double)((*state * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
    }
    return (sum - 2.0) * 1.7320508075688772;
}

/* IEEE binary16 bits of f, rounded to nearest even (what vstore_half_rte does). */
static uint16_t float_to_half(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t mag = u & 0x7fffffffu;
    if (mag >= 0x7f800000u) /* Inf, NaN */
        return (uint16_t)(sign | 0x7c00u | (mag > 0x7f800000u ? 0x200u : 0u));
    if (mag >= 0x477ff000u) /* rounds to 65536 or more: Inf */
        return (uint16_t)(sign | 0x7c00u);
    if (mag < 0x38800000u) { /* below 2^-14: a subnormal half (or zero), in units of 2^-24 */
        float v;
        memcpy(&v, &mag, sizeof v);
        return (uint16_t)(sign | (uint16_t)lrintf(v * 16777216.0f));
    }
    uint32_t m = mag - 0x38000000u; /* rebias the exponent from 127 to 15 */
    return (uint16_t)(sign | ((m + 0x0fffu + ((m >> 13) & 1u)) >> 13));
}

static float half_to_float(uint16_t h) {
    unsigned e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    float f = e == 0 ? ldexpf((float)m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexpf((float)(m | 0x400u), (int)e - 25);
    return (h & 0x8000u) ? -f : f;
}

typedef struct {
    size_t n, c, h, w;
    int nhwc;
} dims4;

/* Element offset of (n, c, h, w) in a contiguous NCHW or NHWC tensor. */
static size_t storage_offset(const dims4 *d, size_t n, size_t c, size_t h, size_t w) {
    return d->nhwc ? ((n * d->h + h) * d->w + w) * d->c + c : ((n * d->c + c) * d->h + h) * d->w + w;
}

/* NCHW floats into the storage layout, as float (esize 4) or float16 bits (esize 2). */
static void pack(const dims4 *d, size_t esize, const float *nchw, void *dst) {
    size_t i = 0;
    for (size_t n = 0; n < d->n; n++)
        for (size_t c = 0; c < d->c; c++)
            for (size_t h = 0; h < d->h; h++)
                for (size_t w = 0; w < d->w; w++, i++) {
                    size_t o = storage_offset(d, n, c, h, w);
                    if (esize == 2)
                        ((uint16_t *)dst)[o] = float_to_half(nchw[i]);
                    else
                        ((float *)dst)[o] = nchw[i];
                }
}

/* The reverse of pack. */
static void unpack(const dims4 *d, size_t esize, const void *src, float *nchw) {
    size_t i = 0;
    for (size_t n = 0; n < d->n; n++)
        for (size_t c = 0; c < d->c; c++)
            for (size_t h = 0; h < d->h; h++)
                for (size_t w = 0; w < d->w; w++, i++) {
                    size_t o = storage_offset(d, n, c, h, w);
                    nchw[i] = esize == 2 ? half_to_float(((const uint16_t *)src)[o]) : ((const float *)src)[o];
                }
}

/* ---- statistics and clocks ------------------------------------------------------------------- */


static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof v[0], cli_compare_double);
    return (v[(n - 1) / 2] + v[n / 2]) / 2;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Waits until no thread of this process is running: at most QUIET_MAX_MS, in steps of
 * QUIET_STEP_MS, until a step adds under a fifth of a core's time to the process (Linux updates
 * other threads' CPU time at scheduler ticks, so a step spans a few). oneDNN's OpenMP workers spin
 * for a while after each call (libgomp 8-10 ms on this kind of machine, LLVM's libomp 200 ms by
 * default), and a spinning worker holds a core that the next side's runs need: on 2 cores, the
 * first OpenCL runs after each oneDNN block ran beside it (seen as a busy first step after every
 * block). */
enum { QUIET_MAX_MS = 300, QUIET_STEP_MS = 10 };
static void wait_quiet(void) {
    for (int i = 0; i < QUIET_MAX_MS / QUIET_STEP_MS; i++) {
        struct timespec c0, c1, step = {0, QUIET_STEP_MS * 1000000L};
        double w0 = now_s();
        if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0) != 0)
            break;
        nanosleep(&step, NULL);
        if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1) != 0)
            break;
        double busy = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) * 1e-9;
        if (busy < 0.2 * (now_s() - w0))
            break;
    }
}

/* ---- the naive OpenCL peer -------------------------------------------------------------------- */

/* What a first attempt looks like: one work-item per element in memory order, the window
 * re-read for every element, pow() for the power. -D NAIVE_HALF=0|1 (float16 storage through
 * vload_half / vstore_half_rte), -D NAIVE_NHWC=0|1. Two pieces: C only promises 4095
 * characters per string literal. */
static const char naive_source_head[] =
    "#if NAIVE_HALF\n"
    "#define LD(p, i) vload_half((i), (p))\n"
    "#define ST(p, i, v) vstore_half_rte((v), (i), (p))\n"
    "typedef half store_t;\n"
    "#else\n"
    "#define LD(p, i) ((p)[i])\n"
    "#define ST(p, i, v) ((p)[i] = (v))\n"
    "typedef float store_t;\n"
    "#endif\n"
    "size_t naive_at(int n, int c, int h, int w, int C, int H, int W) {\n"
    "#if NAIVE_NHWC\n"
    "    return (((size_t)n * H + h) * W + w) * C + c;\n"
    "#else\n"
    "    return (((size_t)n * C + c) * H + h) * W + w;\n"
    "#endif\n"
    "}\n"
    "void naive_coords(size_t i, int C, int H, int W, int *n, int *c, int *h, int *w) {\n"
    "#if NAIVE_NHWC\n"
    "    *c = (int)(i % C); i /= C; *w = (int)(i % W); i /= W; *h = (int)(i % H); *n = (int)(i / H);\n"
    "#else\n"
    "    *w = (int)(i % W); i /= W; *h = (int)(i % H); i /= H; *c = (int)(i % C); *n = (int)(i / C);\n"
    "#endif\n"
    "}\n";
static const char naive_source_body[] =
    "__kernel void naive_forward(__global const store_t *x, __global store_t *y, int N, int C, int H,\n"
    "                            int W, int within, int lo, int hi, float a, float k, float beta) {\n"
    "    size_t i = get_global_id(0);\n"
    "    if (i >= (size_t)N * C * H * W) return;\n"
    "    int n, c, h, w;\n"
    "    naive_coords(i, C, H, W, &n, &c, &h, &w);\n"
    "    float sum = 0.0f;\n"
    "    if (!within) {\n"
    "        for (int j = max(c - lo, 0); j <= min(c + hi, C - 1); j++) {\n"
    "            float v = LD(x, naive_at(n, j, h, w, C, H, W)); sum += v * v;\n"
    "        }\n"
    "    } else {\n"
    "        for (int p = max(h - lo, 0); p <= min(h + hi, H - 1); p++)\n"
    "            for (int q = max(w - lo, 0); q <= min(w + hi, W - 1); q++) {\n"
    "                float v = LD(x, naive_at(n, c, p, q, C, H, W)); sum += v * v;\n"
    "            }\n"
    "    }\n"
    "    ST(y, i, LD(x, i) * pow(k + a * sum, -beta));\n"
    "}\n"
    "/* dx = dy s^-beta - 2 a beta x * (sum of dy y / s over the positions whose window holds i) */\n"
    "__kernel void naive_backward(__global const store_t *x, __global const store_t *y,\n"
    "                             __global const store_t *dy, __global const float *scale,\n"
    "                             __global store_t *dx, int N, int C, int H, int W, int within,\n"
    "                             int lo, int hi, float a, float beta) {\n"
    "    size_t i = get_global_id(0);\n"
    "    if (i >= (size_t)N * C * H * W) return;\n"
    "    int n, c, h, w;\n"
    "    naive_coords(i, C, H, W, &n, &c, &h, &w);\n"
    "    float sum = 0.0f;\n"
    "    if (!within) {\n"
    "        for (int j = max(c - hi, 0); j <= min(c + lo, C - 1); j++) {\n"
    "            size_t t = naive_at(n, j, h, w, C, H, W); sum += LD(dy, t) * LD(y, t) / scale[t];\n"
    "        }\n"
    "    } else {\n"
    "        for (int p = max(h - hi, 0); p <= min(h + lo, H - 1); p++)\n"
    "            for (int q = max(w - hi, 0); q <= min(w + lo, W - 1); q++) {\n"
    "                size_t t = naive_at(n, c, p, q, C, H, W); sum += LD(dy, t) * LD(y, t) / scale[t];\n"
    "            }\n"
    "    }\n"
    "    ST(dx, i, LD(dy, i) * pow(scale[i], -beta) - 2.0f * a * beta * LD(x, i) * sum);\n"
    "}\n";

/* ---- the bench's state ------------------------------------------------------------------------ */

typedef struct {
    bench_options opt;
    lrncl_context *ctx;
    cl_command_queue q;
    cl_program naive_prog;
    cl_kernel naive_fwd, naive_bwd;
    char device[600];
    int onednn_threads; /* -1: unknown */
#ifdef LRNCL_BENCH_ONEDNN
    dnnl_engine_t dn_eng;
    dnnl_stream_t dn_stream;
#endif
    int json_rows;    /* objects printed so far */
    char notes[2048]; /* peers timed with fewer runs, for the footnote */
    char impls[1024]; /* oneDNN's implementation of each case's passes, for the footnote */
} bench_env;

enum { BUF_X, BUF_Y, BUF_SCALE, BUF_DY, BUF_DX, BUF_CSRC, BUF_CDST, BUF_COUNT };
enum { DN_X, DN_Y, DN_DY, DN_DX, DN_WS, DN_COUNT };

typedef struct {
    const bench_case *bc;
    lrncl_desc desc;
    dims4 dims;
    size_t count, esize, tensor_bytes, scale_bytes, nslots;
    size_t bytes[PASS_COUNT]; /* the fewest bytes each pass must move */
    int lo, hi;               /* the window, and the factor and bias the naive kernel uses */
    float a, kk;
    lrncl_plan *plan;
    cl_mem *mem;              /* nslots * BUF_COUNT */
    double *x0, *dy0;         /* slot 0's inputs, NCHW, as stored, for the reference */
#ifdef LRNCL_BENCH_ONEDNN
    dnnl_primitive_desc_t dn_pd[PASS_COUNT];
    dnnl_primitive_t dn_prim[PASS_COUNT];
    float *dn_host[DN_WS];    /* x, y, dy, dx of every slot: nslots * count floats each */
    dnnl_memory_t *dn_mem;    /* nslots * DN_COUNT */
    int dn_has_ws;
#endif
} case_state;

#define MEM(cs, slot, b) ((cs)->mem[(slot) * BUF_COUNT + (b)])

typedef struct {
    double ms[PASS_COUNT], copy_ms[PASS_COUNT], onednn_ms[PASS_COUNT], naive_ms[PASS_COUNT]; /* NAN: none */
    int onednn_runs[PASS_COUNT], naive_runs[PASS_COUNT]; /* timed runs behind those medians */
    int failed_checks;
    int error;               /* an error stopped the case */
    char checks[512];        /* the errors measured, for the progress line */
    char onednn_impl[PASS_COUNT][48];
} case_result;

/* ---- device, context, queue ------------------------------------------------------------------- */

/* An lrncl context on --device P:D (a cl_context made here), else the library's default. */
static int open_context(const bench_options *o, lrncl_context **out) {
    if (!o->has_device)
        return cli_lr_ok(lrncl_context_create_default(out), "lrncl_context_create_default");
    cl_platform_id *plats = NULL;
    cl_device_id *devs = NULL;
    cl_context cc = NULL;
    cl_uint np = 0, nd = 0;
    int ok = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &np);
    if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */)
        np = 0;
    else
        TRY(cli_cl_ok(err, "clGetPlatformIDs"));
    if (o->platform >= np) {
        cli_fail("--device %u:%u: there is no platform %u (%u found; see lrncl devices)", o->platform, o->device,
             o->platform, (unsigned)np);
        goto done;
    }
    TRY((plats = cli_alloc(np, sizeof *plats, "the platform list")) != NULL);
    TRY(cli_cl_ok(clGetPlatformIDs(np, plats, NULL), "clGetPlatformIDs"));
    err = clGetDeviceIDs(plats[o->platform], CL_DEVICE_TYPE_ALL, 0, NULL, &nd);
    if (err == CL_DEVICE_NOT_FOUND)
        nd = 0;
    else
        TRY(cli_cl_ok(err, "clGetDeviceIDs"));
    if (o->device >= nd) {
        cli_fail("--device %u:%u: platform %u has no device %u (see lrncl devices)", o->platform, o->device,
             o->platform, o->device);
        goto done;
    }
    TRY((devs = cli_alloc(nd, sizeof *devs, "the device list")) != NULL);
    TRY(cli_cl_ok(clGetDeviceIDs(plats[o->platform], CL_DEVICE_TYPE_ALL, nd, devs, NULL), "clGetDeviceIDs"));
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)plats[o->platform], 0};
    cc = clCreateContext(props, 1, &devs[o->device], NULL, NULL, &err);
    TRY(cli_cl_ok(err, "clCreateContext"));
    TRY(cli_lr_ok(lrncl_context_create(cc, devs[o->device], out), "lrncl_context_create"));
    ok = 1;
done:
    if (cc)
        clReleaseContext(cc); /* the lrncl context holds its own reference */
    free(devs);
    free(plats);
    return ok;
}

/* "Platform name / device name (type)". */
static void device_title(cl_device_id dev, char *buf, size_t len) {
    cl_platform_id plat = NULL;
    char pname[256] = "?", dname[256] = "?";
    cl_device_type type = 0;
    if (clGetDeviceInfo(dev, CL_DEVICE_PLATFORM, sizeof plat, &plat, NULL) != CL_SUCCESS ||
        clGetPlatformInfo(plat, CL_PLATFORM_NAME, sizeof pname, pname, NULL) != CL_SUCCESS)
        snprintf(pname, sizeof pname, "?");
    if (clGetDeviceInfo(dev, CL_DEVICE_NAME, sizeof dname, dname, NULL) != CL_SUCCESS)
        snprintf(dname, sizeof dname, "?");
    pname[sizeof pname - 1] = dname[sizeof dname - 1] = '\0';
    if (clGetDeviceInfo(dev, CL_DEVICE_TYPE, sizeof type, &type, NULL) != CL_SUCCESS)
        type = 0;
    snprintf(buf, len, "%s / %s (%s)", pname, dname,
             (type & CL_DEVICE_TYPE_GPU) ? "GPU" : (type & CL_DEVICE_TYPE_CPU) ? "CPU"
             : (type & CL_DEVICE_TYPE_ACCELERATOR) ? "accelerator" : "other");
}

static int build_naive(bench_env *e) {
    cl_context cl = lrncl_context_cl(e->ctx);
    cl_device_id dev = lrncl_context_device(e->ctx);
    const char *src[2] = {naive_source_head, naive_source_body};
    char options[128];
    cl_int err;
    snprintf(options, sizeof options, "-cl-std=CL1.2 -DNAIVE_HALF=%d -DNAIVE_NHWC=%d",
             e->opt.dtype == LRNCL_FLOAT16, e->opt.layout == LRNCL_LAYOUT_NHWC);
    e->naive_prog = clCreateProgramWithSource(cl, 2, src, NULL, &err);
    if (!cli_cl_ok(err, "clCreateProgramWithSource (naive kernel)"))
        return 0;
    err = clBuildProgram(e->naive_prog, 1, &dev, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        char log[1500] = "";
        if (clGetProgramBuildInfo(e->naive_prog, dev, CL_PROGRAM_BUILD_LOG, sizeof log, log, NULL) != CL_SUCCESS)
            log[0] = '\0';
        log[sizeof log - 1] = '\0';
        cli_fail("clBuildProgram (naive kernel, %s) failed (%d): %s", options, (int)err, log);
        return 0;
    }
    e->naive_fwd = clCreateKernel(e->naive_prog, "naive_forward", &err);
    if (!cli_cl_ok(err, "clCreateKernel (naive_forward)"))
        return 0;
    e->naive_bwd = clCreateKernel(e->naive_prog, "naive_backward", &err);
    return cli_cl_ok(err, "clCreateKernel (naive_backward)");
}

static int env_open(bench_env *e) {
    e->onednn_threads = -1;
    TRY(open_context(&e->opt, &e->ctx));
    device_title(lrncl_context_device(e->ctx), e->device, sizeof e->device);
    cl_int err;
    e->q = clCreateCommandQueue(lrncl_context_cl(e->ctx), lrncl_context_device(e->ctx), CL_QUEUE_PROFILING_ENABLE,
                                &err);
    TRY(cli_cl_ok(err, "clCreateCommandQueue"));
    TRY(build_naive(e));
#ifdef LRNCL_BENCH_ONEDNN
    TRY(dn_ok(dnnl_engine_create(&e->dn_eng, dnnl_cpu, 0), "dnnl_engine_create"));
    TRY(dn_ok(dnnl_stream_create(&e->dn_stream, e->dn_eng, dnnl_stream_default_flags), "dnnl_stream_create"));
#ifdef LRNCL_BENCH_OPENMP
    if (dnnl_version()->cpu_runtime == DNNL_RUNTIME_OMP)
        e->onednn_threads = omp_get_max_threads();
#endif
#endif
    return 1;
done:
    return 0;
}

static void env_close(bench_env *e) {
#ifdef LRNCL_BENCH_ONEDNN
    if (e->dn_stream)
        dnnl_stream_destroy(e->dn_stream);
    if (e->dn_eng)
        dnnl_engine_destroy(e->dn_eng);
#endif
    if (e->naive_bwd)
        clReleaseKernel(e->naive_bwd);
    if (e->naive_fwd)
        clReleaseKernel(e->naive_fwd);
    if (e->naive_prog)
        clReleaseProgram(e->naive_prog);
    if (e->q)
        clReleaseCommandQueue(e->q);
    lrncl_context_release(e->ctx);
}

/* ---- one run of each contender ------------------------------------------------------------- */

static int enqueue_lrncl(const bench_env *e, const case_state *cs, int pass, size_t s, cl_event *done) {
    if (pass == PASS_BACKWARD)
        return cli_lr_ok(lrncl_backward(cs->plan, e->q, MEM(cs, s, BUF_X), MEM(cs, s, BUF_Y), MEM(cs, s, BUF_DY),
                                    MEM(cs, s, BUF_SCALE), MEM(cs, s, BUF_DX), 0, NULL, done),
                     "lrncl_backward");
    return cli_lr_ok(lrncl_forward(cs->plan, e->q, MEM(cs, s, BUF_X), MEM(cs, s, BUF_Y),
                               pass == PASS_TRAIN ? MEM(cs, s, BUF_SCALE) : NULL, 0, NULL, done),
                 "lrncl_forward");
}

/* Half the pass's fewest bytes, read from one buffer and written into another. */
static int enqueue_copy(const bench_env *e, const case_state *cs, int pass, size_t s, cl_event *done) {
    return cli_cl_ok(clEnqueueCopyBuffer(e->q, MEM(cs, s, BUF_CSRC), MEM(cs, s, BUF_CDST), 0, 0, cs->bytes[pass] / 2, 0,
                                     NULL, done),
                 "clEnqueueCopyBuffer");
}

/* The naive forward (inference: no scale) or backward (from the scale). */
static int enqueue_naive(const bench_env *e, const case_state *cs, int pass, size_t s, cl_event *done) {
    cl_kernel k = pass == PASS_BACKWARD ? e->naive_bwd : e->naive_fwd;
    cl_int dims[4] = {(cl_int)cs->dims.n, (cl_int)cs->dims.c, (cl_int)cs->dims.h, (cl_int)cs->dims.w};
    cl_int within = cs->desc.mode == LRNCL_WITHIN_CHANNEL, lo = cs->lo, hi = cs->hi;
    cl_int err = CL_SUCCESS;
    cl_uint arg = 0;
    static const int fwd_bufs[] = {BUF_X, BUF_Y}, bwd_bufs[] = {BUF_X, BUF_Y, BUF_DY, BUF_SCALE, BUF_DX};
    const int *bufs = pass == PASS_BACKWARD ? bwd_bufs : fwd_bufs;
    cl_uint nbufs = pass == PASS_BACKWARD ? 5 : 2;
    for (cl_uint i = 0; i < nbufs; i++)
        err |= clSetKernelArg(k, arg++, sizeof(cl_mem), &MEM(cs, s, bufs[i]));
    for (int i = 0; i < 4; i++)
        err |= clSetKernelArg(k, arg++, sizeof(cl_int), &dims[i]);
    err |= clSetKernelArg(k, arg++, sizeof within, &within);
    err |= clSetKernelArg(k, arg++, sizeof lo, &lo);
    err |= clSetKernelArg(k, arg++, sizeof hi, &hi);
    err |= clSetKernelArg(k, arg++, sizeof cs->a, &cs->a);
    if (pass != PASS_BACKWARD)
        err |= clSetKernelArg(k, arg++, sizeof cs->kk, &cs->kk);
    err |= clSetKernelArg(k, arg++, sizeof cs->desc.beta, &cs->desc.beta);
    if (err != CL_SUCCESS) {
        cli_fail("clSetKernelArg (naive kernel) failed");
        return 0;
    }
    size_t local = NAIVE_LOCAL, global = (cs->count + local - 1) / local * local;
    return cli_cl_ok(clEnqueueNDRangeKernel(e->q, k, 1, NULL, &global, &local, 0, NULL, done),
                 "clEnqueueNDRangeKernel (naive kernel)");
}

enum { OP_LRNCL, OP_COPY, OP_NAIVE, OP_COUNT };

static int enqueue_op(const bench_env *e, const case_state *cs, int op, int pass, size_t s, cl_event *done) {
    return op == OP_LRNCL ? enqueue_lrncl(e, cs, pass, s, done)
         : op == OP_COPY  ? enqueue_copy(e, cs, pass, s, done)
                          : enqueue_naive(e, cs, pass, s, done);
}

#ifdef LRNCL_BENCH_ONEDNN
static int onednn_run(const bench_env *e, const case_state *cs, int pass, size_t s) {
    dnnl_memory_t *m = &cs->dn_mem[s * DN_COUNT];
    dnnl_exec_arg_t args[4];
    int nargs = 0;
    args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SRC, m[DN_X]};
    if (pass == PASS_BACKWARD) {
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_DST, m[DN_DY]};
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_SRC, m[DN_DX]};
    } else {
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_DST, m[DN_Y]};
    }
    if (pass != PASS_INFER && cs->dn_has_ws)
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_WORKSPACE, m[DN_WS]};
    return dn_ok(dnnl_primitive_execute(cs->dn_prim[pass], e->dn_stream, nargs, args), "dnnl_primitive_execute") &&
           dn_ok(dnnl_stream_wait(e->dn_stream), "dnnl_stream_wait");
}
#endif

/* ---- case setup ------------------------------------------------------------------------------ */

static cl_mem new_buffer(const bench_env *e, size_t bytes, const char *what) {
    cl_int err;
    cl_mem m = clCreateBuffer(lrncl_context_cl(e->ctx), CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS) {
        char call[96];
        snprintf(call, sizeof call, "clCreateBuffer (%s, %zu bytes)", what, bytes);
        cli_cl_ok(err, call);
        return NULL;
    }
    return m;
}

/* Fills a whole buffer with a 4-byte pattern (buffer sizes are rounded up to 4 bytes). New
 * buffers are neither zeroed nor, on a CPU device, backed by pages until written: a run on
 * one would read the zero page. */
static int fill(const bench_env *e, cl_mem m, uint32_t pattern, size_t bytes) {
    return cli_cl_ok(clEnqueueFillBuffer(e->q, m, &pattern, sizeof pattern, 0, bytes, 0, NULL, NULL),
                 "clEnqueueFillBuffer");
}

static size_t round4(size_t bytes) {
    return (bytes + 3) / 4 * 4;
}

static uint32_t nan_pattern(size_t esize) {
    return esize == 2 ? 0x7e007e00u : 0x7fc00000u;
}

#ifdef LRNCL_BENCH_ONEDNN
/* oneDNN's three primitives (float32 in the bench's layout) and every slot's memory; the host
 * x and dy of each slot are filled by case_setup. */
static int onednn_setup(const bench_env *e, case_state *cs, case_result *r) {
    dnnl_dims_t dims = {(dnnl_dim_t)cs->dims.n, (dnnl_dim_t)cs->dims.c, (dnnl_dim_t)cs->dims.h,
                        (dnnl_dim_t)cs->dims.w};
    dnnl_memory_desc_t md;
    dnnl_lrn_desc_t fwd[2], bwd;
    dnnl_alg_kind_t alg = cs->desc.mode == LRNCL_ACROSS_CHANNELS ? dnnl_lrn_across_channels : dnnl_lrn_within_channel;
    const lrncl_desc *d = &cs->desc;
    TRY(dn_ok(dnnl_memory_desc_init_by_tag(&md, 4, dims, dnnl_f32, cs->dims.nhwc ? dnnl_nhwc : dnnl_nchw),
              "dnnl_memory_desc_init_by_tag"));
    TRY(dn_ok(dnnl_lrn_forward_desc_init(&fwd[0], dnnl_forward_inference, alg, &md, d->local_size, d->alpha, d->beta,
                                         d->k), "dnnl_lrn_forward_desc_init"));
    TRY(dn_ok(dnnl_lrn_forward_desc_init(&fwd[1], dnnl_forward_training, alg, &md, d->local_size, d->alpha, d->beta,
                                         d->k), "dnnl_lrn_forward_desc_init"));
    TRY(dn_ok(dnnl_lrn_backward_desc_init(&bwd, alg, &md, &md, d->local_size, d->alpha, d->beta, d->k),
              "dnnl_lrn_backward_desc_init"));
    TRY(dn_ok(dnnl_primitive_desc_create(&cs->dn_pd[PASS_INFER], &fwd[0], NULL, e->dn_eng, NULL),
              "dnnl_primitive_desc_create (forward inference)"));
    TRY(dn_ok(dnnl_primitive_desc_create(&cs->dn_pd[PASS_TRAIN], &fwd[1], NULL, e->dn_eng, NULL),
              "dnnl_primitive_desc_create (forward training)"));
    TRY(dn_ok(dnnl_primitive_desc_create(&cs->dn_pd[PASS_BACKWARD], &bwd, NULL, e->dn_eng, cs->dn_pd[PASS_TRAIN]),
              "dnnl_primitive_desc_create (backward)"));
    for (int p = 0; p < PASS_COUNT; p++) {
        TRY(dn_ok(dnnl_primitive_create(&cs->dn_prim[p], cs->dn_pd[p]), "dnnl_primitive_create"));
        const char *impl = NULL;
        if (dnnl_primitive_desc_query(cs->dn_pd[p], dnnl_query_impl_info_str, 0, &impl) != dnnl_success || !impl)
            impl = "?";
        snprintf(r->onednn_impl[p], sizeof r->onednn_impl[p], "%s", impl);
    }
    const dnnl_memory_desc_t *ws = dnnl_primitive_desc_query_md(cs->dn_pd[PASS_TRAIN], dnnl_query_workspace_md, 0);
    cs->dn_has_ws = ws && dnnl_memory_desc_get_size(ws) > 0;
    for (int i = 0; i < DN_WS; i++)
        TRY((cs->dn_host[i] = cli_alloc(cs->nslots * cs->count, sizeof(float), "oneDNN's tensors")) != NULL);
    for (size_t i = 0; i < cs->nslots * cs->count; i++)
        cs->dn_host[DN_Y][i] = cs->dn_host[DN_DX][i] = NAN;
    TRY((cs->dn_mem = calloc(cs->nslots * DN_COUNT, sizeof *cs->dn_mem)) != NULL ||
        (cli_fail("out of host memory for oneDNN's memory objects"), 0));
    for (size_t s = 0; s < cs->nslots; s++) {
        for (int i = 0; i < DN_WS; i++)
            TRY(dn_ok(dnnl_memory_create(&cs->dn_mem[s * DN_COUNT + i], &md, e->dn_eng,
                                         cs->dn_host[i] + s * cs->count), "dnnl_memory_create"));
        if (cs->dn_has_ws)
            TRY(dn_ok(dnnl_memory_create(&cs->dn_mem[s * DN_COUNT + DN_WS], ws, e->dn_eng, DNNL_MEMORY_ALLOCATE),
                      "dnnl_memory_create (workspace)"));
    }
    return 1;
done:
    return 0;
}
#endif

/* The plan, every slot's buffers and random inputs (slot 0's kept for the reference). */
static int case_setup(const bench_env *e, const bench_case *bc, uint64_t seed, case_state *cs, case_result *r) {
    float *xs = NULL, *dys = NULL;
    void *stor = NULL;
    int ok = 0;
    lrncl_desc *d = &cs->desc;

    cs->bc = bc;
    lrncl_desc_init(d, bc->mode);
    d->local_size = bc->size;
    d->alpha = bench_alpha;
    d->beta = bench_beta;
    d->k = bench_k;
    d->n = bc->n;
    d->c = bc->c;
    d->h = bc->h;
    d->w = bc->w;
    d->layout = e->opt.layout;
    d->dtype = e->opt.dtype;
    cs->dims = (dims4){bc->n, bc->c, bc->h, bc->w, e->opt.layout == LRNCL_LAYOUT_NHWC};
    cs->count = lrncl_desc_elements(d);
    cs->esize = d->dtype == LRNCL_FLOAT16 ? 2 : 4;
    cs->tensor_bytes = cs->count * cs->esize;
    cs->scale_bytes = cs->count * sizeof(float);
    cs->bytes[PASS_INFER] = 2 * cs->tensor_bytes;                     /* read x, write y */
    cs->bytes[PASS_TRAIN] = 2 * cs->tensor_bytes + cs->scale_bytes;   /* and write the scale */
    cs->bytes[PASS_BACKWARD] = 4 * cs->tensor_bytes + cs->scale_bytes; /* x, y, dy, scale in; dx out */
    cs->nslots = rotate_bytes / cs->bytes[PASS_INFER] + 1;
    cs->nslots = cs->nslots < 2 ? 2 : cs->nslots > MAX_SLOTS ? MAX_SLOTS : cs->nslots;
    /* Caffe's meaning: lo = hi = (n-1)/2; a = alpha/n across, alpha/n^2 within with 1 for k. */
    cs->lo = cs->hi = (bc->size - 1) / 2;
    cs->a = bc->mode == LRNCL_ACROSS_CHANNELS ? d->alpha / (float)bc->size : d->alpha / (float)(bc->size * bc->size);
    cs->kk = bc->mode == LRNCL_ACROSS_CHANNELS ? d->k : 1.0f;

    TRY(cli_lr_ok(lrncl_plan_create(e->ctx, d, &cs->plan), "lrncl_plan_create"));
    TRY((cs->mem = calloc(cs->nslots * BUF_COUNT, sizeof *cs->mem)) != NULL ||
        (cli_fail("out of host memory for the buffer list"), 0));
    TRY((xs = cli_alloc(cs->count, sizeof *xs, "x")) && (dys = cli_alloc(cs->count, sizeof *dys, "dy")) &&
        (stor = cli_alloc(cs->count, cs->esize, "the upload")) &&
        (cs->x0 = cli_alloc(cs->count, sizeof *cs->x0, "x")) &&
        (cs->dy0 = cli_alloc(cs->count, sizeof *cs->dy0, "dy")));
#ifdef LRNCL_BENCH_ONEDNN
    TRY(onednn_setup(e, cs, r));
#else
    (void)r;
#endif

    const size_t tb = round4(cs->tensor_bytes), sb = cs->scale_bytes, cb = round4(cs->bytes[PASS_BACKWARD] / 2);
    uint64_t state = 0x9E3779B97F4A7C15ull ^ (seed * 0xD1B54A32D192ED03ull);
    for (size_t s = 0; s < cs->nslots; s++) {
        static const char *const what[BUF_COUNT] = {"x", "y", "scale", "dy", "dx", "copy source", "copy target"};
        for (int b = 0; b < BUF_COUNT; b++) {
            size_t bytes = b == BUF_SCALE ? sb : (b == BUF_CSRC || b == BUF_CDST) ? cb : tb;
            TRY((MEM(cs, s, b) = new_buffer(e, bytes, what[b])) != NULL);
            /* Outputs are poisoned with NaN; the copy moves ordinary numbers (0x3f800000 = 1.0f). */
            uint32_t pattern = b == BUF_SCALE ? 0x7fc00000u : b == BUF_CSRC ? 0x3f800000u : nan_pattern(cs->esize);
            TRY(fill(e, MEM(cs, s, b), pattern, bytes));
        }
        /* Activations of a few tens, like AlexNet's, so the normalization changes the values;
         * rounded to the storage type so the reference sees what the device sees. */
        for (size_t i = 0; i < cs->count; i++) {
            xs[i] = (float)(40.0 * bench_random(&state));
            dys[i] = (float)bench_random(&state);
            if (cs->esize == 2) {
                xs[i] = half_to_float(float_to_half(xs[i]));
                dys[i] = half_to_float(float_to_half(dys[i]));
            }
        }
        pack(&cs->dims, cs->esize, xs, stor);
        TRY(cli_cl_ok(clEnqueueWriteBuffer(e->q, MEM(cs, s, BUF_X), CL_TRUE, 0, cs->tensor_bytes, stor, 0, NULL, NULL),
                  "clEnqueueWriteBuffer"));
        pack(&cs->dims, cs->esize, dys, stor);
        TRY(cli_cl_ok(clEnqueueWriteBuffer(e->q, MEM(cs, s, BUF_DY), CL_TRUE, 0, cs->tensor_bytes, stor, 0, NULL, NULL),
                  "clEnqueueWriteBuffer"));
#ifdef LRNCL_BENCH_ONEDNN
        pack(&cs->dims, sizeof(float), xs, cs->dn_host[DN_X] + s * cs->count);
        pack(&cs->dims, sizeof(float), dys, cs->dn_host[DN_DY] + s * cs->count);
#endif
        if (s == 0)
            for (size_t i = 0; i < cs->count; i++) {
                cs->x0[i] = xs[i];
                cs->dy0[i] = dys[i];
            }
    }
    TRY(cli_cl_ok(clFinish(e->q), "clFinish"));
    ok = 1;
done:
    free(stor);
    free(dys);
    free(xs);
    return ok;
}

static void case_release(case_state *cs) {
#ifdef LRNCL_BENCH_ONEDNN
    if (cs->dn_mem)
        for (size_t i = 0; i < cs->nslots * DN_COUNT; i++)
            if (cs->dn_mem[i])
                dnnl_memory_destroy(cs->dn_mem[i]);
    free(cs->dn_mem);
    for (int i = 0; i < DN_WS; i++)
        free(cs->dn_host[i]);
    for (int p = 0; p < PASS_COUNT; p++) {
        if (cs->dn_prim[p])
            dnnl_primitive_destroy(cs->dn_prim[p]);
        if (cs->dn_pd[p])
            dnnl_primitive_desc_destroy(cs->dn_pd[p]);
    }
#endif
    if (cs->mem)
        for (size_t i = 0; i < cs->nslots * BUF_COUNT; i++)
            if (cs->mem[i])
                clReleaseMemObject(cs->mem[i]);
    free(cs->mem);
    lrncl_plan_release(cs->plan);
    free(cs->dy0);
    free(cs->x0);
    memset(cs, 0, sizeof *cs);
}

/* ---- checks against the float64 reference ------------------------------------------------------ */

/* Compares out with ref (both NCHW, n values): max|out - ref| <= bound * max|ref| and, when
 * elem_bound > 0, |out - ref| <= elem_bound * |ref| for every element; NaN never passes. Adds
 * "who what err" to the result's list and counts a failure (and reports it on stderr). */
static void check_values(case_result *r, const char *case_name, const char *who, const char *what, const float *out,
                         const double *ref, size_t n, double bound, double elem_bound) {
    double max_diff = 0, max_ref = 0, worst_elem = 0;
    size_t nan_at = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        double diff = fabs((double)out[i] - ref[i]);
        if (isnan(diff)) {
            nan_at = i;
            break;
        }
        max_diff = diff > max_diff ? diff : max_diff;
        max_ref = fabs(ref[i]) > max_ref ? fabs(ref[i]) : max_ref;
        if (ref[i] != 0 && diff / fabs(ref[i]) > worst_elem)
            worst_elem = diff / fabs(ref[i]);
    }
    double err = nan_at != SIZE_MAX ? NAN : max_ref > 0 ? max_diff / max_ref : (max_diff > 0 ? INFINITY : 0);
    int ok = err <= bound && !(elem_bound > 0 && worst_elem > elem_bound);
    size_t used = strlen(r->checks);
    snprintf(r->checks + used, sizeof r->checks - used, "%s%s %s %.1e", used ? ", " : "", who, what, err);
    if (ok)
        return;
    r->failed_checks++;
    fflush(stdout);
    if (nan_at != SIZE_MAX)
        fprintf(stderr, "lrncl: %s: check FAILED: %s %s: NaN at element %zu (unwritten or NaN result)\n", case_name,
                who, what, nan_at);
    else
        fprintf(stderr, "lrncl: %s: check FAILED: %s %s: max rel err %.2e (bound %.0e), worst element rel err %.2e"
                        "%s\n", case_name, who, what, err, bound, worst_elem,
                elem_bound > 0 ? " (bound 1e-4)" : "");
}

/* Reads one slot-0 buffer (the storage type, or float for the scale) into NCHW floats. */
static int read_nchw(const bench_env *e, const case_state *cs, int b, void *raw, float *out) {
    size_t esize = b == BUF_SCALE ? sizeof(float) : cs->esize;
    if (!cli_cl_ok(clEnqueueReadBuffer(e->q, MEM(cs, 0, b), CL_TRUE, 0, cs->count * esize, raw, 0, NULL, NULL),
               "clEnqueueReadBuffer"))
        return 0;
    unpack(&cs->dims, esize, raw, out);
    return 1;
}

/* Runs every contender once on slot 0 and checks it against the float64 reference on the whole
 * tensor; leaves every slot's y and scale (lrncl's) and workspace (oneDNN's) ready for the
 * backward. Returns 0 on an error (recorded); failed checks only count in r. */
static int case_check(const bench_env *e, case_state *cs, case_result *r) {
    const char *name = cs->bc->name;
    const size_t n = cs->count;
    const int half = cs->esize == 2;
    const double fbound = half ? 2e-3 : 1e-5, bbound = half ? 5e-3 : 1e-5, elem = half ? 0 : 1e-4;
    double *yref = NULL, *sref = NULL, *dxref = NULL, *ydev = NULL;
    float *out = NULL;
    void *raw = NULL;
    int ok = 0;

    TRY((yref = cli_alloc(n, sizeof *yref, "the reference")) &&
        (sref = cli_alloc(n, sizeof *sref, "the reference")) &&
        (dxref = cli_alloc(n, sizeof *dxref, "the reference")) &&
        (ydev = cli_alloc(n, sizeof *ydev, "y")) && (out = cli_alloc(n, sizeof *out, "the results")) &&
        (raw = cli_alloc(n, sizeof(float), "the results")));
    TRY(cli_lr_ok(lrncl_reference_forward(&cs->desc, cs->x0, yref, sref), "lrncl_reference_forward"));

    /* lrncl: inference, then training on every slot (the backward runs need their scales). */
    TRY(enqueue_lrncl(e, cs, PASS_INFER, 0, NULL) && read_nchw(e, cs, BUF_Y, raw, out));
    check_values(r, name, "lrncl", "fwd-infer y", out, yref, n, fbound, elem);
    TRY(fill(e, MEM(cs, 0, BUF_Y), nan_pattern(cs->esize), round4(cs->tensor_bytes)));
    for (size_t s = 0; s < cs->nslots; s++)
        TRY(enqueue_lrncl(e, cs, PASS_TRAIN, s, NULL));
    TRY(read_nchw(e, cs, BUF_Y, raw, out));
    check_values(r, name, "lrncl", "fwd-train y", out, yref, n, fbound, elem);
    for (size_t i = 0; i < n; i++)
        ydev[i] = out[i]; /* the y every backward below reads */
    TRY(read_nchw(e, cs, BUF_SCALE, raw, out));
    check_values(r, name, "lrncl", "scale", out, sref, n, 1e-5, 0);
    TRY(cli_lr_ok(lrncl_reference_backward(&cs->desc, cs->x0, ydev, cs->dy0, dxref), "lrncl_reference_backward"));
    TRY(enqueue_lrncl(e, cs, PASS_BACKWARD, 0, NULL) && read_nchw(e, cs, BUF_DX, raw, out));
    check_values(r, name, "lrncl", "dx", out, dxref, n, bbound, 0);

    /* The naive kernel; its backward reads lrncl's y (put back) and scale, as dxref does. */
    TRY(fill(e, MEM(cs, 0, BUF_Y), nan_pattern(cs->esize), round4(cs->tensor_bytes)));
    TRY(enqueue_naive(e, cs, PASS_INFER, 0, NULL) && read_nchw(e, cs, BUF_Y, raw, out));
    check_values(r, name, "naive", "y", out, yref, n, fbound, elem);
    TRY(enqueue_lrncl(e, cs, PASS_TRAIN, 0, NULL));
    TRY(fill(e, MEM(cs, 0, BUF_DX), nan_pattern(cs->esize), round4(cs->tensor_bytes)));
    TRY(enqueue_naive(e, cs, PASS_BACKWARD, 0, NULL) && read_nchw(e, cs, BUF_DX, raw, out));
    check_values(r, name, "naive", "dx", out, dxref, n, bbound, 0);

#ifdef LRNCL_BENCH_ONEDNN
    /* oneDNN computes in float32 from the same (rounded) inputs. */
    TRY(onednn_run(e, cs, PASS_INFER, 0));
    unpack(&cs->dims, sizeof(float), cs->dn_host[DN_Y], out);
    check_values(r, name, "oneDNN", "y", out, yref, n, fbound, elem);
    for (size_t s = 0; s < cs->nslots; s++)
        TRY(onednn_run(e, cs, PASS_TRAIN, s));
    TRY(onednn_run(e, cs, PASS_BACKWARD, 0));
    unpack(&cs->dims, sizeof(float), cs->dn_host[DN_DX], out);
    check_values(r, name, "oneDNN", "dx", out, dxref, n, bbound, 0);
#endif
    ok = 1;
done:
    free(raw);
    free(out);
    free(ydev);
    free(dxref);
    free(sref);
    free(yref);
    return ok;
}

/* ---- timing ------------------------------------------------------------------------------------ */

/* Milliseconds from the end of the marker enqueued just before a run to the end of the run's
 * last command (done). */
static int event_ms(cl_event start, cl_event done, double *ms) {
    cl_ulong t0 = 0, t1 = 0;
    if (!cli_cl_ok(clGetEventProfilingInfo(start, CL_PROFILING_COMMAND_END, sizeof t0, &t0, NULL),
               "clGetEventProfilingInfo") ||
        !cli_cl_ok(clGetEventProfilingInfo(done, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL),
               "clGetEventProfilingInfo"))
        return 0;
    *ms = t1 > t0 ? (double)(t1 - t0) * 1e-6 : 0.0;
    return 1;
}

/* Timed runs for a peer of which one run takes run_s seconds. */
static int peer_runs(int runs, double run_s) {
    if (!(run_s * runs > peer_budget_s))
        return runs;
    int n = (int)(peer_budget_s / run_s);
    return n < PEER_MIN_RUNS ? (runs < PEER_MIN_RUNS ? runs : PEER_MIN_RUNS) : n;
}

/* One round: each OpenCL contender that active[] names runs once on slot s; ms[op] its time. */
static int opencl_round(const bench_env *e, const case_state *cs, int pass, const int active[OP_COUNT], size_t s,
                        double ms[OP_COUNT]) {
    for (int op = 0; op < OP_COUNT; op++) {
        if (!active[op])
            continue;
        cl_event start = NULL, end = NULL;
        int good = cli_cl_ok(clEnqueueMarkerWithWaitList(e->q, 0, NULL, &start), "clEnqueueMarkerWithWaitList") &&
                   enqueue_op(e, cs, op, pass, s, &end) && cli_cl_ok(clFinish(e->q), "clFinish") &&
                   event_ms(start, end, &ms[op]);
        if (end)
            clReleaseEvent(end);
        if (start)
            clReleaseEvent(start);
        if (!good)
            return 0;
    }
    return 1;
}

/* One timed oneDNN run of the pass on slot s, in ms (wall clock around execute + wait). */
static int onednn_round(const bench_env *e, const case_state *cs, int pass, size_t s, double *ms) {
#ifdef LRNCL_BENCH_ONEDNN
    double t0 = now_s();
    if (!onednn_run(e, cs, pass, s))
        return 0;
    *ms = (now_s() - t0) * 1e3;
    return 1;
#else
    (void)e, (void)cs, (void)pass, (void)s, (void)ms;
    return 0;
#endif
}

/* Times one pass: the OpenCL contenders that active[] names, interleaved run by run, and (with
 * with_onednn) oneDNN, in alternating blocks of TIME_BLOCK rounds, so that a noisy machine's
 * drift hits all of them alike. Each block waits until the other side's threads are idle
 * (wait_quiet: oneDNN's OpenMP threads spin for a while after each call), and each block after
 * the first starts with an untimed run of the side whose turn it is. WARM_UP_ROUNDS untimed
 * rounds first; then opt.runs timed rounds (fewer for a slow peer, see peer_budget_s), all
 * rotating through the slots. (Setup has
 * written every buffer already, so no page is touched for the first time here.) Medians and
 * the runs behind them in med/nruns, oneDNN's in dn_med and dn_runs. */
enum { TIME_BLOCK = 5 };
static int time_pass(const bench_env *e, const case_state *cs, int pass, const int active[OP_COUNT],
                     int with_onednn, double med[OP_COUNT], int nruns[OP_COUNT], double *dn_med, int *dn_runs) {
    const int runs = e->opt.runs, nblocks = (runs + TIME_BLOCK - 1) / TIME_BLOCK;
    double *samples = cli_alloc((size_t)(OP_COUNT + 1) * (size_t)runs, sizeof *samples, "the timings");
    double *dn_samples = samples ? samples + (size_t)OP_COUNT * runs : NULL;
    double warm_ms[OP_COUNT], dn_warm_ms = INFINITY, ms[OP_COUNT];
    const int lrncl_only[OP_COUNT] = {1, 0, 0};
    int ok = 0, ndn = 0;
    if (!samples)
        return 0;
    for (int op = 0; op < OP_COUNT; op++)
        warm_ms[op] = INFINITY;
    for (int r = 0; r < WARM_UP_ROUNDS; r++) {
        TRY(opencl_round(e, cs, pass, active, (size_t)r % cs->nslots, ms));
        for (int op = 0; op < OP_COUNT; op++)
            if (active[op] && ms[op] < warm_ms[op])
                warm_ms[op] = ms[op];
        if (with_onednn) {
            double t;
            TRY(onednn_round(e, cs, pass, (size_t)r % cs->nslots, &t));
            dn_warm_ms = t < dn_warm_ms ? t : dn_warm_ms;
        }
    }
    for (int op = 0; op < OP_COUNT; op++)
        nruns[op] = !active[op] ? 0 : op == OP_NAIVE ? peer_runs(runs, warm_ms[op] * 1e-3) : runs;
    ndn = with_onednn ? peer_runs(runs, dn_warm_ms * 1e-3) : 0;
    for (int b = 0; b < nblocks; b++) {
        const int r0 = b * TIME_BLOCK, r1 = r0 + TIME_BLOCK < runs ? r0 + TIME_BLOCK : runs;
        if (with_onednn)
            wait_quiet();
        if (b > 0)
            TRY(opencl_round(e, cs, pass, lrncl_only, (size_t)(r0 + WARM_UP_ROUNDS) % cs->nslots, ms));
        for (int r = r0; r < r1; r++) {
            int now[OP_COUNT];
            for (int op = 0; op < OP_COUNT; op++)
                now[op] = r < nruns[op];
            TRY(opencl_round(e, cs, pass, now, (size_t)(r + WARM_UP_ROUNDS) % cs->nslots, ms));
            for (int op = 0; op < OP_COUNT; op++)
                if (now[op])
                    samples[op * runs + r] = ms[op];
        }
        /* oneDNN's share of its runs, spread over the blocks; the settling run only where a
         * run is short enough not to matter */
        const int j0 = (int)((long)b * ndn / nblocks), j1 = (int)((long)(b + 1) * ndn / nblocks);
        double settle_ms;
        if (j1 > j0)
            wait_quiet();
        if (j1 > j0 && b > 0 && dn_warm_ms < 50.0)
            TRY(onednn_round(e, cs, pass, (size_t)(j0 + WARM_UP_ROUNDS) % cs->nslots, &settle_ms));
        for (int j = j0; j < j1; j++)
            TRY(onednn_round(e, cs, pass, (size_t)(j + WARM_UP_ROUNDS) % cs->nslots, &dn_samples[j]));
    }
    for (int op = 0; op < OP_COUNT; op++)
        med[op] = active[op] ? median(&samples[op * runs], nruns[op]) : NAN;
    if (dn_med)
        *dn_med = ndn ? median(dn_samples, ndn) : NAN;
    if (dn_runs)
        *dn_runs = ndn;
    ok = 1;
done:
    free(samples);
    return ok;
}

/* ---- output ------------------------------------------------------------------------------------ */

static const char *layout_name(lrncl_layout l) {
    return l == LRNCL_LAYOUT_NHWC ? "nhwc" : "nchw";
}

static const char *dtype_name(lrncl_dtype t) {
    return t == LRNCL_FLOAT16 ? "f16" : "f32";
}

static void shape_text(const bench_case *bc, char *buf, size_t len) {
    snprintf(buf, len, "%zux%zux%zux%zu", bc->n, bc->c, bc->h, bc->w);
}

static void json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 32)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

static void json_number(const char *key, double v) {
    printf(", \"%s\": ", key);
    if (isfinite(v))
        printf("%.6g", v);
    else
        printf("null");
}

/* lrncl time / peer time, NAN when either is missing. */
static double ratio(double ms, double peer) {
    return isfinite(ms) && isfinite(peer) && peer > 0 ? ms / peer : NAN;
}

static void print_header(const bench_env *e, int argc, char **argv) {
    char date[64] = "?";
    time_t t = time(NULL);
    struct tm *tm = gmtime(&t);
    if (tm)
        strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", tm);
    printf("lrncl bench\n");
    printf("device:   %s\n", e->device);
    printf("date:     %s\n", date);
    printf("lrncl:    %s\n", lrncl_version_string());
    printf("command: ");
    for (int i = 0; i < argc; i++) {
        int plain = *argv[i] != '\0';
        for (const char *c = argv[i]; *c && plain; c++)
            plain = isalnum((unsigned char)*c) || strchr("-_./:=,+@%", *c);
        printf(" %s%s%s", plain ? "" : "'", argv[i], plain ? "" : "'");
    }
    printf("\n");
    printf("setup:    layout %s, dtype %s, alpha %g, beta %g, k %g (Caffe convention); median of %d runs "
           "after warm-up\n", layout_name(e->opt.layout), dtype_name(e->opt.dtype), (double)bench_alpha,
           (double)bench_beta, (double)bench_k, e->opt.runs);
    if (e->opt.runs < MIN_REPORT_RUNS)
        printf("NOTE:     --runs %d is below the %d runs SPEC section 7 asks for: a quick look, not a report\n",
               e->opt.runs, MIN_REPORT_RUNS);
    printf("bytes:    fewest a pass moves: fwd-infer x + y; fwd-train + scale (float32); backward x, y, dy,\n"
           "          scale + dx. GB/s = bytes / time; %% copy = copy time / lrncl time, the copy being\n"
           "          clEnqueueCopyBuffer of half those bytes (read + write = the same bytes)\n");
    printf("inputs:   random (never zeros), rotating through buffer sets of > 64 MiB per pass\n");
#ifdef LRNCL_BENCH_ONEDNN
    const dnnl_version_t *v = dnnl_version();
    char threads[48];
    if (e->onednn_threads > 0)
        snprintf(threads, sizeof threads, "%d threads", e->onednn_threads);
    else
        snprintf(threads, sizeof threads, "threads unknown");
    printf("oneDNN:   %d.%d.%d on the CPU (%s, %s), float32 %s, same parameters: oneDNN also divides alpha\n"
           "          by n across and n^2 within, but uses k within too (k = 1 here: the same numbers)\n",
           v->major, v->minor, v->patch, v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "threading runtime", threads,
           layout_name(e->opt.layout));
#else
    printf("oneDNN:   not built (libdnnl-dev not found at configure time, or LRNCL_BENCH_ONEDNN=OFF)\n");
#endif
    printf("naive:    OpenCL kernel built by the bench: one work-item per element, re-reads its window,\n"
           "          pow(); forward inference and backward (from the scale)\n");
    printf("x peer:   lrncl time / peer time (below 1: lrncl is faster)\n\n");
    printf("%-15s %-12s %-9s %9s %7s %6s %8s %9s %8s %9s %7s  %s\n", "case", "shape", "pass", "lrncl ms", "GB/s",
           "% copy", "copy ms", "oneDNN ms", "x oneDNN", "naive ms", "x naive", "check");
    fflush(stdout);
}

static void fmt(char *buf, size_t len, const char *f, double v) {
    if (isfinite(v))
        snprintf(buf, len, f, v);
    else
        snprintf(buf, len, "-");
}

static void print_rows(bench_env *e, const case_state *cs, const case_result *r) {
    const bench_case *bc = cs->bc;
    char shape[64];
    shape_text(bc, shape, sizeof shape);
    const char *check = r->error ? "error" : r->failed_checks ? "FAIL" : "ok";
    for (int p = 0; p < PASS_COUNT; p++) {
        double ms = r->ms[p], bytes = (double)cs->bytes[p];
        double gbps = isfinite(ms) && ms > 0 ? bytes / (ms * 1e6) : NAN;
        double pct = isfinite(ms) && ms > 0 && isfinite(r->copy_ms[p]) ? 100.0 * r->copy_ms[p] / ms : NAN;
        double x_dn = ratio(ms, r->onednn_ms[p]), x_naive = ratio(ms, r->naive_ms[p]);
        if (e->opt.json) {
            printf("%s  {\"case\": ", e->json_rows++ ? ",\n" : "");
            json_string(bc->name);
            printf(", \"shape\": ");
            json_string(shape);
            printf(", \"mode\": \"%s\", \"pass\": \"%s\", \"layout\": \"%s\", \"dtype\": \"%s\"",
                   bc->mode == LRNCL_ACROSS_CHANNELS ? "across" : "within", pass_names[p],
                   layout_name(e->opt.layout), dtype_name(e->opt.dtype));
            json_number("median_ms", ms);
            printf(", \"bytes\": %zu", cs->bytes[p]);
            json_number("gbps", gbps);
            json_number("copy_ms", r->copy_ms[p]);
            json_number("pct_of_copy", pct);
            json_number("onednn_ms", r->onednn_ms[p]);
            json_number("ratio_onednn", x_dn);
            json_number("naive_ms", r->naive_ms[p]);
            json_number("ratio_naive", x_naive);
            json_number("onednn_runs", isfinite(r->onednn_ms[p]) ? r->onednn_runs[p] : NAN);
            json_number("naive_runs", isfinite(r->naive_ms[p]) ? r->naive_runs[p] : NAN);
            printf(", \"device\": ");
            json_string(e->device);
            printf(", \"runs\": %d, \"check\": \"%s\"}", e->opt.runs, check);
        } else {
            char c[7][24];
            fmt(c[0], sizeof c[0], "%.3f", ms);
            fmt(c[1], sizeof c[1], "%.1f", gbps);
            fmt(c[2], sizeof c[2], "%.0f%%", pct);
            fmt(c[3], sizeof c[3], "%.3f", r->copy_ms[p]);
            int few_dn = isfinite(r->onednn_ms[p]) && r->onednn_runs[p] < e->opt.runs;
            int few_naive = isfinite(r->naive_ms[p]) && r->naive_runs[p] < e->opt.runs;
            fmt(c[4], sizeof c[4], few_dn ? "%.3f*" : "%.3f", r->onednn_ms[p]);
            fmt(c[5], sizeof c[5], "%.2f", x_dn);
            fmt(c[6], sizeof c[6], few_naive ? "%.3f*" : "%.3f", r->naive_ms[p]);
            for (int peer = 0; peer < 2; peer++) {
                size_t used = strlen(e->notes);
                if ((peer ? few_naive : few_dn) && used < sizeof e->notes)
                    snprintf(e->notes + used, sizeof e->notes - used, "  %s %s %s: median of %d runs\n",
                             peer ? "naive" : "oneDNN", bc->name, pass_names[p],
                             peer ? r->naive_runs[p] : r->onednn_runs[p]);
            }
            char xn[24];
            fmt(xn, sizeof xn, "%.2f", x_naive);
            printf("%-15s %-12s %-9s %9s %7s %6s %8s %9s %8s %9s %7s  %s\n", bc->name, shape, pass_names[p], c[0], c[1],
                   c[2], c[3], c[4], c[5], c[6], xn, check);
        }
    }
    fflush(stdout);
}

/* ---- one case, and the whole bench ------------------------------------------------------------- */

/* Sets up, checks and times one case, prints its rows; returns 0 when it ran and passed. */
static int run_case(bench_env *e, int case_index, int ordinal, int total) {
    const bench_case *bc = &bench_cases[case_index];
    case_state cs;
    case_result r;
    memset(&cs, 0, sizeof cs);
    memset(&r, 0, sizeof r);
    for (int p = 0; p < PASS_COUNT; p++)
        r.ms[p] = r.copy_ms[p] = r.onednn_ms[p] = r.naive_ms[p] = NAN;
    char shape[64];
    shape_text(bc, shape, sizeof shape);
    double t0 = now_s();

    fprintf(stderr, "bench: [%d/%d] %s %s %s: setting up\n", ordinal, total, bc->name, shape,
            bc->mode == LRNCL_ACROSS_CHANNELS ? "across" : "within");
    int ok = case_setup(e, bc, (uint64_t)case_index + 1, &cs, &r);
    if (ok) {
        static const char *const sources[] = {"heuristic", "built-in database", "LRNCL_TUNING_DB", "user"};
        lrncl_tuning tf = {0, 0}, tt = {0, 0}, tb = {0, 0};
        lrncl_plan_get_tuning(cs.plan, LRNCL_KERNEL_FORWARD, &tf);
        lrncl_plan_get_tuning(cs.plan, LRNCL_KERNEL_FORWARD_TRAINING, &tt);
        lrncl_plan_get_tuning(cs.plan, LRNCL_KERNEL_BACKWARD, &tb);
        fprintf(stderr,
                "bench: [%d/%d] %s: tuning (local, block): forward %zu, %zu (%s); training %zu, %zu (%s); "
                "backward %zu, %zu (%s)\n",
                ordinal, total, bc->name, tf.local_size, tf.slide_block,
                sources[lrncl_plan_tuning_source(cs.plan, LRNCL_KERNEL_FORWARD)], tt.local_size, tt.slide_block,
                sources[lrncl_plan_tuning_source(cs.plan, LRNCL_KERNEL_FORWARD_TRAINING)], tb.local_size,
                tb.slide_block, sources[lrncl_plan_tuning_source(cs.plan, LRNCL_KERNEL_BACKWARD)]);
        fprintf(stderr, "bench: [%d/%d] %s: %zu buffer sets (%.0f MiB per pass at the least), checking\n", ordinal,
                total, bc->name, cs.nslots, (double)(cs.nslots * cs.bytes[PASS_INFER]) / 1048576.0);
        ok = case_check(e, &cs, &r);
    }
    if (ok)
        fprintf(stderr, "bench: [%d/%d] %s: check %s (max rel err: %s)\n", ordinal, total, bc->name,
                r.failed_checks ? "FAILED" : "ok", r.checks);
    for (int p = 0; ok && p < PASS_COUNT; p++) {
        fprintf(stderr, "bench: [%d/%d] %s: timing %s\n", ordinal, total, bc->name, pass_names[p]);
        const int active[OP_COUNT] = {1, 1, p != PASS_TRAIN};
        double med[OP_COUNT];
        int nruns[OP_COUNT];
        double dn_ms = NAN;
        int dn_runs = 0;
#ifdef LRNCL_BENCH_ONEDNN
        const int with_onednn = 1;
#else
        const int with_onednn = 0;
#endif
        ok = time_pass(e, &cs, p, active, with_onednn, med, nruns, &dn_ms, &dn_runs);
        if (ok) {
            r.ms[p] = med[OP_LRNCL];
            r.copy_ms[p] = med[OP_COPY];
            r.naive_ms[p] = med[OP_NAIVE];
            r.naive_runs[p] = nruns[OP_NAIVE];
        }
        if (ok && with_onednn) {
            r.onednn_ms[p] = dn_ms;
            r.onednn_runs[p] = dn_runs;
        }
    }
    if (!ok) {
        r.error = 1;
        report_error(bc->name);
    }
    if (r.onednn_impl[0][0]) {
        size_t used = strlen(e->impls);
        if (used < sizeof e->impls)
            snprintf(e->impls + used, sizeof e->impls - used, "  %-15s %s / %s / %s\n", bc->name, r.onednn_impl[0],
                     r.onednn_impl[1], r.onednn_impl[2]);
    }
    fprintf(stderr, "bench: [%d/%d] %s: %.1f s\n", ordinal, total, bc->name, now_s() - t0);
    print_rows(e, &cs, &r);
    case_release(&cs);
    return ok && r.failed_checks == 0;
}

/* Parses the command line of bench or tune into e->opt; 0 when the command ends here (help
 * printed: *status 0; a bad command line reported: *status 2). json_ok: whether --json is. */
static int start_command(int argc, char **argv, bench_env *e, const char *usage, int json_ok, int *status) {
    memset(e, 0, sizeof *e);
    int rc = parse_options(argc, argv, &e->opt);
    if (rc == BENCH_HELP) {
        fputs(usage, stdout);
        *status = BENCH_OK;
        return 0;
    }
    if (rc == BENCH_OK && e->opt.json && !json_ok) {
        cli_fail("lrncl %s has no --json", argv[1]);
        rc = BENCH_USAGE;
    }
    if (rc != BENCH_OK) {
        report_error(NULL);
        *status = BENCH_USAGE;
        return 0;
    }
    return 1;
}

int bench_main(int argc, char **argv) {
    bench_env e;
    int rc;
    if (!start_command(argc, argv, &e, bench_usage, 1, &rc))
        return rc;
    double t0 = now_s();
    rc = BENCH_FAILED;
    TRY(env_open(&e));
    if (e.opt.runs < MIN_REPORT_RUNS)
        fprintf(stderr, "bench: note: --runs %d is below the %d runs SPEC section 7 asks for; not for reports\n",
                e.opt.runs, MIN_REPORT_RUNS);
    if (e.opt.json)
        printf("[\n");
    else
        print_header(&e, argc, argv);
    int total = e.opt.only_case ? 1 : BENCH_NCASES, ordinal = 0, failed = 0;
    for (int i = 0; i < BENCH_NCASES; i++)
        if (!e.opt.only_case || strcmp(e.opt.only_case, bench_cases[i].name) == 0)
            failed += !run_case(&e, i, ++ordinal, total);
    if (e.opt.json)
        printf("\n]\n");
    else {
        if (e.impls[0])
            printf("\noneDNN's implementations (fwd-infer / fwd-train / backward; lrn_ref is its plain C++ "
                   "reference):\n%s", e.impls);
        if (e.notes[0])
            printf("\n* fewer runs than --runs: one run of that peer takes longer than %.0f s / %d runs allow\n%s",
                   peer_budget_s, e.opt.runs, e.notes);
        printf("\n%d of %d cases ran and passed their checks; %.1f s in all\n", total - failed, total, now_s() - t0);
    }
    fflush(stdout);
    fprintf(stderr, "bench: done in %.1f s\n", now_s() - t0);
    if (failed) {
        cli_fail("%d of %d cases failed (see above)", failed, total);
        goto done;
    }
    rc = BENCH_OK;
done:
    if (cli_error_pending())
        report_error(NULL);
    env_close(&e);
    return rc;
}

/* ---- lrncl tune ----------------------------------------------------------------------------- */

static const char tune_usage[] =
    "usage: lrncl tune [--case NAME] [--runs N] [--layout nchw|nhwc] [--dtype f32|f16]\n"
    "                  [--device P:D] [--db FILE]\n"
    "\n"
    "For each case of lrncl bench (or one), times the forward (inference and training) and\n"
    "backward kernels\n"
    "under every work-group size (8..256) and slide block (channels across, rows within) the\n"
    "device can launch: the median of N event-timed runs after warm-up (default 20). Every\n"
    "candidate's output must equal the plan's own tuning bit for bit (exit 1 otherwise). The\n"
    "fastest is then timed against the plan's own tuning, alternately, 5 times each, and kept\n"
    "only if its median still wins. Prints both (own ms, best ms: those medians), and with --db\n"
    "(default: $LRNCL_TUNING_DB) stores the winner there, replacing entries with the same key;\n"
    "plans read that file when LRNCL_TUNING_DB names it.\n";

enum { TUNE_KINDS = 3, TUNE_MAX_ENTRIES = TUNE_KINDS * BENCH_NCASES, TUNE_CONFIRM = 5 };

typedef struct {
    char key[512];
    lrncl_tuning t;
} tune_entry;

/* Median time of one pass of lrncl alone under tuning t (already set on the plan). */
static int tune_time(const bench_env *e, const case_state *cs, int pass, double *ms) {
    const int active[OP_COUNT] = {1, 0, 0};
    double med[OP_COUNT];
    int nruns[OP_COUNT];
    if (!time_pass(e, cs, pass, active, 0, med, nruns, NULL, NULL))
        return 0;
    *ms = med[OP_LRNCL];
    return 1;
}

/* Bytes tune_output reads for a pass: its output, and the scale for training. */
static size_t tune_output_bytes(const case_state *cs, int pass) {
    return cs->tensor_bytes + (pass == PASS_TRAIN ? cs->scale_bytes : 0);
}

/* Runs the pass once on slot 0 (its outputs poisoned first) and reads the outputs' bytes. */
static int tune_output(const bench_env *e, const case_state *cs, int pass, unsigned char *out) {
    int b = pass == PASS_BACKWARD ? BUF_DX : BUF_Y;
    int ok = fill(e, MEM(cs, 0, b), nan_pattern(cs->esize), round4(cs->tensor_bytes));
    if (ok && pass == PASS_TRAIN)
        ok = fill(e, MEM(cs, 0, BUF_SCALE), nan_pattern(sizeof(float)), cs->scale_bytes);
    ok = ok && enqueue_lrncl(e, cs, pass, 0, NULL) &&
         cli_cl_ok(clEnqueueReadBuffer(e->q, MEM(cs, 0, b), CL_TRUE, 0, cs->tensor_bytes, out, 0, NULL, NULL),
                   "clEnqueueReadBuffer");
    if (ok && pass == PASS_TRAIN)
        ok = cli_cl_ok(clEnqueueReadBuffer(e->q, MEM(cs, 0, BUF_SCALE), CL_TRUE, 0, cs->scale_bytes,
                                           out + cs->tensor_bytes, 0, NULL, NULL), "clEnqueueReadBuffer");
    return ok;
}

/* Tunes one kernel of the case; the best tuning stays set on the plan and goes into *entry. */
static int tune_kernel(const bench_env *e, case_state *cs, lrncl_kernel_kind kind, tune_entry *entry) {
    const int pass = kind == LRNCL_KERNEL_BACKWARD           ? PASS_BACKWARD
                     : kind == LRNCL_KERNEL_FORWARD_TRAINING ? PASS_TRAIN
                                                             : PASS_INFER;
    const size_t out_bytes = tune_output_bytes(cs, pass);
    const size_t extent = cs->desc.mode == LRNCL_ACROSS_CHANNELS ? cs->desc.c : cs->desc.h;
    static const size_t locals[] = {8, 16, 32, 64, 128, 256};
    static const size_t blocks[] = {2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192};
    unsigned char *want = NULL, *got = NULL;
    int ok = 0, tried = 0;
    lrncl_tuning own, best;
    double own_ms, best_ms;

    TRY((want = cli_alloc(out_bytes, 1, "the output")) && (got = cli_alloc(out_bytes, 1, "the output")));
    TRY(cli_lr_ok(lrncl_plan_get_tuning(cs->plan, kind, &own), "lrncl_plan_get_tuning"));
    TRY(tune_output(e, cs, pass, want) && tune_time(e, cs, pass, &own_ms));
    best = own;
    best_ms = own_ms;
    for (size_t li = 0; li < sizeof locals / sizeof locals[0]; li++)
        for (size_t bi = 0; bi <= sizeof blocks / sizeof blocks[0]; bi++) {
            /* the whole axis first, then the blocks shorter than it */
            lrncl_tuning t = {locals[li], bi == 0 ? extent : blocks[bi - 1]};
            if (bi > 0 && t.slide_block >= extent)
                continue;
            if (lrncl_plan_set_tuning(cs->plan, kind, &t) != LRNCL_SUCCESS)
                continue; /* beyond this device's limits, or no blocks on this path */
            double ms;
            TRY(tune_output(e, cs, pass, got));
            if (memcmp(want, got, out_bytes) != 0) {
                cli_fail("%s %s: local %zu, block %zu changes the output (it must not)", cs->bc->name,
                         pass_names[pass], t.local_size, t.slide_block);
                goto done;
            }
            TRY(tune_time(e, cs, pass, &ms));
            tried++;
            if (ms < best_ms) {
                best_ms = ms;
                best = t;
            }
        }
    /* The sweep's first measurement runs cold and the machine drifts: the plan's own tuning and
     * the sweep's fastest are timed again, alternately, and the fastest is kept only if it still
     * wins (the medians of TUNE_CONFIRM alternating measurements). */
    double own_r[TUNE_CONFIRM], best_r[TUNE_CONFIRM];
    for (int r = 0; r < TUNE_CONFIRM; r++) {
        TRY(cli_lr_ok(lrncl_plan_set_tuning(cs->plan, kind, &own), "lrncl_plan_set_tuning") &&
            tune_time(e, cs, pass, &own_r[r]));
        TRY(cli_lr_ok(lrncl_plan_set_tuning(cs->plan, kind, &best), "lrncl_plan_set_tuning") &&
            tune_time(e, cs, pass, &best_r[r]));
    }
    own_ms = median(own_r, TUNE_CONFIRM);
    best_ms = median(best_r, TUNE_CONFIRM);
    if (!(best_ms < own_ms)) {
        best = own;
        best_ms = own_ms;
    }
    TRY(cli_lr_ok(lrncl_plan_set_tuning(cs->plan, kind, &best), "lrncl_plan_set_tuning"));
    lrncl_plan_tuning_key(cs->plan, kind, entry->key, sizeof entry->key);
    entry->t = best;
    printf("%-15s %-9s %5zu %6zu %9.4f   %5zu %6zu %9.4f   %6.2fx %5d\n", cs->bc->name, pass_names[pass],
           own.local_size, own.slide_block, own_ms, best.local_size, best.slide_block, best_ms, own_ms / best_ms, tried);
    fflush(stdout);
    ok = 1;
done:
    free(got);
    free(want);
    return ok;
}

/* Whether a database line holds one of the keys (its first seven tab-separated fields). */
static int line_has_key(const char *line, const tune_entry *entries, int n) {
    for (int i = 0; i < n; i++) {
        size_t klen = strlen(entries[i].key);
        if (strncmp(line, entries[i].key, klen) == 0 && line[klen] == '\t')
            return 1;
    }
    return 0;
}

/* Rewrites the database: its other lines kept, then the new entries; through a temporary file
 * renamed over it, so a failure leaves the old file whole. */
static int write_db(const char *path, const tune_entry *entries, int n) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        cli_fail("--db: path too long");
        return 0;
    }
    FILE *in = fopen(path, "r"), *out = fopen(tmp, "w");
    if (!out) {
        cli_fail("cannot write %s: %s", tmp, strerror(errno));
        if (in)
            fclose(in);
        return 0;
    }
    if (in) {
        char line[1024];
        while (fgets(line, sizeof line, in))
            if (!line_has_key(line, entries, n))
                fputs(line, out);
        fclose(in);
    } else {
        fputs("# lrncl tuning database (lrncl tune); tab-separated: device name, mode, pass, dtype, layout,\n"
              "# NxCxHxW, lo:hi, local size, slide block\n", out);
    }
    for (int i = 0; i < n; i++)
        fprintf(out, "%s\t%zu\t%zu\n", entries[i].key, entries[i].t.local_size, entries[i].t.slide_block);
    if (fclose(out) != 0 || rename(tmp, path) != 0) {
        cli_fail("cannot write %s: %s", path, strerror(errno));
        remove(tmp);
        return 0;
    }
    return 1;
}

int tune_main(int argc, char **argv) {
    bench_env e;
    int rc;
    if (!start_command(argc, argv, &e, tune_usage, 0, &rc))
        return rc;
    const char *db = e.opt.db_path ? e.opt.db_path : getenv("LRNCL_TUNING_DB");
    tune_entry entries[TUNE_MAX_ENTRIES];
    int nentries = 0;
    double t0 = now_s();
    rc = BENCH_FAILED;
    TRY(env_open(&e));
    printf("lrncl tune on %s; %s %s; median of %d runs per candidate\n\n", e.device, layout_name(e.opt.layout),
           dtype_name(e.opt.dtype), e.opt.runs);
    printf("%-15s %-9s %5s %6s %9s   %5s %6s %9s   %7s %5s\n", "case", "pass", "local", "block", "own ms", "local",
           "block", "best ms", "gain", "tried");
    for (int i = 0; i < BENCH_NCASES; i++) {
        if (e.opt.only_case && strcmp(e.opt.only_case, bench_cases[i].name) != 0)
            continue;
        case_state cs;
        case_result r;
        memset(&cs, 0, sizeof cs);
        memset(&r, 0, sizeof r);
        fprintf(stderr, "tune: %s ...\n", bench_cases[i].name);
        int good = case_setup(&e, &bench_cases[i], (uint64_t)i + 1, &cs, &r);
        /* every slot's scale, for the backward runs */
        for (size_t s = 0; good && s < cs.nslots; s++)
            good = enqueue_lrncl(&e, &cs, PASS_TRAIN, s, NULL);
        /* Setting the forward tuning sets training's too: training's own is put back before its
         * turn, so both start from the plan's. */
        lrncl_tuning train_own = {0, 0};
        good = good && cli_cl_ok(clFinish(e.q), "clFinish") &&
               cli_lr_ok(lrncl_plan_get_tuning(cs.plan, LRNCL_KERNEL_FORWARD_TRAINING, &train_own),
                         "lrncl_plan_get_tuning") &&
               tune_kernel(&e, &cs, LRNCL_KERNEL_FORWARD, &entries[nentries]) &&
               cli_lr_ok(lrncl_plan_set_tuning(cs.plan, LRNCL_KERNEL_FORWARD_TRAINING, &train_own),
                         "lrncl_plan_set_tuning") &&
               tune_kernel(&e, &cs, LRNCL_KERNEL_FORWARD_TRAINING, &entries[nentries + 1]) &&
               tune_kernel(&e, &cs, LRNCL_KERNEL_BACKWARD, &entries[nentries + 2]);
        case_release(&cs);
        TRY(good);
        nentries += TUNE_KINDS;
    }
    if (db) {
        TRY(write_db(db, entries, nentries));
        printf("\n%d entries written to %s\n", nentries, db);
    } else {
        printf("\nnot stored: give --db FILE (or set LRNCL_TUNING_DB)\n");
    }
    fflush(stdout);
    fprintf(stderr, "tune: done in %.1f s\n", now_s() - t0);
    rc = BENCH_OK;
done:
    if (cli_error_pending())
        report_error(NULL);
    env_close(&e);
    return rc;
}
