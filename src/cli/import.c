/* `switchyard import tencent [-o OUT] FILE...`: the JSON of Tencent's
 * Describe* answers (DescribeServicesStatus, DescribeService, DescribeApi,
 * DescribeApisStatus, DescribeUpstreams, DescribePlugins, DescribePlugin)
 * converted into one Switchyard configuration.
 *
 * Objects go through the mapping the admin API uses (config/tencent.h).
 * Every field not carried is listed on stderr as "import: PATH: reason",
 * PATH being the JSON path in its file; an object the mapping refuses
 * (an API with AuthType SECRET, an SCF backend...) is left out whole, and
 * so is what depends on it (an API whose upstream was left out), because
 * carrying it without the refused part would serve something else.  The
 * result is loaded by the configuration loader before it is written, so
 * what is written passes `switchyard -t`.
 *
 * With -c BASE the Gateway section (listeners, admin token, Kubernetes
 * clusters) is BASE's, so the output runs as it is.
 *
 * Exit: 0 written; 1 the result does not load; 2 usage, an unreadable file
 * (or BASE) or an answer this import does not know. */
#include "cli/cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/dump.h"
#include "config/load.h"
#include "config/tencent.h"

typedef struct imp {
    json_t *upstreams, *services, *apis, *summaries, *plugins; /* id -> {obj, at} */
    unsigned notes;
} imp;

static void say(imp *m, const char *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(imp *m, const char *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "import: %s: ", at);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    m->notes++;
}

static void say_list(imp *m, json_t *list, const char *lead)
{
    size_t i;
    json_t *p;
    json_array_foreach(list, i, p) say(m, json_string_value(json_object_get(p, "field")), "%s%s",
                                       lead, json_string_value(json_object_get(p, "reason")));
}

/* Keep `obj` (found at `at`) under its id in `into`; a later answer for the
 * same id adds to and overrides the earlier one (DescribeService after
 * DescribeServicesStatus). */
static void keep(imp *m, json_t *into, json_t *obj, const char *idkey, const char *at)
{
    const char *id = json_string_value(json_object_get(obj, idkey));
    if (!id) {
        say(m, at, "left out: no %s", idkey);
        return;
    }
    json_t *had = json_object_get(into, id);
    if (had) {
        json_object_update(json_object_get(had, "obj"), obj);
        json_object_set_new(had, "at", json_string(at));
    } else {
        json_object_set_new(into, id, json_pack("{s:O, s:s}", "obj", obj, "at", at));
    }
}

static void keep_list(imp *m, json_t *into, json_t *list, const char *idkey, const char *at)
{
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o)
    {
        char p[512];
        snprintf(p, sizeof p, "%s[%zu]", at, i);
        if (json_is_object(o))
            keep(m, into, o, idkey, p);
        else
            say(m, p, "left out: not an object");
    }
}

static void paged(imp *m, json_t *res, const char *set, const char *at)
{
    json_int_t total = json_integer_value(json_object_get(res, "TotalCount"));
    size_t n = json_array_size(json_object_get(res, set));
    if (total > (json_int_t)n)
        say(m, at,
            "holds %zu of TotalCount %lld: the others were not in this answer (ask "
            "again with Offset and import those answers too)",
            n, (long long)total);
}

/* One file: which Describe answer it is, by its shape. */
static int read_answer(imp *m, const char *file)
{
    json_error_t e;
    json_t *root = json_load_file(file, 0, &e);
    if (!root) {
        fprintf(stderr, "import: %s:%d:%d: %s\n", file, e.line, e.column, e.text);
        return -1;
    }
    char at[512];
    json_t *r = json_object_get(root, "Response");
    const char *base = r ? "Response" : "";
    if (!r)
        r = root;
    int rc = 0;
    json_t *err = json_object_get(r, "Error");
    json_t *res = json_object_get(r, "Result");
#define AT(sub) (snprintf(at, sizeof at, "%s:%s%s%s", file, base, *base ? "." : "", (sub)), at)
    if (err) {
        fprintf(stderr, "import: %s: Tencent answered an error: %s: %s\n", file,
                json_string_value(json_object_get(err, "Code")),
                json_string_value(json_object_get(err, "Message")));
        rc = -1;
    } else if (json_is_object(res) && json_object_get(res, "ServiceSet")) {
        keep_list(m, m->services, json_object_get(res, "ServiceSet"), "ServiceId",
                  AT("Result.ServiceSet"));
        paged(m, res, "ServiceSet", AT("Result"));
    } else if (json_is_object(res) && json_object_get(res, "ApiIdStatusSet")) {
        keep_list(m, m->summaries, json_object_get(res, "ApiIdStatusSet"), "ApiId",
                  AT("Result.ApiIdStatusSet"));
        paged(m, res, "ApiIdStatusSet", AT("Result"));
    } else if (json_is_object(res) && json_object_get(res, "UpstreamSet")) {
        keep_list(m, m->upstreams, json_object_get(res, "UpstreamSet"), "UpstreamId",
                  AT("Result.UpstreamSet"));
        paged(m, res, "UpstreamSet", AT("Result"));
    } else if (json_is_object(res) && json_object_get(res, "PluginSet")) {
        keep_list(m, m->plugins, json_object_get(res, "PluginSet"), "PluginId",
                  AT("Result.PluginSet"));
        paged(m, res, "PluginSet", AT("Result"));
    } else if (json_is_object(res) && json_object_get(res, "ApiId")) {
        keep(m, m->apis, res, "ApiId", AT("Result"));
    } else if (json_is_object(res) && json_object_get(res, "PluginId")) {
        keep(m, m->plugins, res, "PluginId", AT("Result"));
    } else if (json_is_object(res) && json_object_get(res, "UpstreamId")) {
        keep(m, m->upstreams, res, "UpstreamId", AT("Result"));
    } else if (json_object_get(r, "ServiceId")) {
        /* DescribeService answers its fields beside RequestId. */
        json_t *svc = json_deep_copy(r);
        json_object_del(svc, "RequestId");
        keep_list(m, m->summaries, json_object_get(svc, "ApiIdStatusSet"), "ApiId",
                  AT("ApiIdStatusSet"));
        json_object_del(svc, "ApiIdStatusSet");
        keep(m, m->services, svc, "ServiceId", (snprintf(at, sizeof at, "%s:%s", file, base), at));
        json_decref(svc);
    } else {
        fprintf(stderr,
                "import: %s: not a Describe answer this import knows "
                "(DescribeServicesStatus, DescribeService, DescribeApi, DescribeApisStatus, "
                "DescribeUpstreams, DescribePlugins, DescribePlugin)\n",
                file);
        rc = -1;
    }
#undef AT
    json_decref(root);
    return rc;
}

/* Map one kept object; NULL (reported) when refused. */
static json_t *mapped(imp *m, sy_tc_kind kind, json_t *entry, const char *svc, const char *what)
{
    json_t *o = json_deep_copy(json_object_get(entry, "obj"));
    const char *at = json_string_value(json_object_get(entry, "at"));
    sy_tc_report r;
    sy_tc_report_init(&r, true);
    bool ok = sy_tc_map(kind, o, at, svc, &r);
    say_list(m, r.ignored, "not carried: ");
    if (!ok) {
        say_list(m, r.refused, "");
        say(m, at, "left out: %s %s (%zu refused field%s above)", what,
            json_string_value(json_object_get(o, kind == SY_TC_UPSTREAM ? "UpstreamId"
                                                 : kind == SY_TC_PLUGIN ? "PluginId"
                                                 : kind == SY_TC_API    ? "ApiId"
                                                                        : "ServiceId")),
            json_array_size(r.refused), json_array_size(r.refused) == 1 ? "" : "s");
        json_decref(o);
        o = NULL;
    }
    sy_tc_report_free(&r);
    return o;
}

/* A tunnel's clusters must be in Gateway.KubernetesClusters (the API
 * server and its credentials), which no Describe answer holds. */
static bool clusters_known(imp *m, json_t *u, const char *at, const json_t *gateway)
{
    size_t i, j;
    json_t *k, *c;
    json_array_foreach(json_object_get(u, "K8sService"), i, k)
    {
        const char *cid = json_string_value(json_object_get(k, "ClusterId"));
        bool found = false;
        json_array_foreach(json_object_get(gateway, "KubernetesClusters"), j, c)
        {
            const char *have = json_string_value(json_object_get(c, "ClusterId"));
            found |= cid && have && strcmp(cid, have) == 0;
        }
        if (!found) {
            say(m, at,
                "left out: upstream %s is a TKE tunnel of cluster %s, which needs a "
                "Gateway.KubernetesClusters entry (its API server and token): give a base "
                "configuration that has one with -c",
                json_string_value(json_object_get(u, "UpstreamId")), cid ? cid : "?");
            return false;
        }
    }
    return true;
}

static json_t *build_upstreams(imp *m, const json_t *gateway)
{
    json_t *out = json_array();
    const char *id;
    json_t *e;
    json_object_foreach(m->upstreams, id, e)
    {
        json_t *u = mapped(m, SY_TC_UPSTREAM, e, NULL, "upstream");
        if (u && !clusters_known(m, u, json_string_value(json_object_get(e, "at")), gateway)) {
            json_decref(u);
            u = NULL;
        }
        if (u)
            json_array_append_new(out, u);
    }
    return out;
}

static bool has_id(json_t *list, const char *key, const char *id)
{
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o)
    {
        const char *s = json_string_value(json_object_get(o, key));
        if (s && id && strcmp(s, id) == 0)
            return true;
    }
    return false;
}

static json_t *build_services(imp *m, json_t *upstreams)
{
    json_t *out = json_array();
    const char *id;
    json_t *e;
    json_object_foreach(m->services, id, e)
    {
        json_t *obj = json_object_get(e, "obj");
        json_object_del(obj, "ApiTotalCount");
        json_t *s = mapped(m, SY_TC_SERVICE, e, NULL, "service");
        if (!s)
            continue;
        if (!json_array_size(json_object_get(s, "Environments")))
            say(m, json_string_value(json_object_get(e, "at")),
                "service %s is released to "
                "no environment (AvailableEnvironments is empty): it serves nothing until "
                "published",
                id);
        json_object_set_new(s, "Apis", json_array());
        json_array_append_new(out, s);
    }
    json_object_foreach(m->apis, id, e)
    {
        json_t *obj = json_object_get(e, "obj");
        const char *at = json_string_value(json_object_get(e, "at"));
        const char *sid = json_string_value(json_object_get(obj, "ServiceId"));
        json_t *svc = NULL;
        size_t i;
        json_t *s;
        json_array_foreach(out, i,
                           s) if (sid && strcmp(json_string_value(json_object_get(s, "ServiceId")),
                                                sid) == 0) svc = s;
        if (!svc) {
            say(m, at,
                "left out: API %s belongs to service %s, which is not among the "
                "imported services (import its DescribeService answer too)",
                id, sid ? sid : "(none)");
            continue;
        }
        json_t *a = mapped(m, SY_TC_API, e, sid, "API");
        if (!a)
            continue;
        const char *up =
            json_string_value(json_object_get(json_object_get(a, "ServiceConfig"), "UpstreamId"));
        if (up && !has_id(upstreams, "UpstreamId", up)) {
            say(m, at,
                "left out: API %s uses upstream %s, which is not among the imported "
                "upstreams",
                id, up);
            json_decref(a);
            continue;
        }
        json_array_append_new(json_object_get(svc, "Apis"), a);
    }
    json_object_foreach(m->summaries, id, e)
    {
        if (!json_object_get(m->apis, id))
            say(m, json_string_value(json_object_get(e, "at")),
                "left out: API %s is known "
                "only from a summary, which has no backend (import its DescribeApi answer)",
                id);
    }
    return out;
}

/* AttachedApis [{ServiceId, ApiId, Environment}] as our Attachments, for
 * the APIs that were carried and environments their service serves. */
static void attachments(imp *m, json_t *pl, const char *at, json_t *services)
{
    json_t *att = json_array();
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(pl, "AttachedApis"), i, a)
    {
        const char *sid = json_string_value(json_object_get(a, "ServiceId"));
        const char *aid = json_string_value(json_object_get(a, "ApiId"));
        const char *env = json_string_value(json_object_get(a, "Environment"));
        json_t *svc = NULL, *s;
        size_t j;
        json_array_foreach(services, j,
                           s) if (sid && strcmp(json_string_value(json_object_get(s, "ServiceId")),
                                                sid) == 0) svc = s;
        bool env_ok = false;
        json_t *ev;
        json_array_foreach(svc ? json_object_get(svc, "Environments") : NULL, j, ev) env_ok |=
            env && json_is_string(ev) && strcmp(json_string_value(ev), env) == 0;
        char p[600];
        snprintf(p, sizeof p, "%s.AttachedApis[%zu]", at, i);
        if (!svc || !aid || !has_id(json_object_get(svc, "Apis"), "ApiId", aid) || !env_ok) {
            say(m, p,
                "not carried: API %s of service %s in %s is not among the imported, "
                "released APIs",
                aid ? aid : "?", sid ? sid : "?", env ? env : "?");
            continue;
        }
        json_t *grp = NULL, *g;
        json_array_foreach(
            att, j, g) if (strcmp(json_string_value(json_object_get(g, "ServiceId")), sid) == 0 &&
                           strcmp(json_string_value(json_object_get(g, "EnvironmentName")), env) ==
                               0) grp = g;
        if (!grp) {
            grp = json_pack("{s:s, s:s, s:[]}", "ServiceId", sid, "EnvironmentName", env, "ApiIds");
            json_array_append_new(att, grp);
        }
        json_array_append_new(json_object_get(grp, "ApiIds"), json_string(aid));
    }
    json_object_del(pl, "AttachedApis");
    json_object_del(pl, "AttachedApiTotalCount");
    if (json_array_size(att))
        json_object_set_new(pl, "Attachments", att);
    else
        json_decref(att);
}

/* Policies whose backend names an upstream that was not carried are left
 * out one by one (the others still route).  PluginData is Tencent's JSON
 * string; it is written back as a list. */
static void policies(imp *m, json_t *pl, const char *at, json_t *upstreams)
{
    json_t *data = json_object_get(pl, "PluginData"), *list = NULL;
    if (json_is_string(data))
        list = json_loads(json_string_value(data), 0, NULL);
    else if (json_is_array(data))
        list = json_incref(data);
    if (!json_is_array(list)) {
        json_decref(list);
        return; /* the loader says what is wrong with it */
    }
    char p[600];
    snprintf(p, sizeof p, "%s.PluginData", at);
    for (size_t i = 0; i < json_array_size(list);) {
        json_t *pol = json_array_get(list, i);
        json_t *bc = json_object_get(pol, "backend_config");
        const char *up =
            json_string_value(json_object_get(json_object_get(bc, "ServiceConfig"), "UpstreamId"));
        if (up && !has_id(upstreams, "UpstreamId", up)) {
            const char *name = json_string_value(json_object_get(pol, "strategy_name"));
            say(m, p,
                "not carried: policy %s (the %zu%s) uses upstream %s, which is not "
                "among the imported upstreams",
                name ? name : "?", i + 1,
                i == 0   ? "st"
                : i == 1 ? "nd"
                : i == 2 ? "rd"
                         : "th",
                up);
            json_array_remove(list, i);
            continue;
        }
        i++;
    }
    json_object_set_new(pl, "PluginData", list);
}

static json_t *build_plugins(imp *m, json_t *services, json_t *upstreams)
{
    json_t *out = json_array();
    const char *id;
    json_t *e;
    json_object_foreach(m->plugins, id, e)
    {
        json_t *p = mapped(m, SY_TC_PLUGIN, e, NULL, "plugin");
        if (!p)
            continue;
        const char *at = json_string_value(json_object_get(e, "at"));
        policies(m, p, at, upstreams);
        attachments(m, p, at, services);
        json_array_append_new(out, p);
    }
    return out;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: switchyard import tencent [-o OUT.yaml] [-c BASE.yaml] ANSWER.json...\n"
               "  ANSWER.json: the JSON of a Describe* answer of Tencent Cloud API Gateway\n"
               "  (DescribeServicesStatus, DescribeService, DescribeApi, DescribeApisStatus,\n"
               "  DescribeUpstreams, DescribePlugins, DescribePlugin), with or without its\n"
               "  {\"Response\": ...} wrapper.  Writes YAML to stdout or OUT; every field not\n"
               "  carried is listed on stderr.  -c: the Gateway section (listeners, token,\n"
               "  KubernetesClusters) is BASE's; without it, the defaults.  Exit 0 written,\n"
               "  1 the result does not load, 2 usage or an unreadable answer or BASE.\n");
}

static int write_out(const char *out, const char *text, int nfiles, char **files)
{
    FILE *f = out ? fopen(out, "w") : stdout;
    if (!f) {
        perror(out);
        return 2;
    }
    fprintf(f, "# Converted by `switchyard import tencent` from");
    for (int i = 0; i < nfiles; i++)
        fprintf(f, " %s", files[i]);
    fprintf(f, ".\n# Fields not carried were listed when it ran; see doc/import.md.\n");
    fputs(text, f);
    if (out && fclose(f) != 0) {
        perror(out);
        return 2;
    }
    return 0;
}

int sy_cli_import(int argc, char **argv)
{
    static const struct option longopts[] = {{"output", required_argument, NULL, 'o'},
                                             {"config", required_argument, NULL, 'c'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    if (argc < 2 || strcmp(argv[1], "tencent") != 0) {
        usage(stderr);
        return 2;
    }
    argc--;
    argv++;
    const char *out = NULL, *base = NULL;
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "o:c:h", longopts, NULL)) != -1) {
        switch (o) {
        case 'o':
            out = optarg;
            break;
        case 'c':
            base = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    /* The base's Gateway section, secrets included: the output is meant
     * to run as it is, like the file it came from. */
    json_t *gateway = NULL;
    unsigned dump_flags = 0;
    if (base) {
        sy_errors errs = {0};
        sy_config *bc = sy_config_load_file(base, &errs);
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.msgs[i]);
        sy_errors_free(&errs);
        if (!bc)
            return 2;
        json_t *all = sy_config_dump_json(bc, SY_DUMP_SECRETS);
        gateway = json_incref(json_object_get(all, "Gateway"));
        json_decref(all);
        sy_config_free(bc);
        dump_flags = SY_DUMP_SECRETS;
    }
    imp m = {json_object(), json_object(), json_object(), json_object(), json_object(), 0};
    int rc = 0;
    for (int i = optind; i < argc && rc == 0; i++)
        if (read_answer(&m, argv[i]) < 0)
            rc = 2;
    json_t *doc = NULL;
    if (rc == 0) {
        json_t *ups = build_upstreams(&m, gateway);
        json_t *svcs = build_services(&m, ups);
        json_t *pls = build_plugins(&m, svcs, ups);
        doc = json_pack("{s:o, s:o, s:o}", "Upstreams", ups, "Services", svcs, "Plugins", pls);
        if (gateway)
            json_object_set(doc, "Gateway", gateway);
        sy_errors errs = {0};
        sy_config *cfg = sy_config_load_json(doc, "<import>", &errs);
        if (!cfg) {
            fprintf(stderr, "import: the converted configuration does not load:\n");
            for (size_t i = 0; i < errs.n; i++)
                fprintf(stderr, "  %s\n", errs.msgs[i]);
            rc = 1;
        } else {
            char *text = sy_config_dump_yaml_ex(cfg, dump_flags);
            rc = write_out(out, text, argc - optind, argv + optind);
            free(text);
            sy_config_free(cfg);
            if (rc == 0)
                fprintf(stderr,
                        "import: wrote %zu upstream%s, %zu service%s, %zu plugin%s; "
                        "%u note%s above\n",
                        json_array_size(ups), json_array_size(ups) == 1 ? "" : "s",
                        json_array_size(svcs), json_array_size(svcs) == 1 ? "" : "s",
                        json_array_size(pls), json_array_size(pls) == 1 ? "" : "s", m.notes,
                        m.notes == 1 ? "" : "s");
        }
        sy_errors_free(&errs);
    }
    json_decref(doc);
    json_decref(gateway);
    json_decref(m.upstreams);
    json_decref(m.services);
    json_decref(m.apis);
    json_decref(m.summaries);
    json_decref(m.plugins);
    return rc;
}
