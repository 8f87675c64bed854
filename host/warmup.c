/* warmup.c: one launch of each kernel of a program before its binary is read. PoCL compiles a
 * work-group function per local size at a kernel's first launch and keeps it in the program's
 * binary, but only until the binary is first read; a binary read straight after the build
 * holds none, and every process that loads it compiles them again (0.5-1.2 s each). The disk
 * cache writer (cache_writer.c) and lrncl_bundle_add launch first, on scratch buffers and a
 * queue of their own. Calls only OpenCL. */
#include "internal.h"

#include <string.h>

/* Bytes of each scratch buffer: a 1x1x1x1 problem touches element 0, and vector paths may
 * touch a vector's worth past it (masked), so a little room. */
enum { SCRATCH_BYTES = 1024, SCRATCH_BUFFERS = 5 };

/* The kernels' arguments, as run.c sets them: the buffers (forward x, y, scale; backward x, y,
 * dy, scale, dx), C, H, W, sqrt(a), k, beta, (backward: 2ab,) the strides, the offsets, then
 * the slide block (FPGA kernels: N, a cl_ulong). */
static cl_int set_args(cl_kernel k, const lrncl_warm *w, const cl_mem *bufs) {
    const cl_uint nbuf = w->backward ? 5 : 3;
    const cl_uint one = 1;
    const cl_float sqrt_a = 0.01f, kk = 1.0f, beta = 0.75f, two_ab = 1e-4f;
    cl_ulong4 strides;
    cl_ulong8 offsets;
    memset(&strides, 0, sizeof strides);
    memset(&offsets, 0, sizeof offsets);
    for (int i = 0; i < 4; ++i)
        strides.s[i] = 1;
    cl_int err = CL_SUCCESS;
    cl_uint at = 0;
    for (; at < nbuf && err == CL_SUCCESS; ++at)
        err = clSetKernelArg(k, at, sizeof(cl_mem), &bufs[at]);
    for (int i = 0; i < 3 && err == CL_SUCCESS; ++i, ++at)
        err = clSetKernelArg(k, at, sizeof one, &one);
    const cl_float floats[4] = {sqrt_a, kk, beta, two_ab};
    for (int i = 0; i < (w->backward ? 4 : 3) && err == CL_SUCCESS; ++i, ++at)
        err = clSetKernelArg(k, at, sizeof(cl_float), &floats[i]);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(k, at++, sizeof strides, &strides);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(k, at++, sizeof offsets, &offsets);
    if (err == CL_SUCCESS) {
        cl_ulong n = 1;
        err = w->fpga ? clSetKernelArg(k, at, sizeof n, &n) : clSetKernelArg(k, at, sizeof one, &one);
    }
    return err;
}

lrncl_status lrncl__warm_program(cl_context ctx, cl_device_id dev, cl_program prog, const lrncl_warm *w, size_t n) {
    lrncl_status st = LRNCL_SUCCESS;
    cl_mem bufs[SCRATCH_BUFFERS] = {NULL};
    cl_kernel k = NULL;
    cl_int err;
    cl_command_queue q = clCreateCommandQueue(ctx, dev, 0, &err);
    LRNCL_CL_CHECK(err, st, out);
    for (int i = 0; i < SCRATCH_BUFFERS; ++i) {
        bufs[i] = clCreateBuffer(ctx, CL_MEM_READ_WRITE, SCRATCH_BYTES, NULL, &err);
        LRNCL_CL_CHECK(err, st, out);
        const cl_float zero = 0.0f; /* defined inputs: nothing below reads garbage */
        LRNCL_CL_CHECK(clEnqueueFillBuffer(q, bufs[i], &zero, sizeof zero, 0, SCRATCH_BYTES, 0, NULL, NULL), st, out);
    }
    for (size_t i = 0; i < n; ++i) {
        k = clCreateKernel(prog, w[i].kernel, &err);
        LRNCL_CL_CHECK(err, st, out);
        LRNCL_CL_CHECK(set_args(k, &w[i], bufs), st, out);
        /* the plan's widest dimension along dimension 0, which every kernel guards against the
         * problem's extent (the 1x1x1x1 problem: only the first work-item reads and writes);
         * dimension 1, which the kernels do not guard, one work-item wide */
        const size_t global[2] = {w[i].global0, 1};
        LRNCL_CL_CHECK(clEnqueueNDRangeKernel(q, k, w[i].work_dim, NULL, global, w[i].local, 0, NULL, NULL),
                       st, out);
        LRNCL_CL_CHECK(clFinish(q), st, out);
        clReleaseKernel(k);
        k = NULL;
    }
out:
    if (k)
        clReleaseKernel(k);
    if (q)
        clFinish(q);
    for (int i = 0; i < SCRATCH_BUFFERS; ++i)
        if (bufs[i])
            clReleaseMemObject(bufs[i]);
    if (q)
        clReleaseCommandQueue(q);
    return st;
}
