/* fuzz_tuning_db.c: libFuzzer target for the tuning database's lookup (lrncl__tuning_db_lookup,
 * host/tuning.c), which reads the file LRNCL_TUNING_DB names: any bytes. Input: the key (the first
 * line), then the database text. Invariants: it reads nothing outside the text, and an entry it
 * accepts has a work-group size and a slide block of at least 1. Seeds: tests/fuzz/corpus/tuning_db/
 * (lines of host/tuning_db.txt with their keys). */
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nl = memchr(data, '\n', size);
    if (!nl || memchr(data, '\0', (size_t)(nl - data)))
        return 0;
    size_t klen = (size_t)(nl - data), tlen = size - klen - 1;
    char *key = malloc(klen + 1);
    char *text = malloc(tlen ? tlen : 1); /* exactly the text: ASan sees any read past it */
    if (!key || !text) {
        free(key);
        free(text);
        return 0;
    }
    memcpy(key, data, klen);
    key[klen] = '\0';
    memcpy(text, nl + 1, tlen);
    lrncl_tuning t = {0, 0};
    if (lrncl__tuning_db_lookup(text, tlen, key, &t) && (t.local_size < 1 || t.slide_block < 1))
        __builtin_trap();
    free(key);
    free(text);
    return 0;
}
