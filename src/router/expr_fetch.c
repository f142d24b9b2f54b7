/* Reading parameters from a request view, and the value coercions the
 * comparisons use.  Everything here runs per request: no malloc, slices
 * into the request wherever possible, and a copy into the request's
 * scratch arena only when a query value really needs percent-decoding. */
#include "router/expr_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- scratch ---- */

/* Tools and tests may evaluate without a per-request arena.  They get a
 * per-thread one that is reset at the start of each evaluation; the proxy
 * always supplies rv->scratch, so this never grows in production. */
static __thread sy_arena fallback;
static __thread bool fallback_ready;

sy_arena *sy_expr_scratch(const sy_req_view *rv)
{
    if (rv->scratch)
        return rv->scratch;
    if (!fallback_ready) {
        sy_arena_init(&fallback, 4096);
        fallback_ready = true;
    }
    return &fallback;
}

void sy_expr_scratch_reset(const sy_req_view *rv)
{
    if (!rv->scratch && fallback_ready)
        sy_arena_reset(&fallback);
}

/* ---- query strings ---- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode one form-urlencoded byte at s[*i], advancing *i.  A '%' not
 * followed by two hex digits stays a literal '%', as browsers do. */
static unsigned char decode_at(sy_str s, size_t *i)
{
    unsigned char c = (unsigned char)s.p[*i];
    if (c == '+') {
        (*i)++;
        return ' ';
    }
    if (c == '%' && *i + 2 < s.len) {
        int h = hexval((unsigned char)s.p[*i + 1]);
        int l = hexval((unsigned char)s.p[*i + 2]);
        if (h >= 0 && l >= 0) {
            *i += 3;
            return (unsigned char)(h * 16 + l);
        }
    }
    (*i)++;
    return c;
}

static bool needs_decoding(sy_str s)
{
    return memchr(s.p, '%', s.len) || memchr(s.p, '+', s.len);
}

/* Does the raw (encoded) key decode to `want`?  Done byte by byte so the
 * lookup itself never allocates. */
static bool key_eq(sy_str raw, sy_str want)
{
    if (!needs_decoding(raw))
        return sy_str_eq(raw, want);
    size_t i = 0, j = 0;
    while (i < raw.len) {
        if (j >= want.len || decode_at(raw, &i) != (unsigned char)want.p[j])
            return false;
        j++;
    }
    return j == want.len;
}

static sy_str decode(const sy_req_view *rv, sy_str raw)
{
    if (!needs_decoding(raw))
        return raw;
    char *out = sy_arena_alloc(sy_expr_scratch(rv), raw.len + 1);
    size_t i = 0, n = 0;
    while (i < raw.len)
        out[n++] = (char)decode_at(raw, &i);
    return sy_str_make(out, n);
}

/* First occurrence wins, like most frameworks' `get()`.  `?a` (no '=')
 * is present with an empty value. */
static bool query_get(const sy_req_view *rv, sy_str name, sy_str *out)
{
    sy_str q = rv->query;
    size_t i = 0;
    while (q.p && i < q.len) {
        size_t j = i;
        while (j < q.len && q.p[j] != '&')
            j++;
        sy_str seg = sy_str_make(q.p + i, j - i);
        if (seg.len) {
            const char *eq = memchr(seg.p, '=', seg.len);
            sy_str key = eq ? sy_str_make(seg.p, (size_t)(eq - seg.p)) : seg;
            if (key_eq(key, name)) {
                sy_str raw = eq ? sy_str_make(eq + 1, seg.len - key.len - 1)
                                : sy_str_make(seg.p + seg.len, 0);
                *out = decode(rv, raw);
                return true;
            }
        }
        i = j + 1;
    }
    return false;
}

/* ---- cookies ---- */

/* `a=1; b="two"` (RFC 6265 cookie-string); every Cookie header line is
 * searched in order, first occurrence wins, names are case-sensitive. */
static bool cookie_get(const sy_req_view *rv, sy_str name, sy_str *out)
{
    for (size_t h = 0; h < rv->n_headers; h++) {
        if (!sy_str_ieq_c(rv->headers[h].name, "cookie"))
            continue;
        sy_str v = rv->headers[h].value;
        size_t i = 0;
        while (v.p && i < v.len) {
            size_t j = i;
            while (j < v.len && v.p[j] != ';')
                j++;
            sy_str pair = sy_str_trim(sy_str_make(v.p + i, j - i));
            const char *eq = pair.len ? memchr(pair.p, '=', pair.len) : NULL;
            if (eq) {
                sy_str k = sy_str_trim(sy_str_make(pair.p, (size_t)(eq - pair.p)));
                if (sy_str_eq(k, name)) {
                    sy_str val =
                        sy_str_trim(sy_str_make(eq + 1, pair.len - (size_t)(eq - pair.p) - 1));
                    if (val.len >= 2 && val.p[0] == '"' && val.p[val.len - 1] == '"')
                        val = sy_str_make(val.p + 1, val.len - 2);
                    *out = val;
                    return true;
                }
            }
            i = j + 1;
        }
    }
    return false;
}

/* ---- parameters ---- */

static bool nonempty(sy_str s, sy_str *out)
{
    if (!s.p || !s.len)
        return false;
    *out = s;
    return true;
}

bool sy_expr_fetch(const sy_expr_param *p, const sy_req_view *rv, sy_str *out)
{
    switch (p->loc) {
    case SY_LOC_HEADER:
        return sy_req_header(rv, p->name, out);
    case SY_LOC_QUERY:
        return query_get(rv, p->name, out);
    case SY_LOC_COOKIE:
        return cookie_get(rv, p->name, out);
    case SY_LOC_PATH:
        return nonempty(rv->path, out);
    case SY_LOC_CLIENT_IP:
        return nonempty(rv->client_ip, out);
    case SY_LOC_SCHEME:
        return nonempty(rv->scheme, out);
    case SY_LOC_UA:
        return sy_req_header(rv, SY_STR_LIT("User-Agent"), out);
    case SY_LOC_HOST:
        return nonempty(rv->host, out);
    case SY_LOC_METHOD:
        return nonempty(rv->method, out);
    }
    return false;
}

bool sy_expr_param_eq(const sy_expr_param *a, const sy_expr_param *b)
{
    if (a->loc != b->loc)
        return false;
    switch (a->loc) {
    case SY_LOC_HEADER:
        return sy_str_ieq(a->name, b->name);
    case SY_LOC_QUERY:
    case SY_LOC_COOKIE:
        return sy_str_eq(a->name, b->name);
    default:
        return true;
    }
}

void sy_expr_param_format(const sy_expr_param *p, char *buf, size_t buflen)
{
    static const char *const fixed[] = {
        [SY_LOC_PATH] = "path",
        [SY_LOC_CLIENT_IP] = "sysparam.clientIp",
        [SY_LOC_SCHEME] = "sysparam.httpScheme",
        [SY_LOC_UA] = "sysparam.clientUa",
        [SY_LOC_HOST] = "sysparam.host",
        [SY_LOC_METHOD] = "sysparam.method",
    };
    const char *loc = p->loc == SY_LOC_HEADER   ? "header"
                      : p->loc == SY_LOC_QUERY  ? "query"
                      : p->loc == SY_LOC_COOKIE ? "cookie"
                                                : NULL;
    if (loc)
        snprintf(buf, buflen, "%s.%.*s", loc, (int)p->name.len, p->name.p);
    else
        snprintf(buf, buflen, "%s", fixed[p->loc]);
}

/* ---- coercions ---- */

static bool digits(sy_str s, size_t *i)
{
    size_t st = *i;
    while (*i < s.len && s.p[*i] >= '0' && s.p[*i] <= '9')
        (*i)++;
    return *i > st;
}

bool sy_expr_parse_number(sy_str s, double *out)
{
    /* Validate the shape ourselves: strtod also takes "inf", "nan",
     * hex floats and leading spaces, none of which a header value that
     * "is a number" should be. */
    size_t i = 0;
    if (!s.p || s.len == 0 || s.len > 320)
        return false;
    if (s.p[i] == '+' || s.p[i] == '-')
        i++;
    bool intp = digits(s, &i);
    bool frac = false;
    if (i < s.len && s.p[i] == '.') {
        i++;
        frac = digits(s, &i);
    }
    if (!intp && !frac)
        return false;
    if (i < s.len && (s.p[i] == 'e' || s.p[i] == 'E')) {
        i++;
        if (i < s.len && (s.p[i] == '+' || s.p[i] == '-'))
            i++;
        if (!digits(s, &i))
            return false;
    }
    if (i != s.len)
        return false;
    char buf[328];
    memcpy(buf, s.p, s.len);
    buf[s.len] = '\0';
    *out = strtod(buf, NULL) + 0.0;
    return true;
}

bool sy_expr_parse_bool(sy_str s, bool *out)
{
    if (sy_str_ieq_c(s, "true")) {
        *out = true;
        return true;
    }
    if (sy_str_ieq_c(s, "false")) {
        *out = false;
        return true;
    }
    return false;
}

/* ---- addresses ---- */

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static bool parse_ip(sy_str s, int *family, uint8_t addr[16], bool *mapped)
{
    char buf[64];
    *mapped = false;
    if (!s.p || s.len == 0 || s.len >= sizeof(buf))
        return false;
    memcpy(buf, s.p, s.len);
    buf[s.len] = '\0';
    memset(addr, 0, 16);
    if (memchr(s.p, ':', s.len)) {
        if (inet_pton(AF_INET6, buf, addr) != 1)
            return false;
        if (memcmp(addr, v4mapped, 12) == 0) {
            memmove(addr, addr + 12, 4);
            memset(addr + 4, 0, 12);
            *family = AF_INET;
            *mapped = true;
        } else {
            *family = AF_INET6;
        }
        return true;
    }
    if (inet_pton(AF_INET, buf, addr) != 1)
        return false;
    *family = AF_INET;
    return true;
}

bool sy_expr_parse_ip(sy_str s, int *family, uint8_t addr[16])
{
    bool mapped;
    return parse_ip(s, family, addr, &mapped);
}

bool sy_expr_parse_net(sy_str s, sy_expr_net *n)
{
    const char *slash = s.p ? memchr(s.p, '/', s.len) : NULL;
    sy_str ip = slash ? sy_str_make(s.p, (size_t)(slash - s.p)) : s;
    bool mapped;
    if (!parse_ip(ip, &n->family, n->addr, &mapped))
        return false;
    int max = n->family == AF_INET ? 32 : 128;
    if (!slash) {
        n->prefix = max;
        return true;
    }
    sy_str ps = sy_str_make(slash + 1, s.len - ip.len - 1);
    uint64_t pl;
    if (ps.len == 0 || ps.len > 3 || sy_str_to_u64(ps, &pl) != 0)
        return false;
    if (mapped) {
        /* ::ffff:10.0.0.0/104 is 10.0.0.0/8; a shorter prefix would also
         * cover non-IPv4 space, which a v4 network cannot express. */
        if (pl < 96 || pl > 128)
            return false;
        pl -= 96;
    }
    if ((int)pl > max)
        return false;
    n->prefix = (int)pl;
    for (int b = n->prefix; b < 128; b++)
        n->addr[b / 8] &= (uint8_t) ~(0x80u >> (b % 8));
    return true;
}

bool sy_expr_net_contains(const sy_expr_net *n, int family, const uint8_t addr[16])
{
    if (family != n->family)
        return false;
    int full = n->prefix / 8, rem = n->prefix % 8;
    if (full && memcmp(addr, n->addr, (size_t)full) != 0)
        return false;
    if (rem) {
        uint8_t m = (uint8_t)(0xff00u >> rem);
        if ((addr[full] & m) != n->addr[full])
            return false;
    }
    return true;
}
