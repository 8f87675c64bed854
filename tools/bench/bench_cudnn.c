/* bench_cudnn.c: lrncl-bench's cuDNN peer, loaded at run time.
 *
 * The peer is a CUDA shim (peers/cudnn_peer.cu, interface peers/cudnn_peer.h) built only where
 * the CUDA toolkit and cuDNN are found, as its own module; this file looks for it with dlopen,
 * so lrncl-bench needs no CUDA library to start and reports the peer as unavailable, with the
 * reason, where the module, the CUDA driver, a GPU or cuDNN is missing. Where it loads, every
 * across-channel case is checked against the float64 reference and timed through cuDNN
 * (cudnnLRNCrossChannelForward/Backward, the bench's dtype and layout, median of --runs
 * cudaEvent-timed runs over buffer sets of > 64 MiB, beside a cudaMemcpy of one tensor).
 * cuDNN's forward writes no scale: it is the peer of both forward passes. cuDNN has no
 * within-channel LRN.
 *
 * Where the module is looked for, in order: the path in LRNCL_CUDNN_PEER; next to this
 * program; ../lib beside it (an installed tree); the path this build wrote it to; the dynamic
 * linker's search path. */
#define _POSIX_C_SOURCE 200809L /* readlink */

#include "bench.h"
#include "cli_common.h"
#include "cudnn_peer.h"

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PEER_FILE "liblrncl_cudnn_peer.so"

static void *try_open(const char *path, char *why, size_t len) {
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *err = dlerror();
        size_t used = strlen(why);
        snprintf(why + used, len - used, "%s%s", used ? "; " : "", err ? err : path);
    }
    return h;
}

void cudnn_open(bench_env *e) {
    char self[4096], path[4200];
    void *h = NULL;
    e->cudnn_why[0] = '\0';
    const char *env = getenv("LRNCL_CUDNN_PEER");
    if (env && *env) {
        h = try_open(env, e->cudnn_why, sizeof e->cudnn_why);
    } else {
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n > 0) {
            self[n] = '\0';
            char *slash = strrchr(self, '/');
            if (slash)
                *slash = '\0';
            snprintf(path, sizeof path, "%s/%s", self, PEER_FILE);
            if (access(path, F_OK) == 0)
                h = try_open(path, e->cudnn_why, sizeof e->cudnn_why);
            snprintf(path, sizeof path, "%s/../lib/%s", self, PEER_FILE);
            if (!h && access(path, F_OK) == 0)
                h = try_open(path, e->cudnn_why, sizeof e->cudnn_why);
        }
#ifdef LRNCL_CUDNN_PEER_BUILT
        if (!h && access(LRNCL_CUDNN_PEER_BUILT, F_OK) == 0)
            h = try_open(LRNCL_CUDNN_PEER_BUILT, e->cudnn_why, sizeof e->cudnn_why);
#endif
        if (!h && !e->cudnn_why[0])
            h = try_open(PEER_FILE, e->cudnn_why, sizeof e->cudnn_why);
    }
    if (!h) {
        size_t used = strlen(e->cudnn_why);
        snprintf(e->cudnn_why + used, sizeof e->cudnn_why - used,
#ifdef LRNCL_CUDNN_PEER_BUILT
                 " (the module was built here; does it or libcudnn fail to load?)"
#else
                 " (this build found no CUDA compiler or cuDNN, so it has no module)"
#endif
        );
        return;
    }
    void *sym = dlsym(h, LRNCL_CUDNN_PEER_SYMBOL);
    if (!sym) {
        snprintf(e->cudnn_why, sizeof e->cudnn_why, "the module has no %s", LRNCL_CUDNN_PEER_SYMBOL);
        dlclose(h);
        return;
    }
    /* A first call on a tiny case: it fails where there is no driver or GPU, with the reason. */
    lrncl_cudnn_peer_time_fn fn;
    memcpy(&fn, &sym, sizeof fn); /* object pointer to function pointer, as POSIX allows */
    float x[2 * 3 * 2 * 2] = {0.5f, -1, 2, 0.25f, 1, 1, -2, 3, 0.5f, 0.5f, 1, -1,
                              1, 2, 3, 4, -1, -2, -3, -4, 0.1f, 0.2f, 0.3f, 0.4f};
    float out[24];
    lrncl_cudnn_case c = {LRNCL_CUDNN_PEER_ABI, LRNCL_CUDNN_PASS_FORWARD, 0, 0, 2, 3, 2, 2, 3, 1e-4, 0.75, 1.0,
                          1, 0, x, NULL, NULL, out};
    lrncl_cudnn_result res;
    if (fn(&c, &res) != 0) {
        snprintf(e->cudnn_why, sizeof e->cudnn_why, "%s", res.error);
        dlclose(h);
        return;
    }
    snprintf(e->cudnn_device, sizeof e->cudnn_device, "%s", res.device);
    e->cudnn_module = h;
    e->cudnn_fn = sym;
}

void cudnn_close(bench_env *e) {
    if (e->cudnn_module)
        dlclose(e->cudnn_module);
    e->cudnn_module = e->cudnn_fn = NULL;
}

/* Checks and times cuDNN on the case (across only); fills r->cudnn_ms / cudnn_copy_ms, counts
 * a failed check in r; where cuDNN refuses the case, its reason goes to r->cudnn_error and the
 * case goes on without it. Returns 0 on an error of the bench's own (recorded). */
int cudnn_case(const bench_env *e, case_state *cs, case_result *r) {
    if (!e->cudnn_fn || cs->desc.mode != LRNCL_ACROSS_CHANNELS)
        return 1;
    lrncl_cudnn_peer_time_fn fn;
    memcpy(&fn, &e->cudnn_fn, sizeof fn);
    const size_t n = cs->count;
    const int half = cs->esize == 2;
    const double fbound = half ? 2e-3 : 1e-5, bbound = half ? 5e-3 : 1e-5, elem = half ? 0 : 1e-4;
    double *yref = NULL, *yin = NULL, *dxref = NULL;
    float *tmp = NULL, *x = NULL, *y = NULL, *dy = NULL, *out = NULL;
    int ok = 0;
    TRY((yref = cli_alloc(n, sizeof *yref, "the reference")) && (yin = cli_alloc(n, sizeof *yin, "the reference")) &&
        (dxref = cli_alloc(n, sizeof *dxref, "the reference")) &&
        (tmp = cli_alloc(n, sizeof *tmp, "cuDNN's inputs")) && (x = cli_alloc(n, sizeof *x, "cuDNN's inputs")) &&
        (y = cli_alloc(n, sizeof *y, "cuDNN's inputs")) && (dy = cli_alloc(n, sizeof *dy, "cuDNN's inputs")) &&
        (out = cli_alloc(n, sizeof *out, "cuDNN's results")));
    TRY(cli_lr_ok(lrncl_reference_forward(&cs->desc, cs->x0, yref, NULL), "lrncl_reference_forward"));
    /* Inputs as the bench stores them (float16 rounded already), in the bench's layout; the
     * backward's y is the reference y as stored, and its reference dx is formed from that y. */
    for (size_t i = 0; i < n; i++)
        tmp[i] = (float)cs->x0[i];
    pack(&cs->dims, sizeof(float), tmp, x);
    for (size_t i = 0; i < n; i++) {
        tmp[i] = half ? half_to_float(float_to_half((float)yref[i])) : (float)yref[i];
        yin[i] = tmp[i];
    }
    pack(&cs->dims, sizeof(float), tmp, y);
    TRY(cli_lr_ok(lrncl_reference_backward(&cs->desc, cs->x0, yin, cs->dy0, dxref), "lrncl_reference_backward"));
    for (size_t i = 0; i < n; i++)
        tmp[i] = (float)cs->dy0[i];
    pack(&cs->dims, sizeof(float), tmp, dy);
    for (int pass = LRNCL_CUDNN_PASS_FORWARD; pass <= LRNCL_CUDNN_PASS_BACKWARD; pass++) {
        lrncl_cudnn_case c = {LRNCL_CUDNN_PEER_ABI, pass, half, cs->dims.nhwc, (int)cs->dims.n, (int)cs->dims.c,
                              (int)cs->dims.h, (int)cs->dims.w, cs->desc.local_size, cs->desc.alpha, cs->desc.beta,
                              cs->desc.k, e->opt.runs, rotate_bytes, x, y, dy, out};
        lrncl_cudnn_result res;
        for (size_t i = 0; i < n; i++)
            out[i] = NAN;
        if (fn(&c, &res) != 0) {
            /* Not this case's failure: cuDNN may not take a layout or dtype (its LRN in NHWC,
             * say). The reason goes into the cuDNN table and the JSON rows. */
            snprintf(r->cudnn_error, sizeof r->cudnn_error, "%s %s: %s", pass ? "backward" : "forward",
                     half ? "float16" : "float32", res.error);
            fprintf(stderr, "bench: %s: cuDNN did not run: %s\n", cs->bc->name, r->cudnn_error);
            break;
        }
        unpack(&cs->dims, sizeof(float), out, tmp);
        if (pass == LRNCL_CUDNN_PASS_FORWARD) {
            check_values(r, cs->bc->name, "cuDNN", "y", tmp, yref, n, fbound, elem);
            r->cudnn_ms[PASS_INFER] = r->cudnn_ms[PASS_TRAIN] = res.ms;
            r->cudnn_copy_ms[PASS_INFER] = r->cudnn_copy_ms[PASS_TRAIN] = res.copy_ms;
        } else {
            check_values(r, cs->bc->name, "cuDNN", "dx", tmp, dxref, n, bbound, 0);
            r->cudnn_ms[PASS_BACKWARD] = res.ms;
            r->cudnn_copy_ms[PASS_BACKWARD] = res.copy_ms;
        }
    }
    ok = 1;
done:
    free(out);
    free(dy);
    free(y);
    free(x);
    free(tmp);
    free(dxref);
    free(yin);
    free(yref);
    return ok;
}
