/* The admin API's resources, with Tencent's field names:
 *
 *   /v1/upstreams[/{UpstreamId}]
 *   /v1/services[/{ServiceId}]
 *   /v1/services/{ServiceId}/apis[/{ApiId}]
 *   /v1/services/{ServiceId}/releases[/{EnvironmentName}]
 *   /v1/plugins[/{PluginId}]
 *   /v1/plugins/{PluginId}/attachments
 *   /v1/config
 *
 * Reads use the admin thread's pinned snapshot.  Writes take the config
 * manager's lock, edit the running configuration as a JSON document
 * (change.h), and commit it; the response shows the object as the new
 * configuration holds it (defaults filled in).  Tencent's rules:
 * API edits reach an environment only by publishing; plugin edits and
 * attachments apply at once; an upstream in use cannot be deleted (409
 * naming its users); deleting an API detaches it; only APIs released in
 * an environment can be attached there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/admin_int.h"
#include "admin/change.h"
#include "config/dump.h"
#include "config/load.h"
#include "config/manager.h"
#include "config/fields.h"

#define MAX_SEGS 6
#define HISTORY_PER_ENV 10

typedef struct ctx {
    const sy_admin_req *rq;
    sy_admin_resp *rs;
    char *seg[MAX_SEGS];
    size_t nseg;
    char segbuf[1024];
    json_t *doc;         /* writes: the configuration being changed */
    char scope[160];     /* error paths relative to this object */
    char scope2[200];    /* the same object as the policy compiler names it */
    int status;          /* 200 or 201 on success */
    /* What to show once committed. */
    json_t *(*show)(struct ctx *x, json_t *doc);
    char id[3][160];
} ctx;


static int env_of(const char *s)
{
    return s ? sy_env_index(s, strlen(s)) : -1;
}

static json_t *arr(json_t *doc, const char *key)
{
    json_t *a = json_object_get(doc, key);
    if (!json_is_array(a)) {
        a = json_array();
        json_object_set_new(doc, key, a);
    }
    return a;
}

static void not_found(ctx *x, const char *what, const char *id)
{
    char msg[400];
    snprintf(msg, sizeof msg, "no %s \"%s\"", what, id);
    sy_admin_error(x->rs, 404, "not_found", msg);
}

static void conflict(ctx *x, const char *fmt, const char *a, const char *b)
{
    char msg[600];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(msg, sizeof msg, fmt, a, b);
#pragma GCC diagnostic pop
    sy_admin_error(x->rs, 409, "conflict", msg);
}

/* ---- ids ---- */

static bool taken_upstream(json_t *doc, const char *id)
{
    return sy_admin_find(arr(doc, "Upstreams"), "UpstreamId", id, NULL) != NULL;
}

static bool taken_service(json_t *doc, const char *id)
{
    return sy_admin_find(arr(doc, "Services"), "ServiceId", id, NULL) != NULL;
}

static bool taken_plugin(json_t *doc, const char *id)
{
    return sy_admin_find(arr(doc, "Plugins"), "PluginId", id, NULL) != NULL;
}

static bool taken_api(json_t *doc, const char *id)
{
    size_t i;
    json_t *s;
    json_array_foreach(arr(doc, "Services"), i, s)
        if (sy_admin_find(arr(s, "Apis"), "ApiId", id, NULL))
            return true;
    return false;
}

/* The body's id: absent -> generated; present -> must be a string (and on
 * PUT equal to the path's). */
static bool body_id(ctx *x, json_t *body, const char *key, const char *prefix,
                    sy_admin_taken_fn *taken, const char *path_id, char *out, size_t cap)
{
    json_t *v = json_object_get(body, key);
    if (v && !json_is_string(v)) {
        sy_admin_bad_field(x->rs, key, "must be a string");
        return false;
    }
    if (path_id) {
        if (v && strcmp(json_string_value(v), path_id) != 0) {
            sy_admin_bad_field(x->rs, key, "does not match the id in the path (\"%s\")", path_id);
            return false;
        }
        snprintf(out, cap, "%s", path_id);
    } else if (v) {
        if (!*json_string_value(v)) {
            sy_admin_bad_field(x->rs, key, "must not be empty");
            return false;
        }
        if (taken(x->doc, json_string_value(v))) {
            conflict(x, "%s \"%s\" already exists", key, json_string_value(v));
            return false;
        }
        snprintf(out, cap, "%s", json_string_value(v));
    } else {
        sy_admin_new_id(out, cap, prefix, x->doc, taken);
    }
    json_object_set_new(body, key, json_string(out));
    return true;
}

/* Fields the API shows but that are changed elsewhere: dropped from bodies
 * so what GET returned can be PUT back. */
static void drop_read_only(json_t *body, const char *const *keys)
{
    for (size_t i = 0; keys[i]; i++)
        json_object_del(body, keys[i]);
}

/* ---- releases in the document ---- */

static void now_iso(char *out, size_t cap)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static bool taken_version(json_t *svc, const char *v)
{
    return sy_admin_find(arr(svc, "Releases"), "ReleaseVersion", v, NULL) != NULL;
}

/* Tencent's versions are a timestamp plus a random tail. */
static void new_version(json_t *svc, char *out, size_t cap)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", &tm);
    sy_admin_new_id(out, cap, stamp, svc, taken_version);
}

static json_t *release_record(json_t *svc, const char *env, const char *desc)
{
    char ver[64], when[32];
    new_version(svc, ver, sizeof ver);
    now_iso(when, sizeof when);
    json_t *apis = json_deep_copy(arr(svc, "Apis"));
    return json_pack("{s:s, s:s, s:s, s:s, s:b, s:o}", "ReleaseVersion", ver, "EnvironmentName",
                     env, "ReleaseDesc", desc, "ReleaseTime", when, "Active", 1, "Apis", apis);
}

/* A service written without Releases serves its APIs in every environment
 * it lists; before the admin API changes anything about it, that becomes
 * one release record per environment, so later API edits wait for a
 * publish as Tencent's do. */
static void materialize(json_t *svc)
{
    if (json_is_array(json_object_get(svc, "Releases"))) {
        json_object_del(svc, "Environments");
        return;
    }
    json_t *rel = json_array();
    json_object_set_new(svc, "Releases", rel);
    json_t *envs = json_object_get(svc, "Environments");
    size_t i;
    json_t *e;
    json_array_foreach(envs, i, e)
        if (json_is_string(e))
            json_array_append_new(rel, release_record(svc, json_string_value(e),
                                                      "published by the configuration file"));
    json_object_del(svc, "Environments");
}

static void prune_history(json_t *svc, const char *env)
{
    json_t *rel = arr(svc, "Releases");
    size_t n = 0, i;
    json_t *r;
    json_array_foreach(rel, i, r)
        n += strcmp(json_string_value(json_object_get(r, "EnvironmentName")) ?: "", env) == 0;
    for (i = 0; n > HISTORY_PER_ENV && i < json_array_size(rel);) {
        r = json_array_get(rel, i);
        if (strcmp(json_string_value(json_object_get(r, "EnvironmentName")) ?: "", env) == 0 &&
            !json_is_true(json_object_get(r, "Active"))) {
            json_array_remove(rel, i);
            n--;
        } else {
            i++;
        }
    }
}

/* Remove `api` (NULL: every API) of `svc` from every attachment. */
static void detach_everywhere(json_t *doc, const char *svc, const char *api)
{
    size_t i;
    json_t *p;
    json_array_foreach(arr(doc, "Plugins"), i, p) {
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

/* ---- views ---- */

static json_t *view_service(json_t *svc)
{
    json_t *v = json_deep_copy(svc);
    json_object_set_new(v, "ApiTotalCount", json_integer((json_int_t)json_array_size(arr(v, "Apis"))));
    json_object_del(v, "Apis");
    json_object_del(v, "Releases");
    return v;
}

static json_t *view_api(json_t *api, const char *svc)
{
    json_t *v = json_deep_copy(api);
    json_object_set_new(v, "ServiceId", json_string(svc));
    return v;
}

static json_t *attached_apis(json_t *p, const char *pid)
{
    json_t *out = json_array();
    size_t i, k;
    json_t *at, *id;
    json_array_foreach(arr(p, "Attachments"), i, at)
        json_array_foreach(arr(at, "ApiIds"), k, id)
            json_array_append_new(out, json_pack("{s:s, s:O, s:O, s:O}", "PluginId", pid,
                                                 "ServiceId", json_object_get(at, "ServiceId"),
                                                 "EnvironmentName",
                                                 json_object_get(at, "EnvironmentName"),
                                                 "ApiId", id));
    return out;
}

static json_t *view_plugin(json_t *p)
{
    json_t *v = json_deep_copy(p);
    const char *pid = json_string_value(json_object_get(p, "PluginId"));
    json_t *att = attached_apis(p, pid ? pid : "");
    json_object_set_new(v, "AttachedApiTotalCount", json_integer((json_int_t)json_array_size(att)));
    json_object_set_new(v, "AttachedApis", att);
    json_object_del(v, "Attachments");
    return v;
}

static json_t *view_release(json_t *r)
{
    json_t *v = json_deep_copy(r);
    json_t *ids = json_array();
    size_t i;
    json_t *a;
    json_array_foreach(arr(r, "Apis"), i, a)
        json_array_append(ids, json_object_get(a, "ApiId"));
    json_object_set_new(v, "ApiIds", ids);
    json_object_del(v, "Apis");
    return v;
}

/* Shows after a commit: x->id[] name the object. */
static json_t *show_upstream(ctx *x, json_t *doc)
{
    json_t *u = sy_admin_find(arr(doc, "Upstreams"), "UpstreamId", x->id[0], NULL);
    return u ? json_deep_copy(u) : json_object();
}

static json_t *show_service(ctx *x, json_t *doc)
{
    json_t *s = sy_admin_find(arr(doc, "Services"), "ServiceId", x->id[0], NULL);
    return s ? view_service(s) : json_object();
}

static json_t *show_api(ctx *x, json_t *doc)
{
    json_t *s = sy_admin_find(arr(doc, "Services"), "ServiceId", x->id[0], NULL);
    json_t *a = s ? sy_admin_find(arr(s, "Apis"), "ApiId", x->id[1], NULL) : NULL;
    return a ? view_api(a, x->id[0]) : json_object();
}

static json_t *show_plugin(ctx *x, json_t *doc)
{
    json_t *p = sy_admin_find(arr(doc, "Plugins"), "PluginId", x->id[0], NULL);
    return p ? view_plugin(p) : json_object();
}

static json_t *show_release(ctx *x, json_t *doc)
{
    json_t *s = sy_admin_find(arr(doc, "Services"), "ServiceId", x->id[0], NULL);
    json_t *r = s ? sy_admin_find(arr(s, "Releases"), "ReleaseVersion", x->id[1], NULL) : NULL;
    return r ? view_release(r) : json_object();
}

static json_t *show_env(ctx *x, json_t *doc)
{
    return json_pack("{s:s, s:s, s:b}", "ServiceId", x->id[0], "EnvironmentName", x->id[1],
                     "Active", 0);
}

static json_t *show_deleted(ctx *x, json_t *doc)
{
    return json_pack("{s:b}", "Result", 1);
}

static json_t *show_attach(ctx *x, json_t *doc)
{
    json_t *p = sy_admin_find(arr(doc, "Plugins"), "PluginId", x->id[0], NULL);
    json_t *v = json_pack("{s:b, s:s}", "Result", 1, "PluginId", x->id[0]);
    json_object_set_new(v, "AttachedApis", p ? attached_apis(p, x->id[0]) : json_array());
    return v;
}

/* ---- upstreams ---- */

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
                    json_array_append_new(
                        users, json_pack("{s:s, s:s, s:s, s:s, s:s}", "Kind", "release",
                                         "ServiceId", s->id, "EnvironmentName",
                                         sy_env_name(rel->env), "ReleaseVersion", rel->version,
                                         "ApiId", rel->apis[j].id));
        }
    }
    for (size_t i = 0; i < cfg->n_plugins; i++) {
        const sy_plugin_cfg *p = &cfg->plugins[i];
        for (size_t j = 0; j < p->n_policies; j++)
            if (p->policies[j].backend.upstream_id &&
                strcmp(p->policies[j].backend.upstream_id, id) == 0)
                json_array_append_new(users, json_pack("{s:s, s:s, s:s}", "Kind", "policy",
                                                       "PluginId", p->id, "strategy_name",
                                                       p->policies[j].name));
    }
    return users;
}

static const char *const upstream_ro[] = {NULL};

/* POST /v1/upstreams, PUT/PATCH/DELETE /v1/upstreams/{id} */
static int w_upstreams(ctx *x, json_t *body)
{
    const char *m = x->rq->method;
    json_t *list = arr(x->doc, "Upstreams");
    size_t idx = json_array_size(list);
    json_t *cur = x->nseg == 2 ? sy_admin_find(list, "UpstreamId", x->seg[1], &idx) : NULL;
    if (x->nseg == 2 && !cur) {
        not_found(x, "upstream", x->seg[1]);
        return -1;
    }
    snprintf(x->scope, sizeof x->scope, "Upstreams[%zu]", idx);
    x->show = show_upstream;
    if (strcmp(m, "DELETE") == 0) {
        json_t *users = upstream_users(sy_cfgmgr_current()->cfg, x->seg[1]);
        if (json_array_size(users)) {
            char msg[300];
            snprintf(msg, sizeof msg, "upstream \"%s\" is still used by %zu API(s), release(s) "
                     "or policies (see UsedBy)", x->seg[1], json_array_size(users));
            sy_admin_json(x->rs, 409, json_pack("{s:s, s:s, s:o}", "error", "conflict",
                                                "message", msg, "UsedBy", users));
            return -1;
        }
        json_decref(users);
        json_array_remove(list, idx);
        x->show = show_deleted;
        return 0;
    }
    drop_read_only(body, upstream_ro);
    if (strcmp(m, "PATCH") == 0) {
        json_t *merged = json_deep_copy(cur);
        sy_admin_merge_patch(merged, body);
        json_object_set_new(merged, "UpstreamId", json_string(x->seg[1]));
        json_array_set_new(list, idx, merged);
        snprintf(x->id[0], sizeof x->id[0], "%s", x->seg[1]);
        return 0;
    }
    if (!body_id(x, body, "UpstreamId", "upstream", taken_upstream,
                 x->nseg == 2 ? x->seg[1] : NULL, x->id[0], sizeof x->id[0]))
        return -1;
    if (cur)
        json_array_set(list, idx, body);
    else
        json_array_append(list, body);
    x->status = cur ? 200 : 201;
    return 0;
}

/* ---- services ---- */

static const char *const service_ro[] = {"Environments", "ApiTotalCount", "Releases", NULL};

static int w_services(ctx *x, json_t *body)
{
    const char *m = x->rq->method;
    json_t *list = arr(x->doc, "Services");
    size_t idx = json_array_size(list);
    json_t *cur = x->nseg == 2 ? sy_admin_find(list, "ServiceId", x->seg[1], &idx) : NULL;
    if (x->nseg == 2 && !cur) {
        not_found(x, "service", x->seg[1]);
        return -1;
    }
    snprintf(x->scope, sizeof x->scope, "Services[%zu]", idx);
    x->show = show_service;
    if (strcmp(m, "DELETE") == 0) {
        const sy_service_cfg *s = sy_cfg_find_service(sy_cfgmgr_current()->cfg, x->seg[1]);
        if (s && s->env_mask) {
            conflict(x, "service \"%s\" is published%s; unpublish it first "
                     "(DELETE /v1/services/ID/releases/ENV)", x->seg[1], "");
            return -1;
        }
        detach_everywhere(x->doc, x->seg[1], NULL);
        json_array_remove(list, idx);
        x->show = show_deleted;
        return 0;
    }
    drop_read_only(body, service_ro);
    if (json_object_get(body, "Apis")) {
        sy_admin_bad_field(x->rs, "Apis", "APIs are managed through /v1/services/ID/apis");
        return -1;
    }
    if (strcmp(m, "PATCH") == 0) {
        json_t *merged = json_deep_copy(cur);
        sy_admin_merge_patch(merged, body);
        json_object_set_new(merged, "ServiceId", json_string(x->seg[1]));
        materialize(merged);
        json_array_set_new(list, idx, merged);
        snprintf(x->id[0], sizeof x->id[0], "%s", x->seg[1]);
        return 0;
    }
    if (!body_id(x, body, "ServiceId", "service", taken_service,
                 x->nseg == 2 ? x->seg[1] : NULL, x->id[0], sizeof x->id[0]))
        return -1;
    if (cur) {
        materialize(cur);
        json_object_set(body, "Apis", arr(cur, "Apis"));
        json_object_set(body, "Releases", arr(cur, "Releases"));
        json_array_set(list, idx, body);
    } else {
        /* A new service is published nowhere until a release. */
        json_object_set_new(body, "Apis", json_array());
        json_object_set_new(body, "Releases", json_array());
        json_array_append(list, body);
    }
    x->status = cur ? 200 : 201;
    return 0;
}

/* ---- APIs (the service's draft; live after a publish) ---- */

static const char *const api_ro[] = {"ServiceId", NULL};

static int w_apis(ctx *x, json_t *svc, size_t si, json_t *body)
{
    const char *m = x->rq->method;
    materialize(svc);
    json_t *list = arr(svc, "Apis");
    size_t idx = json_array_size(list);
    json_t *cur = x->nseg == 4 ? sy_admin_find(list, "ApiId", x->seg[3], &idx) : NULL;
    if (x->nseg == 4 && !cur) {
        not_found(x, "API", x->seg[3]);
        return -1;
    }
    snprintf(x->scope, sizeof x->scope, "Services[%zu].Apis[%zu]", si, idx);
    snprintf(x->id[0], sizeof x->id[0], "%s", x->seg[1]);
    x->show = show_api;
    if (strcmp(m, "DELETE") == 0) {
        json_array_remove(list, idx);
        /* Tencent: deleting an API deletes its bindings. */
        detach_everywhere(x->doc, x->seg[1], x->seg[3]);
        x->show = show_deleted;
        return 0;
    }
    drop_read_only(body, api_ro);
    if (strcmp(m, "PATCH") == 0) {
        json_t *merged = json_deep_copy(cur);
        sy_admin_merge_patch(merged, body);
        json_object_set_new(merged, "ApiId", json_string(x->seg[3]));
        json_array_set_new(list, idx, merged);
        snprintf(x->id[1], sizeof x->id[1], "%s", x->seg[3]);
        return 0;
    }
    if (!body_id(x, body, "ApiId", "api", taken_api, x->nseg == 4 ? x->seg[3] : NULL, x->id[1],
                 sizeof x->id[1]))
        return -1;
    if (cur)
        json_array_set(list, idx, body);
    else
        json_array_append(list, body);
    x->status = cur ? 200 : 201;
    return 0;
}

/* ---- releases ---- */

static json_t *active_in(json_t *svc, const char *env, size_t *idx)
{
    size_t i;
    json_t *r;
    json_array_foreach(arr(svc, "Releases"), i, r) {
        const char *e = json_string_value(json_object_get(r, "EnvironmentName"));
        if (e && strcmp(e, env) == 0 && json_is_true(json_object_get(r, "Active"))) {
            if (idx)
                *idx = i;
            return r;
        }
    }
    return NULL;
}

static bool env_arg(ctx *x, json_t *v, const char *field, const char **out)
{
    if (!json_is_string(v) || env_of(json_string_value(v)) < 0) {
        sy_admin_bad_field(x->rs, field, "must be one of test, prepub, release");
        return false;
    }
    *out = json_string_value(v);
    return true;
}

/* POST .../releases {EnvironmentName, ReleaseDesc}: publish the current
 * APIs.  PUT .../releases/{env} {ReleaseVersion}: switch env to an
 * earlier version.  DELETE .../releases/{env}: unpublish. */
static int w_releases(ctx *x, json_t *svc, size_t si, json_t *body)
{
    const char *m = x->rq->method, *env;
    materialize(svc);
    snprintf(x->scope, sizeof x->scope, "Services[%zu]", si);
    snprintf(x->id[0], sizeof x->id[0], "%s", x->seg[1]);
    json_t *rel = arr(svc, "Releases");
    if (strcmp(m, "POST") == 0) {
        static const char *const keys[] = {"EnvironmentName", "ReleaseDesc", NULL};
        const char *k;
        json_t *v;
        json_object_foreach(body, k, v) {
            bool known = false;
            for (size_t i = 0; keys[i]; i++)
                known |= strcmp(k, keys[i]) == 0;
            if (!known) {
                sy_admin_bad_field(x->rs, k, "unknown field (expected EnvironmentName, ReleaseDesc)");
                return -1;
            }
        }
        if (!env_arg(x, json_object_get(body, "EnvironmentName"), "EnvironmentName", &env))
            return -1;
        json_t *d = json_object_get(body, "ReleaseDesc");
        if (d && (!json_is_string(d) || json_string_length(d) > 200)) {
            sy_admin_bad_field(x->rs, "ReleaseDesc", "must be a string of at most 200 characters");
            return -1;
        }
        json_t *old = active_in(svc, env, NULL);
        if (old)
            json_object_set_new(old, "Active", json_false());
        json_t *r = release_record(svc, env, d ? json_string_value(d) : "");
        snprintf(x->id[1], sizeof x->id[1], "%s",
                 json_string_value(json_object_get(r, "ReleaseVersion")));
        json_array_append_new(rel, r);
        prune_history(svc, env);
        x->show = show_release;
        x->status = 201;
        return 0;
    }
    env = x->seg[3];
    if (env_of(env) < 0) {
        not_found(x, "environment", env);
        return -1;
    }
    json_t *act = active_in(svc, env, NULL);
    if (strcmp(m, "DELETE") == 0) {
        if (!act) {
            conflict(x, "service \"%s\" is not published in %s", x->seg[1], env);
            return -1;
        }
        json_object_set_new(act, "Active", json_false());
        snprintf(x->id[1], sizeof x->id[1], "%s", env);
        x->show = show_env;
        return 0;
    }
    /* PUT: switch versions. */
    json_t *v = json_object_get(body, "ReleaseVersion");
    if (!json_is_string(v)) {
        sy_admin_bad_field(x->rs, "ReleaseVersion", "is required (a version of this environment)");
        return -1;
    }
    json_t *target = sy_admin_find(rel, "ReleaseVersion", json_string_value(v), NULL);
    const char *te = target ? json_string_value(json_object_get(target, "EnvironmentName")) : NULL;
    if (!target || !te || strcmp(te, env) != 0) {
        not_found(x, "release of this service in this environment", json_string_value(v));
        return -1;
    }
    if (act)
        json_object_set_new(act, "Active", json_false());
    json_object_set_new(target, "Active", json_true());
    snprintf(x->id[1], sizeof x->id[1], "%s", json_string_value(v));
    x->show = show_release;
    return 0;
}

/* ---- plugins ---- */

static const char *const plugin_ro[] = {"AttachedApis", "AttachedApiTotalCount", NULL};

static int w_plugins(ctx *x, json_t *body)
{
    const char *m = x->rq->method;
    json_t *list = arr(x->doc, "Plugins");
    size_t idx = json_array_size(list);
    json_t *cur = x->nseg >= 2 ? sy_admin_find(list, "PluginId", x->seg[1], &idx) : NULL;
    if (x->nseg >= 2 && !cur) {
        not_found(x, "plugin", x->seg[1]);
        return -1;
    }
    snprintf(x->scope, sizeof x->scope, "Plugins[%zu]", idx);
    x->show = show_plugin;
    if (strcmp(m, "DELETE") == 0) {
        json_array_remove(list, idx);
        x->show = show_deleted;
        return 0;
    }
    drop_read_only(body, plugin_ro);
    if (json_object_get(body, "Attachments")) {
        sy_admin_bad_field(x->rs, "Attachments",
                           "attachments are managed through /v1/plugins/ID/attachments");
        return -1;
    }
    json_t *att = cur ? json_object_get(cur, "Attachments") : NULL;
    if (strcmp(m, "PATCH") == 0) {
        json_t *merged = json_deep_copy(cur);
        sy_admin_merge_patch(merged, body);
        json_object_set_new(merged, "PluginId", json_string(x->seg[1]));
        json_array_set_new(list, idx, merged);
        snprintf(x->id[0], sizeof x->id[0], "%s", x->seg[1]);
        return 0;
    }
    if (!body_id(x, body, "PluginId", "plugin", taken_plugin, x->nseg == 2 ? x->seg[1] : NULL,
                 x->id[0], sizeof x->id[0]))
        return -1;
    if (att)
        json_object_set(body, "Attachments", att);
    if (cur)
        json_array_set(list, idx, body);
    else
        json_array_append(list, body);
    x->status = cur ? 200 : 201;
    return 0;
}

/* Is API `id` live in `env` of service `sid` (running configuration)? */
static bool released(const char *sid, int env, const char *id)
{
    const sy_service_cfg *s = sy_cfg_find_service(sy_cfgmgr_current()->cfg, sid);
    for (size_t i = 0; s && i < s->n_env_apis[env]; i++)
        if (s->env_apis[env][i].id && strcmp(s->env_apis[env][i].id, id) == 0)
            return true;
    return false;
}

/* POST .../attachments {ServiceId, EnvironmentName, ApiIds};
 * DELETE .../attachments?ServiceId=&EnvironmentName=&ApiId= (or a body). */
static int w_attachments(ctx *x, json_t *body)
{
    json_t *list = arr(x->doc, "Plugins");
    size_t pi;
    json_t *p = sy_admin_find(list, "PluginId", x->seg[1], &pi);
    if (!p) {
        not_found(x, "plugin", x->seg[1]);
        return -1;
    }
    snprintf(x->id[0], sizeof x->id[0], "%s", x->seg[1]);
    snprintf(x->scope, sizeof x->scope, "Plugins[%zu]", pi);
    x->show = show_attach;
    json_t *ats = arr(p, "Attachments");
    const char *sid, *env;
    json_t *sv = json_object_get(body, "ServiceId");
    if (!json_is_string(sv)) {
        sy_admin_bad_field(x->rs, "ServiceId", "is required (a string)");
        return -1;
    }
    sid = json_string_value(sv);
    if (!env_arg(x, json_object_get(body, "EnvironmentName"), "EnvironmentName", &env))
        return -1;
    json_t *svc = sy_admin_find(arr(x->doc, "Services"), "ServiceId", sid, NULL);
    if (!svc) {
        not_found(x, "service", sid);
        return -1;
    }
    size_t ai = json_array_size(ats), i;
    json_t *at = NULL, *a;
    json_array_foreach(ats, i, a) {
        const char *s = json_string_value(json_object_get(a, "ServiceId"));
        const char *e = json_string_value(json_object_get(a, "EnvironmentName"));
        if (s && e && strcmp(s, sid) == 0 && strcmp(e, env) == 0) {
            at = a;
            ai = i;
            break;
        }
    }
    if (strcmp(x->rq->method, "DELETE") == 0) {
        json_t *v = json_object_get(body, "ApiId");
        if (!json_is_string(v)) {
            sy_admin_bad_field(x->rs, "ApiId", "is required (one API per detach)");
            return -1;
        }
        json_t *ids = at ? json_object_get(at, "ApiIds") : NULL;
        for (i = 0; i < json_array_size(ids); i++) {
            const char *id = json_string_value(json_array_get(ids, i));
            if (id && strcmp(id, json_string_value(v)) == 0)
                break;
        }
        if (!ids || i == json_array_size(ids)) {
            not_found(x, "attachment of this plugin for API", json_string_value(v));
            return -1;
        }
        json_array_remove(ids, i);
        if (json_array_size(ids) == 0)
            json_array_remove(ats, ai);
        if (json_array_size(ats) == 0)
            json_object_del(p, "Attachments");
        return 0;
    }
    json_t *ids = json_object_get(body, "ApiIds");
    if (!json_is_array(ids) || json_array_size(ids) == 0) {
        sy_admin_bad_field(x->rs, "ApiIds", "must be a non-empty list of API ids");
        return -1;
    }
    json_t *id;
    json_array_foreach(ids, i, id) {
        char field[32];
        snprintf(field, sizeof field, "ApiIds[%zu]", i);
        if (!json_is_string(id)) {
            sy_admin_bad_field(x->rs, field, "must be a string");
            return -1;
        }
        if (!released(sid, env_of(env), json_string_value(id))) {
            sy_admin_bad_field(x->rs, field, "API \"%s\" is not released in %s of service "
                               "\"%s\" (publish it first)", json_string_value(id), env, sid);
            return -1;
        }
    }
    if (at) {
        json_t *have;
        size_t k;
        json_array_foreach(json_object_get(at, "ApiIds"), k, have)
            json_array_foreach(ids, i, id)
                if (json_equal(have, id)) {
                    conflict(x, "API \"%s\" is already attached in %s by this plugin",
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

/* ---- reads ---- */

static void list_reply(ctx *x, json_t *items)
{
    size_t limit, offset;
    if (!sy_admin_paging(x->rq, x->rs, &limit, &offset)) {
        json_decref(items);
        return;
    }
    sy_admin_json(x->rs, 200, sy_admin_page(items, limit, offset));
}

static json_t *map_list(json_t *src, json_t *(*view)(json_t *))
{
    json_t *out = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(src, i, v)
        json_array_append_new(out, view ? view(v) : json_deep_copy(v));
    return out;
}

static void read(ctx *x)
{
    json_t *doc = sy_admin_cfg_json(x->rq->snap->cfg, false);
    const char *top = x->seg[0];
    json_t *o = NULL;
    if (strcmp(top, "upstreams") == 0) {
        json_t *list = arr(doc, "Upstreams");
        if (x->nseg == 1)
            list_reply(x, map_list(list, NULL));
        else if ((o = sy_admin_find(list, "UpstreamId", x->seg[1], NULL)))
            sy_admin_json(x->rs, 200, json_deep_copy(o));
        else
            not_found(x, "upstream", x->seg[1]);
    } else if (strcmp(top, "plugins") == 0) {
        json_t *list = arr(doc, "Plugins");
        o = x->nseg >= 2 ? sy_admin_find(list, "PluginId", x->seg[1], NULL) : NULL;
        if (x->nseg == 1)
            list_reply(x, map_list(list, view_plugin));
        else if (!o)
            not_found(x, "plugin", x->seg[1]);
        else if (x->nseg == 2)
            sy_admin_json(x->rs, 200, view_plugin(o));
        else
            list_reply(x, attached_apis(o, x->seg[1]));
    } else {
        json_t *list = arr(doc, "Services");
        o = x->nseg >= 2 ? sy_admin_find(list, "ServiceId", x->seg[1], NULL) : NULL;
        if (x->nseg == 1) {
            list_reply(x, map_list(list, view_service));
        } else if (!o) {
            not_found(x, "service", x->seg[1]);
        } else if (x->nseg == 2) {
            sy_admin_json(x->rs, 200, view_service(o));
        } else if (strcmp(x->seg[2], "apis") == 0) {
            json_t *apis = arr(o, "Apis");
            json_t *a = x->nseg == 4 ? sy_admin_find(apis, "ApiId", x->seg[3], NULL) : NULL;
            if (x->nseg == 3) {
                json_t *out = json_array();
                size_t i;
                json_t *v;
                json_array_foreach(apis, i, v)
                    json_array_append_new(out, view_api(v, x->seg[1]));
                list_reply(x, out);
            } else if (a) {
                sy_admin_json(x->rs, 200, view_api(a, x->seg[1]));
            } else {
                not_found(x, "API", x->seg[3]);
            }
        } else {
            /* releases: list (optionally ?EnvironmentName=), or one env's live release */
            json_t *rel = arr(o, "Releases");
            char want[32];
            bool filter = sy_admin_query(x->rq, "EnvironmentName", want, sizeof want);
            if (x->nseg == 4) {
                filter = true;
                snprintf(want, sizeof want, "%s", x->seg[3]);
            }
            if (filter && env_of(want) < 0) {
                not_found(x, "environment", want);
            } else if (x->nseg == 4) {
                json_t *act = active_in(o, want, NULL);
                const sy_service_cfg *s = sy_cfg_find_service(x->rq->snap->cfg, x->seg[1]);
                if (!act && s && !s->has_releases && (s->env_mask & (1u << env_of(want)))) {
                    /* A file-written service serves its APIs as listed. */
                    json_t *v = json_pack("{s:s, s:s, s:s, s:b, s:O}", "ReleaseVersion", "",
                                          "EnvironmentName", want, "ReleaseDesc",
                                          "published by the configuration file", "Active", 1,
                                          "Apis", arr(o, "Apis"));
                    sy_admin_json(x->rs, 200, view_release(v));
                    json_decref(v);
                } else if (act)
                    sy_admin_json(x->rs, 200, view_release(act));
                else
                    conflict(x, "service \"%s\" has no active release in %s", x->seg[1], want);
            } else {
                json_t *out = json_array();
                size_t i;
                json_t *r;
                json_array_foreach(rel, i, r) {
                    const char *e = json_string_value(json_object_get(r, "EnvironmentName"));
                    if (!filter || (e && strcmp(e, want) == 0))
                        json_array_append_new(out, view_release(r));
                }
                list_reply(x, out);
            }
        }
    }
    json_decref(doc);
}

/* ---- /v1/config ---- */

static void config_get(ctx *x)
{
    char *text = sy_config_dump_yaml(x->rq->snap->cfg);
    x->rs->status = 200;
    x->rs->ctype = "application/yaml; charset=utf-8";
    sy_buf_reset(&x->rs->body);
    sy_buf_append_str(&x->rs->body, text);
    free(text);
}

static void config_put(ctx *x)
{
    sy_errors errs = {0};
    sy_config *cfg = sy_config_load_string(x->rq->body, x->rq->body_len, "<request body>", &errs);
    if (!cfg) {
        sy_admin_invalid(x->rs, &errs, NULL, NULL);
        sy_errors_free(&errs);
        return;
    }
    sy_cfgmgr_lock();
    const sy_config *cur = sy_cfgmgr_current()->cfg;
    /* The dump never shows the token: a document without one keeps it. */
    if (!cfg->gw.admin_token && cur->gw.admin_token)
        cfg->gw.admin_token = sy_arena_strdup(&cfg->arena, cur->gw.admin_token);
    if (cfg->version <= cur->version)
        cfg->version = cur->version + 1;
    char err[512] = "";
    int rc = sy_cfgmgr_commit(cfg, &errs, err, sizeof err);
    if (rc == SY_CFGMGR_OK) {
        json_t *doc = json_pack("{s:b, s:I}", "Result", 1, "Version",
                                (json_int_t)sy_cfgmgr_current()->cfg->version);
        sy_admin_json(x->rs, 200, doc);
    } else {
        sy_config_free(cfg);
        if (rc == SY_CFGMGR_STORE)
            sy_admin_error(x->rs, 500, "store_failed", err);
        else
            sy_admin_invalid(x->rs, &errs, NULL, NULL);
    }
    sy_cfgmgr_unlock();
    sy_errors_free(&errs);
}

/* ---- dispatch ---- */

static bool split(ctx *x)
{
    sy_str p = x->rq->path;
    if (p.len >= sizeof x->segbuf)
        return false;
    memcpy(x->segbuf, p.p, p.len);
    x->segbuf[p.len] = '\0';
    char *s = x->segbuf + 4; /* after "/v1/" */
    while (*s) {
        if (x->nseg == MAX_SEGS)
            return false;
        char *slash = strchr(s, '/');
        if (slash)
            *slash = '\0';
        if (!*s)
            return false;
        x->seg[x->nseg++] = s;
        if (!slash)
            break;
        s = slash + 1;
        if (!*s)
            return false; /* trailing slash */
    }
    return x->nseg > 0;
}

/* Which methods a path takes, or NULL when it is no resource. */
static const char *allowed(ctx *x)
{
    const char *t = x->seg[0];
    size_t n = x->nseg;
    if (strcmp(t, "config") == 0)
        return n == 1 ? "GET, PUT" : NULL;
    if (strcmp(t, "upstreams") == 0)
        return n == 1 ? "GET, POST" : n == 2 ? "GET, PUT, PATCH, DELETE" : NULL;
    if (strcmp(t, "plugins") == 0) {
        if (n <= 2)
            return n == 1 ? "GET, POST" : "GET, PUT, PATCH, DELETE";
        return n == 3 && strcmp(x->seg[2], "attachments") == 0 ? "GET, POST, DELETE" : NULL;
    }
    if (strcmp(t, "services") == 0) {
        if (n <= 2)
            return n == 1 ? "GET, POST" : "GET, PUT, PATCH, DELETE";
        if (strcmp(x->seg[2], "apis") == 0)
            return n == 3 ? "GET, POST" : n == 4 ? "GET, PUT, PATCH, DELETE" : NULL;
        if (strcmp(x->seg[2], "releases") == 0)
            return n == 3 ? "GET, POST" : n == 4 ? "GET, PUT, DELETE" : NULL;
    }
    return NULL;
}

static bool method_in(const char *m, const char *list)
{
    size_t n = strlen(m);
    for (const char *p = list; (p = strstr(p, m)); p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

/* DELETE .../attachments takes its arguments from the query too. */
static json_t *query_body(ctx *x)
{
    static const char *const keys[] = {"ServiceId", "EnvironmentName", "ApiId", NULL};
    json_t *b = json_object();
    char v[512];
    for (size_t i = 0; keys[i]; i++)
        if (sy_admin_query(x->rq, keys[i], v, sizeof v))
            json_object_set_new(b, keys[i], json_string(v));
    return b;
}

static void write(ctx *x)
{
    const char *m = x->rq->method;
    json_t *body = NULL;
    bool is_attach = x->nseg == 3 && strcmp(x->seg[0], "plugins") == 0;
    if (strcmp(m, "DELETE") == 0 && !(is_attach && x->rq->body_len))
        body = is_attach ? query_body(x) : json_object();
    else if (!(body = sy_admin_body(x->rq, x->rs)))
        return;
    sy_cfgmgr_lock();
    x->doc = sy_admin_cfg_json(sy_cfgmgr_current()->cfg, true);
    x->status = 200;
    int rc;
    const char *t = x->seg[0];
    if (strcmp(t, "upstreams") == 0) {
        rc = w_upstreams(x, body);
    } else if (strcmp(t, "plugins") == 0) {
        rc = x->nseg == 3 ? w_attachments(x, body) : w_plugins(x, body);
    } else if (x->nseg <= 2) {
        rc = w_services(x, body);
    } else {
        size_t si;
        json_t *svc = sy_admin_find(arr(x->doc, "Services"), "ServiceId", x->seg[1], &si);
        if (!svc) {
            not_found(x, "service", x->seg[1]);
            rc = -1;
        } else {
            rc = strcmp(x->seg[2], "apis") == 0 ? w_apis(x, svc, si, body)
                                                : w_releases(x, svc, si, body);
        }
    }
    if (rc == 0 && strcmp(t, "plugins") == 0 && x->nseg == 1)
        snprintf(x->scope2, sizeof x->scope2, "Plugins[%s]", x->id[0]);
    else if (rc == 0 && strcmp(t, "plugins") == 0)
        snprintf(x->scope2, sizeof x->scope2, "Plugins[%s]", x->seg[1]);
    if (rc == 0 && sy_admin_commit(x->doc, x->rs, x->scope, x->scope2)) {
        json_t *now = sy_admin_cfg_json(sy_cfgmgr_current()->cfg, false);
        json_t *out = x->show(x, now);
        json_object_set_new(out, "ConfigVersion",
                            json_integer((json_int_t)sy_cfgmgr_current()->cfg->version));
        sy_admin_json(x->rs, x->status, out);
        json_decref(now);
    }
    sy_cfgmgr_unlock();
    json_decref(x->doc);
    json_decref(body);
}

bool sy_admin_resources(const sy_admin_req *rq, sy_admin_resp *rs)
{
    if (!sy_str_starts(rq->path, SY_STR_LIT("/v1/")))
        return false;
    ctx x = {.rq = rq, .rs = rs};
    if (!split(&x))
        return false;
    const char *allow = allowed(&x);
    if (!allow)
        return false;
    const char *m = strcmp(rq->method, "HEAD") == 0 ? "GET" : rq->method;
    if (!method_in(m, allow)) {
        static char hdr[128];
        snprintf(hdr, sizeof hdr, "Allow: %s\r\n", allow);
        rs->extra_headers = hdr;
        char msg[160];
        snprintf(msg, sizeof msg, "%s is not allowed here (use %s)", rq->method, allow);
        sy_admin_error(rs, 405, "method_not_allowed", msg);
        return true;
    }
    if (strcmp(x.seg[0], "config") == 0) {
        if (strcmp(m, "GET") == 0)
            config_get(&x);
        else
            config_put(&x);
        return true;
    }
    if (strcmp(m, "GET") == 0)
        read(&x);
    else
        write(&x);
    return true;
}
