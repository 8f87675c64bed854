/* builder.c: what a variant is built from and how: its name, its exact source and build options,
 * the crc32 a bundle's manifest records of them, a build from source (with the build log on
 * failure), a program from a device binary and a program's binary. Calls only status.c and
 * embedded.c; the program store, the disk cache and bundles call it. docs/design.md, "Program
 * store". */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ---- variant names ------------------------------------------------------------------------ */

/* The name is the in-memory key: a field it leaves out would let two programs share a slot. */
_Static_assert(sizeof(lrncl_variant) == 10 * sizeof(int),
               "lrncl_variant changed: give the new field its line in lrncl__variant_name");

size_t lrncl__variant_name(const lrncl_variant *v, char *buf, size_t size) {
    static const char *beta[] = {"bgen", "b075", "b05", "b1"};
    static const char *dtype[] = {"f32", "f16"};
    static const char *layout[] = {"nchw", "nhwc", "strided"};
    char tmp[LRNCL_VARIANT_NAME_MAX * 2];
    /* One line per field of lrncl_variant, in its order. The kernel family is a prefix only for
     * the FPGA kernels, so the NDRange kernels' names stay as they were. */
    int n = snprintf(tmp, sizeof tmp, "%s%s-lo%d-hi%d-%s-%s-%s-%s-vw%d-%s",
                     v->family == LRNCL_FAMILY_FPGA ? "fpga-" : "",
                     v->mode == LRNCL_WITHIN_CHANNEL ? "within" : "across",
                     v->lo, v->hi,
                     (unsigned)v->beta_path < 4 ? beta[v->beta_path] : "b?",
                     v->reg_window ? "reg" : "reread",
                     (unsigned)v->dtype < 2 ? dtype[v->dtype] : "t?",
                     (unsigned)v->layout < 3 ? layout[v->layout] : "l?",
                     v->vw,
                     v->ew ? "ew" : "col");
    if (n < 0)
        n = 0;
    if (size) {
        size_t len = (size_t)n < size - 1 ? (size_t)n : size - 1;
        memcpy(buf, tmp, len);
        buf[len] = '\0';
    }
    return (size_t)n;
}

lrncl_status lrncl__variant_program(const lrncl_context *c, const lrncl_variant *v, const char *texts[2],
                                    size_t sizes[2], char options[LRNCL_OPTIONS_MAX]) {
    const struct lrncl_embedded_source *common = lrncl__embedded("lrn_common");
    /* The FPGA family: lrn_fpga.cl, which holds both modes and keeps the one LRN_WITHIN names. */
    const struct lrncl_embedded_source *body =
        lrncl__embedded(v->family == LRNCL_FAMILY_FPGA       ? "lrn_fpga"
                        : v->ew                            ? "lrn_elementwise"
                        : v->mode == LRNCL_ACROSS_CHANNELS ? "lrn_across"
                                                           : "lrn_within");
    if (!common || !body)
        return lrncl__fail(LRNCL_ERROR_UNSUPPORTED, "kernel source missing from the library build");
    texts[0] = common->text, sizes[0] = common->size;
    texts[1] = body->text, sizes[1] = body->size;
    /* LRNCL_PORTABLE_KERNELS=1 (testing): no target-specific builtins in the kernels, the code
     * that compilers other than x86-64 ones with AVX take (lrn_common.cl, LRN_PORTABLE). */
    const char *portable = getenv("LRNCL_PORTABLE_KERNELS");
    char fpga[32] = "";
    if (v->family == LRNCL_FAMILY_FPGA)
        snprintf(fpga, sizeof fpga, " -DLRN_FPGA_LINE=%d", LRNCL_FPGA_LINE);
    snprintf(options, LRNCL_OPTIONS_MAX,
             "-cl-std=CL1.2 -DLRN_WIN_LO=%d -DLRN_WIN_HI=%d -DLRN_BETA_PATH=%d -DLRN_REG_WINDOW=%d "
             "-DLRN_HALF=%d -DLRN_LAYOUT=%d -DLRN_VW=%d -DLRN_WITHIN=%d%s%s%s",
             v->lo, v->hi, (int)v->beta_path, v->reg_window, v->dtype == LRNCL_FLOAT16, (int)v->layout, v->vw,
             v->mode == LRNCL_WITHIN_CHANNEL, fpga,
             /* OpenCL allows 2.5 ulp for float division and 3 for sqrt, and a compiler may then
              * round one quotient differently in two kernels; correctly rounded, every path
              * agrees bit for bit. */
             c->cr_divide ? " -cl-fp32-correctly-rounded-divide-sqrt" : "",
             portable && strcmp(portable, "1") == 0 ? " -DLRN_PORTABLE=1" : "");
    return LRNCL_SUCCESS;
}

unsigned long lrncl__crc32(unsigned long crc, const void *data, size_t n) {
    const Bytef *p = data;
    uLong c = (uLong)crc;
    while (n) { /* uInt lengths: feed in pieces */
        uInt piece = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, piece);
        p += piece, n -= piece;
    }
    return (unsigned long)c;
}

unsigned long lrncl__source_crc(const char *const texts[2], const size_t sizes[2], const char *options) {
    unsigned long crc = lrncl__crc32(0, options, strlen(options));
    crc = lrncl__crc32(crc, "\n", 1);
    for (int i = 0; i < 2; ++i)
        crc = lrncl__crc32(crc, texts[i], sizes[i]);
    return crc;
}

/* ---- programs from binaries --------------------------------------------------------------- */

cl_int lrncl__program_from_binary(lrncl_context *c, const unsigned char *bin, size_t size, const char *options,
                                  cl_program *out) {
    cl_int err, bin_status = CL_SUCCESS;
    cl_program prog = clCreateProgramWithBinary(c->ctx, 1, &c->dev, &size, &bin, &bin_status, &err);
    if (err != CL_SUCCESS)
        return err;
    if (bin_status != CL_SUCCESS) {
        clReleaseProgram(prog);
        return bin_status;
    }
    err = clBuildProgram(prog, 1, &c->dev, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        clReleaseProgram(prog);
        return err;
    }
    *out = prog;
    return CL_SUCCESS;
}

cl_int lrncl__program_binary(cl_program prog, unsigned char **bin, size_t *size) {
    size_t n = 0;
    cl_int err = clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof n, &n, NULL);
    if (err != CL_SUCCESS)
        return err;
    if (n == 0)
        return CL_INVALID_PROGRAM_EXECUTABLE;
    unsigned char *b = malloc(n);
    if (!b)
        return CL_OUT_OF_HOST_MEMORY;
    err = clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof b, &b, NULL);
    if (err != CL_SUCCESS) {
        free(b);
        return err;
    }
    *bin = b;
    *size = n;
    return CL_SUCCESS;
}

/* ---- source builds ------------------------------------------------------------------------ */

lrncl_status lrncl__build_source(lrncl_context *c, const char *const texts[2], const size_t sizes[2],
                                  const char *options, cl_program *out) {
    cl_int err;
    cl_program prog = clCreateProgramWithSource(c->ctx, 2, (const char **)texts, sizes, &err);
    if (err != CL_SUCCESS)
        return lrncl__cl_fail(err, "clCreateProgramWithSource");
    err = clBuildProgram(prog, 1, &c->dev, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        size_t len = 0, extra = LRNCL_OPTIONS_MAX + 64;
        char *log = NULL;
        if (clGetProgramBuildInfo(prog, c->dev, CL_PROGRAM_BUILD_LOG, 0, NULL, &len) == CL_SUCCESS &&
            (log = malloc(len + extra)) != NULL) {
            int head = snprintf(log, extra, "clBuildProgram (%s) failed (%d); build log:\n", options, (int)err);
            head = head < 0 ? 0 : head; /* the head fits: options is shorter than LRNCL_OPTIONS_MAX */
            if (clGetProgramBuildInfo(prog, c->dev, CL_PROGRAM_BUILD_LOG, len, log + head, NULL) != CL_SUCCESS)
                log[head] = '\0';
            lrncl__set_error_text(log);
            free(log);
        } else {
            lrncl__fail(LRNCL_ERROR_BUILD_FAILED, "clBuildProgram (%s) failed (%d); no build log", options, (int)err);
        }
        clReleaseProgram(prog);
        return LRNCL_ERROR_BUILD_FAILED;
    }
    *out = prog;
    return LRNCL_SUCCESS;
}

lrncl_status lrncl__build_variant(lrncl_context *c, const lrncl_variant *v, cl_program *out) {
    const char *texts[2];
    size_t sizes[2];
    char options[LRNCL_OPTIONS_MAX];
    lrncl_status st = lrncl__variant_program(c, v, texts, sizes, options);
    if (st != LRNCL_SUCCESS)
        return st;
    if (!c->can_compile)
        return lrncl__fail(LRNCL_ERROR_UNSUPPORTED, "this device has no OpenCL compiler (or is an accelerator): "
                           "write the sources with `lrncl compile --emit-source` and build them with the "
                           "vendor's offline compiler");
    return lrncl__build_source(c, texts, sizes, options, out);
}
