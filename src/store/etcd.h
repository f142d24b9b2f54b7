/* An etcd v3 client over etcd's JSON gateway (/v3/kv/range, /v3/kv/txn,
 * /v3/watch, /v3/lease/..., /v3/auth/authenticate), through libcurl.
 *
 * Keys and values travel base64-encoded and 64-bit integers as JSON
 * strings (grpc-gateway's encoding); the helpers below hide both.  Every
 * call uses its own curl handle, so any thread may call at any time.
 * Endpoints are tried in turn from the last one that answered: a call that
 * could not connect moves on to the next endpoint, which is always safe
 * because nothing was sent. */
#ifndef SY_STORE_ETCD_H
#define SY_STORE_ETCD_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/model.h"

typedef struct sy_etcd sy_etcd;

/* Why a call failed. */
enum sy_etcd_fail {
    SY_ETCD_OK = 0,
    SY_ETCD_UNREACHABLE, /* no endpoint answered (down, timeout, broken connection) */
    SY_ETCD_REFUSED,     /* etcd answered with an error (permission, too large...) */
};

typedef struct sy_etcd_err {
    int kind; /* enum sy_etcd_fail */
    char msg[512];
} sy_etcd_err;

/* From Gateway.ConfigStore (copied: the config may go away). */
sy_etcd *sy_etcd_new(const sy_store_cfg *c);
void sy_etcd_free(sy_etcd *e);

/* POST `req` to `path` ("/v3/kv/range"); the decoded response, or NULL
 * with err filled.  `may_resend`: the request is idempotent (a read), so
 * a connection that broke after sending may be retried elsewhere. */
json_t *sy_etcd_call(sy_etcd *e, const char *path, json_t *req, bool may_resend, sy_etcd_err *err);

/* A streaming call (/v3/watch, /v3/lease/keepalive): `fn` gets each
 * message as it arrives and returns false to end the stream.  Returns when
 * the stream ends (0 when fn ended it, -1 otherwise with err), or soon
 * after *stop becomes true. */
typedef bool sy_etcd_msg_fn(json_t *msg, void *arg);
int sy_etcd_stream(sy_etcd *e, const char *path, json_t *req, sy_etcd_msg_fn *fn, void *arg,
                   atomic_bool *stop, sy_etcd_err *err);

/* ---- encoding ---- */

/* base64 of bytes, malloc'd. */
char *sy_etcd_b64(const void *p, size_t n);
/* Decoded bytes (NUL-terminated, length in *n), malloc'd; NULL if invalid. */
char *sy_etcd_unb64(const char *s, size_t *n);
/* A JSON string holding base64 of s. */
json_t *sy_etcd_jkey(const char *s);
/* An int64 field ("revision": "12", or a number), 0 when absent. */
int64_t sy_etcd_int(const json_t *obj, const char *field);
/* The end of the range of every key starting with `prefix` (prefix with
 * its last byte plus one). */
char *sy_etcd_range_end(const char *prefix);

#endif
