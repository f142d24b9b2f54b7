/* See manager.h. */
#include "gen/manager.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/dump.h"
#include "config/load.h"

static struct {
    pthread_mutex_t mu;
    sy_store *store;
    int n_workers;
    sy_cfgmgr_publish_cb *publish;
} M = {.mu = PTHREAD_MUTEX_INITIALIZER};

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

int sy_cfgmgr_commit(sy_config *cfg, sy_errors *errs, char *err, size_t errlen)
{
    sy_snapshot *s = sy_snapshot_build(cfg, M.n_workers, errs);
    if (!s)
        return SY_CFGMGR_INVALID;
    char *text = sy_config_dump_yaml_ex(cfg, SY_DUMP_SECRETS);
    int rc = M.store->ops->save(M.store, text, strlen(text), cfg->version, err, errlen);
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
    sy_snapshot *s = sy_snapshot_build(cfg, M.n_workers, errs);
    if (!s) {
        sy_config_free(cfg);
        return SY_CFGMGR_INVALID;
    }
    M.publish(s);
    return SY_CFGMGR_OK;
}
