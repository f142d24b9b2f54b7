/* Random() and hash(): distributions, forcing, determinism. */
#include <pthread.h>
#include <stdlib.h>

#include "router/expr_fixture.h"

static sy_expr *compile(sy_arena *a, const char *src)
{
    char err[200];
    int col;
    sy_expr *e = sy_expr_compile(a, src, err, sizeof(err), &col);
    if (!e)
        fail_msg("%s: column %d: %s", src, col, err);
    return e;
}

static void test_random_forced(void **state)
{
    fx f;
    fx_init(&f);
    sy_arena a;
    sy_arena_init(&a, 4096);
    sy_expr *e = compile(&a, "Random() < 0.3");
    double r = 0.29999;
    f.rv.force_random = &r;
    assert_true(sy_expr_eval(e, &f.rv));
    r = 0.3;
    assert_false(sy_expr_eval(e, &f.rv));
    r = 0.0;
    assert_true(sy_expr_eval(e, &f.rv));
    sy_arena_free(&a);
    fx_done(&f);
}

static void test_random_distribution(void **state)
{
    fx f;
    fx_init(&f);
    sy_arena a;
    sy_arena_init(&a, 4096);
    sy_expr *e = compile(&a, "Random() < 0.3");
    sy_expr *range = compile(&a, "Random() >= 0 and Random() < 1");
    int hits = 0, n = 20000;
    for (int i = 0; i < n; i++) {
        hits += sy_expr_eval(e, &f.rv);
        assert_true(sy_expr_eval(range, &f.rv));
    }
    double p = (double)hits / n;
    printf("Random() < 0.3: %.4f over %d draws\n", p, n);
    assert_true(p > 0.27 && p < 0.33);
    /* each evaluation draws afresh: two Random() in one condition differ */
    sy_expr *two = compile(&a, "Random() < 0.5 and Random() >= 0.5");
    hits = 0;
    for (int i = 0; i < n; i++)
        hits += sy_expr_eval(two, &f.rv);
    assert_true(hits > n / 5 && hits < n / 3);
    sy_arena_free(&a);
    fx_done(&f);
}

static void *thread_draws(void *arg)
{
    sy_expr *e = arg;
    fx f;
    fx_init(&f);
    long hits = 0;
    for (int i = 0; i < 20000; i++)
        hits += sy_expr_eval(e, &f.rv);
    fx_done(&f);
    return (void *)hits;
}

static void test_random_threads(void **state)
{
    sy_arena a;
    sy_arena_init(&a, 4096);
    sy_expr *e = compile(&a, "Random() < 0.3 or regex(header.nope, 'x')");
    sy_expr *re = compile(&a, "Random() < 0.3 and regex(sysparam.host, 'example')");
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, thread_draws, i % 2 ? re : e);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        double p = (double)(long)r / 20000;
        assert_true(p > 0.27 && p < 0.33);
    }
    sy_expr_free(e);
    sy_expr_free(re);
    sy_arena_free(&a);
}

static void test_hash_known_values(void **state)
{
    /* XXH3-64 is specified bit for bit: these buckets are the same on
     * every machine and release.  "user-42" -> 0x50fe4b21cf7b09cd. */
    fx f;
    fx_init(&f);
    fx_header(&f, "u", "user-42");
    fx_header(&f, "e", "");
    fx_header(&f, "t", "acme");
    assert_true(fx_eval(&f, "hash(header.u) > 0.3163802 and hash(header.u) < 0.3163803"));
    assert_true(fx_eval(&f, "hash(header.e) > 0.1758804 and hash(header.e) < 0.1758805"));
    assert_true(fx_eval(&f, "hash(header.t) > 0.2682738 and hash(header.t) < 0.2682739"));
    fx_done(&f);
}

static void test_hash_distribution(void **state)
{
    fx f;
    fx_init(&f);
    sy_arena a;
    sy_arena_init(&a, 4096);
    sy_expr *e = compile(&a, "hash(query.user) < 0.05");
    int hits = 0, n = 20000;
    char q[64];
    for (int i = 0; i < n; i++) {
        snprintf(q, sizeof(q), "user=u%d", i);
        fx_query(&f, q);
        bool r = sy_expr_eval(e, &f.rv);
        assert_int_equal(r, sy_expr_eval(e, &f.rv)); /* same user, same answer */
        hits += r;
    }
    double p = (double)hits / n;
    printf("hash() < 0.05: %.4f over %d users\n", p, n);
    assert_true(p > 0.04 && p < 0.06);
    sy_arena_free(&a);
    fx_done(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_forced),     cmocka_unit_test(test_random_distribution),
        cmocka_unit_test(test_random_threads),    cmocka_unit_test(test_hash_known_values),
        cmocka_unit_test(test_hash_distribution),
    };
    return cmocka_run_group_tests_name("router/expr_random", tests, NULL, NULL);
}
