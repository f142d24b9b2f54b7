/* The explain core: service/env/API resolution, per-policy verdicts with
 * the failed comparison named, backend path rewriting, node choice, forced
 * Random()/hash(), TrustedProxies, and 400/404/405 outcomes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/load.h"
#include "gen/snapshot.h"
#include "router/explain.h"

static const char *CFG =
    "Gateway:\n"
    "  TrustedProxies: [10.0.0.0/8]\n"
    "Upstreams:\n"
    "  - UpstreamId: up-blue\n"
    "    Nodes:\n"
    "      - {Host: 127.0.0.1, Port: 9001, Weight: 10}\n"
    "      - {Host: 127.0.0.2, Port: 9002, Weight: 90}\n"
    "      - {Host: 127.0.0.3, Port: 9003, Weight: 0}\n"
    "  - UpstreamId: up-green\n"
    "    Nodes: [{Host: 127.0.0.9, Port: 9009, Weight: 100}]\n"
    "Services:\n"
    "  - ServiceId: shop\n"
    "    ServiceName: Shop\n"
    "    Environments: [release, test]\n"
    "    Apis:\n"
    "      - ApiId: api-orders\n"
    "        ApiName: orders\n"
    "        Path: /orders/{id}\n"
    "        Method: GET\n"
    "        ServiceType: HTTP\n"
    "        ServiceConfig: {Product: upstream, UpstreamId: up-blue, Path: '/v2/order/{id}', "
    "Method: ANY}\n"
    "      - ApiId: api-ping\n"
    "        ApiName: ping\n"
    "        Path: /ping\n"
    "        Method: ANY\n"
    "        ServiceType: HTTP\n"
    "        ServiceConfig: {Url: 'http://127.0.0.1:7000', Path: /health, Method: GET}\n"
    "Plugins:\n"
    "  - PluginId: plug\n"
    "    PluginName: canary\n"
    "    PluginType: Routing\n"
    "    PluginData:\n"
    "      - strategy_name: admin\n"
    "        strategy_weight: 50\n"
    "        condition: \"header.UserName = 'admin'\"\n"
    "        backend_type: UPSTREAM\n"
    "        backend_config:\n"
    "          ServiceType: HTTP\n"
    "          ServiceConfig: {Product: upstream, UpstreamId: up-green, Path: /canary, Method: "
    "ANY}\n"
    "      - strategy_name: office\n"
    "        strategy_weight: 40\n"
    "        condition: \"sysparam.clientIp = '203.0.113.7'\"\n"
    "        backend_type: UPSTREAM\n"
    "        backend_config:\n"
    "          ServiceType: HTTP\n"
    "          ServiceConfig: {Product: upstream, UpstreamId: up-green, Path: /office, Method: "
    "ANY}\n"
    "      - strategy_name: five-percent\n"
    "        strategy_weight: 10\n"
    "        condition: \"Random() < 0.05\"\n"
    "        backend_type: UPSTREAM\n"
    "        backend_config:\n"
    "          ServiceType: HTTP\n"
    "          ServiceConfig: {Product: upstream, UpstreamId: up-green, Path: /, Method: ANY}\n"
    "    Attachments:\n"
    "      - {ServiceId: shop, EnvironmentName: release, ApiIds: [api-orders]}\n";

/* The routing view of the fixture's snapshot, as the proxy builds it. */
static const sy_routing *routing(const sy_snapshot *s)
{
    static sy_routing g;
    g = (sy_routing){s->cfg, s->router, s->generation};
    return &g;
}

static int setup(void **state)
{
    sy_errors e = {0};
    sy_config *cfg = sy_config_load_string(CFG, strlen(CFG), "t.yaml", &e);
    sy_snapshot *s = cfg ? sy_snapshot_build(cfg, 1, &e) : NULL;
    for (size_t i = 0; i < e.n; i++)
        print_message("config: %s\n", e.msgs[i]);
    sy_errors_free(&e);
    if (!s)
        return -1;
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    sy_snapshot_unref(*state);
    return 0;
}

static const char *str_at(const json_t *o, const char *k1, const char *k2)
{
    const json_t *v = json_object_get(o, k1);
    if (k2)
        v = json_object_get(v, k2);
    return json_string_value(v);
}

static json_t *run(void **state, const char *method, const char *url, const sy_header *h, size_t nh,
                   const char *ip, const double *rnd)
{
    sy_explain_req in = {.method = method,
                         .url = url,
                         .headers = h,
                         .n_headers = nh,
                         .client_ip = ip,
                         .random = rnd};
    char err[256];
    json_t *r = sy_explain(routing(*state), &in, err, sizeof(err));
    if (!r)
        print_message("explain error: %s\n", err);
    assert_non_null(r);
    return r;
}

static void test_policy_matched(void **state)
{
    sy_header h[] = {{SY_STR_LIT("UserName"), SY_STR_LIT("admin")}};
    double rnd = 0.9;
    json_t *r = run(state, "GET", "/release/orders/42?x=1", h, 1, NULL, &rnd);
    assert_int_equal(json_integer_value(json_object_get(r, "status")), 200);
    assert_true(json_is_true(json_object_get(r, "routed")));
    assert_string_equal(str_at(r, "service", "id"), "shop");
    assert_string_equal(str_at(r, "environment", NULL), "release");
    assert_string_equal(str_at(r, "api", "id"), "api-orders");
    assert_string_equal(str_at(r, "api", "path"), "/orders/{id}");
    assert_string_equal(str_at(r, "policy", NULL), "admin");
    assert_string_equal(str_at(r, "backend", "upstream"), "up-green");
    assert_string_equal(str_at(r, "backend", "path"), "/canary");
    assert_string_equal(str_at(r, "backend", "source"), "policy");
    json_t *pols = json_object_get(r, "policies");
    assert_int_equal(json_array_size(pols), 3);
    assert_string_equal(str_at(json_array_get(pols, 0), "result", NULL), "matched");
    assert_string_equal(str_at(json_array_get(pols, 1), "result", NULL), "skipped");
    assert_string_equal(str_at(json_array_get(pols, 2), "result", NULL), "skipped");
    assert_non_null(strstr(str_at(r, "text", NULL), "MATCHED"));
    json_decref(r);
}

static void test_no_match_names_failed_comparison(void **state)
{
    sy_header h[] = {{SY_STR_LIT("UserName"), SY_STR_LIT("bob")}};
    double rnd = 0.5;
    json_t *r = run(state, "get", "/release/orders/42", h, 1, NULL, &rnd);
    assert_true(json_is_null(json_object_get(r, "policy")));
    assert_string_equal(str_at(r, "backend", "upstream"), "up-blue");
    assert_string_equal(str_at(r, "backend", "source"), "api");
    /* {id} substituted into ServiceConfig.Path. */
    assert_string_equal(str_at(r, "backend", "path"), "/v2/order/42");
    assert_string_equal(str_at(r, "backend", "method"), "GET");
    json_t *pols = json_object_get(r, "policies");
    json_t *first = json_array_get(pols, 0);
    assert_string_equal(str_at(first, "result", NULL), "no_match");
    const char *line = json_string_value(json_array_get(json_object_get(first, "detail"), 0));
    assert_non_null(line);
    assert_non_null(strstr(line, "header.UserName = 'admin' -> false"));
    assert_non_null(strstr(line, "bob"));
    /* The forced Random() value is reported. */
    const char *rline =
        json_string_value(json_array_get(json_object_get(json_array_get(pols, 2), "detail"), 0));
    assert_non_null(strstr(rline, "forced"));
    /* Node: the highest weight first, the 0-weight node is not usable. */
    assert_string_equal(str_at(r, "node", "host"), "127.0.0.2");
    assert_int_equal(json_array_size(json_object_get(r, "nodes")), 2);
    json_decref(r);
}

static void test_forced_random(void **state)
{
    double rnd = 0.01;
    json_t *r = run(state, "GET", "/release/orders/1", NULL, 0, NULL, &rnd);
    assert_string_equal(str_at(r, "policy", NULL), "five-percent");
    json_decref(r);
}

static void test_trusted_proxy_client_ip(void **state)
{
    sy_header h[] = {{SY_STR_LIT("X-Forwarded-For"), SY_STR_LIT("203.0.113.7")}};
    double rnd = 0.9;
    json_t *r = run(state, "GET", "/release/orders/1", h, 1, "10.1.2.3", &rnd);
    assert_string_equal(str_at(r, "request", "client_ip"), "203.0.113.7");
    assert_string_equal(str_at(r, "policy", NULL), "office");
    json_decref(r);
    /* An untrusted peer's X-Forwarded-For is ignored. */
    r = run(state, "GET", "/release/orders/1", h, 1, "192.0.2.1", &rnd);
    assert_string_equal(str_at(r, "request", "client_ip"), "192.0.2.1");
    assert_true(json_is_null(json_object_get(r, "policy")));
    json_decref(r);
}

static void test_absolute_url_and_url_backend(void **state)
{
    json_t *r = run(state, "POST", "HTTP://Shop.Example:8080/release/ping?q", NULL, 0, NULL, NULL);
    assert_string_equal(str_at(r, "request", "host"), "shop.example");
    assert_string_equal(str_at(r, "api", "id"), "api-ping");
    assert_true(json_is_null(json_object_get(r, "plugin")));
    assert_string_equal(str_at(r, "backend", "url"), "http://127.0.0.1:7000");
    assert_string_equal(str_at(r, "backend", "method"), "GET");
    assert_string_equal(str_at(r, "backend", "path"), "/health");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "node"), "port")), 7000);
    json_decref(r);
}

static void test_not_routed(void **state)
{
    json_t *r = run(state, "GET", "/release/nothing", NULL, 0, NULL, NULL);
    assert_int_equal(json_integer_value(json_object_get(r, "status")), 404);
    assert_true(json_is_false(json_object_get(r, "routed")));
    assert_non_null(strstr(str_at(r, "text", NULL), "404"));
    json_decref(r);
    r = run(state, "DELETE", "/release/orders/1", NULL, 0, NULL, NULL);
    assert_int_equal(json_integer_value(json_object_get(r, "status")), 405);
    json_decref(r);
    r = run(state, "GET", "/prepub/orders/1", NULL, 0, NULL, NULL);
    assert_int_equal(json_integer_value(json_object_get(r, "status")), 404);
    json_decref(r);
    r = run(state, "GET", "/release/../orders/1", NULL, 0, NULL, NULL);
    assert_int_equal(json_integer_value(json_object_get(r, "status")), 400);
    json_decref(r);
    /* Not attached in `test`: no plugin, API default. */
    r = run(state, "GET", "/test/orders/1", NULL, 0, NULL, NULL);
    assert_true(json_is_null(json_object_get(r, "plugin")));
    assert_string_equal(str_at(r, "backend", "upstream"), "up-blue");
    json_decref(r);
}

static void test_bad_input(void **state)
{
    char err[256];
    sy_explain_req in = {.method = "GET", .url = "orders"};
    assert_null(sy_explain(routing(*state), &in, err, sizeof(err)));
    assert_non_null(strstr(err, "url"));
    in.url = "/release/orders/1";
    in.client_ip = "not-an-ip";
    assert_null(sy_explain(routing(*state), &in, err, sizeof(err)));
    assert_non_null(strstr(err, "client_ip"));
    in.client_ip = NULL;
    in.method = "G E T";
    assert_null(sy_explain(routing(*state), &in, err, sizeof(err)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_matched),
        cmocka_unit_test(test_no_match_names_failed_comparison),
        cmocka_unit_test(test_forced_random),
        cmocka_unit_test(test_trusted_proxy_client_ip),
        cmocka_unit_test(test_absolute_url_and_url_backend),
        cmocka_unit_test(test_not_routed),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
