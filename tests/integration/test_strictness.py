"""Malformed and ambiguous requests (doc/reliability.md §0-§1.2): rejected
with the right status, the connection closed after a 400, and not one byte
sent to the backend."""
import time

import pytest

from conftest import check_error

H = b"Host: gw.test\r\n"
P = b"POST /release/e HTTP/1.1\r\n"
G = b"GET /release/e HTTP/1.1\r\n"

LIMITS = {"MaxRequestLineBytes": 1024, "MaxHeaderBytes": 4096, "MaxHeaders": 20,
          "MaxBodyBytes": 1000}


@pytest.fixture(scope="module")
def gw(make_module_gateway, module_backend):
    from syharness.gateway import api, service
    return make_module_gateway({"Gateway": dict(LIMITS),
                                "Services": [service("s", [api("a", "/e", module_backend)])]})


@pytest.fixture(autouse=True)
def _reset(module_backend):
    module_backend.reset()


# (id, raw request, allowed statuses)
CASES = [
    ("cl-and-te", P + H + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", {400}),
    ("te-and-cl", P + H + b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", {400}),
    ("cl-abc", P + H + b"Content-Length: abc\r\n\r\n", {400}),
    ("cl-negative", P + H + b"Content-Length: -1\r\n\r\n", {400}),
    ("cl-two-numbers", P + H + b"Content-Length: 1 2\r\n\r\nab", {400}),
    ("cl-plus", P + H + b"Content-Length: +3\r\n\r\nabc", {400}),
    ("cl-hex", P + H + b"Content-Length: 0x3\r\n\r\nabc", {400}),
    ("cl-duplicate-differing", P + H + b"Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", {400}),
    ("cl-list-differing", P + H + b"Content-Length: 3, 4\r\n\r\nabcd", {400}),
    ("cl-overflow", P + H + b"Content-Length: 99999999999999999999999\r\n\r\n", {400, 413}),
    ("te-http10", b"POST /release/e HTTP/1.0\r\n" + H +
     b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", {400}),
    ("te-gzip", P + H + b"Transfer-Encoding: gzip\r\n\r\n", {400, 501}),
    ("te-chunked-gzip", P + H + b"Transfer-Encoding: chunked, gzip\r\n\r\n", {400, 501}),
    ("te-xchunked", P + H + b"Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", {400, 501}),
    ("te-chunked-twice-then-identity", P + H +
     b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n", {400, 501}),
    ("te-space-before-colon", P + H + b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", {400}),
    ("te-vertical-tab", P + H + b"Transfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n", {400, 501}),
    ("obs-fold", G + H + b"X-Foo: a\r\n b\r\n\r\n", {400}),
    ("obs-fold-tab", G + H + b"X-Foo: a\r\n\tb\r\n\r\n", {400}),
    ("bare-cr-value", G + H + b"X-Foo: a\rb\r\n\r\n", {400}),
    ("bare-cr-line-end", G + H + b"X-Foo: ab\r\r\n\r\n", {400}),
    # A bare CR opening a line must not end the head (RFC 9112 §2.2): a
    # front proxy reading it as SP would see X-Foo and a body, we a new message.
    ("bare-cr-line-start", P + H + b"\rX-Foo: a\r\nContent-Length: 3\r\n\r\nabc", {400}),
    ("bare-cr-line-start-get", G + H + b"\rX-Foo: a\r\n\r\n", {400}),
    ("nul-in-value", G + H + b"X-Foo: a\x00b\r\n\r\n", {400}),
    ("ctl-in-value", G + H + b"X-Foo: a\x01b\r\n\r\n", {400}),
    ("del-in-value", G + H + b"X-Foo: a\x7fb\r\n\r\n", {400}),
    ("space-before-colon", G + H + b"X-Foo : a\r\n\r\n", {400}),
    ("space-in-name", G + H + b"X Foo: a\r\n\r\n", {400}),
    ("bad-name-char", G + H + b"X[Foo]: a\r\n\r\n", {400}),
    ("empty-name", G + H + b": a\r\n\r\n", {400}),
    ("no-colon", G + H + b"X-Foo\r\n\r\n", {400}),
    ("missing-host-11", G + b"X-Foo: a\r\n\r\n", {400}),
    ("two-hosts-same", G + H + H + b"\r\n", {400}),
    ("two-hosts-differing", G + H + b"Host: other.test\r\n\r\n", {400}),
    ("host-list", G + b"Host: a.test, b.test\r\n\r\n", {400}),
    ("target-no-slash", b"GET admin HTTP/1.1\r\n" + H + b"\r\n", {400}),
    ("target-asterisk-get", b"GET * HTTP/1.1\r\n" + H + b"\r\n", {400}),
    ("target-space", b"GET /release/e x HTTP/1.1\r\n" + H + b"\r\n", {400}),
    ("target-ctl", b"GET /release/\x01e HTTP/1.1\r\n" + H + b"\r\n", {400}),
    ("bad-version", b"GET /release/e HTTP/1.x\r\n" + H + b"\r\n", {400, 505}),
    ("bad-method", b"G(T /release/e HTTP/1.1\r\n" + H + b"\r\n", {400, 501}),
    ("request-line-too-long", b"GET /release/e?" + b"a" * 1100 + b" HTTP/1.1\r\n" + H + b"\r\n", {414}),
    ("header-bytes-too-many", G + H + b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 400) for i in range(12))
     + b"\r\n", {431}),
    ("header-count-too-many", G + H + b"".join(b"X-H%d: v\r\n" % i for i in range(25)) + b"\r\n", {431}),
    ("one-huge-header", G + H + b"X-Big: " + b"v" * 5000 + b"\r\n\r\n", {431}),
    ("body-too-large-cl", P + H + b"Content-Length: 1001\r\n\r\n", {413}),
]


@pytest.mark.parametrize("raw,allowed", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rejected_and_never_forwarded(gw, module_backend, raw, allowed):
    with gw.client(timeout=5) as c:
        c.send(raw)
        r = c.read_response()
        assert r.status in allowed, "want %s, got %r" % (sorted(allowed), r)
        check_error(r, r.status)
        if r.status == 400 or r.status == 413:
            assert c.is_closed(3), "connection left open after %d (extra %r)" % (
                r.status, getattr(c, "extra", b""))
    time.sleep(0.1)
    assert module_backend.bytes_received == 0, "backend got %d bytes: %r" % (
        module_backend.bytes_received, module_backend.requests)
    assert gw.alive()


SMUGGLE = [
    ("te-cl-hidden-get",
     P + H + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"
     b"GET /release/e/smuggled HTTP/1.1\r\nHost: gw.test\r\n\r\n"),
    ("cl-te-hidden-get",
     P + H + b"Content-Length: 62\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
     b"GET /release/e/smuggled HTTP/1.1\r\nHost: gw.test\r\n\r\n"),
    ("te-obfuscated-hidden-get",
     P + H + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\nTransfer-encoding: x\r\n\r\n"
     b"5c\r\nGPOST /release/e/smuggled HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 15\r\n\r\nx=1\r\n0\r\n\r\n"),
    ("dup-cl-hidden-get",
     P + H + b"Content-Length: 0\r\nContent-Length: 51\r\n\r\n"
     b"GET /release/e/smuggled HTTP/1.1\r\nHost: gw.test\r\n\r\n"),
]


@pytest.mark.parametrize("raw", [s[1] for s in SMUGGLE], ids=[s[0] for s in SMUGGLE])
def test_smuggling_exactly_one_400(gw, module_backend, raw):
    with gw.client(timeout=5) as c:
        c.send(raw)
        r = c.read_response()
        assert r.status == 400, r
        assert c.is_closed(3), "second response or open connection after 400: %r" % getattr(c, "extra", b"")
    time.sleep(0.2)
    assert module_backend.bytes_received == 0 and not module_backend.requests, module_backend.requests


def test_bad_chunk_size_is_400(gw, module_backend):
    with gw.client(timeout=5) as c:
        c.send(P + H + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")
        r = c.read_response()
        assert r.status == 400, r
        assert c.is_closed(3)
    assert not module_backend.requests or module_backend.requests[-1].body != b"abc"


def test_chunk_size_overflow_is_400(gw, module_backend):
    with gw.client(timeout=5) as c:
        c.send(P + H + b"Transfer-Encoding: chunked\r\n\r\n10000000000000001\r\nabc\r\n0\r\n\r\n")
        r = c.read_response()
        assert r.status in (400, 413), r
        assert c.is_closed(3)


def test_chunked_body_over_limit_is_413(gw, module_backend):
    with gw.client(timeout=5) as c:
        c.send(P + H + b"Transfer-Encoding: chunked\r\n\r\n" + b"100\r\n" + b"x" * 256 + b"\r\n")
        for _ in range(4):
            try:
                c.send(b"100\r\n" + b"x" * 256 + b"\r\n")
            except OSError:
                break
        r = c.read_response()
        assert r.status == 413, r
        check_error(r, 413)
        assert c.is_closed(3)
    assert not any(q.body_len > 1000 for q in module_backend.requests)


def test_valid_request_still_works(gw, module_backend):
    """Control: the same gateway forwards a proper request."""
    r = gw.request("POST", "/release/e", body=b"abc", headers=[("X-Foo", "a\tb")])
    assert r.status == 200, r
    assert module_backend.last().body == b"abc"
    assert module_backend.last().header("X-Foo") == "a\tb"


def test_limits_not_off_by_one(gw, module_backend):
    """Just under every limit passes."""
    line_pad = 1024 - len(b"GET /release/e? HTTP/1.1\r\n") - 8
    r = gw.request("GET", "/release/e?" + "a" * line_pad,
                   headers=[("X-H%d" % i, "v") for i in range(15)])
    assert r.status == 200, r
    r = gw.request("POST", "/release/e", body=b"x" * 1000)
    assert r.status == 200, r
    assert module_backend.last().body_len == 1000


def test_http10_without_host_ok(gw, module_backend):
    with gw.client() as c:
        c.send(b"GET /release/e HTTP/1.0\r\n\r\n")
        r = c.read_response()
    assert r.status == 200, r
