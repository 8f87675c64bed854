/* bench_case.c: the benchmark's suite and device state: the cases, the context and queue,
 * every case's buffers and random inputs, and the checks against the float64 reference. */
#include "bench.h"
#include "cli_common.h"
#include "cli_device.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Caffe's parameters for all: alpha 1e-4, beta 0.75, k 1. */
const bench_case bench_cases[BENCH_NCASES] = {
    {"alexnet-norm1", LRNCL_ACROSS_CHANNELS, 8, 96, 55, 55, 5},
    {"alexnet-norm2", LRNCL_ACROSS_CHANNELS, 8, 256, 27, 27, 5},
    {"googlenet", LRNCL_ACROSS_CHANNELS, 4, 192, 56, 56, 5},
    {"within-small", LRNCL_WITHIN_CHANNEL, 32, 32, 16, 16, 3},
    {"within-alexnet", LRNCL_WITHIN_CHANNEL, 8, 96, 55, 55, 5},
};

int env_open(bench_env *e) {
    e->onednn_threads = -1;
    TRY(cli_open_context(e->opt.has_device, e->opt.platform, e->opt.device, &e->ctx));
    cli_device_title(lrncl_context_device(e->ctx), 1, e->device, sizeof e->device);
    cl_int err;
    e->q = clCreateCommandQueue(lrncl_context_cl(e->ctx), lrncl_context_device(e->ctx), CL_QUEUE_PROFILING_ENABLE,
                                &err);
    TRY(cli_cl_ok(err, "clCreateCommandQueue"));
    TRY(build_naive(e));
    TRY(onednn_open(e));
    return 1;
done:
    return 0;
}

void env_close(bench_env *e) {
    onednn_close(e);
    release_naive(e);
    if (e->q)
        clReleaseCommandQueue(e->q);
    lrncl_context_release(e->ctx);
}

/* ---- one run of each contender ------------------------------------------------------------- */

int enqueue_lrncl(const bench_env *e, const case_state *cs, int pass, size_t s, cl_event *done) {
    if (pass == PASS_BACKWARD)
        return cli_lr_ok(lrncl_backward(cs->plan, e->q, MEM(cs, s, BUF_X), MEM(cs, s, BUF_Y), MEM(cs, s, BUF_DY),
                                    MEM(cs, s, BUF_SCALE), MEM(cs, s, BUF_DX), 0, NULL, done),
                     "lrncl_backward");
    return cli_lr_ok(lrncl_forward(cs->plan, e->q, MEM(cs, s, BUF_X), MEM(cs, s, BUF_Y),
                               pass == PASS_TRAIN ? MEM(cs, s, BUF_SCALE) : NULL, 0, NULL, done),
                 "lrncl_forward");
}

/* Half the pass's fewest bytes, read from one buffer and written into another. */
static int enqueue_copy(const bench_env *e, const case_state *cs, int pass, size_t s, cl_event *done) {
    return cli_cl_ok(clEnqueueCopyBuffer(e->q, MEM(cs, s, BUF_CSRC), MEM(cs, s, BUF_CDST), 0, 0, cs->bytes[pass] / 2, 0,
                                     NULL, done),
                 "clEnqueueCopyBuffer");
}

int enqueue_op(const bench_env *e, const case_state *cs, int op, int pass, size_t s, cl_event *done) {
    return op == OP_LRNCL ? enqueue_lrncl(e, cs, pass, s, done)
         : op == OP_COPY  ? enqueue_copy(e, cs, pass, s, done)
                          : enqueue_naive(e, cs, pass, s, done);
}

/* ---- case setup ------------------------------------------------------------------------------ */

/* Fills a whole buffer with a 4-byte pattern (buffer sizes are rounded up to 4 bytes). New
 * buffers are neither zeroed nor, on a CPU device, backed by pages until written: a run on
 * one would read the zero page. */
int fill(const bench_env *e, cl_mem m, uint32_t pattern, size_t bytes) {
    return cli_cl_ok(clEnqueueFillBuffer(e->q, m, &pattern, sizeof pattern, 0, bytes, 0, NULL, NULL),
                 "clEnqueueFillBuffer");
}

size_t round4(size_t bytes) {
    return (bytes + 3) / 4 * 4;
}

uint32_t nan_pattern(size_t esize) {
    return esize == 2 ? 0x7e007e00u : 0x7fc00000u;
}

/* The plan, every slot's buffers and random inputs (slot 0's kept for the reference). */
int case_setup(const bench_env *e, const bench_case *bc, uint64_t seed, case_state *cs, case_result *r) {
    float *xs = NULL, *dys = NULL;
    void *stor = NULL;
    int ok = 0;
    lrncl_desc *d = &cs->desc;

    cs->bc = bc;
    if (e->opt.problem) {
        *d = *e->opt.problem; /* lrncl tune --shape: the user's problem */
    } else {
        lrncl_desc_init(d, bc->mode);
        d->local_size = bc->size;
        d->alpha = bench_alpha;
        d->beta = bench_beta;
        d->k = bench_k;
    }
    d->n = bc->n;
    d->c = bc->c;
    d->h = bc->h;
    d->w = bc->w;
    d->layout = e->opt.layout;
    d->dtype = e->opt.dtype;
    cs->dims = (dims4){bc->n, bc->c, bc->h, bc->w, e->opt.layout == LRNCL_LAYOUT_NHWC};
    cs->count = lrncl_desc_elements(d);
    cs->esize = d->dtype == LRNCL_FLOAT16 ? 2 : 4;
    cs->tensor_bytes = cs->count * cs->esize;
    cs->scale_bytes = cs->count * sizeof(float);
    cs->bytes[PASS_INFER] = 2 * cs->tensor_bytes;                     /* read x, write y */
    cs->bytes[PASS_TRAIN] = 2 * cs->tensor_bytes + cs->scale_bytes;   /* and write the scale */
    cs->bytes[PASS_BACKWARD] = 4 * cs->tensor_bytes + cs->scale_bytes; /* x, y, dy, scale in; dx out */
    cs->nslots = rotate_bytes / cs->bytes[PASS_INFER] + 1;
    cs->nslots = cs->nslots < 2 ? 2 : cs->nslots > MAX_SLOTS ? MAX_SLOTS : cs->nslots;
    /* Caffe's meaning: lo = hi = (n-1)/2; a = alpha/n across, alpha/n^2 within with 1 for k. Only
     * the naive kernel reads these, and only for the suite's cases (lrncl tune runs lrncl alone). */
    cs->lo = cs->hi = (bc->size - 1) / 2;
    cs->a = bc->mode == LRNCL_ACROSS_CHANNELS ? d->alpha / (float)bc->size : d->alpha / (float)(bc->size * bc->size);
    cs->kk = bc->mode == LRNCL_ACROSS_CHANNELS ? d->k : 1.0f;

    TRY(cli_lr_ok(lrncl_plan_create(e->ctx, d, &cs->plan), "lrncl_plan_create"));
    /* A program just built is written to the disk cache by a thread of the context: let it
     * finish before anything is timed. */
    TRY(cli_lr_ok(lrncl_context_flush(e->ctx), "lrncl_context_flush"));
    TRY((cs->mem = calloc(cs->nslots * BUF_COUNT, sizeof *cs->mem)) != NULL ||
        (cli_fail("out of host memory for the buffer list"), 0));
    TRY((xs = cli_alloc(cs->count, sizeof *xs, "x")) && (dys = cli_alloc(cs->count, sizeof *dys, "dy")) &&
        (stor = cli_alloc(cs->count, cs->esize, "the upload")) &&
        (cs->x0 = cli_alloc(cs->count, sizeof *cs->x0, "x")) &&
        (cs->dy0 = cli_alloc(cs->count, sizeof *cs->dy0, "dy")));
    TRY(onednn_setup(e, cs, r));

    const size_t tb = round4(cs->tensor_bytes), sb = cs->scale_bytes, cb = round4(cs->bytes[PASS_BACKWARD] / 2);
    uint64_t state = 0x9E3779B97F4A7C15ull ^ (seed * 0xD1B54A32D192ED03ull);
    for (size_t s = 0; s < cs->nslots; s++) {
        static const char *const what[BUF_COUNT] = {"x", "y", "scale", "dy", "dx", "copy source", "copy target"};
        for (int b = 0; b < BUF_COUNT; b++) {
            size_t bytes = b == BUF_SCALE ? sb : (b == BUF_CSRC || b == BUF_CDST) ? cb : tb;
            TRY((MEM(cs, s, b) = cli_new_buffer(lrncl_context_cl(e->ctx), CL_MEM_READ_WRITE, bytes, NULL, what[b])) != NULL);
            /* Outputs are poisoned with NaN; the copy moves ordinary numbers (0x3f800000 = 1.0f). */
            uint32_t pattern = b == BUF_SCALE ? 0x7fc00000u : b == BUF_CSRC ? 0x3f800000u : nan_pattern(cs->esize);
            TRY(fill(e, MEM(cs, s, b), pattern, bytes));
        }
        /* Activations of a few tens, like AlexNet's, so the normalization changes the values;
         * rounded to the storage type so the reference sees what the device sees. */
        for (size_t i = 0; i < cs->count; i++) {
            xs[i] = (float)(40.0 * bench_random(&state));
            dys[i] = (float)bench_random(&state);
            if (cs->esize == 2) {
                xs[i] = half_to_float(float_to_half(xs[i]));
                dys[i] = half_to_float(float_to_half(dys[i]));
            }
        }
        pack(&cs->dims, cs->esize, xs, stor);
        TRY(cli_cl_ok(clEnqueueWriteBuffer(e->q, MEM(cs, s, BUF_X), CL_TRUE, 0, cs->tensor_bytes, stor, 0, NULL, NULL),
                  "clEnqueueWriteBuffer"));
        pack(&cs->dims, cs->esize, dys, stor);
        TRY(cli_cl_ok(clEnqueueWriteBuffer(e->q, MEM(cs, s, BUF_DY), CL_TRUE, 0, cs->tensor_bytes, stor, 0, NULL, NULL),
                  "clEnqueueWriteBuffer"));
#ifdef LRNCL_BENCH_ONEDNN
        pack(&cs->dims, sizeof(float), xs, cs->dn_host[DN_X] + s * cs->count);
        pack(&cs->dims, sizeof(float), dys, cs->dn_host[DN_DY] + s * cs->count);
#endif
        if (s == 0)
            for (size_t i = 0; i < cs->count; i++) {
                cs->x0[i] = xs[i];
                cs->dy0[i] = dys[i];
            }
    }
    TRY(cli_cl_ok(clFinish(e->q), "clFinish"));
    ok = 1;
done:
    free(stor);
    free(dys);
    free(xs);
    return ok;
}

void case_release(case_state *cs) {
    onednn_release(cs);
    if (cs->mem)
        for (size_t i = 0; i < cs->nslots * BUF_COUNT; i++)
            if (cs->mem[i])
                clReleaseMemObject(cs->mem[i]);
    free(cs->mem);
    lrncl_plan_release(cs->plan);
    free(cs->dy0);
    free(cs->x0);
    memset(cs, 0, sizeof *cs);
}

/* ---- checks against the float64 reference ------------------------------------------------------ */

/* Compares out with ref (both NCHW, n values): max|out - ref| <= bound * max|ref| and, when
 * elem_bound > 0, |out - ref| <= elem_bound * |ref| for every element; NaN never passes. Adds
 * "who what err" to the result's list and counts a failure (and reports it on stderr). */
void check_values(case_result *r, const char *case_name, const char *who, const char *what, const float *out,
                  const double *ref, size_t n, double bound, double elem_bound) {
    double max_diff = 0, max_ref = 0, worst_elem = 0;
    size_t nan_at = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        double diff = fabs((double)out[i] - ref[i]);
        if (isnan(diff)) {
            nan_at = i;
            break;
        }
        max_diff = diff > max_diff ? diff : max_diff;
        max_ref = fabs(ref[i]) > max_ref ? fabs(ref[i]) : max_ref;
        if (ref[i] != 0 && diff / fabs(ref[i]) > worst_elem)
            worst_elem = diff / fabs(ref[i]);
    }
    double err = nan_at != SIZE_MAX ? NAN : max_ref > 0 ? max_diff / max_ref : (max_diff > 0 ? INFINITY : 0);
    int ok = err <= bound && !(elem_bound > 0 && worst_elem > elem_bound);
    size_t used = strlen(r->checks);
    snprintf(r->checks + used, sizeof r->checks - used, "%s%s %s %.1e", used ? ", " : "", who, what, err);
    if (ok)
        return;
    r->failed_checks++;
    fflush(stdout);
    if (nan_at != SIZE_MAX)
        fprintf(stderr, "lrncl: %s: check FAILED: %s %s: NaN at element %zu (unwritten or NaN result)\n", case_name,
                who, what, nan_at);
    else
        fprintf(stderr, "lrncl: %s: check FAILED: %s %s: max rel err %.2e (bound %.0e), worst element rel err %.2e"
                        "%s\n", case_name, who, what, err, bound, worst_elem,
                elem_bound > 0 ? " (bound 1e-4)" : "");
}

/* Reads one slot-0 buffer (the storage type, or float for the scale) into NCHW floats. */
static int read_nchw(const bench_env *e, const case_state *cs, int b, void *raw, float *out) {
    size_t esize = b == BUF_SCALE ? sizeof(float) : cs->esize;
    if (!cli_cl_ok(clEnqueueReadBuffer(e->q, MEM(cs, 0, b), CL_TRUE, 0, cs->count * esize, raw, 0, NULL, NULL),
               "clEnqueueReadBuffer"))
        return 0;
    unpack(&cs->dims, esize, raw, out);
    return 1;
}

/* Runs every contender once on slot 0 and checks it against the float64 reference on the whole
 * tensor; leaves every slot's y and scale (lrncl's) and workspace (oneDNN's) ready for the
 * backward. Returns 0 on an error (recorded); failed checks only count in r. */
int case_check(const bench_env *e, case_state *cs, case_result *r) {
    const char *name = cs->bc->name;
    const size_t n = cs->count;
    const int half = cs->esize == 2;
    const double fbound = half ? 2e-3 : 1e-5, bbound = half ? 5e-3 : 1e-5, elem = half ? 0 : 1e-4;
    double *yref = NULL, *sref = NULL, *dxref = NULL, *ydev = NULL;
    float *out = NULL;
    void *raw = NULL;
    int ok = 0;

    TRY((yref = cli_alloc(n, sizeof *yref, "the reference")) &&
        (sref = cli_alloc(n, sizeof *sref, "the reference")) &&
        (dxref = cli_alloc(n, sizeof *dxref, "the reference")) &&
        (ydev = cli_alloc(n, sizeof *ydev, "y")) && (out = cli_alloc(n, sizeof *out, "the results")) &&
        (raw = cli_alloc(n, sizeof(float), "the results")));
    TRY(cli_lr_ok(lrncl_reference_forward(&cs->desc, cs->x0, yref, sref), "lrncl_reference_forward"));

    /* lrncl: inference, then training on every slot (the backward runs need their scales). */
    TRY(enqueue_lrncl(e, cs, PASS_INFER, 0, NULL) && read_nchw(e, cs, BUF_Y, raw, out));
    check_values(r, name, "lrncl", "fwd-infer y", out, yref, n, fbound, elem);
    TRY(fill(e, MEM(cs, 0, BUF_Y), nan_pattern(cs->esize), round4(cs->tensor_bytes)));
    for (size_t s = 0; s < cs->nslots; s++)
        TRY(enqueue_lrncl(e, cs, PASS_TRAIN, s, NULL));
    TRY(read_nchw(e, cs, BUF_Y, raw, out));
    check_values(r, name, "lrncl", "fwd-train y", out, yref, n, fbound, elem);
    for (size_t i = 0; i < n; i++)
        ydev[i] = out[i]; /* the y every backward below reads */
    TRY(read_nchw(e, cs, BUF_SCALE, raw, out));
    check_values(r, name, "lrncl", "scale", out, sref, n, 1e-5, 0);
    TRY(cli_lr_ok(lrncl_reference_backward(&cs->desc, cs->x0, ydev, cs->dy0, dxref), "lrncl_reference_backward"));
    TRY(enqueue_lrncl(e, cs, PASS_BACKWARD, 0, NULL) && read_nchw(e, cs, BUF_DX, raw, out));
    check_values(r, name, "lrncl", "dx", out, dxref, n, bbound, 0);

    /* The naive kernel; its backward reads lrncl's y (put back) and scale, as dxref does. */
    TRY(fill(e, MEM(cs, 0, BUF_Y), nan_pattern(cs->esize), round4(cs->tensor_bytes)));
    TRY(enqueue_naive(e, cs, PASS_INFER, 0, NULL) && read_nchw(e, cs, BUF_Y, raw, out));
    check_values(r, name, "naive", "y", out, yref, n, fbound, elem);
    TRY(enqueue_lrncl(e, cs, PASS_TRAIN, 0, NULL));
    TRY(fill(e, MEM(cs, 0, BUF_DX), nan_pattern(cs->esize), round4(cs->tensor_bytes)));
    TRY(enqueue_naive(e, cs, PASS_BACKWARD, 0, NULL) && read_nchw(e, cs, BUF_DX, raw, out));
    check_values(r, name, "naive", "dx", out, dxref, n, bbound, 0);

#ifdef LRNCL_BENCH_ONEDNN
    /* oneDNN computes in float32 from the same (rounded) inputs. */
    TRY(onednn_run(e, cs, PASS_INFER, 0));
    unpack(&cs->dims, sizeof(float), cs->dn_host[DN_Y], out);
    check_values(r, name, "oneDNN", "y", out, yref, n, fbound, elem);
    for (size_t s = 0; s < cs->nslots; s++)
        TRY(onednn_run(e, cs, PASS_TRAIN, s));
    TRY(onednn_run(e, cs, PASS_BACKWARD, 0));
    unpack(&cs->dims, sizeof(float), cs->dn_host[DN_DX], out);
    check_values(r, name, "oneDNN", "dx", out, dxref, n, bbound, 0);
#endif
    ok = 1;
done:
    free(raw);
    free(out);
    free(ydev);
    free(dxref);
    free(sref);
    free(yref);
    return ok;
}
