/* The one "client address" every routing rule reads (doc/reliability.md §4.1):
 * the socket peer, unless the peer is in Gateway.TrustedProxies; only then
 * is X-Forwarded-For walked from the right to the first untrusted hop.  A
 * malformed chain fails closed to the last trusted position. */
#ifndef SY_ROUTER_CLIENTIP_H
#define SY_ROUTER_CLIENTIP_H

#include <stdbool.h>
#include <sys/socket.h>

#include "config/model.h"
#include "core/addr.h"
#include "router/reqview.h"

bool sy_ip_parse(sy_str s, sy_ipaddr *out);
bool sy_cidr_contains(const sy_cidr *c, const sy_ipaddr *ip);
bool sy_cidr_list_contains(const sy_cidr *list, size_t n, const sy_ipaddr *ip);

/* Decide the client address.  `peer_trusted` tells the caller whether the
 * incoming X-Forwarded-For chain may be kept (and appended to). */
void sy_clientip_resolve(const sy_gateway_cfg *gw, const sy_ipaddr *peer, const char *peer_ip,
                         const sy_header *hdrs, size_t n_hdrs, char *out, size_t cap,
                         bool *peer_trusted);

#endif
