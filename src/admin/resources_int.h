/* Private to the admin API's resources (resources.c and res_*.c): the
 * per-request context and the helpers the handlers share.
 *
 *   resources.c      dispatch, reads, /v1/config
 *   res_common.c     errors, ids, the edit steps every collection shares
 *   res_views.c      how objects are shown (reads and write replies)
 *   res_upstreams.c  /v1/upstreams
 *   res_services.c   /v1/services, .../apis, .../releases
 *   res_plugins.c    /v1/plugins, .../attachments
 *
 * Writers run under the config manager's lock on x->doc, a copy of the
 * running configuration; they return 0 to commit it or -1 after putting
 * an error in x->rs. */
#ifndef SY_ADMIN_RESOURCES_INT_H
#define SY_ADMIN_RESOURCES_INT_H

#include <jansson.h>
#include <stdbool.h>

#include "admin/admin_int.h"
#include "admin/change.h"

#define SY_RES_MAX_SEGS 6
#define SY_RES_ID_MAX 160

typedef struct sy_res_ctx {
    const sy_admin_req *rq;
    sy_admin_resp *rs;
    char *seg[SY_RES_MAX_SEGS];
    size_t nseg;
    char segbuf[1024];
    json_t *doc;      /* writes: the configuration being changed */
    char scope[160];  /* error paths relative to this object */
    char scope2[200]; /* the same object as the policy compiler names it */
    int status;       /* 200 or 201 on success */
    /* What to show once committed. */
    json_t *(*show)(struct sy_res_ctx *x, json_t *doc);
    char id[3][SY_RES_ID_MAX];
    const struct sy_res_coll *coll; /* for sy_res_show_one */
} sy_res_ctx;

/* One editable collection, so the steps every writer shares (find the
 * object the path names, PATCH it, give a PUT/POST body its id, store it)
 * are written once. */
typedef struct sy_res_coll {
    const char *list;          /* top-level list: "Upstreams" (NULL: nested) */
    json_t *(*view)(json_t *); /* how sy_res_show_one shows it; NULL: as is */
    const char *id_key;        /* "UpstreamId" */
    const char *what;          /* in 404s: "upstream" */
    const char *prefix;        /* of generated ids: "upstream" */
    sy_admin_taken_fn *taken;  /* is an id in use anywhere in the document */
    size_t seg;                /* the path segment holding the id */
    size_t slot;               /* the x->id[] the id is shown by */
} sy_res_coll;

/* ---- res_common.c ---- */

/* Environment index of `s` (0..2), or -1 for NULL or an unknown name. */
int sy_res_env_of(const char *s);
/* doc[key] as an array, created empty when absent or not an array. */
json_t *sy_res_arr(json_t *doc, const char *key);
/* 404 "no WHAT \"ID\"". */
void sy_res_not_found(sy_res_ctx *x, const char *what, const char *id);
/* 409 with `fmt` taking the two strings a and b. */
void sy_res_conflict(sy_res_ctx *x, const char *fmt, const char *a, const char *b);
/* Fields the API shows but that are changed elsewhere: dropped from bodies
 * so what GET returned can be PUT back.  `keys` ends with NULL. */
void sy_res_drop_read_only(json_t *body, const char *const *keys);
/* The object the path names in `list` (*cur, at *idx), or for a
 * collection path *cur = NULL and *idx = the list's length (where a new
 * one goes).  False after a 404.  For a top-level collection (c->list)
 * also sets x->scope to "LIST[idx]" and the reply to sy_res_show_one. */
bool sy_res_target(sy_res_ctx *x, const sy_res_coll *c, json_t *list, json_t **cur, size_t *idx);
/* PATCH: merge `body` into a copy of `cur`, keep the path's id, and put
 * the result at list[idx].  Returns it (borrowed from the list). */
json_t *sy_res_patch(sy_res_ctx *x, const sy_res_coll *c, json_t *list, size_t idx, json_t *cur,
                     json_t *body);
/* PUT/POST: the body's id -- absent -> generated; present -> must be a
 * string, unused on POST, equal to the path's on PUT -- set into the body
 * and into x->id[c->slot].  False after a 400 or 409. */
bool sy_res_body_id(sy_res_ctx *x, const sy_res_coll *c, json_t *body);
/* PUT/POST: `body` replaces `cur` at list[idx], or is appended when new
 * (status 201).  Returns 0. */
int sy_res_store(sy_res_ctx *x, json_t *list, size_t idx, json_t *cur, json_t *body);
/* An EnvironmentName argument: one of test, prepub, release.  False after
 * a 400 naming `field`. */
bool sy_res_env_arg(sy_res_ctx *x, json_t *v, const char *field, const char **out);

/* ---- res_views.c: new references, never the document's own ---- */

json_t *sy_res_view_service(json_t *svc); /* without Apis, Releases */
json_t *sy_res_view_api(json_t *api, const char *svc);
json_t *sy_res_view_plugin(json_t *p);  /* AttachedApis for Attachments */
json_t *sy_res_view_release(json_t *r); /* ApiIds for Apis */
/* [{PluginId, ServiceId, EnvironmentName, ApiId}] of plugin `p`. */
json_t *sy_res_attached_apis(json_t *p, const char *pid);
/* The reply to a write of a top-level object: x->coll's object named by
 * x->id[x->coll->slot], as its view shows it ({} when gone). */
json_t *sy_res_show_one(sy_res_ctx *x, json_t *doc);
/* The reply to a DELETE: {Result: true}. */
json_t *sy_res_show_deleted(sy_res_ctx *x, json_t *doc);

/* ---- the writers (x->seg as resources.c's allowed() admits) ---- */

int sy_res_w_upstreams(sy_res_ctx *x, json_t *body);
int sy_res_w_services(sy_res_ctx *x, json_t *body);
int sy_res_w_apis(sy_res_ctx *x, json_t *svc, size_t si, json_t *body);
int sy_res_w_releases(sy_res_ctx *x, json_t *svc, size_t si, json_t *body);
int sy_res_w_plugins(sy_res_ctx *x, json_t *body);
int sy_res_w_attachments(sy_res_ctx *x, json_t *body);
/* POST /v1/plugins/{PluginId}/policies: one policy appended without the
 * whole-document JSON round trip the other writers make (res_plugins.c). */
void sy_res_policy_add(sy_res_ctx *x);

/* res_tencent.c: rewrite a body sent in Tencent's shape (CreateApi...) into
 * ours before the writer runs.  False after a 400; *ignored gets the
 * [{field, reason}] dropped (NULL when none), for the reply. */
bool sy_res_tencent(sy_res_ctx *x, json_t *body, json_t **ignored);

/* res_services.c: the active release of `svc` in `env` (at *idx if
 * idx), or NULL. */
json_t *sy_res_active_in(json_t *svc, const char *env, size_t *idx);
/* res_plugins.c: remove `api` (NULL: every API) of service `svc` from
 * every plugin's attachments. */
void sy_res_detach_everywhere(json_t *doc, const char *svc, const char *api);

#endif
