/* context.c: lrncl contexts (the user's cl_context + device): creation with options, the
 * registry of shared contexts, reference counts, release; their programs are in
 * program_store.c. */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const class_names[] = {"cpu", "gpu", "fpga"};

/* A device class name, or -1. */
static int class_of(const char *name) {
    for (int i = 0; i < 3; ++i)
        if (strcmp(name, class_names[i]) == 0)
            return i;
    return -1;
}

static char *copy_text(const char *s) {
    char *c = malloc(strlen(s) + 1);
    if (c)
        strcpy(c, s);
    return c;
}

void lrncl_context_options_init(lrncl_context_options *o) {
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
}

/* The options this library knows: the first version, struct_size 0 or its size. */
static lrncl_status check_options(const lrncl_context_options *o) {
    if (o->struct_size != 0 && o->struct_size != sizeof *o)
        return lrncl__fail(LRNCL_ERROR_INVALID_VALUE, "lrncl_context_options struct_size is %zu, not %zu (or 0): "
                           "call lrncl_context_options_init", o->struct_size, sizeof *o);
    if (o->device_class && class_of(o->device_class) < 0)
        return lrncl__fail(LRNCL_ERROR_INVALID_DEVICE, "lrncl_context_options.device_class \"%s\": expected cpu, "
                           "gpu or fpga", o->device_class);
    if (o->binary_only && !o->bundle_dir)
        return lrncl__fail(LRNCL_ERROR_INVALID_VALUE, "lrncl_context_options.binary_only needs bundle_dir");
    return LRNCL_SUCCESS;
}

/* The context's settings from o (checked): the tuning database, the device class, the bundle. */
static lrncl_status apply_options(lrncl_context *c, const lrncl_context_options *o) {
    if (o->tuning_db && !(c->tuning_db = copy_text(o->tuning_db)))
        return lrncl__fail(LRNCL_ERROR_OUT_OF_HOST_MEMORY, "lrncl_context_create: no memory");
    if (o->device_class)
        c->device_class = class_of(o->device_class);
    if (o->bundle_dir) {
        if (!(c->bundle_dir = copy_text(o->bundle_dir)))
            return lrncl__fail(LRNCL_ERROR_OUT_OF_HOST_MEMORY, "lrncl_context_create: no memory");
        lrncl_status st = lrncl__bundle_load_manifest(c);
        if (st != LRNCL_SUCCESS)
            return st;
        c->bundle_only = o->binary_only != 0;
    }
    return LRNCL_SUCCESS;
}

lrncl_status lrncl_context_create_with_options(cl_context ctx, cl_device_id dev, const lrncl_context_options *o,
                                               lrncl_context **out) {
    lrncl__clear_error();
    if (!out)
        return lrncl__fail(LRNCL_ERROR_NULL_ARGUMENT, "lrncl_context_create: out is NULL");
    if (!ctx || !dev)
        return lrncl__fail(LRNCL_ERROR_NULL_ARGUMENT, "lrncl_context_create: %s is NULL",
                           !ctx ? "cl_context" : "cl_device_id");
    lrncl_context_options defaults;
    lrncl_context_options_init(&defaults);
    if (!o)
        o = &defaults;
    lrncl_status st = check_options(o);
    if (st != LRNCL_SUCCESS)
        return st;

    /* The device must belong to the context. */
    cl_uint ndev = 0;
    cl_int err = clGetContextInfo(ctx, CL_CONTEXT_NUM_DEVICES, sizeof ndev, &ndev, NULL);
    if (err != CL_SUCCESS)
        return lrncl__cl_fail(err, "clGetContextInfo(CL_CONTEXT_NUM_DEVICES)");
    cl_device_id *devs = malloc(sizeof *devs * (ndev ? ndev : 1));
    if (!devs)
        return lrncl__fail(LRNCL_ERROR_OUT_OF_HOST_MEMORY, "lrncl_context_create: no memory");
    err = clGetContextInfo(ctx, CL_CONTEXT_DEVICES, sizeof *devs * ndev, devs, NULL);
    int found = 0;
    for (cl_uint i = 0; err == CL_SUCCESS && i < ndev; ++i)
        found |= devs[i] == dev;
    free(devs);
    if (err != CL_SUCCESS)
        return lrncl__cl_fail(err, "clGetContextInfo(CL_CONTEXT_DEVICES)");
    if (!found)
        return lrncl__fail(LRNCL_ERROR_CONTEXT_MISMATCH, "lrncl_context_create: the device is not in the context");

    lrncl_context *c = calloc(1, sizeof *c);
    if (!c)
        return lrncl__fail(LRNCL_ERROR_OUT_OF_HOST_MEMORY, "lrncl_context_create: no memory");
    if (mtx_init(&c->lock, mtx_plain) != thrd_success) {
        free(c);
        return lrncl__fail(LRNCL_ERROR_OUT_OF_HOST_MEMORY, "lrncl_context_create: mtx_init failed");
    }
    if (mtx_init(&c->writer_lock, mtx_plain) != thrd_success) {
        mtx_destroy(&c->lock);
        free(c);
        return lrncl__fail(LRNCL_ERROR_OUT_OF_HOST_MEMORY, "lrncl_context_create: mtx_init failed");
    }
    err = clRetainContext(ctx);
    if (err != CL_SUCCESS) {
        mtx_destroy(&c->writer_lock);
        mtx_destroy(&c->lock);
        free(c);
        return lrncl__cl_fail(err, "clRetainContext");
    }
    c->ctx = ctx;
    c->dev = dev;
    c->device_class = -1;
    atomic_init(&c->refs, 1);
    c->fpga_platform = (lrncl_fpga_platform)lrncl__fpga_platform(dev);
    st = lrncl__store_init(c, o->cache_dir);
    if (st == LRNCL_SUCCESS) {
        c->impl = lrncl__implementation_of(c->platform_name);
        st = apply_options(c, o);
    }
    if (st != LRNCL_SUCCESS) {
        lrncl_context_release(c);
        return st;
    }
    *out = c;
    return LRNCL_SUCCESS;
}

lrncl_status lrncl_context_create(cl_context ctx, cl_device_id dev, lrncl_context **out) {
    return lrncl_context_create_with_options(ctx, dev, NULL, out);
}

lrncl_status lrncl_context_create_from_bundle(cl_context ctx, cl_device_id dev, const char *dir,
                                              lrncl_context **out) {
    lrncl__clear_error();
    if (!dir || !out)
        return lrncl__fail(LRNCL_ERROR_NULL_ARGUMENT, "lrncl_context_create_from_bundle: %s is NULL",
                           !dir ? "dir" : "out");
    lrncl_context_options o;
    lrncl_context_options_init(&o);
    o.bundle_dir = dir;
    o.binary_only = 1;
    return lrncl_context_create_with_options(ctx, dev, &o, out);
}

/* ---- shared contexts ---------------------------------------------------------------------- */

/* The registry of lrncl_context_create_shared: one context per (cl_context, device). A shared
 * context holds its retain on the cl_context until its last release, so its key cannot be
 * reused meanwhile. The registry's mutex guards the list and every count change that could
 * reach 0 for a shared context. */
typedef struct shared_entry {
    struct shared_entry *next;
    lrncl_context *c;
} shared_entry;

static shared_entry *registry;
static mtx_t registry_lock;
static once_flag registry_once = ONCE_FLAG_INIT;
static int registry_ok;

static void registry_init(void) { registry_ok = mtx_init(&registry_lock, mtx_plain) == thrd_success; }

lrncl_status lrncl_context_create_shared(cl_context ctx, cl_device_id dev, lrncl_context **out) {
    lrncl__clear_error();
    if (!out)
        return lrncl__fail(LRNCL_ERROR_NULL_ARGUMENT, "lrncl_context_create_shared: out is NULL");
    call_once(&registry_once, registry_init);
    if (!registry_ok)
        return lrncl__fail(LRNCL_ERROR_OUT_OF_HOST_MEMORY, "lrncl_context_create_shared: mtx_init failed");
    mtx_lock(&registry_lock);
    lrncl_status st = LRNCL_SUCCESS;
    shared_entry *e = registry;
    while (e && !(e->c->ctx == ctx && e->c->dev == dev))
        e = e->next;
    if (e) {
        atomic_fetch_add(&e->c->refs, 1);
        *out = e->c;
        goto out;
    }
    e = malloc(sizeof *e);
    if (!e) {
        st = lrncl__fail(LRNCL_ERROR_OUT_OF_HOST_MEMORY, "lrncl_context_create_shared: no memory");
        goto out;
    }
    st = lrncl_context_create_with_options(ctx, dev, NULL, &e->c);
    if (st != LRNCL_SUCCESS) {
        free(e);
        goto out;
    }
    e->c->shared = 1;
    e->next = registry;
    registry = e;
    *out = e->c;
out:
    mtx_unlock(&registry_lock);
    return st;
}

lrncl_status lrncl_context_retain(lrncl_context *c) {
    lrncl__clear_error();
    if (!c)
        return lrncl__fail(LRNCL_ERROR_NULL_ARGUMENT, "lrncl_context_retain: context is NULL");
    atomic_fetch_add(&c->refs, 1); /* the caller holds a reference: the count is not 0 */
    return LRNCL_SUCCESS;
}

/* Drops one reference; 1 when it was the last (and c is out of the registry). */
static int drop_reference(lrncl_context *c) {
    if (!c->shared)
        return atomic_fetch_sub(&c->refs, 1) == 1;
    mtx_lock(&registry_lock); /* so that create_shared never finds a context on its way out */
    int last = atomic_fetch_sub(&c->refs, 1) == 1;
    if (last)
        for (shared_entry **e = &registry; *e; e = &(*e)->next)
            if ((*e)->c == c) {
                shared_entry *gone = *e;
                *e = gone->next;
                free(gone);
                break;
            }
    mtx_unlock(&registry_lock);
    return last;
}

lrncl_status lrncl_context_flush(lrncl_context *c) {
    lrncl__clear_error();
    if (!c)
        return lrncl__fail(LRNCL_ERROR_NULL_ARGUMENT, "lrncl_context_flush: context is NULL");
    lrncl__writer_flush(c);
    return LRNCL_SUCCESS;
}

/* Parses "P:D" with non-negative decimal indices; 0 on success. */
static int parse_device_spec(const char *s, unsigned long *p, unsigned long *d) {
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    *p = strtoul(s, &end, 10);
    if (errno || *end != ':' || end[1] < '0' || end[1] > '9')
        return -1;
    *d = strtoul(end + 1, &end, 10);
    return (errno || *end) ? -1 : 0;
}

lrncl_status lrncl_context_create_default(lrncl_context **out) {
    lrncl__clear_error();
    if (!out)
        return lrncl__fail(LRNCL_ERROR_NULL_ARGUMENT, "lrncl_context_create_default: out is NULL");

    const char *spec = getenv("LRNCL_DEVICE");
    unsigned long want_p = 0, want_d = 0;
    int explicit = spec && *spec;
    if (explicit && parse_device_spec(spec, &want_p, &want_d) != 0)
        return lrncl__fail(LRNCL_ERROR_INVALID_DEVICE,
                           "LRNCL_DEVICE=\"%s\" is not of the form platform:device (e.g. 0:0)", spec);

    cl_uint nplat = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &nplat);
    if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ || (err == CL_SUCCESS && nplat == 0))
        return lrncl__fail(LRNCL_ERROR_NO_DEVICE, "no OpenCL platform found (is an ICD such as "
                           "pocl-opencl-icd installed, and POCL_CACHE_DIR writable?)");
    if (err != CL_SUCCESS)
        return lrncl__cl_fail(err, "clGetPlatformIDs");
    cl_platform_id *plats = malloc(sizeof *plats * nplat);
    if (!plats)
        return lrncl__fail(LRNCL_ERROR_OUT_OF_HOST_MEMORY, "lrncl_context_create_default: no memory");
    err = clGetPlatformIDs(nplat, plats, NULL);
    if (err != CL_SUCCESS) {
        free(plats);
        return lrncl__cl_fail(err, "clGetPlatformIDs");
    }

    cl_device_id dev = NULL;
    lrncl_status st = LRNCL_SUCCESS;
    for (cl_uint p = 0; p < nplat && !dev; ++p) {
        if (explicit && p != want_p)
            continue;
        cl_uint ndev = 0;
        err = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &ndev);
        if (err == CL_DEVICE_NOT_FOUND)
            ndev = 0;
        else if (err != CL_SUCCESS) {
            st = lrncl__cl_fail(err, "clGetDeviceIDs");
            break;
        }
        if (ndev == 0 || (explicit && want_d >= ndev))
            continue;
        cl_device_id *devs = malloc(sizeof *devs * ndev);
        if (!devs) {
            st = lrncl__fail(LRNCL_ERROR_OUT_OF_HOST_MEMORY, "lrncl_context_create_default: no memory");
            break;
        }
        err = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, ndev, devs, NULL);
        if (err == CL_SUCCESS)
            dev = devs[explicit ? want_d : 0];
        else
            st = lrncl__cl_fail(err, "clGetDeviceIDs");
        free(devs);
    }
    free(plats);
    if (st != LRNCL_SUCCESS)
        return st;
    if (!dev)
        return explicit ? lrncl__fail(LRNCL_ERROR_INVALID_DEVICE,
                                      "LRNCL_DEVICE=\"%s\": no such platform:device (see `lrncl devices`)", spec)
                        : lrncl__fail(LRNCL_ERROR_NO_DEVICE, "no OpenCL device found on %u platform(s) "
                                      "(for PoCL, check that POCL_CACHE_DIR is writable)", (unsigned)nplat);

    cl_context ctx = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
    if (err != CL_SUCCESS)
        return lrncl__cl_fail(err, "clCreateContext");
    st = lrncl_context_create(ctx, dev, out);
    clReleaseContext(ctx); /* the lrncl context holds its own reference */
    return st;
}

cl_context lrncl_context_cl(const lrncl_context *c) { return c ? c->ctx : NULL; }

cl_device_id lrncl_context_device(const lrncl_context *c) { return c ? c->dev : NULL; }

void lrncl_context_release(lrncl_context *c) {
    if (!c || !drop_reference(c))
        return;
    lrncl__writer_release(c); /* the pending cache entries first: they need the programs */
    lrncl__store_release(c);
    for (lrncl_program_entry *e = c->programs, *next; e; e = next) {
        next = e->next;
        clReleaseProgram(e->program);
        free(e);
    }
    free(c->tuning_db);
    clReleaseContext(c->ctx);
    mtx_destroy(&c->writer_lock);
    mtx_destroy(&c->lock);
    free(c);
}

/* Whether text contains word, ignoring case. */
static int contains(const char *text, const char *word) {
    for (size_t n = strlen(word); *text; ++text) {
        size_t i = 0;
        while (i < n && tolower((unsigned char)text[i]) == tolower((unsigned char)word[i]))
            ++i;
        if (i == n)
            return 1;
    }
    return 0;
}

int lrncl__fpga_platform_of(const char *name, const char *vendor) {
    /* "Intel(R) FPGA SDK for OpenCL(TM)", "Intel(R) FPGA Emulation Platform for OpenCL(TM)",
     * "Altera SDK for OpenCL"; Xilinx's XRT platform is "Xilinx" (vendor "Xilinx, Inc.") */
    if (contains(name, "altera") || contains(vendor, "altera") ||
        (contains(name, "fpga") && (contains(name, "intel") || contains(vendor, "intel"))))
        return LRNCL_FPGA_INTEL;
    if (contains(name, "xilinx") || contains(vendor, "xilinx"))
        return LRNCL_FPGA_XILINX;
    return LRNCL_FPGA_NONE;
}

lrncl_impl lrncl__implementation_of(const char *platform_name) {
    return contains(platform_name, "portable computing language") ? LRNCL_IMPL_POCL : LRNCL_IMPL_OTHER;
}

int lrncl__fpga_platform(cl_device_id dev) {
    cl_platform_id plat = NULL;
    char name[256] = "", vendor[256] = "";
    if (clGetDeviceInfo(dev, CL_DEVICE_PLATFORM, sizeof plat, &plat, NULL) != CL_SUCCESS ||
        clGetPlatformInfo(plat, CL_PLATFORM_NAME, sizeof name - 1, name, NULL) != CL_SUCCESS)
        return LRNCL_FPGA_NONE;
    if (clGetPlatformInfo(plat, CL_PLATFORM_VENDOR, sizeof vendor - 1, vendor, NULL) != CL_SUCCESS)
        vendor[0] = '\0';
    return lrncl__fpga_platform_of(name, vendor);
}

lrncl_status lrncl__device_class(const lrncl_context *c, lrncl_device_class *cls) {
    if (c->device_class >= 0) { /* lrncl_context_options.device_class */
        *cls = (lrncl_device_class)c->device_class;
        return LRNCL_SUCCESS;
    }
    const char *env = getenv("LRNCL_DEVICE_CLASS");
    if (env && *env) {
        if (class_of(env) >= 0) {
            *cls = (lrncl_device_class)class_of(env);
            return LRNCL_SUCCESS;
        }
        return lrncl__fail(LRNCL_ERROR_INVALID_DEVICE, "LRNCL_DEVICE_CLASS=\"%s\": expected cpu, gpu or fpga", env);
    }
    cl_device_type type = 0;
    cl_int err = clGetDeviceInfo(c->dev, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    if (err != CL_SUCCESS)
        return lrncl__cl_fail(err, "clGetDeviceInfo(CL_DEVICE_TYPE)");
    *cls = (type & CL_DEVICE_TYPE_CPU)           ? LRNCL_CLASS_CPU
           : (type & CL_DEVICE_TYPE_ACCELERATOR) ? LRNCL_CLASS_FPGA
                                                 : LRNCL_CLASS_GPU;
    return LRNCL_SUCCESS;
}
