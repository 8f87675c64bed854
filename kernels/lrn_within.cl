/* lrn_within.cl: WITHIN_CHANNEL forward and backward (needs lrn_common.cl before it).
 *
 * One work-item per (plane n*C + c, column w) slides down the rows (dimension 0 walks w). The
 * box sum is separable: each new row's horizontal sum over the window's columns is formed
 * afresh and, with LRN_REG_WINDOW, kept in shift registers for the window's rows; otherwise the
 * rows are re-summed for every output. The scale is float32 whatever the storage type.
 */

/* Pre-scaled sum of squares along one row (rp: its column 0), columns [w-lo, w+hi] in [0, W). */
inline float lrn_within_row_sq(__global const lrn_t *rp, ulong sW, long W, long w, float sqrt_a) {
    long first = max(w - LRN_WIN_LO, 0L), last = min(w + LRN_WIN_HI, W - 1);
    float sum = 0.0f;
    for (long q = first; q <= last; ++q) {
        float t = LRN_LOAD(rp, (ulong)q * sW) * sqrt_a;
        sum += t * t;
    }
    return sum;
}

/* Sum of dy*y/scale along one row (each pointer at that row's column 0), columns [w-hi, w+lo]
 * (the mirrored window). */
inline float lrn_within_row_ratio(__global const lrn_t *dyr, __global const lrn_t *yr, __global const float *sr,
                                  ulong sW, long W, long w) {
    long first = max(w - LRN_WIN_HI, 0L), last = min(w + LRN_WIN_LO, W - 1);
    float sum = 0.0f;
    for (long q = first; q <= last; ++q) {
        ulong at = (ulong)q * sW;
        sum += LRN_LOAD(dyr, at) * LRN_LOAD(yr, at) / sr[at];
    }
    return sum;
}

/* y = x * scale^-beta; y and scale may each be NULL (then not written). */
__kernel void lrn_within_fwd(__global const lrn_t *x, __global lrn_t *y, __global float *scale,
                             uint C, uint H, uint W, float sqrt_a, float k, float beta,
                             ulong4 strides, ulong8 offs) {
    LRN_DECLARE_STRIDES(C, H, W, strides);
    const long w = get_global_id(0);
    if (w >= (long)W)
        return;
    const ulong plane = get_global_id(1);
    const ulong pos = (plane / C) * sN + (plane % C) * sC;
    __global const lrn_t *xp = x + offs.s0 + pos;
    __global lrn_t *yp = y ? y + offs.s1 + pos : 0;
    __global float *sp = scale ? scale + offs.s2 + pos : 0;
    const ulong col = (ulong)w * sW;

#if LRN_REG_WINDOW
    /* At row h: hs[p] = row sum of row h - lo + p, p = 0 .. WIN-1. */
    float hs[LRN_WIN];
#pragma unroll
    for (int p = 0; p < LRN_WIN; ++p) {
        long row = p - LRN_WIN_LO;
        hs[p] = (p < LRN_WIN - 1 && row >= 0 && row < (long)H)
                    ? lrn_within_row_sq(xp + (ulong)row * sH, sW, W, w, sqrt_a) : 0.0f;
    }
    for (long h = 0; h < (long)H; ++h) {
        long row = h + LRN_WIN_HI;
        float sum;
        hs[LRN_WIN - 1] = row < (long)H ? lrn_within_row_sq(xp + (ulong)row * sH, sW, W, w, sqrt_a) : 0.0f;
        LRN_REG_SUM(hs, LRN_WIN, sum);
        float s = k + sum;
        ulong at = (ulong)h * sH + col;
        if (yp)
            LRN_STORE(yp, at, LRN_LOAD(xp, at) * lrn_pow_neg_beta(s, beta));
        if (sp)
            sp[at] = s;
        LRN_REG_SHIFT(hs, LRN_WIN);
    }
#else
    for (long h = 0; h < (long)H; ++h) {
        long first = max(h - LRN_WIN_LO, 0L), last = min(h + LRN_WIN_HI, (long)H - 1);
        float sum = 0.0f;
        for (long row = first; row <= last; ++row)
            sum += lrn_within_row_sq(xp + (ulong)row * sH, sW, W, w, sqrt_a);
        float s = k + sum;
        ulong at = (ulong)h * sH + col;
        if (yp)
            LRN_STORE(yp, at, LRN_LOAD(xp, at) * lrn_pow_neg_beta(s, beta));
        if (sp)
            sp[at] = s;
    }
#endif
}

/* dx = dy * scale^-beta - 2ab * x * SUM over the mirrored box of dy*y/scale. The scale is
 * required (the host computes it first when the caller has none); sqrt_a and k are unused. */
__kernel void lrn_within_bwd(__global const lrn_t *x, __global const lrn_t *y, __global const lrn_t *dy,
                             __global const float *scale, __global lrn_t *dx,
                             uint C, uint H, uint W, float sqrt_a, float k, float beta, float two_ab,
                             ulong4 strides, ulong8 offs) {
    (void)sqrt_a;
    (void)k;
    LRN_DECLARE_STRIDES(C, H, W, strides);
    const long w = get_global_id(0);
    if (w >= (long)W)
        return;
    const ulong plane = get_global_id(1);
    const ulong pos = (plane / C) * sN + (plane % C) * sC;
    __global const lrn_t *xp = x + offs.s0 + pos, *yp = y + offs.s1 + pos, *dyp = dy + offs.s3 + pos;
    __global const float *sp = scale + offs.s2 + pos;
    __global lrn_t *dxp = dx + offs.s4 + pos;
    const ulong col = (ulong)w * sW;

#if LRN_REG_WINDOW
    /* At row h: hr[p] = ratio row sum of row h - hi + p, p = 0 .. WIN-1. */
    float hr[LRN_WIN];
#pragma unroll
    for (int p = 0; p < LRN_WIN; ++p) {
        long row = p - LRN_WIN_HI;
        ulong ro = (ulong)row * sH;
        hr[p] = (p < LRN_WIN - 1 && row >= 0 && row < (long)H)
                    ? lrn_within_row_ratio(dyp + ro, yp + ro, sp + ro, sW, W, w) : 0.0f;
    }
    for (long h = 0; h < (long)H; ++h) {
        long row = h + LRN_WIN_LO;
        ulong ro = (ulong)row * sH;
        float acc;
        hr[LRN_WIN - 1] = row < (long)H ? lrn_within_row_ratio(dyp + ro, yp + ro, sp + ro, sW, W, w) : 0.0f;
        LRN_REG_SUM(hr, LRN_WIN, acc);
        ulong at = (ulong)h * sH + col;
        LRN_STORE(dxp, at, LRN_LOAD(dyp, at) * lrn_pow_neg_beta(sp[at], beta) - two_ab * LRN_LOAD(xp, at) * acc);
        LRN_REG_SHIFT(hr, LRN_WIN);
    }
#else
    for (long h = 0; h < (long)H; ++h) {
        long first = max(h - LRN_WIN_HI, 0L), last = min(h + LRN_WIN_LO, (long)H - 1);
        float acc = 0.0f;
        for (long row = first; row <= last; ++row) {
            ulong ro = (ulong)row * sH;
            acc += lrn_within_row_ratio(dyp + ro, yp + ro, sp + ro, sW, W, w);
        }
        ulong at = (ulong)h * sH + col;
        LRN_STORE(dxp, at, LRN_LOAD(dyp, at) * lrn_pow_neg_beta(sp[at], beta) - two_ab * LRN_LOAD(xp, at) * acc);
    }
#endif
}
