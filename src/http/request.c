/* Request-side llhttp callbacks: collect the head as slices, apply the
 * rules llhttp does not (doc/reliability.md §1.2), route, and hand the body to
 * the upstream side as it arrives.
 *
 * llhttp runs in strict mode (no lenient flag is ever set): it rejects
 * CL+TE, invalid or repeated Content-Length, bad chunk sizes, bare CR, and
 * invalid token or value characters.  What it leaves to us: Host presence
 * and uniqueness (and of the other singletons routing and auth read), one
 * SP between the request-line parts, TE on HTTP/1.0, the request-target
 * form, obs-fold (also after an empty first line) and header count. */
#include "http/request.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "http/conn.h"
#include "http/worker.h"
#include "router/decide.h"

#define CLIENT(p) ((sy_client *)(p)->data)

static int reject(sy_client *c, int status, const char *why)
{
    c->req->local_status = status;
    c->req->error_word = why;
    return -1;
}

/* Collect a span that llhttp may deliver in pieces: pieces are adjacent in
 * the receive buffer because it is only appended to during a head.  A
 * piece that does not continue the span means the buffer moved under it;
 * a length computed across that would wrap. */
static int span_add(sy_str *cur, const char *at, size_t len)
{
    if (!cur->p)
        *cur = sy_str_make(at, len);
    else if (at == cur->p + cur->len)
        cur->len += len;
    else
        return -1;
    return 0;
}

/* Trailer fields come after the head, in a buffer compacted between body
 * reads: they are never kept as spans (we do not forward them), only
 * bounded like a head. */
static int trailer_piece(sy_client *c, size_t len)
{
    sy_request *r = c->req;
    r->trailer_bytes += len;
    if (r->trailer_bytes > r->snap->cfg->gw.max_header_bytes)
        return reject(c, 431, "request trailer section larger than MaxHeaderBytes");
    return 0;
}

static int on_message_begin(llhttp_t *p)
{
    sy_client *c = CLIENT(p);
    if (!c->req) {
        /* parse_input creates it; a message after the pause lands here */
        return -1;
    }
    return 0;
}

/* RFC 9112 §3: method SP target SP version, exactly one SP each; llhttp
 * skips any number.  A head is only appended to while it is parsed, so the
 * bytes before a span's first piece are still in the buffer: the method
 * ends right before the target's SP, the target right before the
 * version's " HTTP/". */
static bool one_sp_before_target(const char *at)
{
    return at[-1] == ' ' && at[-2] != ' ';
}

static bool one_sp_before_version(const sy_request *r)
{
    const char *end = r->target.p + r->target.len;
    return end[0] == ' ' && end[1] != ' ';
}

static int on_version(llhttp_t *p, const char *at, size_t len)
{
    sy_client *c = CLIENT(p);
    if (c->req->target.p && !c->req->version_seen && !one_sp_before_version(c->req))
        return reject(c, 400, "more than one space before the HTTP version");
    c->req->version_seen = true;
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
    sy_client *c = CLIENT(p);
    if (!c->req->target.p && !one_sp_before_target(at))
        return reject(c, 400, "more than one space before the request-target");
    c->req->span = SY_SPAN_URL;
    if (span_add(&c->req->target, at, len) < 0)
        return reject(c, 400, "request-target split across buffers");
    if (c->req->target.len > c->req->snap->cfg->gw.max_request_line)
        return reject(c, 414, "request-target longer than MaxRequestLineBytes");
    return 0;
}

static int on_url_complete(llhttp_t *p)
{
    CLIENT(p)->req->span = SY_SPAN_NONE;
    return 0;
}

/* The head may arrive whole in one read, so limits are checked as the
 * spans grow, not only when the buffer fills. */
static int head_too_big(sy_client *c, const char *at, size_t len)
{
    return (size_t)(at + len - (c->rbuf + c->head_start)) > c->req->snap->cfg->gw.max_header_bytes;
}

static bool is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    if (CLIENT(p)->req->head_done)
        return trailer_piece(CLIENT(p), len);
    if (head_too_big(CLIENT(p), at, len))
        return reject(CLIENT(p), 431, "request header section larger than MaxHeaderBytes");
    sy_request *r = CLIENT(p)->req;
    if (r->span != SY_SPAN_FIELD) {
        r->span = SY_SPAN_FIELD;
        r->cur = SY_STR_NULL;
    }
    if (span_add(&r->cur, at, len) < 0)
        return reject(CLIENT(p), 400, "header field split across buffers");
    return 0;
}

static int on_header_field_complete(llhttp_t *p)
{
    sy_client *c = CLIENT(p);
    sy_request *r = c->req;
    if (r->head_done)
        return trailer_piece(c, 0);
    if (r->n_headers >= gw_max_headers(c))
        return reject(c, 431, "too many header fields");
    /* llhttp tolerates whitespace before the colon; RFC 9112 §5.1 says a
     * server MUST reject it (a classic smuggling vector). */
    if (r->cur.len == 0)
        return reject(c, 400, "empty header field name");
    for (size_t i = 0; i < r->cur.len; i++)
        if (!is_tchar((unsigned char)r->cur.p[i]))
            return reject(c, 400, "invalid character in a header field name");
    r->headers[r->n_headers].name = r->cur;
    r->headers[r->n_headers].value = SY_STR_NULL;
    r->span = SY_SPAN_VALUE;
    r->cur = SY_STR_NULL;
    return 0;
}

/* obs-fold whose first line is empty ("Transfer-Encoding:\r\n chunked"):
 * llhttp starts the value span after the fold, so the value itself looks
 * clean.  The bytes between the name and the value's first piece (still in
 * the buffer, see one_sp_before_target) must be the colon and OWS only. */
static bool folded_before_value(const sy_request *r, const char *at)
{
    const sy_str name = r->headers[r->n_headers].name;
    for (const char *q = name.p + name.len; q < at; q++)
        if (*q == '\r' || *q == '\n')
            return true;
    return false;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    if (CLIENT(p)->req->head_done)
        return trailer_piece(CLIENT(p), len);
    if (head_too_big(CLIENT(p), at, len))
        return reject(CLIENT(p), 431, "request header section larger than MaxHeaderBytes");
    sy_request *r = CLIENT(p)->req;
    if (len == 0)
        return 0; /* llhttp marks an empty value with a zero-length span at the next line */
    if (!r->cur.p && folded_before_value(r, at))
        return reject(CLIENT(p), 400, "obsolete line folding is not allowed");
    if (span_add(&r->cur, at, len) < 0)
        return reject(CLIENT(p), 400, "header value split across buffers");
    return 0;
}

static int on_header_value_complete(llhttp_t *p)
{
    sy_client *c = CLIENT(p);
    sy_request *r = c->req;
    if (r->head_done)
        return trailer_piece(c, 0);
    sy_str v = sy_str_trim(r->cur);
    /* obs-fold (a line starting with SP/HTAB) and stray CR/LF/NUL: llhttp
     * folds continuation lines into the value span, so any CR or LF left
     * inside a value means the message used obs-fold.  RFC 9112 §5.2
     * allows rejecting it; we do, as nginx does. */
    for (size_t i = 0; i < v.len; i++) {
        unsigned char ch = (unsigned char)v.p[i];
        if (ch == '\r' || ch == '\n')
            return reject(c, 400, "obsolete line folding is not allowed");
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return reject(c, 400, "control character in a header value");
    }
    sy_header *h = &r->headers[r->n_headers++];
    h->value = v;
    r->span = SY_SPAN_NONE;
    r->cur = SY_STR_NULL;
    sy_str n = h->name;
    if (sy_str_ieq_c(n, "Host")) {
        r->n_host++;
        r->host_hdr = v;
    } else if (sy_str_ieq_c(n, "Content-Length")) {
        r->has_cl = true;
    } else if (sy_str_ieq_c(n, "Transfer-Encoding")) {
        r->has_te = true;
    } else if (sy_str_ieq_c(n, "Expect")) {
        if (sy_str_ieq_c(v, "100-continue"))
            r->expect_continue = true;
        else
            return reject(c, 417, "unsupported Expect value");
    } else if (sy_str_ieq_c(n, "Connection")) {
        if (sy_str_list_has_token(v, "close"))
            r->conn_close = true;
        if (sy_str_list_has_token(v, "keep-alive"))
            r->keep_alive_10 = true;
    }
    return 0;
}

/* Fields that routing, auth or the backend read as one value: a second
 * copy means two readers may each pick a different one (Host is counted
 * while parsing, it also has a missing-Host rule). */
static const char *repeated_singleton(const sy_request *r)
{
    static const char *const names[] = {"Authorization", "Content-Type"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        size_t n = 0;
        for (size_t i = 0; i < r->n_headers; i++)
            if (sy_str_ieq_c(r->headers[i].name, names[k]) && ++n > 1)
                return names[k];
    }
    return NULL;
}

static int on_headers_complete(llhttp_t *p)
{
    sy_client *c = CLIENT(p);
    sy_request *r = c->req;
    sy_worker *w = c->w;
    const sy_gateway_cfg *gw = &r->snap->cfg->gw;

    r->head_done = true;
    r->method = sy_str_c(llhttp_method_name((llhttp_method_t)p->method));
    if (p->http_major != 1)
        return reject(c, 400, "unsupported HTTP version");
    r->http_minor = p->http_minor;
    if (p->method == HTTP_CONNECT)
        return reject(c, 405, "CONNECT is not supported");
    if (r->target.len == 1 && r->target.p[0] == '*')
        return reject(c, 400, "asterisk-form request-target is not routable");
    if (r->n_host > 1)
        return reject(c, 400, "more than one Host header");
    if (r->n_host == 0 && r->http_minor == 1)
        return reject(c, 400, "missing Host header");
    if (repeated_singleton(r))
        return reject(c, 400, "a header that must appear once is repeated");
    if (r->has_te) {
        if (r->http_minor == 0)
            return reject(c, 400, "Transfer-Encoding in an HTTP/1.0 request");
        /* Only exactly "chunked" (llhttp already insists chunked is last). */
        size_t n_te = 0;
        for (size_t i = 0; i < r->n_headers; i++) {
            if (!sy_str_ieq_c(r->headers[i].name, "Transfer-Encoding"))
                continue;
            n_te++;
            if (!sy_str_ieq_c(r->headers[i].value, "chunked"))
                return reject(c, 501, "unsupported transfer coding");
        }
        if (n_te != 1)
            return reject(c, 400, "repeated Transfer-Encoding");
        r->chunked = true;
    }
    if (r->has_cl && !r->chunked)
        r->content_length = p->content_length;
    if (r->http_minor == 0 ? !r->keep_alive_10 : r->conn_close)
        c->close_after = true;
    if (c->n_requests + 1 >= gw->max_keepalive_requests)
        c->close_after = true;

    /* Everything from the target to the backend is decided where explain
     * decides it too (router/decide.c). */
    bool body = r->chunked || r->content_length;
    sy_decide_in in = {
        .method = r->method, .target = r->target, .host = r->n_host ? r->host_hdr : SY_STR_NULL,
        .headers = r->headers, .n_headers = r->n_headers, .tls = c->tls,
        .peer = &c->peer, .peer_ip = c->peer_ip, .has_body = body,
        .length_known = r->has_cl && !r->chunked, .content_length = r->content_length,
        .scratch = &c->arena,
    };
    sy_decision d;
    sy_routing g = {r->snap->cfg, r->snap->router, r->snap->generation};
    sy_decide(&g, &in, &r->rv, &d, NULL);
    r->path = d.path;
    r->query = d.query;
    r->route = d.route;
    r->peer_trusted = d.peer_trusted;
    memcpy(r->client_ip, d.client_ip, sizeof(r->client_ip));
    r->rv.client_ip = sy_str_c(r->client_ip);
    switch (d.kind) {
    case SY_DECIDE_PROXY:
        break;
    case SY_DECIDE_ERROR:
        if (d.status == 400)
            return reject(c, 400, d.message); /* framing doubt: answered and closed */
        /* fall through */
    case SY_DECIDE_REDIRECT:
    case SY_DECIDE_MOCK:
        /* Answered here; a body nobody wants is not read: close after. */
        r->local = true;
        if (body || d.status == 413)
            c->close_after = true;
        if (d.kind == SY_DECIDE_REDIRECT)
            sy_respond_redirect(c, d.status, d.host, d.https_port, r->path, r->query);
        else if (d.kind == SY_DECIDE_MOCK)
            sy_respond_mock(c, r->route.backend);
        else
            sy_respond_error(c, d.status, d.word, d.message);
        return body ? 1 : 0;
    }

    /* Proxy it.  The body (if any) streams through on_body from here on. */
    if (r->upgrade || p->upgrade)
        r->upgrade = true;
    c->state = SY_CS_BODY;
    r->body_start_ms = sy_loop_now(w->loop);
    c->last_write_progress = r->body_start_ms;
    c->head_deadline = 0;
    sy_upstream_start(c);
    if (c->closed)
        return HPE_PAUSED;
    if (!c->up) {
        /* failed synchronously (no node, head too large): answered. */
        return r->chunked || r->content_length ? 1 : 0;
    }
    if (r->expect_continue && r->http_minor == 1 && (r->chunked || r->content_length)) {
        sy_buf_append_str(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
        sy_client_flush(c);
    }
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    sy_client *c = CLIENT(p);
    sy_request *r = c->req;
    if (r->local || !c->up)
        return 0;
    r->body_bytes += len;
    const sy_gateway_cfg *gw = &r->snap->cfg->gw;
    if (gw->max_body_bytes && r->body_bytes > gw->max_body_bytes)
        return reject(c, 413, "request body larger than MaxBodyBytes");
    if (r->chunked)
        sy_chunk_append(&c->up->out, at, len);
    else
        sy_buf_append(&c->up->out, at, len);
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    sy_client *c = CLIENT(p);
    sy_request *r = c->req;
    r->body_done = true;
    if (c->up && !r->local) {
        if (r->chunked)
            sy_buf_append(&c->up->out, "0\r\n\r\n", 5);
        if (c->state == SY_CS_BODY)
            c->state = SY_CS_WAIT;
        sy_upstream_flush(c->up);
    } else if (!r->local && !c->up && !r->resp_done) {
        /* upstream start failed and answered already */
    }
    if (r->local && !r->resp_done) {
        r->resp_done = true;
        sy_access_log(c);
    }
    if (!r->local && c->state == SY_CS_BODY)
        c->state = SY_CS_WAIT;
    return HPE_PAUSED;
}

static int on_chunk_extension(llhttp_t *p, const char *at, size_t len)
{
    /* Extensions are dropped when we re-chunk; cap their size anyway. */
    sy_request *r = CLIENT(p)->req;
    r->cur.len += len;
    if (r->cur.len > 1024)
        return reject(CLIENT(p), 400, "chunk extension too long");
    return 0;
}

static int on_chunk_header(llhttp_t *p)
{
    CLIENT(p)->req->cur = SY_STR_NULL;
    return 0;
}

void sy_request_settings(llhttp_settings_t *s)
{
    llhttp_settings_init(s);
    s->on_message_begin = on_message_begin;
    s->on_url = on_url;
    s->on_url_complete = on_url_complete;
    s->on_version = on_version;
    s->on_header_field = on_header_field;
    s->on_header_field_complete = on_header_field_complete;
    s->on_header_value = on_header_value;
    s->on_header_value_complete = on_header_value_complete;
    s->on_headers_complete = on_headers_complete;
    s->on_body = on_body;
    s->on_message_complete = on_message_complete;
    s->on_chunk_header = on_chunk_header;
    s->on_chunk_extension_name = on_chunk_extension;
    s->on_chunk_extension_value = on_chunk_extension;
}
