/* See rollout_stats.h. */
#include "stats/rollout_stats.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "config/fields.h"
#include "core/arena.h"

/* Roughly 1.5x apart from 1 ms to 60 s: fine enough that p99 of a few
 * milliseconds and of 200 ms land in different buckets. */
const double sy_ro_hist_le_ms[SY_RO_HIST] = {1,    2,    3,    5,     8,     12,   20,  30,
                                             50,   75,   100,  150,   200,   300,  500, 750,
                                             1000, 2000, 5000, 10000, 60000, 1e300};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static char reg_ids[SY_RO_MAX][SY_ID_MAX + 1];
static int reg_n;
static int n_workers;
/* [worker][slot][arm 0..1] */
static sy_ro_counts (*cells)[SY_RO_MAX][2];

void sy_ro_stats_init(int workers)
{
    cells = sy_calloc((size_t)workers, sizeof(*cells));
    n_workers = workers;
}

int sy_ro_stats_slot(const char *id)
{
    int slot = -1;
    pthread_mutex_lock(&reg_lock);
    for (int i = 0; i < reg_n && slot < 0; i++)
        if (strcmp(reg_ids[i], id) == 0)
            slot = i;
    if (slot < 0 && reg_n < SY_RO_MAX && strlen(id) <= SY_ID_MAX) {
        strcpy(reg_ids[reg_n], id);
        slot = reg_n++;
    }
    pthread_mutex_unlock(&reg_lock);
    return slot;
}

static inline void bump(uint64_t *p, uint64_t by)
{
    __atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + by, __ATOMIC_RELAXED);
}

void sy_ro_stats_add(int worker, int slot, int arm, int status, uint64_t ms)
{
    if (!cells || worker < 0 || worker >= n_workers || slot < 0 || slot >= SY_RO_MAX || arm < 1 ||
        arm > 2)
        return;
    sy_ro_counts *c = &cells[worker][slot][arm - 1];
    bump(&c->requests, 1);
    if (status >= 500 || status < 100)
        bump(&c->errors, 1);
    bump(&c->latency_ms_sum, ms);
    int b = 0;
    while (b < SY_RO_HIST - 1 && (double)ms > sy_ro_hist_le_ms[b])
        b++;
    bump(&c->hist[b], 1);
}

void sy_ro_stats_on_request(int worker, const sy_route *rt, int status, uint64_t ms)
{
    if (!rt || !rt->rollout || rt->arm == 0)
        return;
    /* A cache in the (otherwise immutable) model: every writer stores the
     * same value, so the race is benign; atomics keep it defined. */
    int *cache = (int *)&((sy_rollout_cfg *)rt->rollout)->stats_slot;
    int slot = __atomic_load_n(cache, __ATOMIC_RELAXED);
    if (slot < 0) {
        slot = sy_ro_stats_slot(rt->rollout->id);
        __atomic_store_n(cache, slot, __ATOMIC_RELAXED);
    }
    sy_ro_stats_add(worker, slot, rt->arm, status, ms);
}

bool sy_ro_stats_sum(const char *id, int arm, sy_ro_counts *out)
{
    memset(out, 0, sizeof(*out));
    int slot = -1;
    pthread_mutex_lock(&reg_lock);
    for (int i = 0; i < reg_n && slot < 0; i++)
        if (strcmp(reg_ids[i], id) == 0)
            slot = i;
    pthread_mutex_unlock(&reg_lock);
    if (slot < 0 || !cells || arm < 1 || arm > 2)
        return false;
    for (int w = 0; w < n_workers; w++) {
        const sy_ro_counts *c = &cells[w][slot][arm - 1];
        out->requests += __atomic_load_n(&c->requests, __ATOMIC_RELAXED);
        out->errors += __atomic_load_n(&c->errors, __ATOMIC_RELAXED);
        out->latency_ms_sum += __atomic_load_n(&c->latency_ms_sum, __ATOMIC_RELAXED);
        for (int b = 0; b < SY_RO_HIST; b++)
            out->hist[b] += __atomic_load_n(&c->hist[b], __ATOMIC_RELAXED);
    }
    return true;
}

double sy_ro_hist_quantile(const uint64_t *hist, double q)
{
    uint64_t total = 0;
    for (int b = 0; b < SY_RO_HIST; b++)
        total += hist[b];
    if (!total)
        return 0;
    double rank = q * (double)total, seen = 0;
    for (int b = 0; b < SY_RO_HIST; b++) {
        if (hist[b] && seen + (double)hist[b] >= rank) {
            double lo = b ? sy_ro_hist_le_ms[b - 1] : 0;
            if (b == SY_RO_HIST - 1) /* +Inf: its lower bound is all we know */
                return lo;
            double hi = sy_ro_hist_le_ms[b];
            return lo + (hi - lo) * ((rank - seen) / (double)hist[b]);
        }
        seen += (double)hist[b];
    }
    return sy_ro_hist_le_ms[SY_RO_HIST - 2];
}
