/* Tencent's object shapes onto ours: see tencent.h for the four ways a
 * field goes.  Field lists are Tencent's API 2018-08-08 (CreateApi,
 * CreateService, CreateUpstream, CreatePlugin and the ApiInfo, Service,
 * UpstreamInfo, Plugin objects of the Describe* answers). */
#include "config/tencent.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum tc_how {
    OURS,    /* our model has it: kept */
    OWN_ID,  /* the object's own id: kept, even "" (which our validation refuses) */
    META,    /* no effect on traffic: dropped, reported when not empty */
    UNSUP,   /* a feature we lack: fine only empty or one of `ok` */
    SPECIAL, /* handled by the object's own code below */
};

typedef struct tc_field {
    const char *key;
    enum tc_how how;
    const char *why;       /* META / UNSUP: the reason reported */
    const char *const *ok; /* UNSUP: no-op values besides empty ones */
} tc_field;

static const char READ_ONLY[] = "read-only state of Tencent's, nothing to carry";
static const char PLACEMENT[] = "cloud placement (cluster, instance, VPC, network type); "
                                "the gateway's Listen addresses decide where it answers";
static const char AUTH_ONLY[] = "applies only with AuthType OAUTH or EIAM, which are not supported";
static const char CLOUD_BACKEND[] = "applies only to SCF, TSF, COS, EB or TARGET backends, "
                                    "which are cloud-only and not supported";
static const char KEPT_NOT[] = "not kept by Switchyard (it has no effect on traffic)";
static const char DOC_ONLY[] = "response documentation; it does not change what is served";
static const char AUTH_NO[] = "authentication types other than NONE are not supported";

static const char *const ok_none[] = {"NONE", NULL};
static const char *const ok_normal[] = {"NORMAL", NULL};

#define END                                                                                        \
    {                                                                                              \
        NULL, OURS, NULL, NULL                                                                     \
    }

static const tc_field api_fields[] = {
    {"ApiId", OWN_ID, NULL, NULL},
    {"ApiName", OURS, NULL, NULL},
    {"ApiDesc", OURS, NULL, NULL},
    {"Path", OURS, NULL, NULL},
    {"Method", OURS, NULL, NULL},
    {"ServiceTimeout", OURS, NULL, NULL},
    {"ServiceConfig", SPECIAL, NULL, NULL},
    {"ServiceMockReturnMessage", OWN_ID, NULL, NULL},
    {"ServiceMockStatusCode", OURS, NULL, NULL},
    {"ServiceType", SPECIAL, NULL, NULL},
    {"Protocol", SPECIAL, NULL, NULL},
    {"RequestConfig", SPECIAL, NULL, NULL},
    {"ServiceId", SPECIAL, NULL, NULL},
    {"RequestParameters", SPECIAL, NULL, NULL},
    {"ServiceParameters", SPECIAL, NULL, NULL},
    {"ResponseErrorCodes", SPECIAL, NULL, NULL},
    {"AuthType", UNSUP, AUTH_NO, ok_none},
    {"EnableCORS", UNSUP,
     "CORS is not implemented (no preflight answers, no "
     "Access-Control-* headers); EnableCORS must be false",
     NULL},
    {"ApiType", UNSUP, "microservice (TSF) APIs are cloud-only and not supported", ok_normal},
    {"ConstantParameters", UNSUP,
     "constant parameters (values the gateway adds to the "
     "backend request) are not implemented",
     NULL},
    {"ApiBusinessType", META, AUTH_ONLY, NULL},
    {"AuthRelationApiId", META, AUTH_ONLY, NULL},
    {"OauthConfig", META, AUTH_ONLY, NULL},
    {"EIAMAppType", META, AUTH_ONLY, NULL},
    {"EIAMAuthType", META, AUTH_ONLY, NULL},
    {"EIAMAppId", META, AUTH_ONLY, NULL},
    {"TokenTimeout", META, AUTH_ONLY, NULL},
    {"TokenLocation", META, AUTH_ONLY, NULL},
    {"MicroServices", META, CLOUD_BACKEND, NULL},
    {"MicroServicesInfo", META, CLOUD_BACKEND, NULL},
    {"ServiceTsfLoadBalanceConf", META, CLOUD_BACKEND, NULL},
    {"ServiceTsfHealthCheckConf", META, CLOUD_BACKEND, NULL},
    {"TargetServices", META, CLOUD_BACKEND, NULL},
    {"TargetServicesLoadBalanceConf", META, CLOUD_BACKEND, NULL},
    {"TargetServicesHealthCheckConf", META, CLOUD_BACKEND, NULL},
    {"TargetNamespaceId", META, CLOUD_BACKEND, NULL},
    {"ServiceScfFunctionName", META, CLOUD_BACKEND, NULL},
    {"ServiceScfFunctionNamespace", META, CLOUD_BACKEND, NULL},
    {"ServiceScfFunctionQualifier", META, CLOUD_BACKEND, NULL},
    {"ServiceScfFunctionType", META, CLOUD_BACKEND, NULL},
    {"ServiceScfIsIntegratedResponse", META, CLOUD_BACKEND, NULL},
    {"ServiceScfEventIsAsyncCall", META, CLOUD_BACKEND, NULL},
    {"ServiceWebsocketRegisterFunctionName", META, CLOUD_BACKEND, NULL},
    {"ServiceWebsocketRegisterFunctionNamespace", META, CLOUD_BACKEND, NULL},
    {"ServiceWebsocketRegisterFunctionQualifier", META, CLOUD_BACKEND, NULL},
    {"ServiceWebsocketTransportFunctionName", META, CLOUD_BACKEND, NULL},
    {"ServiceWebsocketTransportFunctionNamespace", META, CLOUD_BACKEND, NULL},
    {"ServiceWebsocketTransportFunctionQualifier", META, CLOUD_BACKEND, NULL},
    {"ServiceWebsocketCleanupFunctionName", META, CLOUD_BACKEND, NULL},
    {"ServiceWebsocketCleanupFunctionNamespace", META, CLOUD_BACKEND, NULL},
    {"ServiceWebsocketCleanupFunctionQualifier", META, CLOUD_BACKEND, NULL},
    {"EventBusId", META, CLOUD_BACKEND, NULL},
    {"IsBase64Encoded", META, CLOUD_BACKEND, NULL},
    {"IsBase64Trigger", META, CLOUD_BACKEND, NULL},
    {"Base64EncodedTriggerRules", META, CLOUD_BACKEND, NULL},
    {"ResponseType", META, DOC_ONLY, NULL},
    {"ResponseSuccessExample", META, DOC_ONLY, NULL},
    {"ResponseFailExample", META, DOC_ONLY, NULL},
    {"IsDeleteResponseErrorCodes", META, DOC_ONLY, NULL},
    {"IsDebugAfterCharge", META, "a cloud-market billing switch", NULL},
    {"UserType", META, PLACEMENT, NULL},
    {"Owner", META, READ_ONLY, NULL},
    {"ServiceName", META, READ_ONLY, NULL},
    {"ServiceDesc", META, READ_ONLY, NULL},
    {"CreatedTime", META, READ_ONLY, NULL},
    {"ModifiedTime", META, READ_ONLY, NULL},
    {"InternalDomain", META, READ_ONLY, NULL},
    {"Environments", META, READ_ONLY, NULL},
    {"UniqVpcId", META, PLACEMENT, NULL},
    {"VpcId", META, PLACEMENT, NULL},
    {"RelationBuniessApiIds", META, AUTH_ONLY, NULL},
    {"Tags", META, "tags are not kept on APIs", NULL},
    END};

static const tc_field backend_fields[] = {{"Url", OURS, NULL, NULL},
                                          {"Path", OURS, NULL, NULL},
                                          {"Method", OURS, NULL, NULL},
                                          {"Product", OURS, NULL, NULL},
                                          {"UpstreamId", OURS, NULL, NULL},
                                          {"UniqVpcId", OURS, NULL, NULL},
                                          {"CosConfig", META, CLOUD_BACKEND, NULL},
                                          END};

static const tc_field service_fields[] = {
    {"ServiceId", OWN_ID, NULL, NULL},
    {"ServiceName", OURS, NULL, NULL},
    {"ServiceDesc", OURS, NULL, NULL},
    {"Protocol", SPECIAL, NULL, NULL},
    {"Environments", OURS, NULL, NULL},
    {"Domains", OURS, NULL, NULL},
    {"Apis", OURS, NULL, NULL},
    {"Releases", OURS, NULL, NULL},
    {"ApiTotalCount", OURS, NULL, NULL}, /* read-only: the admin API drops it */
    {"AvailableEnvironments", SPECIAL, NULL, NULL},
    {"OuterSubDomain", SPECIAL, NULL, NULL},
    {"UsagePlanList", UNSUP, "usage plans (secret keys and quotas) are not implemented", NULL},
    {"UsagePlanTotalCount", UNSUP, "usage plans (secret keys and quotas) are not implemented",
     NULL},
    {"ApiIdStatusSet", META,
     "API summaries without backends; APIs are taken from "
     "DescribeApi answers",
     NULL},
    {"InnerSubDomain", META, "Tencent's VPC-internal default domain", NULL},
    {"InternalSubDomain", META, "Tencent's VPC-internal default domain", NULL},
    {"InnerHttpPort", META, PLACEMENT, NULL},
    {"InnerHttpsPort", META, PLACEMENT, NULL},
    {"NetTypes", META, PLACEMENT, NULL},
    {"IpVersion", META, PLACEMENT, NULL},
    {"ExclusiveSetName", META, PLACEMENT, NULL},
    {"InstanceId", META, PLACEMENT, NULL},
    {"InstanceName", META, PLACEMENT, NULL},
    {"SetServerName", META, PLACEMENT, NULL},
    {"AppIdType", META, PLACEMENT, NULL},
    {"UniqVpcId", META, PLACEMENT, NULL},
    {"SetId", META, PLACEMENT, NULL},
    {"SetType", META, PLACEMENT, NULL},
    {"DeploymentType", META, PLACEMENT, NULL},
    {"UserType", META, PLACEMENT, NULL},
    {"TradeIsolateStatus", META, READ_ONLY, NULL},
    {"CreatedTime", META, READ_ONLY, NULL},
    {"ModifiedTime", META, READ_ONLY, NULL},
    {"Tags", META, "tags are not kept on services", NULL},
    END};

static const tc_field upstream_fields[] = {{"UpstreamId", OWN_ID, NULL, NULL},
                                           {"UpstreamName", OURS, NULL, NULL},
                                           {"UpstreamDescription", META, KEPT_NOT, NULL},
                                           {"UniqVpcId", META, PLACEMENT, NULL},
                                           {"UpstreamType", OURS, NULL, NULL},
                                           {"Algorithm", OURS, NULL, NULL},
                                           {"Retries", OURS, NULL, NULL},
                                           {"UpstreamHost", OURS, NULL, NULL},
                                           {"Tags", META, KEPT_NOT, NULL},
                                           {"HashKey", OURS, NULL, NULL},
                                           {"TlsVerify", OURS, NULL, NULL},
                                           {"CaFile", OURS, NULL, NULL},
                                           {"MaxConnectionsPerNode", OURS, NULL, NULL},
                                           {"MaxQueuePerNode", OURS, NULL, NULL},
                                           {"QueueTimeout", OURS, NULL, NULL},
                                           {"MaxIdleConnectionsPerNode", OURS, NULL, NULL},
                                           {"KeepaliveTimeout", OURS, NULL, NULL},
                                           {"Scheme", SPECIAL, NULL, NULL},
                                           {"Nodes", SPECIAL, NULL, NULL},
                                           {"HealthChecker", SPECIAL, NULL, NULL},
                                           {"K8sService", SPECIAL, NULL, NULL},
                                           {"K8sServices", SPECIAL, NULL, NULL},
                                           {"CreatedTime", META, READ_ONLY, NULL},
                                           END};

static const tc_field node_fields[] = {{"Host", OURS, NULL, NULL},
                                       {"Port", OURS, NULL, NULL},
                                       {"Weight", OURS, NULL, NULL},
                                       {"VmInstanceId", META, KEPT_NOT, NULL},
                                       {"Tags", META, KEPT_NOT, NULL},
                                       {"Healthy", META, READ_ONLY, NULL},
                                       {"ServiceName", META, READ_ONLY, NULL},
                                       {"NameSpace", META, READ_ONLY, NULL},
                                       {"ClusterId", META, READ_ONLY, NULL},
                                       {"Source", META, READ_ONLY, NULL},
                                       {"UniqueServiceName", META, READ_ONLY, NULL},
                                       END};

static const tc_field health_fields[] = {{"EnableActiveCheck", OURS, NULL, NULL},
                                         {"EnablePassiveCheck", OURS, NULL, NULL},
                                         {"HealthyHttpStatus", OURS, NULL, NULL},
                                         {"UnhealthyHttpStatus", OURS, NULL, NULL},
                                         {"TcpFailureThreshold", OURS, NULL, NULL},
                                         {"TimeoutThreshold", OURS, NULL, NULL},
                                         {"HttpFailureThreshold", OURS, NULL, NULL},
                                         {"ActiveCheckHttpPath", OURS, NULL, NULL},
                                         {"ActiveCheckTimeout", OURS, NULL, NULL},
                                         {"ActiveCheckInterval", OURS, NULL, NULL},
                                         {"UnhealthyTimeout", OURS, NULL, NULL},
                                         {"ActiveRequestHeader", SPECIAL, NULL, NULL},
                                         END};

static const tc_field k8s_fields[] = {
    {"Weight", OURS, NULL, NULL},    {"ClusterId", OURS, NULL, NULL},
    {"Namespace", OURS, NULL, NULL}, {"ServiceName", OURS, NULL, NULL},
    {"Port", OURS, NULL, NULL},      {"ExtraLabels", OURS, NULL, NULL},
    {"Name", OURS, NULL, NULL},      END};

static const tc_field plugin_fields[] = {
    {"PluginId", OWN_ID, NULL, NULL},
    {"PluginName", OURS, NULL, NULL},
    {"PluginData", OURS, NULL, NULL},
    {"Description", OURS, NULL, NULL},
    {"Attachments", OURS, NULL, NULL},
    /* read-only: the admin API drops them, the import turns them into
     * Attachments first */
    {"AttachedApis", OURS, NULL, NULL},
    {"AttachedApiTotalCount", OURS, NULL, NULL},
    {"PluginType", SPECIAL, NULL, NULL},
    {"CreatedTime", META, READ_ONLY, NULL},
    {"ModifiedTime", META, READ_ONLY, NULL},
    {"Tags", META, "tags are not kept on plugins", NULL},
    END};

/* ---- reports ---- */

void sy_tc_report_init(sy_tc_report *r, bool drop_unknown)
{
    r->refused = json_array();
    r->ignored = json_array();
    r->drop_unknown = drop_unknown;
}

void sy_tc_report_free(sy_tc_report *r)
{
    json_decref(r->refused);
    json_decref(r->ignored);
    r->refused = r->ignored = NULL;
}

static void note(json_t *list, const char *prefix, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void note(json_t *list, const char *prefix, const char *key, const char *fmt, ...)
{
    char field[512], reason[600];
    snprintf(field, sizeof field, "%s%s%s", prefix, *prefix && key[0] != '[' ? "." : "", key);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    json_array_append_new(list, json_pack("{s:s, s:s}", "field", field, "reason", reason));
}

/* Tencent answers null, "", [], {}, false or 0 for a feature not in use. */
static bool is_empty(const json_t *v)
{
    return !v || json_is_null(v) || json_is_false(v) ||
           (json_is_string(v) && !*json_string_value(v)) ||
           (json_is_array(v) && !json_array_size(v)) ||
           (json_is_object(v) && !json_object_size(v)) ||
           (json_is_integer(v) && !json_integer_value(v));
}

static bool one_of(const json_t *v, const char *const *ok)
{
    for (size_t i = 0; ok && ok[i]; i++)
        if (json_is_string(v) && strcasecmp(json_string_value(v), ok[i]) == 0)
            return true;
    return false;
}

static const tc_field *field_of(const tc_field *t, const char *key)
{
    for (; t->key; t++)
        if (strcmp(t->key, key) == 0)
            return t;
    return NULL;
}

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* The table pass over one object: OURS and SPECIAL stay, the rest go. */
static void pass(const tc_field *t, json_t *obj, const char *prefix, sy_tc_report *r)
{
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(obj, tmp, k, v)
    {
        const tc_field *f = field_of(t, k);
        if (!f) {
            if (r->drop_unknown) {
                if (!is_empty(v))
                    note(r->ignored, prefix, k, "not a field Switchyard or this import knows");
                json_object_del(obj, k);
            }
            continue;
        }
        /* Tencent answers "" for a value not set, and null for one it
         * cannot give: both mean absent.  A PATCH body's null removes a
         * field, so on the admin API nulls of our fields stay; an empty
         * own id or mock message stays for the validator. */
        bool unset = (json_is_string(v) && !*json_string_value(v) && f->how != OWN_ID) ||
                     (json_is_null(v) && r->drop_unknown);
        if ((f->how == OURS || f->how == OWN_ID || f->how == SPECIAL) && unset) {
            json_object_del(obj, k);
            continue;
        }
        if (f->how == OURS || f->how == OWN_ID || f->how == SPECIAL)
            continue;
        if (f->how == UNSUP && !is_empty(v) && !one_of(v, f->ok))
            note(r->refused, prefix, k, "%s", f->why);
        else if (f->how == META && !is_empty(v))
            note(r->ignored, prefix, k, "%s", f->why);
        json_object_del(obj, k);
    }
}

static void sub_path(char *out, size_t cap, const char *prefix, const char *key, size_t i,
                     bool indexed)
{
    if (indexed)
        snprintf(out, cap, "%s%s%s[%zu]", prefix, *prefix ? "." : "", key, i);
    else
        snprintf(out, cap, "%s%s%s", prefix, *prefix ? "." : "", key);
}

/* ---- APIs ---- */

static bool is_path_param(const json_t *p)
{
    const char *pos = str(p, "Position");
    return pos && strcasecmp(pos, "PATH") == 0;
}

/* RequestParameters declare the frontend's parameters.  A declaration
 * that only documents (a path variable, or an optional parameter without
 * a default) changes nothing here; a required one or a DefaultValue would
 * be checked or filled in by Tencent, which Switchyard does not do. */
static void request_params(json_t *api, const char *prefix, sy_tc_report *r)
{
    json_t *list = json_object_get(api, "RequestParameters");
    size_t i;
    json_t *p;
    bool documented = false;
    json_array_foreach(list, i, p)
    {
        char at[64];
        snprintf(at, sizeof at, "RequestParameters[%zu]", i);
        if (is_path_param(p))
            continue;
        if (json_is_true(json_object_get(p, "Required")))
            note(r->refused, prefix, at,
                 "a required %s parameter is checked by Tencent; "
                 "Switchyard does not check required parameters",
                 str(p, "Position") ? str(p, "Position") : "");
        else if (!is_empty(json_object_get(p, "DefaultValue")))
            note(r->refused, prefix, at,
                 "parameter default values are not filled in by "
                 "Switchyard");
        else
            documented = true;
    }
    if (documented)
        note(r->ignored, prefix, "RequestParameters",
             "optional parameter declarations are "
             "documentation here: requests are passed on with all their parameters");
    if (json_is_array(list) || json_is_null(list))
        json_object_del(api, "RequestParameters");
    else if (list)
        note(r->refused, prefix, "RequestParameters", "must be a list");
}

/* ServiceParameters map frontend parameters onto backend ones.  Tencent's
 * console writes one per request parameter with the same name and
 * position, which is what passing the request on does anyway. */
static void service_params(json_t *api, const char *prefix, sy_tc_report *r)
{
    json_t *list = json_object_get(api, "ServiceParameters");
    size_t i;
    json_t *p;
    json_array_foreach(list, i, p)
    {
        const char *n = str(p, "Name"), *rn = str(p, "RelevantRequestParameterName");
        const char *pos = str(p, "Position"), *rpos = str(p, "RelevantRequestParameterPosition");
        bool same = n && rn && strcmp(n, rn) == 0 && pos && rpos && strcasecmp(pos, rpos) == 0 &&
                    is_empty(json_object_get(p, "DefaultValue"));
        if (!same) {
            char at[64];
            snprintf(at, sizeof at, "ServiceParameters[%zu]", i);
            note(r->refused, prefix, at,
                 "backend parameter mapping (renaming or moving a "
                 "parameter, or a default value) is not implemented");
        }
    }
    if (list && !json_is_array(list) && !is_empty(list))
        note(r->refused, prefix, "ServiceParameters", "must be a list");
    json_object_del(api, "ServiceParameters");
}

static void error_codes(json_t *api, const char *prefix, sy_tc_report *r)
{
    json_t *list = json_object_get(api, "ResponseErrorCodes");
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        if (json_is_true(json_object_get(e, "NeedConvert"))) {
            char at[64];
            snprintf(at, sizeof at, "ResponseErrorCodes[%zu].NeedConvert", i);
            note(r->refused, prefix, at, "converting backend error codes is not implemented");
        }
    }
    if (!is_empty(list))
        note(r->ignored, prefix, "ResponseErrorCodes", "%s", DOC_ONLY);
    json_object_del(api, "ResponseErrorCodes");
}

/* RequestConfig {Path, Method} is CreateApi's frontend: our Path and
 * Method.  ApiInfo repeats them at the top; both must agree. */
static void request_config(json_t *api, const char *prefix, sy_tc_report *r)
{
    json_t *rc = json_object_get(api, "RequestConfig");
    if (!rc || json_is_null(rc)) {
        json_object_del(api, "RequestConfig");
        return;
    }
    if (!json_is_object(rc)) {
        note(r->refused, prefix, "RequestConfig", "must be an object {Path, Method}");
        return;
    }
    static const char *const keys[] = {"Path", "Method"};
    for (size_t i = 0; i < 2; i++) {
        json_t *v = json_object_get(rc, keys[i]), *top = json_object_get(api, keys[i]);
        if (!v || json_is_null(v))
            continue;
        char at[32];
        snprintf(at, sizeof at, "RequestConfig.%s", keys[i]);
        if (top && !json_equal(top, v))
            note(r->refused, prefix, at, "differs from %s given beside it", keys[i]);
        else
            json_object_set(api, keys[i], v);
    }
    const char *k;
    json_t *v;
    json_object_foreach(rc, k, v)
    {
        if (strcmp(k, "Path") != 0 && strcmp(k, "Method") != 0 && !is_empty(v)) {
            char at[300];
            snprintf(at, sizeof at, "RequestConfig.%s", k);
            note(r->refused, prefix, at, "not a RequestConfig field (Path, Method)");
        }
    }
    json_object_del(api, "RequestConfig");
}

static void api_protocol(json_t *api, const char *prefix, sy_tc_report *r)
{
    json_t *v = json_object_get(api, "Protocol");
    const char *p = json_string_value(v);
    if (!v || json_is_null(v) || (p && strcasecmp(p, "HTTP") == 0)) {
        json_object_del(api, "Protocol");
        return;
    }
    if (p && (strcasecmp(p, "HTTPS") == 0 || strcasecmp(p, "HTTP&HTTPS") == 0)) {
        note(r->ignored, prefix, "Protocol",
             "the schemes an API answers on are chosen per "
             "domain here (Domains[].Protocol, IsForcedHttps)");
        json_object_del(api, "Protocol");
    } else if (p && strcasecmp(p, "WEBSOCKET") == 0) {
        note(r->refused, prefix, "Protocol",
             "WebSocket APIs (ws:// backends, SCF WebSocket "
             "functions) are not supported; an HTTP API passes WebSocket upgrades through");
    } else {
        note(r->refused, prefix, "Protocol", "must be HTTP (or WEBSOCKET, not supported)");
    }
}

static void api_service_type(json_t *api, const char *prefix, sy_tc_report *r)
{
    json_t *v = json_object_get(api, "ServiceType");
    const char *t = json_string_value(v);
    if (!t)
        return; /* absent: our default; not a string: the validator says so */
    /* An upstream or VPC backend is an HTTP one whose ServiceConfig names it. */
    if (strcmp(t, "UPSTREAM") == 0 || strcmp(t, "VPC") == 0)
        json_object_set_new(api, "ServiceType", json_string("HTTP"));
    else if (strcmp(t, "HTTP") != 0 && strcmp(t, "MOCK") != 0)
        note(r->refused, prefix, "ServiceType",
             "%s backends are %s; Switchyard serves HTTP "
             "and MOCK backends",
             t,
             strcmp(t, "WEBSOCKET") == 0 || strcmp(t, "GRPC") == 0 ? "not supported"
                                                                   : "cloud-only, not supported");
}

static void map_api(json_t *api, const char *prefix, const char *service_id, sy_tc_report *r)
{
    pass(api_fields, api, prefix, r);
    const char *sid = str(api, "ServiceId");
    if (sid && service_id && strcmp(sid, service_id) != 0)
        note(r->refused, prefix, "ServiceId", "names service \"%s\", not \"%s\" of the path", sid,
             service_id);
    json_object_del(api, "ServiceId");
    request_config(api, prefix, r);
    api_protocol(api, prefix, r);
    api_service_type(api, prefix, r);
    request_params(api, prefix, r);
    service_params(api, prefix, r);
    error_codes(api, prefix, r);
    json_t *sc = json_object_get(api, "ServiceConfig");
    if (json_is_object(sc)) {
        char p[600];
        sub_path(p, sizeof p, prefix, "ServiceConfig", 0, false);
        pass(backend_fields, sc, p, r);
    }
    /* A MOCK API's ServiceConfig is Tencent's empty placeholder, and an
     * HTTP API's empty mock message is nothing. */
    const char *t = str(api, "ServiceType");
    const char *mock = str(api, "ServiceMockReturnMessage");
    if (t && strcmp(t, "MOCK") != 0 && mock && !*mock)
        json_object_del(api, "ServiceMockReturnMessage");
    if (t && strcmp(t, "MOCK") == 0 && json_is_object(sc) && !str(sc, "Url") &&
        !str(sc, "UpstreamId"))
        json_object_del(api, "ServiceConfig");
}

/* ---- services ---- */

static void map_service(json_t *svc, const char *prefix, sy_tc_report *r)
{
    pass(service_fields, svc, prefix, r);
    json_t *avail = json_object_get(svc, "AvailableEnvironments");
    if (json_is_array(avail) && !json_object_get(svc, "Environments"))
        json_object_set(svc, "Environments", avail);
    else if (avail && !json_is_array(avail) && !is_empty(avail))
        note(r->refused, prefix, "AvailableEnvironments", "must be a list");
    json_object_del(svc, "AvailableEnvironments");
    /* Tencent's default domain (service-xxx-appid.region.apigateway...)
     * reaches environments by the first path segment, as a domain without
     * PathMappings does here; its schemes are the service's Protocol. */
    const char *outer = str(svc, "OuterSubDomain");
    const char *proto = str(svc, "Protocol");
    bool known = proto && (strcmp(proto, "http") == 0 || strcmp(proto, "https") == 0 ||
                           strcmp(proto, "http&https") == 0);
    if (outer && *outer && !json_object_get(svc, "Domains")) {
        json_t *d = json_pack("{s:s}", "DomainName", outer);
        if (known)
            json_object_set_new(d, "Protocol", json_string(proto));
        json_object_set_new(svc, "Domains", json_pack("[o]", d));
    } else if (proto && *proto && strcmp(proto, "http&https") != 0) {
        /* Our schemes are per domain; both is what a domain defaults to. */
        note(r->ignored, prefix, "Protocol",
             "the schemes a service answers on are set per "
             "domain here (Domains[].Protocol)");
    }
    json_object_del(svc, "Protocol");
    json_object_del(svc, "OuterSubDomain");
}

/* ---- upstreams ---- */

/* [{Key, Value}] (or {Name, Value}) as our mapping Name: value. */
static void probe_headers(json_t *hc, const char *prefix, sy_tc_report *r)
{
    json_t *h = json_object_get(hc, "ActiveRequestHeader");
    if (!json_is_array(h)) {
        if (h && is_empty(h))
            json_object_del(hc, "ActiveRequestHeader");
        return;
    }
    json_t *m = json_object();
    size_t i;
    json_t *e;
    json_array_foreach(h, i, e)
    {
        const char *k = str(e, "Key") ? str(e, "Key") : str(e, "Name");
        const char *v = str(e, "Value");
        if (k && v) {
            json_object_set_new(m, k, json_string(v));
        } else {
            char at[64];
            snprintf(at, sizeof at, "ActiveRequestHeader[%zu]", i);
            note(r->refused, prefix, at, "must be {Key, Value} strings");
        }
    }
    if (json_object_size(m))
        json_object_set_new(hc, "ActiveRequestHeader", m);
    else {
        json_decref(m);
        json_object_del(hc, "ActiveRequestHeader");
    }
}

static void map_upstream(json_t *u, const char *prefix, sy_tc_report *r)
{
    char p[600];
    pass(upstream_fields, u, prefix, r);
    const char *scheme = str(u, "Scheme");
    if (scheme && strncasecmp(scheme, "grpc", 4) == 0)
        note(r->refused, prefix, "Scheme",
             "gRPC to upstream nodes is not supported (HTTP and "
             "HTTPS are)");
    else if (scheme && (strcasecmp(scheme, "http") == 0 || strcasecmp(scheme, "https") == 0)) {
        char up[8];
        snprintf(up, sizeof up, "%s", scheme);
        for (char *c = up; *c; c++)
            *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
        json_object_set_new(u, "Scheme", json_string(up));
    }
    /* UpstreamInfo lists the tunnel's services as K8sServices. */
    json_t *ks = json_object_get(u, "K8sServices");
    if (ks && !json_object_get(u, "K8sService") && !is_empty(ks))
        json_object_set(u, "K8sService", ks);
    json_object_del(u, "K8sServices");
    if (is_empty(json_object_get(u, "K8sService")))
        json_object_del(u, "K8sService");
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(u, "K8sService"), i, e)
    {
        sub_path(p, sizeof p, prefix, "K8sService", i, true);
        if (json_is_object(e))
            pass(k8s_fields, e, p, r);
    }
    /* Describe answers list a tunnel's discovered pods among Nodes. */
    json_t *nodes = json_object_get(u, "Nodes");
    bool pods = false;
    for (i = 0; json_is_array(nodes) && i < json_array_size(nodes);) {
        e = json_array_get(nodes, i);
        const char *src = str(e, "Source");
        if (src && strcasecmp(src, "K8S") == 0) {
            json_array_remove(nodes, i);
            pods = true;
            continue;
        }
        sub_path(p, sizeof p, prefix, "Nodes", i, true);
        if (json_is_object(e))
            pass(node_fields, e, p, r);
        i++;
    }
    if (pods)
        note(r->ignored, prefix, "Nodes",
             "pods discovered from K8sService; the gateway "
             "discovers them itself");
    if (json_is_null(nodes) || (pods && !json_array_size(nodes)))
        json_object_del(u, "Nodes");
    json_t *hc = json_object_get(u, "HealthChecker");
    if (json_is_object(hc)) {
        sub_path(p, sizeof p, prefix, "HealthChecker", 0, false);
        pass(health_fields, hc, p, r);
        probe_headers(hc, p, r);
    } else if (json_is_null(hc)) {
        json_object_del(u, "HealthChecker");
    }
}

/* ---- plugins ---- */

static void map_plugin(json_t *pl, const char *prefix, sy_tc_report *r)
{
    pass(plugin_fields, pl, prefix, r);
    const char *t = str(pl, "PluginType");
    if (t && strcmp(t, "Routing") != 0)
        note(r->refused, prefix, "PluginType",
             "only Routing plugins are implemented; %s is "
             "not",
             t);
}

bool sy_tc_map(sy_tc_kind kind, json_t *obj, const char *prefix, const char *service_id,
               sy_tc_report *r)
{
    size_t before = json_array_size(r->refused);
    switch (kind) {
    case SY_TC_API:
        map_api(obj, prefix, service_id, r);
        break;
    case SY_TC_SERVICE:
        map_service(obj, prefix, r);
        break;
    case SY_TC_UPSTREAM:
        map_upstream(obj, prefix, r);
        break;
    case SY_TC_PLUGIN:
        map_plugin(obj, prefix, r);
        break;
    }
    return json_array_size(r->refused) == before;
}

const char *sy_tc_action(sy_tc_kind kind, const char *method)
{
    static const char *const create[] = {"CreateApi", "CreateService", "CreateUpstream",
                                         "CreatePlugin"};
    static const char *const modify[] = {"ModifyApi", "ModifyService", "ModifyUpstream",
                                         "ModifyPlugin"};
    if (strcmp(method, "POST") == 0)
        return create[kind];
    if (strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0)
        return modify[kind];
    return NULL;
}
