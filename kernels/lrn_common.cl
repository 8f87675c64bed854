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
 *   -D LRN_VW=<1|2|4|8|16>  elements per vector along the contiguous axis: NCHW, positions
 *                           along h*w (across) or w (within); NHWC with LRN_REG_WINDOW,
 *                           channels (lrn_across.cl, lrn_within.cl); 1 elsewhere. CPUs (PoCL) want explicit
 *                           vectors; GPUs coalesce scalar work-items (1).
 * Optional:
 *   -D LRN_PORTABLE=1       no target-specific builtins (AVX masked moves, prefetch): the
 *                           portable code every other compiler takes, the same bits; the
 *                           host passes it under LRNCL_PORTABLE_KERNELS=1, so CI checks it.
 * alpha, beta and k are kernel arguments, so new values never recompile. Every kernel takes the
 * element strides (n, c, h, w) and the element offsets of x, y, scale, dy, dx (in that order)
 * as its last two arguments.
 *
 * Numerics: squares are pre-scaled, (sqrt(a) * x)^2, so a * x^2 does not overflow float32
 * before a shrinks it; every window sum is formed afresh (no running sum that adds the head
 * and subtracts the tail, which drifts when magnitudes span many decades).
 *
 * No implicit multiply-add contraction: layouts, vector widths and slide blocks promise bitwise
 * equal results, which holds only if every path rounds the same operations. Clang contracts
 * within a statement only, NVIDIA's compiler also across statements (a primed square fused into
 * the window sum at a block's first channel, not at a later one), so contraction is off. Where
 * a multiply-add is hot (the within-channel row sums) every path calls fma() explicitly.
 */
#pragma OPENCL FP_CONTRACT OFF
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
#ifndef LRN_VW
#error "LRN_VW must be defined"
#endif
#if LRN_VW > 1 && LRN_LAYOUT == 2
#error "LRN_VW > 1 needs the NCHW or NHWC layout"
#endif

/* LRN_INLINE: helpers called per tap or per row of a hot loop. A call there costs the whole
 * register window: x86-64 keeps no vector register across a call, so PoCL spilled the window
 * to the stack around every call where it chose not to inline (the float16 masked loads, the
 * float32 within backward's ratio rows). Clang compilers are told to inline; others decide. */
#if defined(__clang__)
#define LRN_INLINE inline __attribute__((always_inline))
#else
#define LRN_INLINE inline
#endif

#define LRN_CAT_(a, b) a##b
#define LRN_CAT(a, b) LRN_CAT_(a, b)

/* Scalar and LRN_VW-wide loads and stores of the storage type; the scale is always float. */
#if LRN_HALF
typedef half lrn_t;
#define LRN_LOAD(p, i) vload_half((i), (p))
#define LRN_STORE(p, i, v) vstore_half_rte((v), (i), (p))
#define LRN_VLOAD(p, i) LRN_CAT(vload_half, LRN_VW)(0, (p) + (i))
#define LRN_VSTORE(p, i, v) LRN_CAT(LRN_CAT(vstore_half, LRN_VW), _rte)((v), 0, (p) + (i))
#else
typedef float lrn_t;
#define LRN_LOAD(p, i) ((p)[i])
#define LRN_STORE(p, i, v) ((p)[i] = (v))
#define LRN_VLOAD(p, i) LRN_CAT(vload, LRN_VW)(0, (p) + (i))
#define LRN_VSTORE(p, i, v) LRN_CAT(vstore, LRN_VW)((v), 0, (p) + (i))
#endif
#define LRN_STORE_F(p, i, v) ((p)[i] = (v))
#define LRN_VSTORE_F(p, i, v) LRN_CAT(vstore, LRN_VW)((v), 0, (p) + (i))
#if LRN_VW > 1
typedef LRN_CAT(float, LRN_VW) lrn_vec;
#else
typedef float lrn_vec;
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

#ifndef LRN_PORTABLE
#define LRN_PORTABLE 0
#endif

#if LRN_VW == 8
/* Lanes i of q + i inside [0, n), as an int8 mask (all ones where inside). */
#define LRN_LANES_IN(q, n) lrn_lanes_in((int)(q), (int)(n))
LRN_INLINE int8 lrn_lanes_in(int q, int n) {
    const int8 at = q + (int8)(0, 1, 2, 3, 4, 5, 6, 7);
    return (at >= 0) & (at < n);
}
#endif

/* LRN_AVX_MASK: x86-64 CPU compilers with AVX (PoCL) take the vector edges below through AVX's
 * masked loads and stores (vmaskmovps: lanes outside the mask are not accessed, so they cannot
 * fault), with the lane mask formed in 32-bit lanes. Clang already turned the element loops of
 * the portable code into masked moves, but formed their masks from 64-bit compares, and kept the
 * edge tap loops rolled: with this and the unrolled edge taps of lrn_within.cl, the within-channel
 * forward ran 17-31% faster on PoCL (docs/performance.md). CPU OpenCL compilers for x86-64 keep
 * every address space in one flat space, so a global pointer passes as the builtin's pointer. */
#if defined(__clang__) && defined(__x86_64__) && defined(__AVX__) && LRN_VW == 8 && !LRN_PORTABLE
#define LRN_AVX_MASK 1
#define LRN_MASKLOAD(p, q, in) __builtin_ia32_maskloadps256((const float8 *)(ulong)((p) + (q)), (in))
#define LRN_MASKSTORE(p, q, in, v) __builtin_ia32_maskstoreps256((float8 *)(ulong)((p) + (q)), (in), (v))
#else
#define LRN_AVX_MASK 0
#endif
/* LRN_AVX2_PERM: the same compilers with AVX2 move the lanes of a float16 edge vector (loaded
 * in range and converted at once, lrn_vload_masked) with one variable permute (vpermps); the
 * same lanes move as with shuffle(), so the same bits. */
#if LRN_AVX_MASK && defined(__AVX2__)
#define LRN_AVX2_PERM 1
#else
#define LRN_AVX2_PERM 0
#endif

#if LRN_VW > 1
/* LRN_VW consecutive elements p[q .. q+VW-1] (stride 1); those outside [0, n) read as `fill`
 * and are never touched. Shared by every vector path's edges (plane borders, channel tails). */
LRN_INLINE lrn_vec lrn_vload_masked(__global const lrn_t *p, long q, long n, float fill) {
    if (q >= 0 && q + LRN_VW <= n)
        return LRN_VLOAD(p, q);
#if LRN_AVX_MASK && !LRN_HALF
    const int8 in = LRN_LANES_IN(q, n);
    const lrn_vec v = LRN_MASKLOAD(p, q, in);
    return fill == 0.0f ? v : select((lrn_vec)fill, v, in);
#else
#if LRN_VW == 8
    if (n >= LRN_VW) {
        /* One vector load inside [0, n), its lanes moved into place. float16: PoCL converts a
         * vector vload_half with F16C but a scalar one in software, which made the masked edges
         * dominate the float16 within-channel kernels (3x slower than float32). float32 where
         * there are no AVX masked moves (Intel's CPU runtime compiles through SPIR): the element
         * loop below made within-alexnet's forward 1.35x and its backward 1.45x slower there. */
        const long q1 = clamp(q, 0L, n - LRN_VW);
        const int8 lane = (int8)(0, 1, 2, 3, 4, 5, 6, 7), at = (int)(q - q1) + lane;
#if LRN_AVX2_PERM
        /* one vpermps: PoCL compiles the variable shuffle below to 8 lane extracts and inserts */
        const lrn_vec moved = __builtin_ia32_permvarsf256(LRN_VLOAD(p, q1), clamp(at, (int8)0, (int8)(LRN_VW - 1)));
#else
        const lrn_vec moved = shuffle(LRN_VLOAD(p, q1), as_uint8(clamp(at, (int8)0, (int8)(LRN_VW - 1))));
#endif
        /* a lane inside [0, n) always has 0 <= at < LRN_VW: q1 is q clamped into the row. The
         * bounds are vectors: Oclgrind 21.10 miscomputes clamp(int8, int, int) (lanes 1-7). */
        const int8 inside = ((int)q + lane >= 0) & ((int)q + lane < (int)n);
        return select((lrn_vec)fill, moved, inside);
    }
#endif
    float tmp[LRN_VW];
    for (int i = 0; i < LRN_VW; ++i)
        tmp[i] = (q + i >= 0 && q + i < n) ? LRN_LOAD(p, q + i) : fill;
    return LRN_CAT(vload, LRN_VW)(0, tmp);
#endif
}

LRN_INLINE lrn_vec lrn_vload_masked_f(__global const float *p, long q, long n, float fill) {
    if (q >= 0 && q + LRN_VW <= n)
        return LRN_CAT(vload, LRN_VW)(0, p + q);
#if LRN_AVX_MASK
    const int8 in = LRN_LANES_IN(q, n);
    const lrn_vec v = LRN_MASKLOAD(p, q, in);
    return fill == 0.0f ? v : select((lrn_vec)fill, v, in);
#else
#if LRN_VW == 8
    if (n >= LRN_VW) { /* as lrn_vload_masked: one vector load inside [0, n), lanes moved */
        const long q1 = clamp(q, 0L, n - LRN_VW);
        const int8 lane = (int8)(0, 1, 2, 3, 4, 5, 6, 7), at = (int)(q - q1) + lane;
        const lrn_vec moved = shuffle(vload8(0, p + q1), as_uint8(clamp(at, (int8)0, (int8)(LRN_VW - 1))));
        const int8 inside = ((int)q + lane >= 0) & ((int)q + lane < (int)n);
        return select((lrn_vec)fill, moved, inside);
    }
#endif
    float tmp[LRN_VW];
    for (int i = 0; i < LRN_VW; ++i)
        tmp[i] = (q + i >= 0 && q + i < n) ? p[q + i] : fill;
    return LRN_CAT(vload, LRN_VW)(0, tmp);
#endif
}

/* Stores the lanes of v whose elements lie inside [0, n). */
LRN_INLINE void lrn_vstore_masked(__global lrn_t *p, long q, long n, lrn_vec v) {
    if (q >= 0 && q + LRN_VW <= n) {
        LRN_VSTORE(p, q, v);
        return;
    }
#if LRN_AVX_MASK && !LRN_HALF
    LRN_MASKSTORE(p, q, LRN_LANES_IN(q, n), v);
#elif LRN_HALF
    /* The vector converted at once (F16C on PoCL, where a scalar vstore_half is software), then
     * its lanes' bits stored one by one; rounding to nearest even either way, so the same bits. */
    LRN_CAT(ushort, LRN_VW) bits;
    LRN_CAT(LRN_CAT(vstore_half, LRN_VW), _rte)(v, 0, (__private half *)&bits);
    __global ushort *u = (__global ushort *)p;
    for (int i = 0; i < LRN_VW; ++i)
        if (q + i >= 0 && q + i < n)
            u[q + i] = ((__private const ushort *)&bits)[i];
#else
    float tmp[LRN_VW];
    LRN_CAT(vstore, LRN_VW)(v, 0, tmp);
    for (int i = 0; i < LRN_VW; ++i)
        if (q + i >= 0 && q + i < n)
            LRN_STORE(p, q + i, tmp[i]);
#endif
}

LRN_INLINE void lrn_vstore_masked_f(__global float *p, long q, long n, lrn_vec v) {
    if (q >= 0 && q + LRN_VW <= n) {
        LRN_CAT(vstore, LRN_VW)(v, 0, p + q);
        return;
    }
#if LRN_AVX_MASK
    LRN_MASKSTORE(p, q, LRN_LANES_IN(q, n), v);
#else
    float tmp[LRN_VW];
    LRN_CAT(vstore, LRN_VW)(v, 0, tmp);
    for (int i = 0; i < LRN_VW; ++i)
        if (q + i >= 0 && q + i < n)
            p[q + i] = tmp[i];
#endif
}
#endif

#if LRN_VW == 8
/* Lanes o .. o+7 of the 16 lanes in rv[i / 8], rv[i / 8 + 1] with o = i % 8, for i a constant
 * (an unrolled loop's index): one constant shuffle, where reading the same lanes back from a
 * private array that two vector stores filled stalls on store-to-load forwarding. */
#define LRN_LANES_AT(rv, i)                                                                        \
    shuffle2((rv)[(i) / 8], (rv)[(i) / 8 + 1], (uint8)(0, 1, 2, 3, 4, 5, 6, 7) + (uint)((i) % 8))
#endif

/* LRN_PREFETCH(p): a hint that p will be read soon. On CPU targets (clang for x86-64 or AArch64,
 * as PoCL compiles) it is a real prefetch instruction: the across kernels walk a column per
 * work-item, one load per channel a whole plane apart, a stride that hardware prefetchers follow
 * late or not at all. OpenCL's own prefetch() compiles to nothing in PoCL 3.1. Other targets get
 * nothing. LRN_PF_DIST: how many channels ahead. */
#if defined(__clang__) && (defined(__x86_64__) || defined(__aarch64__)) && !LRN_PORTABLE
#define LRN_PREFETCH(p) __builtin_prefetch((const __global void *)(p))
#else
#define LRN_PREFETCH(p) ((void)0)
#endif
#define LRN_PF_DIST 32

/* s^-beta for s > 0, for float or any float vector (the builtins are overloaded). The beta 0.5
 * and 0.75 paths take 1 / sqrt(s), not rsqrt(s): the host builds with
 * -cl-fp32-correctly-rounded-divide-sqrt, so the division and the square roots are correctly
 * rounded on every implementation, while rsqrt may be off by 2 ulp (PoCL's differed from the
 * correctly rounded value on 23% of a million inputs in [1, 1001], Intel's CPU runtime's on
 * 0.1%), and Intel's CPU compiler rounds its scalar and vector rsqrt differently. */
#define LRN_RSQRT(s) (1.0f / sqrt(s))
#if LRN_BETA_PATH == 1
#define LRN_POW_NEG_BETA(s, beta) (LRN_RSQRT(s) * sqrt(LRN_RSQRT(s)))
#elif LRN_BETA_PATH == 2
#define LRN_POW_NEG_BETA(s, beta) LRN_RSQRT(s)
#elif LRN_BETA_PATH == 3
#define LRN_POW_NEG_BETA(s, beta) (1.0f / (s))
#else
/* The general path: 2^(-beta * log2(s)), with log2 and exp2 written out in float operations
 * that every implementation rounds alike (+, -, *, / correctly rounded, bit masks, rint, trunc,
 * fmin, fmax, exact conversions of integers), never the builtins: OpenCL lets log2 and exp2 be
 * 3 ulp off, and implementations round their vector and scalar forms differently (PoCL's
 * 8-wide exp2/log2 about 1% of results 1-2 ulp apart; Intel's compilers, which vectorize scalar
 * kernels across work-items, as much), so two kernel paths would differ in the last bits.
 * log2 is fdlibm's e_log2f.c (FreeBSD; under 1 ulp), without branches; exp2 splits t into
 * n + u, |u| <= 1/2, takes 2^u from its Taylor polynomial of degree 7 (truncation under 1e-8)
 * and scales by 2^n in two exact steps. s = 0 gives +inf or 0, s = +inf gives 0 or +inf (by
 * the sign of beta), and a NaN exponent stays NaN, as the builtins give. One definition, made
 * for float and for the vector type, so scalar and vector code compute the same operations. */
#define LRN_LOG2_IVLN2HI 1.4428710938e+00f  /* 0x3fb8b000 */
#define LRN_LOG2_IVLN2LO -1.7605285393e-04f /* 0xb9389ad4 */
#define LRN_LOG2_LG1 0.66666662693f         /* 0xaaaaaa.0p-24 */
#define LRN_LOG2_LG2 0.40000972152f         /* 0xccce13.0p-25 */
#define LRN_LOG2_LG3 0.28498786688f         /* 0x91e9ee.0p-25 */
#define LRN_LOG2_LG4 0.24279078841f         /* 0xf89e26.0p-26 */
#define LRN_DEFINE_POW_NEG_BETA(NAME, FT, IT)                                                      \
    LRN_INLINE FT NAME(FT s, float beta) {                                                         \
        const IT sub = s < (FT)0x1p-126f; /* zero or subnormal: scaled up by 2^25 */               \
        IT hx = LRN_CAT(as_, IT)(select(s, s * 0x1p25f, sub));                                     \
        IT k = select((IT)0, (IT)-25, sub) + ((hx >> 23) - 127);                                   \
        hx &= 0x007fffff;                                                                          \
        const IT i = (hx + 0x4afb0d) & 0x800000; /* m in [sqrt(2)/2, sqrt(2)) */                   \
        const FT m = LRN_CAT(as_, FT)(hx | (i ^ 0x3f800000));                                      \
        const FT y = LRN_CAT(convert_, FT)(k + (i >> 23));                                         \
        const FT f = m - 1.0f, hfsq = 0.5f * f * f;                                                \
        const FT q = f / (2.0f + f), z = q * q, w = z * z;                                         \
        const FT r = q * (hfsq + (z * (LRN_LOG2_LG1 + w * LRN_LOG2_LG3) +                          \
                                  w * (LRN_LOG2_LG2 + w * LRN_LOG2_LG4)));                         \
        const FT hi = LRN_CAT(as_, FT)(LRN_CAT(as_, IT)(f - hfsq) & (IT)0xfffff000);               \
        const FT lo = (f - hi) - hfsq + r;                                                         \
        FT l2 = (lo + hi) * LRN_LOG2_IVLN2LO + lo * LRN_LOG2_IVLN2HI + hi * LRN_LOG2_IVLN2HI + y;  \
        l2 = select(l2, (FT)(-INFINITY), s == (FT)0.0f);                                           \
        l2 = select(l2, s + s, !(s < (FT)INFINITY)); /* +inf, NaN */                               \
        const FT t = -beta * l2;                                                                   \
        /* 2^t: 2^u by Horner, then 2^n1 * 2^n2 (each a normal power of two) */                    \
        const FT tc = fmin(fmax(t, (FT)-152.0f), (FT)129.0f); /* beyond: 0 or +inf */              \
        const FT n = rint(tc), u = tc - n;                                                         \
        FT p = (FT)1.5252733804e-05f; /* ln2^7 / 7! */                                             \
        p = p * u + 1.5403530393e-04f;                                                             \
        p = p * u + 1.3333558146e-03f;                                                             \
        p = p * u + 9.6181291076e-03f;                                                             \
        p = p * u + 5.5504108665e-02f;                                                             \
        p = p * u + 2.4022650696e-01f;                                                             \
        p = p * u + 6.9314718056e-01f;                                                             \
        p = p * u + 1.0f;                                                                          \
        const FT n1 = trunc(n * 0.5f), n2 = n - n1;                                                \
        const FT p1 = LRN_CAT(as_, FT)((LRN_CAT(convert_, IT)(n1) + 127) << 23);                   \
        const FT p2 = LRN_CAT(as_, FT)((LRN_CAT(convert_, IT)(n2) + 127) << 23);                   \
        const FT e = (p * p1) * p2;                                                                \
        return select(e, t, t != t);                                                               \
    }
LRN_DEFINE_POW_NEG_BETA(lrn_pow_neg_beta_1, float, int)
#if LRN_VW == 1
#define LRN_POW_NEG_BETA(s, beta) lrn_pow_neg_beta_1((s), (beta))
#else
LRN_DEFINE_POW_NEG_BETA(lrn_pow_neg_beta_v, LRN_CAT(float, LRN_VW), LRN_CAT(int, LRN_VW))
#if defined(__clang__)
/* Vector builds call it on vectors and, in a plane's tail, on floats. */
__attribute__((overloadable)) static inline float lrn_pow_neg_beta(float s, float beta) {
    return lrn_pow_neg_beta_1(s, beta);
}
__attribute__((overloadable)) static inline lrn_vec lrn_pow_neg_beta(lrn_vec s, float beta) {
    return lrn_pow_neg_beta_v(s, beta);
}
#define LRN_POW_NEG_BETA(s, beta) lrn_pow_neg_beta((s), (beta))
#else
/* No overloading outside clang: vector builds there take the builtins, whose scalar and vector
 * forms may round apart (docs/design.md, "Guarantees"). */
#define LRN_POW_NEG_BETA(s, beta) exp2(-(beta) * log2(s))
#endif
#endif
#endif

/* LRN_IN_ORDER, before a loop that accumulates floating-point values over a trip count known
 * only at run time: its additions stay in the written order. Intel's CPU compiler vectorized
 * the within-channel backward's ratio sum when the work-group size was not a multiple of its
 * vector width (the additions reordered, without any fast-math option), so two local sizes
 * gave different bits. Loops unrolled at compile time need nothing; compilers other than
 * clang's ignore the pragma. */
#if defined(__clang__)
#define LRN_IN_ORDER _Pragma("clang loop vectorize(disable) interleave(disable)")
#else
#define LRN_IN_ORDER
#endif

/* Sum of a register window (float or vectors), always in the same order. */
#define LRN_REG_SUM(arr, len, out)                             \
    do {                                                       \
        (out) = (arr)[0];                                      \
        _Pragma("unroll")                                      \
        for (int lrn_i_ = 1; lrn_i_ < (len); ++lrn_i_)         \
            (out) += (arr)[lrn_i_];                            \
    } while (0)

/* Shift a register window down by one (index 0 falls out). Written out step by step, not as a
 * loop: Intel's CPU compiler turned the loop into a memmove before unrolling it, which kept the
 * window in stack memory (18 loads and stores per channel; the across forward ran at 0.6-0.7x
 * PoCL's speed on the same CPU). Windows up to 16 (LRNCL_REG_WINDOW_MAX); the dead steps fold
 * away, and their indices stay inside the array. */
#define LRN_SHIFT_STEP(arr, len, i)                                                                 \
    if ((i) < (len) - 1)                                                                           \
        (arr)[(i) < (len) - 1 ? (i) : 0] = (arr)[(i) < (len) - 1 ? (i) + 1 : 0];
#define LRN_REG_SHIFT(arr, len)                                                                     \
    do {                                                                                           \
        LRN_SHIFT_STEP(arr, len, 0) LRN_SHIFT_STEP(arr, len, 1) LRN_SHIFT_STEP(arr, len, 2)        \
        LRN_SHIFT_STEP(arr, len, 3) LRN_SHIFT_STEP(arr, len, 4) LRN_SHIFT_STEP(arr, len, 5)        \
        LRN_SHIFT_STEP(arr, len, 6) LRN_SHIFT_STEP(arr, len, 7) LRN_SHIFT_STEP(arr, len, 8)        \
        LRN_SHIFT_STEP(arr, len, 9) LRN_SHIFT_STEP(arr, len, 10) LRN_SHIFT_STEP(arr, len, 11)      \
        LRN_SHIFT_STEP(arr, len, 12) LRN_SHIFT_STEP(arr, len, 13) LRN_SHIFT_STEP(arr, len, 14)     \
    } while (0)

/* LRN_KERNEL_ATTR, on the NDRange kernels: vector builds are vectorized by hand, which
 * vec_type_hint tells the compiler. Intel's CPU compilers otherwise vectorize them again across
 * work-items, and took 18-24 s to build one within-channel program here (9-12 s with it). */
#if LRN_VW > 1
#define LRN_KERNEL_ATTR __attribute__((vec_type_hint(lrn_vec)))
#else
#define LRN_KERNEL_ATTR
#endif
