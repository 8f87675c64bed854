/* lrn_fpga.cl: ACROSS_CHANNELS and WITHIN_CHANNEL, forward and backward, as single work-item
 * kernels that FPGA offline compilers (Intel aoc, Xilinx v++) turn into pipelines (needs
 * lrn_common.cl before it). The host chooses them on CL_DEVICE_TYPE_ACCELERATOR devices or
 * with LRNCL_DEVICE_CLASS=fpga, and launches each with a global and local size of 1.
 *
 * Build options (a missing one fails the build with #error):
 *   from lrn_common.cl, required: LRN_WIN_LO, LRN_WIN_HI (the window: the length of every shift
 *     register below is LRN_WIN = LRN_WIN_LO + LRN_WIN_HI + 1), LRN_BETA_PATH (s^-beta),
 *     LRN_HALF (float16 storage), LRN_LAYOUT (0 NCHW, 1 NHWC, 2 strided: the kernels address
 *     every element through the strides, so all three work), LRN_REG_WINDOW (unused here: the
 *     window is always a shift register), LRN_VW (must be 1: one element per clock);
 *   -D LRN_WITHIN=<0|1>     which mode's kernels the program holds (0 across, 1 within)
 *   -D LRN_FPGA_LINE=<int>  within-channel: columns per tile, the length of each line buffer
 *                           (on-chip memory); wider planes are walked in tiles of this many
 *                           columns, each re-reading the window's reach on either side
 * Optional:
 *   -D LRN_FPGA_INTEL=1     adds Intel's max_global_work_dim(0) (single work-item kernels)
 *   -D LRN_FPGA_XILINX=1    adds Xilinx's xcl_pipeline_loop(1) to each kernel's main loop
 *
 * Kernels (names unique among lrncl's kernel files): lrn_fpga_across_fwd, lrn_fpga_across_bwd
 * (LRN_WITHIN 0), lrn_fpga_within_fwd, lrn_fpga_within_bwd (LRN_WITHIN 1). Arguments as the
 * other kernels' (lrn_common.cl), except the last: N, the batch (the other kernels take it from
 * the launch size). The backward's scale may be NULL: it is then recomputed in the same pass.
 *
 * Pipeline form: each kernel is one flattened loop whose trip count follows from the shape
 * (no data-dependent inner loop), with counters in place of nested loops, so the loop can
 * retire one element per clock (II 1). The window is a fully unrolled shift register of
 * LRN_WIN slots; within-channel keeps the window's rows in line buffers (private arrays of
 * LRN_FPGA_LINE columns, one bank per row) and shifts each column's history up as the row
 * passes. No barriers, no atomics, no local memory.
 *
 * Arithmetic: the same operations in the same order as lrn_across.cl and lrn_within.cl (sums
 * formed afresh from their taps in ascending order, fma() in the within row sums of squares,
 * (dy*y)/scale ratios, lrn_common.cl's s^-beta, contraction off), so every output is bitwise
 * that of the other kernel paths (tests/test_fpga.c). A tap outside the tensor enters a shift
 * register as 0, which leaves a sum's bits unchanged.
 */

#if LRN_VW != 1
#error "lrn_fpga.cl needs LRN_VW 1 (one element per clock)"
#endif
#ifndef LRN_WITHIN
#error "LRN_WITHIN must be defined"
#endif
#ifndef LRN_FPGA_LINE
#error "LRN_FPGA_LINE must be defined"
#endif
#if LRN_FPGA_LINE < 1
#error "LRN_FPGA_LINE must be positive"
#endif
#ifndef LRN_FPGA_INTEL
#define LRN_FPGA_INTEL 0
#endif
#ifndef LRN_FPGA_XILINX
#define LRN_FPGA_XILINX 0
#endif

#if LRN_FPGA_INTEL
#define LRN_FPGA_KERNEL __kernel __attribute__((reqd_work_group_size(1, 1, 1))) __attribute__((max_global_work_dim(0)))
#else
#define LRN_FPGA_KERNEL __kernel __attribute__((reqd_work_group_size(1, 1, 1)))
#endif
#if LRN_FPGA_XILINX
#define LRN_FPGA_PIPELINE __attribute__((xcl_pipeline_loop(1)))
#else
#define LRN_FPGA_PIPELINE
#endif

/* Rows of history a line buffer keeps (at least 1: C has no empty arrays). */
#define LRN_LB_ROWS (LRN_WIN > 1 ? LRN_WIN - 1 : 1)

/* Shift register r of len slots: one step down, v into the top slot. */
#define LRN_FPGA_PUSH(r, len, v)                                                                   \
    do {                                                                                           \
        _Pragma("unroll")                                                                          \
        for (int lrn_i_ = 0; lrn_i_ < (len) - 1; ++lrn_i_)                                         \
            (r)[lrn_i_] = (r)[lrn_i_ + 1];                                                         \
        (r)[(len) - 1] = (v);                                                                      \
    } while (0)

#define LRN_FPGA_CLEAR(r, len)                                                                     \
    do {                                                                                           \
        _Pragma("unroll")                                                                          \
        for (int lrn_i_ = 0; lrn_i_ < (len); ++lrn_i_)                                             \
            (r)[lrn_i_] = 0.0f;                                                                    \
    } while (0)

#if !LRN_WITHIN

/* y = x * scale^-beta over every (n, h, w) column; y and scale may each be NULL. One step per
 * channel loaded, C + hi per column: step c loads channel c into the window's top slot and,
 * from step hi on, retires channel c - hi, whose window [c-hi-lo, c] is then in sq[]. x is
 * not restrict: in-place forward (y == x) is safe, since channel c is read at step c and
 * written at step c + hi. */
LRN_FPGA_KERNEL void lrn_fpga_across_fwd(__global const lrn_t *x, __global lrn_t *y, __global float *scale,
                                         uint C, uint H, uint W, float sqrt_a, float k, float beta,
                                         ulong4 strides, ulong8 offs, ulong N) {
    LRN_DECLARE_STRIDES(C, H, W, strides);
    const uint steps = C + LRN_WIN_HI;
    const ulong total = N * H * W * steps;
    float sq[LRN_WIN], xs[LRN_WIN_HI + 1]; /* squares of channels c-lo-hi .. c; x of c-hi .. c */
    LRN_FPGA_CLEAR(sq, LRN_WIN);
    LRN_FPGA_CLEAR(xs, LRN_WIN_HI + 1);
    ulong n = 0;
    uint h = 0, w = 0, c = 0;
    LRN_FPGA_PIPELINE
    for (ulong i = 0; i < total; ++i) {
        if (c == 0) { /* a new column: channels below 0 are zero */
            LRN_FPGA_CLEAR(sq, LRN_WIN);
            LRN_FPGA_CLEAR(xs, LRN_WIN_HI + 1);
        }
        const ulong pos = n * sN + (ulong)h * sH + (ulong)w * sW;
        const float v = c < C ? LRN_LOAD(x, offs.s0 + pos + (ulong)c * sC) : 0.0f;
        const float t = v * sqrt_a;
        LRN_FPGA_PUSH(sq, LRN_WIN, t * t);
        LRN_FPGA_PUSH(xs, LRN_WIN_HI + 1, v);
        if (c >= LRN_WIN_HI) {
            float sum;
            LRN_REG_SUM(sq, LRN_WIN, sum);
            const float s = k + sum;
            const ulong at = pos + (ulong)(c - LRN_WIN_HI) * sC;
            if (y)
                LRN_STORE(y, offs.s1 + at, xs[0] * LRN_POW_NEG_BETA(s, beta));
            if (scale)
                scale[offs.s2 + at] = s;
        }
        if (++c == steps) {
            c = 0;
            if (++w == W) {
                w = 0;
                if (++h == H) {
                    h = 0;
                    ++n;
                }
            }
        }
    }
}

/* dx[c] = dy[c] * scale[c]^-beta - 2ab * x[c] * SUM_{i in [c-hi, c+lo]} dy[i] * y[i] / scale[i].
 * C + lo + hi steps per column: step j loads x at channel j (the top of xv, sq), forms the
 * ratio at channel j - hi (its scale from sq's window, or loaded) and retires dx at channel
 * t = j - lo - hi, whose mirrored window [t-hi, t+lo] is then r[]. */
LRN_FPGA_KERNEL void lrn_fpga_across_bwd(__global const lrn_t *restrict x, __global const lrn_t *restrict y,
                                         __global const lrn_t *restrict dy, __global const float *restrict scale,
                                         __global lrn_t *restrict dx, uint C, uint H, uint W, float sqrt_a, float k,
                                         float beta, float two_ab, ulong4 strides, ulong8 offs, ulong N) {
    LRN_DECLARE_STRIDES(C, H, W, strides);
    const uint steps = C + LRN_WIN_LO + LRN_WIN_HI;
    const ulong total = N * H * W * steps;
    /* xv, sq: x and its square at channels t .. t+lo+hi; r: ratios at t-hi .. t+lo;
     * gp: dy * scale^-beta at t .. t+lo */
    float xv[LRN_WIN], sq[LRN_WIN], r[LRN_WIN], gp[LRN_WIN_LO + 1];
    LRN_FPGA_CLEAR(xv, LRN_WIN);
    LRN_FPGA_CLEAR(sq, LRN_WIN);
    LRN_FPGA_CLEAR(r, LRN_WIN);
    LRN_FPGA_CLEAR(gp, LRN_WIN_LO + 1);
    ulong n = 0;
    uint h = 0, w = 0, j = 0;
    LRN_FPGA_PIPELINE
    for (ulong i = 0; i < total; ++i) {
        if (j == 0) {
            LRN_FPGA_CLEAR(xv, LRN_WIN);
            LRN_FPGA_CLEAR(sq, LRN_WIN);
            LRN_FPGA_CLEAR(r, LRN_WIN);
            LRN_FPGA_CLEAR(gp, LRN_WIN_LO + 1);
        }
        const ulong pos = n * sN + (ulong)h * sH + (ulong)w * sW;
        const float v = j < C ? LRN_LOAD(x, offs.s0 + pos + (ulong)j * sC) : 0.0f;
        const float tv = v * sqrt_a;
        LRN_FPGA_PUSH(xv, LRN_WIN, v);
        LRN_FPGA_PUSH(sq, LRN_WIN, tv * tv);
        const long jr = (long)j - LRN_WIN_HI; /* the ratio's channel */
        float rj = 0.0f, gj = 0.0f;
        if (jr >= 0 && jr < (long)C) {
            const ulong at = pos + (ulong)jr * sC;
            float s;
            if (scale) {
                s = scale[offs.s2 + at];
            } else {
                float sum;
                LRN_REG_SUM(sq, LRN_WIN, sum);
                s = k + sum;
            }
            const float g = LRN_LOAD(dy, offs.s3 + at);
            rj = g * LRN_LOAD(y, offs.s1 + at) / s;
            gj = g * LRN_POW_NEG_BETA(s, beta);
        }
        LRN_FPGA_PUSH(r, LRN_WIN, rj);
        LRN_FPGA_PUSH(gp, LRN_WIN_LO + 1, gj);
        if (j >= LRN_WIN_LO + LRN_WIN_HI) {
            float acc;
            LRN_REG_SUM(r, LRN_WIN, acc);
            const ulong at = pos + (ulong)(j - LRN_WIN_LO - LRN_WIN_HI) * sC;
            LRN_STORE(dx, offs.s4 + at, gp[0] - two_ab * xv[0] * acc);
        }
        if (++j == steps) {
            j = 0;
            if (++w == W) {
                w = 0;
                if (++h == H) {
                    h = 0;
                    ++n;
                }
            }
        }
    }
}

#else /* LRN_WITHIN */

/* The walk shared by the within-channel kernels: planes (n, c), tiles of LRN_FPGA_LINE columns
 * from w0, rows r, columns j of the tile's stream (`cols` of them: the tile's width plus the
 * window's reach). One step per (r, j); the counters advance as nested loops would. */
#define LRN_TILE_WIDTH(W, w0) min((uint)LRN_FPGA_LINE, (W) - (w0))
#define LRN_WITHIN_ADVANCE(extra_cols, rows)                                                       \
    do {                                                                                           \
        if (++j == cols) {                                                                         \
            j = 0;                                                                                 \
            if (++r == (rows)) {                                                                   \
                r = 0;                                                                             \
                w0 += LRN_FPGA_LINE;                                                               \
                if (w0 >= W) {                                                                     \
                    w0 = 0;                                                                        \
                    if (++c == C) {                                                                \
                        c = 0;                                                                     \
                        ++n;                                                                       \
                    }                                                                              \
                }                                                                                  \
                cols = LRN_TILE_WIDTH(W, w0) + (extra_cols);                                       \
            }                                                                                      \
        }                                                                                          \
    } while (0)

/* Steps of the whole walk: every plane has (W + tiles * extra) columns of `rows` rows. */
inline ulong lrn_within_steps(ulong N, uint C, uint W, uint rows, uint extra) {
    const ulong tiles = (W + LRN_FPGA_LINE - 1) / LRN_FPGA_LINE;
    return N * C * rows * ((ulong)W + tiles * extra);
}

/* One column's vertical window from a line buffer: col[p] = row r - (WIN-1) + p (0 above the
 * plane) for p < WIN-1, col[WIN-1] = top; then the column's history moves up one row, top in. */
#define LRN_LINE_COLUMN(lb, at, r, top, col)                                                       \
    do {                                                                                           \
        _Pragma("unroll")                                                                          \
        for (int p = 0; p < LRN_WIN - 1; ++p)                                                      \
            (col)[p] = (long)(r) - (LRN_WIN - 1) + p >= 0 ? (lb)[p][at] : 0.0f;                    \
        (col)[LRN_WIN - 1] = (top);                                                                \
        _Pragma("unroll")                                                                          \
        for (int p = 0; p < LRN_WIN - 2; ++p)                                                      \
            (lb)[p][at] = (lb)[p + 1][at];                                                         \
        if (LRN_WIN > 1)                                                                           \
            (lb)[LRN_LB_ROWS - 1][at] = (top);                                                     \
    } while (0)

/* Pre-scaled sum of squares along a row over the window's columns, in ascending order, from
 * the horizontal shift register of (sqrt_a * x): the fma() chain of lrn_within.cl. */
#define LRN_ROW_SQ(hx, out)                                                                        \
    do {                                                                                           \
        (out) = 0.0f;                                                                              \
        _Pragma("unroll")                                                                          \
        for (int p = 0; p < LRN_WIN; ++p)                                                          \
            (out) = fma((hx)[p], (hx)[p], (out));                                                  \
    } while (0)

/* Sum of a row's ratios over the mirrored window's columns, in ascending order. */
#define LRN_ROW_RATIO_SUM(hr, out)                                                                 \
    do {                                                                                           \
        (out) = 0.0f;                                                                              \
        _Pragma("unroll")                                                                          \
        for (int p = 0; p < LRN_WIN; ++p)                                                          \
            (out) += (hr)[p];                                                                      \
    } while (0)

/* Each plane, tile by tile: rows 0 .. H+hi-1 stream through; step (r, j) loads x(r, w0-lo+j)
 * into the horizontal shift register and, from j = WIN-1 on, forms the row sum of squares at
 * column w = w0 + j - (WIN-1), adds it to the column's line buffer and retires (r - hi, w). */
LRN_FPGA_KERNEL void lrn_fpga_within_fwd(__global const lrn_t *restrict x, __global lrn_t *restrict y,
                                         __global float *restrict scale, uint C, uint H, uint W, float sqrt_a,
                                         float k, float beta, ulong4 strides, ulong8 offs, ulong N) {
    LRN_DECLARE_STRIDES(C, H, W, strides);
    const uint rows = H + LRN_WIN_HI;
    const ulong total = lrn_within_steps(N, C, W, rows, LRN_WIN - 1);
    float hx[LRN_WIN], col[LRN_WIN], lb[LRN_LB_ROWS][LRN_FPGA_LINE];
    LRN_FPGA_CLEAR(hx, LRN_WIN);
    ulong n = 0;
    uint c = 0, w0 = 0, r = 0, j = 0, cols = LRN_TILE_WIDTH(W, 0) + LRN_WIN - 1;
    LRN_FPGA_PIPELINE
    for (ulong i = 0; i < total; ++i) {
        const ulong plane = n * sN + (ulong)c * sC;
        const long cin = (long)w0 - LRN_WIN_LO + (long)j;
        const float v = r < H && cin >= 0 && cin < (long)W ? LRN_LOAD(x, offs.s0 + plane + (ulong)r * sH + (ulong)cin * sW)
                                                           : 0.0f;
        LRN_FPGA_PUSH(hx, LRN_WIN, v * sqrt_a);
        if (j >= LRN_WIN - 1) {
            const uint at = j - (LRN_WIN - 1);
            float rs, sum;
            LRN_ROW_SQ(hx, rs);
            LRN_LINE_COLUMN(lb, at, r, rs, col);
            if (r >= LRN_WIN_HI) {
                LRN_REG_SUM(col, LRN_WIN, sum);
                const float s = k + sum;
                const ulong o = plane + (ulong)(r - LRN_WIN_HI) * sH + (ulong)(w0 + at) * sW;
                if (y)
                    LRN_STORE(y, offs.s1 + o, LRN_LOAD(x, offs.s0 + o) * LRN_POW_NEG_BETA(s, beta));
                if (scale)
                    scale[offs.s2 + o] = s;
            }
        }
        LRN_WITHIN_ADVANCE(LRN_WIN - 1, rows);
    }
}

/* The view as the helpers below take it: strides and offsets as scalars (a vector argument of an
 * inline function changes the calling convention on some CPU targets, and PoCL warns). */
struct lrn_fpga_offs { ulong s0, s1, s2, s3, s4; };
#define LRN_FPGA_VIEW_PARAMS const ulong sN, const ulong sC, const ulong sH, const ulong sW, const struct lrn_fpga_offs offs

/* Backward given the scale: rows 0 .. H+lo-1; step (r, j) forms the ratio dy*y/scale at
 * (r, w0-hi+j), and from j = WIN-1 on the row's ratio sum at w = w0 + j - (WIN-1) (its mirrored
 * columns [w-hi, w+lo]) enters the line buffer; dx retires at (r - lo, w), its mirrored rows
 * [r-lo-hi, r] then in the column. */
inline void lrn_fpga_within_bwd_given(__global const lrn_t *restrict x, __global const lrn_t *restrict y,
                                      __global const lrn_t *restrict dy, __global const float *restrict scale,
                                      __global lrn_t *restrict dx, uint C, uint H, uint W, float beta, float two_ab,
                                      LRN_FPGA_VIEW_PARAMS, ulong N) {
    const uint rows = H + LRN_WIN_LO;
    const ulong total = lrn_within_steps(N, C, W, rows, LRN_WIN - 1);
    float hr[LRN_WIN], col[LRN_WIN], lb[LRN_LB_ROWS][LRN_FPGA_LINE];
    LRN_FPGA_CLEAR(hr, LRN_WIN);
    ulong n = 0;
    uint c = 0, w0 = 0, r = 0, j = 0, cols = LRN_TILE_WIDTH(W, 0) + LRN_WIN - 1;
    LRN_FPGA_PIPELINE
    for (ulong i = 0; i < total; ++i) {
        const ulong plane = n * sN + (ulong)c * sC;
        const long cin = (long)w0 - LRN_WIN_HI + (long)j;
        float ratio = 0.0f;
        if (r < H && cin >= 0 && cin < (long)W) {
            const ulong o = plane + (ulong)r * sH + (ulong)cin * sW;
            ratio = LRN_LOAD(dy, offs.s3 + o) * LRN_LOAD(y, offs.s1 + o) / scale[offs.s2 + o];
        }
        LRN_FPGA_PUSH(hr, LRN_WIN, ratio);
        if (j >= LRN_WIN - 1) {
            const uint at = j - (LRN_WIN - 1);
            float rs, acc;
            LRN_ROW_RATIO_SUM(hr, rs);
            LRN_LINE_COLUMN(lb, at, r, rs, col);
            if (r >= LRN_WIN_LO) {
                LRN_REG_SUM(col, LRN_WIN, acc);
                const ulong o = plane + (ulong)(r - LRN_WIN_LO) * sH + (ulong)(w0 + at) * sW;
                const float g = LRN_LOAD(dy, offs.s3 + o), xv = LRN_LOAD(x, offs.s0 + o);
                LRN_STORE(dx, offs.s4 + o, g * LRN_POW_NEG_BETA(scale[offs.s2 + o], beta) - two_ab * xv * acc);
            }
        }
        LRN_WITHIN_ADVANCE(LRN_WIN - 1, rows);
    }
}

/* Backward recomputing the scale, one pass: rows R = 0 .. H+lo+hi-1 of x stream in. Step
 * (R, j) loads x(R, w0-lo-hi+j); from j = WIN-1 on, the row sum of squares at column
 * cs = w0 - hi + (j - (WIN-1)) enters the squares' line buffer, whose column gives the scale at
 * (R - hi, cs) exactly as the forward forms it; the ratio there enters the ratio register, and
 * the scale a line buffer of lo + 1 rows (for the output lo rows later). From j = 2(WIN-1) on,
 * the ratio row sum at w = cs - lo enters the ratios' line buffer, and dx retires at
 * (R - hi - lo, w). */
inline void lrn_fpga_within_bwd_noscale(__global const lrn_t *restrict x, __global const lrn_t *restrict y,
                                        __global const lrn_t *restrict dy, __global lrn_t *restrict dx, uint C,
                                        uint H, uint W, float sqrt_a, float k, float beta, float two_ab,
                                        LRN_FPGA_VIEW_PARAMS, ulong N) {
    const uint rows = H + LRN_WIN_LO + LRN_WIN_HI;
    const ulong total = lrn_within_steps(N, C, W, rows, 2 * (LRN_WIN - 1));
    float hx[LRN_WIN], hr[LRN_WIN], col[LRN_WIN];
    float lbs[LRN_LB_ROWS][LRN_FPGA_LINE + LRN_WIN - 1]; /* rows of squares' sums, per column cs */
    float lbr[LRN_LB_ROWS][LRN_FPGA_LINE];               /* rows of ratio sums, per column w */
    float sl[LRN_WIN_LO + 1][LRN_FPGA_LINE + LRN_WIN - 1]; /* the scale, lo + 1 rows, per column cs */
    LRN_FPGA_CLEAR(hx, LRN_WIN);
    LRN_FPGA_CLEAR(hr, LRN_WIN);
    ulong n = 0;
    uint c = 0, w0 = 0, r = 0, j = 0, cols = LRN_TILE_WIDTH(W, 0) + 2 * (LRN_WIN - 1);
    LRN_FPGA_PIPELINE
    for (ulong i = 0; i < total; ++i) {
        const ulong plane = n * sN + (ulong)c * sC;
        const long cin = (long)w0 - LRN_WIN_LO - LRN_WIN_HI + (long)j;
        const float v = r < H && cin >= 0 && cin < (long)W ? LRN_LOAD(x, offs.s0 + plane + (ulong)r * sH + (ulong)cin * sW)
                                                           : 0.0f;
        LRN_FPGA_PUSH(hx, LRN_WIN, v * sqrt_a);
        float ratio = 0.0f;
        if (j >= LRN_WIN - 1) {
            const uint at = j - (LRN_WIN - 1);
            const long rs_row = (long)r - LRN_WIN_HI, cs = (long)w0 - LRN_WIN_HI + (long)at;
            float rs, sum;
            LRN_ROW_SQ(hx, rs);
            LRN_LINE_COLUMN(lbs, at, r, rs, col);
            LRN_REG_SUM(col, LRN_WIN, sum);
            const float s = k + sum;
#pragma unroll
            for (int p = 0; p < LRN_WIN_LO; ++p)
                sl[p][at] = sl[p + 1][at];
            sl[LRN_WIN_LO][at] = s;
            if (rs_row >= 0 && rs_row < (long)H && cs >= 0 && cs < (long)W) {
                const ulong o = plane + (ulong)rs_row * sH + (ulong)cs * sW;
                ratio = LRN_LOAD(dy, offs.s3 + o) * LRN_LOAD(y, offs.s1 + o) / s;
            }
        }
        LRN_FPGA_PUSH(hr, LRN_WIN, ratio);
        if (j >= 2 * (LRN_WIN - 1)) {
            const uint at = j - 2 * (LRN_WIN - 1);
            float rr, acc;
            LRN_ROW_RATIO_SUM(hr, rr);
            LRN_LINE_COLUMN(lbr, at, (long)r - LRN_WIN_HI, rr, col);
            if (r >= LRN_WIN_LO + LRN_WIN_HI) {
                LRN_REG_SUM(col, LRN_WIN, acc);
                /* the scale at (R-hi-lo, w): column cs = w, written lo rows back */
                const float s = sl[0][at + LRN_WIN_HI];
                const ulong o = plane + (ulong)(r - LRN_WIN_LO - LRN_WIN_HI) * sH + (ulong)(w0 + at) * sW;
                const float g = LRN_LOAD(dy, offs.s3 + o), xv = LRN_LOAD(x, offs.s0 + o);
                LRN_STORE(dx, offs.s4 + o, g * LRN_POW_NEG_BETA(s, beta) - two_ab * xv * acc);
            }
        }
        LRN_WITHIN_ADVANCE(2 * (LRN_WIN - 1), rows);
    }
}

/* dx = dy * scale^-beta - 2ab * x * SUM over the mirrored box of dy*y/scale; scale may be NULL
 * (recomputed from x in the same pass, bitwise as the forward forms it). */
LRN_FPGA_KERNEL void lrn_fpga_within_bwd(__global const lrn_t *restrict x, __global const lrn_t *restrict y,
                                         __global const lrn_t *restrict dy, __global const float *restrict scale,
                                         __global lrn_t *restrict dx, uint C, uint H, uint W, float sqrt_a, float k,
                                         float beta, float two_ab, ulong4 strides, ulong8 offs, ulong N) {
    LRN_DECLARE_STRIDES(C, H, W, strides);
    const struct lrn_fpga_offs o = {offs.s0, offs.s1, offs.s2, offs.s3, offs.s4};
    if (scale)
        lrn_fpga_within_bwd_given(x, y, dy, scale, dx, C, H, W, beta, two_ab, sN, sC, sH, sW, o, N);
    else
        lrn_fpga_within_bwd_noscale(x, y, dy, dx, C, H, W, sqrt_a, k, beta, two_ab, sN, sC, sH, sW, o, N);
}

#endif /* LRN_WITHIN */
