/* Kubernetes in the configuration: Gateway.KubernetesClusters (where each
 * ClusterId's API server is and how to authenticate) and the K8sService
 * list of a K8S upstream (Tencent's TKE tunnel).  Names, namespaces and
 * labels are checked against Kubernetes' own syntax here, so what reaches
 * the discovery thread can be put in a URL as is. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/fields.h"

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount/"

static const char *const cluster_keys[] = {"ClusterId",      "Server",   "TokenFile", "CaFile",
                                           "RequestTimeout", "PageSize", NULL};
static const char *const service_keys[] = {"Weight", "ClusterId",   "Namespace", "ServiceName",
                                           "Port",   "ExtraLabels", "Name",      NULL};
static const char *const label_keys[] = {"Key", "Value", NULL};

static bool alnum(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/* RFC 1123 label (namespaces, service names): [a-z0-9]([-a-z0-9]*[a-z0-9])?, <= 63. */
static bool dns_label(const char *s, size_t n)
{
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

/* A label name or value: alphanumerics at both ends, '-', '_', '.' inside, <= 63. */
static bool label_name(const char *s, size_t n, bool empty_ok)
{
    if (n == 0)
        return empty_ok;
    if (n > 63 || !alnum(s[0]) || !alnum(s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return false;
    return true;
}

/* A label key: [prefix/]name, the prefix a DNS subdomain (<= 253). */
static bool label_key(const char *s)
{
    const char *slash = strchr(s, '/');
    if (!slash)
        return label_name(s, strlen(s), false);
    size_t pl = (size_t)(slash - s);
    if (pl == 0 || pl > 253)
        return false;
    for (size_t i = 0, start = 0; i <= pl; i++)
        if (i == pl || s[i] == '.') {
            if (!dns_label(s + start, i - start))
                return false;
            start = i + 1;
        }
    return label_name(slash + 1, strlen(slash + 1), false);
}

static void check_file(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path, const char *key,
                       const char *file)
{
    if (access(file, R_OK) == 0)
        return;
    const sy_ynode *v = sy_ymap_get(map, key);
    sy_cfg_err(c, v ? v->mark : map->mark, SY_PATH_KEY(path, key), "cannot read %s", file);
}

/* "https://host[:port]" with nothing after but one optional '/'. */
static bool server_url(char *s)
{
    if (strncmp(s, "https://", 8) != 0)
        return false;
    size_t n = strlen(s);
    if (n > 8 && s[n - 1] == '/')
        s[--n] = '\0';
    const char *h = s + 8, *end = s + n, *colon;
    if (*h == '[') {
        const char *rb = strchr(h, ']');
        if (!rb)
            return false;
        colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
        if (!colon && rb + 1 != end)
            return false;
    } else {
        colon = strchr(h, ':');
        if (!sy_host_valid(h, (size_t)((colon ? colon : end) - h)))
            return false;
    }
    if (colon) {
        long p = 0;
        const char *d = colon + 1;
        if (d == end)
            return false;
        for (; d < end; d++) {
            if (*d < '0' || *d > '9' || (p = p * 10 + (*d - '0')) > 65535)
                return false;
        }
        if (p == 0)
            return false;
    }
    return !strpbrk(h, "/?#@ \t\r\n");
}

static void load_cluster(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path,
                         sy_k8s_cluster_cfg *k, size_t idx)
{
    int64_t n;
    k->mark = map->mark;
    k->timeout_ms = 10000;
    k->page_size = 500;
    if (!sy_cfg_map(c, map, path, cluster_keys))
        return;
    if (sy_cfg_str(c, map, path, "ClusterId", SY_REQ, &k->id)) {
        const sy_ynode *v = sy_ymap_get(map, "ClusterId");
        if (!*k->id || strpbrk(k->id, " \t\r\n"))
            sy_cfg_err(c, v->mark, SY_PATH_KEY(path, "ClusterId"), "must be a non-empty word");
        for (size_t j = 0; j < idx; j++)
            if (c->cfg->gw.k8s_clusters[j].id && strcmp(c->cfg->gw.k8s_clusters[j].id, k->id) == 0)
                sy_cfg_err(c, v->mark, SY_PATH_KEY(path, "ClusterId"),
                           "duplicate ClusterId \"%s\" (first at %d:%d)", k->id,
                           c->cfg->gw.k8s_clusters[j].mark.line,
                           c->cfg->gw.k8s_clusters[j].mark.col);
    }
    if (sy_cfg_str(c, map, path, "Server", SY_OPT, &k->server)) {
        if (!server_url(k->server))
            sy_cfg_err(c, sy_ymap_get(map, "Server")->mark, SY_PATH_KEY(path, "Server"),
                       "must be https://HOST[:PORT]");
    } else {
        /* In a pod: the service-account defaults every client library uses. */
        const char *host = getenv("KUBERNETES_SERVICE_HOST");
        const char *port = getenv("KUBERNETES_SERVICE_PORT");
        if (!host || !*host) {
            sy_cfg_err(c, map->mark, SY_PATH_KEY(path, "Server"),
                       "is required outside a pod (KUBERNETES_SERVICE_HOST is not set)");
        } else {
            bool v6 = strchr(host, ':') != NULL;
            k->server = sy_arena_printf(c->a, "https://%s%s%s:%s", v6 ? "[" : "", host,
                                        v6 ? "]" : "", port && *port ? port : "443");
            k->in_cluster = true;
            if (!server_url(k->server))
                sy_cfg_err(c, map->mark, SY_PATH_KEY(path, "Server"),
                           "KUBERNETES_SERVICE_HOST/PORT do not make a valid URL (%s)", k->server);
            k->token_file = sy_arena_strdup(c->a, SA_DIR "token");
            k->ca_file = sy_arena_strdup(c->a, SA_DIR "ca.crt");
        }
    }
    sy_cfg_str(c, map, path, "TokenFile", SY_OPT, &k->token_file);
    sy_cfg_str(c, map, path, "CaFile", SY_OPT, &k->ca_file);
    if (k->token_file)
        check_file(c, map, path, "TokenFile", k->token_file);
    if (k->ca_file)
        check_file(c, map, path, "CaFile", k->ca_file);
    sy_cfg_seconds(c, map, path, "RequestTimeout", SY_OPT, 0.1, 600, &k->timeout_ms);
    if (sy_cfg_int(c, map, path, "PageSize", SY_OPT, 1, 10000, &n))
        k->page_size = (uint32_t)n;
}

void sy_cfg_load_k8s_clusters(sy_cfg_ctx *c, const sy_ynode *gwmap)
{
    sy_gateway_cfg *gw = &c->cfg->gw;
    const sy_fpath *path = SY_PATH_TOP("Gateway.KubernetesClusters");
    const sy_ynode *v = sy_ymap_get(gwmap, "KubernetesClusters");
    if (!v || !sy_cfg_node_list(c, v, path))
        return;
    gw->k8s_clusters = sy_arena_alloc(c->a, (v->n ? v->n : 1) * sizeof *gw->k8s_clusters);
    memset(gw->k8s_clusters, 0, (v->n ? v->n : 1) * sizeof *gw->k8s_clusters);
    gw->n_k8s_clusters = v->n;
    for (size_t i = 0; i < v->n; i++)
        load_cluster(c, v->items[i], SY_PATH_IDX(path, i), &gw->k8s_clusters[i], i);
}

const sy_k8s_cluster_cfg *sy_cfg_find_k8s_cluster(const sy_config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->gw.n_k8s_clusters; i++)
        if (cfg->gw.k8s_clusters[i].id && strcmp(cfg->gw.k8s_clusters[i].id, id) == 0)
            return &cfg->gw.k8s_clusters[i];
    return NULL;
}

static void load_labels(sy_cfg_ctx *c, const sy_ynode *v, const sy_fpath *path,
                        sy_k8s_service_cfg *s)
{
    if (!sy_cfg_node_list(c, v, path))
        return;
    s->labels = sy_arena_alloc(c->a, (v->n ? v->n : 1) * sizeof *s->labels);
    for (size_t i = 0; i < v->n; i++) {
        const sy_ynode *m = v->items[i];
        const sy_fpath *ip = SY_PATH_IDX(path, i);
        char *key = NULL, *val = NULL;
        if (!sy_cfg_map(c, m, ip, label_keys))
            continue;
        bool ok = sy_cfg_str(c, m, ip, "Key", SY_REQ, &key);
        ok &= sy_cfg_str(c, m, ip, "Value", SY_REQ, &val);
        if (key && !label_key(key)) {
            sy_cfg_err(c, sy_ymap_get(m, "Key")->mark, SY_PATH_KEY(ip, "Key"),
                       "not a Kubernetes label key ([prefix/]name, name: alphanumerics, "
                       "'-', '_', '.', at most 63)");
            ok = false;
        }
        if (val && !label_name(val, strlen(val), true)) {
            sy_cfg_err(c, sy_ymap_get(m, "Value")->mark, SY_PATH_KEY(ip, "Value"),
                       "not a Kubernetes label value (alphanumerics, '-', '_', '.', at most 63)");
            ok = false;
        }
        for (size_t j = 0; ok && j < s->n_labels; j++)
            if (strcmp(s->labels[j].key, key) == 0) {
                sy_cfg_err(c, sy_ymap_get(m, "Key")->mark, SY_PATH_KEY(ip, "Key"),
                           "label \"%s\" listed twice", key);
                ok = false;
            }
        if (ok)
            s->labels[s->n_labels++] = (sy_k8s_label){key, val};
    }
}

static void name_field(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path, const char *key,
                       char **out)
{
    if (!sy_cfg_str(c, map, path, key, SY_REQ, out))
        return;
    if (!dns_label(*out, strlen(*out))) {
        sy_cfg_err(c, sy_ymap_get(map, key)->mark, SY_PATH_KEY(path, key),
                   "not a Kubernetes name (lower-case letters, digits and '-', at most 63)");
        *out = NULL;
    }
}

static bool same_labels(const sy_k8s_service_cfg *a, const sy_k8s_service_cfg *b)
{
    if (a->n_labels != b->n_labels)
        return false;
    for (size_t i = 0; i < a->n_labels; i++) {
        bool found = false;
        for (size_t j = 0; j < b->n_labels && !found; j++)
            found = strcmp(a->labels[i].key, b->labels[j].key) == 0 &&
                    strcmp(a->labels[i].value, b->labels[j].value) == 0;
        if (!found)
            return false;
    }
    return true;
}

static void load_service(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path,
                         sy_k8s_service_cfg *s)
{
    int64_t n;
    s->mark = map->mark;
    if (!sy_cfg_map(c, map, path, service_keys))
        return;
    if (sy_cfg_int(c, map, path, "Weight", SY_REQ, 0, 100, &n))
        s->weight = (int)n;
    if (sy_cfg_str(c, map, path, "ClusterId", SY_REQ, &s->cluster_id)) {
        s->cluster = sy_cfg_find_k8s_cluster(c->cfg, s->cluster_id);
        if (!s->cluster)
            sy_cfg_err(c, sy_ymap_get(map, "ClusterId")->mark, SY_PATH_KEY(path, "ClusterId"),
                       "unknown ClusterId \"%s\" (not in Gateway.KubernetesClusters)",
                       s->cluster_id);
    }
    name_field(c, map, path, "Namespace", &s->ns);
    name_field(c, map, path, "ServiceName", &s->service);
    if (sy_cfg_int(c, map, path, "Port", SY_REQ, 1, 65535, &n))
        s->port = (uint16_t)n;
    sy_cfg_str(c, map, path, "Name", SY_OPT, &s->name);
    const sy_ynode *l = sy_ymap_get(map, "ExtraLabels");
    if (l)
        load_labels(c, l, SY_PATH_KEY(path, "ExtraLabels"), s);
}

void sy_cfg_load_k8s_services(sy_cfg_ctx *c, const sy_ynode *umap, const sy_fpath *upath,
                              sy_upstream_cfg *u)
{
    const sy_ynode *v = sy_ymap_get(umap, "K8sService");
    const sy_fpath *path = SY_PATH_KEY(upath, "K8sService");
    const sy_ynode *nodes = sy_ymap_get(umap, "Nodes");
    if (!u->k8s) {
        if (v)
            sy_cfg_err(c, v->mark, path, "needs UpstreamType K8S");
        return;
    }
    if (nodes && nodes->kind == SY_YN_SEQ && nodes->n)
        sy_cfg_err(c, nodes->mark, SY_PATH_KEY(upath, "Nodes"),
                   "a K8S upstream's nodes are its services' pods: list them in K8sService");
    if (!v) {
        sy_cfg_err(c, umap->mark, path, "is required for UpstreamType K8S");
        return;
    }
    if (!sy_cfg_node_list(c, v, path))
        return;
    if (v->n == 0 || v->n > SY_K8S_MAX_SERVICES) {
        sy_cfg_err(c, v->mark, path, "must list 1 to %d services, got %zu", SY_K8S_MAX_SERVICES,
                   (size_t)v->n);
        return;
    }
    u->k8s_services = sy_arena_alloc(c->a, v->n * sizeof *u->k8s_services);
    memset(u->k8s_services, 0, v->n * sizeof *u->k8s_services);
    u->n_k8s_services = v->n;
    int total = 0;
    for (size_t i = 0; i < v->n; i++) {
        sy_k8s_service_cfg *s = &u->k8s_services[i];
        const sy_fpath *ip = SY_PATH_IDX(path, i);
        load_service(c, v->items[i], ip, s);
        total += s->weight;
        for (size_t j = 0; j < i && s->service && s->ns && s->cluster_id; j++) {
            const sy_k8s_service_cfg *o = &u->k8s_services[j];
            if (o->service && o->ns && o->cluster_id && strcmp(o->service, s->service) == 0 &&
                strcmp(o->ns, s->ns) == 0 && strcmp(o->cluster_id, s->cluster_id) == 0 &&
                o->port == s->port && same_labels(o, s))
                sy_cfg_err(c, v->items[i]->mark, ip, "same service as K8sService[%zu]", j);
        }
    }
    if (total == 0)
        sy_cfg_err(c, v->mark, path, "every Weight is 0: no service would take traffic");
}
