/* The condition language: operands, constants, operators, coercions,
 * missing parameters, case rules and precedence. */
#include "router/expr_fixture.h"

#define T(src) assert_true(fx_eval(&f, src))
#define F(src) assert_false(fx_eval(&f, src))

static void test_tencent_examples(void **state)
{
    fx f;
    fx_init(&f);
    fx_header(&f, "UserName", "Admin");
    fx_header(&f, "id", "1098");
    f.rv.client_ip = sy_str_c("47.47.74.77");
    T("header.UserName = 'Admin' and sysparam.clientIp = '47.47.74.77'");
    T("sysparam.httpScheme = 'https' and (header.id = 1001 or header.id = 1098 or "
      "header.id = 2011)");
    F("sysparam.httpScheme = 'http'");
    fx_query(&f, "name=colour");
    T("regex(query.name,\"colou?r\")");
    T("exists(header.UserName)");
    F("exists(header.Accept)");
    f.rv.path = sy_str_c("/test");
    T("path='/test'");
    F("path='/test/'");
    F("header.unknown = 1");
    fx_done(&f);
}

static void test_equality_operators(void **state)
{
    fx f;
    fx_init(&f);
    fx_header(&f, "X-Tenant", "acme");
    T("header.X-Tenant = 'acme'");
    T("header.X-Tenant == 'acme'");
    T("header.X-Tenant=\"acme\"");
    F("header.X-Tenant = 'Acme'");
    T("header.X-Tenant != 'other'");
    F("header.X-Tenant != 'acme'");
    T("'acme' = header.X-Tenant");
    fx_done(&f);
}

static void test_relational_strings_bytewise(void **state)
{
    fx f;
    fx_init(&f);
    fx_header(&f, "v", "b");
    T("header.v > 'a'");
    T("header.v >= 'b'");
    T("header.v <= 'b'");
    T("header.v < 'ba'");
    F("header.v < 'B'"); /* 'B' (0x42) sorts before 'b' (0x62) */
    T("'c' > header.v"); /* mirrored: header.v < 'c' */
    fx_done(&f);
}

static void test_numeric_coercion(void **state)
{
    fx f;
    fx_init(&f);
    fx_query(&f, "age=29&level=3.5&neg=-2&zero=0&junk=12abc&exp=1e3&ws= 5&plus=%2B4");
    T("query.age<30");
    T("query.age <= 29");
    F("query.age > 29");
    T("query.age = 29.0");
    T("query.level > 3");
    T("query.level >= 3.5");
    T("query.neg < -1");
    T("query.zero = -0");
    T("query.exp = 1000");
    T("query.plus = 4");
    F("query.junk = 12");
    F("query.junk != 12"); /* not a number: false whatever the operator */
    F("query.junk < 100");
    F("query.ws = 5"); /* the whole value must be a number */
    T("query.junk = '12abc'");
    T("30 > query.age");
    fx_header(&f, "id", "007");
    T("header.id = 7");
    F("header.id = '7'");
    fx_header(&f, "inf", "inf");
    F("header.inf > 0");
    fx_done(&f);
}

static void test_boolean_coercion(void **state)
{
    fx f;
    fx_init(&f);
    fx_query(&f, "a=false&b=TRUE&c=yes&d=1");
    T("query.a = false");
    T("query.a == false");
    F("query.a = true");
    T("query.a != true");
    T("query.b = true");
    F("query.c = true");
    F("query.c != true"); /* not a boolean */
    F("query.d = true");
    T("true = query.b");
    fx_done(&f);
}

static void test_missing_parameters(void **state)
{
    fx f;
    fx_init(&f);
    F("header.nope = 'x'");
    F("header.nope != 'x'");
    F("header.nope < 1");
    F("header.nope in ('a')");
    F("header.nope not in ('a')");
    T("not header.nope = 'x'");
    T("not exists(header.nope)");
    F("regex(header.nope, '.*')");
    F("prefix(header.nope, '')");
    F("hash(header.nope) < 2");
    F("header.nope in_cidr ('0.0.0.0/0')");
    T("header.nope = 'x' or true");
    fx_done(&f);
}

static void test_logic_and_precedence(void **state)
{
    fx f;
    fx_init(&f);
    /* and binds tighter than or: (age<30 and need_verify=false) or level>3 */
    fx_query(&f, "age=40&need_verify=false&level=4");
    T("query.age<30 and query.need_verify=false or query.level>3");
    fx_query(&f, "age=40&need_verify=false&level=1");
    F("query.age<30 and query.need_verify=false or query.level>3");
    fx_query(&f, "age=20&need_verify=false&level=1");
    T("query.age<30 and query.need_verify=false or query.level>3");
    fx_query(&f, "age=20&need_verify=true&level=1");
    F("query.age<30 and query.need_verify=false or query.level>3");
    /* parentheses change it */
    fx_query(&f, "age=40&need_verify=false&level=4");
    F("query.age<30 and (query.need_verify=false or query.level>3)");
    /* not binds tightest among the logical words */
    T("not query.age < 30 and query.level > 3");
    F("not (query.age > 30 and query.level > 3)");
    T("not not query.age = 40");
    T("NOT query.age = 1 AND query.level = 4 OR false");
    T("true");
    F("false");
    T("(((true)))");
    fx_done(&f);
}

static void test_whitespace_optional(void **state)
{
    fx f;
    fx_init(&f);
    fx_query(&f, "age=20");
    T("query.age<30");
    T("query.age<30 and(query.age>10)or(false)");
    T("  query.age\t=\n20  ");
    T("query.age in('20')");
    fx_done(&f);
}

static void test_case_rules(void **state)
{
    fx f;
    fx_init(&f);
    fx_header(&f, "x-tenant", "acme");
    fx_query(&f, "Name=Bob");
    T("HEADER.X-Tenant = 'acme'"); /* location case-insensitive */
    T("header.X-TENANT = 'acme'"); /* header names like HTTP */
    T("Query.Name = 'Bob'");
    F("query.name = 'Bob'"); /* query names case-sensitive */
    T("SysParam.CLIENTIP = '203.0.113.7'");
    T("sysparam.httpscheme = 'https'");
    T("PATH = '/orders/1'");
    T("EXISTS(header.x-tenant) And Not Exists(header.y)");
    T("random() >= 0");
    T("REGEX(query.Name, 'B')");
    fx_done(&f);
}

static void test_sysparams(void **state)
{
    fx f;
    fx_init(&f);
    fx_header(&f, "User-Agent", "curl/8.0");
    T("sysparam.clientUa = 'curl/8.0'");
    T("sysparam.host = 'api.example.com'");
    T("sysparam.method = 'GET'");
    T("sysparam.httpScheme = 'https'");
    T("sysparam.clientIp = '203.0.113.7'");
    f.rv.host = SY_STR_NULL;
    F("exists(sysparam.host)");
    fx_done(&f);
}

static void test_query_decoding(void **state)
{
    fx f;
    fx_init(&f);
    fx_query(&f, "q=a+b%20c&dup=1&dup=2&empty=&flag&pct=100%&bad=%zz&k%20x=v&u=%C3%A9");
    T("query.q = 'a b c'");
    T("query.dup = 1");
    T("query.empty = ''");
    T("exists(query.flag)");
    T("query.flag = ''");
    T("query.pct = '100%'");
    T("query.bad = '%zz'");
    T("query.u = '\xc3\xa9'");
    F("exists(query.nope)");
    fx_done(&f);
}

static void test_cookies(void **state)
{
    fx f;
    fx_init(&f);
    fx_header(&f, "Cookie", "a=1; session=abc ;quoted=\"q v\"; flag");
    fx_header(&f, "cookie", "b=2; a=9");
    T("cookie.a = 1");
    T("cookie.session = 'abc'");
    T("cookie.quoted = 'q v'");
    T("cookie.b = '2'");
    F("exists(cookie.flag)");
    F("exists(cookie.A)");
    F("exists(cookie.c)");
    fx_done(&f);
}

static void test_in_lists(void **state)
{
    fx f;
    fx_init(&f);
    fx_header(&f, "t", "t2");
    fx_header(&f, "n", "7.0");
    T("header.t in ('t1', 't2')");
    F("header.t in ('t1', 't3')");
    T("header.t not in ('t1', 't3')");
    F("header.t not in ('t2')");
    T("header.n in (1, 7)");
    F("header.n in ('7')");
    T("header.n not in (1, 8)");
    /* not in = a chain of !=, and != with a non-number is false */
    F("header.t not in (1, 2)");
    T("header.t in (1, 't2')");
    T("not header.t in ('x')");
    fx_done(&f);
}

static void test_cidr(void **state)
{
    fx f;
    fx_init(&f);
    f.rv.client_ip = sy_str_c("10.1.2.3");
    T("sysparam.clientIp in_cidr ('10.0.0.0/8')");
    T("sysparam.clientIp in_cidr ('192.168.0.0/16', '10.1.2.3')");
    F("sysparam.clientIp in_cidr ('10.1.2.4/32', '2001:db8::/32')");
    T("sysparam.clientIp not in_cidr ('192.168.0.0/16')");
    T("sysparam.clientIp in_cidr ('10.1.2.255/24')"); /* host bits ignored */
    T("sysparam.clientIp in_cidr ('0.0.0.0/0')");
    T("sysparam.clientIp in_cidr ('::ffff:10.0.0.0/104')");
    f.rv.client_ip = sy_str_c("::ffff:10.9.9.9");
    T("sysparam.clientIp in_cidr ('10.0.0.0/8')");
    f.rv.client_ip = sy_str_c("2001:db8:1::5");
    T("sysparam.clientIp in_cidr ('2001:db8::/32')");
    F("sysparam.clientIp in_cidr ('2001:db9::/32', '10.0.0.0/8')");
    T("sysparam.clientIp in_cidr ('2001:db8:1::/125')");
    fx_header(&f, "X-Real-IP", "not-an-ip");
    F("header.X-Real-IP in_cidr ('0.0.0.0/0')");
    F("header.X-Real-IP not in_cidr ('10.0.0.0/8')");
    fx_done(&f);
}

static void test_string_functions(void **state)
{
    fx f;
    fx_init(&f);
    f.rv.path = sy_str_c("/v2/orders/17");
    T("prefix(path, '/v2/')");
    F("prefix(path, '/v1/')");
    T("suffix(path, '/17')");
    F("suffix(path, '/18')");
    T("contains(path, 'orders')");
    F("contains(path, 'users')");
    T("contains(path, '')");
    T("prefix(path, '/v2/orders/17')");
    F("prefix(path, '/v2/orders/170')");
    fx_done(&f);
}

static void test_regex(void **state)
{
    fx f;
    fx_init(&f);
    fx_header(&f, "ua", "Mozilla/5.0 (iPhone; CPU)");
    T("regex(header.ua, 'iPhone')"); /* unanchored search */
    F("regex(header.ua, '^iPhone')");
    T("regex(header.ua, \"^Mozilla/\\d\\.\\d\")"); /* \d kept for the regex */
    T("regex(header.ua, '(?i)iphone')");
    F("regex(header.ua, 'iphone')");
    /* catastrophic backtracking hits the match limit: no match, no hang */
    fx_header(&f, "evil", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab");
    F("regex(header.evil, '^(a|a?)+$')");
    fx_done(&f);
}

static void test_string_escapes(void **state)
{
    fx f;
    fx_init(&f);
    fx_header(&f, "q", "it's \"x\"\\y");
    T("header.q = 'it\\'s \"x\"\\\\y'");
    T("header.q = \"it's \\\"x\\\"\\\\y\"");
    fx_header(&f, "nl", "a\tb\nc");
    T("header.nl = 'a\\tb\\nc'");
    fx_done(&f);
}

static void test_param_vs_param(void **state)
{
    fx f;
    fx_init(&f);
    fx_header(&f, "a", "x1");
    fx_query(&f, "a=x1&b=x2");
    T("header.a = query.a");
    F("header.a = query.b");
    T("header.a < query.b");
    F("header.a = query.nope");
    F("header.a != query.nope");
    fx_done(&f);
}

static void test_hash(void **state)
{
    fx f;
    fx_init(&f);
    fx_header(&f, "u", "user-42");
    /* Stable across runs and machines: XXH3_64("user-42") >> 11 / 2^53. */
    bool lo = fx_eval(&f, "hash(header.u) < 0.5");
    for (int i = 0; i < 100; i++)
        assert_int_equal(lo, fx_eval(&f, "hash(header.u) < 0.5"));
    T("hash(header.u) >= 0 and hash(header.u) < 1");
    double forced = 0.01;
    f.rv.force_hash = &forced;
    T("hash(header.u) < 0.05");
    F("hash(header.nope) < 0.05"); /* missing wins over forcing */
    fx_done(&f);
}

static void test_explain(void **state)
{
    fx f;
    fx_init(&f);
    fx_header(&f, "UserName", "bob");
    sy_arena a;
    sy_arena_init(&a, 4096);
    char err[200], buf[1024] = "";
    int col;
    sy_expr *e = sy_expr_compile(&a,
                                 "header.UserName = 'admin' or (exists(header.X) and "
                                 "true) or query.age < 3 or Random() < 0.5",
                                 err, sizeof(err), &col);
    assert_non_null(e);
    double r = 0.25;
    f.rv.force_random = &r;
    assert_true(sy_expr_explain(e, &f.rv, buf, sizeof(buf)));
    assert_string_equal(buf, "header.UserName = 'admin' -> false (value: 'bob')\n"
                             "exists(header.X) -> false (missing)\n"
                             "query.age < 3 -> false (missing)\n"
                             "Random() < 0.5 -> true (value: 0.25, forced)\n");
    /* short-circuit: nothing after the first true */
    buf[0] = '\0';
    fx_header(&f, "X", "1");
    fx_query(&f, "age=x");
    sy_expr *e2 = sy_expr_compile(&a, "exists(header.X) or query.age < 3", err, sizeof(err), &col);
    assert_true(sy_expr_explain(e2, &f.rv, buf, sizeof(buf)));
    assert_string_equal(buf, "exists(header.X) -> true (value: '1')\n");
    buf[0] = '\0';
    sy_expr *e3 = sy_expr_compile(&a, "query.age < 3", err, sizeof(err), &col);
    assert_false(sy_expr_explain(e3, &f.rv, buf, sizeof(buf)));
    assert_string_equal(buf, "query.age < 3 -> false (value: 'x', not a number)\n");
    /* truncation never overflows */
    char small[16] = "";
    sy_expr_explain(e, &f.rv, small, sizeof(small));
    assert_int_equal(strlen(small), 15);
    sy_expr_free(e);
    sy_expr_free(e2);
    sy_expr_free(e3);
    sy_arena_free(&a);
    fx_done(&f);
}

static void test_no_scratch_fallback(void **state)
{
    fx f;
    fx_init(&f);
    f.rv.scratch = NULL;
    fx_query(&f, "q=a%20b");
    for (int i = 0; i < 1000; i++)
        T("query.q = 'a b'");
    fx_done(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tencent_examples),
        cmocka_unit_test(test_equality_operators),
        cmocka_unit_test(test_relational_strings_bytewise),
        cmocka_unit_test(test_numeric_coercion),
        cmocka_unit_test(test_boolean_coercion),
        cmocka_unit_test(test_missing_parameters),
        cmocka_unit_test(test_logic_and_precedence),
        cmocka_unit_test(test_whitespace_optional),
        cmocka_unit_test(test_case_rules),
        cmocka_unit_test(test_sysparams),
        cmocka_unit_test(test_query_decoding),
        cmocka_unit_test(test_cookies),
        cmocka_unit_test(test_in_lists),
        cmocka_unit_test(test_cidr),
        cmocka_unit_test(test_string_functions),
        cmocka_unit_test(test_regex),
        cmocka_unit_test(test_string_escapes),
        cmocka_unit_test(test_param_vs_param),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_explain),
        cmocka_unit_test(test_no_scratch_fallback),
    };
    return cmocka_run_group_tests_name("router/expr", tests, NULL, NULL);
}
