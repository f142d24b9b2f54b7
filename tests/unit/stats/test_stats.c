/* Request counters: per-API and per-policy series by status class, summed
 * over workers, surviving a reload by name, exact under concurrent
 * increments and scrapes; and their Prometheus rendering. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "admin/admin_int.h"
#include "stats/stats.h"
#include "config/load.h"
#include "gen/snapshot.h"
#include "http/conn.h"

/* The access-log hook's call, from a request record. */
static void count(int worker, const sy_request *r)
{
    if (r) {
        sy_stats_obs o = {.status = r->status,
                          .duration_us = r->start_us,
                          .bytes_in = r->body_bytes,
                          .bytes_out = r->bytes_sent,
                          .upstream = r->upstream};
        sy_stats_on_request(worker, r->snap, &r->route, &o);
    } else {
        sy_stats_on_request(worker, NULL, NULL, NULL);
    }
}

static const char *CFG =
    "Services:\n"
    "  - ServiceId: shop\n"
    "    Environments: [release]\n"
    "    Apis:\n"
    "      - {ApiId: api-a, Path: /a, Method: ANY, ServiceType: MOCK, ServiceMockReturnMessage: "
    "a}\n"
    "      - {ApiId: api-b, Path: /b, Method: ANY, ServiceType: MOCK, ServiceMockReturnMessage: "
    "b}\n"
    "Plugins:\n"
    "  - PluginId: plug\n"
    "    PluginType: Routing\n"
    "    PluginData:\n"
    "      - strategy_name: %s\n"
    "        strategy_weight: 50\n"
    "        condition: \"header.X = '1'\"\n"
    "        backend_type: MOCK\n"
    "        backend_config: {ServiceType: MOCK, ServiceMockReturnMessage: m}\n"
    "      - strategy_name: second\n"
    "        strategy_weight: 40\n"
    "        condition: \"header.X = '2'\"\n"
    "        backend_type: MOCK\n"
    "        backend_config: {ServiceType: MOCK, ServiceMockReturnMessage: m}\n"
    "    Attachments:\n"
    "      - {ServiceId: shop, EnvironmentName: release, ApiIds: [api-a]}\n";

static sy_snapshot *snap_with(const char *first_policy)
{
    char text[4096];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(text, sizeof(text), CFG, first_policy);
#pragma GCC diagnostic pop
    sy_errors e = {0};
    sy_config *cfg = sy_config_load_string(text, strlen(text), "t.yaml", &e);
    sy_snapshot *s = cfg ? sy_snapshot_build(cfg, 4, &e) : NULL;
    for (size_t i = 0; i < e.n; i++)
        print_message("config: %s\n", e.msgs[i]);
    sy_errors_free(&e);
    assert_non_null(s);
    return s;
}

/* A finished request on `s`: API index api (-1 = no service), policy k
 * of the plugin (-1 = API default). */
static sy_request req(sy_snapshot *s, int api, int policy, int status)
{
    sy_request r;
    memset(&r, 0, sizeof(r));
    r.snap = s;
    r.status = status;
    if (api < 0)
        return r; /* rejected before routing: route all zero */
    r.route.service = &s->cfg->services[0];
    r.route.env = sy_env_index("release", 7);
    r.route.api = &s->cfg->services[0].apis[api];
    r.route.api_index = (size_t)api;
    if (policy >= 0) {
        r.route.plugin = &s->cfg->plugins[0];
        r.route.policy = &s->cfg->plugins[0].policies[policy];
    }
    return r;
}

typedef struct found {
    enum sy_stats_kind kind;
    const char *l0, *l1, *l2;
    sy_stats_series s;
    int hits;
} found;

static void find_cb(void *ud, const sy_stats_series *s)
{
    found *f = ud;
    if (s->kind == f->kind && !strcmp(s->labels[0], f->l0) && !strcmp(s->labels[1], f->l1) &&
        !strcmp(s->labels[2], f->l2)) {
        f->s = *s;
        f->hits++;
    }
}

static found lookup(enum sy_stats_kind k, const char *a, const char *b, const char *c)
{
    found f = {.kind = k, .l0 = a, .l1 = b, .l2 = c};
    sy_stats_foreach(find_cb, &f);
    return f;
}

static int setup(void **state)
{
    sy_stats_init(4);
    return 0;
}

static int teardown(void **state)
{
    sy_stats_shutdown();
    return 0;
}

static void test_api_and_policy_counts(void **state)
{
    sy_snapshot *s = snap_with("first");
    sy_request r;
    r = req(s, 0, -1, 200);
    count(0, &r);
    r = req(s, 0, -1, 204);
    count(1, &r);
    r = req(s, 0, 0, 502);
    count(2, &r);
    r = req(s, 0, 0, 200);
    count(3, &r);
    r = req(s, 0, 1, 404);
    count(0, &r);
    r = req(s, 1, -1, 301);
    count(0, &r);
    r = req(s, -1, -1, 400);
    count(1, &r);
    r = req(s, -1, -1, 0);
    count(1, &r);
    /* Ignored: worker out of range, no request, no snapshot. */
    r = req(s, 0, -1, 200);
    count(4, &r);
    count(-1, &r);
    count(0, NULL);
    r.snap = NULL;
    count(0, &r);

    found a = lookup(SY_STATS_API, "shop", "release", "api-a");
    assert_int_equal(a.hits, 1);
    assert_int_equal(a.s.by_class[2], 3);
    assert_int_equal(a.s.by_class[4], 1);
    assert_int_equal(a.s.by_class[5], 1);
    found b = lookup(SY_STATS_API, "shop", "release", "api-b");
    assert_int_equal(b.s.by_class[3], 1);
    found none = lookup(SY_STATS_API, "", "", "");
    assert_int_equal(none.s.by_class[4], 1);
    assert_int_equal(none.s.by_class[0], 1);
    found p1 = lookup(SY_STATS_POLICY, "plug", "first", "");
    assert_int_equal(p1.s.matched, 2);
    assert_int_equal(p1.s.by_class[2], 1);
    assert_int_equal(p1.s.by_class[5], 1);
    found p2 = lookup(SY_STATS_POLICY, "plug", "second", "");
    assert_int_equal(p2.s.matched, 1);
    assert_int_equal(p2.s.by_class[4], 1);
    sy_snapshot_unref(s);
}

static void test_survives_reload_by_name(void **state)
{
    sy_snapshot *s1 = snap_with("first");
    sy_snapshot *s2 = snap_with("renamed");
    assert_true(s2->generation != s1->generation);
    uint64_t before = lookup(SY_STATS_POLICY, "plug", "second", "").s.matched;
    uint64_t before_a = lookup(SY_STATS_API, "shop", "release", "api-a").s.by_class[2];
    sy_request r;
    r = req(s1, 0, 1, 200);
    count(0, &r);
    r = req(s2, 0, 1, 200);
    count(0, &r); /* same name "second" */
    r = req(s1, 0, 1, 200);
    count(0, &r); /* old generation finishing */
    r = req(s2, 0, 0, 200);
    count(0, &r);
    found p2 = lookup(SY_STATS_POLICY, "plug", "second", "");
    assert_int_equal(p2.hits, 1);
    assert_int_equal(p2.s.matched, before + 3);
    found ren = lookup(SY_STATS_POLICY, "plug", "renamed", "");
    assert_int_equal(ren.s.matched, 1);
    found a = lookup(SY_STATS_API, "shop", "release", "api-a");
    assert_int_equal(a.hits, 1);
    assert_int_equal(a.s.by_class[2], before_a + 4);
    sy_snapshot_unref(s1);
    sy_snapshot_unref(s2);
}

#define PER_THREAD 200000

typedef struct targ {
    int worker;
    sy_snapshot *s;
} targ;

static void *hammer(void *p)
{
    targ *t = p;
    sy_request r = req(t->s, 1, 0, 200);
    for (int i = 0; i < PER_THREAD; i++)
        count(t->worker, &r);
    return NULL;
}

static void test_concurrent_exact(void **state)
{
    sy_snapshot *s = snap_with("hot");
    pthread_t th[4];
    targ args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (targ){i, s};
        pthread_create(&th[i], NULL, hammer, &args[i]);
    }
    /* Scrapes while the workers count never see a decreasing total. */
    uint64_t last = 0;
    for (int k = 0; k < 200; k++) {
        found f = lookup(SY_STATS_POLICY, "plug", "hot", "");
        assert_true(f.s.matched >= last);
        last = f.s.matched;
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    found f = lookup(SY_STATS_POLICY, "plug", "hot", "");
    assert_int_equal(f.s.matched, 4 * PER_THREAD);
    assert_int_equal(f.s.by_class[2], 4 * PER_THREAD);
    sy_snapshot_unref(s);
}

/* Durations land in the bucket whose bound is the first >= them; sum,
 * count, bytes and the upstream series add up; gauges sum over workers. */
static void test_histogram_bytes_upstream(void **state)
{
    sy_snapshot *s = snap_with("hist");
    sy_upstream_cfg up = {.id = (char *)"not-in-cfg"};
    /* api-b under another environment: a series no other test counts. */
    sy_request r = req(s, 1, -1, 200);
    r.route.env = sy_env_index("test", 4);
    uint64_t durs[] = {50, 100, 101, 999, 1000, 20000000};
    for (size_t i = 0; i < sizeof durs / sizeof durs[0]; i++) {
        r.start_us = durs[i]; /* count() passes start_us as the duration */
        r.body_bytes = 10;
        r.bytes_sent = 100;
        count((int)(i % 4), &r);
    }
    r.upstream = &up; /* not an upstream of s->cfg: no upstream series */
    r.start_us = 1;
    count(0, &r);
    found b = lookup(SY_STATS_API, "shop", "test", "api-b");
    assert_int_equal(b.hits, 1);
    assert_int_equal(b.s.count, 7);
    assert_int_equal(b.s.bucket[0], 3);                /* 50, 100, 1 <= 100 us */
    assert_int_equal(b.s.bucket[1], 1);                /* 101 */
    assert_int_equal(b.s.bucket[3], 2);                /* 999, 1000 <= 1 ms */
    assert_int_equal(b.s.bucket[SY_STATS_BUCKETS], 1); /* 20 s: +Inf */
    assert_int_equal(b.s.sum_us, 50 + 100 + 101 + 999 + 1000 + 20000000 + 1);
    assert_int_equal(b.s.bytes_in, 70);
    assert_int_equal(b.s.bytes_out, 700);
    assert_int_equal(lookup(SY_STATS_UPSTREAM, "not-in-cfg", "", "").hits, 0);
    sy_stats_gauge_add(0, SY_GAUGE_CLIENT_CONNS, 2);
    sy_stats_gauge_add(3, SY_GAUGE_CLIENT_CONNS, 1);
    sy_stats_gauge_add(9, SY_GAUGE_CLIENT_CONNS, 5); /* out of range: ignored */
    assert_int_equal(sy_stats_gauge(SY_GAUGE_CLIENT_CONNS), 3);
    sy_stats_gauge_add(0, SY_GAUGE_CLIENT_CONNS, -2);
    sy_stats_gauge_add(3, SY_GAUGE_CLIENT_CONNS, -1);
    assert_int_equal(sy_stats_gauge(SY_GAUGE_CLIENT_CONNS), 0);
    sy_snapshot_unref(s);
}

static void test_reloads(void **state)
{
    uint64_t ok = sy_stats_reloads(true), bad = sy_stats_reloads(false);
    sy_stats_on_reload(true);
    sy_stats_on_reload(false);
    sy_stats_on_reload(true);
    assert_int_equal(sy_stats_reloads(true), ok + 2);
    assert_int_equal(sy_stats_reloads(false), bad + 1);
}

static void test_metrics_text(void **state)
{
    sy_snapshot *s = snap_with("esc");
    /* Names the loader would refuse, to exercise label escaping. */
    s->cfg->plugins[0].policies[0].name = (char *)"we\"ird\\name\n";
    sy_request r = req(s, 0, 0, 200);
    count(0, &r);
    count(1, &r);
    sy_buf out = {0};
    sy_admin_metrics(s, &out);
    sy_buf_append(&out, "", 1);
    const char *t = out.data;
    assert_non_null(strstr(t, "# TYPE switchyard_requests_total counter\n"));
    assert_non_null(strstr(t, "# HELP switchyard_policy_matches_total "));
    assert_non_null(strstr(t, "# TYPE switchyard_config_generation gauge\n"));
    assert_non_null(strstr(
        t, "switchyard_policy_matches_total{plugin=\"plug\",policy=\"we\\\"ird\\\\name\\n\"} 2\n"));
    assert_non_null(strstr(t, "switchyard_policy_requests_total{plugin=\"plug\",policy="
                              "\"we\\\"ird\\\\name\\n\",code_class=\"2xx\"} 2\n"));
    char gen[64];
    snprintf(gen, sizeof(gen), "switchyard_config_generation %llu\n",
             (unsigned long long)s->generation);
    assert_non_null(strstr(t, gen));
    sy_buf_free(&out);
    sy_snapshot_unref(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_and_policy_counts),
        cmocka_unit_test(test_survives_reload_by_name),
        cmocka_unit_test(test_concurrent_exact),
        cmocka_unit_test(test_histogram_bytes_upstream),
        cmocka_unit_test(test_reloads),
        cmocka_unit_test(test_metrics_text),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
