/* Compile-time errors: each with its message and the 1-based column of the
 * offending token. */
#include <stdlib.h>

#include "router/expr_fixture.h"

static void test_structure_errors(void **state)
{
    fx_error("", 1, "empty expression");
    fx_error("   \t", 1, "empty expression");
    fx_error("header.a = 'x", 12, "unterminated string");
    fx_error("header.a = \"x\\\"", 12, "unterminated string");
    fx_error("(header.a = 'x'", 16, "expected ')' to close the '(' at column 1");
    fx_error("((header.a = 'x')", 18, "to close the '(' at column 1");
    fx_error("header.a = 'x')", 15, "unbalanced ')'");
    fx_error(")", 1, "unbalanced ')'");
    fx_error("()", 2, "expected a condition, found ')'");
    fx_error("header.a = 'x' header.b = 'y'", 16, "after a complete condition");
    fx_error("header.a = 'x' and", 19, "expected a condition after 'and'");
    fx_error("header.a = 'x' or ", 19, "expected a condition after 'or'");
    fx_error("and header.a = 1", 1, "expected a condition before 'and'");
    fx_error("header.a = ", 12, "expected a value after the operator");
    fx_error("header.a ! 'x'", 10, "unexpected '!'");
    fx_error("header.a = 'x' && true", 16, "write 'and'");
    fx_error("header.a = 'x' || true", 16, "write 'or'");
    fx_error("header.a = 1.2.3", 12, "malformed number");
    fx_error("header.a = 1.", 12, "digits expected after '.'");
    fx_error("header.a = 30and true", 12, "malformed number");
    fx_error("header.a = 'x' \xe2\x82\xac", 16, "unexpected byte 0xe2");
    fx_error("header.a = 'x' ;", 16, "unexpected character ';'");
    fx_error("header.a not 'x'", 10, "unexpected 'not' after a value");
    fx_error("header.a 'x'", 10, "expected an operator");
    fx_error("not", 4, "expected a condition, found end of expression");
}

static void test_operand_errors(void **state)
{
    fx_error("bogus.a = 1", 1, "unknown parameter location 'bogus'");
    fx_error("header.x = 1 and bogus.a = 1", 18, "unknown parameter location");
    fx_error("sysparam.clientIP2 = 1", 10, "unknown system parameter 'sysparam.clientIP2'");
    fx_error("header = 'x'", 1, "'header' needs a name: header.NAME");
    fx_error("header. = 1", 8, "expected a parameter name");
    fx_error("path.x = 1", 1, "'path' takes no name");
    fx_error("foo(header.a)", 1, "unknown function 'foo'");
    fx_error("header.a = 1 or  rand (1)", 18, "unknown function 'rand'");
    fx_error("banana", 1, "unexpected word 'banana'");
}

static void test_type_errors(void **state)
{
    fx_error("header.a", 1, "a parameter alone is not a condition");
    fx_error("true and (query.x)", 11, "a parameter alone is not a condition");
    fx_error("'x'", 1, "a constant alone is not a condition");
    fx_error("1 = 2", 1, "comparison of two constants");
    fx_error("'a' < 'b'", 1, "comparison of two constants");
    fx_error("header.a < true", 10, "a boolean can only be compared with =");
    fx_error("Random()", 1, "Random() must be compared with a number");
    fx_error("Random() = 'x'", 12, "Random() can only be compared with a number");
    fx_error("Random() < header.a", 12, "Random() can only be compared with a number");
    fx_error("header.a = Random()", 12, "Random() can only be compared");
    fx_error("Random(1) < 2", 8, "Random() takes no arguments");
    fx_error("Random < 2", 8, "expected '(' after Random");
    fx_error("hash('x') < 1", 6, "hash() needs a parameter");
    fx_error("hash(header.a) = 'x'", 18, "hash() can only be compared with a number");
    fx_error("hash(header.a)", 1, "hash() must be compared");
    fx_error("exists(header.a) = true", 18, "exists() is a condition and cannot be compared");
    fx_error("header.a = exists(header.b)", 12, "exists() is a condition, not a value");
    fx_error("1 in (1, 2)", 1, "only a parameter can be tested with 'in'");
    fx_error("Random() in_cidr ('10.0.0.0/8')", 1, "only a parameter can be tested with");
}

static void test_function_errors(void **state)
{
    fx_error("regex('x', 'y')", 7, "regex() needs a parameter");
    fx_error("regex(header.a, 1)", 17, "regex() needs a quoted pattern");
    fx_error("regex(header.a)", 15, "expected ',' and a quoted pattern");
    fx_error("regex(header.a, '(')", 17, "invalid regex: missing closing parenthesis");
    fx_error("regex(header.a, 'a', 'b')", 20, "too many arguments to regex()");
    fx_error("regex header.a", 7, "expected '(' after regex");
    fx_error("prefix(header.a)", 16, "expected ','");
    fx_error("exists(header.a, 'x')", 16, "too many arguments to exists()");
    fx_error("exists()", 8, "exists() needs a parameter");
    fx_error("contains(header.a, 'x'", 23, "expected ')' to close contains(");
}

static void test_list_errors(void **state)
{
    fx_error("header.a in ()", 14, "empty list after 'in'");
    fx_error("header.a in 'x'", 13, "needs a parenthesised list");
    fx_error("header.a in ('a' 'b')", 18, "expected ',' or ')'");
    fx_error("header.a in ('a',)", 18, "'in' lists hold constants");
    fx_error("header.a in (header.b)", 14, "'in' lists hold constants");
    fx_error("header.a in ('a'", 17, "expected ',' or ')'");
    fx_error("header.a in_cidr ('10.0.0.0/33')", 19, "invalid CIDR '10.0.0.0/33'");
    fx_error("header.a in_cidr ('10.0.0.0/8', 'bogus')", 33, "invalid CIDR 'bogus'");
    fx_error("header.a in_cidr ('10.0.0.0/')", 19, "invalid CIDR");
    fx_error("header.a in_cidr ('2001:db8::/129')", 19, "invalid CIDR");
    fx_error("header.a in_cidr ('::ffff:1.2.3.4/95')", 19, "invalid CIDR");
    fx_error("header.a in_cidr (10)", 19, "in_cidr entries are quoted networks");
    fx_error("header.a not in_cidr ()", 23, "empty list after 'in_cidr'");
}

static void test_limits(void **state)
{
    /* 4096 characters compile, 4097 do not */
    char *s = malloc(5000);
    memset(s, ' ', 4096);
    memcpy(s, "true", 4);
    s[4096] = '\0';
    sy_arena a;
    sy_arena_init(&a, 4096);
    char err[200];
    int col;
    assert_non_null(sy_expr_compile(&a, s, err, sizeof(err), &col));
    s[4096] = ' ';
    s[4097] = '\0';
    fx_error(s, 4097, "longer than 4096 characters");

    /* 64 levels of nesting compile, 65 do not */
    size_t n = 0;
    for (int i = 0; i < 64; i++)
        s[n++] = '(';
    memcpy(s + n, "true", 4);
    n += 4;
    for (int i = 0; i < 64; i++)
        s[n++] = ')';
    s[n] = '\0';
    assert_non_null(sy_expr_compile(&a, s, err, sizeof(err), &col));
    n = 0;
    for (int i = 0; i < 65; i++)
        s[n++] = '(';
    memcpy(s + n, "true", 4);
    n += 4;
    for (int i = 0; i < 65; i++)
        s[n++] = ')';
    s[n] = '\0';
    fx_error(s, 65, "nesting deeper than 64");
    n = 0;
    for (int i = 0; i < 65; i++) {
        memcpy(s + n, "not ", 4);
        n += 4;
    }
    memcpy(s + n, "true", 5);
    fx_error(s, 64 * 4 + 1, "nesting deeper than 64");
    /* long flat chains are not nesting */
    n = 0;
    for (int i = 0; i < 500; i++) {
        memcpy(s + n, "true or ", 8);
        n += 8;
    }
    memcpy(s + n, "false", 6);
    sy_expr *e = sy_expr_compile(&a, s, err, sizeof(err), &col);
    assert_non_null(e);
    fx f;
    fx_init(&f);
    assert_true(sy_expr_eval(e, &f.rv));
    fx_done(&f);
    sy_arena_free(&a);
    free(s);
}

static void test_err_args_optional(void **state)
{
    sy_arena a;
    sy_arena_init(&a, 4096);
    assert_null(sy_expr_compile(&a, "header.a", NULL, 0, NULL));
    char tiny[8];
    int col;
    assert_null(sy_expr_compile(&a, "header.a = 'unterminated", tiny, sizeof(tiny), &col));
    assert_int_equal(col, 12);
    assert_int_equal(strlen(tiny), 7);
    sy_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_structure_errors),  cmocka_unit_test(test_operand_errors),
        cmocka_unit_test(test_type_errors),       cmocka_unit_test(test_function_errors),
        cmocka_unit_test(test_list_errors),       cmocka_unit_test(test_limits),
        cmocka_unit_test(test_err_args_optional),
    };
    return cmocka_run_group_tests_name("router/expr_errors", tests, NULL, NULL);
}
