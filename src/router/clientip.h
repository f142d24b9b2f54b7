/* The one "client address" every routing rule reads (doc/reliability.md §4.1):
 * the socket peer, unless the peer is in Gateway.TrustedProxies; only then
 * is X-Forwarded-For walked from the right to the first untrusted hop.  A
 * malformed chain fails closed to the last trusted position. */
#ifndef SY_ROUTER_CLIENTIP_H
#define SY_ROUTER_CLIENTIP_H

#include <stdbool.h>
#include <sys/socket.h>

#include "config/model.h"
#include "router/reqview.h"

bool sy_ip_parse(sy_str s, struct sockaddr_storage *out);
bool sy_cidr_contains(const sy_cidr *c, const struct sockaddr_storage *ss);
bool sy_cidr_list_contains(const sy_cidr *list, size_t n, const struct sockaddr_storage *ss);

/* Decide the client address.  `peer_trusted` tells the caller whether the
 * incoming X-Forwarded-For chain may be kept (and appended to). */
void sy_clientip_resolve(const sy_gateway_cfg *gw, const struct sockaddr_storage *peer,
                          const char *peer_ip, const sy_header *hdrs, size_t n_hdrs,
                          char *out, size_t cap, struct sockaddr_storage *out_addr,
                          bool *peer_trusted);

#endif
