/* Host / authority and path checks shared by the proxy and explain
 * (router/target.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "router/target.h"

static int norm(const char *v, char *out)
{
    return sy_host_normalize(sy_str_c(v), out, 256);
}

static void test_host_ports(void **state)
{
    char out[256];
    assert_int_equal(norm("Gw.Test:65535", out), 7);
    assert_string_equal(out, "gw.test");
    assert_int_equal(norm("gw.test:0", out), 7);
    assert_int_equal(norm("gw.test:080", out), 7);
    assert_int_equal(norm("[::1]:443", out), 5);
    assert_int_equal(norm("gw.test:65536", out), -1);
    assert_int_equal(norm("gw.test:99999", out), -1);
    assert_int_equal(norm("gw.test:18446744073709551697", out), -1);
    assert_int_equal(norm("[::1]:70000", out), -1);
    assert_int_equal(norm("gw.test:", out), -1);
    assert_int_equal(norm("gw.test:8a", out), -1);
}

static bool dots(const char *path)
{
    return sy_path_has_dot_segment(sy_str_c(path));
}

static void test_dot_segments(void **state)
{
    static const char *const refused[] = {
        "/..", "/.", "/a/../b", "/a/./b", "/%2e%2E/x", "/.%2e/x",
        /* behind an encoded or backslash separator (issue 9) */
        "/a/..%2Fadmin", "/a/..%2fadmin", "/a/..%5Cadmin", "/a/..%5cadmin", "/a/..\\admin",
        "/a%2F..%2Fb", "/a\\.\\b", "/a%2f%2e%2e", "/a%5c.",
        /* a path parameter after the dots (Tomcat strips it) */
        "/a/..;/b", "/a/.;/b", "/a/..;jsessionid=1/b", "/a/%2e%2e;x", "/a%2F..;"};
    static const char *const allowed[] = {"/",    "//",     "/a",     "/a%2Eb", "/.../x", "/a..b",
                                          "/..a", "/a.",    "/a;b=1", "/a;..",  "/a%2Fb", "/a%2f",
                                          "/%2",  "/%2e%2", "/a%5",   "/;",     "/x;.."};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (!dots(refused[i]))
            fail_msg("%s not seen as a dot segment", refused[i]);
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        if (dots(allowed[i]))
            fail_msg("%s seen as a dot segment", allowed[i]);
}

static void test_separators_in_a_segment(void **state)
{
    assert_true(sy_segment_has_separator(sy_str_c("a%2Fb")));
    assert_true(sy_segment_has_separator(sy_str_c("a%2fb")));
    assert_true(sy_segment_has_separator(sy_str_c("%5C")));
    assert_true(sy_segment_has_separator(sy_str_c("a%5c")));
    assert_true(sy_segment_has_separator(sy_str_c("a\\b")));
    assert_false(sy_segment_has_separator(sy_str_c("v1.2")));
    assert_false(sy_segment_has_separator(sy_str_c("a%2Eb")));
    assert_false(sy_segment_has_separator(sy_str_c("a%2")));
    assert_false(sy_segment_has_separator(sy_str_c("%5")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_ports),
        cmocka_unit_test(test_dot_segments),
        cmocka_unit_test(test_separators_in_a_segment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
