/* lrn_across.cl: ACROSS_CHANNELS forward and backward (needs lrn_common.cl before it).
 *
 * One work-item per (n, block of CB channels, LRN_VW adjacent h*w positions) (dimension 0 walks
 * h*w, dimension 1 is n times the blocks) slides along its block's channels; GPUs want several
 * blocks per column for parallelism, CPUs one (CB >= C). With LRN_REG_WINDOW each x is loaded once and the window is
 * held in shift registers; otherwise the window is re-read (from cache) for every channel. Both
 * form every sum afresh, so there is no drift however wide the range of magnitudes. With
 * LRN_VW > 1 (NCHW) a work-item carries LRN_VW positions as one vector; the last, partial
 * group of a plane runs the same code one position at a time.
 *
 * The scale is float32 whatever the storage type of the other tensors (a float16 scale would
 * overflow at 65504 and lose the precision the backward pass needs).
 *
 * NHWC with LRN_VW > 1 (LRN_NHWC_VEC; CPUs, windows in registers): the channels are the
 * contiguous axis, so the window sum is a 1-D box sum along memory, like lrn_within.cl's row
 * sums. One work-item per (n, h*w position) walks its channels in groups of LRN_VW lanes: each
 * lane's sum is formed afresh from WIN unaligned vector loads (masked at the channel edges, zero
 * outside [0, C)), taps in ascending channel order as in the NCHW code, so both agree bitwise.
 *
 * In-place forward (y the same view as x) is safe with LRN_REG_WINDOW: channel c+hi is read
 * before y[c] is written, x[c] comes from registers, and no other work-item touches the column.
 * The NHWC vector path keeps this: a group's y is held in registers and stored only once no
 * later group of the column reads those channels (LRN_PEND groups later).
 */

#define LRN_NHWC_VEC (LRN_LAYOUT == 1 && LRN_VW > 1)
#if LRN_NHWC_VEC && !LRN_REG_WINDOW
#error "the NHWC vector path needs LRN_REG_WINDOW"
#endif
#if LRN_NHWC_VEC && LRN_VW != 8
#error "the NHWC vector path is written for LRN_VW 8 (its backward's taps are 8-lane shuffles)"
#endif

#if LRN_NHWC_VEC
/* Pre-scaled sums of squares for channels q .. q+VW-1, each over [c-lo, c+hi], taps in
 * ascending channel order; separate statements, so no multiply-add is contracted (as in the
 * NCHW code). */
LRN_INLINE lrn_vec lrn_nhwc_sq_sum(__global const lrn_t *xp, long q, long C, float sqrt_a) {
    lrn_vec sum = 0.0f;
    if (q >= LRN_WIN_LO && q + LRN_VW + LRN_WIN_HI <= C) {
#pragma unroll
        for (int d = -LRN_WIN_LO; d <= LRN_WIN_HI; ++d) {
            lrn_vec t = LRN_VLOAD(xp, q + d) * sqrt_a;
            lrn_vec sq = t * t;
            sum += sq;
        }
    } else {
#pragma unroll
        for (int d = -LRN_WIN_LO; d <= LRN_WIN_HI; ++d) {
            lrn_vec t = lrn_vload_masked(xp, q + d, C, 0.0f) * sqrt_a;
            lrn_vec sq = t * t;
            sum += sq;
        }
    }
    return sum;
}

/* Groups whose y waits in registers: group g reads channels from g*VW - lo on. */
#define LRN_PEND ((LRN_WIN_LO + LRN_VW - 1) / LRN_VW)

/* Forward over one column (xp, yp, sp at channel 0 of an (n, h, w) position). */
inline void lrn_across_fwd_nhwc(__global const lrn_t *xp, __global lrn_t *yp, __global float *sp, long C,
                                float sqrt_a, float k, float beta) {
    const long G = (C + LRN_VW - 1) / LRN_VW;
    lrn_vec pend[LRN_PEND + 1];
    for (long g = 0; g < G; ++g) {
        const long c0 = g * LRN_VW;
        lrn_vec sum = lrn_nhwc_sq_sum(xp, c0, C, sqrt_a);
        lrn_vec s = k + sum;
        if (sp)
            lrn_vstore_masked_f(sp, c0, C, s);
        if (yp) {
            lrn_vec xv = lrn_vload_masked(xp, c0, C, 0.0f);
            pend[LRN_PEND] = xv * LRN_POW_NEG_BETA(s, beta);
            if (g >= LRN_PEND)
                lrn_vstore_masked(yp, (g - LRN_PEND) * LRN_VW, C, pend[0]);
            LRN_REG_SHIFT(pend, LRN_PEND + 1);
        }
    }
    /* pend[i] now holds the y of group G - LRN_PEND + i. */
    if (yp) {
#pragma unroll
        for (int i = 0; i < LRN_PEND; ++i) {
            long g = G - LRN_PEND + i;
            if (g >= 0)
                lrn_vstore_masked(yp, g * LRN_VW, C, pend[i]);
        }
    }
}

/* Backward over one column. For the group at c0, the ratios dy*y/scale of the channels
 * c0-hi .. c0+VW-1+lo (the mirrored windows of its lanes) are formed once, LRN_VW at a time,
 * in registers (the scale loaded, or recomputed afresh per channel when NULL), then summed per
 * lane in ascending channel order, each tap one constant shuffle (LRN_LANES_AT). */
#define LRN_SEG (LRN_VW + LRN_WIN - 1)
#define LRN_NB ((LRN_SEG + LRN_VW - 1) / LRN_VW)
inline void lrn_across_bwd_nhwc(__global const lrn_t *xp, __global const lrn_t *yp, __global const lrn_t *dyp,
                                __global const float *sp, __global lrn_t *dxp, long C, float sqrt_a, float k,
                                float beta, float two_ab) {
    const long G = (C + LRN_VW - 1) / LRN_VW;
    for (long g = 0; g < G; ++g) {
        const long c0 = g * LRN_VW, q0 = c0 - LRN_WIN_HI;
        lrn_vec rv[LRN_NB + 1], sv[LRN_NB + 1]; /* the last of each is 0, read by LRN_LANES_AT */
#pragma unroll
        for (int b = 0; b < LRN_NB; ++b) {
            const long q = q0 + b * LRN_VW;
            sv[b] = sp ? lrn_vload_masked_f(sp, q, C, 1.0f) : lrn_nhwc_sq_sum(xp, q, C, sqrt_a) + k;
            lrn_vec gv = lrn_vload_masked(dyp, q, C, 0.0f);
            rv[b] = gv * lrn_vload_masked(yp, q, C, 0.0f) / sv[b];
        }
        rv[LRN_NB] = sv[LRN_NB] = (lrn_vec)0.0f;
        lrn_vec acc = rv[0];
#pragma unroll
        for (int d = 1; d < LRN_WIN; ++d)
            acc += LRN_LANES_AT(rv, d);
        lrn_vec s = LRN_LANES_AT(sv, LRN_WIN_HI);
        lrn_vec gv = lrn_vload_masked(dyp, c0, C, 0.0f), xv = lrn_vload_masked(xp, c0, C, 0.0f);
        lrn_vec gj = gv * LRN_POW_NEG_BETA(s, beta);
        lrn_vstore_masked(dxp, c0, C, gj - two_ab * xv * acc);
    }
}
#endif

/* scale at channel i, re-reading the window [i-lo, i+hi] (clamped to the tensor); xp points at
 * channel 0 of the column. */
inline float lrn_across_scale_at(__global const lrn_t *xp, ulong sC, long C, long i, float sqrt_a, float k) {
    long first = max(i - LRN_WIN_LO, 0L), last = min(i + LRN_WIN_HI, C - 1);
    float sum = 0.0f;
    LRN_IN_ORDER
    for (long j = first; j <= last; ++j) {
        float t = LRN_LOAD(xp, (ulong)j * sC) * sqrt_a;
        sum += t * t;
    }
    return k + sum;
}

/* Loads the window for channel c0 into registers: xv[p] = x(c0 - lo + p), sq[p] = (sqrt_a *
 * xv[p])^2 for p = 0 .. WIN-2 (zero outside [0, C)); the last slot is filled by the channel loop. */
#define LRN_ACROSS_PRIME_WINDOW(T, LD, c0, xv, sq)                                                 \
    do {                                                                                           \
        _Pragma("unroll")                                                                          \
        for (int p = 0; p < LRN_WIN; ++p) {                                                        \
            long ch = (long)(c0) + p - LRN_WIN_LO;                                                 \
            T v = (p < LRN_WIN - 1 && ch >= 0 && ch < (long)C) ? LD(xp, (ulong)ch * sC) : (T)0.0f; \
            T t = v * sqrt_a;                                                                      \
            xv[p] = v;                                                                             \
            sq[p] = t * t;                                                                         \
        }                                                                                          \
    } while (0)

/* x at the centre channel of the forward window (element offset at). CPUs (vector builds)
 * load it again, from L1: keeping hi + 1 vectors of x in registers beside the squares spilled
 * the window to the stack on x86-64 (16 vector registers), 5-7% slower on PoCL. GPUs keep it. */
#if LRN_VW > 1
#define LRN_FWD_CENTRE(LD, at) LD(xp, at)
#else
#define LRN_FWD_CENTRE(LD, at) xv[LRN_WIN_LO]
#endif

/* Forward over channels [c0, c1) of one column (xp, yp, sp at channel 0), window in registers.
 * T is float or lrn_vec; LD/ST load and store T of the storage type, STS stores T to the float
 * scale. Only a long walk (whole columns) prefetches: a slide block's prefetches would fetch
 * other blocks' channels, and cost 10-30% on PoCL with blocks of 6 (docs/performance.md). */
#define LRN_ACROSS_FWD_COLUMN(T, LD, ST, STS)                                                      \
    do {                                                                                           \
        /* At channel c: xv[p] = x(c - lo + p), sq[p] = (sqrt_a * xv[p])^2, p = 0 .. WIN-1. */      \
        T xv[LRN_WIN], sq[LRN_WIN];                                                                \
        LRN_ACROSS_PRIME_WINDOW(T, LD, c0, xv, sq);                                                \
        const int long_walk = c1 - c0 > 2 * LRN_PF_DIST;                                           \
        for (uint c = c0; c < c1; ++c) {                                                           \
            long ch = (long)c + LRN_WIN_HI;                                                        \
            if (long_walk && ch + LRN_PF_DIST < (long)C)                                           \
                LRN_PREFETCH(xp + (ulong)(ch + LRN_PF_DIST) * sC);                                 \
            T v = ch < (long)C ? LD(xp, (ulong)ch * sC) : (T)0.0f;                                 \
            T t = v * sqrt_a, sum;                                                                 \
            xv[LRN_WIN - 1] = v;                                                                   \
            sq[LRN_WIN - 1] = t * t;                                                               \
            LRN_REG_SUM(sq, LRN_WIN, sum);                                                         \
            T s = k + sum;                                                                         \
            ulong at = (ulong)c * sC;                                                              \
            if (yp)                                                                                \
                ST(yp, at, LRN_FWD_CENTRE(LD, at) * LRN_POW_NEG_BETA(s, beta));                    \
            if (sp)                                                                                \
                STS(sp, at, s);                                                                    \
            LRN_REG_SHIFT(xv, LRN_WIN);                                                            \
            LRN_REG_SHIFT(sq, LRN_WIN);                                                            \
        }                                                                                          \
    } while (0)

/* y = x * scale^-beta; y and scale may each be NULL (then not written). CB: channels per
 * block (dimension 1 is n * ceil(C / CB), the blocks fastest); each block primes its window
 * from the channels below it and reads the ones above, so blocks agree bit for bit with one
 * walk over all C (in-place needs CB >= C: the host sees to it). */
__kernel LRN_KERNEL_ATTR void lrn_across_fwd(__global const lrn_t *x, __global lrn_t *y, __global float *scale,
                             uint C, uint H, uint W, float sqrt_a, float k, float beta,
                             ulong4 strides, ulong8 offs, uint CB) {
    LRN_DECLARE_STRIDES(C, H, W, strides);
    const ulong HW = (ulong)H * W;
#if LRN_NHWC_VEC
    const ulong hw = get_global_id(0); /* the vector runs along the channels */
#else
    const ulong hw = get_global_id(0) * LRN_VW;
#endif
    if (hw >= HW)
        return;
    const uint nb = (C + CB - 1) / CB, c0 = (uint)(get_global_id(1) % nb) * CB, c1 = min(C, c0 + CB);
    const ulong pos = (get_global_id(1) / nb) * sN + (hw / W) * sH + (hw % W) * sW;
    __global const lrn_t *xp = x + offs.s0 + pos;
    __global lrn_t *yp = y ? y + offs.s1 + pos : 0;
    __global float *sp = scale ? scale + offs.s2 + pos : 0;

#if LRN_NHWC_VEC
    (void)c1; /* one block: the host passes CB >= C */
    (void)sC; /* 1: the vector's channels are adjacent */
    lrn_across_fwd_nhwc(xp, yp, sp, C, sqrt_a, k, beta);
#elif LRN_REG_WINDOW
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
        for (uint c = c0; c < c1; ++c) {
            float s = lrn_across_scale_at(xp, sC, C, c, sqrt_a, k);
            ulong at = (ulong)c * sC;
            if (yp)
                LRN_STORE(yp, at, LRN_LOAD(xp, at) * LRN_POW_NEG_BETA(s, beta));
            if (sp)
                sp[at] = s;
        }
#endif
}

/* Backward over channels [c0, c1) of one column, windows in registers. Step t (output channel
 * t once t >= c0) works on channel j = t + lo, the newest whose ratio r = dy*y/scale is needed;
 * the walk starts at t = max(c0 - hi, 0) - lo, so the first output's mirrored window
 * [c0 - hi, c0 + lo] is complete. At step t:
 *   xv[p], sq[p]: x(t + p) and its pre-scaled square, p = 0 .. WIN-1 (scale at j needs them)
 *   r[p]:         ratio at channel t - hi + p (the mirrored window of t)
 *   gp[p]:        dy * scale^-beta at channel t + p, p = 0 .. lo */
#define LRN_ACROSS_BWD_COLUMN(T, LD, ST, LDS)                                                      \
    do {                                                                                           \
        T xv[LRN_WIN], sq[LRN_WIN], r[LRN_WIN], gp[LRN_WIN_LO + 1];                                \
        const long t0 = max((long)(c0) - LRN_WIN_HI, 0L) - LRN_WIN_LO;                            \
        LRN_ACROSS_PRIME_WINDOW(T, LD, t0 + LRN_WIN_LO, xv, sq);                                   \
        _Pragma("unroll")                                                                          \
        for (int p = 0; p < LRN_WIN; ++p)                                                          \
            r[p] = (T)0.0f;                                                                        \
        _Pragma("unroll")                                                                          \
        for (int p = 0; p <= LRN_WIN_LO; ++p)                                                      \
            gp[p] = (T)0.0f;                                                                       \
        for (long t = t0; t < (long)(c1); ++t) {                                                   \
            long ch = t + LRN_WIN - 1;                                                             \
            if (ch + LRN_PF_DIST < (long)C) {                                                      \
                ulong ahead = (ulong)(ch + LRN_PF_DIST) * sC;                                      \
                LRN_PREFETCH(xp + ahead);                                                          \
                LRN_PREFETCH(yp + ahead);                                                          \
                LRN_PREFETCH(dyp + ahead);                                                         \
                if (sp)                                                                            \
                    LRN_PREFETCH(sp + ahead);                                                      \
            }                                                                                      \
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
            if (t >= (long)(c0)) {                                                                 \
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
__kernel LRN_KERNEL_ATTR void lrn_across_bwd(__global const lrn_t *x, __global const lrn_t *y, __global const lrn_t *dy,
                             __global const float *scale, __global lrn_t *dx,
                             uint C, uint H, uint W, float sqrt_a, float k, float beta, float two_ab,
                             ulong4 strides, ulong8 offs, uint CB) {
    LRN_DECLARE_STRIDES(C, H, W, strides);
    const ulong HW = (ulong)H * W;
#if LRN_NHWC_VEC
    const ulong hw = get_global_id(0);
#else
    const ulong hw = get_global_id(0) * LRN_VW;
#endif
    if (hw >= HW)
        return;
    const uint nb = (C + CB - 1) / CB, c0 = (uint)(get_global_id(1) % nb) * CB, c1 = min(C, c0 + CB);
    const ulong pos = (get_global_id(1) / nb) * sN + (hw / W) * sH + (hw % W) * sW;
    __global const lrn_t *xp = x + offs.s0 + pos, *yp = y + offs.s1 + pos, *dyp = dy + offs.s3 + pos;
    __global const float *sp = scale ? scale + offs.s2 + pos : 0;
    __global lrn_t *dxp = dx + offs.s4 + pos;

#if LRN_NHWC_VEC
    (void)c1; /* one block: the host passes CB >= C */
    (void)sC; /* 1: the vector's channels are adjacent */
    lrn_across_bwd_nhwc(xp, yp, dyp, sp, dxp, C, sqrt_a, k, beta, two_ab);
#elif LRN_REG_WINDOW
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
        for (long c = c0; c < (long)c1; ++c) {
            long first = max(c - LRN_WIN_HI, 0L), last = min(c + LRN_WIN_LO, (long)C - 1);
            float acc = 0.0f;
            LRN_IN_ORDER
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
