/* tuning.c: how a plan launches its kernels (work-group size, slide block): the database file
 * named by the context's tuning_db option or LRNCL_TUNING_DB, the built-in database
 * (host/tuning_db.txt, written by `lrncl tune`), else a heuristic from the device;
 * lrncl_plan_set_tuning overrides them.
 *
 * Database format: one entry per line, '#' starts a comment line. Nine tab-separated fields:
 *   device, mode, pass (fwd, fwd-train, bwd), dtype, layout, NxCxHxW, lo:hi, local size,
 *   slide block
 * The first seven are the key (lrncl_plan_tuning_key); the last entry with a key wins. The
 * device is "PLATFORM / DEVICE" (CL_PLATFORM_NAME, CL_DEVICE_NAME, as `lrncl devices` prints
 * them): one CPU runs at different speeds, and wants other tuning, under PoCL and under Intel's
 * runtime. An entry keyed by the device name alone (as lrncl 0.2.0 wrote them) still applies,
 * after any entry with the platform. A plan whose fwd-train key a database lacks takes that
 * database's fwd entry.
 *
 * The FPGA kernels (lrn_fpga.cl) have nothing to tune: each is one work-item walking the whole
 * tensor. Their plans report a work-group size of 1 and a slide block of the whole axis
 * (source LRNCL_TUNING_HEURISTIC), read no database, and lrncl_plan_set_tuning accepts only
 * that tuning (local_size 1, slide_block at least the axis), refusing any other with
 * LRNCL_ERROR_UNSUPPORTED. */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { KEY_FIELDS = 7, KEY_MAX = 512 };

/* Work-items each kernel wants resident per compute unit on a GPU before it splits columns. */
enum { GPU_ITEMS_PER_CU = 1024 };

/* Work-items of one block (before rounding dimension 0 up to the work-group size). */
static size_t items_per_block(const lrncl_plan *p) {
    return lrncl__dim0_extent(p) * lrncl__dim1_outer(p);
}

/* Whether this kernel can split its slide axis into blocks: not the NHWC across vector path
 * (it holds a whole column's pending outputs) nor the element-wise one (it has no walk). */
static int can_split(const lrncl_plan *p) {
    return !p->variant.ew && p->variant.family != LRNCL_FAMILY_FPGA && !(p->canon.mode == LRNCL_ACROSS_CHANNELS && lrncl__vector_along_channels(p));
}

static const char *path_name(const lrncl_plan *p) {
    if (p->variant.family == LRNCL_FAMILY_FPGA)
        return "the FPGA kernels (one work-item each)";
    return p->variant.ew ? "the element-wise path (NHWC on GPUs)" : "the NHWC across vector path (CPUs)";
}

/* Blocks at least 8 long and at least twice the window, so the re-read halo stays small. */
static size_t min_block(const lrncl_plan *p) {
    size_t b = 2 * (size_t)(p->canon.lo + p->canon.hi);
    return b < 8 ? 8 : b;
}

/* CPUs: the across forward walks short blocks of channels. A work-item walking a whole column
 * touches a page per channel (a plane apart) and the hardware prefetchers lose track; short
 * walks ran 1.2-1.5x faster than whole columns on PoCL although each block re-reads the
 * window's reach. A block of b channels keeps b + lo + hi input planes and b planes per output
 * in flight; the best blocks measured keep that near CPU_STREAMS (docs/performance-history.md:
 * window 5, 6 channels for inference and 4 for training; window 9, 4 and 3; the old rule,
 * the reach plus 2, made training 1.1-1.4x slower). With the window re-read from memory (wide
 * windows) the block only shapes the walk: the reach plus 2, at least 6. The backward re-reads
 * twice the window per block, and measured fastest on whole columns; within, rows are
 * contiguous and blocks measured no faster. GPUs: enough blocks to give each compute unit
 * GPU_ITEMS_PER_CU work-items.
 *
 * The backward's whole columns rely on the kernels' prefetch, which only PoCL's CPU devices
 * compile (LRN_PREFETCH: clang for the host's target). Without it (Intel's CPU runtime compiles
 * through SPIR; LRNCL_PORTABLE_KERNELS=1) blocks of CPU_BWD_BLOCK channels ran 1.0-1.35x faster
 * than whole columns on AlexNet's norm1 and norm2 and GoogLeNet's LRN, on Intel's runtime and on
 * PoCL alike; 16 ran GoogLeNet's 1.25x slower than 24, and 32 norm1's 1.15x (docs/performance.md). */
enum { CPU_STREAMS = 17, CPU_BWD_BLOCK = 24 };

/* Whether the CPU kernels prefetch: lrn_common.cl's LRN_PREFETCH, on PoCL unless
 * LRNCL_PORTABLE_KERNELS=1 builds them without target-specific builtins (builder.c). */
static int kernels_prefetch(const lrncl_plan *p) {
    const char *portable = getenv("LRNCL_PORTABLE_KERNELS");
    return p->owner->impl == LRNCL_IMPL_POCL && !(portable && strcmp(portable, "1") == 0);
}

static size_t heuristic_block(const lrncl_plan *p, lrncl_kernel_kind which) {
    const size_t extent = lrncl__slide_extent(p), least = min_block(p);
    if (!can_split(p))
        return extent;
    if (p->cpu) {
        if (p->canon.mode != LRNCL_ACROSS_CHANNELS)
            return extent;
        if (which == LRNCL_KERNEL_BACKWARD)
            return kernels_prefetch(p) || extent <= CPU_BWD_BLOCK ? extent : CPU_BWD_BLOCK;
        size_t reach = (size_t)(p->canon.lo + p->canon.hi), b;
        if (p->variant.reg_window) {
            size_t outputs = which == LRNCL_KERNEL_FORWARD_TRAINING ? 2 : 1;
            b = reach < CPU_STREAMS ? (CPU_STREAMS - reach) / (1 + outputs) : 0;
            b = b < 2 ? 2 : b;
        } else {
            b = reach + 2 < 6 ? 6 : reach + 2;
        }
        return b < extent ? b : extent;
    }
    cl_uint cus = 0;
    if (clGetDeviceInfo(p->owner->dev, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cus, &cus, NULL) != CL_SUCCESS || !cus)
        return extent;
    size_t want = (size_t)cus * GPU_ITEMS_PER_CU, have = items_per_block(p);
    if (have >= want)
        return extent;
    size_t blocks = (want + have - 1) / have;
    size_t block = (extent + blocks - 1) / blocks;
    return block < least ? (least < extent ? least : extent) : block;
}

/* The largest work-group the kernel can launch along dimension 0 on this device. */
lrncl_status lrncl__kernel_max_local(const lrncl_plan *p, cl_kernel k, size_t *out) {
    if (p->variant.family == LRNCL_FAMILY_FPGA) { /* reqd_work_group_size(1, 1, 1) */
        *out = 1;
        return LRNCL_SUCCESS;
    }
    size_t kmax = 0, dev_items[3] = {0, 0, 0};
    cl_int err = clGetKernelWorkGroupInfo(k, p->owner->dev, CL_KERNEL_WORK_GROUP_SIZE, sizeof kmax, &kmax, NULL);
    if (err != CL_SUCCESS)
        return lrncl__cl_fail(err, "clGetKernelWorkGroupInfo(CL_KERNEL_WORK_GROUP_SIZE)");
    err = clGetDeviceInfo(p->owner->dev, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof dev_items, dev_items, NULL);
    if (err != CL_SUCCESS)
        return lrncl__cl_fail(err, "clGetDeviceInfo(CL_DEVICE_MAX_WORK_ITEM_SIZES)");
    if (dev_items[0] && dev_items[0] < kmax)
        kmax = dev_items[0];
    *out = kmax ? kmax : 1;
    return LRNCL_SUCCESS;
}

/* Work-group size: the smallest of 8..64 covering dimension 0's extent (few distinct sizes,
 * since PoCL compiles a work-group function per local size), within the kernel's limit. */
static size_t heuristic_local(const lrncl_plan *p, size_t kmax) {
    size_t extent = lrncl__dim0_extent(p), l = 8;
    while (l < 64 && l < extent)
        l *= 2;
    while (l > 1 && l > kmax)
        l /= 2;
    return l;
}

static lrncl_status check_tuning(const lrncl_plan *p, lrncl_kernel_kind which, const lrncl_tuning *t) {
    size_t kmax = 1;
    lrncl_status st = lrncl__kernel_max_local(p, p->kernels[LRNCL_KERNEL_OF(which)], &kmax);
    if (st != LRNCL_SUCCESS)
        return st;
    if (p->variant.family == LRNCL_FAMILY_FPGA && t->local_size != 1)
        return lrncl__fail(LRNCL_ERROR_UNSUPPORTED, "tuning: local_size %zu, but the FPGA kernels are single "
                           "work-item kernels: only 1", t->local_size);
    if (t->local_size < 1 || t->local_size > kmax)
        return lrncl__fail(LRNCL_ERROR_UNSUPPORTED, "tuning: local_size %zu is outside 1..%zu, the most this "
                           "kernel can launch on the device", t->local_size, kmax);
    if (t->slide_block < 1)
        return lrncl__fail(LRNCL_ERROR_UNSUPPORTED, "tuning: slide_block must be at least 1");
    if (t->slide_block < lrncl__slide_extent(p) && !can_split(p))
        return lrncl__fail(LRNCL_ERROR_UNSUPPORTED, "tuning: slide_block %zu is below the axis (%zu), but %s has "
                           "no slide blocks", t->slide_block, lrncl__slide_extent(p), path_name(p));
    return LRNCL_SUCCESS;
}

static const char *dtype_text(lrncl_dtype t) { return t == LRNCL_FLOAT16 ? "f16" : "f32"; }

static const char *layout_text(lrncl_layout l) {
    return l == LRNCL_LAYOUT_NHWC ? "nhwc" : l == LRNCL_LAYOUT_STRIDED ? "strided" : "nchw";
}

/* The key, its device field with the platform (with_platform) or as lrncl 0.2.0 wrote it. */
static size_t tuning_key(const lrncl_plan *p, lrncl_kernel_kind which, int with_platform, char *buf, size_t size) {
    if (!p || (unsigned)which >= LRNCL_T_COUNT)
        return 0;
    const lrncl_desc *d = &p->desc;
    /* both names hold no tabs or newlines (program_store.c) */
    int n = snprintf(buf, size, "%s%s%s\t%s\t%s\t%s\t%s\t%zux%zux%zux%zu\t%d:%d",
                     with_platform ? p->owner->platform_name : "", with_platform ? " / " : "", p->owner->device_name,
                     p->canon.mode == LRNCL_ACROSS_CHANNELS ? "across" : "within",
                     which == LRNCL_KERNEL_BACKWARD            ? "bwd"
                     : which == LRNCL_KERNEL_FORWARD_TRAINING ? "fwd-train"
                                                              : "fwd",
                     dtype_text(d->dtype), layout_text(d->layout),
                     d->n, d->c, d->h, d->w, p->canon.lo, p->canon.hi);
    return n < 0 ? 0 : (size_t)n + 1;
}

size_t lrncl_plan_tuning_key(const lrncl_plan *p, lrncl_kernel_kind which, char *buf, size_t size) {
    return tuning_key(p, which, 1, buf, size);
}

/* Looks key up in a database text of len bytes; 1 and *t when an entry has it (the last wins). */
int lrncl__tuning_db_lookup(const char *text, size_t len, const char *key, lrncl_tuning *t) {
    const size_t klen = strlen(key);
    int found = 0;
    for (const char *line = text, *end = text + len; line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol)
            eol = end;
        if ((size_t)(eol - line) > klen && line[0] != '#' && memcmp(line, key, klen) == 0 && line[klen] == '\t') {
            char vals[64];
            size_t vlen = (size_t)(eol - line) - klen - 1;
            if (vlen < sizeof vals) {
                memcpy(vals, line + klen + 1, vlen);
                vals[vlen] = '\0';
                char *e1, *e2;
                errno = 0;
                unsigned long long l = strtoull(vals, &e1, 10), b = *e1 == '\t' ? strtoull(e1 + 1, &e2, 10) : 0;
                if (!errno && *e1 == '\t' && (*e2 == '\0' || *e2 == '\r') && l && b) {
                    t->local_size = (size_t)l;
                    t->slide_block = (size_t)b;
                    found = 1;
                }
            }
        }
        line = eol + 1;
    }
    return found;
}

/* The first of keys[0..n) (those not "") that the database has. */
static int db_find(const char *text, size_t len, char keys[][KEY_MAX], int n, lrncl_tuning *t) {
    for (int i = 0; i < n; ++i)
        if (keys[i][0] && lrncl__tuning_db_lookup(text, len, keys[i], t))
            return 1;
    return 0;
}

/* The keys a plan's kernel looks up, in order: its own, then by the device name alone, then (a
 * training forward) the forward's two. "" where a key does not fit. */
static int lookup_keys(const lrncl_plan *p, lrncl_kernel_kind kind, char keys[4][KEY_MAX]) {
    int n = 0;
    for (int pass = 0; pass < (kind == LRNCL_KERNEL_FORWARD_TRAINING ? 2 : 1); ++pass)
        for (int with_platform = 1; with_platform >= 0; --with_platform, ++n) {
            size_t len = tuning_key(p, pass ? LRNCL_KERNEL_FORWARD : kind, with_platform, keys[n], KEY_MAX);
            if (!len || len > KEY_MAX)
                keys[n][0] = '\0';
        }
    return n;
}

/* The database file named by the context's tuning_db option, else by LRNCL_TUNING_DB, read
 * whole; NULL when unset, "" or unreadable (a tuning file is a hint: a missing one is no error).
 * Only a regular file of at most 64 MiB: a FIFO there is never waited on (files.c). */
static char *read_db_file(const lrncl_context *c, size_t *len) {
    const char *path = c->tuning_db ? c->tuning_db : getenv("LRNCL_TUNING_DB");
    char *text = NULL;
    if (path && *path && lrncl__read_file(path, (size_t)64 << 20, 0, &text, len, NULL) != LRNCL_FILE_OK)
        text = NULL;
    return text;
}

lrncl_status lrncl__tuning_init(lrncl_plan *p) {
    size_t flen = 0;
    char *file = read_db_file(p->owner, &flen);
    const struct lrncl_embedded_source *builtin = lrncl__embedded("tuning_db");
    lrncl_status st = LRNCL_SUCCESS;
    for (int i = 0; i < LRNCL_T_COUNT && st == LRNCL_SUCCESS; ++i) {
        const lrncl_kernel_kind kind = (lrncl_kernel_kind)i;
        char keys[4][KEY_MAX];
        lrncl_tuning t;
        size_t kmax = 1;
        st = lrncl__kernel_max_local(p, p->kernels[LRNCL_KERNEL_OF(kind)], &kmax);
        if (st != LRNCL_SUCCESS)
            break;
        p->tuning[i].local_size = heuristic_local(p, kmax);
        p->tuning[i].slide_block = heuristic_block(p, kind);
        p->tuning_source[i] = LRNCL_TUNING_HEURISTIC;
        if (p->variant.family == LRNCL_FAMILY_FPGA)
            continue; /* nothing to tune (heuristic_local gives 1 within kmax 1, the block the axis) */
        /* training falls back on the same database's forward entry */
        int nkeys = lookup_keys(p, kind, keys);
        /* An entry this device cannot launch (a database from another driver) is ignored. */
        if (file && db_find(file, flen, keys, nkeys, &t) && check_tuning(p, kind, &t) == LRNCL_SUCCESS) {
            p->tuning[i] = t;
            p->tuning_source[i] = LRNCL_TUNING_FILE_DB;
        } else if (builtin && db_find(builtin->text, builtin->size, keys, nkeys, &t) &&
                   check_tuning(p, kind, &t) == LRNCL_SUCCESS) {
            p->tuning[i] = t;
            p->tuning_source[i] = LRNCL_TUNING_BUILTIN_DB;
        }
        lrncl__clear_error(); /* a refused entry leaves no error behind */
    }
    free(file);
    return st;
}

lrncl_status lrncl_plan_get_tuning(const lrncl_plan *p, lrncl_kernel_kind which, lrncl_tuning *out) {
    lrncl__clear_error();
    if (!p || !out)
        return lrncl__fail(LRNCL_ERROR_NULL_ARGUMENT, "lrncl_plan_get_tuning: %s is NULL", !p ? "plan" : "out");
    if ((unsigned)which >= LRNCL_T_COUNT)
        return lrncl__fail(LRNCL_ERROR_UNSUPPORTED, "lrncl_plan_get_tuning: kernel %d is not an "
                           "lrncl_kernel_kind", (int)which);
    mtx_lock((mtx_t *)&p->lock);
    *out = p->tuning[which];
    mtx_unlock((mtx_t *)&p->lock);
    return LRNCL_SUCCESS;
}

lrncl_status lrncl_plan_set_tuning(lrncl_plan *p, lrncl_kernel_kind which, const lrncl_tuning *t) {
    lrncl__clear_error();
    if (!p || !t)
        return lrncl__fail(LRNCL_ERROR_NULL_ARGUMENT, "lrncl_plan_set_tuning: %s is NULL", !p ? "plan" : "tuning");
    if ((unsigned)which >= LRNCL_T_COUNT)
        return lrncl__fail(LRNCL_ERROR_UNSUPPORTED, "lrncl_plan_set_tuning: kernel %d is not an "
                           "lrncl_kernel_kind", (int)which);
    lrncl_status st = check_tuning(p, which, t);
    if (st != LRNCL_SUCCESS)
        return st;
    mtx_lock(&p->lock);
    p->tuning[which] = *t;
    p->tuning_source[which] = LRNCL_TUNING_USER;
    if (which == LRNCL_KERNEL_FORWARD) { /* every forward run, training too */
        p->tuning[LRNCL_KERNEL_FORWARD_TRAINING] = *t;
        p->tuning_source[LRNCL_KERNEL_FORWARD_TRAINING] = LRNCL_TUNING_USER;
    }
    mtx_unlock(&p->lock);
    return LRNCL_SUCCESS;
}

lrncl_tuning_source lrncl_plan_tuning_source(const lrncl_plan *p, lrncl_kernel_kind which) {
    if (!p || (unsigned)which >= LRNCL_T_COUNT)
        return LRNCL_TUNING_HEURISTIC;
    mtx_lock((mtx_t *)&p->lock);
    lrncl_tuning_source s = p->tuning_source[which];
    mtx_unlock((mtx_t *)&p->lock);
    return s;
}
