/* Storing equal things of one configuration once.
 *
 * A tenant table repeats the same few backends and the same short strings
 * (methods, paths, products, upstream ids, backend types) in every one of
 * its 100,000 policies; keeping one copy of each is most of what makes the
 * model small.  Interned strings and backends live in the config arena and
 * are shared: never write through them.  The tables themselves live only
 * while loading. */
#ifndef SY_CONFIG_INTERN_H
#define SY_CONFIG_INTERN_H

#include <stddef.h>

#include "config/model.h"

typedef struct sy_intern sy_intern;

sy_intern *sy_intern_new(sy_arena *a);
void sy_intern_free(sy_intern *in);

/* The stored copy of s[0..len) (NUL-terminated), shared with equal texts. */
char *sy_intern_str(sy_intern *in, const char *s, size_t len);
/* The stored copy of b, shared with every equal backend (marks are not
 * compared: the first one's is kept). */
sy_backend_cfg *sy_intern_backend(sy_intern *in, const sy_backend_cfg *b);

#endif
