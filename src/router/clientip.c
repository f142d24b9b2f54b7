#include "router/clientip.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

bool sy_ip_parse(sy_str s, sy_ipaddr *out)
{
    char tmp[64];
    s = sy_str_trim(s);
    if (s.len && s.p[0] == '[' && s.p[s.len - 1] == ']') {
        s.p++;
        s.len -= 2;
    }
    if (s.len == 0 || s.len >= sizeof(tmp))
        return false;
    memcpy(tmp, s.p, s.len);
    tmp[s.len] = '\0';
    memset(out, 0, sizeof(*out));
    struct sockaddr_in *a4 = &out->in;
    struct sockaddr_in6 *a6 = &out->in6;
    if (inet_pton(AF_INET, tmp, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, tmp, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        return true;
    }
    return false;
}

/* Bytes of an address for CIDR comparison; v4-mapped v6 counts as v4. */
static int addr_bytes(const sy_ipaddr *ip, const unsigned char **p)
{
    if (ip->sa.sa_family == AF_INET) {
        *p = (const unsigned char *)&ip->in.sin_addr;
        return AF_INET;
    }
    if (ip->sa.sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = &ip->in6;
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
            *p = &s6->sin6_addr.s6_addr[12];
            return AF_INET;
        }
        *p = s6->sin6_addr.s6_addr;
        return AF_INET6;
    }
    return 0;
}

bool sy_cidr_contains(const sy_cidr *c, const sy_ipaddr *ip)
{
    const unsigned char *b = NULL;
    int fam = addr_bytes(ip, &b);
    if (fam != c->family)
        return false;
    int bits = c->prefix;
    for (int i = 0; bits > 0; i++, bits -= 8) {
        unsigned char mask = bits >= 8 ? 0xff : (unsigned char)(0xff << (8 - bits));
        if ((b[i] & mask) != (c->addr[i] & mask))
            return false;
    }
    return true;
}

bool sy_cidr_list_contains(const sy_cidr *list, size_t n, const sy_ipaddr *ip)
{
    for (size_t i = 0; i < n; i++)
        if (sy_cidr_contains(&list[i], ip))
            return true;
    return false;
}

static void addr_text(const sy_ipaddr *ip, char *out, size_t cap)
{
    const unsigned char *b = NULL;
    int fam = addr_bytes(ip, &b);
    if (!fam || !inet_ntop(fam, b, out, (socklen_t)cap))
        snprintf(out, cap, "unknown");
}

void sy_clientip_resolve(const sy_gateway_cfg *gw, const sy_ipaddr *peer, const char *peer_ip,
                         const sy_header *hdrs, size_t n_hdrs, char *out, size_t cap,
                         bool *peer_trusted)
{
    snprintf(out, cap, "%s", peer_ip);
    *peer_trusted = gw->n_trusted && sy_cidr_list_contains(gw->trusted, gw->n_trusted, peer);
    if (!*peer_trusted)
        return;
    /* Walk every X-Forwarded-For line from the last one backwards, each
     * from its right end: RFC 9110 list semantics across lines. */
    for (size_t i = n_hdrs; i-- > 0;) {
        if (!sy_str_ieq_c(hdrs[i].name, "X-Forwarded-For"))
            continue;
        sy_str v = hdrs[i].value;
        size_t end = v.len;
        while (end > 0) {
            size_t start = end;
            while (start > 0 && v.p[start - 1] != ',')
                start--;
            sy_str hop = sy_str_trim(sy_str_make(v.p + start, end - start));
            sy_ipaddr ip;
            if (!sy_ip_parse(hop, &ip))
                return; /* malformed: stop at the last good position */
            addr_text(&ip, out, cap);
            if (!sy_cidr_list_contains(gw->trusted, gw->n_trusted, &ip))
                return; /* first untrusted hop from the right: the client */
            end = start ? start - 1 : 0;
        }
    }
}
