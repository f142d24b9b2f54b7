/* TLS termination for client connections (OpenSSL 3), non-blocking, in the
 * worker loops: no thread hop, no file read after the snapshot is built.
 *
 * Prefix sy_stls_ ("server TLS"; upstream/tls_client.h is the client side).
 *
 * Per config generation (built with the snapshot, by whichever thread
 * compiles it): one SSL_CTX per certificate, read from the PEM files named
 * in Gateway.DefaultCertificate and Services[].Domains[], plus a base
 * context new connections start on.  The SNI callback picks the context by
 * the server name (exact domain, then the longest "*.suffix", then "*",
 * then DefaultCertificate; with none of them the handshake is refused).
 * A connection's SSL holds a reference to its SSL_CTX, so a reload that
 * swaps certificates never touches established connections.
 *
 * Session tickets: the ticket keys are derived from a process-wide random
 * secret and the rotation epoch (time / SessionTicketRotation), so every
 * worker, every certificate and every config generation agree on them
 * without shared mutable state; a ticket is accepted during its epoch and
 * the next one (then renewed). */
#ifndef SY_NET_TLS_SERVER_H
#define SY_NET_TLS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config/model.h"
#include "core/buf.h"

typedef struct sy_stls sy_stls;
struct ssl_st;

/* Compile the TLS side of `cfg`.  Returns NULL when nothing needs it (no
 * TlsListen, no domain protocol rule) or on errors (added to errs, each
 * naming the file and the field).  Expired certificates are warnings in
 * the log. */
sy_stls *sy_stls_build(const sy_config *cfg, sy_errors *errs);
void sy_stls_free(sy_stls *t);

/* A server-side SSL on fd, starting on the base context.  NULL when this
 * generation has no TLS listener configuration. */
struct ssl_st *sy_stls_new(const sy_stls *t, int fd);
void sy_stls_close(struct ssl_st *ssl);

enum { SY_STLS_OK = 0, SY_STLS_WANT_READ = 1, SY_STLS_WANT_WRITE = 2, SY_STLS_ERR = -1 };
/* Drive the handshake.  On ERR the failure is counted by reason. */
int sy_stls_handshake(struct ssl_st *ssl);
/* Count a handshake that never finished (timeout, client went away). */
void sy_stls_count_failure(const char *reason);
/* recv/send lookalikes: >0 bytes; 0 = EOF (read); -1 with errno EAGAIN and
 * *want set to SY_STLS_WANT_READ/WRITE, or another errno on failure. */
ssize_t sy_stls_read(struct ssl_st *ssl, void *buf, size_t len, int *want);
/* An idle connection: free OpenSSL's record buffers (~34 KB) when nothing
 * is pending in them; they come back with the next record. */
void sy_stls_release_buffers(struct ssl_st *ssl);
ssize_t sy_stls_write(struct ssl_st *ssl, const void *buf, size_t len, int *want);
/* Negotiated protocol version ("TLSv1.3") and ALPN ("h2", "http/1.1",
 * NULL when none); static strings. */
const char *sy_stls_version(struct ssl_st *ssl);
const char *sy_stls_alpn(struct ssl_st *ssl);

/* The port of the first TlsListen (443 when none), for redirects. */
unsigned sy_stls_https_port(const sy_stls *t);

/* Prometheus families: handshakes by version and ALPN, failures by reason. */
void sy_stls_metrics(sy_buf *out);

#endif
