/* lrncl.c: the lrncl command-line program.
 *
 *   lrncl devices    list the OpenCL devices as platform:device indices, marking the default
 *   lrncl forward    LRN forward of a 4-D float32 or float16 .npy file, NCHW or NHWC
 *                    (optionally writing the float32 scale)
 *   lrncl backward   LRN backward: dx from x and dy (the forward runs first, with its scale)
 *   lrncl demo       AlexNet's LRN layers on the default device, checked against the float64
 *                    reference and timed with profiling events
 *   lrncl bench      the performance suite of SPEC section 7 (tools/bench.c)
 *   lrncl tune       times every launch tuning of the bench's cases, stores the fastest
 *
 * Errors: exit status 1 (2 for a bad command line) and exactly one line "lrncl: <what is
 * wrong>" on stderr. cli_fail() records the first failure, the cleanup ladders run, and main prints
 * it. Output files are written only after all computation succeeded, each atomically. */
#include "bench.h"
#include "cli_common.h"
#include "lrncl.h"
#include "npy.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2, CLI_HELP = 3 /* internal: print usage, exit 0 */ };

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
    "              [--device P:D] the performance suite: time, GB/s, % of a copy, ratio to\n"
    "              oneDNN and to a naive kernel (lrncl bench --help for more)\n"
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

/* ---- error reporting ----------------------------------------------------------------------- */


/* ---- number and option parsing ------------------------------------------------------------- */

static int parse_int(const char *opt, const char *s, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || isspace((unsigned char)*s) || *end) {
        cli_fail("--%s: '%s' is not an integer", opt, s);
        return 0;
    }
    if (errno == ERANGE || v < INT_MIN || v > INT_MAX) {
        cli_fail("--%s: %s is out of range", opt, s);
        return 0;
    }
    *out = (int)v;
    return 1;
}

/* Any strtod number, "inf" and "nan" included: the library says which values it refuses. */
static int parse_float(const char *opt, const char *s, float *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || isspace((unsigned char)*s) || *end) {
        cli_fail("--%s: '%s' is not a number", opt, s);
        return 0;
    }
    if ((errno == ERANGE && fabs(v) > 1.0) || (isfinite(v) && fabs(v) > FLT_MAX)) {
        cli_fail("--%s: %s is out of range for float32", opt, s);
        return 0;
    }
    *out = (float)v;
    return 1;
}

enum opt {
    OPT_MODE, OPT_SIZE, OPT_ALPHA, OPT_BETA, OPT_K, OPT_CONVENTION, OPT_LAYOUT, OPT_DEVICE,
    OPT_INPUT, OPT_GRAD_OUTPUT, OPT_OUTPUT, OPT_SCALE_OUTPUT, OPT_COUNT
};
static const char *const opt_names[OPT_COUNT] = {
    "mode", "size", "alpha", "beta", "k", "convention", "layout", "device",
    "input", "grad-output", "output", "scale-output"};

#define OPT_BIT(o) (1u << (o))
#define OPTS_PARAMS                                                                          \
    (OPT_BIT(OPT_MODE) | OPT_BIT(OPT_SIZE) | OPT_BIT(OPT_ALPHA) | OPT_BIT(OPT_BETA) |        \
     OPT_BIT(OPT_K) | OPT_BIT(OPT_CONVENTION) | OPT_BIT(OPT_LAYOUT) | OPT_BIT(OPT_DEVICE) | \
     OPT_BIT(OPT_INPUT) | OPT_BIT(OPT_OUTPUT))

/* Collects "--name value" and "--name=value" pairs into value[], allowing only the options in
 * the mask. Returns CLI_OK, CLI_HELP or CLI_USAGE (recorded). */
static int collect_options(const char *cmd, int argc, char **argv, unsigned allowed,
                           const char *value[OPT_COUNT]) {
    for (int i = 0; i < OPT_COUNT; i++)
        value[i] = NULL;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return CLI_HELP;
        if (strncmp(arg, "--", 2) != 0) {
            cli_fail("unexpected argument '%s' (see lrncl --help)", arg);
            return CLI_USAGE;
        }
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        int o = 0;
        while (o < OPT_COUNT && !(strlen(opt_names[o]) == len && strncmp(opt_names[o], name, len) == 0))
            o++;
        if (o == OPT_COUNT) {
            cli_fail("unknown option '%.*s' (see lrncl --help)", (int)len + 2, arg);
            return CLI_USAGE;
        }
        if (!(allowed & OPT_BIT(o))) {
            cli_fail("'lrncl %s' takes no --%s", cmd, opt_names[o]);
            return CLI_USAGE;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
        if (!v || (!eq && strncmp(v, "--", 2) == 0) || !*v) {
            cli_fail("--%s needs a value", opt_names[o]);
            return CLI_USAGE;
        }
        if (!eq)
            i++;
        if (value[o]) {
            cli_fail("--%s given twice", opt_names[o]);
            return CLI_USAGE;
        }
        value[o] = v;
    }
    return CLI_OK;
}

typedef struct {
    lrncl_desc desc;           /* mode, convention, layout and parameters; the shape and dtype
                                  come from the input file */
    int has_device;
    unsigned platform, device; /* --device P:D */
    const char *input, *grad_output, *output, *scale_output;
} run_options;

static int device_option(const char *value, run_options *o) {
    if (!value)
        return 1;
    if (!cli_parse_device_pair(value, &o->platform, &o->device)) {
        cli_fail("--device: '%s' is not of the form P:D (e.g. 0:0)", value);
        return 0;
    }
    o->has_device = 1;
    return 1;
}

/* Turns the collected option values into run_options; defaults from lrncl_desc_init. */
static int build_run_options(int backward, const char *value[OPT_COUNT], run_options *o) {
    lrncl_mode mode = LRNCL_ACROSS_CHANNELS;
    memset(o, 0, sizeof *o);
    if (value[OPT_MODE]) {
        if (strcmp(value[OPT_MODE], "across") == 0)
            mode = LRNCL_ACROSS_CHANNELS;
        else if (strcmp(value[OPT_MODE], "within") == 0)
            mode = LRNCL_WITHIN_CHANNEL;
        else {
            cli_fail("unknown --mode '%s' (expected across or within)", value[OPT_MODE]);
            return 0;
        }
    }
    lrncl_desc_init(&o->desc, mode);
    if ((value[OPT_SIZE] && !parse_int("size", value[OPT_SIZE], &o->desc.local_size)) ||
        (value[OPT_ALPHA] && !parse_float("alpha", value[OPT_ALPHA], &o->desc.alpha)) ||
        (value[OPT_BETA] && !parse_float("beta", value[OPT_BETA], &o->desc.beta)) ||
        (value[OPT_K] && !parse_float("k", value[OPT_K], &o->desc.k)))
        return 0;
    if (value[OPT_CONVENTION]) {
        /* Whether the mode is defined for the convention is the library's call (plan_create). */
        static const struct {
            const char *name;
            lrncl_convention convention;
        } conventions[] = {
            {"caffe", LRNCL_CONVENTION_CAFFE},   {"pytorch", LRNCL_CONVENTION_PYTORCH},
            {"onnx", LRNCL_CONVENTION_ONNX},     {"tensorflow", LRNCL_CONVENTION_TENSORFLOW},
            {"cudnn", LRNCL_CONVENTION_CUDNN},   {"miopen", LRNCL_CONVENTION_MIOPEN},
            {"onednn", LRNCL_CONVENTION_ONEDNN},
        };
        size_t i = 0, nconv = sizeof conventions / sizeof conventions[0];
        while (i < nconv && strcmp(value[OPT_CONVENTION], conventions[i].name) != 0)
            i++;
        if (i == nconv) {
            cli_fail("unknown --convention '%s' (expected caffe, pytorch, onnx, tensorflow, cudnn, "
                 "miopen or onednn)", value[OPT_CONVENTION]);
            return 0;
        }
        o->desc.convention = conventions[i].convention;
    }
    if (value[OPT_LAYOUT]) {
        if (strcmp(value[OPT_LAYOUT], "nchw") == 0)
            o->desc.layout = LRNCL_LAYOUT_NCHW;
        else if (strcmp(value[OPT_LAYOUT], "nhwc") == 0)
            o->desc.layout = LRNCL_LAYOUT_NHWC;
        else {
            cli_fail("unknown --layout '%s' (expected nchw or nhwc)", value[OPT_LAYOUT]);
            return 0;
        }
    }
    if (!device_option(value[OPT_DEVICE], o))
        return 0;
    o->input = value[OPT_INPUT];
    o->grad_output = value[OPT_GRAD_OUTPUT];
    o->output = value[OPT_OUTPUT];
    o->scale_output = value[OPT_SCALE_OUTPUT];
    const char *missing = !o->input ? "input" : (backward && !o->grad_output) ? "grad-output"
                        : !o->output ? "output" : NULL;
    if (missing) {
        cli_fail("--%s is required (see lrncl --help)", missing);
        return 0;
    }
    if (o->scale_output && strcmp(o->scale_output, o->output) == 0) {
        cli_fail("--output and --scale-output name the same file '%s'", o->output);
        return 0;
    }
    return 1;
}

/* ---- devices ------------------------------------------------------------------------------- */

typedef struct {
    cl_platform_id platform;
    cl_device_id device;
    unsigned p, d; /* indices as 'lrncl devices' prints them */
} device_entry;

/* Every platform:device pair, in index order (CL_DEVICE_TYPE_ALL, as lrncl's default uses). */
static int list_devices(device_entry **out, size_t *count, cl_uint *nplatforms) {
    cl_platform_id *plats = NULL;
    cl_device_id *devs = NULL;
    device_entry *list = NULL;
    size_t n = 0;
    cl_uint np = 0;
    int ok = 0;

    cl_int err = clGetPlatformIDs(0, NULL, &np);
    if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR: the ICD loader found no platform */)
        np = 0;
    else
        TRY(cli_cl_ok(err, "clGetPlatformIDs"));
    if (np > 0) {
        TRY((plats = cli_alloc(np, sizeof *plats, "platform list")) != NULL);
        TRY(cli_cl_ok(clGetPlatformIDs(np, plats, NULL), "clGetPlatformIDs"));
    }
    for (cl_uint p = 0; p < np; p++) {
        cl_uint nd = 0;
        err = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd);
        if (err == CL_DEVICE_NOT_FOUND)
            continue;
        TRY(cli_cl_ok(err, "clGetDeviceIDs"));
        if (nd == 0)
            continue;
        TRY((devs = cli_alloc(nd, sizeof *devs, "device list")) != NULL);
        TRY(cli_cl_ok(clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, nd, devs, NULL), "clGetDeviceIDs"));
        device_entry *grown = realloc(list, (n + nd) * sizeof *list);
        if (!grown) {
            cli_fail("out of host memory for the device list");
            goto done;
        }
        list = grown;
        for (cl_uint d = 0; d < nd; d++)
            list[n++] = (device_entry){plats[p], devs[d], (unsigned)p, (unsigned)d};
        free(devs);
        devs = NULL;
    }
    *out = list;
    *count = n;
    *nplatforms = np;
    list = NULL;
    ok = 1;
done:
    free(list);
    free(devs);
    free(plats);
    return ok;
}

/* A platform (device NULL) or device info string into buf, trailing spaces trimmed. */
static void info_text(cl_platform_id platform, cl_device_id device, cl_uint what, char *buf, size_t len) {
    size_t need = 0;
    char *tmp = NULL;
    buf[0] = '\0';
    cl_int err = device ? clGetDeviceInfo(device, what, 0, NULL, &need)
                        : clGetPlatformInfo(platform, what, 0, NULL, &need);
    if (err != CL_SUCCESS || need == 0 || !(tmp = malloc(need)))
        return;
    err = device ? clGetDeviceInfo(device, what, need, tmp, NULL)
                 : clGetPlatformInfo(platform, what, need, tmp, NULL);
    if (err == CL_SUCCESS) {
        tmp[need - 1] = '\0';
        snprintf(buf, len, "%s", tmp);
        for (size_t n = strlen(buf); n > 0 && isspace((unsigned char)buf[n - 1]); n--)
            buf[n - 1] = '\0';
    }
    free(tmp);
}

/* "Platform name / device name". */
static void device_title(cl_device_id dev, char *buf, size_t len) {
    cl_platform_id plat = NULL;
    char pname[256], dname[256];
    if (clGetDeviceInfo(dev, CL_DEVICE_PLATFORM, sizeof plat, &plat, NULL) != CL_SUCCESS)
        plat = NULL;
    pname[0] = '\0';
    if (plat)
        info_text(plat, NULL, CL_PLATFORM_NAME, pname, sizeof pname);
    info_text(NULL, dev, CL_DEVICE_NAME, dname, sizeof dname);
    snprintf(buf, len, "%s / %s", pname[0] ? pname : "?", dname[0] ? dname : "?");
}

static const char *device_type_name(cl_device_id dev) {
    cl_device_type t = 0;
    if (clGetDeviceInfo(dev, CL_DEVICE_TYPE, sizeof t, &t, NULL) != CL_SUCCESS)
        return "unknown type";
    return (t & CL_DEVICE_TYPE_GPU) ? "GPU" : (t & CL_DEVICE_TYPE_CPU) ? "CPU"
         : (t & CL_DEVICE_TYPE_ACCELERATOR) ? "ACCELERATOR" : (t & CL_DEVICE_TYPE_CUSTOM) ? "CUSTOM"
         : "other";
}

static int cmd_devices(void) {
    device_entry *list = NULL;
    size_t n = 0;
    cl_uint np = 0;
    if (!list_devices(&list, &n, &np))
        return CLI_FAILED;
    if (n == 0) {
        cli_fail("no OpenCL device found on %u platform(s) (for PoCL, check that POCL_CACHE_DIR is "
             "writable)", (unsigned)np);
        return CLI_FAILED;
    }
    /* The device lrncl_context_create_default picks: $LRNCL_DEVICE, else the first one. */
    const char *env = getenv("LRNCL_DEVICE");
    size_t def = 0;
    if (env && *env) {
        unsigned p, d;
        def = n;
        if (cli_parse_device_pair(env, &p, &d))
            for (size_t i = 0; i < n; i++)
                if (list[i].p == p && list[i].d == d)
                    def = i;
    }
    for (size_t i = 0; i < n; i++) {
        char title[600], cver[128];
        device_title(list[i].device, title, sizeof title);
        info_text(NULL, list[i].device, CL_DEVICE_OPENCL_C_VERSION, cver, sizeof cver);
        /* "OpenCL C 1.2 PoCL": keep "OpenCL C 1.2", drop the vendor's suffix. */
        char *sp = strchr(cver, ' ');
        sp = sp ? strchr(sp + 1, ' ') : NULL;
        sp = sp ? strchr(sp + 1, ' ') : NULL;
        if (sp)
            *sp = '\0';
        printf("%u:%u  %s (%s, %s)%s\n", list[i].p, list[i].d, title, device_type_name(list[i].device),
               cver[0] ? cver : "OpenCL C ?", i == def ? "  [default]" : "");
    }
    if (def == n)
        fprintf(stderr, "lrncl: LRNCL_DEVICE=\"%s\" names no device listed here; the default "
                        "context will fail until it is fixed or unset\n", env);
    free(list);
    return CLI_OK;
}

/* An lrncl context on --device P:D (a cl_context made here), else the library's default. */
static int open_context(const run_options *o, lrncl_context **out) {
    if (!o->has_device)
        return cli_lr_ok(lrncl_context_create_default(out), "lrncl_context_create_default");
    device_entry *list = NULL;
    size_t n = 0, i = 0;
    cl_uint np = 0;
    cl_context cc = NULL;
    int ok = 0;
    TRY(list_devices(&list, &n, &np));
    while (i < n && !(list[i].p == o->platform && list[i].d == o->device))
        i++;
    if (i == n) {
        if (o->platform >= np)
            cli_fail("--device %u:%u: there is no platform %u (%u found; see lrncl devices)", o->platform,
                 o->device, o->platform, (unsigned)np);
        else
            cli_fail("--device %u:%u: platform %u has no device %u (see lrncl devices)", o->platform,
                 o->device, o->platform, o->device);
        goto done;
    }
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)list[i].platform, 0};
    cl_int err;
    cc = clCreateContext(props, 1, &list[i].device, NULL, NULL, &err);
    TRY(cli_cl_ok(err, "clCreateContext"));
    TRY(cli_lr_ok(lrncl_context_create(cc, list[i].device, out), "lrncl_context_create"));
    ok = 1;
done:
    if (cc)
        clReleaseContext(cc); /* the lrncl context holds its own reference */
    free(list);
    return ok;
}

/* ---- forward and backward on files --------------------------------------------------------- */

static void shape_text(const npy_array *a, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < a->ndim && used < len; i++) {
        int n = snprintf(buf + used, len - used, i ? "x%zu" : "%zu", a->shape[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    if (a->ndim == 0)
        snprintf(buf, len, "() (a scalar)");
}

static const char *dtype_name(npy_dtype t) {
    return t == NPY_F32 ? "float32" : t == NPY_F16 ? "float16" : t == NPY_F64 ? "float64" : "unknown";
}

/* Reads a float32 or float16 4-D array (NCHW or NHWC: only the rank is checked here). */
static int read_input(const char *path, lrncl_layout layout, npy_array *a) {
    char err[512], shape[200];
    if (npy_read(path, a, err, sizeof err) != 0) {
        cli_fail("%s", err);
        return 0;
    }
    shape_text(a, shape, sizeof shape);
    if (a->dtype != NPY_F32 && a->dtype != NPY_F16)
        cli_fail("%s: %s input is not supported (float32 or float16 only)", path, dtype_name(a->dtype));
    else if (a->ndim != 4)
        cli_fail("%s: expected a 4-D %s array, got shape %s (%d-D)", path,
             layout == LRNCL_LAYOUT_NHWC ? "NHWC (N,H,W,C)" : "NCHW (N,C,H,W)", shape, a->ndim);
    else
        return 1;
    return 0;
}

static cl_mem new_buffer(lrncl_context *ctx, cl_mem_flags flags, size_t bytes, void *host, const char *what) {
    cl_int err;
    cl_mem m = clCreateBuffer(lrncl_context_cl(ctx), flags, bytes, host, &err);
    if (err != CL_SUCCESS) {
        char call[96];
        snprintf(call, sizeof call, "clCreateBuffer (%s, %zu bytes)", what, bytes);
        cli_cl_ok(err, call);
        return NULL;
    }
    return m;
}

/* Writes data (dtype elements) with like's shape. */
static int write_output(const char *path, npy_dtype dtype, const void *data, const npy_array *like) {
    char err[512];
    if (npy_write(path, dtype, data, like->ndim, like->shape, err, sizeof err) != 0) {
        cli_fail("%s", err);
        return 0;
    }
    return 1;
}

/* lrncl forward / lrncl backward. The forward writes the scale whenever it is wanted: for
 * --scale-output, and for the backward, which then reuses it. */
static int cmd_run(int backward, const run_options *o) {
    npy_array x, dy;
    memset(&x, 0, sizeof x);
    memset(&dy, 0, sizeof dy);
    lrncl_context *ctx = NULL;
    lrncl_plan *plan = NULL;
    cl_command_queue queue = NULL;
    cl_mem bx = NULL, by = NULL, bscale = NULL, bdy = NULL, bdx = NULL;
    void *result = NULL;
    float *scale = NULL;
    int rc = CLI_FAILED;
    char dy_shape[200], x_shape[200];
    const lrncl_layout layout = o->desc.layout;

    TRY(read_input(o->input, layout, &x));
    if (backward) {
        TRY(read_input(o->grad_output, layout, &dy));
        shape_text(&x, x_shape, sizeof x_shape);
        shape_text(&dy, dy_shape, sizeof dy_shape);
        if (dy.dtype != x.dtype) {
            cli_fail("%s: dtype %s does not match the input's %s", o->grad_output, dtype_name(dy.dtype),
                 dtype_name(x.dtype));
            goto done;
        }
        if (memcmp(x.shape, dy.shape, sizeof x.shape) != 0) {
            cli_fail("%s: shape %s does not match the input's %s", o->grad_output, dy_shape, x_shape);
            goto done;
        }
    }
    lrncl_desc d = o->desc;
    d.dtype = x.dtype == NPY_F16 ? LRNCL_FLOAT16 : LRNCL_FLOAT32;
    d.n = x.shape[0];
    if (layout == LRNCL_LAYOUT_NHWC) { /* file shape (N, H, W, C) */
        d.h = x.shape[1];
        d.w = x.shape[2];
        d.c = x.shape[3];
    } else {
        d.c = x.shape[1];
        d.h = x.shape[2];
        d.w = x.shape[3];
    }

    TRY(open_context(o, &ctx));
    TRY(cli_lr_ok(lrncl_plan_create(ctx, &d, &plan), "lrncl_plan_create"));
    cl_int err;
    queue = clCreateCommandQueue(lrncl_context_cl(ctx), lrncl_context_device(ctx), 0, &err);
    TRY(cli_cl_ok(err, "clCreateCommandQueue"));

    /* Contiguous NCHW or NHWC with offsets 0: the span is the element count of the file. */
    if (lrncl_desc_span(&d) != x.count) {
        cli_fail("internal error: the descriptor spans %zu elements, the input holds %zu", lrncl_desc_span(&d),
             x.count);
        goto done;
    }
    const size_t elem = npy_dtype_size(x.dtype);
    size_t bytes = x.count * elem, scale_bytes = x.count * sizeof(float);
    int want_scale = backward || o->scale_output;
    TRY((bx = new_buffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes, x.data, "x")) != NULL);
    TRY((by = new_buffer(ctx, CL_MEM_READ_WRITE, bytes, NULL, "y")) != NULL);
    if (want_scale)
        TRY((bscale = new_buffer(ctx, CL_MEM_READ_WRITE, scale_bytes, NULL, "scale")) != NULL);
    TRY(cli_lr_ok(lrncl_forward(plan, queue, bx, by, bscale, 0, NULL, NULL), "lrncl_forward"));
    if (backward) {
        TRY((bdy = new_buffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes, dy.data, "dy")) != NULL);
        TRY((bdx = new_buffer(ctx, CL_MEM_WRITE_ONLY, bytes, NULL, "dx")) != NULL);
        TRY(cli_lr_ok(lrncl_backward(plan, queue, bx, by, bdy, bscale, bdx, 0, NULL, NULL), "lrncl_backward"));
    }
    TRY((result = cli_alloc(x.count, elem, "the result")) != NULL);
    TRY(cli_cl_ok(clEnqueueReadBuffer(queue, backward ? bdx : by, CL_TRUE, 0, bytes, result, 0, NULL, NULL),
              "clEnqueueReadBuffer"));
    if (o->scale_output) {
        TRY((scale = cli_alloc(x.count, sizeof(float), "the scale")) != NULL);
        TRY(cli_cl_ok(clEnqueueReadBuffer(queue, bscale, CL_TRUE, 0, scale_bytes, scale, 0, NULL, NULL),
                  "clEnqueueReadBuffer"));
    }
    TRY(cli_cl_ok(clFinish(queue), "clFinish"));

    TRY(write_output(o->output, x.dtype, result, &x));
    if (o->scale_output && !write_output(o->scale_output, NPY_F32, scale, &x)) {
        remove(o->output); /* all or nothing */
        goto done;
    }
    rc = CLI_OK;
done:
    free(scale);
    free(result);
    if (bdx)
        clReleaseMemObject(bdx);
    if (bdy)
        clReleaseMemObject(bdy);
    if (bscale)
        clReleaseMemObject(bscale);
    if (by)
        clReleaseMemObject(by);
    if (bx)
        clReleaseMemObject(bx);
    if (queue)
        clReleaseCommandQueue(queue);
    lrncl_plan_release(plan);
    lrncl_context_release(ctx);
    npy_free(&dy);
    npy_free(&x);
    return rc;
}

/* ---- demo ---------------------------------------------------------------------------------- */

enum { DEMO_RUNS = 10 };
static const double demo_bound = 1e-5; /* SPEC section 6, float32 forward and backward */

typedef struct {
    const char *name;
    lrncl_mode mode;
    size_t n, c, h, w;
    int size;
    float alpha, beta, k;
} demo_case;

static const demo_case demo_cases[] = {
    {"alexnet-norm1 across n=5", LRNCL_ACROSS_CHANNELS, 8, 96, 55, 55, 5, 1e-4f, 0.75f, 1.0f},
    {"alexnet-norm2 across n=5", LRNCL_ACROSS_CHANNELS, 8, 256, 27, 27, 5, 1e-4f, 0.75f, 1.0f},
    /* Smaller than AlexNet's norm1 so the float64 reference (n^2 taps) stays quick. */
    {"within-channel n=5", LRNCL_WITHIN_CHANNEL, 4, 32, 55, 55, 5, 1e-4f, 0.75f, 1.0f},
};

/* Deterministic, roughly normal values (sum of 4 uniforms, variance 1): xorshift64*. */
static double demo_random(uint64_t *state) {
    double sum = 0;
    for (int i = 0; i < 4; i++) {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        sum += (double)((*state * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
    }
    return (sum - 2.0) * 1.7320508075688772;
}

/* max|out - ref| / max|ref|; NaN if any output is NaN (an unwritten element: outputs are
 * poisoned with NaN) or differs by NaN. */
static double max_rel_error(const float *out, const double *ref, size_t n) {
    double max_diff = 0, max_ref = 0;
    for (size_t i = 0; i < n; i++) {
        double diff = fabs((double)out[i] - ref[i]);
        if (isnan(diff))
            return NAN;
        if (diff > max_diff)
            max_diff = diff;
        if (fabs(ref[i]) > max_ref)
            max_ref = fabs(ref[i]);
    }
    return max_ref > 0 ? max_diff / max_ref : (max_diff > 0 ? INFINITY : 0);
}


/* Device buffers of one demo case. */
typedef struct {
    lrncl_plan *plan;
    cl_mem x, y, scale, dy, dx;
} demo_buffers;

/* Milliseconds from the marker enqueued just before an operation to the end of its last
 * command (an operation may enqueue several kernels; done is only the last one's event). */
static int event_ms(cl_event start, cl_event done, double *ms) {
    cl_ulong t0 = 0, t1 = 0;
    if (clGetEventProfilingInfo(start, CL_PROFILING_COMMAND_END, sizeof t0, &t0, NULL) != CL_SUCCESS)
        TRY(cli_cl_ok(clGetEventProfilingInfo(done, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL),
                  "clGetEventProfilingInfo"));
    TRY(cli_cl_ok(clGetEventProfilingInfo(done, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL),
              "clGetEventProfilingInfo"));
    *ms = t1 > t0 ? (double)(t1 - t0) * 1e-6 : 0.0;
    return 1;
done:
    return 0;
}

/* One untimed warm-up, then DEMO_RUNS timed runs of the forward or the backward; the median. */
static int time_pass(cl_command_queue q, const demo_buffers *b, int backward, double *median_ms) {
    double ms[DEMO_RUNS];
    for (int r = -1; r < DEMO_RUNS; r++) {
        cl_event start = NULL, done = NULL;
        int ok = cli_cl_ok(clEnqueueMarkerWithWaitList(q, 0, NULL, &start), "clEnqueueMarkerWithWaitList") &&
                 (backward ? cli_lr_ok(lrncl_backward(b->plan, q, b->x, b->y, b->dy, b->scale, b->dx, 0, NULL, &done),
                                   "lrncl_backward")
                           : cli_lr_ok(lrncl_forward(b->plan, q, b->x, b->y, b->scale, 0, NULL, &done),
                                   "lrncl_forward")) &&
                 cli_cl_ok(clFinish(q), "clFinish") && (r < 0 || event_ms(start, done, &ms[r]));
        if (done)
            clReleaseEvent(done);
        if (start)
            clReleaseEvent(start);
        if (!ok)
            return 0;
    }
    qsort(ms, DEMO_RUNS, sizeof ms[0], cli_compare_double);
    *median_ms = (ms[(DEMO_RUNS - 1) / 2] + ms[DEMO_RUNS / 2]) / 2;
    return 1;
}

/* One table row; measured is 0 when an error stopped the pass before it was checked. */
static void print_row(const demo_case *dc, const char *pass, int measured, double err, double ms) {
    char shape[64], errs[32] = "-", mss[32] = "-";
    snprintf(shape, sizeof shape, "%zux%zux%zux%zu", dc->n, dc->c, dc->h, dc->w);
    if (measured) {
        snprintf(errs, sizeof errs, "%.1e", err);
        snprintf(mss, sizeof mss, "%.3f", ms);
    }
    printf("%-26s %-14s %-9s %-13s %-7.0e %10s   %s\n", dc->name, shape, pass, errs, demo_bound, mss,
           !measured ? "error" : err <= demo_bound ? "ok" : "FAIL");
    fflush(stdout);
}

/* Runs one case: forward (with scale) and backward, each checked and timed, and prints its two
 * rows. Returns the number of passes that failed their bound, or -1 on an error (recorded). */
static int demo_one(lrncl_context *ctx, cl_command_queue q, const demo_case *dc, uint64_t seed) {
    demo_buffers b;
    memset(&b, 0, sizeof b);
    float *xf = NULL, *dyf = NULL, *out = NULL;
    double *xd = NULL, *dyd = NULL, *yref = NULL, *sref = NULL, *dxref = NULL;
    double err[2] = {NAN, NAN}, ms[2] = {0, 0};
    int result = -1, passes_done = 0;

    lrncl_desc d;
    lrncl_desc_init(&d, dc->mode);
    d.local_size = dc->size;
    d.alpha = dc->alpha;
    d.beta = dc->beta;
    d.k = dc->k;
    d.n = dc->n;
    d.c = dc->c;
    d.h = dc->h;
    d.w = dc->w;
    size_t count = lrncl_desc_elements(&d), bytes = count * sizeof(float);

    TRY((xf = cli_alloc(count, sizeof *xf, "x")) && (dyf = cli_alloc(count, sizeof *dyf, "dy")) &&
        (out = cli_alloc(count, sizeof *out, "the output")) &&
        (xd = cli_alloc(count, sizeof *xd, "x")) && (dyd = cli_alloc(count, sizeof *dyd, "dy")) &&
        (yref = cli_alloc(count, sizeof *yref, "the reference y")) &&
        (sref = cli_alloc(count, sizeof *sref, "the reference scale")) &&
        (dxref = cli_alloc(count, sizeof *dxref, "the reference dx")));
    /* Activations of a few tens, like AlexNet's, so the normalization changes the values. */
    uint64_t state = 0x9E3779B97F4A7C15ull ^ seed;
    for (size_t i = 0; i < count; i++) {
        xf[i] = (float)(40.0 * demo_random(&state));
        dyf[i] = (float)demo_random(&state);
        xd[i] = xf[i];
        dyd[i] = dyf[i];
    }
    TRY(cli_lr_ok(lrncl_reference_forward(&d, xd, yref, sref), "lrncl_reference_forward"));
    TRY(cli_lr_ok(lrncl_reference_backward(&d, xd, yref, dyd, dxref), "lrncl_reference_backward"));

    TRY(cli_lr_ok(lrncl_plan_create(ctx, &d, &b.plan), "lrncl_plan_create"));
    TRY((b.x = new_buffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes, xf, "x")) != NULL);
    TRY((b.dy = new_buffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes, dyf, "dy")) != NULL);
    TRY((b.y = new_buffer(ctx, CL_MEM_READ_WRITE, bytes, NULL, "y")) != NULL);
    TRY((b.scale = new_buffer(ctx, CL_MEM_READ_WRITE, bytes, NULL, "scale")) != NULL);
    TRY((b.dx = new_buffer(ctx, CL_MEM_WRITE_ONLY, bytes, NULL, "dx")) != NULL);
    /* Poison the outputs: an element no run writes stays NaN and fails the check. */
    const float nan_pattern = NAN;
    cl_mem outputs[3] = {b.y, b.scale, b.dx};
    for (int i = 0; i < 3; i++)
        TRY(cli_cl_ok(clEnqueueFillBuffer(q, outputs[i], &nan_pattern, sizeof nan_pattern, 0, bytes, 0, NULL, NULL),
                  "clEnqueueFillBuffer"));

    for (int pass = 0; pass < 2; pass++) {
        TRY(time_pass(q, &b, pass, &ms[pass]));
        TRY(cli_cl_ok(clEnqueueReadBuffer(q, pass ? b.dx : b.y, CL_TRUE, 0, bytes, out, 0, NULL, NULL),
                  "clEnqueueReadBuffer"));
        err[pass] = max_rel_error(out, pass ? dxref : yref, count);
        passes_done++;
    }
    result = 0;
done:
    for (int pass = 0; pass < 2; pass++) {
        int measured = pass < passes_done;
        if (result >= 0 && measured && !(err[pass] <= demo_bound)) /* NaN fails too */
            result++;
        print_row(dc, pass ? "backward" : "forward", measured, err[pass], ms[pass]);
    }
    if (b.dx)
        clReleaseMemObject(b.dx);
    if (b.scale)
        clReleaseMemObject(b.scale);
    if (b.y)
        clReleaseMemObject(b.y);
    if (b.dy)
        clReleaseMemObject(b.dy);
    if (b.x)
        clReleaseMemObject(b.x);
    lrncl_plan_release(b.plan);
    free(dxref);
    free(sref);
    free(yref);
    free(dyd);
    free(xd);
    free(out);
    free(dyf);
    free(xf);
    return result;
}

static int cmd_demo(const run_options *o) {
    lrncl_context *ctx = NULL;
    cl_command_queue queue = NULL;
    int rc = CLI_FAILED, failed = 0, errors = 0;
    const int ncases = (int)(sizeof demo_cases / sizeof demo_cases[0]);

    TRY(open_context(o, &ctx));
    cl_int err;
    queue = clCreateCommandQueue(lrncl_context_cl(ctx), lrncl_context_device(ctx), CL_QUEUE_PROFILING_ENABLE,
                                 &err);
    TRY(cli_cl_ok(err, "clCreateCommandQueue"));

    char title[600];
    device_title(lrncl_context_device(ctx), title, sizeof title);
    printf("device: %s\n", title);
    printf("%-26s %-14s %-9s %-13s %-7s %10s   %s\n", "case", "shape", "pass", "max rel err", "bound",
           "median ms", "status");
    for (int i = 0; i < ncases; i++) {
        int r = demo_one(ctx, queue, &demo_cases[i], (uint64_t)i + 1);
        if (r < 0)
            errors++;
        else
            failed += r;
    }
    if (errors == 0 && failed > 0)
        cli_fail("%d of %d checks exceeded the bound %.0e", failed, 2 * ncases, demo_bound);
    rc = (errors || failed) ? CLI_FAILED : CLI_OK;
done:
    if (queue)
        clReleaseCommandQueue(queue);
    lrncl_context_release(ctx);
    return rc;
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
    int rc = collect_options(cmd, argc - 2, argv + 2, allowed, value);
    if (rc != CLI_OK)
        return rc;
    if (strcmp(cmd, "devices") == 0)
        return cmd_devices();
    if (strcmp(cmd, "demo") == 0)
        return device_option(value[OPT_DEVICE], &o) ? cmd_demo(&o) : CLI_USAGE;
    if (!build_run_options(backward, value, &o))
        return CLI_USAGE;
    return cmd_run(backward, &o);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs(usage_text, stdout);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "bench") == 0) /* its own options, errors and exit statuses */
        return bench_main(argc, argv);
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
