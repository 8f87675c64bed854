/* test_portability.c: what keeps lrncl's results and builds the same on every OpenCL
 * implementation (docs/portability.md). The FPGA vendor's attributes follow the platform's name
 * and vendor; every program is built with correctly rounded division and square root; and the
 * beta 0.5, 0.75 and 1 paths give exactly the correctly rounded float32 operations, on each
 * class of kernels, so no implementation's rsqrt or reciprocal can make two of them differ. */
#include "testutil.h"

#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* host/context.c (internal): 0 none, 1 Intel's FPGA platforms, 2 Xilinx's. */
int lrncl__fpga_platform_of(const char *name, const char *vendor);
int lrncl__fpga_platform(cl_device_id dev);
/* host/context.c (internal): 1 PoCL, 0 any other implementation. */
int lrncl__implementation_of(const char *platform_name);

TestSuite(portability, .init = tu_setup, .fini = tu_teardown, .timeout = 300);

Test(portability, fpga_platform_from_name_and_vendor)
{
    static const struct {
        const char *name, *vendor;
        int want;
    } cases[] = {
        {"Intel(R) FPGA SDK for OpenCL(TM)", "Intel(R) Corporation", 1},
        {"Intel(R) FPGA Emulation Platform for OpenCL(TM)", "Intel(R) Corporation", 1},
        {"Altera SDK for OpenCL", "Altera Corporation", 1},
        {"Xilinx", "Xilinx, Inc.", 2},
        {"Xilinx", "", 2},
        {"Intel(R) OpenCL", "Intel(R) Corporation", 0},          /* Intel's CPU runtime */
        {"Intel(R) OpenCL Graphics", "Intel(R) Corporation", 0}, /* Intel's GPUs */
        {"Portable Computing Language", "The pocl project", 0},
        {"NVIDIA CUDA", "NVIDIA Corporation", 0},
        {"Oclgrind", "University of Bristol", 0},
        {"", "", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect(lrncl__fpga_platform_of(cases[i].name, cases[i].vendor) == cases[i].want,
                  "platform \"%s\" / \"%s\": %d, want %d", cases[i].name, cases[i].vendor,
                  lrncl__fpga_platform_of(cases[i].name, cases[i].vendor), cases[i].want);
}

/* PoCL is the one implementation whose CPU kernels prefetch (the tuning heuristic's whole-column
 * backward walks rely on it, host/tuning.c); every other name is another implementation. */
Test(portability, implementation_from_platform_name)
{
    static const struct {
        const char *name;
        int want;
    } cases[] = {
        {"Portable Computing Language", 1}, {"portable computing language", 1}, {"Intel(R) OpenCL", 0},
        {"Intel(R) FPGA Emulation Platform for OpenCL(TM)", 0}, {"NVIDIA CUDA", 0}, {"Oclgrind", 0}, {"", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect(lrncl__implementation_of(cases[i].name) == cases[i].want, "platform \"%s\": %d, want %d",
                  cases[i].name, lrncl__implementation_of(cases[i].name), cases[i].want);
}

/* The build options of d's first program under each class of kernels. */
static void options_of(const char *cls, const lrncl_desc *d, char *out, size_t size)
{
    cr_assert(setenv("LRNCL_DEVICE_CLASS", cls, 1) == 0);
    lrncl_plan *p = tu_plan(tu.ctx, d);
    lrncl_program_info info;
    cr_assert(lrncl_plan_program_info(p, 0, &info) == LRNCL_SUCCESS, "%s", lrncl_last_error());
    snprintf(out, size, "%s", info.options);
    lrncl_plan_release(p);
}

Test(portability, build_options_on_this_platform)
{
    const int fpga = lrncl__fpga_platform(tu.dev);
    static const char *const classes[] = {"cpu", "gpu", "fpga"};
    for (int mode = 0; mode < 2; mode++) {
        lrncl_desc d = tu_desc(LRNCL_CONVENTION_CAFFE, mode ? LRNCL_WITHIN_CHANNEL : LRNCL_ACROSS_CHANNELS, 5, 1e-4f,
                               0.75f, 1.0f, 1, 6, 5, 7);
        for (int i = 0; i < 3; i++) {
            char opts[1024];
            options_of(classes[i], &d, opts, sizeof opts);
            cr_expect(strstr(opts, "-cl-fp32-correctly-rounded-divide-sqrt") != NULL, "%s: %s", classes[i], opts);
            const int is_fpga = i == 2;
            cr_expect((strstr(opts, "-DLRN_FPGA_INTEL=1") != NULL) == (is_fpga && fpga == 1),
                      "%s kernels, platform kind %d: %s", classes[i], fpga, opts);
            cr_expect((strstr(opts, "-DLRN_FPGA_XILINX=1") != NULL) == (is_fpga && fpga == 2),
                      "%s kernels, platform kind %d: %s", classes[i], fpga, opts);
        }
    }
    unsetenv("LRNCL_DEVICE_CLASS");
}

/* s^-beta as the kernels must compute it: correctly rounded float32 operations. */
static float pow_neg_beta(float s, float beta)
{
    volatile float r = 1.0f / sqrtf(s); /* volatile: one rounding per operation, as on the device */
    if (beta == 0.5f)
        return r;
    if (beta == 0.75f)
        return r * sqrtf(r);
    return 1.0f / s;
}

/* Forward with the scale on each class of kernels: y is exactly x * s^-beta with the device's
 * own scale s, for beta 0.5, 0.75 and 1, in both modes and across vector groups and tails. */
Test(portability, beta_paths_correctly_rounded)
{
    static const char *const classes[] = {"cpu", "gpu", "fpga"};
    static const float betas[] = {0.5f, 0.75f, 1.0f};
    for (int mode = 0; mode < 2; mode++)
        for (int b = 0; b < 3; b++) {
            lrncl_desc d = tu_desc(LRNCL_CONVENTION_CAFFE, mode ? LRNCL_WITHIN_CHANNEL : LRNCL_ACROSS_CHANNELS, 5,
                                   2.0f, betas[b], 1.0f, 2, 9, 13, 19);
            const size_t count = lrncl_desc_elements(&d);
            float *x = tu_floats(count), *dy = tu_floats(count);
            struct tu_rng g;
            tu_rng_init(&g, tu_seed(0x9047u + (unsigned)(mode * 3 + b)));
            tu_random_inputs(&g, &d, x, dy, count, 3.0);
            for (int i = 0; i < 3; i++) {
                cr_assert(setenv("LRNCL_DEVICE_CLASS", classes[i], 1) == 0);
                lrncl_plan *p = tu_plan(tu.ctx, &d);
                struct tu_device_result r;
                const char *what = "";
                lrncl_status st = tu_run_plan(p, count, x, NULL, &r, &what);
                cr_assert(st == LRNCL_SUCCESS, "%s: %s -> %s", classes[i], what, lrncl_last_error());
                size_t bad = 0, first = count;
                for (size_t e = 0; e < count; e++) {
                    float want = x[e] * pow_neg_beta(r.scale[e], betas[b]);
                    if (memcmp(&want, &r.y[e], sizeof want) != 0 && bad++ == 0)
                        first = e;
                }
                cr_expect(bad == 0, "%s kernels, %s, beta %g: %zu of %zu y differ from x * s^-beta rounded "
                          "correctly; first [%zu]: %.9g, want %.9g (s %.9g, x %.9g)", classes[i],
                          mode ? "within" : "across", (double)betas[b], bad, count, first,
                          first < count ? (double)r.y[first] : 0.0,
                          first < count ? (double)(x[first] * pow_neg_beta(r.scale[first], betas[b])) : 0.0,
                          first < count ? (double)r.scale[first] : 0.0, first < count ? (double)x[first] : 0.0);
                tu_device_result_free(&r);
                lrncl_plan_release(p);
            }
            free(x);
            free(dy);
        }
    unsetenv("LRNCL_DEVICE_CLASS");
}
