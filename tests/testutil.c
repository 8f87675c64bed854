/* testutil.c: shared helpers for the lrncl Criterion suites (see testutil.h). */
#include "testutil.h"

#include <criterion/criterion.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tu_env tu;

/* ---- device fixture ----------------------------------------------------------------------- */
void tu_setup(void)
{
    memset(&tu, 0, sizeof tu);
    lrncl_status st = lrncl_context_create_default(&tu.ctx);
    /* No device is a failure, never a skip: CI must not go green having tested nothing. */
    cr_assert(st == LRNCL_SUCCESS && tu.ctx != NULL,
              "no OpenCL device: lrncl_context_create_default -> %d (%s): %s "
              "(is POCL_CACHE_DIR writable?)",
              (int)st, lrncl_status_string(st), lrncl_last_error());
    tu.cl = lrncl_context_cl(tu.ctx);
    tu.dev = lrncl_context_device(tu.ctx);
    cr_assert(tu.cl != NULL && tu.dev != NULL, "context without cl_context or device");
    cl_int err = CL_SUCCESS;
    tu.q = clCreateCommandQueue(tu.cl, tu.dev, 0, &err);
    cr_assert(err == CL_SUCCESS && tu.q != NULL, "clCreateCommandQueue -> %d", (int)err);
}

void tu_teardown(void)
{
    if (tu.q) {
        clFinish(tu.q);
        clReleaseCommandQueue(tu.q);
    }
    lrncl_context_release(tu.ctx);
    memset(&tu, 0, sizeof tu);
}

size_t tu_programs_made(const lrncl_context *c)
{
    return lrncl_context_program_count(c, LRNCL_PROGRAM_BUILT) +
           lrncl_context_program_count(c, LRNCL_PROGRAM_DISK_CACHE) +
           lrncl_context_program_count(c, LRNCL_PROGRAM_BUNDLE);
}

/* ---- host memory -------------------------------------------------------------------------- */
void *tu_alloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    cr_assert(p != NULL, "out of host memory (%zu bytes)", bytes);
    return p;
}

float *tu_floats(size_t count)
{
    cr_assert(count <= SIZE_MAX / sizeof(float));
    return tu_alloc(count * sizeof(float));
}

double *tu_doubles(size_t count)
{
    cr_assert(count <= SIZE_MAX / sizeof(double));
    return tu_alloc(count * sizeof(double));
}

void tu_to_double(const float *src, double *dst, size_t count)
{
    for (size_t i = 0; i < count; i++)
        dst[i] = (double)src[i];
}

/* ---- buffers ------------------------------------------------------------------------------ */
cl_mem tu_buffer_bytes(size_t bytes)
{
    cl_int err = CL_SUCCESS;
    cl_mem b = clCreateBuffer(tu.cl, CL_MEM_READ_WRITE, bytes ? bytes : 1, NULL, &err);
    cr_assert(err == CL_SUCCESS && b != NULL, "clCreateBuffer(%zu bytes) -> %d", bytes, (int)err);
    return b;
}

cl_mem tu_buffer(size_t count)
{
    return tu_buffer_bytes(count * sizeof(float));
}

cl_mem tu_buffer_from(const float *data, size_t count)
{
    cl_mem b = tu_buffer(count);
    tu_write(b, data, count);
    return b;
}

void tu_write(cl_mem b, const float *src, size_t count)
{
    cl_int err = clEnqueueWriteBuffer(tu.q, b, CL_TRUE, 0, count * sizeof(float), src, 0, NULL, NULL);
    cr_assert(err == CL_SUCCESS, "clEnqueueWriteBuffer -> %d", (int)err);
}

void tu_read(cl_mem b, float *dst, size_t count)
{
    cl_int err = clEnqueueReadBuffer(tu.q, b, CL_TRUE, 0, count * sizeof(float), dst, 0, NULL, NULL);
    cr_assert(err == CL_SUCCESS, "clEnqueueReadBuffer -> %d", (int)err);
}

void tu_poison(cl_mem b, size_t count)
{
    float *nan = tu_floats(count);
    for (size_t i = 0; i < count; i++)
        nan[i] = NAN;
    tu_write(b, nan, count);
    free(nan);
}

bool tu_still_poisoned(cl_mem b, size_t count)
{
    float *h = tu_floats(count);
    tu_read(b, h, count);
    bool all = true;
    for (size_t i = 0; i < count && all; i++)
        all = isnan(h[i]);
    free(h);
    return all;
}

void tu_release(cl_mem *b)
{
    if (b && *b) {
        clReleaseMemObject(*b);
        *b = NULL;
    }
}

/* ---- running a plan ----------------------------------------------------------------------- */
static bool same_bits(cl_mem b, const float *want, size_t count)
{
    float *h = tu_floats(count);
    tu_read(b, h, count);
    bool same = memcmp(h, want, count * sizeof(float)) == 0;
    free(h);
    return same;
}

lrncl_status tu_run_plan(lrncl_plan *p, size_t count, const float *x, const float *dy,
                         struct tu_device_result *r, const char **what)
{
    memset(r, 0, sizeof *r);
    r->inputs_intact = true;
    r->padding_intact = true; /* dense buffers of exactly count floats: there is no padding */
    r->y = tu_floats(count);
    r->scale = tu_floats(count);
    r->y_noscale = tu_floats(count);
    if (dy) {
        r->dx = tu_floats(count);
        r->dx_noscale = tu_floats(count);
    }
    cl_mem bx = tu_buffer_from(x, count), by = tu_buffer(count), bs = tu_buffer(count);
    cl_mem bdy = dy ? tu_buffer_from(dy, count) : NULL, bdx = dy ? tu_buffer(count) : NULL;
    lrncl_status st;

    /* Inference first (no scale), then the training forward that keeps the scale. */
    tu_poison(by, count);
    *what = "lrncl_forward(scale NULL)";
    st = lrncl_forward(p, tu.q, bx, by, NULL, 0, NULL, NULL);
    if (st != LRNCL_SUCCESS)
        goto done;
    tu_read(by, r->y_noscale, count);

    tu_poison(by, count);
    tu_poison(bs, count);
    *what = "lrncl_forward(scale)";
    st = lrncl_forward(p, tu.q, bx, by, bs, 0, NULL, NULL);
    if (st != LRNCL_SUCCESS)
        goto done;
    tu_read(by, r->y, count);
    tu_read(bs, r->scale, count);

    if (dy) {
        tu_poison(bdx, count);
        *what = "lrncl_backward(scale)";
        st = lrncl_backward(p, tu.q, bx, by, bdy, bs, bdx, 0, NULL, NULL);
        if (st != LRNCL_SUCCESS)
            goto done;
        tu_read(bdx, r->dx, count);

        tu_poison(bdx, count);
        *what = "lrncl_backward(scale NULL)";
        st = lrncl_backward(p, tu.q, bx, by, bdy, NULL, bdx, 0, NULL, NULL);
        if (st != LRNCL_SUCCESS)
            goto done;
        tu_read(bdx, r->dx_noscale, count);
        r->inputs_intact = same_bits(bdy, dy, count) && same_bits(by, r->y, count) &&
                           same_bits(bs, r->scale, count);
    }
    r->inputs_intact = r->inputs_intact && same_bits(bx, x, count);
    *what = "";
done:
    tu_release(&bdx);
    tu_release(&bdy);
    tu_release(&bs);
    tu_release(&by);
    tu_release(&bx);
    return st;
}

/* ---- views -------------------------------------------------------------------------------- */
void tu_view_strides(const lrncl_desc *d, size_t st[4])
{
    switch (d->layout) {
    case LRNCL_LAYOUT_NCHW:
        st[3] = 1, st[2] = d->w, st[1] = d->h * d->w, st[0] = d->c * d->h * d->w;
        break;
    case LRNCL_LAYOUT_NHWC:
        st[1] = 1, st[3] = d->c, st[2] = d->w * d->c, st[0] = d->h * d->w * d->c;
        break;
    default:
        st[0] = d->stride_n, st[1] = d->stride_c, st[2] = d->stride_h, st[3] = d->stride_w;
        break;
    }
}

size_t tu_view_span(const lrncl_desc *d)
{
    size_t st[4], dims[4] = {d->n, d->c, d->h, d->w}, span = 1;
    tu_view_strides(d, st);
    for (int i = 0; i < 4; i++)
        span += (dims[i] - 1) * st[i];
    return span;
}

size_t tu_dtype_size(const lrncl_desc *d)
{
    return d->dtype == LRNCL_FLOAT16 ? 2 : 4;
}

/* Flat index of logical element i (NCHW order) in the view. */
static size_t view_index(const lrncl_desc *d, const size_t st[4], size_t offset, size_t i)
{
    size_t w = i % d->w, h = i / d->w % d->h, c = i / (d->w * d->h) % d->c, n = i / (d->w * d->h * d->c);
    return offset + n * st[0] + c * st[1] + h * st[2] + w * st[3];
}

static unsigned char sentinel_byte(size_t i)
{
    return (unsigned char)(0xA5u ^ (i * 29u + (i >> 8)));
}

static size_t image_elems(const lrncl_desc *d, size_t offset)
{
    return offset + tu_view_span(d) + TU_VIEW_TAIL;
}

unsigned char *tu_image_make(const lrncl_desc *d, size_t offset, size_t esize, const float *nchw, size_t *bytes)
{
    size_t n = image_elems(d, offset), count = lrncl_desc_elements(d), st[4];
    cr_assert(count > 0, "tu_image_make: bad shape");
    cr_assert(esize == 2 || esize == 4);
    unsigned char *img = tu_alloc(n * esize);
    for (size_t i = 0; i < n * esize; i++)
        img[i] = sentinel_byte(i);
    tu_view_strides(d, st);
    for (size_t i = 0; i < count; i++) {
        size_t at = view_index(d, st, offset, i);
        cr_assert(at < n, "tu_image_make: element %zu outside the image", i);
        float v = nchw ? nchw[i] : NAN;
        if (esize == 4) {
            memcpy(img + at * 4, &v, 4);
        } else {
            uint16_t h = tu_half_from_float(v);
            memcpy(img + at * 2, &h, 2);
        }
    }
    *bytes = n * esize;
    return img;
}

void tu_image_read(const lrncl_desc *d, size_t offset, size_t esize, const unsigned char *img, float *nchw)
{
    size_t count = lrncl_desc_elements(d), st[4];
    tu_view_strides(d, st);
    for (size_t i = 0; i < count; i++) {
        size_t at = view_index(d, st, offset, i);
        if (esize == 4) {
            memcpy(&nchw[i], img + at * 4, 4);
        } else {
            uint16_t h;
            memcpy(&h, img + at * 2, 2);
            nchw[i] = tu_half_to_float(h);
        }
    }
}

bool tu_image_padding_intact(const lrncl_desc *d, size_t offset, size_t esize, const unsigned char *img)
{
    size_t n = image_elems(d, offset), count = lrncl_desc_elements(d), st[4];
    bool *in_view = tu_alloc(n * sizeof *in_view);
    memset(in_view, 0, n * sizeof *in_view);
    tu_view_strides(d, st);
    for (size_t i = 0; i < count; i++)
        in_view[view_index(d, st, offset, i)] = true;
    bool ok = true;
    for (size_t e = 0; e < n && ok; e++)
        for (size_t b = 0; b < esize && ok && !in_view[e]; b++)
            ok = img[e * esize + b] == sentinel_byte(e * esize + b);
    free(in_view);
    return ok;
}

void tu_read_bytes(cl_mem b, void *dst, size_t bytes)
{
    cl_int err = clEnqueueReadBuffer(tu.q, b, CL_TRUE, 0, bytes, dst, 0, NULL, NULL);
    cr_assert(err == CL_SUCCESS, "clEnqueueReadBuffer -> %d", (int)err);
}

void tu_write_bytes(cl_mem b, const void *src, size_t bytes)
{
    cl_int err = clEnqueueWriteBuffer(tu.q, b, CL_TRUE, 0, bytes, src, 0, NULL, NULL);
    cr_assert(err == CL_SUCCESS, "clEnqueueWriteBuffer -> %d", (int)err);
}

cl_mem tu_buffer_image(const unsigned char *img, size_t bytes)
{
    cl_mem b = tu_buffer_bytes(bytes);
    tu_write_bytes(b, img, bytes);
    return b;
}

/* One buffer of tu_run_view: its view, the image last written, a scratch copy for reads. */
struct view_buf {
    size_t offset, esize, bytes;
    unsigned char *img, *got;
    cl_mem mem;
};

static void view_buf_init(struct view_buf *v, const lrncl_desc *d, size_t offset, size_t esize, const float *nchw)
{
    v->offset = offset;
    v->esize = esize;
    v->img = tu_image_make(d, offset, esize, nchw, &v->bytes);
    v->got = tu_alloc(v->bytes);
    v->mem = tu_buffer_image(v->img, v->bytes);
}

/* Writes the NaN-poisoned image again (output before a run). */
static void view_buf_poison(struct view_buf *v)
{
    tu_write_bytes(v->mem, v->img, v->bytes);
}

/* Reads the output back into nchw; false if anything outside the view changed. */
static bool view_buf_fetch(struct view_buf *v, const lrncl_desc *d, float *nchw)
{
    tu_read_bytes(v->mem, v->got, v->bytes);
    tu_image_read(d, v->offset, v->esize, v->got, nchw);
    return tu_image_padding_intact(d, v->offset, v->esize, v->got);
}

/* True when the buffer still holds exactly want. */
static bool view_buf_same(struct view_buf *v, const unsigned char *want)
{
    tu_read_bytes(v->mem, v->got, v->bytes);
    return memcmp(v->got, want, v->bytes) == 0;
}

static void view_buf_free(struct view_buf *v)
{
    tu_release(&v->mem);
    free(v->img);
    free(v->got);
}

lrncl_status tu_run_view(lrncl_plan *p, const lrncl_desc *d, const float *x, const float *dy,
                         struct tu_device_result *r, const char **what)
{
    size_t count = lrncl_desc_elements(d), es = tu_dtype_size(d);
    memset(r, 0, sizeof *r);
    r->inputs_intact = true;
    r->padding_intact = true;
    r->y = tu_floats(count);
    r->scale = tu_floats(count);
    r->y_noscale = tu_floats(count);
    if (dy) {
        r->dx = tu_floats(count);
        r->dx_noscale = tu_floats(count);
    }
    struct view_buf bx, by, bs, bdy = {0}, bdx = {0};
    view_buf_init(&bx, d, d->offset_x, es, x);
    view_buf_init(&by, d, d->offset_y, es, NULL);
    view_buf_init(&bs, d, d->offset_scale, sizeof(float), NULL);
    if (dy) {
        view_buf_init(&bdy, d, d->offset_dy, es, dy);
        view_buf_init(&bdx, d, d->offset_dx, es, NULL);
    }
    unsigned char *y_img = tu_alloc(by.bytes), *s_img = tu_alloc(bs.bytes);
    lrncl_status st;
    bool pad = true;

    view_buf_poison(&by);
    *what = "lrncl_forward(scale NULL)";
    st = lrncl_forward(p, tu.q, bx.mem, by.mem, NULL, 0, NULL, NULL);
    if (st != LRNCL_SUCCESS)
        goto done;
    pad = view_buf_fetch(&by, d, r->y_noscale) && pad;

    view_buf_poison(&by);
    view_buf_poison(&bs);
    *what = "lrncl_forward(scale)";
    st = lrncl_forward(p, tu.q, bx.mem, by.mem, bs.mem, 0, NULL, NULL);
    if (st != LRNCL_SUCCESS)
        goto done;
    pad = view_buf_fetch(&by, d, r->y) && pad;
    memcpy(y_img, by.got, by.bytes);
    pad = view_buf_fetch(&bs, d, r->scale) && pad;
    memcpy(s_img, bs.got, bs.bytes);

    if (dy) {
        view_buf_poison(&bdx);
        *what = "lrncl_backward(scale)";
        st = lrncl_backward(p, tu.q, bx.mem, by.mem, bdy.mem, bs.mem, bdx.mem, 0, NULL, NULL);
        if (st != LRNCL_SUCCESS)
            goto done;
        pad = view_buf_fetch(&bdx, d, r->dx) && pad;

        view_buf_poison(&bdx);
        *what = "lrncl_backward(scale NULL)";
        st = lrncl_backward(p, tu.q, bx.mem, by.mem, bdy.mem, NULL, bdx.mem, 0, NULL, NULL);
        if (st != LRNCL_SUCCESS)
            goto done;
        pad = view_buf_fetch(&bdx, d, r->dx_noscale) && pad;
        r->inputs_intact = view_buf_same(&bdy, bdy.img) && view_buf_same(&by, y_img) && view_buf_same(&bs, s_img);
    }
    r->inputs_intact = r->inputs_intact && view_buf_same(&bx, bx.img);
    r->padding_intact = pad;
    *what = "";
done:
    free(s_img);
    free(y_img);
    if (dy) {
        view_buf_free(&bdx);
        view_buf_free(&bdy);
    }
    view_buf_free(&bs);
    view_buf_free(&by);
    view_buf_free(&bx);
    return st;
}

void tu_device_result_free(struct tu_device_result *r)
{
    free(r->y);
    free(r->scale);
    free(r->y_noscale);
    free(r->dx);
    free(r->dx_noscale);
    memset(r, 0, sizeof *r);
}

lrncl_status tu_reference(const lrncl_desc *d, const float *x, const float *dy, double *y,
                          double *scale, double *dx)
{
    size_t count = lrncl_desc_elements(d);
    double *xd = tu_doubles(count);
    tu_to_double(x, xd, count);
    lrncl_status st = lrncl_reference_forward(d, xd, y, scale);
    if (st == LRNCL_SUCCESS && dx) {
        double *dyd = tu_doubles(count);
        tu_to_double(dy, dyd, count);
        st = lrncl_reference_backward(d, xd, y, dyd, dx);
        free(dyd);
    }
    free(xd);
    return st;
}

/* ---- float16 ------------------------------------------------------------------------------ */
uint16_t tu_half_from_float(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) /* NaN: keep it quiet and non-zero */
        return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu));
    if (a >= 0x477ff000u) /* >= 65520 (halfway past 65504, ties to even go up): Inf */
        return (uint16_t)(sign | 0x7c00u);
    if (a < 0x38800000u) { /* below 2^-14: a subnormal half (or the smallest normal after rounding) */
        float m;
        memcpy(&m, &a, sizeof m);
        return (uint16_t)(sign | (uint16_t)lrintf(m * 0x1p24f)); /* exact scaling, rounds to even */
    }
    uint32_t h = ((a >> 23) - 127 + 15) << 10 | ((a >> 13) & 0x3ffu), rest = a & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u)))
        h++; /* a carry into the exponent is still right */
    return (uint16_t)(sign | h);
}

float tu_half_to_float(uint16_t h)
{
    unsigned e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    float f = e == 0 ? ldexpf((float)m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexpf((float)(m | 0x400u), (int)e - 25);
    return (h & 0x8000u) ? -f : f;
}

void tu_round_to_half(float *x, size_t count)
{
    for (size_t i = 0; i < count; i++)
        x[i] = tu_half_to_float(tu_half_from_float(x[i]));
}

/* ---- accuracy checks ---------------------------------------------------------------------- */
static void where(const lrncl_desc *d, size_t i, char *buf, size_t len)
{
    if (d && d->c && d->h && d->w) {
        size_t w = i % d->w, h = i / d->w % d->h, c = i / (d->w * d->h) % d->c;
        size_t n = i / (d->w * d->h * d->c);
        snprintf(buf, len, "[%zu] (n=%zu c=%zu h=%zu w=%zu)", i, n, c, h, w);
    } else {
        snprintf(buf, len, "[%zu]", i);
    }
}

static double got_at(const float *got, const double *got_d, size_t i)
{
    return got ? (double)got[i] : got_d[i];
}

bool tu_check(const char *what, const lrncl_desc *d, const float *got, const double *got_d,
              const double *ref, size_t count, double max_rel, double elem_rel, struct tu_cmp *r)
{
    memset(r, 0, sizeof *r);
    for (size_t i = 0; i < count; i++) {
        double a = fabs(ref[i]);
        if (!(a <= r->max_ref)) /* also catches a NaN reference: it must not set the bound */
            r->max_ref = isfinite(a) ? a : INFINITY;
    }
    r->bound = max_rel * r->max_ref;
    bool max_ok = isfinite(r->max_ref);
    size_t nans = 0, first_nan = 0;
    for (size_t i = 0; i < count; i++) {
        double g = got_at(got, got_d, i);
        double err = fabs(g - ref[i]);
        /* Comparisons are written as !(err <= bound) so that a NaN, in either operand, fails. */
        if (isnan(err)) {
            if (nans++ == 0)
                first_nan = i;
        } else if (err > r->max_err) {
            r->max_err = err;
            r->worst = i;
        }
        if (!(err <= r->bound))
            max_ok = false;
        if (elem_rel > 0) {
            double eb = elem_rel * fabs(ref[i]) + TU_FWD_FLOOR;
            if (!(err <= eb) && r->elem_bad++ == 0)
                r->first_bad = i;
            if (err / eb > r->elem_ratio)
                r->elem_ratio = err / eb;
        }
    }
    r->ok = max_ok && nans == 0 && r->elem_bad == 0;
    if (!r->ok) {
        char w1[128], w2[128];
        size_t len = 0;
        if (nans) {
            where(d, first_nan, w1, sizeof w1);
            snprintf(r->msg, sizeof r->msg, "%s: %zu NaN difference(s), first at %s (got %.9g, ref %.17g); ", what,
                     nans, w1, got_at(got, got_d, first_nan), ref[first_nan]);
            len = strlen(r->msg);
        } else {
            snprintf(r->msg, sizeof r->msg, "%s: ", what);
            len = strlen(r->msg);
        }
        where(d, r->worst, w1, sizeof w1);
        if (nans < count) /* some finite differences: the largest of them */
            snprintf(r->msg + len, sizeof r->msg - len,
                     "max|got-ref| = %.6g at %s (got %.9g, ref %.17g), bound %.6g = %g * max|ref| %.6g",
                     r->max_err, w1, got_at(got, got_d, r->worst), ref[r->worst], r->bound, max_rel, r->max_ref);
        len = strlen(r->msg);
        if (r->elem_bad && len + 1 < sizeof r->msg) {
            where(d, r->first_bad, w2, sizeof w2);
            snprintf(r->msg + len, sizeof r->msg - len,
                     "; %zu element(s) outside %g relative, first %s (got %.9g, ref %.17g)", r->elem_bad, elem_rel,
                     w2, got_at(got, got_d, r->first_bad), ref[r->first_bad]);
        }
    }
    return r->ok;
}

bool tu_check_forward(const char *what, const lrncl_desc *d, const float *got, const double *ref,
                      size_t count, struct tu_cmp *r)
{
    return tu_check(what, d, got, NULL, ref, count, TU_FWD_MAX_REL, TU_FWD_ELEM_REL, r);
}

bool tu_check_backward(const char *what, const lrncl_desc *d, const float *got, const double *ref,
                       size_t count, struct tu_cmp *r)
{
    return tu_check(what, d, got, NULL, ref, count, TU_BWD_MAX_REL, 0.0, r);
}

static bool same_class(double g, double ref)
{
    if (isnan(ref))
        return isnan(g);
    if (isinf(ref))
        return isinf(g) && signbit(g) == signbit(ref);
    return isfinite(g);
}

bool tu_check_nonfinite(const char *what, const lrncl_desc *d, const float *got, const double *ref,
                        size_t count, double max_rel, double elem_rel, struct tu_cmp *r)
{
    memset(r, 0, sizeof *r);
    size_t class_bad = 0, first_class = 0;
    for (size_t i = 0; i < count; i++) {
        if (isfinite(ref[i]) && fabs(ref[i]) > r->max_ref)
            r->max_ref = fabs(ref[i]);
        if (!same_class((double)got[i], ref[i]) && class_bad++ == 0)
            first_class = i;
    }
    r->bound = max_rel * r->max_ref;
    bool max_ok = true;
    for (size_t i = 0; i < count; i++) {
        if (!isfinite(ref[i]))
            continue;
        double err = fabs((double)got[i] - ref[i]);
        if (!(err <= r->max_err)) {
            r->max_err = isnan(err) ? INFINITY : err;
            r->worst = i;
        }
        if (!(err <= r->bound))
            max_ok = false;
        if (elem_rel > 0) {
            double eb = elem_rel * fabs(ref[i]) + TU_FWD_FLOOR;
            if (!(err <= eb) && r->elem_bad++ == 0)
                r->first_bad = i;
            if (err / eb > r->elem_ratio)
                r->elem_ratio = err / eb;
        }
    }
    r->ok = max_ok && r->elem_bad == 0 && class_bad == 0;
    if (!r->ok) {
        char w1[128], w2[128], w3[128];
        where(d, r->worst, w1, sizeof w1);
        where(d, r->first_bad, w2, sizeof w2);
        where(d, first_class, w3, sizeof w3);
        snprintf(r->msg, sizeof r->msg,
                 "%s: %zu element(s) of another class than the reference (first %s: got %.9g, ref %.17g); "
                 "finite: max|got-ref| = %.6g at %s, bound %.6g; %zu outside %g relative (first %s)",
                 what, class_bad, w3, (double)got[first_class], ref[first_class], r->max_err, w1, r->bound,
                 r->elem_bad, elem_rel, w2);
    }
    return r->ok;
}

size_t tu_first_difference(const float *a, const float *b, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0)
            return i;
    return count;
}

/* Whether got equals want bit for bit; a cr_expect naming the first difference otherwise. */
static bool expect_same_bits(const char *label, const char *ds, const char *what, const float *got,
                             const float *want, size_t count)
{
    size_t at = tu_first_difference(got, want, count);
    cr_expect(at == count, "%s (%s): %s differs at [%zu]: %.9g vs %.9g", label, ds, what, at,
              at < count ? (double)got[at] : 0.0, at < count ? (double)want[at] : 0.0);
    return at == count;
}

/* tu_check, or tu_check_nonfinite where the reference holds NaN or Inf (k = 0: a window of zeros
 * gives 0/0 = NaN, and the device must give NaN in exactly those places). */
static bool check_maybe_nonfinite(const char *what, const lrncl_desc *d, const float *got, const double *ref,
                                  size_t count, double max_rel, double elem_rel, struct tu_cmp *r)
{
    for (size_t i = 0; i < count; i++)
        if (!isfinite(ref[i]))
            return tu_check_nonfinite(what, d, got, ref, count, max_rel, elem_rel, r);
    return tu_check(what, d, got, NULL, ref, count, max_rel, elem_rel, r);
}

bool tu_run_expect(const char *label, lrncl_plan *p, const lrncl_desc *d, const float *x, const float *dy,
                   const double *y, const double *scale, const double *dx, size_t count)
{
    struct tu_device_result out;
    const char *what = "";
    char ds[320];
    lrncl_status st = tu_run_view(p, d, x, dy, &out, &what);
    cr_assert(st == LRNCL_SUCCESS, "%s (%s): %s -> %s: %s", label, tu_desc_str(d, ds, sizeof ds), what,
              lrncl_status_string(st), lrncl_last_error());
    bool ok = tu_expect_result(label, d, &out, y, scale, dx, count);
    tu_device_result_free(&out);
    return ok;
}

bool tu_expect_result(const char *label, const lrncl_desc *d, const struct tu_device_result *out,
                      const double *y, const double *scale, const double *dx, size_t count)
{
    const bool f16 = d->dtype == LRNCL_FLOAT16;
    const double fwd = f16 ? TU_F16_FWD_MAX_REL : TU_FWD_MAX_REL, elem = f16 ? 0.0 : TU_FWD_ELEM_REL;
    const double bwd = f16 ? TU_F16_BWD_MAX_REL : TU_BWD_MAX_REL;
    char ds[320];
    tu_desc_str(d, ds, sizeof ds);
    struct tu_cmp r;
    bool ok = true, pass;
    pass = check_maybe_nonfinite("y", d, out->y, y, count, fwd, elem, &r);
    cr_expect(pass, "%s (%s): %s", label, ds, r.msg);
    ok = ok && pass;
    pass = check_maybe_nonfinite("y (scale NULL)", d, out->y_noscale, y, count, fwd, elem, &r);
    cr_expect(pass, "%s (%s): %s", label, ds, r.msg);
    ok = ok && pass;
    if (scale) {
        pass = tu_check_forward("scale", d, out->scale, scale, count, &r);
        cr_expect(pass, "%s (%s): %s", label, ds, r.msg);
        ok = ok && pass;
    }
    if (dx && out->dx) {
        pass = check_maybe_nonfinite("dx", d, out->dx, dx, count, bwd, 0.0, &r);
        cr_expect(pass, "%s (%s): %s", label, ds, r.msg);
        ok = ok && pass;
        pass = check_maybe_nonfinite("dx (scale NULL)", d, out->dx_noscale, dx, count, bwd, 0.0, &r);
        cr_expect(pass, "%s (%s): %s", label, ds, r.msg);
        ok = ok && pass;
        ok = expect_same_bits(label, ds, "dx (scale NULL) against dx", out->dx_noscale, out->dx, count) && ok;
    }
    ok = expect_same_bits(label, ds, "y (scale NULL) against y", out->y_noscale, out->y, count) && ok;
    cr_expect(out->inputs_intact, "%s (%s): an input buffer (x, y, dy or scale) was modified", label, ds);
    cr_expect(out->padding_intact, "%s (%s): an element outside an output view was written", label, ds);
    return ok && out->inputs_intact && out->padding_intact;
}

const char *tu_desc_str(const lrncl_desc *d, char *buf, size_t len)
{
    static const char *const conv[] = {"caffe", "pytorch", "onnx", "tensorflow", "cudnn", "miopen", "onednn",
                                       "explicit"};
    static const char *const layout[] = {"nchw", "nhwc", "strided"};
    int at = snprintf(buf, len, "mode=%s n=%zu c=%zu h=%zu w=%zu size=%d alpha=%.9g beta=%.9g k=%.9g",
                      d->mode == LRNCL_ACROSS_CHANNELS ? "across"
                      : d->mode == LRNCL_WITHIN_CHANNEL ? "within"
                                                         : "?",
                      d->n, d->c, d->h, d->w, d->local_size, (double)d->alpha, (double)d->beta, (double)d->k);
    size_t used = at > 0 && (size_t)at < len ? (size_t)at : len;
    if (used < len && d->convention != LRNCL_CONVENTION_CAFFE) {
        if ((unsigned)d->convention < 8)
            at = snprintf(buf + used, len - used, " convention=%s", conv[d->convention]);
        else
            at = snprintf(buf + used, len - used, " convention=%d", (int)d->convention);
        used = at > 0 && (size_t)at < len - used ? used + (size_t)at : len;
    }
    if (used < len && d->convention == LRNCL_CONVENTION_EXPLICIT) {
        at = snprintf(buf + used, len - used, " lo=%d hi=%d div=%d use_k=%d", d->window_lo, d->window_hi,
                      (int)d->alpha_divisor, d->use_k);
        used = at > 0 && (size_t)at < len - used ? used + (size_t)at : len;
    }
    if (used < len && (d->dtype != LRNCL_FLOAT32 || d->layout != LRNCL_LAYOUT_NCHW)) {
        at = snprintf(buf + used, len - used, " dtype=%s layout=%s", d->dtype == LRNCL_FLOAT16 ? "f16" : "f32",
                      (unsigned)d->layout < 3 ? layout[d->layout] : "?");
        used = at > 0 && (size_t)at < len - used ? used + (size_t)at : len;
    }
    if (used < len && d->layout == LRNCL_LAYOUT_STRIDED) {
        at = snprintf(buf + used, len - used, " strides=%zu,%zu,%zu,%zu", d->stride_n, d->stride_c, d->stride_h,
                      d->stride_w);
        used = at > 0 && (size_t)at < len - used ? used + (size_t)at : len;
    }
    if (used < len && (d->offset_x | d->offset_y | d->offset_scale | d->offset_dy | d->offset_dx))
        snprintf(buf + used, len - used, " offsets x=%zu y=%zu s=%zu dy=%zu dx=%zu", d->offset_x, d->offset_y,
                 d->offset_scale, d->offset_dy, d->offset_dx);
    return buf;
}

/* ---- PRNG --------------------------------------------------------------------------------- */
uint64_t tu_seed(uint64_t dflt)
{
    const char *s = getenv("LRNCL_TEST_SEED");
    if (s && *s) {
        char *end = NULL;
        unsigned long long v = strtoull(s, &end, 0);
        cr_assert(end && *end == '\0', "LRNCL_TEST_SEED=\"%s\" is not a number", s);
        return (uint64_t)v;
    }
    return dflt;
}

void tu_rng_init(struct tu_rng *g, uint64_t seed)
{
    g->s = seed;
}

uint64_t tu_rng_next(struct tu_rng *g)
{
    uint64_t z = (g->s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

double tu_rng_uniform(struct tu_rng *g)
{
    return (double)(tu_rng_next(g) >> 11) * 0x1.0p-53;
}

double tu_rng_range(struct tu_rng *g, double lo, double hi)
{
    return lo + (hi - lo) * tu_rng_uniform(g);
}

size_t tu_rng_below(struct tu_rng *g, size_t n)
{
    return n ? (size_t)(tu_rng_next(g) % (uint64_t)n) : 0;
}

double tu_rng_normal(struct tu_rng *g)
{
    double u1 = 1.0 - tu_rng_uniform(g); /* (0, 1]: log is finite */
    double u2 = tu_rng_uniform(g);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

lrncl_desc tu_desc(lrncl_convention conv, lrncl_mode mode, int size, float alpha, float beta, float k, size_t n,
                   size_t c, size_t h, size_t w)
{
    lrncl_desc d;
    lrncl_desc_init(&d, mode);
    d.convention = conv;
    d.local_size = size;
    d.alpha = alpha;
    d.beta = beta;
    d.k = k;
    d.n = n;
    d.c = c;
    d.h = h;
    d.w = w;
    return d;
}

lrncl_plan *tu_plan(lrncl_context *c, const lrncl_desc *d)
{
    lrncl_plan *p = NULL;
    char ds[320];
    lrncl_status st = lrncl_plan_create(c, d, &p);
    cr_assert(st == LRNCL_SUCCESS && p, "lrncl_plan_create(%s) -> %s: %s", tu_desc_str(d, ds, sizeof ds),
              lrncl_status_string(st), lrncl_last_error());
    return p;
}

lrncl_context *tu_context_with_cache(const char *dir)
{
    cr_assert(setenv("LRNCL_CACHE_DIR", dir, 1) == 0);
    lrncl_context *c = NULL;
    lrncl_status st = lrncl_context_create(tu.cl, tu.dev, &c);
    cr_assert(st == LRNCL_SUCCESS, "lrncl_context_create -> %s: %s", lrncl_status_string(st), lrncl_last_error());
    return c;
}

void tu_case_random(struct tu_case *k, const lrncl_desc *d, struct tu_rng *g, double mag)
{
    k->count = lrncl_desc_elements(d);
    k->x = tu_floats(k->count), k->dy = tu_floats(k->count);
    k->y = tu_doubles(k->count), k->s = tu_doubles(k->count), k->dx = tu_doubles(k->count);
    tu_random_inputs(g, d, k->x, k->dy, k->count, mag);
    char ds[320];
    lrncl_status st = tu_reference(d, k->x, k->dy, k->y, k->s, k->dx);
    cr_assert(st == LRNCL_SUCCESS, "reference (%s) -> %s: %s", tu_desc_str(d, ds, sizeof ds), lrncl_status_string(st),
              lrncl_last_error());
}

void tu_case_free(struct tu_case *k)
{
    free(k->dx);
    free(k->s);
    free(k->y);
    free(k->dy);
    free(k->x);
    k->x = k->dy = NULL;
    k->y = k->s = k->dx = NULL;
}

void tu_random_inputs(struct tu_rng *g, const lrncl_desc *d, float *x, float *dy, size_t count, double mag)
{
    for (size_t i = 0; i < count; i++) {
        x[i] = (float)(tu_rng_normal(g) * (tu_rng_uniform(g) < 0.1 ? 10.0 * mag : mag));
        dy[i] = (float)tu_rng_normal(g);
    }
    if (d->dtype == LRNCL_FLOAT16) {
        tu_round_to_half(x, count);
        tu_round_to_half(dy, count);
    }
}
