/* Cross-reference rules: lookups by id, domain ownership, and where a
 * Routing plugin may be attached.  Ids are unique by the time these run
 * (the section loaders refuse duplicates), so the first match is the only
 * one. */
#include <string.h>

#include "config/fields.h"

sy_upstream_cfg *sy_cfg_find_upstream(const sy_config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->n_upstreams; i++)
        if (cfg->upstreams[i].id && strcmp(cfg->upstreams[i].id, id) == 0)
            return &cfg->upstreams[i];
    return NULL;
}

sy_service_cfg *sy_cfg_find_service(const sy_config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->n_services; i++)
        if (cfg->services[i].id && strcmp(cfg->services[i].id, id) == 0)
            return &cfg->services[i];
    return NULL;
}

sy_api_cfg *sy_cfg_find_api(const sy_config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->n_services; i++) {
        sy_service_cfg *s = &cfg->services[i];
        for (size_t j = 0; j < s->n_apis; j++)
            if (s->apis[j].id && strcmp(s->apis[j].id, id) == 0)
                return &s->apis[j];
    }
    return NULL;
}

static const char *svc_label(const sy_service_cfg *s)
{
    return s->id ? s->id : "?";
}

void sy_cfg_check_domains(sy_cfg_ctx *c)
{
    /* A host must lead to one service, or routing would depend on the
     * order services happen to be listed in. */
    const sy_config *cfg = c->cfg;
    for (size_t i = 0; i < cfg->n_services; i++) {
        const sy_service_cfg *s = &cfg->services[i];
        for (size_t d = 0; d < s->n_domains; d++) {
            const sy_domain_cfg *dom = &s->domains[d];
            if (!dom->name)
                continue;
            bool implicit = s->n_domains == 1 && !dom->mappings && dom->mark.line == s->mark.line &&
                            dom->mark.col == s->mark.col;
            for (size_t j = 0; j <= i; j++) {
                const sy_service_cfg *o = &cfg->services[j];
                size_t lim = j == i ? d : o->n_domains;
                size_t k;
                for (k = 0; k < lim; k++)
                    if (o->domains[k].name && strcmp(o->domains[k].name, dom->name) == 0)
                        break;
                if (k == lim)
                    continue;
                if (implicit)
                    sy_cfg_err(c, s->mark,
                               SY_PATH_KEY(SY_PATH_IDX(SY_PATH_TOP("Services"), i), "Domains"),
                               "without Domains the service claims \"*\", already "
                               "claimed by service \"%s\"",
                               svc_label(o));
                else
                    sy_cfg_err(
                        c, dom->mark,
                        SY_PATH_IDX(SY_PATH_KEY(SY_PATH_IDX(SY_PATH_TOP("Services"), i), "Domains"),
                                    d),
                        "domain \"%s\" is already claimed by service \"%s\"", dom->name,
                        svc_label(o));
                j = i + 1; /* one message per domain */
                break;
            }
        }
    }
}

static bool has_api(const sy_attachment_cfg *a, const char *id)
{
    for (size_t i = 0; i < a->n_api_ids; i++)
        if (a->api_ids[i] && strcmp(a->api_ids[i], id) == 0)
            return true;
    return false;
}

void sy_cfg_check_attachment(sy_cfg_ctx *c, const sy_plugin_cfg *self, const sy_attachment_cfg *at,
                             const sy_ynode *node, const sy_fpath *path)
{
    const sy_config *cfg = c->cfg;
    const sy_ynode *sv = sy_ymap_get(node, "ServiceId");
    const sy_ynode *ids = sy_ymap_get(node, "ApiIds");
    const char *env = sy_env_name(at->env);
    sy_service_cfg *svc = sy_cfg_find_service(cfg, at->service_id);

    if (!svc) {
        sy_cfg_err(c, sv->mark, SY_PATH_KEY(path, "ServiceId"), "unknown service \"%s\"",
                   at->service_id);
        return;
    }
    /* Tencent binds plugins only to APIs already released there.  A
     * service with release records keeps its bindings in an environment it
     * was once published to (Tencent keeps them across an unpublish); the
     * admin API checks the API itself is released when it attaches. */
    bool published = svc->env_mask & (1u << at->env);
    for (size_t r = 0; r < svc->n_releases && !published; r++)
        published = svc->releases[r].env == at->env;
    if (!published)
        sy_cfg_err(c, sy_ymap_get(node, "EnvironmentName")->mark,
                   SY_PATH_KEY(path, "EnvironmentName"), "service \"%s\" is not released to %s",
                   svc->id, env);
    for (size_t i = 0; i < at->n_api_ids; i++) {
        const char *id = at->api_ids[i];
        const sy_fpath *ip = SY_PATH_IDX(SY_PATH_KEY(path, "ApiIds"), i);
        sy_mark m = ids->items[i]->mark;
        sy_api_cfg *api = sy_cfg_find_api(cfg, id);
        if (!api) {
            sy_cfg_err(c, m, ip, "unknown API \"%s\"", id);
            continue;
        }
        if (api->service != svc) {
            sy_cfg_err(c, m, ip, "API \"%s\" belongs to service \"%s\", not \"%s\"", id,
                       svc_label(api->service), svc->id);
            continue;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(at->api_ids[j], id) == 0) {
                sy_cfg_err(c, m, ip, "API \"%s\" is listed twice", id);
                goto next;
            }
        /* An API holds one plugin of a type per environment. */
        for (size_t p = 0; p < cfg->n_plugins; p++) {
            const sy_plugin_cfg *o = &cfg->plugins[p];
            for (size_t k = 0; k < o->n_attachments; k++) {
                const sy_attachment_cfg *oa = &o->attachments[k];
                if (oa == at || oa->env != at->env || !oa->service_id ||
                    strcmp(oa->service_id, at->service_id) != 0 || !has_api(oa, id))
                    continue;
                if (o == self)
                    sy_cfg_err(c, m, ip,
                               "API \"%s\" is already attached in %s by "
                               "this plugin",
                               id, env);
                else
                    sy_cfg_err(c, m, ip,
                               "API \"%s\" already has Routing plugin \"%s\" in %s; "
                               "plugin \"%s\" cannot be attached too",
                               id, o->id ? o->id : "?", env, self->id ? self->id : "?");
                goto next;
            }
        }
    next:;
    }
}
