/* The file store: the -c file is the store.  A save writes FILE.tmp-PID
 * next to it, fsyncs it, renames it over FILE (atomic on POSIX file
 * systems) and fsyncs the directory so the rename itself survives a
 * crash.  Readers (a restart, a SIGHUP) see the old or the new document,
 * never a mixture.
 *
 * One running instance per file: sy_store_file_lock takes flock(LOCK_EX)
 * on the file.  A save replaces the inode, so the temporary file is locked
 * before it is renamed over FILE and the old lock is dropped after: the
 * inode at FILE is locked at every instant.  The holder's pid comes from
 * the kernel's own record (/proc/locks), so there is no pid file to go
 * stale. */
#include "config/store.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/arena.h"

#define SY_STORE_MAX_BYTES (64u << 20)

typedef struct file_store {
    sy_store base;
    char *path;
    char *dir;
    int lock_fd; /* holds flock on the inode at path; -1 = not locked */
} file_store;

/* The pid holding a flock on inode `ino`, from /proc/locks, or 0. */
static long lock_holder(ino_t ino)
{
    FILE *f = fopen("/proc/locks", "re");
    if (!f)
        return 0;
    char line[256];
    long pid = 0;
    while (!pid && fgets(line, sizeof line, f)) {
        /* "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" */
        char kind[16], mode[16], rw[16];
        long p;
        unsigned maj, min;
        unsigned long long i;
        const char *c = strchr(line, ':');
        if (c &&
            sscanf(c + 1, "%15s %15s %15s %ld %x:%x:%llu", kind, mode, rw, &p, &maj, &min, &i) ==
                7 &&
            strcmp(kind, "FLOCK") == 0 && (ino_t)i == ino)
            pid = p;
    }
    fclose(f);
    return pid;
}

int sy_store_file_lock(sy_store *st, char *err, size_t errlen)
{
    file_store *fs = (file_store *)st;
    /* A save by the holder may swap the inode between our open and our
     * flock: retry until the locked inode is the one at the path. */
    for (int tries = 0; tries < 10; tries++) {
        int fd = open(fs->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            snprintf(err, errlen, "%s: cannot open: %s", fs->path, strerror(errno));
            return -1;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
            int e = errno;
            struct stat sb;
            long pid = fstat(fd, &sb) == 0 ? lock_holder(sb.st_ino) : 0;
            close(fd);
            if (e == EWOULDBLOCK) {
                char who[64] = "another process";
                if (pid > 0)
                    snprintf(who, sizeof who, "another switchyard (pid %ld)", pid);
                snprintf(err, errlen,
                         "%s is in use by %s: one instance per configuration file "
                         "(it also stores admin API changes); stop that one first",
                         fs->path, who);
                return -1;
            }
            /* A file system without flock: run, but unprotected. */
            snprintf(err, errlen, "%s: cannot lock (%s): a second instance would not be stopped",
                     fs->path, strerror(e));
            return 1;
        }
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(fs->path, &b) == 0 && a.st_ino == b.st_ino &&
            a.st_dev == b.st_dev) {
            if (fs->lock_fd >= 0)
                close(fs->lock_fd);
            fs->lock_fd = fd;
            return 0;
        }
        close(fd);
    }
    snprintf(err, errlen, "%s: cannot lock: the file keeps being replaced", fs->path);
    return -1;
}

/* The file was replaced behind our back (an editor writes a new inode and
 * renames it): lock the new one too, so the next reload keeps the claim. */
static void relock(file_store *fs, int fd)
{
    struct stat a, b;
    if (fs->lock_fd < 0 || fstat(fd, &a) < 0 || fstat(fs->lock_fd, &b) < 0 ||
        (a.st_ino == b.st_ino && a.st_dev == b.st_dev))
        return;
    char err[512];
    sy_store_file_lock(&fs->base, err, sizeof err);
}

static char *file_load(sy_store *st, size_t *len, sy_errors *errs)
{
    file_store *fs = (file_store *)st;
    int fd = open(fs->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        sy_errors_add(errs, "%s: cannot open: %s", fs->path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, n = 0;
    char *buf = sy_malloc(cap + 1);
    for (;;) {
        if (n == cap) {
            if (cap >= SY_STORE_MAX_BYTES) {
                sy_errors_add(errs, "%s: larger than %u bytes", fs->path, SY_STORE_MAX_BYTES);
                goto fail;
            }
            cap *= 2;
            buf = sy_realloc(buf, cap + 1);
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            sy_errors_add(errs, "%s: read error: %s", fs->path, strerror(errno));
            goto fail;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    relock(fs, fd);
    close(fd);
    buf[n] = '\0';
    *len = n;
    return buf;
fail:
    close(fd);
    free(buf);
    return NULL;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int file_save(sy_store *st, const char *text, size_t len, uint64_t version, char *err,
                     size_t errlen)
{
    file_store *fs = (file_store *)st;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", fs->path, (long)getpid());
    mode_t mode = 0600;
    struct stat sb;
    if (stat(fs->path, &sb) == 0)
        mode = sb.st_mode & 07777;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    if (write_all(fd, text, len) < 0 || fchmod(fd, mode) < 0 || fsync(fd) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    /* Locked before it becomes FILE: see the top of this file. */
    bool keep = fs->lock_fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0;
    if (!keep)
        close(fd);
    if (rename(tmp, fs->path) < 0) {
        snprintf(err, errlen, "cannot rename %s over %s: %s", tmp, fs->path, strerror(errno));
        if (keep)
            close(fd);
        unlink(tmp);
        return -1;
    }
    if (keep) {
        close(fs->lock_fd);
        fs->lock_fd = fd;
    }
    int dfd = open(fs->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

static void file_destroy(sy_store *st)
{
    file_store *fs = (file_store *)st;
    if (fs->lock_fd >= 0)
        close(fs->lock_fd);
    free(fs->path);
    free(fs->dir);
    free(fs);
}

static const sy_store_ops file_ops = {
    .load = file_load, .save = file_save, .destroy = file_destroy};

sy_store *sy_store_file_new(const char *path)
{
    file_store *fs = sy_calloc(1, sizeof *fs);
    fs->path = strdup(path);
    char *copy = strdup(path);
    fs->dir = strdup(dirname(copy));
    free(copy);
    if (!fs->path || !fs->dir)
        abort();
    fs->lock_fd = -1;
    fs->base.ops = &file_ops;
    fs->base.name = fs->path;
    return &fs->base;
}
