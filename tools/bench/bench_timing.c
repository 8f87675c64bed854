/* bench_timing.c: clocks, medians, and the interleaved timing of one pass.
 *
 * One run is enqueued after a marker on a profiling queue and finished before the next; its
 * time runs from the marker's end to the end of the run's last command (lrncl may enqueue
 * several kernels). lrncl, copy and naive runs are interleaved run by run, and oneDNN's
 * (clock_gettime around execute + wait) alternate with them in blocks of a few rounds, so that
 * drift on a noisy machine hits every contender alike; each block first waits until the other
 * side's threads are idle, so oneDNN's OpenMP threads, which spin for 8-10 ms after each call,
 * never compete with a timed OpenCL run, and opens with an untimed run (see time_pass). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, CLOCK_MONOTONIC, nanosleep */

#include "bench.h"
#include "cli_common.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>


double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof v[0], cli_compare_double);
    return (v[(n - 1) / 2] + v[n / 2]) / 2;
}

double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Waits until no thread of this process is running: at most QUIET_MAX_MS, in steps of
 * QUIET_STEP_MS, until a step adds under a fifth of a core's time to the process (Linux updates
 * other threads' CPU time at scheduler ticks, so a step spans a few). oneDNN's OpenMP workers spin
 * for a while after each call (libgomp 8-10 ms on this kind of machine, LLVM's libomp 200 ms by
 * default), and a spinning worker holds a core that the next side's runs need: on 2 cores, the
 * first OpenCL runs after each oneDNN block ran beside it (seen as a busy first step after every
 * block). */
enum { QUIET_MAX_MS = 300, QUIET_STEP_MS = 10 };
static void wait_quiet(void) {
    for (int i = 0; i < QUIET_MAX_MS / QUIET_STEP_MS; i++) {
        struct timespec c0, c1, step = {0, QUIET_STEP_MS * 1000000L};
        double w0 = now_s();
        if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0) != 0)
            break;
        nanosleep(&step, NULL);
        if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1) != 0)
            break;
        double busy = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) * 1e-9;
        if (busy < 0.2 * (now_s() - w0))
            break;
    }
}

/* Timed runs for a peer of which one run takes run_s seconds. */
static int peer_runs(int runs, double run_s) {
    if (!(run_s * runs > peer_budget_s))
        return runs;
    int n = (int)(peer_budget_s / run_s);
    return n < PEER_MIN_RUNS ? (runs < PEER_MIN_RUNS ? runs : PEER_MIN_RUNS) : n;
}

/* One round: each OpenCL contender that active[] names runs once on slot s; ms[op] its time. */
static int opencl_round(const bench_env *e, const case_state *cs, int pass, const int active[OP_COUNT], size_t s,
                        double ms[OP_COUNT]) {
    for (int op = 0; op < OP_COUNT; op++) {
        if (!active[op])
            continue;
        cl_event start = NULL, end = NULL;
        int good = cli_cl_ok(clEnqueueMarkerWithWaitList(e->q, 0, NULL, &start), "clEnqueueMarkerWithWaitList") &&
                   enqueue_op(e, cs, op, pass, s, &end) && cli_cl_ok(clFinish(e->q), "clFinish") &&
                   cli_event_ms(start, end, 0, &ms[op]);
        if (end)
            clReleaseEvent(end);
        if (start)
            clReleaseEvent(start);
        if (!good)
            return 0;
    }
    return 1;
}

/* One timed oneDNN run of the pass on slot s, in ms (wall clock around execute + wait). */
static int onednn_round(const bench_env *e, const case_state *cs, int pass, size_t s, double *ms) {
#ifdef LRNCL_BENCH_ONEDNN
    double t0 = now_s();
    if (!onednn_run(e, cs, pass, s))
        return 0;
    *ms = (now_s() - t0) * 1e3;
    return 1;
#else
    (void)e, (void)cs, (void)pass, (void)s, (void)ms;
    return 0;
#endif
}

/* Times one pass: the OpenCL contenders that active[] names, interleaved run by run, and (with
 * with_onednn) oneDNN, in alternating blocks of TIME_BLOCK rounds, so that a noisy machine's
 * drift hits all of them alike. Each block waits until the other side's threads are idle
 * (wait_quiet: oneDNN's OpenMP threads spin for a while after each call), and each block after
 * the first starts with an untimed run of the side whose turn it is. WARM_UP_ROUNDS untimed
 * rounds first; then opt.runs timed rounds (fewer for a slow peer, see peer_budget_s), all
 * rotating through the slots. (Setup has
 * written every buffer already, so no page is touched for the first time here.) Medians and
 * the runs behind them in med/nruns, oneDNN's in dn_med and dn_runs. */
enum { TIME_BLOCK = 5 };
int time_pass(const bench_env *e, const case_state *cs, int pass, const int active[OP_COUNT],
                     int with_onednn, double med[OP_COUNT], int nruns[OP_COUNT], double *dn_med, int *dn_runs) {
    const int runs = e->opt.runs, nblocks = (runs + TIME_BLOCK - 1) / TIME_BLOCK;
    double *samples = cli_alloc((size_t)(OP_COUNT + 1) * (size_t)runs, sizeof *samples, "the timings");
    double *dn_samples = samples ? samples + (size_t)OP_COUNT * runs : NULL;
    double warm_ms[OP_COUNT], dn_warm_ms = INFINITY, ms[OP_COUNT];
    const int lrncl_only[OP_COUNT] = {1, 0, 0};
    int ok = 0, ndn = 0;
    if (!samples)
        return 0;
    for (int op = 0; op < OP_COUNT; op++)
        warm_ms[op] = INFINITY;
    for (int r = 0; r < WARM_UP_ROUNDS; r++) {
        TRY(opencl_round(e, cs, pass, active, (size_t)r % cs->nslots, ms));
        for (int op = 0; op < OP_COUNT; op++)
            if (active[op] && ms[op] < warm_ms[op])
                warm_ms[op] = ms[op];
        if (with_onednn) {
            double t;
            TRY(onednn_round(e, cs, pass, (size_t)r % cs->nslots, &t));
            dn_warm_ms = t < dn_warm_ms ? t : dn_warm_ms;
        }
    }
    for (int op = 0; op < OP_COUNT; op++)
        nruns[op] = !active[op] ? 0 : op == OP_NAIVE ? peer_runs(runs, warm_ms[op] * 1e-3) : runs;
    ndn = with_onednn ? peer_runs(runs, dn_warm_ms * 1e-3) : 0;
    for (int b = 0; b < nblocks; b++) {
        const int r0 = b * TIME_BLOCK, r1 = r0 + TIME_BLOCK < runs ? r0 + TIME_BLOCK : runs;
        if (with_onednn)
            wait_quiet();
        if (b > 0)
            TRY(opencl_round(e, cs, pass, lrncl_only, (size_t)(r0 + WARM_UP_ROUNDS) % cs->nslots, ms));
        for (int r = r0; r < r1; r++) {
            int now[OP_COUNT];
            for (int op = 0; op < OP_COUNT; op++)
                now[op] = r < nruns[op];
            TRY(opencl_round(e, cs, pass, now, (size_t)(r + WARM_UP_ROUNDS) % cs->nslots, ms));
            for (int op = 0; op < OP_COUNT; op++)
                if (now[op])
                    samples[op * runs + r] = ms[op];
        }
        /* oneDNN's share of its runs, spread over the blocks; the settling run only where a
         * run is short enough not to matter */
        const int j0 = (int)((long)b * ndn / nblocks), j1 = (int)((long)(b + 1) * ndn / nblocks);
        double settle_ms;
        if (j1 > j0)
            wait_quiet();
        if (j1 > j0 && b > 0 && dn_warm_ms < 50.0)
            TRY(onednn_round(e, cs, pass, (size_t)(j0 + WARM_UP_ROUNDS) % cs->nslots, &settle_ms));
        for (int j = j0; j < j1; j++)
            TRY(onednn_round(e, cs, pass, (size_t)(j + WARM_UP_ROUNDS) % cs->nslots, &dn_samples[j]));
    }
    for (int op = 0; op < OP_COUNT; op++)
        med[op] = active[op] ? median(&samples[op * runs], nruns[op]) : NAN;
    if (dn_med)
        *dn_med = ndn ? median(dn_samples, ndn) : NAN;
    if (dn_runs)
        *dn_runs = ndn;
    ok = 1;
done:
    free(samples);
    return ok;
}
