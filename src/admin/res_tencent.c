/* Tencent's request shapes on the admin API: a CreateApi, CreateService,
 * CreateUpstream or CreatePlugin body (RequestConfig, AuthType, K8sServices,
 * Action/Version/Region...) is rewritten into our shape by the one mapping
 * config/tencent.h defines, before the writer and the validator see it.
 * What the mapping refuses is a 400 naming each field and why; what it
 * drops is listed in the reply as TencentIgnored, so nothing goes
 * silently.  ReleaseService, AttachPlugin and DetachPlugin bodies are
 * accepted on releases and attachments too. */
#include <stdio.h>
#include <string.h>

#include "admin/resources_int.h"
#include "config/tencent.h"

/* Which object the path writes, or -1 (releases, attachments). */
static int kind_of(const sy_res_ctx *x)
{
    const char *t = x->seg[0];
    if (strcmp(t, "upstreams") == 0 && x->nseg <= 2)
        return SY_TC_UPSTREAM;
    if (strcmp(t, "plugins") == 0 && x->nseg <= 2)
        return SY_TC_PLUGIN;
    if (strcmp(t, "services") == 0 && x->nseg <= 2)
        return SY_TC_SERVICE;
    if (strcmp(t, "services") == 0 && x->nseg >= 3 && strcmp(x->seg[2], "apis") == 0)
        return SY_TC_API;
    return -1;
}

static void refuse(sy_res_ctx *x, json_t *refused)
{
    sy_errors e = {0};
    size_t i;
    json_t *p;
    json_array_foreach(refused, i, p)
        sy_errors_add(&e, "%s: %s", json_string_value(json_object_get(p, "field")),
                      json_string_value(json_object_get(p, "reason")));
    sy_admin_invalid(x->rs, &e, NULL, NULL);
    sy_errors_free(&e);
}

/* Tencent's common request parameters: Action must name this call
 * (`want`, NULL: no Action fits); Version and Region have no meaning for one
 * self-hosted gateway. */
static bool common_params(sy_res_ctx *x, const char *want, json_t *body, json_t *ignored)
{
    json_t *a = json_object_get(body, "Action");
    if (a) {
        if (!json_is_string(a) || !want || strcmp(json_string_value(a), want) != 0) {
            sy_admin_bad_field(x->rs, "Action", "must be %s on %s of this path",
                               want ? want : "absent", x->rq->method);
            return false;
        }
        json_object_del(body, "Action");
    }
    static const char *const drop[] = {"Version", "Region"};
    for (size_t i = 0; i < 2; i++) {
        json_t *v = json_object_get(body, drop[i]);
        if (!json_is_string(v))
            continue; /* our own Version field does not exist on objects */
        json_array_append_new(ignored, json_pack("{s:s, s:s}", "field", drop[i], "reason",
                                                 "a common parameter of Tencent's API; one "
                                                 "self-hosted gateway has no API version or "
                                                 "region"));
        json_object_del(body, drop[i]);
    }
    return true;
}

/* ReleaseService, AttachPlugin and DetachPlugin name in the body the
 * object our path names: it must be the same one. */
static bool same_as_path(sy_res_ctx *x, json_t *body, const char *key, const char *id)
{
    json_t *v = json_object_get(body, key);
    if (!v)
        return true;
    if (!json_is_string(v) || strcmp(json_string_value(v), id) != 0) {
        sy_admin_bad_field(x->rs, key, "must be \"%s\", the one of the path", id);
        return false;
    }
    json_object_del(body, key);
    return true;
}

/* POST .../releases (ReleaseService), POST and DELETE .../attachments
 * (AttachPlugin, DetachPlugin). */
static bool call_shape(sy_res_ctx *x, json_t *body, json_t *ignored)
{
    const char *m = x->rq->method;
    if (x->nseg == 3 && strcmp(x->seg[0], "services") == 0 && strcmp(x->seg[2], "releases") == 0 &&
        strcmp(m, "POST") == 0) {
        if (!common_params(x, "ReleaseService", body, ignored) ||
            !same_as_path(x, body, "ServiceId", x->seg[1]))
            return false;
        json_t *ids = json_object_get(body, "ApiIds");
        if (ids && json_array_size(ids))
            json_array_append_new(ignored, json_pack("{s:s, s:s}", "field", "ApiIds", "reason",
                                                     "reserved by Tencent; a release freezes "
                                                     "all of the service's APIs"));
        json_object_del(body, "ApiIds");
        return true;
    }
    if (x->nseg == 3 && strcmp(x->seg[0], "plugins") == 0 &&
        strcmp(x->seg[2], "attachments") == 0) {
        const char *want = strcmp(m, "POST") == 0     ? "AttachPlugin"
                           : strcmp(m, "DELETE") == 0 ? "DetachPlugin"
                                                      : NULL;
        return common_params(x, want, body, ignored) &&
               same_as_path(x, body, "PluginId", x->seg[1]);
    }
    return true;
}

/* Describe answers show where an object is live; here that is made by
 * other calls, so a body carrying it is told (the writers drop the fields
 * as read-only). */
static void live_state(int kind, json_t *body, json_t *ignored)
{
    static const struct {
        int kind;
        const char *key, *why;
    } st[] = {
        {SY_TC_SERVICE, "AvailableEnvironments",
         "a service is published with POST /v1/services/ID/releases; it is created "
         "published nowhere"},
        {SY_TC_PLUGIN, "AttachedApis", "attachments are made with POST /v1/plugins/ID/attachments"},
    };
    for (size_t i = 0; i < sizeof st / sizeof st[0]; i++) {
        json_t *v = json_object_get(body, st[i].key);
        if (st[i].kind == kind && json_array_size(v))
            json_array_append_new(ignored,
                                  json_pack("{s:s, s:s}", "field", st[i].key, "reason", st[i].why));
    }
}

bool sy_res_tencent(sy_res_ctx *x, json_t *body, json_t **ignored)
{
    *ignored = NULL;
    int kind = kind_of(x);
    sy_tc_report r;
    sy_tc_report_init(&r, false);
    bool ok;
    if (kind < 0) {
        ok = call_shape(x, body, r.ignored);
    } else if (strcmp(x->rq->method, "DELETE") == 0) {
        ok = true;
    } else {
        ok = common_params(x, sy_tc_action((sy_tc_kind)kind, x->rq->method), body, r.ignored);
        live_state(kind, body, r.ignored);
        if (ok &&
            !sy_tc_map((sy_tc_kind)kind, body, "", kind == SY_TC_API ? x->seg[1] : NULL, &r)) {
            refuse(x, r.refused);
            ok = false;
        }
    }
    if (ok && json_array_size(r.ignored))
        *ignored = json_incref(r.ignored);
    sy_tc_report_free(&r);
    return ok;
}
