/* Prometheus text exposition (format 0.0.4) of the stats counters.
 *
 * Families, each with # HELP and # TYPE:
 *   switchyard_requests_total{service,env,api,code_class}     counter
 *   switchyard_policy_matches_total{plugin,policy}            counter
 *   switchyard_policy_requests_total{plugin,policy,code_class} counter
 *   switchyard_config_generation                              gauge
 *   switchyard_config_version                                 gauge
 *   switchyard_config_reloads_total / _reload_failures_total  counter
 *   switchyard_workers                                        gauge
 *   switchyard_client_buffers                                 gauge
 * Only status classes that counted something are written; a series
 * appears once its first request has finished. */
#include <stdio.h>

#include "admin/admin_int.h"
#include "stats/stats.h"
#include "net/tls_server.h"
#include "admin/upstream_report.h"
#include "store/fleet.h"

static const char *class_names[SY_STATS_CLASSES] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};

void sy_prom_escape(sy_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            sy_buf_append(b, "\\\\", 2);
        else if (*s == '"')
            sy_buf_append(b, "\\\"", 2);
        else if (*s == '\n')
            sy_buf_append(b, "\\n", 2);
        else
            sy_buf_append(b, s, 1);
    }
}

static void label(sy_buf *b, const char *name, const char *val, bool first)
{
    if (!first)
        sy_buf_append(b, ",", 1);
    sy_buf_append_str(b, name);
    sy_buf_append(b, "=\"", 2);
    sy_prom_escape(b, val);
    sy_buf_append(b, "\"", 1);
}

static void value(sy_buf *b, uint64_t v)
{
    char num[32];
    int n = snprintf(num, sizeof(num), "} %llu\n", (unsigned long long)v);
    sy_buf_append(b, num, (size_t)n);
}

typedef struct families {
    sy_buf req, match, preq;
} families;

static void on_series(void *ud, const sy_stats_series *s)
{
    families *f = ud;
    const char *lk[3] = {"service", "env", "api"};
    int nl = 3;
    sy_buf *by_class = &f->req;
    const char *by_class_name = "switchyard_requests_total{";
    if (s->kind == SY_STATS_POLICY) {
        lk[0] = "plugin";
        lk[1] = "policy";
        nl = 2;
        by_class = &f->preq;
        by_class_name = "switchyard_policy_requests_total{";
        sy_buf_append_str(&f->match, "switchyard_policy_matches_total{");
        for (int i = 0; i < nl; i++)
            label(&f->match, lk[i], s->labels[i], i == 0);
        value(&f->match, s->matched);
    }
    for (int k = 0; k < SY_STATS_CLASSES; k++) {
        if (!s->by_class[k])
            continue;
        sy_buf_append_str(by_class, by_class_name);
        for (int i = 0; i < nl; i++)
            label(by_class, lk[i], s->labels[i], i == 0);
        label(by_class, "code_class", class_names[k], false);
        value(by_class, s->by_class[k]);
    }
}

static void family(sy_buf *out, const char *name, const char *type, const char *help, sy_buf *body)
{
    char head[512];
    int n = snprintf(head, sizeof(head), "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    sy_buf_append(out, head, (size_t)n);
    if (body && sy_buf_pending(body))
        sy_buf_append(out, body->data + body->off, sy_buf_pending(body));
}

static void scalar(sy_buf *out, const char *name, const char *type, const char *help, uint64_t v)
{
    family(out, name, type, help, NULL);
    char line[160];
    int n = snprintf(line, sizeof(line), "%s %llu\n", name, (unsigned long long)v);
    sy_buf_append(out, line, (size_t)n);
}

void sy_admin_metrics(const sy_snapshot *s, sy_buf *out)
{
    families f = {{0}, {0}, {0}};
    sy_stats_foreach(on_series, &f);
    family(out, "switchyard_requests_total", "counter",
           "Finished requests by service, environment, API and status class "
           "(empty labels: the request got no further).", &f.req);
    family(out, "switchyard_policy_matches_total", "counter",
           "Requests a Routing policy matched (sent to its backend).", &f.match);
    family(out, "switchyard_policy_requests_total", "counter",
           "Requests a Routing policy matched, by status class of the response.", &f.preq);
    scalar(out, "switchyard_config_generation", "gauge",
           "Generation number of the configuration being served.", s->generation);
    scalar(out, "switchyard_config_version", "gauge",
           "Version of the configuration being served (raised by every change).",
           s->cfg->version);
    scalar(out, "switchyard_config_reloads_total", "counter",
           "Configuration reloads that took effect.", sy_stats_reloads(true));
    scalar(out, "switchyard_config_reload_failures_total", "counter",
           "Configuration reloads refused (the running configuration stayed).",
           sy_stats_reloads(false));
    scalar(out, "switchyard_workers", "gauge", "Worker threads.", (uint64_t)s->n_workers);
    scalar(out, "switchyard_client_buffers", "gauge",
           "Client receive buffers held by connections (an idle keep-alive connection holds none).",
           sy_stats_rbufs());
    sy_upstream_metrics(s, out);
    sy_k8s_tunnel_metrics(s, out); /* TKE tunnel discovery state (admin/upstream_report.c) */
    sy_stls_metrics(out); /* TLS handshakes and failures (net/tls_server.c) */
    sy_fleet_metrics(out); /* etcd store: applied revision, lag, staleness */
    sy_buf_free(&f.req);
    sy_buf_free(&f.match);
    sy_buf_free(&f.preq);
}
