/* bench_peers.c: what lrncl is timed against besides the copy: a naive OpenCL kernel compiled
 * here from a string, and oneDNN's LRN on the CPU (only where LRNCL_BENCH_ONEDNN is defined). */
#include "bench.h"
#include "cli_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef LRNCL_BENCH_OPENMP
#include <omp.h>
#endif

/* ---- the naive OpenCL peer -------------------------------------------------------------------- */

/* What a first attempt looks like: one work-item per element in memory order, the window
 * re-read for every element, pow() for the power. -D NAIVE_HALF=0|1 (float16 storage through
 * vload_half / vstore_half_rte), -D NAIVE_NHWC=0|1. Two pieces: C only promises 4095
 * characters per string literal. */
static const char naive_source_head[] =
    "#if NAIVE_HALF\n"
    "#define LD(p, i) vload_half((i), (p))\n"
    "#define ST(p, i, v) vstore_half_rte((v), (i), (p))\n"
    "typedef half store_t;\n"
    "#else\n"
    "#define LD(p, i) ((p)[i])\n"
    "#define ST(p, i, v) ((p)[i] = (v))\n"
    "typedef float store_t;\n"
    "#endif\n"
    "size_t naive_at(int n, int c, int h, int w, int C, int H, int W) {\n"
    "#if NAIVE_NHWC\n"
    "    return (((size_t)n * H + h) * W + w) * C + c;\n"
    "#else\n"
    "    return (((size_t)n * C + c) * H + h) * W + w;\n"
    "#endif\n"
    "}\n"
    "void naive_coords(size_t i, int C, int H, int W, int *n, int *c, int *h, int *w) {\n"
    "#if NAIVE_NHWC\n"
    "    *c = (int)(i % C); i /= C; *w = (int)(i % W); i /= W; *h = (int)(i % H); *n = (int)(i / H);\n"
    "#else\n"
    "    *w = (int)(i % W); i /= W; *h = (int)(i % H); i /= H; *c = (int)(i % C); *n = (int)(i / C);\n"
    "#endif\n"
    "}\n";
static const char naive_source_body[] =
    "__kernel void naive_forward(__global const store_t *x, __global store_t *y, int N, int C, int H,\n"
    "                            int W, int within, int lo, int hi, float a, float k, float beta) {\n"
    "    size_t i = get_global_id(0);\n"
    "    if (i >= (size_t)N * C * H * W) return;\n"
    "    int n, c, h, w;\n"
    "    naive_coords(i, C, H, W, &n, &c, &h, &w);\n"
    "    float sum = 0.0f;\n"
    "    if (!within) {\n"
    "        for (int j = max(c - lo, 0); j <= min(c + hi, C - 1); j++) {\n"
    "            float v = LD(x, naive_at(n, j, h, w, C, H, W)); sum += v * v;\n"
    "        }\n"
    "    } else {\n"
    "        for (int p = max(h - lo, 0); p <= min(h + hi, H - 1); p++)\n"
    "            for (int q = max(w - lo, 0); q <= min(w + hi, W - 1); q++) {\n"
    "                float v = LD(x, naive_at(n, c, p, q, C, H, W)); sum += v * v;\n"
    "            }\n"
    "    }\n"
    "    ST(y, i, LD(x, i) * pow(k + a * sum, -beta));\n"
    "}\n"
    "/* dx = dy s^-beta - 2 a beta x * (sum of dy y / s over the positions whose window holds i) */\n"
    "__kernel void naive_backward(__global const store_t *x, __global const store_t *y,\n"
    "                             __global const store_t *dy, __global const float *scale,\n"
    "                             __global store_t *dx, int N, int C, int H, int W, int within,\n"
    "                             int lo, int hi, float a, float beta) {\n"
    "    size_t i = get_global_id(0);\n"
    "    if (i >= (size_t)N * C * H * W) return;\n"
    "    int n, c, h, w;\n"
    "    naive_coords(i, C, H, W, &n, &c, &h, &w);\n"
    "    float sum = 0.0f;\n"
    "    if (!within) {\n"
    "        for (int j = max(c - hi, 0); j <= min(c + lo, C - 1); j++) {\n"
    "            size_t t = naive_at(n, j, h, w, C, H, W); sum += LD(dy, t) * LD(y, t) / scale[t];\n"
    "        }\n"
    "    } else {\n"
    "        for (int p = max(h - hi, 0); p <= min(h + lo, H - 1); p++)\n"
    "            for (int q = max(w - hi, 0); q <= min(w + lo, W - 1); q++) {\n"
    "                size_t t = naive_at(n, c, p, q, C, H, W); sum += LD(dy, t) * LD(y, t) / scale[t];\n"
    "            }\n"
    "    }\n"
    "    ST(dx, i, LD(dy, i) * pow(scale[i], -beta) - 2.0f * a * beta * LD(x, i) * sum);\n"
    "}\n";


int build_naive(bench_env *e) {
    cl_context cl = lrncl_context_cl(e->ctx);
    cl_device_id dev = lrncl_context_device(e->ctx);
    const char *src[2] = {naive_source_head, naive_source_body};
    char options[128];
    cl_int err;
    snprintf(options, sizeof options, "-cl-std=CL1.2 -DNAIVE_HALF=%d -DNAIVE_NHWC=%d",
             e->opt.dtype == LRNCL_FLOAT16, e->opt.layout == LRNCL_LAYOUT_NHWC);
    e->naive_prog = clCreateProgramWithSource(cl, 2, src, NULL, &err);
    if (!cli_cl_ok(err, "clCreateProgramWithSource (naive kernel)"))
        return 0;
    err = clBuildProgram(e->naive_prog, 1, &dev, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        char log[1500] = "";
        if (clGetProgramBuildInfo(e->naive_prog, dev, CL_PROGRAM_BUILD_LOG, sizeof log, log, NULL) != CL_SUCCESS)
            log[0] = '\0';
        log[sizeof log - 1] = '\0';
        cli_fail("clBuildProgram (naive kernel, %s) failed (%d): %s", options, (int)err, log);
        return 0;
    }
    e->naive_fwd = clCreateKernel(e->naive_prog, "naive_forward", &err);
    if (!cli_cl_ok(err, "clCreateKernel (naive_forward)"))
        return 0;
    e->naive_bwd = clCreateKernel(e->naive_prog, "naive_backward", &err);
    return cli_cl_ok(err, "clCreateKernel (naive_backward)");
}

void release_naive(bench_env *e) {
    if (e->naive_bwd)
        clReleaseKernel(e->naive_bwd);
    if (e->naive_fwd)
        clReleaseKernel(e->naive_fwd);
    if (e->naive_prog)
        clReleaseProgram(e->naive_prog);
}

/* The naive forward (inference: no scale) or backward (from the scale). */
int enqueue_naive(const bench_env *e, const case_state *cs, int pass, size_t s, cl_event *done) {
    cl_kernel k = pass == PASS_BACKWARD ? e->naive_bwd : e->naive_fwd;
    cl_int dims[4] = {(cl_int)cs->dims.n, (cl_int)cs->dims.c, (cl_int)cs->dims.h, (cl_int)cs->dims.w};
    cl_int within = cs->desc.mode == LRNCL_WITHIN_CHANNEL, lo = cs->lo, hi = cs->hi;
    cl_int err = CL_SUCCESS;
    cl_uint arg = 0;
    static const int fwd_bufs[] = {BUF_X, BUF_Y}, bwd_bufs[] = {BUF_X, BUF_Y, BUF_DY, BUF_SCALE, BUF_DX};
    const int *bufs = pass == PASS_BACKWARD ? bwd_bufs : fwd_bufs;
    cl_uint nbufs = pass == PASS_BACKWARD ? 5 : 2;
    for (cl_uint i = 0; i < nbufs; i++)
        err |= clSetKernelArg(k, arg++, sizeof(cl_mem), &MEM(cs, s, bufs[i]));
    for (int i = 0; i < 4; i++)
        err |= clSetKernelArg(k, arg++, sizeof(cl_int), &dims[i]);
    err |= clSetKernelArg(k, arg++, sizeof within, &within);
    err |= clSetKernelArg(k, arg++, sizeof lo, &lo);
    err |= clSetKernelArg(k, arg++, sizeof hi, &hi);
    err |= clSetKernelArg(k, arg++, sizeof cs->a, &cs->a);
    if (pass != PASS_BACKWARD)
        err |= clSetKernelArg(k, arg++, sizeof cs->kk, &cs->kk);
    err |= clSetKernelArg(k, arg++, sizeof cs->desc.beta, &cs->desc.beta);
    if (err != CL_SUCCESS) {
        cli_fail("clSetKernelArg (naive kernel) failed");
        return 0;
    }
    size_t local = NAIVE_LOCAL, global = (cs->count + local - 1) / local * local;
    return cli_cl_ok(clEnqueueNDRangeKernel(e->q, k, 1, NULL, &global, &local, 0, NULL, done),
                 "clEnqueueNDRangeKernel (naive kernel)");
}

#ifdef LRNCL_BENCH_ONEDNN
static int dn_ok(dnnl_status_t s, const char *what) {
    if (s == dnnl_success)
        return 1;
    cli_fail("%s failed: oneDNN status %d", what, (int)s);
    return 0;
}

int onednn_run(const bench_env *e, const case_state *cs, int pass, size_t s) {
    dnnl_memory_t *m = &cs->dn_mem[s * DN_COUNT];
    dnnl_exec_arg_t args[4];
    int nargs = 0;
    args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SRC, m[DN_X]};
    if (pass == PASS_BACKWARD) {
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_DST, m[DN_DY]};
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_SRC, m[DN_DX]};
    } else {
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_DST, m[DN_Y]};
    }
    if (pass != PASS_INFER && cs->dn_has_ws)
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_WORKSPACE, m[DN_WS]};
    return dn_ok(dnnl_primitive_execute(cs->dn_prim[pass], e->dn_stream, nargs, args), "dnnl_primitive_execute") &&
           dn_ok(dnnl_stream_wait(e->dn_stream), "dnnl_stream_wait");
}

/* oneDNN's three primitives (float32 in the bench's layout) and every slot's memory; the host
 * x and dy of each slot are filled by case_setup. */
int onednn_setup(const bench_env *e, case_state *cs, case_result *r) {
    dnnl_dims_t dims = {(dnnl_dim_t)cs->dims.n, (dnnl_dim_t)cs->dims.c, (dnnl_dim_t)cs->dims.h,
                        (dnnl_dim_t)cs->dims.w};
    dnnl_memory_desc_t md;
    dnnl_lrn_desc_t fwd[2], bwd;
    dnnl_alg_kind_t alg = cs->desc.mode == LRNCL_ACROSS_CHANNELS ? dnnl_lrn_across_channels : dnnl_lrn_within_channel;
    const lrncl_desc *d = &cs->desc;
    TRY(dn_ok(dnnl_memory_desc_init_by_tag(&md, 4, dims, dnnl_f32, cs->dims.nhwc ? dnnl_nhwc : dnnl_nchw),
              "dnnl_memory_desc_init_by_tag"));
    TRY(dn_ok(dnnl_lrn_forward_desc_init(&fwd[0], dnnl_forward_inference, alg, &md, d->local_size, d->alpha, d->beta,
                                         d->k), "dnnl_lrn_forward_desc_init"));
    TRY(dn_ok(dnnl_lrn_forward_desc_init(&fwd[1], dnnl_forward_training, alg, &md, d->local_size, d->alpha, d->beta,
                                         d->k), "dnnl_lrn_forward_desc_init"));
    TRY(dn_ok(dnnl_lrn_backward_desc_init(&bwd, alg, &md, &md, d->local_size, d->alpha, d->beta, d->k),
              "dnnl_lrn_backward_desc_init"));
    TRY(dn_ok(dnnl_primitive_desc_create(&cs->dn_pd[PASS_INFER], &fwd[0], NULL, e->dn_eng, NULL),
              "dnnl_primitive_desc_create (forward inference)"));
    TRY(dn_ok(dnnl_primitive_desc_create(&cs->dn_pd[PASS_TRAIN], &fwd[1], NULL, e->dn_eng, NULL),
              "dnnl_primitive_desc_create (forward training)"));
    TRY(dn_ok(dnnl_primitive_desc_create(&cs->dn_pd[PASS_BACKWARD], &bwd, NULL, e->dn_eng, cs->dn_pd[PASS_TRAIN]),
              "dnnl_primitive_desc_create (backward)"));
    for (int p = 0; p < PASS_COUNT; p++) {
        TRY(dn_ok(dnnl_primitive_create(&cs->dn_prim[p], cs->dn_pd[p]), "dnnl_primitive_create"));
        const char *impl = NULL;
        if (dnnl_primitive_desc_query(cs->dn_pd[p], dnnl_query_impl_info_str, 0, &impl) != dnnl_success || !impl)
            impl = "?";
        snprintf(r->onednn_impl[p], sizeof r->onednn_impl[p], "%s", impl);
    }
    const dnnl_memory_desc_t *ws = dnnl_primitive_desc_query_md(cs->dn_pd[PASS_TRAIN], dnnl_query_workspace_md, 0);
    cs->dn_has_ws = ws && dnnl_memory_desc_get_size(ws) > 0;
    for (int i = 0; i < DN_WS; i++)
        TRY((cs->dn_host[i] = cli_alloc(cs->nslots * cs->count, sizeof(float), "oneDNN's tensors")) != NULL);
    for (size_t i = 0; i < cs->nslots * cs->count; i++)
        cs->dn_host[DN_Y][i] = cs->dn_host[DN_DX][i] = NAN;
    TRY((cs->dn_mem = calloc(cs->nslots * DN_COUNT, sizeof *cs->dn_mem)) != NULL ||
        (cli_fail("out of host memory for oneDNN's memory objects"), 0));
    for (size_t s = 0; s < cs->nslots; s++) {
        for (int i = 0; i < DN_WS; i++)
            TRY(dn_ok(dnnl_memory_create(&cs->dn_mem[s * DN_COUNT + i], &md, e->dn_eng,
                                         cs->dn_host[i] + s * cs->count), "dnnl_memory_create"));
        if (cs->dn_has_ws)
            TRY(dn_ok(dnnl_memory_create(&cs->dn_mem[s * DN_COUNT + DN_WS], ws, e->dn_eng, DNNL_MEMORY_ALLOCATE),
                      "dnnl_memory_create (workspace)"));
    }
    return 1;
done:
    return 0;
}

int onednn_open(bench_env *e) {
    TRY(dn_ok(dnnl_engine_create(&e->dn_eng, dnnl_cpu, 0), "dnnl_engine_create"));
    TRY(dn_ok(dnnl_stream_create(&e->dn_stream, e->dn_eng, dnnl_stream_default_flags), "dnnl_stream_create"));
#ifdef LRNCL_BENCH_OPENMP
    if (dnnl_version()->cpu_runtime == DNNL_RUNTIME_OMP)
        e->onednn_threads = omp_get_max_threads();
#endif
    return 1;
done:
    return 0;
}

void onednn_close(bench_env *e) {
    if (e->dn_stream)
        dnnl_stream_destroy(e->dn_stream);
    if (e->dn_eng)
        dnnl_engine_destroy(e->dn_eng);
}

void onednn_release(case_state *cs) {
    if (cs->dn_mem)
        for (size_t i = 0; i < cs->nslots * DN_COUNT; i++)
            if (cs->dn_mem[i])
                dnnl_memory_destroy(cs->dn_mem[i]);
    free(cs->dn_mem);
    for (int i = 0; i < DN_WS; i++)
        free(cs->dn_host[i]);
    for (int p = 0; p < PASS_COUNT; p++) {
        if (cs->dn_prim[p])
            dnnl_primitive_destroy(cs->dn_prim[p]);
        if (cs->dn_pd[p])
            dnnl_primitive_desc_destroy(cs->dn_pd[p]);
    }
}

#else /* no oneDNN: the bench runs without that peer, and lrncl tune never needs it */

int onednn_open(bench_env *e) {
    (void)e;
    return 1;
}

void onednn_close(bench_env *e) { (void)e; }

int onednn_setup(const bench_env *e, case_state *cs, case_result *r) {
    (void)e, (void)cs, (void)r;
    return 1;
}

void onednn_release(case_state *cs) { (void)cs; }

int onednn_run(const bench_env *e, const case_state *cs, int pass, size_t s) {
    (void)e, (void)cs, (void)pass, (void)s;
    cli_fail("oneDNN is not built into this program");
    return 0;
}

#endif
