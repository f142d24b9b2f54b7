/* Typed access to YAML nodes for the loaders, with uniform messages.
 *
 * Every getter takes the parent mapping, its field path ("Services[0]") and
 * a key.  A missing optional key leaves *out untouched (so callers preset the
 * default) and returns false; a bad value adds one error
 * "FILE:L:C: Services[0].Key: reason" at the value and returns false; only a
 * present, valid value returns true. */
#ifndef SY_CONFIG_FIELDS_H
#define SY_CONFIG_FIELDS_H

#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>

#include "config/model.h"
#include "config/yaml_tree.h"

typedef struct sy_cfg_ctx {
    sy_config *cfg;
    sy_arena *a;  /* cfg->arena: what the model keeps */
    sy_arena tmp; /* YAML nodes, freed after loading */
    sy_errors *errs;
    const char *file;
    unsigned n_errors_at_start;
    struct sy_intern *intern; /* equal strings and backends stored once */
    /* The running configuration a document dumped with
     * SY_DUMP_KEEP_POLICIES came from: its markers name plugins here. */
    const sy_config *base;
    /* Policies loaded while the YAML streamed (sy_ytree_parse_stream),
     * per Plugins index, picked up when their plugin is loaded. */
    struct sy_cfg_streamed *streamed;
    size_t n_streamed;
} sy_cfg_ctx;

enum { SY_OPT = 0, SY_REQ = 1 };

/* A field path ("Services[0].Apis[2].Path") as a chain of links that live
 * on the loaders' stacks; it is spelled out only when a message needs it,
 * so loading a large file builds no strings for paths.  A link's parent
 * must outlive it, which the loaders' call structure guarantees.
 *
 *   SY_PATH_TOP("Gateway")       "Gateway" (any literal text, dots allowed)
 *   SY_PATH_KEY(parent, "Key")   "parent.Key", or "Key" when parent is
 *                                NULL or spells ""
 *   SY_PATH_IDX(parent, i)       "parent[i]"
 *
 * Each is a compound literal: it lives until the end of the enclosing
 * block, so never keep one beyond the block that made it. */
typedef struct sy_fpath sy_fpath;
struct sy_fpath {
    const sy_fpath *up; /* NULL at the top */
    const char *key;    /* NULL for an index link */
    size_t idx;
};

#define SY_PATH_TOP(text) (&(const sy_fpath){NULL, (text), 0})
#define SY_PATH_KEY(parent, k) (&(const sy_fpath){(parent), (k), 0})
#define SY_PATH_IDX(parent, i) (&(const sy_fpath){(parent), NULL, (i)})

/* The spelled-out path (NULL for a NULL path): malloc'd, or in `a`. */
char *sy_fpath_str(const sy_fpath *p);
char *sy_fpath_arena(sy_arena *a, const sy_fpath *p);

void sy_cfg_err(sy_cfg_ctx *c, sy_mark m, const sy_fpath *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Report unknown and duplicated keys.  `keys` ends with NULL.  Returns false
 * (after an error) when `node` is not a mapping. */
bool sy_cfg_map(sy_cfg_ctx *c, const sy_ynode *node, const sy_fpath *path, const char *const *keys);

/* Fetch `key`; when absent and required, report "is required" at the
 * mapping.  NULL when absent. */
const sy_ynode *sy_cfg_get(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path,
                           const char *key, int req);

bool sy_cfg_str(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path, const char *key, int req,
                char **out);
/* Object ids (UpstreamId, ServiceId, ApiId, PluginId) are admin URL path
 * segments, store-file keys and /metrics label values, so they are kept
 * to one safe alphabet: [A-Za-z0-9._-]{1,64}, not "." or "..".  That
 * covers Tencent's generated ids (upstream-1ca1d6yi). */
#define SY_ID_MAX 64
#define SY_ID_RULE "must be 1 to 64 characters from A-Z a-z 0-9 . _ - (and not . or ..)"
bool sy_id_valid(const char *s);
/* A required id: a string of that form, else an error at the value. */
bool sy_cfg_id(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path, const char *key,
               char **out);
/* Same, for values that repeat across a config (ids, paths, methods): one
 * shared copy (config/intern.h), never to be written through. */
bool sy_cfg_str_shared(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path, const char *key,
                       int req, char **out);
/* The shared copy of a constant string. */
char *sy_cfg_shared(sy_cfg_ctx *c, const char *s);
bool sy_cfg_int(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path, const char *key, int req,
                int64_t min, int64_t max, int64_t *out);
bool sy_cfg_bool(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path, const char *key, int req,
                 bool *out);
/* Seconds as an integer or decimal, stored in milliseconds. */
bool sy_cfg_seconds(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path, const char *key,
                    int req, double min, double max, uint32_t *out_ms);
/* One of `choices` (NULL-terminated); *out is the index. */
bool sy_cfg_enum(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path, const char *key, int req,
                 const char *const *choices, int *out);
/* Node-level variants for list items. */
bool sy_cfg_node_str(sy_cfg_ctx *c, const sy_ynode *n, const sy_fpath *path, char **out);
bool sy_cfg_node_list(sy_cfg_ctx *c, const sy_ynode *n, const sy_fpath *path);

/* Parsing helpers shared by the section loaders (endpoint.c). */
bool sy_endpoint_parse(sy_arena *a, const char *text, bool need_ip, sy_endpoint *ep,
                       const char **why);
/* Host + port into an endpoint: IPs (v4, v6 with or without brackets) and
 * "localhost" are resolved now; other valid DNS names are kept with addrlen
 * 0 unless need_ip, which refuses them. */
bool sy_endpoint_set(sy_arena *a, const char *host, size_t hlen, unsigned port, bool need_ip,
                     sy_endpoint *ep, const char **why);
bool sy_host_valid(const char *h, size_t len);
bool sy_cidr_parse(const char *text, sy_cidr *out, const char **why);
bool sy_url_parse(sy_arena *a, const char *url, sy_endpoint *ep, const char **why);
bool sy_endpoint_is_loopback(const sy_endpoint *ep);
bool sy_status_set_parse(const char *text, sy_status_set *set, const char **why);

/* CertificateFile/KeyFile of a domain or Gateway.DefaultCertificate. */
void sy_cfg_load_cert(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path, sy_cert_cfg *out);

/* Gateway.ConfigStore (store_cfg.c). */
void sy_store_cfg_defaults(sy_store_cfg *st);
void sy_cfg_load_store(sy_cfg_ctx *c, const sy_ynode *gateway_map);

/* Section loaders. */
void sy_cfg_load_gateway(sy_cfg_ctx *c, const sy_ynode *n);
void sy_cfg_load_upstreams(sy_cfg_ctx *c, const sy_ynode *n);
void sy_cfg_load_services(sy_cfg_ctx *c, const sy_ynode *n);
void sy_cfg_load_plugins(sy_cfg_ctx *c, const sy_ynode *n);
/* After Plugins: rollouts name a plugin's policy (config/rollout.c). */
void sy_cfg_load_rollouts(sy_cfg_ctx *c, const sy_ynode *n);
/* One streamed item of Plugins[plugin].PluginData: loaded now (with the
 * sections before Plugins already loaded), its problems held back until
 * the plugin itself is loaded, so messages keep their order. */
void sy_cfg_stream_policy(sy_cfg_ctx *c, size_t plugin, size_t idx, const sy_ynode *item);
void sy_cfg_stream_free(sy_cfg_ctx *c);
/* Kubernetes (k8s.c): Gateway.KubernetesClusters, and an upstream's
 * K8sService list (u->k8s already set from UpstreamType). */
void sy_cfg_load_k8s_clusters(sy_cfg_ctx *c, const sy_ynode *gwmap);
void sy_cfg_load_k8s_services(sy_cfg_ctx *c, const sy_ynode *umap, const sy_fpath *upath,
                              sy_upstream_cfg *u);
const sy_k8s_cluster_cfg *sy_cfg_find_k8s_cluster(const sy_config *cfg, const char *id);
/* Backend keys shared by APIs and routing policies (backend.c).  Policies
 * pass the type their backend_type implies (-1 when unknown). */
void sy_cfg_load_backend(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path,
                         sy_backend_cfg *b, bool is_policy, int forced_type);

/* Cross references (validate.c). */
sy_upstream_cfg *sy_cfg_find_upstream(const sy_config *cfg, const char *id);
sy_service_cfg *sy_cfg_find_service(const sy_config *cfg, const char *id);
sy_api_cfg *sy_cfg_find_api(const sy_config *cfg, const char *id);
/* Two services may not claim one domain name. */
void sy_cfg_check_domains(sy_cfg_ctx *c);
/* Attachment rules; plugins before `self` are already loaded. */
void sy_cfg_check_attachment(sy_cfg_ctx *c, const sy_plugin_cfg *self, const sy_attachment_cfg *at,
                             const sy_ynode *node, const sy_fpath *path);

extern const char *const sy_cfg_methods[];

/* Every Gateway key (gateway_keys.c): known keys, numeric parsing,
 * defaults, dumping and the doc/config.md reference come from this table. */
enum sy_gw_kind { SY_GWN_NONE, SY_GWN_MS, SY_GWN_U32, SY_GWN_U64 };
typedef struct sy_gw_key {
    const char *key;                   /* "Tls.MinVersion": a nested key, documented here */
    enum sy_gw_kind kind;              /* SY_GWN_NONE: loaded by its own code in gateway.c */
    size_t off;                        /* numeric: offsetof(sy_gateway_cfg, ...) */
    double def, min, max;              /* numeric: seconds for SY_GWN_MS */
    const char *type;                  /* for the reference: "seconds", "list of host:port" */
    const char *def_text, *range_text; /* SY_GWN_NONE only (numbers are printed) */
    const char *meaning;
} sy_gw_key;
extern const sy_gw_key sy_gw_keys[]; /* in reference order, NULL-terminated */
/* The top-level Gateway key names (NULL-terminated), for unknown-key checks. */
const char *const *sy_gw_top_keys(void);
/* The key reference table of doc/config.md, in Markdown. */
void sy_gw_keys_markdown(FILE *out);

#endif
