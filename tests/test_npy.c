/* test_npy.c: the .npy reader on hostile input: streams (pipes) whose header claims more data
 * than they deliver must not make the reader allocate the claimed size, and NUL bytes in the
 * header are refused as numpy refuses them; a write-then-read round trip through a pipe. */
#include "testutil.h"

#include "npy.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define TN_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TN_ASAN 1
#endif
#endif
#ifndef TN_ASAN
#define TN_ASAN 0
#endif

/* A version 1.0 header for descr and shape text, padded to 64 bytes as numpy writes it. */
static size_t make_header(unsigned char *buf, size_t cap, const char *descr, size_t descr_len, const char *shape)
{
    char dict[256];
    int n = snprintf(dict, sizeof dict, "{'descr': '");
    memcpy(dict + n, descr, descr_len);
    n += (int)descr_len;
    n += snprintf(dict + n, sizeof dict - (size_t)n, "', 'fortran_order': False, 'shape': %s, }", shape);
    size_t hlen = (size_t)n + 1;
    hlen += (64 - (10 + hlen) % 64) % 64;
    cr_assert(10 + hlen <= cap);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    memcpy(buf + 10, dict, (size_t)n);
    memset(buf + 10 + n, ' ', hlen - 1 - (size_t)n);
    buf[10 + hlen - 1] = '\n';
    return 10 + hlen;
}

/* A FIFO in a fresh folder, fed by a child process with `len` bytes of head then `extra` zero
 * bytes; returns its path (static). */
static const char *feed_fifo(const unsigned char *head, size_t len, size_t extra, pid_t *child)
{
    static char path[64];
    char dir[] = "/tmp/lrncl-npy-XXXXXX";
    cr_assert(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
    snprintf(path, sizeof path, "%s/in.npy", dir);
    cr_assert(mkfifo(path, 0600) == 0, "mkfifo: %s", strerror(errno));
    *child = fork();
    cr_assert(*child >= 0);
    if (*child == 0) {
        signal(SIGPIPE, SIG_IGN);
        int fd = open(path, O_WRONLY);
        if (fd < 0)
            _exit(1);
        if (write(fd, head, len) != (ssize_t)len)
            _exit(1);
        static unsigned char zero[65536];
        while (extra > 0) {
            size_t n = extra < sizeof zero ? extra : sizeof zero;
            if (write(fd, zero, n) != (ssize_t)n)
                _exit(1);
            extra -= n;
        }
        close(fd);
        _exit(0);
    }
    return path;
}

static void reap(pid_t child, const char *path)
{
    int status;
    waitpid(child, &status, 0);
    unlink(path);
    char dir[64];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        rmdir(dir);
    }
}

/* Limits this test process's address space (Criterion runs each test in its own process), so
 * that allocating the claimed size fails where it would otherwise just be overcommitted. Not
 * under AddressSanitizer, which reserves terabytes of shadow address space. */
static void limit_memory(size_t bytes)
{
    if (TN_ASAN)
        return;
    struct rlimit r = {bytes, bytes};
    cr_assert(setrlimit(RLIMIT_AS, &r) == 0, "setrlimit: %s", strerror(errno));
}

TestSuite(npy, .timeout = 60);

Test(npy, pipe_claiming_16_gib_is_read_as_it_arrives)
{
    unsigned char head[256];
    size_t len = make_header(head, sizeof head, "<f4", 3, "(4, 1024, 1024, 1024)"); /* 16 GiB */
    limit_memory((size_t)2 << 30);
    for (int k = 0; k < 2; k++) {
        const size_t extra = k ? (size_t)3 << 20 : 0; /* header only; then 3 MiB of data */
        pid_t child;
        const char *path = feed_fifo(head, len, extra, &child);
        npy_array a;
        char err[512];
        int rc = npy_read(path, &a, err, sizeof err);
        reap(child, path);
        cr_expect(rc != 0, "a stream of %zu bytes claiming 16 GiB was accepted", len + extra);
        cr_expect(strstr(err, "truncated") != NULL && strstr(err, "out of memory") == NULL,
                  "a stream claiming 16 GiB: \"%s\" (expected a truncation, not an allocation failure)", err);
        char got[64];
        snprintf(got, sizeof got, "has %zu", extra);
        cr_expect(strstr(err, got) != NULL, "\"%s\" does not say the stream had %zu bytes of data", err, extra);
        cr_expect(a.data == NULL && a.count == 0, "a refused read left data behind");
    }
}

Test(npy, pipe_round_trip)
{
    const size_t shape[4] = {2, 3, 50, 70}, count = 2 * 3 * 50 * 70;
    float *x = tu_floats(count);
    for (size_t i = 0; i < count; i++)
        x[i] = (float)i * 0.25f - 7.0f;
    char dir[] = "/tmp/lrncl-npyw-XXXXXX", file[64];
    cr_assert(mkdtemp(dir) != NULL);
    snprintf(file, sizeof file, "%s/x.npy", dir);
    char err[512];
    cr_assert(npy_write(file, NPY_F32, x, 4, shape, err, sizeof err) == 0, "%s", err);
    FILE *f = fopen(file, "rb");
    cr_assert(f);
    unsigned char *bytes = tu_alloc(count * 4 + 256);
    size_t len = fread(bytes, 1, count * 4 + 256, f);
    fclose(f);
    unlink(file);
    rmdir(dir);
    pid_t child;
    const char *path = feed_fifo(bytes, len, 0, &child);
    npy_array a;
    int rc = npy_read(path, &a, err, sizeof err);
    reap(child, path);
    cr_assert(rc == 0, "reading %zu bytes back through a pipe: %s", len, err);
    cr_expect(a.dtype == NPY_F32 && a.ndim == 4 && a.count == count, "read back dtype %d, %d-D, %zu elements",
              (int)a.dtype, a.ndim, a.count);
    cr_expect(memcmp(a.shape, shape, sizeof shape) == 0, "shape differs");
    cr_expect(a.data && memcmp(a.data, x, count * 4) == 0, "data differs after the round trip");
    npy_free(&a);
    free(bytes);
    free(x);
}

Test(npy, nul_in_header_refused)
{
    static const struct { const char *descr; size_t len; const char *what; } cases[] = {
        {"<f4\0", 4, "descr '<f4\\0'"},
        {"<\0f4", 4, "descr '<\\0f4'"},
        {"\0", 1, "descr '\\0'"},
    };
    char dir[] = "/tmp/lrncl-npyn-XXXXXX", file[64];
    cr_assert(mkdtemp(dir) != NULL);
    snprintf(file, sizeof file, "%s/nul.npy", dir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char head[256];
        size_t len = make_header(head, sizeof head, cases[i].descr, cases[i].len, "(1,)");
        FILE *f = fopen(file, "wb");
        cr_assert(f);
        float one = 1.0f;
        cr_assert(fwrite(head, 1, len, f) == len && fwrite(&one, 1, 4, f) == 4);
        fclose(f);
        npy_array a;
        char err[512];
        int rc = npy_read(file, &a, err, sizeof err);
        cr_expect(rc != 0, "a header with %s was accepted", cases[i].what);
        cr_expect(strstr(err, "NUL") != NULL, "%s: \"%s\" does not name the NUL byte", cases[i].what, err);
        npy_free(&a);
    }
    unlink(file);
    rmdir(dir);
}
