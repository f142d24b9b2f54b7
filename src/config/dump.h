/* Serialising a loaded configuration back to YAML (admin API, `-T`). */
#ifndef SY_CONFIG_DUMP_H
#define SY_CONFIG_DUMP_H

#include "config/model.h"

enum {
    /* Write AdminToken in clear.  Without it the token is left out (a
     * comment says one is set) so the admin API never echoes a secret. */
    SY_DUMP_SECRETS = 1 << 0,
};

/* malloc'ed YAML text that sy_config_load_string accepts and that loads
 * into an equivalent model; the caller frees it. */
char *sy_config_dump_yaml(const sy_config *cfg);
char *sy_config_dump_yaml_ex(const sy_config *cfg, unsigned flags);

/* The configuration as a JSON document: Version, Gateway, Upstreams,
 * Services, Plugins, every list present (new reference). */
struct json_t;
struct json_t *sy_config_dump_json(const sy_config *cfg, unsigned flags);

#endif
