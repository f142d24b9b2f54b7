/* Node state for the admin API and /metrics. */
#ifndef SY_ADMIN_UPSTREAM_REPORT_H
#define SY_ADMIN_UPSTREAM_REPORT_H

#include <jansson.h>

#include "gen/snapshot.h"
#include "core/buf.h"

/* GET /v1/upstreams/{id}/health: the upstream's current targets with
 * their state, or NULL when `id` names no upstream. */
json_t *sy_upstream_health_json(const sy_snapshot *s, const char *id);

/* GET /v1/upstreams/{id}/nodes: Tencent's UpstreamNode objects (pods of
 * a K8S tunnel with their service), plus each tunnel service's discovery
 * state; NULL when `id` names no upstream. */
json_t *sy_upstream_nodes_json(const sy_snapshot *s, const char *id);

/* An explain answer whose backend is a K8S tunnel: its "nodes" and
 * "node" become the pods discovered now and the one a fresh round robin
 * picks (the router knows only the configuration). */
void sy_upstream_explain_pods(json_t *res, const sy_snapshot *s);

/* switchyard_k8s_discovery_* for each service of each K8S tunnel. */
void sy_k8s_tunnel_metrics(const sy_snapshot *s, sy_buf *out);

/* Prometheus families switchyard_upstream_node_* for every target of the
 * generation `s` (label values escaped). */
void sy_upstream_metrics(const sy_snapshot *s, sy_buf *out);

#endif
