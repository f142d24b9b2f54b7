/* Per-worker, per-node backend pools and wait queues; see pool.h. */
#include "http/pool.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "core/arena.h"
#include "http/conn.h"
#include "http/worker.h"
#include "upstream/health.h"

#define SWEEP_EVERY_MS 10000

static unsigned bucket(const struct sy_node_state *st, const struct sockaddr_storage *addr,
                       socklen_t len, const void *ssl_ctx)
{
    uint64_t h = XXH3_64bits(addr, len) ^ (uint64_t)(uintptr_t)st * 0x9e3779b97f4a7c15ull ^
                 (uint64_t)(uintptr_t)ssl_ctx;
    return (unsigned)(h % SY_UPNODE_BUCKETS);
}

sy_upnode *sy_upnode_get(sy_worker *w, struct sy_node_state *st,
                         const struct sockaddr_storage *addr, socklen_t addrlen, void *ssl_ctx)
{
    unsigned b = bucket(st, addr, addrlen, ssl_ctx);
    for (sy_upnode *n = w->upnodes[b]; n; n = n->hnext)
        if (n->st == st && n->ssl_ctx == ssl_ctx && n->addrlen == addrlen &&
            memcmp(&n->addr, addr, addrlen) == 0)
            return n;
    sy_upnode *n = sy_calloc(1, sizeof *n);
    n->st = st;
    memcpy(&n->addr, addr, addrlen);
    n->addrlen = addrlen;
    n->ssl_ctx = ssl_ctx;
    n->used_ms = sy_loop_now(w->loop);
    n->hnext = w->upnodes[b];
    w->upnodes[b] = n;
    return n;
}

/* ---- idle connections ---- */

static void lru_unlink(sy_worker *w, sy_upconn *u)
{
    if (u->lru_prev)
        u->lru_prev->lru_next = u->lru_next;
    else
        w->lru_head = u->lru_next;
    if (u->lru_next)
        u->lru_next->lru_prev = u->lru_prev;
    else
        w->lru_tail = u->lru_prev;
    u->lru_prev = u->lru_next = NULL;
}

/* Unlink from the node's list (idle or queue, the same links). */
static void list_unlink(sy_upconn *u, sy_upconn **head, sy_upconn **tail)
{
    if (u->link_prev)
        u->link_prev->link_next = u->link_next;
    else
        *head = u->link_next;
    if (u->link_next)
        u->link_next->link_prev = u->link_prev;
    else
        *tail = u->link_prev;
    u->link_prev = u->link_next = NULL;
}

void sy_pool_unlink(sy_upconn *u)
{
    sy_upnode *n = u->node;
    if (!n || u->state != SY_US_IDLE || !u->pooled)
        return;
    list_unlink(u, &n->idle_head, &n->idle_tail);
    n->n_idle--;
    lru_unlink(u->w, u);
    u->w->n_idle--;
    u->pooled = false;
}

sy_upconn *sy_pool_take(sy_worker *w, sy_upnode *n)
{
    sy_upconn *u = n->idle_head;
    if (!u)
        return NULL;
    sy_pool_unlink(u);
    sy_timer_stop(w->loop, &u->timer);
    n->used_ms = sy_loop_now(w->loop);
    return u;
}

bool sy_pool_put(sy_worker *w, sy_upnode *n, sy_upconn *u, uint32_t cap)
{
    if (cap == 0)
        return false;
    while (n->n_idle >= cap) {
        sy_upconn *old = n->idle_tail;
        sy_pool_unlink(old);
        sy_upstream_close_idle(old);
    }
    u->node = n;
    u->link_prev = NULL;
    u->link_next = n->idle_head;
    if (n->idle_head)
        n->idle_head->link_prev = u;
    else
        n->idle_tail = u;
    n->idle_head = u;
    n->n_idle++;
    u->lru_prev = NULL;
    u->lru_next = w->lru_head;
    if (w->lru_head)
        w->lru_head->lru_prev = u;
    else
        w->lru_tail = u;
    w->lru_head = u;
    w->n_idle++;
    u->pooled = true;
    n->used_ms = sy_loop_now(w->loop);
    return true;
}

bool sy_pool_evict_oldest(sy_worker *w)
{
    sy_upconn *u = w->lru_tail;
    if (!u)
        return false;
    sy_pool_unlink(u);
    sy_upstream_close_idle(u);
    return true;
}

void sy_pool_close_all(sy_worker *w)
{
    while (w->lru_tail)
        sy_pool_evict_oldest(w);
}

/* ---- waiting requests ---- */

void sy_queue_push(sy_worker *w, sy_upnode *n, sy_upconn *q)
{
    q->node = n;
    q->link_next = NULL;
    q->link_prev = n->q_tail;
    if (n->q_tail)
        n->q_tail->link_next = q;
    else
        n->q_head = q;
    n->q_tail = q;
    n->n_queued++;
    q->pooled = true;
    if (q->st)
        atomic_fetch_add_explicit(&q->st->queued, 1, memory_order_relaxed);
    if (!n->waiting) {
        n->waiting = true;
        n->wnext = w->waiting;
        w->waiting = n;
    }
}

void sy_queue_remove(sy_upconn *q)
{
    sy_upnode *n = q->node;
    if (!n || q->state != SY_US_QUEUED || !q->pooled)
        return;
    list_unlink(q, &n->q_head, &n->q_tail);
    n->n_queued--;
    q->pooled = false;
    if (q->st)
        atomic_fetch_sub_explicit(&q->st->queued, 1, memory_order_relaxed);
}

static void sweep(sy_worker *w, uint64_t now)
{
    for (unsigned b = 0; b < SY_UPNODE_BUCKETS; b++) {
        sy_upnode **pp = &w->upnodes[b];
        while (*pp) {
            sy_upnode *n = *pp;
            if (!n->n_idle && !n->n_queued && !n->waiting && now - n->used_ms >= SWEEP_EVERY_MS) {
                *pp = n->hnext;
                free(n);
            } else {
                pp = &n->hnext;
            }
        }
    }
}

void sy_pool_service(sy_worker *w)
{
    uint64_t now = sy_loop_now(w->loop);
    if (now - w->pool_swept_ms >= SWEEP_EVERY_MS) {
        w->pool_swept_ms = now;
        sweep(w, now);
    }
    sy_upnode **pp = &w->waiting;
    while (*pp) {
        sy_upnode *n = *pp;
        /* sy_upstream_admit starts the head (or leaves it waiting); a
         * start that fails at once answers its client, which may take the
         * next head off the queue too: always re-read q_head. */
        while (n->q_head && sy_upstream_admit(n->q_head)) {
        }
        if (!n->q_head) {
            n->waiting = false;
            *pp = n->wnext;
            n->used_ms = now;
        } else {
            pp = &n->wnext;
        }
    }
}
