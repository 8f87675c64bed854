/* context.c: lrncl contexts (the user's cl_context + device), binary-only ones with their bundle
 * (bundle.c); their programs are in program_store.c. */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

lrncl_status lrncl_context_create(cl_context ctx, cl_device_id dev, lrncl_context **out) {
    lrncl__clear_error();
    if (!out)
        return lrncl__fail(LRNCL_ERROR_NULL_ARGUMENT, "lrncl_context_create: out is NULL");
    if (!ctx || !dev)
        return lrncl__fail(LRNCL_ERROR_NULL_ARGUMENT, "lrncl_context_create: %s is NULL",
                           !ctx ? "cl_context" : "cl_device_id");

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
    err = clRetainContext(ctx);
    if (err != CL_SUCCESS) {
        mtx_destroy(&c->lock);
        free(c);
        return lrncl__cl_fail(err, "clRetainContext");
    }
    c->ctx = ctx;
    c->dev = dev;
    cl_device_fp_config fp = 0;
    c->cr_divide = clGetDeviceInfo(dev, CL_DEVICE_SINGLE_FP_CONFIG, sizeof fp, &fp, NULL) == CL_SUCCESS &&
                   (fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT);
    lrncl_status st = lrncl__store_init(c, NULL);
    if (st != LRNCL_SUCCESS) {
        lrncl_context_release(c);
        return st;
    }
    *out = c;
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

lrncl_status lrncl_context_create_from_bundle(cl_context ctx, cl_device_id dev, const char *dir,
                                              lrncl_context **out) {
    lrncl__clear_error();
    if (!dir || !out)
        return lrncl__fail(LRNCL_ERROR_NULL_ARGUMENT, "lrncl_context_create_from_bundle: %s is NULL",
                           !dir ? "dir" : "out");
    lrncl_context *c = NULL;
    lrncl_status st = lrncl_context_create(ctx, dev, &c);
    if (st == LRNCL_SUCCESS)
        st = lrncl_context_set_bundle(c, dir);
    if (st != LRNCL_SUCCESS) {
        lrncl_context_release(c);
        return st;
    }
    c->bundle_only = 1;
    *out = c;
    return LRNCL_SUCCESS;
}

cl_context lrncl_context_cl(const lrncl_context *c) { return c ? c->ctx : NULL; }

cl_device_id lrncl_context_device(const lrncl_context *c) { return c ? c->dev : NULL; }

void lrncl_context_release(lrncl_context *c) {
    if (!c)
        return;
    lrncl__store_release(c); /* rewrites grown cache entries first: it needs the programs */
    for (lrncl_program_entry *e = c->programs, *next; e; e = next) {
        next = e->next;
        clReleaseProgram(e->program);
        free(e);
    }
    clReleaseContext(c->ctx);
    mtx_destroy(&c->lock);
    free(c);
}

lrncl_status lrncl__device_class(const lrncl_context *c, lrncl_device_class *cls) {
    const char *env = getenv("LRNCL_DEVICE_CLASS");
    if (env && *env) {
        static const char *const names[] = {"cpu", "gpu", "fpga"};
        for (int i = 0; i < 3; ++i)
            if (strcmp(env, names[i]) == 0) {
                *cls = (lrncl_device_class)i;
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
