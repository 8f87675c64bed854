/* bench_main.c: lrncl-bench, the performance suite (docs/performance.md).
 *
 * For every case of a fixed suite (AlexNet's and GoogLeNet's LRN layers across channels, two
 * within-channel shapes) and every pass (forward inference, forward training, backward): the
 * median of --runs event-timed runs after warm-up, the GB/s of the fewest bytes the pass must
 * move, that as a percentage of a clEnqueueCopyBuffer moving the same bytes on the same device,
 * and two peers timed in the same run: oneDNN's LRN on the CPU (when built with libdnnl) and a
 * naive OpenCL kernel compiled here from a string. Inputs are random and rotate through enough
 * buffer sets that every pass cycles through more than 64 MiB, so no run finds its data in the
 * last-level cache; the copy and oneDNN rotate alike. Before timing, every case is checked
 * against the float64 reference on the whole tensor (lrncl, the naive kernel and oneDNN alike,
 * to the accuracy bounds of docs/design.md); a failed check makes the exit status 1.
 *
 * Timing: bench_timing.c. Files by concern: bench.h.
 */
#include "bench.h"
#include "cli_common.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char bench_usage[] =
    "usage: lrncl-bench [--case NAME] [--runs N] [--layout nchw|nhwc] [--dtype f32|f16]\n"
    "                   [--json] [--device P:D] [--method bench|outside] [--processes N]\n"
    "\n"
    "Times every case below in three passes (forward inference, forward training, backward):\n"
    "median of N event-timed runs after warm-up (default 20, the least a report uses),\n"
    "GB/s of the fewest bytes, % of a clEnqueueCopyBuffer of those bytes, and the ratio to\n"
    "oneDNN's LRN on the CPU and to a naive OpenCL kernel, all measured in the same run.\n"
    "Each case is first checked against the float64 reference; a failed check exits 1.\n"
    "\n"
    "  --case NAME       one case: alexnet-norm1, alexnet-norm2, googlenet, within-small,\n"
    "                    within-alexnet (default: all)\n"
    "  --runs N          timed runs per measurement (default 20; fewer is allowed for a\n"
    "                    quick look and marked as not for reports)\n"
    "  --layout L        nchw (default) or nhwc, for lrncl, the copy, the naive kernel and oneDNN\n"
    "  --dtype T         f32 (default) or f16 (float16 storage; the scale stays float32;\n"
    "                    oneDNN runs float32)\n"
    "  --json            a JSON array of one object per case and pass instead of the table\n"
    "  --device P:D      platform P, device D as 'lrncl devices' numbers them\n"
    "  --method M        bench (default: the above, contenders interleaved in one process) or\n"
    "                    outside: as a harness outside the project measures (bench_outside.c):\n"
    "                    --processes N processes (default 3) one after another, each with\n"
    "                    OMP_WAIT_POLICY=PASSIVE, timing lrncl (profiling events) and then oneDNN\n"
    "                    (wall clock around dnnl_stream_wait), --runs N each (default 21);\n"
    "                    reports each process's medians, their median and spread, and how\n"
    "                    long each process's threads waited for a CPU during lrncl's runs\n"
    "\n"
    "On PoCL, lrncl's times move up to 3x between processes unless POCL_AFFINITY=1 is set: PoCL's\n"
    "two worker threads can be queued on one CPU for stretches of runs (docs/performance.md).\n";

/* ---- one case, and the whole bench ------------------------------------------------------------- */

/* Sets up, checks and times one case, prints its rows; returns 0 when it ran and passed. */
static int run_case(bench_env *e, int case_index, int ordinal, int total) {
    const bench_case *bc = &bench_cases[case_index];
    case_state cs;
    case_result r;
    memset(&cs, 0, sizeof cs);
    memset(&r, 0, sizeof r);
    for (int p = 0; p < PASS_COUNT; p++)
        r.ms[p] = r.copy_ms[p] = r.onednn_ms[p] = r.naive_ms[p] = r.cudnn_ms[p] = r.cudnn_copy_ms[p] = NAN;
    char shape[64];
    shape_text(bc, shape, sizeof shape);
    double t0 = now_s();

    fprintf(stderr, "bench: [%d/%d] %s %s %s: setting up\n", ordinal, total, bc->name, shape,
            bc->mode == LRNCL_ACROSS_CHANNELS ? "across" : "within");
    int ok = case_setup(e, bc, (uint64_t)case_index + 1, &cs, &r);
    if (ok) {
        static const char *const sources[] = {"heuristic", "built-in database", "LRNCL_TUNING_DB", "user"};
        lrncl_tuning tf = {0, 0}, tt = {0, 0}, tb = {0, 0};
        lrncl_plan_get_tuning(cs.plan, LRNCL_KERNEL_FORWARD, &tf);
        lrncl_plan_get_tuning(cs.plan, LRNCL_KERNEL_FORWARD_TRAINING, &tt);
        lrncl_plan_get_tuning(cs.plan, LRNCL_KERNEL_BACKWARD, &tb);
        fprintf(stderr,
                "bench: [%d/%d] %s: tuning (local, block): forward %zu, %zu (%s); training %zu, %zu (%s); "
                "backward %zu, %zu (%s)\n",
                ordinal, total, bc->name, tf.local_size, tf.slide_block,
                sources[lrncl_plan_tuning_source(cs.plan, LRNCL_KERNEL_FORWARD)], tt.local_size, tt.slide_block,
                sources[lrncl_plan_tuning_source(cs.plan, LRNCL_KERNEL_FORWARD_TRAINING)], tb.local_size,
                tb.slide_block, sources[lrncl_plan_tuning_source(cs.plan, LRNCL_KERNEL_BACKWARD)]);
        fprintf(stderr, "bench: [%d/%d] %s: %zu buffer sets (%.0f MiB per pass at the least), checking\n", ordinal,
                total, bc->name, cs.nslots, (double)(cs.nslots * cs.bytes[PASS_INFER]) / 1048576.0);
        ok = case_check(e, &cs, &r);
        if (ok && e->cudnn_fn) {
            fprintf(stderr, "bench: [%d/%d] %s: checking and timing cuDNN\n", ordinal, total, bc->name);
            ok = cudnn_case(e, &cs, &r);
        }
    }
    if (ok)
        fprintf(stderr, "bench: [%d/%d] %s: check %s (max rel err: %s)\n", ordinal, total, bc->name,
                r.failed_checks ? "FAILED" : "ok", r.checks);
    for (int p = 0; ok && p < PASS_COUNT; p++) {
        fprintf(stderr, "bench: [%d/%d] %s: timing %s\n", ordinal, total, bc->name, pass_names[p]);
        const int active[OP_COUNT] = {1, 1, p != PASS_TRAIN};
        double med[OP_COUNT];
        int nruns[OP_COUNT];
        double dn_ms = NAN;
        int dn_runs = 0;
#ifdef LRNCL_BENCH_ONEDNN
        const int with_onednn = 1;
#else
        const int with_onednn = 0;
#endif
        ok = time_pass(e, &cs, p, active, with_onednn, med, nruns, &dn_ms, &dn_runs);
        if (ok) {
            r.ms[p] = med[OP_LRNCL];
            r.copy_ms[p] = med[OP_COPY];
            r.naive_ms[p] = med[OP_NAIVE];
            r.naive_runs[p] = nruns[OP_NAIVE];
        }
        if (ok && with_onednn) {
            r.onednn_ms[p] = dn_ms;
            r.onednn_runs[p] = dn_runs;
        }
    }
    if (!ok) {
        r.error = 1;
        report_error(bc->name);
    }
    if (r.onednn_impl[0][0]) {
        size_t used = strlen(e->impls);
        if (used < sizeof e->impls)
            snprintf(e->impls + used, sizeof e->impls - used, "  %-15s %s / %s / %s\n", bc->name, r.onednn_impl[0],
                     r.onednn_impl[1], r.onednn_impl[2]);
    }
    fprintf(stderr, "bench: [%d/%d] %s: %.1f s\n", ordinal, total, bc->name, now_s() - t0);
    print_rows(e, &cs, &r);
    case_release(&cs);
    return ok && r.failed_checks == 0;
}

static int bench_main(int argc, char **argv) {
    bench_env e;
    int rc;
    if (!start_command("lrncl-bench", 0, argc, argv, 1, &e, bench_usage, 1, &rc))
        return rc;
    double t0 = now_s();
    rc = BENCH_FAILED;
    if (e.opt.outside && !e.opt.outside_child) {
        rc = outside_main(&e, argc, argv);
        if (cli_error_pending())
            report_error(NULL);
        return rc;
    }
    TRY(env_open(&e));
    if (e.opt.outside_child) {
        rc = outside_child(&e);
        goto done;
    }
    cudnn_open(&e);
    if (e.opt.runs < MIN_REPORT_RUNS)
        fprintf(stderr, "bench: note: --runs %d is below the %d runs a report needs "
                        "(docs/performance.md); not for reports\n",
                e.opt.runs, MIN_REPORT_RUNS);
    if (e.opt.json)
        printf("[\n");
    else
        print_header(&e, argc, argv);
    int total = e.opt.only_case ? 1 : BENCH_NCASES, ordinal = 0, failed = 0;
    for (int i = 0; i < BENCH_NCASES; i++)
        if (!e.opt.only_case || strcmp(e.opt.only_case, bench_cases[i].name) == 0)
            failed += !run_case(&e, i, ++ordinal, total);
    if (e.opt.json)
        printf("\n]\n");
    else {
        if (e.impls[0])
            printf("\noneDNN's implementations (fwd-infer / fwd-train / backward; lrn_ref is its plain C++ "
                   "reference):\n%s", e.impls);
        if (e.cudnn_rows[0])
            printf("\ncuDNN (%s), median of %d cudaEvent-timed runs; GB/s of x + y (backward: x, y, dy, dx);\n"
                   "cuDNN copy: cudaMemcpy of one tensor (device to device); x cuDNN = lrncl ms / cuDNN ms:\n"
                   "%-15s %-9s %9s %7s %9s %9s %8s  %s\n%s",
                   e.cudnn_device, e.opt.runs, "case", "pass", "cuDNN ms", "GB/s", "copy ms", "lrncl ms", "x cuDNN",
                   "check", e.cudnn_rows);
        if (e.notes[0])
            printf("\n* fewer runs than --runs: one run of that peer takes longer than %.0f s / %d runs allow\n%s",
                   peer_budget_s, e.opt.runs, e.notes);
        printf("\n%d of %d cases ran and passed their checks; %.1f s in all\n", total - failed, total, now_s() - t0);
    }
    fflush(stdout);
    fprintf(stderr, "bench: done in %.1f s\n", now_s() - t0);
    if (failed) {
        cli_fail("%d of %d cases failed (see above)", failed, total);
        goto done;
    }
    rc = BENCH_OK;
done:
    if (cli_error_pending())
        report_error(NULL);
    cudnn_close(&e);
    env_close(&e);
    return rc;
}

int main(int argc, char **argv) {
    int rc = bench_main(argc, argv);
    /* Rows that never reached a full disk or a closed stream are a failure, said once. */
    if (!cli_finish_stdout() && rc == BENCH_OK) {
        fprintf(stderr, "lrncl-bench: %s\n", cli_error_text());
        rc = BENCH_FAILED;
    }
    return rc;
}
