/* Request counters: per (service, environment, API) and per Routing policy,
 * by status class, summed over the workers when scraped.
 *
 * Hot path (sy_stats_on_request, called once per finished request from
 * the access-log hook): no lock, no allocation after warm-up.  Each worker
 * owns its counter cells (four 64-byte cache lines per series, so workers
 * never share a line) and writes them with plain relaxed stores; scrapers
 * read them with relaxed loads and add the workers up.
 *
 * Series are keyed by name (service id + environment + API id, plugin id +
 * policy name), never by config pointer, so a reload that keeps a name
 * keeps its counter.  A worker maps the dense indexes of the snapshot a
 * request ran on (API index, policy position) to series ids through a
 * small per-generation table it fills lazily; only filling an entry takes
 * the registry lock.  Two policies sharing a name in one plugin share a
 * counter. */
#ifndef SY_STATS_STATS_H
#define SY_STATS_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "gen/snapshot.h"
#include "router/router.h"

/* Status classes: [0] anything outside 100..599, [1]..[5] 1xx..5xx. */
#define SY_STATS_CLASSES 6
/* Their names as /metrics' code_class and /v1/traffic's keys: "other", "1xx".. */
extern const char *const sy_stats_class_names[SY_STATS_CLASSES];

/* Set up n_workers counter slots.  Call once before the workers start;
 * until then (and for worker ids out of range) on_request does nothing. */
void sy_stats_init(int n_workers);
/* Free everything (only when no worker or scraper runs any more). */
void sy_stats_shutdown(void);

/* Duration histogram buckets: fixed upper bounds in microseconds (and the
 * same in seconds as Prometheus `le` text); bucket SY_STATS_BUCKETS is +Inf. */
#define SY_STATS_BUCKETS 16
extern const uint64_t sy_stats_bucket_us[SY_STATS_BUCKETS];
extern const char *const sy_stats_bucket_le[SY_STATS_BUCKETS];

/* What one finished request contributes besides its route. */
typedef struct sy_stats_obs {
    int status;
    uint64_t duration_us;            /* first head byte to the access-log line */
    uint64_t bytes_in;               /* request body bytes from the client */
    uint64_t bytes_out;              /* response bytes to the client */
    const sy_upstream_cfg *upstream; /* the upstream it went to (in s->cfg), or NULL */
} sy_stats_obs;

/* Count one finished request of worker `worker` (its own thread only):
 * routed as rt under generation s (NULL = before any). */
void sy_stats_on_request(int worker, const sy_snapshot *s, const sy_route *rt,
                         const sy_stats_obs *o);
/* Count one SIGHUP reload attempt. */
void sy_stats_on_reload(bool ok);
uint64_t sy_stats_reloads(bool ok);
/* Client receive buffers worker `worker` holds (its own thread only adds
 * +1 / -1): connections reading a request hold one, idle keep-alive
 * connections none.  The sum over the workers: */
void sy_stats_rbuf(int worker, int delta);
uint64_t sy_stats_rbufs(void);

/* Open connections, as gauges kept per worker like rbuf (the worker's own
 * thread adds +1 / -1) and summed at scrape. */
enum sy_stats_gauge { SY_GAUGE_CLIENT_CONNS, SY_GAUGE_BACKEND_CONNS, SY_GAUGE_N };
void sy_stats_gauge_add(int worker, enum sy_stats_gauge g, int delta);
uint64_t sy_stats_gauge(enum sy_stats_gauge g);

enum sy_stats_kind { SY_STATS_API, SY_STATS_POLICY, SY_STATS_UPSTREAM };

typedef struct sy_stats_series {
    enum sy_stats_kind kind;
    /* API: service, env, api ("" when the request got no further).
     * POLICY: plugin id, policy name, unused ("").
     * UPSTREAM: upstream id, "", "". */
    const char *labels[3];
    uint64_t by_class[SY_STATS_CLASSES];
    uint64_t matched; /* POLICY: requests the policy won */
    /* Duration histogram, NOT cumulative: bucket[i] counts durations in
     * (bound[i-1], bound[i]], bucket[SY_STATS_BUCKETS] those above the
     * last bound.  count is their sum (so it equals the +Inf bucket even
     * while workers are counting). */
    uint64_t bucket[SY_STATS_BUCKETS + 1];
    uint64_t count, sum_us;
    uint64_t bytes_in, bytes_out;
} sy_stats_series;

typedef void sy_stats_series_cb(void *ud, const sy_stats_series *s);

/* Every series in creation order, summed over the workers.  The registry
 * lock is held during the walk: cb must not call back into stats. */
void sy_stats_foreach(sy_stats_series_cb *cb, void *ud);

#endif
