/* Re-serialization.  Nothing is forwarded as raw header bytes: the request
 * and response heads are rebuilt from parsed slices, hop-by-hop fields are
 * dropped, and exactly one framing header is written (doc/reliability.md §0
 * rules 1 and 2). */
#include <stdio.h>
#include <string.h>

#include "http/conn.h"
#include "http/worker.h"
#include "router/clientip.h"

/* Number formatting without printf: it showed up in profiles of the
 * per-request path. */
static void append_u64(sy_buf *b, uint64_t v)
{
    char tmp[24];
    int i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    sy_buf_append(b, tmp + i, sizeof(tmp) - (size_t)i);
}

static void append_hex(sy_buf *b, uint64_t v)
{
    char tmp[20];
    int i = sizeof(tmp);
    do {
        tmp[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    sy_buf_append(b, tmp + i, sizeof(tmp) - (size_t)i);
}

void sy_chunk_head(sy_buf *out, uint64_t n)
{
    append_hex(out, n);
    sy_buf_append(out, "\r\n", 2);
}

void sy_chunk_append(sy_buf *out, const char *p, size_t n)
{
    if (!n)
        return;
    sy_chunk_head(out, n);
    sy_buf_append(out, p, n);
    sy_buf_append(out, "\r\n", 2);
}

static void put(sy_buf *b, sy_str s)
{
    sy_buf_append(b, s.p, s.len);
}

static void put_header(sy_buf *b, const char *name, sy_str value)
{
    sy_buf_append_str(b, name);
    sy_buf_append(b, ": ", 2);
    put(b, value);
    sy_buf_append(b, "\r\n", 2);
}

/* Fields that describe one connection or that we set ourselves. */
static bool is_hop_or_ours(sy_str n, bool request)
{
    static const sy_str hop[] = {
        SY_STR_LIT("Connection"),
        SY_STR_LIT("Keep-Alive"),
        SY_STR_LIT("Proxy-Connection"),
        SY_STR_LIT("TE"),
        SY_STR_LIT("Transfer-Encoding"),
        SY_STR_LIT("Content-Length"),
        SY_STR_LIT("Upgrade"),
        SY_STR_LIT("Trailer"),
        SY_STR_LIT("Proxy-Authenticate"),
        SY_STR_LIT("Proxy-Authorization"),
        SY_STR_LIT("HTTP2-Settings")}; /* RFC 9113 §3.2.1 names it connection-specific */
    static const sy_str ours_req[] = {SY_STR_LIT("Host"),
                                      SY_STR_LIT("Expect"),
                                      SY_STR_LIT("X-Forwarded-For"),
                                      SY_STR_LIT("X-Real-IP"),
                                      SY_STR_LIT("X-Forwarded-Proto"),
                                      SY_STR_LIT("X-Api-RequestId"),
                                      SY_STR_LIT("X-Switchyard-Policy")};
    for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
        if (sy_str_ieq(n, hop[i]))
            return true;
    if (request) {
        for (size_t i = 0; i < sizeof(ours_req) / sizeof(ours_req[0]); i++)
            if (sy_str_ieq(n, ours_req[i]))
                return true;
    } else if (sy_str_ieq(n, SY_STR_LIT("X-Api-RequestId"))) {
        return true;
    }
    return false;
}

static bool has_connection_header(const sy_header *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (sy_str_ieq(h[i].name, SY_STR_LIT("Connection")))
            return true;
    return false;
}

/* RFC 9110 §7.6.1: a field named by Connection is hop-by-hop too. */
static bool named_by_connection(const sy_header *h, size_t n, sy_str name)
{
    char tok[128];
    if (!h || !n)
        return false;
    if (name.len >= sizeof(tok))
        return false;
    memcpy(tok, name.p, name.len);
    tok[name.len] = '\0';
    for (size_t i = 0; i < n; i++)
        if (sy_str_ieq_c(h[i].name, "Connection") && sy_str_list_has_token(h[i].value, tok))
            return true;
    return false;
}

/* The protocols the client offered, without h2c
 * (sy_request_upgrade_offers), and the Connection token that goes with
 * them. */
static void put_upgrade(sy_buf *out, const sy_request *r)
{
    bool first = true;
    sy_field_tokens it = {.fields = r->head.fields, .n = r->head.n, .name = "Upgrade"};
    sy_str tok;
    sy_buf_append_str(out, "Upgrade: ");
    while (sy_field_tokens_next(&it, &tok)) {
        if (sy_str_ieq_c(tok, "h2c"))
            continue;
        if (!first)
            sy_buf_append(out, ", ", 2);
        put(out, tok);
        first = false;
    }
    sy_buf_append_str(out, "\r\nConnection: upgrade\r\n");
}

int sy_serialize_request_head(sy_client *c, sy_buf *out)
{
    sy_request *r = c->req;
    const sy_backend_cfg *b = r->route.backend;
    char path[8192];
    if (sy_route_backend_path(&r->route, path, sizeof(path)) < 0)
        return -1;
    sy_str method = r->method;
    if (!b->keep_method)
        method = sy_str_c(b->method);
    put(out, method);
    sy_buf_append(out, " ", 1);
    sy_buf_append_str(out, path);
    if (r->query.p) {
        sy_buf_append(out, "?", 1);
        put(out, r->query);
    }
    sy_buf_append_str(out, " HTTP/1.1\r\n");

    /* Host: the upstream's UpstreamHost, else the node or Url authority. */
    sy_buf_append_str(out, "Host: ");
    if (r->upstream && r->upstream->upstream_host) {
        sy_buf_append_str(out, r->upstream->upstream_host);
    } else if (r->ep) {
        bool v6 = strchr(r->ep->host, ':') != NULL;
        if (v6)
            sy_buf_append(out, "[", 1);
        sy_buf_append_str(out, r->ep->host);
        if (v6)
            sy_buf_append(out, "]", 1);
        if (r->ep->port != 80) {
            sy_buf_append(out, ":", 1);
            append_u64(out, r->ep->port);
        }
    } else {
        sy_buf_append_str(out, "localhost");
    }
    sy_buf_append(out, "\r\n", 2);

    sy_str xff_in = SY_STR_NULL;
    /* The verdict sy_clientip_resolve gave when the request was decided. */
    bool trusted = r->peer_trusted;
    /* Only scan for Connection-named fields when a Connection header
     * exists: the common request has none. */
    const sy_header *conn_hdrs =
        has_connection_header(r->head.fields, r->head.n) ? r->head.fields : NULL;
    for (size_t i = 0; i < r->head.n; i++) {
        sy_str n = r->head.fields[i].name;
        if (sy_str_ieq_c(n, "X-Forwarded-For")) {
            if (trusted) {
                /* keep the chain (several lines joined) */
                if (xff_in.len) {
                    sy_buf tmp = {0};
                    put(&tmp, xff_in);
                    sy_buf_append(&tmp, ", ", 2);
                    put(&tmp, r->head.fields[i].value);
                    xff_in = sy_arena_str(&c->arena, sy_str_make(tmp.data, tmp.len));
                    sy_buf_free(&tmp);
                } else {
                    xff_in = r->head.fields[i].value;
                }
            }
            continue;
        }
        if (is_hop_or_ours(n, true) || named_by_connection(conn_hdrs, r->head.n, n))
            continue;
        /* X_Forwarded_For and friends: components that map '_' to '-'
         * would see a forged field; drop like nginx does. */
        if (memchr(n.p, '_', n.len))
            continue;
        put(out, n);
        sy_buf_append(out, ": ", 2);
        put(out, r->head.fields[i].value);
        sy_buf_append(out, "\r\n", 2);
    }
    sy_buf_append_str(out, "X-Forwarded-For: ");
    if (xff_in.len) {
        put(out, xff_in);
        sy_buf_append(out, ", ", 2);
    }
    sy_buf_append_str(out, c->peer_ip);
    sy_buf_append(out, "\r\n", 2);
    put_header(out, "X-Real-IP", sy_str_c(r->client_ip));
    put_header(out, "X-Forwarded-Proto", r->rv.scheme);
    put_header(out, "X-Api-RequestId", sy_str_c(r->request_id));
    if (r->route.policy)
        put_header(out, "X-Switchyard-Policy", sy_str_c(r->route.policy->name));
    if (r->upgrade)
        put_upgrade(out, r);
    if (r->chunked) {
        sy_buf_append_str(out, "Transfer-Encoding: chunked\r\n");
    } else if (r->has_cl) {
        sy_buf_append_str(out, "Content-Length: ");
        append_u64(out, r->content_length);
        sy_buf_append(out, "\r\n", 2);
    }
    sy_buf_append(out, "\r\n", 2);
    return 0;
}

void sy_serialize_response_head(sy_client *c, sy_upconn *u)
{
    sy_request *r = c->req;
    sy_buf *out = &c->out;
    int st = u->status;
    bool no_body = st < 200 || st == 204 || st == 304 || sy_str_eq_c(r->method, "HEAD");
    r->resp_at = c->out_sent + sy_buf_pending(out);
    sy_buf_append_str(out, "HTTP/1.1 ");
    append_u64(out, (uint64_t)st);
    sy_buf_append(out, " ", 1);
    sy_buf_append_str(out, sy_status_reason(st));
    sy_buf_append(out, "\r\n", 2);
    const sy_header *conn_hdrs =
        has_connection_header(u->head.fields, u->head.n) ? u->head.fields : NULL;
    for (size_t i = 0; i < u->head.n; i++) {
        sy_str n = u->head.fields[i].name;
        if (st == 101 && sy_str_ieq_c(n, "Upgrade")) {
            put_header(out, "Upgrade", u->head.fields[i].value);
            continue;
        }
        if (is_hop_or_ours(n, false) || named_by_connection(conn_hdrs, u->head.n, n))
            continue;
        put(out, n);
        sy_buf_append(out, ": ", 2);
        put(out, u->head.fields[i].value);
        sy_buf_append(out, "\r\n", 2);
    }
    put_header(out, "X-Api-RequestId", sy_str_c(r->request_id));
    r->resp_chunked = false;
    if (st == 101) {
        sy_buf_append_str(out, "Connection: upgrade\r\n");
    } else if (no_body) {
        if (u->has_cl && st != 204 && st >= 200) {
            sy_buf_append_str(out, "Content-Length: ");
            append_u64(out, u->content_length);
            sy_buf_append(out, "\r\n", 2);
        }
    } else if (u->has_cl && !u->chunked) {
        sy_buf_append_str(out, "Content-Length: ");
        append_u64(out, u->content_length);
        sy_buf_append(out, "\r\n", 2);
    } else if (r->http_minor == 1) {
        sy_buf_append_str(out, "Transfer-Encoding: chunked\r\n");
        r->resp_chunked = true;
    } else {
        c->close_after = true; /* HTTP/1.0 client: delimit by close */
    }
    if (st != 101 && c->close_after)
        sy_buf_append_str(out, "Connection: close\r\n");
    else if (st != 101 && r->http_minor == 0)
        sy_buf_append_str(out, "Connection: keep-alive\r\n");
    sy_buf_append(out, "\r\n", 2);
    r->status = st;
    r->resp_started = true;
}
