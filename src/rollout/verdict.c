/* The verdict of one analysis window (rollout.h).  A pure function of the
 * two arms' counts, so it is tested without a gateway
 * (tests/unit/rollout/test_verdict.c). */
#include <math.h>
#include <stdio.h>

#include "rollout/rollout.h"

const char *const sy_ro_result_names[] = {"Pass", "Fail", "Inconclusive", NULL};

static double rate_of(const sy_ro_counts *c)
{
    return c->requests ? (double)c->errors / (double)c->requests : 0;
}

json_t *sy_ro_arm_json(const sy_ro_counts *c, double rate, double p50, double p99)
{
    /* Rounded: the stored Status is read by people. */
    return json_pack("{s:I, s:I, s:f, s:f, s:f}", "Requests", (json_int_t)c->requests, "Errors",
                     (json_int_t)c->errors, "ErrorRate", round(rate * 1e4) / 1e4, "P50Ms",
                     round(p50 * 100) / 100, "P99Ms", round(p99 * 100) / 100);
}

void sy_rollout_verdict(const sy_rollout_cfg *ro, int weight, const sy_ro_counts *canary,
                        const sy_ro_counts *baseline, sy_ro_verdict *v)
{
    const sy_ro_counts *arm[2] = {canary, baseline};
    for (int i = 0; i < 2; i++) {
        v->rate[i] = rate_of(arm[i]);
        v->p50[i] = sy_ro_hist_quantile(arm[i]->hist, 0.50);
        v->p99[i] = sy_ro_hist_quantile(arm[i]->hist, 0.99);
    }
    /* At 100 % every request is the canary's: nothing to compare with. */
    bool compare = weight < 100 && (ro->max_error_rate_increase >= 0 || ro->max_p99_ratio >= 0);
    if (canary->requests < ro->min_requests || (compare && baseline->requests < ro->min_requests)) {
        v->result = SY_RO_INCONCLUSIVE;
        snprintf(v->reason, sizeof v->reason,
                 "too little traffic: canary %llu, baseline %llu requests, MinRequests %u per "
                 "arm; holding step %d",
                 (unsigned long long)canary->requests, (unsigned long long)baseline->requests,
                 ro->min_requests, ro->step + 1);
        return;
    }
    v->result = SY_RO_FAIL;
    if (ro->max_error_rate >= 0 && v->rate[0] > ro->max_error_rate) {
        snprintf(v->reason, sizeof v->reason,
                 "canary error rate %.2f%% (%llu of %llu) above MaxErrorRate %.2f%%",
                 100 * v->rate[0], (unsigned long long)canary->errors,
                 (unsigned long long)canary->requests, 100 * ro->max_error_rate);
        return;
    }
    if (weight < 100 && ro->max_error_rate_increase >= 0 &&
        v->rate[0] - v->rate[1] > ro->max_error_rate_increase) {
        snprintf(v->reason, sizeof v->reason,
                 "canary error rate %.2f%% is %.2f points above the baseline's %.2f%% "
                 "(MaxErrorRateIncrease %.2f points)",
                 100 * v->rate[0], 100 * (v->rate[0] - v->rate[1]), 100 * v->rate[1],
                 100 * ro->max_error_rate_increase);
        return;
    }
    if (weight < 100 && ro->max_p99_ratio >= 0) {
        double c = v->p99[0] > SY_RO_LATENCY_FLOOR_MS ? v->p99[0] : SY_RO_LATENCY_FLOOR_MS;
        double b = v->p99[1] > SY_RO_LATENCY_FLOOR_MS ? v->p99[1] : SY_RO_LATENCY_FLOOR_MS;
        if (c / b > ro->max_p99_ratio) {
            snprintf(v->reason, sizeof v->reason,
                     "canary p99 %.1f ms is %.2fx the baseline's %.1f ms (MaxLatencyP99Ratio %g)",
                     v->p99[0], c / b, v->p99[1], ro->max_p99_ratio);
            return;
        }
    }
    v->result = SY_RO_PASS;
    snprintf(v->reason, sizeof v->reason,
             "canary %llu requests, error rate %.2f%%, p99 %.1f ms; baseline %llu requests, "
             "error rate %.2f%%, p99 %.1f ms",
             (unsigned long long)canary->requests, 100 * v->rate[0], v->p99[0],
             (unsigned long long)baseline->requests, 100 * v->rate[1], v->p99[1]);
}
