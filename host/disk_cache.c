/* disk_cache.c: the persistent program cache: which folder (and whether it can be trusted), the
 * keys, the entry format, loading an entry and writing one. Calls builder.c and files.c; the
 * program store calls it. docs/design.md, "Program store" and "What lrncl trusts on disk". */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if !defined(_WIN32)
#include <unistd.h>
#endif

static const char entry_magic[8] = {'L', 'R', 'N', 'C', 'L', 'P', 'B', '1'};
enum { ENTRY_HEAD = 8 + 4 + 8 + 4 };
/* Larger files are not read: no program binary of lrncl's comes near. */
#define ENTRY_MAX ((size_t)256 << 20)
/* Cache entries: regular files of this user, never through a link. */
#define ENTRY_FLAGS (LRNCL_FILE_NOFOLLOW | LRNCL_FILE_OWNED | LRNCL_FILE_PRIVATE)

/* ---- the folder --------------------------------------------------------------------------- */

/* The folder the settings name (malloc'd), or NULL with why (static text) when off. option: the
 * context's own setting; NULL takes LRNCL_CACHE_DIR, else the XDG default. */
static char *cache_folder(const char *option, const char **why) {
    const char *env = option ? option : getenv("LRNCL_CACHE_DIR");
    if (env) {
        *why = option ? "the context's cache_dir option is off" : "LRNCL_CACHE_DIR is off";
        return *env && strcmp(env, "off") != 0 ? strdup(env) : NULL;
    }
    const char *base = getenv("XDG_CACHE_HOME"), *tail = "/lrncl";
    if (!base || !*base) {
        base = getenv("HOME");
        tail = "/.cache/lrncl";
    }
    *why = "neither XDG_CACHE_HOME nor HOME is set";
    if (!base || !*base)
        return NULL;
    size_t n = strlen(base) + strlen(tail) + 1;
    char *dir = malloc(n);
    if (dir)
        snprintf(dir, n, "%s%s", base, tail);
    return dir;
}

lrncl_status lrncl__cache_init(lrncl_context *c, const char *option) {
    const char *why = "";
    char *dir = cache_folder(option, &why);
    size_t n = (dir ? strlen(dir) : 0) + 256;
    c->cache_status = malloc(n);
    if (!c->cache_status) {
        free(dir);
        return lrncl__fail(LRNCL_ERROR_OUT_OF_HOST_MEMORY, "lrncl_context_create: no memory");
    }
    if (!dir) {
        snprintf(c->cache_status, n, "off: %s", why);
        return LRNCL_SUCCESS;
    }
    /* Made private when missing; used only when this user owns it and no one else can write
     * it: anyone who can write the folder can plant an entry (PoCL binaries carry native code),
     * and the key and crc32 guard against damage, not against a forger. */
    lrncl_file_info info;
    lrncl_file_result r = LRNCL_FILE_ERROR;
    if (lrncl__make_dirs(dir, 0700) != 0)
        snprintf(c->cache_status, n, "off: cannot create %s (%s)", dir, strerror(errno));
    else if ((r = lrncl__dir_check(dir, LRNCL_FILE_OWNED | LRNCL_FILE_PRIVATE, &info)) == LRNCL_FILE_NOT_OWNED)
        snprintf(c->cache_status, n, "off: %s is owned by uid %lu, not by this user", dir, info.uid);
    else if (r == LRNCL_FILE_SHARED)
        snprintf(c->cache_status, n, "off: %s is writable by others (mode %04o)", dir, info.mode & 07777);
    else if (r != LRNCL_FILE_OK)
        snprintf(c->cache_status, n, "off: %s cannot be opened as a folder", dir);
    else
        snprintf(c->cache_status, n, "on: %s", dir);
    if (r == LRNCL_FILE_OK)
        c->cache_dir = dir;
    else
        free(dir);
    return LRNCL_SUCCESS;
}

const char *lrncl_context_cache_status(const lrncl_context *c) {
    static _Thread_local char text[4096 + 512];
    if (!c || !c->cache_status)
        return "off: no context";
    mtx_lock((mtx_t *)&c->lock);
    if (c->bundle_only)
        snprintf(text, sizeof text, "off: a binary-only context loads programs from its bundle only");
    else if (c->cache_note[0])
        snprintf(text, sizeof text, "%s (%s)", c->cache_status, c->cache_note);
    else
        snprintf(text, sizeof text, "%s", c->cache_status);
    mtx_unlock((mtx_t *)&c->lock);
    return text;
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

int lrncl__store_parse_entry(const void *data, size_t size, const char **key, size_t *key_len,
                             const unsigned char **bin, size_t *bin_len) {
    const unsigned char *b = data;
    if (!b || size < ENTRY_HEAD || memcmp(b, entry_magic, sizeof entry_magic) != 0)
        return -1;
    uint64_t klen = get_le(b + 8, 4), blen = get_le(b + 12, 8), crc = get_le(b + 20, 4);
    size_t rest = size - ENTRY_HEAD;
    if (klen > rest || blen != rest - klen || blen == 0)
        return -1; /* truncated, trailing bytes, or no binary */
    if (lrncl__crc32(0, b + ENTRY_HEAD, rest) != crc)
        return -1;
    *key = (const char *)(b + ENTRY_HEAD);
    *key_len = (size_t)klen;
    *bin = b + ENTRY_HEAD + klen;
    *bin_len = (size_t)blen;
    return 0;
}

/* The key text of a program: the context's identity, the variant, the options, the source. */
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
    unsigned long crc = lrncl__crc32(0, key, key_len);
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
    unsigned long crc = lrncl__crc32(0, key, key_len);
    crc = lrncl__crc32(crc, bin, bin_len);
    put_le(head + 20, crc, 4);
    const void *parts[3] = {head, key, bin};
    const size_t sizes[3] = {sizeof head, key_len, bin_len};
    return lrncl__write_file_atomic(path, parts, sizes, 3, 0600);
}

/* A folder where the entry should be: removed when empty (the entry is then written as usual),
 * else noted in the context's cache status, so that it is reported, not rebuilt unexplained in
 * every process. Caller holds c->lock. */
static void folder_at_entry(lrncl_context *c, const char *path) {
#if !defined(_WIN32)
    if (rmdir(path) == 0)
        return;
#endif
    snprintf(c->cache_note, sizeof c->cache_note, "%.*s is a folder, not an entry: remove it",
             (int)(sizeof c->cache_note - 40), path);
}

int lrncl__cache_load(lrncl_context *c, const char *name, const char *options, const char *const texts[2],
                      const size_t sizes[2], cl_program *out) {
    size_t key_len = 0, size = 0;
    char *key = c->cache_dir ? entry_key(c, name, options, texts, sizes, &key_len) : NULL;
    char *path = key ? entry_path(c, name, key, key_len) : NULL;
    char *data = NULL;
    int ok = 0;
    /* Anything but a regular file of this user, written by no one else, is a miss (and the
     * entry written at release replaces it): a link, a FIFO (never waited on), another user's. */
    lrncl_file_result r = path ? lrncl__read_file(path, ENTRY_MAX, ENTRY_FLAGS, &data, &size, NULL) : LRNCL_FILE_ERROR;
    if (r == LRNCL_FILE_DIRECTORY)
        folder_at_entry(c, path);
    if (r == LRNCL_FILE_OK) {
        const char *k;
        const unsigned char *bin;
        size_t klen, blen;
        ok = lrncl__store_parse_entry(data, size, &k, &klen, &bin, &blen) == 0 && klen == key_len &&
             memcmp(k, key, key_len) == 0 && lrncl__program_from_binary(c, bin, blen, options, out) == CL_SUCCESS;
    }
    free(data);
    free(path);
    free(key);
    return ok;
}

void lrncl__store_save(lrncl_context *c, const lrncl_variant *v, const char *name, cl_program prog) {
    const char *texts[2];
    size_t sizes[2], key_len = 0;
    char options[LRNCL_OPTIONS_MAX];
    if (!c->cache_dir || lrncl__variant_program(c, v, texts, sizes, options) != LRNCL_SUCCESS)
        return;
    char *key = entry_key(c, name, options, texts, sizes, &key_len);
    char *path = key ? entry_path(c, name, key, key_len) : NULL;
    unsigned char *bin = NULL;
    size_t size = 0;
    /* Quietly nothing on failure: a cache that cannot be written only means no caching. */
    if (path && lrncl__program_binary(prog, &bin, &size) == CL_SUCCESS)
        entry_write(path, key, key_len, bin, size);
    free(bin);
    free(path);
    free(key);
}
