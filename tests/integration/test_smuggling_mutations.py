"""Transfer-Encoding mutations (the classes defparam/smuggler generates, see
doc/reliability.md §1.1), each sent with a Content-Length and a request hidden
in the body.  Whatever the gateway makes of the header, the outcome must be
one of:

  * rejected: a 4xx/5xx answer from the gateway and no byte upstream, or
  * exactly one upstream request, with at most one framing header, and
    exactly one successful response to the client;

never the hidden request reaching the backend, never a second request served."""
import time

import pytest

from syharness.client import Closed

HIDDEN = b"GET /release/e/smuggled HTTP/1.1\r\nHost: gw.test\r\n\r\n"
BODY = b"0\r\n\r\n" + HIDDEN

BYTES = [0x01, 0x04, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1f, 0x20, 0x7f, 0xa0, 0xff]


def te_lines():
    out = []
    for b in BYTES:
        x = bytes([b])
        out += [
            ("pre-%02x" % b, x + b"Transfer-Encoding: chunked"),
            ("name-%02x" % b, b"Transfer-" + x + b"Encoding: chunked"),
            ("precolon-%02x" % b, b"Transfer-Encoding" + x + b": chunked"),
            ("postcolon-%02x" % b, b"Transfer-Encoding:" + x + b"chunked"),
            ("value-%02x" % b, b"Transfer-Encoding: chun" + x + b"ked"),
            ("end-%02x" % b, b"Transfer-Encoding: chunked" + x),
        ]
    out += [
        ("space-name", b"Transfer Encoding: chunked"),
        ("underscore-name", b"Transfer_Encoding: chunked"),
        ("chunked-cow", b"Transfer-Encoding: chunked, cow"),
        ("cow-chunked", b"Transfer-Encoding: cow, chunked"),
        ("quoted", b'Transfer-Encoding: "chunked"'),
        ("chunk", b"Transfer-Encoding: chunk"),
        ("mixed-case", b"TrAnSFer-EnCODinG: cHuNkeD"),
        ("cr-in-name", b"Transfer\r-Encoding: chunked"),
        ("lf-prefix", b"X: X\nTransfer-Encoding: chunked"),
        ("line-wrap", b"Transfer-Encoding:\n chunked"),
        ("double-te", b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked"),
        ("te-identity", b"Transfer-Encoding: identity"),
        ("empty-value", b"Transfer-Encoding:"),
    ]
    return out


CASES = te_lines()


@pytest.fixture(scope="module")
def gw(make_module_gateway, module_backend):
    from syharness.gateway import api, service
    return make_module_gateway({"Services": [service("s", [api("a", "/e", module_backend,
                                                                service_path="/e")])]})


@pytest.mark.parametrize("te", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_te_mutation_never_desyncs(gw, module_backend, te):
    module_backend.reset()
    raw = (b"POST /release/e HTTP/1.1\r\nHost: gw.test\r\n" + te +
           b"\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY)
    with gw.client(timeout=3) as c:
        c.send(raw)
        try:
            first = c.read_response()
        except Closed:
            first = None      # closing without an answer is a (rude) rejection
        extra = b""
        try:
            extra = c.recv_some(0.3)
        except Closed:
            pass
    time.sleep(0.05)
    reqs = module_backend.requests
    assert not any(q.path.endswith("smuggled") for q in reqs), \
        "hidden request reached the backend: %r" % reqs
    # A mutation that itself ends the head (a bare LF, which RFC 9112 §2.2
    # lets a recipient accept) leaves the rest as a second, invalid message:
    # an error answer to it is right.  A second *successful* answer is not.
    if extra.startswith(b"HTTP/"):
        status = int(extra.split(b" ", 2)[1])
        assert status >= 400, "a second request was served (desync): %r" % extra[:200]
    if first is None or first.status >= 400:
        assert module_backend.bytes_received == 0, \
            "rejected with %s but the backend got %d bytes" % (
                first and first.status, module_backend.bytes_received)
        return
    assert first.status == 200, first
    assert len(reqs) == 1, reqs
    q = reqs[0]
    framing = len(q.header_all("Content-Length")) + len(q.header_all("Transfer-Encoding"))
    assert framing <= 1, "upstream framing headers: %r" % q.headers
    if framing == 0:
        assert q.body_len == 0, q
    else:
        assert q.body_len in (0, len(BODY)), q
