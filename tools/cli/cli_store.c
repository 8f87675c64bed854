/* cli_store.c: the lrncl command and program bundles: `lrncl compile` (adds a problem's programs
 * to a bundle, or writes their sources for an offline compiler), `lrncl explain` (what a plan
 * does: device, whether the disk cache is used, kernels and their launch sizes, where each program
 * came from), and the binary-only contexts of `--binaries DIR`. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include "cli_commands.h"
#include "cli_common.h"
#include "cli_device.h"
#include "npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int cli_open_run_context(const run_options *o, lrncl_context **out) {
    if (!o->binaries)
        return cli_open_context(o->has_device, o->platform, o->device, out);
    /* The device as usual, then a binary-only context on it (which retains the cl_context). */
    lrncl_context *plain = NULL;
    if (!cli_open_context(o->has_device, o->platform, o->device, &plain))
        return 0;
    lrncl_status st = lrncl_context_create_from_bundle(lrncl_context_cl(plain), lrncl_context_device(plain),
                                                       o->binaries, out);
    lrncl_context_release(plain);
    return cli_lr_ok(st, "--binaries");
}

int cli_problem_desc(const run_options *o, lrncl_desc *d) {
    size_t dims[4];
    *d = o->desc;
    if (o->shape) {
        memcpy(dims, o->shape_dims, sizeof dims);
        d->dtype = o->dtype && strcmp(o->dtype, "f16") == 0 ? LRNCL_FLOAT16 : LRNCL_FLOAT32;
    } else {
        npy_array x;
        char err[512];
        memset(&x, 0, sizeof x);
        if (npy_read(o->input, &x, err, sizeof err) != 0) {
            cli_fail("%s", err);
            return 0;
        }
        int ok = x.ndim == 4 && (x.dtype == NPY_F32 || x.dtype == NPY_F16);
        if (ok) {
            memcpy(dims, x.shape, sizeof dims);
            d->dtype = x.dtype == NPY_F16 ? LRNCL_FLOAT16 : LRNCL_FLOAT32;
        }
        npy_free(&x);
        if (!ok) {
            cli_fail("%s: expected a 4-D float32 or float16 array", o->input);
            return 0;
        }
    }
    d->n = dims[0];
    if (d->layout == LRNCL_LAYOUT_NHWC) /* file shape (N, H, W, C) */
        d->h = dims[1], d->w = dims[2], d->c = dims[3];
    else
        d->c = dims[1], d->h = dims[2], d->w = dims[3];
    return 1;
}

int cli_cmd_compile(const run_options *o) {
    lrncl_context *ctx = NULL;
    lrncl_desc d;
    int rc = CLI_FAILED;
    TRY(cli_problem_desc(o, &d));
    TRY(cli_open_context(o->has_device, o->platform, o->device, &ctx));
    TRY(cli_lr_ok(lrncl_bundle_add(ctx, &d, o->output, o->emit_source ? LRNCL_BUNDLE_SOURCES : LRNCL_BUNDLE_BINARIES),
                  "lrncl_bundle_add"));
    printf("%s: %s for %s\n", o->output, o->emit_source ? "sources and build options written" : "binaries added",
           d.mode == LRNCL_WITHIN_CHANNEL ? "within-channel LRN" : "across-channel LRN");
    rc = CLI_OK;
done:
    lrncl_context_release(ctx);
    return rc;
}

static const char *tuning_source_name(lrncl_tuning_source s) {
    switch (s) {
    case LRNCL_TUNING_HEURISTIC: return "heuristic";
    case LRNCL_TUNING_BUILTIN_DB: return "built-in database";
    case LRNCL_TUNING_FILE_DB: return "LRNCL_TUNING_DB file";
    case LRNCL_TUNING_USER: return "set by the user";
    }
    return "unknown";
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int cli_cmd_explain(const run_options *o) {
    lrncl_context *ctx = NULL;
    lrncl_plan *plan = NULL;
    lrncl_desc d;
    int rc = CLI_FAILED;
    char title[512];
    TRY(cli_problem_desc(o, &d));
    TRY(cli_open_run_context(o, &ctx));
    double t0 = now_ms();
    TRY(cli_lr_ok(lrncl_plan_create(ctx, &d, &plan), "lrncl_plan_create"));
    double plan_ms = now_ms() - t0;

    cli_device_title(lrncl_context_device(ctx), 1, title, sizeof title);
    printf("device:       %s\n", title);
    printf("device class: %s kernels\n", lrncl_plan_device_class(plan));
    printf("disk cache:   %s\n", lrncl_context_cache_status(ctx));
    printf("problem:      %s, N=%zu C=%zu H=%zu W=%zu, %s %s\n",
           d.mode == LRNCL_WITHIN_CHANNEL ? "within-channel" : "across-channel", d.n, d.c, d.h, d.w,
           d.dtype == LRNCL_FLOAT16 ? "float16" : "float32", d.layout == LRNCL_LAYOUT_NHWC ? "NHWC" : "NCHW");
    printf("kernels:\n");
    static const struct {
        lrncl_kernel_kind kind;
        int in_place;
        const char *run;
    } runs[] = {{LRNCL_KERNEL_FORWARD, 0, "forward (inference)"},
                {LRNCL_KERNEL_FORWARD_TRAINING, 0, "forward (training)"},
                {LRNCL_KERNEL_FORWARD, 1, "forward (in place)"},
                {LRNCL_KERNEL_BACKWARD, 0, "backward"}};
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        lrncl_kernel_info k;
        lrncl_status st = lrncl_plan_kernel_info(plan, runs[i].kind, runs[i].in_place, &k);
        if (st == LRNCL_ERROR_UNSUPPORTED && runs[i].in_place)
            continue; /* this plan has no in-place forward */
        TRY(cli_lr_ok(st, "lrncl_plan_kernel_info"));
        printf("  %-20s %-24s global %zux%zu  local %zux%zu  slide block %zu  tuning: %s\n", runs[i].run, k.name,
               k.global[0], k.global[1], k.local[0], k.local[1], k.slide_block,
               tuning_source_name(k.source));
    }
    printf("programs:\n");
    for (size_t i = 0; i < lrncl_plan_program_count(plan); i++) {
        lrncl_program_info pi;
        TRY(cli_lr_ok(lrncl_plan_program_info(plan, i, &pi), "lrncl_plan_program_info"));
        printf("  %s\n    from:    %s\n    options: %s\n", pi.variant, lrncl_program_origin_string(pi.origin),
               pi.options);
    }
    printf("plan creation: %.1f ms\n", plan_ms);
    rc = CLI_OK;
done:
    lrncl_plan_release(plan);
    lrncl_context_release(ctx);
    return rc;
}
