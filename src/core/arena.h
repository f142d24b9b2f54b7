/* Bump-pointer arena: many small allocations, freed together in one call.
 *
 * Out-of-memory policy (whole project): allocation failure aborts the
 * process with a message.  A gateway that cannot allocate a few hundred
 * bytes cannot make progress safely, and checking every small allocation
 * would bloat every path for a case the kernel's overcommit hides anyway
 * (h2o and Redis make the same choice). */
#ifndef SY_CORE_ARENA_H
#define SY_CORE_ARENA_H

#include <stddef.h>
#include "core/str.h"

typedef struct sy_arena_chunk sy_arena_chunk;

typedef struct sy_arena {
    sy_arena_chunk *head;
    size_t chunk_size;
    size_t total; /* bytes handed out, for stats and tests */
} sy_arena;

void sy_arena_init(sy_arena *a, size_t chunk_size);
/* Zeroed memory aligned for any scalar type. */
void *sy_arena_alloc(sy_arena *a, size_t n);
char *sy_arena_strndup(sy_arena *a, const char *s, size_t n);
char *sy_arena_strdup(sy_arena *a, const char *s);
sy_str sy_arena_str(sy_arena *a, sy_str s);
char *sy_arena_printf(sy_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Forget everything but keep the first chunk for reuse. */
void sy_arena_reset(sy_arena *a);
void sy_arena_free(sy_arena *a);

/* Checked heap helpers following the same abort-on-OOM policy. */
void *sy_malloc(size_t n);
void *sy_calloc(size_t n, size_t m);
void *sy_realloc(void *p, size_t n);
char *sy_strdup(const char *s);

#endif
