/* The Upstreams section: Tencent's "backend upstream" objects, their nodes
 * and health checks.  K8S upstreams (TKE tunnels) list Kubernetes services
 * instead of nodes (config/k8s.c). */
#include <string.h>

#include "config/fields.h"

static const char *const upstream_keys[] = {"UpstreamId",
                                            "UpstreamName",
                                            "UpstreamDescription",
                                            "UniqVpcId",
                                            "UpstreamType",
                                            "Scheme",
                                            "Algorithm",
                                            "Retries",
                                            "UpstreamHost",
                                            "Nodes",
                                            "HealthChecker",
                                            "K8sService",
                                            "Tags",
                                            "HashKey",
                                            "TlsVerify",
                                            "CaFile",
                                            "MaxConnectionsPerNode",
                                            "MaxQueuePerNode",
                                            "QueueTimeout",
                                            "MaxIdleConnectionsPerNode",
                                            "KeepaliveTimeout",
                                            NULL};
static const char *const node_keys[] = {"Host", "Port", "Weight", "VmInstanceId", "Tags", NULL};
static const char *const health_keys[] = {"EnableActiveCheck",
                                          "EnablePassiveCheck",
                                          "HealthyHttpStatus",
                                          "UnhealthyHttpStatus",
                                          "TcpFailureThreshold",
                                          "TimeoutThreshold",
                                          "HttpFailureThreshold",
                                          "ActiveCheckHttpPath",
                                          "ActiveCheckTimeout",
                                          "ActiveCheckInterval",
                                          "ActiveRequestHeader",
                                          "UnhealthyTimeout",
                                          NULL};

static const char *const schemes[] = {"HTTP", "HTTPS", NULL};
static const char *const algorithms[] = {"ROUND-ROBIN", "ROUND_ROBIN", "LEAST-CONN",
                                         "CONSISTENT-HASH", NULL};
static const char *const types[] = {"IP_PORT", "K8S", NULL};

static void load_node(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path, sy_node_cfg *node)
{
    char *host = NULL;
    int64_t port = 0, weight = 0;
    const char *why;

    node->mark = map->mark;
    if (!sy_cfg_map(c, map, path, node_keys))
        return;
    bool ok = sy_cfg_str(c, map, path, "Host", SY_REQ, &host);
    ok &= sy_cfg_int(c, map, path, "Port", SY_REQ, 1, 65535, &port);
    if (sy_cfg_int(c, map, path, "Weight", SY_REQ, 0, 100, &weight))
        node->weight = (int)weight;
    char *ignored;
    sy_cfg_str(c, map, path, "VmInstanceId", SY_OPT, &ignored);
    const sy_ynode *tags = sy_ymap_get(map, "Tags");
    if (tags)
        sy_cfg_node_list(c, tags, SY_PATH_KEY(path, "Tags"));
    if (ok && !sy_endpoint_set(c->a, host, strlen(host), (unsigned)port, false, &node->ep, &why))
        sy_cfg_err(c, sy_ymap_get(map, "Host")->mark, SY_PATH_KEY(path, "Host"), "%s", why);
}

static void status_field(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path, const char *key,
                         sy_status_set *set, const char *def)
{
    char *s;
    const char *why;
    sy_status_set_parse(def, set, &why);
    if (sy_cfg_str(c, map, path, key, SY_OPT, &s) && !sy_status_set_parse(s, set, &why))
        sy_cfg_err(c, sy_ymap_get(map, key)->mark, SY_PATH_KEY(path, key), "%s", why);
}

static bool header_name_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!strchr("!#$%&'*+-.^_`|~", *s) &&
            !((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
            return false;
    return true;
}

static void load_probe_headers(sy_cfg_ctx *c, const sy_ynode *v, const sy_fpath *path,
                               sy_health_cfg *h)
{
    if (v->kind != SY_YN_MAP) {
        sy_cfg_err(c, v->mark, path, "must be a mapping, got %s", sy_ynode_what(v));
        return;
    }
    h->active_headers = sy_arena_alloc(c->a, (v->n ? v->n : 1) * sizeof(char *));
    for (size_t i = 0; i < v->n; i++) {
        const char *name = v->keys[i]->str;
        const sy_fpath *kp = SY_PATH_KEY(path, name);
        char *val;
        if (!header_name_ok(name)) {
            sy_cfg_err(c, v->keys[i]->mark, kp, "invalid header name");
            continue;
        }
        if (!sy_cfg_node_str(c, v->vals[i], kp, &val))
            continue;
        if (strpbrk(val, "\r\n")) {
            sy_cfg_err(c, v->vals[i]->mark, kp, "header value must not contain CR or LF");
            continue;
        }
        h->active_headers[h->n_active_headers++] = sy_arena_printf(c->a, "%s: %s", name, val);
    }
}

static void load_health(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path, sy_health_cfg *h)
{
    int64_t n;
    char *s;

    /* Defaults for what Tencent marks required but a user rarely needs to
     * spell out; the thresholds follow Tencent's documented example. */
    h->tcp_failure_threshold = 5;
    h->timeout_threshold = 5;
    h->http_failure_threshold = 3;
    h->active_path = sy_arena_strdup(c->a, "/");
    h->active_timeout_ms = 5000;
    h->active_interval_ms = 5000;
    h->unhealthy_timeout_ms = 30000;
    if (!sy_cfg_map(c, map, path, health_keys))
        return;
    h->present = true;
    sy_cfg_bool(c, map, path, "EnableActiveCheck", SY_REQ, &h->enable_active);
    sy_cfg_bool(c, map, path, "EnablePassiveCheck", SY_REQ, &h->enable_passive);
    status_field(c, map, path, "HealthyHttpStatus", &h->healthy, "200-399");
    status_field(c, map, path, "UnhealthyHttpStatus", &h->unhealthy, "500-599");
    if (sy_cfg_int(c, map, path, "TcpFailureThreshold", SY_OPT, 0, 254, &n))
        h->tcp_failure_threshold = (int)n;
    if (sy_cfg_int(c, map, path, "TimeoutThreshold", SY_OPT, 0, 254, &n))
        h->timeout_threshold = (int)n;
    if (sy_cfg_int(c, map, path, "HttpFailureThreshold", SY_OPT, 0, 254, &n))
        h->http_failure_threshold = (int)n;
    if (sy_cfg_str(c, map, path, "ActiveCheckHttpPath", SY_OPT, &s)) {
        if (s[0] != '/' || strpbrk(s, " \r\n\t"))
            sy_cfg_err(c, sy_ymap_get(map, "ActiveCheckHttpPath")->mark,
                       SY_PATH_KEY(path, "ActiveCheckHttpPath"),
                       "must start with / and contain no spaces");
        else
            h->active_path = s;
    }
    sy_cfg_seconds(c, map, path, "ActiveCheckTimeout", SY_OPT, 0.001, 300, &h->active_timeout_ms);
    sy_cfg_seconds(c, map, path, "ActiveCheckInterval", SY_OPT, 0.1, 3600, &h->active_interval_ms);
    const sy_ynode *hv = sy_ymap_get(map, "ActiveRequestHeader");
    if (hv)
        load_probe_headers(c, hv, SY_PATH_KEY(path, "ActiveRequestHeader"), h);
    bool ut = sy_cfg_seconds(c, map, path, "UnhealthyTimeout", SY_OPT, 0, 86400,
                             &h->unhealthy_timeout_ms);
    /* Only active probes bring an ejected node back; with passive checks
     * alone the timeout is the only way back. */
    if (ut && h->unhealthy_timeout_ms == 0 && h->enable_passive && !h->enable_active)
        sy_cfg_err(c, sy_ymap_get(map, "UnhealthyTimeout")->mark,
                   SY_PATH_KEY(path, "UnhealthyTimeout"),
                   "must be greater than 0 when only passive checks are on");
}

/* HashKey: client_ip, header.NAME, cookie.NAME or query.NAME. */
static void load_hash_key(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path,
                          sy_upstream_cfg *u)
{
    static const struct {
        const char *prefix;
        int on;
    } kinds[] = {
        {"header.", SY_HASH_HEADER}, {"cookie.", SY_HASH_COOKIE}, {"query.", SY_HASH_QUERY}};
    char *s;
    if (!sy_cfg_str(c, map, path, "HashKey", SY_OPT, &s))
        return;
    if (strcmp(s, "client_ip") == 0) {
        u->hash_key = s;
        u->hash_on = SY_HASH_CLIENT_IP;
        return;
    }
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        size_t pl = strlen(kinds[i].prefix);
        if (strncmp(s, kinds[i].prefix, pl) == 0 && s[pl] && !strpbrk(s + pl, " \t\r\n")) {
            u->hash_key = s;
            u->hash_on = kinds[i].on;
            u->hash_name = s + pl;
            return;
        }
    }
    sy_cfg_err(c, sy_ymap_get(map, "HashKey")->mark, SY_PATH_KEY(path, "HashKey"),
               "must be client_ip, header.NAME, cookie.NAME or query.NAME");
}

/* Our extension (Tencent has no such fields): HAProxy's server maxconn
 * and queue, nginx's max_conns and keepalive, per node. */
static void load_limits(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path,
                        sy_upstream_cfg *u)
{
    int64_t n;
    if (sy_cfg_int(c, map, path, "MaxConnectionsPerNode", SY_OPT, 0, 1000000, &n))
        u->max_conns_per_node = (uint32_t)n;
    if (sy_cfg_int(c, map, path, "MaxQueuePerNode", SY_OPT, 0, 1000000, &n))
        u->max_queue_per_node = (uint32_t)n;
    sy_cfg_seconds(c, map, path, "QueueTimeout", SY_OPT, 0.001, 3600, &u->queue_timeout_ms);
    if (sy_cfg_int(c, map, path, "MaxIdleConnectionsPerNode", SY_OPT, 0, 1000000, &n))
        u->max_idle_per_node = (uint32_t)n;
    sy_cfg_seconds(c, map, path, "KeepaliveTimeout", SY_OPT, 0.001, 3600, &u->keepalive_ms);
}

static void load_upstream(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path,
                          sy_upstream_cfg *u)
{
    int idx;
    int64_t n;
    char *s;

    u->mark = map->mark;
    u->scheme = sy_arena_strdup(c->a, "HTTP");
    u->algorithm = sy_arena_strdup(c->a, "ROUND-ROBIN");
    u->retries = 3;
    u->tls_verify = true;
    u->max_conns_per_node = SY_UP_MAX_CONNS_DEFAULT;
    u->max_queue_per_node = SY_UP_MAX_QUEUE_DEFAULT;
    u->queue_timeout_ms = SY_UP_QUEUE_TIMEOUT_DEFAULT;
    u->max_idle_per_node = SY_UP_MAX_IDLE_DEFAULT;
    if (!sy_cfg_map(c, map, path, upstream_keys))
        return;
    if (sy_cfg_id(c, map, path, "UpstreamId", &s)) {
        const sy_ynode *v = sy_ymap_get(map, "UpstreamId");
        sy_upstream_cfg *prev = sy_cfg_find_upstream(c->cfg, s);
        if (prev)
            sy_cfg_err(c, v->mark, SY_PATH_KEY(path, "UpstreamId"),
                       "duplicate UpstreamId \"%s\" (first at %d:%d)", s, prev->mark.line,
                       prev->mark.col);
        else
            u->id = s;
    }
    sy_cfg_str(c, map, path, "UpstreamName", SY_OPT, &u->name);
    sy_cfg_str(c, map, path, "UpstreamDescription", SY_OPT, &s);
    sy_cfg_str(c, map, path, "UniqVpcId", SY_OPT, &s);
    if (sy_cfg_enum(c, map, path, "UpstreamType", SY_OPT, types, &idx))
        u->k8s = idx == 1;
    sy_cfg_load_k8s_services(c, map, path, u);
    if (sy_cfg_enum(c, map, path, "Scheme", SY_OPT, schemes, &idx))
        u->scheme = sy_arena_strdup(c->a, schemes[idx]);
    if (sy_cfg_enum(c, map, path, "Algorithm", SY_OPT, algorithms, &idx))
        /* Tencent's docs spell it both ways; keep one spelling. */
        u->algorithm = sy_arena_strdup(c->a, idx == 1 ? "ROUND-ROBIN" : algorithms[idx]);
    if (sy_cfg_int(c, map, path, "Retries", SY_OPT, 0, 100, &n))
        u->retries = (int)n;
    if (sy_cfg_str(c, map, path, "UpstreamHost", SY_OPT, &s)) {
        if (!*s || strpbrk(s, " \r\n\t"))
            sy_cfg_err(c, sy_ymap_get(map, "UpstreamHost")->mark, SY_PATH_KEY(path, "UpstreamHost"),
                       "must be a host name, optionally with :port");
        else
            u->upstream_host = s;
    }
    const sy_ynode *tags = sy_ymap_get(map, "Tags");
    if (tags)
        sy_cfg_node_list(c, tags, SY_PATH_KEY(path, "Tags"));

    const sy_ynode *nodes = sy_ymap_get(map, "Nodes");
    const sy_fpath *np = SY_PATH_KEY(path, "Nodes");
    if (nodes && sy_cfg_node_list(c, nodes, np)) {
        u->nodes = sy_arena_alloc(c->a, (nodes->n ? nodes->n : 1) * sizeof *u->nodes);
        u->n_nodes = nodes->n;
        for (size_t i = 0; i < nodes->n; i++)
            load_node(c, nodes->items[i], SY_PATH_IDX(np, i), &u->nodes[i]);
    }
    load_hash_key(c, map, path, u);
    if (u->hash_key && strcmp(u->algorithm, "CONSISTENT-HASH") != 0)
        sy_cfg_err(c, sy_ymap_get(map, "HashKey")->mark, SY_PATH_KEY(path, "HashKey"),
                   "only applies to Algorithm CONSISTENT-HASH");
    sy_cfg_bool(c, map, path, "TlsVerify", SY_OPT, &u->tls_verify);
    if (sy_cfg_str(c, map, path, "CaFile", SY_OPT, &s)) {
        if (!*s)
            sy_cfg_err(c, sy_ymap_get(map, "CaFile")->mark, SY_PATH_KEY(path, "CaFile"),
                       "must not be empty");
        else
            u->ca_file = s;
    }
    if ((sy_ymap_get(map, "CaFile") || sy_ymap_get(map, "TlsVerify")) &&
        strcmp(u->scheme, "HTTPS") != 0)
        sy_cfg_err(c, map->mark, path, "CaFile and TlsVerify need Scheme HTTPS");
    const sy_ynode *hc = sy_ymap_get(map, "HealthChecker");
    if (hc)
        load_health(c, hc, SY_PATH_KEY(path, "HealthChecker"), &u->health);
    load_limits(c, map, path, u);
}

void sy_cfg_load_upstreams(sy_cfg_ctx *c, const sy_ynode *list)
{
    sy_config *cfg = c->cfg;
    if (!sy_cfg_node_list(c, list, SY_PATH_TOP("Upstreams")))
        return;
    cfg->upstreams = sy_arena_alloc(c->a, (list->n ? list->n : 1) * sizeof *cfg->upstreams);
    /* n_upstreams grows as we go so duplicate checks see only earlier
     * entries. */
    for (size_t i = 0; i < list->n; i++) {
        sy_upstream_cfg *u = &cfg->upstreams[i];
        u->index = i;
        load_upstream(c, list->items[i], SY_PATH_IDX(SY_PATH_TOP("Upstreams"), i), u);
        cfg->n_upstreams = i + 1;
    }
}
