/* The compiled policy table of one Routing plugin.
 *
 * Built once per config generation: every condition is compiled, the
 * policies are put in Tencent's evaluation order (weight descending, then
 * newer first) and equality tests are indexed, so that a plugin with
 * 100,000 `header.X-Tenant = 'tNNNNN'` policies matches as fast as one with
 * a single policy.  Matching is read-only and thread-safe. */
#ifndef SY_ROUTER_POLICY_H
#define SY_ROUTER_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/model.h"
#include "core/arena.h"
#include "router/expr.h"
#include "router/reqview.h"

typedef struct sy_policy {
    const sy_policy_cfg *cfg;
    /* The compiled condition, or NULL when the index decides the policy
     * (an equality test needs no tree at run time: 100,000 tenant policies
     * would otherwise keep 100,000 of them); explain compiles it then. */
    sy_expr *cond;
    uint32_t index;       /* position in PluginData: a stable id for counters */
    uint32_t order : 31;  /* position in evaluation order */
    uint32_t indexed : 1; /* decided by a hash lookup rather than evaluation */
} sy_policy;

typedef struct sy_policy_table sy_policy_table;

/* Compile plugin p's policies.  Every bad condition is reported through
 * sy_errors_at at the condition's position plus the column within it, with
 * the path "<path>.PluginData[j].condition" and a message naming the plugin
 * id, the policy name and that column.  Returns NULL when any condition
 * failed.  Memory comes from a; call sy_policy_table_free for the regexes.
 *
 * sy_policy_table_build uses "Plugins[<PluginId>]" as the path; callers
 * that know the plugin's position pass "Plugins[3]" to the _at variant. */
sy_policy_table *sy_policy_table_build(sy_arena *a, const sy_plugin_cfg *p, const char *file,
                                       sy_errors *errs);
sy_policy_table *sy_policy_table_build_at(sy_arena *a, const sy_plugin_cfg *p, const char *file,
                                          const char *path, sy_errors *errs);
void sy_policy_table_free(sy_policy_table *t);

/* First policy in evaluation order whose condition holds, or NULL (the
 * API's default backend applies). */
const sy_policy_cfg *sy_policy_table_match(const sy_policy_table *t, const sy_req_view *rv);
/* Same, returning the compiled policy (for its counter index). */
const sy_policy *sy_policy_table_find(const sy_policy_table *t, const sy_req_view *rv);

/* Rollouts (doc/rollouts.md): a policy a running rollout ramps matches
 * only when its condition holds and the request's bucket of SplitBy falls
 * in the rollout's share.  Requests that satisfy the condition but fall
 * outside are the rollout's baseline arm (they go on to the next policy). */
enum sy_rollout_arm { SY_ARM_NONE, SY_ARM_CANARY, SY_ARM_BASELINE };
typedef struct sy_policy_arm {
    const sy_rollout_cfg *rollout; /* NULL = the request is in no rollout */
    int arm;                       /* enum sy_rollout_arm */
    double bucket;                 /* the request's bucket in [0, 1) */
} sy_policy_arm;

/* sy_policy_table_find, also saying which rollout arm the request is in. */
const sy_policy *sy_policy_table_find_arm(const sy_policy_table *t, const sy_req_view *rv,
                                          sy_policy_arm *arm);

size_t sy_policy_table_count(const sy_policy_table *t);
/* The policy at evaluation position i (0 = tried first). */
const sy_policy *sy_policy_table_at(const sy_policy_table *t, size_t i);
/* How many policies the index answers for (the rest are evaluated). */
size_t sy_policy_table_indexed(const sy_policy_table *t);

/* ---- explain ---- */
enum sy_policy_verdict {
    SY_POLICY_MATCHED,  /* the winner */
    SY_POLICY_NO_MATCH, /* evaluated, false */
    SY_POLICY_SKIPPED,  /* after the winner: not evaluated */
};

/* Called for every policy in evaluation order.  detail holds the
 * expression's explain lines (empty for skipped policies). */
typedef void sy_policy_explain_cb(void *ud, const sy_policy *pol, enum sy_policy_verdict v,
                                  const char *detail);

/* Evaluate policy by policy (no index, identical result to match) and
 * report each one.  Returns the winner or NULL. */
const sy_policy *sy_policy_table_explain(const sy_policy_table *t, const sy_req_view *rv,
                                         sy_policy_explain_cb *cb, void *ud);
/* Same, with the rollout arm (arm may be NULL). */
const sy_policy *sy_policy_table_explain_arm(const sy_policy_table *t, const sy_req_view *rv,
                                             sy_policy_explain_cb *cb, void *ud,
                                             sy_policy_arm *arm);

#endif
