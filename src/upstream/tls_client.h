/* TLS to upstream nodes (Scheme HTTPS), OpenSSL 3, non-blocking.
 *
 * One SSL_CTX per HTTPS upstream per config generation (built by the main
 * thread, shared read-only by workers and the prober: creating SSL objects
 * from a CTX is thread-safe).  Verification is on unless TlsVerify: false;
 * trust comes from CaFile or the system store.  SNI and the name checked
 * against the certificate: UpstreamHost without its port, else the node's
 * Host when it is a name; for an IP node without UpstreamHost the
 * certificate must carry that IP address.  The last session of each node
 * is kept in its sy_node_state for resumption on new connections. */
#ifndef SY_UPSTREAM_TLS_CLIENT_H
#define SY_UPSTREAM_TLS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config/model.h"
#include "upstream/health.h"

/* NULL with a message in err on failure (bad CaFile...). */
void *sy_tls_ctx_new(const sy_upstream_cfg *u, char *err, size_t cap);
void sy_tls_ctx_free(void *ctx);

typedef struct ssl_st sy_ssl;

/* A client SSL for fd with SNI/verification set for this upstream and
 * node, resuming st's session when there is one. */
sy_ssl *sy_tls_new(void *ctx, int fd, const sy_upstream_cfg *u, const sy_endpoint *ep,
                   sy_node_state *st);
void sy_tls_free(sy_ssl *ssl);

enum { SY_TLS_OK = 0, SY_TLS_WANT = 1, SY_TLS_ERR = -1 };
/* Drive the handshake: OK when done (the session is saved in st), WANT to
 * be called again on the next socket event, ERR with a reason in err. */
int sy_tls_handshake(sy_ssl *ssl, sy_node_state *st, char *err, size_t cap);
/* recv/send lookalikes: >0 bytes, 0 = orderly EOF (recv), -1 with errno
 * EAGAIN (try again on the next event) or EIO/ECONNRESET. */
ssize_t sy_tls_recv(sy_ssl *ssl, void *buf, size_t len);
ssize_t sy_tls_send(sy_ssl *ssl, const void *buf, size_t len);
/* Bytes already decrypted and waiting inside OpenSSL. */
bool sy_tls_pending(sy_ssl *ssl);

#endif
