/* npy_write.c: writing NumPy .npy files (version 1.0 headers, C order): atomically through a
 * temporary file in the same folder (made with fopen's "x", pure C11), staged for the caller's
 * own all-or-nothing renames, or to an open stream. The format is described in npy.c. */
#include "npy.h"
#include "npy_format.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- writing ------------------------------------------------------------------------------- */

/* Opens a new, exclusively created temporary file next to path; its name goes to *tmp_name. */
static FILE *open_temp(const char *path, char **tmp_name, char *err, size_t errlen) {
    static unsigned long counter;
    size_t len = strlen(path) + 40;
    char *name = malloc(len);
    if (!name) {
        npy__set_err(err, errlen, path, "out of memory");
        return NULL;
    }
    /* Different processes writing the same path differ in time and, usually, stack address. */
    unsigned long salt = (unsigned long)time(NULL) ^ (unsigned long)(uintptr_t)&len;
    int saved = 0;
    for (int i = 0; i < NPY_TEMP_TRIES; i++) {
        snprintf(name, len, "%s.tmp-%08lx", path, (salt + counter++ * 2654435761ul) & 0xfffffffful);
        errno = 0;
        FILE *f = fopen(name, "wbx");
        if (f) {
            *tmp_name = name;
            return f;
        }
        saved = errno;
#ifdef EEXIST
        if (saved != EEXIST)
            break;
#endif
    }
    npy__set_err(err, errlen, path, "cannot create a temporary file next to it: %s",
            saved ? strerror(saved) : "too many attempts");
    free(name);
    return NULL;
}

int npy_write_stream(FILE *f, const char *name, npy_dtype dtype, const void *data, int ndim, const size_t *shape,
                     char *err, size_t errlen) {
    static const char *const descr[] = {"<f4", "<f2", "<f8"};
    size_t esize = npy_dtype_size(dtype);
    size_t count;
    if (err && errlen)
        err[0] = '\0';
    if (!f) {
        npy__set_err(err, errlen, name, "no stream given");
        return 1;
    }
    if (esize == 0) {
        npy__set_err(err, errlen, name, "invalid dtype %d", (int)dtype);
        return 1;
    }
    if (ndim < 0 || ndim > NPY_MAX_DIMS || (ndim > 0 && !shape)) {
        npy__set_err(err, errlen, name, "invalid ndim %d (0 to %d, with a shape)", ndim, NPY_MAX_DIMS);
        return 1;
    }
    if (!npy__shape_count(ndim, shape, &count) || count > SIZE_MAX / esize) {
        npy__set_err(err, errlen, name, "shape overflows size_t");
        return 1;
    }
    size_t bytes = count * esize;
    if (bytes > 0 && !data) {
        npy__set_err(err, errlen, name, "no data given");
        return 1;
    }
    if (!npy__host_is_little_endian()) {
        npy__set_err(err, errlen, name, "writing .npy files needs a little-endian host");
        return 1;
    }

    /* Preamble (10 bytes) + dict + spaces + '\n' is a multiple of 64; at most 8 dimensions
     * keep the dict far below version 1.0's 65535-byte limit. */
    char shape_text[200], header[512];
    npy__format_shape(shape_text, sizeof shape_text, ndim, shape ? shape : &count);
    int dict = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                        descr[dtype], shape_text);
    if (dict < 0 || (size_t)dict + NPY_ALIGN + 1 > sizeof header) {
        npy__set_err(err, errlen, name, "header does not fit");
        return 1;
    }
    size_t hlen = (size_t)dict + 1;
    hlen += (NPY_ALIGN - (10 + hlen) % NPY_ALIGN) % NPY_ALIGN;
    memset(header + dict, ' ', hlen - 1 - (size_t)dict);
    header[hlen - 1] = '\n';
    unsigned char pre[10];
    memcpy(pre, npy__magic, sizeof npy__magic);
    pre[6] = 1;
    pre[7] = 0;
    pre[8] = (unsigned char)(hlen & 0xff);
    pre[9] = (unsigned char)(hlen >> 8);

    errno = 0;
    int ok = fwrite(pre, 1, sizeof pre, f) == sizeof pre && fwrite(header, 1, hlen, f) == hlen &&
             (bytes == 0 || fwrite(data, 1, bytes, f) == bytes) && fflush(f) == 0;
    if (!ok) {
        int saved = errno;
        npy__set_err(err, errlen, name, "write failed: %s", saved ? strerror(saved) : "I/O error");
        return 1;
    }
    return 0;
}

int npy_write_staged(const char *path, npy_dtype dtype, const void *data, int ndim, const size_t *shape,
                     char **staged, char *err, size_t errlen) {
    if (err && errlen)
        err[0] = '\0';
    if (staged)
        *staged = NULL;
    if (!path || !staged) {
        npy__set_err(err, errlen, path, !path ? "no path given" : "no place for the temporary file's name");
        return 1;
    }
    char *tmp = NULL;
    FILE *f = open_temp(path, &tmp, err, errlen);
    if (!f)
        return 1;
    int failed = npy_write_stream(f, path, dtype, data, ndim, shape, err, errlen);
    errno = 0;
    if (fclose(f) != 0 && !failed) {
        npy__set_err(err, errlen, path, "write failed: %s", errno ? strerror(errno) : "I/O error");
        failed = 1;
    }
    if (failed) {
        remove(tmp);
        free(tmp);
        return 1;
    }
    *staged = tmp;
    return 0;
}

int npy_write(const char *path, npy_dtype dtype, const void *data, int ndim, const size_t *shape,
              char *err, size_t errlen) {
    char *tmp = NULL;
    if (npy_write_staged(path, dtype, data, ndim, shape, &tmp, err, errlen) != 0)
        return 1;
    if (rename(tmp, path) != 0) {
        int saved = errno;
#if defined(_WIN32)
        /* Windows' rename does not replace an existing file. */
        if (remove(path) == 0 && rename(tmp, path) == 0) {
            free(tmp);
            return 0;
        }
        saved = errno;
#endif
        npy__set_err(err, errlen, path, "cannot rename the temporary file into place: %s", strerror(saved));
        remove(tmp);
        free(tmp);
        return 1;
    }
    free(tmp);
    return 0;
}
