"""`Upgrade: h2c` is not passed to backends (issue 9).

HTTP/2 over cleartext is prior knowledge only (`Http2Cleartext`); the
h2c upgrade (dropped by RFC 9113 §3.1) is not offered.  Forwarded, it let a
backend that speaks h2c switch the connection to HTTP/2 the gateway never
parses: "h2c smuggling" past every rule the proxy applies.  The rule
(doc/reliability.md §1.3): `Upgrade: h2c`, `HTTP2-Settings` and their
`Connection` tokens are dropped and the request is proxied as a plain one;
a 101 may only switch to a protocol the client offered and the gateway
passed on; WebSocket upgrades work as before.
tests/golden/h2c-upgrade-stripped.http has the byte-level case.
"""
import pytest

from syharness.backend import Reply
from syharness.client import build
from syharness.gateway import api, service

H2C = [("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c"),
       ("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA")]
WS = [("Connection", "Upgrade"), ("Upgrade", "websocket"),
      ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13")]


@pytest.fixture
def gw(make_gateway, backend):
    g = make_gateway({"Services": [service("svc", [api("e", "/e", backend)])]})
    g.b = backend
    return g


def assert_plain(req):
    assert not req.has("Upgrade"), req.raw_head
    assert not req.has("HTTP2-Settings"), req.raw_head
    assert not req.has("Connection"), req.raw_head


def test_h2c_offer_is_dropped_and_the_connection_stays_http(gw):
    with gw.client(timeout=5) as c:
        c.send(build("GET", "/release/e", headers=H2C) + build("GET", "/release/e/second"))
        r1 = c.read_response()
        assert r1.status == 200 and r1.header("Upgrade") is None, r1
        r2 = c.read_response()
        assert r2.status == 200, r2
    reqs = gw.b.wait_requests(2)
    assert [q.target for q in reqs] == ["/", "/second"]
    assert_plain(reqs[0])
    assert reqs[0].conn_id == reqs[1].conn_id  # the backend connection stayed HTTP too


def test_h2c_offer_with_a_body(gw):
    r = gw.request("POST", "/release/e", headers=H2C, body=b"payload")
    assert r.status == 200, r
    req = gw.b.last()
    assert req.body == b"payload"
    assert_plain(req)


def test_settings_alone_and_any_spelling_are_dropped(gw):
    for hdrs in ([("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA")],
                 [("Connection", "upgrade"), ("Upgrade", "H2C")],
                 [("Connection", "Upgrade"), ("Upgrade", " h2c , ")]):
        gw.b.reset()
        r = gw.request("GET", "/release/e", headers=hdrs)
        assert r.status == 200, (hdrs, r)
        assert_plain(gw.b.last())


def test_backend_switching_anyway_is_a_502(gw):
    """A backend that answers 101 to the stripped request switches to
    nothing the client asked the gateway for: 502, no tunnel."""
    gw.b.set_reply(upgrade=True)
    r = gw.request("GET", "/release/e", headers=H2C)
    assert r.status == 502, r
    assert_plain(gw.b.last())


def test_backend_may_not_switch_to_h2c_when_websocket_was_offered(gw):
    gw.b.set_reply(Reply(status=101, headers=[("Upgrade", "h2c"), ("Connection", "Upgrade")],
                         upgrade=True))
    r = gw.request("GET", "/release/e", headers=WS)
    assert r.status == 502, r


def test_websocket_still_upgrades(gw):
    gw.b.set_reply(upgrade=True)
    with gw.client(timeout=5) as c:
        c.send(build("GET", "/release/e", headers=WS))
        r = c.read_response()
        assert r.status == 101 and (r.header("Upgrade") or "").lower() == "websocket", r
        c.send(b"\x81\x05hello")  # the long echo is test_streaming's
        assert c.recv_some(3) == b"\x81\x05hello"
    req = gw.b.last()
    assert req.header("Upgrade") == "websocket"
    assert req.header("Connection").lower() == "upgrade"
    assert req.header("Sec-WebSocket-Key") == "dGhlIHNhbXBsZSBub25jZQ=="


def test_websocket_next_to_h2c_keeps_only_websocket(gw):
    gw.b.set_reply(upgrade=True)
    hdrs = [("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c, websocket"),
            ("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA")] + WS[2:]
    with gw.client(timeout=5) as c:
        c.send(build("GET", "/release/e", headers=hdrs))
        r = c.read_response()
        assert r.status == 101, r
        c.send(b"ping")
        assert c.recv_some(3) == b"ping"
    req = gw.b.last()
    assert req.header("Upgrade") == "websocket", req.raw_head
    assert not req.has("HTTP2-Settings")
