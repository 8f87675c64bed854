/* lrn_within.cl: WITHIN_CHANNEL forward and backward (needs lrn_common.cl before it).
 *
 * One work-item per (plane n*C + c, block of RB rows, LRN_VW adjacent columns starting at w0)
 * slides down its block's rows (dimension 0 walks the column groups, dimension 1 the planes
 * times the row blocks, blocks fastest). Each block primes its window from the rows above it,
 * so blocks agree bit for bit with one walk down all H. The box sum is separable: each new row's horizontal
 * sums over the window's columns are formed afresh and, with LRN_REG_WINDOW, kept in shift
 * registers for the window's rows; otherwise the rows are re-summed for every output. Columns
 * outside the plane read as zero (a scale as one) and are never written. The scale is float32
 * whatever the storage type.
 *
 * NHWC with LRN_VW > 1 (LRN_NHWC_VEC; CPUs, windows in registers): the channels are the
 * contiguous axis, so the LRN_VW lanes are adjacent channels instead. One work-item per
 * (n, columns w and w + 1, group of LRN_VW channels from c0) slides down the rows (dimension 0
 * walks ceil(C / LRN_VW) * ceil(W / 2), channel groups fastest; dimension 1 is n times the row
 * blocks); each tap is loaded once for both columns. Each tap of a row sum is one
 * contiguous vector at (r, w + d, c0 ..), taps in ascending column order and rows in ascending
 * order as in the NCHW code, so both agree bit for bit. Lanes beyond C (the last group) load as
 * zero (a scale as one) and are never stored.
 */

#define LRN_NHWC_VEC (LRN_LAYOUT == 1 && LRN_VW > 1)
#if LRN_NHWC_VEC && !LRN_REG_WINDOW
#error "the NHWC vector path needs LRN_REG_WINDOW"
#endif

/* This work-item's rows: dimension 1 is (planes or n) times the row blocks of RB rows, blocks
 * fastest. Declares nb (blocks per plane), h0 .. h1 (the block's rows) and `outer`, the plane
 * (or n) the work-item belongs to. */
#define LRN_ROW_BLOCK(H, RB, outer)                                                                \
    const uint nb = ((H) + (RB) - 1) / (RB);                                                       \
    const long h0 = (long)(get_global_id(1) % nb) * (RB), h1 = min((long)(H), h0 + (long)(RB));    \
    const ulong outer = get_global_id(1) / nb

#if !LRN_NHWC_VEC

/* LRN_VW values of one row from column q on (column stride sW; LRN_VW > 1 implies sW = 1);
 * columns outside [0, W) give `fill`. */
LRN_INLINE lrn_vec lrn_row_load(__global const lrn_t *row, long q, long W, ulong sW, float fill) {
#if LRN_VW > 1
    return lrn_vload_masked(row, q, W, fill);
#else
    return (q >= 0 && q < W) ? LRN_LOAD(row, (ulong)q * sW) : fill;
#endif
}

LRN_INLINE lrn_vec lrn_row_load_f(__global const float *row, long q, long W, ulong sW, float fill) {
#if LRN_VW > 1
    return lrn_vload_masked_f(row, q, W, fill);
#else
    return (q >= 0 && q < W) ? row[(ulong)q * sW] : fill;
#endif
}

/* Stores the columns of v that lie inside the plane. */
LRN_INLINE void lrn_row_store(__global lrn_t *row, long q, long W, ulong sW, lrn_vec v) {
#if LRN_VW > 1
    (void)sW;
    lrn_vstore_masked(row, q, W, v);
#else
    (void)W;
    LRN_STORE(row, (ulong)q * sW, v);
#endif
}

LRN_INLINE void lrn_row_store_f(__global float *row, long q, long W, ulong sW, lrn_vec v) {
#if LRN_VW > 1
    (void)sW;
    lrn_vstore_masked_f(row, q, W, v);
#else
    (void)W;
    row[(ulong)q * sW] = v;
#endif
}

/* Pre-scaled sums of squares along one row, for the columns w0 .. w0+VW-1, each over its
 * window [w-lo, w+hi]; taps that miss every column are skipped. Vector builds take a group
 * whose taps all lie inside the row through an unrolled loop of plain vector loads, the same
 * operations in the same order (22% faster within-alexnet forward on PoCL than the bounded
 * loop of masked loads, interleaved A/B). */
LRN_INLINE lrn_vec lrn_within_row_sq(__global const lrn_t *rp, ulong sW, long W, long w0, float sqrt_a) {
#if LRN_VW > 1
    if (w0 >= LRN_WIN_LO && w0 + LRN_VW + LRN_WIN_HI <= W) {
        lrn_vec inner = 0.0f;
#pragma unroll
        for (int d = -LRN_WIN_LO; d <= LRN_WIN_HI; ++d) {
            lrn_vec t = LRN_VLOAD(rp, w0 + d) * sqrt_a;
            inner = fma(t, t, inner);
        }
        return inner;
    }
#endif
#if LRN_VW > 1 && LRN_REG_WINDOW
    /* Edge groups: every tap, unrolled, each a masked load (a tap that misses every column adds
     * fma(0, 0, sum) = sum, so the bits are those of the loop that skips it). 11-31% faster than
     * the rolled loop over the taps that hit (docs/performance.md). */
    lrn_vec edge = 0.0f;
#pragma unroll
    for (int d = -LRN_WIN_LO; d <= LRN_WIN_HI; ++d) {
        lrn_vec t = lrn_vload_masked(rp, w0 + d, W, 0.0f) * sqrt_a;
        edge = fma(t, t, edge);
    }
    return edge;
#else
    long first = max(-(long)LRN_WIN_LO, -(w0 + LRN_VW - 1)), last = min((long)LRN_WIN_HI, W - 1 - w0);
    lrn_vec sum = 0.0f;
    LRN_IN_ORDER
    for (long d = first; d <= last; ++d) {
        lrn_vec t = lrn_row_load(rp, w0 + d, W, sW, 0.0f) * sqrt_a;
        sum = fma(t, t, sum); /* explicit: every path rounds alike (lrn_common.cl) */
    }
    return sum;
#endif
}

/* Sums of dy*y/scale along one row over the mirrored windows [w-hi, w+lo]. */
LRN_INLINE lrn_vec lrn_within_row_ratio(__global const lrn_t *dyr, __global const lrn_t *yr, __global const float *sr,
                                    ulong sW, long W, long w0) {
    long first = max(-(long)LRN_WIN_HI, -(w0 + LRN_VW - 1)), last = min((long)LRN_WIN_LO, W - 1 - w0);
    lrn_vec sum = 0.0f;
    LRN_IN_ORDER
    for (long d = first; d <= last; ++d) {
        long q = w0 + d;
        sum += lrn_row_load(dyr, q, W, sW, 0.0f) * lrn_row_load(yr, q, W, sW, 0.0f) / lrn_row_load_f(sr, q, W, sW, 1.0f);
    }
    return sum;
}

#if LRN_VW > 1
#define LRN_VLOAD_PRIV(p) LRN_CAT(vload, LRN_VW)(0, (p))
#else
#define LRN_VLOAD_PRIV(p) (*(p))
#endif

/* A row's ratios dy*y/scale at the n columns q0 .. q0+n-1 into private seg (0 outside [0, W));
 * S(j) is the scale at column q0 + j. */
#define LRN_RATIO_SEG_FILL(seg, n, dyr, yr, S, sW, W, q0)                                          \
    do {                                                                                           \
        if ((q0) >= 0 && (q0) + (n) <= (W)) {                                                      \
            _Pragma("unroll")                                                                      \
            for (int j = 0; j < (n); ++j)                                                          \
                seg[j] = LRN_LOAD(dyr, (ulong)((q0) + j) * (sW)) * LRN_LOAD(yr, (ulong)((q0) + j) * (sW)) / S(j); \
        } else {                                                                                   \
            _Pragma("unroll")                                                                      \
            for (int j = 0; j < (n); ++j)                                                          \
                seg[j] = ((q0) + j >= 0 && (q0) + j < (W))                                         \
                             ? LRN_LOAD(dyr, (ulong)((q0) + j) * (sW)) * LRN_LOAD(yr, (ulong)((q0) + j) * (sW)) / S(j) \
                             : 0.0f;                                                               \
        }                                                                                          \
    } while (0)

#if LRN_VW == 8
/* The same for nv vectors of columns from q0, kept in registers: rv[b] holds columns q0 + 8b ..
 * q0 + 8b + 7, and rv[nv] is 0 (LRN_RATIO_VEC_SUM reads one vector past the last). Lanes outside
 * [0, W) take dy = y = 0 over a scale of 1, so they are 0 as above and never divide by a scale
 * outside the row; the other lanes are the same operations as above. SV(b) is the scale vector
 * at q0 + 8b. */
#define LRN_RATIO_VEC_FILL(rv, nv, dyr, yr, SV, W, q0)                                             \
    do {                                                                                           \
        _Pragma("unroll")                                                                          \
        for (int b = 0; b < (nv); ++b) {                                                           \
            const long q = (q0) + b * LRN_VW;                                                      \
            (rv)[b] = lrn_vload_masked(dyr, q, W, 0.0f) * lrn_vload_masked(yr, q, W, 0.0f)         \
                      / select((lrn_vec)1.0f, SV(b), LRN_LANES_IN(q, W));                          \
        }                                                                                          \
        (rv)[nv] = (lrn_vec)0.0f;                                                                  \
    } while (0)

/* Per lane, the sum of the ratios over the WIN taps of its mirrored window, in ascending order
 * (as LRN_RATIO_SEG_SUM): tap d is lanes d .. d+7 of the registers, one constant shuffle each.
 * Against ratios stored to private memory and read back as vectors at every offset (each read
 * spanning two stores, so no store-to-load forwarding), within-small's backward ran 0.29 ->
 * 0.17 ms and within-alexnet's 5.7 -> 3.7-3.9 ms on PoCL (docs/performance.md). */
#define LRN_RATIO_VEC_SUM(rv, sum)                                                                 \
    do {                                                                                           \
        (sum) = (rv)[0];                                                                           \
        _Pragma("unroll")                                                                          \
        for (int d = 1; d < LRN_WIN; ++d)                                                          \
            (sum) += LRN_LANES_AT(rv, d);                                                          \
    } while (0)
#endif

/* Per lane, the sum of seg over the WIN taps of its mirrored window, in ascending order. */
#define LRN_RATIO_SEG_SUM(seg, sum)                                                                \
    do {                                                                                           \
        (sum) = LRN_VLOAD_PRIV(seg);                                                               \
        _Pragma("unroll")                                                                          \
        for (int d = 1; d < LRN_WIN; ++d)                                                          \
            (sum) += LRN_VLOAD_PRIV((seg) + d);                                                    \
    } while (0)

#if LRN_REG_WINDOW && LRN_VW > 1
/* Backward with vectors and a register window: a row's ratios dy*y/scale over VW + WIN - 1
 * columns are formed once, instead of WIN divisions per column group: 8-wide builds keep them
 * in registers and take each of the WIN taps as a constant shuffle, other widths store them to
 * private memory and take each tap as one vector load. (The forward's squares are cheaper to
 * recompute per tap from unaligned global vector loads: measured faster on PoCL.) */
#define LRN_SEG (LRN_VW + LRN_WIN - 1)
#define LRN_SEGV ((LRN_SEG + LRN_VW - 1) / LRN_VW) /* vectors covering LRN_SEG columns */

/* dy*y/scale at columns q0 .. q0+SEG-1 of the mirrored windows (0 outside), summed per tap. */
LRN_INLINE lrn_vec lrn_within_row_ratio_seg(__global const lrn_t *dyr, __global const lrn_t *yr, __global const float *sr,
                                        long W, long w0) {
    const long q0 = w0 - LRN_WIN_HI;
    lrn_vec sum;
#if LRN_VW == 8
    lrn_vec rv[LRN_SEGV + 1];
#define LRN_SV_GLOBAL(b) lrn_vload_masked_f(sr, q0 + (b) * LRN_VW, W, 1.0f)
    LRN_RATIO_VEC_FILL(rv, LRN_SEGV, dyr, yr, LRN_SV_GLOBAL, W, q0);
#undef LRN_SV_GLOBAL
    LRN_RATIO_VEC_SUM(rv, sum);
#else
    float seg[LRN_SEG];
#define LRN_S_GLOBAL(j) sr[q0 + (j)]
    LRN_RATIO_SEG_FILL(seg, LRN_SEG, dyr, yr, LRN_S_GLOBAL, 1, W, q0);
#undef LRN_S_GLOBAL
    LRN_RATIO_SEG_SUM(seg, sum);
#endif
    return sum;
}
#define LRN_ROW_RATIO(dyr, yr, sr, sW, W, w0) lrn_within_row_ratio_seg((dyr), (yr), (sr), (W), (w0))
#else
#define LRN_ROW_RATIO lrn_within_row_ratio
#endif

/* Forward over rows [h0, h1) of one column group (xp, yp, sp at the plane's row 0). */
inline void lrn_within_fwd_rows(__global const lrn_t *xp, __global lrn_t *yp, __global float *sp, uint H, uint W,
                                ulong sH, ulong sW, long w0, long h0, long h1, float sqrt_a, float k, float beta) {
#if LRN_REG_WINDOW
    /* At row h: hs[p] = row sums of row h - lo + p, p = 0 .. WIN-1. */
    lrn_vec hs[LRN_WIN];
#pragma unroll
    for (int p = 0; p < LRN_WIN; ++p) {
        long row = h0 + p - LRN_WIN_LO;
        hs[p] = (p < LRN_WIN - 1 && row >= 0 && row < (long)H)
                    ? lrn_within_row_sq(xp + (ulong)row * sH, sW, W, w0, sqrt_a) : (lrn_vec)0.0f;
    }
    for (long h = h0; h < h1; ++h) {
        long row = h + LRN_WIN_HI;
        lrn_vec sum;
        hs[LRN_WIN - 1] = row < (long)H ? lrn_within_row_sq(xp + (ulong)row * sH, sW, W, w0, sqrt_a) : (lrn_vec)0.0f;
        LRN_REG_SUM(hs, LRN_WIN, sum);
#else
    for (long h = h0; h < h1; ++h) {
        long first = max(h - LRN_WIN_LO, 0L), last = min(h + LRN_WIN_HI, (long)H - 1);
        lrn_vec sum = 0.0f;
        LRN_IN_ORDER
        for (long row = first; row <= last; ++row)
            sum += lrn_within_row_sq(xp + (ulong)row * sH, sW, W, w0, sqrt_a);
#endif
        lrn_vec s = k + sum;
        ulong ro = (ulong)h * sH;
        if (yp)
            lrn_row_store(yp + ro, w0, W, sW, lrn_row_load(xp + ro, w0, W, sW, 0.0f) * LRN_POW_NEG_BETA(s, beta));
        if (sp)
            lrn_row_store_f(sp + ro, w0, W, sW, s);
#if LRN_REG_WINDOW
        LRN_REG_SHIFT(hs, LRN_WIN);
#endif
    }
}

/* y = x * scale^-beta; y and scale may each be NULL (then not written). */
__kernel LRN_KERNEL_ATTR void lrn_within_fwd(__global const lrn_t *x, __global lrn_t *y, __global float *scale,
                             uint C, uint H, uint W, float sqrt_a, float k, float beta,
                             ulong4 strides, ulong8 offs, uint RB) {
    LRN_DECLARE_STRIDES(C, H, W, strides);
    const long w0 = get_global_id(0) * LRN_VW;
    if (w0 >= (long)W)
        return;
    LRN_ROW_BLOCK(H, RB, plane);
    const ulong pos = (plane / C) * sN + (plane % C) * sC;
    __global const lrn_t *xp = x + offs.s0 + pos;
    __global lrn_t *yp = y ? y + offs.s1 + pos : 0;
    __global float *sp = scale ? scale + offs.s2 + pos : 0;
    /* One block (CPUs): h0 = 0 and h1 = H as constants, so the priming's bounds fold at compile
     * time (8-12% faster on PoCL than the same code with h0 and h1 from the launch). */
    if (nb == 1)
        lrn_within_fwd_rows(xp, yp, sp, H, W, sH, sW, w0, 0, (long)H, sqrt_a, k, beta);
    else
        lrn_within_fwd_rows(xp, yp, sp, H, W, sH, sW, w0, h0, h1, sqrt_a, k, beta);
}

#if LRN_REG_WINDOW
/* Backward without a given scale (NCHW and strided layouts, windows in registers), one pass:
 * the scale is recomputed as the forward computes it, at the columns the ratios need.
 * Ratio row r needs the scale at columns q0 = w0-hi .. w0+VW-1+lo (LRN_FSEG of them), that is
 * the forward's sums over rows r-lo .. r+hi for LRN_FNB column groups from q0; hs[b] holds
 * those rows' sums of squares for group b. Each column's sums are the forward's operations in
 * the forward's order whatever group computes them (a tap outside the row adds +0), so the
 * scale, and dx, are bitwise those of a backward given the forward's scale. The output row h
 * takes its own scale from ratio row h, lo steps back (so[]). */
#define LRN_FSEG (LRN_VW + LRN_WIN - 1)
#define LRN_FNB ((LRN_FSEG + LRN_VW - 1) / LRN_VW)

#if LRN_VW > 1
#define LRN_VSTORE_PRIV(v, p) LRN_CAT(vstore, LRN_VW)((v), 0, (p))
#else
#define LRN_VSTORE_PRIV(v, p) (*(p) = (v))
#endif

/* One ratio row r (then r + 1): the sums of its rows of squares advance by row r + hi, the
 * scale at its columns is formed (LRN_FUSED_SC_*), its centre columns pushed to so, and its
 * ratio sums go to `out`. */
#define LRN_FUSED_RATIO_ROW(out)                                                                   \
    do {                                                                                           \
        const long nr = r + LRN_WIN_HI;                                                            \
        LRN_FUSED_SC_DECL;                                                                         \
        LRN_FUSED_SEG_DECL;                                                                        \
        _Pragma("unroll")                                                                          \
        for (int b = 0; b < LRN_FNB; ++b) {                                                        \
            hs[b][LRN_WIN - 1] = nr >= 0 && nr < (long)H                                           \
                                     ? lrn_within_row_sq(xp + (ulong)nr * sH, sW, W, q0 + b * LRN_VW, sqrt_a) \
                                     : (lrn_vec)0.0f;                                              \
            lrn_vec sum;                                                                           \
            LRN_REG_SUM(hs[b], LRN_WIN, sum);                                                      \
            LRN_FUSED_SC_PUT(b, k + sum);                                                          \
            LRN_REG_SHIFT(hs[b], LRN_WIN);                                                         \
        }                                                                                          \
        LRN_REG_SHIFT(so, LRN_WIN_LO + 1);                                                         \
        so[LRN_WIN_LO] = LRN_FUSED_SC_CENTRE;                                                      \
        if (r >= 0 && r < (long)H) {                                                               \
            __global const lrn_t *dyr = dyp + (ulong)r * sH, *yr = yp + (ulong)r * sH;            \
            LRN_FUSED_SEG_SUM(dyr, yr, sW, W, q0, out);                                            \
        } else {                                                                                   \
            (out) = (lrn_vec)0.0f;                                                                 \
        }                                                                                          \
        ++r;                                                                                       \
    } while (0)
#if LRN_VW == 8
/* 8-wide: the scale vectors stay in registers (sv[FNB] is 0 for the shuffle past the last), and
 * the output row's own scale, columns w0 .. w0+7 = lanes hi .. hi+7, is a constant shuffle. */
#define LRN_FUSED_SC_DECL                                                                          \
    lrn_vec sv[LRN_FNB + 1];                                                                       \
    sv[LRN_FNB] = (lrn_vec)0.0f
#define LRN_FUSED_SC_PUT(b, v) (sv[b] = (v))
#define LRN_FUSED_SC_CENTRE LRN_LANES_AT(sv, LRN_WIN_HI)
#define LRN_SV_PRIV(b) sv[b]
#define LRN_FUSED_SEG_DECL lrn_vec rv[LRN_FNB + 1]
#define LRN_FUSED_SEG_SUM(dyr, yr, sW, W, q0, out)                                                 \
    do {                                                                                           \
        LRN_RATIO_VEC_FILL(rv, LRN_FNB, dyr, yr, LRN_SV_PRIV, W, q0);                              \
        LRN_RATIO_VEC_SUM(rv, out);                                                                \
    } while (0)
#else
#define LRN_FUSED_SC_DECL float sc[LRN_FNB * LRN_VW]
#define LRN_FUSED_SC_PUT(b, v) LRN_VSTORE_PRIV((v), sc + (b) * LRN_VW)
#define LRN_FUSED_SC_CENTRE LRN_VLOAD_PRIV(sc + LRN_WIN_HI)
#define LRN_S_PRIV(j) sc[j]
#define LRN_FUSED_SEG_DECL float seg[LRN_FSEG]
#define LRN_FUSED_SEG_SUM(dyr, yr, sW, W, q0, out)                                                 \
    do {                                                                                           \
        LRN_RATIO_SEG_FILL(seg, LRN_FSEG, dyr, yr, LRN_S_PRIV, sW, W, q0);                         \
        LRN_RATIO_SEG_SUM(seg, out);                                                               \
    } while (0)
#endif

inline void lrn_within_bwd_rows_noscale(__global const lrn_t *xp, __global const lrn_t *yp, __global const lrn_t *dyp,
                                        __global lrn_t *dxp, uint H, uint W, ulong sH, ulong sW, long w0, long h0,
                                        long h1, float sqrt_a, float k, float beta, float two_ab) {
    const long q0 = w0 - LRN_WIN_HI;
    lrn_vec hs[LRN_FNB][LRN_WIN], hr[LRN_WIN], so[LRN_WIN_LO + 1];
    long r = h0 - LRN_WIN_HI; /* the next ratio row */
    /* rows r-lo .. r+hi-1 of squares, for the first ratio row */
#pragma unroll
    for (int b = 0; b < LRN_FNB; ++b)
#pragma unroll
        for (int p = 0; p < LRN_WIN - 1; ++p) {
            long row = r - LRN_WIN_LO + p;
            hs[b][p] = row >= 0 && row < (long)H
                           ? lrn_within_row_sq(xp + (ulong)row * sH, sW, W, q0 + b * LRN_VW, sqrt_a) : (lrn_vec)0.0f;
        }
#pragma unroll
    for (int p = 0; p <= LRN_WIN_LO; ++p)
        so[p] = (lrn_vec)1.0f;
#pragma unroll
    for (int p = 0; p < LRN_WIN - 1; ++p)
        LRN_FUSED_RATIO_ROW(hr[p]);
    for (long h = h0; h < h1; ++h) {
        lrn_vec acc;
        LRN_FUSED_RATIO_ROW(hr[LRN_WIN - 1]);
        LRN_REG_SUM(hr, LRN_WIN, acc);
        ulong ro = (ulong)h * sH;
        lrn_vec g = lrn_row_load(dyp + ro, w0, W, sW, 0.0f), xv = lrn_row_load(xp + ro, w0, W, sW, 0.0f);
        lrn_row_store(dxp + ro, w0, W, sW, g * LRN_POW_NEG_BETA(so[0], beta) - two_ab * xv * acc);
        LRN_REG_SHIFT(hr, LRN_WIN);
    }
}
#endif

/* Backward over rows [h0, h1) of one column group (pointers at the plane's row 0). */
inline void lrn_within_bwd_rows(__global const lrn_t *xp, __global const lrn_t *yp, __global const lrn_t *dyp,
                                __global const float *sp, __global lrn_t *dxp, uint H, uint W, ulong sH, ulong sW,
                                long w0, long h0, long h1, float beta, float two_ab) {
#if LRN_REG_WINDOW
    /* At row h: hr[p] = ratio row sums of row h - hi + p, p = 0 .. WIN-1. */
    lrn_vec hr[LRN_WIN];
#pragma unroll
    for (int p = 0; p < LRN_WIN; ++p) {
        long row = h0 + p - LRN_WIN_HI;
        ulong ro = (ulong)row * sH;
        hr[p] = (p < LRN_WIN - 1 && row >= 0 && row < (long)H)
                    ? LRN_ROW_RATIO(dyp + ro, yp + ro, sp + ro, sW, W, w0) : (lrn_vec)0.0f;
    }
    for (long h = h0; h < h1; ++h) {
        long row = h + LRN_WIN_LO;
        ulong rn = (ulong)row * sH;
        lrn_vec acc;
        hr[LRN_WIN - 1] = row < (long)H ? LRN_ROW_RATIO(dyp + rn, yp + rn, sp + rn, sW, W, w0) : (lrn_vec)0.0f;
        LRN_REG_SUM(hr, LRN_WIN, acc);
#else
    for (long h = h0; h < h1; ++h) {
        long first = max(h - LRN_WIN_HI, 0L), last = min(h + LRN_WIN_LO, (long)H - 1);
        lrn_vec acc = 0.0f;
        LRN_IN_ORDER
        for (long row = first; row <= last; ++row) {
            ulong rn = (ulong)row * sH;
            acc += lrn_within_row_ratio(dyp + rn, yp + rn, sp + rn, sW, W, w0);
        }
#endif
        ulong ro = (ulong)h * sH;
        lrn_vec g = lrn_row_load(dyp + ro, w0, W, sW, 0.0f), xv = lrn_row_load(xp + ro, w0, W, sW, 0.0f);
        lrn_vec s = lrn_row_load_f(sp + ro, w0, W, sW, 1.0f);
        lrn_row_store(dxp + ro, w0, W, sW, g * LRN_POW_NEG_BETA(s, beta) - two_ab * xv * acc);
#if LRN_REG_WINDOW
        LRN_REG_SHIFT(hr, LRN_WIN);
#endif
    }
}

/* dx = dy * scale^-beta - 2ab * x * SUM over the mirrored box of dy*y/scale. Without a scale
 * (NULL), windows in registers recompute it (lrn_within_bwd_rows_noscale, sqrt_a and k used);
 * wide windows need one: the host computes it first when the caller has none. */
__kernel LRN_KERNEL_ATTR void lrn_within_bwd(__global const lrn_t *x, __global const lrn_t *y, __global const lrn_t *dy,
                             __global const float *scale, __global lrn_t *dx,
                             uint C, uint H, uint W, float sqrt_a, float k, float beta, float two_ab,
                             ulong4 strides, ulong8 offs, uint RB) {
#if !LRN_REG_WINDOW
    (void)sqrt_a;
    (void)k;
#endif
    LRN_DECLARE_STRIDES(C, H, W, strides);
    const long w0 = get_global_id(0) * LRN_VW;
    if (w0 >= (long)W)
        return;
    LRN_ROW_BLOCK(H, RB, plane);
    const ulong pos = (plane / C) * sN + (plane % C) * sC;
    __global const lrn_t *xp = x + offs.s0 + pos, *yp = y + offs.s1 + pos, *dyp = dy + offs.s3 + pos;
    __global lrn_t *dxp = dx + offs.s4 + pos;
#if LRN_REG_WINDOW
    if (!scale) { /* the host passes NULL only to this path */
        lrn_within_bwd_rows_noscale(xp, yp, dyp, dxp, H, W, sH, sW, w0, h0, h1, sqrt_a, k, beta, two_ab);
        return;
    }
#endif
    __global const float *sp = scale + offs.s2 + pos;
    if (nb == 1) /* constant bounds, as in the forward */
        lrn_within_bwd_rows(xp, yp, dyp, sp, dxp, H, W, sH, sW, w0, 0, (long)H, beta, two_ab);
    else
        lrn_within_bwd_rows(xp, yp, dyp, sp, dxp, H, W, sH, sW, w0, h0, h1, beta, two_ab);
}
#endif /* !LRN_NHWC_VEC */

#if LRN_NHWC_VEC
/* LRN_VW channels from c0 at p (channel stride 1): the whole vector when `full`, else the lanes
 * below C and `fill` beyond. */
LRN_INLINE lrn_vec lrn_chv_load(__global const lrn_t *p, long c0, long C, int full, float fill) {
    return full ? LRN_VLOAD(p, c0) : lrn_vload_masked(p, c0, C, fill);
}

LRN_INLINE lrn_vec lrn_chv_load_f(__global const float *p, long c0, long C, int full, float fill) {
    return full ? LRN_CAT(vload, LRN_VW)(0, p + c0) : lrn_vload_masked_f(p, c0, C, fill);
}

LRN_INLINE void lrn_chv_store(__global lrn_t *p, long c0, long C, int full, lrn_vec v) {
    if (full)
        LRN_VSTORE(p, c0, v);
    else
        lrn_vstore_masked(p, c0, C, v);
}

LRN_INLINE void lrn_chv_store_f(__global float *p, long c0, long C, int full, lrn_vec v) {
    if (full)
        LRN_CAT(vstore, LRN_VW)(v, 0, p + c0);
    else
        lrn_vstore_masked_f(p, c0, C, v);
}

/* Each work-item takes LRN_NHWC_COLS adjacent columns w, w + 1 (the host's launch, plan.c,
 * counts them so): their windows overlap, so each tap's vector is loaded (and, backward, each
 * ratio divided) once for both. Two columns keep their window rows in 2 * WIN vector registers. */
#define LRN_NHWC_COLS 2

/* Pre-scaled sums of squares along row rp for the lanes' channels at columns w and w + 1, each
 * over its columns [w-lo, w+hi] inside [0, W) in ascending order (sW = C): the operations of one
 * column at a time, in the same order, each tap loaded once for both. */
LRN_INLINE void lrn_nhwc_row_sq2(__global const lrn_t *rp, ulong sW, long W, long w, long C, long c0, int full,
                                 float sqrt_a, lrn_vec *out0, lrn_vec *out1) {
    lrn_vec s0 = 0.0f, s1 = 0.0f;
    if (w >= LRN_WIN_LO && w + 1 + LRN_WIN_HI < W) {
#pragma unroll
        for (int d = -LRN_WIN_LO; d <= LRN_WIN_HI + 1; ++d) {
            lrn_vec t = lrn_chv_load(rp + (ulong)(w + d) * sW, c0, C, full, 0.0f) * sqrt_a;
            if (d <= LRN_WIN_HI)
                s0 = fma(t, t, s0);
            if (d > -LRN_WIN_LO)
                s1 = fma(t, t, s1);
        }
    } else {
#pragma unroll
        for (int d = -LRN_WIN_LO; d <= LRN_WIN_HI + 1; ++d) {
            long q = w + d;
            if (q >= 0 && q < W) {
                lrn_vec t = lrn_chv_load(rp + (ulong)q * sW, c0, C, full, 0.0f) * sqrt_a;
                if (d <= LRN_WIN_HI)
                    s0 = fma(t, t, s0);
                if (d > -LRN_WIN_LO)
                    s1 = fma(t, t, s1);
            }
        }
    }
    *out0 = s0;
    *out1 = s1;
}

/* Sums of dy*y/scale along one row over the mirrored columns [w-hi, w+lo] and [w+1-hi, w+1+lo],
 * each in ascending order; each ratio divided once for both columns. */
LRN_INLINE void lrn_nhwc_row_ratio2(__global const lrn_t *dyr, __global const lrn_t *yr, __global const float *sr,
                                    ulong sW, long W, long w, long C, long c0, int full, lrn_vec *out0,
                                    lrn_vec *out1) {
    lrn_vec s0 = 0.0f, s1 = 0.0f;
#pragma unroll
    for (int d = -LRN_WIN_HI; d <= LRN_WIN_LO + 1; ++d) {
        long q = w + d;
        if (q >= 0 && q < W) {
            ulong o = (ulong)q * sW;
            lrn_vec r = lrn_chv_load(dyr + o, c0, C, full, 0.0f) * lrn_chv_load(yr + o, c0, C, full, 0.0f) /
                        lrn_chv_load_f(sr + o, c0, C, full, 1.0f);
            if (d <= LRN_WIN_LO)
                s0 += r;
            if (d > -LRN_WIN_HI)
                s1 += r;
        }
    }
    *out0 = s0;
    *out1 = s1;
}

/* The forward of one work-item; `full` (whether every lane's channel is below C) is a
 * constant at each call, so the full groups' code has no masking tests. */
LRN_INLINE void lrn_within_fwd_nhwc(__global const lrn_t *x, __global lrn_t *y, __global float *scale,
                                    uint C, uint H, uint W, float sqrt_a, float k, float beta, ulong8 offs,
                                    ulong n, long h0, long h1, long c0, long w, const int full) {
    LRN_DECLARE_STRIDES(C, H, W, strides);
    (void)sC; /* 1: the vector's channels are adjacent */
    const long Cl = (long)C;
    const ulong pos = n * sN;
    __global const lrn_t *xp = x + offs.s0 + pos;
    __global lrn_t *yp = y ? y + offs.s1 + pos : 0;
    __global float *sp = scale ? scale + offs.s2 + pos : 0;

    /* At row h: hs0[p], hs1[p] = row sums of row h - lo + p, p = 0 .. WIN-1, for columns w and
     * w + 1 (the second computed but never stored where w + 1 = W). */
    const int two = w + 1 < (long)W;
    lrn_vec hs0[LRN_WIN], hs1[LRN_WIN];
#pragma unroll
    for (int p = 0; p < LRN_WIN; ++p) {
        long row = h0 + p - LRN_WIN_LO;
        hs0[p] = hs1[p] = (lrn_vec)0.0f;
        if (p < LRN_WIN - 1 && row >= 0 && row < (long)H)
            lrn_nhwc_row_sq2(xp + (ulong)row * sH, sW, W, w, Cl, c0, full, sqrt_a, &hs0[p], &hs1[p]);
    }
    for (long h = h0; h < h1; ++h) {
        long row = h + LRN_WIN_HI;
        lrn_vec sum0, sum1;
        hs0[LRN_WIN - 1] = hs1[LRN_WIN - 1] = (lrn_vec)0.0f;
        if (row < (long)H)
            lrn_nhwc_row_sq2(xp + (ulong)row * sH, sW, W, w, Cl, c0, full, sqrt_a, &hs0[LRN_WIN - 1],
                             &hs1[LRN_WIN - 1]);
        LRN_REG_SUM(hs0, LRN_WIN, sum0);
        LRN_REG_SUM(hs1, LRN_WIN, sum1);
        lrn_vec s0 = k + sum0, s1 = k + sum1;
        ulong o = (ulong)h * sH + (ulong)w * sW;
        if (yp) {
            lrn_chv_store(yp + o, c0, Cl, full, lrn_chv_load(xp + o, c0, Cl, full, 0.0f) * LRN_POW_NEG_BETA(s0, beta));
            if (two)
                lrn_chv_store(yp + o + sW, c0, Cl, full,
                              lrn_chv_load(xp + o + sW, c0, Cl, full, 0.0f) * LRN_POW_NEG_BETA(s1, beta));
        }
        if (sp) {
            lrn_chv_store_f(sp + o, c0, Cl, full, s0);
            if (two)
                lrn_chv_store_f(sp + o + sW, c0, Cl, full, s1);
        }
        LRN_REG_SHIFT(hs0, LRN_WIN);
        LRN_REG_SHIFT(hs1, LRN_WIN);
    }
}

__kernel LRN_KERNEL_ATTR void lrn_within_fwd(__global const lrn_t *x, __global lrn_t *y, __global float *scale,
                             uint C, uint H, uint W, float sqrt_a, float k, float beta,
                             ulong4 strides, ulong8 offs, uint RB) {
    (void)strides;
    const ulong groups = ((ulong)C + LRN_VW - 1) / LRN_VW, i = get_global_id(0);
    if (i >= groups * (((ulong)W + LRN_NHWC_COLS - 1) / LRN_NHWC_COLS))
        return;
    LRN_ROW_BLOCK(H, RB, n);
    const long c0 = (long)(i % groups) * LRN_VW, w = (long)(i / groups) * LRN_NHWC_COLS;
    if (c0 + LRN_VW <= (long)C)
        lrn_within_fwd_nhwc(x, y, scale, C, H, W, sqrt_a, k, beta, offs, n, h0, h1, c0, w, 1);
    else
        lrn_within_fwd_nhwc(x, y, scale, C, H, W, sqrt_a, k, beta, offs, n, h0, h1, c0, w, 0);
}

/* The backward of one work-item; `full` as in lrn_within_fwd_nhwc. */
LRN_INLINE void lrn_within_bwd_nhwc(__global const lrn_t *x, __global const lrn_t *y, __global const lrn_t *dy,
                                    __global const float *scale, __global lrn_t *dx, uint C, uint H, uint W,
                                    float beta, float two_ab, ulong8 offs, ulong n, long h0, long h1, long c0,
                                    long w, const int full) {
    LRN_DECLARE_STRIDES(C, H, W, strides);
    (void)sC; /* 1: the vector's channels are adjacent */
    const long Cl = (long)C;
    const ulong pos = n * sN;
    __global const lrn_t *xp = x + offs.s0 + pos, *yp = y + offs.s1 + pos, *dyp = dy + offs.s3 + pos;
    __global const float *sp = scale + offs.s2 + pos;
    __global lrn_t *dxp = dx + offs.s4 + pos;

    /* At row h: hr0[p], hr1[p] = ratio row sums of row h - hi + p, p = 0 .. WIN-1, for columns w
     * and w + 1 (the second never stored where w + 1 = W). */
    const int two = w + 1 < (long)W;
    lrn_vec hr0[LRN_WIN], hr1[LRN_WIN];
#pragma unroll
    for (int p = 0; p < LRN_WIN; ++p) {
        long row = h0 + p - LRN_WIN_HI;
        ulong ro = (ulong)row * sH;
        hr0[p] = hr1[p] = (lrn_vec)0.0f;
        if (p < LRN_WIN - 1 && row >= 0 && row < (long)H)
            lrn_nhwc_row_ratio2(dyp + ro, yp + ro, sp + ro, sW, W, w, Cl, c0, full, &hr0[p], &hr1[p]);
    }
    for (long h = h0; h < h1; ++h) {
        long row = h + LRN_WIN_LO;
        ulong rn = (ulong)row * sH;
        lrn_vec acc0, acc1;
        hr0[LRN_WIN - 1] = hr1[LRN_WIN - 1] = (lrn_vec)0.0f;
        if (row < (long)H)
            lrn_nhwc_row_ratio2(dyp + rn, yp + rn, sp + rn, sW, W, w, Cl, c0, full, &hr0[LRN_WIN - 1],
                                &hr1[LRN_WIN - 1]);
        LRN_REG_SUM(hr0, LRN_WIN, acc0);
        LRN_REG_SUM(hr1, LRN_WIN, acc1);
        ulong o = (ulong)h * sH + (ulong)w * sW;
        lrn_vec g = lrn_chv_load(dyp + o, c0, Cl, full, 0.0f), xv = lrn_chv_load(xp + o, c0, Cl, full, 0.0f);
        lrn_vec s = lrn_chv_load_f(sp + o, c0, Cl, full, 1.0f);
        lrn_chv_store(dxp + o, c0, Cl, full, g * LRN_POW_NEG_BETA(s, beta) - two_ab * xv * acc0);
        if (two) {
            o += sW;
            g = lrn_chv_load(dyp + o, c0, Cl, full, 0.0f);
            xv = lrn_chv_load(xp + o, c0, Cl, full, 0.0f);
            s = lrn_chv_load_f(sp + o, c0, Cl, full, 1.0f);
            lrn_chv_store(dxp + o, c0, Cl, full, g * LRN_POW_NEG_BETA(s, beta) - two_ab * xv * acc1);
        }
        LRN_REG_SHIFT(hr0, LRN_WIN);
        LRN_REG_SHIFT(hr1, LRN_WIN);
    }
}

__kernel LRN_KERNEL_ATTR void lrn_within_bwd(__global const lrn_t *x, __global const lrn_t *y, __global const lrn_t *dy,
                             __global const float *scale, __global lrn_t *dx,
                             uint C, uint H, uint W, float sqrt_a, float k, float beta, float two_ab,
                             ulong4 strides, ulong8 offs, uint RB) {
    (void)sqrt_a;
    (void)k;
    (void)strides;
    const ulong groups = ((ulong)C + LRN_VW - 1) / LRN_VW, i = get_global_id(0);
    if (i >= groups * (((ulong)W + LRN_NHWC_COLS - 1) / LRN_NHWC_COLS))
        return;
    LRN_ROW_BLOCK(H, RB, n);
    const long c0 = (long)(i % groups) * LRN_VW, w = (long)(i / groups) * LRN_NHWC_COLS;
    if (c0 + LRN_VW <= (long)C)
        lrn_within_bwd_nhwc(x, y, dy, scale, dx, C, H, W, beta, two_ab, offs, n, h0, h1, c0, w, 1);
    else
        lrn_within_bwd_nhwc(x, y, dy, scale, dx, C, H, W, beta, two_ab, offs, n, h0, h1, c0, w, 0);
}
#endif /* LRN_NHWC_VEC */
