/* bundle.c: program bundles, folders of per-variant device binaries (`<variant>.bin`, or a
 * vendor's offline-compiled binary dropped in under that name) with manifest.txt; a context's
 * bundle, lrncl_bundle_add (`lrncl compile`) and the command it prints for a missing variant.
 * docs/design.md, "Program store". */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MANIFEST_MAX ((size_t)1 << 20)
#define BINARY_MAX ((size_t)1 << 30)
static const char manifest_head[] = "# lrncl program bundle: tab-separated; `program` lines: variant, crc32 of the "
                                    "build options and source, build options\n";

static char *join(const char *dir, const char *name, const char *ext) {
    size_t n = strlen(dir) + strlen(name) + strlen(ext) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s%s", dir, name, ext);
    return p;
}

/* The value of the manifest line "<field>\t<value>\n" (copied into buf), or NULL. For "program"
 * lines, field is "program\t<variant>". */
static const char *manifest_value(const char *manifest, const char *field, char *buf, size_t size) {
    size_t flen = strlen(field);
    for (const char *line = manifest; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > flen && memcmp(line, field, flen) == 0 && line[flen] == '\t') {
            size_t v = len - flen - 1;
            v = v < size - 1 ? v : size - 1;
            memcpy(buf, line + flen + 1, v);
            buf[v] = '\0';
            return buf;
        }
        line = end ? end + 1 : NULL;
    }
    return NULL;
}

/* LRNCL_ERROR_INVALID_DEVICE when the manifest names another device than c's. */
static lrncl_status check_device(const lrncl_context *c, const char *dir, const char *manifest) {
    char name[512];
    if (manifest && manifest_value(manifest, "device", name, sizeof name) && strcmp(name, c->device_name) != 0)
        return lrncl__fail(LRNCL_ERROR_INVALID_DEVICE, "bundle %s was made for device \"%s\", not \"%s\"", dir, name,
                           c->device_name);
    return LRNCL_SUCCESS;
}

lrncl_status lrncl__bundle_load_manifest(lrncl_context *c) {
    size_t size = 0;
    char *path = join(c->bundle_dir, "manifest", ".txt");
    if (!path)
        return lrncl__fail(LRNCL_ERROR_OUT_OF_HOST_MEMORY, "bundle: no memory");
    free(c->bundle_manifest);
    c->bundle_manifest = lrncl__read_file(path, MANIFEST_MAX, &size);
    free(path);
    return check_device(c, c->bundle_dir, c->bundle_manifest);
}

lrncl_status lrncl__bundle_program(lrncl_context *c, const char *name, const char *options, unsigned long crc,
                                   cl_program *out) {
    char field[LRNCL_VARIANT_NAME_MAX + 16], line[LRNCL_OPTIONS_MAX + 32];
    snprintf(field, sizeof field, "program\t%s", name);
    if (c->bundle_manifest && manifest_value(c->bundle_manifest, field, line, sizeof line) &&
        strtoul(line, NULL, 16) != crc)
        return LRNCL_ERROR_MISSING_BINARY; /* made from other source or options: stale */
    static const char *exts[] = {".bin", ".aocx", ".xclbin"};
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; ++i) {
        char *path = join(c->bundle_dir, name, exts[i]);
        size_t size = 0;
        unsigned char *bin = path ? (unsigned char *)lrncl__read_file(path, BINARY_MAX, &size) : NULL;
        if (!bin) {
            free(path);
            continue;
        }
        cl_int err = size ? lrncl__program_from_binary(c, bin, size, options, out) : CL_INVALID_BINARY;
        free(bin);
        if (err == CL_SUCCESS) {
            free(path);
            return LRNCL_SUCCESS;
        }
        lrncl_status st = LRNCL_ERROR_MISSING_BINARY;
        if (c->bundle_only) /* the only place it could come from: say why it failed */
            st = lrncl__fail(LRNCL_ERROR_BUILD_FAILED, "bundle binary %s was refused by the device (%d, %s)", path,
                             (int)err, lrncl_status_string((lrncl_status)err));
        free(path);
        return st;
    }
    return LRNCL_ERROR_MISSING_BINARY;
}

lrncl_status lrncl_context_set_bundle(lrncl_context *c, const char *dir) {
    lrncl__clear_error();
    if (!c)
        return lrncl__fail(LRNCL_ERROR_NULL_ARGUMENT, "lrncl_context_set_bundle: context is NULL");
    char *copy = NULL;
    if (dir && !(copy = malloc(strlen(dir) + 1)))
        return lrncl__fail(LRNCL_ERROR_OUT_OF_HOST_MEMORY, "lrncl_context_set_bundle: no memory");
    if (copy)
        strcpy(copy, dir);
    mtx_lock(&c->lock);
    free(c->bundle_dir);
    free(c->bundle_manifest);
    c->bundle_dir = copy;
    c->bundle_manifest = NULL;
    lrncl_status st = copy ? lrncl__bundle_load_manifest(c) : LRNCL_SUCCESS;
    if (st != LRNCL_SUCCESS) {
        free(c->bundle_dir);
        free(c->bundle_manifest);
        c->bundle_dir = c->bundle_manifest = NULL;
    }
    mtx_unlock(&c->lock);
    return st;
}

/* ---- writing bundles ---------------------------------------------------------------------- */

void lrncl__compile_command(const lrncl_desc *d, const char *dir, char *buf, size_t size) {
    static const char *conventions[] = {"caffe", "pytorch", "onnx", "tensorflow", "cudnn", "miopen", "onednn"};
    const char *cls = getenv("LRNCL_DEVICE_CLASS");
    if (!d) {
        snprintf(buf, size, "lrncl compile <problem flags> --output %s", dir);
        return;
    }
    int cli = (unsigned)d->convention < sizeof conventions / sizeof conventions[0] &&
              d->layout != LRNCL_LAYOUT_STRIDED;
    snprintf(buf, size, "%s%s%slrncl compile --mode %s --size %d --beta %.9g --convention %s --layout %s "
             "--dtype %s --shape %zux%zux%zux%zu --output %s%s",
             cls && *cls ? "LRNCL_DEVICE_CLASS=" : "", cls && *cls ? cls : "", cls && *cls ? " " : "",
             d->mode == LRNCL_WITHIN_CHANNEL ? "within" : "across", d->local_size, (double)d->beta,
             cli ? conventions[d->convention] : "caffe", d->layout == LRNCL_LAYOUT_NHWC ? "nhwc" : "nchw",
             d->dtype == LRNCL_FLOAT16 ? "f16" : "f32", d->n, d->c, d->h, d->w, dir,
             cli ? "" : " (that is the nearest command line: explicit windows and strided views need "
                        "lrncl_bundle_add)");
}

/* The merged manifest: the context's identity, the old program lines not replaced, the new. */
static char *merged_manifest(const lrncl_context *c, const char *old, const char *lines, size_t *len) {
    size_t n = sizeof manifest_head + strlen(c->identity) + (old ? strlen(old) : 0) + strlen(lines) + 2;
    char *m = malloc(n);
    if (!m)
        return NULL;
    size_t at = (size_t)snprintf(m, n, "%s%s", manifest_head, c->identity);
    for (const char *line = old; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t l = end ? (size_t)(end - line) : strlen(line);
        const char *tab = memchr(line, '\t', l);
        const char *name_end = tab ? memchr(tab + 1, '\t', l - (size_t)(tab + 1 - line)) : NULL;
        if (l > 8 && memcmp(line, "program\t", 8) == 0 && name_end) {
            /* kept unless the new lines name the same variant */
            size_t nl = (size_t)(name_end - line) + 1;
            int replaced = 0;
            for (const char *p = lines; *p && !replaced;) {
                replaced = strncmp(p, line, nl) == 0;
                p = strchr(p, '\n');
                p = p ? p + 1 : "";
            }
            if (!replaced) {
                memcpy(m + at, line, l);
                at += l;
                m[at++] = '\n';
            }
        }
        line = end ? end + 1 : NULL;
    }
    size_t ll = strlen(lines);
    memcpy(m + at, lines, ll);
    at += ll;
    m[at] = '\0';
    *len = at;
    return m;
}

static lrncl_status write_or_fail(const char *dir, const char *name, const char *ext, const void *const parts[],
                                  const size_t sizes[], int nparts) {
    char *path = join(dir, name, ext);
    if (!path)
        return lrncl__fail(LRNCL_ERROR_OUT_OF_HOST_MEMORY, "lrncl_bundle_add: no memory");
    int bad = lrncl__write_file_atomic(path, parts, sizes, nparts);
    lrncl_status st = bad ? lrncl__fail(LRNCL_ERROR_UNSUPPORTED, "lrncl_bundle_add: cannot write %s", path)
                          : LRNCL_SUCCESS;
    free(path);
    return st;
}

/* Whether dir holds name's binary and the manifest old records it with this source hash. */
static int already_there(const char *dir, const char *old, const char *name, unsigned long crc) {
    char field[LRNCL_VARIANT_NAME_MAX + 16], line[LRNCL_OPTIONS_MAX + 32];
    snprintf(field, sizeof field, "program\t%s", name);
    if (!old || !manifest_value(old, field, line, sizeof line) || strtoul(line, NULL, 16) != crc)
        return 0;
    char *path = join(dir, name, ".bin");
    FILE *f = path ? fopen(path, "rb") : NULL;
    free(path);
    if (f)
        fclose(f);
    return f != NULL;
}

/* Writes one variant's binary (or source and options) and appends its manifest line. */
static lrncl_status add_variant(lrncl_context *c, const lrncl_desc *d, size_t index, const lrncl_variant *v,
                                const char *dir, const char *old, lrncl_bundle_content what, char *lines,
                                size_t lines_size) {
    const char *texts[2];
    size_t sizes[2];
    char options[LRNCL_OPTIONS_MAX], name[LRNCL_VARIANT_NAME_MAX];
    lrncl__variant_name(v, name, sizeof name);
    lrncl_status st = lrncl__variant_program(c, v, texts, sizes, options);
    if (st != LRNCL_SUCCESS)
        return st;
    if (what == LRNCL_BUNDLE_SOURCES) {
        const void *src[2] = {texts[0], texts[1]};
        st = write_or_fail(dir, name, ".cl", src, sizes, 2);
        const void *opt[2] = {options, "\n"};
        const size_t opt_sizes[2] = {strlen(options), 1};
        if (st == LRNCL_SUCCESS)
            st = write_or_fail(dir, name, ".options", opt, opt_sizes, 2);
    } else if (!already_there(dir, old, name, lrncl__source_crc(texts, sizes, options))) {
        /* A build of its own, not the store's program: the binary of one made from a binary
         * cannot be read before a launch on PoCL 3.1. */
        cl_program prog = NULL;
        unsigned char *bin = NULL;
        size_t size = 0;
        st = lrncl__build_variant(c, v, &prog);
        if (st != LRNCL_SUCCESS)
            return st;
        /* Launched at the plan's work-group sizes first, as the disk cache writer does, so that
         * the binary holds PoCL's work-group functions and runs from it compile nothing. */
        lrncl_warm warm[LRNCL_WARM_MAX];
        size_t nwarm = 0;
        st = lrncl__plan_warm_list_for(c, d, index, prog, warm, &nwarm);
        if (st == LRNCL_SUCCESS)
            st = lrncl__warm_program(c->ctx, c->dev, prog, warm, nwarm);
        if (st != LRNCL_SUCCESS) {
            clReleaseProgram(prog);
            return st;
        }
        cl_int err = lrncl__program_binary(prog, &bin, &size);
        clReleaseProgram(prog);
        if (err != CL_SUCCESS)
            return lrncl__cl_fail(err, "clGetProgramInfo(CL_PROGRAM_BINARIES)");
        const void *parts[1] = {bin};
        st = write_or_fail(dir, name, ".bin", parts, &size, 1);
        free(bin);
    }
    size_t at = strlen(lines);
    snprintf(lines + at, lines_size - at, "program\t%s\t%08lx\t%s\n", name, lrncl__source_crc(texts, sizes, options),
             options);
    return st;
}

lrncl_status lrncl_bundle_add(lrncl_context *c, const lrncl_desc *d, const char *dir, lrncl_bundle_content what) {
    lrncl__clear_error();
    if (!c || !d || !dir)
        return lrncl__fail(LRNCL_ERROR_NULL_ARGUMENT, "lrncl_bundle_add: %s is NULL",
                           !c ? "context" : !d ? "descriptor" : "dir");
    if (what != LRNCL_BUNDLE_BINARIES && what != LRNCL_BUNDLE_SOURCES)
        return lrncl__fail(LRNCL_ERROR_UNSUPPORTED, "lrncl_bundle_add: what %d is not an lrncl_bundle_content",
                           (int)what);
    lrncl_variant vars[2];
    size_t count = 0;
    lrncl_status st = lrncl__plan_variants(c, d, vars, &count, NULL);
    if (st != LRNCL_SUCCESS)
        return st;
    if (lrncl__make_dirs(dir) != 0)
        return lrncl__fail(LRNCL_ERROR_UNSUPPORTED, "lrncl_bundle_add: cannot create the folder %s", dir);
    size_t old_size = 0;
    char *mpath = join(dir, "manifest", ".txt");
    char *old = mpath ? lrncl__read_file(mpath, MANIFEST_MAX, &old_size) : NULL;
    char lines[2 * (LRNCL_VARIANT_NAME_MAX + LRNCL_OPTIONS_MAX + 32)] = "";
    char *manifest = NULL;
    if (!mpath) {
        st = lrncl__fail(LRNCL_ERROR_OUT_OF_HOST_MEMORY, "lrncl_bundle_add: no memory");
        goto out;
    }
    st = check_device(c, dir, old);
    for (size_t i = 0; i < count && st == LRNCL_SUCCESS; ++i)
        st = add_variant(c, d, i, &vars[i], dir, old, what, lines, sizeof lines);
    if (st != LRNCL_SUCCESS)
        goto out;
    size_t len = 0;
    manifest = merged_manifest(c, old, lines, &len);
    if (!manifest) {
        st = lrncl__fail(LRNCL_ERROR_OUT_OF_HOST_MEMORY, "lrncl_bundle_add: no memory");
        goto out;
    }
    const void *parts[1] = {manifest};
    st = write_or_fail(dir, "manifest", ".txt", parts, &len, 1);
out:
    free(manifest);
    free(old);
    free(mpath);
    return st;
}
