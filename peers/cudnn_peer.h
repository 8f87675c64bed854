/* cudnn_peer.h: the C interface of lrncl's cuDNN peer, a small CUDA shim (cudnn_peer.cu) that
 * times cuDNN's LRN on an NVIDIA GPU for the bench. It is built only where the CUDA toolkit and
 * cuDNN are found, as its own shared module (liblrncl_cudnn_peer.so), and loaded only at run time
 * (cudnn_peer_load.c, dlopen): the bench runs the same everywhere and reports the peer as
 * unavailable, with the reason, where the module, the CUDA driver or a GPU is missing.
 *
 * Everything crosses this boundary as plain C types, so the loader needs no CUDA header. */
#ifndef LRNCL_CUDNN_PEER_H
#define LRNCL_CUDNN_PEER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever the structures below change; the loader refuses a module of another version. */
#define LRNCL_CUDNN_PEER_ABI 1
/* The module's one exported entry point, looked up by this name. */
#define LRNCL_CUDNN_PEER_SYMBOL "lrncl_cudnn_peer_time"

enum { LRNCL_CUDNN_PASS_FORWARD = 0, LRNCL_CUDNN_PASS_BACKWARD = 1 };

typedef struct lrncl_cudnn_case {
    int abi;                 /* LRNCL_CUDNN_PEER_ABI */
    int pass;                /* LRNCL_CUDNN_PASS_*: cuDNN's forward writes no scale, so it is the
                                peer of both of lrncl's forward passes */
    int half;                /* 1: float16 tensors, 0: float32 */
    int nhwc;                /* 1: NHWC, 0: NCHW (both contiguous) */
    int n, c, h, w;
    int local_size;          /* cuDNN's lrnN: 1 .. 16; window [c - (n-1)/2, c + n/2] */
    double alpha, beta, k;   /* Caffe's meaning: y = x * (k + alpha/n * sum x^2)^-beta */
    int runs;                /* timed runs (medians are taken over them), >= 1 */
    size_t rotate_bytes;     /* the runs cycle through buffer sets of at least this many bytes */
    /* Inputs and output, host memory, contiguous in the case's layout and float32 whatever
     * `half` says (the shim converts): x, and for the backward y and dy, are uploaded to
     * every buffer set; the output (y forward, dx backward) of the first timed run is written
     * to `out` so the caller can check it. */
    const float *x, *y, *dy;
    float *out;
} lrncl_cudnn_case;

typedef struct lrncl_cudnn_result {
    double ms;               /* median of the runs, cudaEvent-timed, milliseconds */
    double copy_ms;          /* median of device-to-device copies of one tensor (n*c*h*w
                                elements of the dtype: read once, written once) */
    char device[128];        /* the GPU's name and cuDNN's version */
    char error[256];         /* why the call failed, when it returns non-zero */
} lrncl_cudnn_result;

/* Returns 0 and fills *r, or non-zero with r->error set. Not thread-safe; each call creates
 * and releases its own cuDNN handle, stream and buffers. */
typedef int (*lrncl_cudnn_peer_time_fn)(const lrncl_cudnn_case *c, lrncl_cudnn_result *r);
/* The module's definition of it (callers look it up with dlsym, never link it). */
int lrncl_cudnn_peer_time(const lrncl_cudnn_case *c, lrncl_cudnn_result *r);

#ifdef __cplusplus
}
#endif
#endif /* LRNCL_CUDNN_PEER_H */
