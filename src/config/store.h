/* Where the configuration is kept between runs: a small interface so the
 * embedded file store can later be joined by an etcd store shared by a
 * fleet (doc/reliability.md §4.3).
 *
 * A store holds one document, the whole configuration as YAML text that
 * sy_config_load_string accepts, and its version (the document's top-level
 * `Version:` key, also passed to save so a store can use it as a revision,
 * e.g. an etcd compare-and-swap). */
#ifndef SY_CONFIG_STORE_H
#define SY_CONFIG_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "config/model.h"

typedef struct sy_store sy_store;
struct sy_snapshot;

typedef struct sy_store_ops {
    /* The stored text (malloc'ed, NUL-terminated, length in *len), or NULL
     * after adding a message to errs. */
    char *(*load)(sy_store *st, size_t *len, sy_errors *errs);
    /* Store `text` durably: when save returns 0 a crash at any later point
     * finds exactly this text; when it fails (-1, reason in err) the
     * previous text is intact.  Never leaves a partial document. */
    int (*save)(sy_store *st, const char *text, size_t len, uint64_t version, char *err,
                size_t errlen);
    void (*destroy)(sy_store *st);

    /* Optional, for a store a fleet shares (store/fleet.c); NULL for the
     * file store.  Both run under the config manager's lock and may
     * release it while they wait (sy_cfgmgr_wait_ms).
     *
     * sync: catch up with the store before an edit, so the edit starts
     * from the newest configuration.  0, or SY_STORE_* with err.
     * commit: store s->cfg as a change of the running configuration and
     * make it running on this gateway before returning.  0 when done (s
     * consumed), or SY_STORE_* with err (s untouched). */
    int (*sync)(sy_store *st, char *err, size_t errlen);
    int (*commit)(sy_store *st, struct sy_snapshot *s, char *err, size_t errlen);
} sy_store_ops;

/* Failures of sync and commit. */
enum {
    SY_STORE_FAILED = -1,      /* 500 */
    SY_STORE_CONFLICT = -2,    /* changed concurrently: 409 */
    SY_STORE_UNAVAILABLE = -3, /* the store cannot be reached: 503 */
};

struct sy_store {
    const sy_store_ops *ops;
    const char *name; /* for messages: the file path, an etcd key... */
};

/* The embedded default: the config file itself, rewritten atomically
 * (temporary file beside it, fsync, rename over it, fsync the directory),
 * keeping its permission bits. */
sy_store *sy_store_file_new(const char *path);

/* Claim the file for this process (flock, kept across saves) so that a
 * second instance on the same file refuses to start.  0 = locked; -1 =
 * held by another process or unreadable (err names the holder's pid when
 * the kernel says it); 1 = the file system cannot lock (err says so; the
 * caller warns and runs). */
int sy_store_file_lock(sy_store *st, char *err, size_t errlen);

static inline void sy_store_free(sy_store *st)
{
    if (st)
        st->ops->destroy(st);
}

#endif
