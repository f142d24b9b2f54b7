/* Socket addresses as text, for logs, health keys and client addresses.
 * One home for what the listener, the proxy and node health all print. */
#ifndef SY_CORE_ADDR_H
#define SY_CORE_ADDR_H

#include <stddef.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* A client's address: IPv4 or IPv6 only.  28 bytes instead of
 * sockaddr_storage's 128, because one sits in every client connection
 * (doc/core-principles.md, Memory). */
typedef union sy_ipaddr {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
} sy_ipaddr;

/* Longest "ip" text sy_addr_ip writes, with its NUL. */
#define SY_IP_TEXT_MAX INET6_ADDRSTRLEN

/* "ip:port" ("[ip6]:port") text of an address into buf (64 bytes is
 * enough); "?" for other families. */
void sy_addr_text(const struct sockaddr *sa, char *buf, size_t cap);

/* "ip" text of an address (no port); an IPv4-mapped IPv6 address prints
 * as IPv4.  Empty for other families. */
void sy_addr_ip(const struct sockaddr *sa, char *buf, size_t cap);

#endif
