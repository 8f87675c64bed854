/* cli_outputs.c: a command's output files, all or nothing for regular files (see cli_outputs.h).
 *
 * Committing: the outputs written in place (pipes, devices, standard streams) go first, so that
 * when one of them fails no regular output has changed. Then every regular path that exists
 * gets a hard link (a backup of what it holds), so a later failure can put it back; a path that
 * cannot be linked (a file system without hard links) fails the commit before anything is
 * renamed. Then the staged files are renamed into place in order; when rename i fails, the paths
 * before it get their backups back (or are removed, when they did not exist). POSIX: mkstemp,
 * link, fsync, realpath. */
#define _XOPEN_SOURCE 700 /* POSIX 2008 with realpath */

#include "cli_outputs.h"

#include "cli_common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- one regular file, replaced whole -------------------------------------------------------- */

static char *dup_text(const char *s) {
    char *d = malloc(strlen(s) + 1);
    if (d)
        strcpy(d, s);
    return d;
}

/* The folder part of path ("." for a bare name), malloc'ed. */
static char *folder_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash)
        return dup_text(".");
    size_t len = slash == path ? 1 : (size_t)(slash - path);
    char *d = malloc(len + 1);
    if (d) {
        memcpy(d, path, len);
        d[len] = '\0';
    }
    return d;
}

static const char *base_of(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The process's umask without changing it (umask() would, for a moment, for every thread):
 * Linux shows it in /proc/self/status. Where it cannot be read, 077: new files then stay private. */
static mode_t current_umask(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned mask = 077;
    if (!f)
        return (mode_t)mask;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Umask: %o", &mask) == 1)
            break;
    fclose(f);
    return (mode_t)(mask & 0777);
}

/* Best effort: after a rename the folder's entry is what must reach the disk. Some file
 * systems cannot sync a folder; the files themselves were synced. */
static void sync_folder(const char *path) {
    char *folder = folder_of(path);
    if (!folder)
        return;
    int fd = open(folder, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (fsync(fd) != 0) {
            /* nothing to undo: the rename is done */
        }
        close(fd);
    }
    free(folder);
}

void cli_replace_discard(cli_replace *r) {
    if (r->f)
        fclose(r->f);
    r->f = NULL;
    if (r->temp)
        remove(r->temp);
    free(r->temp);
    free(r->target);
    r->temp = r->target = NULL;
}

int cli_replace_open(cli_replace *r, const char *what, const char *path) {
    struct stat st;
    memset(r, 0, sizeof *r);
    r->what = what;
    size_t len = strlen(path);
    if (len == 0 || path[len - 1] == '/') {
        cli_fail("%s '%s': not a file name", what, path);
        return 0;
    }
    if (lstat(path, &st) == 0) {
        if (S_ISLNK(st.st_mode)) {
            /* Write through the link: its target is replaced, the link stays. */
            if (stat(path, &st) != 0) {
                if (errno == ENOENT)
                    cli_fail("%s %s: a symbolic link to a file that does not exist; not writing through it", what,
                             path);
                else
                    cli_fail("%s %s: %s", what, path, strerror(errno));
                return 0;
            }
            if (!(r->target = realpath(path, NULL))) {
                cli_fail("%s %s: cannot resolve the symbolic link: %s", what, path, strerror(errno));
                return 0;
            }
        } else if (!(r->target = dup_text(path))) {
            cli_fail("%s %s: out of memory", what, path);
            return 0;
        }
        if (S_ISDIR(st.st_mode))
            cli_fail("%s %s: is a directory", what, path);
        else if (!S_ISREG(st.st_mode))
            cli_fail("%s %s: not a regular file", what, path);
        else if ((st.st_mode & 0222) == 0 || faccessat(AT_FDCWD, r->target, W_OK, AT_EACCESS) != 0)
            cli_fail("%s %s: the file is read-only for this user (mode %04o); not replacing it", what, path,
                     (unsigned)(st.st_mode & 07777));
        else {
            r->existed = 1;
            r->dev = st.st_dev;
            r->ino = st.st_ino;
        }
        if (!r->existed) {
            cli_replace_discard(r);
            return 0;
        }
    } else if (errno == ENOENT) {
        char *folder = folder_of(path);
        struct stat fst;
        int oom = !folder, found = !oom && stat(folder, &fst) == 0;
        int saved = found && !S_ISDIR(fst.st_mode) ? ENOTDIR : errno;
        free(folder);
        if (oom || !found || !S_ISDIR(fst.st_mode)) {
            cli_fail("%s %s: cannot write it: %s", what, path, oom ? "out of memory" : strerror(saved));
            return 0;
        }
        r->dev = fst.st_dev;
        r->ino = fst.st_ino;
        if (!(r->target = dup_text(path))) {
            cli_fail("%s %s: out of memory", what, path);
            return 0;
        }
    } else {
        cli_fail("%s %s: %s", what, path, strerror(errno));
        return 0;
    }

    static const char suffix[] = ".tmp-XXXXXX";
    if (!(r->temp = malloc(strlen(r->target) + sizeof suffix))) {
        cli_fail("%s %s: out of memory", what, path);
        cli_replace_discard(r);
        return 0;
    }
    strcpy(r->temp, r->target);
    strcat(r->temp, suffix);
    int fd = mkstemp(r->temp); /* a new name, O_EXCL: never a link someone put there */
    if (fd < 0) {
        cli_fail("%s %s: cannot create a temporary file beside it: %s", what, path, strerror(errno));
        free(r->temp);
        r->temp = NULL;
        cli_replace_discard(r);
        return 0;
    }
    mode_t mode = (mode_t)(0666 & ~current_umask());
    if (r->existed) {
        /* Keep the old file's owner where we may set it (root may; others keep the group when
         * they belong to it) and its permissions (not set-id bits). */
        mode = st.st_mode & 0777;
        if ((st.st_uid != geteuid() || st.st_gid != getegid()) && fchown(fd, st.st_uid, st.st_gid) != 0 &&
            fchown(fd, (uid_t)-1, st.st_gid) != 0) {
            /* the new file is ours: as with any rename over a file another user owns */
        }
    }
    if (fchmod(fd, mode) != 0 || !(r->f = fdopen(fd, "wb"))) {
        cli_fail("%s %s: cannot set up the temporary file: %s", what, path, strerror(errno));
        close(fd);
        cli_replace_discard(r);
        return 0;
    }
    return 1;
}

/* Flushes, syncs and closes the temporary file. 1 on success, else 0 (recorded). */
static int replace_finish(cli_replace *r) {
    errno = 0;
    int ok = fflush(r->f) == 0 && (fsync(fileno(r->f)) == 0 || errno == EINVAL);
    int saved = errno;
    if (fclose(r->f) != 0 && ok) {
        ok = 0;
        saved = errno;
    }
    r->f = NULL;
    if (!ok)
        cli_fail("%s %s: write failed: %s", r->what, r->target, saved ? strerror(saved) : "I/O error");
    return ok;
}

int cli_replace_commit(cli_replace *r) {
    int ok = r->f && replace_finish(r);
    if (ok && rename(r->temp, r->target) != 0) {
        cli_fail("%s %s: cannot move the written file into place: %s", r->what, r->target, strerror(errno));
        ok = 0;
    }
    if (ok) {
        free(r->temp); /* renamed: no longer there */
        r->temp = NULL;
        sync_folder(r->target);
    }
    cli_replace_discard(r);
    return ok;
}

/* ---- a command's outputs ------------------------------------------------------------------- */

/* The standard stream a path names (/dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N), or
 * -1. Those are written through the process's own descriptor, at its position, whatever it is
 * open on (a pipe, a socket, a file the shell opened for appending). */
static int stream_fd(const char *path) {
    if (strcmp(path, "/dev/stdout") == 0)
        return 1;
    if (strcmp(path, "/dev/stderr") == 0)
        return 2;
    const char *num = strncmp(path, "/dev/fd/", 8) == 0         ? path + 8
                      : strncmp(path, "/proc/self/fd/", 14) == 0 ? path + 14
                                                                 : NULL;
    if (!num || *num < '0' || *num > '9')
        return -1;
    char *end;
    errno = 0;
    long n = strtol(num, &end, 10);
    return (*end || errno || n > INT_MAX) ? -1 : (int)n;
}

/* Opens an output that is written in place, in *fd, with its identity in r; 0 when path is a
 * regular file, a directory or absent (then it is replaced whole), -1 on an error (recorded). */
static int open_in_place(const char *what, const char *path, int *fd, cli_replace *r) {
    struct stat st;
    int n = stream_fd(path);
    if (n >= 0) {
        *fd = fcntl(n, F_DUPFD_CLOEXEC, 3);
        if (*fd < 0) {
            cli_fail("%s %s: descriptor %d is not open", what, path, n);
            return -1;
        }
        if ((fcntl(*fd, F_GETFL) & O_ACCMODE) == O_RDONLY) {
            cli_fail("%s %s: descriptor %d is not open for writing", what, path, n);
            close(*fd);
            return -1;
        }
    } else {
        if (stat(path, &st) != 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
            return 0;
        /* No O_CREAT, no O_TRUNC: a device or FIFO is written as it is (a FIFO waits for its
         * reader, as a shell's redirection does). */
        *fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
        if (*fd < 0) {
            cli_fail("%s %s: cannot open it for writing: %s", what, path, strerror(errno));
            return -1;
        }
    }
    if (fstat(*fd, &st) != 0 || (n < 0 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))) {
        cli_fail("%s %s: changed while being opened; nothing was written", what, path);
        close(*fd);
        return -1;
    }
    r->existed = 1;
    r->dev = st.st_dev;
    r->ino = st.st_ino;
    return 1;
}

/* Whether two outputs are one file: the same file (device and inode: a hard link, a symbolic
 * link, another spelling of the path), or the same new name in the same folder. */
static int same_file(const cli_replace *a, const cli_replace *b) {
    if (a->existed != b->existed || a->dev != b->dev || a->ino != b->ino)
        return 0;
    return a->existed || strcmp(base_of(a->target), base_of(b->target)) == 0;
}

int cli_outputs_stage(cli_outputs *o, const char *what, const char *path, npy_dtype dtype, const void *data,
                      int ndim, const size_t *shape) {
    if (o->count >= CLI_OUTPUTS_MAX) {
        cli_fail("internal error: more than %d output files", CLI_OUTPUTS_MAX);
        return 0;
    }
    int i = o->count;
    memset(&o->file[i], 0, sizeof o->file[i]);
    o->file[i].what = what;
    o->file[i].path = path;
    o->file[i].fd = -1;
    o->file[i].dtype = dtype;
    o->file[i].data = data;
    o->file[i].ndim = ndim;
    o->file[i].shape = shape;
    cli_replace *r = &o->file[i].rep;
    int in_place = open_in_place(what, path, &o->file[i].fd, r);
    if (in_place < 0 || (!in_place && !cli_replace_open(r, what, path)))
        return 0;
    o->count++; /* from here on discard cleans it up */
    for (int j = 0; j < i; j++)
        if (same_file(&o->file[j].rep, r)) {
            cli_fail("%s %s and %s %s are the same file: give each output its own", o->file[j].what,
                     o->file[j].path, what, path);
            return 0;
        }
    if (in_place)
        return 1;
    char err[512];
    if (npy_write_stream(r->f, path, dtype, data, ndim, shape, err, sizeof err) != 0) {
        cli_fail("%s", err);
        return 0;
    }
    return replace_finish(r);
}

/* Writes output i in place (its descriptor is closed). 1 on success, else 0 (recorded). */
static int write_in_place(cli_outputs *o, int i) {
    struct sigaction ignore, old;
    memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    /* A reader that went away is an error to report, not a signal that kills the process and
     * leaves the staged files behind. */
    int restore = sigaction(SIGPIPE, &ignore, &old) == 0;
    fflush(stdout);
    FILE *f = fdopen(o->file[i].fd, "wb");
    char err[512];
    int ok = 0;
    if (!f) {
        snprintf(err, sizeof err, "%s: %s", o->file[i].path, strerror(errno));
        close(o->file[i].fd);
    } else {
        ok = npy_write_stream(f, o->file[i].path, o->file[i].dtype, o->file[i].data, o->file[i].ndim,
                              o->file[i].shape, err, sizeof err) == 0;
        errno = 0;
        if (fclose(f) != 0 && ok) {
            ok = 0;
            snprintf(err, sizeof err, "%s: write failed: %s", o->file[i].path, errno ? strerror(errno) : "I/O error");
        }
    }
    o->file[i].fd = -1;
    if (restore)
        sigaction(SIGPIPE, &old, NULL);
    if (!ok)
        cli_fail("%s %s; no regular output was changed", o->file[i].what, err);
    return ok;
}

static int same_folder(const char *a, const char *b) {
    size_t la = (size_t)(base_of(a) - a), lb = (size_t)(base_of(b) - b);
    return la == lb && strncmp(a, b, la) == 0;
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
    cli_fail("%s: cannot keep a copy of the existing file while replacing it (%s); no regular output was changed",
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
    for (int i = 0; i < o->count && ok; i++)
        if (o->file[i].fd >= 0)
            ok = write_in_place(o, i);
    for (int i = 0; i < o->count && ok; i++) {
        struct stat st;
        const char *target = o->file[i].rep.target;
        if (!target)
            continue;
        if (lstat(target, &st) == 0)
            ok = link_backup(target, &o->file[i].backup);
        else if (errno != ENOENT) {
            cli_fail("%s: %s; no regular output was changed", target, strerror(errno));
            ok = 0;
        }
    }
    for (; ok && renamed < o->count; renamed++) {
        cli_replace *r = &o->file[renamed].rep;
        if (!r->target)
            continue;
        if (rename(r->temp, r->target) != 0) {
            cli_fail("%s: cannot move the written file into place: %s; no regular output was changed", r->target,
                     strerror(errno));
            ok = 0;
            break;
        }
        drop(&r->temp, 0); /* renamed: no longer there */
    }
    if (!ok)
        for (int i = 0; i < renamed; i++) {
            /* Put back what the target held before, or remove it if it did not exist. */
            const char *target = o->file[i].rep.target;
            if (!target)
                continue;
            if (o->file[i].backup) {
                if (rename(o->file[i].backup, target) == 0)
                    drop(&o->file[i].backup, 0);
            } else {
                remove(target);
            }
        }
    for (int i = 0; ok && i < o->count; i++) {
        const char *target = o->file[i].rep.target;
        int synced = 0; /* an earlier output's folder already */
        for (int j = 0; target && j < i && !synced; j++)
            synced = o->file[j].rep.target && same_folder(o->file[j].rep.target, target);
        if (target && !synced)
            sync_folder(target);
    }
    cli_outputs_discard(o);
    return ok;
}

void cli_outputs_discard(cli_outputs *o) {
    for (int i = 0; i < o->count; i++) {
        cli_replace_discard(&o->file[i].rep);
        drop(&o->file[i].backup, 1);
        if (o->file[i].fd >= 0)
            close(o->file[i].fd);
        o->file[i].fd = -1;
    }
    o->count = 0;
}
