/* run.c: lrncl_forward and lrncl_backward: argument checks, then kernel enqueues. */
#include "internal.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    const char *name;
    cl_mem mem;
    size_t offset;   /* elements */
    int required;
    size_t esize;    /* bytes per element: the dtype's, 4 for the scale (always float32) */
    size_t span;     /* elements the call may touch from offset on: the plan's span; the
                        workspace's size in floats (0 when the call needs none) */
} buffer_arg;

enum { ARG_X, ARG_Y, ARG_SCALE, ARG_DY, ARG_DX, ARG_COUNT };
enum { MAX_BUFFER_ARGS = ARG_COUNT + 1 }; /* the kernels' buffers and the workspace */

/* In-place forward is safe only where each x is read before its y is written and no other
 * work-item reads it: the across kernels that hold the window in registers (the NHWC vector
 * path too: one work-item owns a position's channels and delays each group's store until no
 * later group reads those channels). */
static int in_place_ok(const lrncl_plan *p) {
    return p->canon.mode == LRNCL_ACROSS_CHANNELS && p->variant.reg_window;
}

/* Where a buffer argument's bytes lie: sub-buffers resolve to their parent (OpenCL allows one
 * level), so two views overlap exactly when they share a root and their byte ranges meet. */
typedef struct {
    cl_mem root;
    size_t start, end; /* bytes in root: [start, end) */
} buffer_place;

/* The wait list: each entry must be an event of the plan's context. A NULL entry, an event of
 * another context, or something that is not an event (clGetEventInfo fails) is refused before
 * anything is enqueued: OpenCL implementations may accept them and then never start the run. */
static lrncl_status check_wait_list(const lrncl_plan *p, cl_uint num_wait, const cl_event *wait) {
    if ((num_wait > 0) != (wait != NULL))
        return lrncl__fail((lrncl_status)CL_INVALID_EVENT_WAIT_LIST, "num_wait is %u but wait is %s",
                           (unsigned)num_wait, wait ? "not NULL" : "NULL");
    for (cl_uint i = 0; i < num_wait; ++i) {
        if (!wait[i])
            return lrncl__fail((lrncl_status)CL_INVALID_EVENT_WAIT_LIST, "wait[%u] is NULL", (unsigned)i);
        cl_context ectx = NULL;
        cl_command_type type = 0;
        cl_int err = clGetEventInfo(wait[i], CL_EVENT_CONTEXT, sizeof ectx, &ectx, NULL);
        if (err == CL_SUCCESS)
            err = clGetEventInfo(wait[i], CL_EVENT_COMMAND_TYPE, sizeof type, &type, NULL);
        if (err != CL_SUCCESS)
            return lrncl__fail((lrncl_status)CL_INVALID_EVENT_WAIT_LIST, "wait[%u] is not a valid event "
                               "(clGetEventInfo returned %d)", (unsigned)i, (int)err);
        /* Every command type OpenCL and its extensions define is >= CL_COMMAND_NDRANGE_KERNEL
         * (0x11F0). Implementations that do not tag their objects (PoCL) answer for another kind
         * of object too; a buffer read as an event gave 0x1 there. */
        if (type < CL_COMMAND_NDRANGE_KERNEL)
            return lrncl__fail((lrncl_status)CL_INVALID_EVENT_WAIT_LIST, "wait[%u] is not an event (its command "
                               "type 0x%x is none OpenCL defines)", (unsigned)i, (unsigned)type);
        if (ectx != p->owner->ctx)
            return lrncl__fail(LRNCL_ERROR_CONTEXT_MISMATCH, "wait[%u] is an event of another context than the "
                               "plan's", (unsigned)i);
    }
    return LRNCL_SUCCESS;
}

/* Everything that can be checked before anything is enqueued. Outputs are bufs[first_output..].
 * *in_place is set when y is x's own view (same memory, same first byte), in-place forward. */
static lrncl_status check_call(const lrncl_plan *p, cl_command_queue q, const buffer_arg *bufs, int nbufs,
                               int first_output, cl_uint num_wait, const cl_event *wait, int *in_place) {
    *in_place = 0;
    if (!p || !q)
        return lrncl__fail(LRNCL_ERROR_NULL_ARGUMENT, "%s is NULL", !p ? "plan" : "command queue");
    for (int i = 0; i < nbufs; ++i)
        if (bufs[i].required && !bufs[i].mem)
            return lrncl__fail(LRNCL_ERROR_NULL_BUFFER, "buffer %s is NULL", bufs[i].name);
    lrncl_status st = check_wait_list(p, num_wait, wait);
    if (st != LRNCL_SUCCESS)
        return st;

    for (int i = 0; i < nbufs; ++i)
        if (bufs[i].mem && (bufs[i].offset > SIZE_MAX / bufs[i].esize - bufs[i].span))
            return lrncl__fail(LRNCL_ERROR_SHAPE_OVERFLOW, "offset of %s (%zu elements) overflows size_t",
                               bufs[i].name, bufs[i].offset);

    cl_context mctx[MAX_BUFFER_ARGS] = {NULL};
    size_t msize[MAX_BUFFER_ARGS] = {0};
    buffer_place at[MAX_BUFFER_ARGS];
    memset(at, 0, sizeof at);
    for (int i = 0; i < nbufs; ++i) {
        if (!bufs[i].mem)
            continue;
        cl_mem parent = NULL;
        size_t sub_offset = 0;
        cl_int err = clGetMemObjectInfo(bufs[i].mem, CL_MEM_CONTEXT, sizeof mctx[i], &mctx[i], NULL);
        if (err == CL_SUCCESS)
            err = clGetMemObjectInfo(bufs[i].mem, CL_MEM_SIZE, sizeof msize[i], &msize[i], NULL);
        if (err == CL_SUCCESS)
            err = clGetMemObjectInfo(bufs[i].mem, CL_MEM_ASSOCIATED_MEMOBJECT, sizeof parent, &parent, NULL);
        if (err == CL_SUCCESS && parent)
            err = clGetMemObjectInfo(bufs[i].mem, CL_MEM_OFFSET, sizeof sub_offset, &sub_offset, NULL);
        if (err != CL_SUCCESS)
            return lrncl__cl_fail(err, bufs[i].name);
        at[i].root = parent ? parent : bufs[i].mem;
        /* Saturating: a view that does not fit is refused by the size check below. */
        size_t first = bufs[i].offset * bufs[i].esize, bytes = bufs[i].span * bufs[i].esize;
        at[i].start = sub_offset > SIZE_MAX - first ? SIZE_MAX : sub_offset + first;
        at[i].end = at[i].start > SIZE_MAX - bytes ? SIZE_MAX : at[i].start + bytes;
    }

    for (int i = first_output; i < nbufs; ++i)
        for (int j = 0; j < nbufs; ++j) {
            const buffer_arg *o = &bufs[i], *b = &bufs[j];
            if (i == j || !o->mem || !b->mem || !o->span || !b->span || at[i].root != at[j].root)
                continue; /* an empty range (an unused workspace) overlaps nothing */
            if (at[i].start >= at[j].end || at[j].start >= at[i].end)
                continue; /* disjoint views of one memory object */
            const int y_on_x = !strcmp(o->name, "y") && !strcmp(b->name, "x");
            if (y_on_x && at[i].start == at[j].start && in_place_ok(p)) {
                *in_place = 1;
                continue;
            }
            return lrncl__fail(LRNCL_ERROR_ALIASED_BUFFERS, "output %s overlaps %s in the same %s%s", o->name,
                               b->name, o->mem == b->mem ? "buffer" : "memory (through a sub-buffer)",
                               y_on_x ? " (in-place forward needs ACROSS_CHANNELS, a window of at most 16 "
                                        "and the same first byte)" : "");
        }

    cl_context qctx = NULL;
    cl_device_id qdev = NULL;
    cl_int err = clGetCommandQueueInfo(q, CL_QUEUE_CONTEXT, sizeof qctx, &qctx, NULL);
    if (err == CL_SUCCESS)
        err = clGetCommandQueueInfo(q, CL_QUEUE_DEVICE, sizeof qdev, &qdev, NULL);
    if (err != CL_SUCCESS)
        return lrncl__cl_fail(err, "clGetCommandQueueInfo");
    if (qctx != p->owner->ctx || qdev != p->owner->dev)
        return lrncl__fail(LRNCL_ERROR_CONTEXT_MISMATCH, "the queue belongs to another %s than the plan",
                           qctx != p->owner->ctx ? "context" : "device");

    for (int i = 0; i < nbufs; ++i) {
        if (!bufs[i].mem)
            continue;
        size_t esize = bufs[i].esize, span = bufs[i].span, bytes = (bufs[i].offset + span) * esize;
        if (mctx[i] != p->owner->ctx)
            return lrncl__fail(LRNCL_ERROR_CONTEXT_MISMATCH, "buffer %s belongs to another context", bufs[i].name);
        if (msize[i] < bytes)
            return lrncl__fail(LRNCL_ERROR_BUFFER_TOO_SMALL, "buffer %s holds %zu bytes; the view needs %zu "
                               "(offset %zu + span %zu elements of %zu bytes)", bufs[i].name, msize[i], bytes,
                               bufs[i].offset, span, esize);
    }
    return LRNCL_SUCCESS;
}

/* Launch dimensions: 1 for the FPGA kernels (a global size of 1), else 2. */
static cl_uint work_dim(const lrncl_plan *p) { return p->variant.family == LRNCL_FAMILY_FPGA ? 1 : 2; }

/* The kernel's last argument: the slide block, or for the FPGA kernels (one work-item, no
 * blocks) the batch N, which the others take from the launch size. */
static cl_int set_last_arg(const lrncl_plan *p, cl_kernel k, cl_uint at, cl_uint block) {
    if (p->variant.family == LRNCL_FAMILY_FPGA) {
        cl_ulong n = p->desc.n;
        return clSetKernelArg(k, at, sizeof n, &n);
    }
    return clSetKernelArg(k, at, sizeof block, &block);
}

/* Arguments common to both kernels after the buffers: C, H, W, sqrt(a), k, beta; then, after
 * the kernel's own, the strides and the offsets of x, y, scale, dy, dx (elements). */
static cl_int set_view_args(const lrncl_plan *p, cl_kernel k, cl_uint at, const size_t offsets[ARG_COUNT]) {
    cl_ulong4 strides;
    cl_ulong8 offs;
    memset(&offs, 0, sizeof offs);
    for (int i = 0; i < 4; ++i)
        strides.s[i] = p->geom.stride[i];
    for (int i = 0; i < ARG_COUNT; ++i)
        offs.s[i] = offsets[i];
    cl_int err = clSetKernelArg(k, at, sizeof strides, &strides);
    return err == CL_SUCCESS ? clSetKernelArg(k, at + 1, sizeof offs, &offs) : err;
}

static cl_int set_shape_args(const lrncl_plan *p, cl_kernel k, cl_uint first) {
    cl_uint dims[3] = {(cl_uint)p->desc.c, (cl_uint)p->desc.h, (cl_uint)p->desc.w};
    cl_float sqrt_a = (cl_float)sqrt(p->canon.a), kk = (cl_float)p->canon.k, beta = (cl_float)p->canon.beta;
    cl_int err = CL_SUCCESS;
    for (int i = 0; i < 3 && err == CL_SUCCESS; ++i)
        err = clSetKernelArg(k, first + (cl_uint)i, sizeof(cl_uint), &dims[i]);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(k, first + 3, sizeof sqrt_a, &sqrt_a);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(k, first + 4, sizeof kk, &kk);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(k, first + 5, sizeof beta, &beta);
    return err;
}

static cl_int set_mem_args(cl_kernel k, const cl_mem *mems, int n) {
    cl_int err = CL_SUCCESS;
    for (int i = 0; i < n && err == CL_SUCCESS; ++i)
        err = clSetKernelArg(k, (cl_uint)i, sizeof(cl_mem), &mems[i]);
    return err;
}

/* Forward kernel: y and scale may each be NULL (then not written); in_place: y is x's own view
 * (check_call). Caller holds p->lock. */
static lrncl_status enqueue_forward(lrncl_plan *p, cl_command_queue q, cl_mem x, cl_mem y, cl_mem scale,
                                    const size_t offsets[ARG_COUNT], int in_place, cl_uint num_wait,
                                    const cl_event *wait, cl_event *done) {
    lrncl_status st = LRNCL_SUCCESS;
    cl_mem mems[3] = {x, y, scale};
    const lrncl_kernel_kind kind = y && scale ? LRNCL_KERNEL_FORWARD_TRAINING : LRNCL_KERNEL_FORWARD;
    lrncl_launch l;
    lrncl__launch_geometry(p, kind, in_place, &l);
    cl_kernel k = l.kernel;
    LRNCL_CL_CHECK(set_mem_args(k, mems, 3), st, out);
    LRNCL_CL_CHECK(set_shape_args(p, k, 3), st, out);
    LRNCL_CL_CHECK(set_view_args(p, k, 9, offsets), st, out);
    LRNCL_CL_CHECK(set_last_arg(p, k, 11, l.block), st, out);
    LRNCL_CL_CHECK(clEnqueueNDRangeKernel(q, k, work_dim(p), NULL, l.global, l.local, num_wait, wait, done), st, out);
out:
    return st;
}

lrncl_status lrncl_forward(lrncl_plan *p, cl_command_queue q, cl_mem x, cl_mem y, cl_mem scale,
                           cl_uint num_wait, const cl_event *wait, cl_event *done) {
    if (!p) {
        lrncl__clear_error();
        return lrncl__fail(LRNCL_ERROR_NULL_ARGUMENT, "plan is NULL");
    }
    const lrncl_desc *d = &p->desc;
    return lrncl_forward_at(p, q, x, d->offset_x, y, d->offset_y, scale, d->offset_scale, num_wait, wait, done);
}

lrncl_status lrncl_forward_at(lrncl_plan *p, cl_command_queue q, cl_mem x, size_t x_offset, cl_mem y,
                              size_t y_offset, cl_mem scale, size_t scale_offset, cl_uint num_wait,
                              const cl_event *wait, cl_event *done) {
    lrncl__clear_error();
    if (!p)
        return lrncl__fail(LRNCL_ERROR_NULL_ARGUMENT, "plan is NULL");
    const size_t es = p->geom.elem_size, span = p->geom.span;
    buffer_arg bufs[] = {{"x", x, x_offset, 1, es, span}, {"y", y, y_offset, 1, es, span},
                         {"scale", scale, scale_offset, 0, sizeof(float), span}};
    int in_place = 0;
    lrncl_status st = check_call(p, q, bufs, 3, 1, num_wait, wait, &in_place);
    if (st != LRNCL_SUCCESS)
        return st;
    const size_t offsets[ARG_COUNT] = {x_offset, y_offset, scale_offset, 0, 0};
    mtx_lock(&p->lock);
    st = enqueue_forward(p, q, x, y, scale, offsets, in_place, num_wait, wait, done);
    mtx_unlock(&p->lock);
    return st;
}

lrncl_status lrncl_backward(lrncl_plan *p, cl_command_queue q, cl_mem x, cl_mem y, cl_mem dy,
                            cl_mem scale, cl_mem dx, cl_uint num_wait, const cl_event *wait, cl_event *done) {
    return lrncl_backward_ws(p, q, x, y, dy, scale, dx, NULL, 0, num_wait, wait, done);
}

lrncl_status lrncl_backward_ws(lrncl_plan *p, cl_command_queue q, cl_mem x, cl_mem y, cl_mem dy, cl_mem scale,
                               cl_mem dx, cl_mem workspace, size_t workspace_offset, cl_uint num_wait,
                               const cl_event *wait, cl_event *done) {
    if (!p) {
        lrncl__clear_error();
        return lrncl__fail(LRNCL_ERROR_NULL_ARGUMENT, "plan is NULL");
    }
    const lrncl_desc *d = &p->desc;
    return lrncl_backward_at(p, q, x, d->offset_x, y, d->offset_y, dy, d->offset_dy, scale, d->offset_scale, dx,
                             d->offset_dx, workspace, workspace_offset, num_wait, wait, done);
}

lrncl_status lrncl_backward_at(lrncl_plan *p, cl_command_queue q, cl_mem x, size_t x_offset, cl_mem y,
                               size_t y_offset, cl_mem dy, size_t dy_offset, cl_mem scale, size_t scale_offset,
                               cl_mem dx, size_t dx_offset, cl_mem workspace, size_t workspace_offset,
                               cl_uint num_wait, const cl_event *wait, cl_event *done) {
    lrncl__clear_error();
    if (!p)
        return lrncl__fail(LRNCL_ERROR_NULL_ARGUMENT, "plan is NULL");
    const size_t es = p->geom.elem_size, span = p->geom.span;
    const int scale_pass = !scale && lrncl__backward_scale_pass(p);
    /* The workspace is written (an output): checked for its context, its size from the offset on
     * and overlap with every other argument, over what this call writes to it (nothing when the
     * call needs no workspace). */
    buffer_arg bufs[] = {{"x", x, x_offset, 1, es, span}, {"y", y, y_offset, 1, es, span},
                         {"dy", dy, dy_offset, 1, es, span}, {"scale", scale, scale_offset, 0, sizeof(float), span},
                         {"dx", dx, dx_offset, 1, es, span},
                         {"workspace", workspace, workspace_offset, 0, sizeof(float), scale_pass ? span : 0}};
    int in_place = 0; /* backward has no in-place form: any overlap of dx is refused */
    lrncl_status st = check_call(p, q, bufs, 6, 4, num_wait, wait, &in_place);
    if (st != LRNCL_SUCCESS)
        return st;
    size_t offsets[ARG_COUNT] = {x_offset, y_offset, scale_offset, dy_offset, dx_offset};

    cl_mem tmp_scale = NULL;
    cl_event scale_done = NULL;
    mtx_lock(&p->lock);
    /* Without a scale, some paths run a forward pass into a workspace first (workspace.c): the
     * caller's, else a temporary buffer. */
    if (scale_pass) {
        if (workspace) {
            offsets[ARG_SCALE] = workspace_offset;
            scale = workspace;
        } else {
            cl_int err;
            tmp_scale = clCreateBuffer(p->owner->ctx, CL_MEM_READ_WRITE, span * sizeof(float), NULL, &err);
            LRNCL_CL_CHECK(err, st, out);
            offsets[ARG_SCALE] = 0;
            scale = tmp_scale;
        }
        st = enqueue_forward(p, q, x, NULL, scale, offsets, 0, num_wait, wait, &scale_done);
        if (st != LRNCL_SUCCESS)
            goto out;
        num_wait = 1;
        wait = &scale_done;
    }
    cl_mem mems[5] = {x, y, dy, scale, dx};
    cl_float two_ab = (cl_float)(2.0 * p->canon.a * p->canon.beta);
    lrncl_launch l;
    lrncl__launch_geometry(p, LRNCL_KERNEL_BACKWARD, 0, &l);
    cl_kernel k = l.kernel;
    LRNCL_CL_CHECK(set_mem_args(k, mems, 5), st, out);
    LRNCL_CL_CHECK(set_shape_args(p, k, 5), st, out);
    LRNCL_CL_CHECK(clSetKernelArg(k, 11, sizeof two_ab, &two_ab), st, out);
    LRNCL_CL_CHECK(set_view_args(p, k, 12, offsets), st, out);
    LRNCL_CL_CHECK(set_last_arg(p, k, 14, l.block), st, out);
    LRNCL_CL_CHECK(clEnqueueNDRangeKernel(q, k, work_dim(p), NULL, l.global, l.local, num_wait, wait, done), st, out);
out:
    mtx_unlock(&p->lock);
    /* OpenCL frees the buffer only after the enqueued kernels that use it have finished. */
    if (tmp_scale)
        clReleaseMemObject(tmp_scale);
    if (scale_done)
        clReleaseEvent(scale_done);
    return st;
}
