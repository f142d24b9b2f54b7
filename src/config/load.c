/* Entry points: text -> tree -> model, sections in dependency order. */
#include "config/load.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config/fields.h"
#include "config/intern.h"

static const char *const top_keys[] = {"Version", "Gateway",  "Upstreams", "Services",
                                       "Plugins", "Rollouts", NULL};

/* A config larger than this is a mistake (or an attack on the admin API). */
#define SY_CONFIG_MAX_BYTES (64u << 20)

/* The sections before Plugins, in dependency order whatever the file's
 * order (services refer to upstreams, plugins to services and APIs).  Each
 * is loaded once: a streamed load (below) takes the ones written before
 * Plugins early, the rest come with the whole tree. */
enum { SEC_VERSION = 1, SEC_GATEWAY = 2, SEC_UPSTREAMS = 4, SEC_SERVICES = 8 };

typedef struct loader {
    sy_cfg_ctx c;
    unsigned loaded;       /* SEC_* bits */
    bool streamed;         /* PluginData items were loaded as they streamed */
    size_t top_errs_at;    /* where the top-level key check's messages go */
    size_t early_errs_end; /* end of the messages of the early sections */
} loader;

static void load_sections(loader *L, const sy_ynode *root)
{
    sy_cfg_ctx *c = &L->c;
    const sy_ynode *v;
    int64_t ver;
    if (!(L->loaded & SEC_VERSION) && sy_ymap_get(root, "Version")) {
        L->loaded |= SEC_VERSION;
        if (sy_cfg_int(c, root, NULL, "Version", SY_OPT, 0, INT64_MAX, &ver))
            c->cfg->version = (uint64_t)ver;
    }
    if (!(L->loaded & SEC_GATEWAY) && (v = sy_ymap_get(root, "Gateway"))) {
        L->loaded |= SEC_GATEWAY;
        sy_cfg_load_gateway(c, v);
    }
    if (!(L->loaded & SEC_UPSTREAMS) && (v = sy_ymap_get(root, "Upstreams"))) {
        L->loaded |= SEC_UPSTREAMS;
        sy_cfg_load_upstreams(c, v);
    }
    if (!(L->loaded & SEC_SERVICES) && (v = sy_ymap_get(root, "Services"))) {
        L->loaded |= SEC_SERVICES;
        sy_cfg_load_services(c, v);
        sy_cfg_check_domains(c);
    }
}

/* Messages added since `from` move to position `to` (< from). */
static void move_errors(sy_errors *e, size_t to, size_t from)
{
    size_t n = e->n - from;
    if (!n || to == from)
        return;
    char **tmp = sy_malloc(n * sizeof *tmp);
    memcpy(tmp, e->msgs + from, n * sizeof *tmp);
    memmove(e->msgs + to + n, e->msgs + to, (from - to) * sizeof *tmp);
    memcpy(e->msgs + to, tmp, n * sizeof *tmp);
    free(tmp);
}

/* The sections of a parsed document, whichever syntax it came in. */
static void load_root(loader *L, const sy_ynode *root)
{
    sy_cfg_ctx *c = &L->c;
    if (!root || (root->kind == SY_YN_SCALAR && sy_ynode_is_null(root)))
        return;
    if (root->kind != SY_YN_MAP) {
        sy_cfg_err(c, root->mark, NULL,
                   "the configuration must be a mapping of sections "
                   "(Gateway, Upstreams, Services, Plugins), got %s",
                   sy_ynode_what(root));
        return;
    }
    size_t at = c->errs->n;
    if (!sy_cfg_map(c, root, NULL, top_keys))
        return;
    if (L->streamed) /* where they would have been without streaming */
        move_errors(c->errs, L->top_errs_at, at);
    load_sections(L, root);
    if (!(L->loaded & SEC_SERVICES))
        sy_cfg_check_domains(c); /* otherwise done with the services */
    const sy_ynode *v;
    if ((v = sy_ymap_get(root, "Plugins")))
        sy_cfg_load_plugins(c, v);
    if ((v = sy_ymap_get(root, "Rollouts")))
        sy_cfg_load_rollouts(c, v);
}

/* Stream PluginData items only when the upstreams they name are known
 * already (written before Plugins, as every dump and example has them);
 * otherwise the whole tree is built as before. */
static bool stream_begin(void *ud, const sy_ynode *partial)
{
    loader *L = ud;
    if (partial->kind != SY_YN_MAP || !sy_ymap_get(partial, "Upstreams"))
        return false;
    L->streamed = true;
    L->top_errs_at = L->c.errs->n;
    load_sections(L, partial);
    L->early_errs_end = L->c.errs->n;
    return true;
}

static void stream_item(void *ud, size_t plugin, size_t idx, const sy_ynode *node)
{
    loader *L = ud;
    sy_cfg_stream_policy(&L->c, plugin, idx, node);
}

/* `owned`, when not NULL, is the heap buffer holding `text`: it is freed
 * as soon as the tree is built, before the (larger) model is. */
static sy_config *load_any(const char *text, size_t len, const json_t *doc, const sy_config *base,
                           const char *name, sy_errors *errs, char *owned)
{
    sy_config *cfg = sy_calloc(1, sizeof *cfg);
    sy_arena_init(&cfg->arena, 16384);
    cfg->file = sy_arena_strdup(&cfg->arena, name ? name : "<config>");

    loader L = {.c = {.cfg = cfg, .a = &cfg->arena, .errs = errs, .file = cfg->file, .base = base}};
    sy_cfg_ctx *c = &L.c;
    sy_arena_init(&c->tmp, 16384);
    c->intern = sy_intern_new(&cfg->arena);
    size_t before = errs->n;

    sy_gateway_defaults(&cfg->gw, &cfg->arena);
    bool failed;
    sy_ynode *root;
    if (doc) {
        root = sy_ytree_from_json(&c->tmp, doc, cfg->file, errs);
    } else {
        sy_ytree_stream st = {stream_begin, stream_item, &L};
        root = sy_ytree_parse_stream(&c->tmp, text, len, cfg->file, errs, &failed, &st);
    }
    free(owned);
    if (!doc && failed && L.streamed) {
        /* A syntax error stands alone, as without streaming: drop what
         * the early sections reported before it was found. */
        sy_errors *e = errs;
        for (size_t i = L.top_errs_at; i < L.early_errs_end; i++)
            free(e->msgs[i]);
        memmove(e->msgs + L.top_errs_at, e->msgs + L.early_errs_end,
                (e->n - L.early_errs_end) * sizeof *e->msgs);
        e->n -= L.early_errs_end - L.top_errs_at;
    }
    load_root(&L, root);
    sy_cfg_stream_free(c);
    sy_arena_free(&c->tmp);
    sy_intern_free(c->intern);
    if (errs->n > before) {
        sy_config_free(cfg);
        return NULL;
    }
    return cfg;
}

sy_config *sy_config_load_string(const char *text, size_t len, const char *name, sy_errors *errs)
{
    return load_any(text, len, NULL, NULL, name, errs, NULL);
}

sy_config *sy_config_load_json(const json_t *doc, const char *name, sy_errors *errs)
{
    return load_any(NULL, 0, doc, NULL, name, errs, NULL);
}

sy_config *sy_config_load_json_on(const json_t *doc, const char *name, const sy_config *base,
                                  sy_errors *errs)
{
    return load_any(NULL, 0, doc, base, name, errs, NULL);
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
                sy_errors_add(errs, "%s: larger than %u bytes", path, SY_CONFIG_MAX_BYTES);
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
    return load_any(buf, len, NULL, NULL, path, errs, buf);
}

void sy_config_free(sy_config *cfg)
{
    if (!cfg)
        return;
    sy_arena_free(&cfg->arena);
    free(cfg);
}
