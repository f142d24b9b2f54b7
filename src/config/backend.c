/* Backend keys shared by an API (its default backend) and a routing policy
 * (backend_config): Tencent's CreateApi backend fields, the HTTP and MOCK
 * kinds only. */
#include <string.h>

#include "config/fields.h"

static const char *const service_config_keys[] = {"Url",       "Path",       "Method", "Product",
                                                  "UniqVpcId", "UpstreamId", NULL};
static const char *const products[] = {"upstream", "clb", "cvm", NULL};

/* Backend types that exist only inside Tencent Cloud. */
static const char *const cloud_only[] = {"SCF", "TSF",  "EB",        "TARGET",
                                         "COS", "GRPC", "WEBSOCKET", NULL};

static bool in_list(const char *s, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

static int service_type(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path, bool is_policy)
{
    const sy_fpath *p = SY_PATH_KEY(path, "ServiceType");
    char *s;
    if (!sy_cfg_str(c, map, path, "ServiceType", SY_OPT, &s))
        return -1;
    if (strcmp(s, "HTTP") == 0)
        return SY_BACKEND_HTTP;
    if (strcmp(s, "MOCK") == 0)
        return SY_BACKEND_MOCK;
    /* A policy's backend may repeat its backend_type here. */
    if (is_policy && (strcmp(s, "UPSTREAM") == 0 || strcmp(s, "VPC") == 0))
        return SY_BACKEND_HTTP;
    const sy_ynode *v = sy_ymap_get(map, "ServiceType");
    if (in_list(s, cloud_only))
        sy_cfg_err(c, v->mark, p, "%s is a cloud-only backend type, not supported", s);
    else
        sy_cfg_err(c, v->mark, p, "must be one of HTTP, MOCK");
    return -2;
}

static void load_service_config(sy_cfg_ctx *c, const sy_ynode *sc, const sy_fpath *path,
                                sy_backend_cfg *b)
{
    char *s;
    int idx;
    if (!sy_cfg_map(c, sc, path, service_config_keys))
        return;
    if (sy_cfg_str_shared(c, sc, path, "Path", SY_OPT, &s)) {
        if (s[0] != '/' || strpbrk(s, " \r\n\t"))
            sy_cfg_err(c, sy_ymap_get(sc, "Path")->mark, SY_PATH_KEY(path, "Path"),
                       "must start with / and contain no spaces");
        else
            b->path = s;
    }
    if (sy_cfg_enum(c, sc, path, "Method", SY_OPT, sy_cfg_methods, &idx)) {
        b->method = sy_cfg_shared(c, sy_cfg_methods[idx]);
        b->keep_method = strcmp(b->method, "ANY") == 0;
    }
    if (sy_cfg_enum(c, sc, path, "Product", SY_OPT, products, &idx))
        b->product = sy_cfg_shared(c, products[idx]);
    sy_cfg_str_shared(c, sc, path, "UniqVpcId", SY_OPT, &b->vpc_id);
    sy_cfg_str_shared(c, sc, path, "UpstreamId", SY_OPT, &b->upstream_id);
    sy_cfg_str_shared(c, sc, path, "Url", SY_OPT, &b->url);
}

/* HTTP: either an upstream (Product: upstream + UpstreamId; a Url is then
 * only Tencent's placeholder) or a Url naming the origin. */
static void check_http(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path, sy_backend_cfg *b)
{
    const sy_ynode *sc = sy_ymap_get(map, "ServiceConfig");
    const sy_fpath *sp = SY_PATH_KEY(path, "ServiceConfig");
    const char *why;
    if (!sc) {
        sy_cfg_err(c, map->mark, sp, "is required for an HTTP backend");
        return;
    }
    if (sc->kind != SY_YN_MAP)
        return; /* already reported */
    bool upstream = b->product && strcmp(b->product, "upstream") == 0;
    if (upstream) {
        const sy_ynode *v = sy_ymap_get(sc, "UpstreamId");
        const sy_fpath *up = SY_PATH_KEY(sp, "UpstreamId");
        if (!v)
            sy_cfg_err(c, sc->mark, up, "is required when Product is upstream");
        else if (b->upstream_id && !(b->upstream = sy_cfg_find_upstream(c->cfg, b->upstream_id)))
            sy_cfg_err(c, v->mark, up, "unknown upstream \"%s\"", b->upstream_id);
        return;
    }
    if (sy_ymap_get(sc, "UpstreamId")) {
        sy_cfg_err(c, sy_ymap_get(sc, "UpstreamId")->mark, SY_PATH_KEY(sp, "UpstreamId"),
                   "needs Product: upstream");
        return;
    }
    const sy_ynode *u = sy_ymap_get(sc, "Url");
    if (!u) {
        sy_cfg_err(c, sc->mark, SY_PATH_KEY(sp, "Url"),
                   "is required (or Product: upstream with UpstreamId)");
        return;
    }
    if (b->url && !sy_url_parse(c->a, b->url, &b->url_ep, &why))
        sy_cfg_err(c, u->mark, SY_PATH_KEY(sp, "Url"), "%s", why);
}

void sy_cfg_load_backend(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path,
                         sy_backend_cfg *b, bool is_policy, int forced_type)
{
    int64_t n;
    b->mark = map->mark;
    b->type = SY_BACKEND_HTTP;
    b->path = sy_cfg_shared(c, "/");
    b->method = sy_cfg_shared(c, "ANY");
    b->keep_method = true;
    b->timeout_ms = 15000;
    b->mock_status = 200;

    int t = service_type(c, map, path, is_policy);
    if (t == -2)
        return;
    if (is_policy && forced_type >= 0) {
        if (t >= 0 && t != forced_type) {
            sy_cfg_err(c, sy_ymap_get(map, "ServiceType")->mark, SY_PATH_KEY(path, "ServiceType"),
                       "does not match the policy's backend_type");
            return;
        }
        t = forced_type;
    }
    if (t >= 0)
        b->type = (enum sy_backend_type)t;
    sy_cfg_seconds(c, map, path, "ServiceTimeout", SY_OPT, 1, 1800, &b->timeout_ms);
    const sy_ynode *sc = sy_ymap_get(map, "ServiceConfig");
    if (sc)
        load_service_config(c, sc, SY_PATH_KEY(path, "ServiceConfig"), b);
    sy_cfg_str(c, map, path, "ServiceMockReturnMessage", SY_OPT, &b->mock_body);
    if (sy_cfg_int(c, map, path, "ServiceMockStatusCode", SY_OPT, 100, 599, &n)) {
        /* A 1xx is interim: the client would read the mock's final answer
         * as the next response (101 even says the protocol switched). */
        if (n < 200)
            sy_cfg_err(c, sy_ymap_get(map, "ServiceMockStatusCode")->mark,
                       SY_PATH_KEY(path, "ServiceMockStatusCode"),
                       "must be between 200 and 599 (a 1xx is not a final response)");
        else
            b->mock_status = (int)n;
    }
    if (b->type == SY_BACKEND_MOCK) {
        const sy_ynode *msg = sy_ymap_get(map, "ServiceMockReturnMessage");
        if (!msg)
            sy_cfg_err(c, map->mark, SY_PATH_KEY(path, "ServiceMockReturnMessage"),
                       "is required for a MOCK backend");
        else if ((b->mock_status == 204 || b->mock_status == 304) && b->mock_body && *b->mock_body)
            /* Such a response ends at its head; a body would be read by
             * the client as the next response. */
            sy_cfg_err(c, msg->mark, SY_PATH_KEY(path, "ServiceMockReturnMessage"),
                       "must be empty with ServiceMockStatusCode %d (that response has no body)",
                       b->mock_status);
        return;
    }
    check_http(c, map, path, b);
}
