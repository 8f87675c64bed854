/* lrn_fpga.cl: ACROSS_CHANNELS and WITHIN_CHANNEL, forward and backward, as single work-item
 * kernels that FPGA offline compilers (Intel aoc, Xilinx v++) turn into pipelines (needs
 * lrn_common.cl before it). The host chooses them on CL_DEVICE_TYPE_ACCELERATOR devices or
 * with LRNCL_DEVICE_CLASS=fpga, and launches each with a global and local size of 1.
 *
 * Build options (a missing one fails the build with #error):
 *   from lrn_common.cl, required: LRN_WIN_LO, LRN_WIN_HI (the window: LRN_WIN = LRN_WIN_LO +
 *     LRN_WIN_HI + 1 taps), LRN_BETA_PATH (s^-beta), LRN_HALF (float16 storage), LRN_LAYOUT
 *     (0 NCHW, 1 NHWC, 2 strided: the kernels address every element through the strides, so
 *     all three work; the layout picks the across walk below), LRN_REG_WINDOW (unused here),
 *     LRN_VW (must be 1: one element per clock);
 *   -D LRN_WITHIN=<0|1>     which mode's kernels the program holds (0 across, 1 within)
 *   -D LRN_FPGA_LINE=<int>  the length of every line buffer (on-chip memory): across, the
 *                           positions per tile (NCHW, strided); within, the columns per tile
 * Optional:
 *   -D LRN_FPGA_CTILE=<int> within, NHWC: channels per tile (default 8; 1 in NCHW and strided)
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
 * retire one element per clock (II 1). Memory is walked in its own order, so that each
 * stream is a contiguous run a memory controller serves as bursts:
 *   - across, NCHW and strided: each image's plane in tiles of LRN_FPGA_LINE positions (h, w
 *     order); per tile, channel after channel, each channel's run of the tile's positions.
 *     The window's channels stay on chip in line buffers (one bank per window channel, indexed
 *     by the position in the tile); every run is LRN_FPGA_LINE steps long (positions past the
 *     plane's end are idle steps), so a line buffer's entry is read back exactly LRN_FPGA_LINE
 *     iterations after it was written: a constant dependency distance.
 *   - across, NHWC: the channels are contiguous: each (n, h, w) position walks its channels (a
 *     tile of one position, whose line buffers are shift registers).
 *   - within, NCHW and strided: each plane row by row, in tiles of LRN_FPGA_LINE columns (a
 *     tile's row is contiguous in NCHW), the window's rows in line buffers indexed by column.
 *   - within, NHWC: the same walk over tiles of LRN_FPGA_CTILE channels, the tile's channels
 *     innermost (contiguous there): line buffers indexed by (column, channel of the tile), and
 *     each channel's last columns in a bank indexed by the channel (read back LRN_FPGA_CTILE
 *     iterations after it was written).
 * Inside the loop there is no multiplication of indices: every address is an offset that
 * advances by additions (a stride per step), counters are 32-bit (uint), and 64-bit arithmetic
 * is left to the offsets and the trip count, where products of dimensions can exceed 2^32:
 * adders and comparators, no DSP multipliers. No barriers, no atomics, no local memory.
 *
 * Arithmetic: the same operations in the same order as lrn_across.cl and lrn_within.cl (sums
 * formed afresh from their taps in ascending order, fma() in the within row sums of squares,
 * (dy*y)/scale ratios, lrn_common.cl's s^-beta, contraction off), so every output is bitwise
 * that of the other kernel paths (tests/test_fpga.c). A tap outside the tensor is a 0 in the
 * window, which leaves a sum's bits unchanged.
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

/* The one tap loop: the statement once per i in [0, len), fully unrolled (a shift register's
 * slots, a window's taps, a line buffer's banks: parallel hardware, not iterations). */
#define LRN_TAPS(i, len, ...)                                                                      \
    do {                                                                                           \
        _Pragma("unroll")                                                                          \
        for (int i = 0; i < (len); ++i) {                                                          \
            __VA_ARGS__;                                                                           \
        }                                                                                          \
    } while (0)

/* Line buffer lb of `rows` banks (rows of history, oldest first), entry `at` of each: col[p] =
 * the value pushed rows - p steps of `step` ago (0 if that step is below 0: a channel or row
 * before the tensor's), col[rows] = top; then the entry's history moves one bank down and top
 * enters the newest bank. The window's values at one position, without a multiplexer over
 * positions: each bank is read and written once per step. */
#define LRN_LINE_COLUMN(lb, rows, at, step, top, col)                                              \
    do {                                                                                           \
        LRN_TAPS(lrn_p_, rows, (col)[lrn_p_] = (long)(step) - (rows) + lrn_p_ >= 0 ? (lb)[lrn_p_][at] : 0.0f); \
        (col)[rows] = (top);                                                                       \
        LRN_TAPS(lrn_p_, (rows) - 1, (lb)[lrn_p_][at] = (lb)[lrn_p_ + 1][at]);                     \
        if ((rows) > 0)                                                                            \
            (lb)[(rows) > 0 ? (rows) - 1 : 0][at] = (top);                                         \
    } while (0)

/* A bank count as an array extent (C has no empty arrays). */
#define LRN_BANKS(rows) ((rows) > 0 ? (rows) : 1)

#if !LRN_WITHIN

/* Positions per tile: NHWC walks one position's channels (contiguous there); NCHW and strided
 * views walk tiles of a plane's positions (contiguous in NCHW). */
#if LRN_LAYOUT == 1
#define LRN_TILE 1
#else
#define LRN_TILE LRN_FPGA_LINE
#endif

/* The walk shared by the across kernels. Per image (offset nb) and tile: steps 0 .. steps-1
 * (channels loaded: offset cb = step * sC), each a run of LRN_TILE positions q (offset pb, at
 * (h, w)); `valid` is 0 past the plane's last position. Declares the walk's state; trip count
 * N * tiles * steps * LRN_TILE. */
#define LRN_ACROSS_WALK(steps)                                                                     \
    const ulong plane_ = (ulong)H * W, tiles_ = (plane_ + LRN_TILE - 1) / LRN_TILE;                \
    const ulong total = N * tiles_ * (steps) * LRN_TILE;                                           \
    const ulong row_step = sH - (ulong)(W - 1) * sW; /* from (h, W-1) to (h+1, 0) */               \
    ulong nb = 0, cb = 0, pb = 0, pb0 = 0;                                                         \
    uint c = 0, q = 0, h = 0, w = 0, h0 = 0, w0 = 0, valid = 1

/* The next step: the next position of the run (the plane's last one leaves the run idle),
 * else the next channel of the tile from the tile's first position, else the next tile (from
 * the position after the tile's last one) or the next image. */
#define LRN_ACROSS_ADVANCE(steps)                                                                  \
    do {                                                                                           \
        if (valid) {                                                                               \
            if (h == H - 1 && w == W - 1) {                                                        \
                valid = 0;                                                                         \
            } else if (++w == W) {                                                                 \
                w = 0;                                                                             \
                ++h;                                                                               \
                pb += row_step;                                                                    \
            } else {                                                                               \
                pb += sW;                                                                          \
            }                                                                                      \
        }                                                                                          \
        if (++q == LRN_TILE) {                                                                     \
            q = 0;                                                                                 \
            if (++c == (steps)) {                                                                  \
                c = 0;                                                                             \
                cb = 0;                                                                            \
                if (!valid) { /* the plane is done */                                              \
                    nb += sN;                                                                      \
                    h = w = 0;                                                                     \
                    pb = 0;                                                                        \
                }                                                                                  \
                h0 = h, w0 = w, pb0 = pb;                                                          \
            } else {                                                                               \
                cb += sC;                                                                          \
            }                                                                                      \
            h = h0, w = w0, pb = pb0;                                                              \
            valid = 1;                                                                             \
        }                                                                                          \
    } while (0)

/* y = x * scale^-beta; y and scale may each be NULL. C + hi steps per tile: step c loads
 * channel c and, from step hi on, retires channel c - hi, whose window [c-hi-lo, c] is then in
 * the squares' line buffer. x is not restrict: in-place forward (y == x) is safe, since
 * channel c is read at step c and written at step c + hi (x of the output channel comes from
 * a line buffer, not from memory). */
LRN_FPGA_KERNEL void lrn_fpga_across_fwd(__global const lrn_t *x, __global lrn_t *y, __global float *scale,
                                         uint C, uint H, uint W, float sqrt_a, float k, float beta,
                                         ulong4 strides, ulong8 offs, ulong N) {
    LRN_DECLARE_STRIDES(C, H, W, strides);
    const uint steps = C + LRN_WIN_HI;
    LRN_ACROSS_WALK(steps);
    const ulong out_back = (ulong)LRN_WIN_HI * sC; /* from the loaded channel to the retired one */
    __global const lrn_t *xp = x + offs.s0;
    __global lrn_t *yp = y ? y + offs.s1 : 0;
    __global float *sp = scale ? scale + offs.s2 : 0;
    /* squares of the window's older channels; x of the last hi channels */
    float lbs[LRN_BANKS(LRN_WIN - 1)][LRN_TILE], lbx[LRN_BANKS(LRN_WIN_HI)][LRN_TILE];
    LRN_FPGA_PIPELINE
    for (ulong i = 0; i < total; ++i) {
        const float v = valid && c < C ? LRN_LOAD(xp, nb + cb + pb) : 0.0f;
        const float t = v * sqrt_a;
        float sq[LRN_WIN], xo[LRN_WIN_HI + 1];
        LRN_LINE_COLUMN(lbs, LRN_WIN - 1, q, c, t * t, sq);
        LRN_LINE_COLUMN(lbx, LRN_WIN_HI, q, c, v, xo);
        if (valid && c >= LRN_WIN_HI) {
            float sum;
            LRN_REG_SUM(sq, LRN_WIN, sum);
            const float s = k + sum;
            const ulong at = nb + cb - out_back + pb;
            if (yp)
                LRN_STORE(yp, at, xo[0] * LRN_POW_NEG_BETA(s, beta));
            if (sp)
                sp[at] = s;
        }
        LRN_ACROSS_ADVANCE(steps);
    }
}

/* dx[c] = dy[c] * scale[c]^-beta - 2ab * x[c] * SUM_{i in [c-hi, c+lo]} dy[i] * y[i] / scale[i].
 * C + lo + hi steps per tile: step j loads x at channel j, forms the ratio at channel j - hi (its
 * scale loaded, or from the squares' window) and retires dx at channel t = j - lo - hi, whose
 * mirrored window [t-hi, t+lo] is then in the ratios' line buffer. */
LRN_FPGA_KERNEL void lrn_fpga_across_bwd(__global const lrn_t *restrict x, __global const lrn_t *restrict y,
                                         __global const lrn_t *restrict dy, __global const float *restrict scale,
                                         __global lrn_t *restrict dx, uint C, uint H, uint W, float sqrt_a, float k,
                                         float beta, float two_ab, ulong4 strides, ulong8 offs, ulong N) {
    LRN_DECLARE_STRIDES(C, H, W, strides);
    const uint steps = C + LRN_WIN_LO + LRN_WIN_HI;
    LRN_ACROSS_WALK(steps);
    const ulong ratio_back = (ulong)LRN_WIN_HI * sC, out_back = (ulong)(LRN_WIN_LO + LRN_WIN_HI) * sC;
    __global const lrn_t *xp = x + offs.s0, *yp = y + offs.s1, *dyp = dy + offs.s3;
    __global const float *sp = scale ? scale + offs.s2 : 0;
    __global lrn_t *dxp = dx + offs.s4;
    /* x and its squares at the window's older channels, the ratios, dy * scale^-beta */
    float lbx[LRN_BANKS(LRN_WIN - 1)][LRN_TILE], lbs[LRN_BANKS(LRN_WIN - 1)][LRN_TILE];
    float lbr[LRN_BANKS(LRN_WIN - 1)][LRN_TILE], lbg[LRN_BANKS(LRN_WIN_LO)][LRN_TILE];
    LRN_FPGA_PIPELINE
    for (ulong i = 0; i < total; ++i) {
        const float v = valid && c < C ? LRN_LOAD(xp, nb + cb + pb) : 0.0f;
        const float tv = v * sqrt_a;
        float xv[LRN_WIN], sq[LRN_WIN], r[LRN_WIN], gp[LRN_WIN_LO + 1];
        LRN_LINE_COLUMN(lbx, LRN_WIN - 1, q, c, v, xv);
        LRN_LINE_COLUMN(lbs, LRN_WIN - 1, q, c, tv * tv, sq);
        float rj = 0.0f, gj = 0.0f;
        if (valid && c >= LRN_WIN_HI && c - LRN_WIN_HI < C) { /* the ratio's channel c - hi */
            const ulong at = nb + cb - ratio_back + pb;
            float s;
            if (sp) {
                s = sp[at];
            } else {
                float sum;
                LRN_REG_SUM(sq, LRN_WIN, sum);
                s = k + sum;
            }
            const float g = LRN_LOAD(dyp, at);
            rj = g * LRN_LOAD(yp, at) / s;
            gj = g * LRN_POW_NEG_BETA(s, beta);
        }
        LRN_LINE_COLUMN(lbr, LRN_WIN - 1, q, c, rj, r);
        LRN_LINE_COLUMN(lbg, LRN_WIN_LO, q, c, gj, gp);
        if (valid && c >= LRN_WIN_LO + LRN_WIN_HI) {
            float acc;
            LRN_REG_SUM(r, LRN_WIN, acc);
            LRN_STORE(dxp, nb + cb - out_back + pb, gp[0] - two_ab * xv[0] * acc);
        }
        LRN_ACROSS_ADVANCE(steps);
    }
}

#else /* LRN_WITHIN */

/* Channels per tile of the within walk: NHWC rows hold every channel of a column together, so
 * the walk takes a tile of LRN_FPGA_CTILE channels innermost (a contiguous run); NCHW and
 * strided views walk one channel's plane at a time (contiguous rows in NCHW). */
#ifndef LRN_FPGA_CTILE
#define LRN_FPGA_CTILE (LRN_LAYOUT == 1 ? 8 : 1)
#endif
#if LRN_FPGA_CTILE < 1
#error "LRN_FPGA_CTILE must be positive"
#endif
#define LRN_CT LRN_FPGA_CTILE

/* The walk shared by the within kernels: per image (offset nb), tiles of LRN_CT channels from c
 * (offset cb), tiles of LRN_FPGA_LINE columns from w0, rows r (offset rb), steps j along the
 * tile's stream of `cols` columns (the tile's width plus the window's reach, `extra`), each
 * step the tile's channels cc (offset ccb), loading column cin = w0 - reach + j (offset cl; a
 * uint that wraps below 0, so `cin < W` is the whole range test: W < 2^31). Declares the walk's
 * state and the trip count `total`; channels past C are idle steps. */
#define LRN_TILE_WIDTH(W, w0) min((uint)LRN_FPGA_LINE, (W) - (w0))
#define LRN_WITHIN_WALK(rows, reach, extra)                                                        \
    const ulong tiles_ = (W + LRN_FPGA_LINE - 1) / LRN_FPGA_LINE, ctiles_ = (C + LRN_CT - 1) / LRN_CT; \
    const ulong total = N * ctiles_ * (rows) * ((ulong)W + tiles_ * (extra)) * LRN_CT;             \
    const ulong cl_start = 0 - (ulong)(reach) * sW, tile_step = (ulong)LRN_FPGA_LINE * sW;         \
    const ulong ct_step = (ulong)LRN_CT * sC;                                                      \
    ulong nb = 0, cb = 0, ccb = 0, rb = 0, cl0 = cl_start, cl = cl_start;                          \
    uint c = 0, cc = 0, w0 = 0, r = 0, j = 0, cin = 0 - (uint)(reach), cols = LRN_TILE_WIDTH(W, 0) + (extra)

#define LRN_WITHIN_ADVANCE(rows, reach, extra)                                                     \
    do {                                                                                           \
        if (++cc < LRN_CT) {                                                                       \
            ccb += sC;                                                                             \
        } else {                                                                                   \
            cc = 0;                                                                                \
            ccb = 0;                                                                               \
            LRN_WITHIN_NEXT_COLUMN(rows, reach, extra);                                            \
        }                                                                                          \
    } while (0)

/* The next column of the stream, else the next row, tile, channel tile or image. */
#define LRN_WITHIN_NEXT_COLUMN(rows, reach, extra)                                                 \
    do {                                                                                           \
        ++cin;                                                                                     \
        cl += sW;                                                                                  \
        if (++j == cols) {                                                                         \
            j = 0;                                                                                 \
            rb += sH;                                                                              \
            if (++r == (rows)) {                                                                   \
                r = 0;                                                                             \
                rb = 0;                                                                            \
                w0 += LRN_FPGA_LINE;                                                               \
                cl0 += tile_step;                                                                  \
                if (w0 >= W) {                                                                     \
                    w0 = 0;                                                                        \
                    cl0 = cl_start;                                                                \
                    c += LRN_CT;                                                                   \
                    cb += ct_step;                                                                 \
                    if (c >= C) {                                                                  \
                        c = 0;                                                                     \
                        cb = 0;                                                                    \
                        nb += sN;                                                                  \
                    }                                                                              \
                }                                                                                  \
                cols = LRN_TILE_WIDTH(W, w0) + (extra);                                            \
            }                                                                                      \
            cin = w0 - (uint)(reach);                                                              \
            cl = cl0;                                                                              \
        }                                                                                          \
    } while (0)

/* Row sums along the horizontal register over the window's columns, in ascending order: of the
 * pre-scaled squares (the fma() chain of lrn_within.cl), and of the ratios. */
#define LRN_ROW_SQ(hx, out)                                                                        \
    do {                                                                                           \
        (out) = 0.0f;                                                                              \
        LRN_TAPS(lrn_p_, LRN_WIN, (out) = fma((hx)[lrn_p_], (hx)[lrn_p_], (out)));                 \
    } while (0)
#define LRN_ROW_RATIO_SUM(hr, out)                                                                 \
    do {                                                                                           \
        (out) = 0.0f;                                                                              \
        LRN_TAPS(lrn_p_, LRN_WIN, (out) += (hr)[lrn_p_]);                                          \
    } while (0)

/* Each plane, tile by tile: rows 0 .. H+hi-1 stream through; step (r, j) loads x(r, w0-lo+j)
 * into the horizontal shift register and, from j = WIN-1 on, forms the row sum of squares at
 * column w = w0 + j - (WIN-1), adds it to the column's line buffer and retires (r - hi, w). */
LRN_FPGA_KERNEL void lrn_fpga_within_fwd(__global const lrn_t *restrict x, __global lrn_t *restrict y,
                                         __global float *restrict scale, uint C, uint H, uint W, float sqrt_a,
                                         float k, float beta, ulong4 strides, ulong8 offs, ulong N) {
    LRN_DECLARE_STRIDES(C, H, W, strides);
    LRN_WITHIN_WALK(H + LRN_WIN_HI, LRN_WIN_LO, LRN_WIN - 1);
    const ulong out_back = (ulong)LRN_WIN_HI * sH + (ulong)LRN_WIN_HI * sW; /* (r, cin) to (r-hi, w) */
    __global const lrn_t *xp = x + offs.s0;
    __global lrn_t *yp = y ? y + offs.s1 : 0;
    __global float *sp = scale ? scale + offs.s2 : 0;
    /* per channel of the tile: the row's last WIN-1 columns (hb), the window's rows (lb) */
    float hx[LRN_WIN], col[LRN_WIN], hb[LRN_BANKS(LRN_WIN - 1)][LRN_CT];
    float lb[LRN_BANKS(LRN_WIN - 1)][LRN_FPGA_LINE * LRN_CT];
    LRN_FPGA_PIPELINE
    for (ulong i = 0; i < total; ++i) {
        const ulong plane = nb + cb + ccb;
        const uint in_c = c + cc < C;
        const float v = in_c && r < H && cin < W ? LRN_LOAD(xp, plane + rb + cl) : 0.0f;
        LRN_LINE_COLUMN(hb, LRN_WIN - 1, cc, j, v * sqrt_a, hx);
        if (j >= LRN_WIN - 1) {
            const uint at = j - (LRN_WIN - 1);
            float rs, sum;
            LRN_ROW_SQ(hx, rs);
            LRN_LINE_COLUMN(lb, LRN_WIN - 1, at * LRN_CT + cc, r, rs, col);
            if (in_c && r >= LRN_WIN_HI) {
                LRN_REG_SUM(col, LRN_WIN, sum);
                const float s = k + sum;
                const ulong o = plane + rb + cl - out_back;
                if (yp)
                    LRN_STORE(yp, o, LRN_LOAD(xp, o) * LRN_POW_NEG_BETA(s, beta));
                if (sp)
                    sp[o] = s;
            }
        }
        LRN_WITHIN_ADVANCE(H + LRN_WIN_HI, LRN_WIN_LO, LRN_WIN - 1);
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
    LRN_WITHIN_WALK(H + LRN_WIN_LO, LRN_WIN_HI, LRN_WIN - 1);
    const ulong out_back = (ulong)LRN_WIN_LO * sH + (ulong)LRN_WIN_LO * sW; /* (r, cin) to (r-lo, w) */
    __global const lrn_t *xp = x + offs.s0, *yp = y + offs.s1, *dyp = dy + offs.s3;
    __global const float *sp = scale + offs.s2;
    __global lrn_t *dxp = dx + offs.s4;
    float hr[LRN_WIN], col[LRN_WIN], hb[LRN_BANKS(LRN_WIN - 1)][LRN_CT];
    float lb[LRN_BANKS(LRN_WIN - 1)][LRN_FPGA_LINE * LRN_CT];
    LRN_FPGA_PIPELINE
    for (ulong i = 0; i < total; ++i) {
        const ulong plane = nb + cb + ccb;
        const uint in_c = c + cc < C;
        float ratio = 0.0f;
        if (in_c && r < H && cin < W) {
            const ulong o = plane + rb + cl;
            ratio = LRN_LOAD(dyp, o) * LRN_LOAD(yp, o) / sp[o];
        }
        LRN_LINE_COLUMN(hb, LRN_WIN - 1, cc, j, ratio, hr);
        if (j >= LRN_WIN - 1) {
            const uint at = j - (LRN_WIN - 1);
            float rs, acc;
            LRN_ROW_RATIO_SUM(hr, rs);
            LRN_LINE_COLUMN(lb, LRN_WIN - 1, at * LRN_CT + cc, r, rs, col);
            if (in_c && r >= LRN_WIN_LO) {
                LRN_REG_SUM(col, LRN_WIN, acc);
                const ulong o = plane + rb + cl - out_back;
                const float g = LRN_LOAD(dyp, o), xv = LRN_LOAD(xp, o);
                LRN_STORE(dxp, o, g * LRN_POW_NEG_BETA(sp[o], beta) - two_ab * xv * acc);
            }
        }
        LRN_WITHIN_ADVANCE(H + LRN_WIN_LO, LRN_WIN_HI, LRN_WIN - 1);
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
    LRN_WITHIN_WALK(H + LRN_WIN_LO + LRN_WIN_HI, LRN_WIN_LO + LRN_WIN_HI, 2 * (LRN_WIN - 1));
    /* (R, cin) to the ratio's (R - hi, cs = cin - hi) and to the output's (R-lo-hi, cin-lo-hi) */
    const ulong ratio_back = (ulong)LRN_WIN_HI * sH + (ulong)LRN_WIN_HI * sW;
    const ulong out_back = (ulong)(LRN_WIN_LO + LRN_WIN_HI) * sH + (ulong)(LRN_WIN_LO + LRN_WIN_HI) * sW;
    __global const lrn_t *xp = x + offs.s0, *yp = y + offs.s1, *dyp = dy + offs.s3;
    __global lrn_t *dxp = dx + offs.s4;
    /* per channel of the tile: the last WIN-1 columns of x and of the ratios (hbx, hbr); the
     * rows of squares' sums (per column cs), of ratio sums (per column w) and of the scale */
    float hx[LRN_WIN], hr[LRN_WIN], col[LRN_WIN];
    float hbx[LRN_BANKS(LRN_WIN - 1)][LRN_CT], hbr[LRN_BANKS(LRN_WIN - 1)][LRN_CT];
    float lbs[LRN_BANKS(LRN_WIN - 1)][(LRN_FPGA_LINE + LRN_WIN - 1) * LRN_CT];
    float lbr[LRN_BANKS(LRN_WIN - 1)][LRN_FPGA_LINE * LRN_CT];
    float sl[LRN_WIN_LO + 1][(LRN_FPGA_LINE + LRN_WIN - 1) * LRN_CT];
    LRN_FPGA_PIPELINE
    for (ulong i = 0; i < total; ++i) {
        const ulong plane = nb + cb + ccb;
        const uint in_c = c + cc < C;
        const float v = in_c && r < H && cin < W ? LRN_LOAD(xp, plane + rb + cl) : 0.0f;
        LRN_LINE_COLUMN(hbx, LRN_WIN - 1, cc, j, v * sqrt_a, hx);
        float ratio = 0.0f;
        if (j >= LRN_WIN - 1) {
            const uint at = (j - (LRN_WIN - 1)) * LRN_CT + cc, cs = cin - LRN_WIN_HI;
            float rs, sum;
            LRN_ROW_SQ(hx, rs);
            LRN_LINE_COLUMN(lbs, LRN_WIN - 1, at, r, rs, col);
            LRN_REG_SUM(col, LRN_WIN, sum);
            const float s = k + sum;
            LRN_TAPS(p, LRN_WIN_LO, sl[p][at] = sl[p + 1][at]);
            sl[LRN_WIN_LO][at] = s;
            if (in_c && r >= LRN_WIN_HI && r - LRN_WIN_HI < H && cs < W) {
                const ulong o = plane + rb + cl - ratio_back;
                ratio = LRN_LOAD(dyp, o) * LRN_LOAD(yp, o) / s;
            }
        }
        LRN_LINE_COLUMN(hbr, LRN_WIN - 1, cc, j, ratio, hr);
        if (j >= 2 * (LRN_WIN - 1)) {
            const uint at = j - 2 * (LRN_WIN - 1);
            float rr, acc;
            LRN_ROW_RATIO_SUM(hr, rr);
            LRN_LINE_COLUMN(lbr, LRN_WIN - 1, at * LRN_CT + cc, (long)r - LRN_WIN_HI, rr, col);
            if (in_c && r >= LRN_WIN_LO + LRN_WIN_HI) {
                LRN_REG_SUM(col, LRN_WIN, acc);
                const ulong o = plane + rb + cl - out_back;
                const float g = LRN_LOAD(dyp, o), xv = LRN_LOAD(xp, o);
                /* the scale at (R-hi-lo, w): column cs = w */
                const float s = sl[0][(at + LRN_WIN_HI) * LRN_CT + cc];
                LRN_STORE(dxp, o, g * LRN_POW_NEG_BETA(s, beta) - two_ab * xv * acc);
            }
        }
        LRN_WITHIN_ADVANCE(H + LRN_WIN_LO + LRN_WIN_HI, LRN_WIN_LO + LRN_WIN_HI, 2 * (LRN_WIN - 1));
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
