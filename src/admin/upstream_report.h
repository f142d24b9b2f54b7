/* Node state for the admin API and /metrics. */
#ifndef SY_ADMIN_UPSTREAM_REPORT_H
#define SY_ADMIN_UPSTREAM_REPORT_H

#include <jansson.h>

#include "gen/snapshot.h"
#include "core/buf.h"

/* GET /v1/upstreams/{id}/health: the upstream's current targets with
 * their state, or NULL when `id` names no upstream. */
json_t *sy_upstream_health_json(const sy_snapshot *s, const char *id);

/* Prometheus families switchyard_upstream_node_* for every target of the
 * generation `s` (label values escaped). */
void sy_upstream_metrics(const sy_snapshot *s, sy_buf *out);

#endif
