/* test_guarantees.c: the boundaries docs/design.md ("Guarantees") promises: wait lists are
 * checked entry by entry, overlap is seen through sub-buffers (and in-place is decided by
 * address, not by handle), shapes past the kernels' 32-bit index range are refused at plan
 * creation, and the numeric range: inside it the accuracy bounds hold, past it a scale that
 * overflows float32 gives y = 0 and dx = 0, never NaN. */
#include "testutil.h"

#include <criterion/criterion.h>

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SENTINEL ((cl_event)0x1234)

static lrncl_desc D;
static lrncl_plan *P;
static size_t COUNT;
static cl_mem X, Y, S, DY, DX;

static void setup(void)
{
    tu_setup();
    D = tu_desc(LRNCL_CONVENTION_CAFFE, LRNCL_ACROSS_CHANNELS, 5, 0.5f, 0.75f, 1.0f, 2, 20, 3, 5);
    COUNT = lrncl_desc_elements(&D);
    P = tu_plan(tu.ctx, &D);
    float *h = tu_floats(COUNT);
    for (size_t i = 0; i < COUNT; i++)
        h[i] = (float)(i % 11) - 5.0f;
    X = tu_buffer_from(h, COUNT);
    DY = tu_buffer_from(h, COUNT);
    free(h);
    Y = tu_buffer(COUNT);
    S = tu_buffer(COUNT);
    DX = tu_buffer(COUNT);
}

static void teardown(void)
{
    tu_release(&DX);
    tu_release(&S);
    tu_release(&Y);
    tu_release(&DY);
    tu_release(&X);
    lrncl_plan_release(P);
    P = NULL;
    tu_teardown();
}

/* A refused call: the status wanted, a message, *done untouched, nothing written. */
static void expect_refused(const char *label, lrncl_status st, lrncl_status want, cl_event ev)
{
    cr_expect(st == want, "%s: returned %d (%s), expected %d (%s); last_error: \"%s\"", label, (int)st,
              lrncl_status_string(st), (int)want, lrncl_status_string(want), lrncl_last_error());
    cr_expect(lrncl_last_error()[0] != '\0', "%s: no detail message", label);
    cr_expect(ev == SENTINEL, "%s: *done was changed by a refused call", label);
    if (ev != SENTINEL && ev != NULL)
        clReleaseEvent(ev);
    cr_assert(clFinish(tu.q) == CL_SUCCESS, "%s: the queue does not drain", label);
    cr_expect(tu_still_poisoned(Y, COUNT) && tu_still_poisoned(S, COUNT) && tu_still_poisoned(DX, COUNT),
              "%s: an output was written by a refused call", label);
}

/* ---- wait lists --------------------------------------------------------------------------- */
TestSuite(wait_list, .init = setup, .fini = teardown, .timeout = 60);

static void both_refused(const char *label, lrncl_status want, cl_uint n, const cl_event *wait)
{
    char buf[160];
    tu_poison(Y, COUNT);
    tu_poison(S, COUNT);
    tu_poison(DX, COUNT);
    cl_event ev = SENTINEL;
    snprintf(buf, sizeof buf, "forward(%s)", label);
    expect_refused(buf, lrncl_forward(P, tu.q, X, Y, S, n, wait, &ev), want, ev);
    ev = SENTINEL;
    snprintf(buf, sizeof buf, "backward(%s)", label);
    expect_refused(buf, lrncl_backward(P, tu.q, X, Y, DY, S, DX, n, wait, &ev), want, ev);
    ev = SENTINEL;
    snprintf(buf, sizeof buf, "backward(%s, scale NULL)", label);
    expect_refused(buf, lrncl_backward(P, tu.q, X, Y, DY, NULL, DX, n, wait, &ev), want, ev);
}

Test(wait_list, null_entries_refused)
{
    const cl_event two_null[2] = {NULL, NULL};
    both_refused("wait {NULL, NULL}", (lrncl_status)CL_INVALID_EVENT_WAIT_LIST, 2, two_null);
    cl_int err;
    cl_event ok = clCreateUserEvent(tu.cl, &err);
    cr_assert(err == CL_SUCCESS);
    const cl_event second_null[2] = {ok, NULL};
    both_refused("wait {event, NULL}", (lrncl_status)CL_INVALID_EVENT_WAIT_LIST, 2, second_null);
    clSetUserEventStatus(ok, CL_COMPLETE);
    clReleaseEvent(ok);
}

Test(wait_list, event_of_another_context_refused)
{
    cl_int err;
    cl_context other = clCreateContext(NULL, 1, &tu.dev, NULL, NULL, &err);
    cr_assert(err == CL_SUCCESS);
    cl_event foreign = clCreateUserEvent(other, &err);
    cr_assert(err == CL_SUCCESS);
    clSetUserEventStatus(foreign, CL_COMPLETE);
    both_refused("wait {event of another context}", LRNCL_ERROR_CONTEXT_MISMATCH, 1, &foreign);
    cr_expect(strstr(lrncl_last_error(), "wait[0]") != NULL, "message \"%s\" does not name wait[0]",
              lrncl_last_error());
    clReleaseEvent(foreign);
    clReleaseContext(other);
}

Test(wait_list, not_an_event_refused)
{
    /* A buffer passed where an event belongs: the queue would wait on it forever. */
    const cl_event fake = (cl_event)(void *)X;
    both_refused("wait {cl_mem cast to cl_event}", (lrncl_status)CL_INVALID_EVENT_WAIT_LIST, 1, &fake);
}

Test(wait_list, valid_events_accepted)
{
    cl_int err;
    cl_event gate = clCreateUserEvent(tu.cl, &err);
    cr_assert(err == CL_SUCCESS);
    cl_event done = NULL;
    tu_poison(Y, COUNT);
    lrncl_status st = lrncl_forward(P, tu.q, X, Y, S, 1, &gate, &done);
    cr_assert(st == LRNCL_SUCCESS && done, "forward with a user event: %s: %s", lrncl_status_string(st),
              lrncl_last_error());
    clSetUserEventStatus(gate, CL_COMPLETE);
    cr_assert(clWaitForEvents(1, &done) == CL_SUCCESS);
    float *y = tu_floats(COUNT);
    tu_read(Y, y, COUNT);
    size_t nan = 0;
    for (size_t i = 0; i < COUNT; i++)
        nan += isnan(y[i]) != 0;
    cr_expect(nan == 0, "forward behind a user event left %zu elements unwritten", nan);
    free(y);
    clReleaseEvent(done);
    clReleaseEvent(gate);
}

/* ---- overlap through sub-buffers ---------------------------------------------------------- */
TestSuite(sub_buffers, .init = setup, .fini = teardown, .timeout = 120);

/* Floats per sub-buffer origin step (the device's base address alignment). */
static size_t align_floats(void)
{
    cl_uint bits = 0;
    cr_assert(clGetDeviceInfo(tu.dev, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof bits, &bits, NULL) == CL_SUCCESS);
    size_t f = bits / 8 / sizeof(float);
    return f ? f : 1;
}

static cl_mem sub(cl_mem parent, size_t first_float, size_t floats)
{
    cl_buffer_region r = {first_float * sizeof(float), floats * sizeof(float)};
    cl_int err;
    cl_mem m = clCreateSubBuffer(parent, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &r, &err);
    cr_assert(err == CL_SUCCESS && m, "clCreateSubBuffer(%zu, %zu floats) -> %d", first_float, floats, (int)err);
    return m;
}

Test(sub_buffers, overlap_refused)
{
    const size_t al = align_floats();
    const size_t step = (COUNT + al - 1) / al * al; /* one view, rounded to the alignment */
    cl_mem arena = tu_buffer(4 * step);
    cl_mem a = sub(arena, 0, COUNT), b = sub(arena, step, COUNT);
    cl_mem a_over = sub(arena, al, COUNT); /* overlaps a by COUNT - al floats */
    cr_assert(al < COUNT, "alignment %zu floats: the overlap test needs views that can overlap", al);
    cl_event ev = SENTINEL;

    /* y is a child of x's buffer, and x its parent; dx a sub-buffer overlapping dy. */
    tu_poison(Y, COUNT);
    tu_poison(S, COUNT);
    tu_poison(DX, COUNT);
    lrncl_status st = lrncl_forward(P, tu.q, arena, a_over, S, 0, NULL, &ev);
    expect_refused("forward(y a sub-buffer of x's buffer, overlapping)", st, LRNCL_ERROR_ALIASED_BUFFERS, ev);
    st = lrncl_forward(P, tu.q, a, Y, a_over, 0, NULL, &ev);
    expect_refused("forward(scale overlapping x through sub-buffers)", st, LRNCL_ERROR_ALIASED_BUFFERS, ev);
    st = lrncl_forward(P, tu.q, a_over, Y, a, 0, NULL, &ev);
    expect_refused("forward(scale overlapping x, the other way)", st, LRNCL_ERROR_ALIASED_BUFFERS, ev);
    st = lrncl_backward(P, tu.q, X, Y, a, S, a_over, 0, NULL, &ev);
    expect_refused("backward(dx overlapping dy through sub-buffers)", st, LRNCL_ERROR_ALIASED_BUFFERS, ev);
    st = lrncl_backward(P, tu.q, X, Y, arena, NULL, a, 0, NULL, &ev);
    expect_refused("backward(dx a child of dy's buffer)", st, LRNCL_ERROR_ALIASED_BUFFERS, ev);
    cr_expect(strstr(lrncl_last_error(), "sub-buffer") != NULL, "message \"%s\" does not say sub-buffer",
              lrncl_last_error());

    /* Disjoint views of one buffer are fine, as sub-buffers or as the parent with offsets. */
    cl_event done = NULL;
    st = lrncl_forward(P, tu.q, a, b, NULL, 0, NULL, &done);
    cr_expect(st == LRNCL_SUCCESS, "forward(x, y disjoint sub-buffers) refused: %s", lrncl_last_error());
    if (done) {
        clWaitForEvents(1, &done);
        clReleaseEvent(done);
    }
    tu_release(&a_over);
    tu_release(&b);
    tu_release(&a);
    tu_release(&arena);
}

/* Runs the plan of d out of place on separate buffers and returns y. */
static float *reference_run(const lrncl_desc *d, lrncl_plan *p, const float *x)
{
    size_t n = lrncl_desc_elements(d);
    cl_mem bx = tu_buffer_from(x, n), by = tu_buffer(n);
    tu_poison(by, n);
    cr_assert(lrncl_forward(p, tu.q, bx, by, NULL, 0, NULL, NULL) == LRNCL_SUCCESS, "%s", lrncl_last_error());
    float *y = tu_floats(n);
    tu_read(by, y, n);
    tu_release(&by);
    tu_release(&bx);
    return y;
}

/* In-place forward through two handles: x a sub-buffer, y its parent with the offset that puts
 * y on the same first byte. That is in-place (whole columns), and its result must be bitwise the
 * out-of-place one; run as an ordinary forward, slide blocks would read x their neighbours
 * had already overwritten. */
Test(sub_buffers, in_place_through_a_sub_buffer)
{
    const size_t al = align_floats();
    lrncl_desc d = D;
    d.offset_y = al;
    lrncl_plan *p = tu_plan(tu.ctx, &d);
    lrncl_tuning t;
    cr_assert(lrncl_plan_get_tuning(p, LRNCL_KERNEL_FORWARD, &t) == LRNCL_SUCCESS);
    if (t.slide_block >= d.c) {
        /* blocks shorter than the channels, so that an unsafe run would show; kernels without
         * slide blocks (the FPGA ones, one work-item each) refuse this as unsupported */
        t.slide_block = 4;
        lrncl_status ts = lrncl_plan_set_tuning(p, LRNCL_KERNEL_FORWARD, &t);
        cr_assert(ts == LRNCL_SUCCESS || ts == LRNCL_ERROR_UNSUPPORTED, "%s", lrncl_last_error());
    }
    float *x = tu_floats(COUNT);
    struct tu_rng g;
    tu_rng_init(&g, tu_seed(7));
    for (size_t i = 0; i < COUNT; i++)
        x[i] = (float)tu_rng_range(&g, -3, 3);
    lrncl_desc plain = d;
    plain.offset_y = 0;
    lrncl_plan *pp = tu_plan(tu.ctx, &plain);
    float *want = reference_run(&plain, pp, x);
    lrncl_plan_release(pp);

    cl_mem parent = tu_buffer(al + COUNT);
    tu_poison(parent, al + COUNT);
    cl_int err = clEnqueueWriteBuffer(tu.q, parent, CL_TRUE, al * sizeof(float), COUNT * sizeof(float), x, 0, NULL,
                                      NULL);
    cr_assert(err == CL_SUCCESS);
    cl_mem child = sub(parent, al, COUNT);
    lrncl_status st = lrncl_forward(p, tu.q, child, parent, NULL, 0, NULL, NULL);
    cr_assert(st == LRNCL_SUCCESS, "in-place forward through a sub-buffer refused: %s: %s", lrncl_status_string(st),
              lrncl_last_error());
    float *got = tu_floats(al + COUNT);
    tu_read(parent, got, al + COUNT);
    size_t at = tu_first_difference(got + al, want, COUNT);
    cr_expect(at == COUNT, "in-place through a sub-buffer differs from out-of-place at %zu: %a vs %a", at,
              at < COUNT ? (double)got[al + at] : 0.0, at < COUNT ? (double)want[at] : 0.0);
    free(got);
    tu_release(&child);
    tu_release(&parent);
    free(want);
    free(x);
    lrncl_plan_release(p);
}

/* x and y in one buffer at disjoint offsets is not in-place: allowed for every plan (the within
 * one refuses in-place), and bitwise the result on separate buffers. */
Test(sub_buffers, arena_disjoint_offsets)
{
    lrncl_mode modes[2] = {LRNCL_ACROSS_CHANNELS, LRNCL_WITHIN_CHANNEL};
    for (int m = 0; m < 2; m++) {
        lrncl_desc d = D;
        d.mode = modes[m];
        d.local_size = 3;
        d.offset_x = 0;
        d.offset_y = COUNT + 3;
        lrncl_plan *p = tu_plan(tu.ctx, &d);
        float *x = tu_floats(COUNT);
        for (size_t i = 0; i < COUNT; i++)
            x[i] = (float)((i * 7) % 13) - 6.0f;
        lrncl_desc plain = d;
        plain.offset_y = 0;
        lrncl_plan *pp = tu_plan(tu.ctx, &plain);
        float *want = reference_run(&plain, pp, x);
        cl_mem arena = tu_buffer(2 * COUNT + 3);
        tu_poison(arena, 2 * COUNT + 3);
        cr_assert(clEnqueueWriteBuffer(tu.q, arena, CL_TRUE, 0, COUNT * sizeof(float), x, 0, NULL, NULL) ==
                  CL_SUCCESS);
        lrncl_status st = lrncl_forward(p, tu.q, arena, arena, NULL, 0, NULL, NULL);
        cr_assert(st == LRNCL_SUCCESS, "mode %d: x, y disjoint in one buffer refused: %s", m, lrncl_last_error());
        float *got = tu_floats(2 * COUNT + 3);
        tu_read(arena, got, 2 * COUNT + 3);
        cr_expect(tu_first_difference(got + COUNT + 3, want, COUNT) == COUNT, "mode %d: arena result differs", m);
        cr_expect(tu_first_difference(got, x, COUNT) == COUNT, "mode %d: x was changed", m);
        free(got);
        tu_release(&arena);
        free(want);
        free(x);
        lrncl_plan_release(pp);
        lrncl_plan_release(p);
    }
}

/* ---- the kernels' index range -------------------------------------------------------------- */
TestSuite(index_range, .init = tu_setup, .fini = tu_teardown, .timeout = 120);

static lrncl_status plan_for(lrncl_mode mode, size_t c, size_t h, size_t w)
{
    lrncl_desc d = tu_desc(LRNCL_CONVENTION_CAFFE, mode, 5, 1, 0.75f, 1, 1, c, h, w);
    lrncl_plan *p = NULL;
    lrncl_status st = lrncl_plan_create(tu.ctx, &d, &p);
    cr_expect((st == LRNCL_SUCCESS) == (p != NULL), "plan_create: status %d but plan %p", (int)st, (void *)p);
    lrncl_plan_release(p);
    return st;
}

Test(index_range, dims_past_32_bit_indexing_refused)
{
    const size_t limit = ((size_t)1 << 31) - 64, big[] = {limit + 1, (size_t)1 << 31, ((size_t)1 << 32) - 1};
    for (int m = 0; m < 2; m++) {
        lrncl_mode mode = m ? LRNCL_WITHIN_CHANNEL : LRNCL_ACROSS_CHANNELS;
        for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
            const size_t v = big[i];
            const size_t shapes[3][3] = {{v, 1, 1}, {1, v, 1}, {1, 1, v}};
            for (int s = 0; s < 3; s++) {
                lrncl_status st = plan_for(mode, shapes[s][0], shapes[s][1], shapes[s][2]);
                cr_expect(st == LRNCL_ERROR_UNSUPPORTED, "mode %d, %s = %zu: returned %d (%s), expected "
                          "LRNCL_ERROR_UNSUPPORTED", m, s == 0 ? "C" : s == 1 ? "H" : "W", v, (int)st,
                          lrncl_status_string(st));
                char num[32];
                snprintf(num, sizeof num, "%zu", v);
                cr_expect(strstr(lrncl_last_error(), num) != NULL, "message \"%s\" does not name %s",
                          lrncl_last_error(), num);
            }
        }
        /* The largest accepted: plan creation only (no buffers of that size are made). */
        for (int s = 0; s < 3; s++) {
            lrncl_status st = plan_for(mode, s == 0 ? limit : 1, s == 1 ? limit : 1, s == 2 ? limit : 1);
            cr_expect(st == LRNCL_SUCCESS, "mode %d, dimension %d = %zu refused: %s", m, s, limit, lrncl_last_error());
        }
    }
}

/* ---- numeric range ------------------------------------------------------------------------- */
TestSuite(numeric_range, .init = tu_setup, .fini = tu_teardown, .timeout = 120);

struct run_out { float *y, *s, *dx; };

static struct run_out run_all(const lrncl_desc *d, const float *x, const float *dy)
{
    size_t n = lrncl_desc_elements(d);
    lrncl_plan *p = tu_plan(tu.ctx, d);
    cl_mem bx = tu_buffer_from(x, n), bdy = tu_buffer_from(dy, n), by = tu_buffer(n), bs = tu_buffer(n),
           bdx = tu_buffer(n);
    tu_poison(by, n);
    tu_poison(bs, n);
    tu_poison(bdx, n);
    cr_assert(lrncl_forward(p, tu.q, bx, by, bs, 0, NULL, NULL) == LRNCL_SUCCESS, "%s", lrncl_last_error());
    cr_assert(lrncl_backward(p, tu.q, bx, by, bdy, bs, bdx, 0, NULL, NULL) == LRNCL_SUCCESS, "%s",
              lrncl_last_error());
    struct run_out o = {tu_floats(n), tu_floats(n), tu_floats(n)};
    tu_read(by, o.y, n);
    tu_read(bs, o.s, n);
    tu_read(bdx, o.dx, n);
    tu_release(&bdx);
    tu_release(&bs);
    tu_release(&by);
    tu_release(&bdy);
    tu_release(&bx);
    lrncl_plan_release(p);
    return o;
}

/* At the edge of the stated range: beta 0.5, a = 1, |x| up to 2^61, so the scale reaches about
 * 2^124 (below FLT_MAX = 2^128) and the ratios dy*y/s about 2^-124 (above FLT_MIN = 2^-126).
 * Every output is normal there, and the accuracy bounds hold. */
Test(numeric_range, edge_inside_range_meets_bounds)
{
    const lrncl_mode modes[2] = {LRNCL_ACROSS_CHANNELS, LRNCL_WITHIN_CHANNEL};
    for (int m = 0; m < 2; m++) {
        /* explicit window 1+1+1 and raw alpha: a = 1, so the scale is 1 + SUM x^2 over 3 (across)
         * or 9 (within) terms */
        lrncl_desc d = tu_desc(LRNCL_CONVENTION_EXPLICIT, modes[m], 3, 1.0f, 0.5f, 1.0f, 2, 6, 4, 5);
        d.window_lo = d.window_hi = 1;
        d.alpha_divisor = LRNCL_ALPHA_RAW;
        size_t n = lrncl_desc_elements(&d);
        float *x = tu_floats(n), *dy = tu_floats(n);
        struct tu_rng g;
        tu_rng_init(&g, tu_seed(1313));
        for (size_t i = 0; i < n; i++) {
            x[i] = ldexpf((float)tu_rng_range(&g, 0.5, 1.0), 60) * (tu_rng_uniform(&g) < 0.5 ? -1 : 1);
            dy[i] = (float)tu_rng_range(&g, -1, 1);
        }
        double *y = tu_doubles(n), *s = tu_doubles(n), *dx = tu_doubles(n);
        cr_assert(tu_reference(&d, x, dy, y, s, dx) == LRNCL_SUCCESS);
        double smax = 0;
        for (size_t i = 0; i < n; i++)
            smax = s[i] > smax ? s[i] : smax;
        cr_assert(smax < FLT_MAX && smax > ldexp(1, 120), "mode %d: the case is not at the edge (max scale %g)", m,
                  smax);
        struct run_out o = run_all(&d, x, dy);
        struct tu_cmp r;
        cr_expect(tu_check_forward("y", &d, o.y, y, n, &r), "mode %d, |x| ~ 2^60: %s", m, r.msg);
        cr_expect(tu_check_forward("scale", &d, o.s, s, n, &r), "mode %d, |x| ~ 2^60: %s", m, r.msg);
        cr_expect(tu_check_backward("dx", &d, o.dx, dx, n, &r), "mode %d, |x| ~ 2^60: %s", m, r.msg);
        free(o.y), free(o.s), free(o.dx), free(y), free(s), free(dx), free(x), free(dy);
    }
}

/* Past the range: a*SUM x^2 overflows float32 (|x| = 2^70, each square 2^140). The scale is
 * +inf, y = 0 and dx = 0 at every position, exactly, with no NaN. */
Test(numeric_range, overflowing_scale_gives_zero_not_nan)
{
    const float betas[] = {0.75f, 0.5f, 1.0f, 0.6f}; /* every beta path */
    for (size_t b = 0; b < sizeof betas / sizeof betas[0]; b++)
        for (int m = 0; m < 2; m++) {
            lrncl_desc d = tu_desc(LRNCL_CONVENTION_CAFFE, m ? LRNCL_WITHIN_CHANNEL : LRNCL_ACROSS_CHANNELS, 3, 1.0f,
                                   betas[b], 1.0f, 1, 5, 3, 4);
            size_t n = lrncl_desc_elements(&d);
            float *x = tu_floats(n), *dy = tu_floats(n);
            for (size_t i = 0; i < n; i++) {
                x[i] = ldexpf(i % 2 ? -1.0f : 1.0f, 70);
                dy[i] = 0.5f;
            }
            struct run_out o = run_all(&d, x, dy);
            size_t bad = n;
            for (size_t i = 0; i < n && bad == n; i++)
                if (!(isinf(o.s[i]) && o.s[i] > 0) || o.y[i] != 0.0f || o.dx[i] != 0.0f)
                    bad = i;
            cr_expect(bad == n, "beta %g, mode %d: at %zu scale %g, y %g, dx %g (expected inf, 0, 0)",
                      (double)betas[b], m, bad, bad < n ? (double)o.s[bad] : 0.0, bad < n ? (double)o.y[bad] : 0.0,
                      bad < n ? (double)o.dx[bad] : 0.0);
            free(o.y), free(o.s), free(o.dx), free(x), free(dy);
        }
}
