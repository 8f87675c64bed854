/* tune_problem.h: `lrncl tune --shape NxCxHxW` with the problem flags of `lrncl forward`. */
#ifndef LRNCL_TUNE_PROBLEM_H
#define LRNCL_TUNE_PROBLEM_H

#include "bench.h"
#include "cli_options.h"

typedef struct {
    int has;           /* --shape was given */
    lrncl_desc desc;   /* the problem: mode, window, parameters, convention, shape */
    bench_case bc;     /* the same as a case of the suite, named by its shape */
    char name[96];
} tune_problem;

/* Takes --shape and the problem flags (--mode, --size, --alpha, --beta, --k, --convention) out
 * of argv[first..]; argv[0..first-1] and every other argument (the bench's options, --help) go
 * to rest_argv (room for argc + 1 pointers, NULL-terminated; *rest_argc set). With --shape,
 * *tp describes the problem (tp->has = 1); problem flags without --shape are an error.
 * Returns CLI_OK, or CLI_USAGE / CLI_FAILED with the reason recorded (cli_fail). */
int tune_split_problem(int argc, char **argv, int first, int *rest_argc, char **rest_argv, tune_problem *tp);

#endif /* LRNCL_TUNE_PROBLEM_H */
