/* HTTP/2 connections and streams; see h2.h for the design.
 *
 * Re-entry: nghttp2 callbacks only record what happened on a stream
 * (flags, buffered bytes); stream clients are created, fed, flushed and
 * aborted afterwards, outside nghttp2, in process_streams().  Every public
 * entry point brackets its work with enter()/leave(), and the connection
 * (session, streams) is freed only when the outermost one leaves. */
#include "http/h2.h"

#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "http/worker.h"

#define STREAM_BODY_HIGH (64 * 1024) /* response bytes buffered per stream */

typedef struct sy_h2conn sy_h2conn;

typedef struct sy_h2stream {
    int32_t id;
    sy_h2conn *h2;
    sy_client *sc; /* stream client, NULL before/after */
    struct sy_h2stream *next;
    uint64_t start_ms;

    /* Request. */
    sy_buf method, path, authority, host, cookie, hdr;
    size_t hdr_bytes, n_hdrs;
    bool has_cl, chunked;
    int local_status; /* refused by the h2 layer: answer this */
    const char *local_msg;
    sy_buf in;         /* HTTP/1.1 bytes for the stream client */
    size_t unconsumed; /* DATA bytes in `in` not yet acknowledged */

    /* Response. */
    llhttp_t rp;
    sy_head rhead; /* fields, copied (names lower-cased) */
    sy_buf rhdr;   /* where rhead copies them */
    sy_buf body;
    bool head_req;

    /* State flags. */
    bool ready;     /* request head complete: start the client */
    bool started;   /* the stream client was created */
    bool has_input; /* new bytes in `in` */
    bool req_ended;
    bool abort;      /* peer reset: close the stream client */
    bool want_pull;  /* client output waits for body room */
    bool submitted;  /* response HEADERS submitted */
    bool resp_ended; /* all response bytes are in `body` */
    bool deferred;   /* data provider deferred */
    bool closed;     /* nghttp2 closed the stream */
    bool proxied;    /* counted in h2->n_proxied */
} sy_h2stream;

struct sy_h2conn {
    sy_client *c;
    nghttp2_session *session;
    sy_h2stream *streams;
    size_t n_streams;
    size_t n_proxied; /* streams with a live stream client */
    int depth;        /* nested entry points */
    bool busy;        /* pumping output */
    bool again;
    bool dead; /* connection closed: free on leave */
    bool goaway;
    uint64_t idle_since;
    uint64_t reset_window_start;
    uint32_t resets;
    sy_timer flush_timer; /* zero-delay: pump once after the I/O batch */
};

static llhttp_settings_t resp_settings;
static bool resp_settings_ready;

static void pump(sy_h2conn *h2);
static void schedule(sy_h2conn *h2);

static const sy_gateway_cfg *gw_of(sy_h2conn *h2)
{
    return &h2->c->w->snap->cfg->gw;
}

/* ---- lifetime ---- */

static void stream_free(sy_h2stream *s)
{
    sy_buf_free(&s->method);
    sy_buf_free(&s->path);
    sy_buf_free(&s->authority);
    sy_buf_free(&s->host);
    sy_buf_free(&s->cookie);
    sy_buf_free(&s->hdr);
    sy_buf_free(&s->in);
    sy_buf_free(&s->rhdr);
    sy_buf_free(&s->body);
    sy_head_free(&s->rhead);
    free(s);
}

static void conn_free(sy_h2conn *h2)
{
    sy_h2stream *s = h2->streams;
    while (s) {
        sy_h2stream *n = s->next;
        if (s->sc)
            s->sc->h2s = NULL;
        stream_free(s);
        s = n;
    }
    nghttp2_session_del(h2->session);
    sy_timer_stop(h2->c->w->loop, &h2->flush_timer);
    h2->c->h2 = NULL;
    free(h2);
}

/* Drop streams nghttp2 closed whose client is gone too. */
static void sweep(sy_h2conn *h2)
{
    sy_h2stream **pp = &h2->streams;
    while (*pp) {
        sy_h2stream *s = *pp;
        if (s->closed && !s->sc) {
            *pp = s->next;
            h2->n_streams--;
            stream_free(s);
        } else {
            pp = &s->next;
        }
    }
    if (!h2->n_streams && !h2->idle_since)
        h2->idle_since = sy_loop_now(h2->c->w->loop);
}

static void enter(sy_h2conn *h2)
{
    h2->depth++;
}

static void leave(sy_h2conn *h2)
{
    if (--h2->depth > 0)
        return;
    if (h2->dead) {
        conn_free(h2);
        return;
    }
    sweep(h2);
}

/* ---- response: the stream client's HTTP/1.1 output -> HEADERS + DATA ---- */

static sy_h2stream *RS(llhttp_t *p)
{
    return p->data;
}

/* The stream client's output is our own rebuilt head (a backend's fields
 * plus ours) or a local answer; it arrives in writes the caller reuses, so
 * the collector copies it (http/head.h). */
static void resp_head_begin(sy_h2stream *s)
{
    const sy_gateway_cfg *gw = gw_of(s->h2);
    sy_head_begin_copy(&s->rhead, &s->rhdr, SY_HEAD_MAX_FIELDS + SY_HEAD_OWN_FIELDS,
                       SY_UP_RBUF + gw->max_request_line + gw->max_header_bytes, true);
}

static int on_resp_begin(llhttp_t *p)
{
    resp_head_begin(RS(p));
    return 0;
}

static int on_resp_field(llhttp_t *p, const char *at, size_t len)
{
    return sy_head_name(&RS(p)->rhead, at, len) ? -1 : 0;
}

static int on_resp_field_done(llhttp_t *p)
{
    return sy_head_name_done(&RS(p)->rhead) ? -1 : 0;
}

static int on_resp_value(llhttp_t *p, const char *at, size_t len)
{
    return sy_head_value(&RS(p)->rhead, at, len) ? -1 : 0;
}

static int on_resp_value_done(llhttp_t *p)
{
    const sy_header *h;
    return sy_head_value_done(&RS(p)->rhead, &h) ? -1 : 0;
}

static ssize_t data_read_cb(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length,
                            uint32_t *flags, nghttp2_data_source *src, void *user)
{
    sy_h2stream *s = src->ptr;
    size_t n = sy_buf_pending(&s->body);
    if (n > length)
        n = length;
    if (n) {
        memcpy(buf, s->body.data + s->body.off, n);
        sy_buf_consume(&s->body, n);
    }
    if (!sy_buf_pending(&s->body)) {
        sy_buf_reset(&s->body);
        if (s->resp_ended)
            *flags |= NGHTTP2_DATA_FLAG_EOF;
    }
    if (s->want_pull && sy_buf_pending(&s->body) < STREAM_BODY_HIGH / 2)
        s->h2->again = true; /* process_streams lets the client write again */
    if (n == 0 && !(*flags & NGHTTP2_DATA_FLAG_EOF)) {
        s->deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    return (ssize_t)n;
}

static bool hop_by_hop(const char *n, size_t l)
{
    static const char *const names[] = {
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", NULL};
    for (const char *const *x = names; *x; x++)
        if (strlen(*x) == l && memcmp(*x, n, l) == 0)
            return true;
    return false;
}

static void submit_head(sy_h2stream *s, int status, bool body)
{
    char st[8];
    snprintf(st, sizeof st, "%d", status);
    nghttp2_nv *nva = sy_malloc((s->rhead.n + 1) * sizeof *nva);
    size_t n = 0;
    nva[n++] =
        (nghttp2_nv){(uint8_t *)":status", (uint8_t *)st, 7, strlen(st), NGHTTP2_NV_FLAG_NONE};
    for (size_t i = 0; i < s->rhead.n; i++) {
        const sy_header *f = &s->rhead.fields[i];
        if (hop_by_hop(f->name.p, f->name.len))
            continue;
        nva[n++] = (nghttp2_nv){(uint8_t *)f->name.p, (uint8_t *)f->value.p, f->name.len,
                                f->value.len, NGHTTP2_NV_FLAG_NONE};
    }
    nghttp2_data_provider prd = {.source.ptr = s, .read_callback = data_read_cb};
    nghttp2_submit_response(s->h2->session, s->id, nva, n, body ? &prd : NULL);
    free(nva);
    s->submitted = true;
    if (!body)
        s->resp_ended = true;
}

static int on_resp_headers_complete(llhttp_t *p)
{
    sy_h2stream *s = RS(p);
    int status = p->status_code;
    if (status < 200)
        return 0; /* interim responses are not forwarded */
    bool body = !s->head_req && status != 204 && status != 304;
    submit_head(s, status, body);
    return s->head_req ? 1 : 0;
}

static int on_resp_body(llhttp_t *p, const char *at, size_t len)
{
    sy_h2stream *s = RS(p);
    sy_buf_append(&s->body, at, len);
    if (s->deferred) {
        s->deferred = false;
        nghttp2_session_resume_data(s->h2->session, s->id);
    }
    return 0;
}

static int on_resp_complete(llhttp_t *p)
{
    sy_h2stream *s = RS(p);
    if (p->status_code < 200)
        return 0;
    s->resp_ended = true;
    if (s->deferred) {
        s->deferred = false;
        nghttp2_session_resume_data(s->h2->session, s->id);
    }
    return HPE_PAUSED;
}

ssize_t sy_h2_stream_take(sy_client *sc, const char *p, size_t n)
{
    sy_h2stream *s = sc->h2s;
    if (!s || sc->closed || s->h2->dead) {
        errno = EPIPE;
        return -1;
    }
    if (sy_buf_pending(&s->body) >= STREAM_BODY_HIGH) {
        s->want_pull = true;
        errno = EAGAIN;
        return -1;
    }
    sy_h2conn *h2 = s->h2;
    enter(h2);
    if (!s->resp_ended) {
        llhttp_errno_t err = llhttp_execute(&s->rp, p, n);
        if (err != HPE_OK && err != HPE_PAUSED) {
            sy_warn("h2 stream %d: unreadable response from the proxy core: %s", s->id,
                    llhttp_errno_name(err));
            nghttp2_submit_rst_stream(h2->session, NGHTTP2_FLAG_NONE, s->id,
                                      NGHTTP2_INTERNAL_ERROR);
            s->resp_ended = true;
        }
    }
    schedule(h2);
    leave(h2);
    return (ssize_t)n;
}

/* The stream client is gone: finish or reset the stream. */
void sy_h2_stream_closed(sy_client *sc)
{
    sy_h2stream *s = sc->h2s;
    if (!s)
        return;
    s->sc = NULL;
    sy_h2conn *h2 = s->h2;
    bool freed = s->proxied;
    if (freed) {
        s->proxied = false;
        h2->n_proxied--; /* a waiting stream may start now */
    }
    if (h2->dead)
        return;
    if (s->closed) {
        if (freed)
            schedule(h2);
        return;
    }
    enter(h2);
    if (!s->resp_ended && s->submitted && llhttp_finish(&s->rp) == HPE_OK && !s->resp_ended)
        s->resp_ended = true; /* close-delimited body */
    if (!s->resp_ended || !s->submitted) {
        nghttp2_submit_rst_stream(h2->session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
    } else if (s->deferred) {
        s->deferred = false;
        nghttp2_session_resume_data(h2->session, s->id);
    }
    if (s->unconsumed) {
        nghttp2_session_consume(h2->session, s->id, s->unconsumed);
        s->unconsumed = 0;
    }
    schedule(h2);
    leave(h2);
}

ssize_t sy_h2_stream_read(sy_client *sc, char *p, size_t n)
{
    sy_h2stream *s = sc->h2s;
    if (!s || sc->closed || !sy_buf_pending(&s->in)) {
        errno = EAGAIN;
        return -1;
    }
    size_t k = sy_buf_pending(&s->in);
    if (k > n)
        k = n;
    memcpy(p, s->in.data + s->in.off, k);
    sy_buf_consume(&s->in, k);
    if (!sy_buf_pending(&s->in)) {
        sy_buf_reset(&s->in);
        if (s->unconsumed && !s->h2->dead && !s->closed) {
            /* Everything the client sent was read: open the window again. */
            nghttp2_session_consume(s->h2->session, s->id, s->unconsumed);
            s->unconsumed = 0;
            s->h2->again = true;
        }
    }
    return (ssize_t)k;
}

static void add_field(sy_h2stream *s, const char *name, const char *value)
{
    const sy_header *h;
    sy_head_name(&s->rhead, name, strlen(name));
    sy_head_name_done(&s->rhead);
    sy_head_value(&s->rhead, value, strlen(value));
    sy_head_value_done(&s->rhead, &h);
}

/* A response the h2 layer writes itself (request refused before it became
 * an HTTP/1.1 request). */
static void local_response(sy_h2stream *s, int status, const char *msg)
{
    char body[256];
    int n = snprintf(body, sizeof body, "{\"error\":\"%s\",\"message\":\"%s\",\"status\":%d}\n",
                     status == 431 ? "header_fields_too_large" : "bad_request", msg, status);
    char cl[16];
    snprintf(cl, sizeof cl, "%d", n);
    resp_head_begin(s);
    add_field(s, "content-type", "application/json");
    add_field(s, "content-length", cl);
    sy_buf_append(&s->body, body, (size_t)n);
    s->resp_ended = true;
    submit_head(s, status, !s->head_req);
    s->resp_ended = true;
}

/* ---- request: HEADERS / DATA -> HTTP/1.1 bytes ---- */

static sy_h2stream *stream_of(nghttp2_session *session, int32_t id)
{
    return nghttp2_session_get_stream_user_data(session, id);
}

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user)
{
    sy_h2conn *h2 = user;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    sy_h2stream *s = sy_calloc(1, sizeof *s);
    s->id = frame->hd.stream_id;
    s->h2 = h2;
    s->start_ms = sy_loop_now(h2->c->w->loop);
    llhttp_init(&s->rp, HTTP_RESPONSE, &resp_settings);
    s->rp.data = s;
    s->next = h2->streams;
    h2->streams = s;
    h2->n_streams++;
    h2->idle_since = 0;
    nghttp2_session_set_stream_user_data(session, s->id, s);
    return 0;
}

static void append_line(sy_buf *b, const char *n, size_t nl, const char *v, size_t vl)
{
    sy_buf_append(b, n, nl);
    sy_buf_append(b, ": ", 2);
    sy_buf_append(b, v, vl);
    sy_buf_append(b, "\r\n", 2);
}

static bool name_is(const uint8_t *n, size_t l, const char *lit)
{
    return strlen(lit) == l && memcmp(n, lit, l) == 0;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user)
{
    sy_h2conn *h2 = user;
    sy_h2stream *s = stream_of(session, frame->hd.stream_id);
    if (!s || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0; /* trailers are dropped */
    const sy_gateway_cfg *gw = gw_of(h2);
    s->hdr_bytes += namelen + valuelen + 32;
    if (s->hdr_bytes > gw->max_header_bytes) {
        s->local_status = 431;
        s->local_msg = "request header section larger than MaxHeaderBytes";
    }
    if (s->local_status)
        return 0;
    const char *n = (const char *)name, *v = (const char *)value;
    if (namelen && name[0] == ':') {
        sy_buf *dst = name_is(name, namelen, ":method")      ? &s->method
                      : name_is(name, namelen, ":path")      ? &s->path
                      : name_is(name, namelen, ":authority") ? &s->authority
                                                             : NULL;
        if (dst)
            sy_buf_append(dst, v, valuelen);
        return 0;
    }
    if (++s->n_hdrs > gw->max_headers) {
        s->local_status = 431;
        s->local_msg = "too many header fields";
        return 0;
    }
    if (name_is(name, namelen, "host")) {
        if (s->host.len) {
            s->local_status = 400;
            s->local_msg = "more than one Host header";
        }
        sy_buf_append(&s->host, v, valuelen);
    } else if (name_is(name, namelen, "cookie")) {
        if (s->cookie.len)
            sy_buf_append(&s->cookie, "; ", 2);
        sy_buf_append(&s->cookie, v, valuelen);
    } else if (name_is(name, namelen, "te") || name_is(name, namelen, "expect")) {
        /* TE: trailers means nothing to an HTTP/1.1 hop; Expect is ours. */
    } else {
        if (name_is(name, namelen, "content-length"))
            s->has_cl = true;
        append_line(&s->hdr, n, namelen, v, valuelen);
    }
    return 0;
}

/* HEADERS complete: build the HTTP/1.1 request head. */
static void request_head_done(sy_h2stream *s, bool end_stream)
{
    s->req_ended = end_stream;
    s->head_req = s->method.len == 4 && memcmp(s->method.data, "HEAD", 4) == 0;
    s->ready = true;
    if (s->local_status)
        return;
    if (s->authority.len && s->host.len &&
        (s->authority.len != s->host.len ||
         strncasecmp(s->authority.data, s->host.data, s->host.len) != 0)) {
        s->local_status = 400;
        s->local_msg = "Host does not match :authority";
        return;
    }
    sy_buf *host = s->authority.len ? &s->authority : &s->host;
    sy_buf_append(&s->in, s->method.data, s->method.len);
    sy_buf_append(&s->in, " ", 1);
    sy_buf_append(&s->in, s->path.data, s->path.len);
    sy_buf_append_str(&s->in, " HTTP/1.1\r\n");
    if (host->len)
        append_line(&s->in, "Host", 4, host->data, host->len);
    sy_buf_append(&s->in, s->hdr.data, s->hdr.len);
    if (s->cookie.len)
        append_line(&s->in, "Cookie", 6, s->cookie.data, s->cookie.len);
    if (!end_stream && !s->has_cl) {
        s->chunked = true;
        sy_buf_append_str(&s->in, "Transfer-Encoding: chunked\r\n");
    }
    sy_buf_append(&s->in, "\r\n", 2);
    sy_buf_free(&s->hdr);
    sy_buf_free(&s->cookie);
    s->has_input = true;
}

static void request_body_done(sy_h2stream *s)
{
    if (s->req_ended)
        return;
    s->req_ended = true;
    if (s->chunked && !s->local_status)
        sy_buf_append(&s->in, "0\r\n\r\n", 5);
    s->has_input = true;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *user)
{
    sy_h2stream *s = stream_of(session, id);
    if (!s || s->local_status || (s->started && !s->sc)) {
        /* Nobody reads it: give the window back now. */
        nghttp2_session_consume(session, id, len);
        return 0;
    }
    if (s->chunked) {
        char sz[24];
        int k = snprintf(sz, sizeof sz, "%zx\r\n", len);
        sy_buf_append(&s->in, sz, (size_t)k);
        sy_buf_append(&s->in, data, len);
        sy_buf_append(&s->in, "\r\n", 2);
    } else {
        sy_buf_append(&s->in, data, len);
    }
    s->unconsumed += len;
    s->has_input = true;
    return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user)
{
    sy_h2conn *h2 = user;
    if (frame->hd.type == NGHTTP2_RST_STREAM) {
        /* Rapid reset (CVE-2023-44487): cap resets per second. */
        uint64_t now = sy_loop_now(h2->c->w->loop);
        if (now - h2->reset_window_start >= 1000) {
            h2->reset_window_start = now;
            h2->resets = 0;
        }
        if (++h2->resets > gw_of(h2)->h2_max_resets) {
            sy_warn("h2 client %s: %u stream resets in a second, closing", h2->c->peer_ip,
                    h2->resets);
            nghttp2_session_terminate_session(session, NGHTTP2_ENHANCE_YOUR_CALM);
        }
        return 0;
    }
    sy_h2stream *s = stream_of(session, frame->hd.stream_id);
    if (!s)
        return 0;
    bool end = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
    if (frame->hd.type == NGHTTP2_HEADERS) {
        if (frame->headers.cat == NGHTTP2_HCAT_REQUEST)
            request_head_done(s, end);
        else if (end)
            request_body_done(s); /* trailers */
    } else if (frame->hd.type == NGHTTP2_DATA && end) {
        request_body_done(s);
    }
    return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t id, uint32_t error_code, void *user)
{
    sy_h2stream *s = stream_of(session, id);
    if (!s)
        return 0;
    s->closed = true;
    if (s->sc)
        s->abort = true; /* reset before the response was complete */
    if (s->unconsumed) {
        nghttp2_session_consume_connection(session, s->unconsumed);
        s->unconsumed = 0;
    }
    nghttp2_session_set_stream_user_data(session, id, NULL);
    return 0;
}

/* ---- stream processing (outside nghttp2 callbacks) ---- */

static void process_streams(sy_h2conn *h2)
{
    for (sy_h2stream *s = h2->streams; s && !h2->dead; s = s->next) {
        if (s->abort) {
            s->abort = false;
            if (s->sc)
                sy_client_close(s->sc);
            continue;
        }
        if (s->closed)
            continue;
        if (s->ready && !s->started) {
            /* Http2MaxProxiedStreams: beyond it a stream waits here (its
             * DATA held by flow control) instead of taking a backend
             * connection; it starts when another stream's client ends. */
            if (!s->local_status && h2->n_proxied >= gw_of(h2)->h2_max_proxied)
                continue;
            s->started = true;
            if (s->local_status) {
                local_response(s, s->local_status, s->local_msg);
                continue;
            }
            s->has_input = false;
            s->proxied = true;
            h2->n_proxied++;
            s->sc = sy_client_new_stream(h2->c, s);
            sy_client_kick(s->sc);
            continue;
        }
        if (!s->sc)
            continue;
        if (s->has_input) {
            s->has_input = false;
            s->sc->readable = true;
            sy_client_kick(s->sc);
        }
        if (s->sc && s->want_pull && sy_buf_pending(&s->body) < STREAM_BODY_HIGH / 2) {
            s->want_pull = false;
            s->sc->writable = true;
            sy_client_flush(s->sc);
        }
    }
}

/* ---- connection I/O ---- */

static void check_done(sy_h2conn *h2)
{
    sy_client *c = h2->c;
    if (h2->dead || c->closed)
        return;
    if (!nghttp2_session_want_read(h2->session) && !nghttp2_session_want_write(h2->session) &&
        !sy_buf_pending(&c->out))
        sy_client_close(c);
}

/* Stream work, then frames into c->out (bounded), then the socket. */
static void pump(sy_h2conn *h2)
{
    if (h2->busy) {
        h2->again = true;
        return;
    }
    sy_client *c = h2->c;
    h2->busy = true;
    for (int guard = 0; guard < 64 && !h2->dead; guard++) {
        h2->again = false;
        process_streams(h2);
        if (h2->dead)
            break;
        while (sy_buf_pending(&c->out) < SY_OUT_HIGH) {
            const uint8_t *data;
            ssize_t n = nghttp2_session_mem_send(h2->session, &data);
            if (n < 0) {
                h2->busy = false;
                sy_client_close(c);
                return;
            }
            if (n == 0)
                break;
            sy_buf_append(&c->out, data, (size_t)n);
        }
        if (sy_buf_pending(&c->out))
            sy_client_flush(c);
        if (h2->dead || c->closed)
            break;
        if (sy_buf_pending(&c->out) >= SY_OUT_HIGH || !c->writable)
            break;
        if (!h2->again && !nghttp2_session_want_write(h2->session))
            break;
    }
    h2->busy = false;
    check_done(h2);
}

/* Responses arrive one stream at a time, each from its own upstream event.
 * Instead of one frame batch and one SSL_write (a record, a syscall) per
 * response, pump once after the loop's I/O batch: a zero-delay timer runs
 * right after the batch, in the same loop iteration. */
static void flush_cb(sy_loop *loop, sy_timer *t)
{
    sy_h2conn *h2 = t->data;
    (void)loop;
    if (h2->dead)
        return;
    enter(h2);
    pump(h2);
    leave(h2);
}

static void schedule(sy_h2conn *h2)
{
    if (h2->busy) {
        h2->again = true; /* the running pump goes round once more */
        return;
    }
    if (!h2->dead && !sy_timer_armed(&h2->flush_timer))
        sy_timer_arm(h2->c->w->loop, &h2->flush_timer, 0);
}

static void read_frames(sy_h2conn *h2)
{
    sy_client *c = h2->c;
    while (c->readable && !h2->dead && !c->closed) {
        if (sy_buf_pending(&c->out) >= SY_OUT_HIGH)
            break; /* the client does not read what we send: stop reading it */
        sy_client_rbuf_ensure(c);
        ssize_t n = sy_client_recv(c, c->rbuf, c->rcap);
        if (n > 0) {
            ssize_t rv = nghttp2_session_mem_recv(h2->session, (const uint8_t *)c->rbuf, (size_t)n);
            if (rv < 0) {
                sy_debug("h2 client %s: %s", c->peer_ip, nghttp2_strerror((int)rv));
                /* nghttp2 queued a GOAWAY for protocol errors: send it. */
                pump(h2);
                if (!h2->dead)
                    sy_client_close(c);
                return;
            }
            pump(h2);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            c->readable = false;
            sy_client_release_idle(c); /* nghttp2 keeps what it needs */
            break;
        }
        sy_client_close(c); /* EOF or error: open streams are aborted */
        return;
    }
}

void sy_h2_on_io(sy_client *c)
{
    sy_h2conn *h2 = c->h2;
    enter(h2);
    read_frames(h2);
    if (!h2->dead)
        pump(h2);
    leave(h2);
}

void sy_h2_flushed(sy_client *c)
{
    sy_h2conn *h2 = c->h2;
    if (h2->busy) {
        return;
    }
    enter(h2);
    pump(h2);
    if (!h2->dead && c->readable)
        read_frames(h2); /* reading may have stopped on output back-pressure */
    if (!h2->dead)
        pump(h2);
    leave(h2);
}

void sy_h2_timer(sy_client *c)
{
    sy_h2conn *h2 = c->h2;
    const sy_gateway_cfg *gw = gw_of(h2);
    uint64_t now = sy_loop_now(c->w->loop);
    enter(h2);
    if (sy_buf_pending(&c->out) && now - c->last_write_progress >= gw->send_timeout_ms) {
        sy_debug("h2 client %s: send timeout", c->peer_ip);
        sy_client_close(c);
    } else if (!h2->n_streams && h2->idle_since && now - h2->idle_since >= gw->idle_timeout_ms) {
        if (h2->goaway) {
            sy_client_close(c);
        } else {
            h2->goaway = true;
            nghttp2_session_terminate_session(h2->session, NGHTTP2_NO_ERROR);
            pump(h2);
        }
    } else {
        /* Streams whose request head never completes (slow CONTINUATION). */
        for (sy_h2stream *s = h2->streams; s; s = s->next)
            if (!s->ready && !s->closed && now - s->start_ms >= gw->header_timeout_ms)
                nghttp2_submit_rst_stream(h2->session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_CANCEL);
        pump(h2);
    }
    if (!h2->dead && !c->closed)
        sy_timer_arm(c->w->loop, &c->timer, 1000);
    leave(h2);
}

void sy_h2_drain(sy_client *c)
{
    sy_h2conn *h2 = c->h2;
    if (h2->goaway)
        return;
    enter(h2);
    h2->goaway = true;
    nghttp2_submit_goaway(h2->session, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(h2->session), NGHTTP2_NO_ERROR,
                          NULL, 0);
    pump(h2);
    leave(h2);
}

void sy_h2_conn_closed(sy_client *c)
{
    sy_h2conn *h2 = c->h2;
    if (!h2 || h2->dead)
        return;
    h2->dead = true;
    enter(h2);
    for (sy_h2stream *s = h2->streams; s; s = s->next)
        if (s->sc)
            sy_client_close(s->sc);
    leave(h2);
}

void sy_h2_start(sy_client *c, const char *initial, size_t n)
{
    if (!resp_settings_ready) {
        llhttp_settings_init(&resp_settings);
        resp_settings.on_message_begin = on_resp_begin;
        resp_settings.on_header_field = on_resp_field;
        resp_settings.on_header_field_complete = on_resp_field_done;
        resp_settings.on_header_value = on_resp_value;
        resp_settings.on_header_value_complete = on_resp_value_done;
        resp_settings.on_headers_complete = on_resp_headers_complete;
        resp_settings.on_body = on_resp_body;
        resp_settings.on_message_complete = on_resp_complete;
        resp_settings_ready = true;
    }
    const sy_gateway_cfg *gw = &c->w->snap->cfg->gw;
    sy_h2conn *h2 = sy_calloc(1, sizeof *h2);
    h2->c = c;
    h2->idle_since = sy_loop_now(c->w->loop);
    sy_timer_init(&h2->flush_timer, flush_cb, h2);
    c->h2 = h2;
    c->alpn = c->tls ? "h2" : NULL; /* h2c: no ALPN */

    nghttp2_session_callbacks *cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    nghttp2_option *opt;
    nghttp2_option_new(&opt);
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_option_set_max_deflate_dynamic_table_size(opt, 4096);
    nghttp2_option_set_max_settings(opt, 32);
    nghttp2_option_set_max_outbound_ack(opt, 1000);
    nghttp2_option_set_max_continuations(opt, 8);
    nghttp2_option_set_stream_reset_rate_limit(opt, 2 * (uint64_t)gw->h2_max_resets,
                                               gw->h2_max_resets);
    nghttp2_session_server_new2(&h2->session, cbs, h2, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cbs);

    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, gw->h2_max_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, gw->h2_stream_window},
        {NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, 4096},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, gw->max_header_bytes},
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
    };
    nghttp2_submit_settings(h2->session, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]);
    nghttp2_session_set_local_window_size(h2->session, NGHTTP2_FLAG_NONE, 0,
                                          (int32_t)gw->h2_conn_window);

    c->rlen = c->rpos = 0;
    c->head_deadline = 0;
    c->last_write_progress = sy_loop_now(c->w->loop);
    sy_timer_arm(c->w->loop, &c->timer, 1000);
    enter(h2);
    if (n) {
        ssize_t rv = nghttp2_session_mem_recv(h2->session, (const uint8_t *)initial, n);
        if (rv < 0) {
            pump(h2);
            if (!h2->dead)
                sy_client_close(c);
            leave(h2);
            return;
        }
    }
    c->readable = true;
    read_frames(h2);
    if (!h2->dead)
        pump(h2);
    leave(h2);
}
