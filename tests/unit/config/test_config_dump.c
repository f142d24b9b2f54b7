/* sy_config_dump_yaml: its output loads back into an equivalent model. */
#include "config_test.h"

#include <jansson.h>

#include "config/dump.h"

static const char *rich =
    "Gateway:\n"
    "  Listen: [\"127.0.0.1:8080\", \"[::1]:8081\"]\n"
    "  AdminListen: 0.0.0.0:9180\n"
    "  AdminToken: \"tok\\\"en\"\n"
    "  Workers: 4\n"
    "  TrustedProxies: [10.0.0.0/8, \"2001:db8::1\"]\n"
    "  AccessLog: \"off\"\n"
    "  ErrorLog: /tmp/err.log\n"
    "  LogLevel: warn\n"
    "  IdleTimeout: 2.25\n"
    "  MaxBodyBytes: 0\n"
    "Upstreams:\n"
    "  - UpstreamId: up-a\n"
    "    UpstreamName: a\n"
    "    Scheme: HTTPS\n"
    "    Algorithm: LEAST-CONN\n"
    "    Retries: 1\n"
    "    UpstreamHost: a.internal\n"
    "    MaxConnectionsPerNode: 7\n"
    "    MaxQueuePerNode: 0\n"
    "    QueueTimeout: 0.25\n"
    "    MaxIdleConnectionsPerNode: 3\n"
    "    KeepaliveTimeout: 4\n"
    "    Nodes:\n"
    "      - {Host: 10.0.0.1, Port: 80, Weight: 0}\n"
    "      - {Host: node.example.com, Port: 81, Weight: 100}\n"
    "    HealthChecker:\n"
    "      EnableActiveCheck: false\n"
    "      EnablePassiveCheck: true\n"
    "      HealthyHttpStatus: \"200,204,300-302\"\n"
    "      UnhealthyHttpStatus: \"500-599\"\n"
    "      ActiveRequestHeader: {X-A: \"b: c\"}\n"
    "      UnhealthyTimeout: 0.5\n"
    "Services:\n"
    "  - ServiceId: s\n"
    "    ServiceName: \"weird \\t name\"\n"
    "    Environments: [test, prepub, release]\n"
    "    Domains:\n"
    "      - DomainName: a.example\n"
    "        PathMappings: [{Path: /v1, Environment: test}]\n"
    "      - DomainName: \"*.b.example\"\n"
    "    Apis:\n"
    "      - {ApiId: a1, ApiName: one, Path: \"/u/{id}\", Method: PUT, ServiceTimeout: 1.5,\n"
    "         ServiceConfig: {Url: \"http://[::1]:9000\", Path: \"/x/{id}\", Method: POST}}\n"
    "      - {ApiId: a2, Path: =/m, ServiceType: MOCK, ServiceMockReturnMessage: \"line\\nnext\",\n"
    "         ServiceMockStatusCode: 201}\n"
    "      - {ApiId: a3, Path: /up, ServiceConfig: {Product: upstream, UpstreamId: up-a,\n"
    "         UniqVpcId: vpc-1, Url: \"http://127.0.0.1/\"}}\n"
    "Plugins:\n"
    "  - PluginId: p\n"
    "    PluginName: gray\n"
    "    PluginType: Routing\n"
    "    PluginData:\n"
    "      - {strategy_name: \"v{1}\", strategy_weight: 9, condition: \"header.x = 'y'\",\n"
    "         backend_type: VPC, backend_config: {ServiceConfig: {Product: upstream, UpstreamId: "
    "up-a}}}\n"
    "      - {strategy_name: m, condition: \"Random() < 0.5\", backend_type: MOCK,\n"
    "         backend_config: {ServiceMockReturnMessage: \"\"}}\n"
    "    Attachments:\n"
    "      - {ServiceId: s, EnvironmentName: prepub, ApiIds: [a1, a3]}\n";

#define STR_EQ(a, b)                                                                               \
    do {                                                                                           \
        if ((a) || (b)) {                                                                          \
            assert_non_null(a);                                                                    \
            assert_non_null(b);                                                                    \
            assert_string_equal((a), (b));                                                         \
        }                                                                                          \
    } while (0)

static void same_endpoint(const sy_endpoint *a, const sy_endpoint *b)
{
    STR_EQ(a->host, b->host);
    assert_int_equal(a->port, b->port);
    assert_int_equal(a->addrlen, b->addrlen);
    assert_memory_equal(&a->addr, &b->addr, a->addrlen);
}

static void same_backend(const sy_backend_cfg *a, const sy_backend_cfg *b)
{
    assert_int_equal(a->type, b->type);
    STR_EQ(a->url, b->url);
    if (a->url && !a->upstream)
        same_endpoint(&a->url_ep, &b->url_ep);
    STR_EQ(a->path, b->path);
    STR_EQ(a->method, b->method);
    STR_EQ(a->product, b->product);
    STR_EQ(a->vpc_id, b->vpc_id);
    STR_EQ(a->upstream_id, b->upstream_id);
    assert_int_equal(a->upstream ? a->upstream->index : 999,
                     b->upstream ? b->upstream->index : 999);
    assert_int_equal(a->timeout_ms, b->timeout_ms);
    STR_EQ(a->mock_body, b->mock_body);
    assert_int_equal(a->mock_status, b->mock_status);
}

static void same_config(const sy_config *x, const sy_config *y)
{
    const sy_gateway_cfg *a = &x->gw, *b = &y->gw;
    assert_int_equal(a->n_listen, b->n_listen);
    for (size_t i = 0; i < a->n_listen; i++)
        same_endpoint(&a->listen[i], &b->listen[i]);
    assert_int_equal(a->admin_enabled, b->admin_enabled);
    same_endpoint(&a->admin_listen, &b->admin_listen);
    STR_EQ(a->admin_token, b->admin_token);
    assert_int_equal(a->workers, b->workers);
    assert_int_equal(a->n_trusted, b->n_trusted);
    assert_memory_equal(a->trusted, b->trusted, a->n_trusted * sizeof *a->trusted);
    STR_EQ(a->access_log, b->access_log);
    STR_EQ(a->error_log, b->error_log);
    assert_int_equal(a->log_level, b->log_level);
    /* Every numeric setting, timeouts through limits, in one sweep. */
    assert_memory_equal(&a->header_timeout_ms, &b->header_timeout_ms,
                        sizeof *a - offsetof(sy_gateway_cfg, header_timeout_ms));

    assert_int_equal(x->n_upstreams, y->n_upstreams);
    for (size_t i = 0; i < x->n_upstreams; i++) {
        const sy_upstream_cfg *u = &x->upstreams[i], *v = &y->upstreams[i];
        STR_EQ(u->id, v->id);
        STR_EQ(u->name, v->name);
        STR_EQ(u->scheme, v->scheme);
        STR_EQ(u->algorithm, v->algorithm);
        assert_int_equal(u->retries, v->retries);
        assert_int_equal(u->max_conns_per_node, v->max_conns_per_node);
        assert_int_equal(u->max_queue_per_node, v->max_queue_per_node);
        assert_int_equal(u->queue_timeout_ms, v->queue_timeout_ms);
        assert_int_equal(u->max_idle_per_node, v->max_idle_per_node);
        assert_int_equal(u->keepalive_ms, v->keepalive_ms);
        STR_EQ(u->upstream_host, v->upstream_host);
        assert_int_equal(u->n_nodes, v->n_nodes);
        for (size_t j = 0; j < u->n_nodes; j++) {
            same_endpoint(&u->nodes[j].ep, &v->nodes[j].ep);
            assert_int_equal(u->nodes[j].weight, v->nodes[j].weight);
        }
        const sy_health_cfg *h = &u->health, *k = &v->health;
        assert_int_equal(h->present, k->present);
        if (!h->present)
            continue;
        assert_int_equal(h->enable_active, k->enable_active);
        assert_int_equal(h->enable_passive, k->enable_passive);
        assert_memory_equal(&h->healthy, &k->healthy, sizeof h->healthy);
        assert_memory_equal(&h->unhealthy, &k->unhealthy, sizeof h->unhealthy);
        assert_int_equal(h->tcp_failure_threshold, k->tcp_failure_threshold);
        assert_int_equal(h->timeout_threshold, k->timeout_threshold);
        assert_int_equal(h->http_failure_threshold, k->http_failure_threshold);
        STR_EQ(h->active_path, k->active_path);
        assert_int_equal(h->active_timeout_ms, k->active_timeout_ms);
        assert_int_equal(h->active_interval_ms, k->active_interval_ms);
        assert_int_equal(h->n_active_headers, k->n_active_headers);
        for (size_t j = 0; j < h->n_active_headers; j++)
            STR_EQ(h->active_headers[j], k->active_headers[j]);
        assert_int_equal(h->unhealthy_timeout_ms, k->unhealthy_timeout_ms);
    }

    assert_int_equal(x->n_services, y->n_services);
    for (size_t i = 0; i < x->n_services; i++) {
        const sy_service_cfg *s = &x->services[i], *t = &y->services[i];
        STR_EQ(s->id, t->id);
        STR_EQ(s->name, t->name);
        assert_int_equal(s->env_mask, t->env_mask);
        assert_int_equal(s->n_domains, t->n_domains);
        for (size_t d = 0; d < s->n_domains; d++) {
            STR_EQ(s->domains[d].name, t->domains[d].name);
            assert_int_equal(s->domains[d].n_mappings, t->domains[d].n_mappings);
            for (size_t m = 0; m < s->domains[d].n_mappings; m++) {
                STR_EQ(s->domains[d].mappings[m].path, t->domains[d].mappings[m].path);
                assert_int_equal(s->domains[d].mappings[m].env, t->domains[d].mappings[m].env);
            }
        }
        assert_int_equal(s->n_apis, t->n_apis);
        for (size_t j = 0; j < s->n_apis; j++) {
            STR_EQ(s->apis[j].id, t->apis[j].id);
            STR_EQ(s->apis[j].name, t->apis[j].name);
            STR_EQ(s->apis[j].path, t->apis[j].path);
            STR_EQ(s->apis[j].method, t->apis[j].method);
            same_backend(&s->apis[j].backend, &t->apis[j].backend);
        }
    }

    assert_int_equal(x->n_plugins, y->n_plugins);
    for (size_t i = 0; i < x->n_plugins; i++) {
        const sy_plugin_cfg *p = &x->plugins[i], *q = &y->plugins[i];
        STR_EQ(p->id, q->id);
        STR_EQ(p->name, q->name);
        STR_EQ(p->type, q->type);
        assert_int_equal(p->n_policies, q->n_policies);
        for (size_t j = 0; j < p->n_policies; j++) {
            const sy_policy_cfg *a1 = &p->policies[j], *b1 = &q->policies[j];
            STR_EQ(a1->name, b1->name);
            assert_int_equal(a1->weight, b1->weight);
            STR_EQ(a1->condition, b1->condition);
            STR_EQ(a1->backend_type, b1->backend_type);
            assert_int_equal(a1->seq, b1->seq);
            same_backend(a1->backend, b1->backend);
        }
        assert_int_equal(p->n_attachments, q->n_attachments);
        for (size_t j = 0; j < p->n_attachments; j++) {
            STR_EQ(p->attachments[j].service_id, q->attachments[j].service_id);
            assert_int_equal(p->attachments[j].env, q->attachments[j].env);
            assert_int_equal(p->attachments[j].n_api_ids, q->attachments[j].n_api_ids);
            for (size_t k = 0; k < p->attachments[j].n_api_ids; k++)
                STR_EQ(p->attachments[j].api_ids[k], q->attachments[j].api_ids[k]);
        }
    }
}

static void round_trip(const char *text)
{
    sy_config *a = expect_ok(text);
    char *dump = sy_config_dump_yaml_ex(a, SY_DUMP_SECRETS);
    sy_errors e = {0};
    sy_config *b = sy_config_load_string(dump, strlen(dump), "dump", &e);
    if (!b) {
        show_errors(&e);
        print_message("%s", dump);
    }
    assert_non_null(b);
    same_config(a, b);
    /* And the dump of the reloaded model is the same text. */
    char *again = sy_config_dump_yaml_ex(b, SY_DUMP_SECRETS);
    assert_string_equal(dump, again);
    free(again);
    free(dump);
    sy_errors_free(&e);
    sy_config_free(a);
    sy_config_free(b);
}

static void test_round_trip_rich(void **state)
{
    round_trip(rich);
    sy_config *c = expect_ok(rich);
    /* Spot-check values that only survive a correct dump. */
    assert_string_equal(c->gw.admin_token, "tok\"en");
    assert_int_equal(c->gw.idle_timeout_ms, 2250);
    assert_string_equal(c->services[0].name, "weird \t name");
    assert_string_equal(c->upstreams[0].health.active_headers[0], "X-A: b: c");
    assert_int_equal(c->upstreams[0].max_conns_per_node, 7);
    assert_int_equal(c->upstreams[0].queue_timeout_ms, 250);
    sy_config_free(c);
}

static void test_round_trip_empty_and_quickstart(void **state)
{
    round_trip("");
    FILE *f = fopen("examples/quickstart.yaml", "rb");
    assert_non_null(f);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    round_trip(buf);
}

static void test_default_dump_hides_token(void **state)
{
    sy_config *a = expect_ok(rich);
    char *dump = sy_config_dump_yaml(a);
    assert_null(strstr(dump, "tok"));
    assert_non_null(strstr(dump, "# AdminToken is set (not shown)"));
    free(dump);
    sy_config_free(a);
}

/* A document dumped with SY_DUMP_KEEP_POLICIES and loaded on its own
 * configuration: the same model, with policies and backends of its own
 * (it outlives the base), and the markers mean nothing elsewhere. */
static void test_kept_policies(void **state)
{
    sy_config *a = expect_ok(rich);
    char *full = sy_config_dump_yaml_ex(a, SY_DUMP_SECRETS);
    json_t *doc = sy_config_dump_json(a, SY_DUMP_SECRETS | SY_DUMP_KEEP_POLICIES);
    json_t *pd = json_object_get(json_array_get(json_object_get(doc, "Plugins"), 0), "PluginData");
    assert_true(json_is_string(pd));
    assert_int_equal(sy_dump_kept_plugin(json_string_value(pd), json_string_length(pd)), 0);
    /* Only this process's marker, whole. */
    assert_int_equal(sy_dump_kept_plugin(json_string_value(pd), json_string_length(pd) - 1), -1);
    assert_int_equal(sy_dump_kept_plugin("(switchyard: kept policies of plugin 0, 0)", 42), -1);
    assert_int_equal(sy_dump_kept_plugin(NULL, 0), -1);

    sy_errors e = {0};
    sy_config *b = sy_config_load_json_on(doc, "<t>", a, &e);
    if (!b)
        show_errors(&e);
    assert_non_null(b);
    same_config(a, b);
    const sy_policy_cfg *pa = &a->plugins[0].policies[0], *pb = &b->plugins[0].policies[0];
    assert_ptr_not_equal(pa->name, pb->name);
    assert_ptr_not_equal(pa->backend, pb->backend);
    assert_true(pb->backend->upstream == NULL ||
                (pb->backend->upstream >= b->upstreams &&
                 pb->backend->upstream < b->upstreams + b->n_upstreams));
    sy_config_free(a); /* b owns what it holds */
    char *again = sy_config_dump_yaml_ex(b, SY_DUMP_SECRETS);
    assert_string_equal(full, again);
    free(again);
    free(full);
    sy_config_free(b);

    /* Without its base the marker is a PluginData string that is no JSON. */
    sy_config *c = sy_config_load_json(doc, "<t>", &e);
    assert_null(c);
    assert_true(e.n > 0 && strstr(e.msgs[0], "PluginData"));
    sy_errors_free(&e);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_rich),
        cmocka_unit_test(test_round_trip_empty_and_quickstart),
        cmocka_unit_test(test_default_dump_hides_token),
        cmocka_unit_test(test_kept_policies),
    };
    return cmocka_run_group_tests_name("config_dump", tests, NULL, NULL);
}
