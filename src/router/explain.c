/* The explain core (explain.h): the proxy's routing steps, narrated.
 *
 * The order mirrors http/request.c: parse the target, decide the client
 * address (sy_clientip_resolve), resolve service/environment/API
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
#include <strings.h>

#include "core/buf.h"
#include "router/policy.h"
#include "router/clientip.h"
#include "router/decide.h"
#include "router/router.h"

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
    json_object_set_new(
        res, "node",
        best < 0 ? json_null() : endpoint_json(u->nodes[best].ep.host, u->nodes[best].ep.port, -1));
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
    bool keep = b->keep_method;
    json_object_set_new(o, "method", keep ? jstrn(method) : json_string(b->method));
    json_object_set_new(res, "backend", o);
    if (b->upstream) {
        nodes_json(res, b->upstream);
    } else {
        json_object_set_new(res, "balancing", json_string("single address (Url)"));
        json_t *nodes = json_array();
        json_array_append_new(
            nodes, endpoint_json(b->url_ep.host ? b->url_ep.host : "?", b->url_ep.port, -1));
        json_object_set_new(res, "nodes", nodes);
        json_object_set_new(
            res, "node", endpoint_json(b->url_ep.host ? b->url_ep.host : "?", b->url_ep.port, -1));
    }
}

static void set_status(json_t *res, const sy_decision *d)
{
    bool routed = d->kind == SY_DECIDE_PROXY || d->kind == SY_DECIDE_MOCK;
    json_object_set_new(res, "status", json_integer(d->status));
    json_object_set_new(res, "routed", json_boolean(routed));
    json_object_set_new(res, "error", routed ? json_null() : jstr(d->message));
}

/* The explain URL → the request-target the gateway would have received:
 * "/p", "http://host/p", or "https://host/p" (the scheme then says TLS). */
static bool explain_target(const sy_explain_req *in, char **target, bool *tls, char *err,
                           size_t errlen)
{
    const char *u = in->url;
    *tls = false;
    if (!*u) {
        snprintf(err, errlen, "url is empty");
        return false;
    }
    if (strncasecmp(u, "https://", 8) == 0 && u[8]) {
        *tls = true;
        size_t n = strlen(u + 8);
        *target = malloc(n + 8);
        memcpy(*target, "http://", 7);
        memcpy(*target + 7, u + 8, n + 1);
    } else if (u[0] == '/' || (strncasecmp(u, "http://", 7) == 0 && u[7])) {
        *target = sy_strdup(u);
    } else {
        snprintf(err, errlen, "url must start with / or http:// (got '%s')", u);
        return false;
    }
    if (in->scheme)
        *tls = strcmp(in->scheme, "https") == 0;
    return true;
}

/* What the HTTP parser would have learned of the body from the head. */
static bool explain_body(const sy_explain_req *in, sy_decide_in *d, char *err, size_t errlen)
{
    for (size_t i = 0; i < in->n_headers; i++) {
        sy_str n = in->headers[i].name, v = sy_str_trim(in->headers[i].value);
        if (sy_str_ieq_c(n, "Transfer-Encoding")) {
            d->has_body = true;
        } else if (sy_str_ieq_c(n, "Content-Length")) {
            uint64_t cl = 0;
            if (v.len == 0 || v.len > 19) {
                snprintf(err, errlen, "Content-Length is not a number");
                return false;
            }
            for (size_t k = 0; k < v.len; k++) {
                if (v.p[k] < '0' || v.p[k] > '9') {
                    snprintf(err, errlen, "Content-Length is not a number");
                    return false;
                }
                cl = cl * 10 + (uint64_t)(v.p[k] - '0');
            }
            d->length_known = true;
            d->content_length = cl;
            d->has_body = d->has_body || cl > 0;
        }
    }
    return true;
}

json_t *sy_explain(const sy_routing *g, const sy_explain_req *in, char *err, size_t errlen)
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
    if (in->scheme && strcmp(in->scheme, "http") != 0 && strcmp(in->scheme, "https") != 0) {
        snprintf(err, errlen, "scheme must be http or https (got '%s')", in->scheme);
        return NULL;
    }
    const char *peer_ip = in->client_ip ? in->client_ip : "127.0.0.1";
    sy_ipaddr peer;
    if (!sy_ip_parse(sy_str_c(peer_ip), &peer)) {
        snprintf(err, errlen, "client_ip '%s' is not an IP address", peer_ip);
        return NULL;
    }
    sy_decide_in din = {
        .method = sy_str_c(method),
        .headers = in->headers,
        .n_headers = in->n_headers,
        .peer = &peer,
        .peer_ip = peer_ip,
        .force_random = in->random,
        .force_hash = in->hash,
    };
    if (!explain_body(in, &din, err, errlen))
        return NULL;
    char *target;
    if (!explain_target(in, &target, &din.tls, err, errlen))
        return NULL;
    din.target = sy_str_c(target);
    for (size_t i = 0; i < in->n_headers && !din.host.p; i++)
        if (sy_str_ieq_c(in->headers[i].name, "Host"))
            din.host = in->headers[i].value;
    if (!din.host.p)
        din.host = SY_STR_LIT("localhost"); /* explain's default for origin-form URLs */

    sy_arena scratch;
    sy_arena_init(&scratch, 4096);
    din.scratch = &scratch;
    json_t *res = json_object();
    json_object_set_new(res, "policies", json_array());
    sy_decide_narrator narrate = {on_policy, json_object_get(res, "policies")};
    sy_req_view rv = {0};
    sy_decision d;
    sy_decide(g, &din, &rv, &d, &narrate);

    json_t *req = json_object();
    json_object_set_new(req, "method", json_string(method));
    json_object_set_new(req, "url", json_string(in->url));
    json_object_set_new(req, "host", jstrn(d.host.p ? d.host : SY_STR_LIT("")));
    json_object_set_new(req, "path", jstrn(d.path));
    json_object_set_new(req, "query", jstrn(d.query));
    json_object_set_new(req, "scheme", json_string(din.tls ? "https" : "http"));
    json_object_set_new(req, "peer", json_string(peer_ip));
    json_object_set_new(req, "client_ip", json_string(d.client_ip));
    json_object_set_new(res, "request", req);
    json_object_set_new(res, "generation", json_integer((json_int_t)g->generation));

    const sy_route *rt = &d.route;
    json_t *o;
    if (rt->service) {
        o = json_object();
        json_object_set_new(o, "id", jstr(rt->service->id));
        json_object_set_new(o, "name", jstr(rt->service->name));
        json_object_set_new(res, "service", o);
    } else {
        json_object_set_new(res, "service", json_null());
    }
    json_object_set_new(res, "environment",
                        rt->service && rt->env >= 0 ? json_string(sy_env_name(rt->env))
                                                    : json_null());
    if (rt->api) {
        o = json_object();
        json_object_set_new(o, "id", jstr(rt->api->id));
        json_object_set_new(o, "name", jstr(rt->api->name));
        json_object_set_new(o, "path", jstr(rt->api->path));
        json_object_set_new(o, "method", jstr(rt->api->method));
        json_object_set_new(res, "api", o);
    } else {
        json_object_set_new(res, "api", json_null());
    }
    bool routed = d.kind == SY_DECIDE_PROXY || d.kind == SY_DECIDE_MOCK;
    if (routed && rt->policies) {
        o = json_object();
        json_object_set_new(o, "id", jstr(rt->plugin->id));
        json_object_set_new(o, "name", jstr(rt->plugin->name));
        json_object_set_new(res, "plugin", o);
    } else {
        json_object_set_new(res, "plugin", json_null());
    }
    json_object_set_new(res, "policy", rt->policy ? jstr(rt->policy->name) : json_null());
    json_object_set_new(res, "backend", json_null());
    json_object_set_new(res, "node", json_null());
    if (routed)
        backend_json(res, rt, rv.method);
    if (d.kind == SY_DECIDE_REDIRECT) {
        char port[8] = "";
        if (d.https_port != 443)
            snprintf(port, sizeof(port), ":%u", d.https_port);
        char loc[600];
        snprintf(loc, sizeof(loc), "https://%.*s%s%.*s", (int)d.host.len, d.host.p, port,
                 (int)d.path.len, d.path.p);
        json_object_set_new(res, "location", json_string(loc));
    }
    set_status(res, &d);
    sy_arena_free(&scratch);
    free(target);
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
    put(&b, "             host %s, path %s, scheme %s, client %s", gs(req, "host"), gs(req, "path"),
        gs(req, "scheme"), gs(req, "client_ip"));
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
        put(&b, "api:         %s (%s): %s %s\n", gs(api, "id"), gs(api, "name"), gs(api, "method"),
            gs(api, "path"));
    const json_t *pl = json_object_get(r, "plugin");
    const json_t *pols = json_object_get(r, "policies");
    if (json_is_object(pl)) {
        put(&b, "plugin:      %s (%s), %zu polic%s in evaluation order\n", gs(pl, "id"),
            gs(pl, "name"), json_array_size(pols), json_array_size(pols) == 1 ? "y" : "ies");
        size_t i;
        const json_t *p;
        json_array_foreach(pols, i, p)
        {
            const char *res = gs(p, "result");
            put(&b, "  %zu. %-24s weight %-3lld %s\n", i + 1, gs(p, "name"),
                (long long)json_integer_value(json_object_get(p, "weight")),
                strcmp(res, "no_match") == 0  ? "no match"
                : strcmp(res, "skipped") == 0 ? "skipped (an earlier policy matched)"
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
                    json_array_foreach(nodes, i, n)
                    {
                        put(&b, "%s", i ? ", " : "");
                        put_ep(&b, n);
                        put(&b, " w%lld",
                            (long long)json_integer_value(json_object_get(n, "weight")));
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
    if (json_is_true(json_object_get(r, "routed")) && st == 200)
        put(&b, "result:      routed\n");
    else if (json_is_true(json_object_get(r, "routed")))
        put(&b, "result:      %lld, answered by the MOCK backend\n", st);
    else if (json_is_string(json_object_get(r, "location")))
        put(&b, "result:      %lld, %s: %s\n", st, gs(r, "error"), gs(r, "location"));
    else
        put(&b, "result:      %lld, %s\n", st, gs(r, "error"));
    if (!b.data)
        return sy_strdup("");
    sy_buf_reserve(&b, 1);
    b.data[b.len] = '\0';
    return b.data;
}
