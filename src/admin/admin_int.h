/* Shared by the admin server (server.c), its routes (routes.c) and the
 * metrics renderer (metrics.c). */
#ifndef SY_ADMIN_ADMIN_INT_H
#define SY_ADMIN_ADMIN_INT_H

#include <jansson.h>
#include <stdint.h>

#include "gen/snapshot.h"
#include "core/buf.h"

#define SY_ADMIN_MAX_BODY (1024 * 1024)

/* One fully received request. */
typedef struct sy_admin_req {
    const char *method; /* "GET" */
    sy_str path;        /* without the query */
    sy_str query;
    const char *authorization; /* header value or NULL */
    const char *if_match;      /* If-Match value or NULL ("" when sent twice) */
    const char *body;
    size_t body_len;
    sy_snapshot *snap; /* pinned for the request */
} sy_admin_req;

typedef struct sy_admin_resp {
    int status;
    const char *ctype;
    const char *extra_headers; /* whole "Name: value\r\n" lines, or NULL */
    sy_buf body;
} sy_admin_resp;

/* Process-wide facts the handlers report. */
typedef struct sy_admin_info {
    uint64_t started_ms; /* sy_clock_ms() at start */
    int n_workers;
    const char *env_token; /* SWITCHYARD_ADMIN_TOKEN at start, or NULL */
} sy_admin_info;

extern sy_admin_info sy_admin_env;

/* server.c: the last reload since the listener started: false when none;
 * else its Unix time, whether it took effect, and (refused) why. */
bool sy_admin_last_reload(double *at, bool *ok, char *why, size_t cap);

/* routes.c: authenticate and dispatch one request. */
void sy_admin_handle(const sy_admin_req *rq, sy_admin_resp *rs);
/* Body helpers: a JSON document (reference stolen) or a JSON error. */
void sy_admin_json(sy_admin_resp *rs, int status, json_t *doc);
void sy_admin_error(sy_admin_resp *rs, int status, const char *word, const char *msg);

/* resources.c: /v1/upstreams, /v1/services..., /v1/plugins..., /v1/config,
 * once the dispatch table (routes.c) has matched the path and method. */
void sy_admin_resources(const sy_admin_req *rq, sy_admin_resp *rs);
/* /v1/rollouts and its actions (res_rollouts.c). */
void sy_admin_rollouts(const sy_admin_req *rq, sy_admin_resp *rs);

/* ui.c: the dashboard's embedded files under /ui/ (no token: they hold no
 * data; with a strict Content-Security-Policy). */
bool sy_admin_ui_path(sy_str path);
void sy_admin_ui(const sy_admin_req *rq, sy_admin_resp *rs);
/* traffic.c: GET /v1/traffic, the request counters as JSON. */
void sy_admin_traffic(const sy_admin_req *rq, sy_admin_resp *rs);

/* metrics.c: Prometheus text exposition of every counter. */
void sy_admin_metrics(const sy_snapshot *s, sy_buf *out);
/* A Prometheus label value escaped as the text format requires: backslash,
 * double quote and line feed become \\, \" and \n; nothing else is
 * escaped (a parser refuses any other escape).  Ids and policy names are
 * validated to printable ASCII when loaded, so no other control byte
 * reaches a label from them. */
void sy_prom_escape(sy_buf *b, const char *s);

#endif
