/* cli_outputs.c: a command's output files, all or nothing (see cli_outputs.h).
 *
 * Committing: every path that exists first gets a hard link (a backup of what it holds), so a
 * later failure can put it back; a path that cannot be linked (a directory, a file system
 * without hard links) fails the commit before anything is renamed. Then the staged files are
 * renamed into place in order; when rename i fails, the paths before it get their backups
 * back (or are removed, when they did not exist). POSIX: link, lstat. */
#define _POSIX_C_SOURCE 200809L

#include "cli_outputs.h"

#include "cli_common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cli_outputs_stage(cli_outputs *o, const char *path, npy_dtype dtype, const void *data, int ndim,
                      const size_t *shape) {
    if (o->count >= CLI_OUTPUTS_MAX) {
        cli_fail("internal error: more than %d output files", CLI_OUTPUTS_MAX);
        return 0;
    }
    char err[512], *staged = NULL;
    if (npy_write_staged(path, dtype, data, ndim, shape, &staged, err, sizeof err) != 0) {
        cli_fail("%s", err);
        return 0;
    }
    o->file[o->count].path = path;
    o->file[o->count].staged = staged;
    o->file[o->count].backup = NULL;
    o->count++;
    return 1;
}

/* A hard link to path under a new name next to it, in *backup; 1 on success. */
static int link_backup(const char *path, char **backup) {
    size_t len = strlen(path) + 32;
    char *name = malloc(len);
    if (!name) {
        cli_fail("%s: out of memory", path);
        return 0;
    }
    for (unsigned i = 0; i < 100; i++) {
        snprintf(name, len, "%s.keep-%lx-%u", path, (unsigned long)getpid(), i);
        if (link(path, name) == 0) {
            *backup = name;
            return 1;
        }
        if (errno != EEXIST)
            break;
    }
    cli_fail("%s: cannot keep a copy of the existing file while replacing it (%s); nothing was written",
             path, strerror(errno));
    free(name);
    return 0;
}

static void drop(char **name, int unlink_it) {
    if (*name && unlink_it)
        remove(*name);
    free(*name);
    *name = NULL;
}

int cli_outputs_commit(cli_outputs *o) {
    int ok = 1, renamed = 0;
    for (int i = 0; i < o->count && ok; i++) {
        struct stat st;
        if (lstat(o->file[i].path, &st) == 0)
            ok = link_backup(o->file[i].path, &o->file[i].backup);
        else if (errno != ENOENT) {
            cli_fail("%s: %s; nothing was written", o->file[i].path, strerror(errno));
            ok = 0;
        }
    }
    for (; ok && renamed < o->count; renamed++)
        if (rename(o->file[renamed].staged, o->file[renamed].path) != 0) {
            cli_fail("%s: cannot move the written file into place: %s; nothing was written", o->file[renamed].path,
                     strerror(errno));
            ok = 0;
            break;
        }
    if (!ok)
        for (int i = 0; i < renamed; i++) {
            /* Put back what path held before, or remove it if it did not exist. */
            if (o->file[i].backup) {
                if (rename(o->file[i].backup, o->file[i].path) == 0)
                    drop(&o->file[i].backup, 0);
            } else {
                remove(o->file[i].path);
            }
        }
    for (int i = 0; i < o->count; i++) {
        drop(&o->file[i].staged, i >= renamed); /* renamed ones are no longer there */
        drop(&o->file[i].backup, 1);
    }
    o->count = 0;
    return ok;
}

void cli_outputs_discard(cli_outputs *o) {
    for (int i = 0; i < o->count; i++) {
        drop(&o->file[i].staged, 1);
        drop(&o->file[i].backup, 1);
    }
    o->count = 0;
}
