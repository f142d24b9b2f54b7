/* Streamed loading (config/load.c, yaml_tree.c): when Upstreams comes
 * before Plugins, PluginData items are loaded as the YAML streams and their
 * trees freed at once.  The result must be exactly what loading the whole
 * tree gives (Plugins before Upstreams is never streamed): the same model,
 * the same messages in the same order; and a 100,000-policy model must stay
 * small (a bound on bytes allocated, not on time). */
#include "config_test.h"

#include "router/policy.h"

#define UPSTREAMS                                                                                  \
    "Upstreams:\n"                                                                                 \
    "  - {UpstreamId: up-a, UpstreamName: a, Scheme: HTTP, Algorithm: ROUND-ROBIN,\n"              \
    "     Nodes: [{Host: 127.0.0.1, Port: 18081, Weight: 10}]}\n"                                  \
    "  - {UpstreamId: up-b, UpstreamName: b, Scheme: HTTP, Algorithm: ROUND-ROBIN,\n"              \
    "     Nodes: [{Host: 127.0.0.1, Port: 18082, Weight: 10}]}\n"
#define SERVICES                                                                                   \
    "Services:\n"                                                                                  \
    "  - ServiceId: svc\n"                                                                         \
    "    ServiceName: s\n"                                                                         \
    "    Environments: [release]\n"                                                                \
    "    Apis:\n"                                                                                  \
    "      - {ApiId: api, ApiName: r, Path: /, Method: ANY, ServiceType: HTTP,\n"                  \
    "         ServiceConfig: {Product: upstream, UpstreamId: up-a}}\n"

static const char *const plugins_ok =
    "Plugins:\n"
    "  - PluginId: p1\n"
    "    PluginType: Routing\n"
    "    PluginData:\n"
    "      - {strategy_name: one, strategy_weight: 40, condition: \"header.T = '1'\",\n"
    "         backend_type: UPSTREAM, backend_config: {ServiceConfig: {Product: upstream, "
    "UpstreamId: up-b}}}\n"
    "      - strategy_name: two\n"
    "        condition: \"query.q in ('a', 'b')\"\n"
    "        backend_type: MOCK\n"
    "        backend_config: {ServiceMockReturnMessage: hi}\n"
    "      - {strategy_name: three, condition: \"header.T = '3'\", backend_type: UPSTREAM,\n"
    "         backend_config: {ServiceConfig: {Product: upstream, UpstreamId: up-b}}}\n"
    "    Attachments: [{ServiceId: svc, EnvironmentName: release, ApiIds: [api]}]\n"
    "  - PluginId: p2\n"
    "    PluginType: Routing\n"
    "    PluginData: []\n";

/* Policies with problems of every kind the policy loader reports, an
 * unknown top-level key after Plugins, and a Gateway problem. */
static const char *const plugins_bad =
    "Plugins:\n"
    "  - PluginId: p1\n"
    "    PluginType: Routing\n"
    "    PluginData:\n"
    "      - {strategy_name: dup, condition: \"header.T = '1'\", backend_type: UPSTREAM,\n"
    "         backend_config: {ServiceConfig: {Product: upstream, UpstreamId: nope}}}\n"
    "      - {strategy_name: dup, strategy_weight: 300, condition: \"\", backend_type: SCF,\n"
    "         backend_config: {}}\n"
    "      - [not, a, map]\n"
    "  - PluginId: p2\n"
    "    PluginType: Auth\n"
    "    PluginData:\n"
    "      - {strategy_name: x, condition: \"(\", backend_type: MOCK, backend_config: {}}\n";

static char *cat(const char *a, const char *b, const char *c, const char *d)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + strlen(d) + 1;
    char *s = malloc(n);
    snprintf(s, n, "%s%s%s%s", a, b, c, d);
    return s;
}

/* A message without its positions: the "FILE:LINE:COL: " prefix and a
 * " (first at L:C)" suffix (they differ between the two orders of the same
 * document). */
static const char *unplaced(const char *m)
{
    static char buf[4][512];
    static int k;
    for (int colons = 0; *m && colons < 3; m++)
        if (*m == ':')
            colons++;
    if (*m == ' ')
        m++;
    char *b = buf[k++ % 4];
    snprintf(b, sizeof buf[0], "%s", m);
    char *first = strstr(b, " (first at ");
    if (first)
        *first = '\0';
    return b;
}

static void test_same_model(void **state)
{
    char *streamed = cat("Gateway: {Workers: 1}\n", UPSTREAMS SERVICES, plugins_ok, "");
    char *whole = cat("Gateway: {Workers: 1}\n", plugins_ok, UPSTREAMS SERVICES, "");
    sy_config *a = expect_ok(streamed), *b = expect_ok(whole);
    assert_int_equal(a->n_plugins, 2);
    assert_int_equal(a->plugins[0].n_policies, 3);
    assert_int_equal(a->plugins[1].n_policies, 0);
    for (size_t i = 0; i < 3; i++) {
        const sy_policy_cfg *x = &a->plugins[0].policies[i], *y = &b->plugins[0].policies[i];
        assert_string_equal(x->name, y->name);
        assert_string_equal(x->condition, y->condition);
        assert_string_equal(x->backend_type, y->backend_type);
        assert_int_equal(x->weight, y->weight);
        assert_int_equal(x->seq, y->seq);
        assert_int_equal(x->backend->type, y->backend->type);
        assert_string_equal(x->backend->path, y->backend->path);
        assert_int_equal(x->backend->upstream != NULL, y->backend->upstream != NULL);
    }
    /* Positions are the file's (first policy at line 14 of `streamed`). */
    assert_int_equal(a->plugins[0].policies[0].mark.line, 18);
    assert_int_equal(a->plugins[0].policies[1].cond_mark.line, 21);
    assert_int_equal(a->plugins[0].policies[1].cond_mark.col, 21);
    /* Equal backends are one record; the upstream is resolved. */
    assert_ptr_equal(a->plugins[0].policies[0].backend, a->plugins[0].policies[2].backend);
    assert_ptr_equal(a->plugins[0].policies[0].backend->upstream, &a->upstreams[1]);
    assert_int_equal(a->plugins[0].n_attachments, 1);
    sy_config_free(a);
    sy_config_free(b);
    free(streamed);
    free(whole);
}

static void test_same_errors(void **state)
{
    char *streamed = cat("Gateway: {Workers: -1}\n", UPSTREAMS SERVICES, plugins_bad, "Bogus: 1\n");
    char *whole = cat("Gateway: {Workers: -1}\n", plugins_bad, UPSTREAMS SERVICES, "Bogus: 1\n");
    sy_errors ea = {0}, eb = {0};
    assert_null(load_text(streamed, &ea));
    assert_null(load_text(whole, &eb));
    show_errors(&ea);
    assert_true(ea.n >= 6);
    assert_int_equal(ea.n, eb.n);
    for (size_t i = 0; i < ea.n; i++)
        assert_string_equal(unplaced(ea.msgs[i]), unplaced(eb.msgs[i]));
    /* The unknown key is reported first, as in a whole-tree load. */
    assert_string_equal(unplaced(ea.msgs[0]), "Bogus: unknown key");
    assert_true(has_error(&ea, "t.yaml:20:25: Plugins[0].PluginData[1].strategy_name: "
                               "duplicate strategy_name \"dup\" (first at 18:9)"));
    sy_errors_free(&ea);
    sy_errors_free(&eb);
    free(streamed);
    free(whole);
}

static void test_syntax_error_stands_alone(void **state)
{
    /* Gateway is wrong, but the broken YAML after Plugins is all that is
     * reported (as when nothing streams). */
    char *text = cat("Gateway: {Workers: -1}\n", UPSTREAMS, plugins_ok, "  - [unclosed\n");
    sy_errors e = {0};
    assert_null(load_text(text, &e));
    show_errors(&e);
    assert_int_equal(e.n, 1);
    assert_non_null(strstr(e.msgs[0], "YAML syntax error"));
    sy_errors_free(&e);
    free(text);
}

/* 100,000 tenant policies: the model and the compiled table are bounded
 * by what they allocate (deterministic, unlike RSS). */
static void test_100k_policies_small(void **state)
{
    size_t n = 100000, cap = n * 256 + 4096, len = 0;
    char *text = malloc(cap);
    len +=
        (size_t)snprintf(text + len, cap - len, "%s%s", UPSTREAMS SERVICES,
                         "Plugins:\n  - PluginId: t\n    PluginType: Routing\n    PluginData:\n");
    for (size_t i = 1; i <= n; i++)
        len +=
            (size_t)snprintf(text + len, cap - len,
                             "      - {strategy_name: t%05zu, strategy_weight: 50, "
                             "condition: \"header.X-Tenant = 't%05zu'\", backend_type: UPSTREAM, "
                             "backend_config: {ServiceType: HTTP, ServiceConfig: {Product: "
                             "upstream, UpstreamId: %s, Path: /, Method: ANY}}}\n",
                             i, i, i % 2 ? "up-b" : "up-a");
    sy_errors e = {0};
    sy_config *cfg = sy_config_load_string(text, len, "t.yaml", &e);
    free(text);
    show_errors(&e);
    assert_non_null(cfg);
    assert_int_equal(cfg->plugins[0].n_policies, n);
    /* 56-byte records, names and conditions packed: ~10 MB. */
    print_message("model: %zu bytes for %zu policies\n", cfg->arena.total, n);
    assert_true(cfg->arena.total < 12u * 1024 * 1024);
    assert_ptr_equal(cfg->plugins[0].policies[0].backend, cfg->plugins[0].policies[2].backend);

    sy_arena a;
    sy_arena_init(&a, 65536);
    sy_policy_table *t = sy_policy_table_build(&a, &cfg->plugins[0], "t.yaml", &e);
    assert_non_null(t);
    assert_int_equal(sy_policy_table_indexed(t), n);
    print_message("table: %zu bytes\n", a.total);
    /* 24-byte policies and 16-byte index slots, no compiled trees: ~7 MB. */
    assert_true(a.total < 9u * 1024 * 1024);
    sy_policy_table_free(t);
    sy_arena_free(&a);
    sy_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_model),
        cmocka_unit_test(test_same_errors),
        cmocka_unit_test(test_syntax_error_stands_alone),
        cmocka_unit_test(test_100k_policies_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
