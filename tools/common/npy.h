/* npy.h: reading and writing NumPy .npy files (v1/v2/v3 headers, little-endian, C order).
 *
 * Just what lrncl's tools and tests need: float16, float32 and float64 arrays of 0 to 8
 * dimensions. Everything else (big-endian data, Fortran order, other dtypes, truncated files)
 * is refused with a one-line message. float16 data is kept as raw IEEE half bits (uint16).
 */
#ifndef LRNCL_NPY_H
#define LRNCL_NPY_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* '<f4', '<f2', '<f8' ('|' or '=' byte order on a little-endian host also accepted). */
typedef enum { NPY_F32, NPY_F16, NPY_F64 } npy_dtype;

typedef struct {
    npy_dtype dtype;
    int ndim;          /* 0 (a scalar) .. 8 */
    size_t shape[8];   /* shape[0 .. ndim-1]; the rest 0 */
    size_t count;      /* product of the shape (1 for a scalar, 0 if a dimension is 0) */
    void *data;        /* count * npy_dtype_size(dtype) bytes, C order; owned, npy_free it */
} npy_array;

/* Reads path into *out. Returns 0 on success; otherwise non-zero, *out left empty (npy_free
 * is still safe) and a one-line message in err (e.g. "x.npy: fortran_order arrays are not
 * supported"). err may be NULL; errlen is its size in bytes. path may be a pipe or /dev/stdin:
 * data whose size the stream cannot tell is read as it arrives, so memory follows what the
 * stream delivers, not what its header claims. A header with a NUL byte is refused, as numpy
 * refuses it. */
int npy_read(const char *path, npy_array *out, char *err, size_t errlen);

/* Writes count = product(shape[0 .. ndim-1]) elements of dtype from data, as a version 1.0
 * file. Atomic: the bytes go to a temporary file in the same folder, renamed to path on
 * success (no fsync); on any failure the temporary file is removed and path is left as it
 * was (absent, if it was). Returns 0 on success, otherwise non-zero and a one-line message in
 * err. */
int npy_write(const char *path, npy_dtype dtype, const void *data, int ndim, const size_t *shape,
              char *err, size_t errlen);

/* The first half of npy_write: the whole file goes to a new temporary file next to path, whose
 * name (malloc'ed) is stored in *staged; path itself is not touched. The caller renames it
 * into place (or removes it) and frees the name; on failure nothing is left behind and
 * *staged is NULL. For writing several files all or nothing. (The lrncl command stages its outputs
 * itself, keeping modes and syncing: tools/cli/cli_outputs.c.) */
int npy_write_staged(const char *path, npy_dtype dtype, const void *data, int ndim, const size_t *shape,
                     char **staged, char *err, size_t errlen);

/* Writes the file's bytes (as npy_write would) to an open stream, at its position, and flushes
 * it; the stream stays open. name is for messages. For outputs that cannot be replaced by a
 * rename: pipes, devices, standard output. Returns 0 on success, otherwise non-zero and a
 * one-line message in err. */
int npy_write_stream(FILE *f, const char *name, npy_dtype dtype, const void *data, int ndim, const size_t *shape,
                     char *err, size_t errlen);

/* Frees a->data and empties *a. NULL is allowed. */
void npy_free(npy_array *a);

/* Bytes per element: 4, 2, 8; 0 for a value that is not an npy_dtype. */
size_t npy_dtype_size(npy_dtype t);

#ifdef __cplusplus
}
#endif
#endif /* LRNCL_NPY_H */
