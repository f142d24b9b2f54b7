/* TKE tunnels: the pods behind the Kubernetes services of K8S upstreams,
 * followed through the Kubernetes API (doc/tunnels.md).
 *
 * One discovery thread, never a worker, runs every API request on one
 * libcurl multi handle.  Each distinct (ClusterId, Namespace, ServiceName,
 * Port, ExtraLabels) of the running configuration is a "unit":
 *   - it reads the Service (Port -> the port's name),
 *   - lists then watches the EndpointSlices labelled
 *     kubernetes.io/service-name=NAME (all of them, merged),
 *   - with ExtraLabels, lists then watches the pods with that selector.
 * Lists page with limit/continue; watches resume from the last
 * resourceVersion with bookmarks; 410 Gone or an ERROR event makes a fresh
 * list; failures back off (250 ms doubling to 30 s, jittered).
 *
 * The endpoints a unit selects (k8s_parse.h) are kept here, process-wide,
 * by unit key, so they survive reloads.  A failed request never changes
 * them: only a complete answer does (so an API server that is down, slow
 * or answering garbage leaves the last good list in place, and says so in
 * the status).  After a change the K8S balancers of the current generation
 * are rebuilt here and swapped in atomically; node health is keyed by
 * upstream id + address, so pods that stay keep theirs. */
#ifndef SY_DISCOVERY_K8S_H
#define SY_DISCOVERY_K8S_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/model.h"
#include "gen/snapshot.h"
#include "discovery/k8s_parse.h"

/* How long a new generation waits for its tunnels' first lists. */
#define SY_K8S_FIRST_SYNC_MS 3000

/* Start the thread on `s` (no-op without K8S upstreams until one is
 * published).  0 or -1. */
int sy_k8s_start(sy_snapshot *s);
/* Hand a new generation to the thread (takes a reference). */
void sy_k8s_publish(sy_snapshot *s);
/* Wait until every tunnel service of `s` has its first list, or its first
 * attempt failed, or `ms` passed.  Returns true when all are synced. */
bool sy_k8s_wait(const sy_snapshot *s, uint32_t ms);
void sy_k8s_stop(void);

/* The endpoints of one tunnel service now (copy, malloc'd into *out). */
size_t sy_k8s_endpoints(const sy_k8s_service_cfg *svc, sy_k8s_addr **out);

/* Discovery state of every service of upstream `u`, for the admin API
 * and /metrics: ClusterId, NameSpace, ServiceName, Port, Weight, State,
 * Synced, Stale, and once started Nodes, TerminatingNodes, LastSync (unix
 * time, 0 = never), LastError, WatchRestarts, Relists, Errors. */
json_t *sy_k8s_status_json(const sy_upstream_cfg *u);

#endif
