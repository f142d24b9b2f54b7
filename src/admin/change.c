/* See change.h. */
#include "admin/change.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "config/dump.h"
#include "config/load.h"
#include "gen/manager.h"
#include "rollout/rollout.h"
#include "config/yaml_tree.h"

#define ADMIN_NAME "<admin>"

json_t *sy_admin_cfg_json(const sy_config *cfg, unsigned flags)
{
    return sy_config_dump_json(cfg, flags);
}

json_t *sy_admin_find(json_t *arr, const char *key, const char *id, size_t *idx)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(json_object_get(v, key));
        if (s && strcmp(s, id) == 0) {
            if (idx)
                *idx = i;
            return v;
        }
    }
    return NULL;
}

void sy_admin_new_id(char *out, size_t cap, const char *prefix, json_t *doc,
                     sy_admin_taken_fn *taken)
{
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    for (;;) {
        unsigned char r[8];
        if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
            abort();
        char suffix[9];
        for (int i = 0; i < 8; i++)
            suffix[i] = alnum[r[i] % 36];
        suffix[8] = '\0';
        snprintf(out, cap, "%s-%s", prefix, suffix);
        if (!taken(doc, out))
            return;
    }
}

void sy_admin_merge_patch(json_t *target, json_t *patch)
{
    const char *k;
    json_t *v;
    json_object_foreach(patch, k, v)
    {
        json_t *t = json_object_get(target, k);
        if (json_is_null(v))
            json_object_del(target, k);
        else if (json_is_object(v) && json_is_object(t))
            sy_admin_merge_patch(t, v);
        else
            json_object_set(target, k, v);
    }
}

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

int sy_admin_seg_decode(const char *in, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++, n++) {
        if (n + 1 >= cap)
            return -1;
        out[n] = in[i];
        if (in[i] != '%')
            continue;
        int h = i + 2 < len ? hexval((unsigned char)in[i + 1]) : -1;
        int l = h >= 0 ? hexval((unsigned char)in[i + 2]) : -1;
        if (l < 0 || (h == 0 && l == 0))
            return -1;
        out[n] = (char)(h * 16 + l);
        i += 2;
    }
    if (n >= cap)
        return -1;
    out[n] = '\0';
    return (int)n;
}

bool sy_admin_query(const sy_admin_req *rq, const char *name, char *out, size_t cap)
{
    const char *p = rq->query.p, *end = p ? p + rq->query.len : NULL;
    size_t nlen = strlen(name);
    while (p && p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        if (eq && (size_t)(eq - p) == nlen && memcmp(p, name, nlen) == 0) {
            size_t n = 0;
            for (const char *s = eq + 1; s < stop && n + 1 < cap; s++) {
                if (*s == '%' && s + 2 < stop && hexval((unsigned char)s[1]) >= 0 &&
                    hexval((unsigned char)s[2]) >= 0) {
                    out[n++] =
                        (char)(hexval((unsigned char)s[1]) * 16 + hexval((unsigned char)s[2]));
                    s += 2;
                } else {
                    out[n++] = *s == '+' ? ' ' : *s;
                }
            }
            out[n] = '\0';
            return true;
        }
        p = stop + 1;
    }
    return false;
}

static bool query_uint(const sy_admin_req *rq, sy_admin_resp *rs, const char *name, size_t max,
                       size_t *out)
{
    char v[32];
    if (!sy_admin_query(rq, name, v, sizeof v))
        return true;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (!*v || *end || !isdigit((unsigned char)v[0]) || n > max) {
        char msg[128];
        snprintf(msg, sizeof msg, "%s must be an integer from 0 to %zu", name, max);
        sy_admin_error(rs, 400, "bad_request", msg);
        return false;
    }
    *out = (size_t)n;
    return true;
}

bool sy_admin_paging(const sy_admin_req *rq, sy_admin_resp *rs, size_t *limit, size_t *offset)
{
    *limit = 20;
    *offset = 0;
    if (!query_uint(rq, rs, "Limit", 100, limit) || !query_uint(rq, rs, "Offset", 1u << 30, offset))
        return false;
    return true;
}

json_t *sy_admin_page(json_t *items, size_t limit, size_t offset)
{
    json_t *page = json_array();
    size_t n = json_array_size(items);
    for (size_t i = offset; i < n && i < offset + limit; i++)
        json_array_append(page, json_array_get(items, i));
    json_t *doc = json_pack("{s:I, s:o}", "TotalCount", (json_int_t)n, "Items", page);
    json_decref(items);
    return doc;
}

json_t *sy_admin_body(const sy_admin_req *rq, sy_admin_resp *rs)
{
    json_error_t jerr;
    json_t *doc = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        char msg[512];
        snprintf(msg, sizeof msg, "body is not valid JSON: %s (line %d, column %d)", jerr.text,
                 jerr.line, jerr.column);
        sy_admin_error(rs, 400, "bad_json", msg);
        return NULL;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        sy_admin_error(rs, 400, "bad_request", "body must be a JSON object");
        return NULL;
    }
    return doc;
}

/* "NAME:L:C: path: reason" -> field, reason.  Messages without a path
 * (syntax errors) keep the whole text as the reason. */
static const char *relative(const char *field, const char *scope)
{
    size_t sl = scope ? strlen(scope) : 0;
    if (sl && strncmp(field, scope, sl) == 0 && (field[sl] == '.' || field[sl] == '\0'))
        return field[sl] == '.' ? field + sl + 1 : "";
    return NULL;
}

static json_t *problem(const char *msg, const char *scope, const char *scope2)
{
    const char *p = msg;
    int line = 0, col = 0;
    bool in_body = false;
    /* "<admin>:1:1: " (positions mean nothing in a JSON document) or
     * "<request body>:L:C: " (a YAML body: keep them). */
    const char *gt = p[0] == '<' ? strstr(p, ">:") : NULL;
    if (gt && sscanf(gt + 2, "%d:%d", &line, &col) == 2) {
        in_body = strncmp(p, "<request body>", 14) == 0;
        p = gt + 2;
        while (isdigit((unsigned char)*p) || *p == ':')
            p++;
        while (*p == ' ')
            p++;
    }
    const char *colon = strstr(p, ": ");
    const char *sp = strchr(p, ' ');
    if (!colon || (sp && sp < colon))
        return json_pack("{s:s, s:s}", "field", "", "reason", p);
    char field[1024];
    size_t flen = (size_t)(colon - p);
    if (flen >= sizeof field)
        flen = sizeof field - 1;
    memcpy(field, p, flen);
    field[flen] = '\0';
    const char *f = relative(field, scope);
    if (!f)
        f = relative(field, scope2);
    if (!f)
        f = field;
    json_t *pr = json_pack("{s:s, s:s}", "field", f, "reason", colon + 2);
    if (pr && in_body) {
        json_object_set_new(pr, "line", json_integer(line));
        json_object_set_new(pr, "column", json_integer(col));
    }
    return pr;
}

void sy_admin_invalid(sy_admin_resp *rs, const sy_errors *errs, const char *scope,
                      const char *scope2)
{
    json_t *list = json_array();
    char first[1200] = "";
    for (size_t i = 0; i < errs->n; i++) {
        json_t *pr = problem(errs->msgs[i], scope, scope2);
        if (!pr)
            continue;
        if (i == 0)
            snprintf(first, sizeof first, "%s%s%s", json_string_value(json_object_get(pr, "field")),
                     *json_string_value(json_object_get(pr, "field")) ? ": " : "",
                     json_string_value(json_object_get(pr, "reason")));
        json_array_append_new(list, pr);
    }
    json_t *doc =
        json_pack("{s:s, s:s, s:o}", "error", "invalid", "message", first, "errors", list);
    if (!doc)
        doc = json_pack("{s:s, s:s}", "error", "invalid", "message", "invalid (not UTF-8)");
    sy_admin_json(rs, 400, doc);
}

void sy_admin_bad_field(sy_admin_resp *rs, const char *field, const char *fmt, ...)
{
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    sy_errors e = {0};
    sy_errors_add(&e, "%s: %s", field, reason);
    sy_admin_invalid(rs, &e, NULL, NULL);
    sy_errors_free(&e);
}

bool sy_admin_begin_write(const sy_admin_req *rq, sy_admin_resp *rs)
{
    char err[512] = "";
    int rc = sy_cfgmgr_sync(err, sizeof err);
    if (rc != SY_CFGMGR_OK) {
        sy_admin_store_error(rs, rc, err);
        return false;
    }
    if (!rq->if_match)
        return true;
    /* If-Match: 17 or "17" (an entity tag); the running Version. */
    const char *v = rq->if_match;
    size_t n = strlen(v);
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        v++;
        n -= 2;
    }
    char *end;
    errno = 0;
    unsigned long long want = n && isdigit((unsigned char)*v) ? strtoull(v, &end, 10) : 0;
    if (!n || !isdigit((unsigned char)*v) || errno || end != v + n) {
        sy_admin_error(rs, 400, "bad_request",
                       "If-Match must be one configuration Version (a number, once)");
        return false;
    }
    uint64_t cur = sy_cfgmgr_current()->cfg->version;
    if (want != cur) {
        char msg[160];
        snprintf(msg, sizeof msg, "If-Match: %llu, but the configuration is at Version %llu", want,
                 (unsigned long long)cur);
        sy_admin_error(rs, 412, "precondition_failed", msg);
        return false;
    }
    return true;
}

void sy_admin_store_error(sy_admin_resp *rs, int rc, const char *err)
{
    if (rc == SY_CFGMGR_CONFLICT)
        sy_admin_error(rs, 409, "conflict", err);
    else if (rc == SY_CFGMGR_UNAVAILABLE)
        sy_admin_error(rs, 503, "store_unavailable", err);
    else
        sy_admin_error(rs, 500, "store_failed", err);
}

bool sy_admin_commit(json_t *doc, sy_admin_resp *rs, const char *scope, const char *scope2)
{
    const sy_config *cur = sy_cfgmgr_current()->cfg;
    char why[400];
    if (sy_rollout_guard(cur, doc, why, sizeof why)) {
        sy_admin_error(rs, 409, "conflict", why);
        return false;
    }
    json_object_set_new(doc, "Version", json_integer((json_int_t)(cur->version + 1)));
    sy_errors errs = {0};
    /* doc came from `cur` (sy_admin_cfg_json with SY_DUMP_KEEP_POLICIES):
     * untouched PluginData is taken from it, not parsed again. */
    sy_config *cfg = sy_config_load_json_on(doc, ADMIN_NAME, cur, &errs);
    char err[512] = "";
    int rc = cfg ? sy_cfgmgr_commit(cfg, &errs, err, sizeof err) : SY_CFGMGR_INVALID;
    if (rc == SY_CFGMGR_OK) {
        sy_errors_free(&errs);
        return true;
    }
    sy_config_free(cfg);
    if (rc != SY_CFGMGR_INVALID)
        sy_admin_store_error(rs, rc, err);
    else
        sy_admin_invalid(rs, &errs, scope, scope2);
    sy_errors_free(&errs);
    return false;
}
