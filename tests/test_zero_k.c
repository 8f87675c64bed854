/* test_zero_k.c: k = 0 where the frameworks take it (PyTorch, ONNX, TensorFlow, MIOpen, oneDNN,
 * explicit windows). A window of zeros then has scale 0, and y = 0 * 0^-beta and dx are NaN
 * there, as PyTorch gives (golden cases *_k0_*). Here every kernel path is checked against the
 * float64 reference, NaN for NaN: both modes, NCHW, NHWC and strided views, float32 and float16,
 * register and wide windows, each beta fast path (0.75 rsqrt, 0.5, 1, general), forward with and
 * without the scale, backward with the scale and recomputing it. CTest runs the suite on the CPU
 * kernels, the GPU kernels and the portable kernel code. */
#include "testutil.h"

#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(zero_k, .init = tu_setup, .fini = tu_teardown, .timeout = 300);

struct zk_case {
    const char *name;
    lrncl_convention conv;
    lrncl_mode mode;
    int size;
    float alpha, beta;
    size_t n, c, h, w;
};

static const struct zk_case zk_cases[] = {
    {"pytorch even 4, beta 0.75", LRNCL_CONVENTION_PYTORCH, LRNCL_ACROSS_CHANNELS, 4, 0.5f, 0.75f, 2, 11, 3, 5},
    {"onnx 5, beta 0.5", LRNCL_CONVENTION_ONNX, LRNCL_ACROSS_CHANNELS, 5, 0.2f, 0.5f, 1, 12, 4, 3},
    {"tensorflow r 2, beta 1", LRNCL_CONVENTION_TENSORFLOW, LRNCL_ACROSS_CHANNELS, 2, 0.05f, 1.0f, 2, 9, 2, 3},
    {"onednn across 4, beta 0.6", LRNCL_CONVENTION_ONEDNN, LRNCL_ACROSS_CHANNELS, 4, 0.3f, 0.6f, 1, 10, 3, 3},
    {"onnx 19 (wide), beta 0.75", LRNCL_CONVENTION_ONNX, LRNCL_ACROSS_CHANNELS, 19, 0.4f, 0.75f, 1, 40, 2, 3},
    {"miopen within 3, beta 0.75", LRNCL_CONVENTION_MIOPEN, LRNCL_WITHIN_CHANNEL, 3, 0.5f, 0.75f, 2, 3, 9, 11},
    {"onednn within 4, beta 0.5", LRNCL_CONVENTION_ONEDNN, LRNCL_WITHIN_CHANNEL, 4, 0.5f, 0.5f, 1, 3, 8, 10},
    {"miopen within 17 (wide), beta 0.6", LRNCL_CONVENTION_MIOPEN, LRNCL_WITHIN_CHANNEL, 17, 0.9f, 0.6f, 1, 2, 24,
     26},
};

/* Random x with windows of zeros planted: across, a run of channels wider than the window at a
 * few (n, h, w) (and a whole column); within, a box wider than the window in a few planes. */
static void fill_with_zero_windows(const lrncl_desc *d, int lo, int hi, float *x, float *dy, unsigned salt)
{
    struct tu_rng g;
    tu_rng_init(&g, tu_seed(0x2e40u + salt));
    const size_t count = lrncl_desc_elements(d), C = d->c, H = d->h, W = d->w;
    for (size_t i = 0; i < count; i++) {
        x[i] = (float)(2.0 * tu_rng_normal(&g));
        dy[i] = (float)tu_rng_normal(&g);
    }
    const size_t win = (size_t)(lo + hi + 1);
#define X(n, c, h, w) x[(((n) * C + (c)) * H + (h)) * W + (w)]
    if (d->mode == LRNCL_ACROSS_CHANNELS) {
        size_t run = win + 2 < C ? win + 2 : C;
        for (size_t c = 0; c < run; c++)
            X(0, (C - run) / 2 + c, 0, W - 1) = 0.0f; /* an interior run */
        for (size_t c = 0; c < C; c++)
            X(d->n - 1, c, H - 1, 0) = 0.0f;         /* a whole column */
    } else {
        size_t bh = win + 1 < H ? win + 1 : H, bw = win + 2 < W ? win + 2 : W;
        for (size_t h = 0; h < bh; h++)
            for (size_t w = 0; w < bw; w++) {
                X(0, 0, H - bh + h, w) = 0.0f;        /* a box at a corner */
                X(d->n - 1, C - 1, h, W - bw + w) = 0.0f;
            }
    }
#undef X
}

static void run_case(const struct zk_case *zc, lrncl_layout layout, lrncl_dtype dtype, unsigned salt)
{
    lrncl_desc d = tu_desc(zc->conv, zc->mode, zc->size, zc->alpha, zc->beta, 0.0f, zc->n, zc->c, zc->h, zc->w);
    d.layout = layout;
    d.dtype = dtype;
    if (layout == LRNCL_LAYOUT_STRIDED) { /* padded NCHW view, with offsets */
        d.stride_w = 1;
        d.stride_h = d.w + 1;
        d.stride_c = d.h * d.stride_h + 2;
        d.stride_n = d.c * d.stride_c + 3;
        d.offset_x = 3, d.offset_y = 5, d.offset_scale = 1, d.offset_dy = 2, d.offset_dx = 7;
    }
    char ds[512], label[640];
    tu_desc_str(&d, ds, sizeof ds);
    snprintf(label, sizeof label, "%s (%s)", zc->name, ds);
    const size_t count = lrncl_desc_elements(&d);
    float *x = tu_floats(count), *dy = tu_floats(count);
    /* the canonical window, for planting: the reference's own mapping is what is tested */
    int lo, hi;
    switch (zc->conv) {
    case LRNCL_CONVENTION_PYTORCH: lo = zc->size / 2, hi = (zc->size - 1) / 2; break;
    case LRNCL_CONVENTION_TENSORFLOW: lo = hi = zc->size; break;
    case LRNCL_CONVENTION_ONEDNN: lo = hi = (zc->size - 1) / 2; break;
    default: lo = (zc->size - 1) / 2, hi = zc->size - 1 - lo; break;
    }
    fill_with_zero_windows(&d, lo, hi, x, dy, salt);
    if (dtype == LRNCL_FLOAT16) {
        tu_round_to_half(x, count);
        tu_round_to_half(dy, count);
    }
    double *y = tu_doubles(count), *s = tu_doubles(count), *dx = tu_doubles(count);
    lrncl_status st = tu_reference(&d, x, dy, y, s, dx);
    cr_assert(st == LRNCL_SUCCESS, "%s: reference -> %s: %s", label, lrncl_status_string(st), lrncl_last_error());
    size_t nan_y = 0, nan_dx = 0, zero_s = 0;
    for (size_t i = 0; i < count; i++) {
        nan_y += isnan(y[i]) != 0;
        nan_dx += isnan(dx[i]) != 0;
        zero_s += s[i] == 0.0;
    }
    /* The planted zeros must make windows of zeros, and only there is anything NaN. */
    cr_assert(zero_s > 0 && nan_y == zero_s && nan_dx >= nan_y, "%s: %zu zero scales, %zu NaN y, %zu NaN dx", label,
              zero_s, nan_y, nan_dx);

    lrncl_plan *p = tu_plan(tu.ctx, &d);
    tu_run_expect(label, p, &d, x, dy, y, s, dx, count);
    lrncl_plan_release(p);
    free(dx);
    free(s);
    free(y);
    free(dy);
    free(x);
}

Test(zero_k, nchw)
{
    for (size_t i = 0; i < sizeof zk_cases / sizeof zk_cases[0]; i++)
        run_case(&zk_cases[i], LRNCL_LAYOUT_NCHW, LRNCL_FLOAT32, (unsigned)i);
}

Test(zero_k, nhwc)
{
    for (size_t i = 0; i < sizeof zk_cases / sizeof zk_cases[0]; i++)
        run_case(&zk_cases[i], LRNCL_LAYOUT_NHWC, LRNCL_FLOAT32, 100u + (unsigned)i);
}

Test(zero_k, strided)
{
    for (size_t i = 0; i < sizeof zk_cases / sizeof zk_cases[0]; i++)
        run_case(&zk_cases[i], LRNCL_LAYOUT_STRIDED, LRNCL_FLOAT32, 200u + (unsigned)i);
}

Test(zero_k, float16)
{
    run_case(&zk_cases[0], LRNCL_LAYOUT_NCHW, LRNCL_FLOAT16, 300u);
    run_case(&zk_cases[5], LRNCL_LAYOUT_NHWC, LRNCL_FLOAT16, 301u);
}
