/* cli_common.c: one-line error recording, result checks, parsers and event timing shared by the
 * lrncl command and lrncl-bench. */
#include "cli_common.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char g_error[2048];
static int g_error_set;

void cli_fail(const char *fmt, ...) {
    if (g_error_set)
        return;
    g_error_set = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_error, sizeof g_error, fmt, ap);
    va_end(ap);
    char *w = g_error;
    for (const char *r = g_error; *r; r++) {
        char ch = ((unsigned char)*r < 32 || *r == 127) ? ' ' : *r;
        if (ch == ' ' && (w == g_error || w[-1] == ' '))
            continue;
        *w++ = ch;
    }
    while (w > g_error && w[-1] == ' ')
        w--;
    *w = '\0';
}

int cli_cl_ok(cl_int err, const char *what) {
    if (err == CL_SUCCESS)
        return 1;
    cli_fail("%s failed: %s (%d)", what, lrncl_status_string((lrncl_status)err), (int)err);
    return 0;
}

int cli_lr_ok(lrncl_status s, const char *what) {
    if (s == LRNCL_SUCCESS)
        return 1;
    const char *detail = lrncl_last_error();
    cli_fail("%s failed: %s%s%s", what, lrncl_status_string(s), *detail ? ": " : "", detail);
    return 0;
}

void *cli_alloc(size_t count, size_t size, const char *what) {
    void *p = (count && size <= SIZE_MAX / count) ? malloc(count * size) : NULL;
    if (!p)
        cli_fail("out of host memory for %s (%zu x %zu bytes)", what, count, size);
    return p;
}

cl_mem cli_new_buffer(cl_context ctx, cl_mem_flags flags, size_t bytes, void *host, const char *what) {
    cl_int err;
    cl_mem m = clCreateBuffer(ctx, flags, bytes, host, &err);
    if (err != CL_SUCCESS) {
        char call[96];
        snprintf(call, sizeof call, "clCreateBuffer (%s, %zu bytes)", what, bytes);
        cli_cl_ok(err, call);
        return NULL;
    }
    return m;
}

int cli_parse_device_pair(const char *s, unsigned *platform, unsigned *device) {
    char *end;
    if (*s < '0' || *s > '9')
        return 0;
    errno = 0;
    unsigned long p = strtoul(s, &end, 10);
    if (errno || *end != ':' || end[1] < '0' || end[1] > '9' || p > UINT_MAX)
        return 0;
    unsigned long d = strtoul(end + 1, &end, 10);
    if (errno || *end || d > UINT_MAX)
        return 0;
    *platform = (unsigned)p;
    *device = (unsigned)d;
    return 1;
}

int cli_compare_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int cli_error_pending(void) { return g_error_set; }

const char *cli_error_text(void) { return g_error_set ? g_error : "failed"; }

void cli_error_reset(void) {
    g_error_set = 0;
    g_error[0] = '\0';
}

int cli_finish_stdout(void) {
    int failed = ferror(stdout);
    errno = 0;
    failed |= fflush(stdout) != 0;
    int saved = errno;
    errno = 0;
    failed |= fclose(stdout) != 0;
    if (!saved)
        saved = errno;
    if (failed)
        cli_fail("cannot write to standard output: %s", saved ? strerror(saved) : "write error");
    return !failed;
}

int cli_event_ms(cl_event start, cl_event done, int done_start_fallback, double *ms) {
    cl_ulong t0 = 0, t1 = 0;
    cl_int err = clGetEventProfilingInfo(start, CL_PROFILING_COMMAND_END, sizeof t0, &t0, NULL);
    if (err != CL_SUCCESS && done_start_fallback)
        err = clGetEventProfilingInfo(done, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL);
    if (!cli_cl_ok(err, "clGetEventProfilingInfo") ||
        !cli_cl_ok(clGetEventProfilingInfo(done, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL),
                   "clGetEventProfilingInfo"))
        return 0;
    *ms = t1 > t0 ? (double)(t1 - t0) * 1e-6 : 0.0;
    return 1;
}
