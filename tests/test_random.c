/* test_random.c: seeded random cases against lrncl's float64 reference, per mode: named edge
 * shapes (channel tails, unit H/W, C < local_size, C = 1, odd and prime dims), window sizes on
 * and off the register path, beta fast paths and general beta; plus a no-drift case (thousands
 * of channels, 8 decades of magnitude, small k) and Inf/NaN propagation.
 *
 * Many cases share one process and one context (PoCL builds each kernel variant once per
 * context). Every failure names the seed, the case number and all its parameters; rerun with
 * LRNCL_TEST_SEED=<seed> to get the same cases. */
#include "testutil.h"

#include <criterion/criterion.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CASES_PER_MODE 240
#define MAX_ELEMENTS   4096
#define MAX_REPORTED   8 /* failing cases described in full before the test gives up */

static const int small_sizes[] = {1, 3, 5, 7, 9, 11};
static const int large_sizes[] = {13, 17, 21, 33};
static const size_t odd_dims[] = {1, 2, 3, 5, 7, 9, 11, 13, 17, 19, 23, 31};

enum shape_kind { CHANNEL_TAIL, UNIT_HW, C_LESS_THAN_SIZE, C_ONE, GENERAL, N_KINDS };
static const char *const kind_names[] = {"channel_tail", "unit_hw", "c_less_than_size", "c1", "general"};

static size_t pick_dim(struct tu_rng *g, size_t max)
{
    size_t d;
    do
        d = odd_dims[tu_rng_below(g, sizeof odd_dims / sizeof odd_dims[0])];
    while (d > max);
    return d;
}

static enum shape_kind random_desc(struct tu_rng *g, lrncl_mode mode, lrncl_desc *d)
{
    lrncl_desc_init(d, mode);
    d->local_size = tu_rng_uniform(g) < 0.85 ? small_sizes[tu_rng_below(g, 6)] : large_sizes[tu_rng_below(g, 4)];
    switch (tu_rng_below(g, 5)) {
    case 0: d->beta = 0.5f; break;
    case 1: d->beta = 0.75f; break;
    case 2: d->beta = 1.0f; break;
    case 3: d->beta = 2.0f; break;
    default: d->beta = (float)tu_rng_range(g, 0.1, 3.0); break;
    }
    /* Half uniform, half log-uniform, so both tiny and large alphas appear. */
    d->alpha = (float)(tu_rng_uniform(g) < 0.5 ? tu_rng_range(g, 1e-5, 2.0)
                                               : exp(tu_rng_range(g, log(1e-5), log(2.0))));
    d->k = (float)tu_rng_range(g, 0.5, 3.0);

    enum shape_kind kind = (enum shape_kind)tu_rng_below(g, N_KINDS);
    size_t ls = (size_t)d->local_size;
    d->n = 1 + tu_rng_below(g, 4);
    switch (kind) {
    case CHANNEL_TAIL: /* channel counts that are not a multiple of any vector width */
        d->c = 1 + tu_rng_below(g, 47);
        d->h = pick_dim(g, 7);
        d->w = pick_dim(g, 9);
        break;
    case UNIT_HW:
        d->c = 1 + tu_rng_below(g, 80);
        d->h = d->w = 1;
        break;
    case C_LESS_THAN_SIZE: /* windows wider than the tensor, in both modes */
        d->c = ls > 1 ? 1 + tu_rng_below(g, ls - 1) : 1;
        d->h = mode == LRNCL_WITHIN_CHANNEL && ls > 1 ? 1 + tu_rng_below(g, ls - 1) : pick_dim(g, 9);
        d->w = mode == LRNCL_WITHIN_CHANNEL && ls > 1 ? 1 + tu_rng_below(g, ls - 1) : pick_dim(g, 9);
        break;
    case C_ONE:
        d->c = 1;
        d->h = pick_dim(g, 17);
        d->w = pick_dim(g, 19);
        break;
    default:
        d->c = pick_dim(g, 31);
        d->h = pick_dim(g, mode == LRNCL_WITHIN_CHANNEL ? 23 : 11);
        d->w = pick_dim(g, mode == LRNCL_WITHIN_CHANNEL ? 31 : 13);
        break;
    }
    while (d->n * d->c * d->h * d->w > MAX_ELEMENTS) {
        if (d->n > 1)
            d->n--;
        else if (d->w > 1)
            d->w = (d->w + 1) / 2;
        else
            d->h = (d->h + 1) / 2;
    }
    return kind;
}

/* Normal-ish inputs around a per-case magnitude, with some elements scaled up. */
static void random_inputs(struct tu_rng *g, float *x, float *dy, size_t count)
{
    double mag = tu_rng_range(g, 0.3, 3.0);
    for (size_t i = 0; i < count; i++) {
        double v = tu_rng_normal(g) * mag;
        if (tu_rng_uniform(g) < 0.1)
            v *= tu_rng_range(g, 5.0, 30.0);
        x[i] = (float)v;
        dy[i] = (float)tu_rng_normal(g);
    }
}

struct case_ctx {
    uint64_t seed;
    int index;
    const char *kind;
    int failed_cases;
    double worst_max, worst_elem; /* closest approach to the bounds, as a fraction of them */
};

/* Reference and device on one case; every mismatch reported with the case's full description.
 * Returns true when everything matched. */
static bool run_case(struct case_ctx *cc, const lrncl_desc *d, const float *x, const float *dy, bool nonfinite)
{
    size_t count = lrncl_desc_elements(d);
    char ds[256];
    tu_desc_str(d, ds, sizeof ds);
    double *y = tu_doubles(count), *s = tu_doubles(count), *dx = tu_doubles(count);
    lrncl_status st = tu_reference(d, x, dy, y, s, dx);
    cr_assert(st == LRNCL_SUCCESS, "seed=0x%" PRIx64 " case %d (%s) %s: reference -> %s: %s", cc->seed, cc->index,
              cc->kind, ds, lrncl_status_string(st), lrncl_last_error());

    lrncl_plan *p = NULL;
    st = lrncl_plan_create(tu.ctx, d, &p);
    cr_assert(st == LRNCL_SUCCESS && p, "seed=0x%" PRIx64 " case %d (%s) %s: lrncl_plan_create -> %s: %s", cc->seed,
              cc->index, cc->kind, ds, lrncl_status_string(st), lrncl_last_error());
    struct tu_device_result out;
    const char *what = "";
    st = tu_run_plan(p, count, x, dy, &out, &what);
    cr_assert(st == LRNCL_SUCCESS, "seed=0x%" PRIx64 " case %d (%s) %s: %s -> %s: %s", cc->seed, cc->index, cc->kind,
              ds, what, lrncl_status_string(st), lrncl_last_error());

    struct {
        const char *name;
        const float *got;
        const double *ref;
        bool fwd;
    } checks[] = {
        {"y", out.y, y, true},           {"y (scale NULL)", out.y_noscale, y, true},
        {"scale", out.scale, s, true},   {"dx", out.dx, dx, false},
        {"dx (scale NULL)", out.dx_noscale, dx, false},
    };
    bool ok = true;
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        struct tu_cmp r;
        bool pass;
        if (nonfinite)
            pass = tu_check_nonfinite(checks[i].name, d, checks[i].got, checks[i].ref, count,
                                      checks[i].fwd ? TU_FWD_MAX_REL : TU_BWD_MAX_REL,
                                      checks[i].fwd ? TU_FWD_ELEM_REL : 0.0, &r);
        else if (checks[i].fwd)
            pass = tu_check_forward(checks[i].name, d, checks[i].got, checks[i].ref, count, &r);
        else
            pass = tu_check_backward(checks[i].name, d, checks[i].got, checks[i].ref, count, &r);
        if (r.bound > 0 && r.max_err / r.bound > cc->worst_max)
            cc->worst_max = r.max_err / r.bound;
        if (r.elem_ratio > cc->worst_elem)
            cc->worst_elem = r.elem_ratio;
        if (!pass && cc->failed_cases < MAX_REPORTED)
            cr_expect(pass, "seed=0x%" PRIx64 " case %d (%s) %s: %s", cc->seed, cc->index, cc->kind, ds, r.msg);
        ok = ok && pass;
    }
    /* Without a scale the backward recomputes it as the forward does: the same bits (finite
     * inputs; NaN payloads may differ between paths). */
    if (!nonfinite) {
        size_t at = tu_first_difference(out.dx_noscale, out.dx, count);
        if (at != count && cc->failed_cases < MAX_REPORTED)
            cr_expect(at == count, "seed=0x%" PRIx64 " case %d (%s) %s: dx (scale NULL) differs from dx at [%zu]: %.9g vs %.9g",
                      cc->seed, cc->index, cc->kind, ds, at, (double)out.dx_noscale[at], (double)out.dx[at]);
        ok = ok && at == count;
    }
    if (!out.inputs_intact && cc->failed_cases < MAX_REPORTED)
        cr_expect(out.inputs_intact, "seed=0x%" PRIx64 " case %d (%s) %s: an input buffer was modified", cc->seed,
                  cc->index, cc->kind, ds);
    ok = ok && out.inputs_intact;
    if (!ok)
        cc->failed_cases++;

    tu_device_result_free(&out);
    lrncl_plan_release(p);
    free(dx);
    free(s);
    free(y);
    return ok;
}

static void random_cases(lrncl_mode mode, uint64_t default_seed)
{
    uint64_t seed = tu_seed(default_seed);
    struct case_ctx cc = {.seed = seed};
    struct tu_rng g;
    tu_rng_init(&g, seed);
    float *x = tu_floats(MAX_ELEMENTS), *dy = tu_floats(MAX_ELEMENTS);
    int per_kind[N_KINDS] = {0}, large = 0;
    for (int i = 0; i < CASES_PER_MODE; i++) {
        lrncl_desc d;
        enum shape_kind kind = random_desc(&g, mode, &d);
        size_t count = lrncl_desc_elements(&d);
        cr_assert(count > 0 && count <= MAX_ELEMENTS);
        random_inputs(&g, x, dy, count);
        cc.index = i;
        cc.kind = kind_names[kind];
        run_case(&cc, &d, x, dy, false);
        per_kind[kind]++;
        large += d.local_size > 11;
    }
    /* The generator must actually have covered what it promises. */
    for (int k = 0; k < N_KINDS; k++)
        cr_expect(per_kind[k] > 0, "seed=0x%" PRIx64 ": no %s case generated", seed, kind_names[k]);
    cr_expect(large > 0, "seed=0x%" PRIx64 ": no large local_size generated", seed);
    cr_log_info("seed=0x%" PRIx64 ": worst error %.3g of the max bound, %.3g of the element bound", seed, cc.worst_max,
                cc.worst_elem);
    cr_assert(cc.failed_cases == 0, "seed=0x%" PRIx64 ": %d of %d cases failed (first %d described above)", seed,
              cc.failed_cases, CASES_PER_MODE, MAX_REPORTED);
    free(dy);
    free(x);
}

TestSuite(random, .init = tu_setup, .fini = tu_teardown, .timeout = 600);

Test(random, across)
{
    random_cases(LRNCL_ACROSS_CHANNELS, UINT64_C(0x5eed0001));
}

Test(random, within)
{
    random_cases(LRNCL_WITHIN_CHANNEL, UINT64_C(0x5eed0002));
}

/* Thousands of channels whose magnitudes span 8 decades, small k: a sliding sum that adds the
 * head and subtracts the tail loses the small windows next to large ones. */
Test(random, no_drift)
{
    static const struct {
        lrncl_mode mode;
        size_t n, c, h, w;
        int size;
        float alpha, k;
    } shapes[] = {
        {LRNCL_ACROSS_CHANNELS, 1, 3000, 1, 3, 5, 1e-4f, 1e-3f},
        {LRNCL_ACROSS_CHANNELS, 2, 2053, 2, 2, 11, 0.5f, 1e-3f},
        {LRNCL_ACROSS_CHANNELS, 1, 4000, 1, 1, 33, 1e-4f, 1e-3f},
        {LRNCL_ACROSS_CHANNELS, 1, 2500, 1, 1, 3, 1.0f, 1e-3f},
        {LRNCL_WITHIN_CHANNEL, 1, 2, 3, 2000, 5, 1e-4f, 1.0f}, /* long rows; within ignores k */
    };
    uint64_t seed = tu_seed(UINT64_C(0x5eed0003));
    struct case_ctx cc = {.seed = seed, .kind = "no_drift"};
    struct tu_rng g;
    tu_rng_init(&g, seed);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        lrncl_desc d;
        lrncl_desc_init(&d, shapes[i].mode);
        d.n = shapes[i].n;
        d.c = shapes[i].c;
        d.h = shapes[i].h;
        d.w = shapes[i].w;
        d.local_size = shapes[i].size;
        d.alpha = shapes[i].alpha;
        d.beta = 0.75f;
        d.k = shapes[i].k;
        size_t count = lrncl_desc_elements(&d);
        float *x = tu_floats(count), *dy = tu_floats(count);
        for (size_t j = 0; j < count; j++) {
            double m = pow(10.0, tu_rng_range(&g, -4.0, 4.0));
            x[j] = (float)(tu_rng_uniform(&g) < 0.5 ? -m : m);
            dy[j] = (float)tu_rng_normal(&g);
        }
        cc.index = (int)i;
        run_case(&cc, &d, x, dy, false);
        free(dy);
        free(x);
    }
    cr_log_info("no drift: worst error %.3g of the max bound, %.3g of the element bound", cc.worst_max, cc.worst_elem);
    cr_assert(cc.failed_cases == 0, "seed=0x%" PRIx64 ": %d no-drift case(s) failed", seed, cc.failed_cases);
}

/* NaN and +-Inf in x must land where the float64 reference puts them, and nowhere else. */
static void nonfinite_cases(lrncl_mode mode, uint64_t default_seed)
{
    uint64_t seed = tu_seed(default_seed);
    struct case_ctx cc = {.seed = seed, .kind = "nonfinite"};
    struct tu_rng g;
    tu_rng_init(&g, seed);
    float *x = tu_floats(MAX_ELEMENTS), *dy = tu_floats(MAX_ELEMENTS);
    const float specials[] = {NAN, INFINITY, -INFINITY};
    for (int i = 0; i < 24; i++) {
        lrncl_desc d;
        random_desc(&g, mode, &d);
        if (i < 3) /* the common Caffe case, with each special value alone */
            d.local_size = 5, d.beta = 0.75f, d.c = 16, d.h = 5, d.w = 5, d.n = 1;
        size_t count = lrncl_desc_elements(&d);
        for (size_t j = 0; j < count; j++) {
            x[j] = (float)tu_rng_normal(&g);
            dy[j] = (float)tu_rng_normal(&g);
        }
        if (i < 3) {
            x[tu_rng_below(&g, count)] = specials[i];
        } else {
            size_t nspecial = 1 + count / 40;
            for (size_t j = 0; j < nspecial; j++)
                x[tu_rng_below(&g, count)] = specials[tu_rng_below(&g, 3)];
        }
        cc.index = i;
        run_case(&cc, &d, x, dy, true);
    }
    cr_log_info("Inf/NaN: worst error %.3g of the max bound, %.3g of the element bound", cc.worst_max, cc.worst_elem);
    cr_assert(cc.failed_cases == 0, "seed=0x%" PRIx64 ": %d Inf/NaN case(s) failed", seed, cc.failed_cases);
    free(dy);
    free(x);
}

Test(random, nonfinite_across)
{
    nonfinite_cases(LRNCL_ACROSS_CHANNELS, UINT64_C(0x5eed0004));
}

Test(random, nonfinite_within)
{
    nonfinite_cases(LRNCL_WITHIN_CHANNEL, UINT64_C(0x5eed0005));
}
