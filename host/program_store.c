/* program_store.c: where a context's OpenCL programs come from: its memory, its bundle, the
 * persistent disk cache, else a build from source (written to the cache). Variant names, the
 * disk keys and entry format, atomic file writes. docs/design.md, "Program store". */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#if !defined(_WIN32)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#define LRNCL_HAVE_POSIX_FILES 1
#endif

static const char entry_magic[8] = {'L', 'R', 'N', 'C', 'L', 'P', 'B', '1'};
enum { ENTRY_HEAD = 8 + 4 + 8 + 4 };
/* Larger files are not read: no program binary of lrncl's comes near. */
#define ENTRY_MAX ((size_t)256 << 20)

/* ---- variant names ------------------------------------------------------------------------ */

/* The name is the in-memory key: a field it leaves out would let two programs share a slot. */
_Static_assert(sizeof(lrncl_variant) == 10 * sizeof(int),
               "lrncl_variant changed: give the new field its line in lrncl__variant_name");

size_t lrncl__variant_name(const lrncl_variant *v, char *buf, size_t size) {
    static const char *beta[] = {"bgen", "b075", "b05", "b1"};
    static const char *dtype[] = {"f32", "f16"};
    static const char *layout[] = {"nchw", "nhwc", "strided"};
    char tmp[LRNCL_VARIANT_NAME_MAX * 2];
    /* One line per field of lrncl_variant, in its order. The kernel family is a prefix only for
     * the FPGA kernels, so the NDRange kernels' names stay as they were. */
    int n = snprintf(tmp, sizeof tmp, "%s%s-lo%d-hi%d-%s-%s-%s-%s-vw%d-%s",
                     v->family == LRNCL_FAMILY_FPGA ? "fpga-" : "",
                     v->mode == LRNCL_WITHIN_CHANNEL ? "within" : "across",
                     v->lo, v->hi,
                     (unsigned)v->beta_path < 4 ? beta[v->beta_path] : "b?",
                     v->reg_window ? "reg" : "reread",
                     (unsigned)v->dtype < 2 ? dtype[v->dtype] : "t?",
                     (unsigned)v->layout < 3 ? layout[v->layout] : "l?",
                     v->vw,
                     v->ew ? "ew" : "col");
    if (n < 0)
        n = 0;
    if (size) {
        size_t len = (size_t)n < size - 1 ? (size_t)n : size - 1;
        memcpy(buf, tmp, len);
        buf[len] = '\0';
    }
    return (size_t)n;
}

lrncl_status lrncl__variant_program(const lrncl_context *c, const lrncl_variant *v, const char *texts[2],
                                    size_t sizes[2], char options[LRNCL_OPTIONS_MAX]) {
    const struct lrncl_embedded_source *common = lrncl__embedded("lrn_common");
    /* The FPGA family: lrn_fpga.cl, which holds both modes and keeps the one LRN_WITHIN names. */
    const struct lrncl_embedded_source *body =
        lrncl__embedded(v->family == LRNCL_FAMILY_FPGA       ? "lrn_fpga"
                        : v->ew                            ? "lrn_elementwise"
                        : v->mode == LRNCL_ACROSS_CHANNELS ? "lrn_across"
                                                           : "lrn_within");
    if (!common || !body)
        return lrncl__fail(LRNCL_ERROR_UNSUPPORTED, "kernel source missing from the library build");
    texts[0] = common->text, sizes[0] = common->size;
    texts[1] = body->text, sizes[1] = body->size;
    /* LRNCL_PORTABLE_KERNELS=1 (testing): no target-specific builtins in the kernels, the code
     * that compilers other than x86-64 ones with AVX take (lrn_common.cl, LRN_PORTABLE). */
    const char *portable = getenv("LRNCL_PORTABLE_KERNELS");
    char fpga[32] = "";
    if (v->family == LRNCL_FAMILY_FPGA)
        snprintf(fpga, sizeof fpga, " -DLRN_FPGA_LINE=%d", LRNCL_FPGA_LINE);
    snprintf(options, LRNCL_OPTIONS_MAX,
             "-cl-std=CL1.2 -DLRN_WIN_LO=%d -DLRN_WIN_HI=%d -DLRN_BETA_PATH=%d -DLRN_REG_WINDOW=%d "
             "-DLRN_HALF=%d -DLRN_LAYOUT=%d -DLRN_VW=%d -DLRN_WITHIN=%d%s%s%s",
             v->lo, v->hi, (int)v->beta_path, v->reg_window, v->dtype == LRNCL_FLOAT16, (int)v->layout, v->vw,
             v->mode == LRNCL_WITHIN_CHANNEL, fpga,
             /* OpenCL allows 2.5 ulp for float division and 3 for sqrt, and a compiler may then
              * round one quotient differently in two kernels; correctly rounded, every path
              * agrees bit for bit. */
             c->cr_divide ? " -cl-fp32-correctly-rounded-divide-sqrt" : "",
             portable && strcmp(portable, "1") == 0 ? " -DLRN_PORTABLE=1" : "");
    return LRNCL_SUCCESS;
}

unsigned long lrncl__source_crc(const char *const texts[2], const size_t sizes[2], const char *options) {
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, (const Bytef *)options, (uInt)strlen(options));
    crc = crc32(crc, (const Bytef *)"\n", 1);
    for (int i = 0; i < 2; ++i)
        for (size_t off = 0; off < sizes[i];) { /* uInt lengths: feed in pieces */
            size_t n = sizes[i] - off > (1u << 30) ? (1u << 30) : sizes[i] - off;
            crc = crc32(crc, (const Bytef *)texts[i] + off, (uInt)n);
            off += n;
        }
    return (unsigned long)crc;
}

/* ---- files -------------------------------------------------------------------------------- */

char *lrncl__read_file(const char *path, size_t max, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    long len = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        len = ftell(f);
    if (len < 0 || (unsigned long)len > max || fseek(f, 0, SEEK_SET) != 0)
        goto out;
    buf = malloc((size_t)len + 1);
    if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    if (buf) {
        buf[len] = '\0';
        *size = (size_t)len;
    }
out:
    fclose(f);
    return buf;
}

int lrncl__make_dirs(const char *path) {
#ifdef LRNCL_HAVE_POSIX_FILES
    size_t len = strlen(path);
    char *p = malloc(len + 1);
    if (!p)
        return -1;
    memcpy(p, path, len + 1);
    for (size_t i = 1; i <= len; ++i)
        if (p[i] == '/' || p[i] == '\0') {
            char keep = p[i];
            p[i] = '\0';
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                free(p);
                return -1;
            }
            p[i] = keep;
        }
    struct stat st;
    int ok = stat(p, &st) == 0 && S_ISDIR(st.st_mode);
    free(p);
    return ok ? 0 : -1;
#else
    (void)path;
    return -1;
#endif
}

int lrncl__write_file_atomic(const char *path, const void *const parts[], const size_t sizes[], int nparts) {
#ifdef LRNCL_HAVE_POSIX_FILES
    size_t len = strlen(path);
    char *tmp = malloc(len + 16);
    if (!tmp)
        return -1;
    /* The temporary file sits in the target's folder, so rename() never crosses file systems. */
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    memcpy(tmp, path, dirlen);
    memcpy(tmp + dirlen, ".tmp-XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        free(tmp);
        return -1;
    }
    int ok = fchmod(fd, 0644) == 0;
    for (int i = 0; ok && i < nparts; ++i) {
        const char *b = parts[i];
        for (size_t done = 0; ok && done < sizes[i];) {
            ssize_t n = write(fd, b + done, sizes[i] - done);
            if (n < 0 && errno == EINTR)
                continue;
            ok = n > 0;
            done += ok ? (size_t)n : 0;
        }
    }
    ok = close(fd) == 0 && ok;
    ok = ok && rename(tmp, path) == 0;
    if (!ok)
        unlink(tmp);
    free(tmp);
    return ok ? 0 : -1;
#else
    (void)path, (void)parts, (void)sizes, (void)nparts;
    return -1;
#endif
}

/* ---- entries ------------------------------------------------------------------------------ */

static uint64_t get_le(const unsigned char *p, int bytes) {
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i)
        v = v << 8 | p[i];
    return v;
}

static void put_le(unsigned char *p, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i, v >>= 8)
        p[i] = (unsigned char)(v & 0xff);
}

static uLong crc_of(uLong crc, const unsigned char *p, size_t n) {
    while (n) {
        uInt piece = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = crc32(crc, p, piece);
        p += piece, n -= piece;
    }
    return crc;
}

int lrncl__store_parse_entry(const void *data, size_t size, const char **key, size_t *key_len,
                             const unsigned char **bin, size_t *bin_len) {
    const unsigned char *b = data;
    if (!b || size < ENTRY_HEAD || memcmp(b, entry_magic, sizeof entry_magic) != 0)
        return -1;
    uint64_t klen = get_le(b + 8, 4), blen = get_le(b + 12, 8), crc = get_le(b + 20, 4);
    size_t rest = size - ENTRY_HEAD;
    if (klen > rest || blen != rest - klen || blen == 0)
        return -1; /* truncated, trailing bytes, or no binary */
    uLong c = crc_of(crc32(0L, Z_NULL, 0), b + ENTRY_HEAD, rest);
    if (c != crc)
        return -1;
    *key = (const char *)(b + ENTRY_HEAD);
    *key_len = (size_t)klen;
    *bin = b + ENTRY_HEAD + klen;
    *bin_len = (size_t)blen;
    return 0;
}

/* The key text of v's program: the context's identity, the variant, the options, the source. */
static char *entry_key(const lrncl_context *c, const char *name, const char *options, const char *const texts[2],
                       const size_t sizes[2], size_t *len) {
    char head[LRNCL_VARIANT_NAME_MAX + LRNCL_OPTIONS_MAX + 64];
    int h = snprintf(head, sizeof head, "variant\t%s\noptions\t%s\nsource\t%zu\n", name, options,
                     sizes[0] + sizes[1]);
    size_t id = strlen(c->identity);
    if (h < 0 || (size_t)h >= sizeof head)
        return NULL;
    size_t total = id + (size_t)h + sizes[0] + sizes[1];
    char *k = malloc(total + 1);
    if (!k)
        return NULL;
    memcpy(k, c->identity, id);
    memcpy(k + id, head, (size_t)h);
    memcpy(k + id + (size_t)h, texts[0], sizes[0]);
    memcpy(k + id + (size_t)h + sizes[0], texts[1], sizes[1]);
    k[total] = '\0';
    *len = total;
    return k;
}

/* DIR/<name>-<crc32 of the key>.lrnclbin */
static char *entry_path(const lrncl_context *c, const char *name, const char *key, size_t key_len) {
    unsigned long crc = (unsigned long)crc_of(crc32(0L, Z_NULL, 0), (const unsigned char *)key, key_len);
    size_t n = strlen(c->cache_dir) + strlen(name) + 32;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s-%08lx.lrnclbin", c->cache_dir, name, crc);
    return p;
}

static int entry_write(const char *path, const char *key, size_t key_len, const unsigned char *bin, size_t bin_len) {
    unsigned char head[ENTRY_HEAD];
    if (key_len > UINT32_MAX)
        return -1;
    memcpy(head, entry_magic, sizeof entry_magic);
    put_le(head + 8, key_len, 4);
    put_le(head + 12, bin_len, 8);
    uLong crc = crc_of(crc32(0L, Z_NULL, 0), (const unsigned char *)key, key_len);
    crc = crc_of(crc, bin, bin_len);
    put_le(head + 20, crc, 4);
    const void *parts[3] = {head, key, bin};
    const size_t sizes[3] = {sizeof head, key_len, bin_len};
    return lrncl__write_file_atomic(path, parts, sizes, 3);
}

/* ---- programs from binaries --------------------------------------------------------------- */

cl_int lrncl__program_from_binary(lrncl_context *c, const unsigned char *bin, size_t size, const char *options,
                                  cl_program *out) {
    cl_int err, bin_status = CL_SUCCESS;
    cl_program prog = clCreateProgramWithBinary(c->ctx, 1, &c->dev, &size, &bin, &bin_status, &err);
    if (err != CL_SUCCESS)
        return err;
    if (bin_status != CL_SUCCESS) {
        clReleaseProgram(prog);
        return bin_status;
    }
    err = clBuildProgram(prog, 1, &c->dev, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        clReleaseProgram(prog);
        return err;
    }
    *out = prog;
    return CL_SUCCESS;
}

cl_int lrncl__program_binary(cl_program prog, unsigned char **bin, size_t *size) {
    size_t n = 0;
    cl_int err = clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof n, &n, NULL);
    if (err != CL_SUCCESS)
        return err;
    if (n == 0)
        return CL_INVALID_PROGRAM_EXECUTABLE;
    unsigned char *b = malloc(n);
    if (!b)
        return CL_OUT_OF_HOST_MEMORY;
    err = clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof b, &b, NULL);
    if (err != CL_SUCCESS) {
        free(b);
        return err;
    }
    *bin = b;
    *size = n;
    return CL_SUCCESS;
}

/* The disk cache's program for the key, or nothing (missing, damaged, foreign, refused). */
static int disk_load(lrncl_context *c, const char *path, const char *key, size_t key_len, const char *options,
                     cl_program *out) {
    size_t size = 0;
    char *data = lrncl__read_file(path, ENTRY_MAX, &size);
    if (!data)
        return 0;
    const char *k;
    const unsigned char *bin;
    size_t klen, blen;
    int ok = lrncl__store_parse_entry(data, size, &k, &klen, &bin, &blen) == 0 && klen == key_len &&
             memcmp(k, key, key_len) == 0 && lrncl__program_from_binary(c, bin, blen, options, out) == CL_SUCCESS;
    free(data);
    return ok;
}

/* Writes the program's current binary under the key (quietly nothing on failure). */
static void disk_save(const char *path, cl_program prog, const char *key, size_t key_len) {
    unsigned char *bin = NULL;
    size_t size = 0;
    if (lrncl__program_binary(prog, &bin, &size) != CL_SUCCESS)
        return;
    entry_write(path, key, key_len, bin, size);
    free(bin);
}

/* ---- source builds ------------------------------------------------------------------------ */

static lrncl_status build_program(lrncl_context *c, const char *const texts[2], const size_t sizes[2],
                                  const char *options, cl_program *out) {
    cl_int err;
    cl_program prog = clCreateProgramWithSource(c->ctx, 2, (const char **)texts, sizes, &err);
    if (err != CL_SUCCESS)
        return lrncl__cl_fail(err, "clCreateProgramWithSource");
    err = clBuildProgram(prog, 1, &c->dev, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        size_t len = 0, extra = LRNCL_OPTIONS_MAX + 64;
        char *log = NULL;
        if (clGetProgramBuildInfo(prog, c->dev, CL_PROGRAM_BUILD_LOG, 0, NULL, &len) == CL_SUCCESS &&
            (log = malloc(len + extra)) != NULL) {
            int head = snprintf(log, extra, "clBuildProgram (%s) failed (%d); build log:\n", options, (int)err);
            head = head < 0 ? 0 : head; /* the head fits: options is shorter than LRNCL_OPTIONS_MAX */
            if (clGetProgramBuildInfo(prog, c->dev, CL_PROGRAM_BUILD_LOG, len, log + head, NULL) != CL_SUCCESS)
                log[head] = '\0';
            lrncl__set_error_text(log);
            free(log);
        } else {
            lrncl__fail(LRNCL_ERROR_BUILD_FAILED, "clBuildProgram (%s) failed (%d); no build log", options, (int)err);
        }
        clReleaseProgram(prog);
        return LRNCL_ERROR_BUILD_FAILED;
    }
    *out = prog;
    return LRNCL_SUCCESS;
}

lrncl_status lrncl__build_variant(lrncl_context *c, const lrncl_variant *v, cl_program *out) {
    const char *texts[2];
    size_t sizes[2];
    char options[LRNCL_OPTIONS_MAX];
    lrncl_status st = lrncl__variant_program(c, v, texts, sizes, options);
    if (st != LRNCL_SUCCESS)
        return st;
    if (!c->can_compile)
        return lrncl__fail(LRNCL_ERROR_UNSUPPORTED, "this device has no OpenCL compiler (or is an accelerator): "
                           "write the sources with `lrncl compile --emit-source` and build them with the "
                           "vendor's offline compiler");
    return build_program(c, texts, sizes, options, out);
}

static lrncl_status missing(const lrncl_context *c, const char *name, const lrncl_desc *d) {
    char cmd[512];
    lrncl__compile_command(d, c->bundle_dir ? c->bundle_dir : "DIR", cmd, sizeof cmd);
    const char *why = c->bundle_only ? "this binary-only context's bundle" : "the bundle or the disk cache";
    return lrncl__fail(LRNCL_ERROR_MISSING_BINARY,
                       "no program binary for variant %s in %s%s%s%s, and %s; make it with: %s", name, why,
                       c->bundle_dir ? " (" : "", c->bundle_dir ? c->bundle_dir : "", c->bundle_dir ? ")" : "",
                       c->bundle_only ? "it never builds from source"
                                      : "this device cannot build from source (no compiler, or an accelerator)",
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
        st = lrncl__bundle_program(c, name, e->options, lrncl__source_crc(texts, sizes, e->options), &e->program);
        if (st == LRNCL_SUCCESS) {
            e->origin = LRNCL_PROGRAM_BUNDLE;
            return st;
        }
        if (st != LRNCL_ERROR_MISSING_BINARY)
            return st;
        st = LRNCL_SUCCESS;
    }
    if (c->bundle_only || (!c->can_compile && !c->cache_dir))
        return missing(c, name, d);

    size_t key_len = 0;
    char *key = NULL, *path = NULL;
    if (c->cache_dir) {
        key = entry_key(c, name, e->options, texts, sizes, &key_len);
        path = key ? entry_path(c, name, key, key_len) : NULL;
    }
    if (path && disk_load(c, path, key, key_len, e->options, &e->program)) {
        e->origin = LRNCL_PROGRAM_DISK_CACHE;
    } else if (!c->can_compile) {
        st = missing(c, name, d);
    } else {
        /* Not written now: PoCL adds the work-group function of each local size to the binary at
         * the first launch, but only until the binary is first read (it keeps what it serialised
         * then). The plan hands it to the context's writer (cache_writer.c), which launches the
         * kernels first. */
        st = build_program(c, texts, sizes, e->options, &e->program);
        if (st == LRNCL_SUCCESS)
            e->origin = LRNCL_PROGRAM_BUILT;
    }
    free(path);
    free(key);
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

static char *platform_version(cl_device_id dev) {
    cl_platform_id plat = NULL;
    size_t n = 0;
    char *s = NULL;
    if (clGetDeviceInfo(dev, CL_DEVICE_PLATFORM, sizeof plat, &plat, NULL) == CL_SUCCESS &&
        clGetPlatformInfo(plat, CL_PLATFORM_VERSION, 0, NULL, &n) == CL_SUCCESS && (s = malloc(n + 1)) != NULL &&
        clGetPlatformInfo(plat, CL_PLATFORM_VERSION, n, s, NULL) == CL_SUCCESS) {
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

/* option: lrncl_context_options.cache_dir; NULL takes LRNCL_CACHE_DIR, else the XDG default. */
static char *cache_folder(const char *option) {
    const char *env = option ? option : getenv("LRNCL_CACHE_DIR");
    if (env)
        return *env && strcmp(env, "off") != 0 ? strdup(env) : NULL;
    const char *base = getenv("XDG_CACHE_HOME"), *tail = "/lrncl";
    if (!base || !*base) {
        base = getenv("HOME");
        tail = "/.cache/lrncl";
    }
    if (!base || !*base)
        return NULL;
    size_t n = strlen(base) + strlen(tail) + 1;
    char *dir = malloc(n);
    if (dir)
        snprintf(dir, n, "%s%s", base, tail);
    return dir;
}

lrncl_status lrncl__store_init(lrncl_context *c, const char *cache_dir) {
    char *dev_version = device_text(c->dev, CL_DEVICE_VERSION), *driver = device_text(c->dev, CL_DRIVER_VERSION);
    char *platform = platform_version(c->dev);
    c->device_name = device_text(c->dev, CL_DEVICE_NAME);
    lrncl_status st = LRNCL_SUCCESS;
    if (!dev_version || !driver || !platform || !c->device_name) {
        st = lrncl__fail(LRNCL_ERROR_OUT_OF_HOST_MEMORY, "lrncl_context_create: no memory");
        goto out;
    }
    flatten(c->device_name), flatten(dev_version), flatten(driver), flatten(platform);
    size_t n = strlen(c->device_name) + strlen(dev_version) + strlen(driver) + strlen(platform) + 128;
    c->identity = malloc(n);
    if (!c->identity) {
        st = lrncl__fail(LRNCL_ERROR_OUT_OF_HOST_MEMORY, "lrncl_context_create: no memory");
        goto out;
    }
    snprintf(c->identity, n, "lrncl\t%s\ndevice\t%s\ndevice-version\t%s\ndriver\t%s\nplatform\t%s\n",
             lrncl_version_string(), c->device_name, dev_version, driver, platform);

    cl_bool compiler = CL_TRUE;
    cl_device_type type = 0;
    if (clGetDeviceInfo(c->dev, CL_DEVICE_COMPILER_AVAILABLE, sizeof compiler, &compiler, NULL) != CL_SUCCESS)
        compiler = CL_TRUE; /* unknown: try, and let the build say */
    if (clGetDeviceInfo(c->dev, CL_DEVICE_TYPE, sizeof type, &type, NULL) != CL_SUCCESS)
        type = 0;
    c->can_compile = compiler != CL_FALSE && !(type & CL_DEVICE_TYPE_ACCELERATOR);

    c->cache_dir = cache_folder(cache_dir);
    if (c->cache_dir && lrncl__make_dirs(c->cache_dir) != 0) {
        free(c->cache_dir); /* no folder: no caching, and no error */
        c->cache_dir = NULL;
    }
out:
    free(dev_version);
    free(driver);
    free(platform);
    return st;
}

void lrncl__store_save(lrncl_context *c, const lrncl_variant *v, const char *name, cl_program prog) {
    const char *texts[2];
    size_t sizes[2], key_len = 0;
    char options[LRNCL_OPTIONS_MAX];
    if (!c->cache_dir || lrncl__variant_program(c, v, texts, sizes, options) != LRNCL_SUCCESS)
        return;
    char *key = entry_key(c, name, options, texts, sizes, &key_len);
    char *path = key ? entry_path(c, name, key, key_len) : NULL;
    if (path)
        disk_save(path, prog, key, key_len);
    free(path);
    free(key);
}

void lrncl__store_release(lrncl_context *c) {
    free(c->identity);
    free(c->device_name);
    free(c->cache_dir);
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
