#include "gen/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/load.h"
#include "net/limits.h"
#include "net/tls_server.h"
#include "upstream/balancer.h"
#include "upstream/tls_client.h"

_Atomic(sy_snapshot *) sy_snapshot_current;

static atomic_uint_fast64_t next_generation = 1;

sy_snapshot *sy_snapshot_build(sy_config *cfg, int n_workers, sy_errors *errs)
{
    sy_snapshot *s = sy_calloc(1, sizeof(*s));
    sy_arena_init(&s->arena, 64 * 1024);
    size_t before = errs->n;
    s->cfg = cfg;
    s->n_workers = n_workers;
    sy_limits_caps(cfg, n_workers, &s->max_clients, &s->max_backends);
    s->router = sy_router_build(&s->arena, cfg, errs);
    s->balancers = sy_arena_alloc(&s->arena, (cfg->n_upstreams + 1) * sizeof(*s->balancers));
    for (size_t i = 0; i < cfg->n_upstreams; i++) {
        sy_upstream_cfg *u = &cfg->upstreams[i];
        s->balancers[i] = sy_balancer_new(u, n_workers);
        s->n_balancers = i + 1;
        if (strcmp(u->scheme, "HTTPS") == 0) {
            char err[256];
            s->balancers[i]->ssl_ctx = sy_tls_ctx_new(u, err, sizeof err);
            char path[64];
            snprintf(path, sizeof path, "Upstreams[%zu].%s", i, u->ca_file ? "CaFile" : "Scheme");
            if (!s->balancers[i]->ssl_ctx)
                sy_errors_at(errs, cfg->file, u->mark, path, "%s", err);
        }
    }
    s->tls = sy_stls_build(cfg, errs);
    if (errs->n != before) {
        s->cfg = NULL; /* caller keeps ownership on failure */
        sy_snapshot_unref(s);
        return NULL;
    }
    s->generation = atomic_fetch_add(&next_generation, 1);
    atomic_init(&s->refs, 1);
    return s;
}

void sy_snapshot_ref(sy_snapshot *s)
{
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void sy_snapshot_unref(sy_snapshot *s)
{
    if (!s)
        return;
    if (s->generation && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    /* Policy tables own compiled regexes outside the arena. */
    sy_router_free(s->router);
    sy_stls_free(s->tls);
    for (size_t i = 0; i < s->n_balancers; i++)
        sy_balancer_free(s->balancers[i]);
    if (s->cfg)
        sy_config_free(s->cfg);
    sy_arena_free(&s->arena);
    free(s);
}
