#include "http/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "stats/stats.h"
#include "http/conn.h"
#include "http/pool.h"
#include "net/limits.h"
#include "net/listen.h"

sy_runtime sy_rt = {.access_fd = -1};

uint64_t sy_worker_rand(sy_worker *w)
{
    /* xorshift128+: request ids need uniqueness, not secrecy. */
    uint64_t s1 = w->rng[0];
    const uint64_t s0 = w->rng[1];
    w->rng[0] = s0;
    s1 ^= s1 << 23;
    w->rng[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
    return w->rng[1] + s0;
}

void sy_worker_take_snapshot(sy_worker *w)
{
    sy_snapshot *cur = atomic_load_explicit(&sy_snapshot_current, memory_order_acquire);
    if (cur == w->snap)
        return;
    /* Safe: the main thread keeps its reference to `cur` until every
     * worker has reported this generation (sy_workers_publish). */
    sy_snapshot_ref(cur);
    sy_snapshot *old = w->snap;
    w->snap = cur;
    atomic_store_explicit(&w->seen_generation, cur->generation, memory_order_release);
    sy_snapshot_unref(old);
}

/* Out of descriptors (EMFILE/ENFILE) or kernel memory: accepting again at
 * once would fail the same way, and with a level of pending connections
 * the loop would spin.  Pause this worker's accepting briefly (nginx and
 * HAProxy do the same); connections wait in the backlog meanwhile. */
#define ACCEPT_PAUSE_MS 100

static void accept_conns(sy_io *io, bool tls)
{
    sy_worker *w = io->data;
    while (w->accepting && !w->accept_paused) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int fd = accept4(io->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (sy_errno_local(errno)) {
                uint64_t now = sy_loop_now(w->loop);
                if (now - w->accept_warned >= 1000) { /* once a second, not per attempt */
                    sy_warn("accept: %s: pausing accepts for %d ms", strerror(errno),
                            ACCEPT_PAUSE_MS);
                    w->accept_warned = now;
                }
                w->accept_paused = true;
                sy_timer_arm(w->loop, &w->accept_timer, ACCEPT_PAUSE_MS);
            } else if (errno != EAGAIN) {
                sy_warn("accept: %s", strerror(errno));
            }
            return;
        }
        if (w->n_clients >= w->snap->max_clients) {
            /* Over the cap (MaxConnections within the fd budget): refuse
             * fast rather than queue unbounded work. */
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        sy_client_accept_ex(w, fd, &ss, len, tls);
    }
    /* Edge-triggered: we loop until EAGAIN so no pending connection is
     * left without a future event (a pause resumes from its timer). */
}

static void accept_cb(sy_loop *loop, sy_io *io, uint32_t events)
{
    accept_conns(io, false);
}

static void accept_tls_cb(sy_loop *loop, sy_io *io, uint32_t events)
{
    accept_conns(io, true);
}

static void accept_resume(sy_loop *loop, sy_timer *t)
{
    sy_worker *w = t->data;
    w->accept_paused = false;
    for (size_t i = 0; i < w->n_listeners && w->accepting; i++)
        if (w->listeners[i].fd >= 0)
            accept_conns(&w->listeners[i], w->listeners[i].cb == accept_tls_cb);
}

static void flush_access_log(sy_worker *w, bool force)
{
    if (!sy_buf_pending(&w->access_log) || sy_rt.access_fd < 0)
        return;
    uint64_t now = sy_loop_now(w->loop);
    if (!force && sy_buf_pending(&w->access_log) < 32 * 1024 && now - w->access_last_flush < 50)
        return;
    /* Lines are complete, and a single write(2) of < PIPE_BUF... is not
     * guaranteed atomic for files, but O_APPEND writes are, so workers
     * never interleave within a line. */
    while (sy_buf_pending(&w->access_log)) {
        ssize_t n = write(sy_rt.access_fd, w->access_log.data + w->access_log.off,
                          sy_buf_pending(&w->access_log));
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            sy_buf_reset(&w->access_log);
            break;
        }
        sy_buf_consume(&w->access_log, (size_t)n);
    }
    w->access_last_flush = now;
}

/* A burst of connections leaves its freed memory in this thread's malloc
 * arena, where glibc keeps it (a 4,000-connection burst repeated 8 times
 * held ~100 MB with under 1 MB in use).  A second after the last
 * connection was freed, hand the free pages back: malloc_trim walks every
 * arena, so it runs only when the worker has gone quiet, never per
 * request. */
#define SY_TRIM_QUIET_MS 1000

static void trim_cb(sy_loop *loop, sy_timer *t)
{
    sy_worker *w = t->data;
    uint64_t quiet = sy_loop_now(loop) - w->last_free_ms;
    if (quiet < SY_TRIM_QUIET_MS) {
        sy_timer_arm(loop, t, SY_TRIM_QUIET_MS - quiet);
        return;
    }
    malloc_trim(0);
}

void sy_worker_note_freed(sy_worker *w)
{
    w->last_free_ms = sy_loop_now(w->loop);
    if (!sy_timer_armed(&w->trim_timer))
        sy_timer_arm(w->loop, &w->trim_timer, SY_TRIM_QUIET_MS);
}

void sy_worker_free_dead(sy_worker *w)
{
    if (w->dead_clients || w->dead_ups)
        sy_worker_note_freed(w);
    while (w->dead_clients) {
        sy_client *c = w->dead_clients;
        w->dead_clients = c->next;
        if (c->rbuf)
            sy_stats_rbuf(w->id, -1);
        free(c->parser); /* the block that holds the receive buffer too */
        sy_buf_free(&c->out);
        sy_arena_free(&c->arena);
        free(c);
    }
    while (w->dead_ups) {
        sy_upconn *u = w->dead_ups;
        w->dead_ups = u->free_next;
        free(u->rbuf);
        free(u->fields);
        sy_buf_free(&u->out);
        free(u);
    }
}

static void tick(sy_loop *loop, void *arg)
{
    sy_worker *w = arg;
    sy_worker_free_dead(w);
    sy_worker_take_snapshot(w);
    sy_pool_service(w);
    flush_access_log(w, false);
    if (atomic_load(&sy_rt.draining) && !w->draining) {
        w->draining = true;
        w->accepting = false;
        /* The sockets are shared: unregister here, the main thread closes
         * them once every worker has (sy_workers_drain_and_join). */
        for (size_t i = 0; i < w->n_listeners; i++) {
            sy_loop_del(loop, &w->listeners[i]);
            w->listeners[i].fd = -1;
        }
        atomic_fetch_add(&sy_rt.listeners_released, 1);
        sy_client *c = w->clients;
        while (c) {
            sy_client *n = c->next;
            sy_client_drain(c);
            c = n;
        }
        sy_worker_free_dead(w);
    }
    if (w->draining) {
        if (w->n_clients == 0 || sy_loop_now(loop) >= w->drain_deadline) {
            sy_client *c = w->clients;
            while (c) {
                sy_client *n = c->next;
                sy_client_close(c);
                c = n;
            }
            sy_pool_close_all(w);
            sy_upstream_close_abandoned(w);
            sy_worker_free_dead(w);
            flush_access_log(w, true);
            sy_loop_stop(loop);
        }
    }
}

static void *worker_main(void *arg)
{
    sy_worker *w = arg;
    sy_worker_take_snapshot(w);
    sy_loop_run(w->loop, tick, w);
    flush_access_log(w, true);
    return NULL;
}

int sy_workers_start(int n, const sy_config *cfg)
{
    sy_rt.n_workers = n;
    sy_rt.workers = sy_calloc((size_t)n, sizeof(sy_worker));
    sy_rt.n_listen_fds = cfg->gw.n_listen + cfg->gw.n_tls_listen;
    sy_rt.listen_fds = sy_calloc(sy_rt.n_listen_fds + 1, sizeof(int));
    for (size_t j = 0; j < sy_rt.n_listen_fds; j++) {
        bool tls = j >= cfg->gw.n_listen;
        const sy_endpoint *ep =
            tls ? &cfg->gw.tls_listen[j - cfg->gw.n_listen] : &cfg->gw.listen[j];
        int fd = sy_listen_socket(ep, 4096);
        if (fd < 0) {
            sy_error("listen %s:%u: %s%s", ep->host, ep->port, strerror(errno),
                     errno == EADDRINUSE ? " (another process listens there)" : "");
            return -1;
        }
        sy_rt.listen_fds[j] = fd;
    }
    for (int i = 0; i < n; i++) {
        sy_worker *w = &sy_rt.workers[i];
        w->id = i;
        w->loop = sy_loop_new();
        w->accepting = true;
        w->upnodes = sy_calloc(SY_UPNODE_BUCKETS, sizeof *w->upnodes);
        sy_timer_init(&w->trim_timer, trim_cb, w);
        sy_timer_init(&w->accept_timer, accept_resume, w);
        if (getrandom(w->rng, sizeof(w->rng), 0) != sizeof(w->rng)) {
            w->rng[0] = (uint64_t)time(NULL) ^ (uint64_t)i;
            w->rng[1] = 0x9e3779b97f4a7c15ull;
        }
        w->rng[0] |= 1;
        w->n_listeners = cfg->gw.n_listen + cfg->gw.n_tls_listen;
        w->listeners = sy_calloc(w->n_listeners + 1, sizeof(sy_io));
        for (size_t j = 0; j < w->n_listeners; j++) {
            bool tls = j >= cfg->gw.n_listen;
            w->listeners[j].fd = sy_rt.listen_fds[j];
            w->listeners[j].cb = tls ? accept_tls_cb : accept_cb;
            w->listeners[j].data = w;
            sy_loop_add(w->loop, &w->listeners[j], EPOLLIN | EPOLLEXCLUSIVE);
        }
    }
    for (int i = 0; i < n; i++) {
        sy_worker *w = &sy_rt.workers[i];
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            sy_error("pthread_create failed");
            return -1;
        }
    }
    return 0;
}

void sy_workers_publish(sy_snapshot *s)
{
    sy_snapshot *old = atomic_exchange_explicit(&sy_snapshot_current, s, memory_order_acq_rel);
    for (int i = 0; i < sy_rt.n_workers; i++)
        sy_loop_wake(sy_rt.workers[i].loop);
    /* Wait until every worker references the new generation (bounded: a
     * worker stuck for 5 s is a bug; we then keep the old one alive
     * forever rather than risk a use-after-free). */
    for (int tries = 0; tries < 5000; tries++) {
        int all = 1;
        for (int i = 0; i < sy_rt.n_workers; i++)
            if (atomic_load(&sy_rt.workers[i].seen_generation) < s->generation)
                all = 0;
        if (all) {
            sy_snapshot_unref(old);
            return;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    sy_warn("workers did not pick up config generation %llu in time",
            (unsigned long long)s->generation);
}

void sy_workers_drain_and_join(uint32_t grace_ms)
{
    for (int i = 0; i < sy_rt.n_workers; i++)
        sy_rt.workers[i].drain_deadline = sy_clock_ms() + grace_ms;
    atomic_store(&sy_rt.draining, 1);
    for (int i = 0; i < sy_rt.n_workers; i++)
        sy_loop_wake(sy_rt.workers[i].loop);
    /* Stop listening as soon as no worker has the sockets registered (a
     * close while one still had would leave its epoll entry pointing at a
     * number the kernel may hand out again). */
    for (int tries = 0; tries < 5000 && atomic_load(&sy_rt.listeners_released) < sy_rt.n_workers;
         tries++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    for (size_t j = 0; j < sy_rt.n_listen_fds; j++)
        close(sy_rt.listen_fds[j]);
    sy_rt.n_listen_fds = 0;
    for (int i = 0; i < sy_rt.n_workers; i++) {
        sy_worker *w = &sy_rt.workers[i];
        pthread_join(w->thread, NULL);
        sy_snapshot_unref(w->snap);
        w->snap = NULL;
        sy_loop_free(w->loop);
        free(w->listeners);
        sy_buf_free(&w->access_log);
        while (w->rbuf_pool) {
            char *next;
            memcpy(&next, w->rbuf_pool, sizeof next);
            free(w->rbuf_pool);
            w->rbuf_pool = next;
        }
        for (unsigned b = 0; b < SY_UPNODE_BUCKETS; b++)
            while (w->upnodes[b]) {
                sy_upnode *n = w->upnodes[b];
                w->upnodes[b] = n->hnext;
                free(n);
            }
        free(w->upnodes);
    }
    free(sy_rt.listen_fds);
    sy_rt.listen_fds = NULL;
}
