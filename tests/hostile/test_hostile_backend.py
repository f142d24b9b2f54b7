"""A hostile backend: responses built to break the response parser.

Every case asserts a clean outcome for the client (a well-framed response,
a 502 when nothing had been sent yet, or a close once bytes were already
on their way) and that the worker keeps serving: a normal request on a
fresh connection still gets its 200.  Run against an ASan build
(SWITCHYARD_BIN=build-asan/switchyard) these are the over-read checks."""
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


def split_trailer_body():
    """Exactly 32,768 bytes (the backend receive buffer) ending inside a
    trailer value: `...\r\n0\r\nX-T: ` and 1,000 `v`."""
    tail = b"\r\n0\r\nX-T: " + b"v" * 1000
    size = 32768 - len(tail)
    # chunk header + data must fill `size` exactly
    n = size - len(b"%x\r\n" % size)
    while len(b"%x\r\n" % n) + n != size:
        n -= 1
    body = b"%x\r\n" % n + b"d" * n + tail
    assert len(body) == 32768
    return body, n


def test_trailer_split_across_reads_is_not_an_over_read(hostile):
    """Issue 9 item 1: the receive offsets went back to 0 after the head
    while the parser held a span into the old offset; the second piece of
    the trailer value then yielded a wrapped length (ASan: heap overflow)."""
    body, n = split_trailer_body()
    gw, b = hostile([HEAD_CHUNKED, 0.05, body, 0.2, b"v" * 10 + b"\r\n\r\n"])
    r = outcome(gw)
    assert r is not None and r.status == 200, r
    assert r.body == b"d" * n
    assert r.trailers == []          # trailers are never forwarded
    still_serves(gw, b)
