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
#include "http/reqrules.h"
#include "http/worker.h"
#include "router/decide.h"

#define CLIENT(p) ((sy_client *)(p)->data)

static int reject(sy_client *c, int status, const char *why)
{
    c->req->local_status = status;
    c->req->error_word = why;
    return -1;
}

/* A head collector error as the client's answer (431 for the limits). */
static int head_reject(sy_client *c, int err)
{
    if (err == SY_HEAD_TOO_BIG)
        return reject(c, 431,
                      c->req->head.done ? "request trailer section larger than MaxHeaderBytes"
                                        : "request header section larger than MaxHeaderBytes");
    return reject(c, err == SY_HEAD_TOO_MANY ? 431 : 400, sy_head_why(err, c->req->head.done));
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

static int on_version(llhttp_t *p, const char *at, size_t len)
{
    sy_client *c = CLIENT(p);
    if (c->req->target.p && !c->req->version_seen &&
        !sy_reqline_one_sp_before_version(c->req->target.p + c->req->target.len))
        return reject(c, 400, "more than one space before the HTTP version");
    c->req->version_seen = true;
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
    sy_client *c = CLIENT(p);
    if (!c->req->target.p && !sy_reqline_one_sp_before_target(at))
        return reject(c, 400, "more than one space before the request-target");
    c->req->span = SY_SPAN_URL;
    int err = sy_head_span(&c->req->head, &c->req->target, at, len);
    if (err)
        return head_reject(c, err);
    if (c->req->target.len > c->req->snap->cfg->gw.max_request_line)
        return reject(c, 414, "request-target longer than MaxRequestLineBytes");
    return 0;
}

static int on_url_complete(llhttp_t *p)
{
    CLIENT(p)->req->span = SY_SPAN_NONE;
    return 0;
}

/* Header fields go through the collector (http/head.h): limits as the
 * spans grow (the head may arrive whole in one read), token names, no
 * obs-fold or control bytes, trailers counted but never kept. */
static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    int err = sy_head_name(&CLIENT(p)->req->head, at, len);
    return err ? head_reject(CLIENT(p), err) : 0;
}

static int on_header_field_complete(llhttp_t *p)
{
    int err = sy_head_name_done(&CLIENT(p)->req->head);
    return err ? head_reject(CLIENT(p), err) : 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    int err = sy_head_value(&CLIENT(p)->req->head, at, len);
    return err ? head_reject(CLIENT(p), err) : 0;
}

static int on_header_value_complete(llhttp_t *p)
{
    sy_client *c = CLIENT(p);
    sy_request *r = c->req;
    const sy_header *h;
    int err = sy_head_value_done(&r->head, &h);
    if (err)
        return head_reject(c, err);
    if (!h)
        return 0; /* a trailer field */
    sy_str n = h->name, v = h->value;
    if (sy_str_ieq_c(n, "Content-Length")) {
        r->has_cl = true;
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

bool sy_request_upgrade_offers(const sy_request *r, sy_str proto)
{
    sy_field_tokens it = {.fields = r->head.fields, .n = r->head.n, .name = "Upgrade"};
    sy_str tok;
    while (sy_field_tokens_next(&it, &tok))
        if (!sy_str_ieq_c(tok, "h2c") && (!proto.len || sy_str_ieq(tok, proto)))
            return true;
    return false;
}

static int on_headers_complete(llhttp_t *p)
{
    sy_client *c = CLIENT(p);
    sy_request *r = c->req;
    sy_worker *w = c->w;
    const sy_gateway_cfg *gw = &r->snap->cfg->gw;

    r->head_done = true;
    sy_head_end(&r->head); /* fields after this are trailers */
    r->method = sy_str_c(llhttp_method_name((llhttp_method_t)p->method));
    r->http_minor = p->http_minor;
    /* The rules the admin listener applies too (http/reqrules.h). */
    sy_reqhead_facts facts;
    const char *why;
    int st = sy_reqhead_check(p, &r->head, r->target, &facts, &why);
    if (st)
        return reject(c, st, why);
    r->chunked = facts.chunked;
    r->host_hdr = facts.host;
    if (r->has_cl && !r->chunked)
        r->content_length = p->content_length;
    /* Read before llhttp decides whether the bytes after this message are
     * another protocol: an h2c-only Upgrade leaves a plain request. */
    if (p->upgrade && p->method != HTTP_CONNECT && !sy_request_upgrade_offers(r, SY_STR_NULL))
        p->upgrade = 0;
    if (r->http_minor == 0 ? !r->keep_alive_10 : r->conn_close)
        c->close_after = true;
    if (c->n_requests + 1 >= gw->max_keepalive_requests)
        c->close_after = true;

    /* Everything from the target to the backend is decided where explain
     * decides it too (router/decide.c). */
    bool body = r->chunked || r->content_length;
    sy_decide_in in = {
        .method = r->method,
        .target = r->target,
        .host = r->host_hdr,
        .headers = r->head.fields,
        .n_headers = r->head.n,
        .tls = c->tls,
        .peer = &c->peer,
        .peer_ip = c->peer_ip,
        .has_body = body,
        .length_known = r->has_cl && !r->chunked,
        .content_length = r->content_length,
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
    sy_client_set_state(c, SY_CS_BODY);
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
    if (gw->max_body_bytes && r->body_bytes > gw->max_body_bytes) {
        /* Up to the limit exactly, however the body was split into reads:
         * the backend gets the same bytes either way (abandoned after). */
        sy_buf_append(&c->up->out, at, len - (size_t)(r->body_bytes - gw->max_body_bytes));
        return reject(c, 413, "request body larger than MaxBodyBytes");
    }
    /* A chunked body keeps the client's chunk sizes (on_chunk_header /
     * on_chunk_complete frame it), so what the backend receives does not
     * depend on how the client's bytes were split into reads. */
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
            sy_client_set_state(c, SY_CS_WAIT);
        sy_upstream_flush(c->up);
    } else if (!r->local && !c->up && !r->resp_done) {
        /* upstream start failed and answered already */
    }
    if (r->local && !r->resp_done) {
        r->resp_done = true;
        sy_access_log(c);
    }
    if (!r->local && c->state == SY_CS_BODY)
        sy_client_set_state(c, SY_CS_WAIT);
    return HPE_PAUSED;
}

static int on_chunk_extension(llhttp_t *p, const char *at, size_t len)
{
    /* Extensions are dropped when we re-chunk; cap their size anyway. */
    sy_request *r = CLIENT(p)->req;
    r->ext_bytes += len;
    if (r->ext_bytes > 1024)
        return reject(CLIENT(p), 400, "chunk extension too long");
    return 0;
}

static int on_chunk_complete(llhttp_t *p)
{
    sy_client *c = CLIENT(p);
    if (c->req->chunk_open && !c->req->local && c->up)
        sy_buf_append(&c->up->out, "\r\n", 2);
    c->req->chunk_open = false;
    return 0;
}

/* A chunk's size line parsed whole (extensions dropped): forward its
 * header; the last chunk is written by on_message_complete. */
static int on_chunk_header(llhttp_t *p)
{
    sy_client *c = CLIENT(p);
    if (p->content_length && !c->req->local && c->up) {
        sy_chunk_head(&c->up->out, p->content_length);
        c->req->chunk_open = true;
    }
    c->req->ext_bytes = 0;
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
    s->on_chunk_complete = on_chunk_complete;
    s->on_chunk_extension_name = on_chunk_extension;
    s->on_chunk_extension_value = on_chunk_extension;
}
