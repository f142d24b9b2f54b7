"""Timeouts (408, idle close, 504) and the upstream error statuses (502, 503),
each with the JSON error body."""
import socket
import time

import pytest

from conftest import check_error
from syharness.client import Closed, build
from syharness.gateway import api, closed_port, service, run_cli


@pytest.fixture
def gw(make_gateway, backend):
    return make_gateway({"Gateway": {"RequestHeaderTimeout": 1, "IdleTimeout": 1,
                                     "RequestBodyTimeout": 1, "ConnectTimeout": 1},
                         "Services": [service("s", [api("a", "/e", backend, timeout=1)])]})


def test_slowloris_head_gets_408_and_close(gw, backend):
    req = build("GET", "/release/e", headers=[("X-Pad", "p" * 20)])
    t0 = time.time()
    with gw.client(timeout=5) as c:
        sent = 0
        got = b""
        # One byte every 0.5 s: an inactivity timer would never fire.
        while sent < len(req) and time.time() - t0 < 6:
            try:
                c.send(req[sent:sent + 1])
            except OSError:
                break
            sent += 1
            got = c.recv_some(0.5)
            if got:
                break
        assert sent < len(req), "sent the whole head at 2 bytes/s without a timeout"
        c.buf = got + c.buf
        r = c.read_response()
        check_error(r, 408)
        assert c.is_closed(2)
    elapsed = time.time() - t0
    assert elapsed < 3.5, "408 after %.1fs with RequestHeaderTimeout 1" % elapsed
    assert not backend.requests


def test_partial_head_then_silence_gets_408(gw):
    with gw.client(timeout=5) as c:
        c.send(b"GET /release/e HTTP/1.1\r\nHost: x\r\n")
        t0 = time.time()
        r = c.read_response()
        check_error(r, 408)
        assert time.time() - t0 < 3
        assert c.is_closed(2)


def test_idle_keepalive_closed(gw):
    with gw.client(timeout=5) as c:
        c.send(build("GET", "/release/e"))
        assert c.read_response().status == 200
        t0 = time.time()
        assert c.is_closed(4), "idle keep-alive connection still open after 4 s (IdleTimeout 1)"
        assert time.time() - t0 > 0.5, "closed too early"


def test_idle_connection_without_request_closed(gw):
    with gw.client(timeout=5) as c:
        # No byte at all: closed silently (or with 408) within a few seconds.
        data = b""
        deadline = time.time() + 4
        closed = False
        while time.time() < deadline:
            try:
                d = c.recv_some(0.5)
            except Closed:
                closed = True
                break
            data += d
        assert closed, "silent connection kept open"
        assert data == b"" or data.startswith(b"HTTP/1.1 408"), data


def test_slow_body_times_out(gw, backend):
    with gw.client(timeout=6) as c:
        c.send(build("POST", "/release/e", headers=[("Content-Length", "100")]) + b"x" * 10)
        t0 = time.time()
        try:
            r = c.read_response()
            assert r.status in (408, 400, 504), r
        except Closed:
            pass
        assert time.time() - t0 < 4, "stalled body held for %.1fs" % (time.time() - t0)
    time.sleep(0.2)
    assert not any(q.body_len == 100 for q in backend.requests)


def test_backend_never_answers_504(gw, backend):
    backend.set_reply(never=True)
    t0 = time.time()
    r = gw.request("GET", "/release/e", timeout=8)
    took = time.time() - t0
    check_error(r, 504)
    assert 0.8 <= took < 3, "504 after %.2fs with ServiceTimeout 1" % took


def test_backend_slow_but_within_timeout(gw, backend):
    backend.set_reply(delay=0.5)
    assert gw.request("GET", "/release/e").status == 200


def test_backend_refused_502(make_gateway, assert_error):
    gw = make_gateway({"Services": [service("s", [api("a", "/e", "http://127.0.0.1:%d" % closed_port())])]})
    t0 = time.time()
    assert_error(gw.request("GET", "/release/e"), 502)
    assert time.time() - t0 < 3


def test_backend_resets_502(make_gateway, backend, assert_error):
    backend.set_reply(raw=b"", keep_alive=False)   # close without a byte
    gw = make_gateway({"Services": [service("s", [api("a", "/e", backend)])]})
    assert_error(gw.request("POST", "/release/e", body=b"x"), 502)


def test_backend_garbage_502(make_gateway, backend, assert_error):
    backend.set_reply(raw=b"NOT HTTP AT ALL\r\n\r\n", keep_alive=False)
    gw = make_gateway({"Services": [service("s", [api("a", "/e", backend)])]})
    assert_error(gw.request("GET", "/release/e"), 502)


def test_backend_response_smuggling_rejected(make_gateway, backend, assert_error):
    """A response with both CL and TE is a framing error, not forwarded as is."""
    backend.set_reply(raw=b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                          b"0\r\n\r\n", keep_alive=False)
    gw = make_gateway({"Services": [service("s", [api("a", "/e", backend)])]})
    with gw.client(timeout=5) as c:
        c.send(build("GET", "/release/e"))
        try:
            r = c.read_head()
        except Closed:
            return   # closing without a response is acceptable
        assert r.status == 502 or not (r.header_all("Content-Length") and
                                       r.header_all("Transfer-Encoding")), r


def upstream_cfg(nodes):
    return {"Upstreams": [{"UpstreamId": "up", "UpstreamName": "up", "Scheme": "HTTP",
                           "Algorithm": "ROUND-ROBIN", "Nodes": nodes}],
            "Services": [service("s", [api("a", "/e", config={
                "Product": "upstream", "UpstreamId": "up", "Path": "/", "Method": "ANY"})])]}


def test_no_usable_node_503(make_gateway, backend, assert_error, tmp_path):
    cfg = upstream_cfg([{"Host": "127.0.0.1", "Port": backend.port, "Weight": 0}])
    gw = make_gateway(cfg, start=False)
    chk = run_cli("-t", "-c", gw.config_path)
    if chk.returncode != 0:
        pytest.skip("validator refuses an upstream with every node at weight 0: %s" % chk.stderr.strip())
    gw.start()
    assert_error(gw.request("GET", "/release/e"), 503)
    assert not backend.requests


def test_connect_timeout_504_or_502(make_gateway, assert_error):
    # A listener with a full backlog that never accepts: connects hang.
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(0)
    port = ls.getsockname()[1]
    fillers = []
    for _ in range(8):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(s)
    try:
        gw = make_gateway({"Gateway": {"ConnectTimeout": 1},
                           "Services": [service("s", [api("a", "/e", "http://127.0.0.1:%d" % port,
                                                          timeout=10)])]})
        t0 = time.time()
        r = gw.request("GET", "/release/e", timeout=15)
        took = time.time() - t0
        assert r.status in (502, 504), r
        check_error(r, r.status)
        assert took < 4, "connect not bounded by ConnectTimeout 1 (%.1fs)" % took
    finally:
        for s in fillers:
            s.close()
        ls.close()


def test_error_bodies_for_client_errors(make_gateway, backend, assert_error):
    gw = make_gateway({"Gateway": {"MaxRequestLineBytes": 512, "MaxHeaderBytes": 2048,
                                   "MaxHeaders": 10, "MaxBodyBytes": 10},
                       "Services": [service("s", [api("a", "/e", backend, method="GET")])]})
    assert_error(gw.request("GET", "/release/nothing"), 404)
    assert_error(gw.request("POST", "/release/e"), 405)
    assert_error(gw.request("GET", "/release/e?" + "q" * 600), 414)
    assert_error(gw.request("GET", "/release/e", headers=[("X-%d" % i, "v") for i in range(12)]), 431)
    assert_error(gw.request("GET", "/release/e", body=b"x" * 11), 413)
    with gw.client() as c:
        c.send(b"GET /release/e HTTP/1.1\r\n\r\n")
        assert_error(c.read_response(), 400)


def test_send_timeout_closes_client_that_does_not_read(make_gateway, make_backend):
    big = make_backend("big", store_body=False)
    big.set_reply(body_size=256 << 20, content_type="application/octet-stream")
    gw = make_gateway({"Gateway": {"SendTimeout": 1},
                       "Services": [service("s", [api("a", "/e", big, timeout=30)])]})
    with gw.client(timeout=5) as c:
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        c.send(build("GET", "/release/e"))
        time.sleep(4)          # never read: the gateway must give up after ~1 s
        got = 0
        t0 = time.time()
        try:
            while time.time() - t0 < 10:
                d = c.recv_some(2)
                if not d:
                    break
                got += len(d)
        except Closed:
            pass
        assert got < (256 << 20), "a client that did not read for 4 s got the whole body"
    assert gw.hwm_kb() < (400 << 10 if gw.sanitized() else 60 << 10)
