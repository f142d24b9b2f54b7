"""Backend connections under abuse (issue 9 item 4, issue 10 pools).

- HTTP/2 stream fan-out: a client's open streams take at most
  Http2MaxProxiedStreams backend connections per client connection.
- Per-node limit: MaxConnectionsPerNode requests in flight, the rest wait
  (MaxQueuePerNode, QueueTimeout, then 503) and are woken when a
  connection frees up (on the connection that freed).
- Pools per node: MaxIdleConnectionsPerNode keeps the newest idle
  connections, KeepaliveTimeout closes idle ones, and the worker's budget
  (MaxBackendConnections) closes the oldest idle connection of any node
  rather than refusing a request to another upstream."""
import json
import threading
import time

from syharness.backend import Reply
from syharness.gateway import api, service
from syharness.h2raw import PREFACE, frame, lit
from test_upstreams import ups

import socket


def open_to(port):
    """Established TCP connections to 127.0.0.1:port (from anyone)."""
    n = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for ln in f:
            parts = ln.split()
            rem, st = parts[2], parts[3]
            if st == "01" and int(rem.split(":")[1], 16) == port:
                n += 1
    return n


def upstream_config(upstreams, **gw):
    apis = [api("api-" + u["UpstreamId"], "/" + u["UpstreamId"], timeout=10,
                config={"Product": "upstream", "UpstreamId": u["UpstreamId"], "Path": "/",
                        "Method": "ANY"}) for u in upstreams]
    return {"Gateway": dict(gw), "Upstreams": upstreams, "Services": [service("svc", apis)]}


def parallel(fn, n):
    out = [None] * n
    def run(i):
        try:
            out[i] = fn(i)
        except Exception as e:  # noqa: BLE001 - reported by the caller's asserts
            out[i] = e
    ts = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(15)
    return out


def wait_until(cond, timeout=3.0):
    deadline = time.time() + timeout
    while not cond():
        if time.time() > deadline:
            return False
        time.sleep(0.02)
    return True


# ---- HTTP/2 fan-out ----

def post_block(path, authority="a.test"):
    return (lit(":method", "POST") + lit(":scheme", "http") + lit(":path", path) +
            lit(":authority", authority) + lit("content-length", "1000"))


def test_h2_stream_fanout_is_bounded_and_others_are_served(make_gateway, backend):
    g = make_gateway(upstream_config([ups("up-a", [(backend, None, 10)])], Http2Cleartext=True))
    conns, streams = 8, 60
    abusers = []
    try:
        for _ in range(conns):
            s = socket.create_connection(("127.0.0.1", g.port), timeout=5)
            burst = PREFACE + frame(4, 0, 0)
            for k in range(streams):
                # HEADERS (END_HEADERS, no END_STREAM): a POST whose body never comes.
                burst += frame(1, 0x4, 1 + 2 * k, post_block("/release/up-a"))
            s.sendall(burst)
            abusers.append(s)
        # Each proxied stream holds one backend connection waiting for its body.
        wait_until(lambda: backend.accepted >= conns * 16, timeout=3)
        time.sleep(0.3)  # let any excess fan out before counting
        held = open_to(backend.port)
        assert backend.accepted <= conns * 16, backend.accepted
        assert held <= conns * 16 + 2, held
        # Another client is served meanwhile.
        r = g.request("GET", "/release/up-a", timeout=3)
        assert r.status == 200, r
    finally:
        for s in abusers:
            s.close()
    print("h2 fan-out: %d connections x %d open POST streams -> %d backend connections"
          % (conns, streams, backend.accepted))


# ---- per-node limit, queue, timeout ----

def test_node_limit_queues_and_refuses_after_queue_timeout(make_gateway, backend, assert_error):
    backend.set_reply(Reply(status=200, body=b"slow", delay=1.5))
    up = ups("up-a", [(backend, None, 10)], MaxConnectionsPerNode=2, MaxQueuePerNode=2,
             QueueTimeout=0.4)
    g = make_gateway(upstream_config([up]))
    t0 = time.time()
    res = parallel(lambda i: (time.sleep(0.05 * i), g.request("GET", "/release/up-a", timeout=5))[1], 5)
    statuses = sorted(r.status for r in res)
    assert statuses == [200, 200, 503, 503, 503], res
    assert backend.accepted == 2, backend.accepted
    msgs = [assert_error(r, 503)["message"] for r in res if r.status == 503]
    assert any("QueueTimeout" in m for m in msgs), msgs       # waited, then refused
    assert any("MaxQueuePerNode" in m for m in msgs), msgs    # queue full: refused at once
    assert time.time() - t0 < 4


class InFlight:
    """A backend reply that records how many requests it held at once."""

    def __init__(self, hold):
        self.hold, self.now, self.peak = hold, 0, 0
        self.lock = threading.Lock()

    def __call__(self, req):
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        time.sleep(self.hold)
        with self.lock:
            self.now -= 1
        return Reply(status=200, body=b"ok")


def test_waiting_requests_are_woken_on_the_freed_connection(make_gateway, backend):
    up = ups("up-a", [(backend, None, 10)], MaxConnectionsPerNode=2, QueueTimeout=5)
    # One worker: a waiting request starts on the connection that freed.
    backend.set_reply(InFlight(0.2))
    g = make_gateway(upstream_config([up]))
    res = parallel(lambda i: g.request("GET", "/release/up-a", timeout=8), 8)
    assert [r.status for r in res] == [200] * 8, res
    assert backend.accepted == 2, backend.accepted
    assert backend.reply.peak == 2, backend.reply.peak
    # Two workers: the cap holds across them (a slot freed by one wakes
    # the other's waiting requests).
    backend.reset()
    backend.set_reply(InFlight(0.2))
    g2 = make_gateway(upstream_config([up], Workers=2))
    res = parallel(lambda i: g2.request("GET", "/release/up-a", timeout=8), 12)
    assert [r.status for r in res] == [200] * 12, res
    assert backend.reply.peak <= 2, backend.reply.peak


# ---- pools per node ----

def test_idle_pool_is_per_node_with_lru_and_budget(make_gateway, make_backend):
    a, b = make_backend("a"), make_backend("b")
    a.set_reply(Reply(status=200, body=b"a", delay=0.3))
    ua = ups("up-a", [(a, None, 10)], MaxIdleConnectionsPerNode=12)
    ub = ups("up-b", [(b, None, 10)])
    g = make_gateway(upstream_config([ua, ub], MaxBackendConnections=10))
    # 10 at once to A fill the worker's whole backend budget, then idle.
    res = parallel(lambda i: g.request("GET", "/release/up-a", timeout=5), 10)
    assert [r.status for r in res] == [200] * 10, res
    assert wait_until(lambda: open_to(a.port) == 10), open_to(a.port)
    # B is not starved: its connection takes the place of A's oldest idle one.
    for _ in range(5):
        assert g.request("GET", "/release/up-b").status == 200
    assert b.accepted == 1, b.accepted
    assert wait_until(lambda: open_to(a.port) == 9), open_to(a.port)

    # MaxIdleConnectionsPerNode keeps only the newest idle connections.
    ua["MaxIdleConnectionsPerNode"] = 3
    assert g.reload(upstream_config([ua, ub], MaxBackendConnections=10)) == "ok"
    a.reset()
    a.set_reply(Reply(status=200, body=b"a", delay=0.3))
    res = parallel(lambda i: g.request("GET", "/release/up-a", timeout=5), 9)
    assert [r.status for r in res] == [200] * 9, res
    assert wait_until(lambda: open_to(a.port) <= 3 + 0), open_to(a.port)


def test_keepalive_timeout_closes_idle_connections(make_gateway, backend):
    up = ups("up-a", [(backend, None, 10)], KeepaliveTimeout=0.3)
    g = make_gateway(upstream_config([up], UpstreamIdleTimeout=60))
    assert g.request("GET", "/release/up-a").status == 200
    assert g.request("GET", "/release/up-a").status == 200
    assert backend.accepted == 1          # reused within the timeout
    assert open_to(backend.port) == 1
    assert wait_until(lambda: open_to(backend.port) == 0, timeout=2), "idle connection kept"
    assert g.request("GET", "/release/up-a").status == 200
    assert backend.accepted == 2


def test_a_full_node_is_passed_over_for_one_with_room(make_gateway, make_backend):
    a, b = make_backend("a"), make_backend("b")
    for x in (a, b):
        x.set_reply(Reply(status=200, body=b"x", delay=0.5))
    # One hash key: both requests belong to the same node, which takes one.
    up = ups("up-h", [(a, None, 10), (b, None, 10)], Algorithm="CONSISTENT-HASH",
             HashKey="header.X-User", MaxConnectionsPerNode=1, QueueTimeout=0.2)
    g = make_gateway(upstream_config([up]))
    res = parallel(lambda i: (time.sleep(0.1 * i),
                              g.request("GET", "/release/up-h", headers=[("X-User", "u1")]))[1], 2)
    assert [r.status for r in res] == [200, 200], res
    assert (a.accepted, b.accepted) == (1, 1), (a.accepted, b.accepted)


def test_limit_keys_are_validated_with_their_location(tmp_path):
    from syharness.gateway import run_cli
    bad = tmp_path / "bad.yaml"
    bad.write_text("Gateway:\n  Http2MaxProxiedStreams: 0\n  MaxBackendConnections: -3\n"
                   "Upstreams:\n  - UpstreamId: u1\n    MaxConnectionsPerNode: -1\n"
                   "    QueueTimeout: 0\n    MaxIdleConnectionsPerNode: x\n"
                   "    KeepaliveTimeout: 99999\n    MaxQueuePerNode: 2000000\n"
                   "    Nodes: [{Host: 127.0.0.1, Port: 1, Weight: 1}]\n")
    p = run_cli("-t", "-c", str(bad))
    assert p.returncode == 1, p.stdout
    for line, field in ((2, "Gateway.Http2MaxProxiedStreams"), (3, "Gateway.MaxBackendConnections"),
                        (6, "Upstreams[0].MaxConnectionsPerNode"), (7, "Upstreams[0].QueueTimeout"),
                        (8, "Upstreams[0].MaxIdleConnectionsPerNode"),
                        (9, "Upstreams[0].KeepaliveTimeout"), (10, "Upstreams[0].MaxQueuePerNode")):
        where = "bad.yaml:%d:" % line
        assert any(where in ln and field + ":" in ln for ln in p.stderr.splitlines()), (where, field, p.stderr)


def test_doc_examples_of_the_limits(tmp_path, make_gateway):
    """doc/upstreams.md's connection-limit example loads; doc/config.md's
    file-descriptor warning is what the gateway prints in that setting
    (ulimit -n 20000, two workers, the admin listener on)."""
    import resource
    from syharness.gateway import free_port, run_cli
    from test_doc_examples import doc, fenced
    f = tmp_path / "limits.yaml"
    f.write_text(fenced(doc("upstreams.md"), "## Connections, queues and pools", "yaml"))
    p = run_cli("-t", "-c", str(f))
    assert p.returncode == 0, p.stderr
    shown = fenced(doc("config.md"), "### File descriptor budget").strip()
    g = make_gateway({"Gateway": {"Workers": 2, "AdminListen": "127.0.0.1:%d" % free_port()}},
                     start=False)
    g.start(preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000)))
    m = g.wait_log(r"\[warn\] file descriptor limit .*", timeout=3)
    assert m and m.group(0) == shown, (m and m.group(0), shown)


def test_a_waiting_request_keeps_its_body_and_a_client_that_leaves_frees_its_place(
        make_gateway, backend):
    from syharness.gateway import free_port
    from test_upstreams import node_health
    aport = free_port()
    backend.set_reply(InFlight(0.6))
    up = ups("up-a", [(backend, None, 10)], MaxConnectionsPerNode=1, QueueTimeout=5)
    cfg = upstream_config([up])
    cfg["Gateway"]["AdminListen"] = "127.0.0.1:%d" % aport
    g = make_gateway(cfg)
    first = parallel(lambda i: g.request("GET", "/release/up-a", timeout=5), 1)  # warm: one connection
    assert first[0].status == 200
    body = bytes(range(256)) * 40
    # A holds the only slot; B (a POST with a body) and C wait; C leaves.
    a = threading.Thread(target=lambda: g.request("GET", "/release/up-a", timeout=5), daemon=True)
    a.start()
    time.sleep(0.1)
    res = {}
    b = threading.Thread(target=lambda: res.setdefault("b", g.request(
        "POST", "/release/up-a", body=body, headers=[("Content-Type", "application/octet-stream")],
        timeout=5)), daemon=True)
    b.start()
    c = g.client(timeout=5)
    c.send(b"GET /release/up-a HTTP/1.1\r\nHost: gw.test\r\n\r\n")
    assert wait_until(lambda: node_health(aport, "up-a")["nodes"][0]["queued_requests"] == 2), \
        node_health(aport, "up-a")
    c.close()
    assert wait_until(lambda: node_health(aport, "up-a")["nodes"][0]["queued_requests"] == 1), \
        node_health(aport, "up-a")
    b.join(5)
    a.join(5)
    assert res["b"].status == 200, res["b"]
    posts = [r for r in backend.requests if r.method == "POST"]
    assert len(posts) == 1 and posts[0].body == body
    assert backend.reply.peak == 1
    assert backend.accepted == 1   # everything went over the one pooled connection
    assert node_health(aport, "up-a")["nodes"][0]["queued_requests"] == 0
