/* bundle_add.c: writing program bundles, lrncl_bundle_add (what `lrncl compile` calls): the
 * variants a problem needs, built here, launched once (warmup.c) and checked against what the
 * folder already holds, merged into its manifest under a lock. Calls plan.c (the variants and
 * their launches), warmup.c, bundle.c (the manifest's syntax), builder.c and files.c.
 * docs/design.md, "Program store". */
#define _DEFAULT_SOURCE /* flock */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if !defined(_WIN32)
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#define LRNCL_HAVE_FLOCK 1
#endif

/* The longest line add_variant appends. */
enum { LINE_MAX_BYTES = LRNCL_VARIANT_NAME_MAX + LRNCL_OPTIONS_MAX + 64 };

/* The merged manifest: the head, the context's identity, the old program lines not replaced, the
 * new. An old manifest of an older format gives none of its lines (they record no binary). */
static char *merged_manifest(const lrncl_context *c, const char *old, const char *lines, size_t *len) {
    size_t n = strlen(lrncl__manifest_head) + strlen(c->identity) + (old ? strlen(old) : 0) + strlen(lines) + 2;
    char *m = malloc(n);
    if (!m)
        return NULL;
    size_t at = (size_t)snprintf(m, n, "%s%s", lrncl__manifest_head, c->identity);
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
    char *path = lrncl__path_join(dir, name, ext);
    if (!path)
        return lrncl__fail(LRNCL_ERROR_OUT_OF_HOST_MEMORY, "lrncl_bundle_add: no memory");
    int bad = lrncl__write_file_atomic(path, parts, sizes, nparts, 0644);
#if !defined(_WIN32)
    if (bad && errno == EISDIR && rmdir(path) == 0) /* an empty folder at the name: replaced */
        bad = lrncl__write_file_atomic(path, parts, sizes, nparts, 0644);
#endif
    lrncl_status st = bad ? lrncl__fail(LRNCL_ERROR_UNSUPPORTED, "lrncl_bundle_add: cannot write %s (%s)", path,
                                        strerror(errno))
                          : LRNCL_SUCCESS;
    free(path);
    return st;
}

/* The size and checksum of the binary at dir/<name><ext> as it is, recorded in line; 1 when
 * one is there (a regular file no one else may write), 0 when none is. */
static int record_binary(const char *dir, const char *name, const char *ext, lrncl_manifest_line *line) {
    char *path = lrncl__path_join(dir, name, ext), *bin = NULL;
    size_t size = 0;
    int ok = path && lrncl__read_file(path, LRNCL_BINARY_MAX, LRNCL_FILE_PRIVATE, &bin, &size, NULL) == LRNCL_FILE_OK;
    if (ok) {
        line->has_binary = 1;
        line->size = size;
        line->sum = lrncl__binary_sum(name, line->source_crc, bin, size);
    }
    free(bin);
    free(path);
    return ok;
}

/* Whether dir/<name>.bin is the binary old's line records for this source: size and checksum
 * (a truncated, empty, foreign or folder .bin is not, and is rewritten). */
static int verified(const char *dir, const char *old, const char *name, unsigned long crc,
                    lrncl_manifest_line *line) {
    lrncl_manifest_line now;
    if (!old || lrncl__manifest_find(old, name, line) != 0 || line->source_crc != crc || !line->has_binary)
        return 0;
    now.source_crc = crc;
    return record_binary(dir, name, ".bin", &now) && now.size == line->size && now.sum == line->sum;
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
    unsigned long crc = lrncl__source_crc(texts, sizes, options);
    lrncl_manifest_line line;
    memset(&line, 0, sizeof line);
    line.source_crc = crc;
    if (what == LRNCL_BUNDLE_SOURCES) {
        const void *src[2] = {texts[0], texts[1]};
        st = write_or_fail(dir, name, ".cl", src, sizes, 2);
        const void *opt[2] = {options, "\n"};
        const size_t opt_sizes[2] = {strlen(options), 1};
        if (st == LRNCL_SUCCESS)
            st = write_or_fail(dir, name, ".options", opt, opt_sizes, 2);
        /* A binary already beside the sources (a vendor's, compiled from them) is recorded as it
         * is: running the same command again after the vendor's compiler seals the bundle. */
        static const char *exts[] = {".bin", ".aocx", ".xclbin"};
        for (size_t i = 0; st == LRNCL_SUCCESS && i < sizeof exts / sizeof exts[0]; ++i)
            if (record_binary(dir, name, exts[i], &line))
                break;
    } else if (!verified(dir, old, name, crc, &line)) {
        line.source_crc = crc;
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
        line.has_binary = 1;
        line.size = size;
        line.sum = lrncl__binary_sum(name, crc, bin, size);
        free(bin);
    }
    if (st != LRNCL_SUCCESS)
        return st;
    char size_text[24] = "-", sum_text[12] = "-";
    if (line.has_binary) {
        snprintf(size_text, sizeof size_text, "%llu", line.size);
        snprintf(sum_text, sizeof sum_text, "%08lx", line.sum);
    }
    size_t at = strlen(lines);
    snprintf(lines + at, lines_size - at, "program\t%s\t%08lx\t%s\t%s\t%s\n", name, crc, size_text, sum_text,
             options);
    return LRNCL_SUCCESS;
}

/* An exclusive lock on dir/manifest.lock, held until lrncl__file_close: concurrent additions to one
 * folder take turns, so none loses another's manifest lines. */
static lrncl_status lock_folder(const char *dir, int *fd) {
    *fd = -1;
#ifdef LRNCL_HAVE_FLOCK
    char *path = lrncl__path_join(dir, "manifest", ".lock");
    if (!path)
        return lrncl__fail(LRNCL_ERROR_OUT_OF_HOST_MEMORY, "lrncl_bundle_add: no memory");
    int f = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
    int err = f < 0 ? errno : 0;
    while (f >= 0 && flock(f, LOCK_EX) != 0 && errno == EINTR)
        ;
    lrncl_status st = f < 0 ? lrncl__fail(LRNCL_ERROR_UNSUPPORTED, "lrncl_bundle_add: cannot open the lock file "
                                          "%s (%s)", path, strerror(err))
                            : LRNCL_SUCCESS;
    free(path);
    *fd = f;
    return st;
#else
    (void)dir;
    return LRNCL_SUCCESS;
#endif
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
    if (lrncl__make_dirs(dir, 0755) != 0)
        return lrncl__fail(LRNCL_ERROR_UNSUPPORTED, "lrncl_bundle_add: cannot create the folder %s", dir);
    char *old = NULL, *manifest = NULL;
    char lines[2 * LINE_MAX_BYTES] = "";
    int old_format = 0, lock = -1;
    /* The folder's checks (not writable by others) come first: the lock file is made in it. */
    st = lrncl__bundle_read_manifest(dir, &old, &old_format);
    if (st == LRNCL_SUCCESS)
        st = lock_folder(dir, &lock);
    if (st == LRNCL_SUCCESS) { /* read again under the lock: what another addition wrote meanwhile */
        free(old);
        st = lrncl__bundle_read_manifest(dir, &old, &old_format);
    }
    /* A damaged manifest is refused (the message says why), never discarded. */
    if (st == LRNCL_SUCCESS)
        st = lrncl__bundle_device_check(c, dir, old);
    if (st == LRNCL_SUCCESS && old_format) { /* its lines record no binary: remade as they are asked for */
        free(old);
        old = NULL;
    }
    for (size_t i = 0; i < count && st == LRNCL_SUCCESS; ++i)
        st = add_variant(c, d, i, &vars[i], dir, old, what, lines, sizeof lines);
    size_t len = 0;
    if (st == LRNCL_SUCCESS && !(manifest = merged_manifest(c, old, lines, &len)))
        st = lrncl__fail(LRNCL_ERROR_OUT_OF_HOST_MEMORY, "lrncl_bundle_add: no memory");
    if (st == LRNCL_SUCCESS) {
        const void *parts[1] = {manifest};
        st = write_or_fail(dir, "manifest", ".txt", parts, &len, 1);
    }
    lrncl__file_close(lock);
    free(manifest);
    free(old);
    return st;
}
