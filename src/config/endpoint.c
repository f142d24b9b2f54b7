/* Text forms of addresses in the config: "host:port" endpoints, backend
 * URLs, CIDR blocks and HTTP status lists. */
#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/fields.h"

bool sy_host_valid(const char *h, size_t len)
{
    /* RFC 1123 names: dot-separated labels of letters, digits and '-', not
     * starting or ending with '-'.  Underscores appear in real internal
     * names (k8s services), so they pass too. */
    if (len == 0 || len > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)h[i];
        if (ch == '.') {
            if (label == 0 || h[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        if (!(isalnum(ch) || ch == '-' || ch == '_'))
            return false;
        if (ch == '-' && label == 0)
            return false;
        if (++label > 63)
            return false;
    }
    return h[len - 1] != '-';
}

static bool numeric_addr(const char *host, unsigned port, sy_endpoint *ep)
{
    struct addrinfo hints = {0}, *res = NULL;
    unsigned char probe[16];
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    /* getaddrinfo takes inet_aton's odd IPv4 spellings ("127.1"); only a
     * dotted quad is an IPv4 address here. */
    if (!strchr(host, ':') && inet_pton(AF_INET, host, probe) != 1)
        return false;
    char portbuf[8];
    snprintf(portbuf, sizeof portbuf, "%u", port);
    if (getaddrinfo(host, portbuf, &hints, &res) != 0 || !res)
        return false;
    memcpy(&ep->addr, res->ai_addr, res->ai_addrlen);
    ep->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return true;
}

bool sy_endpoint_set(sy_arena *a, const char *host, size_t hlen, unsigned port, bool need_ip,
                     sy_endpoint *ep, const char **why)
{
    char buf[256];
    if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
        host++;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= sizeof buf) {
        *why = "host is empty or too long";
        return false;
    }
    memcpy(buf, host, hlen);
    buf[hlen] = '\0';
    memset(ep, 0, sizeof *ep);
    ep->port = (uint16_t)port;
    ep->host = sy_arena_strdup(a, buf);
    if (strcmp(buf, "localhost") == 0) {
        /* Pinned to IPv4 loopback rather than asking the resolver, whose
         * answer (::1 or 127.0.0.1 first) varies between hosts. */
        struct sockaddr_in *sin = (struct sockaddr_in *)&ep->addr;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ep->addrlen = sizeof *sin;
        return true;
    }
    if (numeric_addr(buf, port, ep))
        return true;
    if (need_ip || strchr(buf, ':')) {
        *why = need_ip ? "host must be an IP address or localhost" : "invalid IPv6 address";
        return false;
    }
    if (!sy_host_valid(buf, hlen)) {
        *why = "invalid host name";
        return false;
    }
    return true; /* a DNS name: resolved later by upstream discovery */
}

static bool parse_port(const char *s, size_t len, unsigned *port)
{
    uint64_t v;
    if (sy_str_to_u64(sy_str_make(s, len), &v) != 0 || v < 1 || v > 65535)
        return false;
    *port = (unsigned)v;
    return true;
}

/* Split "host:port" / "[v6]:port"; false when there is no port. */
static bool split_host_port(const char *text, size_t len, size_t *hlen, const char **port,
                            size_t *plen)
{
    const char *colon;
    if (len && text[0] == '[') {
        const char *rb = memchr(text, ']', len);
        if (!rb || rb + 1 == text + len || rb[1] != ':')
            return false;
        colon = rb + 1;
    } else {
        colon = memrchr(text, ':', len);
        if (!colon || memchr(text, ':', (size_t)(colon - text)))
            return false; /* none, or a bare IPv6 address */
    }
    *hlen = (size_t)(colon - text);
    *port = colon + 1;
    *plen = len - *hlen - 1;
    return true;
}

bool sy_endpoint_parse(sy_arena *a, const char *text, bool need_ip, sy_endpoint *ep,
                       const char **why)
{
    size_t len = strlen(text), hlen, plen;
    const char *port;
    unsigned p;
    if (!split_host_port(text, len, &hlen, &port, &plen)) {
        *why = "must be host:port (IPv6 as [addr]:port)";
        return false;
    }
    if (!parse_port(port, plen, &p)) {
        *why = "port must be between 1 and 65535";
        return false;
    }
    return sy_endpoint_set(a, text, hlen, p, need_ip, ep, why);
}

bool sy_url_parse(sy_arena *a, const char *url, sy_endpoint *ep, const char **why)
{
    unsigned port;
    const char *rest;
    if (strncasecmp(url, "http://", 7) == 0) {
        rest = url + 7;
        port = 80;
    } else if (strncasecmp(url, "https://", 8) == 0) {
        rest = url + 8;
        port = 443;
    } else {
        *why = "must start with http:// or https://";
        return false;
    }
    size_t alen = strcspn(rest, "/?#");
    const char *tail = rest + alen;
    if (*tail && strcmp(tail, "/") != 0) {
        *why = "must not have a path, query or fragment (use ServiceConfig.Path)";
        return false;
    }
    if (memchr(rest, '@', alen)) {
        *why = "must not contain user information";
        return false;
    }
    size_t hlen = alen, plen;
    const char *pstr;
    if (split_host_port(rest, alen, &hlen, &pstr, &plen)) {
        if (!parse_port(pstr, plen, &port)) {
            *why = "port must be between 1 and 65535";
            return false;
        }
    } else if (alen && rest[0] == '[' && rest[alen - 1] != ']') {
        *why = "invalid IPv6 address";
        return false;
    }
    return sy_endpoint_set(a, rest, hlen, port, false, ep, why);
}

bool sy_endpoint_is_loopback(const sy_endpoint *ep)
{
    if (ep->addr.ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)&ep->addr;
        return (ntohl(s->sin_addr.s_addr) >> 24) == 127;
    }
    if (ep->addr.ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&ep->addr;
        if (IN6_IS_ADDR_LOOPBACK(&s->sin6_addr))
            return true;
        return IN6_IS_ADDR_V4MAPPED(&s->sin6_addr) && s->sin6_addr.s6_addr[12] == 127;
    }
    return false;
}

bool sy_cidr_parse(const char *text, sy_cidr *out, const char **why)
{
    char buf[64];
    const char *slash = strchr(text, '/');
    size_t alen = slash ? (size_t)(slash - text) : strlen(text);
    if (alen == 0 || alen >= sizeof buf) {
        *why = "must be an IP address or CIDR block";
        return false;
    }
    memcpy(buf, text, alen);
    buf[alen] = '\0';
    memset(out, 0, sizeof *out);
    int max;
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->family = AF_INET6;
        max = 128;
    } else {
        *why = "must be an IP address or CIDR block";
        return false;
    }
    out->prefix = max;
    if (slash) {
        uint64_t v;
        if (sy_str_to_u64(sy_str_c(slash + 1), &v) != 0 || v > (uint64_t)max) {
            *why = out->family == AF_INET ? "prefix length must be 0..32"
                                          : "prefix length must be 0..128";
            return false;
        }
        out->prefix = (int)v;
    }
    /* Clear host bits so matching can compare whole bytes. */
    for (int bit = out->prefix; bit < max; bit++)
        out->addr[bit / 8] &= (unsigned char)~(0x80u >> (bit % 8));
    return true;
}

static void status_add(sy_status_set *set, unsigned code)
{
    unsigned i = code - 100;
    set->bits[i / 64] |= (uint64_t)1 << (i % 64);
}

bool sy_status_set_parse(const char *text, sy_status_set *set, const char **why)
{
    memset(set, 0, sizeof *set);
    sy_str all = sy_str_c(text);
    size_t i = 0;
    *why = "must be status codes 100..599 as a list like \"200,204\" or a range like \"500-599\"";
    while (i <= all.len) {
        size_t j = i;
        while (j < all.len && all.p[j] != ',')
            j++;
        sy_str item = sy_str_trim(sy_str_make(all.p + i, j - i));
        const char *dash = memchr(item.p, '-', item.len);
        sy_str lo = item, hi = item;
        if (dash) {
            lo = sy_str_trim(sy_str_make(item.p, (size_t)(dash - item.p)));
            hi = sy_str_trim(sy_str_make(dash + 1, (size_t)(item.p + item.len - dash - 1)));
        }
        uint64_t a, b;
        if (sy_str_to_u64(lo, &a) != 0 || sy_str_to_u64(hi, &b) != 0 || a < 100 || b > 599 || a > b)
            return false;
        for (uint64_t code = a; code <= b; code++)
            status_add(set, (unsigned)code);
        i = j + 1;
    }
    return true;
}
