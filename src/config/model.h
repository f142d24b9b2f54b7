/* The configuration model: Tencent API Gateway's objects as C structs.
 *
 * A sy_config is produced by the YAML loader (config/load.c), checked by the
 * validator, then compiled (gen/snapshot.c) into the immutable snapshot
 * workers route with.  Everything hangs off cfg->arena and is freed with it;
 * nothing here is mutated after the snapshot is published.
 *
 * Field names follow Tencent's API (see doc/config.md); each object keeps the
 * source position of its mapping so later stages (the expression compiler,
 * the cross-reference checks) can report FILE:LINE:COLUMN. */
#ifndef SY_CONFIG_MODEL_H
#define SY_CONFIG_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/arena.h"

/* A position in the source file (1-based line and column). */
typedef struct sy_mark {
    int line;
    int col;
} sy_mark;

/* Environments a service can be released to.  Bit masks. */
enum sy_env {
    SY_ENV_TEST = 1 << 0,
    SY_ENV_PREPUB = 1 << 1,
    SY_ENV_RELEASE = 1 << 2,
};
#define SY_ENV_COUNT 3
int sy_env_index(const char *name, size_t len); /* 0..2, or -1 */
const char *sy_env_name(int index);

/* "host:port" endpoint; the address is resolved at load (numeric hosts and
 * "localhost"; names are the upstream issue's DNS discovery). */
typedef struct sy_endpoint {
    char *host;
    uint16_t port;
    struct sockaddr_storage addr;
    socklen_t addrlen;
} sy_endpoint;

typedef struct sy_cidr {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    int prefix;
} sy_cidr;

/* A PEM certificate chain and its private key (TLS termination). */
typedef struct sy_cert_cfg {
    sy_mark mark;
    char *cert_file; /* CertificateFile; NULL = none */
    char *key_file;  /* KeyFile */
    char *path;      /* field path for messages, e.g. "Services[0].Domains[1]" */
} sy_cert_cfg;

/* ---- Gateway.ConfigStore (doc/fleet.md) ---- */
enum sy_store_type { SY_STORE_FILE, SY_STORE_ETCD };

typedef struct sy_store_cfg {
    int type;         /* enum sy_store_type; file by default */
    char **endpoints; /* Endpoints: http(s)://host:port */
    size_t n_endpoints;
    char *prefix;                         /* Prefix, default /switchyard, no trailing slash */
    uint32_t dial_timeout_ms;             /* DialTimeout: 2 s */
    uint32_t request_timeout_ms;          /* RequestTimeout: 5 s */
    char *username, *password;            /* Username/Password (etcd auth), NULL = none */
    char *ca_file, *cert_file, *key_file; /* CaFile, CertFile/KeyFile (TLS) */
    char *cache_file;                     /* CacheFile: last applied snapshot, NULL = none */
    uint32_t lease_ttl_s;                 /* LeaseTTL for leader election: 10 s */
} sy_store_cfg;

/* ---- Kubernetes clusters (Gateway.KubernetesClusters, doc/tunnels.md) ---- */
typedef struct sy_k8s_cluster_cfg {
    sy_mark mark;
    char *id;            /* ClusterId, as K8sService names it */
    char *server;        /* https://host:port (no trailing slash) */
    char *token_file;    /* bearer token, re-read when it changes */
    char *ca_file;       /* PEM bundle the API server's certificate must chain to */
    bool in_cluster;     /* Server came from KUBERNETES_SERVICE_HOST/PORT */
    uint32_t timeout_ms; /* RequestTimeout: lists and connects, 10 s */
    uint32_t page_size;  /* PageSize: list `limit`, 500 */
} sy_k8s_cluster_cfg;

/* ---- Gateway ---- */

/* Access log fields (Gateway.AccessLogFields), in their default order;
 * sy_access_field_names holds their names (config/gateway.c). */
enum sy_access_field {
    SY_AF_TIME,
    SY_AF_REQUEST_ID,
    SY_AF_CLIENT,
    SY_AF_METHOD,
    SY_AF_HOST,
    SY_AF_PATH,
    SY_AF_QUERY,
    SY_AF_USER_AGENT,
    SY_AF_SERVICE,
    SY_AF_ENV,
    SY_AF_API,
    SY_AF_POLICY,
    SY_AF_UPSTREAM,
    SY_AF_NODE,
    SY_AF_UPSTREAM_STATUS,
    SY_AF_ERROR,
    SY_AF_PROTO,
    SY_AF_TLS,
    SY_AF_ALPN,
    SY_AF_STATUS,
    SY_AF_BYTES_SENT,
    SY_AF_BYTES_RECEIVED,
    SY_AF_ATTEMPTS,
    SY_AF_DURATION_MS,
    SY_AF_UPSTREAM_MS,
    SY_AF_COUNT
};
extern const char *const sy_access_field_names[]; /* SY_AF_COUNT names, NULL */

typedef struct sy_gateway_cfg {
    sy_endpoint *listen;
    size_t n_listen;
    sy_endpoint admin_listen; /* default 127.0.0.1:9180 */
    bool admin_enabled;       /* AdminListen: "off" disables it */
    char *admin_token;        /* NULL when unset */
    int workers;              /* 0 = number of cores */
    sy_cidr *trusted;         /* TrustedProxies */
    size_t n_trusted;
    char *access_log; /* path, "-" for stdout, NULL = off */
    /* AccessLogFields: the fields of each line, in order (default: all). */
    uint8_t access_fields[SY_AF_COUNT];
    uint8_t n_access_fields;
    char *audit_log; /* AuditLog: path, "-" = stdout, NULL = off */
    char *error_log; /* path, NULL = stderr */
    int log_level;   /* enum sy_log_level */
    /* DNS servers for upstream node names (Resolvers); none = the
     * nameserver lines of /etc/resolv.conf, read when the resolver starts. */
    sy_endpoint *resolvers;
    size_t n_resolvers;
    sy_k8s_cluster_cfg *k8s_clusters; /* KubernetesClusters */
    size_t n_k8s_clusters;

    /* TLS termination and HTTP/2 (doc/tls-http2.md). */
    sy_endpoint *tls_listen; /* TlsListen */
    size_t n_tls_listen;
    sy_cert_cfg default_cert; /* DefaultCertificate */
    int tls_min_version;      /* Tls.MinVersion: 12 or 13 (TLS 1.2 / 1.3) */
    char *tls_ciphers;        /* Tls.Ciphers (TLS 1.2 list), NULL = safe default */
    char *tls_ciphersuites;   /* Tls.CipherSuites (TLS 1.3), NULL = OpenSSL's */
    char **tls_alpn;          /* Tls.Alpn, default [h2, http/1.1] */
    size_t n_tls_alpn;
    bool tls_session_tickets;      /* Tls.SessionTickets, default true */
    uint32_t tls_ticket_rotate_ms; /* Tls.SessionTicketRotation: 1 h */
    bool h2c;                      /* Http2Cleartext: h2 prior knowledge on Listen */

    /* Timeouts, milliseconds (config takes seconds, decimals allowed). */
    uint32_t header_timeout_ms;  /* total time for the request head: 10 s */
    uint32_t body_timeout_ms;    /* body inactivity: 30 s */
    uint32_t body_min_rate;      /* bytes/s after the grace period: 1024 */
    uint32_t body_rate_grace_ms; /* 10 s */
    uint32_t idle_timeout_ms;    /* keep-alive idle: 15 s */
    uint32_t send_timeout_ms;    /* client not reading: 30 s */
    uint32_t connect_timeout_ms; /* upstream connect: 2 s */
    uint32_t upstream_idle_ms;   /* idle pooled upstream conn kept: 30 s */
    uint32_t grace_ms;           /* SIGTERM drain bound: 10 s */

    /* Limits. */
    uint32_t max_request_line;        /* 8192 -> 414 */
    uint32_t max_header_bytes;        /* 32768 -> 431 */
    uint32_t max_headers;             /* 100 -> 431 */
    uint64_t max_body_bytes;          /* 100 MiB -> 413; 0 = unlimited */
    uint32_t max_connections;         /* per worker: 10000 */
    uint32_t max_backend_connections; /* per worker: 10000 (net/limits.h) */
    uint32_t max_keepalive_requests;  /* 1000 per client connection */

    /* HTTP/2 limits (doc/tls-http2.md). */
    uint32_t h2_max_streams;   /* Http2MaxConcurrentStreams: 100 */
    uint32_t h2_max_proxied;   /* Http2MaxProxiedStreams: 16 handled at once per connection */
    uint32_t h2_stream_window; /* Http2StreamWindow: 64 KiB */
    uint32_t h2_conn_window;   /* Http2ConnectionWindow: 1 MiB */
    uint32_t h2_max_resets;    /* Http2MaxResetsPerSecond: 200 -> GOAWAY */

    sy_store_cfg store; /* ConfigStore: where the configuration lives */
} sy_gateway_cfg;

/* ---- Upstreams ---- */
typedef struct sy_node_cfg {
    sy_mark mark;
    sy_endpoint ep; /* Host, Port */
    int weight;     /* 0..100, 0 = disabled */
} sy_node_cfg;

typedef struct sy_status_set {
    /* Bit per status code 100..599 (index code - 100). */
    uint64_t bits[8];
} sy_status_set;

typedef struct sy_health_cfg {
    bool present;
    bool enable_active;
    bool enable_passive;
    sy_status_set healthy;       /* HealthyHttpStatus, e.g. "200,204" */
    sy_status_set unhealthy;     /* UnhealthyHttpStatus, e.g. "500-599" */
    int tcp_failure_threshold;   /* 0..254, 0 = off */
    int timeout_threshold;       /* 0..254 */
    int http_failure_threshold;  /* 0..254 */
    char *active_path;           /* default "/" */
    uint32_t active_timeout_ms;  /* default 5 s */
    uint32_t active_interval_ms; /* default 5 s */
    char **active_headers;       /* "Name: value" lines */
    size_t n_active_headers;
    uint32_t unhealthy_timeout_ms; /* default 30 s */
} sy_health_cfg;

/* One Kubernetes service of a K8S upstream (Tencent's K8sService). */
typedef struct sy_k8s_label {
    char *key, *value;
} sy_k8s_label;

typedef struct sy_k8s_service_cfg {
    sy_mark mark;
    int weight;       /* Weight 0..100: share of the tunnel's traffic */
    char *cluster_id; /* ClusterId */
    const sy_k8s_cluster_cfg *cluster;
    char *ns;             /* Namespace */
    char *service;        /* ServiceName */
    uint16_t port;        /* Port: the Service's port */
    sy_k8s_label *labels; /* ExtraLabels: pod label subset */
    size_t n_labels;
    char *name; /* Name (Tencent's custom name), may be NULL */
} sy_k8s_service_cfg;

#define SY_K8S_MAX_SERVICES 20 /* Tencent's limit per tunnel */

/* What CONSISTENT-HASH hashes (HashKey). */
enum sy_hash_on { SY_HASH_CLIENT_IP, SY_HASH_HEADER, SY_HASH_COOKIE, SY_HASH_QUERY };

#define SY_UP_MAX_CONNS_DEFAULT 1024 /* Envoy's circuit-breaker default */
#define SY_UP_MAX_QUEUE_DEFAULT 1024
#define SY_UP_QUEUE_TIMEOUT_DEFAULT 5000 /* ms */
#define SY_UP_MAX_IDLE_DEFAULT 1024      /* per node per worker */

typedef struct sy_upstream_cfg {
    sy_mark mark;
    char *id;            /* UpstreamId */
    char *name;          /* UpstreamName */
    char *scheme;        /* HTTP | HTTPS */
    char *algorithm;     /* ROUND-ROBIN (ROUND_ROBIN accepted) */
    int retries;         /* default 3 */
    char *upstream_host; /* Host header to nodes, NULL = node host */
    sy_node_cfg *nodes;
    size_t n_nodes;
    sy_health_cfg health;
    char *hash_key;  /* HashKey as written, NULL = client_ip */
    int hash_on;     /* enum sy_hash_on */
    char *hash_name; /* header, cookie or query parameter name */
    bool tls_verify; /* TlsVerify (HTTPS), default true */
    char *ca_file;   /* CaFile (HTTPS), NULL = system CA store */
    /* Connection limits and pools per node (doc/upstreams.md#connections). */
    uint32_t
        max_conns_per_node; /* MaxConnectionsPerNode: requests in flight, all workers; 0 = no cap */
    uint32_t max_queue_per_node; /* MaxQueuePerNode: requests waiting for one; 0 = refuse at once */
    uint32_t queue_timeout_ms;   /* QueueTimeout: then 503 */
    uint32_t max_idle_per_node;  /* MaxIdleConnectionsPerNode, per worker; 0 = no keep-alive */
    uint32_t keepalive_ms;       /* KeepaliveTimeout; 0 = Gateway.UpstreamIdleTimeout */
    bool k8s;                    /* UpstreamType K8S: nodes are discovered pods */
    sy_k8s_service_cfg *k8s_services; /* K8sService */
    size_t n_k8s_services;
    size_t index; /* position in cfg->upstreams */
} sy_upstream_cfg;

/* ---- Backends (API default backend and routing-policy backends) ---- */
enum sy_backend_type {
    SY_BACKEND_HTTP, /* Url, or Product: upstream + UpstreamId */
    SY_BACKEND_MOCK,
};

typedef struct sy_backend_cfg {
    sy_mark mark;
    enum sy_backend_type type;
    char *url;                 /* ServiceConfig.Url: http://host[:port] */
    sy_endpoint url_ep;        /* parsed Url (when not an upstream) */
    char *path;                /* ServiceConfig.Path, default "/" */
    char *method;              /* ServiceConfig.Method, "ANY" keeps the client's */
    bool keep_method;          /* method is ANY (decided at load, not per request) */
    char *product;             /* ServiceConfig.Product (upstream, clb, cvm) */
    char *vpc_id;              /* ServiceConfig.UniqVpcId: kept, not used */
    char *upstream_id;         /* ServiceConfig.UpstreamId */
    sy_upstream_cfg *upstream; /* resolved by the validator */
    uint32_t timeout_ms;       /* ServiceTimeout (seconds in config); default 15 s */
    char *mock_body;           /* ServiceMockReturnMessage */
    int mock_status;           /* extension: ServiceMockStatusCode 200..599, default 200 */
} sy_backend_cfg;

/* ---- Services, domains, APIs ---- */
typedef struct sy_path_mapping_cfg {
    char *path; /* prefix, e.g. "/" or "/v1" */
    int env;    /* sy_env index */
} sy_path_mapping_cfg;

/* Domains[].Protocol bits. */
enum { SY_PROTO_HTTP = 1, SY_PROTO_HTTPS = 2 };

typedef struct sy_domain_cfg {
    sy_mark mark;
    char *name;        /* exact, "*.suffix", or "*" */
    unsigned protocol; /* Protocol: SY_PROTO_* bits, default both */
    bool forced_https; /* IsForcedHttps: plain requests get a 301 */
    sy_cert_cfg cert;  /* CertificateFile / KeyFile */
    sy_path_mapping_cfg *mappings;
    size_t n_mappings;
} sy_domain_cfg;

typedef struct sy_api_cfg {
    sy_mark mark;
    char *id;     /* ApiId */
    char *name;   /* ApiName */
    char *path;   /* Path as written: "=/p", "^~/p", "/p/{id}", "/p" */
    char *method; /* GET, POST, ..., ANY */
    sy_backend_cfg backend;
    struct sy_service_cfg *service;
    char *desc; /* ApiDesc */
} sy_api_cfg;

/* One publication of a service to an environment (Tencent ReleaseService):
 * the service's APIs as they were when it was published.  A service keeps
 * a short history per environment; at most one record per environment is
 * Active (what that environment serves). */
typedef struct sy_release_cfg {
    sy_mark mark;
    char *version;    /* ReleaseVersion, unique within the service */
    char *desc;       /* ReleaseDesc */
    char *time;       /* ReleaseTime, "YYYY-MM-DDTHH:MM:SSZ" */
    int env;          /* EnvironmentName (sy_env index) */
    bool active;      /* Active: the environment serves this version */
    sy_api_cfg *apis; /* the APIs as released */
    size_t n_apis;
} sy_release_cfg;

typedef struct sy_service_cfg {
    sy_mark mark;
    char *id;          /* ServiceId */
    char *name;        /* ServiceName */
    unsigned env_mask; /* Environments released to (enum sy_env bits) */
    sy_domain_cfg *domains;
    size_t n_domains;
    sy_api_cfg *apis;
    size_t n_apis;
    char *desc; /* ServiceDesc */
    /* Releases (present = `Releases:` was given, even empty): then the
     * environments a service is live in are those with an Active release,
     * and each serves that release's APIs.  Without it (a hand-written
     * file) every environment in Environments serves `apis`. */
    bool has_releases;
    sy_release_cfg *releases; /* oldest first */
    size_t n_releases;
    /* What each environment serves (set by the loader from the above). */
    sy_api_cfg *env_apis[SY_ENV_COUNT];
    size_t n_env_apis[SY_ENV_COUNT];
} sy_service_cfg;

/* ---- Plugins ---- */
typedef struct sy_attachment_cfg {
    sy_mark mark;
    char *service_id;
    int env; /* sy_env index */
    char **api_ids;
    size_t n_api_ids;
} sy_attachment_cfg;

/* One routing policy (Tencent "strategy").  56 bytes: a tenant table has
 * 100,000 of them, so the backend is shared (config/intern.h). */
typedef struct sy_policy_cfg {
    sy_mark mark;             /* the policy's mapping */
    sy_mark cond_mark;        /* where the condition string starts */
    char *name;               /* strategy_name */
    char *condition;          /* condition expression, compiled by router/ */
    const char *backend_type; /* backend_type: HTTP, UPSTREAM, VPC, MOCK (shared) */
    /* Shared by every policy with an equal backend; never NULL once
     * loaded.  Read-only. */
    sy_backend_cfg *backend;
    int weight;   /* strategy_weight 0..100 */
    unsigned seq; /* creation order: later in the list = newer */
} sy_policy_cfg;

typedef struct sy_plugin_cfg {
    sy_mark mark;
    char *id;                /* PluginId */
    char *name;              /* PluginName */
    char *type;              /* PluginType: Routing (others are refused) */
    sy_policy_cfg *policies; /* PluginData */
    size_t n_policies;
    sy_attachment_cfg *attachments;
    size_t n_attachments;
    char *desc; /* Description */
    /* Per PluginData index, the rollout that gates the policy (NULL =
     * none); NULL when no rollout names this plugin (config/rollout.c). */
    const struct sy_rollout_cfg **rollout_of;
} sy_plugin_cfg;

/* ---- Rollouts (doc/rollouts.md) ---- */
#define SY_ROLLOUT_MAX_STEPS 20

enum sy_rollout_phase {
    SY_RO_PENDING,
    SY_RO_PROGRESSING,
    SY_RO_PAUSED,
    SY_RO_ROLLED_BACK,
    SY_RO_SUCCEEDED,
};
#define SY_RO_PHASES 5
extern const char *const sy_rollout_phase_names[]; /* "Pending", ... NULL */

/* A closed-loop canary of one Routing policy.  The spec is what the user
 * wrote; phase and step come from Status, which only the controller and
 * the admin actions write (src/rollout/). */
typedef struct sy_rollout_cfg {
    sy_mark mark;
    char *id;                        /* RolloutId */
    char *plugin_id;                 /* PluginId: a Routing plugin */
    char *strategy;                  /* StrategyName: the policy whose share is ramped */
    char *split_by;                  /* SplitBy operand; NULL = per request at random */
    int steps[SY_ROLLOUT_MAX_STEPS]; /* Steps: percent, increasing, ending at 100 */
    size_t n_steps;
    uint32_t step_interval_ms;      /* StepInterval */
    uint32_t interval_ms;           /* Analysis.Interval */
    uint32_t min_requests;          /* Analysis.MinRequests, per arm per window */
    double max_error_rate;          /* Analysis.MaxErrorRate; < 0 = not checked */
    double max_error_rate_increase; /* MaxErrorRateIncrease; < 0 = not checked */
    double max_p99_ratio;           /* MaxLatencyP99Ratio; < 0 = not checked */
    int failure_limit;              /* FailureLimit: consecutive failed windows */
    bool on_failure_pause;          /* OnFailure: PAUSE (else ROLLBACK) */
    int phase;                      /* enum sy_rollout_phase, from Status */
    int step;                       /* Status.CurrentStep, index into steps */
    int weight;                     /* the share now, percent: derived from phase and step */
    char *status_json;              /* Status as compact JSON, NULL = none yet */
    long long revision;             /* Status.Revision: bumped by every writer of Status */
    bool carried;                   /* Status taken over from the running config (rollout.h) */
    const sy_plugin_cfg *plugin;    /* resolved (NULL when finished and gone) */
    size_t policy_index;            /* in plugin->policies */
    int stats_slot;                 /* stats/rollout_stats.h cache; -1 until known */
} sy_rollout_cfg;

typedef struct sy_config {
    sy_arena arena;
    char *file; /* path it came from, for messages */
    sy_gateway_cfg gw;
    sy_upstream_cfg *upstreams;
    size_t n_upstreams;
    sy_service_cfg *services;
    size_t n_services;
    sy_plugin_cfg *plugins;
    size_t n_plugins;
    sy_rollout_cfg *rollouts;
    size_t n_rollouts;
    /* Version: the configuration's version, raised by one on every admin
     * change (gen/manager.h); 0 when the file has none. */
    uint64_t version;
} sy_config;

/* Collected problems.  One run reports every problem it finds. */
typedef struct sy_errors {
    char **msgs;
    size_t n, cap;
} sy_errors;

void sy_errors_add(sy_errors *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "FILE:LINE:COL: path: reason" */
void sy_errors_at(sy_errors *e, const char *file, sy_mark m, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void sy_errors_free(sy_errors *e);

#endif
