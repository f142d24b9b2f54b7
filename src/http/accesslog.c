/* One JSON line per request, buffered per worker and written in batches
 * (worker tick), so logging costs no syscall per request. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "stats/stats.h"
#include "stats/rollout_stats.h"
#include "http/conn.h"
#include "http/worker.h"

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
    sy_buf *b = &c->w->access_log;
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char tbuf[64];
    snprintf(tbuf, sizeof(tbuf), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    sy_buf_append(b, "{", 1);
    field(b, "time", sy_str_c(tbuf), true);
    field(b, "request_id", sy_str_c(r->request_id), false);
    field(b, "client", sy_str_c(r->client_ip[0] ? r->client_ip : c->peer_ip), false);
    field(b, "method", r->method, false);
    field(b, "path", r->path.p ? r->path : r->target, false);
    const sy_route *rt = &r->route;
    field(b, "service", rt->service ? sy_str_c(rt->service->id) : SY_STR_NULL, false);
    field(b, "env", rt->env >= 0 && rt->service ? sy_str_c(sy_env_name(rt->env)) : SY_STR_NULL, false);
    field(b, "api", rt->api ? sy_str_c(rt->api->id) : SY_STR_NULL, false);
    field(b, "policy", rt->policy ? sy_str_c(rt->policy->name) : SY_STR_NULL, false);
    field(b, "upstream", r->upstream ? sy_str_c(r->upstream->id) : SY_STR_NULL, false);
    char node[128] = "";
    if (r->ep) {
        if (strchr(r->ep->host, ':'))
            snprintf(node, sizeof(node), "[%s]:%u", r->ep->host, r->ep->port);
        else
            snprintf(node, sizeof(node), "%s:%u", r->ep->host, r->ep->port);
    }
    field(b, "node", node[0] ? sy_str_c(node) : SY_STR_NULL, false);
    field(b, "error", r->error_word ? sy_str_c(r->error_word) : SY_STR_NULL, false);
    field(b, "proto", c->h2s ? SY_STR_LIT("HTTP/2") : r->http_minor == 0 && r->head_done ? SY_STR_LIT("HTTP/1.0")
                                                                                      : SY_STR_LIT("HTTP/1.1"),
          false);
    field(b, "tls", c->tls_version ? sy_str_c(c->tls_version) : SY_STR_NULL, false);
    field(b, "alpn", c->alpn ? sy_str_c(c->alpn) : SY_STR_NULL, false);
    uint64_t now = sy_loop_now(c->w->loop);
    char nums[256];
    int n = snprintf(nums, sizeof(nums),
                     ",\"status\":%d,\"bytes_sent\":%llu,\"bytes_received\":%llu,\"attempts\":%d,"
                     "\"duration_ms\":%llu,\"upstream_ms\":%lld}\n",
                     r->status, (unsigned long long)(r->bytes_sent + sy_buf_pending(&c->out)),
                     (unsigned long long)r->body_bytes, r->attempts,
                     (unsigned long long)(now - r->start_ms),
                     r->up_start_ms && r->up_head_ms ? (long long)(r->up_head_ms - r->up_start_ms) : -1LL);
    sy_buf_append(b, nums, (size_t)n);
}
