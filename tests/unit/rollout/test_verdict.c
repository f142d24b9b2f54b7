/* The verdict of one analysis window (src/rollout/verdict.c), the
 * histogram quantile it reads p99 from, and the Rollouts section's loader:
 * defaults, the share a phase gives, and Status read back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config/load.h"
#include "config/rollout.h"
#include "rollout/rollout.h"

static sy_rollout_cfg spec(void)
{
    sy_rollout_cfg ro = {0};
    ro.steps[0] = 5;
    ro.steps[1] = 100;
    ro.n_steps = 2;
    ro.min_requests = 100;
    ro.max_error_rate = 0.02;
    ro.max_error_rate_increase = 0.01;
    ro.max_p99_ratio = 1.5;
    ro.failure_limit = 1;
    return ro;
}

/* n requests, e errors, all of latency ms. */
static sy_ro_counts arm(uint64_t n, uint64_t e, double ms)
{
    sy_ro_counts c = {0};
    c.requests = n;
    c.errors = e;
    int b = 0;
    while (b < SY_RO_HIST - 1 && ms > sy_ro_hist_le_ms[b])
        b++;
    c.hist[b] = n;
    return c;
}

static void test_pass(void **st)
{
    sy_rollout_cfg ro = spec();
    sy_ro_counts c = arm(200, 1, 3), b = arm(2000, 5, 3);
    sy_ro_verdict v;
    sy_rollout_verdict(&ro, 5, &c, &b, &v);
    assert_int_equal(v.result, SY_RO_PASS);
    assert_non_null(strstr(v.reason, "canary 200 requests"));
}

static void test_error_rate_fails(void **st)
{
    sy_rollout_cfg ro = spec();
    sy_ro_counts c = arm(100, 30, 3), b = arm(2000, 0, 3);
    sy_ro_verdict v;
    sy_rollout_verdict(&ro, 5, &c, &b, &v);
    assert_int_equal(v.result, SY_RO_FAIL);
    assert_non_null(strstr(v.reason, "30 of 100"));
    assert_non_null(strstr(v.reason, "MaxErrorRate"));
}

static void test_increase_over_baseline_fails(void **st)
{
    sy_rollout_cfg ro = spec();
    ro.max_error_rate = -1; /* only the comparison */
    sy_ro_counts c = arm(1000, 50, 3), b = arm(1000, 30, 3);
    sy_ro_verdict v;
    sy_rollout_verdict(&ro, 50, &c, &b, &v);
    assert_int_equal(v.result, SY_RO_FAIL);
    assert_non_null(strstr(v.reason, "MaxErrorRateIncrease"));
    /* Both arms equally bad: not the canary's fault. */
    c = arm(1000, 30, 3);
    sy_rollout_verdict(&ro, 50, &c, &b, &v);
    assert_int_equal(v.result, SY_RO_PASS);
}

static void test_latency_ratio(void **st)
{
    sy_rollout_cfg ro = spec();
    sy_ro_counts c = arm(200, 0, 210), b = arm(200, 0, 2);
    sy_ro_verdict v;
    sy_rollout_verdict(&ro, 25, &c, &b, &v);
    assert_int_equal(v.result, SY_RO_FAIL);
    assert_non_null(strstr(v.reason, "MaxLatencyP99Ratio"));
    assert_true(v.p99[0] > 150 && v.p99[1] < 3);
    /* 1 ms against 4 ms is under the floor: no failure. */
    c = arm(200, 0, 4);
    b = arm(200, 0, 1);
    sy_rollout_verdict(&ro, 25, &c, &b, &v);
    assert_int_equal(v.result, SY_RO_PASS);
}

static void test_too_few_is_inconclusive_never_fail(void **st)
{
    sy_rollout_cfg ro = spec();
    sy_ro_counts c = arm(99, 99, 500), b = arm(5000, 0, 1);
    sy_ro_verdict v;
    sy_rollout_verdict(&ro, 5, &c, &b, &v);
    assert_int_equal(v.result, SY_RO_INCONCLUSIVE);
    assert_non_null(strstr(v.reason, "too little traffic"));
    /* Baseline too thin when a comparison is configured. */
    c = arm(500, 0, 1);
    b = arm(10, 0, 1);
    sy_rollout_verdict(&ro, 95, &c, &b, &v);
    assert_int_equal(v.result, SY_RO_INCONCLUSIVE);
    /* At 100 % there is no baseline: only the canary's own checks. */
    b = arm(0, 0, 0);
    sy_rollout_verdict(&ro, 100, &c, &b, &v);
    assert_int_equal(v.result, SY_RO_PASS);
    /* Empty windows are Inconclusive, not NaN failures. */
    c = arm(0, 0, 0);
    sy_rollout_verdict(&ro, 5, &c, &b, &v);
    assert_int_equal(v.result, SY_RO_INCONCLUSIVE);
}

static void test_quantile(void **st)
{
    uint64_t h[SY_RO_HIST] = {0};
    assert_true(sy_ro_hist_quantile(h, 0.99) == 0);
    h[0] = 99; /* <= 1 ms */
    h[12] = 1; /* 150..200 ms */
    double p99 = sy_ro_hist_quantile(h, 0.99), p50 = sy_ro_hist_quantile(h, 0.5);
    assert_true(p99 <= 1.0 && p50 <= 1.0);
    h[12] = 10;
    p99 = sy_ro_hist_quantile(h, 0.99);
    assert_true(p99 > 150 && p99 <= 200);
    memset(h, 0, sizeof h);
    h[SY_RO_HIST - 1] = 5; /* +Inf: its lower bound */
    assert_true(sy_ro_hist_quantile(h, 0.99) == sy_ro_hist_le_ms[SY_RO_HIST - 2]);
}

static const char *CFG =
    "Services:\n"
    "  - ServiceId: svc\n    Environments: [release]\n"
    "    Apis:\n      - {ApiId: a, Path: /, Method: ANY, ServiceType: HTTP,\n"
    "         ServiceConfig: {Url: 'http://127.0.0.1:9', Path: /}}\n"
    "Plugins:\n"
    "  - PluginId: p\n    PluginType: Routing\n"
    "    PluginData:\n"
    "      - {strategy_name: c, condition: \"header.X = '1'\", backend_type: HTTP,\n"
    "         backend_config: {ServiceType: HTTP, ServiceConfig: {Url: 'http://127.0.0.1:9', Path: "
    "/}}}\n"
    "Rollouts:\n"
    "  - RolloutId: r\n    PluginId: p\n    StrategyName: c\n    Steps: [5, 25, 100]\n"
    "    Analysis: {MaxErrorRate: 0.02}\n";

static sy_config *load(const char *status, sy_errors *e)
{
    char text[4096];
    snprintf(text, sizeof text, "%s%s", CFG, status);
    return sy_config_load_string(text, strlen(text), "t.yaml", e);
}

static void test_load_defaults_and_status(void **st)
{
    sy_errors e = {0};
    sy_config *cfg = load("", &e);
    for (size_t i = 0; i < e.n; i++)
        print_message("%s\n", e.msgs[i]);
    assert_non_null(cfg);
    const sy_rollout_cfg *ro = &cfg->rollouts[0];
    assert_int_equal(ro->interval_ms, 10000);
    assert_int_equal(ro->step_interval_ms, 60000);
    assert_int_equal(ro->min_requests, 100);
    assert_int_equal(ro->failure_limit, 1);
    assert_int_equal(ro->phase, SY_RO_PENDING);
    assert_int_equal(ro->weight, 0);
    assert_non_null(cfg->plugins[0].rollout_of);
    assert_ptr_equal(cfg->plugins[0].rollout_of[0], ro);
    sy_config_free(cfg);

    cfg = load("    Status: {\"Phase\": \"Progressing\", \"CurrentStep\": 1}\n", &e);
    assert_non_null(cfg);
    assert_int_equal(cfg->rollouts[0].weight, 25);
    /* The YAML dump carries Status so a restart resumes at the same step. */
    char *y = sy_rollouts_yaml(cfg);
    assert_non_null(strstr(y, "\"CurrentStep\":1"));
    free(y);
    sy_config_free(cfg);

    cfg = load("    Status: {\"Phase\": \"Succeeded\", \"CurrentStep\": 2}\n", &e);
    assert_non_null(cfg);
    assert_int_equal(cfg->rollouts[0].weight, 100);
    assert_null(cfg->plugins[0].rollout_of); /* ungated: indexed as before */
    sy_config_free(cfg);

    cfg = load("    Status: {\"Phase\": \"Sideways\"}\n", &e);
    assert_null(cfg);
    assert_true(e.n >= 1);
    assert_non_null(strstr(e.msgs[0], "Rollouts[0].Status.Phase"));
    sy_errors_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pass),
        cmocka_unit_test(test_error_rate_fails),
        cmocka_unit_test(test_increase_over_baseline_fails),
        cmocka_unit_test(test_latency_ratio),
        cmocka_unit_test(test_too_few_is_inconclusive_never_fail),
        cmocka_unit_test(test_quantile),
        cmocka_unit_test(test_load_defaults_and_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
