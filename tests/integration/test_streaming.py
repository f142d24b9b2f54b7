"""Bodies stream both ways with bounded memory; chunked, close-delimited,
100-continue, HEAD, 204/304, and Upgrade tunnels."""
import hashlib
import threading
import time

import pytest

from syharness.backend import Reply, pattern_iter, pattern_sha256
from syharness.client import build
from syharness.gateway import api, service

BIG = 64 << 20          # bigger than any sane whole-body buffer
RSS_LIMIT_KB = 60 << 10


@pytest.fixture
def gw(make_gateway, make_backend):
    b = make_backend("big", store_body=False)
    g = make_gateway({"Gateway": {"MaxBodyBytes": 1 << 30},
                      "Services": [service("s", [api("a", "/e", b, timeout=60)])]})
    g.b = b
    return g


def rss_limit(gw):
    # Sanitizer builds carry shadow memory and a quarantine: only a loose bound.
    return (400 << 10) if gw.sanitized() else RSS_LIMIT_KB


def test_large_request_body_streams(gw):
    with gw.client(timeout=15) as c:
        c.send(build("POST", "/release/e", headers=[("Content-Length", str(BIG))]))
        c.send_stream(pattern_iter(BIG, 1 << 20))
        r = c.read_response()
    assert r.status == 200, r
    req = gw.b.last()
    assert req.body_len == BIG and req.body_sha256 == pattern_sha256(BIG)
    hwm = gw.hwm_kb()
    assert hwm < rss_limit(gw), "gateway peak RSS %d kB for a %d MB upload" % (hwm, BIG >> 20)


def test_large_chunked_request_body_streams(gw):
    with gw.client(timeout=15) as c:
        c.send(build("POST", "/release/e", headers=[("Transfer-Encoding", "chunked")]))
        n = BIG // 2
        c.send_stream(b"%x\r\n" % len(p) + p + b"\r\n" for p in pattern_iter(n, 1 << 16))
        c.send(b"0\r\n\r\n")
        r = c.read_response()
    assert r.status == 200, r
    req = gw.b.last()
    assert req.chunked and req.body_len == n and req.body_sha256 == pattern_sha256(n)
    assert gw.hwm_kb() < rss_limit(gw)


def test_large_response_streams_with_backpressure(gw):
    gw.b.set_reply(body_size=BIG, content_type="application/octet-stream")
    h = hashlib.sha256()
    with gw.client(timeout=15) as c:
        c.send(build("GET", "/release/e"))
        time.sleep(1.0)   # a client that reads late: the gateway must not buffer it all
        r = c.read_response(sink=h.update)
    assert r.status == 200 and r.body_len == BIG
    assert h.hexdigest() == pattern_sha256(BIG)
    hwm = gw.hwm_kb()
    assert hwm < rss_limit(gw), "gateway peak RSS %d kB for a %d MB download" % (hwm, BIG >> 20)


def test_slow_response_body_is_streamed_not_buffered(gw):
    """The first part reaches the client before the backend sends the rest."""
    gw.b.set_reply(body=b"a" * 1000 + b"b" * 1000, body_parts=2, part_interval=1.5,
                   content_type="text/plain")
    with gw.client(timeout=10) as c:
        c.send(build("GET", "/release/e"))
        t0 = time.time()
        r = c.read_head()
        got = b""
        while len(got) < 1000:
            got += c.recv_some(3)
        assert time.time() - t0 < 1.2, "first half held back until the whole body arrived"
        assert r.status == 200


def test_chunked_response(gw):
    gw.b.set_reply(body=b"x" * 100000, chunked=True, body_parts=7)
    r = gw.request("GET", "/release/e")
    assert r.status == 200 and r.body == b"x" * 100000


def test_close_delimited_response_is_reframed(gw):
    gw.b.set_reply(body=b"close-delimited body", close_delimited=True)
    with gw.client() as c:
        c.send(build("GET", "/release/e"))
        r = c.read_response()
        assert r.status == 200 and r.body == b"close-delimited body"
        assert not r.close_delimited, "the gateway passed a close-delimited body on to a 1.1 client"
        gw.b.set_reply(Reply())
        c.send(build("GET", "/release/e"))
        assert c.read_response().status == 200


def test_expect_100_continue(gw):
    with gw.client(timeout=5) as c:
        c.send(build("POST", "/release/e", headers=[("Content-Length", "10"),
                                                    ("Expect", "100-continue")]))
        interim = c.read_head()
        assert interim.status == 100, interim
        c.send(b"0123456789")
        r = c.read_response()
    assert r.status == 200, r
    assert gw.b.last().body_len == 10


def test_expect_100_continue_backend_does_not_send_100(gw):
    """A backend that ignores Expect must not leave the client hanging."""
    gw.b.set_reply(send_100=False)
    with gw.client(timeout=5) as c:
        c.send(build("POST", "/release/e", headers=[("Content-Length", "10"),
                                                    ("Expect", "100-continue")]))
        interim = c.read_head()
        assert interim.status == 100, interim
        c.send(b"0123456789")
        r = c.read_response()
    assert r.status == 200 and gw.b.last().body_len == 10


def test_head_has_no_body(gw):
    gw.b.set_reply(body=b"y" * 1234)
    with gw.client() as c:
        c.send(build("HEAD", "/release/e"))
        r = c.read_response("HEAD")
        assert r.status == 200
        assert r.header("Content-Length") in ("1234", None)
        c.send(build("GET", "/release/e"))
        r2 = c.read_response()
        assert r2.status == 200 and r2.body == b"y" * 1234, "HEAD left stray bytes: %r" % r2
    assert gw.b.requests[0].method == "HEAD"


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses(gw, status):
    gw.b.queue(status=status, content_type=None)
    with gw.client() as c:
        c.send(build("GET", "/release/e"))
        r = c.read_response()
        assert r.status == status
        c.send(build("GET", "/release/e"))
        r2 = c.read_response()
        assert r2.status == 200, r2


def test_304_with_content_length_has_no_body(gw):
    gw.b.queue(Reply(status=304, headers=[("Content-Length", "100")], body=b"",
                     content_type=None))
    with gw.client(timeout=5) as c:
        c.send(build("GET", "/release/e"))
        r = c.read_response()
        assert r.status == 304
        c.send(build("GET", "/release/e"))
        assert c.read_response().status == 200


def test_websocket_upgrade_tunnel(gw):
    gw.b.set_reply(upgrade=True)
    with gw.client(timeout=5) as c:
        c.send(build("GET", "/release/e", headers=[
            ("Connection", "Upgrade"), ("Upgrade", "websocket"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13")]))
        r = c.read_response()
        assert r.status == 101, r
        assert (r.header("Upgrade") or "").lower() == "websocket"
        for msg in (b"hello", b"\x81\x05world", b"z" * 100000):
            c.send(msg)
            got = b""
            while len(got) < len(msg):
                d = c.recv_some(3)
                assert d, "tunnel stopped echoing after %d bytes" % len(got)
                got += d
            assert got == msg
    req = gw.b.last()
    assert (req.header("Upgrade") or "").lower() == "websocket"
    assert "upgrade" in (req.header("Connection") or "").lower()
    assert req.header("Sec-WebSocket-Key") == "dGhlIHNhbXBsZSBub25jZQ=="


def test_upgrade_refused_by_backend_stays_http(gw):
    gw.b.queue(status=200, body=b"no upgrade here")
    with gw.client(timeout=5) as c:
        c.send(build("GET", "/release/e", headers=[("Connection", "Upgrade"), ("Upgrade", "websocket")]))
        r = c.read_response()
        assert r.status == 200 and r.body == b"no upgrade here"


def test_concurrent_streams(gw):
    """Several uploads at once stay correct (no cross-talk between connections)."""
    n = 4 << 20
    errs = []

    def one(i):
        try:
            with gw.client(timeout=15) as c:
                c.send(build("POST", "/release/e/%d" % i, headers=[("Content-Length", str(n))]))
                c.send_stream(pattern_iter(n, 1 << 16))
                r = c.read_response()
                assert r.status == 200, r
        except Exception as e:   # noqa: BLE001 - reported below
            errs.append(e)
    ts = [threading.Thread(target=one, args=(i,)) for i in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(45)
    assert not errs, errs
    reqs = gw.b.wait_requests(6)
    assert len(reqs) == 6
    want = pattern_sha256(n)
    assert all(q.body_sha256 == want for q in reqs)
