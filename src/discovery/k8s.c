/* The discovery thread and the registry of units (see k8s.h). */
#include "discovery/k8s.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "discovery/k8s_int.h"
#include "net/loop.h"
#include "upstream/balancer.h"

#define LOOP_MS 100 /* longest sleep; a request or a wake-up ends it sooner */
/* Balancers are rebuilt at most this often: under churn (100 slice
 * updates/s) one rebuild covers several events, and the sets retired in
 * the last second (upstream/balancer.c) stay few. */
#define REFRESH_MS 50

pthread_mutex_t sy_k8s_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t sy_k8s_cond = PTHREAD_COND_INITIALIZER;
unit *sy_k8s_units;

static struct {
    pthread_t thread;
    bool started;
    CURLM *multi;
    _Atomic(sy_snapshot *) pending;
    atomic_int stop;
    sy_snapshot *snap;
} K;

/* ---- keys ---- */

static char *selector_of(const sy_k8s_service_cfg *s)
{
    if (!s->n_labels)
        return NULL;
    size_t len = 1;
    for (size_t i = 0; i < s->n_labels; i++)
        len += strlen(s->labels[i].key) + strlen(s->labels[i].value) + 2;
    char *sel = sy_calloc(1, len);
    for (size_t i = 0; i < s->n_labels; i++)
        snprintf(sel + strlen(sel), len - strlen(sel), "%s%s=%s", i ? "," : "", s->labels[i].key,
                 s->labels[i].value);
    return sel;
}

/* What identifies a unit: the same service seen the same way.  Cluster
 * settings are not in it, so a reload that changes a token file or CA
 * restarts the unit but keeps its last good endpoints. */
static char *key_of(const sy_k8s_service_cfg *s)
{
    char *sel = selector_of(s);
    size_t len =
        strlen(s->cluster_id) + strlen(s->ns) + strlen(s->service) + (sel ? strlen(sel) : 0) + 32;
    char *k = sy_calloc(1, len);
    snprintf(k, len, "%s|%s|%s|%u|%s", s->cluster_id, s->ns, s->service, s->port, sel ? sel : "");
    free(sel);
    return k;
}

static unit *find(const char *key)
{
    for (unit *u = sy_k8s_units; u; u = u->next)
        if (strcmp(u->key, key) == 0)
            return u;
    return NULL;
}

static bool same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static char *dup_or_null(const char *s)
{
    return s ? sy_strdup(s) : NULL;
}

static void set_cluster(unit *u, const sy_k8s_cluster_cfg *c)
{
    free(u->server);
    free(u->token_file);
    free(u->ca_file);
    free(u->token);
    u->token = NULL;
    u->server = sy_strdup(c->server);
    u->token_file = dup_or_null(c->token_file);
    u->ca_file = dup_or_null(c->ca_file);
    u->timeout_ms = c->timeout_ms;
    u->page_size = c->page_size;
}

static unit *unit_new(const sy_k8s_service_cfg *s, char *key)
{
    unit *u = sy_calloc(1, sizeof *u);
    u->key = key;
    u->cluster_id = sy_strdup(s->cluster_id);
    u->ns = sy_strdup(s->ns);
    u->svc = sy_strdup(s->service);
    u->port = s->port;
    u->selector = selector_of(s);
    u->n_labels = s->n_labels;
    u->lkeys = sy_calloc(s->n_labels + 1, sizeof *u->lkeys);
    u->lvals = sy_calloc(s->n_labels + 1, sizeof *u->lvals);
    for (size_t i = 0; i < s->n_labels; i++) {
        u->lkeys[i] = sy_strdup(s->labels[i].key);
        u->lvals[i] = sy_strdup(s->labels[i].value);
    }
    set_cluster(u, s->cluster);
    sy_k8s_unit_clear(u);
    return u;
}

static void unit_free(unit *u)
{
    sy_k8s_unit_cancel(K.multi, u);
    sy_k8s_unit_clear(u);
    for (size_t i = 0; i < u->n_labels; i++) {
        free(u->lkeys[i]);
        free(u->lvals[i]);
    }
    free(u->lkeys);
    free(u->lvals);
    free(u->key);
    free(u->cluster_id);
    free(u->server);
    free(u->token_file);
    free(u->ca_file);
    free(u->token);
    free(u->ns);
    free(u->svc);
    free(u->selector);
    free(u->eps);
    free(u);
}

/* ---- the thread ---- */

static void refresh_balancers(void)
{
    for (size_t i = 0; i < K.snap->n_balancers; i++)
        if (K.snap->cfg->upstreams[i].k8s)
            sy_balancer_refresh(K.snap->balancers[i]);
}

/* Units for every tunnel service of the new generation; the others go. */
static void take_snapshot(sy_snapshot *s)
{
    for (unit *u = sy_k8s_units; u; u = u->next)
        u->wanted = false;
    const sy_config *cfg = s->cfg;
    for (size_t i = 0; i < cfg->n_upstreams; i++) {
        const sy_upstream_cfg *up = &cfg->upstreams[i];
        for (size_t j = 0; up->k8s && j < up->n_k8s_services; j++) {
            const sy_k8s_service_cfg *sc = &up->k8s_services[j];
            char *key = key_of(sc);
            unit *u = find(key);
            if (!u) {
                u = unit_new(sc, key);
                pthread_mutex_lock(&sy_k8s_lock);
                u->next = sy_k8s_units;
                sy_k8s_units = u;
                pthread_mutex_unlock(&sy_k8s_lock);
            } else {
                free(key);
                const sy_k8s_cluster_cfg *c = sc->cluster;
                if (!same(u->server, c->server) || !same(u->token_file, c->token_file) ||
                    !same(u->ca_file, c->ca_file) || u->timeout_ms != c->timeout_ms ||
                    u->page_size != c->page_size) {
                    /* Start over against the new settings; the endpoints
                     * stay until a complete answer replaces them. */
                    sy_k8s_unit_cancel(K.multi, u);
                    sy_k8s_unit_clear(u);
                    set_cluster(u, c);
                    pthread_mutex_lock(&sy_k8s_lock);
                    u->tried = false;
                    u->ready = u->synced;
                    pthread_mutex_unlock(&sy_k8s_lock);
                }
            }
            u->wanted = true;
        }
    }
    pthread_mutex_lock(&sy_k8s_lock);
    for (unit **pp = &sy_k8s_units; *pp;) {
        unit *u = *pp;
        if (u->wanted) {
            pp = &u->next;
            continue;
        }
        *pp = u->next;
        pthread_mutex_unlock(&sy_k8s_lock);
        unit_free(u);
        pthread_mutex_lock(&sy_k8s_lock);
    }
    pthread_mutex_unlock(&sy_k8s_lock);
    sy_snapshot *old = K.snap;
    K.snap = s;
    refresh_balancers();
    if (old)
        sy_snapshot_unref(old);
}

static void *k8s_main(void *arg)
{
    pthread_setname_np(pthread_self(), "sy-k8s"); /* for top -H and the churn bench */
    uint64_t last_refresh = 0;
    while (!atomic_load(&K.stop)) {
        sy_snapshot *s = atomic_exchange(&K.pending, NULL);
        if (s)
            take_snapshot(s);
        uint64_t now = sy_clock_ms();
        for (unit *u = sy_k8s_units; u; u = u->next)
            sy_k8s_unit_step(K.multi, u, now);
        int running = 0;
        curl_multi_perform(K.multi, &running);
        CURLMsg *msg;
        int left;
        now = sy_clock_ms();
        while ((msg = curl_multi_info_read(K.multi, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            void *q = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&q);
            sy_k8s_req_done(K.multi, q, msg->data.result, now);
        }
        /* Watch events were applied as they arrived; select and rebuild
         * at most once per REFRESH_MS (the first change at once). */
        uint64_t due = sy_k8s_next_due(), t = sy_clock_ms();
        bool dirty = false;
        for (unit *u = sy_k8s_units; u; u = u->next)
            dirty |= u->dirty;
        if (dirty && t - last_refresh >= REFRESH_MS) {
            bool changed = false;
            for (unit *u = sy_k8s_units; u; u = u->next)
                changed |= sy_k8s_unit_select(u);
            if (changed)
                refresh_balancers();
            last_refresh = t;
        } else if (dirty && last_refresh + REFRESH_MS < due) {
            due = last_refresh + REFRESH_MS;
        }
        /* Only now, with the balancers rebuilt, may a waiting generation
         * go ahead (sy_k8s_wait). */
        pthread_mutex_lock(&sy_k8s_lock);
        for (unit *u = sy_k8s_units; u; u = u->next)
            if (!u->ready && !u->dirty && (u->synced || u->tried)) {
                u->ready = true;
                pthread_cond_broadcast(&sy_k8s_cond);
            }
        pthread_mutex_unlock(&sy_k8s_lock);
        int wait = due <= t ? 0 : due - t < LOOP_MS ? (int)(due - t) : LOOP_MS;
        if (wait)
            curl_multi_poll(K.multi, NULL, 0, wait, NULL);
    }
    return NULL;
}

int sy_k8s_start(sy_snapshot *s)
{
    sy_balancer_pods = sy_k8s_endpoints;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    K.multi = curl_multi_init();
    if (!K.multi)
        return -1;
    sy_snapshot_ref(s);
    atomic_store(&K.pending, s);
    if (pthread_create(&K.thread, NULL, k8s_main, NULL) != 0) {
        sy_error("cannot start the Kubernetes discovery thread");
        return -1;
    }
    K.started = true;
    return 0;
}

void sy_k8s_publish(sy_snapshot *s)
{
    if (!K.started)
        return;
    sy_snapshot_ref(s);
    sy_snapshot *old = atomic_exchange(&K.pending, s);
    if (old)
        sy_snapshot_unref(old);
    curl_multi_wakeup(K.multi);
}

static bool all_tried(const sy_config *cfg, bool *synced)
{
    *synced = true;
    for (size_t i = 0; i < cfg->n_upstreams; i++) {
        const sy_upstream_cfg *up = &cfg->upstreams[i];
        for (size_t j = 0; up->k8s && j < up->n_k8s_services; j++) {
            char *key = key_of(&up->k8s_services[j]);
            unit *u = find(key);
            free(key);
            if (!u || !u->ready)
                return false;
            *synced &= u->synced;
        }
    }
    return true;
}

bool sy_k8s_wait(const sy_snapshot *s, uint32_t ms)
{
    if (!K.started)
        return false;
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += ms / 1000;
    dl.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    bool synced = false;
    pthread_mutex_lock(&sy_k8s_lock);
    while (!all_tried(s->cfg, &synced))
        if (pthread_cond_timedwait(&sy_k8s_cond, &sy_k8s_lock, &dl) != 0)
            break;
    pthread_mutex_unlock(&sy_k8s_lock);
    return synced;
}

void sy_k8s_stop(void)
{
    if (!K.started)
        return;
    atomic_store(&K.stop, 1);
    curl_multi_wakeup(K.multi);
    pthread_join(K.thread, NULL);
    K.started = false;
    while (sy_k8s_units) {
        unit *u = sy_k8s_units;
        sy_k8s_units = u->next;
        unit_free(u);
    }
    sy_snapshot *s = atomic_exchange(&K.pending, NULL);
    if (s)
        sy_snapshot_unref(s);
    if (K.snap)
        sy_snapshot_unref(K.snap);
    K.snap = NULL;
    curl_multi_cleanup(K.multi);
    K.multi = NULL;
}

/* ---- readers (any thread) ---- */

size_t sy_k8s_endpoints(const sy_k8s_service_cfg *svc, sy_k8s_addr **out)
{
    char *key = key_of(svc);
    size_t n = 0;
    *out = NULL;
    pthread_mutex_lock(&sy_k8s_lock);
    unit *u = find(key);
    if (u && u->n_eps) {
        n = u->n_eps;
        *out = sy_calloc(n, sizeof **out);
        memcpy(*out, u->eps, n * sizeof **out);
    }
    pthread_mutex_unlock(&sy_k8s_lock);
    free(key);
    return n;
}

static const char *state_of(const unit *u)
{
    if (!u)
        return "not started";
    if (!u->synced)
        return u->tried ? "failing (no list yet)" : "listing";
    return u->stale ? "stale (keeping the last good list)" : "synced";
}

json_t *sy_k8s_status_json(const sy_upstream_cfg *up)
{
    json_t *arr = json_array();
    pthread_mutex_lock(&sy_k8s_lock);
    for (size_t j = 0; up->k8s && j < up->n_k8s_services; j++) {
        const sy_k8s_service_cfg *s = &up->k8s_services[j];
        char *key = key_of(s);
        unit *u = find(key);
        free(key);
        json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:i, s:s, s:b, s:b}", "ClusterId",
                              s->cluster_id, "NameSpace", s->ns, "ServiceName", s->service, "Port",
                              s->port, "Weight", s->weight, "State", state_of(u), "Synced",
                              u && u->synced, "Stale", u && u->stale);
        if (s->n_labels) {
            char *sel = selector_of(s);
            json_object_set_new(o, "ExtraLabels", json_string(sel));
            free(sel);
        }
        if (u) {
            json_object_set_new(o, "Nodes", json_integer((json_int_t)u->n_eps));
            json_object_set_new(o, "TerminatingNodes", json_integer((json_int_t)u->n_term));
            json_object_set_new(o, "LastSync", json_real(u->last_sync));
            json_object_set_new(o, "LastError", u->error[0] ? json_string(u->error) : json_null());
            json_object_set_new(o, "WatchRestarts", json_integer((json_int_t)u->watch_restarts));
            json_object_set_new(o, "Relists", json_integer((json_int_t)u->relists));
            json_object_set_new(o, "Errors", json_integer((json_int_t)u->errors));
        }
        json_array_append_new(arr, o);
    }
    pthread_mutex_unlock(&sy_k8s_lock);
    return arr;
}
