/* Tencent's condition expression language, compiled once at config load.
 *
 *   header.UserName = 'admin' and sysparam.clientIp = '203.0.113.7'
 *   Random() < 0.05     regex(query.name, "colou?r")     exists(header.Accept)
 *
 * plus Switchyard's extensions (doc/expressions.md): not, in / not in,
 * in_cidr, prefix/suffix/contains, hash(), cookie.NAME, sysparam.host,
 * sysparam.method.  Nothing is parsed or compiled per request.
 *
 * Files: expr_lex.c (tokens), expr_parse.c (grammar and type checks),
 * expr_eval.c (evaluation and explain), expr_fetch.c (reading parameters
 * and coercing values), expr_int.h (the compiled tree, private). */
#ifndef SY_ROUTER_EXPR_H
#define SY_ROUTER_EXPR_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "router/reqview.h"

/* Longest condition accepted, in bytes, and deepest nesting of '(' / not. */
#define SY_EXPR_MAX_LEN 4096
#define SY_EXPR_MAX_DEPTH 64

typedef struct sy_expr sy_expr;

/* Compile `src`.  On error returns NULL, writes a message to err and the
 * 1-based column of the offending token to *err_col.  Memory comes from the
 * arena (regexes are freed by sy_expr_free). */
sy_expr *sy_expr_compile(sy_arena *a, const char *src, char *err, size_t errlen, int *err_col);

/* Evaluate against a request.  Missing parameters make their comparison
 * false, never an error.  Decoded values (percent-decoded query values) go
 * to rv->scratch; without one a per-thread fallback arena is used. */
bool sy_expr_eval(const sy_expr *e, const sy_req_view *rv);

/* Evaluate and explain: appends one line per evaluated test to buf, which
 * must hold a NUL-terminated string (possibly empty).  Short-circuits like
 * sy_expr_eval, so the lines are exactly the tests the result depended on:
 *   header.UserName = 'admin' -> false (value: 'bob')
 *   exists(header.Accept) -> false (missing)
 * Output is truncated (never overflowed) when buf is too small. */
bool sy_expr_explain(const sy_expr *e, const sy_req_view *rv, char *buf, size_t buflen);

/* Release what the arena does not own (compiled PCRE2 code).  NULL is ok. */
void sy_expr_free(sy_expr *e);

/* The source text the expression was compiled from. */
const char *sy_expr_source(const sy_expr *e);

/* ---- Parameters: what a condition reads of a request ---- */

enum sy_expr_loc {
    SY_LOC_HEADER,    /* header.NAME, name compared case-insensitively */
    SY_LOC_QUERY,     /* query.NAME, case-sensitive, value percent-decoded */
    SY_LOC_COOKIE,    /* cookie.NAME, case-sensitive, from Cookie header(s) */
    SY_LOC_PATH,      /* path */
    SY_LOC_CLIENT_IP, /* sysparam.clientIp */
    SY_LOC_SCHEME,    /* sysparam.httpScheme */
    SY_LOC_UA,        /* sysparam.clientUa (User-Agent) */
    SY_LOC_HOST,      /* sysparam.host */
    SY_LOC_METHOD,    /* sysparam.method */
};

typedef struct sy_expr_param {
    enum sy_expr_loc loc;
    sy_str name; /* header/query/cookie only */
} sy_expr_param;

/* Read a parameter.  False when the request does not carry it.  The value
 * may point into the request or into rv->scratch (decoded query values). */
bool sy_expr_fetch(const sy_expr_param *p, const sy_req_view *rv, sy_str *out);

/* Forget the per-thread fallback scratch that stands in for rv->scratch
 * when it is NULL; a no-op when rv->scratch is set.  Evaluation calls it
 * itself; call it before sy_expr_fetch in a loop without evaluations. */
void sy_expr_scratch_reset(const sy_req_view *rv);

/* Same parameter (header names compare case-insensitively). */
bool sy_expr_param_eq(const sy_expr_param *a, const sy_expr_param *b);

/* Write "header.Name" etc. into buf (always NUL-terminated). */
void sy_expr_param_format(const sy_expr_param *p, char *buf, size_t buflen);

/* ---- Constants and the coercions comparisons use ---- */

enum sy_lit_type { SY_LIT_STR, SY_LIT_NUM, SY_LIT_BOOL };

typedef struct sy_expr_lit {
    enum sy_lit_type type;
    sy_str s;   /* SY_LIT_STR, decoded */
    double num; /* SY_LIT_NUM */
    bool b;     /* SY_LIT_BOOL */
} sy_expr_lit;

/* A request value read as a number: the whole slice must be a decimal
 * ([+-]digits[.digits][e[+-]digits], or .digits); no inf, nan or hex.
 * -0 reads as 0. */
bool sy_expr_parse_number(sy_str s, double *out);
/* A request value read as a boolean: true/false, any case. */
bool sy_expr_parse_bool(sy_str s, bool *out);

/* ---- Index support (router/policy.c) ----
 *
 * An expression is indexable when it is an equality test of one parameter
 * against string or number constants, or an `or` of such tests (possibly
 * on different parameters):  p = 'a'   p in ('a', 7)   p = 'a' or q = 'b'.
 * It is then true exactly when some (param, constant) key is equal under
 * the `=` rule: bytewise for strings, numerically (sy_expr_parse_number)
 * for numbers. */
typedef void sy_expr_key_cb(void *ud, const sy_expr_param *p, const sy_expr_lit *v);

/* Returns false (calling nothing) when e is not indexable; otherwise calls
 * cb once per (parameter, constant) pair and returns true. */
bool sy_expr_index_keys(const sy_expr *e, sy_expr_key_cb *cb, void *ud);

#endif
