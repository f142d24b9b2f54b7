/* The Rollouts section: closed-loop canaries of Routing policies
 * (doc/rollouts.md).  Loading, cross-checks and the YAML form.
 *
 * The spec is the user's; Status is the controller's record (phase, step,
 * verdicts, events), stored in the same document so that it is as durable
 * as the rest of the configuration and a restart resumes where it was.
 * Status is kept as JSON text: only Phase and CurrentStep matter to
 * routing, the rest is history the controller and the admin API read. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/fields.h"
#include "config/rollout.h"

const char *const sy_rollout_phase_names[] = {"Pending",    "Progressing", "Paused",
                                              "RolledBack", "Succeeded",   NULL};

static const char *const rollout_keys[] = {
    "RolloutId",    "PluginId", "StrategyName", "SplitBy", "Steps",
    "StepInterval", "Analysis", "OnFailure",    "Status",  NULL};
static const char *const analysis_keys[] = {
    "Interval",     "MinRequests", "MaxErrorRate", "MaxErrorRateIncrease", "MaxLatencyP99Ratio",
    "FailureLimit", NULL};
static const char *const on_failure[] = {"ROLLBACK", "PAUSE", NULL};

int sy_rollout_phase_of(const char *s)
{
    for (int i = 0; s && sy_rollout_phase_names[i]; i++)
        if (strcmp(s, sy_rollout_phase_names[i]) == 0)
            return i;
    return -1;
}

int sy_rollout_weight(const sy_rollout_cfg *ro)
{
    switch (ro->phase) {
    case SY_RO_PROGRESSING:
    case SY_RO_PAUSED:
        return ro->steps[ro->step];
    case SY_RO_SUCCEEDED:
        return 100;
    default:
        return 0;
    }
}

bool sy_rollout_running(const sy_rollout_cfg *ro)
{
    return ro->phase == SY_RO_PENDING || ro->phase == SY_RO_PROGRESSING ||
           ro->phase == SY_RO_PAUSED;
}

/* A number in [min, max] (decimals allowed); absent leaves *out. */
static bool get_real(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path, const char *key,
                     double min, double max, bool min_open, double *out)
{
    const sy_ynode *v = sy_cfg_get(c, map, path, key, SY_OPT);
    if (!v)
        return false;
    char *end = NULL;
    double d = v->kind == SY_YN_SCALAR && !v->quoted && v->len ? strtod(v->str, &end) : NAN;
    bool ok = end && !*end && isfinite(d) && d <= max && (min_open ? d > min : d >= min);
    if (!ok) {
        sy_cfg_err(c, v->mark, SY_PATH_KEY(path, key), "must be a number %s %g and at most %g",
                   min_open ? "above" : "from", min, max);
        return false;
    }
    *out = d;
    return true;
}

static void load_steps(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path, sy_rollout_cfg *ro)
{
    const sy_ynode *v = sy_cfg_get(c, map, path, "Steps", SY_REQ);
    const sy_fpath *sp = SY_PATH_KEY(path, "Steps");
    if (!v || !sy_cfg_node_list(c, v, sp))
        return;
    if (v->n == 0 || v->n > SY_ROLLOUT_MAX_STEPS) {
        sy_cfg_err(c, v->mark, sp, "must list 1 to %d percentages", SY_ROLLOUT_MAX_STEPS);
        return;
    }
    for (size_t i = 0; i < v->n; i++) {
        const sy_ynode *it = v->items[i];
        char *end = NULL;
        long n =
            it->kind == SY_YN_SCALAR && !it->quoted && it->len ? strtol(it->str, &end, 10) : -1;
        if (!end || *end || n < 1 || n > 100) {
            sy_cfg_err(c, it->mark, SY_PATH_IDX(sp, i), "must be a whole percentage from 1 to 100");
            return;
        }
        if (i && n <= ro->steps[i - 1]) {
            sy_cfg_err(c, it->mark, SY_PATH_IDX(sp, i), "steps must increase: %ld after %d", n,
                       ro->steps[i - 1]);
            return;
        }
        ro->steps[i] = (int)n;
    }
    ro->n_steps = v->n;
    if (ro->steps[v->n - 1] != 100)
        sy_cfg_err(c, v->items[v->n - 1]->mark, SY_PATH_IDX(sp, v->n - 1),
                   "the last step must be 100 (the policy keeps 100%% when the rollout succeeds)");
}

static void load_analysis(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path,
                          sy_rollout_cfg *ro)
{
    const sy_ynode *an = sy_cfg_get(c, map, path, "Analysis", SY_REQ);
    const sy_fpath *ap = SY_PATH_KEY(path, "Analysis");
    if (!an || !sy_cfg_map(c, an, ap, analysis_keys))
        return;
    int64_t n;
    sy_cfg_seconds(c, an, ap, "Interval", SY_OPT, 0.1, 3600, &ro->interval_ms);
    if (sy_cfg_int(c, an, ap, "MinRequests", SY_OPT, 1, 100000000, &n))
        ro->min_requests = (uint32_t)n;
    if (sy_cfg_int(c, an, ap, "FailureLimit", SY_OPT, 1, 100, &n))
        ro->failure_limit = (int)n;
    get_real(c, an, ap, "MaxErrorRate", 0, 1, false, &ro->max_error_rate);
    get_real(c, an, ap, "MaxErrorRateIncrease", 0, 1, false, &ro->max_error_rate_increase);
    get_real(c, an, ap, "MaxLatencyP99Ratio", 1, 1000, true, &ro->max_p99_ratio);
    if (ro->max_error_rate < 0 && ro->max_error_rate_increase < 0 && ro->max_p99_ratio < 0)
        sy_cfg_err(c, an->mark, ap,
                   "needs at least one of MaxErrorRate, MaxErrorRateIncrease, MaxLatencyP99Ratio");
}

/* Status: Phase and CurrentStep are read; the rest is kept as written. */
static void load_status(sy_cfg_ctx *c, const sy_ynode *v, const sy_fpath *path, sy_rollout_cfg *ro)
{
    const sy_fpath *sp = SY_PATH_KEY(path, "Status");
    if (v->kind != SY_YN_MAP) {
        sy_cfg_err(c, v->mark, sp, "must be a mapping, got %s", sy_ynode_what(v));
        return;
    }
    json_t *st = sy_ytree_to_json(v);
    const char *ph = json_string_value(json_object_get(st, "Phase"));
    int phase = sy_rollout_phase_of(ph);
    json_t *cs = json_object_get(st, "CurrentStep");
    if (phase < 0) {
        sy_cfg_err(c, v->mark, SY_PATH_KEY(sp, "Phase"),
                   "must be one of Pending, Progressing, Paused, RolledBack, Succeeded");
    } else if (cs && !json_is_integer(cs)) {
        sy_cfg_err(c, v->mark, SY_PATH_KEY(sp, "CurrentStep"), "must be a step index");
    } else {
        ro->phase = phase;
        json_int_t k = cs ? json_integer_value(cs) : 0;
        /* Steps edited shorter while running: hold the last step. */
        ro->step = k < 0 ? 0 : (int)k;
        ro->revision = json_integer_value(json_object_get(st, "Revision"));
        char *txt = json_dumps(st, JSON_COMPACT | JSON_PRESERVE_ORDER);
        ro->status_json = sy_arena_strdup(c->a, txt ? txt : "{}");
        free(txt);
    }
    json_decref(st);
}

static void load_rollout(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path,
                         sy_rollout_cfg *ro)
{
    int idx;
    ro->mark = map->mark;
    ro->interval_ms = 10000;
    ro->step_interval_ms = 60000;
    ro->min_requests = 100;
    ro->failure_limit = 1;
    ro->max_error_rate = ro->max_error_rate_increase = ro->max_p99_ratio = -1;
    ro->stats_slot = -1;
    if (!sy_cfg_map(c, map, path, rollout_keys))
        return;
    char *s;
    if (sy_cfg_id(c, map, path, "RolloutId", &s)) {
        for (size_t i = 0; c->cfg->rollouts + i < ro; i++)
            if (c->cfg->rollouts[i].id && strcmp(c->cfg->rollouts[i].id, s) == 0) {
                sy_cfg_err(c, sy_ymap_get(map, "RolloutId")->mark, SY_PATH_KEY(path, "RolloutId"),
                           "duplicate RolloutId \"%s\"", s);
                s = NULL;
                break;
            }
        ro->id = s;
    }
    sy_cfg_str(c, map, path, "PluginId", SY_REQ, &ro->plugin_id);
    sy_cfg_str(c, map, path, "StrategyName", SY_REQ, &ro->strategy);
    if (sy_cfg_str(c, map, path, "SplitBy", SY_OPT, &ro->split_by) && !*ro->split_by)
        sy_cfg_err(c, sy_ymap_get(map, "SplitBy")->mark, SY_PATH_KEY(path, "SplitBy"),
                   "must not be empty (omit it to split per request at random)");
    load_steps(c, map, path, ro);
    sy_cfg_seconds(c, map, path, "StepInterval", SY_OPT, 0.1, 86400, &ro->step_interval_ms);
    load_analysis(c, map, path, ro);
    if (sy_cfg_enum(c, map, path, "OnFailure", SY_OPT, on_failure, &idx))
        ro->on_failure_pause = idx == 1;
    const sy_ynode *st = sy_ymap_get(map, "Status");
    if (st && !sy_ynode_is_null(st))
        load_status(c, st, path, ro);
    if (ro->n_steps && ro->step >= (int)ro->n_steps)
        ro->step = (int)ro->n_steps - 1;
}

/* The plugin and policy a rollout ramps.  A finished rollout may outlive
 * its policy (it no longer gates anything); a running one may not. */
static void resolve(sy_cfg_ctx *c, const sy_ynode *map, const sy_fpath *path, sy_rollout_cfg *ro)
{
    if (!ro->plugin_id || !ro->strategy)
        return;
    const sy_plugin_cfg *pl = NULL;
    for (size_t i = 0; i < c->cfg->n_plugins && !pl; i++)
        if (c->cfg->plugins[i].id && strcmp(c->cfg->plugins[i].id, ro->plugin_id) == 0)
            pl = &c->cfg->plugins[i];
    bool need = sy_rollout_running(ro) || ro->phase == SY_RO_ROLLED_BACK;
    if (!pl) {
        if (sy_rollout_running(ro))
            sy_cfg_err(c, sy_ymap_get(map, "PluginId")->mark, SY_PATH_KEY(path, "PluginId"),
                       "no Routing plugin \"%s\"", ro->plugin_id);
        return;
    }
    size_t j = 0;
    while (j < pl->n_policies &&
           !(pl->policies[j].name && strcmp(pl->policies[j].name, ro->strategy) == 0))
        j++;
    if (j == pl->n_policies) {
        if (sy_rollout_running(ro))
            sy_cfg_err(c, sy_ymap_get(map, "StrategyName")->mark, SY_PATH_KEY(path, "StrategyName"),
                       "plugin \"%s\" has no policy \"%s\"", ro->plugin_id, ro->strategy);
        return;
    }
    sy_plugin_cfg *mp = (sy_plugin_cfg *)pl; /* the model is still being built */
    if (mp->rollout_of && mp->rollout_of[j]) {
        sy_cfg_err(c, sy_ymap_get(map, "StrategyName")->mark, SY_PATH_KEY(path, "StrategyName"),
                   "policy \"%s\" of plugin \"%s\" is already ramped by rollout \"%s\"",
                   ro->strategy, ro->plugin_id, mp->rollout_of[j]->id);
        return;
    }
    ro->plugin = pl;
    ro->policy_index = j;
    /* Succeeded: the policy is plain again, ungated and indexable. */
    if (!need)
        return;
    if (!mp->rollout_of)
        mp->rollout_of = sy_arena_alloc(c->a, pl->n_policies * sizeof *mp->rollout_of);
    mp->rollout_of[j] = ro;
}

void sy_cfg_load_rollouts(sy_cfg_ctx *c, const sy_ynode *list)
{
    sy_config *cfg = c->cfg;
    const sy_fpath *top = SY_PATH_TOP("Rollouts");
    if (!sy_cfg_node_list(c, list, top))
        return;
    cfg->rollouts = sy_arena_alloc(c->a, (list->n ? list->n : 1) * sizeof *cfg->rollouts);
    for (size_t i = 0; i < list->n; i++) {
        cfg->n_rollouts = i + 1;
        load_rollout(c, list->items[i], SY_PATH_IDX(top, i), &cfg->rollouts[i]);
    }
    for (size_t i = 0; i < list->n; i++) {
        sy_rollout_cfg *ro = &cfg->rollouts[i];
        if (list->items[i]->kind == SY_YN_MAP)
            resolve(c, list->items[i], SY_PATH_IDX(top, i), ro);
        ro->weight = ro->n_steps ? sy_rollout_weight(ro) : 0;
    }
}

void sy_rollouts_carry(const sy_config *running, sy_config *next)
{
    for (size_t i = 0; i < next->n_rollouts; i++) {
        sy_rollout_cfg *ro = &next->rollouts[i];
        if (ro->status_json || !ro->id || !ro->n_steps || !ro->plugin_id || !ro->strategy)
            continue;
        for (size_t k = 0; k < running->n_rollouts; k++) {
            const sy_rollout_cfg *old = &running->rollouts[k];
            if (!old->id || strcmp(old->id, ro->id) != 0 || !sy_rollout_running(old) ||
                !old->status_json || strcmp(old->plugin_id, ro->plugin_id) != 0 ||
                strcmp(old->strategy, ro->strategy) != 0)
                continue;
            ro->phase = old->phase;
            ro->step = old->step < (int)ro->n_steps ? old->step : (int)ro->n_steps - 1;
            ro->revision = old->revision;
            ro->status_json = sy_arena_strdup(&next->arena, old->status_json);
            ro->weight = sy_rollout_weight(ro);
            ro->carried = true;
            break;
        }
    }
}

/* ---- YAML ---- */

static void put_json_str(FILE *f, const char *s)
{
    json_t *j = json_string(s);
    char *t = json_dumps(j, JSON_ENCODE_ANY);
    fputs(t ? t : "\"\"", f);
    free(t);
    json_decref(j);
}

static void put_num(FILE *f, const char *key, double v)
{
    if (v >= 0)
        fprintf(f, "      %s: %.17g\n", key, v);
}

char *sy_rollouts_yaml(const sy_config *cfg)
{
    if (!cfg->n_rollouts)
        return NULL;
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f)
        abort();
    fputs("Rollouts:\n", f);
    for (size_t i = 0; i < cfg->n_rollouts; i++) {
        const sy_rollout_cfg *ro = &cfg->rollouts[i];
        fputs("  - RolloutId: ", f);
        put_json_str(f, ro->id);
        fputs("\n    PluginId: ", f);
        put_json_str(f, ro->plugin_id);
        fputs("\n    StrategyName: ", f);
        put_json_str(f, ro->strategy);
        if (ro->split_by) {
            fputs("\n    SplitBy: ", f);
            put_json_str(f, ro->split_by);
        }
        fputs("\n    Steps: [", f);
        for (size_t k = 0; k < ro->n_steps; k++)
            fprintf(f, "%s%d", k ? ", " : "", ro->steps[k]);
        fprintf(f,
                "]\n    StepInterval: %g\n    Analysis:\n      Interval: %g\n"
                "      MinRequests: %u\n      FailureLimit: %d\n",
                ro->step_interval_ms / 1000.0, ro->interval_ms / 1000.0, ro->min_requests,
                ro->failure_limit);
        put_num(f, "MaxErrorRate", ro->max_error_rate);
        put_num(f, "MaxErrorRateIncrease", ro->max_error_rate_increase);
        put_num(f, "MaxLatencyP99Ratio", ro->max_p99_ratio);
        fprintf(f, "    OnFailure: %s\n", ro->on_failure_pause ? "PAUSE" : "ROLLBACK");
        if (ro->status_json) /* JSON is a YAML flow mapping */
            fprintf(f, "    Status: %s\n", ro->status_json);
    }
    fclose(f);
    return out;
}
