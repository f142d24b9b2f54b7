/* Serialising a loaded configuration back to YAML (admin API, `-T`). */
#ifndef SY_CONFIG_DUMP_H
#define SY_CONFIG_DUMP_H

#include <stdint.h>

#include "config/model.h"

enum {
    /* Write AdminToken in clear.  Without it the token is left out (a
     * comment says one is set) so the admin API never echoes a secret. */
    SY_DUMP_SECRETS = 1 << 0,
    /* Write each plugin's PluginData as a marker naming it in this
     * configuration instead of its policies.  For documents an admin
     * change edits and loads back against the same running configuration
     * (sy_config_load_json_on): an unrelated change, or a plugin edit
     * that leaves PluginData alone, then costs no text, tree or JSON of
     * 100,000 policies.  Never shown or stored: the marker means nothing
     * to another configuration or process. */
    SY_DUMP_KEEP_POLICIES = 1 << 1,
};

/* The plugin index a SY_DUMP_KEEP_POLICIES marker names, or -1 when
 * s[0..len) is not one written by this process. */
long sy_dump_kept_plugin(const char *s, size_t len);

/* malloc'ed YAML text that sy_config_load_string accepts and that loads
 * into an equivalent model; the caller frees it. */
char *sy_config_dump_yaml(const sy_config *cfg);
char *sy_config_dump_yaml_ex(const sy_config *cfg, unsigned flags);

/* The configuration as a JSON document: Version, Gateway, Upstreams,
 * Services, Plugins, every list present (new reference). */
struct json_t;
struct json_t *sy_config_dump_json(const sy_config *cfg, unsigned flags);

/* The dump with one more policy at the end of plugin `plugin`'s
 * PluginData (`policy`: a JSON object's text, which YAML reads as a flow
 * mapping) and `version` as its Version: the admin API's one-policy add
 * (admin/res_plugins.c) loads this instead of a JSON round trip. */
typedef struct sy_dump_add {
    size_t plugin;
    const char *policy;
    uint64_t version;
} sy_dump_add;
char *sy_config_dump_yaml_add(const sy_config *cfg, unsigned flags, const sy_dump_add *add);

#endif
