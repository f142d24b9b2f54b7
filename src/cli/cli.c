/* `switchyard explain` and `switchyard test-routes`: the explain core
 * (router/explain.h) driven from the command line.
 *
 * Exit codes, both commands: 0 success (routed / every case passed),
 * 1 not routed (404/405/400) / some case failed, 2 usage or config error
 * (config problems printed FILE:LINE:COL like `-t`). */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/load.h"
#include "gen/snapshot.h"
#include "config/yaml_tree.h"
#include "core/buf.h"
#include "router/explain.h"

#define CLI_MAX_HEADERS 256

static sy_snapshot *load(const char *file)
{
    sy_errors errs = {0};
    sy_config *cfg = sy_config_load_file(file, &errs);
    sy_snapshot *s = cfg ? sy_snapshot_build(cfg, 1, &errs) : NULL;
    if (!s) {
        if (cfg)
            sy_config_free(cfg);
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.msgs[i]);
        fprintf(stderr, "%s: %zu problem%s found\n", file, errs.n, errs.n == 1 ? "" : "s");
    }
    sy_errors_free(&errs);
    return s;
}

static bool parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(d))
        return false;
    *out = d;
    return true;
}

/* "Name: value" → header (slices into arg). */
static bool parse_header(const char *arg, sy_header *h)
{
    const char *colon = strchr(arg, ':');
    if (!colon || colon == arg)
        return false;
    for (const char *p = arg; p < colon; p++)
        if (*p == ' ' || *p == '\t')
            return false;
    h->name = sy_str_make(arg, (size_t)(colon - arg));
    h->value = sy_str_trim(sy_str_c(colon + 1));
    return true;
}

static void explain_usage(FILE *f)
{
    fprintf(f, "usage: switchyard explain -c FILE [-H 'Name: value']... [--client-ip IP]\n"
               "                          [--scheme http|https] [--random X] [--hash X] [--json]\n"
               "                          METHOD URL\n"
               "  URL is origin-form (/release/orders?x=1, Host from -H or 'localhost')\n"
               "  or absolute (http://api.example.com/release/orders).\n"
               "  exit 0 routed, 1 the request would get 404/405/400, 2 usage or config error\n");
}

int sy_cli_explain(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"header", required_argument, NULL, 'H'},
        {"client-ip", required_argument, NULL, 'i'},
        {"scheme", required_argument, NULL, 's'},
        {"random", required_argument, NULL, 'r'},
        {"hash", required_argument, NULL, 'x'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *file = NULL;
    sy_header hdrs[CLI_MAX_HEADERS];
    sy_explain_req in = {.headers = hdrs};
    double rnd, hsh;
    int json = 0, opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:H:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            file = optarg;
            break;
        case 'H':
            if (in.n_headers == CLI_MAX_HEADERS || !parse_header(optarg, &hdrs[in.n_headers])) {
                fprintf(stderr, "switchyard explain: bad header '%s' (want 'Name: value')\n",
                        optarg);
                return 2;
            }
            in.n_headers++;
            break;
        case 'i':
            in.client_ip = optarg;
            break;
        case 's':
            in.scheme = optarg;
            break;
        case 'r':
        case 'x':
            if (!parse_double(optarg, opt == 'r' ? &rnd : &hsh)) {
                fprintf(stderr, "switchyard explain: --%s wants a number, got '%s'\n",
                        opt == 'r' ? "random" : "hash", optarg);
                return 2;
            }
            if (opt == 'r')
                in.random = &rnd;
            else
                in.hash = &hsh;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            explain_usage(stdout);
            return 0;
        default:
            explain_usage(stderr);
            return 2;
        }
    }
    if (!file || argc - optind != 2) {
        explain_usage(stderr);
        return 2;
    }
    in.method = argv[optind];
    in.url = argv[optind + 1];
    sy_snapshot *s = load(file);
    if (!s)
        return 2;
    char err[512];
    json_t *res =
        sy_explain(&(sy_routing){s->cfg, s->router, s->generation}, &in, err, sizeof(err));
    if (!res) {
        fprintf(stderr, "switchyard explain: %s\n", err);
        sy_snapshot_unref(s);
        return 2;
    }
    if (json) {
        char *txt = json_dumps(res, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", txt);
        free(txt);
    } else {
        fputs(json_string_value(json_object_get(res, "text")), stdout);
    }
    int rc = json_is_true(json_object_get(res, "routed")) ? 0 : 1;
    json_decref(res);
    sy_snapshot_unref(s);
    return rc;
}

/* ---- test-routes ---- */

typedef struct cases_ctx {
    const char *file;
    sy_errors errs;
} cases_ctx;

static void case_err(cases_ctx *c, const sy_ynode *n, const char *path, const char *msg)
{
    sy_errors_at(&c->errs, c->file, n->mark, path, "%s", msg);
}

/* A scalar or NULL (and an error) when the node is something else. */
static const char *scalar(cases_ctx *c, const sy_ynode *map, const char *key, const char *path)
{
    const sy_ynode *v = sy_ymap_get(map, key);
    if (!v)
        return NULL;
    if (v->kind != SY_YN_SCALAR) {
        char p[256];
        snprintf(p, sizeof(p), "%s.%s", path, key);
        case_err(c, v, p, "must be a scalar");
        return NULL;
    }
    return v->str;
}

typedef struct diff {
    char text[4096];
    size_t len;
} diff;

static void add_diff(diff *d, const char *what, const char *want, const char *got)
{
    int n = snprintf(d->text + d->len, sizeof(d->text) - d->len, "%s%s: want %s%s%s, got %s%s%s",
                     d->len ? "; " : "", what, want ? "'" : "", want ? want : "null (API default)",
                     want ? "'" : "", got ? "'" : "", got ? got : "null", got ? "'" : "");
    if (n > 0)
        d->len += (size_t)n < sizeof(d->text) - d->len ? (size_t)n : sizeof(d->text) - d->len - 1;
}

static void check_str(diff *d, cases_ctx *c, const sy_ynode *expect, const char *key,
                      const char *path, const char *got)
{
    const sy_ynode *v = sy_ymap_get(expect, key);
    if (!v)
        return;
    const char *want = NULL;
    if (!sy_ynode_is_null(v)) {
        want = scalar(c, expect, key, path);
        if (!want)
            return;
    } else if (strcmp(key, "policy") != 0) {
        want = "";
    }
    if (!want && !got)
        return;
    if (want && got && strcmp(want, got) == 0)
        return;
    add_diff(d, key, want, got);
}

static const char *jget(const json_t *o, const char *k1, const char *k2)
{
    const json_t *v = json_object_get(o, k1);
    if (k2)
        v = json_object_get(v, k2);
    return json_string_value(v);
}

/* Run one case; returns 1 pass, 0 fail, -1 case-file error. */
static int run_case(cases_ctx *c, const sy_snapshot *s, const sy_ynode *item, size_t idx)
{
    char path[64];
    snprintf(path, sizeof(path), "cases[%zu]", idx);
    if (item->kind != SY_YN_MAP) {
        case_err(c, item, path, "must be a mapping with name, request and expect");
        return -1;
    }
    const char *name = scalar(c, item, "name", path);
    char namebuf[64];
    if (!name) {
        snprintf(namebuf, sizeof(namebuf), "case %zu", idx + 1);
        name = namebuf;
    }
    const sy_ynode *rq = sy_ymap_get(item, "request");
    const sy_ynode *ex = sy_ymap_get(item, "expect");
    char rpath[80], epath[80];
    snprintf(rpath, sizeof(rpath), "%s.request", path);
    snprintf(epath, sizeof(epath), "%s.expect", path);
    if (!rq || rq->kind != SY_YN_MAP) {
        case_err(c, rq ? rq : item, rpath, "is required and must be a mapping");
        return -1;
    }
    if (ex && ex->kind != SY_YN_MAP) {
        case_err(c, ex, epath, "must be a mapping");
        return -1;
    }
    size_t before = c->errs.n;
    sy_header hdrs[CLI_MAX_HEADERS];
    sy_explain_req in = {.headers = hdrs};
    double rnd, hsh;
    in.method = scalar(c, rq, "method", rpath);
    if (!in.method)
        in.method = "GET";
    in.url = scalar(c, rq, "url", rpath);
    if (!in.url && c->errs.n == before)
        case_err(c, rq, rpath, "url is required");
    in.client_ip = scalar(c, rq, "client_ip", rpath);
    in.scheme = scalar(c, rq, "scheme", rpath);
    const char *rs = scalar(c, rq, "random", rpath), *hs = scalar(c, rq, "hash", rpath);
    if (rs && !parse_double(rs, &rnd))
        case_err(c, sy_ymap_get(rq, "random"), rpath, "random must be a number");
    else if (rs)
        in.random = &rnd;
    if (hs && !parse_double(hs, &hsh))
        case_err(c, sy_ymap_get(rq, "hash"), rpath, "hash must be a number");
    else if (hs)
        in.hash = &hsh;
    const sy_ynode *hm = sy_ymap_get(rq, "headers");
    if (hm && hm->kind != SY_YN_MAP) {
        case_err(c, hm, rpath, "headers must be a mapping of name: value");
    } else if (hm) {
        for (size_t i = 0; i < hm->n && i < CLI_MAX_HEADERS; i++) {
            if (hm->vals[i]->kind != SY_YN_SCALAR) {
                case_err(c, hm->vals[i], rpath, "header values must be scalars");
                continue;
            }
            hdrs[in.n_headers].name = sy_str_make(hm->keys[i]->str, hm->keys[i]->len);
            hdrs[in.n_headers].value = sy_str_make(hm->vals[i]->str, hm->vals[i]->len);
            in.n_headers++;
        }
    }
    long want_status = 200;
    const char *st = ex ? scalar(c, ex, "status", epath) : NULL;
    if (st) {
        char *end;
        want_status = strtol(st, &end, 10);
        if (*end || want_status < 100 || want_status > 599)
            case_err(c, sy_ymap_get(ex, "status"), epath, "status must be an HTTP status code");
    }
    if (c->errs.n != before)
        return -1;

    char err[512];
    json_t *res =
        sy_explain(&(sy_routing){s->cfg, s->router, s->generation}, &in, err, sizeof(err));
    if (!res) {
        printf("FAIL %s: bad request: %s\n", name, err);
        return 0;
    }
    diff d = {.len = 0};
    d.text[0] = '\0';
    long got_status = (long)json_integer_value(json_object_get(res, "status"));
    if (got_status != want_status) {
        char w[16], g[300];
        snprintf(w, sizeof(w), "%ld", want_status);
        snprintf(g, sizeof(g), "%ld%s%s", got_status, got_status == 200 ? "" : " ",
                 got_status == 200 ? "" : jget(res, "error", NULL));
        add_diff(&d, "status", w, g);
    }
    if (ex) {
        check_str(&d, c, ex, "service", epath, jget(res, "service", "id"));
        check_str(&d, c, ex, "env", epath, jget(res, "environment", NULL));
        check_str(&d, c, ex, "api", epath, jget(res, "api", "id"));
        check_str(&d, c, ex, "policy", epath, jget(res, "policy", NULL));
        const char *be = jget(res, "backend", "upstream");
        if (!be)
            be = jget(res, "backend", "url");
        if (!be && json_is_object(json_object_get(res, "backend")))
            be = jget(res, "backend", "type"); /* MOCK */
        check_str(&d, c, ex, "backend", epath, be);
        check_str(&d, c, ex, "backend_path", epath, jget(res, "backend", "path"));
    }
    json_decref(res);
    if (c->errs.n != before)
        return -1;
    if (d.len) {
        printf("FAIL %s: %s\n", name, d.text);
        return 0;
    }
    printf("PASS %s\n", name);
    return 1;
}

int sy_cli_test_routes(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *file = NULL;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            file = optarg;
            break;
        case 'h':
            printf("usage: switchyard test-routes -c FILE CASES.yaml\n");
            return 0;
        default:
            fprintf(stderr, "usage: switchyard test-routes -c FILE CASES.yaml\n");
            return 2;
        }
    }
    if (!file || argc - optind != 1) {
        fprintf(stderr, "usage: switchyard test-routes -c FILE CASES.yaml\n");
        return 2;
    }
    const char *cases_file = argv[optind];
    FILE *f = fopen(cases_file, "rb");
    if (!f) {
        fprintf(stderr, "switchyard test-routes: cannot open %s: %s\n", cases_file,
                strerror(errno));
        return 2;
    }
    sy_buf text = {0};
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        sy_buf_append(&text, chunk, n);
    fclose(f);

    cases_ctx c = {.file = cases_file};
    sy_arena a;
    sy_arena_init(&a, 16 * 1024);
    bool failed = false;
    const sy_ynode *root = sy_ytree_parse(&a, text.data ? text.data : "", text.len, cases_file,
                                          NULL, &c.errs, "cases", &failed);
    if (root && root->kind == SY_YN_MAP && sy_ymap_get(root, "cases"))
        root = sy_ymap_get(root, "cases");
    if (!failed && (!root || root->kind != SY_YN_SEQ)) {
        if (root)
            case_err(&c, root, "cases", "must be a list of cases");
        else
            sy_errors_add(&c.errs, "%s: no cases", cases_file);
    }
    sy_snapshot *s = c.errs.n ? NULL : load(file);
    int rc = 2;
    if (s) {
        size_t pass = 0, fail = 0;
        for (size_t i = 0; i < root->n; i++) {
            int r = run_case(&c, s, root->items[i], i);
            if (r > 0)
                pass++;
            else if (r == 0)
                fail++;
        }
        if (!c.errs.n) {
            printf("%zu passed, %zu failed\n", pass, fail);
            rc = fail ? 1 : 0;
        }
        sy_snapshot_unref(s);
    }
    for (size_t i = 0; i < c.errs.n; i++)
        fprintf(stderr, "%s\n", c.errs.msgs[i]);
    sy_errors_free(&c.errs);
    sy_arena_free(&a);
    sy_buf_free(&text);
    return rc;
}
