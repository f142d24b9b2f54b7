/* The one decision path: what the gateway does with a request once its
 * head is known.  The proxy (http/request.c, for HTTP/1.1 and every
 * HTTP/2 stream) and `explain` (router/explain.c: the CLI, test-routes and
 * POST /v1/explain) both call sy_decide, so explain cannot report "routed"
 * where the gateway answers 301, 400, 404, 405, 413 or 421.
 *
 * The steps, in the order the gateway applies them: the request-target
 * (origin- or absolute-form, no fragment, no dot segments) and the Host,
 * the client address (TrustedProxies), the body limit a Content-Length
 * already exceeds, the domain's Protocol / IsForcedHttps, the service,
 * environment and API, the Routing policies, and finally MOCK or proxy.
 * What only the wire can tell (HTTP version, repeated Host, framing) stays
 * with the HTTP parser; what is decided here reads only the arguments. */
#ifndef SY_ROUTER_DECIDE_H
#define SY_ROUTER_DECIDE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config/model.h"
#include "core/addr.h"
#include "router/policy.h"
#include "router/reqview.h"
#include "router/router.h"

typedef struct sy_decide_in {
    sy_str method; /* upper-case token */
    sy_str target; /* the request-target as received */
    sy_str host;   /* the Host field value; .p NULL when absent */
    const sy_header *headers;
    size_t n_headers;
    bool tls; /* arrived over TLS: scheme https */
    const sy_ipaddr *peer;
    const char *peer_ip;
    bool has_body;     /* Content-Length > 0 or chunked */
    bool length_known; /* content_length is the whole body size */
    uint64_t content_length;
    sy_arena *scratch;                       /* per-request: decoded values, the host */
    const double *force_random, *force_hash; /* explain / test-routes */
} sy_decide_in;

enum sy_decide_kind {
    SY_DECIDE_PROXY,    /* forward to route.backend */
    SY_DECIDE_MOCK,     /* answer route.backend's MOCK */
    SY_DECIDE_REDIRECT, /* 301 to https://host[:port]path?query */
    SY_DECIDE_ERROR,    /* answer status with word + message */
};

typedef struct sy_decision {
    enum sy_decide_kind kind;
    int status;          /* 200 for PROXY, the MOCK's status, or the answer */
    const char *word;    /* error word for the JSON body ("not_found") */
    const char *message; /* the reason in words */
    sy_str path, query;  /* from the target; query .p NULL when absent */
    sy_str host;         /* lower-case, no port, in in->scratch */
    unsigned https_port; /* REDIRECT: where to */
    bool peer_trusted;   /* the socket peer is a TrustedProxy */
    char client_ip[64];
    sy_route route;
} sy_decision;

/* Narration of each policy as it is evaluated (explain); NULL = the
 * indexed match the proxy uses, which picks the same winner. */
typedef struct sy_decide_narrator {
    sy_policy_explain_cb *on_policy;
    void *ud;
} sy_decide_narrator;

/* What a decision reads: one configuration generation's model and routing
 * tables (the proxy and explain pass their pinned snapshot's). */
typedef struct sy_routing {
    const sy_config *cfg;
    const sy_router *router;
    uint64_t generation;
} sy_routing;

/* Decide what the gateway does with the request `in` under g.  rv is filled as the routing
 * view (its slices point into in's buffers and in->scratch) and stays
 * valid as long as they do. */
void sy_decide(const sy_routing *g, const sy_decide_in *in, sy_req_view *rv, sy_decision *out,
               const sy_decide_narrator *narrate);

#endif
