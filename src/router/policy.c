/* Building and matching a Routing plugin's policy table.
 *
 * Order: Tencent tries policies by weight descending, equal weights newest
 * first.  `seq` is the creation order (later in PluginData = newer); equal
 * seqs (a loader that did not set it) fall back to the array position.
 *
 * Index: a policy whose condition is `param = const`, `param in (...)` or
 * an `or` of those (sy_expr_index_keys) is true exactly when one of its
 * (param, constant) keys equals the request's value.  Per parameter we
 * keep two hash tables, string constants and number constants, mapping a
 * key to the lowest evaluation position that holds it.  Matching looks each
 * parameter's value up once, which gives the best indexed candidate, and
 * then evaluates only the non-indexed policies in front of it, so the
 * first-match order is exactly the unindexed one.  Number keys are looked
 * up with the value read by sy_expr_parse_number, the same reading the
 * `=` comparison uses, so `header.id = 7` still matches "007" and "7.0". */
#include "router/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

/* Beyond this many distinct indexed parameters in one plugin, policies on
 * new parameters are evaluated instead: each indexed parameter costs one
 * lookup per request whether or not its policies could win. */
#define MAX_INDEXED_PARAMS 32

/* String slots point at key texts packed in the table's arena; number
 * slots hold the value.  16 bytes each: a 100,000-key table is 4 MiB. */
typedef struct sslot {
    const char *p;     /* NULL = empty */
    uint32_t len, pos; /* pos: lowest evaluation position with this key */
} sslot;

typedef struct nslot {
    double num;
    uint32_t pos;
    bool used;
} nslot;

typedef struct htab {
    void *slots;   /* sslot or nslot */
    size_t cap, n; /* cap is a power of two, at most half full */
} htab;

typedef struct pindex {
    sy_expr_param param;
    htab str, num;
    size_t n_str, n_num; /* keys counted during the first pass */
} pindex;

/* A running rollout's share test on one policy (doc/rollouts.md). */
typedef struct gate {
    const sy_rollout_cfg *ro;
    bool has_param; /* SplitBy given: bucket by its hash */
    sy_expr_param param;
} gate;

struct sy_policy_table {
    gate **gates;     /* per PluginData index, NULL = ungated; NULL = none */
    sy_policy *order; /* evaluation order */
    size_t n;
    uint32_t *scan; /* positions of non-indexed policies, ascending */
    size_t n_scan;
    pindex *params;
    size_t n_params;
};

/* ---- hash tables ---- */

static uint64_t hash_str(sy_str s)
{
    return XXH3_64bits(s.p ? s.p : "", s.len);
}

static uint64_t hash_num(double d)
{
    return XXH3_64bits(&d, sizeof(d));
}

static void htab_init(sy_arena *a, htab *h, size_t keys, size_t slot_size)
{
    size_t cap = 8;
    while (cap < keys * 2)
        cap *= 2;
    h->slots = sy_arena_alloc(a, cap * slot_size);
    h->cap = cap;
}

/* Insert unless present: positions arrive in ascending order, so the first
 * insertion of a key is its lowest position.  String keys already live in
 * the table's arena. */
static void htab_put_str(htab *h, sy_str k, uint32_t pos)
{
    size_t mask = h->cap - 1;
    sslot *slots = h->slots;
    for (size_t i = hash_str(k) & mask;; i = (i + 1) & mask) {
        sslot *s = &slots[i];
        if (!s->p) {
            *s = (sslot){k.p ? k.p : "", (uint32_t)k.len, pos};
            h->n++;
            return;
        }
        if (s->len == k.len && (k.len == 0 || memcmp(s->p, k.p, k.len) == 0))
            return;
    }
}

static void htab_put_num(htab *h, double d, uint32_t pos)
{
    size_t mask = h->cap - 1;
    nslot *slots = h->slots;
    for (size_t i = hash_num(d) & mask;; i = (i + 1) & mask) {
        nslot *s = &slots[i];
        if (!s->used) {
            *s = (nslot){d, pos, true};
            h->n++;
            return;
        }
        if (s->num == d)
            return;
    }
}

static uint32_t htab_get_str(const htab *h, sy_str v)
{
    size_t mask = h->cap - 1;
    const sslot *slots = h->slots;
    for (size_t i = hash_str(v) & mask;; i = (i + 1) & mask) {
        const sslot *s = &slots[i];
        if (!s->p)
            return UINT32_MAX;
        if (s->len == v.len && (v.len == 0 || memcmp(s->p, v.p, v.len) == 0))
            return s->pos;
    }
}

static uint32_t htab_get_num(const htab *h, double d)
{
    size_t mask = h->cap - 1;
    const nslot *slots = h->slots;
    for (size_t i = hash_num(d) & mask;; i = (i + 1) & mask) {
        const nslot *s = &slots[i];
        if (!s->used)
            return UINT32_MAX;
        if (s->num == d)
            return s->pos;
    }
}

/* ---- build ---- */

static int by_order(const void *pa, const void *pb)
{
    const sy_policy *a = pa, *b = pb;
    if (a->cfg->weight != b->cfg->weight)
        return a->cfg->weight > b->cfg->weight ? -1 : 1;
    if (a->cfg->seq != b->cfg->seq)
        return a->cfg->seq > b->cfg->seq ? -1 : 1;
    return a->index > b->index ? -1 : a->index < b->index ? 1 : 0;
}

/* The (parameter, constant) keys of every indexable policy, gathered while
 * compiling: the constant texts go to the table's arena (they are the hash
 * keys), parameter names to a scratch arena freed after the build. */
typedef struct key {
    sy_expr_param param;
    bool is_num;
    sy_str s;
    double num;
} key;

typedef struct keys {
    sy_arena *a, *names;
    key *k;
    size_t n, cap;
    uint32_t *first, *count; /* per PluginData position */
} keys;

static void collect_key(void *ud, const sy_expr_param *p, const sy_expr_lit *v)
{
    keys *ks = ud;
    if (ks->n == ks->cap) {
        ks->cap = ks->cap ? ks->cap * 2 : 64;
        ks->k = sy_realloc(ks->k, ks->cap * sizeof(*ks->k));
    }
    key *k = &ks->k[ks->n++];
    k->param = *p;
    k->param.name = sy_arena_str(ks->names, p->name);
    k->is_num = v->type == SY_LIT_NUM;
    k->num = v->num;
    k->s = k->is_num ? (sy_str){0} : sy_arena_str(ks->a, v->s);
}

static ssize_t find_param(const sy_policy_table *t, const sy_expr_param *p)
{
    for (size_t i = 0; i < t->n_params; i++)
        if (sy_expr_param_eq(&t->params[i].param, p))
            return (ssize_t)i;
    return -1;
}

/* A policy the index cannot take after all needs its condition. */
static void compile_kept(sy_arena *a, sy_policy *pol)
{
    char err[256];
    int col;
    pol->cond = sy_expr_compile(a, pol->cfg->condition, err, sizeof(err), &col);
}

static void build_index(sy_arena *a, sy_policy_table *t, const keys *ks)
{
    t->params = sy_arena_alloc(a, MAX_INDEXED_PARAMS * sizeof(*t->params));
    t->scan = sy_arena_alloc(a, (t->n ? t->n : 1) * sizeof(*t->scan));

    for (size_t i = 0; i < t->n; i++) {
        sy_policy *pol = &t->order[i];
        size_t kn = pol->cond ? 0 : ks->count[pol->index];
        /* A table with no keys at all has no key array: never form a
         * pointer into it (UBSan: zero offset on NULL). */
        const key *kp = kn ? &ks->k[ks->first[pol->index]] : NULL;
        /* All of a policy's parameters must fit, or none is indexed. */
        size_t fresh = 0;
        for (size_t k = 0; k < kn; k++) {
            if (find_param(t, &kp[k].param) >= 0)
                continue;
            bool dup = false;
            for (size_t j = 0; j < k && !dup; j++)
                dup = sy_expr_param_eq(&kp[j].param, &kp[k].param);
            if (!dup)
                fresh++;
        }
        if (pol->cond || t->n_params + fresh > MAX_INDEXED_PARAMS) {
            if (!pol->cond)
                compile_kept(a, pol);
            t->scan[t->n_scan++] = (uint32_t)i;
            continue;
        }
        pol->indexed = true;
        for (size_t k = 0; k < kn; k++) {
            ssize_t pi = find_param(t, &kp[k].param);
            if (pi < 0) {
                pi = (ssize_t)t->n_params++;
                t->params[pi].param = kp[k].param;
                t->params[pi].param.name = sy_arena_str(a, kp[k].param.name);
            }
            if (kp[k].is_num)
                t->params[pi].n_num++;
            else
                t->params[pi].n_str++;
        }
    }
    for (size_t i = 0; i < t->n_params; i++) {
        pindex *px = &t->params[i];
        if (px->n_str)
            htab_init(a, &px->str, px->n_str, sizeof(sslot));
        if (px->n_num)
            htab_init(a, &px->num, px->n_num, sizeof(nslot));
    }
    /* Second pass in evaluation order, so each key keeps its lowest
     * position. */
    for (size_t i = 0; i < t->n; i++) {
        const sy_policy *pol = &t->order[i];
        if (!pol->indexed || !ks->count[pol->index])
            continue;
        const key *kp = &ks->k[ks->first[pol->index]];
        for (size_t k = 0; k < ks->count[pol->index]; k++) {
            pindex *px = &t->params[find_param(t, &kp[k].param)];
            if (kp[k].is_num)
                htab_put_num(&px->num, kp[k].num, (uint32_t)i);
            else
                htab_put_str(&px->str, kp[k].s, (uint32_t)i);
        }
    }
}

/* SplitBy is any condition operand: compile `OPERAND = ''` and take the
 * parameter the index would look up, so it reads exactly as a condition
 * would (header names, cookies, query, client_ip, ...). */
typedef struct split_key {
    sy_arena *a;
    sy_expr_param param;
    int n;
} split_key;

static void take_split(void *ud, const sy_expr_param *p, const sy_expr_lit *v)
{
    (void)v;
    split_key *sk = ud;
    if (sk->n++ == 0) {
        sk->param = *p;
        sk->param.name = sy_arena_str(sk->a, p->name);
    }
}

static gate *make_gate(sy_arena *a, const sy_rollout_cfg *ro, const char *file, sy_errors *errs)
{
    gate *g = sy_arena_alloc(a, sizeof(*g));
    g->ro = ro;
    if (!ro->split_by)
        return g;
    char src[600], err[256];
    int col = 0;
    snprintf(src, sizeof(src), "%s = ''", ro->split_by);
    sy_arena tmp;
    sy_arena_init(&tmp, 1024);
    sy_expr *e =
        strlen(ro->split_by) < 500 ? sy_expr_compile(&tmp, src, err, sizeof(err), &col) : NULL;
    split_key sk = {.a = a};
    bool ok = e && sy_expr_index_keys(e, take_split, &sk) && sk.n == 1;
    sy_expr_free(e);
    sy_arena_free(&tmp);
    if (!ok) {
        char path[160];
        snprintf(path, sizeof(path), "Rollouts[%s].SplitBy", ro->id ? ro->id : "?");
        sy_errors_at(errs, file, ro->mark, path,
                     "'%s' is not a request operand (header.NAME, cookie.NAME, query.NAME, "
                     "client_ip, ...)",
                     ro->split_by);
        return NULL;
    }
    g->has_param = true;
    g->param = sk.param;
    return g;
}

sy_policy_table *sy_policy_table_build_at(sy_arena *a, const sy_plugin_cfg *p, const char *file,
                                          const char *path, sy_errors *errs)
{
    sy_policy_table *t = sy_arena_alloc(a, sizeof(*t));
    t->n = p->n_policies;
    t->order = sy_arena_alloc(a, (t->n ? t->n : 1) * sizeof(*t->order));
    bool failed = false;
    const char *pid = p->id ? p->id : "?";
    /* Conditions compile into `scratch` first; only those the index
     * cannot answer are compiled again into the table's arena. */
    sy_arena scratch, names;
    sy_arena_init(&scratch, 4096);
    sy_arena_init(&names, 4096);
    keys ks = {.a = a, .names = &names};
    ks.first = sy_malloc((t->n ? t->n : 1) * sizeof(*ks.first));
    ks.count = sy_calloc(t->n ? t->n : 1, sizeof(*ks.count));
    for (size_t j = 0; j < t->n; j++) {
        const sy_policy_cfg *pc = &p->policies[j];
        sy_policy *pol = &t->order[j];
        pol->cfg = pc;
        pol->index = (uint32_t)j;
        if (!pc->condition) {
            char cpath[256];
            snprintf(cpath, sizeof(cpath), "%s.PluginData[%zu].condition", path, j);
            sy_errors_at(errs, file, pc->mark, cpath, "plugin %s, policy '%s': no condition", pid,
                         pc->name ? pc->name : "?");
            failed = true;
            continue;
        }
        char err[256];
        int col = 0;
        sy_expr *e = sy_expr_compile(&scratch, pc->condition, err, sizeof(err), &col);
        if (!e) {
            char cpath[256];
            snprintf(cpath, sizeof(cpath), "%s.PluginData[%zu].condition", path, j);
            sy_mark m = pc->cond_mark;
            m.col += col > 0 ? col - 1 : 0;
            sy_errors_at(errs, file, m, cpath, "plugin %s, policy '%s', condition column %d: %s",
                         pid, pc->name ? pc->name : "?", col, err);
            failed = true;
            continue;
        }
        ks.first[j] = (uint32_t)ks.n;
        const sy_rollout_cfg *ro = p->rollout_of ? p->rollout_of[j] : NULL;
        if (ro) {
            /* A gated policy is evaluated: the index cannot fall through
             * to the next policy when the share test fails. */
            if (!t->gates)
                t->gates = sy_arena_alloc(a, t->n * sizeof(*t->gates));
            if (!(t->gates[j] = make_gate(a, ro, file, errs)))
                failed = true;
            compile_kept(a, pol);
        } else if (sy_expr_index_keys(e, collect_key, &ks))
            ks.count[j] = (uint32_t)(ks.n - ks.first[j]);
        else
            compile_kept(a, pol);
        sy_expr_free(e);
        sy_arena_reset(&scratch);
    }
    sy_arena_free(&scratch);
    if (!failed) {
        qsort(t->order, t->n, sizeof(*t->order), by_order);
        for (size_t i = 0; i < t->n; i++)
            t->order[i].order = (uint32_t)i;
        build_index(a, t, &ks);
    }
    free(ks.k);
    free(ks.first);
    free(ks.count);
    sy_arena_free(&names);
    if (failed) {
        sy_policy_table_free(t);
        return NULL;
    }
    return t;
}

sy_policy_table *sy_policy_table_build(sy_arena *a, const sy_plugin_cfg *p, const char *file,
                                       sy_errors *errs)
{
    char path[160];
    snprintf(path, sizeof(path), "Plugins[%s]", p->id ? p->id : "?");
    return sy_policy_table_build_at(a, p, file, path, errs);
}

void sy_policy_table_free(sy_policy_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        sy_expr_free(t->order[i].cond);
        t->order[i].cond = NULL;
    }
}

/* ---- match ---- */

static __thread uint64_t split_rng;

/* splitmix64 (as Random()), seeded per thread from its own address and the clock. */
static double split_random(void)
{
    if (!split_rng)
        split_rng = (uint64_t)(uintptr_t)&split_rng ^ ((uint64_t)time(NULL) << 20) ^ 1;
    uint64_t z = (split_rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}

/* The request's bucket in [0, 1): the top 53 bits of XXH3-64 of the
 * SplitBy value, the same number hash() gives, so buckets are stable
 * across steps, workers, gateways and restarts.  A request without the
 * value is outside every share (bucket 1). */
static double gate_bucket(const gate *g, const sy_req_view *rv)
{
    if (!g->has_param)
        return rv->force_random ? *rv->force_random : split_random();
    if (rv->force_hash)
        return *rv->force_hash;
    sy_str v;
    if (!sy_expr_fetch(&g->param, rv, &v))
        return 1.0;
    uint64_t h = XXH3_64bits(v.p ? v.p : "", v.len);
    return (double)(h >> 11) * 0x1.0p-53;
}

/* Whether a policy whose condition held keeps the request. */
static bool gate_pass(const sy_policy_table *t, const sy_policy *pol, const sy_req_view *rv,
                      sy_policy_arm *arm)
{
    const gate *g = t->gates ? t->gates[pol->index] : NULL;
    if (!g)
        return true;
    double b = gate_bucket(g, rv);
    bool in = b < g->ro->weight / 100.0;
    if (arm && (in || !arm->rollout))
        *arm = (sy_policy_arm){g->ro, in ? SY_ARM_CANARY : SY_ARM_BASELINE, b};
    return in;
}

const sy_policy *sy_policy_table_find(const sy_policy_table *t, const sy_req_view *rv)
{
    return sy_policy_table_find_arm(t, rv, NULL);
}

const sy_policy *sy_policy_table_find_arm(const sy_policy_table *t, const sy_req_view *rv,
                                          sy_policy_arm *arm)
{
    uint32_t best = UINT32_MAX;
    /* Values decoded for lookups are used before any evaluation resets
     * the fallback scratch, so they stay valid long enough. */
    sy_expr_scratch_reset(rv);
    for (size_t i = 0; i < t->n_params; i++) {
        const pindex *px = &t->params[i];
        sy_str v;
        if (!sy_expr_fetch(&px->param, rv, &v))
            continue;
        if (px->str.n) {
            uint32_t pos = htab_get_str(&px->str, v);
            if (pos < best)
                best = pos;
        }
        double d;
        if (px->num.n && sy_expr_parse_number(v, &d)) {
            uint32_t pos = htab_get_num(&px->num, d);
            if (pos < best)
                best = pos;
        }
    }
    for (size_t i = 0; i < t->n_scan && t->scan[i] < best; i++) {
        const sy_policy *pol = &t->order[t->scan[i]];
        if (sy_expr_eval(pol->cond, rv) && gate_pass(t, pol, rv, arm))
            return pol;
    }
    return best == UINT32_MAX ? NULL : &t->order[best];
}

const sy_policy_cfg *sy_policy_table_match(const sy_policy_table *t, const sy_req_view *rv)
{
    const sy_policy *pol = sy_policy_table_find(t, rv);
    return pol ? pol->cfg : NULL;
}

size_t sy_policy_table_count(const sy_policy_table *t)
{
    return t->n;
}

const sy_policy *sy_policy_table_at(const sy_policy_table *t, size_t i)
{
    return i < t->n ? &t->order[i] : NULL;
}

size_t sy_policy_table_indexed(const sy_policy_table *t)
{
    return t->n - t->n_scan;
}

const sy_policy *sy_policy_table_explain(const sy_policy_table *t, const sy_req_view *rv,
                                         sy_policy_explain_cb *cb, void *ud)
{
    return sy_policy_table_explain_arm(t, rv, cb, ud, NULL);
}

const sy_policy *sy_policy_table_explain_arm(const sy_policy_table *t, const sy_req_view *rv,
                                             sy_policy_explain_cb *cb, void *ud, sy_policy_arm *arm)
{
    sy_policy_arm local = {0};
    if (!arm)
        arm = &local;
    const sy_policy *win = NULL;
    char detail[4096];
    sy_arena tmp;
    sy_arena_init(&tmp, 4096);
    for (size_t i = 0; i < t->n; i++) {
        const sy_policy *pol = &t->order[i];
        if (win) {
            cb(ud, pol, SY_POLICY_SKIPPED, "");
            continue;
        }
        detail[0] = '\0';
        sy_expr *e = pol->cond;
        if (!e) {
            char err[256];
            int col;
            sy_arena_reset(&tmp);
            e = sy_expr_compile(&tmp, pol->cfg->condition, err, sizeof(err), &col);
        }
        bool r = sy_expr_explain(e, rv, detail, sizeof(detail));
        if (e != pol->cond)
            sy_expr_free(e);
        const gate *g = t->gates ? t->gates[pol->index] : NULL;
        if (r && g) {
            sy_policy_arm was = *arm;
            r = gate_pass(t, pol, rv, arm);
            size_t dl = strlen(detail);
            double b = r || !was.rollout ? arm->bucket : gate_bucket(g, rv);
            snprintf(detail + dl, sizeof(detail) - dl,
                     "rollout %s (%s, step %d): bucket %.6g %s share %d%% -> %s\n", g->ro->id,
                     sy_rollout_phase_names[g->ro->phase], g->ro->step + 1, b,
                     r ? "<" : ">=", g->ro->weight,
                     r ? "canary arm: this policy serves the request"
                       : "baseline arm: the next policy or the API default serves it");
        }
        if (r)
            win = pol;
        cb(ud, pol, r ? SY_POLICY_MATCHED : SY_POLICY_NO_MATCH, detail);
    }
    sy_arena_free(&tmp);
    return win;
}
