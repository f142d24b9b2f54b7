/* A small edge-triggered epoll loop, one per worker thread.
 *
 * Iteration order (written down because the proxy depends on it):
 *   1. epoll_wait with a timeout = time to the earliest timer (capped);
 *   2. refresh the cached clock once;
 *   3. run I/O callbacks in the order epoll returned them;
 *   4. run expired timers in deadline order;
 *   5. run deferred callbacks (work queued by the steps above).
 * Everything a callback touches belongs to this thread; other threads only
 * talk to a loop through its eventfd (sy_loop_wake). */
#ifndef SY_NET_LOOP_H
#define SY_NET_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sy_loop sy_loop;
typedef struct sy_io sy_io;
typedef struct sy_timer sy_timer;

typedef void (*sy_io_cb)(sy_loop *loop, sy_io *io, uint32_t events);
typedef void (*sy_timer_cb)(sy_loop *loop, sy_timer *t);

struct sy_io {
    int fd;
    sy_io_cb cb;
    void *data;
};

struct sy_timer {
    uint64_t when; /* ms, loop clock; 0 when not armed */
    size_t slot;   /* heap position + 1; 0 when not in the heap */
    sy_timer_cb cb;
    void *data;
};

sy_loop *sy_loop_new(void);
void sy_loop_free(sy_loop *loop);

/* Register fd for EPOLLIN|EPOLLOUT|EPOLLRDHUP, edge-triggered, once: the
 * owner tracks readiness itself, so no epoll_ctl per state change. */
int sy_loop_add(sy_loop *loop, sy_io *io, uint32_t events);
int sy_loop_mod(sy_loop *loop, sy_io *io, uint32_t events);
void sy_loop_del(sy_loop *loop, sy_io *io);

/* Cached monotonic milliseconds, refreshed once per iteration. */
uint64_t sy_loop_now(const sy_loop *loop);
uint64_t sy_clock_ms(void);
/* Monotonic microseconds (request durations for the histograms). */
uint64_t sy_clock_us(void);

void sy_timer_init(sy_timer *t, sy_timer_cb cb, void *data);
void sy_timer_arm(sy_loop *loop, sy_timer *t, uint64_t delay_ms);
void sy_timer_stop(sy_loop *loop, sy_timer *t);
static inline bool sy_timer_armed(const sy_timer *t)
{
    return t->slot != 0;
}

/* Run until sy_loop_stop() (a stop asked before the run ends it at once;
 * either way the loop can be run again afterwards).  `tick` (may be NULL) runs once per iteration
 * after timers, for per-worker housekeeping such as log flushing. */
void sy_loop_run(sy_loop *loop, void (*tick)(sy_loop *, void *), void *arg);
void sy_loop_stop(sy_loop *loop);

/* Thread-safe: make a sleeping loop return from epoll_wait now. */
void sy_loop_wake(sy_loop *loop);

#endif
