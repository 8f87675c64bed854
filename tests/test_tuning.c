/* test_tuning.c: launch tuning (lrncl_plan_set_tuning, the tuning database) changes speed only.
 * Every slide block (channels across, rows within) and odd work-group sizes give outputs bit for
 * bit equal to the plan's own tuning, which is itself checked against the float64 reference;
 * in-place forward stays right with a small block; bad tunings are refused with the limit named;
 * database entries are found by key, the last one winning, and entries the device cannot launch
 * or cannot parse are ignored; LRNCL_DEVICE_CLASS is validated, and its three kernel choices agree. */
#include "testutil.h"

#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TestSuite(tuning, .init = tu_setup, .fini = tu_teardown, .timeout = 300);

/* The class of kernels lrncl chose for p ("cpu", "gpu", "fpga"): what the expectations follow. */
static bool plan_is(const lrncl_plan *p, const char *cls)
{
    return strcmp(lrncl_plan_device_class(p), cls) == 0;
}

/* This suite varies the NDRange kernels' tuning; the FPGA kernels have none (one work-item each:
 * fpga::tuning_is_fixed checks that they refuse any other). Where lrncl gives this device the
 * FPGA kernels, a test of varied tunings says so and skips. */
static void skip_on_fpga_kernels(const lrncl_plan *p)
{
    if (plan_is(p, "fpga")) {
        const char *why = "plans on this device take the FPGA kernels, which have no tuning to vary "
                          "(fpga::tuning_is_fixed checks them); LRNCL_DEVICE_CLASS=cpu or gpu runs this test";
        fprintf(stderr, "tuning: skipped: %s\n", why); /* Criterion prints skips only with --verbose */
        cr_skip_test("%s", why);
    }
}

static void expect_same(const char *label, const struct tu_device_result *a, const struct tu_device_result *b,
                        size_t count)
{
    const struct {
        const char *name;
        const float *a, *b;
    } outs[] = {{"y", a->y, b->y},       {"y (scale NULL)", a->y_noscale, b->y_noscale}, {"scale", a->scale, b->scale},
                {"dx", a->dx, b->dx}, {"dx (scale NULL)", a->dx_noscale, b->dx_noscale}};
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) {
        size_t at = tu_first_difference(outs[i].a, outs[i].b, count);
        cr_expect(at == count, "%s: %s differs at [%zu]: %.9g vs %.9g", label, outs[i].name, at,
                  at < count ? (double)outs[i].a[at] : 0.0, at < count ? (double)outs[i].b[at] : 0.0);
    }
}

struct tuning_case {
    const char *name;
    lrncl_convention conv;
    lrncl_mode mode;
    int size, lo, hi; /* lo, hi: EXPLICIT only */
    size_t n, c, h, w;
    lrncl_dtype dtype;
    lrncl_layout layout;
};

#define F32 LRNCL_FLOAT32
#define F16 LRNCL_FLOAT16
#define NCHW LRNCL_LAYOUT_NCHW
#define NHWC LRNCL_LAYOUT_NHWC

/* Register windows and re-read (wide) windows, symmetric and lopsided, both dtypes and layouts;
 * W = 11 gives CPUs a partial vector group at each row's end. */
static const struct tuning_case cases[] = {
    {"across caffe 5", LRNCL_CONVENTION_CAFFE, AC, 5, 0, 0, 2, 37, 3, 11, F32, NCHW},
    {"across pytorch 4", LRNCL_CONVENTION_PYTORCH, AC, 4, 0, 0, 2, 23, 2, 5, F32, NCHW},
    {"across caffe 5 f16", LRNCL_CONVENTION_CAFFE, AC, 5, 0, 0, 1, 29, 3, 11, F16, NCHW},
    {"across nhwc", LRNCL_CONVENTION_CAFFE, AC, 3, 0, 0, 2, 21, 2, 5, F32, NHWC},
    {"across wide window", LRNCL_CONVENTION_EXPLICIT, AC, 1, 11, 9, 2, 40, 2, 3, F32, NCHW},
    {"within caffe 3", LRNCL_CONVENTION_CAFFE, WI, 3, 0, 0, 2, 3, 23, 11, F32, NCHW},
    {"within onednn 5 f16", LRNCL_CONVENTION_ONEDNN, WI, 5, 0, 0, 1, 4, 19, 7, F16, NCHW},
    {"within nhwc", LRNCL_CONVENTION_CAFFE, WI, 5, 0, 0, 2, 11, 17, 6, F32, NHWC},
    {"within wide window", LRNCL_CONVENTION_EXPLICIT, WI, 1, 10, 8, 1, 2, 30, 21, F32, NCHW},
};

static lrncl_desc case_desc(const struct tuning_case *tc)
{
    lrncl_desc d = tu_desc(tc->conv, tc->mode, tc->size, 0.9f, 0.75f, 1.5f, tc->n, tc->c, tc->h, tc->w);
    d.window_lo = tc->lo;
    d.window_hi = tc->hi;
    d.alpha_divisor = LRNCL_ALPHA_OVER_N;
    d.dtype = tc->dtype;
    d.layout = tc->layout;
    return d;
}

Test(tuning, every_slide_block_and_local_size_gives_the_same_bits)
{
    uint64_t seed = tu_seed(UINT64_C(0x70e1b10c));
    struct tu_rng g;
    tu_rng_init(&g, seed);
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const struct tuning_case *tc = &cases[ci];
        lrncl_desc d = case_desc(tc);
        const size_t extent = tc->mode == AC ? tc->c : tc->h;
        struct tu_case k;
        tu_case_random(&k, &d, &g, 2.0);

        /* The plan's own tuning, against the reference. */
        char label[256];
        snprintf(label, sizeof label, "seed=0x%" PRIx64 " %s (own tuning)", seed, tc->name);
        lrncl_plan *p = tu_plan(tu.ctx, &d);
        skip_on_fpga_kernels(p);
        const bool cpu = plan_is(p, "cpu");
        struct tu_device_result base;
        const char *what = "";
        lrncl_status st = tu_run_view(p, &d, k.x, k.dy, &base, &what);
        cr_assert(st == LRNCL_SUCCESS, "%s: %s -> %s: %s", label, what, lrncl_status_string(st), lrncl_last_error());
        tu_expect_result(label, &d, &base, k.y, k.s, k.dx, k.count);

        const size_t blocks[] = {1, 2, 3, 5, extent - 1, extent, extent + 3};
        const size_t locals[] = {3, 16};
        for (size_t bi = 0; bi < sizeof blocks / sizeof blocks[0]; bi++)
            for (size_t li = 0; li < sizeof locals / sizeof locals[0]; li++) {
                if (blocks[bi] == 0)
                    continue;
                lrncl_tuning t = {locals[li], blocks[bi]};
                snprintf(label, sizeof label, "seed=0x%" PRIx64 " %s, local %zu, block %zu of %zu", seed, tc->name,
                         t.local_size, t.slide_block, extent);
                lrncl_status sf = lrncl_plan_set_tuning(p, LRNCL_KERNEL_FORWARD, &t);
                lrncl_status sb = lrncl_plan_set_tuning(p, LRNCL_KERNEL_BACKWARD, &t);
                /* Two NHWC paths have no blocks: the across channel vectors of CPUs and the
                 * element-wise kernels of GPUs. They must refuse a block, and say why. */
                if (sf == LRNCL_ERROR_UNSUPPORTED && sb == LRNCL_ERROR_UNSUPPORTED) {
                    cr_expect(tc->layout == NHWC && blocks[bi] < extent &&
                                  strstr(lrncl_last_error(), "has no slide blocks") != NULL,
                              "%s: refused: %s", label, lrncl_last_error());
                    cr_expect(!cpu || tc->mode == AC, "%s: a CPU refused a within-channel block", label);
                    continue;
                }
                cr_assert(sf == LRNCL_SUCCESS && sb == LRNCL_SUCCESS, "%s: set_tuning -> %s / %s: %s", label,
                          lrncl_status_string(sf), lrncl_status_string(sb), lrncl_last_error());
                lrncl_tuning back;
                cr_assert(lrncl_plan_get_tuning(p, LRNCL_KERNEL_BACKWARD, &back) == LRNCL_SUCCESS);
                cr_expect(back.local_size == t.local_size && back.slide_block == t.slide_block,
                          "%s: get_tuning gave local %zu, block %zu", label, back.local_size, back.slide_block);
                cr_expect(lrncl_plan_tuning_source(p, LRNCL_KERNEL_FORWARD) == LRNCL_TUNING_USER, "%s: source", label);
                /* Training runs (y and scale) tuned apart: another block and work-group. */
                const size_t nblocks = sizeof blocks / sizeof blocks[0];
                lrncl_tuning tt = {locals[(li + 1) % 2], blocks[(bi + 2) % nblocks]};
                lrncl_status stt = lrncl_plan_set_tuning(p, LRNCL_KERNEL_FORWARD_TRAINING, &tt);
                cr_expect(stt == LRNCL_SUCCESS || (stt == LRNCL_ERROR_UNSUPPORTED && tc->layout == NHWC),
                          "%s: training tuning (local %zu, block %zu) -> %s: %s", label, tt.local_size,
                          tt.slide_block, lrncl_status_string(stt), lrncl_last_error());
                struct tu_device_result r;
                st = tu_run_view(p, &d, k.x, k.dy, &r, &what);
                cr_assert(st == LRNCL_SUCCESS, "%s: %s -> %s: %s", label, what, lrncl_status_string(st),
                          lrncl_last_error());
                expect_same(label, &base, &r, k.count);
                cr_expect(r.inputs_intact && r.padding_intact, "%s: inputs or padding changed", label);
                tu_device_result_free(&r);
            }
        tu_device_result_free(&base);
        lrncl_plan_release(p);
        tu_case_free(&k);
    }
}

/* A block's window reads its neighbours' x; in place, they may have been overwritten, so the
 * library runs whole columns for in-place forward whatever the tuning. */
Test(tuning, in_place_forward_ignores_the_block)
{
    uint64_t seed = tu_seed(UINT64_C(0x1b1ace));
    struct tu_rng g;
    tu_rng_init(&g, seed);
    lrncl_desc d = tu_desc(LRNCL_CONVENTION_CAFFE, AC, 5, 0.9f, 0.75f, 1.0f, 2, 40, 3, 16);
    size_t count = lrncl_desc_elements(&d);
    float *x = tu_floats(count), *dy = tu_floats(count), *y = tu_floats(count), *ref = tu_floats(count);
    tu_random_inputs(&g, &d, x, dy, count, 2.0);
    lrncl_plan *p = tu_plan(tu.ctx, &d);
    skip_on_fpga_kernels(p);
    cl_mem a = tu_buffer_from(x, count), b = tu_buffer(count);
    tu_poison(b, count);
    cr_assert(lrncl_forward(p, tu.q, a, b, NULL, 0, NULL, NULL) == LRNCL_SUCCESS, "%s", lrncl_last_error());
    tu_read(b, ref, count);
    lrncl_tuning t = {16, 2};
    cr_assert(lrncl_plan_set_tuning(p, LRNCL_KERNEL_FORWARD, &t) == LRNCL_SUCCESS, "%s", lrncl_last_error());
    cr_assert(lrncl_forward(p, tu.q, a, a, NULL, 0, NULL, NULL) == LRNCL_SUCCESS, "%s", lrncl_last_error());
    tu_read(a, y, count);
    size_t at = tu_first_difference(y, ref, count);
    cr_expect(at == count, "seed=0x%" PRIx64 ": in-place y with block 2 differs at [%zu]: %.9g vs %.9g", seed, at,
              at < count ? (double)y[at] : 0.0, at < count ? (double)ref[at] : 0.0);
    tu_release(&a);
    tu_release(&b);
    lrncl_plan_release(p);
    free(ref);
    free(y);
    free(dy);
    free(x);
}

Test(tuning, bad_tunings_are_refused_and_change_nothing)
{
    lrncl_desc d = tu_desc(LRNCL_CONVENTION_CAFFE, AC, 5, 1.0f, 0.75f, 1.0f, 1, 8, 4, 4);
    lrncl_plan *p = tu_plan(tu.ctx, &d);
    lrncl_tuning before, after, t = {0, 4};
    cr_assert(lrncl_plan_get_tuning(p, LRNCL_KERNEL_FORWARD, &before) == LRNCL_SUCCESS);
    cr_expect(before.local_size >= 1 && before.slide_block >= 1, "own tuning: local %zu, block %zu",
              before.local_size, before.slide_block);

    cr_expect(lrncl_plan_set_tuning(p, LRNCL_KERNEL_FORWARD, &t) == LRNCL_ERROR_UNSUPPORTED, "local 0 accepted");
    cr_expect(strstr(lrncl_last_error(), "local_size 0") != NULL, "message: %s", lrncl_last_error());
    t = (lrncl_tuning){(size_t)1 << 40, 4};
    cr_expect(lrncl_plan_set_tuning(p, LRNCL_KERNEL_FORWARD, &t) == LRNCL_ERROR_UNSUPPORTED, "local 2^40 accepted");
    cr_expect(strstr(lrncl_last_error(), plan_is(p, "fpga") ? "single work-item" : "the most this kernel can launch") !=
                  NULL, "message: %s", lrncl_last_error());
    t = (lrncl_tuning){4, 0};
    cr_expect(lrncl_plan_set_tuning(p, LRNCL_KERNEL_BACKWARD, &t) == LRNCL_ERROR_UNSUPPORTED, "block 0 accepted");
    t = (lrncl_tuning){4, 4};
    cr_expect(lrncl_plan_set_tuning(p, (lrncl_kernel_kind)3, &t) == LRNCL_ERROR_UNSUPPORTED, "kernel 3 accepted");
    cr_expect(lrncl_plan_get_tuning(p, (lrncl_kernel_kind)3, &after) == LRNCL_ERROR_UNSUPPORTED, "kernel 3 read");
    cr_expect(lrncl_plan_set_tuning(NULL, LRNCL_KERNEL_FORWARD, &t) == LRNCL_ERROR_NULL_ARGUMENT);
    cr_expect(lrncl_plan_set_tuning(p, LRNCL_KERNEL_FORWARD, NULL) == LRNCL_ERROR_NULL_ARGUMENT);
    cr_expect(lrncl_plan_get_tuning(p, LRNCL_KERNEL_FORWARD, NULL) == LRNCL_ERROR_NULL_ARGUMENT);
    cr_expect(lrncl_plan_get_tuning(NULL, LRNCL_KERNEL_FORWARD, &after) == LRNCL_ERROR_NULL_ARGUMENT);

    cr_assert(lrncl_plan_get_tuning(p, LRNCL_KERNEL_FORWARD, &after) == LRNCL_SUCCESS);
    cr_expect(after.local_size == before.local_size && after.slide_block == before.slide_block,
              "a refused tuning changed the plan");
    cr_expect(lrncl_plan_tuning_source(p, LRNCL_KERNEL_FORWARD) != LRNCL_TUNING_USER, "source became USER");
    lrncl_plan_release(p);
}

/* "PLATFORM / DEVICE", as `lrncl devices` prints them. */
static void platform_slash_device(char *out, size_t size)
{
    char name[256] = "", platform[256] = "";
    cl_platform_id plat = NULL;
    cr_assert(clGetDeviceInfo(tu.dev, CL_DEVICE_NAME, sizeof name - 1, name, NULL) == CL_SUCCESS);
    cr_assert(clGetDeviceInfo(tu.dev, CL_DEVICE_PLATFORM, sizeof plat, &plat, NULL) == CL_SUCCESS);
    cr_assert(clGetPlatformInfo(plat, CL_PLATFORM_NAME, sizeof platform - 1, platform, NULL) == CL_SUCCESS);
    snprintf(out, size, "%s / %s", platform, name);
}

Test(tuning, key_names_the_device_and_the_problem)
{
    lrncl_desc d = tu_desc(LRNCL_CONVENTION_PYTORCH, AC, 4, 1.0f, 0.75f, 1.0f, 2, 37, 3, 11);
    d.dtype = F16;
    lrncl_plan *p = tu_plan(tu.ctx, &d);
    char name[600] = "", key[1024], small[8];
    platform_slash_device(name, sizeof name);
    size_t need = lrncl_plan_tuning_key(p, LRNCL_KERNEL_BACKWARD, key, sizeof key);
    cr_assert(need > 0 && need <= sizeof key, "key length %zu", need);
    cr_expect(strlen(key) + 1 == need, "returned %zu for a key of %zu characters", need, strlen(key));
    cr_expect(strncmp(key, name, strlen(name)) == 0 && key[strlen(name)] == '\t',
              "key '%s' does not start with '%s'", key, name);
    cr_expect(strstr(key, "\tacross\tbwd\tf16\tnchw\t2x37x3x11\t2:1") != NULL, "key '%s'", key);
    cr_expect(lrncl_plan_tuning_key(p, LRNCL_KERNEL_BACKWARD, small, sizeof small) == need);
    cr_expect(strlen(small) == sizeof small - 1, "truncated key not terminated");
    cr_expect(lrncl_plan_tuning_key(NULL, LRNCL_KERNEL_FORWARD, key, sizeof key) == 0);
    cr_expect(lrncl_plan_tuning_key(p, (lrncl_kernel_kind)3, key, sizeof key) == 0, "kind 3 has a key");
    lrncl_plan_release(p);
}

/* Writes text to a fresh temporary file and points LRNCL_TUNING_DB at it. */
static void use_db(char *path, size_t len, const char *text)
{
    snprintf(path, len, "/tmp/lrncl-tuning-XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0, "mkstemp failed");
    size_t n = strlen(text);
    cr_assert(write(fd, text, n) == (ssize_t)n);
    close(fd);
    cr_assert(setenv("LRNCL_TUNING_DB", path, 1) == 0);
}

Test(tuning, database_file_entries_are_used_by_key)
{
    lrncl_desc d = tu_desc(LRNCL_CONVENTION_CAFFE, WI, 3, 1.0f, 0.75f, 1.0f, 2, 3, 21, 9);
    lrncl_plan *p = tu_plan(tu.ctx, &d);
    skip_on_fpga_kernels(p); /* they read no database */
    char kf[512], kb[512], other[512], text[4096], path[64];
    lrncl_plan_tuning_key(p, LRNCL_KERNEL_FORWARD, kf, sizeof kf);
    lrncl_plan_tuning_key(p, LRNCL_KERNEL_BACKWARD, kb, sizeof kb);
    lrncl_tuning own;
    cr_assert(lrncl_plan_get_tuning(p, LRNCL_KERNEL_BACKWARD, &own) == LRNCL_SUCCESS);
    lrncl_plan_release(p);
    /* Another shape's key must not match: 21 rows become 22. */
    lrncl_desc d2 = d;
    d2.h = 22;
    p = tu_plan(tu.ctx, &d2);
    lrncl_plan_tuning_key(p, LRNCL_KERNEL_FORWARD, other, sizeof other);
    lrncl_plan_release(p);

    /* Forward: an earlier entry, then the one that wins. Backward: only entries to ignore (a
     * work-group no device launches, a malformed one, a comment). */
    snprintf(text, sizeof text,
             "# a comment line\n%s\t32\t9\n%s\t4\t5\n%s\t8\t2\n%s\t%zu\t3\n%s\t8\tx\n#%s\t4\t4\n", kf, other, kf, kb,
             (size_t)1 << 40, kb, kb);
    use_db(path, sizeof path, text);
    p = tu_plan(tu.ctx, &d);
    lrncl_tuning t;
    cr_assert(lrncl_plan_get_tuning(p, LRNCL_KERNEL_FORWARD, &t) == LRNCL_SUCCESS);
    cr_expect(t.local_size == 8 && t.slide_block == 2, "forward from the file: local %zu, block %zu (want 8, 2)",
              t.local_size, t.slide_block);
    cr_expect(lrncl_plan_tuning_source(p, LRNCL_KERNEL_FORWARD) == LRNCL_TUNING_FILE_DB);
    cr_assert(lrncl_plan_get_tuning(p, LRNCL_KERNEL_BACKWARD, &t) == LRNCL_SUCCESS);
    cr_expect(t.local_size == own.local_size && t.slide_block == own.slide_block,
              "backward took a bad entry: local %zu, block %zu", t.local_size, t.slide_block);
    cr_expect(lrncl_plan_tuning_source(p, LRNCL_KERNEL_BACKWARD) != LRNCL_TUNING_FILE_DB);
    lrncl_plan_release(p);

    /* A missing file is no error: the plan keeps its own tuning. */
    unlink(path);
    p = tu_plan(tu.ctx, &d);
    cr_expect(lrncl_plan_tuning_source(p, LRNCL_KERNEL_FORWARD) != LRNCL_TUNING_FILE_DB);
    lrncl_plan_release(p);
    unsetenv("LRNCL_TUNING_DB");
}

/* With a database of text, d's plan takes its forward tuning from the file: local, block. */
static void expect_forward_from_db(const lrncl_desc *d, const char *text, size_t local, size_t block, const char *what)
{
    char path[64];
    use_db(path, sizeof path, text);
    lrncl_plan *p = tu_plan(tu.ctx, d);
    lrncl_tuning t;
    cr_assert(lrncl_plan_get_tuning(p, LRNCL_KERNEL_FORWARD, &t) == LRNCL_SUCCESS);
    cr_expect(t.local_size == local && t.slide_block == block, "%s: local %zu, block %zu (want %zu, %zu)", what,
              t.local_size, t.slide_block, local, block);
    cr_expect(lrncl_plan_tuning_source(p, LRNCL_KERNEL_FORWARD) == LRNCL_TUNING_FILE_DB, "%s: not from the file", what);
    lrncl_plan_release(p);
    unlink(path);
    unsetenv("LRNCL_TUNING_DB");
}

/* Entries keyed by the device name alone (lrncl 0.2.0's databases) still apply; one keyed by
 * platform and device wins over them, before or after. */
Test(tuning, entries_keyed_by_the_device_alone_still_apply)
{
    lrncl_desc d = tu_desc(LRNCL_CONVENTION_CAFFE, WI, 3, 1.0f, 0.75f, 1.0f, 2, 3, 21, 9);
    lrncl_plan *p = tu_plan(tu.ctx, &d);
    skip_on_fpga_kernels(p); /* they read no database */
    char key[1024], text[4096];
    lrncl_plan_tuning_key(p, LRNCL_KERNEL_FORWARD, key, sizeof key);
    lrncl_plan_release(p);
    const char *legacy = strstr(key, " / ");
    cr_assert(legacy != NULL, "key '%s' has no ' / '", key);
    legacy += 3; /* the device name onwards */

    snprintf(text, sizeof text, "%s\t8\t2\n", legacy);
    expect_forward_from_db(&d, text, 8, 2, "an entry keyed by the device alone");
    snprintf(text, sizeof text, "%s\t16\t3\n%s\t8\t2\n", key, legacy);
    expect_forward_from_db(&d, text, 16, 3, "the platform's entry before the device-only one");
    snprintf(text, sizeof text, "%s\t8\t2\n%s\t16\t3\n", legacy, key);
    expect_forward_from_db(&d, text, 16, 3, "the platform's entry after the device-only one");
}

/* The CPU across backward walks whole columns where the kernels prefetch (PoCL) and blocks of 24
 * channels elsewhere (Intel's CPU runtime) or when built without target builtins
 * (LRNCL_PORTABLE_KERNELS=1): host/tuning.c measured both. */
Test(tuning, cpu_backward_blocks_follow_the_kernels_prefetch)
{
    char name[600];
    platform_slash_device(name, sizeof name);
    const bool pocl = strncmp(name, "Portable Computing Language / ", 30) == 0;
    lrncl_desc d = tu_desc(LRNCL_CONVENTION_CAFFE, AC, 5, 1.0f, 0.75f, 1.0f, 1, 96, 4, 4);
    cr_assert(setenv("LRNCL_DEVICE_CLASS", "cpu", 1) == 0);
    unsetenv("LRNCL_TUNING_DB");
    for (int portable = 0; portable < 2; portable++) {
        if (portable)
            cr_assert(setenv("LRNCL_PORTABLE_KERNELS", "1", 1) == 0);
        else
            unsetenv("LRNCL_PORTABLE_KERNELS");
        lrncl_plan *p = tu_plan(tu.ctx, &d);
        lrncl_tuning t;
        cr_assert(lrncl_plan_get_tuning(p, LRNCL_KERNEL_BACKWARD, &t) == LRNCL_SUCCESS);
        cr_expect(lrncl_plan_tuning_source(p, LRNCL_KERNEL_BACKWARD) == LRNCL_TUNING_HEURISTIC);
        size_t want = pocl && !portable ? 96 : 24;
        cr_expect(t.slide_block == want || (want == 96 && t.slide_block > 96),
                  "%s%s: backward block %zu, want %zu", name, portable ? " (portable kernels)" : "", t.slide_block,
                  want);
        lrncl_plan_release(p);
    }
    unsetenv("LRNCL_PORTABLE_KERNELS");
    unsetenv("LRNCL_DEVICE_CLASS");
}

/* Training runs have their own tuning: setting the forward one sets it too, setting it alone
 * leaves the forward one, and a database gives it its own "fwd-train" entry or else the "fwd"
 * entry. */
Test(tuning, training_has_its_own_tuning)
{
    lrncl_desc d = tu_desc(LRNCL_CONVENTION_CAFFE, AC, 5, 1.0f, 0.75f, 1.0f, 2, 40, 3, 16);
    lrncl_plan *p = tu_plan(tu.ctx, &d);
    skip_on_fpga_kernels(p);
    char kf[512], kt[512], text[2048], path[64];
    lrncl_plan_tuning_key(p, LRNCL_KERNEL_FORWARD, kf, sizeof kf);
    lrncl_plan_tuning_key(p, LRNCL_KERNEL_FORWARD_TRAINING, kt, sizeof kt);
    cr_expect(strstr(kt, "\tacross\tfwd-train\tf32\tnchw\t2x40x3x16\t2:2") != NULL, "key '%s'", kt);
    lrncl_tuning a = {8, 3}, b = {4, 7}, got;
    cr_assert(lrncl_plan_set_tuning(p, LRNCL_KERNEL_FORWARD, &a) == LRNCL_SUCCESS, "%s", lrncl_last_error());
    cr_assert(lrncl_plan_get_tuning(p, LRNCL_KERNEL_FORWARD_TRAINING, &got) == LRNCL_SUCCESS);
    cr_expect(got.local_size == 8 && got.slide_block == 3, "forward did not set training: %zu, %zu", got.local_size,
              got.slide_block);
    cr_expect(lrncl_plan_tuning_source(p, LRNCL_KERNEL_FORWARD_TRAINING) == LRNCL_TUNING_USER);
    cr_assert(lrncl_plan_set_tuning(p, LRNCL_KERNEL_FORWARD_TRAINING, &b) == LRNCL_SUCCESS, "%s", lrncl_last_error());
    cr_assert(lrncl_plan_get_tuning(p, LRNCL_KERNEL_FORWARD, &got) == LRNCL_SUCCESS);
    cr_expect(got.local_size == 8 && got.slide_block == 3, "training changed forward: %zu, %zu", got.local_size,
              got.slide_block);
    cr_assert(lrncl_plan_get_tuning(p, LRNCL_KERNEL_FORWARD_TRAINING, &got) == LRNCL_SUCCESS);
    cr_expect(got.local_size == 4 && got.slide_block == 7, "training: %zu, %zu", got.local_size, got.slide_block);
    lrncl_plan_release(p);

    /* Only a forward entry: training takes it. */
    snprintf(text, sizeof text, "%s\t8\t5\n", kf);
    use_db(path, sizeof path, text);
    p = tu_plan(tu.ctx, &d);
    cr_assert(lrncl_plan_get_tuning(p, LRNCL_KERNEL_FORWARD_TRAINING, &got) == LRNCL_SUCCESS);
    cr_expect(got.local_size == 8 && got.slide_block == 5, "training from the fwd entry: %zu, %zu (want 8, 5)",
              got.local_size, got.slide_block);
    cr_expect(lrncl_plan_tuning_source(p, LRNCL_KERNEL_FORWARD_TRAINING) == LRNCL_TUNING_FILE_DB);
    lrncl_plan_release(p);
    unlink(path);

    /* Its own entry wins, before or after the forward one. */
    snprintf(text, sizeof text, "%s\t16\t2\n%s\t8\t5\n", kt, kf);
    use_db(path, sizeof path, text);
    p = tu_plan(tu.ctx, &d);
    cr_assert(lrncl_plan_get_tuning(p, LRNCL_KERNEL_FORWARD_TRAINING, &got) == LRNCL_SUCCESS);
    cr_expect(got.local_size == 16 && got.slide_block == 2, "training's own entry: %zu, %zu (want 16, 2)",
              got.local_size, got.slide_block);
    cr_assert(lrncl_plan_get_tuning(p, LRNCL_KERNEL_FORWARD, &got) == LRNCL_SUCCESS);
    cr_expect(got.local_size == 8 && got.slide_block == 5, "forward: %zu, %zu (want 8, 5)", got.local_size,
              got.slide_block);
    lrncl_plan_release(p);
    unlink(path);
    unsetenv("LRNCL_TUNING_DB");
}

/* d through the cpu, gpu and fpga kernel choices (LRNCL_DEVICE_CLASS) on the same random
 * inputs: every output bit for bit the same. */
static void classes_agree(const lrncl_desc *d)
{
    size_t count = lrncl_desc_elements(d);
    float *x = tu_floats(count), *dy = tu_floats(count);
    struct tu_rng g;
    tu_rng_init(&g, tu_seed(UINT64_C(0xc1a55)));
    tu_random_inputs(&g, d, x, dy, count, 2.0);
    struct tu_device_result r[3];
    const char *classes[3] = {"cpu", "gpu", "fpga"}, *what = "";
    for (int i = 0; i < 3; i++) {
        cr_assert(setenv("LRNCL_DEVICE_CLASS", classes[i], 1) == 0);
        lrncl_plan *p = tu_plan(tu.ctx, d);
        lrncl_status st = tu_run_view(p, d, x, dy, &r[i], &what);
        cr_assert(st == LRNCL_SUCCESS, "class %s: %s -> %s: %s", classes[i], what, lrncl_status_string(st),
                  lrncl_last_error());
        lrncl_plan_release(p);
    }
    expect_same("cpu against gpu kernel paths", &r[0], &r[1], count);
    expect_same("cpu against fpga kernel paths", &r[0], &r[2], count);
    tu_device_result_free(&r[2]);
    tu_device_result_free(&r[1]);
    tu_device_result_free(&r[0]);
    free(dy);
    free(x);
}

Test(tuning, device_class_override_is_checked)
{
    lrncl_desc d = tu_desc(LRNCL_CONVENTION_CAFFE, AC, 5, 1.0f, 0.75f, 1.0f, 1, 8, 4, 4);
    lrncl_plan *p = NULL;
    cr_assert(setenv("LRNCL_DEVICE_CLASS", "tpu", 1) == 0);
    lrncl_status st = lrncl_plan_create(tu.ctx, &d, &p);
    cr_expect(st == LRNCL_ERROR_INVALID_DEVICE && p == NULL, "LRNCL_DEVICE_CLASS=tpu -> %s", lrncl_status_string(st));
    cr_expect(strstr(lrncl_last_error(), "\"tpu\": expected cpu, gpu or fpga") != NULL, "message: %s",
              lrncl_last_error());
    lrncl_plan_release(p);
    /* The three classes run and agree with each other bit for bit (NCHW: vectors of 8, scalar
     * work-items in blocks, one work-item over the tensor): a closed-form beta, and general betas
     * (exp2/log2) on tensors large enough that PoCL's 8-wide exp2/log2, which round about 1% of
     * results 1-2 ulp away from the scalar ones, would show if the vectors used them. */
    classes_agree(&d);
    lrncl_desc wide = tu_desc(LRNCL_CONVENTION_CAFFE, AC, 5, 0.9f, 0.6f, 1.3f, 2, 64, 33, 35);
    classes_agree(&wide);
    wide = tu_desc(LRNCL_CONVENTION_CAFFE, WI, 3, 0.9f, 1.7f, 1.0f, 2, 16, 33, 35);
    classes_agree(&wide);
    unsetenv("LRNCL_DEVICE_CLASS");
}
