/* Closed-loop canaries (doc/rollouts.md): the verdict of one analysis
 * window (verdict.c), the controller that ramps a policy's share and rolls
 * it back (controller.c), and the admin actions on a rollout's Status
 * (actions.c).
 *
 * The share lives in the configuration (Rollouts[].Status): every step,
 * rollback, pause or promotion is a configuration commit through the
 * config manager, so it is stored before it runs, reaches the workers by
 * the normal snapshot swap and reaches a fleet through its store.  Only
 * the leader of a fleet (store/fleet.h) runs the controller; the file
 * store's single gateway always does. */
#ifndef SY_ROLLOUT_ROLLOUT_H
#define SY_ROLLOUT_ROLLOUT_H

#include <jansson.h>
#include <stdbool.h>

#include "config/model.h"
#include "core/buf.h"
#include "stats/rollout_stats.h"

/* ---- verdict.c ---- */
enum sy_ro_result { SY_RO_PASS, SY_RO_FAIL, SY_RO_INCONCLUSIVE };
extern const char *const sy_ro_result_names[]; /* "Pass", "Fail", "Inconclusive" */

/* Both p99s are taken as at least this for MaxLatencyP99Ratio, so that
 * jitter of a few milliseconds between two fast arms (a busy host, a
 * garbage collection) cannot fail a canary. */
#define SY_RO_LATENCY_FLOOR_MS 20.0

typedef struct sy_ro_verdict {
    int result;                     /* enum sy_ro_result */
    char reason[300];               /* in words */
    double rate[2], p50[2], p99[2]; /* [0] canary, [1] baseline */
} sy_ro_verdict;

/* One window: canary and baseline counts of the same interval, at share
 * `weight` (100 = no baseline arm: only the canary's own checks apply). */
void sy_rollout_verdict(const sy_rollout_cfg *ro, int weight, const sy_ro_counts *canary,
                        const sy_ro_counts *baseline, sy_ro_verdict *v);
/* {Requests, Errors, ErrorRate, P50Ms, P99Ms} of one arm. */
json_t *sy_ro_arm_json(const sy_ro_counts *c, double rate, double p50, double p99);

/* ---- controller.c ---- */
/* Start the controller thread (fleet: only act while leading). */
int sy_rollout_start(bool fleet);
void sy_rollout_stop(void);
/* The controller's live Status of rollout id (verdicts newer than the
 * stored ones), a new reference, or NULL when it has none. */
json_t *sy_rollout_live_status(const char *id);
/* Prometheus text for every rollout of cfg. */
void sy_rollout_metrics(const sy_config *cfg, sy_buf *out);
/* UTC "YYYY-MM-DDTHH:MM:SS.mmmZ" of now. */
void sy_rollout_now_text(char *buf, size_t cap);
/* Append {Time, From, To, Step, Weight, Reason} to status.Events (kept
 * to the last 100) and set Phase, CurrentStep, CurrentWeight. */
void sy_rollout_transition(json_t *status, int from, int to, int step, int weight,
                           const char *reason);

/* ---- actions.c ---- */
/* POST /v1/rollouts/{id}/ACTION on doc (the configuration being changed):
 * pause, resume, abort or promote.  0 done; 404 no such rollout or
 * action; 409 not possible in its phase (msg says why). */
int sy_rollout_action(json_t *doc, const sy_config *running, const char *id, const char *action,
                      char *msg, size_t cap);
/* Before a change to `doc` is committed: a running rollout of `running`
 * that doc keeps must keep its plugin and policy.  0, or 409 with msg
 * naming the rollout. */
int sy_rollout_guard(const sy_config *running, json_t *doc, char *msg, size_t cap);

#endif
