/* lrn_common.cl: definitions shared by lrncl's kernels; prepended to each mode's source.
 *
 * Build options, all required (the host passes them; a missing one fails the build):
 *   -D LRN_WIN_LO=<int>     window extent below the centre (forward direction)
 *   -D LRN_WIN_HI=<int>     window extent above the centre
 *   -D LRN_BETA_PATH=<int>  how s^-beta is computed: 0 general exp2(-beta*log2 s),
 *                           1 beta = 0.75, 2 beta = 0.5, 3 beta = 1
 *   -D LRN_REG_WINDOW=<0|1> 1: the window lives in fully unrolled registers (shift
 *                           registers); 0: the window is re-read from memory (wide windows)
 *   -D LRN_HALF=<0|1>       storage type of every tensor: 0 float, 1 half (loaded and stored
 *                           with vload_half/vstore_half_rte: no cl_khr_fp16 needed; all
 *                           arithmetic is float)
 *   -D LRN_LAYOUT=<0|1|2>   0 NCHW and 1 NHWC (strides follow from C, H, W at compile time),
 *                           2 strided (the kernel's `strides` argument)
 * alpha, beta and k are kernel arguments, so new values never recompile. Every kernel takes the
 * element strides (n, c, h, w) and the element offsets of x, y, scale, dy, dx (in that order)
 * as its last two arguments.
 *
 * Numerics: squares are pre-scaled, (sqrt(a) * x)^2, so a * x^2 does not overflow float32
 * before a shrinks it; every window sum is formed afresh (no running sum that adds the head
 * and subtracts the tail, which drifts when magnitudes span many decades).
 */
#ifndef LRN_WIN_LO
#error "LRN_WIN_LO must be defined"
#endif
#ifndef LRN_WIN_HI
#error "LRN_WIN_HI must be defined"
#endif
#ifndef LRN_BETA_PATH
#error "LRN_BETA_PATH must be defined"
#endif
#ifndef LRN_REG_WINDOW
#error "LRN_REG_WINDOW must be defined"
#endif
#ifndef LRN_HALF
#error "LRN_HALF must be defined"
#endif
#ifndef LRN_LAYOUT
#error "LRN_LAYOUT must be defined"
#endif

#if LRN_HALF
typedef half lrn_t;
#define LRN_LOAD(p, i) vload_half((i), (p))
#define LRN_STORE(p, i, v) vstore_half_rte((v), (i), (p))
#else
typedef float lrn_t;
#define LRN_LOAD(p, i) ((p)[i])
#define LRN_STORE(p, i, v) ((p)[i] = (v))
#endif

/* Declares sN, sC, sH, sW: element strides of the layout. */
#if LRN_LAYOUT == 0
#define LRN_DECLARE_STRIDES(C, H, W, st) \
    const ulong sW = 1, sH = (W), sC = (ulong)(H) * (W), sN = sC * (C)
#elif LRN_LAYOUT == 1
#define LRN_DECLARE_STRIDES(C, H, W, st) \
    const ulong sC = 1, sW = (C), sH = (ulong)(W) * (C), sN = sH * (H)
#else
#define LRN_DECLARE_STRIDES(C, H, W, st) \
    const ulong sN = (st).s0, sC = (st).s1, sH = (st).s2, sW = (st).s3
#endif

#define LRN_WIN (LRN_WIN_LO + LRN_WIN_HI + 1)

/* s^-beta for s > 0. */
inline float lrn_pow_neg_beta(float s, float beta) {
#if LRN_BETA_PATH == 1
    float r = rsqrt(s);
    return r * sqrt(r);
#elif LRN_BETA_PATH == 2
    return rsqrt(s);
#elif LRN_BETA_PATH == 3
    return 1.0f / s;
#else
    return exp2(-beta * log2(s));
#endif
}

/* Sum of a register window, always in the same order. */
#define LRN_REG_SUM(arr, len, out)           \
    do {                                     \
        float lrn_acc_ = 0.0f;               \
        _Pragma("unroll")                    \
        for (int lrn_i_ = 0; lrn_i_ < (len); ++lrn_i_) \
            lrn_acc_ += (arr)[lrn_i_];       \
        (out) = lrn_acc_;                    \
    } while (0)

/* Shift a register window down by one (index 0 falls out). */
#define LRN_REG_SHIFT(arr, len)              \
    do {                                     \
        _Pragma("unroll")                    \
        for (int lrn_i_ = 0; lrn_i_ < (len) - 1; ++lrn_i_) \
            (arr)[lrn_i_] = (arr)[lrn_i_ + 1]; \
    } while (0)
