/* The rollout controller (rollout.h): one thread, off the request path,
 * that every 50 ms takes the config manager's lock and, for each rollout
 * of the running configuration, closes the analysis window when its
 * Interval has passed, records the verdict, and moves the rollout on:
 * the next step, Succeeded, or (FailureLimit failed windows in a row)
 * RolledBack or Paused.  A move is a configuration commit: stored first,
 * then published by the snapshot swap, so no request starts on the canary
 * once a rollback returns, and a restart finds the same step.
 *
 * What is not stored on every window (the verdicts since the last move,
 * the window's counters) lives here; verdicts are written with the next
 * move.  The controller's runtime follows the configuration: when a
 * rollout's phase or step there differs from what it last set (an admin
 * action, a reload, a restart, another leader), it takes the stored
 * Status over and starts a fresh window. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/dump.h"
#include "config/fields.h"
#include "config/load.h"
#include "config/rollout.h"
#include "core/log.h"
#include "gen/manager.h"
#include "net/loop.h"
#include "rollout/rollout.h"
#include "router/policy.h"
#include "store/fleet.h"

#define TICK_MS 50
#define MAX_VERDICTS 20
#define MAX_EVENTS 100
/* An Inconclusive window keeps growing (its counts carry into the next
 * verdict) up to this many Intervals, then starts again, so a quiet
 * canary is judged on enough requests but never on old ones. */
#define MAX_WINDOW_INTERVALS 10

typedef struct runtime {
    char id[SY_ID_MAX + 1];
    int phase, step;       /* what the configuration says (or we set) */
    long long revision;    /* Status.Revision last adopted or committed */
    bool present;          /* seen in this tick */
    bool dirty;            /* Status to be committed */
    uint64_t window_start; /* sy_clock_ms */
    sy_ro_counts prev[2];  /* sums at the window's start */
    int streak;            /* consecutive failed windows */
    int passes;            /* passed windows at this step */
    json_t *status;        /* the live Status object */
} runtime;

static pthread_mutex_t rt_lock = PTHREAD_MUTEX_INITIALIZER; /* rts and their status */
static runtime *rts;
static size_t n_rts;
static pthread_t thread;
static bool started, fleet_mode;
static pthread_mutex_t stop_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stop_cond = PTHREAD_COND_INITIALIZER;
static bool stopping;

void sy_rollout_now_text(char *buf, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

static void push_bounded(json_t *status, const char *key, json_t *item, size_t max)
{
    json_t *arr = json_object_get(status, key);
    if (!json_is_array(arr)) {
        arr = json_array();
        json_object_set_new(status, key, arr);
    }
    json_array_append_new(arr, item);
    while (json_array_size(arr) > max)
        json_array_remove(arr, 0);
}

void sy_rollout_transition(json_t *status, int from, int to, int step, int weight,
                           const char *reason)
{
    char now[40];
    sy_rollout_now_text(now, sizeof now);
    json_object_set_new(status, "Phase", json_string(sy_rollout_phase_names[to]));
    json_object_set_new(status, "CurrentStep", json_integer(step));
    json_object_set_new(status, "CurrentWeight", json_integer(weight));
    if (from != to || !json_object_get(status, "StepStartedAt") || to == SY_RO_PROGRESSING)
        json_object_set_new(status, "StepStartedAt", json_string(now));
    push_bounded(status, "Events",
                 json_pack("{s:s, s:s, s:s, s:i, s:i, s:s}", "Time", now, "From",
                           sy_rollout_phase_names[from], "To", sy_rollout_phase_names[to], "Step",
                           step + 1, "Weight", weight, "Reason", reason),
                 MAX_EVENTS);
}

static runtime *rt_find(const char *id)
{
    for (size_t i = 0; i < n_rts; i++)
        if (strcmp(rts[i].id, id) == 0)
            return &rts[i];
    return NULL;
}

static void window_reset(runtime *r, uint64_t now)
{
    r->window_start = now;
    sy_ro_stats_sum(r->id, SY_ARM_CANARY, &r->prev[0]);
    sy_ro_stats_sum(r->id, SY_ARM_BASELINE, &r->prev[1]);
}

/* Take the configuration's Status over (new runtime or a change made
 * elsewhere). */
static void adopt(runtime *r, const sy_rollout_cfg *ro, bool fresh, uint64_t now)
{
    json_decref(r->status);
    r->status = ro->status_json ? json_loads(ro->status_json, 0, NULL) : NULL;
    if (!json_is_object(r->status)) {
        json_decref(r->status);
        r->status = json_object();
    }
    r->phase = ro->phase;
    r->step = ro->step;
    r->revision = ro->revision;
    r->streak = r->passes = 0;
    r->dirty = false;
    window_reset(r, now);
    if (fresh && (ro->phase == SY_RO_PROGRESSING || ro->phase == SY_RO_PAUSED)) {
        char why[160];
        snprintf(why, sizeof why,
                 "controller took over at step %d (%d%%): restart, reload or new leader",
                 ro->step + 1, ro->steps[ro->step]);
        char now_s[40];
        sy_rollout_now_text(now_s, sizeof now_s);
        push_bounded(r->status, "Events",
                     json_pack("{s:s, s:s, s:s, s:i, s:i, s:s}", "Time", now_s, "From",
                               sy_rollout_phase_names[ro->phase], "To",
                               sy_rollout_phase_names[ro->phase], "Step", ro->step + 1, "Weight",
                               ro->steps[ro->step], "Reason", why),
                     MAX_EVENTS);
    }
}

static void move(runtime *r, const sy_rollout_cfg *ro, int to, int step, const char *reason)
{
    int weight = to == SY_RO_SUCCEEDED                           ? 100
                 : to == SY_RO_PROGRESSING || to == SY_RO_PAUSED ? ro->steps[step]
                                                                 : 0;
    sy_rollout_transition(r->status, r->phase, to, step, weight, reason);
    sy_info("rollout %s: %s -> %s at step %d (%d%%): %s", r->id, sy_rollout_phase_names[r->phase],
            sy_rollout_phase_names[to], step + 1, weight, reason);
    r->phase = to;
    r->step = step;
    r->streak = r->passes = 0;
    r->dirty = true;
}

static void add_total(json_t *status, const char *key, uint64_t by)
{
    json_int_t v = json_integer_value(json_object_get(status, key));
    json_object_set_new(status, key, json_integer(v + (json_int_t)by));
}

/* Close the window of a Progressing rollout when its Interval is over. */
static void analyse(runtime *r, const sy_rollout_cfg *ro, uint64_t now)
{
    if (now - r->window_start < ro->interval_ms)
        return;
    sy_ro_counts cur[2], win[2];
    sy_ro_stats_sum(r->id, SY_ARM_CANARY, &cur[0]);
    sy_ro_stats_sum(r->id, SY_ARM_BASELINE, &cur[1]);
    for (int a = 0; a < 2; a++) {
        win[a].requests = cur[a].requests - r->prev[a].requests;
        win[a].errors = cur[a].errors - r->prev[a].errors;
        win[a].latency_ms_sum = cur[a].latency_ms_sum - r->prev[a].latency_ms_sum;
        for (int b = 0; b < SY_RO_HIST; b++)
            win[a].hist[b] = cur[a].hist[b] - r->prev[a].hist[b];
    }
    int weight = ro->steps[r->step];
    sy_ro_verdict v;
    sy_rollout_verdict(ro, weight, &win[0], &win[1], &v);
    char now_s[40];
    sy_rollout_now_text(now_s, sizeof now_s);
    push_bounded(r->status, "Verdicts",
                 json_pack("{s:s, s:i, s:i, s:s, s:s, s:f, s:o, s:o}", "Time", now_s, "Step",
                           r->step + 1, "Weight", weight, "Result", sy_ro_result_names[v.result],
                           "Reason", v.reason, "WindowSeconds",
                           (double)(now - r->window_start) / 1000.0, "Canary",
                           sy_ro_arm_json(&win[0], v.rate[0], v.p50[0], v.p99[0]), "Baseline",
                           sy_ro_arm_json(&win[1], v.rate[1], v.p50[1], v.p99[1])),
                 MAX_VERDICTS);
    if (v.result == SY_RO_INCONCLUSIVE) {
        if (now - r->window_start >= (uint64_t)ro->interval_ms * MAX_WINDOW_INTERVALS)
            window_reset(r, now);
        return;
    }
    add_total(r->status, "CanaryRequests", win[0].requests);
    add_total(r->status, "FailedCanaryRequests", win[0].errors);
    add_total(r->status, "BaselineRequests", win[1].requests);
    r->prev[0] = cur[0];
    r->prev[1] = cur[1];
    r->window_start = now;
    if (v.result == SY_RO_FAIL) {
        if (++r->streak < ro->failure_limit)
            return;
        char why[400];
        snprintf(why, sizeof why, "%d failed window(s): %s", r->streak, v.reason);
        move(r, ro, ro->on_failure_pause ? SY_RO_PAUSED : SY_RO_ROLLED_BACK, r->step, why);
        return;
    }
    r->streak = 0;
    r->passes++;
    if ((uint64_t)r->passes * ro->interval_ms < ro->step_interval_ms)
        return;
    if ((size_t)r->step + 1 >= ro->n_steps)
        move(r, ro, SY_RO_SUCCEEDED, r->step, "every step passed its analysis");
    else
        move(r, ro, SY_RO_PROGRESSING, r->step + 1, "the step passed its analysis");
}

/* Write the dirty Statuses into the running configuration (lock held). */
static void commit(const sy_config *cfg)
{
    /* Only Statuses change: the plugins' policies are taken over, not
     * dumped and parsed again (a 100,000-policy plugin every window). */
    json_t *doc = sy_config_dump_json(cfg, SY_DUMP_SECRETS | SY_DUMP_KEEP_POLICIES);
    json_t *list = json_object_get(doc, "Rollouts");
    size_t i;
    json_t *it;
    json_array_foreach(list, i, it)
    {
        const char *id = json_string_value(json_object_get(it, "RolloutId"));
        runtime *r = id ? rt_find(id) : NULL;
        if (r && r->dirty) {
            json_object_set_new(r->status, "Revision", json_integer(++r->revision));
            json_object_set_new(it, "Status", json_deep_copy(r->status));
        }
    }
    json_object_set_new(doc, "Version", json_integer((json_int_t)cfg->version + 1));
    sy_errors errs = {0};
    char err[512] = "";
    sy_config *next = sy_config_load_json_on(doc, "<rollout controller>", cfg, &errs);
    json_decref(doc);
    int rc = next ? sy_cfgmgr_commit(next, &errs, err, sizeof err) : SY_CFGMGR_INVALID;
    if (rc != SY_CFGMGR_OK) {
        sy_error("rollout controller: the change was not committed (%s%s); retrying",
                 err[0] ? err : "", errs.n ? errs.msgs[0] : "");
        if (next)
            sy_config_free(next);
        /* The runtimes now differ from the configuration: the next tick
         * takes the stored Status over again and retries. */
    }
    for (size_t k = 0; k < n_rts; k++)
        rts[k].dirty = false;
    sy_errors_free(&errs);
}

static void tick(void)
{
    uint64_t now = sy_clock_ms();
    bool lead = !fleet_mode || sy_fleet_is_leader();
    sy_cfgmgr_lock();
    const sy_config *cfg = sy_cfgmgr_current()->cfg;
    pthread_mutex_lock(&rt_lock);
    bool any = false;
    for (size_t k = 0; k < n_rts; k++)
        rts[k].present = false;
    for (size_t i = 0; i < cfg->n_rollouts; i++) {
        const sy_rollout_cfg *ro = &cfg->rollouts[i];
        if (!ro->id || !ro->n_steps)
            continue;
        runtime *r = rt_find(ro->id);
        bool fresh = !r;
        if (fresh) {
            rts = sy_realloc(rts, (n_rts + 1) * sizeof *rts);
            r = &rts[n_rts++];
            memset(r, 0, sizeof *r);
            snprintf(r->id, sizeof r->id, "%s", ro->id);
        }
        r->present = true;
        /* A Status written elsewhere (an admin action, even one undone
         * before this tick, a reload) has another Revision. */
        if (fresh || r->phase != ro->phase || r->step != ro->step || r->revision != ro->revision)
            adopt(r, ro, fresh, now);
        if (ro->carried && lead) { /* store the Status the document left out */
            r->dirty = true;
            any = true;
        }
        if (!lead) {
            window_reset(r, now);
            continue;
        }
        if (r->phase == SY_RO_PENDING)
            move(r, ro, SY_RO_PROGRESSING, 0, "started");
        else if (r->phase == SY_RO_PROGRESSING)
            analyse(r, ro, now);
        else
            window_reset(r, now);
        any |= r->dirty;
    }
    /* Rollouts gone from the configuration. */
    for (size_t k = 0; k < n_rts;) {
        if (rts[k].present) {
            k++;
            continue;
        }
        json_decref(rts[k].status);
        rts[k] = rts[--n_rts];
    }
    if (any)
        commit(cfg);
    pthread_mutex_unlock(&rt_lock);
    sy_cfgmgr_unlock();
}

static void *run(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&stop_lock);
    while (!stopping) {
        pthread_mutex_unlock(&stop_lock);
        tick();
        pthread_mutex_lock(&stop_lock);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += TICK_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (!stopping)
            pthread_cond_timedwait(&stop_cond, &stop_lock, &ts);
    }
    pthread_mutex_unlock(&stop_lock);
    return NULL;
}

int sy_rollout_start(bool fleet)
{
    fleet_mode = fleet;
    if (pthread_create(&thread, NULL, run, NULL) != 0) {
        sy_error("rollout controller: cannot start its thread");
        return -1;
    }
    started = true;
    return 0;
}

void sy_rollout_stop(void)
{
    if (!started)
        return;
    pthread_mutex_lock(&stop_lock);
    stopping = true;
    pthread_cond_signal(&stop_cond);
    pthread_mutex_unlock(&stop_lock);
    pthread_join(thread, NULL);
    started = false;
    for (size_t k = 0; k < n_rts; k++)
        json_decref(rts[k].status);
    free(rts);
    rts = NULL;
    n_rts = 0;
}

json_t *sy_rollout_live_status(const char *id)
{
    pthread_mutex_lock(&rt_lock);
    runtime *r = rt_find(id);
    json_t *s = r && r->status ? json_deep_copy(r->status) : NULL;
    pthread_mutex_unlock(&rt_lock);
    return s;
}
