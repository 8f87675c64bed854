/* tune_problem.c: `lrncl tune --shape NxCxHxW [problem flags]`: one problem of the user's, with
 * the same problem flags as `lrncl forward` (cli_options.c), in place of the bench's cases. */
#include "tune_problem.h"

#include "cli_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether argv[i] is one of the problem flags ("--name" or "--name=value"); its option. */
static int problem_flag(const char *arg, int *opt) {
    static const int opts[] = {OPT_MODE, OPT_SIZE, OPT_ALPHA, OPT_BETA, OPT_K, OPT_CONVENTION};
    if (strncmp(arg, "--", 2) != 0)
        return 0;
    const char *name = arg + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        if (strlen(cli_opt_names[opts[i]]) == len && strncmp(cli_opt_names[opts[i]], name, len) == 0) {
            *opt = opts[i];
            return 1;
        }
    return 0;
}

int tune_split_problem(int argc, char **argv, int first, int *rest_argc, char **rest_argv, tune_problem *tp) {
    char **probv = calloc((size_t)argc + 1, sizeof *probv);
    const char *shape = NULL;
    int nprob = 0, nrest = 0, rc = CLI_USAGE;
    memset(tp, 0, sizeof *tp);
    if (!probv) {
        cli_fail("out of host memory");
        return CLI_FAILED;
    }
    for (int i = 0; i < first; i++)
        rest_argv[nrest++] = argv[i];
    for (int i = first; i < argc; i++) {
        int opt, has_eq = strchr(argv[i], '=') != NULL;
        const int is_shape = strcmp(argv[i], "--shape") == 0 || strncmp(argv[i], "--shape=", 8) == 0;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            rest_argv[nrest++] = argv[i];
        } else if (is_shape) {
            const char *v = has_eq ? strchr(argv[i], '=') + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v || !*v) {
                cli_fail("--shape needs a value");
                goto done;
            }
            if (shape) {
                cli_fail("--shape given twice");
                goto done;
            }
            shape = v;
        } else if (problem_flag(argv[i], &opt)) {
            probv[nprob++] = argv[i];
            if (!has_eq && i + 1 < argc)
                probv[nprob++] = argv[++i];
        } else {
            rest_argv[nrest++] = argv[i];
        }
    }
    rest_argv[nrest] = NULL;
    *rest_argc = nrest;
    for (int i = first; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            rc = CLI_OK; /* the usage is printed by the bench's parser; nothing else matters */
            goto done;
        }
    const char *value[OPT_COUNT];
    const unsigned allowed = OPT_BIT(OPT_MODE) | OPT_BIT(OPT_SIZE) | OPT_BIT(OPT_ALPHA) | OPT_BIT(OPT_BETA) |
                             OPT_BIT(OPT_K) | OPT_BIT(OPT_CONVENTION);
    int st = cli_collect_options("tune", nprob, probv, allowed, value);
    if (st != CLI_OK)
        goto done;
    if (!shape) {
        if (nprob > 0) {
            cli_fail("the problem flags (--mode, --size, --alpha, --beta, --k, --convention) need --shape NxCxHxW");
            goto done;
        }
        rc = CLI_OK;
        goto done;
    }
    size_t dims[4];
    if (!cli_parse_shape(shape, dims)) {
        cli_fail("--shape: '%s' is not NxCxHxW (four positive integers, e.g. 8x96x55x55)", shape);
        goto done;
    }
    if (!cli_build_problem(value, &tp->desc))
        goto done;
    tp->desc.n = dims[0], tp->desc.c = dims[1], tp->desc.h = dims[2], tp->desc.w = dims[3];
    snprintf(tp->name, sizeof tp->name, "%zux%zux%zux%zu", dims[0], dims[1], dims[2], dims[3]);
    tp->bc.name = tp->name;
    tp->bc.mode = tp->desc.mode;
    tp->bc.n = dims[0], tp->bc.c = dims[1], tp->bc.h = dims[2], tp->bc.w = dims[3];
    tp->bc.size = tp->desc.local_size;
    tp->has = 1;
    rc = CLI_OK;
done:
    free(probv);
    return rc;
}
