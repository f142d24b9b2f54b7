/* Per-rollout, per-arm counters (doc/rollouts.md): requests, errors and a
 * small fixed latency histogram, written by the workers at the end of each
 * request and summed over the workers by the controller (one verdict
 * window = the difference of two sums) and by /metrics.
 *
 * As stats.h: each worker owns its cells and writes them with relaxed
 * stores, readers add the workers up with relaxed loads; no lock on the
 * request path.  Series are keyed by RolloutId, so a reload or a share
 * change (a new generation) keeps them. */
#ifndef SY_STATS_ROLLOUT_STATS_H
#define SY_STATS_ROLLOUT_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "router/router.h"

#define SY_RO_MAX 256 /* rollouts with counters in one process */
#define SY_RO_HIST 22 /* latency buckets, the last one +Inf */
/* Upper bounds in milliseconds (the last is +Inf). */
extern const double sy_ro_hist_le_ms[SY_RO_HIST];

typedef struct sy_ro_counts {
    uint64_t requests, errors, latency_ms_sum;
    uint64_t hist[SY_RO_HIST];
} sy_ro_counts;

/* Set up n_workers slots (once, before the workers start). */
void sy_ro_stats_init(int n_workers);
/* A finished request of worker `worker`: counted when rt is an arm of a
 * rollout.  Errors: 5xx (which includes connect failures, timeouts and
 * resets the gateway answered 502/504) and no status at all. */
void sy_ro_stats_on_request(int worker, const sy_route *rt, int status, uint64_t ms);
/* The sums for rollout `id`, arm 1 (canary) or 2 (baseline); zeros when
 * it has none.  False when id has no counters. */
bool sy_ro_stats_sum(const char *id, int arm, sy_ro_counts *out);
/* Test hook: count directly. */
void sy_ro_stats_add(int worker, int slot, int arm, int status, uint64_t ms);
/* The slot of `id` (created when new), or -1 when all are taken. */
int sy_ro_stats_slot(const char *id);
/* The latency below which a fraction q of hist's requests fell, in ms,
 * interpolated within its bucket; 0 for an empty histogram. */
double sy_ro_hist_quantile(const uint64_t *hist, double q);

#endif
