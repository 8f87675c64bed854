/* testutil.h: shared helpers for the lrncl Criterion suites: the device fixture, buffer
 * helpers, NaN poisoning, the accuracy checks of docs/design.md ("Accuracy") and a seeded PRNG.
 *
 * Criterion runs every test in its own process, so all OpenCL state lives in the fixture
 * (tu_setup / tu_teardown, used as a suite's .init/.fini) and nothing is shared with main(). */
#ifndef LRNCL_TESTUTIL_H
#define LRNCL_TESTUTIL_H

#include <lrncl.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- device fixture ----------------------------------------------------------------------- */
/* The default lrncl context (LRNCL_DEVICE or the first device) and an in-order queue without
 * profiling. Filled by tu_setup, which FAILS the test when there is no device: a suite that
 * tested nothing must never pass. */
struct tu_env {
    lrncl_context   *ctx;
    cl_context       cl;
    cl_device_id     dev;
    cl_command_queue q;
};
extern struct tu_env tu;

void tu_setup(void);
void tu_teardown(void);

/* Programs context c obtained other than from its memory: built from source, or loaded from
 * the disk cache or a bundle (with the disk cache on, a program another test process built
 * is loaded, not built). What "the program cache hits" tests count. */
size_t tu_programs_made(const lrncl_context *c);

/* ---- buffers (all on tu.q, blocking) ------------------------------------------------------ */
cl_mem tu_buffer_bytes(size_t bytes);                   /* CL_MEM_READ_WRITE, asserted */
cl_mem tu_buffer(size_t count);                         /* count floats */
cl_mem tu_buffer_from(const float *data, size_t count); /* count floats, written */
void   tu_write(cl_mem b, const float *src, size_t count);
void   tu_read(cl_mem b, float *dst, size_t count);
/* Fills count floats with NaN, so an element the library forgets to write fails the check. */
void   tu_poison(cl_mem b, size_t count);
/* True when all count floats of b are still NaN (nothing wrote to them). */
bool   tu_still_poisoned(cl_mem b, size_t count);
void   tu_release(cl_mem *b);                           /* NULL-safe, sets *b to NULL */

/* Host allocations that abort the test when they fail. */
void  *tu_alloc(size_t bytes);
float *tu_floats(size_t count);
double *tu_doubles(size_t count);
void   tu_to_double(const float *src, double *dst, size_t count);

/* ---- running a plan ----------------------------------------------------------------------- */
/* lrncl_plan_create on context c, asserted to succeed (the failure names the descriptor). */
lrncl_plan *tu_plan(lrncl_context *c, const lrncl_desc *d);
/* A context on the test device whose disk cache is dir (LRNCL_CACHE_DIR, left set), asserted. */
lrncl_context *tu_context_with_cache(const char *dir);

/* Everything a plan produces for one input: forward with and without a scale buffer, backward
 * with the forward's scale and with scale NULL. Each output buffer is poisoned before each run. */
struct tu_device_result {
    float *y;          /* forward, scale buffer given */
    float *scale;      /* the scale that forward wrote */
    float *y_noscale;  /* forward, scale NULL */
    float *dx;         /* backward with scale */
    float *dx_noscale; /* backward with scale NULL (recomputed) */
    bool   inputs_intact; /* x, dy (and y, scale during backward) unchanged by the library */
    bool   padding_intact; /* tu_run_view: nothing outside the output views was written */
};
/* Runs p on x (and dy, may be NULL to skip backward). Returns the first failing status, with
 * the call's name in *what. Outputs are allocated; free with tu_device_result_free. */
lrncl_status tu_run_plan(lrncl_plan *p, size_t count, const float *x, const float *dy,
                         struct tu_device_result *r, const char **what);
void tu_device_result_free(struct tu_device_result *r);

/* The same for any dtype, layout, strides and offsets of d (the descriptor p was made from).
 * x and dy are logical NCHW floats (for FLOAT16, values a half can hold: see tu_round_to_half);
 * the results come back as NCHW floats too. Every buffer holds offset + span + TU_VIEW_TAIL
 * elements of its type (the scale: float32), computed by the test itself, not the library.
 * Everything outside a view is a sentinel byte pattern that every call must leave alone
 * (r->padding_intact); the view of each output is NaN before each run; the input buffers
 * (x and dy, and y and scale during backward) must come back byte for byte
 * (r->inputs_intact). */
#define TU_VIEW_TAIL 5
lrncl_status tu_run_view(lrncl_plan *p, const lrncl_desc *d, const float *x, const float *dy,
                         struct tu_device_result *r, const char **what);

/* float64 reference of the same descriptor on float inputs: y, scale (may be NULL), dx (needs
 * dy; may be NULL). Returns the reference's status. */
lrncl_status tu_reference(const lrncl_desc *d, const float *x, const float *dy, double *y,
                          double *scale, double *dx);

/* ---- views: the test's own reading of dtype, layout, strides and offsets ------------------ */
/* Element strides (n, c, h, w) of d's layout: NCHW, NHWC or d's STRIDED strides. */
void   tu_view_strides(const lrncl_desc *d, size_t st[4]);
/* 1 + the largest element index of the view (offsets excluded). */
size_t tu_view_span(const lrncl_desc *d);
/* Bytes per element of d's dtype (2 or 4). The scale is always 4. */
size_t tu_dtype_size(const lrncl_desc *d);
/* A host image of one buffer: offset + span + TU_VIEW_TAIL elements of esize bytes, all
 * sentinel bytes except the view, which holds nchw (NaN where nchw is NULL), converted to
 * half when esize is 2. Returns the image (free it) and its size in *bytes. */
unsigned char *tu_image_make(const lrncl_desc *d, size_t offset, size_t esize, const float *nchw,
                             size_t *bytes);
/* The view of an image back into NCHW floats. */
void   tu_image_read(const lrncl_desc *d, size_t offset, size_t esize, const unsigned char *img,
                     float *nchw);
/* True when every byte outside the view still holds the sentinel. */
bool   tu_image_padding_intact(const lrncl_desc *d, size_t offset, size_t esize,
                               const unsigned char *img);
cl_mem tu_buffer_image(const unsigned char *img, size_t bytes); /* a buffer holding the image */
void   tu_read_bytes(cl_mem b, void *dst, size_t bytes);
void   tu_write_bytes(cl_mem b, const void *src, size_t bytes);

/* ---- float16 (IEEE binary16) on the host ------------------------------------------------- */
uint16_t tu_half_from_float(float f);            /* round to nearest even, as vstore_half_rte */
float    tu_half_to_float(uint16_t h);           /* exact */
void     tu_round_to_half(float *x, size_t count); /* x[i] = (float)(half)x[i] */

/* ---- accuracy checks (docs/design.md, "Accuracy") ---------------------------------------- */
#define TU_FWD_MAX_REL  1e-5  /* max|y - ref| <= 1e-5 * max|ref| */
#define TU_FWD_ELEM_REL 1e-4  /* and every element |y - ref| <= 1e-4 * |ref| + floor */
#define TU_FWD_FLOOR    1e-30
#define TU_BWD_MAX_REL  1e-5  /* max|dx - ref| <= 1e-5 * max|dx_ref| */
#define TU_F16_FWD_MAX_REL 2e-3 /* float16 storage: max|y - ref| <= 2e-3 * max|ref| */
#define TU_F16_BWD_MAX_REL 5e-3 /* float16 storage: max|dx - ref| <= 5e-3 * max|dx_ref| */

struct tu_cmp {
    bool   ok;
    double max_err, max_ref, bound;
    double elem_ratio; /* largest err / (elem_rel * |ref| + floor): how close to the element bound */
    size_t worst;      /* index of the largest error */
    size_t elem_bad;   /* elements outside the per-element bound (forward) or of wrong class */
    size_t first_bad;
    char   msg[768];   /* what failed, where (n,c,h,w) and by how much */
};
/* Forward check: max bound plus per-element relative bound. NaN anywhere fails. d may be NULL
 * (then indices are printed flat). */
bool tu_check_forward(const char *what, const lrncl_desc *d, const float *got, const double *ref,
                      size_t count, struct tu_cmp *r);
/* Backward check: max|got - ref| <= TU_BWD_MAX_REL * max|ref|. NaN anywhere fails. */
bool tu_check_backward(const char *what, const lrncl_desc *d, const float *got, const double *ref,
                       size_t count, struct tu_cmp *r);
/* General form: max|got - ref| <= max_rel * max|ref|, and if elem_rel > 0 every element
 * |got - ref| <= elem_rel * |ref| + floor. Works on double results too (got_d) when got is NULL. */
bool tu_check(const char *what, const lrncl_desc *d, const float *got, const double *got_d,
              const double *ref, size_t count, double max_rel, double elem_rel, struct tu_cmp *r);
/* Reference that may hold NaN/Inf: where ref is NaN got must be NaN, where ref is +-Inf got
 * must be the same Inf; finite elements must pass the forward (elem_rel > 0) or backward bound
 * computed over the finite reference values. */
bool tu_check_nonfinite(const char *what, const lrncl_desc *d, const float *got, const double *ref,
                        size_t count, double max_rel, double elem_rel, struct tu_cmp *r);

/* The first index where a and b differ bit for bit; count when they agree. */
size_t tu_first_difference(const float *a, const float *b, size_t count);

/* Every output of a tu_run_plan / tu_run_view result against the float64 reference, with the
 * bounds of d's dtype (float16: y and dx by the float16 bounds, the float32 scale by the float32
 * ones), plus inputs_intact and padding_intact; and the runs without a scale bit for bit those
 * with one (the scale is recomputed exactly as the forward computes it). Each failure is a
 * cr_expect naming label. Returns true when all passed. */
bool tu_expect_result(const char *label, const lrncl_desc *d, const struct tu_device_result *out,
                      const double *y, const double *scale, const double *dx, size_t count);
/* tu_run_view of p on d (asserting it succeeds, naming label), then tu_expect_result of its
 * outputs, which are then freed. Returns tu_expect_result's verdict. */
bool tu_run_expect(const char *label, lrncl_plan *p, const lrncl_desc *d, const float *x, const float *dy,
                   const double *y, const double *scale, const double *dx, size_t count);

/* "mode=across n=.. c=.. h=.. w=.. size=.. alpha=.. beta=.. k=.." for failure messages, followed
 * by the convention, dtype, layout, strides and offsets where they are not the defaults. */
const char *tu_desc_str(const lrncl_desc *d, char *buf, size_t len);

/* ---- seeded PRNG (splitmix64) ------------------------------------------------------------- */
struct tu_rng { uint64_t s; };
/* The base seed: LRNCL_TEST_SEED (decimal or 0x hex) if set, else the given default. Printed
 * in every failure message so a failing case can be rerun. */
uint64_t tu_seed(uint64_t dflt);
void     tu_rng_init(struct tu_rng *g, uint64_t seed);
uint64_t tu_rng_next(struct tu_rng *g);
double   tu_rng_uniform(struct tu_rng *g);                  /* [0, 1) */
double   tu_rng_range(struct tu_rng *g, double lo, double hi);
size_t   tu_rng_below(struct tu_rng *g, size_t n);          /* [0, n) */
double   tu_rng_normal(struct tu_rng *g);                   /* N(0, 1) */
/* count inputs for d: x normal of magnitude mag, one in ten 10 times that; dy N(0, 1); both
 * rounded to half for FLOAT16. */
void     tu_random_inputs(struct tu_rng *g, const lrncl_desc *d, float *x, float *dy, size_t count, double mag);

/* A case's inputs and what the float64 reference makes of them (count elements each):
 * tu_case_random draws x and dy as tu_random_inputs does and runs the reference (asserted);
 * tu_case_free releases them. */
struct tu_case {
    size_t count;
    float *x, *dy;
    double *y, *s, *dx;
};
void     tu_case_random(struct tu_case *k, const lrncl_desc *d, struct tu_rng *g, double mag);
void     tu_case_free(struct tu_case *k);

/* Short names for modes and conventions, as the case tables (tests/cases/) write them. */
#define AC LRNCL_ACROSS_CHANNELS
#define WI LRNCL_WITHIN_CHANNEL
#define CF LRNCL_CONVENTION_CAFFE
#define PT LRNCL_CONVENTION_PYTORCH
#define OX LRNCL_CONVENTION_ONNX
#define TF LRNCL_CONVENTION_TENSORFLOW
#define CU LRNCL_CONVENTION_CUDNN
#define MI LRNCL_CONVENTION_MIOPEN
#define DN LRNCL_CONVENTION_ONEDNN
#define EX LRNCL_CONVENTION_EXPLICIT

/* A descriptor: lrncl_desc_init(mode) defaults, then the given convention, parameters and
 * NCHW shape. */
lrncl_desc tu_desc(lrncl_convention conv, lrncl_mode mode, int size, float alpha, float beta, float k, size_t n,
                   size_t c, size_t h, size_t w);

#endif /* LRNCL_TESTUTIL_H */
