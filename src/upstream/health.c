#include "upstream/health.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "core/addr.h"
#include "core/arena.h"
#include "core/log.h"

#define REG_BUCKETS 256

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static sy_node_state *reg[REG_BUCKETS];

sy_node_state *sy_node_state_get(const char *id, const struct sockaddr *sa, socklen_t len)
{
    char text[64];
    sy_addr_text(sa, text, sizeof text);
    unsigned b =
        (unsigned)((XXH3_64bits(id, strlen(id)) ^ XXH3_64bits(text, strlen(text))) % REG_BUCKETS);
    pthread_mutex_lock(&reg_lock);
    sy_node_state *st = reg[b];
    for (; st; st = st->next)
        if (strcmp(st->upstream_id, id) == 0 && strcmp(st->addr, text) == 0)
            break;
    if (!st) {
        st = sy_calloc(1, sizeof *st);
        st->upstream_id = sy_strdup(id);
        memcpy(st->addr, text, sizeof text);
        memcpy(&st->sa, sa, len);
        st->salen = len;
        st->next = reg[b];
        reg[b] = st;
    }
    pthread_mutex_unlock(&reg_lock);
    return st;
}

void sy_node_state_foreach(void (*fn)(void *ud, sy_node_state *st), void *ud)
{
    pthread_mutex_lock(&reg_lock);
    for (int i = 0; i < REG_BUCKETS; i++)
        for (sy_node_state *st = reg[i]; st; st = st->next)
            fn(ud, st);
    pthread_mutex_unlock(&reg_lock);
}

static void bring_back(sy_node_state *st, const char *why)
{
    int was = atomic_exchange(&st->down, SY_DOWN_NONE);
    if (was == SY_DOWN_NONE)
        return;
    atomic_store(&st->tcp_fails, 0);
    atomic_store(&st->timeouts, 0);
    atomic_store(&st->http_fails, 0);
    sy_info("upstream %s: node %s back in rotation (%s)", st->upstream_id, st->addr, why);
}

bool sy_node_usable(sy_node_state *st, uint64_t now)
{
    int down = atomic_load_explicit(&st->down, memory_order_relaxed);
    if (down == SY_DOWN_NONE)
        return true;
    if (now < atomic_load_explicit(&st->down_until, memory_order_relaxed))
        return false;
    bring_back(st, "UnhealthyTimeout passed");
    return true;
}

static void eject(sy_node_state *st, int by, uint64_t until, uint64_t now, const char *why)
{
    atomic_store(&st->down_until, until);
    int expect = SY_DOWN_NONE;
    if (!atomic_compare_exchange_strong(&st->down, &expect, by))
        return; /* already out (the deadline above was refreshed) */
    atomic_store(&st->down_since, now);
    atomic_fetch_add(&st->ejections, 1);
    sy_warn("upstream %s: node %s ejected (%s)", st->upstream_id, st->addr, why);
}

/* One more consecutive failure of a kind; true when it reached the
 * threshold (0 = that kind never ejects). */
static bool count(atomic_int *ctr, int threshold)
{
    int n = atomic_fetch_add(ctr, 1) + 1;
    return threshold > 0 && n >= threshold;
}

static uint64_t passive_until(const sy_health_cfg *h, uint64_t now)
{
    if (h->unhealthy_timeout_ms == 0)
        return UINT64_MAX; /* only a probe brings it back (validated) */
    return now + h->unhealthy_timeout_ms;
}

void sy_node_passive(sy_node_state *st, const sy_health_cfg *h, enum sy_outcome o, int status,
                     uint64_t now)
{
    atomic_fetch_add_explicit(&st->requests, 1, memory_order_relaxed);
    bool bad = o != SY_OUT_STATUS || sy_status_in(&h->unhealthy, status);
    if (bad)
        atomic_fetch_add_explicit(&st->failures, 1, memory_order_relaxed);
    if (!h->enable_passive)
        return;
    const char *why = NULL;
    switch (o) {
    case SY_OUT_TCP:
        if (count(&st->tcp_fails, h->tcp_failure_threshold))
            why = "TcpFailureThreshold consecutive connection failures";
        break;
    case SY_OUT_TIMEOUT:
        if (count(&st->timeouts, h->timeout_threshold))
            why = "TimeoutThreshold consecutive timeouts";
        break;
    case SY_OUT_STATUS:
        if (sy_status_in(&h->unhealthy, status)) {
            if (count(&st->http_fails, h->http_failure_threshold))
                why = "HttpFailureThreshold consecutive failure statuses";
        } else if (sy_status_in(&h->healthy, status)) {
            atomic_store_explicit(&st->tcp_fails, 0, memory_order_relaxed);
            atomic_store_explicit(&st->timeouts, 0, memory_order_relaxed);
            atomic_store_explicit(&st->http_fails, 0, memory_order_relaxed);
        }
        break;
    }
    if (why)
        eject(st, SY_DOWN_PASSIVE, passive_until(h, now), now, why);
}

void sy_node_probe(sy_node_state *st, const sy_health_cfg *h, enum sy_outcome o, int status,
                   uint64_t now)
{
    atomic_fetch_add(&st->probes, 1);
    atomic_store(&st->last_probe_status, o == SY_OUT_STATUS ? status : -1);
    const char *why = NULL;
    switch (o) {
    case SY_OUT_TCP:
        if (count(&st->p_tcp_fails, h->tcp_failure_threshold ? h->tcp_failure_threshold : 1))
            why = "active check: connection failed";
        break;
    case SY_OUT_TIMEOUT:
        if (count(&st->p_timeouts, h->timeout_threshold ? h->timeout_threshold : 1))
            why = "active check: timed out";
        break;
    case SY_OUT_STATUS:
        if (sy_status_in(&h->healthy, status)) {
            atomic_store(&st->p_tcp_fails, 0);
            atomic_store(&st->p_timeouts, 0);
            atomic_store(&st->p_http_fails, 0);
            bring_back(st, "active check passed");
            return;
        }
        if (count(&st->p_http_fails, h->http_failure_threshold ? h->http_failure_threshold : 1))
            why = "active check: unhealthy status";
        break;
    }
    if (o != SY_OUT_STATUS || !sy_status_in(&h->healthy, status))
        atomic_fetch_add(&st->probe_failures, 1);
    if (why)
        eject(st, SY_DOWN_ACTIVE, UINT64_MAX, now, why);
}
