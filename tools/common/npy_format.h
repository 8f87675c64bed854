/* npy_format.h: what npy.c (reading) and npy_write.c (writing) share: the format's constants,
 * the magic bytes and four small helpers. Not part of npy.h's interface. */
#ifndef LRNCL_NPY_FORMAT_H
#define LRNCL_NPY_FORMAT_H

#include <stddef.h>

#if defined(__GNUC__)
#define NPY_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define NPY_PRINTF(f, a)
#endif

enum {
    NPY_MAX_DIMS = 8,
    NPY_ALIGN = 64,                   /* numpy aligns the data start to 64 bytes */
    NPY_MAX_HEADER = 1 << 20,         /* a sane header is < 1 KiB; refuse to malloc garbage */
    NPY_TEMP_TRIES = 100,
    NPY_STREAM_CHUNK = 1 << 20,       /* first buffer for data from a stream of unknown size */
};

extern const char npy__magic[6];

/* "path: message" into err (may be NULL; errlen its size). */
NPY_PRINTF(4, 5)
void npy__set_err(char *err, size_t errlen, const char *path, const char *fmt, ...);
int npy__host_is_little_endian(void);
/* Product of shape[0 .. ndim-1] into *count; 0 if it overflows size_t. */
int npy__shape_count(int ndim, const size_t *shape, size_t *count);
/* "(2, 3, 4, 5)", "(5,)" or "()", as numpy writes it. */
void npy__format_shape(char *buf, size_t len, int ndim, const size_t *shape);

#endif /* LRNCL_NPY_FORMAT_H */
