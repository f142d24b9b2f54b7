/* libFuzzer target: admin API bodies (src/admin/, src/config/).  Bodies go
 * to sy_admin_handle, the function the admin server calls once a request
 * is fully read, so routing, authentication-free dispatch, the JSON edit,
 * the loader and validator, compile, store and publish all run as for a
 * real POST/PUT/PATCH/DELETE -- without sockets or threads.  The store is
 * in memory and publishing swaps sy_snapshot_current.
 *
 * Input: up to 8 calls separated by the two bytes "\0\0"; each call is one
 * byte choosing method and path (calls[] below) and the body.  Every input
 * starts from the same running configuration (base_yaml).  FUZZ_TRACE=1
 * prints each call and the start of its reply.
 *
 * Invariants (abort = finding), after every call:
 *   - the status is one an admin call may answer (never 500: the store
 *     cannot fail here) and a JSON reply parses as JSON;
 *   - a refused write (>= 300) changed nothing: same running generation,
 *     nothing stored;
 *   - an acknowledged write stored exactly one document whose version is
 *     the running one + 1, which loads and compiles again (what
 *     `switchyard -t` checks of the stored file), and which is what now
 *     runs (its dump equals the running configuration's dump). */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin_int.h"
#include "config/dump.h"
#include "config/load.h"
#include "gen/manager.h"
#include "core/log.h"

static const char base_yaml[] =
    "Gateway:\n"
    "  Listen: [\"127.0.0.1:1\"]\n"
    "  AdminListen: \"off\"\n"
    "Upstreams:\n"
    "  - {UpstreamId: up-a, Nodes: [{Host: 127.0.0.1, Port: 1, Weight: 100}]}\n"
    "  - {UpstreamId: up-b, Algorithm: LEAST-CONN, Nodes: [{Host: 127.0.0.1, Port: 2, Weight: 5},"
    " {Host: 127.0.0.2, Port: 2, Weight: 0}]}\n"
    "Services:\n"
    "  - ServiceId: svc-a\n"
    "    Domains: [{DomainName: a.test, PathMappings: [{Path: /, Environment: release}]}]\n"
    "    Apis:\n"
    "      - {ApiId: api-a, Path: /a, Method: GET, ServiceType: HTTP, ServiceTimeout: 5,\n"
    "         ServiceConfig: {Product: upstream, UpstreamId: up-a, Path: /a}}\n"
    "      - {ApiId: api-m, Path: =/m, ServiceType: MOCK, ServiceMockReturnMessage: x}\n"
    "    Releases:\n"
    "      - ReleaseVersion: v1\n"
    "        EnvironmentName: release\n"
    "        Active: true\n"
    "        Apis:\n"
    "          - {ApiId: api-a, Path: /a, Method: GET, ServiceType: HTTP,\n"
    "             ServiceConfig: {Product: upstream, UpstreamId: up-a, Path: /a}}\n"
    "  - ServiceId: svc-b\n"
    "    Environments: [test]\n"
    "    Domains: [{DomainName: b.test}]\n"
    "    Apis:\n"
    "      - {ApiId: api-b, Path: \"/b/{id}\", ServiceType: HTTP,\n"
    "         ServiceConfig: {Url: \"http://127.0.0.1:1\", Path: \"/x/{id}\"}}\n"
    "Plugins:\n"
    "  - PluginId: plugin-a\n"
    "    PluginType: Routing\n"
    "    PluginData:\n"
    "      - {strategy_name: beta, strategy_weight: 10, condition: \"header.X-Beta = 'yes'\",\n"
    "         backend_type: UPSTREAM, backend_config: {ServiceConfig: {Product: upstream,\n"
    "         UpstreamId: up-b, Path: /}}}\n"
    "    Attachments: [{ServiceId: svc-a, EnvironmentName: release, ApiIds: [api-a]}]\n";

static const struct {
    const char *method, *path;
} calls[] = {
    {"POST", "/v1/upstreams"},
    {"PUT", "/v1/upstreams/up-a"},
    {"PATCH", "/v1/upstreams/up-a"},
    {"DELETE", "/v1/upstreams/up-b"},
    {"PATCH", "/v1/upstreams/up-b"},
    {"POST", "/v1/services"},
    {"PUT", "/v1/services/svc-a"},
    {"PATCH", "/v1/services/svc-b"},
    {"DELETE", "/v1/services/svc-b"},
    {"POST", "/v1/services/svc-a/apis"},
    {"PUT", "/v1/services/svc-a/apis/api-a"},
    {"PATCH", "/v1/services/svc-a/apis/api-m"},
    {"DELETE", "/v1/services/svc-a/apis/api-a"},
    {"POST", "/v1/services/svc-a/releases"},
    {"PUT", "/v1/services/svc-a/releases/release"},
    {"DELETE", "/v1/services/svc-a/releases/release"},
    {"POST", "/v1/plugins"},
    {"PUT", "/v1/plugins/plugin-a"},
    {"PATCH", "/v1/plugins/plugin-a"},
    {"DELETE", "/v1/plugins/plugin-a"},
    {"POST", "/v1/plugins/plugin-a/attachments"},
    {"DELETE", "/v1/plugins/plugin-a/attachments"},
    {"PUT", "/v1/config"},
    {"POST", "/v1/explain"},
    {"POST", "/v1/services/svc-b/releases"},
    {"PATCH", "/v1/services/svc-b/apis/api-b"},
};
#define N_CALLS (sizeof calls / sizeof calls[0])

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz invariant violated: %s\n", what);
        abort();
    }
}

/* ---- an in-memory store that remembers the last document ---- */

static struct {
    sy_store st;
    char *text;
    size_t len;
    uint64_t version;
    int saves;
} mem;

static char *mem_load(sy_store *st, size_t *len, sy_errors *errs)
{
    *len = mem.len;
    char *t = malloc(mem.len + 1);
    memcpy(t, mem.text, mem.len + 1);
    return t;
}

static int mem_save(sy_store *st, const char *text, size_t len, uint64_t version, char *err,
                    size_t errlen)
{
    free(mem.text);
    mem.text = malloc(len + 1);
    memcpy(mem.text, text, len);
    mem.text[len] = '\0';
    mem.len = len;
    mem.version = version;
    mem.saves++;
    return 0;
}

static void mem_destroy(sy_store *st) {}

static const sy_store_ops mem_ops = {
    .load = mem_load, .save = mem_save, .destroy = mem_destroy, /* no fleet: sync, commit NULL */
};

static void publish(sy_snapshot *s)
{
    sy_snapshot_unref(atomic_exchange(&sy_snapshot_current, s));
}

static sy_snapshot *base;

static void init(void)
{
    sy_log_min_level = getenv("FUZZ_LOG") ? SY_LOG_DEBUG : SY_LOG_ERROR + 1;
    sy_errors errs = {0};
    sy_config *cfg = sy_config_load_string(base_yaml, sizeof base_yaml - 1, "base.yaml", &errs);
    base = cfg ? sy_snapshot_build(cfg, 1, &errs) : NULL;
    if (!base) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.msgs[i]);
        abort();
    }
    sy_errors_free(&errs);
    mem.st.ops = &mem_ops;
    mem.st.name = "<memory>";
    sy_snapshot_ref(base); /* ours, so every input can start from it */
    atomic_store(&sy_snapshot_current, base);
    sy_cfgmgr_init(&mem.st, 1, publish);
}

static bool status_ok(int st)
{
    switch (st) {
    case 200:
    case 201:
    case 400:
    case 404:
    case 405:
    case 409:
    case 413:
        return true;
    }
    return false;
}

static char *dump_of(const sy_snapshot *s)
{
    return sy_config_dump_yaml_ex(s->cfg, SY_DUMP_SECRETS);
}

static void one_call(size_t which, const char *body, size_t len)
{
    sy_snapshot *before = sy_cfgmgr_current();
    sy_snapshot_ref(before);
    int saves = mem.saves;
    sy_admin_req rq = {.method = calls[which].method,
                       .path = {calls[which].path, strlen(calls[which].path)},
                       .body = body,
                       .body_len = len,
                       .snap = before};
    sy_admin_resp rs = {0};
    sy_admin_handle(&rq, &rs);
    if (getenv("FUZZ_TRACE"))
        fprintf(stderr, "%s %s (%zu bytes) -> %d %.*s\n", rq.method, calls[which].path, len,
                rs.status, (int)(rs.body.len < 300 ? rs.body.len : 300), rs.body.data);

    check(status_ok(rs.status), "unexpected status");
    if (rs.ctype && strcmp(rs.ctype, "application/json") == 0) {
        json_t *doc = json_loadb(rs.body.data, rs.body.len, 0, NULL);
        check(doc != NULL, "reply is not JSON");
        json_decref(doc);
    }
    sy_snapshot *after = sy_cfgmgr_current();
    bool is_write = strcmp(calls[which].path, "/v1/explain") != 0;
    if (!is_write || rs.status >= 300) {
        check(after == before, "a refused call changed the running configuration");
        check(mem.saves == saves, "a refused call stored a document");
    } else {
        check(mem.saves == saves + 1, "an acknowledged write stored no document (or two)");
        check(after != before && after->cfg->version == mem.version, "stored != running version");
        check(mem.version > before->cfg->version, "version did not grow");
        /* The stored file must pass `switchyard -t`: load and compile. */
        sy_errors errs = {0};
        sy_config *again = sy_config_load_string(mem.text, mem.len, "stored", &errs);
        if (!again)
            for (size_t i = 0; i < errs.n; i++)
                fprintf(stderr, "%s\n", errs.msgs[i]);
        check(again != NULL, "the stored document does not load");
        sy_snapshot *s = sy_snapshot_build(again, 1, &errs);
        check(s != NULL, "the stored document does not compile");
        char *a = dump_of(s), *b = dump_of(after);
        check(strcmp(a, b) == 0, "running configuration != stored document");
        free(a);
        free(b);
        sy_snapshot_unref(s);
        sy_errors_free(&errs);
    }
    sy_snapshot_unref(before);
    sy_buf_free(&rs.body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!base)
        init();
    if (sy_cfgmgr_current() != base) {
        sy_snapshot_ref(base);
        publish(base);
    }
    const char *p = (const char *)data, *end = p + size;
    for (int n = 0; n < 8 && p < end; n++) {
        const char *sep = memmem(p, (size_t)(end - p), "\0\0", 2);
        const char *stop = sep ? sep : end;
        if (stop == p) { /* an empty call */
            p += 2;
            continue;
        }
        size_t which = (unsigned char)*p % N_CALLS;
        /* A copy of exactly the body's size, so ASan sees any over-read. */
        size_t len = (size_t)(stop - p - 1);
        char *body = malloc(len ? len : 1);
        memcpy(body, p + 1, len);
        one_call(which, body, len);
        free(body);
        p = sep ? sep + 2 : end;
    }
    return 0;
}
