/* Node selection for one upstream.
 *
 * Smooth weighted round robin (nginx's algorithm, Tencent's ROUND-ROBIN):
 * every pick adds each node's weight to its current score, takes the
 * highest, and subtracts the total from it.  The spread is exact over a
 * cycle of sum(weights) picks and interleaved, not bursty.  State is per
 * worker (slot), so picking takes no lock. */
#ifndef SY_UPSTREAM_BALANCER_H
#define SY_UPSTREAM_BALANCER_H

#include <stdint.h>

#include "config/model.h"

typedef struct sy_balancer sy_balancer;

sy_balancer *sy_balancer_new(sy_arena *a, const sy_upstream_cfg *u, int n_workers);

/* Pick a node for worker `slot`, skipping nodes whose bit is set in
 * `exclude` (already tried by this request; nodes beyond 64 are never
 * excluded).  Returns the node index or -1 when no node is usable. */
int sy_balancer_pick(sy_balancer *b, int slot, uint64_t exclude);

#endif
