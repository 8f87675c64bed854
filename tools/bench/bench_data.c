/* bench_data.c: the benchmark's host data: random inputs, float16 bits, NCHW and NHWC. */
#include "bench.h"

#include <math.h>
#include <string.h>

/* Deterministic, roughly normal values (sum of 4 uniforms, variance 1): xorshift64*. */
double bench_random(uint64_t *state) {
    double sum = 0;
    for (int i = 0; i < 4; i++) {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        sum += (double)((*state * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
    }
    return (sum - 2.0) * 1.7320508075688772;
}

/* IEEE binary16 bits of f, rounded to nearest even (what vstore_half_rte does). */
uint16_t float_to_half(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t mag = u & 0x7fffffffu;
    if (mag >= 0x7f800000u) /* Inf, NaN */
        return (uint16_t)(sign | 0x7c00u | (mag > 0x7f800000u ? 0x200u : 0u));
    if (mag >= 0x477ff000u) /* rounds to 65536 or more: Inf */
        return (uint16_t)(sign | 0x7c00u);
    if (mag < 0x38800000u) { /* below 2^-14: a subnormal half (or zero), in units of 2^-24 */
        float v;
        memcpy(&v, &mag, sizeof v);
        return (uint16_t)(sign | (uint16_t)lrintf(v * 16777216.0f));
    }
    uint32_t m = mag - 0x38000000u; /* rebias the exponent from 127 to 15 */
    return (uint16_t)(sign | ((m + 0x0fffu + ((m >> 13) & 1u)) >> 13));
}

float half_to_float(uint16_t h) {
    unsigned e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    float f = e == 0 ? ldexpf((float)m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexpf((float)(m | 0x400u), (int)e - 25);
    return (h & 0x8000u) ? -f : f;
}

/* Element offset of (n, c, h, w) in a contiguous NCHW or NHWC tensor. */
static size_t storage_offset(const dims4 *d, size_t n, size_t c, size_t h, size_t w) {
    return d->nhwc ? ((n * d->h + h) * d->w + w) * d->c + c : ((n * d->c + c) * d->h + h) * d->w + w;
}

/* Copies every element between NCHW floats and the storage layout, as float (esize 4) or
 * float16 bits (esize 2): from nchw into storage when nchw is given, else from storage_in into
 * nchw_out. */
static void convert(const dims4 *d, size_t esize, const float *nchw, void *storage, const void *storage_in,
                    float *nchw_out) {
    size_t i = 0;
    for (size_t n = 0; n < d->n; n++)
        for (size_t c = 0; c < d->c; c++)
            for (size_t h = 0; h < d->h; h++)
                for (size_t w = 0; w < d->w; w++, i++) {
                    size_t o = storage_offset(d, n, c, h, w);
                    if (nchw && esize == 2)
                        ((uint16_t *)storage)[o] = float_to_half(nchw[i]);
                    else if (nchw)
                        ((float *)storage)[o] = nchw[i];
                    else
                        nchw_out[i] = esize == 2 ? half_to_float(((const uint16_t *)storage_in)[o])
                                                 : ((const float *)storage_in)[o];
                }
}

/* NCHW floats into the storage layout. */
void pack(const dims4 *d, size_t esize, const float *nchw, void *dst) {
    convert(d, esize, nchw, dst, NULL, NULL);
}

/* The reverse of pack. */
void unpack(const dims4 *d, size_t esize, const void *src, float *nchw) {
    convert(d, esize, NULL, NULL, src, nchw);
}

const char *layout_name(lrncl_layout l) {
    return l == LRNCL_LAYOUT_NHWC ? "nhwc" : "nchw";
}

const char *dtype_name(lrncl_dtype t) {
    return t == LRNCL_FLOAT16 ? "f16" : "f32";
}
