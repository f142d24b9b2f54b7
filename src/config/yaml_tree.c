/* libyaml events -> sy_ynode tree, and jansson values -> the same tree. */
#include "config/yaml_tree.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include <yaml.h>

/* One open list or mapping while the events stream in.  Children gather in
 * a heap vector and are copied into the arena when the container closes, so
 * the arena never holds half-grown arrays. */
typedef struct frame {
    sy_ynode *node;
    sy_ynode **kids; /* list items, or key,value,key,value... */
    size_t n, cap;
} frame;

/* Scalar texts of one parse: packed end to end in blocks of the arena (an
 * arena allocation of its own would round each to 16 bytes), and equal
 * texts stored once.  A config repeats the same keys, and mostly the same
 * values, in every list item; the table lives only while parsing. */
typedef struct strpool {
    sy_arena *a;
    char *p; /* free space in the current block */
    size_t left;
    size_t block;           /* next block's size: grows with use */
    const sy_ynode **slots; /* a scalar node holding each text */
    size_t mask, used;
} strpool;

_Static_assert(sizeof(sy_ynode) <= 32, "sy_ynode grew: see yaml_tree.h");

#define POOL_MAX_BLOCK 65536

static char *pool_copy(strpool *sp, const char *s, size_t len)
{
    char *d;
    if (len + 1 > sp->left) {
        if (len + 1 > POOL_MAX_BLOCK / 4)
            return sy_arena_strndup(sp->a, s, len);
        while (sp->block < len + 1)
            sp->block *= 2;
        sp->p = sy_arena_alloc(sp->a, sp->block);
        sp->left = sp->block;
        if (sp->block < POOL_MAX_BLOCK)
            sp->block *= 2;
    }
    d = sp->p;
    memcpy(d, s, len);
    d[len] = '\0';
    sp->p += len + 1;
    sp->left -= len + 1;
    return d;
}

/* The stored copy of s[0..len), shared with any earlier equal text. */
static const char *pool_text(strpool *sp, const char *s, size_t len, const sy_ynode *owner)
{
    if (2 * (sp->used + 1) > sp->mask + 1) {
        size_t cap = sp->mask ? 2 * (sp->mask + 1) : 32;
        const sy_ynode **ns = sy_calloc(cap, sizeof *ns);
        for (size_t i = 0; sp->mask && i <= sp->mask; i++) {
            const sy_ynode *o = sp->slots[i];
            if (!o)
                continue;
            size_t h = (size_t)XXH3_64bits(o->str, o->len) & (cap - 1);
            while (ns[h])
                h = (h + 1) & (cap - 1);
            ns[h] = o;
        }
        free(sp->slots);
        sp->slots = ns;
        sp->mask = cap - 1;
    }
    size_t h = (size_t)XXH3_64bits(s, len) & sp->mask;
    for (const sy_ynode *o; (o = sp->slots[h]); h = (h + 1) & sp->mask)
        if (o->len == len && memcmp(o->str, s, len) == 0)
            return o->str;
    const char *d = pool_copy(sp, s, len);
    ((sy_ynode *)owner)->str = d;
    ((sy_ynode *)owner)->len = (uint32_t)len;
    sp->slots[h] = owner;
    sp->used++;
    return d;
}

static sy_mark mark_of(yaml_mark_t m, const sy_mark *base)
{
    if (base)
        return *base;
    return (sy_mark){(int)m.line + 1, (int)m.column + 1};
}

static void push_kid(frame *f, sy_ynode *kid)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 8;
        f->kids = sy_realloc(f->kids, f->cap * sizeof *f->kids);
    }
    f->kids[f->n++] = kid;
}

static void close_frame(sy_arena *a, frame *f)
{
    sy_ynode *node = f->node;
    if (node->kind == SY_YN_SEQ && node->quoted) {
        node->n = (uint32_t)f->n; /* streamed: counted, not kept */
        node->items = NULL;
    } else if (node->kind == SY_YN_SEQ) {
        node->n = (uint32_t)f->n;
        node->items = sy_arena_alloc(a, (f->n ? f->n : 1) * sizeof(sy_ynode *));
        if (f->n)
            memcpy(node->items, f->kids, f->n * sizeof(sy_ynode *));
    } else {
        /* keys and values in one allocation */
        size_t n = f->n / 2;
        node->n = (uint32_t)n;
        node->keys = sy_arena_alloc(a, (n ? 2 * n : 2) * sizeof(sy_ynode *));
        node->vals = node->keys + (n ? n : 1);
        for (size_t i = 0; i < n; i++) {
            node->keys[i] = f->kids[2 * i];
            node->vals[i] = f->kids[2 * i + 1];
        }
    }
    free(f->kids);
    f->kids = NULL;
}

static void errat(sy_errors *errs, const char *file, sy_mark m, const char *path, const char *msg,
                  const char *detail)
{
    if (path && *path)
        sy_errors_at(errs, file, m, path, "%s%s", msg, detail ? detail : "");
    else
        sy_errors_at(errs, file, m, NULL, "%s%s", msg, detail ? detail : "");
}

/* Is the top frame a mapping whose pending key (value not yet seen) is
 * `key`? */
static bool pending_key(const frame *f, const char *key)
{
    if (f->node->kind != SY_YN_MAP || f->n % 2 == 0)
        return false;
    const sy_ynode *k = f->kids[f->n - 1];
    return strcmp(k->str, key) == 0;
}

/* Streaming state (sy_ytree_parse_stream).  `sdepth` is the depth at which
 * the streaming PluginData list is the top frame (0 = not streaming); every
 * node below it lives in `scratch`, reset after each item. */
typedef struct streamer {
    const sy_ytree_stream *st;
    bool on;                 /* begin() said yes */
    const sy_ynode *plugins; /* the Plugins list node */
    size_t sdepth, plugin;
    sy_arena scratch;
} streamer;

static bool stream_begin(streamer *sm, frame *root)
{
    size_t n = root->n / 2;
    sy_ynode tmp = {.kind = SY_YN_MAP, .mark = root->node->mark, .n = (uint32_t)n};
    sy_ynode **kv = sy_malloc((n ? 2 * n : 2) * sizeof *kv);
    tmp.keys = kv;
    tmp.vals = kv + (n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        tmp.keys[i] = root->kids[2 * i];
        tmp.vals[i] = root->kids[2 * i + 1];
    }
    bool on = sm->st->begin(sm->st->ud, &tmp);
    free(kv);
    return on;
}

static sy_ynode *parse(sy_arena *a, const char *text, size_t len, const char *file,
                       const sy_mark *base, sy_errors *errs, const char *path, bool *failed,
                       streamer *sm)
{
    yaml_parser_t p;
    yaml_event_t ev;
    frame stack[SY_YTREE_MAX_DEPTH];
    size_t depth = 0;
    sy_ynode *root = NULL;
    int docs = 0;
    bool done = false;
    strpool pool = {.a = a, .block = 64};
    sy_arena *const main_arena = a;

    *failed = false;
    if (!yaml_parser_initialize(&p)) {
        fprintf(stderr, "switchyard: out of memory in libyaml\n");
        abort();
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);

    while (!done) {
        if (!yaml_parser_parse(&p, &ev)) {
            char detail[256];
            sy_mark m = mark_of(p.problem_mark, base);
            snprintf(detail, sizeof detail, "%s%s%s", p.problem ? p.problem : "malformed input",
                     p.context ? " " : "", p.context ? p.context : "");
            errat(errs, file, m, path, "YAML syntax error: ", detail);
            *failed = true;
            break;
        }
        sy_mark m = mark_of(ev.start_mark, base);
        sy_ynode *node = NULL;
        /* Inside a streamed item everything goes to the scratch arena. */
        bool in_item = sm && sm->sdepth && depth >= sm->sdepth;
        bool closes_item_frame = sm && sm->sdepth && depth > sm->sdepth;
        a = in_item ? &sm->scratch : main_arena;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1) {
                errat(errs, file, m, path, "only one YAML document is allowed", NULL);
                *failed = true;
            }
            break;
        case YAML_ALIAS_EVENT:
            /* Aliases would let a few bytes expand into a huge tree and
             * make positions ambiguous; configs do not need them. */
            errat(errs, file, m, path, "YAML aliases are not supported", NULL);
            *failed = true;
            break;
        case YAML_SCALAR_EVENT: {
            node = sy_arena_alloc(a, sizeof *node);
            node->kind = SY_YN_SCALAR;
            node->mark = m;
            node->str = in_item ? sy_arena_strndup(a, (const char *)ev.data.scalar.value,
                                                   ev.data.scalar.length)
                                : pool_text(&pool, (const char *)ev.data.scalar.value,
                                            ev.data.scalar.length, node);
            node->len = (uint32_t)ev.data.scalar.length;
            /* The mark of a flow-quoted scalar is its opening quote;
             * text_mark is its first character, so columns inside the value
             * (expression errors) line up. */
            node->text_mark = node->mark;
            if (ev.data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                ev.data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE)
                node->text_mark.col++;
            node->quoted =
                ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
                (ev.data.scalar.tag && strcmp((const char *)ev.data.scalar.tag, YAML_STR_TAG) == 0);
            break;
        }
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (depth == SY_YTREE_MAX_DEPTH) {
                errat(errs, file, m, path, "nesting is too deep", NULL);
                *failed = true;
                break;
            }
            node = sy_arena_alloc(a, sizeof *node);
            node->kind = ev.type == YAML_SEQUENCE_START_EVENT ? SY_YN_SEQ : SY_YN_MAP;
            node->mark = m;
            if (sm && !sm->plugins && node->kind == SY_YN_SEQ && depth == 1 &&
                pending_key(&stack[0], "Plugins")) {
                sm->plugins = node;
                sm->on = stream_begin(sm, &stack[0]);
            } else if (sm && sm->on && node->kind == SY_YN_SEQ && depth == 3 &&
                       stack[1].node == sm->plugins && pending_key(&stack[2], "PluginData")) {
                node->quoted = true; /* streamed */
                sm->sdepth = depth + 1;
                sm->plugin = stack[1].n;
            }
            stack[depth++] = (frame){node, NULL, 0, 0};
            node = NULL; /* attached to its parent when it closes */
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            a = closes_item_frame ? &sm->scratch : main_arena;
            close_frame(a, &stack[depth - 1]);
            node = stack[--depth].node;
            if (sm && sm->sdepth == depth + 1)
                sm->sdepth = 0; /* the streamed list itself closed */
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (*failed)
            break;
        if (!node)
            continue;
        if (depth == 0) {
            root = node;
            continue;
        }
        frame *f = &stack[depth - 1];
        if (sm && sm->sdepth == depth) {
            sm->st->item(sm->st->ud, sm->plugin, f->n++, node);
            sy_arena_reset(&sm->scratch);
            continue;
        }
        if (f->node->kind == SY_YN_MAP && f->n % 2 == 0 && node->kind != SY_YN_SCALAR) {
            errat(errs, file, node->mark, path, "mapping keys must be plain strings", NULL);
            *failed = true;
            break;
        }
        push_kid(f, node);
    }
    while (depth > 0)
        free(stack[--depth].kids);
    free(pool.slots);
    yaml_parser_delete(&p);
    return *failed ? NULL : root;
}

sy_ynode *sy_ytree_parse(sy_arena *a, const char *text, size_t len, const char *file,
                         const sy_mark *base, sy_errors *errs, const char *path, bool *failed)
{
    return parse(a, text, len, file, base, errs, path, failed, NULL);
}

sy_ynode *sy_ytree_parse_stream(sy_arena *a, const char *text, size_t len, const char *file,
                                sy_errors *errs, bool *failed, const sy_ytree_stream *st)
{
    streamer sm = {.st = st};
    sy_arena_init(&sm.scratch, 4096);
    sy_ynode *root = parse(a, text, len, file, NULL, errs, NULL, failed, st ? &sm : NULL);
    sy_arena_free(&sm.scratch);
    return root;
}

/* ---- JSON ---- */

static sy_ynode *scalar(sy_arena *a, sy_mark at, const char *s, size_t len, bool quoted)
{
    sy_ynode *n = sy_arena_alloc(a, sizeof *n);
    n->kind = SY_YN_SCALAR;
    n->mark = at;
    n->text_mark = at;
    n->str = sy_arena_strndup(a, s, len);
    n->len = (uint32_t)len;
    n->quoted = quoted;
    return n;
}

static sy_ynode *from_json(sy_arena *a, json_t *j, sy_mark at, int depth)
{
    char buf[64];
    sy_ynode *n;

    if (depth > SY_YTREE_MAX_DEPTH)
        return NULL;
    switch (json_typeof(j)) {
    case JSON_STRING:
        return scalar(a, at, json_string_value(j), json_string_length(j), true);
    case JSON_INTEGER:
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        return scalar(a, at, buf, strlen(buf), false);
    case JSON_REAL:
        snprintf(buf, sizeof buf, "%.17g", json_real_value(j));
        return scalar(a, at, buf, strlen(buf), false);
    case JSON_TRUE:
        return scalar(a, at, "true", 4, false);
    case JSON_FALSE:
        return scalar(a, at, "false", 5, false);
    case JSON_NULL:
        return scalar(a, at, "null", 4, false);
    case JSON_ARRAY: {
        size_t i, cnt = json_array_size(j);
        json_t *v;
        n = sy_arena_alloc(a, sizeof *n);
        n->kind = SY_YN_SEQ;
        n->mark = at;
        n->n = (uint32_t)cnt;
        n->items = sy_arena_alloc(a, (cnt ? cnt : 1) * sizeof(sy_ynode *));
        json_array_foreach(j, i, v)
        {
            if (!(n->items[i] = from_json(a, v, at, depth + 1)))
                return NULL;
        }
        return n;
    }
    case JSON_OBJECT: {
        size_t i = 0, cnt = json_object_size(j);
        const char *k;
        json_t *v;
        n = sy_arena_alloc(a, sizeof *n);
        n->kind = SY_YN_MAP;
        n->mark = at;
        n->n = (uint32_t)cnt;
        n->keys = sy_arena_alloc(a, (cnt ? 2 * cnt : 2) * sizeof(sy_ynode *));
        n->vals = n->keys + (cnt ? cnt : 1);
        json_object_foreach(j, k, v)
        {
            n->keys[i] = scalar(a, at, k, strlen(k), true);
            if (!(n->vals[i] = from_json(a, v, at, depth + 1)))
                return NULL;
            i++;
        }
        return n;
    }
    }
    return NULL;
}

sy_ynode *sy_ytree_parse_json(sy_arena *a, const char *text, size_t len, const char *file,
                              sy_mark at, sy_errors *errs, const char *path)
{
    json_error_t jerr;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!j) {
        sy_errors_at(errs, file, at, path, "invalid JSON: %s (line %d, column %d of the string)",
                     jerr.text, jerr.line, jerr.column);
        return NULL;
    }
    sy_ynode *n = from_json(a, j, at, 0);
    json_decref(j);
    if (!n)
        sy_errors_at(errs, file, at, path, "JSON nesting is too deep");
    return n;
}

/* ---- lookups ---- */

const sy_ynode *sy_ymap_get(const sy_ynode *map, const char *key)
{
    if (!map || map->kind != SY_YN_MAP)
        return NULL;
    size_t kl = strlen(key);
    /* The last occurrence wins, though duplicates are reported anyway. */
    for (size_t i = map->n; i-- > 0;)
        if (map->keys[i]->len == kl && memcmp(map->keys[i]->str, key, kl) == 0)
            return map->vals[i];
    return NULL;
}

bool sy_ynode_is_null(const sy_ynode *n)
{
    if (n->kind != SY_YN_SCALAR || n->quoted)
        return false;
    return n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
           strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0;
}

static bool looks_number(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    if (!(*s >= '0' && *s <= '9'))
        return false;
    while (*s >= '0' && *s <= '9')
        s++;
    if (*s == '.') {
        s++;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

const char *sy_ynode_what(const sy_ynode *n)
{
    if (n->kind == SY_YN_SEQ)
        return "a list";
    if (n->kind == SY_YN_MAP)
        return "a mapping";
    if (n->quoted)
        return "a string";
    if (sy_ynode_is_null(n))
        return "null";
    if (strcmp(n->str, "true") == 0 || strcmp(n->str, "false") == 0)
        return "a boolean";
    if (looks_number(n->str))
        return "a number";
    return "a string";
}

sy_ynode *sy_ytree_from_json(sy_arena *a, const json_t *doc, const char *file, sy_errors *errs)
{
    sy_mark at = {1, 1};
    sy_ynode *n = from_json(a, (json_t *)doc, at, 0);
    if (!n)
        sy_errors_at(errs, file, at, NULL, "JSON nesting is too deep");
    return n;
}

static json_t *plain_to_json(const sy_ynode *n)
{
    const char *s = n->str;
    if (sy_ynode_is_null(n))
        return json_null();
    if (strcmp(s, "true") == 0)
        return json_true();
    if (strcmp(s, "false") == 0)
        return json_false();
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*s && !*end && errno == 0 && (isdigit((unsigned char)s[0]) || s[0] == '-'))
        return json_integer(v);
    double d = strtod(s, &end);
    if (*s && !*end && (isdigit((unsigned char)s[0]) || s[0] == '-') && strchr(s, '.'))
        return json_real(d);
    return json_stringn(s, n->len);
}

json_t *sy_ytree_to_json(const sy_ynode *n)
{
    if (!n)
        return json_null();
    switch (n->kind) {
    case SY_YN_SCALAR:
        return n->quoted ? json_stringn(n->str, n->len) : plain_to_json(n);
    case SY_YN_SEQ: {
        json_t *arr = json_array();
        for (size_t i = 0; i < n->n; i++)
            json_array_append_new(arr, sy_ytree_to_json(n->items[i]));
        return arr;
    }
    case SY_YN_MAP: {
        json_t *obj = json_object();
        for (size_t i = 0; i < n->n; i++)
            json_object_set_new(obj, n->keys[i]->str, sy_ytree_to_json(n->vals[i]));
        return obj;
    }
    }
    return json_null();
}
