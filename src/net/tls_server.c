/* Server-side TLS: contexts per certificate, SNI choice, ALPN, rotating
 * session-ticket keys, non-blocking I/O helpers and counters.  See tls.h. */
#include "net/tls_server.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

/* Mozilla "intermediate": forward-secret AEAD suites only (TLS 1.2). */
#define SY_STLS_DEFAULT_CIPHERS                                                                    \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                                   \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                                   \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

typedef struct stls_entry {
    const char *name; /* lower-case domain: exact, "*.suffix" or "*" */
    const sy_domain_cfg *dom;
    SSL_CTX *ctx; /* NULL: the domain has no certificate of its own */
} stls_entry;

struct sy_stls {
    SSL_CTX *base; /* default certificate (or none) + callbacks */
    bool has_default;
    stls_entry *entries;
    size_t n_entries;
    unsigned char alpn[64]; /* server preference, wire format */
    unsigned alpn_len;
    uint32_t rotate_s;
    unsigned https_port;
};

/* ---- counters (process-wide, relaxed: handshakes are not the hot path) ---- */

static const char *const fail_reasons[] = {
    "unknown_sni",      "no_sni",       "protocol_version",
    "no_shared_cipher", "http_request", "client_alert",
    "timeout",          "eof",          "other",
};
#define N_FAIL (sizeof fail_reasons / sizeof fail_reasons[0])
static atomic_ulong fail_count[N_FAIL];
static const char *const versions[] = {"TLSv1.2", "TLSv1.3"};
static const char *const alpns[] = {"h2", "http/1.1", "none"};
static atomic_ulong ok_count[2][3];

void sy_stls_count_failure(const char *reason)
{
    for (size_t i = 0; i < N_FAIL; i++)
        if (strcmp(fail_reasons[i], reason) == 0) {
            atomic_fetch_add_explicit(&fail_count[i], 1, memory_order_relaxed);
            return;
        }
    atomic_fetch_add_explicit(&fail_count[N_FAIL - 1], 1, memory_order_relaxed);
}

void sy_stls_metrics(sy_buf *out)
{
    char line[192];
    sy_buf_append_str(out,
                      "# HELP switchyard_tls_handshakes_total Completed client TLS handshakes.\n"
                      "# TYPE switchyard_tls_handshakes_total counter\n");
    for (int v = 0; v < 2; v++)
        for (int a = 0; a < 3; a++) {
            unsigned long n = atomic_load_explicit(&ok_count[v][a], memory_order_relaxed);
            if (!n)
                continue;
            int k = snprintf(line, sizeof line,
                             "switchyard_tls_handshakes_total{version=\"%s\",alpn=\"%s\"} %lu\n",
                             versions[v], alpns[a], n);
            sy_buf_append(out, line, (size_t)k);
        }
    sy_buf_append_str(out, "# HELP switchyard_tls_handshake_failures_total Client TLS handshakes "
                           "that failed, by reason.\n"
                           "# TYPE switchyard_tls_handshake_failures_total counter\n");
    for (size_t i = 0; i < N_FAIL; i++) {
        int k = snprintf(
            line, sizeof line, "switchyard_tls_handshake_failures_total{reason=\"%s\"} %lu\n",
            fail_reasons[i], atomic_load_explicit(&fail_count[i], memory_order_relaxed));
        sy_buf_append(out, line, (size_t)k);
    }
}

/* ---- session tickets ---- */

static unsigned char ticket_master[32];
static pthread_once_t ticket_once = PTHREAD_ONCE_INIT;
static int ex_reason = -1; /* SSL ex_data: why the SNI callback refused */

static EVP_CIPHER *ticket_cipher; /* fetched once: no implicit fetch per ticket */

static void ticket_init(void)
{
    if (RAND_bytes(ticket_master, sizeof ticket_master) != 1)
        abort();
    ex_reason = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    ticket_cipher = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
    if (!ticket_cipher)
        abort();
}

static void ticket_derive(uint64_t epoch, unsigned char aes[32], unsigned char mac[32])
{
    unsigned char in[9];
    unsigned int len = 32;
    for (int i = 0; i < 8; i++)
        in[i] = (unsigned char)(epoch >> (56 - 8 * i));
    in[8] = 'a';
    HMAC(EVP_sha256(), ticket_master, sizeof ticket_master, in, sizeof in, aes, &len);
    in[8] = 'm';
    len = 32;
    HMAC(EVP_sha256(), ticket_master, sizeof ticket_master, in, sizeof in, mac, &len);
}

/* The keys of an epoch, derived once per worker thread (two HMACs and two
 * digest fetches per ticket otherwise).  Two slots: the current epoch and
 * the previous one, whose tickets are still accepted. */
static void ticket_keys(uint64_t epoch, const unsigned char **aes, const unsigned char **mac)
{
    static __thread struct {
        uint64_t epoch;
        bool valid;
        unsigned char aes[32], mac[32];
    } cache[2];
    unsigned i = (unsigned)(epoch & 1);
    if (!cache[i].valid || cache[i].epoch != epoch) {
        ticket_derive(epoch, cache[i].aes, cache[i].mac);
        cache[i].epoch = epoch;
        cache[i].valid = true;
    }
    *aes = cache[i].aes;
    *mac = cache[i].mac;
}

static int ticket_cb(SSL *ssl, unsigned char name[16], unsigned char iv[EVP_MAX_IV_LENGTH],
                     EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
    const sy_stls *t = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    uint32_t period = t && t->rotate_s ? t->rotate_s : 3600;
    uint64_t now = (uint64_t)time(NULL) / period, epoch;
    const unsigned char *aes, *mac;
    if (enc) {
        epoch = now;
        memcpy(name, "SYTK", 4);
        for (int i = 0; i < 8; i++)
            name[4 + i] = (unsigned char)(epoch >> (56 - 8 * i));
        memset(name + 12, 0, 4);
        if (RAND_bytes(iv, 16) != 1)
            return -1;
    } else {
        if (memcmp(name, "SYTK", 4) != 0)
            return 0;
        epoch = 0;
        for (int i = 0; i < 8; i++)
            epoch = epoch << 8 | name[4 + i];
        if (epoch != now && epoch + 1 != now)
            return 0; /* too old (or from the future): full handshake */
    }
    ticket_keys(epoch, &aes, &mac);
    OSSL_PARAM params[3];
    params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)mac, 32);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0);
    params[2] = OSSL_PARAM_construct_end();
    int ok = enc ? EVP_EncryptInit_ex(cctx, ticket_cipher, NULL, aes, iv)
                 : EVP_DecryptInit_ex(cctx, ticket_cipher, NULL, aes, iv);
    if (ok != 1 || EVP_MAC_CTX_set_params(hctx, params) != 1)
        return -1;
    /* 2: valid, but issue a fresh ticket.  Always so in TLS 1.3: clients
     * use a 1.3 ticket once (RFC 8446 C.4; OpenSSL marks the session
     * non-resumable after it), so without a new one every other
     * connection would be a full handshake. */
    return enc || (epoch == now && SSL_version(ssl) < TLS1_3_VERSION) ? 1 : 2;
}

/* ---- SNI and ALPN ---- */

static const stls_entry *find_entry(const sy_stls *t, const char *host, size_t len, bool need_ctx)
{
    const stls_entry *best = NULL;
    size_t best_len = 0;
    const stls_entry *star = NULL;
    for (size_t i = 0; i < t->n_entries; i++) {
        const stls_entry *e = &t->entries[i];
        if (need_ctx && !e->ctx)
            continue;
        const char *n = e->name;
        size_t nl = strlen(n);
        if (nl == 1 && n[0] == '*') {
            star = e;
        } else if (n[0] == '*' && n[1] == '.') {
            /* "*.example.com" matches any name ending in ".example.com". */
            size_t sl = nl - 1;
            if (len > sl && strncasecmp(host + len - sl, n + 1, sl) == 0 && sl > best_len) {
                best = e;
                best_len = sl;
            }
        } else if (nl == len && strncasecmp(n, host, len) == 0) {
            return e;
        }
    }
    return best ? best : star;
}

static int servername_cb(SSL *ssl, int *alert, void *arg)
{
    const sy_stls *t = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (!name || !*name) {
        if (t->has_default)
            return SSL_TLSEXT_ERR_OK;
        SSL_set_ex_data(ssl, ex_reason, (void *)"no_sni");
        *alert = SSL_AD_UNRECOGNIZED_NAME;
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    const stls_entry *e = find_entry(t, name, strlen(name), true);
    if (e && e->ctx && (e->dom->protocol & SY_PROTO_HTTPS)) {
        if (e->ctx != SSL_get_SSL_CTX(ssl))
            SSL_set_SSL_CTX(ssl, e->ctx);
        return SSL_TLSEXT_ERR_OK;
    }
    if (t->has_default)
        return SSL_TLSEXT_ERR_OK;
    SSL_set_ex_data(ssl, ex_reason, (void *)"unknown_sni");
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    const sy_stls *t = arg;
    unsigned char *o;
    /* Server preference order (Gateway.Tls.Alpn). */
    if (SSL_select_next_proto(&o, outlen, t->alpn, t->alpn_len, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK; /* no overlap: carry on without ALPN (HTTP/1.1) */
    *out = o;
    return SSL_TLSEXT_ERR_OK;
}

/* ---- building ---- */

static void ssl_reason(char *buf, size_t cap)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    snprintf(buf, cap, "%s", r ? r : "unknown OpenSSL error");
    ERR_clear_error();
}

static SSL_CTX *ctx_new(sy_stls *t, const sy_config *cfg, sy_errors *errs)
{
    const sy_gateway_cfg *gw = &cfg->gw;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        abort();
    SSL_CTX_set_app_data(ctx, t);
    SSL_CTX_set_min_proto_version(ctx, gw->tls_min_version == 13 ? TLS1_3_VERSION : TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION | SSL_OP_SINGLE_ECDH_USE);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_set_cipher_list(ctx, gw->tls_ciphers ? gw->tls_ciphers : SY_STLS_DEFAULT_CIPHERS) !=
        1) {
        sy_errors_add(errs, "%s: Gateway.Tls.Ciphers: no usable cipher in \"%s\"", cfg->file,
                      gw->tls_ciphers ? gw->tls_ciphers : "");
        ERR_clear_error();
    }
    if (gw->tls_ciphersuites && SSL_CTX_set_ciphersuites(ctx, gw->tls_ciphersuites) != 1) {
        sy_errors_add(errs, "%s: Gateway.Tls.CipherSuites: no usable suite in \"%s\"", cfg->file,
                      gw->tls_ciphersuites);
        ERR_clear_error();
    }
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"switchyard", 10);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (gw->tls_session_tickets) {
        SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb);
        SSL_CTX_set_num_tickets(ctx, 1);
    } else {
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
        SSL_CTX_set_num_tickets(ctx, 0);
    }
    SSL_CTX_set_tlsext_servername_callback(ctx, servername_cb);
    SSL_CTX_set_tlsext_servername_arg(ctx, t);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, t);
    return ctx;
}

/* Load cert + key into ctx; errors name the file and field. */
static bool load_cert(SSL_CTX *ctx, const sy_config *cfg, const sy_cert_cfg *c, sy_errors *errs)
{
    char why[256], cpath[256], kpath[256];
    snprintf(cpath, sizeof cpath, "%s.CertificateFile", c->path);
    snprintf(kpath, sizeof kpath, "%s.KeyFile", c->path);
    if (access(c->cert_file, R_OK) != 0) {
        sy_errors_at(errs, cfg->file, c->mark, cpath, "cannot read %s: %s", c->cert_file,
                     strerror(errno));
        return false;
    }
    if (access(c->key_file, R_OK) != 0) {
        sy_errors_at(errs, cfg->file, c->mark, kpath, "cannot read %s: %s", c->key_file,
                     strerror(errno));
        return false;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, c->cert_file) != 1) {
        ssl_reason(why, sizeof why);
        sy_errors_at(errs, cfg->file, c->mark, cpath, "%s is not a usable PEM certificate (%s)",
                     c->cert_file, why);
        return false;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, c->key_file, SSL_FILETYPE_PEM) != 1) {
        if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
            ERR_clear_error();
            sy_errors_at(errs, cfg->file, c->mark, kpath, "%s does not match CertificateFile %s",
                         c->key_file, c->cert_file);
            return false;
        }
        ssl_reason(why, sizeof why);
        sy_errors_at(errs, cfg->file, c->mark, kpath, "%s is not a usable PEM private key (%s)",
                     c->key_file, why);
        return false;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        sy_errors_at(errs, cfg->file, c->mark, kpath, "%s does not match CertificateFile %s",
                     c->key_file, c->cert_file);
        return false;
    }
    X509 *x = SSL_CTX_get0_certificate(ctx);
    if (x && X509_cmp_current_time(X509_get0_notAfter(x)) <= 0)
        sy_warn("%s: %s.CertificateFile: %s: certificate has expired", cfg->file, c->path,
                c->cert_file);
    else if (x && X509_cmp_current_time(X509_get0_notBefore(x)) > 0)
        sy_warn("%s: %s.CertificateFile: %s: certificate is not valid yet", cfg->file, c->path,
                c->cert_file);
    return true;
}

sy_stls *sy_stls_build(const sy_config *cfg, sy_errors *errs)
{
    const sy_gateway_cfg *gw = &cfg->gw;
    size_t n_dom = 0;
    bool any_rule = false, any_cert = gw->default_cert.cert_file != NULL;
    for (size_t i = 0; i < cfg->n_services; i++)
        for (size_t d = 0; d < cfg->services[i].n_domains; d++) {
            const sy_domain_cfg *dom = &cfg->services[i].domains[d];
            n_dom++;
            any_cert |= dom->cert.cert_file != NULL;
            any_rule |= dom->protocol != (SY_PROTO_HTTP | SY_PROTO_HTTPS) || dom->forced_https;
        }
    if (!gw->n_tls_listen && !any_rule)
        return NULL;
    pthread_once(&ticket_once, ticket_init);
    sy_stls *t = sy_calloc(1, sizeof *t);
    t->rotate_s = gw->tls_ticket_rotate_ms / 1000;
    t->https_port = gw->n_tls_listen ? gw->tls_listen[0].port : 443;
    for (size_t i = 0; i < gw->n_tls_alpn; i++) {
        size_t l = strlen(gw->tls_alpn[i]);
        if (t->alpn_len + 1 + l > sizeof t->alpn)
            break;
        t->alpn[t->alpn_len++] = (unsigned char)l;
        memcpy(t->alpn + t->alpn_len, gw->tls_alpn[i], l);
        t->alpn_len += (unsigned)l;
    }
    t->entries = sy_calloc(n_dom + 1, sizeof *t->entries);
    if (gw->n_tls_listen) {
        t->base = ctx_new(t, cfg, errs);
        if (gw->default_cert.cert_file)
            t->has_default = load_cert(t->base, cfg, &gw->default_cert, errs);
        if (!any_cert)
            sy_errors_add(errs,
                          "%s: Gateway.TlsListen: no certificate configured (set "
                          "Gateway.DefaultCertificate or a domain's CertificateFile)",
                          cfg->file);
    }
    for (size_t i = 0; i < cfg->n_services; i++)
        for (size_t d = 0; d < cfg->services[i].n_domains; d++) {
            const sy_domain_cfg *dom = &cfg->services[i].domains[d];
            stls_entry *e = &t->entries[t->n_entries++];
            e->name = dom->name ? dom->name : "";
            e->dom = dom;
            if (!dom->cert.cert_file || !gw->n_tls_listen)
                continue;
            /* Domains sharing a certificate share its context. */
            for (size_t j = 0; j + 1 < t->n_entries; j++) {
                const sy_cert_cfg *o = &t->entries[j].dom->cert;
                if (t->entries[j].ctx && strcmp(o->cert_file, dom->cert.cert_file) == 0 &&
                    strcmp(o->key_file, dom->cert.key_file) == 0) {
                    e->ctx = t->entries[j].ctx;
                    SSL_CTX_up_ref(e->ctx);
                    break;
                }
            }
            if (e->ctx)
                continue;
            e->ctx = ctx_new(t, cfg, errs);
            if (!load_cert(e->ctx, cfg, &dom->cert, errs)) {
                SSL_CTX_free(e->ctx);
                e->ctx = NULL;
            }
        }
    return t;
}

void sy_stls_free(sy_stls *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_entries; i++)
        if (t->entries[i].ctx)
            SSL_CTX_free(t->entries[i].ctx);
    if (t->base)
        SSL_CTX_free(t->base);
    free(t->entries);
    free(t);
}

unsigned sy_stls_https_port(const sy_stls *t)
{
    return t ? t->https_port : 443;
}

/* ---- connections ---- */

SSL *sy_stls_new(const sy_stls *t, int fd)
{
    if (!t || !t->base)
        return NULL;
    SSL *ssl = SSL_new(t->base);
    if (!ssl)
        return NULL;
    SSL_set_fd(ssl, fd);
    SSL_set_accept_state(ssl);
    return ssl;
}

void sy_stls_close(SSL *ssl)
{
    if (!ssl)
        return;
    if (SSL_is_init_finished(ssl))
        SSL_shutdown(ssl); /* one close_notify, best effort: never waits */
    ERR_clear_error();
    SSL_free(ssl);
}

static const char *failure_reason(SSL *ssl, int err)
{
    const char *r = ex_reason >= 0 ? SSL_get_ex_data(ssl, ex_reason) : NULL;
    if (r)
        return r;
    if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN)
        return "eof";
    unsigned long e = ERR_peek_last_error();
    switch (ERR_GET_REASON(e)) {
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
    case SSL_R_VERSION_TOO_LOW:
        return "protocol_version";
    case SSL_R_NO_SHARED_CIPHER:
        return "no_shared_cipher";
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
        return "http_request";
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_TLSV1_ALERT_DECRYPT_ERROR:
    case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
        return "client_alert";
    default:
        return e ? "other" : "eof";
    }
}

int sy_stls_handshake(SSL *ssl)
{
    ERR_clear_error();
    int rc = SSL_do_handshake(ssl);
    if (rc == 1) {
        int v = SSL_version(ssl) == TLS1_3_VERSION ? 1 : 0;
        const char *a = sy_stls_alpn(ssl);
        int ai = !a ? 2 : a[0] == 'h' && a[1] == '2' ? 0 : 1;
        atomic_fetch_add_explicit(&ok_count[v][ai], 1, memory_order_relaxed);
        return SY_STLS_OK;
    }
    int err = SSL_get_error(ssl, rc);
    if (err == SSL_ERROR_WANT_READ)
        return SY_STLS_WANT_READ;
    if (err == SSL_ERROR_WANT_WRITE)
        return SY_STLS_WANT_WRITE;
    const char *why = failure_reason(ssl, err);
    sy_stls_count_failure(why);
    sy_debug("tls handshake failed: %s", why);
    ERR_clear_error();
    return SY_STLS_ERR;
}

static ssize_t io_result(SSL *ssl, int rc, int *want)
{
    int err = SSL_get_error(ssl, rc);
    switch (err) {
    case SSL_ERROR_WANT_READ:
        *want = SY_STLS_WANT_READ;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_WANT_WRITE:
        *want = SY_STLS_WANT_WRITE;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        if (errno == 0 || errno == EAGAIN)
            return 0; /* EOF without close_notify: treat as EOF */
        return -1;
    default:
        ERR_clear_error();
        errno = EIO;
        return -1;
    }
}

void sy_stls_release_buffers(SSL *ssl)
{
    if (ssl && SSL_is_init_finished(ssl) && !SSL_pending(ssl))
        SSL_free_buffers(ssl); /* refuses (0) while bytes are pending */
}

ssize_t sy_stls_read(SSL *ssl, void *buf, size_t len, int *want)
{
    if (len > INT32_MAX)
        len = INT32_MAX;
    errno = 0;
    int rc = SSL_read(ssl, buf, (int)len);
    if (rc > 0)
        return rc;
    return io_result(ssl, rc, want);
}

ssize_t sy_stls_write(SSL *ssl, const void *buf, size_t len, int *want)
{
    if (len > INT32_MAX)
        len = INT32_MAX;
    errno = 0;
    int rc = SSL_write(ssl, buf, (int)len);
    if (rc > 0)
        return rc;
    ssize_t r = io_result(ssl, rc, want);
    if (r == 0) {
        errno = EPIPE;
        return -1;
    }
    return r;
}

const char *sy_stls_version(SSL *ssl)
{
    return ssl ? SSL_get_version(ssl) : NULL;
}

const char *sy_stls_alpn(SSL *ssl)
{
    const unsigned char *p;
    unsigned int len;
    SSL_get0_alpn_selected(ssl, &p, &len);
    if (len == 2 && memcmp(p, "h2", 2) == 0)
        return "h2";
    if (len == 8 && memcmp(p, "http/1.1", 8) == 0)
        return "http/1.1";
    return NULL;
}
