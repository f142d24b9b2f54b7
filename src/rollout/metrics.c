/* Prometheus families of the rollouts (doc/rollouts.md), named so that a
 * Flagger MetricTemplate or an Argo AnalysisTemplate can read them too:
 *
 *   switchyard_rollout_weight{rollout,plugin,policy}           gauge, percent
 *   switchyard_rollout_step{rollout}                            gauge, 1-based
 *   switchyard_rollout_status{rollout,phase}                    gauge, 1 for the current phase
 *   switchyard_rollout_requests_total{rollout,arm}              counter
 *   switchyard_rollout_errors_total{rollout,arm}                counter
 *   switchyard_rollout_request_duration_seconds{rollout,arm}    histogram
 *
 * arm is "canary" or "baseline". */
#include <stdarg.h>
#include <stdio.h>

#include "admin/admin_int.h"
#include "rollout/rollout.h"

static void line(sy_buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(sy_buf *out, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0)
        sy_buf_append(out, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

static const char *const arm_names[] = {"canary", "baseline"};

/* switchyard_rollout_NAME_total{rollout,arm}: requests or errors. */
static void counter(sy_buf *out, const sy_config *cfg, const char *name, const char *help,
                    bool errors)
{
    line(out, "# HELP switchyard_rollout_%s_total %s\n# TYPE switchyard_rollout_%s_total counter\n",
         name, help, name);
    for (size_t i = 0; i < cfg->n_rollouts; i++)
        for (int a = 0; a < 2; a++) {
            sy_ro_counts c;
            sy_ro_stats_sum(cfg->rollouts[i].id, a + 1, &c);
            line(out, "switchyard_rollout_%s_total{rollout=\"%s\",arm=\"%s\"} %llu\n", name,
                 cfg->rollouts[i].id, arm_names[a],
                 (unsigned long long)(errors ? c.errors : c.requests));
        }
}

void sy_rollout_metrics(const sy_config *cfg, sy_buf *out)
{
    if (!cfg->n_rollouts)
        return;
    line(out, "# HELP switchyard_rollout_weight Share of the policy's matching requests the "
              "canary gets, percent.\n# TYPE switchyard_rollout_weight gauge\n");
    for (size_t i = 0; i < cfg->n_rollouts; i++) {
        const sy_rollout_cfg *ro = &cfg->rollouts[i];
        /* Ids are [A-Za-z0-9._-] and policy names need no escaping today,
         * but every free label goes through the one escaper all the same. */
        line(out, "switchyard_rollout_weight{rollout=\"%s\",plugin=\"%s\",policy=\"", ro->id,
             ro->plugin_id);
        sy_prom_escape(out, ro->strategy);
        line(out, "\"} %d\n", ro->weight);
    }
    line(out, "# HELP switchyard_rollout_step Current step of the rollout (1-based).\n"
              "# TYPE switchyard_rollout_step gauge\n");
    for (size_t i = 0; i < cfg->n_rollouts; i++)
        line(out, "switchyard_rollout_step{rollout=\"%s\"} %d\n", cfg->rollouts[i].id,
             cfg->rollouts[i].step + 1);
    line(out, "# HELP switchyard_rollout_status 1 for the rollout's phase, 0 for the others.\n"
              "# TYPE switchyard_rollout_status gauge\n");
    for (size_t i = 0; i < cfg->n_rollouts; i++)
        for (int p = 0; p < SY_RO_PHASES; p++)
            line(out, "switchyard_rollout_status{rollout=\"%s\",phase=\"%s\"} %d\n",
                 cfg->rollouts[i].id, sy_rollout_phase_names[p], cfg->rollouts[i].phase == p);
    counter(out, cfg, "requests", "Finished requests of each arm.", false);
    counter(out, cfg, "errors",
            "Requests of each arm answered 5xx (backend errors, connect failures, timeouts, "
            "resets).",
            true);
    sy_ro_counts c[2];
    line(out, "# HELP switchyard_rollout_request_duration_seconds Request duration of each arm.\n"
              "# TYPE switchyard_rollout_request_duration_seconds histogram\n");
    for (size_t i = 0; i < cfg->n_rollouts; i++)
        for (int a = 0; a < 2; a++) {
            const char *id = cfg->rollouts[i].id;
            sy_ro_stats_sum(id, a + 1, &c[a]);
            uint64_t cum = 0;
            for (int b = 0; b < SY_RO_HIST; b++) {
                cum += c[a].hist[b];
                if (b == SY_RO_HIST - 1)
                    line(out,
                         "switchyard_rollout_request_duration_seconds_bucket{rollout=\"%s\","
                         "arm=\"%s\",le=\"+Inf\"} %llu\n",
                         id, arm_names[a], (unsigned long long)cum);
                else
                    line(out,
                         "switchyard_rollout_request_duration_seconds_bucket{rollout=\"%s\","
                         "arm=\"%s\",le=\"%g\"} %llu\n",
                         id, arm_names[a], sy_ro_hist_le_ms[b] / 1000.0, (unsigned long long)cum);
            }
            line(out,
                 "switchyard_rollout_request_duration_seconds_sum{rollout=\"%s\",arm=\"%s\"} "
                 "%.3f\n",
                 id, arm_names[a], (double)c[a].latency_ms_sum / 1000.0);
            line(out,
                 "switchyard_rollout_request_duration_seconds_count{rollout=\"%s\",arm=\"%s\"} "
                 "%llu\n",
                 id, arm_names[a], (unsigned long long)c[a].requests);
        }
}
