/* Every class of configuration error, with its exact
 * "FILE:LINE:COLUMN: path: reason" message. */
#include "config_test.h"
#include "config/fields.h"

static void test_yaml_syntax_error(void **state)
{
    expect_error("Gateway:\n  Listen: [\"a\"\n  Workers: 2\n",
                 "t.yaml:3:3: YAML syntax error: did not find expected ',' or ']' "
                 "while parsing a flow sequence");
    expect_error("a: b\n---\nc: d\n", "t.yaml:2:1: only one YAML document is allowed");
    expect_error("Gateway: &g {Workers: 1}\nServices: *g\n",
                 "t.yaml:2:11: YAML aliases are not supported");
    expect_error("- a\n- b\n", "t.yaml:1:1: the configuration must be a mapping of sections "
                               "(Gateway, Upstreams, Services, Plugins), got a list");
}

static void test_unknown_keys_case_sensitive(void **state)
{
    expect_error("Gatway: {}\n", "t.yaml:1:1: Gatway: unknown key");
    expect_error("Gateway:\n  listen: [\"1.2.3.4:80\"]\n",
                 "t.yaml:2:3: Gateway.listen: unknown key (did you mean Listen?)");
    expect_error("Upstreams:\n  - UpstreamId: u\n    Nodes:\n"
                 "      - {Host: 1.2.3.4, Port: 80, Weight: 1, Healthy: ON}\n",
                 "t.yaml:4:46: Upstreams[0].Nodes[0].Healthy: unknown key");
    expect_error("Gateway:\n  Workers: 1\n  Workers: 2\n",
                 "t.yaml:3:3: Gateway.Workers: duplicate key (first at 2:3)");
}

static void test_wrong_types(void **state)
{
    expect_error("Gateway:\n  Workers: \"4\"\n",
                 "t.yaml:2:12: Gateway.Workers: must be an integer, got a string");
    expect_error("Gateway:\n  Workers: 1.5\n",
                 "t.yaml:2:12: Gateway.Workers: must be an integer, got a decimal number");
    expect_error("Gateway:\n  Listen: \"0.0.0.0:80\"\n",
                 "t.yaml:2:11: Gateway.Listen: must be a list, got a string");
    expect_error("Gateway: [1]\n", "t.yaml:1:10: Gateway: must be a mapping, got a list");
    expect_error("Services:\n  - ServiceId: {a: b}\n",
                 "t.yaml:2:16: Services[0].ServiceId: must be a string, got a mapping");
    expect_error("Gateway:\n  IdleTimeout: soon\n",
                 "t.yaml:2:16: Gateway.IdleTimeout: must be a number of seconds, got a string");
    expect_error("Upstreams:\n  - UpstreamId: u\n    HealthChecker:\n"
                 "      EnableActiveCheck: yes\n      EnablePassiveCheck: false\n",
                 "t.yaml:4:26: Upstreams[0].HealthChecker.EnableActiveCheck: "
                 "must be a boolean (true or false), got a string");
}

static void test_missing_required(void **state)
{
    expect_error("Upstreams:\n  - UpstreamName: x\n",
                 "t.yaml:2:5: Upstreams[0].UpstreamId: is required");
    expect_error("Upstreams:\n  - UpstreamId: u\n    Nodes: [{Host: 1.2.3.4, Port: 80}]\n",
                 "t.yaml:3:13: Upstreams[0].Nodes[0].Weight: is required");
    expect_error("Upstreams:\n  - UpstreamId: u\n    HealthChecker: {EnableActiveCheck: true}\n",
                 "t.yaml:3:20: Upstreams[0].HealthChecker.EnablePassiveCheck: is required");
    expect_error(
        "Services:\n  - ServiceId: s\n    Apis:\n      - ApiId: a\n        ServiceType: MOCK\n"
        "        ServiceMockReturnMessage: x\n",
        "t.yaml:4:9: Services[0].Apis[0].Path: is required");
    expect_error(
        "Services:\n  - ServiceId: s\n    Apis:\n      - {ApiId: a, Path: /, ServiceType: MOCK}\n",
        "t.yaml:4:9: Services[0].Apis[0].ServiceMockReturnMessage: "
        "is required for a MOCK backend");
    expect_error("Services:\n  - ServiceId: s\n    Apis:\n      - {ApiId: a, Path: /}\n",
                 "t.yaml:4:9: Services[0].Apis[0].ServiceConfig: is required for an HTTP backend");
    expect_error("Services:\n  - ServiceId: s\n    Apis:\n"
                 "      - {ApiId: a, Path: /, ServiceConfig: {Product: upstream}}\n",
                 "t.yaml:4:44: Services[0].Apis[0].ServiceConfig.UpstreamId: "
                 "is required when Product is upstream");
}

static void test_out_of_range(void **state)
{
    expect_error("Gateway:\n  Workers: 300\n",
                 "t.yaml:2:12: Gateway.Workers: must be between 0 and 256");
    expect_error("Gateway:\n  RequestHeaderTimeout: 7200\n",
                 "t.yaml:2:25: Gateway.RequestHeaderTimeout: must be between 0.1 and 3600 seconds");
    expect_error("Gateway:\n  MaxHeaders: 0\n",
                 "t.yaml:2:15: Gateway.MaxHeaders: must be between 1 and 10000");
    expect_error("Upstreams:\n  - UpstreamId: u\n    Retries: 101\n",
                 "t.yaml:3:14: Upstreams[0].Retries: must be between 0 and 100");
    expect_error(
        "Upstreams:\n  - UpstreamId: u\n    Nodes: [{Host: 1.2.3.4, Port: 70000, Weight: 1}]\n",
        "t.yaml:3:35: Upstreams[0].Nodes[0].Port: must be between 1 and 65535");
    expect_error(
        "Upstreams:\n  - UpstreamId: u\n    Nodes: [{Host: 1.2.3.4, Port: 80, Weight: 101}]\n",
        "t.yaml:3:47: Upstreams[0].Nodes[0].Weight: must be between 0 and 100");
    expect_error("Upstreams:\n  - UpstreamId: u\n    HealthChecker:\n"
                 "      EnableActiveCheck: false\n      EnablePassiveCheck: true\n"
                 "      UnhealthyTimeout: 0\n",
                 "t.yaml:6:25: Upstreams[0].HealthChecker.UnhealthyTimeout: "
                 "must be greater than 0 when only passive checks are on");
    expect_error("Upstreams:\n  - UpstreamId: u\n    HealthChecker: {EnableActiveCheck: true,"
                 " EnablePassiveCheck: true, HealthyHttpStatus: \"200,700\"}\n",
                 "t.yaml:3:91: Upstreams[0].HealthChecker.HealthyHttpStatus: must be status "
                 "codes 100..599 as a list like \"200,204\" or a range like \"500-599\"");
    expect_error(
        "Services:\n  - ServiceId: s\n    Apis:\n      - {ApiId: a, Path: /, ServiceTimeout: 0,"
        " ServiceType: MOCK, ServiceMockReturnMessage: x}\n",
        "t.yaml:4:45: Services[0].Apis[0].ServiceTimeout: must be between 1 and 1800 seconds");
    /* MOCK statuses that end at their head (issue 9). */
    expect_error(
        "Services:\n  - ServiceId: s\n    Apis:\n      - {ApiId: a, Path: /, ServiceType: MOCK,"
        " ServiceMockReturnMessage: x, ServiceMockStatusCode: 101}\n",
        "t.yaml:4:100: Services[0].Apis[0].ServiceMockStatusCode: "
        "must be between 200 and 599 (a 1xx is not a final response)");
    expect_error(
        "Services:\n  - ServiceId: s\n    Apis:\n      - {ApiId: a, Path: /, ServiceType: MOCK,"
        " ServiceMockReturnMessage: x, ServiceMockStatusCode: 204}\n",
        "t.yaml:4:74: Services[0].Apis[0].ServiceMockReturnMessage: "
        "must be empty with ServiceMockStatusCode 204 (that response has no body)");
}

static void test_bad_enums_and_formats(void **state)
{
    expect_error("Services:\n  - ServiceId: s\n    Apis:\n      - ApiId: a\n        Path: /\n"
                 "        Method: FETCH\n",
                 "t.yaml:6:17: Services[0].Apis[0].Method: must be one of GET, POST, PUT, "
                 "DELETE, HEAD, OPTIONS, PATCH, TRACE, ANY");
    expect_error("Gateway:\n  LogLevel: verbose\n",
                 "t.yaml:2:13: Gateway.LogLevel: must be one of debug, info, warn, error");
    expect_error("Upstreams:\n  - {UpstreamId: u, Scheme: gRPC}\n",
                 "t.yaml:2:29: Upstreams[0].Scheme: must be one of HTTP, HTTPS");
    expect_error("Upstreams:\n  - {UpstreamId: u, UpstreamType: K8S}\n",
                 "t.yaml:2:5: Upstreams[0].K8sService: is required for UpstreamType K8S");
    expect_error("Services:\n  - {ServiceId: s, Environments: [release, staging]}\n",
                 "t.yaml:2:44: Services[0].Environments[1]: must be one of test, prepub, release");
    expect_error(
        "Services:\n  - ServiceId: s\n    Apis:\n      - {ApiId: a, Path: /, ServiceType: SCF}\n",
        "t.yaml:4:42: Services[0].Apis[0].ServiceType: "
        "SCF is a cloud-only backend type, not supported");
    expect_error(
        "Services:\n  - ServiceId: s\n    Apis:\n      - {ApiId: a, Path: users,"
        " ServiceType: MOCK, ServiceMockReturnMessage: x}\n",
        "t.yaml:4:26: Services[0].Apis[0].Path: must start with / (after an optional = or ^~)");
    expect_error("Services:\n  - ServiceId: s\n    Apis:\n      - {ApiId: a, Path: \"/u/{id\","
                 " ServiceType: MOCK, ServiceMockReturnMessage: x}\n",
                 "t.yaml:4:26: Services[0].Apis[0].Path: has a malformed {parameter} "
                 "(a name of letters, digits, _ or -)");
    expect_error("Services:\n  - ServiceId: s\n    Apis:\n"
                 "      - {ApiId: a, Path: /, ServiceConfig: {Url: \"http://h.example/v1\"}}\n",
                 "t.yaml:4:50: Services[0].Apis[0].ServiceConfig.Url: must not have a path, "
                 "query or fragment (use ServiceConfig.Path)");
    expect_error(
        "Services:\n  - ServiceId: s\n    Apis:\n"
        "      - {ApiId: a, Path: /, ServiceConfig: {Url: \"ftp://h\"}}\n",
        "t.yaml:4:50: Services[0].Apis[0].ServiceConfig.Url: must start with http:// or https://");
    expect_error("Gateway:\n  Listen: [\"example.com:80\"]\n",
                 "t.yaml:2:12: Gateway.Listen[0]: host must be an IP address or localhost");
    expect_error("Gateway:\n  Listen: [\"::1:80\"]\n",
                 "t.yaml:2:12: Gateway.Listen[0]: must be host:port (IPv6 as [addr]:port)");
    expect_error("Gateway:\n  TrustedProxies: [10.0.0.0/33]\n",
                 "t.yaml:2:20: Gateway.TrustedProxies[0]: prefix length must be 0..32");
    expect_error("Plugins:\n  - {PluginId: p, PluginType: IPControl, PluginData: \"{}\"}\n",
                 "t.yaml:2:31: Plugins[0].PluginType: plugin type IPControl is not supported");
}

static void test_duplicate_ids(void **state)
{
    expect_error("Upstreams:\n  - UpstreamId: u\n  - UpstreamId: u\n",
                 "t.yaml:3:17: Upstreams[1].UpstreamId: duplicate UpstreamId \"u\" (first at 2:5)");
    expect_error("Services:\n  - ServiceId: s\n    Domains: [{DomainName: a.example}]\n"
                 "  - ServiceId: s\n    Domains: [{DomainName: b.example}]\n",
                 "t.yaml:4:16: Services[1].ServiceId: duplicate ServiceId \"s\" (first at 2:5)");
    /* ApiId is unique across services, not only within one. */
    expect_error(
        "Services:\n"
        "  - ServiceId: s1\n    Domains: [{DomainName: a.example}]\n"
        "    Apis: [{ApiId: a, Path: /, ServiceType: MOCK, ServiceMockReturnMessage: x}]\n"
        "  - ServiceId: s2\n    Domains: [{DomainName: b.example}]\n"
        "    Apis: [{ApiId: a, Path: /, ServiceType: MOCK, ServiceMockReturnMessage: x}]\n",
        "t.yaml:7:20: Services[1].Apis[0].ApiId: duplicate ApiId \"a\" (first at 4:12)");
    expect_error("Plugins:\n  - {PluginId: p, PluginType: Routing, PluginData: []}\n"
                 "  - {PluginId: p, PluginType: Routing, PluginData: []}\n",
                 "t.yaml:3:16: Plugins[1].PluginId: duplicate PluginId \"p\" (first at 2:5)");
    expect_error("Plugins:\n  - PluginId: p\n    PluginType: Routing\n    PluginData:\n"
                 "      - {strategy_name: x, condition: \"a=1\", backend_type: MOCK,"
                 " backend_config: {ServiceMockReturnMessage: m}}\n"
                 "      - {strategy_name: x, condition: \"a=2\", backend_type: MOCK,"
                 " backend_config: {ServiceMockReturnMessage: m}}\n",
                 "t.yaml:6:25: Plugins[0].PluginData[1].strategy_name: "
                 "duplicate strategy_name \"x\" (first at 5:9)");
    expect_error("Services:\n  - ServiceId: s1\n    Domains: [{DomainName: API.example}]\n"
                 "  - ServiceId: s2\n    Domains: [{DomainName: api.example}]\n",
                 "t.yaml:5:15: Services[1].Domains[0]: domain \"api.example\" "
                 "is already claimed by service \"s1\"");
    expect_error("Services:\n  - ServiceId: s1\n  - ServiceId: s2\n",
                 "t.yaml:3:5: Services[1].Domains: without Domains the service claims \"*\", "
                 "already claimed by service \"s1\"");
}

/* Ids are URL path segments, store keys and metrics labels:
 * [A-Za-z0-9._-]{1,64}, not "." or "..", in every object kind. */
static void test_id_alphabet(void **state)
{
    static const char *const bad[] = {"\"a/b\"", "\"a?b\"",      "\"a#b\"",   "\"%2e\"",
                                      "\"a b\"", "\"\xc3\xbc\"", "\"x\\ny\"", "\"a\\r\\nX-Inj: 1\"",
                                      "\"\"",    "\".\"",        "\"..\""};
    char text[512], msg[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "Upstreams:\n  - UpstreamId: %s\n", bad[i]);
        expect_error(text, "t.yaml:2:17: Upstreams[0].UpstreamId: " SY_ID_RULE);
        snprintf(text, sizeof text, "Services:\n  - ServiceId: %s\n", bad[i]);
        expect_error(text, "t.yaml:2:16: Services[0].ServiceId: " SY_ID_RULE);
        snprintf(text, sizeof text,
                 "Services:\n  - ServiceId: s\n    Apis:\n      - {ApiId: %s, Path: /, "
                 "ServiceType: MOCK, ServiceMockReturnMessage: x}\n",
                 bad[i]);
        snprintf(msg, sizeof msg, "t.yaml:4:17: Services[0].Apis[0].ApiId: %s", SY_ID_RULE);
        expect_error(text, msg);
        snprintf(text, sizeof text, "Plugins:\n  - {PluginId: %s, PluginType: Routing}\n", bad[i]);
        expect_error(text, "t.yaml:2:16: Plugins[0].PluginId: " SY_ID_RULE);
    }
    char long_id[70];
    memset(long_id, 'a', 65);
    long_id[65] = '\0';
    snprintf(text, sizeof text, "Upstreams:\n  - UpstreamId: %s\n", long_id);
    expect_error(text, "t.yaml:2:17: Upstreams[0].UpstreamId: " SY_ID_RULE);
    long_id[64] = '\0';
    snprintf(text, sizeof text,
             "Upstreams:\n  - UpstreamId: upstream-1ca1d6yi\n  - UpstreamId: A.b_c-9\n"
             "  - UpstreamId: %s\n  - UpstreamId: ...\n",
             long_id);
    sy_config_free(expect_ok(text));
}

static void test_dangling_references(void **state)
{
    expect_error(
        "Services:\n  - ServiceId: s\n    Apis:\n      - ApiId: a\n        Path: /\n"
        "        ServiceConfig: {Product: upstream, UpstreamId: nope}\n",
        "t.yaml:6:56: Services[0].Apis[0].ServiceConfig.UpstreamId: unknown upstream \"nope\"");
    expect_error("Plugins:\n  - PluginId: p\n    PluginType: Routing\n    PluginData: []\n"
                 "    Attachments: [{ServiceId: ghost, EnvironmentName: release, ApiIds: [a]}]\n",
                 "t.yaml:5:31: Plugins[0].Attachments[0].ServiceId: unknown service \"ghost\"");
}

/* Two services, one API each, released to release only. */
static const char *two_services =
    "Services:\n"
    "  - ServiceId: s1\n"
    "    Environments: [release]\n"
    "    Domains: [{DomainName: one.example}]\n"
    "    Apis: [{ApiId: a1, Path: /, ServiceType: MOCK, ServiceMockReturnMessage: x}]\n"
    "  - ServiceId: s2\n"
    "    Environments: [release]\n"
    "    Domains: [{DomainName: two.example}]\n"
    "    Apis: [{ApiId: a2, Path: /, ServiceType: MOCK, ServiceMockReturnMessage: x}]\n"
    "Plugins:\n"
    "  - PluginId: p1\n"
    "    PluginType: Routing\n"
    "    PluginData: []\n";

static void expect_attach_error(const char *attach, const char *msg)
{
    char text[4096];
    snprintf(text, sizeof text, "%s%s", two_services, attach);
    expect_error(text, msg);
}

static void test_attachment_rules(void **state)
{
    expect_attach_error(
        "    Attachments: [{ServiceId: s1, EnvironmentName: release, ApiIds: [zz]}]\n",
        "t.yaml:14:70: Plugins[0].Attachments[0].ApiIds[0]: unknown API \"zz\"");
    expect_attach_error(
        "    Attachments: [{ServiceId: s1, EnvironmentName: release, ApiIds: [a2]}]\n",
        "t.yaml:14:70: Plugins[0].Attachments[0].ApiIds[0]: "
        "API \"a2\" belongs to service \"s2\", not \"s1\"");
    expect_attach_error("    Attachments: [{ServiceId: s1, EnvironmentName: test, ApiIds: [a1]}]\n",
                        "t.yaml:14:52: Plugins[0].Attachments[0].EnvironmentName: "
                        "service \"s1\" is not released to test");
    expect_attach_error(
        "    Attachments: [{ServiceId: s1, EnvironmentName: release, ApiIds: [a1]}]\n"
        "  - PluginId: p2\n    PluginType: Routing\n    PluginData: []\n"
        "    Attachments: [{ServiceId: s1, EnvironmentName: release, ApiIds: [a1]}]\n",
        "t.yaml:18:70: Plugins[1].Attachments[0].ApiIds[0]: API \"a1\" already has "
        "Routing plugin \"p1\" in release; plugin \"p2\" cannot be attached too");
    /* Same API, different environment: allowed. */
    char text[4096];
    snprintf(text, sizeof text, "%s%s", two_services,
             "    Attachments: [{ServiceId: s1, EnvironmentName: release, ApiIds: [a1]}]\n");
    sy_config *cfg = expect_ok(text);
    sy_config_free(cfg);
}

static void test_plugin_policy_errors(void **state)
{
    expect_error(
        "Plugins:\n  - PluginId: p\n    PluginType: Routing\n    PluginData:\n"
        "      - {strategy_name: x, condition: \"a=1\", backend_type: SCF, backend_config: {}}\n",
        "t.yaml:5:60: Plugins[0].PluginData[0].backend_type: "
        "SCF is a cloud-only backend type, not supported");
    expect_error("Plugins:\n  - PluginId: p\n    PluginType: Routing\n    PluginData:\n"
                 "      - {strategy_name: \"a b\", condition: \"a=1\", backend_type: MOCK,"
                 " backend_config: {ServiceMockReturnMessage: m}}\n",
                 "t.yaml:5:25: Plugins[0].PluginData[0].strategy_name: "
                 "may only contain letters, digits and % ~ _ - . { } ? & = /");
    expect_error("Plugins:\n  - PluginId: p\n    PluginType: Routing\n    PluginData:\n"
                 "      - {strategy_name: x, backend_type: MOCK, backend_config: "
                 "{ServiceMockReturnMessage: m}}\n",
                 "t.yaml:5:9: Plugins[0].PluginData[0].condition: is required");
    expect_error(
        "Plugins:\n  - PluginId: p\n    PluginType: Routing\n    PluginData:\n"
        "      - {strategy_name: x, condition: c, strategy_weight: 101, backend_type: MOCK,"
        " backend_config: {ServiceMockReturnMessage: m}}\n",
        "t.yaml:5:59: Plugins[0].PluginData[0].strategy_weight: must be between 0 and 100");
    /* Errors inside JSON and YAML strings point at the string. */
    expect_error("Plugins:\n  - PluginId: p\n    PluginType: Routing\n"
                 "    PluginData: '[{\"strategy_name\": \"x\"}'\n",
                 "t.yaml:4:17: Plugins[0].PluginData: invalid JSON: ']' expected near end of file "
                 "(line 1, column 23 of the string)");
    expect_error("Plugins:\n  - PluginId: p\n    PluginType: Routing\n"
                 "    PluginData: '[{\"strategy_name\": \"x\", \"condition\": \"c\","
                 " \"backend_type\": \"HTTP\", \"backend_config\": {\"ServiceType\": \"TSF\"}}]'\n",
                 "t.yaml:4:17: Plugins[0].PluginData[0].backend_config.ServiceType: "
                 "TSF is a cloud-only backend type, not supported");
    expect_error("Plugins:\n  - PluginId: p\n    PluginType: Routing\n    PluginData:\n"
                 "      - strategy_name: x\n        condition: c\n        backend_type: HTTP\n"
                 "        backend_config: |\n          ServiceType: HTTP\n          Colour: red\n",
                 "t.yaml:8:25: Plugins[0].PluginData[0].backend_config.Colour: unknown key");
    expect_error("Plugins:\n  - PluginId: p\n    PluginType: Routing\n    PluginData:\n"
                 "      - strategy_name: x\n        condition: c\n        backend_type: MOCK\n"
                 "        backend_config: {ServiceType: HTTP, ServiceMockReturnMessage: m}\n",
                 "t.yaml:8:39: Plugins[0].PluginData[0].backend_config.ServiceType: "
                 "does not match the policy's backend_type");
}

static void test_all_errors_in_one_run(void **state)
{
    const char *text = "Gateway:\n"
                       "  Workers: -1\n"
                       "  LogLevel: loud\n"
                       "Upstreams:\n"
                       "  - UpstreamId: u\n"
                       "    Nodes: [{Host: 1.2.3.4, Port: 0, Weight: 5}]\n"
                       "Services:\n"
                       "  - ServiceId: s\n"
                       "    Apis:\n"
                       "      - {ApiId: a, Path: /, Method: get, ServiceConfig: {Product: "
                       "upstream, UpstreamId: x}}\n"
                       "Extra: 1\n";
    sy_errors e = {0};
    sy_config *cfg = load_text(text, &e);
    assert_null(cfg);
    show_errors(&e);
    assert_int_equal(e.n, 6);
    assert_true(has_error(&e, "t.yaml:11:1: Extra: unknown key"));
    assert_true(has_error(&e, "t.yaml:2:12: Gateway.Workers: must be between 0 and 256"));
    assert_true(
        has_error(&e, "t.yaml:3:13: Gateway.LogLevel: must be one of debug, info, warn, error"));
    assert_true(
        has_error(&e, "t.yaml:6:35: Upstreams[0].Nodes[0].Port: must be between 1 and 65535"));
    assert_true(has_error(&e, "t.yaml:10:37: Services[0].Apis[0].Method: must be one of GET, POST, "
                              "PUT, DELETE, HEAD, OPTIONS, PATCH, TRACE, ANY"));
    assert_true(has_error(&e, "t.yaml:10:89: Services[0].Apis[0].ServiceConfig.UpstreamId: "
                              "unknown upstream \"x\""));
    sy_errors_free(&e);
}

static void test_missing_file(void **state)
{
    sy_errors e = {0};
    assert_null(sy_config_load_file("/nonexistent/switchyard.yaml", &e));
    assert_int_equal(e.n, 1);
    assert_string_equal(e.msgs[0],
                        "/nonexistent/switchyard.yaml: cannot open: No such file or directory");
    sy_errors_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yaml_syntax_error),
        cmocka_unit_test(test_unknown_keys_case_sensitive),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_missing_required),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_bad_enums_and_formats),
        cmocka_unit_test(test_duplicate_ids),
        cmocka_unit_test(test_id_alphabet),
        cmocka_unit_test(test_dangling_references),
        cmocka_unit_test(test_attachment_rules),
        cmocka_unit_test(test_plugin_policy_errors),
        cmocka_unit_test(test_all_errors_in_one_run),
        cmocka_unit_test(test_missing_file),
    };
    return cmocka_run_group_tests_name("config_errors", tests, NULL, NULL);
}
