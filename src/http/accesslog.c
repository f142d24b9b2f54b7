/* One JSON line per request, buffered per worker and written in batches
 * (worker tick), so logging costs no syscall per request.  The fields and
 * their order are Gateway.AccessLogFields (config/gateway.c names them);
 * a field not listed costs nothing. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "stats/stats.h"
#include "stats/rollout_stats.h"
#include "http/conn.h"
#include "http/worker.h"
#include "router/reqview.h"

static void esc(sy_buf *b, sy_str s)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char ch = (unsigned char)s.p[i];
        if (ch == '"' || ch == '\\') {
            char e[2] = {'\\', (char)ch};
            sy_buf_append(b, e, 2);
        } else if (ch < 0x20 || ch >= 0x7f) {
            char e[8];
            snprintf(e, sizeof(e), "\\u%04x", ch);
            sy_buf_append_str(b, e);
        } else {
            sy_buf_append(b, &s.p[i], 1);
        }
    }
}

static void field(sy_buf *b, const char *name, sy_str v, bool first)
{
    if (!first)
        sy_buf_append(b, ",", 1);
    sy_buf_append(b, "\"", 1);
    sy_buf_append_str(b, name);
    sy_buf_append(b, "\":", 2);
    if (!v.p) {
        sy_buf_append_str(b, "null");
        return;
    }
    sy_buf_append(b, "\"", 1);
    esc(b, v);
    sy_buf_append(b, "\"", 1);
}

/* A number, or null when `null`. */
static void num(sy_buf *b, const char *name, long long v, bool null, bool first)
{
    char t[32];
    int n = null ? snprintf(t, sizeof t, "null") : snprintf(t, sizeof t, "%lld", v);
    if (!first)
        sy_buf_append(b, ",", 1);
    sy_buf_append(b, "\"", 1);
    sy_buf_append_str(b, name);
    sy_buf_append(b, "\":", 2);
    sy_buf_append(b, t, (size_t)n);
}

void sy_access_log(sy_client *c)
{
    sy_request *r = c->req;
    if (r) {
        uint64_t now_us = sy_clock_us();
        sy_stats_obs o = {.status = r->status,
                          .duration_us = now_us > r->start_us ? now_us - r->start_us : 0,
                          .bytes_in = r->body_bytes,
                          .bytes_out = r->bytes_sent + sy_buf_pending(&c->out),
                          .upstream = r->upstream};
        sy_stats_on_request(c->w->id, r->snap, &r->route, &o);
        if (r->route.rollout)
            sy_ro_stats_on_request(c->w->id, &r->route, r->status, o.duration_us / 1000);
    }
    if (sy_rt.access_fd < 0 || !r)
        return;
    const sy_gateway_cfg *gw = r->snap ? &r->snap->cfg->gw : &c->w->snap->cfg->gw;
    sy_buf *b = &c->w->access_log;
    const sy_route *rt = &r->route;
    sy_buf_append(b, "{", 1);
    for (size_t i = 0; i < gw->n_access_fields; i++) {
        int f = gw->access_fields[i];
        const char *name = sy_access_field_names[f];
        bool first = i == 0;
        switch (f) {
        case SY_AF_TIME: {
            struct timespec ts;
            struct tm tm;
            clock_gettime(CLOCK_REALTIME, &ts);
            gmtime_r(&ts.tv_sec, &tm);
            char tbuf[64];
            snprintf(tbuf, sizeof(tbuf), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000);
            field(b, name, sy_str_c(tbuf), first);
            break;
        }
        case SY_AF_REQUEST_ID:
            field(b, name, sy_str_c(r->request_id), first);
            break;
        case SY_AF_CLIENT:
            field(b, name, sy_str_c(r->client_ip[0] ? r->client_ip : c->peer_ip), first);
            break;
        case SY_AF_METHOD:
            field(b, name, r->method, first);
            break;
        case SY_AF_HOST:
            field(b, name, r->host_hdr, first);
            break;
        case SY_AF_PATH:
            field(b, name, r->path.p ? r->path : r->target, first);
            break;
        case SY_AF_QUERY:
            field(b, name, r->query, first);
            break;
        case SY_AF_USER_AGENT: {
            sy_str ua = SY_STR_NULL;
            if (r->head_done && !sy_req_header(&r->rv, SY_STR_LIT("User-Agent"), &ua))
                ua = SY_STR_NULL;
            field(b, name, ua, first);
            break;
        }
        case SY_AF_SERVICE:
            field(b, name, rt->service ? sy_str_c(rt->service->id) : SY_STR_NULL, first);
            break;
        case SY_AF_ENV:
            field(b, name,
                  rt->env >= 0 && rt->service ? sy_str_c(sy_env_name(rt->env)) : SY_STR_NULL,
                  first);
            break;
        case SY_AF_API:
            field(b, name, rt->api ? sy_str_c(rt->api->id) : SY_STR_NULL, first);
            break;
        case SY_AF_POLICY:
            field(b, name, rt->policy ? sy_str_c(rt->policy->name) : SY_STR_NULL, first);
            break;
        case SY_AF_UPSTREAM:
            field(b, name, r->upstream ? sy_str_c(r->upstream->id) : SY_STR_NULL, first);
            break;
        case SY_AF_NODE: {
            char node[128] = "";
            if (r->ep)
                snprintf(node, sizeof(node), strchr(r->ep->host, ':') ? "[%s]:%u" : "%s:%u",
                         r->ep->host, r->ep->port);
            field(b, name, node[0] ? sy_str_c(node) : SY_STR_NULL, first);
            break;
        }
        case SY_AF_UPSTREAM_STATUS:
            num(b, name, r->upstream_status, !r->upstream_status, first);
            break;
        case SY_AF_ERROR:
            field(b, name, r->error_word ? sy_str_c(r->error_word) : SY_STR_NULL, first);
            break;
        case SY_AF_PROTO:
            field(b, name,
                  c->h2s                               ? SY_STR_LIT("HTTP/2")
                  : r->http_minor == 0 && r->head_done ? SY_STR_LIT("HTTP/1.0")
                                                       : SY_STR_LIT("HTTP/1.1"),
                  first);
            break;
        case SY_AF_TLS:
            field(b, name, c->tls_version ? sy_str_c(c->tls_version) : SY_STR_NULL, first);
            break;
        case SY_AF_ALPN:
            field(b, name, c->alpn ? sy_str_c(c->alpn) : SY_STR_NULL, first);
            break;
        case SY_AF_STATUS:
            num(b, name, r->status, false, first);
            break;
        case SY_AF_BYTES_SENT:
            num(b, name, (long long)(r->bytes_sent + sy_buf_pending(&c->out)), false, first);
            break;
        case SY_AF_BYTES_RECEIVED:
            num(b, name, (long long)r->body_bytes, false, first);
            break;
        case SY_AF_ATTEMPTS:
            num(b, name, r->attempts, false, first);
            break;
        case SY_AF_DURATION_MS:
            num(b, name, (long long)(sy_loop_now(c->w->loop) - r->start_ms), false, first);
            break;
        case SY_AF_UPSTREAM_MS:
            num(b, name,
                r->up_start_ms && r->up_head_ms ? (long long)(r->up_head_ms - r->up_start_ms)
                                                : -1LL,
                false, first);
            break;
        }
    }
    sy_buf_append(b, "}\n", 2);
}
