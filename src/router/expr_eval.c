/* Evaluating a compiled condition, and explaining the evaluation.
 *
 * One walker serves both: with x == NULL it is the hot path, with an
 * explain buffer it also writes a line per test.  Sharing the walker is
 * what guarantees `explain` reports exactly what routing did. */
#include "router/expr_int.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

/* ---- explain buffer ---- */

typedef struct explain {
    char *buf;
    size_t len, cap;
    const char *src;
} explain;

static void xprintf(explain *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void xprintf(explain *x, const char *fmt, ...)
{
    if (x->len + 1 >= x->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(x->buf + x->len, x->cap - x->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    x->len += (size_t)n;
    if (x->len >= x->cap)
        x->len = x->cap - 1;
}

/* A request value, quoted, control bytes escaped, long values cut. */
static void xvalue(explain *x, sy_str v)
{
    char tmp[300];
    size_t n = 0, max = 64;
    tmp[n++] = '\'';
    for (size_t i = 0; i < v.len && i < max; i++) {
        unsigned char c = (unsigned char)v.p[i];
        if (c == '\'' || c == '\\')
            n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, "\\x%02x", c);
        else
            tmp[n++] = (char)c;
    }
    if (v.len > max)
        n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, "'... (%zu bytes)", v.len);
    else
        tmp[n++] = '\'';
    tmp[n] = '\0';
    xprintf(x, "%s", tmp);
}

static void xhead(explain *x, const sy_node *n, bool r)
{
    xprintf(x, "%.*s -> %s (", (int)n->len, x->src + n->off, r ? "true" : "false");
}

/* ---- Random() and hash() ---- */

static __thread uint64_t rng_state;
static __thread bool rng_seeded;

/* splitmix64: one add and three multiply-xorshifts per draw, no lock, and
 * good enough for traffic percentages.  Seeded per thread from the clock,
 * the pid and the state's own address so workers draw independently. */
static double random01(void)
{
    if (!rng_seeded) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        rng_state = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^
                    ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&rng_state;
        rng_seeded = true;
    }
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}

/* Top 53 bits of XXH3-64 as a fraction: the same value lands in the same
 * bucket on every worker, node and restart. */
static double hash01(sy_str v)
{
    uint64_t h = XXH3_64bits(v.p ? v.p : "", v.len);
    return (double)(h >> 11) * 0x1.0p-53;
}

/* ---- regex runtime ---- */

static pthread_once_t re_once = PTHREAD_ONCE_INIT;
static pthread_key_t md_key;
static pcre2_match_context *match_ctx;

static void md_free(void *p)
{
    pcre2_match_data_free(p);
}

static void re_init(void)
{
    if (pthread_key_create(&md_key, md_free) != 0)
        abort();
    match_ctx = pcre2_match_context_create(NULL);
    if (!match_ctx)
        abort();
    /* Bound catastrophic backtracking: a hostile header cannot stall a
     * worker.  A regex that hits a limit simply does not match. */
    pcre2_set_match_limit(match_ctx, 100000);
    pcre2_set_depth_limit(match_ctx, 2000);
    pcre2_set_heap_limit(match_ctx, 4096); /* KiB */
}

/* One match data per thread, created on first use and freed at thread
 * exit: a regex test never allocates. */
static pcre2_match_data *match_data(void)
{
    pthread_once(&re_once, re_init);
    pcre2_match_data *md = pthread_getspecific(md_key);
    if (!md) {
        md = pcre2_match_data_create(1, NULL);
        if (!md) {
            fprintf(stderr, "switchyard: out of memory (pcre2 match data)\n");
            abort();
        }
        pthread_setspecific(md_key, md);
    }
    return md;
}

/* ---- comparisons ---- */

static int three_way(double a, double b)
{
    return a < b ? -1 : a > b ? 1 : 0;
}

static bool apply(int c, enum sy_cmp_op op)
{
    switch (op) {
    case SY_OP_EQ:
        return c == 0;
    case SY_OP_NE:
        return c != 0;
    case SY_OP_LT:
        return c < 0;
    case SY_OP_LE:
        return c <= 0;
    case SY_OP_GT:
        return c > 0;
    case SY_OP_GE:
        return c >= 0;
    }
    return false;
}

/* value OP constant, with the constant's type deciding how the value is
 * read.  A value that cannot be read that way makes the comparison false
 * whatever the operator; *why says so for explain. */
static bool cmp_lit(sy_str v, const sy_expr_lit *lit, enum sy_cmp_op op, const char **why)
{
    switch (lit->type) {
    case SY_LIT_STR:
        return apply(sy_str_cmp(v, lit->s), op);
    case SY_LIT_NUM: {
        double d;
        if (!sy_expr_parse_number(v, &d)) {
            *why = "not a number";
            return false;
        }
        return apply(three_way(d, lit->num), op);
    }
    case SY_LIT_BOOL: {
        bool b;
        if (!sy_expr_parse_bool(v, &b)) {
            *why = "not a boolean";
            return false;
        }
        return apply(b == lit->b ? 0 : 1, op);
    }
    }
    return false;
}

static bool eval_cmp(const sy_node *n, const sy_req_view *rv, explain *x)
{
    const sy_expr_val *l = &n->u.cmp.lhs, *r = &n->u.cmp.rhs;
    enum sy_cmp_op op = n->u.cmp.op;
    sy_str v, w;
    const char *why = NULL;
    bool res;
    switch (l->kind) {
    case SY_V_RANDOM: {
        double d = rv->force_random ? *rv->force_random : random01();
        res = apply(three_way(d, r->lit.num), op);
        if (x) {
            xhead(x, n, res);
            xprintf(x, "value: %.6g%s)\n", d, rv->force_random ? ", forced" : "");
        }
        return res;
    }
    case SY_V_HASH: {
        if (!sy_expr_fetch(&l->param, rv, &v)) {
            if (x) {
                xhead(x, n, false);
                xprintf(x, "missing)\n");
            }
            return false;
        }
        double d = rv->force_hash ? *rv->force_hash : hash01(v);
        res = apply(three_way(d, r->lit.num), op);
        if (x) {
            xhead(x, n, res);
            xprintf(x, "hash of ");
            xvalue(x, v);
            xprintf(x, ": %.6g%s)\n", d, rv->force_hash ? ", forced" : "");
        }
        return res;
    }
    default:
        break;
    }
    bool have_v = sy_expr_fetch(&l->param, rv, &v);
    if (r->kind == SY_V_PARAM) {
        bool have_w = sy_expr_fetch(&r->param, rv, &w);
        res = have_v && have_w && apply(sy_str_cmp(v, w), op);
        if (x) {
            xhead(x, n, res);
            if (!have_v || !have_w) {
                char name[128];
                sy_expr_param_format(have_v ? &r->param : &l->param, name, sizeof(name));
                xprintf(x, "missing: %s)\n", name);
            } else {
                xprintf(x, "values: ");
                xvalue(x, v);
                xprintf(x, ", ");
                xvalue(x, w);
                xprintf(x, ")\n");
            }
        }
        return res;
    }
    res = have_v && cmp_lit(v, &r->lit, op, &why);
    if (x) {
        xhead(x, n, res);
        if (!have_v) {
            xprintf(x, "missing)\n");
        } else {
            xprintf(x, "value: ");
            xvalue(x, v);
            xprintf(x, "%s%s)\n", why ? ", " : "", why ? why : "");
        }
    }
    return res;
}

/* `p in (a, b)` is `p = a or p = b`; `p not in (a, b)` is
 * `p != a and p != b`, so both follow the comparison rules exactly. */
static bool eval_in(const sy_node *n, sy_str v)
{
    const char *why = NULL;
    for (size_t i = 0; i < n->u.in.n; i++) {
        if (n->u.in.negate) {
            if (!cmp_lit(v, &n->u.in.lits[i], SY_OP_NE, &why))
                return false;
        } else if (cmp_lit(v, &n->u.in.lits[i], SY_OP_EQ, &why)) {
            return true;
        }
    }
    return n->u.in.negate;
}

static bool eval_cidr(const sy_node *n, sy_str v, const char **why)
{
    int fam;
    uint8_t addr[16];
    if (!sy_expr_parse_ip(v, &fam, addr)) {
        *why = "not an IP address";
        return false;
    }
    for (size_t i = 0; i < n->u.cidr.n; i++)
        if (sy_expr_net_contains(&n->u.cidr.nets[i], fam, addr))
            return !n->u.cidr.negate;
    return n->u.cidr.negate;
}

static bool eval_regex(const sy_node *n, sy_str v, const char **why)
{
    pcre2_match_data *md = match_data();
    int rc = pcre2_match(n->u.regex.re, (PCRE2_SPTR)(v.p ? v.p : ""), v.len, 0, 0, md, match_ctx);
    if (rc >= 0)
        return true;
    if (rc != PCRE2_ERROR_NOMATCH) {
        static __thread PCRE2_UCHAR msg[120];
        pcre2_get_error_message(rc, msg, sizeof(msg));
        *why = (const char *)msg;
    }
    return false;
}

static bool contains(sy_str hay, sy_str needle)
{
    if (needle.len == 0)
        return true;
    if (!hay.p || hay.len < needle.len)
        return false;
    return memmem(hay.p, hay.len, needle.p, needle.len) != NULL;
}

/* Tests on one parameter: fetch once, missing is false. */
static bool eval_param_test(const sy_node *n, const sy_req_view *rv, explain *x)
{
    const sy_expr_param *p;
    switch (n->kind) {
    case SY_N_IN:
        p = &n->u.in.param;
        break;
    case SY_N_CIDR:
        p = &n->u.cidr.param;
        break;
    case SY_N_REGEX:
        p = &n->u.regex.param;
        break;
    default:
        p = &n->u.str.param;
        break;
    }
    sy_str v;
    const char *why = NULL;
    bool have = sy_expr_fetch(p, rv, &v);
    bool res = false;
    if (have) {
        sy_str s = n->u.str.s;
        switch (n->kind) {
        case SY_N_IN:
            res = eval_in(n, v);
            break;
        case SY_N_CIDR:
            res = eval_cidr(n, v, &why);
            break;
        case SY_N_REGEX:
            res = eval_regex(n, v, &why);
            break;
        case SY_N_EXISTS:
            res = true;
            break;
        case SY_N_PREFIX:
            res = sy_str_starts(v, s);
            break;
        case SY_N_SUFFIX:
            res = v.len >= s.len && (s.len == 0 || memcmp(v.p + v.len - s.len, s.p, s.len) == 0);
            break;
        case SY_N_CONTAINS:
            res = contains(v, s);
            break;
        default:
            break;
        }
    }
    if (x) {
        xhead(x, n, res);
        if (!have) {
            xprintf(x, "missing)\n");
        } else {
            xprintf(x, "value: ");
            xvalue(x, v);
            xprintf(x, "%s%s)\n", why ? ", " : "", why ? why : "");
        }
    }
    return res;
}

static bool eval_node(const sy_node *n, const sy_req_view *rv, explain *x)
{
    switch (n->kind) {
    case SY_N_OR:
        for (size_t i = 0; i < n->u.list.n; i++)
            if (eval_node(n->u.list.kids[i], rv, x))
                return true;
        return false;
    case SY_N_AND:
        for (size_t i = 0; i < n->u.list.n; i++)
            if (!eval_node(n->u.list.kids[i], rv, x))
                return false;
        return true;
    case SY_N_NOT:
        return !eval_node(n->u.child, rv, x);
    case SY_N_CONST:
        if (x)
            xprintf(x, "%.*s -> %s\n", (int)n->len, x->src + n->off, n->u.truth ? "true" : "false");
        return n->u.truth;
    case SY_N_CMP:
        return eval_cmp(n, rv, x);
    default:
        return eval_param_test(n, rv, x);
    }
}

bool sy_expr_eval(const sy_expr *e, const sy_req_view *rv)
{
    sy_expr_scratch_reset(rv);
    return eval_node(e->root, rv, NULL);
}

bool sy_expr_explain(const sy_expr *e, const sy_req_view *rv, char *buf, size_t buflen)
{
    explain x = {buf, 0, buflen, e->src};
    if (buf && buflen)
        x.len = strnlen(buf, buflen - 1);
    else
        x.cap = 0;
    if (buf && buflen)
        buf[x.len] = '\0';
    sy_expr_scratch_reset(rv);
    return eval_node(e->root, rv, &x);
}

/* ---- index support ---- */

static bool indexable_term(const sy_node *n)
{
    if (n->kind == SY_N_CMP)
        return n->u.cmp.op == SY_OP_EQ && n->u.cmp.lhs.kind == SY_V_PARAM &&
               n->u.cmp.rhs.kind == SY_V_LIT && n->u.cmp.rhs.lit.type != SY_LIT_BOOL;
    if (n->kind == SY_N_IN && !n->u.in.negate) {
        for (size_t i = 0; i < n->u.in.n; i++)
            if (n->u.in.lits[i].type == SY_LIT_BOOL)
                return false;
        return true;
    }
    return false;
}

static void emit_term(const sy_node *n, sy_expr_key_cb *cb, void *ud)
{
    if (n->kind == SY_N_CMP) {
        cb(ud, &n->u.cmp.lhs.param, &n->u.cmp.rhs.lit);
        return;
    }
    for (size_t i = 0; i < n->u.in.n; i++)
        cb(ud, &n->u.in.param, &n->u.in.lits[i]);
}

bool sy_expr_index_keys(const sy_expr *e, sy_expr_key_cb *cb, void *ud)
{
    const sy_node *r = e->root;
    if (r->kind == SY_N_OR) {
        for (size_t i = 0; i < r->u.list.n; i++)
            if (!indexable_term(r->u.list.kids[i]))
                return false;
        for (size_t i = 0; i < r->u.list.n; i++)
            emit_term(r->u.list.kids[i], cb, ud);
        return true;
    }
    if (!indexable_term(r))
        return false;
    emit_term(r, cb, ud);
    return true;
}
