/* embedded.c: the files built into the library (the kernels, the built-in tuning database), at
 * the bottom of the host layers: it calls nothing of lrncl's. */
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
