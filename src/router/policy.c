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
#include <xxhash.h>

/* Beyond this many distinct indexed parameters in one plugin, policies on
 * new parameters are evaluated instead: each indexed parameter costs one
 * lookup per request whether or not its policies could win. */
#define MAX_INDEXED_PARAMS 32

typedef struct slot {
    sy_str key;        /* string tables */
    double num;        /* number tables */
    uint32_t pos;      /* lowest evaluation position with this key */
    bool used;
} slot;

typedef struct htab {
    slot *slots;
    size_t cap, n;     /* cap is a power of two, at most half full */
} htab;

typedef struct pindex {
    sy_expr_param param;
    htab str, num;
    size_t n_str, n_num; /* keys counted during the first pass */
} pindex;

struct sy_policy_table {
    sy_policy *order;          /* evaluation order */
    size_t n;
    uint32_t *scan;            /* positions of non-indexed policies, ascending */
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

static void htab_init(sy_arena *a, htab *h, size_t keys)
{
    size_t cap = 8;
    while (cap < keys * 2)
        cap *= 2;
    h->slots = sy_arena_alloc(a, cap * sizeof(*h->slots));
    h->cap = cap;
}

/* Insert unless present: positions arrive in ascending order, so the first
 * insertion of a key is its lowest position. */
static void htab_put(htab *h, bool is_num, const sy_expr_lit *k, uint32_t pos)
{
    uint64_t hv = is_num ? hash_num(k->num) : hash_str(k->s);
    size_t mask = h->cap - 1;
    for (size_t i = hv & mask;; i = (i + 1) & mask) {
        slot *s = &h->slots[i];
        if (!s->used) {
            s->used = true;
            s->key = k->s;
            s->num = k->num;
            s->pos = pos;
            h->n++;
            return;
        }
        if (is_num ? s->num == k->num : sy_str_eq(s->key, k->s))
            return;
    }
}

static uint32_t htab_get_str(const htab *h, sy_str v)
{
    size_t mask = h->cap - 1;
    for (size_t i = hash_str(v) & mask;; i = (i + 1) & mask) {
        const slot *s = &h->slots[i];
        if (!s->used)
            return UINT32_MAX;
        if (sy_str_eq(s->key, v))
            return s->pos;
    }
}

static uint32_t htab_get_num(const htab *h, double d)
{
    size_t mask = h->cap - 1;
    for (size_t i = hash_num(d) & mask;; i = (i + 1) & mask) {
        const slot *s = &h->slots[i];
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

/* Keys of one policy, gathered before deciding whether it is indexed. */
typedef struct keybuf {
    const sy_expr_param **params;
    const sy_expr_lit **lits;
    size_t n, cap;
} keybuf;

static void collect_key(void *ud, const sy_expr_param *p, const sy_expr_lit *v)
{
    keybuf *kb = ud;
    if (kb->n == kb->cap) {
        kb->cap = kb->cap ? kb->cap * 2 : 16;
        kb->params = sy_realloc(kb->params, kb->cap * sizeof(*kb->params));
        kb->lits = sy_realloc(kb->lits, kb->cap * sizeof(*kb->lits));
    }
    kb->params[kb->n] = p;
    kb->lits[kb->n] = v;
    kb->n++;
}

static ssize_t find_param(const sy_policy_table *t, const sy_expr_param *p)
{
    for (size_t i = 0; i < t->n_params; i++)
        if (sy_expr_param_eq(&t->params[i].param, p))
            return (ssize_t)i;
    return -1;
}

/* Per-key record from the first pass: which parameter, which constant,
 * which position. */
typedef struct pending {
    uint32_t param, pos;
    const sy_expr_lit *lit;
} pending;

static void build_index(sy_arena *a, sy_policy_table *t)
{
    keybuf kb = {0};
    pending *pend = NULL;
    size_t n_pend = 0, cap_pend = 0;
    t->params = sy_arena_alloc(a, MAX_INDEXED_PARAMS * sizeof(*t->params));
    t->scan = sy_arena_alloc(a, (t->n ? t->n : 1) * sizeof(*t->scan));

    for (size_t i = 0; i < t->n; i++) {
        sy_policy *pol = &t->order[i];
        kb.n = 0;
        bool ok = sy_expr_index_keys(pol->cond, collect_key, &kb);
        /* All of a policy's parameters must fit, or none is indexed. */
        size_t fresh = 0;
        for (size_t k = 0; ok && k < kb.n; k++) {
            if (find_param(t, kb.params[k]) >= 0)
                continue;
            bool dup = false;
            for (size_t j = 0; j < k && !dup; j++)
                dup = sy_expr_param_eq(kb.params[j], kb.params[k]);
            if (!dup)
                fresh++;
        }
        if (!ok || t->n_params + fresh > MAX_INDEXED_PARAMS) {
            t->scan[t->n_scan++] = (uint32_t)i;
            continue;
        }
        pol->indexed = true;
        for (size_t k = 0; k < kb.n; k++) {
            ssize_t pi = find_param(t, kb.params[k]);
            if (pi < 0) {
                pi = (ssize_t)t->n_params++;
                t->params[pi].param = *kb.params[k];
            }
            if (kb.lits[k]->type == SY_LIT_NUM)
                t->params[pi].n_num++;
            else
                t->params[pi].n_str++;
            if (n_pend == cap_pend) {
                cap_pend = cap_pend ? cap_pend * 2 : 64;
                pend = sy_realloc(pend, cap_pend * sizeof(*pend));
            }
            pend[n_pend++] = (pending){(uint32_t)pi, (uint32_t)i, kb.lits[k]};
        }
    }
    for (size_t i = 0; i < t->n_params; i++) {
        pindex *px = &t->params[i];
        if (px->n_str)
            htab_init(a, &px->str, px->n_str);
        if (px->n_num)
            htab_init(a, &px->num, px->n_num);
    }
    for (size_t k = 0; k < n_pend; k++) {
        pindex *px = &t->params[pend[k].param];
        bool is_num = pend[k].lit->type == SY_LIT_NUM;
        htab_put(is_num ? &px->num : &px->str, is_num, pend[k].lit, pend[k].pos);
    }
    free(pend);
    free(kb.params);
    free(kb.lits);
}

sy_policy_table *sy_policy_table_build_at(sy_arena *a, const sy_plugin_cfg *p,
                                          const char *file, const char *path,
                                          sy_errors *errs)
{
    sy_policy_table *t = sy_arena_alloc(a, sizeof(*t));
    t->n = p->n_policies;
    t->order = sy_arena_alloc(a, (t->n ? t->n : 1) * sizeof(*t->order));
    bool failed = false;
    const char *pid = p->id ? p->id : "?";
    for (size_t j = 0; j < t->n; j++) {
        const sy_policy_cfg *pc = &p->policies[j];
        sy_policy *pol = &t->order[j];
        pol->cfg = pc;
        pol->index = (uint32_t)j;
        char cpath[256];
        snprintf(cpath, sizeof(cpath), "%s.PluginData[%zu].condition", path, j);
        if (!pc->condition) {
            sy_errors_at(errs, file, pc->mark, cpath, "plugin %s, policy '%s': no condition",
                         pid, pc->name ? pc->name : "?");
            failed = true;
            continue;
        }
        char err[256];
        int col = 0;
        pol->cond = sy_expr_compile(a, pc->condition, err, sizeof(err), &col);
        if (!pol->cond) {
            sy_mark m = pc->cond_mark;
            m.col += col > 0 ? col - 1 : 0;
            sy_errors_at(errs, file, m, cpath, "plugin %s, policy '%s', condition column %d: %s",
                         pid, pc->name ? pc->name : "?", col, err);
            failed = true;
        }
    }
    if (failed) {
        sy_policy_table_free(t);
        return NULL;
    }
    qsort(t->order, t->n, sizeof(*t->order), by_order);
    for (size_t i = 0; i < t->n; i++)
        t->order[i].order = (uint32_t)i;
    build_index(a, t);
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

const sy_policy *sy_policy_table_find(const sy_policy_table *t, const sy_req_view *rv)
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
        if (sy_expr_eval(pol->cond, rv))
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
    const sy_policy *win = NULL;
    char detail[4096];
    for (size_t i = 0; i < t->n; i++) {
        const sy_policy *pol = &t->order[i];
        if (win) {
            cb(ud, pol, SY_POLICY_SKIPPED, "");
            continue;
        }
        detail[0] = '\0';
        bool r = sy_expr_explain(pol->cond, rv, detail, sizeof(detail));
        if (r)
            win = pol;
        cb(ud, pol, r ? SY_POLICY_MATCHED : SY_POLICY_NO_MATCH, detail);
    }
    return win;
}
