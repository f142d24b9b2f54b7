#include "gen/prober.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "net/limits.h"
#include "net/loop.h"
#include "upstream/balancer.h"
#include "upstream/dns.h"
#include "upstream/health.h"
#include "upstream/tls_client.h"

#define TICK_MS 20
#define MAX_DNS_SERVERS 8
#define MAX_DNS_INFLIGHT 16

/* ---- state ---- */

typedef struct probe {
    sy_io io;
    sy_timer timer;
    sy_snapshot *snap; /* pins cfg and the balancer's SSL_CTX */
    const sy_upstream_cfg *u;
    sy_node_state *st;
    sy_ssl *ssl;
    bool connected, handshaking;
    sy_buf out;
    char in[512];
    size_t inlen;
    struct probe *next;
} probe;

typedef struct dnsq {
    sy_io io;
    sy_timer timer;
    const char *name;
    size_t server;
    uint16_t id_a, id_aaaa;
    bool got_a, got_aaaa;
    sy_dns_addr addrs[SY_DNS_MAX_ADDRS];
    size_t n;
    uint32_t ttl;
    int rcode;
    struct dnsq *next;
} dnsq;

static struct {
    pthread_t thread;
    sy_loop *loop;
    bool started;
    _Atomic(sy_snapshot *) pending;
    atomic_int stop;
    sy_snapshot *snap;
    uint64_t *next_probe; /* per upstream of snap */
    sy_timer tick;
    probe *probes;
    dnsq *queries;
    size_t n_queries;
    struct sockaddr_storage servers[MAX_DNS_SERVERS];
    socklen_t server_lens[MAX_DNS_SERVERS];
    size_t n_servers;
    uint16_t next_id;
} P;

/* ---- active probes ---- */

static void probe_done(probe *p, enum sy_outcome o, int status)
{
    if (p->st)
        sy_node_probe(p->st, &p->u->health, o, status, sy_clock_ms());
    sy_timer_stop(P.loop, &p->timer);
    if (p->io.fd >= 0) {
        sy_loop_del(P.loop, &p->io);
        close(p->io.fd);
    }
    sy_tls_free(p->ssl);
    sy_buf_free(&p->out);
    for (probe **pp = &P.probes; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    sy_snapshot_unref(p->snap);
    free(p);
}

/* The probe could not even start for want of a local resource (no
 * descriptor, no ephemeral port, no memory): that says nothing about the
 * node, so no outcome is recorded; the next interval tries again. */
static void probe_abandon(probe *p, int err)
{
    static uint64_t warned;
    uint64_t now = sy_clock_ms();
    if (now - warned >= 1000) {
        sy_warn("health probe to %s not sent: %s (not counted against the node)", p->st->addr,
                strerror(err));
        warned = now;
    }
    p->st = NULL;
    probe_done(p, SY_OUT_TCP, 0);
}

static void probe_timeout(sy_loop *loop, sy_timer *t)
{
    probe_done(t->data, SY_OUT_TIMEOUT, 0);
}

/* "HTTP/1.x NNN" at the start of what we read. */
static int status_of(const char *b, size_t n)
{
    if (n < 12 || memcmp(b, "HTTP/1.", 7) != 0 || b[8] != ' ')
        return -1;
    int s = 0;
    for (int i = 9; i < 12; i++) {
        if (b[i] < '0' || b[i] > '9')
            return -1;
        s = s * 10 + (b[i] - '0');
    }
    return s;
}

static void probe_io(sy_loop *loop, sy_io *io, uint32_t ev)
{
    probe *p = io->data;
    if (!p->connected) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            probe_done(p, SY_OUT_TCP, 0);
            return;
        }
        if (!(ev & EPOLLOUT))
            return;
        p->connected = true;
        p->handshaking = p->ssl != NULL;
    }
    if (p->handshaking) {
        char why[256];
        int rc = sy_tls_handshake(p->ssl, p->st, why, sizeof why);
        if (rc == SY_TLS_WANT)
            return;
        if (rc == SY_TLS_ERR) {
            sy_debug("probe %s: %s", p->st->addr, why);
            probe_done(p, SY_OUT_TCP, 0);
            return;
        }
        p->handshaking = false;
    }
    while (sy_buf_pending(&p->out)) {
        ssize_t n =
            p->ssl ? sy_tls_send(p->ssl, p->out.data + p->out.off, sy_buf_pending(&p->out))
                   : send(io->fd, p->out.data + p->out.off, sy_buf_pending(&p->out), MSG_NOSIGNAL);
        if (n > 0) {
            sy_buf_consume(&p->out, (size_t)n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        probe_done(p, SY_OUT_TCP, 0);
        return;
    }
    for (;;) {
        ssize_t n = p->ssl ? sy_tls_recv(p->ssl, p->in + p->inlen, sizeof p->in - p->inlen)
                           : recv(io->fd, p->in + p->inlen, sizeof p->in - p->inlen, 0);
        if (n > 0) {
            p->inlen += (size_t)n;
            if (p->inlen >= 12) {
                int s = status_of(p->in, p->inlen);
                probe_done(p, s < 0 ? SY_OUT_TCP : SY_OUT_STATUS, s);
                return;
            }
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        probe_done(p, SY_OUT_TCP, 0);
        return;
    }
}

static bool probing(const sy_node_state *st)
{
    for (probe *p = P.probes; p; p = p->next)
        if (p->st == st)
            return true;
    return false;
}

static void probe_start(const sy_upstream_cfg *u, sy_balancer *b, const sy_target *t)
{
    if (probing(t->st))
        return;
    probe *p = sy_calloc(1, sizeof *p);
    p->snap = P.snap;
    sy_snapshot_ref(p->snap);
    p->u = u;
    p->st = t->st;
    p->io.cb = probe_io;
    p->io.data = p;
    p->io.fd = socket(t->ep.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sy_timer_init(&p->timer, probe_timeout, p);
    p->next = P.probes;
    P.probes = p;
    if (p->io.fd < 0) {
        if (sy_errno_local(errno))
            probe_abandon(p, errno);
        else
            probe_done(p, SY_OUT_TCP, 0);
        return;
    }
    int one = 1;
    setsockopt(p->io.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(p->io.fd, (const struct sockaddr *)&t->ep.addr, t->ep.addrlen) < 0 &&
        errno != EINPROGRESS) {
        int e = errno;
        close(p->io.fd);
        p->io.fd = -1;
        if (sy_errno_local(e))
            probe_abandon(p, e);
        else
            probe_done(p, SY_OUT_TCP, 0);
        return;
    }
    if (b->ssl_ctx)
        p->ssl = sy_tls_new(b->ssl_ctx, p->io.fd, u, &t->ep, t->st);
    const sy_health_cfg *h = &u->health;
    char line[600];
    snprintf(line, sizeof line, "GET %s HTTP/1.1\r\nHost: ", h->active_path);
    sy_buf_append_str(&p->out, line);
    if (u->upstream_host) {
        sy_buf_append_str(&p->out, u->upstream_host);
    } else {
        bool v6 = strchr(t->ep.host, ':') != NULL;
        snprintf(line, sizeof line, "%s%s%s", v6 ? "[" : "", t->ep.host, v6 ? "]" : "");
        sy_buf_append_str(&p->out, line);
        unsigned dflt = b->ssl_ctx ? 443 : 80;
        if (t->ep.port != dflt) {
            snprintf(line, sizeof line, ":%u", t->ep.port);
            sy_buf_append_str(&p->out, line);
        }
    }
    sy_buf_append_str(&p->out, "\r\nUser-Agent: switchyard-health-check\r\nConnection: close\r\n");
    for (size_t i = 0; i < h->n_active_headers; i++) {
        sy_buf_append_str(&p->out, h->active_headers[i]);
        sy_buf_append(&p->out, "\r\n", 2);
    }
    sy_buf_append(&p->out, "\r\n", 2);
    sy_loop_add(P.loop, &p->io, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
    sy_timer_arm(P.loop, &p->timer, h->active_timeout_ms);
}

static void run_probes(uint64_t now)
{
    const sy_config *cfg = P.snap->cfg;
    for (size_t i = 0; i < cfg->n_upstreams; i++) {
        const sy_upstream_cfg *u = &cfg->upstreams[i];
        if (!u->health.enable_active || now < P.next_probe[i])
            continue;
        P.next_probe[i] = now + u->health.active_interval_ms;
        sy_balancer *b = P.snap->balancers[i];
        const sy_target_set *set = sy_balancer_targets(b);
        for (size_t k = 0; k < set->n; k++)
            if (set->t[k].weight > 0)
                probe_start(u, b, &set->t[k]);
    }
}

/* ---- DNS ---- */

static void refresh_balancers(void)
{
    /* K8S tunnels are rebuilt by the discovery thread only (discovery/k8s.h):
     * one writer per balancer. */
    for (size_t i = 0; i < P.snap->n_balancers; i++)
        if (!P.snap->cfg->upstreams[i].k8s)
            sy_balancer_refresh(P.snap->balancers[i]);
}

static void dns_free(dnsq *q)
{
    sy_timer_stop(P.loop, &q->timer);
    if (q->io.fd >= 0) {
        sy_loop_del(P.loop, &q->io);
        close(q->io.fd);
    }
    for (dnsq **pp = &P.queries; *pp; pp = &(*pp)->next)
        if (*pp == q) {
            *pp = q->next;
            break;
        }
    P.n_queries--;
    free(q);
}

static void dns_finish(dnsq *q, const char *why)
{
    uint64_t now = sy_clock_ms();
    if (q->n) {
        if (sy_dns_store(q->name, q->addrs, q->n, q->ttl, now))
            refresh_balancers();
    } else {
        char msg[64];
        if (!why) {
            snprintf(msg, sizeof msg, q->rcode ? "rcode %d" : "no address in the answer", q->rcode);
            why = msg;
        }
        sy_dns_failed(q->name, why, now);
    }
    dns_free(q);
}

static bool dns_send(dnsq *q);
static void dns_timeout(sy_loop *loop, sy_timer *t);

static void dns_timeout(sy_loop *loop, sy_timer *t)
{
    dnsq *q = t->data;
    if (q->n) { /* one of the two answers came: good enough */
        dns_finish(q, NULL);
        return;
    }
    if (q->server + 1 < P.n_servers) {
        q->server++;
        sy_loop_del(P.loop, &q->io);
        close(q->io.fd);
        q->io.fd = -1;
        if (dns_send(q))
            return;
    }
    dns_finish(q, errno == ECONNREFUSED ? "connection refused" : "timed out");
}

static void dns_io(sy_loop *loop, sy_io *io, uint32_t ev)
{
    dnsq *q = io->data;
    unsigned char msg[4096];
    for (;;) {
        ssize_t n = recv(io->fd, msg, sizeof msg, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return;
            /* ICMP port unreachable and the like: next server, or fail now
             * rather than at the timeout. */
            sy_timer_stop(P.loop, &q->timer);
            dns_timeout(P.loop, &q->timer);
            return;
        }
        int rc;
        if (!q->got_a && (rc = sy_dns_parse_response(msg, (size_t)n, q->id_a, q->addrs, &q->n,
                                                     SY_DNS_MAX_ADDRS, &q->ttl)) >= 0) {
            q->got_a = true;
            if (rc)
                q->rcode = rc;
        } else if (!q->got_aaaa &&
                   (rc = sy_dns_parse_response(msg, (size_t)n, q->id_aaaa, q->addrs, &q->n,
                                               SY_DNS_MAX_ADDRS, &q->ttl)) >= 0) {
            q->got_aaaa = true;
            if (rc)
                q->rcode = rc;
        }
        if (q->got_a && q->got_aaaa) {
            dns_finish(q, NULL);
            return;
        }
    }
}

static bool dns_send(dnsq *q)
{
    const struct sockaddr_storage *srv = &P.servers[q->server];
    q->io.fd = socket(srv->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (q->io.fd < 0)
        return false;
    if (connect(q->io.fd, (const struct sockaddr *)srv, P.server_lens[q->server]) < 0) {
        close(q->io.fd);
        q->io.fd = -1;
        return false;
    }
    unsigned char buf[512];
    q->id_a = P.next_id++;
    q->id_aaaa = P.next_id++;
    size_t l = sy_dns_encode_query(q->id_a, q->name, 1, buf, sizeof buf);
    if (l)
        send(q->io.fd, buf, l, 0);
    l = sy_dns_encode_query(q->id_aaaa, q->name, 28, buf, sizeof buf);
    if (l)
        send(q->io.fd, buf, l, 0);
    sy_loop_add(P.loop, &q->io, EPOLLIN);
    sy_timer_arm(P.loop, &q->timer, SY_DNS_TIMEOUT_MS);
    return true;
}

static void dns_servers(const sy_gateway_cfg *gw)
{
    P.n_servers = 0;
    for (size_t i = 0; i < gw->n_resolvers && P.n_servers < MAX_DNS_SERVERS; i++) {
        P.servers[P.n_servers] = gw->resolvers[i].addr;
        P.server_lens[P.n_servers++] = gw->resolvers[i].addrlen;
    }
    if (!P.n_servers)
        P.n_servers =
            sy_dns_resolv_conf("/etc/resolv.conf", P.servers, P.server_lens, MAX_DNS_SERVERS);
}

static void run_dns(uint64_t now)
{
    while (P.n_queries < MAX_DNS_INFLIGHT) {
        const char *name = sy_dns_next_due(now);
        if (!name)
            return;
        dnsq *q = sy_calloc(1, sizeof *q);
        q->name = name;
        q->ttl = UINT32_MAX;
        q->io.cb = dns_io;
        q->io.data = q;
        q->io.fd = -1;
        sy_timer_init(&q->timer, dns_timeout, q);
        q->next = P.queries;
        P.queries = q;
        P.n_queries++;
        if (!P.n_servers || !dns_send(q))
            dns_finish(q, P.n_servers ? strerror(errno)
                                      : "no DNS server (Gateway.Resolvers, /etc/resolv.conf)");
    }
}

/* ---- the thread ---- */

static void take_snapshot(sy_snapshot *s)
{
    sy_snapshot *old = P.snap;
    P.snap = s;
    free(P.next_probe);
    P.next_probe = sy_calloc(s->cfg->n_upstreams + 1, sizeof(uint64_t));
    for (size_t i = 0; i < s->cfg->n_upstreams; i++) {
        const sy_upstream_cfg *u = &s->cfg->upstreams[i];
        for (size_t k = 0; k < u->n_nodes; k++)
            if (!u->nodes[k].ep.addrlen)
                sy_dns_want(u->nodes[k].ep.host);
    }
    dns_servers(&s->cfg->gw);
    refresh_balancers(); /* answers that came while it was being built */
    if (old)
        sy_snapshot_unref(old);
}

static void tick_cb(sy_loop *loop, sy_timer *t)
{
    sy_snapshot *s = atomic_exchange(&P.pending, NULL);
    if (s)
        take_snapshot(s);
    if (atomic_load(&P.stop)) {
        sy_loop_stop(loop);
        return;
    }
    uint64_t now = sy_loop_now(loop);
    run_dns(now);
    run_probes(now);
    sy_timer_arm(loop, &P.tick, TICK_MS);
}

static void *prober_main(void *arg)
{
    sy_timer_init(&P.tick, tick_cb, NULL);
    sy_timer_arm(P.loop, &P.tick, 0);
    sy_loop_run(P.loop, NULL, NULL);
    while (P.probes)
        probe_done(P.probes, SY_OUT_TIMEOUT, 0); /* counted, harmless at exit */
    while (P.queries)
        dns_free(P.queries);
    return NULL;
}

int sy_prober_start(sy_snapshot *s)
{
    P.loop = sy_loop_new();
    if (!P.loop)
        return -1;
    sy_snapshot_ref(s);
    take_snapshot(s);
    if (pthread_create(&P.thread, NULL, prober_main, NULL) != 0) {
        sy_error("cannot start the health-check thread");
        return -1;
    }
    P.started = true;
    return 0;
}

void sy_prober_publish(sy_snapshot *s)
{
    if (!P.started)
        return;
    sy_snapshot_ref(s);
    sy_snapshot *old = atomic_exchange(&P.pending, s);
    if (old)
        sy_snapshot_unref(old);
    sy_loop_wake(P.loop);
}

void sy_prober_stop(void)
{
    if (!P.started)
        return;
    atomic_store(&P.stop, 1);
    sy_loop_wake(P.loop);
    pthread_join(P.thread, NULL);
    P.started = false;
    sy_snapshot *s = atomic_exchange(&P.pending, NULL);
    if (s)
        sy_snapshot_unref(s);
    sy_snapshot_unref(P.snap);
    P.snap = NULL;
    free(P.next_probe);
    P.next_probe = NULL;
    sy_loop_free(P.loop);
}
