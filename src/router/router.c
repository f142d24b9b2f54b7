/* Host → service, path → environment, path + method → API.
 *
 * Tencent's API path priority (doc/tencent-model.md §3.3): `=/p` exact first,
 * then `^~/p` prefixes, then paths with {variables}, then plain prefixes
 * by length (a plain `/user` also matches `/usertest`).  Within that order
 * the first API whose method matches wins; a path that matched only APIs of
 * other methods is a 405. */
#include "router/router.h"

#include <stdlib.h>
#include <string.h>

#include "router/policy.h"

enum api_kind { API_EXACT, API_PREFIX_NOREGEX, API_PARAM, API_PREFIX, API_KIND_COUNT };

typedef struct seg {
    sy_str text; /* literal segment, or the variable name */
    int is_var;
} seg;

typedef struct api_ent {
    const sy_api_cfg *api;
    size_t index; /* dense API index */
    enum api_kind kind;
    sy_str path;   /* without "=" / "^~" */
    sy_str method; /* the API's Method; any_method for ANY */
    bool any_method;
    seg *segs; /* API_PARAM only */
    size_t n_segs, n_literal;
} api_ent;

/* Each environment routes on the APIs released there
 * (sy_service_cfg.env_apis), so one service has one table per env. */
typedef struct svc_ent {
    const sy_service_cfg *svc;
    api_ent *apis[SY_ENV_COUNT][API_KIND_COUNT];
    size_t n_apis[SY_ENV_COUNT][API_KIND_COUNT];
} svc_ent;

typedef struct dom_ent {
    sy_str name; /* lower-case; for wildcards the ".suffix" part */
    const sy_domain_cfg *dom;
    svc_ent *svc;
} dom_ent;

typedef struct attach_ent {
    const sy_policy_table *table;
    const sy_plugin_cfg *plugin;
} attach_ent;

struct sy_router {
    dom_ent *exact; /* sorted by name */
    size_t n_exact;
    dom_ent *wild; /* longest suffix first */
    size_t n_wild;
    dom_ent *any; /* "*" */
    svc_ent *svcs;
    size_t n_svcs;
    size_t n_apis;
    attach_ent *attach; /* [api_index * SY_ENV_COUNT + env] */
    sy_policy_table **tables;
    size_t n_tables;
};

static int dom_cmp(const void *a, const void *b)
{
    const dom_ent *x = a, *y = b;
    return sy_str_cmp(x->name, y->name);
}

static int wild_cmp(const void *a, const void *b)
{
    const dom_ent *x = a, *y = b;
    return x->name.len < y->name.len ? 1 : x->name.len > y->name.len ? -1 : 0;
}

static int prefix_cmp(const void *a, const void *b)
{
    const api_ent *x = a, *y = b;
    if (x->path.len != y->path.len)
        return x->path.len < y->path.len ? 1 : -1;
    return x->index < y->index ? -1 : 1;
}

static int param_cmp(const void *a, const void *b)
{
    const api_ent *x = a, *y = b;
    if (x->n_literal != y->n_literal)
        return x->n_literal < y->n_literal ? 1 : -1;
    return x->index < y->index ? -1 : 1;
}

static char *lower_dup(sy_arena *a, const char *s)
{
    char *d = sy_arena_strdup(a, s);
    for (char *p = d; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
    return d;
}

static void split_segments(sy_arena *a, api_ent *e)
{
    size_t cap = 1;
    for (size_t i = 0; i < e->path.len; i++)
        cap += e->path.p[i] == '/';
    e->segs = sy_arena_alloc(a, cap * sizeof(seg));
    size_t i = 1;
    while (i <= e->path.len) {
        size_t j = i;
        while (j < e->path.len && e->path.p[j] != '/')
            j++;
        seg *s = &e->segs[e->n_segs++];
        sy_str t = sy_str_make(e->path.p + i, j - i);
        if (t.len >= 2 && t.p[0] == '{' && t.p[t.len - 1] == '}') {
            s->is_var = 1;
            s->text = sy_str_make(t.p + 1, t.len - 2);
        } else {
            s->text = t;
            e->n_literal++;
        }
        i = j + 1;
    }
}

sy_router *sy_router_build(sy_arena *a, const sy_config *cfg, sy_errors *errs)
{
    sy_router *r = sy_arena_alloc(a, sizeof(*r));
    r->svcs = sy_arena_alloc(a, (cfg->n_services + 1) * sizeof(svc_ent));
    r->n_svcs = cfg->n_services;
    size_t n_dom = 0, api_index = 0;
    for (size_t i = 0; i < cfg->n_services; i++)
        n_dom += cfg->services[i].n_domains;
    r->exact = sy_arena_alloc(a, (n_dom + 1) * sizeof(dom_ent));
    r->wild = sy_arena_alloc(a, (n_dom + 1) * sizeof(dom_ent));

    for (size_t i = 0; i < cfg->n_services; i++) {
        const sy_service_cfg *svc = &cfg->services[i];
        svc_ent *se = &r->svcs[i];
        se->svc = svc;
        for (int env = 0; env < SY_ENV_COUNT; env++) {
            api_ent **apis = se->apis[env];
            size_t *n_apis = se->n_apis[env];
            size_t n_live = svc->n_env_apis[env];
            for (int k = 0; k < API_KIND_COUNT; k++)
                apis[k] = sy_arena_alloc(a, (n_live + 1) * sizeof(api_ent));
            for (size_t j = 0; j < n_live; j++) {
                const sy_api_cfg *api = &svc->env_apis[env][j];
                const char *p = api->path;
                enum api_kind kind;
                if (p[0] == '=') {
                    kind = API_EXACT;
                    p++;
                } else if (p[0] == '^' && p[1] == '~') {
                    kind = API_PREFIX_NOREGEX;
                    p += 2;
                } else if (strchr(p, '{')) {
                    kind = API_PARAM;
                } else {
                    kind = API_PREFIX;
                }
                api_ent *e = &apis[kind][n_apis[kind]++];
                e->api = api;
                e->index = api_index++;
                e->kind = kind;
                e->path = sy_str_c(p);
                e->method = sy_str_c(api->method);
                e->any_method =
                    strcmp(api->method, "ANY") == 0; /* compiled once, not per request */
                if (kind == API_PARAM)
                    split_segments(a, e);
            }
            qsort(apis[API_PREFIX_NOREGEX], n_apis[API_PREFIX_NOREGEX], sizeof(api_ent),
                  prefix_cmp);
            qsort(apis[API_PREFIX], n_apis[API_PREFIX], sizeof(api_ent), prefix_cmp);
            qsort(apis[API_PARAM], n_apis[API_PARAM], sizeof(api_ent), param_cmp);
        }

        for (size_t d = 0; d < svc->n_domains; d++) {
            const sy_domain_cfg *dom = &svc->domains[d];
            char *name = lower_dup(a, dom->name);
            dom_ent de = {.dom = dom, .svc = se};
            if (strcmp(name, "*") == 0) {
                r->any = sy_arena_alloc(a, sizeof(dom_ent));
                *r->any = de;
                r->any->name = sy_str_c(name);
            } else if (name[0] == '*' && name[1] == '.') {
                de.name = sy_str_c(name + 1); /* ".example.com" */
                r->wild[r->n_wild++] = de;
            } else {
                de.name = sy_str_c(name);
                r->exact[r->n_exact++] = de;
            }
        }
    }
    qsort(r->exact, r->n_exact, sizeof(dom_ent), dom_cmp);
    qsort(r->wild, r->n_wild, sizeof(dom_ent), wild_cmp);
    r->n_apis = api_index;

    /* Plugin attachments: at most one Routing plugin per (API, env), which
     * the validator already enforced. */
    r->attach = sy_arena_alloc(a, (api_index + 1) * SY_ENV_COUNT * sizeof(attach_ent));
    r->tables = sy_arena_alloc(a, (cfg->n_plugins + 1) * sizeof(*r->tables));
    for (size_t pi = 0; pi < cfg->n_plugins; pi++) {
        const sy_plugin_cfg *pl = &cfg->plugins[pi];
        sy_policy_table *table = sy_policy_table_build(a, pl, cfg->file, errs);
        if (!table)
            continue;
        r->tables[r->n_tables++] = table;
        for (size_t ai = 0; ai < pl->n_attachments; ai++) {
            const sy_attachment_cfg *at = &pl->attachments[ai];
            for (size_t k = 0; k < at->n_api_ids; k++) {
                for (size_t s = 0; s < r->n_svcs; s++) {
                    svc_ent *se = &r->svcs[s];
                    if (strcmp(se->svc->id, at->service_id) != 0)
                        continue;
                    for (int kind = 0; kind < API_KIND_COUNT; kind++)
                        for (size_t j = 0; j < se->n_apis[at->env][kind]; j++) {
                            api_ent *e = &se->apis[at->env][kind][j];
                            if (strcmp(e->api->id, at->api_ids[k]) == 0) {
                                attach_ent *slot = &r->attach[e->index * SY_ENV_COUNT + at->env];
                                slot->table = table;
                                slot->plugin = pl;
                            }
                        }
                }
            }
        }
    }
    return r;
}

void sy_router_free(sy_router *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_tables; i++)
        sy_policy_table_free(r->tables[i]);
    r->n_tables = 0;
}

size_t sy_router_api_count(const sy_router *r)
{
    return r->n_apis;
}

static const dom_ent *find_domain(const sy_router *r, sy_str host)
{
    size_t lo = 0, hi = r->n_exact;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = sy_str_cmp(host, r->exact[mid].name);
        if (c == 0)
            return &r->exact[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    for (size_t i = 0; i < r->n_wild; i++) {
        sy_str suf = r->wild[i].name;
        /* "*.example.com" matches "a.example.com" and "a.b.example.com",
         * not "example.com" itself. */
        if (host.len > suf.len && memcmp(host.p + host.len - suf.len, suf.p, suf.len) == 0)
            return &r->wild[i];
    }
    return r->any;
}

static int method_ok(const api_ent *e, sy_str method)
{
    return e->any_method || sy_str_eq(method, e->method);
}

static int match_param(const api_ent *e, sy_str path, sy_route *out)
{
    size_t i = 1, si = 0;
    size_t n = 0;
    if (path.len == 0 || path.p[0] != '/')
        return 0;
    while (si < e->n_segs) {
        if (i > path.len)
            return 0;
        size_t j = i;
        while (j < path.len && path.p[j] != '/')
            j++;
        sy_str t = sy_str_make(path.p + i, j - i);
        const seg *s = &e->segs[si++];
        if (s->is_var) {
            if (t.len == 0)
                return 0;
            if (n < SY_ROUTE_MAX_PARAMS) {
                out->param_names[n] = s->text;
                out->param_values[n] = t;
                n++;
            }
        } else if (!sy_str_eq(t, s->text)) {
            return 0;
        }
        i = j + 1;
    }
    /* The whole path must be consumed (a trailing slash is tolerated). */
    if (i < path.len)
        return 0;
    out->n_params = n;
    out->remainder = SY_STR_NULL;
    return 1;
}

void sy_router_resolve(const sy_router *r, sy_req_view *rv, sy_str full_path, sy_route *out)
{
    memset(out, 0, sizeof(*out));
    out->env = -1;
    const dom_ent *d = find_domain(r, rv->host);
    if (!d) {
        out->status = 404;
        out->error = "no service for this host";
        return;
    }
    const svc_ent *se = d->svc;
    out->service = se->svc;
    out->domain = d->dom;

    sy_str rel = full_path;
    if (d->dom->n_mappings) {
        const sy_path_mapping_cfg *best = NULL;
        size_t best_len = 0;
        for (size_t i = 0; i < d->dom->n_mappings; i++) {
            const sy_path_mapping_cfg *m = &d->dom->mappings[i];
            size_t ml = strlen(m->path);
            while (ml > 1 && m->path[ml - 1] == '/')
                ml--;
            if (ml == 1 && m->path[0] == '/') {
                if (!best) {
                    best = m;
                    best_len = 0;
                }
                continue;
            }
            if (full_path.len >= ml && memcmp(full_path.p, m->path, ml) == 0 &&
                (full_path.len == ml || full_path.p[ml] == '/') && (ml > best_len || !best)) {
                best = m;
                best_len = ml;
            }
        }
        if (!best) {
            out->status = 404;
            out->error = "no path mapping for this path";
            return;
        }
        out->env = best->env;
        rel = sy_str_make(full_path.p + best_len, full_path.len - best_len);
    } else {
        size_t j = 1;
        while (j < full_path.len && full_path.p[j] != '/')
            j++;
        int env = full_path.len > 1 ? sy_env_index(full_path.p + 1, j - 1) : -1;
        if (env < 0) {
            out->status = 404;
            out->error =
                "unknown environment (the first path segment names it: test, prepub or release)";
            return;
        }
        out->env = env;
        rel = sy_str_make(full_path.p + j, full_path.len - j);
    }
    if (rel.len == 0)
        rel = SY_STR_LIT("/");
    rv->path = rel;
    out->rel_path = rel;
    if (!(se->svc->env_mask & (1u << out->env))) {
        out->status = 404;
        out->error = "service is not released in this environment";
        return;
    }

    int path_hit = 0;
    for (int kind = 0; kind < API_KIND_COUNT; kind++) {
        for (size_t i = 0; i < se->n_apis[out->env][kind]; i++) {
            const api_ent *e = &se->apis[out->env][kind][i];
            int hit = 0;
            switch (kind) {
            case API_EXACT:
                hit = sy_str_eq(rel, e->path);
                out->remainder = SY_STR_NULL;
                break;
            case API_PARAM:
                hit = match_param(e, rel, out);
                break;
            default:
                hit = sy_str_starts(rel, e->path);
                if (hit) {
                    /* An API path ending in '/' (e.g. "/" or "/product/")
                     * matched up to a separator: keep that slash in the
                     * remainder, so backend "/root" + "/items/2" joins as
                     * "/root/items/2" (Tencent: "/product/" + backend
                     * "/tencent/" gives "/tencent/apigw/document"). */
                    size_t cut = e->path.len;
                    if (cut && e->path.p[cut - 1] == '/' && rel.len > cut)
                        cut--; /* ...but "/" alone adds nothing */
                    out->remainder = sy_str_make(rel.p + cut, rel.len - cut);
                }
                break;
            }
            if (!hit)
                continue;
            path_hit = 1;
            if (!method_ok(e, rv->method))
                continue;
            out->api = e->api;
            out->api_index = e->index;
            out->backend = &e->api->backend;
            const attach_ent *at = &r->attach[e->index * SY_ENV_COUNT + out->env];
            out->policies = at->table;
            out->plugin = at->plugin;
            return;
        }
    }
    out->n_params = 0;
    out->status = path_hit ? 405 : 404;
    out->error = path_hit ? "method not allowed for this API" : "no API matches this path";
}

void sy_router_pick_backend(const sy_router *r, const sy_req_view *rv, sy_route *out)
{
    (void)r;
    if (out->status || !out->policies)
        return;
    sy_policy_arm arm = {0};
    const sy_policy *p = sy_policy_table_find_arm(out->policies, rv, &arm);
    out->rollout = arm.rollout;
    out->arm = arm.arm;
    if (p) {
        out->policy = p->cfg;
        out->backend = p->cfg->backend;
    }
}

int sy_route_backend_path(const sy_route *rt, char *buf, size_t cap)
{
    const char *bp = rt->backend->path ? rt->backend->path : "/";
    size_t n = 0;
#define PUT(c)                                                                                     \
    do {                                                                                           \
        if (n + 1 >= cap)                                                                          \
            return -1;                                                                             \
        buf[n++] = (c);                                                                            \
    } while (0)
    for (const char *p = bp; *p; p++) {
        if (*p == '{') {
            const char *end = strchr(p, '}');
            if (end) {
                sy_str name = sy_str_make(p + 1, (size_t)(end - p - 1));
                for (size_t i = 0; i < rt->n_params; i++) {
                    if (sy_str_eq(rt->param_names[i], name)) {
                        for (size_t k = 0; k < rt->param_values[i].len; k++)
                            PUT(rt->param_values[i].p[k]);
                        break;
                    }
                }
                p = end;
                continue;
            }
        }
        PUT(*p);
    }
    sy_str rem = rt->remainder;
    if (rem.len && rem.p[0] == '/' && n && buf[n - 1] == '/') {
        rem.p++;
        rem.len--;
    }
    for (size_t k = 0; k < rem.len; k++)
        PUT(rem.p[k]);
    if (n == 0)
        PUT('/');
    else if (buf[0] != '/') {
        if (n + 2 >= cap)
            return -1;
        memmove(buf + 1, buf, n);
        buf[0] = '/';
        n++;
    }
#undef PUT
    buf[n] = '\0';
    return (int)n;
}
