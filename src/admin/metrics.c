/* Prometheus text exposition (format 0.0.4) of the stats counters.
 *
 * Every family has # HELP and # TYPE and is listed in doc/metrics.md
 * (the suite checks both ways).  Series appear once their first request
 * has finished; only status classes that counted something are written.
 * Histograms use the fixed buckets of stats.h, cumulated here: the
 * workers keep one counter per bucket, the scrape adds them up. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <time.h>

#include "admin/admin_int.h"
#include "stats/stats.h"
#include "net/loop.h"
#include "net/tls_server.h"
#include "admin/upstream_report.h"
#include "store/fleet.h"
#include "version.h"
#include "rollout/rollout.h"

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

/* name{labels of s, extra label} v */
static void sample(sy_buf *b, const char *name, const char *const *lk, int nl,
                   const sy_stats_series *s, const char *xk, const char *xv, uint64_t v)
{
    sy_buf_append_str(b, name);
    sy_buf_append(b, "{", 1);
    for (int i = 0; i < nl; i++)
        label(b, lk[i], s->labels[i], i == 0);
    if (xk)
        label(b, xk, xv, nl == 0);
    value(b, v);
}

/* A histogram's _bucket (cumulative), _sum (seconds) and _count lines. */
static void histogram(sy_buf *b, const char *base, const char *const *lk, int nl,
                      const sy_stats_series *s)
{
    char name[128], num[64];
    uint64_t cum = 0;
    snprintf(name, sizeof name, "%s_bucket", base);
    for (int k = 0; k <= SY_STATS_BUCKETS; k++) {
        cum += s->bucket[k];
        sample(b, name, lk, nl, s, "le", k < SY_STATS_BUCKETS ? sy_stats_bucket_le[k] : "+Inf",
               cum);
    }
    sy_buf_append_str(b, base);
    sy_buf_append(b, "_sum{", 5);
    for (int i = 0; i < nl; i++)
        label(b, lk[i], s->labels[i], i == 0);
    int n = snprintf(num, sizeof num, "} %llu.%06llu\n", (unsigned long long)(s->sum_us / 1000000),
                     (unsigned long long)(s->sum_us % 1000000));
    sy_buf_append(b, num, (size_t)n);
    snprintf(name, sizeof name, "%s_count", base);
    sample(b, name, lk, nl, s, NULL, NULL, cum);
}

enum { F_REQ, F_DUR, F_BIN, F_BOUT, F_PMATCH, F_PREQ, F_PDUR, F_UDUR, F_N };

static const struct {
    const char *name, *type, *help;
} fams[F_N] = {
    [F_REQ] = {"switchyard_requests_total", "counter",
               "Finished requests by service, environment, API and status class "
               "(empty labels: the request got no further)."},
    [F_DUR] = {"switchyard_request_duration_seconds", "histogram",
               "Time from a request's first byte to its last response byte, by service, "
               "environment and API."},
    [F_BIN] = {"switchyard_received_bytes_total", "counter",
               "Request body bytes received from clients, by service, environment and API."},
    [F_BOUT] = {"switchyard_sent_bytes_total", "counter",
                "Response bytes (head and body) sent to clients, by service, environment and API."},
    [F_PMATCH] = {"switchyard_policy_matches_total", "counter",
                  "Requests a Routing policy matched (sent to its backend)."},
    [F_PREQ] = {"switchyard_policy_requests_total", "counter",
                "Requests a Routing policy matched, by status class of the response."},
    [F_PDUR] = {"switchyard_policy_request_duration_seconds", "histogram",
                "Duration of the requests a Routing policy matched."},
    [F_UDUR] = {"switchyard_upstream_request_duration_seconds", "histogram",
                "Duration of the requests sent to an upstream (retries included)."},
};

static void on_series(void *ud, const sy_stats_series *s)
{
    sy_buf *f = ud;
    static const char *const api_l[] = {"service", "env", "api"};
    static const char *const pol_l[] = {"plugin", "policy"};
    static const char *const ups_l[] = {"upstream"};
    if (s->kind == SY_STATS_UPSTREAM) {
        histogram(&f[F_UDUR], fams[F_UDUR].name, ups_l, 1, s);
        return;
    }
    bool pol = s->kind == SY_STATS_POLICY;
    const char *const *lk = pol ? pol_l : api_l;
    int nl = pol ? 2 : 3;
    int by_class = pol ? F_PREQ : F_REQ;
    for (int k = 0; k < SY_STATS_CLASSES; k++)
        if (s->by_class[k])
            sample(&f[by_class], fams[by_class].name, lk, nl, s, "code_class",
                   sy_stats_class_names[k], s->by_class[k]);
    if (pol) {
        sample(&f[F_PMATCH], fams[F_PMATCH].name, lk, nl, s, NULL, NULL, s->matched);
        histogram(&f[F_PDUR], fams[F_PDUR].name, lk, nl, s);
        return;
    }
    histogram(&f[F_DUR], fams[F_DUR].name, lk, nl, s);
    sample(&f[F_BIN], fams[F_BIN].name, lk, nl, s, NULL, NULL, s->bytes_in);
    sample(&f[F_BOUT], fams[F_BOUT].name, lk, nl, s, NULL, NULL, s->bytes_out);
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

static void scalar_real(sy_buf *out, const char *name, const char *help, double v)
{
    family(out, name, "gauge", help, NULL);
    char line[160];
    int n = snprintf(line, sizeof(line), "%s %.3f\n", name, v);
    sy_buf_append(out, line, (size_t)n);
}

static void build_info(sy_buf *out)
{
    sy_buf b = {0};
    sy_buf_append_str(&b, "switchyard_build_info{");
    label(&b, "version", SY_VERSION, true);
    label(&b, "openssl", OpenSSL_version(OPENSSL_VERSION), false);
    label(&b, "compiler", __VERSION__, false);
    value(&b, 1);
    family(out, "switchyard_build_info", "gauge",
           "Always 1; the labels say which build is running.", &b);
    sy_buf_free(&b);
}

void sy_admin_metrics(const sy_snapshot *s, sy_buf *out)
{
    sy_buf f[F_N] = {{0}};
    sy_stats_foreach(on_series, f);
    for (int i = 0; i < F_N; i++) {
        family(out, fams[i].name, fams[i].type, fams[i].help, &f[i]);
        sy_buf_free(&f[i]);
    }
    build_info(out);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    double up_s = (double)(sy_clock_ms() - sy_admin_env.started_ms) / 1000.0;
    scalar_real(out, "switchyard_start_time_seconds", "Unix time the process started.",
                (double)now.tv_sec + (double)now.tv_nsec / 1e9 - up_s);
    scalar(out, "switchyard_config_generation", "gauge",
           "Generation number of the configuration being served.", s->generation);
    scalar(out, "switchyard_config_version", "gauge",
           "Version of the configuration being served (raised by every change).", s->cfg->version);
    scalar(out, "switchyard_config_reloads_total", "counter",
           "Configurations that took effect (SIGHUP, admin change, etcd revision).",
           sy_stats_reloads(true));
    scalar(out, "switchyard_config_reload_failures_total", "counter",
           "Configuration reloads refused (the running configuration stayed).",
           sy_stats_reloads(false));
    double at;
    bool ok;
    bool any = sy_admin_last_reload(&at, &ok, NULL, 0);
    scalar_real(out, "switchyard_config_last_reload_timestamp_seconds",
                "Unix time of the last reload since start (0: none yet).", any ? at : 0);
    scalar(out, "switchyard_config_last_reload_success", "gauge",
           "1 unless the last reload was refused.", !any || ok);
    scalar(out, "switchyard_workers", "gauge", "Worker threads.", (uint64_t)s->n_workers);
    scalar(out, "switchyard_client_connections", "gauge",
           "Client connections open (TCP, TLS or HTTP/2; not streams).",
           sy_stats_gauge(SY_GAUGE_CLIENT_CONNS));
    scalar(out, "switchyard_backend_connections", "gauge",
           "Connections to backends open (in use, connecting or idle in the keep-alive pools).",
           sy_stats_gauge(SY_GAUGE_BACKEND_CONNS));
    scalar(out, "switchyard_client_buffers", "gauge",
           "Client receive buffers held by connections (an idle keep-alive connection holds none).",
           sy_stats_rbufs());
    sy_upstream_metrics(s, out);
    sy_k8s_tunnel_metrics(s, out);   /* TKE tunnel discovery state (admin/upstream_report.c) */
    sy_stls_metrics(out);            /* TLS handshakes and failures (net/tls_server.c) */
    sy_fleet_metrics(out);           /* etcd store: applied revision, lag, staleness */
    sy_rollout_metrics(s->cfg, out); /* per rollout: share, phase, arms (rollout/metrics.c) */
}
