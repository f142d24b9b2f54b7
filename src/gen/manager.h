/* The config manager: the one place a configuration becomes the running
 * one.  Admin API changes and SIGHUP reloads both go through it, under one
 * mutex, so changes are applied one at a time and in order.
 *
 * Committing a configuration: compile it into a snapshot (refused with
 * every problem when anything fails), store it durably (sy_store), then
 * publish it (the admin thread and every worker hold it when commit
 * returns).  Nothing is published that was not stored first, so what a
 * caller was told succeeded survives a crash. */
#ifndef SY_GEN_MANAGER_H
#define SY_GEN_MANAGER_H

#include "gen/snapshot.h"
#include "config/store.h"

/* Hands a snapshot to the rest of the process (sy_admin_publish then
 * sy_workers_publish); returns when every worker holds it. */
typedef void sy_cfgmgr_publish_cb(sy_snapshot *s);

/* `initial` is the published generation (sy_snapshot_current); the store
 * and callback are kept for the life of the process. */
void sy_cfgmgr_init(sy_store *store, int n_workers, sy_cfgmgr_publish_cb *publish);

void sy_cfgmgr_lock(void);
void sy_cfgmgr_unlock(void);

/* Under the lock: the running snapshot (borrowed; valid until the lock is
 * released). */
sy_snapshot *sy_cfgmgr_current(void);

enum {
    SY_CFGMGR_OK = 0,
    SY_CFGMGR_INVALID = -1,
    SY_CFGMGR_STORE = -2,       /* the store failed: 500 */
    SY_CFGMGR_CONFLICT = -3,    /* a shared store changed concurrently: 409 */
    SY_CFGMGR_UNAVAILABLE = -4, /* a shared store is unreachable: 503 */
};

/* Under the lock: make `cfg` the running configuration.  Its version must
 * be above the running one.  On success the snapshot owns cfg; on failure
 * the caller still does, nothing changed, and errs (INVALID) or err
 * (STORE) says why. */
int sy_cfgmgr_commit(sy_config *cfg, sy_errors *errs, char *err, size_t errlen);
/* Same, storing `stored` (the text cfg was loaded from, secrets included)
 * instead of dumping cfg again. */
int sy_cfgmgr_commit_text(sy_config *cfg, const char *stored, sy_errors *errs, char *err,
                          size_t errlen);

/* Under the lock: before an edit, catch up with a shared store (a no-op
 * for the file store).  OK, or CONFLICT/UNAVAILABLE/STORE with err. */
int sy_cfgmgr_sync(char *err, size_t errlen);

/* For shared stores (store/fleet.c), all under the lock: publish s (it
 * becomes current, the lock's waiters are woken); wait up to ms for a
 * sy_cfgmgr_notify, releasing the lock meanwhile (false on timeout);
 * wake the waiters. */
void sy_cfgmgr_publish(sy_snapshot *s);
bool sy_cfgmgr_wait_ms(int ms);
void sy_cfgmgr_notify(void);
int sy_cfgmgr_workers(void);

/* SIGHUP: read the store again and publish it (not written back).  Its
 * version is raised above the running one when it is not already. */
int sy_cfgmgr_reload(sy_errors *errs);

#endif
