/* Tencent Cloud API Gateway's request and answer shapes (CreateApi,
 * CreateService, CreateUpstream, CreatePlugin bodies; the objects of
 * DescribeApi, DescribeService, DescribeUpstreams, DescribePlugins
 * answers) rewritten into Switchyard's object shape, as JSON.
 *
 * One mapping, used by the admin API (admin/res_tencent.c, before the
 * normal validation) and by `switchyard import tencent` (cli/import.c).
 * Every Tencent field of these objects is in a table (tencent.c) as one of:
 *
 *   ours      the same key in our model: kept (nested objects mapped too)
 *   mapped    moved to our key (RequestConfig.Path -> Path, K8sServices ->
 *             K8sService, OuterSubDomain -> Domains, ...)
 *   ignored   dropped: metadata or read-only state with no effect on
 *             traffic (CreatedTime, Tags of a service), or a value that is
 *             Tencent's no-op default (AuthType NONE, EnableCORS false);
 *             reported in `ignored` unless empty or the default
 *   refused   a feature Switchyard does not implement, with a value that
 *             would change behaviour (AuthType SECRET, an SCF backend,
 *             EnableCORS true): reported in `refused` with the reason,
 *             never silently dropped
 *
 * Field paths in the reports are `prefix` + the path inside the object. */
#ifndef SY_CONFIG_TENCENT_H
#define SY_CONFIG_TENCENT_H

#include <jansson.h>
#include <stdbool.h>

typedef enum { SY_TC_API, SY_TC_SERVICE, SY_TC_UPSTREAM, SY_TC_PLUGIN } sy_tc_kind;

typedef struct sy_tc_report {
    json_t *refused; /* [{field, reason}]: the object cannot be carried */
    json_t *ignored; /* [{field, reason}]: dropped, without effect here */
    /* Import: a key neither ours nor in Tencent's table is dropped and
     * reported as ignored ("unknown").  Admin: left for the validator,
     * which names it as an unknown key. */
    bool drop_unknown;
} sy_tc_report;

/* Both lists created empty; free with sy_tc_report_free. */
void sy_tc_report_init(sy_tc_report *r, bool drop_unknown);
void sy_tc_report_free(sy_tc_report *r);

/* Rewrite `obj` (a JSON object) in place.  For SY_TC_API, `service_id`
 * (may be NULL) is the service the API goes into: a ServiceId field
 * naming another one is refused.  Returns true when nothing was refused
 * (r->refused did not grow). */
bool sy_tc_map(sy_tc_kind kind, json_t *obj, const char *prefix, const char *service_id,
               sy_tc_report *r);

/* The Action a body may name for `kind` on `method` ("POST" -> CreateApi,
 * "PUT"/"PATCH" -> ModifyApi, ...), or NULL. */
const char *sy_tc_action(sy_tc_kind kind, const char *method);

#endif
