/* launch.c: the work-item grid of a plan's kernels: the extent of each dimension, the axis
 * each work-item slides along, and the one home of the sizes runs enqueue with (what
 * lrncl_plan_kernel_info reports). Below plan.c, tuning.c and run.c; reads a plan's fields and
 * calls nothing of lrncl's. */
#include "internal.h"

/* Whether the variant runs its vector along the channels: NHWC with the window in registers
 * (across: one work-item per position walks its channels LRN_VW at a time; within: one
 * work-item per (n, column, group of LRN_VW channels) slides down the rows). */
static int vector_along_channels(const lrncl_variant *v) {
    return v->vw > 1 && v->layout == LRNCL_LAYOUT_NHWC;
}

int lrncl__vector_along_channels(const lrncl_plan *p) {
    return vector_along_channels(&p->variant);
}

size_t lrncl__dim0_extent(const lrncl_plan *p) {
    const lrncl_desc *d = &p->desc;
    if (p->variant.ew)
        return d->h * d->w * d->c; /* every element of an image; dimension 1 is n */
    size_t extent = p->canon.mode == LRNCL_WITHIN_CHANNEL ? d->w : d->h * d->w;
    if (vector_along_channels(&p->variant)) {
        if (p->canon.mode == LRNCL_ACROSS_CHANNELS)
            return extent; /* one work-item per h*w position; the vector walks its channels */
        /* within: one work-item per (pair of columns, group of vw channels), the groups fastest;
         * the pair is LRN_NHWC_COLS in lrn_within.cl */
        return (d->c + (size_t)p->variant.vw - 1) / (size_t)p->variant.vw * ((extent + 1) / 2);
    }
    return (extent + (size_t)p->variant.vw - 1) / (size_t)p->variant.vw;
}

size_t lrncl__dim1_outer(const lrncl_plan *p) {
    const lrncl_desc *d = &p->desc;
    int per_image = p->canon.mode == LRNCL_ACROSS_CHANNELS || vector_along_channels(&p->variant) || p->variant.ew;
    return per_image ? d->n : d->n * d->c;
}

size_t lrncl__slide_extent(const lrncl_plan *p) {
    return p->canon.mode == LRNCL_ACROSS_CHANNELS ? p->desc.c : p->desc.h;
}

/* Dimension 0 walks h*w (across) or w (within), each work-item slides along the remaining axis
 * (channels across, rows within); lrncl__dim0_extent divides by the vector width where the
 * vector runs along dimension 0 (not NHWC across, whose vector runs along the channels).
 * Dimension 1 is n (across) or the planes n*C (within), except NHWC within with vectors along
 * the channels: dimension 0 then walks (pair of columns, channel group) and dimension 1 is n.
 * The slide block is the tuning's, at most the whole axis; one block for in-place forward (a
 * block's window reads its neighbours' x, which they may have overwritten). */
void lrncl__launch_geometry(const lrncl_plan *p, lrncl_kernel_kind which, int in_place, lrncl_launch *o) {
    const size_t slide = lrncl__slide_extent(p), b = p->tuning[which].slide_block;
    const size_t extent = lrncl__dim0_extent(p), l = p->tuning[which].local_size;
    o->block = (cl_uint)(in_place || b > slide ? slide : b);
    o->kernel = p->kernels[LRNCL_KERNEL_OF(which)];
    if (p->variant.family == LRNCL_FAMILY_FPGA) { /* single work-item kernels, no blocks */
        o->block = (cl_uint)slide;
        o->global[0] = o->global[1] = o->local[0] = o->local[1] = 1;
        return;
    }
    o->global[0] = (extent + l - 1) / l * l;
    o->global[1] = lrncl__dim1_outer(p);
    if (!p->variant.ew)
        o->global[1] *= (slide + o->block - 1) / o->block; /* the blocks along the slide axis */
    o->local[0] = l;
    o->local[1] = 1;
    if (in_place && which != LRNCL_KERNEL_BACKWARD && p->inplace_fwd) {
        /* element-wise plan: the column walk, one scalar work-item per position, whole columns */
        const size_t hw = p->desc.h * p->desc.w, il = p->inplace_local;
        o->kernel = p->inplace_fwd;
        o->global[0] = (hw + il - 1) / il * il;
        o->global[1] = p->desc.n;
        o->local[0] = il;
    }
}

