/* bench_outside.c: lrncl-bench --method outside, the way an outside harness measures.
 *
 * The bench proper (bench_timing.c) interleaves lrncl, the copy and oneDNN run by run inside one
 * process and waits for oneDNN's OpenMP workers to go idle before timing OpenCL runs. A harness
 * written against the public API does none of that, and its figures differed from the bench's on
 * AlexNet's norm2 (docs/performance.md). This method reproduces it: --processes N child processes
 * of this program run one after another, each with OMP_WAIT_POLICY=PASSIVE in its environment;
 * in each, for every case and pass, after the usual check against the float64 reference, lrncl
 * runs --runs times (default 21, timed with profiling events) and then oneDNN --runs times (wall
 * clock around execute and dnnl_stream_wait), both rotating through the case's buffer sets of
 * more than 64 MiB, each after two untimed runs; no interleaving, no idle wait. The parent
 * reports every process's medians, the median over the processes and the spread (slowest over
 * fastest process). */
#define _POSIX_C_SOURCE 200809L /* fdopen, setenv */

#include "bench.h"
#include "cli_common.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- one process ------------------------------------------------------------------------------ */

/* Event-timed lrncl runs of one pass: ms[i] from the end of a marker to the end of the run;
 * queue_ms[i] the time the process's threads waited for a CPU from the enqueue to the run's end
 * (bench_sched.c; NAN where unknown). */
static int lrncl_runs(const bench_env *e, const case_state *cs, int pass, int warm, int runs, double *ms,
                      double *queue_ms) {
    for (int i = -warm; i < runs; i++) {
        size_t s = (size_t)(i + warm) % cs->nslots;
        double q0 = sched_wait_ms();
        cl_event start = NULL, end = NULL;
        double run_ms = 0.0;
        int good = cli_cl_ok(clEnqueueMarkerWithWaitList(e->q, 0, NULL, &start), "clEnqueueMarkerWithWaitList") &&
                   enqueue_lrncl(e, cs, pass, s, &end) && cli_cl_ok(clWaitForEvents(1, &end), "clWaitForEvents") &&
                   cli_event_ms(start, end, 0, &run_ms);
        if (end)
            clReleaseEvent(end);
        if (start)
            clReleaseEvent(start);
        if (!good)
            return 0;
        if (i >= 0) {
            ms[i] = run_ms;
            queue_ms[i] = sched_wait_ms() - q0;
        }
    }
    return 1;
}

/* Runs whose threads waited for a CPU more than a quarter of the run's own time. */
static int queued_runs(const double *ms, const double *queue_ms, int runs) {
    int n = 0;
    for (int i = 0; i < runs; i++)
        n += isfinite(queue_ms[i]) && queue_ms[i] > 0.25 * ms[i];
    return n;
}

/* Wall-clock oneDNN runs of one pass (execute + dnnl_stream_wait); fewer than `runs` where they
 * would take longer than peer_budget_s, as in the bench. Returns the runs timed, 0 on error. */
static int onednn_runs(const bench_env *e, const case_state *cs, int pass, int warm, int runs, double *ms) {
    double slowest_warm = 0;
    for (int i = 0; i < warm; i++) {
        double t0 = now_s();
        if (!onednn_run(e, cs, pass, (size_t)i % cs->nslots))
            return 0;
        double t = now_s() - t0;
        slowest_warm = t > slowest_warm ? t : slowest_warm;
    }
    int n = runs;
    if (slowest_warm * runs > peer_budget_s) {
        n = (int)(peer_budget_s / slowest_warm);
        n = n < PEER_MIN_RUNS ? (runs < PEER_MIN_RUNS ? runs : PEER_MIN_RUNS) : n;
    }
    for (int i = 0; i < n; i++) {
        double t0 = now_s();
        if (!onednn_run(e, cs, pass, (size_t)(i + warm) % cs->nslots))
            return 0;
        ms[i] = (now_s() - t0) * 1e3;
    }
    return n;
}

/* Lines on stdout for the parent: "device\t<title>", then per case and pass "row\t<case
 * index>\t<pass>\t<lrncl ms>\t<oneDNN ms or nan>\t<oneDNN runs>\t<failed checks>\t<lrncl's median
 * CPU wait ms or nan>\t<lrncl runs queued>". */
int outside_child(bench_env *e) {
    enum { WARM = 2 };
    int rc = BENCH_FAILED, failed = 0;
    double *ms = cli_alloc((size_t)e->opt.runs, sizeof *ms, "the timings");
    double *queue_ms = cli_alloc((size_t)e->opt.runs, sizeof *queue_ms, "the timings");
    if (!ms || !queue_ms)
        goto done;
    printf("device\t%s\n", e->device);
    for (int ci = 0; ci < BENCH_NCASES; ci++) {
        const bench_case *bc = &bench_cases[ci];
        if (e->opt.only_case && strcmp(e->opt.only_case, bc->name) != 0)
            continue;
        case_state cs;
        case_result r;
        memset(&cs, 0, sizeof cs);
        memset(&r, 0, sizeof r);
        fprintf(stderr, "bench: outside process %d: %s: setting up and checking\n", (int)getpid(), bc->name);
        int ok = case_setup(e, bc, (uint64_t)ci + 1, &cs, &r) && case_check(e, &cs, &r);
        for (int p = 0; ok && p < PASS_COUNT; p++) {
            double lr = NAN, dn = NAN, qm = NAN;
            int ndn = 0, nq = 0;
            ok = lrncl_runs(e, &cs, p, WARM, e->opt.runs, ms, queue_ms);
            if (ok) {
                nq = queued_runs(ms, queue_ms, e->opt.runs);
                qm = median(queue_ms, e->opt.runs);
                lr = median(ms, e->opt.runs);
            }
#ifdef LRNCL_BENCH_ONEDNN
            if (ok) {
                ndn = onednn_runs(e, &cs, p, WARM, e->opt.runs, ms);
                ok = ndn > 0;
                if (ok)
                    dn = median(ms, ndn);
            }
#endif
            if (ok)
                printf("row\t%d\t%d\t%.6f\t%.6f\t%d\t%d\t%.6f\t%d\n", ci, p, lr, dn, ndn, r.failed_checks, qm, nq);
            fflush(stdout);
        }
        if (!ok)
            report_error(bc->name);
        failed += !ok || r.failed_checks;
        case_release(&cs);
    }
    rc = failed ? BENCH_FAILED : BENCH_OK;
done:
    free(ms);
    free(queue_ms);
    return rc;
}

/* ---- the parent ------------------------------------------------------------------------------- */

typedef struct {
    double lrncl[OUTSIDE_MAX_PROCESSES], onednn[OUTSIDE_MAX_PROCESSES], queue_ms[OUTSIDE_MAX_PROCESSES];
    int onednn_runs[OUTSIDE_MAX_PROCESSES], queued[OUTSIDE_MAX_PROCESSES];
    int seen, failed_checks;
} outside_row;

/* Runs one child with stdout into a pipe; fills rows and device. Returns its exit status, or -1
 * when it could not be started or did not exit normally. */
static int run_child(const bench_env *e, const char *self, int proc, outside_row rows[BENCH_NCASES][PASS_COUNT],
                     char *device, size_t device_len) {
    int fds[2];
    if (pipe(fds) != 0) {
        cli_fail("pipe: %s", strerror(errno));
        return -1;
    }
    char runs[16], dev[48];
    snprintf(runs, sizeof runs, "%d", e->opt.runs);
    snprintf(dev, sizeof dev, "%u:%u", e->opt.platform, e->opt.device);
    const char *args[16];
    int n = 0;
    args[n++] = self;
    args[n++] = "--outside-child";
    args[n++] = "--runs";
    args[n++] = runs;
    args[n++] = "--layout";
    args[n++] = layout_name(e->opt.layout);
    args[n++] = "--dtype";
    args[n++] = dtype_name(e->opt.dtype);
    if (e->opt.only_case) {
        args[n++] = "--case";
        args[n++] = e->opt.only_case;
    }
    if (e->opt.has_device) {
        args[n++] = "--device";
        args[n++] = dev;
    }
    args[n] = NULL;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        cli_fail("fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        /* OpenMP reads its environment when it starts: set it before exec, so oneDNN's workers
         * sleep instead of spinning between calls, as in the outside harness. */
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
        execv(self, (char *const *)args);
        fprintf(stderr, "lrncl-bench: cannot run %s: %s\n", self, strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    FILE *in = fdopen(fds[0], "r");
    char line[1024];
    while (in && fgets(line, sizeof line, in)) {
        int ci, p, ndn, fc, nq;
        double lr, dn, qm;
        if (strncmp(line, "device\t", 7) == 0) {
            size_t n_ = strcspn(line + 7, "\n");
            n_ = n_ < device_len - 1 ? n_ : device_len - 1;
            memcpy(device, line + 7, n_);
            device[n_] = '\0';
        } else if (sscanf(line, "row\t%d\t%d\t%lf\t%lf\t%d\t%d\t%lf\t%d", &ci, &p, &lr, &dn, &ndn, &fc, &qm, &nq) ==
                       8 &&
                   ci >= 0 && ci < BENCH_NCASES && p >= 0 && p < PASS_COUNT) {
            outside_row *r = &rows[ci][p];
            r->lrncl[proc] = lr;
            r->onednn[proc] = dn;
            r->onednn_runs[proc] = ndn;
            r->queue_ms[proc] = qm;
            r->queued[proc] = nq;
            r->seen |= 1 << proc;
            r->failed_checks += fc;
        }
    }
    if (in)
        fclose(in);
    else
        close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Median and max/min of the processes' values (NAN when any is missing). */
static void summarise(const double *v, int n, double *med, double *spread) {
    double tmp[OUTSIDE_MAX_PROCESSES], lo = INFINITY, hi = 0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(v[i])) {
            *med = *spread = NAN;
            return;
        }
        tmp[i] = v[i];
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
    }
    *med = median(tmp, n);
    *spread = lo > 0 ? hi / lo : NAN;
}

static void list_text(const double *v, int n, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, isfinite(v[i]) ? "%s%.3f" : "%s-", i ? " " : "", v[i]);
}

/* Per row and process: lrncl's median CPU wait per run and [runs queued]: where the wait is
 * large, the kernel's time is not lrncl's own (bench_sched.c). */
static void print_cpu_waits(outside_row rows[BENCH_NCASES][PASS_COUNT], int np, int runs) {
    printf("\nCPU wait during lrncl's runs, per process: median ms per run that the process's threads were\n"
           "runnable but not running (Linux schedstat), [runs where it exceeded a quarter of the run's time,\n"
           "of %d]; PoCL's two workers then share one CPU (docs/performance.md)\n\n", runs);
    printf("%-15s %-9s %s\n", "case", "pass", "wait ms [queued runs] per process");
    for (int ci = 0; ci < BENCH_NCASES; ci++)
        for (int p = 0; p < PASS_COUNT; p++) {
            const outside_row *r = &rows[ci][p];
            if (!r->seen)
                continue;
            printf("%-15s %-9s", bench_cases[ci].name, pass_names[p]);
            for (int i = 0; i < np; i++) {
                if (!(r->seen & (1 << i)) || !isfinite(r->queue_ms[i]))
                    printf("  -");
                else
                    printf("  %.3f [%d]", r->queue_ms[i], r->queued[i]);
            }
            printf("\n");
        }
}

int outside_main(bench_env *e, int argc, char **argv) {
    static outside_row rows[BENCH_NCASES][PASS_COUNT];
    char self[4096], device[600] = "?";
    const int np = e->opt.processes;
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) {
        cli_fail("cannot find this program's own path to start its processes (/proc/self/exe)");
        return BENCH_FAILED;
    }
    self[len] = '\0';
    memset(rows, 0, sizeof rows);
    int failed_procs = 0;
    for (int p = 0; p < np; p++) {
        fprintf(stderr, "bench: outside method: process %d of %d\n", p + 1, np);
        int st = run_child(e, self, p, rows, device, sizeof device);
        if (st != 0) {
            failed_procs++;
            fprintf(stderr, "lrncl-bench: outside method: process %d of %d exited with status %d\n", p + 1, np, st);
        }
    }
    if (cli_error_pending())
        return BENCH_FAILED;

    char date[64] = "?";
    time_t t = time(NULL);
    struct tm *tm = gmtime(&t);
    if (tm)
        strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", tm);
    if (!e->opt.json) {
        printf("lrncl-bench --method outside\n");
        printf("device:   %s\n", device);
        printf("date:     %s\n", date);
        printf("command: ");
        for (int i = 0; i < argc; i++)
            printf(" %s", argv[i]);
        const char *aff = getenv("POCL_AFFINITY");
        printf("\nsetup:    layout %s, dtype %s; %d processes one after another, OMP_WAIT_POLICY=PASSIVE in each;\n"
               "          POCL_AFFINITY%s%s\n",
               layout_name(e->opt.layout), dtype_name(e->opt.dtype), np, aff ? "=" : " unset", aff ? aff : "");
        printf("method:   per process and pass: lrncl median of %d runs (profiling events), then oneDNN median\n"
               "          of %d runs (wall clock around execute + dnnl_stream_wait), both rotating through\n"
               "          buffer sets of > 64 MiB after 2 untimed runs; no interleaving, no idle wait\n",
               e->opt.runs, e->opt.runs);
        printf("spread:   slowest process / fastest; x oneDNN = median of lrncl's process medians / median\n"
               "          of oneDNN's (per-process ratios in brackets)\n\n");
        printf("%-15s %-9s %-23s %7s %6s  %-23s %7s %6s  %8s %s\n", "case", "pass", "lrncl ms per process", "median",
               "spread", "oneDNN ms per process", "median", "spread", "x oneDNN", "(per process)");
    } else {
        printf("[\n");
    }
    int nrows = 0, bad = 0;
    for (int ci = 0; ci < BENCH_NCASES; ci++)
        for (int p = 0; p < PASS_COUNT; p++) {
            outside_row *r = &rows[ci][p];
            if (!r->seen)
                continue;
            if (r->seen != (1 << np) - 1)
                for (int i = 0; i < np; i++)
                    if (!(r->seen & (1 << i)))
                        r->lrncl[i] = r->onednn[i] = NAN;
            double lm, ls, dm, ds, ratios[OUTSIDE_MAX_PROCESSES], rlo = INFINITY, rhi = 0;
            summarise(r->lrncl, np, &lm, &ls);
            summarise(r->onednn, np, &dm, &ds);
            for (int i = 0; i < np; i++) {
                ratios[i] = isfinite(r->lrncl[i]) && isfinite(r->onednn[i]) && r->onednn[i] > 0
                                ? r->lrncl[i] / r->onednn[i] : NAN;
                if (isfinite(ratios[i])) {
                    rlo = ratios[i] < rlo ? ratios[i] : rlo;
                    rhi = ratios[i] > rhi ? ratios[i] : rhi;
                }
            }
            double x = isfinite(lm) && isfinite(dm) && dm > 0 ? lm / dm : NAN;
            bad += r->failed_checks > 0;
            if (e->opt.json) {
                printf("%s  {\"method\": \"outside\", \"case\": ", nrows++ ? ",\n" : "");
                json_string(bench_cases[ci].name);
                printf(", \"pass\": \"%s\", \"layout\": \"%s\", \"dtype\": \"%s\", \"processes\": %d, \"runs\": %d",
                       pass_names[p], layout_name(e->opt.layout), dtype_name(e->opt.dtype), np, e->opt.runs);
                printf(", \"lrncl_ms\": [");
                for (int i = 0; i < np; i++)
                    printf(isfinite(r->lrncl[i]) ? "%s%.6g" : "%snull", i ? ", " : "", r->lrncl[i]);
                printf("], \"onednn_ms\": [");
                for (int i = 0; i < np; i++)
                    printf(isfinite(r->onednn[i]) ? "%s%.6g" : "%snull", i ? ", " : "", r->onednn[i]);
                printf("], \"lrncl_cpu_wait_ms\": [");
                for (int i = 0; i < np; i++)
                    printf(isfinite(r->queue_ms[i]) ? "%s%.6g" : "%snull", i ? ", " : "", r->queue_ms[i]);
                printf("], \"lrncl_queued_runs\": [");
                for (int i = 0; i < np; i++)
                    printf("%s%d", i ? ", " : "", (r->seen & (1 << i)) ? r->queued[i] : 0);
                printf("]");
                json_number("lrncl_median_ms", lm);
                json_number("lrncl_spread", ls);
                json_number("onednn_median_ms", dm);
                json_number("onednn_spread", ds);
                json_number("ratio_onednn", x);
                printf(", \"device\": ");
                json_string(device);
                printf(", \"check\": \"%s\"}", r->failed_checks ? "FAIL" : "ok");
            } else {
                char l[64], d[64], xs[24], rr[48];
                list_text(r->lrncl, np, l, sizeof l);
                list_text(r->onednn, np, d, sizeof d);
                snprintf(xs, sizeof xs, isfinite(x) ? "%.2f" : "-", x);
                snprintf(rr, sizeof rr, isfinite(rlo) ? "(%.2f-%.2f)" : "", rlo, rhi);
                printf("%-15s %-9s %-23s %7.3f %6.2f  %-23s %7.3f %6.2f  %8s %s%s\n", bench_cases[ci].name,
                       pass_names[p], l, lm, ls, d, dm, ds, xs, rr, r->failed_checks ? " check FAILED" : "");
            }
        }
    if (e->opt.json)
        printf("\n]\n");
    else
        print_cpu_waits(rows, np, e->opt.runs);
    fflush(stdout);
    if (failed_procs || bad) {
        cli_fail("outside method: %d of %d processes failed, %d rows failed their checks", failed_procs, np, bad);
        return BENCH_FAILED;
    }
    return BENCH_OK;
}
