/* The list-and-watch thread of the etcd config store (fleet.h).
 *
 * It never applies anything itself: it queues what etcd says for the apply
 * thread, so a long compile never stalls the stream (etcd would buffer,
 * then cancel a slow watcher).  Its loop:
 *
 *   list PREFIX/config/ -> queue a reset at revision R -> watch from R+1
 *   -> queue every response's events (one response holds whole revisions)
 *
 * and on trouble:
 *   - canceled with compact_revision (we fell behind a compaction),
 *     or canceled for any reason             -> list again
 *   - the created response's revision is below what we already saw
 *     (etcd restored from a backup or wiped) -> list again; the reset is
 *     marked "back" so it replaces a newer-looking state
 *   - the stream broke or etcd is unreachable -> watch again from the next
 *     revision we need, after a back-off with jitter (100 ms doubling to
 *     2 s); a stream that was never established counts as an outage.
 * Re-watching from the next needed revision is always safe: etcd either
 * replays from there or cancels with compact_revision, which lists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/log.h"
#include "store/fleet_int.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000

void sy_fleet_push(sy_fleet *f, json_t *item)
{
    pthread_mutex_lock(&f->qmu);
    json_array_append_new(f->queue, item);
    pthread_cond_signal(&f->qcv);
    pthread_mutex_unlock(&f->qmu);
}

void sy_fleet_outage(sy_fleet *f, const char *why)
{
    pthread_mutex_lock(&f->emu);
    snprintf(f->last_error, sizeof f->last_error, "%s", why);
    pthread_mutex_unlock(&f->emu);
    atomic_store(&f->connected, false);
    long long zero = 0;
    if (atomic_compare_exchange_strong(&f->stale_since_ms, &zero, (long long)sy_fleet_wall_ms()))
        sy_warn("etcd: %s; serving the last applied configuration (revision %lld) until it is back",
                why, (long long)atomic_load(&f->applied_a));
}

void sy_fleet_fresh(sy_fleet *f)
{
    atomic_store(&f->connected, true);
    if (atomic_exchange(&f->stale_since_ms, 0) != 0)
        sy_info("etcd: connected again");
}

json_t *sy_fleet_list(sy_fleet *f, int64_t *rev, sy_etcd_err *err)
{
    json_t *req = json_pack("{s:o, s:o}", "key", sy_etcd_jkey(f->root), "range_end",
                            sy_etcd_jkey(f->root_end));
    json_t *resp = sy_etcd_call(f->etcd, "/v3/kv/range", req, true, err);
    json_decref(req);
    if (!resp)
        return NULL;
    *rev = sy_etcd_int(json_object_get(resp, "header"), "revision");
    json_t *kvs = json_object_get(resp, "kvs");
    kvs = json_is_array(kvs) ? json_incref(kvs) : json_array();
    json_decref(resp);
    return kvs;
}

void sy_fleet_check_stream(sy_fleet *f)
{
    static int suspicious;
    if (atomic_load(&f->stale_since_ms) || !atomic_load(&f->connected))
        return; /* the watch loop is already at work */
    /* The config key with the newest mod_revision (deletes aside). */
    json_t *req = json_pack("{s:o, s:o, s:b, s:i, s:s, s:s}", "key", sy_etcd_jkey(f->root),
                            "range_end", sy_etcd_jkey(f->root_end), "keys_only", 1, "limit", 1,
                            "sort_order", "DESCEND", "sort_target", "MOD");
    sy_etcd_err err;
    json_t *resp = sy_etcd_call(f->etcd, "/v3/kv/range", req, true, &err);
    json_decref(req);
    if (!resp)
        return;
    int64_t newest = sy_etcd_int(json_array_get(json_object_get(resp, "kvs"), 0), "mod_revision");
    json_decref(resp);
    if (newest <= atomic_load(&f->received)) {
        suspicious = 0;
        return;
    }
    if (++suspicious < 2)
        return;
    suspicious = 0;
    sy_warn("etcd: the watch has not delivered revision %lld (has %lld): cutting it and listing "
            "again",
            (long long)newest, (long long)atomic_load(&f->received));
    atomic_store(&f->cut_stream, true);
}

static void sleep_ms(sy_fleet *f, unsigned ms)
{
    /* In small steps so stopping is quick. */
    while (ms && !atomic_load(&f->stop)) {
        unsigned step = ms < 50 ? ms : 50;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

static unsigned jitter(unsigned ms)
{
    unsigned r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        r = (unsigned)time(NULL);
    return ms / 2 + r % (ms / 2 + 1); /* [ms/2, ms] */
}

typedef struct wctx {
    sy_fleet *f;
    int64_t next; /* the first revision still needed */
    int64_t high; /* the highest revision etcd has shown us */
    bool created, relist, back;
    char err[512];
} wctx;

static bool on_msg(json_t *msg, void *arg)
{
    wctx *w = arg;
    sy_fleet *f = w->f;
    json_t *res = json_object_get(msg, "result");
    if (!json_is_object(res)) {
        json_t *e = json_object_get(msg, "error");
        const char *m = json_string_value(json_object_get(e, "message"));
        snprintf(w->err, sizeof w->err, "watch error: %s", m ? m : "unexpected message");
        return false;
    }
    int64_t hrev = sy_etcd_int(json_object_get(res, "header"), "revision");
    if (json_is_true(json_object_get(res, "created"))) {
        if (hrev < w->next - 1) {
            /* etcd's newest revision is older than what we applied: it
             * was restored or wiped.  Its list is the truth now. */
            sy_warn(
                "etcd: revision went back from %lld to %lld (restored or wiped?): listing again",
                (long long)(w->next - 1), (long long)hrev);
            w->relist = w->back = true;
            return false;
        }
        w->created = true;
        sy_fleet_fresh(f);
    }
    if (json_is_true(json_object_get(res, "canceled"))) {
        int64_t compact = sy_etcd_int(res, "compact_revision");
        const char *why = json_string_value(json_object_get(res, "cancel_reason"));
        if (compact) {
            atomic_fetch_add(&f->compactions, 1);
            sy_info("etcd: revision %lld was compacted (oldest kept %lld): listing again",
                    (long long)w->next, (long long)compact);
        } else {
            sy_warn("etcd: watch canceled (%s): listing again", why ? why : "no reason given");
        }
        w->relist = true;
        return false;
    }
    if (hrev > w->high)
        w->high = hrev;
    json_t *events = json_object_get(res, "events");
    size_t n = json_array_size(events);
    if (!n)
        return true; /* created, or a progress notification */
    /* One response holds whole revisions, in order; queue them as they
     * came (the apply thread groups by revision). */
    int64_t last =
        sy_etcd_int(json_object_get(json_array_get(events, n - 1), "kv"), "mod_revision");
    if (last < w->next) {
        snprintf(w->err, sizeof w->err, "watch delivered revision %lld, expected %lld or later",
                 (long long)last, (long long)w->next);
        w->relist = true;
        return false;
    }
    sy_fleet_push(
        f, json_pack("{s:s, s:I, s:O}", "t", "events", "rev", (json_int_t)last, "events", events));
    atomic_store(&f->received, last);
    w->next = last + 1;
    return true;
}

void *sy_fleet_watch_main(void *arg)
{
    sy_fleet *f = arg;
    wctx w = {.f = f, .next = 0};
    w.high = atomic_load(&f->applied_a);
    unsigned backoff = BACKOFF_MIN_MS;
    bool listed = false;
    if (f->start_next > 0) { /* opened with a fresh list */
        listed = true;
        w.next = f->start_next;
        w.high = f->start_next - 1;
    }
    while (!atomic_load(&f->stop)) {
        pthread_mutex_lock(&f->qmu);
        if (f->relist) {
            f->relist = false;
            listed = false;
        }
        pthread_mutex_unlock(&f->qmu);
        sy_etcd_err err = {0};
        if (!listed) {
            int64_t rev = 0;
            json_t *kvs = sy_fleet_list(f, &rev, &err);
            if (!kvs) {
                sy_fleet_outage(f, err.msg);
                sleep_ms(f, jitter(backoff));
                backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
                continue;
            }
            bool back = w.back || rev < w.high;
            atomic_fetch_add(&f->relists, 1);
            sy_fleet_push(f, json_pack("{s:s, s:I, s:o, s:b}", "t", "reset", "rev", (json_int_t)rev,
                                       "kvs", kvs, "back", back));
            atomic_store(&f->received, rev);
            w.back = false;
            w.high = rev;
            w.next = rev + 1;
            listed = true;
        }
        char start[32];
        snprintf(start, sizeof start, "%lld", (long long)w.next);
        json_t *req = json_pack("{s:{s:o, s:o, s:s, s:b}}", "create_request", "key",
                                sy_etcd_jkey(f->root), "range_end", sy_etcd_jkey(f->root_end),
                                "start_revision", start, "progress_notify", 1);
        w.created = w.relist = false;
        w.err[0] = '\0';
        sy_etcd_stream(f->etcd, "/v3/watch", req, on_msg, &w, &f->cut_stream, &err);
        json_decref(req);
        if (atomic_load(&f->stop))
            break;
        if (atomic_exchange(&f->cut_stream, false)) {
            listed = false; /* cut because it looked stuck: list again */
            continue;
        }
        if (w.relist) {
            listed = false;
            if (w.err[0])
                sy_warn("etcd: %s", w.err);
            continue;
        }
        const char *why = w.err[0] ? w.err : err.msg[0] ? err.msg : "watch stream ended";
        if (w.created) {
            /* It was working: reconnect at once (another endpoint of the
             * cluster usually answers); count as an outage only if that
             * fails too. */
            sy_info("etcd: %s; watching again from revision %lld", why, (long long)w.next);
            backoff = BACKOFF_MIN_MS;
            continue;
        }
        sy_fleet_outage(f, why);
        sleep_ms(f, jitter(backoff));
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    return NULL;
}
