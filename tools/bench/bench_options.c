/* bench_options.c: the command line of lrncl-bench and `lrncl tune`, and their error lines. */
#include "bench.h"
#include "cli_common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The command, for messages ("lrncl-bench" or "lrncl tune"), and the program that prints
 * errors ("lrncl-bench" or "lrncl"). */
static const char *g_prog = "lrncl-bench", *g_err_prog = "lrncl-bench";

void report_error(const char *prefix) {
    fflush(stdout);
    fprintf(stderr, "%s: %s%s%s\n", g_err_prog, prefix ? prefix : "", prefix ? ": " : "", cli_error_text());
    cli_error_reset();
}

int parse_options(int is_tune, int argc, char **argv, int first, bench_options *o) {
    memset(o, 0, sizeof *o);
    o->runs = MIN_REPORT_RUNS;
    o->layout = LRNCL_LAYOUT_NCHW;
    o->dtype = LRNCL_FLOAT32;
    int seen_runs = 0, seen_layout = 0, seen_dtype = 0, seen_method = 0, seen_processes = 0;
    for (int i = first; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return BENCH_HELP;
        if (strcmp(arg, "--json") == 0) {
            o->json = 1;
            continue;
        }
        if (!is_tune && strcmp(arg, "--outside-child") == 0) {
            o->outside_child = 1;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0) {
            cli_fail("unexpected argument '%s' (see %s --help)", arg, g_prog);
            return BENCH_USAGE;
        }
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        static const char *const names[] = {"case", "runs", "layout", "dtype", "device", "db", "method",
                                             "processes"};
        int which = 0;
        while (which < 8 && !(strlen(names[which]) == len && strncmp(names[which], name, len) == 0))
            which++;
        /* --db is lrncl tune's; --method and --processes are lrncl-bench's */
        if (which == 8 || (which == 5 && !is_tune) || (which >= 6 && is_tune)) {
            cli_fail("unknown option '%.*s' for %s (see %s --help)", (int)len + 2, arg, g_prog, g_prog);
            return BENCH_USAGE;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
        if (!v || !*v || (!eq && strncmp(v, "--", 2) == 0)) {
            cli_fail("--%s needs a value", names[which]);
            return BENCH_USAGE;
        }
        if (!eq)
            i++;
        int *seen = which == 1   ? &seen_runs
                    : which == 2 ? &seen_layout
                    : which == 3 ? &seen_dtype
                    : which == 6 ? &seen_method
                    : which == 7 ? &seen_processes
                                 : NULL;
        if ((which == 0 && o->only_case) || (which == 4 && o->has_device) || (which == 5 && o->db_path) ||
            (seen && *seen)) {
            cli_fail("--%s given twice", names[which]);
            return BENCH_USAGE;
        }
        if (seen)
            *seen = 1;
        switch (which) {
        case 0: {
            int k = 0;
            while (k < BENCH_NCASES && strcmp(v, bench_cases[k].name) != 0)
                k++;
            if (k == BENCH_NCASES) {
                cli_fail("unknown --case '%s' (expected alexnet-norm1, alexnet-norm2, googlenet, within-small or "
                     "within-alexnet)", v);
                return BENCH_USAGE;
            }
            o->only_case = bench_cases[k].name;
            break;
        }
        case 1: {
            char *end;
            errno = 0;
            long r = strtol(v, &end, 10);
            if (*end || errno || r < 1 || r > 100000) {
                cli_fail("--runs: '%s' is not a count from 1 to 100000", v);
                return BENCH_USAGE;
            }
            o->runs = (int)r;
            break;
        }
        case 2:
            if (strcmp(v, "nchw") == 0)
                o->layout = LRNCL_LAYOUT_NCHW;
            else if (strcmp(v, "nhwc") == 0)
                o->layout = LRNCL_LAYOUT_NHWC;
            else {
                cli_fail("unknown --layout '%s' (expected nchw or nhwc)", v);
                return BENCH_USAGE;
            }
            break;
        case 3:
            if (strcmp(v, "f32") == 0)
                o->dtype = LRNCL_FLOAT32;
            else if (strcmp(v, "f16") == 0)
                o->dtype = LRNCL_FLOAT16;
            else {
                cli_fail("unknown --dtype '%s' (expected f32 or f16)", v);
                return BENCH_USAGE;
            }
            break;
        case 5:
            o->db_path = v;
            break;
        case 6:
            if (strcmp(v, "outside") == 0)
                o->outside = 1;
            else if (strcmp(v, "bench") != 0) {
                cli_fail("unknown --method '%s' (expected bench or outside)", v);
                return BENCH_USAGE;
            }
            break;
        case 7: {
            char *end;
            errno = 0;
            long n = strtol(v, &end, 10);
            if (*end || errno || n < 1 || n > OUTSIDE_MAX_PROCESSES) {
                cli_fail("--processes: '%s' is not a count from 1 to %d", v, (int)OUTSIDE_MAX_PROCESSES);
                return BENCH_USAGE;
            }
            o->processes = (int)n;
            break;
        }
        default:
            if (!cli_parse_device_pair(v, &o->platform, &o->device)) {
                cli_fail("--device: '%s' is not of the form P:D (e.g. 0:0)", v);
                return BENCH_USAGE;
            }
            o->has_device = 1;
            break;
        }
    }
    o->runs_given = seen_runs;
    if (o->processes && !o->outside) {
        cli_fail("--processes needs --method outside");
        return BENCH_USAGE;
    }
    if (o->outside || o->outside_child) {
        if (!o->processes)
            o->processes = OUTSIDE_PROCESSES;
        if (!seen_runs)
            o->runs = OUTSIDE_RUNS;
    }
    return BENCH_OK;
}

int start_command(const char *prog, int is_tune, int argc, char **argv, int first, bench_env *e,
                  const char *usage, int json_ok, int *status) {
    g_prog = prog;
    g_err_prog = is_tune ? "lrncl" : "lrncl-bench";
    memset(e, 0, sizeof *e);
    int rc = parse_options(is_tune, argc, argv, first, &e->opt);
    if (rc == BENCH_HELP) {
        fputs(usage, stdout);
        *status = BENCH_OK;
        return 0;
    }
    if (rc == BENCH_OK && e->opt.json && !json_ok) {
        cli_fail("%s has no --json", g_prog);
        rc = BENCH_USAGE;
    }
    if (rc != BENCH_OK) {
        report_error(NULL);
        *status = BENCH_USAGE;
        return 0;
    }
    return 1;
}
