/* See leader.h. */
#include "store/leader.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/log.h"

#define POLL_MS 100

struct sy_leader {
    sy_etcd *etcd;
    char *key, *id;
    int ttl_s;
    pthread_t thread;
    atomic_bool stop, leading;
    pthread_mutex_t mu; /* holder */
    char holder[256];
    char lease[32]; /* lease ID (decimal), "" when none */
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)(ts.tv_nsec / 1000000);
}

static void nap(sy_leader *l, unsigned ms)
{
    while (ms && !atomic_load(&l->stop)) {
        unsigned step = ms < 50 ? ms : 50;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

static bool grant(sy_leader *l)
{
    sy_etcd_err e;
    json_t *req = json_pack("{s:i}", "TTL", l->ttl_s);
    json_t *r = sy_etcd_call(l->etcd, "/v3/lease/grant", req, false, &e);
    json_decref(req);
    const char *id = json_string_value(json_object_get(r, "ID"));
    bool ok = id && strlen(id) < sizeof l->lease;
    if (ok)
        snprintf(l->lease, sizeof l->lease, "%s", id);
    json_decref(r);
    return ok;
}

/* Renew the lease; false when it is gone (expired, revoked) or etcd did
 * not answer. */
static bool keepalive(sy_leader *l)
{
    sy_etcd_err e;
    json_t *req = json_pack("{s:s}", "ID", l->lease);
    json_t *r = sy_etcd_call(l->etcd, "/v3/lease/keepalive", req, true, &e);
    json_decref(req);
    bool ok = r && sy_etcd_int(json_object_get(r, "result"), "TTL") > 0;
    json_decref(r);
    return ok;
}

/* Create KEY = id with our lease unless it exists; *holder gets who
 * holds it.  1 leading, 0 someone else, -1 etcd failed. */
static int campaign(sy_leader *l, char *holder, size_t cap)
{
    char *b = sy_etcd_b64(l->id, strlen(l->id));
    json_t *req = json_pack("{s:[{s:o, s:s, s:s, s:s}], s:[{s:{s:o, s:s, s:s}}], s:[{s:{s:o}}]}",
                            "compare", "key", sy_etcd_jkey(l->key), "target", "CREATE", "result",
                            "EQUAL", "create_revision", "0", "success", "request_put", "key",
                            sy_etcd_jkey(l->key), "value", b, "lease", l->lease, "failure",
                            "request_range", "key", sy_etcd_jkey(l->key));
    free(b);
    sy_etcd_err e;
    json_t *r = sy_etcd_call(l->etcd, "/v3/kv/txn", req, false, &e);
    json_decref(req);
    if (!r)
        return -1;
    int rc = 0;
    if (json_is_true(json_object_get(r, "succeeded"))) {
        snprintf(holder, cap, "%s", l->id);
        rc = 1;
    } else {
        /* failure -> responses[0].response_range.kvs[0] */
        json_t *kv = json_array_get(
            json_object_get(json_object_get(json_array_get(json_object_get(r, "responses"), 0),
                                            "response_range"),
                            "kvs"),
            0);
        const char *v = json_string_value(json_object_get(kv, "value"));
        size_t n;
        char *val = v ? sy_etcd_unb64(v, &n) : NULL;
        snprintf(holder, cap, "%s", val ? val : "");
        /* Ours, under this very lease (a restart of the same id under a
         * new lease must wait for the old one to expire). */
        const char *lease = json_string_value(json_object_get(kv, "lease"));
        if (val && strcmp(val, l->id) == 0 && lease && strcmp(lease, l->lease) == 0)
            rc = 1;
        free(val);
    }
    json_decref(r);
    return rc;
}

static void set_leading(sy_leader *l, bool on, const char *holder)
{
    pthread_mutex_lock(&l->mu);
    snprintf(l->holder, sizeof l->holder, "%s", holder);
    pthread_mutex_unlock(&l->mu);
    if (on != atomic_exchange(&l->leading, on))
        sy_info("leader %s: %s", l->key,
                on ? "this gateway leads" : "this gateway no longer leads");
}

static void *run(void *arg)
{
    sy_leader *l = arg;
    uint64_t renewed = 0, renew_every = (uint64_t)l->ttl_s * 1000 / 3;
    char holder[256];
    while (!atomic_load(&l->stop)) {
        if (!l->lease[0] && !grant(l)) {
            set_leading(l, false, "");
            nap(l, 500);
            continue;
        }
        uint64_t now = mono_ms();
        if (atomic_load(&l->leading)) {
            if (now - renewed >= renew_every) {
                if (keepalive(l)) {
                    renewed = now;
                } else if (now - renewed > 2 * renew_every) {
                    /* Could not renew for 2/3 of the TTL: step down before
                     * the lease can expire under us. */
                    set_leading(l, false, "");
                    l->lease[0] = '\0';
                    continue;
                }
            }
            nap(l, POLL_MS);
            continue;
        }
        /* A candidate keeps its own lease alive and polls the key. */
        if (now - renewed >= renew_every) {
            if (!keepalive(l)) {
                l->lease[0] = '\0';
                continue;
            }
            renewed = now;
        }
        int rc = campaign(l, holder, sizeof holder);
        if (rc == 1)
            renewed = mono_ms();
        if (rc >= 0)
            set_leading(l, rc == 1, holder);
        nap(l, POLL_MS);
    }
    if (l->lease[0]) {
        json_t *req = json_pack("{s:s}", "ID", l->lease);
        sy_etcd_err e;
        json_decref(sy_etcd_call(l->etcd, "/v3/lease/revoke", req, false, &e));
        json_decref(req);
    }
    atomic_store(&l->leading, false);
    return NULL;
}

sy_leader *sy_leader_start(sy_etcd *e, const char *key, const char *id, int ttl_s)
{
    sy_leader *l = sy_calloc(1, sizeof *l);
    l->etcd = e;
    l->key = strdup(key);
    l->id = strdup(id);
    if (!l->key || !l->id)
        abort();
    l->ttl_s = ttl_s;
    pthread_mutex_init(&l->mu, NULL);
    if (pthread_create(&l->thread, NULL, run, l) != 0) {
        sy_error("leader %s: cannot start its thread", key);
        atomic_store(&l->stop, true);
    }
    return l;
}

bool sy_leader_is(sy_leader *l)
{
    return l && atomic_load(&l->leading);
}

json_t *sy_leader_status(sy_leader *l)
{
    pthread_mutex_lock(&l->mu);
    json_t *doc = json_pack("{s:s, s:s, s:b, s:s, s:i}", "key", l->key, "id", l->id, "is_leader",
                            atomic_load(&l->leading), "holder", l->holder, "lease_ttl", l->ttl_s);
    pthread_mutex_unlock(&l->mu);
    return doc;
}

void sy_leader_stop(sy_leader *l)
{
    if (!l)
        return;
    if (!atomic_exchange(&l->stop, true))
        pthread_join(l->thread, NULL);
    pthread_mutex_destroy(&l->mu);
    free(l->key);
    free(l->id);
    free(l);
}
