/* cli_device.h: OpenCL devices for the lrncl programs: the platform:device list as `lrncl
 * devices` numbers it, device titles, and lrncl contexts on a chosen device. */
#ifndef LRNCL_CLI_DEVICE_H
#define LRNCL_CLI_DEVICE_H

#include "lrncl.h"

#include <stddef.h>

typedef struct {
    cl_platform_id platform;
    cl_device_id device;
    unsigned p, d; /* indices as 'lrncl devices' prints them */
} device_entry;

/* Every platform:device pair, in index order (CL_DEVICE_TYPE_ALL, as lrncl's default uses);
 * *out is malloc'ed (free it). 1 on success, else 0 (recorded with cli_fail). */
int cli_list_devices(device_entry **out, size_t *count, cl_uint *nplatforms);
/* "Platform name / device name", with " (GPU)" etc. appended when with_type. */
void cli_device_title(cl_device_id dev, int with_type, char *buf, size_t len);
/* "GPU", "CPU", "ACCELERATOR", ... */
const char *cli_device_type_name(cl_device_id dev);
/* An lrncl context on platform:device (a cl_context made here) when has_device, else the
 * library's default (LRNCL_DEVICE, else the first device). 1 on success, else 0 (recorded). */
int cli_open_context(int has_device, unsigned platform, unsigned device, lrncl_context **out);
/* `lrncl devices`: prints the list, marking the default; returns the exit status. */
int cli_cmd_devices(void);

#endif /* LRNCL_CLI_DEVICE_H */
