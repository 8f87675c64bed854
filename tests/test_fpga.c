/* test_fpga.c: the FPGA kernels (kernels/lrn_fpga.cl), run on whatever device the tests use by
 * setting LRNCL_DEVICE_CLASS=fpga before a plan is made. In one process, each case makes a plan
 * as for a CPU and one as for an FPGA, runs both on the same random inputs (outputs poisoned
 * first), checks both against the float64 reference and every output of the two bit for bit:
 * both modes, forward (with and without the scale) and backward (given the scale and
 * recomputing it), float32 and float16, NCHW, NHWC and strided views with offsets; planes of
 * more columns (within) or positions (across) than a line buffer holds (several tiles), windows
 * wider than the shift register (clamped, or refused), in-place forward (over several tiles
 * too), the program cache's key and the fixed tuning. */
#include "testutil.h"

#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(fpga, .init = tu_setup, .fini = tu_teardown, .timeout = 300);

/* The length of a line buffer of lrn_fpga.cl (host/internal.h LRNCL_FPGA_LINE): within, planes
 * wider than this many columns are walked in tiles; across (NCHW, strided), planes of more
 * positions than this. */
#define FPGA_LINE 128
/* Channels per tile of the within walk in NHWC (lrn_fpga.cl LRN_FPGA_CTILE). */
#define FPGA_CTILE 8

static void use_class(const char *cls)
{
    cr_assert(setenv("LRNCL_DEVICE_CLASS", cls, 1) == 0);
}

/* A plan of class cls for d, run through tu_run_view; every output checked against the
 * reference (y, s, dx) with d's bounds. */
static void run_class(const char *label, const char *cls, const lrncl_desc *d, const float *x, const float *dy,
                      const double *y, const double *s, const double *dx, struct tu_device_result *out)
{
    char ds[320], what_label[400];
    use_class(cls);
    lrncl_plan *p = tu_plan(tu.ctx, d);
    const char *what = "";
    lrncl_status st = tu_run_view(p, d, x, dy, out, &what);
    cr_assert(st == LRNCL_SUCCESS, "%s [%s] (%s): %s -> %s: %s", label, cls, tu_desc_str(d, ds, sizeof ds), what,
              lrncl_status_string(st), lrncl_last_error());
    snprintf(what_label, sizeof what_label, "%s [%s]", label, cls);
    tu_expect_result(what_label, d, out, y, s, dx, lrncl_desc_elements(d));
    lrncl_plan_release(p);
}

/* d through the CPU kernels and the FPGA kernels: both right, and equal bit for bit (a general
 * beta included: the CPU kernels' vectors take s^-beta lane by lane, see lrn_common.cl). */
static void expect_fpga_equals_cpu(const char *label, const lrncl_desc *d, struct tu_rng *g)
{
    const char *other = "cpu";
    struct tu_case k;
    tu_case_random(&k, d, g, 1.5);
    const size_t count = k.count;
    struct tu_device_result cpu, fpga;
    run_class(label, other, d, k.x, k.dy, k.y, k.s, k.dx, &cpu);
    run_class(label, "fpga", d, k.x, k.dy, k.y, k.s, k.dx, &fpga);
    unsetenv("LRNCL_DEVICE_CLASS");
    const struct {
        const char *name;
        const float *a, *b;
    } outs[] = {{"y", cpu.y, fpga.y},
                {"y (scale NULL)", cpu.y_noscale, fpga.y_noscale},
                {"scale", cpu.scale, fpga.scale},
                {"dx (scale given)", cpu.dx, fpga.dx},
                {"dx (scale NULL, recomputed)", cpu.dx_noscale, fpga.dx_noscale}};
    char ds[320];
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) {
        size_t at = tu_first_difference(outs[i].a, outs[i].b, count);
        cr_expect(at == count, "%s (%s): %s: the FPGA kernels differ from the %s kernels at [%zu]: %a vs %a",
                  label, tu_desc_str(d, ds, sizeof ds), outs[i].name, other, at, at < count ? (double)outs[i].b[at] : 0.0,
                  at < count ? (double)outs[i].a[at] : 0.0);
    }
    tu_device_result_free(&fpga);
    tu_device_result_free(&cpu);
    tu_case_free(&k);
}

/* Padded strides (NCHW order, every axis with room to spare) and an offset per tensor. */
static void make_strided(lrncl_desc *d)
{
    d->layout = LRNCL_LAYOUT_STRIDED;
    d->stride_w = 1;
    d->stride_h = d->w + 2;
    d->stride_c = (d->h + 1) * d->stride_h;
    d->stride_n = (d->c + 1) * d->stride_c;
    d->offset_x = 3, d->offset_y = 1, d->offset_scale = 5, d->offset_dy = 2, d->offset_dx = 4;
}

Test(fpga, bitwise_equal_to_cpu_kernels)
{
    uint64_t seed = tu_seed(UINT64_C(0xf96a0001));
    struct tu_rng g;
    tu_rng_init(&g, seed);
    /* Windows taken in turn: symmetric, asymmetric (even sizes, explicit), and one wider than
     * the CPU kernels' register window (16), which they re-read from memory; betas in another
     * turn: each closed form, and a general one. */
    const float betas[] = {0.75f, 1.0f, 0.6f, 0.5f};
    const struct {
        lrncl_convention conv;
        int size, lo, hi;
    } across[] = {{CF, 5, 0, 0}, {PT, 4, 0, 0}, {EX, 1, 9, 3}, {CF, 21, 0, 0}},
      within[] = {{CF, 3, 0, 0}, {MI, 4, 0, 0}, {EX, 1, 1, 3}, {CF, 19, 0, 0}};
    const lrncl_dtype dtypes[] = {LRNCL_FLOAT32, LRNCL_FLOAT16};
    const lrncl_layout layouts[] = {LRNCL_LAYOUT_NCHW, LRNCL_LAYOUT_NHWC, LRNCL_LAYOUT_STRIDED};
    int turn = 0;
    for (int m = 0; m < 2; m++)
        for (int t = 0; t < 2; t++)
            for (int l = 0; l < 3; l++, turn++) {
                const int wi = turn % 4;
                const lrncl_mode mode = m ? WI : AC;
                lrncl_desc d;
                if (mode == AC) {
                    d = tu_desc(across[wi].conv, AC, across[wi].size, 0.9f, betas[(turn + turn / 4) % 4], 1.3f,
                                1 + tu_rng_below(&g, 3), 1 + tu_rng_below(&g, 40), 1 + tu_rng_below(&g, 5),
                                1 + tu_rng_below(&g, 7));
                    d.window_lo = across[wi].lo, d.window_hi = across[wi].hi;
                } else {
                    d = tu_desc(within[wi].conv, WI, within[wi].size, 0.9f, betas[(turn + turn / 4) % 4], 1.3f,
                                1 + tu_rng_below(&g, 2), 1 + tu_rng_below(&g, 4), 1 + tu_rng_below(&g, 24),
                                1 + tu_rng_below(&g, 30));
                    d.window_lo = within[wi].lo, d.window_hi = within[wi].hi;
                }
                d.dtype = dtypes[t];
                if (layouts[l] == LRNCL_LAYOUT_STRIDED)
                    make_strided(&d);
                else
                    d.layout = layouts[l];
                char label[96];
                snprintf(label, sizeof label, "seed=0x%" PRIx64 " case %d", seed, turn);
                expect_fpga_equals_cpu(label, &d, &g);
            }
}

/* Planes wider than a line buffer: the within kernels walk them in tiles of FPGA_LINE columns,
 * each re-reading the window's reach on both sides; NHWC in tiles of FPGA_CTILE channels too
 * (the last one partly idle), several images. */
Test(fpga, within_planes_wider_than_the_line_buffers)
{
    uint64_t seed = tu_seed(UINT64_C(0xf96a0002));
    struct tu_rng g;
    tu_rng_init(&g, seed);
    const struct {
        size_t n, c, w;
        int lo, hi;
        lrncl_dtype dtype;
        lrncl_layout layout;
    } cases[] = {{1, 2, FPGA_LINE, 4, 1, LRNCL_FLOAT32, LRNCL_LAYOUT_NCHW},
                 {1, 2, FPGA_LINE + 1, 2, 5, LRNCL_FLOAT32, LRNCL_LAYOUT_NCHW},
                 {1, 2, 2 * FPGA_LINE + 37, 4, 1, LRNCL_FLOAT16, LRNCL_LAYOUT_NHWC},
                 {2, 2 * FPGA_CTILE + 3, FPGA_LINE + 3, 1, 2, LRNCL_FLOAT32, LRNCL_LAYOUT_NHWC},
                 {1, FPGA_CTILE, 9, 0, 3, LRNCL_FLOAT16, LRNCL_LAYOUT_NHWC}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lrncl_desc d = tu_desc(EX, WI, 1, 0.9f, 0.75f, 1.0f, cases[i].n, cases[i].c, 6, cases[i].w);
        d.window_lo = cases[i].lo, d.window_hi = cases[i].hi;
        d.dtype = cases[i].dtype;
        d.layout = cases[i].layout;
        char label[96];
        snprintf(label, sizeof label, "seed=0x%" PRIx64 " within case %zu", seed, i);
        expect_fpga_equals_cpu(label, &d, &g);
    }
}

/* Planes of more positions than a tile: the across kernels walk NCHW and strided planes in
 * tiles of FPGA_LINE positions, every channel's run FPGA_LINE steps long (the last tile's partly
 * idle), and NHWC one position's channels at a time; several images each. */
Test(fpga, across_planes_wider_than_a_tile)
{
    uint64_t seed = tu_seed(UINT64_C(0xf96a0006));
    struct tu_rng g;
    tu_rng_init(&g, seed);
    const struct {
        size_t n, c, h, w;
        int lo, hi;
        float beta;
        lrncl_dtype dtype;
        lrncl_layout layout;
    } cases[] = {{2, 7, 8, FPGA_LINE / 8, 2, 2, 0.75f, LRNCL_FLOAT32, LRNCL_LAYOUT_NCHW},  /* one whole tile */
                 {2, 9, 3, 43, 1, 3, 0.6f, LRNCL_FLOAT32, LRNCL_LAYOUT_NCHW},             /* 129: one position over */
                 {1, 12, 17, 17, 4, 0, 0.75f, LRNCL_FLOAT16, LRNCL_LAYOUT_NCHW},          /* 289 */
                 {2, 5, 11, 25, 0, 3, 1.0f, LRNCL_FLOAT32, LRNCL_LAYOUT_STRIDED},         /* 275, padded rows */
                 {2, 6, 10, 13, 3, 3, 0.5f, LRNCL_FLOAT16, LRNCL_LAYOUT_NHWC},
                 {1, 70, 12, 12, 31, 32, 0.75f, LRNCL_FLOAT32, LRNCL_LAYOUT_NCHW}}; /* 64 taps, 2 tiles */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lrncl_desc d = tu_desc(EX, AC, 1, 0.9f, cases[i].beta, 1.2f, cases[i].n, cases[i].c, cases[i].h, cases[i].w);
        d.window_lo = cases[i].lo, d.window_hi = cases[i].hi;
        d.dtype = cases[i].dtype;
        if (cases[i].layout == LRNCL_LAYOUT_STRIDED)
            make_strided(&d);
        else
            d.layout = cases[i].layout;
        char label[96];
        snprintf(label, sizeof label, "seed=0x%" PRIx64 " across case %zu", seed, i);
        expect_fpga_equals_cpu(label, &d, &g);
    }
}

/* A window wider than the shift register (LRNCL_FPGA_WINDOW_MAX 64 taps) is clamped to the
 * axis when the tensor is narrower (same results); otherwise the plan is refused cleanly. */
Test(fpga, windows_wider_than_the_shift_register)
{
    uint64_t seed = tu_seed(UINT64_C(0xf96a0003));
    struct tu_rng g;
    tu_rng_init(&g, seed);
    lrncl_desc across = tu_desc(EX, AC, 1, 0.5f, 0.75f, 1.0f, 2, 23, 2, 3);
    across.window_lo = 50, across.window_hi = 40;
    expect_fpga_equals_cpu("across 50/40 on 23 channels", &across, &g);
    lrncl_desc within = tu_desc(EX, WI, 1, 0.5f, 0.75f, 1.0f, 1, 2, 7, 9);
    within.window_lo = 70, within.window_hi = 2;
    expect_fpga_equals_cpu("within 70/2 on 7x9 planes", &within, &g);
    /* The widest window kept as it is, 64 taps: the largest line buffers, over two tiles. */
    lrncl_desc widest = tu_desc(EX, WI, 1, 0.5f, 0.75f, 1.0f, 1, 2, 40, 2 * FPGA_LINE - 3);
    widest.window_lo = 32, widest.window_hi = 31;
    expect_fpga_equals_cpu("within 32/31 on 40x253 planes", &widest, &g);
    lrncl_desc widest_across = tu_desc(EX, AC, 1, 0.5f, 0.75f, 1.0f, 1, 70, 3, 2);
    widest_across.window_lo = 31, widest_across.window_hi = 32;
    expect_fpga_equals_cpu("across 31/32 on 70 channels", &widest_across, &g);

    lrncl_desc wide = tu_desc(EX, AC, 1, 0.5f, 0.75f, 1.0f, 1, 100, 1, 2);
    wide.window_lo = 40, wide.window_hi = 40;
    use_class("fpga");
    lrncl_plan *p = NULL;
    lrncl_status st = lrncl_plan_create(tu.ctx, &wide, &p);
    cr_expect(st == LRNCL_ERROR_UNSUPPORTED && p == NULL, "81 taps on 100 channels -> %s", lrncl_status_string(st));
    cr_expect(strstr(lrncl_last_error(), "FPGA") && strstr(lrncl_last_error(), "lo 40, hi 40"), "message: %s",
              lrncl_last_error());
    lrncl_plan_release(p);
    use_class("cpu"); /* the other kernels take it */
    p = tu_plan(tu.ctx, &wide);
    lrncl_plan_release(p);
    unsetenv("LRNCL_DEVICE_CLASS");
}

/* In-place forward (y the same buffer and offset as x) through the FPGA kernels gives the CPU
 * kernels' out-of-place y and scale. */
Test(fpga, in_place_forward)
{
    uint64_t seed = tu_seed(UINT64_C(0xf96a0004));
    struct tu_rng g;
    tu_rng_init(&g, seed);
    const struct {
        lrncl_dtype dtype;
        lrncl_layout layout;
        int size;
        size_t offset, h, w;
    } cases[] = {{LRNCL_FLOAT32, LRNCL_LAYOUT_NCHW, 5, 0, 2, 3}, {LRNCL_FLOAT16, LRNCL_LAYOUT_NHWC, 3, 3, 2, 3},
                 {LRNCL_FLOAT32, LRNCL_LAYOUT_NHWC, 1, 0, 2, 3},
                 /* planes of several tiles (FPGA_LINE positions each) */
                 {LRNCL_FLOAT32, LRNCL_LAYOUT_NCHW, 5, 0, 9, 31}, {LRNCL_FLOAT16, LRNCL_LAYOUT_NCHW, 7, 5, 12, 12}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lrncl_desc d = tu_desc(CF, AC, cases[i].size, 1.1f, 0.75f, 1.0f, 2, 11, cases[i].h, cases[i].w);
        d.dtype = cases[i].dtype;
        d.layout = cases[i].layout;
        d.offset_x = d.offset_y = cases[i].offset;
        d.offset_scale = 2;
        const size_t count = lrncl_desc_elements(&d), es = tu_dtype_size(&d);
        float *x = tu_floats(count), *dy = tu_floats(count), *y = tu_floats(count), *s = tu_floats(count);
        tu_random_inputs(&g, &d, x, dy, count, 1.5);
        use_class("cpu");
        lrncl_plan *p = tu_plan(tu.ctx, &d);
        struct tu_device_result ref;
        const char *what = "";
        cr_assert(tu_run_view(p, &d, x, NULL, &ref, &what) == LRNCL_SUCCESS, "%s: %s", what, lrncl_last_error());
        lrncl_plan_release(p);

        use_class("fpga");
        size_t bytes = 0, sbytes = 0;
        unsigned char *img = tu_image_make(&d, d.offset_x, es, x, &bytes);
        unsigned char *simg = tu_image_make(&d, d.offset_scale, sizeof(float), NULL, &sbytes);
        cl_mem b = tu_buffer_image(img, bytes), sb = tu_buffer_image(simg, sbytes);
        p = tu_plan(tu.ctx, &d);
        lrncl_status st = lrncl_forward(p, tu.q, b, b, sb, 0, NULL, NULL);
        cr_assert(st == LRNCL_SUCCESS, "case %zu: in-place forward -> %s: %s", i, lrncl_status_string(st),
                  lrncl_last_error());
        tu_read_bytes(b, img, bytes);
        tu_read_bytes(sb, simg, sbytes);
        tu_image_read(&d, d.offset_x, es, img, y);
        tu_image_read(&d, d.offset_scale, sizeof(float), simg, s);
        cr_expect(tu_image_padding_intact(&d, d.offset_x, es, img), "case %zu: wrote outside the view", i);
        size_t at = tu_first_difference(y, ref.y, count);
        cr_expect(at == count, "seed=0x%" PRIx64 " case %zu: in-place y differs at [%zu] from the CPU kernels'", seed,
                  i, at);
        at = tu_first_difference(s, ref.scale, count);
        cr_expect(at == count, "seed=0x%" PRIx64 " case %zu: in-place scale differs at [%zu]", seed, i, at);
        lrncl_plan_release(p);
        tu_release(&sb);
        tu_release(&b);
        tu_device_result_free(&ref);
        free(simg);
        free(img);
        free(s);
        free(y);
        free(dy);
        free(x);
    }
    unsetenv("LRNCL_DEVICE_CLASS");
}

/* The kernel family is part of the program's key: the same problem as a CPU plan and as an FPGA
 * plan is two programs; a second FPGA plan builds nothing. */
Test(fpga, program_cache_keys_on_the_family)
{
    lrncl_desc d = tu_desc(CF, AC, 5, 1.0f, 0.75f, 1.0f, 1, 9, 3, 4);
    const size_t b0 = lrncl_context_program_builds(tu.ctx);
    use_class("cpu");
    lrncl_plan *a = tu_plan(tu.ctx, &d);
    cr_expect(lrncl_context_program_builds(tu.ctx) == b0 + 1);
    use_class("fpga");
    lrncl_plan *b = tu_plan(tu.ctx, &d);
    cr_expect(lrncl_context_program_builds(tu.ctx) == b0 + 2, "an FPGA plan reused the CPU program");
    lrncl_plan *c = tu_plan(tu.ctx, &d);
    cr_expect(lrncl_context_program_builds(tu.ctx) == b0 + 2, "a second FPGA plan built again");
    unsetenv("LRNCL_DEVICE_CLASS");
    lrncl_plan_release(c);
    lrncl_plan_release(b);
    lrncl_plan_release(a);
}

/* Single work-item kernels have nothing to tune: every kernel reports (1, the whole axis);
 * setting that is accepted, anything else refused with the reason. */
Test(fpga, tuning_is_fixed)
{
    lrncl_desc d = tu_desc(CF, WI, 3, 1.0f, 0.75f, 1.0f, 1, 4, 10, 6);
    use_class("fpga");
    lrncl_plan *p = tu_plan(tu.ctx, &d);
    unsetenv("LRNCL_DEVICE_CLASS");
    const lrncl_kernel_kind kinds[] = {LRNCL_KERNEL_FORWARD, LRNCL_KERNEL_FORWARD_TRAINING, LRNCL_KERNEL_BACKWARD};
    for (size_t i = 0; i < 3; i++)
        cr_expect(lrncl_plan_tuning_source(p, kinds[i]) == LRNCL_TUNING_HEURISTIC, "kernel %zu: source %d", i,
                  (int)lrncl_plan_tuning_source(p, kinds[i]));
    for (size_t i = 0; i < 3; i++) {
        lrncl_tuning t;
        cr_assert(lrncl_plan_get_tuning(p, kinds[i], &t) == LRNCL_SUCCESS, "%s", lrncl_last_error());
        cr_expect(t.local_size == 1 && t.slide_block == 10, "kernel %zu: tuning %zu, %zu (want 1, 10 rows)", i,
                  t.local_size, t.slide_block);
        cr_expect(lrncl_plan_set_tuning(p, kinds[i], &t) == LRNCL_SUCCESS, "the plan's own tuning: %s",
                  lrncl_last_error());
        lrncl_tuning wide = {8, 10};
        lrncl_status st = lrncl_plan_set_tuning(p, kinds[i], &wide);
        cr_expect(st == LRNCL_ERROR_UNSUPPORTED && strstr(lrncl_last_error(), "single work-item"),
                  "local_size 8 -> %s: %s", lrncl_status_string(st), lrncl_last_error());
        lrncl_tuning blocks = {1, 4};
        st = lrncl_plan_set_tuning(p, kinds[i], &blocks);
        cr_expect(st == LRNCL_ERROR_UNSUPPORTED && strstr(lrncl_last_error(), "FPGA"), "slide_block 4 -> %s: %s",
                  lrncl_status_string(st), lrncl_last_error());
    }
    /* still right after the refusals */
    struct tu_rng g;
    tu_rng_init(&g, tu_seed(UINT64_C(0xf96a0005)));
    struct tu_case k;
    tu_case_random(&k, &d, &g, 1.5);
    tu_run_expect("fpga tuning", p, &d, k.x, k.dy, k.y, k.s, k.dx, k.count);
    lrncl_plan_release(p);
    tu_case_free(&k);
}
