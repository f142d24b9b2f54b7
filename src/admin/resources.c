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
 * an environment can be attached there.
 *
 * This file routes a request (which methods each path takes), answers
 * reads and /v1/config, and wraps every write in lock, edit, commit and
 * reply; the edits themselves are in res_*.c (see resources_int.h). */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/resources_int.h"
#include "config/dump.h"
#include "config/fields.h"
#include "config/load.h"
#include "config/rollout.h"
#include "gen/manager.h"

/* ---- reads ---- */

static void list_reply(sy_res_ctx *x, json_t *items)
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
    json_array_foreach(src, i, v) json_array_append_new(out, view ? view(v) : json_deep_copy(v));
    return out;
}

static void res_read(sy_res_ctx *x)
{
    /* Only the plugins' pages show policies. */
    bool policies = strcmp(x->seg[0], "plugins") == 0;
    json_t *doc = sy_admin_cfg_json(x->rq->snap->cfg, policies ? 0 : SY_DUMP_KEEP_POLICIES);
    const char *top = x->seg[0];
    json_t *o = NULL;
    if (strcmp(top, "upstreams") == 0) {
        json_t *list = sy_res_arr(doc, "Upstreams");
        if (x->nseg == 1)
            list_reply(x, map_list(list, NULL));
        else if ((o = sy_admin_find(list, "UpstreamId", x->seg[1], NULL)))
            sy_admin_json(x->rs, 200, json_deep_copy(o));
        else
            sy_res_not_found(x, "upstream", x->seg[1]);
    } else if (strcmp(top, "plugins") == 0) {
        json_t *list = sy_res_arr(doc, "Plugins");
        o = x->nseg >= 2 ? sy_admin_find(list, "PluginId", x->seg[1], NULL) : NULL;
        if (x->nseg == 1)
            list_reply(x, map_list(list, sy_res_view_plugin));
        else if (!o)
            sy_res_not_found(x, "plugin", x->seg[1]);
        else if (x->nseg == 2)
            sy_admin_json(x->rs, 200, sy_res_view_plugin(o));
        else
            list_reply(x, sy_res_attached_apis(o, x->seg[1]));
    } else {
        json_t *list = sy_res_arr(doc, "Services");
        o = x->nseg >= 2 ? sy_admin_find(list, "ServiceId", x->seg[1], NULL) : NULL;
        if (x->nseg == 1) {
            list_reply(x, map_list(list, sy_res_view_service));
        } else if (!o) {
            sy_res_not_found(x, "service", x->seg[1]);
        } else if (x->nseg == 2) {
            sy_admin_json(x->rs, 200, sy_res_view_service(o));
        } else if (strcmp(x->seg[2], "apis") == 0) {
            json_t *apis = sy_res_arr(o, "Apis");
            json_t *a = x->nseg == 4 ? sy_admin_find(apis, "ApiId", x->seg[3], NULL) : NULL;
            if (x->nseg == 3) {
                json_t *out = json_array();
                size_t i;
                json_t *v;
                json_array_foreach(apis, i, v)
                    json_array_append_new(out, sy_res_view_api(v, x->seg[1]));
                list_reply(x, out);
            } else if (a) {
                sy_admin_json(x->rs, 200, sy_res_view_api(a, x->seg[1]));
            } else {
                sy_res_not_found(x, "API", x->seg[3]);
            }
        } else {
            /* releases: list (optionally ?EnvironmentName=), or one env's live release */
            json_t *rel = sy_res_arr(o, "Releases");
            char want[32];
            bool filter = sy_admin_query(x->rq, "EnvironmentName", want, sizeof want);
            if (x->nseg == 4) {
                filter = true;
                snprintf(want, sizeof want, "%s", x->seg[3]);
            }
            if (filter && sy_res_env_of(want) < 0) {
                sy_res_not_found(x, "environment", want);
            } else if (x->nseg == 4) {
                json_t *act = sy_res_active_in(o, want, NULL);
                const sy_service_cfg *s = sy_cfg_find_service(x->rq->snap->cfg, x->seg[1]);
                if (!act && s && !s->has_releases && (s->env_mask & (1u << sy_res_env_of(want)))) {
                    /* A file-written service serves its APIs as listed. */
                    json_t *v = json_pack("{s:s, s:s, s:s, s:b, s:O}", "ReleaseVersion", "",
                                          "EnvironmentName", want, "ReleaseDesc",
                                          "published by the configuration file", "Active", 1,
                                          "Apis", sy_res_arr(o, "Apis"));
                    sy_admin_json(x->rs, 200, sy_res_view_release(v));
                    json_decref(v);
                } else if (act)
                    sy_admin_json(x->rs, 200, sy_res_view_release(act));
                else
                    sy_res_conflict(x, "service \"%s\" has no active release in %s", x->seg[1],
                                    want);
            } else {
                json_t *out = json_array();
                size_t i;
                json_t *r;
                json_array_foreach(rel, i, r)
                {
                    const char *e = json_string_value(json_object_get(r, "EnvironmentName"));
                    if (!filter || (e && strcmp(e, want) == 0))
                        json_array_append_new(out, sy_res_view_release(r));
                }
                list_reply(x, out);
            }
        }
    }
    json_decref(doc);
}

/* ---- /v1/config ---- */

static void config_get(sy_res_ctx *x)
{
    char *text = sy_config_dump_yaml(x->rq->snap->cfg);
    x->rs->status = 200;
    x->rs->ctype = "application/yaml; charset=utf-8";
    sy_buf_reset(&x->rs->body);
    sy_buf_append_str(&x->rs->body, text);
    free(text);
}

static void config_put(sy_res_ctx *x)
{
    sy_errors errs = {0};
    sy_config *cfg = sy_config_load_string(x->rq->body, x->rq->body_len, "<request body>", &errs);
    if (!cfg) {
        sy_admin_invalid(x->rs, &errs, NULL, NULL);
        sy_errors_free(&errs);
        return;
    }
    sy_cfgmgr_lock();
    if (!sy_admin_begin_write(x->rq, x->rs)) {
        sy_cfgmgr_unlock();
        sy_config_free(cfg);
        sy_errors_free(&errs);
        return;
    }
    const sy_config *cur = sy_cfgmgr_current()->cfg;
    /* The dump never shows the token: a document without one keeps it. */
    if (!cfg->gw.admin_token && cur->gw.admin_token)
        cfg->gw.admin_token = sy_arena_strdup(&cfg->arena, cur->gw.admin_token);
    if (cfg->version <= cur->version)
        cfg->version = cur->version + 1;
    sy_rollouts_carry(cur, cfg);
    char err[512] = "";
    int rc = sy_cfgmgr_commit(cfg, &errs, err, sizeof err);
    if (rc == SY_CFGMGR_OK) {
        json_t *doc = json_pack("{s:b, s:I}", "Result", 1, "Version",
                                (json_int_t)sy_cfgmgr_current()->cfg->version);
        sy_admin_json(x->rs, 200, doc);
    } else {
        sy_config_free(cfg);
        if (rc != SY_CFGMGR_INVALID)
            sy_admin_store_error(x->rs, rc, err);
        else
            sy_admin_invalid(x->rs, &errs, NULL, NULL);
    }
    sy_cfgmgr_unlock();
    sy_errors_free(&errs);
}

/* ---- dispatch ---- */

/* Split at the raw '/' and percent-decode each segment once, in place
 * (decoding only shrinks): "a%2Fb" is the one segment "a/b", "%252e" is
 * "%2e".  1 = segments, 0 = no resource path, -1 = bad percent-encoding. */
static int split(sy_res_ctx *x)
{
    sy_str p = x->rq->path;
    if (p.len >= sizeof x->segbuf)
        return 0;
    memcpy(x->segbuf, p.p, p.len);
    x->segbuf[p.len] = '\0';
    char *s = x->segbuf + 4; /* after "/v1/" */
    while (*s) {
        if (x->nseg == SY_RES_MAX_SEGS)
            return 0;
        char *slash = strchr(s, '/');
        if (slash)
            *slash = '\0';
        if (!*s)
            return 0;
        if (sy_admin_seg_decode(s, strlen(s), s, strlen(s) + 1) < 0)
            return -1;
        x->seg[x->nseg++] = s;
        if (!slash)
            break;
        s = slash + 1;
        if (!*s)
            return 0; /* trailing slash */
    }
    return x->nseg > 0;
}

/* DELETE .../attachments takes its arguments from the query too. */
static json_t *query_body(sy_res_ctx *x)
{
    static const char *const keys[] = {"ServiceId", "EnvironmentName", "ApiId", NULL};
    json_t *b = json_object();
    char v[512];
    for (size_t i = 0; keys[i]; i++)
        if (sy_admin_query(x->rq, keys[i], v, sizeof v))
            json_object_set_new(b, keys[i], json_string(v));
    return b;
}

static void res_write(sy_res_ctx *x)
{
    const char *m = x->rq->method;
    json_t *body = NULL;
    bool is_attach = x->nseg == 3 && strcmp(x->seg[0], "plugins") == 0;
    if (strcmp(m, "DELETE") == 0 && !(is_attach && x->rq->body_len))
        body = is_attach ? query_body(x) : json_object();
    else if (!(body = sy_admin_body(x->rq, x->rs)))
        return;
    json_t *ignored;
    if (!sy_res_tencent(x, body, &ignored)) {
        json_decref(body);
        return;
    }
    sy_cfgmgr_lock();
    if (!sy_admin_begin_write(x->rq, x->rs)) {
        sy_cfgmgr_unlock();
        json_decref(body);
        json_decref(ignored);
        return;
    }
    x->doc = sy_admin_cfg_json(sy_cfgmgr_current()->cfg, SY_DUMP_SECRETS | SY_DUMP_KEEP_POLICIES);
    x->status = 200;
    int rc;
    const char *t = x->seg[0];
    if (strcmp(t, "upstreams") == 0) {
        rc = sy_res_w_upstreams(x, body);
    } else if (strcmp(t, "plugins") == 0) {
        rc = x->nseg == 3 ? sy_res_w_attachments(x, body) : sy_res_w_plugins(x, body);
    } else if (x->nseg <= 2) {
        rc = sy_res_w_services(x, body);
    } else {
        size_t si;
        json_t *svc = sy_admin_find(sy_res_arr(x->doc, "Services"), "ServiceId", x->seg[1], &si);
        if (!svc) {
            sy_res_not_found(x, "service", x->seg[1]);
            rc = -1;
        } else {
            rc = strcmp(x->seg[2], "apis") == 0 ? sy_res_w_apis(x, svc, si, body)
                                                : sy_res_w_releases(x, svc, si, body);
        }
    }
    if (rc == 0 && strcmp(t, "plugins") == 0 && x->nseg == 1)
        snprintf(x->scope2, sizeof x->scope2, "Plugins[%s]", x->id[0]);
    else if (rc == 0 && strcmp(t, "plugins") == 0)
        snprintf(x->scope2, sizeof x->scope2, "Plugins[%s]", x->seg[1]);
    if (rc == 0 && sy_admin_commit(x->doc, x->rs, x->scope, x->scope2)) {
        /* A plugin's page shows its policies; nothing else does. */
        bool plugin = strcmp(t, "plugins") == 0 && x->nseg <= 2;
        json_t *now =
            sy_admin_cfg_json(sy_cfgmgr_current()->cfg, plugin ? 0 : SY_DUMP_KEEP_POLICIES);
        json_t *out = x->show(x, now);
        json_object_set_new(out, "ConfigVersion",
                            json_integer((json_int_t)sy_cfgmgr_current()->cfg->version));
        if (ignored)
            json_object_set(out, "TencentIgnored", ignored);
        sy_admin_json(x->rs, x->status, out);
        json_decref(now);
    }
    sy_cfgmgr_unlock();
    json_decref(x->doc);
    json_decref(body);
    json_decref(ignored);
    /* The JSON documents of a large configuration (~800 MB for 100,000
     * policies) were freed after publish() trimmed: give them back too. */
    malloc_trim(0);
}

/* A collection path the dispatch table (routes.c) matched, with a method
 * it allows there. */
void sy_admin_resources(const sy_admin_req *rq, sy_admin_resp *rs)
{
    sy_res_ctx x = {.rq = rq, .rs = rs};
    int sp = split(&x);
    if (sp < 0) {
        sy_admin_error(rs, 400, "bad_request", "invalid percent-encoding in the path");
        return;
    }
    if (sp == 0) {
        sy_admin_error(rs, 404, "not_found", "no such admin endpoint");
        return;
    }
    const char *m = strcmp(rq->method, "HEAD") == 0 ? "GET" : rq->method;
    if (strcmp(x.seg[0], "config") == 0) {
        if (strcmp(m, "GET") == 0)
            config_get(&x);
        else
            config_put(&x);
        return;
    }
    if (x.nseg == 3 && strcmp(x.seg[0], "plugins") == 0 && strcmp(x.seg[2], "policies") == 0)
        sy_res_policy_add(&x);
    else if (strcmp(m, "GET") == 0)
        res_read(&x);
    else
        res_write(&x);
}
