/* test_conventions.c: what the descriptor says beyond Caffe's float32 NCHW: every convention in
 * every mode it defines (even and odd sizes) against the float64 reference; the reference's own
 * mapping checked against docs/conventions.md's table by a loop written here; EXPLICIT windows equal
 * to the convention they imitate; NHWC equal to NCHW; strided, padded views with offsets (and
 * nothing outside them written); in-place forward; float16 storage, also with inputs whose
 * squares overflow float16; lrncl_desc_set_shape_nd; and which descriptor fields make a new
 * program variant.
 *
 * The case tables are in tests/cases/conventions.inc; this file is their driver. Every device
 * run goes through tu_run_view: buffers laid out by the test's own reading of dtype, layout,
 * strides and offsets, with sentinel padding around each view; run_pair runs one case, or two
 * that must agree bit for bit. Random cases are seeded (LRNCL_TEST_SEED reruns them); shapes
 * are small so that the suite stays fast with a cold PoCL cache (each program variant costs a
 * build). */
#include "testutil.h"

#include <criterion/criterion.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------------------ */
/* Normal inputs of magnitude mag, one in ten scaled up; rounded to half for FLOAT16. */
static void random_inputs(struct tu_rng *g, const lrncl_desc *d, float *x, float *dy, size_t count, double mag)
{
    for (size_t i = 0; i < count; i++) {
        double v = tu_rng_normal(g) * mag;
        if (tu_rng_uniform(g) < 0.1)
            v *= tu_rng_range(g, 3.0, 10.0);
        x[i] = (float)v;
        dy[i] = (float)tu_rng_normal(g);
    }
    if (d->dtype == LRNCL_FLOAT16) {
        tu_round_to_half(x, count);
        tu_round_to_half(dy, count);
    }
}

/* One descriptor, inputs x and dy: device through tu_run_view (results in *out), float64
 * reference, every output checked with the dtype's bounds. */
static bool run_checked(const char *label, const lrncl_desc *d, const float *x, const float *dy,
                        struct tu_device_result *out)
{
    size_t count = lrncl_desc_elements(d);
    char ds[320];
    double *y = tu_doubles(count), *s = tu_doubles(count), *dx = tu_doubles(count);
    lrncl_status st = tu_reference(d, x, dy, y, s, dy ? dx : NULL);
    cr_assert(st == LRNCL_SUCCESS, "%s (%s): reference -> %s: %s", label, tu_desc_str(d, ds, sizeof ds),
              lrncl_status_string(st), lrncl_last_error());
    lrncl_plan *p = tu_plan(tu.ctx, d);
    const char *what = "";
    st = tu_run_view(p, d, x, dy, out, &what);
    cr_assert(st == LRNCL_SUCCESS, "%s (%s): %s -> %s: %s", label, tu_desc_str(d, ds, sizeof ds), what,
              lrncl_status_string(st), lrncl_last_error());
    bool ok = tu_expect_result(label, d, out, y, s, dy ? dx : NULL, count);
    lrncl_plan_release(p);
    free(dx);
    free(s);
    free(y);
    return ok;
}

/* The same outputs, bit for bit. */
static bool same_bits(const float *a, const float *b, size_t count, size_t *first)
{
    for (size_t i = 0; i < count; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0) {
            *first = i;
            return false;
        }
    return true;
}

static void expect_same_results(const char *label, const struct tu_device_result *a,
                                const struct tu_device_result *b, size_t count, bool backward)
{
    const struct {
        const char *name;
        const float *a, *b;
    } outs[] = {
        {"y", a->y, b->y},
        {"y (scale NULL)", a->y_noscale, b->y_noscale},
        {"scale", a->scale, b->scale},
        {"dx", a->dx, b->dx},
        {"dx (scale NULL)", a->dx_noscale, b->dx_noscale},
    };
    for (size_t i = 0; i < (backward ? 5u : 3u); i++) {
        size_t at = 0;
        bool same = same_bits(outs[i].a, outs[i].b, count, &at);
        cr_expect(same, "%s: %s differs at [%zu]: %.9g vs %.9g", label, outs[i].name, at, (double)outs[i].a[at],
                  (double)outs[i].b[at]);
    }
}

/* One case: random inputs for d (magnitude mag; rounded to half for FLOAT16), d on the device
 * against the reference and, where e is given, e too, with the same bits as d (y, scale, dx,
 * with and without the scale). The inputs and both results stay in r for the caller's own
 * checks until pair_free. True when every check passed. */
struct pair {
    size_t count;
    float *x, *dy;
    struct tu_device_result a, b; /* b: only with e */
    bool has_b;
};

static bool run_pair(struct pair *r, struct tu_rng *g, const char *label, const lrncl_desc *d, const lrncl_desc *e,
                     double mag)
{
    r->count = lrncl_desc_elements(d);
    r->x = tu_floats(r->count);
    r->dy = tu_floats(r->count);
    random_inputs(g, d, r->x, r->dy, r->count, mag);
    bool ok = run_checked(label, d, r->x, r->dy, &r->a);
    r->has_b = e != NULL;
    if (e) {
        ok = run_checked(label, e, r->x, r->dy, &r->b) && ok;
        expect_same_results(label, &r->a, &r->b, r->count, true);
    }
    return ok;
}

static void pair_free(struct pair *r)
{
    if (r->has_b)
        tu_device_result_free(&r->b);
    tu_device_result_free(&r->a);
    free(r->dy);
    free(r->x);
}

/* The storage types every layout test runs. */
static const lrncl_dtype test_dtypes[] = {LRNCL_FLOAT32, LRNCL_FLOAT16};

#include "cases/conventions.inc"

/* ---- every convention x mode x even/odd size against the reference ----------------------- */

TestSuite(conventions, .init = tu_setup, .fini = tu_teardown, .timeout = 300);

Test(conventions, against_reference)
{
    uint64_t seed = tu_seed(UINT64_C(0x5eed0101));
    struct tu_rng g;
    tu_rng_init(&g, seed);
    int failed = 0;
    for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++) {
        const struct conv_case *cc = &conv_cases[i];
        for (int j = 0; j < 3; j++) {
            const size_t *sh = cc->mode == AC ? reference_across_shapes[j] : reference_within_shapes[j];
            float alpha = (float)tu_rng_range(&g, 0.05, 2.0), k = (float)tu_rng_range(&g, 0.5, 2.0);
            lrncl_desc d = tu_desc(cc->conv, cc->mode, cc->size, alpha, 0.75f, k, sh[0], sh[1], sh[2], sh[3]);
            char label[160];
            snprintf(label, sizeof label, "seed=0x%" PRIx64 " %s shape %d", seed, cc->name, j);
            struct pair r;
            failed += !run_pair(&r, &g, label, &d, NULL, tu_rng_range(&g, 0.5, 3.0));
            pair_free(&r);
        }
    }
    cr_assert(failed == 0, "seed=0x%" PRIx64 ": %d convention case(s) failed", seed, failed);
}

/* ---- the mapping itself, from docs/conventions.md's table, with a loop written here ------ */

static size_t at4(const lrncl_desc *d, size_t n, size_t c, size_t h, size_t w)
{
    return ((n * d->c + c) * d->h + h) * d->w + w;
}

/* Calls f(m) for every element m in the window of element i = (n, c, h, w). */
#define FOR_WINDOW(d, lo, hi, n, c, h, w, m, body)                                                             \
    do {                                                                                                      \
        if ((d)->mode == AC) {                                                                                \
            for (long cc_ = (long)(c) - (lo); cc_ <= (long)(c) + (hi); cc_++)                                 \
                if (cc_ >= 0 && cc_ < (long)(d)->c) {                                                         \
                    size_t m = at4(d, n, (size_t)cc_, h, w);                                                  \
                    body;                                                                                     \
                }                                                                                             \
        } else {                                                                                              \
            for (long hh_ = (long)(h) - (lo); hh_ <= (long)(h) + (hi); hh_++)                                 \
                for (long ww_ = (long)(w) - (lo); ww_ <= (long)(w) + (hi); ww_++)                             \
                    if (hh_ >= 0 && hh_ < (long)(d)->h && ww_ >= 0 && ww_ < (long)(d)->w) {                   \
                        size_t m = at4(d, n, c, (size_t)hh_, (size_t)ww_);                                    \
                        body;                                                                                 \
                    }                                                                                         \
        }                                                                                                     \
    } while (0)

/* Forward and backward in float64 from the table's lo, hi, a, k. The backward is written as a
 * scatter (each i adds its term to every m of its own window), not as the mirrored window the
 * library and its reference use, so that the two formulations check each other. */
static void own_lrn(const struct own_case *oc, const lrncl_desc *d, const float *x, const float *dy, double *y,
                    double *s, double *dx)
{
    const double a = (double)d->alpha / oc->divisor, k = oc->k_used ? (double)d->k : 1.0, beta = d->beta;
    const size_t count = lrncl_desc_elements(d);
    for (size_t n = 0; n < d->n; n++)
        for (size_t c = 0; c < d->c; c++)
            for (size_t h = 0; h < d->h; h++)
                for (size_t w = 0; w < d->w; w++) {
                    double sum = 0;
                    FOR_WINDOW(d, oc->lo, oc->hi, n, c, h, w, m, sum += (double)x[m] * x[m]);
                    size_t i = at4(d, n, c, h, w);
                    s[i] = k + a * sum;
                    y[i] = x[i] * pow(s[i], -beta);
                }
    for (size_t i = 0; i < count; i++)
        dx[i] = dy[i] * pow(s[i], -beta);
    for (size_t n = 0; n < d->n; n++)
        for (size_t c = 0; c < d->c; c++)
            for (size_t h = 0; h < d->h; h++)
                for (size_t w = 0; w < d->w; w++) {
                    size_t i = at4(d, n, c, h, w);
                    double r = dy[i] * y[i] / s[i];
                    FOR_WINDOW(d, oc->lo, oc->hi, n, c, h, w, m, dx[m] -= 2 * a * beta * x[m] * r);
                }
}

TestSuite(mapping, .init = tu_setup, .fini = tu_teardown, .timeout = 300);

Test(mapping, table_by_hand)
{
    uint64_t seed = tu_seed(UINT64_C(0x5eed0102));
    struct tu_rng g;
    tu_rng_init(&g, seed);
    for (size_t i = 0; i < sizeof own_cases / sizeof own_cases[0]; i++) {
        const struct own_case *oc = &own_cases[i];
        lrncl_desc d = oc->mode == AC ? tu_desc(oc->conv, AC, oc->size, 1.3f, 0.75f, 1.7f, 2, 7, 2, 3)
                                      : tu_desc(oc->conv, WI, oc->size, 1.3f, 0.75f, 1.7f, 1, 2, 5, 6);
        size_t count = lrncl_desc_elements(&d);
        float *x = tu_floats(count), *dy = tu_floats(count);
        random_inputs(&g, &d, x, dy, count, 1.0);
        double *y = tu_doubles(count), *s = tu_doubles(count), *dx = tu_doubles(count);
        double *ry = tu_doubles(count), *rs = tu_doubles(count), *rdx = tu_doubles(count);
        own_lrn(oc, &d, x, dy, y, s, dx);
        char label[160];
        snprintf(label, sizeof label, "seed=0x%" PRIx64 " %s (lo %d, hi %d, alpha/%g, k %s)", seed, oc->name, oc->lo,
                 oc->hi, oc->divisor, oc->k_used ? "used" : "ignored");

        /* lrncl's reference must agree to rounding: it uses the same table. */
        lrncl_status st = tu_reference(&d, x, dy, ry, rs, rdx);
        cr_assert(st == LRNCL_SUCCESS, "%s: reference -> %s: %s", label, lrncl_status_string(st), lrncl_last_error());
        struct tu_cmp r;
        cr_expect(tu_check("reference y", &d, NULL, ry, y, count, 1e-12, 1e-12, &r), "%s: %s", label, r.msg);
        cr_expect(tu_check("reference scale", &d, NULL, rs, s, count, 1e-12, 1e-12, &r), "%s: %s", label, r.msg);
        cr_expect(tu_check("reference dx", &d, NULL, rdx, dx, count, 1e-12, 0, &r), "%s: %s", label, r.msg);

        /* And the device, with the float32 bounds, against the loop above. */
        lrncl_plan *p = tu_plan(tu.ctx, &d);
        tu_run_expect(label, p, &d, x, dy, y, s, dx, count);
        lrncl_plan_release(p);
        free(rdx);
        free(rs);
        free(ry);
        free(dx);
        free(s);
        free(y);
        free(dy);
        free(x);
    }
}

/* A window that is not the convention's must show: the check above is not vacuous. */
Test(mapping, wrong_window_detected)
{
    lrncl_desc d = tu_desc(PT, AC, 4, 1.3f, 0.75f, 1.7f, 1, 7, 1, 3);
    size_t count = lrncl_desc_elements(&d);
    float x[21], dy[21];
    struct tu_rng g;
    tu_rng_init(&g, 7);
    random_inputs(&g, &d, x, dy, count, 1.0);
    const struct own_case onnx_like = {"onnx window on a pytorch desc", PT, AC, 4, 1, 2, 4, true};
    double y[21], s[21], dx[21], ry[21], rs[21], rdx[21];
    own_lrn(&onnx_like, &d, x, dy, y, s, dx);
    cr_assert(tu_reference(&d, x, dy, ry, rs, rdx) == LRNCL_SUCCESS);
    struct tu_cmp r;
    cr_expect(!tu_check("y", &d, NULL, ry, y, count, 1e-6, 0, &r), "PyTorch's and ONNX's even windows agree?");
}

/* ---- EXPLICIT imitates each named convention, bit for bit ---------------------------------- */
TestSuite(explicit_conv, .init = tu_setup, .fini = tu_teardown, .timeout = 300);

Test(explicit_conv, equals_named)
{
    uint64_t seed = tu_seed(UINT64_C(0x5eed0103));
    struct tu_rng g;
    tu_rng_init(&g, seed);
    for (size_t i = 0; i < sizeof own_cases / sizeof own_cases[0]; i++) {
        const struct own_case *oc = &own_cases[i];
        lrncl_desc d = oc->mode == AC ? tu_desc(oc->conv, AC, oc->size, 0.9f, 0.75f, 1.25f, 2, 7, 2, 3)
                                      : tu_desc(oc->conv, WI, oc->size, 0.9f, 0.75f, 1.25f, 1, 2, 5, 6);
        lrncl_desc e = d;
        e.convention = EX;
        e.window_lo = oc->lo;
        e.window_hi = oc->hi;
        e.use_k = oc->k_used;
        double n = oc->size;
        e.alpha_divisor = oc->divisor == 1 ? LRNCL_ALPHA_RAW : oc->divisor == n ? LRNCL_ALPHA_OVER_N
                                                                                : LRNCL_ALPHA_OVER_N2;
        cr_assert(oc->divisor == 1 || oc->divisor == n || oc->divisor == n * n);
        if (oc->conv == TF)
            e.local_size = 99; /* unused with a raw alpha */
        char label[160];
        snprintf(label, sizeof label, "seed=0x%" PRIx64 " %s vs explicit", seed, oc->name);
        struct pair r;
        run_pair(&r, &g, label, &d, &e, 1.5);
        pair_free(&r);
    }
}

/* ---- layouts ------------------------------------------------------------------------------ */
TestSuite(layouts, .init = tu_setup, .fini = tu_teardown, .timeout = 300);

/* The same logical tensor in NCHW and in NHWC (tu_run_view transposes on the host): the same
 * results, bit for bit, in float32 and float16. */
Test(layouts, nhwc_equals_nchw)
{
    uint64_t seed = tu_seed(UINT64_C(0x5eed0104));
    struct tu_rng g;
    tu_rng_init(&g, seed);
    for (int t = 0; t < 2; t++)
        for (int m = 0; m < 2; m++) {
            lrncl_desc d = m == 0 ? tu_desc(CF, AC, 5, 0.8f, 0.75f, 1.0f, 2, 6, 2, 3)
                                  : tu_desc(CF, WI, 3, 0.8f, 0.75f, 1.0f, 2, 3, 5, 6);
            d.dtype = test_dtypes[t];
            lrncl_desc e = d;
            e.layout = LRNCL_LAYOUT_NHWC;
            char label[160];
            snprintf(label, sizeof label, "seed=0x%" PRIx64 " %s %s: NHWC vs NCHW", seed, t ? "float16" : "float32",
                     m ? "within" : "across");
            struct pair r;
            run_pair(&r, &g, label, &d, &e, 2.0);
            pair_free(&r);
        }
}

/* NHWC across on a CPU runs vectors of 8 channels (one work-item per position walks its
 * channels, the last group partial): channel counts around and across the vector width, and
 * windows that reach one and two groups back or ahead, in NHWC bit for bit as in NCHW. */
static void run_in_place(const lrncl_desc *d, const float *x, bool with_scale, float *y, float *scale);

Test(layouts, nhwc_channel_vectors_equal_nchw)
{
    uint64_t seed = tu_seed(UINT64_C(0x5eed010a));
    struct tu_rng g;
    tu_rng_init(&g, seed);
    for (int t = 0; t < 2; t++)
        for (size_t ci = 0; ci < sizeof nhwc_channels / sizeof nhwc_channels[0]; ci++)
            for (size_t wi = 0; wi < sizeof nhwc_across_windows / sizeof nhwc_across_windows[0]; wi++) {
                const struct nhwc_across_window *win = &nhwc_across_windows[wi];
                lrncl_desc d = tu_desc(win->conv, AC, win->size, 0.8f, 0.75f, 1.0f, 2, nhwc_channels[ci], 2, 3);
                d.window_lo = win->lo;
                d.window_hi = win->hi;
                d.dtype = test_dtypes[t];
                lrncl_desc e = d;
                e.layout = LRNCL_LAYOUT_NHWC;
                char label[200];
                snprintf(label, sizeof label, "seed=0x%" PRIx64 " %s C %zu window %zu: NHWC vs NCHW", seed,
                         t ? "float16" : "float32", nhwc_channels[ci], wi);
                struct pair r;
                run_pair(&r, &g, label, &d, &e, 2.0);
                /* In-place forward stays allowed and equal (each group's y is stored only once
                 * no later group of the position reads its channels). */
                float *y = tu_floats(r.count);
                size_t at = 0;
                run_in_place(&e, r.x, false, y, NULL);
                cr_expect(same_bits(y, r.b.y_noscale, r.count, &at), "%s: in-place y differs at [%zu]: %.9g vs %.9g",
                          label, at, (double)y[at], (double)r.b.y_noscale[at]);
                free(y);
                pair_free(&r);
            }
}

/* NHWC within on a CPU runs vectors of 8 channels too (one work-item per (n, column, group of
 * 8 channels) slides down the rows, the last group partial): channel counts around and across
 * the vector width, odd and even windows, planes smaller and larger than the window; each
 * checked against the reference and, bit for bit, against NCHW (y, scale, dx with and without
 * the scale). */
Test(layouts, nhwc_within_channel_vectors_equal_nchw)
{
    uint64_t seed = tu_seed(UINT64_C(0x5eed010b));
    struct tu_rng g;
    tu_rng_init(&g, seed);
    for (int t = 0; t < 2; t++)
        for (size_t ci = 0; ci < sizeof nhwc_channels / sizeof nhwc_channels[0]; ci++)
            for (size_t wi = 0; wi < sizeof nhwc_within_windows / sizeof nhwc_within_windows[0]; wi++)
                for (size_t si = 0; si < sizeof nhwc_within_shapes / sizeof nhwc_within_shapes[0]; si++) {
                    const size_t *sh = nhwc_within_shapes[si];
                    lrncl_desc d = tu_desc(nhwc_within_windows[wi].conv, WI, nhwc_within_windows[wi].size, 0.8f,
                                           0.75f, 1.0f, sh[0], nhwc_channels[ci], sh[1], sh[2]);
                    d.dtype = test_dtypes[t];
                    lrncl_desc e = d;
                    e.layout = LRNCL_LAYOUT_NHWC;
                    char label[200];
                    snprintf(label, sizeof label, "seed=0x%" PRIx64 " %s C %zu window %zu shape %zu: NHWC vs NCHW",
                             seed, t ? "float16" : "float32", nhwc_channels[ci], wi, si);
                    struct pair r;
                    run_pair(&r, &g, label, &d, &e, 2.0);
                    pair_free(&r);
                }
}

/* Views inside larger buffers: padded strides, a channels-last view written as STRIDED, a
 * subsampled w, and non-zero offsets for every buffer. Checked against the reference; every
 * element outside the views keeps its sentinel (tu_run_view). */
Test(layouts, strided_views_with_offsets)
{
    uint64_t seed = tu_seed(UINT64_C(0x5eed0105));
    struct tu_rng g;
    tu_rng_init(&g, seed);
    static const char *const view_names[] = {"padded NCHW", "channels-last view", "every other w",
                                              "dense NCHW as STRIDED"};
    for (int t = 0; t < 2; t++)
        for (int m = 0; m < 2; m++)
            for (int v = 0; v < 4; v++) {
                lrncl_desc d = m == 0 ? tu_desc(CF, AC, 5, 0.7f, 0.75f, 1.5f, 2, 5, 2, 4)
                                      : tu_desc(CF, WI, 3, 0.7f, 0.75f, 1.5f, 2, 3, 4, 5);
                const size_t c = d.c, h = d.h, w = d.w;
                d.dtype = test_dtypes[t];
                d.layout = LRNCL_LAYOUT_STRIDED;
                switch (v) {
                case 0: /* rows padded by 2, planes by a row, images by a plane and 3 */
                    d.stride_w = 1, d.stride_h = w + 2, d.stride_c = (h + 1) * (w + 2);
                    d.stride_n = (c + 1) * d.stride_c + 3;
                    break;
                case 1: /* c fastest, each pixel padded to c + 3, rows padded by a pixel */
                    d.stride_c = 1, d.stride_w = c + 3, d.stride_h = (w + 1) * (c + 3);
                    d.stride_n = (h + 2) * d.stride_h + 1;
                    break;
                case 2: /* every other element of a row */
                    d.stride_w = 2, d.stride_h = 2 * w + 1, d.stride_c = h * d.stride_h + 1;
                    d.stride_n = c * d.stride_c + 7;
                    break;
                default:
                    d.stride_w = 1, d.stride_h = w, d.stride_c = h * w, d.stride_n = c * h * w;
                    break;
                }
                d.offset_x = 3;
                d.offset_y = 5;
                d.offset_scale = 7;
                d.offset_dy = 11;
                d.offset_dx = 2;
                cr_assert(lrncl_desc_span(&d) == tu_view_span(&d), "%s: lrncl_desc_span %zu, the test's span %zu",
                          view_names[v], lrncl_desc_span(&d), tu_view_span(&d));
                lrncl_desc dn = d; /* the dense view is the NCHW layout: the same bits */
                dn.layout = LRNCL_LAYOUT_NCHW;
                char label[200];
                snprintf(label, sizeof label, "seed=0x%" PRIx64 " %s %s %s", seed, view_names[v],
                         t ? "float16" : "float32", m ? "within" : "across");
                struct pair r;
                run_pair(&r, &g, label, &d, v == 3 ? &dn : NULL, 1.5);
                pair_free(&r);
            }

    /* NCHW and NHWC layouts take offsets too. */
    lrncl_desc d = tu_desc(PT, AC, 4, 0.7f, 0.75f, 1.5f, 2, 6, 1, 5);
    d.offset_x = 1;
    d.offset_y = 9;
    d.offset_scale = 4;
    d.offset_dy = 6;
    d.offset_dx = 13;
    float x[60], dy[60];
    random_inputs(&g, &d, x, dy, 60, 1.0);
    struct tu_device_result out;
    run_checked("NCHW with offsets", &d, x, dy, &out);
    tu_device_result_free(&out);
    d.layout = LRNCL_LAYOUT_NHWC;
    d.dtype = LRNCL_FLOAT16;
    d.mode = WI;
    d.convention = CF;
    d.local_size = 3;
    random_inputs(&g, &d, x, dy, 60, 1.0);
    run_checked("NHWC float16 within with offsets", &d, x, dy, &out);
    tu_device_result_free(&out);
}

/* x, y, scale, dy and dx as disjoint views of one buffer: allowed (they do not overlap). */
Test(layouts, disjoint_views_of_one_buffer)
{
    lrncl_desc d = tu_desc(CF, AC, 5, 0.9f, 0.75f, 1.0f, 2, 7, 2, 3);
    const size_t count = lrncl_desc_elements(&d), span = tu_view_span(&d);
    d.offset_x = 0;
    d.offset_y = span;
    d.offset_scale = 2 * span;
    d.offset_dy = 3 * span;
    d.offset_dx = 4 * span;
    float *x = tu_floats(count), *dy = tu_floats(count), *all = tu_floats(5 * span);
    struct tu_rng g;
    tu_rng_init(&g, 11);
    random_inputs(&g, &d, x, dy, count, 1.0);
    for (size_t i = 0; i < 5 * span; i++)
        all[i] = NAN;
    memcpy(all, x, count * sizeof(float));
    memcpy(all + 3 * span, dy, count * sizeof(float));
    cl_mem b = tu_buffer_from(all, 5 * span);
    lrncl_plan *p = tu_plan(tu.ctx, &d);
    lrncl_status st = lrncl_forward(p, tu.q, b, b, b, 0, NULL, NULL);
    cr_assert(st == LRNCL_SUCCESS, "forward on disjoint views of one buffer -> %s: %s", lrncl_status_string(st),
              lrncl_last_error());
    st = lrncl_backward(p, tu.q, b, b, b, b, b, 0, NULL, NULL);
    cr_assert(st == LRNCL_SUCCESS, "backward on disjoint views of one buffer -> %s: %s", lrncl_status_string(st),
              lrncl_last_error());
    tu_read(b, all, 5 * span);
    double *y = tu_doubles(count), *s = tu_doubles(count), *dx = tu_doubles(count);
    cr_assert(tu_reference(&d, x, dy, y, s, dx) == LRNCL_SUCCESS);
    struct tu_cmp r;
    cr_expect(memcmp(all, x, count * sizeof(float)) == 0, "x changed");
    cr_expect(memcmp(all + 3 * span, dy, count * sizeof(float)) == 0, "dy changed");
    cr_expect(tu_check_forward("y", &d, all + span, y, count, &r), "%s", r.msg);
    cr_expect(tu_check_forward("scale", &d, all + 2 * span, s, count, &r), "%s", r.msg);
    cr_expect(tu_check_backward("dx", &d, all + 4 * span, dx, count, &r), "%s", r.msg);
    lrncl_plan_release(p);
    tu_release(&b);
    free(dx);
    free(s);
    free(y);
    free(all);
    free(dy);
    free(x);
}

/* ---- in-place forward --------------------------------------------------------------------- */
/* Forward with y the same buffer and offset as x (scale optional); y and the scale back as NCHW
 * floats. Asserts that nothing outside the views changed. */
static void run_in_place(const lrncl_desc *d, const float *x, bool with_scale, float *y, float *scale)
{
    cr_assert(d->offset_x == d->offset_y);
    size_t es = tu_dtype_size(d), bytes = 0, sbytes = 0;
    unsigned char *img = tu_image_make(d, d->offset_x, es, x, &bytes);
    unsigned char *simg = tu_image_make(d, d->offset_scale, sizeof(float), NULL, &sbytes);
    cl_mem b = tu_buffer_image(img, bytes), s = with_scale ? tu_buffer_image(simg, sbytes) : NULL;
    lrncl_plan *p = tu_plan(tu.ctx, d);
    char ds[320];
    lrncl_status st = lrncl_forward(p, tu.q, b, b, s, 0, NULL, NULL);
    cr_assert(st == LRNCL_SUCCESS, "in-place forward (%s) -> %s: %s", tu_desc_str(d, ds, sizeof ds),
              lrncl_status_string(st), lrncl_last_error());
    tu_read_bytes(b, img, bytes);
    tu_image_read(d, d->offset_x, es, img, y);
    cr_expect(tu_image_padding_intact(d, d->offset_x, es, img), "in-place forward (%s) wrote outside the view",
              tu_desc_str(d, ds, sizeof ds));
    if (s) {
        tu_read_bytes(s, simg, sbytes);
        tu_image_read(d, d->offset_scale, sizeof(float), simg, scale);
        cr_expect(tu_image_padding_intact(d, d->offset_scale, sizeof(float), simg),
                  "in-place forward (%s) wrote outside the scale's view", tu_desc_str(d, ds, sizeof ds));
    }
    lrncl_plan_release(p);
    tu_release(&s);
    tu_release(&b);
    free(simg);
    free(img);
}

TestSuite(in_place, .init = tu_setup, .fini = tu_teardown, .timeout = 300);

Test(in_place, equals_out_of_place)
{
    uint64_t seed = tu_seed(UINT64_C(0x5eed0106));
    struct tu_rng g;
    tu_rng_init(&g, seed);
    for (size_t i = 0; i < sizeof in_place_cases / sizeof in_place_cases[0]; i++) {
        const struct in_place_case *ic = &in_place_cases[i];
        lrncl_desc d = tu_desc(ic->conv, AC, ic->size, 1.1f, 0.75f, 1.0f, 2, ic->c, 2, 3);
        d.dtype = ic->dtype;
        d.layout = ic->layout;
        d.offset_x = d.offset_y = ic->offset;
        d.offset_scale = 2;
        size_t count = lrncl_desc_elements(&d);
        float *x = tu_floats(count), *dy = tu_floats(count), *y = tu_floats(count), *s = tu_floats(count);
        random_inputs(&g, &d, x, dy, count, 2.0);
        char label[160];
        snprintf(label, sizeof label, "seed=0x%" PRIx64 " in-place %s", seed, ic->name);
        struct tu_device_result out;
        run_checked(label, &d, x, NULL, &out);
        size_t at = 0;
        run_in_place(&d, x, true, y, s);
        cr_expect(same_bits(y, out.y, count, &at), "%s: y differs at [%zu]: %.9g vs %.9g out of place", label, at,
                  (double)y[at], (double)out.y[at]);
        cr_expect(same_bits(s, out.scale, count, &at), "%s: scale differs at [%zu]: %.9g vs %.9g out of place", label,
                  at, (double)s[at], (double)out.scale[at]);
        run_in_place(&d, x, false, y, NULL);
        cr_expect(same_bits(y, out.y_noscale, count, &at), "%s (scale NULL): y differs at [%zu]: %.9g vs %.9g", label,
                  at, (double)y[at], (double)out.y_noscale[at]);
        tu_device_result_free(&out);
        free(s);
        free(y);
        free(dy);
        free(x);
    }
}

/* ---- float16 storage ---------------------------------------------------------------------- */
TestSuite(float16, .init = tu_setup, .fini = tu_teardown, .timeout = 300);

/* The host conversion every float16 check relies on. */
Test(float16, host_conversion)
{
    for (size_t i = 0; i < sizeof half_known / sizeof half_known[0]; i++)
        cr_expect(tu_half_from_float(half_known[i].f) == half_known[i].h, "half(%a) = 0x%04x, expected 0x%04x",
                  (double)half_known[i].f, tu_half_from_float(half_known[i].f), half_known[i].h);
    cr_expect(isnan(tu_half_to_float(tu_half_from_float(NAN))));
    for (uint32_t h = 0; h < 0x10000u; h++) {
        float f = tu_half_to_float((uint16_t)h);
        if (isnan(f))
            continue;
        if (tu_half_from_float(f) != h) {
            cr_expect(false, "half 0x%04x -> %a -> 0x%04x", h, (double)f, tu_half_from_float(f));
            break;
        }
    }
}

/* Stores round to nearest, ties to even (vstore_half_rte): with alpha 0, k 4 and beta 1 the
 * float32 result is exactly x/4, so every finite half x must come back as half(x/4), which
 * rounds (with ties) where x/4 falls among the subnormals. */
Test(float16, stores_round_to_nearest_even)
{
    lrncl_desc d = tu_desc(CF, AC, 3, 0.0f, 1.0f, 4.0f, 1, 1, 248, 256);
    d.dtype = LRNCL_FLOAT16;
    const size_t count = lrncl_desc_elements(&d);
    float *x = tu_floats(count);
    size_t n = 0;
    for (uint32_t h = 0; h < 0x10000u; h++) {
        float f = tu_half_to_float((uint16_t)h);
        if (isfinite(f))
            x[n++] = f;
    }
    cr_assert(n == count, "%zu finite halves", n);
    size_t bytes = 0;
    unsigned char *img = tu_image_make(&d, 0, 2, x, &bytes);
    cl_mem bx = tu_buffer_image(img, bytes), by = tu_buffer_image(img, bytes);
    lrncl_plan *p = tu_plan(tu.ctx, &d);
    lrncl_status st = lrncl_forward(p, tu.q, bx, by, NULL, 0, NULL, NULL);
    cr_assert(st == LRNCL_SUCCESS, "forward -> %s: %s", lrncl_status_string(st), lrncl_last_error());
    tu_read_bytes(by, img, bytes);
    size_t bad = 0;
    for (size_t i = 0; i < count; i++) {
        uint16_t got, want = tu_half_from_float(x[i] * 0.25f);
        memcpy(&got, img + 2 * i, 2);
        if (got != want && bad++ < 4)
            cr_expect(got == want, "half(%a / 4): got 0x%04x, expected 0x%04x", (double)x[i], got, want);
    }
    cr_expect(bad == 0, "%zu of %zu results not rounded to nearest even", bad, count);
    lrncl_plan_release(p);
    tu_release(&by);
    tu_release(&bx);
    free(img);
    free(x);
}

static void float16_random(lrncl_mode mode, uint64_t default_seed, bool large)
{
    uint64_t seed = tu_seed(default_seed);
    struct tu_rng g;
    tu_rng_init(&g, seed);
    float *x = tu_floats(1024), *dy = tu_floats(1024);
    int failed = 0;
    for (int i = 0; i < 12; i++) {
        lrncl_desc d;
        if (mode == AC) {
            int j = (int)tu_rng_below(&g, 3);
            d = tu_desc(float16_across[j].conv, AC, float16_across[j].size, 1, 0.75f, 1, 1 + tu_rng_below(&g, 2),
                        1 + tu_rng_below(&g, 24), 1 + tu_rng_below(&g, 2), 1 + tu_rng_below(&g, 4));
        } else {
            int j = (int)tu_rng_below(&g, 2);
            d = tu_desc(float16_within[j].conv, WI, float16_within[j].size, 1, 0.75f, 1, 1 + tu_rng_below(&g, 2),
                     1 + tu_rng_below(&g, 3), 1 + tu_rng_below(&g, 9), 1 + tu_rng_below(&g, 8));
        }
        d.dtype = LRNCL_FLOAT16;
        d.k = (float)tu_rng_range(&g, 0.5, 2.0);
        size_t count = lrncl_desc_elements(&d);
        if (large) {
            /* |x| in 1e3 .. 3e4: x^2 (up to 9e8) overflows float16 (65504) by far. The scale is
             * then large and scale^-beta small, so dy is large too: results must stay above
             * float16's subnormals (below 6.1e-5 its spacing is a fixed 6e-8, and a bound of
             * 5e-3 * max|dx| could not hold for outputs around 1e-5 whatever the library did). */
            d.alpha = (float)exp(tu_rng_range(&g, log(1e-4), log(0.1)));
            for (size_t e = 0; e < count; e++) {
                double m = exp(tu_rng_range(&g, log(1e3), log(3e4)));
                x[e] = (float)(tu_rng_uniform(&g) < 0.5 ? -m : m);
                dy[e] = (float)(tu_rng_normal(&g) * 1e3);
            }
            tu_round_to_half(x, count);
            tu_round_to_half(dy, count);
        } else {
            d.alpha = (float)tu_rng_range(&g, 0.01, 2.0);
            random_inputs(&g, &d, x, dy, count, tu_rng_range(&g, 0.3, 3.0));
        }
        char label[160];
        snprintf(label, sizeof label, "seed=0x%" PRIx64 " float16 %s case %d", seed, large ? "large |x|" : "random", i);
        struct tu_device_result out;
        bool ok = run_checked(label, &d, x, dy, &out);
        for (size_t e = 0; e < count && ok; e++)
            ok = isfinite(out.y[e]) && isfinite(out.y_noscale[e]) && isfinite(out.scale[e]) && isfinite(out.dx[e]) &&
                 isfinite(out.dx_noscale[e]);
        cr_expect(ok, "%s: failed, or a result is not finite", label);
        failed += !ok;
        tu_device_result_free(&out);
    }
    cr_assert(failed == 0, "seed=0x%" PRIx64 ": %d float16 case(s) failed", seed, failed);
    free(dy);
    free(x);
}

Test(float16, random_across)
{
    float16_random(AC, UINT64_C(0x5eed0107), false);
}

Test(float16, random_within)
{
    float16_random(WI, UINT64_C(0x5eed0108), false);
}

Test(float16, large_inputs_across)
{
    float16_random(AC, UINT64_C(0x5eed0109), true);
}

Test(float16, large_inputs_within)
{
    float16_random(WI, UINT64_C(0x5eed010a), true);
}

/* ---- lrncl_desc_set_shape_nd -------------------------------------------------------------- */
TestSuite(shape_nd, .init = tu_setup, .fini = tu_teardown, .timeout = 300);

Test(shape_nd, folded)
{
    struct tu_rng g;
    tu_rng_init(&g, tu_seed(UINT64_C(0x5eed010b)));
    const lrncl_layout layouts[] = {LRNCL_LAYOUT_NCHW, LRNCL_LAYOUT_NHWC};
    for (size_t i = 0; i < sizeof shape_nd_cases / sizeof shape_nd_cases[0]; i++)
        for (int l = 0; l < 2; l++) {
            const int rank = shape_nd_cases[i].rank;
            const size_t want_h = shape_nd_cases[i].h, want_w = shape_nd_cases[i].w;
            lrncl_desc d;
            lrncl_desc_init(&d, AC);
            d.layout = layouts[l];
            d.alpha = 0.8f;
            lrncl_status st = lrncl_desc_set_shape_nd(&d, 2, 5, rank, rank ? shape_nd_cases[i].dims : NULL);
            cr_assert(st == LRNCL_SUCCESS, "set_shape_nd(rank %d) -> %s: %s", rank, lrncl_status_string(st),
                      lrncl_last_error());
            cr_expect(d.n == 2 && d.c == 5 && d.h == want_h && d.w == want_w,
                      "set_shape_nd(rank %d): %zux%zux%zux%zu, expected 2x5x%zux%zu", rank, d.n, d.c, d.h, d.w, want_h,
                      want_w);
            cr_expect(d.layout == layouts[l] && d.local_size == 5 && d.alpha == 0.8f,
                      "set_shape_nd changed other fields");
            /* The reference on a 4-D descriptor made by hand: what the folding must mean. For
             * NC(D1..Dk) and N(D1..Dk)C tensors the folded NCHW / NHWC index is the same
             * memory, and tu_run_view lays out the logical tensor by d's layout. */
            lrncl_desc four;
            lrncl_desc_init(&four, AC);
            four.alpha = 0.8f;
            four.n = 2, four.c = 5, four.h = want_h, four.w = want_w;
            size_t count = lrncl_desc_elements(&four);
            cr_assert(lrncl_desc_elements(&d) == count);
            float x[512], dy[512];
            random_inputs(&g, &d, x, dy, count, 1.5);
            double y[512], s[512], dx[512];
            cr_assert(tu_reference(&four, x, dy, y, s, dx) == LRNCL_SUCCESS);
            lrncl_plan *p = tu_plan(tu.ctx, &d);
            char label[96];
            snprintf(label, sizeof label, "set_shape_nd rank %d, %s", rank, l ? "NHWC" : "NCHW");
            tu_run_expect(label, p, &d, x, dy, y, s, dx, count);
            lrncl_plan_release(p);
        }
}

/* ---- program variants --------------------------------------------------------------------- */
TestSuite(variants, .init = tu_setup, .fini = tu_teardown, .timeout = 300);

/* Layout and dtype select programs; offsets and the values of STRIDED strides are kernel
 * arguments. Every plan, built or cached, still computes its own descriptor. */
Test(variants, layout_dtype_build_offsets_strides_do_not)
{
    const size_t b0 = tu_programs_made(tu.ctx);
    lrncl_desc base = tu_desc(CF, AC, 5, 0.6f, 0.75f, 1.0f, 1, 8, 2, 3);
    const size_t count = lrncl_desc_elements(&base);
    float x[48], dy[48];
    struct tu_rng g;
    tu_rng_init(&g, 5);
    random_inputs(&g, &base, x, dy, count, 1.0);
    tu_round_to_half(x, count); /* usable by the float16 plans too */
    tu_round_to_half(dy, count);

    lrncl_desc nhwc = base, strided = base, f16 = base, f16_nhwc = base, offsets = base, strided2 = base;
    nhwc.layout = LRNCL_LAYOUT_NHWC;
    strided.layout = LRNCL_LAYOUT_STRIDED;
    strided.stride_n = 48, strided.stride_c = 6, strided.stride_h = 3, strided.stride_w = 1;
    f16.dtype = LRNCL_FLOAT16;
    f16_nhwc.dtype = LRNCL_FLOAT16;
    f16_nhwc.layout = LRNCL_LAYOUT_NHWC;
    offsets.offset_x = 3, offsets.offset_y = 1, offsets.offset_scale = 8, offsets.offset_dy = 2, offsets.offset_dx = 5;
    strided2.layout = LRNCL_LAYOUT_STRIDED;
    strided2.stride_n = 500, strided2.stride_c = 1, strided2.stride_h = 40, strided2.stride_w = 9;
    strided2.offset_x = 7;
    lrncl_desc strided_f16 = strided, strided2_f16 = strided2;
    strided_f16.dtype = strided2_f16.dtype = LRNCL_FLOAT16;
    lrncl_desc explicit_same = base; /* another convention, the same canonical window */
    explicit_same.convention = EX;
    explicit_same.window_lo = explicit_same.window_hi = 2;
    lrncl_desc pytorch_same = base;
    pytorch_same.convention = PT;

    /* GPU kernels run NHWC one work-item per element, and an across plan also builds the column
     * walk for in-place forward: two programs. The class is the one lrncl chose for this device. */
    lrncl_context *other;
    cr_assert(lrncl_context_create(tu.cl, tu.dev, &other) == LRNCL_SUCCESS, "%s", lrncl_last_error());
    lrncl_plan *probe = tu_plan(other, &base); /* another context: this one's counts stay as they are */
    const bool gpu_paths = strcmp(lrncl_plan_device_class(probe), "gpu") == 0;
    lrncl_plan_release(probe);
    lrncl_context_release(other);
    const size_t nhwc_builds = gpu_paths ? 2 : 1;
    const struct {
        const char *name;
        const lrncl_desc *d;
        size_t new_builds;
    } steps[] = {
        {"base (caffe across 5, NCHW float32)", &base, 1},
        {"offsets only", &offsets, 0},
        {"NHWC", &nhwc, nhwc_builds},
        {"STRIDED", &strided, 1},
        {"STRIDED, other strides and an offset", &strided2, 0},
        {"float16", &f16, 1},
        {"float16 NHWC", &f16_nhwc, nhwc_builds},
        {"float16 STRIDED", &strided_f16, 1},
        {"float16 STRIDED, other strides", &strided2_f16, 0},
        {"explicit 2/2, alpha/n, k", &explicit_same, 0},
        {"pytorch 5", &pytorch_same, 0},
        {"NHWC again", &nhwc, 0},
        {"float16 again", &f16, 0},
    };
    size_t before = b0;
    lrncl_plan *plans[sizeof steps / sizeof steps[0]];
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        plans[i] = tu_plan(tu.ctx, steps[i].d);
        size_t now = tu_programs_made(tu.ctx);
        cr_expect(now - before == steps[i].new_builds, "%s: %zu program build(s), expected %zu", steps[i].name,
                  now - before, steps[i].new_builds);
        before = now;
    }
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        double y[48], s[48], dx[48];
        cr_assert(tu_reference(steps[i].d, x, dy, y, s, dx) == LRNCL_SUCCESS);
        tu_run_expect(steps[i].name, plans[i], steps[i].d, x, dy, y, s, dx, count);
    }
    cr_expect(tu_programs_made(tu.ctx) == before, "running the plans built programs");
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        lrncl_plan_release(plans[i]);
}
