/* File-descriptor budget: the connection limits the process can honour.
 *
 * Every client connection and every backend connection is a descriptor,
 * and RLIMIT_NOFILE is shared by all workers, the admin listener, the
 * prober and the logs.  Running out is worse than refusing early: accept
 * fails for everyone and the prober's own connect fails, which used to
 * eject healthy nodes.  So, like HAProxy's maxconn derived from ulimit -n:
 *
 *   1. at start the soft limit is raised to the hard one;
 *   2. descriptors are reserved for what is not a proxied connection
 *      (listeners, admin connections, probes, DNS queries, logs, loops);
 *   3. what is left is split evenly between the workers, and each worker's
 *      share between client connections (Gateway.MaxConnections) and
 *      backend connections (Gateway.MaxBackendConnections) in proportion to
 *      the configured values when both do not fit;
 *   4. a configuration that does not fit is reported at start (and after a
 *      reload that changes it) with the figures and the ulimit -n it needs.
 *
 * The workers read the effective caps from the snapshot (max_clients,
 * max_backends), never the raw configured values. */
#ifndef SY_NET_LIMITS_H
#define SY_NET_LIMITS_H

#include <errno.h>
#include <stdint.h>

#include "config/model.h"

/* Raise RLIMIT_NOFILE's soft limit to the hard one; remember the result. */
void sy_limits_init(void);

/* Descriptors the process may open (RLIMIT_NOFILE after sy_limits_init). */
uint64_t sy_limits_nofile(void);

/* Descriptors kept back from the workers for `cfg`. */
uint64_t sy_limits_reserved(const sy_config *cfg);

/* Effective per-worker caps for `cfg` run by n_workers workers (at least
 * 1 each).  The snapshot keeps them (max_clients, max_backends). */
void sy_limits_caps(const sy_config *cfg, int n_workers, uint32_t *clients, uint32_t *backends);

/* Warn when `cfg`'s limits do not fit (start and reload). */
void sy_limits_check(const sy_config *cfg, int n_workers);

/* errno values that say "this process/host is out of a resource", not
 * "the peer failed": such a failure never counts against a node. */
static inline int sy_errno_local(int e)
{
    return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM ||
           e == EADDRNOTAVAIL /* no ephemeral port left */;
}

#endif
