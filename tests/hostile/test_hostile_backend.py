"""A hostile backend: responses built to break the response parser.

Every case asserts a clean outcome for the client (a well-framed response,
a 502 when nothing had been sent yet, or a close once bytes were already
on their way) and that the worker keeps serving: a normal request on a
fresh connection still gets its 200.  Run against an ASan build
(SWITCHYARD_BIN=build-asan/switchyard) these are the over-read checks."""
import os

import pytest

from syharness.client import Closed
from syharness.gateway import simple_config

from rawpeer import CLOSE, OK, ScriptedBackend

HEAD_CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"


@pytest.fixture
def hostile(make_gateway):
    """hostile(script) -> (gateway, backend): one API /release/echo to the
    scripted backend, one worker (so "keeps serving" is the same worker)."""
    made = []

    def make(script):
        b = ScriptedBackend(script)
        made.append(b)
        gw = make_gateway(simple_config(b.url))
        return gw, b
    yield make
    for b in made:
        b.close()


def still_serves(gw, b):
    """A plain exchange after the attack: the worker is alive and answers."""
    b.script = lambda head, n: [OK]
    r = gw.request("GET", "/release/echo", timeout=3)
    assert r.status == 200 and r.body == b"ok", r
    assert gw.alive()


def outcome(gw, raw=None, timeout=4):
    """Send one GET; return the response, or None when the gateway closed
    the connection without (or in the middle of) a response."""
    with gw.client(timeout=timeout) as c:
        c.send(raw or b"GET /release/echo HTTP/1.1\r\nHost: gw.test\r\n\r\n")
        try:
            return c.read_response()
        except (Closed, ValueError, AssertionError):
            return None


SEED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fuzz", "corpus",
                    "response_split", "trailer_split_overread")


def seed_pieces():
    """The fuzz regression seed (fuzz/gen_seeds.py, fuzz_response_split's
    format) as the backend's writes: the head, exactly 32,768 bytes (the
    backend receive buffer) ending inside a trailer value -- `...\r\n0\r\n
    X-T: ` and 1,000 `v` --, then the rest of the value."""
    with open(SEED, "rb") as f:
        data = f.read()
    n, cuts, at = data[0] & 31, [], 0
    for i in range(n):
        at += int.from_bytes(data[1 + 2 * i:3 + 2 * i], "little")
        cuts.append(at)
    payload = data[2 + 2 * n:]
    bounds = [0] + cuts + [len(payload)]
    return [payload[bounds[i]:bounds[i + 1]] for i in range(len(bounds) - 1)]


def test_trailer_split_across_reads_is_not_an_over_read(hostile):
    """Issue 9 item 1: the receive offsets went back to 0 after the head
    while the parser held a span into the old offset; the second piece of
    the trailer value then yielded a wrapped length (ASan: heap overflow)."""
    head, body, rest = seed_pieces()
    assert head == HEAD_CHUNKED and len(body) == 32768 and body.endswith(b"\r\n0\r\nX-T: " + b"v" * 1000)
    gw, b = hostile([head, 0.05, body, 0.2, rest])
    r = outcome(gw)
    assert r is not None and r.status == 200, r
    assert r.body and set(r.body) == {ord("d")}
    assert r.trailers == []          # trailers are never forwarded
    still_serves(gw, b)


def pipelined(gw, n=2):
    """n GETs in one write; returns the statuses read before the gateway
    closed or went quiet."""
    out = []
    with gw.client(timeout=4) as c:
        c.send(b"GET /release/echo HTTP/1.1\r\nHost: gw.test\r\n\r\n" * n)
        for _ in range(n):
            try:
                out.append(c.read_response().status)
            except (Closed, ValueError, AssertionError):
                out.append(None)
                break
    return out


OVERFLOW = b"ffffffffffffffff1\r\n" + b"x" * 16 + b"\r\n0\r\n\r\n"


def test_chunk_size_overflow_with_the_head_is_a_502(hostile):
    """Issue 9 item 9: the head and an overflowing chunk size in one read
    gave the client an empty reply and dropped the pipelined request.  No
    byte had left the gateway: the client gets a 502, and the request behind
    it its answer."""
    gw, b = hostile(lambda head, n: [HEAD_CHUNKED + OVERFLOW, CLOSE] if n == 0 else [OK])
    assert pipelined(gw) == [502, 200]
    still_serves(gw, b)


def test_chunk_size_overflow_after_the_head_closes(hostile):
    """The head already went out: only a close can tell the client the
    response is cut; the pipelined request is not silently dropped either:
    the connection closes."""
    gw, b = hostile(lambda head, n: [HEAD_CHUNKED + b"3\r\nabc\r\n", 0.3, OVERFLOW, CLOSE]
                    if n == 0 else [OK])
    with gw.client(timeout=4) as c:
        c.send(b"GET /release/echo HTTP/1.1\r\nHost: gw.test\r\n\r\n" * 2)
        head = c.read_head()
        assert head.status == 200
        assert c.read_until(b"abc\r\n").endswith(b"3\r\nabc\r\n")
        assert c.is_closed(3), "a cut response must end with a close, got %r" % c.extra
    still_serves(gw, b)


BAD_FRAMING = [
    ("two-lengths", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok"),
    ("bare-lf-chunk", HEAD_CHUNKED + b"2\nok\r\n0\r\n\r\n"),
    ("space-before-colon", b"HTTP/1.1 200 OK\r\nX-A : b\r\nContent-Length: 2\r\n\r\nok"),
    ("obs-fold", b"HTTP/1.1 200 OK\r\nX-A: b\r\n c\r\nContent-Length: 2\r\n\r\nok"),
    ("fold-after-empty", b"HTTP/1.1 200 OK\r\nX-A:\r\n c\r\nContent-Length: 2\r\n\r\nok"),
    ("status-600", b"HTTP/1.1 600 Odd\r\nContent-Length: 2\r\n\r\nok"),
    ("nul-in-value", b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\nok"),
    ("head-too-large", b"HTTP/1.1 200 OK\r\n" + b"X-P: " + b"p" * 40000 + b"\r\n\r\n"),
    ("too-many-fields", b"HTTP/1.1 200 OK\r\n" + b"X-F: 1\r\n" * 200 + b"Content-Length: 2\r\n\r\nok"),
]


@pytest.mark.parametrize("raw", [c[1] for c in BAD_FRAMING], ids=[c[0] for c in BAD_FRAMING])
def test_bad_framing_is_a_502(hostile, raw):
    gw, b = hostile(lambda head, n: [raw, CLOSE] if n == 0 else [OK])
    r = outcome(gw)
    assert r is not None and r.status == 502, r
    still_serves(gw, b)


def test_interim_storm_is_bounded(hostile):
    """Thousands of 100 Continue before the final response (a backend
    trying to pin the worker): the final answer or a 502, never a hang."""
    storm = b"HTTP/1.1 100 Continue\r\n\r\n" * 5000
    gw, b = hostile(lambda head, n: [storm, OK] if n == 0 else [OK])
    r = outcome(gw)
    assert r is not None and r.status in (200, 502), r
    if r.status == 200:
        assert r.body == b"ok"
    still_serves(gw, b)


def test_endless_interim_responses_end_in_a_502(hostile):
    storm = b"HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n" * 200
    gw, b = hostile(lambda head, n: [storm] * 20 + [CLOSE] if n == 0 else [OK])
    r = outcome(gw)
    assert r is not None and r.status == 502, r
    still_serves(gw, b)


def test_huge_trailer_section_closes(hostile):
    """Trailers are counted against the head limit, not collected."""
    trailers = b"".join(b"X-T%d: %s\r\n" % (i, b"t" * 100) for i in range(400))
    gw, b = hostile(lambda head, n: [HEAD_CHUNKED + b"2\r\nok\r\n0\r\n" + trailers + b"\r\n", CLOSE]
                    if n == 0 else [OK])
    r = outcome(gw)
    # the head went out with the first read or it did not: a cut response
    # (close) or a 502, never the trailers
    assert r is None or r.status == 502, r
    still_serves(gw, b)


def test_slow_drip_response_arrives_intact(hostile):
    """A backend that writes its response one byte at a time."""
    resp = HEAD_CHUNKED + b"5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"
    steps = []
    for i in range(len(resp)):
        steps += [resp[i:i + 1], 0.002]
    gw, b = hostile(lambda head, n: steps if n == 0 else [OK])
    r = outcome(gw)
    assert r is not None and r.status == 200 and r.body == b"hello", r
    still_serves(gw, b)


def test_slow_drip_head_is_bounded_by_service_timeout(make_gateway):
    """A head dripped slower than ServiceTimeout allows: 504, in time."""
    import time
    from syharness.gateway import api, service
    resp = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Pad: " + b"p" * 100 + b"\r\n\r\nok"
    steps = []
    for i in range(len(resp)):
        steps += [resp[i:i + 1], 0.05]
    b = ScriptedBackend(lambda head, n: steps if n == 0 else [OK])
    try:
        gw = make_gateway({"Services": [service("svc", [api("a", "/echo", b.url, timeout=1)])]})
        t0 = time.time()
        r = outcome(gw)
        assert r is not None and r.status == 504, r
        assert time.time() - t0 < 3
        still_serves(gw, b)
    finally:
        b.close()
