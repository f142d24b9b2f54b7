/* The dashboard's files under /ui/ (doc/dashboard.md).
 *
 * They are served before authentication: they hold no data, only the page,
 * its script and its style; every number the pages show comes from admin
 * API calls that carry the token the login form took.  Every answer under
 * /ui/ carries a Content-Security-Policy that allows nothing but this
 * origin's own files (no inline script or style, no other host), so a name
 * a user typed can never run as code even if a page printed it as HTML
 * (the pages never do: app.js writes text nodes only). */
#include <string.h>

#include "admin/admin_int.h"
#include "admin/ui_assets.h"

#define UI_HEADERS                                                                                 \
    "Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self'; "           \
    "img-src 'self'; connect-src 'self'; font-src 'none'; object-src 'none'; "                     \
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n"                              \
    "X-Content-Type-Options: nosniff\r\n"                                                          \
    "X-Frame-Options: DENY\r\n"                                                                    \
    "Referrer-Policy: no-referrer\r\n"

static const char prefix[] = "/ui/";

bool sy_admin_ui_path(sy_str path)
{
    return (path.len == 3 && memcmp(path.p, "/ui", 3) == 0) ||
           (path.len >= sizeof prefix - 1 && memcmp(path.p, prefix, sizeof prefix - 1) == 0);
}

void sy_admin_ui(const sy_admin_req *rq, sy_admin_resp *rs)
{
    if (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0) {
        sy_admin_error(rs, 405, "method_not_allowed", "the dashboard's files take GET or HEAD");
        rs->extra_headers = "Allow: GET, HEAD\r\n" UI_HEADERS;
        return;
    }
    /* "/ui" and "/ui/" are the page; the page names its files absolutely
     * (/ui/app.js), so no redirect is needed for the form without slash. */
    size_t off = rq->path.len > 3 ? sizeof prefix - 1 : rq->path.len;
    const char *name = rq->path.p + off;
    size_t len = rq->path.len - off;
    if (len == 0) {
        name = "index.html";
        len = strlen(name);
    }
    for (size_t i = 0; i < sy_ui_n_assets; i++) {
        const sy_ui_asset *a = &sy_ui_assets[i];
        if (strlen(a->name) != len || memcmp(a->name, name, len) != 0)
            continue;
        rs->status = 200;
        rs->ctype = a->ctype;
        rs->extra_headers = UI_HEADERS;
        sy_buf_reset(&rs->body);
        sy_buf_append(&rs->body, a->data, a->len);
        return;
    }
    sy_admin_error(rs, 404, "not_found", "no such dashboard file");
    rs->extra_headers = UI_HEADERS;
}
