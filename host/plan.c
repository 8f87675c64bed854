/* plan.c: descriptor validation, reduction to canonical parameters, kernel choice and sizes. */
#include "internal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

void lrncl_desc_init(lrncl_desc *d, lrncl_mode mode) {
    if (!d)
        return;
    d->mode = mode;
    d->local_size = 5;
    d->alpha = 1.0f;
    d->beta = 0.75f;
    d->k = 1.0f;
    d->n = d->c = d->h = d->w = 0;
}

/* n*c*h*w, or 0 on a zero dimension or when the elements' bytes overflow size_t. */
static size_t count_elements(const lrncl_desc *d) {
    size_t dims[4] = {d->n, d->c, d->h, d->w};
    size_t count = 1;
    for (int i = 0; i < 4; ++i) {
        if (dims[i] == 0 || count > SIZE_MAX / dims[i])
            return 0;
        count *= dims[i];
    }
    return count > SIZE_MAX / sizeof(float) ? 0 : count;
}

size_t lrncl_desc_elements(const lrncl_desc *d) { return d ? count_elements(d) : 0; }

lrncl_status lrncl__canonicalize(const lrncl_desc *d, lrncl_canon *out, size_t *elements) {
    if (!d)
        return lrncl__fail(LRNCL_ERROR_NULL_ARGUMENT, "descriptor is NULL");
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
    if (d->local_size <= 0 || d->local_size % 2 == 0)
        return lrncl__fail(LRNCL_ERROR_INVALID_LOCAL_SIZE, "local_size %d: Caffe's LRN needs a positive "
                           "odd size", d->local_size);
    if (!isfinite(d->alpha) || d->alpha < 0.0f)
        return lrncl__fail(LRNCL_ERROR_INVALID_ALPHA, "alpha %g: must be finite and >= 0", (double)d->alpha);
    if (!isfinite(d->beta))
        return lrncl__fail(LRNCL_ERROR_INVALID_BETA, "beta %g: must be finite", (double)d->beta);
    if (!isfinite(d->k))
        return lrncl__fail(LRNCL_ERROR_INVALID_K, "k %g: must be finite", (double)d->k);

    double n = d->local_size;
    lrncl_canon c;
    c.mode = d->mode;
    c.lo = c.hi = (d->local_size - 1) / 2;
    c.beta = d->beta;
    if (d->mode == LRNCL_ACROSS_CHANNELS) {
        if (!(d->k > 0.0f))
            return lrncl__fail(LRNCL_ERROR_INVALID_K, "k %g: must be > 0, else the scale can be zero",
                               (double)d->k);
        c.a = d->alpha / n;
        c.k = d->k;
    } else {
        c.a = d->alpha / (n * n); /* Caffe: average pooling over n*n, padding counted */
        c.k = 1.0;                /* Caffe's power layer shifts by 1; k is not used */
    }
    if (out)
        *out = c;
    if (elements)
        *elements = count;
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

/* Work-group size along dimension 0: the smallest of 8..64 covering the extent (few distinct
 * sizes, since PoCL compiles a work-group function per local size), within the kernel's limit. */
static lrncl_status choose_local(const lrncl_plan *p, cl_kernel k, size_t extent, size_t *local) {
    size_t kmax = 0, dev_items[3] = {0, 0, 0};
    cl_int err = clGetKernelWorkGroupInfo(k, p->owner->dev, CL_KERNEL_WORK_GROUP_SIZE, sizeof kmax, &kmax, NULL);
    if (err != CL_SUCCESS)
        return lrncl__cl_fail(err, "clGetKernelWorkGroupInfo(CL_KERNEL_WORK_GROUP_SIZE)");
    err = clGetDeviceInfo(p->owner->dev, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof dev_items, dev_items, NULL);
    if (err != CL_SUCCESS)
        return lrncl__cl_fail(err, "clGetDeviceInfo(CL_DEVICE_MAX_WORK_ITEM_SIZES)");
    if (dev_items[0] && dev_items[0] < kmax)
        kmax = dev_items[0];
    size_t l = 8;
    while (l < 64 && l < extent)
        l *= 2;
    while (l > 1 && l > kmax)
        l /= 2;
    *local = l;
    return LRNCL_SUCCESS;
}

lrncl_status lrncl_plan_create(lrncl_context *c, const lrncl_desc *d, lrncl_plan **out) {
    lrncl__clear_error();
    if (!c || !out)
        return lrncl__fail(LRNCL_ERROR_NULL_ARGUMENT, "lrncl_plan_create: %s is NULL", !c ? "context" : "out");
    lrncl_canon canon;
    size_t elements;
    lrncl_status st = lrncl__canonicalize(d, &canon, &elements);
    if (st != LRNCL_SUCCESS)
        return st;

    if (d->c > UINT32_MAX || d->h > UINT32_MAX || d->w > UINT32_MAX)
        return lrncl__fail(LRNCL_ERROR_UNSUPPORTED, "shape %zux%zux%zux%zu: C, H and W must each be "
                           "below 2^32", d->n, d->c, d->h, d->w);

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
    p->variant.mode = canon.mode;
    p->variant.lo = canon.lo;
    p->variant.hi = canon.hi;
    p->variant.beta_path = beta_path_of(d->beta);
    p->variant.reg_window = canon.lo + canon.hi + 1 <= LRNCL_REG_WINDOW_MAX;

    cl_program prog = NULL;
    st = lrncl__program_get(c, &p->variant, &prog);
    if (st != LRNCL_SUCCESS)
        goto fail;
    static const char *names[2][LRNCL_K_COUNT] = {{"lrn_across_fwd", "lrn_across_bwd"},
                                                  {"lrn_within_fwd", "lrn_within_bwd"}};
    size_t extent = canon.mode == LRNCL_ACROSS_CHANNELS ? d->h * d->w : d->w;
    for (int i = 0; i < LRNCL_K_COUNT; ++i) {
        cl_int err;
        p->kernels[i] = clCreateKernel(prog, names[canon.mode == LRNCL_WITHIN_CHANNEL][i], &err);
        if (err != CL_SUCCESS) {
            st = lrncl__cl_fail(err, "clCreateKernel");
            goto fail;
        }
        st = choose_local(p, p->kernels[i], extent, &p->local[i]);
        if (st != LRNCL_SUCCESS)
            goto fail;
    }
    clReleaseProgram(prog); /* the kernels keep it alive */
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
    mtx_destroy(&p->lock);
    free(p);
}
