/* The HTTP/1 head collector: one place that turns llhttp's field and value
 * pieces into sy_header slices, for client requests (http/request.c),
 * backend responses (http/response.c) and the HTTP/1.1 response an HTTP/2
 * stream turns into HEADERS (http/h2.c).
 *
 * The rule it owns: NO SPAN OUTLIVES ITS BUFFER.
 *   - Slice mode (requests, responses): a span points into the caller's
 *     receive buffer, which must only be appended to while the head is read
 *     (so llhttp's pieces of one name or value are adjacent).  A piece that
 *     does not continue its span means the buffer moved: that is an error
 *     (SY_HEAD_MOVED), never a length computed across the move.  After the
 *     head the caller may reuse the buffer only beyond sy_head_length():
 *     the request side keeps its head in place for the whole exchange
 *     (retries and the access log read it), the response side is done with
 *     its fields once the head is serialized.
 *   - Copy mode (HTTP/2 responses, whose input is a transient write): the
 *     pieces are copied into a growable buffer the collector owns, and the
 *     spans are moved with it whenever it grows.
 *   - Trailer fields (after sy_head_end) are never kept as spans: they
 *     arrive while the buffer is being reused, and we do not forward them.
 *     They are only bounded (bytes) like a head.
 *
 * Limits: fields (SY_HEAD_MAX_FIELDS for backend responses, MaxHeaders for
 * requests) and bytes (from the head's first byte in slice mode; the
 * trailer section separately).  Names must be tokens (no whitespace before
 * the colon, RFC 9112 §5.1); values must hold no CR/LF (obs-fold, §5.2)
 * or other control byte.  Functions return SY_HEAD_OK (0) or an error. */
#ifndef SY_HTTP_HEAD_H
#define SY_HTTP_HEAD_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "router/reqview.h"

/* Fields in a backend's response head (the request limit is MaxHeaders). */
#define SY_HEAD_MAX_FIELDS 128
/* Fields the proxy adds when it rebuilds a response head (request id,
 * framing, Connection): an HTTP/2 stream collects the rebuilt head. */
#define SY_HEAD_OWN_FIELDS 8

enum sy_head_err {
    SY_HEAD_OK = 0,
    SY_HEAD_TOO_MANY, /* more fields than the limit */
    SY_HEAD_TOO_BIG,  /* head (or trailer section) larger than the limit */
    SY_HEAD_MOVED,    /* a piece does not continue its span */
    SY_HEAD_ORDER,    /* a value piece with no field name before it */
    SY_HEAD_EMPTY_NAME,
    SY_HEAD_BAD_NAME, /* a non-token byte in a name (e.g. SP before ':') */
    SY_HEAD_FOLD,     /* CR or LF in a value: obs-fold */
    SY_HEAD_CTL,      /* another control byte in a value */
};

typedef struct sy_head {
    sy_header *fields; /* completed fields (slice mode: caller's array) */
    size_t n, max;
    size_t max_bytes;  /* head bytes from `start`; trailer bytes */
    const char *start; /* slice mode: the head's first byte, or NULL */
    const char *end;   /* slice mode: end of the last non-empty piece */
    sy_str cur;        /* the name or value being collected */
    bool in_value;     /* cur is a value (its name is fields[n].name) */
    bool done;         /* head complete: later fields are trailers */
    size_t trailer_bytes;
    sy_buf *copy; /* copy mode: where pieces go */
    size_t cap;   /* copy mode: allocated fields */
    bool lower;   /* copy mode: lower-case names (HTTP/2) */
} sy_head;

/* Slice mode over `fields` (capacity max).  `start` is the head's first
 * byte in the buffer (the byte limit counts from it), or NULL to count from
 * the first piece. */
void sy_head_begin(sy_head *h, sy_header *fields, size_t max, const char *start, size_t max_bytes);
/* Copy mode into `copy` (reset here); the collector grows its own field
 * array up to max; free it with sy_head_free. */
void sy_head_begin_copy(sy_head *h, sy_buf *copy, size_t max, size_t max_bytes, bool lower);
void sy_head_free(sy_head *h);

/* llhttp's on_header_field / on_header_field_complete / on_header_value /
 * on_header_value_complete.  value_done sets *out to the completed field
 * (its value trimmed of OWS), or NULL for a trailer field. */
int sy_head_name(sy_head *h, const char *at, size_t len);
int sy_head_name_done(sy_head *h);
int sy_head_value(sy_head *h, const char *at, size_t len);
int sy_head_value_done(sy_head *h, const sy_header **out);

/* on_headers_complete: what follows is body and trailers. */
static inline void sy_head_end(sy_head *h)
{
    h->done = true;
}

/* Extend a span by the next piece (slice mode, e.g. the request-target):
 * SY_HEAD_MOVED when the piece does not continue it, SY_HEAD_TOO_BIG past
 * the byte limit. */
int sy_head_span(sy_head *h, sy_str *s, const char *at, size_t len);

/* Slice mode, after sy_head_end: the head's length from `start` through
 * its blank line, searching no further than `limit` (the bytes parsed so
 * far).  Bytes before start + this length must stay where they are. */
size_t sy_head_length(const sy_head *h, const char *limit);

/* A short reason for an error code, for logs and error bodies. */
const char *sy_head_why(int err, bool trailer);

/* The items of every field called `name` in fields[0..n), as one
 * comma-separated list (RFC 9110 §5.3), trimmed; empty items are skipped.
 * Start with {.fields, .n, .name}. */
typedef struct sy_field_tokens {
    const sy_header *fields;
    size_t n;
    const char *name;
    size_t i, pos;
} sy_field_tokens;

bool sy_field_tokens_next(sy_field_tokens *it, sy_str *tok);

#endif
