/* The policy index: indexed matching must pick exactly the policy a
 * policy-by-policy scan picks, and 100,000 tenant policies must build fast
 * and match as fast as one. */
#include <stdlib.h>
#include <time.h>

#include "router/policy_fixture.h"

static uint64_t rng = 42;

static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Policy by policy, each condition compiled afresh (indexed policies keep
 * no compiled tree). */
static const sy_policy *brute(const sy_policy_table *t, const sy_req_view *rv)
{
    const sy_policy *win = NULL;
    sy_arena a;
    sy_arena_init(&a, 4096);
    for (size_t i = 0; i < sy_policy_table_count(t) && !win; i++) {
        const sy_policy *p = sy_policy_table_at(t, i);
        char err[256];
        int col;
        sy_expr *e = sy_expr_compile(&a, p->cfg->condition, err, sizeof(err), &col);
        assert_non_null(e);
        if (sy_expr_eval(e, rv))
            win = p;
        sy_expr_free(e);
        sy_arena_reset(&a);
    }
    sy_arena_free(&a);
    return win;
}

/* Operands that collide in interesting ways (header names differ only in
 * case; the same name as query, cookie and header) and constants that
 * collide numerically ('007', 7, 7.0, -0, 0). */
static const char *const params[] = {"header.t", "header.T", "query.t", "cookie.t", "path"};
static const char *const consts[] = {"'a'", "'b'", "'7'",   "'007'", "7",   "7.0",
                                     "-0",  "0",   "'x y'", "'/p'",  "1e0", "'1'"};
static const char *const values[] = {"a",   "b",  "7", "007", "7.0", "0",  "-0",
                                     "x y", "/p", "1", "c",   "+7",  "0.0"};

static const char *P(void)
{
    return params[rnd(5)];
}
static const char *C(void)
{
    return consts[rnd(12)];
}

static char *gen_cond(char *buf, size_t n)
{
    switch (rnd(14)) {
    case 0:
        snprintf(buf, n, "%s = %s", P(), C());
        break;
    case 1:
        snprintf(buf, n, "%s == %s", C(), P());
        break;
    case 2:
        snprintf(buf, n, "%s in (%s, %s, %s)", P(), C(), C(), C());
        break;
    case 3:
        snprintf(buf, n, "%s = %s or %s in (%s)", P(), C(), P(), C());
        break;
    case 4:
        snprintf(buf, n, "(%s = %s)", P(), C());
        break;
    case 5:
        snprintf(buf, n, "%s != %s", P(), C());
        break;
    case 6:
        snprintf(buf, n, "%s < %s", P(), C());
        break;
    case 7:
        snprintf(buf, n, "%s not in (%s, %s)", P(), C(), C());
        break;
    case 8:
        snprintf(buf, n, "exists(%s)", P());
        break;
    case 9:
        snprintf(buf, n, "%s = %s and %s = %s", P(), C(), P(), C());
        break;
    case 10:
        snprintf(buf, n, "(%s = %s or %s = %s) or %s = %s", P(), C(), P(), C(), P(), C());
        break;
    case 11:
        snprintf(buf, n, "%s in (%s, true)", P(), C());
        break;
    case 12:
        snprintf(buf, n, "%s", rnd(2) ? "false" : "true and false");
        break;
    default:
        snprintf(buf, n, "%s = %s or %s = %s", P(), C(), P(), C());
        break;
    }
    return buf;
}

static void test_index_matches_brute_force(void **state)
{
    char conds[40][160];
    size_t checked = 0, nonnull = 0;
    for (int round = 0; round < 400; round++) {
        pfx x;
        pfx_init(&x, "rand");
        int n = 1 + (int)rnd(40);
        for (int i = 0; i < n; i++)
            pfx_add(&x, "p", (int)rnd(4), gen_cond(conds[i], sizeof(conds[i])));
        sy_arena a;
        sy_arena_init(&a, 16384);
        sy_errors errs = {0};
        sy_policy_table *t = sy_policy_table_build(&a, &x.p, "r.yaml", &errs);
        if (!t)
            fail_msg("%s", errs.msgs[0]);
        for (int q = 0; q < 60; q++) {
            fx f;
            fx_init(&f);
            char qs[64], ck[64];
            if (rnd(3)) {
                const char *v = values[rnd(13)];
                fx_header(&f, rnd(2) ? "t" : "T", v);
            }
            if (rnd(3)) {
                const char *v = values[rnd(13)];
                snprintf(qs, sizeof(qs), "%st=%s", rnd(2) ? "u=1&" : "",
                         strcmp(v, "x y") == 0 ? "x+y" : v);
                fx_query(&f, qs);
            }
            if (rnd(3)) {
                snprintf(ck, sizeof(ck), "t=%s", values[rnd(13)]);
                fx_header(&f, "Cookie", ck);
            }
            f.rv.path = sy_str_c(values[rnd(13)]);
            const sy_policy *want = brute(t, &f.rv);
            const sy_policy *got = sy_policy_table_find(t, &f.rv);
            if (want != got) {
                for (size_t i = 0; i < sy_policy_table_count(t); i++)
                    print_error("%zu: %s\n", i, sy_policy_table_at(t, i)->cfg->condition);
                fail_msg("round %d: brute %d, indexed %d", round, want ? (int)want->order : -1,
                         got ? (int)got->order : -1);
            }
            checked++;
            nonnull += want != NULL;
            fx_done(&f);
        }
        sy_policy_table_free(t);
        sy_arena_free(&a);
    }
    printf("index vs brute force: %zu requests agree (%zu matched a policy)\n", checked, nonnull);
}

static void test_index_used(void **state)
{
    pfx x;
    pfx_init(&x, "p");
    pfx_add(&x, "a", 0, "header.t = 'a'");
    pfx_add(&x, "b", 0, "header.t in ('b', 7)");
    pfx_add(&x, "c", 0, "header.t = 'c' or query.t = 'c'");
    pfx_add(&x, "d", 0, "header.t != 'a'");
    sy_arena a;
    sy_arena_init(&a, 4096);
    sy_errors errs = {0};
    sy_policy_table *t = sy_policy_table_build(&a, &x.p, "f", &errs);
    assert_non_null(t);
    assert_int_equal(sy_policy_table_indexed(t), 3);
    fx f;
    fx_init(&f);
    fx_header(&f, "T", "007");
    /* numeric: '007' = 7 picks b, though d (unindexed, first) holds too */
    assert_string_equal(sy_policy_table_match(t, &f.rv)->name, "d");
    f.h[0].value = sy_str_c("a");
    assert_string_equal(sy_policy_table_match(t, &f.rv)->name, "a");
    f.rv.n_headers = 0;
    fx_query(&f, "t=c");
    assert_string_equal(sy_policy_table_match(t, &f.rv)->name, "c");
    fx_done(&f);
    sy_policy_table_free(t);
    sy_arena_free(&a);
}

static double time_matches(const sy_policy_table *t, fx *f, int n, const sy_policy_cfg **last)
{
    double t0 = now();
    for (int i = 0; i < n; i++)
        *last = sy_policy_table_match(t, &f->rv);
    return (now() - t0) / n * 1e9;
}

static void test_100k_policies(void **state)
{
    enum { N = 100000 };
    sy_plugin_cfg p = {.id = (char *)"tenants", .type = (char *)"Routing"};
    p.policies = calloc(N + 4, sizeof(*p.policies));
    sy_arena names;
    sy_arena_init(&names, 1 << 20);
    for (size_t i = 0; i < N; i++) {
        sy_policy_cfg *pc = &p.policies[i];
        pc->name = sy_arena_printf(&names, "tenant-%zu", i);
        pc->weight = (int)(i % 101);
        pc->seq = (unsigned)i;
        if (i % 10 == 0)
            pc->condition = sy_arena_printf(&names, "header.X-Tenant in ('t%zu', 'u%zu')", i, i);
        else if (i % 10 == 1)
            pc->condition = sy_arena_printf(&names, "header.X-Tenant = %zu", i);
        else
            pc->condition = sy_arena_printf(&names, "header.X-Tenant = 't%05zu'", i);
    }
    /* a few that must be evaluated, ranked below everything */
    p.policies[N].name = (char *)"canary";
    p.policies[N].condition = (char *)"Random() < 0 and header.X-Tenant = 't1'";
    p.policies[N + 1].name = (char *)"prefix";
    p.policies[N + 1].condition = (char *)"prefix(header.X-Tenant, 'zz')";
    p.n_policies = N + 2;

    sy_arena a;
    sy_arena_init(&a, 1 << 20);
    sy_errors errs = {0};
    double t0 = now();
    sy_policy_table *t = sy_policy_table_build(&a, &p, "big.yaml", &errs);
    double build = now() - t0;
    assert_non_null(t);
    assert_int_equal(sy_policy_table_indexed(t), N);

    fx f;
    fx_init(&f);
    fx_header(&f, "User-Agent", "bench");
    fx_header(&f, "X-Tenant", "t54325");
    const sy_policy_cfg *m = NULL;
    int reps = 200000;
    double big = time_matches(t, &f, reps, &m);
    assert_string_equal(m->name, "tenant-54325");
    f.h[1].value = sy_str_c("u12340");
    assert_string_equal(sy_policy_table_match(t, &f.rv)->name, "tenant-12340");
    f.h[1].value = sy_str_c("00012341"); /* numeric equality with 12341 */
    assert_string_equal(sy_policy_table_match(t, &f.rv)->name, "tenant-12341");
    f.h[1].value = sy_str_c("zzz");
    assert_string_equal(sy_policy_table_match(t, &f.rv)->name, "prefix");
    f.h[1].value = sy_str_c("nobody");
    double miss = time_matches(t, &f, reps, &m);
    assert_null(m);

    pfx one;
    pfx_init(&one, "one");
    pfx_add(&one, "only", 0, "header.X-Tenant = 't54325'");
    sy_policy_table *t1 = sy_policy_table_build(&a, &one.p, "one.yaml", &errs);
    f.h[1].value = sy_str_c("t54325");
    double small = time_matches(t1, &f, reps, &m);
    assert_non_null(m);
    printf("100k policies: build %.3f s; match %.0f ns (hit), %.0f ns (miss); "
           "1-policy table %.0f ns\n",
           build, big, miss, small);

    fx_done(&f);
    sy_policy_table_free(t);
    sy_policy_table_free(t1);
    sy_arena_free(&a);
    sy_arena_free(&names);
    free(p.policies);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_matches_brute_force),
        cmocka_unit_test(test_index_used),
        cmocka_unit_test(test_100k_policies),
    };
    return cmocka_run_group_tests_name("plugins/policy_index", tests, NULL, NULL);
}
