/* What the routing layer may read of a request.
 *
 * The proxy fills one of these per request with slices into the receive
 * buffer; routing conditions, balancer keys and `explain` read only this,
 * so they can be unit-tested and driven by the CLI without a connection. */
#ifndef SY_ROUTER_REQVIEW_H
#define SY_ROUTER_REQVIEW_H

#include <stdbool.h>
#include <sys/socket.h>

#include "core/arena.h"
#include "core/str.h"

typedef struct sy_header {
    sy_str name;
    sy_str value;
} sy_header;

typedef struct sy_req_view {
    sy_str method; /* "GET" */
    sy_str path;   /* service-relative path, environment prefix
                             removed, no query: "/orders/1" */
    sy_str query;  /* raw query without '?', may be empty */
    sy_str host;   /* Host without port, lower-cased by the parser */
    sy_str scheme; /* "http" or "https" */
    const sy_header *headers;
    size_t n_headers;
    sy_str client_ip;  /* textual, after the TrustedProxies walk */
    sy_arena *scratch; /* per-request arena for decoded values */

    /* Test hooks (test-routes, explain): when set, Random() returns
     * *force_random and hash() returns *force_hash instead of computing. */
    const double *force_random;
    const double *force_hash;
} sy_req_view;

/* Case-insensitive header lookup; several lines with the same name are
 * returned first-come.  Returns false when absent. */
bool sy_req_header(const sy_req_view *rv, sy_str name, sy_str *out);

#endif
