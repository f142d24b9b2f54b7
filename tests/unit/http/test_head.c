/* The HTTP/1 head collector (src/http/head.c), driven by the real llhttp in
 * strict mode: the same fields whatever the read boundaries, the rule that
 * no span outlives its buffer (a moved buffer is an error, trailers are
 * never kept, copy mode moves its spans when it grows), and the limits and
 * byte checks every head gets. */
#include <llhttp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/head.h"

#define CAP 65536

/* A receive buffer that is only appended to, as a head requires. */
typedef struct rx {
    llhttp_t p;
    sy_head h;
    sy_header fields[64];
    char buf[CAP];
    size_t len;
    int err;         /* first collector error */
    size_t head_len; /* sy_head_length at headers-complete */
    bool complete;
} rx;

static int keep(rx *x, int err)
{
    if (err && !x->err)
        x->err = err;
    return err ? -1 : 0;
}

#define RX(p) ((rx *)(p)->data)
static int f_cb(llhttp_t *p, const char *at, size_t n)
{
    return keep(RX(p), sy_head_name(&RX(p)->h, at, n));
}
static int fd_cb(llhttp_t *p)
{
    return keep(RX(p), sy_head_name_done(&RX(p)->h));
}
static int v_cb(llhttp_t *p, const char *at, size_t n)
{
    return keep(RX(p), sy_head_value(&RX(p)->h, at, n));
}
static int vd_cb(llhttp_t *p)
{
    const sy_header *h;
    return keep(RX(p), sy_head_value_done(&RX(p)->h, &h));
}
static int hc_cb(llhttp_t *p)
{
    sy_head_end(&RX(p)->h);
    return 0;
}
static int mc_cb(llhttp_t *p)
{
    RX(p)->complete = true;
    return HPE_PAUSED;
}

static llhttp_settings_t settings;

static void rx_init(rx *x, llhttp_type_t type, size_t max, size_t max_bytes)
{
    memset(x, 0, sizeof(*x));
    llhttp_settings_init(&settings);
    settings.on_header_field = f_cb;
    settings.on_header_field_complete = fd_cb;
    settings.on_header_value = v_cb;
    settings.on_header_value_complete = vd_cb;
    settings.on_headers_complete = hc_cb;
    settings.on_message_complete = mc_cb;
    llhttp_init(&x->p, type, &settings);
    x->p.data = x;
    sy_head_begin(&x->h, x->fields, max, x->buf, max_bytes);
}

/* Append bytes and parse them; returns llhttp's result. */
static llhttp_errno_t rx_feed(rx *x, const char *data, size_t n)
{
    assert_true(x->len + n <= CAP);
    memcpy(x->buf + x->len, data, n);
    const char *at = x->buf + x->len;
    x->len += n;
    return llhttp_execute(&x->p, at, n);
}

static const char REQ[] = "GET /a?b=1 HTTP/1.1\r\n"
                          "Host: example.com\r\n"
                          "X-Empty:\r\n"
                          "X-Spaces:   padded value \t \r\n"
                          "Content-Length: 3\r\n"
                          "\r\n"
                          "abc";

static void expect_req_fields(const rx *x)
{
    assert_int_equal(x->err, 0);
    assert_int_equal(x->h.n, 4);
    assert_true(sy_str_eq_c(x->fields[0].name, "Host"));
    assert_true(sy_str_eq_c(x->fields[0].value, "example.com"));
    assert_true(sy_str_eq_c(x->fields[1].name, "X-Empty"));
    assert_int_equal(x->fields[1].value.len, 0);
    assert_non_null(x->fields[1].value.p); /* empty, not absent */
    assert_true(sy_str_eq_c(x->fields[2].value, "padded value"));
    assert_true(sy_str_eq_c(x->fields[3].name, "Content-Length"));
    assert_true(sy_str_eq_c(x->fields[3].value, "3"));
}

/* Every split point of a request gives the same fields, and the head
 * length ends exactly after the blank line. */
static void test_same_fields_at_every_split(void **state)
{
    size_t n = sizeof(REQ) - 1, head = (size_t)(strstr(REQ, "\r\n\r\n") + 4 - REQ);
    for (size_t cut = 0; cut <= n; cut++) {
        rx x;
        rx_init(&x, HTTP_REQUEST, 64, 8192);
        llhttp_errno_t e = rx_feed(&x, REQ, cut);
        if (e == HPE_OK)
            e = rx_feed(&x, REQ + cut, n - cut);
        assert_int_equal(e, HPE_PAUSED);
        assert_true(x.complete);
        expect_req_fields(&x);
        assert_int_equal(sy_head_length(&x.h, x.buf + x.len), head);
    }
}

/* One byte per read, the worst case for span pieces. */
static void test_byte_by_byte(void **state)
{
    rx x;
    rx_init(&x, HTTP_REQUEST, 64, 8192);
    llhttp_errno_t e = HPE_OK;
    for (size_t i = 0; i < sizeof(REQ) - 1 && e == HPE_OK; i++)
        e = rx_feed(&x, REQ + i, 1);
    assert_int_equal(e, HPE_PAUSED);
    expect_req_fields(&x);
}

/* The buffer moved between two pieces of one value (what upstream.c used to
 * do after the head): an error, never a wrapped length. */
static void test_moved_buffer_is_an_error(void **state)
{
    static const char a[] = "HTTP/1.1 200 OK\r\nX-Long: vvvv", b[] = "vvvv\r\n\r\n";
    rx x;
    rx_init(&x, HTTP_RESPONSE, 64, 8192);
    assert_int_equal(rx_feed(&x, a, sizeof(a) - 1), HPE_OK);
    x.len = 0; /* a reset under a live span */
    assert_int_not_equal(rx_feed(&x, b, sizeof(b) - 1), HPE_OK);
    assert_int_equal(x.err, SY_HEAD_MOVED);
}

/* Trailers after the head are counted, not kept: a buffer reset between
 * their pieces (the issue 9 over-read) is harmless. */
static void test_trailers_are_not_kept(void **state)
{
    static const char head[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "3\r\nabc\r\n0\r\nX-T: vvvv";
    static const char tail[] = "vvvvvv\r\nX-U: 1\r\n\r\n";
    rx x;
    rx_init(&x, HTTP_RESPONSE, 64, 8192);
    assert_int_equal(rx_feed(&x, head, sizeof(head) - 1), HPE_OK);
    assert_int_equal(x.h.n, 1);
    x.len = 0; /* the body phase reuses the buffer */
    assert_int_equal(rx_feed(&x, tail, sizeof(tail) - 1), HPE_PAUSED);
    assert_int_equal(x.err, 0);
    assert_int_equal(x.h.n, 1); /* still only Transfer-Encoding */
    assert_int_equal(x.h.trailer_bytes, strlen("X-T") + 10 + strlen("X-U") + 1);
}

static void test_trailer_section_is_bounded(void **state)
{
    rx x;
    rx_init(&x, HTTP_RESPONSE, 64, 64);
    static const char head[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n";
    assert_int_equal(rx_feed(&x, head, sizeof(head) - 1), HPE_OK);
    char line[100];
    memset(line, 'v', sizeof line);
    memcpy(line, "X: ", 3);
    assert_int_not_equal(rx_feed(&x, line, sizeof line), HPE_OK);
    assert_int_equal(x.err, SY_HEAD_TOO_BIG);
}

static void test_limits(void **state)
{
    rx x;
    rx_init(&x, HTTP_REQUEST, 2, 8192);
    static const char three[] = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    assert_int_not_equal(rx_feed(&x, three, sizeof(three) - 1), HPE_OK);
    assert_int_equal(x.err, SY_HEAD_TOO_MANY);

    rx_init(&x, HTTP_REQUEST, 64, 40); /* bytes count from the head's start */
    static const char big[] = "GET / HTTP/1.1\r\nA: 0123456789012345678901234567890\r\n\r\n";
    assert_int_not_equal(rx_feed(&x, big, sizeof(big) - 1), HPE_OK);
    assert_int_equal(x.err, SY_HEAD_TOO_BIG);
}

static int bad_head(const char *text)
{
    rx x;
    rx_init(&x, HTTP_REQUEST, 64, 8192);
    rx_feed(&x, text, strlen(text));
    return x.err;
}

static void test_names_and_values(void **state)
{
    assert_int_equal(bad_head("GET / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n"), SY_HEAD_FOLD);
    /* a fold after an empty first line: llhttp's value starts after it */
    assert_int_equal(bad_head("GET / HTTP/1.1\r\nTransfer-Encoding:\r\n chunked\r\n\r\n"),
                     SY_HEAD_FOLD);
    assert_int_equal(bad_head("GET / HTTP/1.1\r\nX-Foo:\r\n\tb\r\n\r\n"), SY_HEAD_FOLD);
    assert_int_equal(bad_head("GET / HTTP/1.1\r\nX-Foo:\r\nX-Bar: b\r\n\r\n"), 0);
    assert_int_equal(bad_head("GET / HTTP/1.1\r\nX-A: a\x01z\r\n\r\n"),
                     0); /* llhttp refuses it first */
    assert_int_equal(bad_head("GET / HTTP/1.1\r\nX-A: ok\r\n\r\n"), 0);
    /* What llhttp lets through is checked here too (a direct call: llhttp
     * in strict mode refuses most of these before the collector sees them). */
    sy_header f[4];
    sy_head h;
    sy_head_begin(&h, f, 4, NULL, 100);
    assert_int_equal(sy_head_name(&h, "X A", 3), 0);
    assert_int_equal(sy_head_name_done(&h), SY_HEAD_BAD_NAME);
    sy_head_begin(&h, f, 4, NULL, 100);
    assert_int_equal(sy_head_name_done(&h), SY_HEAD_EMPTY_NAME);
    sy_head_begin(&h, f, 4, NULL, 100);
    assert_int_equal(sy_head_value(&h, "v", 1), SY_HEAD_ORDER);
    const sy_header *out;
    static const char line[] = "X: a\x7f"; /* slice mode: one buffer */
    sy_head_begin(&h, f, 4, NULL, 100);
    sy_head_name(&h, line, 1);
    sy_head_name_done(&h);
    sy_head_value(&h, line + 3, 2);
    assert_int_equal(sy_head_value_done(&h, &out), SY_HEAD_CTL);
}

/* Copy mode: pieces from transient writes, a growing buffer; every span
 * must follow the buffer when it moves. */
static void test_copy_mode_moves_spans(void **state)
{
    sy_buf copy = {0};
    sy_head h = {0};
    sy_head_begin_copy(&h, &copy, 200, 1 << 20, true);
    char name[32], value[300];
    for (int i = 0; i < 150; i++) {
        int nl = snprintf(name, sizeof name, "X-Field-%d", i);
        memset(value, 'a' + i % 26, sizeof value);
        /* each in two pieces, from a scratch buffer we overwrite after */
        char scratch[400];
        memcpy(scratch, name, (size_t)nl);
        assert_int_equal(sy_head_name(&h, scratch, 3), 0);
        assert_int_equal(sy_head_name(&h, scratch + 3, (size_t)nl - 3), 0);
        memset(scratch, 0, sizeof scratch);
        assert_int_equal(sy_head_name_done(&h), 0);
        memcpy(scratch, value, sizeof value);
        assert_int_equal(sy_head_value(&h, scratch, 100), 0);
        assert_int_equal(sy_head_value(&h, scratch + 100, 200), 0);
        memset(scratch, 0, sizeof scratch);
        const sy_header *out;
        assert_int_equal(sy_head_value_done(&h, &out), 0);
        assert_non_null(out);
    }
    assert_int_equal(h.n, 150);
    for (int i = 0; i < 150; i++) {
        int nl = snprintf(name, sizeof name, "x-field-%d", i); /* lower-cased */
        assert_true(sy_str_eq(h.fields[i].name, sy_str_make(name, (size_t)nl)));
        assert_int_equal(h.fields[i].value.len, 300);
        assert_true(h.fields[i].value.p >= copy.data &&
                    h.fields[i].value.p + 300 <= copy.data + copy.len);
        for (size_t k = 0; k < 300; k++)
            assert_int_equal(h.fields[i].value.p[k], 'a' + i % 26);
    }
    /* a second message reuses the array and the buffer */
    sy_head_begin_copy(&h, &copy, 200, 1 << 20, true);
    assert_int_equal(h.n, 0);
    assert_int_equal(copy.len, 0);
    sy_head_free(&h);
    sy_buf_free(&copy);
}

/* A head with an empty last value: the length still ends at the blank
 * line, not in the body after it. */
static void test_head_length_with_empty_last_value(void **state)
{
    static const char t[] =
        "POST /x HTTP/1.1\r\nHost: h\r\nX-E:   \r\nContent-Length: 8\r\nY:\r\n\r\n\r\n\r\nbody";
    rx x;
    rx_init(&x, HTTP_REQUEST, 64, 8192);
    rx_feed(&x, t, sizeof(t) - 1);
    assert_int_equal(x.err, 0);
    assert_int_equal(sy_head_length(&x.h, x.buf + x.len),
                     (size_t)(strstr(t, "Y:\r\n\r\n") + 6 - t));
}

/* One list across repeated fields, empty items skipped (RFC 9110 §5.3). */
static void test_field_tokens(void **state)
{
    const sy_header f[] = {
        {SY_STR_LIT("upgrade"), SY_STR_LIT(" h2c ,, WebSocket")},
        {SY_STR_LIT("connection"), SY_STR_LIT("upgrade")},
        {SY_STR_LIT("Upgrade"), SY_STR_LIT("")},
        {SY_STR_LIT("UPGRADE"), SY_STR_LIT("foo/2 ,")},
    };
    sy_field_tokens it = {.fields = f, .n = 4, .name = "Upgrade"};
    sy_str tok;
    const char *want[] = {"h2c", "WebSocket", "foo/2"};
    for (size_t i = 0; i < 3; i++) {
        assert_true(sy_field_tokens_next(&it, &tok));
        assert_true(sy_str_eq_c(tok, want[i]));
    }
    assert_false(sy_field_tokens_next(&it, &tok));
    assert_false(sy_field_tokens_next(&it, &tok));
    sy_field_tokens none = {.fields = f, .n = 4, .name = "Trailer"};
    assert_false(sy_field_tokens_next(&none, &tok));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_field_tokens),
        cmocka_unit_test(test_same_fields_at_every_split),
        cmocka_unit_test(test_byte_by_byte),
        cmocka_unit_test(test_moved_buffer_is_an_error),
        cmocka_unit_test(test_trailers_are_not_kept),
        cmocka_unit_test(test_trailer_section_is_bounded),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_names_and_values),
        cmocka_unit_test(test_copy_mode_moves_spans),
        cmocka_unit_test(test_head_length_with_empty_last_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
