/* fake_cudnn_peer.c: a stand-in for the cuDNN peer module (peers/cudnn_peer.h) with no CUDA in
 * it, so that lrncl-bench's side of the peer (loading, inputs in the bench's layout, checks,
 * the table and JSON) is tested on machines without a GPU (tests/cli_bench.sh). It computes
 * cuDNN's cross-channel LRN on the host in double precision and reports made-up times.
 * LRNCL_FAKE_PEER_REFUSE=nhwc makes it refuse NHWC cases, as a peer without that layout would;
 * LRNCL_FAKE_PEER_WRONG=1 makes its outputs wrong, so the bench's check must catch them. */
#include "cudnn_peer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t at(const lrncl_cudnn_case *c, int n, int ch, int h, int w) {
    if (c->nhwc)
        return (((size_t)n * c->h + h) * c->w + w) * c->c + ch;
    return (((size_t)n * c->c + ch) * c->h + h) * c->w + w;
}

/* k + alpha/size * sum of x^2 over channels [ch - (size-1)/2, ch + size/2]. */
static double scale_at(const lrncl_cudnn_case *c, int n, int ch, int h, int w) {
    int lo = (c->local_size - 1) / 2, hi = c->local_size - 1 - lo;
    double sum = 0;
    for (int j = ch - lo; j <= ch + hi; j++)
        if (j >= 0 && j < c->c) {
            double v = c->x[at(c, n, j, h, w)];
            sum += v * v;
        }
    return c->k + c->alpha / c->local_size * sum;
}

__attribute__((visibility("default"))) int lrncl_cudnn_peer_time(const lrncl_cudnn_case *c, lrncl_cudnn_result *r) {
    memset(r, 0, sizeof *r);
    if (c->abi != LRNCL_CUDNN_PEER_ABI) {
        snprintf(r->error, sizeof r->error, "interface version %d", c->abi);
        return 1;
    }
    const char *refuse = getenv("LRNCL_FAKE_PEER_REFUSE");
    if (refuse && strcmp(refuse, "nhwc") == 0 && c->nhwc) {
        snprintf(r->error, sizeof r->error, "CUDNN_STATUS_NOT_SUPPORTED (the fake peer refuses NHWC)");
        return 1;
    }
    snprintf(r->device, sizeof r->device, "fake peer on the host, no CUDA");
    const int lo = (c->local_size - 1) / 2, hi = c->local_size - 1 - lo;
    const double wrong = getenv("LRNCL_FAKE_PEER_WRONG") ? 1.01 : 1.0;
    for (int n = 0; n < c->n; n++)
        for (int ch = 0; ch < c->c; ch++)
            for (int h = 0; h < c->h; h++)
                for (int w = 0; w < c->w; w++) {
                    size_t m = at(c, n, ch, h, w);
                    double s = scale_at(c, n, ch, h, w), out;
                    if (c->pass == LRNCL_CUDNN_PASS_FORWARD) {
                        out = c->x[m] * pow(s, -c->beta);
                    } else {
                        /* the mirrored window: outputs i whose window holds ch */
                        double acc = 0;
                        for (int i = ch - hi; i <= ch + lo; i++)
                            if (i >= 0 && i < c->c) {
                                size_t q = at(c, n, i, h, w);
                                acc += (double)c->dy[q] * c->y[q] / scale_at(c, n, i, h, w);
                            }
                        out = c->dy[m] * pow(s, -c->beta) - 2.0 * c->alpha / c->local_size * c->beta * c->x[m] * acc;
                    }
                    if (c->out)
                        c->out[m] = (float)(out * wrong);
                }
    r->ms = 0.5;
    r->copy_ms = 0.25;
    return 0;
}
