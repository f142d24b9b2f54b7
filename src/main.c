/* switchyard: argv, signals, config load, workers.  Everything else lives
 * in the library (src/). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin/admin.h"
#include "admin/audit.h"
#include "stats/stats.h"
#include "cli/cli.h"
#include "config/fields.h"
#include "config/load.h"
#include "gen/manager.h"
#include "gen/snapshot.h"
#include "config/store.h"
#include "core/log.h"
#include "discovery/k8s.h"
#include "http/worker.h"
#include "gen/prober.h"
#include "stats/rollout_stats.h"
#include "rollout/rollout.h"
#include "net/limits.h"
#include "store/fleet.h"
#include "version.h"

static void usage(FILE *f)
{
    fprintf(
        f, "usage: switchyard -c FILE            run the gateway\n"
           "       switchyard -t -c FILE         check a config file and exit\n"
           "       switchyard explain -c FILE [-H 'Name: value']... [--client-ip IP] [--scheme S]\n"
           "                          [--random X] [--hash X] [--json] METHOD URL\n"
           "       switchyard test-routes -c FILE CASES.yaml\n"
           "       switchyard store export|import -c FILE [YAML]   (Gateway.ConfigStore etcd)\n"
           "       switchyard import tencent [-o OUT.yaml] [-c BASE.yaml] ANSWER.json...\n"
           "       switchyard routes -c FILE   the routes FILE serves (API per environment, "
           "policies)\n"
           "       switchyard config-keys      the Gateway key reference (Markdown)\n"
           "       switchyard version          release, commit, compiler and library versions\n"
           "       switchyard --version | --help\n"
           "\n"
           "Signals: SIGUSR1 reopens the access and audit logs (logrotate);\n"
           "SIGHUP reloads FILE atomically (a bad file is refused and the\n"
           "running config stays); SIGTERM/SIGINT drain in-flight requests and exit.\n");
}

static void print_errors(const sy_errors *e)
{
    for (size_t i = 0; i < e->n; i++)
        fprintf(stderr, "%s\n", e->msgs[i]);
}

static int n_workers_for(const sy_config *cfg)
{
    if (cfg->gw.workers > 0)
        return cfg->gw.workers;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* With Gateway.ConfigStore etcd the -c file is this gateway's own part:
 * the objects are in etcd, and a file listing some would be shadowed. */
static bool local_only(const sy_config *cfg, const char *file, sy_errors *errs)
{
    if (cfg->n_upstreams || cfg->n_services || cfg->n_plugins)
        sy_errors_add(errs,
                      "%s: Upstreams, Services and Plugins live in etcd with "
                      "Gateway.ConfigStore.Type etcd: remove them from this file "
                      "(`switchyard store import` puts a file's objects into etcd)",
                      file);
    return errs->n == 0;
}

/* Compile the loaded file `cfg` (consumed), or with Gateway.ConfigStore
 * etcd open the store (*fleet) and compile what etcd holds.  NULL (with
 * every problem in errs) when anything fails. */
static sy_snapshot *compile(sy_config *cfg, const char *file, int n_workers, bool allow_cache,
                            sy_store **fleet, sy_errors *errs)
{
    sy_snapshot *s = NULL;
    if (cfg->gw.store.type == SY_STORE_ETCD) {
        if (local_only(cfg, file, errs))
            *fleet = sy_fleet_open(cfg, n_workers, allow_cache, &s, errs);
        sy_config_free(cfg);
        return *fleet ? s : NULL;
    }
    s = sy_snapshot_build(cfg, n_workers, errs);
    if (!s)
        sy_config_free(cfg);
    return s;
}

/* -t: load + compile.  NULL (with every problem in errs) on failure. */
static sy_snapshot *load_snapshot(const char *file, sy_store **fleet, sy_errors *errs)
{
    sy_config *cfg = sy_config_load_file(file, errs);
    return cfg ? compile(cfg, file, 1, false, fleet, errs) : NULL;
}

static char *access_path; /* AccessLog when it is a file (reopened on SIGUSR1) */

static int open_logs(const sy_config *cfg)
{
    if (cfg->gw.error_log) {
        int fd = open(cfg->gw.error_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            fprintf(stderr, "switchyard: cannot open ErrorLog %s: %s\n", cfg->gw.error_log,
                    strerror(errno));
            return -1;
        }
        sy_log_set_fd(fd);
    }
    sy_log_min_level = cfg->gw.log_level;
    if (!cfg->gw.access_log) {
        sy_rt.access_fd = -1;
    } else if (strcmp(cfg->gw.access_log, "-") == 0) {
        sy_rt.access_fd = 1;
    } else {
        sy_rt.access_fd = open(cfg->gw.access_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (sy_rt.access_fd < 0) {
            fprintf(stderr, "switchyard: cannot open AccessLog %s: %s\n", cfg->gw.access_log,
                    strerror(errno));
            return -1;
        }
    }
    if (sy_audit_open(cfg->gw.audit_log) < 0) {
        fprintf(stderr, "switchyard: cannot open AuditLog %s: %s\n", cfg->gw.audit_log,
                strerror(errno));
        return -1;
    }
    free(access_path);
    access_path = cfg->gw.access_log && strcmp(cfg->gw.access_log, "-") != 0
                      ? strdup(cfg->gw.access_log)
                      : NULL;
    return 0;
}

/* SIGUSR1 (logrotate): the access and audit logs are opened again under
 * their names.  dup3 puts the new file under the same descriptor number,
 * so workers writing meanwhile lose nothing (each batch is one write). */
static void reopen_logs(void)
{
    if (access_path && sy_rt.access_fd >= 0) {
        int fd = open(access_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0 || dup3(fd, sy_rt.access_fd, O_CLOEXEC) < 0)
            sy_error("AccessLog %s: cannot reopen: %s (still writing to the old file)", access_path,
                     strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    sy_audit_reopen();
    sy_info("SIGUSR1: logs reopened");
}

/* The config manager's publish step (also used by admin changes). */
static void publish(sy_snapshot *s)
{
    sy_limits_check(s->cfg, s->n_workers);
    sy_admin_publish(s); /* before the old generation can go */
    sy_prober_publish(s);
    /* New tunnels get their first pod lists before any request sees them
     * (bounded: an unreachable API server must not hold the change). */
    sy_k8s_publish(s);
    sy_k8s_wait(s, SY_K8S_FIRST_SYNC_MS);
    sy_workers_publish(s);
    /* Loading leaves the parse tree's memory free but resident; hand it
     * back (a 100,000-policy file otherwise keeps ~3x its size). */
    malloc_trim(0);
}

static int run(const char *file)
{
    sy_errors errs = {0};
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    /* Block before the workers exist so only this thread takes signals. */
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    /* Before anything derives limits from it (net/limits.h). */
    sy_limits_init();

    /* The -c file is also where admin API changes are stored. */
    sy_store *store = sy_store_file_new(file);
    char lerr[600];
    int lrc = sy_store_file_lock(store, lerr, sizeof lerr);
    if (lrc < 0) {
        fprintf(stderr, "switchyard: %s\n", lerr);
        sy_store_free(store);
        return 1;
    }
    if (lrc > 0)
        fprintf(stderr, "switchyard: warning: %s\n", lerr);
    size_t len;
    char *text = store->ops->load(store, &len, &errs);
    sy_config *probe = text ? sy_config_load_string(text, len, file, &errs) : NULL;
    free(text);
    if (!probe) {
        print_errors(&errs);
        sy_errors_free(&errs);
        return 1;
    }
    int n_workers = n_workers_for(probe);
    /* With an etcd store the file keeps its lock (one instance per file)
     * but changes go to etcd. */
    sy_store *file_store = store, *fleet_store = NULL;
    sy_snapshot *snap = compile(probe, file, n_workers, true, &fleet_store, &errs);
    if (!snap) {
        print_errors(&errs);
        sy_errors_free(&errs);
        sy_store_free(file_store);
        return 1;
    }
    bool fleet = fleet_store != NULL;
    if (fleet)
        store = fleet_store;
    if (open_logs(snap->cfg) < 0)
        return 1;
    sy_limits_check(snap->cfg, n_workers);
    atomic_store(&sy_snapshot_current, snap);
    malloc_trim(0); /* see publish() */
    sy_cfgmgr_init(store, n_workers, publish);
    sy_stats_init(n_workers);
    sy_ro_stats_init(n_workers);
    if (sy_k8s_start(snap) < 0)
        return 1;
    sy_k8s_wait(snap, SY_K8S_FIRST_SYNC_MS);
    if (sy_workers_start(n_workers, snap->cfg) < 0 || sy_admin_start(snap, n_workers) < 0 ||
        sy_prober_start(snap) < 0 || (fleet && sy_fleet_start(store) < 0) ||
        sy_rollout_start(fleet) < 0)
        return 1;
    for (size_t i = 0; i < snap->cfg->gw.n_listen; i++)
        sy_info("listening on %s:%u (%d workers)", snap->cfg->gw.listen[i].host,
                snap->cfg->gw.listen[i].port, n_workers);
    for (size_t i = 0; i < snap->cfg->gw.n_tls_listen; i++)
        sy_info("listening on %s:%u with TLS (%d workers)", snap->cfg->gw.tls_listen[i].host,
                snap->cfg->gw.tls_listen[i].port, n_workers);
    sy_info("switchyard %s started, config generation %llu", SY_VERSION,
            (unsigned long long)snap->generation);

    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGUSR1) {
            reopen_logs();
            continue;
        }
        if (sig == SIGHUP && fleet) {
            sy_info("SIGHUP: listing etcd again");
            sy_fleet_relist(store);
            continue;
        }
        if (sig == SIGHUP) {
            sy_errors e = {0};
            sy_cfgmgr_lock();
            if (sy_cfgmgr_reload(&e) != SY_CFGMGR_OK) {
                sy_error("reload failed, keeping config generation %llu:",
                         (unsigned long long)sy_cfgmgr_current()->generation);
                sy_buf why = {0};
                for (size_t i = 0; i < e.n; i++) {
                    sy_error("  %s", e.msgs[i]);
                    sy_buf_append_str(&why, e.msgs[i]);
                    sy_buf_append(&why, "\n", i + 1 < e.n);
                }
                sy_buf_append(&why, "", 1);
                sy_errors_free(&e);
                sy_cfgmgr_unlock();
                sy_admin_reload_failed(why.data);
                sy_buf_free(&why);
                continue;
            }
            sy_snapshot *next = sy_cfgmgr_current();
            sy_info("reloaded %s: config generation %llu, version %llu", file,
                    (unsigned long long)next->generation, (unsigned long long)next->cfg->version);
            sy_cfgmgr_unlock();
            continue;
        }
        sy_info("received %s: draining (grace %u ms)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                atomic_load(&sy_snapshot_current)->cfg->gw.grace_ms);
        sy_admin_stop();   /* joins the admin thread: no change is in progress after */
        sy_rollout_stop(); /* and none from the rollout controller */
        if (fleet) {
            sy_store_free(store); /* joins the watch threads: nothing publishes after */
            store = file_store;
        }
        sy_prober_stop();
        sy_k8s_stop();
        sy_snapshot *cur = atomic_load(&sy_snapshot_current);
        sy_workers_drain_and_join(cur->cfg->gw.grace_ms);
        atomic_store(&sy_snapshot_current, NULL);
        sy_snapshot_unref(cur);
        sy_store_free(store);
        sy_info("stopped");
        return 0;
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "explain") == 0)
        return sy_cli_explain(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "test-routes") == 0)
        return sy_cli_test_routes(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "routes") == 0)
        return sy_cli_routes(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "import") == 0)
        return sy_cli_import(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "store") == 0)
        return sy_fleet_cli(argc - 1, argv + 1);
    if (argc == 2 && strcmp(argv[1], "version") == 0)
        return sy_cli_version();
    if (argc == 2 && strcmp(argv[1], "config-keys") == 0) {
        sy_gw_keys_markdown(stdout);
        return 0;
    }

    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"test", no_argument, NULL, 't'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *file = NULL;
    int test_only = 0, opt;
    while ((opt = getopt_long(argc, argv, "c:thV", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            file = optarg;
            break;
        case 't':
            test_only = 1;
            break;
        case 'V':
            printf("switchyard %s\n", SY_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!file || optind != argc) {
        usage(stderr);
        return 2;
    }
    if (test_only) {
        sy_errors errs = {0};
        sy_store *fleet = NULL;
        sy_snapshot *s = load_snapshot(file, &fleet, &errs);
        sy_store_free(fleet);
        if (!s) {
            print_errors(&errs);
            fprintf(stderr, "%s: %zu problem%s found\n", file, errs.n, errs.n == 1 ? "" : "s");
            sy_errors_free(&errs);
            return 1;
        }
        printf("%s: configuration ok (%zu upstreams, %zu services, %zu plugins)\n", file,
               s->cfg->n_upstreams, s->cfg->n_services, s->cfg->n_plugins);
        sy_snapshot_unref(s);
        return 0;
    }
    return run(file);
}
