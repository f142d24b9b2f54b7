/* See layout.h. */
#include "store/layout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"

static const struct kind {
    const char *list; /* document list */
    const char *kind; /* key segment */
    const char *id;   /* id field */
} kinds[] = {
    {"Upstreams", "upstreams", "UpstreamId"},
    {"Services", "services", "ServiceId"},
    {"Plugins", "plugins", "PluginId"},
};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

static bool plain(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '~' || c == '-';
}

char *sy_layout_key(const char *kind, const char *id)
{
    size_t kl = strlen(kind), il = strlen(id);
    char *out = sy_malloc(kl + 1 + 3 * il + 1);
    memcpy(out, kind, kl);
    char *p = out + kl;
    *p++ = '/';
    for (const unsigned char *s = (const unsigned char *)id; *s; s++) {
        if (plain(*s)) {
            *p++ = (char)*s;
        } else {
            sprintf(p, "%%%02X", *s);
            p += 3;
        }
    }
    *p = '\0';
    return out;
}

json_t *sy_layout_split(const json_t *doc)
{
    json_t *out = json_object();
    json_t *ver = json_object_get(doc, "Version");
    if (json_is_integer(ver))
        json_object_set(out, "version", ver);
    for (size_t k = 0; k < N_KINDS; k++) {
        size_t i;
        json_t *o;
        json_array_foreach(json_object_get(doc, kinds[k].list), i, o)
        {
            const char *id = json_string_value(json_object_get(o, kinds[k].id));
            if (!id)
                continue; /* the loader refused such a document already */
            char *key = sy_layout_key(kinds[k].kind, id);
            json_object_set(out, key, o);
            free(key);
        }
    }
    return out;
}

bool sy_layout_is_object(const char *key)
{
    for (size_t k = 0; k < N_KINDS; k++) {
        size_t kl = strlen(kinds[k].kind);
        if (strncmp(key, kinds[k].kind, kl) == 0 && key[kl] == '/' && key[kl + 1])
            return true;
    }
    return false;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *sy_layout_join(const json_t *objects, const json_t *gateway, json_t *ignored)
{
    json_t *doc = json_object();
    json_t *ver = json_object_get(objects, "version");
    if (json_is_integer(ver))
        json_object_set(doc, "Version", ver);
    if (gateway)
        json_object_set_new(doc, "Gateway", json_deep_copy(gateway));
    size_t n = json_object_size(objects), m = 0;
    const char **keys = sy_malloc((n ? n : 1) * sizeof *keys);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)objects, key, v) keys[m++] = key;
    qsort(keys, m, sizeof *keys, by_key);
    json_t *lists[N_KINDS];
    for (size_t k = 0; k < N_KINDS; k++) {
        lists[k] = json_array();
        json_object_set_new(doc, kinds[k].list, lists[k]);
    }
    for (size_t i = 0; i < m; i++) {
        if (strcmp(keys[i], "version") == 0)
            continue;
        size_t k = 0;
        for (; k < N_KINDS; k++) {
            size_t kl = strlen(kinds[k].kind);
            if (strncmp(keys[i], kinds[k].kind, kl) == 0 && keys[i][kl] == '/' && keys[i][kl + 1])
                break;
        }
        json_t *val = json_object_get(objects, keys[i]);
        /* The key must be the object's own: a value filed under another
         * id would make two keys hold one object. */
        bool ok = k < N_KINDS && json_is_object(val);
        if (ok) {
            const char *id = json_string_value(json_object_get(val, kinds[k].id));
            char *want = id ? sy_layout_key(kinds[k].kind, id) : NULL;
            ok = want && strcmp(want, keys[i]) == 0;
            free(want);
        }
        if (!ok) {
            if (ignored)
                json_array_append_new(ignored, json_string(keys[i]));
            continue;
        }
        json_array_append(lists[k], val);
    }
    free(keys);
    return doc;
}
