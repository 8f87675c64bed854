/* alexnet_block.c: lrncl inside an engine's pipeline. AlexNet's first block on one OpenCL queue:
 *
 *   conv1  (3x227x227 -> 96x55x55, 11x11 filters, stride 4): im2col (a kernel of this file),
 *          then one CLBlastSgemm per image, at element offsets into one arena buffer
 *   bias + ReLU, in place (a kernel of this file)
 *   norm1  lrncl_forward (Caffe's across-channel LRN: 5, 1e-4, 0.75, 1), writing the scale too
 *   the backward pass of norm1: lrncl_backward (dy given), reusing that scale
 *
 * then the LRN output and dx are read back and checked against lrncl_reference_forward and
 * lrncl_reference_backward, and a sample of the conv1 outputs against a host convolution.
 *
 * How the stages are ordered. Everything is enqueued on ONE in-order queue, and each stage
 * names the event of the stage before it in its wait list (OpenCL's own calls and lrncl's
 * take one): the upload -> im2col -> [GEMMs] -> bias+ReLU -> lrncl_forward -> lrncl_backward
 * -> the read-back. There is no clFinish between stages; the host waits once, at the end.
 * CLBlast's calls take no wait list (only the queue, by pointer, and an event out). Two things
 * keep them in order:
 *   - before the GEMMs, clEnqueueBarrierWithWaitList(queue, 1, &im2col_done) makes the
 *     dependency explicit: nothing enqueued after the barrier starts before im2col is done,
 *     whatever the queue's kind (on an in-order queue it also holds by enqueue order);
 *   - after them, bias+ReLU waits on every GEMM's event, so the dependency from CLBlast onwards
 *     is as explicit as the others. CLBlast may run several kernels per call (it pads
 *     matrices whose sizes are not multiples of its tiles); the event it returns is its last,
 *     and on an in-order queue that one completes after the others.
 * The memory: activations live in one arena buffer (input, im2col matrix, conv1 output, LRN
 * output, scale, dy, dx), each at its own element offset; lrncl reads and writes them through
 * the descriptor's offset_x, offset_y, offset_scale, offset_dy and offset_dx. CLBlast keeps
 * compiled programs in a process-wide cache keyed by context: CLBlastClearCache() must run
 * before the context is released (CLBlast issues 126 and 292: teardown crashes otherwise).
 *
 * Usage: alexnet_block [BATCH]   (default 8, AlexNet's conv1 and norm1 at batch 8; 1..64)
 * CLBlast builds its GEMM programs on its first call in a process: with PoCL's kernel cache warm
 * that takes well under a second, from a cold cache several seconds (6 s measured on an idle
 * machine, 50 s on a loaded one). Batch 8 runs in about 4 s here with a warm cache, so the CTest
 * test (pipeline_alexnet_block) runs the full batch. Exit status 0 when every check passes. */
#define CL_TARGET_OPENCL_VERSION 120
#include <clblast_c.h>
#include <lrncl.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { IN_C = 3, IN_HW = 227, KS = 11, STRIDE = 4, OUT_C = 96, OUT_HW = 55 };
#define COL_ROWS ((size_t)IN_C * KS * KS)     /* 363: one column per output position */
#define OUT_POS ((size_t)OUT_HW * OUT_HW)     /* 3025 */
#define IN_ELEMS ((size_t)IN_C * IN_HW * IN_HW)

static const char kernels_src[] =
    /* im2col of a batch: col[n][(c*KS + i)*KS + j][oh*OUT_HW + ow] = x[n][c][oh*S + i][ow*S + j]
     * (no padding: 55 = (227 - 11)/4 + 1). One work-item per (position, row, image). */
    "__kernel void im2col(__global const float *buf, ulong x_off, __global float *out, ulong col_off) {\n"
    "    const size_t p = get_global_id(0), r = get_global_id(1), n = get_global_id(2);\n"
    "    if (p >= 3025) return;\n"
    "    const size_t c = r / 121, i = (r / 11) % 11, j = r % 11, oh = p / 55, ow = p % 55;\n"
    "    out[col_off + n * 363 * 3025 + r * 3025 + p] =\n"
    "        buf[x_off + ((n * 3 + c) * 227 + oh * 4 + i) * 227 + ow * 4 + j];\n"
    "}\n"
    /* bias + ReLU in place on NCHW [n][96][3025] */
    "__kernel void bias_relu(__global float *a, ulong off, __global const float *bias) {\n"
    "    const size_t p = get_global_id(0), c = get_global_id(1), n = get_global_id(2);\n"
    "    if (p >= 3025) return;\n"
    "    const size_t at = off + (n * 96 + c) * 3025 + p;\n"
    "    a[at] = fmax(a[at] + bias[c], 0.0f);\n"
    "}\n";

/* Deterministic values: a 32-bit LCG mapped to [-1, 1). */
static float next_value(uint32_t *s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)((double)(*s >> 8) / (double)(1u << 23) - 1.0);
}

static double now_s(void) {
    struct timespec t;
    timespec_get(&t, TIME_UTC); /* C11 */
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#define CL_OK(call)                                                                     \
    do {                                                                                \
        cl_int e_ = (call);                                                             \
        if (e_ != CL_SUCCESS) {                                                         \
            fprintf(stderr, "alexnet_block: %s failed: %d\n", #call, (int)e_);          \
            goto done;                                                                  \
        }                                                                               \
    } while (0)
#define LR_OK(call)                                                                     \
    do {                                                                                \
        lrncl_status s_ = (call);                                                       \
        if (s_ != LRNCL_SUCCESS) {                                                      \
            fprintf(stderr, "alexnet_block: %s failed: %s: %s\n", #call, lrncl_status_string(s_), \
                    lrncl_last_error());                                                \
            goto done;                                                                  \
        }                                                                               \
    } while (0)

/* max|got - ref| / max|ref| over n values; NaN anywhere gives +Inf. */
static double rel_err(const float *got, const double *ref, size_t n) {
    double m = 0, r = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - ref[i]);
        if (!(e == e) || !(ref[i] == ref[i]))
            return INFINITY;
        m = e > m ? e : m;
        r = fabs(ref[i]) > r ? fabs(ref[i]) : r;
    }
    return r > 0 ? m / r : m;
}

int main(int argc, char **argv) {
    size_t batch = 8;
    if (argc > 2 || (argc == 2 && (sscanf(argv[1], "%zu", &batch) != 1 || batch < 1 || batch > 64))) {
        fprintf(stderr, "usage: alexnet_block [BATCH]   (1..64, default 8)\n");
        return 2;
    }
    int rc = 1;
    lrncl_context *lctx = NULL;
    lrncl_plan *plan = NULL;
    cl_command_queue q = NULL;
    cl_program prog = NULL;
    cl_kernel k_im2col = NULL, k_bias = NULL;
    cl_mem arena = NULL, weights = NULL, bias = NULL;
    cl_event ev_up = NULL, ev_im2col = NULL, ev_relu = NULL, ev_fwd = NULL, ev_bwd = NULL;
    cl_event *ev_gemm = calloc(batch, sizeof *ev_gemm);
    float *host = NULL, *w = NULL, *b = NULL, *act = NULL, *y = NULL, *scale = NULL, *dy = NULL, *dx = NULL;
    double *xd = NULL, *yd = NULL, *yref = NULL, *dyd = NULL, *dxref = NULL;
    const size_t act_elems = batch * OUT_C * OUT_POS;

    /* The arena, in floats: every activation at its own offset. */
    const size_t off_x = 0, off_col = off_x + batch * IN_ELEMS, off_act = off_col + batch * COL_ROWS * OUT_POS,
                 off_y = off_act + act_elems, off_scale = off_y + act_elems, off_dy = off_scale + act_elems,
                 off_dx = off_dy + act_elems, arena_elems = off_dx + act_elems;

    if (!ev_gemm)
        goto done;
    /* ---- the device, the queue (in order, the default), lrncl's plan --------------------------- */
    LR_OK(lrncl_context_create_default(&lctx));
    cl_context ctx = lrncl_context_cl(lctx);
    cl_device_id dev = lrncl_context_device(lctx);
    cl_int err;
    q = clCreateCommandQueue(ctx, dev, 0, &err);
    CL_OK(err);
    lrncl_desc d;
    lrncl_desc_init(&d, LRNCL_ACROSS_CHANNELS); /* Caffe's norm1: local_size 5, beta 0.75, k 1 */
    d.alpha = 1e-4f;
    d.n = batch, d.c = OUT_C, d.h = OUT_HW, d.w = OUT_HW;
    d.offset_x = off_act, d.offset_y = off_y, d.offset_scale = off_scale, d.offset_dy = off_dy, d.offset_dx = off_dx;
    LR_OK(lrncl_plan_create(lctx, &d, &plan));

    const char *src = kernels_src;
    prog = clCreateProgramWithSource(ctx, 1, &src, NULL, &err);
    CL_OK(err);
    CL_OK(clBuildProgram(prog, 1, &dev, "-cl-std=CL1.2", NULL, NULL));
    k_im2col = clCreateKernel(prog, "im2col", &err);
    CL_OK(err);
    k_bias = clCreateKernel(prog, "bias_relu", &err);
    CL_OK(err);

    /* ---- inputs: images, conv1 weights (He-scaled), biases, dy ------------------------------ */
    uint32_t seed = 12345u;
    host = malloc(batch * IN_ELEMS * sizeof *host);
    w = malloc(OUT_C * COL_ROWS * sizeof *w);
    b = malloc(OUT_C * sizeof *b);
    dy = malloc(act_elems * sizeof *dy);
    if (!host || !w || !b || !dy)
        goto done;
    for (size_t i = 0; i < batch * IN_ELEMS; i++)
        host[i] = 100.0f * next_value(&seed); /* pixel values of a mean-subtracted image */
    for (size_t i = 0; i < OUT_C * COL_ROWS; i++)
        w[i] = 0.074f * next_value(&seed);   /* ~ sqrt(2/363) spread */
    for (size_t i = 0; i < OUT_C; i++)
        b[i] = 0.5f * next_value(&seed);
    for (size_t i = 0; i < act_elems; i++)
        dy[i] = next_value(&seed);
    arena = clCreateBuffer(ctx, CL_MEM_READ_WRITE, arena_elems * sizeof(float), NULL, &err);
    CL_OK(err);
    weights = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, OUT_C * COL_ROWS * sizeof *w, w, &err);
    CL_OK(err);
    bias = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, OUT_C * sizeof *b, b, &err);
    CL_OK(err);
    printf("alexnet_block: batch %zu, arena %.1f MiB (%zu floats)\n", batch,
           (double)arena_elems * sizeof(float) / (1 << 20), arena_elems);
    const double t0 = now_s();

    /* ---- the pipeline: enqueue only ----------------------------------------------------------- */
    cl_event ev_dy;
    CL_OK(clEnqueueWriteBuffer(q, arena, CL_FALSE, off_x * sizeof(float), batch * IN_ELEMS * sizeof(float), host,
                               0, NULL, &ev_up));
    CL_OK(clEnqueueWriteBuffer(q, arena, CL_FALSE, off_dy * sizeof(float), act_elems * sizeof(float), dy, 0, NULL,
                               &ev_dy));
    cl_event ups[2] = {ev_up, ev_dy};

    cl_ulong ox = off_x, oc = off_col, oa = off_act;
    CL_OK(clSetKernelArg(k_im2col, 0, sizeof arena, &arena));
    CL_OK(clSetKernelArg(k_im2col, 1, sizeof ox, &ox));
    CL_OK(clSetKernelArg(k_im2col, 2, sizeof arena, &arena));
    CL_OK(clSetKernelArg(k_im2col, 3, sizeof oc, &oc));
    size_t g_col[3] = {3072, COL_ROWS, batch}, l_col[3] = {64, 1, 1};
    CL_OK(clEnqueueNDRangeKernel(q, k_im2col, 3, NULL, g_col, l_col, 2, ups, &ev_im2col));
    clReleaseEvent(ev_dy);

    /* CLBlast takes no wait list: a barrier on im2col's event first (see the banner). */
    CL_OK(clEnqueueBarrierWithWaitList(q, 1, &ev_im2col, NULL));
    for (size_t n = 0; n < batch; n++) {
        /* conv1 of image n: act[96 x 3025] = W[96 x 363] * col_n[363 x 3025], row-major */
        CLBlastStatusCode bs = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, OUT_C,
                                            OUT_POS, COL_ROWS, 1.0f, weights, 0, COL_ROWS, arena,
                                            off_col + n * COL_ROWS * OUT_POS, OUT_POS, 0.0f, arena,
                                            off_act + n * OUT_C * OUT_POS, OUT_POS, &q, &ev_gemm[n]);
        if (bs != CLBlastSuccess) {
            fprintf(stderr, "alexnet_block: CLBlastSgemm (image %zu) failed: %d\n", n, (int)bs);
            goto done;
        }
    }

    CL_OK(clSetKernelArg(k_bias, 0, sizeof arena, &arena));
    CL_OK(clSetKernelArg(k_bias, 1, sizeof oa, &oa));
    CL_OK(clSetKernelArg(k_bias, 2, sizeof bias, &bias));
    size_t g_b[3] = {3072, OUT_C, batch}, l_b[3] = {64, 1, 1};
    CL_OK(clEnqueueNDRangeKernel(q, k_bias, 3, NULL, g_b, l_b, (cl_uint)batch, ev_gemm, &ev_relu));

    /* norm1 and its backward: x, y, scale, dy, dx are five views of the arena */
    LR_OK(lrncl_forward(plan, q, arena, arena, arena, 1, &ev_relu, &ev_fwd));
    LR_OK(lrncl_backward(plan, q, arena, arena, arena, arena, arena, 1, &ev_fwd, &ev_bwd));

    /* ---- the one wait: read back after the backward -------------------------------------------- */
    act = malloc(act_elems * sizeof *act);
    y = malloc(act_elems * sizeof *y);
    scale = malloc(act_elems * sizeof *scale);
    dx = malloc(act_elems * sizeof *dx);
    if (!act || !y || !scale || !dx)
        goto done;
    CL_OK(clEnqueueReadBuffer(q, arena, CL_FALSE, off_act * sizeof(float), act_elems * sizeof(float), act, 1, &ev_bwd,
                              NULL));
    CL_OK(clEnqueueReadBuffer(q, arena, CL_FALSE, off_y * sizeof(float), act_elems * sizeof(float), y, 1, &ev_bwd,
                              NULL));
    CL_OK(clEnqueueReadBuffer(q, arena, CL_TRUE, off_dx * sizeof(float), act_elems * sizeof(float), dx, 1, &ev_bwd,
                              NULL));
    const double t1 = now_s();
    printf("alexnet_block: conv1 + bias/ReLU + norm1 forward and backward: %.3f s (includes CLBlast's program "
           "build on its first call)\n", t1 - t0);

    /* ---- checks ------------------------------------------------------------------------------ */
    /* conv1 + bias + ReLU at 997 sampled outputs, against a host convolution in double */
    double conv_err = 0, conv_max = 0;
    for (size_t s = 0; s < 997; s++) {
        size_t at = (s * 2654435761u) % act_elems;
        size_t n = at / (OUT_C * OUT_POS), c = at / OUT_POS % OUT_C, p = at % OUT_POS, oh = p / OUT_HW, ow = p % OUT_HW;
        double v = b[c];
        for (size_t ic = 0; ic < IN_C; ic++)
            for (size_t i = 0; i < KS; i++)
                for (size_t j = 0; j < KS; j++)
                    v += (double)w[c * COL_ROWS + (ic * KS + i) * KS + j] *
                         host[((n * IN_C + ic) * IN_HW + oh * STRIDE + i) * IN_HW + ow * STRIDE + j];
        v = v > 0 ? v : 0;
        double e = fabs(act[at] - v);
        conv_err = e > conv_err || !(e == e) ? e : conv_err;
        conv_max = fabs(v) > conv_max ? fabs(v) : conv_max;
    }
    double conv_rel = conv_max > 0 ? conv_err / conv_max : conv_err;

    xd = malloc(act_elems * sizeof *xd);
    yd = malloc(act_elems * sizeof *yd);
    yref = malloc(act_elems * sizeof *yref);
    dyd = malloc(act_elems * sizeof *dyd);
    dxref = malloc(act_elems * sizeof *dxref);
    if (!xd || !yd || !yref || !dyd || !dxref)
        goto done;
    lrncl_desc rd = d; /* the reference takes contiguous NCHW arrays; offsets do not apply */
    for (size_t i = 0; i < act_elems; i++) {
        xd[i] = act[i];
        yd[i] = y[i];
        dyd[i] = dy[i];
    }
    LR_OK(lrncl_reference_forward(&rd, xd, yref, NULL));
    LR_OK(lrncl_reference_backward(&rd, xd, yd, dyd, dxref));
    double y_rel = rel_err(y, yref, act_elems), dx_rel = rel_err(dx, dxref, act_elems);
    size_t positive = 0;
    for (size_t i = 0; i < act_elems; i++)
        positive += act[i] > 0;
    printf("alexnet_block: conv1+ReLU %.2g (997 samples; %.0f%% of outputs positive), norm1 y %.2g, dx %.2g "
           "(max error / max value; bounds 1e-4, 1e-5, 1e-5)\n",
           conv_rel, 100.0 * (double)positive / (double)act_elems, y_rel, dx_rel);
    if (conv_rel <= 1e-4 && y_rel <= 1e-5 && dx_rel <= 1e-5 && positive > act_elems / 10 && positive < act_elems) {
        printf("alexnet_block: ok\n");
        rc = 0;
    } else {
        fprintf(stderr, "alexnet_block: a check failed\n");
    }

done:
    if (q)
        clFinish(q); /* nothing may still use the buffers below (error paths) */
    for (size_t n = 0; ev_gemm && n < batch; n++)
        if (ev_gemm[n])
            clReleaseEvent(ev_gemm[n]);
    cl_event evs[] = {ev_up, ev_im2col, ev_relu, ev_fwd, ev_bwd};
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
        if (evs[i])
            clReleaseEvent(evs[i]);
    if (arena)
        clReleaseMemObject(arena);
    if (weights)
        clReleaseMemObject(weights);
    if (bias)
        clReleaseMemObject(bias);
    if (k_im2col)
        clReleaseKernel(k_im2col);
    if (k_bias)
        clReleaseKernel(k_bias);
    if (prog)
        clReleaseProgram(prog);
    if (q)
        clReleaseCommandQueue(q);
    CLBlastClearCache(); /* before the context goes: CLBlast's cache holds programs of it */
    lrncl_plan_release(plan);
    lrncl_context_release(lctx);
    free(ev_gemm);
    free(host), free(w), free(b), free(dy), free(act), free(y), free(scale), free(dx);
    free(xd), free(yd), free(yref), free(dyd), free(dxref);
    return rc;
}
