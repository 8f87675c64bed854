/* lrn_common.cl: definitions shared by lrncl's kernels; prepended to each mode's source.
 *
 * Build options, all required (the host passes them; a missing one fails the build):
 *   -D LRN_WIN_LO=<int>     window extent below the centre (forward direction)
 *   -D LRN_WIN_HI=<int>     window extent above the centre
 *   -D LRN_BETA_PATH=<int>  how s^-beta is computed: 0 general exp2(-beta*log2 s),
 *                           1 beta = 0.75, 2 beta = 0.5, 3 beta = 1
 *   -D LRN_REG_WINDOW=<0|1> 1: the window lives in fully unrolled registers (shift
 *                           registers); 0: the window is re-read from memory (wide windows)
 * alpha, beta and k are kernel arguments, so new values never recompile.
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
