/* lrn_across.cl: ACROSS_CHANNELS forward and backward (needs lrn_common.cl before it).
 *
 * One work-item per (n, LRN_VW adjacent h*w positions) (dimension 0 walks h*w, dimension 1 is
 * n) slides along the channels. With LRN_REG_WINDOW each x is loaded once and the window is
 * held in shift registers; otherwise the window is re-read (from cache) for every channel. Both
 * form every sum afresh, so there is no drift however wide the range of magnitudes. With
 * LRN_VW > 1 (NCHW only) a work-item carries LRN_VW positions as one vector; the last, partial
 * group of a plane runs the same code one position at a time.
 *
 * The scale is float32 whatever the storage type of the other tensors (a float16 scale would
 * overflow at 65504 and lose the precision the backward pass needs).
 *
 * In-place forward (y the same view as x) is safe with LRN_REG_WINDOW: channel c+hi is read
 * before y[c] is written, x[c] comes from registers, and no other work-item touches the column.
 */

/* scale at channel i, re-reading the window [i-lo, i+hi] (clamped to the tensor); xp points at
 * channel 0 of the column. */
inline float lrn_across_scale_at(__global const lrn_t *xp, ulong sC, long C, long i, float sqrt_a, float k) {
    long first = max(i - LRN_WIN_LO, 0L), last = min(i + LRN_WIN_HI, C - 1);
    float sum = 0.0f;
    for (long j = first; j <= last; ++j) {
        float t = LRN_LOAD(xp, (ulong)j * sC) * sqrt_a;
        sum += t * t;
    }
    return k + sum;
}

/* Forward over one column (xp, yp, sp at channel 0), window in registers. T is float or
 * lrn_vec; LD/ST load and store T of the storage type, STS stores T to the float scale. */
#define LRN_ACROSS_FWD_COLUMN(T, LD, ST, STS)                                                      \
    do {                                                                                           \
        /* At channel c: xv[p] = x(c - lo + p), sq[p] = (sqrt_a * xv[p])^2, p = 0 .. WIN-1. */      \
        T xv[LRN_WIN], sq[LRN_WIN];                                                                \
        _Pragma("unroll")                                                                          \
        for (int p = 0; p < LRN_WIN; ++p) {                                                        \
            long ch = p - LRN_WIN_LO;                                                              \
            T v = (p < LRN_WIN - 1 && ch >= 0 && ch < (long)C) ? LD(xp, (ulong)ch * sC) : (T)0.0f; \
            T t = v * sqrt_a;                                                                      \
            xv[p] = v;                                                                             \
            sq[p] = t * t;                                                                         \
        }                                                                                          \
        for (uint c = 0; c < C; ++c) {                                                             \
            long ch = (long)c + LRN_WIN_HI;                                                        \
            T v = ch < (long)C ? LD(xp, (ulong)ch * sC) : (T)0.0f;                                 \
            T t = v * sqrt_a, sum;                                                                 \
            xv[LRN_WIN - 1] = v;                                                                   \
            sq[LRN_WIN - 1] = t * t;                                                               \
            LRN_REG_SUM(sq, LRN_WIN, sum);                                                         \
            T s = k + sum;                                                                         \
            ulong at = (ulong)c * sC;                                                              \
            if (yp)                                                                                \
                ST(yp, at, xv[LRN_WIN_LO] * LRN_POW_NEG_BETA(s, beta));                            \
            if (sp)                                                                                \
                STS(sp, at, s);                                                                    \
            LRN_REG_SHIFT(xv, LRN_WIN);                                                            \
            LRN_REG_SHIFT(sq, LRN_WIN);                                                            \
        }                                                                                          \
    } while (0)

/* y = x * scale^-beta; y and scale may each be NULL (then not written). */
__kernel void lrn_across_fwd(__global const lrn_t *x, __global lrn_t *y, __global float *scale,
                             uint C, uint H, uint W, float sqrt_a, float k, float beta,
                             ulong4 strides, ulong8 offs) {
    LRN_DECLARE_STRIDES(C, H, W, strides);
    const ulong HW = (ulong)H * W;
    const ulong hw = get_global_id(0) * LRN_VW;
    if (hw >= HW)
        return;
    const ulong pos = get_global_id(1) * sN + (hw / W) * sH + (hw % W) * sW;
    __global const lrn_t *xp = x + offs.s0 + pos;
    __global lrn_t *yp = y ? y + offs.s1 + pos : 0;
    __global float *sp = scale ? scale + offs.s2 + pos : 0;

#if LRN_REG_WINDOW
#if LRN_VW > 1
    if (hw + LRN_VW <= HW) {
        LRN_ACROSS_FWD_COLUMN(lrn_vec, LRN_VLOAD, LRN_VSTORE, LRN_VSTORE_F);
        return;
    }
    /* The plane's last, partial group: one position at a time (NCHW: adjacent elements). */
    for (ulong e = hw; e < HW; ++e, ++xp, yp = yp ? yp + 1 : 0, sp = sp ? sp + 1 : 0)
        LRN_ACROSS_FWD_COLUMN(float, LRN_LOAD, LRN_STORE, LRN_STORE_F);
#else
    LRN_ACROSS_FWD_COLUMN(float, LRN_LOAD, LRN_STORE, LRN_STORE_F);
#endif
#else
    for (ulong e = 0; e < LRN_VW && hw + e < HW; ++e, ++xp, yp = yp ? yp + 1 : 0, sp = sp ? sp + 1 : 0)
        for (uint c = 0; c < C; ++c) {
            float s = lrn_across_scale_at(xp, sC, C, c, sqrt_a, k);
            ulong at = (ulong)c * sC;
            if (yp)
                LRN_STORE(yp, at, LRN_LOAD(xp, at) * LRN_POW_NEG_BETA(s, beta));
            if (sp)
                sp[at] = s;
        }
#endif
}

/* Backward over one column, windows in registers. Step t (output channel t once t >= 0)
 * works on channel j = t + lo, the newest whose ratio r = dy*y/scale is needed. At step t:
 *   xv[p], sq[p]: x(t + p) and its pre-scaled square, p = 0 .. WIN-1 (scale at j needs them)
 *   r[p]:         ratio at channel t - hi + p (the mirrored window of t)
 *   gp[p]:        dy * scale^-beta at channel t + p, p = 0 .. lo */
#define LRN_ACROSS_BWD_COLUMN(T, LD, ST, LDS)                                                      \
    do {                                                                                           \
        T xv[LRN_WIN], sq[LRN_WIN], r[LRN_WIN], gp[LRN_WIN_LO + 1];                                \
        _Pragma("unroll")                                                                          \
        for (int p = 0; p < LRN_WIN; ++p) {                                                        \
            long ch = p - LRN_WIN_LO;                                                              \
            T v = (p < LRN_WIN - 1 && ch >= 0 && ch < (long)C) ? LD(xp, (ulong)ch * sC) : (T)0.0f; \
            T t = v * sqrt_a;                                                                      \
            xv[p] = v;                                                                             \
            sq[p] = t * t;                                                                         \
            r[p] = (T)0.0f;                                                                        \
        }                                                                                          \
        _Pragma("unroll")                                                                          \
        for (int p = 0; p <= LRN_WIN_LO; ++p)                                                      \
            gp[p] = (T)0.0f;                                                                       \
        for (long t = -LRN_WIN_LO; t < (long)C; ++t) {                                             \
            long ch = t + LRN_WIN - 1;                                                             \
            T v = ch < (long)C ? LD(xp, (ulong)ch * sC) : (T)0.0f;                                 \
            T tv = v * sqrt_a;                                                                     \
            xv[LRN_WIN - 1] = v;                                                                   \
            sq[LRN_WIN - 1] = tv * tv;                                                             \
            long j = t + LRN_WIN_LO;                                                               \
            T rj = (T)0.0f, gj = (T)0.0f;                                                          \
            if (j < (long)C) {                                                                     \
                ulong at = (ulong)j * sC;                                                          \
                T s;                                                                               \
                if (sp) {                                                                          \
                    s = LDS(sp, at);                                                               \
                } else {                                                                           \
                    LRN_REG_SUM(sq, LRN_WIN, s);                                                   \
                    s += k;                                                                        \
                }                                                                                  \
                T g = LD(dyp, at);                                                                 \
                rj = g * LD(yp, at) / s;                                                           \
                gj = g * LRN_POW_NEG_BETA(s, beta);                                                \
            }                                                                                      \
            r[LRN_WIN - 1] = rj;                                                                   \
            gp[LRN_WIN_LO] = gj;                                                                   \
            if (t >= 0) {                                                                          \
                T acc;                                                                             \
                LRN_REG_SUM(r, LRN_WIN, acc);                                                      \
                ST(dxp, (ulong)t * sC, gp[0] - two_ab * xv[0] * acc);                              \
            }                                                                                      \
            LRN_REG_SHIFT(xv, LRN_WIN);                                                            \
            LRN_REG_SHIFT(sq, LRN_WIN);                                                            \
            LRN_REG_SHIFT(r, LRN_WIN);                                                             \
            LRN_REG_SHIFT(gp, LRN_WIN_LO + 1);                                                     \
        }                                                                                          \
    } while (0)

#define LRN_LOAD_F(p, i) ((p)[i])
#define LRN_VLOAD_F(p, i) LRN_CAT(vload, LRN_VW)(0, (p) + (i))

/* dx[c] = dy[c] * scale[c]^-beta - 2ab * x[c] * SUM_{i in [c-hi, c+lo]} dy[i] * y[i] / scale[i].
 * scale may be NULL: it is then recomputed from x. */
__kernel void lrn_across_bwd(__global const lrn_t *x, __global const lrn_t *y, __global const lrn_t *dy,
                             __global const float *scale, __global lrn_t *dx,
                             uint C, uint H, uint W, float sqrt_a, float k, float beta, float two_ab,
                             ulong4 strides, ulong8 offs) {
    LRN_DECLARE_STRIDES(C, H, W, strides);
    const ulong HW = (ulong)H * W;
    const ulong hw = get_global_id(0) * LRN_VW;
    if (hw >= HW)
        return;
    const ulong pos = get_global_id(1) * sN + (hw / W) * sH + (hw % W) * sW;
    __global const lrn_t *xp = x + offs.s0 + pos, *yp = y + offs.s1 + pos, *dyp = dy + offs.s3 + pos;
    __global const float *sp = scale ? scale + offs.s2 + pos : 0;
    __global lrn_t *dxp = dx + offs.s4 + pos;

#if LRN_REG_WINDOW
#if LRN_VW > 1
    if (hw + LRN_VW <= HW) {
        LRN_ACROSS_BWD_COLUMN(lrn_vec, LRN_VLOAD, LRN_VSTORE, LRN_VLOAD_F);
        return;
    }
    for (ulong e = hw; e < HW; ++e, ++xp, ++yp, ++dyp, ++dxp, sp = sp ? sp + 1 : 0)
        LRN_ACROSS_BWD_COLUMN(float, LRN_LOAD, LRN_STORE, LRN_LOAD_F);
#else
    LRN_ACROSS_BWD_COLUMN(float, LRN_LOAD, LRN_STORE, LRN_LOAD_F);
#endif
#else
    for (ulong e = 0; e < LRN_VW && hw + e < HW; ++e, ++xp, ++yp, ++dyp, ++dxp, sp = sp ? sp + 1 : 0)
        for (long c = 0; c < (long)C; ++c) {
            long first = max(c - LRN_WIN_HI, 0L), last = min(c + LRN_WIN_LO, (long)C - 1);
            float acc = 0.0f;
            for (long i = first; i <= last; ++i) {
                ulong at = (ulong)i * sC;
                float s = sp ? sp[at] : lrn_across_scale_at(xp, sC, C, i, sqrt_a, k);
                acc += LRN_LOAD(dyp, at) * LRN_LOAD(yp, at) / s;
            }
            ulong at = (ulong)c * sC;
            float s = sp ? sp[at] : lrn_across_scale_at(xp, sC, C, c, sqrt_a, k);
            LRN_STORE(dxp, at, LRN_LOAD(dyp, at) * LRN_POW_NEG_BETA(s, beta) - two_ab * LRN_LOAD(xp, at) * acc);
        }
#endif
}
