/* See intern.h.  Two open-addressing sets of pointers, kept at most half
 * full, keyed by XXH3 of the contents. */
#include "config/intern.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

typedef struct pset {
    void **slots;
    size_t mask, used;
} pset;

struct sy_intern {
    sy_arena *a;
    pset strs, backends;
};

sy_intern *sy_intern_new(sy_arena *a)
{
    sy_intern *in = sy_calloc(1, sizeof *in);
    in->a = a;
    return in;
}

void sy_intern_free(sy_intern *in)
{
    if (!in)
        return;
    free(in->strs.slots);
    free(in->backends.slots);
    free(in);
}

typedef uint64_t hash_fn(const void *p);

static void grow(pset *s, hash_fn *h)
{
    size_t cap = s->mask ? 2 * (s->mask + 1) : 64;
    void **ns = sy_calloc(cap, sizeof *ns);
    for (size_t i = 0; s->mask && i <= s->mask; i++) {
        if (!s->slots[i])
            continue;
        size_t j = (size_t)h(s->slots[i]) & (cap - 1);
        while (ns[j])
            j = (j + 1) & (cap - 1);
        ns[j] = s->slots[i];
    }
    free(s->slots);
    s->slots = ns;
    s->mask = cap - 1;
}

static uint64_t hash_cstr(const void *p)
{
    return XXH3_64bits(p, strlen(p));
}

char *sy_intern_str(sy_intern *in, const char *s, size_t len)
{
    pset *ps = &in->strs;
    if (2 * (ps->used + 1) > ps->mask + 1)
        grow(ps, hash_cstr);
    size_t i = (size_t)XXH3_64bits(s, len) & ps->mask;
    for (char *o; (o = ps->slots[i]); i = (i + 1) & ps->mask)
        if (strncmp(o, s, len) == 0 && o[len] == '\0')
            return o;
    char *d = sy_arena_strndup(in->a, s, len);
    ps->slots[i] = d;
    ps->used++;
    return d;
}

static uint64_t mix(uint64_t h, const char *s)
{
    return XXH3_64bits_withSeed(s ? s : "", s ? strlen(s) + 1 : 0, h);
}

static uint64_t hash_backend(const void *p)
{
    const sy_backend_cfg *b = p;
    uint64_t h = (uint64_t)b->type * 31 + b->timeout_ms + (uint64_t)b->mock_status * 131 +
                 (uintptr_t)b->upstream;
    h = mix(h, b->url);
    h = mix(h, b->path);
    h = mix(h, b->method);
    h = mix(h, b->product);
    h = mix(h, b->vpc_id);
    h = mix(h, b->upstream_id);
    h = mix(h, b->mock_body);
    return mix(h, b->url_ep.host) + b->url_ep.port;
}

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static bool same_backend(const sy_backend_cfg *a, const sy_backend_cfg *b)
{
    return a->type == b->type && a->timeout_ms == b->timeout_ms &&
           a->keep_method == b->keep_method && a->mock_status == b->mock_status &&
           a->upstream == b->upstream && same_str(a->url, b->url) && same_str(a->path, b->path) &&
           same_str(a->method, b->method) && same_str(a->product, b->product) &&
           same_str(a->vpc_id, b->vpc_id) && same_str(a->upstream_id, b->upstream_id) &&
           same_str(a->mock_body, b->mock_body) && same_str(a->url_ep.host, b->url_ep.host) &&
           a->url_ep.port == b->url_ep.port && a->url_ep.addrlen == b->url_ep.addrlen &&
           memcmp(&a->url_ep.addr, &b->url_ep.addr, a->url_ep.addrlen) == 0;
}

sy_backend_cfg *sy_intern_backend(sy_intern *in, const sy_backend_cfg *b)
{
    pset *ps = &in->backends;
    if (2 * (ps->used + 1) > ps->mask + 1)
        grow(ps, hash_backend);
    size_t i = (size_t)hash_backend(b) & ps->mask;
    for (sy_backend_cfg *o; (o = ps->slots[i]); i = (i + 1) & ps->mask)
        if (same_backend(o, b))
            return o;
    sy_backend_cfg *d = sy_arena_alloc(in->a, sizeof *d);
    *d = *b;
    ps->slots[i] = d;
    ps->used++;
    return d;
}
