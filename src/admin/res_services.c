/* /v1/services[/{ServiceId}], .../apis[/{ApiId}] and
 * .../releases[/{EnvironmentName}].
 *
 * Tencent's rules: API edits change the service's draft and reach an
 * environment only by publishing (a release record holds a copy of the
 * APIs); a published service cannot be deleted; deleting an API detaches
 * it from every plugin. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "admin/resources_int.h"
#include "config/fields.h"
#include "gen/manager.h"

#define HISTORY_PER_ENV 10

static bool taken_service(json_t *doc, const char *id)
{
    return sy_admin_find(sy_res_arr(doc, "Services"), "ServiceId", id, NULL) != NULL;
}

/* API ids are unique across services. */
static bool taken_api(json_t *doc, const char *id)
{
    size_t i;
    json_t *s;
    json_array_foreach(sy_res_arr(doc, "Services"), i,
                       s) if (sy_admin_find(sy_res_arr(s, "Apis"), "ApiId", id, NULL)) return true;
    return false;
}

static const sy_res_coll services = {
    .list = "Services",
    .view = sy_res_view_service,
    .id_key = "ServiceId",
    .what = "service",
    .prefix = "service",
    .taken = taken_service,
    .seg = 1,
    .slot = 0,
};

static const sy_res_coll apis = {
    .id_key = "ApiId",
    .what = "API",
    .prefix = "api",
    .taken = taken_api,
    .seg = 3,
    .slot = 1,
};

/* ---- shows after a commit: x->id[] name the object ---- */

static json_t *show_api(sy_res_ctx *x, json_t *doc)
{
    json_t *s = sy_admin_find(sy_res_arr(doc, "Services"), "ServiceId", x->id[0], NULL);
    json_t *a = s ? sy_admin_find(sy_res_arr(s, "Apis"), "ApiId", x->id[1], NULL) : NULL;
    return a ? sy_res_view_api(a, x->id[0]) : json_object();
}

static json_t *show_release(sy_res_ctx *x, json_t *doc)
{
    json_t *s = sy_admin_find(sy_res_arr(doc, "Services"), "ServiceId", x->id[0], NULL);
    json_t *r =
        s ? sy_admin_find(sy_res_arr(s, "Releases"), "ReleaseVersion", x->id[1], NULL) : NULL;
    return r ? sy_res_view_release(r) : json_object();
}

static json_t *show_env(sy_res_ctx *x, json_t *doc)
{
    return json_pack("{s:s, s:s, s:b}", "ServiceId", x->id[0], "EnvironmentName", x->id[1],
                     "Active", 0);
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
    return sy_admin_find(sy_res_arr(svc, "Releases"), "ReleaseVersion", v, NULL) != NULL;
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
    json_t *list = json_deep_copy(sy_res_arr(svc, "Apis"));
    return json_pack("{s:s, s:s, s:s, s:s, s:b, s:o}", "ReleaseVersion", ver, "EnvironmentName",
                     env, "ReleaseDesc", desc, "ReleaseTime", when, "Active", 1, "Apis", list);
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
    json_array_foreach(envs, i, e) if (json_is_string(e)) json_array_append_new(
        rel, release_record(svc, json_string_value(e), "published by the configuration file"));
    json_object_del(svc, "Environments");
}

static void prune_history(json_t *svc, const char *env)
{
    json_t *rel = sy_res_arr(svc, "Releases");
    size_t n = 0, i;
    json_t *r;
    json_array_foreach(rel, i, r) n +=
        strcmp(json_string_value(json_object_get(r, "EnvironmentName")) ?: "", env) == 0;
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

json_t *sy_res_active_in(json_t *svc, const char *env, size_t *idx)
{
    size_t i;
    json_t *r;
    json_array_foreach(sy_res_arr(svc, "Releases"), i, r)
    {
        const char *e = json_string_value(json_object_get(r, "EnvironmentName"));
        if (e && strcmp(e, env) == 0 && json_is_true(json_object_get(r, "Active"))) {
            if (idx)
                *idx = i;
            return r;
        }
    }
    return NULL;
}

/* ---- services ---- */

static const char *const service_ro[] = {"Environments", "ApiTotalCount", "Releases", NULL};

int sy_res_w_services(sy_res_ctx *x, json_t *body)
{
    const char *m = x->rq->method;
    json_t *list = sy_res_arr(x->doc, "Services"), *cur;
    size_t idx;
    if (!sy_res_target(x, &services, list, &cur, &idx))
        return -1;
    if (strcmp(m, "DELETE") == 0) {
        const sy_service_cfg *s = sy_cfg_find_service(sy_cfgmgr_current()->cfg, x->seg[1]);
        if (s && s->env_mask) {
            sy_res_conflict(x,
                            "service \"%s\" is published%s; unpublish it first "
                            "(DELETE /v1/services/ID/releases/ENV)",
                            x->seg[1], "");
            return -1;
        }
        sy_res_detach_everywhere(x->doc, x->seg[1], NULL);
        json_array_remove(list, idx);
        x->show = sy_res_show_deleted;
        return 0;
    }
    sy_res_drop_read_only(body, service_ro);
    if (json_object_get(body, "Apis")) {
        sy_admin_bad_field(x->rs, "Apis", "APIs are managed through /v1/services/ID/apis");
        return -1;
    }
    if (strcmp(m, "PATCH") == 0) {
        materialize(sy_res_patch(x, &services, list, idx, cur, body));
        return 0;
    }
    if (!sy_res_body_id(x, &services, body))
        return -1;
    if (cur) {
        materialize(cur);
        json_object_set(body, "Apis", sy_res_arr(cur, "Apis"));
        json_object_set(body, "Releases", sy_res_arr(cur, "Releases"));
    } else {
        /* A new service is published nowhere until a release. */
        json_object_set_new(body, "Apis", json_array());
        json_object_set_new(body, "Releases", json_array());
    }
    return sy_res_store(x, list, idx, cur, body);
}

/* ---- APIs (the service's draft; live after a publish) ---- */

static const char *const api_ro[] = {"ServiceId", NULL};

int sy_res_w_apis(sy_res_ctx *x, json_t *svc, size_t si, json_t *body)
{
    const char *m = x->rq->method;
    materialize(svc);
    json_t *list = sy_res_arr(svc, "Apis"), *cur;
    size_t idx;
    if (!sy_res_target(x, &apis, list, &cur, &idx))
        return -1;
    snprintf(x->scope, sizeof x->scope, "Services[%zu].Apis[%zu]", si, idx);
    snprintf(x->id[0], sizeof x->id[0], "%s", x->seg[1]);
    x->show = show_api;
    if (strcmp(m, "DELETE") == 0) {
        json_array_remove(list, idx);
        /* Tencent: deleting an API deletes its bindings. */
        sy_res_detach_everywhere(x->doc, x->seg[1], x->seg[3]);
        x->show = sy_res_show_deleted;
        return 0;
    }
    sy_res_drop_read_only(body, api_ro);
    if (strcmp(m, "PATCH") == 0) {
        sy_res_patch(x, &apis, list, idx, cur, body);
        return 0;
    }
    if (!sy_res_body_id(x, &apis, body))
        return -1;
    return sy_res_store(x, list, idx, cur, body);
}

/* ---- releases ---- */

/* POST .../releases {EnvironmentName, ReleaseDesc}: publish the current
 * APIs (a new version). */
static int publish(sy_res_ctx *x, json_t *svc, json_t *body)
{
    static const char *const keys[] = {"EnvironmentName", "ReleaseDesc", NULL};
    const char *k, *env;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        bool known = false;
        for (size_t i = 0; keys[i]; i++)
            known |= strcmp(k, keys[i]) == 0;
        if (!known) {
            sy_admin_bad_field(x->rs, k, "unknown field (expected EnvironmentName, ReleaseDesc)");
            return -1;
        }
    }
    if (!sy_res_env_arg(x, json_object_get(body, "EnvironmentName"), "EnvironmentName", &env))
        return -1;
    json_t *d = json_object_get(body, "ReleaseDesc");
    if (d && (!json_is_string(d) || json_string_length(d) > 200)) {
        sy_admin_bad_field(x->rs, "ReleaseDesc", "must be a string of at most 200 characters");
        return -1;
    }
    json_t *old = sy_res_active_in(svc, env, NULL);
    if (old)
        json_object_set_new(old, "Active", json_false());
    json_t *r = release_record(svc, env, d ? json_string_value(d) : "");
    snprintf(x->id[1], sizeof x->id[1], "%s",
             json_string_value(json_object_get(r, "ReleaseVersion")));
    json_array_append_new(sy_res_arr(svc, "Releases"), r);
    prune_history(svc, env);
    x->show = show_release;
    x->status = 201;
    return 0;
}

/* POST: publish.  PUT .../releases/{env} {ReleaseVersion}: switch env to
 * an earlier version.  DELETE .../releases/{env}: unpublish. */
int sy_res_w_releases(sy_res_ctx *x, json_t *svc, size_t si, json_t *body)
{
    const char *m = x->rq->method, *env;
    materialize(svc);
    snprintf(x->scope, sizeof x->scope, "Services[%zu]", si);
    snprintf(x->id[0], sizeof x->id[0], "%s", x->seg[1]);
    json_t *rel = sy_res_arr(svc, "Releases");
    if (strcmp(m, "POST") == 0)
        return publish(x, svc, body);
    env = x->seg[3];
    if (sy_res_env_of(env) < 0) {
        sy_res_not_found(x, "environment", env);
        return -1;
    }
    json_t *act = sy_res_active_in(svc, env, NULL);
    if (strcmp(m, "DELETE") == 0) {
        if (!act) {
            sy_res_conflict(x, "service \"%s\" is not published in %s", x->seg[1], env);
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
        sy_res_not_found(x, "release of this service in this environment", json_string_value(v));
        return -1;
    }
    if (act)
        json_object_set_new(act, "Active", json_false());
    json_object_set_new(target, "Active", json_true());
    snprintf(x->id[1], sizeof x->id[1], "%s", json_string_value(v));
    x->show = show_release;
    return 0;
}
