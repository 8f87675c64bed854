/* test_engine.c: the API a long-lived host (an inference engine, its plug-ins) relies on.
 * Offsets at run time (lrncl_forward_at / lrncl_backward_at: one plan at several places of one
 * arena, bitwise the runs of separate plans with those offsets in their descriptors; bad offsets
 * refused before anything is enqueued); context options (each field, and that it wins over its
 * environment variable); shared contexts and reference counts (also from threads); the disk
 * cache filled while the host lives (a process that ends with _exit, never releasing its
 * context, leaves its programs to the next; flush); the descriptor's struct_size; the bytes each
 * buffer needs; out-of-order queues chained by events only. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "testutil.h"

#include <criterion/criterion.h>

#include <dirent.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

TestSuite(engine, .init = tu_setup, .fini = tu_teardown, .timeout = 240);

static cl_uint context_refs(cl_context c)
{
    cl_uint n = 0;
    cr_assert(clGetContextInfo(c, CL_CONTEXT_REFERENCE_COUNT, sizeof n, &n, NULL) == CL_SUCCESS);
    return n;
}

/* The folders fresh_dir made, removed when the test's process exits normally (a child ending
 * with _exit leaves them to its parent). */
enum { MAX_DIRS = 4 };
static char made[MAX_DIRS][512];
static int nmade;

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_made(void)
{
    for (int i = 0; i < nmade; ++i)
        nftw(made[i], remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh empty folder under the build's temporary space. */
static void fresh_dir(char *buf, size_t size, const char *tag)
{
    const char *base = getenv("TMPDIR");
    snprintf(buf, size, "%s/lrncl-engine-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    cr_assert(mkdtemp(buf) != NULL, "mkdtemp %s failed", buf);
    cr_assert(nmade < MAX_DIRS);
    if (nmade == 0)
        atexit(remove_made);
    snprintf(made[nmade++], sizeof made[0], "%s", buf);
}

/* Files in dir whose names end with suffix (temporaries, ".tmp-*", never do). */
static int count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t l = strlen(e->d_name), s = strlen(suffix);
        n += l > s && strcmp(e->d_name + l - s, suffix) == 0;
    }
    closedir(d);
    return n;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---- offsets at run time ------------------------------------------------------------------ */

/* Where one run's views lie in the arena: element offsets (x, y, dy, dx, dx2 in the dtype's
 * elements; scale and workspace in float32 elements). dx2 receives the backward without a
 * scale, which uses the workspace when the plan needs one. */
struct places {
    size_t x, y, s, dy, dx, dx2, ws;
};

/* Lays out `sets` sets of views one after another with odd gaps; returns the arena's bytes. */
static size_t lay_out(const lrncl_desc *d, struct places *p, int sets)
{
    const size_t es = tu_dtype_size(d), span = lrncl_desc_span(d);
    size_t at = 0, gap = 3;
    for (int k = 0; k < sets; ++k) {
        size_t *field[7] = {&p[k].x, &p[k].y, &p[k].s, &p[k].dy, &p[k].dx, &p[k].dx2, &p[k].ws};
        for (int f = 0; f < 7; ++f) {
            const size_t fs = (f == 2 || f == 6) ? 4 : es; /* scale and workspace: float32 */
            at += gap * fs;
            gap = gap * 7 % 11 + 1;
            at = (at + fs - 1) / fs * fs;
            *field[f] = at / fs;
            at += span * fs;
        }
    }
    return at + 64;
}

/* The arena's first image: a sentinel everywhere, each set's x and dy views filled. */
static unsigned char *arena_image(const lrncl_desc *d, const struct places *p, int sets, size_t bytes,
                                  const float *x, const float *dy)
{
    unsigned char *a = tu_alloc(bytes);
    memset(a, 0x5a, bytes);
    const size_t es = tu_dtype_size(d), span = lrncl_desc_span(d);
    size_t ib = 0;
    unsigned char *ix = tu_image_make(d, 0, es, x, &ib), *idy = tu_image_make(d, 0, es, dy, &ib);
    for (int k = 0; k < sets; ++k) {
        memcpy(a + p[k].x * es, ix, span * es);
        memcpy(a + p[k].dy * es, idy, span * es);
    }
    free(ix);
    free(idy);
    return a;
}

static void expect_ok(lrncl_status st, const char *what)
{
    cr_assert(st == LRNCL_SUCCESS, "%s -> %s: %s", what, lrncl_status_string(st), lrncl_last_error());
}

/* One plan at several places of one arena against separate plans whose descriptors hold those
 * offsets: the two arenas bitwise equal, and one set's outputs within the float64 bounds. */
static void arena_case(lrncl_desc d, const char *label)
{
    enum { SETS = 3 };
    const size_t count = lrncl_desc_elements(&d), es = tu_dtype_size(&d), span = lrncl_desc_span(&d);
    float *x = tu_floats(count), *dy = tu_floats(count);
    struct tu_rng g;
    tu_rng_init(&g, tu_seed(1903));
    tu_random_inputs(&g, &d, x, dy, count, 2.0);
    struct places p[SETS];
    const size_t bytes = lay_out(&d, p, SETS);
    unsigned char *img = arena_image(&d, p, SETS, bytes, x, dy);
    cl_mem one = tu_buffer_image(img, bytes), sep = tu_buffer_image(img, bytes);

    lrncl_plan *plan = tu_plan(tu.ctx, &d);
    const int needs_ws = lrncl_plan_workspace_size(plan, LRNCL_KERNEL_BACKWARD) > 0;
    for (int k = 0; k < SETS; ++k) {
        /* the one plan, offsets at run time */
        expect_ok(lrncl_forward_at(plan, tu.q, one, p[k].x, one, p[k].y, one, p[k].s, 0, NULL, NULL), "forward_at");
        expect_ok(lrncl_backward_at(plan, tu.q, one, p[k].x, one, p[k].y, one, p[k].dy, one, p[k].s, one, p[k].dx,
                                    NULL, 0, 0, NULL, NULL), "backward_at");
        expect_ok(lrncl_backward_at(plan, tu.q, one, p[k].x, one, p[k].y, one, p[k].dy, NULL, 0, one, p[k].dx2,
                                    needs_ws ? one : NULL, p[k].ws, 0, NULL, NULL), "backward_at without a scale");
        /* separate plans, offsets in their descriptors */
        lrncl_desc e = d;
        e.offset_x = p[k].x, e.offset_y = p[k].y, e.offset_scale = p[k].s, e.offset_dy = p[k].dy;
        e.offset_dx = p[k].dx;
        lrncl_plan *q = tu_plan(tu.ctx, &e);
        e.offset_dx = p[k].dx2;
        lrncl_plan *q2 = tu_plan(tu.ctx, &e);
        expect_ok(lrncl_forward(q, tu.q, sep, sep, sep, 0, NULL, NULL), "forward");
        expect_ok(lrncl_backward(q, tu.q, sep, sep, sep, sep, sep, 0, NULL, NULL), "backward");
        expect_ok(lrncl_backward_ws(q2, tu.q, sep, sep, sep, NULL, sep, needs_ws ? sep : NULL, p[k].ws, 0, NULL,
                                    NULL), "backward_ws without a scale");
        cr_assert(clFinish(tu.q) == CL_SUCCESS);
        lrncl_plan_release(q);
        lrncl_plan_release(q2);
    }
    unsigned char *a = tu_alloc(bytes), *b = tu_alloc(bytes);
    tu_read_bytes(one, a, bytes);
    tu_read_bytes(sep, b, bytes);
    size_t diff = 0;
    while (diff < bytes && a[diff] == b[diff])
        ++diff;
    cr_expect(diff == bytes, "%s: the arena of one plan at run-time offsets differs from separate plans' at byte "
              "%zu of %zu", label, diff, bytes);

    /* the last set against the float64 reference */
    double *ry = tu_doubles(count), *rs = tu_doubles(count), *rdx = tu_doubles(count);
    cr_assert(tu_reference(&d, x, dy, ry, rs, rdx) == LRNCL_SUCCESS);
    size_t ib = 0;
    unsigned char *view = tu_image_make(&d, 0, es, NULL, &ib);
    float *got = tu_floats(count);
    struct tu_cmp cmp;
    memcpy(view, a + p[SETS - 1].y * es, span * es);
    tu_image_read(&d, 0, es, view, got);
    bool fwd_ok = d.dtype == LRNCL_FLOAT16 ? tu_check(label, &d, got, NULL, ry, count, TU_F16_FWD_MAX_REL, 0, &cmp)
                                           : tu_check_forward(label, &d, got, ry, count, &cmp);
    cr_expect(fwd_ok, "%s: y: %s", label, cmp.msg);
    memcpy(view, a + p[SETS - 1].dx2 * es, span * es);
    tu_image_read(&d, 0, es, view, got);
    bool ok = d.dtype == LRNCL_FLOAT16
                  ? tu_check(label, &d, got, NULL, rdx, count, TU_F16_BWD_MAX_REL, 0, &cmp)
                  : tu_check_backward(label, &d, got, rdx, count, &cmp);
    cr_expect(ok, "%s: dx without a scale: %s", label, cmp.msg);
    /* nothing between the views was written */
    size_t gaps_bad = 0;
    for (size_t i = 0; i < p[0].x * es; ++i)
        gaps_bad += a[i] != 0x5a;
    for (size_t i = bytes - 64; i < bytes; ++i)
        gaps_bad += a[i] != 0x5a;
    cr_expect(gaps_bad == 0, "%s: %zu bytes outside the views were written", label, gaps_bad);

    free(view);
    free(got);
    free(ry);
    free(rs);
    free(rdx);
    free(a);
    free(b);
    free(img);
    free(x);
    free(dy);
    lrncl_plan_release(plan);
    tu_release(&one);
    tu_release(&sep);
}

Test(engine, one_plan_at_several_offsets_of_one_arena)
{
    arena_case(tu_desc(LRNCL_CONVENTION_CAFFE, LRNCL_ACROSS_CHANNELS, 5, 0.8f, 0.75f, 1.5f, 2, 7, 5, 3),
               "across nchw f32");
    lrncl_desc w = tu_desc(LRNCL_CONVENTION_CAFFE, LRNCL_WITHIN_CHANNEL, 3, 0.9f, 0.75f, 1.0f, 2, 5, 6, 4);
    w.layout = LRNCL_LAYOUT_NHWC; /* backward without a scale takes a workspace here */
    w.dtype = LRNCL_FLOAT16;
    arena_case(w, "within nhwc f16");
    lrncl_desc s = tu_desc(LRNCL_CONVENTION_PYTORCH, LRNCL_ACROSS_CHANNELS, 4, 0.7f, 0.6f, 2.0f, 2, 6, 3, 4);
    s.layout = LRNCL_LAYOUT_STRIDED; /* NCHW with a padded row */
    s.stride_w = 1, s.stride_h = 5, s.stride_c = 3 * 5, s.stride_n = 6 * 3 * 5;
    arena_case(s, "across strided f32");
}

/* In-place forward at run time: y at x's own offset, bitwise the in-place run of a plan with
 * those offsets in its descriptor; y one element past x is refused. */
Test(engine, in_place_at_run_time_offsets)
{
    lrncl_desc d = tu_desc(LRNCL_CONVENTION_CAFFE, LRNCL_ACROSS_CHANNELS, 5, 0.8f, 0.75f, 1.5f, 2, 7, 5, 3);
    const size_t count = lrncl_desc_elements(&d), off = 37, total = off + count + 11;
    float *img = tu_floats(total), *a = tu_floats(total), *b = tu_floats(total);
    struct tu_rng g;
    tu_rng_init(&g, tu_seed(1904));
    for (size_t i = 0; i < total; ++i)
        img[i] = (float)tu_rng_normal(&g);
    cl_mem one = tu_buffer_from(img, total), sep = tu_buffer_from(img, total);
    lrncl_plan *p = tu_plan(tu.ctx, &d);
    expect_ok(lrncl_forward_at(p, tu.q, one, off, one, off, NULL, 0, 0, NULL, NULL), "in-place forward_at");
    lrncl_desc e = d;
    e.offset_x = e.offset_y = off;
    lrncl_plan *q = tu_plan(tu.ctx, &e);
    expect_ok(lrncl_forward(q, tu.q, sep, sep, NULL, 0, NULL, NULL), "in-place forward");
    tu_read(one, a, total);
    tu_read(sep, b, total);
    cr_expect(tu_first_difference(a, b, total) == total, "in place at run time differs from the descriptor's");
    lrncl_status st = lrncl_forward_at(p, tu.q, one, off, one, off + 1, NULL, 0, 0, NULL, NULL);
    cr_expect(st == LRNCL_ERROR_ALIASED_BUFFERS, "y one element past x -> %s", lrncl_status_string(st));
    lrncl_plan_release(p);
    lrncl_plan_release(q);
    tu_release(&one);
    tu_release(&sep);
    free(img);
    free(a);
    free(b);
}

struct refusal {
    const char *what;
    lrncl_status want, got;
};

/* Every check applies to the run-time offsets, and the descriptor's are not used by _at. */
Test(engine, bad_run_time_offsets_refused)
{
    lrncl_desc d = tu_desc(LRNCL_CONVENTION_CAFFE, LRNCL_ACROSS_CHANNELS, 5, 0.8f, 0.75f, 1.5f, 2, 7, 5, 3);
    const size_t count = lrncl_desc_elements(&d);
    lrncl_desc far = d;
    far.offset_x = far.offset_y = far.offset_scale = far.offset_dy = far.offset_dx = 100000;
    lrncl_plan *p = tu_plan(tu.ctx, &far); /* its own offsets would not fit the buffers below */
    float *x = tu_floats(count);
    for (size_t i = 0; i < count; ++i)
        x[i] = (float)(i % 13) - 6.0f;
    cl_mem bx = tu_buffer_from(x, count), by = tu_buffer(count), bs = tu_buffer(count), bdx = tu_buffer(count);
    cl_mem arena = tu_buffer(3 * count);
    struct refusal cases[8];
    int n = 0;
    tu_poison(by, count);
    tu_poison(bdx, count);
    cases[n++] = (struct refusal){"x offset 1 past an exact buffer", LRNCL_ERROR_BUFFER_TOO_SMALL,
                                    lrncl_forward_at(p, tu.q, bx, 1, by, 0, NULL, 0, 0, NULL, NULL)};
    cases[n++] = (struct refusal){"scale offset 1 past an exact buffer", LRNCL_ERROR_BUFFER_TOO_SMALL,
                                    lrncl_forward_at(p, tu.q, bx, 0, by, 0, bs, 1, 0, NULL, NULL)};
    cases[n++] = (struct refusal){"y overlapping x by one element", LRNCL_ERROR_ALIASED_BUFFERS,
                                    lrncl_forward_at(p, tu.q, arena, 0, arena, count - 1, NULL, 0, 0, NULL, NULL)};
    cases[n++] = (struct refusal){"scale overlapping y", LRNCL_ERROR_ALIASED_BUFFERS,
                                    lrncl_forward_at(p, tu.q, bx, 0, arena, 0, arena, count / 2, 0, NULL, NULL)};
    cases[n++] = (struct refusal){"dx overlapping dy", LRNCL_ERROR_ALIASED_BUFFERS,
                                    lrncl_backward_at(p, tu.q, bx, 0, by, 0, arena, 0, NULL, 0, arena, count - 3,
                                                      NULL, 0, 0, NULL, NULL)};
    cases[n++] = (struct refusal){"x offset overflowing size_t", LRNCL_ERROR_SHAPE_OVERFLOW,
                                    lrncl_forward_at(p, tu.q, bx, SIZE_MAX / 2, by, 0, NULL, 0, 0, NULL, NULL)};
    cases[n++] = (struct refusal){"dx offset 1 past an exact buffer", LRNCL_ERROR_BUFFER_TOO_SMALL,
                                    lrncl_backward_at(p, tu.q, bx, 0, by, 0, bs, 0, NULL, 0, bdx, 1, NULL, 0, 0, NULL,
                                                      NULL)};
    for (int i = 0; i < n; ++i)
        cr_expect(cases[i].got == cases[i].want, "%s: %s, expected %s", cases[i].what,
                  lrncl_status_string(cases[i].got), lrncl_status_string(cases[i].want));
    cr_assert(clFinish(tu.q) == CL_SUCCESS);
    cr_expect(tu_still_poisoned(by, count) && tu_still_poisoned(bdx, count), "a refused call wrote an output");
    /* the same buffers at offset 0 work, though the descriptor's offsets would not fit */
    expect_ok(lrncl_forward_at(p, tu.q, bx, 0, by, 0, bs, 0, 0, NULL, NULL), "forward_at at offset 0");
    lrncl_status st = lrncl_forward(p, tu.q, bx, by, bs, 0, NULL, NULL);
    cr_expect(st == LRNCL_ERROR_BUFFER_TOO_SMALL, "lrncl_forward with the descriptor's far offsets -> %s",
              lrncl_status_string(st));
    cr_assert(clFinish(tu.q) == CL_SUCCESS);

    /* the workspace at a run-time offset past its buffer */
    lrncl_desc w = tu_desc(LRNCL_CONVENTION_CAFFE, LRNCL_WITHIN_CHANNEL, 3, 0.9f, 0.75f, 1.0f, 2, 5, 6, 4);
    w.layout = LRNCL_LAYOUT_NHWC;
    lrncl_plan *pw = tu_plan(tu.ctx, &w);
    const size_t ws = lrncl_plan_workspace_size(pw, LRNCL_KERNEL_BACKWARD);
    cr_assert(ws > 0, "the NHWC within backward without a scale takes a workspace");
    cl_mem bws = tu_buffer_bytes(ws), bdy = tu_buffer(count);
    tu_write(bdy, x, count);
    st = lrncl_backward_at(pw, tu.q, bx, 0, by, 0, bdy, 0, NULL, 0, bdx, 0, bws, 1, 0, NULL, NULL);
    cr_expect(st == LRNCL_ERROR_BUFFER_TOO_SMALL, "workspace offset 1 past an exact buffer -> %s",
              lrncl_status_string(st));
    lrncl_plan_release(pw);
    lrncl_plan_release(p);
    tu_release(&bws);
    tu_release(&bdy);
    tu_release(&bx);
    tu_release(&by);
    tu_release(&bs);
    tu_release(&bdx);
    tu_release(&arena);
    free(x);
}

/* ---- descriptor: struct_size, bytes ------------------------------------------------------- */

Test(engine, descriptor_without_init_refused)
{
    lrncl_desc d;
    memset(&d, 0, sizeof d); /* every field set by hand, struct_size left 0 */
    d.mode = LRNCL_ACROSS_CHANNELS;
    d.local_size = 5, d.alpha = 1e-4f, d.beta = 0.75f, d.k = 1.0f;
    d.n = 1, d.c = 8, d.h = 2, d.w = 2;
    d.alpha_divisor = LRNCL_ALPHA_OVER_N, d.use_k = 1;
    lrncl_plan *p = NULL;
    lrncl_status st = lrncl_plan_create(tu.ctx, &d, &p);
    cr_expect(st == LRNCL_ERROR_INVALID_VALUE && !p, "plan_create -> %s", lrncl_status_string(st));
    cr_expect(strstr(lrncl_last_error(), "call lrncl_desc_init") != NULL, "message: %s", lrncl_last_error());
    cr_expect(lrncl_desc_span(&d) == 0 && lrncl_desc_elements(&d) == 0 && lrncl_desc_bytes(&d, LRNCL_TENSOR_X) == 0,
              "span, elements, bytes of an uninitialised descriptor are not 0");
    double in[32] = {0}, out[32];
    st = lrncl_reference_forward(&d, in, out, NULL);
    cr_expect(st == LRNCL_ERROR_INVALID_VALUE, "reference_forward -> %s", lrncl_status_string(st));
    size_t dims[2] = {2, 2};
    st = lrncl_desc_set_shape_nd(&d, 1, 8, 2, dims);
    cr_expect(st == LRNCL_ERROR_INVALID_VALUE, "set_shape_nd -> %s", lrncl_status_string(st));
    d.struct_size = sizeof d + 8; /* a later header's descriptor */
    st = lrncl_plan_create(tu.ctx, &d, &p);
    cr_expect(st == LRNCL_ERROR_INVALID_VALUE, "struct_size of a later version -> %s", lrncl_status_string(st));
    d.struct_size = sizeof d; /* what lrncl_desc_init sets: the same fields now make a plan */
    expect_ok(lrncl_plan_create(tu.ctx, &d, &p), "plan_create with struct_size set");
    lrncl_plan_release(p);
    lrncl_desc e;
    memset(&e, 0xab, sizeof e);
    lrncl_desc_init(&e, LRNCL_WITHIN_CHANNEL);
    cr_expect(e.struct_size == sizeof e, "lrncl_desc_init set struct_size %zu", e.struct_size);
}

Test(engine, desc_bytes)
{
    lrncl_desc d = tu_desc(LRNCL_CONVENTION_CAFFE, LRNCL_ACROSS_CHANNELS, 5, 1.0f, 0.75f, 1.0f, 2, 3, 4, 5);
    const lrncl_tensor all[] = {LRNCL_TENSOR_X, LRNCL_TENSOR_Y, LRNCL_TENSOR_SCALE, LRNCL_TENSOR_DY, LRNCL_TENSOR_DX};
    for (int i = 0; i < 5; ++i)
        cr_expect(lrncl_desc_bytes(&d, all[i]) == 120 * 4, "f32 nchw tensor %d: %zu", i, lrncl_desc_bytes(&d, all[i]));
    d.dtype = LRNCL_FLOAT16;
    d.offset_x = 1000; /* offsets excluded */
    cr_expect(lrncl_desc_bytes(&d, LRNCL_TENSOR_X) == 120 * 2 && lrncl_desc_bytes(&d, LRNCL_TENSOR_SCALE) == 120 * 4,
              "f16: x %zu, scale %zu", lrncl_desc_bytes(&d, LRNCL_TENSOR_X), lrncl_desc_bytes(&d, LRNCL_TENSOR_SCALE));
    d.layout = LRNCL_LAYOUT_STRIDED; /* a view with padding: span 1 + (1*100 + 2*30 + 3*6 + 4*1) */
    d.stride_n = 100, d.stride_c = 30, d.stride_h = 6, d.stride_w = 1;
    cr_expect(lrncl_desc_bytes(&d, LRNCL_TENSOR_DY) == 183 * 2 && lrncl_desc_span(&d) == 183,
              "strided f16 dy: %zu", lrncl_desc_bytes(&d, LRNCL_TENSOR_DY));
    cr_expect(lrncl_desc_bytes(&d, (lrncl_tensor)5) == 0 && lrncl_desc_bytes(NULL, LRNCL_TENSOR_X) == 0,
              "a bad tensor or a NULL descriptor is not 0");
    d.stride_w = 0; /* overlapping view */
    cr_expect(lrncl_desc_bytes(&d, LRNCL_TENSOR_X) == 0, "a bad layout is not 0");
}

/* ---- out-of-order queues ------------------------------------------------------------------ */

Test(engine, out_of_order_queue_chained_by_events)
{
    cl_command_queue_properties props = 0;
    cr_assert(clGetDeviceInfo(tu.dev, CL_DEVICE_QUEUE_PROPERTIES, sizeof props, &props, NULL) == CL_SUCCESS);
    if (!(props & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE))
        cr_skip_test("the device has no out-of-order queues (CL_DEVICE_QUEUE_PROPERTIES 0x%llx)",
                     (unsigned long long)props);
    cl_int err;
    cl_command_queue q = clCreateCommandQueue(tu.cl, tu.dev, CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, &err);
    cr_assert(err == CL_SUCCESS, "clCreateCommandQueue(out of order) -> %d", (int)err);
    /* within NHWC: backward without a scale runs two kernels, which `done` must cover */
    lrncl_desc d = tu_desc(LRNCL_CONVENTION_CAFFE, LRNCL_WITHIN_CHANNEL, 3, 0.9f, 0.75f, 1.0f, 2, 9, 11, 13);
    d.layout = LRNCL_LAYOUT_NHWC;
    const size_t count = lrncl_desc_elements(&d);
    float *x = tu_floats(count), *dy = tu_floats(count), *xn = tu_floats(count), *dyn = tu_floats(count);
    float *y = tu_floats(count), *dx = tu_floats(count), *yn = tu_floats(count), *dxn = tu_floats(count);
    struct tu_rng g;
    tu_rng_init(&g, tu_seed(1908));
    tu_random_inputs(&g, &d, xn, dyn, count, 2.0);
    size_t st4[4];
    tu_view_strides(&d, st4); /* NCHW host arrays to NHWC storage and back */
    for (size_t n = 0, i = 0; n < d.n; ++n)
        for (size_t c = 0; c < d.c; ++c)
            for (size_t h = 0; h < d.h; ++h)
                for (size_t w = 0; w < d.w; ++w, ++i) {
                    size_t j = n * st4[0] + c * st4[1] + h * st4[2] + w * st4[3];
                    x[j] = xn[i];
                    dy[j] = dyn[i];
                }
    lrncl_plan *p = tu_plan(tu.ctx, &d);
    cl_mem bx = tu_buffer(count), by = tu_buffer(count), bdy = tu_buffer(count), bdx = tu_buffer(count);
    tu_poison(by, count);
    tu_poison(bdx, count);
    cl_event wx, wdy, fwd, bwd, rdy;
    cr_assert(clEnqueueWriteBuffer(q, bx, CL_FALSE, 0, count * 4, x, 0, NULL, &wx) == CL_SUCCESS);
    cr_assert(clEnqueueWriteBuffer(q, bdy, CL_FALSE, 0, count * 4, dy, 0, NULL, &wdy) == CL_SUCCESS);
    expect_ok(lrncl_forward(p, q, bx, by, NULL, 1, &wx, &fwd), "forward on an out-of-order queue");
    cl_event before_bwd[2] = {fwd, wdy};
    expect_ok(lrncl_backward(p, q, bx, by, bdy, NULL, bdx, 2, before_bwd, &bwd), "backward on an out-of-order queue");
    cr_assert(clEnqueueReadBuffer(q, by, CL_FALSE, 0, count * 4, y, 1, &bwd, &rdy) == CL_SUCCESS);
    cr_assert(clEnqueueReadBuffer(q, bdx, CL_TRUE, 0, count * 4, dx, 1, &bwd, NULL) == CL_SUCCESS);
    cr_assert(clWaitForEvents(1, &rdy) == CL_SUCCESS);
    for (size_t n = 0, i = 0; n < d.n; ++n)
        for (size_t c = 0; c < d.c; ++c)
            for (size_t h = 0; h < d.h; ++h)
                for (size_t w = 0; w < d.w; ++w, ++i) {
                    size_t j = n * st4[0] + c * st4[1] + h * st4[2] + w * st4[3];
                    yn[i] = y[j];
                    dxn[i] = dx[j];
                }
    double *ry = tu_doubles(count), *rdx = tu_doubles(count);
    cr_assert(tu_reference(&d, xn, dyn, ry, NULL, rdx) == LRNCL_SUCCESS);
    struct tu_cmp cmp;
    cr_expect(tu_check_forward("out-of-order y", &d, yn, ry, count, &cmp), "%s", cmp.msg);
    cr_expect(tu_check_backward("out-of-order dx", &d, dxn, rdx, count, &cmp), "%s", cmp.msg);
    cl_event evs[5] = {wx, wdy, fwd, bwd, rdy};
    for (int i = 0; i < 5; ++i)
        clReleaseEvent(evs[i]);
    lrncl_plan_release(p);
    tu_release(&bx);
    tu_release(&by);
    tu_release(&bdy);
    tu_release(&bdx);
    clReleaseCommandQueue(q);
    free(x), free(dy), free(xn), free(dyn), free(y), free(dx), free(yn), free(dxn), free(ry), free(rdx);
}

/* ---- context options ---------------------------------------------------------------------- */

static lrncl_context *with_options(const lrncl_context_options *o)
{
    lrncl_context *c = NULL;
    lrncl_status st = lrncl_context_create_with_options(tu.cl, tu.dev, o, &c);
    cr_assert(st == LRNCL_SUCCESS && c, "create_with_options -> %s: %s", lrncl_status_string(st), lrncl_last_error());
    return c;
}

static lrncl_desc small_desc(void)
{
    return tu_desc(LRNCL_CONVENTION_CAFFE, LRNCL_ACROSS_CHANNELS, 3, 0.8f, 0.75f, 1.25f, 1, 6, 3, 4);
}

Test(engine, option_cache_dir_wins_over_the_environment)
{
    char dir[512], envdir[512];
    fresh_dir(dir, sizeof dir, "opt-cache");
    fresh_dir(envdir, sizeof envdir, "env-cache");
    setenv("LRNCL_CACHE_DIR", envdir, 1);
    lrncl_context_options o;
    lrncl_context_options_init(&o);
    o.cache_dir = dir;
    lrncl_context *c = with_options(&o);
    lrncl_desc d = small_desc();
    lrncl_plan *p = tu_plan(c, &d);
    expect_ok(lrncl_context_flush(c), "flush");
    cr_expect(count_files(dir, ".lrnclbin") == 1, "the option's folder holds %d entries", count_files(dir, ".lrnclbin"));
    cr_expect(count_files(envdir, ".lrnclbin") == 0, "the environment's folder was written");
    lrncl_plan_release(p);
    lrncl_context_release(c);
    /* "off" with the variable naming a folder: nothing written anywhere */
    o.cache_dir = "off";
    c = with_options(&o);
    d.k = 2.5f, d.beta = 0.6f; /* another variant */
    p = tu_plan(c, &d);
    expect_ok(lrncl_context_flush(c), "flush");
    lrncl_plan_release(p);
    lrncl_context_release(c);
    cr_expect(count_files(envdir, ".lrnclbin") == 0 && count_files(dir, ".lrnclbin") == 1,
              "cache_dir \"off\" wrote an entry");
    /* NULL: the environment's folder */
    o.cache_dir = NULL;
    c = with_options(&o);
    p = tu_plan(c, &d);
    expect_ok(lrncl_context_flush(c), "flush");
    cr_expect(count_files(envdir, ".lrnclbin") == 1, "cache_dir NULL did not take LRNCL_CACHE_DIR");
    lrncl_plan_release(p);
    lrncl_context_release(c);
}

/* A database file with one entry for the plan's forward key. */
static void write_db(const char *path, const lrncl_plan *p, size_t local, size_t block)
{
    char key[512];
    cr_assert(lrncl_plan_tuning_key(p, LRNCL_KERNEL_FORWARD, key, sizeof key) <= sizeof key);
    FILE *f = fopen(path, "w");
    cr_assert(f != NULL);
    fprintf(f, "%s\t%zu\t%zu\n", key, local, block);
    fclose(f);
}

Test(engine, option_tuning_db_wins_over_the_environment)
{
    char dir[512], opt_db[600], env_db[600];
    fresh_dir(dir, sizeof dir, "tuning");
    snprintf(opt_db, sizeof opt_db, "%s/opt.db", dir);
    snprintf(env_db, sizeof env_db, "%s/env.db", dir);
    lrncl_desc d = small_desc();
    lrncl_plan *probe = tu_plan(tu.ctx, &d);
    write_db(opt_db, probe, 4, 3);
    write_db(env_db, probe, 2, 5);
    lrncl_plan_release(probe);
    setenv("LRNCL_TUNING_DB", env_db, 1);
    lrncl_context_options o;
    lrncl_context_options_init(&o);
    o.tuning_db = opt_db;
    lrncl_context *c = with_options(&o);
    lrncl_plan *p = tu_plan(c, &d);
    lrncl_tuning t;
    expect_ok(lrncl_plan_get_tuning(p, LRNCL_KERNEL_FORWARD, &t), "get_tuning");
    cr_expect(lrncl_plan_tuning_source(p, LRNCL_KERNEL_FORWARD) == LRNCL_TUNING_FILE_DB && t.local_size == 4 &&
                  t.slide_block == 3, "option's database: local %zu, block %zu", t.local_size, t.slide_block);
    lrncl_plan_release(p);
    lrncl_context_release(c);
    o.tuning_db = ""; /* the built-in database only */
    c = with_options(&o);
    p = tu_plan(c, &d);
    cr_expect(lrncl_plan_tuning_source(p, LRNCL_KERNEL_FORWARD) != LRNCL_TUNING_FILE_DB,
              "tuning_db \"\" still read LRNCL_TUNING_DB");
    lrncl_plan_release(p);
    lrncl_context_release(c);
    o.tuning_db = NULL; /* the environment's */
    c = with_options(&o);
    p = tu_plan(c, &d);
    expect_ok(lrncl_plan_get_tuning(p, LRNCL_KERNEL_FORWARD, &t), "get_tuning");
    cr_expect(t.local_size == 2 && t.slide_block == 5, "tuning_db NULL: local %zu, block %zu", t.local_size,
              t.slide_block);
    lrncl_plan_release(p);
    lrncl_context_release(c);
}

Test(engine, option_device_class_wins_over_the_environment)
{
    setenv("LRNCL_DEVICE_CLASS", "cpu", 1);
    lrncl_context_options o;
    lrncl_context_options_init(&o);
    o.device_class = "gpu";
    lrncl_context *c = with_options(&o);
    lrncl_desc d = small_desc();
    lrncl_plan *p = tu_plan(c, &d);
    cr_expect(strcmp(lrncl_plan_device_class(p), "gpu") == 0, "class %s", lrncl_plan_device_class(p));
    lrncl_plan_release(p);
    lrncl_context_release(c);
    o.device_class = NULL;
    setenv("LRNCL_DEVICE_CLASS", "fpga", 1);
    c = with_options(&o);
    p = tu_plan(c, &d);
    cr_expect(strcmp(lrncl_plan_device_class(p), "fpga") == 0, "device_class NULL: class %s",
              lrncl_plan_device_class(p));
    lrncl_plan_release(p);
    lrncl_context_release(c);
    o.device_class = "tpu";
    c = NULL;
    lrncl_status st = lrncl_context_create_with_options(tu.cl, tu.dev, &o, &c);
    cr_expect(st == LRNCL_ERROR_INVALID_DEVICE && !c, "device_class \"tpu\" -> %s", lrncl_status_string(st));
}

Test(engine, option_bundle_and_binary_only)
{
    char dir[512];
    fresh_dir(dir, sizeof dir, "bundle");
    lrncl_desc d = small_desc();
    expect_ok(lrncl_bundle_add(tu.ctx, &d, dir, LRNCL_BUNDLE_BINARIES), "bundle_add");
    lrncl_context_options o;
    lrncl_context_options_init(&o);
    o.bundle_dir = dir;
    o.cache_dir = "off";
    lrncl_context *c = with_options(&o);
    lrncl_plan *p = tu_plan(c, &d);
    lrncl_program_info info;
    expect_ok(lrncl_plan_program_info(p, 0, &info), "program_info");
    cr_expect(info.origin == LRNCL_PROGRAM_BUNDLE, "bundle_dir: origin %s", lrncl_program_origin_string(info.origin));
    lrncl_plan_release(p);
    lrncl_desc other = d;
    other.mode = LRNCL_WITHIN_CHANNEL;
    p = tu_plan(c, &other); /* not binary-only: a variant the bundle lacks is built */
    lrncl_plan_release(p);
    lrncl_context_release(c);
    o.binary_only = 1;
    c = with_options(&o);
    p = NULL;
    lrncl_status st = lrncl_plan_create(c, &other, &p);
    cr_expect(st == LRNCL_ERROR_MISSING_BINARY && !p, "binary_only, missing variant -> %s", lrncl_status_string(st));
    lrncl_context_release(c);
    o.bundle_dir = NULL;
    c = NULL;
    st = lrncl_context_create_with_options(tu.cl, tu.dev, &o, &c);
    cr_expect(st == LRNCL_ERROR_INVALID_VALUE && !c, "binary_only without bundle_dir -> %s", lrncl_status_string(st));
}

Test(engine, options_struct_size)
{
    lrncl_context_options zero;
    memset(&zero, 0, sizeof zero); /* zero-initialised: the first version, every default */
    lrncl_context *c = with_options(&zero);
    lrncl_context_release(c);
    c = with_options(NULL);
    lrncl_context_release(c);
    lrncl_context_options o;
    lrncl_context_options_init(&o);
    cr_expect(o.struct_size == sizeof o && !o.cache_dir && !o.tuning_db && !o.device_class && !o.bundle_dir &&
                  !o.binary_only, "lrncl_context_options_init");
    o.struct_size = sizeof o + 16; /* a later version's */
    c = NULL;
    lrncl_status st = lrncl_context_create_with_options(tu.cl, tu.dev, &o, &c);
    cr_expect(st == LRNCL_ERROR_INVALID_VALUE && !c, "unknown struct_size -> %s", lrncl_status_string(st));
    cr_expect(strstr(lrncl_last_error(), "lrncl_context_options_init") != NULL, "message: %s", lrncl_last_error());
}

/* ---- shared contexts and references ------------------------------------------------------- */

Test(engine, shared_context_per_cl_context)
{
    const cl_uint r0 = context_refs(tu.cl);
    lrncl_context *a = NULL, *b = NULL;
    expect_ok(lrncl_context_create_shared(tu.cl, tu.dev, &a), "create_shared");
    expect_ok(lrncl_context_create_shared(tu.cl, tu.dev, &b), "create_shared again");
    cr_expect(a == b && a != tu.ctx, "two create_shared calls gave %p and %p", (void *)a, (void *)b);
    cr_expect(context_refs(tu.cl) == r0 + 1, "cl_context references %u, expected %u", context_refs(tu.cl), r0 + 1);
    lrncl_desc d = small_desc();
    lrncl_plan *p1 = tu_plan(a, &d);
    lrncl_plan *p2 = tu_plan(b, &d);
    cr_expect(tu_programs_made(a) == 1, "the shared context made %zu programs for one variant", tu_programs_made(a));
    lrncl_plan_release(p1);
    lrncl_plan_release(p2);
    lrncl_context_release(a); /* one reference left: still usable */
    p1 = tu_plan(b, &d);
    lrncl_plan_release(p1);
    lrncl_context_release(b); /* (its programs hold cl_context references too: count only now) */
    cr_expect(context_refs(tu.cl) == r0, "after the last release: %u references, expected %u", context_refs(tu.cl), r0);
    /* another cl_context gets another shared context */
    cl_int err;
    cl_context other = clCreateContext(NULL, 1, &tu.dev, NULL, NULL, &err);
    cr_assert(err == CL_SUCCESS);
    lrncl_context *c = NULL;
    expect_ok(lrncl_context_create_shared(other, tu.dev, &c), "create_shared on another cl_context");
    expect_ok(lrncl_context_create_shared(tu.cl, tu.dev, &a), "create_shared after the last release");
    cr_expect(c != a && lrncl_context_cl(c) == other && lrncl_context_cl(a) == tu.cl, "contexts mixed up");
    lrncl_context_release(c);
    lrncl_context_release(a);
    clReleaseContext(other);
    lrncl_status st = lrncl_context_create_shared(tu.cl, tu.dev, NULL);
    cr_expect(st == LRNCL_ERROR_NULL_ARGUMENT, "out NULL -> %s", lrncl_status_string(st));
}

Test(engine, retain_and_release)
{
    const cl_uint r0 = context_refs(tu.cl);
    lrncl_context *c = NULL;
    expect_ok(lrncl_context_create(tu.cl, tu.dev, &c), "create");
    expect_ok(lrncl_context_retain(c), "retain");
    lrncl_context_release(c);
    cr_expect(context_refs(tu.cl) == r0 + 1, "released with a reference left");
    lrncl_desc d = small_desc();
    lrncl_plan *p = tu_plan(c, &d); /* still alive */
    lrncl_plan_release(p);
    lrncl_context_release(c);
    cr_expect(context_refs(tu.cl) == r0, "the last release left %u references, expected %u", context_refs(tu.cl), r0);
    cr_expect(lrncl_context_retain(NULL) == LRNCL_ERROR_NULL_ARGUMENT, "retain(NULL)");
}

enum { SHARERS = 8, ROUNDS = 20 };
struct sharer {
    cl_context cl;
    cl_device_id dev;
    lrncl_context *got[ROUNDS];
    int failures;
    pthread_barrier_t *start;
};

static void *share_loop(void *arg)
{
    struct sharer *s = arg;
    pthread_barrier_wait(s->start);
    for (int r = 0; r < ROUNDS; ++r) {
        lrncl_context *c = NULL;
        if (lrncl_context_create_shared(s->cl, s->dev, &c) != LRNCL_SUCCESS || !c)
            s->failures++;
        s->got[r] = c;
        if (c && r % 3 == 0) { /* a retain and a release in between */
            lrncl_context_retain(c);
            lrncl_context_release(c);
        }
    }
    for (int r = 0; r < ROUNDS; ++r)
        lrncl_context_release(s->got[r]);
    return NULL;
}

/* Threads asking for the shared context at once all get one context, and the counts balance. */
Test(engine, shared_context_from_threads)
{
    const cl_uint r0 = context_refs(tu.cl);
    lrncl_context *holder = NULL; /* keeps one context alive through the rounds */
    expect_ok(lrncl_context_create_shared(tu.cl, tu.dev, &holder), "create_shared");
    pthread_barrier_t start;
    cr_assert(pthread_barrier_init(&start, NULL, SHARERS) == 0);
    struct sharer s[SHARERS];
    pthread_t t[SHARERS];
    for (int i = 0; i < SHARERS; ++i) {
        memset(&s[i], 0, sizeof s[i]);
        s[i].cl = tu.cl, s[i].dev = tu.dev, s[i].start = &start;
        cr_assert(pthread_create(&t[i], NULL, share_loop, &s[i]) == 0);
    }
    for (int i = 0; i < SHARERS; ++i)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < SHARERS; ++i) {
        cr_expect(s[i].failures == 0, "thread %d: %d failures", i, s[i].failures);
        for (int r = 0; r < ROUNDS; ++r)
            cr_expect(s[i].got[r] == holder, "thread %d round %d got another context", i, r);
    }
    cr_expect(context_refs(tu.cl) == r0 + 1, "references %u after the threads, expected %u", context_refs(tu.cl), r0 + 1);
    lrncl_context_release(holder);
    cr_expect(context_refs(tu.cl) == r0, "references %u after the last release, expected %u", context_refs(tu.cl), r0);
}

/* ---- the disk cache while the host lives -------------------------------------------------- */

/* The first OpenCL device in a process of its own (no inherited OpenCL state). */
static int child_device(cl_context *ctx, cl_device_id *dev)
{
    cl_platform_id plat[8];
    cl_uint np = 0;
    if (clGetPlatformIDs(8, plat, &np) != CL_SUCCESS)
        return -1;
    for (cl_uint i = 0; i < np && i < 8; ++i)
        if (clGetDeviceIDs(plat[i], CL_DEVICE_TYPE_ALL, 1, dev, NULL) == CL_SUCCESS) {
            cl_int err;
            *ctx = clCreateContext(NULL, 1, dev, NULL, NULL, &err);
            return err == CL_SUCCESS ? 0 : -1;
        }
    return -1;
}

/* Creates a plan, runs it, and waits (calling nothing of lrncl's) until the disk cache holds an
 * entry, at most `wait_s`; then ends with _exit, releasing nothing. */
static void child_run_and_exit(const char *dir, double wait_s)
{
    cl_context ctx;
    cl_device_id dev;
    if (child_device(&ctx, &dev) != 0)
        _exit(2);
    lrncl_context_options o;
    lrncl_context_options_init(&o);
    o.cache_dir = dir;
    lrncl_context *c = NULL;
    lrncl_plan *p = NULL;
    lrncl_desc d = small_desc();
    if (lrncl_context_create_with_options(ctx, dev, &o, &c) != LRNCL_SUCCESS ||
        lrncl_plan_create(c, &d, &p) != LRNCL_SUCCESS)
        _exit(3);
    const size_t count = lrncl_desc_elements(&d);
    cl_int err;
    cl_command_queue q = clCreateCommandQueue(ctx, dev, 0, &err);
    cl_mem x = clCreateBuffer(ctx, CL_MEM_READ_WRITE, count * 4, NULL, &err);
    cl_mem y = clCreateBuffer(ctx, CL_MEM_READ_WRITE, count * 4, NULL, &err);
    const float one = 1.0f;
    clEnqueueFillBuffer(q, x, &one, sizeof one, 0, count * 4, 0, NULL, NULL);
    if (lrncl_forward(p, q, x, y, NULL, 0, NULL, NULL) != LRNCL_SUCCESS || clFinish(q) != CL_SUCCESS)
        _exit(4);
    for (double t0 = now_s(); now_s() - t0 < wait_s && count_files(dir, ".lrnclbin") == 0;)
        nanosleep(&(struct timespec){0, 20000000}, NULL);
    _exit(count_files(dir, ".lrnclbin") == 1 ? 0 : 5);
}

/* No fixture: the child must not inherit OpenCL state (PoCL's threads do not survive fork). */
Test(engine_process, exit_without_release_leaves_the_program, .timeout = 300)
{
    char dir[512];
    fresh_dir(dir, sizeof dir, "exit");
    pid_t kid = fork();
    cr_assert(kid >= 0, "fork failed");
    if (kid == 0)
        child_run_and_exit(dir, 120.0);
    int status = 0;
    cr_assert(waitpid(kid, &status, 0) == kid);
    cr_assert(WIFEXITED(status), "the child did not exit (status %d)", status);
    cr_assert(WEXITSTATUS(status) == 0, "the child ended with %d (5: no cache entry within 120 s of its run, "
              "without release)", WEXITSTATUS(status));
    /* the next process (this one) loads it */
    tu_setup();
    lrncl_context_options o;
    lrncl_context_options_init(&o);
    o.cache_dir = dir;
    lrncl_context *c = with_options(&o);
    lrncl_desc d = small_desc();
    lrncl_plan *p = tu_plan(c, &d);
    lrncl_program_info info;
    expect_ok(lrncl_plan_program_info(p, 0, &info), "program_info");
    cr_expect(info.origin == LRNCL_PROGRAM_DISK_CACHE, "the next process's plan: origin %s",
              lrncl_program_origin_string(info.origin));
    lrncl_plan_release(p);
    lrncl_context_release(c);
    tu_teardown();
}

/* flush writes what is pending and waits; release afterwards has nothing left to write. */
Test(engine, flush_then_release)
{
    char dir[512];
    fresh_dir(dir, sizeof dir, "flush");
    lrncl_context_options o;
    lrncl_context_options_init(&o);
    o.cache_dir = dir;
    lrncl_context *c = with_options(&o);
    lrncl_desc d = small_desc();
    lrncl_desc e = tu_desc(LRNCL_CONVENTION_CAFFE, LRNCL_WITHIN_CHANNEL, 3, 0.8f, 0.75f, 1.0f, 1, 3, 5, 4);
    lrncl_plan *p = tu_plan(c, &d), *q = tu_plan(c, &e);
    expect_ok(lrncl_context_flush(c), "flush");
    cr_expect(count_files(dir, ".lrnclbin") == 2, "after flush: %d entries, expected 2", count_files(dir, ".lrnclbin"));
    expect_ok(lrncl_context_flush(c), "a second flush, nothing pending");
    lrncl_plan_release(p);
    lrncl_plan_release(q);
    const double t0 = now_s();
    lrncl_context_release(c);
    const double release_s = now_s() - t0;
    cr_expect(release_s < 0.5, "release with nothing pending took %.3f s", release_s);
    cr_expect(lrncl_context_flush(NULL) == LRNCL_ERROR_NULL_ARGUMENT, "flush(NULL)");
}
