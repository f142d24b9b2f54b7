#include "net/limits.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "core/log.h"

/* Descriptors every process needs whatever its load: stdio, the error and
 * access logs, the store lock, one epoll + eventfd per loop (workers,
 * admin, prober), the DNS client, and slack for libraries (OpenSSL may
 * open /dev/urandom or a CA file). */
#define FD_FIXED 64
#define FD_ADMIN_CONNS 64 /* admin/server.c MAX_CONNS */
#define FD_DNS_QUERIES 16 /* upstream/prober.c MAX_DNS_INFLIGHT */
#define FD_K8S_PROBES 64  /* probes of discovered pods, per K8S upstream with active checks */
#define FD_API_CLIENT 8   /* per Kubernetes cluster, and for an etcd store */

static atomic_uint_fast64_t nofile;

static uint64_t read_nr_open(void)
{
    FILE *f = fopen("/proc/sys/fs/nr_open", "re");
    unsigned long long v = 0;
    if (f) {
        if (fscanf(f, "%llu", &v) != 1)
            v = 0;
        fclose(f);
    }
    return v ? v : 1048576;
}

void sy_limits_init(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t want = rl.rlim_max;
    if (want == RLIM_INFINITY || want > read_nr_open())
        want = read_nr_open(); /* the kernel refuses more than nr_open */
    if (rl.rlim_cur < want) {
        rlim_t before = rl.rlim_cur;
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
            sy_info("file descriptor limit raised from %llu to %llu (the hard limit)",
                    (unsigned long long)before, (unsigned long long)want);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        atomic_store(&nofile,
                     rl.rlim_cur == RLIM_INFINITY ? read_nr_open() : (uint64_t)rl.rlim_cur);
}

uint64_t sy_limits_nofile(void)
{
    uint64_t n = atomic_load(&nofile);
    if (!n) {
        struct rlimit rl;
        n = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                ? (uint64_t)rl.rlim_cur
                : 1024;
    }
    return n;
}

uint64_t sy_limits_reserved(const sy_config *cfg)
{
    uint64_t r = FD_FIXED + FD_DNS_QUERIES;
    r += cfg->gw.n_listen + cfg->gw.n_tls_listen;
    if (cfg->gw.admin_enabled)
        r += 1 + FD_ADMIN_CONNS;
    /* One probe at a time per node with active checks (a DNS name may
     * stand for several addresses: count a few per name). */
    for (size_t i = 0; i < cfg->n_upstreams; i++)
        if (cfg->upstreams[i].health.enable_active)
            r += 4 * cfg->upstreams[i].n_nodes + (cfg->upstreams[i].k8s ? FD_K8S_PROBES : 0);
    /* The Kubernetes and etcd clients (libcurl): a list, a watch and a
     * reconnect in flight each. */
    r += FD_API_CLIENT * cfg->gw.n_k8s_clusters;
    if (cfg->gw.store.type == SY_STORE_ETCD)
        r += FD_API_CLIENT;
    return r;
}

/* The per-worker share and the configured wishes. */
static void shares(const sy_config *cfg, int n_workers, uint64_t *share, uint64_t *mc, uint64_t *mb)
{
    uint64_t n = sy_limits_nofile(), r = sy_limits_reserved(cfg);
    uint64_t w = n_workers > 0 ? (uint64_t)n_workers : 1;
    *share = n > r ? (n - r) / w : 0;
    *mc = cfg->gw.max_connections;
    *mb = cfg->gw.max_backend_connections;
}

void sy_limits_caps(const sy_config *cfg, int n_workers, uint32_t *clients, uint32_t *backends)
{
    uint64_t share, mc, mb;
    shares(cfg, n_workers, &share, &mc, &mb);
    uint64_t c = mc, b = mb;
    if (mc + mb > share) {
        /* Keep the configured proportion: a client connection is useless
         * without a backend connection to proxy it on, and vice versa. */
        c = share * mc / (mc + mb);
        b = share - c;
    }
    *clients = (uint32_t)(c ? c : 1);
    *backends = (uint32_t)(b ? b : 1);
}

void sy_limits_check(const sy_config *cfg, int n_workers)
{
    static uint64_t last_sig; /* main thread only: say it once per distinct outcome */
    uint64_t share, mc, mb;
    shares(cfg, n_workers, &share, &mc, &mb);
    uint32_t c, b;
    sy_limits_caps(cfg, n_workers, &c, &b);
    uint64_t sig = mc + mb <= share ? 0 : ((uint64_t)c << 32 | b) ^ (mc << 20) ^ mb;
    if (sig == last_sig)
        return;
    last_sig = sig;
    if (!sig)
        return;
    uint64_t need = sy_limits_reserved(cfg) + (mc + mb) * (uint64_t)(n_workers > 0 ? n_workers : 1);
    sy_warn(
        "file descriptor limit %llu does not fit MaxConnections %llu + MaxBackendConnections %llu "
        "per worker for %d workers (%llu kept for listeners, admin, probes, logs): each worker "
        "takes at most %u client and %u backend connections; ulimit -n %llu would fit the "
        "configured values",
        (unsigned long long)sy_limits_nofile(), (unsigned long long)mc, (unsigned long long)mb,
        n_workers, (unsigned long long)sy_limits_reserved(cfg), c, b, (unsigned long long)need);
}
