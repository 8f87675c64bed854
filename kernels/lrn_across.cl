/* lrn_across.cl: ACROSS_CHANNELS forward and backward (needs lrn_common.cl before it).
 *
 * Layout: NCHW, contiguous. One work-item per (n, h*w) position (dimension 0 walks h*w, the
 * contiguous axis, so neighbouring work-items touch neighbouring addresses; dimension 1 is n)
 * slides along the channels. With LRN_REG_WINDOW each x is loaded once and the window is held
 * in shift registers; otherwise the window is re-read (from cache) for every channel. Both form
 * every sum afresh, so there is no drift however wide the range of magnitudes.
 *
 * In-place forward (y == x) would be safe here: channel c+hi is read before y[c] is written and
 * x[c] is taken from registers; the host does not allow it yet.
 */

/* scale at channel i, re-reading the window [i-lo, i+hi] (clamped to the tensor). */
inline float lrn_across_scale_at(__global const float *xp, ulong HW, long C, long i, float sqrt_a, float k) {
    long first = max(i - LRN_WIN_LO, 0L), last = min(i + LRN_WIN_HI, C - 1);
    float sum = 0.0f;
    for (long j = first; j <= last; ++j) {
        float t = xp[(ulong)j * HW] * sqrt_a;
        sum += t * t;
    }
    return k + sum;
}

/* y = x * scale^-beta; y and scale may each be NULL (then not written). */
__kernel void lrn_across_fwd(__global const float *x, __global float *y, __global float *scale,
                             uint C, uint H, uint W, float sqrt_a, float k, float beta) {
    const ulong HW = (ulong)H * W;
    const ulong hw = get_global_id(0);
    if (hw >= HW)
        return;
    const ulong base = (ulong)get_global_id(1) * C * HW + hw;
    __global const float *xp = x + base;

#if LRN_REG_WINDOW
    /* At channel c: xv[p] = x(c - lo + p), sq[p] = (sqrt_a * xv[p])^2, p = 0 .. WIN-1. */
    float xv[LRN_WIN], sq[LRN_WIN];
#pragma unroll
    for (int p = 0; p < LRN_WIN; ++p) {
        long ch = p - LRN_WIN_LO;
        float v = (p < LRN_WIN - 1 && ch >= 0 && ch < (long)C) ? xp[(ulong)ch * HW] : 0.0f;
        float t = v * sqrt_a;
        xv[p] = v;
        sq[p] = t * t;
    }
    for (uint c = 0; c < C; ++c) {
        long ch = (long)c + LRN_WIN_HI;
        float v = ch < (long)C ? xp[(ulong)ch * HW] : 0.0f;
        float t = v * sqrt_a, sum;
        xv[LRN_WIN - 1] = v;
        sq[LRN_WIN - 1] = t * t;
        LRN_REG_SUM(sq, LRN_WIN, sum);
        float s = k + sum;
        ulong at = base + (ulong)c * HW;
        if (y)
            y[at] = xv[LRN_WIN_LO] * lrn_pow_neg_beta(s, beta);
        if (scale)
            scale[at] = s;
        LRN_REG_SHIFT(xv, LRN_WIN);
        LRN_REG_SHIFT(sq, LRN_WIN);
    }
#else
    for (uint c = 0; c < C; ++c) {
        float s = lrn_across_scale_at(xp, HW, C, c, sqrt_a, k);
        ulong at = base + (ulong)c * HW;
        if (y)
            y[at] = x[at] * lrn_pow_neg_beta(s, beta);
        if (scale)
            scale[at] = s;
    }
#endif
}

/* dx[c] = dy[c] * scale[c]^-beta - 2ab * x[c] * SUM_{i in [c-hi, c+lo]} dy[i] * y[i] / scale[i].
 * scale may be NULL: it is then recomputed from x. */
__kernel void lrn_across_bwd(__global const float *x, __global const float *y, __global const float *dy,
                             __global const float *scale, __global float *dx,
                             uint C, uint H, uint W, float sqrt_a, float k, float beta, float two_ab) {
    const ulong HW = (ulong)H * W;
    const ulong hw = get_global_id(0);
    if (hw >= HW)
        return;
    const ulong base = (ulong)get_global_id(1) * C * HW + hw;
    __global const float *xp = x + base;

#if LRN_REG_WINDOW
    /* Step t (output channel t once t >= 0) works on channel j = t + lo, the newest whose ratio
     * r = dy*y/scale is needed. Windows at step t:
     *   xv[p], sq[p]: x(t + p) and its pre-scaled square, p = 0 .. WIN-1 (scale at j needs them)
     *   r[p]:         ratio at channel t - hi + p (the mirrored window of t)
     *   dyp[p]:       dy * scale^-beta at channel t + p, p = 0 .. lo */
    float xv[LRN_WIN], sq[LRN_WIN], r[LRN_WIN], dyp[LRN_WIN_LO + 1];
#pragma unroll
    for (int p = 0; p < LRN_WIN; ++p) {
        long ch = p - LRN_WIN_LO;
        float v = (p < LRN_WIN - 1 && ch >= 0 && ch < (long)C) ? xp[(ulong)ch * HW] : 0.0f;
        float t = v * sqrt_a;
        xv[p] = v;
        sq[p] = t * t;
        r[p] = 0.0f;
    }
#pragma unroll
    for (int p = 0; p <= LRN_WIN_LO; ++p)
        dyp[p] = 0.0f;

    for (long t = -LRN_WIN_LO; t < (long)C; ++t) {
        long ch = t + LRN_WIN - 1;
        float v = ch < (long)C ? xp[(ulong)ch * HW] : 0.0f;
        float tv = v * sqrt_a;
        xv[LRN_WIN - 1] = v;
        sq[LRN_WIN - 1] = tv * tv;

        long j = t + LRN_WIN_LO;
        float rj = 0.0f, dypj = 0.0f;
        if (j < (long)C) {
            ulong at = base + (ulong)j * HW;
            float s;
            if (scale) {
                s = scale[at];
            } else {
                LRN_REG_SUM(sq, LRN_WIN, s);
                s += k;
            }
            float g = dy[at];
            rj = g * y[at] / s;
            dypj = g * lrn_pow_neg_beta(s, beta);
        }
        r[LRN_WIN - 1] = rj;
        dyp[LRN_WIN_LO] = dypj;

        if (t >= 0) {
            float acc;
            LRN_REG_SUM(r, LRN_WIN, acc);
            dx[base + (ulong)t * HW] = dyp[0] - two_ab * xv[0] * acc;
        }
        LRN_REG_SHIFT(xv, LRN_WIN);
        LRN_REG_SHIFT(sq, LRN_WIN);
        LRN_REG_SHIFT(r, LRN_WIN);
        LRN_REG_SHIFT(dyp, LRN_WIN_LO + 1);
    }
#else
    for (long c = 0; c < (long)C; ++c) {
        long first = max(c - LRN_WIN_HI, 0L), last = min(c + LRN_WIN_LO, (long)C - 1);
        float acc = 0.0f;
        for (long i = first; i <= last; ++i) {
            ulong at = base + (ulong)i * HW;
            float s = scale ? scale[at] : lrn_across_scale_at(xp, HW, C, i, sqrt_a, k);
            acc += dy[at] * y[at] / s;
        }
        ulong at = base + (ulong)c * HW;
        float s = scale ? scale[at] : lrn_across_scale_at(xp, HW, C, c, sqrt_a, k);
        dx[at] = dy[at] * lrn_pow_neg_beta(s, beta) - two_ab * x[at] * acc;
    }
#endif
}
