/* The Rollouts section (config/rollout.c, doc/rollouts.md). */
#ifndef SY_CONFIG_ROLLOUT_H
#define SY_CONFIG_ROLLOUT_H

#include <stdbool.h>

#include "config/model.h"

/* Index of a phase name, or -1. */
int sy_rollout_phase_of(const char *s);
/* The share, percent, that ro's phase and step give its policy. */
int sy_rollout_weight(const sy_rollout_cfg *ro);
/* Pending, Progressing or Paused: the controller still owns it. */
bool sy_rollout_running(const sy_rollout_cfg *ro);
/* A reload or a whole-configuration PUT whose document has no Status for
 * a rollout that runs (same RolloutId, plugin and policy) keeps the
 * running Status: re-applying one's own YAML never starts a rollout over.
 * The controller stores the Status again (ro->carried). */
void sy_rollouts_carry(const sy_config *running, sy_config *next);
/* The Rollouts section as YAML (malloc'ed), or NULL when there is none. */
char *sy_rollouts_yaml(const sy_config *cfg);

#endif
