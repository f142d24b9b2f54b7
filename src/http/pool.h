/* Backend connection pools and wait queues, per worker and per node.
 *
 * A worker keeps one sy_upnode per (node health state, address, SSL_CTX):
 * for an upstream node the state is its sy_node_state (upstream id +
 * address, so nodes found by DNS or discovery get their own entry), for a
 * backend Url it is NULL.  Each entry holds
 *   - the idle keep-alive connections to that node, most recently used
 *     first: a request takes the newest (warm, least likely closed by the
 *     backend), a full pool (MaxIdleConnectionsPerNode) drops its oldest,
 *     and each idle connection closes after KeepaliveTimeout.  Idle
 *     connections to one upstream never crowd out another's: the cap is
 *     per node, not per worker;
 *   - the requests waiting for a connection to that node (FIFO), when the
 *     node is at MaxConnectionsPerNode or the worker at its backend
 *     budget.  A waiting request is a placeholder sy_upconn (state
 *     SY_US_QUEUED, no socket) that already holds the serialized head and
 *     the first body bytes, so the client side runs unchanged.
 * Besides, every idle connection of the worker is on one LRU list, so the
 * backend budget (MaxBackendConnections) can close the worker's oldest
 * idle connection to open a new one.
 *
 * Waiting requests are started by sy_pool_service() from the worker's
 * tick, never from inside another exchange's callbacks. */
#ifndef SY_HTTP_POOL_H
#define SY_HTTP_POOL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct sy_worker;
struct sy_upconn;
struct sy_node_state;

typedef struct sy_upnode {
    struct sy_node_state *st; /* NULL for a backend Url */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    void *ssl_ctx;
    struct sy_upconn *idle_head, *idle_tail; /* most recently used first */
    size_t n_idle;
    struct sy_upconn *q_head, *q_tail; /* waiting requests, oldest first */
    size_t n_queued;
    uint64_t used_ms;        /* last activity, for the sweep */
    bool waiting;            /* on the worker's waiting list */
    struct sy_upnode *hnext; /* hash chain */
    struct sy_upnode *wnext; /* worker's waiting list */
} sy_upnode;

#define SY_UPNODE_BUCKETS 1024

/* The entry for this key, created when missing. */
sy_upnode *sy_upnode_get(struct sy_worker *w, struct sy_node_state *st,
                         const struct sockaddr_storage *addr, socklen_t addrlen, void *ssl_ctx);

/* Idle connections. */
struct sy_upconn *sy_pool_take(struct sy_worker *w, sy_upnode *n); /* newest, or NULL */
/* Park u (already SY_US_IDLE) in n; beyond `cap` the oldest of n is
 * closed.  False (u not parked) when cap is 0. */
bool sy_pool_put(struct sy_worker *w, sy_upnode *n, struct sy_upconn *u, uint32_t cap);
void sy_pool_unlink(struct sy_upconn *u); /* an idle one leaves its pool */
bool sy_pool_evict_oldest(struct sy_worker *w);
/* sy_pool_close_all is declared in http/conn.h. */

/* Waiting requests. */
void sy_queue_push(struct sy_worker *w, sy_upnode *n, struct sy_upconn *q);
void sy_queue_remove(struct sy_upconn *q);

/* Start what can start among the waiting requests (worker tick), and free
 * entries unused for a while. */
void sy_pool_service(struct sy_worker *w);

#endif
