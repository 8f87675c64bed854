/* internal.h: lrncl's private declarations shared by the host sources (not installed). */
#ifndef LRNCL_INTERNAL_H
#define LRNCL_INTERNAL_H

#include "lrncl.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <threads.h>

/* Windows at most this wide keep their values in registers (fully unrolled shift registers);
 * wider ones re-read the window from memory. Both are exact: every sum is formed afresh. */
#define LRNCL_REG_WINDOW_MAX 16

/* The largest C, H or W a plan accepts: 2^31 - 64. The kernels' 32-bit index arithmetic (slide
 * blocks, vector edge lanes) stays exact up to it; lrncl_plan_create refuses larger ones. */
#define LRNCL_MAX_DIM ((size_t)0x7fffffc0u)

/* The canonical parameters every convention reduces to (docs/design.md, "The math"). */
typedef struct lrncl_canon {
    lrncl_mode mode;
    int lo, hi;      /* window below / above the centre, forward direction */
    double a, k;     /* scale = k + a * sum(x^2) */
    double beta;
} lrncl_canon;

/* Which x^-beta the kernels compile in; beta itself stays a kernel argument. */
typedef enum { LRNCL_BETA_GENERAL = 0, LRNCL_BETA_075 = 1, LRNCL_BETA_05 = 2, LRNCL_BETA_1 = 3 } lrncl_beta_path;

/* FPGA kernels (lrn_fpga.cl): the widest window they build as a shift register. A wider
 * canonical window is clamped to the axis it slides along (taps beyond the tensor add zeros,
 * so the results keep their bits); one still wider is refused at plan creation. */
#define LRNCL_FPGA_WINDOW_MAX 64
/* FPGA kernels, within-channel: columns per tile, the length of each line buffer
 * (-D LRN_FPGA_LINE). */
#define LRNCL_FPGA_LINE 128

/* Whose FPGA platform a device is on, from the platform's name and vendor
 * (lrncl__fpga_platform): the FPGA kernels then build with that vendor's attributes. */
typedef enum { LRNCL_FPGA_NONE = 0, LRNCL_FPGA_INTEL = 1, LRNCL_FPGA_XILINX = 2 } lrncl_fpga_platform;

/* The OpenCL implementations whose compilers lrncl's choices depend on (lrncl__implementation_of):
 * PoCL's CPU devices compile the kernels with clang for the host's own target, where the CPU
 * kernels prefetch (LRN_PREFETCH in lrn_common.cl) and the tuning heuristic expects them to. */
typedef enum { LRNCL_IMPL_OTHER = 0, LRNCL_IMPL_POCL = 1 } lrncl_impl;

/* The kernels a plan is chosen for (lrncl__device_class). */
typedef enum { LRNCL_CLASS_CPU = 0, LRNCL_CLASS_GPU = 1, LRNCL_CLASS_FPGA = 2 } lrncl_device_class;

/* Which kernel files a program is built from: the NDRange kernels (lrn_across.cl, lrn_within.cl,
 * lrn_elementwise.cl: CPUs and GPUs) or the single work-item FPGA kernels (lrn_fpga.cl). */
typedef enum { LRNCL_FAMILY_NDRANGE = 0, LRNCL_FAMILY_FPGA = 1 } lrncl_family;

typedef struct lrncl_variant {   /* everything that selects a distinct OpenCL program */
    lrncl_family family;
    lrncl_mode mode;
    int lo, hi;
    lrncl_beta_path beta_path;
    int reg_window;              /* 1: registers, 0: re-read loop */
    lrncl_dtype dtype;
    lrncl_layout layout;         /* NCHW and NHWC strides are known at compile time */
    int vw;                      /* vector width along the contiguous axis: positions (NCHW)
                                    or channels (NHWC across, register window) */
    int ew;                      /* 1: one work-item per element (lrn_elementwise.cl; NHWC on
                                    GPUs), 0: column walks */
} lrncl_variant;

/* Where the elements of a view live: element (n,c,h,w) is at
 * offset + n*stride[0] + c*stride[1] + h*stride[2] + w*stride[3]. */
typedef struct lrncl_geometry {
    size_t stride[4];
    size_t span;                 /* 1 + the largest index of the view, offset excluded */
    size_t elem_size;            /* bytes per element of the dtype */
} lrncl_geometry;

/* Longest variant name and build options (builder.c). */
enum { LRNCL_VARIANT_NAME_MAX = 96, LRNCL_OPTIONS_MAX = 512 };

typedef struct lrncl_program_entry {
    struct lrncl_program_entry *next;
    lrncl_variant key;
    char name[LRNCL_VARIANT_NAME_MAX];   /* lrncl__variant_name(&key): the lookup key */
    char options[LRNCL_OPTIONS_MAX];
    cl_program program;
    lrncl_program_origin origin;         /* how this context got it */
} lrncl_program_entry;

struct lrncl_context {
    cl_context ctx;
    cl_device_id dev;
    mtx_t lock;                  /* guards programs and the counts */
    lrncl_program_entry *programs;
    size_t count[LRNCL_PROGRAM_ORIGIN_COUNT];   /* programs by origin (BUILT: source builds) */
    lrncl_fpga_platform fpga_platform; /* whose FPGA tools the platform is (the FPGA kernels'
                                          -D LRN_FPGA_INTEL / LRN_FPGA_XILINX) */
    /* program store (program_store.c, disk_cache.c, bundle.c) */
    char *identity;              /* lrncl version, device, driver and platform versions: the
                                    start of every disk key and a bundle's manifest */
    char *device_name;
    char *platform_name;         /* CL_PLATFORM_NAME (the tuning database's key starts with it) */
    lrncl_impl impl;             /* which implementation that is, where choices depend on it */
    char *cache_dir;             /* the disk cache folder; NULL when off (or not trusted) */
    char *cache_status;          /* "on: DIR" or "off: why" (lrncl_context_cache_status) */
    char cache_note[512];        /* a problem found since, under lock ("" when none) */
    char *bundle_dir;            /* NULL: no bundle */
    char *bundle_manifest;       /* its manifest.txt ("\r\n" read as "\n"), NULL when absent */
    int bundle_old;              /* the manifest is of an older format: nothing is loaded from it */
    int bundle_only;             /* binary-only: programs from memory or the bundle, nothing else */
    int can_compile;             /* CL_DEVICE_COMPILER_AVAILABLE: the device builds from source */
    /* settings (lrncl_context_options) read at each plan creation; unset: the environment's */
    char *tuning_db;             /* NULL: LRNCL_TUNING_DB; "": the built-in database only */
    int device_class;            /* an lrncl_device_class, or -1: LRNCL_DEVICE_CLASS or the type */
    /* references (context.c) */
    atomic_size_t refs;
    int shared;                  /* in the registry of lrncl_context_create_shared */
    struct lrncl_cache_writer *writer;  /* cache_writer.c; NULL until a program needs writing */
    mtx_t writer_lock;           /* guards writer's creation */
};
enum { LRNCL_K_FWD, LRNCL_K_BWD, LRNCL_K_COUNT };
/* Tunings, indexed by lrncl_kernel_kind: the forward kernel has two (inference, training). */
enum { LRNCL_T_COUNT = 3 };
#define LRNCL_KERNEL_OF(kind) ((kind) == LRNCL_KERNEL_BACKWARD ? LRNCL_K_BWD : LRNCL_K_FWD)

struct lrncl_plan {
    lrncl_context *owner;
    lrncl_desc desc;
    lrncl_canon canon;
    lrncl_variant variant;
    size_t elements;
    lrncl_geometry geom;
    cl_kernel kernels[LRNCL_K_COUNT];
    lrncl_device_class device_class; /* the kernels' class (lrncl__device_class) */
    int cpu;                      /* device_class == LRNCL_CLASS_CPU */
    cl_kernel inplace_fwd;        /* element-wise across plans: the column walk, for in-place
                                     forward (NULL otherwise) */
    size_t inplace_local;
    lrncl_program_info programs[2];  /* where each program came from (lrncl_plan_program_info) */
    size_t program_count;
    lrncl_tuning tuning[LRNCL_T_COUNT];               /* work-group size, slide block */
    lrncl_tuning_source tuning_source[LRNCL_T_COUNT];
    mtx_t lock;                   /* clSetKernelArg + enqueue on shared kernels is not thread-safe;
                                     also guards tuning */
};

/* status.c: thread-local error detail. Both return s so callers can `return lrncl__fail(...)`. */
lrncl_status lrncl__fail(lrncl_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
lrncl_status lrncl__cl_fail(cl_int err, const char *what);
void lrncl__clear_error(void);
void lrncl__set_error_text(const char *text);   /* for long texts such as build logs */

/* plan.c: LRNCL_ERROR_NULL_ARGUMENT or LRNCL_ERROR_INVALID_VALUE (an unknown struct_size). */
lrncl_status lrncl__desc_check(const lrncl_desc *d);
/* plan.c: descriptor validation and reduction to canonical form (convention, window, a, k). */
lrncl_status lrncl__canonicalize(const lrncl_desc *d, lrncl_canon *out, size_t *elements);
/* plan.c: layout and dtype validation; strides, span and element size. */
lrncl_status lrncl__geometry(const lrncl_desc *d, lrncl_geometry *out);

/* launch.c: work-items along dimension 0 (before rounding up to the work-group size). */
size_t lrncl__dim0_extent(const lrncl_plan *p);
/* launch.c: dimension 1 before the slide blocks multiply it: n, or the planes n*C. */
size_t lrncl__dim1_outer(const lrncl_plan *p);
/* launch.c: the axis each work-item slides along: C across, H within. */
size_t lrncl__slide_extent(const lrncl_plan *p);
/* launch.c: whether the plan's vectors run along the channels (NHWC with vw > 1). */
int lrncl__vector_along_channels(const lrncl_plan *p);

/* workspace.c: whether a backward without a scale runs a forward pass into a workspace first
 * (otherwise the backward kernel recomputes the scale itself); the workspace in floats (0 when
 * none is needed), laid out as the scale: the plan's layout, span floats. */
int lrncl__backward_scale_pass(const lrncl_plan *p);
size_t lrncl__workspace_floats(const lrncl_plan *p);

/* context.c: which class of kernels plans choose: the device's type (CL_DEVICE_TYPE_CPU: cpu,
 * CL_DEVICE_TYPE_ACCELERATOR: fpga, else gpu), unless the environment variable
 * LRNCL_DEVICE_CLASS says cpu, gpu or fpga (so that a CPU can run, and test, the other paths).
 * LRNCL_ERROR_INVALID_DEVICE for another value. */
lrncl_status lrncl__device_class(const lrncl_context *c, lrncl_device_class *cls);
/* context.c: Intel's FPGA platforms (the SDK, the emulator; Altera's before them), Xilinx's, or
 * none (an lrncl_fpga_platform), from a platform's name and vendor (pure), or from a device's. */
int lrncl__fpga_platform_of(const char *name, const char *vendor);
int lrncl__fpga_platform(cl_device_id dev);
/* context.c: the lrncl_impl of a platform, from its CL_PLATFORM_NAME (pure). */
lrncl_impl lrncl__implementation_of(const char *platform_name);

/* launch.c: one kernel's launch, the one home of the sizes runs enqueue with and
 * lrncl_plan_kernel_info reports. Caller holds p->lock or knows the tuning is not changing. */
typedef struct lrncl_launch {
    cl_kernel kernel;
    size_t global[2], local[2];
    cl_uint block;               /* the slide block, the kernel's last argument (FPGA kernels: the
                                    whole axis, reported only; their last argument is N) */
} lrncl_launch;
void lrncl__launch_geometry(const lrncl_plan *p, lrncl_kernel_kind which, int in_place, lrncl_launch *out);
/* plan.c: the variants a plan of d on c needs (1 or 2; vars[0] holds the plan's kernels), after
 * validating d as lrncl_plan_create does; the device class they are for into *cls (may be NULL). */
lrncl_status lrncl__plan_variants(const lrncl_context *c, const lrncl_desc *d, lrncl_variant vars[2],
                                  size_t *count, lrncl_device_class *cls);

/* ---- the program store and what it calls, one way: program_store.c -> {bundle.c, disk_cache.c}
 * -> builder.c -> embedded.c, and files.c under all of them; bundle_add.c (above plan.c) writes
 * bundles. docs/design.md, "Host side". */

/* program_store.c: the program for a variant from memory, the bundle, the disk cache, else a
 * source build (retained for the caller); info (may be NULL) says where from. d, the plan's
 * descriptor, only words the LRNCL_ERROR_MISSING_BINARY message. */
lrncl_status lrncl__program_get(lrncl_context *c, const lrncl_variant *v, const lrncl_desc *d, cl_program *out,
                                lrncl_program_info *info);
/* program_store.c: the context's store settings (identity, cache folder: cache_dir, else
 * LRNCL_CACHE_DIR, else the XDG default; compiler) at creation, and at release the rewrite of
 * grown cache entries and the frees. */
lrncl_status lrncl__store_init(lrncl_context *c, const char *cache_dir);
void lrncl__store_release(lrncl_context *c);

/* builder.c: the variant's name, every field of lrncl_variant in order (a new field is one
 * line there): the in-memory key, bundle file name and what messages print. Returns the length
 * (truncated to size - 1). */
size_t lrncl__variant_name(const lrncl_variant *v, char *buf, size_t size);
/* builder.c: the exact source (lrn_common.cl, then the body) and build options of v. */
lrncl_status lrncl__variant_program(const lrncl_context *c, const lrncl_variant *v, const char *texts[2],
                                    size_t sizes[2], char options[LRNCL_OPTIONS_MAX]);
/* builder.c: zlib's crc32 of n bytes, continuing crc (0 to start), for any n. */
unsigned long lrncl__crc32(unsigned long crc, const void *data, size_t n);
/* builder.c: crc32 of the source texts and options, as the manifest records them. */
unsigned long lrncl__source_crc(const char *const texts[2], const size_t sizes[2], const char *options);
/* builder.c: a build from source (the build log in the message on failure). */
lrncl_status lrncl__build_source(lrncl_context *c, const char *const texts[2], const size_t sizes[2],
                                 const char *options, cl_program *out);
/* builder.c: a build of v from source, outside the store (not counted, not cached);
 * LRNCL_ERROR_UNSUPPORTED when the device cannot compile. */
lrncl_status lrncl__build_variant(lrncl_context *c, const lrncl_variant *v, cl_program *out);
/* builder.c: makes a program from one device binary (clCreateProgramWithBinary +
 * clBuildProgram with options); an OpenCL status, no message recorded. */
cl_int lrncl__program_from_binary(lrncl_context *c, const unsigned char *bin, size_t size, const char *options,
                                  cl_program *out);
/* builder.c: the program's device binary, malloc'd. */
cl_int lrncl__program_binary(cl_program prog, unsigned char **bin, size_t *size);

/* disk_cache.c: the cache folder at context creation (option, else LRNCL_CACHE_DIR, else the XDG
 * default; c->cache_dir only when this user owns it and no one else can write it) and
 * c->cache_status saying so; fails only for memory. */
lrncl_status lrncl__cache_init(lrncl_context *c, const char *option);
/* disk_cache.c: the cached program of a variant (1 and *out), or 0: none, damaged, foreign, or
 * not a regular file of this user. Caller holds c->lock. */
int lrncl__cache_load(lrncl_context *c, const char *name, const char *options, const char *const texts[2],
                      const size_t sizes[2], cl_program *out);
/* disk_cache.c: writes the disk cache entry of v (named name) from prog's binary, now; quietly
 * nothing when the cache is off or the write fails. Reads only settings fixed at creation. */
void lrncl__store_save(lrncl_context *c, const lrncl_variant *v, const char *name, cl_program prog);
/* disk_cache.c: a disk cache entry, checked as bytes: magic, lengths against size, crc32.
 * 0 and the key and binary (pointers into data) when well formed, -1 otherwise. Pure. */
int lrncl__store_parse_entry(const void *data, size_t size, const char **key, size_t *key_len,
                             const unsigned char **bin, size_t *bin_len);

/* bundle.c: a bundle's manifest.txt at most this big, a binary at most this. */
#define LRNCL_MANIFEST_MAX ((size_t)1 << 20)
#define LRNCL_BINARY_MAX ((size_t)1 << 30)
/* bundle.c: the first lines of every manifest lrncl_bundle_add writes (comment and format). */
extern const char lrncl__manifest_head[];
/* bundle.c: one `program` line of a manifest (pointers into its text). */
typedef struct lrncl_manifest_line {
    const char *name, *options, *line;
    size_t name_len, options_len, line_len;
    unsigned long source_crc;    /* crc32 of the build options and source */
    int has_binary;              /* 0: "- -", nothing recorded (sources only) */
    unsigned long long size;     /* the binary's bytes */
    unsigned long sum;           /* lrncl__binary_sum of the binary */
} lrncl_manifest_line;
/* bundle.c: checks a manifest's text of size bytes (a pure function, also fuzzed): 0 when well
 * formed (format 2, a device line, every line a comment, a known field or a valid program line,
 * one per variant; lines may end in "\r\n"), 1 when of an older format (no format line), -1 and
 * why otherwise (a NUL byte, a bad line: its number). */
int lrncl__manifest_check(const char *text, size_t size, char *why, size_t why_size);
/* bundle.c: the program line of variant name in a checked, NUL-terminated manifest; 0 or -1. */
int lrncl__manifest_find(const char *text, const char *name, lrncl_manifest_line *out);
/* bundle.c: the checksum a line records: crc32 of "<name>\t<source crc, 8 hex>\n" then the
 * binary's bytes, so a binary under another variant's name does not match. */
unsigned long lrncl__binary_sum(const char *name, unsigned long source_crc, const void *bin, size_t size);
/* bundle.c: whether bin matches line (recorded, same size, same checksum): 0, or -1 and why. */
int lrncl__bundle_check_binary(const lrncl_manifest_line *line, const char *name, const void *bin, size_t size,
                               char *why, size_t why_size);
/* bundle.c: the manifest of bundle folder dir, checked (*text NULL when dir or the manifest does
 * not exist; *old when of an older format): LRNCL_ERROR_UNSUPPORTED with the reason for a folder
 * or manifest writable by others, not a folder or regular file, too large or damaged. */
lrncl_status lrncl__bundle_read_manifest(const char *dir, char **text, int *old);
/* bundle.c: reads and checks c->bundle_dir's manifest (lrncl__bundle_read_manifest) into
 * c->bundle_manifest and c->bundle_old, and its device; caller holds c->lock or owns c alone. */
lrncl_status lrncl__bundle_load_manifest(lrncl_context *c);
/* bundle.c: LRNCL_ERROR_INVALID_DEVICE when the manifest names another device than c's. */
lrncl_status lrncl__bundle_device_check(const lrncl_context *c, const char *dir, const char *manifest);
/* bundle.c: the bundle's binary of a variant, checked against its manifest line before the
 * driver sees it: LRNCL_SUCCESS with *out, or LRNCL_ERROR_MISSING_BINARY: quietly when the bundle
 * lacks it or holds a stale one; when refused (damaged, another variant's, unrecorded, too large,
 * not a regular file, an older manifest) with *said set and a message giving the command that
 * remakes it in a binary-only context, quietly in another. */
lrncl_status lrncl__bundle_program(lrncl_context *c, const char *name, const char *options, unsigned long crc,
                                   const lrncl_desc *d, cl_program *out, int *said);
/* bundle.c: the `lrncl compile ...` command line that adds d's programs to a bundle. */
void lrncl__compile_command(const lrncl_desc *d, const char *dir, char *buf, size_t size);

/* files.c: what reading a file found. */
typedef enum {
    LRNCL_FILE_OK = 0,
    LRNCL_FILE_MISSING,          /* no such file */
    LRNCL_FILE_DIRECTORY,        /* a folder */
    LRNCL_FILE_NOT_REGULAR,      /* a FIFO, device or socket (or, for a folder, not a folder) */
    LRNCL_FILE_SYMLINK,          /* a link, with LRNCL_FILE_NOFOLLOW */
    LRNCL_FILE_NOT_OWNED,        /* owned by another user, with LRNCL_FILE_OWNED */
    LRNCL_FILE_SHARED,           /* writable by group or others, with LRNCL_FILE_PRIVATE */
    LRNCL_FILE_TOO_LARGE,        /* larger than the caller's limit: never read */
    LRNCL_FILE_NO_MEMORY,
    LRNCL_FILE_ERROR,            /* another failure (info.err) */
} lrncl_file_result;
/* files.c: what is asked of a file beyond being regular. */
enum { LRNCL_FILE_NOFOLLOW = 1, LRNCL_FILE_OWNED = 2, LRNCL_FILE_PRIVATE = 4 };
typedef struct lrncl_file_info {
    unsigned long long size;
    unsigned mode;
    unsigned long uid;
    int err;                     /* errno of a failure, 0 when none */
} lrncl_file_info;
/* files.c: opens path for reading without blocking (a FIFO never waits) and checks it with
 * fstat: a regular file meeting flags (LRNCL_FILE_*), else the reason (and no descriptor). */
lrncl_file_result lrncl__file_open(const char *path, unsigned flags, int *fd, lrncl_file_info *info);
/* files.c: reads exactly size bytes of an open file (NUL-terminated one past), then closes it. */
lrncl_file_result lrncl__file_read(int fd, size_t size, char **data);
void lrncl__file_close(int fd);  /* -1 allowed */
/* files.c: both, refusing from its size, before reading, a file over max bytes. */
lrncl_file_result lrncl__read_file(const char *path, size_t max, unsigned flags, char **data, size_t *size,
                                   lrncl_file_info *info);
/* files.c: the reason as words after a path ("is not a regular file ..."); max words TOO_LARGE. */
size_t lrncl__file_why(lrncl_file_result r, const lrncl_file_info *info, size_t max, char *buf, size_t size);
/* files.c: "dir/name" followed by ext, malloc'ed; NULL when out of memory. */
char *lrncl__path_join(const char *dir, const char *name, const char *ext);
/* files.c: a folder's checks (LRNCL_FILE_OWNED, LRNCL_FILE_PRIVATE); NOT_REGULAR: not a folder. */
lrncl_file_result lrncl__dir_check(const char *path, unsigned flags, lrncl_file_info *info);
/* files.c: mkdir -p, the folders it makes with mode (never more than it: the umask only takes
 * bits away); 0 when the folder exists afterwards. */
int lrncl__make_dirs(const char *path, unsigned mode);
/* files.c: writes the parts to path atomically (a new temporary file in the same folder, then
 * rename), with mode; 0 on success, -1 and errno (nothing changed at path) otherwise. */
int lrncl__write_file_atomic(const char *path, const void *const parts[], const size_t sizes[], int nparts,
                             unsigned mode);

/* Files embedded at build time by cmake/embed_kernels.cmake (the kernels, the built-in tuning
 * database), by name without extension; NULL when absent. */
struct lrncl_embedded_source { const char *name; const char *text; size_t size; };
const struct lrncl_embedded_source *lrncl__embedded(const char *name);

/* One launch of a kernel before its program's binary is read (warmup.c): PoCL compiles a
 * work-group function per local size at the first launch and keeps it in the binary. */
typedef struct lrncl_warm {
    char kernel[64];             /* the kernel function */
    cl_uint work_dim;            /* 1 (FPGA kernels) or 2 */
    size_t local[2];
    size_t global0;              /* dimension 0's global size: the plan's widest dimension,
                                  rounded up to local[0] (dimension 1 is 1) */
    int backward;                /* the backward kernels' argument list (else the forward's) */
    int fpga;                    /* the FPGA kernels' last argument (N, a cl_ulong) */
} lrncl_warm;
enum { LRNCL_WARM_MAX = 4 };
/* warmup.c: launches each of w[0..n) once on a 1x1x1x1 problem over small scratch buffers, on a
 * queue of its own, and waits. An OpenCL status as lrncl_status. */
lrncl_status lrncl__warm_program(cl_context ctx, cl_device_id dev, cl_program prog, const lrncl_warm *w, size_t n);
/* plan.c: the launches of the plan's program `index` (0: its kernels; 1: the in-place column
 * walk) at the plan's work-group sizes; returns how many. */
size_t lrncl__plan_warm_list(const lrncl_plan *p, size_t index, lrncl_warm out[LRNCL_WARM_MAX]);
/* plan.c: the same for a plan of d on c whose program `index` is prog (lrncl_bundle_add, which
 * builds its programs outside the store): the kernels made from prog, the tuning a plan would
 * start from. */
lrncl_status lrncl__plan_warm_list_for(lrncl_context *c, const lrncl_desc *d, size_t index, cl_program prog,
                                       lrncl_warm out[LRNCL_WARM_MAX], size_t *n);

/* cache_writer.c: the context's disk cache writer, a thread started by the first program handed
 * to it. add: a program built from source (retained here) whose kernels w[0..n) are launched
 * before its binary is read and written (lrncl__store_save). flush: waits until every program
 * handed over is written. release: flush, then ends the thread. */
void lrncl__writer_add(lrncl_context *c, const lrncl_variant *v, cl_program prog, const lrncl_warm *w, size_t n);
void lrncl__writer_flush(lrncl_context *c);
void lrncl__writer_release(lrncl_context *c);

/* tuning.c: the plan's starting tuning of each kernel (database file, built-in, heuristic);
 * needs p->kernels. */
lrncl_status lrncl__tuning_init(lrncl_plan *p);
/* tuning.c: looks key (lrncl_plan_tuning_key) up in a database text of len bytes (any bytes: also
 * fuzzed); 1 and *t when an entry has it (the last wins), else 0. */
int lrncl__tuning_db_lookup(const char *text, size_t len, const char *key, lrncl_tuning *t);
/* tuning.c: the largest work-group kernel k can launch along dimension 0 on the plan's device. */
lrncl_status lrncl__kernel_max_local(const lrncl_plan *p, cl_kernel k, size_t *out);

/* Evaluates an OpenCL call; on failure records it and jumps to the function's cleanup label. */
#define LRNCL_CL_CHECK(call, status_var, label)                                   \
    do {                                                                          \
        cl_int lrncl_err_ = (call);                                               \
        if (lrncl_err_ != CL_SUCCESS) {                                           \
            (status_var) = lrncl__cl_fail(lrncl_err_, #call);                     \
            goto label;                                                           \
        }                                                                         \
    } while (0)

#endif /* LRNCL_INTERNAL_H */
