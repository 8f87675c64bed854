/* cli_common.h: what the lrncl command and lrncl-bench share: one-line error recording, checks
 * of OpenCL/lrncl results, small parsers, and timing between profiling events. */
#ifndef LRNCL_CLI_COMMON_H
#define LRNCL_CLI_COMMON_H

#include "lrncl.h"

#include <stddef.h>

#if defined(__GNUC__)
#define CLI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CLI_PRINTF(f, a)
#endif

/* Jumps to the function's `done` label when a check (which has recorded why) fails. */
#define TRY(check)          \
    do {                    \
        if (!(check))       \
            goto done;      \
    } while (0)

/* Records the first failure as one line (control characters become spaces, runs of spaces
 * shrink to one: build logs are multi-line). Later failures, e.g. during cleanup, are dropped
 * until cli_error_reset. */
CLI_PRINTF(1, 2) void cli_fail(const char *fmt, ...);
const char *cli_error_text(void);   /* the recorded failure, or "failed" when none was */
int cli_error_pending(void);        /* 1 while a failure is recorded */
void cli_error_reset(void);

/* Flushes and closes standard output, the last thing a program does: output that could not be
 * written (a full disk, > /dev/full, a closed pipe) is a failure like any other. 1 when every
 * byte got out, else 0 (recorded: "cannot write to standard output: ..."). */
int cli_finish_stdout(void);

/* True on success; otherwise record "what failed: ..." and return 0. */
int cli_cl_ok(cl_int err, const char *what);
int cli_lr_ok(lrncl_status s, const char *what);
/* malloc(count * size), recording a failure (and returning NULL) on overflow or no memory. */
void *cli_alloc(size_t count, size_t size, const char *what);

/* clCreateBuffer(ctx, flags, bytes, host), recording "clCreateBuffer (what, N bytes) failed"
 * (and returning NULL) on failure. */
cl_mem cli_new_buffer(cl_context ctx, cl_mem_flags flags, size_t bytes, void *host, const char *what);

/* Milliseconds from the end of the marker `start`, enqueued just before an operation, to the end
 * of `done`, the operation's last command (an operation may enqueue several kernels). Where the
 * marker has no profiling times and done_start_fallback is set, from the start of `done`
 * instead; otherwise records the failure and returns 0. 1 on success. */
int cli_event_ms(cl_event start, cl_event done, int done_start_fallback, double *ms);

/* "P:D", both non-negative decimal integers (no signs, no spaces); 1 on success. */
int cli_parse_device_pair(const char *s, unsigned *platform, unsigned *device);
/* qsort comparator for doubles. */
int cli_compare_double(const void *a, const void *b);

#endif /* LRNCL_CLI_COMMON_H */
