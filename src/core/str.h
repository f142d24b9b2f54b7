/* Length-delimited string slices.
 *
 * A sy_str points into memory owned by someone else (a receive buffer, a
 * config arena).  It is never NUL-terminated by contract, so every function
 * here takes lengths.  Slices into a connection's receive buffer follow
 * the rule http/head.h owns: no slice outlives its buffer. */
#ifndef SY_CORE_STR_H
#define SY_CORE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

typedef struct sy_str {
    const char *p;
    size_t len;
} sy_str;

#define SY_STR_NULL ((sy_str){NULL, 0})
#define SY_STR_LIT(s) ((sy_str){(s), sizeof(s) - 1})

static inline sy_str sy_str_make(const char *p, size_t len)
{
    return (sy_str){p, len};
}

static inline sy_str sy_str_c(const char *s)
{
    return (sy_str){s, s ? strlen(s) : 0};
}

static inline int sy_str_eq(sy_str a, sy_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static inline int sy_str_eq_c(sy_str a, const char *b)
{
    return sy_str_eq(a, sy_str_c(b));
}

/* ASCII case-insensitive equality, as HTTP field names compare. */
static inline int sy_str_ieq(sy_str a, sy_str b)
{
    return a.len == b.len && (a.len == 0 || strncasecmp(a.p, b.p, a.len) == 0);
}

static inline int sy_str_ieq_c(sy_str a, const char *b)
{
    return sy_str_ieq(a, sy_str_c(b));
}

static inline int sy_str_starts(sy_str s, sy_str prefix)
{
    return s.len >= prefix.len && memcmp(s.p, prefix.p, prefix.len) == 0;
}

/* Bytewise three-way compare, shorter-is-smaller on a common prefix. */
int sy_str_cmp(sy_str a, sy_str b);

/* Strip optional whitespace (SP / HTAB) at both ends. */
sy_str sy_str_trim(sy_str s);

/* Parse a whole slice as a non-negative decimal integer with overflow
 * checks.  Returns 0 on success, -1 on anything else (empty, sign, junk). */
int sy_str_to_u64(sy_str s, uint64_t *out);

/* Case-insensitive search for a token in a comma-separated list
 * ("keep-alive, Upgrade").  Used for Connection and Transfer-Encoding. */
int sy_str_list_has_token(sy_str list, const char *token);

/* The next item of a comma-separated list, trimmed (possibly empty), from
 * *pos on; *pos starts at 0.  Returns false when the list is done. */
bool sy_str_list_next(sy_str list, size_t *pos, sy_str *item);

#endif
