/* The event loop (net/loop.c): timers fire in deadline order and never
 * early, a stopped or re-armed timer does not fire at its old time, an
 * edge-triggered socket reports readability once per edge, sy_loop_del
 * silences a socket, and sy_loop_wake ends a sleeping epoll_wait from
 * another thread. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/loop.h"

typedef struct fired {
    int order[8];
    uint64_t at[8];
    int n;
    int stop_after;
} fired;

static fired F;

static void on_timer(sy_loop *loop, sy_timer *t)
{
    int id = (int)(intptr_t)t->data;
    F.order[F.n] = id;
    F.at[F.n] = sy_clock_ms();
    F.n++;
    if (F.n == F.stop_after)
        sy_loop_stop(loop);
}

static void test_timers_fire_in_deadline_order(void **state)
{
    (void)state;
    memset(&F, 0, sizeof F);
    F.stop_after = 3;
    sy_loop *loop = sy_loop_new();
    sy_timer t[4];
    for (int i = 0; i < 4; i++)
        sy_timer_init(&t[i], on_timer, (void *)(intptr_t)i);
    uint64_t start = sy_clock_ms();
    sy_timer_arm(loop, &t[0], 30);
    sy_timer_arm(loop, &t[1], 10);
    sy_timer_arm(loop, &t[2], 20);
    sy_timer_arm(loop, &t[3], 15);
    sy_timer_stop(loop, &t[3]); /* stopped: never fires */
    assert_false(sy_timer_armed(&t[3]));
    sy_timer_arm(loop, &t[0], 25); /* re-armed: fires once, at the new time */
    sy_loop_run(loop, NULL, NULL);
    assert_int_equal(F.n, 3);
    assert_int_equal(F.order[0], 1);
    assert_int_equal(F.order[1], 2);
    assert_int_equal(F.order[2], 0);
    assert_true(F.at[0] >= start + 10); /* never early */
    assert_true(F.at[2] >= start + 25);
    assert_false(sy_timer_armed(&t[0]));
    sy_loop_free(loop);
}

typedef struct sock_seen {
    int readable_events;
    int hup;
} sock_seen;

static void on_io(sy_loop *loop, sy_io *io, uint32_t ev)
{
    sock_seen *s = io->data;
    if (ev & EPOLLIN)
        s->readable_events++;
    if (ev & (EPOLLRDHUP | EPOLLHUP))
        s->hup++;
}

static void stop_timer(sy_loop *loop, sy_timer *t)
{
    sy_loop_stop(loop);
}

/* Run the loop for ms milliseconds. */
static void run_for(sy_loop *loop, uint64_t ms)
{
    sy_timer t;
    sy_timer_init(&t, stop_timer, NULL);
    sy_timer_arm(loop, &t, ms);
    sy_loop_run(loop, NULL, NULL);
}

static void test_edge_triggered_socket(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    sy_loop *loop = sy_loop_new();
    sock_seen seen = {0};
    sy_io io = {.fd = sv[0], .cb = on_io, .data = &seen};
    assert_int_equal(sy_loop_add(loop, &io, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET), 0);
    run_for(loop, 5);
    assert_int_equal(seen.readable_events, 0);

    assert_int_equal(write(sv[1], "ab", 2), 2);
    run_for(loop, 10);
    assert_int_equal(seen.readable_events, 1);
    run_for(loop, 10); /* unread bytes: no second edge */
    assert_int_equal(seen.readable_events, 1);

    assert_int_equal(write(sv[1], "c", 1), 1);
    run_for(loop, 10); /* new bytes: a new edge */
    assert_int_equal(seen.readable_events, 2);

    sy_loop_del(loop, &io);
    assert_int_equal(write(sv[1], "d", 1), 1);
    close(sv[1]);
    run_for(loop, 10); /* deleted: silent */
    assert_int_equal(seen.readable_events, 2);
    assert_int_equal(seen.hup, 0);
    close(sv[0]);
    sy_loop_free(loop);
}

static void test_peer_close_reports_rdhup(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    sy_loop *loop = sy_loop_new();
    sock_seen seen = {0};
    sy_io io = {.fd = sv[0], .cb = on_io, .data = &seen};
    assert_int_equal(sy_loop_add(loop, &io, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET), 0);
    close(sv[1]);
    run_for(loop, 10);
    assert_true(seen.hup >= 1);
    close(sv[0]);
    sy_loop_free(loop);
}

static void *waker(void *arg)
{
    usleep(20000);
    sy_loop_wake(arg);
    return NULL;
}

static void wake_tick(sy_loop *loop, void *arg)
{
    int *ticks = arg;
    ++*ticks;
    sy_loop_stop(loop);
}

static void test_wake_from_another_thread(void **state)
{
    (void)state;
    sy_loop *loop = sy_loop_new();
    sy_timer far;
    sy_timer_init(&far, stop_timer, NULL);
    sy_timer_arm(loop, &far, 10000); /* the loop would sleep 10 s */
    int ticks = 0;
    pthread_t th;
    uint64_t start = sy_clock_ms();
    pthread_create(&th, NULL, waker, loop);
    sy_loop_run(loop, wake_tick, &ticks);
    pthread_join(th, NULL);
    uint64_t took = sy_clock_ms() - start;
    assert_true(took >= 15 && took < 5000); /* woken, not timed out */
    assert_int_equal(ticks, 1);
    sy_timer_stop(loop, &far);
    sy_loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timers_fire_in_deadline_order),
        cmocka_unit_test(test_edge_triggered_socket),
        cmocka_unit_test(test_peer_close_reports_rdhup),
        cmocka_unit_test(test_wake_from_another_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
