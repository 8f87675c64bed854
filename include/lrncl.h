/* lrncl.h: Local Response Normalization (LRN) on any OpenCL device. The one public header.
 *
 * lrncl computes, for a tensor x of shape (N, C, H, W) in any layout,
 *
 *     scale[n,c,h,w] = k + a * SUM over the window W(c,h,w) of x^2     (zero outside the tensor)
 *     y              = x * scale^(-beta)
 *
 * ACROSS_CHANNELS: W = channels [c-lo, c+hi] at the same (h, w).
 * WITHIN_CHANNEL:  W = the box [h-lo, h+hi] x [w-lo, w+hi] in channel c.
 *
 * and the matching backward pass (dx from dy). The descriptor takes a framework's own
 * parameters (Caffe's by default; PyTorch, ONNX, TensorFlow, cuDNN, MIOpen, oneDNN, or an
 * explicit window) and reduces them to lo, hi, a and k; docs/conventions.md has the table.
 * Storage is float32 or float16 (arithmetic always float32), NCHW, NHWC or strided views.
 *
 * Usage: make an lrncl_context from your cl_context and device (or a default one), make an
 * lrncl_plan per descriptor (this builds the OpenCL programs, once per context and variant),
 * then enqueue lrncl_forward / lrncl_backward on your own queue, as often as you like.
 *
 * Ownership and threads: the library never prints, and runs use only the queue you pass. The
 * one queue and thread it makes are its own, off your work: with the disk cache on, a context's
 * cache writer launches each freshly built program once on scratch buffers before caching its
 * binary (lrncl_bundle_add does the same on a queue of its call). A context
 * retains the cl_context you give it and releases it on lrncl_context_release. Plans are
 * immutable after creation, apart from their launch tuning (lrncl_plan_set_tuning, which
 * never changes results), and may be used from several threads at once. Run functions only
 * enqueue (no clFinish inside); they follow clEnqueue* argument order: queue by value, wait
 * list in, event out. On failure nothing is enqueued and *done is left untouched.
 */
#ifndef LRNCL_H
#define LRNCL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#if defined(__APPLE__)
#include <OpenCL/opencl.h>
#else
#include <CL/cl.h>
#endif
#include <stddef.h>

#if defined(_WIN32) && defined(LRNCL_BUILDING_SHARED)
#define LRNCL_API __declspec(dllexport)
#elif defined(_WIN32) && defined(LRNCL_USING_SHARED)
#define LRNCL_API __declspec(dllimport)
#elif defined(__GNUC__) && __GNUC__ >= 4
#define LRNCL_API __attribute__((visibility("default")))
#else
#define LRNCL_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- version ------------------------------------------------------------------------------ */
#define LRNCL_VERSION_MAJOR 0
#define LRNCL_VERSION_MINOR 2
#define LRNCL_VERSION_PATCH 0
#define LRNCL_VERSION_NUMBER (LRNCL_VERSION_MAJOR * 10000 + LRNCL_VERSION_MINOR * 100 + LRNCL_VERSION_PATCH)

LRNCL_API unsigned    lrncl_version_number(void); /* LRNCL_VERSION_NUMBER of the library loaded */
LRNCL_API const char *lrncl_version_string(void); /* "0.2.0" */

/* ---- status ------------------------------------------------------------------------------- */
/* 0 is success. Values -1 .. -999 are OpenCL's own error codes, passed through when an OpenCL
 * call fails (e.g. CL_OUT_OF_RESOURCES = -5, CL_INVALID_MEM_OBJECT = -38). lrncl's own errors
 * live at -2001 and below. Values are pinned: never renumbered, never reused. */
typedef enum lrncl_status {
    LRNCL_SUCCESS                  = 0,
    LRNCL_ERROR_NULL_ARGUMENT      = -2001, /* a required handle, descriptor or out-pointer is NULL */
    LRNCL_ERROR_NULL_BUFFER        = -2002, /* a required cl_mem is NULL */
    LRNCL_ERROR_INVALID_MODE       = -2003, /* mode is not an lrncl_mode value */
    LRNCL_ERROR_INVALID_SHAPE      = -2004, /* a dimension n, c, h or w is zero */
    LRNCL_ERROR_SHAPE_OVERFLOW     = -2005, /* n*c*h*w elements, or their bytes, overflow size_t */
    LRNCL_ERROR_INVALID_LOCAL_SIZE = -2006, /* local_size <= 0 (< 0 for TensorFlow's radius), even
                                               with CAFFE, or an explicit window < 0 */
    LRNCL_ERROR_INVALID_ALPHA      = -2007, /* alpha is NaN, infinite or negative */
    LRNCL_ERROR_INVALID_BETA       = -2008, /* beta is NaN or infinite, or 0 with k = 0 (0^0) */
    LRNCL_ERROR_INVALID_K          = -2009, /* k is NaN or infinite, or where it is used negative or
                                               below its convention's minimum (Caffe across: > 0;
                                               cuDNN: >= 1e-5; the others take k = 0, giving NaN
                                               on windows of zeros, as PyTorch; conventions.md) */
    LRNCL_ERROR_BUFFER_TOO_SMALL   = -2010, /* a buffer holds fewer bytes than the shape needs */
    LRNCL_ERROR_CONTEXT_MISMATCH   = -2011, /* queue or buffer from another context or device */
    LRNCL_ERROR_ALIASED_BUFFERS    = -2012, /* an output is the same buffer as another argument */
    LRNCL_ERROR_NO_DEVICE          = -2013, /* no OpenCL platform or device could be found */
    LRNCL_ERROR_INVALID_DEVICE     = -2014, /* LRNCL_DEVICE malformed or names no device, or
                                               LRNCL_DEVICE_CLASS not cpu, gpu or fpga */
    LRNCL_ERROR_BUILD_FAILED       = -2015, /* kernel build failed; lrncl_last_error has the log */
    LRNCL_ERROR_OUT_OF_HOST_MEMORY = -2016, /* a host allocation failed */
    LRNCL_ERROR_UNSUPPORTED        = -2017, /* valid request this device or version cannot run */
    LRNCL_ERROR_INVALID_CONVENTION = -2018, /* unknown convention, or a mode it does not define
                                               (e.g. WITHIN_CHANNEL with PYTORCH) */
    LRNCL_ERROR_INVALID_LAYOUT     = -2019, /* unknown layout or dtype, or strides that overlap */
    LRNCL_ERROR_MISSING_BINARY     = -2020, /* a program is in no bundle or cache and this context
                                               may not build from source (binary-only, or the
                                               device has no compiler); lrncl_last_error names the
                                               variant and the `lrncl compile` command that makes it */
    LRNCL_ERROR_INVALID_VALUE      = -2021, /* a struct whose struct_size this library does not know
                                               (a descriptor not set up by lrncl_desc_init), or an
                                               option value outside its set */
} lrncl_status;

/* A short, constant description of s; never NULL (unknown values give "unknown status"). */
LRNCL_API const char *lrncl_status_string(lrncl_status s);
/* Detail of the last failure on the calling thread (the offending value, the build log, the
 * OpenCL call that failed); "" when there was none. Valid until the thread's next lrncl call. */
LRNCL_API const char *lrncl_last_error(void);

/* ---- descriptor --------------------------------------------------------------------------- */
typedef enum { LRNCL_ACROSS_CHANNELS, LRNCL_WITHIN_CHANNEL } lrncl_mode;

/* Whose parameter meaning local_size, alpha and k carry (docs/conventions.md has the table).
 * lo/hi: the window below/above the centre; a: the factor on the sum of squares. */
typedef enum lrncl_convention {
    LRNCL_CONVENTION_CAFFE = 0,   /* odd n; lo = hi = (n-1)/2; across a = alpha/n with k;
                                     within a = alpha/n^2 with 1 in place of k */
    LRNCL_CONVENTION_PYTORCH,     /* across only; lo = n/2, hi = (n-1)/2; a = alpha/n; k */
    LRNCL_CONVENTION_ONNX,        /* across only; lo = (n-1)/2, hi = n-1-lo; a = alpha/n; k = bias */
    LRNCL_CONVENTION_TENSORFLOW,  /* across only; local_size is depth_radius r >= 0; lo = hi = r;
                                     a = alpha (raw); k = bias */
    LRNCL_CONVENTION_CUDNN,       /* across only; as ONNX (also MIOpen's across mode) */
    LRNCL_CONVENTION_MIOPEN,      /* across as ONNX; within lo = (n-1)/2, hi = n-1-lo, a = alpha/n^2, k */
    LRNCL_CONVENTION_ONEDNN,      /* lo = hi = (n-1)/2 (even n: n-1 taps); across a = alpha/n,
                                     within a = alpha/n^2; k in both modes */
    LRNCL_CONVENTION_EXPLICIT,    /* window_lo, window_hi, alpha_divisor and use_k below */
} lrncl_convention;

typedef enum lrncl_alpha_divisor {
    LRNCL_ALPHA_RAW = 0,          /* a = alpha */
    LRNCL_ALPHA_OVER_N,           /* a = alpha / local_size */
    LRNCL_ALPHA_OVER_N2,          /* a = alpha / local_size^2 */
} lrncl_alpha_divisor;

typedef enum lrncl_layout {
    LRNCL_LAYOUT_NCHW = 0,        /* contiguous, w fastest */
    LRNCL_LAYOUT_NHWC,            /* contiguous, c fastest (TensorFlow's default) */
    LRNCL_LAYOUT_STRIDED,         /* stride_n, stride_c, stride_h, stride_w below (views) */
} lrncl_layout;

typedef enum lrncl_dtype {
    LRNCL_FLOAT32 = 0,
    LRNCL_FLOAT16,                /* storage only: arithmetic is float32 (no cl_khr_fp16 needed) */
} lrncl_dtype;

/* ABI: the caller allocates lrncl_desc, so it may only grow at its end, after struct_size, which
 * lrncl_desc_init sets to sizeof(lrncl_desc) of the header it was compiled with. The library
 * refuses (LRNCL_ERROR_INVALID_VALUE, "call lrncl_desc_init") a descriptor whose struct_size it
 * does not know: always start from lrncl_desc_init, never from memset or a literal. */
typedef struct lrncl_desc {   /* more fields may follow; lrncl_desc_init sets them all */
    lrncl_mode mode;
    int   local_size;         /* window extent n (TensorFlow convention: depth_radius) */
    float alpha, beta, k;     /* Caffe's meaning unless a convention field says otherwise */
    size_t n, c, h, w;        /* logical shape; float32 NCHW unless the fields below say otherwise */

    lrncl_convention convention;        /* default CAFFE */
    int window_lo, window_hi;           /* EXPLICIT only: window below/above the centre, >= 0 */
    lrncl_alpha_divisor alpha_divisor;  /* EXPLICIT only */
    int use_k;                          /* EXPLICIT only: 1 adds k, 0 adds 1 in its place */

    lrncl_dtype dtype;                  /* of x, y, scale, dy and dx alike; default FLOAT32 */
    lrncl_layout layout;                /* of x, y, scale, dy and dx alike; default NCHW */
    size_t stride_n, stride_c, stride_h, stride_w;  /* STRIDED only, in elements; views must
                                                       not map two positions to one element */
    size_t offset_x, offset_y, offset_scale, offset_dy, offset_dx;  /* in elements, default 0; the
                                                       run calls without _at use these */
    size_t struct_size;                 /* set by lrncl_desc_init; new fields only follow it */
} lrncl_desc;

/* Caffe defaults: local_size 5, alpha 1, beta 0.75, k 1, float32 NCHW, offsets 0; shape 0;
 * struct_size sizeof(lrncl_desc). */
LRNCL_API void lrncl_desc_init(lrncl_desc *d, lrncl_mode mode);
/* Number of logical elements n*c*h*w, or 0 if d is NULL, its struct_size unknown, a dimension
 * is 0, or the product (or its size in bytes as float32) overflows size_t. */
LRNCL_API size_t lrncl_desc_elements(const lrncl_desc *d);
/* Elements a buffer must hold for this layout, offset excluded: 1 + the largest element index
 * of the view (n*c*h*w for NCHW and NHWC); 0 on the same conditions as lrncl_desc_elements or a
 * bad layout. A buffer passed as x must hold (offset_x + this) elements of the dtype, and so
 * on; the scale buffer (offset_scale + this) floats. */
LRNCL_API size_t lrncl_desc_span(const lrncl_desc *d);
/* The tensors of a run, for lrncl_desc_bytes. */
typedef enum lrncl_tensor {
    LRNCL_TENSOR_X = 0, LRNCL_TENSOR_Y, LRNCL_TENSOR_SCALE, LRNCL_TENSOR_DY, LRNCL_TENSOR_DX
} lrncl_tensor;
/* Bytes the buffer of tensor t must hold past its offset: lrncl_desc_span(d) elements of the
 * dtype (x, y, dy, dx) or of float32 (the scale, and a workspace). A buffer passed at element
 * offset o needs o * (element size) + this many bytes. 0 on the conditions of lrncl_desc_span
 * and for a t that is not an lrncl_tensor. */
LRNCL_API size_t lrncl_desc_bytes(const lrncl_desc *d, lrncl_tensor t);
/* ACROSS_CHANNELS over any spatial rank: sets n, c and folds dims[0..rank-1] (D1..Dk, any
 * k >= 0) into h and w for contiguous NC(D1..Dk) or N(D1..Dk)C tensors (with layout NCHW or
 * NHWC). Returns LRNCL_ERROR_SHAPE_OVERFLOW or LRNCL_ERROR_NULL_ARGUMENT on bad input. */
LRNCL_API lrncl_status lrncl_desc_set_shape_nd(lrncl_desc *d, size_t n, size_t c, int rank, const size_t *dims);

/* ---- context ------------------------------------------------------------------------------ */
typedef struct lrncl_context lrncl_context;   /* one OpenCL context + device, compiled programs */

/* Wraps ctx and dev (dev must belong to ctx); ctx is retained until lrncl_context_release. The
 * settings come from the environment variables (LRNCL_CACHE_DIR, LRNCL_TUNING_DB,
 * LRNCL_DEVICE_CLASS), as lrncl_context_create_with_options with no options.
 *
 * Each lrncl context keeps its own programs: two contexts on one cl_context build (or load from
 * the disk cache) every program twice and hold both copies. Measured 2026-12-07 with PoCL 3.1
 * on a 2-core machine (docs/design.md, "Shared contexts"): the second context's plan of a
 * variant built it again in 0.18-1.4 s (PoCL's own kernel cache on / off) and held 2-4.5 MB more
 * host memory, or loaded it from the disk cache in 2 ms; through lrncl_context_create_shared it
 * took 0 ms and no memory. Independent plug-ins of one host should share one that way. */
LRNCL_API lrncl_status lrncl_context_create(cl_context ctx, cl_device_id dev, lrncl_context **out);

/* Context settings, in place of the environment variables (which a threaded host cannot set
 * safely). Zero-initialisable: a zeroed struct (struct_size 0 is read as this first version)
 * or one from lrncl_context_options_init means "every default". A NULL field takes the
 * environment variable's value, as lrncl_context_create does; a set field wins over it. Strings
 * are copied at creation. New fields only ever follow binary_only. */
typedef struct lrncl_context_options {
    size_t struct_size;        /* sizeof(lrncl_context_options), or 0 (the first version) */
    const char *cache_dir;     /* disk cache folder; NULL: LRNCL_CACHE_DIR, else the XDG default;
                                  "off" or "": no disk cache */
    const char *tuning_db;     /* tuning database file; NULL: LRNCL_TUNING_DB, read at each plan
                                  creation; "": the built-in database only */
    const char *device_class;  /* "cpu", "gpu" or "fpga"; NULL: LRNCL_DEVICE_CLASS, read at each
                                  plan creation, else the device's type */
    const char *bundle_dir;    /* a bundle folder preferred over the disk cache and source builds
                                  (as lrncl_context_set_bundle); NULL: none */
    int binary_only;           /* non-zero: programs only from bundle_dir (or memory), never built
                                  or read from the disk cache (as lrncl_context_create_from_bundle);
                                  needs bundle_dir */
} lrncl_context_options;
/* Sets every field to its default (NULL, 0) and struct_size to sizeof(lrncl_context_options). */
LRNCL_API void lrncl_context_options_init(lrncl_context_options *o);
/* lrncl_context_create with settings; o may be NULL (every default). LRNCL_ERROR_INVALID_VALUE
 * for a struct_size this library does not know, or binary_only without bundle_dir;
 * LRNCL_ERROR_INVALID_DEVICE for a device_class other than cpu, gpu or fpga, or a bundle made
 * for another device (the message names both). */
LRNCL_API lrncl_status lrncl_context_create_with_options(cl_context ctx, cl_device_id dev,
                                                         const lrncl_context_options *o, lrncl_context **out);

/* One lrncl context per (cl_context, device) for independent users of one OpenCL context (the
 * layers of an engine's plug-ins): returns the shared context of (ctx, dev) with its reference
 * count raised, or makes it (settings from the environment, as lrncl_context_create). Each
 * successful call is matched by one lrncl_context_release. Thread-safe: two threads asking for
 * the same pair get the same context. The shared context holds its retain on ctx until its
 * last release, so the pair cannot name another context meanwhile. Contexts made by the other
 * create calls are never returned here. */
LRNCL_API lrncl_status lrncl_context_create_shared(cl_context ctx, cl_device_id dev, lrncl_context **out);
/* Raises the reference count of c (any context, shared or not); each retain is matched by one
 * lrncl_context_release. LRNCL_ERROR_NULL_ARGUMENT on NULL. Thread-safe. */
LRNCL_API lrncl_status lrncl_context_retain(lrncl_context *c);
/* Creates its own cl_context on the device named by the environment variable
 * LRNCL_DEVICE="platform:device" (indices as `lrncl devices` lists them), else on the first
 * device of the first platform that has one. LRNCL_ERROR_NO_DEVICE when there is none. */
LRNCL_API lrncl_status lrncl_context_create_default(lrncl_context **out);
LRNCL_API cl_context   lrncl_context_cl(const lrncl_context *c);     /* not retained for you */
LRNCL_API cl_device_id lrncl_context_device(const lrncl_context *c); /* not retained for you */
/* How many OpenCL programs this context has built so far: one per kernel variant, however many
 * plans use it. For checking that the program cache hits. */
LRNCL_API size_t       lrncl_context_program_builds(const lrncl_context *c);
/* Drops one reference to c (lrncl_context_create*, lrncl_context_retain); the last one writes
 * the disk cache entries still pending (lrncl_context_flush), then releases the programs and the
 * retained cl_context. Plans made from c must be released before its last reference. NULL is
 * allowed. Thread-safe against other references' calls. */
LRNCL_API void         lrncl_context_release(lrncl_context *c);
/* Writes the disk cache entries of the programs this context built from source that are not
 * written yet, and waits for them: on return every such program is in the cache (failures to
 * write are ignored, as for every cache write). Entries are written without it, in the
 * background (see the program store below); call it before a process may end without
 * lrncl_context_release, or to have the writing done before timing something. LRNCL_SUCCESS,
 * or LRNCL_ERROR_NULL_ARGUMENT. */
LRNCL_API lrncl_status lrncl_context_flush(lrncl_context *c);

/* ---- program store: bundles and the disk cache -------------------------------------------- */
/* A plan finds each OpenCL program it needs (one per kernel variant) in order: in the context's
 * memory; in the context's bundle, if it has one; in the persistent disk cache; else it builds it
 * from source. A program built from source is written to the disk cache in the background by a
 * thread of the context, started by the plan creation that built it: the thread launches each of
 * the plan's kernels once at the plan's work-group sizes on small scratch buffers of its own, on
 * a queue of its own, then reads the binary (PoCL adds a work-group function per local size at
 * the first launch), so a later process's first launches compile nothing. The process need not
 * release the context: the entry is on disk once the thread is done (lrncl_context_flush waits
 * for it). docs/design.md has details.
 *
 * Disk cache folder: the context's cache_dir option, else the environment variable
 * LRNCL_CACHE_DIR, else $XDG_CACHE_HOME/lrncl, else $HOME/.cache/lrncl (created with mode 0700
 * when missing), read when the context is made; "off" turns the cache off. A folder owned by
 * another user or writable by group or others is not used (the cache is then off for that
 * context: lrncl_context_cache_status says why), and only regular files of this user, not
 * links, are loaded from it. Entries are keyed on the device name and version, driver and platform
 * versions, lrncl's version and the exact source text and build options; each carries a crc32.
 * A damaged, truncated or foreign entry is rebuilt and overwritten, never used; an unwritable
 * folder only means no caching. Writes are atomic (temporary file + rename), so several
 * processes may share one folder.
 *
 * A bundle is a folder of device binaries, one per variant, named `<variant>.bin` (`.aocx` and
 * `.xclbin` are looked for too, in that order, for vendors' offline-compiled files), plus
 * `manifest.txt` (device, versions, each variant's build options, and each binary's size and a
 * checksum bound to its variant, checked before the driver sees the binary); `lrncl compile` and
 * lrncl_bundle_add make them, or a vendor's offline compiler from the sources that
 * `lrncl compile --emit-source` writes (running that command again records the vendor's binary).
 * A bundle folder, manifest or binary writable by group or others, a manifest that is damaged or
 * of an older lrncl, and a file that is not a regular file are refused, never read. */

/* Where a program came from. */
typedef enum lrncl_program_origin {
    LRNCL_PROGRAM_MEMORY = 0,     /* already in the context (an earlier plan needed it) */
    LRNCL_PROGRAM_BUNDLE,         /* loaded from the context's bundle */
    LRNCL_PROGRAM_DISK_CACHE,     /* loaded from the persistent disk cache */
    LRNCL_PROGRAM_BUILT,          /* built from source (then written to the disk cache) */
} lrncl_program_origin;
#define LRNCL_PROGRAM_ORIGIN_COUNT 4

/* A binary-only context: like lrncl_context_create, but every program must come from the bundle
 * folder dir (or from memory); none is built from source or read from the disk cache. A plan
 * needing a variant the bundle lacks fails with LRNCL_ERROR_MISSING_BINARY. dir is copied.
 * LRNCL_ERROR_INVALID_DEVICE when dir's manifest names another device (the message names both);
 * LRNCL_ERROR_UNSUPPORTED, with the reason, when the folder or manifest is writable by group or
 * others, is not a folder or regular file, or the manifest is damaged (over 1 MiB, a NUL byte, a
 * bad line); a missing folder or manifest is not an error here (plans then find nothing). A
 * binary that does not match its manifest line (truncated, another variant's, unrecorded) or a
 * manifest of an older lrncl fails the plan with LRNCL_ERROR_MISSING_BINARY, naming the file and
 * the `lrncl compile` command that remakes it. */
LRNCL_API lrncl_status lrncl_context_create_from_bundle(cl_context ctx, cl_device_id dev, const char *dir,
                                                        lrncl_context **out);
/* Gives an ordinary context a bundle to prefer over the disk cache and source builds (variants it
 * lacks are still built). dir is copied; NULL removes the bundle. Affects programs the context
 * has not yet obtained; takes the context's lock, so a plan being created meanwhile sees the old
 * or the new bundle. Same manifest check as lrncl_context_create_from_bundle; on failure the
 * context has no bundle. */
LRNCL_API lrncl_status lrncl_context_set_bundle(lrncl_context *c, const char *dir);
/* How many programs this context obtained from origin so far (for MEMORY: how many plan lookups
 * found their program already in the context). 0 on a NULL context or an unknown origin.
 * lrncl_context_program_builds(c) equals lrncl_context_program_count(c, LRNCL_PROGRAM_BUILT). */
LRNCL_API size_t       lrncl_context_program_count(const lrncl_context *c, lrncl_program_origin origin);
/* Whether c uses a disk cache: "on: DIR", or "off: " and why (LRNCL_CACHE_DIR is off; DIR is
 * owned by another user, or writable by others; it cannot be created; a binary-only context),
 * with a problem found since in parentheses. Never NULL; the text stays valid until the calling thread's next call. */
LRNCL_API const char  *lrncl_context_cache_status(const lrncl_context *c);
/* "memory", "bundle", "disk cache", "built"; "unknown" otherwise. Never NULL. */
LRNCL_API const char  *lrncl_program_origin_string(lrncl_program_origin origin);

/* What lrncl_bundle_add writes. */
typedef enum lrncl_bundle_content {
    LRNCL_BUNDLE_BINARIES = 0,    /* device binaries, built from source for c's device */
    LRNCL_BUNDLE_SOURCES,         /* `<variant>.cl` and `<variant>.options` for an offline
                                     compiler; nothing is built */
} lrncl_bundle_content;
/* Adds the programs a plan of d on c needs to the bundle folder dir (created if missing), and
 * their lines to its manifest, keeping what the folder already holds (other variants, other
 * problems); a variant already there with the same source and options, whose binary matches its
 * line's size and checksum, is left as it is (any other is rebuilt and rewritten). Additions to
 * one folder from several processes take turns (a lock on dir/manifest.lock). A damaged manifest
 * is refused (LRNCL_ERROR_UNSUPPORTED), never discarded; one of an older lrncl is replaced by one
 * that lists the variants added now. Binaries are built from source here (not taken from c's
 * store, and not counted in its program counts), and each kernel is launched once at the plan's
 * work-group sizes on small scratch buffers (on a queue of the call's own) before the binary is
 * read, so that a plan loading it compiles nothing at its launches (PoCL compiles a work-group
 * function per local size at the first launch); a plan retuned to other work-group sizes
 * compiles those at their first launch, and so does a problem whose variant the folder already
 * held (its binary keeps the first problem's sizes: compile problems with other work-group sizes
 * into a bundle of their own);
 * a device that cannot compile gives LRNCL_ERROR_UNSUPPORTED (use LRNCL_BUNDLE_SOURCES and the
 * vendor's compiler). Each file is written atomically. Returns what lrncl_plan_create would for d,
 * LRNCL_ERROR_BUILD_FAILED, LRNCL_ERROR_INVALID_DEVICE when dir's manifest names another device,
 * or LRNCL_ERROR_UNSUPPORTED naming a file that could not be written. */
LRNCL_API lrncl_status lrncl_bundle_add(lrncl_context *c, const lrncl_desc *d, const char *dir,
                                        lrncl_bundle_content what);

/* ---- plan --------------------------------------------------------------------------------- */
typedef struct lrncl_plan lrncl_plan;         /* one descriptor, kernels chosen and built */

/* Validates d (each bad field has its own status), picks the kernels and gets their programs
 * (memory, bundle, disk cache, else a build: see the program store above); a program it may not
 * build is LRNCL_ERROR_MISSING_BINARY. The plan copies d; it keeps a reference to c, which must
 * outlive it. C, H and W must each be at most 2^31 - 64 (2147483584; the kernels index within
 * a column or row in 32 bits): larger ones give LRNCL_ERROR_UNSUPPORTED.
 *
 * The kernels follow the device class: cpu for CL_DEVICE_TYPE_CPU, fpga for
 * CL_DEVICE_TYPE_ACCELERATOR (single work-item kernels made for FPGA offline compilers,
 * docs/fpga.md), gpu for any other type. The context's device_class option, else the
 * environment variable LRNCL_DEVICE_CLASS=cpu, gpu or fpga, read at each plan creation,
 * overrides the device's type (any device runs every
 * class, with the same results bit for bit; the tests use it); another value fails with
 * LRNCL_ERROR_INVALID_DEVICE. The fpga kernels hold the window in a shift register of at most
 * 64 taps: a wider window is clamped to the axis it slides along (C across, max(H, W) within),
 * and one still wider fails with LRNCL_ERROR_UNSUPPORTED. */
LRNCL_API lrncl_status lrncl_plan_create(lrncl_context *c, const lrncl_desc *d, lrncl_plan **out);
LRNCL_API void         lrncl_plan_release(lrncl_plan *p);              /* NULL is allowed */

/* ---- launch tuning (an extension) --------------------------------------------------------- */
/* How a plan launches one of its kernels. Each work-item slides along one axis (the channels
 * across, the rows within) over a block of slide_block positions; GPUs want several blocks per
 * column for parallelism, CPUs one. Results do not depend on the tuning: each block primes its
 * window from its neighbours' inputs, so every output is bitwise the same.
 *
 * A plan starts from, in order: the entry for its device and exact problem in the tuning
 * database file named by the context's tuning_db option, else by the environment variable
 * LRNCL_TUNING_DB (written by `lrncl tune`),
 * else lrncl's built-in database, else a heuristic from the device's type and compute units and
 * the OpenCL implementation (PoCL or another: whether the CPU kernels prefetch).
 * lrncl_plan_set_tuning overrides it. In-place forward always runs one block per column. */
/* LRNCL_KERNEL_FORWARD_TRAINING is the forward kernel on runs that write both y and the scale:
 * one more output stream changes the best block on CPUs, so it is tuned apart. Setting
 * LRNCL_KERNEL_FORWARD sets it too; set it afterwards to tune it alone. A database without a
 * "fwd-train" entry for the plan gives it the "fwd" entry. */
typedef enum lrncl_kernel_kind {
    LRNCL_KERNEL_FORWARD = 0, LRNCL_KERNEL_BACKWARD = 1, LRNCL_KERNEL_FORWARD_TRAINING = 2
} lrncl_kernel_kind;

typedef struct lrncl_tuning {
    size_t local_size;      /* work-items per work-group along dimension 0, >= 1 */
    size_t slide_block;     /* channels (across) or rows (within) per work-item, >= 1; values
                               at or above C (across) or H (within) mean one block */
} lrncl_tuning;

/* Where a plan's tuning came from (lrncl_plan_tuning_source). */
typedef enum lrncl_tuning_source {
    LRNCL_TUNING_HEURISTIC = 0, LRNCL_TUNING_BUILTIN_DB, LRNCL_TUNING_FILE_DB, LRNCL_TUNING_USER,
} lrncl_tuning_source;

LRNCL_API lrncl_status lrncl_plan_get_tuning(const lrncl_plan *p, lrncl_kernel_kind which, lrncl_tuning *out);
/* Validates t against the device's work-group limits (LRNCL_ERROR_UNSUPPORTED when it cannot
 * launch, with the limit in lrncl_last_error); safe while other threads run the plan. The NHWC
 * across vector path (CPUs) has no channel blocks: a slide_block below C is refused there.
 * The fpga kernels (single work-item) have nothing to tune: their plans report local_size 1
 * and the whole axis as slide_block (source LRNCL_TUNING_HEURISTIC, no database read), and
 * accept only that: another local_size, or a slide_block below the axis, is
 * LRNCL_ERROR_UNSUPPORTED. */
LRNCL_API lrncl_status lrncl_plan_set_tuning(lrncl_plan *p, lrncl_kernel_kind which, const lrncl_tuning *t);
LRNCL_API lrncl_tuning_source lrncl_plan_tuning_source(const lrncl_plan *p, lrncl_kernel_kind which);
/* The key under which the tuning database stores this plan's kernel `which`: "PLATFORM /
 * DEVICE" (CL_PLATFORM_NAME and CL_DEVICE_NAME, tabs and newlines made spaces), then mode,
 * pass, dtype, layout, shape and window, tab-separated as in the database file. Plans also read
 * entries keyed by the device name alone (lrncl 0.2.0's keys), after this key's. At
 * most size bytes (NUL included) are written; returns the length needed, 0 on a NULL plan or a
 * kind that is not an lrncl_kernel_kind. */
LRNCL_API size_t lrncl_plan_tuning_key(const lrncl_plan *p, lrncl_kernel_kind which, char *buf, size_t size);

/* ---- plan introspection (what `lrncl explain` prints) --------------------------------------- */
/* How a plan launches one kernel: the same values its runs enqueue with. */
typedef struct lrncl_kernel_info {
    char name[64];                /* the OpenCL kernel function, e.g. "lrn_across_fwd" */
    size_t global[2], local[2];   /* the clEnqueueNDRangeKernel sizes (2 dimensions) */
    size_t slide_block;           /* the block the run walks: the tuning's, at most the axis */
    lrncl_tuning tuning;          /* as lrncl_plan_get_tuning */
    lrncl_tuning_source source;   /* as lrncl_plan_tuning_source */
} lrncl_kernel_info;

/* One program a plan uses. */
typedef struct lrncl_program_info {
    char variant[96];             /* the variant's name (also its bundle file name, less ".bin") */
    lrncl_program_origin origin;  /* where this plan got it */
    char options[512];            /* the build options (of the source build that made it) */
} lrncl_program_info;

/* Kernel `which` of p as a run with in_place (0 or 1: y the same buffer as x, forward only)
 * would enqueue it. LRNCL_ERROR_NULL_ARGUMENT, or LRNCL_ERROR_UNSUPPORTED for a kind that is not
 * an lrncl_kernel_kind or in-place where the plan does not allow it. */
LRNCL_API lrncl_status lrncl_plan_kernel_info(const lrncl_plan *p, lrncl_kernel_kind which, int in_place,
                                              lrncl_kernel_info *out);
/* The number of programs p uses (1 or 2), and each (index from 0; LRNCL_ERROR_UNSUPPORTED past
 * the end). */
LRNCL_API size_t       lrncl_plan_program_count(const lrncl_plan *p);
LRNCL_API lrncl_status lrncl_plan_program_info(const lrncl_plan *p, size_t index, lrncl_program_info *out);
/* The class of kernels the plan chose: "cpu", "gpu" or "fpga" (the device's type, or
 * LRNCL_DEVICE_CLASS); "" on NULL. */
LRNCL_API const char  *lrncl_plan_device_class(const lrncl_plan *p);

/* ---- run ---------------------------------------------------------------------------------- */
/* Enqueue only: no clFinish inside; wait list in, event out (done may be NULL).
 * x, y (and scale, dy, dx) are buffers of the plan's context, each viewed through the plan's
 * dtype, layout and its own offset (see lrncl_desc_span for the size needed). The scale is
 * float32 whatever the dtype (same layout, its own offset): a float16 scale would overflow
 * and cost the backward pass its precision. scale may be NULL
 * (inference: no scale is written); when given, forward writes the scale there for a later
 * backward. backward recomputes the scale when it is NULL. Outputs must not overlap any other
 * argument (overlap is judged on the memory: a sub-buffer overlaps its parent and its
 * overlapping siblings), with one exception: in-place forward (y on the same first byte as x:
 * the same buffer and offset, or a sub-buffer and its parent that meet there) is allowed in
 * ACROSS_CHANNELS mode with a window of at most 16 channels. Each wait list entry must be an
 * event of the plan's context: a NULL entry or a handle that is not an event is
 * CL_INVALID_EVENT_WAIT_LIST, an event of another context LRNCL_ERROR_CONTEXT_MISMATCH.
 * Arithmetic is float32: results meet the accuracy bounds of docs/design.md while the scale k + a*SUM x^2 stays
 * within float32 and y, dy*y/scale and dx are zero or normal float32 values; where the scale
 * overflows (+inf), y and dx are 0 (docs/design.md, "Guarantees").
 * A recomputed scale is bitwise the forward's, so dx is the same either way. WITHIN_CHANNEL
 * backward without a scale recomputes it in the same kernel for NCHW (and, on GPUs, strided)
 * layouts with windows up to 16 (rows and columns); NHWC, strided views on CPUs and wider
 * windows first compute the scale into a workspace: lrncl_plan_workspace_size says whether and
 * how much, and lrncl_backward_ws takes the caller's. lrncl_backward, which has no workspace
 * argument, allocates a temporary device buffer of that size for the call (released by OpenCL
 * once the kernels finish). */
/* Queues: in-order and out-of-order queues (CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE) both work.
 * On an out-of-order queue nothing orders commands but events: pass the events of the commands
 * that write this run's inputs in the wait list, and wait on `done` (in a later wait list, or
 * clWaitForEvents) before anything reads the outputs or writes the inputs again. `done` covers
 * every kernel of the call (a backward that computes the scale first included). */
LRNCL_API lrncl_status lrncl_forward(lrncl_plan *p, cl_command_queue q, cl_mem x, cl_mem y, cl_mem scale,
                                     cl_uint num_wait, const cl_event *wait, cl_event *done);
LRNCL_API lrncl_status lrncl_backward(lrncl_plan *p, cl_command_queue q, cl_mem x, cl_mem y, cl_mem dy,
                                      cl_mem scale, cl_mem dx, cl_uint num_wait, const cl_event *wait,
                                      cl_event *done);

/* Run-time offsets: lrncl_forward / lrncl_backward_ws with each buffer's offset given here (in
 * elements of the plan's dtype; scale and workspace in float32 elements) in place of the
 * descriptor's offset_* fields, which these calls ignore. One plan then serves a view at any
 * place of an engine's arena. Every check applies to these offsets: each buffer must hold
 * (offset + lrncl_desc_span) elements, outputs must not overlap other arguments in bytes, and
 * in-place forward is y at x's own first byte. lrncl_forward and lrncl_backward_ws are these
 * calls with the descriptor's offsets. workspace may be NULL (as lrncl_backward_ws). */
LRNCL_API lrncl_status lrncl_forward_at(lrncl_plan *p, cl_command_queue q, cl_mem x, size_t x_offset, cl_mem y,
                                        size_t y_offset, cl_mem scale, size_t scale_offset, cl_uint num_wait,
                                        const cl_event *wait, cl_event *done);
LRNCL_API lrncl_status lrncl_backward_at(lrncl_plan *p, cl_command_queue q, cl_mem x, size_t x_offset, cl_mem y,
                                         size_t y_offset, cl_mem dy, size_t dy_offset, cl_mem scale,
                                         size_t scale_offset, cl_mem dx, size_t dx_offset, cl_mem workspace,
                                         size_t workspace_offset, cl_uint num_wait, const cl_event *wait,
                                         cl_event *done);

/* ---- workspace (device scratch memory) ---------------------------------------------------- */
/* Bytes of device memory a call of kind `which` on p may need as workspace: for
 * LRNCL_KERNEL_BACKWARD, what lrncl_backward allocates (and lrncl_backward_ws takes) when it is
 * called with scale NULL on a path that computes the scale in a separate pass (WITHIN_CHANNEL
 * with NHWC, strided views on CPUs, or windows wider than 16 rows or columns): one float32 per
 * element of the plan's view, lrncl_desc_span(d) * 4 bytes. 0 when the call needs none (every
 * other path, every forward kind), for a NULL plan and for a kind that is not an
 * lrncl_kernel_kind. A backward given a scale never uses a workspace. Fixed for the plan's
 * lifetime (it does not depend on the tuning). Thread-safe. */
LRNCL_API size_t lrncl_plan_workspace_size(const lrncl_plan *p, lrncl_kernel_kind which);
/* lrncl_backward with a workspace of the caller's, so that nothing is allocated inside the call.
 * workspace: a buffer of the plan's context (may be NULL: then as lrncl_backward), used from
 * byte workspace_offset * 4 on: workspace_offset counts float32 elements, like the descriptor's
 * offsets, so an arena buffer can hold it at any 4-byte boundary. When the call needs a
 * workspace (scale NULL and lrncl_plan_workspace_size(p, LRNCL_KERNEL_BACKWARD) > 0), the
 * buffer must hold workspace_offset * 4 + that many bytes (else LRNCL_ERROR_BUFFER_TOO_SMALL)
 * and those bytes must not overlap any other argument (LRNCL_ERROR_ALIASED_BUFFERS); the call
 * then overwrites them (with the scale), and they must stay untouched until the backward's
 * event completes: `done` covers both kernels. When the call needs none, the workspace is not
 * touched (a buffer of another context is still refused with LRNCL_ERROR_CONTEXT_MISMATCH).
 * dx is bitwise the same as from lrncl_backward. Threads and ownership as lrncl_backward; the
 * caller keeps the workspace. */
LRNCL_API lrncl_status lrncl_backward_ws(lrncl_plan *p, cl_command_queue q, cl_mem x, cl_mem y, cl_mem dy,
                                         cl_mem scale, cl_mem dx, cl_mem workspace, size_t workspace_offset,
                                         cl_uint num_wait, const cl_event *wait, cl_event *done);

/* ---- float64 reference -------------------------------------------------------------------- */
/* The same computation on the host in double precision, for checking results. The arrays are
 * always contiguous NCHW of lrncl_desc_elements(d) values, whatever the descriptor's dtype,
 * layout and offsets; its convention and parameters are validated and used as by
 * lrncl_plan_create. scale may be NULL. */
LRNCL_API lrncl_status lrncl_reference_forward(const lrncl_desc *d, const double *x, double *y,
                                               double *scale);
/* dx from x, y (the forward output), dy; the scale is recomputed from x. */
LRNCL_API lrncl_status lrncl_reference_backward(const lrncl_desc *d, const double *x, const double *y,
                                                const double *dy, double *dx);

#ifdef __cplusplus
}
#endif
#endif /* LRNCL_H */
