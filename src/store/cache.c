/* The local cache of the last applied configuration (ConfigStore.CacheFile):
 * {"Revision": R, "Objects": {relative key: value}}, written atomically
 * by the file store's save (temporary file, fsync, rename, fsync of the
 * directory), so a crash leaves the previous or the new cache, never half
 * of one.  It lets a gateway start while etcd is down; it is never written
 * back to etcd. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "store/fleet_int.h"

void sy_fleet_cache_write(sy_fleet *f)
{
    if (!f->cache_path)
        return;
    json_t *objs = json_object();
    const char *k;
    json_t *e;
    json_object_foreach(f->map, k, e) json_object_set(objs, k, json_object_get(e, "v"));
    json_t *doc = json_pack("{s:I, s:o}", "Revision", (json_int_t)f->map_rev, "Objects", objs);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    sy_store *fs = sy_store_file_new(f->cache_path);
    char err[512];
    if (fs->ops->save(fs, text, strlen(text), (uint64_t)f->map_rev, err, sizeof err) != 0)
        sy_warn("cannot write the cache file: %s", err);
    sy_store_free(fs);
    free(text);
}

json_t *sy_fleet_cache_read(sy_fleet *f, int64_t *rev, sy_errors *errs)
{
    if (!f->cache_path) {
        sy_errors_add(errs, "no Gateway.ConfigStore.CacheFile to start from");
        return NULL;
    }
    sy_store *fs = sy_store_file_new(f->cache_path);
    size_t len;
    char *text = fs->ops->load(fs, &len, errs);
    sy_store_free(fs);
    if (!text)
        return NULL;
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    json_t *objs = json_object_get(doc, "Objects");
    json_t *r = json_object_get(doc, "Revision");
    if (!json_is_object(objs) || !json_is_integer(r) || json_integer_value(r) < 0) {
        sy_errors_add(errs, "%s: not a Switchyard cache file%s%s", f->cache_path, doc ? "" : ": ",
                      doc ? "" : jerr.text);
        json_decref(doc);
        return NULL;
    }
    *rev = (int64_t)json_integer_value(r);
    json_t *map = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(objs, k, v)
        json_object_set_new(map, k, json_pack("{s:O, s:I}", "v", v, "r", (json_int_t)*rev));
    json_decref(doc);
    return map;
}
