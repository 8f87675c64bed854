/* workspace.c: the device scratch memory a call may need, so callers can see and supply it. */
#include "internal.h"

/* The within-channel backward reads the scale at its neighbours. Without one given, the NCHW
 * and strided kernels with the window in registers recompute it in the same pass, except scalar
 * work-items on a CPU (the strided layout): those would form WIN row sums per row instead of
 * one, as the NHWC kernels would, which measured 2x slower than two passes. The others get the
 * scale from a forward pass into a workspace of the scale's size. The FPGA kernels always
 * recompute it in the same pass. */
int lrncl__backward_scale_pass(const lrncl_plan *p) {
    const int fused = p->canon.mode != LRNCL_WITHIN_CHANNEL || p->variant.family == LRNCL_FAMILY_FPGA ||
                      (p->variant.reg_window && p->desc.layout != LRNCL_LAYOUT_NHWC &&
                       (p->variant.vw > 1 || !p->cpu));
    return !fused;
}

size_t lrncl__workspace_floats(const lrncl_plan *p) {
    return lrncl__backward_scale_pass(p) ? p->geom.span : 0;
}

size_t lrncl_plan_workspace_size(const lrncl_plan *p, lrncl_kernel_kind which) {
    if (!p || which != LRNCL_KERNEL_BACKWARD)
        return 0; /* the forward kernels never need one */
    return lrncl__workspace_floats(p) * sizeof(float);
}
