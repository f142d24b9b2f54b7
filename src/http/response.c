/* Response-side llhttp callbacks: collect the backend's head as slices in
 * the upstream receive buffer (http/head.h), rebuild it for the client, and
 * stream the body (re-chunked when the backend's framing can't be passed
 * through). */
#include "http/response.h"

#include "http/conn.h"
#include "http/request.h"
#include "http/worker.h"

#define UCONN(p) ((sy_upconn *)(p)->data)

/* A head collector error: say why in the parser's reason (it is logged as
 * "invalid response from backend: ..."). */
static int bad(llhttp_t *p, int err)
{
    if (!err)
        return 0;
    llhttp_set_error_reason(p, sy_head_why(err, UCONN(p)->head.done));
    return -1;
}

static int on_message_begin(llhttp_t *p)
{
    sy_upconn *u = UCONN(p);
    /* Each message (1xx included) starts a head; its fields are slices in
     * the receive buffer, which upstream.c reuses only once the head is
     * done (head.h). */
    sy_head_begin(&u->head, u->fields, SY_HEAD_MAX_FIELDS, NULL, SY_UP_RBUF);
    u->has_cl = u->chunked = u->conn_close = false;
    return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    return bad(p, sy_head_name(&UCONN(p)->head, at, len));
}

static int on_header_field_complete(llhttp_t *p)
{
    return bad(p, sy_head_name_done(&UCONN(p)->head));
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    return bad(p, sy_head_value(&UCONN(p)->head, at, len));
}

static int on_header_value_complete(llhttp_t *p)
{
    sy_upconn *u = UCONN(p);
    const sy_header *h;
    int err = sy_head_value_done(&u->head, &h);
    if (err || !h)
        return bad(p, err); /* folded or control bytes never reach a client */
    if (sy_str_ieq_c(h->name, "Content-Length"))
        u->has_cl = true;
    else if (sy_str_ieq_c(h->name, "Transfer-Encoding"))
        u->chunked = true;
    else if (sy_str_ieq_c(h->name, "Connection") && sy_str_list_has_token(h->value, "close"))
        u->conn_close = true;
    return 0;
}

static int on_headers_complete(llhttp_t *p)
{
    sy_upconn *u = UCONN(p);
    sy_client *c = u->client;
    if (!c)
        return -1;
    u->status = p->status_code;
    if (u->status < 100 || u->status > 599)
        return -1; /* RFC 9110 §15: outside 100..599 is invalid ("099" would go out as "99") */
    if (u->status >= 100 && u->status < 200 && u->status != 101) {
        /* Interim responses (100, 103) are not forwarded: we answered
         * Expect ourselves.  The final response follows. */
        u->interim = true;
        return 1; /* a 1xx has no content (RFC 9110 §15.2); llhttp would
                   * otherwise read one framed by Content-Length */
    }
    if (u->status == 101 && !c->req->upgrade)
        return -1; /* 101 to a request that did not ask for it */
    if (u->status == 101) {
        /* RFC 9110 §15.2.2: a 101 names the new protocol in Upgrade; one
         * without it would switch us to a tunnel the client never sees.
         * §7.8: only to protocols the client offered (and we passed on:
         * never h2c). */
        bool named = false;
        sy_field_tokens it = {.fields = u->head.fields, .n = u->head.n, .name = "Upgrade"};
        sy_str tok;
        while (sy_field_tokens_next(&it, &tok)) {
            if (!sy_request_upgrade_offers(c->req, tok))
                return -1;
            named = true;
        }
        if (!named)
            return -1;
    }
    u->head_done = true;
    c->req->upstream_status = u->status;
    sy_head_end(&u->head); /* fields after this are trailers */
    if (u->chunked && u->has_cl)
        u->has_cl = false; /* TE wins; we re-frame anyway */
    if (u->has_cl)
        u->content_length = p->content_length;
    c->req->up_head_ms = sy_loop_now(c->w->loop);
    sy_serialize_response_head(c, u);
    if (u->status == 101)
        return 2; /* no body; switch protocols */
    /* HEAD, 204 and 304 have no body whatever Content-Length says
     * (llhttp would otherwise wait for one). */
    if (sy_str_eq_c(c->req->method, "HEAD") || u->status == 204 || u->status == 304)
        return 1;
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    sy_upconn *u = UCONN(p);
    sy_client *c = u->client;
    if (!c)
        return -1;
    if (!u->head_done)
        return -1; /* body bytes before our head went out: never pass them on */
    if (c->req->resp_chunked)
        sy_chunk_append(&c->out, at, len);
    else
        sy_buf_append(&c->out, at, len);
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    sy_upconn *u = UCONN(p);
    if (u->interim) {
        u->interim = false;
        return 0;
    }
    if (u->status == 101)
        return 0; /* llhttp then stops with HPE_PAUSED_UPGRADE */
    u->msg_done = true;
    return HPE_PAUSED;
}

void sy_response_settings(llhttp_settings_t *s)
{
    llhttp_settings_init(s);
    s->on_message_begin = on_message_begin;
    s->on_header_field = on_header_field;
    s->on_header_field_complete = on_header_field_complete;
    s->on_header_value = on_header_value;
    s->on_header_value_complete = on_header_value_complete;
    s->on_headers_complete = on_headers_complete;
    s->on_body = on_body;
    s->on_message_complete = on_message_complete;
}
