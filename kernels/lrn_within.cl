/* lrn_within.cl: WITHIN_CHANNEL forward and backward (needs lrn_common.cl before it).
 *
 * Layout: NCHW, contiguous. One work-item per (plane n*C + c, column w) slides down the rows
 * (dimension 0 walks w, the contiguous axis). The box sum is separable: each new row's
 * horizontal sum over the window's columns is formed afresh and, with LRN_REG_WINDOW, kept in
 * shift registers for the window's rows; otherwise the rows are re-summed for every output.
 */

/* Pre-scaled sum of squares along row `row`, columns [w-lo, w+hi] clamped to [0, W). */
inline float lrn_within_row_sq(__global const float *plane, long W, long row, long w, float sqrt_a) {
    long first = max(w - LRN_WIN_LO, 0L), last = min(w + LRN_WIN_HI, W - 1);
    __global const float *rp = plane + (ulong)row * W;
    float sum = 0.0f;
    for (long q = first; q <= last; ++q) {
        float t = rp[q] * sqrt_a;
        sum += t * t;
    }
    return sum;
}

/* Sum of dy*y/scale along row `row`, columns [w-hi, w+lo] (the mirrored window). */
inline float lrn_within_row_ratio(__global const float *dyp, __global const float *yp, __global const float *sp,
                                  long W, long row, long w) {
    long first = max(w - LRN_WIN_HI, 0L), last = min(w + LRN_WIN_LO, W - 1);
    ulong r0 = (ulong)row * W;
    float sum = 0.0f;
    for (long q = first; q <= last; ++q)
        sum += dyp[r0 + q] * yp[r0 + q] / sp[r0 + q];
    return sum;
}

/* y = x * scale^-beta; y and scale may each be NULL (then not written). C is unused. */
__kernel void lrn_within_fwd(__global const float *x, __global float *y, __global float *scale,
                             uint C, uint H, uint W, float sqrt_a, float k, float beta) {
    (void)C;
    const long w = get_global_id(0);
    if (w >= (long)W)
        return;
    const ulong base = (ulong)get_global_id(1) * H * W;
    __global const float *plane = x + base;

#if LRN_REG_WINDOW
    /* At row h: hs[p] = row sum of row h - lo + p, p = 0 .. WIN-1. */
    float hs[LRN_WIN];
#pragma unroll
    for (int p = 0; p < LRN_WIN; ++p) {
        long row = p - LRN_WIN_LO;
        hs[p] = (p < LRN_WIN - 1 && row >= 0 && row < (long)H) ? lrn_within_row_sq(plane, W, row, w, sqrt_a) : 0.0f;
    }
    for (long h = 0; h < (long)H; ++h) {
        long row = h + LRN_WIN_HI;
        float sum;
        hs[LRN_WIN - 1] = row < (long)H ? lrn_within_row_sq(plane, W, row, w, sqrt_a) : 0.0f;
        LRN_REG_SUM(hs, LRN_WIN, sum);
        float s = k + sum;
        ulong at = base + (ulong)h * W + w;
        if (y)
            y[at] = x[at] * lrn_pow_neg_beta(s, beta);
        if (scale)
            scale[at] = s;
        LRN_REG_SHIFT(hs, LRN_WIN);
    }
#else
    for (long h = 0; h < (long)H; ++h) {
        long first = max(h - LRN_WIN_LO, 0L), last = min(h + LRN_WIN_HI, (long)H - 1);
        float sum = 0.0f;
        for (long row = first; row <= last; ++row)
            sum += lrn_within_row_sq(plane, W, row, w, sqrt_a);
        float s = k + sum;
        ulong at = base + (ulong)h * W + w;
        if (y)
            y[at] = x[at] * lrn_pow_neg_beta(s, beta);
        if (scale)
            scale[at] = s;
    }
#endif
}

/* dx = dy * scale^-beta - 2ab * x * SUM over the mirrored box of dy*y/scale. The scale is
 * required (the host computes it first when the caller has none); sqrt_a, k and C are unused. */
__kernel void lrn_within_bwd(__global const float *x, __global const float *y, __global const float *dy,
                             __global const float *scale, __global float *dx,
                             uint C, uint H, uint W, float sqrt_a, float k, float beta, float two_ab) {
    (void)C;
    (void)sqrt_a;
    (void)k;
    const long w = get_global_id(0);
    if (w >= (long)W)
        return;
    const ulong base = (ulong)get_global_id(1) * H * W;
    __global const float *dyp = dy + base, *yp = y + base, *sp = scale + base;

#if LRN_REG_WINDOW
    /* At row h: hr[p] = ratio row sum of row h - hi + p, p = 0 .. WIN-1. */
    float hr[LRN_WIN];
#pragma unroll
    for (int p = 0; p < LRN_WIN; ++p) {
        long row = p - LRN_WIN_HI;
        hr[p] = (p < LRN_WIN - 1 && row >= 0 && row < (long)H) ? lrn_within_row_ratio(dyp, yp, sp, W, row, w) : 0.0f;
    }
    for (long h = 0; h < (long)H; ++h) {
        long row = h + LRN_WIN_LO;
        float acc;
        hr[LRN_WIN - 1] = row < (long)H ? lrn_within_row_ratio(dyp, yp, sp, W, row, w) : 0.0f;
        LRN_REG_SUM(hr, LRN_WIN, acc);
        ulong at = base + (ulong)h * W + w;
        dx[at] = dy[at] * lrn_pow_neg_beta(scale[at], beta) - two_ab * x[at] * acc;
        LRN_REG_SHIFT(hr, LRN_WIN);
    }
#else
    for (long h = 0; h < (long)H; ++h) {
        long first = max(h - LRN_WIN_HI, 0L), last = min(h + LRN_WIN_LO, (long)H - 1);
        float acc = 0.0f;
        for (long row = first; row <= last; ++row)
            acc += lrn_within_row_ratio(dyp, yp, sp, W, row, w);
        ulong at = base + (ulong)h * W + w;
        dx[at] = dy[at] * lrn_pow_neg_beta(scale[at], beta) - two_ab * x[at] * acc;
    }
#endif
}
