/* Shared by the etcd config store's files: fleet.c (store operations,
 * the apply thread, status), watch.c (the list-and-watch thread) and
 * cache.c (the local cache file). */
#ifndef SY_STORE_FLEET_INT_H
#define SY_STORE_FLEET_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/store.h"
#include "store/etcd.h"
#include "store/leader.h"

typedef struct sy_fleet {
    sy_store base;
    sy_etcd *etcd;
    char *prefix;     /* ConfigStore.Prefix */
    char *root;       /* PREFIX/config/ */
    char *root_end;   /* end of its key range */
    char *cache_path; /* NULL without CacheFile */
    char *name;       /* "etcd PREFIX" for messages */
    json_t *gw;       /* this gateway's Gateway section (JSON) */
    int n_workers;
    int64_t start_next; /* watch from here without listing (0: list first) */
    int lease_ttl;      /* ConfigStore.LeaseTTL */
    sy_leader *leader;  /* PREFIX/leader/controller */

    /* Under the config manager's lock: */
    json_t *map;     /* relative key -> {"v": value, "r": mod_revision} */
    int64_t map_rev; /* revision `map` reflects */
    int64_t applied; /* revision of the published snapshot */
    json_t *bad;     /* relative key -> why it was ignored */

    /* Watch -> apply queue (qmu). */
    pthread_mutex_t qmu;
    pthread_cond_t qcv;
    json_t *queue; /* [{"t": "reset"|"events", "rev": N, ...}] */
    bool cache_dirty, relist;

    /* Status (atomics: read by the admin thread without the lock). */
    atomic_llong received;       /* newest revision the watch delivered */
    atomic_llong applied_a;      /* copy of applied */
    atomic_llong stale_since_ms; /* wall clock; 0 when in sync */
    atomic_bool connected;
    atomic_ullong relists, compactions, applies, coalesced;
    pthread_mutex_t emu;
    char last_error[512];  /* why etcd could not be reached */
    char apply_error[512]; /* why the newest revision was refused ("" = applied) */
    char ignored[512];     /* keys under PREFIX/config/ that are not objects */

    atomic_bool stop;
    atomic_bool cut_stream; /* end the watch stream now (stop, or it is stuck) */
    pthread_t watcher, applier;
    bool started;
} sy_fleet;

/* watch.c */
void *sy_fleet_watch_main(void *arg);
/* A list of the config range: its revision and raw kvs (new reference),
 * or NULL with err. */
json_t *sy_fleet_list(sy_fleet *f, int64_t *rev, sy_etcd_err *err);
/* Whether the watch stream looks stuck: etcd holds a config key newer
 * than anything the stream delivered, twice in a row (apply thread, when
 * idle).  Then the stream is cut and the config listed again. */
void sy_fleet_check_stream(sy_fleet *f);
/* Queue an item for the apply thread. */
void sy_fleet_push(sy_fleet *f, json_t *item);
/* The store went unreachable / is back. */
void sy_fleet_outage(sy_fleet *f, const char *why);
void sy_fleet_fresh(sy_fleet *f);

/* fleet.c */
/* A store for `local`'s ConfigStore with an empty map (no I/O yet). */
sy_fleet *sy_fleet_new(const sy_config *local, int n_workers);
void sy_fleet_free(sy_fleet *f);
/* One conditioned txn making the objects under PREFIX/config/ `objs`
 * ({relative key: value}, "version" included) given the map read before.
 * 0 with *rev, or SY_STORE_* with err; puts/dels get what changed. */
int sy_fleet_store(sy_fleet *f, json_t *objs, int64_t *rev, json_t *puts, json_t *dels, char *err,
                   size_t errlen);
/* Decode raw etcd kvs into a map (relative key -> {"v", "r"}); bad keys
 * or values go to `bad`. */
json_t *sy_fleet_decode(sy_fleet *f, json_t *kvs, json_t *bad);
uint64_t sy_fleet_wall_ms(void);

/* cache.c */
void sy_fleet_cache_write(sy_fleet *f);
/* The cached map and its revision, or NULL (reason in errs). */
json_t *sy_fleet_cache_read(sy_fleet *f, int64_t *rev, sy_errors *errs);

#endif
