#include "admin/upstream_report.h"

#include <stdio.h>
#include <string.h>

#include "admin/admin_int.h"
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
        json_object_set_new(o, "back_in_s", until == UINT64_MAX
                                                ? json_null()
                                                : json_real((double)(until - now) / 1000.0));
    }
    json_object_set_new(o, "active_connections", json_integer(atomic_load(&st->active)));
    json_object_set_new(o, "queued_requests", json_integer(atomic_load(&st->queued)));
    json_object_set_new(o, "consecutive_failures",
                        json_pack("{s:i, s:i, s:i}", "tcp", atomic_load(&st->tcp_fails), "timeout",
                                  atomic_load(&st->timeouts), "http", atomic_load(&st->http_fails)));
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

enum { F_HEALTHY, F_ACTIVE, F_QUEUED, F_REQ, F_FAIL, F_EJ, F_PROBE, F_PFAIL, F_N };

void sy_upstream_metrics(const sy_snapshot *s, sy_buf *out)
{
    static const struct {
        const char *name, *type, *help;
    } fam[F_N] = {
        {"switchyard_upstream_node_healthy", "gauge", "1 when the node is in rotation, 0 when ejected or disabled."},
        {"switchyard_upstream_node_active_connections", "gauge", "Upstream connections in use by requests."},
        {"switchyard_upstream_node_queued_requests", "gauge", "Requests waiting for a connection (MaxConnectionsPerNode)."},
        {"switchyard_upstream_node_requests_total", "counter", "Exchanges with the node (passive outcomes)."},
        {"switchyard_upstream_node_failures_total", "counter", "Exchanges that failed: connection errors, timeouts, UnhealthyHttpStatus."},
        {"switchyard_upstream_node_ejections_total", "counter", "Times the node was taken out of rotation."},
        {"switchyard_upstream_node_probes_total", "counter", "Active health probes sent."},
        {"switchyard_upstream_node_probe_failures_total", "counter", "Active health probes that failed."},
    };
    uint64_t now = sy_clock_ms();
    for (int f = 0; f < F_N; f++) {
        char head[400];
        int n = snprintf(head, sizeof head, "# HELP %s %s\n# TYPE %s %s\n", fam[f].name, fam[f].help,
                         fam[f].name, fam[f].type);
        sy_buf_append(out, head, (size_t)n);
        for (size_t i = 0; i < s->n_balancers; i++) {
            const sy_target_set *set = sy_balancer_targets(s->balancers[i]);
            for (size_t k = 0; k < set->n; k++) {
                const sy_target *t = &set->t[k];
                sy_node_state *st = t->st;
                uint64_t v = 0;
                switch (f) {
                case F_HEALTHY: v = strcmp(state_word(t, now), "healthy") == 0; break;
                case F_ACTIVE: v = (uint64_t)atomic_load(&st->active); break;
                case F_QUEUED: v = (uint64_t)atomic_load(&st->queued); break;
                case F_REQ: v = atomic_load(&st->requests); break;
                case F_FAIL: v = atomic_load(&st->failures); break;
                case F_EJ: v = atomic_load(&st->ejections); break;
                case F_PROBE: v = atomic_load(&st->probes); break;
                case F_PFAIL: v = atomic_load(&st->probe_failures); break;
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
