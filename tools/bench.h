/* bench.h: `lrncl bench`, the performance suite of SPEC section 7 (tools/bench.c). */
#ifndef LRNCL_BENCH_H
#define LRNCL_BENCH_H

#ifdef __cplusplus
extern "C" {
#endif

/* Runs `lrncl bench` with the whole command line (argv[1] is "bench"; argv[0] and the rest are
 * echoed in the report). Prints the table (or, with --json, a JSON array) on stdout, progress
 * and at most one line per failure ("lrncl: ...") on stderr. Returns the process exit status:
 * 0 when every case ran and passed its checks, 1 when one did not, 2 for a bad command line. */
int bench_main(int argc, char **argv);

/* Runs `lrncl tune` (argv[1] is "tune"): times every launch tuning of the bench's cases, prints
 * the plan's own and the fastest, and stores the fastest in the --db file. Same exit statuses. */
int tune_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif /* LRNCL_BENCH_H */
