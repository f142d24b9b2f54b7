/* Pure checks on a request's Host and path, shared by the proxy
 * (http/request.c) and `explain` (router/explain.c) so the two can never
 * disagree on what is a 400. */
#ifndef SY_ROUTER_TARGET_H
#define SY_ROUTER_TARGET_H

#include <stdbool.h>
#include <stddef.h>

#include "core/str.h"

/* Host or authority (reg-name, IPv4 or [IPv6], optional :port) → the
 * lower-cased host without its port, written to out (NUL-terminated).
 * Returns its length (0 for an empty reg-name such as ":8080"), or -1 when
 * the value is invalid or longer than cap-1. */
int sy_host_normalize(sy_str v, char *out, size_t cap);

/* A "." or ".." segment, raw or %2e-encoded: it could route to one API and
 * be resolved to another by the backend, so such paths are refused.
 * Segments end at "/" and at what a backend may decode or normalise into
 * one ("%2F", "%5C", "\"); a segment's name ends at ";" ("..;x" is ".."
 * to Tomcat, which strips path parameters). */
bool sy_path_has_dot_segment(sy_str path);

/* A "/" or "\" in v, raw or %-encoded: a {var} value holding one would
 * change the structure of the backend path it is substituted into. */
bool sy_segment_has_separator(sy_str v);

#endif
