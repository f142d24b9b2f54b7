/* /v1/rollouts[/{RolloutId}] (GET, POST, PUT, PATCH, DELETE) and
 * POST /v1/rollouts/{RolloutId}/pause|resume|abort|promote
 * (doc/rollouts.md).
 *
 * A rollout is stored like every other object, in the configuration; its
 * Status is written only by the controller and by the actions here, so a
 * body's Status is ignored and PUT/PATCH keep the stored one.  Reads show
 * the controller's live Status (verdicts newer than the last stored
 * move). */
#include <stdio.h>
#include <string.h>

#include "admin/resources_int.h"
#include "config/dump.h"
#include "gen/manager.h"
#include "rollout/rollout.h"

static bool taken_rollout(json_t *doc, const char *id)
{
    return sy_admin_find(sy_res_arr(doc, "Rollouts"), "RolloutId", id, NULL) != NULL;
}

static json_t *view_rollout(json_t *o)
{
    json_t *v = json_deep_copy(o);
    const char *id = json_string_value(json_object_get(o, "RolloutId"));
    json_t *live = id ? sy_rollout_live_status(id) : NULL;
    json_t *st = json_object_get(o, "Status");
    /* Live only while the controller holds the stored Status (the same
     * Revision): an action's reply shows the move it just stored. */
    if (live &&
        (!st || json_equal(json_object_get(live, "Revision"), json_object_get(st, "Revision"))))
        json_object_set_new(v, "Status", live);
    else
        json_decref(live);
    if (!json_object_get(v, "Status"))
        json_object_set_new(
            v, "Status",
            json_pack("{s:s, s:i, s:i}", "Phase", "Pending", "CurrentStep", 0, "CurrentWeight", 0));
    return v;
}

static const sy_res_coll rollouts = {
    .list = "Rollouts",
    .view = view_rollout,
    .id_key = "RolloutId",
    .what = "rollout",
    .prefix = "rollout",
    .taken = taken_rollout,
    .seg = 1,
    .slot = 0,
};

static const char *const rollout_ro[] = {"Status", NULL};

static void read_rollouts(sy_res_ctx *x)
{
    json_t *doc = sy_admin_cfg_json(x->rq->snap->cfg, SY_DUMP_KEEP_POLICIES);
    json_t *list = sy_res_arr(doc, "Rollouts");
    if (x->nseg == 1) {
        size_t limit, offset, i;
        json_t *v, *items = json_array();
        json_array_foreach(list, i, v) json_array_append_new(items, view_rollout(v));
        if (sy_admin_paging(x->rq, x->rs, &limit, &offset))
            sy_admin_json(x->rs, 200, sy_admin_page(items, limit, offset));
        else
            json_decref(items);
    } else {
        json_t *o = sy_admin_find(list, "RolloutId", x->seg[1], NULL);
        if (o)
            sy_admin_json(x->rs, 200, view_rollout(o));
        else
            sy_res_not_found(x, "rollout", x->seg[1]);
    }
    json_decref(doc);
}

/* The edit itself: 0 to commit x->doc, -1 after an error in x->rs. */
static int write_rollouts(sy_res_ctx *x, json_t *body)
{
    const char *m = x->rq->method;
    if (x->nseg == 3) {
        char msg[400];
        int rc = sy_rollout_action(x->doc, sy_cfgmgr_current()->cfg, x->seg[1], x->seg[2], msg,
                                   sizeof msg);
        if (rc) {
            sy_admin_error(x->rs, rc, rc == 404 ? "not_found" : "conflict", msg);
            return -1;
        }
        snprintf(x->id[0], sizeof x->id[0], "%s", x->seg[1]);
        x->coll = &rollouts;
        x->show = sy_res_show_one;
        return 0;
    }
    json_t *list = sy_res_arr(x->doc, "Rollouts"), *cur;
    size_t idx;
    if (!sy_res_target(x, &rollouts, list, &cur, &idx))
        return -1;
    if (strcmp(m, "DELETE") == 0) {
        json_array_remove(list, idx);
        x->show = sy_res_show_deleted;
        return 0;
    }
    sy_res_drop_read_only(body, rollout_ro);
    json_t *status = cur ? json_object_get(cur, "Status") : NULL;
    if (strcmp(m, "PATCH") == 0) {
        sy_res_patch(x, &rollouts, list, idx, cur, body);
        return 0;
    }
    if (!sy_res_body_id(x, &rollouts, body))
        return -1;
    if (status)
        json_object_set(body, "Status", status);
    return sy_res_store(x, list, idx, cur, body);
}

/* "/v1/rollouts/a%2Fb/pause" -> segments, each percent-decoded once. */
static bool split(sy_res_ctx *x)
{
    sy_str p = x->rq->path;
    if (p.len >= sizeof x->segbuf || p.len < 4)
        return false;
    memcpy(x->segbuf, p.p, p.len);
    x->segbuf[p.len] = '\0';
    for (char *s = x->segbuf + 4; s && *s && x->nseg < SY_RES_MAX_SEGS;) {
        char *slash = strchr(s, '/');
        if (slash)
            *slash = '\0';
        if (!*s || sy_admin_seg_decode(s, strlen(s), s, strlen(s) + 1) < 0)
            return false;
        x->seg[x->nseg++] = s;
        s = slash ? slash + 1 : NULL;
    }
    return x->nseg >= 1;
}

void sy_admin_rollouts(const sy_admin_req *rq, sy_admin_resp *rs)
{
    sy_res_ctx x = {.rq = rq, .rs = rs};
    if (!split(&x)) {
        sy_admin_error(rs, 404, "not_found", "no such admin endpoint");
        return;
    }
    const char *m = rq->method;
    if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0) {
        read_rollouts(&x);
        return;
    }
    json_t *body = NULL;
    if (strcmp(m, "DELETE") == 0 || x.nseg == 3)
        body = json_object(); /* actions take no body */
    else if (!(body = sy_admin_body(rq, rs)))
        return;
    sy_cfgmgr_lock();
    if (!sy_admin_begin_write(rq, rs)) {
        sy_cfgmgr_unlock();
        json_decref(body);
        return;
    }
    x.doc = sy_admin_cfg_json(sy_cfgmgr_current()->cfg, SY_DUMP_SECRETS | SY_DUMP_KEEP_POLICIES);
    x.status = 200;
    if (write_rollouts(&x, body) == 0) {
        snprintf(x.scope2, sizeof x.scope2, "Rollouts[%s]",
                 x.id[0][0]   ? x.id[0]
                 : x.nseg > 1 ? x.seg[1]
                              : "");
        if (sy_admin_commit(x.doc, rs, x.scope, x.scope2)) {
            json_t *now = sy_admin_cfg_json(sy_cfgmgr_current()->cfg, SY_DUMP_KEEP_POLICIES);
            json_t *out = x.show(&x, now);
            json_object_set_new(out, "ConfigVersion",
                                json_integer((json_int_t)sy_cfgmgr_current()->cfg->version));
            sy_admin_json(rs, x.status, out);
            json_decref(now);
        }
    }
    sy_cfgmgr_unlock();
    json_decref(x.doc);
    json_decref(body);
}
