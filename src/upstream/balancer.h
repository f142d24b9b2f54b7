/* Node selection for one upstream.
 *
 * The balancer of an upstream lives as long as its config generation.  It
 * holds the current target set: every configured node with an address,
 * plus one target per address a DNS name resolved to (with the node's
 * weight).  The resolver publishes a new set with one atomic pointer swap;
 * older sets stay allocated until the balancer is freed (requests pin their
 * generation, so a set a request picked from outlives the request).
 *
 * Algorithms, all skipping disabled (weight 0) and ejected nodes:
 *   ROUND-ROBIN      smooth weighted round robin (nginx's algorithm): each
 *                    pick adds every weight to its node's score, takes the
 *                    highest and subtracts the total.  Exact over a cycle of
 *                    sum(weights) picks and interleaved.  Per-worker state.
 *   LEAST-CONN       fewest active connections per unit of weight (counts
 *                    shared by all workers); ties by round robin.
 *   CONSISTENT-HASH  weighted rendezvous hashing on the request's key: each
 *                    node scores -weight/ln(h(key, node)), the highest wins.
 *                    Adding a node moves only the keys it now wins (about
 *                    its weight share); removing one moves only its keys.
 *                    A request without the key falls back to round robin. */
#ifndef SY_UPSTREAM_BALANCER_H
#define SY_UPSTREAM_BALANCER_H

#include <stdatomic.h>
#include <stdint.h>

#include "config/model.h"
#include "upstream/health.h"

enum sy_algo { SY_ALGO_RR, SY_ALGO_LEAST_CONN, SY_ALGO_HASH };

typedef struct sy_target {
    sy_endpoint ep;          /* host = the node's Host (name or IP), addr resolved */
    int weight;
    int node;                /* index in the upstream's Nodes */
    sy_node_state *st;
    uint64_t seed;           /* hash of the address, for rendezvous */
} sy_target;

typedef struct sy_target_set {
    sy_target *t;
    size_t n;
    int64_t *swrr;           /* n_workers rows of `stride` scores */
    size_t stride;
    uint64_t built_ms;
    struct sy_target_set *older;
} sy_target_set;

typedef struct sy_balancer {
    const sy_upstream_cfg *u;
    int n_workers;
    enum sy_algo algo;
    _Atomic(sy_target_set *) set;
    void *ssl_ctx;           /* SSL_CTX * for Scheme HTTPS, else NULL */
} sy_balancer;

/* Build with the addresses known now: IP nodes, and DNS names from the
 * resolver's cache (last good answer; none yet = no target for it). */
sy_balancer *sy_balancer_new(const sy_upstream_cfg *u, int n_workers);
void sy_balancer_free(sy_balancer *b);

/* The set to pick from (pin it in the request for its retries). */
static inline const sy_target_set *sy_balancer_targets(sy_balancer *b)
{
    return atomic_load_explicit(&b->set, memory_order_acquire);
}

/* Rebuild the set from the config and the resolver cache and publish it
 * if it differs.  Resolver thread (and sy_balancer_new) only.  Returns
 * true when a new set was published. */
bool sy_balancer_refresh(sy_balancer *b);

/* Pick a target index from `set` for worker `slot`, skipping targets whose
 * bit is set in `exclude` (already tried; targets beyond 64 are never
 * excluded).  `hash` is the request key's hash when `has_hash`.  Returns
 * -1 when no target is usable. */
int sy_balancer_pick(sy_balancer *b, const sy_target_set *set, int slot, bool has_hash,
                     uint64_t hash, uint64_t exclude, uint64_t now);

#endif
