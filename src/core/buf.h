/* A byte queue with a fixed maximum: bytes are appended at `len` and
 * consumed from `off`.  Every buffer has a cap (curl's dynbuf rule): a
 * producer checks sy_buf_pending() against its high-water mark and stops
 * reading from its source instead of growing without bound. */
#ifndef SY_CORE_BUF_H
#define SY_CORE_BUF_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"

typedef struct sy_buf {
    char *data;
    size_t off, len, cap;
} sy_buf;

static inline size_t sy_buf_pending(const sy_buf *b)
{
    return b->len - b->off;
}

static inline void sy_buf_reset(sy_buf *b)
{
    b->off = b->len = 0;
}

/* Make room for n more bytes: compact first, then grow. */
static inline void sy_buf_reserve(sy_buf *b, size_t n)
{
    if (b->off && b->off == b->len)
        b->off = b->len = 0;
    if (b->cap - b->len >= n)
        return;
    if (b->off) {
        memmove(b->data, b->data + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
        if (b->cap - b->len >= n)
            return;
    }
    size_t nc = b->cap ? b->cap : 4096;
    while (nc - b->len < n)
        nc *= 2;
    b->data = sy_realloc(b->data, nc);
    b->cap = nc;
}

static inline void sy_buf_append(sy_buf *b, const void *p, size_t n)
{
    if (!n)
        return;
    sy_buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static inline void sy_buf_append_str(sy_buf *b, const char *s)
{
    sy_buf_append(b, s, strlen(s));
}

static inline void sy_buf_consume(sy_buf *b, size_t n)
{
    b->off += n;
    if (b->off == b->len)
        b->off = b->len = 0;
}

static inline void sy_buf_free(sy_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->off = b->len = b->cap = 0;
}

#endif
