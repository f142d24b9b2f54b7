/* Kubernetes answers -> endpoints (discovery/k8s_parse.c): the
 * EndpointSlice contract (conditions, ports by name, first address,
 * terminating fallback, pod filter) and hostile shapes refused whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "discovery/k8s_parse.h"

static json_t *js(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (!j)
        print_message("bad test JSON: %s\n", e.text);
    assert_non_null(j);
    return j;
}

static bool slice(const char *text, sy_k8s_slice *out, char *why)
{
    json_t *j = js(text);
    bool ok = sy_k8s_parse_slice(j, out, why, 200);
    json_decref(j);
    return ok;
}

#define SLICE(eps)                                                                                 \
    "{\"metadata\":{\"name\":\"s1\"},\"addressType\":\"IPv4\","                                    \
    "\"ports\":[{\"name\":\"http\",\"port\":8080},{\"name\":\"admin\",\"port\":9000}],"            \
    "\"endpoints\":[" eps "]}"

static void test_conditions_and_fallback(void **state)
{
    sy_k8s_slice s[1];
    char why[200];
    assert_true(
        slice(SLICE("{\"addresses\":[\"10.0.0.2\",\"10.9.9.9\"],\"conditions\":{\"ready\":true}},"
                    "{\"addresses\":[\"10.0.0.1\"]}," /* nil = ready */
                    "{\"addresses\":[\"10.0.0.3\"],\"conditions\":{\"ready\":false,\"serving\":"
                    "true,\"terminating\":true}},"
                    "{\"addresses\":[\"10.0.0.4\"],\"conditions\":{\"ready\":false}},"
                    "{\"addresses\":[\"10.0.0.1\"],\"conditions\":{\"ready\":null}}"),
              s, why));
    sy_k8s_addr *a;
    size_t nt, n = sy_k8s_select(s, 1, "http", NULL, 0, &a, &nt);
    assert_int_equal(n, 2); /* duplicates folded, first address only */
    assert_string_equal(a[0].ip, "10.0.0.1");
    assert_string_equal(a[1].ip, "10.0.0.2");
    assert_int_equal(a[0].port, 8080);
    assert_int_equal(nt, 0);
    free(a);
    n = sy_k8s_select(s, 1, "admin", NULL, 0, &a, &nt);
    assert_int_equal(a[0].port, 9000);
    free(a);
    /* No port of that name in the slice: nothing from it. */
    n = sy_k8s_select(s, 1, "", NULL, 0, &a, &nt);
    assert_int_equal(n, 0);
    free(a);
    sy_k8s_slice_free(s);

    /* No ready endpoint left: serving + terminating ones, and only them. */
    assert_true(slice(SLICE("{\"addresses\":[\"10.0.0.3\"],\"conditions\":{\"ready\":false,"
                            "\"serving\":true,\"terminating\":true}},"
                            "{\"addresses\":[\"10.0.0.5\"],\"conditions\":{\"ready\":false,"
                            "\"serving\":false,\"terminating\":true}},"
                            "{\"addresses\":[\"10.0.0.4\"],\"conditions\":{\"ready\":false}}"),
                      s, why));
    n = sy_k8s_select(s, 1, "http", NULL, 0, &a, &nt);
    assert_int_equal(n, 1);
    assert_int_equal(nt, 1);
    assert_string_equal(a[0].ip, "10.0.0.3");
    assert_true(a[0].terminating);
    free(a);
    sy_k8s_slice_free(s);
}

static void test_pod_filter_and_several_slices(void **state)
{
    sy_k8s_slice s[2];
    char why[200];
    assert_true(slice(
        SLICE("{\"addresses\":[\"10.0.0.1\"],\"targetRef\":{\"kind\":\"Pod\",\"name\":\"a\"}},"
              "{\"addresses\":[\"10.0.0.2\"],\"targetRef\":{\"kind\":\"Pod\",\"name\":\"b\"}},"
              "{\"addresses\":[\"10.0.0.9\"]}"),
        &s[0], why));
    assert_true(
        slice("{\"metadata\":{\"name\":\"s2\"},\"addressType\":\"IPv4\","
              "\"ports\":[{\"name\":\"http\",\"port\":8081}],\"endpoints\":["
              "{\"addresses\":[\"10.0.1.1\"],\"targetRef\":{\"kind\":\"Pod\",\"name\":\"c\"}}]}",
              &s[1], why));
    char *pods[] = {"a", "c"};
    sy_k8s_addr *a;
    size_t nt, n = sy_k8s_select(s, 2, "http", pods, 2, &a, &nt);
    assert_int_equal(n, 2);
    assert_string_equal(a[0].ip, "10.0.0.1");
    assert_string_equal(a[1].ip, "10.0.1.1");
    assert_int_equal(a[1].port, 8081); /* each slice its own port */
    free(a);
    n = sy_k8s_select(s, 2, "http", NULL, 0, &a, &nt);
    assert_int_equal(n, 4);
    free(a);
    sy_k8s_slice_free(&s[0]);
    sy_k8s_slice_free(&s[1]);
}

static void test_hostile_slices_refused(void **state)
{
    static const char *const bad[] = {
        "[]",
        "{\"metadata\":[],\"addressType\":\"IPv4\"}",
        "{\"metadata\":{\"name\":7},\"addressType\":\"IPv4\"}",
        "{\"metadata\":{\"name\":\"s\"}}",
        "{\"metadata\":{\"name\":\"s\"},\"addressType\":\"IPv4\",\"endpoints\":{}}",
        "{\"metadata\":{\"name\":\"s\"},\"addressType\":\"IPv4\",\"endpoints\":[7]}",
        "{\"metadata\":{\"name\":\"s\"},\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":[]}]"
        "}",
        "{\"metadata\":{\"name\":\"s\"},\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":["
        "\"10.0.0.256\"]}]}",
        "{\"metadata\":{\"name\":\"s\"},\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":[\":"
        ":1\"]}]}",
        "{\"metadata\":{\"name\":\"s\"},\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":["
        "\"1.2.3.4 \"]}]}",
        "{\"metadata\":{\"name\":\"s\"},\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":["
        "\"1.2.3.4\"],"
        "\"conditions\":{\"ready\":\"yes\"}}]}",
        "{\"metadata\":{\"name\":\"s\"},\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":["
        "\"1.2.3.4\"],"
        "\"targetRef\":\"pod\"}]}",
        "{\"metadata\":{\"name\":\"s\"},\"addressType\":\"IPv4\",\"ports\":[{\"name\":1,\"port\":"
        "80}]}",
        "{\"metadata\":{\"name\":\"s\"},\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"a\","
        "\"port\":\"80\"}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sy_k8s_slice s;
        char why[200] = "";
        if (slice(bad[i], &s, why))
            print_message("accepted: %s\n", bad[i]);
        assert_true(why[0] != '\0');
    }
    /* Out-of-range ports are no port; FQDN slices hold nothing to use. */
    sy_k8s_slice s;
    char why[200];
    assert_true(slice("{\"metadata\":{\"name\":\"s\"},\"addressType\":\"IPv4\",\"ports\":[{"
                      "\"name\":\"http\",\"port\":70000}],"
                      "\"endpoints\":[{\"addresses\":[\"1.2.3.4\"]}]}",
                      &s, why));
    sy_k8s_addr *a;
    size_t nt;
    assert_int_equal(sy_k8s_select(&s, 1, "http", NULL, 0, &a, &nt), 0);
    free(a);
    sy_k8s_slice_free(&s);
    assert_true(slice("{\"metadata\":{\"name\":\"s\"},\"addressType\":\"FQDN\",\"endpoints\":[{"
                      "\"addresses\":[\"x.example\"]}]}",
                      &s, why));
    assert_int_equal(s.n_eps, 0);
    sy_k8s_slice_free(&s);
    /* More endpoints than one slice may hold. */
    json_t *big = js(SLICE(""));
    json_t *eps = json_object_get(big, "endpoints");
    for (int i = 0; i < SY_K8S_MAX_SLICE_EPS + 1; i++)
        json_array_append_new(eps, json_pack("{s:[s]}", "addresses", "10.0.0.1"));
    assert_false(sy_k8s_parse_slice(big, &s, why, sizeof why));
    json_decref(big);
}

static void test_service_pod_and_list(void **state)
{
    char why[200], *name;
    json_t *svc = js("{\"spec\":{\"ports\":[{\"port\":443,\"name\":\"https\"},{\"port\":80}]}}");
    assert_true(sy_k8s_service_port(svc, 80, &name, why, sizeof why));
    assert_string_equal(name, "");
    free(name);
    assert_true(sy_k8s_service_port(svc, 443, &name, why, sizeof why));
    assert_string_equal(name, "https");
    free(name);
    assert_false(sy_k8s_service_port(svc, 81, &name, why, sizeof why));
    assert_string_equal(why, "the Service has no port 81");
    json_decref(svc);
    svc = js("{\"spec\":{\"ports\":[{\"port\":\"80\"}]}}");
    assert_false(sy_k8s_service_port(svc, 80, &name, why, sizeof why));
    json_decref(svc);

    char *keys[] = {"version"}, *vals[] = {"canary"};
    const char *pod;
    json_t *p = js("{\"metadata\":{\"name\":\"p1\",\"labels\":{\"version\":\"canary\"}}}");
    assert_true(sy_k8s_parse_pod(p, keys, vals, 1, &pod, why, sizeof why));
    assert_string_equal(pod, "p1");
    json_decref(p);
    p = js("{\"metadata\":{\"name\":\"p1\",\"labels\":{\"version\":\"stable\"}}}");
    assert_false(sy_k8s_parse_pod(p, keys, vals, 1, &pod, why, sizeof why));
    assert_null(pod);
    assert_string_equal(why, "");
    json_decref(p);
    p = js("{\"metadata\":{\"name\":\"p1\",\"labels\":[\"version\"]}}");
    assert_false(sy_k8s_parse_pod(p, keys, vals, 1, &pod, why, sizeof why));
    assert_true(why[0] != '\0');
    json_decref(p);

    json_t *items;
    const char *rv, *cont;
    json_t *l = js("{\"metadata\":{\"resourceVersion\":\"42\",\"continue\":\"abc\"},\"items\":[]}");
    assert_true(sy_k8s_parse_list(l, &items, &rv, &cont, why, sizeof why));
    assert_string_equal(rv, "42");
    assert_string_equal(cont, "abc");
    json_decref(l);
    static const char *const bad[] = {"{\"items\":[]}", "{\"metadata\":{},\"items\":[]}",
                                      "{\"metadata\":{\"resourceVersion\":7},\"items\":[]}",
                                      "{\"metadata\":{\"resourceVersion\":\"1\"},\"items\":{}}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        l = js(bad[i]);
        assert_false(sy_k8s_parse_list(l, &items, &rv, &cont, why, sizeof why));
        json_decref(l);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conditions_and_fallback),
        cmocka_unit_test(test_pod_filter_and_several_slices),
        cmocka_unit_test(test_hostile_slices_refused),
        cmocka_unit_test(test_service_pod_and_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
