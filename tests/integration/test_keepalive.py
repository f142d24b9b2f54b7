"""Keep-alive and pipelining on the client side; the keep-alive pool on the
backend side, and no reuse after an incomplete exchange."""
import time

import pytest

from syharness.backend import Reply
from syharness.client import Closed, build
from syharness.gateway import api, service


@pytest.fixture
def gw(make_gateway, backend):
    return make_gateway({"Gateway": {"RequestHeaderTimeout": 5, "IdleTimeout": 10},
                         "Services": [service("s", [api("a", "/e", backend, timeout=2,
                                                       service_path="/e")])]})


def test_many_requests_on_one_connection(gw, backend):
    with gw.client() as c:
        for i in range(10):
            c.send(build("GET", "/release/e/%d" % i))
            r = c.read_response()
            assert r.status == 200, r
            assert r.json()["path"] == "/e/%d" % i
    assert len(backend.requests) == 10


def test_pipelined_requests_answered_in_order(gw, backend):
    backend.set_reply(lambda req: Reply(delay=0.3 if req.path.endswith("/0") else 0))
    burst = b"".join(build("GET", "/release/e/%d" % i) for i in range(5))
    burst += build("POST", "/release/e/5", body=b"pipelined body")
    burst += build("GET", "/release/e/6")
    with gw.client() as c:
        c.send(burst)
        for i in range(7):
            r = c.read_response()
            assert r.status == 200, r
            assert r.json()["path"] == "/e/%d" % i, "response %d out of order: %r" % (i, r)
    assert [q.path for q in backend.requests] == ["/e/%d" % i for i in range(7)]
    assert backend.requests[5].body == b"pipelined body"


def test_pipelined_after_head_and_error(gw, backend):
    burst = build("HEAD", "/release/e/0") + build("GET", "/release/nothing") + build("GET", "/release/e/2")
    with gw.client() as c:
        c.send(burst)
        assert c.read_response("HEAD").status == 200
        assert c.read_response().status == 404
        r = c.read_response()
        assert r.status == 200 and r.json()["path"] == "/e/2"


def test_connection_close_honoured(gw, backend):
    with gw.client() as c:
        c.send(build("GET", "/release/e", headers=[("Connection", "close")]))
        r = c.read_response()
        assert r.status == 200
        assert c.is_closed(3)


def test_http10_closes_by_default(gw, backend):
    with gw.client() as c:
        c.send(b"GET /release/e HTTP/1.0\r\nHost: gw.test\r\n\r\n")
        r = c.read_response()
        assert r.status == 200
        assert c.is_closed(3)


def test_backend_connections_reused(gw, backend):
    for i in range(20):
        assert gw.request("GET", "/release/e/%d" % i).status == 200
    assert backend.accepted <= 2, "backend saw %d connections for 20 sequential requests" % backend.accepted
    assert len({q.conn_id for q in backend.requests}) == backend.accepted


def test_backend_connections_reused_across_client_keepalive(gw, backend):
    with gw.client() as c:
        for i in range(10):
            c.send(build("POST", "/release/e", body=b"b%d" % i))
            assert c.read_response().status == 200
    assert backend.accepted == 1


def test_backend_close_not_reused(gw, backend):
    """A backend that says Connection: close is not reused."""
    backend.set_reply(keep_alive=False)
    for i in range(3):
        assert gw.request("GET", "/release/e").status == 200
    assert backend.accepted == 3
    assert len({q.conn_id for q in backend.requests}) == 3


def test_no_reuse_after_timed_out_exchange(gw, backend):
    """After a 504 the backend connection holds a half-finished exchange: the
    next request must go on a new connection."""
    backend.queue(never=True)
    r = gw.request("GET", "/release/e/first")
    assert r.status == 504, r
    r = gw.request("GET", "/release/e/second")
    assert r.status == 200, r
    first, second = backend.requests[0], backend.requests[-1]
    assert second.path == "/e/second"
    assert second.conn_id != first.conn_id, "request sent on a connection still owing a response"


def test_no_reuse_after_client_abort_mid_response(gw, backend):
    backend.queue(body=b"z" * 200000, stall_after_head=True, content_type="text/plain")
    c = gw.client()
    c.send(build("GET", "/release/e/first"))
    c.read_head()
    c.close()
    time.sleep(0.3)
    r = gw.request("GET", "/release/e/second")
    assert r.status == 200, r
    assert backend.requests[-1].conn_id != backend.requests[0].conn_id


def test_truncated_backend_response_not_reused(gw, backend):
    """Backend promises 100 bytes, sends 10 and closes: the client must not
    get a complete-looking response, and nothing is reused."""
    backend.queue(raw=b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", keep_alive=False)
    with gw.client(timeout=5) as c:
        c.send(build("GET", "/release/e"))
        try:
            r = c.read_response()
        except Closed:
            r = None   # aborted mid-body: the correct outcome once bytes went out
        # Either a 502 before any byte was sent, or an aborted response.
        assert r is None or r.status == 502, "truncated body passed off as complete: %r" % r
    assert gw.request("GET", "/release/e").status == 200


def _buffers(a):
    st, text = a.call("GET", "/metrics")
    assert st == 200, text
    for line in text.splitlines():
        if line.startswith("switchyard_client_buffers "):
            return int(line.split()[1])
    raise AssertionError("no switchyard_client_buffers in /metrics")


def _wait_buffers(a, want, timeout=5.0):
    deadline = time.time() + timeout
    got = _buffers(a)
    while got != want and time.time() < deadline:
        time.sleep(0.02)
        got = _buffers(a)
    return got


def test_idle_keepalive_connections_hold_no_buffer(make_gateway, backend):
    """Buffer ownership, not timing: a connection holds a receive buffer
    while request bytes are pending (a half-sent head) and gives it back
    once its response is complete, so idle keep-alive connections hold
    none however many there are."""
    from syharness.admin import Admin
    from syharness.gateway import free_port
    aport = free_port()
    g = make_gateway({"Gateway": {"AdminListen": "127.0.0.1:%d" % aport, "Workers": 2,
                                  "IdleTimeout": 30},
                      "Services": [service("s", [api("a", "/e", backend, service_path="/e")])]})
    a = Admin(aport)
    clients = [g.client() for _ in range(20)]
    try:
        for c in clients:
            c.send(build("GET", "/release/e/x"))
            assert c.read_response().status == 200
        assert _wait_buffers(a, 0) == 0
        # Half a head: that connection holds one until it completes.
        clients[0].send(b"GET /release/e/y HTTP/1.1\r\nHost: a")
        assert _wait_buffers(a, 1) == 1
        clients[0].send(b"\r\n\r\n")
        assert clients[0].read_response().status == 200
        assert _wait_buffers(a, 0) == 0
        # The idle connections still work.
        for c in clients:
            c.send(build("GET", "/release/e/z"))
            assert c.read_response().status == 200
        assert _wait_buffers(a, 0) == 0
    finally:
        for c in clients:
            c.close()
        a.close()
