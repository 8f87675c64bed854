/* plan.c: descriptor validation, reduction to canonical parameters, kernel choice and sizes. */
#include "internal.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void lrncl_desc_init(lrncl_desc *d, lrncl_mode mode) {
    if (!d)
        return;
    memset(d, 0, sizeof *d);
    d->mode = mode;
    d->local_size = 5;
    d->alpha = 1.0f;
    d->beta = 0.75f;
    d->k = 1.0f;
    d->convention = LRNCL_CONVENTION_CAFFE;
    d->alpha_divisor = LRNCL_ALPHA_OVER_N;
    d->use_k = 1;
    d->dtype = LRNCL_FLOAT32;
    d->layout = LRNCL_LAYOUT_NCHW;
    d->struct_size = sizeof *d;
}

/* The sizes of lrncl_desc this library knows: only the current one (a later version that grows
 * the struct will accept the older sizes and default the fields past them). */
static int known_size(const lrncl_desc *d) { return d->struct_size == sizeof *d; }

lrncl_status lrncl__desc_check(const lrncl_desc *d) {
    if (!d)
        return lrncl__fail(LRNCL_ERROR_NULL_ARGUMENT, "descriptor is NULL");
    if (!known_size(d))
        return lrncl__fail(LRNCL_ERROR_INVALID_VALUE, "descriptor struct_size is %zu, not %zu: call "
                           "lrncl_desc_init before setting its fields", d->struct_size, sizeof *d);
    return LRNCL_SUCCESS;
}

/* a * b into *out; 0 on overflow. */
static int mul_ok(size_t a, size_t b, size_t *out) {
    if (b && a > SIZE_MAX / b)
        return 0;
    *out = a * b;
    return 1;
}

/* n*c*h*w, or 0 on a zero dimension or when the elements' bytes overflow size_t. */
static size_t count_elements(const lrncl_desc *d) {
    size_t dims[4] = {d->n, d->c, d->h, d->w};
    size_t count = 1;
    for (int i = 0; i < 4; ++i)
        if (dims[i] == 0 || !mul_ok(count, dims[i], &count))
            return 0;
    return count > SIZE_MAX / sizeof(float) ? 0 : count;
}

size_t lrncl_desc_elements(const lrncl_desc *d) { return d && known_size(d) ? count_elements(d) : 0; }

static const char *convention_name(lrncl_convention c) {
    static const char *names[] = {"caffe", "pytorch", "onnx", "tensorflow", "cudnn", "miopen", "onednn", "explicit"};
    return (unsigned)c < sizeof names / sizeof names[0] ? names[c] : "unknown";
}

lrncl_status lrncl__canonicalize(const lrncl_desc *d, lrncl_canon *out, size_t *elements) {
    lrncl_status st = lrncl__desc_check(d);
    if (st != LRNCL_SUCCESS)
        return st;
    if (d->mode != LRNCL_ACROSS_CHANNELS && d->mode != LRNCL_WITHIN_CHANNEL)
        return lrncl__fail(LRNCL_ERROR_INVALID_MODE, "mode %d is neither LRNCL_ACROSS_CHANNELS nor "
                           "LRNCL_WITHIN_CHANNEL", (int)d->mode);
    if (!d->n || !d->c || !d->h || !d->w)
        return lrncl__fail(LRNCL_ERROR_INVALID_SHAPE, "shape %zux%zux%zux%zu has a zero dimension",
                           d->n, d->c, d->h, d->w);
    size_t count = count_elements(d);
    if (!count)
        return lrncl__fail(LRNCL_ERROR_SHAPE_OVERFLOW, "shape %zux%zux%zux%zu: element count or bytes "
                           "overflow size_t", d->n, d->c, d->h, d->w);

    const int across = d->mode == LRNCL_ACROSS_CHANNELS, n = d->local_size;
    lrncl_convention conv = d->convention;
    if ((unsigned)conv > LRNCL_CONVENTION_EXPLICIT)
        return lrncl__fail(LRNCL_ERROR_INVALID_CONVENTION, "convention %d is not an lrncl_convention", (int)conv);
    if (!across && (conv == LRNCL_CONVENTION_PYTORCH || conv == LRNCL_CONVENTION_ONNX ||
                    conv == LRNCL_CONVENTION_TENSORFLOW || conv == LRNCL_CONVENTION_CUDNN))
        return lrncl__fail(LRNCL_ERROR_INVALID_CONVENTION, "the %s convention defines LRN across channels "
                           "only, not WITHIN_CHANNEL", convention_name(conv));

    /* Window, divisor of alpha (as a power of n) and whether k is used, per convention. */
    int lo, hi, div_pow = 1, use_k = 1;
    switch (conv) {
    case LRNCL_CONVENTION_CAFFE:
        if (n <= 0 || n % 2 == 0)
            return lrncl__fail(LRNCL_ERROR_INVALID_LOCAL_SIZE, "local_size %d: Caffe's LRN needs a positive "
                               "odd size", n);
        lo = hi = (n - 1) / 2;
        div_pow = across ? 1 : 2;
        use_k = across; /* within: Caffe's power layer shifts by 1 and ignores k */
        break;
    case LRNCL_CONVENTION_PYTORCH:
        if (n <= 0)
            return lrncl__fail(LRNCL_ERROR_INVALID_LOCAL_SIZE, "local_size %d: must be positive", n);
        lo = n / 2; /* PyTorch pads size/2 channels in front, (size-1)/2 behind */
        hi = (n - 1) / 2;
        break;
    case LRNCL_CONVENTION_ONNX:
    case LRNCL_CONVENTION_CUDNN:
    case LRNCL_CONVENTION_MIOPEN:
        if (n <= 0)
            return lrncl__fail(LRNCL_ERROR_INVALID_LOCAL_SIZE, "local_size %d: must be positive", n);
        lo = (n - 1) / 2;
        hi = n - 1 - lo;
        div_pow = across ? 1 : 2;
        break;
    case LRNCL_CONVENTION_TENSORFLOW:
        if (n < 0 || n > (INT_MAX - 1) / 2)
            return lrncl__fail(LRNCL_ERROR_INVALID_LOCAL_SIZE, "depth_radius %d: must be >= 0 (TensorFlow's "
                               "window is 2*depth_radius+1)", n);
        lo = hi = n;
        div_pow = 0;
        break;
    case LRNCL_CONVENTION_ONEDNN:
        if (n <= 0)
            return lrncl__fail(LRNCL_ERROR_INVALID_LOCAL_SIZE, "local_size %d: must be positive", n);
        lo = hi = (n - 1) / 2;
        div_pow = across ? 1 : 2;
        break;
    default: /* LRNCL_CONVENTION_EXPLICIT */
        if (d->window_lo < 0 || d->window_hi < 0 || d->window_lo > INT_MAX / 2 - 1 || d->window_hi > INT_MAX / 2 - 1)
            return lrncl__fail(LRNCL_ERROR_INVALID_LOCAL_SIZE, "explicit window lo %d, hi %d: each must be in "
                               "[0, 2^30)", d->window_lo, d->window_hi);
        if ((unsigned)d->alpha_divisor > LRNCL_ALPHA_OVER_N2)
            return lrncl__fail(LRNCL_ERROR_INVALID_CONVENTION, "alpha_divisor %d is not an lrncl_alpha_divisor",
                               (int)d->alpha_divisor);
        if (d->alpha_divisor != LRNCL_ALPHA_RAW && n <= 0)
            return lrncl__fail(LRNCL_ERROR_INVALID_LOCAL_SIZE, "local_size %d: alpha is divided by it, so it "
                               "must be positive", n);
        lo = d->window_lo;
        hi = d->window_hi;
        div_pow = (int)d->alpha_divisor;
        use_k = d->use_k != 0;
        break;
    }

    if (!isfinite(d->alpha) || d->alpha < 0.0f)
        return lrncl__fail(LRNCL_ERROR_INVALID_ALPHA, "alpha %g: must be finite and >= 0", (double)d->alpha);
    if (!isfinite(d->beta))
        return lrncl__fail(LRNCL_ERROR_INVALID_BETA, "beta %g: must be finite", (double)d->beta);
    if (!isfinite(d->k))
        return lrncl__fail(LRNCL_ERROR_INVALID_K, "k %g: must be finite", (double)d->k);
    if (use_k) {
        /* Each framework's own lower bound on k (docs/conventions.md): Caffe's LRNLayer takes only
         * k > 0; cuDNN refuses lrnK below CUDNN_LRN_MIN_K (1e-5, compared here in float, so that
         * 1e-5f passes); PyTorch, ONNX, TensorFlow, MIOpen, oneDNN and explicit windows accept
         * k = 0, where a window of zeros gives 0/0 = NaN, as PyTorch does. A negative k is refused
         * everywhere: the scale could be negative or zero with a non-zero window. */
        if (conv == LRNCL_CONVENTION_CAFFE && !(d->k > 0.0f))
            return lrncl__fail(LRNCL_ERROR_INVALID_K, "k %g: Caffe's LRN needs k > 0", (double)d->k);
        if (conv == LRNCL_CONVENTION_CUDNN && !(d->k >= 1e-5f))
            return lrncl__fail(LRNCL_ERROR_INVALID_K, "k %g: cuDNN needs k >= CUDNN_LRN_MIN_K (1e-5)", (double)d->k);
        if (!(d->k >= 0.0f))
            return lrncl__fail(LRNCL_ERROR_INVALID_K, "k %g: must be >= 0 (the %s convention)", (double)d->k,
                               convention_name(conv));
        if (d->k == 0.0f && d->beta == 0.0f)
            return lrncl__fail(LRNCL_ERROR_INVALID_BETA, "beta 0 with k 0: a window of zeros would need 0^0 (lrncl "
                               "refuses it; PyTorch takes 0^0 = 1)");
    }

    lrncl_canon c;
    c.mode = d->mode;
    c.lo = lo;
    c.hi = hi;
    c.a = d->alpha / pow((double)n, div_pow);
    c.k = use_k ? d->k : 1.0;
    c.beta = d->beta;
    if (out)
        *out = c;
    if (elements)
        *elements = count;
    return LRNCL_SUCCESS;
}

lrncl_status lrncl__geometry(const lrncl_desc *d, lrncl_geometry *g) {
    if ((unsigned)d->dtype > LRNCL_FLOAT16)
        return lrncl__fail(LRNCL_ERROR_INVALID_LAYOUT, "dtype %d is not an lrncl_dtype", (int)d->dtype);
    g->elem_size = d->dtype == LRNCL_FLOAT16 ? 2 : 4;
    const size_t dims[4] = {d->n, d->c, d->h, d->w};
    size_t *st = g->stride;
    switch (d->layout) {
    case LRNCL_LAYOUT_NCHW:
        st[3] = 1, st[2] = d->w, st[1] = d->h * d->w, st[0] = d->c * st[1];
        break;
    case LRNCL_LAYOUT_NHWC:
        st[1] = 1, st[3] = d->c, st[2] = d->w * d->c, st[0] = d->h * st[2];
        break;
    case LRNCL_LAYOUT_STRIDED:
        st[0] = d->stride_n, st[1] = d->stride_c, st[2] = d->stride_h, st[3] = d->stride_w;
        break;
    default:
        return lrncl__fail(LRNCL_ERROR_INVALID_LAYOUT, "layout %d is not an lrncl_layout", (int)d->layout);
    }
    /* Span = 1 + SUM (dim-1)*stride; views whose positions collide are refused: taken in order of
     * increasing stride, each stride must pass the largest index reachable by the ones before. */
    int order[4] = {0, 1, 2, 3};
    for (int i = 1; i < 4; ++i)
        for (int j = i; j > 0 && st[order[j]] < st[order[j - 1]]; --j) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    size_t reach = 0; /* largest index reachable by the dims seen so far */
    for (int i = 0; i < 4; ++i) {
        int a = order[i];
        if (dims[a] == 1)
            continue;
        if (st[a] <= reach)
            return lrncl__fail(LRNCL_ERROR_INVALID_LAYOUT, "strides n %zu, c %zu, h %zu, w %zu overlap for shape "
                               "%zux%zux%zux%zu: two positions would share an element",
                               st[0], st[1], st[2], st[3], dims[0], dims[1], dims[2], dims[3]);
        size_t ext;
        if (!mul_ok(dims[a] - 1, st[a], &ext) || ext > SIZE_MAX - reach)
            return lrncl__fail(LRNCL_ERROR_SHAPE_OVERFLOW, "the view's extent overflows size_t");
        reach += ext;
    }
    if (reach >= SIZE_MAX / g->elem_size)
        return lrncl__fail(LRNCL_ERROR_SHAPE_OVERFLOW, "the view's extent in bytes overflows size_t");
    g->span = reach + 1;
    return LRNCL_SUCCESS;
}

size_t lrncl_desc_span(const lrncl_desc *d) {
    lrncl_geometry g;
    if (!d || !known_size(d) || !count_elements(d))
        return 0;
    return lrncl__geometry(d, &g) == LRNCL_SUCCESS ? g.span : 0;
}

size_t lrncl_desc_bytes(const lrncl_desc *d, lrncl_tensor t) {
    lrncl_geometry g;
    if ((unsigned)t > LRNCL_TENSOR_DX || !d || !known_size(d) || !count_elements(d) ||
        lrncl__geometry(d, &g) != LRNCL_SUCCESS)
        return 0;
    const size_t es = t == LRNCL_TENSOR_SCALE ? sizeof(float) : g.elem_size;
    return g.span > SIZE_MAX / es ? 0 : g.span * es; /* a float16 view's float32 scale may overflow */
}

lrncl_status lrncl_desc_set_shape_nd(lrncl_desc *d, size_t n, size_t c, int rank, const size_t *dims) {
    lrncl__clear_error();
    if (!d || (rank > 0 && !dims))
        return lrncl__fail(LRNCL_ERROR_NULL_ARGUMENT, "lrncl_desc_set_shape_nd: %s is NULL", !d ? "d" : "dims");
    lrncl_status st = lrncl__desc_check(d);
    if (st != LRNCL_SUCCESS)
        return st;
    if (rank < 0)
        return lrncl__fail(LRNCL_ERROR_INVALID_SHAPE, "lrncl_desc_set_shape_nd: rank %d < 0", rank);
    size_t h = 1;
    for (int i = 0; i + 1 < rank; ++i)
        if (!mul_ok(h, dims[i], &h))
            return lrncl__fail(LRNCL_ERROR_SHAPE_OVERFLOW, "lrncl_desc_set_shape_nd: spatial size overflows");
    d->n = n;
    d->c = c;
    d->h = h;
    d->w = rank > 0 ? dims[rank - 1] : 1;
    return LRNCL_SUCCESS;
}

static lrncl_beta_path beta_path_of(float beta) {
    if (beta == 0.75f)
        return LRNCL_BETA_075;
    if (beta == 0.5f)
        return LRNCL_BETA_05;
    if (beta == 1.0f)
        return LRNCL_BETA_1;
    return LRNCL_BETA_GENERAL;
}

/* CPUs (PoCL) vectorise poorly across work-items that each loop over channels or rows, so each
 * work-item carries vectors of 8 elements adjacent in memory; GPUs coalesce scalar work-items.
 * NCHW: 8 adjacent positions (h*w across, w within). NHWC with a register window: 8 adjacent
 * channels (across: the kernel's box sum then runs along memory; within: each tap of a row sum
 * is one contiguous vector); wider NHWC windows keep scalar work-items. */
static int choose_vector_width(int cpu, const lrncl_variant *v) {
    int vec_ok = v->layout == LRNCL_LAYOUT_NCHW || (v->layout == LRNCL_LAYOUT_NHWC && v->reg_window);
    return cpu && vec_ok ? 8 : 1;
}

/* GPUs run NHWC one work-item per element (lrn_elementwise.cl): the column walks would put
 * neighbouring work-items C elements apart, and their loads would not coalesce. */
static int choose_elementwise(const lrncl_variant *v) {
    return v->layout == LRNCL_LAYOUT_NHWC && v->vw == 1;
}

/* The FPGA kernels (lrn_fpga.cl): one work-item, scalar, the window a build-time shift register.
 * A window wider than LRNCL_FPGA_WINDOW_MAX is clamped to the axis it slides along (channels
 * across; rows and columns within), which changes no result; one still wider is refused. */
static lrncl_status fpga_variant(const lrncl_desc *d, const lrncl_canon *canon, lrncl_variant *v) {
    v->family = LRNCL_FAMILY_FPGA;
    v->vw = 1;
    v->ew = 0;
    if ((long long)v->lo + v->hi + 1 > LRNCL_FPGA_WINDOW_MAX) {
        size_t axis = v->mode == LRNCL_ACROSS_CHANNELS ? d->c : (d->h > d->w ? d->h : d->w);
        if ((size_t)v->lo > axis - 1)
            v->lo = (int)(axis - 1);
        if ((size_t)v->hi > axis - 1)
            v->hi = (int)(axis - 1);
        if (v->lo + v->hi + 1 > LRNCL_FPGA_WINDOW_MAX)
            return lrncl__fail(LRNCL_ERROR_UNSUPPORTED, "window lo %d, hi %d: the FPGA kernels hold at most %d taps "
                               "in their shift register (%d here, even clamped to the %s extent %zu)",
                               canon->lo, canon->hi, LRNCL_FPGA_WINDOW_MAX, v->lo + v->hi + 1,
                               v->mode == LRNCL_ACROSS_CHANNELS ? "channel" : "plane", axis);
    }
    return LRNCL_SUCCESS;
}

/* The plan's variant for d (canon from lrncl__canonicalize) on c: what the kernels compile in. */
static lrncl_status choose_variant(const lrncl_context *c, const lrncl_desc *d, const lrncl_canon *canon,
                                   lrncl_variant *v, lrncl_device_class *cls) {
    memset(v, 0, sizeof *v);
    v->mode = canon->mode;
    v->lo = canon->lo;
    v->hi = canon->hi;
    v->beta_path = beta_path_of(d->beta);
    v->reg_window = canon->lo + canon->hi + 1 <= LRNCL_REG_WINDOW_MAX;
    v->dtype = d->dtype;
    v->layout = d->layout;
    lrncl_status st = lrncl__device_class(c, cls);
    if (st != LRNCL_SUCCESS)
        return st;
    if (*cls == LRNCL_CLASS_FPGA)
        return fpga_variant(d, canon, v);
    v->vw = choose_vector_width(*cls == LRNCL_CLASS_CPU, v);
    v->ew = choose_elementwise(v);
    return LRNCL_SUCCESS;
}

/* In-place forward on element-wise across plans needs the column walk (each x read before its
 * own y is written): a second program. */
static int needs_column_walk(const lrncl_variant *v) {
    return v->ew && v->mode == LRNCL_ACROSS_CHANNELS && v->reg_window;
}

/* Validation shared by lrncl_plan_create and lrncl__plan_variants. */
static lrncl_status validate(const lrncl_desc *d, lrncl_canon *canon, size_t *elements, lrncl_geometry *geom) {
    lrncl_status st = lrncl__canonicalize(d, canon, elements);
    if (st != LRNCL_SUCCESS)
        return st;
    st = lrncl__geometry(d, geom);
    if (st != LRNCL_SUCCESS)
        return st;
    /* The kernels take C, H and W as 32-bit arguments and index within one column or row in
     * 32 bits: slide blocks (C + block - 1) / block and c0 + block in uint, vector edge lanes
     * q + 0..7 in int, q at most W (or C) + 32. LRNCL_MAX_DIM keeps all of them exact; offsets
     * and strides are 64-bit throughout (docs/design.md, "Guarantees"). */
    if (d->c > LRNCL_MAX_DIM || d->h > LRNCL_MAX_DIM || d->w > LRNCL_MAX_DIM)
        return lrncl__fail(LRNCL_ERROR_UNSUPPORTED, "shape %zux%zux%zux%zu: %s %zu exceeds %lu, the largest C, H "
                           "or W the kernels index in 32 bits", d->n, d->c, d->h, d->w,
                           d->c > LRNCL_MAX_DIM ? "C" : d->h > LRNCL_MAX_DIM ? "H" : "W",
                           d->c > LRNCL_MAX_DIM ? d->c : d->h > LRNCL_MAX_DIM ? d->h : d->w,
                           (unsigned long)LRNCL_MAX_DIM);
    return LRNCL_SUCCESS;
}

lrncl_status lrncl__plan_variants(const lrncl_context *c, const lrncl_desc *d, lrncl_variant vars[2],
                                  size_t *count, lrncl_device_class *cls) {
    lrncl_canon canon;
    lrncl_geometry geom;
    size_t elements;
    lrncl_device_class is = LRNCL_CLASS_CPU;
    lrncl_status st = validate(d, &canon, &elements, &geom);
    if (st == LRNCL_SUCCESS)
        st = choose_variant(c, d, &canon, &vars[0], &is);
    if (st != LRNCL_SUCCESS)
        return st;
    *count = 1;
    if (needs_column_walk(&vars[0])) {
        vars[1] = vars[0];
        vars[1].ew = 0;
        *count = 2;
    }
    if (cls)
        *cls = is;
    return LRNCL_SUCCESS;
}

/* The plan's forward and backward kernels from prog, its variant's program. */
static lrncl_status make_kernels(lrncl_plan *p, cl_program prog) {
    static const char *names[5][LRNCL_K_COUNT] = {{"lrn_across_fwd", "lrn_across_bwd"},
                                                  {"lrn_within_fwd", "lrn_within_bwd"},
                                                  {"lrn_ew_fwd", "lrn_ew_bwd"},
                                                  {"lrn_fpga_across_fwd", "lrn_fpga_across_bwd"},
                                                  {"lrn_fpga_within_fwd", "lrn_fpga_within_bwd"}};
    const int within = p->canon.mode == LRNCL_WITHIN_CHANNEL;
    const int set = p->variant.family == LRNCL_FAMILY_FPGA ? 3 + within : p->variant.ew ? 2 : within;
    for (int i = 0; i < LRNCL_K_COUNT; ++i) {
        cl_int err;
        p->kernels[i] = clCreateKernel(prog, names[set][i], &err);
        if (err != CL_SUCCESS)
            return lrncl__cl_fail(err, "clCreateKernel");
    }
    return LRNCL_SUCCESS;
}

/* The in-place column walk of an element-wise plan, from prog (the column-walk variant's). */
static lrncl_status make_column_walk(lrncl_plan *p, cl_program prog) {
    cl_int err;
    p->inplace_fwd = clCreateKernel(prog, "lrn_across_fwd", &err);
    if (err != CL_SUCCESS)
        return lrncl__cl_fail(err, "clCreateKernel");
    size_t kmax = 1;
    lrncl_status st = lrncl__kernel_max_local(p, p->inplace_fwd, &kmax);
    if (st == LRNCL_SUCCESS)
        p->inplace_local = kmax >= 64 ? 64 : kmax;
    return st;
}

static void add_warm(const lrncl_plan *p, const lrncl_launch *l, int backward, lrncl_warm *out, size_t *n) {
    lrncl_warm w;
    memset(&w, 0, sizeof w);
    if (clGetKernelInfo(l->kernel, CL_KERNEL_FUNCTION_NAME, sizeof w.kernel, w.kernel, NULL) != CL_SUCCESS)
        return;
    w.kernel[sizeof w.kernel - 1] = '\0';
    w.work_dim = p->variant.family == LRNCL_FAMILY_FPGA ? 1 : 2;
    w.local[0] = l->local[0];
    w.local[1] = l->local[1];
    /* PoCL specialises a work-group function for grids whose widest dimension is small, so the
     * warm-up spans the plan's widest dimension; it runs along dimension 0, which the kernels
     * guard (positions past the 1x1x1x1 problem return at once), with dimension 1 one wide. */
    const size_t widest = l->global[0] > l->global[1] ? l->global[0] : l->global[1];
    w.global0 = (widest + l->local[0] - 1) / l->local[0] * l->local[0];
    w.backward = backward;
    w.fpga = p->variant.family == LRNCL_FAMILY_FPGA;
    for (size_t i = 0; i < *n; ++i) /* one launch per kernel and local size */
        if (!strcmp(out[i].kernel, w.kernel) && out[i].local[0] == w.local[0] && out[i].local[1] == w.local[1])
            return;
    if (*n < LRNCL_WARM_MAX)
        out[(*n)++] = w;
}

size_t lrncl__plan_warm_list(const lrncl_plan *p, size_t index, lrncl_warm out[LRNCL_WARM_MAX]) {
    size_t n = 0;
    lrncl_launch l;
    if (index == 0) {
        static const lrncl_kernel_kind kinds[] = {LRNCL_KERNEL_FORWARD, LRNCL_KERNEL_FORWARD_TRAINING,
                                                  LRNCL_KERNEL_BACKWARD};
        for (int i = 0; i < 3; ++i) {
            lrncl__launch_geometry(p, kinds[i], 0, &l);
            add_warm(p, &l, kinds[i] == LRNCL_KERNEL_BACKWARD, out, &n);
        }
    } else if (p->inplace_fwd) {
        lrncl__launch_geometry(p, LRNCL_KERNEL_FORWARD, 1, &l);
        add_warm(p, &l, 0, out, &n);
    }
    return n;
}

/* A program this plan's creation built from source goes to the context's disk cache writer,
 * with the launches that make its binary complete. */
static void hand_to_cache_writer(const lrncl_plan *p) {
    if (!p->owner->cache_dir)
        return;
    for (size_t i = 0; i < p->program_count; ++i) {
        if (p->programs[i].origin != LRNCL_PROGRAM_BUILT)
            continue;
        cl_kernel k = i == 0 ? p->kernels[0] : p->inplace_fwd;
        cl_program prog = NULL;
        if (clGetKernelInfo(k, CL_KERNEL_PROGRAM, sizeof prog, &prog, NULL) != CL_SUCCESS)
            continue;
        lrncl_variant v = p->variant;
        if (i == 1)
            v.ew = 0; /* the column walk */
        lrncl_warm w[LRNCL_WARM_MAX];
        size_t n = lrncl__plan_warm_list(p, i, w);
        lrncl__writer_add(p->owner, &v, prog, w, n);
    }
}

lrncl_status lrncl__plan_warm_list_for(lrncl_context *c, const lrncl_desc *d, size_t index, cl_program prog,
                                       lrncl_warm out[LRNCL_WARM_MAX], size_t *n) {
    lrncl_plan p;
    memset(&p, 0, sizeof p);
    *n = 0;
    lrncl_status st = validate(d, &p.canon, &p.elements, &p.geom);
    if (st == LRNCL_SUCCESS)
        st = choose_variant(c, d, &p.canon, &p.variant, &p.device_class);
    if (st != LRNCL_SUCCESS)
        return st;
    p.owner = c;
    p.desc = *d;
    p.cpu = p.device_class == LRNCL_CLASS_CPU;
    for (int i = 0; i < LRNCL_T_COUNT; ++i) /* until lrncl__tuning_init (the column walk has none) */
        p.tuning[i].local_size = p.tuning[i].slide_block = 1;
    st = index == 0 ? make_kernels(&p, prog) : make_column_walk(&p, prog);
    if (st == LRNCL_SUCCESS && index == 0)
        st = lrncl__tuning_init(&p);
    if (st == LRNCL_SUCCESS)
        *n = lrncl__plan_warm_list(&p, index, out);
    for (int i = 0; i < LRNCL_K_COUNT; ++i)
        if (p.kernels[i])
            clReleaseKernel(p.kernels[i]);
    if (p.inplace_fwd)
        clReleaseKernel(p.inplace_fwd);
    return st;
}

lrncl_status lrncl_plan_create(lrncl_context *c, const lrncl_desc *d, lrncl_plan **out) {
    lrncl__clear_error();
    if (!c || !out)
        return lrncl__fail(LRNCL_ERROR_NULL_ARGUMENT, "lrncl_plan_create: %s is NULL", !c ? "context" : "out");
    lrncl_canon canon;
    size_t elements;
    lrncl_geometry geom;
    lrncl_status st = validate(d, &canon, &elements, &geom);
    if (st != LRNCL_SUCCESS)
        return st;

    lrncl_plan *p = calloc(1, sizeof *p);
    if (!p)
        return lrncl__fail(LRNCL_ERROR_OUT_OF_HOST_MEMORY, "lrncl_plan_create: no memory");
    if (mtx_init(&p->lock, mtx_plain) != thrd_success) {
        free(p);
        return lrncl__fail(LRNCL_ERROR_OUT_OF_HOST_MEMORY, "lrncl_plan_create: mtx_init failed");
    }
    p->owner = c;
    p->desc = *d;
    p->canon = canon;
    p->elements = elements;
    p->geom = geom;
    cl_program prog = NULL;
    st = choose_variant(c, d, &canon, &p->variant, &p->device_class);
    if (st != LRNCL_SUCCESS)
        goto fail;
    p->cpu = p->device_class == LRNCL_CLASS_CPU;
    st = lrncl__program_get(c, &p->variant, d, &prog, &p->programs[0]);
    if (st != LRNCL_SUCCESS)
        goto fail;
    p->program_count = 1;
    st = make_kernels(p, prog);
    if (st != LRNCL_SUCCESS)
        goto fail;
    clReleaseProgram(prog); /* the kernels keep it alive */
    prog = NULL;
    /* In-place forward needs the column walk (each x read before its own y is written). */
    if (needs_column_walk(&p->variant)) {
        lrncl_variant column = p->variant;
        column.ew = 0;
        st = lrncl__program_get(c, &column, d, &prog, &p->programs[1]);
        if (st != LRNCL_SUCCESS)
            goto fail;
        p->program_count = 2;
        st = make_column_walk(p, prog);
        if (st != LRNCL_SUCCESS)
            goto fail;
        clReleaseProgram(prog);
        prog = NULL;
    }
    st = lrncl__tuning_init(p);
    if (st != LRNCL_SUCCESS)
        goto fail;
    hand_to_cache_writer(p);
    *out = p;
    return LRNCL_SUCCESS;

fail:
    if (prog)
        clReleaseProgram(prog);
    lrncl_plan_release(p);
    return st;
}

void lrncl_plan_release(lrncl_plan *p) {
    if (!p)
        return;
    for (int i = 0; i < LRNCL_K_COUNT; ++i)
        if (p->kernels[i])
            clReleaseKernel(p->kernels[i]);
    if (p->inplace_fwd)
        clReleaseKernel(p->inplace_fwd);
    mtx_destroy(&p->lock);
    free(p);
}

/* ---- launch geometry and introspection ---------------------------------------------------- */

lrncl_status lrncl_plan_kernel_info(const lrncl_plan *p, lrncl_kernel_kind which, int in_place,
                                    lrncl_kernel_info *out) {
    lrncl__clear_error();
    if (!p || !out)
        return lrncl__fail(LRNCL_ERROR_NULL_ARGUMENT, "lrncl_plan_kernel_info: %s is NULL", !p ? "plan" : "out");
    if ((unsigned)which >= LRNCL_T_COUNT)
        return lrncl__fail(LRNCL_ERROR_UNSUPPORTED, "lrncl_plan_kernel_info: kind %d is not an lrncl_kernel_kind",
                           (int)which);
    if (in_place && (which == LRNCL_KERNEL_BACKWARD || p->canon.mode != LRNCL_ACROSS_CHANNELS ||
                     !p->variant.reg_window))
        return lrncl__fail(LRNCL_ERROR_UNSUPPORTED, "lrncl_plan_kernel_info: this plan has no in-place %s",
                           which == LRNCL_KERNEL_BACKWARD ? "backward" : "forward");
    lrncl_launch l;
    memset(out, 0, sizeof *out);
    mtx_lock((mtx_t *)&p->lock);
    lrncl__launch_geometry(p, which, in_place != 0, &l);
    out->tuning = p->tuning[which];
    out->source = p->tuning_source[which];
    mtx_unlock((mtx_t *)&p->lock);
    memcpy(out->global, l.global, sizeof l.global);
    memcpy(out->local, l.local, sizeof l.local);
    out->slide_block = l.block;
    cl_int err = clGetKernelInfo(l.kernel, CL_KERNEL_FUNCTION_NAME, sizeof out->name, out->name, NULL);
    if (err != CL_SUCCESS)
        return lrncl__cl_fail(err, "clGetKernelInfo(CL_KERNEL_FUNCTION_NAME)");
    return LRNCL_SUCCESS;
}

size_t lrncl_plan_program_count(const lrncl_plan *p) { return p ? p->program_count : 0; }

lrncl_status lrncl_plan_program_info(const lrncl_plan *p, size_t index, lrncl_program_info *out) {
    lrncl__clear_error();
    if (!p || !out)
        return lrncl__fail(LRNCL_ERROR_NULL_ARGUMENT, "lrncl_plan_program_info: %s is NULL", !p ? "plan" : "out");
    if (index >= p->program_count)
        return lrncl__fail(LRNCL_ERROR_UNSUPPORTED, "lrncl_plan_program_info: index %zu, but the plan has %zu "
                           "program(s)", index, p->program_count);
    *out = p->programs[index];
    return LRNCL_SUCCESS;
}

const char *lrncl_plan_device_class(const lrncl_plan *p) {
    static const char *const names[] = {"cpu", "gpu", "fpga"};
    return !p ? "" : names[p->device_class];
}
