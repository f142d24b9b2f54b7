#include "core/arena.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sy_arena_chunk {
    sy_arena_chunk *next;
    size_t size;
    size_t used;
    _Alignas(16) unsigned char data[];
};

static void oom(size_t n)
{
    fprintf(stderr, "switchyard: out of memory allocating %zu bytes\n", n);
    abort();
}

void *sy_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *sy_calloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p)
        oom(n * m);
    return p;
}

void *sy_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *sy_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = sy_malloc(n);
    memcpy(d, s, n);
    return d;
}

void sy_arena_init(sy_arena *a, size_t chunk_size)
{
    a->head = NULL;
    a->chunk_size = chunk_size ? chunk_size : 4096;
    a->total = 0;
}

/* `align` is 1 for text (packed end to end: a 100,000-policy config has
 * hundreds of thousands of short strings, and rounding each to 16 bytes
 * would double their cost) or 16 for anything else. */
static void *take(sy_arena *a, size_t n, size_t align)
{
    sy_arena_chunk *c = a->head;
    size_t off = c ? (c->used + align - 1) & ~(align - 1) : 0;
    if (!c || off > c->size || c->size - off < n) {
        size_t sz = n > a->chunk_size ? n : a->chunk_size;
        c = sy_malloc(sizeof(*c) + sz);
        c->size = sz;
        c->next = a->head;
        a->head = c;
        off = 0;
    }
    void *p = c->data + off;
    c->used = off + n;
    a->total += n;
    memset(p, 0, n);
    return p;
}

void *sy_arena_alloc(sy_arena *a, size_t n)
{
    return take(a, n, 16);
}

char *sy_arena_strndup(sy_arena *a, const char *s, size_t n)
{
    char *d = take(a, n + 1, 1);
    if (n)
        memcpy(d, s, n);
    return d;
}

char *sy_arena_strdup(sy_arena *a, const char *s)
{
    return s ? sy_arena_strndup(a, s, strlen(s)) : NULL;
}

sy_str sy_arena_str(sy_arena *a, sy_str s)
{
    return sy_str_make(sy_arena_strndup(a, s.p, s.len), s.len);
}

char *sy_arena_printf(sy_arena *a, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *d = sy_arena_alloc(a, (size_t)n + 1);
    vsnprintf(d, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return d;
}

void sy_arena_reset(sy_arena *a)
{
    sy_arena_chunk *c = a->head;
    if (!c)
        return;
    /* keep the oldest (last) chunk: it has the default size */
    while (c->next) {
        sy_arena_chunk *n = c->next;
        free(c);
        c = n;
    }
    c->used = 0;
    a->head = c;
    a->total = 0;
}

void sy_arena_free(sy_arena *a)
{
    sy_arena_chunk *c = a->head;
    while (c) {
        sy_arena_chunk *n = c->next;
        free(c);
        c = n;
    }
    a->head = NULL;
    a->total = 0;
}
