/* DNS discovery for upstream node names.
 *
 * A node whose Host is a name becomes one target per A/AAAA address the
 * name resolves to.  Queries go over UDP to Gateway.Resolvers (default:
 * the nameservers of /etc/resolv.conf) from the prober thread's loop, never
 * from a worker.  Answers are cached process-wide by name with their TTL
 * (clamped to 1..3600 s); the name is asked again when the TTL runs out.
 * A failed query (timeout, SERVFAIL, NXDOMAIN, no address) keeps the last
 * good addresses and is retried after SY_DNS_RETRY_MS.
 *
 * This file: the cache (any thread, mutex) and the wire format (pure
 * functions, unit-tested).  The I/O lives in prober.c. */
#ifndef SY_UPSTREAM_DNS_H
#define SY_UPSTREAM_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SY_DNS_MAX_ADDRS 64
#define SY_DNS_RETRY_MS 2000
#define SY_DNS_TIMEOUT_MS 1500

typedef struct sy_dns_addr {
    int family; /* AF_INET or AF_INET6 */
    unsigned char a[16];
} sy_dns_addr;

/* Addresses cached for `name`, as socket addresses with `port`.  Returns
 * how many (0 when the name was never resolved). */
size_t sy_dns_cached(const char *name, uint16_t port, struct sockaddr_storage *out, socklen_t *lens,
                     size_t max);

/* Make sure `name` is in the cache's list of names to resolve. */
void sy_dns_want(const char *name);

/* The next name due for a query at `now` (monotonic ms), or NULL.  Marks
 * it as in flight until sy_dns_store() or sy_dns_failed(). */
const char *sy_dns_next_due(uint64_t now);
/* Earliest time a name is due (UINT64_MAX when none). */
uint64_t sy_dns_next_time(void);
/* A good answer: replaces the addresses; true when they changed. */
bool sy_dns_store(const char *name, const sy_dns_addr *addrs, size_t n, uint32_t ttl_s,
                  uint64_t now);
void sy_dns_failed(const char *name, const char *why, uint64_t now);

/* Wire format.  Encode a query for `name`/`qtype` (1 = A, 28 = AAAA) into
 * buf; returns its length or 0 when the name does not fit. */
size_t sy_dns_encode_query(uint16_t id, const char *name, uint16_t qtype, unsigned char *buf,
                           size_t cap);
/* Parse a response to query `id`: appends A/AAAA answers to addrs (up to
 * max, *n updated), lowest TTL in *ttl.  Returns the RCODE (0 = ok), or -1
 * for a malformed or mismatched message. */
int sy_dns_parse_response(const unsigned char *msg, size_t len, uint16_t id, sy_dns_addr *addrs,
                          size_t *n, size_t max, uint32_t *ttl);

/* Nameservers from a resolv.conf file ("nameserver IP" lines), port 53.
 * Returns how many were stored. */
size_t sy_dns_resolv_conf(const char *path, struct sockaddr_storage *out, socklen_t *lens,
                          size_t max);

#endif
