/* See fleet.h.  This file: opening the store, the store operations the
 * config manager calls for admin changes (sync, commit), the apply thread,
 * and status/metrics.  The watch thread is watch.c, the cache file cache.c. */
#include "store/fleet.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/dump.h"
#include "config/load.h"
#include "gen/manager.h"
#include "core/log.h"
#include "store/fleet_int.h"
#include "store/layout.h"

/* How long an admin call waits for this gateway to apply a revision. */
#define APPLY_WAIT_MS 10000
#define SYNC_WAIT_MS 3000

static sy_fleet *running; /* for status and metrics */

uint64_t sy_fleet_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)(ts.tv_nsec / 1000000);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)(ts.tv_nsec / 1000000);
}

/* ---- keys and values ---- */

static char *full_key(const sy_fleet *f, const char *rel)
{
    size_t a = strlen(f->root), b = strlen(rel);
    char *k = sy_malloc(a + b + 1);
    memcpy(k, f->root, a);
    memcpy(k + a, rel, b + 1);
    return k;
}

/* The key of a kv relative to the config root (malloc'd), or NULL. */
static char *rel_key(const sy_fleet *f, const json_t *kv)
{
    const char *b64 = json_string_value(json_object_get(kv, "key"));
    size_t n;
    char *key = b64 ? sy_etcd_unb64(b64, &n) : NULL;
    size_t rl = strlen(f->root);
    if (!key || n != strlen(key) || n <= rl || strncmp(key, f->root, rl) != 0) {
        free(key);
        return NULL;
    }
    memmove(key, key + rl, n - rl + 1);
    return key;
}

static void put_kv(const sy_fleet *f, json_t *map, json_t *bad, const json_t *kv)
{
    char *rel = rel_key(f, kv);
    if (!rel)
        return;
    const char *b64 = json_string_value(json_object_get(kv, "value"));
    size_t n = 0;
    char *text = sy_etcd_unb64(b64 ? b64 : "", &n);
    json_error_t jerr;
    json_t *v = text ? json_loadb(text, n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!v) {
        char why[300];
        snprintf(why, sizeof why, "value is not JSON: %s", text ? jerr.text : "bad base64");
        json_object_set_new(bad, rel, json_string(why));
        json_object_del(map, rel);
    } else {
        json_object_del(bad, rel);
        json_object_set_new(
            map, rel,
            json_pack("{s:o, s:I}", "v", v, "r", (json_int_t)sy_etcd_int(kv, "mod_revision")));
    }
    free(text);
    free(rel);
}

json_t *sy_fleet_decode(sy_fleet *f, json_t *kvs, json_t *bad)
{
    json_t *map = json_object();
    size_t i;
    json_t *kv;
    json_array_foreach(kvs, i, kv) put_kv(f, map, bad, kv);
    return map;
}

/* The configuration `map` holds, compiled; NULL with errs. */
static sy_snapshot *build(sy_fleet *f, sy_errors *errs)
{
    json_t *vals = json_object();
    const char *k;
    json_t *e;
    json_object_foreach(f->map, k, e) json_object_set(vals, k, json_object_get(e, "v"));
    json_t *ignored = json_array();
    json_t *doc = sy_layout_join(vals, f->gw, ignored);
    size_t i;
    json_t *name;
    json_array_foreach(ignored, i, name)
        json_object_set_new(f->bad, json_string_value(name),
                            json_string("not a configuration object (version, upstreams/ID, "
                                        "services/ID or plugins/ID with that ID)"));
    json_decref(ignored);
    json_decref(vals);
    sy_config *cfg = sy_config_load_json(doc, f->name, errs);
    json_decref(doc);
    if (!cfg)
        return NULL;
    sy_snapshot *s = sy_snapshot_build(cfg, f->n_workers, errs);
    if (!s)
        sy_config_free(cfg);
    return s;
}

/* ---- the apply thread ---- */

/* Apply queued items to the map; true when it changed.  Every event of a
 * revision is applied before anything is compiled. */
static bool apply_items(sy_fleet *f, json_t *items, size_t *n_revs)
{
    bool changed = false;
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        const char *t = json_string_value(json_object_get(it, "t"));
        int64_t rev = (int64_t)json_integer_value(json_object_get(it, "rev"));
        if (strcmp(t, "reset") == 0) {
            /* A list older than what is applied (an admin change was
             * published directly meanwhile) adds nothing: the watch
             * replays from its revision.  Unless etcd went back. */
            if (rev < f->map_rev && !json_is_true(json_object_get(it, "back")))
                continue;
            json_t *bad = json_object();
            json_t *map = sy_fleet_decode(f, json_object_get(it, "kvs"), bad);
            json_decref(f->map);
            json_decref(f->bad);
            f->map = map;
            f->bad = bad;
            f->map_rev = rev;
            changed = true;
            (*n_revs)++;
            continue;
        }
        int64_t base = f->map_rev, last = base;
        size_t j;
        json_t *ev;
        json_array_foreach(json_object_get(it, "events"), j, ev)
        {
            json_t *kv = json_object_get(ev, "kv");
            int64_t mr = sy_etcd_int(kv, "mod_revision");
            if (mr <= base)
                continue; /* applied already */
            if (mr != last)
                (*n_revs)++;
            last = mr;
            const char *type = json_string_value(json_object_get(ev, "type"));
            if (type && strcmp(type, "DELETE") == 0) {
                char *rel = rel_key(f, kv);
                if (rel) {
                    json_object_del(f->map, rel);
                    json_object_del(f->bad, rel);
                }
                free(rel);
            } else {
                put_kv(f, f->map, f->bad, kv);
            }
            changed = true;
        }
        if (last > f->map_rev)
            f->map_rev = last;
    }
    return changed;
}

/* What status shows about the last apply: why it was refused, which keys
 * were ignored (each also logged). */
static void note_problems(sy_fleet *f, const char *refused)
{
    char ignored[512] = "";
    size_t n = 0, len = 0;
    const char *k;
    json_t *v;
    json_object_foreach(f->bad, k, v)
    {
        sy_warn("etcd: %s%s ignored: %s", f->root, k, json_string_value(v));
        if (n++ < 3 && len < sizeof ignored)
            len += (size_t)snprintf(ignored + len, sizeof ignored - len, "%s%s (%s)",
                                    len ? "; " : "", k, json_string_value(v));
    }
    pthread_mutex_lock(&f->emu);
    snprintf(f->apply_error, sizeof f->apply_error, "%s", refused ? refused : "");
    if (n)
        snprintf(f->ignored, sizeof f->ignored, "%zu key%s ignored: %s", n, n == 1 ? "" : "s",
                 ignored);
    else
        f->ignored[0] = '\0';
    pthread_mutex_unlock(&f->emu);
}

static void compile_and_publish(sy_fleet *f, size_t n_revs)
{
    sy_errors errs = {0};
    uint64_t t0 = mono_ms();
    sy_snapshot *s = build(f, &errs);
    if (!s) {
        char why[512];
        snprintf(why, sizeof why, "revision %lld refused (still serving %lld): %s",
                 (long long)f->map_rev, (long long)f->applied, errs.n ? errs.msgs[0] : "?");
        note_problems(f, why);
        sy_error("etcd: revision %lld is not a valid configuration; keeping revision %lld:",
                 (long long)f->map_rev, (long long)f->applied);
        for (size_t i = 0; i < errs.n && i < 20; i++)
            sy_error("  %s", errs.msgs[i]);
        sy_errors_free(&errs);
        return;
    }
    sy_errors_free(&errs);
    note_problems(f, NULL);
    f->applied = f->map_rev;
    atomic_store(&f->applied_a, f->applied);
    atomic_fetch_add(&f->applies, 1);
    if (n_revs > 1)
        atomic_fetch_add(&f->coalesced, n_revs - 1);
    uint64_t version = s->cfg->version;
    sy_cfgmgr_publish(s);
    sy_info("etcd: applied revision %lld (version %" PRIu64 ", %zu revision%s in %" PRIu64 " ms)",
            (long long)f->applied, version, n_revs, n_revs == 1 ? "" : "s", mono_ms() - t0);
}

static void *apply_main(void *arg)
{
    sy_fleet *f = arg;
    for (;;) {
        pthread_mutex_lock(&f->qmu);
        while (!json_array_size(f->queue) && !f->cache_dirty && !atomic_load(&f->stop)) {
            /* Idle for a second: make sure the stream is not stuck (a
             * response etcd's gateway could not send, a half-open
             * connection) rather than trust silence. */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            if (pthread_cond_timedwait(&f->qcv, &f->qmu, &ts) != 0 && !atomic_load(&f->stop)) {
                pthread_mutex_unlock(&f->qmu);
                sy_fleet_check_stream(f);
                pthread_mutex_lock(&f->qmu);
            }
        }
        if (atomic_load(&f->stop)) {
            pthread_mutex_unlock(&f->qmu);
            break;
        }
        /* Everything queued while the last compile ran goes into one. */
        json_t *items = f->queue;
        f->queue = json_array();
        bool cache = f->cache_dirty;
        f->cache_dirty = false;
        pthread_mutex_unlock(&f->qmu);

        sy_cfgmgr_lock();
        size_t n_revs = 0;
        if (apply_items(f, items, &n_revs)) {
            compile_and_publish(f, n_revs);
            cache = true;
        }
        if (cache && f->applied == f->map_rev)
            sy_fleet_cache_write(f);
        sy_cfgmgr_notify(); /* sync waits for map_rev */
        sy_cfgmgr_unlock();
        json_decref(items);
    }
    return NULL;
}

/* ---- store operations ---- */

static json_t *cmp_rev(const char *key, const json_t *entry)
{
    if (!entry)
        return json_pack("{s:o, s:s, s:s, s:s}", "key", sy_etcd_jkey(key), "target", "CREATE",
                         "result", "EQUAL", "create_revision", "0");
    char r[32];
    snprintf(r, sizeof r, "%" PRId64, (int64_t)json_integer_value(json_object_get(entry, "r")));
    return json_pack("{s:o, s:s, s:s, s:s}", "key", sy_etcd_jkey(key), "target", "MOD", "result",
                     "EQUAL", "mod_revision", r);
}

static json_t *put_op(const char *key, const json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    char *b = sy_etcd_b64(text, strlen(text));
    json_t *op = json_pack("{s:{s:o, s:s}}", "request_put", "key", sy_etcd_jkey(key), "value", b);
    free(b);
    free(text);
    return op;
}

static json_t *del_op(const char *key)
{
    return json_pack("{s:{s:o}}", "request_delete_range", "key", sy_etcd_jkey(key));
}

/* One transaction: objects whose value changed are put, objects gone are
 * deleted, the version key is always written; each of those keys must
 * still have the mod_revision this gateway read (absent ones must still
 * be absent).  Returns the request and, in *puts / *dels, what changes
 * in the map if it succeeds. */
static json_t *change_txn(sy_fleet *f, json_t *objs, json_t *puts, json_t *dels)
{
    json_t *cmp = json_array(), *ops = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(objs, k, v)
    {
        json_t *old = json_object_get(f->map, k);
        if (strcmp(k, "version") != 0 && old && json_equal(json_object_get(old, "v"), v))
            continue;
        char *fk = full_key(f, k);
        json_array_append_new(cmp, cmp_rev(fk, old));
        json_array_append_new(ops, put_op(fk, v));
        json_object_set(puts, k, v);
        free(fk);
    }
    json_object_foreach(f->map, k, v)
    {
        if (json_object_get(objs, k) || !sy_layout_is_object(k))
            continue;
        char *fk = full_key(f, k);
        json_array_append_new(cmp, cmp_rev(fk, v));
        json_array_append_new(ops, del_op(fk));
        json_array_append_new(dels, json_string(k));
        free(fk);
    }
    return json_pack("{s:o, s:o}", "compare", cmp, "success", ops);
}

/* An etcd call failed: 503 when etcd could not be reached (`why_503`
 * appended), 500 when it refused. */
static int etcd_fail(const sy_etcd_err *e, char *err, size_t errlen, const char *why_503)
{
    bool down = e->kind == SY_ETCD_UNREACHABLE;
    snprintf(err, errlen, "%s%s", e->msg, down ? why_503 : "");
    return down ? SY_STORE_UNAVAILABLE : SY_STORE_FAILED;
}

static int store_objects(sy_fleet *f, json_t *objs, int64_t *rev, json_t *puts, json_t *dels,
                         char *err, size_t errlen);

int sy_fleet_store(sy_fleet *f, json_t *objs, int64_t *rev, json_t *puts, json_t *dels, char *err,
                   size_t errlen)
{
    return store_objects(f, objs, rev, puts, dels, err, errlen);
}

/* Store `objs` in one txn.  0 with *rev, or SY_STORE_*. */
static int store_objects(sy_fleet *f, json_t *objs, int64_t *rev, json_t *puts, json_t *dels,
                         char *err, size_t errlen)
{
    json_t *txn = change_txn(f, objs, puts, dels);
    sy_etcd_err e = {0};
    json_t *resp = sy_etcd_call(f->etcd, "/v3/kv/txn", txn, false, &e);
    json_decref(txn);
    if (!resp)
        return etcd_fail(&e, err, errlen,
                         " (the change may not have been stored; the running configuration "
                         "keeps serving)");
    bool ok = json_is_true(json_object_get(resp, "succeeded"));
    *rev = sy_etcd_int(json_object_get(resp, "header"), "revision");
    json_decref(resp);
    if (!ok) {
        snprintf(err, errlen,
                 "the configuration was changed concurrently (by another gateway "
                 "or tool) since this change read it; nothing was stored: read it "
                 "again and retry");
        return SY_STORE_CONFLICT;
    }
    return 0;
}

/* Under the lock, waits (releasing it) until `done`; false on timeout. */
static bool wait_until(sy_fleet *f, bool (*done)(sy_fleet *, int64_t), int64_t arg, int ms)
{
    uint64_t end = mono_ms() + (uint64_t)ms;
    while (!done(f, arg)) {
        uint64_t now = mono_ms();
        if (now >= end)
            return false;
        sy_cfgmgr_wait_ms((int)(end - now));
    }
    return true;
}

static bool applied_at(sy_fleet *f, int64_t rev)
{
    return f->applied >= rev;
}

static int fleet_commit(sy_store *st, sy_snapshot *s, char *err, size_t errlen)
{
    sy_fleet *f = (sy_fleet *)st;
    json_t *doc = sy_config_dump_json(s->cfg, SY_DUMP_SECRETS);
    json_t *objs = sy_layout_split(doc);
    bool same_gw = json_equal(json_object_get(doc, "Gateway"), f->gw);
    json_decref(doc);
    json_t *puts = json_object(), *dels = json_array();
    int64_t rev = 0;
    int rc = store_objects(f, objs, &rev, puts, dels, err, errlen);
    json_decref(objs);
    if (rc != 0) {
        json_decref(puts);
        json_decref(dels);
        return rc;
    }
    /* Read your writes.  When nothing else happened between what this
     * gateway runs and this txn, s is exactly revision rev: publish it
     * now (the watch will skip it).  Otherwise the watch brings the
     * revisions in between, and rev after them. */
    if (same_gw && f->map_rev == f->applied && rev == f->map_rev + 1) {
        const char *k;
        json_t *v;
        json_object_foreach(puts, k, v)
            json_object_set_new(f->map, k, json_pack("{s:O, s:I}", "v", v, "r", (json_int_t)rev));
        size_t i;
        json_array_foreach(dels, i, v) json_object_del(f->map, json_string_value(v));
        f->map_rev = f->applied = rev;
        atomic_store(&f->applied_a, rev);
        atomic_fetch_add(&f->applies, 1);
        sy_cfgmgr_publish(s);
        pthread_mutex_lock(&f->qmu);
        f->cache_dirty = true;
        pthread_cond_signal(&f->qcv);
        pthread_mutex_unlock(&f->qmu);
    } else {
        sy_snapshot_unref(s);
        if (!wait_until(f, applied_at, rev, APPLY_WAIT_MS))
            sy_warn("etcd: revision %lld was stored but is not applied here after %d ms",
                    (long long)rev, APPLY_WAIT_MS);
    }
    json_decref(puts);
    json_decref(dels);
    return 0;
}

static bool version_at(sy_fleet *f, int64_t rev)
{
    json_t *e = json_object_get(f->map, "version");
    int64_t have = e ? (int64_t)json_integer_value(json_object_get(e, "r")) : 0;
    return have >= rev && f->applied == f->map_rev;
}

/* Every change writes the version key: once this gateway has applied the
 * version key's newest mod_revision it has every change made so far. */
static int fleet_sync(sy_store *st, char *err, size_t errlen)
{
    sy_fleet *f = (sy_fleet *)st;
    char *vkey = full_key(f, "version");
    json_t *req = json_pack("{s:o}", "key", sy_etcd_jkey(vkey));
    free(vkey);
    sy_etcd_err e = {0};
    json_t *resp = sy_etcd_call(f->etcd, "/v3/kv/range", req, true, &e);
    json_decref(req);
    if (!resp)
        return etcd_fail(&e, err, errlen,
                         ": changes are refused until etcd is back (the running configuration "
                         "keeps serving)");
    int64_t vrev = sy_etcd_int(json_array_get(json_object_get(resp, "kvs"), 0), "mod_revision");
    json_decref(resp);
    if (!wait_until(f, version_at, vrev, SYNC_WAIT_MS)) {
        snprintf(err, errlen,
                 "this gateway has not caught up with etcd yet (applied revision %lld, etcd's "
                 "changes are at %lld); retry",
                 (long long)f->applied, (long long)vrev);
        return SY_STORE_UNAVAILABLE;
    }
    return 0;
}

static char *fleet_load(sy_store *st, size_t *len, sy_errors *errs)
{
    sy_errors_add(errs, "%s: the configuration is applied from etcd as it changes",
                  ((sy_fleet *)st)->name);
    return NULL;
}

static int fleet_save(sy_store *st, const char *text, size_t len, uint64_t version, char *err,
                      size_t errlen)
{
    snprintf(err, errlen, "etcd store: whole-document save is not supported");
    return -1;
}

void sy_fleet_free(sy_fleet *f)
{
    f->base.ops->destroy(&f->base);
}

static void fleet_destroy(sy_store *st)
{
    sy_fleet *f = (sy_fleet *)st;
    if (running == f)
        running = NULL;
    sy_leader_stop(f->leader);
    if (f->started) {
        atomic_store(&f->stop, true);
        atomic_store(&f->cut_stream, true);
        pthread_mutex_lock(&f->qmu);
        pthread_cond_broadcast(&f->qcv);
        pthread_mutex_unlock(&f->qmu);
        pthread_join(f->watcher, NULL);
        pthread_join(f->applier, NULL);
    }
    sy_etcd_free(f->etcd);
    json_decref(f->gw);
    json_decref(f->map);
    json_decref(f->bad);
    json_decref(f->queue);
    free(f->prefix);
    free(f->root);
    free(f->root_end);
    free(f->cache_path);
    free(f->name);
    pthread_mutex_destroy(&f->qmu);
    pthread_cond_destroy(&f->qcv);
    pthread_mutex_destroy(&f->emu);
    free(f);
}

static const sy_store_ops fleet_ops = {
    .load = fleet_load,
    .save = fleet_save,
    .destroy = fleet_destroy,
    .sync = fleet_sync,
    .commit = fleet_commit,
};

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

sy_fleet *sy_fleet_new(const sy_config *local, int n_workers)
{
    const sy_store_cfg *sc = &local->gw.store;
    sy_fleet *f = sy_calloc(1, sizeof *f);
    f->base.ops = &fleet_ops;
    f->etcd = sy_etcd_new(sc);
    f->prefix = xstrdup(sc->prefix);
    size_t pl = strlen(sc->prefix);
    f->root = sy_malloc(pl + sizeof "/config/");
    snprintf(f->root, pl + sizeof "/config/", "%s/config/", sc->prefix);
    f->root_end = sy_etcd_range_end(f->root);
    f->cache_path = sc->cache_file ? xstrdup(sc->cache_file) : NULL;
    f->name = sy_malloc(pl + 8);
    snprintf(f->name, pl + 8, "etcd:%s", sc->prefix);
    f->base.name = f->name;
    f->n_workers = n_workers;
    f->lease_ttl = (int)sc->lease_ttl_s;
    json_t *doc = sy_config_dump_json(local, SY_DUMP_SECRETS);
    f->gw = json_incref(json_object_get(doc, "Gateway"));
    json_decref(doc);
    f->bad = json_object();
    f->queue = json_array();
    pthread_mutex_init(&f->qmu, NULL);
    pthread_cond_init(&f->qcv, NULL);
    pthread_mutex_init(&f->emu, NULL);

    f->map = json_object();
    return f;
}

sy_store *sy_fleet_open(const sy_config *local, int n_workers, bool allow_cache, sy_snapshot **snap,
                        sy_errors *errs)
{
    sy_fleet *f = sy_fleet_new(local, n_workers);

    int64_t rev = 0;
    sy_etcd_err e = {0};
    json_t *kvs = sy_fleet_list(f, &rev, &e);
    if (kvs) {
        json_decref(f->map);
        f->map = sy_fleet_decode(f, kvs, f->bad);
        json_decref(kvs);
        f->start_next = rev + 1;
        atomic_store(&f->connected, true);
    } else {
        sy_errors cerr = {0};
        json_decref(f->map);
        f->map = allow_cache ? sy_fleet_cache_read(f, &rev, &cerr) : NULL;
        if (!f->map) {
            sy_errors_add(errs, "%s: %s%s%s", f->name, e.msg, cerr.n ? "; " : "",
                          cerr.n ? cerr.msgs[0] : "");
            sy_errors_free(&cerr);
            fleet_destroy(&f->base);
            return NULL;
        }
        sy_warn("etcd unreachable (%s): starting from the cache file %s (revision %lld)", e.msg,
                f->cache_path, (long long)rev);
        atomic_store(&f->stale_since_ms, (long long)sy_fleet_wall_ms());
        snprintf(f->last_error, sizeof f->last_error, "%s", e.msg);
    }
    f->map_rev = rev;
    int64_t applied = rev;
    sy_snapshot *s = build(f, errs);
    if (!s && kvs && allow_cache) {
        /* What etcd holds does not validate (written by hand?): serve the
         * last configuration this gateway applied, as a running gateway
         * would, and follow etcd from here until it is fixed. */
        json_t *etcd_map = f->map;
        sy_errors cerr = {0};
        f->map = sy_fleet_cache_read(f, &applied, &cerr);
        s = f->map ? build(f, &cerr) : NULL;
        json_decref(f->map);
        f->map = etcd_map;
        if (s) {
            sy_error("etcd: revision %lld is not a valid configuration; starting from the cache "
                     "file %s (revision %lld):",
                     (long long)rev, f->cache_path, (long long)applied);
            for (size_t i = 0; i < errs->n && i < 20; i++)
                sy_error("  %s", errs->msgs[i]);
            snprintf(f->apply_error, sizeof f->apply_error,
                     "revision %lld refused (serving the cache file's %lld): %s", (long long)rev,
                     (long long)applied, errs->n ? errs->msgs[0] : "?");
            sy_errors_free(errs);
        }
        sy_errors_free(&cerr);
    }
    if (!s) {
        fleet_destroy(&f->base);
        return NULL;
    }
    f->applied = applied;
    atomic_store(&f->applied_a, applied);
    atomic_store(&f->received, rev);
    if (kvs && allow_cache && applied == rev)
        sy_fleet_cache_write(f);
    *snap = s;
    return &f->base;
}

int sy_fleet_start(sy_store *st)
{
    sy_fleet *f = (sy_fleet *)st;
    running = f;
    if (pthread_create(&f->applier, NULL, apply_main, f) != 0 ||
        pthread_create(&f->watcher, NULL, sy_fleet_watch_main, f) != 0) {
        sy_error("etcd: cannot start the watch threads");
        return -1;
    }
    f->started = true;
    /* Every gateway campaigns; fleet-wide singletons (the rollout
     * controller) run only where sy_fleet_is_leader(). */
    char host[128] = "host", id[256], key[300];
    gethostname(host, sizeof host - 1);
    snprintf(id, sizeof id, "%s/%ld", host, (long)getpid());
    snprintf(key, sizeof key, "%s/leader/controller", f->prefix);
    f->leader = sy_leader_start(f->etcd, key, id, f->lease_ttl);
    return 0;
}

bool sy_fleet_is_leader(void)
{
    return running && sy_leader_is(running->leader);
}

void sy_fleet_relist(sy_store *st)
{
    sy_fleet *f = (sy_fleet *)st;
    pthread_mutex_lock(&f->qmu);
    f->relist = true;
    pthread_mutex_unlock(&f->qmu);
}

/* ---- status ---- */

json_t *sy_fleet_status(void)
{
    sy_fleet *f = running;
    if (!f)
        return NULL;
    long long applied = atomic_load(&f->applied_a), received = atomic_load(&f->received);
    long long stale = atomic_load(&f->stale_since_ms);
    json_t *doc = json_pack("{s:s, s:s, s:I, s:I, s:I, s:b}", "type", "etcd", "prefix", f->prefix,
                            "applied_revision", (json_int_t)applied, "received_revision",
                            (json_int_t)received, "lag",
                            (json_int_t)(received > applied ? received - applied : 0), "connected",
                            atomic_load(&f->connected));
    if (stale) {
        char iso[64];
        time_t t = (time_t)(stale / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
        json_object_set_new(doc, "stale_since", json_string(iso));
        json_object_set_new(doc, "stale_seconds",
                            json_real((double)(sy_fleet_wall_ms() - (uint64_t)stale) / 1000.0));
    } else {
        json_object_set_new(doc, "stale_since", json_null());
    }
    pthread_mutex_lock(&f->emu);
    json_object_set_new(doc, "last_error",
                        f->last_error[0] ? json_string(f->last_error) : json_null());
    json_object_set_new(doc, "apply_error",
                        f->apply_error[0] ? json_string(f->apply_error) : json_null());
    json_object_set_new(doc, "ignored_keys", f->ignored[0] ? json_string(f->ignored) : json_null());
    pthread_mutex_unlock(&f->emu);
    if (f->leader)
        json_object_set_new(doc, "leader", sy_leader_status(f->leader));
    json_object_set_new(doc, "relists", json_integer((json_int_t)atomic_load(&f->relists)));
    json_object_set_new(doc, "compactions", json_integer((json_int_t)atomic_load(&f->compactions)));
    json_object_set_new(doc, "applies", json_integer((json_int_t)atomic_load(&f->applies)));
    json_object_set_new(doc, "coalesced_revisions",
                        json_integer((json_int_t)atomic_load(&f->coalesced)));
    return doc;
}

static void metric(sy_buf *out, const char *name, const char *type, const char *help, double v)
{
    char line[512];
    /* Revisions and counts print as integers, durations with ms. */
    int n = snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n%s %.*f\n", name, help, name,
                     type, name, v == (double)(long long)v ? 0 : 3, v);
    sy_buf_append(out, line, (size_t)n);
}

void sy_fleet_metrics(sy_buf *out)
{
    sy_fleet *f = running;
    if (!f)
        return;
    long long applied = atomic_load(&f->applied_a), received = atomic_load(&f->received);
    long long stale = atomic_load(&f->stale_since_ms);
    metric(out, "switchyard_store_applied_revision", "gauge",
           "etcd revision of the configuration being served.", (double)applied);
    metric(out, "switchyard_store_lag_revisions", "gauge",
           "Revisions received from etcd but not applied yet.",
           (double)(received > applied ? received - applied : 0));
    metric(out, "switchyard_store_connected", "gauge", "1 while the etcd watch is established.",
           atomic_load(&f->connected) ? 1 : 0);
    metric(out, "switchyard_store_stale_since_seconds", "gauge",
           "Unix time since when etcd is unreachable (0: in sync).", (double)stale / 1000.0);
    metric(out, "switchyard_store_stale_seconds", "gauge",
           "Seconds the configuration may be stale (0: in sync).",
           stale ? (double)(sy_fleet_wall_ms() - (uint64_t)stale) / 1000.0 : 0);
    metric(out, "switchyard_store_relists_total", "counter",
           "Full lists of the configuration (start, compaction, etcd restored, SIGHUP).",
           (double)atomic_load(&f->relists));
}
