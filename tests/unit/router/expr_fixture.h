/* A request view built by hand, for the expression and policy tests. */
#ifndef SY_TEST_EXPR_FIXTURE_H
#define SY_TEST_EXPR_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "router/expr.h"

typedef struct fx {
    sy_req_view rv;
    sy_header h[32];
    sy_arena scratch;
} fx;

static inline void fx_init(fx *f)
{
    memset(f, 0, sizeof(*f));
    sy_arena_init(&f->scratch, 1024);
    f->rv.method = sy_str_c("GET");
    f->rv.path = sy_str_c("/orders/1");
    f->rv.host = sy_str_c("api.example.com");
    f->rv.scheme = sy_str_c("https");
    f->rv.client_ip = sy_str_c("203.0.113.7");
    f->rv.headers = f->h;
    f->rv.scratch = &f->scratch;
}

static inline void fx_header(fx *f, const char *name, const char *value)
{
    assert_true(f->rv.n_headers < 32);
    f->h[f->rv.n_headers].name = sy_str_c(name);
    f->h[f->rv.n_headers].value = sy_str_c(value);
    f->rv.n_headers++;
}

static inline void fx_query(fx *f, const char *q)
{
    f->rv.query = sy_str_c(q);
}

static inline void fx_done(fx *f)
{
    sy_arena_free(&f->scratch);
}

/* Compile (asserting success), evaluate once, free. */
static inline bool fx_eval(fx *f, const char *src)
{
    sy_arena a;
    sy_arena_init(&a, 4096);
    char err[256];
    int col = 0;
    sy_expr *e = sy_expr_compile(&a, src, err, sizeof(err), &col);
    if (!e) {
        sy_arena_free(&a);
        fail_msg("compile '%s' failed at column %d: %s", src, col, err);
    }
    bool r = sy_expr_eval(e, &f->rv);
    sy_expr_free(e);
    sy_arena_free(&a);
    return r;
}

/* Assert that src fails to compile at column col with a message holding
 * `needle`. */
static inline void fx_error(const char *src, int col, const char *needle)
{
    sy_arena a;
    sy_arena_init(&a, 4096);
    char err[256];
    int c = -1;
    sy_expr *e = sy_expr_compile(&a, src, err, sizeof(err), &c);
    if (e) {
        sy_expr_free(e);
        sy_arena_free(&a);
        fail_msg("'%s' compiled but should fail with '%s'", src, needle);
    }
    sy_arena_free(&a);
    if (c != col || !strstr(err, needle))
        fail_msg("'%s': expected column %d '%s', got column %d '%s'", src, col, needle, c, err);
}

#endif
