/* fuzz_npy.c: the .npy reader on arbitrary bytes. Whatever it accepts must be consistent (count
 * the product of the shape, data present) and survive a write-then-read round trip bit for bit.
 * The bytes go through a file because npy_read takes a path, as the tools use it. */
#define _POSIX_C_SOURCE 200809L
#include "npy.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char in_path[64], out_path[64];

static void remove_files(void) {
    remove(in_path);
    remove(out_path);
}

static void paths(void) {
    if (in_path[0])
        return;
    atexit(remove_files);
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(in_path, sizeof in_path, "%.40s/fuzz-npy-%ld.in", base, (long)getpid());
    snprintf(out_path, sizeof out_path, "%.40s/fuzz-npy-%ld.npy", base, (long)getpid());
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    paths();
    FILE *f = fopen(in_path, "wb");
    if (!f || fwrite(data, 1, size, f) != size) {
        if (f)
            fclose(f);
        abort();
    }
    fclose(f);
    npy_array a;
    char err[512];
    if (npy_read(in_path, &a, err, sizeof err) != 0) {
        if (!err[0] || a.data || a.count || a.ndim)
            abort(); /* a refusal says why and leaves *out empty */
        return 0;
    }
    size_t count = 1;
    for (int i = 0; i < a.ndim; i++)
        count *= a.shape[i];
    if (a.ndim < 0 || a.ndim > 8 || count != a.count || !a.data)
        abort();
    if (npy_write(out_path, a.dtype, a.data, a.ndim, a.shape, err, sizeof err) != 0)
        abort(); /* what was read must be writable */
    npy_array b;
    if (npy_read(out_path, &b, err, sizeof err) != 0)
        abort();
    if (b.dtype != a.dtype || b.ndim != a.ndim || b.count != a.count ||
        memcmp(b.shape, a.shape, sizeof a.shape) != 0 ||
        memcmp(b.data, a.data, a.count * npy_dtype_size(a.dtype)) != 0)
        abort();
    npy_free(&b);
    npy_free(&a);
    remove(out_path);
    return 0;
}
