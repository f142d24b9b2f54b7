/* Grammar and compile-time checks of the condition language.
 *
 *   or_expr   := and_expr { "or" and_expr }
 *   and_expr  := not_expr { "and" not_expr }
 *   not_expr  := "not" not_expr | primary
 *   primary   := "(" or_expr ")" | bool_func | "true" | "false"
 *              | value cmp_op value
 *              | param ["not"] "in" "(" const { "," const } ")"
 *              | param ["not"] "in_cidr" "(" string { "," string } ")"
 *   bool_func := regex(param, string) | exists(param) | prefix(param, string)
 *              | suffix(param, string) | contains(param, string)
 *   value     := param | const | Random() | hash(param)
 *
 * Comparisons bind tighter than every logical word, so `not a = 1` is
 * `not (a = 1)`.  Type errors that can be seen without a request are
 * reported here with the column of the culprit, so a config that loads is
 * a config whose conditions can only be true or false. */
#include "router/expr_int.h"

#include <stdarg.h>
#include <stdio.h>

typedef struct parser {
    sy_lexer lx;
    sy_tok tok;
    sy_arena *a;
    sy_expr *e;
    char *err;
    size_t errlen;
    int err_col;
    bool failed;
    int depth;
} parser;

static void perr(parser *P, size_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void perr(parser *P, size_t off, const char *fmt, ...)
{
    if (P->failed)
        return;
    P->failed = true;
    P->err_col = (int)off + 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(P->err, P->errlen, fmt, ap);
    va_end(ap);
}

static void advance(parser *P)
{
    if (P->failed)
        return;
    sy_lex_next(&P->lx, &P->tok);
    if (P->tok.kind == SY_T_ERR) {
        P->failed = true;
        P->err_col = (int)P->tok.off + 1;
    }
}

static bool is_word(const sy_tok *t, const char *w)
{
    return t->kind == SY_T_WORD && sy_str_ieq_c(t->s, w);
}

/* What the user wrote, for "found ..." in messages. */
static const char *describe(parser *P, const sy_tok *t)
{
    switch (t->kind) {
    case SY_T_EOF:
        return "end of expression";
    case SY_T_LPAREN:
        return "'('";
    case SY_T_RPAREN:
        return "')'";
    case SY_T_COMMA:
        return "','";
    case SY_T_STR:
        return "a string";
    case SY_T_NUM:
        return "a number";
    case SY_T_PARAM:
        return "a parameter";
    case SY_T_OP:
    case SY_T_WORD:
        return sy_arena_printf(P->a, "'%.*s'", (int)(t->len > 40 ? 40 : t->len),
                               P->lx.src + t->off);
    default:
        return "something unexpected";
    }
}

static sy_node *new_node(parser *P, enum sy_node_kind k, size_t off, size_t end)
{
    sy_node *n = sy_arena_alloc(P->a, sizeof(*n));
    n->kind = k;
    n->off = (uint32_t)off;
    n->len = (uint32_t)(end - off);
    return n;
}

/* Arena vector growth: the old block is abandoned, at most doubling the
 * memory a list costs. */
static void *grow(parser *P, void *arr, size_t n, size_t *cap, size_t elem)
{
    if (n < *cap)
        return arr;
    size_t ncap = *cap ? *cap * 2 : 4;
    void *na = sy_arena_alloc(P->a, ncap * elem);
    if (n)
        memcpy(na, arr, n * elem);
    *cap = ncap;
    return na;
}

static size_t tok_end(const sy_tok *t)
{
    return t->off + t->len;
}

static bool expect(parser *P, enum sy_tok_kind k, const char *what)
{
    if (P->failed)
        return false;
    if (P->tok.kind != k) {
        perr(P, P->tok.off, "expected %s, found %s", what, describe(P, &P->tok));
        return false;
    }
    return true;
}

static sy_node *parse_or(parser *P);

/* ---- values ---- */

typedef struct operand {
    sy_expr_val v;
    size_t off, end;
    const char *fname; /* "Random()" / "hash()" for messages */
} operand;

static bool parse_param_arg(parser *P, const char *fn, sy_expr_param *out)
{
    if (P->tok.kind != SY_T_PARAM) {
        perr(P, P->tok.off,
             "%s() needs a parameter (header.NAME, query.NAME, cookie.NAME, "
             "path or sysparam.NAME) as first argument, found %s",
             fn, describe(P, &P->tok));
        return false;
    }
    *out = P->tok.param;
    advance(P);
    return !P->failed;
}

static bool parse_operand(parser *P, operand *o)
{
    memset(o, 0, sizeof(*o));
    sy_tok *t = &P->tok;
    o->off = t->off;
    switch (t->kind) {
    case SY_T_PARAM:
        o->v.kind = SY_V_PARAM;
        o->v.param = t->param;
        break;
    case SY_T_STR:
        o->v.kind = SY_V_LIT;
        o->v.lit.type = SY_LIT_STR;
        o->v.lit.s = t->s;
        break;
    case SY_T_NUM:
        o->v.kind = SY_V_LIT;
        o->v.lit.type = SY_LIT_NUM;
        o->v.lit.num = t->num;
        break;
    case SY_T_WORD:
        if (is_word(t, "true") || is_word(t, "false")) {
            o->v.kind = SY_V_LIT;
            o->v.lit.type = SY_LIT_BOOL;
            o->v.lit.b = is_word(t, "true");
            break;
        }
        if (is_word(t, "random")) {
            o->v.kind = SY_V_RANDOM;
            o->fname = "Random()";
            advance(P);
            if (!expect(P, SY_T_LPAREN, "'(' after Random"))
                return false;
            advance(P);
            if (P->tok.kind != SY_T_RPAREN && !P->failed) {
                perr(P, P->tok.off, "Random() takes no arguments");
                return false;
            }
            break;
        }
        if (is_word(t, "hash")) {
            o->v.kind = SY_V_HASH;
            o->fname = "hash()";
            advance(P);
            if (!expect(P, SY_T_LPAREN, "'(' after hash"))
                return false;
            advance(P);
            if (!parse_param_arg(P, "hash", &o->v.param))
                return false;
            if (!expect(P, SY_T_RPAREN, "')' to close hash("))
                return false;
            break;
        }
        if (is_word(t, "regex") || is_word(t, "exists") || is_word(t, "prefix") ||
            is_word(t, "suffix") || is_word(t, "contains")) {
            perr(P, t->off, "%.*s() is a condition, not a value: it cannot be compared",
                 (int)t->len, t->s.p);
            return false;
        }
        /* fall through */
    default:
        perr(P, t->off, "expected a value (parameter, constant, Random() or hash()), found %s",
             describe(P, t));
        return false;
    }
    o->end = tok_end(&P->tok);
    advance(P);
    return !P->failed;
}

/* ---- comparisons and lists ---- */

static enum sy_cmp_op mirror(enum sy_cmp_op op)
{
    switch (op) {
    case SY_OP_LT:
        return SY_OP_GT;
    case SY_OP_LE:
        return SY_OP_GE;
    case SY_OP_GT:
        return SY_OP_LT;
    case SY_OP_GE:
        return SY_OP_LE;
    default:
        return op;
    }
}

static sy_node *make_cmp(parser *P, operand *l, enum sy_cmp_op op, size_t op_off, operand *r)
{
    if (l->v.kind == SY_V_LIT && r->v.kind == SY_V_LIT) {
        perr(P, l->off, "comparison of two constants: one side must be read from the request");
        return NULL;
    }
    if (l->v.kind == SY_V_LIT) {
        operand tmp = *l;
        *l = *r;
        *r = tmp;
        op = mirror(op);
    }
    if (l->v.kind == SY_V_RANDOM || l->v.kind == SY_V_HASH) {
        if (r->v.kind != SY_V_LIT || r->v.lit.type != SY_LIT_NUM) {
            perr(P, r->off, "%s can only be compared with a number constant (e.g. %s < 0.05)",
                 l->fname, l->fname);
            return NULL;
        }
    } else if (r->v.kind == SY_V_RANDOM || r->v.kind == SY_V_HASH) {
        perr(P, r->off, "%s can only be compared with a number constant (e.g. %s < 0.05)", r->fname,
             r->fname);
        return NULL;
    } else if (r->v.kind == SY_V_LIT && r->v.lit.type == SY_LIT_BOOL && op != SY_OP_EQ &&
               op != SY_OP_NE) {
        perr(P, op_off, "a boolean can only be compared with =, == or !=");
        return NULL;
    }
    size_t off = l->off < r->off ? l->off : r->off;
    size_t end = l->end > r->end ? l->end : r->end;
    sy_node *n = new_node(P, SY_N_CMP, off, end);
    n->u.cmp.lhs = l->v;
    n->u.cmp.rhs = r->v;
    n->u.cmp.op = op;
    return n;
}

static sy_node *parse_list(parser *P, operand *l, bool negate, bool cidr)
{
    const char *kw = cidr ? "in_cidr" : "in";
    if (l->v.kind != SY_V_PARAM) {
        perr(P, l->off, "only a parameter can be tested with '%s'", kw);
        return NULL;
    }
    advance(P); /* the keyword */
    if (P->tok.kind != SY_T_LPAREN) {
        perr(P, P->tok.off, "'%s' needs a parenthesised list, e.g. %s ('a', 'b'); found %s", kw, kw,
             describe(P, &P->tok));
        return NULL;
    }
    advance(P);
    sy_expr_lit *lits = NULL;
    sy_expr_net *nets = NULL;
    size_t n = 0, cap = 0;
    while (!P->failed) {
        sy_tok *t = &P->tok;
        if (t->kind == SY_T_RPAREN && n == 0) {
            perr(P, t->off, "empty list after '%s'", kw);
            return NULL;
        }
        if (cidr) {
            if (t->kind != SY_T_STR) {
                perr(P, t->off, "in_cidr entries are quoted networks like '10.0.0.0/8', found %s",
                     describe(P, t));
                return NULL;
            }
            nets = grow(P, nets, n, &cap, sizeof(*nets));
            if (!sy_expr_parse_net(t->s, &nets[n])) {
                perr(P, t->off,
                     "invalid CIDR '%.*s' (expected e.g. '10.0.0.0/8' or "
                     "'2001:db8::/32')",
                     (int)(t->s.len > 60 ? 60 : t->s.len), t->s.p);
                return NULL;
            }
            n++;
        } else {
            lits = grow(P, lits, n, &cap, sizeof(*lits));
            sy_expr_lit *v = &lits[n];
            if (t->kind == SY_T_STR) {
                v->type = SY_LIT_STR;
                v->s = t->s;
            } else if (t->kind == SY_T_NUM) {
                v->type = SY_LIT_NUM;
                v->num = t->num;
            } else if (is_word(t, "true") || is_word(t, "false")) {
                v->type = SY_LIT_BOOL;
                v->b = is_word(t, "true");
            } else {
                perr(P, t->off,
                     "'in' lists hold constants (strings, numbers, true, false), "
                     "found %s",
                     describe(P, t));
                return NULL;
            }
            n++;
        }
        advance(P);
        if (P->tok.kind == SY_T_COMMA) {
            advance(P);
            continue;
        }
        if (P->tok.kind == SY_T_RPAREN)
            break;
        if (!P->failed)
            perr(P, P->tok.off, "expected ',' or ')' in the list, found %s", describe(P, &P->tok));
    }
    if (P->failed)
        return NULL;
    sy_node *node = new_node(P, cidr ? SY_N_CIDR : SY_N_IN, l->off, tok_end(&P->tok));
    advance(P);
    if (cidr) {
        node->u.cidr.param = l->v.param;
        node->u.cidr.nets = nets;
        node->u.cidr.n = n;
        node->u.cidr.negate = negate;
    } else {
        node->u.in.param = l->v.param;
        node->u.in.lits = lits;
        node->u.in.n = n;
        node->u.in.negate = negate;
    }
    return node;
}

/* ---- boolean functions ---- */

static sy_node *parse_bool_func(parser *P)
{
    sy_tok ft = P->tok;
    char fn[16];
    snprintf(fn, sizeof(fn), "%.*s", (int)ft.len, ft.s.p);
    enum sy_node_kind k = is_word(&ft, "regex")    ? SY_N_REGEX
                          : is_word(&ft, "exists") ? SY_N_EXISTS
                          : is_word(&ft, "prefix") ? SY_N_PREFIX
                          : is_word(&ft, "suffix") ? SY_N_SUFFIX
                                                   : SY_N_CONTAINS;
    advance(P);
    if (!expect(P, SY_T_LPAREN, sy_arena_printf(P->a, "'(' after %s", fn)))
        return NULL;
    advance(P);
    sy_expr_param param;
    if (!parse_param_arg(P, fn, &param))
        return NULL;
    sy_tok str = {0};
    if (k != SY_N_EXISTS) {
        if (!expect(P, SY_T_COMMA,
                    sy_arena_printf(P->a,
                                    "',' and a quoted %s after %s()'s "
                                    "parameter",
                                    k == SY_N_REGEX ? "pattern" : "string", fn)))
            return NULL;
        advance(P);
        if (P->tok.kind != SY_T_STR && !P->failed) {
            perr(P, P->tok.off, "%s() needs a quoted %s as second argument, found %s", fn,
                 k == SY_N_REGEX ? "pattern" : "string", describe(P, &P->tok));
            return NULL;
        }
        str = P->tok;
        advance(P);
    }
    if (P->failed)
        return NULL;
    if (P->tok.kind == SY_T_COMMA) {
        perr(P, P->tok.off, "too many arguments to %s()", fn);
        return NULL;
    }
    if (!expect(P, SY_T_RPAREN, sy_arena_printf(P->a, "')' to close %s(", fn)))
        return NULL;
    sy_node *n = new_node(P, k, ft.off, tok_end(&P->tok));
    if (k == SY_N_REGEX) {
        int code;
        PCRE2_SIZE eoff;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)str.s.p, str.s.len, 0, &code, &eoff, NULL);
        if (!re) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(code, msg, sizeof(msg));
            perr(P, str.off, "invalid regex: %s (at offset %zu of the pattern)", (char *)msg,
                 (size_t)eoff);
            return NULL;
        }
        /* JIT is an optimisation: when unavailable the interpreter runs. */
        (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
        n->u.regex.param = param;
        n->u.regex.re = re;
        n->u.regex.next_re = P->e->regexes;
        P->e->regexes = n;
    } else {
        n->u.str.param = param;
        n->u.str.s = str.s;
    }
    advance(P);
    if (P->tok.kind == SY_T_OP && !P->failed) {
        perr(P, P->tok.off,
             "%s() is a condition and cannot be compared; use it alone, or "
             "negate it with 'not'",
             fn);
        return NULL;
    }
    return n;
}

/* ---- conditions ---- */

static bool is_bool_func(const sy_tok *t)
{
    return is_word(t, "regex") || is_word(t, "exists") || is_word(t, "prefix") ||
           is_word(t, "suffix") || is_word(t, "contains");
}

static bool enter(parser *P, size_t off)
{
    if (++P->depth > SY_EXPR_MAX_DEPTH) {
        perr(P, off, "nesting deeper than %d levels of '(' and 'not'", SY_EXPR_MAX_DEPTH);
        return false;
    }
    return true;
}

static sy_node *parse_primary(parser *P)
{
    sy_tok *t = &P->tok;
    if (P->failed)
        return NULL;
    if (t->kind == SY_T_LPAREN) {
        size_t open = t->off;
        if (!enter(P, open))
            return NULL;
        advance(P);
        sy_node *n = parse_or(P);
        if (!n)
            return NULL;
        if (P->tok.kind != SY_T_RPAREN) {
            perr(P, P->tok.off, "expected ')' to close the '(' at column %zu, found %s", open + 1,
                 describe(P, &P->tok));
            return NULL;
        }
        P->depth--;
        advance(P);
        return n;
    }
    if (t->kind == SY_T_WORD) {
        if (is_bool_func(t))
            return parse_bool_func(P);
        if (is_word(t, "and") || is_word(t, "or")) {
            perr(P, t->off, "expected a condition before '%.*s'", (int)t->len, t->s.p);
            return NULL;
        }
        if (!is_word(t, "true") && !is_word(t, "false") && !is_word(t, "random") &&
            !is_word(t, "hash")) {
            size_t p = P->lx.pos;
            while (p < P->lx.len && (P->lx.src[p] == ' ' || P->lx.src[p] == '\t'))
                p++;
            if (p < P->lx.len && P->lx.src[p] == '(')
                perr(P, t->off,
                     "unknown function '%.*s' (known: Random, regex, exists, hash, "
                     "prefix, suffix, contains)",
                     (int)(t->len > 40 ? 40 : t->len), t->s.p);
            else if (is_word(t, "header") || is_word(t, "query") || is_word(t, "cookie") ||
                     is_word(t, "sysparam"))
                perr(P, t->off, "'%.*s' needs a name: %.*s.NAME", (int)t->len, t->s.p, (int)t->len,
                     t->s.p);
            else
                perr(P, t->off, "unexpected word '%.*s'", (int)(t->len > 40 ? 40 : t->len), t->s.p);
            return NULL;
        }
    } else if (t->kind != SY_T_PARAM && t->kind != SY_T_STR && t->kind != SY_T_NUM) {
        if (t->kind == SY_T_RPAREN && P->depth == 0)
            perr(P, t->off, "unbalanced ')'");
        else
            perr(P, t->off, "expected a condition, found %s", describe(P, t));
        return NULL;
    }

    operand l;
    if (!parse_operand(P, &l))
        return NULL;
    t = &P->tok;
    if (t->kind == SY_T_OP) {
        enum sy_cmp_op op = t->op;
        size_t op_off = t->off;
        advance(P);
        if (P->failed)
            return NULL;
        if (P->tok.kind == SY_T_EOF) {
            perr(P, P->tok.off, "expected a value after the operator, found end of expression");
            return NULL;
        }
        operand r;
        if (!parse_operand(P, &r))
            return NULL;
        return make_cmp(P, &l, op, op_off, &r);
    }
    if (is_word(t, "in"))
        return parse_list(P, &l, false, false);
    if (is_word(t, "in_cidr"))
        return parse_list(P, &l, false, true);
    if (is_word(t, "not")) {
        /* `p not in (...)`: look one token ahead without consuming. */
        sy_lexer save = P->lx;
        sy_tok not_tok = *t;
        advance(P);
        if (is_word(&P->tok, "in") || is_word(&P->tok, "in_cidr"))
            return parse_list(P, &l, true, is_word(&P->tok, "in_cidr"));
        P->lx = save;
        P->tok = not_tok;
        P->failed = false;
        perr(P, not_tok.off, "unexpected 'not' after a value (did you mean 'not in'?)");
        return NULL;
    }
    if (l.v.kind == SY_V_LIT && l.v.lit.type == SY_LIT_BOOL) {
        sy_node *n = new_node(P, SY_N_CONST, l.off, l.end);
        n->u.truth = l.v.lit.b;
        return n;
    }
    bool ends =
        t->kind == SY_T_EOF || t->kind == SY_T_RPAREN || is_word(t, "and") || is_word(t, "or");
    if (!ends) {
        perr(P, t->off,
             "expected an operator (=, !=, <, <=, >, >=, in, not in, in_cidr), "
             "found %s",
             describe(P, t));
        return NULL;
    }
    switch (l.v.kind) {
    case SY_V_PARAM:
        perr(P, l.off,
             "a parameter alone is not a condition: compare it (header.x = 'v') "
             "or test it with exists(...)");
        break;
    case SY_V_RANDOM:
    case SY_V_HASH:
        perr(P, l.off, "%s must be compared with a number (e.g. %s < 0.05)", l.fname, l.fname);
        break;
    default:
        perr(P, l.off, "a constant alone is not a condition");
        break;
    }
    return NULL;
}

static sy_node *parse_not(parser *P)
{
    if (!is_word(&P->tok, "not"))
        return parse_primary(P);
    size_t off = P->tok.off;
    if (!enter(P, off))
        return NULL;
    advance(P);
    sy_node *c = parse_not(P);
    if (!c)
        return NULL;
    P->depth--;
    sy_node *n = new_node(P, SY_N_NOT, off, c->off + c->len);
    n->u.child = c;
    return n;
}

/* One level of `and` or `or`: flattened into an n-ary node so evaluation
 * of a long chain loops instead of recursing. */
static sy_node *parse_chain(parser *P, const char *word, enum sy_node_kind kind,
                            sy_node *(*sub)(parser *))
{
    sy_node *first = sub(P);
    if (!first || !is_word(&P->tok, word))
        return first;
    sy_node **kids = NULL;
    size_t n = 0, cap = 0;
    kids = grow(P, kids, n, &cap, sizeof(*kids));
    kids[n++] = first;
    while (is_word(&P->tok, word)) {
        advance(P);
        if (P->tok.kind == SY_T_EOF && !P->failed) {
            perr(P, P->tok.off, "expected a condition after '%s', found end of expression", word);
            return NULL;
        }
        sy_node *k = sub(P);
        if (!k)
            return NULL;
        kids = grow(P, kids, n, &cap, sizeof(*kids));
        kids[n++] = k;
    }
    sy_node *last = kids[n - 1];
    sy_node *node = new_node(P, kind, first->off, last->off + last->len);
    node->u.list.kids = kids;
    node->u.list.n = n;
    return node;
}

static sy_node *parse_and(parser *P)
{
    return parse_chain(P, "and", SY_N_AND, parse_not);
}

static sy_node *parse_or(parser *P)
{
    return parse_chain(P, "or", SY_N_OR, parse_and);
}

sy_expr *sy_expr_compile(sy_arena *a, const char *src, char *err, size_t errlen, int *err_col)
{
    char dummy[8];
    int dcol;
    if (!err || !errlen) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    if (!err_col)
        err_col = &dcol;
    err[0] = '\0';
    *err_col = 0;
    size_t len = strlen(src);
    if (len > SY_EXPR_MAX_LEN) {
        snprintf(err, errlen, "condition longer than %d characters", SY_EXPR_MAX_LEN);
        *err_col = SY_EXPR_MAX_LEN + 1;
        return NULL;
    }
    parser P = {0};
    P.a = a;
    P.err = err;
    P.errlen = errlen;
    P.e = sy_arena_alloc(a, sizeof(*P.e));
    P.e->src = sy_arena_strndup(a, src, len);
    P.lx.a = a;
    P.lx.src = P.e->src;
    P.lx.len = len;
    P.lx.err = err;
    P.lx.errlen = errlen;
    advance(&P);
    if (P.tok.kind == SY_T_EOF)
        perr(&P, 0, "empty expression");
    sy_node *root = P.failed ? NULL : parse_or(&P);
    if (root && P.tok.kind != SY_T_EOF && !P.failed) {
        if (P.tok.kind == SY_T_RPAREN)
            perr(&P, P.tok.off, "unbalanced ')'");
        else
            perr(&P, P.tok.off,
                 "expected 'and', 'or' or the end after a complete condition, "
                 "found %s",
                 describe(&P, &P.tok));
    }
    if (P.failed || !root) {
        if (!P.failed) /* cannot happen: every NULL path reports */
            perr(&P, 0, "invalid expression");
        *err_col = P.err_col;
        sy_expr_free(P.e);
        return NULL;
    }
    P.e->root = root;
    return P.e;
}

void sy_expr_free(sy_expr *e)
{
    if (!e)
        return;
    for (sy_node *n = e->regexes; n; n = n->u.regex.next_re) {
        pcre2_code_free(n->u.regex.re);
        n->u.regex.re = NULL;
    }
    e->regexes = NULL;
}

const char *sy_expr_source(const sy_expr *e)
{
    return e->src;
}
