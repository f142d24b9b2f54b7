/* How a configuration lies in etcd: one key per object under
 * PREFIX/config/, so a change writes only the objects it changed.
 *
 *   PREFIX/config/version              the configuration's Version ("17")
 *   PREFIX/config/upstreams/ID         one upstream (JSON)
 *   PREFIX/config/services/ID          one service with its Apis and Releases
 *   PREFIX/config/plugins/ID           one plugin with its Attachments
 *
 * Values are the objects as the admin API shows them with every field
 * (JSON text).  IDs are percent-encoded outside [A-Za-z0-9._~-].  Keys
 * elsewhere under PREFIX (PREFIX/leader/... for elections) are not part
 * of the configuration; keys under PREFIX/config/ that are none of the
 * above are reported and ignored.  Each gateway's own Gateway section
 * stays in its -c file. */
#ifndef SY_STORE_LAYOUT_H
#define SY_STORE_LAYOUT_H

#include <jansson.h>
#include <stdbool.h>

/* Objects of a configuration document ({Version, Gateway, Upstreams,
 * Services, Plugins}) as {relative key: value}; "version" holds Version. */
json_t *sy_layout_split(const json_t *doc);

/* The document from objects ({relative key: value}) and a Gateway
 * section; lists are ordered by key.  Unknown keys are listed in
 * `ignored` (an array, may be NULL). */
json_t *sy_layout_join(const json_t *objects, const json_t *gateway, json_t *ignored);

/* Whether a relative key names an object ("upstreams/ID"...). */
bool sy_layout_is_object(const char *key);

/* "upstreams/ID" for kind "upstreams" (malloc'd). */
char *sy_layout_key(const char *kind, const char *id);

#endif
