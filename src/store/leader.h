/* Leader election with an etcd lease, for what must run once per fleet
 * (the rollout controller; shared active health probing).
 *
 * The leader is whoever created KEY with its lease attached (a txn "create
 * if absent"); it renews the lease every TTL/3.  When it dies the lease
 * expires at most TTL after its last renewal, etcd deletes KEY, and the
 * next candidate's poll (every 100 ms) creates it.  A leader that cannot
 * renew for 2/3 of the TTL steps down by itself before its lease can
 * expire, so two gateways never both believe they lead.  Stopping revokes
 * the lease: a clean shutdown hands over at once. */
#ifndef SY_STORE_LEADER_H
#define SY_STORE_LEADER_H

#include <jansson.h>
#include <stdbool.h>

#include "store/etcd.h"

typedef struct sy_leader sy_leader;

/* Campaign for `key` as `id` with a lease of ttl_s seconds, in a thread of
 * its own (e is borrowed: it must outlive the election). */
sy_leader *sy_leader_start(sy_etcd *e, const char *key, const char *id, int ttl_s);

/* Whether this process leads now. */
bool sy_leader_is(sy_leader *l);

/* {"key", "id", "is_leader", "holder", "lease_ttl"} for status. */
json_t *sy_leader_status(sy_leader *l);

/* Stop campaigning (revoking the lease when leading); frees l. */
void sy_leader_stop(sy_leader *l);

#endif
