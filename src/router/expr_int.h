/* The compiled form of a condition, shared by the expr_*.c files only.
 *
 * The parser normalises comparisons so that the left side is what the
 * request provides (a parameter, Random() or hash()) and the right side a
 * constant or a second parameter: `30 > query.age` becomes
 * `query.age < 30`.  Evaluation then never has to think about sides. */
#ifndef SY_ROUTER_EXPR_INT_H
#define SY_ROUTER_EXPR_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdint.h>

#include "router/expr.h"

enum sy_cmp_op { SY_OP_EQ, SY_OP_NE, SY_OP_LT, SY_OP_LE, SY_OP_GT, SY_OP_GE };

enum sy_node_kind {
    SY_N_OR,     /* u.list */
    SY_N_AND,    /* u.list */
    SY_N_NOT,    /* u.child */
    SY_N_CONST,  /* bare true / false: u.truth */
    SY_N_CMP,    /* u.cmp */
    SY_N_IN,     /* u.in: p [not] in (consts) */
    SY_N_CIDR,   /* u.cidr: p [not] in_cidr ('net', ...) */
    SY_N_REGEX,  /* u.regex */
    SY_N_EXISTS, /* u.str.param */
    SY_N_PREFIX, /* u.str */
    SY_N_SUFFIX,
    SY_N_CONTAINS,
};

enum sy_val_kind { SY_V_PARAM, SY_V_LIT, SY_V_RANDOM, SY_V_HASH };

typedef struct sy_expr_val {
    enum sy_val_kind kind;
    sy_expr_param param; /* SY_V_PARAM, SY_V_HASH */
    sy_expr_lit lit;     /* SY_V_LIT */
} sy_expr_val;

typedef struct sy_expr_net {
    int family;       /* AF_INET or AF_INET6 */
    uint8_t addr[16]; /* masked to prefix */
    int prefix;
} sy_expr_net;

typedef struct sy_node sy_node;
struct sy_node {
    enum sy_node_kind kind;
    uint32_t off, len; /* source span, quoted by explain */
    union {
        struct {
            sy_node **kids;
            size_t n;
        } list;
        sy_node *child;
        bool truth;
        struct {
            sy_expr_val lhs, rhs;
            enum sy_cmp_op op;
        } cmp;
        struct {
            sy_expr_param param;
            sy_expr_lit *lits;
            size_t n;
            bool negate;
        } in;
        struct {
            sy_expr_param param;
            sy_expr_net *nets;
            size_t n;
            bool negate;
        } cidr;
        struct {
            sy_expr_param param;
            pcre2_code *re;
            sy_node *next_re;
        } regex;
        struct {
            sy_expr_param param;
            sy_str s;
        } str;
    } u;
};

struct sy_expr {
    sy_node *root;
    const char *src;  /* arena copy of the source */
    sy_node *regexes; /* chain through u.regex.next_re, for freeing */
};

/* ---- lexer (expr_lex.c) ---- */
enum sy_tok_kind {
    SY_T_EOF,
    SY_T_LPAREN,
    SY_T_RPAREN,
    SY_T_COMMA,
    SY_T_OP,
    SY_T_STR,
    SY_T_NUM,
    SY_T_WORD,
    SY_T_PARAM,
    SY_T_ERR,
};

typedef struct sy_tok {
    enum sy_tok_kind kind;
    size_t off, len;     /* span in the source */
    enum sy_cmp_op op;   /* SY_T_OP */
    sy_str s;            /* SY_T_STR decoded; SY_T_WORD the word */
    double num;          /* SY_T_NUM */
    sy_expr_param param; /* SY_T_PARAM */
} sy_tok;

typedef struct sy_lexer {
    sy_arena *a;
    const char *src;
    size_t len, pos;
    char *err; /* message for SY_T_ERR */
    size_t errlen;
} sy_lexer;

/* Next token; SY_T_ERR with lx->err filled and tok->off at the culprit. */
void sy_lex_next(sy_lexer *lx, sy_tok *tok);

/* ---- fetch helpers (expr_fetch.c) ---- */
/* Parse an address (v4, v6, v4-mapped v6 folded to v4).  False if invalid. */
bool sy_expr_parse_ip(sy_str s, int *family, uint8_t addr[16]);
/* Parse "net/len" or a bare address into n (host bits cleared). */
bool sy_expr_parse_net(sy_str s, sy_expr_net *n);
bool sy_expr_net_contains(const sy_expr_net *n, int family, const uint8_t addr[16]);
/* The arena decoded values go to for this request. */
sy_arena *sy_expr_scratch(const sy_req_view *rv);

#endif
