/* The health and discovery thread: one thread with its own event loop,
 * shared by all workers, that
 *   - probes every node of each upstream with EnableActiveCheck: GET
 *     ActiveCheckHttpPath every ActiveCheckInterval, ActiveCheckTimeout
 *     each, TLS for HTTPS upstreams; one probe per node at a time whatever
 *     the number of workers; results go to the shared sy_node_state;
 *   - resolves node names over UDP DNS (dns.h) and publishes new target
 *     sets to the balancers of the current generation.
 * Nothing here runs on a worker loop. */
#ifndef SY_GEN_PROBER_H
#define SY_GEN_PROBER_H

#include "gen/snapshot.h"

/* Start the thread on `s` (takes its own reference).  0 or -1. */
int sy_prober_start(sy_snapshot *s);
/* A new generation is published (call while the caller still holds s). */
void sy_prober_publish(sy_snapshot *s);
/* Stop and join; drops the reference. */
void sy_prober_stop(void);

#endif
