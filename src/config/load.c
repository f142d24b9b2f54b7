/* Entry points: text -> tree -> model, sections in dependency order. */
#include "config/load.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config/fields.h"
#include "config/intern.h"

static const char *const top_keys[] = {"Version", "Gateway", "Upstreams",
                                       "Services", "Plugins", NULL};

/* A config larger than this is a mistake (or an attack on the admin API). */
#define SY_CONFIG_MAX_BYTES (64u << 20)

/* The sections of a parsed document, whichever syntax it came in. */
static void load_root(sy_cfg_ctx *c, const sy_ynode *root)
{
    sy_config *cfg = c->cfg;
    if (!root || (root->kind == SY_YN_SCALAR && sy_ynode_is_null(root)))
        return;
    if (root->kind != SY_YN_MAP) {
        sy_cfg_err(c, root->mark, NULL,
                   "the configuration must be a mapping of sections "
                   "(Gateway, Upstreams, Services, Plugins), got %s",
                   sy_ynode_what(root));
        return;
    }
    if (!sy_cfg_map(c, root, NULL, top_keys))
        return;
    /* Fixed order whatever the file's order: services refer to
     * upstreams, plugins to services and APIs. */
    const sy_ynode *v;
    int64_t ver;
    if (sy_cfg_int(c, root, NULL, "Version", SY_OPT, 0, INT64_MAX, &ver))
        cfg->version = (uint64_t)ver;
    if ((v = sy_ymap_get(root, "Gateway")))
        sy_cfg_load_gateway(c, v);
    if ((v = sy_ymap_get(root, "Upstreams")))
        sy_cfg_load_upstreams(c, v);
    if ((v = sy_ymap_get(root, "Services")))
        sy_cfg_load_services(c, v);
    sy_cfg_check_domains(c);
    if ((v = sy_ymap_get(root, "Plugins")))
        sy_cfg_load_plugins(c, v);
}

/* `owned`, when not NULL, is the heap buffer holding `text`: it is freed
 * as soon as the tree is built, before the (larger) model is. */
static sy_config *load_any(const char *text, size_t len, const json_t *doc,
                           const char *name, sy_errors *errs, char *owned)
{
    sy_config *cfg = sy_calloc(1, sizeof *cfg);
    sy_arena_init(&cfg->arena, 16384);
    cfg->file = sy_arena_strdup(&cfg->arena, name ? name : "<config>");

    sy_cfg_ctx c = {.cfg = cfg, .a = &cfg->arena, .errs = errs, .file = cfg->file};
    sy_arena_init(&c.tmp, 16384);
    c.intern = sy_intern_new(&cfg->arena);
    size_t before = errs->n;

    sy_gateway_defaults(&cfg->gw, &cfg->arena);
    bool failed;
    sy_ynode *root;
    if (doc)
        root = sy_ytree_from_json(&c.tmp, doc, cfg->file, errs);
    else
        root = sy_ytree_parse(&c.tmp, text, len, cfg->file, NULL, errs, NULL, &failed);
    free(owned);
    load_root(&c, root);
    sy_arena_free(&c.tmp);
    sy_intern_free(c.intern);
    if (errs->n > before) {
        sy_config_free(cfg);
        return NULL;
    }
    return cfg;
}

sy_config *sy_config_load_string(const char *text, size_t len,
                                 const char *name, sy_errors *errs)
{
    return load_any(text, len, NULL, name, errs, NULL);
}

sy_config *sy_config_load_json(const json_t *doc, const char *name, sy_errors *errs)
{
    return load_any(NULL, 0, doc, name, errs, NULL);
}

sy_config *sy_config_load_file(const char *path, sy_errors *errs)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        sy_errors_add(errs, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, len = 0;
    char *buf = sy_malloc(cap);
    for (;;) {
        if (len == cap) {
            if (cap >= SY_CONFIG_MAX_BYTES) {
                sy_errors_add(errs, "%s: larger than %u bytes", path,
                              SY_CONFIG_MAX_BYTES);
                free(buf);
                fclose(f);
                return NULL;
            }
            cap *= 2;
            buf = sy_realloc(buf, cap);
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        sy_errors_add(errs, "%s: read error: %s", path, strerror(errno));
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    return load_any(buf, len, NULL, path, errs, buf);
}

void sy_config_free(sy_config *cfg)
{
    if (!cfg)
        return;
    sy_arena_free(&cfg->arena);
    free(cfg);
}
