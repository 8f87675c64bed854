/* test_gradcheck.c: finite-difference gradient checks on small shapes, both modes.
 * (a) lrncl_reference_backward against central differences of lrncl_reference_forward, in
 *     double, for L = sum(dy * y): tight.
 * (b) the device's backward against central differences of the device's float32 forward:
 *     loose (float32 differences), but independent of the reference. */
#include "testutil.h"

#include <criterion/criterion.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REF_TOL 1e-6 /* max|fd - dx| <= REF_TOL * max|dx|, double */
#define DEV_TOL 2e-3 /* the same for the float32 device (observed up to 2.4e-4 over 40 seeds) */

struct shape {
    lrncl_mode mode;
    size_t n, c, h, w;
    int size;
    float alpha, beta, k;
};

/* Large alphas, so that the window term of the gradient matters as much as the direct one. */
static const struct shape shapes[] = {
    {LRNCL_ACROSS_CHANNELS, 1, 7, 2, 3, 5, 1.0f, 0.75f, 1.0f},
    {LRNCL_ACROSS_CHANNELS, 2, 3, 2, 2, 5, 2.0f, 2.0f, 0.5f},   /* C < local_size */
    {LRNCL_ACROSS_CHANNELS, 1, 9, 1, 1, 3, 1.5f, 0.5f, 2.0f},   /* unit H/W */
    {LRNCL_ACROSS_CHANNELS, 1, 15, 1, 2, 13, 3.0f, 1.3f, 1.0f}, /* large window */
    {LRNCL_ACROSS_CHANNELS, 1, 23, 2, 1, 21, 3.0f, 0.75f, 1.0f}, /* larger: off the register path */
    {LRNCL_ACROSS_CHANNELS, 1, 1, 3, 3, 1, 0.8f, 0.75f, 1.0f},  /* local_size 1, C = 1 */
    {LRNCL_WITHIN_CHANNEL, 1, 2, 5, 4, 3, 1.0f, 0.75f, 1.0f},
    {LRNCL_WITHIN_CHANNEL, 1, 1, 4, 7, 5, 2.0f, 2.0f, 1.0f},
    {LRNCL_WITHIN_CHANNEL, 2, 2, 3, 3, 7, 2.0f, 0.5f, 1.0f},    /* box larger than the plane */
    {LRNCL_WITHIN_CHANNEL, 1, 1, 6, 5, 13, 4.0f, 1.3f, 1.0f},   /* large window */
    {LRNCL_WITHIN_CHANNEL, 1, 1, 9, 11, 17, 9.0f, 0.75f, 1.0f}, /* larger: off the register path */
};
#define N_SHAPES (sizeof shapes / sizeof shapes[0])

static void make_desc(const struct shape *s, lrncl_desc *d)
{
    lrncl_desc_init(d, s->mode);
    d->n = s->n;
    d->c = s->c;
    d->h = s->h;
    d->w = s->w;
    d->local_size = s->size;
    d->alpha = s->alpha;
    d->beta = s->beta;
    d->k = s->k;
}

static void make_inputs(struct tu_rng *g, float *x, float *dy, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        x[i] = (float)(1.5 * tu_rng_normal(g));
        dy[i] = (float)tu_rng_normal(g);
    }
}

/* ---- (a) reference, in double ------------------------------------------------------------- */
static double ref_loss(const lrncl_desc *d, const double *x, const double *dy, double *y, size_t count)
{
    lrncl_status st = lrncl_reference_forward(d, x, y, NULL);
    cr_assert(st == LRNCL_SUCCESS, "lrncl_reference_forward -> %s", lrncl_status_string(st));
    double l = 0;
    for (size_t i = 0; i < count; i++)
        l += dy[i] * y[i];
    return l;
}

TestSuite(gradcheck_reference, .timeout = 60);

Test(gradcheck_reference, central_differences)
{
    uint64_t seed = tu_seed(UINT64_C(0x96ad0001));
    struct tu_rng g;
    tu_rng_init(&g, seed);
    for (size_t si = 0; si < N_SHAPES; si++) {
        lrncl_desc d;
        make_desc(&shapes[si], &d);
        size_t count = lrncl_desc_elements(&d);
        float *xf = tu_floats(count), *dyf = tu_floats(count);
        make_inputs(&g, xf, dyf, count);
        double *x = tu_doubles(count), *dy = tu_doubles(count), *y = tu_doubles(count);
        double *dx = tu_doubles(count), *fd = tu_doubles(count);
        tu_to_double(xf, x, count);
        tu_to_double(dyf, dy, count);

        ref_loss(&d, x, dy, y, count);
        lrncl_status st = lrncl_reference_backward(&d, x, y, dy, dx);
        cr_assert(st == LRNCL_SUCCESS, "lrncl_reference_backward -> %s", lrncl_status_string(st));
        for (size_t i = 0; i < count; i++) {
            double xi = x[i], h = 1e-5 * fmax(fabs(xi), 1.0);
            x[i] = xi + h;
            double lp = ref_loss(&d, x, dy, y, count);
            x[i] = xi - h;
            double lm = ref_loss(&d, x, dy, y, count);
            x[i] = xi;
            fd[i] = (lp - lm) / (2 * h);
        }
        char ds[256];
        struct tu_cmp r;
        cr_expect(tu_check("reference dx vs central differences", &d, NULL, dx, fd, count, REF_TOL, 0, &r),
                  "seed=0x%" PRIx64 " %s: %s", seed, tu_desc_str(&d, ds, sizeof ds), r.msg);
        cr_log_info("%s: max|dx - fd| / max|fd| = %.3g (bound %g)", ds, r.max_err / r.max_ref, REF_TOL);
        free(fd);
        free(dx);
        free(y);
        free(dy);
        free(x);
        free(dyf);
        free(xf);
    }
}

/* ---- (b) device, in float32 --------------------------------------------------------------- */
struct dev_loss {
    lrncl_plan *p;
    cl_mem bx, by;
    float *y;
    const float *dy;
    size_t count;
};

/* L(x) with x[i] replaced by v, on the device; x is restored afterwards. */
static double dev_loss_at(struct dev_loss *L, const float *x, size_t i, float v)
{
    cl_int err = clEnqueueWriteBuffer(tu.q, L->bx, CL_TRUE, i * sizeof(float), sizeof(float), &v, 0, NULL, NULL);
    cr_assert(err == CL_SUCCESS);
    tu_poison(L->by, L->count);
    lrncl_status st = lrncl_forward(L->p, tu.q, L->bx, L->by, NULL, 0, NULL, NULL);
    cr_assert(st == LRNCL_SUCCESS, "lrncl_forward -> %s: %s", lrncl_status_string(st), lrncl_last_error());
    tu_read(L->by, L->y, L->count);
    err = clEnqueueWriteBuffer(tu.q, L->bx, CL_TRUE, i * sizeof(float), sizeof(float), &x[i], 0, NULL, NULL);
    cr_assert(err == CL_SUCCESS);
    double l = 0;
    for (size_t j = 0; j < L->count; j++)
        l += (double)L->dy[j] * (double)L->y[j];
    return l;
}

TestSuite(gradcheck_device, .init = tu_setup, .fini = tu_teardown, .timeout = 120);

Test(gradcheck_device, central_differences)
{
    uint64_t seed = tu_seed(UINT64_C(0x96ad0002));
    struct tu_rng g;
    tu_rng_init(&g, seed);
    for (size_t si = 0; si < N_SHAPES; si++) {
        lrncl_desc d;
        make_desc(&shapes[si], &d);
        size_t count = lrncl_desc_elements(&d);
        float *x = tu_floats(count), *dy = tu_floats(count);
        make_inputs(&g, x, dy, count);
        double *fd = tu_doubles(count);
        char ds[256];
        tu_desc_str(&d, ds, sizeof ds);

        lrncl_plan *p = NULL;
        lrncl_status st = lrncl_plan_create(tu.ctx, &d, &p);
        cr_assert(st == LRNCL_SUCCESS, "%s: lrncl_plan_create -> %s: %s", ds, lrncl_status_string(st),
                  lrncl_last_error());
        struct tu_device_result out;
        const char *what = "";
        st = tu_run_plan(p, count, x, dy, &out, &what);
        cr_assert(st == LRNCL_SUCCESS, "%s: %s -> %s: %s", ds, what, lrncl_status_string(st), lrncl_last_error());

        struct dev_loss L = {p, tu_buffer_from(x, count), tu_buffer(count), tu_floats(count), dy, count};
        for (size_t i = 0; i < count; i++) {
            double h = 1e-2 * fmax(fabs((double)x[i]), 1.0);
            float xp = (float)((double)x[i] + h), xm = (float)((double)x[i] - h);
            double lp = dev_loss_at(&L, x, i, xp);
            double lm = dev_loss_at(&L, x, i, xm);
            fd[i] = (lp - lm) / ((double)xp - (double)xm); /* the step actually taken */
        }
        double *dxd = tu_doubles(count);
        struct tu_cmp r;
        tu_to_double(out.dx, dxd, count);
        cr_expect(tu_check("device dx vs central differences", &d, NULL, dxd, fd, count, DEV_TOL, 0, &r),
                  "seed=0x%" PRIx64 " %s: %s", seed, ds, r.msg);
        cr_log_info("%s: max|dx - fd| / max|fd| = %.3g (bound %g)", ds, r.max_err / r.max_ref, DEV_TOL);
        tu_to_double(out.dx_noscale, dxd, count);
        cr_expect(tu_check("device dx (scale NULL) vs central differences", &d, NULL, dxd, fd, count, DEV_TOL, 0, &r),
                  "seed=0x%" PRIx64 " %s: %s", seed, ds, r.msg);

        free(dxd);
        free(L.y);
        tu_release(&L.by);
        tu_release(&L.bx);
        tu_device_result_free(&out);
        lrncl_plan_release(p);
        free(fd);
        free(dy);
        free(x);
    }
}
