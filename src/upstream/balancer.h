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

/* A pod address of a K8S tunnel service. */
typedef struct sy_pod_addr {
    char ip[46];
    uint16_t port;
    bool terminating; /* taken only because no ready one is left */
} sy_pod_addr;

/* Where K8S tunnels get their pods: set once by the discovery thread's
 * start (discovery/k8s.c, a layer above this one); NULL = no pods (the
 * offline CLI).  Returns a malloc'd copy. */
typedef size_t sy_pods_fn(const sy_k8s_service_cfg *svc, sy_pod_addr **out);
extern sy_pods_fn *sy_balancer_pods;

typedef struct sy_target {
    sy_endpoint ep; /* host = the node's Host (name or IP), addr resolved */
    int weight;
    int node; /* index in the upstream's Nodes, -1 for a pod */
    int svc;  /* K8S: index in the upstream's K8sService, else -1 */
    sy_node_state *st;
    uint64_t seed; /* hash of the address, for rendezvous */
} sy_target;

typedef struct sy_target_set {
    sy_target *t;
    size_t n;
    int64_t *swrr; /* n_workers rows of `stride` scores */
    size_t stride;
    uint64_t built_ms;
    struct sy_target_set *older;
    /* K8S tunnels change often: their sets are counted while requests use
     * them and freed once retired and unused (balancer.c). */
    atomic_int refs;
    uint64_t retired_ms; /* 0 while current */
    char (*hosts)[46];   /* pod IP texts the targets' ep.host point into */
} sy_target_set;

typedef struct sy_balancer {
    const sy_upstream_cfg *u;
    int n_workers;
    enum sy_algo algo;
    _Atomic(sy_target_set *) set;
    void *ssl_ctx; /* SSL_CTX * for Scheme HTTPS, else NULL */
} sy_balancer;

/* Build with the addresses known now: IP nodes, and DNS names from the
 * resolver's cache (last good answer; none yet = no target for it); for
 * a K8S upstream the pods discovery selected (discovery/k8s.h). */
sy_balancer *sy_balancer_new(const sy_upstream_cfg *u, int n_workers);
void sy_balancer_free(sy_balancer *b);

/* The set to pick from (pin it in the request for its retries). */
static inline const sy_target_set *sy_balancer_targets(sy_balancer *b)
{
    return atomic_load_explicit(&b->set, memory_order_acquire);
}

/* The set a request picks from, pinned until sy_balancer_release(). */
const sy_target_set *sy_balancer_acquire(sy_balancer *b);
void sy_balancer_release(const sy_target_set *s);

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
