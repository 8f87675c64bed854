/* lrn_elementwise.cl: one work-item per element, for NHWC on GPUs (needs lrn_common.cl before
 * it; -D LRN_WITHIN=<0|1> picks the mode).
 *
 * In NHWC the channels are the contiguous axis. The column walks of lrn_across.cl and
 * lrn_within.cl give each work-item one position (across) or one (plane, column) (within), so
 * neighbouring work-items sit C elements apart and a GPU's loads do not coalesce. Here work-item
 * (i, n) owns element i of image n (dimension 0 walks the H*W*C elements of an image): a warp
 * reads consecutive channels, and the window's other taps are its neighbours' elements, found
 * in the first-level cache. Each sum is formed afresh in the same order as the column walks
 * (taps in ascending channel, row and column order; taps outside the tensor, which those add as
 * zeros, are skipped: adding +0 is exact), so both agree bit for bit.
 *
 * Not in place: a work-item reads its neighbours' x, which they may have overwritten. The host
 * runs the column walk for in-place forward. The slide block (last argument) is unused.
 */
#if LRN_LAYOUT != 1 || LRN_VW != 1
#error "the element-wise kernels are for NHWC with scalar work-items"
#endif
#ifndef LRN_WITHIN
#error "LRN_WITHIN must be defined"
#endif

#if !LRN_WITHIN
/* Pre-scaled window sum of squares for channel c at xp (xp at channel 0 of the position). */
inline float lrn_ew_sq_sum(__global const lrn_t *xp, long c, long C, float sqrt_a) {
    long first = max(c - LRN_WIN_LO, 0L), last = min(c + LRN_WIN_HI, C - 1);
    float sum = 0.0f;
    LRN_IN_ORDER
    for (long j = first; j <= last; ++j) {
        float t = LRN_LOAD(xp, j) * sqrt_a;
        float sq = t * t;
        sum += sq;
    }
    return sum;
}
#else
/* Pre-scaled box sum of squares for element (h, w) of one channel: row sums over [w-lo, w+hi]
 * added row by row over [h-lo, h+hi] (sH, sW: element strides; xp at (0, 0) of the channel). */
inline float lrn_ew_sq_sum(__global const lrn_t *xp, long h, long w, long H, long W, ulong sH, ulong sW,
                           float sqrt_a) {
    long r0 = max(h - LRN_WIN_LO, 0L), r1 = min(h + LRN_WIN_HI, H - 1);
    long q0 = max(w - LRN_WIN_LO, 0L), q1 = min(w + LRN_WIN_HI, W - 1);
    float sum = 0.0f;
    LRN_IN_ORDER
    for (long r = r0; r <= r1; ++r) {
        float row = 0.0f;
        LRN_IN_ORDER
        for (long q = q0; q <= q1; ++q) {
            float t = LRN_LOAD(xp, (ulong)r * sH + (ulong)q * sW) * sqrt_a;
            row = fma(t, t, row); /* as lrn_within.cl's row sums */
        }
        sum += row;
    }
    return sum;
}
#endif

/* Work-item (i, n): element i of image n (dimension 0 walks H*W*C, dimension 1 is n); declares
 * its channel c, the offset pos of its (n, h, w) position and its own offset e. */
#define LRN_EW_INDEX()                                                                             \
    const ulong HWC = (ulong)H * W * C, i = get_global_id(0);                                      \
    if (i >= HWC)                                                                                  \
        return;                                                                                    \
    const long c = (long)(i % C);                                                                  \
    const ulong e = get_global_id(1) * HWC + i, pos = e - (ulong)c

__kernel void lrn_ew_fwd(__global const lrn_t *x, __global lrn_t *y, __global float *scale,
                         uint C, uint H, uint W, float sqrt_a, float k, float beta,
                         ulong4 strides, ulong8 offs, uint block) {
    (void)strides;
    (void)block;
    LRN_EW_INDEX();
#if !LRN_WITHIN
    float s = k + lrn_ew_sq_sum(x + offs.s0 + pos, c, C, sqrt_a);
#else
    const ulong sW = C, sH = (ulong)W * C;
    const long hw = (long)(i / C), h = hw / W, w = hw % W;
    float s = k + lrn_ew_sq_sum(x + offs.s0 + (e - i) + (ulong)c, h, w, H, W, sH, sW, sqrt_a);
#endif
    if (y)
        LRN_STORE(y + offs.s1, e, LRN_LOAD(x + offs.s0, e) * LRN_POW_NEG_BETA(s, beta));
    if (scale)
        scale[offs.s2 + e] = s;
}

/* dx = dy * scale^-beta - 2ab * x * SUM over the mirrored window of dy*y/scale; the scale is
 * read, or (across, scale NULL) recomputed for every tap. */
__kernel void lrn_ew_bwd(__global const lrn_t *x, __global const lrn_t *y, __global const lrn_t *dy,
                         __global const float *scale, __global lrn_t *dx,
                         uint C, uint H, uint W, float sqrt_a, float k, float beta, float two_ab,
                         ulong4 strides, ulong8 offs, uint block) {
    (void)strides;
    (void)block;
    LRN_EW_INDEX();
    __global const lrn_t *xp = x + offs.s0, *yp = y + offs.s1, *dyp = dy + offs.s3;
    __global const float *sp = scale ? scale + offs.s2 : 0;
    float acc = 0.0f, s;
#if !LRN_WITHIN
    long first = max(c - LRN_WIN_HI, 0L), last = min(c + LRN_WIN_LO, (long)C - 1);
    LRN_IN_ORDER
    for (long j = first; j <= last; ++j) {
        ulong at = pos + (ulong)j;
        float sj = sp ? sp[at] : k + lrn_ew_sq_sum(xp + pos, j, C, sqrt_a);
        float g = LRN_LOAD(dyp, at);
        float r = g * LRN_LOAD(yp, at) / sj;
        acc += r;
    }
    s = sp ? sp[e] : k + lrn_ew_sq_sum(xp + pos, c, C, sqrt_a);
#else
    (void)sqrt_a;
    (void)k;
    const ulong sW = C, sH = (ulong)W * C;
    const long hw = (long)(i / C), h = hw / W, w = hw % W;
    const ulong base = (e - i) + (ulong)c; /* (n, 0, 0, c) */
    long r0 = max(h - LRN_WIN_HI, 0L), r1 = min(h + LRN_WIN_LO, (long)H - 1);
    long q0 = max(w - LRN_WIN_HI, 0L), q1 = min(w + LRN_WIN_LO, (long)W - 1);
    LRN_IN_ORDER
    for (long r = r0; r <= r1; ++r) {
        float row = 0.0f;
        LRN_IN_ORDER
        for (long q = q0; q <= q1; ++q) {
            ulong at = base + (ulong)r * sH + (ulong)q * sW;
            row += LRN_LOAD(dyp, at) * LRN_LOAD(yp, at) / sp[at];
        }
        acc += row;
    }
    s = sp[e];
#endif
    float g = LRN_LOAD(dyp, e), xv = LRN_LOAD(xp, e);
    LRN_STORE(dx + offs.s4, e, g * LRN_POW_NEG_BETA(s, beta) - two_ab * xv * acc);
}
