/* Request → (service, environment, API, policy, backend).
 *
 * Built once per config snapshot from the validated model; routing a
 * request allocates nothing and only reads the tables. */
#ifndef SY_ROUTER_ROUTER_H
#define SY_ROUTER_ROUTER_H

#include "config/model.h"
#include "router/reqview.h"

#define SY_ROUTE_MAX_PARAMS 16

typedef struct sy_router sy_router;
struct sy_policy_table;

typedef struct sy_route {
    int status;                  /* 0 when routed, else 404 / 405 */
    const char *error;           /* short reason when status != 0 */
    const sy_domain_cfg *domain; /* the domain entry Host matched, or NULL */
    const sy_service_cfg *service;
    int env; /* sy_env index, -1 when unknown */
    const sy_api_cfg *api;
    size_t api_index;                       /* dense index over all APIs, for counters */
    const struct sy_policy_table *policies; /* attached Routing plugin or NULL */
    const sy_plugin_cfg *plugin;
    const sy_policy_cfg *policy;   /* matched policy, NULL = API default */
    const sy_backend_cfg *backend; /* what the request goes to */
    const sy_rollout_cfg *rollout; /* the rollout the request is an arm of, or NULL */
    int arm;                       /* enum sy_rollout_arm (router/policy.h) */
    sy_str rel_path;               /* path with the environment prefix removed */
    sy_str remainder;              /* rel_path beyond the API path */
    size_t n_params;
    sy_str param_names[SY_ROUTE_MAX_PARAMS];
    sy_str param_values[SY_ROUTE_MAX_PARAMS];
} sy_route;

sy_router *sy_router_build(sy_arena *a, const sy_config *cfg, sy_errors *errs);

/* Resolve service, environment and API from rv->host and `full_path` (the
 * request path as received, no query) and method.  Fills rv->path with the
 * environment-relative path.  Does not evaluate routing policies. */
void sy_router_resolve(const sy_router *r, sy_req_view *rv, sy_str full_path, sy_route *out);

/* Evaluate the attached Routing plugin (if any) and set out->policy and
 * out->backend. */
void sy_router_pick_backend(const sy_router *r, const sy_req_view *rv, sy_route *out);

size_t sy_router_api_count(const sy_router *r);

/* Free what the arena does not own (compiled policy tables). */
void sy_router_free(sy_router *r);

/* Write the backend path for a routed request into buf (NUL-terminated):
 * ServiceConfig.Path + remainder, {var}s substituted.  Returns the length,
 * or -1 if it does not fit. */
int sy_route_backend_path(const sy_route *rt, char *buf, size_t cap);

#endif
