/* What every admin resource handler shares: errors, ids, and the edit
 * steps common to the collections (resources_int.h). */
#include <stdio.h>
#include <string.h>

#include "admin/resources_int.h"
#include "config/fields.h"
#include "config/model.h"

int sy_res_env_of(const char *s)
{
    return s ? sy_env_index(s, strlen(s)) : -1;
}

json_t *sy_res_arr(json_t *doc, const char *key)
{
    json_t *a = json_object_get(doc, key);
    if (!json_is_array(a)) {
        a = json_array();
        json_object_set_new(doc, key, a);
    }
    return a;
}

void sy_res_not_found(sy_res_ctx *x, const char *what, const char *id)
{
    char msg[400];
    snprintf(msg, sizeof msg, "no %s \"%s\"", what, id);
    sy_admin_error(x->rs, 404, "not_found", msg);
}

void sy_res_conflict(sy_res_ctx *x, const char *fmt, const char *a, const char *b)
{
    char msg[600];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(msg, sizeof msg, fmt, a, b);
#pragma GCC diagnostic pop
    sy_admin_error(x->rs, 409, "conflict", msg);
}

void sy_res_drop_read_only(json_t *body, const char *const *keys)
{
    for (size_t i = 0; keys[i]; i++)
        json_object_del(body, keys[i]);
}

/* The id in the path, or NULL on a collection path. */
static const char *path_id(const sy_res_ctx *x, const sy_res_coll *c)
{
    return x->nseg > c->seg ? x->seg[c->seg] : NULL;
}

bool sy_res_target(sy_res_ctx *x, const sy_res_coll *c, json_t *list, json_t **cur, size_t *idx)
{
    const char *id = path_id(x, c);
    *idx = json_array_size(list);
    *cur = id ? sy_admin_find(list, c->id_key, id, idx) : NULL;
    if (id && !*cur) {
        sy_res_not_found(x, c->what, id);
        return false;
    }
    if (c->list) {
        snprintf(x->scope, sizeof x->scope, "%s[%zu]", c->list, *idx);
        x->coll = c;
        x->show = sy_res_show_one;
    }
    return true;
}

json_t *sy_res_patch(sy_res_ctx *x, const sy_res_coll *c, json_t *list, size_t idx, json_t *cur,
                     json_t *body)
{
    const char *id = x->seg[c->seg];
    json_t *merged = json_deep_copy(cur);
    sy_admin_merge_patch(merged, body);
    json_object_set_new(merged, c->id_key, json_string(id));
    json_array_set_new(list, idx, merged);
    snprintf(x->id[c->slot], sizeof x->id[c->slot], "%s", id);
    return merged;
}

bool sy_res_body_id(sy_res_ctx *x, const sy_res_coll *c, json_t *body)
{
    const char *key = c->id_key, *pid = path_id(x, c);
    char *out = x->id[c->slot];
    size_t cap = sizeof x->id[c->slot];
    json_t *v = json_object_get(body, key);
    if (v && !json_is_string(v)) {
        sy_admin_bad_field(x->rs, key, "must be a string");
        return false;
    }
    const char *given = pid ? pid : v ? json_string_value(v) : NULL;
    if (given && !sy_id_valid(given)) {
        /* Refused before it is stored: such an id could never be read or
         * deleted again through a URL path. */
        sy_admin_bad_field(x->rs, key, "%s", SY_ID_RULE);
        return false;
    }
    if (pid) {
        if (v && strcmp(json_string_value(v), pid) != 0) {
            sy_admin_bad_field(x->rs, key, "does not match the id in the path (\"%s\")", pid);
            return false;
        }
        snprintf(out, cap, "%s", pid);
    } else if (v) {
        if (c->taken(x->doc, json_string_value(v))) {
            sy_res_conflict(x, "%s \"%s\" already exists", key, json_string_value(v));
            return false;
        }
        snprintf(out, cap, "%s", json_string_value(v));
    } else {
        sy_admin_new_id(out, cap, c->prefix, x->doc, c->taken);
    }
    json_object_set_new(body, key, json_string(out));
    return true;
}

int sy_res_store(sy_res_ctx *x, json_t *list, size_t idx, json_t *cur, json_t *body)
{
    if (cur)
        json_array_set(list, idx, body);
    else
        json_array_append(list, body);
    x->status = cur ? 200 : 201;
    return 0;
}

bool sy_res_env_arg(sy_res_ctx *x, json_t *v, const char *field, const char **out)
{
    if (!json_is_string(v) || sy_res_env_of(json_string_value(v)) < 0) {
        sy_admin_bad_field(x->rs, field, "must be one of test, prepub, release");
        return false;
    }
    *out = json_string_value(v);
    return true;
}
