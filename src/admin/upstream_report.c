#include "admin/upstream_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin_int.h"
#include "discovery/k8s.h"
#include "net/loop.h"
#include "upstream/balancer.h"
#include "upstream/health.h"

static const char *state_word(const sy_target *t, uint64_t now)
{
    if (t->weight <= 0)
        return "disabled";
    int down = atomic_load(&t->st->down);
    if (down == SY_DOWN_NONE || now >= atomic_load(&t->st->down_until))
        return "healthy";
    return "unhealthy";
}

static json_t *target_json(const sy_target *t, uint64_t now)
{
    sy_node_state *st = t->st;
    int down = atomic_load(&st->down);
    const char *state = state_word(t, now);
    json_t *o = json_object();
    json_object_set_new(o, "address", json_string(st->addr));
    json_object_set_new(o, "host", json_string(t->ep.host));
    json_object_set_new(o, "port", json_integer(t->ep.port));
    json_object_set_new(o, "weight", json_integer(t->weight));
    json_object_set_new(o, "node", json_integer(t->node));
    json_object_set_new(o, "state", json_string(state));
    if (strcmp(state, "unhealthy") == 0) {
        uint64_t since = atomic_load(&st->down_since), until = atomic_load(&st->down_until);
        json_object_set_new(o, "ejected_by",
                            json_string(down == SY_DOWN_ACTIVE ? "active" : "passive"));
        json_object_set_new(o, "ejected_for_s", json_real((double)(now - since) / 1000.0));
        json_object_set_new(o, "back_in_s",
                            until == UINT64_MAX ? json_null()
                                                : json_real((double)(until - now) / 1000.0));
    }
    json_object_set_new(o, "active_connections", json_integer(atomic_load(&st->active)));
    json_object_set_new(o, "queued_requests", json_integer(atomic_load(&st->queued)));
    json_object_set_new(o, "consecutive_failures",
                        json_pack("{s:i, s:i, s:i}", "tcp", atomic_load(&st->tcp_fails), "timeout",
                                  atomic_load(&st->timeouts), "http",
                                  atomic_load(&st->http_fails)));
    json_object_set_new(o, "requests", json_integer((json_int_t)atomic_load(&st->requests)));
    json_object_set_new(o, "failures", json_integer((json_int_t)atomic_load(&st->failures)));
    json_object_set_new(o, "ejections", json_integer((json_int_t)atomic_load(&st->ejections)));
    json_object_set_new(o, "probes", json_integer((json_int_t)atomic_load(&st->probes)));
    json_object_set_new(o, "probe_failures",
                        json_integer((json_int_t)atomic_load(&st->probe_failures)));
    int lp = atomic_load(&st->last_probe_status);
    json_object_set_new(o, "last_probe_status", lp == 0 ? json_null() : json_integer(lp));
    return o;
}

json_t *sy_upstream_health_json(const sy_snapshot *s, const char *id)
{
    for (size_t i = 0; i < s->n_balancers; i++) {
        const sy_upstream_cfg *u = &s->cfg->upstreams[i];
        if (strcmp(u->id, id) != 0)
            continue;
        sy_balancer *b = s->balancers[i];
        const sy_target_set *set = sy_balancer_targets(b);
        uint64_t now = sy_clock_ms();
        const sy_health_cfg *h = &u->health;
        json_t *o = json_object();
        json_object_set_new(o, "upstream", json_string(u->id));
        json_object_set_new(o, "name", u->name ? json_string(u->name) : json_null());
        json_object_set_new(o, "scheme", json_string(u->scheme));
        json_object_set_new(o, "algorithm", json_string(u->algorithm));
        json_object_set_new(o, "active_checks", json_boolean(h->enable_active));
        json_object_set_new(o, "passive_checks", json_boolean(h->enable_passive));
        json_t *nodes = json_array();
        size_t healthy = 0;
        for (size_t k = 0; k < set->n; k++) {
            json_array_append_new(nodes, target_json(&set->t[k], now));
            healthy += strcmp(state_word(&set->t[k], now), "healthy") == 0;
        }
        json_object_set_new(o, "healthy_nodes", json_integer((json_int_t)healthy));
        json_object_set_new(o, "nodes", nodes);
        /* Names that resolved to nothing yet have no target. */
        json_t *unresolved = json_array();
        for (size_t k = 0; k < u->n_nodes; k++) {
            bool found = false;
            for (size_t j = 0; j < set->n && !found; j++)
                found = set->t[j].node == (int)k;
            if (!found && !u->nodes[k].ep.addrlen)
                json_array_append_new(unresolved, json_string(u->nodes[k].ep.host));
        }
        json_object_set_new(o, "unresolved", unresolved);
        return o;
    }
    return NULL;
}

/* Tencent's UpstreamNode for one target: Healthy is HEALTHY, UNHEALTHY or
 * OFF (weight 0); discovered pods carry their service and Source "K8S".
 * UniqueServiceName is ClusterId#Namespace#ServiceName. */
static json_t *upstream_node(const sy_upstream_cfg *u, const sy_target *t, uint64_t now)
{
    const char *w = state_word(t, now);
    const char *healthy = strcmp(w, "healthy") == 0    ? "HEALTHY"
                          : strcmp(w, "disabled") == 0 ? "OFF"
                                                       : "UNHEALTHY";
    json_t *o = json_pack("{s:s, s:i, s:s}", "Host", t->ep.host, "Port", (int)t->ep.port, "Healthy",
                          healthy);
    if (t->svc >= 0 && (size_t)t->svc < u->n_k8s_services) {
        const sy_k8s_service_cfg *k = &u->k8s_services[t->svc];
        char uniq[400];
        snprintf(uniq, sizeof uniq, "%s#%s#%s", k->cluster_id, k->ns, k->service);
        json_object_set_new(o, "Weight", json_integer(k->weight));
        json_object_set_new(o, "ServiceName", json_string(k->service));
        json_object_set_new(o, "NameSpace", json_string(k->ns));
        json_object_set_new(o, "ClusterId", json_string(k->cluster_id));
        json_object_set_new(o, "Source", json_string("K8S"));
        json_object_set_new(o, "UniqueServiceName", json_string(uniq));
        if (k->name)
            json_object_set_new(o, "Name", json_string(k->name));
    } else {
        json_object_set_new(o, "Weight", json_integer(t->weight));
    }
    return o;
}

json_t *sy_upstream_nodes_json(const sy_snapshot *s, const char *id)
{
    for (size_t i = 0; i < s->n_balancers; i++) {
        const sy_upstream_cfg *u = &s->cfg->upstreams[i];
        if (strcmp(u->id, id) != 0)
            continue;
        const sy_target_set *set = sy_balancer_targets(s->balancers[i]);
        uint64_t now = sy_clock_ms();
        json_t *nodes = json_array();
        for (size_t k = 0; k < set->n; k++)
            json_array_append_new(nodes, upstream_node(u, &set->t[k], now));
        json_t *o = json_pack("{s:s, s:s, s:I, s:o}", "UpstreamId", u->id, "UpstreamType",
                              u->k8s ? "K8S" : "IP_PORT", "TotalCount", (json_int_t)set->n,
                              "UpstreamNodeSet", nodes);
        if (u->k8s)
            json_object_set_new(o, "Discovery", sy_k8s_status_json(u));
        return o;
    }
    return NULL;
}

void sy_upstream_explain_pods(json_t *res, const sy_snapshot *s)
{
    const char *id =
        json_string_value(json_object_get(json_object_get(res, "backend"), "upstream"));
    for (size_t i = 0; id && i < s->n_balancers; i++) {
        const sy_upstream_cfg *u = &s->cfg->upstreams[i];
        if (!u->k8s || strcmp(u->id, id) != 0)
            continue;
        const sy_target_set *set = sy_balancer_targets(s->balancers[i]);
        uint64_t now = sy_clock_ms();
        json_t *nodes = json_array();
        int best = -1;
        for (size_t k = 0; k < set->n; k++) {
            const sy_target *t = &set->t[k];
            if (t->weight <= 0)
                continue;
            bool ok = sy_node_usable(t->st, now);
            json_array_append_new(nodes,
                                  json_pack("{s:s, s:i, s:i, s:s, s:b}", "host", t->ep.host, "port",
                                            (int)t->ep.port, "weight", t->weight, "service",
                                            u->k8s_services[t->svc].service, "healthy", ok));
            if (ok && (best < 0 || t->weight > set->t[best].weight))
                best = (int)k;
        }
        json_object_set_new(
            res, "balancing",
            json_string("weighted round robin over the discovered pods (per worker)"));
        json_object_set_new(res, "nodes", nodes);
        json_object_set_new(res, "node",
                            best < 0 ? json_null()
                                     : json_pack("{s:s, s:i}", "host", set->t[best].ep.host, "port",
                                                 (int)set->t[best].ep.port));
        return;
    }
}

enum { F_HEALTHY, F_ACTIVE, F_QUEUED, F_REQ, F_FAIL, F_EJ, F_PROBE, F_PFAIL, F_N };

void sy_upstream_metrics(const sy_snapshot *s, sy_buf *out)
{
    static const struct {
        const char *name, *type, *help;
    } fam[F_N] = {
        {"switchyard_upstream_node_healthy", "gauge",
         "1 when the node is in rotation, 0 when ejected or disabled."},
        {"switchyard_upstream_node_active_connections", "gauge",
         "Upstream connections in use by requests."},
        {"switchyard_upstream_node_queued_requests", "gauge",
         "Requests waiting for a connection (MaxConnectionsPerNode)."},
        {"switchyard_upstream_node_requests_total", "counter",
         "Exchanges with the node (passive outcomes)."},
        {"switchyard_upstream_node_failures_total", "counter",
         "Exchanges that failed: connection errors, timeouts, UnhealthyHttpStatus."},
        {"switchyard_upstream_node_ejections_total", "counter",
         "Times the node was taken out of rotation."},
        {"switchyard_upstream_node_probes_total", "counter", "Active health probes sent."},
        {"switchyard_upstream_node_probe_failures_total", "counter",
         "Active health probes that failed."},
    };
    uint64_t now = sy_clock_ms();
    for (int f = 0; f < F_N; f++) {
        char head[400];
        int n = snprintf(head, sizeof head, "# HELP %s %s\n# TYPE %s %s\n", fam[f].name,
                         fam[f].help, fam[f].name, fam[f].type);
        sy_buf_append(out, head, (size_t)n);
        for (size_t i = 0; i < s->n_balancers; i++) {
            const sy_target_set *set = sy_balancer_targets(s->balancers[i]);
            for (size_t k = 0; k < set->n; k++) {
                const sy_target *t = &set->t[k];
                sy_node_state *st = t->st;
                uint64_t v = 0;
                switch (f) {
                case F_HEALTHY:
                    v = strcmp(state_word(t, now), "healthy") == 0;
                    break;
                case F_ACTIVE:
                    v = (uint64_t)atomic_load(&st->active);
                    break;
                case F_QUEUED:
                    v = (uint64_t)atomic_load(&st->queued);
                    break;
                case F_REQ:
                    v = atomic_load(&st->requests);
                    break;
                case F_FAIL:
                    v = atomic_load(&st->failures);
                    break;
                case F_EJ:
                    v = atomic_load(&st->ejections);
                    break;
                case F_PROBE:
                    v = atomic_load(&st->probes);
                    break;
                case F_PFAIL:
                    v = atomic_load(&st->probe_failures);
                    break;
                }
                sy_buf_append_str(out, fam[f].name);
                sy_buf_append_str(out, "{upstream=\"");
                sy_prom_escape(out, s->cfg->upstreams[i].id);
                sy_buf_append_str(out, "\",node=\"");
                sy_prom_escape(out, st->addr);
                char num[40];
                n = snprintf(num, sizeof num, "\"} %llu\n", (unsigned long long)v);
                sy_buf_append(out, num, (size_t)n);
            }
        }
    }
}

void sy_k8s_tunnel_metrics(const sy_snapshot *s, sy_buf *out)
{
    static const struct {
        const char *name, *type, *field, *help;
    } fam[] = {
        {"switchyard_k8s_discovery_synced", "gauge", "Synced",
         "1 when the tunnel service has a complete list from the API server."},
        {"switchyard_k8s_discovery_stale", "gauge", "Stale",
         "1 when the last API request failed and the last good list is in use."},
        {"switchyard_k8s_discovery_last_sync_timestamp_seconds", "gauge", "LastSync",
         "Unix time of the last good list, watch event or bookmark."},
        {"switchyard_k8s_discovery_nodes", "gauge", "Nodes", "Pods taking traffic."},
        {"switchyard_k8s_discovery_terminating_nodes", "gauge", "TerminatingNodes",
         "Serving+terminating pods in use because no ready pod is left."},
        {"switchyard_k8s_discovery_watch_restarts_total", "counter", "WatchRestarts",
         "Watches that ended and were started again."},
        {"switchyard_k8s_discovery_relists_total", "counter", "Relists",
         "Complete lists (first, after 410 Gone, after a refused event)."},
        {"switchyard_k8s_discovery_errors_total", "counter", "Errors",
         "Failed API requests (down, slow, refused, garbage)."},
    };
    json_t **st = sy_calloc(s->cfg->n_upstreams + 1, sizeof *st);
    bool any = false;
    for (size_t i = 0; i < s->cfg->n_upstreams; i++)
        if (s->cfg->upstreams[i].k8s) {
            st[i] = sy_k8s_status_json(&s->cfg->upstreams[i]);
            any = true;
        }
    for (size_t f = 0; any && f < sizeof fam / sizeof fam[0]; f++) {
        char line[512];
        int n = snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n", fam[f].name,
                         fam[f].help, fam[f].name, fam[f].type);
        sy_buf_append(out, line, (size_t)n);
        for (size_t i = 0; i < s->cfg->n_upstreams; i++) {
            size_t j;
            json_t *o;
            json_array_foreach(st[i], j, o)
            {
                json_t *v = json_object_get(o, fam[f].field);
                double x = json_is_boolean(v) ? json_is_true(v) : json_number_value(v);
                sy_buf_append_str(out, fam[f].name);
                sy_buf_append_str(out, "{upstream=\"");
                sy_prom_escape(out, s->cfg->upstreams[i].id);
                static const char *const labels[] = {"cluster",   "ClusterId", "namespace",
                                                     "NameSpace", "service",   "ServiceName"};
                for (int l = 0; l < 6; l += 2) {
                    n = snprintf(line, sizeof line, "\",%s=\"", labels[l]);
                    sy_buf_append(out, line, (size_t)n);
                    sy_prom_escape(out, json_string_value(json_object_get(o, labels[l + 1])));
                }
                n = snprintf(line, sizeof line,
                             strcmp(fam[f].field, "LastSync") == 0 ? "\",index=\"%zu\"} %.3f\n"
                                                                   : "\",index=\"%zu\"} %.0f\n",
                             j, x);
                sy_buf_append(out, line, (size_t)n);
            }
        }
    }
    for (size_t i = 0; i < s->cfg->n_upstreams; i++)
        json_decref(st[i]);
    free(st);
}
