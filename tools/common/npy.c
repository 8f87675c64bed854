/* npy.c: reading NumPy .npy files for lrncl's tools and tests (writing: npy_write.c).
 *
 * The format (numpy/lib/format.py): the magic "\x93NUMPY", a major and a minor version byte,
 * the header length (2 bytes little-endian in version 1.0, 4 bytes in 2.0 and 3.0), then the
 * header, a Python dict literal such as
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4, 5), }
 * padded with spaces and ended by '\n' so that the data starts on a 64-byte boundary, then
 * the raw data. Pure C11. */
#include "npy.h"
#include "npy_format.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char npy__magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

NPY_PRINTF(4, 5)
void npy__set_err(char *err, size_t errlen, const char *path, const char *fmt, ...) {
    if (!err || errlen == 0)
        return;
    int n = snprintf(err, errlen, "%s: ", path ? path : "(null)");
    if (n < 0 || (size_t)n >= errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

size_t npy_dtype_size(npy_dtype t) {
    switch (t) {
    case NPY_F32: return 4;
    case NPY_F16: return 2;
    case NPY_F64: return 8;
    }
    return 0;
}

void npy_free(npy_array *a) {
    if (!a)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

int npy__host_is_little_endian(void) {
    const uint16_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    return first == 1;
}

/* Product of shape[0 .. ndim-1] into *count; 0 if it overflows size_t. */
int npy__shape_count(int ndim, const size_t *shape, size_t *count) {
    size_t c = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] != 0 && c > SIZE_MAX / shape[i])
            return 0;
        c *= shape[i];
    }
    *count = c;
    return 1;
}

/* "(2, 3, 4, 5)", "(5,)" or "()", as numpy writes it (and as Python prints a tuple). */
void npy__format_shape(char *buf, size_t len, int ndim, const size_t *shape) {
    int used = snprintf(buf, len, "(");
    for (int i = 0; i < ndim && used > 0 && (size_t)used < len; i++)
        used += snprintf(buf + used, len - (size_t)used, i ? ", %zu" : "%zu", shape[i]);
    if (used > 0 && (size_t)used < len)
        snprintf(buf + used, len - (size_t)used, ndim == 1 ? ",)" : ")");
}

/* ---- header parsing: just enough of Python's literal syntax for numpy's dict ------------- */

typedef struct {
    const char *p, *end;
    char msg[160];  /* what was wrong, when a parse function returns 0 */
} cursor;

static void skip_space(cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int malformed(cursor *c, const char *expected) {
    char near[24];
    size_t n = 0;
    for (const char *q = c->p; q < c->end && n < sizeof near - 1; q++)
        near[n++] = (*q >= 32 && *q < 127) ? *q : '?';
    near[n] = '\0';
    snprintf(c->msg, sizeof c->msg, "malformed header: expected %s at \"%s\"", expected,
             n ? near : "end of header");
    return 0;
}

static int accept_char(cursor *c, char ch) {
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

static int accept_word(cursor *c, const char *word) {
    size_t n = strlen(word);
    skip_space(c);
    if ((size_t)(c->end - c->p) >= n && memcmp(c->p, word, n) == 0) {
        c->p += n;
        return 1;
    }
    return 0;
}

/* A quoted string without escapes ('...' or "..."), copied into buf. */
static int parse_string(cursor *c, char *buf, size_t len) {
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return malformed(c, "a quoted string");
    char quote = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != quote) {
        if (*c->p == '\\' || *c->p == '\n')
            return malformed(c, "a simple string");
        if (n + 1 >= len)
            return malformed(c, "a shorter string");
        buf[n++] = *c->p++;
    }
    if (c->p >= c->end)
        return malformed(c, "a closing quote");
    c->p++;
    buf[n] = '\0';
    return 1;
}

static int parse_bool(cursor *c, int *out) {
    if (accept_word(c, "True"))
        *out = 1;
    else if (accept_word(c, "False"))
        *out = 0;
    else
        return malformed(c, "True or False");
    return 1;
}

/* A non-negative integer (Python 2 numpy wrote "3L"). */
static int parse_dim(cursor *c, size_t *out) {
    skip_space(c);
    if (c->p >= c->end || *c->p < '0' || *c->p > '9')
        return malformed(c, "a non-negative integer");
    size_t v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        size_t d = (size_t)(*c->p - '0');
        if (v > (SIZE_MAX - d) / 10) {
            snprintf(c->msg, sizeof c->msg, "shape dimension too large for size_t");
            return 0;
        }
        v = v * 10 + d;
        c->p++;
    }
    if (c->p < c->end && *c->p == 'L')
        c->p++;
    *out = v;
    return 1;
}

/* "()", "(5,)", "(2, 3, 4, 5)", "(2, 3,)"; "(5)" is also taken as one dimension. */
static int parse_shape(cursor *c, size_t *shape, int *ndim) {
    int n = 0;
    if (!accept_char(c, '('))
        return malformed(c, "'(' opening the shape");
    while (!accept_char(c, ')')) {
        size_t dim = 0;
        if (!parse_dim(c, &dim))
            return 0;
        if (n < NPY_MAX_DIMS)
            shape[n] = dim;
        n++;
        if (!accept_char(c, ',')) {
            if (!accept_char(c, ')'))
                return malformed(c, "',' or ')' in the shape");
            break;
        }
    }
    if (n > NPY_MAX_DIMS) {
        snprintf(c->msg, sizeof c->msg, "arrays of %d dimensions are not supported (at most %d)", n,
                 NPY_MAX_DIMS);
        return 0;
    }
    *ndim = n;
    return 1;
}

/* Maps a descr string to a dtype; 0 and a message when it is not one we read. */
static int parse_descr(cursor *c, const char *descr, npy_dtype *out) {
    char order = descr[0];
    const char *kind = order ? descr + 1 : descr;
    if (order == '>') {
        snprintf(c->msg, sizeof c->msg, "big-endian data ('%s') is not supported", descr);
        return 0;
    }
    if (order != '<' && order != '|' && order != '=')
        kind = "";  /* no byte order character: not a form numpy writes for floats */
    if (strcmp(kind, "f4") == 0)
        *out = NPY_F32;
    else if (strcmp(kind, "f2") == 0)
        *out = NPY_F16;
    else if (strcmp(kind, "f8") == 0)
        *out = NPY_F64;
    else {
        snprintf(c->msg, sizeof c->msg,
                 "unsupported dtype '%.40s' (only '<f2', '<f4' and '<f8' are supported)", descr);
        return 0;
    }
    return 1;
}

/* Parses the header dict into dtype, ndim and shape. */
static int parse_header(cursor *c, npy_dtype *dtype, int *ndim, size_t *shape) {
    int have_descr = 0, have_order = 0, have_shape = 0, fortran = 0;
    char key[32], descr[64];

    if (!accept_char(c, '{'))
        return malformed(c, "'{' opening the header dict");
    while (!accept_char(c, '}')) {
        if (!parse_string(c, key, sizeof key))
            return 0;
        if (!accept_char(c, ':'))
            return malformed(c, "':' after a key");
        int *seen;
        if (strcmp(key, "descr") == 0) {
            seen = &have_descr;
            skip_space(c);
            if (c->p < c->end && *c->p == '[') {
                snprintf(c->msg, sizeof c->msg, "structured dtypes are not supported");
                return 0;
            }
            if (!parse_string(c, descr, sizeof descr))
                return 0;
        } else if (strcmp(key, "fortran_order") == 0) {
            seen = &have_order;
            if (!parse_bool(c, &fortran))
                return 0;
        } else if (strcmp(key, "shape") == 0) {
            seen = &have_shape;
            if (!parse_shape(c, shape, ndim))
                return 0;
        } else {
            snprintf(c->msg, sizeof c->msg, "unexpected key '%s' in the header", key);
            return 0;
        }
        if (*seen) {
            snprintf(c->msg, sizeof c->msg, "key '%s' appears twice in the header", key);
            return 0;
        }
        *seen = 1;
        if (!accept_char(c, ',')) {
            if (!accept_char(c, '}'))
                return malformed(c, "',' or '}' in the header dict");
            break;
        }
    }
    skip_space(c);
    if (c->p != c->end)
        return malformed(c, "only padding after the header dict");
    if (!have_descr || !have_order || !have_shape) {
        snprintf(c->msg, sizeof c->msg, "header lacks the key '%s'",
                 !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
        return 0;
    }
    if (!parse_descr(c, descr, dtype))
        return 0;
    if (fortran) {
        snprintf(c->msg, sizeof c->msg, "fortran_order arrays are not supported");
        return 0;
    }
    return 1;
}

/* ---- reading ------------------------------------------------------------------------------- */

static size_t read_le(const unsigned char *b, int nbytes) {
    size_t v = 0;
    for (int i = nbytes - 1; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}

/* Bytes left in f from the current position, or -1 when the stream cannot tell. */
static long bytes_left(FILE *f) {
    long here = ftell(f);
    if (here < 0 || fseek(f, 0, SEEK_END) != 0)
        return -1;
    long end = ftell(f);
    if (fseek(f, here, SEEK_SET) != 0 || end < here)
        return -1;
    return end - here;
}

/* Reads up to `bytes` bytes from a stream that cannot tell its size (a pipe): the buffer grows
 * as data arrives (doubling from NPY_STREAM_CHUNK), so a header that claims more than the stream
 * delivers costs at most twice what did arrive, never the claimed size. 0 when out of memory;
 * *got is what was read (less than bytes at the end of the stream). */
static int read_stream(FILE *f, size_t bytes, void **out, size_t *got) {
    size_t cap = bytes < NPY_STREAM_CHUNK ? bytes : NPY_STREAM_CHUNK, have = 0;
    unsigned char *buf = malloc(cap ? cap : 1);
    if (!buf)
        return 0;
    for (;;) {
        size_t n = fread(buf + have, 1, cap - have, f);
        have += n;
        if (have < cap || have == bytes)
            break; /* end of the stream (or an error), or all of it */
        size_t next = cap > bytes / 2 ? bytes : cap * 2;
        unsigned char *grown = realloc(buf, next);
        if (!grown) {
            free(buf);
            *got = have;
            return 0;
        }
        buf = grown;
        cap = next;
    }
    *out = buf;
    *got = have;
    return 1;
}

int npy_read(const char *path, npy_array *out, char *err, size_t errlen) {
    int rc = 1;
    FILE *f = NULL;
    char *header = NULL;
    void *data = NULL;
    unsigned char pre[12];
    npy_array a;
    memset(&a, 0, sizeof a);
    if (err && errlen)
        err[0] = '\0';

    if (!out) {
        npy__set_err(err, errlen, path, "no output array given");
        return 1;
    }
    memset(out, 0, sizeof *out);
    if (!path) {
        npy__set_err(err, errlen, path, "no path given");
        return 1;
    }
    if (!npy__host_is_little_endian()) {
        npy__set_err(err, errlen, path, "reading .npy files needs a little-endian host");
        return 1;
    }
    f = fopen(path, "rb");
    if (!f) {
        npy__set_err(err, errlen, path, "cannot open: %s", strerror(errno));
        goto done;
    }
    if (fread(pre, 1, 8, f) != 8 || memcmp(pre, npy__magic, sizeof npy__magic) != 0) {
        npy__set_err(err, errlen, path, "not a .npy file (bad magic)");
        goto done;
    }
    int major = pre[6], minor = pre[7];
    int lenbytes = major == 1 ? 2 : 4;
    if ((major != 1 && major != 2 && major != 3) || minor != 0) {
        npy__set_err(err, errlen, path, "unsupported .npy format version %d.%d", major, minor);
        goto done;
    }
    if (fread(pre + 8, 1, (size_t)lenbytes, f) != (size_t)lenbytes) {
        npy__set_err(err, errlen, path, "truncated header");
        goto done;
    }
    size_t hlen = read_le(pre + 8, lenbytes);
    if (hlen > NPY_MAX_HEADER) {
        npy__set_err(err, errlen, path, "header of %zu bytes is too large", hlen);
        goto done;
    }
    header = malloc(hlen + 1);
    if (!header) {
        npy__set_err(err, errlen, path, "out of memory");
        goto done;
    }
    if (fread(header, 1, hlen, f) != hlen) {
        npy__set_err(err, errlen, path, "truncated header");
        goto done;
    }
    header[hlen] = '\0';
    /* numpy reads the header with ast.literal_eval, which refuses NUL bytes anywhere in it. */
    if (memchr(header, '\0', hlen)) {
        npy__set_err(err, errlen, path, "header contains a NUL byte at offset %zu",
                (size_t)((const char *)memchr(header, '\0', hlen) - header));
        goto done;
    }

    cursor c = {header, header + hlen, ""};
    if (!parse_header(&c, &a.dtype, &a.ndim, a.shape)) {
        npy__set_err(err, errlen, path, "%s", c.msg);
        goto done;
    }
    char shape_text[200];
    npy__format_shape(shape_text, sizeof shape_text, a.ndim, a.shape);
    size_t esize = npy_dtype_size(a.dtype);
    if (!npy__shape_count(a.ndim, a.shape, &a.count) || a.count > SIZE_MAX / esize) {
        npy__set_err(err, errlen, path, "shape %s overflows size_t", shape_text);
        goto done;
    }
    size_t bytes = a.count * esize;
    /* Check the size before allocating, so a corrupt shape cannot ask for terabytes; a stream
     * that cannot tell its size (a pipe) is read as it arrives instead (read_stream). */
    long left = bytes_left(f);
    if (left >= 0 && (unsigned long)left < bytes) {
        npy__set_err(err, errlen, path, "truncated: shape %s needs %zu bytes of data, the file has %ld",
                shape_text, bytes, left);
        goto done;
    }
    size_t got = 0;
    if (left >= 0) {
        data = malloc(bytes ? bytes : 1);
        if (!data) {
            npy__set_err(err, errlen, path, "out of memory for %zu bytes of data", bytes);
            goto done;
        }
        got = fread(data, 1, bytes, f);
    } else if (!read_stream(f, bytes, &data, &got)) {
        npy__set_err(err, errlen, path, "out of memory after %zu of %zu bytes of data", got, bytes);
        goto done;
    }
    if (got != bytes) {
        npy__set_err(err, errlen, path, "truncated: shape %s needs %zu bytes of data, the file has %zu",
                shape_text, bytes, got);
        goto done;
    }
    a.data = data;
    data = NULL;
    *out = a;
    rc = 0;
done:
    free(data);
    free(header);
    if (f)
        fclose(f);
    return rc;
}

