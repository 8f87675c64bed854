/* tune.c: `lrncl tune`: times every launch tuning of the bench's cases (or one), checks that
 * each gives the plan's own bits, and stores the fastest in a tuning database file. */
#include "bench.h"
#include "cli_common.h"

#include "cli_commands.h"
#include "cli_outputs.h"
#include "tune_problem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char tune_usage[] =
    "usage: lrncl tune [--case NAME | --shape NxCxHxW [params]] [--runs N] [--layout nchw|nhwc]\n"
    "                  [--dtype f32|f16] [--device P:D] [--db FILE]\n"
    "\n"
    "For each case of lrncl-bench (or one: --case), or for one problem of your own (--shape and\n"
    "the same params as lrncl forward: --mode, --size, --alpha, --beta, --k, --convention),\n"
    "times the forward (inference and training) and backward kernels\n"
    "under every work-group size (8..256) and slide block (channels across, rows within) the\n"
    "device can launch: the median of N event-timed runs after warm-up (default 20). Every\n"
    "candidate's output must equal the plan's own tuning bit for bit (exit 1 otherwise). The\n"
    "fastest is then timed against the plan's own tuning, alternately, 5 times each, and kept\n"
    "only if its median still wins. Prints both (own ms, best ms: those medians), and with --db\n"
    "(default: $LRNCL_TUNING_DB) stores the winner there, replacing entries with the same key;\n"
    "plans read that file when LRNCL_TUNING_DB names it. Entries are keyed by platform and\n"
    "device (\"PLATFORM / DEVICE\", as lrncl devices prints them: one CPU wants other tuning\n"
    "under PoCL than under Intel's runtime), mode, pass, dtype, layout, shape and window:\n"
    "alpha, beta and k do not change the key. Entries keyed by the device name alone (as\n"
    "lrncl 0.2.0 wrote them) still apply, after those with the platform.\n"
    "\n"
    "params (the convention's meaning; defaults are Caffe's: across, 5, 1, 0.75, 1):\n"
    "  --mode across|within  --size N  --alpha A  --beta B  --k K\n"
    "  --convention caffe|pytorch|onnx|tensorflow|cudnn|miopen|onednn\n"
    "  (as in lrncl forward --help)\n";

enum { TUNE_KINDS = 3, TUNE_MAX_ENTRIES = TUNE_KINDS * BENCH_NCASES, TUNE_CONFIRM = 5 };

typedef struct {
    char key[512];
    lrncl_tuning t;
} tune_entry;

/* Median time of one pass of lrncl alone under tuning t (already set on the plan). */
static int tune_time(const bench_env *e, const case_state *cs, int pass, double *ms) {
    const int active[OP_COUNT] = {1, 0, 0};
    double med[OP_COUNT];
    int nruns[OP_COUNT];
    if (!time_pass(e, cs, pass, active, 0, med, nruns, NULL, NULL))
        return 0;
    *ms = med[OP_LRNCL];
    return 1;
}

/* Bytes tune_output reads for a pass: its output, and the scale for training. */
static size_t tune_output_bytes(const case_state *cs, int pass) {
    return cs->tensor_bytes + (pass == PASS_TRAIN ? cs->scale_bytes : 0);
}

/* Runs the pass once on slot 0 (its outputs poisoned first) and reads the outputs' bytes. */
static int tune_output(const bench_env *e, const case_state *cs, int pass, unsigned char *out) {
    int b = pass == PASS_BACKWARD ? BUF_DX : BUF_Y;
    int ok = fill(e, MEM(cs, 0, b), nan_pattern(cs->esize), round4(cs->tensor_bytes));
    if (ok && pass == PASS_TRAIN)
        ok = fill(e, MEM(cs, 0, BUF_SCALE), nan_pattern(sizeof(float)), cs->scale_bytes);
    ok = ok && enqueue_lrncl(e, cs, pass, 0, NULL) &&
         cli_cl_ok(clEnqueueReadBuffer(e->q, MEM(cs, 0, b), CL_TRUE, 0, cs->tensor_bytes, out, 0, NULL, NULL),
                   "clEnqueueReadBuffer");
    if (ok && pass == PASS_TRAIN)
        ok = cli_cl_ok(clEnqueueReadBuffer(e->q, MEM(cs, 0, BUF_SCALE), CL_TRUE, 0, cs->scale_bytes,
                                           out + cs->tensor_bytes, 0, NULL, NULL), "clEnqueueReadBuffer");
    return ok;
}

/* Tunes one kernel of the case; the best tuning stays set on the plan and goes into *entry. */
static int tune_kernel(const bench_env *e, case_state *cs, lrncl_kernel_kind kind, tune_entry *entry) {
    const int pass = kind == LRNCL_KERNEL_BACKWARD           ? PASS_BACKWARD
                     : kind == LRNCL_KERNEL_FORWARD_TRAINING ? PASS_TRAIN
                                                             : PASS_INFER;
    const size_t out_bytes = tune_output_bytes(cs, pass);
    const size_t extent = cs->desc.mode == LRNCL_ACROSS_CHANNELS ? cs->desc.c : cs->desc.h;
    static const size_t locals[] = {8, 16, 32, 64, 128, 256};
    static const size_t blocks[] = {2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192};
    unsigned char *want = NULL, *got = NULL;
    int ok = 0, tried = 0;
    lrncl_tuning own, best;
    double own_ms, best_ms;

    TRY((want = cli_alloc(out_bytes, 1, "the output")) && (got = cli_alloc(out_bytes, 1, "the output")));
    TRY(cli_lr_ok(lrncl_plan_get_tuning(cs->plan, kind, &own), "lrncl_plan_get_tuning"));
    TRY(tune_output(e, cs, pass, want) && tune_time(e, cs, pass, &own_ms));
    best = own;
    best_ms = own_ms;
    for (size_t li = 0; li < sizeof locals / sizeof locals[0]; li++)
        for (size_t bi = 0; bi <= sizeof blocks / sizeof blocks[0]; bi++) {
            /* the whole axis first, then the blocks shorter than it */
            lrncl_tuning t = {locals[li], bi == 0 ? extent : blocks[bi - 1]};
            if (bi > 0 && t.slide_block >= extent)
                continue;
            if (lrncl_plan_set_tuning(cs->plan, kind, &t) != LRNCL_SUCCESS)
                continue; /* beyond this device's limits, or no blocks on this path */
            double ms;
            TRY(tune_output(e, cs, pass, got));
            if (memcmp(want, got, out_bytes) != 0) {
                cli_fail("%s %s: local %zu, block %zu changes the output (it must not)", cs->bc->name,
                         pass_names[pass], t.local_size, t.slide_block);
                goto done;
            }
            TRY(tune_time(e, cs, pass, &ms));
            tried++;
            if (ms < best_ms) {
                best_ms = ms;
                best = t;
            }
        }
    /* The sweep's first measurement runs cold and the machine drifts: the plan's own tuning and
     * the sweep's fastest are timed again, alternately, and the fastest is kept only if it still
     * wins (the medians of TUNE_CONFIRM alternating measurements). */
    double own_r[TUNE_CONFIRM], best_r[TUNE_CONFIRM];
    for (int r = 0; r < TUNE_CONFIRM; r++) {
        TRY(cli_lr_ok(lrncl_plan_set_tuning(cs->plan, kind, &own), "lrncl_plan_set_tuning") &&
            tune_time(e, cs, pass, &own_r[r]));
        TRY(cli_lr_ok(lrncl_plan_set_tuning(cs->plan, kind, &best), "lrncl_plan_set_tuning") &&
            tune_time(e, cs, pass, &best_r[r]));
    }
    own_ms = median(own_r, TUNE_CONFIRM);
    best_ms = median(best_r, TUNE_CONFIRM);
    if (!(best_ms < own_ms)) {
        best = own;
        best_ms = own_ms;
    }
    TRY(cli_lr_ok(lrncl_plan_set_tuning(cs->plan, kind, &best), "lrncl_plan_set_tuning"));
    lrncl_plan_tuning_key(cs->plan, kind, entry->key, sizeof entry->key);
    entry->t = best;
    printf("%-15s %-9s %5zu %6zu %9.4f   %5zu %6zu %9.4f   %6.2fx %5d\n", cs->bc->name, pass_names[pass],
           own.local_size, own.slide_block, own_ms, best.local_size, best.slide_block, best_ms, own_ms / best_ms, tried);
    fflush(stdout);
    ok = 1;
done:
    free(got);
    free(want);
    return ok;
}

/* Whether a database line holds one of the keys (its first seven tab-separated fields). */
static int line_has_key(const char *line, const tune_entry *entries, int n) {
    for (int i = 0; i < n; i++) {
        size_t klen = strlen(entries[i].key);
        if (strncmp(line, entries[i].key, klen) == 0 && line[klen] == '\t')
            return 1;
    }
    return 0;
}

/* Rewrites the database: its other lines kept, then the new entries; through a new temporary
 * file beside it (mkstemp: concurrent tunes never share one, a link planted at a fixed name is
 * never followed) renamed over it, so a failure leaves the old file whole. A symbolic link is
 * written through; the file's mode is kept (cli_outputs.c). */
static int write_db(const char *path, const tune_entry *entries, int n) {
    cli_replace r;
    if (!cli_replace_open(&r, "--db", path))
        return 0;
    FILE *in = r.existed ? fopen(r.target, "r") : NULL;
    if (r.existed && !in) {
        cli_fail("--db %s: cannot read it: %s", path, strerror(errno));
        cli_replace_discard(&r);
        return 0;
    }
    if (in) {
        char line[1024];
        while (fgets(line, sizeof line, in))
            if (!line_has_key(line, entries, n))
                fputs(line, r.f);
        int bad = ferror(in);
        fclose(in);
        if (bad) {
            cli_fail("--db %s: read failed", path);
            cli_replace_discard(&r);
            return 0;
        }
    } else {
        fputs("# lrncl tuning database (lrncl tune); tab-separated: platform / device, mode, pass, dtype,\n"
              "# layout, NxCxHxW, lo:hi, local size, slide block\n", r.f);
    }
    for (int i = 0; i < n; i++)
        fprintf(r.f, "%s\t%zu\t%zu\n", entries[i].key, entries[i].t.local_size, entries[i].t.slide_block);
    return cli_replace_commit(&r);
}

int tune_main(int argc, char **argv) {
    bench_env e;
    int rc, rest_argc = 0;
    tune_problem tp;
    char **rest_argv = calloc((size_t)argc + 1, sizeof *rest_argv);
    if (!rest_argv) {
        fprintf(stderr, "lrncl: out of host memory\n");
        return BENCH_FAILED;
    }
    rc = tune_split_problem(argc, argv, 2, &rest_argc, rest_argv, &tp);
    if (rc != CLI_OK) {
        fflush(stdout);
        fprintf(stderr, "lrncl: %s\n", cli_error_text());
        free(rest_argv);
        return rc;
    }
    int go = start_command("lrncl tune", 1, rest_argc, rest_argv, 2, &e, tune_usage, 0, &rc);
    free(rest_argv);
    if (!go)
        return rc;
    if (tp.has && e.opt.only_case) {
        fprintf(stderr, "lrncl: --case and --shape exclude each other (tune one of the bench's cases, or "
                        "your own problem)\n");
        return BENCH_USAGE;
    }
    const bench_case *cases = tp.has ? &tp.bc : bench_cases;
    const int ncases = tp.has ? 1 : BENCH_NCASES;
    e.opt.problem = tp.has ? &tp.desc : NULL;
    const char *db = e.opt.db_path ? e.opt.db_path : getenv("LRNCL_TUNING_DB");
    tune_entry entries[TUNE_MAX_ENTRIES];
    int nentries = 0;
    double t0 = now_s();
    rc = BENCH_FAILED;
    TRY(env_open(&e));
    printf("lrncl tune on %s; %s %s; median of %d runs per candidate\n\n", e.device, layout_name(e.opt.layout),
           dtype_name(e.opt.dtype), e.opt.runs);
    printf("%-15s %-9s %5s %6s %9s   %5s %6s %9s   %7s %5s\n", "case", "pass", "local", "block", "own ms", "local",
           "block", "best ms", "gain", "tried");
    for (int i = 0; i < ncases; i++) {
        if (e.opt.only_case && strcmp(e.opt.only_case, cases[i].name) != 0)
            continue;
        case_state cs;
        case_result r;
        memset(&cs, 0, sizeof cs);
        memset(&r, 0, sizeof r);
        fprintf(stderr, "tune: %s ...\n", cases[i].name);
        int good = case_setup(&e, &cases[i], (uint64_t)i + 1, &cs, &r);
        /* The tuning database's key has no device class: entries measured on the FPGA kernels
         * would be read by the CPU kernels' plans of the same device and shape. */
        if (good && strcmp(lrncl_plan_device_class(cs.plan), "fpga") == 0) {
            cli_fail("the FPGA kernels (LRNCL_DEVICE_CLASS=fpga, or an accelerator device) run as one "
                     "work-item and have no launch tuning to measure");
            good = 0;
        }
        /* every slot's scale, for the backward runs */
        for (size_t s = 0; good && s < cs.nslots; s++)
            good = enqueue_lrncl(&e, &cs, PASS_TRAIN, s, NULL);
        /* Setting the forward tuning sets training's too: training's own is put back before its
         * turn, so both start from the plan's. */
        lrncl_tuning train_own = {0, 0};
        good = good && cli_cl_ok(clFinish(e.q), "clFinish") &&
               cli_lr_ok(lrncl_plan_get_tuning(cs.plan, LRNCL_KERNEL_FORWARD_TRAINING, &train_own),
                         "lrncl_plan_get_tuning") &&
               tune_kernel(&e, &cs, LRNCL_KERNEL_FORWARD, &entries[nentries]) &&
               cli_lr_ok(lrncl_plan_set_tuning(cs.plan, LRNCL_KERNEL_FORWARD_TRAINING, &train_own),
                         "lrncl_plan_set_tuning") &&
               tune_kernel(&e, &cs, LRNCL_KERNEL_FORWARD_TRAINING, &entries[nentries + 1]) &&
               tune_kernel(&e, &cs, LRNCL_KERNEL_BACKWARD, &entries[nentries + 2]);
        case_release(&cs);
        TRY(good);
        nentries += TUNE_KINDS;
    }
    if (db) {
        TRY(write_db(db, entries, nentries));
        printf("\n%d entries written to %s\n", nentries, db);
    } else {
        printf("\nnot stored: give --db FILE (or set LRNCL_TUNING_DB)\n");
    }
    fflush(stdout);
    fprintf(stderr, "tune: done in %.1f s\n", now_s() - t0);
    rc = BENCH_OK;
done:
    if (cli_error_pending())
        report_error(NULL);
    env_close(&e);
    return rc;
}
