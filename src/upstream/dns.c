#include "upstream/dns.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/log.h"

typedef struct entry {
    char *name;
    sy_dns_addr addrs[SY_DNS_MAX_ADDRS];
    size_t n;
    bool resolved, in_flight;
    uint64_t due; /* next query, monotonic ms */
    struct entry *next;
} entry;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static entry *entries;

static entry *find(const char *name)
{
    for (entry *e = entries; e; e = e->next)
        if (strcmp(e->name, name) == 0)
            return e;
    return NULL;
}

size_t sy_dns_cached(const char *name, uint16_t port, struct sockaddr_storage *out, socklen_t *lens,
                     size_t max)
{
    size_t k = 0;
    pthread_mutex_lock(&lock);
    entry *e = find(name);
    for (size_t i = 0; e && i < e->n && k < max; i++, k++) {
        memset(&out[k], 0, sizeof out[k]);
        if (e->addrs[i].family == AF_INET) {
            struct sockaddr_in *s = (struct sockaddr_in *)&out[k];
            s->sin_family = AF_INET;
            s->sin_port = htons(port);
            memcpy(&s->sin_addr, e->addrs[i].a, 4);
            lens[k] = sizeof *s;
        } else {
            struct sockaddr_in6 *s = (struct sockaddr_in6 *)&out[k];
            s->sin6_family = AF_INET6;
            s->sin6_port = htons(port);
            memcpy(&s->sin6_addr, e->addrs[i].a, 16);
            lens[k] = sizeof *s;
        }
    }
    pthread_mutex_unlock(&lock);
    return k;
}

void sy_dns_want(const char *name)
{
    pthread_mutex_lock(&lock);
    if (!find(name)) {
        entry *e = sy_calloc(1, sizeof *e);
        e->name = sy_strdup(name);
        e->next = entries;
        entries = e;
    }
    pthread_mutex_unlock(&lock);
}

const char *sy_dns_next_due(uint64_t now)
{
    const char *name = NULL;
    pthread_mutex_lock(&lock);
    for (entry *e = entries; e; e = e->next)
        if (!e->in_flight && e->due <= now) {
            e->in_flight = true;
            name = e->name; /* entries are never freed */
            break;
        }
    pthread_mutex_unlock(&lock);
    return name;
}

uint64_t sy_dns_next_time(void)
{
    uint64_t t = UINT64_MAX;
    pthread_mutex_lock(&lock);
    for (entry *e = entries; e; e = e->next)
        if (!e->in_flight && e->due < t)
            t = e->due;
    pthread_mutex_unlock(&lock);
    return t;
}

static int addr_cmp(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(sy_dns_addr));
}

bool sy_dns_store(const char *name, const sy_dns_addr *addrs, size_t n, uint32_t ttl_s,
                  uint64_t now)
{
    sy_dns_addr sorted[SY_DNS_MAX_ADDRS];
    if (n > SY_DNS_MAX_ADDRS)
        n = SY_DNS_MAX_ADDRS;
    memset(sorted, 0, sizeof sorted);
    for (size_t i = 0; i < n; i++)
        sorted[i] = addrs[i];
    qsort(sorted, n, sizeof *sorted, addr_cmp);
    if (ttl_s < 1)
        ttl_s = 1;
    if (ttl_s > 3600)
        ttl_s = 3600;
    bool changed;
    pthread_mutex_lock(&lock);
    entry *e = find(name);
    if (!e) {
        pthread_mutex_unlock(&lock);
        return false;
    }
    changed = !e->resolved || e->n != n || memcmp(e->addrs, sorted, n * sizeof *sorted) != 0;
    memcpy(e->addrs, sorted, n * sizeof *sorted);
    e->n = n;
    e->resolved = true;
    e->in_flight = false;
    e->due = now + (uint64_t)ttl_s * 1000;
    pthread_mutex_unlock(&lock);
    if (changed)
        sy_info("dns: %s now resolves to %zu address%s (ttl %u s)", name, n, n == 1 ? "" : "es",
                ttl_s);
    return changed;
}

void sy_dns_failed(const char *name, const char *why, uint64_t now)
{
    pthread_mutex_lock(&lock);
    entry *e = find(name);
    size_t kept = 0;
    if (e) {
        e->in_flight = false;
        e->due = now + SY_DNS_RETRY_MS;
        kept = e->n;
    }
    pthread_mutex_unlock(&lock);
    sy_warn("dns: resolving %s failed (%s); keeping %zu last good address%s", name, why, kept,
            kept == 1 ? "" : "es");
}

/* ---- wire format (RFC 1035 §4) ---- */

size_t sy_dns_encode_query(uint16_t id, const char *name, uint16_t qtype, unsigned char *buf,
                           size_t cap)
{
    size_t nl = strlen(name);
    if (nl && name[nl - 1] == '.')
        nl--;
    if (nl == 0 || nl > 253 || cap < 12 + nl + 2 + 4)
        return 0;
    memset(buf, 0, 12);
    buf[0] = (unsigned char)(id >> 8);
    buf[1] = (unsigned char)id;
    buf[2] = 0x01; /* RD */
    buf[5] = 1;    /* QDCOUNT */
    size_t o = 12, start = 0;
    for (size_t i = 0; i <= nl; i++) {
        if (i == nl || name[i] == '.') {
            size_t l = i - start;
            if (l == 0 || l > 63)
                return 0;
            buf[o++] = (unsigned char)l;
            memcpy(buf + o, name + start, l);
            o += l;
            start = i + 1;
        }
    }
    buf[o++] = 0;
    buf[o++] = (unsigned char)(qtype >> 8);
    buf[o++] = (unsigned char)qtype;
    buf[o++] = 0;
    buf[o++] = 1; /* IN */
    return o;
}

/* Skip a (possibly compressed) name; returns the offset after it or 0. */
static size_t skip_name(const unsigned char *m, size_t len, size_t o)
{
    for (int guard = 0; guard < 128; guard++) {
        if (o >= len)
            return 0;
        unsigned l = m[o];
        if (l == 0)
            return o + 1;
        if ((l & 0xc0) == 0xc0)
            return o + 2 <= len ? o + 2 : 0;
        if (l & 0xc0)
            return 0;
        o += 1 + l;
    }
    return 0;
}

int sy_dns_parse_response(const unsigned char *m, size_t len, uint16_t id, sy_dns_addr *addrs,
                          size_t *n, size_t max, uint32_t *ttl)
{
    if (len < 12)
        return -1;
    if (((unsigned)m[0] << 8 | m[1]) != id || !(m[2] & 0x80))
        return -1; /* not our answer */
    int rcode = m[3] & 0x0f;
    unsigned qd = (unsigned)m[4] << 8 | m[5], an = (unsigned)m[6] << 8 | m[7];
    size_t o = 12;
    for (unsigned i = 0; i < qd; i++) {
        o = skip_name(m, len, o);
        if (!o || o + 4 > len)
            return -1;
        o += 4;
    }
    for (unsigned i = 0; i < an; i++) {
        o = skip_name(m, len, o);
        if (!o || o + 10 > len)
            return -1;
        unsigned type = (unsigned)m[o] << 8 | m[o + 1];
        unsigned cls = (unsigned)m[o + 2] << 8 | m[o + 3];
        uint32_t t = (uint32_t)m[o + 4] << 24 | (uint32_t)m[o + 5] << 16 | (uint32_t)m[o + 6] << 8 |
                     m[o + 7];
        size_t rdl = (size_t)m[o + 8] << 8 | m[o + 9];
        o += 10;
        if (o + rdl > len)
            return -1;
        if (cls == 1 && ((type == 1 && rdl == 4) || (type == 28 && rdl == 16)) && *n < max) {
            sy_dns_addr *a = &addrs[(*n)++];
            memset(a, 0, sizeof *a);
            a->family = type == 1 ? AF_INET : AF_INET6;
            memcpy(a->a, m + o, rdl);
            if (t < *ttl)
                *ttl = t;
        }
        o += rdl;
    }
    return rcode;
}

size_t sy_dns_resolv_conf(const char *path, struct sockaddr_storage *out, socklen_t *lens,
                          size_t max)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[512];
    size_t k = 0;
    while (k < max && fgets(line, sizeof line, f)) {
        char ip[128];
        if (sscanf(line, " nameserver %127s", ip) != 1)
            continue;
        memset(&out[k], 0, sizeof out[k]);
        struct sockaddr_in *s4 = (struct sockaddr_in *)&out[k];
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out[k];
        if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
            s4->sin_family = AF_INET;
            s4->sin_port = htons(53);
            lens[k++] = sizeof *s4;
        } else if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
            s6->sin6_family = AF_INET6;
            s6->sin6_port = htons(53);
            lens[k++] = sizeof *s6;
        }
    }
    fclose(f);
    return k;
}
