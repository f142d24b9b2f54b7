/* Model -> YAML text.  Every string is written double-quoted with escapes,
 * so whatever a value holds it reads back as the same string; numbers are
 * written in the units the loader takes (seconds, not milliseconds). */
#include "config/dump.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sys/random.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/fields.h"
#include "config/rollout.h"
#include "config/yaml_tree.h"
#include "core/log.h"

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static void put(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(buf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = b->cap * 2 + (n > 0 ? (size_t)n : 0);
        b->p = sy_realloc(b->p, b->cap);
    }
}

/* A YAML double-quoted scalar. */
static void qstr(buf *b, const char *s)
{
    put(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            put(b, "\\%c", *p);
        else if (*p == '\n')
            put(b, "\\n");
        else if (*p == '\t')
            put(b, "\\t");
        else if (*p < 0x20 || *p == 0x7f)
            put(b, "\\x%02x", *p);
        else
            put(b, "%c", *p);
    }
    put(b, "\"");
}

/* "key: \"value\"\n" at an indent, skipping NULL values. */
static void kv(buf *b, int ind, const char *key, const char *val)
{
    if (!val)
        return;
    put(b, "%*s%s: ", ind, "", key);
    qstr(b, val);
    put(b, "\n");
}

static void secs(buf *b, int ind, const char *key, uint32_t ms)
{
    if (ms % 1000 == 0)
        put(b, "%*s%s: %u\n", ind, "", key, ms / 1000);
    else
        put(b, "%*s%s: %u.%03u\n", ind, "", key, ms / 1000, ms % 1000);
}

static void endpoint(buf *b, int ind, const char *key, const sy_endpoint *ep, bool item)
{
    char tmp[300];
    bool v6 = strchr(ep->host, ':') != NULL;
    snprintf(tmp, sizeof tmp, "%s%s%s:%u", v6 ? "[" : "", ep->host, v6 ? "]" : "", ep->port);
    if (item) {
        put(b, "%*s- ", ind, "");
        qstr(b, tmp);
        put(b, "\n");
    } else {
        kv(b, ind, key, tmp);
    }
}

static bool status_has(const sy_status_set *s, unsigned code)
{
    unsigned i = code - 100;
    return (s->bits[i / 64] >> (i % 64)) & 1;
}

static void status_set(buf *b, int ind, const char *key, const sy_status_set *s)
{
    char tmp[4096];
    size_t off = 0;
    tmp[0] = '\0';
    for (unsigned code = 100; code <= 599; code++) {
        if (!status_has(s, code))
            continue;
        unsigned end = code;
        while (end < 599 && status_has(s, end + 1))
            end++;
        off += (size_t)snprintf(tmp + off, sizeof tmp - off, "%s%u", off ? "," : "", code);
        if (end > code)
            off += (size_t)snprintf(tmp + off, sizeof tmp - off, "-%u", end);
        code = end;
    }
    if (off)
        kv(b, ind, key, tmp);
}

static void config_store(buf *b, const sy_store_cfg *st, unsigned flags)
{
    if (st->type != SY_STORE_ETCD)
        return;
    put(b, "  ConfigStore:\n    Type: etcd\n    Endpoints:\n");
    for (size_t i = 0; i < st->n_endpoints; i++) {
        put(b, "      - ");
        qstr(b, st->endpoints[i]);
        put(b, "\n");
    }
    kv(b, 4, "Prefix", st->prefix);
    secs(b, 4, "DialTimeout", st->dial_timeout_ms);
    secs(b, 4, "RequestTimeout", st->request_timeout_ms);
    put(b, "    LeaseTTL: %u\n", st->lease_ttl_s);
    /* Both or neither: a dump without secrets must load again. */
    if (st->password && (flags & SY_DUMP_SECRETS)) {
        kv(b, 4, "Username", st->username);
        kv(b, 4, "Password", st->password);
    } else if (st->password) {
        put(b, "    # Username and Password are set (not shown)\n");
    }
    kv(b, 4, "CaFile", st->ca_file);
    kv(b, 4, "CertFile", st->cert_file);
    kv(b, 4, "KeyFile", st->key_file);
    kv(b, 4, "CacheFile", st->cache_file);
}

static void gateway(buf *b, const sy_gateway_cfg *gw, unsigned flags)
{
    static const char *const levels[] = {"debug", "info", "warn", "error"};
    put(b, "Gateway:\n  Listen:\n");
    for (size_t i = 0; i < gw->n_listen; i++)
        endpoint(b, 4, NULL, &gw->listen[i], true);
    if (gw->admin_enabled)
        endpoint(b, 2, "AdminListen", &gw->admin_listen, false);
    else
        kv(b, 2, "AdminListen", "off");
    if (gw->admin_token && (flags & SY_DUMP_SECRETS))
        kv(b, 2, "AdminToken", gw->admin_token);
    else if (gw->admin_token)
        put(b, "  # AdminToken is set (not shown)\n");
    put(b, "  Workers: %d\n", gw->workers);
    if (gw->n_trusted) {
        put(b, "  TrustedProxies:\n");
        for (size_t i = 0; i < gw->n_trusted; i++) {
            char ip[INET6_ADDRSTRLEN], tmp[INET6_ADDRSTRLEN + 8];
            inet_ntop(gw->trusted[i].family, gw->trusted[i].addr, ip, sizeof ip);
            snprintf(tmp, sizeof tmp, "%s/%d", ip, gw->trusted[i].prefix);
            put(b, "    - ");
            qstr(b, tmp);
            put(b, "\n");
        }
    }
    if (gw->n_resolvers) {
        put(b, "  Resolvers:\n");
        for (size_t i = 0; i < gw->n_resolvers; i++)
            endpoint(b, 4, NULL, &gw->resolvers[i], true);
    }
    if (gw->n_k8s_clusters) {
        put(b, "  KubernetesClusters:\n");
        for (size_t i = 0; i < gw->n_k8s_clusters; i++) {
            const sy_k8s_cluster_cfg *k = &gw->k8s_clusters[i];
            put(b, "    - ClusterId: ");
            qstr(b, k->id);
            put(b, "\n");
            /* An in-cluster entry stays one: the pod's environment decides. */
            if (!k->in_cluster)
                kv(b, 6, "Server", k->server);
            kv(b, 6, "TokenFile", k->token_file);
            kv(b, 6, "CaFile", k->ca_file);
            secs(b, 6, "RequestTimeout", k->timeout_ms);
            put(b, "      PageSize: %u\n", k->page_size);
        }
    }
    if (gw->n_tls_listen) {
        put(b, "  TlsListen:\n");
        for (size_t i = 0; i < gw->n_tls_listen; i++)
            endpoint(b, 4, NULL, &gw->tls_listen[i], true);
    }
    if (gw->default_cert.cert_file) {
        put(b, "  DefaultCertificate:\n");
        kv(b, 4, "CertificateFile", gw->default_cert.cert_file);
        kv(b, 4, "KeyFile", gw->default_cert.key_file);
    }
    put(b, "  Tls:\n    MinVersion: TLSv1.%d\n", gw->tls_min_version - 10);
    kv(b, 4, "Ciphers", gw->tls_ciphers);
    kv(b, 4, "CipherSuites", gw->tls_ciphersuites);
    put(b, "    Alpn:\n");
    for (size_t i = 0; i < gw->n_tls_alpn; i++) {
        put(b, "      - ");
        qstr(b, gw->tls_alpn[i]);
        put(b, "\n");
    }
    put(b, "    SessionTickets: %s\n", gw->tls_session_tickets ? "true" : "false");
    secs(b, 4, "SessionTicketRotation", gw->tls_ticket_rotate_ms);
    put(b, "  Http2Cleartext: %s\n", gw->h2c ? "true" : "false");
    kv(b, 2, "AccessLog", gw->access_log ? gw->access_log : "off");
    bool all = gw->n_access_fields == SY_AF_COUNT;
    for (int i = 0; all && i < SY_AF_COUNT; i++)
        all = gw->access_fields[i] == i;
    if (!all) {
        put(b, "  AccessLogFields: [");
        for (size_t i = 0; i < gw->n_access_fields; i++)
            put(b, "%s%s", i ? ", " : "", sy_access_field_names[gw->access_fields[i]]);
        put(b, "]\n");
    }
    kv(b, 2, "AuditLog", gw->audit_log ? gw->audit_log : "off");
    kv(b, 2, "ErrorLog", gw->error_log);
    if (gw->log_level >= 0 && gw->log_level < 4)
        put(b, "  LogLevel: %s\n", levels[gw->log_level]);
    for (const sy_gw_key *f = sy_gw_keys; f->key; f++) {
        const char *p = (const char *)gw + f->off;
        if (f->kind == SY_GWN_NONE)
            continue;
        if (f->kind == SY_GWN_MS)
            secs(b, 2, f->key, *(const uint32_t *)p);
        else if (f->kind == SY_GWN_U64)
            put(b, "  %s: %llu\n", f->key, (unsigned long long)*(const uint64_t *)p);
        else
            put(b, "  %s: %u\n", f->key, *(const uint32_t *)p);
    }
    config_store(b, &gw->store, flags);
}

static void health(buf *b, const sy_health_cfg *h)
{
    put(b, "    HealthChecker:\n");
    put(b, "      EnableActiveCheck: %s\n", h->enable_active ? "true" : "false");
    put(b, "      EnablePassiveCheck: %s\n", h->enable_passive ? "true" : "false");
    status_set(b, 6, "HealthyHttpStatus", &h->healthy);
    status_set(b, 6, "UnhealthyHttpStatus", &h->unhealthy);
    put(b, "      TcpFailureThreshold: %d\n", h->tcp_failure_threshold);
    put(b, "      TimeoutThreshold: %d\n", h->timeout_threshold);
    put(b, "      HttpFailureThreshold: %d\n", h->http_failure_threshold);
    kv(b, 6, "ActiveCheckHttpPath", h->active_path);
    secs(b, 6, "ActiveCheckTimeout", h->active_timeout_ms);
    secs(b, 6, "ActiveCheckInterval", h->active_interval_ms);
    if (h->n_active_headers) {
        put(b, "      ActiveRequestHeader:\n");
        for (size_t i = 0; i < h->n_active_headers; i++) {
            const char *line = h->active_headers[i];
            const char *colon = strchr(line, ':');
            put(b, "        %.*s: ", (int)(colon - line), line);
            qstr(b, colon + 2);
            put(b, "\n");
        }
    }
    secs(b, 6, "UnhealthyTimeout", h->unhealthy_timeout_ms);
}

static void k8s_services(buf *b, const sy_upstream_cfg *u)
{
    put(b, "    UpstreamType: K8S\n    K8sService:\n");
    for (size_t j = 0; j < u->n_k8s_services; j++) {
        const sy_k8s_service_cfg *s = &u->k8s_services[j];
        put(b, "      - Weight: %d\n", s->weight);
        kv(b, 8, "ClusterId", s->cluster_id);
        kv(b, 8, "Namespace", s->ns);
        kv(b, 8, "ServiceName", s->service);
        put(b, "        Port: %u\n", s->port);
        kv(b, 8, "Name", s->name);
        if (s->n_labels)
            put(b, "        ExtraLabels:\n");
        for (size_t k = 0; k < s->n_labels; k++) {
            put(b, "          - Key: ");
            qstr(b, s->labels[k].key);
            put(b, "\n            Value: ");
            qstr(b, s->labels[k].value);
            put(b, "\n");
        }
    }
}

static void upstreams(buf *b, const sy_config *cfg)
{
    if (!cfg->n_upstreams)
        return;
    put(b, "Upstreams:\n");
    for (size_t i = 0; i < cfg->n_upstreams; i++) {
        const sy_upstream_cfg *u = &cfg->upstreams[i];
        put(b, "  - UpstreamId: ");
        qstr(b, u->id);
        put(b, "\n");
        kv(b, 4, "UpstreamName", u->name);
        kv(b, 4, "Scheme", u->scheme);
        kv(b, 4, "Algorithm", u->algorithm);
        put(b, "    Retries: %d\n", u->retries);
        kv(b, 4, "UpstreamHost", u->upstream_host);
        kv(b, 4, "HashKey", u->hash_key);
        if (strcmp(u->scheme, "HTTPS") == 0) {
            put(b, "    TlsVerify: %s\n", u->tls_verify ? "true" : "false");
            kv(b, 4, "CaFile", u->ca_file);
        }
        if (u->max_conns_per_node != SY_UP_MAX_CONNS_DEFAULT)
            put(b, "    MaxConnectionsPerNode: %u\n", u->max_conns_per_node);
        if (u->max_queue_per_node != SY_UP_MAX_QUEUE_DEFAULT)
            put(b, "    MaxQueuePerNode: %u\n", u->max_queue_per_node);
        if (u->queue_timeout_ms != SY_UP_QUEUE_TIMEOUT_DEFAULT)
            secs(b, 4, "QueueTimeout", u->queue_timeout_ms);
        if (u->max_idle_per_node != SY_UP_MAX_IDLE_DEFAULT)
            put(b, "    MaxIdleConnectionsPerNode: %u\n", u->max_idle_per_node);
        if (u->keepalive_ms)
            secs(b, 4, "KeepaliveTimeout", u->keepalive_ms);
        if (u->k8s)
            k8s_services(b, u);
        else
            put(b, "    Nodes:%s\n", u->n_nodes ? "" : " []");
        for (size_t j = 0; j < u->n_nodes; j++) {
            put(b, "      - Host: ");
            qstr(b, u->nodes[j].ep.host);
            put(b, "\n        Port: %u\n        Weight: %d\n", u->nodes[j].ep.port,
                u->nodes[j].weight);
        }
        if (u->health.present)
            health(b, &u->health);
    }
}

/* The backend keys at `ind`, inside an API or a backend_config mapping. */
static void backend(buf *b, int ind, const sy_backend_cfg *be)
{
    put(b, "%*sServiceType: %s\n", ind, "", be->type == SY_BACKEND_MOCK ? "MOCK" : "HTTP");
    secs(b, ind, "ServiceTimeout", be->timeout_ms);
    put(b, "%*sServiceConfig:\n", ind, "");
    kv(b, ind + 2, "Url", be->url);
    kv(b, ind + 2, "Path", be->path);
    kv(b, ind + 2, "Method", be->method);
    kv(b, ind + 2, "Product", be->product);
    kv(b, ind + 2, "UniqVpcId", be->vpc_id);
    kv(b, ind + 2, "UpstreamId", be->upstream_id);
    kv(b, ind, "ServiceMockReturnMessage", be->mock_body);
    put(b, "%*sServiceMockStatusCode: %d\n", ind, "", be->mock_status);
}

static void api_list(buf *b, int ind, const sy_api_cfg *apis, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        const sy_api_cfg *api = &apis[j];
        put(b, "%*s- ApiId: ", ind, "");
        qstr(b, api->id);
        put(b, "\n");
        kv(b, ind + 2, "ApiName", api->name);
        kv(b, ind + 2, "ApiDesc", api->desc);
        kv(b, ind + 2, "Path", api->path);
        kv(b, ind + 2, "Method", api->method);
        backend(b, ind + 2, &api->backend);
    }
}

static void services(buf *b, const sy_config *cfg)
{
    if (!cfg->n_services)
        return;
    put(b, "Services:\n");
    for (size_t i = 0; i < cfg->n_services; i++) {
        const sy_service_cfg *s = &cfg->services[i];
        put(b, "  - ServiceId: ");
        qstr(b, s->id);
        put(b, "\n");
        kv(b, 4, "ServiceName", s->name);
        kv(b, 4, "ServiceDesc", s->desc);
        put(b, "    Environments: [");
        for (int e = 0, n = 0; e < SY_ENV_COUNT; e++)
            if (s->env_mask & (1u << e))
                put(b, "%s%s", n++ ? ", " : "", sy_env_name(e));
        put(b, "]\n");
        put(b, "    Domains:\n");
        for (size_t d = 0; d < s->n_domains; d++) {
            const sy_domain_cfg *dom = &s->domains[d];
            static const char *const protos[] = {"", "http", "https", "http&https"};
            put(b, "      - DomainName: ");
            qstr(b, dom->name);
            put(b, "\n");
            if (dom->protocol && dom->protocol <= 3)
                kv(b, 8, "Protocol", protos[dom->protocol]);
            kv(b, 8, "CertificateFile", dom->cert.cert_file);
            kv(b, 8, "KeyFile", dom->cert.key_file);
            if (dom->forced_https)
                put(b, "        IsForcedHttps: true\n");
            if (!dom->n_mappings)
                continue;
            put(b, "        PathMappings:\n");
            for (size_t m = 0; m < dom->n_mappings; m++) {
                put(b, "          - Path: ");
                qstr(b, dom->mappings[m].path);
                put(b, "\n            Environment: %s\n", sy_env_name(dom->mappings[m].env));
            }
        }
        put(b, "    Apis:%s\n", s->n_apis ? "" : " []");
        api_list(b, 6, s->apis, s->n_apis);
        if (!s->has_releases)
            continue;
        put(b, "    Releases:%s\n", s->n_releases ? "" : " []");
        for (size_t r = 0; r < s->n_releases; r++) {
            const sy_release_cfg *rel = &s->releases[r];
            put(b, "      - ReleaseVersion: ");
            qstr(b, rel->version);
            put(b, "\n        EnvironmentName: %s\n", sy_env_name(rel->env));
            kv(b, 8, "ReleaseDesc", rel->desc);
            kv(b, 8, "ReleaseTime", rel->time);
            put(b, "        Active: %s\n", rel->active ? "true" : "false");
            put(b, "        Apis:%s\n", rel->n_apis ? "" : " []");
            api_list(b, 10, rel->apis, rel->n_apis);
        }
    }
}

/* The markers carry a secret drawn once per process, so no text a user
 * sends (a PluginData string) can pass for one. */
static uint64_t secret;
static pthread_once_t secret_once = PTHREAD_ONCE_INIT;

static void draw_secret(void)
{
    while (getrandom(&secret, sizeof secret, 0) != (ssize_t)sizeof secret)
        ;
}

static uint64_t kept_secret(void)
{
    pthread_once(&secret_once, draw_secret);
    return secret;
}

#define KEPT_PREFIX "(switchyard: kept policies of plugin "

long sy_dump_kept_plugin(const char *s, size_t len)
{
    char want[96];
    size_t pl = sizeof KEPT_PREFIX - 1;
    if (!s || len <= pl || len >= sizeof want || memcmp(s, KEPT_PREFIX, pl) != 0)
        return -1;
    char *end;
    errno = 0;
    unsigned long i = strtoul(s + pl, &end, 10);
    if (errno || end == s + pl || i > 1000000)
        return -1;
    int n = snprintf(want, sizeof want, KEPT_PREFIX "%lu, %016llx)", i,
                     (unsigned long long)kept_secret());
    return (size_t)n == len && memcmp(want, s, len) == 0 ? (long)i : -1;
}

static void plugins(buf *b, const sy_config *cfg, const sy_dump_add *add, unsigned flags)
{
    if (!cfg->n_plugins)
        return;
    put(b, "Plugins:\n");
    for (size_t i = 0; i < cfg->n_plugins; i++) {
        const sy_plugin_cfg *p = &cfg->plugins[i];
        put(b, "  - PluginId: ");
        qstr(b, p->id);
        put(b, "\n");
        kv(b, 4, "PluginName", p->name);
        kv(b, 4, "PluginType", p->type);
        kv(b, 4, "Description", p->desc);
        const char *extra = add && add->plugin == i ? add->policy : NULL;
        bool keep = (flags & SY_DUMP_KEEP_POLICIES) && p->n_policies && !extra;
        if (keep)
            put(b, "    PluginData: \"" KEPT_PREFIX "%zu, %016llx)\"\n", i,
                (unsigned long long)kept_secret());
        else
            put(b, "    PluginData:%s\n", p->n_policies || extra ? "" : " []");
        for (size_t j = 0; !keep && j < p->n_policies; j++) {
            const sy_policy_cfg *pol = &p->policies[j];
            put(b, "      - strategy_name: ");
            qstr(b, pol->name);
            put(b, "\n        strategy_weight: %d\n", pol->weight);
            kv(b, 8, "condition", pol->condition);
            kv(b, 8, "backend_type", pol->backend_type);
            put(b, "        backend_config:\n");
            backend(b, 10, pol->backend);
        }
        if (extra) /* JSON is a YAML flow mapping */
            put(b, "      - %s\n", extra);
        if (!p->n_attachments)
            continue;
        put(b, "    Attachments:\n");
        for (size_t j = 0; j < p->n_attachments; j++) {
            const sy_attachment_cfg *a = &p->attachments[j];
            put(b, "      - ServiceId: ");
            qstr(b, a->service_id);
            put(b, "\n        EnvironmentName: %s\n        ApiIds:\n", sy_env_name(a->env));
            for (size_t k = 0; k < a->n_api_ids; k++) {
                put(b, "          - ");
                qstr(b, a->api_ids[k]);
                put(b, "\n");
            }
        }
    }
}

char *sy_config_dump_yaml_add(const sy_config *cfg, unsigned flags, const sy_dump_add *add)
{
    buf b = {sy_malloc(4096), 0, 4096};
    b.p[0] = '\0';
    put(&b, "# Switchyard configuration (generated)\n");
    uint64_t version = add ? add->version : cfg->version;
    if (version)
        put(&b, "Version: %llu\n", (unsigned long long)version);
    gateway(&b, &cfg->gw, flags);
    upstreams(&b, cfg);
    services(&b, cfg);
    plugins(&b, cfg, add, flags);
    char *ro = sy_rollouts_yaml(cfg);
    if (ro)
        put(&b, "%s", ro);
    free(ro);
    return b.p;
}

char *sy_config_dump_yaml_ex(const sy_config *cfg, unsigned flags)
{
    return sy_config_dump_yaml_add(cfg, flags, NULL);
}

char *sy_config_dump_yaml(const sy_config *cfg)
{
    return sy_config_dump_yaml_ex(cfg, 0);
}

/* The JSON form is the YAML dump read back, so both spell every field
 * the same way (the admin API and the etcd store use it). */
json_t *sy_config_dump_json(const sy_config *cfg, unsigned flags)
{
    char *text = sy_config_dump_yaml_ex(cfg, flags);
    sy_arena a;
    sy_arena_init(&a, 16384);
    sy_errors errs = {0};
    bool failed = false;
    sy_ynode *root = sy_ytree_parse(&a, text, strlen(text), "<dump>", NULL, &errs, NULL, &failed);
    json_t *doc = root ? sy_ytree_to_json(root) : json_object();
    sy_arena_free(&a);
    sy_errors_free(&errs);
    free(text);
    if (!json_is_object(doc)) {
        json_decref(doc);
        doc = json_object();
    }
    static const char *const lists[] = {"Upstreams", "Services", "Plugins", "Rollouts", NULL};
    for (int i = 0; lists[i]; i++)
        if (!json_is_array(json_object_get(doc, lists[i])))
            json_object_set_new(doc, lists[i], json_array());
    return doc;
}
