/* Typed getters over the YAML tree; see fields.h for the contract. */
#include "config/fields.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const sy_cfg_methods[] = {"GET",     "POST",  "PUT",   "DELETE",
                                      "HEAD",    "OPTIONS", "PATCH", "TRACE",
                                      "ANY",     NULL};

const char *sy_cfg_path(sy_cfg_ctx *c, const char *parent, const char *key)
{
    if (!parent || !*parent)
        return key;
    return sy_arena_printf(&c->tmp, "%s.%s", parent, key);
}

const char *sy_cfg_index(sy_cfg_ctx *c, const char *parent, size_t i)
{
    return sy_arena_printf(&c->tmp, "%s[%zu]", parent, i);
}

void sy_cfg_err(sy_cfg_ctx *c, sy_mark m, const char *path, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    sy_errors_at(c->errs, c->file, m, path, "%s", buf);
}

bool sy_cfg_map(sy_cfg_ctx *c, const sy_ynode *node, const char *path,
                const char *const *keys)
{
    if (node->kind != SY_YN_MAP) {
        sy_cfg_err(c, node->mark, path, "must be a mapping, got %s",
                   sy_ynode_what(node));
        return false;
    }
    for (size_t i = 0; i < node->n; i++) {
        const sy_ynode *k = node->keys[i];
        const char *kp = sy_cfg_path(c, path, k->str);
        size_t j;
        for (j = 0; keys[j]; j++)
            if (strcmp(keys[j], k->str) == 0)
                break;
        if (!keys[j]) {
            /* Field names are case-sensitive (Tencent's spelling); say so
             * when only the case is off, the commonest slip. */
            const char *hint = NULL;
            for (j = 0; keys[j]; j++)
                if (strcasecmp(keys[j], k->str) == 0)
                    hint = keys[j];
            if (hint)
                sy_cfg_err(c, k->mark, kp, "unknown key (did you mean %s?)", hint);
            else
                sy_cfg_err(c, k->mark, kp, "unknown key");
            continue;
        }
        for (j = 0; j < i; j++)
            if (strcmp(node->keys[j]->str, k->str) == 0) {
                sy_cfg_err(c, k->mark, kp, "duplicate key (first at %d:%d)",
                           node->keys[j]->mark.line, node->keys[j]->mark.col);
                break;
            }
    }
    return true;
}

const sy_ynode *sy_cfg_get(sy_cfg_ctx *c, const sy_ynode *map,
                           const char *path, const char *key, int req)
{
    const sy_ynode *v = sy_ymap_get(map, key);
    if (!v && req)
        sy_cfg_err(c, map->mark, sy_cfg_path(c, path, key), "is required");
    return v;
}

bool sy_cfg_node_str(sy_cfg_ctx *c, const sy_ynode *n, const char *path,
                     char **out)
{
    /* Any scalar reads as text (Port-like ids written bare are fine); null,
     * lists and mappings are type errors. */
    if (n->kind != SY_YN_SCALAR || sy_ynode_is_null(n)) {
        sy_cfg_err(c, n->mark, path, "must be a string, got %s",
                   sy_ynode_what(n));
        return false;
    }
    if (memchr(n->str, '\0', n->len)) {
        sy_cfg_err(c, n->mark, path, "must not contain NUL characters");
        return false;
    }
    *out = sy_arena_strndup(c->a, n->str, n->len);
    return true;
}

bool sy_cfg_node_list(sy_cfg_ctx *c, const sy_ynode *n, const char *path)
{
    if (n->kind != SY_YN_SEQ) {
        sy_cfg_err(c, n->mark, path, "must be a list, got %s", sy_ynode_what(n));
        return false;
    }
    return true;
}

bool sy_cfg_str(sy_cfg_ctx *c, const sy_ynode *map, const char *path,
                const char *key, int req, char **out)
{
    const sy_ynode *v = sy_cfg_get(c, map, path, key, req);
    return v && sy_cfg_node_str(c, v, sy_cfg_path(c, path, key), out);
}

/* A plain scalar that reads as a number; quoted "15" is a string. */
static bool number_text(const sy_ynode *v)
{
    return v->kind == SY_YN_SCALAR && !v->quoted &&
           strcmp(sy_ynode_what(v), "a number") == 0;
}

bool sy_cfg_int(sy_cfg_ctx *c, const sy_ynode *map, const char *path,
                const char *key, int req, int64_t min, int64_t max,
                int64_t *out)
{
    const sy_ynode *v = sy_cfg_get(c, map, path, key, req);
    if (!v)
        return false;
    const char *p = sy_cfg_path(c, path, key);
    if (!number_text(v) || strchr(v->str, '.')) {
        sy_cfg_err(c, v->mark, p, "must be an integer, got %s",
                   number_text(v) ? "a decimal number" : sy_ynode_what(v));
        return false;
    }
    errno = 0;
    char *end;
    long long x = strtoll(v->str, &end, 10);
    if (errno || *end || x < min || x > max) {
        sy_cfg_err(c, v->mark, p, "must be between %lld and %lld",
                   (long long)min, (long long)max);
        return false;
    }
    *out = x;
    return true;
}

bool sy_cfg_bool(sy_cfg_ctx *c, const sy_ynode *map, const char *path,
                 const char *key, int req, bool *out)
{
    const sy_ynode *v = sy_cfg_get(c, map, path, key, req);
    if (!v)
        return false;
    if (v->kind == SY_YN_SCALAR && !v->quoted) {
        if (strcmp(v->str, "true") == 0) {
            *out = true;
            return true;
        }
        if (strcmp(v->str, "false") == 0) {
            *out = false;
            return true;
        }
    }
    sy_cfg_err(c, v->mark, sy_cfg_path(c, path, key),
               "must be a boolean (true or false), got %s", sy_ynode_what(v));
    return false;
}

bool sy_cfg_seconds(sy_cfg_ctx *c, const sy_ynode *map, const char *path,
                    const char *key, int req, double min, double max,
                    uint32_t *out_ms)
{
    const sy_ynode *v = sy_cfg_get(c, map, path, key, req);
    if (!v)
        return false;
    const char *p = sy_cfg_path(c, path, key);
    if (!number_text(v)) {
        sy_cfg_err(c, v->mark, p, "must be a number of seconds, got %s",
                   sy_ynode_what(v));
        return false;
    }
    double s = strtod(v->str, NULL);
    if (!(s >= min && s <= max)) {
        sy_cfg_err(c, v->mark, p, "must be between %g and %g seconds", min, max);
        return false;
    }
    *out_ms = (uint32_t)llround(s * 1000.0);
    return true;
}

static void join_choices(char *buf, size_t len, const char *const *choices)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; choices[i] && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
                                choices[i]);
}

bool sy_cfg_enum(sy_cfg_ctx *c, const sy_ynode *map, const char *path,
                 const char *key, int req, const char *const *choices,
                 int *out)
{
    const sy_ynode *v = sy_cfg_get(c, map, path, key, req);
    if (!v)
        return false;
    const char *p = sy_cfg_path(c, path, key);
    if (v->kind == SY_YN_SCALAR && !sy_ynode_is_null(v))
        for (int i = 0; choices[i]; i++)
            if (strcmp(choices[i], v->str) == 0) {
                *out = i;
                return true;
            }
    char list[512];
    join_choices(list, sizeof list, choices);
    sy_cfg_err(c, v->mark, p, "must be one of %s", list);
    return false;
}
