/* Loading a configuration: YAML text -> validated sy_config (model.h).
 *
 * Both loaders collect every problem into `errs` (messages formatted
 * "FILE:LINE:COLUMN: field.path: reason") and return NULL when there was
 * at least one; the caller owns errs and frees it with sy_errors_free.
 * A returned config is complete: defaults applied, ids unique, references
 * (upstreams, services, APIs) resolved. */
#ifndef SY_CONFIG_LOAD_H
#define SY_CONFIG_LOAD_H

#include <stddef.h>

#include "config/model.h"

sy_config *sy_config_load_file(const char *path, sy_errors *errs);
/* `name` is used in messages in place of a file name. */
sy_config *sy_config_load_string(const char *text, size_t len, const char *name, sy_errors *errs);
/* A document already parsed from JSON (the admin API): the same loader
 * and validator; messages carry `name` and position 1:1, and the field
 * path is what locates a problem. */
struct json_t;
sy_config *sy_config_load_json(const struct json_t *doc, const char *name, sy_errors *errs);
/* The same for a document dumped from `base` with SY_DUMP_KEEP_POLICIES
 * (config/dump.h) and edited: a PluginData still holding its marker takes
 * that plugin's policies from `base`, copied, not parsed again.  `base`
 * must stay alive during the call (the config manager's lock). */
sy_config *sy_config_load_json_on(const struct json_t *doc, const char *name, const sy_config *base,
                                  sy_errors *errs);
void sy_config_free(sy_config *cfg);

/* Set the Gateway defaults (also used by the loader for a missing
 * section). */
void sy_gateway_defaults(sy_gateway_cfg *gw, sy_arena *a);

#endif
