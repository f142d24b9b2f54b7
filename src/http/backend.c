/* The upstream side of the proxy: per-worker keep-alive pools, connect,
 * send the rebuilt request, parse the response strictly, stream it to the
 * client, and decide whether the connection may be reused.
 *
 * A connection returns to the pool only after a complete exchange: the
 * whole request was written, a response of known length was read to its
 * end, nothing extra followed it, and the backend did not ask to close
 * (doc/reliability.md §0 rule 4). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xxhash.h>

#include "core/log.h"
#include "stats/stats.h"
#include "http/conn.h"
#include "http/worker.h"
#include "net/readedge.h"
#include "net/limits.h"
#include "http/pool.h"
#include "http/response.h"
#include "router/expr.h"
#include "upstream/balancer.h"
#include "upstream/health.h"
#include "upstream/tls_client.h"

#define UCONN(p) ((sy_upconn *)(p)->data)

static llhttp_settings_t resp_settings;
static int resp_settings_ready;

/* FAIL_LOCAL: we could not even open a socket (no descriptor, no
 * ephemeral port): not the node's fault, so not judged and not retried on
 * another node; 503. */
enum fail_kind {
    FAIL_CONNECT,
    FAIL_REUSED_CLOSED,
    FAIL_IO,
    FAIL_TIMEOUT,
    FAIL_BAD_RESPONSE,
    FAIL_LOCAL
};

static void up_io_cb(sy_loop *loop, sy_io *io, uint32_t ev);
static void up_fail(sy_upconn *u, enum fail_kind kind, const char *why);
static void up_process_input(sy_upconn *u);

static ssize_t up_recv(sy_upconn *u, void *buf, size_t len)
{
    if (u->ssl)
        return sy_tls_recv(u->ssl, buf, len);
    return recv(u->io.fd, buf, len, 0);
}

static ssize_t up_send(sy_upconn *u, const void *buf, size_t len)
{
    if (u->ssl)
        return sy_tls_send(u->ssl, buf, len);
    return send(u->io.fd, buf, len, MSG_NOSIGNAL);
}

/* Take one of the node's MaxConnectionsPerNode slots (requests in flight
 * to it, counted across workers).  `limit` 0 = no cap. */
static bool slot_acquire(sy_node_state *st, uint32_t limit)
{
    if (!st)
        return true;
    int cur = atomic_load_explicit(&st->active, memory_order_relaxed);
    do {
        if (limit && cur >= (int)limit)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&st->active, &cur, cur + 1,
                                                    memory_order_relaxed, memory_order_relaxed));
    return true;
}

/* The connection stops counting against its node's active connections.
 * Requests waiting for the node are started from the workers' ticks: this
 * worker's runs after the current batch; others are woken when they have
 * waiters (the count is shared, the queues are per worker). */
static void unpin(sy_upconn *u)
{
    if (u->counted) {
        atomic_fetch_sub_explicit(&u->st->active, 1, memory_order_relaxed);
        u->counted = false;
        if (atomic_load_explicit(&u->st->queued, memory_order_relaxed) > 0)
            for (int i = 0; i < sy_rt.n_workers; i++)
                if (&sy_rt.workers[i] != u->w)
                    sy_loop_wake(sy_rt.workers[i].loop);
    }
}

/* Passive health: one outcome per exchange. */
static void judge(sy_upconn *u, enum sy_outcome o, int status)
{
    sy_client *c = u->client;
    if (!u->st || u->judged || !c || !c->req->upstream)
        return;
    u->judged = true;
    sy_node_passive(u->st, &c->req->upstream->health, o, status, sy_loop_now(u->w->loop));
}

static void up_free(sy_upconn *u)
{
    sy_worker *w = u->w;
    if (u->state == SY_US_IDLE)
        sy_pool_unlink(u);
    else if (u->state == SY_US_QUEUED)
        sy_queue_remove(u);
    if (u->abandoned) {
        sy_upconn **pp = &w->abandoned;
        while (*pp && *pp != u)
            pp = &(*pp)->abandon_next;
        if (*pp)
            *pp = u->abandon_next;
        u->abandoned = false;
    }
    sy_timer_stop(w->loop, &u->timer);
    unpin(u);
    if (u->ssl) {
        sy_tls_free(u->ssl);
        u->ssl = NULL;
    }
    if (u->io.fd >= 0) {
        sy_loop_del(w->loop, &u->io);
        close(u->io.fd);
        u->io.fd = -1;
        w->n_upfds--;
        sy_stats_gauge_add(w->id, SY_GAUGE_BACKEND_CONNS, -1);
    }
    u->free_next = w->dead_ups;
    w->dead_ups = u;
}

void sy_upstream_close_idle(sy_upconn *u)
{
    up_free(u);
}

void sy_upstream_close_abandoned(sy_worker *w)
{
    while (w->abandoned)
        up_free(w->abandoned);
}

static void up_timer_cb(sy_loop *loop, sy_timer *t)
{
    sy_upconn *u = t->data;
    switch (u->state) {
    case SY_US_IDLE:
        up_free(u);
        break;
    case SY_US_QUEUED: {
        sy_client *c = u->client;
        const sy_upstream_cfg *up = c->req->upstream;
        char msg[400];
        snprintf(msg, sizeof msg,
                 "no connection to node %s of upstream %s free within QueueTimeout (%u ms; "
                 "MaxConnectionsPerNode %u, MaxBackendConnections)",
                 u->st ? u->st->addr : "-", up ? up->id : "-", up ? up->queue_timeout_ms : 0,
                 up ? up->max_conns_per_node : 0);
        c->up = NULL;
        u->client = NULL;
        up_free(u);
        sy_client_upstream_failed(c, 503, "service_unavailable", msg);
        break;
    }
    case SY_US_CONNECTING:
        up_fail(u, FAIL_CONNECT, "connect timeout");
        break;
    case SY_US_ACTIVE:
        if (u->tunnel) {
            /* tunnels idle out on the client's idle timeout */
            if (u->client)
                sy_client_close(u->client);
            else
                up_free(u);
            break;
        }
        if (u->handshaking)
            up_fail(u, FAIL_CONNECT, "TLS handshake timeout");
        else
            up_fail(u, FAIL_TIMEOUT, "backend did not answer within ServiceTimeout");
        break;
    }
}

static void reset_response_state(sy_upconn *u)
{
    u->head_done = u->msg_done = u->interim = false;
    u->got_bytes = false;
    u->status = 0;
    sy_head_begin(&u->head, u->fields, SY_HEAD_MAX_FIELDS, NULL, SY_UP_RBUF);
    u->has_cl = u->chunked = u->conn_close = false;
    u->content_length = 0;
    u->rlen = u->rpos = 0;
    u->tunnel = false;
    u->hup = false;
    u->judged = false;
    llhttp_init(&u->parser, HTTP_RESPONSE, &resp_settings);
    u->parser.data = u;
}

/* The response side's buffers: a waiting request (SY_US_QUEUED) gets them
 * only when it leaves the queue on a new connection, so a long queue costs
 * its request bytes and no more; an idle pooled connection has none
 * (drop_buffers) until it is taken again. */
static void up_buffers(sy_upconn *u)
{
    if (u->rbuf)
        return;
    u->rcap = SY_UP_RBUF;
    u->rbuf = sy_malloc(u->rcap);
    u->fields = sy_malloc(sizeof(sy_header) * SY_HEAD_MAX_FIELDS);
}

static void drop_buffers(sy_upconn *u)
{
    free(u->rbuf);
    free(u->fields);
    u->rbuf = NULL;
    u->fields = NULL;
    u->rlen = u->rpos = 0;
    sy_buf_free(&u->out);
    sy_worker_note_freed(u->w);
}

static sy_upconn *up_new(sy_worker *w, const sy_endpoint *ep, void *ssl_ctx, bool queued)
{
    sy_upconn *u = sy_calloc(1, sizeof(*u));
    u->w = w;
    u->ssl_ctx = ssl_ctx;
    u->addr = ep->addr;
    u->addrlen = ep->addrlen;
    if (!queued)
        up_buffers(u);
    u->io.fd = -1;
    u->io.cb = up_io_cb;
    u->io.data = u;
    sy_timer_init(&u->timer, up_timer_cb, u);
    reset_response_state(u);
    return u;
}

static int up_connect(sy_upconn *u)
{
    int fd = socket(u->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int rc = connect(fd, (struct sockaddr *)&u->addr, u->addrlen);
    if (rc < 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    u->io.fd = fd;
    u->w->n_upfds++;
    sy_stats_gauge_add(u->w->id, SY_GAUGE_BACKEND_CONNS, 1);
    u->state = SY_US_CONNECTING;
    u->writable = false;
    u->readable = false;
    sy_loop_add(u->w->loop, &u->io, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
    return 0;
}

/* The CONSISTENT-HASH key of the request (HashKey), hashed. */
static void hash_key(sy_request *r)
{
    const sy_upstream_cfg *up = r->upstream;
    sy_expr_param p = {.loc = SY_LOC_CLIENT_IP};
    if (up->hash_on == SY_HASH_HEADER)
        p = (sy_expr_param){.loc = SY_LOC_HEADER, .name = sy_str_c(up->hash_name)};
    else if (up->hash_on == SY_HASH_COOKIE)
        p = (sy_expr_param){.loc = SY_LOC_COOKIE, .name = sy_str_c(up->hash_name)};
    else if (up->hash_on == SY_HASH_QUERY)
        p = (sy_expr_param){.loc = SY_LOC_QUERY, .name = sy_str_c(up->hash_name)};
    sy_str v;
    r->has_hash = sy_expr_fetch(&p, &r->rv, &v);
    r->hash = r->has_hash ? XXH3_64bits(v.p, v.len) : 0;
}

/* The next target for this request, or -1.  A node at its
 * MaxConnectionsPerNode is passed over for one with room (as nginx does
 * with max_conns); when every candidate is full the first pick is kept
 * and the request waits in its queue. */
static int pick(sy_client *c)
{
    sy_request *r = c->req;
    sy_balancer *bal = r->snap->balancers[r->upstream->index];
    uint32_t limit = r->upstream->max_conns_per_node;
    uint64_t skip = r->tried, now = sy_loop_now(c->w->loop);
    int first = -1;
    for (int tries = 0; tries < 8; tries++) {
        int ti = sy_balancer_pick(bal, r->tset, c->w->id, r->has_hash, r->hash, skip, now);
        if (ti < 0)
            break;
        if (first < 0)
            first = ti;
        const sy_node_state *st = r->tset->t[ti].st;
        if (!limit || !st || atomic_load_explicit(&st->active, memory_order_relaxed) < (int)limit)
            return ti;
        if (ti >= 64)
            break;
        skip |= 1ull << ti;
    }
    return first;
}

static void no_node(sy_client *c)
{
    const sy_upstream_cfg *up = c->req->upstream;
    char msg[300];
    snprintf(msg, sizeof(msg),
             "no usable node in upstream %s%s%s%s: every node is down or disabled", up->id,
             up->name ? " (" : "", up->name ? up->name : "", up->name ? ")" : "");
    sy_client_upstream_failed(c, 503, "service_unavailable", msg);
}

static uint64_t remaining(const sy_request *r, uint64_t now)
{
    return r->deadline_ms > now ? r->deadline_ms - now : 1;
}

static void slot_release(sy_node_state *st)
{
    if (st)
        atomic_fetch_sub_explicit(&st->active, 1, memory_order_relaxed);
}

/* Serialize c's head (and body bytes carried over from a failed attempt)
 * into u->out.  -1 with the client answered when the head does not fit. */
static int queue_head(sy_client *c, sy_upconn *u, const char *prev_body, size_t prev_body_len)
{
    sy_request *r = c->req;
    size_t before = sy_buf_pending(&u->out);
    if (sy_serialize_request_head(c, &u->out) < 0) {
        c->up = NULL;
        u->client = NULL;
        up_free(u);
        sy_client_upstream_failed(c, 414, "uri_too_long", "backend path too long");
        return -1;
    }
    r->up_head_len = sy_buf_pending(&u->out) - before;
    sy_buf_append(&u->out, prev_body, prev_body_len);
    return 0;
}

/* u (pooled, or fresh when `fresh`) carries c's request: connect if
 * needed and arm the connect or ServiceTimeout timer. */
static int launch(sy_client *c, sy_upconn *u, bool fresh, uint64_t now)
{
    sy_request *r = c->req;
    sy_worker *w = c->w;
    if (fresh && up_connect(u) < 0) {
        /* Immediate refusal (rare on non-blocking sockets): same path as
         * an asynchronous connect failure, including retries. */
        int e = errno;
        char why[128];
        snprintf(why, sizeof why, "cannot open a backend connection: %s", strerror(e));
        up_fail(u, sy_errno_local(e) ? FAIL_LOCAL : FAIL_CONNECT, why);
        return c->up ? 0 : -1;
    }
    r->up_start_ms = now;
    uint64_t left = remaining(r, now);
    if (u->state == SY_US_CONNECTING) {
        uint64_t ct = r->snap->cfg->gw.connect_timeout_ms;
        sy_timer_arm(w->loop, &u->timer, ct < left ? ct : left);
    } else {
        sy_timer_arm(w->loop, &u->timer, left);
    }
    return 0;
}

/* The node is at MaxConnectionsPerNode (or the worker at its backend
 * budget): wait in the node's queue, up to MaxQueuePerNode requests and
 * QueueTimeout, in a placeholder that already holds the request bytes. */
static int enqueue(sy_client *c, sy_upnode *n, sy_node_state *st, void *ssl_ctx,
                   const char *prev_body, size_t prev_body_len)
{
    sy_request *r = c->req;
    sy_worker *w = c->w;
    const sy_upstream_cfg *up = r->route.backend->upstream;
    uint32_t maxq = up ? up->max_queue_per_node : SY_UP_MAX_QUEUE_DEFAULT;
    int queued = st ? atomic_load_explicit(&st->queued, memory_order_relaxed) : (int)n->n_queued;
    if ((uint32_t)queued >= maxq) {
        char msg[400];
        snprintf(msg, sizeof msg,
                 "node %s of upstream %s is at MaxConnectionsPerNode (%u) and its queue is full "
                 "(MaxQueuePerNode %u)",
                 st ? st->addr : r->ep->host, up ? up->id : "-", up ? up->max_conns_per_node : 0,
                 maxq);
        sy_client_upstream_failed(c, 503, "service_unavailable", msg);
        return -1;
    }
    sy_upconn *q = up_new(w, r->ep, ssl_ctx, true);
    q->state = SY_US_QUEUED;
    q->st = st;
    q->client = c;
    c->up = q;
    if (queue_head(c, q, prev_body, prev_body_len) < 0)
        return -1;
    sy_queue_push(w, n, q);
    sy_timer_arm(w->loop, &q->timer, up ? up->queue_timeout_ms : SY_UP_QUEUE_TIMEOUT_DEFAULT);
    return 0;
}

bool sy_upstream_admit(sy_upconn *q)
{
    sy_worker *w = q->w;
    sy_client *c = q->client;
    sy_request *r = c->req;
    const sy_upstream_cfg *up = r->route.backend->upstream;
    sy_node_state *st = q->st;
    if (!slot_acquire(st, up ? up->max_conns_per_node : 0))
        return false;
    sy_upconn *p = sy_pool_take(w, q->node);
    if (!p && w->n_upfds >= r->snap->max_backends && !sy_pool_evict_oldest(w)) {
        slot_release(st);
        return false;
    }
    sy_queue_remove(q);
    sy_timer_stop(w->loop, &q->timer);
    uint64_t now = sy_loop_now(w->loop);
    if (r->attempts == 1)
        r->deadline_ms = now + r->route.backend->timeout_ms; /* the wait is not ServiceTimeout */
    sy_upconn *u = q;
    if (p) {
        /* The pooled connection takes over the request bytes. */
        sy_buf tmp = p->out;
        p->out = q->out;
        q->out = tmp;
        q->client = NULL;
        q->st = NULL;
        up_free(q);
        u = p;
        up_buffers(u);
        u->reused = true;
        u->state = SY_US_ACTIVE;
        u->client = c;
        c->up = u;
    } else {
        up_buffers(u);
        u->state = SY_US_CONNECTING;
    }
    u->n_uses++;
    reset_response_state(u);
    if (st) {
        u->st = st;
        u->counted = true;
    }
    if (launch(c, u, !p, now) == 0 && c->up == u) {
        sy_upstream_flush(u);
        if (c->up == u && !r->body_done)
            sy_client_pump_body(c);
    }
    return true;
}

/* Start an attempt on target `ti` (upstream backends; -1 for a Url) and
 * queue the head.  Returns 0, or -1 with the client already answered. */
static int attempt(sy_client *c, int ti, const char *prev_body, size_t prev_body_len)
{
    sy_request *r = c->req;
    sy_worker *w = c->w;
    const sy_backend_cfg *b = r->route.backend;
    uint64_t now = sy_loop_now(w->loop);
    void *ssl_ctx = NULL;
    r->attempts++;
    if (r->attempts == 1)
        r->deadline_ms = now + b->timeout_ms;
    if (b->upstream) {
        const sy_target *t = &r->tset->t[ti];
        if (ti < 64)
            r->tried |= 1ull << ti;
        r->tgt = t;
        r->node = t->node;
        r->ep = &t->ep;
        ssl_ctx = r->snap->balancers[b->upstream->index]->ssl_ctx;
    } else {
        r->upstream = NULL;
        r->tgt = NULL;
        r->node = -1;
        r->ep = &b->url_ep;
        if (r->ep->addrlen == 0) {
            sy_client_upstream_failed(c, 502, "bad_gateway", "backend Url has no resolved address");
            return -1;
        }
    }
    sy_node_state *st = r->tgt ? r->tgt->st : NULL;
    sy_upnode *n = sy_upnode_get(w, st, &r->ep->addr, r->ep->addrlen, ssl_ctx);
    sy_upconn *u = NULL;
    /* First come, first served: while requests wait for this node here,
     * a new one queues behind them. */
    bool wait =
        n->n_queued > 0 || !slot_acquire(st, b->upstream ? b->upstream->max_conns_per_node : 0);
    if (!wait) {
        u = sy_pool_take(w, n);
        if (!u && w->n_upfds >= r->snap->max_backends && !sy_pool_evict_oldest(w)) {
            slot_release(st);
            wait = true;
        }
    }
    if (wait)
        return enqueue(c, n, st, ssl_ctx, prev_body, prev_body_len);
    bool fresh = !u;
    if (u) {
        up_buffers(u);
        u->reused = true;
        u->state = SY_US_ACTIVE;
    } else {
        u = up_new(w, r->ep, ssl_ctx, false);
        u->state = SY_US_CONNECTING;
    }
    u->client = c;
    c->up = u;
    u->n_uses++;
    reset_response_state(u);
    if (st) {
        u->st = st;
        u->counted = true;
    }
    if (queue_head(c, u, prev_body, prev_body_len) < 0)
        return -1;
    return launch(c, u, fresh, now);
}

void sy_upstream_start(sy_client *c)
{
    if (!resp_settings_ready) {
        sy_response_settings(&resp_settings);
        resp_settings_ready = 1;
    }
    sy_request *r = c->req;
    const sy_backend_cfg *b = r->route.backend;
    int ti = -1;
    if (b->upstream) {
        r->upstream = b->upstream;
        if (!r->tset)
            r->tset = sy_balancer_acquire(r->snap->balancers[b->upstream->index]);
        if (r->snap->balancers[b->upstream->index]->algo == SY_ALGO_HASH)
            hash_key(r);
        ti = pick(c);
        if (ti < 0) {
            no_node(c);
            return;
        }
    }
    if (attempt(c, ti, NULL, 0) == 0 && c->up)
        sy_upstream_flush(c->up);
}

static bool idempotent(sy_str m)
{
    static const char *const ok[] = {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE", NULL};
    for (int i = 0; ok[i]; i++)
        if (sy_str_eq_c(m, ok[i]))
            return true;
    return false;
}

static int max_attempts(const sy_request *r)
{
    if (r->route.backend->upstream)
        return 1 + r->route.backend->upstream->retries;
    return 2; /* one retry, for a stale pooled connection */
}

static bool bodyless(const sy_request *r)
{
    return !r->chunked && (!r->has_cl || r->content_length == 0);
}

/* Failure before or during the exchange.  Retry only when it is safe
 * (RFC 9110 §9.2.2, doc/reliability.md §3.6) and nothing reached the client:
 *   - the connection was never established (connect refused, failed or
 *     timed out, TLS handshake refused): nothing was sent, any method;
 *   - the connection closed or reset before any response byte, and the
 *     request is idempotent and bodyless (it can be replayed as is).
 * Each retry goes to another node (a stale pooled connection may retry its
 * own node on a fresh connection), at most Retries times, and only while
 * ServiceTimeout, counted from the first attempt, has not run out.  A
 * timeout is never retried (the request may be executing). */
static void up_fail(sy_upconn *u, enum fail_kind kind, const char *why)
{
    sy_client *c = u->client;
    if (u->state == SY_US_IDLE) {
        up_free(u);
        return;
    }
    if (!c) {
        up_free(u);
        return;
    }
    sy_request *r = c->req;
    bool timeout = kind == FAIL_TIMEOUT || (kind == FAIL_CONNECT && strstr(why, "timeout"));
    bool stale = kind == FAIL_REUSED_CLOSED;
    /* A keep-alive connection the backend closed while idle says nothing
     * about the node's health. */
    if (!stale && kind != FAIL_LOCAL)
        judge(u, timeout ? SY_OUT_TIMEOUT : SY_OUT_TCP, 0);
    bool nothing_sent = kind == FAIL_CONNECT;
    bool replayable = (kind == FAIL_REUSED_CLOSED || kind == FAIL_IO) && !u->got_bytes &&
                      bodyless(r) && idempotent(r->method);
    uint64_t now = sy_loop_now(c->w->loop);
    const sy_upstream_cfg *up = r->route.backend->upstream;
    sy_debug("upstream %s: %s", r->ep ? r->ep->host : "-", why);
    if (!r->resp_started && (nothing_sent || replayable) && r->attempts < max_attempts(r) &&
        now < r->deadline_ms && (up || stale)) {
        int ti = -1;
        if (up) {
            if (stale && r->tgt) {
                ptrdiff_t i = r->tgt - r->tset->t;
                if (i < 64)
                    r->tried &= ~(1ull << i);
            }
            ti = pick(c);
        }
        if (ti >= 0 || !up) {
            /* Carry over the body bytes queued behind the head (only
             * possible when nothing was sent). */
            sy_buf body = {0};
            if (nothing_sent && sy_buf_pending(&u->out) > r->up_head_len)
                sy_buf_append(&body, u->out.data + u->out.off + r->up_head_len,
                              sy_buf_pending(&u->out) - r->up_head_len);
            c->up = NULL;
            u->client = NULL;
            up_free(u);
            if (attempt(c, ti, body.data ? body.data + body.off : NULL, sy_buf_pending(&body)) ==
                    0 &&
                c->up)
                sy_upstream_flush(c->up);
            sy_buf_free(&body);
            if (c->up && !r->body_done)
                sy_client_pump_body(c);
            return;
        }
    }
    c->up = NULL;
    u->client = NULL;
    up_free(u);
    if (timeout)
        sy_client_upstream_failed(c, 504, "gateway_timeout", why);
    else if (kind == FAIL_LOCAL)
        sy_client_upstream_failed(c, 503, "service_unavailable", why);
    else
        sy_client_upstream_failed(c, 502, "bad_gateway", why);
}

void sy_upstream_abort(sy_upconn *u)
{
    u->client = NULL;
    up_free(u);
}

/* An abandoned connection delivers what was queued, sends its FIN, then
 * reads and drops until the backend closes (closing with unread bytes
 * would reset the connection and could destroy what we sent) or the
 * timer fires. */
static void abandoned_io(sy_upconn *u)
{
    if (sy_buf_pending(&u->out)) {
        sy_upstream_flush(u);
        if (u->io.fd < 0 || sy_buf_pending(&u->out))
            return;
    }
    if (!u->shut) {
        shutdown(u->io.fd, SHUT_WR);
        u->shut = true;
    }
    char junk[4096];
    for (;;) {
        ssize_t n = up_recv(u, junk, sizeof junk);
        if (n > 0 || (n < 0 && errno == EINTR))
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        up_free(u); /* EOF or error: done */
        return;
    }
}

void sy_upstream_abandon(sy_upconn *u)
{
    sy_worker *w = u->w;
    u->client = NULL;
    if (u->state == SY_US_QUEUED || (u->state == SY_US_CONNECTING && u->ssl_ctx)) {
        /* Still waiting for a connection under the node's limits: nothing
         * was sent.  TLS not set up yet: its session needs the request's
         * upstream, which is going away. */
        up_free(u);
        return;
    }
    u->abandoned = true;
    u->abandon_next = w->abandoned;
    w->abandoned = u;
    if (u->state == SY_US_CONNECTING)
        return; /* the connect timer stands; connected, it continues below */
    sy_timer_arm(w->loop, &u->timer, SY_ABANDON_MS);
    if (!u->handshaking)
        abandoned_io(u);
}

void sy_upstream_flush(sy_upconn *u)
{
    if (u->state == SY_US_CONNECTING || u->state == SY_US_QUEUED || u->handshaking)
        return;
    while (u->writable && sy_buf_pending(&u->out)) {
        ssize_t n = up_send(u, u->out.data + u->out.off, sy_buf_pending(&u->out));
        if (n > 0) {
            sy_buf_consume(&u->out, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            u->writable = false;
            break;
        }
        up_fail(u, u->reused && !u->got_bytes ? FAIL_REUSED_CLOSED : FAIL_IO,
                "write to backend failed");
        return;
    }
    /* Room again: let the client side read more body. */
    if (u->client && sy_buf_pending(&u->out) < SY_OUT_HIGH / 2)
        sy_client_pump_body(u->client);
}

static void release(sy_upconn *u, bool reusable)
{
    sy_worker *w = u->w;
    sy_client *c = u->client;
    const sy_upstream_cfg *up = c && c->req ? c->req->route.backend->upstream : NULL;
    u->client = NULL;
    if (c)
        c->up = NULL;
    unpin(u);
    /* !u->hup: a FIN that came with the last response bytes was already
     * signalled; no new edge would tell the pool the connection is dead. */
    if (reusable && !u->hup && !w->draining && u->rpos == u->rlen && !sy_buf_pending(&u->out)) {
        sy_upnode *n = sy_upnode_get(w, u->st, &u->addr, u->addrlen, u->ssl_ctx);
        u->state = SY_US_IDLE;
        u->reused = true;
        u->idle_since = sy_loop_now(w->loop);
        if (sy_pool_put(w, n, u, up ? up->max_idle_per_node : SY_UP_MAX_IDLE_DEFAULT)) {
            drop_buffers(u);
            uint32_t ms =
                up && up->keepalive_ms ? up->keepalive_ms : w->snap->cfg->gw.upstream_idle_ms;
            sy_timer_arm(w->loop, &u->timer, ms);
            return;
        }
    }
    up_free(u);
}

static void finish_exchange(sy_upconn *u)
{
    sy_client *c = u->client;
    sy_request *r = c->req;
    if (r->resp_chunked)
        sy_buf_append(&c->out, "0\r\n\r\n", 5);
    bool reusable = !u->conn_close && r->body_done && llhttp_should_keep_alive(&u->parser) &&
                    !sy_buf_pending(&u->out);
    u->rpos = (size_t)(llhttp_get_error_pos(&u->parser) - u->rbuf);
    if (u->rpos != u->rlen)
        reusable = false; /* bytes after the response: the backend is confused */
    release(u, reusable);
    sy_client_flush(c);
    if (!c->closed)
        sy_client_response_done(c, reusable);
}

static void start_tunnel(sy_upconn *u)
{
    sy_client *c = u->client;
    u->tunnel = true;
    size_t pos = (size_t)(llhttp_get_error_pos(&u->parser) - u->rbuf);
    if (pos < u->rlen)
        sy_buf_append(&c->out, u->rbuf + pos, u->rlen - pos);
    u->rlen = u->rpos = 0;
    sy_client_set_state(c, SY_CS_TUNNEL);
    c->req->resp_done = true;
    sy_access_log(c);
    sy_timer_arm(u->w->loop, &u->timer, 3600 * 1000);
    /* Bytes the client sent after its upgrade request. */
    if (c->rlen > c->rpos) {
        sy_buf_append(&u->out, c->rbuf + c->rpos, c->rlen - c->rpos);
        c->rlen = c->rpos = 0;
    }
    sy_upstream_flush(u);
    sy_client_flush(c);
}

static void up_process_input(sy_upconn *u)
{
    for (;;) {
        sy_client *c = u->client;
        if (!c)
            return;
        if (u->tunnel) {
            if (u->rlen) {
                sy_buf_append(&c->out, u->rbuf, u->rlen);
                u->rlen = 0;
                sy_client_flush(c);
                if (!u->client)
                    return;
            }
        } else if (u->rpos < u->rlen) {
            llhttp_errno_t err = llhttp_execute(&u->parser, u->rbuf + u->rpos, u->rlen - u->rpos);
            if (u->head_done && !u->judged)
                judge(u, SY_OUT_STATUS, u->status);
            if (err == HPE_OK) {
                u->rpos = u->rlen;
                if (u->head_done) {
                    /* body bytes consumed: the buffer can be reused */
                    u->rlen = u->rpos = 0;
                }
            } else if (err == HPE_PAUSED) {
                finish_exchange(u);
                return;
            } else if (err == HPE_PAUSED_UPGRADE) {
                start_tunnel(u);
                return;
            } else {
                char why[160];
                snprintf(why, sizeof(why), "invalid response from backend: %s",
                         llhttp_get_error_reason(&u->parser));
                up_fail(u, FAIL_BAD_RESPONSE, why);
                return;
            }
            if (c->closed || !u->client)
                return;
            sy_client_flush(c);
            if (c->closed || !u->client)
                return;
        }
        if (!u->readable)
            return;
        if (sy_buf_pending(&c->out) > SY_OUT_HIGH)
            return; /* back-pressure: resumed by sy_upstream_resume_read */
        if (u->rlen == u->rcap) {
            if (!u->head_done) {
                up_fail(u, FAIL_BAD_RESPONSE, "backend response head too large");
                return;
            }
            u->rlen = u->rpos = 0;
        }
        size_t space = u->rcap - u->rlen;
        ssize_t n = up_recv(u, u->rbuf + u->rlen, space);
        enum sy_read rd = sy_read_result(n, space, &u->readable, u->hup, !u->ssl);
        if (rd == SY_READ_DATA) {
            u->rlen += (size_t)n;
            u->got_bytes = true;
            if (!u->tunnel)
                sy_timer_arm(u->w->loop, &u->timer, c->req->route.backend->timeout_ms);
            if (!u->head_done)
                sy_timer_arm(u->w->loop, &u->timer, remaining(c->req, sy_loop_now(u->w->loop)));
            continue;
        }
        if (rd == SY_READ_RETRY)
            continue;
        if (rd == SY_READ_DRAINED)
            return;
        /* EOF or reset. */
        if (u->tunnel) {
            sy_client_flush(c);
            c->close_after = true;
            sy_client_set_state(c, SY_CS_CLOSING);
            u->client = NULL;
            c->up = NULL;
            up_free(u);
            sy_client_flush(c);
            return;
        }
        if (n == 0 && u->head_done && !u->msg_done) {
            /* Close-delimited body: EOF is the end of the message. */
            llhttp_errno_t err = llhttp_finish(&u->parser);
            if (err == HPE_OK || err == HPE_PAUSED) {
                if (u->msg_done) {
                    u->conn_close = true;
                    u->rpos = u->rlen = 0;
                    finish_exchange(u);
                    return;
                }
            }
            up_fail(u, FAIL_IO, "backend closed the connection mid-response");
            return;
        }
        up_fail(u, u->reused && !u->got_bytes ? FAIL_REUSED_CLOSED : FAIL_IO,
                n == 0 ? "backend closed the connection" : "backend connection reset");
        return;
    }
}

void sy_upstream_resume_read(sy_upconn *u)
{
    if (u->client && u->readable)
        up_process_input(u);
}

/* Drive the TLS handshake of a fresh HTTPS connection.  Returns true
 * when the connection is ready for the request. */
static bool up_handshake(sy_upconn *u)
{
    char err[256];
    int rc = sy_tls_handshake(u->ssl, u->st, err, sizeof err);
    if (rc == SY_TLS_WANT)
        return false;
    if (rc == SY_TLS_ERR) {
        sy_warn("upstream %s: %s", u->client && u->client->req->ep ? u->client->req->ep->host : "-",
                err);
        up_fail(u, FAIL_CONNECT, err);
        return false;
    }
    u->handshaking = false;
    u->state = SY_US_ACTIVE;
    u->writable = u->readable = true;
    if (u->client)
        sy_timer_arm(u->w->loop, &u->timer, remaining(u->client->req, sy_loop_now(u->w->loop)));
    return true;
}

static void up_io_cb(sy_loop *loop, sy_io *io, uint32_t ev)
{
    sy_upconn *u = io->data;
    if (u->io.fd < 0)
        return;
    if (u->state == SY_US_IDLE) {
        /* An idle pooled connection got data or EOF: the backend closed it
         * or is misbehaving.  Either way it is no longer reusable.  (A bare
         * EPOLLOUT edge is just send-buffer space coming back: ignore it.) */
        if (!(ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
            return;
        if (u->ssl && !(ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
            /* TLS 1.3 session tickets may arrive after the response: read
             * them; only application data or EOF makes the connection
             * unusable. */
            char junk[256];
            ssize_t n;
            while ((n = sy_tls_recv(u->ssl, junk, sizeof junk)) > 0) {
            }
            if (n < 0 && errno == EAGAIN)
                return;
        }
        up_free(u);
        return;
    }
    if (u->state == SY_US_CONNECTING) {
        if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(u->io.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            up_fail(u, FAIL_CONNECT, strerror(err));
            return;
        }
        if (u->ssl_ctx && u->client) {
            u->ssl = sy_tls_new(u->ssl_ctx, u->io.fd, u->client->req->upstream,
                                &u->client->req->tgt->ep, u->st);
            if (!u->ssl) {
                up_fail(u, FAIL_CONNECT, "TLS setup failed");
                return;
            }
            u->handshaking = true;
            u->state = SY_US_ACTIVE;
            if (!up_handshake(u))
                return;
        } else {
            u->state = SY_US_ACTIVE;
            if (u->client)
                sy_timer_arm(loop, &u->timer, remaining(u->client->req, sy_loop_now(loop)));
            else if (u->abandoned)
                sy_timer_arm(loop, &u->timer, SY_ABANDON_MS);
        }
    } else if (u->handshaking) {
        if (!up_handshake(u))
            return;
    }
    if (ev & EPOLLOUT)
        u->writable = true;
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        u->readable = true;
    if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        u->hup = true;
    if (u->abandoned) {
        abandoned_io(u);
        return;
    }
    if (u->writable && sy_buf_pending(&u->out)) {
        sy_upstream_flush(u);
        if (u->io.fd < 0 || !u->client)
            return;
    }
    if (u->readable)
        up_process_input(u);
}
