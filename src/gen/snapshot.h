/* A config generation: the validated model plus everything compiled from
 * it (routing tables, policy indexes, balancer state), immutable once
 * published except for per-worker balancer slots that only their worker
 * touches.
 *
 * Publication (nginx's ngx_init_cycle idea, threads instead of processes):
 * the main thread builds a snapshot off to the side, swaps one atomic
 * pointer, wakes the workers and waits until each has taken its own
 * reference to the new one; only then does it drop the global reference to
 * the old generation.  Requests pin the snapshot they started with, so the
 * old one is freed when its last in-flight request ends. */
#ifndef SY_GEN_SNAPSHOT_H
#define SY_GEN_SNAPSHOT_H

#include <stdatomic.h>
#include <stdint.h>

#include "config/model.h"
#include "router/router.h"

struct sy_balancer;
struct sy_stls;

typedef struct sy_snapshot {
    sy_config *cfg;
    sy_arena arena; /* compiled structures */
    sy_router *router;
    struct sy_balancer **balancers; /* one per cfg->upstreams[i] (malloc'd) */
    size_t n_balancers;
    struct sy_stls
        *tls; /* certificates, SNI, domain protocol rules (net/tls_server.h); NULL = none */
    int n_workers;
    uint32_t max_clients;  /* per worker, MaxConnections within the fd budget (net/limits.h) */
    uint32_t max_backends; /* per worker, MaxBackendConnections likewise */
    uint64_t generation;
    atomic_uint refs;
} sy_snapshot;

/* Compile `cfg` (ownership passes to the snapshot on success). */
sy_snapshot *sy_snapshot_build(sy_config *cfg, int n_workers, sy_errors *errs);
void sy_snapshot_ref(sy_snapshot *s);
void sy_snapshot_unref(sy_snapshot *s);

/* The published generation. */
extern _Atomic(sy_snapshot *) sy_snapshot_current;

#endif
