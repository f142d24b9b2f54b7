/* The client side of the proxy: read, parse strictly, route, stream the
 * request body upstream, write the response, keep the connection alive.
 *
 * llhttp parses in place over a fixed-capacity receive buffer.  While a
 * head is being read the buffer is only appended to, so the slices the
 * callbacks collect stay valid; between requests it is compacted, and
 * while a body streams only the bytes after the head are reused (the head's
 * slices live as long as the request: http/head.h).  The parser is paused at every message end, so a
 * pipelined request waits in the buffer until the current response is
 * complete and responses go out in order. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/log.h"
#include "http/conn.h"
#include "upstream/balancer.h"
#include "http/h2.h"
#include "http/request.h"
#include "net/listen.h"
#include "net/readedge.h"
#include "net/tls_server.h"
#include "stats/stats.h"
#include "http/worker.h"

static llhttp_settings_t req_settings;
static int settings_ready;

const char *const sy_client_state_names[] = {
    [SY_CS_HEAD] = "head",     [SY_CS_BODY] = "body",       [SY_CS_WAIT] = "wait",
    [SY_CS_TUNNEL] = "tunnel", [SY_CS_CLOSING] = "closing",
};

void sy_client_set_state(sy_client *c, enum sy_client_state to)
{
    if (c->state != to)
        sy_debug("client fd %d: %s -> %s", c->io.fd, sy_client_state_names[c->state],
                 sy_client_state_names[to]);
    c->state = to;
}

static void client_process(sy_client *c);
static void client_arm_timer(sy_client *c);

static const sy_gateway_cfg *gw_of(sy_client *c)
{
    return &c->w->snap->cfg->gw;
}

/* ---- lifecycle ---- */

static void request_release(sy_client *c)
{
    sy_request *r = c->req;
    if (!r)
        return;
    if (r->tset)
        sy_balancer_release(r->tset);
    if (r->snap)
        sy_snapshot_unref(r->snap);
    c->req = NULL;
    sy_arena_reset(&c->arena);
}

static void request_begin(sy_client *c)
{
    sy_request *r = sy_arena_alloc(&c->arena, sizeof(*r));
    const sy_gateway_cfg *gw = gw_of(c);
    /* The head starts at rpos (parse_input makes that head_start). */
    sy_head_begin(&r->head, sy_arena_alloc(&c->arena, gw->max_headers * sizeof(sy_header)),
                  gw->max_headers, c->rbuf + c->rpos, gw->max_header_bytes);
    r->snap = c->w->snap;
    sy_snapshot_ref(r->snap);
    r->start_ms = sy_loop_now(c->w->loop);
    r->start_us = sy_clock_us();
    r->node = -1;
    uint64_t a = sy_worker_rand(c->w), b = sy_worker_rand(c->w);
    for (int i = 0; i < 16; i++) {
        r->request_id[i] = "0123456789abcdef"[(a >> (60 - 4 * i)) & 15];
        r->request_id[16 + i] = "0123456789abcdef"[(b >> (60 - 4 * i)) & 15];
    }
    r->request_id[32] = '\0';
    c->req = r;
}

/* ---- transports: how bytes move for plain TCP, TLS and an HTTP/2 stream ---- */

static ssize_t plain_recv(sy_client *c, char *p, size_t n)
{
    return recv(c->io.fd, p, n, 0);
}
static ssize_t plain_send(sy_client *c, const char *p, size_t n)
{
    return send(c->io.fd, p, n, MSG_NOSIGNAL);
}
static void plain_finish(sy_client *c)
{
    shutdown(c->io.fd, SHUT_WR);
}
static void plain_release(sy_client *c) {}

static ssize_t tls_recv(sy_client *c, char *p, size_t n)
{
    int want;
    return sy_stls_read(c->ssl, p, n, &want);
}
static ssize_t tls_send(sy_client *c, const char *p, size_t n)
{
    int want;
    return sy_stls_write(c->ssl, p, n, &want);
}
static void tls_release(sy_client *c)
{
    if (c->ssl) {
        sy_stls_close(c->ssl);
        c->ssl = NULL;
    }
}
static void tls_finish(sy_client *c)
{
    tls_release(c); /* close_notify first, then the TCP half-close */
    shutdown(c->io.fd, SHUT_WR);
}

static void stream_finish(sy_client *c) {}
static void stream_release(sy_client *c)
{
    sy_h2_stream_closed(c);
}

const sy_transport sy_transport_plain = {"plain",    true,         plain_recv,
                                         plain_send, plain_finish, plain_release};
const sy_transport sy_transport_tls = {"tls", true, tls_recv, tls_send, tls_finish, tls_release};
const sy_transport sy_transport_h2_stream = {"h2-stream",       false,         sy_h2_stream_read,
                                             sy_h2_stream_take, stream_finish, stream_release};

void sy_client_close(sy_client *c)
{
    if (c->closed)
        return;
    c->closed = true;
    if (c->h2)
        sy_h2_conn_closed(c); /* closes every stream first */
    if (c->up) {
        sy_upconn *u = c->up;
        c->up = NULL;
        u->client = NULL;
        sy_upstream_abort(u);
    }
    if (c->req && c->req->head_done && !c->req->resp_done) {
        /* The client left (or we gave up) before a response was complete:
         * still one access-log line, with 499 when nothing was answered. */
        if (!c->req->status)
            c->req->status = 499;
        sy_access_log(c);
    }
    request_release(c);
    sy_timer_stop(c->w->loop, &c->timer);
    sy_worker *w = c->w;
    c->tp->release(c);
    if (!c->tp->socket) {
        /* An h2 stream has no socket: free after the batch. */
        c->next = w->dead_clients;
        w->dead_clients = c;
        return;
    }
    sy_loop_del(c->w->loop, &c->io);
    close(c->io.fd);
    c->io.fd = -1;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    w->n_clients--;
    sy_stats_gauge_add(w->id, SY_GAUGE_CLIENT_CONNS, -1);
    /* Freed after the current I/O batch: later events in this batch may
     * still point at it. */
    c->next = w->dead_clients;
    w->dead_clients = c;
}

void sy_client_drain(sy_client *c)
{
    if (c->h2) {
        sy_h2_drain(c);
        return;
    }
    c->close_after = true;
    if (c->state == SY_CS_HEAD && (!c->req || !c->req->head_done) && c->rlen == c->rpos)
        sy_client_close(c);
}

static ssize_t client_send(sy_client *c, const char *p, size_t n)
{
    return c->tp->send(c, p, n);
}

ssize_t sy_client_recv(sy_client *c, char *p, size_t n)
{
    return c->tp->recv(c, p, n);
}

/* ---- writing ---- */

void sy_client_flush(sy_client *c)
{
    while (c->writable && sy_buf_pending(&c->out)) {
        ssize_t n = client_send(c, c->out.data + c->out.off, sy_buf_pending(&c->out));
        if (n > 0) {
            sy_buf_consume(&c->out, (size_t)n);
            c->out_sent += (uint64_t)n;
            if (c->req)
                c->req->bytes_sent += (uint64_t)n;
            c->last_write_progress = sy_loop_now(c->w->loop);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            c->writable = false;
            break;
        }
        sy_client_close(c);
        return;
    }
    if (!sy_buf_pending(&c->out)) {
        if (c->state == SY_CS_CLOSING && !c->h2) {
            /* Half-close first so a client still sending (a rejected body)
             * reads our response instead of a reset. */
            c->tp->finish(c);
            sy_client_close(c);
            return;
        }
        if (c->up && sy_buf_pending(&c->out) < SY_OUT_HIGH / 2)
            sy_upstream_resume_read(c->up);
    }
    if (c->h2) {
        sy_h2_flushed(c);
        return;
    }
    client_arm_timer(c);
}

/* ---- timers ---- */

static void client_timer_cb(sy_loop *loop, sy_timer *t)
{
    sy_client *c = t->data;
    const sy_gateway_cfg *gw = gw_of(c);
    uint64_t now = sy_loop_now(loop);
    if (c->h2) {
        sy_h2_timer(c);
        return;
    }
    if (c->handshaking && now >= c->head_deadline) {
        sy_stls_count_failure("timeout");
        sy_client_close(c);
        return;
    }
    if (sy_buf_pending(&c->out) && now - c->last_write_progress >= gw->send_timeout_ms) {
        sy_debug("client %s: send timeout", c->peer_ip);
        sy_client_close(c);
        return;
    }
    switch (c->state) {
    case SY_CS_HEAD:
        if (c->rlen == c->rpos && (!c->req || !c->req->head_done) && c->head_deadline == 0) {
            sy_client_close(c); /* idle keep-alive connection */
            return;
        }
        if (now >= c->head_deadline) {
            if (c->rlen > c->head_start)
                sy_respond_error(c, 408, "request_timeout", "request head not received in time");
            else
                sy_client_close(c);
            return;
        }
        break;
    case SY_CS_BODY: {
        sy_request *r = c->req;
        uint64_t elapsed = now - r->body_start_ms;
        bool slow = elapsed > gw->body_rate_grace_ms && gw->body_min_rate &&
                    r->body_bytes * 1000 / elapsed < gw->body_min_rate;
        if (now - c->last_write_progress >= gw->body_timeout_ms || slow) {
            if (!r->resp_started) {
                if (c->up) {
                    sy_upconn *u = c->up;
                    c->up = NULL;
                    u->client = NULL;
                    sy_upstream_abort(u);
                }
                sy_respond_error(c, 408, "request_timeout",
                                 slow ? "request body too slow"
                                      : "request body not received in time");
            } else {
                sy_client_close(c);
            }
            return;
        }
        break;
    }
    default:
        break;
    }
    client_arm_timer(c);
}

static void client_arm_timer(sy_client *c)
{
    if (c->closed || c->h2)
        return;
    const sy_gateway_cfg *gw = gw_of(c);
    uint64_t now = sy_loop_now(c->w->loop);
    uint64_t delay = 0;
    if (sy_buf_pending(&c->out) && !c->writable)
        delay = gw->send_timeout_ms;
    switch (c->state) {
    case SY_CS_HEAD:
        if (c->head_deadline == 0) {
            uint64_t d = gw->idle_timeout_ms;
            delay = delay && delay < d ? delay : d;
        } else {
            uint64_t d = c->head_deadline > now ? c->head_deadline - now : 0;
            delay = delay && delay < d ? delay : d;
        }
        break;
    case SY_CS_BODY: {
        uint64_t d = 1000; /* check the rate once a second */
        if (gw->body_timeout_ms < d)
            d = gw->body_timeout_ms;
        delay = delay && delay < d ? delay : d;
        break;
    }
    default:
        break;
    }
    if (delay)
        sy_timer_arm(c->w->loop, &c->timer, delay);
    else if (c->state == SY_CS_HEAD)
        sy_timer_arm(c->w->loop, &c->timer, 0);
    else
        sy_timer_stop(c->w->loop, &c->timer);
}

/* ---- request completion ---- */

static void next_request(sy_client *c)
{
    request_release(c);
    c->n_requests++;
    if (c->close_after) {
        sy_client_set_state(c, SY_CS_CLOSING);
        if (!sy_buf_pending(&c->out))
            sy_client_flush(c);
        return;
    }
    sy_client_set_state(c, SY_CS_HEAD);
    if (c->parser && HPE_PAUSED == llhttp_get_errno(c->parser))
        llhttp_resume(c->parser);
    /* Compact: keep only the unparsed (pipelined) bytes. */
    if (c->rpos) {
        memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
        c->rlen -= c->rpos;
        c->rpos = 0;
    }
    c->head_start = 0;
    c->head_deadline = c->rlen ? sy_loop_now(c->w->loop) + gw_of(c)->header_timeout_ms : 0;
    client_arm_timer(c);
}

void sy_client_response_done(sy_client *c, bool reusable)
{
    sy_request *r = c->req;
    (void)reusable;
    r->resp_done = true;
    sy_access_log(c);
    c->up = NULL;
    if (!r->body_done)
        c->close_after = true; /* unread request body: framing unknown */
    next_request(c);
    if (!c->closed && c->state == SY_CS_HEAD) {
        sy_client_flush(c);
        if (!c->closed)
            client_process(c);
    }
}

/* A backend response that failed before any of its bytes left c->out
 * (its head and the error came in one read): take it back, so the client
 * gets a clean error instead of a head cut off by a close. */
static bool take_back_response(sy_client *c)
{
    sy_request *r = c->req;
    if (!r->resp_started || c->out_sent > r->resp_at)
        return !r->resp_started;
    c->out.len = c->out.off + (size_t)(r->resp_at - c->out_sent);
    r->resp_started = r->resp_chunked = false;
    r->status = 0;
    return true;
}

void sy_client_upstream_failed(sy_client *c, int status, const char *word, const char *msg)
{
    c->up = NULL;
    sy_request *r = c->req;
    if (!take_back_response(c)) {
        sy_client_close(c); /* part of the response is out: only a close says it is cut */
        return;
    }
    sy_respond_error(c, status, word, msg);
    if (!r->body_done)
        c->close_after = true;
    next_request(c);
    if (!c->closed)
        sy_client_flush(c);
    if (!c->closed && c->state == SY_CS_HEAD)
        client_process(c);
}

/* ---- reading and parsing ---- */

static void fail_parse(sy_client *c, llhttp_errno_t err)
{
    sy_request *r = c->req;
    if (r && r->local)
        return; /* a callback already answered */
    int status = r && r->local_status ? r->local_status : 400;
    const char *reason = llhttp_get_error_reason(c->parser);
    char msg[160];
    snprintf(msg, sizeof(msg), "malformed request: %s", reason ? reason : llhttp_errno_name(err));
    if (c->up) {
        /* A body error: the backend gets what was queued, the same bytes
         * however the client split its writes, then a FIN. */
        sy_upconn *u = c->up;
        c->up = NULL;
        sy_upstream_abandon(u);
    }
    if (r && r->resp_started) {
        sy_client_close(c);
        return;
    }
    const char *word = status == 431   ? "header_fields_too_large"
                       : status == 414 ? "uri_too_long"
                       : status == 413 ? "payload_too_large"
                       : status == 501 ? "not_implemented"
                                       : "bad_request";
    sy_respond_error(c, status, word, r && r->error_word ? r->error_word : msg);
}

/* Parse what is buffered.  Returns false when the connection is done for
 * now (closed, paused at a message end, or waiting for more bytes). */
static bool parse_input(sy_client *c)
{
    if (c->rpos >= c->rlen || c->state == SY_CS_CLOSING)
        return false;
    if (c->state == SY_CS_WAIT)
        return false;
    if (__builtin_expect(c->n_requests == 0 && !c->req && c->rpos == 0 && c->rbuf[0] == 'P', 0) &&
        c->tp == &sy_transport_plain && gw_of(c)->h2c) {
        /* h2c with prior knowledge: the connection preface instead of a
         * request line. */
        size_t m = c->rlen < SY_H2_PREFACE_LEN ? c->rlen : SY_H2_PREFACE_LEN;
        if (memcmp(c->rbuf, SY_H2_PREFACE, m) == 0) {
            if (c->rlen < SY_H2_PREFACE_LEN)
                return false; /* wait for the rest of it */
            sy_h2_start(c, c->rbuf, c->rlen);
            return false;
        }
    }
    if (c->state == SY_CS_HEAD && !c->req) {
        request_begin(c);
        c->head_start = c->rpos;
        if (!c->head_deadline)
            c->head_deadline = sy_loop_now(c->w->loop) + gw_of(c)->header_timeout_ms;
    }
    const char *start = c->rbuf + c->rpos;
    c->in_parser = true;
    llhttp_errno_t err = llhttp_execute(c->parser, start, c->rlen - c->rpos);
    c->in_parser = false;
    if (c->closed)
        return false;
    if (c->up && sy_buf_pending(&c->up->out)) {
        sy_upstream_flush(c->up);
        if (c->closed)
            return false;
    }
    if (sy_buf_pending(&c->out)) {
        /* Local answers and 100 Continue are written after the parser
         * returns, never from inside a callback (a flush may close). */
        sy_client_flush(c);
        if (c->closed)
            return false;
    }
    if (err == HPE_OK) {
        c->rpos = c->rlen;
    } else if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) {
        c->rpos = (size_t)(llhttp_get_error_pos(c->parser) - c->rbuf);
        if (err == HPE_PAUSED_UPGRADE)
            c->paused_upgrade = true;
    } else {
        fail_parse(c, err);
        return false;
    }
    sy_request *r = c->req;
    if (c->state == SY_CS_HEAD && r && !r->head_done) {
        /* Head still incomplete: enforce the size limits now, not when the
         * buffer happens to fill. */
        const sy_gateway_cfg *gw = gw_of(c);
        size_t got = c->rlen - c->head_start;
        if (r->span == SY_SPAN_URL || r->target.len == 0) {
            if (got > gw->max_request_line) {
                r->local_status = 414;
                fail_parse(c, HPE_USER);
                return false;
            }
        } else if (got > gw->max_header_bytes) {
            r->local_status = 431;
            fail_parse(c, HPE_USER);
            return false;
        }
        return false;
    }
    if (r && r->local && r->resp_done && !c->closed && c->state != SY_CS_CLOSING) {
        next_request(c);
        return !c->closed;
    }
    return false;
}

static void tunnel_client_bytes(sy_client *c)
{
    if (c->up && c->rlen > c->rpos) {
        sy_buf_append(&c->up->out, c->rbuf + c->rpos, c->rlen - c->rpos);
        sy_upstream_flush(c->up);
    }
    c->rlen = c->rpos = 0;
}

/* Body phase with a full buffer: everything before rpos is consumed, but
 * the head stays where it is: its fields are slices that a retry and the
 * access log still read (http/head.h).  Only the body bytes after it are
 * reclaimed.  False when no room can be made. */
static bool compact_body(sy_client *c)
{
    size_t keep = 0;
    if (c->req && c->req->head_done)
        keep = c->head_start + sy_head_length(&c->req->head, c->rbuf + c->rpos);
    if (keep + 1024 > c->rcap) {
        /* A head padded to fill the buffer leaves no room for its body. */
        c->req->local_status = 431;
        fail_parse(c, HPE_USER);
        return false;
    }
    memmove(c->rbuf + keep, c->rbuf + c->rpos, c->rlen - c->rpos);
    c->rlen = keep + (c->rlen - c->rpos);
    c->rpos = keep;
    return c->rlen < c->rcap;
}

static void client_process_loop(sy_client *c);

/* Pooled receive buffers: at most this many wait in a worker's pool (the
 * connections active at once reuse them; a burst's extra ones are freed). */
#define SY_RBUF_POOL_MAX 64

/* A pooled block: [llhttp_t][receive buffer, rcap bytes].  A block in
 * the pool keeps its next link in its first bytes. */
static size_t block_size(const sy_client *c)
{
    return sizeof(llhttp_t) + c->rcap;
}

void sy_client_rbuf_ensure(sy_client *c)
{
    if (c->rbuf)
        return;
    sy_worker *w = c->w;
    char *block;
    if (w->rbuf_pool && w->rbuf_pool_cap == c->rcap) {
        block = w->rbuf_pool;
        memcpy(&w->rbuf_pool, block, sizeof(char *));
        w->rbuf_pool_n--;
    } else {
        block = sy_malloc(block_size(c));
    }
    c->parser = (llhttp_t *)block;
    llhttp_init(c->parser, HTTP_REQUEST, &req_settings);
    c->parser->data = c;
    c->rbuf = block + sizeof(llhttp_t);
    sy_stats_rbuf(w->id, 1);
    c->rlen = c->rpos = 0;
}

static void rbuf_release(sy_client *c)
{
    sy_worker *w = c->w;
    if (!c->rbuf)
        return;
    char *block = (char *)c->parser;
    if (w->rbuf_pool && w->rbuf_pool_cap != c->rcap) {
        /* The head limits changed with a reload: start a new pool. */
        while (w->rbuf_pool) {
            char *next;
            memcpy(&next, w->rbuf_pool, sizeof next);
            free(w->rbuf_pool);
            w->rbuf_pool = next;
        }
        w->rbuf_pool_n = 0;
    }
    if (w->rbuf_pool_n < SY_RBUF_POOL_MAX) {
        memcpy(block, &w->rbuf_pool, sizeof(char *));
        w->rbuf_pool = block;
        w->rbuf_pool_cap = c->rcap;
        w->rbuf_pool_n++;
    } else {
        free(block);
    }
    c->rbuf = NULL;
    c->parser = NULL;
    c->rlen = c->rpos = c->head_start = 0;
    sy_stats_rbuf(w->id, -1);
}

void sy_client_release_idle(sy_client *c)
{
    if (c->closed || c->req || c->state != SY_CS_HEAD || c->h2s)
        return;
    /* HTTP/2 hands every byte read to nghttp2 at once: nothing pends. */
    if (c->rbuf && (c->h2 || c->rpos >= c->rlen))
        rbuf_release(c);
    if (c->out.data && !sy_buf_pending(&c->out)) {
        sy_buf_free(&c->out);
        /* Buffers freed between long-lived structs leave whole free pages
         * in the heap: the quiet-worker trim returns them. */
        sy_worker_note_freed(c->w);
    }
    if (!c->h2)
        sy_arena_free(&c->arena);
    if (c->ssl && !sy_buf_pending(&c->out))
        sy_stls_release_buffers(c->ssl);
}

static void client_process(sy_client *c)
{
    if (c->in_process)
        return;
    c->in_process = true;
    client_process_loop(c);
    c->in_process = false;
    sy_client_release_idle(c);
}

static void client_process_loop(sy_client *c)
{
    for (int guard = 0; guard < 10000 && !c->closed; guard++) {
        if (c->state == SY_CS_TUNNEL) {
            tunnel_client_bytes(c);
        } else if (parse_input(c)) {
            continue; /* a pipelined request was answered locally; go on */
        }
        if (c->closed || !c->readable || c->h2)
            return;
        if (c->state == SY_CS_WAIT || c->state == SY_CS_CLOSING)
            return; /* leave pipelined bytes in the kernel until the response */
        if (c->state == SY_CS_BODY && c->up && sy_buf_pending(&c->up->out) > SY_OUT_HIGH)
            return; /* back-pressure: the backend is slower than the client */
        if (c->state == SY_CS_TUNNEL && c->up && sy_buf_pending(&c->up->out) > SY_OUT_HIGH)
            return;
        if (c->rlen == c->rcap) {
            if (c->state == SY_CS_HEAD && (!c->req || !c->req->head_done)) {
                if (c->rpos > c->head_start || c->head_start == 0) {
                    if (c->req)
                        c->req->local_status = c->req->target.len ? 431 : 414;
                    fail_parse(c, HPE_USER);
                    return;
                }
            }
            if (!compact_body(c))
                return;
        }
        sy_client_rbuf_ensure(c);
        size_t space = c->rcap - c->rlen;
        ssize_t n = sy_client_recv(c, c->rbuf + c->rlen, space);
        enum sy_read rd =
            sy_read_result(n, space, &c->readable, c->hup, c->tp == &sy_transport_plain);
        if (rd == SY_READ_DATA) {
            c->rlen += (size_t)n;
            if (c->state == SY_CS_BODY) {
                c->last_write_progress = sy_loop_now(c->w->loop);
            }
            if (c->state == SY_CS_HEAD && !c->head_deadline)
                c->head_deadline = sy_loop_now(c->w->loop) + gw_of(c)->header_timeout_ms;
            continue;
        }
        if (rd == SY_READ_RETRY)
            continue;
        if (rd == SY_READ_DRAINED)
            return;
        /* EOF or error from the client. */
        c->eof = true;
        if (n < 0 || c->state == SY_CS_HEAD || c->state == SY_CS_BODY || c->state == SY_CS_TUNNEL) {
            if (c->state == SY_CS_HEAD && c->req && c->req->head_done && c->req->local &&
                !sy_buf_pending(&c->out)) {
                sy_client_close(c);
                return;
            }
            sy_client_close(c);
            return;
        }
        /* Half-close while waiting for the response: answer, then close. */
        c->close_after = true;
        return;
    }
}

/* TLS: drive the handshake; once done, note the version and ALPN and
 * switch to HTTP/2 when it was chosen.  False while it is not finished. */
static bool client_handshake(sy_client *c)
{
    int rc = sy_stls_handshake(c->ssl);
    if (rc == SY_STLS_ERR) {
        sy_client_close(c);
        return false;
    }
    if (rc != SY_STLS_OK)
        return false;
    c->handshaking = false;
    c->tls_version = sy_stls_version(c->ssl);
    c->alpn = sy_stls_alpn(c->ssl);
    if (c->alpn && c->alpn[0] == 'h' && c->alpn[1] == '2') {
        sy_h2_start(c, NULL, 0);
        return false;
    }
    return true;
}

static void client_io_cb(sy_loop *loop, sy_io *io, uint32_t ev)
{
    sy_client *c = io->data;
    if (ev & EPOLLOUT)
        c->writable = true;
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        c->readable = true;
    if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        c->hup = true;
    if (c->ssl) {
        /* OpenSSL may need to read to write and vice versa: retry both. */
        c->readable = c->writable = true;
        if (c->handshaking && !client_handshake(c))
            return;
    }
    if (c->h2) {
        sy_h2_on_io(c);
        return;
    }
    if (c->writable && sy_buf_pending(&c->out)) {
        sy_client_flush(c);
        if (c->closed)
            return;
    }
    client_process(c);
}

void sy_client_pump_body(sy_client *c)
{
    /* Called back from the upstream side, possibly while our own parser is
     * running further up the stack (head callback -> upstream flush): never
     * re-enter llhttp; the outer parse loop continues by itself. */
    if (c->in_parser || c->in_process)
        return;
    if (!c->closed && (c->state == SY_CS_BODY || c->state == SY_CS_TUNNEL))
        client_process(c);
}

void sy_client_accept(sy_worker *w, int fd, const struct sockaddr_storage *peer, socklen_t len)
{
    sy_client_accept_ex(w, fd, peer, len, false);
}

/* State every client starts with, socket-backed or an HTTP/2 stream: a
 * receive buffer sized for the head limits, a request arena, a strict
 * parser, and the head deadline running from now (a client that connects
 * and sends nothing is a slowloris too). */
static sy_client *client_new(sy_worker *w)
{
    const sy_gateway_cfg *gw = &w->snap->cfg->gw;
    sy_client *c = sy_calloc(1, sizeof(*c));
    c->w = w;
    c->io.data = c;
    c->rcap = gw->max_header_bytes + gw->max_request_line + 2048;
    if (c->rcap < 16384)
        c->rcap = 16384;
    sy_arena_init(&c->arena, 8192); /* the buffer comes with the first bytes */
    sy_timer_init(&c->timer, client_timer_cb, c);
    sy_client_set_state(c, SY_CS_HEAD);
    c->head_deadline = sy_loop_now(w->loop) + gw->header_timeout_ms;
    return c;
}

void sy_client_accept_ex(sy_worker *w, int fd, const struct sockaddr_storage *peer, socklen_t len,
                         bool tls)
{
    if (!settings_ready) {
        sy_request_settings(&req_settings);
        settings_ready = 1;
    }
    sy_client *c = client_new(w);
    c->io.fd = fd;
    c->io.cb = client_io_cb;
    /* Listeners are IPv4/IPv6 (net/listen.c): keep just that much. */
    if (peer->ss_family == AF_INET6 && len >= sizeof(c->peer.in6))
        c->peer.in6 = *(const struct sockaddr_in6 *)peer;
    else if (peer->ss_family == AF_INET && len >= sizeof(c->peer.in))
        c->peer.in = *(const struct sockaddr_in *)peer;
    sy_addr_ip(&c->peer.sa, c->peer_ip, sizeof(c->peer_ip));
    c->next = w->clients;
    if (w->clients)
        w->clients->prev = c;
    w->clients = c;
    w->n_clients++;
    sy_stats_gauge_add(w->id, SY_GAUGE_CLIENT_CONNS, 1);
    c->writable = true;
    c->tp = &sy_transport_plain;
    if (tls) {
        c->tp = &sy_transport_tls;
        c->tls = c->handshaking = true;
        c->ssl = sy_stls_new(w->snap->tls, fd);
        if (!c->ssl) {
            /* This generation has no TLS configuration any more. */
            sy_loop_add(w->loop, &c->io, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
            sy_client_close(c);
            return;
        }
    }
    if (sy_loop_add(w->loop, &c->io, EPOLLIN | EPOLLOUT | EPOLLRDHUP) < 0) {
        sy_client_close(c);
        return;
    }
    client_arm_timer(c);
}

sy_client *sy_client_new_stream(sy_client *parent, struct sy_h2stream *s)
{
    sy_worker *w = parent->w;
    sy_client *c = client_new(w);
    c->io.fd = -1;
    c->peer = parent->peer;
    memcpy(c->peer_ip, parent->peer_ip, sizeof(c->peer_ip));
    c->tls = parent->tls;
    c->tls_version = parent->tls_version;
    c->alpn = parent->alpn;
    c->h2s = s;
    c->tp = &sy_transport_h2_stream;
    c->close_after = true; /* one request per stream */
    c->writable = true;
    c->readable = true;
    client_arm_timer(c);
    return c;
}

void sy_client_kick(sy_client *c)
{
    if (!c->closed)
        client_process(c);
}
