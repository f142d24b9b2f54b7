/* Admin API routes: authentication, the route table, the handlers.
 *
 * Every route is one row of `routes`; a path that exists with another
 * method is a 405 with Allow, an unknown path a 404.  Bodies are JSON,
 * errors {"error": word, "message": text}. */
#include <math.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin_int.h"
#include "admin/change.h"
#include "stats/stats.h"
#include "net/loop.h"
#include "router/explain.h"
#include "admin/upstream_report.h"
#include "store/fleet.h"
#include "version.h"

#define MAX_EXPLAIN_HEADERS 256

void sy_admin_json(sy_admin_resp *rs, int status, json_t *doc)
{
    char *txt = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    rs->status = status;
    rs->ctype = "application/json";
    sy_buf_reset(&rs->body);
    if (txt) {
        sy_buf_append_str(&rs->body, txt);
        sy_buf_append(&rs->body, "\n", 1);
    }
    free(txt);
    json_decref(doc);
}

void sy_admin_error(sy_admin_resp *rs, int status, const char *word, const char *msg)
{
    json_t *doc = json_pack("{s:s, s:s}", "error", word, "message", msg ? msg : "");
    if (!doc) /* the message was not UTF-8 */
        doc = json_pack("{s:s, s:s}", "error", word, "message", "(message not shown: not UTF-8)");
    sy_admin_json(rs, status, doc);
}

/* ---- auth ---- */

/* Constant time whatever the lengths: compare digests. */
static bool token_eq(const char *given, size_t len, const char *want)
{
    unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)given, len, a);
    SHA256((const unsigned char *)want, strlen(want), b);
    return CRYPTO_memcmp(a, b, sizeof(a)) == 0;
}

/* True when the request may proceed; otherwise the 401/403 is in rs. */
static bool authorized(const sy_admin_req *rq, sy_admin_resp *rs)
{
    const char *want = rq->snap->cfg->gw.admin_token;
    if (!want)
        want = sy_admin_env.env_token;
    if (!want)
        return true;
    const char *h = rq->authorization;
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
        rs->extra_headers = "WWW-Authenticate: Bearer realm=\"switchyard\"\r\n";
        sy_admin_error(rs, 401, "unauthorized", "this call needs Authorization: Bearer TOKEN");
        return false;
    }
    const char *tok = h + 7;
    while (*tok == ' ')
        tok++;
    size_t len = strlen(tok);
    while (len && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
        len--;
    if (!token_eq(tok, len, want)) {
        sy_admin_error(rs, 403, "forbidden", "wrong admin token");
        return false;
    }
    return true;
}

/* ---- handlers ---- */

static void h_metrics(const sy_admin_req *rq, sy_admin_resp *rs)
{
    rs->status = 200;
    rs->ctype = "text/plain; version=0.0.4; charset=utf-8";
    sy_admin_metrics(rq->snap, &rs->body);
}

static void h_status(const sy_admin_req *rq, sy_admin_resp *rs)
{
    uint64_t up = sy_clock_ms() - sy_admin_env.started_ms;
    const sy_config *cfg = rq->snap->cfg;
    json_t *doc = json_pack(
        "{s:s, s:I, s:i, s:I, s:{s:I, s:I}, s:{s:I, s:I, s:I}}", "version", SY_VERSION,
        "config_generation", (json_int_t)rq->snap->generation, "workers", sy_admin_env.n_workers,
        "uptime_seconds", (json_int_t)(up / 1000), "reloads", "ok",
        (json_int_t)sy_stats_reloads(true), "failed", (json_int_t)sy_stats_reloads(false), "config",
        "upstreams", (json_int_t)cfg->n_upstreams, "services", (json_int_t)cfg->n_services,
        "plugins", (json_int_t)cfg->n_plugins);
    json_object_set_new(doc, "config_version", json_integer((json_int_t)cfg->version));
    double at;
    bool ok;
    char why[2048];
    json_object_set_new(
        doc, "last_reload",
        sy_admin_last_reload(&at, &ok, why, sizeof why)
            ? json_pack("{s:f, s:b, s:s?}", "time", at, "ok", ok, "error", ok ? NULL : why)
            : json_null());
    json_t *store = sy_fleet_status();
    json_object_set_new(doc, "config_store", store ? store : json_pack("{s:s}", "type", "file"));
    sy_admin_json(rs, 200, doc);
}

static const char *explain_fields[] = {"method", "url",    "headers", "client_ip",
                                       "scheme", "random", "hash",    NULL};

static bool opt_string(json_t *doc, const char *key, const char **out, char *err, size_t errlen)
{
    json_t *v = json_object_get(doc, key);
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v)) {
        snprintf(err, errlen, "'%s' must be a string", key);
        return false;
    }
    *out = json_string_value(v);
    return true;
}

static bool opt_number(json_t *doc, const char *key, double *slot, const double **out, char *err,
                       size_t errlen)
{
    json_t *v = json_object_get(doc, key);
    if (!v || json_is_null(v))
        return true;
    if (!json_is_number(v)) {
        snprintf(err, errlen, "'%s' must be a number", key);
        return false;
    }
    *slot = json_number_value(v);
    *out = slot;
    return true;
}

/* Headers: {"Name": "value", "Other": ["v1", "v2"]}. */
static bool parse_headers(json_t *doc, sy_header *hdrs, size_t *n, char *err, size_t errlen)
{
    json_t *h = json_object_get(doc, "headers");
    if (!h || json_is_null(h))
        return true;
    if (!json_is_object(h)) {
        snprintf(err, errlen, "'headers' must be an object of name: value");
        return false;
    }
    const char *k;
    json_t *v;
    json_object_foreach(h, k, v)
    {
        json_t *one = v;
        size_t i = 0, count = json_is_array(v) ? json_array_size(v) : 1;
        for (i = 0; i < count; i++) {
            if (json_is_array(v))
                one = json_array_get(v, i);
            if (!json_is_string(one)) {
                snprintf(err, errlen, "header '%s' must be a string (or a list of strings)", k);
                return false;
            }
            if (*n == MAX_EXPLAIN_HEADERS || !*k) {
                snprintf(err, errlen, "too many or empty header names");
                return false;
            }
            hdrs[*n].name = sy_str_c(k);
            hdrs[*n].value = sy_str_make(json_string_value(one), json_string_length(one));
            (*n)++;
        }
    }
    return true;
}

static void h_explain(const sy_admin_req *rq, sy_admin_resp *rs)
{
    json_error_t jerr;
    json_t *doc = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &jerr);
    char err[512];
    if (!doc) {
        snprintf(err, sizeof(err), "body is not valid JSON: %s (line %d, column %d)", jerr.text,
                 jerr.line, jerr.column);
        sy_admin_error(rs, 400, "bad_json", err);
        return;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        sy_admin_error(rs, 400, "bad_request", "body must be a JSON object");
        return;
    }
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v)
    {
        bool known = false;
        for (size_t i = 0; explain_fields[i] && !known; i++)
            known = strcmp(k, explain_fields[i]) == 0;
        if (!known) {
            snprintf(err, sizeof(err),
                     "unknown field '%s' (expected method, url, headers, "
                     "client_ip, scheme, random, hash)",
                     k);
            json_decref(doc);
            sy_admin_error(rs, 400, "bad_request", err);
            return;
        }
    }
    sy_header hdrs[MAX_EXPLAIN_HEADERS];
    sy_explain_req in = {.headers = hdrs};
    double rnd, hsh;
    err[0] = '\0';
    bool ok = opt_string(doc, "method", &in.method, err, sizeof(err)) &&
              opt_string(doc, "url", &in.url, err, sizeof(err)) &&
              opt_string(doc, "client_ip", &in.client_ip, err, sizeof(err)) &&
              opt_string(doc, "scheme", &in.scheme, err, sizeof(err)) &&
              opt_number(doc, "random", &rnd, &in.random, err, sizeof(err)) &&
              opt_number(doc, "hash", &hsh, &in.hash, err, sizeof(err)) &&
              parse_headers(doc, hdrs, &in.n_headers, err, sizeof(err));
    if (ok && !in.url) {
        snprintf(err, sizeof(err), "'url' is required");
        ok = false;
    }
    if (ok && !in.method)
        in.method = "GET";
    json_t *res =
        ok ? sy_explain(&(sy_routing){rq->snap->cfg, rq->snap->router, rq->snap->generation}, &in,
                        err, sizeof(err))
           : NULL;
    json_decref(doc);
    if (!res) {
        sy_admin_error(rs, 400, "bad_request", err);
        return;
    }
    sy_upstream_explain_pods(res, rq->snap); /* K8S tunnels: the live pods */
    sy_admin_json(rs, 200, res);
}

/* GET /v1/upstreams/{id}/health and /nodes (admin/upstream_report.c):
 * the id is what lies between the prefix and the last segment. */
static void upstream_view(const sy_admin_req *rq, sy_admin_resp *rs, const char *post,
                          json_t *(*fn)(const sy_snapshot *, const char *))
{
    static const char pre[] = "/v1/upstreams/";
    size_t pl = sizeof pre - 1, sl = strlen(post);
    char id[256];
    size_t il = rq->path.len - pl - sl;
    if (il >= sizeof id || memchr(rq->path.p + pl, '/', il) ||
        sy_admin_seg_decode(rq->path.p + pl, il, id, sizeof id) < 0) {
        sy_admin_error(rs, 404, "not_found", "no such upstream");
        return;
    }
    json_t *doc = fn(rq->snap, id);
    if (!doc) {
        char msg[320];
        snprintf(msg, sizeof msg, "no upstream with UpstreamId '%s'", id);
        sy_admin_error(rs, 404, "not_found", msg);
        return;
    }
    sy_admin_json(rs, 200, doc);
}

static void h_upstream_health(const sy_admin_req *rq, sy_admin_resp *rs)
{
    upstream_view(rq, rs, "/health", sy_upstream_health_json);
}

static void h_upstream_nodes(const sy_admin_req *rq, sy_admin_resp *rs)
{
    upstream_view(rq, rs, "/nodes", sy_upstream_nodes_json);
}

/* ---- dispatch ---- */

typedef void handler(const sy_admin_req *rq, sy_admin_resp *rs);

/* Every admin endpoint: its path ("*" = one segment), the methods it takes
 * (HEAD wherever GET is) and its handler.  One table decides 404, 405 with
 * Allow, and who answers. */
#define ITEM "GET, HEAD, PUT, PATCH, DELETE"
#define LIST "GET, HEAD, POST"
static const struct route {
    const char *pattern;
    const char *allow;
    handler *fn;
} routes[] = {
    {"/metrics", "GET, HEAD", h_metrics},
    {"/v1/status", "GET, HEAD", h_status},
    {"/v1/traffic", "GET, HEAD", sy_admin_traffic},
    {"/v1/explain", "POST", h_explain},
    {"/v1/config", "GET, HEAD, PUT", sy_admin_resources},
    {"/v1/upstreams", LIST, sy_admin_resources},
    {"/v1/upstreams/*", ITEM, sy_admin_resources},
    {"/v1/upstreams/*/health", "GET, HEAD", h_upstream_health},
    {"/v1/upstreams/*/nodes", "GET, HEAD", h_upstream_nodes},
    {"/v1/services", LIST, sy_admin_resources},
    {"/v1/services/*", ITEM, sy_admin_resources},
    {"/v1/services/*/apis", LIST, sy_admin_resources},
    {"/v1/services/*/apis/*", ITEM, sy_admin_resources},
    {"/v1/services/*/releases", LIST, sy_admin_resources},
    {"/v1/services/*/releases/*", "GET, HEAD, PUT, DELETE", sy_admin_resources},
    {"/v1/plugins", LIST, sy_admin_resources},
    {"/v1/plugins/*", ITEM, sy_admin_resources},
    {"/v1/plugins/*/attachments", "GET, HEAD, POST, DELETE", sy_admin_resources},
    {"/v1/plugins/*/policies", "POST", sy_admin_resources},
    {"/v1/rollouts", LIST, sy_admin_rollouts},
    {"/v1/rollouts/*", ITEM, sy_admin_rollouts},
    {"/v1/rollouts/*/*", "POST", sy_admin_rollouts},
};
#undef ITEM
#undef LIST

/* Segment-wise match: "*" takes one non-empty segment. */
static bool path_matches(const char *pat, sy_str path)
{
    const char *p = path.p, *end = path.p + path.len;
    while (*pat) {
        if (*pat == '*') {
            const char *seg = p;
            while (p < end && *p != '/')
                p++;
            if (p == seg)
                return false;
            pat++;
        } else {
            if (p == end || *p != *pat)
                return false;
            p++;
            pat++;
        }
    }
    return p == end;
}

static bool method_in(const char *m, const char *list)
{
    size_t n = strlen(m);
    for (const char *p = list; (p = strstr(p, m)); p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

void sy_admin_handle(const sy_admin_req *rq, sy_admin_resp *rs)
{
    if (sy_admin_ui_path(rq->path)) { /* the dashboard's page: no data, no token */
        sy_admin_ui(rq, rs);
        return;
    }
    if (!authorized(rq, rs))
        return;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const struct route *r = &routes[i];
        if (!path_matches(r->pattern, rq->path))
            continue;
        if (method_in(rq->method, r->allow)) {
            r->fn(rq, rs);
            return;
        }
        static __thread char hdr[96];
        snprintf(hdr, sizeof hdr, "Allow: %s\r\n", r->allow);
        rs->extra_headers = hdr;
        char msg[160];
        snprintf(msg, sizeof msg, "%s is not allowed here (use %s)", rq->method, r->allow);
        sy_admin_error(rs, 405, "method_not_allowed", msg);
        return;
    }
    sy_admin_error(rs, 404, "not_found",
                   "no such admin endpoint (try /v1/status, /metrics, "
                   "POST /v1/explain, /v1/services, /v1/upstreams, "
                   "/v1/plugins, /v1/config, /v1/traffic, the dashboard "
                   "at /ui/; see doc/admin-api.md)");
}
