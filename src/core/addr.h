/* Socket addresses as text, for logs, health keys and client addresses.
 * One home for what the listener, the proxy and node health all print. */
#ifndef SY_CORE_ADDR_H
#define SY_CORE_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

/* "ip:port" ("[ip6]:port") text of an address into buf (64 bytes is
 * enough); "?" for other families. */
void sy_addr_text(const struct sockaddr *sa, char *buf, size_t cap);

/* "ip" text of an address (no port); an IPv4-mapped IPv6 address prints
 * as IPv4.  Empty for other families. */
void sy_addr_ip(const struct sockaddr_storage *ss, char *buf, size_t cap);

#endif
