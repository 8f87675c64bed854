/* cli_demo.c: `lrncl demo`, the main job: AlexNet's LRN layers on the default device, forward
 * and backward, each checked against the float64 reference and timed with profiling events. */
#include "cli_commands.h"
#include "cli_common.h"
#include "cli_device.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { DEMO_RUNS = 10 };
static const double demo_bound = 1e-5; /* docs/design.md "Accuracy", float32 forward and backward */

typedef struct {
    const char *name;
    lrncl_mode mode;
    size_t n, c, h, w;
    int size;
    float alpha, beta, k;
} demo_case;

static const demo_case demo_cases[] = {
    {"alexnet-norm1 across n=5", LRNCL_ACROSS_CHANNELS, 8, 96, 55, 55, 5, 1e-4f, 0.75f, 1.0f},
    {"alexnet-norm2 across n=5", LRNCL_ACROSS_CHANNELS, 8, 256, 27, 27, 5, 1e-4f, 0.75f, 1.0f},
    /* Smaller than AlexNet's norm1 so the float64 reference (n^2 taps) stays quick. */
    {"within-channel n=5", LRNCL_WITHIN_CHANNEL, 4, 32, 55, 55, 5, 1e-4f, 0.75f, 1.0f},
};

/* Deterministic, roughly normal values (sum of 4 uniforms, variance 1): xorshift64*. */
static double demo_random(uint64_t *state) {
    double sum = 0;
    for (int i = 0; i < 4; i++) {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        sum += (double)((*state * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
    }
    return (sum - 2.0) * 1.7320508075688772;
}

/* max|out - ref| / max|ref|; NaN if any output is NaN (an unwritten element: outputs are
 * poisoned with NaN) or differs by NaN. */
static double max_rel_error(const float *out, const double *ref, size_t n) {
    double max_diff = 0, max_ref = 0;
    for (size_t i = 0; i < n; i++) {
        double diff = fabs((double)out[i] - ref[i]);
        if (isnan(diff))
            return NAN;
        if (diff > max_diff)
            max_diff = diff;
        if (fabs(ref[i]) > max_ref)
            max_ref = fabs(ref[i]);
    }
    return max_ref > 0 ? max_diff / max_ref : (max_diff > 0 ? INFINITY : 0);
}


/* Device buffers of one demo case. */
typedef struct {
    lrncl_plan *plan;
    cl_mem x, y, scale, dy, dx;
} demo_buffers;

/* One untimed warm-up, then DEMO_RUNS timed runs of the forward or the backward; the median. */
static int time_pass(cl_command_queue q, const demo_buffers *b, int backward, double *median_ms) {
    double ms[DEMO_RUNS];
    for (int r = -1; r < DEMO_RUNS; r++) {
        cl_event start = NULL, done = NULL;
        int ok = cli_cl_ok(clEnqueueMarkerWithWaitList(q, 0, NULL, &start), "clEnqueueMarkerWithWaitList") &&
                 (backward ? cli_lr_ok(lrncl_backward(b->plan, q, b->x, b->y, b->dy, b->scale, b->dx, 0, NULL, &done),
                                   "lrncl_backward")
                           : cli_lr_ok(lrncl_forward(b->plan, q, b->x, b->y, b->scale, 0, NULL, &done),
                                   "lrncl_forward")) &&
                 cli_cl_ok(clFinish(q), "clFinish") && (r < 0 || cli_event_ms(start, done, 1, &ms[r]));
        if (done)
            clReleaseEvent(done);
        if (start)
            clReleaseEvent(start);
        if (!ok)
            return 0;
    }
    qsort(ms, DEMO_RUNS, sizeof ms[0], cli_compare_double);
    *median_ms = (ms[(DEMO_RUNS - 1) / 2] + ms[DEMO_RUNS / 2]) / 2;
    return 1;
}

/* One table row; measured is 0 when an error stopped the pass before it was checked. */
static void print_row(const demo_case *dc, const char *pass, int measured, double err, double ms) {
    char shape[64], errs[32] = "-", mss[32] = "-";
    snprintf(shape, sizeof shape, "%zux%zux%zux%zu", dc->n, dc->c, dc->h, dc->w);
    if (measured) {
        snprintf(errs, sizeof errs, "%.1e", err);
        snprintf(mss, sizeof mss, "%.3f", ms);
    }
    printf("%-26s %-14s %-9s %-13s %-7.0e %10s   %s\n", dc->name, shape, pass, errs, demo_bound, mss,
           !measured ? "error" : err <= demo_bound ? "ok" : "FAIL");
    fflush(stdout);
}

/* Runs one case: forward (with scale) and backward, each checked and timed, and prints its two
 * rows. Returns the number of passes that failed their bound, or -1 on an error (recorded). */
static int demo_one(lrncl_context *ctx, cl_command_queue q, const demo_case *dc, uint64_t seed) {
    demo_buffers b;
    memset(&b, 0, sizeof b);
    float *xf = NULL, *dyf = NULL, *out = NULL;
    double *xd = NULL, *dyd = NULL, *yref = NULL, *sref = NULL, *dxref = NULL;
    double err[2] = {NAN, NAN}, ms[2] = {0, 0};
    int result = -1, passes_done = 0;

    lrncl_desc d;
    lrncl_desc_init(&d, dc->mode);
    d.local_size = dc->size;
    d.alpha = dc->alpha;
    d.beta = dc->beta;
    d.k = dc->k;
    d.n = dc->n;
    d.c = dc->c;
    d.h = dc->h;
    d.w = dc->w;
    size_t count = lrncl_desc_elements(&d), bytes = count * sizeof(float);
    cl_context cc = lrncl_context_cl(ctx);

    TRY((xf = cli_alloc(count, sizeof *xf, "x")) && (dyf = cli_alloc(count, sizeof *dyf, "dy")) &&
        (out = cli_alloc(count, sizeof *out, "the output")) &&
        (xd = cli_alloc(count, sizeof *xd, "x")) && (dyd = cli_alloc(count, sizeof *dyd, "dy")) &&
        (yref = cli_alloc(count, sizeof *yref, "the reference y")) &&
        (sref = cli_alloc(count, sizeof *sref, "the reference scale")) &&
        (dxref = cli_alloc(count, sizeof *dxref, "the reference dx")));
    /* Activations of a few tens, like AlexNet's, so the normalization changes the values. */
    uint64_t state = 0x9E3779B97F4A7C15ull ^ seed;
    for (size_t i = 0; i < count; i++) {
        xf[i] = (float)(40.0 * demo_random(&state));
        dyf[i] = (float)demo_random(&state);
        xd[i] = xf[i];
        dyd[i] = dyf[i];
    }
    TRY(cli_lr_ok(lrncl_reference_forward(&d, xd, yref, sref), "lrncl_reference_forward"));
    TRY(cli_lr_ok(lrncl_reference_backward(&d, xd, yref, dyd, dxref), "lrncl_reference_backward"));

    TRY(cli_lr_ok(lrncl_plan_create(ctx, &d, &b.plan), "lrncl_plan_create"));
    TRY((b.x = cli_new_buffer(cc, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes, xf, "x")) != NULL);
    TRY((b.dy = cli_new_buffer(cc, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes, dyf, "dy")) != NULL);
    TRY((b.y = cli_new_buffer(cc, CL_MEM_READ_WRITE, bytes, NULL, "y")) != NULL);
    TRY((b.scale = cli_new_buffer(cc, CL_MEM_READ_WRITE, bytes, NULL, "scale")) != NULL);
    TRY((b.dx = cli_new_buffer(cc, CL_MEM_WRITE_ONLY, bytes, NULL, "dx")) != NULL);
    /* Poison the outputs: an element no run writes stays NaN and fails the check. */
    const float nan_pattern = NAN;
    cl_mem outputs[3] = {b.y, b.scale, b.dx};
    for (int i = 0; i < 3; i++)
        TRY(cli_cl_ok(clEnqueueFillBuffer(q, outputs[i], &nan_pattern, sizeof nan_pattern, 0, bytes, 0, NULL, NULL),
                  "clEnqueueFillBuffer"));

    for (int pass = 0; pass < 2; pass++) {
        TRY(time_pass(q, &b, pass, &ms[pass]));
        TRY(cli_cl_ok(clEnqueueReadBuffer(q, pass ? b.dx : b.y, CL_TRUE, 0, bytes, out, 0, NULL, NULL),
                  "clEnqueueReadBuffer"));
        err[pass] = max_rel_error(out, pass ? dxref : yref, count);
        passes_done++;
    }
    result = 0;
done:
    for (int pass = 0; pass < 2; pass++) {
        int measured = pass < passes_done;
        if (result >= 0 && measured && !(err[pass] <= demo_bound)) /* NaN fails too */
            result++;
        print_row(dc, pass ? "backward" : "forward", measured, err[pass], ms[pass]);
    }
    if (b.dx)
        clReleaseMemObject(b.dx);
    if (b.scale)
        clReleaseMemObject(b.scale);
    if (b.y)
        clReleaseMemObject(b.y);
    if (b.dy)
        clReleaseMemObject(b.dy);
    if (b.x)
        clReleaseMemObject(b.x);
    lrncl_plan_release(b.plan);
    free(dxref);
    free(sref);
    free(yref);
    free(dyd);
    free(xd);
    free(out);
    free(dyf);
    free(xf);
    return result;
}

int cli_cmd_demo(const run_options *o) {
    lrncl_context *ctx = NULL;
    cl_command_queue queue = NULL;
    int rc = CLI_FAILED, failed = 0, errors = 0;
    const int ncases = (int)(sizeof demo_cases / sizeof demo_cases[0]);

    TRY(cli_open_context(o->has_device, o->platform, o->device, &ctx));
    cl_int err;
    queue = clCreateCommandQueue(lrncl_context_cl(ctx), lrncl_context_device(ctx), CL_QUEUE_PROFILING_ENABLE,
                                 &err);
    TRY(cli_cl_ok(err, "clCreateCommandQueue"));

    char title[600];
    cli_device_title(lrncl_context_device(ctx), 0, title, sizeof title);
    printf("device: %s\n", title);
    printf("%-26s %-14s %-9s %-13s %-7s %10s   %s\n", "case", "shape", "pass", "max rel err", "bound",
           "median ms", "status");
    for (int i = 0; i < ncases; i++) {
        int r = demo_one(ctx, queue, &demo_cases[i], (uint64_t)i + 1);
        if (r < 0)
            errors++;
        else
            failed += r;
    }
    if (errors == 0 && failed > 0)
        cli_fail("%d of %d checks exceeded the bound %.0e", failed, 2 * ncases, demo_bound);
    rc = (errors || failed) ? CLI_FAILED : CLI_OK;
done:
    if (queue)
        clReleaseCommandQueue(queue);
    lrncl_context_release(ctx);
    return rc;
}
