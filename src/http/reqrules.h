/* The request-head rules llhttp leaves to us, written once for every
 * HTTP/1.1 listener: the proxy (http/request.c) and the admin listener
 * (admin/server.c) give the same answer to the same bytes.
 *
 * llhttp (strict mode) already refuses CL+TE, bad or repeated
 * Content-Length, bare CR/LF, invalid token and value bytes; the head
 * collector (http/head.h) refuses obs-fold, control bytes and oversize
 * heads.  What is here: one SP between the request-line parts, the HTTP
 * version, CONNECT and asterisk-form, Host presence and uniqueness, the
 * singletons routing and auth read, and Transfer-Encoding. */
#ifndef SY_HTTP_REQRULES_H
#define SY_HTTP_REQRULES_H

#include <llhttp.h>
#include <stdbool.h>

#include "core/str.h"
#include "http/head.h"

/* RFC 9112 §3: method SP target SP version, exactly one SP each (llhttp
 * skips any number).  The head stays in its receive buffer while it is
 * parsed, so the bytes around a span are still there: `at` is the first
 * piece of the request-target (on_url), `target_end` the byte after the
 * whole target. */
static inline bool sy_reqline_one_sp_before_target(const char *at)
{
    return at[-1] == ' ' && at[-2] != ' ';
}

static inline bool sy_reqline_one_sp_before_version(const char *target_end)
{
    return target_end[0] == ' ' && target_end[1] != ' ';
}

/* What the head says about framing, once it passed. */
typedef struct sy_reqhead_facts {
    bool chunked; /* Transfer-Encoding: chunked (the only one accepted) */
    sy_str host;  /* the Host value; .p NULL when absent (HTTP/1.0) */
} sy_reqhead_facts;

/* Check a complete head (p after on_headers_complete's entry; target the
 * request-target).  0 when it passes, else the status to answer (400,
 * 405, 501) with *why set; the connection is closed after such answers. */
int sy_reqhead_check(const llhttp_t *p, const sy_head *head, sy_str target, sy_reqhead_facts *facts,
                     const char **why);

#endif
