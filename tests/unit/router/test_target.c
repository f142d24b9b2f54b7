/* Host / authority checks shared by the proxy and explain (router/target.c). */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_ports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
