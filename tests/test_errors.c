/* test_errors.c: every bad input is refused with its own status, nothing is enqueued (the
 * event out-pointer is untouched and poisoned outputs stay NaN), nothing crashes, and the
 * thread-local detail message says what was wrong. Also the status strings and LRNCL_DEVICE. */
#include "testutil.h"

#include <criterion/criterion.h>

#include <ctype.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SENTINEL ((cl_event)0x1234)

/* ---- fixture: a valid plan and exactly-sized buffers, plus one buffer a float too small ---- */
static lrncl_desc D;
static lrncl_plan *P;
static size_t COUNT;
static cl_mem X, Y, S, DY, DX, SMALL;
static float *HX, *HDY; /* what X and DY hold; the library must never change them */

static void errors_setup(void)
{
    tu_setup();
    lrncl_desc_init(&D, LRNCL_ACROSS_CHANNELS);
    D.n = 2;
    D.c = 7;
    D.h = 3;
    D.w = 5;
    COUNT = lrncl_desc_elements(&D);
    cr_assert(COUNT == 210);
    lrncl_status st = lrncl_plan_create(tu.ctx, &D, &P);
    cr_assert(st == LRNCL_SUCCESS && P, "lrncl_plan_create -> %s: %s", lrncl_status_string(st), lrncl_last_error());
    HX = tu_floats(COUNT);
    HDY = tu_floats(COUNT);
    for (size_t i = 0; i < COUNT; i++) {
        HX[i] = (float)(i % 13) - 6.0f;
        HDY[i] = (float)(i % 7) * 0.25f - 0.5f;
    }
    X = tu_buffer_from(HX, COUNT);
    DY = tu_buffer_from(HDY, COUNT);
    Y = tu_buffer(COUNT);
    S = tu_buffer(COUNT);
    DX = tu_buffer(COUNT);
    SMALL = tu_buffer(COUNT - 1);
}

static void errors_teardown(void)
{
    tu_release(&SMALL);
    tu_release(&DX);
    tu_release(&S);
    tu_release(&Y);
    tu_release(&DY);
    tu_release(&X);
    free(HDY);
    free(HX);
    lrncl_plan_release(P);
    P = NULL;
    tu_teardown();
}

TestSuite(errors, .init = errors_setup, .fini = errors_teardown, .timeout = 60);

static void poison_outputs(void)
{
    tu_poison(Y, COUNT);
    tu_poison(S, COUNT);
    tu_poison(DX, COUNT);
    tu_poison(SMALL, COUNT - 1);
}

static bool same_as(cl_mem b, const float *want)
{
    float *h = tu_floats(COUNT);
    tu_read(b, h, COUNT);
    bool same = memcmp(h, want, COUNT * sizeof(float)) == 0;
    free(h);
    return same;
}

/* After a refused call: no event, nothing written anywhere, a detail message. */
static void expect_refused(const char *label, lrncl_status st, lrncl_status want, cl_event ev)
{
    cr_expect(st == want, "%s: returned %d (%s), expected %d (%s); last_error: \"%s\"", label, (int)st,
              lrncl_status_string(st), (int)want, lrncl_status_string(want), lrncl_last_error());
    const char *detail = lrncl_last_error();
    cr_expect(detail != NULL && detail[0] != '\0', "%s: lrncl_last_error() is empty after a failure", label);
    cr_expect(ev == SENTINEL, "%s: *done was changed by a refused call", label);
    if (ev != SENTINEL && ev != NULL)
        clReleaseEvent(ev);
    cr_assert(clFinish(tu.q) == CL_SUCCESS);
    cr_expect(tu_still_poisoned(Y, COUNT) && tu_still_poisoned(S, COUNT) && tu_still_poisoned(DX, COUNT) &&
                  tu_still_poisoned(SMALL, COUNT - 1),
              "%s: an output buffer was written by a refused call", label);
    cr_expect(same_as(X, HX) && same_as(DY, HDY), "%s: an input buffer was written by a refused call", label);
}

static void fwd_refused(const char *label, lrncl_status want, lrncl_plan *p, cl_command_queue q, cl_mem x,
                        cl_mem y, cl_mem s)
{
    poison_outputs();
    cl_event ev = SENTINEL;
    lrncl_status st = lrncl_forward(p, q, x, y, s, 0, NULL, &ev);
    expect_refused(label, st, want, ev);
}

static void bwd_refused(const char *label, lrncl_status want, lrncl_plan *p, cl_command_queue q, cl_mem x,
                        cl_mem y, cl_mem dy, cl_mem s, cl_mem dx)
{
    poison_outputs();
    cl_event ev = SENTINEL;
    lrncl_status st = lrncl_backward(p, q, x, y, dy, s, dx, 0, NULL, &ev);
    expect_refused(label, st, want, ev);
}

/* ---- NULL handles and buffers ------------------------------------------------------------- */
Test(errors, null_arguments)
{
    lrncl_plan *p = NULL;
    cr_expect(lrncl_plan_create(NULL, &D, &p) == LRNCL_ERROR_NULL_ARGUMENT && p == NULL, "plan_create(ctx NULL)");
    cr_expect(lrncl_plan_create(tu.ctx, NULL, &p) == LRNCL_ERROR_NULL_ARGUMENT && p == NULL,
              "plan_create(desc NULL)");
    cr_expect(lrncl_plan_create(tu.ctx, &D, NULL) == LRNCL_ERROR_NULL_ARGUMENT, "plan_create(out NULL)");

    lrncl_context *c = NULL;
    cr_expect(lrncl_context_create(NULL, tu.dev, &c) == LRNCL_ERROR_NULL_ARGUMENT && c == NULL,
              "context_create(cl_context NULL)");
    cr_expect(lrncl_context_create(tu.cl, NULL, &c) == LRNCL_ERROR_NULL_ARGUMENT && c == NULL,
              "context_create(device NULL)");
    cr_expect(lrncl_context_create(tu.cl, tu.dev, NULL) == LRNCL_ERROR_NULL_ARGUMENT, "context_create(out NULL)");
    cr_expect(lrncl_context_create_default(NULL) == LRNCL_ERROR_NULL_ARGUMENT, "context_create_default(NULL)");
    cr_expect(lrncl_last_error()[0] != '\0', "lrncl_last_error() empty after a NULL argument");

    fwd_refused("forward(plan NULL)", LRNCL_ERROR_NULL_ARGUMENT, NULL, tu.q, X, Y, S);
    fwd_refused("forward(queue NULL)", LRNCL_ERROR_NULL_ARGUMENT, P, NULL, X, Y, S);
    bwd_refused("backward(plan NULL)", LRNCL_ERROR_NULL_ARGUMENT, NULL, tu.q, X, Y, DY, S, DX);
    bwd_refused("backward(queue NULL)", LRNCL_ERROR_NULL_ARGUMENT, P, NULL, X, Y, DY, S, DX);

    /* The host reference takes host arrays: NULL ones are NULL arguments. */
    double h[210];
    cr_expect(lrncl_reference_forward(NULL, h, h, NULL) == LRNCL_ERROR_NULL_ARGUMENT, "reference_forward(desc NULL)");
    cr_expect(lrncl_reference_forward(&D, NULL, h, NULL) == LRNCL_ERROR_NULL_ARGUMENT, "reference_forward(x NULL)");
    cr_expect(lrncl_reference_forward(&D, h, NULL, NULL) == LRNCL_ERROR_NULL_ARGUMENT, "reference_forward(y NULL)");
    cr_expect(lrncl_reference_backward(NULL, h, h, h, h) == LRNCL_ERROR_NULL_ARGUMENT,
              "reference_backward(desc NULL)");
    cr_expect(lrncl_reference_backward(&D, h, h, h, NULL) == LRNCL_ERROR_NULL_ARGUMENT,
              "reference_backward(dx NULL)");

    /* NULL is allowed where the header says so. */
    lrncl_plan_release(NULL);
    lrncl_context_release(NULL);
    cr_expect(lrncl_desc_elements(NULL) == 0);
}

Test(errors, null_buffers)
{
    fwd_refused("forward(x NULL)", LRNCL_ERROR_NULL_BUFFER, P, tu.q, NULL, Y, S);
    fwd_refused("forward(y NULL)", LRNCL_ERROR_NULL_BUFFER, P, tu.q, X, NULL, S);
    fwd_refused("forward(x, y NULL)", LRNCL_ERROR_NULL_BUFFER, P, tu.q, NULL, NULL, NULL);
    bwd_refused("backward(x NULL)", LRNCL_ERROR_NULL_BUFFER, P, tu.q, NULL, Y, DY, S, DX);
    bwd_refused("backward(y NULL)", LRNCL_ERROR_NULL_BUFFER, P, tu.q, X, NULL, DY, S, DX);
    bwd_refused("backward(dy NULL)", LRNCL_ERROR_NULL_BUFFER, P, tu.q, X, Y, NULL, S, DX);
    bwd_refused("backward(dx NULL)", LRNCL_ERROR_NULL_BUFFER, P, tu.q, X, Y, DY, S, NULL);
    bwd_refused("backward(dy, dx NULL, scale NULL)", LRNCL_ERROR_NULL_BUFFER, P, tu.q, X, Y, NULL, NULL, NULL);
}

/* A wait list that says it has events but has none is refused (any error), not enqueued. */
Test(errors, bad_wait_list)
{
    poison_outputs();
    cl_event ev = SENTINEL;
    lrncl_status st = lrncl_forward(P, tu.q, X, Y, S, 1, NULL, &ev);
    cr_expect(st != LRNCL_SUCCESS, "forward(num_wait 1, wait NULL) accepted");
    cr_expect(ev == SENTINEL, "forward(num_wait 1, wait NULL): *done changed");
    cr_assert(clFinish(tu.q) == CL_SUCCESS);
    cr_expect(tu_still_poisoned(Y, COUNT) && tu_still_poisoned(S, COUNT), "forward(num_wait 1, wait NULL) ran");
}

/* ---- descriptors -------------------------------------------------------------------------- */
struct bad_desc {
    const char *label;
    lrncl_desc d;
    lrncl_status want;
    const char *mention; /* text lrncl_last_error() should contain, or NULL */
};

/* plan_create and both references validate the same way; p stays NULL. */
static void expect_bad_desc(const struct bad_desc *b)
{
    lrncl_plan *p = NULL;
    lrncl_status st = lrncl_plan_create(tu.ctx, &b->d, &p);
    cr_expect(st == b->want, "plan_create(%s): returned %d (%s), expected %d (%s); last_error: \"%s\"", b->label,
              (int)st, lrncl_status_string(st), (int)b->want, lrncl_status_string(b->want), lrncl_last_error());
    const char *detail = lrncl_last_error();
    cr_expect(detail && detail[0], "plan_create(%s): lrncl_last_error() is empty", b->label);
    if (b->mention && detail) {
        /* Case-insensitive: "inf", "Inf" and "INF" all name an infinity. */
        char low[1024];
        size_t i = 0;
        for (; detail[i] && i + 1 < sizeof low; i++)
            low[i] = (char)tolower((unsigned char)detail[i]);
        low[i] = '\0';
        cr_expect(strstr(low, b->mention) != NULL, "plan_create(%s): lrncl_last_error() \"%s\" does not mention %s",
                  b->label, detail, b->mention);
    }
    if (st == LRNCL_SUCCESS)
        lrncl_plan_release(p);
    else
        cr_expect(p == NULL, "plan_create(%s): *out set on failure", b->label);

    double buf[8] = {0};
    st = lrncl_reference_forward(&b->d, buf, buf + 4, NULL);
    cr_expect(st == b->want, "reference_forward(%s): returned %d (%s), expected %d", b->label, (int)st,
              lrncl_status_string(st), (int)b->want);
    st = lrncl_reference_backward(&b->d, buf, buf + 2, buf + 4, buf + 6);
    cr_expect(st == b->want, "reference_backward(%s): returned %d (%s), expected %d", b->label, (int)st,
              lrncl_status_string(st), (int)b->want);
}

static lrncl_desc with(lrncl_mode mode, int size, float alpha, float beta, float k)
{
    lrncl_desc d;
    lrncl_desc_init(&d, mode);
    d.n = d.c = d.h = d.w = 1;
    d.local_size = size;
    d.alpha = alpha;
    d.beta = beta;
    d.k = k;
    return d;
}

static lrncl_desc shaped(size_t n, size_t c, size_t h, size_t w)
{
    lrncl_desc d = with(LRNCL_ACROSS_CHANNELS, 5, 1, 0.75f, 1);
    d.n = n;
    d.c = c;
    d.h = h;
    d.w = w;
    return d;
}

static lrncl_desc moded(lrncl_mode m)
{
    lrncl_desc d = with(LRNCL_ACROSS_CHANNELS, 5, 1, 0.75f, 1);
    d.mode = m;
    return d;
}

#define AC LRNCL_ACROSS_CHANNELS
#define WI LRNCL_WITHIN_CHANNEL

Test(errors, bad_mode_shape_size)
{
    const struct bad_desc cases[] = {
        {"mode 2", moded((lrncl_mode)2), LRNCL_ERROR_INVALID_MODE, NULL},
        {"mode 7", moded((lrncl_mode)7), LRNCL_ERROR_INVALID_MODE, "7"},
        {"mode -1", moded((lrncl_mode)-1), LRNCL_ERROR_INVALID_MODE, NULL},
        {"n 0", shaped(0, 3, 4, 5), LRNCL_ERROR_INVALID_SHAPE, NULL},
        {"c 0", shaped(2, 0, 4, 5), LRNCL_ERROR_INVALID_SHAPE, NULL},
        {"h 0", shaped(2, 3, 0, 5), LRNCL_ERROR_INVALID_SHAPE, NULL},
        {"w 0", shaped(2, 3, 4, 0), LRNCL_ERROR_INVALID_SHAPE, NULL},
        {"all 0", shaped(0, 0, 0, 0), LRNCL_ERROR_INVALID_SHAPE, NULL},
        {"across size 0", with(AC, 0, 1, 0.75f, 1), LRNCL_ERROR_INVALID_LOCAL_SIZE, NULL},
        {"across size -1", with(AC, -1, 1, 0.75f, 1), LRNCL_ERROR_INVALID_LOCAL_SIZE, NULL},
        {"across size 2", with(AC, 2, 1, 0.75f, 1), LRNCL_ERROR_INVALID_LOCAL_SIZE, NULL},
        {"across size 4", with(AC, 4, 1, 0.75f, 1), LRNCL_ERROR_INVALID_LOCAL_SIZE, NULL},
        {"across size 24", with(AC, 24, 1, 0.75f, 1), LRNCL_ERROR_INVALID_LOCAL_SIZE, "24"},
        {"across size INT_MIN", with(AC, INT_MIN, 1, 0.75f, 1), LRNCL_ERROR_INVALID_LOCAL_SIZE, NULL},
        {"within size 0", with(WI, 0, 1, 0.75f, 1), LRNCL_ERROR_INVALID_LOCAL_SIZE, NULL},
        {"within size -1", with(WI, -1, 1, 0.75f, 1), LRNCL_ERROR_INVALID_LOCAL_SIZE, NULL},
        {"within size 2", with(WI, 2, 1, 0.75f, 1), LRNCL_ERROR_INVALID_LOCAL_SIZE, NULL},
        {"within size 4", with(WI, 4, 1, 0.75f, 1), LRNCL_ERROR_INVALID_LOCAL_SIZE, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_bad_desc(&cases[i]);
}

Test(errors, bad_alpha_beta_k)
{
    const struct bad_desc cases[] = {
        {"alpha NaN", with(AC, 5, NAN, 0.75f, 1), LRNCL_ERROR_INVALID_ALPHA, "nan"},
        {"alpha +Inf", with(AC, 5, INFINITY, 0.75f, 1), LRNCL_ERROR_INVALID_ALPHA, "inf"},
        {"alpha -Inf", with(AC, 5, -INFINITY, 0.75f, 1), LRNCL_ERROR_INVALID_ALPHA, NULL},
        {"alpha -3.5", with(AC, 5, -3.5f, 0.75f, 1), LRNCL_ERROR_INVALID_ALPHA, "-3.5"},
        {"alpha -1e-30", with(AC, 5, -1e-30f, 0.75f, 1), LRNCL_ERROR_INVALID_ALPHA, NULL},
        {"within alpha NaN", with(WI, 3, NAN, 0.75f, 1), LRNCL_ERROR_INVALID_ALPHA, NULL},
        {"within alpha -1", with(WI, 3, -1, 0.75f, 1), LRNCL_ERROR_INVALID_ALPHA, NULL},
        {"beta NaN", with(AC, 5, 1, NAN, 1), LRNCL_ERROR_INVALID_BETA, "nan"},
        {"beta +Inf", with(AC, 5, 1, INFINITY, 1), LRNCL_ERROR_INVALID_BETA, "inf"},
        {"beta -Inf", with(AC, 5, 1, -INFINITY, 1), LRNCL_ERROR_INVALID_BETA, NULL},
        {"within beta NaN", with(WI, 3, 1, NAN, 1), LRNCL_ERROR_INVALID_BETA, NULL},
        {"within beta Inf", with(WI, 3, 1, INFINITY, 1), LRNCL_ERROR_INVALID_BETA, NULL},
        {"k NaN", with(AC, 5, 1, 0.75f, NAN), LRNCL_ERROR_INVALID_K, "nan"},
        {"k +Inf", with(AC, 5, 1, 0.75f, INFINITY), LRNCL_ERROR_INVALID_K, "inf"},
        {"k -Inf", with(AC, 5, 1, 0.75f, -INFINITY), LRNCL_ERROR_INVALID_K, NULL},
        {"k 0", with(AC, 5, 1, 0.75f, 0), LRNCL_ERROR_INVALID_K, NULL},
        {"k -0", with(AC, 5, 1, 0.75f, -0.0f), LRNCL_ERROR_INVALID_K, NULL},
        {"k -1", with(AC, 5, 1, 0.75f, -1), LRNCL_ERROR_INVALID_K, NULL},
        {"k -2.5", with(AC, 5, 1, 0.75f, -2.5f), LRNCL_ERROR_INVALID_K, "-2.5"},
        /* WITHIN_CHANNEL ignores k (Caffe uses 1), but a NaN or Inf k is still nonsense. */
        {"within k NaN", with(WI, 3, 1, 0.75f, NAN), LRNCL_ERROR_INVALID_K, NULL},
        {"within k Inf", with(WI, 3, 1, 0.75f, INFINITY), LRNCL_ERROR_INVALID_K, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_bad_desc(&cases[i]);
}

/* Edge values that are valid must be accepted (no over-eager validation). */
Test(errors, valid_edges_accepted)
{
    const struct bad_desc cases[] = {
        {"alpha 0", with(AC, 5, 0, 0.75f, 1), LRNCL_SUCCESS, NULL},
        {"beta 0", with(AC, 5, 1, 0, 1), LRNCL_SUCCESS, NULL},
        {"beta -0.5", with(AC, 5, 1, -0.5f, 1), LRNCL_SUCCESS, NULL},
        {"k 1e-30", with(AC, 5, 1, 0.75f, 1e-30f), LRNCL_SUCCESS, NULL},
        {"size 1", with(AC, 1, 1, 0.75f, 1), LRNCL_SUCCESS, NULL},
        {"size 101 > C", with(AC, 101, 1, 0.75f, 1), LRNCL_SUCCESS, NULL},
        {"within k 0", with(WI, 3, 1, 0.75f, 0), LRNCL_SUCCESS, NULL},
        {"within k -1", with(WI, 3, 1, 0.75f, -1), LRNCL_SUCCESS, NULL},
        {"within size 1", with(WI, 1, 1, 0.75f, 1), LRNCL_SUCCESS, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lrncl_plan *p = NULL;
        lrncl_status st = lrncl_plan_create(tu.ctx, &cases[i].d, &p);
        cr_expect(st == LRNCL_SUCCESS && p != NULL, "plan_create(%s) refused: %s: %s", cases[i].label,
                  lrncl_status_string(st), lrncl_last_error());
        lrncl_plan_release(p);
        double x[1] = {0.5}, y[1], s[1], dx[1];
        st = lrncl_reference_forward(&cases[i].d, x, y, s);
        cr_expect(st == LRNCL_SUCCESS, "reference_forward(%s) refused: %s", cases[i].label, lrncl_status_string(st));
        st = lrncl_reference_backward(&cases[i].d, x, y, x, dx);
        cr_expect(st == LRNCL_SUCCESS, "reference_backward(%s) refused: %s", cases[i].label, lrncl_status_string(st));
    }
}

Test(errors, shape_overflow)
{
    const size_t big16 = (size_t)1 << (sizeof(size_t) * 4); /* 2^32 on 64-bit: 4 of them overflow */
    const size_t half = SIZE_MAX / 2;
    const struct bad_desc cases[] = {
        {"n=c=h=w=2^(bits/4)", shaped(big16, big16, big16, big16), LRNCL_ERROR_SHAPE_OVERFLOW, NULL},
        {"n=c=h=w=2^16", shaped((size_t)1 << 16, (size_t)1 << 16, (size_t)1 << 16, (size_t)1 << 16),
         LRNCL_ERROR_SHAPE_OVERFLOW, NULL},
        {"n=c=h=w=SIZE_MAX/2", shaped(half, half, half, half), LRNCL_ERROR_SHAPE_OVERFLOW, NULL},
        {"n=SIZE_MAX c=2", shaped(SIZE_MAX, 2, 1, 1), LRNCL_ERROR_SHAPE_OVERFLOW, NULL},
        {"w=SIZE_MAX h=SIZE_MAX", shaped(1, 1, SIZE_MAX, SIZE_MAX), LRNCL_ERROR_SHAPE_OVERFLOW, NULL},
        /* The element count fits, its bytes (4 per float) do not. */
        {"bytes overflow", shaped(SIZE_MAX / 4 + 1, 1, 1, 1), LRNCL_ERROR_SHAPE_OVERFLOW, NULL},
        {"bytes overflow 2", shaped(1, 3, SIZE_MAX / 8, 1), LRNCL_ERROR_SHAPE_OVERFLOW, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_bad_desc(&cases[i]);
    for (size_t i = 0; i < 5; i++)
        cr_expect(lrncl_desc_elements(&cases[i].d) == 0, "lrncl_desc_elements(%s) = %zu, expected 0", cases[i].label,
                  lrncl_desc_elements(&cases[i].d));
    lrncl_desc d = shaped(2, 3, 4, 5);
    cr_expect(lrncl_desc_elements(&d) == 120);
    d = shaped(2, 0, 4, 5);
    cr_expect(lrncl_desc_elements(&d) == 0);
}

/* ---- buffers ------------------------------------------------------------------------------ */
Test(errors, buffer_too_small)
{
    fwd_refused("forward(x small)", LRNCL_ERROR_BUFFER_TOO_SMALL, P, tu.q, SMALL, Y, S);
    fwd_refused("forward(y small)", LRNCL_ERROR_BUFFER_TOO_SMALL, P, tu.q, X, SMALL, S);
    fwd_refused("forward(y small, scale NULL)", LRNCL_ERROR_BUFFER_TOO_SMALL, P, tu.q, X, SMALL, NULL);
    fwd_refused("forward(scale small)", LRNCL_ERROR_BUFFER_TOO_SMALL, P, tu.q, X, Y, SMALL);
    bwd_refused("backward(x small)", LRNCL_ERROR_BUFFER_TOO_SMALL, P, tu.q, SMALL, Y, DY, S, DX);
    bwd_refused("backward(y small)", LRNCL_ERROR_BUFFER_TOO_SMALL, P, tu.q, X, SMALL, DY, S, DX);
    bwd_refused("backward(dy small)", LRNCL_ERROR_BUFFER_TOO_SMALL, P, tu.q, X, Y, SMALL, S, DX);
    bwd_refused("backward(scale small)", LRNCL_ERROR_BUFFER_TOO_SMALL, P, tu.q, X, Y, DY, SMALL, DX);
    bwd_refused("backward(dx small)", LRNCL_ERROR_BUFFER_TOO_SMALL, P, tu.q, X, Y, DY, S, SMALL);
    bwd_refused("backward(dx small, scale NULL)", LRNCL_ERROR_BUFFER_TOO_SMALL, P, tu.q, X, Y, DY, NULL, SMALL);
}

Test(errors, aliased_buffers)
{
    fwd_refused("forward(y == x)", LRNCL_ERROR_ALIASED_BUFFERS, P, tu.q, X, X, S);
    fwd_refused("forward(y == x, scale NULL)", LRNCL_ERROR_ALIASED_BUFFERS, P, tu.q, X, X, NULL);
    fwd_refused("forward(scale == x)", LRNCL_ERROR_ALIASED_BUFFERS, P, tu.q, X, Y, X);
    fwd_refused("forward(scale == y)", LRNCL_ERROR_ALIASED_BUFFERS, P, tu.q, X, Y, Y);
    bwd_refused("backward(dx == dy)", LRNCL_ERROR_ALIASED_BUFFERS, P, tu.q, X, Y, DY, S, DY);
    bwd_refused("backward(dx == dy, scale NULL)", LRNCL_ERROR_ALIASED_BUFFERS, P, tu.q, X, Y, DY, NULL, DY);
    bwd_refused("backward(dx == x)", LRNCL_ERROR_ALIASED_BUFFERS, P, tu.q, X, Y, DY, S, X);
    bwd_refused("backward(dx == y)", LRNCL_ERROR_ALIASED_BUFFERS, P, tu.q, X, Y, DY, S, Y);
    bwd_refused("backward(dx == scale)", LRNCL_ERROR_ALIASED_BUFFERS, P, tu.q, X, Y, DY, S, S);
}

/* A queue, buffer or plan of another cl_context (on the same device) is refused. */
Test(errors, context_mismatch)
{
    cl_int err = CL_SUCCESS;
    cl_context other = clCreateContext(NULL, 1, &tu.dev, NULL, NULL, &err);
    cr_assert(err == CL_SUCCESS && other, "clCreateContext -> %d", (int)err);
    cl_command_queue oq = clCreateCommandQueue(other, tu.dev, 0, &err);
    cr_assert(err == CL_SUCCESS && oq, "clCreateCommandQueue -> %d", (int)err);
    cl_mem ob = clCreateBuffer(other, CL_MEM_READ_WRITE, COUNT * sizeof(float), NULL, &err);
    cr_assert(err == CL_SUCCESS && ob, "clCreateBuffer -> %d", (int)err);

    fwd_refused("forward(queue of another context)", LRNCL_ERROR_CONTEXT_MISMATCH, P, oq, X, Y, S);
    bwd_refused("backward(queue of another context)", LRNCL_ERROR_CONTEXT_MISMATCH, P, oq, X, Y, DY, S, DX);
    fwd_refused("forward(x of another context)", LRNCL_ERROR_CONTEXT_MISMATCH, P, tu.q, ob, Y, S);
    fwd_refused("forward(y of another context)", LRNCL_ERROR_CONTEXT_MISMATCH, P, tu.q, X, ob, S);
    fwd_refused("forward(scale of another context)", LRNCL_ERROR_CONTEXT_MISMATCH, P, tu.q, X, Y, ob);
    bwd_refused("backward(x of another context)", LRNCL_ERROR_CONTEXT_MISMATCH, P, tu.q, ob, Y, DY, S, DX);
    bwd_refused("backward(y of another context)", LRNCL_ERROR_CONTEXT_MISMATCH, P, tu.q, X, ob, DY, S, DX);
    bwd_refused("backward(dy of another context)", LRNCL_ERROR_CONTEXT_MISMATCH, P, tu.q, X, Y, ob, S, DX);
    bwd_refused("backward(scale of another context)", LRNCL_ERROR_CONTEXT_MISMATCH, P, tu.q, X, Y, DY, ob, DX);
    bwd_refused("backward(dx of another context)", LRNCL_ERROR_CONTEXT_MISMATCH, P, tu.q, X, Y, DY, S, ob);

    /* A plan of another lrncl context, run on this context's queue and buffers. */
    lrncl_context *oc = NULL;
    lrncl_status st = lrncl_context_create(other, tu.dev, &oc);
    cr_assert(st == LRNCL_SUCCESS, "lrncl_context_create -> %s: %s", lrncl_status_string(st), lrncl_last_error());
    lrncl_plan *op = NULL;
    st = lrncl_plan_create(oc, &D, &op);
    cr_assert(st == LRNCL_SUCCESS, "lrncl_plan_create -> %s: %s", lrncl_status_string(st), lrncl_last_error());
    fwd_refused("forward(plan of another context)", LRNCL_ERROR_CONTEXT_MISMATCH, op, tu.q, X, Y, S);
    bwd_refused("backward(plan of another context)", LRNCL_ERROR_CONTEXT_MISMATCH, op, tu.q, X, Y, DY, S, DX);

    lrncl_plan_release(op);
    lrncl_context_release(oc);
    clReleaseMemObject(ob);
    clReleaseCommandQueue(oq);
    clReleaseContext(other);
}

/* ---- status strings ----------------------------------------------------------------------- */
TestSuite(status, .timeout = 30);

Test(status, strings)
{
    static const lrncl_status all[] = {
        LRNCL_SUCCESS,
        LRNCL_ERROR_NULL_ARGUMENT,
        LRNCL_ERROR_NULL_BUFFER,
        LRNCL_ERROR_INVALID_MODE,
        LRNCL_ERROR_INVALID_SHAPE,
        LRNCL_ERROR_SHAPE_OVERFLOW,
        LRNCL_ERROR_INVALID_LOCAL_SIZE,
        LRNCL_ERROR_INVALID_ALPHA,
        LRNCL_ERROR_INVALID_BETA,
        LRNCL_ERROR_INVALID_K,
        LRNCL_ERROR_BUFFER_TOO_SMALL,
        LRNCL_ERROR_CONTEXT_MISMATCH,
        LRNCL_ERROR_ALIASED_BUFFERS,
        LRNCL_ERROR_NO_DEVICE,
        LRNCL_ERROR_INVALID_DEVICE,
        LRNCL_ERROR_BUILD_FAILED,
        LRNCL_ERROR_OUT_OF_HOST_MEMORY,
        LRNCL_ERROR_UNSUPPORTED,
    };
    const size_t n = sizeof all / sizeof all[0];
    const char *unknown = lrncl_status_string((lrncl_status)12345);
    cr_assert(unknown != NULL, "lrncl_status_string(12345) is NULL");
    for (size_t i = 0; i < n; i++) {
        const char *s = lrncl_status_string(all[i]);
        cr_assert(s != NULL && s[0] != '\0', "lrncl_status_string(%d) is NULL or empty", (int)all[i]);
        cr_expect(strcmp(s, unknown) != 0, "lrncl_status_string(%d) = \"%s\", the unknown-status text", (int)all[i],
                  s);
        for (size_t j = 0; j < i; j++)
            cr_expect(strcmp(s, lrncl_status_string(all[j])) != 0, "statuses %d and %d share the text \"%s\"",
                      (int)all[i], (int)all[j], s);
    }
    /* Pinned values: outside code stores them. */
    cr_expect(LRNCL_ERROR_NULL_ARGUMENT == -2001 && LRNCL_ERROR_UNSUPPORTED == -2017);

    /* Odd values: never NULL. */
    const int odd[] = {12345, -12345, 1, -1000, -2000, -2018, -3000, INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        const char *s = lrncl_status_string((lrncl_status)odd[i]);
        cr_expect(s != NULL, "lrncl_status_string(%d) is NULL", odd[i]);
    }
    /* OpenCL's own codes pass through and have names. */
    const cl_int cl_codes[] = {CL_DEVICE_NOT_FOUND,   CL_OUT_OF_RESOURCES,        CL_OUT_OF_HOST_MEMORY,
                               CL_BUILD_PROGRAM_FAILURE, CL_INVALID_VALUE,        CL_INVALID_CONTEXT,
                               CL_INVALID_MEM_OBJECT, CL_INVALID_WORK_GROUP_SIZE, CL_INVALID_EVENT_WAIT_LIST};
    for (size_t i = 0; i < sizeof cl_codes / sizeof cl_codes[0]; i++) {
        const char *s = lrncl_status_string((lrncl_status)cl_codes[i]);
        cr_expect(s != NULL && s[0] != '\0', "lrncl_status_string(OpenCL %d) is NULL or empty", (int)cl_codes[i]);
    }
}

/* ---- LRNCL_DEVICE ------------------------------------------------------------------------- */
TestSuite(device_env, .timeout = 60);

Test(device_env, malformed_or_missing)
{
    static const char *const bad[] = {"abc", "9:9", "0:99", "99:0", "x:0", "0:y", "0:0:0", "-1:0", ":"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert(setenv("LRNCL_DEVICE", bad[i], 1) == 0);
        lrncl_context *c = NULL;
        lrncl_status st = lrncl_context_create_default(&c);
        cr_expect(st == LRNCL_ERROR_INVALID_DEVICE, "LRNCL_DEVICE=\"%s\": returned %d (%s), expected %d (%s)", bad[i],
                  (int)st, lrncl_status_string(st), (int)LRNCL_ERROR_INVALID_DEVICE,
                  lrncl_status_string(LRNCL_ERROR_INVALID_DEVICE));
        cr_expect(lrncl_last_error()[0] != '\0', "LRNCL_DEVICE=\"%s\": no detail message", bad[i]);
        if (st == LRNCL_SUCCESS)
            lrncl_context_release(c);
        else
            cr_expect(c == NULL, "LRNCL_DEVICE=\"%s\": *out set on failure", bad[i]);
    }
}

Test(device_env, first_device_by_name)
{
    cr_assert(setenv("LRNCL_DEVICE", "0:0", 1) == 0);
    lrncl_context *c = NULL;
    lrncl_status st = lrncl_context_create_default(&c);
    cr_assert(st == LRNCL_SUCCESS && c, "LRNCL_DEVICE=0:0 -> %s: %s", lrncl_status_string(st), lrncl_last_error());
    cr_expect(lrncl_context_cl(c) != NULL && lrncl_context_device(c) != NULL);
    lrncl_context_release(c);
}
