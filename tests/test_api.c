/* test_api.c: the API's promises beyond the arithmetic: version and descriptor defaults, the
 * program cache (one build per variant and context), cl_context reference counts, event
 * chaining through the wait list, and plans shared by several threads. */
#include "testutil.h"

#include <criterion/criterion.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- helpers ------------------------------------------------------------------------------ */
static lrncl_desc make_desc(lrncl_mode mode, int size, float alpha, float beta, float k, size_t n, size_t c,
                            size_t h, size_t w)
{
    return tu_desc(LRNCL_CONVENTION_CAFFE, mode, size, alpha, beta, k, n, c, h, w);
}

static void fill(float *x, size_t count, unsigned salt)
{
    struct tu_rng g;
    tu_rng_init(&g, 0xa91u + salt);
    for (size_t i = 0; i < count; i++)
        x[i] = (float)(2.0 * tu_rng_normal(&g));
}

/* Runs p (made from d) on tu.q and checks every output against the reference. */
static void expect_correct(lrncl_plan *p, const lrncl_desc *d, const char *label)
{
    size_t count = lrncl_desc_elements(d);
    float *x = tu_floats(count), *dy = tu_floats(count);
    fill(x, count, 1);
    fill(dy, count, 2);
    double *y = tu_doubles(count), *s = tu_doubles(count), *dx = tu_doubles(count);
    lrncl_status st = tu_reference(d, x, dy, y, s, dx);
    cr_assert(st == LRNCL_SUCCESS, "%s: reference -> %s", label, lrncl_status_string(st));
    struct tu_device_result out;
    const char *what = "";
    st = tu_run_plan(p, count, x, dy, &out, &what);
    cr_assert(st == LRNCL_SUCCESS, "%s: %s -> %s: %s", label, what, lrncl_status_string(st), lrncl_last_error());
    struct tu_cmp r;
    cr_expect(tu_check_forward("y", d, out.y, y, count, &r), "%s: %s", label, r.msg);
    cr_expect(tu_check_forward("scale", d, out.scale, s, count, &r), "%s: %s", label, r.msg);
    cr_expect(tu_check_forward("y (scale NULL)", d, out.y_noscale, y, count, &r), "%s: %s", label, r.msg);
    cr_expect(tu_check_backward("dx", d, out.dx, dx, count, &r), "%s: %s", label, r.msg);
    cr_expect(tu_check_backward("dx (scale NULL)", d, out.dx_noscale, dx, count, &r), "%s: %s", label, r.msg);
    tu_device_result_free(&out);
    free(dx);
    free(s);
    free(y);
    free(dy);
    free(x);
}

/* ---- version and descriptor --------------------------------------------------------------- */
TestSuite(api, .timeout = 30);

Test(api, version)
{
    cr_expect(lrncl_version_number() == LRNCL_VERSION_NUMBER, "lrncl_version_number() = %u, header says %u",
              lrncl_version_number(), (unsigned)LRNCL_VERSION_NUMBER);
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", LRNCL_VERSION_MAJOR, LRNCL_VERSION_MINOR, LRNCL_VERSION_PATCH);
    const char *s = lrncl_version_string();
    cr_assert(s != NULL);
    cr_expect(strcmp(s, want) == 0, "lrncl_version_string() = \"%s\", expected \"%s\"", s, want);
}

Test(api, desc_init_defaults)
{
    const lrncl_mode modes[] = {LRNCL_ACROSS_CHANNELS, LRNCL_WITHIN_CHANNEL};
    for (int i = 0; i < 2; i++) {
        lrncl_desc d;
        memset(&d, 0xab, sizeof d); /* every field must be set, not left as garbage */
        lrncl_desc_init(&d, modes[i]);
        cr_expect(d.mode == modes[i]);
        cr_expect(d.local_size == 5, "local_size %d", d.local_size);
        cr_expect(d.alpha == 1.0f, "alpha %g", (double)d.alpha);
        cr_expect(d.beta == 0.75f, "beta %g", (double)d.beta);
        cr_expect(d.k == 1.0f, "k %g", (double)d.k);
        cr_expect(d.n == 0 && d.c == 0 && d.h == 0 && d.w == 0, "shape not left 0");
        cr_expect(lrncl_desc_elements(&d) == 0);
        d.n = 2, d.c = 3, d.h = 5, d.w = 7;
        cr_expect(lrncl_desc_elements(&d) == 210);
    }
}

/* ---- program cache ------------------------------------------------------------------------ */
TestSuite(cache, .init = tu_setup, .fini = tu_teardown, .timeout = 120);

Test(cache, builds_once_per_variant_and_context)
{
    size_t b0 = tu_programs_made(tu.ctx);
    lrncl_desc d1 = make_desc(LRNCL_ACROSS_CHANNELS, 5, 1e-4f, 0.75f, 1.0f, 1, 16, 4, 4);
    lrncl_plan *p1 = tu_plan(tu.ctx, &d1);
    size_t b1 = tu_programs_made(tu.ctx);
    cr_expect(b1 > b0, "first across/5/0.75 plan built nothing (%zu -> %zu)", b0, b1);

    /* Same variant, other alpha, k and shape: a cache hit. */
    lrncl_desc d2 = make_desc(LRNCL_ACROSS_CHANNELS, 5, 0.3f, 0.75f, 2.0f, 2, 9, 3, 5);
    lrncl_plan *p2 = tu_plan(tu.ctx, &d2);
    cr_expect(tu_programs_made(tu.ctx) == b1, "same variant, other alpha/k/shape rebuilt (%zu -> %zu)",
              b1, tu_programs_made(tu.ctx));
    /* Released and made again: still cached. */
    lrncl_plan_release(p2);
    p2 = tu_plan(tu.ctx, &d2);
    cr_expect(tu_programs_made(tu.ctx) == b1, "re-created plan rebuilt (%zu -> %zu)", b1,
              tu_programs_made(tu.ctx));

    /* Another local_size is another variant. */
    lrncl_desc d3 = make_desc(LRNCL_ACROSS_CHANNELS, 7, 1e-4f, 0.75f, 1.0f, 1, 16, 4, 4);
    lrncl_plan *p3 = tu_plan(tu.ctx, &d3);
    size_t b3 = tu_programs_made(tu.ctx);
    cr_expect(b3 > b1, "local_size 7 did not build (%zu -> %zu)", b1, b3);
    lrncl_plan *p3b = tu_plan(tu.ctx, &d3);
    cr_expect(tu_programs_made(tu.ctx) == b3, "second local_size 7 plan rebuilt");

    /* Another mode is another variant, cached the same way. */
    lrncl_desc d4 = make_desc(LRNCL_WITHIN_CHANNEL, 5, 0.5f, 0.75f, 1.0f, 1, 3, 6, 7);
    lrncl_plan *p4 = tu_plan(tu.ctx, &d4);
    size_t b4 = tu_programs_made(tu.ctx);
    cr_expect(b4 > b3, "within/5 did not build (%zu -> %zu)", b3, b4);
    lrncl_desc d5 = make_desc(LRNCL_WITHIN_CHANNEL, 5, 2.0f, 0.75f, 3.0f, 2, 2, 9, 4);
    lrncl_plan *p5 = tu_plan(tu.ctx, &d5);
    cr_expect(tu_programs_made(tu.ctx) == b4, "second within/5 plan rebuilt");

    /* Every plan, hit or miss, runs the right kernels. */
    expect_correct(p1, &d1, "p1 across/5");
    expect_correct(p2, &d2, "p2 across/5 (cache hit)");
    expect_correct(p3, &d3, "p3 across/7");
    expect_correct(p3b, &d3, "p3b across/7 (cache hit)");
    expect_correct(p4, &d4, "p4 within/5");
    expect_correct(p5, &d5, "p5 within/5 (cache hit)");
    /* Running does not build anything either. */
    cr_expect(tu_programs_made(tu.ctx) == b4, "running plans built programs (%zu -> %zu)", b4,
              tu_programs_made(tu.ctx));

    /* A second context has its own cache: it builds, and the first one's count stays. */
    lrncl_context *c2 = NULL;
    lrncl_status st = lrncl_context_create_default(&c2);
    cr_assert(st == LRNCL_SUCCESS, "second context -> %s: %s", lrncl_status_string(st), lrncl_last_error());
    size_t c2b0 = tu_programs_made(c2);
    cr_expect(c2b0 == 0, "a new context reports %zu builds", c2b0);
    lrncl_plan *q1 = tu_plan(c2, &d1);
    cr_expect(tu_programs_made(c2) > c2b0, "second context did not make its own programs");
    cr_expect(tu_programs_made(tu.ctx) == b4, "building in the second context counted in the first");
    lrncl_plan_release(q1);
    lrncl_context_release(c2);

    lrncl_plan_release(p5);
    lrncl_plan_release(p4);
    lrncl_plan_release(p3b);
    lrncl_plan_release(p3);
    lrncl_plan_release(p2);
    lrncl_plan_release(p1);
}

/* The plan copies the descriptor: changing it afterwards changes nothing. */
Test(cache, plan_copies_descriptor)
{
    lrncl_desc d = make_desc(LRNCL_ACROSS_CHANNELS, 3, 0.7f, 0.75f, 1.5f, 1, 6, 3, 3);
    lrncl_desc keep = d;
    lrncl_plan *p = tu_plan(tu.ctx, &d);
    d.alpha = 100.0f;
    d.local_size = 9;
    d.c = 1;
    expect_correct(p, &keep, "plan after its descriptor was changed");
    lrncl_plan_release(p);
}

/* ---- reference counts --------------------------------------------------------------------- */
static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static cl_uint context_refs(cl_context c)
{
    cl_uint n = 0;
    cl_int err = clGetContextInfo(c, CL_CONTEXT_REFERENCE_COUNT, sizeof n, &n, NULL);
    cr_assert(err == CL_SUCCESS, "clGetContextInfo -> %d", (int)err);
    return n;
}

TestSuite(refcount, .init = tu_setup, .fini = tu_teardown, .timeout = 120);

Test(refcount, context_retained_and_released)
{
    cl_int err = CL_SUCCESS;
    cl_context mine = clCreateContext(NULL, 1, &tu.dev, NULL, NULL, &err);
    cr_assert(err == CL_SUCCESS && mine, "clCreateContext -> %d", (int)err);
    cl_uint r0 = context_refs(mine);

    lrncl_context *c = NULL;
    lrncl_status st = lrncl_context_create(mine, tu.dev, &c);
    cr_assert(st == LRNCL_SUCCESS && c, "lrncl_context_create -> %s: %s", lrncl_status_string(st), lrncl_last_error());
    cr_expect(context_refs(mine) == r0 + 1, "lrncl_context_create: reference count %u -> %u, expected +1", r0,
              context_refs(mine));
    cr_expect(lrncl_context_cl(c) == mine, "lrncl_context_cl does not return the cl_context given");
    cr_expect(lrncl_context_device(c) == tu.dev, "lrncl_context_device does not return the device given");
    cr_expect(context_refs(mine) == r0 + 1, "lrncl_context_cl/device changed the reference count");

    lrncl_context_release(c);
    cr_expect(context_refs(mine) == r0, "lrncl_context_release: reference count %u, expected %u", context_refs(mine),
              r0);
    clReleaseContext(mine);
}

/* Plans, runs (the within-channel backward without scale allocates a temporary) and releases
 * leave no OpenCL object behind that still holds the user's context. */
Test(refcount, nothing_leaks_after_use)
{
    cl_int err = CL_SUCCESS;
    cl_context mine = clCreateContext(NULL, 1, &tu.dev, NULL, NULL, &err);
    cr_assert(err == CL_SUCCESS && mine, "clCreateContext -> %d", (int)err);
    cl_uint r0 = context_refs(mine);

    lrncl_context *c = NULL;
    lrncl_status st = lrncl_context_create(mine, tu.dev, &c);
    cr_assert(st == LRNCL_SUCCESS && c, "lrncl_context_create -> %s", lrncl_status_string(st));
    cl_command_queue q = clCreateCommandQueue(mine, tu.dev, 0, &err);
    cr_assert(err == CL_SUCCESS);
    const size_t count = 2 * 5 * 4 * 3;
    float x[120];
    fill(x, count, 3);
    cl_mem bx = clCreateBuffer(mine, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof x, x, &err);
    cl_mem by = clCreateBuffer(mine, CL_MEM_READ_WRITE, sizeof x, NULL, &err);
    cl_mem bs = clCreateBuffer(mine, CL_MEM_READ_WRITE, sizeof x, NULL, &err);
    cl_mem bdy = clCreateBuffer(mine, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof x, x, &err);
    cl_mem bdx = clCreateBuffer(mine, CL_MEM_READ_WRITE, sizeof x, NULL, &err);
    cr_assert(err == CL_SUCCESS);
    const lrncl_mode modes[] = {LRNCL_ACROSS_CHANNELS, LRNCL_WITHIN_CHANNEL};
    for (int i = 0; i < 2; i++) {
        lrncl_desc d = make_desc(modes[i], 3, 1.0f, 0.75f, 1.0f, 2, 5, 4, 3);
        lrncl_plan *p = tu_plan(c, &d);
        cl_event ev = NULL;
        cr_expect(lrncl_forward(p, q, bx, by, bs, 0, NULL, NULL) == LRNCL_SUCCESS);
        cr_expect(lrncl_backward(p, q, bx, by, bdy, bs, bdx, 0, NULL, NULL) == LRNCL_SUCCESS);
        cr_expect(lrncl_backward(p, q, bx, by, bdy, NULL, bdx, 0, NULL, &ev) == LRNCL_SUCCESS);
        cr_assert(clFinish(q) == CL_SUCCESS);
        if (ev)
            clReleaseEvent(ev);
        lrncl_plan_release(p);
    }
    clReleaseMemObject(bdx);
    clReleaseMemObject(bdy);
    clReleaseMemObject(bs);
    clReleaseMemObject(by);
    clReleaseMemObject(bx);
    clReleaseCommandQueue(q);
    lrncl_context_release(c);
    /* OpenCL may free finished commands' objects (the temporary scale buffer, kernels) a little
     * after clFinish returns; PoCL does so from its own thread. A leak never comes back. */
    cl_uint left = context_refs(mine);
    for (int i = 0; i < 200 && left != r0; i++) {
        sleep_ms(10);
        left = context_refs(mine);
    }
    cr_expect(left == r0, "after releasing everything (and 2 s) the cl_context has %u references, expected %u", left,
              r0);
    clReleaseContext(mine);
}

/* ---- events ------------------------------------------------------------------------------- */
static cl_int event_status(cl_event e)
{
    cl_int s = 0;
    cr_assert(clGetEventInfo(e, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof s, &s, NULL) == CL_SUCCESS);
    return s;
}

TestSuite(events, .init = tu_setup, .fini = tu_teardown, .timeout = 120);

/* forward on queue 1 waits on a user event; backward on queue 2 waits on forward's done event.
 * Nothing may run before the user event completes; afterwards all results are right. Two
 * queues, so only the wait lists order the work. */
static void chain(lrncl_mode mode, bool with_scale)
{
    lrncl_desc d = make_desc(mode, 5, 0.8f, 0.75f, 1.0f, 2, 7, 5, 3);
    size_t count = lrncl_desc_elements(&d);
    lrncl_plan *p = tu_plan(tu.ctx, &d);
    float *x = tu_floats(count), *dy = tu_floats(count), *got = tu_floats(count);
    fill(x, count, 4);
    fill(dy, count, 5);
    double *y = tu_doubles(count), *s = tu_doubles(count), *dx = tu_doubles(count);
    cr_assert(tu_reference(&d, x, dy, y, s, dx) == LRNCL_SUCCESS);

    cl_int err = CL_SUCCESS;
    cl_command_queue q2 = clCreateCommandQueue(tu.cl, tu.dev, 0, &err);
    cr_assert(err == CL_SUCCESS);
    cl_command_queue q3 = clCreateCommandQueue(tu.cl, tu.dev, 0, &err);
    cr_assert(err == CL_SUCCESS);
    cl_mem bx = tu_buffer_from(x, count), bdy = tu_buffer_from(dy, count);
    cl_mem by = tu_buffer(count), bs = tu_buffer(count), bdx = tu_buffer(count);
    tu_poison(by, count);
    tu_poison(bs, count);
    tu_poison(bdx, count);

    cl_event gate = clCreateUserEvent(tu.cl, &err);
    cr_assert(err == CL_SUCCESS);
    cl_event fwd = NULL, bwd = NULL;
    lrncl_status st = lrncl_forward(p, tu.q, bx, by, with_scale ? bs : NULL, 1, &gate, &fwd);
    cr_assert(st == LRNCL_SUCCESS && fwd, "lrncl_forward -> %s: %s", lrncl_status_string(st), lrncl_last_error());
    st = lrncl_backward(p, q2, bx, by, bdy, with_scale ? bs : NULL, bdx, 1, &fwd, &bwd);
    cr_assert(st == LRNCL_SUCCESS && bwd, "lrncl_backward -> %s: %s", lrncl_status_string(st), lrncl_last_error());
    clFlush(tu.q);
    clFlush(q2);
    sleep_ms(300);

    cr_expect(event_status(fwd) != CL_COMPLETE, "forward completed before its wait list did");
    cr_expect(event_status(bwd) != CL_COMPLETE, "backward completed before forward could run");
    /* Peek at the outputs through a third queue. Should this device order the read after the
     * gated kernels anyway, the read simply does not finish and the peek is skipped. */
    cl_event peek = NULL;
    err = clEnqueueReadBuffer(q3, bdx, CL_FALSE, 0, count * sizeof(float), got, 0, NULL, &peek);
    cr_assert(err == CL_SUCCESS);
    clFlush(q3);
    bool peeked = false;
    for (int i = 0; i < 50 && !peeked; i++) {
        peeked = event_status(peek) == CL_COMPLETE;
        if (!peeked)
            sleep_ms(10);
    }
    cr_log_info("peek at dx while gated: %s", peeked ? "done" : "blocked by the device (skipped)");
    if (peeked) {
        bool all_nan = true;
        for (size_t i = 0; i < count; i++)
            all_nan = all_nan && isnan(got[i]);
        cr_expect(all_nan, "dx was written before the user event completed");
    }

    cr_assert(clSetUserEventStatus(gate, CL_COMPLETE) == CL_SUCCESS);
    cr_assert(clWaitForEvents(1, &bwd) == CL_SUCCESS, "waiting for backward failed");
    cr_expect(event_status(fwd) == CL_COMPLETE, "backward finished, forward not");
    cr_assert(clWaitForEvents(1, &peek) == CL_SUCCESS);
    clReleaseEvent(peek);

    struct tu_cmp r;
    tu_read(by, got, count);
    cr_expect(tu_check_forward("y", &d, got, y, count, &r), "%s", r.msg);
    if (with_scale) {
        tu_read(bs, got, count);
        cr_expect(tu_check_forward("scale", &d, got, s, count, &r), "%s", r.msg);
    }
    tu_read(bdx, got, count);
    cr_expect(tu_check_backward("dx", &d, got, dx, count, &r), "%s", r.msg);

    clReleaseEvent(bwd);
    clReleaseEvent(fwd);
    clReleaseEvent(gate);
    tu_release(&bdx);
    tu_release(&bs);
    tu_release(&by);
    tu_release(&bdy);
    tu_release(&bx);
    clReleaseCommandQueue(q3);
    clReleaseCommandQueue(q2);
    free(dx);
    free(s);
    free(y);
    free(got);
    free(dy);
    free(x);
    lrncl_plan_release(p);
}

Test(events, chain_across_with_scale)
{
    chain(LRNCL_ACROSS_CHANNELS, true);
}

Test(events, chain_across_without_scale)
{
    chain(LRNCL_ACROSS_CHANNELS, false);
}

Test(events, chain_within_with_scale)
{
    chain(LRNCL_WITHIN_CHANNEL, true);
}

Test(events, chain_within_without_scale)
{
    chain(LRNCL_WITHIN_CHANNEL, false);
}

/* done may be NULL; when given it is a real event that completes. */
Test(events, done_optional)
{
    lrncl_desc d = make_desc(LRNCL_ACROSS_CHANNELS, 5, 1.0f, 0.75f, 1.0f, 1, 8, 2, 2);
    size_t count = lrncl_desc_elements(&d);
    lrncl_plan *p = tu_plan(tu.ctx, &d);
    float x[32];
    fill(x, count, 6);
    cl_mem bx = tu_buffer_from(x, count), bdy = tu_buffer_from(x, count), by = tu_buffer(count);
    cl_mem bdx = tu_buffer(count);
    cr_expect(lrncl_forward(p, tu.q, bx, by, NULL, 0, NULL, NULL) == LRNCL_SUCCESS);
    cl_event e = NULL;
    cr_expect(lrncl_forward(p, tu.q, bx, by, NULL, 0, NULL, &e) == LRNCL_SUCCESS && e != NULL);
    cr_assert(clWaitForEvents(1, &e) == CL_SUCCESS);
    cr_expect(event_status(e) == CL_COMPLETE);
    clReleaseEvent(e);
    e = NULL;
    cr_expect(lrncl_backward(p, tu.q, bx, by, bdy, NULL, bdx, 0, NULL, &e) == LRNCL_SUCCESS && e != NULL);
    cr_assert(clWaitForEvents(1, &e) == CL_SUCCESS);
    clReleaseEvent(e);
    tu_release(&bdx);
    tu_release(&by);
    tu_release(&bdy);
    tu_release(&bx);
    lrncl_plan_release(p);
}

/* ---- threads ------------------------------------------------------------------------------ */
#define N_THREADS 4
#define ITERS     40

struct worker {
    lrncl_plan *plan;
    const lrncl_desc *d;
    size_t count;
    float *x[2];          /* two inputs, alternated, unique to this thread */
    double *ref[2];       /* their reference outputs */
    pthread_barrier_t *start;
    int failures;
    char msg[768];
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    cl_int err = CL_SUCCESS;
    cl_command_queue q = clCreateCommandQueue(tu.cl, tu.dev, 0, &err);
    cl_mem bx = clCreateBuffer(tu.cl, CL_MEM_READ_WRITE, w->count * sizeof(float), NULL, &err);
    cl_mem by = clCreateBuffer(tu.cl, CL_MEM_READ_WRITE, w->count * sizeof(float), NULL, &err);
    cl_mem bs = clCreateBuffer(tu.cl, CL_MEM_READ_WRITE, w->count * sizeof(float), NULL, &err);
    float *got = malloc(w->count * sizeof(float));
    pthread_barrier_wait(w->start);
    if (!q || !bx || !by || !bs || !got) {
        w->failures++;
        snprintf(w->msg, sizeof w->msg, "worker setup failed (%d)", (int)err);
        goto done;
    }
    for (int it = 0; it < ITERS; it++) {
        int which = it & 1;
        for (size_t i = 0; i < w->count; i++)
            got[i] = NAN;
        clEnqueueWriteBuffer(q, by, CL_FALSE, 0, w->count * sizeof(float), got, 0, NULL, NULL);
        clEnqueueWriteBuffer(q, bx, CL_FALSE, 0, w->count * sizeof(float), w->x[which], 0, NULL, NULL);
        lrncl_status st = lrncl_forward(w->plan, q, bx, by, (it % 3) ? bs : NULL, 0, NULL, NULL);
        if (st != LRNCL_SUCCESS) {
            if (w->failures++ == 0)
                snprintf(w->msg, sizeof w->msg, "iteration %d: lrncl_forward -> %s: %s", it,
                         lrncl_status_string(st), lrncl_last_error());
            continue;
        }
        err = clEnqueueReadBuffer(q, by, CL_TRUE, 0, w->count * sizeof(float), got, 0, NULL, NULL);
        struct tu_cmp r;
        if (err != CL_SUCCESS) {
            if (w->failures++ == 0)
                snprintf(w->msg, sizeof w->msg, "iteration %d: read -> %d", it, (int)err);
        } else if (!tu_check_forward("y", w->d, got, w->ref[which], w->count, &r)) {
            if (w->failures++ == 0)
                snprintf(w->msg, sizeof w->msg, "iteration %d: %.700s", it, r.msg);
        }
    }
done:
    free(got);
    if (bs)
        clReleaseMemObject(bs);
    if (by)
        clReleaseMemObject(by);
    if (bx)
        clReleaseMemObject(bx);
    if (q) {
        clFinish(q);
        clReleaseCommandQueue(q);
    }
    return NULL;
}

static void threads(lrncl_mode mode)
{
    lrncl_desc d = make_desc(mode, 5, 0.9f, 0.75f, 1.0f, 2, 11, 6, 5);
    size_t count = lrncl_desc_elements(&d);
    lrncl_plan *p = tu_plan(tu.ctx, &d);
    struct worker w[N_THREADS];
    pthread_t t[N_THREADS];
    pthread_barrier_t start;
    cr_assert(pthread_barrier_init(&start, NULL, N_THREADS) == 0);
    for (int i = 0; i < N_THREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].plan = p;
        w[i].d = &d;
        w[i].count = count;
        w[i].start = &start;
        for (int j = 0; j < 2; j++) {
            w[i].x[j] = tu_floats(count);
            w[i].ref[j] = tu_doubles(count);
            fill(w[i].x[j], count, 100u + (unsigned)(2 * i + j));
            cr_assert(tu_reference(&d, w[i].x[j], NULL, w[i].ref[j], NULL, NULL) == LRNCL_SUCCESS);
        }
    }
    for (int i = 0; i < N_THREADS; i++)
        cr_assert(pthread_create(&t[i], NULL, worker_main, &w[i]) == 0);
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < N_THREADS; i++) {
        cr_expect(w[i].failures == 0, "thread %d: %d of %d iterations wrong; first: %s", i, w[i].failures, ITERS,
                  w[i].msg);
        for (int j = 0; j < 2; j++) {
            free(w[i].x[j]);
            free(w[i].ref[j]);
        }
    }
    pthread_barrier_destroy(&start);
    lrncl_plan_release(p);
}

TestSuite(threads, .init = tu_setup, .fini = tu_teardown, .timeout = 120);

Test(threads, shared_plan_across)
{
    threads(LRNCL_ACROSS_CHANNELS);
}

Test(threads, shared_plan_within)
{
    threads(LRNCL_WITHIN_CHANNEL);
}
