/* test_large.c: a tensor over 2^31 bytes (2.25 GiB of float32), so that every index past 2^31
 * bytes is exercised: forward across channels (columns whose last channels lie past 2^31 bytes)
 * and within channel (a plane wholly past 2^31 bytes, and the first plane), checked against the
 * float64 reference on sampled columns and planes. It needs about 9 GiB of host memory (PoCL's
 * buffers live there too), so it runs only with LRNCL_TEST_LARGE=1; otherwise it skips and says
 * why. PoCL refuses single buffers over 4 GiB (-61), so 2.25 GiB is what fits one buffer there. */
#include "testutil.h"

#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LC 36
#define LH 4096
#define LW 4096

static int wanted(void)
{
    const char *v = getenv("LRNCL_TEST_LARGE");
    return v && strcmp(v, "1") == 0;
}

static float value_at(size_t i)
{
    uint64_t h = (uint64_t)i * 0x9E3779B97F4A7C15ull;
    return (float)((h >> 40) & 0xffff) / 65536.0f * 4.0f - 2.0f;
}

TestSuite(large, .timeout = 1800);

Test(large, over_2_gib)
{
    if (!wanted()) {
        fprintf(stderr, "large: skipped: LRNCL_TEST_LARGE is not 1 (the test needs about 9 GiB of memory)\n");
        cr_skip_test("LRNCL_TEST_LARGE is not 1: this test needs about 9 GiB of memory (set "
                     "LRNCL_TEST_LARGE=1 to run it)");
        return;
    }
    tu_setup();
    const size_t count = (size_t)LC * LH * LW, bytes = count * sizeof(float);
    cr_assert(bytes > ((size_t)1 << 31), "the tensor is %zu bytes, not over 2^31", bytes);
    cl_int err;
    cl_mem bx = clCreateBuffer(tu.cl, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err == CL_INVALID_BUFFER_SIZE || err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_OUT_OF_RESOURCES ||
        err == CL_OUT_OF_HOST_MEMORY) {
        /* The device cannot hold the tensor in one buffer: nothing of lrncl's can be tested. */
        cl_ulong max_alloc = 0, global = 0;
        clGetDeviceInfo(tu.dev, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof max_alloc, &max_alloc, NULL);
        clGetDeviceInfo(tu.dev, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof global, &global, NULL);
        fprintf(stderr, "large: skipped: the device refuses a %zu-byte buffer (clCreateBuffer -> %d; it reports "
                "%llu bytes of global memory and a %llu-byte maximum allocation)\n", bytes, (int)err,
                (unsigned long long)global, (unsigned long long)max_alloc);
        tu_teardown();
        cr_skip_test("the device refuses a %zu-byte buffer (%d)", bytes, (int)err);
        return;
    }
    cr_assert(err == CL_SUCCESS, "clCreateBuffer(%zu bytes) for x -> %d", bytes, (int)err);
    float *x = tu_floats(count);
    for (size_t i = 0; i < count; i++)
        x[i] = value_at(i);
    cl_mem by = clCreateBuffer(tu.cl, CL_MEM_READ_WRITE, bytes, NULL, &err);
    cr_assert(err == CL_SUCCESS, "clCreateBuffer(%zu bytes) for y -> %d", bytes, (int)err);
    cr_assert(clEnqueueWriteBuffer(tu.q, bx, CL_TRUE, 0, bytes, x, 0, NULL, NULL) == CL_SUCCESS);
    float *y = tu_floats(count);

    const lrncl_mode modes[2] = {LRNCL_ACROSS_CHANNELS, LRNCL_WITHIN_CHANNEL};
    for (int m = 0; m < 2; m++) {
        lrncl_desc d = tu_desc(LRNCL_CONVENTION_CAFFE, modes[m], m ? 3 : 5, 0.5f, 0.75f, 1.0f, 1, LC, LH, LW);
        lrncl_plan *p = tu_plan(tu.ctx, &d);
        for (size_t i = 0; i < count; i++)
            y[i] = NAN;
        cr_assert(clEnqueueWriteBuffer(tu.q, by, CL_TRUE, 0, bytes, y, 0, NULL, NULL) == CL_SUCCESS);
        lrncl_status st = lrncl_forward(p, tu.q, bx, by, NULL, 0, NULL, NULL);
        cr_assert(st == LRNCL_SUCCESS, "mode %d: forward: %s: %s", m, lrncl_status_string(st), lrncl_last_error());
        cr_assert(clEnqueueReadBuffer(tu.q, by, CL_TRUE, 0, bytes, y, 0, NULL, NULL) == CL_SUCCESS);
        lrncl_plan_release(p);

        size_t unwritten = 0;
        for (size_t i = 0; i < count; i++)
            unwritten += isnan(y[i]) != 0;
        cr_expect(unwritten == 0, "mode %d: %zu of %zu elements unwritten", m, unwritten, count);

        if (m == 0) {
            /* Columns: a column of the tensor is a 1 x C x 1 x 1 descriptor of its own. */
            lrncl_desc col = d;
            col.h = col.w = 1;
            double cx[LC], cy[LC];
            float got[LC];
            struct tu_rng g;
            tu_rng_init(&g, tu_seed(2026));
            for (int s = 0; s < 4000; s++) {
                size_t hw = s == 0 ? (size_t)LH * LW - 1 : s == 1 ? 0 : tu_rng_below(&g, (size_t)LH * LW);
                for (int c = 0; c < LC; c++) {
                    cx[c] = x[(size_t)c * LH * LW + hw];
                    got[c] = y[(size_t)c * LH * LW + hw];
                }
                cr_assert(lrncl_reference_forward(&col, cx, cy, NULL) == LRNCL_SUCCESS);
                struct tu_cmp r;
                if (!tu_check_forward("y", &col, got, cy, LC, &r)) {
                    cr_expect(0, "across, column h*w = %zu (channels %d.. past 2^31 bytes): %s", hw,
                              (int)(((size_t)1 << 29) / ((size_t)LH * LW)), r.msg);
                    break;
                }
            }
        } else {
            /* Planes: the first, and the last (wholly past 2^31 bytes). */
            lrncl_desc pl = d;
            pl.c = 1;
            const size_t plane = (size_t)LH * LW;
            double *px = tu_doubles(plane), *py = tu_doubles(plane);
            const size_t which[2] = {0, LC - 1};
            for (int k = 0; k < 2; k++) {
                const size_t base = which[k] * plane;
                for (size_t i = 0; i < plane; i++)
                    px[i] = x[base + i];
                cr_assert(lrncl_reference_forward(&pl, px, py, NULL) == LRNCL_SUCCESS);
                struct tu_cmp r;
                cr_expect(tu_check_forward("y", &pl, y + base, py, plane, &r), "within, plane %zu (bytes from %zu): %s",
                          which[k], base * sizeof(float), r.msg);
            }
            free(py);
            free(px);
        }
    }
    free(y);
    free(x);
    clReleaseMemObject(by);
    clReleaseMemObject(bx);
    tu_teardown();
}
