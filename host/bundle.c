/* bundle.c: reading program bundles, folders of per-variant device binaries (`<variant>.bin`, or a
 * vendor's offline-compiled binary under that name) with manifest.txt: the manifest's syntax (a
 * pure check, also fuzzed), a variant's binary checked against its line (size, checksum bound to
 * the variant) before the driver sees it, lrncl_context_set_bundle, and the `lrncl compile` command
 * a missing variant's message gives. Calls builder.c and files.c; the program store and
 * bundle_add.c call it. docs/design.md, "Program store" and "What lrncl trusts on disk". */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bundle files: regular files (links followed: the bundle is the user's deliberate input) that
 * no one but their owner can write. */
#define BUNDLE_FLAGS LRNCL_FILE_PRIVATE

const char lrncl__manifest_head[] =
    "# lrncl program bundle: tab-separated; `program` lines: variant, crc32 of the build options and "
    "source, binary size in bytes, crc32 of the variant name, tab, source crc32, newline and the "
    "binary (- -: no binary recorded), build options\nformat\t2\n";

/* ---- the manifest's text ------------------------------------------------------------------ */

static int is_hex8(const char *s, size_t n) {
    if (n != 8)
        return 0;
    for (size_t i = 0; i < n; ++i)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static unsigned long hex_value(const char *s, size_t n) {
    unsigned long v = 0;
    for (size_t i = 0; i < n; ++i)
        v = v << 4 | (unsigned long)(s[i] <= '9' ? s[i] - '0' : s[i] - 'a' + 10);
    return v;
}

/* A format 2 program line (without its line end); 0 and *out, else -1 and why. */
static int parse_program(const char *line, size_t len, lrncl_manifest_line *out, const char **why) {
    const char *f[6];
    size_t fl[6], nf = 0;
    for (const char *p = line, *end = line + len; nf < 6;) {
        const char *tab = nf < 5 ? memchr(p, '\t', (size_t)(end - p)) : NULL;
        const char *stop = tab ? tab : end;
        f[nf] = p, fl[nf] = (size_t)(stop - p), ++nf;
        if (!tab)
            break;
        p = tab + 1;
    }
    *why = "a program line has six tab-separated fields";
    if (nf != 6 || memchr(f[5], '\t', fl[5]))
        return -1;
    *why = "a variant name holds only letters, digits, '-', '_' and '.', and does not start with '.'";
    if (fl[1] == 0 || fl[1] >= LRNCL_VARIANT_NAME_MAX || f[1][0] == '.')
        return -1;
    for (size_t i = 0; i < fl[1]; ++i) {
        char ch = f[1][i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
              ch == '_' || ch == '.'))
            return -1;
    }
    *why = "the source crc32 is 8 lowercase hex digits";
    if (!is_hex8(f[2], fl[2]))
        return -1;
    memset(out, 0, sizeof *out);
    out->name = f[1], out->name_len = fl[1];
    out->source_crc = hex_value(f[2], fl[2]);
    out->options = f[5], out->options_len = fl[5];
    *why = "the binary's size and checksum are both '-' or a decimal size and 8 lowercase hex digits";
    if (fl[3] == 1 && f[3][0] == '-' && fl[4] == 1 && f[4][0] == '-')
        return 0;
    if (fl[3] == 0 || fl[3] > 12 || !is_hex8(f[4], fl[4]))
        return -1;
    for (size_t i = 0; i < fl[3]; ++i) {
        if (f[3][i] < '0' || f[3][i] > '9')
            return -1;
        out->size = out->size * 10 + (unsigned long long)(f[3][i] - '0');
    }
    out->has_binary = 1;
    out->sum = hex_value(f[4], fl[4]);
    return 0;
}

/* The next line of text[at..size): its start and length without "\n" or "\r\n". */
static int next_line(const char *text, size_t size, size_t *at, const char **line, size_t *len) {
    if (*at >= size)
        return 0;
    const char *p = text + *at, *nl = memchr(p, '\n', size - *at);
    size_t l = nl ? (size_t)(nl - p) : size - *at;
    *at += l + (nl ? 1 : 0);
    if (l && p[l - 1] == '\r')
        --l;
    *line = p, *len = l;
    return 1;
}

static int field_is(const char *line, size_t len, const char *field) {
    size_t n = strlen(field);
    return len > n && memcmp(line, field, n) == 0 && line[n] == '\t';
}

/* A program line's variant name and line number, for finding two lines of one variant. */
struct named {
    const char *name;
    size_t len, line;
};

static int compare_named(const void *a, const void *b) {
    const struct named *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int k = memcmp(x->name, y->name, n);
    return k ? k : (x->len > y->len) - (x->len < y->len);
}

int lrncl__manifest_check(const char *text, size_t size, char *why, size_t why_size) {
    static const char *const fields[] = {"format", "lrncl", "device", "device-version", "driver", "platform"};
    const char *line;
    size_t len, at = 0, number = 0;
    int format = 0, device = 0;
    if (memchr(text, '\0', size)) {
        snprintf(why, why_size, "it holds a NUL byte");
        return -1;
    }
    /* First pass: every line a comment, blank, or a known field; the format. */
    while (next_line(text, size, &at, &line, &len)) {
        ++number;
        if (len == 0 || line[0] == '#' || field_is(line, len, "program"))
            continue;
        size_t i = 0;
        while (i < sizeof fields / sizeof fields[0] && !field_is(line, len, fields[i]))
            ++i;
        if (i == sizeof fields / sizeof fields[0]) {
            snprintf(why, why_size, "line %zu is not a comment, `program` line or known field", number);
            return -1;
        }
        if (i == 0) {
            if (format) {
                snprintf(why, why_size, "line %zu: a second format line", number);
                return -1;
            }
            format = len == 8 && line[7] == '2' ? 2 : -1;
            if (format < 0) {
                snprintf(why, why_size, "line %zu: format %.*s, which this lrncl does not know (it reads 2)", number,
                         (int)(len > 40 ? 40 : len - 7), line + 7);
                return -1;
            }
        }
        device |= i == 2;
    }
    if (!device) {
        snprintf(why, why_size, "it has no device line");
        return -1;
    }
    if (!format)
        return 1; /* made by an older lrncl: no binary sizes or checksums */
    /* Second pass: program lines, one per variant. */
    size_t count = 0, cap = 0;
    struct named *names = NULL;
    int bad_line = 0;
    at = 0, number = 0;
    while (!bad_line && next_line(text, size, &at, &line, &len)) {
        ++number;
        lrncl_manifest_line l;
        const char *bad;
        if (!field_is(line, len, "program"))
            continue;
        if (parse_program(line, len, &l, &bad) != 0) {
            snprintf(why, why_size, "line %zu: %s", number, bad);
            bad_line = 1;
        } else if (count == cap) {
            cap = cap ? 2 * cap : 64;
            void *more = realloc(names, cap * sizeof *names);
            if (!more) {
                snprintf(why, why_size, "no memory to check it");
                bad_line = 1;
            }
            names = more ? more : names;
        }
        if (!bad_line)
            names[count].name = l.name, names[count].len = l.name_len, names[count++].line = number;
    }
    /* one line per variant: sorted, neighbours differ */
    if (!bad_line && count > 1)
        qsort(names, count, sizeof *names, compare_named);
    for (size_t i = 1; !bad_line && i < count; ++i)
        if (compare_named(&names[i - 1], &names[i]) == 0) {
            snprintf(why, why_size, "variant %.*s has two program lines (%zu and %zu)", (int)names[i].len,
                     names[i].name, names[i - 1].line < names[i].line ? names[i - 1].line : names[i].line,
                     names[i - 1].line < names[i].line ? names[i].line : names[i - 1].line);
            bad_line = 1;
        }
    free(names);
    return bad_line ? -1 : 0;
}

int lrncl__manifest_find(const char *text, const char *name, lrncl_manifest_line *out) {
    size_t n = strlen(name), at = 0, size = strlen(text);
    const char *line, *bad;
    size_t len;
    while (next_line(text, size, &at, &line, &len))
        if (len > 8 + n && memcmp(line, "program\t", 8) == 0 && memcmp(line + 8, name, n) == 0 &&
            line[8 + n] == '\t' && parse_program(line, len, out, &bad) == 0) {
            out->line = line, out->line_len = len;
            return 0;
        }
    return -1;
}

/* The value of the line "<field>\t<value>" (copied into buf), or NULL. */
static const char *manifest_value(const char *text, const char *field, char *buf, size_t size) {
    size_t at = 0, len, total = strlen(text);
    const char *line;
    while (next_line(text, total, &at, &line, &len))
        if (field_is(line, len, field)) {
            size_t v = len - strlen(field) - 1;
            v = v < size - 1 ? v : size - 1;
            memcpy(buf, line + strlen(field) + 1, v);
            buf[v] = '\0';
            return buf;
        }
    return NULL;
}

unsigned long lrncl__binary_sum(const char *name, unsigned long source_crc, const void *bin, size_t size) {
    char head[LRNCL_VARIANT_NAME_MAX + 16];
    int n = snprintf(head, sizeof head, "%s\t%08lx\n", name, source_crc);
    unsigned long crc = lrncl__crc32(0, head, n > 0 ? (size_t)n : 0);
    return lrncl__crc32(crc, bin, size);
}

int lrncl__bundle_check_binary(const lrncl_manifest_line *l, const char *name, const void *bin, size_t size,
                               char *why, size_t why_size) {
    if (!l->has_binary) {
        snprintf(why, why_size, "is not recorded in manifest.txt (no size or checksum)");
        return -1;
    }
    if (size != l->size) {
        snprintf(why, why_size, "holds %zu bytes, but manifest.txt records %llu (truncated or replaced)", size,
                 l->size);
        return -1;
    }
    unsigned long sum = lrncl__binary_sum(name, l->source_crc, bin, size);
    if (sum != l->sum) {
        snprintf(why, why_size, "has checksum %08lx, but manifest.txt records %08lx for %s (damaged, or another "
                 "variant's binary)", sum, l->sum, name);
        return -1;
    }
    return 0;
}

/* ---- loading ------------------------------------------------------------------------------ */

lrncl_status lrncl__bundle_device_check(const lrncl_context *c, const char *dir, const char *manifest) {
    char name[512];
    if (manifest && manifest_value(manifest, "device", name, sizeof name) && strcmp(name, c->device_name) != 0)
        return lrncl__fail(LRNCL_ERROR_INVALID_DEVICE, "bundle %s was made for device \"%s\", not \"%s\"", dir, name,
                           c->device_name);
    return LRNCL_SUCCESS;
}

lrncl_status lrncl__bundle_read_manifest(const char *dir, char **text, int *old) {
    lrncl_file_info info;
    char why[256];
    size_t size = 0;
    *text = NULL;
    *old = 0;
    lrncl_file_result r = lrncl__dir_check(dir, BUNDLE_FLAGS, &info);
    if (r == LRNCL_FILE_MISSING)
        return LRNCL_SUCCESS; /* nothing there yet */
    if (r != LRNCL_FILE_OK) {
        if (r == LRNCL_FILE_NOT_REGULAR)
            return lrncl__fail(LRNCL_ERROR_UNSUPPORTED, "bundle %s is not a folder", dir);
        lrncl__file_why(r, &info, 0, why, sizeof why);
        return lrncl__fail(LRNCL_ERROR_UNSUPPORTED, "bundle folder %s %s%s", dir, why,
                           r == LRNCL_FILE_SHARED ? ": anyone who can write it can replace its binaries" : "");
    }
    char *path = lrncl__path_join(dir, "manifest", ".txt");
    if (!path)
        return lrncl__fail(LRNCL_ERROR_OUT_OF_HOST_MEMORY, "bundle: no memory");
    r = lrncl__read_file(path, LRNCL_MANIFEST_MAX, BUNDLE_FLAGS, text, &size, &info);
    lrncl_status st = LRNCL_SUCCESS;
    if (r != LRNCL_FILE_OK && r != LRNCL_FILE_MISSING) {
        lrncl__file_why(r, &info, LRNCL_MANIFEST_MAX, why, sizeof why);
        st = lrncl__fail(r == LRNCL_FILE_NO_MEMORY ? LRNCL_ERROR_OUT_OF_HOST_MEMORY : LRNCL_ERROR_UNSUPPORTED,
                         "bundle manifest %s %s", path, why);
    } else if (*text) {
        int k = lrncl__manifest_check(*text, size, why, sizeof why);
        if (k < 0)
            st = lrncl__fail(LRNCL_ERROR_UNSUPPORTED, "bundle manifest %s is damaged: %s (it is left as it is: "
                             "repair it, or move it away and run lrncl compile again)", path, why);
        *old = k == 1;
        /* "\r\n" read as "\n" from here on */
        char *w = *text;
        for (const char *p = *text; *p; ++p)
            if (!(p[0] == '\r' && p[1] == '\n'))
                *w++ = *p;
        *w = '\0';
    }
    if (st != LRNCL_SUCCESS) {
        free(*text);
        *text = NULL;
    }
    free(path);
    return st;
}

lrncl_status lrncl__bundle_load_manifest(lrncl_context *c) {
    free(c->bundle_manifest);
    c->bundle_manifest = NULL;
    lrncl_status st = lrncl__bundle_read_manifest(c->bundle_dir, &c->bundle_manifest, &c->bundle_old);
    return st == LRNCL_SUCCESS ? lrncl__bundle_device_check(c, c->bundle_dir, c->bundle_manifest) : st;
}

/* A binary-only context says why (MISSING_BINARY with the command that remakes it); an ordinary
 * one goes on to the disk cache and a build, quietly. */
static lrncl_status refuse(const lrncl_context *c, const lrncl_desc *d, const char *what, const char *why,
                           int *said) {
    if (!c->bundle_only)
        return LRNCL_ERROR_MISSING_BINARY;
    *said = 1;
    char cmd[512];
    lrncl__compile_command(d, c->bundle_dir, cmd, sizeof cmd);
    return lrncl__fail(LRNCL_ERROR_MISSING_BINARY, "%s %s; remake it with: %s", what, why, cmd);
}

lrncl_status lrncl__bundle_program(lrncl_context *c, const char *name, const char *options, unsigned long crc,
                                   const lrncl_desc *d, cl_program *out, int *said) {
    lrncl_manifest_line line;
    if (c->bundle_old) {
        char what[4096 + 64];
        snprintf(what, sizeof what, "bundle %s", c->bundle_dir);
        return refuse(c, d, what, "has a manifest.txt of an older lrncl (no binary sizes or checksums), which is "
                      "no longer loaded", said);
    }
    if (!c->bundle_manifest || lrncl__manifest_find(c->bundle_manifest, name, &line) != 0 ||
        line.source_crc != crc)
        return LRNCL_ERROR_MISSING_BINARY; /* absent, or made from other source or options: stale */
    static const char *exts[] = {".bin", ".aocx", ".xclbin"};
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; ++i) {
        char *path = lrncl__path_join(c->bundle_dir, name, exts[i]), why[512], what[4096 + 64];
        lrncl_file_info info;
        int fd = -1;
        if (!path)
            return lrncl__fail(LRNCL_ERROR_OUT_OF_HOST_MEMORY, "bundle: no memory");
        snprintf(what, sizeof what, "bundle binary %s", path);
        lrncl_file_result r = lrncl__file_open(path, BUNDLE_FLAGS, &fd, &info);
        free(path);
        if (r == LRNCL_FILE_MISSING)
            continue;
        if (r == LRNCL_FILE_OK && info.size > LRNCL_BINARY_MAX)
            r = LRNCL_FILE_TOO_LARGE;
        if (r == LRNCL_FILE_OK && line.has_binary && info.size != line.size) {
            /* refused from its size, before reading a byte */
            lrncl__file_close(fd);
            snprintf(why, sizeof why, "holds %llu bytes, but manifest.txt records %llu (truncated or replaced)",
                     info.size, line.size);
            return refuse(c, d, what, why, said);
        }
        if (r == LRNCL_FILE_OK && !line.has_binary) {
            lrncl__file_close(fd);
            return refuse(c, d, what, "is not recorded in manifest.txt (a vendor's binary is recorded by running "
                          "the same `lrncl compile --emit-source` command again once it is in place)", said);
        }
        unsigned char *bin = NULL;
        if (r == LRNCL_FILE_OK)
            r = lrncl__file_read(fd, (size_t)info.size, (char **)&bin);
        else
            lrncl__file_close(fd);
        if (r != LRNCL_FILE_OK) {
            lrncl__file_why(r, &info, LRNCL_BINARY_MAX, why, sizeof why);
            return r == LRNCL_FILE_NO_MEMORY ? lrncl__fail(LRNCL_ERROR_OUT_OF_HOST_MEMORY, "%s %s", what, why)
                                             : refuse(c, d, what, why, said);
        }
        if (lrncl__bundle_check_binary(&line, name, bin, (size_t)info.size, why, sizeof why) != 0) {
            free(bin);
            return refuse(c, d, what, why, said);
        }
        cl_int err = lrncl__program_from_binary(c, bin, (size_t)info.size, options, out);
        free(bin);
        if (err == CL_SUCCESS)
            return LRNCL_SUCCESS;
        if (!c->bundle_only)
            return LRNCL_ERROR_MISSING_BINARY;
        return lrncl__fail(LRNCL_ERROR_BUILD_FAILED, "%s was refused by the device (%d, %s)", what, (int)err,
                           lrncl_status_string((lrncl_status)err));
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
    c->bundle_old = 0;
    lrncl_status st = copy ? lrncl__bundle_load_manifest(c) : LRNCL_SUCCESS;
    if (st != LRNCL_SUCCESS) {
        free(c->bundle_dir);
        free(c->bundle_manifest);
        c->bundle_dir = c->bundle_manifest = NULL;
        c->bundle_old = 0;
    }
    mtx_unlock(&c->lock);
    return st;
}

/* ---- the command that makes a variant ----------------------------------------------------- */

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
