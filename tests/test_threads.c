/* test_threads.c: several threads on one shared lrncl context. Each thread creates its own plans
 * while the others run (the context's program cache is built under its lock), runs them and one
 * plan shared by all threads, forward and backward, on its own queue and inputs, while one
 * thread retunes the shared plan; every result is checked against the float64 reference. The
 * failures are collected per thread (Criterion's asserts are for the main thread only). */
#include "testutil.h"

#include <criterion/criterion.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_THREADS 4
#define ITERS     12

struct job {
    lrncl_desc d;           /* the descriptor the plan was made from */
    lrncl_plan *plan;
    size_t count;
    float *x, *dy;
    double *y, *dx;         /* reference */
};

struct worker {
    int id;
    struct job *shared;
    lrncl_desc own_desc;
    pthread_barrier_t *start;
    int failures, runs;
    char msg[900];
};

static void fail(struct worker *w, const char *fmt, const char *a, const char *b)
{
    if (w->failures++ == 0)
        snprintf(w->msg, sizeof w->msg, fmt, a, b);
}

static void make_inputs(struct job *j, uint64_t seed)
{
    j->count = lrncl_desc_elements(&j->d);
    j->x = malloc(j->count * sizeof(float));
    j->dy = malloc(j->count * sizeof(float));
    j->y = malloc(j->count * sizeof(double));
    j->dx = malloc(j->count * sizeof(double));
    struct tu_rng g;
    tu_rng_init(&g, seed);
    for (size_t i = 0; i < j->count; i++) {
        j->x[i] = (float)tu_rng_range(&g, -4, 4);
        j->dy[i] = (float)tu_rng_range(&g, -1, 1);
    }
}

static void free_job(struct job *j)
{
    free(j->x);
    free(j->dy);
    free(j->y);
    free(j->dx);
}

/* Forward (with a scale) then backward (with the scale, or without every other run) of job j on
 * queue q; outputs poisoned first; results against the reference. */
static void run_job(struct worker *w, cl_command_queue q, struct job *j, int it)
{
    const size_t n = j->count, bytes = n * sizeof(float);
    cl_int err = CL_SUCCESS;
    cl_mem b[5];
    for (int i = 0; i < 5; i++)
        b[i] = clCreateBuffer(tu.cl, CL_MEM_READ_WRITE, bytes, NULL, &err);
    float *got = malloc(bytes);
    if (err != CL_SUCCESS || !got) {
        fail(w, "%s%s", "buffer or host allocation failed", "");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        got[i] = NAN;
    clEnqueueWriteBuffer(q, b[0], CL_FALSE, 0, bytes, j->x, 0, NULL, NULL);
    clEnqueueWriteBuffer(q, b[1], CL_FALSE, 0, bytes, got, 0, NULL, NULL);
    clEnqueueWriteBuffer(q, b[2], CL_FALSE, 0, bytes, got, 0, NULL, NULL);
    clEnqueueWriteBuffer(q, b[3], CL_FALSE, 0, bytes, j->dy, 0, NULL, NULL);
    clEnqueueWriteBuffer(q, b[4], CL_TRUE, 0, bytes, got, 0, NULL, NULL);
    lrncl_status st = lrncl_forward(j->plan, q, b[0], b[1], b[2], 0, NULL, NULL);
    if (st == LRNCL_SUCCESS)
        st = lrncl_backward(j->plan, q, b[0], b[1], b[3], (it & 1) ? NULL : b[2], b[4], 0, NULL, NULL);
    if (st != LRNCL_SUCCESS) {
        fail(w, "run: %s: %s", lrncl_status_string(st), lrncl_last_error());
        goto out;
    }
    struct tu_cmp r;
    if (clEnqueueReadBuffer(q, b[1], CL_TRUE, 0, bytes, got, 0, NULL, NULL) != CL_SUCCESS)
        fail(w, "%s%s", "reading y failed", "");
    else if (!tu_check_forward("y", &j->d, got, j->y, n, &r))
        fail(w, "%s%s", r.msg, "");
    if (clEnqueueReadBuffer(q, b[4], CL_TRUE, 0, bytes, got, 0, NULL, NULL) != CL_SUCCESS)
        fail(w, "%s%s", "reading dx failed", "");
    else if (!tu_check_backward("dx", &j->d, got, j->dx, n, &r))
        fail(w, "%s%s", r.msg, "");
    w->runs++;
out:
    free(got);
    for (int i = 0; i < 5; i++)
        if (b[i])
            clReleaseMemObject(b[i]);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    cl_int err = CL_SUCCESS;
    cl_command_queue q = clCreateCommandQueue(tu.cl, tu.dev, 0, &err);
    struct job own;
    memset(&own, 0, sizeof own);
    own.d = w->own_desc;
    make_inputs(&own, 500u + (uint64_t)w->id);
    pthread_barrier_wait(w->start);
    if (!q) {
        fail(w, "%s%s", "clCreateCommandQueue failed", "");
        goto out;
    }
    if (tu_reference(&own.d, own.x, own.dy, own.y, NULL, own.dx) != LRNCL_SUCCESS) {
        fail(w, "%s%s", "reference refused the thread's descriptor", "");
        goto out;
    }
    /* Created while the other threads create theirs and run the shared plan. */
    lrncl_status st = lrncl_plan_create(tu.ctx, &own.d, &own.plan);
    if (st != LRNCL_SUCCESS) {
        fail(w, "plan_create: %s: %s", lrncl_status_string(st), lrncl_last_error());
        goto out;
    }
    for (int it = 0; it < ITERS; it++) {
        run_job(w, q, (it % 2) ? &own : w->shared, it / 2);
        if (w->id == 0 && it % 3 == 0) {
            /* Retune the shared plan while the others run it: blocks of 2, 3, then whole columns. */
            lrncl_tuning t;
            if (lrncl_plan_get_tuning(w->shared->plan, LRNCL_KERNEL_BACKWARD, &t) != LRNCL_SUCCESS) {
                fail(w, "get_tuning: %s%s", lrncl_last_error(), "");
                continue;
            }
            t.slide_block = it == 0 ? 2 : it == 3 ? 3 : w->shared->d.c;
            st = lrncl_plan_set_tuning(w->shared->plan, LRNCL_KERNEL_BACKWARD, &t);
            /* kernels without slide blocks (the FPGA ones) refuse blocks as unsupported */
            if (st != LRNCL_SUCCESS && st != LRNCL_ERROR_UNSUPPORTED)
                fail(w, "set_tuning: %s: %s", lrncl_status_string(st), lrncl_last_error());
        }
    }
out:
    lrncl_plan_release(own.plan);
    free_job(&own);
    if (q) {
        clFinish(q);
        clReleaseCommandQueue(q);
    }
    return NULL;
}

TestSuite(threads, .init = tu_setup, .fini = tu_teardown, .timeout = 240);

Test(threads, own_and_shared_plans)
{
    struct job shared;
    memset(&shared, 0, sizeof shared);
    shared.d = tu_desc(LRNCL_CONVENTION_CAFFE, LRNCL_ACROSS_CHANNELS, 5, 0.8f, 0.75f, 1.5f, 2, 13, 5, 6);
    make_inputs(&shared, 99);
    cr_assert(tu_reference(&shared.d, shared.x, shared.dy, shared.y, NULL, shared.dx) == LRNCL_SUCCESS);
    shared.plan = tu_plan(tu.ctx, &shared.d);

    /* Own plans: two share the shared plan's variant (same program, other shape), the others
     * are new variants built concurrently (within-channel, another window and beta). */
    lrncl_desc own[N_THREADS] = {
        tu_desc(LRNCL_CONVENTION_CAFFE, LRNCL_ACROSS_CHANNELS, 5, 0.8f, 0.75f, 1.5f, 1, 9, 4, 7),
        tu_desc(LRNCL_CONVENTION_CAFFE, LRNCL_WITHIN_CHANNEL, 3, 0.5f, 0.75f, 1.0f, 2, 3, 7, 9),
        tu_desc(LRNCL_CONVENTION_PYTORCH, LRNCL_ACROSS_CHANNELS, 4, 1e-2f, 0.6f, 2.0f, 1, 11, 3, 5),
        tu_desc(LRNCL_CONVENTION_CAFFE, LRNCL_ACROSS_CHANNELS, 5, 0.8f, 0.75f, 1.5f, 3, 6, 2, 3),
    };
    struct worker w[N_THREADS];
    pthread_t t[N_THREADS];
    pthread_barrier_t start;
    cr_assert(pthread_barrier_init(&start, NULL, N_THREADS) == 0);
    for (int i = 0; i < N_THREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].id = i;
        w[i].shared = &shared;
        w[i].own_desc = own[i];
        w[i].start = &start;
    }
    for (int i = 0; i < N_THREADS; i++)
        cr_assert(pthread_create(&t[i], NULL, worker_main, &w[i]) == 0);
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < N_THREADS; i++) {
        cr_expect(w[i].failures == 0, "thread %d: %d failures in %d runs; first: %s", i, w[i].failures, w[i].runs,
                  w[i].msg);
        cr_expect(w[i].runs == ITERS, "thread %d: %d of %d runs completed", i, w[i].runs, ITERS);
    }
    pthread_barrier_destroy(&start);
    lrncl_plan_release(shared.plan);
    free_job(&shared);
}
