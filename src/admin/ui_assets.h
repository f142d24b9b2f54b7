/* The dashboard's files (ui/ in the repository), embedded in the binary
 * at build time by scripts/embed-ui.sh (the Makefile writes
 * $(BUILD)/gen/ui_assets.c), so the gateway needs no files to serve it. */
#ifndef SY_ADMIN_UI_ASSETS_H
#define SY_ADMIN_UI_ASSETS_H

#include <stddef.h>

typedef struct sy_ui_asset {
    const char *name;  /* file name, [A-Za-z0-9._-] */
    const char *ctype; /* Content-Type */
    const unsigned char *data;
    size_t len;
} sy_ui_asset;

extern const sy_ui_asset sy_ui_assets[];
extern const size_t sy_ui_n_assets;

#endif
