#include "upstream/tls_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"

static int new_session_cb(SSL *ssl, SSL_SESSION *s);

void *sy_tls_ctx_new(const sy_upstream_cfg *u, char *err, size_t cap)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        snprintf(err, cap, "SSL_CTX_new failed");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    if (u->tls_verify) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        int ok = u->ca_file ? SSL_CTX_load_verify_locations(ctx, u->ca_file, NULL)
                            : SSL_CTX_set_default_verify_paths(ctx);
        if (ok != 1) {
            snprintf(err, cap, "cannot load %s: %s",
                     u->ca_file ? u->ca_file : "the system CA store",
                     ERR_reason_error_string(ERR_get_error()));
            ERR_clear_error();
            SSL_CTX_free(ctx);
            return NULL;
        }
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    return ctx;
}

void sy_tls_ctx_free(void *ctx)
{
    if (ctx)
        SSL_CTX_free(ctx);
}

static bool is_ip(const char *h)
{
    unsigned char b[16];
    return inet_pton(AF_INET, h, b) == 1 || inet_pton(AF_INET6, h, b) == 1;
}

sy_ssl *sy_tls_new(void *ctx, int fd, const sy_upstream_cfg *u, const sy_endpoint *ep,
                   sy_node_state *st)
{
    SSL *ssl = SSL_new(ctx);
    if (!ssl)
        return NULL;
    SSL_set_fd(ssl, fd);
    char name[256] = "";
    if (u->upstream_host) {
        const char *h = u->upstream_host;
        size_t l = strlen(h);
        if (h[0] == '[') { /* [v6]:port */
            const char *e = strchr(h, ']');
            h++;
            l = e ? (size_t)(e - h) : 0;
        } else if (strchr(h, ':') == strrchr(h, ':') && strchr(h, ':')) {
            l = (size_t)(strchr(h, ':') - h);
        }
        if (l < sizeof name) {
            memcpy(name, h, l);
            name[l] = '\0';
        }
    } else if (ep->host) {
        snprintf(name, sizeof name, "%s", ep->host);
    }
    if (name[0] && !is_ip(name)) {
        SSL_set_tlsext_host_name(ssl, name);
        if (u->tls_verify)
            SSL_set1_host(ssl, name);
    } else if (name[0] && u->tls_verify) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name);
    }
    SSL_set_app_data(ssl, st);
    if (st) {
        SSL_SESSION *s = atomic_exchange(&st->tls_session, NULL);
        if (s) {
            SSL_set_session(ssl, s);
            void *expect = NULL;
            if (!atomic_compare_exchange_strong(&st->tls_session, &expect, s))
                SSL_SESSION_free(s);
        }
    }
    SSL_set_connect_state(ssl);
    return ssl;
}

void sy_tls_free(sy_ssl *ssl)
{
    if (!ssl)
        return;
    /* SSL_free without a shutdown marks the session not resumable (and
     * SSL_shutdown after a fatal error refuses, which keeps that rule for
     * broken connections).  Quiet: no close_notify written to a socket we
     * are about to close anyway. */
    SSL_set_quiet_shutdown(ssl, 1);
    SSL_shutdown(ssl);
    SSL_free(ssl);
}

/* OpenSSL hands over each new session (TLS 1.3 tickets arrive after the
 * handshake, with the first response): keep the latest per node.  Returning
 * 1 means we took the reference. */
static int new_session_cb(SSL *ssl, SSL_SESSION *s)
{
    sy_node_state *st = SSL_get_app_data(ssl);
    if (!st)
        return 0;
    SSL_SESSION *old = atomic_exchange(&st->tls_session, s);
    if (old)
        SSL_SESSION_free(old);
    return 1;
}

int sy_tls_handshake(sy_ssl *ssl, sy_node_state *st, char *err, size_t cap)
{
    ERR_clear_error();
    int rc = SSL_connect(ssl);
    if (rc == 1) {
        return SY_TLS_OK;
    }
    int e = SSL_get_error(ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return SY_TLS_WANT;
    long vr = SSL_get_verify_result(ssl);
    if (vr != X509_V_OK)
        snprintf(err, cap, "TLS handshake failed: certificate verify failed: %s",
                 X509_verify_cert_error_string(vr));
    else {
        unsigned long ec = ERR_get_error();
        snprintf(err, cap, "TLS handshake failed: %s",
                 ec ? ERR_reason_error_string(ec)
                    : (e == SSL_ERROR_SYSCALL ? "connection closed" : "error"));
    }
    ERR_clear_error();
    return SY_TLS_ERR;
}

ssize_t sy_tls_recv(sy_ssl *ssl, void *buf, size_t len)
{
    ERR_clear_error();
    int n = SSL_read(ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
    if (n > 0) {
        return n;
    }
    int e = SSL_get_error(ssl, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        errno = EAGAIN;
        return -1;
    }
    if (e == SSL_ERROR_ZERO_RETURN)
        return 0;
    ERR_clear_error();
    /* An EOF without close_notify: treat as the end (HTTP framing tells
     * whether the message was complete). */
    if (e == SSL_ERROR_SYSCALL && errno == 0)
        return 0;
    errno = ECONNRESET;
    return -1;
}

ssize_t sy_tls_send(sy_ssl *ssl, const void *buf, size_t len)
{
    ERR_clear_error();
    int n = SSL_write(ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
    if (n > 0)
        return n;
    int e = SSL_get_error(ssl, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        errno = EAGAIN;
        return -1;
    }
    ERR_clear_error();
    errno = EIO;
    return -1;
}

bool sy_tls_pending(sy_ssl *ssl)
{
    return SSL_pending(ssl) > 0;
}
