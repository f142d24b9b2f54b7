#include "upstream/balancer.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include <time.h>

#include "upstream/dns.h"
#include "upstream/tls_client.h"

#define SLOT_PAD 8 /* int64 per cache line */

/* Each pod of a tunnel service weighs Weight / pods of that service, so
 * the services split traffic by their Weight whatever their sizes
 * (scaled to keep the integer rounding under 0.01 %). */
#define K8S_SCALE 10000

static socklen_t ip_addr(const char *ip, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        return sizeof *s4;
    }
    if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        return sizeof *s6;
    }
    return 0;
}

sy_pods_fn *sy_balancer_pods;

static sy_target_set *build_k8s_set(const sy_balancer *b)
{
    const sy_upstream_cfg *u = b->u;
    sy_pod_addr *eps[SY_K8S_MAX_SERVICES];
    size_t ne[SY_K8S_MAX_SERVICES], total = 0;
    for (size_t i = 0; i < u->n_k8s_services; i++) {
        eps[i] = NULL;
        total += ne[i] = sy_balancer_pods ? sy_balancer_pods(&u->k8s_services[i], &eps[i]) : 0;
    }
    sy_target_set *s = sy_calloc(1, sizeof *s);
    s->t = sy_calloc(total + 1, sizeof *s->t);
    s->hosts = sy_calloc(total + 1, sizeof *s->hosts);
    for (size_t i = 0; i < u->n_k8s_services; i++) {
        const sy_k8s_service_cfg *sc = &u->k8s_services[i];
        int w = sc->weight && ne[i] ? (int)((sc->weight * K8S_SCALE) / (int)ne[i]) : 0;
        if (sc->weight && w < 1)
            w = 1;
        for (size_t k = 0; k < ne[i]; k++) {
            struct sockaddr_storage ss;
            socklen_t len = ip_addr(eps[i][k].ip, eps[i][k].port, &ss);
            if (!len) /* the parser checked them: not expected */
                continue;
            /* A pod in two services of one tunnel: one target, larger weight. */
            size_t dup = s->n;
            for (size_t j = 0; j < s->n; j++)
                if (s->t[j].ep.addrlen == len && memcmp(&s->t[j].ep.addr, &ss, len) == 0)
                    dup = j;
            if (dup < s->n) {
                if (w > s->t[dup].weight)
                    s->t[dup].weight = w;
                continue;
            }
            sy_target *x = &s->t[s->n];
            memcpy(s->hosts[s->n], eps[i][k].ip, sizeof s->hosts[0]);
            x->ep.host = s->hosts[s->n];
            x->ep.port = eps[i][k].port;
            x->ep.addr = ss;
            x->ep.addrlen = len;
            x->weight = w;
            x->node = -1;
            x->svc = (int)i;
            x->st = sy_node_state_get(u->id, (struct sockaddr *)&ss, len);
            x->seed = XXH3_64bits(x->st->addr, strlen(x->st->addr));
            s->n++;
        }
        free(eps[i]);
    }
    s->stride = (s->n + SLOT_PAD - 1) / SLOT_PAD * SLOT_PAD + SLOT_PAD;
    s->swrr = sy_calloc((size_t)b->n_workers * s->stride, sizeof(int64_t));
    return s;
}

static sy_target_set *build_set(const sy_balancer *b)
{
    const sy_upstream_cfg *u = b->u;
    if (u->k8s)
        return build_k8s_set(b);
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
            x->svc = -1;
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
    free(s->hosts);
    free(s->t);
    free(s->swrr);
    free(s);
}

static void reclaim(sy_balancer *b, sy_target_set *cur);

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
    if (b->u->k8s && cur)
        reclaim(b, s);
    return true;
}

/* Sets of K8S balancers are pinned by the requests using them; a retired
 * set nobody uses any more is freed after a grace period that covers the
 * few instructions between a worker loading the pointer and counting
 * itself in (sy_balancer_acquire). */
#define RETIRE_GRACE_MS 1000

static void reclaim(sy_balancer *b, sy_target_set *cur)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    cur->older->retired_ms = now;
    for (sy_target_set **pp = &cur->older; *pp;) {
        sy_target_set *o = *pp;
        if (o->retired_ms + RETIRE_GRACE_MS <= now && atomic_load(&o->refs) == 0) {
            *pp = o->older;
            free_set(o);
        } else {
            pp = &o->older;
        }
    }
}

const sy_target_set *sy_balancer_acquire(sy_balancer *b)
{
    sy_target_set *s = atomic_load_explicit(&b->set, memory_order_acquire);
    if (b->u->k8s)
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_acq_rel);
    return s;
}

void sy_balancer_release(const sy_target_set *s)
{
    /* Only counted sets (K8S) are ever freed early; others ignore it. */
    atomic_fetch_sub_explicit(&((sy_target_set *)s)->refs, 1, memory_order_acq_rel);
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
