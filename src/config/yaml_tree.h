/* A small YAML node tree that remembers where every node came from.
 *
 * libyaml's event stream is turned into scalars, lists and mappings so the
 * loader can look keys up in any order and still report FILE:LINE:COLUMN for
 * the exact node it is unhappy with.  JSON text (Tencent sends PluginData as
 * a JSON string) is converted into the same tree with jansson, so one loader
 * path serves both spellings.  All nodes live in the caller's arena. */
#ifndef SY_CONFIG_YAML_TREE_H
#define SY_CONFIG_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/model.h"
#include "core/arena.h"

enum sy_ynode_kind { SY_YN_SCALAR, SY_YN_SEQ, SY_YN_MAP };

typedef struct sy_ynode sy_ynode;
/* 32 bytes: a 100,000-policy file makes a couple of million of these. */
struct sy_ynode {
    sy_mark mark;
    enum sy_ynode_kind kind : 8;
    /* Scalars: `quoted` is set for quoted/block scalars and JSON strings:
     * those are always strings, never numbers, booleans or null. */
    bool quoted;
    /* Lists: `quoted` set when the items were handed to a stream's item
     * callback instead (sy_ytree_parse_stream): items is NULL, n counts
     * them. */
    union {
        uint32_t len; /* scalars: length of str, excluding its NUL */
        uint32_t n;   /* lists: n items; mappings: n pairs */
    };
    union {
        /* Scalars: text, NUL-terminated.  Equal texts of one parse may
         * share storage, so never write through it. */
        const char *str;
        sy_ynode **items; /* lists */
        sy_ynode **keys;  /* mappings: keys[i] -> vals[i] */
    };
    union {
        /* Scalars: first character of the text (after a quote). */
        sy_mark text_mark;
        sy_ynode **vals; /* mappings */
    };
};
/* Nesting deeper than this is refused: no real config needs it and it keeps
 * hostile input from exhausting the stack of the recursive loaders. */
#define SY_YTREE_MAX_DEPTH 64

/* Parse one YAML document.  Returns the root (NULL for an empty document,
 * which is not an error).  On a syntax error or an unsupported construct
 * (alias, several documents, non-scalar key) adds an error and returns NULL
 * with *failed set.  `base`, when not NULL, replaces every node's position
 * (used for YAML embedded in a string, whose own lines mean nothing to the
 * user). */
sy_ynode *sy_ytree_parse(sy_arena *a, const char *text, size_t len, const char *file,
                         const sy_mark *base, sy_errors *errs, const char *path, bool *failed);

/* Streaming the policies of a large file: a 100,000-policy document's
 * tree is four times its text, so the items of every
 * Plugins[i].PluginData list can be handed over one at a time instead of
 * being kept, each freed as soon as it has been loaded. */
typedef struct sy_ytree_stream {
    /* When the Plugins list starts, with the root mapping's pairs so far
     * (a temporary node; its values are complete and stay valid).  True to
     * stream the PluginData items that follow. */
    bool (*begin)(void *ud, const sy_ynode *partial_root);
    /* One complete item of Plugins[plugin].PluginData, valid only during
     * the call. */
    void (*item)(void *ud, size_t plugin, size_t idx, const sy_ynode *node);
    void *ud;
} sy_ytree_stream;

/* sy_ytree_parse of a whole document (no base mark, no path), streaming
 * as `st` asks. */
sy_ynode *sy_ytree_parse_stream(sy_arena *a, const char *text, size_t len, const char *file,
                                sy_errors *errs, bool *failed, const sy_ytree_stream *st);

/* Parse JSON text into the same tree; every node gets position `at`.
 * Returns NULL after adding an error. */
sy_ynode *sy_ytree_parse_json(sy_arena *a, const char *text, size_t len, const char *file,
                              sy_mark at, sy_errors *errs, const char *path);

/* A jansson document into the same tree (every node at 1:1).  Returns
 * NULL after adding an error when nesting is too deep. */
struct json_t;
sy_ynode *sy_ytree_from_json(sy_arena *a, const struct json_t *doc, const char *file,
                             sy_errors *errs);

/* The reverse, for the admin API: scalars written quoted become strings;
 * plain ones integers, reals, true/false or null when they spell one,
 * strings otherwise.  A new reference. */
struct json_t *sy_ytree_to_json(const sy_ynode *n);

/* Value of `key` in a mapping, or NULL. */
const sy_ynode *sy_ymap_get(const sy_ynode *map, const char *key);

/* Classification of a node for messages: "a string", "a list", ... */
const char *sy_ynode_what(const sy_ynode *n);

/* Plain scalars spelling null ("", "~", "null"). */
bool sy_ynode_is_null(const sy_ynode *n);

#endif
