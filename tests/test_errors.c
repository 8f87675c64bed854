/* test_errors.c: every bad input is refused with its own status, nothing is enqueued (the
 * event out-pointer is untouched and poisoned outputs stay NaN), nothing crashes, and the
 * thread-local detail message says what was wrong. Also the status strings and LRNCL_DEVICE.
 *
 * The cases are data: tests/cases/errors_descriptors.inc (descriptors for lrncl_plan_create and
 * the references) and tests/cases/errors_calls.inc (forward and backward calls), one row each,
 * named by the Criterion test that runs them. This file is their driver, and holds the checks
 * that are procedures rather than rows (NULL handles of other calls, in-place rules, offsets,
 * float16 sizes, the status strings, LRNCL_DEVICE). */
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

/* ---- the call rows (tests/cases/errors_calls.inc) ------------------------------------------ */
enum call_kind { FWD, BWD };
enum call_plan { PFIX, PNULL, POTHER };
enum call_queue { QFIX, QNULL, QOTHER };
enum call_buffer { B__, BX, BY, BDY, BS, BDX, BSMALL, BNULL, BOTHER };

struct call_case {
    const char *group, *label;
    lrncl_status want;
    enum call_kind kind;
    enum call_plan plan;
    enum call_queue queue;
    enum call_buffer x, y, dy, scale, dx;
};

static const struct call_case call_cases[] = {
#include "cases/errors_calls.inc"
};

/* The objects of another context that the context_mismatch rows name. */
struct call_others {
    lrncl_plan *plan;
    cl_command_queue queue;
    cl_mem buffer;
};

static cl_mem call_buffer(enum call_buffer b, const struct call_others *o)
{
    switch (b) {
    case BX: return X;
    case BY: return Y;
    case BDY: return DY;
    case BS: return S;
    case BDX: return DX;
    case BSMALL: return SMALL;
    case BOTHER: cr_assert(o, "a row names another context's buffer outside context_mismatch"); return o->buffer;
    default: return NULL;
    }
}

/* Runs every row of the group: each call is refused with its status and changes nothing. */
static void run_call_cases(const char *group, const struct call_others *o)
{
    size_t rows = 0;
    for (size_t i = 0; i < sizeof call_cases / sizeof call_cases[0]; i++) {
        const struct call_case *c = &call_cases[i];
        if (strcmp(c->group, group) != 0)
            continue;
        rows++;
        cr_assert(o || (c->plan != POTHER && c->queue != QOTHER), "%s: names another context outside context_mismatch",
                  c->label);
        lrncl_plan *p = c->plan == PFIX ? P : c->plan == POTHER ? o->plan : NULL;
        cl_command_queue q = c->queue == QFIX ? tu.q : c->queue == QOTHER ? o->queue : NULL;
        if (c->kind == FWD)
            fwd_refused(c->label, c->want, p, q, call_buffer(c->x, o), call_buffer(c->y, o), call_buffer(c->scale, o));
        else
            bwd_refused(c->label, c->want, p, q, call_buffer(c->x, o), call_buffer(c->y, o), call_buffer(c->dy, o),
                        call_buffer(c->scale, o), call_buffer(c->dx, o));
    }
    cr_assert(rows > 0, "no call rows in group %s", group);
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

    run_call_cases("null_arguments", NULL); /* NULL plan and queue in forward and backward */

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
    run_call_cases("null_buffers", NULL);
}

Test(errors, buffer_too_small)
{
    run_call_cases("buffer_too_small", NULL);
}

Test(errors, aliased_buffers)
{
    run_call_cases("aliased_buffers", NULL);
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

/* ---- the descriptor rows (tests/cases/errors_descriptors.inc) ------------------------------ */
struct desc_case {
    const char *group, *label;
    lrncl_desc d;
    lrncl_status want;
    const char *mention;  /* text lrncl_last_error() should contain, or NULL */
    bool zero_elements;   /* lrncl_desc_elements must be 0 */
    size_t span;          /* storage groups: what lrncl_desc_span must give */
};

/* plan_create refuses b with its status and a detail message; p stays NULL. */
static void expect_bad_plan(const struct desc_case *b)
{
    lrncl_plan *p = NULL;
    lrncl_status st = lrncl_plan_create(tu.ctx, &b->d, &p);
    cr_expect(st == b->want, "plan_create(%s): returned %d (%s), expected %d (%s); last_error: \"%s\"", b->label,
              (int)st, lrncl_status_string(st), (int)b->want, lrncl_status_string(b->want), lrncl_last_error());
    const char *detail = lrncl_last_error();
    if (b->want != LRNCL_SUCCESS)
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
    if (st == LRNCL_SUCCESS) {
        cr_expect(p != NULL, "plan_create(%s): no plan", b->label);
        lrncl_plan_release(p);
    } else
        cr_expect(p == NULL, "plan_create(%s): *out set on failure", b->label);
}

/* plan_create and both references validate the same way. */
static void expect_bad_desc(const struct desc_case *b)
{
    expect_bad_plan(b);
    double buf[8] = {0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5};
    lrncl_status st = lrncl_reference_forward(&b->d, buf, buf + 4, NULL);
    cr_expect(st == b->want, "reference_forward(%s): returned %d (%s), expected %d", b->label, (int)st,
              lrncl_status_string(st), (int)b->want);
    st = lrncl_reference_forward(&b->d, buf, buf + 2, buf + 4);
    cr_expect(st == b->want, "reference_forward(%s, with the scale): returned %d (%s), expected %d", b->label,
              (int)st, lrncl_status_string(st), (int)b->want);
    st = lrncl_reference_backward(&b->d, buf, buf + 2, buf + 4, buf + 6);
    cr_expect(st == b->want, "reference_backward(%s): returned %d (%s), expected %d", b->label, (int)st,
              lrncl_status_string(st), (int)b->want);
}

/* Descriptor builders for the rows. */
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

static lrncl_desc conv(lrncl_convention c, lrncl_mode m, int size, float k)
{
    lrncl_desc d = with(m, size, 1, 0.75f, k);
    d.convention = c;
    return d;
}

static lrncl_desc beta0(lrncl_desc d)
{
    d.beta = 0.0f;
    return d;
}

static lrncl_desc betaneg(lrncl_desc d)
{
    d.beta = -0.5f;
    return d;
}

static lrncl_desc explicit_window(int lo, int hi, lrncl_alpha_divisor div, int size, int use_k, float k)
{
    lrncl_desc d = conv(LRNCL_CONVENTION_EXPLICIT, LRNCL_ACROSS_CHANNELS, size, k);
    d.window_lo = lo;
    d.window_hi = hi;
    d.alpha_divisor = div;
    d.use_k = use_k;
    return d;
}

/* dtype and layout values, and strided views that map two positions to one element. */
static lrncl_desc strided(size_t n, size_t c, size_t h, size_t w, size_t sn, size_t sc, size_t sh, size_t sw)
{
    lrncl_desc d = shaped(n, c, h, w);
    d.layout = LRNCL_LAYOUT_STRIDED;
    d.stride_n = sn;
    d.stride_c = sc;
    d.stride_h = sh;
    d.stride_w = sw;
    return d;
}

static lrncl_desc storage(int layout, int dtype)
{
    lrncl_desc d = with(AC, 5, 1, 0.75f, 1);
    d.layout = (lrncl_layout)layout;
    d.dtype = (lrncl_dtype)dtype;
    return d;
}

#define BIG16 ((size_t)1 << (sizeof(size_t) * 4)) /* 2^32 on 64-bit: 4 of them overflow */

/* Runs every row of the group. The storage groups check the plan (the references read NCHW
 * doubles whatever the storage: they accept a one-element descriptor) and the span. */
static void run_desc_cases(const char *group)
{
    const struct desc_case cases[] = {
#define DESC(g, l, desc, w, ...) {.group = (g), .label = (l), .d = (desc), .want = (w), .mention = __VA_ARGS__},
#include "cases/errors_descriptors.inc"
#undef DESC
    };
    const bool storage_group = strcmp(group, "bad_layout_dtype") == 0 || strcmp(group, "views_accepted") == 0;
    size_t rows = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct desc_case *c = &cases[i];
        if (strcmp(c->group, group) != 0)
            continue;
        rows++;
        if (!storage_group) {
            expect_bad_desc(c);
        } else {
            expect_bad_plan(c);
            if (lrncl_desc_elements(&c->d) == 1) {
                double x[1] = {0.5}, y[1], dx[1];
                cr_expect(lrncl_reference_forward(&c->d, x, y, NULL) == LRNCL_SUCCESS &&
                              lrncl_reference_backward(&c->d, x, y, x, dx) == LRNCL_SUCCESS,
                          "reference(%s): refused a descriptor whose only fault is its storage: %s", c->label,
                          lrncl_last_error());
            }
            cr_expect(lrncl_desc_span(&c->d) == c->span, "lrncl_desc_span(%s) = %zu, expected %zu", c->label,
                      lrncl_desc_span(&c->d), c->span);
        }
        if (c->zero_elements)
            cr_expect(lrncl_desc_elements(&c->d) == 0, "lrncl_desc_elements(%s) = %zu, expected 0", c->label,
                      lrncl_desc_elements(&c->d));
    }
    cr_assert(rows > 0, "no descriptor rows in group %s", group);
}

Test(errors, bad_mode_shape_size)
{
    run_desc_cases("bad_mode_shape_size");
}

Test(errors, bad_alpha_beta_k)
{
    run_desc_cases("bad_alpha_beta_k");
}

/* Edge values that are valid must be accepted (no over-eager validation). */
Test(errors, valid_edges_accepted)
{
    run_desc_cases("valid_edges_accepted");
}

Test(errors, shape_overflow)
{
    run_desc_cases("shape_overflow");
    lrncl_desc d = shaped(2, 3, 4, 5);
    cr_expect(lrncl_desc_elements(&d) == 120);
    d = shaped(2, 0, 4, 5);
    cr_expect(lrncl_desc_elements(&d) == 0);
}

/* Conventions: unknown values, modes a convention does not define, sizes and k per convention. */
Test(errors, bad_convention)
{
    run_desc_cases("bad_convention");
}

/* The valid counterparts: accepted by plan_create and both references. */
Test(errors, conventions_accepted)
{
    run_desc_cases("conventions_accepted");
}

/* dtype and layout values, and strided views that map two positions to one element. */
Test(errors, bad_layout_dtype)
{
    run_desc_cases("bad_layout_dtype");
}

/* Valid views, and the span of each. */
Test(errors, views_accepted)
{
    run_desc_cases("views_accepted");
    lrncl_desc d = shaped(2, 3, 4, 5);
    cr_expect(lrncl_desc_span(&d) == 120);
    d.layout = LRNCL_LAYOUT_NHWC;
    d.dtype = LRNCL_FLOAT16;
    cr_expect(lrncl_desc_span(&d) == 120, "NHWC float16 span %zu", lrncl_desc_span(&d));
    cr_expect(lrncl_desc_span(NULL) == 0);
}

/* In-place forward (y the same buffer and offset as x) is allowed in ACROSS_CHANNELS with a
 * window of at most 16 channels, and refused everywhere else. */
Test(errors, in_place_rules)
{
    /* Refused: within-channel; across windows of 17 (Caffe 17, explicit 8 + 1 + 8). */
    lrncl_desc dw = D;
    dw.mode = LRNCL_WITHIN_CHANNEL;
    dw.local_size = 3;
    lrncl_plan *pw = tu_plan(tu.ctx, &dw);
    fwd_refused("within forward(y == x)", LRNCL_ERROR_ALIASED_BUFFERS, pw, tu.q, X, X, S);
    fwd_refused("within forward(y == x, scale NULL)", LRNCL_ERROR_ALIASED_BUFFERS, pw, tu.q, X, X, NULL);
    lrncl_plan_release(pw);

    lrncl_desc d17 = D;
    d17.local_size = 17;
    lrncl_plan *p17 = tu_plan(tu.ctx, &d17);
    fwd_refused("across 17 forward(y == x)", LRNCL_ERROR_ALIASED_BUFFERS, p17, tu.q, X, X, S);
    fwd_refused("across 17 forward(y == x, scale NULL)", LRNCL_ERROR_ALIASED_BUFFERS, p17, tu.q, X, X, NULL);
    lrncl_plan_release(p17);

    lrncl_desc de = D;
    de.convention = LRNCL_CONVENTION_EXPLICIT;
    de.window_lo = 8;
    de.window_hi = 8;
    lrncl_plan *pe = tu_plan(tu.ctx, &de);
    fwd_refused("explicit 8+1+8 forward(y == x)", LRNCL_ERROR_ALIASED_BUFFERS, pe, tu.q, X, X, S);
    lrncl_plan_release(pe);

    /* Refused: y in x's buffer at another offset that overlaps x's view. The buffer is big
     * enough for both views, so overlap is the only fault. */
    float *big = tu_floats(COUNT + 1);
    memcpy(big, HX, COUNT * sizeof(float));
    big[COUNT] = 42.0f;
    cl_mem B = tu_buffer_from(big, COUNT + 1);
    const size_t offs[][2] = {{0, 1}, {1, 0}};
    for (int i = 0; i < 2; i++) {
        lrncl_desc dof = D;
        dof.offset_x = offs[i][0];
        dof.offset_y = offs[i][1];
        lrncl_plan *po = tu_plan(tu.ctx, &dof);
        poison_outputs();
        cl_event ev = SENTINEL;
        lrncl_status st = lrncl_forward(po, tu.q, B, B, S, 0, NULL, &ev);
        char label[96];
        snprintf(label, sizeof label, "forward(y == x, offset_x %zu, offset_y %zu)", offs[i][0], offs[i][1]);
        expect_refused(label, st, LRNCL_ERROR_ALIASED_BUFFERS, ev);
        float *now = tu_floats(COUNT + 1);
        tu_read(B, now, COUNT + 1);
        cr_expect(memcmp(now, big, (COUNT + 1) * sizeof(float)) == 0, "%s: the shared buffer was written", label);
        free(now);
        lrncl_plan_release(po);
    }
    tu_release(&B);
    free(big);

    /* Accepted: across 5 (the fixture's plan), PyTorch 16 (8 below, 7 above: 16 channels),
     * explicit 0 + 1 + 15; with and without the scale. Run on a copy so X stays as it was. */
    lrncl_desc d16 = D;
    d16.convention = LRNCL_CONVENTION_PYTORCH;
    d16.local_size = 16;
    lrncl_desc dx15 = D;
    dx15.convention = LRNCL_CONVENTION_EXPLICIT;
    dx15.window_lo = 0;
    dx15.window_hi = 15;
    lrncl_plan *p16 = tu_plan(tu.ctx, &d16), *p15 = tu_plan(tu.ctx, &dx15);
    lrncl_plan *ok[] = {P, p16, p15};
    const char *names[] = {"caffe 5", "pytorch 16", "explicit 0+1+15"};
    for (int i = 0; i < 3; i++)
        for (int with_scale = 0; with_scale < 2; with_scale++) {
            cl_mem C = tu_buffer_from(HX, COUNT);
            cl_event ev = NULL;
            lrncl_status st = lrncl_forward(ok[i], tu.q, C, C, with_scale ? S : NULL, 0, NULL, &ev);
            cr_expect(st == LRNCL_SUCCESS && ev != NULL, "%s: in-place forward (scale %s) refused: %s: %s", names[i],
                      with_scale ? "given" : "NULL", lrncl_status_string(st), lrncl_last_error());
            if (ev) {
                cr_expect(clWaitForEvents(1, &ev) == CL_SUCCESS);
                clReleaseEvent(ev);
            }
            tu_release(&C);
        }
    lrncl_plan_release(p15);
    lrncl_plan_release(p16);
}

Test(errors, set_shape_nd_bad)
{
    lrncl_desc d;
    lrncl_desc_init(&d, AC);
    const size_t dims[3] = {2, 3, 4};
    cr_expect(lrncl_desc_set_shape_nd(NULL, 1, 2, 3, dims) == LRNCL_ERROR_NULL_ARGUMENT);
    cr_expect(lrncl_desc_set_shape_nd(&d, 1, 2, 3, NULL) == LRNCL_ERROR_NULL_ARGUMENT);
    cr_expect(lrncl_last_error()[0] != '\0', "set_shape_nd(dims NULL): no detail");
    cr_expect(lrncl_desc_set_shape_nd(&d, 1, 2, -1, dims) == LRNCL_ERROR_INVALID_SHAPE);
    const size_t huge[3] = {SIZE_MAX / 2, 3, 1};
    cr_expect(lrncl_desc_set_shape_nd(&d, 1, 2, 3, huge) == LRNCL_ERROR_SHAPE_OVERFLOW);
    cr_expect(lrncl_desc_set_shape_nd(&d, 1, 2, 0, NULL) == LRNCL_SUCCESS, "rank 0 with dims NULL: %s",
              lrncl_last_error());
    cr_expect(d.n == 1 && d.c == 2 && d.h == 1 && d.w == 1);
}

/* A buffer must hold offset + span elements of the dtype (the scale: floats), each buffer by its
 * own offset. */
static void expect_status(const char *label, lrncl_status st, lrncl_status want, cl_event ev)
{
    cr_expect(st == want, "%s: returned %d (%s), expected %d (%s); last_error: \"%s\"", label, (int)st,
              lrncl_status_string(st), (int)want, lrncl_status_string(want), lrncl_last_error());
    if (want != LRNCL_SUCCESS) {
        cr_expect(ev == SENTINEL, "%s: *done was changed by a refused call", label);
        cr_expect(lrncl_last_error()[0] != '\0', "%s: no detail message", label);
    } else if (ev != SENTINEL && ev != NULL) {
        clReleaseEvent(ev);
    }
    cr_assert(clFinish(tu.q) == CL_SUCCESS);
}

Test(errors, buffer_too_small_views)
{
    static const char *const names[] = {"x", "y", "scale", "dy", "dx"};
    /* Exactly-sized buffers (COUNT elements) with one offset of 3: that buffer is too small. */
    for (int which = 0; which < 5; which++) {
        lrncl_desc d = D;
        size_t *off[] = {&d.offset_x, &d.offset_y, &d.offset_scale, &d.offset_dy, &d.offset_dx};
        *off[which] = 3;
        lrncl_plan *p = tu_plan(tu.ctx, &d);
        char label[96];
        snprintf(label, sizeof label, "offset_%s 3, buffers of exactly the shape", names[which]);
        cl_event ev = SENTINEL;
        lrncl_status st;
        if (which < 3) { /* forward reads x and writes y and scale */
            poison_outputs();
            st = lrncl_forward(p, tu.q, X, Y, S, 0, NULL, &ev);
            expect_refused(label, st, LRNCL_ERROR_BUFFER_TOO_SMALL, ev);
        }
        /* backward reads x, y, dy, scale and writes dx: every offset counts */
        poison_outputs();
        ev = SENTINEL;
        st = lrncl_backward(p, tu.q, X, Y, DY, S, DX, 0, NULL, &ev);
        expect_refused(label, st, LRNCL_ERROR_BUFFER_TOO_SMALL, ev);
        if (which == 2) { /* no scale given: its offset does not matter */
            ev = SENTINEL;
            expect_status("forward(offset_scale 3, scale NULL)", lrncl_forward(p, tu.q, X, Y, NULL, 0, NULL, &ev),
                          LRNCL_SUCCESS, ev);
        }
        /* Big enough by one offset's worth: accepted. */
        cl_mem bx = tu_buffer(COUNT + 3), by = tu_buffer(COUNT + 3), bs = tu_buffer(COUNT + 3);
        cl_mem bdy = tu_buffer(COUNT + 3), bdx = tu_buffer(COUNT + 3);
        ev = SENTINEL;
        st = lrncl_forward(p, tu.q, bx, by, bs, 0, NULL, &ev);
        expect_status(label, st, LRNCL_SUCCESS, ev);
        ev = SENTINEL;
        st = lrncl_backward(p, tu.q, bx, by, bdy, bs, bdx, 0, NULL, &ev);
        expect_status(label, st, LRNCL_SUCCESS, ev);
        tu_release(&bdx);
        tu_release(&bdy);
        tu_release(&bs);
        tu_release(&by);
        tu_release(&bx);
        lrncl_plan_release(p);
    }

    /* A strided view spans more than n*c*h*w elements: COUNT floats are too few. */
    lrncl_desc ds = D;
    ds.layout = LRNCL_LAYOUT_STRIDED;
    ds.stride_w = 1;
    ds.stride_h = D.w + 1;
    ds.stride_c = ds.stride_h * D.h;
    ds.stride_n = ds.stride_c * D.c;
    size_t span = lrncl_desc_span(&ds);
    cr_assert(span == (D.n - 1) * ds.stride_n + (D.c - 1) * ds.stride_c + (D.h - 1) * ds.stride_h + D.w,
              "padded view span %zu", span);
    lrncl_plan *ps = tu_plan(tu.ctx, &ds);
    fwd_refused("strided forward(buffers of n*c*h*w)", LRNCL_ERROR_BUFFER_TOO_SMALL, ps, tu.q, X, Y, S);
    bwd_refused("strided backward(buffers of n*c*h*w)", LRNCL_ERROR_BUFFER_TOO_SMALL, ps, tu.q, X, Y, DY, S, DX);
    cl_mem big[5];
    for (int i = 0; i < 5; i++)
        big[i] = tu_buffer(span);
    cl_event ev = SENTINEL;
    expect_status("strided forward(buffers of the span)", lrncl_forward(ps, tu.q, big[0], big[1], big[2], 0, NULL, &ev),
                  LRNCL_SUCCESS, ev);
    ev = SENTINEL;
    expect_status("strided backward(buffers of the span)",
                  lrncl_backward(ps, tu.q, big[0], big[1], big[3], big[2], big[4], 0, NULL, &ev), LRNCL_SUCCESS, ev);
    for (int i = 0; i < 5; i++)
        tu_release(&big[i]);
    lrncl_plan_release(ps);

    /* float16: x, y, dy, dx take 2 bytes an element, the scale always 4. */
    lrncl_desc dh = D;
    dh.dtype = LRNCL_FLOAT16;
    lrncl_plan *ph = tu_plan(tu.ctx, &dh);
    cl_mem hx = tu_buffer_bytes(COUNT * 2), hy = tu_buffer_bytes(COUNT * 2), hdy = tu_buffer_bytes(COUNT * 2);
    cl_mem hdx = tu_buffer_bytes(COUNT * 2), hs_small = tu_buffer_bytes(COUNT * 2), hshort = tu_buffer_bytes(COUNT * 2 - 1);
    cl_mem hs = tu_buffer_bytes(COUNT * 4);
    {
        uint16_t *zero = tu_alloc(COUNT * 2);
        for (size_t i = 0; i < COUNT; i++)
            zero[i] = tu_half_from_float(HX[i]);
        tu_write_bytes(hx, zero, COUNT * 2);
        tu_write_bytes(hdy, zero, COUNT * 2);
        free(zero);
    }
    ev = SENTINEL;
    expect_status("f16 forward(scale sized for halves)", lrncl_forward(ph, tu.q, hx, hy, hs_small, 0, NULL, &ev),
                  LRNCL_ERROR_BUFFER_TOO_SMALL, ev);
    ev = SENTINEL;
    expect_status("f16 backward(scale sized for halves)",
                  lrncl_backward(ph, tu.q, hx, hy, hdy, hs_small, hdx, 0, NULL, &ev), LRNCL_ERROR_BUFFER_TOO_SMALL, ev);
    ev = SENTINEL;
    expect_status("f16 forward(x a byte short)", lrncl_forward(ph, tu.q, hshort, hy, hs, 0, NULL, &ev),
                  LRNCL_ERROR_BUFFER_TOO_SMALL, ev);
    ev = SENTINEL;
    expect_status("f16 forward(y a byte short)", lrncl_forward(ph, tu.q, hx, hshort, NULL, 0, NULL, &ev),
                  LRNCL_ERROR_BUFFER_TOO_SMALL, ev);
    ev = SENTINEL;
    expect_status("f16 backward(dx a byte short)", lrncl_backward(ph, tu.q, hx, hy, hdy, NULL, hshort, 0, NULL, &ev),
                  LRNCL_ERROR_BUFFER_TOO_SMALL, ev);
    ev = SENTINEL;
    expect_status("f16 forward(halves, float scale)", lrncl_forward(ph, tu.q, hx, hy, hs, 0, NULL, &ev), LRNCL_SUCCESS,
                  ev);
    ev = SENTINEL;
    expect_status("f16 backward(halves, float scale)", lrncl_backward(ph, tu.q, hx, hy, hdy, hs, hdx, 0, NULL, &ev),
                  LRNCL_SUCCESS, ev);
    tu_release(&hs);
    tu_release(&hshort);
    tu_release(&hs_small);
    tu_release(&hdx);
    tu_release(&hdy);
    tu_release(&hy);
    tu_release(&hx);
    lrncl_plan_release(ph);
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

    /* A plan of another lrncl context, for the rows that run it on this context's queue. */
    lrncl_context *oc = NULL;
    lrncl_status st = lrncl_context_create(other, tu.dev, &oc);
    cr_assert(st == LRNCL_SUCCESS, "lrncl_context_create -> %s: %s", lrncl_status_string(st), lrncl_last_error());
    lrncl_plan *op = NULL;
    st = lrncl_plan_create(oc, &D, &op);
    cr_assert(st == LRNCL_SUCCESS, "lrncl_plan_create -> %s: %s", lrncl_status_string(st), lrncl_last_error());
    const struct call_others others = {op, oq, ob};
    run_call_cases("context_mismatch", &others);

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
        LRNCL_ERROR_INVALID_CONVENTION,
        LRNCL_ERROR_INVALID_LAYOUT,
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
    cr_expect(LRNCL_ERROR_INVALID_CONVENTION == -2018 && LRNCL_ERROR_INVALID_LAYOUT == -2019);

    /* Odd values: never NULL. */
    const int odd[] = {12345, -12345, 1, -1000, -2000, -2020, -3000, INT_MIN, INT_MAX};
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
