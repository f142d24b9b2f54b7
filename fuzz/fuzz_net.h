/* Shared by the network fuzz targets (fuzz_request.c, fuzz_response.c).
 *
 * What they drive is the real proxy path, unmodified: one sy_worker built
 * by hand (no thread, no listener), a fake client on a socketpair handed to
 * sy_client_accept, and a fake backend on an ephemeral loopback listener
 * that the configuration's Urls and upstream nodes point at.  Nothing in
 * src/ knows it is being fuzzed.
 *
 * One input = one fresh sy_loop, run by sy_loop_run with our own tick
 * (which does what worker.c's tick does for us: free the dead lists).  The
 * loop's stop flag cannot be reset, hence a new loop per input.  A timer
 * re-armed from the tick keeps epoll_wait at timeout 0, so the loop spins
 * and the tick steps a small script:
 *
 *   SEND     write the client's bytes, one piece per iteration
 *   SETTLE   wait until nothing moves for FZ_QUIET iterations
 *   BE_EOF   half-close every backend connection, settle
 *   CL_EOF   half-close the client, settle
 *   CLOSE    close the client and backends, settle until no client is left
 *
 * then force-closes whatever is left, frees the dead lists and checks that
 * no file descriptor leaked.  Everything is bounded (FZ_MAX_ITERS
 * iterations, all on loopback with timeout 0), so one input takes well
 * under a millisecond.
 *
 * Header-only so fuzz/build.sh can keep building one .c per target. */
#ifndef SY_FUZZ_NET_H
#define SY_FUZZ_NET_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <llhttp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/load.h"
#include "gen/snapshot.h"
#include "core/log.h"
#include "http/conn.h"
#include "http/pool.h"
#include "net/loop.h"
#include "http/worker.h"

#define FZ_MAX_BACKENDS 8
#define FZ_MAX_PIECES 32
#define FZ_QUIET 3
#define FZ_MAX_ITERS 600
#define FZ_RESP_KEEP (64 * 1024)

#define FZ_FAIL(...)                                                                               \
    do {                                                                                           \
        fprintf(stderr, "fuzz invariant violated (%s:%d): ", __FILE__, __LINE__);                  \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
        abort();                                                                                   \
    } while (0)

/* ---- byte pieces written one per loop iteration ---- */

typedef struct fz_pieces {
    const uint8_t *p[FZ_MAX_PIECES];
    size_t len[FZ_MAX_PIECES];
    int n, next;
    size_t off; /* into pieces[next], after a short write */
} fz_pieces;

/* Split data into up to three pieces at points chosen by `sel`: low nibble
 * places the first cut, high nibble the second (0 = no cut). */
static inline void fz_pieces_split(fz_pieces *ps, const uint8_t *data, size_t len, uint8_t sel)
{
    memset(ps, 0, sizeof(*ps));
    size_t c1 = len * (sel & 15) / 16;
    size_t c2 = c1 + (len - c1) * (sel >> 4) / 16;
    size_t cuts[4] = {0, c1, c2, len};
    for (int i = 0; i < 3; i++)
        if (cuts[i + 1] > cuts[i]) {
            ps->p[ps->n] = data + cuts[i];
            ps->len[ps->n] = cuts[i + 1] - cuts[i];
            ps->n++;
        }
}

/* Split data at explicit offsets (ascending, clipped to len; at most
 * FZ_MAX_PIECES - 1 cuts): the reads the gateway sees end exactly there. */
static inline void fz_pieces_cut(fz_pieces *ps, const uint8_t *data, size_t len, const size_t *cuts,
                                 int ncuts)
{
    memset(ps, 0, sizeof(*ps));
    size_t at = 0;
    for (int i = 0; i <= ncuts && i < FZ_MAX_PIECES; i++) {
        size_t end = i < ncuts && cuts[i] < len ? cuts[i] : len;
        if (i == FZ_MAX_PIECES - 1)
            end = len;
        if (end > at) {
            ps->p[ps->n] = data + at;
            ps->len[ps->n] = end - at;
            ps->n++;
            at = end;
        }
    }
}

/* Write (part of) the next piece; returns bytes written. */
static inline size_t fz_pieces_pump(fz_pieces *ps, int fd)
{
    if (fd < 0 || ps->next >= ps->n)
        return 0;
    ssize_t k = send(fd, ps->p[ps->next] + ps->off, ps->len[ps->next] - ps->off, MSG_NOSIGNAL);
    if (k <= 0) {
        if (k < 0 && errno != EAGAIN && errno != EINTR)
            ps->next = ps->n; /* peer gone: drop the rest */
        return 0;
    }
    ps->off += (size_t)k;
    if (ps->off == ps->len[ps->next]) {
        ps->next++;
        ps->off = 0;
    }
    return (size_t)k;
}

static inline bool fz_pieces_done(const fz_pieces *ps)
{
    return ps->next >= ps->n;
}

/* ---- the fake backend ---- */

/* FUZZ_TRACE=1: print what the backend and the client receive. */
static int fz_trace; /* 2: also the client's state every iteration */

typedef struct fz_conn fz_conn;
typedef struct fz_backend fz_backend;

struct fz_conn {
    int fd;
    bool rd_eof, wr_shut, tunnel;
    llhttp_t parser;
    fz_backend *be;
    /* the header being parsed (copied: spans may straddle reads) */
    char name[48], value[48];
    size_t name_len, value_len;
    unsigned n_host, n_xff, n_realip, n_reqid;
    unsigned n_msgs;
    fz_pieces out; /* response bytes queued for this connection */
    char *canned;  /* owned copy behind `out` when canned */
};

struct fz_backend {
    int lfd;
    uint16_t port;
    fz_conn conns[FZ_MAX_BACKENDS];
    int n_conns;
    /* Called when a complete request (head + body) arrived on c; queues
     * the response into c->out.  `upgrade` = the request asked for one. */
    void (*respond)(fz_conn *c, bool upgrade, void *arg);
    void *arg;
    bool early;              /* respond() at accept instead (response target) */
    bool close_after_answer; /* half-close as soon as an answer is written */
};

static inline bool fz_ieq(const char *a, size_t alen, const char *b)
{
    return alen == strlen(b) && strncasecmp(a, b, alen) == 0;
}

static int fz_be_on_message_begin(llhttp_t *p)
{
    fz_conn *c = p->data;
    c->n_host = c->n_xff = c->n_realip = c->n_reqid = 0;
    c->name_len = c->value_len = 0;
    return 0;
}

static int fz_be_on_field(llhttp_t *p, const char *at, size_t len)
{
    fz_conn *c = p->data;
    size_t room = sizeof(c->name) - 1 - c->name_len;
    size_t k = len < room ? len : room;
    memcpy(c->name + c->name_len, at, k);
    c->name_len += k;
    return 0;
}

static int fz_be_on_value(llhttp_t *p, const char *at, size_t len)
{
    fz_conn *c = p->data;
    size_t room = sizeof(c->value) - 1 - c->value_len;
    size_t k = len < room ? len : room;
    memcpy(c->value + c->value_len, at, k);
    c->value_len += k;
    return 0;
}

/* What the gateway sends upstream is rebuilt from parsed slices
 * (serialize.c): it must never carry a hop-by-hop field of the client's,
 * a field the gateway owns twice, or a name with '_'. */
static int fz_be_on_value_complete(llhttp_t *p)
{
    fz_conn *c = p->data;
    const char *n = c->name;
    size_t nl = c->name_len;
    if (fz_ieq(n, nl, "Host"))
        c->n_host++;
    else if (fz_ieq(n, nl, "X-Forwarded-For"))
        c->n_xff++;
    else if (fz_ieq(n, nl, "X-Real-IP"))
        c->n_realip++;
    else if (fz_ieq(n, nl, "X-Api-RequestId"))
        c->n_reqid++;
    else if (fz_ieq(n, nl, "Connection")) {
        if (!fz_ieq(c->value, c->value_len, "upgrade"))
            FZ_FAIL("upstream request carries Connection: %.*s", (int)c->value_len, c->value);
    } else if (fz_ieq(n, nl, "Keep-Alive") || fz_ieq(n, nl, "Proxy-Connection") ||
               fz_ieq(n, nl, "TE") || fz_ieq(n, nl, "Trailer") || fz_ieq(n, nl, "Expect") ||
               fz_ieq(n, nl, "Proxy-Authorization") || fz_ieq(n, nl, "Proxy-Authenticate") ||
               fz_ieq(n, nl, "HTTP2-Settings")) {
        FZ_FAIL("upstream request carries hop-by-hop field %.*s", (int)nl, n);
    } else if (fz_ieq(n, nl, "Upgrade")) {
        /* h2c is never offered upstream (request.c): no list item is it */
        for (size_t i = 0, j; i < c->value_len; i = j + 1) {
            j = i;
            while (j < c->value_len && c->value[j] != ',')
                j++;
            size_t a = i, b = j;
            while (a < b && (c->value[a] == ' ' || c->value[a] == '\t'))
                a++;
            while (b > a && (c->value[b - 1] == ' ' || c->value[b - 1] == '\t'))
                b--;
            if (fz_ieq(c->value + a, b - a, "h2c"))
                FZ_FAIL("upstream request offers h2c: %.*s", (int)c->value_len, c->value);
        }
    }
    if (memchr(n, '_', nl))
        FZ_FAIL("upstream request carries a field name with '_': %.*s", (int)nl, n);
    c->name_len = c->value_len = 0;
    return 0;
}

static int fz_be_on_headers_complete(llhttp_t *p)
{
    fz_conn *c = p->data;
    if (c->n_host != 1 || c->n_xff != 1 || c->n_realip != 1 || c->n_reqid != 1)
        FZ_FAIL("upstream head: Host x%u, X-Forwarded-For x%u, X-Real-IP x%u, X-Api-RequestId x%u",
                c->n_host, c->n_xff, c->n_realip, c->n_reqid);
    if (p->http_major != 1 || p->http_minor != 1)
        FZ_FAIL("upstream head is not HTTP/1.1");
    return 0;
}

static int fz_be_on_message_complete(llhttp_t *p)
{
    fz_conn *c = p->data;
    c->n_msgs++;
    if (!c->be->early && c->be->respond && !llhttp_get_upgrade(p))
        c->be->respond(c, false, c->be->arg);
    return 0;
}

static llhttp_settings_t fz_be_settings;

static inline void fz_backend_init(fz_backend *be)
{
    memset(be, 0, sizeof(*be));
    llhttp_settings_init(&fz_be_settings);
    fz_be_settings.on_message_begin = fz_be_on_message_begin;
    fz_be_settings.on_header_field = fz_be_on_field;
    fz_be_settings.on_header_value = fz_be_on_value;
    fz_be_settings.on_header_value_complete = fz_be_on_value_complete;
    fz_be_settings.on_headers_complete = fz_be_on_headers_complete;
    fz_be_settings.on_message_complete = fz_be_on_message_complete;
    be->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    if (be->lfd < 0 || bind(be->lfd, (struct sockaddr *)&sa, sl) < 0 || listen(be->lfd, 64) < 0 ||
        getsockname(be->lfd, (struct sockaddr *)&sa, &sl) < 0) {
        perror("fuzz backend listener");
        abort();
    }
    be->port = ntohs(sa.sin_port);
}

/* Queue bytes owned by the harness (canned responses): copied. */
static inline void fz_conn_queue_copy(fz_conn *c, const char *s, size_t len, uint8_t split)
{
    free(c->canned);
    c->canned = malloc(len ? len : 1);
    memcpy(c->canned, s, len);
    fz_pieces_split(&c->out, (const uint8_t *)c->canned, len, split);
}

/* The same, cut at explicit offsets (fz_pieces_cut). */
static inline void fz_conn_queue_cut(fz_conn *c, const char *s, size_t len, const size_t *cuts,
                                     int ncuts)
{
    fz_conn_queue_copy(c, s, len, 0);
    fz_pieces_cut(&c->out, (const uint8_t *)c->canned, len, cuts, ncuts);
}

static inline void fz_conn_close(fz_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->canned);
    c->canned = NULL;
}

/* One iteration of backend work; returns true when anything moved. */
static inline bool fz_backend_step(fz_backend *be)
{
    bool moved = false;
    while (be->n_conns < FZ_MAX_BACKENDS) {
        int fd = accept4(be->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            break;
        /* Like the gateway's own sockets: without it, Nagle holds a
         * second small piece until the gateway's delayed ACK (~40 ms), far
         * longer than the settle window. */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        fz_conn *c = &be->conns[be->n_conns++];
        memset(c, 0, sizeof(*c));
        c->fd = fd;
        c->be = be;
        llhttp_init(&c->parser, HTTP_REQUEST, &fz_be_settings);
        c->parser.data = c;
        if (be->early && be->respond)
            be->respond(c, false, be->arg);
        moved = true;
    }
    for (int i = 0; i < be->n_conns; i++) {
        fz_conn *c = &be->conns[i];
        if (c->fd < 0)
            continue;
        if (fz_pieces_pump(&c->out, c->fd)) {
            moved = true;
            if (fz_trace > 1)
                fprintf(stderr, "--- backend conn %d: piece sent, %d/%d\n", i, c->out.next,
                        c->out.n);
            if (be->close_after_answer && fz_pieces_done(&c->out) && !c->wr_shut) {
                /* FIN right behind the last byte: one event for both */
                shutdown(c->fd, SHUT_WR);
                c->wr_shut = true;
            }
        }
        if (c->rd_eof)
            continue;
        char buf[16384];
        ssize_t k = recv(c->fd, buf, sizeof(buf), 0);
        if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
            c->rd_eof = true;
            moved = true;
            continue;
        }
        if (k < 0)
            continue;
        moved = true;
        if (fz_trace)
            fprintf(stderr, "--- backend conn %d received %zd bytes:\n%.*s\n", i, k, (int)k, buf);
        if (c->tunnel) {
            /* After 101: echo, best effort. */
            ssize_t w = send(c->fd, buf, (size_t)k, MSG_NOSIGNAL);
            (void)w;
            continue;
        }
        llhttp_errno_t err = llhttp_execute(&c->parser, buf, (size_t)k);
        if (err == HPE_PAUSED_UPGRADE) {
            c->tunnel = true;
            if (be->respond && !be->early)
                be->respond(c, true, be->arg);
        } else if (err != HPE_OK) {
            FZ_FAIL("the gateway sent the backend an invalid request: %s (%s)",
                    llhttp_errno_name(err), llhttp_get_error_reason(&c->parser));
        }
    }
    return moved;
}

static inline void fz_backend_shutdown_wr(fz_backend *be)
{
    for (int i = 0; i < be->n_conns; i++)
        if (be->conns[i].fd >= 0 && !be->conns[i].wr_shut) {
            /* flush what is queued first (best effort) */
            while (!fz_pieces_done(&be->conns[i].out) &&
                   fz_pieces_pump(&be->conns[i].out, be->conns[i].fd))
                ;
            shutdown(be->conns[i].fd, SHUT_WR);
            be->conns[i].wr_shut = true;
        }
}

static inline void fz_backend_close_all(fz_backend *be)
{
    for (int i = 0; i < be->n_conns; i++)
        fz_conn_close(&be->conns[i]);
    be->n_conns = 0;
    /* connections the gateway opened but we never accepted */
    for (;;) {
        int fd = accept4(be->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            break;
        close(fd);
    }
}

/* The configuration both network targets run against.  %1$u is the fake
 * backend's port; port 1 is closed (connect refused -> 502, or a retry
 * to the other upstream node).  Small limits so inputs reach them. */
static const char fz_config_fmt[] =
    "Gateway:\n"
    "  AdminListen: \"off\"\n"
    "  TrustedProxies: [10.0.0.0/8]\n"
    "  MaxHeaders: 24\n"
    "  MaxRequestLineBytes: 1024\n"
    "  MaxHeaderBytes: 4096\n"
    "  MaxBodyBytes: 4096\n"
    "  MaxKeepaliveRequests: 6\n"
    "Upstreams:\n"
    "  - UpstreamId: up-a\n"
    "    Algorithm: ROUND-ROBIN\n"
    "    Retries: 1\n"
    "    Nodes:\n"
    "      - {Host: 127.0.0.1, Port: %1$u, Weight: 100}\n"
    "      - {Host: 127.0.0.1, Port: 1, Weight: 100}\n"
    "  - UpstreamId: up-b\n"
    "    UpstreamHost: backend.internal\n"
    "    Nodes: [{Host: 127.0.0.1, Port: %1$u, Weight: 1}]\n"
    "Services:\n"
    "  - ServiceId: svc\n"
    "    Environments: [release, test]\n"
    "    Domains:\n"
    "      - DomainName: \"*\"\n"
    "        PathMappings: [{Path: /, Environment: release}, {Path: /beta, Environment: test}]\n"
    "    Apis:\n"
    "      - {ApiId: exact, Path: =/x/exact, ServiceConfig: {Url: \"http://127.0.0.1:%1$u\", Path: "
    "/A-exact}}\n"
    "      - {ApiId: prefix, Path: ^~/x/, ServiceConfig: {Url: \"http://127.0.0.1:%1$u\", Path: "
    "/A-prefix}}\n"
    "      - {ApiId: var, Path: \"/users/{id}\", Method: GET, ServiceConfig: {Url: "
    "\"http://127.0.0.1:%1$u\", Path: \"/v1/users/{id}/detail\"}}\n"
    "      - {ApiId: var2, Path: \"/items/{a}/sub/{b}\", ServiceConfig: {Product: upstream, "
    "UpstreamId: up-a, Path: \"/i/{b}/{a}\"}}\n"
    "      - {ApiId: plain, Path: /plain, ServiceConfig: {Url: \"http://127.0.0.1:%1$u\", Path: "
    "/}}\n"
    "      - {ApiId: dead, Path: /dead, ServiceConfig: {Url: \"http://127.0.0.1:1\", Path: /}}\n"
    "      - {ApiId: post, Path: =/m, Method: POST, ServiceConfig: {Url: "
    "\"http://127.0.0.1:%1$u\", Path: /m, Method: PUT}}\n"
    "      - {ApiId: uph, Path: /h, ServiceConfig: {Product: upstream, UpstreamId: up-b, Path: "
    "/hh}}\n"
    "      - {ApiId: mock, Path: =/ping, Method: GET, ServiceType: MOCK, ServiceMockReturnMessage: "
    "'{\"pong\":true}'}\n"
    "      - {ApiId: teapot, Path: /teapot, ServiceType: MOCK, ServiceMockReturnMessage: short, "
    "ServiceMockStatusCode: 418}\n"
    "      - {ApiId: root, Path: /, ServiceConfig: {Product: upstream, UpstreamId: up-a, Path: "
    "/root}}\n"
    "  - ServiceId: svc-host\n"
    "    Environments: [release]\n"
    "    Domains: [{DomainName: \"api.example.com\", PathMappings: [{Path: /, Environment: "
    "release}]}]\n"
    "    Apis:\n"
    "      - {ApiId: host-any, Path: /, ServiceConfig: {Url: \"http://127.0.0.1:%1$u\", Path: "
    "/by-host}}\n"
    "Plugins:\n"
    "  - PluginId: p1\n"
    "    PluginType: Routing\n"
    "    PluginData:\n"
    "      - strategy_name: admin\n"
    "        strategy_weight: 80\n"
    "        condition: \"header.X-User = 'admin'\"\n"
    "        backend_type: MOCK\n"
    "        backend_config: {ServiceMockReturnMessage: admin-mock, ServiceMockStatusCode: 203}\n"
    "      - strategy_name: dead\n"
    "        strategy_weight: 50\n"
    "        condition: \"query.dead = 1 or cookie.dead = 'yes'\"\n"
    "        backend_type: HTTP\n"
    "        backend_config: {ServiceConfig: {Url: \"http://127.0.0.1:1\", Path: /}}\n"
    "      - strategy_name: beta\n"
    "        condition: \"header.X-Beta = 'yes' and sysparam.method = 'GET' and regex(path, "
    "'^/users/[0-9]+$')\"\n"
    "        backend_type: UPSTREAM\n"
    "        backend_config: {ServiceConfig: {Product: upstream, UpstreamId: up-b, Path: /beta}}\n"
    "      - strategy_name: net\n"
    "        condition: \"sysparam.clientIp in_cidr ('192.0.2.0/24')\"\n"
    "        backend_type: HTTP\n"
    "        backend_config: {ServiceConfig: {Url: \"http://127.0.0.1:%1$u\", Path: /from-net}}\n"
    "    Attachments:\n"
    "      - {ServiceId: svc, EnvironmentName: release, ApiIds: [plain, var, root]}\n";

static inline char *fz_config_text(unsigned port)
{
    static char text[8192];
    int n = snprintf(text, sizeof(text), fz_config_fmt, port);
    if (n < 0 || (size_t)n >= sizeof(text))
        abort();
    return text;
}

/* ---- the worker and one run ---- */

static sy_worker fz_w;

/* Load `yaml`, build and publish a snapshot, and give the worker its
 * reference.  Exits on a config error: that is a harness bug. */
static inline void fz_worker_init(const char *yaml)
{
    signal(SIGPIPE, SIG_IGN);
    fz_trace = getenv("FUZZ_TRACE") ? atoi(getenv("FUZZ_TRACE")) : 0;
    sy_log_min_level = getenv("FUZZ_LOG") ? SY_LOG_DEBUG : SY_LOG_ERROR + 1;
    sy_errors errs = {0};
    sy_config *cfg = sy_config_load_string(yaml, strlen(yaml), "fuzz.yaml", &errs);
    sy_snapshot *s = cfg ? sy_snapshot_build(cfg, 1, &errs) : NULL;
    if (!s) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "fuzz config: %s\n", errs.msgs[i]);
        fprintf(stderr, "fuzz config does not load:\n%s\n", yaml);
        exit(2);
    }
    sy_errors_free(&errs);
    atomic_store(&sy_snapshot_current, s);
    memset(&fz_w, 0, sizeof(fz_w));
    fz_w.id = 0;
    fz_w.accepting = false;
    fz_w.upnodes = sy_calloc(SY_UPNODE_BUCKETS, sizeof *fz_w.upnodes); /* as worker.c does */
    sy_worker_take_snapshot(&fz_w);
}

typedef enum { FZ_SEND, FZ_SETTLE, FZ_BE_EOF, FZ_CL_EOF, FZ_CLOSE, FZ_DONE } fz_phase;

typedef struct fz_run {
    sy_loop *loop;
    sy_timer spin;
    fz_phase phase;
    int quiet;
    unsigned iters;
    int cfd;      /* harness end of the client socketpair */
    fz_pieces in; /* client bytes */
    char *resp;   /* what the client received (first FZ_RESP_KEEP bytes) */
    size_t resp_len, resp_total;
    bool resp_eof;
    fz_backend *be;
    size_t last_clients;
} fz_run;

static void fz_spin_cb(sy_loop *l, sy_timer *t) {}

static inline bool fz_client_read(fz_run *r)
{
    bool moved = false;
    while (r->cfd >= 0 && !r->resp_eof) {
        char buf[16384];
        ssize_t k = recv(r->cfd, buf, sizeof(buf), 0);
        if (k > 0) {
            size_t keep = FZ_RESP_KEEP - r->resp_len;
            if (keep > (size_t)k)
                keep = (size_t)k;
            memcpy(r->resp + r->resp_len, buf, keep);
            r->resp_len += keep;
            r->resp_total += (size_t)k;
            moved = true;
            continue;
        }
        if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
            r->resp_eof = true;
            moved = true;
        }
        break;
    }
    return moved;
}

static void fz_tick(sy_loop *l, void *arg)
{
    fz_run *r = arg;
    sy_worker_free_dead(&fz_w);
    r->iters++;
    bool moved = false;
    if (r->phase == FZ_SEND)
        moved |= fz_pieces_pump(&r->in, r->cfd) > 0;
    moved |= fz_client_read(r);
    if (r->be)
        moved |= fz_backend_step(r->be);
    if (fz_w.n_clients != r->last_clients) {
        r->last_clients = fz_w.n_clients;
        moved = true;
    }
    r->quiet = moved ? 0 : r->quiet + 1;
    if (fz_trace > 1 && fz_w.clients) {
        sy_client *c = fz_w.clients;
        fprintf(stderr,
                "[tick %u phase %d] client state %d rd %d out %zu rlen %zu rpos %zu up %p/%d fd %d "
                "rd %d wr %d rlen %zu out %zu\n",
                r->iters, (int)r->phase, (int)c->state, c->readable, sy_buf_pending(&c->out),
                c->rlen, c->rpos, (void *)c->up, c->up ? (int)c->up->state : -1,
                c->up ? c->up->io.fd : -1, c->up ? c->up->readable : -1,
                c->up ? c->up->writable : -1, c->up ? c->up->rlen : 0,
                c->up ? sy_buf_pending(&c->up->out) : 0);
    }

    switch (r->phase) {
    case FZ_SEND:
        if (fz_pieces_done(&r->in)) {
            r->phase = FZ_SETTLE;
            r->quiet = 0;
        }
        break;
    case FZ_SETTLE:
        if (r->quiet >= FZ_QUIET) {
            if (r->be)
                fz_backend_shutdown_wr(r->be);
            r->phase = FZ_BE_EOF;
            r->quiet = 0;
        }
        break;
    case FZ_BE_EOF:
        if (r->quiet >= FZ_QUIET) {
            shutdown(r->cfd, SHUT_WR);
            r->phase = FZ_CL_EOF;
            r->quiet = 0;
        }
        break;
    case FZ_CL_EOF:
        if (r->quiet >= FZ_QUIET || r->resp_eof) {
            close(r->cfd);
            r->cfd = -1;
            if (r->be)
                fz_backend_close_all(r->be);
            r->phase = FZ_CLOSE;
            r->quiet = 0;
        }
        break;
    case FZ_CLOSE:
        if (fz_w.n_clients == 0 && r->quiet >= FZ_QUIET)
            r->phase = FZ_DONE;
        break;
    case FZ_DONE:
        break;
    }
    if (r->phase == FZ_DONE || r->iters >= FZ_MAX_ITERS) {
        sy_loop_stop(l);
        return;
    }
    sy_timer_arm(l, &r->spin, 0);
}

/* Count open descriptors in [lo, lo+256): cheap leak check across an input. */
static inline int fz_count_fds(int lo)
{
    int n = 0;
    for (int fd = lo; fd < lo + 256; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            n++;
    return n;
}

/* Run one input through the worker: `client` bytes in pieces chosen by
 * `split`.  On return r->resp holds what the client received; everything
 * the input created is gone. */
static inline void fz_run_input(fz_run *r, fz_backend *be, const uint8_t *client, size_t len,
                                uint8_t split)
{
    static char respbuf[FZ_RESP_KEEP];
    int lo = 3;
    int fds_before = fz_count_fds(lo);

    memset(r, 0, sizeof(*r));
    r->resp = respbuf;
    r->be = be;
    r->loop = sy_loop_new();
    fz_w.loop = r->loop;
    fz_w.rng[0] = 0x0123456789abcdefull; /* same request ids for the same input */
    fz_w.rng[1] = 0x9e3779b97f4a7c15ull;
    sy_buf_reset(&fz_w.access_log);
    sy_timer_init(&r->spin, fz_spin_cb, r);

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
        perror("socketpair");
        abort();
    }
    r->cfd = sv[1];
    struct sockaddr_storage peer = {0};
    struct sockaddr_in *sin = (struct sockaddr_in *)&peer;
    sin->sin_family = AF_INET;
    sin->sin_port = htons(40000);
    sin->sin_addr.s_addr = htonl(0x0a010203); /* 10.1.2.3, inside TrustedProxies */
    sy_client_accept(&fz_w, sv[0], &peer, sizeof(*sin));
    r->last_clients = fz_w.n_clients;

    fz_pieces_split(&r->in, client, len, split);
    sy_timer_arm(r->loop, &r->spin, 0);
    sy_loop_run(r->loop, fz_tick, r);

    /* Bounded out, or done: tear down whatever is left. */
    bool leftover = fz_w.clients != NULL;
    if (leftover && fz_trace) {
        sy_client *c = fz_w.clients;
        fprintf(stderr,
                "--- left over: client state %d readable %d writable %d eof %d out %zu rlen %zu "
                "rpos %zu "
                "req %p up %p up-state %d up-fd %d up-out %zu\n",
                (int)c->state, c->readable, c->writable, c->eof, sy_buf_pending(&c->out), c->rlen,
                c->rpos, (void *)c->req, (void *)c->up, c->up ? (int)c->up->state : -1,
                c->up ? c->up->io.fd : -1, c->up ? sy_buf_pending(&c->up->out) : 0);
    }
    while (fz_w.clients)
        sy_client_close(fz_w.clients);
    sy_pool_close_all(&fz_w);
    sy_upstream_close_abandoned(&fz_w);
    sy_worker_free_dead(&fz_w);
    if (r->cfd >= 0)
        close(r->cfd);
    r->cfd = -1;
    if (be)
        fz_backend_close_all(be);
    sy_timer_stop(r->loop, &r->spin);
    sy_loop_free(r->loop);
    fz_w.loop = NULL;
    if (fz_trace)
        fprintf(stderr, "--- client received %zu bytes (%u iterations, phase %d%s):\n%.*s\n",
                r->resp_total, r->iters, (int)r->phase, leftover ? ", client left over" : "",
                (int)r->resp_len, r->resp);
    if (fz_w.n_clients != 0 || fz_w.n_idle != 0)
        FZ_FAIL("worker bookkeeping: %zu clients, %zu idle upstream connections after teardown",
                fz_w.n_clients, fz_w.n_idle);
    int fds_after = fz_count_fds(lo);
    if (fds_after != fds_before)
        FZ_FAIL("file descriptors leaked: %d open before the input, %d after", fds_before,
                fds_after);
    /* Both peers closed and the worker still holds the client: a hang
     * until some timeout (FUZZ_LAX_CLOSE=1 turns this check off). */
    if (leftover && !getenv("FUZZ_LAX_CLOSE"))
        FZ_FAIL("a client connection outlived its closed peer (%u iterations)", r->iters);
}

/* The client side must only ever see HTTP/1.1 responses. */
static inline void fz_check_status_line(const char *p, size_t n)
{
    static const char pre[] = "HTTP/1.1 ";
    size_t k = n < 9 ? n : 9;
    if (memcmp(p, pre, k) != 0)
        FZ_FAIL("the client received something that is not an HTTP/1.1 response: %.*s",
                (int)(n < 40 ? n : 40), p);
    for (size_t i = 9; i < 12 && i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            FZ_FAIL("status code is not three digits: %.*s", (int)(n < 40 ? n : 40), p);
    if (n > 12 && p[12] != ' ')
        FZ_FAIL("no SP after the status code: %.*s", (int)(n < 40 ? n : 40), p);
}

#endif
