/* The etcd layout (one key per object) and the JSON gateway's encodings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/etcd.h"
#include "store/layout.h"

static void test_keys_escape_ids(void **state)
{
    char *k = sy_layout_key("upstreams", "up-a.b_c~1");
    assert_string_equal(k, "upstreams/up-a.b_c~1");
    free(k);
    k = sy_layout_key("services", "a/b c%");
    assert_string_equal(k, "services/a%2Fb%20c%25");
    free(k);
    assert_true(sy_layout_is_object("plugins/p"));
    assert_false(sy_layout_is_object("plugins/"));
    assert_false(sy_layout_is_object("version"));
    assert_false(sy_layout_is_object("rollouts/x"));
}

static void test_split_join_round_trip(void **state)
{
    json_t *doc = json_loads("{\"Version\": 7, \"Gateway\": {\"Workers\": 1},"
                             " \"Upstreams\": [{\"UpstreamId\": \"u2\"}, {\"UpstreamId\": \"u1\"}],"
                             " \"Services\": [{\"ServiceId\": \"s/1\", \"Apis\": []}],"
                             " \"Plugins\": [{\"PluginId\": \"p\", \"PluginData\": []}]}",
                             0, NULL);
    json_t *objs = sy_layout_split(doc);
    assert_int_equal(json_object_size(objs), 5);
    assert_int_equal(json_integer_value(json_object_get(objs, "version")), 7);
    assert_non_null(json_object_get(objs, "services/s%2F1"));
    /* Gateway stays out of the store. */
    assert_null(json_object_get(objs, "Gateway"));

    json_t *gw = json_pack("{s:i}", "Workers", 2);
    json_t *ignored = json_array();
    json_object_set_new(objs, "rollouts/r1", json_object()); /* unknown kind */
    json_object_set_new(objs, "upstreams/zz", json_pack("{s:s}", "UpstreamId", "other"));
    json_t *back = sy_layout_join(objs, gw, ignored);
    assert_int_equal(json_array_size(ignored), 2);
    assert_int_equal(json_integer_value(json_object_get(back, "Version")), 7);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(back, "Gateway"), "Workers")), 2);
    json_t *ups = json_object_get(back, "Upstreams");
    assert_int_equal(json_array_size(ups), 2); /* ordered by key: u1, u2 */
    assert_string_equal(json_string_value(json_object_get(json_array_get(ups, 0), "UpstreamId")),
                        "u1");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(back, "Services"), 0), "ServiceId")),
                        "s/1");
    json_decref(back);
    json_decref(ignored);
    json_decref(gw);
    json_decref(objs);
    json_decref(doc);
}

static void test_base64_and_ranges(void **state)
{
    const char *cases[] = {"", "a", "ab", "abc", "abcd", "/switchyard/config/", NULL};
    for (int i = 0; cases[i]; i++) {
        char *b = sy_etcd_b64(cases[i], strlen(cases[i]));
        size_t n = 99;
        char *d = sy_etcd_unb64(b, &n);
        assert_non_null(d);
        assert_int_equal(n, strlen(cases[i]));
        assert_memory_equal(d, cases[i], n);
        free(b);
        free(d);
    }
    size_t n;
    assert_null(sy_etcd_unb64("abc", &n));  /* not a multiple of 4 */
    assert_null(sy_etcd_unb64("a*c=", &n)); /* not base64 */
    char *end = sy_etcd_range_end("/sy/config/");
    assert_string_equal(end, "/sy/config0");
    free(end);
    json_t *o = json_pack("{s:s, s:I}", "revision", "12345678901", "n", (json_int_t)5);
    assert_true(sy_etcd_int(o, "revision") == 12345678901LL);
    assert_int_equal(sy_etcd_int(o, "n"), 5);
    assert_int_equal(sy_etcd_int(o, "missing"), 0);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_escape_ids),
        cmocka_unit_test(test_split_join_round_trip),
        cmocka_unit_test(test_base64_and_ranges),
    };
    return cmocka_run_group_tests_name("store_layout", tests, NULL, NULL);
}
