/* bench_report.c: lrncl-bench's output: the header, a table row per pass, or JSON objects. */
#include "bench.h"
#include "cli_common.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void shape_text(const bench_case *bc, char *buf, size_t len) {
    snprintf(buf, len, "%zux%zux%zux%zu", bc->n, bc->c, bc->h, bc->w);
}

void json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 32)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

void json_number(const char *key, double v) {
    printf(", \"%s\": ", key);
    if (isfinite(v))
        printf("%.6g", v);
    else
        printf("null");
}

/* lrncl time / peer time, NAN when either is missing. */
static double ratio(double ms, double peer) {
    return isfinite(ms) && isfinite(peer) && peer > 0 ? ms / peer : NAN;
}

void print_header(const bench_env *e, int argc, char **argv) {
    char date[64] = "?";
    time_t t = time(NULL);
    struct tm *tm = gmtime(&t);
    if (tm)
        strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", tm);
    printf("lrncl-bench\n");
    printf("device:   %s\n", e->device);
    printf("date:     %s\n", date);
    printf("lrncl:    %s\n", lrncl_version_string());
    printf("command: ");
    for (int i = 0; i < argc; i++) {
        int plain = *argv[i] != '\0';
        for (const char *c = argv[i]; *c && plain; c++)
            plain = isalnum((unsigned char)*c) || strchr("-_./:=,+@%", *c);
        printf(" %s%s%s", plain ? "" : "'", argv[i], plain ? "" : "'");
    }
    printf("\n");
    printf("setup:    layout %s, dtype %s, alpha %g, beta %g, k %g (Caffe convention); median of %d runs "
           "after warm-up\n", layout_name(e->opt.layout), dtype_name(e->opt.dtype), (double)bench_alpha,
           (double)bench_beta, (double)bench_k, e->opt.runs);
    if (e->opt.runs < MIN_REPORT_RUNS)
        printf("NOTE:     --runs %d is below the %d runs a report needs (docs/performance.md): "
               "a quick look, not a report\n",
               e->opt.runs, MIN_REPORT_RUNS);
    printf("bytes:    fewest a pass moves: fwd-infer x + y; fwd-train + scale (float32); backward x, y, dy,\n"
           "          scale + dx. GB/s = bytes / time; %% copy = copy time / lrncl time, the copy being\n"
           "          clEnqueueCopyBuffer of half those bytes (read + write = the same bytes)\n");
    printf("inputs:   random (never zeros), rotating through buffer sets of > 64 MiB per pass\n");
    if (strstr(e->device, "Portable Computing Language")) {
        const char *aff = getenv("POCL_AFFINITY");
        printf("PoCL:     POCL_AFFINITY%s%s\n", aff ? "=" : " unset", aff ? aff : "");
        if (!aff || strcmp(aff, "0") == 0)
            printf("          its workers can share one CPU for stretches of runs, at up to 3x the time\n"
                   "          (docs/performance.md; --method outside shows the CPU wait per run)\n");
    }
#ifdef LRNCL_BENCH_ONEDNN
    const dnnl_version_t *v = dnnl_version();
    char threads[48];
    if (e->onednn_threads > 0)
        snprintf(threads, sizeof threads, "%d threads", e->onednn_threads);
    else
        snprintf(threads, sizeof threads, "threads unknown");
    printf("oneDNN:   %d.%d.%d on the CPU (%s, %s), float32 %s, same parameters: oneDNN also divides alpha\n"
           "          by n across and n^2 within, but uses k within too (k = 1 here: the same numbers)\n",
           v->major, v->minor, v->patch, v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "threading runtime", threads,
           layout_name(e->opt.layout));
#else
    printf("oneDNN:   not built (libdnnl-dev not found at configure time, or LRNCL_BENCH_ONEDNN=OFF)\n");
#endif
    if (e->cudnn_fn)
        printf("cuDNN:    %s (the peer module, loaded at run time; across only, its table follows the main one)\n",
               e->cudnn_device);
    else
        printf("cuDNN:    unavailable: %s\n", e->cudnn_why);
    printf("naive:    OpenCL kernel built by the bench: one work-item per element, re-reads its window,\n"
           "          pow(); forward inference and backward (from the scale)\n");
    printf("x peer:   lrncl time / peer time (below 1: lrncl is faster)\n\n");
    printf("%-15s %-12s %-9s %9s %7s %6s %8s %9s %8s %9s %7s  %s\n", "case", "shape", "pass", "lrncl ms", "GB/s",
           "% copy", "copy ms", "oneDNN ms", "x oneDNN", "naive ms", "x naive", "check");
    fflush(stdout);
}

static void fmt(char *buf, size_t len, const char *f, double v) {
    if (isfinite(v))
        snprintf(buf, len, f, v);
    else
        snprintf(buf, len, "-");
}

void print_rows(bench_env *e, const case_state *cs, const case_result *r) {
    const bench_case *bc = cs->bc;
    char shape[64];
    shape_text(bc, shape, sizeof shape);
    const char *check = r->error ? "error" : r->failed_checks ? "FAIL" : "ok";
    for (int p = 0; p < PASS_COUNT; p++) {
        double ms = r->ms[p], bytes = (double)cs->bytes[p];
        double gbps = isfinite(ms) && ms > 0 ? bytes / (ms * 1e6) : NAN;
        double pct = isfinite(ms) && ms > 0 && isfinite(r->copy_ms[p]) ? 100.0 * r->copy_ms[p] / ms : NAN;
        double x_dn = ratio(ms, r->onednn_ms[p]), x_naive = ratio(ms, r->naive_ms[p]);
        if (e->opt.json) {
            printf("%s  {\"case\": ", e->json_rows++ ? ",\n" : "");
            json_string(bc->name);
            printf(", \"shape\": ");
            json_string(shape);
            printf(", \"mode\": \"%s\", \"pass\": \"%s\", \"layout\": \"%s\", \"dtype\": \"%s\"",
                   bc->mode == LRNCL_ACROSS_CHANNELS ? "across" : "within", pass_names[p],
                   layout_name(e->opt.layout), dtype_name(e->opt.dtype));
            json_number("median_ms", ms);
            printf(", \"bytes\": %zu", cs->bytes[p]);
            json_number("gbps", gbps);
            json_number("copy_ms", r->copy_ms[p]);
            json_number("pct_of_copy", pct);
            json_number("onednn_ms", r->onednn_ms[p]);
            json_number("ratio_onednn", x_dn);
            json_number("naive_ms", r->naive_ms[p]);
            json_number("ratio_naive", x_naive);
            json_number("onednn_runs", isfinite(r->onednn_ms[p]) ? r->onednn_runs[p] : NAN);
            json_number("naive_runs", isfinite(r->naive_ms[p]) ? r->naive_runs[p] : NAN);
            json_number("cudnn_ms", r->cudnn_ms[p]);
            json_number("ratio_cudnn", ratio(ms, r->cudnn_ms[p]));
            json_number("cudnn_copy_ms", r->cudnn_copy_ms[p]);
            if (r->cudnn_error[0]) {
                printf(", \"cudnn_error\": ");
                json_string(r->cudnn_error);
            }
            char peer[700];
            snprintf(peer, sizeof peer, "%s%s", e->cudnn_fn ? "" : "unavailable: ",
                     e->cudnn_fn ? e->cudnn_device : e->cudnn_why);
            printf(", \"cudnn_peer\": ");
            json_string(peer);
            printf(", \"device\": ");
            json_string(e->device);
            printf(", \"runs\": %d, \"check\": \"%s\"}", e->opt.runs, check);
        } else {
            char c[7][24];
            fmt(c[0], sizeof c[0], "%.3f", ms);
            fmt(c[1], sizeof c[1], "%.1f", gbps);
            fmt(c[2], sizeof c[2], "%.0f%%", pct);
            fmt(c[3], sizeof c[3], "%.3f", r->copy_ms[p]);
            int few_dn = isfinite(r->onednn_ms[p]) && r->onednn_runs[p] < e->opt.runs;
            int few_naive = isfinite(r->naive_ms[p]) && r->naive_runs[p] < e->opt.runs;
            fmt(c[4], sizeof c[4], few_dn ? "%.3f*" : "%.3f", r->onednn_ms[p]);
            fmt(c[5], sizeof c[5], "%.2f", x_dn);
            fmt(c[6], sizeof c[6], few_naive ? "%.3f*" : "%.3f", r->naive_ms[p]);
            for (int peer = 0; peer < 2; peer++) {
                size_t used = strlen(e->notes);
                if ((peer ? few_naive : few_dn) && used < sizeof e->notes)
                    snprintf(e->notes + used, sizeof e->notes - used, "  %s %s %s: median of %d runs\n",
                             peer ? "naive" : "oneDNN", bc->name, pass_names[p],
                             peer ? r->naive_runs[p] : r->onednn_runs[p]);
            }
            char xn[24];
            fmt(xn, sizeof xn, "%.2f", x_naive);
            printf("%-15s %-12s %-9s %9s %7s %6s %8s %9s %8s %9s %7s  %s\n", bc->name, shape, pass_names[p], c[0], c[1],
                   c[2], c[3], c[4], c[5], c[6], xn, check);
            size_t used = strlen(e->cudnn_rows);
            if (p == 0 && r->cudnn_error[0] && used < sizeof e->cudnn_rows)
                used += (size_t)snprintf(e->cudnn_rows + used, sizeof e->cudnn_rows - used, "%-15s cuDNN did not run: %s\n",
                                         bc->name, r->cudnn_error);
            if (isfinite(r->cudnn_ms[p]) && used < sizeof e->cudnn_rows) {
                /* cuDNN's copy is of one tensor: the forward's bytes (x + y); the backward moves 4-5 */
                double tensor = (double)cs->count * (double)cs->esize;
                double cb = p == PASS_BACKWARD ? 4 * tensor : 2 * tensor;
                snprintf(e->cudnn_rows + used, sizeof e->cudnn_rows - used,
                         "%-15s %-9s %9.3f %7.1f %9.3f %9.3f %8.2f  %s\n", bc->name, pass_names[p], r->cudnn_ms[p],
                         cb / (r->cudnn_ms[p] * 1e6), r->cudnn_copy_ms[p], ms, ratio(ms, r->cudnn_ms[p]), check);
            }
        }
    }
    fflush(stdout);
}
