/* testutil.c: shared helpers for the lrncl Criterion suites (see testutil.h). */
#include "testutil.h"

#include <criterion/criterion.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tu_env tu;

/* ---- device fixture ----------------------------------------------------------------------- */
void tu_setup(void)
{
    memset(&tu, 0, sizeof tu);
    lrncl_status st = lrncl_context_create_default(&tu.ctx);
    /* No device is a failure, never a skip: CI must not go green having tested nothing. */
    cr_assert(st == LRNCL_SUCCESS && tu.ctx != NULL,
              "no OpenCL device: lrncl_context_create_default -> %d (%s): %s "
              "(is POCL_CACHE_DIR writable?)",
              (int)st, lrncl_status_string(st), lrncl_last_error());
    tu.cl = lrncl_context_cl(tu.ctx);
    tu.dev = lrncl_context_device(tu.ctx);
    cr_assert(tu.cl != NULL && tu.dev != NULL, "context without cl_context or device");
    cl_int err = CL_SUCCESS;
    tu.q = clCreateCommandQueue(tu.cl, tu.dev, 0, &err);
    cr_assert(err == CL_SUCCESS && tu.q != NULL, "clCreateCommandQueue -> %d", (int)err);
}

void tu_teardown(void)
{
    if (tu.q) {
        clFinish(tu.q);
        clReleaseCommandQueue(tu.q);
    }
    lrncl_context_release(tu.ctx);
    memset(&tu, 0, sizeof tu);
}

/* ---- host memory -------------------------------------------------------------------------- */
void *tu_alloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    cr_assert(p != NULL, "out of host memory (%zu bytes)", bytes);
    return p;
}

float *tu_floats(size_t count)
{
    cr_assert(count <= SIZE_MAX / sizeof(float));
    return tu_alloc(count * sizeof(float));
}

double *tu_doubles(size_t count)
{
    cr_assert(count <= SIZE_MAX / sizeof(double));
    return tu_alloc(count * sizeof(double));
}

void tu_to_double(const float *src, double *dst, size_t count)
{
    for (size_t i = 0; i < count; i++)
        dst[i] = (double)src[i];
}

/* ---- buffers ------------------------------------------------------------------------------ */
cl_mem tu_buffer_bytes(size_t bytes)
{
    cl_int err = CL_SUCCESS;
    cl_mem b = clCreateBuffer(tu.cl, CL_MEM_READ_WRITE, bytes ? bytes : 1, NULL, &err);
    cr_assert(err == CL_SUCCESS && b != NULL, "clCreateBuffer(%zu bytes) -> %d", bytes, (int)err);
    return b;
}

cl_mem tu_buffer(size_t count)
{
    return tu_buffer_bytes(count * sizeof(float));
}

cl_mem tu_buffer_from(const float *data, size_t count)
{
    cl_mem b = tu_buffer(count);
    tu_write(b, data, count);
    return b;
}

void tu_write(cl_mem b, const float *src, size_t count)
{
    cl_int err = clEnqueueWriteBuffer(tu.q, b, CL_TRUE, 0, count * sizeof(float), src, 0, NULL, NULL);
    cr_assert(err == CL_SUCCESS, "clEnqueueWriteBuffer -> %d", (int)err);
}

void tu_read(cl_mem b, float *dst, size_t count)
{
    cl_int err = clEnqueueReadBuffer(tu.q, b, CL_TRUE, 0, count * sizeof(float), dst, 0, NULL, NULL);
    cr_assert(err == CL_SUCCESS, "clEnqueueReadBuffer -> %d", (int)err);
}

void tu_poison(cl_mem b, size_t count)
{
    float *nan = tu_floats(count);
    for (size_t i = 0; i < count; i++)
        nan[i] = NAN;
    tu_write(b, nan, count);
    free(nan);
}

bool tu_still_poisoned(cl_mem b, size_t count)
{
    float *h = tu_floats(count);
    tu_read(b, h, count);
    bool all = true;
    for (size_t i = 0; i < count && all; i++)
        all = isnan(h[i]);
    free(h);
    return all;
}

void tu_release(cl_mem *b)
{
    if (b && *b) {
        clReleaseMemObject(*b);
        *b = NULL;
    }
}

/* ---- running a plan ----------------------------------------------------------------------- */
static bool same_bits(cl_mem b, const float *want, size_t count)
{
    float *h = tu_floats(count);
    tu_read(b, h, count);
    bool same = memcmp(h, want, count * sizeof(float)) == 0;
    free(h);
    return same;
}

lrncl_status tu_run_plan(lrncl_plan *p, size_t count, const float *x, const float *dy,
                         struct tu_device_result *r, const char **what)
{
    memset(r, 0, sizeof *r);
    r->inputs_intact = true;
    r->y = tu_floats(count);
    r->scale = tu_floats(count);
    r->y_noscale = tu_floats(count);
    if (dy) {
        r->dx = tu_floats(count);
        r->dx_noscale = tu_floats(count);
    }
    cl_mem bx = tu_buffer_from(x, count), by = tu_buffer(count), bs = tu_buffer(count);
    cl_mem bdy = dy ? tu_buffer_from(dy, count) : NULL, bdx = dy ? tu_buffer(count) : NULL;
    lrncl_status st;

    /* Inference first (no scale), then the training forward that keeps the scale. */
    tu_poison(by, count);
    *what = "lrncl_forward(scale NULL)";
    st = lrncl_forward(p, tu.q, bx, by, NULL, 0, NULL, NULL);
    if (st != LRNCL_SUCCESS)
        goto done;
    tu_read(by, r->y_noscale, count);

    tu_poison(by, count);
    tu_poison(bs, count);
    *what = "lrncl_forward(scale)";
    st = lrncl_forward(p, tu.q, bx, by, bs, 0, NULL, NULL);
    if (st != LRNCL_SUCCESS)
        goto done;
    tu_read(by, r->y, count);
    tu_read(bs, r->scale, count);

    if (dy) {
        tu_poison(bdx, count);
        *what = "lrncl_backward(scale)";
        st = lrncl_backward(p, tu.q, bx, by, bdy, bs, bdx, 0, NULL, NULL);
        if (st != LRNCL_SUCCESS)
            goto done;
        tu_read(bdx, r->dx, count);

        tu_poison(bdx, count);
        *what = "lrncl_backward(scale NULL)";
        st = lrncl_backward(p, tu.q, bx, by, bdy, NULL, bdx, 0, NULL, NULL);
        if (st != LRNCL_SUCCESS)
            goto done;
        tu_read(bdx, r->dx_noscale, count);
        r->inputs_intact = same_bits(bdy, dy, count) && same_bits(by, r->y, count) &&
                           same_bits(bs, r->scale, count);
    }
    r->inputs_intact = r->inputs_intact && same_bits(bx, x, count);
    *what = "";
done:
    tu_release(&bdx);
    tu_release(&bdy);
    tu_release(&bs);
    tu_release(&by);
    tu_release(&bx);
    return st;
}

void tu_device_result_free(struct tu_device_result *r)
{
    free(r->y);
    free(r->scale);
    free(r->y_noscale);
    free(r->dx);
    free(r->dx_noscale);
    memset(r, 0, sizeof *r);
}

lrncl_status tu_reference(const lrncl_desc *d, const float *x, const float *dy, double *y,
                          double *scale, double *dx)
{
    size_t count = lrncl_desc_elements(d);
    double *xd = tu_doubles(count);
    tu_to_double(x, xd, count);
    lrncl_status st = lrncl_reference_forward(d, xd, y, scale);
    if (st == LRNCL_SUCCESS && dx) {
        double *dyd = tu_doubles(count);
        tu_to_double(dy, dyd, count);
        st = lrncl_reference_backward(d, xd, y, dyd, dx);
        free(dyd);
    }
    free(xd);
    return st;
}

/* ---- accuracy checks ---------------------------------------------------------------------- */
static void where(const lrncl_desc *d, size_t i, char *buf, size_t len)
{
    if (d && d->c && d->h && d->w) {
        size_t w = i % d->w, h = i / d->w % d->h, c = i / (d->w * d->h) % d->c;
        size_t n = i / (d->w * d->h * d->c);
        snprintf(buf, len, "[%zu] (n=%zu c=%zu h=%zu w=%zu)", i, n, c, h, w);
    } else {
        snprintf(buf, len, "[%zu]", i);
    }
}

static double got_at(const float *got, const double *got_d, size_t i)
{
    return got ? (double)got[i] : got_d[i];
}

bool tu_check(const char *what, const lrncl_desc *d, const float *got, const double *got_d,
              const double *ref, size_t count, double max_rel, double elem_rel, struct tu_cmp *r)
{
    memset(r, 0, sizeof *r);
    for (size_t i = 0; i < count; i++) {
        double a = fabs(ref[i]);
        if (!(a <= r->max_ref)) /* also catches a NaN reference: it must not set the bound */
            r->max_ref = isfinite(a) ? a : INFINITY;
    }
    r->bound = max_rel * r->max_ref;
    bool max_ok = isfinite(r->max_ref);
    size_t nans = 0, first_nan = 0;
    for (size_t i = 0; i < count; i++) {
        double g = got_at(got, got_d, i);
        double err = fabs(g - ref[i]);
        /* Comparisons are written as !(err <= bound) so that a NaN, in either operand, fails. */
        if (isnan(err)) {
            if (nans++ == 0)
                first_nan = i;
        } else if (err > r->max_err) {
            r->max_err = err;
            r->worst = i;
        }
        if (!(err <= r->bound))
            max_ok = false;
        if (elem_rel > 0) {
            double eb = elem_rel * fabs(ref[i]) + TU_FWD_FLOOR;
            if (!(err <= eb) && r->elem_bad++ == 0)
                r->first_bad = i;
            if (err / eb > r->elem_ratio)
                r->elem_ratio = err / eb;
        }
    }
    r->ok = max_ok && nans == 0 && r->elem_bad == 0;
    if (!r->ok) {
        char w1[128], w2[128];
        size_t len = 0;
        if (nans) {
            where(d, first_nan, w1, sizeof w1);
            snprintf(r->msg, sizeof r->msg, "%s: %zu NaN difference(s), first at %s (got %.9g, ref %.17g); ", what,
                     nans, w1, got_at(got, got_d, first_nan), ref[first_nan]);
            len = strlen(r->msg);
        } else {
            snprintf(r->msg, sizeof r->msg, "%s: ", what);
            len = strlen(r->msg);
        }
        where(d, r->worst, w1, sizeof w1);
        if (nans < count) /* some finite differences: the largest of them */
            snprintf(r->msg + len, sizeof r->msg - len,
                     "max|got-ref| = %.6g at %s (got %.9g, ref %.17g), bound %.6g = %g * max|ref| %.6g",
                     r->max_err, w1, got_at(got, got_d, r->worst), ref[r->worst], r->bound, max_rel, r->max_ref);
        len = strlen(r->msg);
        if (r->elem_bad && len + 1 < sizeof r->msg) {
            where(d, r->first_bad, w2, sizeof w2);
            snprintf(r->msg + len, sizeof r->msg - len,
                     "; %zu element(s) outside %g relative, first %s (got %.9g, ref %.17g)", r->elem_bad, elem_rel,
                     w2, got_at(got, got_d, r->first_bad), ref[r->first_bad]);
        }
    }
    return r->ok;
}

bool tu_check_forward(const char *what, const lrncl_desc *d, const float *got, const double *ref,
                      size_t count, struct tu_cmp *r)
{
    return tu_check(what, d, got, NULL, ref, count, TU_FWD_MAX_REL, TU_FWD_ELEM_REL, r);
}

bool tu_check_backward(const char *what, const lrncl_desc *d, const float *got, const double *ref,
                       size_t count, struct tu_cmp *r)
{
    return tu_check(what, d, got, NULL, ref, count, TU_BWD_MAX_REL, 0.0, r);
}

static bool same_class(double g, double ref)
{
    if (isnan(ref))
        return isnan(g);
    if (isinf(ref))
        return isinf(g) && signbit(g) == signbit(ref);
    return isfinite(g);
}

bool tu_check_nonfinite(const char *what, const lrncl_desc *d, const float *got, const double *ref,
                        size_t count, double max_rel, double elem_rel, struct tu_cmp *r)
{
    memset(r, 0, sizeof *r);
    size_t class_bad = 0, first_class = 0;
    for (size_t i = 0; i < count; i++) {
        if (isfinite(ref[i]) && fabs(ref[i]) > r->max_ref)
            r->max_ref = fabs(ref[i]);
        if (!same_class((double)got[i], ref[i]) && class_bad++ == 0)
            first_class = i;
    }
    r->bound = max_rel * r->max_ref;
    bool max_ok = true;
    for (size_t i = 0; i < count; i++) {
        if (!isfinite(ref[i]))
            continue;
        double err = fabs((double)got[i] - ref[i]);
        if (!(err <= r->max_err)) {
            r->max_err = isnan(err) ? INFINITY : err;
            r->worst = i;
        }
        if (!(err <= r->bound))
            max_ok = false;
        if (elem_rel > 0) {
            double eb = elem_rel * fabs(ref[i]) + TU_FWD_FLOOR;
            if (!(err <= eb) && r->elem_bad++ == 0)
                r->first_bad = i;
            if (err / eb > r->elem_ratio)
                r->elem_ratio = err / eb;
        }
    }
    r->ok = max_ok && r->elem_bad == 0 && class_bad == 0;
    if (!r->ok) {
        char w1[128], w2[128], w3[128];
        where(d, r->worst, w1, sizeof w1);
        where(d, r->first_bad, w2, sizeof w2);
        where(d, first_class, w3, sizeof w3);
        snprintf(r->msg, sizeof r->msg,
                 "%s: %zu element(s) of another class than the reference (first %s: got %.9g, ref %.17g); "
                 "finite: max|got-ref| = %.6g at %s, bound %.6g; %zu outside %g relative (first %s)",
                 what, class_bad, w3, (double)got[first_class], ref[first_class], r->max_err, w1, r->bound,
                 r->elem_bad, elem_rel, w2);
    }
    return r->ok;
}

const char *tu_desc_str(const lrncl_desc *d, char *buf, size_t len)
{
    snprintf(buf, len, "mode=%s n=%zu c=%zu h=%zu w=%zu size=%d alpha=%.9g beta=%.9g k=%.9g",
             d->mode == LRNCL_ACROSS_CHANNELS ? "across"
             : d->mode == LRNCL_WITHIN_CHANNEL ? "within"
                                                : "?",
             d->n, d->c, d->h, d->w, d->local_size, (double)d->alpha, (double)d->beta, (double)d->k);
    return buf;
}

/* ---- PRNG --------------------------------------------------------------------------------- */
uint64_t tu_seed(uint64_t dflt)
{
    const char *s = getenv("LRNCL_TEST_SEED");
    if (s && *s) {
        char *end = NULL;
        unsigned long long v = strtoull(s, &end, 0);
        cr_assert(end && *end == '\0', "LRNCL_TEST_SEED=\"%s\" is not a number", s);
        return (uint64_t)v;
    }
    return dflt;
}

void tu_rng_init(struct tu_rng *g, uint64_t seed)
{
    g->s = seed;
}

uint64_t tu_rng_next(struct tu_rng *g)
{
    uint64_t z = (g->s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

double tu_rng_uniform(struct tu_rng *g)
{
    return (double)(tu_rng_next(g) >> 11) * 0x1.0p-53;
}

double tu_rng_range(struct tu_rng *g, double lo, double hi)
{
    return lo + (hi - lo) * tu_rng_uniform(g);
}

size_t tu_rng_below(struct tu_rng *g, size_t n)
{
    return n ? (size_t)(tu_rng_next(g) % (uint64_t)n) : 0;
}

double tu_rng_normal(struct tu_rng *g)
{
    double u1 = 1.0 - tu_rng_uniform(g); /* (0, 1]: log is finite */
    double u2 = tu_rng_uniform(g);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
