/* HTTP/2 to clients (libnghttp2), by transcoding each stream to HTTP/1.1.
 *
 * An h2 connection is a sy_client whose socket carries frames (c->h2).
 * Each request stream gets a socket-less sy_client of its own (c->h2s):
 *   - its receive side is fed an HTTP/1.1 request synthesized from the
 *     validated HEADERS (pseudo-headers become the request line and Host,
 *     cookies are joined, Content-Length kept or chunked framing added for
 *     DATA), so the strict parser, routing, MOCK, errors and the proxy run
 *     unchanged (upstreams stay HTTP/1.1);
 *   - its send side (the HTTP/1.1 response bytes the core writes to
 *     c->out) is parsed with llhttp and turned into HEADERS + DATA frames.
 * Flow control and back-pressure per stream: a stream buffers at most
 * 64 KiB of response body; beyond that it stops taking the stream client's
 * output, whose buffer then stops the upstream being read.  Request DATA is
 * acknowledged (WINDOW_UPDATE) only once the stream client has read it.
 *
 * Limits (doc/reliability.md §2, Envoy's edge values by default): concurrent
 * streams, stream and connection windows, header bytes and count per
 * stream (MaxHeaderBytes, MaxHeaders), HPACK table sizes, CONTINUATION and
 * SETTINGS floods (nghttp2), and a per-second cap on stream resets by the
 * client (rapid reset) answered with GOAWAY ENHANCE_YOUR_CALM.
 *
 * Request smuggling rules for h2 -> h1 (doc/reliability.md §1.3): nghttp2
 * rejects connection-specific fields, TE other than "trailers", CR/LF/NUL
 * and upper case in fields and a Content-Length that disagrees with DATA;
 * we refuse a Host that disagrees with :authority and drop TE and Expect. */
#ifndef SY_HTTP_H2_H
#define SY_HTTP_H2_H

#include <stddef.h>
#include <sys/types.h>

#include "http/conn.h"

#define SY_H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define SY_H2_PREFACE_LEN 24

/* Switch client c to HTTP/2; `initial` holds bytes already read (the h2c
 * preface onwards), n may be 0. */
void sy_h2_start(sy_client *c, const char *initial, size_t n);
/* Socket event on an h2 connection. */
void sy_h2_on_io(sy_client *c);
/* The connection's output buffer was flushed (sy_client_flush). */
void sy_h2_flushed(sy_client *c);
void sy_h2_timer(sy_client *c);
/* Graceful: GOAWAY, finish the open streams, then close. */
void sy_h2_drain(sy_client *c);
/* The connection is closing: close every stream client, free the session. */
void sy_h2_conn_closed(sy_client *c);

/* Stream-client side, called by http/server.c for c->h2s clients. */
ssize_t sy_h2_stream_take(sy_client *sc, const char *p, size_t n);
ssize_t sy_h2_stream_read(sy_client *sc, char *p, size_t n);
void sy_h2_stream_closed(sy_client *sc);

/* Provided by http/server.c. */
sy_client *sy_client_new_stream(sy_client *parent, struct sy_h2stream *s);
void sy_client_kick(sy_client *c);
ssize_t sy_client_recv(sy_client *c, char *p, size_t n);

#endif
