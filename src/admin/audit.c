/* See audit.h.  A line is one write(2) with O_APPEND, so lines from a
 * rotated-away file and the new one never interleave, and the admin thread
 * is the only writer. */
#include "admin/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "core/log.h"

static int audit_fd = -1;
static char *audit_path; /* NULL: standard error or off */

int sy_audit_open(const char *path)
{
    if (!path) {
        audit_fd = -1;
        return 0;
    }
    if (strcmp(path, "-") == 0) {
        audit_fd = 2;
        return 0;
    }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return -1;
    audit_fd = fd;
    free(audit_path);
    audit_path = strdup(path);
    return 0;
}

void sy_audit_reopen(void)
{
    if (!audit_path || audit_fd < 0)
        return;
    int fd = open(audit_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        sy_error("AuditLog %s: cannot reopen: %s (still writing to the old file)", audit_path,
                 strerror(errno));
        return;
    }
    if (dup3(fd, audit_fd, O_CLOEXEC) < 0)
        sy_error("AuditLog %s: cannot reopen: %s", audit_path, strerror(errno));
    close(fd);
}

/* Which credential the call presented: the configured token's source,
 * never the token itself. */
static const char *who(const sy_admin_req *rq)
{
    if (rq->snap->cfg->gw.admin_token)
        return "AdminToken";
    if (sy_admin_env.env_token)
        return "SWITCHYARD_ADMIN_TOKEN";
    return "none (no token configured)";
}

void sy_audit_write(const sy_admin_req *rq, const char *client, int status, uint64_t before,
                    uint64_t after)
{
    if (audit_fd < 0)
        return;
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char when[64];
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    json_t *line = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s%, s:i, s:I, s:I, s:b}", "time", when,
                             "audit", "admin", "who", who(rq), "client", client, "method",
                             rq->method, "path", rq->path.p ? rq->path.p : "", rq->path.len,
                             "status", status, "version_before", (json_int_t)before,
                             "version_after", (json_int_t)after, "changed", after != before);
    char *text = line ? json_dumps(line, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(line);
    if (!text)
        return;
    size_t n = strlen(text);
    text[n] = '\n'; /* json_dumps's NUL becomes the line end */
    ssize_t w = write(audit_fd, text, n + 1);
    (void)w;
    free(text);
}
