/* libFuzzer target: Tencent's object shapes mapped onto ours
 * (src/config/tencent.c), as the admin API and `switchyard import tencent`
 * run it, then loaded by the configuration loader.
 *
 * Input: 1 control byte + a JSON object.  Bits 0-1 pick the object kind
 * (API, service, upstream, plugin), bit 2 the import mode (unknown keys
 * dropped, nulls unset) instead of the admin one.
 *
 * Invariants (abort = finding):
 *   - every report entry is {field: string, reason: non-empty string};
 *   - the answer (true) agrees with whether anything was refused;
 *   - in import mode the mapped object holds no key the loader calls
 *     unknown at its top level (what import writes must load). */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/load.h"
#include "config/tencent.h"
#include "core/log.h"

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz invariant violated: %s\n", what);
        abort();
    }
}

static void check_list(const json_t *list)
{
    size_t i;
    json_t *p;
    check(json_is_array(list), "report list is an array");
    json_array_foreach(list, i, p)
    {
        const char *f = json_string_value(json_object_get(p, "field"));
        const char *r = json_string_value(json_object_get(p, "reason"));
        check(f && r && *r, "report entry has a field and a reason");
    }
}

/* Does a loader message say "unknown key" about a key of the object itself?
 * The shape is "<fuzz>:L:C: Upstreams[0].Key: unknown key": the path
 * follows the location, and the message ends right after it.  Messages
 * also echo user data (a bad PluginData string can hold ": unknown key"),
 * so only that exact shape counts. */
static bool top_unknown(const sy_errors *e, const char *scope, const json_t *obj)
{
    static const char tail[] = ": unknown key";
    size_t n = strlen(scope), tn = sizeof tail - 1;
    for (size_t i = 0; i < e->n; i++) {
        const char *m = e->msgs[i];
        if (strncmp(m, "<fuzz>:", 7) != 0)
            continue;
        m = strstr(m + 7, ": "); /* after "L:C" */
        if (!m || strncmp(m + 2, scope, n) != 0 || m[2 + n] != '.')
            continue;
        const char *key = m + 2 + n + 1;
        size_t len = strlen(key);
        if (len <= tn || strcmp(key + len - tn, tail) != 0)
            continue;
        /* A key of the object itself, and one it really holds (an echoed
         * value could end in the same words). */
        if (strcspn(key, ".[") >= len - tn && json_object_getn(obj, key, len - tn))
            return true;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sy_log_min_level = SY_LOG_ERROR + 1;
    if (size < 1)
        return 0;
    unsigned ctl = data[0];
    json_t *obj = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY, NULL);
    if (!json_is_object(obj)) {
        json_decref(obj);
        return 0;
    }
    static const char *const lists[] = {"Apis", "Services", "Upstreams", "Plugins"};
    sy_tc_kind kind = (sy_tc_kind)(ctl & 3);
    bool import = ctl & 4;
    sy_tc_report r;
    sy_tc_report_init(&r, import);
    bool ok = sy_tc_map(kind, obj, import ? "X" : "", kind == SY_TC_API ? "svc" : NULL, &r);
    check_list(r.refused);
    check_list(r.ignored);
    check(ok == (json_array_size(r.refused) == 0), "answer agrees with the refusals");
    if (ok && import) {
        /* The import drops these read-only keys itself before mapping. */
        json_object_del(obj, "ApiTotalCount");
        json_object_del(obj, "AttachedApis");
        json_object_del(obj, "AttachedApiTotalCount");
        json_t *doc;
        const char *scope;
        if (kind == SY_TC_API) {
            doc = json_pack("{s:[{s:s, s:[O]}]}", "Services", "ServiceId", "svc", "Apis", obj);
            scope = "Services[0].Apis[0]";
        } else {
            doc = json_pack("{s:[O]}", lists[kind], obj);
            scope = kind == SY_TC_SERVICE    ? "Services[0]"
                    : kind == SY_TC_UPSTREAM ? "Upstreams[0]"
                                             : "Plugins[0]";
        }
        sy_errors e = {0};
        sy_config *cfg = sy_config_load_json(doc, "<fuzz>", &e);
        check(cfg || !top_unknown(&e, scope, obj), "import leaves no unknown key at the top");
        if (cfg)
            sy_config_free(cfg);
        sy_errors_free(&e);
        json_decref(doc);
    }
    sy_tc_report_free(&r);
    json_decref(obj);
    return 0;
}
