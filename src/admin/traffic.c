/* GET /v1/traffic: the request counters behind /metrics, as JSON, for the
 * dashboard's live traffic page (doc/dashboard.md).
 *
 * Totals only: requests/s, error share and p99 are differences between two
 * readings, which the page computes itself (the server keeps no history
 * and no per-client state).  `now_ms` is the gateway's monotonic clock, so
 * rates do not depend on the browser's timer.  Buckets are per bucket (not
 * cumulative), with `bucket_bounds` in seconds; the last one is +Inf. */
#include <stdlib.h>
#include <string.h>

#include "admin/admin_int.h"
#include "net/loop.h"
#include "stats/stats.h"

typedef struct traffic {
    const sy_config *cfg;
    json_t *apis, *policies, *upstreams;
} traffic;

static const sy_service_cfg *service_of(const sy_config *cfg, const char *id)
{
    for (size_t i = 0; *id && i < cfg->n_services; i++)
        if (strcmp(cfg->services[i].id, id) == 0)
            return &cfg->services[i];
    return NULL;
}

static const sy_upstream_cfg *upstream_of(const sy_config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->n_upstreams; i++)
        if (strcmp(cfg->upstreams[i].id, id) == 0)
            return &cfg->upstreams[i];
    return NULL;
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* Called with the stats registry locked: touches only the series and cfg. */
static void on_series(void *ud, const sy_stats_series *s)
{
    traffic *t = ud;
    json_t *o = json_object();
    json_t *classes = json_object(), *buckets = json_array();
    uint64_t total = 0;
    for (int k = 0; k < SY_STATS_CLASSES; k++) {
        total += s->by_class[k];
        if (s->by_class[k])
            json_object_set_new(classes, sy_stats_class_names[k],
                                json_integer((json_int_t)s->by_class[k]));
    }
    for (int k = 0; k <= SY_STATS_BUCKETS; k++)
        json_array_append_new(buckets, json_integer((json_int_t)s->bucket[k]));
    if (s->kind == SY_STATS_API) {
        const sy_service_cfg *svc = service_of(t->cfg, s->labels[0]);
        json_object_set_new(o, "service", json_string(s->labels[0]));
        json_object_set_new(o, "service_name", str_or_null(svc ? svc->name : NULL));
        json_object_set_new(o, "service_desc", str_or_null(svc ? svc->desc : NULL));
        json_object_set_new(o, "env", json_string(s->labels[1]));
        json_object_set_new(o, "api", json_string(s->labels[2]));
        json_object_set_new(o, "bytes_in", json_integer((json_int_t)s->bytes_in));
        json_object_set_new(o, "bytes_out", json_integer((json_int_t)s->bytes_out));
        json_array_append_new(t->apis, o);
    } else if (s->kind == SY_STATS_POLICY) {
        json_object_set_new(o, "plugin", json_string(s->labels[0]));
        json_object_set_new(o, "policy", json_string(s->labels[1]));
        json_object_set_new(o, "matched", json_integer((json_int_t)s->matched));
        json_array_append_new(t->policies, o);
    } else {
        const sy_upstream_cfg *u = upstream_of(t->cfg, s->labels[0]);
        json_object_set_new(o, "upstream", json_string(s->labels[0]));
        json_object_set_new(o, "name", str_or_null(u ? u->name : NULL));
        json_array_append_new(t->upstreams, o);
    }
    /* Histogram requests, not the class sum: the two agree except while a
     * worker is between its two stores, and count matches the buckets. */
    json_object_set_new(o, "requests", json_integer((json_int_t)(s->count ? s->count : total)));
    json_object_set_new(o, "classes", classes);
    json_object_set_new(o, "buckets", buckets);
    json_object_set_new(o, "sum_seconds", json_real((double)s->sum_us / 1e6));
}

void sy_admin_traffic(const sy_admin_req *rq, sy_admin_resp *rs)
{
    traffic t = {rq->snap->cfg, json_array(), json_array(), json_array()};
    sy_stats_foreach(on_series, &t);
    json_t *bounds = json_array();
    for (int k = 0; k < SY_STATS_BUCKETS; k++)
        json_array_append_new(bounds, json_real((double)sy_stats_bucket_us[k] / 1e6));
    json_t *doc = json_object();
    json_object_set_new(doc, "now_ms", json_integer((json_int_t)sy_clock_ms()));
    json_object_set_new(doc, "bucket_bounds", bounds);
    json_object_set_new(doc, "apis", t.apis);
    json_object_set_new(doc, "policies", t.policies);
    json_object_set_new(doc, "upstreams", t.upstreams);
    sy_admin_json(rs, 200, doc);
}
