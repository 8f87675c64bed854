/* fuzz_plan_create.c: descriptor validation on arbitrary bytes. The input is copied over an
 * lrncl_desc (what does not fill it stays lrncl_desc_init's defaults) and given to
 * lrncl_plan_create on the default device (PoCL here), and to the pure descriptor functions.
 * Checked: a refusal sets no plan and says why; an accepted plan is released cleanly; nothing
 * crashes or trips ASan/UBSan. One context serves the whole run. */
#include "lrncl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lrncl_context *ctx;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!ctx && lrncl_context_create_default(&ctx) != LRNCL_SUCCESS)
        abort(); /* no device: nothing would be tested */
    lrncl_desc d;
    lrncl_desc_init(&d, (lrncl_mode)(size ? data[0] & 1 : 0));
    memcpy(&d, data, size < sizeof d ? size : sizeof d);
    if (size && !(data[0] & 0x80))
        d.struct_size = sizeof d; /* most inputs past the struct_size check; the rest test it */
    (void)lrncl_desc_elements(&d);
    (void)lrncl_desc_span(&d);
    lrncl_plan *p = (lrncl_plan *)(uintptr_t)1;
    lrncl_status st = lrncl_plan_create(ctx, &d, &p);
    if (st == LRNCL_SUCCESS) {
        if (!p || p == (lrncl_plan *)(uintptr_t)1)
            abort();
        lrncl_plan_release(p);
    } else {
        const char *why = lrncl_last_error();
        if (!why || !why[0] || !lrncl_status_string(st))
            abort();
    }
    return 0;
}
