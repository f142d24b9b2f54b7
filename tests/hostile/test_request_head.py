"""Hostile request heads (issue 9 items 2, 8 and 9): obs-fold after an empty
first line, extra spaces in the request line, a Host port out of range and
repeated singleton fields that routing or auth reads.  Each attack is sent
whole and split at every byte (TCP_NODELAY, a pause between the halves so
the gateway reads them apart); every delivery must give the same answer:
400, the connection closed, and not one byte to the backend."""
import subprocess
import time

import pytest

from conftest import check_error
from syharness.client import Client, Closed

H = b"Host: gw.test\r\n"
G = b"GET /release/e HTTP/1.1\r\n"
P = b"POST /release/e HTTP/1.1\r\n"


@pytest.fixture(scope="module")
def gw(make_module_gateway, module_backend):
    from syharness.gateway import api, service
    return make_module_gateway({"Gateway": {"Http2Cleartext": True},
                                "Services": [service("s", [api("a", "/e", module_backend)])]})


def deliveries(raw):
    """(label, pieces): the whole request, then every two-piece split."""
    yield "whole", [raw]
    for i in range(1, len(raw)):
        yield "split@%d" % i, [raw[:i], raw[i:]]


def answer(gw, pieces):
    """Send the pieces with a pause between them; return (status or None,
    closed after the answer)."""
    with Client(gw.port, timeout=3) as c:
        for k, p in enumerate(pieces):
            if k:
                time.sleep(0.002)
            try:
                c.send(p)
            except OSError:
                break      # the gateway already answered and closed
        try:
            r = c.read_response()
        except Closed:
            return None, True
        if r.status >= 400:
            check_error(r, r.status)
        return r.status, c.is_closed(2)


REFUSED = [
    # obs-fold whose first line has an empty value: llhttp starts the value
    # span after the fold, so the value looks clean ("chunked").
    ("fold-empty-te", P + H + b"Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n"),
    ("fold-empty-host", G + b"Host:\r\n gw.test\r\n\r\n"),
    ("fold-empty-tab", G + H + b"X-Foo:\r\n\tb\r\n\r\n"),
    ("fold-blank-first-line", G + H + b"X-Foo: \r\n b\r\n\r\n"),
    ("fold-empty-cl", P + H + b"Content-Length:\r\n 3\r\n\r\nabc"),
    # RFC 9112 §3: exactly one SP between the request-line parts.
    ("two-sp-after-method", b"GET  /release/e HTTP/1.1\r\n" + H + b"\r\n"),
    ("two-sp-before-version", b"GET /release/e  HTTP/1.1\r\n" + H + b"\r\n"),
    ("three-sp-both", b"GET   /release/e   HTTP/1.1\r\n" + H + b"\r\n"),
    # Host port out of range.
    ("host-port-99999", G + b"Host: gw.test:99999\r\n\r\n"),
    ("host-port-65536", G + b"Host: gw.test:65536\r\n\r\n"),
    ("host-port-huge", G + b"Host: gw.test:18446744073709551697\r\n\r\n"),
    # Singleton fields read by routing or auth: a second one is ambiguous.
    ("two-authorization", G + H + b"Authorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n"),
    ("two-authorization-same", G + H + b"Authorization: Bearer a\r\nAuthorization: Bearer a\r\n\r\n"),
    ("two-content-type", P + H + b"Content-Type: text/plain\r\ncontent-type: application/json\r\n"
     b"Content-Length: 2\r\n\r\n{}"),
]


@pytest.mark.parametrize("raw", [c[1] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_refused_whole_and_split_at_every_byte(gw, module_backend, raw):
    module_backend.reset()
    for label, pieces in deliveries(raw):
        status, closed = answer(gw, pieces)
        assert status == 400, "%s: want 400, got %s" % (label, status)
        assert closed, "%s: connection left open after 400" % label
    time.sleep(0.05)
    assert module_backend.bytes_received == 0, module_backend.requests
    assert gw.alive()


ACCEPTED = [
    ("one-authorization", G + H + b"Authorization: Bearer a\r\n\r\n"),
    ("host-port-65535", G + b"Host: gw.test:65535\r\n\r\n"),
    ("empty-value-no-fold", G + H + b"X-Foo:\r\nX-Bar: b\r\n\r\n"),
    ("one-content-type", P + H + b"Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi"),
]


@pytest.mark.parametrize("raw", [c[1] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_near_misses_are_served(gw, module_backend, raw):
    """The refusals above are about the attack, not the field: the
    well-formed neighbour of each is served."""
    module_backend.reset()
    with Client(gw.port, timeout=3) as c:
        c.send(raw)
        r = c.read_response()
        assert r.status == 200, r
    assert len(module_backend.requests) == 1


def h2c(gw, *headers):
    args = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{http_version}",
            "--http2-prior-knowledge", "http://127.0.0.1:%d/release/e" % gw.port]
    for h in headers:
        args += ["-H", h]
    out = subprocess.run(args, capture_output=True, timeout=10).stdout.decode().split()
    return int(out[0]), out[1]


@pytest.mark.parametrize("headers", [
    ("Authorization: Bearer a", "Authorization: Bearer b"),
    ("Content-Type: text/plain", "Content-Type: application/json"),
    ("Host: gw.test:99999",),
], ids=["two-authorization", "two-content-type", "port-99999"])
def test_refused_over_h2(gw, module_backend, headers):
    """HTTP/2 streams are checked by the same request rules."""
    module_backend.reset()
    assert h2c(gw, "X-Ok: 1") == (200, "2")
    assert h2c(gw, *headers) == (400, "2")
    time.sleep(0.05)
    assert len(module_backend.requests) == 1, module_backend.requests
