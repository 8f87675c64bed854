/* cli_options.c: option parsing for the lrncl command (see cli_options.h). */
#include "cli_options.h"

#include "cli_common.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

const char *const cli_opt_names[OPT_COUNT] = {
    "mode", "size", "alpha", "beta", "k", "convention", "layout", "device",
    "input", "grad-output", "output", "scale-output",
    "shape", "dtype", "binaries", "emit-source"};

int cli_collect_options(const char *cmd, int argc, char **argv, unsigned allowed,
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
        while (o < OPT_COUNT && !(strlen(cli_opt_names[o]) == len && strncmp(cli_opt_names[o], name, len) == 0))
            o++;
        if (o == OPT_COUNT) {
            cli_fail("unknown option '%.*s' (see lrncl --help)", (int)len + 2, arg);
            return CLI_USAGE;
        }
        if (!(allowed & OPT_BIT(o))) {
            cli_fail("'lrncl %s' takes no --%s", cmd, cli_opt_names[o]);
            return CLI_USAGE;
        }
        if (OPTS_FLAGS & OPT_BIT(o)) {
            if (eq) {
                cli_fail("--%s takes no value", cli_opt_names[o]);
                return CLI_USAGE;
            }
            value[o] = "1";
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
        if (!v || (!eq && strncmp(v, "--", 2) == 0) || !*v) {
            cli_fail("--%s needs a value", cli_opt_names[o]);
            return CLI_USAGE;
        }
        if (!eq)
            i++;
        if (value[o]) {
            cli_fail("--%s given twice", cli_opt_names[o]);
            return CLI_USAGE;
        }
        value[o] = v;
    }
    return CLI_OK;
}

int cli_device_option(const char *value, run_options *o) {
    if (!value)
        return 1;
    if (!cli_parse_device_pair(value, &o->platform, &o->device)) {
        cli_fail("--device: '%s' is not of the form P:D (e.g. 0:0)", value);
        return 0;
    }
    o->has_device = 1;
    return 1;
}

int cli_build_problem(const char *value[OPT_COUNT], lrncl_desc *d) {
    lrncl_mode mode = LRNCL_ACROSS_CHANNELS;
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
    lrncl_desc_init(d, mode);
    if ((value[OPT_SIZE] && !parse_int("size", value[OPT_SIZE], &d->local_size)) ||
        (value[OPT_ALPHA] && !parse_float("alpha", value[OPT_ALPHA], &d->alpha)) ||
        (value[OPT_BETA] && !parse_float("beta", value[OPT_BETA], &d->beta)) ||
        (value[OPT_K] && !parse_float("k", value[OPT_K], &d->k)))
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
        d->convention = conventions[i].convention;
    }
    if (value[OPT_LAYOUT]) {
        if (strcmp(value[OPT_LAYOUT], "nchw") == 0)
            d->layout = LRNCL_LAYOUT_NCHW;
        else if (strcmp(value[OPT_LAYOUT], "nhwc") == 0)
            d->layout = LRNCL_LAYOUT_NHWC;
        else {
            cli_fail("unknown --layout '%s' (expected nchw or nhwc)", value[OPT_LAYOUT]);
            return 0;
        }
    }
    return 1;
}

int cli_build_run_options(int backward, const char *value[OPT_COUNT], run_options *o) {
    memset(o, 0, sizeof *o);
    if (!cli_build_problem(value, &o->desc))
        return 0;
    if (!cli_device_option(value[OPT_DEVICE], o))
        return 0;
    o->binaries = value[OPT_BINARIES];
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

int cli_parse_shape(const char *s, size_t dims[4]) {
    const char *p = s;
    for (int i = 0; i < 4; i++) {
        char *end;
        if (*p < '0' || *p > '9')
            return 0;
        errno = 0;
        unsigned long long v = strtoull(p, &end, 10);
        if (errno || v == 0 || v > (size_t)-1 || (i < 3 ? *end != 'x' : *end != '\0'))
            return 0;
        dims[i] = (size_t)v;
        p = end + 1;
    }
    return 1;
}

int cli_build_problem_options(int compile, const char *value[OPT_COUNT], run_options *o) {
    memset(o, 0, sizeof *o);
    if (!cli_build_problem(value, &o->desc) || !cli_device_option(value[OPT_DEVICE], o))
        return 0;
    o->input = value[OPT_INPUT];
    o->shape = value[OPT_SHAPE];
    o->dtype = value[OPT_DTYPE];
    o->output = value[OPT_OUTPUT];
    o->emit_source = value[OPT_EMIT_SOURCE] != NULL;
    o->binaries = value[OPT_BINARIES];
    if (!o->input == !o->shape) {
        cli_fail("give exactly one of --input FILE and --shape NxCxHxW");
        return 0;
    }
    if (o->shape && !cli_parse_shape(o->shape, o->shape_dims)) {
        cli_fail("--shape: '%s' is not four positive integers NxCxHxW (NxHxWxC with --layout nhwc)", o->shape);
        return 0;
    }
    if (o->dtype && !o->shape) {
        cli_fail("--dtype goes with --shape (with --input, the file's dtype is used)");
        return 0;
    }
    if (o->dtype && strcmp(o->dtype, "f32") != 0 && strcmp(o->dtype, "f16") != 0) {
        cli_fail("unknown --dtype '%s' (expected f32 or f16)", o->dtype);
        return 0;
    }
    if (compile && !o->output) {
        cli_fail("--output DIR is required (the bundle folder)");
        return 0;
    }
    return 1;
}
