/* The Kubernetes API requests of one unit: the Service read, the lists
 * (paged) and the watches of EndpointSlices and pods, as libcurl easy
 * handles on the discovery thread's multi handle.  See k8s.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "discovery/k8s_int.h"
#include "version.h"

#define MAX_LIST_BYTES (64u << 20) /* one page; 500 slices of 1,000 pods fit */
#define MAX_EVENT_BYTES (8u << 20) /* one watch event line */
#define MAX_TOKEN_BYTES 65536
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 30000
#define SVC_RESYNC_MS 60000 /* the Service is read again this often */
#define WATCH_STALL_S 90    /* no byte (not even a bookmark) for this long */

struct kreq {
    CURL *h;
    unit *u;
    int kind;
    bool watch;
    struct curl_slist *hdrs;
    sy_buf body; /* list/get answer, or the watch's partial line */
    bool too_big;
    bool bad_event; /* a watch line we refused: relist */
    bool gone;      /* ERROR 410 in the watch stream */
    char why[256];
    char err[CURL_ERROR_SIZE]; /* libcurl's detailed message */
    size_t events;
};

static const char *const kind_names[R_N] = {"Service", "EndpointSlices", "Pods"};

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t jitter(uint64_t ms)
{
    uint32_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != sizeof r)
        r = (uint32_t)rand();
    return ms / 2 + (uint64_t)((double)(ms / 2) * (r / 4294967296.0));
}

/* ---- objects ---- */

static void free_slices(sy_k8s_slice **s, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        sy_k8s_slice_free(&(*s)[i]);
    free(*s);
    *s = NULL;
    *n = 0;
}

static void free_pods(char ***p, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free((*p)[i]);
    free(*p);
    *p = NULL;
    *n = 0;
}

static void drop_partial(rsrc *r)
{
    free_slices(&r->nslices, &r->n_nslices);
    free_pods(&r->npods, &r->n_npods);
    free(r->cont);
    r->cont = NULL;
}

void sy_k8s_unit_clear(unit *u)
{
    for (int k = 0; k < R_N; k++) {
        rsrc *r = &u->r[k];
        drop_partial(r);
        free_slices(&r->slices, &r->n_slices);
        free_pods(&r->pods, &r->n_pods);
        memset(r, 0, sizeof *r);
        r->kind = k;
        r->want_list = true;
    }
    free(u->port_name);
    u->port_name = NULL;
}

/* Insert or replace slice `s` (by name) in the list; takes ownership. */
static void put_slice(sy_k8s_slice **arr, size_t *n, sy_k8s_slice *s)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*arr)[i].name, s->name) == 0) {
            sy_k8s_slice_free(&(*arr)[i]);
            (*arr)[i] = *s;
            return;
        }
    *arr = sy_realloc(*arr, (*n + 1) * sizeof **arr);
    (*arr)[(*n)++] = *s;
}

static void del_slice(sy_k8s_slice **arr, size_t *n, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*arr)[i].name, name) == 0) {
            sy_k8s_slice_free(&(*arr)[i]);
            (*arr)[i] = (*arr)[--(*n)];
            return;
        }
}

static void put_pod(char ***arr, size_t *n, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*arr)[i], name) == 0)
            return;
    *arr = sy_realloc(*arr, (*n + 1) * sizeof **arr);
    (*arr)[(*n)++] = sy_strdup(name);
}

static void del_pod(char ***arr, size_t *n, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*arr)[i], name) == 0) {
            free((*arr)[i]);
            (*arr)[i] = (*arr)[--(*n)];
            return;
        }
}

/* Apply one object of a list (into the list in progress) or of a watch
 * event (into the current objects).  false with why when malformed. */
static bool apply(unit *u, rsrc *r, json_t *obj, bool deleted, bool listing, char *why, size_t cap)
{
    if (r->kind == R_SLICES) {
        sy_k8s_slice s;
        if (!sy_k8s_parse_slice(obj, &s, why, cap))
            return false;
        if (deleted) {
            del_slice(&r->slices, &r->n_slices, s.name);
            sy_k8s_slice_free(&s);
        } else if (listing) {
            put_slice(&r->nslices, &r->n_nslices, &s);
        } else {
            put_slice(&r->slices, &r->n_slices, &s);
        }
        return true;
    }
    const char *name;
    bool match = sy_k8s_parse_pod(obj, u->lkeys, u->lvals, u->n_labels, &name, why, cap);
    if (!match && why[0])
        return false;
    if (!name) { /* no longer carries the labels: as good as deleted */
        const char *rv;
        sy_k8s_meta(obj, &name, &rv);
        deleted = true;
        if (!name)
            return true;
    }
    if (deleted)
        del_pod(&r->pods, &r->n_pods, name);
    else if (listing)
        put_pod(&r->npods, &r->n_npods, name);
    else
        put_pod(&r->pods, &r->n_pods, name);
    return true;
}

/* ---- selection and publication ---- */

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

bool sy_k8s_unit_select(unit *u)
{
    if (!u->dirty)
        return false;
    u->dirty = false;
    rsrc *sl = &u->r[R_SLICES], *po = &u->r[R_PODS];
    if (!u->port_name || !sl->listed || (u->selector && !po->listed))
        return false;
    char **pods = NULL;
    if (u->selector) {
        pods = sy_calloc(po->n_pods + 1, sizeof *pods);
        memcpy(pods, po->pods, po->n_pods * sizeof *pods);
        qsort(pods, po->n_pods, sizeof *pods, str_cmp);
    }
    sy_k8s_addr *eps;
    size_t nt, n = sy_k8s_select(sl->slices, sl->n_slices, u->port_name, pods,
                                 u->selector ? po->n_pods : 0, &eps, &nt);
    free(pods);
    pthread_mutex_lock(&sy_k8s_lock);
    bool changed = !u->synced || n != u->n_eps || nt != u->n_term ||
                   (n && memcmp(eps, u->eps, n * sizeof *eps) != 0);
    if (changed) {
        free(u->eps);
        u->eps = eps;
        u->n_eps = n;
        u->n_term = nt;
        u->updates++;
    } else {
        free(eps);
    }
    bool first = !u->synced;
    u->synced = true;
    u->tried = true;
    pthread_cond_broadcast(&sy_k8s_cond);
    pthread_mutex_unlock(&sy_k8s_lock);
    if (first || changed)
        sy_info("k8s: %s/%s port %d%s%s: %zu endpoint%s%s", u->ns, u->svc, u->port,
                u->selector ? " pods " : "", u->selector ? u->selector : "", n, n == 1 ? "" : "s",
                nt ? " (serving + terminating: no ready endpoint left)" : "");
    return changed;
}

/* ---- outcomes ---- */

static void good(unit *u, rsrc *r)
{
    r->fails = 0;
    pthread_mutex_lock(&sy_k8s_lock);
    u->last_sync = wall_now();
    bool all = true;
    for (int k = 0; k < R_N; k++)
        all &= u->r[k].fails == 0;
    if (all) {
        u->stale = false;
        u->error[0] = '\0';
    }
    pthread_mutex_unlock(&sy_k8s_lock);
}

/* A failed request: keep every object (the last good state), back off. */
static void failed(unit *u, rsrc *r, uint64_t now, const char *why)
{
    r->fails++;
    int sh = r->fails - 1 < 7 ? r->fails - 1 : 7;
    uint64_t wait = (uint64_t)BACKOFF_MIN_MS << sh;
    r->next_ms = now + jitter(wait > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : wait);
    if (r->cont || r->n_nslices || r->n_npods)
        drop_partial(r);
    pthread_mutex_lock(&sy_k8s_lock);
    snprintf(u->error, sizeof u->error, "%s: %s", kind_names[r->kind], why);
    u->stale = true;
    u->tried = true;
    u->errors++;
    pthread_cond_broadcast(&sy_k8s_cond);
    pthread_mutex_unlock(&sy_k8s_lock);
    /* Once per 10 s per unit: a dead API server must not flood the log. */
    if (r->fails == 1 || now - u->last_log_ms >= 10000) {
        u->last_log_ms = now;
        sy_warn("k8s: cluster %s, %s/%s: %s: %s; keeping the last good %zu endpoint%s, retry #%d",
                u->cluster_id, u->ns, u->svc, kind_names[r->kind], why, u->n_eps,
                u->n_eps == 1 ? "" : "s", r->fails);
    }
}

/* ---- requests ---- */

static bool load_token(unit *u, char *why, size_t cap)
{
    if (!u->token_file)
        return true;
    struct stat st;
    if (stat(u->token_file, &st) < 0) {
        snprintf(why, cap, "cannot read TokenFile %s: %s", u->token_file, strerror(errno));
        return false;
    }
    if (u->token && st.st_ino == u->token_st.st_ino && st.st_size == u->token_st.st_size &&
        st.st_mtim.tv_sec == u->token_st.st_mtim.tv_sec &&
        st.st_mtim.tv_nsec == u->token_st.st_mtim.tv_nsec)
        return true;
    /* Projected service-account tokens are rotated by replacing the file. */
    int fd = open(u->token_file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, cap, "cannot read TokenFile %s: %s", u->token_file, strerror(errno));
        return false;
    }
    char *buf = sy_calloc(1, MAX_TOKEN_BYTES + 1);
    ssize_t n = read(fd, buf, MAX_TOKEN_BYTES + 1);
    close(fd);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    bool ok = n > 0 && n <= MAX_TOKEN_BYTES;
    for (ssize_t i = 0; ok && i < n; i++)
        ok = buf[i] > 0x20 && buf[i] < 0x7f;
    if (!ok) {
        free(buf);
        snprintf(why, cap, "TokenFile %s does not hold a token (empty, too long or not printable)",
                 u->token_file);
        return false;
    }
    buf[n] = '\0';
    if (u->token)
        sy_info("k8s: cluster %s: token re-read from %s", u->cluster_id, u->token_file);
    free(u->token);
    u->token = buf;
    u->token_st = st;
    return true;
}

static void handle_event(kreq *q, const char *line, size_t len);

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
    kreq *q = ud;
    size_t n = size * nmemb;
    long code = 0;
    curl_easy_getinfo(q->h, CURLINFO_RESPONSE_CODE, &code);
    if (!q->watch || code != 200) {
        if (q->body.len + n > MAX_LIST_BYTES) {
            q->too_big = true;
            return 0;
        }
        sy_buf_append(&q->body, p, n);
        return n;
    }
    /* A watch: newline-delimited JSON events, each handled as it ends. */
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '\n')
            continue;
        if (q->body.len) {
            sy_buf_append(&q->body, p + start, i - start);
            handle_event(q, q->body.data, q->body.len);
            sy_buf_reset(&q->body);
        } else {
            handle_event(q, p + start, i - start);
        }
        start = i + 1;
        if (q->bad_event || q->gone)
            return 0; /* ends the transfer */
    }
    if (q->body.len + (n - start) > MAX_EVENT_BYTES) {
        q->too_big = true;
        return 0;
    }
    sy_buf_append(&q->body, p + start, n - start);
    return n;
}

static void set_rv(rsrc *r, const char *rv)
{
    if (rv && *rv && strlen(rv) < sizeof r->rv)
        snprintf(r->rv, sizeof r->rv, "%s", rv);
}

static void handle_event(kreq *q, const char *line, size_t len)
{
    while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
        len--;
    if (!len)
        return;
    unit *u = q->u;
    rsrc *r = &u->r[q->kind];
    json_error_t jerr;
    json_t *ev = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *obj = json_object_get(ev, "object");
    const char *type = json_string_value(json_object_get(ev, "type"));
    if (!ev || !type || !json_is_object(obj)) {
        snprintf(q->why, sizeof q->why, "watch: an event that is not {type, object}%s%s",
                 ev ? "" : ": ", ev ? "" : jerr.text);
        q->bad_event = true;
        json_decref(ev);
        return;
    }
    const char *name, *rv;
    sy_k8s_meta(obj, &name, &rv);
    q->events++;
    if (strcmp(type, "ERROR") == 0) {
        json_t *c = json_object_get(obj, "code");
        const char *msg = json_string_value(json_object_get(obj, "message"));
        if (json_is_integer(c) && json_integer_value(c) == 410) {
            q->gone = true;
        } else {
            q->bad_event = true;
            snprintf(q->why, sizeof q->why, "watch: ERROR event %lld: %.150s",
                     json_is_integer(c) ? (long long)json_integer_value(c) : 0LL,
                     msg ? msg : "(no message)");
        }
    } else if (strcmp(type, "BOOKMARK") == 0) {
        set_rv(r, rv);
    } else if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0 ||
               strcmp(type, "DELETED") == 0) {
        if (!apply(u, r, obj, type[0] == 'D', false, q->why, sizeof q->why)) {
            q->bad_event = true;
        } else {
            set_rv(r, rv);
            u->dirty = true;
        }
    } else {
        snprintf(q->why, sizeof q->why, "watch: unknown event type %.40s", type);
        q->bad_event = true;
    }
    if (!q->bad_event && !q->gone)
        good(u, r);
    json_decref(ev);
}

static char *esc(CURL *h, const char *s)
{
    char *e = curl_easy_escape(h, s, 0);
    char *r = sy_strdup(e ? e : "");
    curl_free(e);
    return r;
}

static void start(CURLM *m, unit *u, rsrc *r, bool watch, uint64_t now)
{
    char why[256];
    if (!load_token(u, why, sizeof why)) {
        failed(u, r, now, why);
        return;
    }
    kreq *q = sy_calloc(1, sizeof *q);
    q->u = u;
    q->kind = r->kind;
    q->watch = watch;
    q->h = curl_easy_init();
    char url[4096];
    char *ns = esc(q->h, u->ns), *svc = esc(q->h, u->svc);
    if (r->kind == R_SVC) {
        snprintf(url, sizeof url, "%s/api/v1/namespaces/%s/services/%s", u->server, ns, svc);
    } else {
        char *sel = esc(q->h, r->kind == R_PODS ? u->selector : "");
        if (r->kind == R_SLICES) {
            char tmp[300];
            snprintf(tmp, sizeof tmp, "kubernetes.io/service-name=%s", u->svc);
            free(sel);
            sel = esc(q->h, tmp);
        }
        int o = snprintf(url, sizeof url, "%s/%s/namespaces/%s/%s?labelSelector=%s", u->server,
                         r->kind == R_PODS ? "api/v1" : "apis/discovery.k8s.io/v1", ns,
                         r->kind == R_PODS ? "pods" : "endpointslices", sel);
        free(sel);
        if (watch) {
            /* A server-side end within 4-6 min spreads the re-watches. */
            snprintf(url + o, sizeof url - (size_t)o,
                     "&watch=1&allowWatchBookmarks=true&resourceVersion=%s&timeoutSeconds=%u",
                     r->rv, 240 + (unsigned)(jitter(240000) / 1000));
        } else {
            char *cont = r->cont ? esc(q->h, r->cont) : NULL;
            snprintf(url + o, sizeof url - (size_t)o, "&limit=%u%s%s", u->page_size,
                     cont ? "&continue=" : "", cont ? cont : "");
            free(cont);
        }
    }
    free(ns);
    free(svc);
    char auth[MAX_TOKEN_BYTES + 64];
    if (u->token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", u->token);
        q->hdrs = curl_slist_append(q->hdrs, auth);
    }
    q->hdrs = curl_slist_append(q->hdrs, "Accept: application/json");
    CURL *h = q->h;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, q->hdrs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "switchyard/" SY_VERSION);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (u->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, u->ca_file);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)u->timeout_ms);
    if (watch) {
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)WATCH_STALL_S);
    } else {
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)u->timeout_ms);
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, q);
    curl_easy_setopt(h, CURLOPT_PRIVATE, q);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, q->err);
    r->req = q;
    curl_multi_add_handle(m, h);
}

static void req_free(CURLM *m, kreq *q)
{
    curl_multi_remove_handle(m, q->h);
    curl_easy_cleanup(q->h);
    curl_slist_free_all(q->hdrs);
    sy_buf_free(&q->body);
    free(q);
}

void sy_k8s_unit_cancel(CURLM *m, unit *u)
{
    for (int k = 0; k < R_N; k++)
        if (u->r[k].req) {
            req_free(m, u->r[k].req);
            u->r[k].req = NULL;
        }
}

/* Whether sy_k8s_unit_step would start a request for `r` once it is due:
 * the pods only with ExtraLabels, slices and pods only once the Service
 * named the port, the Service only when it must be read (again). */
static bool wanted(const unit *u, const rsrc *r)
{
    if (r->req)
        return false;
    if (r->kind == R_SVC)
        return !u->port_name || r->want_list;
    return u->port_name && (r->kind == R_SLICES || u->selector);
}

void sy_k8s_unit_step(CURLM *m, unit *u, uint64_t now)
{
    for (int k = R_SVC; k < R_N; k++) {
        rsrc *r = &u->r[k];
        if (!wanted(u, r) || now < r->next_ms)
            continue;
        bool list = k == R_SVC || r->want_list || !r->listed || !r->rv[0];
        start(m, u, r, !list, now);
    }
}

uint64_t sy_k8s_next_due(void)
{
    uint64_t t = UINT64_MAX;
    for (unit *u = sy_k8s_units; u; u = u->next)
        for (int k = 0; k < R_N; k++)
            if (wanted(u, &u->r[k]) && u->r[k].next_ms < t)
                t = u->r[k].next_ms;
    return t;
}

/* A Status body's message, for errors. */
static void status_why(kreq *q, long code, char *why, size_t cap)
{
    json_t *doc = json_loadb(q->body.data ? q->body.data : "", q->body.len, 0, NULL);
    const char *msg = json_string_value(json_object_get(doc, "message"));
    const char *reason = json_string_value(json_object_get(doc, "reason"));
    snprintf(why, cap, "HTTP %ld%s%.40s%s%.150s%s", code, reason ? " " : "", reason ? reason : "",
             msg ? " (" : "", msg ? msg : "", msg ? ")" : "");
    if (code == 401 || code == 403)
        snprintf(why + strlen(why), cap - strlen(why), ": check TokenFile and the token's RBAC");
    json_decref(doc);
}

/* A complete list page or the Service. */
static void list_done(unit *u, rsrc *r, kreq *q, uint64_t now)
{
    char why[256];
    json_error_t jerr;
    json_t *doc =
        json_loadb(q->body.data ? q->body.data : "", q->body.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        snprintf(why, sizeof why, "the answer is not JSON (%s)", jerr.text);
        failed(u, r, now, why);
        return;
    }
    if (r->kind == R_SVC) {
        char *name;
        if (!sy_k8s_service_port(doc, u->port, &name, why, sizeof why)) {
            failed(u, r, now, why);
        } else {
            if (!u->port_name || strcmp(u->port_name, name) != 0)
                u->dirty = true;
            free(u->port_name);
            u->port_name = name;
            r->want_list = false;
            r->next_ms = now + SVC_RESYNC_MS;
            r->listed = true;
            /* The Service is read again every minute: look at it then. */
            r->want_list = true;
            good(u, r);
        }
        json_decref(doc);
        return;
    }
    json_t *items;
    const char *rv, *cont;
    if (!sy_k8s_parse_list(doc, &items, &rv, &cont, why, sizeof why)) {
        failed(u, r, now, why);
        json_decref(doc);
        return;
    }
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        if (!apply(u, r, it, false, true, why, sizeof why)) {
            failed(u, r, now, why);
            json_decref(doc);
            return;
        }
    }
    free(r->cont);
    r->cont = cont && *cont ? sy_strdup(cont) : NULL;
    if (!r->cont) {
        /* The last page: the new objects replace the old all at once. */
        free_slices(&r->slices, &r->n_slices);
        free_pods(&r->pods, &r->n_pods);
        r->slices = r->nslices;
        r->n_slices = r->n_nslices;
        r->pods = r->npods;
        r->n_pods = r->n_npods;
        r->nslices = NULL;
        r->npods = NULL;
        r->n_nslices = r->n_npods = 0;
        set_rv(r, rv);
        r->listed = true;
        r->want_list = false;
        u->dirty = true;
        pthread_mutex_lock(&sy_k8s_lock);
        u->relists++;
        pthread_mutex_unlock(&sy_k8s_lock);
    }
    r->next_ms = now;
    good(u, r);
    json_decref(doc);
}

void sy_k8s_req_done(CURLM *m, kreq *q, CURLcode rc, uint64_t now)
{
    unit *u = q->u;
    rsrc *r = &u->r[q->kind];
    r->req = NULL;
    long code = 0;
    curl_easy_getinfo(q->h, CURLINFO_RESPONSE_CODE, &code);
    char why[300];
    if (q->watch) {
        pthread_mutex_lock(&sy_k8s_lock);
        u->watch_restarts++;
        pthread_mutex_unlock(&sy_k8s_lock);
    }
    if (q->gone) {
        /* 410 Gone in the stream: our version is compacted away. */
        r->want_list = true;
        r->rv[0] = '\0';
        r->next_ms = now;
        sy_info("k8s: %s/%s: %s watch expired (410 Gone): listing again", u->ns, u->svc,
                kind_names[r->kind]);
    } else if (q->bad_event) {
        r->want_list = true; /* what we hold may have missed the refused change */
        failed(u, r, now, q->why);
    } else if (q->too_big) {
        snprintf(why, sizeof why, "the answer is larger than %u MiB", MAX_LIST_BYTES >> 20);
        failed(u, r, now, why);
    } else if (rc != CURLE_OK) {
        snprintf(why, sizeof why, "%s", q->err[0] ? q->err : curl_easy_strerror(rc));
        failed(u, r, now, why);
    } else if (code == 410) {
        /* An expired continue token (or version): start the list over. */
        drop_partial(r);
        r->want_list = true;
        r->rv[0] = '\0';
        r->next_ms = now + BACKOFF_MIN_MS;
    } else if (code != 200) {
        status_why(q, code, why, sizeof why);
        failed(u, r, now, why);
    } else if (q->watch) {
        /* The server ended the watch (timeoutSeconds): resume from rv. */
        r->next_ms = now;
    } else {
        list_done(u, r, q, now);
    }
    req_free(m, q);
}
