/* cli_run.c: `lrncl forward` and `lrncl backward` on .npy files. Output files are written only
 * after all computation succeeded, all or nothing for regular files (cli_outputs.c). */
#include "cli_commands.h"
#include "cli_common.h"
#include "cli_device.h"
#include "cli_outputs.h"
#include "npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void shape_text(const npy_array *a, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < a->ndim && used < len; i++) {
        int n = snprintf(buf + used, len - used, i ? "x%zu" : "%zu", a->shape[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    if (a->ndim == 0)
        snprintf(buf, len, "() (a scalar)");
}

static const char *dtype_name(npy_dtype t) {
    return t == NPY_F32 ? "float32" : t == NPY_F16 ? "float16" : t == NPY_F64 ? "float64" : "unknown";
}

/* Reads a float32 or float16 4-D array (NCHW or NHWC: only the rank is checked here). */
static int read_input(const char *path, lrncl_layout layout, npy_array *a) {
    char err[512], shape[200];
    if (npy_read(path, a, err, sizeof err) != 0) {
        cli_fail("%s", err);
        return 0;
    }
    shape_text(a, shape, sizeof shape);
    if (a->dtype != NPY_F32 && a->dtype != NPY_F16)
        cli_fail("%s: %s input is not supported (float32 or float16 only)", path, dtype_name(a->dtype));
    else if (a->ndim != 4)
        cli_fail("%s: expected a 4-D %s array, got shape %s (%d-D)", path,
             layout == LRNCL_LAYOUT_NHWC ? "NHWC (N,H,W,C)" : "NCHW (N,C,H,W)", shape, a->ndim);
    else
        return 1;
    return 0;
}


/* lrncl forward / lrncl backward. The forward writes the scale whenever it is wanted: for
 * --scale-output, and for the backward, which then reuses it. */
int cli_cmd_run(int backward, const run_options *o) {
    npy_array x, dy;
    memset(&x, 0, sizeof x);
    memset(&dy, 0, sizeof dy);
    lrncl_context *ctx = NULL;
    lrncl_plan *plan = NULL;
    cl_command_queue queue = NULL;
    cl_mem bx = NULL, by = NULL, bscale = NULL, bdy = NULL, bdx = NULL;
    void *result = NULL;
    float *scale = NULL;
    int rc = CLI_FAILED;
    cli_outputs outs = {0};
    char dy_shape[200], x_shape[200];
    const lrncl_layout layout = o->desc.layout;

    TRY(read_input(o->input, layout, &x));
    if (backward) {
        TRY(read_input(o->grad_output, layout, &dy));
        shape_text(&x, x_shape, sizeof x_shape);
        shape_text(&dy, dy_shape, sizeof dy_shape);
        if (dy.dtype != x.dtype) {
            cli_fail("%s: dtype %s does not match the input's %s", o->grad_output, dtype_name(dy.dtype),
                 dtype_name(x.dtype));
            goto done;
        }
        if (memcmp(x.shape, dy.shape, sizeof x.shape) != 0) {
            cli_fail("%s: shape %s does not match the input's %s", o->grad_output, dy_shape, x_shape);
            goto done;
        }
    }
    lrncl_desc d = o->desc;
    d.dtype = x.dtype == NPY_F16 ? LRNCL_FLOAT16 : LRNCL_FLOAT32;
    d.n = x.shape[0];
    if (layout == LRNCL_LAYOUT_NHWC) { /* file shape (N, H, W, C) */
        d.h = x.shape[1];
        d.w = x.shape[2];
        d.c = x.shape[3];
    } else {
        d.c = x.shape[1];
        d.h = x.shape[2];
        d.w = x.shape[3];
    }

    TRY(cli_open_run_context(o, &ctx));
    TRY(cli_lr_ok(lrncl_plan_create(ctx, &d, &plan), "lrncl_plan_create"));
    cl_int err;
    queue = clCreateCommandQueue(lrncl_context_cl(ctx), lrncl_context_device(ctx), 0, &err);
    TRY(cli_cl_ok(err, "clCreateCommandQueue"));
    cl_context cc = lrncl_context_cl(ctx);

    /* Contiguous NCHW or NHWC with offsets 0: the span is the element count of the file. */
    if (lrncl_desc_span(&d) != x.count) {
        cli_fail("internal error: the descriptor spans %zu elements, the input holds %zu", lrncl_desc_span(&d),
             x.count);
        goto done;
    }
    const size_t elem = npy_dtype_size(x.dtype);
    size_t bytes = x.count * elem, scale_bytes = x.count * sizeof(float);
    int want_scale = backward || o->scale_output;
    TRY((bx = cli_new_buffer(cc, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes, x.data, "x")) != NULL);
    TRY((by = cli_new_buffer(cc, CL_MEM_READ_WRITE, bytes, NULL, "y")) != NULL);
    if (want_scale)
        TRY((bscale = cli_new_buffer(cc, CL_MEM_READ_WRITE, scale_bytes, NULL, "scale")) != NULL);
    TRY(cli_lr_ok(lrncl_forward(plan, queue, bx, by, bscale, 0, NULL, NULL), "lrncl_forward"));
    if (backward) {
        TRY((bdy = cli_new_buffer(cc, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes, dy.data, "dy")) != NULL);
        TRY((bdx = cli_new_buffer(cc, CL_MEM_WRITE_ONLY, bytes, NULL, "dx")) != NULL);
        TRY(cli_lr_ok(lrncl_backward(plan, queue, bx, by, bdy, bscale, bdx, 0, NULL, NULL), "lrncl_backward"));
    }
    TRY((result = cli_alloc(x.count, elem, "the result")) != NULL);
    TRY(cli_cl_ok(clEnqueueReadBuffer(queue, backward ? bdx : by, CL_TRUE, 0, bytes, result, 0, NULL, NULL),
              "clEnqueueReadBuffer"));
    if (o->scale_output) {
        TRY((scale = cli_alloc(x.count, sizeof(float), "the scale")) != NULL);
        TRY(cli_cl_ok(clEnqueueReadBuffer(queue, bscale, CL_TRUE, 0, scale_bytes, scale, 0, NULL, NULL),
                  "clEnqueueReadBuffer"));
    }
    TRY(cli_cl_ok(clFinish(queue), "clFinish"));

    /* All or nothing: on any failure every regular output keeps what it held (a pipe or device
     * output is written in place, first). */
    TRY(cli_outputs_stage(&outs, "--output", o->output, x.dtype, result, x.ndim, x.shape));
    if (o->scale_output)
        TRY(cli_outputs_stage(&outs, "--scale-output", o->scale_output, NPY_F32, scale, x.ndim, x.shape));
    TRY(cli_outputs_commit(&outs));
    rc = CLI_OK;
done:
    cli_outputs_discard(&outs);
    free(scale);
    free(result);
    if (bdx)
        clReleaseMemObject(bdx);
    if (bdy)
        clReleaseMemObject(bdy);
    if (bscale)
        clReleaseMemObject(bscale);
    if (by)
        clReleaseMemObject(by);
    if (bx)
        clReleaseMemObject(bx);
    if (queue)
        clReleaseCommandQueue(queue);
    lrncl_plan_release(plan);
    lrncl_context_release(ctx);
    npy_free(&dy);
    npy_free(&x);
    return rc;
}
