/* Tokens of the condition language.
 *
 * A parameter reference is one token (`header.X-Tenant`, `path`) because
 * its name may hold characters ('-', '.') that are not word characters
 * anywhere else; splitting it would make `query.a-b` ambiguous for no
 * gain.  Words (and, or, not, in, in_cidr, true, false, function names) are
 * returned as SY_T_WORD and recognised by the parser, case-insensitively. */
#include "router/expr_int.h"

#include <stdio.h>
#include <stdlib.h>

static bool is_word_start(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static bool is_word_char(int c)
{
    return is_word_start(c) || is_digit(c);
}

/* Parameter names: what HTTP tokens, query keys and cookie names commonly
 * use.  '.' is allowed so `query.user.id` reads the key "user.id". */
static bool is_name_char(int c)
{
    return is_word_char(c) || c == '-' || c == '.';
}

static void fail(sy_lexer *lx, sy_tok *t, size_t off, const char *msg)
{
    t->kind = SY_T_ERR;
    t->off = off;
    t->len = 1;
    snprintf(lx->err, lx->errlen, "%s", msg);
}

static const struct {
    const char *name;
    enum sy_expr_loc loc;
} sysparams[] = {
    {"clientIp", SY_LOC_CLIENT_IP}, {"httpScheme", SY_LOC_SCHEME}, {"clientUa", SY_LOC_UA},
    {"host", SY_LOC_HOST},          {"method", SY_LOC_METHOD},
};

static void lex_param(sy_lexer *lx, sy_tok *t, size_t start, size_t wend)
{
    sy_str loc = sy_str_make(lx->src + start, wend - start);
    size_t p = wend + 1; /* past the dot */
    size_t nstart = p;
    while (p < lx->len && is_name_char((unsigned char)lx->src[p]))
        p++;
    if (sy_str_ieq_c(loc, "path")) {
        fail(lx, t, start, "'path' takes no name: write path = '/x'");
        return;
    }
    if (p == nstart) {
        fail(lx, t, nstart, "expected a parameter name after '.'");
        return;
    }
    sy_str name = sy_str_make(lx->src + nstart, p - nstart);
    t->kind = SY_T_PARAM;
    t->off = start;
    t->len = p - start;
    t->param.name = name;
    if (sy_str_ieq_c(loc, "header")) {
        t->param.loc = SY_LOC_HEADER;
    } else if (sy_str_ieq_c(loc, "query")) {
        t->param.loc = SY_LOC_QUERY;
    } else if (sy_str_ieq_c(loc, "cookie")) {
        t->param.loc = SY_LOC_COOKIE;
    } else if (sy_str_ieq_c(loc, "sysparam")) {
        t->param.name = SY_STR_NULL;
        for (size_t i = 0; i < sizeof(sysparams) / sizeof(sysparams[0]); i++) {
            if (sy_str_ieq_c(name, sysparams[i].name)) {
                t->param.loc = sysparams[i].loc;
                lx->pos = p;
                return;
            }
        }
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "unknown system parameter 'sysparam.%.*s' (known: clientIp, "
                 "httpScheme, clientUa, host, method)",
                 (int)(name.len > 40 ? 40 : name.len), name.p);
        fail(lx, t, nstart, msg);
        return;
    } else {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "unknown parameter location '%.*s' (known: header, query, "
                 "cookie, path, sysparam)",
                 (int)(loc.len > 40 ? 40 : loc.len), loc.p);
        fail(lx, t, start, msg);
        return;
    }
    lx->pos = p;
}

/* Quoted string.  \\ \' \" \n \t are escapes; any other backslash is kept
 * with the character after it, so regex patterns like "\d+" or "a\.b" can
 * be written without doubling every backslash. */
static void lex_string(sy_lexer *lx, sy_tok *t)
{
    size_t start = lx->pos;
    char q = lx->src[start];
    char *out = sy_arena_alloc(lx->a, lx->len - start + 1);
    size_t n = 0, p = start + 1;
    for (;;) {
        if (p >= lx->len) {
            fail(lx, t, start, "unterminated string");
            return;
        }
        char c = lx->src[p];
        if (c == q)
            break;
        if (c == '\\') {
            if (p + 1 >= lx->len) {
                fail(lx, t, start, "unterminated string");
                return;
            }
            char e = lx->src[p + 1];
            switch (e) {
            case '\\':
                out[n++] = '\\';
                break;
            case '\'':
                out[n++] = '\'';
                break;
            case '"':
                out[n++] = '"';
                break;
            case 'n':
                out[n++] = '\n';
                break;
            case 't':
                out[n++] = '\t';
                break;
            default:
                out[n++] = '\\';
                out[n++] = e;
                break;
            }
            p += 2;
            continue;
        }
        out[n++] = c;
        p++;
    }
    out[n] = '\0';
    t->kind = SY_T_STR;
    t->off = start;
    t->len = p + 1 - start;
    t->s = sy_str_make(out, n);
    lx->pos = p + 1;
}

static void lex_number(sy_lexer *lx, sy_tok *t)
{
    size_t start = lx->pos, p = start;
    if (lx->src[p] == '-')
        p++;
    while (p < lx->len && is_digit((unsigned char)lx->src[p]))
        p++;
    if (p < lx->len && lx->src[p] == '.') {
        p++;
        if (p >= lx->len || !is_digit((unsigned char)lx->src[p])) {
            fail(lx, t, start, "malformed number: digits expected after '.'");
            return;
        }
        while (p < lx->len && is_digit((unsigned char)lx->src[p]))
            p++;
    }
    if (p < lx->len && (lx->src[p] == 'e' || lx->src[p] == 'E')) {
        size_t q = p + 1;
        if (q < lx->len && (lx->src[q] == '+' || lx->src[q] == '-'))
            q++;
        if (q < lx->len && is_digit((unsigned char)lx->src[q])) {
            p = q;
            while (p < lx->len && is_digit((unsigned char)lx->src[p]))
                p++;
        }
    }
    if (p < lx->len && (is_name_char((unsigned char)lx->src[p]))) {
        fail(lx, t, start, "malformed number");
        return;
    }
    if (p - start > 64) {
        fail(lx, t, start, "number too long");
        return;
    }
    char buf[80];
    memcpy(buf, lx->src + start, p - start);
    buf[p - start] = '\0';
    t->kind = SY_T_NUM;
    t->num = strtod(buf, NULL) + 0.0; /* + 0.0 folds -0 into 0 */
    t->off = start;
    t->len = p - start;
    lx->pos = p;
}

void sy_lex_next(sy_lexer *lx, sy_tok *t)
{
    memset(t, 0, sizeof(*t));
    while (lx->pos < lx->len) {
        char c = lx->src[lx->pos];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
            break;
        lx->pos++;
    }
    size_t p = lx->pos;
    t->off = p;
    if (p >= lx->len) {
        t->kind = SY_T_EOF;
        return;
    }
    unsigned char c = (unsigned char)lx->src[p];
    unsigned char c1 = p + 1 < lx->len ? (unsigned char)lx->src[p + 1] : 0;
    t->len = 1;
    switch (c) {
    case '(':
        t->kind = SY_T_LPAREN;
        lx->pos++;
        return;
    case ')':
        t->kind = SY_T_RPAREN;
        lx->pos++;
        return;
    case ',':
        t->kind = SY_T_COMMA;
        lx->pos++;
        return;
    case '=':
        t->kind = SY_T_OP;
        t->op = SY_OP_EQ;
        t->len = c1 == '=' ? 2 : 1;
        lx->pos += t->len;
        return;
    case '!':
        if (c1 != '=') {
            fail(lx, t, p, "unexpected '!': write 'not' to negate, '!=' to compare");
            return;
        }
        t->kind = SY_T_OP;
        t->op = SY_OP_NE;
        t->len = 2;
        lx->pos += 2;
        return;
    case '<':
    case '>':
        t->kind = SY_T_OP;
        if (c1 == '=') {
            t->op = c == '<' ? SY_OP_LE : SY_OP_GE;
            t->len = 2;
        } else {
            t->op = c == '<' ? SY_OP_LT : SY_OP_GT;
        }
        lx->pos += t->len;
        return;
    case '\'':
    case '"':
        lex_string(lx, t);
        return;
    case '&':
    case '|':
        fail(lx, t, p, c == '&' ? "unexpected '&': write 'and'" : "unexpected '|': write 'or'");
        return;
    default:
        break;
    }
    if (is_digit(c) || (c == '-' && is_digit(c1))) {
        lex_number(lx, t);
        return;
    }
    if (is_word_start(c)) {
        size_t e = p;
        while (e < lx->len && is_word_char((unsigned char)lx->src[e]))
            e++;
        if (e < lx->len && lx->src[e] == '.') {
            lex_param(lx, t, p, e);
            return;
        }
        sy_str w = sy_str_make(lx->src + p, e - p);
        t->len = e - p;
        lx->pos = e;
        if (sy_str_ieq_c(w, "path")) {
            t->kind = SY_T_PARAM;
            t->param.loc = SY_LOC_PATH;
            return;
        }
        t->kind = SY_T_WORD;
        t->s = w;
        return;
    }
    char msg[64];
    if (c >= 0x20 && c < 0x7f)
        snprintf(msg, sizeof(msg), "unexpected character '%c'", c);
    else
        snprintf(msg, sizeof(msg), "unexpected byte 0x%02x", c);
    fail(lx, t, p, msg);
}
