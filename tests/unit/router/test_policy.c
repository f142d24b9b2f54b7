/* The policy table: evaluation order, ties, fallback, errors, explain. */
#include "router/policy_fixture.h"

static sy_policy_table *build(sy_arena *a, pfx *x)
{
    sy_errors errs = {0};
    sy_policy_table *t = sy_policy_table_build(a, &x->p, "gw.yaml", &errs);
    for (size_t i = 0; i < errs.n; i++)
        print_error("%s\n", errs.msgs[i]);
    assert_int_equal(errs.n, 0);
    assert_non_null(t);
    sy_errors_free(&errs);
    return t;
}

static const char *winner(sy_policy_table *t, fx *f)
{
    const sy_policy_cfg *pc = sy_policy_table_match(t, &f->rv);
    return pc ? pc->name : "(default)";
}

static void test_weight_order(void **state)
{
    pfx x;
    pfx_init(&x, "plugin-1");
    pfx_add(&x, "low", 10, "header.t = 'a'");
    pfx_add(&x, "high", 90, "header.t = 'a'");
    pfx_add(&x, "mid", 50, "true");
    sy_arena a;
    sy_arena_init(&a, 4096);
    sy_policy_table *t = build(&a, &x);
    assert_int_equal(sy_policy_table_count(t), 3);
    assert_string_equal(sy_policy_table_at(t, 0)->cfg->name, "high");
    assert_string_equal(sy_policy_table_at(t, 1)->cfg->name, "mid");
    assert_string_equal(sy_policy_table_at(t, 2)->cfg->name, "low");
    assert_null(sy_policy_table_at(t, 3));
    /* stable index = PluginData position, order = evaluation position */
    assert_int_equal(sy_policy_table_at(t, 0)->index, 1);
    assert_int_equal(sy_policy_table_at(t, 0)->order, 0);
    assert_int_equal(sy_policy_table_at(t, 2)->index, 0);
    fx f;
    fx_init(&f);
    assert_string_equal(winner(t, &f), "mid");
    fx_header(&f, "t", "a");
    assert_string_equal(winner(t, &f), "high");
    assert_int_equal(sy_policy_table_find(t, &f.rv)->index, 1);
    fx_done(&f);
    sy_policy_table_free(t);
    sy_arena_free(&a);
}

static void test_ties_newer_wins(void **state)
{
    pfx x;
    pfx_init(&x, "plugin-1");
    pfx_add(&x, "first", 50, "exists(header.t)");
    pfx_add(&x, "second", 50, "header.t = 'a'");
    pfx_add(&x, "third", 50, "header.t in ('a', 'b')");
    pfx_add(&x, "zero", 0, "true");
    sy_arena a;
    sy_arena_init(&a, 4096);
    sy_policy_table *t = build(&a, &x);
    fx f;
    fx_init(&f);
    fx_header(&f, "t", "a");
    assert_string_equal(winner(t, &f), "third");
    f.h[0].value = sy_str_c("c");
    assert_string_equal(winner(t, &f), "first");
    f.h[0].value = sy_str_c("b");
    assert_string_equal(winner(t, &f), "third");
    f.rv.n_headers = 0;
    assert_string_equal(winner(t, &f), "zero");
    sy_policy_table_free(t);

    /* equal seq (a loader that did not number them): later in the list */
    x.pol[0].seq = x.pol[1].seq = x.pol[2].seq = 0;
    t = build(&a, &x);
    assert_string_equal(sy_policy_table_at(t, 0)->cfg->name, "third");
    assert_string_equal(sy_policy_table_at(t, 2)->cfg->name, "first");
    fx_done(&f);
    sy_policy_table_free(t);
    sy_arena_free(&a);
}

static void test_fallback_null(void **state)
{
    pfx x;
    pfx_init(&x, "plugin-1");
    pfx_add(&x, "canary", 80, "header.x-canary = 'yes' or Random() < 0.05");
    sy_arena a;
    sy_arena_init(&a, 4096);
    sy_policy_table *t = build(&a, &x);
    fx f;
    fx_init(&f);
    double r = 0.5;
    f.rv.force_random = &r;
    assert_null(sy_policy_table_match(t, &f.rv));
    assert_null(sy_policy_table_find(t, &f.rv));
    r = 0.01;
    assert_string_equal(winner(t, &f), "canary");
    sy_policy_table_free(t);

    pfx_init(&x, "empty");
    t = build(&a, &x);
    assert_int_equal(sy_policy_table_count(t), 0);
    assert_null(sy_policy_table_match(t, &f.rv));
    fx_done(&f);
    sy_policy_table_free(t);
    sy_arena_free(&a);
}

static void test_build_errors(void **state)
{
    pfx x;
    pfx_init(&x, "plugin-7");
    pfx_add(&x, "good", 10, "header.a = 'x'");
    pfx_add(&x, "bad", 20, "header.a = 'x' and regex(header.b, '(')");
    pfx_add(&x, "worse", 30, "foo.a = 1");
    pfx_add(&x, "nocond", 30, "true");
    x.pol[3].condition = NULL;
    sy_arena a;
    sy_arena_init(&a, 4096);
    sy_errors errs = {0};
    assert_null(sy_policy_table_build(&a, &x.p, "gw.yaml", &errs));
    assert_int_equal(errs.n, 3);
    /* condition starts at 17:18; column 36 of it is 17:53 */
    assert_string_equal(errs.msgs[0],
                        "gw.yaml:17:53: Plugins[plugin-7].PluginData[1].condition: plugin "
                        "plugin-7, policy 'bad', condition column 36: invalid regex: missing "
                        "closing parenthesis (at offset 1 of the pattern)");
    assert_non_null(strstr(errs.msgs[1], "gw.yaml:22:18: Plugins[plugin-7].PluginData[2]"));
    assert_non_null(strstr(errs.msgs[1], "policy 'worse', condition column 1: unknown "
                                         "parameter location 'foo'"));
    assert_non_null(strstr(errs.msgs[2], "policy 'nocond': no condition"));
    sy_errors_free(&errs);

    /* the _at variant takes the plugin's position */
    pfx_init(&x, "plugin-8");
    pfx_add(&x, "p", 0, "header.a =");
    assert_null(sy_policy_table_build_at(&a, &x.p, "gw.yaml", "Plugins[3]", &errs));
    assert_int_equal(errs.n, 1);
    assert_non_null(strstr(errs.msgs[0], "gw.yaml:12:28: Plugins[3].PluginData[0].condition: "
                                         "plugin plugin-8, policy 'p', condition column 11"));
    sy_errors_free(&errs);
    sy_arena_free(&a);
}

typedef struct rec {
    char text[4096];
    size_t n;
} rec;

static void record(void *ud, const sy_policy *pol, enum sy_policy_verdict v, const char *detail)
{
    rec *r = ud;
    static const char *const names[] = {"MATCHED", "NO_MATCH", "SKIPPED"};
    r->n += (size_t)snprintf(r->text + r->n, sizeof(r->text) - r->n, "[%s] %s\n%s", pol->cfg->name,
                             names[v], detail);
}

static void test_explain(void **state)
{
    pfx x;
    pfx_init(&x, "plugin-1");
    pfx_add(&x, "vip", 80, "header.UserName = 'admin' and sysparam.clientIp = '47.47.74.77'");
    pfx_add(&x, "https", 60, "sysparam.httpScheme = 'https' and header.id in (1001, 1098)");
    pfx_add(&x, "rest", 10, "true");
    sy_arena a;
    sy_arena_init(&a, 4096);
    sy_policy_table *t = build(&a, &x);
    fx f;
    fx_init(&f);
    fx_header(&f, "UserName", "bob");
    fx_header(&f, "id", "1098");
    rec r = {.n = 0};
    const sy_policy *w = sy_policy_table_explain(t, &f.rv, record, &r);
    assert_non_null(w);
    assert_string_equal(w->cfg->name, "https");
    assert_ptr_equal(w, sy_policy_table_find(t, &f.rv));
    assert_string_equal(r.text, "[vip] NO_MATCH\n"
                                "header.UserName = 'admin' -> false (value: 'bob')\n"
                                "[https] MATCHED\n"
                                "sysparam.httpScheme = 'https' -> true (value: 'https')\n"
                                "header.id in (1001, 1098) -> true (value: '1098')\n"
                                "[rest] SKIPPED\n");
    fx_done(&f);
    sy_policy_table_free(t);
    sy_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weight_order),  cmocka_unit_test(test_ties_newer_wins),
        cmocka_unit_test(test_fallback_null), cmocka_unit_test(test_build_errors),
        cmocka_unit_test(test_explain),
    };
    return cmocka_run_group_tests_name("plugins/policy", tests, NULL, NULL);
}
