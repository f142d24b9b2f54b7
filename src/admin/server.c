/* The admin listener: one thread, one sy_loop, a small HTTP/1.1 server.
 *
 * Requests are parsed with llhttp and fully buffered (line 8 KiB, headers
 * 64 KiB, body 1 MiB: 414 / 431 / 413 beyond, then close); the parser is
 * paused at each message end, the request handled, the response queued,
 * and parsing resumed, so pipelined requests are answered in order.  Keep-
 * alive follows llhttp_should_keep_alive.  A connection whose unread
 * responses exceed OUT_HIGH is not read until the client catches up.
 * Closed connections are freed after the I/O batch (tick), since a later
 * event of the same batch may still point at them. */
#include "admin/admin.h"

#include <errno.h>
#include <llhttp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admin/admin_int.h"
#include "admin/audit.h"
#include "core/addr.h"
#include "gen/manager.h"
#include "http/head.h"
#include "http/reqrules.h"
#include "http/status.h"
#include "router/target.h"
#include "stats/stats.h"
#include "core/log.h"
#include "net/listen.h"
#include "net/loop.h"
#include "net/readedge.h"

#define MAX_CONNS 64
#define MAX_URL 8192
#define MAX_HEAD 65536
#define MAX_FIELDS 100
#define IN_CAP (MAX_URL + MAX_HEAD + 4096)
#define IDLE_MS 30000
#define OUT_HIGH (4 * 1024 * 1024)
#define LINGER_MS 2000

typedef struct aconn aconn;
struct aconn {
    sy_io io;
    sy_timer timer;
    llhttp_t parser;
    sy_buf url, body;
    sy_head head; /* the proxy's head collector, slice mode */
    sy_header fields[MAX_FIELDS];
    char *in;              /* receive buffer (IN_CAP): a head stays in */
    size_t in_len, in_pos; /* place while it is parsed, as in the proxy */
    bool in_head;
    const char *url_end; /* in `in`, after the target's last piece */
    bool version_seen;
    char *auth;
    char *if_match; /* If-Match (optimistic concurrency on writes) */
    bool if_match_dup;
    char peer[SY_IP_TEXT_MAX]; /* for the audit log */
    int err_status;            /* set by a callback that refused the request */
    const char *err_msg;
    bool done; /* a message is complete, parser paused */
    bool readable, eof, closing, lingering, dead;
    sy_buf out;
    aconn *next, *prev;
};

static struct {
    pthread_t thread;
    bool running;
    sy_loop *loop;
    sy_io listener;
    aconn *conns, *dead;
    size_t n_conns;
    pthread_mutex_t snap_mu;
    sy_snapshot *snap;
} A = {.snap_mu = PTHREAD_MUTEX_INITIALIZER};

sy_admin_info sy_admin_env;

static llhttp_settings_t settings;

/* ---- snapshot ---- */

static sy_snapshot *snap_pin(void)
{
    pthread_mutex_lock(&A.snap_mu);
    sy_snapshot *s = A.snap;
    sy_snapshot_ref(s);
    pthread_mutex_unlock(&A.snap_mu);
    return s;
}

/* The last reload (SIGHUP, admin change, etcd revision) once the listener
 * runs: when, whether it took effect, and why not.  Written by the main or
 * admin thread, read by the admin thread: a mutex (never on a worker). */
static struct {
    pthread_mutex_t mu;
    double at; /* Unix seconds, 0 = none yet */
    bool ok;
    char why[2048];
} last_reload = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void note_reload(bool ok, const char *why)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    pthread_mutex_lock(&last_reload.mu);
    last_reload.at = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    last_reload.ok = ok;
    snprintf(last_reload.why, sizeof last_reload.why, "%s", why ? why : "");
    pthread_mutex_unlock(&last_reload.mu);
}

bool sy_admin_last_reload(double *at, bool *ok, char *why, size_t cap)
{
    pthread_mutex_lock(&last_reload.mu);
    *at = last_reload.at;
    *ok = last_reload.ok;
    if (why && cap)
        snprintf(why, cap, "%s", last_reload.why);
    pthread_mutex_unlock(&last_reload.mu);
    return *at > 0;
}

void sy_admin_publish(sy_snapshot *s)
{
    sy_stats_on_reload(true);
    if (!A.running)
        return;
    note_reload(true, NULL);
    sy_snapshot_ref(s);
    pthread_mutex_lock(&A.snap_mu);
    sy_snapshot *old = A.snap;
    A.snap = s;
    pthread_mutex_unlock(&A.snap_mu);
    sy_snapshot_unref(old);
}

void sy_admin_reload_failed(const char *why)
{
    sy_stats_on_reload(false);
    note_reload(false, why && *why ? why : "refused");
}

/* ---- llhttp callbacks ---- */

#define CONN(p) ((aconn *)(p)->data)

static int refuse(aconn *c, int status, const char *msg)
{
    c->err_status = status;
    c->err_msg = msg;
    return -1;
}

static int on_message_begin(llhttp_t *p)
{
    aconn *c = CONN(p);
    sy_buf_reset(&c->url);
    sy_buf_reset(&c->body);
    /* Header fields go through the same collector as the proxy's (token
     * names, no obs-fold or control bytes, bounded count and size). */
    sy_head_begin(&c->head, c->fields, MAX_FIELDS, NULL, MAX_HEAD);
    c->in_head = true;
    c->url_end = NULL;
    c->version_seen = false;
    free(c->auth);
    c->auth = NULL;
    free(c->if_match);
    c->if_match = NULL;
    c->if_match_dup = false;
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
    aconn *c = CONN(p);
    /* The proxy's request-line rule (http/reqrules.h): the head is in
     * place in `in`, so the bytes around the target are still there. */
    if (!c->url_end && !sy_reqline_one_sp_before_target(at))
        return refuse(c, 400, "more than one space before the request-target");
    if (sy_buf_pending(&c->url) + len > MAX_URL)
        return refuse(c, 414, "request line too long");
    sy_buf_append(&c->url, at, len);
    c->url_end = at + len;
    return 0;
}

static int on_version(llhttp_t *p, const char *at, size_t len)
{
    aconn *c = CONN(p);
    if (c->url_end && !c->version_seen && !sy_reqline_one_sp_before_version(c->url_end))
        return refuse(c, 400, "more than one space before the HTTP version");
    c->version_seen = true;
    return 0;
}

static int head_err(aconn *c, int err)
{
    if (err == SY_HEAD_OK)
        return 0;
    return refuse(c, err == SY_HEAD_TOO_MANY || err == SY_HEAD_TOO_BIG ? 431 : 400,
                  sy_head_why(err, c->head.done));
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    return head_err(CONN(p), sy_head_name(&CONN(p)->head, at, len));
}

static int on_header_field_complete(llhttp_t *p)
{
    return head_err(CONN(p), sy_head_name_done(&CONN(p)->head));
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    return head_err(CONN(p), sy_head_value(&CONN(p)->head, at, len));
}

static char *dup_str(sy_str v)
{
    char *s = sy_malloc(v.len + 1);
    memcpy(s, v.p ? v.p : "", v.len);
    s[v.len] = '\0';
    return s;
}

static int on_header_value_complete(llhttp_t *p)
{
    aconn *c = CONN(p);
    const sy_header *h;
    int err = sy_head_value_done(&c->head, &h);
    if (err || !h)
        return head_err(c, err);
    /* Copies: the receive buffer is reused once the head is done. */
    if (sy_str_ieq_c(h->name, "Authorization")) {
        if (c->auth) /* which one a check would read is a guess: refuse */
            return refuse(c, 400, "more than one Authorization header");
        c->auth = dup_str(h->value);
    } else if (sy_str_ieq_c(h->name, "If-Match")) {
        c->if_match_dup |= c->if_match != NULL;
        free(c->if_match);
        c->if_match = dup_str(h->value);
    }
    return 0;
}

static int on_headers_complete(llhttp_t *p)
{
    aconn *c = CONN(p);
    sy_head_end(&c->head);
    c->in_head = false;
    /* The same head rules as the proxy's (http/reqrules.h), then what an
     * origin server adds: a valid Host and an origin-form target without
     * dot segments (the admin API is not a proxy). */
    sy_str target = c->url.data ? sy_str_make(c->url.data + c->url.off, sy_buf_pending(&c->url))
                                : sy_str_make("", 0);
    sy_reqhead_facts facts;
    const char *why;
    int st = sy_reqhead_check(p, &c->head, target, &facts, &why);
    if (st)
        return refuse(c, st, why);
    char host[256];
    if (facts.host.p && sy_host_normalize(facts.host, host, sizeof host) < 0)
        return refuse(c, 400, "invalid Host header");
    if (!target.len || target.p[0] != '/')
        return refuse(c, 400, "the admin API takes origin-form request-targets only");
    const char *q = memchr(target.p, '?', target.len);
    if (sy_path_has_dot_segment(sy_str_make(target.p, q ? (size_t)(q - target.p) : target.len)))
        return refuse(c, 400, "dot segment in the request path");
    if (p->flags & F_CONTENT_LENGTH && p->content_length > SY_ADMIN_MAX_BODY)
        return refuse(c, 413, "request body larger than 1 MiB");
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    aconn *c = CONN(p);
    if (sy_buf_pending(&c->body) + len > SY_ADMIN_MAX_BODY)
        return refuse(c, 413, "request body larger than 1 MiB");
    sy_buf_append(&c->body, at, len);
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    CONN(p)->done = true;
    return HPE_PAUSED;
}

/* ---- connections ---- */

/* The "error" word of a request refused while it was parsed. */
static const char *error_word(int status)
{
    switch (status) {
    case 405:
        return "method_not_allowed";
    case 413:
        return "payload_too_large";
    case 414:
        return "uri_too_long";
    case 431:
        return "headers_too_large";
    case 501:
        return "not_implemented";
    default:
        return "bad_request";
    }
}

static void conn_close(aconn *c)
{
    if (c->dead)
        return;
    c->dead = true;
    sy_timer_stop(A.loop, &c->timer);
    sy_loop_del(A.loop, &c->io);
    close(c->io.fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        A.conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    A.n_conns--;
    c->next = A.dead;
    A.dead = c;
}

static void conn_free(aconn *c)
{
    sy_buf_free(&c->url);
    free(c->in);
    sy_buf_free(&c->body);
    sy_buf_free(&c->out);
    free(c->auth);
    free(c->if_match);
    free(c);
}

static void conn_flush(aconn *c)
{
    while (sy_buf_pending(&c->out)) {
        ssize_t n = write(c->io.fd, c->out.data + c->out.off, sy_buf_pending(&c->out));
        if (n > 0) {
            sy_buf_consume(&c->out, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        conn_close(c);
        return;
    }
    if (c->closing && c->eof) {
        conn_close(c);
    } else if (c->closing && !c->lingering) {
        /* Lingering close: stop sending, but read and drop what the client
         * still sends (a refused body) for a while, so our response is not
         * lost to a reset caused by unread data. */
        shutdown(c->io.fd, SHUT_WR);
        c->lingering = true;
        sy_timer_arm(A.loop, &c->timer, LINGER_MS);
    }
}

static void queue_response(aconn *c, sy_admin_resp *rs, bool head_only)
{
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-store\r\n%s%s\r\n",
                     rs->status, sy_status_reason(rs->status),
                     rs->ctype ? rs->ctype : "application/json", sy_buf_pending(&rs->body),
                     rs->extra_headers ? rs->extra_headers : "",
                     c->closing ? "Connection: close\r\n" : "");
    sy_buf_append(&c->out, head, (size_t)n);
    if (!head_only && sy_buf_pending(&rs->body))
        sy_buf_append(&c->out, rs->body.data + rs->body.off, sy_buf_pending(&rs->body));
    sy_buf_free(&rs->body);
}

static uint64_t config_version(void)
{
    sy_cfgmgr_lock();
    uint64_t v = sy_cfgmgr_current()->cfg->version;
    sy_cfgmgr_unlock();
    return v;
}

static void handle_request(aconn *c)
{
    sy_admin_req rq = {0};
    rq.method = llhttp_method_name((llhttp_method_t)c->parser.method);
    sy_str url = sy_str_make(c->url.data ? c->url.data : "", sy_buf_pending(&c->url));
    const char *q = memchr(url.p, '?', url.len);
    rq.path = q ? sy_str_make(url.p, (size_t)(q - url.p)) : url;
    rq.query = q ? sy_str_make(q + 1, url.len - (size_t)(q - url.p) - 1) : SY_STR_NULL;
    rq.authorization = c->auth;
    rq.if_match = c->if_match_dup ? "" : c->if_match;
    rq.body = c->body.data ? c->body.data : "";
    rq.body_len = sy_buf_pending(&c->body);
    rq.snap = snap_pin();
    sy_admin_resp rs = {0};
    if (!llhttp_should_keep_alive(&c->parser))
        c->closing = true;
    /* Writes go to the audit log with the Version they found and left
     * (explain is a POST that changes nothing). */
    bool write = c->parser.method == HTTP_POST || c->parser.method == HTTP_PUT ||
                 c->parser.method == HTTP_PATCH || c->parser.method == HTTP_DELETE;
    if (write && rq.path.len >= 11 && memcmp(rq.path.p, "/v1/explain", 11) == 0)
        write = false;
    uint64_t before = write ? config_version() : 0;
    sy_admin_handle(&rq, &rs);
    if (write)
        sy_audit_write(&rq, c->peer, rs.status, before, config_version());
    sy_snapshot_unref(rq.snap);
    queue_response(c, &rs, c->parser.method == HTTP_HEAD);
}

/* Parse what the buffer holds beyond in_pos.  After each message (the
 * parser pauses there) the bytes still unparsed move to the front, so the
 * next head starts at offset 0 and has the whole buffer. */
static void feed(aconn *c)
{
    while (c->in_pos < c->in_len && !c->closing && !c->dead) {
        const char *p = c->in + c->in_pos;
        llhttp_errno_t err = llhttp_execute(&c->parser, p, c->in_len - c->in_pos);
        if (err == HPE_OK) {
            c->in_pos = c->in_len;
            return;
        }
        if (err == HPE_PAUSED && c->done) {
            size_t used = (size_t)(llhttp_get_error_pos(&c->parser) - p);
            c->done = false;
            handle_request(c);
            llhttp_resume(&c->parser);
            c->in_pos += used;
            memmove(c->in, c->in + c->in_pos, c->in_len - c->in_pos);
            c->in_len -= c->in_pos;
            c->in_pos = 0;
            continue;
        }
        sy_admin_resp rs = {0};
        if (c->err_status)
            sy_admin_error(&rs, c->err_status, error_word(c->err_status), c->err_msg);
        else
            sy_admin_error(&rs, 400, "bad_request", llhttp_get_error_reason(&c->parser));
        c->closing = true;
        queue_response(c, &rs, false);
        return;
    }
}

static void conn_read(aconn *c)
{
    char buf[16384];
    while (c->lingering && c->readable && !c->dead) {
        ssize_t n = read(c->io.fd, buf, sizeof(buf));
        if (n > 0 || (n < 0 && errno == EINTR))
            continue;
        if (n < 0 && errno == EAGAIN)
            c->readable = false;
        else
            conn_close(c);
        return;
    }
    while (c->readable && !c->dead && !c->closing && sy_buf_pending(&c->out) < OUT_HIGH) {
        if (!c->in)
            c->in = sy_malloc(IN_CAP);
        if (c->in_len == IN_CAP) {
            if (c->in_head) { /* a head larger than the buffer: never parsed */
                sy_admin_resp rs = {0};
                sy_admin_error(&rs, 431, "headers_too_large", "request head too large");
                c->closing = true;
                queue_response(c, &rs, false);
                break;
            }
            c->in_len = c->in_pos = 0; /* body bytes were copied out */
        }
        size_t space = IN_CAP - c->in_len;
        ssize_t n = read(c->io.fd, c->in + c->in_len, space);
        /* Read on to EAGAIN: the admin side does not track the FIN edge. */
        enum sy_read rd = sy_read_result(n, space, &c->readable, c->eof, false);
        if (rd == SY_READ_DATA) {
            sy_timer_arm(A.loop, &c->timer, IDLE_MS);
            c->in_len += (size_t)n;
            feed(c);
            continue;
        }
        if (rd == SY_READ_RETRY)
            continue;
        if (rd == SY_READ_DRAINED)
            break;
        /* EOF or error: finish what is queued, then close. */
        c->eof = true;
        c->closing = true;
        break;
    }
    if (!c->dead)
        conn_flush(c);
}

static void conn_cb(sy_loop *loop, sy_io *io, uint32_t ev)
{
    aconn *c = io->data;
    if (c->dead)
        return;
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        c->readable = true;
    if ((ev & EPOLLOUT) && !c->lingering)
        conn_flush(c);
    if (!c->dead)
        conn_read(c);
}

static void idle_cb(sy_loop *loop, sy_timer *t)
{
    conn_close(t->data);
}

static void accept_cb(sy_loop *loop, sy_io *io, uint32_t ev)
{
    for (;;) {
        struct sockaddr_storage sa;
        socklen_t salen = sizeof sa;
        int fd = accept4(io->fd, (struct sockaddr *)&sa, &salen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN)
                sy_warn("admin accept: %s", strerror(errno));
            return;
        }
        if (A.n_conns >= MAX_CONNS) {
            close(fd);
            continue;
        }
        aconn *c = sy_calloc(1, sizeof(*c));
        sy_addr_text((const struct sockaddr *)&sa, c->peer, sizeof c->peer);
        c->io.fd = fd;
        c->io.cb = conn_cb;
        c->io.data = c;
        llhttp_init(&c->parser, HTTP_REQUEST, &settings);
        c->parser.data = c;
        sy_timer_init(&c->timer, idle_cb, c);
        c->next = A.conns;
        if (A.conns)
            A.conns->prev = c;
        A.conns = c;
        A.n_conns++;
        if (sy_loop_add(A.loop, &c->io, EPOLLIN | EPOLLOUT | EPOLLRDHUP) < 0) {
            conn_close(c);
            continue;
        }
        sy_timer_arm(A.loop, &c->timer, IDLE_MS);
    }
}

static void tick(sy_loop *loop, void *arg)
{
    while (A.dead) {
        aconn *c = A.dead;
        A.dead = c->next;
        conn_free(c);
    }
}

static void *admin_main(void *arg)
{
    sy_loop_run(A.loop, tick, NULL);
    return NULL;
}

int sy_admin_start(sy_snapshot *s, int n_workers)
{
    const sy_gateway_cfg *gw = &s->cfg->gw;
    sy_admin_env.started_ms = sy_clock_ms();
    sy_admin_env.n_workers = n_workers;
    const char *env = getenv("SWITCHYARD_ADMIN_TOKEN");
    sy_admin_env.env_token = env && *env ? env : NULL;
    if (!gw->admin_enabled)
        return 0;
    llhttp_settings_init(&settings);
    settings.on_message_begin = on_message_begin;
    settings.on_url = on_url;
    settings.on_version = on_version;
    settings.on_header_field = on_header_field;
    settings.on_header_field_complete = on_header_field_complete;
    settings.on_header_value = on_header_value;
    settings.on_header_value_complete = on_header_value_complete;
    settings.on_headers_complete = on_headers_complete;
    settings.on_body = on_body;
    settings.on_message_complete = on_message_complete;
    int fd = sy_listen_socket(&gw->admin_listen, 128);
    if (fd < 0) {
        sy_error("admin listen %s:%u: %s", gw->admin_listen.host, gw->admin_listen.port,
                 strerror(errno));
        return -1;
    }
    A.loop = sy_loop_new();
    A.listener.fd = fd;
    A.listener.cb = accept_cb;
    sy_loop_add(A.loop, &A.listener, EPOLLIN);
    sy_snapshot_ref(s);
    A.snap = s;
    if (pthread_create(&A.thread, NULL, admin_main, NULL) != 0) {
        sy_error("admin: pthread_create failed");
        return -1;
    }
    A.running = true;
    sy_info("admin API on %s:%u%s", gw->admin_listen.host, gw->admin_listen.port,
            gw->admin_token || sy_admin_env.env_token ? " (token required)" : "");
    return 0;
}

void sy_admin_stop(void)
{
    if (!A.running)
        return;
    sy_loop_stop(A.loop);
    pthread_join(A.thread, NULL);
    A.running = false;
    while (A.conns)
        conn_close(A.conns);
    tick(A.loop, NULL);
    sy_loop_del(A.loop, &A.listener);
    close(A.listener.fd);
    sy_loop_free(A.loop);
    A.loop = NULL;
    sy_snapshot_unref(A.snap);
    A.snap = NULL;
}
