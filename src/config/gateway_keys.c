/* Every Gateway key in one table: the loader's list of known keys, the
 * numeric keys' parsing (kind, field, default, range), the dump, and the
 * key reference in doc/config.md, which `switchyard config-keys` prints
 * from this table (a test checks the two are the same), so the parser and
 * the documentation cannot disagree (nginx keeps its directives the same
 * way).  Keys with their own loader in gateway.c have kind SY_GWN_NONE and
 * give their default and range as text; "Tls.X" rows document nested keys. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "config/fields.h"

#define GW(f) offsetof(sy_gateway_cfg, f)

/* Ranges are sanity bounds: wide enough for any real deployment, narrow
 * enough to catch a unit slip (milliseconds written where seconds go). */
const sy_gw_key sy_gw_keys[] = {
    {"Listen", SY_GWN_NONE, 0, 0, 0, 0, "list of `host:port`", "`[\"0.0.0.0:8080\"]`",
     "IPv4, `[IPv6]:port`, `localhost`",
     "Addresses client traffic is accepted on. Host names other than `localhost` are refused."},
    {"AdminListen", SY_GWN_NONE, 0, 0, 0, 0, "`host:port` or `off`", "`127.0.0.1:9180`",
     "as `Listen`",
     "Admin API address; `off` disables it. A non-loopback address needs `AdminToken` (or the "
     "`SWITCHYARD_ADMIN_TOKEN` environment variable at load time), otherwise the file is refused."},
    {"AdminToken", SY_GWN_NONE, 0, 0, 0, 0, "string", "unset", "non-empty",
     "Bearer token the admin API requires."},
    {"Workers", SY_GWN_NONE, 0, 0, 0, 0, "integer", "`0`", "0..256",
     "Worker threads; 0 = one per CPU core."},
    {"TrustedProxies", SY_GWN_NONE, 0, 0, 0, 0, "list of strings", "empty",
     "`10.0.0.0/8`, `192.0.2.7`, `2001:db8::/32`",
     "Peers whose `X-Forwarded-For` is believed when finding the client address. A bare address is "
     "a single host."},
    {"AccessLog", SY_GWN_NONE, 0, 0, 0, 0, "string", "`-`", "path, `-`, `off`",
     "Access log file (one JSON object per line); `-` is standard output, `off` disables it. "
     "Opened at start; SIGUSR1 reopens it (logrotate), a reload does not move it."},
    {"AccessLogFields", SY_GWN_NONE, 0, 0, 0, 0, "list of strings", "every field",
     "`time`, `request_id`, `client`, `method`, `host`, `path`, `query`, `user_agent`, `service`, "
     "`env`, `api`, `policy`, `upstream`, `node`, `upstream_status`, `error`, `proto`, `tls`, "
     "`alpn`, `status`, `bytes_sent`, `bytes_received`, `attempts`, `duration_ms`, `upstream_ms`",
     "The fields of each access log line, in this order. `client` is the client address after "
     "`TrustedProxies`; `upstream_status` the backend's status (null when none answered); `tls` "
     "the TLS version; `bytes_sent`/`bytes_received` count the response and request bodies; "
     "`upstream_ms` is the time to the backend's response head (-1 when none)."},
    {"AuditLog", SY_GWN_NONE, 0, 0, 0, 0, "string", "`-`", "path, `-`, `off`",
     "Audit log: one JSON line per admin API change that was applied (time, token, client, method, "
     "path, status, Version before and after). `-` is standard error (beside the error log). "
     "SIGUSR1 reopens it."},
    {"ErrorLog", SY_GWN_NONE, 0, 0, 0, 0, "string", "standard error", "path", "Error log file."},
    {"LogLevel", SY_GWN_NONE, 0, 0, 0, 0, "string", "`info`", "`debug`, `info`, `warn`, `error`",
     "Minimum level written to the error log."},
    {"RequestHeaderTimeout", SY_GWN_MS, GW(header_timeout_ms), 10, 0.1, 3600, "seconds", NULL, NULL,
     "Whole time allowed to receive a request's line and headers."},
    {"RequestBodyTimeout", SY_GWN_MS, GW(body_timeout_ms), 30, 0.1, 3600, "seconds", NULL, NULL,
     "Longest pause between two reads of a request body."},
    {"RequestBodyMinRate", SY_GWN_U32, GW(body_min_rate), 1024, 0, 1e9, "integer (bytes/s)", NULL,
     NULL, "Slowest body upload accepted after the grace period; 0 disables the check."},
    {"RequestBodyRateGrace", SY_GWN_MS, GW(body_rate_grace_ms), 10, 0, 3600, "seconds", NULL, NULL,
     "Time before `RequestBodyMinRate` applies."},
    {"IdleTimeout", SY_GWN_MS, GW(idle_timeout_ms), 15, 0.1, 3600, "seconds", NULL, NULL,
     "Keep-alive client connection idle time."},
    {"SendTimeout", SY_GWN_MS, GW(send_timeout_ms), 30, 0.1, 3600, "seconds", NULL, NULL,
     "Longest time a client may leave a response unread."},
    {"ConnectTimeout", SY_GWN_MS, GW(connect_timeout_ms), 2, 0.01, 600, "seconds", NULL, NULL,
     "Connecting to an upstream node."},
    {"UpstreamIdleTimeout", SY_GWN_MS, GW(upstream_idle_ms), 30, 0, 3600, "seconds", NULL, NULL,
     "How long an idle pooled upstream connection is kept (an upstream's `KeepaliveTimeout` "
     "overrides it; also used for `Url` backends)."},
    {"GracePeriod", SY_GWN_MS, GW(grace_ms), 10, 0, 3600, "seconds", NULL, NULL,
     "On SIGTERM, how long in-flight requests may finish."},
    {"MaxRequestLineBytes", SY_GWN_U32, GW(max_request_line), 8192, 256, 1048576, "integer", NULL,
     NULL, "Longer request lines get 414."},
    {"MaxHeaderBytes", SY_GWN_U32, GW(max_header_bytes), 32768, 1024, 16777216, "integer", NULL,
     NULL, "Larger header blocks get 431."},
    {"MaxHeaders", SY_GWN_U32, GW(max_headers), 100, 1, 10000, "integer", NULL, NULL,
     "More header fields get 431."},
    {"MaxBodyBytes", SY_GWN_U64, GW(max_body_bytes), 104857600, 0, 1099511627776.0, "integer", NULL,
     NULL, "Larger bodies get 413; 0 = unlimited."},
    {"MaxConnections", SY_GWN_U32, GW(max_connections), 10000, 1, 1000000, "integer", NULL, NULL,
     "Client connections per worker (within the file descriptor budget, below); more are accepted "
     "and closed at once."},
    {"MaxBackendConnections", SY_GWN_U32, GW(max_backend_connections), 10000, 1, 1000000, "integer",
     NULL, NULL,
     "Backend connections (in use and idle) per worker, within the file descriptor budget. At the "
     "cap the worker's least recently used idle connection (to any node) is closed to make room; "
     "with none idle the request waits in its node's queue like one over `MaxConnectionsPerNode` "
     "(then 503 after `QueueTimeout`)."},
    {"MaxKeepaliveRequests", SY_GWN_U32, GW(max_keepalive_requests), 1000, 1, 1e9, "integer", NULL,
     NULL, "Requests served on one client connection before it is closed."},
    {"Resolvers", SY_GWN_NONE, 0, 0, 0, 0, "list of strings",
     "`nameserver` lines of `/etc/resolv.conf`",
     "`IP` or `IP:port` (port 53 by default), `[IPv6]:port`",
     "DNS servers asked for upstream node names (see [upstreams.md](upstreams.md#dns-discovery))."},
    {"KubernetesClusters", SY_GWN_NONE, 0, 0, 0, 0, "list", "empty",
     "see [below](#gatewaykubernetesclusters)",
     "The Kubernetes API servers K8S upstreams ([tunnels.md](tunnels.md)) discover pods from, by "
     "`ClusterId`."},
    {"TlsListen", SY_GWN_NONE, 0, 0, 0, 0, "list of `host:port`", "none",
     "IP addresses, not also in `Listen`",
     "Addresses that speak TLS (HTTPS, and HTTP/2 by ALPN). Needs at least one certificate. See "
     "[tls-http2.md](tls-http2.md)."},
    {"DefaultCertificate", SY_GWN_NONE, 0, 0, 0, 0, "`{CertificateFile, KeyFile}`", "none",
     "PEM files",
     "Answers SNI names no domain's certificate covers, and clients without SNI; without it those "
     "handshakes are refused."},
    {"Tls.MinVersion", SY_GWN_NONE, 0, 0, 0, 0, "string", "`TLSv1.2`", "`TLSv1.2`, `TLSv1.3`",
     "Lowest TLS version accepted."},
    {"Tls.Ciphers", SY_GWN_NONE, 0, 0, 0, 0, "string", "ECDHE + AES-GCM / ChaCha20",
     "OpenSSL cipher list", "TLS 1.2 cipher suites (server preference)."},
    {"Tls.CipherSuites", SY_GWN_NONE, 0, 0, 0, 0, "string", "OpenSSL's",
     "OpenSSL ciphersuites list", "TLS 1.3 suites."},
    {"Tls.Alpn", SY_GWN_NONE, 0, 0, 0, 0, "list", "`[h2, http/1.1]`", "`h2`, `http/1.1`",
     "Protocols offered by ALPN, in preference order. Without `h2` TLS clients speak HTTP/1.1."},
    {"Tls.SessionTickets", SY_GWN_NONE, 0, 0, 0, 0, "boolean", "true", "",
     "Stateless session resumption."},
    {"Tls.SessionTicketRotation", SY_GWN_NONE, 0, 0, 0, 0, "seconds", "3600", "60..604800",
     "Ticket keys change this often; a ticket is accepted for up to two periods."},
    {"Http2Cleartext", SY_GWN_NONE, 0, 0, 0, 0, "boolean", "false", "",
     "HTTP/2 with prior knowledge (h2c) on the plain `Listen` addresses."},
    {"Http2MaxConcurrentStreams", SY_GWN_U32, GW(h2_max_streams), 100, 1, 10000, "integer", NULL,
     NULL, "Streams per HTTP/2 connection (SETTINGS_MAX_CONCURRENT_STREAMS)."},
    {"Http2MaxProxiedStreams", SY_GWN_U32, GW(h2_max_proxied), 16, 1, 10000, "integer", NULL, NULL,
     "Streams of one HTTP/2 connection handled at once (each may hold a backend connection); the "
     "others wait, their request bodies held back by flow control, and start as earlier ones "
     "finish."},
    {"Http2StreamWindow", SY_GWN_U32, GW(h2_stream_window), 65536, 16384, 2147483647, "bytes", NULL,
     NULL, "Initial flow-control window of each stream."},
    {"Http2ConnectionWindow", SY_GWN_U32, GW(h2_conn_window), 1048576, 65535, 2147483647, "bytes",
     NULL, NULL, "Flow-control window of the connection."},
    {"Http2MaxResetsPerSecond", SY_GWN_U32, GW(h2_max_resets), 200, 1, 1e6, "integer", NULL, NULL,
     "Stream resets a client may send per second before the connection gets GOAWAY "
     "(ENHANCE_YOUR_CALM): rapid-reset protection."},
    {"ConfigStore", SY_GWN_NONE, 0, 0, 0, 0, "mapping", "`{Type: file}`", "see below",
     "Where the configuration lives: this file, or etcd shared by a fleet ([fleet.md](fleet.md))."},
    {NULL, SY_GWN_NONE, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};

const char *const *sy_gw_top_keys(void)
{
    /* Filled at first use from the table: the top-level names, once each
     * (the config loader runs in one thread at a time per file, and the
     * result never changes, so a benign race writes the same values). */
    static const char *keys[sizeof sy_gw_keys / sizeof sy_gw_keys[0]];
    static size_t n;
    if (n)
        return keys;
    size_t m = 0;
    static char names[sizeof sy_gw_keys / sizeof sy_gw_keys[0]][48];
    for (const sy_gw_key *k = sy_gw_keys; k->key; k++) {
        size_t len = strcspn(k->key, ".");
        if (len >= sizeof names[0])
            continue;
        bool seen = false;
        for (size_t i = 0; i < m; i++)
            seen |= strlen(keys[i]) == len && strncmp(keys[i], k->key, len) == 0;
        if (seen)
            continue;
        memcpy(names[m], k->key, len);
        names[m][len] = '\0';
        keys[m] = names[m];
        m++;
    }
    keys[m] = NULL;
    n = m;
    return keys;
}

/* Numbers as the reference writes them: 10^9, 2^40, 2^31-1 for the big
 * round ones, plain otherwise. */
static void num_text(double v, char *out, size_t cap)
{
    if (v == 2147483647.0) {
        snprintf(out, cap, "2^31-1");
        return;
    }
    if (v >= 1e6 && v == floor(v)) {
        double e10 = log10(v), e2 = log2(v);
        if (e10 == floor(e10)) {
            snprintf(out, cap, "10^%.0f", e10);
            return;
        }
        if (e2 == floor(e2) && v >= 1e7) {
            snprintf(out, cap, "2^%.0f", e2);
            return;
        }
    }
    snprintf(out, cap, v == floor(v) ? "%.0f" : "%g", v);
}

void sy_gw_keys_markdown(FILE *out)
{
    fputs("| Key | Type | Default | Range / values | Meaning |\n|---|---|---|---|---|\n", out);
    for (const sy_gw_key *k = sy_gw_keys; k->key; k++) {
        char def[32], lo[32], hi[32], range[80];
        const char *d = k->def_text, *r = k->range_text;
        if (k->kind != SY_GWN_NONE) {
            num_text(k->def, def, sizeof def);
            num_text(k->min, lo, sizeof lo);
            num_text(k->max, hi, sizeof hi);
            snprintf(range, sizeof range, "%s..%s", lo, hi);
            d = def;
            r = range;
        }
        fprintf(out, "| `%s` | %s | %s | %s | %s |\n", k->key, k->type, d, r ? r : "", k->meaning);
    }
}
