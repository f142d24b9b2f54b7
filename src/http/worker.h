/* Worker threads: one event loop each, no shared mutable state on the
 * request path.  Each Listen address has one listening socket, bound by
 * the main thread (no SO_REUSEPORT, so no other process can join it) and
 * registered in every worker's epoll with EPOLLEXCLUSIVE: a new connection
 * wakes one idle worker, not all of them (nginx's arrangement). */
#ifndef SY_HTTP_WORKER_H
#define SY_HTTP_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "gen/snapshot.h"
#include "core/buf.h"
#include "net/loop.h"

struct sy_client;
struct sy_upconn;
struct sy_upnode;

typedef struct sy_worker {
    int id;
    pthread_t thread;
    sy_loop *loop;
    sy_io *listeners;
    size_t n_listeners;
    bool accepting;
    bool accept_paused; /* out of fds: retry on accept_timer */
    sy_timer accept_timer;
    uint64_t accept_warned;

    sy_snapshot *snap; /* this worker's reference */
    atomic_uint_fast64_t seen_generation;

    struct sy_client *clients; /* all open client connections */
    size_t n_clients;
    struct sy_client *dead_clients; /* freed after the I/O batch */
    struct sy_upconn *dead_ups;
    struct sy_upnode **upnodes;            /* SY_UPNODE_BUCKETS: pools and queues (http/pool.h) */
    struct sy_upconn *lru_head, *lru_tail; /* every idle connection, newest first */
    struct sy_upconn *abandoned;           /* delivering a broken request, then closed */
    size_t n_idle;
    struct sy_upnode *waiting; /* nodes with waiting requests */
    uint64_t pool_swept_ms;
    size_t n_upfds; /* backend sockets open (budget: snap->max_backends) */

    sy_buf access_log;
    uint64_t access_last_flush;
    uint64_t rng[2]; /* request ids */
    bool draining;
    uint64_t drain_deadline;
    /* Client receive buffers no connection owns (a list through each
     * buffer's first bytes): an idle keep-alive connection owns none
     * (http/server.c). */
    char *rbuf_pool;
    size_t rbuf_pool_n, rbuf_pool_cap;
    /* Memory back to the system: armed when connections are freed, fires
     * once they have stopped for a second (worker.c, trim_cb). */
    sy_timer trim_timer;
    uint64_t last_free_ms;
} sy_worker;

/* The process-wide runtime the main thread drives. */
typedef struct sy_runtime {
    sy_worker *workers;
    int n_workers;
    int access_fd;   /* -1 = off */
    int *listen_fds; /* shared by the workers */
    size_t n_listen_fds;
    atomic_int listeners_released; /* workers that unregistered them (drain) */
    atomic_int draining;
} sy_runtime;

extern sy_runtime sy_rt;

/* Open listening sockets and start the workers on the current snapshot. */
int sy_workers_start(int n, const sy_config *cfg);
/* Publish `s` and wait (bounded) until every worker holds it. */
void sy_workers_publish(sy_snapshot *s);
/* Stop accepting, finish in-flight requests within grace_ms, join. */
void sy_workers_drain_and_join(uint32_t grace_ms);

uint64_t sy_worker_rand(sy_worker *w);
void sy_worker_take_snapshot(sy_worker *w);
/* Free the connections closed since the last call (w->dead_clients,
 * w->dead_ups).  Deferred to here so that nothing freed is still on the
 * stack of the I/O batch that closed it; the tick calls it once per loop
 * iteration, and a harness driving its own loop must call it likewise. */
void sy_worker_free_dead(sy_worker *w);
/* Memory was freed: hand free pages back once the worker goes quiet. */
void sy_worker_note_freed(sy_worker *w);

#endif
