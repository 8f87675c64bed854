/* fuzz_cli_options.c: the lrncl command's option parsing on arbitrary argument lists. The input
 * is argv as NUL-separated strings; its first byte picks the command (forward, backward, or a
 * command that takes only some options). Checked: collected values point into argv, every
 * failure is recorded as one printable line, and options that parse give descriptors whose
 * values came from the arguments. */
#include "cli_common.h"
#include "cli_options.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_ARGS = 64 };

static void check_error_line(void) {
    if (!cli_error_pending())
        abort(); /* a failure must say why */
    const char *t = cli_error_text();
    if (!t[0])
        abort();
    for (const char *p = t; *p; p++)
        if (*p == '\n' || *p == '\r')
            abort(); /* one line on stderr */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    const unsigned which = data[0] % 3;
    char *buf = malloc(size); /* data[1..] plus a final NUL */
    if (!buf)
        return 0;
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    char *argv[MAX_ARGS + 1];
    int argc = 0;
    for (size_t i = 0; i < size - 1 && argc < MAX_ARGS; i += strlen(buf + i) + 1)
        argv[argc++] = buf + i;
    argv[argc] = NULL;

    static const unsigned allowed[3] = {
        OPTS_PARAMS | OPT_BIT(OPT_SCALE_OUTPUT),     /* forward */
        OPTS_PARAMS | OPT_BIT(OPT_GRAD_OUTPUT),      /* backward */
        OPT_BIT(OPT_DEVICE) | OPT_BIT(OPT_MODE),     /* a command with few options */
    };
    const char *value[OPT_COUNT];
    cli_error_reset();
    int rc = cli_collect_options("fuzz", argc, argv, allowed[which], value);
    if (rc == CLI_USAGE) {
        check_error_line();
    } else if (rc == CLI_OK) {
        for (int o = 0; o < OPT_COUNT; o++) {
            if (!value[o])
                continue;
            if (!(allowed[which] & OPT_BIT(o)) || value[o] < buf || value[o] >= buf + size || !value[o][0])
                abort(); /* a value of an allowed option, inside argv, not empty */
        }
        if (which < 2) {
            run_options ro;
            if (!cli_build_run_options((int)which, value, &ro) || !cli_device_option(value[OPT_DEVICE], &ro))
                check_error_line();
            else if (ro.input != value[OPT_INPUT] || ro.output != value[OPT_OUTPUT] ||
                     (ro.desc.mode != LRNCL_ACROSS_CHANNELS && ro.desc.mode != LRNCL_WITHIN_CHANNEL))
                abort();
        }
    } else if (rc != CLI_HELP) {
        abort();
    }
    free(buf);
    return 0;
}
