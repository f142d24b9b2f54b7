#include "upstream/balancer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "upstream/dns.h"
#include "upstream/tls_client.h"

#define SLOT_PAD 8 /* int64 per cache line */

static sy_target_set *build_set(const sy_balancer *b)
{
    const sy_upstream_cfg *u = b->u;
    size_t cap = u->n_nodes + 1, n = 0;
    sy_target *t = sy_calloc(cap, sizeof *t);
    for (size_t i = 0; i < u->n_nodes; i++) {
        const sy_node_cfg *nd = &u->nodes[i];
        struct sockaddr_storage addrs[SY_DNS_MAX_ADDRS];
        socklen_t lens[SY_DNS_MAX_ADDRS];
        size_t na = 0;
        if (nd->ep.addrlen) {
            addrs[0] = nd->ep.addr;
            lens[0] = nd->ep.addrlen;
            na = 1;
        } else {
            na = sy_dns_cached(nd->ep.host, nd->ep.port, addrs, lens, SY_DNS_MAX_ADDRS);
        }
        for (size_t k = 0; k < na; k++) {
            /* The same address twice (two names, or a name and an IP):
             * keep one target, with the larger weight. */
            size_t dup = n;
            for (size_t j = 0; j < n; j++)
                if (t[j].ep.addrlen == lens[k] && memcmp(&t[j].ep.addr, &addrs[k], lens[k]) == 0)
                    dup = j;
            if (dup < n) {
                if (nd->weight > t[dup].weight)
                    t[dup].weight = nd->weight;
                continue;
            }
            if (n == cap) {
                cap *= 2;
                t = sy_realloc(t, cap * sizeof *t);
            }
            sy_target *x = &t[n++];
            memset(x, 0, sizeof *x);
            x->ep.host = nd->ep.host;
            x->ep.port = nd->ep.port;
            x->ep.addr = addrs[k];
            x->ep.addrlen = lens[k];
            x->weight = nd->weight;
            x->node = (int)i;
            x->st = sy_node_state_get(u->id, (struct sockaddr *)&addrs[k], lens[k]);
            x->seed = XXH3_64bits(x->st->addr, strlen(x->st->addr));
        }
    }
    sy_target_set *s = sy_calloc(1, sizeof *s);
    s->t = t;
    s->n = n;
    s->stride = (n + SLOT_PAD - 1) / SLOT_PAD * SLOT_PAD + SLOT_PAD;
    s->swrr = sy_calloc((size_t)b->n_workers * s->stride, sizeof(int64_t));
    return s;
}

static bool same_set(const sy_target_set *a, const sy_target_set *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (a->t[i].st != b->t[i].st || a->t[i].weight != b->t[i].weight)
            return false;
    return true;
}

static void free_set(sy_target_set *s)
{
    free(s->t);
    free(s->swrr);
    free(s);
}

bool sy_balancer_refresh(sy_balancer *b)
{
    sy_target_set *cur = atomic_load(&b->set);
    sy_target_set *s = build_set(b);
    if (cur && same_set(cur, s)) {
        free_set(s);
        return false;
    }
    s->older = cur;
    atomic_store_explicit(&b->set, s, memory_order_release);
    return true;
}

sy_balancer *sy_balancer_new(const sy_upstream_cfg *u, int n_workers)
{
    sy_balancer *b = sy_calloc(1, sizeof *b);
    b->u = u;
    b->n_workers = n_workers < 1 ? 1 : n_workers;
    if (strcmp(u->algorithm, "LEAST-CONN") == 0)
        b->algo = SY_ALGO_LEAST_CONN;
    else if (strcmp(u->algorithm, "CONSISTENT-HASH") == 0)
        b->algo = SY_ALGO_HASH;
    else
        b->algo = SY_ALGO_RR;
    sy_balancer_refresh(b);
    return b;
}

void sy_balancer_free(sy_balancer *b)
{
    if (!b)
        return;
    sy_target_set *s = atomic_load(&b->set);
    while (s) {
        sy_target_set *o = s->older;
        free_set(s);
        s = o;
    }
    sy_tls_ctx_free(b->ssl_ctx);
    free(b);
}

static bool eligible(const sy_target *t, size_t i, uint64_t exclude, uint64_t now)
{
    if (t->weight <= 0)
        return false;
    if (i < 64 && (exclude >> i) & 1)
        return false;
    return sy_node_usable(t->st, now);
}

/* Smooth weighted round robin among eligible targets; when `only` is set,
 * among those whose load equals `min_load` (LEAST-CONN ties). */
static int swrr(const sy_target_set *s, int64_t *cur, uint64_t exclude, uint64_t now, bool only,
                int64_t min_num, int64_t min_den)
{
    int64_t total = 0;
    int best = -1;
    for (size_t i = 0; i < s->n; i++) {
        const sy_target *t = &s->t[i];
        if (!eligible(t, i, exclude, now))
            continue;
        if (only) {
            int64_t a = atomic_load_explicit(&t->st->active, memory_order_relaxed);
            if (a * min_den != min_num * t->weight)
                continue;
        }
        cur[i] += t->weight;
        total += t->weight;
        if (best < 0 || cur[i] > cur[best])
            best = (int)i;
    }
    if (best >= 0)
        cur[best] -= total;
    return best;
}

static int least_conn(const sy_target_set *s, int64_t *cur, uint64_t exclude, uint64_t now)
{
    int64_t bn = -1, bd = 1; /* best load = bn / bd */
    for (size_t i = 0; i < s->n; i++) {
        const sy_target *t = &s->t[i];
        if (!eligible(t, i, exclude, now))
            continue;
        int64_t a = atomic_load_explicit(&t->st->active, memory_order_relaxed);
        if (bn < 0 || a * bd < bn * t->weight) {
            bn = a;
            bd = t->weight;
        }
    }
    if (bn < 0)
        return -1;
    int k = swrr(s, cur, exclude, now, true, bn, bd);
    /* The counts may have moved between the passes: fall back to plain
     * round robin rather than fail. */
    return k >= 0 ? k : swrr(s, cur, exclude, now, false, 0, 1);
}

static int rendezvous(const sy_target_set *s, uint64_t hash, uint64_t exclude, uint64_t now)
{
    double best = 0;
    int bi = -1;
    for (size_t i = 0; i < s->n; i++) {
        const sy_target *t = &s->t[i];
        if (!eligible(t, i, exclude, now))
            continue;
        uint64_t h = XXH3_64bits_withSeed(&hash, sizeof hash, t->seed);
        double x = ((double)(h >> 11) + 0.5) / 9007199254740992.0; /* (0,1) */
        double score = -(double)t->weight / log(x);
        if (bi < 0 || score > best) {
            best = score;
            bi = (int)i;
        }
    }
    return bi;
}

int sy_balancer_pick(sy_balancer *b, const sy_target_set *set, int slot, bool has_hash,
                     uint64_t hash, uint64_t exclude, uint64_t now)
{
    if (!set || set->n == 0)
        return -1;
    if (slot < 0 || slot >= b->n_workers)
        slot = 0;
    int64_t *cur = set->swrr + (size_t)slot * set->stride;
    switch (b->algo) {
    case SY_ALGO_LEAST_CONN:
        return least_conn(set, cur, exclude, now);
    case SY_ALGO_HASH:
        if (has_hash)
            return rendezvous(set, hash, exclude, now);
        /* fall through */
    case SY_ALGO_RR:
    default:
        return swrr(set, cur, exclude, now, false, 0, 1);
    }
}
