/* Counters (stats.h).
 *
 * Layout: a global registry (mutex) names every series and gives it a
 * dense id.  Each worker has a slot with an array of block pointers; block
 * b holds the cells of ids b*BLOCK .. b*BLOCK+BLOCK-1, one cache line
 * each.  A worker allocates its blocks itself (warm-up, or a new name
 * after a reload) and publishes the pointer with a release store, so a
 * scraper sees either NULL (counts as zero) or a zeroed block.
 *
 * Per worker, a `view` maps the snapshot's dense indexes to ids: API index
 * x environment for routed requests, service x environment for requests
 * that found no API, and (plugin, policy position) for policy winners.
 * Two views are kept (the current generation and the previous one, whose
 * requests may still be finishing after a reload). */
#include "stats/stats.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "core/arena.h"

#define BLOCK 256
#define MAX_BLOCKS 4096
#define UNSET UINT32_MAX

/* A cell's counters: status classes, then these, then the histogram. */
enum {
    CELL_MATCHED = SY_STATS_CLASSES,
    CELL_SUM_US,
    CELL_BYTES_IN,
    CELL_BYTES_OUT,
    CELL_BUCKET0,
    CELL_END = CELL_BUCKET0 + SY_STATS_BUCKETS + 1
};

typedef struct cell {
    _Atomic uint64_t c[32]; /* CELL_END used: four cache lines */
} cell;
_Static_assert(CELL_END <= 32, "cell too small");

const char *const sy_stats_class_names[SY_STATS_CLASSES] = {"other", "1xx", "2xx",
                                                            "3xx",   "4xx", "5xx"};

/* 100 us to 10 s: a loopback hop is a few hundred microseconds, a backend
 * past ServiceTimeout's usual 15 s is +Inf anyway. */
const uint64_t sy_stats_bucket_us[SY_STATS_BUCKETS] = {
    100,   250,    500,    1000,   2500,    5000,    10000,   25000,
    50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};
const char *const sy_stats_bucket_le[SY_STATS_BUCKETS] = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
    "0.05",   "0.1",     "0.25",   "0.5",   "1",      "2.5",   "5",    "10"};

typedef struct view {
    uint64_t gen; /* 0 = unused */
    size_t n_apis, n_svcs, n_plugins, n_pols, n_ups;
    uint32_t *api_ids;  /* n_apis * SY_ENV_COUNT */
    uint32_t *ups_ids;  /* n_ups */
    uint32_t *svc_ids;  /* (n_svcs + 1) * (SY_ENV_COUNT + 1) */
    uint32_t *pol_base; /* n_plugins + 1 */
    uint32_t *pol_ids;  /* n_pols */
} view;

typedef struct wslot {
    _Atomic(cell *) blocks[MAX_BLOCKS];
    view views[2];
    unsigned evict;
    atomic_long rbufs; /* client receive buffers held (sy_stats_rbuf) */
    atomic_long gauges[SY_GAUGE_N];
} wslot;

typedef struct series {
    enum sy_stats_kind kind;
    char *labels[3];
} series;

static struct {
    pthread_mutex_t mu;
    series *v;
    size_t n, cap;
    uint32_t *hash; /* open addressing: id + 1, 0 = empty */
    size_t hcap;
} reg = {.mu = PTHREAD_MUTEX_INITIALIZER};

static wslot **slots;
static _Atomic int n_slots;
static _Atomic uint64_t reloads_ok, reloads_failed;

/* ---- registry ---- */

static uint64_t key_hash(enum sy_stats_kind k, const char *const l[3])
{
    uint64_t h = (uint64_t)k + 1;
    for (int i = 0; i < 3; i++)
        h = XXH3_64bits_withSeed(l[i], strlen(l[i]), h * 31 + (uint64_t)i);
    return h;
}

static bool key_eq(const series *s, enum sy_stats_kind k, const char *const l[3])
{
    return s->kind == k && !strcmp(s->labels[0], l[0]) && !strcmp(s->labels[1], l[1]) &&
           !strcmp(s->labels[2], l[2]);
}

static void rehash(void)
{
    size_t cap = reg.hcap ? reg.hcap * 2 : 1024;
    uint32_t *h = sy_calloc(cap, sizeof(*h));
    for (size_t id = 0; id < reg.n; id++) {
        const series *s = &reg.v[id];
        const char *l[3] = {s->labels[0], s->labels[1], s->labels[2]};
        for (size_t i = key_hash(s->kind, l) & (cap - 1);; i = (i + 1) & (cap - 1))
            if (!h[i]) {
                h[i] = (uint32_t)id + 1;
                break;
            }
    }
    free(reg.hash);
    reg.hash = h;
    reg.hcap = cap;
}

/* Id of the series, created if new; UNSET when the registry is full. */
static uint32_t series_id(enum sy_stats_kind k, const char *a, const char *b, const char *c)
{
    const char *l[3] = {a ? a : "", b ? b : "", c ? c : ""};
    uint64_t hv = key_hash(k, l);
    pthread_mutex_lock(&reg.mu);
    if (reg.n * 2 >= reg.hcap)
        rehash();
    uint32_t id = UNSET;
    size_t i;
    for (i = hv & (reg.hcap - 1); reg.hash[i]; i = (i + 1) & (reg.hcap - 1)) {
        if (key_eq(&reg.v[reg.hash[i] - 1], k, l)) {
            id = reg.hash[i] - 1;
            break;
        }
    }
    if (id == UNSET && reg.n < (size_t)BLOCK * MAX_BLOCKS) {
        if (reg.n == reg.cap) {
            reg.cap = reg.cap ? reg.cap * 2 : 256;
            reg.v = sy_realloc(reg.v, reg.cap * sizeof(*reg.v));
        }
        series *s = &reg.v[reg.n];
        s->kind = k;
        for (int j = 0; j < 3; j++)
            s->labels[j] = sy_strdup(l[j]);
        id = (uint32_t)reg.n++;
        reg.hash[i] = id + 1;
    }
    pthread_mutex_unlock(&reg.mu);
    return id;
}

/* ---- setup ---- */

void sy_stats_init(int n_workers)
{
    if (atomic_load(&n_slots) || n_workers <= 0)
        return;
    slots = sy_calloc((size_t)n_workers, sizeof(*slots));
    for (int i = 0; i < n_workers; i++) {
        void *p = NULL;
        if (posix_memalign(&p, 64, sizeof(wslot)) != 0)
            abort();
        memset(p, 0, sizeof(wslot));
        slots[i] = p;
    }
    atomic_store_explicit(&n_slots, n_workers, memory_order_release);
}

static void view_free(view *v)
{
    free(v->api_ids);
    free(v->ups_ids);
    free(v->svc_ids);
    free(v->pol_base);
    free(v->pol_ids);
    memset(v, 0, sizeof(*v));
}

void sy_stats_shutdown(void)
{
    int n = atomic_exchange(&n_slots, 0);
    for (int i = 0; i < n; i++) {
        for (size_t b = 0; b < MAX_BLOCKS; b++)
            free(atomic_load(&slots[i]->blocks[b]));
        view_free(&slots[i]->views[0]);
        view_free(&slots[i]->views[1]);
        free(slots[i]);
    }
    free(slots);
    slots = NULL;
    pthread_mutex_lock(&reg.mu);
    for (size_t i = 0; i < reg.n; i++)
        for (int j = 0; j < 3; j++)
            free(reg.v[i].labels[j]);
    free(reg.v);
    free(reg.hash);
    reg.v = NULL;
    reg.hash = NULL;
    reg.n = reg.cap = reg.hcap = 0;
    pthread_mutex_unlock(&reg.mu);
    atomic_store(&reloads_ok, 0);
    atomic_store(&reloads_failed, 0);
}

void sy_stats_on_reload(bool ok)
{
    atomic_fetch_add(ok ? &reloads_ok : &reloads_failed, 1);
}

uint64_t sy_stats_reloads(bool ok)
{
    return atomic_load(ok ? &reloads_ok : &reloads_failed);
}

void sy_stats_rbuf(int worker, int delta)
{
    if (worker < 0 || worker >= atomic_load_explicit(&n_slots, memory_order_acquire))
        return;
    atomic_long *g = &slots[worker]->rbufs;
    /* One writer (the worker): a plain add, published for the scraper. */
    atomic_store_explicit(g, atomic_load_explicit(g, memory_order_relaxed) + delta,
                          memory_order_relaxed);
}

uint64_t sy_stats_rbufs(void)
{
    long sum = 0;
    int n = atomic_load_explicit(&n_slots, memory_order_acquire);
    for (int i = 0; i < n; i++)
        sum += atomic_load_explicit(&slots[i]->rbufs, memory_order_relaxed);
    return sum > 0 ? (uint64_t)sum : 0;
}

void sy_stats_gauge_add(int worker, enum sy_stats_gauge g, int delta)
{
    if (worker < 0 || worker >= atomic_load_explicit(&n_slots, memory_order_acquire) ||
        (unsigned)g >= SY_GAUGE_N)
        return;
    atomic_long *a = &slots[worker]->gauges[g];
    atomic_store_explicit(a, atomic_load_explicit(a, memory_order_relaxed) + delta,
                          memory_order_relaxed);
}

/* A worker's gauge may be negative for a moment only if another worker
 * opened what it closes (never: each closes its own); clamp the sum. */
uint64_t sy_stats_gauge(enum sy_stats_gauge g)
{
    long sum = 0;
    int n = atomic_load_explicit(&n_slots, memory_order_acquire);
    for (int i = 0; i < n && (unsigned)g < SY_GAUGE_N; i++)
        sum += atomic_load_explicit(&slots[i]->gauges[g], memory_order_relaxed);
    return sum > 0 ? (uint64_t)sum : 0;
}

/* ---- hot path ---- */

static uint32_t *unset_array(size_t n)
{
    uint32_t *a = sy_malloc((n ? n : 1) * sizeof(*a));
    memset(a, 0xff, (n ? n : 1) * sizeof(*a));
    return a;
}

static view *view_for(wslot *w, const sy_snapshot *s)
{
    if (w->views[0].gen == s->generation)
        return &w->views[0];
    if (w->views[1].gen == s->generation)
        return &w->views[1];
    view *v = &w->views[w->evict];
    w->evict ^= 1;
    view_free(v);
    const sy_config *cfg = s->cfg;
    v->gen = s->generation;
    v->n_apis = sy_router_api_count(s->router);
    v->n_svcs = cfg->n_services;
    v->n_plugins = cfg->n_plugins;
    v->n_ups = cfg->n_upstreams;
    v->api_ids = unset_array(v->n_apis * SY_ENV_COUNT);
    v->ups_ids = unset_array(v->n_ups);
    v->svc_ids = unset_array((v->n_svcs + 1) * (SY_ENV_COUNT + 1));
    v->pol_base = sy_malloc((v->n_plugins + 1) * sizeof(uint32_t));
    size_t total = 0;
    for (size_t i = 0; i < v->n_plugins; i++) {
        v->pol_base[i] = (uint32_t)total;
        total += cfg->plugins[i].n_policies;
    }
    v->pol_base[v->n_plugins] = (uint32_t)total;
    v->n_pols = total;
    v->pol_ids = unset_array(total);
    return v;
}

static cell *cell_for(wslot *w, uint32_t id)
{
    if (id == UNSET)
        return NULL;
    size_t b = id / BLOCK;
    cell *blk = atomic_load_explicit(&w->blocks[b], memory_order_relaxed);
    if (!blk) {
        void *p = NULL;
        if (posix_memalign(&p, 64, BLOCK * sizeof(cell)) != 0)
            abort();
        memset(p, 0, BLOCK * sizeof(cell));
        blk = p;
        atomic_store_explicit(&w->blocks[b], blk, memory_order_release);
    }
    return &blk[id % BLOCK];
}

/* Single writer: a relaxed load + store is enough (no locked add). */
static inline void add(cell *c, int i, uint64_t n)
{
    uint64_t v = atomic_load_explicit(&c->c[i], memory_order_relaxed);
    atomic_store_explicit(&c->c[i], v + n, memory_order_relaxed);
}

static int status_class(int status)
{
    return status >= 100 && status <= 599 ? status / 100 : 0;
}

static int bucket_of(uint64_t us)
{
    int b = 0;
    while (b < SY_STATS_BUCKETS && us > sy_stats_bucket_us[b])
        b++;
    return b;
}

/* One request into a cell: its class, duration and bytes. */
static void observe(cell *c, int cls, int bucket, const sy_stats_obs *o)
{
    add(c, cls, 1);
    add(c, CELL_BUCKET0 + bucket, 1);
    add(c, CELL_SUM_US, o->duration_us);
    add(c, CELL_BYTES_IN, o->bytes_in);
    add(c, CELL_BYTES_OUT, o->bytes_out);
}

void sy_stats_on_request(int worker, const sy_snapshot *s, const sy_route *rt,
                         const sy_stats_obs *o)
{
    if (worker < 0 || worker >= atomic_load_explicit(&n_slots, memory_order_acquire) || !s || !rt ||
        !o)
        return;
    wslot *w = slots[worker];
    view *v = view_for(w, s);
    int cls = status_class(o->status);
    int bucket = bucket_of(o->duration_us);
    uint32_t *idp;
    if (rt->api && rt->service && rt->env >= 0 && rt->api_index < v->n_apis) {
        idp = &v->api_ids[rt->api_index * SY_ENV_COUNT + (size_t)rt->env];
        if (*idp == UNSET)
            *idp = series_id(SY_STATS_API, rt->service->id, sy_env_name(rt->env), rt->api->id);
    } else {
        size_t si = rt->service ? (size_t)(rt->service - s->cfg->services) : v->n_svcs;
        size_t ei = rt->service && rt->env >= 0 ? (size_t)rt->env : SY_ENV_COUNT;
        if (si > v->n_svcs)
            si = v->n_svcs;
        idp = &v->svc_ids[si * (SY_ENV_COUNT + 1) + ei];
        if (*idp == UNSET)
            *idp = series_id(SY_STATS_API, si < v->n_svcs ? rt->service->id : "",
                             ei < SY_ENV_COUNT ? sy_env_name((int)ei) : "", "");
    }
    cell *c = cell_for(w, *idp);
    if (c)
        observe(c, cls, bucket, o);
    if (o->upstream) {
        size_t ui = (size_t)(o->upstream - s->cfg->upstreams);
        if (ui < v->n_ups && &s->cfg->upstreams[ui] == o->upstream) {
            idp = &v->ups_ids[ui];
            if (*idp == UNSET)
                *idp = series_id(SY_STATS_UPSTREAM, o->upstream->id, "", "");
            if ((c = cell_for(w, *idp)))
                observe(c, cls, bucket, o);
        }
    }
    if (rt->plugin && rt->policy && rt->api) {
        size_t pi = (size_t)(rt->plugin - s->cfg->plugins);
        size_t k = (size_t)(rt->policy - rt->plugin->policies);
        if (pi >= v->n_plugins || k >= rt->plugin->n_policies)
            return;
        idp = &v->pol_ids[v->pol_base[pi] + k];
        if (*idp == UNSET)
            *idp = series_id(SY_STATS_POLICY, rt->plugin->id, rt->policy->name, "");
        c = cell_for(w, *idp);
        if (c) {
            observe(c, cls, bucket, o);
            add(c, CELL_MATCHED, 1);
        }
    }
}

/* ---- scrape ---- */

void sy_stats_foreach(sy_stats_series_cb *cb, void *ud)
{
    int nw = atomic_load_explicit(&n_slots, memory_order_acquire);
    pthread_mutex_lock(&reg.mu);
    for (size_t id = 0; id < reg.n; id++) {
        const series *se = &reg.v[id];
        sy_stats_series out = {.kind = se->kind};
        for (int j = 0; j < 3; j++)
            out.labels[j] = se->labels[j];
        for (int wi = 0; wi < nw; wi++) {
            cell *blk = atomic_load_explicit(&slots[wi]->blocks[id / BLOCK], memory_order_acquire);
            if (!blk)
                continue;
            const cell *c = &blk[id % BLOCK];
            for (int k = 0; k < SY_STATS_CLASSES; k++)
                out.by_class[k] += atomic_load_explicit(&c->c[k], memory_order_relaxed);
            out.matched += atomic_load_explicit(&c->c[CELL_MATCHED], memory_order_relaxed);
            out.sum_us += atomic_load_explicit(&c->c[CELL_SUM_US], memory_order_relaxed);
            out.bytes_in += atomic_load_explicit(&c->c[CELL_BYTES_IN], memory_order_relaxed);
            out.bytes_out += atomic_load_explicit(&c->c[CELL_BYTES_OUT], memory_order_relaxed);
            for (int k = 0; k <= SY_STATS_BUCKETS; k++)
                out.bucket[k] +=
                    atomic_load_explicit(&c->c[CELL_BUCKET0 + k], memory_order_relaxed);
        }
        for (int k = 0; k <= SY_STATS_BUCKETS; k++)
            out.count += out.bucket[k];
        cb(ud, &out);
    }
    pthread_mutex_unlock(&reg.mu);
}
