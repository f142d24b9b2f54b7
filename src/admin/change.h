/* Admin changes: the running configuration as a JSON document that a
 * handler edits, then validated, compiled, stored and published through
 * the config manager (gen/manager.h).
 *
 * A change is all or nothing: the document is a copy, the loader and
 * validator are the config file's, and a refused change (400 with every
 * problem as {field, reason}, or a 500 when the store fails) leaves the
 * running generation, the stored file and the version as they were. */
#ifndef SY_ADMIN_CHANGE_H
#define SY_ADMIN_CHANGE_H

#include <jansson.h>
#include <stdbool.h>

#include "admin/admin_int.h"

/* The configuration as JSON (config/dump.h flags: AdminToken included
 * only with SY_DUMP_SECRETS; with SY_DUMP_KEEP_POLICIES each PluginData is
 * a marker, for documents that are edited and committed, or read where
 * policies are not shown): Version, Gateway, Upstreams, Services,
 * Plugins, every list present. */
json_t *sy_admin_cfg_json(const sy_config *cfg, unsigned flags);

/* Element of array `arr` whose string member `key` is `id`, or NULL;
 * *idx gets its position. */
json_t *sy_admin_find(json_t *arr, const char *key, const char *id, size_t *idx);

/* A fresh Tencent-style id "PREFIX-xxxxxxxx" (8 lowercase letters and
 * digits) that `taken` does not know. */
typedef bool sy_admin_taken_fn(json_t *doc, const char *id);
void sy_admin_new_id(char *out, size_t cap, const char *prefix, json_t *doc,
                     sy_admin_taken_fn *taken);

/* RFC 7386 merge patch of `patch` into `target` (both objects). */
void sy_admin_merge_patch(json_t *target, json_t *patch);

/* ?Limit=&Offset= (default 20, at most 100).  False after a 400. */
bool sy_admin_paging(const sy_admin_req *rq, sy_admin_resp *rs, size_t *limit, size_t *offset);
/* {TotalCount, Items} of items[offset, offset+limit) (reference stolen). */
json_t *sy_admin_page(json_t *items, size_t limit, size_t offset);

/* Value of a query parameter (decoded into out), or false. */
bool sy_admin_query(const sy_admin_req *rq, const char *name, char *out, size_t cap);

/* One URL path segment percent-decoded exactly once into out
 * (NUL-terminated).  Returns the decoded length, or -1 for a '%' not
 * followed by two hex digits, an encoded NUL, or no room. */
int sy_admin_seg_decode(const char *in, size_t len, char *out, size_t cap);

/* A request body that must be a JSON object; NULL after a 400. */
json_t *sy_admin_body(const sy_admin_req *rq, sy_admin_resp *rs);

/* 400 listing problems: [{field, reason}] from loader messages.  Field
 * paths under `scope` ("Upstreams[2]") or `scope2` (another spelling,
 * "Plugins[plugin-x]", or NULL) are made relative to the object. */
void sy_admin_invalid(sy_admin_resp *rs, const sy_errors *errs, const char *scope,
                      const char *scope2);
/* 400 for one field. */
void sy_admin_bad_field(sy_admin_resp *rs, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Under the manager lock, before editing: catch up with a shared store
 * (503 when it is unreachable) and check If-Match against the running
 * Version (412).  False after an error in rs. */
bool sy_admin_begin_write(const sy_admin_req *rq, sy_admin_resp *rs);
/* 409 / 503 / 500 for a SY_CFGMGR_* store failure. */
void sy_admin_store_error(sy_admin_resp *rs, int rc, const char *err);

/* Under the manager lock: load `doc` (its Version is set to the running
 * one + 1), compile, store, publish.  True when it is now running; false
 * after a 400 (scope as above) or 500 in rs. */
bool sy_admin_commit(json_t *doc, sy_admin_resp *rs, const char *scope, const char *scope2);

#endif
