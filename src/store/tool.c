/* `switchyard store export|import -c FILE [YAML]`: move a configuration
 * between a YAML file and etcd (FILE is a gateway's -c file whose
 * Gateway.ConfigStore names the etcd cluster and prefix).
 *
 *   export [-o OUT]   the objects under PREFIX/config/ as YAML (Version,
 *                     Upstreams, Services, Plugins; no Gateway section,
 *                     which stays each gateway's own), after validating them
 *   import YAML       validate YAML and make it the fleet's configuration in
 *                     one etcd transaction (objects not in YAML are deleted,
 *                     unchanged ones are not rewritten); refused if etcd
 *                     changed while it ran
 *
 * Export then import is lossless: both sides are the admin API's
 * normalized objects, so an import of an export writes only the version. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/dump.h"
#include "config/load.h"
#include "store/fleet.h"
#include "store/fleet_int.h"
#include "store/layout.h"

static void usage(void)
{
    fprintf(stderr, "usage: switchyard store export -c FILE [-o OUT.yaml]\n"
                    "       switchyard store import -c FILE IN.yaml\n");
}

static void print_errors(const sy_errors *e)
{
    for (size_t i = 0; i < e->n; i++)
        fprintf(stderr, "%s\n", e->msgs[i]);
}

/* The dump without its Gateway section (a top-level block). */
static char *without_gateway(char *text)
{
    char *g = strstr(text, "\nGateway:\n");
    if (!g)
        return text;
    char *end = g + 1;
    while ((end = strchr(end, '\n')) && end[1] && (end[1] == ' ' || end[1] == '#'))
        end++;
    if (!end)
        *(g + 1) = '\0';
    else
        memmove(g + 1, end + 1, strlen(end + 1) + 1);
    return text;
}

static int do_export(sy_config *local, const char *out)
{
    sy_errors errs = {0};
    sy_snapshot *s = NULL;
    sy_store *st = sy_fleet_open(local, 1, false, &s, &errs);
    if (!st) {
        print_errors(&errs);
        sy_errors_free(&errs);
        return 1;
    }
    char *text = without_gateway(sy_config_dump_yaml_ex(s->cfg, SY_DUMP_SECRETS));
    int rc = 0;
    FILE *f = out ? fopen(out, "w") : stdout;
    if (!f || fputs(text, f) < 0 || (out && fclose(f) != 0)) {
        perror(out ? out : "stdout");
        rc = 1;
    }
    free(text);
    sy_snapshot_unref(s);
    sy_store_free(st);
    return rc;
}

static int do_import(sy_config *local, const char *in)
{
    sy_errors errs = {0};
    sy_config *cfg = sy_config_load_file(in, &errs);
    if (!cfg) {
        print_errors(&errs);
        fprintf(stderr, "%s: nothing imported\n", in);
        sy_errors_free(&errs);
        return 1;
    }
    sy_fleet *f = sy_fleet_new(local, 1);
    int64_t rev = 0;
    sy_etcd_err e = {0};
    json_t *kvs = sy_fleet_list(f, &rev, &e);
    if (!kvs) {
        fprintf(stderr, "%s: %s: nothing imported\n", f->name, e.msg);
        sy_fleet_free(f);
        sy_config_free(cfg);
        return 1;
    }
    json_decref(f->map);
    f->map = sy_fleet_decode(f, kvs, f->bad);
    json_decref(kvs);
    json_t *old = json_object_get(json_object_get(f->map, "version"), "v");
    json_int_t version = (json_int_t)cfg->version;
    if (json_is_integer(old) && json_integer_value(old) >= version)
        version = json_integer_value(old) + 1;
    if (version < 1)
        version = 1;
    json_t *doc = sy_config_dump_json(cfg, SY_DUMP_SECRETS);
    json_t *objs = sy_layout_split(doc);
    json_object_set_new(objs, "version", json_integer(version));
    json_t *puts = json_object(), *dels = json_array();
    char err[512];
    int rc = sy_fleet_store(f, objs, &rev, puts, dels, err, sizeof err);
    if (rc == 0)
        printf("%s: imported %s as Version %lld at etcd revision %lld (%zu keys written, %zu "
               "deleted)\n",
               f->name, in, (long long)version, (long long)rev, json_object_size(puts),
               json_array_size(dels));
    else
        fprintf(stderr, "%s: %s\n", f->name, err);
    json_decref(puts);
    json_decref(dels);
    json_decref(objs);
    json_decref(doc);
    sy_fleet_free(f);
    sy_config_free(cfg);
    return rc == 0 ? 0 : 1;
}

int sy_fleet_cli(int argc, char **argv)
{
    if (argc < 2) {
        usage();
        return 2;
    }
    const char *cmd = argv[1], *file = NULL, *out = NULL;
    optind = 2;
    int opt;
    while ((opt = getopt(argc, argv, "c:o:")) != -1) {
        if (opt == 'c')
            file = optarg;
        else if (opt == 'o')
            out = optarg;
        else {
            usage();
            return 2;
        }
    }
    bool exp = strcmp(cmd, "export") == 0, imp = strcmp(cmd, "import") == 0;
    if (!file || (!exp && !imp) || (exp && optind != argc) ||
        (imp && (optind != argc - 1 || out))) {
        usage();
        return 2;
    }
    sy_errors errs = {0};
    sy_config *local = sy_config_load_file(file, &errs);
    if (!local) {
        print_errors(&errs);
        sy_errors_free(&errs);
        return 1;
    }
    if (local->gw.store.type != SY_STORE_ETCD) {
        fprintf(stderr, "%s: Gateway.ConfigStore.Type is not etcd\n", file);
        sy_config_free(local);
        return 1;
    }
    int rc = exp ? do_export(local, out) : do_import(local, argv[optind]);
    sy_config_free(local);
    return rc;
}
