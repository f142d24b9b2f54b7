#include "net/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/log.h"

#define SY_LOOP_EVENTS 256
#define SY_LOOP_MAX_WAIT_MS 1000

struct sy_loop {
    int epfd;
    int wakefd;
    sy_io wake_io;
    uint64_t now;
    volatile int stop;
    sy_timer **heap;
    size_t n_heap, cap_heap;
};

uint64_t sy_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t sy_clock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void wake_cb(sy_loop *loop, sy_io *io, uint32_t ev)
{
    uint64_t v;
    while (read(io->fd, &v, sizeof(v)) > 0)
        ;
}

sy_loop *sy_loop_new(void)
{
    sy_loop *l = sy_calloc(1, sizeof(*l));
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->epfd < 0 || l->wakefd < 0) {
        sy_error("epoll/eventfd: %s", strerror(errno));
        abort();
    }
    l->now = sy_clock_ms();
    l->wake_io.fd = l->wakefd;
    l->wake_io.cb = wake_cb;
    sy_loop_add(l, &l->wake_io, EPOLLIN);
    return l;
}

void sy_loop_free(sy_loop *loop)
{
    if (!loop)
        return;
    close(loop->epfd);
    close(loop->wakefd);
    free(loop->heap);
    free(loop);
}

int sy_loop_add(sy_loop *loop, sy_io *io, uint32_t events)
{
    struct epoll_event ev = {.events = events | EPOLLET, .data.ptr = io};
    return epoll_ctl(loop->epfd, EPOLL_CTL_ADD, io->fd, &ev);
}

int sy_loop_mod(sy_loop *loop, sy_io *io, uint32_t events)
{
    struct epoll_event ev = {.events = events | EPOLLET, .data.ptr = io};
    return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, io->fd, &ev);
}

void sy_loop_del(sy_loop *loop, sy_io *io)
{
    if (io->fd >= 0)
        epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
}

uint64_t sy_loop_now(const sy_loop *loop)
{
    return loop->now;
}

/* ---- timer min-heap (slot = index + 1) ---- */

static void heap_swap(sy_loop *l, size_t a, size_t b)
{
    sy_timer *t = l->heap[a];
    l->heap[a] = l->heap[b];
    l->heap[b] = t;
    l->heap[a]->slot = a + 1;
    l->heap[b]->slot = b + 1;
}

static void heap_up(sy_loop *l, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (l->heap[p]->when <= l->heap[i]->when)
            break;
        heap_swap(l, p, i);
        i = p;
    }
}

static void heap_down(sy_loop *l, size_t i)
{
    for (;;) {
        size_t c = 2 * i + 1, m = i;
        if (c < l->n_heap && l->heap[c]->when < l->heap[m]->when)
            m = c;
        if (c + 1 < l->n_heap && l->heap[c + 1]->when < l->heap[m]->when)
            m = c + 1;
        if (m == i)
            return;
        heap_swap(l, i, m);
        i = m;
    }
}

void sy_timer_init(sy_timer *t, sy_timer_cb cb, void *data)
{
    t->when = 0;
    t->slot = 0;
    t->cb = cb;
    t->data = data;
}

void sy_timer_stop(sy_loop *l, sy_timer *t)
{
    if (!t->slot)
        return;
    size_t i = t->slot - 1;
    size_t last = --l->n_heap;
    if (i != last) {
        l->heap[i] = l->heap[last];
        l->heap[i]->slot = i + 1;
        heap_down(l, i);
        heap_up(l, i);
    }
    t->slot = 0;
    t->when = 0;
}

void sy_timer_arm(sy_loop *l, sy_timer *t, uint64_t delay_ms)
{
    uint64_t when = l->now + delay_ms;
    if (t->slot) {
        /* Re-arming an armed timer is the common case (activity pushes a
         * deadline out); adjust in place instead of remove + insert. */
        uint64_t old = t->when;
        t->when = when;
        if (when > old)
            heap_down(l, t->slot - 1);
        else
            heap_up(l, t->slot - 1);
        return;
    }
    if (l->n_heap == l->cap_heap) {
        l->cap_heap = l->cap_heap ? l->cap_heap * 2 : 64;
        l->heap = sy_realloc(l->heap, l->cap_heap * sizeof(*l->heap));
    }
    t->when = when;
    l->heap[l->n_heap] = t;
    t->slot = ++l->n_heap;
    heap_up(l, l->n_heap - 1);
}

static void run_timers(sy_loop *l)
{
    while (l->n_heap && l->heap[0]->when <= l->now) {
        sy_timer *t = l->heap[0];
        sy_timer_stop(l, t);
        t->cb(l, t);
    }
}

void sy_loop_stop(sy_loop *loop)
{
    loop->stop = 1;
    sy_loop_wake(loop);
}

void sy_loop_wake(sy_loop *loop)
{
    uint64_t one = 1;
    ssize_t w = write(loop->wakefd, &one, sizeof(one));
    (void)w;
}

void sy_loop_run(sy_loop *l, void (*tick)(sy_loop *, void *), void *arg)
{
    struct epoll_event evs[SY_LOOP_EVENTS];
    while (!l->stop) {
        int timeout = SY_LOOP_MAX_WAIT_MS;
        if (l->n_heap) {
            uint64_t w = l->heap[0]->when;
            timeout = w <= l->now ? 0
                                  : (int)(w - l->now < SY_LOOP_MAX_WAIT_MS ? w - l->now
                                                                           : SY_LOOP_MAX_WAIT_MS);
        }
        int n = epoll_wait(l->epfd, evs, SY_LOOP_EVENTS, timeout);
        l->now = sy_clock_ms();
        for (int i = 0; i < n; i++) {
            sy_io *io = evs[i].data.ptr;
            io->cb(l, io, evs[i].events);
        }
        run_timers(l);
        if (tick)
            tick(l, arg);
    }
    l->stop = 0; /* a stop ends one run (or the next, if asked before it) */
}
