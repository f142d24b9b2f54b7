/* /v1/plugins[/{PluginId}] and /v1/plugins/{PluginId}/attachments.
 *
 * Tencent's rules: plugin edits and attachments apply at once (no
 * publish); only APIs released in an environment can be attached there. */
#include <stdio.h>
#include <string.h>

#include "admin/resources_int.h"
#include "config/dump.h"
#include "config/fields.h"
#include "config/load.h"
#include "gen/manager.h"

static bool taken_plugin(json_t *doc, const char *id)
{
    return sy_admin_find(sy_res_arr(doc, "Plugins"), "PluginId", id, NULL) != NULL;
}

static const sy_res_coll plugins = {
    .list = "Plugins",
    .view = sy_res_view_plugin,
    .id_key = "PluginId",
    .what = "plugin",
    .prefix = "plugin",
    .taken = taken_plugin,
    .seg = 1,
    .slot = 0,
};

static json_t *show_attach(sy_res_ctx *x, json_t *doc)
{
    json_t *p = sy_admin_find(sy_res_arr(doc, "Plugins"), "PluginId", x->id[0], NULL);
    json_t *v = json_pack("{s:b, s:s}", "Result", 1, "PluginId", x->id[0]);
    json_object_set_new(v, "AttachedApis", p ? sy_res_attached_apis(p, x->id[0]) : json_array());
    return v;
}

void sy_res_detach_everywhere(json_t *doc, const char *svc, const char *api)
{
    size_t i;
    json_t *p;
    json_array_foreach(sy_res_arr(doc, "Plugins"), i, p)
    {
        json_t *ats = json_object_get(p, "Attachments");
        for (size_t j = 0; j < json_array_size(ats);) {
            json_t *at = json_array_get(ats, j);
            const char *s = json_string_value(json_object_get(at, "ServiceId"));
            json_t *ids = json_object_get(at, "ApiIds");
            if (s && strcmp(s, svc) == 0)
                for (size_t k = 0; k < json_array_size(ids);) {
                    const char *id = json_string_value(json_array_get(ids, k));
                    if (!api || (id && strcmp(id, api) == 0))
                        json_array_remove(ids, k);
                    else
                        k++;
                }
            if (json_array_size(ids) == 0)
                json_array_remove(ats, j);
            else
                j++;
        }
        if (ats && json_array_size(ats) == 0)
            json_object_del(p, "Attachments");
    }
}

/* ---- plugins ---- */

static const char *const plugin_ro[] = {"AttachedApis", "AttachedApiTotalCount", NULL};

int sy_res_w_plugins(sy_res_ctx *x, json_t *body)
{
    const char *m = x->rq->method;
    json_t *list = sy_res_arr(x->doc, "Plugins"), *cur;
    size_t idx;
    if (!sy_res_target(x, &plugins, list, &cur, &idx))
        return -1;
    if (strcmp(m, "DELETE") == 0) {
        json_array_remove(list, idx);
        x->show = sy_res_show_deleted;
        return 0;
    }
    sy_res_drop_read_only(body, plugin_ro);
    if (json_object_get(body, "Attachments")) {
        sy_admin_bad_field(x->rs, "Attachments",
                           "attachments are managed through /v1/plugins/ID/attachments");
        return -1;
    }
    json_t *att = cur ? json_object_get(cur, "Attachments") : NULL;
    if (strcmp(m, "PATCH") == 0) {
        sy_res_patch(x, &plugins, list, idx, cur, body);
        return 0;
    }
    if (!sy_res_body_id(x, &plugins, body))
        return -1;
    if (att)
        json_object_set(body, "Attachments", att);
    return sy_res_store(x, list, idx, cur, body);
}

/* ---- attachments ---- */

/* Is API `id` live in `env` of service `sid` (running configuration)? */
static bool released(const char *sid, int env, const char *id)
{
    const sy_service_cfg *s = sy_cfg_find_service(sy_cfgmgr_current()->cfg, sid);
    for (size_t i = 0; s && i < s->n_env_apis[env]; i++)
        if (s->env_apis[env][i].id && strcmp(s->env_apis[env][i].id, id) == 0)
            return true;
    return false;
}

/* DELETE: remove one API from attachment `at` (at ats[ai]), dropping the
 * attachment, then the list, when it empties. */
static int detach(sy_res_ctx *x, json_t *p, json_t *ats, json_t *at, size_t ai, json_t *body)
{
    json_t *v = json_object_get(body, "ApiId");
    if (!json_is_string(v)) {
        sy_admin_bad_field(x->rs, "ApiId", "is required (one API per detach)");
        return -1;
    }
    json_t *ids = at ? json_object_get(at, "ApiIds") : NULL;
    size_t i;
    for (i = 0; i < json_array_size(ids); i++) {
        const char *id = json_string_value(json_array_get(ids, i));
        if (id && strcmp(id, json_string_value(v)) == 0)
            break;
    }
    if (!ids || i == json_array_size(ids)) {
        sy_res_not_found(x, "attachment of this plugin for API", json_string_value(v));
        return -1;
    }
    json_array_remove(ids, i);
    if (json_array_size(ids) == 0)
        json_array_remove(ats, ai);
    if (json_array_size(ats) == 0)
        json_object_del(p, "Attachments");
    return 0;
}

/* POST .../attachments {ServiceId, EnvironmentName, ApiIds};
 * DELETE .../attachments?ServiceId=&EnvironmentName=&ApiId= (or a body). */
int sy_res_w_attachments(sy_res_ctx *x, json_t *body)
{
    json_t *list = sy_res_arr(x->doc, "Plugins");
    size_t pi;
    json_t *p = sy_admin_find(list, "PluginId", x->seg[1], &pi);
    if (!p) {
        sy_res_not_found(x, "plugin", x->seg[1]);
        return -1;
    }
    snprintf(x->id[0], sizeof x->id[0], "%s", x->seg[1]);
    snprintf(x->scope, sizeof x->scope, "Plugins[%zu]", pi);
    x->show = show_attach;
    json_t *ats = sy_res_arr(p, "Attachments");
    const char *sid, *env;
    json_t *sv = json_object_get(body, "ServiceId");
    if (!json_is_string(sv)) {
        sy_admin_bad_field(x->rs, "ServiceId", "is required (a string)");
        return -1;
    }
    sid = json_string_value(sv);
    if (!sy_res_env_arg(x, json_object_get(body, "EnvironmentName"), "EnvironmentName", &env))
        return -1;
    json_t *svc = sy_admin_find(sy_res_arr(x->doc, "Services"), "ServiceId", sid, NULL);
    if (!svc) {
        sy_res_not_found(x, "service", sid);
        return -1;
    }
    size_t ai = json_array_size(ats), i;
    json_t *at = NULL, *a;
    json_array_foreach(ats, i, a)
    {
        const char *s = json_string_value(json_object_get(a, "ServiceId"));
        const char *e = json_string_value(json_object_get(a, "EnvironmentName"));
        if (s && e && strcmp(s, sid) == 0 && strcmp(e, env) == 0) {
            at = a;
            ai = i;
            break;
        }
    }
    if (strcmp(x->rq->method, "DELETE") == 0)
        return detach(x, p, ats, at, ai, body);
    json_t *ids = json_object_get(body, "ApiIds");
    if (!json_is_array(ids) || json_array_size(ids) == 0) {
        sy_admin_bad_field(x->rs, "ApiIds", "must be a non-empty list of API ids");
        return -1;
    }
    json_t *id;
    json_array_foreach(ids, i, id)
    {
        char field[32];
        snprintf(field, sizeof field, "ApiIds[%zu]", i);
        if (!json_is_string(id)) {
            sy_admin_bad_field(x->rs, field, "must be a string");
            return -1;
        }
        if (!released(sid, sy_res_env_of(env), json_string_value(id))) {
            sy_admin_bad_field(x->rs, field,
                               "API \"%s\" is not released in %s of service "
                               "\"%s\" (publish it first)",
                               json_string_value(id), env, sid);
            return -1;
        }
    }
    if (at) {
        json_t *have;
        size_t k;
        json_array_foreach(json_object_get(at, "ApiIds"), k, have)
            json_array_foreach(ids, i, id) if (json_equal(have, id))
        {
            sy_res_conflict(x, "API \"%s\" is already attached in %s by this plugin",
                            json_string_value(id), env);
            return -1;
        }
    } else {
        at = json_pack("{s:s, s:s, s:[]}", "ServiceId", sid, "EnvironmentName", env, "ApiIds");
        json_array_append_new(ats, at);
    }
    /* Duplicates and other plugins' bindings are the validator's. */
    json_array_extend(json_object_get(at, "ApiIds"), ids);
    snprintf(x->scope, sizeof x->scope, "Plugins[%zu].Attachments[%zu]", pi, ai);
    x->status = 201;
    return 0;
}

/* ---- one policy ---- */

/* A tenant plugin with 100,000 policies made every plugin edit a JSON
 * round trip of the whole configuration (15 s and ~800 MB at that size).
 * Adding one policy instead dumps the running configuration with the new
 * policy appended, loads that text (streamed: config/load.c) and stores
 * the very same text, so the cost is one load and compile of the file. */
void sy_res_policy_add(sy_res_ctx *x)
{
    json_t *body = sy_admin_body(x->rq, x->rs);
    if (!body)
        return;
    char *item = json_dumps(body, JSON_ENSURE_ASCII);
    json_decref(body);
    sy_cfgmgr_lock();
    /* The store's latest revision, and If-Match, as every other write. */
    if (!sy_admin_begin_write(x->rq, x->rs)) {
        sy_cfgmgr_unlock();
        free(item);
        return;
    }
    const sy_config *cur = sy_cfgmgr_current()->cfg;
    size_t pi;
    for (pi = 0; pi < cur->n_plugins; pi++)
        if (cur->plugins[pi].id && strcmp(cur->plugins[pi].id, x->seg[1]) == 0)
            break;
    if (pi == cur->n_plugins) {
        sy_cfgmgr_unlock();
        free(item);
        sy_res_not_found(x, "plugin", x->seg[1]);
        return;
    }
    size_t at = cur->plugins[pi].n_policies;
    sy_dump_add add = {pi, item, cur->version + 1};
    char *text = sy_config_dump_yaml_add(cur, SY_DUMP_SECRETS, &add);
    free(item);
    sy_errors errs = {0};
    /* Load problems name the plugin by position, condition problems (the
     * compile) by id. */
    char err[512] = "", scope[64], scope2[160];
    snprintf(scope, sizeof scope, "Plugins[%zu].PluginData[%zu]", pi, at);
    snprintf(scope2, sizeof scope2, "Plugins[%s].PluginData[%zu]", x->seg[1], at);
    sy_config *cfg = sy_config_load_string(text, strlen(text), "<admin>", &errs);
    int rc = cfg ? sy_cfgmgr_commit_text(cfg, text, &errs, err, sizeof err) : SY_CFGMGR_INVALID;
    free(text);
    if (rc == SY_CFGMGR_OK) {
        const sy_config *now = sy_cfgmgr_current()->cfg;
        const sy_policy_cfg *pol = &now->plugins[pi].policies[at];
        json_t *doc = json_pack("{s:b, s:s, s:s, s:I, s:I}", "Result", 1, "PluginId",
                                now->plugins[pi].id, "strategy_name", pol->name, "PolicyCount",
                                (json_int_t)now->plugins[pi].n_policies, "ConfigVersion",
                                (json_int_t)now->version);
        sy_admin_json(x->rs, 201, doc);
    } else {
        sy_config_free(cfg);
        if (rc != SY_CFGMGR_INVALID)
            sy_admin_store_error(x->rs, rc, err);
        else
            sy_admin_invalid(x->rs, &errs, scope, scope2);
    }
    sy_cfgmgr_unlock();
    sy_errors_free(&errs);
}
