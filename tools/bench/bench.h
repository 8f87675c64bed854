/* bench.h: the benchmark's shared state and pieces (tools/bench_*.c), used by lrncl-bench
 * (bench_main.c, the performance suite, docs/performance.md) and by `lrncl tune` (tune.c).
 *
 * Files by concern: bench_options.c (command line), bench_data.c (random inputs, float16,
 * layouts), bench_case.c (the suite, device state, buffers, checks against the float64
 * reference), bench_peers.c (the naive OpenCL kernel and oneDNN), bench_timing.c (clocks and
 * interleaved timing), bench_report.c (the table and JSON). oneDNN is compiled in only where
 * LRNCL_BENCH_ONEDNN is defined (lrncl-bench); `lrncl tune` never links it. */
#ifndef LRNCL_BENCH_H
#define LRNCL_BENCH_H

#include "lrncl.h"

#include <stddef.h>
#include <stdint.h>

#ifdef LRNCL_BENCH_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#endif

enum { BENCH_OK = 0, BENCH_FAILED = 1, BENCH_USAGE = 2, BENCH_HELP = 3 /* internal */ };

/* ---- the suite ------------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    lrncl_mode mode;
    size_t n, c, h, w;
    int size;
} bench_case;

enum { BENCH_NCASES = 5 };
extern const bench_case bench_cases[BENCH_NCASES];
static const float bench_alpha = 1e-4f, bench_beta = 0.75f, bench_k = 1.0f;

enum { PASS_INFER, PASS_TRAIN, PASS_BACKWARD, PASS_COUNT };
static const char *const pass_names[PASS_COUNT] = {"fwd-infer", "fwd-train", "backward"};

enum { MIN_REPORT_RUNS = 20 };
/* Every pass cycles through more than this many bytes (the L3 here is 32 MiB). */
static const size_t rotate_bytes = (size_t)64 << 20;
enum { MAX_SLOTS = 256 };
enum { NAIVE_LOCAL = 64 };
enum { WARM_UP_ROUNDS = 2 };
/* A peer whose runs would take longer than this per pass gets fewer timed runs (at least
 * PEER_MIN_RUNS, marked in the report): oneDNN's reference within-channel backward takes
 * seconds a run, and the whole bench should stay within a few minutes. lrncl and the copy
 * always get --runs. */
static const double peer_budget_s = 10.0;
enum { PEER_MIN_RUNS = 5 };

typedef struct {
    const char *only_case;
    int runs;
    lrncl_layout layout;
    lrncl_dtype dtype;
    int json;
    int has_device;
    unsigned platform, device;
    const char *db_path; /* lrncl tune only: the database file to update */
    const lrncl_desc *problem; /* lrncl tune --shape only: the problem's mode, window, parameters
                                  and convention, in place of Caffe's bench parameters */
    int runs_given;      /* --runs was on the command line */
    int outside;         /* --method outside (lrncl-bench only): see bench_outside.c */
    int processes;       /* --processes N for --method outside (default OUTSIDE_PROCESSES) */
    int outside_child;   /* --outside-child: one process of --method outside (internal) */
} bench_options;

/* --method outside: processes run one after another, each timing OUTSIDE_RUNS runs unless
 * --runs says otherwise. */
enum { OUTSIDE_PROCESSES = 3, OUTSIDE_RUNS = 21, OUTSIDE_MAX_PROCESSES = 32 };

/* ---- the bench's state ------------------------------------------------------------------------ */

typedef struct {
    size_t n, c, h, w;
    int nhwc;
} dims4;

typedef struct {
    bench_options opt;
    lrncl_context *ctx;
    cl_command_queue q;
    cl_program naive_prog;
    cl_kernel naive_fwd, naive_bwd;
    char device[600];
    int onednn_threads; /* -1: unknown */
#ifdef LRNCL_BENCH_ONEDNN
    dnnl_engine_t dn_eng;
    dnnl_stream_t dn_stream;
#endif
    void *cudnn_module, *cudnn_fn; /* the cuDNN peer (bench_cudnn.c), NULL when unavailable */
    char cudnn_why[512];           /* why it is unavailable */
    char cudnn_device[128];        /* its GPU and cuDNN version */
    char cudnn_rows[4096];         /* its table rows, printed after the main table */
    int json_rows;    /* objects printed so far */
    char notes[2048]; /* peers timed with fewer runs, for the footnote */
    char impls[1024]; /* oneDNN's implementation of each case's passes, for the footnote */
} bench_env;

enum { BUF_X, BUF_Y, BUF_SCALE, BUF_DY, BUF_DX, BUF_CSRC, BUF_CDST, BUF_COUNT };
enum { DN_X, DN_Y, DN_DY, DN_DX, DN_WS, DN_COUNT };

typedef struct {
    const bench_case *bc;
    lrncl_desc desc;
    dims4 dims;
    size_t count, esize, tensor_bytes, scale_bytes, nslots;
    size_t bytes[PASS_COUNT]; /* the fewest bytes each pass must move */
    int lo, hi;               /* the window, and the factor and bias the naive kernel uses */
    float a, kk;
    lrncl_plan *plan;
    cl_mem *mem;              /* nslots * BUF_COUNT */
    double *x0, *dy0;         /* slot 0's inputs, NCHW, as stored, for the reference */
#ifdef LRNCL_BENCH_ONEDNN
    dnnl_primitive_desc_t dn_pd[PASS_COUNT];
    dnnl_primitive_t dn_prim[PASS_COUNT];
    float *dn_host[DN_WS];    /* x, y, dy, dx of every slot: nslots * count floats each */
    dnnl_memory_t *dn_mem;    /* nslots * DN_COUNT */
    int dn_has_ws;
#endif
} case_state;

#define MEM(cs, slot, b) ((cs)->mem[(slot) * BUF_COUNT + (b)])

typedef struct {
    double ms[PASS_COUNT], copy_ms[PASS_COUNT], onednn_ms[PASS_COUNT], naive_ms[PASS_COUNT]; /* NAN: none */
    double cudnn_ms[PASS_COUNT], cudnn_copy_ms[PASS_COUNT]; /* NAN: none */
    char cudnn_error[300];   /* why cuDNN could not run this case (e.g. a layout it does not take) */
    int onednn_runs[PASS_COUNT], naive_runs[PASS_COUNT]; /* timed runs behind those medians */
    int failed_checks;
    int error;               /* an error stopped the case */
    char checks[512];        /* the errors measured, for the progress line */
    char onednn_impl[PASS_COUNT][48];
} case_result;

enum { OP_LRNCL, OP_COPY, OP_NAIVE, OP_COUNT };

/* bench_options.c: argv[first..] ("--name value", "--name=value", the flag --json) into *o;
 * --db only for tune. */
int parse_options(int is_tune, int argc, char **argv, int first, bench_options *o);
/* Prints the recorded failure as "<program>: [prefix: ]what" and forgets it; the program is
 * the one start_command was given. */
void report_error(const char *prefix);
/* Parses the command line of the program `prog` ("lrncl-bench" or "lrncl tune", for messages)
 * from argv[first] on into e->opt; 0 when the command ends here (help printed: *status 0; a
 * bad command line reported: *status 2). json_ok: whether --json is. */
int start_command(const char *prog, int is_tune, int argc, char **argv, int first, bench_env *e,
                  const char *usage, int json_ok, int *status);

/* bench_data.c: deterministic, roughly normal values; IEEE half conversion (round to nearest
 * even, as vstore_half_rte); NCHW floats to and from the storage layout (esize 4: float, 2:
 * float16 bits). */
double bench_random(uint64_t *state);
uint16_t float_to_half(float f);
float half_to_float(uint16_t h);
void pack(const dims4 *d, size_t esize, const float *nchw, void *dst);
void unpack(const dims4 *d, size_t esize, const void *src, float *nchw);
const char *layout_name(lrncl_layout l); /* "nchw", "nhwc" */
const char *dtype_name(lrncl_dtype t);   /* "f32", "f16" */

/* bench_case.c */
int env_open(bench_env *e);
void env_close(bench_env *e);
int case_setup(const bench_env *e, const bench_case *bc, uint64_t seed, case_state *cs, case_result *r);
void case_release(case_state *cs);
int case_check(const bench_env *e, case_state *cs, case_result *r);
/* Compares out with ref (both NCHW, n values) to the accuracy bounds of docs/design.md; counts a failure in r. */
void check_values(case_result *r, const char *case_name, const char *who, const char *what, const float *out,
                  const double *ref, size_t n, double bound, double elem_bound);
int fill(const bench_env *e, cl_mem m, uint32_t pattern, size_t bytes);
size_t round4(size_t bytes);
uint32_t nan_pattern(size_t esize);
int enqueue_lrncl(const bench_env *e, const case_state *cs, int pass, size_t s, cl_event *done);
int enqueue_op(const bench_env *e, const case_state *cs, int op, int pass, size_t s, cl_event *done);

/* bench_peers.c: the naive OpenCL kernel (built on env_open) and oneDNN (when compiled in). */
int build_naive(bench_env *e);
void release_naive(bench_env *e);
int enqueue_naive(const bench_env *e, const case_state *cs, int pass, size_t s, cl_event *done);
int onednn_open(bench_env *e);
void onednn_close(bench_env *e);
int onednn_setup(const bench_env *e, case_state *cs, case_result *r);
void onednn_release(case_state *cs);
int onednn_run(const bench_env *e, const case_state *cs, int pass, size_t s);

/* bench_cudnn.c (lrncl-bench only): the cuDNN peer, loaded at run time. cudnn_open never fails:
 * it leaves e->cudnn_fn NULL and the reason in e->cudnn_why. cudnn_case checks and times the
 * case's across-channel passes through cuDNN (nothing within a channel); 0 on an error. */
void cudnn_open(bench_env *e);
void cudnn_close(bench_env *e);
int cudnn_case(const bench_env *e, case_state *cs, case_result *r);

/* bench_timing.c */
double median(double *v, int n);
double now_s(void);
int time_pass(const bench_env *e, const case_state *cs, int pass, const int active[OP_COUNT], int with_onednn,
              double med[OP_COUNT], int nruns[OP_COUNT], double *dn_med, int *dn_runs);

/* bench_outside.c: --method outside. outside_main runs opt.processes child processes of this
 * program one after another and reports each one's medians and their spread; outside_child is
 * one such process. Both return a BENCH_* status. */
int outside_main(bench_env *e, int argc, char **argv);
int outside_child(bench_env *e);

/* bench_sched.c: the time all of this process's threads have spent runnable but waiting for a
 * CPU, in ms, summed over the threads alive now (Linux schedstat); NAN where unavailable. */
double sched_wait_ms(void);

/* bench_report.c */
void json_string(const char *s);
void json_number(const char *key, double v); /* ", \"key\": v", null when not finite */
void shape_text(const bench_case *bc, char *buf, size_t len);   /* "NxCxHxW" */
void print_header(const bench_env *e, int argc, char **argv);
void print_rows(bench_env *e, const case_state *cs, const case_result *r);

#endif /* LRNCL_BENCH_H */
