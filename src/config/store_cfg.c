/* Gateway.ConfigStore: where the configuration lives.
 *
 *   ConfigStore: {Type: file}                        the -c file (default)
 *   ConfigStore: {Type: etcd, Endpoints: [http://127.0.0.1:2379], Prefix: /switchyard,
 *                 DialTimeout: 2, RequestTimeout: 5, Username/Password or
 *                 CaFile/CertFile/KeyFile, CacheFile: /var/lib/switchyard/cache.json,
 *                 LeaseTTL: 10}
 *
 * With etcd the -c file keeps only this gateway's own Gateway section; the
 * objects (upstreams, services, plugins) live under Prefix (doc/fleet.md),
 * so a file that also lists objects is refused rather than silently
 * shadowed by the store. */
#include <string.h>

#include "config/fields.h"

static const char *const store_keys[] = {
    "Type",   "Endpoints", "Prefix",  "DialTimeout", "RequestTimeout", "Username", "Password",
    "CaFile", "CertFile",  "KeyFile", "CacheFile",   "LeaseTTL",       NULL};
static const char *const store_types[] = {"file", "etcd", NULL};

void sy_store_cfg_defaults(sy_store_cfg *st)
{
    memset(st, 0, sizeof *st);
    st->type = SY_STORE_FILE;
    st->dial_timeout_ms = 2000;
    st->request_timeout_ms = 5000;
    st->lease_ttl_s = 10;
}

/* An endpoint is a base URL the JSON gateway answers on: scheme, host,
 * port, nothing after it (a path would be joined with /v3/... wrongly). */
static const char *endpoint_problem(const char *s)
{
    const char *rest;
    if (strncmp(s, "http://", 7) == 0)
        rest = s + 7;
    else if (strncmp(s, "https://", 8) == 0)
        rest = s + 8;
    else
        return "must start with http:// or https://";
    if (!*rest || *rest == '/' || *rest == ':')
        return "needs a host";
    for (const char *p = rest; *p; p++) {
        if (*p == '/' && p[1] == '\0')
            return NULL; /* one trailing slash is harmless (stripped) */
        if (*p == '/' || *p == '?' || *p == '#' || *p == '@' || (unsigned char)*p <= ' ')
            return "must be scheme://host:port only";
    }
    return NULL;
}

static const char *prefix_problem(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || s[0] != '/')
        return "must start with /";
    if (n > 200)
        return "must be at most 200 characters";
    if (n > 1 && s[n - 1] == '/')
        return "must not end with /";
    if (n == 1)
        return "must not be / alone (the fleet needs a key range of its own)";
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
            return "must be printable ASCII without spaces";
    return NULL;
}

void sy_cfg_load_store(sy_cfg_ctx *c, const sy_ynode *gw_map)
{
    sy_store_cfg *st = &c->cfg->gw.store;
    const sy_fpath *path = SY_PATH_TOP("Gateway.ConfigStore");
    const sy_ynode *m = sy_ymap_get(gw_map, "ConfigStore");
    if (!m || !sy_cfg_map(c, m, path, store_keys))
        return;
    int type = SY_STORE_FILE;
    if (!sy_cfg_enum(c, m, path, "Type", SY_REQ, store_types, &type))
        return;
    st->type = type;
    if (type == SY_STORE_FILE) {
        for (const char *const *k = store_keys + 1; *k; k++)
            if (sy_ymap_get(m, *k))
                sy_cfg_err(c, sy_ymap_get(m, *k)->mark, SY_PATH_KEY(path, *k),
                           "only for Type: etcd");
        return;
    }
    const sy_fpath *ep = SY_PATH_KEY(path, "Endpoints");
    const sy_ynode *v = sy_cfg_get(c, m, path, "Endpoints", SY_REQ);
    if (v && sy_cfg_node_list(c, v, ep)) {
        if (v->n == 0)
            sy_cfg_err(c, v->mark, ep, "must list at least one etcd endpoint");
        st->endpoints = sy_arena_alloc(c->a, (v->n ? v->n : 1) * sizeof *st->endpoints);
        for (size_t i = 0; i < v->n; i++) {
            char *s;
            const sy_fpath *ip = SY_PATH_IDX(ep, i);
            if (!sy_cfg_node_str(c, v->items[i], ip, &s))
                continue;
            const char *why = endpoint_problem(s);
            if (why) {
                sy_cfg_err(c, v->items[i]->mark, ip, "%s", why);
                continue;
            }
            size_t n = strlen(s);
            if (s[n - 1] == '/')
                s[n - 1] = '\0';
            st->endpoints[st->n_endpoints++] = s;
        }
    }
    char *s;
    st->prefix = "/switchyard";
    if (sy_cfg_str(c, m, path, "Prefix", SY_OPT, &s)) {
        const char *why = prefix_problem(s);
        if (why)
            sy_cfg_err(c, sy_ymap_get(m, "Prefix")->mark, SY_PATH_KEY(path, "Prefix"), "%s", why);
        else
            st->prefix = s;
    }
    sy_cfg_seconds(c, m, path, "DialTimeout", SY_OPT, 0.05, 60, &st->dial_timeout_ms);
    sy_cfg_seconds(c, m, path, "RequestTimeout", SY_OPT, 0.1, 300, &st->request_timeout_ms);
    int64_t ttl;
    if (sy_cfg_int(c, m, path, "LeaseTTL", SY_OPT, 2, 3600, &ttl))
        st->lease_ttl_s = (uint32_t)ttl;
    sy_cfg_str(c, m, path, "Username", SY_OPT, &st->username);
    sy_cfg_str(c, m, path, "Password", SY_OPT, &st->password);
    if (!st->username != !st->password)
        sy_cfg_err(c, m->mark, path, "Username and Password go together");
    sy_cfg_str(c, m, path, "CaFile", SY_OPT, &st->ca_file);
    sy_cfg_str(c, m, path, "CertFile", SY_OPT, &st->cert_file);
    sy_cfg_str(c, m, path, "KeyFile", SY_OPT, &st->key_file);
    if (!st->cert_file != !st->key_file)
        sy_cfg_err(c, m->mark, path, "CertFile and KeyFile go together");
    bool tls = false;
    for (size_t i = 0; i < st->n_endpoints; i++)
        tls |= strncmp(st->endpoints[i], "https://", 8) == 0;
    if ((st->ca_file || st->cert_file) && !tls)
        sy_cfg_err(c, m->mark, path, "CaFile/CertFile need https:// Endpoints");
    if (sy_cfg_str(c, m, path, "CacheFile", SY_OPT, &st->cache_file) && !*st->cache_file)
        sy_cfg_err(c, sy_ymap_get(m, "CacheFile")->mark, SY_PATH_KEY(path, "CacheFile"),
                   "must not be empty");
}
