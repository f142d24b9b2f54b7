/* The etcd config store: a fleet of gateways sharing one configuration
 * (doc/fleet.md).
 *
 * Every gateway lists PREFIX/config/ at a revision R, builds its
 * snapshot, and watches from R+1 in a thread of its own; a second thread
 * applies what the watch delivers: in revision order, every event of a
 * revision in one snapshot, everything queued while it compiled in the
 * next one (bursts coalesce).  A canceled watch (compaction), a revision
 * that goes backwards (etcd restored or wiped) or a broken stream lead to a
 * fresh list, never to a skipped event.
 *
 * An admin change is one etcd transaction conditioned on the
 * mod_revisions this gateway read (the version key, which every change
 * writes, and each key it writes or deletes): a concurrent change makes it
 * fail (409), never lose an update.  It returns once this gateway runs it.
 *
 * While etcd is unreachable the last good snapshot keeps serving, the
 * watch retries with back-off and jitter, status and metrics say since
 * when it is stale, and admin writes get 503.  With CacheFile the last
 * applied configuration is kept on disk (atomically) so a gateway can start
 * while etcd is down and catch up when it returns. */
#ifndef SY_STORE_FLEET_H
#define SY_STORE_FLEET_H

#include <jansson.h>
#include <stdbool.h>

#include "config/store.h"
#include "gen/snapshot.h"
#include "core/buf.h"

/* `local` is this gateway's -c file (its Gateway section has
 * ConfigStore.Type etcd; it is copied).  Lists etcd, or when etcd cannot be
 * reached and allow_cache, reads the cache file; *snap gets the first
 * snapshot.  NULL with every problem in errs. */
sy_store *sy_fleet_open(const sy_config *local, int n_workers, bool allow_cache, sy_snapshot **snap,
                        sy_errors *errs);

/* Start the watch and apply threads (after the snapshot was published). */
int sy_fleet_start(sy_store *st);

/* Whether this gateway leads the fleet now (lease election on
 * PREFIX/leader/controller, store/leader.h); false without an etcd store. */
bool sy_fleet_is_leader(void);

/* SIGHUP: list again. */
void sy_fleet_relist(sy_store *st);

/* The running fleet store's state for /v1/status ({...} or NULL when the
 * file store runs) and /metrics. */
json_t *sy_fleet_status(void);
void sy_fleet_metrics(sy_buf *out);

/* `switchyard store export|import|...` (cli). */
int sy_fleet_cli(int argc, char **argv);

#endif
