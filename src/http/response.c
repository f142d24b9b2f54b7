/* Response-side llhttp callbacks: collect the backend's head as slices in
 * the upstream receive buffer, rebuild it for the client, and stream the
 * body (re-chunked when the backend's framing can't be passed through). */
#include "http/response.h"

#include "http/conn.h"
#include "http/worker.h"

#define UCONN(p) ((sy_upconn *)(p)->data)
#define MAX_RESP_HEADERS 128

/* Collect a span llhttp delivers in pieces.  The pieces of one head are
 * adjacent because the receive buffer is only appended to until the head
 * is done; a piece that does not continue the span means the buffer moved
 * under it, and a length computed across that would wrap. */
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

/* Trailer fields arrive after the head, when the receive buffer is reused
 * between reads: they are never kept as spans (we do not forward them),
 * only counted against the head's limits. */
static int trailer_piece(sy_upconn *u, size_t len)
{
    u->trailer_bytes += len;
    return u->trailer_bytes > SY_UP_RBUF ? -1 : 0;
}

static int on_message_begin(llhttp_t *p)
{
    sy_upconn *u = UCONN(p);
    u->n_headers = 0;
    u->has_cl = u->chunked = u->conn_close = false;
    u->span = SY_SPAN_NONE;
    u->cur = SY_STR_NULL;
    u->trailer_bytes = 0;
    return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    sy_upconn *u = UCONN(p);
    if (u->head_done)
        return trailer_piece(u, len);
    if (u->span != SY_SPAN_FIELD) {
        u->span = SY_SPAN_FIELD;
        u->cur = SY_STR_NULL;
    }
    return span_add(&u->cur, at, len);
}

static int on_header_field_complete(llhttp_t *p)
{
    sy_upconn *u = UCONN(p);
    if (u->head_done)
        return trailer_piece(u, 0);
    if (u->n_headers >= MAX_RESP_HEADERS)
        return -1;
    u->headers[u->n_headers].name = u->cur;
    u->headers[u->n_headers].value = SY_STR_NULL;
    u->span = SY_SPAN_VALUE;
    u->cur = SY_STR_NULL;
    return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    sy_upconn *u = UCONN(p);
    if (u->head_done)
        return trailer_piece(u, len);
    return span_add(&u->cur, at, len);
}

static int on_header_value_complete(llhttp_t *p)
{
    sy_upconn *u = UCONN(p);
    if (u->head_done)
        return trailer_piece(u, 0);
    sy_str v = sy_str_trim(u->cur);
    for (size_t i = 0; i < v.len; i++) {
        unsigned char ch = (unsigned char)v.p[i];
        if (ch == '\r' || ch == '\n' || (ch < 0x20 && ch != '\t') || ch == 0x7f)
            return -1; /* never pass folded or control bytes to a client */
    }
    sy_header *h = &u->headers[u->n_headers++];
    h->value = v;
    u->span = SY_SPAN_NONE;
    u->cur = SY_STR_NULL;
    if (sy_str_ieq_c(h->name, "Content-Length"))
        u->has_cl = true;
    else if (sy_str_ieq_c(h->name, "Transfer-Encoding"))
        u->chunked = true;
    else if (sy_str_ieq_c(h->name, "Connection") && sy_str_list_has_token(v, "close"))
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
         * without it would switch us to a tunnel the client never sees. */
        bool named = false;
        for (size_t i = 0; i < u->n_headers && !named; i++)
            named = sy_str_ieq_c(u->headers[i].name, "Upgrade") && u->headers[i].value.len;
        if (!named)
            return -1;
    }
    u->head_done = true;
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
