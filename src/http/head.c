/* The HTTP/1 head collector; head.h states the rule it owns (no span
 * outlives its buffer) and the checks it makes. */
#include "http/head.h"

#include <stdint.h>
#include <string.h>

#include "core/arena.h"

void sy_head_begin(sy_head *h, sy_header *fields, size_t max, const char *start, size_t max_bytes)
{
    *h = (sy_head){.fields = fields, .max = max, .max_bytes = max_bytes, .start = start};
}

void sy_head_begin_copy(sy_head *h, sy_buf *copy, size_t max, size_t max_bytes, bool lower)
{
    sy_header *fields = h->fields;
    size_t cap = h->copy ? h->cap : 0; /* a reused copy-mode head keeps its array */
    *h = (sy_head){.fields = cap ? fields : NULL,
                   .cap = cap,
                   .max = max,
                   .max_bytes = max_bytes,
                   .copy = copy,
                   .lower = lower};
    sy_buf_reset(copy);
}

void sy_head_free(sy_head *h)
{
    if (h->copy)
        free(h->fields);
    h->fields = NULL;
    h->cap = 0;
}

/* Copy mode: room for n more bytes.  When the buffer has to move, every
 * span into it moves too: offsets are taken while the old block is still
 * valid and turned back into pointers into the new one. */
static void copy_reserve(sy_head *h, size_t n)
{
    sy_buf *b = h->copy;
    if (b->cap - b->len >= n)
        return;
    const char *old = b->data;
#define TO_OFF(s) ((s).p = (const char *)(uintptr_t)((s).p ? (s).p - old + 1 : 0))
#define TO_PTR(s) ((s).p = (s).p ? b->data + ((uintptr_t)(s).p - 1) : NULL)
    for (size_t i = 0; i < h->n; i++) {
        TO_OFF(h->fields[i].name);
        TO_OFF(h->fields[i].value);
    }
    if (h->in_value)
        TO_OFF(h->fields[h->n].name);
    TO_OFF(h->cur);
    sy_buf_reserve(b, n);
    for (size_t i = 0; i < h->n; i++) {
        TO_PTR(h->fields[i].name);
        TO_PTR(h->fields[i].value);
    }
    if (h->in_value)
        TO_PTR(h->fields[h->n].name);
    TO_PTR(h->cur);
#undef TO_OFF
#undef TO_PTR
}

static void copy_piece(sy_head *h, const char *at, size_t len, bool lower)
{
    copy_reserve(h, len ? len : 1);
    char *dst = h->copy->data + h->copy->len;
    if (!h->cur.p)
        h->cur = sy_str_make(dst, 0);
    for (size_t i = 0; i < len; i++) {
        char ch = at[i];
        dst[i] = lower && ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch;
    }
    h->copy->len += len;
    h->cur.len += len;
}

int sy_head_span(sy_head *h, sy_str *s, const char *at, size_t len)
{
    if (!s->p || !s->len)
        *s = sy_str_make(at, len);
    else if (at == s->p + s->len)
        s->len += len;
    else
        return SY_HEAD_MOVED;
    if (len)
        h->end = at + len;
    return SY_HEAD_OK;
}

static int trailer(sy_head *h, size_t len)
{
    h->trailer_bytes += len;
    return h->trailer_bytes > h->max_bytes ? SY_HEAD_TOO_BIG : SY_HEAD_OK;
}

/* Line ends between the end of what was collected and a later piece of
 * the same (append-only) buffer: the piece continues on a folded line. */
static bool folded(const char *from, const char *at)
{
    return memchr(from, '\n', (size_t)(at - from)) || memchr(from, '\r', (size_t)(at - from));
}

/* One piece of the current name or value. */
static int piece(sy_head *h, const char *at, size_t len, bool lower)
{
    if (h->copy) {
        if (h->copy->len + len > h->max_bytes)
            return SY_HEAD_TOO_BIG;
        copy_piece(h, at, len, lower);
        return SY_HEAD_OK;
    }
    if (!h->start)
        h->start = at;
    if ((size_t)(at + len - h->start) > h->max_bytes)
        return SY_HEAD_TOO_BIG;
    if (h->in_value) {
        /* llhttp marks an empty value with a zero-length piece at the next
         * line: nothing to collect. */
        if (!len)
            return SY_HEAD_OK;
        /* obs-fold: llhttp delivers the continuation as a separate piece
         * after the line end, also when the first line's value is empty
         * ("Transfer-Encoding:\r\n chunked" would otherwise look clean). */
        const sy_str name = h->fields[h->n].name;
        const char *from = h->cur.p ? h->cur.p + h->cur.len : name.p + name.len;
        if (at > from && folded(from, at))
            return SY_HEAD_FOLD;
    }
    return sy_head_span(h, &h->cur, at, len);
}

int sy_head_name(sy_head *h, const char *at, size_t len)
{
    if (h->done)
        return trailer(h, len);
    return piece(h, at, len, h->lower);
}

static bool is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

int sy_head_name_done(sy_head *h)
{
    if (h->done)
        return trailer(h, 0);
    if (h->n >= h->max)
        return SY_HEAD_TOO_MANY;
    /* llhttp tolerates whitespace before the colon; RFC 9112 §5.1 says a
     * server MUST reject it (a classic smuggling vector) and a proxy must
     * not pass it on in a response. */
    if (h->cur.len == 0)
        return SY_HEAD_EMPTY_NAME;
    for (size_t i = 0; i < h->cur.len; i++)
        if (!is_tchar((unsigned char)h->cur.p[i]))
            return SY_HEAD_BAD_NAME;
    if (h->copy && h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 16;
        if (h->cap > h->max)
            h->cap = h->max;
        h->fields = sy_realloc(h->fields, h->cap * sizeof(*h->fields));
    }
    h->fields[h->n].name = h->cur;
    h->fields[h->n].value = SY_STR_NULL;
    h->in_value = true;
    h->cur = SY_STR_NULL;
    return SY_HEAD_OK;
}

int sy_head_value(sy_head *h, const char *at, size_t len)
{
    if (h->done)
        return trailer(h, len);
    if (!h->in_value)
        return SY_HEAD_ORDER;
    return piece(h, at, len, false);
}

int sy_head_value_done(sy_head *h, const sy_header **out)
{
    *out = NULL;
    if (h->done)
        return trailer(h, 0);
    if (!h->in_value)
        return SY_HEAD_ORDER;
    sy_header *f = &h->fields[h->n];
    /* An empty value still points into the head (after its name). */
    sy_str v = h->cur.p ? sy_str_trim(h->cur) : sy_str_make(f->name.p + f->name.len, 0);
    /* llhttp folds continuation lines into the value span, so any CR or LF
     * left inside a value means the message used obs-fold.  RFC 9112 §5.2
     * allows rejecting it; we do, as nginx does. */
    for (size_t i = 0; i < v.len; i++) {
        unsigned char ch = (unsigned char)v.p[i];
        if (ch == '\r' || ch == '\n')
            return SY_HEAD_FOLD;
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return SY_HEAD_CTL;
    }
    f->value = v;
    h->n++;
    h->in_value = false;
    h->cur = SY_STR_NULL;
    *out = f;
    return SY_HEAD_OK;
}

size_t sy_head_length(const sy_head *h, const char *limit)
{
    if (!h->start || limit <= h->start)
        return 0;
    /* After the last non-empty piece come only OWS, ':' and line ends:
     * the first blank line from there ends the head. */
    const char *from = h->end && h->end > h->start ? h->end : h->start;
    const char *blank = memmem(from, (size_t)(limit - from), "\r\n\r\n", 4);
    if (!blank)
        return (size_t)(limit - h->start); /* keep everything parsed */
    return (size_t)(blank + 4 - h->start);
}

const char *sy_head_why(int err, bool trailer_section)
{
    switch (err) {
    case SY_HEAD_TOO_MANY:
        return "too many header fields";
    case SY_HEAD_TOO_BIG:
        return trailer_section ? "trailer section too large" : "header section too large";
    case SY_HEAD_MOVED:
        return "header piece outside its span";
    case SY_HEAD_ORDER:
        return "header value without a name";
    case SY_HEAD_EMPTY_NAME:
        return "empty header field name";
    case SY_HEAD_BAD_NAME:
        return "invalid character in a header field name";
    case SY_HEAD_FOLD:
        return "obsolete line folding is not allowed";
    case SY_HEAD_CTL:
        return "control character in a header value";
    default:
        return "ok";
    }
}

bool sy_field_tokens_next(sy_field_tokens *it, sy_str *tok)
{
    for (; it->i < it->n; it->i++, it->pos = 0) {
        if (!sy_str_ieq_c(it->fields[it->i].name, it->name))
            continue;
        while (sy_str_list_next(it->fields[it->i].value, &it->pos, tok))
            if (tok->len)
                return true;
    }
    return false;
}
