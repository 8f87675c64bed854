/* fuzz_program_cache.c: libFuzzer target for the disk cache's entry parser
 * (lrncl__store_parse_entry, host/disk_cache.c), the only code that reads bytes a damaged or
 * hostile cache folder could hold. It must accept only whole entries whose crc32 matches, and
 * never read outside the input. Seeds: tests/fuzz/corpus/program_cache/ (a well-formed entry and
 * a truncated one).
 *
 * Build (clang, libclang-rt-14-dev):
 *   clang -g -O1 -fsanitize=fuzzer,address -Iinclude -Ihost -DCL_TARGET_OPENCL_VERSION=120 \
 *     tests/fuzz/fuzz_program_cache.c host/disk_cache.c <the other host sources and the
 *     generated kernel file> -lOpenCL -lz
 * or through the fuzz targets' CMake, linking lrncl_objects and ZLIB::ZLIB. */
#include "internal.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *key = NULL;
    const unsigned char *bin = NULL;
    size_t key_len = 0, bin_len = 0;
    if (lrncl__store_parse_entry(data, size, &key, &key_len, &bin, &bin_len) == 0) {
        /* An accepted entry lies wholly inside the input: the header, the key, then the binary
         * up to the last byte. */
        const uint8_t *k = (const uint8_t *)key;
        if (k != data + 24 || bin != k + key_len || bin_len == 0 || bin + bin_len != data + size)
            __builtin_trap();
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < key_len; i++)
            sink ^= k[i];
        for (size_t i = 0; i < bin_len; i++)
            sink ^= bin[i];
        (void)sink;
    }
    return 0;
}
