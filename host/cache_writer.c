/* cache_writer.c: writes the disk cache entries of programs built from source while the host
 * runs, off the run path: a thread per context, started by the first program handed to it (by
 * the plan creation that built it), launches the program's kernels at the plan's work-group
 * sizes on scratch buffers (warmup.c), then reads the binary and writes the entry
 * (lrncl__store_save). A process that ends without lrncl_context_release keeps every entry the
 * thread finished; lrncl_context_flush waits for the rest, lrncl_context_release too.
 * docs/design.md, "Program store". */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct job {
    struct job *next;
    lrncl_variant variant;
    char name[LRNCL_VARIANT_NAME_MAX];
    cl_program program;          /* retained by the job */
    lrncl_warm warm[LRNCL_WARM_MAX];
    size_t nwarm;
} job;

struct lrncl_cache_writer {
    lrncl_context *c;
    thrd_t thread;
    mtx_t lock;                  /* guards everything below */
    cnd_t changed;               /* a job arrived, one finished, or stop */
    job *head, *tail;
    int busy;                    /* the thread is writing a job taken off the list */
    int stop;
};

static void run_job(lrncl_context *c, job *j) {
    /* A failed warm-up still leaves a usable binary: the entry is written all the same. */
    lrncl__warm_program(c->ctx, c->dev, j->program, j->warm, j->nwarm);
    lrncl__store_save(c, &j->variant, j->name, j->program);
    lrncl__clear_error(); /* this thread's failures are no caller's */
}

static int writer_main(void *arg) {
    struct lrncl_cache_writer *w = arg;
    mtx_lock(&w->lock);
    for (;;) {
        while (!w->head && !w->stop)
            cnd_wait(&w->changed, &w->lock);
        if (!w->head)
            break; /* stop, and nothing left */
        job *j = w->head;
        w->head = j->next;
        if (!w->head)
            w->tail = NULL;
        w->busy = 1;
        mtx_unlock(&w->lock);
        run_job(w->c, j);
        clReleaseProgram(j->program);
        free(j);
        mtx_lock(&w->lock);
        w->busy = 0;
        cnd_broadcast(&w->changed);
    }
    mtx_unlock(&w->lock);
    return 0;
}

/* The context's writer, started on first use; NULL when it cannot be (then the caller writes
 * the entry itself). */
static struct lrncl_cache_writer *writer_of(lrncl_context *c) {
    mtx_lock(&c->writer_lock);
    struct lrncl_cache_writer *w = c->writer;
    if (!w && (w = calloc(1, sizeof *w)) != NULL) {
        w->c = c;
        int ok = mtx_init(&w->lock, mtx_plain) == thrd_success;
        if (ok && cnd_init(&w->changed) != thrd_success) {
            mtx_destroy(&w->lock);
            ok = 0;
        }
        if (ok && thrd_create(&w->thread, writer_main, w) != thrd_success) {
            cnd_destroy(&w->changed);
            mtx_destroy(&w->lock);
            ok = 0;
        }
        if (!ok) {
            free(w);
            w = NULL;
        }
        c->writer = w;
    }
    mtx_unlock(&c->writer_lock);
    return w;
}

void lrncl__writer_add(lrncl_context *c, const lrncl_variant *v, cl_program prog, const lrncl_warm *warm, size_t n) {
    if (!c->cache_dir || clRetainProgram(prog) != CL_SUCCESS)
        return;
    job *j = calloc(1, sizeof *j);
    if (!j) {
        clReleaseProgram(prog);
        return;
    }
    j->variant = *v;
    lrncl__variant_name(v, j->name, sizeof j->name);
    j->program = prog;
    j->nwarm = n < LRNCL_WARM_MAX ? n : LRNCL_WARM_MAX;
    memcpy(j->warm, warm, j->nwarm * sizeof *warm);
    struct lrncl_cache_writer *w = writer_of(c);
    if (!w) { /* no thread: write it now, as the writer would */
        run_job(c, j);
        clReleaseProgram(j->program);
        free(j);
        return;
    }
    mtx_lock(&w->lock);
    if (w->tail)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    cnd_broadcast(&w->changed);
    mtx_unlock(&w->lock);
}

void lrncl__writer_flush(lrncl_context *c) {
    mtx_lock(&c->writer_lock);
    struct lrncl_cache_writer *w = c->writer;
    mtx_unlock(&c->writer_lock);
    if (!w)
        return;
    mtx_lock(&w->lock);
    while (w->head || w->busy)
        cnd_wait(&w->changed, &w->lock);
    mtx_unlock(&w->lock);
}

void lrncl__writer_release(lrncl_context *c) {
    struct lrncl_cache_writer *w = c->writer; /* the last reference: no other thread adds */
    if (!w)
        return;
    mtx_lock(&w->lock);
    w->stop = 1; /* the thread finishes the list first */
    cnd_broadcast(&w->changed);
    mtx_unlock(&w->lock);
    thrd_join(w->thread, NULL);
    cnd_destroy(&w->changed);
    mtx_destroy(&w->lock);
    free(w);
    c->writer = NULL;
}
