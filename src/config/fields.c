/* Typed getters over the YAML tree; see fields.h for the contract. */
#include "config/fields.h"
#include "config/intern.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const sy_cfg_methods[] = {"GET",     "POST",  "PUT",   "DELETE", "HEAD",
                                      "OPTIONS", "PATCH", "TRACE", "ANY",    NULL};

/* Length of the spelled-out path; with `buf`, also write it there (no
 * NUL).  The parent comes first, so this recurses up the chain; paths are
 * a handful of links deep. */
static size_t fpath_put(const sy_fpath *p, char *buf)
{
    if (!p)
        return 0;
    size_t n = fpath_put(p->up, buf);
    if (p->key) {
        size_t kl = strlen(p->key);
        if (n) { /* "parent.key", or "key" when parent spells "" */
            if (buf)
                buf[n] = '.';
            n++;
        }
        if (buf)
            memcpy(buf + n, p->key, kl);
        return n + kl;
    }
    char ib[32];
    int il = snprintf(ib, sizeof ib, "[%zu]", p->idx);
    if (buf)
        memcpy(buf + n, ib, (size_t)il);
    return n + (size_t)il;
}

char *sy_fpath_str(const sy_fpath *p)
{
    if (!p)
        return NULL;
    size_t n = fpath_put(p, NULL);
    char *s = sy_malloc(n + 1);
    fpath_put(p, s);
    s[n] = '\0';
    return s;
}

char *sy_fpath_arena(sy_arena *a, const sy_fpath *p)
{
    if (!p)
        return NULL;
    size_t n = fpath_put(p, NULL);
    char *s = sy_arena_alloc(a, n + 1);
    fpath_put(p, s);
    return s;
}

void sy_cfg_err(sy_cfg_ctx *c, sy_mark m, const sy_fpath *path, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *ps = sy_fpath_str(path);
    sy_errors_at(c->errs, c->file, m, ps, "%s", buf);
    free(ps);
}

bool sy_cfg_map(sy_cfg_ctx *c, const sy_ynode *node, const sy_fpath *path, const char *const *keys)
{
    if (node->kind != SY_YN_MAP) {
        sy_cfg_err(c, node->mark, path, "must be a mapping, got %s", sy_ynode_what(node));
        return false;
    }
    for (size_t i = 0; i < node->n; i++) {
        const sy_ynode *k = node->keys[i];
        const sy_fpath *kp = SY_PATH_KEY(path, k->str);
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

const sy_ynode *sy_cfg_get(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path,
                           const char *key, int req)
{
    const sy_ynode *v = sy_ymap_get(map, key);
    if (!v && req)
        sy_cfg_err(c, map->mark, SY_PATH_KEY(path, key), "is required");
    return v;
}

/* Any scalar reads as text (Port-like ids written bare are fine); null,
 * lists and mappings are type errors. */
static bool node_text_ok(sy_cfg_ctx *c, const sy_ynode *n, const sy_fpath *path)
{
    if (n->kind != SY_YN_SCALAR || sy_ynode_is_null(n)) {
        sy_cfg_err(c, n->mark, path, "must be a string, got %s", sy_ynode_what(n));
        return false;
    }
    if (memchr(n->str, '\0', n->len)) {
        sy_cfg_err(c, n->mark, path, "must not contain NUL characters");
        return false;
    }
    return true;
}

bool sy_cfg_node_str(sy_cfg_ctx *c, const sy_ynode *n, const sy_fpath *path, char **out)
{
    if (!node_text_ok(c, n, path))
        return false;
    *out = sy_arena_strndup(c->a, n->str, n->len);
    return true;
}

bool sy_cfg_node_list(sy_cfg_ctx *c, const sy_ynode *n, const sy_fpath *path)
{
    if (n->kind != SY_YN_SEQ) {
        sy_cfg_err(c, n->mark, path, "must be a list, got %s", sy_ynode_what(n));
        return false;
    }
    return true;
}

bool sy_cfg_str(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path, const char *key, int req,
                char **out)
{
    const sy_ynode *v = sy_cfg_get(c, map, path, key, req);
    return v && sy_cfg_node_str(c, v, SY_PATH_KEY(path, key), out);
}

bool sy_id_valid(const char *s)
{
    size_t n = 0, dots = 0;
    for (; s[n]; n++) {
        char ch = s[n];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return false;
        dots += ch == '.';
    }
    return n >= 1 && n <= SY_ID_MAX && !(n <= 2 && dots == n); /* "." and ".." are path steps */
}

bool sy_cfg_id(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path, const char *key,
               char **out)
{
    if (!sy_cfg_str(c, map, path, key, SY_REQ, out))
        return false;
    if (sy_id_valid(*out))
        return true;
    sy_cfg_err(c, sy_ymap_get(map, key)->mark, SY_PATH_KEY(path, key), "%s", SY_ID_RULE);
    return false;
}

bool sy_cfg_str_shared(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path, const char *key,
                       int req, char **out)
{
    const sy_ynode *v = sy_cfg_get(c, map, path, key, req);
    if (!v || !node_text_ok(c, v, SY_PATH_KEY(path, key)))
        return false;
    *out = sy_intern_str(c->intern, v->str, v->len);
    return true;
}

char *sy_cfg_shared(sy_cfg_ctx *c, const char *s)
{
    return sy_intern_str(c->intern, s, strlen(s));
}

/* A plain scalar that reads as a number; quoted "15" is a string. */
static bool number_text(const sy_ynode *v)
{
    return v->kind == SY_YN_SCALAR && !v->quoted && strcmp(sy_ynode_what(v), "a number") == 0;
}

bool sy_cfg_int(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path, const char *key, int req,
                int64_t min, int64_t max, int64_t *out)
{
    const sy_ynode *v = sy_cfg_get(c, map, path, key, req);
    if (!v)
        return false;
    const sy_fpath *p = SY_PATH_KEY(path, key);
    if (!number_text(v) || strchr(v->str, '.')) {
        sy_cfg_err(c, v->mark, p, "must be an integer, got %s",
                   number_text(v) ? "a decimal number" : sy_ynode_what(v));
        return false;
    }
    errno = 0;
    char *end;
    long long x = strtoll(v->str, &end, 10);
    if (errno || *end || x < min || x > max) {
        sy_cfg_err(c, v->mark, p, "must be between %lld and %lld", (long long)min, (long long)max);
        return false;
    }
    *out = x;
    return true;
}

bool sy_cfg_bool(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path, const char *key, int req,
                 bool *out)
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
    sy_cfg_err(c, v->mark, SY_PATH_KEY(path, key), "must be a boolean (true or false), got %s",
               sy_ynode_what(v));
    return false;
}

bool sy_cfg_seconds(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path, const char *key,
                    int req, double min, double max, uint32_t *out_ms)
{
    const sy_ynode *v = sy_cfg_get(c, map, path, key, req);
    if (!v)
        return false;
    const sy_fpath *p = SY_PATH_KEY(path, key);
    if (!number_text(v)) {
        sy_cfg_err(c, v->mark, p, "must be a number of seconds, got %s", sy_ynode_what(v));
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
        off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "", choices[i]);
}

bool sy_cfg_enum(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path, const char *key, int req,
                 const char *const *choices, int *out)
{
    const sy_ynode *v = sy_cfg_get(c, map, path, key, req);
    if (!v)
        return false;
    const sy_fpath *p = SY_PATH_KEY(path, key);
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
