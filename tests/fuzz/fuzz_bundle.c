/* fuzz_bundle.c: libFuzzer target for bundle loading, the code that reads what a damaged or
 * hostile bundle folder could hold: a manifest's text (lrncl__manifest_check, host/bundle.c) and a
 * binary's bytes checked against its line (lrncl__manifest_find, lrncl__bundle_check_binary), all
 * before any driver call. Input: a 2-byte little-endian manifest length, the manifest, then the
 * binary. Invariants: the check answers 0, 1 or -1 with a reason; in an accepted manifest every
 * program line is found again by its name, its fields lie inside the text, and a binary passes
 * exactly when it has the recorded size and checksum. Seeds: tests/fuzz/corpus/bundle/ (a real
 * bundle's manifest, its line edited to a 64-byte binary that follows; CRLF and older forms). */
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2)
        return 0;
    size_t mlen = (size_t)data[0] | (size_t)data[1] << 8;
    if (mlen > size - 2)
        mlen = size - 2;
    const unsigned char *bin = data + 2 + mlen;
    size_t blen = size - 2 - mlen;
    char *text = malloc(mlen + 1);
    if (!text)
        return 0;
    memcpy(text, data + 2, mlen);
    text[mlen] = '\0';
    char why[256];
    memset(why, 'x', sizeof why);
    int k = lrncl__manifest_check(text, mlen, why, sizeof why);
    if (k < -1 || k > 1 || (k == -1 && !memchr(why, '\0', sizeof why)))
        __builtin_trap();
    for (const char *line = text; k == 0 && line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > 8 && memcmp(line, "program\t", 8) == 0) {
            const char *tab = memchr(line + 8, '\t', len - 8);
            size_t nlen = tab ? (size_t)(tab - line - 8) : 0;
            char name[LRNCL_VARIANT_NAME_MAX];
            if (!tab || nlen == 0 || nlen >= sizeof name)
                __builtin_trap(); /* an accepted program line has a name of the allowed length */
            memcpy(name, line + 8, nlen);
            name[nlen] = '\0';
            lrncl_manifest_line l;
            if (lrncl__manifest_find(text, name, &l) != 0 || l.line != line || l.name != line + 8 ||
                l.options < text || l.options + l.options_len > text + mlen)
                __builtin_trap();
            int ok = lrncl__bundle_check_binary(&l, name, bin, blen, why, sizeof why) == 0;
            int expect = l.has_binary && l.size == blen && l.sum == lrncl__binary_sum(name, l.source_crc, bin, blen);
            if (ok != expect)
                __builtin_trap();
        }
        line = end ? end + 1 : NULL;
    }
    free(text);
    return 0;
}
