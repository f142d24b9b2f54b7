/* POST /v1/upstreams, PUT/PATCH/DELETE /v1/upstreams/{UpstreamId}.
 * An upstream still in use cannot be deleted: the 409 names its users
 * (APIs, releases and policies of the running configuration). */
#include <stdio.h>
#include <string.h>

#include "admin/resources_int.h"
#include "config/fields.h"
#include "gen/manager.h"

static bool taken_upstream(json_t *doc, const char *id)
{
    return sy_admin_find(sy_res_arr(doc, "Upstreams"), "UpstreamId", id, NULL) != NULL;
}

static const sy_res_coll upstreams = {
    .list = "Upstreams",
    .view = NULL,
    .id_key = "UpstreamId",
    .what = "upstream",
    .prefix = "upstream",
    .taken = taken_upstream,
    .seg = 1,
    .slot = 0,
};

/* Who still uses upstream `id` in the running configuration. */
static json_t *upstream_users(const sy_config *cfg, const char *id)
{
    json_t *users = json_array();
    for (size_t i = 0; i < cfg->n_services; i++) {
        const sy_service_cfg *s = &cfg->services[i];
        for (size_t j = 0; j < s->n_apis; j++)
            if (s->apis[j].backend.upstream_id && strcmp(s->apis[j].backend.upstream_id, id) == 0)
                json_array_append_new(users, json_pack("{s:s, s:s, s:s}", "Kind", "api",
                                                       "ServiceId", s->id, "ApiId", s->apis[j].id));
        for (size_t r = 0; r < s->n_releases; r++) {
            const sy_release_cfg *rel = &s->releases[r];
            for (size_t j = 0; j < rel->n_apis; j++)
                if (rel->apis[j].backend.upstream_id &&
                    strcmp(rel->apis[j].backend.upstream_id, id) == 0)
                    json_array_append_new(users,
                                          json_pack("{s:s, s:s, s:s, s:s, s:s}", "Kind", "release",
                                                    "ServiceId", s->id, "EnvironmentName",
                                                    sy_env_name(rel->env), "ReleaseVersion",
                                                    rel->version, "ApiId", rel->apis[j].id));
        }
    }
    for (size_t i = 0; i < cfg->n_plugins; i++) {
        const sy_plugin_cfg *p = &cfg->plugins[i];
        for (size_t j = 0; j < p->n_policies; j++)
            if (p->policies[j].backend->upstream_id &&
                strcmp(p->policies[j].backend->upstream_id, id) == 0)
                json_array_append_new(users,
                                      json_pack("{s:s, s:s, s:s}", "Kind", "policy", "PluginId",
                                                p->id, "strategy_name", p->policies[j].name));
    }
    return users;
}

static const char *const upstream_ro[] = {NULL};

int sy_res_w_upstreams(sy_res_ctx *x, json_t *body)
{
    const char *m = x->rq->method;
    json_t *list = sy_res_arr(x->doc, "Upstreams"), *cur;
    size_t idx;
    if (!sy_res_target(x, &upstreams, list, &cur, &idx))
        return -1;
    if (strcmp(m, "DELETE") == 0) {
        json_t *users = upstream_users(sy_cfgmgr_current()->cfg, x->seg[1]);
        if (json_array_size(users)) {
            char msg[300];
            snprintf(msg, sizeof msg,
                     "upstream \"%s\" is still used by %zu API(s), release(s) "
                     "or policies (see UsedBy)",
                     x->seg[1], json_array_size(users));
            sy_admin_json(
                x->rs, 409,
                json_pack("{s:s, s:s, s:o}", "error", "conflict", "message", msg, "UsedBy", users));
            return -1;
        }
        json_decref(users);
        json_array_remove(list, idx);
        x->show = sy_res_show_deleted;
        return 0;
    }
    sy_res_drop_read_only(body, upstream_ro);
    if (strcmp(m, "PATCH") == 0) {
        sy_res_patch(x, &upstreams, list, idx, cur, body);
        return 0;
    }
    if (!sy_res_body_id(x, &upstreams, body))
        return -1;
    return sy_res_store(x, list, idx, cur, body);
}
