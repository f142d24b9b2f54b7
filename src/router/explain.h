/* Explain one routing decision: the core `switchyard explain`,
 * `switchyard test-routes` and the admin API's POST /v1/explain share.
 *
 * Given a snapshot and a request as a client would send it, run the
 * proxy's own decision (router/decide.c: target and Host, client address,
 * body limit, Protocol / IsForcedHttps, service, environment, API, Routing
 * policies, MOCK) with a narrator, and describe each step.  Nothing
 * the workers own is touched: the node shown is the one a freshly started
 * balancer would pick first, computed here, not taken from a worker. */
#ifndef SY_ROUTER_EXPLAIN_H
#define SY_ROUTER_EXPLAIN_H

#include <jansson.h>
#include <stddef.h>

#include "router/decide.h"
#include "router/reqview.h"

typedef struct sy_explain_req {
    const char *method;       /* "GET"; upper-cased copy is used */
    const char *url;          /* "/release/orders?x=1" or "http://host/release/orders" */
    const sy_header *headers; /* Host may be among them (origin-form URLs) */
    size_t n_headers;
    const char *client_ip; /* socket peer; NULL = 127.0.0.1 */
    const char *scheme;    /* NULL = from the URL, else "http" */
    const double *random;  /* force Random(); NULL = really random */
    const double *hash;    /* force hash(); NULL = computed */
} sy_explain_req;

/* Explain `in` against snapshot s.  Returns a new JSON object (caller
 * json_decref()s it), or NULL with a message in err when the input itself
 * is unusable (bad method, URL or client address).
 *
 * The object: status (what the gateway answers: 200 when proxied, the
 * MOCK's status, else 301/400/404/405/413/421), routed (proxied or MOCK),
 * error, location (301 only),
 * request {method, url, host, path, query, scheme, peer, client_ip},
 * service {id, name}, environment, api {id, name, path, method},
 * plugin {id, name}, policies [{name, weight, order, result:
 * matched|no_match|skipped, detail: [lines]}], policy (name or null),
 * backend {source: policy|api, type: HTTP|MOCK, upstream, url, path,
 * method}, balancing, nodes [{host, port, weight}], node {host, port}, and
 * text (the rendering sy_explain_text produces). */
json_t *sy_explain(const sy_routing *g, const sy_explain_req *in, char *err, size_t errlen);

/* Human-readable rendering of a sy_explain() result (malloc'ed). */
char *sy_explain_text(const json_t *result);

#endif
