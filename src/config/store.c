/* The file store: the -c file is the store.  A save writes FILE.tmp-PID
 * next to it, fsyncs it, renames it over FILE (atomic on POSIX file
 * systems) and fsyncs the directory so the rename itself survives a
 * crash.  Readers (a restart, a SIGHUP) see the old or the new document,
 * never a mixture. */
#include "config/store.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/arena.h"

#define SY_STORE_MAX_BYTES (64u << 20)

typedef struct file_store {
    sy_store base;
    char *path;
    char *dir;
} file_store;

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
    close(fd);
    if (rename(tmp, fs->path) < 0) {
        snprintf(err, errlen, "cannot rename %s over %s: %s", tmp, fs->path, strerror(errno));
        unlink(tmp);
        return -1;
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
    free(fs->path);
    free(fs->dir);
    free(fs);
}

static const sy_store_ops file_ops = {file_load, file_save, file_destroy};

sy_store *sy_store_file_new(const char *path)
{
    file_store *fs = sy_calloc(1, sizeof *fs);
    fs->path = strdup(path);
    char *copy = strdup(path);
    fs->dir = strdup(dirname(copy));
    free(copy);
    if (!fs->path || !fs->dir)
        abort();
    fs->base.ops = &file_ops;
    fs->base.name = fs->path;
    return &fs->base;
}
