/* config/tencent.c: Tencent's object shapes onto ours, field by field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "config/tencent.h"

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *o = json_loads(text, 0, &e);
    assert_non_null(o);
    return o;
}

static const char *s(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* The reason noted for `field` in `list`, or NULL. */
static const char *why(const json_t *list, const char *field)
{
    size_t i;
    json_t *p;
    json_array_foreach(list, i, p) if (strcmp(s(p, "field"), field) == 0) return s(p, "reason");
    return NULL;
}

static void test_request_config_maps_to_path_and_method(void **st)
{
    (void)st;
    json_t *o = parse("{\"RequestConfig\": {\"Path\": \"/o\", \"Method\": \"POST\"},"
                      " \"Protocol\": \"HTTP\", \"AuthType\": \"NONE\", \"EnableCORS\": false,"
                      " \"ApiType\": \"NORMAL\", \"ServiceType\": \"UPSTREAM\","
                      " \"ServiceConfig\": {\"UpstreamId\": \"u\", \"Url\": \"\"}}");
    sy_tc_report r;
    sy_tc_report_init(&r, false);
    assert_true(sy_tc_map(SY_TC_API, o, "", NULL, &r));
    assert_string_equal(s(o, "Path"), "/o");
    assert_string_equal(s(o, "Method"), "POST");
    assert_string_equal(s(o, "ServiceType"), "HTTP");
    assert_null(json_object_get(o, "RequestConfig"));
    assert_null(json_object_get(o, "AuthType"));
    assert_null(json_object_get(o, "Protocol"));
    /* "" is Tencent's "not set" */
    assert_null(json_object_get(json_object_get(o, "ServiceConfig"), "Url"));
    /* defaults are not worth a note */
    assert_int_equal(json_array_size(r.ignored), 0);
    sy_tc_report_free(&r);
    json_decref(o);
}

static void test_refusals_carry_path_and_reason(void **st)
{
    (void)st;
    json_t *o = parse("{\"AuthType\": \"SECRET\", \"EnableCORS\": true, \"ServiceType\": \"SCF\","
                      " \"ServiceId\": \"service-b\", \"Protocol\": \"WEBSOCKET\"}");
    sy_tc_report r;
    sy_tc_report_init(&r, false);
    assert_false(sy_tc_map(SY_TC_API, o, "Result", "service-a", &r));
    assert_non_null(strstr(why(r.refused, "Result.AuthType"), "other than NONE"));
    assert_non_null(strstr(why(r.refused, "Result.EnableCORS"), "CORS"));
    assert_non_null(strstr(why(r.refused, "Result.ServiceType"), "SCF"));
    assert_non_null(strstr(why(r.refused, "Result.ServiceId"), "service-b"));
    assert_non_null(strstr(why(r.refused, "Result.Protocol"), "WebSocket"));
    sy_tc_report_free(&r);
    json_decref(o);
}

static void test_parameters(void **st)
{
    (void)st;
    /* path variables and optional declarations are no-ops; identity
     * backend mappings too */
    json_t *o = parse("{\"RequestParameters\": [{\"Name\": \"id\", \"Position\": \"PATH\","
                      " \"Required\": true}, {\"Name\": \"q\", \"Position\": \"QUERY\"}],"
                      " \"ServiceParameters\": [{\"Name\": \"q\", \"Position\": \"QUERY\","
                      " \"RelevantRequestParameterName\": \"q\","
                      " \"RelevantRequestParameterPosition\": \"query\"}]}");
    sy_tc_report r;
    sy_tc_report_init(&r, false);
    assert_true(sy_tc_map(SY_TC_API, o, "", NULL, &r));
    assert_non_null(why(r.ignored, "RequestParameters"));
    assert_int_equal(json_object_size(o), 0);
    sy_tc_report_free(&r);
    json_decref(o);
    o = parse("{\"RequestParameters\": [{\"Name\": \"t\", \"Position\": \"HEADER\","
              " \"Required\": true}], \"ServiceParameters\": [{\"Name\": \"x\","
              " \"Position\": \"HEADER\", \"RelevantRequestParameterName\": \"t\","
              " \"RelevantRequestParameterPosition\": \"HEADER\"}]}");
    sy_tc_report_init(&r, false);
    assert_false(sy_tc_map(SY_TC_API, o, "", NULL, &r));
    assert_non_null(why(r.refused, "RequestParameters[0]"));
    assert_non_null(why(r.refused, "ServiceParameters[0]"));
    sy_tc_report_free(&r);
    json_decref(o);
}

static void test_unknown_keys_by_mode(void **st)
{
    (void)st;
    json_t *o = parse("{\"Colour\": \"blue\", \"Path\": \"/\"}");
    sy_tc_report r;
    sy_tc_report_init(&r, false);
    assert_true(sy_tc_map(SY_TC_API, o, "", NULL, &r));
    assert_non_null(json_object_get(o, "Colour")); /* the validator names it */
    sy_tc_report_free(&r);
    sy_tc_report_init(&r, true);
    assert_true(sy_tc_map(SY_TC_API, o, "X", NULL, &r));
    assert_null(json_object_get(o, "Colour"));
    assert_non_null(why(r.ignored, "X.Colour"));
    sy_tc_report_free(&r);
    json_decref(o);
}

static void test_upstream_info(void **st)
{
    (void)st;
    json_t *o = parse("{\"UpstreamId\": \"u\", \"Scheme\": \"http\", \"UpstreamHost\": \"\","
                      " \"Nodes\": [{\"Host\": \"10.0.0.1\", \"Port\": 80, \"Weight\": 1,"
                      " \"Healthy\": \"HEALTHY\"}, {\"Host\": \"10.1.0.9\", \"Port\": 80,"
                      " \"Weight\": 1, \"Source\": \"K8S\"}],"
                      " \"K8sServices\": [{\"Weight\": 1, \"ClusterId\": \"c\"}],"
                      " \"HealthChecker\": {\"EnableActiveCheck\": true,"
                      " \"ActiveRequestHeader\": [{\"Key\": \"X-Probe\", \"Value\": \"1\"}]}}");
    sy_tc_report r;
    sy_tc_report_init(&r, true);
    assert_true(sy_tc_map(SY_TC_UPSTREAM, o, "", NULL, &r));
    assert_string_equal(s(o, "Scheme"), "HTTP");
    assert_null(json_object_get(o, "UpstreamHost"));
    assert_int_equal(json_array_size(json_object_get(o, "Nodes")), 1);
    assert_non_null(why(r.ignored, "Nodes[0].Healthy"));
    assert_non_null(why(r.ignored, "Nodes"));
    assert_int_equal(json_array_size(json_object_get(o, "K8sService")), 1);
    assert_string_equal(
        s(json_object_get(json_object_get(o, "HealthChecker"), "ActiveRequestHeader"), "X-Probe"),
        "1");
    sy_tc_report_free(&r);
    json_decref(o);
    o = parse("{\"Scheme\": \"gRPCs\"}");
    sy_tc_report_init(&r, true);
    assert_false(sy_tc_map(SY_TC_UPSTREAM, o, "", NULL, &r));
    sy_tc_report_free(&r);
    json_decref(o);
}

static void test_service_and_plugin(void **st)
{
    (void)st;
    json_t *o =
        parse("{\"ServiceId\": \"s\", \"Protocol\": \"https\","
              " \"AvailableEnvironments\": [\"release\"], \"OuterSubDomain\": \"d.example\","
              " \"UsagePlanTotalCount\": 0, \"NetTypes\": [\"OUTER\"]}");
    sy_tc_report r;
    sy_tc_report_init(&r, true);
    assert_true(sy_tc_map(SY_TC_SERVICE, o, "", NULL, &r));
    json_t *d = json_array_get(json_object_get(o, "Domains"), 0);
    assert_string_equal(s(d, "DomainName"), "d.example");
    assert_string_equal(s(d, "Protocol"), "https");
    assert_int_equal(json_array_size(json_object_get(o, "Environments")), 1);
    assert_null(json_object_get(o, "Protocol"));
    assert_non_null(why(r.ignored, "NetTypes"));
    sy_tc_report_free(&r);
    json_decref(o);
    o = parse("{\"UsagePlanTotalCount\": 2}");
    sy_tc_report_init(&r, true);
    assert_false(sy_tc_map(SY_TC_SERVICE, o, "", NULL, &r));
    sy_tc_report_free(&r);
    json_decref(o);
    o = parse("{\"PluginType\": \"Cors\", \"Tags\": [{\"Key\": \"a\"}]}");
    sy_tc_report_init(&r, false);
    assert_false(sy_tc_map(SY_TC_PLUGIN, o, "", NULL, &r));
    assert_non_null(strstr(why(r.refused, "PluginType"), "Cors"));
    assert_non_null(why(r.ignored, "Tags"));
    sy_tc_report_free(&r);
    json_decref(o);
}

static void test_empty_own_id_stays(void **st)
{
    (void)st;
    /* "" is unset for references and names, but an empty id of the object
     * itself is left for the validator to refuse (no generated id) */
    json_t *o = parse("{\"UpstreamId\": \"\", \"UpstreamName\": \"\"}");
    sy_tc_report r;
    sy_tc_report_init(&r, false);
    assert_true(sy_tc_map(SY_TC_UPSTREAM, o, "", NULL, &r));
    assert_string_equal(s(o, "UpstreamId"), "");
    assert_null(json_object_get(o, "UpstreamName"));
    sy_tc_report_free(&r);
    json_decref(o);
    o = parse("{\"ServiceType\": \"MOCK\", \"ServiceMockReturnMessage\": \"\"}");
    sy_tc_report_init(&r, false);
    assert_true(sy_tc_map(SY_TC_API, o, "", NULL, &r));
    assert_string_equal(s(o, "ServiceMockReturnMessage"), "");
    sy_tc_report_free(&r);
    json_decref(o);
}

static void test_actions(void **st)
{
    (void)st;
    assert_string_equal(sy_tc_action(SY_TC_API, "POST"), "CreateApi");
    assert_string_equal(sy_tc_action(SY_TC_UPSTREAM, "PATCH"), "ModifyUpstream");
    assert_null(sy_tc_action(SY_TC_PLUGIN, "DELETE"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_config_maps_to_path_and_method),
        cmocka_unit_test(test_refusals_carry_path_and_reason),
        cmocka_unit_test(test_parameters),
        cmocka_unit_test(test_unknown_keys_by_mode),
        cmocka_unit_test(test_upstream_info),
        cmocka_unit_test(test_service_and_plugin),
        cmocka_unit_test(test_empty_own_id_stays),
        cmocka_unit_test(test_actions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
