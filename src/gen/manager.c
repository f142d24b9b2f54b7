/* See manager.h. */
#include "gen/manager.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/dump.h"
#include "config/load.h"
#include "config/rollout.h"

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* sy_cfgmgr_notify */
    sy_store *store;
    int n_workers;
    sy_cfgmgr_publish_cb *publish;
} M = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

void sy_cfgmgr_init(sy_store *store, int n_workers, sy_cfgmgr_publish_cb *publish)
{
    M.store = store;
    M.n_workers = n_workers;
    M.publish = publish;
}

void sy_cfgmgr_lock(void)
{
    pthread_mutex_lock(&M.mu);
}

void sy_cfgmgr_unlock(void)
{
    pthread_mutex_unlock(&M.mu);
}

sy_snapshot *sy_cfgmgr_current(void)
{
    return atomic_load(&sy_snapshot_current);
}

static int from_store(int rc)
{
    return rc == SY_STORE_CONFLICT      ? SY_CFGMGR_CONFLICT
           : rc == SY_STORE_UNAVAILABLE ? SY_CFGMGR_UNAVAILABLE
                                        : SY_CFGMGR_STORE;
}

int sy_cfgmgr_sync(char *err, size_t errlen)
{
    if (!M.store || !M.store->ops->sync)
        return SY_CFGMGR_OK;
    int rc = M.store->ops->sync(M.store, err, errlen);
    return rc == 0 ? SY_CFGMGR_OK : from_store(rc);
}

void sy_cfgmgr_publish(sy_snapshot *s)
{
    M.publish(s);
    pthread_cond_broadcast(&M.cv);
}

bool sy_cfgmgr_wait_ms(int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return pthread_cond_timedwait(&M.cv, &M.mu, &ts) != ETIMEDOUT;
}

void sy_cfgmgr_notify(void)
{
    pthread_cond_broadcast(&M.cv);
}

int sy_cfgmgr_workers(void)
{
    return M.n_workers;
}

int sy_cfgmgr_commit(sy_config *cfg, sy_errors *errs, char *err, size_t errlen)
{
    return sy_cfgmgr_commit_text(cfg, NULL, errs, err, errlen);
}

int sy_cfgmgr_commit_text(sy_config *cfg, const char *stored, sy_errors *errs, char *err,
                          size_t errlen)
{
    sy_snapshot *s = sy_snapshot_build(cfg, M.n_workers, errs);
    if (!s)
        return SY_CFGMGR_INVALID;
    if (M.store->ops->commit) {
        /* A shared store publishes through its watch (or directly when
         * nothing else changed in between). */
        int rc = M.store->ops->commit(M.store, s, err, errlen);
        if (rc == 0)
            return SY_CFGMGR_OK;
        s->cfg = NULL; /* the caller keeps cfg */
        sy_snapshot_unref(s);
        return from_store(rc);
    }
    char *text = stored ? NULL : sy_config_dump_yaml_ex(cfg, SY_DUMP_SECRETS);
    const char *t = stored ? stored : text;
    int rc = M.store->ops->save(M.store, t, strlen(t), cfg->version, err, errlen);
    free(text);
    if (rc != 0) {
        s->cfg = NULL; /* the caller keeps cfg */
        sy_snapshot_unref(s);
        return SY_CFGMGR_STORE;
    }
    M.publish(s);
    return SY_CFGMGR_OK;
}

int sy_cfgmgr_reload(sy_errors *errs)
{
    size_t len;
    char *text = M.store->ops->load(M.store, &len, errs);
    if (!text)
        return SY_CFGMGR_INVALID;
    sy_config *cfg = sy_config_load_string(text, len, M.store->name, errs);
    free(text);
    if (!cfg)
        return SY_CFGMGR_INVALID;
    uint64_t cur = sy_cfgmgr_current()->cfg->version;
    if (cfg->version <= cur)
        cfg->version = cur + 1;
    sy_rollouts_carry(sy_cfgmgr_current()->cfg, cfg);
    sy_snapshot *s = sy_snapshot_build(cfg, M.n_workers, errs);
    if (!s) {
        sy_config_free(cfg);
        return SY_CFGMGR_INVALID;
    }
    M.publish(s);
    return SY_CFGMGR_OK;
}
