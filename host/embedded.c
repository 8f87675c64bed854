/* embedded.c: the files embedded at build time by cmake/embed_kernels.cmake (the kernels, the
 * built-in tuning database), found by name. Calls no other host file. */
#include "internal.h"

#include <string.h>

/* Generated at build time by cmake/embed_kernels.cmake. */
extern const struct lrncl_embedded_source lrncl_embedded_sources[];

const struct lrncl_embedded_source *lrncl__embedded(const char *name) {
    for (const struct lrncl_embedded_source *s = lrncl_embedded_sources; s->name; ++s)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}
