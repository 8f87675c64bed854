/* program_store.c: where a context's OpenCL programs come from: its memory, its bundle
 * (bundle.c), the persistent disk cache (disk_cache.c), else a build from source (builder.c,
 * written to the cache at release); the context's store settings and counts. Calls those files
 * and status.c; plan.c and context.c call it. docs/design.md, "Program store". */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static lrncl_status missing(const lrncl_context *c, const char *name, const lrncl_desc *d) {
    char cmd[512];
    lrncl__compile_command(d, c->bundle_dir ? c->bundle_dir : "DIR", cmd, sizeof cmd);
    const char *why = c->bundle_only ? "this binary-only context's bundle" : "the bundle or the disk cache";
    return lrncl__fail(LRNCL_ERROR_MISSING_BINARY,
                       "no program binary for variant %s in %s%s%s%s, and %s; make it with: %s", name, why,
                       c->bundle_dir ? " (" : "", c->bundle_dir ? c->bundle_dir : "", c->bundle_dir ? ")" : "",
                       c->bundle_only ? "it never builds from source"
                                      : "this device cannot build from source (it reports no compiler)",
                       cmd);
}

/* Finds (or makes) the program; caller holds c->lock. */
static lrncl_status find_program(lrncl_context *c, const lrncl_variant *v, const char *name, const lrncl_desc *d,
                                 lrncl_program_entry *e) {
    const char *texts[2];
    size_t sizes[2];
    lrncl_status st = lrncl__variant_program(c, v, texts, sizes, e->options);
    if (st != LRNCL_SUCCESS)
        return st;
    if (c->bundle_dir) {
        int said = 0;
        st = lrncl__bundle_program(c, name, e->options, lrncl__source_crc(texts, sizes, e->options), d,
                                   &e->program, &said);
        if (st == LRNCL_SUCCESS) {
            e->origin = LRNCL_PROGRAM_BUNDLE;
            return st;
        }
        if (st != LRNCL_ERROR_MISSING_BINARY || said)
            return st; /* a binary-only context's bundle refused it, and said why */
        st = LRNCL_SUCCESS;
    }
    if (c->bundle_only || (!c->can_compile && !c->cache_dir))
        return missing(c, name, d);
    if (lrncl__cache_load(c, name, e->options, texts, sizes, &e->program)) {
        e->origin = LRNCL_PROGRAM_DISK_CACHE;
    } else if (!c->can_compile) {
        st = missing(c, name, d);
    } else {
        /* Not written now: PoCL adds the work-group function of each local size to the binary at
         * the first launch, but only until the binary is first read (it keeps what it serialised
         * then). The plan hands it to the context's writer (cache_writer.c), which launches the
         * kernels first. */
        st = lrncl__build_source(c, texts, sizes, e->options, &e->program);
        if (st == LRNCL_SUCCESS)
            e->origin = LRNCL_PROGRAM_BUILT;
    }
    return st;
}

lrncl_status lrncl__program_get(lrncl_context *c, const lrncl_variant *v, const lrncl_desc *d, cl_program *out,
                                lrncl_program_info *info) {
    char name[LRNCL_VARIANT_NAME_MAX];
    lrncl__variant_name(v, name, sizeof name);
    lrncl_status st = LRNCL_SUCCESS;
    lrncl_program_origin origin = LRNCL_PROGRAM_MEMORY;
    mtx_lock(&c->lock);
    lrncl_program_entry *e = c->programs;
    while (e && strcmp(e->name, name) != 0)
        e = e->next;
    if (e) {
        c->count[LRNCL_PROGRAM_MEMORY]++;
    } else {
        e = calloc(1, sizeof *e);
        if (!e) {
            st = lrncl__fail(LRNCL_ERROR_OUT_OF_HOST_MEMORY, "program store: no memory");
            goto out;
        }
        e->key = *v;
        memcpy(e->name, name, sizeof name);
        st = find_program(c, v, name, d, e);
        if (st != LRNCL_SUCCESS) {
            free(e);
            e = NULL;
            goto out;
        }
        origin = e->origin;
        c->count[origin]++;
        e->next = c->programs;
        c->programs = e;
    }
    cl_int err = clRetainProgram(e->program);
    if (err != CL_SUCCESS) {
        st = lrncl__cl_fail(err, "clRetainProgram");
        goto out;
    }
    *out = e->program;
    if (info) {
        memset(info, 0, sizeof *info);
        memcpy(info->variant, name, sizeof info->variant < sizeof name ? sizeof info->variant : sizeof name);
        info->variant[sizeof info->variant - 1] = '\0';
        info->origin = origin;
        snprintf(info->options, sizeof info->options, "%s", e->options);
    }
out:
    mtx_unlock(&c->lock);
    return st;
}

/* ---- context settings --------------------------------------------------------------------- */

static char *device_text(cl_device_id dev, cl_device_info what) {
    size_t n = 0;
    if (clGetDeviceInfo(dev, what, 0, NULL, &n) != CL_SUCCESS)
        n = 0;
    char *s = malloc(n + 1);
    if (s && (n == 0 || clGetDeviceInfo(dev, what, n, s, NULL) != CL_SUCCESS))
        n = 0;
    if (s)
        s[n] = '\0';
    return s;
}

static char *platform_text(cl_device_id dev, cl_platform_info what) {
    cl_platform_id plat = NULL;
    size_t n = 0;
    char *s = NULL;
    if (clGetDeviceInfo(dev, CL_DEVICE_PLATFORM, sizeof plat, &plat, NULL) == CL_SUCCESS &&
        clGetPlatformInfo(plat, what, 0, NULL, &n) == CL_SUCCESS && (s = malloc(n + 1)) != NULL &&
        clGetPlatformInfo(plat, what, n, s, NULL) == CL_SUCCESS) {
        s[n] = '\0';
        return s;
    }
    free(s);
    s = malloc(1);
    if (s)
        *s = '\0';
    return s;
}

/* Text fields hold no tabs or newlines (they would break the key's and manifest's lines). */
static void flatten(char *s) {
    for (; s && *s; ++s)
        if (*s == '\t' || *s == '\n' || *s == '\r')
            *s = ' ';
}

lrncl_status lrncl__store_init(lrncl_context *c, const char *cache_dir) {
    char *dev_version = device_text(c->dev, CL_DEVICE_VERSION), *driver = device_text(c->dev, CL_DRIVER_VERSION);
    char *platform = platform_text(c->dev, CL_PLATFORM_VERSION);
    c->device_name = device_text(c->dev, CL_DEVICE_NAME);
    c->platform_name = platform_text(c->dev, CL_PLATFORM_NAME);
    lrncl_status st = LRNCL_SUCCESS;
    if (!dev_version || !driver || !platform || !c->device_name || !c->platform_name) {
        st = lrncl__fail(LRNCL_ERROR_OUT_OF_HOST_MEMORY, "lrncl_context_create: no memory");
        goto out;
    }
    flatten(c->device_name), flatten(c->platform_name), flatten(dev_version), flatten(driver), flatten(platform);
    size_t n = strlen(c->device_name) + strlen(dev_version) + strlen(driver) + strlen(platform) + 128;
    c->identity = malloc(n);
    if (!c->identity) {
        st = lrncl__fail(LRNCL_ERROR_OUT_OF_HOST_MEMORY, "lrncl_context_create: no memory");
        goto out;
    }
    snprintf(c->identity, n, "lrncl\t%s\ndevice\t%s\ndevice-version\t%s\ndriver\t%s\nplatform\t%s\n",
             lrncl_version_string(), c->device_name, dev_version, driver, platform);

    cl_bool compiler = CL_TRUE;
    if (clGetDeviceInfo(c->dev, CL_DEVICE_COMPILER_AVAILABLE, sizeof compiler, &compiler, NULL) != CL_SUCCESS)
        compiler = CL_TRUE; /* unknown: try, and let the build say */
    /* The device's own word: FPGA boards report no compiler (their programs come from offline
     * binaries), while an accelerator that has one (Intel's FPGA emulator, Oclgrind) builds. */
    c->can_compile = compiler != CL_FALSE;

    st = lrncl__cache_init(c, cache_dir);
out:
    free(dev_version);
    free(driver);
    free(platform);
    return st;
}

void lrncl__store_release(lrncl_context *c) {
    /* The entries of the programs built here were written by the cache writer (cache_writer.c),
     * which lrncl_context_release has joined. */
    free(c->identity);
    free(c->device_name);
    free(c->platform_name);
    free(c->cache_dir);
    free(c->cache_status);
    free(c->bundle_dir);
    free(c->bundle_manifest);
}

/* ---- counters ----------------------------------------------------------------------------- */

size_t lrncl_context_program_count(const lrncl_context *c, lrncl_program_origin origin) {
    if (!c || (unsigned)origin >= LRNCL_PROGRAM_ORIGIN_COUNT)
        return 0;
    mtx_lock((mtx_t *)&c->lock);
    size_t n = c->count[origin];
    mtx_unlock((mtx_t *)&c->lock);
    return n;
}

size_t lrncl_context_program_builds(const lrncl_context *c) {
    return lrncl_context_program_count(c, LRNCL_PROGRAM_BUILT);
}

const char *lrncl_program_origin_string(lrncl_program_origin origin) {
    static const char *names[] = {"memory", "bundle", "disk cache", "built"};
    return (unsigned)origin < LRNCL_PROGRAM_ORIGIN_COUNT ? names[origin] : "unknown";
}
