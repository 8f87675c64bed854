/* cudnn_peer.cu: times cuDNN's cross-channel LRN (forward and backward) for lrncl's bench.
 * Built by nvcc into its own module, only where CUDA and cuDNN are found; the bench loads it
 * at run time (cudnn_peer.h). Timing: cudaEvents around each call on one stream, buffer sets
 * rotated past c->rotate_bytes so no run starts from a warm L2, medians over c->runs, after two
 * untimed warm-up rounds. */
#include "cudnn_peer.h"

#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

namespace {

enum { MAX_SETS = 256, WARM_UP = 2 };

int fail(lrncl_cudnn_result *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof r->error, fmt, ap);
    va_end(ap);
    return 1;
}

#define CUDA_TRY(call)                                                                             \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != cudaSuccess) {                                                                   \
            rc = fail(r, "%s: %s", #call, cudaGetErrorString(e_));                                 \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)
#define CUDNN_TRY(call)                                                                            \
    do {                                                                                           \
        cudnnStatus_t s_ = (call);                                                                 \
        if (s_ != CUDNN_STATUS_SUCCESS) {                                                          \
            rc = fail(r, "%s: %s", #call, cudnnGetErrorString(s_));                                \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Host float32 to the device's storage type, through a staging buffer. */
int upload(void *dst, const float *src, size_t count, int half, void *staging, lrncl_cudnn_result *r) {
    if (half) {
        __half *h = (__half *)staging;
        for (size_t i = 0; i < count; ++i)
            h[i] = __float2half_rn(src[i]);
    } else {
        memcpy(staging, src, count * sizeof(float));
    }
    cudaError_t e = cudaMemcpy(dst, staging, count * (half ? 2 : 4), cudaMemcpyHostToDevice);
    return e == cudaSuccess ? 0 : fail(r, "cudaMemcpy to the device: %s", cudaGetErrorString(e));
}

int download(float *dst, const void *src, size_t count, int half, void *staging, lrncl_cudnn_result *r) {
    cudaError_t e = cudaMemcpy(staging, src, count * (half ? 2 : 4), cudaMemcpyDeviceToHost);
    if (e != cudaSuccess)
        return fail(r, "cudaMemcpy to the host: %s", cudaGetErrorString(e));
    if (half) {
        const __half *h = (const __half *)staging;
        for (size_t i = 0; i < count; ++i)
            dst[i] = __half2float(h[i]);
    } else {
        memcpy(dst, staging, count * sizeof(float));
    }
    return 0;
}

} // namespace

extern "C" __attribute__((visibility("default"))) int lrncl_cudnn_peer_time(const lrncl_cudnn_case *c,
                                                                            lrncl_cudnn_result *r) {
    if (!r)
        return 1;
    memset(r, 0, sizeof *r);
    if (!c)
        return fail(r, "no case");
    if (c->abi != LRNCL_CUDNN_PEER_ABI)
        return fail(r, "interface version %d, the module speaks %d", c->abi, LRNCL_CUDNN_PEER_ABI);
    if (c->n <= 0 || c->c <= 0 || c->h <= 0 || c->w <= 0 || c->runs < 1 || !c->x ||
        (c->pass == LRNCL_CUDNN_PASS_BACKWARD && (!c->y || !c->dy)))
        return fail(r, "bad case (a dimension, runs or an input is missing)");
    if (c->local_size < CUDNN_LRN_MIN_N || c->local_size > CUDNN_LRN_MAX_N)
        return fail(r, "cuDNN takes windows of %d to %d channels, not %d", CUDNN_LRN_MIN_N, CUDNN_LRN_MAX_N,
                    c->local_size);

    int rc = 0, nsets = 0, ndev = 0;
    const size_t count = (size_t)c->n * c->c * c->h * c->w, bytes = count * (c->half ? 2 : 4);
    const int backward = c->pass == LRNCL_CUDNN_PASS_BACKWARD;
    const int per_set = backward ? 4 : 2; /* x, y (, dy, dx) */
    void *bufs[MAX_SETS][4];
    void *staging = NULL;
    double *times = NULL, *copies = NULL;
    cudnnHandle_t handle = NULL;
    cudnnTensorDescriptor_t td = NULL;
    cudnnLRNDescriptor_t ld = NULL;
    cudaStream_t stream = NULL;
    cudaEvent_t ev0 = NULL, ev1 = NULL;
    cudaDeviceProp prop;
    const float one = 1.0f, zero = 0.0f;
    memset(bufs, 0, sizeof bufs);

    CUDA_TRY(cudaGetDeviceCount(&ndev));
    if (ndev < 1)
        return fail(r, "no CUDA device");
    CUDA_TRY(cudaGetDeviceProperties(&prop, 0));
    snprintf(r->device, sizeof r->device, "%s, cuDNN %zu", prop.name, cudnnGetVersion());

    nsets = (int)((c->rotate_bytes + bytes * per_set - 1) / (bytes * per_set));
    nsets = nsets < 1 ? 1 : nsets > MAX_SETS ? MAX_SETS : nsets;
    staging = malloc(count * sizeof(float));
    times = (double *)malloc(sizeof(double) * (size_t)c->runs);
    copies = (double *)malloc(sizeof(double) * (size_t)c->runs);
    if (!staging || !times || !copies) {
        rc = fail(r, "out of host memory");
        goto out;
    }
    for (int s = 0; s < nsets; ++s) {
        for (int b = 0; b < per_set; ++b)
            CUDA_TRY(cudaMalloc(&bufs[s][b], bytes));
        if (upload(bufs[s][0], c->x, count, c->half, staging, r)) {
            rc = 1;
            goto out;
        }
        if (backward && (upload(bufs[s][1], c->y, count, c->half, staging, r) ||
                         upload(bufs[s][2], c->dy, count, c->half, staging, r))) {
            rc = 1;
            goto out;
        }
    }

    CUDA_TRY(cudaStreamCreate(&stream));
    CUDA_TRY(cudaEventCreate(&ev0));
    CUDA_TRY(cudaEventCreate(&ev1));
    CUDNN_TRY(cudnnCreate(&handle));
    CUDNN_TRY(cudnnSetStream(handle, stream));
    CUDNN_TRY(cudnnCreateTensorDescriptor(&td));
    CUDNN_TRY(cudnnSetTensor4dDescriptor(td, c->nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW,
                                         c->half ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT, c->n, c->c, c->h, c->w));
    CUDNN_TRY(cudnnCreateLRNDescriptor(&ld));
    CUDNN_TRY(cudnnSetLRNDescriptor(ld, (unsigned)c->local_size, c->alpha, c->beta, c->k));

    for (int i = -WARM_UP * nsets; i < c->runs; ++i) {
        void **b = bufs[((i % nsets) + nsets) % nsets];
        float ms = 0.0f;
        CUDA_TRY(cudaEventRecord(ev0, stream));
        if (backward)
            CUDNN_TRY(cudnnLRNCrossChannelBackward(handle, ld, CUDNN_LRN_CROSS_CHANNEL_DIM1, &one, td, b[1], td,
                                                   b[2], td, b[0], &zero, td, b[3]));
        else
            CUDNN_TRY(cudnnLRNCrossChannelForward(handle, ld, CUDNN_LRN_CROSS_CHANNEL_DIM1, &one, td, b[0], &zero,
                                                  td, b[1]));
        CUDA_TRY(cudaEventRecord(ev1, stream));
        CUDA_TRY(cudaEventSynchronize(ev1));
        CUDA_TRY(cudaEventElapsedTime(&ms, ev0, ev1));
        if (i >= 0)
            times[i] = ms;
        if (i == 0 && c->out && download(c->out, b[backward ? 3 : 1], count, c->half, staging, r)) {
            rc = 1;
            goto out;
        }
        /* The copy, interleaved run by run with cuDNN so that both see the same device state. */
        b = bufs[((i + 1) % nsets + nsets) % nsets];
        CUDA_TRY(cudaEventRecord(ev0, stream));
        CUDA_TRY(cudaMemcpyAsync(b[1], b[0], bytes, cudaMemcpyDeviceToDevice, stream));
        CUDA_TRY(cudaEventRecord(ev1, stream));
        CUDA_TRY(cudaEventSynchronize(ev1));
        CUDA_TRY(cudaEventElapsedTime(&ms, ev0, ev1));
        if (i >= 0)
            copies[i] = ms;
    }
    r->ms = median(times, c->runs);
    r->copy_ms = median(copies, c->runs);

out:
    if (ld)
        cudnnDestroyLRNDescriptor(ld);
    if (td)
        cudnnDestroyTensorDescriptor(td);
    if (handle)
        cudnnDestroy(handle);
    if (ev0)
        cudaEventDestroy(ev0);
    if (ev1)
        cudaEventDestroy(ev1);
    if (stream)
        cudaStreamDestroy(stream);
    for (int s = 0; s < MAX_SETS; ++s)
        for (int b = 0; b < 4; ++b)
            if (bufs[s][b])
                cudaFree(bufs[s][b]);
    free(staging);
    free(times);
    free(copies);
    return rc;
}
