/* The one decision path (decide.h). */
#include "router/decide.h"

#include <string.h>
#include <strings.h>

#include "router/target.h"
#include "router/clientip.h"

static void answer(sy_decision *out, enum sy_decide_kind kind, int status, const char *word,
                   const char *message)
{
    out->kind = kind;
    out->status = status;
    out->word = word;
    out->message = message;
}

/* origin-form "/p?q" or absolute-form "http://authority/p?q" (RFC 9112
 * §3.2; the authority then replaces Host).  Returns a reason for a 400, or
 * NULL. */
static const char *split_target(sy_str t, sy_str *host, sy_decision *out)
{
    if (t.len == 0)
        return "empty request-target";
    if (t.p[0] != '/') {
        if (!(t.len > 7 && strncasecmp(t.p, "http://", 7) == 0))
            return "request-target must be origin-form (starting with /)";
        const char *a = t.p + 7, *end = t.p + t.len;
        const char *slash = a;
        while (slash < end && *slash != '/' && *slash != '?')
            slash++;
        sy_str auth = sy_str_make(a, (size_t)(slash - a));
        if (auth.len == 0 || memchr(auth.p, '@', auth.len))
            return "invalid authority in the request-target";
        *host = auth;
        t = slash < end ? sy_str_make(slash, (size_t)(end - slash)) : SY_STR_LIT("/");
        if (t.p[0] == '?') { /* "http://h?x": path "/" */
            if (memchr(t.p, '#', t.len))
                return "fragment in request-target";
            out->path = SY_STR_LIT("/");
            out->query = sy_str_make(t.p + 1, t.len - 1);
            return NULL;
        }
    }
    if (memchr(t.p, '#', t.len))
        return "fragment in request-target";
    const char *q = memchr(t.p, '?', t.len);
    out->path = q ? sy_str_make(t.p, (size_t)(q - t.p)) : t;
    out->query = q ? sy_str_make(q + 1, t.len - (size_t)(q - t.p) - 1) : SY_STR_NULL;
    if (sy_path_has_dot_segment(out->path))
        return "dot segments in the path are not allowed";
    return NULL;
}

/* Domains[].Protocol and IsForcedHttps for the domain that routes host. */
static bool protocol_refuses(const sy_gateway_cfg *gw, const sy_domain_cfg *dom, bool tls,
                             sy_decision *out)
{
    if (!dom || (tls && (dom->protocol & SY_PROTO_HTTPS)))
        return false;
    if (!tls && dom->forced_https) {
        answer(out, SY_DECIDE_REDIRECT, 301, "forced_https", "this domain is forced to HTTPS");
        out->https_port = gw->n_tls_listen ? gw->tls_listen[0].port : 443;
        return true;
    }
    if (!(dom->protocol & (tls ? SY_PROTO_HTTPS : SY_PROTO_HTTP))) {
        answer(out, SY_DECIDE_ERROR, 421, "misdirected_request",
               tls ? "this domain is not served over HTTPS"
                   : "this domain is only served over HTTPS");
        return true;
    }
    return false;
}

void sy_decide(const sy_routing *g, const sy_decide_in *in, sy_req_view *rv, sy_decision *out,
               const sy_decide_narrator *narrate)
{
    const sy_gateway_cfg *gw = &g->cfg->gw;
    memset(out, 0, sizeof(*out));
    memset(&out->route, 0, sizeof(out->route));
    out->route.env = -1;

    sy_str host_in = in->host;
    const char *bad = split_target(in->target, &host_in, out);
    if (!bad && (host_in.p || host_in.len)) {
        char *h = sy_arena_alloc(in->scratch, host_in.len + 1);
        int n = sy_host_normalize(sy_str_trim(host_in), h, host_in.len + 1);
        if (n < 0)
            bad = "invalid Host header";
        else
            out->host = sy_str_make(h, (size_t)n);
    }

    rv->method = in->method;
    rv->query = out->query;
    rv->host = out->host;
    rv->scheme = in->tls ? SY_STR_LIT("https") : SY_STR_LIT("http");
    rv->headers = in->headers;
    rv->n_headers = in->n_headers;
    rv->scratch = in->scratch;
    rv->force_random = in->force_random;
    rv->force_hash = in->force_hash;
    sy_clientip_resolve(gw, in->peer, in->peer_ip, in->headers, in->n_headers, out->client_ip,
                        sizeof(out->client_ip), &out->peer_trusted);
    rv->client_ip = sy_str_c(out->client_ip);
    if (bad) {
        answer(out, SY_DECIDE_ERROR, 400, "bad_request", bad);
        return;
    }

    if (gw->max_body_bytes && in->length_known && in->content_length > gw->max_body_bytes) {
        answer(out, SY_DECIDE_ERROR, 413, "payload_too_large",
               "request body larger than MaxBodyBytes");
        return;
    }

    sy_route *rt = &out->route;
    sy_router_resolve(g->router, rv, out->path, rt);
    if (protocol_refuses(gw, rt->domain, in->tls, out))
        return;
    if (rt->status) {
        answer(out, SY_DECIDE_ERROR, rt->status,
               rt->status == 405 ? "method_not_allowed" : "not_found", rt->error);
        return;
    }
    for (size_t i = 0; i < rt->n_params; i++) {
        if (sy_segment_has_separator(rt->param_values[i])) {
            answer(out, SY_DECIDE_ERROR, 400, "bad_request",
                   "an encoded slash or backslash in a {var} path segment is not allowed");
            return;
        }
    }
    if (narrate && rt->policies) {
        sy_policy_arm arm = {0};
        const sy_policy *win =
            sy_policy_table_explain_arm(rt->policies, rv, narrate->on_policy, narrate->ud, &arm);
        rt->rollout = arm.rollout;
        rt->arm = arm.arm;
        if (win) {
            rt->policy = win->cfg;
            rt->backend = win->cfg->backend;
        }
    } else {
        sy_router_pick_backend(g->router, rv, rt);
    }
    if (rt->backend->type == SY_BACKEND_MOCK) {
        answer(out, SY_DECIDE_MOCK, rt->backend->mock_status ? rt->backend->mock_status : 200, NULL,
               NULL);
        return;
    }
    answer(out, SY_DECIDE_PROXY, 200, NULL, NULL);
}
