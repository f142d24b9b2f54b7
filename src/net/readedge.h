/* What one read on an edge-triggered socket means — the rule the client
 * side (http/server.c), the backend side (http/backend.c) and the admin
 * listener (admin/server.c) all follow, written once.
 *
 * A socket is registered once for EPOLLIN|EPOLLOUT|EPOLLRDHUP, edge-
 * triggered (net/loop.h), so its owner keeps `readable` itself: set on an
 * edge, cleared when a read says the socket is drained.  A short read
 * drains it and the next edge tells of more bytes — unless the peer's FIN
 * was already signalled (no new edge will come, so read on to see the EOF)
 * or the transport hands out one record per read (TLS: read on to EAGAIN). */
#ifndef SY_NET_READEDGE_H
#define SY_NET_READEDGE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum sy_read {
    SY_READ_DATA,    /* n bytes arrived */
    SY_READ_RETRY,   /* interrupted: read again */
    SY_READ_DRAINED, /* nothing more until the next edge */
    SY_READ_EOF,     /* the peer closed, or an error: no more bytes ever */
};

/* Classify the result n of a read that asked for `asked` bytes, and keep
 * *readable.  `hup`: the peer's FIN/error was already signalled.  `stream`:
 * a plain socket (a short read means drained), not a record reader. */
static inline enum sy_read sy_read_result(ssize_t n, size_t asked, bool *readable, bool hup,
                                          bool stream)
{
    if (n > 0) {
        if ((size_t)n < asked && !hup && stream)
            *readable = false;
        return SY_READ_DATA;
    }
    if (n < 0 && errno == EINTR)
        return SY_READ_RETRY;
    *readable = false;
    return n < 0 && errno == EAGAIN ? SY_READ_DRAINED : SY_READ_EOF;
}

#endif
