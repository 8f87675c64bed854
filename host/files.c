/* files.c: the library's only reads and writes of files: what it accepts from disk (regular files
 * only, opened without blocking and measured before reading, optionally refused when another user
 * owns them, when they are a symbolic link or when others may write them), folders created private
 * and checked before they are trusted, atomic writes. Calls no other host file.
 * docs/design.md, "What lrncl trusts on disk". */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if !defined(_WIN32)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#define LRNCL_HAVE_POSIX_FILES 1
#endif

#ifdef LRNCL_HAVE_POSIX_FILES
static void info_of(const struct stat *st, lrncl_file_info *info) {
    info->size = (unsigned long long)st->st_size;
    info->mode = (unsigned)st->st_mode;
    info->uid = (unsigned long)st->st_uid;
}

/* What st (a file or a folder) fails of the owner and mode the flags ask for, or LRNCL_FILE_OK. */
static lrncl_file_result trust(const struct stat *st, unsigned flags) {
    if ((flags & LRNCL_FILE_OWNED) && st->st_uid != geteuid())
        return LRNCL_FILE_NOT_OWNED;
    if ((flags & LRNCL_FILE_PRIVATE) && (st->st_mode & (S_IWGRP | S_IWOTH)))
        return LRNCL_FILE_SHARED;
    return LRNCL_FILE_OK;
}

/* What st (of a file opened with these flags) fails, or LRNCL_FILE_OK. */
static lrncl_file_result judge(const struct stat *st, unsigned flags) {
    if (S_ISDIR(st->st_mode))
        return LRNCL_FILE_DIRECTORY;
    if (!S_ISREG(st->st_mode))
        return LRNCL_FILE_NOT_REGULAR;
    return trust(st, flags);
}
#endif

lrncl_file_result lrncl__file_open(const char *path, unsigned flags, int *fd, lrncl_file_info *info) {
    memset(info, 0, sizeof *info);
    *fd = -1;
#ifdef LRNCL_HAVE_POSIX_FILES
    /* O_NONBLOCK: a FIFO (or a device) at the name must not wait for a writer; fstat then
     * refuses it. O_NOFOLLOW: a link fails with ELOOP. */
    int oflags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | (flags & LRNCL_FILE_NOFOLLOW ? O_NOFOLLOW : 0);
    int f = open(path, oflags);
    if (f < 0) {
        info->err = errno;
        return errno == ENOENT || errno == ENOTDIR ? LRNCL_FILE_MISSING
               : errno == ELOOP                    ? LRNCL_FILE_SYMLINK
                                                   : LRNCL_FILE_ERROR;
    }
    struct stat st;
    if (fstat(f, &st) != 0) {
        info->err = errno;
        close(f);
        return LRNCL_FILE_ERROR;
    }
    info_of(&st, info);
    lrncl_file_result r = judge(&st, flags);
    if (r != LRNCL_FILE_OK) {
        close(f);
        return r;
    }
    *fd = f;
    return LRNCL_FILE_OK;
#else
    (void)path, (void)flags;
    return LRNCL_FILE_ERROR;
#endif
}

lrncl_file_result lrncl__file_read(int fd, size_t size, char **data) {
    *data = NULL;
#ifdef LRNCL_HAVE_POSIX_FILES
    char *buf = malloc(size + 1);
    if (!buf) {
        close(fd);
        return LRNCL_FILE_NO_MEMORY;
    }
    size_t done = 0;
    while (done < size) {
        ssize_t n = read(fd, buf + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    /* One byte more than fstat said means the file grew while read: not the file measured. */
    char extra;
    ssize_t more = done == size ? read(fd, &extra, 1) : 0;
    close(fd);
    if (done != size || more != 0) {
        free(buf);
        return LRNCL_FILE_ERROR;
    }
    buf[size] = '\0';
    *data = buf;
    return LRNCL_FILE_OK;
#else
    (void)fd, (void)size;
    return LRNCL_FILE_ERROR;
#endif
}

void lrncl__file_close(int fd) {
#ifdef LRNCL_HAVE_POSIX_FILES
    if (fd >= 0)
        close(fd);
#else
    (void)fd;
#endif
}

char *lrncl__path_join(const char *dir, const char *name, const char *ext) {
    size_t n = strlen(dir) + strlen(name) + strlen(ext) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s%s", dir, name, ext);
    return p;
}

lrncl_file_result lrncl__read_file(const char *path, size_t max, unsigned flags, char **data, size_t *size,
                                   lrncl_file_info *info) {
    lrncl_file_info local;
    info = info ? info : &local;
    *data = NULL;
    *size = 0;
    int fd;
    lrncl_file_result r = lrncl__file_open(path, flags, &fd, info);
    if (r != LRNCL_FILE_OK)
        return r;
    if (info->size > max) { /* refused from its size: never read */
        lrncl__file_close(fd);
        return LRNCL_FILE_TOO_LARGE;
    }
    r = lrncl__file_read(fd, (size_t)info->size, data);
    if (r == LRNCL_FILE_OK)
        *size = (size_t)info->size;
    return r;
}

size_t lrncl__file_why(lrncl_file_result r, const lrncl_file_info *info, size_t max, char *buf, size_t size) {
    int n = 0;
    unsigned mode = info->mode & 07777;
    switch (r) {
    case LRNCL_FILE_OK: n = snprintf(buf, size, "is fine"); break;
    case LRNCL_FILE_MISSING: n = snprintf(buf, size, "does not exist"); break;
    case LRNCL_FILE_DIRECTORY: n = snprintf(buf, size, "is a folder, not a regular file"); break;
    case LRNCL_FILE_NOT_REGULAR: n = snprintf(buf, size, "is not a regular file (a FIFO, device or socket)"); break;
    case LRNCL_FILE_SYMLINK: n = snprintf(buf, size, "is a symbolic link, which is not followed here"); break;
    case LRNCL_FILE_NOT_OWNED:
        n = snprintf(buf, size, "is owned by uid %lu, not by this user", info->uid);
        break;
    case LRNCL_FILE_SHARED:
        n = snprintf(buf, size, "is writable by group or others (mode %04o; chmod go-w to use it)", mode);
        break;
    case LRNCL_FILE_TOO_LARGE:
        n = snprintf(buf, size, "is too large (%llu bytes; at most %zu are read)", info->size, max);
        break;
    case LRNCL_FILE_NO_MEMORY: n = snprintf(buf, size, "could not be read: no memory"); break;
    case LRNCL_FILE_ERROR:
        n = snprintf(buf, size, "could not be read (%s)", info->err ? strerror(info->err) : "it changed while read");
        break;
    }
    return n < 0 ? 0 : (size_t)n;
}

lrncl_file_result lrncl__dir_check(const char *path, unsigned flags, lrncl_file_info *info) {
    memset(info, 0, sizeof *info);
#ifdef LRNCL_HAVE_POSIX_FILES
    int f = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (flags & LRNCL_FILE_NOFOLLOW ? O_NOFOLLOW : 0));
    if (f < 0) {
        info->err = errno;
        return errno == ENOENT ? LRNCL_FILE_MISSING
               : errno == ENOTDIR ? LRNCL_FILE_NOT_REGULAR
               : errno == ELOOP ? LRNCL_FILE_SYMLINK
                                : LRNCL_FILE_ERROR;
    }
    struct stat st;
    int ok = fstat(f, &st) == 0;
    info->err = ok ? 0 : errno;
    close(f);
    if (!ok)
        return LRNCL_FILE_ERROR;
    info_of(&st, info);
    return trust(&st, flags);
#else
    (void)path, (void)flags;
    return LRNCL_FILE_ERROR;
#endif
}

int lrncl__make_dirs(const char *path, unsigned mode) {
#ifdef LRNCL_HAVE_POSIX_FILES
    size_t len = strlen(path);
    char *p = malloc(len + 1);
    if (!p)
        return -1;
    memcpy(p, path, len + 1);
    /* Folders made here get mode (0700: the cache, 0755: bundles); the umask can only take
     * bits away, so none is ever writable by others. Existing ones are left as they are. */
    for (size_t i = 1; i <= len; ++i)
        if (p[i] == '/' || p[i] == '\0') {
            char keep = p[i];
            p[i] = '\0';
            if (mkdir(p, (mode_t)mode) != 0 && errno != EEXIST) {
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
    (void)path, (void)mode;
    return -1;
#endif
}

int lrncl__write_file_atomic(const char *path, const void *const parts[], const size_t sizes[], int nparts,
                             unsigned mode) {
#ifdef LRNCL_HAVE_POSIX_FILES
    size_t len = strlen(path);
    char *tmp = malloc(len + 16);
    if (!tmp)
        return -1;
    /* The temporary file sits in the target's folder, so rename() never crosses file systems;
     * mkstemp makes a new file (O_EXCL): a planted link or file at a guessed name is never
     * written through. */
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    memcpy(tmp, path, dirlen);
    memcpy(tmp + dirlen, ".tmp-XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        free(tmp);
        return -1;
    }
    int ok = fchmod(fd, (mode_t)mode) == 0;
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
    int saved = errno;
    if (!ok)
        unlink(tmp);
    free(tmp);
    errno = saved;
    return ok ? 0 : -1;
#else
    (void)path, (void)parts, (void)sizes, (void)nparts, (void)mode;
    return -1;
#endif
}
