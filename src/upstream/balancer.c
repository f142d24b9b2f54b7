#include "upstream/balancer.h"

typedef struct bslot {
    int64_t *current;      /* per node */
    char pad[64 - sizeof(int64_t *)];
} bslot;

struct sy_balancer {
    const sy_upstream_cfg *u;
    int n_workers;
    bslot *slots;
};

sy_balancer *sy_balancer_new(sy_arena *a, const sy_upstream_cfg *u, int n_workers)
{
    sy_balancer *b = sy_arena_alloc(a, sizeof(*b));
    b->u = u;
    b->n_workers = n_workers < 1 ? 1 : n_workers;
    b->slots = sy_arena_alloc(a, (size_t)b->n_workers * sizeof(bslot));
    for (int i = 0; i < b->n_workers; i++)
        b->slots[i].current = sy_arena_alloc(a, (u->n_nodes + 1) * sizeof(int64_t));
    return b;
}

int sy_balancer_pick(sy_balancer *b, int slot, uint64_t exclude)
{
    if (slot < 0 || slot >= b->n_workers)
        slot = 0;
    int64_t *cur = b->slots[slot].current;
    int64_t total = 0;
    int best = -1;
    for (size_t i = 0; i < b->u->n_nodes; i++) {
        const sy_node_cfg *n = &b->u->nodes[i];
        if (n->weight <= 0 || n->ep.addrlen == 0)
            continue;
        if (i < 64 && (exclude >> i) & 1)
            continue;
        cur[i] += n->weight;
        total += n->weight;
        if (best < 0 || cur[i] > cur[best])
            best = (int)i;
    }
    if (best >= 0)
        cur[best] -= total;
    return best;
}
