/* The Gateway section: listeners, admin, logs, timeouts and limits. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "config/fields.h"
#include "config/load.h"
#include "core/log.h"

static void set_num(sy_gateway_cfg *gw, const sy_gw_key *f, double v)
{
    char *p = (char *)gw + f->off;
    if (f->kind == SY_GWN_U64)
        *(uint64_t *)p = (uint64_t)v;
    else if (f->kind == SY_GWN_MS)
        *(uint32_t *)p = (uint32_t)(v * 1000.0 + 0.5);
    else
        *(uint32_t *)p = (uint32_t)v;
}

void sy_gateway_defaults(sy_gateway_cfg *gw, sy_arena *a)
{
    const char *why;
    memset(gw, 0, sizeof *gw);
    gw->listen = sy_arena_alloc(a, sizeof *gw->listen);
    sy_endpoint_parse(a, "0.0.0.0:8080", true, &gw->listen[0], &why);
    gw->n_listen = 1;
    sy_endpoint_parse(a, "127.0.0.1:9180", true, &gw->admin_listen, &why);
    gw->admin_enabled = true;
    gw->access_log = sy_arena_strdup(a, "-");
    for (int i = 0; i < SY_AF_COUNT; i++)
        gw->access_fields[i] = (uint8_t)i;
    gw->n_access_fields = SY_AF_COUNT;
    gw->audit_log = sy_arena_strdup(a, "-");
    gw->log_level = SY_LOG_INFO;
    for (const sy_gw_key *f = sy_gw_keys; f->key; f++)
        if (f->kind != SY_GWN_NONE)
            set_num(gw, f, f->def);
    gw->tls_min_version = 12;
    gw->tls_session_tickets = true;
    gw->tls_ticket_rotate_ms = 3600 * 1000;
    gw->tls_alpn = sy_arena_alloc(a, 2 * sizeof *gw->tls_alpn);
    gw->tls_alpn[0] = sy_arena_strdup(a, "h2");
    gw->tls_alpn[1] = sy_arena_strdup(a, "http/1.1");
    gw->n_tls_alpn = 2;
    sy_store_cfg_defaults(&gw->store);
}

static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};

static void load_listen(sy_cfg_ctx *c, sy_gateway_cfg *gw, const sy_ynode *map, bool tls)
{
    const sy_fpath *path = SY_PATH_TOP(tls ? "Gateway.TlsListen" : "Gateway.Listen");
    const sy_ynode *v = sy_ymap_get(map, tls ? "TlsListen" : "Listen");
    if (!v || !sy_cfg_node_list(c, v, path))
        return;
    if (v->n == 0 && !tls) {
        sy_cfg_err(c, v->mark, path, "must list at least one address");
        return;
    }
    sy_endpoint *eps = sy_arena_alloc(c->a, (v->n ? v->n : 1) * sizeof *eps);
    if (tls) {
        gw->tls_listen = eps;
        gw->n_tls_listen = v->n;
    } else {
        gw->listen = eps;
        gw->n_listen = v->n;
    }
    for (size_t i = 0; i < v->n; i++) {
        const sy_fpath *ip = SY_PATH_IDX(path, i);
        const char *why;
        char *s;
        if (!sy_cfg_node_str(c, v->items[i], ip, &s))
            continue;
        if (!sy_endpoint_parse(c->a, s, true, &eps[i], &why))
            sy_cfg_err(c, v->items[i]->mark, ip, "%s", why);
        for (size_t j = 0; j < i; j++)
            if (eps[j].addrlen && eps[i].addrlen == eps[j].addrlen &&
                memcmp(&eps[i].addr, &eps[j].addr, eps[i].addrlen) == 0)
                sy_cfg_err(c, v->items[i]->mark, ip, "listed twice");
        /* TlsListen is loaded after Listen: one address can't be both. */
        for (size_t j = 0; tls && j < gw->n_listen; j++)
            if (eps[i].addrlen && eps[i].addrlen == gw->listen[j].addrlen &&
                memcmp(&eps[i].addr, &gw->listen[j].addr, eps[i].addrlen) == 0)
                sy_cfg_err(c, v->items[i]->mark, ip, "also in Gateway.Listen");
    }
}

static const char *const tls_keys[] = {"MinVersion", "Ciphers",        "CipherSuites",
                                       "Alpn",       "SessionTickets", "SessionTicketRotation",
                                       NULL};
static const char *const tls_versions[] = {"TLSv1.2", "TLSv1.3", NULL};
static const char *const alpn_names[] = {"h2", "http/1.1", NULL};

/* Gateway.Tls: protocol floor, ciphers, ALPN, session tickets. */
static void load_tls(sy_cfg_ctx *c, sy_gateway_cfg *gw, const sy_ynode *map)
{
    const sy_fpath *path = SY_PATH_TOP("Gateway.Tls");
    const sy_ynode *t = sy_ymap_get(map, "Tls");
    int idx;
    if (!t || !sy_cfg_map(c, t, path, tls_keys))
        return;
    if (sy_cfg_enum(c, t, path, "MinVersion", SY_OPT, tls_versions, &idx))
        gw->tls_min_version = 12 + idx;
    sy_cfg_str(c, t, path, "Ciphers", SY_OPT, &gw->tls_ciphers);
    sy_cfg_str(c, t, path, "CipherSuites", SY_OPT, &gw->tls_ciphersuites);
    sy_cfg_bool(c, t, path, "SessionTickets", SY_OPT, &gw->tls_session_tickets);
    sy_cfg_seconds(c, t, path, "SessionTicketRotation", SY_OPT, 60, 7 * 86400,
                   &gw->tls_ticket_rotate_ms);
    const sy_ynode *v = sy_ymap_get(t, "Alpn");
    const sy_fpath *ap = SY_PATH_TOP("Gateway.Tls.Alpn");
    if (!v || !sy_cfg_node_list(c, v, ap))
        return;
    if (v->n == 0) {
        sy_cfg_err(c, v->mark, ap, "must list at least one protocol (h2, http/1.1)");
        return;
    }
    gw->tls_alpn = sy_arena_alloc(c->a, v->n * sizeof *gw->tls_alpn);
    gw->n_tls_alpn = 0;
    for (size_t i = 0; i < v->n; i++) {
        char *s;
        const sy_fpath *ip = SY_PATH_IDX(ap, i);
        if (!sy_cfg_node_str(c, v->items[i], ip, &s))
            continue;
        bool known = false;
        for (const char *const *n = alpn_names; *n; n++)
            known |= strcmp(*n, s) == 0;
        if (!known)
            sy_cfg_err(c, v->items[i]->mark, ip, "must be h2 or http/1.1");
        else
            gw->tls_alpn[gw->n_tls_alpn++] = s;
    }
}

static const char *const cert_keys[] = {"CertificateFile", "KeyFile", NULL};

/* CertificateFile + KeyFile in `map` (a domain or DefaultCertificate).
 * The files are read when the snapshot is compiled (net/tls_server.c). */
void sy_cfg_load_cert(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path, sy_cert_cfg *out)
{
    out->mark = map->mark;
    sy_cfg_str(c, map, path, "CertificateFile", SY_OPT, &out->cert_file);
    sy_cfg_str(c, map, path, "KeyFile", SY_OPT, &out->key_file);
    if (!out->cert_file != !out->key_file)
        sy_cfg_err(c, map->mark, path, "CertificateFile and KeyFile go together");
    out->path = sy_fpath_arena(c->a, path);
}

static void load_default_cert(sy_cfg_ctx *c, sy_gateway_cfg *gw, const sy_ynode *map)
{
    const sy_fpath *path = SY_PATH_TOP("Gateway.DefaultCertificate");
    const sy_ynode *v = sy_ymap_get(map, "DefaultCertificate");
    if (!v || !sy_cfg_map(c, v, path, cert_keys))
        return;
    sy_cfg_load_cert(c, v, path, &gw->default_cert);
    if (!gw->default_cert.cert_file)
        sy_cfg_err(c, v->mark, path, "needs CertificateFile and KeyFile");
}

static void load_trusted(sy_cfg_ctx *c, sy_gateway_cfg *gw, const sy_ynode *map)
{
    const sy_fpath *path = SY_PATH_TOP("Gateway.TrustedProxies");
    const sy_ynode *v = sy_ymap_get(map, "TrustedProxies");
    if (!v || !sy_cfg_node_list(c, v, path))
        return;
    gw->trusted = sy_arena_alloc(c->a, (v->n ? v->n : 1) * sizeof *gw->trusted);
    gw->n_trusted = v->n;
    for (size_t i = 0; i < v->n; i++) {
        const sy_fpath *ip = SY_PATH_IDX(path, i);
        const char *why;
        char *s;
        if (sy_cfg_node_str(c, v->items[i], ip, &s) && !sy_cidr_parse(s, &gw->trusted[i], &why))
            sy_cfg_err(c, v->items[i]->mark, ip, "%s", why);
    }
}

const char *const sy_access_field_names[] = {
    "time",       "request_id",     "client",     "method",      "host",
    "path",       "query",          "user_agent", "service",     "env",
    "api",        "policy",         "upstream",   "node",        "upstream_status",
    "error",      "proto",          "tls",        "alpn",        "status",
    "bytes_sent", "bytes_received", "attempts",   "duration_ms", "upstream_ms",
    NULL};

/* AccessLogFields: names from sy_access_field_names, each once, in the
 * order the lines will have them. */
static void load_access_fields(sy_cfg_ctx *c, sy_gateway_cfg *gw, const sy_ynode *map)
{
    const sy_fpath *path = SY_PATH_TOP("Gateway.AccessLogFields");
    const sy_ynode *v = sy_ymap_get(map, "AccessLogFields");
    if (!v || !sy_cfg_node_list(c, v, path))
        return;
    if (v->n == 0) {
        sy_cfg_err(c, v->mark, path,
                   "must name at least one field (AccessLog: off disables the log)");
        return;
    }
    bool seen[SY_AF_COUNT] = {false};
    gw->n_access_fields = 0;
    for (size_t i = 0; i < v->n && i < SY_AF_COUNT * 2; i++) {
        const sy_fpath *ip = SY_PATH_IDX(path, i);
        char *s;
        if (!sy_cfg_node_str(c, v->items[i], ip, &s))
            continue;
        int f = 0;
        while (sy_access_field_names[f] && strcmp(sy_access_field_names[f], s) != 0)
            f++;
        if (!sy_access_field_names[f]) {
            sy_cfg_err(c, v->items[i]->mark, ip,
                       "unknown field \"%s\" (known: time, request_id, client, method, host, path, "
                       "query, user_agent, service, env, api, policy, upstream, node, "
                       "upstream_status, error, proto, tls, alpn, status, bytes_sent, "
                       "bytes_received, attempts, duration_ms, upstream_ms)",
                       s);
        } else if (seen[f]) {
            sy_cfg_err(c, v->items[i]->mark, ip, "field \"%s\" is listed twice", s);
        } else {
            seen[f] = true;
            gw->access_fields[gw->n_access_fields++] = (uint8_t)f;
        }
    }
    if (v->n > SY_AF_COUNT * 2)
        sy_cfg_err(c, v->mark, path, "lists %zu fields; there are %d", (size_t)v->n, SY_AF_COUNT);
}

static void load_admin(sy_cfg_ctx *c, sy_gateway_cfg *gw, const sy_ynode *map)
{
    const sy_fpath *path = SY_PATH_TOP("Gateway");
    const char *why;
    char *s;
    if (sy_cfg_str(c, map, path, "AdminToken", SY_OPT, &s)) {
        if (!*s)
            sy_cfg_err(c, sy_ymap_get(map, "AdminToken")->mark, SY_PATH_TOP("Gateway.AdminToken"),
                       "must not be empty");
        else
            gw->admin_token = s;
    }
    if (!sy_cfg_str(c, map, path, "AdminListen", SY_OPT, &s))
        return;
    const sy_ynode *v = sy_ymap_get(map, "AdminListen");
    if (strcmp(s, "off") == 0) {
        gw->admin_enabled = false;
        return;
    }
    if (!sy_endpoint_parse(c->a, s, true, &gw->admin_listen, &why)) {
        sy_cfg_err(c, v->mark, SY_PATH_TOP("Gateway.AdminListen"), "%s", why);
        return;
    }
    /* The admin API can rewrite routing; exposing it beyond this host
     * without a token would hand the gateway to anyone who can reach it. */
    const char *env = getenv("SWITCHYARD_ADMIN_TOKEN");
    if (!sy_endpoint_is_loopback(&gw->admin_listen) && !gw->admin_token && !(env && *env))
        sy_cfg_err(c, v->mark, SY_PATH_TOP("Gateway.AdminListen"),
                   "a non-loopback admin address needs AdminToken (or "
                   "SWITCHYARD_ADMIN_TOKEN in the environment)");
}

/* Resolvers: DNS servers as "ip" or "ip:port" (port 53 by default). */
static void load_resolvers(sy_cfg_ctx *c, sy_gateway_cfg *gw, const sy_ynode *map)
{
    const sy_fpath *path = SY_PATH_TOP("Gateway.Resolvers");
    const sy_ynode *v = sy_ymap_get(map, "Resolvers");
    if (!v || !sy_cfg_node_list(c, v, path))
        return;
    gw->resolvers = sy_arena_alloc(c->a, (v->n ? v->n : 1) * sizeof *gw->resolvers);
    for (size_t i = 0; i < v->n; i++) {
        const sy_fpath *ip = SY_PATH_IDX(path, i);
        const char *why;
        char *s;
        if (!sy_cfg_node_str(c, v->items[i], ip, &s))
            continue;
        sy_endpoint *ep = &gw->resolvers[gw->n_resolvers];
        bool has_port = strchr(s, ']') ? strstr(s, "]:") != NULL
                                       : strchr(s, ':') && strchr(s, ':') == strrchr(s, ':');
        bool ok = has_port ? sy_endpoint_parse(c->a, s, true, ep, &why)
                           : sy_endpoint_set(c->a, s, strlen(s), 53, true, ep, &why);
        if (!ok)
            sy_cfg_err(c, v->items[i]->mark, ip, "%s", why);
        else
            gw->n_resolvers++;
    }
}

void sy_cfg_load_gateway(sy_cfg_ctx *c, const sy_ynode *map)
{
    sy_gateway_cfg *gw = &c->cfg->gw;
    const sy_fpath *path = SY_PATH_TOP("Gateway");
    int64_t n;
    int idx;
    char *s;

    if (!sy_cfg_map(c, map, path, sy_gw_top_keys()))
        return;
    load_listen(c, gw, map, false);
    load_listen(c, gw, map, true);
    load_tls(c, gw, map);
    load_default_cert(c, gw, map);
    sy_cfg_bool(c, map, path, "Http2Cleartext", SY_OPT, &gw->h2c);
    load_admin(c, gw, map);
    load_trusted(c, gw, map);
    load_resolvers(c, gw, map);
    sy_cfg_load_store(c, map);
    sy_cfg_load_k8s_clusters(c, map);
    if (sy_cfg_int(c, map, path, "Workers", SY_OPT, 0, 256, &n))
        gw->workers = (int)n;
    if (sy_cfg_str(c, map, path, "AccessLog", SY_OPT, &s))
        gw->access_log = strcmp(s, "off") == 0 ? NULL : s;
    load_access_fields(c, gw, map);
    if (sy_cfg_str(c, map, path, "AuditLog", SY_OPT, &s))
        gw->audit_log = strcmp(s, "off") == 0 ? NULL : s;
    if (sy_cfg_str(c, map, path, "ErrorLog", SY_OPT, &s))
        gw->error_log = s;
    if (sy_cfg_enum(c, map, path, "LogLevel", SY_OPT, log_levels, &idx))
        gw->log_level = idx;
    for (const sy_gw_key *f = sy_gw_keys; f->key; f++) {
        uint32_t ms;
        if (f->kind == SY_GWN_NONE)
            continue;
        if (f->kind == SY_GWN_MS) {
            if (sy_cfg_seconds(c, map, path, f->key, SY_OPT, f->min, f->max, &ms))
                *(uint32_t *)((char *)gw + f->off) = ms;
        } else if (sy_cfg_int(c, map, path, f->key, SY_OPT, (int64_t)f->min, (int64_t)f->max, &n)) {
            set_num(gw, f, (double)n);
        }
    }
}
