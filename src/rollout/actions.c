/* Admin actions on a rollout and the guard on its policy (rollout.h).
 * Both edit or read the configuration being changed, under the config
 * manager's lock; the admin API commits it. */
#include <stdio.h>
#include <string.h>

#include "config/dump.h"
#include "config/rollout.h"
#include "rollout/rollout.h"

static const sy_rollout_cfg *running_rollout(const sy_config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->n_rollouts; i++)
        if (cfg->rollouts[i].id && strcmp(cfg->rollouts[i].id, id) == 0)
            return &cfg->rollouts[i];
    return NULL;
}

static json_t *find(json_t *arr, const char *key, const char *id)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(json_object_get(v, key));
        if (s && id && strcmp(s, id) == 0)
            return v;
    }
    return NULL;
}

int sy_rollout_action(json_t *doc, const sy_config *running, const char *id, const char *action,
                      char *msg, size_t cap)
{
    json_t *item = find(json_object_get(doc, "Rollouts"), "RolloutId", id);
    const sy_rollout_cfg *ro = running_rollout(running, id);
    if (!item || !ro) {
        snprintf(msg, cap, "no rollout \"%s\"", id);
        return 404;
    }
    int from = ro->phase, to, step = ro->step;
    const char *reason;
    if (strcmp(action, "pause") == 0) {
        to = SY_RO_PAUSED;
        reason = "paused by the admin API";
        if (from != SY_RO_PROGRESSING && from != SY_RO_PENDING)
            goto refused;
    } else if (strcmp(action, "resume") == 0) {
        to = SY_RO_PROGRESSING;
        reason = "resumed by the admin API";
        if (from != SY_RO_PAUSED)
            goto refused;
    } else if (strcmp(action, "abort") == 0) {
        to = SY_RO_ROLLED_BACK;
        reason = "aborted by the admin API";
        if (!sy_rollout_running(ro))
            goto refused;
    } else if (strcmp(action, "promote") == 0) {
        to = SY_RO_SUCCEEDED;
        reason = "promoted by the admin API";
        if (!sy_rollout_running(ro))
            goto refused;
    } else {
        snprintf(msg, cap, "no action \"%s\" (pause, resume, abort, promote)", action);
        return 404;
    }
    /* The controller's live Status has the verdicts since its last
     * commit, but only while it is the stored one's (same Revision). */
    json_t *st = json_object_get(item, "Status");
    json_t *status = sy_rollout_live_status(id);
    if (!status || !json_is_object(st) ||
        !json_equal(json_object_get(status, "Revision"), json_object_get(st, "Revision"))) {
        json_decref(status);
        status = json_is_object(st) ? json_deep_copy(st) : json_object();
    }
    json_object_set_new(status, "Revision",
                        json_integer(json_integer_value(json_object_get(status, "Revision")) + 1));
    int weight = to == SY_RO_SUCCEEDED ? 100 : to == SY_RO_ROLLED_BACK ? 0 : ro->steps[step];
    sy_rollout_transition(status, from, to, step, weight, reason);
    json_object_set_new(item, "Status", status);
    return 0;
refused:
    snprintf(msg, cap, "rollout \"%s\" is %s: it cannot %s", id, sy_rollout_phase_names[from],
             action);
    return 409;
}

/* Whether plugin p of doc still has a policy named `name` (PluginData
 * still the marker of a dump with SY_DUMP_KEEP_POLICIES: the running
 * plugin's policies). */
static bool has_policy(const sy_config *running, json_t *p, const char *name)
{
    json_t *data = json_object_get(p, "PluginData");
    long k = json_is_string(data)
                 ? sy_dump_kept_plugin(json_string_value(data), json_string_length(data))
                 : -1;
    if (k >= 0 && (size_t)k < running->n_plugins) {
        const sy_plugin_cfg *pl = &running->plugins[k];
        for (size_t i = 0; i < pl->n_policies; i++)
            if (pl->policies[i].name && strcmp(pl->policies[i].name, name) == 0)
                return true;
        return false;
    }
    json_t *parsed = NULL;
    if (json_is_string(data)) /* Tencent's API carries it as a JSON string */
        data = parsed = json_loads(json_string_value(data), 0, NULL);
    bool found = find(data, "strategy_name", name) != NULL;
    json_decref(parsed);
    return found;
}

int sy_rollout_guard(const sy_config *running, json_t *doc, char *msg, size_t cap)
{
    json_t *list = json_object_get(doc, "Rollouts");
    for (size_t i = 0; i < running->n_rollouts; i++) {
        const sy_rollout_cfg *ro = &running->rollouts[i];
        if (!sy_rollout_running(ro) || !ro->plugin)
            continue;
        json_t *item = find(list, "RolloutId", ro->id);
        if (!item)
            continue; /* the rollout itself goes */
        const char *pid = json_string_value(json_object_get(item, "PluginId"));
        const char *pol = json_string_value(json_object_get(item, "StrategyName"));
        if (!pid || !pol || strcmp(pid, ro->plugin_id) != 0 || strcmp(pol, ro->strategy) != 0)
            continue; /* retargeted: the loader checks the new target */
        json_t *p = find(json_object_get(doc, "Plugins"), "PluginId", pid);
        if (p && has_policy(running, p, pol))
            continue;
        snprintf(msg, cap,
                 "policy \"%s\" of plugin \"%s\" is ramped by rollout \"%s\" (%s): abort, "
                 "promote or delete the rollout first",
                 pol, pid, ro->id, sy_rollout_phase_names[ro->phase]);
        return 409;
    }
    return 0;
}
