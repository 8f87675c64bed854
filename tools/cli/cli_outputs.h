/* cli_outputs.h: writing a command's output files, all or nothing for regular files.
 *
 * A regular file (or a path that does not exist yet) is first written whole to a temporary
 * file in its folder (mkstemp: a fresh name, never through a link someone planted), given the
 * old file's mode and owner, and synced; only when every output is ready are they renamed into
 * place, and if a rename fails the ones already renamed are put back, so that on any failure
 * every such path holds exactly what it held before (or stays absent). A symbolic link is
 * written through: its target is replaced and the link stays a link. A read-only file (no write
 * permission for the user, or no write bit at all) is refused, as cp refuses it.
 *
 * An output that is not a regular file (a pipe, a FIFO, a device, /dev/stdout, /dev/fd/N) cannot
 * be replaced: it is written in place, never turned into a file. These are written first, after
 * every computation succeeded; if one fails, no regular output is changed, but what a stream or
 * device already received stays received.
 *
 * Two outputs naming the same file (the same path, a hard link, a link to it) are refused. */
#ifndef LRNCL_CLI_OUTPUTS_H
#define LRNCL_CLI_OUTPUTS_H

#include "npy.h"

#include <stdio.h>
#include <sys/types.h>

/* One regular file replaced whole through a temporary file beside it (the tuning database; the
 * regular outputs below). */
typedef struct {
    const char *what;  /* the option that named it, for messages */
    char *target;    /* the file to replace: the path, or where its symbolic links lead */
    char *temp;      /* the temporary file being written */
    FILE *f;         /* open on temp */
    int existed;     /* target existed: its mode and owner were copied to temp */
    dev_t dev;       /* identity: of the file, or, for a new one, of its folder */
    ino_t ino;
} cli_replace;

/* Resolves path (what = the option, for messages) and opens a temporary file for it. Refuses a
 * directory, a non-regular file, a read-only file, a link to nowhere. 1 on success, else 0
 * (recorded with cli_fail) with nothing left behind. */
int cli_replace_open(cli_replace *r, const char *what, const char *path);
/* Flushes and syncs the temporary file and renames it over the target, then syncs the folder.
 * 1 on success, else 0 (recorded), the target untouched and the temporary file removed. */
int cli_replace_commit(cli_replace *r);
/* Removes the temporary file (if any) and frees the names. Safe to call twice. */
void cli_replace_discard(cli_replace *r);

enum { CLI_OUTPUTS_MAX = 4 };

typedef struct {
    int count;
    struct {
        const char *what;   /* the option that named it, for messages */
        const char *path;   /* the caller's string */
        cli_replace rep;    /* a regular output: its staged file */
        int fd;             /* an output written in place: open on it, else -1 */
        char *backup;       /* a hard link to what the target held before, while committing */
        npy_dtype dtype;    /* in place: what to write at commit (data stays the caller's) */
        const void *data;
        int ndim;
        const size_t *shape;
    } file[CLI_OUTPUTS_MAX];
} cli_outputs;

/* Prepares one output: a regular one is written whole (as npy_write would) to its temporary
 * file; one written in place is opened (data and shape must then stay valid until commit).
 * what is the option's name ("--output"). 1 on success, else 0 (recorded with cli_fail). */
int cli_outputs_stage(cli_outputs *o, const char *what, const char *path, npy_dtype dtype, const void *data,
                      int ndim, const size_t *shape);
/* Writes the in-place outputs, then renames every staged file into place, or none: 1 on
 * success, else 0 (recorded). Either way the temporary files and backups are gone afterwards. */
int cli_outputs_commit(cli_outputs *o);
/* Removes the staged files and closes the in-place outputs (after a failure before the commit).
 * Safe to call twice. */
void cli_outputs_discard(cli_outputs *o);

#endif /* LRNCL_CLI_OUTPUTS_H */
