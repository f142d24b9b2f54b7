/* Collected configuration problems.  The loader keeps going after the first
 * problem so one run shows the user everything to fix (as nginx and HAProxy
 * do); the list is only inspected once loading is over. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "config/model.h"

static void push(sy_errors *e, char *msg)
{
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 16;
        e->msgs = sy_realloc(e->msgs, e->cap * sizeof *e->msgs);
    }
    e->msgs[e->n++] = msg;
}

__attribute__((format(printf, 1, 0))) static char *vfmt(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        n = 0;
    char *s = sy_malloc((size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

void sy_errors_add(sy_errors *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    push(e, vfmt(fmt, ap));
    va_end(ap);
}

void sy_errors_at(sy_errors *e, const char *file, sy_mark m, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *reason = vfmt(fmt, ap);
    va_end(ap);
    if (path && *path)
        sy_errors_add(e, "%s:%d:%d: %s: %s", file ? file : "<config>", m.line, m.col, path, reason);
    else
        sy_errors_add(e, "%s:%d:%d: %s", file ? file : "<config>", m.line, m.col, reason);
    free(reason);
}

void sy_errors_free(sy_errors *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->msgs[i]);
    free(e->msgs);
    e->msgs = NULL;
    e->n = e->cap = 0;
}
