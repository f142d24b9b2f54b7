/* The Plugins section: Routing plugins, their policies (PluginData) and
 * where they are attached. */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "config/dump.h"
#include "config/fields.h"
#include "config/intern.h"

static const char *const plugin_keys[] = {"PluginId",   "PluginName",  "PluginType", "Description",
                                          "PluginData", "Attachments", NULL};
static const char *const policy_keys[] = {"strategy_name", "strategy_weight", "condition",
                                          "backend_type",  "backend_config",  NULL};
static const char *const backend_keys[] = {"ServiceType",           "ServiceConfig",
                                           "ServiceTimeout",        "ServiceMockReturnMessage",
                                           "ServiceMockStatusCode", NULL};
static const char *const attachment_keys[] = {"ServiceId", "EnvironmentName", "ApiIds", NULL};
static const char *const backend_types[] = {"HTTP", "UPSTREAM", "VPC", "MOCK", NULL};
static const char *const env_names[] = {"test", "prepub", "release", NULL};

/* Tencent's documented limit per plugin. */
/* Tencent caps a plugin at 10 policies; Switchyard indexes equality tests
 * at load, so tenant routing with 100,000 policies is fine.  The cap is a
 * sanity bound against runaway files, not a product limit. */
#define MAX_POLICIES 1000000

static bool name_chars_ok(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("%~_-.{}?&=/", *s)))
            return false;
    return true;
}

/* backend_config: a mapping, or (as the console writes it) a string of
 * YAML text.  Positions inside the string are reported as the string's. */
static void load_policy_backend(sy_cfg_ctx *c, const sy_ynode *v, const sy_fpath *path,
                                sy_policy_cfg *pol, int type)
{
    const sy_ynode *map = v;
    if (v->kind == SY_YN_SCALAR && !sy_ynode_is_null(v)) {
        bool failed;
        char *ps = sy_fpath_str(path); /* for its messages */
        map = sy_ytree_parse(&c->tmp, v->str, v->len, c->file, &v->mark, c->errs, ps, &failed);
        free(ps);
        if (failed)
            return;
        if (!map) {
            sy_cfg_err(c, v->mark, path, "must not be empty");
            return;
        }
    }
    if (!sy_cfg_map(c, map, path, backend_keys))
        return;
    sy_backend_cfg b = {0};
    sy_cfg_load_backend(c, map, path, &b, true, type);
    pol->backend = sy_intern_backend(c->intern, &b);
}

static void load_policy(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path,
                        sy_policy_cfg *pol, size_t seq)
{
    char *s;
    int64_t n;
    int idx, type = -1;

    pol->mark = map->mark;
    pol->seq = (unsigned)seq;
    pol->backend = sy_intern_backend(c->intern, &(sy_backend_cfg){0}); /* until loaded */
    if (!sy_cfg_map(c, map, path, policy_keys))
        return;
    if (sy_cfg_str(c, map, path, "strategy_name", SY_REQ, &s)) {
        const sy_ynode *v = sy_ymap_get(map, "strategy_name");
        const sy_fpath *np = SY_PATH_KEY(path, "strategy_name");
        if (!*s || strlen(s) > 50)
            sy_cfg_err(c, v->mark, np, "must be 1 to 50 characters");
        else if (!name_chars_ok(s))
            sy_cfg_err(c, v->mark, np,
                       "may only contain letters, digits and %% ~ _ - . { } ? & = /");
        else
            pol->name = s; /* uniqueness: add_policy's name set */
    }
    if (sy_cfg_int(c, map, path, "strategy_weight", SY_OPT, 0, 100, &n))
        pol->weight = (int)n;
    if (sy_cfg_str(c, map, path, "condition", SY_REQ, &pol->condition)) {
        pol->cond_mark = sy_ymap_get(map, "condition")->text_mark;
        if (!*pol->condition)
            sy_cfg_err(c, pol->cond_mark, SY_PATH_KEY(path, "condition"), "must not be empty");
    }
    const sy_ynode *bt = sy_ymap_get(map, "backend_type");
    if (bt && bt->kind == SY_YN_SCALAR &&
        (strcmp(bt->str, "SCF") == 0 || strcmp(bt->str, "TSF") == 0)) {
        sy_cfg_err(c, bt->mark, SY_PATH_KEY(path, "backend_type"),
                   "%s is a cloud-only backend type, not supported", bt->str);
        return;
    }
    if (!sy_cfg_enum(c, map, path, "backend_type", SY_REQ, backend_types, &idx))
        return;
    pol->backend_type = backend_types[idx];
    type = idx == 3 ? SY_BACKEND_MOCK : SY_BACKEND_HTTP;
    const sy_ynode *bc = sy_cfg_get(c, map, path, "backend_config", SY_REQ);
    if (bc)
        load_policy_backend(c, bc, SY_PATH_KEY(path, "backend_config"), pol, type);
}

/* strategy_name uniqueness: a hash set of policy indexes, so a tenant
 * plugin with 100,000 policies loads in linear time. */
typedef struct name_set {
    size_t *slots; /* index + 1; 0 = empty */
    size_t mask, used;
} name_set;

static size_t name_slot(const name_set *ns, const sy_policy_cfg *pols, const char *name)
{
    size_t h = (size_t)XXH3_64bits(name, strlen(name)) & ns->mask;
    while (ns->slots[h] && strcmp(pols[ns->slots[h] - 1].name, name) != 0)
        h = (h + 1) & ns->mask;
    return h;
}

static const sy_policy_cfg *name_set_add(name_set *ns, sy_policy_cfg *pols, size_t idx)
{
    if (2 * (ns->used + 1) > ns->mask + 1) {
        name_set big = {sy_calloc(ns->mask ? 2 * (ns->mask + 1) : 64, sizeof(size_t)),
                        ns->mask ? 2 * ns->mask + 1 : 63, ns->used};
        for (size_t i = 0; ns->mask && i <= ns->mask; i++)
            if (ns->slots[i])
                big.slots[name_slot(&big, pols, pols[ns->slots[i] - 1].name)] = ns->slots[i];
        free(ns->slots);
        *ns = big;
    }
    size_t h = name_slot(ns, pols, pols[idx].name);
    if (ns->slots[h])
        return &pols[ns->slots[h] - 1];
    ns->slots[h] = idx + 1;
    ns->used++;
    return NULL;
}

/* Load item i of a PluginData list into pols[i] and check its name. */
static void add_policy(sy_cfg_ctx *c, const sy_ynode *item, const sy_fpath *ipath,
                       sy_policy_cfg *pols, size_t i, name_set *ns)
{
    load_policy(c, item, ipath, &pols[i], i);
    sy_policy_cfg *pol = &pols[i];
    if (!pol->name)
        return;
    const sy_policy_cfg *first = name_set_add(ns, pols, i);
    if (first) {
        const sy_ynode *nv = sy_ymap_get(item, "strategy_name");
        sy_cfg_err(c, nv ? nv->mark : pol->mark, SY_PATH_KEY(ipath, "strategy_name"),
                   "duplicate strategy_name \"%s\" (first at %d:%d)", pol->name, first->mark.line,
                   first->mark.col);
        pol->name = NULL;
    }
}

/* The policies of one plugin, loaded as the YAML streamed. */
struct sy_cfg_streamed {
    sy_policy_cfg *pols;
    size_t n, cap;
    sy_errors errs;
    name_set ns;
};

void sy_cfg_stream_policy(sy_cfg_ctx *c, size_t plugin, size_t idx, const sy_ynode *item)
{
    if (plugin >= c->n_streamed) {
        c->streamed = sy_realloc(c->streamed, (plugin + 1) * sizeof *c->streamed);
        memset(c->streamed + c->n_streamed, 0, (plugin + 1 - c->n_streamed) * sizeof *c->streamed);
        c->n_streamed = plugin + 1;
    }
    struct sy_cfg_streamed *st = &c->streamed[plugin];
    if (idx != st->n || st->n >= MAX_POLICIES)
        return; /* refused when the plugin is loaded */
    if (st->n == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 64;
        st->pols = sy_realloc(st->pols, st->cap * sizeof *st->pols);
    }
    memset(&st->pols[st->n], 0, sizeof *st->pols);
    sy_errors *keep = c->errs;
    c->errs = &st->errs;
    const sy_fpath *path = SY_PATH_KEY(SY_PATH_IDX(SY_PATH_TOP("Plugins"), plugin), "PluginData");
    add_policy(c, item, SY_PATH_IDX(path, idx), st->pols, idx, &st->ns);
    c->errs = keep;
    st->n++;
}

void sy_cfg_stream_free(sy_cfg_ctx *c)
{
    for (size_t i = 0; i < c->n_streamed; i++) {
        free(c->streamed[i].pols);
        free(c->streamed[i].ns.slots);
        sy_errors_free(&c->streamed[i].errs);
    }
    free(c->streamed);
    c->streamed = NULL;
    c->n_streamed = 0;
}

/* A streamed PluginData list: take the policies loaded meanwhile, and
 * report their problems now. */
static void adopt_streamed(sy_cfg_ctx *c, const sy_ynode *list, sy_plugin_cfg *pl)
{
    size_t i = (size_t)(pl - c->cfg->plugins);
    struct sy_cfg_streamed *st = i < c->n_streamed ? &c->streamed[i] : NULL;
    size_t n = st ? st->n : 0;
    pl->policies = sy_arena_alloc(c->a, (n ? n : 1) * sizeof *pl->policies);
    pl->n_policies = n;
    if (n)
        memcpy(pl->policies, st->pols, n * sizeof *pl->policies);
    for (size_t k = 0; st && k < st->errs.n; k++)
        sy_errors_add(c->errs, "%s", st->errs.msgs[k]);
    if (st) {
        free(st->pols);
        free(st->ns.slots);
        sy_errors_free(&st->errs);
        memset(st, 0, sizeof *st);
    }
}

/* Old backend -> its copy in the configuration being loaded: a tenant
 * table shares a few backends among all its policies. */
typedef struct backend_map {
    const sy_backend_cfg **from;
    sy_backend_cfg **to;
    size_t mask, used;
} backend_map;

static char *kept_str(sy_cfg_ctx *c, const char *s)
{
    return s ? sy_intern_str(c->intern, s, strlen(s)) : NULL;
}

/* NULL when the backend names an upstream this configuration lacks. */
static sy_backend_cfg *kept_backend(sy_cfg_ctx *c, backend_map *m, const sy_backend_cfg *old)
{
    if (2 * (m->used + 1) > m->mask + 1) {
        backend_map big = {sy_calloc(m->mask ? 2 * (m->mask + 1) : 16, sizeof *big.from),
                           sy_calloc(m->mask ? 2 * (m->mask + 1) : 16, sizeof *big.to),
                           m->mask ? 2 * m->mask + 1 : 15, m->used};
        for (size_t i = 0; m->mask && i <= m->mask; i++) {
            if (!m->from[i])
                continue;
            size_t h = (size_t)XXH3_64bits(&m->from[i], sizeof m->from[i]) & big.mask;
            while (big.from[h])
                h = (h + 1) & big.mask;
            big.from[h] = m->from[i];
            big.to[h] = m->to[i];
        }
        free(m->from);
        free(m->to);
        *m = big;
    }
    size_t h = (size_t)XXH3_64bits(&old, sizeof old) & m->mask;
    while (m->from[h] && m->from[h] != old)
        h = (h + 1) & m->mask;
    if (m->from[h])
        return m->to[h];
    /* Every string into this configuration's arena; the upstream is
     * looked up again, in this configuration. */
    sy_backend_cfg b = *old;
    b.url = kept_str(c, old->url);
    b.url_ep.host = kept_str(c, old->url_ep.host);
    b.path = kept_str(c, old->path);
    b.method = kept_str(c, old->method);
    b.product = kept_str(c, old->product);
    b.vpc_id = kept_str(c, old->vpc_id);
    b.upstream_id = kept_str(c, old->upstream_id);
    b.mock_body = kept_str(c, old->mock_body);
    b.upstream = old->upstream ? sy_cfg_find_upstream(c->cfg, b.upstream_id) : NULL;
    if (old->upstream && !b.upstream)
        return NULL;
    m->from[h] = old;
    m->to[h] = sy_intern_backend(c->intern, &b);
    m->used++;
    return m->to[h];
}

/* PluginData still holding its SY_DUMP_KEEP_POLICIES marker: the policies
 * of that plugin of the running configuration, copied (they were valid
 * there; what they name is checked again by the validator). */
static bool adopt_kept(sy_cfg_ctx *c, const sy_ynode *v, const sy_fpath *path, sy_plugin_cfg *pl)
{
    long k = c->base ? sy_dump_kept_plugin(v->str, v->len) : -1;
    if (k < 0 || (size_t)k >= c->base->n_plugins)
        return false;
    const sy_plugin_cfg *from = &c->base->plugins[k];
    size_t n = from->n_policies;
    pl->policies = sy_arena_alloc(c->a, (n ? n : 1) * sizeof *pl->policies);
    pl->n_policies = n;
    backend_map m = {0};
    for (size_t i = 0; i < n; i++) {
        const sy_policy_cfg *p = &from->policies[i];
        sy_policy_cfg *q = &pl->policies[i];
        *q = *p;
        q->name = p->name ? sy_arena_strdup(c->a, p->name) : NULL;
        q->condition = p->condition ? sy_arena_strdup(c->a, p->condition) : NULL;
        q->backend = kept_backend(c, &m, p->backend);
        if (!q->backend) {
            const sy_fpath *bp = SY_PATH_KEY(SY_PATH_IDX(path, i), "backend_config");
            sy_cfg_err(c, v->mark, SY_PATH_KEY(SY_PATH_KEY(bp, "ServiceConfig"), "UpstreamId"),
                       "unknown upstream \"%s\"", p->backend->upstream_id);
            q->backend = sy_intern_backend(c->intern, &(sy_backend_cfg){0});
        }
    }
    free(m.from);
    free(m.to);
    return true;
}

static void load_plugin_data(sy_cfg_ctx *c, const sy_ynode *v, const sy_fpath *path,
                             sy_plugin_cfg *pl)
{
    const sy_ynode *list = v;
    if (v->kind == SY_YN_SCALAR && adopt_kept(c, v, path, pl))
        return;
    /* Tencent's API carries PluginData as a JSON string. */
    if (v->kind == SY_YN_SCALAR && !sy_ynode_is_null(v)) {
        char *ps = sy_fpath_str(path);
        list = sy_ytree_parse_json(&c->tmp, v->str, v->len, c->file, v->mark, c->errs, ps);
        free(ps);
        if (!list)
            return;
    }
    if (list->kind != SY_YN_SEQ) {
        sy_cfg_err(c, list->mark, path,
                   "must be a list of policies (or a JSON string holding one), got %s",
                   sy_ynode_what(list));
        return;
    }
    if (list->n > MAX_POLICIES) {
        sy_cfg_err(c, list->mark, path, "at most %d policies are allowed", MAX_POLICIES);
        return;
    }
    if (list->quoted) {
        adopt_streamed(c, list, pl);
        return;
    }
    pl->policies = sy_arena_alloc(c->a, (list->n ? list->n : 1) * sizeof *pl->policies);
    pl->n_policies = list->n;
    name_set ns = {0};
    for (size_t i = 0; i < list->n; i++)
        add_policy(c, list->items[i], SY_PATH_IDX(path, i), pl->policies, i, &ns);
    free(ns.slots);
}

static void load_attachment(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path,
                            sy_plugin_cfg *pl, sy_attachment_cfg *at)
{
    int idx;
    bool ok = true;
    at->mark = map->mark;
    at->env = -1;
    if (!sy_cfg_map(c, map, path, attachment_keys))
        return;
    ok &= sy_cfg_str(c, map, path, "ServiceId", SY_REQ, &at->service_id);
    if (sy_cfg_enum(c, map, path, "EnvironmentName", SY_REQ, env_names, &idx))
        at->env = idx;
    else
        ok = false;
    const sy_ynode *ids = sy_cfg_get(c, map, path, "ApiIds", SY_REQ);
    const sy_fpath *ip = SY_PATH_KEY(path, "ApiIds");
    if (!ids || !sy_cfg_node_list(c, ids, ip))
        return;
    if (ids->n == 0) {
        sy_cfg_err(c, ids->mark, ip, "must list at least one ApiId");
        return;
    }
    at->api_ids = sy_arena_alloc(c->a, ids->n * sizeof(char *));
    at->n_api_ids = ids->n;
    for (size_t i = 0; i < ids->n; i++)
        ok &= sy_cfg_node_str(c, ids->items[i], SY_PATH_IDX(ip, i), &at->api_ids[i]);
    if (ok)
        sy_cfg_check_attachment(c, pl, at, map, path);
}

static void load_plugin(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path, sy_plugin_cfg *pl)
{
    char *s;
    pl->mark = map->mark;
    if (!sy_cfg_map(c, map, path, plugin_keys))
        return;
    if (sy_cfg_id(c, map, path, "PluginId", &s)) {
        const sy_ynode *v = sy_ymap_get(map, "PluginId");
        const sy_config *cfg = c->cfg;
        bool dup = false;
        for (size_t i = 0; i < cfg->n_plugins && !dup; i++)
            if (cfg->plugins[i].id && strcmp(cfg->plugins[i].id, s) == 0) {
                sy_cfg_err(c, v->mark, SY_PATH_KEY(path, "PluginId"),
                           "duplicate PluginId \"%s\" (first at %d:%d)", s,
                           cfg->plugins[i].mark.line, cfg->plugins[i].mark.col);
                dup = true;
                s = NULL;
            }
        if (s)
            pl->id = s;
    }
    sy_cfg_str(c, map, path, "PluginName", SY_OPT, &pl->name);
    sy_cfg_str(c, map, path, "Description", SY_OPT, &pl->desc);
    if (!sy_cfg_str(c, map, path, "PluginType", SY_REQ, &pl->type))
        return;
    if (strcmp(pl->type, "Routing") != 0) {
        sy_cfg_err(c, sy_ymap_get(map, "PluginType")->mark, SY_PATH_KEY(path, "PluginType"),
                   "plugin type %s is not supported", pl->type);
        return;
    }
    const sy_ynode *data = sy_cfg_get(c, map, path, "PluginData", SY_REQ);
    if (data)
        load_plugin_data(c, data, SY_PATH_KEY(path, "PluginData"), pl);

    const sy_ynode *ats = sy_ymap_get(map, "Attachments");
    const sy_fpath *ap = SY_PATH_KEY(path, "Attachments");
    if (!ats || !sy_cfg_node_list(c, ats, ap))
        return;
    pl->attachments = sy_arena_alloc(c->a, (ats->n ? ats->n : 1) * sizeof *pl->attachments);
    for (size_t i = 0; i < ats->n; i++) {
        load_attachment(c, ats->items[i], SY_PATH_IDX(ap, i), pl, &pl->attachments[i]);
        pl->n_attachments = i + 1; /* later checks see earlier ones */
    }
}

void sy_cfg_load_plugins(sy_cfg_ctx *c, const sy_ynode *list)
{
    sy_config *cfg = c->cfg;
    if (!sy_cfg_node_list(c, list, SY_PATH_TOP("Plugins")))
        return;
    cfg->plugins = sy_arena_alloc(c->a, (list->n ? list->n : 1) * sizeof *cfg->plugins);
    for (size_t i = 0; i < list->n; i++) {
        cfg->n_plugins = i + 1;
        load_plugin(c, list->items[i], SY_PATH_IDX(SY_PATH_TOP("Plugins"), i), &cfg->plugins[i]);
    }
}
