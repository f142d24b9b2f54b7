/* Node health shared by every thread.
 *
 * One sy_node_state per (upstream id, node address), created by the main
 * thread (snapshot build) or the resolver (new DNS answers) and never
 * freed, so a node keeps its state across reloads and re-resolutions as
 * long as its upstream id and address stay the same.  Workers and the
 * prober read and update it with atomics only: no lock on the request
 * path.  The registry itself (lookup/creation) takes a mutex.
 *
 * Passive checks (workers): each exchange reports one outcome; consecutive
 * TCP failures, timeouts and HTTP failure statuses beyond their
 * HealthChecker thresholds eject the node until now + UnhealthyTimeout (or,
 * with UnhealthyTimeout 0 and active checks on, until a probe passes).  A
 * status in HealthyHttpStatus resets the counters.
 *
 * Active checks (prober thread): failed probes count against the same
 * thresholds in their own counters; one passing probe brings an ejected
 * node back. */
#ifndef SY_UPSTREAM_HEALTH_H
#define SY_UPSTREAM_HEALTH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config/model.h"

enum sy_outcome {
    SY_OUT_STATUS,  /* a response head arrived: judge its status */
    SY_OUT_TCP,     /* connect refused/failed, reset, closed early, TLS */
    SY_OUT_TIMEOUT, /* no answer within the timeout */
};

enum sy_down_by { SY_DOWN_NONE, SY_DOWN_PASSIVE, SY_DOWN_ACTIVE };

typedef struct sy_node_state {
    char *upstream_id;
    char addr[64]; /* "127.0.0.1:8080", "[::1]:80" */
    struct sockaddr_storage sa;
    socklen_t salen;
    atomic_int down;                 /* enum sy_down_by, NONE = in rotation */
    atomic_uint_fast64_t down_until; /* monotonic ms; UINT64_MAX = until a probe passes */
    atomic_uint_fast64_t down_since; /* monotonic ms */
    atomic_int tcp_fails, timeouts, http_fails;       /* passive, consecutive */
    atomic_int p_tcp_fails, p_timeouts, p_http_fails; /* probes, consecutive */
    atomic_int active;                                /* connections in use by requests */
    atomic_int queued;                                /* requests waiting for one (all workers) */
    atomic_int last_probe_status;                     /* 0 none, -1 failed to connect/timed out */
    atomic_uint_fast64_t requests, failures, ejections, probes, probe_failures;
    _Atomic(void *) tls_session; /* SSL_SESSION * kept for resumption */
    struct sy_node_state *next;  /* registry list */
} sy_node_state;

/* Find or create the state for `id` + address (port included). */
sy_node_state *sy_node_state_get(const char *id, const struct sockaddr *sa, socklen_t len);

/* In rotation now?  An expired passive ejection puts the node back. */
bool sy_node_usable(sy_node_state *st, uint64_t now);

/* A request's outcome (passive checks; also the counters for metrics). */
void sy_node_passive(sy_node_state *st, const sy_health_cfg *h, enum sy_outcome o, int status,
                     uint64_t now);
/* A probe's outcome (active checks). */
void sy_node_probe(sy_node_state *st, const sy_health_cfg *h, enum sy_outcome o, int status,
                   uint64_t now);

static inline bool sy_status_in(const sy_status_set *s, int code)
{
    if (code < 100 || code > 599)
        return false;
    unsigned i = (unsigned)(code - 100);
    return (s->bits[i / 64] >> (i % 64)) & 1;
}

/* Visit every state (admin, metrics).  Holds the registry lock. */
void sy_node_state_foreach(void (*fn)(void *ud, sy_node_state *st), void *ud);

#endif
