/* The Services section: services, their domains and path mappings, and
 * their APIs. */
#include <ctype.h>
#include <string.h>

#include "config/fields.h"

static const char *const service_keys[] = {"ServiceId", "ServiceName",  "ServiceDesc",
                                           "Protocol",  "Environments", "Domains",
                                           "Apis",      "Releases",     NULL};
static const char *const release_keys[] = {
    "ReleaseVersion", "EnvironmentName", "ReleaseDesc", "ReleaseTime", "Active", "Apis", NULL};
static const char *const domain_keys[] = {
    "DomainName", "PathMappings", "Protocol", "CertificateFile", "KeyFile", "IsForcedHttps", NULL};
/* Tencent's custom-domain protocols (index + 1 = SY_PROTO_* bits). */
static const char *const domain_protocols[] = {"http", "https", "http&https", NULL};
static const char *const mapping_keys[] = {"Path", "Environment", NULL};
static const char *const api_keys[] = {"ApiId",
                                       "ApiName",
                                       "ApiDesc",
                                       "Path",
                                       "Method",
                                       "ServiceType",
                                       "ServiceTimeout",
                                       "ServiceConfig",
                                       "ServiceMockReturnMessage",
                                       "ServiceMockStatusCode",
                                       NULL};
static const char *const env_names[] = {"test", "prepub", "release", NULL};

/* Frontend path forms (Tencent's matching order): "=/exact", "^~/prefix",
 * "/with/{var}", "/plain/prefix".  Returns NULL when well formed. */
static const char *api_path_problem(const char *p)
{
    bool fixed = false;
    if (p[0] == '=') {
        p++;
        fixed = true;
    } else if (p[0] == '^' && p[1] == '~') {
        p += 2;
        fixed = true;
    }
    if (p[0] != '/')
        return "must start with / (after an optional = or ^~)";
    for (const char *s = p; *s; s++) {
        if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n' || *s == '?' || *s == '#')
            return "must not contain spaces, ? or #";
        if (*s == '}')
            return "has an unbalanced }";
        if (*s != '{')
            continue;
        if (fixed)
            return "exact (=) and prefix (^~) paths cannot have {parameters}";
        const char *name = ++s;
        while (*s && (isalnum((unsigned char)*s) || *s == '_' || *s == '-'))
            s++;
        if (*s != '}' || s == name)
            return "has a malformed {parameter} (a name of letters, digits, _ or -)";
        if (name[-2] != '/' || (s[1] && s[1] != '/'))
            return "a {parameter} must be a whole path segment";
    }
    return NULL;
}

/* `rel` is NULL for the service's own (draft) APIs, whose ids are unique
 * across the file; a release's copies need only be unique in the release. */
static void load_api(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path, sy_api_cfg *api,
                     sy_service_cfg *svc, const sy_release_cfg *rel)
{
    char *s;
    int idx;
    api->mark = map->mark;
    api->service = svc;
    api->method = sy_arena_strdup(c->a, "ANY");
    if (!sy_cfg_map(c, map, path, api_keys))
        return;
    if (sy_cfg_id(c, map, path, "ApiId", &s)) {
        const sy_ynode *v = sy_ymap_get(map, "ApiId");
        sy_api_cfg *prev = rel ? NULL : sy_cfg_find_api(c->cfg, s);
        for (size_t i = 0; rel && i < rel->n_apis && !prev; i++)
            if (rel->apis[i].id && strcmp(rel->apis[i].id, s) == 0)
                prev = &rel->apis[i];
        if (prev)
            sy_cfg_err(c, v->mark, SY_PATH_KEY(path, "ApiId"),
                       "duplicate ApiId \"%s\" (first at %d:%d)", s, prev->mark.line,
                       prev->mark.col);
        else
            api->id = s;
    }
    sy_cfg_str(c, map, path, "ApiName", SY_OPT, &api->name);
    sy_cfg_str(c, map, path, "ApiDesc", SY_OPT, &api->desc);
    if (sy_cfg_str(c, map, path, "Path", SY_REQ, &s)) {
        const char *why = api_path_problem(s);
        if (why)
            sy_cfg_err(c, sy_ymap_get(map, "Path")->mark, SY_PATH_KEY(path, "Path"), "%s", why);
        else
            api->path = s;
    }
    if (sy_cfg_enum(c, map, path, "Method", SY_OPT, sy_cfg_methods, &idx))
        api->method = sy_arena_strdup(c->a, sy_cfg_methods[idx]);
    sy_cfg_load_backend(c, map, path, &api->backend, false, -1);
}

static bool domain_ok(const char *d)
{
    if (strcmp(d, "*") == 0)
        return true;
    if (d[0] == '*' && d[1] == '.')
        d += 2;
    return sy_host_valid(d, strlen(d));
}

static void load_domain(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path,
                        sy_domain_cfg *dom)
{
    char *s;
    dom->mark = map->mark;
    dom->protocol = SY_PROTO_HTTP | SY_PROTO_HTTPS;
    if (!sy_cfg_map(c, map, path, domain_keys))
        return;
    int proto;
    if (sy_cfg_enum(c, map, path, "Protocol", SY_OPT, domain_protocols, &proto))
        dom->protocol = (unsigned)proto + 1;
    sy_cfg_load_cert(c, map, path, &dom->cert);
    if (sy_cfg_bool(c, map, path, "IsForcedHttps", SY_OPT, &dom->forced_https) &&
        dom->forced_https && !(dom->protocol & SY_PROTO_HTTPS))
        sy_cfg_err(c, sy_ymap_get(map, "IsForcedHttps")->mark, SY_PATH_KEY(path, "IsForcedHttps"),
                   "needs Protocol https or http&https");
    if (sy_cfg_str(c, map, path, "DomainName", SY_REQ, &s)) {
        if (!domain_ok(s)) {
            sy_cfg_err(c, sy_ymap_get(map, "DomainName")->mark, SY_PATH_KEY(path, "DomainName"),
                       "must be a host name, \"*.suffix\" or \"*\"");
        } else {
            /* Host matching is case-insensitive; store one case. */
            for (char *p = s; *p; p++)
                *p = (char)tolower((unsigned char)*p);
            dom->name = s;
        }
    }
    const sy_ynode *pm = sy_ymap_get(map, "PathMappings");
    const sy_fpath *pp = SY_PATH_KEY(path, "PathMappings");
    if (!pm || !sy_cfg_node_list(c, pm, pp))
        return;
    dom->mappings = sy_arena_alloc(c->a, (pm->n ? pm->n : 1) * sizeof *dom->mappings);
    dom->n_mappings = pm->n;
    for (size_t i = 0; i < pm->n; i++) {
        const sy_ynode *m = pm->items[i];
        const sy_fpath *mp = SY_PATH_IDX(pp, i);
        sy_path_mapping_cfg *pmc = &dom->mappings[i];
        int idx;
        pmc->env = -1;
        if (!sy_cfg_map(c, m, mp, mapping_keys))
            continue;
        if (sy_cfg_str(c, m, mp, "Path", SY_REQ, &s)) {
            if (s[0] != '/' || strpbrk(s, " \t\r\n?#"))
                sy_cfg_err(c, sy_ymap_get(m, "Path")->mark, SY_PATH_KEY(mp, "Path"),
                           "must start with / and contain no spaces, ? or #");
            else
                pmc->path = s;
        }
        if (sy_cfg_enum(c, m, mp, "Environment", SY_REQ, env_names, &idx))
            pmc->env = idx;
    }
}

static void load_release(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path,
                         sy_service_cfg *svc, sy_release_cfg *rel)
{
    int idx;
    rel->mark = map->mark;
    rel->env = -1;
    if (!sy_cfg_map(c, map, path, release_keys))
        return;
    if (sy_cfg_str(c, map, path, "ReleaseVersion", SY_REQ, &rel->version)) {
        const sy_ynode *v = sy_ymap_get(map, "ReleaseVersion");
        for (size_t i = 0; i < svc->n_releases; i++)
            if (svc->releases[i].version && strcmp(svc->releases[i].version, rel->version) == 0) {
                sy_cfg_err(c, v->mark, SY_PATH_KEY(path, "ReleaseVersion"),
                           "duplicate ReleaseVersion \"%s\"", rel->version);
                break;
            }
        if (!*rel->version)
            sy_cfg_err(c, v->mark, SY_PATH_KEY(path, "ReleaseVersion"), "must not be empty");
    }
    if (sy_cfg_enum(c, map, path, "EnvironmentName", SY_REQ, env_names, &idx))
        rel->env = idx;
    sy_cfg_str(c, map, path, "ReleaseDesc", SY_OPT, &rel->desc);
    sy_cfg_str(c, map, path, "ReleaseTime", SY_OPT, &rel->time);
    sy_cfg_bool(c, map, path, "Active", SY_OPT, &rel->active);
    if (rel->active && rel->env >= 0)
        for (size_t i = 0; i < svc->n_releases; i++)
            if (svc->releases[i].active && svc->releases[i].env == rel->env) {
                sy_cfg_err(c, sy_ymap_get(map, "Active")->mark, SY_PATH_KEY(path, "Active"),
                           "%s already has an active release (\"%s\")", sy_env_name(rel->env),
                           svc->releases[i].version ? svc->releases[i].version : "?");
                break;
            }
    const sy_ynode *apis = sy_ymap_get(map, "Apis");
    const sy_fpath *ap = SY_PATH_KEY(path, "Apis");
    if (!apis || !sy_cfg_node_list(c, apis, ap))
        return;
    rel->apis = sy_arena_alloc(c->a, (apis->n ? apis->n : 1) * sizeof *rel->apis);
    for (size_t i = 0; i < apis->n; i++) {
        load_api(c, apis->items[i], SY_PATH_IDX(ap, i), &rel->apis[i], svc, rel);
        rel->n_apis = i + 1;
    }
}

/* Releases, and what each environment serves.  With Releases the live
 * environments are those with an Active record; Environments, when also
 * given, must name exactly those. */
static void load_releases(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path,
                          sy_service_cfg *svc, const sy_ynode *envs)
{
    const sy_ynode *rl = sy_ymap_get(map, "Releases");
    const sy_fpath *rp = SY_PATH_KEY(path, "Releases");
    if (!rl || !sy_cfg_node_list(c, rl, rp)) {
        for (int e = 0; e < SY_ENV_COUNT; e++)
            if (svc->env_mask & (1u << e)) {
                svc->env_apis[e] = svc->apis;
                svc->n_env_apis[e] = svc->n_apis;
            }
        return;
    }
    svc->has_releases = true;
    svc->releases = sy_arena_alloc(c->a, (rl->n ? rl->n : 1) * sizeof *svc->releases);
    for (size_t i = 0; i < rl->n; i++) {
        load_release(c, rl->items[i], SY_PATH_IDX(rp, i), svc, &svc->releases[i]);
        svc->n_releases = i + 1;
    }
    unsigned live = 0;
    for (size_t i = 0; i < svc->n_releases; i++) {
        sy_release_cfg *r = &svc->releases[i];
        if (!r->active || r->env < 0)
            continue;
        live |= 1u << r->env;
        svc->env_apis[r->env] = r->apis;
        svc->n_env_apis[r->env] = r->n_apis;
    }
    if (envs && envs->kind == SY_YN_SEQ && svc->env_mask != live)
        sy_cfg_err(c, envs->mark, SY_PATH_KEY(path, "Environments"),
                   "must list exactly the environments with an Active release");
    svc->env_mask = live;
}

static void load_service(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path,
                         sy_service_cfg *svc)
{
    char *s;
    svc->mark = map->mark;
    if (!sy_cfg_map(c, map, path, service_keys))
        return;
    if (sy_cfg_id(c, map, path, "ServiceId", &s)) {
        const sy_ynode *v = sy_ymap_get(map, "ServiceId");
        sy_service_cfg *prev = sy_cfg_find_service(c->cfg, s);
        if (prev)
            sy_cfg_err(c, v->mark, SY_PATH_KEY(path, "ServiceId"),
                       "duplicate ServiceId \"%s\" (first at %d:%d)", s, prev->mark.line,
                       prev->mark.col);
        else
            svc->id = s;
    }
    sy_cfg_str(c, map, path, "ServiceName", SY_OPT, &svc->name);
    sy_cfg_str(c, map, path, "ServiceDesc", SY_OPT, &svc->desc);
    sy_cfg_str(c, map, path, "Protocol", SY_OPT, &s);

    const sy_ynode *envs = sy_ymap_get(map, "Environments");
    const sy_fpath *ep = SY_PATH_KEY(path, "Environments");
    if (envs && sy_cfg_node_list(c, envs, ep))
        for (size_t i = 0; i < envs->n; i++) {
            const sy_ynode *e = envs->items[i];
            int idx = e->kind == SY_YN_SCALAR ? sy_env_index(e->str, e->len) : -1;
            if (idx < 0)
                sy_cfg_err(c, e->mark, SY_PATH_IDX(ep, i), "must be one of test, prepub, release");
            else
                svc->env_mask |= 1u << idx;
        }

    const sy_ynode *doms = sy_ymap_get(map, "Domains");
    const sy_fpath *dp = SY_PATH_KEY(path, "Domains");
    if (doms && sy_cfg_node_list(c, doms, dp) && doms->n > 0) {
        svc->domains = sy_arena_alloc(c->a, doms->n * sizeof *svc->domains);
        svc->n_domains = doms->n;
        for (size_t i = 0; i < doms->n; i++)
            load_domain(c, doms->items[i], SY_PATH_IDX(dp, i), &svc->domains[i]);
    } else if (!doms || doms->kind == SY_YN_SEQ) {
        /* No custom domain: the service answers on any host, as a
         * service's default domain does in Tencent. */
        svc->domains = sy_arena_alloc(c->a, sizeof *svc->domains);
        svc->domains[0].mark = svc->mark;
        svc->domains[0].name = sy_arena_strdup(c->a, "*");
        svc->domains[0].protocol = SY_PROTO_HTTP | SY_PROTO_HTTPS;
        svc->n_domains = 1;
    }

    const sy_ynode *apis = sy_ymap_get(map, "Apis");
    const sy_fpath *ap = SY_PATH_KEY(path, "Apis");
    if (apis && sy_cfg_node_list(c, apis, ap)) {
        svc->apis = sy_arena_alloc(c->a, (apis->n ? apis->n : 1) * sizeof *svc->apis);
        for (size_t i = 0; i < apis->n; i++) {
            load_api(c, apis->items[i], SY_PATH_IDX(ap, i), &svc->apis[i], svc, NULL);
            svc->n_apis = i + 1; /* visible to later duplicate checks */
        }
    }
    load_releases(c, map, path, svc, envs);
}

void sy_cfg_load_services(sy_cfg_ctx *c, const sy_ynode *list)
{
    sy_config *cfg = c->cfg;
    if (!sy_cfg_node_list(c, list, SY_PATH_TOP("Services")))
        return;
    cfg->services = sy_arena_alloc(c->a, (list->n ? list->n : 1) * sizeof *cfg->services);
    for (size_t i = 0; i < list->n; i++) {
        cfg->n_services = i + 1;
        load_service(c, list->items[i], SY_PATH_IDX(SY_PATH_TOP("Services"), i), &cfg->services[i]);
    }
}
