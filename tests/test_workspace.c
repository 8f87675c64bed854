/* test_workspace.c: lrncl_plan_workspace_size and lrncl_backward_ws. The size is what the paths
 * that compute the scale in a separate pass need (a buffer of exactly that many bytes works, one
 * byte less is refused), the caller's workspace is really used (it holds the scale afterwards),
 * dx is bitwise that of lrncl_backward's allocating path and within the float64 bounds, and the
 * workspace is checked like every other buffer (size from its offset, context, aliasing). */
#include "testutil.h"

#include <criterion/criterion.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

TestSuite(workspace, .init = tu_setup, .fini = tu_teardown, .timeout = 120);

/* The paths that need a workspace, as documented in lrncl.h: WITHIN_CHANNEL backward without a
 * scale with NHWC, strided views on CPUs, or windows wider than 16; never the FPGA kernels, which
 * recompute the scale in the same pass. The class is the one lrncl chose for the plan. */
static bool expect_workspace(const lrncl_plan *p, const lrncl_desc *d, int lo, int hi)
{
    const char *cls = lrncl_plan_device_class(p);
    if (d->mode != LRNCL_WITHIN_CHANNEL || strcmp(cls, "fpga") == 0)
        return false;
    return lo + hi + 1 > 16 || d->layout == LRNCL_LAYOUT_NHWC ||
           (d->layout == LRNCL_LAYOUT_STRIDED && strcmp(cls, "cpu") == 0);
}

/* Device buffers for one descriptor: x, y (from lrncl_forward), dy, dx (NaN view, sentinel
 * outside), and the host inputs as NCHW floats. */
struct bufs {
    size_t count, esize, img_bytes;
    float *x, *dy;
    cl_mem bx, by, bdy, bdx;
};

static void bufs_make(struct bufs *b, lrncl_plan *p, const lrncl_desc *d, unsigned seed)
{
    b->count = lrncl_desc_elements(d);
    b->esize = tu_dtype_size(d);
    b->x = tu_floats(b->count);
    b->dy = tu_floats(b->count);
    struct tu_rng g;
    tu_rng_init(&g, tu_seed(seed));
    for (size_t i = 0; i < b->count; i++) {
        b->x[i] = (float)(2.0 * tu_rng_normal(&g));
        b->dy[i] = (float)tu_rng_normal(&g);
    }
    if (d->dtype == LRNCL_FLOAT16) {
        tu_round_to_half(b->x, b->count);
        tu_round_to_half(b->dy, b->count);
    }
    unsigned char *ix = tu_image_make(d, 0, b->esize, b->x, &b->img_bytes);
    unsigned char *idy = tu_image_make(d, 0, b->esize, b->dy, &b->img_bytes);
    unsigned char *inan = tu_image_make(d, 0, b->esize, NULL, &b->img_bytes);
    b->bx = tu_buffer_image(ix, b->img_bytes);
    b->bdy = tu_buffer_image(idy, b->img_bytes);
    b->by = tu_buffer_image(inan, b->img_bytes);
    b->bdx = tu_buffer_image(inan, b->img_bytes);
    free(ix);
    free(idy);
    free(inan);
    lrncl_status st = lrncl_forward(p, tu.q, b->bx, b->by, NULL, 0, NULL, NULL);
    cr_assert(st == LRNCL_SUCCESS, "forward: %s: %s", lrncl_status_string(st), lrncl_last_error());
}

static void bufs_free(struct bufs *b)
{
    tu_release(&b->bx);
    tu_release(&b->by);
    tu_release(&b->bdy);
    tu_release(&b->bdx);
    free(b->x);
    free(b->dy);
}

/* Poisons dx's view (NaN, sentinel outside), runs the backward (scale NULL) with the given
 * workspace, and returns its status; *img gets dx's whole buffer (free it). */
static lrncl_status run_bwd(lrncl_plan *p, const lrncl_desc *d, struct bufs *b, cl_mem ws, size_t ws_off,
                            unsigned char **img)
{
    size_t bytes;
    unsigned char *inan = tu_image_make(d, 0, b->esize, NULL, &bytes);
    tu_write_bytes(b->bdx, inan, bytes);
    free(inan);
    lrncl_status st = ws ? lrncl_backward_ws(p, tu.q, b->bx, b->by, b->bdy, NULL, b->bdx, ws, ws_off, 0, NULL, NULL)
                         : lrncl_backward(p, tu.q, b->bx, b->by, b->bdy, NULL, b->bdx, 0, NULL, NULL);
    *img = tu_alloc(bytes);
    tu_read_bytes(b->bdx, *img, bytes);
    return st;
}

/* A buffer of `bytes` bytes, every float NaN (bytes need not be a multiple of 4). */
static cl_mem nan_bytes(size_t bytes)
{
    size_t floats = (bytes + 3) / 4;
    float *f = tu_floats(floats);
    for (size_t i = 0; i < floats; i++)
        f[i] = NAN;
    cl_mem m = tu_buffer_bytes(bytes);
    tu_write_bytes(m, f, bytes);
    free(f);
    return m;
}

static void check_case(const char *label, lrncl_desc d, int lo, int hi)
{
    char dbuf[512];
    const char *ds = tu_desc_str(&d, dbuf, sizeof dbuf);
    lrncl_plan *p = tu_plan(tu.ctx, &d);
    const size_t span = lrncl_desc_span(&d), need = lrncl_plan_workspace_size(p, LRNCL_KERNEL_BACKWARD);
    const bool want = expect_workspace(p, &d, lo, hi);
    cr_expect(need == (want ? span * sizeof(float) : 0), "%s (%s): workspace %zu bytes, expected %zu", label, ds,
              need, want ? span * sizeof(float) : 0);
    cr_expect(lrncl_plan_workspace_size(p, LRNCL_KERNEL_FORWARD) == 0, "%s: forward needs no workspace", label);
    cr_expect(lrncl_plan_workspace_size(p, LRNCL_KERNEL_FORWARD_TRAINING) == 0, "%s: forward needs none", label);
    cr_expect(lrncl_plan_workspace_size(p, (lrncl_kernel_kind)7) == 0, "%s: unknown kind", label);

    struct bufs b;
    bufs_make(&b, p, &d, 0x3a11u + (unsigned)span);
    size_t img_bytes = b.img_bytes;

    /* The allocating path, and the reference. */
    unsigned char *img_alloc, *img;
    lrncl_status st = run_bwd(p, &d, &b, NULL, 0, &img_alloc);
    cr_assert(st == LRNCL_SUCCESS, "%s: lrncl_backward: %s: %s", label, lrncl_status_string(st), lrncl_last_error());
    double *ry = tu_doubles(b.count), *rs = tu_doubles(b.count), *rdx = tu_doubles(b.count);
    cr_assert(tu_reference(&d, b.x, b.dy, ry, rs, rdx) == LRNCL_SUCCESS);
    float *dx = tu_floats(b.count);
    tu_image_read(&d, 0, b.esize, img_alloc, dx);
    struct tu_cmp r;
    cr_expect(tu_check(label, &d, dx, NULL, rdx, b.count,
                       d.dtype == LRNCL_FLOAT16 ? TU_F16_BWD_MAX_REL : TU_BWD_MAX_REL, 0, &r), "%s: %s", ds, r.msg);

    /* A workspace of exactly the size, at offset 0 and inside an arena at an offset. */
    const size_t offs[] = {0, 7};
    for (int i = 0; i < 2; i++) {
        size_t off = offs[i], total = off * sizeof(float) + need;
        cl_mem ws = nan_bytes(total ? total : 4);
        st = run_bwd(p, &d, &b, ws, off, &img);
        cr_expect(st == LRNCL_SUCCESS, "%s: workspace of %zu bytes at offset %zu: %s: %s", label, total, off,
                  lrncl_status_string(st), lrncl_last_error());
        cr_expect(memcmp(img, img_alloc, img_bytes) == 0,
                  "%s (%s): dx with the caller's workspace (offset %zu) differs from lrncl_backward's", label, ds, off);
        free(img);
        if (need) {
            /* The call really used it: it holds the scale of every position of the view. */
            float *wsf = tu_floats(total / 4), *sc = tu_floats(b.count);
            tu_read_bytes(ws, wsf, total);
            lrncl_desc sd = d;
            sd.dtype = LRNCL_FLOAT32;
            tu_image_read(&sd, off, sizeof(float), (const unsigned char *)wsf, sc);
            cr_expect(tu_check_forward("workspace holds the scale", &d, sc, rs, b.count, &r), "%s: %s", label, r.msg);
            free(wsf);
            free(sc);
            /* One byte less is refused, and nothing is written. */
            cl_mem small = nan_bytes(total - 1);
            st = run_bwd(p, &d, &b, small, off, &img);
            cr_expect(st == LRNCL_ERROR_BUFFER_TOO_SMALL, "%s: workspace of %zu bytes (need %zu): %s", label,
                      total - 1, total, lrncl_status_string(st));
            cr_expect(strstr(lrncl_last_error(), "workspace") != NULL, "%s: error names the workspace: %s", label,
                      lrncl_last_error());
            float *view = tu_floats(b.count);
            tu_image_read(&d, 0, b.esize, img, view);
            size_t written = 0;
            for (size_t k = 0; k < b.count; k++)
                written += view[k] == view[k];
            cr_expect(written == 0, "%s: a refused call wrote %zu elements of dx", label, written);
            free(view);
            free(img);
            tu_release(&small);
        }
        tu_release(&ws);
    }

    if (need) {
        /* Aliasing: the workspace over dx, over x; and from another context. */
        st = lrncl_backward_ws(p, tu.q, b.bx, b.by, b.bdy, NULL, b.bdx, b.bdx, 0, 0, NULL, NULL);
        cr_expect(st == LRNCL_ERROR_ALIASED_BUFFERS, "%s: workspace = dx: %s", label, lrncl_status_string(st));
        st = lrncl_backward_ws(p, tu.q, b.bx, b.by, b.bdy, NULL, b.bdx, b.bx, 0, 0, NULL, NULL);
        cr_expect(st == LRNCL_ERROR_ALIASED_BUFFERS, "%s: workspace = x: %s", label, lrncl_status_string(st));
        cl_int err;
        cl_context other = clCreateContext(NULL, 1, &tu.dev, NULL, NULL, &err);
        cr_assert(err == CL_SUCCESS);
        cl_mem foreign = clCreateBuffer(other, CL_MEM_READ_WRITE, need, NULL, &err);
        cr_assert(err == CL_SUCCESS);
        st = lrncl_backward_ws(p, tu.q, b.bx, b.by, b.bdy, NULL, b.bdx, foreign, 0, 0, NULL, NULL);
        cr_expect(st == LRNCL_ERROR_CONTEXT_MISMATCH, "%s: foreign workspace: %s", label, lrncl_status_string(st));
        clReleaseMemObject(foreign);
        clReleaseContext(other);
        /* Given a scale, no workspace is used: a 4-byte one is fine. */
        cl_mem bs = tu_buffer(span), tiny = nan_bytes(4);
        cr_assert(lrncl_forward(p, tu.q, b.bx, b.by, bs, 0, NULL, NULL) == LRNCL_SUCCESS);
        st = lrncl_backward_ws(p, tu.q, b.bx, b.by, b.bdy, bs, b.bdx, tiny, 0, 0, NULL, NULL);
        cr_expect(st == LRNCL_SUCCESS, "%s: scale given, tiny workspace: %s: %s", label, lrncl_status_string(st),
                  lrncl_last_error());
        tu_release(&bs);
        tu_release(&tiny);
    }

    free(img_alloc);
    free(dx);
    free(ry);
    free(rs);
    free(rdx);
    bufs_free(&b);
    lrncl_plan_release(p);
}

static lrncl_desc within(int size, size_t n, size_t c, size_t h, size_t w)
{
    return tu_desc(LRNCL_CONVENTION_CAFFE, LRNCL_WITHIN_CHANNEL, size, 0.5f, 0.75f, 1.0f, n, c, h, w);
}

Test(workspace, nhwc)
{
    lrncl_desc d = within(3, 2, 11, 7, 9);
    d.layout = LRNCL_LAYOUT_NHWC;
    check_case("within NHWC size 3", d, 1, 1);
    d.dtype = LRNCL_FLOAT16;
    check_case("within NHWC float16 size 3", d, 1, 1);
}

Test(workspace, strided)
{
    lrncl_desc d = within(5, 2, 3, 6, 5);
    d.layout = LRNCL_LAYOUT_STRIDED; /* a padded view: every other column, rows and planes apart */
    d.stride_w = 2, d.stride_h = 11, d.stride_c = 70, d.stride_n = 220;
    check_case("within strided size 5", d, 2, 2);
}

Test(workspace, wide_window)
{
    check_case("within NCHW size 17", within(17, 1, 2, 19, 21), 8, 8);
    lrncl_desc d = tu_desc(LRNCL_CONVENTION_ONEDNN, LRNCL_WITHIN_CHANNEL, 20, 0.3f, 0.6f, 2.0f, 1, 2, 12, 23);
    check_case("within oneDNN size 20 (19 taps), general beta", d, 9, 9);
}

Test(workspace, none_needed)
{
    check_case("within NCHW size 5", within(5, 2, 3, 9, 10), 2, 2);
    check_case("across NCHW size 5",
               tu_desc(LRNCL_CONVENTION_CAFFE, LRNCL_ACROSS_CHANNELS, 5, 1e-2f, 0.75f, 1.0f, 2, 9, 4, 5), 2, 2);
    lrncl_desc d = tu_desc(LRNCL_CONVENTION_CAFFE, LRNCL_ACROSS_CHANNELS, 21, 1e-2f, 0.75f, 1.0f, 1, 30, 3, 3);
    d.layout = LRNCL_LAYOUT_NHWC;
    check_case("across NHWC size 21", d, 10, 10);
    cr_expect(lrncl_plan_workspace_size(NULL, LRNCL_KERNEL_BACKWARD) == 0);
}
