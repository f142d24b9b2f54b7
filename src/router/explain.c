/* The explain core (explain.h): the proxy's routing steps, narrated.
 *
 * The order mirrors http/request.c: parse the target, decide the client
 * address (sy_client_ip_resolve), resolve service/environment/API
 * (sy_router_resolve), walk the policies (sy_policy_table_explain, which
 * gives the same winner as the indexed match), then the backend and its
 * path (sy_route_backend_path).  The result is JSON so the CLI, the admin
 * API and the tests read one structure; the text is rendered from it. */
#include "router/explain.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "plugins/routing/policy.h"
#include "router/clientip.h"
#include "router/router.h"
#include "http/target.h"

typedef struct target {
    char host[256];
    sy_str path, query;
    const char *scheme;
    const char *bad;          /* a 400 the proxy would give, or NULL */
} target;

/* Host (or authority) → lower-case host without port.  False if invalid
 * or empty (the proxy's rule, plus a host to show). */
static bool host_norm(sy_str v, char *out, size_t cap)
{
    return sy_host_normalize(v, out, cap) > 0;
}

static bool parse_target(const sy_explain_req *in, target *t, char *err, size_t errlen)
{
    sy_str u = sy_str_c(in->url);
    sy_str authority = SY_STR_NULL;
    t->scheme = "http";
    if (u.len && u.p[0] != '/') {
        size_t skip = 0;
        if (u.len > 7 && strncasecmp(u.p, "http://", 7) == 0) {
            skip = 7;
        } else if (u.len > 8 && strncasecmp(u.p, "https://", 8) == 0) {
            skip = 8;
            t->scheme = "https";
        } else {
            snprintf(err, errlen, "url must start with / or http:// (got '%s')", in->url);
            return false;
        }
        const char *a = u.p + skip, *end = u.p + u.len;
        const char *slash = a;
        while (slash < end && *slash != '/' && *slash != '?' && *slash != '#')
            slash++;
        authority = sy_str_make(a, (size_t)(slash - a));
        if (authority.len == 0 || memchr(authority.p, '@', authority.len))
            t->bad = "invalid authority in the request-target";
        u = slash < end ? sy_str_make(slash, (size_t)(end - slash)) : SY_STR_LIT("/");
        if (u.p[0] == '?') {
            t->path = SY_STR_LIT("/");
            t->query = sy_str_make(u.p + 1, u.len - 1);
            u = SY_STR_NULL;
        }
    } else if (u.len == 0) {
        snprintf(err, errlen, "url is empty");
        return false;
    }
    if (u.p) {
        if (memchr(u.p, '#', u.len))
            t->bad = "fragment in request-target";
        const char *q = memchr(u.p, '?', u.len);
        t->path = q ? sy_str_make(u.p, (size_t)(q - u.p)) : u;
        t->query = q ? sy_str_make(q + 1, u.len - (size_t)(q - u.p) - 1) : SY_STR_NULL;
        if (!t->bad && sy_path_has_dot_segment(t->path))
            t->bad = "dot segments in the path are not allowed";
    }
    if (!authority.p) {
        for (size_t i = 0; i < in->n_headers; i++)
            if (sy_str_ieq_c(in->headers[i].name, "Host")) {
                authority = in->headers[i].value;
                break;
            }
        if (!authority.p)
            authority = SY_STR_LIT("localhost");
    }
    if (!t->bad && !host_norm(sy_str_trim(authority), t->host, sizeof(t->host)))
        t->bad = "invalid Host header";
    if (in->scheme)
        t->scheme = in->scheme;
    return true;
}

/* ---- JSON helpers ---- */

static json_t *jstrn(sy_str s)
{
    return s.p ? json_stringn(s.p, s.len) : json_null();
}

static json_t *jstr(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* The expression's explain lines, one string each. */
static json_t *lines(const char *detail)
{
    json_t *a = json_array();
    while (detail && *detail) {
        const char *nl = strchr(detail, '\n');
        size_t n = nl ? (size_t)(nl - detail) : strlen(detail);
        if (n)
            json_array_append_new(a, json_stringn(detail, n));
        detail += n + (nl ? 1 : 0);
    }
    return a;
}

static void on_policy(void *ud, const sy_policy *pol, enum sy_policy_verdict v, const char *detail)
{
    static const char *names[] = {"matched", "no_match", "skipped"};
    json_t *o = json_object();
    json_object_set_new(o, "name", jstr(pol->cfg->name));
    json_object_set_new(o, "weight", json_integer(pol->cfg->weight));
    json_object_set_new(o, "order", json_integer(pol->order + 1));
    json_object_set_new(o, "condition", jstr(pol->cfg->condition));
    json_object_set_new(o, "result", json_string(names[v]));
    json_object_set_new(o, "detail", lines(detail));
    json_array_append_new(ud, o);
}

static json_t *endpoint_json(const char *host, unsigned port, int weight)
{
    json_t *o = json_object();
    json_object_set_new(o, "host", json_string(host));
    json_object_set_new(o, "port", json_integer(port));
    if (weight >= 0)
        json_object_set_new(o, "weight", json_integer(weight));
    return o;
}

/* Nodes of an upstream and the one smooth weighted round robin picks first
 * from a fresh state: the first node of the highest weight. */
static void nodes_json(json_t *res, const sy_upstream_cfg *u)
{
    json_t *nodes = json_array();
    int best = -1;
    for (size_t i = 0; i < u->n_nodes; i++) {
        const sy_node_cfg *n = &u->nodes[i];
        if (n->weight <= 0 || n->ep.addrlen == 0)
            continue;
        json_array_append_new(nodes, endpoint_json(n->ep.host, n->ep.port, n->weight));
        if (best < 0 || n->weight > u->nodes[best].weight)
            best = (int)i;
    }
    json_object_set_new(res, "balancing", json_string("weighted round robin (per worker)"));
    json_object_set_new(res, "nodes", nodes);
    json_object_set_new(res, "node", best < 0 ? json_null()
                                              : endpoint_json(u->nodes[best].ep.host,
                                                              u->nodes[best].ep.port, -1));
}

static void backend_json(json_t *res, const sy_route *rt, sy_str method)
{
    const sy_backend_cfg *b = rt->backend;
    json_t *o = json_object();
    json_object_set_new(o, "source", json_string(rt->policy ? "policy" : "api"));
    if (b->type == SY_BACKEND_MOCK) {
        json_object_set_new(o, "type", json_string("MOCK"));
        json_object_set_new(o, "mock_status", json_integer(b->mock_status ? b->mock_status : 200));
        json_object_set_new(o, "mock_body", jstr(b->mock_body));
        json_object_set_new(res, "backend", o);
        json_object_set_new(res, "nodes", json_array());
        json_object_set_new(res, "node", json_null());
        return;
    }
    json_object_set_new(o, "type", json_string("HTTP"));
    json_object_set_new(o, "upstream", b->upstream ? json_string(b->upstream->id) : json_null());
    json_object_set_new(o, "url", b->upstream ? json_null() : jstr(b->url));
    char path[8192];
    int n = sy_route_backend_path(rt, path, sizeof(path));
    json_object_set_new(o, "path", n < 0 ? json_null() : json_stringn(path, (size_t)n));
    bool keep = !b->method || strcmp(b->method, "ANY") == 0;
    json_object_set_new(o, "method", keep ? jstrn(method) : json_string(b->method));
    json_object_set_new(res, "backend", o);
    if (b->upstream) {
        nodes_json(res, b->upstream);
    } else {
        json_object_set_new(res, "balancing", json_string("single address (Url)"));
        json_t *nodes = json_array();
        json_array_append_new(nodes, endpoint_json(b->url_ep.host ? b->url_ep.host : "?",
                                                   b->url_ep.port, -1));
        json_object_set_new(res, "nodes", nodes);
        json_object_set_new(res, "node", endpoint_json(b->url_ep.host ? b->url_ep.host : "?",
                                                       b->url_ep.port, -1));
    }
}

static void set_status(json_t *res, int status, const char *error)
{
    json_object_set_new(res, "status", json_integer(status));
    json_object_set_new(res, "routed", json_boolean(status == 200));
    json_object_set_new(res, "error", jstr(error));
}

json_t *sy_explain(const sy_snapshot *s, const sy_explain_req *in, char *err, size_t errlen)
{
    if (!in->method || !*in->method || strlen(in->method) > 32) {
        snprintf(err, errlen, "method is missing or too long");
        return NULL;
    }
    char method[40];
    size_t ml = strlen(in->method);
    for (size_t i = 0; i < ml; i++) {
        unsigned char ch = (unsigned char)in->method[i];
        if (!isalpha(ch) && ch != '-' && ch != '_') {
            snprintf(err, errlen, "method '%s' is not a token", in->method);
            return NULL;
        }
        method[i] = (char)toupper(ch);
    }
    method[ml] = '\0';
    if (!in->url) {
        snprintf(err, errlen, "url is missing");
        return NULL;
    }
    target t = {0};
    if (!parse_target(in, &t, err, errlen))
        return NULL;
    const char *peer_ip = in->client_ip ? in->client_ip : "127.0.0.1";
    struct sockaddr_storage peer;
    if (!sy_ip_parse(sy_str_c(peer_ip), &peer)) {
        snprintf(err, errlen, "client_ip '%s' is not an IP address", peer_ip);
        return NULL;
    }
    if (strcmp(t.scheme, "http") != 0 && strcmp(t.scheme, "https") != 0) {
        snprintf(err, errlen, "scheme must be http or https (got '%s')", t.scheme);
        return NULL;
    }

    json_t *res = json_object();
    json_t *req = json_object();
    json_object_set_new(req, "method", json_string(method));
    json_object_set_new(req, "url", json_string(in->url));
    json_object_set_new(req, "host", json_string(t.host));
    json_object_set_new(req, "path", jstrn(t.path));
    json_object_set_new(req, "query", jstrn(t.query));
    json_object_set_new(req, "scheme", json_string(t.scheme));
    json_object_set_new(req, "peer", json_string(peer_ip));
    json_object_set_new(res, "request", req);
    json_object_set_new(res, "generation", json_integer((json_int_t)s->generation));

    char client_ip[64];
    sy_req_view rv = {0};
    bool trusted;
    sy_client_ip_resolve(&s->cfg->gw, &peer, peer_ip, in->headers, in->n_headers, client_ip,
                         sizeof(client_ip), &rv.client_addr, &trusted);
    json_object_set_new(req, "client_ip", json_string(client_ip));
    json_object_set_new(res, "service", json_null());
    json_object_set_new(res, "environment", json_null());
    json_object_set_new(res, "api", json_null());
    json_object_set_new(res, "plugin", json_null());
    json_object_set_new(res, "policies", json_array());
    json_object_set_new(res, "policy", json_null());
    json_object_set_new(res, "backend", json_null());
    json_object_set_new(res, "node", json_null());
    if (t.bad) {
        set_status(res, 400, t.bad);
        goto done;
    }

    sy_arena scratch;
    sy_arena_init(&scratch, 4096);
    rv.method = sy_str_c(method);
    rv.query = t.query;
    rv.host = sy_str_c(t.host);
    rv.scheme = sy_str_c(t.scheme);
    rv.headers = in->headers;
    rv.n_headers = in->n_headers;
    rv.client_ip = sy_str_c(client_ip);
    rv.scratch = &scratch;
    rv.force_random = in->random;
    rv.force_hash = in->hash;

    sy_route rt;
    sy_router_resolve(s->router, &rv, t.path, &rt);
    if (rt.service) {
        json_t *o = json_object();
        json_object_set_new(o, "id", jstr(rt.service->id));
        json_object_set_new(o, "name", jstr(rt.service->name));
        json_object_set_new(res, "service", o);
    }
    if (rt.service && rt.env >= 0)
        json_object_set_new(res, "environment", json_string(sy_env_name(rt.env)));
    if (rt.api) {
        json_t *o = json_object();
        json_object_set_new(o, "id", jstr(rt.api->id));
        json_object_set_new(o, "name", jstr(rt.api->name));
        json_object_set_new(o, "path", jstr(rt.api->path));
        json_object_set_new(o, "method", jstr(rt.api->method));
        json_object_set_new(res, "api", o);
    }
    if (rt.status) {
        set_status(res, rt.status, rt.error);
        sy_arena_free(&scratch);
        goto done;
    }
    if (rt.policies) {
        json_t *o = json_object();
        json_object_set_new(o, "id", jstr(rt.plugin->id));
        json_object_set_new(o, "name", jstr(rt.plugin->name));
        json_object_set_new(res, "plugin", o);
        const sy_policy *win = sy_policy_table_explain(rt.policies, &rv, on_policy,
                                                       json_object_get(res, "policies"));
        if (win) {
            rt.policy = win->cfg;
            rt.backend = &win->cfg->backend;
            json_object_set_new(res, "policy", jstr(win->cfg->name));
        }
    }
    backend_json(res, &rt, rv.method);
    set_status(res, 200, NULL);
    sy_arena_free(&scratch);
done:;
    char *text = sy_explain_text(res);
    json_object_set_new(res, "text", json_string(text));
    free(text);
    return res;
}

/* ---- text ---- */

static const char *gs(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

static void put(sy_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(sy_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    sy_buf_reserve(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void put_ep(sy_buf *b, const json_t *ep)
{
    const char *h = gs(ep, "host");
    long long port = (long long)json_integer_value(json_object_get(ep, "port"));
    if (strchr(h, ':'))
        put(b, "[%s]:%lld", h, port);
    else
        put(b, "%s:%lld", h, port);
}

char *sy_explain_text(const json_t *r)
{
    sy_buf b = {0};
    const json_t *req = json_object_get(r, "request");
    put(&b, "request:     %s %s\n", gs(req, "method"), gs(req, "url"));
    put(&b, "             host %s, path %s, scheme %s, client %s", gs(req, "host"),
        gs(req, "path"), gs(req, "scheme"), gs(req, "client_ip"));
    if (strcmp(gs(req, "peer"), gs(req, "client_ip")) != 0)
        put(&b, " (peer %s, via X-Forwarded-For)", gs(req, "peer"));
    put(&b, "\n");
    const json_t *svc = json_object_get(r, "service");
    if (json_is_object(svc))
        put(&b, "service:     %s (%s)\n", gs(svc, "id"), gs(svc, "name"));
    if (json_is_string(json_object_get(r, "environment")))
        put(&b, "environment: %s\n", gs(r, "environment"));
    const json_t *api = json_object_get(r, "api");
    if (json_is_object(api))
        put(&b, "api:         %s (%s): %s %s\n", gs(api, "id"), gs(api, "name"),
            gs(api, "method"), gs(api, "path"));
    const json_t *pl = json_object_get(r, "plugin");
    const json_t *pols = json_object_get(r, "policies");
    if (json_is_object(pl)) {
        put(&b, "plugin:      %s (%s), %zu polic%s in evaluation order\n", gs(pl, "id"),
            gs(pl, "name"), json_array_size(pols), json_array_size(pols) == 1 ? "y" : "ies");
        size_t i;
        const json_t *p;
        json_array_foreach(pols, i, p) {
            const char *res = gs(p, "result");
            put(&b, "  %zu. %-24s weight %-3lld %s\n", i + 1, gs(p, "name"),
                (long long)json_integer_value(json_object_get(p, "weight")),
                strcmp(res, "no_match") == 0 ? "no match" : strcmp(res, "skipped") == 0
                                                                ? "skipped (an earlier policy matched)"
                                                                : "MATCHED");
            size_t j;
            const json_t *line;
            json_array_foreach(json_object_get(p, "detail"), j, line)
                put(&b, "       %s\n", json_string_value(line));
        }
    } else if (json_is_object(api)) {
        put(&b, "plugin:      none attached to this API in this environment\n");
    }
    const json_t *be = json_object_get(r, "backend");
    if (json_is_object(be)) {
        const char *pol = json_string_value(json_object_get(r, "policy"));
        char from[300];
        if (pol)
            snprintf(from, sizeof(from), "from policy '%s'", pol);
        else
            snprintf(from, sizeof(from), "the API's default backend");
        if (strcmp(gs(be, "type"), "MOCK") == 0) {
            put(&b, "backend:     MOCK, status %lld (%s)\n",
                (long long)json_integer_value(json_object_get(be, "mock_status")), from);
        } else {
            if (json_is_string(json_object_get(be, "upstream")))
                put(&b, "backend:     upstream %s (%s)\n", gs(be, "upstream"), from);
            else
                put(&b, "backend:     %s (%s)\n", gs(be, "url"), from);
            put(&b, "             %s %s\n", gs(be, "method"), gs(be, "path"));
            const json_t *nodes = json_object_get(r, "nodes");
            const json_t *node = json_object_get(r, "node");
            if (json_is_object(node)) {
                put(&b, "node:        ");
                put_ep(&b, node);
                if (json_is_string(json_object_get(be, "upstream"))) {
                    put(&b, " first, by %s over [", gs(r, "balancing"));
                    size_t i;
                    const json_t *n;
                    json_array_foreach(nodes, i, n) {
                        put(&b, "%s", i ? ", " : "");
                        put_ep(&b, n);
                        put(&b, " w%lld", (long long)json_integer_value(json_object_get(n, "weight")));
                    }
                    put(&b, "]");
                }
                put(&b, "\n");
            } else {
                put(&b, "node:        none usable (the request would get 503)\n");
            }
        }
    }
    long long st = json_integer_value(json_object_get(r, "status"));
    if (st == 200)
        put(&b, "result:      routed\n");
    else
        put(&b, "result:      %lld, %s\n", st, gs(r, "error"));
    if (!b.data)
        return sy_strdup("");
    sy_buf_reserve(&b, 1);
    b.data[b.len] = '\0';
    return b.data;
}
