/* test_matrix.c: every class of kernels (cpu, gpu, fpga through LRNCL_DEVICE_CLASS) over a matrix
 * of tiny cases: both modes, forward with and without the scale and backward with and without it
 * (tu_run_view), float32 and float16, NCHW, NHWC and strided views with offsets, odd, even and
 * wide windows, N > C, and in-place forward; each against the float64 reference, outputs
 * poisoned first, nothing outside the views written. The tensors are a few hundred elements, so
 * that ci/portability.sh can run the suite under Oclgrind (`oclgrind --data-races --check-api`),
 * which reports any out-of-bounds access, data race or API misuse the kernels make. */
#include "testutil.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(matrix, .init = tu_setup, .fini = tu_teardown, .timeout = 600);

struct window {
    const char *name;
    lrncl_convention conv;
    int size;
};

/* odd (Caffe 3), even (PyTorch 4: lo 2, hi 1), wide (ONNX 19: past the register window) */
static const struct window windows[] = {
    {"odd 3", LRNCL_CONVENTION_CAFFE, 3},
    {"even 4", LRNCL_CONVENTION_PYTORCH, 4},
    {"wide 19", LRNCL_CONVENTION_ONNX, 19},
};

static void run_one(const char *cls, lrncl_mode mode, lrncl_dtype dtype, lrncl_layout layout, const struct window *win,
                    size_t n, size_t c, size_t h, size_t w, unsigned salt)
{
    /* PyTorch and ONNX define no within mode: oneDNN's even and MIOpen's windows stand in */
    lrncl_convention conv = win->conv;
    if (mode == LRNCL_WITHIN_CHANNEL && conv != LRNCL_CONVENTION_CAFFE)
        conv = conv == LRNCL_CONVENTION_PYTORCH ? LRNCL_CONVENTION_ONEDNN : LRNCL_CONVENTION_MIOPEN;
    lrncl_desc d = tu_desc(conv, mode, win->size, 0.7f, 0.75f, 1.5f, n, c, h, w);
    d.dtype = dtype;
    d.layout = layout;
    if (layout == LRNCL_LAYOUT_STRIDED) { /* padded NCHW, with offsets */
        d.stride_w = 1;
        d.stride_h = w + 1;
        d.stride_c = h * d.stride_h + 2;
        d.stride_n = c * d.stride_c + 1;
        d.offset_x = 2, d.offset_y = 3, d.offset_scale = 1, d.offset_dy = 4, d.offset_dx = 5;
    }
    struct tu_rng g;
    tu_rng_init(&g, tu_seed(0x3a7c1u + salt));
    struct tu_case k;
    tu_case_random(&k, &d, &g, 2.0);
    char label[256], dbuf[384];
    snprintf(label, sizeof label, "%s kernels, %s window: %s", cls, win->name, tu_desc_str(&d, dbuf, sizeof dbuf));
    lrncl_plan *p = tu_plan(tu.ctx, &d);
    tu_run_expect(label, p, &d, k.x, k.dy, k.y, k.s, k.dx, k.count);
    lrncl_plan_release(p);
    tu_case_free(&k);
}

/* In-place forward (y on x's buffer): across channels, a register window, NCHW. */
static void run_in_place(const char *cls, size_t n, size_t c, size_t h, size_t w)
{
    lrncl_desc d = tu_desc(LRNCL_CONVENTION_CAFFE, LRNCL_ACROSS_CHANNELS, 5, 0.7f, 0.75f, 1.5f, n, c, h, w);
    const size_t count = lrncl_desc_elements(&d);
    float *x = tu_floats(count), *dy = tu_floats(count), *got = tu_floats(count);
    double *y = tu_doubles(count);
    struct tu_rng g;
    tu_rng_init(&g, tu_seed(0x1f9ceu));
    tu_random_inputs(&g, &d, x, dy, count, 2.0);
    cr_assert(tu_reference(&d, x, NULL, y, NULL, NULL) == LRNCL_SUCCESS);
    lrncl_plan *p = tu_plan(tu.ctx, &d);
    cl_mem b = tu_buffer_from(x, count);
    cr_assert(lrncl_forward(p, tu.q, b, b, NULL, 0, NULL, NULL) == LRNCL_SUCCESS, "%s", lrncl_last_error());
    tu_read(b, got, count);
    struct tu_cmp r;
    char label[64];
    snprintf(label, sizeof label, "%s kernels, in-place forward", cls);
    cr_expect(tu_check_forward(label, &d, got, y, count, &r), "%s", r.msg);
    tu_release(&b);
    lrncl_plan_release(p);
    free(y);
    free(got);
    free(dy);
    free(x);
}

/* Every mode, dtype and layout; the window cycles through odd, even and wide so that each
 * mode and each layout meets each window; every third case has N > C. */
static void run_class(const char *cls)
{
    cr_assert(setenv("LRNCL_DEVICE_CLASS", cls, 1) == 0);
    unsigned i = 0;
    for (int mode = 0; mode < 2; mode++)
        for (int dt = 0; dt < 2; dt++)
            for (int lay = 0; lay < 3; lay++, i++) {
                const struct window *win = &windows[(i + (unsigned)mode) % 3];
                const int n_gt_c = i % 3 == 2;
                /* the wide window needs an axis longer than its reach to differ from a narrow one */
                size_t c = n_gt_c ? 2 : (mode == 0 && win->size > 16 ? 21 : 5), h = mode ? 9 : 3, w = 7;
                if (mode == 1 && win->size > 16)
                    h = 19, w = 5;
                run_one(cls, mode ? LRNCL_WITHIN_CHANNEL : LRNCL_ACROSS_CHANNELS, dt ? LRNCL_FLOAT16 : LRNCL_FLOAT32,
                        (lrncl_layout)lay, win, n_gt_c ? 3 : 2, c, h, w, i);
            }
    run_in_place(cls, 2, 7, 3, 5);
    unsetenv("LRNCL_DEVICE_CLASS");
}

Test(matrix, cpu_kernels) { run_class("cpu"); }
Test(matrix, gpu_kernels) { run_class("gpu"); }
Test(matrix, fpga_kernels) { run_class("fpga"); }
