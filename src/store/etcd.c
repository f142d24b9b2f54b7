/* See etcd.h. */
#include "store/etcd.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"

/* A response larger than this is refused: a store holding 100,000
 * policies is tens of MiB; anything far beyond is not our data. */
#define SY_ETCD_MAX_RESPONSE (512u << 20)

struct sy_etcd {
    char **endpoints;
    size_t n;
    atomic_size_t cur;
    long dial_ms, timeout_ms;
    char *user, *pass, *ca, *cert, *key;
    pthread_mutex_t mu; /* token */
    char *token;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static char *dup_or_null(const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

sy_etcd *sy_etcd_new(const sy_store_cfg *c)
{
    pthread_once(&curl_once, curl_init_once);
    sy_etcd *e = sy_calloc(1, sizeof *e);
    e->n = c->n_endpoints;
    e->endpoints = sy_calloc(e->n ? e->n : 1, sizeof *e->endpoints);
    for (size_t i = 0; i < e->n; i++)
        e->endpoints[i] = dup_or_null(c->endpoints[i]);
    e->dial_ms = c->dial_timeout_ms;
    e->timeout_ms = c->request_timeout_ms;
    e->user = dup_or_null(c->username);
    e->pass = dup_or_null(c->password);
    e->ca = dup_or_null(c->ca_file);
    e->cert = dup_or_null(c->cert_file);
    e->key = dup_or_null(c->key_file);
    pthread_mutex_init(&e->mu, NULL);
    return e;
}

void sy_etcd_free(sy_etcd *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n; i++)
        free(e->endpoints[i]);
    free(e->endpoints);
    free(e->user);
    free(e->pass);
    free(e->ca);
    free(e->cert);
    free(e->key);
    free(e->token);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

/* ---- encoding ---- */

char *sy_etcd_b64(const void *p, size_t n)
{
    char *out = sy_malloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    return out;
}

char *sy_etcd_unb64(const char *s, size_t *n)
{
    size_t len = strlen(s);
    if (len % 4 != 0)
        return NULL;
    char *out = sy_malloc(len / 4 * 3 + 1);
    int r = len ? EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)s, (int)len) : 0;
    if (r < 0) {
        free(out);
        return NULL;
    }
    /* EVP_DecodeBlock counts the padding as zero bytes. */
    size_t got = (size_t)r;
    if (len && s[len - 1] == '=')
        got--;
    if (len > 1 && s[len - 2] == '=')
        got--;
    out[got] = '\0';
    *n = got;
    return out;
}

json_t *sy_etcd_jkey(const char *s)
{
    char *b = sy_etcd_b64(s, strlen(s));
    json_t *j = json_string(b);
    free(b);
    return j;
}

int64_t sy_etcd_int(const json_t *obj, const char *field)
{
    json_t *v = json_object_get(obj, field);
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    if (json_is_string(v))
        return strtoll(json_string_value(v), NULL, 10);
    return 0;
}

char *sy_etcd_range_end(const char *prefix)
{
    char *end = dup_or_null(prefix);
    size_t n = strlen(end);
    end[n - 1]++; /* prefixes here end with '/', never 0xff */
    return end;
}

/* ---- transport ---- */

typedef struct rbuf {
    char *p;
    size_t len, cap;
    size_t scanned; /* streaming: no line end before this offset */
    /* streaming: */
    sy_etcd_msg_fn *fn;
    void *arg;
    bool ended_by_fn, garbage;
    atomic_bool *stop;
} rbuf;

static void rbuf_append(rbuf *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = sy_realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static size_t on_data(char *ptr, size_t sz, size_t nm, void *ud)
{
    rbuf *b = ud;
    size_t n = sz * nm;
    if (b->len + n > SY_ETCD_MAX_RESPONSE)
        return 0;
    rbuf_append(b, ptr, n);
    return n;
}

/* Streaming: grpc-gateway writes one JSON message per line.  A line is
 * parsed only once it is complete, and the search for its end resumes
 * where the last chunk's ended, so a message of many megabytes arriving
 * in small chunks costs linear time (parsing the partial text again for
 * every chunk was quadratic: minutes for a 10 MiB value). */
static size_t on_stream(char *ptr, size_t sz, size_t nm, void *ud)
{
    rbuf *b = ud;
    size_t n = on_data(ptr, sz, nm, ud);
    if (n == 0)
        return 0;
    size_t off = 0;
    char *nl;
    while ((nl = memchr(b->p + b->scanned, '\n', b->len - b->scanned))) {
        size_t end = (size_t)(nl - b->p), start = off;
        b->scanned = end + 1;
        off = end + 1;
        while (start < end && strchr(" \t\r", b->p[start]))
            start++;
        if (start == end)
            continue;
        json_error_t jerr;
        json_t *msg = json_loadb(b->p + start, end - start, 0, &jerr);
        if (!msg) {
            b->garbage = true;
            return 0;
        }
        bool more = b->fn(msg, b->arg);
        json_decref(msg);
        if (!more) {
            b->ended_by_fn = true;
            return 0;
        }
    }
    memmove(b->p, b->p + off, b->len - off);
    b->len -= off;
    b->scanned = b->len;
    return n;
}

static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    rbuf *r = ud;
    return r->stop && atomic_load(r->stop) ? 1 : 0;
}

static CURL *handle(sy_etcd *e, const char *endpoint, const char *path, const char *body,
                    struct curl_slist **hdrs, rbuf *rb, bool stream)
{
    CURL *h = curl_easy_init();
    if (!h)
        abort();
    char url[1024];
    snprintf(url, sizeof url, "%s%s", endpoint, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, e->dial_ms);
    /* A stream lives as long as it is useful; dead peers are found by
     * TCP keep-alive rather than a deadline. */
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, stream ? 0L : e->timeout_ms);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 5L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 2L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    *hdrs = curl_slist_append(*hdrs, "Expect:");
    pthread_mutex_lock(&e->mu);
    if (e->token) {
        char a[1024];
        snprintf(a, sizeof a, "Authorization: %s", e->token);
        *hdrs = curl_slist_append(*hdrs, a);
    }
    pthread_mutex_unlock(&e->mu);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
    if (e->ca)
        curl_easy_setopt(h, CURLOPT_CAINFO, e->ca);
    if (e->cert) {
        curl_easy_setopt(h, CURLOPT_SSLCERT, e->cert);
        curl_easy_setopt(h, CURLOPT_SSLKEY, e->key);
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, stream ? on_stream : on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, rb);
    if (stream) {
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, rb);
    }
    return h;
}

/* Connecting failed: nothing reached etcd. */
static bool not_sent(CURLcode rc)
{
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
           rc == CURLE_SSL_CONNECT_ERROR;
}

/* An error body: {"error": ..., "code": N, "message": ...}. */
static void refused(sy_etcd_err *err, long status, const rbuf *rb)
{
    /* 503/504 are gRPC's Unavailable and DeadlineExceeded: no leader, a
     * leader change, a member cut off — the cluster, not the request. */
    err->kind = status == 503 || status == 504 ? SY_ETCD_UNREACHABLE : SY_ETCD_REFUSED;
    json_t *j = rb->p ? json_loads(rb->p, 0, NULL) : NULL;
    const char *m = json_string_value(json_object_get(j, "message"));
    if (!m)
        m = json_string_value(json_object_get(j, "error"));
    snprintf(err->msg, sizeof err->msg, "etcd answered %ld: %s", status, m ? m : "(no message)");
    json_decref(j);
}

static bool authenticate(sy_etcd *e, sy_etcd_err *err);

/* One POST on each endpoint in turn.  Returns the curl result of the last
 * attempt; *status and rb hold its answer. */
static CURLcode perform(sy_etcd *e, const char *path, const char *body, rbuf *rb, long *status,
                        bool may_resend, bool stream)
{
    CURLcode rc = CURLE_COULDNT_CONNECT;
    size_t start = atomic_load(&e->cur);
    for (size_t k = 0; k < e->n; k++) {
        size_t i = (start + k) % e->n;
        struct curl_slist *hdrs = NULL;
        rb->len = rb->scanned = 0;
        CURL *h = handle(e, e->endpoints[i], path, body, &hdrs, rb, stream);
        rc = curl_easy_perform(h);
        *status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
        curl_easy_cleanup(h);
        curl_slist_free_all(hdrs);
        if (rc == CURLE_OK || (stream && *status == 200)) {
            atomic_store(&e->cur, i);
            return rc;
        }
        if (stream && (rb->ended_by_fn || (rb->stop && atomic_load(rb->stop))))
            return rc;
        if (!not_sent(rc) && !may_resend)
            return rc;
        /* Next endpoint; the one that failed is tried last next time. */
        atomic_store(&e->cur, (i + 1) % e->n);
    }
    return rc;
}

json_t *sy_etcd_call(sy_etcd *e, const char *path, json_t *req, bool may_resend, sy_etcd_err *err)
{
    char *body = json_dumps(req, JSON_COMPACT);
    if (!body)
        abort();
    rbuf rb = {0};
    json_t *out = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        long status = 0;
        CURLcode rc = perform(e, path, body, &rb, &status, may_resend, false);
        if (rc != CURLE_OK) {
            err->kind = SY_ETCD_UNREACHABLE;
            snprintf(err->msg, sizeof err->msg, "etcd unreachable: %s", curl_easy_strerror(rc));
            break;
        }
        if (status == 200) {
            json_error_t jerr;
            out = json_loadb(rb.p ? rb.p : "", rb.len, 0, &jerr);
            if (!out || !json_is_object(out)) {
                json_decref(out);
                out = NULL;
                err->kind = SY_ETCD_REFUSED;
                snprintf(err->msg, sizeof err->msg, "etcd answered something not JSON: %s",
                         jerr.text);
            }
            break;
        }
        refused(err, status, &rb);
        /* Maybe an expired or missing auth token (simple tokens expire):
         * get a new one and try once more. */
        if (attempt == 0 && e->user && authenticate(e, err))
            continue;
        break;
    }
    free(rb.p);
    free(body);
    if (out)
        err->kind = SY_ETCD_OK;
    return out;
}

static bool authenticate(sy_etcd *e, sy_etcd_err *err)
{
    json_t *req = json_pack("{s:s, s:s}", "name", e->user, "password", e->pass);
    pthread_mutex_lock(&e->mu);
    free(e->token);
    e->token = NULL;
    pthread_mutex_unlock(&e->mu);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    rbuf rb = {0};
    long status = 0;
    CURLcode rc = perform(e, "/v3/auth/authenticate", body, &rb, &status, true, false);
    free(body);
    bool ok = false;
    if (rc == CURLE_OK && status == 200) {
        json_t *j = json_loadb(rb.p ? rb.p : "", rb.len, 0, NULL);
        const char *t = json_string_value(json_object_get(j, "token"));
        if (t) {
            pthread_mutex_lock(&e->mu);
            e->token = dup_or_null(t);
            pthread_mutex_unlock(&e->mu);
            ok = true;
        }
        json_decref(j);
    }
    if (!ok && rc != CURLE_OK) {
        err->kind = SY_ETCD_UNREACHABLE;
        snprintf(err->msg, sizeof err->msg, "etcd unreachable: %s", curl_easy_strerror(rc));
    } else if (!ok) {
        refused(err, status, &rb);
    }
    free(rb.p);
    return ok;
}

int sy_etcd_stream(sy_etcd *e, const char *path, json_t *req, sy_etcd_msg_fn *fn, void *arg,
                   atomic_bool *stop, sy_etcd_err *err)
{
    if (e->user) {
        pthread_mutex_lock(&e->mu);
        bool have = e->token != NULL;
        pthread_mutex_unlock(&e->mu);
        if (!have && !authenticate(e, err))
            return -1;
    }
    char *body = json_dumps(req, JSON_COMPACT);
    if (!body)
        abort();
    rbuf rb = {.fn = fn, .arg = arg, .stop = stop};
    long status = 0;
    CURLcode rc = perform(e, path, body, &rb, &status, true, true);
    free(body);
    int ret = -1;
    if (rb.ended_by_fn) {
        ret = 0;
    } else if (rb.garbage) {
        err->kind = SY_ETCD_REFUSED;
        snprintf(err->msg, sizeof err->msg, "etcd stream: not JSON");
    } else if (status != 200 && status != 0) {
        refused(err, status, &rb);
        if (e->user && (status == 401 || strstr(err->msg, "token"))) {
            pthread_mutex_lock(&e->mu);
            free(e->token);
            e->token = NULL; /* authenticate again on the next stream */
            pthread_mutex_unlock(&e->mu);
        }
    } else {
        err->kind = SY_ETCD_UNREACHABLE;
        snprintf(err->msg, sizeof err->msg, "etcd stream ended: %s",
                 rc == CURLE_OK ? "closed by etcd" : curl_easy_strerror(rc));
    }
    free(rb.p);
    return ret;
}
