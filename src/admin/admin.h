/* The admin API: a small HTTP/1.1 server on Gateway.AdminListen, in its
 * own thread with its own event loop, so nothing it does (explaining a
 * request, rendering metrics) ever runs on a worker.
 *
 *   GET  /metrics       Prometheus text format 0.0.4
 *   GET  /v1/status     version, config generation, workers, uptime
 *   POST /v1/explain    how a request would be routed (router/explain.h)
 *
 * With an AdminToken (Gateway.AdminToken, else SWITCHYARD_ADMIN_TOKEN)
 * every call needs `Authorization: Bearer TOKEN`: 401 without one, 403
 * with a wrong one.  Errors are JSON {"error": word, "message": text}. */
#ifndef SY_ADMIN_ADMIN_H
#define SY_ADMIN_ADMIN_H

#include "gen/snapshot.h"

/* Start the listener on s->cfg->gw.admin_listen unless AdminListen is
 * "off" (then a no-op).  Takes its own reference to s.  Returns 0, or -1
 * after logging (address in use...). */
int sy_admin_start(sy_snapshot *s, int n_workers);

/* A reload succeeded: the admin API serves `s` from now on (call before
 * the old generation can be released: the main thread still holds s).
 * Also counts the reload for switchyard_config_reloads_total. */
void sy_admin_publish(sy_snapshot *s);
/* A reload was refused (switchyard_config_reload_failures_total); `why`
 * (the loader's messages, one a line, or NULL) is kept for /v1/status and
 * the dashboard until the next reload. */
void sy_admin_reload_failed(const char *why);

/* Stop the thread, close every admin connection, drop the reference. */
void sy_admin_stop(void);

#endif
