"""Request smuggling and body-error cases, each delivered whole and split at
every byte (one send per byte, TCP_NODELAY).  The two deliveries must give
the same client status and the same bytes at the backend (the request id
aside), and a request whose body turned out malformed must leave the
backend connection closed, never reused.

The rule that makes the backend bytes agree (doc/core-principles.md, "Body
errors"): the gateway streams, so the head may already be out when the body
breaks; it then still delivers exactly what it had parsed as valid — the
head and the body up to the error, in the client's own chunk sizes — and
closes the backend connection.  Read boundaries change nothing."""
import re
import socket
import time

import pytest

from syharness.client import Client, Closed
from syharness.gateway import api, service

from rawpeer import RecordingBackend, send_split

H = b"POST /release/e HTTP/1.1\r\nHost: gw.test\r\n"
CH = H + b"Transfer-Encoding: chunked\r\n\r\n"
GET = b"GET /release/e HTTP/1.1\r\nHost: gw.test\r\n\r\n"

# (id, request bytes, expected status or None for "whatever, but the same",
#  whether the backend connection must end up closed)
CASES = [
    ("valid-chunked", CH + b"5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\nX-T: 1\r\n\r\n", 200, False),
    ("valid-length", H + b"Content-Length: 5\r\n\r\nhello", 200, False),
    ("chunk-size-bare-lf", CH + b"5\nhello\r\n0\r\n\r\n", 400, True),
    ("chunk-size-overflow", CH + b"ffffffffffffffff1\r\nhello\r\n0\r\n\r\n", 400, True),
    ("second-chunk-overflow", CH + b"5\r\nhello\r\nffffffffffffffff1\r\nx\r\n0\r\n\r\n", 400, True),
    ("chunk-extension-20k", CH + b"5;" + b"e" * 20000 + b"\r\nhello\r\n0\r\n\r\n", 400, True),
    ("chunk-data-bad-end", CH + b"5\r\nhelloXX0\r\n\r\n", 400, True),
    ("body-over-limit", CH + b"5\r\nhello\r\n9\r\nworld1234\r\n0\r\n\r\n", 413, True),
    ("cl-and-te", H + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, False),
    ("te-folded", H + b"Transfer-Encoding:\r\n chunked\r\nContent-Length: 5\r\n\r\nhello", 400, False),
    ("two-lengths", H + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400, False),
    ("te-chunked-hidden-request", CH + b"0\r\n\r\n" + GET, 200, False),
]


@pytest.fixture(scope="module")
def rig(make_module_gateway):
    b = RecordingBackend()
    gw = make_module_gateway({"Gateway": {"MaxBodyBytes": 10},
                              "Services": [service("s", [api("a", "/e", b.url,
                                                             service_path="/e")])]})
    yield gw, b
    b.close()


def deliver(gw, b, data, split):
    """Send, read every response until the gateway closes or goes quiet;
    returns (statuses, {backend conn: bytes}, backend conns closed)."""
    mark = b.mark()
    statuses = []
    with Client(gw.port, timeout=5) as c:
        send_split(c.sock, data, split)
        while True:
            try:
                r = c.read_response()
            except (Closed, OSError, socket.timeout):
                break
            statuses.append(r.status)
            if c.is_closed(0.3) or not c.extra:
                break            # closed, or quiet: no further response
            c.buf = c.extra
    # the gateway finishes with the backend on its own schedule
    deadline = time.time() + 3
    got = b.since(mark)
    while time.time() < deadline:
        time.sleep(0.05)
        now = b.since(mark)
        with b.lock:
            closed = {i for i in now if i in b.closed}
        if now == got and (not now or closed == set(now) or statuses and statuses[-1] == 200):
            break
        got = now
    with b.lock:
        closed = {i for i in got if i in b.closed}
    return statuses, got, closed


def norm(by_conn):
    """All bytes the backend got, the request id values masked."""
    raw = b"".join(by_conn[i] for i in sorted(by_conn))
    return re.sub(rb"(?i)(X-Api-RequestId: )[0-9a-f]+", rb"\1<id>", raw)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_whole_and_split_agree(rig, case):
    name, data, want, must_close = case
    gw, b = rig
    whole = deliver(gw, b, data, split=False)
    split = deliver(gw, b, data, split=True)
    assert whole[0] == split[0], "%s: status whole %r, split %r" % (name, whole[0], split[0])
    assert whole[0] and whole[0][0] == want, "%s: %r" % (name, whole[0])
    assert norm(whole[1]) == norm(split[1]), \
        "%s: the backend got different bytes:\nwhole %r\nsplit %r" % (name, norm(whole[1])[:600],
                                                                      norm(split[1])[:600])
    if must_close:
        for got in (whole, split):
            assert set(got[1]) == got[2], "%s: backend connection left open (pooled?)" % name
    if name == "te-chunked-hidden-request":
        assert whole[0] == [200, 200]   # the "hidden" request is a pipelined one, answered
    # and the worker still serves
    with Client(gw.port, timeout=3) as c:
        c.send(GET)
        assert c.read_response().status == 200


def test_h2_content_length_mismatch_resets_and_closes_the_backend(make_gateway):
    """HTTP/2 DATA that contradicts content-length (shorter, or longer):
    nghttp2 resets the stream (PROTOCOL_ERROR), delivered whole or with the
    head well ahead of the DATA; a backend connection that got any byte of
    it is closed, never reused, and the next request is served."""
    from syharness.h2raw import H2Raw, frame, lit
    b = RecordingBackend()
    try:
        gw = make_gateway({"Gateway": {"Http2Cleartext": True},
                           "Services": [service("s", [api("a", "/e", b.url, service_path="/e")])]})
        block = (lit(":method", "POST") + lit(":scheme", "http") + lit(":path", "/release/e") +
                 lit(":authority", "gw.test") + lit("content-length", "10"))
        for data in (b"hello", b"hello world!"):
            for split in (False, True):
                mark = b.mark()
                c = H2Raw(gw.port)
                head = frame(1, 4, 1, block)                  # HEADERS, END_HEADERS
                body = frame(0, 1, 1, data)                    # DATA, END_STREAM
                if split:
                    c.send(head)
                    time.sleep(0.3)                            # the head reaches the backend
                    c.send(body)
                else:
                    c.send(head + body)
                fr = c.frames(until=lambda t, fl, s, p: t == 3 and s == 1, timeout=3)
                c.close()
                rst = [p for t, fl, s, p in fr if t == 3 and s == 1]
                assert rst and rst[0] == b"\x00\x00\x00\x01", (data, split, fr)  # PROTOCOL_ERROR
                deadline = time.time() + 3
                while time.time() < deadline:
                    got = b.since(mark)
                    with b.lock:
                        if all(i in b.closed for i in got):
                            break
                    time.sleep(0.05)
                with b.lock:
                    assert all(i in b.closed for i in got), (data, split, "backend connection kept")
        with Client(gw.port, timeout=3) as c:
            c.send(b"GET /release/e HTTP/1.1\r\nHost: gw.test\r\n\r\n")
            assert c.read_response().status == 200
    finally:
        b.close()
