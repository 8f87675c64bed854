/* consumer.c: a tiny program built against an installed lrncl (tests/install_consumer.sh), as an
 * engine would: one forward on the default device, checked against the float64 reference. */
#include <lrncl.h>

/* Built once with CL_TARGET_OPENCL_VERSION=300 (an engine on OpenCL 3.0): lrncl's header and
 * package must leave the engine's choice alone. */
#if defined(LRNCL_CONSUMER_EXPECT_CL) && CL_TARGET_OPENCL_VERSION != LRNCL_CONSUMER_EXPECT_CL
#error "lrncl changed the includer's CL_TARGET_OPENCL_VERSION"
#endif

#include <math.h> /* NAN only */
#include <stdio.h>

#define N_ELEMS (1 * 8 * 3 * 3)

int main(void) {
    lrncl_desc d;
    lrncl_desc_init(&d, LRNCL_ACROSS_CHANNELS);
    d.n = 1, d.c = 8, d.h = 3, d.w = 3;
    float x[N_ELEMS], y[N_ELEMS];
    double xd[N_ELEMS], ref[N_ELEMS];
    for (int i = 0; i < N_ELEMS; ++i) {
        x[i] = (float)((i * 37 % 23) - 11) * 0.25f;
        xd[i] = x[i];
        y[i] = NAN;
    }
    lrncl_context *ctx = NULL;
    lrncl_plan *plan = NULL;
    cl_command_queue q = NULL;
    cl_mem bx = NULL, by = NULL;
    int rc = 1;
    cl_int err = CL_SUCCESS;
    lrncl_status st = lrncl_context_create_default(&ctx);
    if (st == LRNCL_SUCCESS)
        st = lrncl_plan_create(ctx, &d, &plan);
    if (st != LRNCL_SUCCESS) {
        fprintf(stderr, "consumer: %s: %s\n", lrncl_status_string(st), lrncl_last_error());
        goto out;
    }
    cl_context cl = lrncl_context_cl(ctx);
#if CL_TARGET_OPENCL_VERSION >= 200 /* clCreateCommandQueue is deprecated there */
    q = clCreateCommandQueueWithProperties(cl, lrncl_context_device(ctx), NULL, &err);
#else
    q = clCreateCommandQueue(cl, lrncl_context_device(ctx), 0, &err);
#endif
    if (err == CL_SUCCESS)
        bx = clCreateBuffer(cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof x, x, &err);
    if (err == CL_SUCCESS)
        by = clCreateBuffer(cl, CL_MEM_WRITE_ONLY | CL_MEM_COPY_HOST_PTR, sizeof y, y, &err);
    if (err != CL_SUCCESS) {
        fprintf(stderr, "consumer: OpenCL error %d\n", (int)err);
        goto out;
    }
    st = lrncl_forward(plan, q, bx, by, NULL, 0, NULL, NULL);
    if (st == LRNCL_SUCCESS)
        st = lrncl_reference_forward(&d, xd, ref, NULL);
    if (st != LRNCL_SUCCESS) {
        fprintf(stderr, "consumer: %s: %s\n", lrncl_status_string(st), lrncl_last_error());
        goto out;
    }
    err = clEnqueueReadBuffer(q, by, CL_TRUE, 0, sizeof y, y, 0, NULL, NULL);
    if (err != CL_SUCCESS) {
        fprintf(stderr, "consumer: clEnqueueReadBuffer: %d\n", (int)err);
        goto out;
    }
    /* No libm calls here: the static build must link only through what lrncl's package says. */
    double worst = 0.0;
    for (int i = 0; i < N_ELEMS; ++i) {
        double e = y[i] > ref[i] ? y[i] - ref[i] : ref[i] - y[i];
        if (e != e) /* NaN fails */
            e = 1e300;
        worst = e > worst ? e : worst;
    }
    if (!(worst <= 1e-5)) {
        fprintf(stderr, "consumer: forward differs from the reference by %g\n", worst);
        goto out;
    }
    printf("consumer: lrncl %s, forward matches the reference (max error %.2g)\n", lrncl_version_string(), worst);
    rc = 0;
out:
    if (bx)
        clReleaseMemObject(bx);
    if (by)
        clReleaseMemObject(by);
    if (q)
        clReleaseCommandQueue(q);
    lrncl_plan_release(plan);
    lrncl_context_release(ctx);
    return rc;
}
