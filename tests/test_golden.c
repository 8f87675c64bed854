/* test_golden.c: every golden case (tests/golden, made in float64 by PyTorch) in its own
 * convention (Caffe, PyTorch, ONNX, TensorFlow) and dtype (float32, float16 storage) through
 * the device plan (forward with and without scale, backward with and without scale) and
 * through lrncl's own float64 reference. One Criterion test per case. */
#include "testutil.h"
#include "npy.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef LRNCL_GOLDEN_DIR
#error "LRNCL_GOLDEN_DIR must name the tests/golden folder"
#endif

/* Every case of the shared golden set. golden_list_matches_CASES checks this list against
 * CASES: each must be in the other. */
#define GOLDEN_CASES(X)                                                                         \
    X(caffe_across_alexnet1) X(caffe_across_alexnet2) X(caffe_across_big_alpha)                 \
    X(caffe_across_size1) X(caffe_across_size3) X(caffe_across_size7) X(caffe_across_size11)    \
    X(caffe_across_c_lt_size) X(caffe_across_c1) X(caffe_across_hw1) X(caffe_across_beta2)      \
    X(caffe_across_beta_small) X(caffe_across_wide_range) X(caffe_across_odd_hw)                \
    X(caffe_within_basic) X(caffe_within_size5) X(caffe_within_size7) X(caffe_within_size1)     \
    X(caffe_within_small_hw) X(caffe_within_k_ignored) X(caffe_within_rect) X(caffe_within_beta05) \
    X(caffe_across_f16) X(caffe_within_f16)                                                     \
    X(pytorch_even4) X(pytorch_even2) X(pytorch_odd5)                                           \
    X(onnx_even4) X(onnx_even6) X(onnx_odd3)                                                    \
    X(tensorflow_r2) X(tensorflow_r5)                                                           \
    X(pytorch_k0) X(pytorch_k0_zero_window) X(pytorch_k0_even2_general_beta)                    \
    X(onnx_k0_even4_zero_window) X(tensorflow_k0_r1_zero_window)

struct golden_param {
    char name[48];
};

#define AS_PARAM(n) {#n},
static struct golden_param golden_cases[] = {GOLDEN_CASES(AS_PARAM)};
#define N_GOLDEN (sizeof golden_cases / sizeof golden_cases[0])

/* ---- a tiny JSON reader: case.json is flat apart from the "canonical" object ------------- */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *s = tu_alloc(cap);
    size_t got;
    while ((got = fread(s + len, 1, cap - 1 - len, f)) > 0) {
        len += got;
        if (len + 1 >= cap) {
            char *t = realloc(s, cap * 2);
            cr_assert(t != NULL);
            s = t;
            cap *= 2;
        }
    }
    fclose(f);
    s[len] = '\0';
    return s;
}

/* Skips a string starting at *p == '"'; returns the character after the closing quote. */
static const char *skip_string(const char *p)
{
    for (p++; *p && *p != '"'; p++)
        if (*p == '\\' && p[1])
            p++;
    return *p ? p + 1 : p;
}

/* The value of key in the object that starts at obj ('{'), only at that object's own level;
 * NULL when absent. */
static const char *json_find(const char *obj, const char *key)
{
    size_t klen = strlen(key);
    int depth = 0;
    for (const char *p = obj; *p; ) {
        if (*p == '"') {
            const char *end = skip_string(p);
            if (depth == 1 && (size_t)(end - p) == klen + 2 && strncmp(p + 1, key, klen) == 0) {
                const char *v = end;
                while (isspace((unsigned char)*v))
                    v++;
                if (*v == ':') {
                    v++;
                    while (isspace((unsigned char)*v))
                        v++;
                    return v;
                }
            }
            p = end;
            continue;
        }
        if (*p == '{' || *p == '[')
            depth++;
        else if (*p == '}' || *p == ']') {
            if (--depth == 0)
                return NULL;
        }
        p++;
    }
    return NULL;
}

static double json_number(const char *obj, const char *key)
{
    const char *v = json_find(obj, key);
    cr_assert(v != NULL, "case.json: no \"%s\"", key);
    char *end = NULL;
    double d = strtod(v, &end);
    cr_assert(end != v, "case.json: \"%s\" is not a number", key);
    return d;
}

static void json_string(const char *obj, const char *key, char *out, size_t len)
{
    const char *v = json_find(obj, key);
    cr_assert(v != NULL && *v == '"', "case.json: no string \"%s\"", key);
    const char *end = strchr(v + 1, '"');
    cr_assert(end != NULL && (size_t)(end - v - 1) < len, "case.json: bad \"%s\"", key);
    memcpy(out, v + 1, (size_t)(end - v - 1));
    out[end - v - 1] = '\0';
}

static void json_shape(const char *obj, size_t shape[4])
{
    const char *v = json_find(obj, "shape");
    cr_assert(v != NULL && *v == '[', "case.json: no \"shape\" array");
    v++;
    for (int i = 0; i < 4; i++) {
        char *end = NULL;
        double d = strtod(v, &end);
        cr_assert(end != v && d >= 1 && d == floor(d), "case.json: bad shape entry %d", i);
        shape[i] = (size_t)d;
        v = end;
        while (isspace((unsigned char)*v) || *v == ',')
            v++;
    }
    cr_assert(*v == ']', "case.json: shape is not 4-D");
}

/* ---- one golden case ---------------------------------------------------------------------- */
struct golden {
    char name[48];
    lrncl_desc d;
    double alpha, beta, k; /* exact values from case.json (the desc holds them as float) */
    size_t count;
    npy_array x, dy, y, scale, dx;
    float *xf, *dyf; /* x and dy as float (float16 files converted exactly) */
};

static void load_npy(const struct golden *g, const char *file, npy_dtype want, npy_array *a)
{
    char path[1024], err[256] = "";
    snprintf(path, sizeof path, "%s/%s/%s", LRNCL_GOLDEN_DIR, g->name, file);
    cr_assert(npy_read(path, a, err, sizeof err) == 0, "%s: npy_read: %s", path, err);
    cr_assert(a->dtype == want, "%s: dtype %d, expected %d", path, (int)a->dtype, (int)want);
    cr_assert(a->ndim == 4 && a->shape[0] == g->d.n && a->shape[1] == g->d.c && a->shape[2] == g->d.h &&
                  a->shape[3] == g->d.w && a->count == g->count,
              "%s: shape does not match case.json", path);
}

/* The canonical window and factors of docs/conventions.md's table, written out here rather than
 * taken from the library, so that a wrong case.json or a wrong mapping both show. */
struct golden_convention {
    const char *name;
    lrncl_convention convention;
};
static const struct golden_convention golden_conventions[] = {
    {"caffe", LRNCL_CONVENTION_CAFFE},
    {"pytorch", LRNCL_CONVENTION_PYTORCH},
    {"onnx", LRNCL_CONVENTION_ONNX},
    {"tensorflow", LRNCL_CONVENTION_TENSORFLOW},
};

static void expected_canonical(lrncl_convention conv, lrncl_mode m, int size, double alpha, double k, int *lo,
                               int *hi, double *a, double *k_eff)
{
    const double n = size;
    *k_eff = k;
    switch (conv) {
    case LRNCL_CONVENTION_CAFFE: /* lo = hi = (n-1)/2; within: alpha/n^2 and 1 in place of k */
        *lo = *hi = (size - 1) / 2;
        *a = m == LRNCL_ACROSS_CHANNELS ? alpha / n : alpha / (n * n);
        *k_eff = m == LRNCL_ACROSS_CHANNELS ? k : 1.0;
        break;
    case LRNCL_CONVENTION_PYTORCH: /* floor(n/2) below, floor((n-1)/2) above */
        *lo = size / 2;
        *hi = (size - 1) / 2;
        *a = alpha / n;
        break;
    case LRNCL_CONVENTION_ONNX: /* floor((n-1)/2) below, the rest above */
        *lo = (size - 1) / 2;
        *hi = size - 1 - *lo;
        *a = alpha / n;
        break;
    default: /* TensorFlow: size is depth_radius r, raw alpha */
        *lo = *hi = size;
        *a = alpha;
        break;
    }
}

static void load_golden(struct golden *g, const char *name)
{
    memset(g, 0, sizeof *g);
    snprintf(g->name, sizeof g->name, "%s", name);
    char path[1024], mode[32], conv[32], dtype[32];
    snprintf(path, sizeof path, "%s/%s/case.json", LRNCL_GOLDEN_DIR, name);
    char *json = read_text(path);
    cr_assert(json != NULL, "cannot read %s", path);
    const char *obj = strchr(json, '{');
    cr_assert(obj != NULL, "%s: not a JSON object", path);

    json_string(obj, "convention", conv, sizeof conv);
    json_string(obj, "mode", mode, sizeof mode);
    json_string(obj, "dtype", dtype, sizeof dtype);
    size_t ci = 0, nconv = sizeof golden_conventions / sizeof golden_conventions[0];
    while (ci < nconv && strcmp(conv, golden_conventions[ci].name) != 0)
        ci++;
    cr_assert(ci < nconv, "%s: convention %s", path, conv);
    const lrncl_convention convention = golden_conventions[ci].convention;
    cr_assert(strcmp(dtype, "float32") == 0 || strcmp(dtype, "float16") == 0, "%s: dtype %s", path, dtype);
    const bool f16 = strcmp(dtype, "float16") == 0;
    cr_assert(strcmp(mode, "across") == 0 || strcmp(mode, "within") == 0, "%s: mode %s", path, mode);
    lrncl_mode m = strcmp(mode, "across") == 0 ? LRNCL_ACROSS_CHANNELS : LRNCL_WITHIN_CHANNEL;
    double size = json_number(obj, "size"); /* TensorFlow: depth_radius */
    cr_assert(size == floor(size) && size >= 0 && size < 1000, "%s: size %g", path, size);
    g->alpha = json_number(obj, "alpha");
    g->beta = json_number(obj, "beta");
    g->k = json_number(obj, "k");
    size_t shape[4];
    json_shape(obj, shape);

    /* The canonical parameters must be the convention's mapping, or this test checks the wrong
     * thing. */
    const char *canon = json_find(obj, "canonical");
    cr_assert(canon != NULL && *canon == '{', "%s: no canonical object", path);
    int lo, hi;
    double a_eff, k_eff;
    expected_canonical(convention, m, (int)size, g->alpha, g->k, &lo, &hi, &a_eff, &k_eff);
    cr_assert(json_number(canon, "window_lo") == lo && json_number(canon, "window_hi") == hi,
              "%s: canonical window %g..%g is not %s's %d..%d", path, json_number(canon, "window_lo"),
              json_number(canon, "window_hi"), conv, lo, hi);
    cr_assert(fabs(json_number(canon, "alpha_eff") - a_eff) <= 1e-15 * a_eff, "%s: alpha_eff", path);
    cr_assert(json_number(canon, "k_eff") == k_eff && json_number(canon, "beta") == g->beta,
              "%s: k_eff/beta", path);
    free(json);

    lrncl_desc_init(&g->d, m);
    g->d.convention = convention;
    g->d.dtype = f16 ? LRNCL_FLOAT16 : LRNCL_FLOAT32;
    g->d.local_size = (int)size;
    g->d.alpha = (float)g->alpha;
    g->d.beta = (float)g->beta;
    g->d.k = (float)g->k;
    g->d.n = shape[0];
    g->d.c = shape[1];
    g->d.h = shape[2];
    g->d.w = shape[3];
    g->count = lrncl_desc_elements(&g->d);
    cr_assert(g->count == shape[0] * shape[1] * shape[2] * shape[3], "%s: lrncl_desc_elements", path);

    /* Inputs as float whatever their storage (halves convert exactly). */
    npy_dtype in = f16 ? NPY_F16 : NPY_F32;
    load_npy(g, "x.npy", in, &g->x);
    load_npy(g, "dy.npy", in, &g->dy);
    g->xf = tu_floats(g->count);
    g->dyf = tu_floats(g->count);
    for (size_t i = 0; i < g->count; i++) {
        if (f16) {
            g->xf[i] = tu_half_to_float(((const uint16_t *)g->x.data)[i]);
            g->dyf[i] = tu_half_to_float(((const uint16_t *)g->dy.data)[i]);
        } else {
            g->xf[i] = ((const float *)g->x.data)[i];
            g->dyf[i] = ((const float *)g->dy.data)[i];
        }
    }
    load_npy(g, "y.npy", NPY_F64, &g->y);
    load_npy(g, "scale.npy", NPY_F64, &g->scale);
    load_npy(g, "dx.npy", NPY_F64, &g->dx);
}

static void free_golden(struct golden *g)
{
    free(g->xf);
    free(g->dyf);
    npy_free(&g->x);
    npy_free(&g->dy);
    npy_free(&g->y);
    npy_free(&g->scale);
    npy_free(&g->dx);
}

#define EXPECT_CMP(ok, r, g) cr_expect((ok), "%s: %s", (g)->name, (r).msg)

/* got against ref (both double): NaN exactly where ref is NaN (k = 0 cases: a window of zeros
 * gives 0/0), the other elements within max_rel of the largest of them (tu_check). */
static bool check_ref(const char *what, const lrncl_desc *d, const double *got, const double *ref, size_t count,
                      double max_rel, struct tu_cmp *r)
{
    double *g = tu_doubles(count), *f = tu_doubles(count);
    size_t n = 0, nan_bad = 0, first = 0;
    for (size_t i = 0; i < count; i++) {
        if (isnan(ref[i]) != isnan(got[i]) && nan_bad++ == 0)
            first = i;
        if (!isnan(ref[i])) {
            g[n] = got[i];
            f[n++] = ref[i];
        }
    }
    bool ok = tu_check(what, NULL, NULL, g, f, n, max_rel, 0, r);
    if (nan_bad) {
        ok = false;
        r->ok = false;
        snprintf(r->msg, sizeof r->msg, "%s: %zu element(s) NaN in one and not the other (first at %zu: got %.17g, "
                 "ref %.17g)", what, nan_bad, first, got[first], ref[first]);
    }
    (void)d;
    free(g);
    free(f);
    return ok;
}

/* lrncl's float64 reference against the golden vectors. The only expected difference is the
 * descriptor holding alpha, beta and k as float while the golden files used the exact decimal
 * values: the bound is 1e-12 plus a first-order bound of that rounding (zero when the values
 * are exact in float). */
static void check_reference(const struct golden *g)
{
    const lrncl_desc *d = &g->d;
    double es = 0, db = fabs((double)d->beta - g->beta), lmax = 0;
    if (g->alpha > 0)
        es = fabs((double)d->alpha - g->alpha) / g->alpha;
    if ((d->mode == LRNCL_ACROSS_CHANNELS || d->convention != LRNCL_CONVENTION_CAFFE) && g->k > 0)
        es = fmax(es, fabs((double)d->k - g->k) / g->k);
    const double *sg = g->scale.data;
    for (size_t i = 0; i < g->count; i++)
        if (sg[i] > 0) /* k = 0: a window of zeros has scale 0, and NaN results (checked apart) */
            lmax = fmax(lmax, fabs(log(sg[i])));
    double b = g->beta;
    double tol_s = 1e-12 + 2 * es;
    double tol_y = 1e-12 + 2 * (b * es + db * lmax);
    double tol_dx = 1e-12 + 8 * ((b + 2) * es + db * (lmax + (b > 0 ? 1 / b : 1)));

    double *xd = tu_doubles(g->count), *dyd = tu_doubles(g->count);
    double *y = tu_doubles(g->count), *s = tu_doubles(g->count), *dx = tu_doubles(g->count);
    tu_to_double(g->xf, xd, g->count);
    tu_to_double(g->dyf, dyd, g->count);
    lrncl_status st = lrncl_reference_forward(d, xd, y, s);
    cr_assert(st == LRNCL_SUCCESS, "%s: lrncl_reference_forward -> %s: %s", g->name, lrncl_status_string(st),
              lrncl_last_error());
    struct tu_cmp r;
    EXPECT_CMP(check_ref("reference y", d, y, g->y.data, g->count, tol_y, &r), r, g);
    cr_log_info("%s: reference y within %.3g of max|y| (bound %.3g)", g->name, r.max_err / r.max_ref, tol_y);
    EXPECT_CMP(check_ref("reference scale", d, s, g->scale.data, g->count, tol_s, &r), r, g);
    st = lrncl_reference_forward(d, xd, y, NULL);
    cr_assert(st == LRNCL_SUCCESS, "%s: lrncl_reference_forward(scale NULL) -> %s", g->name,
              lrncl_status_string(st));
    EXPECT_CMP(check_ref("reference y (scale NULL)", d, y, g->y.data, g->count, tol_y, &r), r, g);
    st = lrncl_reference_backward(d, xd, g->y.data, dyd, dx);
    cr_assert(st == LRNCL_SUCCESS, "%s: lrncl_reference_backward -> %s: %s", g->name, lrncl_status_string(st),
              lrncl_last_error());
    EXPECT_CMP(check_ref("reference dx", d, dx, g->dx.data, g->count, tol_dx, &r), r, g);
    cr_log_info("%s: reference dx within %.3g of max|dx| (bound %.3g)", g->name, r.max_err / r.max_ref, tol_dx);
    free(dx);
    free(s);
    free(y);
    free(dyd);
    free(xd);
}

/* The device through tu_run_view (float16 cases store x, dy, y and dx as halves; the scale is
 * float32), with the bounds of docs/design.md ("Accuracy") for the case's dtype. */
static void check_device(const struct golden *g)
{
    lrncl_plan *p = NULL;
    lrncl_status st = lrncl_plan_create(tu.ctx, &g->d, &p);
    cr_assert(st == LRNCL_SUCCESS && p != NULL, "%s: lrncl_plan_create -> %s: %s", g->name,
              lrncl_status_string(st), lrncl_last_error());
    tu_run_expect(g->name, p, &g->d, g->xf, g->dyf, g->y.data, g->scale.data, g->dx.data, g->count);
    lrncl_plan_release(p);
}

TestSuite(golden, .init = tu_setup, .fini = tu_teardown, .timeout = 120);

ParameterizedTestParameters(golden, cases)
{
    return cr_make_param_array(struct golden_param, golden_cases, N_GOLDEN);
}

ParameterizedTest(struct golden_param *param, golden, cases)
{
    struct golden g;
    load_golden(&g, param->name);
    check_reference(&g);
    check_device(&g);
    free_golden(&g);
}

/* The list above and CASES hold the same cases: each entry of one is in the other, once, and
 * each has its folder with a case.json. */
Test(golden, list_matches_CASES)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/CASES", LRNCL_GOLDEN_DIR);
    char *text = read_text(path);
    cr_assert(text != NULL, "cannot read %s", path);
    size_t lines = 0;
    bool seen[N_GOLDEN];
    memset(seen, 0, sizeof seen);
    for (char *line = strtok(text, "\r\n"); line; line = strtok(NULL, "\r\n")) {
        if (line[0] == '\0')
            continue;
        lines++;
        size_t i = 0;
        while (i < N_GOLDEN && strcmp(golden_cases[i].name, line) != 0)
            i++;
        cr_expect(i < N_GOLDEN, "CASES entry %s is not tested", line);
        if (i < N_GOLDEN) {
            cr_expect(!seen[i], "CASES lists %s twice", line);
            seen[i] = true;
        }
    }
    for (size_t i = 0; i < N_GOLDEN; i++) {
        cr_expect(seen[i], "tested case %s is not in CASES", golden_cases[i].name);
        snprintf(path, sizeof path, "%s/%.47s/case.json", LRNCL_GOLDEN_DIR, golden_cases[i].name);
        FILE *f = fopen(path, "rb");
        cr_expect(f != NULL, "%s is missing", path);
        if (f)
            fclose(f);
    }
    cr_expect(lines == N_GOLDEN, "CASES has %zu entries, %zu cases are tested", lines, (size_t)N_GOLDEN);
    free(text);
}
