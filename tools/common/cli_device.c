/* cli_device.c: OpenCL device listing and contexts for the lrncl programs (cli_device.h). */
#include "cli_device.h"

#include "cli_common.h"
#include "cli_options.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every platform:device pair, in index order (CL_DEVICE_TYPE_ALL, as lrncl's default uses). */
int cli_list_devices(device_entry **out, size_t *count, cl_uint *nplatforms) {
    cl_platform_id *plats = NULL;
    cl_device_id *devs = NULL;
    device_entry *list = NULL;
    size_t n = 0;
    cl_uint np = 0;
    int ok = 0;

    cl_int err = clGetPlatformIDs(0, NULL, &np);
    if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR: the ICD loader found no platform */)
        np = 0;
    else
        TRY(cli_cl_ok(err, "clGetPlatformIDs"));
    if (np > 0) {
        TRY((plats = cli_alloc(np, sizeof *plats, "platform list")) != NULL);
        TRY(cli_cl_ok(clGetPlatformIDs(np, plats, NULL), "clGetPlatformIDs"));
    }
    for (cl_uint p = 0; p < np; p++) {
        cl_uint nd = 0;
        err = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd);
        if (err == CL_DEVICE_NOT_FOUND)
            continue;
        TRY(cli_cl_ok(err, "clGetDeviceIDs"));
        if (nd == 0)
            continue;
        TRY((devs = cli_alloc(nd, sizeof *devs, "device list")) != NULL);
        TRY(cli_cl_ok(clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, nd, devs, NULL), "clGetDeviceIDs"));
        device_entry *grown = realloc(list, (n + nd) * sizeof *list);
        if (!grown) {
            cli_fail("out of host memory for the device list");
            goto done;
        }
        list = grown;
        for (cl_uint d = 0; d < nd; d++)
            list[n++] = (device_entry){plats[p], devs[d], (unsigned)p, (unsigned)d};
        free(devs);
        devs = NULL;
    }
    *out = list;
    *count = n;
    *nplatforms = np;
    list = NULL;
    ok = 1;
done:
    free(list);
    free(devs);
    free(plats);
    return ok;
}

/* A platform (device NULL) or device info string into buf, trailing spaces trimmed. */
static void info_text(cl_platform_id platform, cl_device_id device, cl_uint what, char *buf, size_t len) {
    size_t need = 0;
    char *tmp = NULL;
    buf[0] = '\0';
    cl_int err = device ? clGetDeviceInfo(device, what, 0, NULL, &need)
                        : clGetPlatformInfo(platform, what, 0, NULL, &need);
    if (err != CL_SUCCESS || need == 0 || !(tmp = malloc(need)))
        return;
    err = device ? clGetDeviceInfo(device, what, need, tmp, NULL)
                 : clGetPlatformInfo(platform, what, need, tmp, NULL);
    if (err == CL_SUCCESS) {
        tmp[need - 1] = '\0';
        snprintf(buf, len, "%s", tmp);
        for (size_t n = strlen(buf); n > 0 && isspace((unsigned char)buf[n - 1]); n--)
            buf[n - 1] = '\0';
    }
    free(tmp);
}

void cli_device_title(cl_device_id dev, int with_type, char *buf, size_t len) {
    cl_platform_id plat = NULL;
    char pname[256], dname[256];
    if (clGetDeviceInfo(dev, CL_DEVICE_PLATFORM, sizeof plat, &plat, NULL) != CL_SUCCESS)
        plat = NULL;
    pname[0] = '\0';
    if (plat)
        info_text(plat, NULL, CL_PLATFORM_NAME, pname, sizeof pname);
    info_text(NULL, dev, CL_DEVICE_NAME, dname, sizeof dname);
    snprintf(buf, len, "%s / %s%s%s%s", pname[0] ? pname : "?", dname[0] ? dname : "?", with_type ? " (" : "",
             with_type ? cli_device_type_name(dev) : "", with_type ? ")" : "");
}

const char *cli_device_type_name(cl_device_id dev) {
    cl_device_type t = 0;
    if (clGetDeviceInfo(dev, CL_DEVICE_TYPE, sizeof t, &t, NULL) != CL_SUCCESS)
        return "unknown type";
    return (t & CL_DEVICE_TYPE_GPU) ? "GPU" : (t & CL_DEVICE_TYPE_CPU) ? "CPU"
         : (t & CL_DEVICE_TYPE_ACCELERATOR) ? "ACCELERATOR" : (t & CL_DEVICE_TYPE_CUSTOM) ? "CUSTOM"
         : "other";
}

int cli_cmd_devices(void) {
    device_entry *list = NULL;
    size_t n = 0;
    cl_uint np = 0;
    if (!cli_list_devices(&list, &n, &np))
        return CLI_FAILED;
    if (n == 0) {
        cli_fail("no OpenCL device found on %u platform(s) (for PoCL, check that POCL_CACHE_DIR is "
             "writable)", (unsigned)np);
        return CLI_FAILED;
    }
    /* The device lrncl_context_create_default picks: $LRNCL_DEVICE, else the first one. */
    const char *env = getenv("LRNCL_DEVICE");
    size_t def = 0;
    if (env && *env) {
        unsigned p, d;
        def = n;
        if (cli_parse_device_pair(env, &p, &d))
            for (size_t i = 0; i < n; i++)
                if (list[i].p == p && list[i].d == d)
                    def = i;
    }
    for (size_t i = 0; i < n; i++) {
        char title[600], cver[128];
        cli_device_title(list[i].device, 0, title, sizeof title);
        info_text(NULL, list[i].device, CL_DEVICE_OPENCL_C_VERSION, cver, sizeof cver);
        /* "OpenCL C 1.2 PoCL": keep "OpenCL C 1.2", drop the vendor's suffix. */
        char *sp = strchr(cver, ' ');
        sp = sp ? strchr(sp + 1, ' ') : NULL;
        sp = sp ? strchr(sp + 1, ' ') : NULL;
        if (sp)
            *sp = '\0';
        printf("%u:%u  %s (%s, %s)%s\n", list[i].p, list[i].d, title, cli_device_type_name(list[i].device),
               cver[0] ? cver : "OpenCL C ?", i == def ? "  [default]" : "");
    }
    if (def == n)
        fprintf(stderr, "lrncl: LRNCL_DEVICE=\"%s\" names no device listed here; the default "
                        "context will fail until it is fixed or unset\n", env);
    free(list);
    return CLI_OK;
}

int cli_open_context(int has_device, unsigned platform, unsigned device, lrncl_context **out) {
    if (!has_device)
        return cli_lr_ok(lrncl_context_create_default(out), "lrncl_context_create_default");
    device_entry *list = NULL;
    size_t n = 0, i = 0;
    cl_uint np = 0;
    cl_context cc = NULL;
    int ok = 0;
    TRY(cli_list_devices(&list, &n, &np));
    while (i < n && !(list[i].p == platform && list[i].d == device))
        i++;
    if (i == n) {
        if (platform >= np)
            cli_fail("--device %u:%u: there is no platform %u (%u found; see lrncl devices)", platform,
                 device, platform, (unsigned)np);
        else
            cli_fail("--device %u:%u: platform %u has no device %u (see lrncl devices)", platform,
                 device, platform, device);
        goto done;
    }
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)list[i].platform, 0};
    cl_int err;
    cc = clCreateContext(props, 1, &list[i].device, NULL, NULL, &err);
    TRY(cli_cl_ok(err, "clCreateContext"));
    TRY(cli_lr_ok(lrncl_context_create(cc, list[i].device, out), "lrncl_context_create"));
    ok = 1;
done:
    if (cc)
        clReleaseContext(cc); /* the lrncl context holds its own reference */
    free(list);
    return ok;
}

