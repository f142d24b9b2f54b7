/* How the admin API shows its objects, in reads and in write replies.
 * The document keeps what the configuration file holds (a service's Apis
 * and Releases, a plugin's Attachments); the API shows Tencent's shapes
 * (ApiTotalCount, AttachedApis, a release's ApiIds). */
#include "admin/resources_int.h"

json_t *sy_res_view_service(json_t *svc)
{
    json_t *v = json_deep_copy(svc);
    json_object_set_new(v, "ApiTotalCount",
                        json_integer((json_int_t)json_array_size(sy_res_arr(v, "Apis"))));
    json_object_del(v, "Apis");
    json_object_del(v, "Releases");
    return v;
}

json_t *sy_res_view_api(json_t *api, const char *svc)
{
    json_t *v = json_deep_copy(api);
    json_object_set_new(v, "ServiceId", json_string(svc));
    return v;
}

json_t *sy_res_attached_apis(json_t *p, const char *pid)
{
    json_t *out = json_array();
    size_t i, k;
    json_t *at, *id;
    json_array_foreach(sy_res_arr(p, "Attachments"), i,
                       at) json_array_foreach(sy_res_arr(at, "ApiIds"), k, id)
        json_array_append_new(out, json_pack("{s:s, s:O, s:O, s:O}", "PluginId", pid, "ServiceId",
                                             json_object_get(at, "ServiceId"), "EnvironmentName",
                                             json_object_get(at, "EnvironmentName"), "ApiId", id));
    return out;
}

json_t *sy_res_view_plugin(json_t *p)
{
    json_t *v = json_deep_copy(p);
    const char *pid = json_string_value(json_object_get(p, "PluginId"));
    json_t *att = sy_res_attached_apis(p, pid ? pid : "");
    json_object_set_new(v, "AttachedApiTotalCount", json_integer((json_int_t)json_array_size(att)));
    json_object_set_new(v, "AttachedApis", att);
    json_object_del(v, "Attachments");
    return v;
}

json_t *sy_res_view_release(json_t *r)
{
    json_t *v = json_deep_copy(r);
    json_t *ids = json_array();
    size_t i;
    json_t *a;
    json_array_foreach(sy_res_arr(r, "Apis"), i, a)
        json_array_append(ids, json_object_get(a, "ApiId"));
    json_object_set_new(v, "ApiIds", ids);
    json_object_del(v, "Apis");
    return v;
}

json_t *sy_res_show_one(sy_res_ctx *x, json_t *doc)
{
    const sy_res_coll *c = x->coll;
    json_t *o = sy_admin_find(sy_res_arr(doc, c->list), c->id_key, x->id[c->slot], NULL);
    if (!o)
        return json_object();
    return c->view ? c->view(o) : json_deep_copy(o);
}

json_t *sy_res_show_deleted(sy_res_ctx *x, json_t *doc)
{
    return json_pack("{s:b}", "Result", 1);
}
