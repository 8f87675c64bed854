/* status.c: status strings, the thread-local error detail and the version. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

#define LRNCL_ERROR_TEXT_MAX 16384
static _Thread_local char lrncl_error_text[LRNCL_ERROR_TEXT_MAX];

unsigned lrncl_version_number(void) { return LRNCL_VERSION_NUMBER; }

const char *lrncl_version_string(void) { return "0.2.0"; }

static const char *cl_error_name(cl_int e) {
    switch (e) {
#define CASE(x) case x: return #x;
    CASE(CL_DEVICE_NOT_FOUND) CASE(CL_DEVICE_NOT_AVAILABLE) CASE(CL_COMPILER_NOT_AVAILABLE)
    CASE(CL_MEM_OBJECT_ALLOCATION_FAILURE) CASE(CL_OUT_OF_RESOURCES) CASE(CL_OUT_OF_HOST_MEMORY)
    CASE(CL_PROFILING_INFO_NOT_AVAILABLE) CASE(CL_MEM_COPY_OVERLAP) CASE(CL_IMAGE_FORMAT_MISMATCH)
    CASE(CL_IMAGE_FORMAT_NOT_SUPPORTED) CASE(CL_BUILD_PROGRAM_FAILURE) CASE(CL_MAP_FAILURE)
    CASE(CL_MISALIGNED_SUB_BUFFER_OFFSET) CASE(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
    CASE(CL_COMPILE_PROGRAM_FAILURE) CASE(CL_LINKER_NOT_AVAILABLE) CASE(CL_LINK_PROGRAM_FAILURE)
    CASE(CL_DEVICE_PARTITION_FAILED) CASE(CL_KERNEL_ARG_INFO_NOT_AVAILABLE)
    CASE(CL_INVALID_VALUE) CASE(CL_INVALID_DEVICE_TYPE) CASE(CL_INVALID_PLATFORM)
    CASE(CL_INVALID_DEVICE) CASE(CL_INVALID_CONTEXT) CASE(CL_INVALID_QUEUE_PROPERTIES)
    CASE(CL_INVALID_COMMAND_QUEUE) CASE(CL_INVALID_HOST_PTR) CASE(CL_INVALID_MEM_OBJECT)
    CASE(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR) CASE(CL_INVALID_IMAGE_SIZE) CASE(CL_INVALID_SAMPLER)
    CASE(CL_INVALID_BINARY) CASE(CL_INVALID_BUILD_OPTIONS) CASE(CL_INVALID_PROGRAM)
    CASE(CL_INVALID_PROGRAM_EXECUTABLE) CASE(CL_INVALID_KERNEL_NAME) CASE(CL_INVALID_KERNEL_DEFINITION)
    CASE(CL_INVALID_KERNEL) CASE(CL_INVALID_ARG_INDEX) CASE(CL_INVALID_ARG_VALUE)
    CASE(CL_INVALID_ARG_SIZE) CASE(CL_INVALID_KERNEL_ARGS) CASE(CL_INVALID_WORK_DIMENSION)
    CASE(CL_INVALID_WORK_GROUP_SIZE) CASE(CL_INVALID_WORK_ITEM_SIZE) CASE(CL_INVALID_GLOBAL_OFFSET)
    CASE(CL_INVALID_EVENT_WAIT_LIST) CASE(CL_INVALID_EVENT) CASE(CL_INVALID_OPERATION)
    CASE(CL_INVALID_GL_OBJECT) CASE(CL_INVALID_BUFFER_SIZE) CASE(CL_INVALID_MIP_LEVEL)
    CASE(CL_INVALID_GLOBAL_WORK_SIZE) CASE(CL_INVALID_PROPERTY) CASE(CL_INVALID_IMAGE_DESCRIPTOR)
    CASE(CL_INVALID_COMPILER_OPTIONS) CASE(CL_INVALID_LINKER_OPTIONS)
    CASE(CL_INVALID_DEVICE_PARTITION_COUNT)
#undef CASE
    default: return NULL;
    }
}

const char *lrncl_status_string(lrncl_status s) {
    switch (s) {
    case LRNCL_SUCCESS: return "success";
    case LRNCL_ERROR_NULL_ARGUMENT: return "a required argument is NULL";
    case LRNCL_ERROR_NULL_BUFFER: return "a required buffer is NULL";
    case LRNCL_ERROR_INVALID_MODE: return "invalid LRN mode";
    case LRNCL_ERROR_INVALID_SHAPE: return "invalid shape: a dimension is zero";
    case LRNCL_ERROR_SHAPE_OVERFLOW: return "shape too large: element or byte count overflows size_t";
    case LRNCL_ERROR_INVALID_LOCAL_SIZE: return "invalid local_size";
    case LRNCL_ERROR_INVALID_ALPHA: return "invalid alpha";
    case LRNCL_ERROR_INVALID_BETA: return "invalid beta";
    case LRNCL_ERROR_INVALID_K: return "invalid k";
    case LRNCL_ERROR_BUFFER_TOO_SMALL: return "buffer smaller than the shape needs";
    case LRNCL_ERROR_CONTEXT_MISMATCH: return "queue or buffer belongs to another context or device";
    case LRNCL_ERROR_ALIASED_BUFFERS: return "an output buffer is also passed as another argument";
    case LRNCL_ERROR_NO_DEVICE: return "no OpenCL device found";
    case LRNCL_ERROR_INVALID_DEVICE: return "LRNCL_DEVICE or LRNCL_DEVICE_CLASS names no device or class";
    case LRNCL_ERROR_BUILD_FAILED: return "OpenCL program build failed";
    case LRNCL_ERROR_OUT_OF_HOST_MEMORY: return "out of host memory";
    case LRNCL_ERROR_UNSUPPORTED: return "unsupported on this device or version";
    case LRNCL_ERROR_INVALID_CONVENTION: return "invalid convention, or a mode the convention does not define";
    case LRNCL_ERROR_INVALID_LAYOUT: return "invalid layout, dtype or strides";
    case LRNCL_ERROR_MISSING_BINARY: return "a program binary is missing and this context may not build it";
    case LRNCL_ERROR_INVALID_VALUE: return "invalid value (a struct not set up by its init call, or an option outside its set)";
    }
    if ((int)s < 0 && (int)s > -1000) {
        const char *name = cl_error_name((cl_int)s);
        return name ? name : "OpenCL error";
    }
    return "unknown status";
}

const char *lrncl_last_error(void) { return lrncl_error_text; }

void lrncl__clear_error(void) { lrncl_error_text[0] = '\0'; }

void lrncl__set_error_text(const char *text) {
    size_t n = strlen(text);
    if (n >= sizeof lrncl_error_text)
        n = sizeof lrncl_error_text - 1;
    memcpy(lrncl_error_text, text, n);
    lrncl_error_text[n] = '\0';
}

lrncl_status lrncl__fail(lrncl_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(lrncl_error_text, sizeof lrncl_error_text, fmt, ap);
    va_end(ap);
    return s;
}

lrncl_status lrncl__cl_fail(cl_int err, const char *what) {
    const char *name = cl_error_name(err);
    if (name)
        return lrncl__fail((lrncl_status)err, "%s failed: %s (%d)", what, name, (int)err);
    return lrncl__fail(err < 0 && err > -1000 ? (lrncl_status)err : LRNCL_ERROR_UNSUPPORTED,
                       "%s failed: OpenCL error %d", what, (int)err);
}
