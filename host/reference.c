/* reference.c: the float64 host reference of forward and backward, straight from the math
 * (docs/design.md, "The math"), for checking device results. Simple loops over the canonical window. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    lrncl_canon p;
    size_t n, c, h, w;
} ref_shape;

static lrncl_status ref_setup(const lrncl_desc *d, ref_shape *s) {
    lrncl__clear_error();
    lrncl_status st = lrncl__canonicalize(d, &s->p, NULL);
    if (st != LRNCL_SUCCESS)
        return st;
    s->n = d->n, s->c = d->c, s->h = d->h, s->w = d->w;
    return LRNCL_SUCCESS;
}

static size_t index_of(const ref_shape *s, size_t n, size_t c, size_t h, size_t w) {
    return ((n * s->c + c) * s->h + h) * s->w + w;
}

/* Clamped range [centre - below, centre + above] within [0, extent). */
static void window(size_t centre, int below, int above, size_t extent, size_t *first, size_t *last) {
    *first = centre > (size_t)below ? centre - (size_t)below : 0;
    size_t end = centre + (size_t)above;
    *last = end < extent ? end : extent - 1;
}

/* Sum of v over the window of element (n,c,h,w); mirrored selects [m-hi, m+lo]. */
static double window_sum(const ref_shape *s, const double *v, int square, int mirrored, size_t n, size_t c,
                         size_t h, size_t w) {
    int below = mirrored ? s->p.hi : s->p.lo, above = mirrored ? s->p.lo : s->p.hi;
    double sum = 0.0;
    if (s->p.mode == LRNCL_ACROSS_CHANNELS) {
        size_t c0, c1;
        window(c, below, above, s->c, &c0, &c1);
        for (size_t i = c0; i <= c1; ++i) {
            double e = v[index_of(s, n, i, h, w)];
            sum += square ? e * e : e;
        }
    } else {
        size_t h0, h1, w0, w1;
        window(h, below, above, s->h, &h0, &h1);
        window(w, below, above, s->w, &w0, &w1);
        for (size_t i = h0; i <= h1; ++i)
            for (size_t j = w0; j <= w1; ++j) {
                double e = v[index_of(s, n, c, i, j)];
                sum += square ? e * e : e;
            }
    }
    return sum;
}

/* scale for every element into out. */
static void ref_scale(const ref_shape *s, const double *x, double *out) {
    for (size_t n = 0; n < s->n; ++n)
        for (size_t c = 0; c < s->c; ++c)
            for (size_t h = 0; h < s->h; ++h)
                for (size_t w = 0; w < s->w; ++w)
                    out[index_of(s, n, c, h, w)] = s->p.k + s->p.a * window_sum(s, x, 1, 0, n, c, h, w);
}

lrncl_status lrncl_reference_forward(const lrncl_desc *d, const double *x, double *y, double *scale) {
    ref_shape s;
    lrncl_status st = ref_setup(d, &s);
    if (st != LRNCL_SUCCESS)
        return st;
    if (!x || !y)
        return lrncl__fail(LRNCL_ERROR_NULL_ARGUMENT, "lrncl_reference_forward: %s is NULL", !x ? "x" : "y");
    size_t count = lrncl_desc_elements(d);
    double *sc = scale ? scale : malloc(count * sizeof *sc);
    if (!sc)
        return lrncl__fail(LRNCL_ERROR_OUT_OF_HOST_MEMORY, "lrncl_reference_forward: no memory");
    ref_scale(&s, x, sc);
    for (size_t i = 0; i < count; ++i)
        y[i] = x[i] * pow(sc[i], -s.p.beta);
    if (!scale)
        free(sc);
    return LRNCL_SUCCESS;
}

lrncl_status lrncl_reference_backward(const lrncl_desc *d, const double *x, const double *y, const double *dy,
                                      double *dx) {
    ref_shape s;
    lrncl_status st = ref_setup(d, &s);
    if (st != LRNCL_SUCCESS)
        return st;
    if (!x || !y || !dy || !dx)
        return lrncl__fail(LRNCL_ERROR_NULL_ARGUMENT, "lrncl_reference_backward: an array is NULL");
    size_t count = lrncl_desc_elements(d);
    double *sc = malloc(count * sizeof *sc), *ratio = malloc(count * sizeof *ratio);
    if (!sc || !ratio) {
        free(sc);
        free(ratio);
        return lrncl__fail(LRNCL_ERROR_OUT_OF_HOST_MEMORY, "lrncl_reference_backward: no memory");
    }
    ref_scale(&s, x, sc);
    for (size_t i = 0; i < count; ++i)
        ratio[i] = dy[i] * y[i] / sc[i];
    double two_ab = 2.0 * s.p.a * s.p.beta;
    for (size_t n = 0; n < s.n; ++n)
        for (size_t c = 0; c < s.c; ++c)
            for (size_t h = 0; h < s.h; ++h)
                for (size_t w = 0; w < s.w; ++w) {
                    size_t m = index_of(&s, n, c, h, w);
                    dx[m] = dy[m] * pow(sc[m], -s.p.beta) - two_ab * x[m] * window_sum(&s, ratio, 0, 1, n, c, h, w);
                }
    free(sc);
    free(ratio);
    return LRNCL_SUCCESS;
}
