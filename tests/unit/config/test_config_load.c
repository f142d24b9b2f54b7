/* Loading valid configurations: values, defaults, and both spellings of
 * PluginData and backend_config. */
#include "config_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "config/dump.h"
#include "core/log.h"

static bool status_has(const sy_status_set *s, unsigned code)
{
    unsigned i = code - 100;
    return (s->bits[i / 64] >> (i % 64)) & 1;
}

static void test_quickstart(void **state)
{
    sy_errors e = {0};
    sy_config *cfg = sy_config_load_file("examples/quickstart.yaml", &e);
    show_errors(&e);
    assert_non_null(cfg);
    assert_string_equal(cfg->file, "examples/quickstart.yaml");

    const sy_gateway_cfg *gw = &cfg->gw;
    assert_int_equal(gw->n_listen, 1);
    assert_string_equal(gw->listen[0].host, "127.0.0.1");
    assert_int_equal(gw->listen[0].port, 8080);
    assert_int_equal(gw->listen[0].addrlen, sizeof(struct sockaddr_in));
    assert_true(gw->admin_enabled);
    assert_int_equal(gw->admin_listen.port, 9180);
    assert_int_equal(gw->workers, 2);
    assert_string_equal(gw->access_log, "-");
    assert_null(gw->error_log);
    assert_int_equal(gw->log_level, SY_LOG_INFO);
    /* Defaults for everything not written. */
    assert_int_equal(gw->header_timeout_ms, 10000);
    assert_int_equal(gw->body_timeout_ms, 30000);
    assert_int_equal(gw->body_min_rate, 1024);
    assert_int_equal(gw->body_rate_grace_ms, 10000);
    assert_int_equal(gw->idle_timeout_ms, 15000);
    assert_int_equal(gw->send_timeout_ms, 30000);
    assert_int_equal(gw->connect_timeout_ms, 2000);
    assert_int_equal(gw->upstream_idle_ms, 30000);
    assert_int_equal(gw->grace_ms, 10000);
    assert_int_equal(gw->max_request_line, 8192);
    assert_int_equal(gw->max_header_bytes, 32768);
    assert_int_equal(gw->max_headers, 100);
    assert_true(gw->max_body_bytes == 104857600u);
    assert_int_equal(gw->max_connections, 10000);
    assert_int_equal(gw->max_keepalive_requests, 1000);

    assert_int_equal(cfg->n_upstreams, 1);
    const sy_upstream_cfg *u = &cfg->upstreams[0];
    assert_string_equal(u->id, "upstream-blue");
    assert_string_equal(u->name, "blue_pool");
    assert_string_equal(u->scheme, "HTTP");
    assert_string_equal(u->algorithm, "ROUND-ROBIN");
    assert_int_equal(u->retries, 3);
    assert_int_equal(u->n_nodes, 2);
    assert_int_equal(u->nodes[1].ep.port, 18082);
    assert_int_equal(u->nodes[1].weight, 100);
    assert_int_equal(u->nodes[0].mark.line, 18);
    assert_false(u->health.present);

    assert_int_equal(cfg->n_services, 1);
    const sy_service_cfg *s = &cfg->services[0];
    assert_string_equal(s->id, "service-orders");
    assert_int_equal(s->env_mask, SY_ENV_RELEASE | SY_ENV_TEST);
    assert_int_equal(s->n_domains, 1); /* no Domains: claims "*" */
    assert_string_equal(s->domains[0].name, "*");
    assert_int_equal(s->domains[0].n_mappings, 0);
    assert_int_equal(s->n_apis, 3);

    const sy_api_cfg *a = &s->apis[0];
    assert_string_equal(a->id, "api-orders");
    assert_string_equal(a->path, "/orders");
    assert_string_equal(a->method, "ANY");
    assert_ptr_equal(a->service, s);
    assert_int_equal(a->backend.type, SY_BACKEND_HTTP);
    assert_ptr_equal(a->backend.upstream, &cfg->upstreams[0]);
    assert_int_equal(a->backend.timeout_ms, 15000);
    assert_string_equal(a->backend.path, "/orders");

    a = &s->apis[1];
    assert_string_equal(a->path, "/users/{id}");
    assert_string_equal(a->method, "GET");
    assert_null(a->backend.upstream);
    assert_int_equal(a->backend.timeout_ms, 5000);
    assert_string_equal(a->backend.url_ep.host, "127.0.0.1");
    assert_int_equal(a->backend.url_ep.port, 18081);
    assert_int_equal(a->backend.url_ep.addrlen, sizeof(struct sockaddr_in));
    assert_string_equal(a->backend.path, "/v1/users/{id}");

    a = &s->apis[2];
    assert_string_equal(a->path, "=/ping");
    assert_int_equal(a->backend.type, SY_BACKEND_MOCK);
    assert_string_equal(a->backend.mock_body, "{\"pong\":true}");
    assert_int_equal(a->backend.mock_status, 200);
    assert_int_equal(a->mark.line, 47);
    assert_int_equal(a->mark.col, 9);
    assert_int_equal(cfg->n_plugins, 0);
    sy_config_free(cfg);
    sy_errors_free(&e);
}

static void test_empty_config_is_valid(void **state)
{
    sy_config *cfg = expect_ok("");
    assert_int_equal(cfg->n_services, 0);
    assert_int_equal(cfg->gw.n_listen, 1);
    assert_string_equal(cfg->gw.listen[0].host, "0.0.0.0");
    assert_int_equal(cfg->gw.listen[0].port, 8080);
    assert_string_equal(cfg->gw.admin_listen.host, "127.0.0.1");
    assert_int_equal(cfg->gw.admin_listen.port, 9180);
    sy_config_free(cfg);
    cfg = expect_ok("# only a comment\n");
    sy_config_free(cfg);
}

static void test_gateway_values(void **state)
{
    sy_config *cfg = expect_ok("Gateway:\n"
                               "  Listen: [\"[::1]:8443\", \"localhost:80\"]\n"
                               "  AdminListen: \"off\"\n"
                               "  Workers: 0\n"
                               "  TrustedProxies: [10.1.2.3/8, 192.0.2.7, \"2001:db8::/32\"]\n"
                               "  AccessLog: \"off\"\n"
                               "  ErrorLog: /var/log/sy.err\n"
                               "  LogLevel: debug\n"
                               "  RequestHeaderTimeout: 2.5\n"
                               "  ConnectTimeout: 0.25\n"
                               "  MaxBodyBytes: 0\n"
                               "  MaxHeaders: 50\n");
    const sy_gateway_cfg *gw = &cfg->gw;
    assert_int_equal(gw->n_listen, 2);
    assert_string_equal(gw->listen[0].host, "::1");
    assert_int_equal(gw->listen[0].port, 8443);
    assert_int_equal(gw->listen[0].addr.ss_family, AF_INET6);
    assert_int_equal(gw->listen[1].addr.ss_family, AF_INET);
    assert_false(gw->admin_enabled);
    assert_null(gw->access_log);
    assert_string_equal(gw->error_log, "/var/log/sy.err");
    assert_int_equal(gw->log_level, SY_LOG_DEBUG);
    assert_int_equal(gw->header_timeout_ms, 2500);
    assert_int_equal(gw->connect_timeout_ms, 250);
    assert_true(gw->max_body_bytes == 0);
    assert_int_equal(gw->max_headers, 50);
    assert_int_equal(gw->n_trusted, 3);
    assert_int_equal(gw->trusted[0].family, AF_INET);
    assert_int_equal(gw->trusted[0].prefix, 8);
    assert_int_equal(gw->trusted[0].addr[0], 10);
    assert_int_equal(gw->trusted[0].addr[1], 0); /* host bits cleared */
    assert_int_equal(gw->trusted[1].prefix, 32);
    assert_int_equal(gw->trusted[2].family, AF_INET6);
    assert_int_equal(gw->trusted[2].prefix, 32);
    sy_config_free(cfg);
}

static void test_admin_token_rules(void **state)
{
    const char *open_admin = "Gateway:\n  AdminListen: 0.0.0.0:9180\n";
    unsetenv("SWITCHYARD_ADMIN_TOKEN");
    expect_error(open_admin, "t.yaml:2:16: Gateway.AdminListen: a non-loopback admin address "
                             "needs AdminToken (or SWITCHYARD_ADMIN_TOKEN in the environment)");
    sy_config *cfg = expect_ok("Gateway:\n  AdminListen: 0.0.0.0:9180\n"
                               "  AdminToken: s3cret\n");
    assert_string_equal(cfg->gw.admin_token, "s3cret");
    sy_config_free(cfg);
    setenv("SWITCHYARD_ADMIN_TOKEN", "from-env", 1);
    cfg = expect_ok(open_admin);
    sy_config_free(cfg);
    unsetenv("SWITCHYARD_ADMIN_TOKEN");
    cfg = expect_ok("Gateway:\n  AdminListen: \"[::1]:9999\"\n");
    assert_int_equal(cfg->gw.admin_listen.port, 9999);
    sy_config_free(cfg);
}

static void test_upstream_health_and_nodes(void **state)
{
    sy_config *cfg = expect_ok(
        "Upstreams:\n"
        "  - UpstreamId: up-1\n"
        "    UpstreamType: IP_PORT\n"
        "    UniqVpcId: vpc-1\n"
        "    UpstreamDescription: anything\n"
        "    Scheme: HTTPS\n"
        "    Algorithm: ROUND_ROBIN\n"
        "    Retries: 0\n"
        "    UpstreamHost: orders.internal:8080\n"
        "    Nodes:\n"
        "      - {Host: 10.0.0.1, Port: 80, Weight: 0, VmInstanceId: ins-1, Tags: [blue]}\n"
        "      - {Host: backend.example.com, Port: 8080, Weight: 60}\n"
        "      - {Host: \"::1\", Port: 81, Weight: 40}\n"
        "    HealthChecker:\n"
        "      EnableActiveCheck: true\n"
        "      EnablePassiveCheck: false\n"
        "      HealthyHttpStatus: \"200,204\"\n"
        "      UnhealthyHttpStatus: 500-599\n"
        "      HttpFailureThreshold: 7\n"
        "      ActiveCheckHttpPath: /healthz\n"
        "      ActiveCheckInterval: 1.5\n"
        "      ActiveRequestHeader: {Host: probe.local, X-Probe: \"1\"}\n");
    const sy_upstream_cfg *u = &cfg->upstreams[0];
    assert_string_equal(u->scheme, "HTTPS");
    assert_string_equal(u->algorithm, "ROUND-ROBIN");
    assert_int_equal(u->retries, 0);
    assert_string_equal(u->upstream_host, "orders.internal:8080");
    assert_int_equal(u->n_nodes, 3);
    assert_int_equal(u->nodes[0].weight, 0);
    /* A DNS name is kept for later discovery, not resolved now. */
    assert_string_equal(u->nodes[1].ep.host, "backend.example.com");
    assert_int_equal(u->nodes[1].ep.addrlen, 0);
    assert_int_equal(u->nodes[1].ep.port, 8080);
    assert_int_equal(u->nodes[2].ep.addr.ss_family, AF_INET6);
    const sy_health_cfg *h = &u->health;
    assert_true(h->present);
    assert_true(h->enable_active);
    assert_false(h->enable_passive);
    assert_true(status_has(&h->healthy, 200));
    assert_true(status_has(&h->healthy, 204));
    assert_false(status_has(&h->healthy, 201));
    assert_true(status_has(&h->unhealthy, 500));
    assert_true(status_has(&h->unhealthy, 599));
    assert_false(status_has(&h->unhealthy, 499));
    assert_int_equal(h->http_failure_threshold, 7);
    assert_string_equal(h->active_path, "/healthz");
    assert_int_equal(h->active_timeout_ms, 5000);
    assert_int_equal(h->active_interval_ms, 1500);
    assert_int_equal(h->unhealthy_timeout_ms, 30000);
    assert_int_equal(h->n_active_headers, 2);
    assert_string_equal(h->active_headers[0], "Host: probe.local");
    assert_string_equal(h->active_headers[1], "X-Probe: 1");
    sy_config_free(cfg);
}

static const char *services_yaml =
    "Upstreams:\n"
    "  - UpstreamId: upstream-1ca1d6yi\n"
    "    Nodes: [{Host: 127.0.0.1, Port: 9001, Weight: 10}]\n"
    "  - UpstreamId: upstream-green\n"
    "    Nodes: [{Host: 127.0.0.1, Port: 9002, Weight: 10}]\n"
    "Services:\n"
    "  - ServiceId: svc-a\n"
    "    Environments: [release, prepub]\n"
    "    Domains:\n"
    "      - DomainName: API.Example.com\n"
    "        PathMappings: [{Path: /, Environment: release}, {Path: /pre, Environment: prepub}]\n"
    "      - DomainName: \"*.example.org\"\n"
    "    Apis:\n"
    "      - {ApiId: api-1, Path: \"^~/static\", ServiceType: HTTP,\n"
    "         ServiceConfig: {Url: \"https://cdn.example.com/\"}}\n"
    "      - {ApiId: api-2, Path: /orders, Method: POST, ServiceTimeout: 30,\n"
    "         ServiceConfig: {Product: upstream, UpstreamId: upstream-1ca1d6yi,\n"
    "                         Url: \"http://127.0.0.1/\", UniqVpcId: vpc-1}}\n"
    "  - ServiceId: svc-b\n"
    "    Environments: [test]\n"
    "    Apis:\n"
    "      - {ApiId: api-3, Path: /x, ServiceType: MOCK, ServiceMockReturnMessage: hi,\n"
    "         ServiceMockStatusCode: 418}\n";

static void test_services_domains_backends(void **state)
{
    sy_config *cfg = expect_ok(services_yaml);
    const sy_service_cfg *a = &cfg->services[0], *b = &cfg->services[1];
    assert_int_equal(a->env_mask, SY_ENV_RELEASE | SY_ENV_PREPUB);
    assert_int_equal(a->n_domains, 2);
    assert_string_equal(a->domains[0].name, "api.example.com");
    assert_int_equal(a->domains[0].n_mappings, 2);
    assert_string_equal(a->domains[0].mappings[1].path, "/pre");
    assert_int_equal(a->domains[0].mappings[1].env, sy_env_index("prepub", 6));
    assert_string_equal(a->domains[1].name, "*.example.org");
    const sy_backend_cfg *be = &a->apis[0].backend;
    assert_string_equal(be->url, "https://cdn.example.com/");
    assert_int_equal(be->url_ep.port, 443);
    assert_int_equal(be->url_ep.addrlen, 0);
    be = &a->apis[1].backend;
    assert_ptr_equal(be->upstream, &cfg->upstreams[0]);
    assert_string_equal(be->url, "http://127.0.0.1/"); /* kept, unused */
    assert_string_equal(be->vpc_id, "vpc-1");
    assert_int_equal(be->timeout_ms, 30000);
    assert_string_equal(a->apis[1].method, "POST");
    assert_string_equal(b->domains[0].name, "*");
    assert_int_equal(b->apis[0].backend.type, SY_BACKEND_MOCK);
    assert_int_equal(b->apis[0].backend.mock_status, 418);
    sy_config_free(cfg);
}

/* The same routing plugin written three ways must load identically. */
static void check_policies(const sy_config *cfg)
{
    assert_int_equal(cfg->n_plugins, 1);
    const sy_plugin_cfg *p = &cfg->plugins[0];
    assert_string_equal(p->id, "plugin-r1");
    assert_string_equal(p->type, "Routing");
    assert_int_equal(p->n_policies, 2);
    const sy_policy_cfg *a = &p->policies[0], *b = &p->policies[1];
    assert_string_equal(a->name, "tke-admin");
    assert_int_equal(a->weight, 80);
    assert_string_equal(a->condition, "header.UserName = 'admin'");
    assert_string_equal(a->backend_type, "UPSTREAM");
    assert_int_equal(a->seq, 0);
    assert_int_equal(a->backend->type, SY_BACKEND_HTTP);
    assert_string_equal(a->backend->method, "ANY");
    assert_string_equal(a->backend->path, "/");
    assert_string_equal(a->backend->url, "http://127.0.0.1/");
    assert_string_equal(a->backend->vpc_id, "vpc-s0g8gpo5");
    assert_string_equal(a->backend->product, "upstream");
    assert_string_equal(a->backend->upstream_id, "upstream-1ca1d6yi");
    assert_ptr_equal(a->backend->upstream, &cfg->upstreams[0]);
    assert_string_equal(b->name, "canary");
    assert_int_equal(b->weight, 0);
    assert_int_equal(b->seq, 1);
    assert_string_equal(b->backend_type, "MOCK");
    assert_int_equal(b->backend->type, SY_BACKEND_MOCK);
    assert_string_equal(b->backend->mock_body, "mocked");
    assert_int_equal(p->n_attachments, 1);
    assert_string_equal(p->attachments[0].service_id, "svc-a");
    assert_int_equal(p->attachments[0].env, 2);
    assert_int_equal(p->attachments[0].n_api_ids, 2);
    assert_string_equal(p->attachments[0].api_ids[1], "api-2");
}

static char *with_plugin(const char *plugin)
{
    size_t n = strlen(services_yaml) + strlen(plugin) + 1;
    char *s = malloc(n);
    snprintf(s, n, "%s%s", services_yaml, plugin);
    return s;
}

static void test_plugin_data_yaml_list_and_backend_mapping(void **state)
{
    char *text = with_plugin(
        "Plugins:\n"
        "  - PluginId: plugin-r1\n"
        "    PluginName: gray\n"
        "    PluginType: Routing\n"
        "    Description: tke\n"
        "    PluginData:\n"
        "      - strategy_name: tke-admin\n"
        "        strategy_weight: 80\n"
        "        condition: \"header.UserName = 'admin'\"\n"
        "        backend_type: UPSTREAM\n"
        "        backend_config:\n"
        "          ServiceType: HTTP\n"
        "          ServiceConfig: {Method: ANY, Path: /, Url: 'http://127.0.0.1/',\n"
        "            UniqVpcId: vpc-s0g8gpo5, UpstreamId: upstream-1ca1d6yi, Product: upstream}\n"
        "      - strategy_name: canary\n"
        "        condition: Random() < 0.05\n"
        "        backend_type: MOCK\n"
        "        backend_config: {ServiceMockReturnMessage: mocked}\n"
        "    Attachments:\n"
        "      - {ServiceId: svc-a, EnvironmentName: release, ApiIds: [api-1, api-2]}\n");
    sy_config *cfg = expect_ok(text);
    check_policies(cfg);
    /* Positions: the condition text (first character after the quote) and
     * the policy mapping. */
    assert_int_equal(cfg->plugins[0].policies[0].cond_mark.line, 32);
    assert_int_equal(cfg->plugins[0].policies[0].cond_mark.col, 21);
    assert_int_equal(cfg->plugins[0].policies[1].mark.line, 38);
    sy_config_free(cfg);
    free(text);
}

static void test_backend_config_as_yaml_string(void **state)
{
    /* The TKE example as the console writes it: YAML text in a string. */
    char *text = with_plugin(
        "Plugins:\n"
        "  - PluginId: plugin-r1\n"
        "    PluginType: Routing\n"
        "    PluginData:\n"
        "      - strategy_name: tke-admin\n"
        "        strategy_weight: 80\n"
        "        condition: \"header.UserName = 'admin'\"\n"
        "        backend_type: UPSTREAM\n"
        "        backend_config: |\n"
        "          ServiceType: HTTP\n"
        "          ServiceConfig:\n"
        "            Method: ANY\n"
        "            Path: /\n"
        "            Url: 'http://127.0.0.1/'\n"
        "            UniqVpcId: vpc-s0g8gpo5\n"
        "            UpstreamId: upstream-1ca1d6yi\n"
        "            Product: upstream\n"
        "      - strategy_name: canary\n"
        "        condition: Random() < 0.05\n"
        "        backend_type: MOCK\n"
        "        backend_config: \"ServiceType: MOCK\\nServiceMockReturnMessage: mocked\\n\"\n"
        "    Attachments:\n"
        "      - {ServiceId: svc-a, EnvironmentName: release, ApiIds: [api-1, api-2]}\n");
    sy_config *cfg = expect_ok(text);
    check_policies(cfg);
    sy_config_free(cfg);
    free(text);
}

static void test_plugin_data_json_string(void **state)
{
    /* Tencent's CreatePlugin sends PluginData as a JSON string. */
    char *text = with_plugin(
        "Plugins:\n"
        "  - PluginId: plugin-r1\n"
        "    PluginType: Routing\n"
        "    PluginData: '[{\"strategy_name\": \"tke-admin\", \"strategy_weight\": 80,"
        " \"condition\": \"header.UserName = ''admin''\", \"backend_type\": \"UPSTREAM\","
        " \"backend_config\": {\"ServiceType\": \"HTTP\", \"ServiceConfig\": {\"Method\": \"ANY\","
        " \"Path\": \"/\", \"Url\": \"http://127.0.0.1/\", \"UniqVpcId\": \"vpc-s0g8gpo5\","
        " \"UpstreamId\": \"upstream-1ca1d6yi\", \"Product\": \"upstream\"}}},"
        " {\"strategy_name\": \"canary\", \"condition\": \"Random() < 0.05\","
        " \"backend_type\": \"MOCK\", \"backend_config\": {\"ServiceMockReturnMessage\": "
        "\"mocked\"}}]'\n"
        "    Attachments:\n"
        "      - {ServiceId: svc-a, EnvironmentName: release, ApiIds: [api-1, api-2]}\n");
    sy_config *cfg = expect_ok(text);
    check_policies(cfg);
    /* Inside a JSON string, positions are the string's own. */
    assert_int_equal(cfg->plugins[0].policies[0].cond_mark.line, 27);
    assert_int_equal(cfg->plugins[0].policies[0].cond_mark.col, 17);
    sy_config_free(cfg);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quickstart),
        cmocka_unit_test(test_empty_config_is_valid),
        cmocka_unit_test(test_gateway_values),
        cmocka_unit_test(test_admin_token_rules),
        cmocka_unit_test(test_upstream_health_and_nodes),
        cmocka_unit_test(test_services_domains_backends),
        cmocka_unit_test(test_plugin_data_yaml_list_and_backend_mapping),
        cmocka_unit_test(test_backend_config_as_yaml_string),
        cmocka_unit_test(test_plugin_data_json_string),
    };
    return cmocka_run_group_tests_name("config_load", tests, NULL, NULL);
}
