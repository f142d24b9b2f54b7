/* Text the admin API reads and writes: URL path segments (decoded exactly
 * once) and Prometheus label values (escaped as the text format says). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "admin/admin_int.h"
#include "admin/change.h"

static int dec(const char *in, char *out, size_t cap)
{
    return sy_admin_seg_decode(in, strlen(in), out, cap);
}

static void test_segment_decoded_once(void **state)
{
    char out[64];
    assert_int_equal(dec("up-1ca1d6yi", out, sizeof out), 11);
    assert_string_equal(out, "up-1ca1d6yi");
    assert_int_equal(dec("up%2Dx", out, sizeof out), 4);
    assert_string_equal(out, "up-x");
    assert_int_equal(dec("%2e", out, sizeof out), 1);
    assert_string_equal(out, ".");
    assert_int_equal(dec("a%2Fb", out, sizeof out), 3);
    assert_string_equal(out, "a/b");
    assert_int_equal(dec("%252e", out, sizeof out), 3); /* once: %25 -> %, not twice */
    assert_string_equal(out, "%2e");
    assert_int_equal(dec("a+b", out, sizeof out), 3); /* a path is not a form */
    assert_string_equal(out, "a+b");
    assert_int_equal(dec("%zz", out, sizeof out), -1);
    assert_int_equal(dec("a%2", out, sizeof out), -1);
    assert_int_equal(dec("a%", out, sizeof out), -1);
    assert_int_equal(dec("a%00b", out, sizeof out), -1);
    assert_int_equal(dec("abcd", out, 4), -1); /* no room for the NUL */
    assert_int_equal(dec("abc", out, 4), 3);
    char inplace[] = "x%41%42";
    assert_int_equal(sy_admin_seg_decode(inplace, strlen(inplace), inplace, sizeof inplace), 3);
    assert_string_equal(inplace, "xAB");
}

static void test_label_escaping(void **state)
{
    sy_buf b = {0};
    sy_prom_escape(&b, "a\\b\"c\nd\re");
    sy_buf_append(&b, "", 1);
    assert_string_equal(b.data + b.off, "a\\\\b\\\"c\\nd\re");
    sy_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_segment_decoded_once),
        cmocka_unit_test(test_label_escaping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
