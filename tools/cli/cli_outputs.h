/* cli_outputs.h: writing a command's output files all or nothing. Each file is first written
 * whole to a temporary file next to it; only when every one of them is written are they
 * renamed into place, and if a rename fails the ones already renamed are put back, so that on
 * any failure every output path holds exactly what it held before (or stays absent). */
#ifndef LRNCL_CLI_OUTPUTS_H
#define LRNCL_CLI_OUTPUTS_H

#include "npy.h"

#include <stddef.h>

enum { CLI_OUTPUTS_MAX = 4 };

typedef struct {
    int count;
    struct {
        const char *path;   /* the caller's string */
        char *staged;       /* the written temporary file */
        char *backup;       /* a hard link to what path held before, while committing */
    } file[CLI_OUTPUTS_MAX];
} cli_outputs;

/* Writes one file (as npy_write would) to its temporary file. 1 on success, else 0 (recorded
 * with cli_fail). */
int cli_outputs_stage(cli_outputs *o, const char *path, npy_dtype dtype, const void *data, int ndim,
                      const size_t *shape);
/* Renames every staged file into place, or none: 1 on success, else 0 (recorded). Either way
 * the temporary files and backups are gone afterwards. */
int cli_outputs_commit(cli_outputs *o);
/* Removes the staged files (after a failure before the commit). Safe to call twice. */
void cli_outputs_discard(cli_outputs *o);

#endif /* LRNCL_CLI_OUTPUTS_H */
