"""Upstreams (issue #4): balancing, passive and active health checks, safe
retries, all-down 503, DNS discovery against a real dnsmasq, HTTPS to nodes.

Each failure test prints what it measured (run pytest with -s to see):
errors the client saw, time from the failure to the ejection, and time
from the repair to the node taking traffic again."""
import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from syharness.backend import Backend, Reply
from syharness.client import build
from syharness.gateway import api, free_port, service

ADMIN_TIMEOUT = 2.0


def ups(uid, nodes, **kw):
    """nodes: [(backend_or_host, port_or_None, weight)]"""
    out = {"UpstreamId": uid, "UpstreamName": uid, "Scheme": "HTTP", "Algorithm": "ROUND-ROBIN",
           "Nodes": []}
    for b, port, w in nodes:
        if isinstance(b, Backend):
            out["Nodes"].append({"Host": b.host, "Port": b.port, "Weight": w})
        else:
            out["Nodes"].append({"Host": b, "Port": port, "Weight": w})
    out.update(kw)
    return out


def health(**kw):
    h = {"EnableActiveCheck": False, "EnablePassiveCheck": True, "HealthyHttpStatus": "200-399",
         "UnhealthyHttpStatus": "500-599", "TcpFailureThreshold": 2, "TimeoutThreshold": 2,
         "HttpFailureThreshold": 3, "UnhealthyTimeout": 30}
    h.update(kw)
    return h


def config(upstreams, timeout=5, admin_port=None, **gw):
    apis = []
    for u in upstreams:
        apis.append(api("api-" + u["UpstreamId"], "/" + u["UpstreamId"], timeout=timeout,
                        config={"Product": "upstream", "UpstreamId": u["UpstreamId"],
                                "Path": "/", "Method": "ANY"}))
    g = dict(gw)
    if admin_port:
        g["AdminListen"] = "127.0.0.1:%d" % admin_port
    return {"Gateway": g, "Upstreams": upstreams, "Services": [service("svc", apis)]}


def node_health(admin_port, uid):
    # The admin listener may come up a moment after the traffic listener.
    deadline = time.time() + ADMIN_TIMEOUT
    while True:
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/v1/upstreams/%s/health"
                                        % (admin_port, uid), timeout=ADMIN_TIMEOUT) as r:
                return json.loads(r.read().decode())
        except urllib.error.URLError as e:
            if isinstance(e, urllib.error.HTTPError) or time.time() > deadline:
                raise
            time.sleep(0.02)


def state_of(admin_port, uid, port, host="127.0.0.1"):
    for n in node_health(admin_port, uid)["nodes"]:
        if n["address"] == "%s:%d" % (host, port):
            return n["state"]
    return None


def wait_state(admin_port, uid, port, want, timeout):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if state_of(admin_port, uid, port) == want:
            return time.time() - t0
        time.sleep(0.01)
    raise AssertionError("node %d not %s within %.1fs: %r" % (port, want, timeout,
                                                               node_health(admin_port, uid)))


def who(resp):
    return json.loads(resp.body.decode())["backend"]


class Stream:
    """A client sending GETs back to back on fresh connections, counting
    every answer that is not a 200."""

    def __init__(self, g, path):
        self.g, self.path = g, path
        self.ok = 0
        self.errors = []
        self.by_backend = {}
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop:
            try:
                r = self.g.request("GET", self.path, timeout=5)
                if r.status == 200:
                    self.ok += 1
                    b = who(r)
                    self.by_backend[b] = self.by_backend.get(b, 0) + 1
                else:
                    self.errors.append(r.status)
            except Exception as e:  # noqa: BLE001 - any failure is a client error
                self.errors.append(repr(e))
            time.sleep(0.002)

    def finish(self):
        self.stop = True
        self.t.join(10)


# ---- failure tests ----

def test_killed_node_zero_client_errors_ejected_and_back(make_gateway, make_backend):
    a, b = make_backend("a"), make_backend("b")
    port = free_port()
    u = ups("up-kill", [(a, None, 50), (b, None, 50)],
            HealthChecker=health(UnhealthyTimeout=1.5))
    g = make_gateway(config([u], admin_port=port))
    s = Stream(g, "/release/up-kill")
    time.sleep(0.4)
    bport = b.port
    t_kill = time.time()
    b.close()
    eject = wait_state(port, "up-kill", bport, "unhealthy", 3)
    time.sleep(0.3)
    b2 = make_backend("b", port=bport)
    t_restart = time.time()
    # Back after UnhealthyTimeout (1.5 s from the ejection), then traffic.
    while time.time() - t_restart < 4:
        if s.by_backend.get("b", 0) and b2.requests:
            break
        time.sleep(0.01)
    recover = time.time() - t_restart
    s.finish()
    print("\nkill: %d requests, errors=%r, ejected %.3fs after the kill, back %.3fs after "
          "the restart (UnhealthyTimeout 1.5s)" % (s.ok + len(s.errors), s.errors, eject, recover))
    assert s.errors == []
    assert b2.requests, "restarted node got no traffic"
    assert eject < 1.0
    assert 0.5 < recover < 3.5
    assert t_kill  # measured above


def test_never_answering_node_504_then_ejected(make_gateway, make_backend):
    a = make_backend("a")
    a.set_reply(Reply(never=True))
    port = free_port()
    u = ups("up-hang", [(a, None, 10)], HealthChecker=health(TimeoutThreshold=2))
    g = make_gateway(config([u], timeout=1, admin_port=port))
    times = []
    for _ in range(2):
        t0 = time.time()
        r = g.request("GET", "/release/up-hang", timeout=5)
        times.append(time.time() - t0)
        assert r.status == 504, r
    assert all(0.9 < t < 1.6 for t in times), times
    assert state_of(port, "up-hang", a.port) == "unhealthy"
    t0 = time.time()
    r = g.request("GET", "/release/up-hang", timeout=5)
    all_down = time.time() - t0
    assert r.status == 503
    doc = json.loads(r.body.decode())
    assert "up-hang" in doc["message"], doc
    assert all_down < 0.2
    print("\nhang: 504 after %s s each (ServiceTimeout 1), ejected after 2 timeouts, then 503 in "
          "%.3fs" % (["%.2f" % t for t in times], all_down))


def test_post_not_retried_get_retried_when_node_dies_mid_request(make_gateway, make_backend):
    dying, good = make_backend("dying"), make_backend("good")
    dying.set_reply(Reply(raw=b"", keep_alive=False))   # reads the request, closes, no answer
    u = ups("up-die", [(dying, None, 100), (good, None, 1)])
    g = make_gateway(config([u]))
    r = g.request("POST", "/release/up-die", body=b"x=1", headers=[("Content-Type", "text/plain")])
    assert r.status == 502, r
    assert len(dying.requests) == 1 and len(good.requests) == 0
    r = g.request("GET", "/release/up-die")
    assert r.status == 200 and who(r) == "good", r
    assert len(dying.requests) == 2


def test_http_failures_eject_then_active_check_brings_back(make_gateway, make_backend):
    a, b = make_backend("a"), make_backend("b")
    a.set_reply(Reply(status=500))
    port = free_port()
    h = health(EnableActiveCheck=True, ActiveCheckHttpPath="/healthz", ActiveCheckInterval=0.2,
               ActiveCheckTimeout=0.5, HttpFailureThreshold=3, UnhealthyTimeout=0,
               ActiveRequestHeader={"X-Probe": "yes"})
    u = ups("up-500", [(a, None, 50), (b, None, 50)], HealthChecker=h)
    g = make_gateway(config([u], admin_port=port))
    t0 = time.time()
    statuses = []
    while state_of(port, "up-500", a.port) != "unhealthy" and time.time() - t0 < 3:
        statuses.append(g.request("GET", "/release/up-500").status)
    eject = time.time() - t0
    assert state_of(port, "up-500", a.port) == "unhealthy"
    assert statuses.count(500) <= 3, statuses
    for _ in range(10):
        r = g.request("GET", "/release/up-500")
        assert r.status == 200 and who(r) == "b"
    probes = [rq for rq in a.requests if rq.path == "/healthz"]
    assert probes and probes[0].header("X-Probe") == "yes"
    assert probes[0].header("User-Agent") == "switchyard-health-check"
    a.set_reply(Reply(status=200))
    back = wait_state(port, "up-500", a.port, "healthy", 3)
    seen = set(who(g.request("GET", "/release/up-500")) for _ in range(6))
    assert seen == {"a", "b"}
    print("\n500s: %d failure statuses reached clients before the ejection (%.3fs); active check "
          "brought the node back %.3fs after it turned healthy (interval 0.2s)"
          % (statuses.count(500), eject, back))


def test_health_endpoint_and_metrics(make_gateway, make_backend):
    a = make_backend("a")
    port = free_port()
    g = make_gateway(config([ups("up-m", [(a, None, 10), ("127.0.0.1", 9, 0)])], admin_port=port))
    assert g.request("GET", "/release/up-m").status == 200
    doc = node_health(port, "up-m")
    assert doc["upstream"] == "up-m" and doc["healthy_nodes"] == 1
    states = {n["address"]: n["state"] for n in doc["nodes"]}
    assert states == {"127.0.0.1:%d" % a.port: "healthy", "127.0.0.1:9": "disabled"}
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=2) as r:
        text = r.read().decode()
    assert ('switchyard_upstream_node_healthy{upstream="up-m",node="127.0.0.1:%d"} 1'
            % a.port) in text
    assert ('switchyard_upstream_node_requests_total{upstream="up-m",node="127.0.0.1:%d"} 1'
            % a.port) in text
    try:
        node_health(port, "nope")
        raise AssertionError("want 404")
    except urllib.error.HTTPError as e:
        assert e.code == 404


# ---- balancing ----

def _spread(g, path, n, headers=()):
    counts = {}
    with g.client() as c:
        for _ in range(n):
            c.send(build("GET", path, headers=headers))
            r = c.read_response()
            assert r.status == 200, r
            counts[who(r)] = counts.get(who(r), 0) + 1
    return counts


def test_weighted_round_robin_within_two_points(make_gateway, make_backend):
    bs = [make_backend(n) for n in ("w50", "w30", "w20")]
    u = ups("up-w", [(bs[0], None, 50), (bs[1], None, 30), (bs[2], None, 20)])
    g = make_gateway(config([u], Workers=2, MaxKeepaliveRequests=5000))
    counts = _spread(g, "/release/up-w", 2000)
    for name, w in (("w50", 50), ("w30", 30), ("w20", 20)):
        assert abs(counts.get(name, 0) / 20.0 - w) <= 2, counts


def test_least_conn_prefers_idle_node(make_gateway, make_backend):
    slow, fast = make_backend("slow"), make_backend("fast")
    slow.set_reply(Reply(delay=0.6))
    u = ups("up-lc", [(slow, None, 10), (fast, None, 10)], Algorithm="LEAST-CONN")
    g = make_gateway(config([u]))
    results = []
    ts = [threading.Thread(target=lambda: results.append(who(g.request("GET", "/release/up-lc"))))
          for _ in range(2)]
    ts[0].start()
    time.sleep(0.1)
    ts[1].start()
    time.sleep(0.1)
    # One request is stuck on one node: the next ones go to the other.
    more = [who(g.request("GET", "/release/up-lc")) for _ in range(4)]
    for t in ts:
        t.join(5)
    assert more.count("fast") == 4, (results, more)


def test_consistent_hash_sticky_and_minimal_remap(make_gateway, make_backend):
    bs = [make_backend("h%d" % i) for i in range(4)]
    u3 = ups("up-h", [(b, None, 10) for b in bs[:3]], Algorithm="CONSISTENT-HASH",
             HashKey="header.X-User")
    g = make_gateway(config([u3]))
    users = ["user-%d" % i for i in range(300)]

    def placement():
        out = {}
        with g.client() as c:
            for usr in users:
                c.send(build("GET", "/release/up-h", headers=[("X-User", usr)]))
                out[usr] = who(c.read_response())
        return out
    before = placement()
    assert placement() == before                      # sticky
    assert len(set(before.values())) == 3
    u4 = ups("up-h", [(b, None, 10) for b in bs], Algorithm="CONSISTENT-HASH",
             HashKey="header.X-User")
    assert g.reload(config([u4])) == "ok"
    after = placement()
    moved = [usr for usr in users if after[usr] != before[usr]]
    assert all(after[usr] == "h3" for usr in moved), "keys moved between old nodes"
    assert 0.12 < len(moved) / len(users) < 0.38, len(moved)
    # No key: round robin over the nodes.
    assert len(_spread(g, "/release/up-h", 8)) == 4


def test_all_nodes_disabled_503_names_upstream(make_gateway, make_backend, assert_error):
    a = make_backend("a")
    g = make_gateway(config([ups("up-off", [(a, None, 0)], UpstreamName="orders_pool")]))
    t0 = time.time()
    r = g.request("GET", "/release/up-off")
    assert time.time() - t0 < 0.3
    doc = assert_error(r, 503)
    assert "up-off" in doc["message"] and "orders_pool" in doc["message"], doc
    assert not a.requests


def test_connect_refused_retries_other_nodes_within_retries(make_gateway, make_backend):
    good = make_backend("good")
    dead = [free_port() for _ in range(3)]
    u = ups("up-r", [("127.0.0.1", p, 100) for p in dead] + [(good, None, 1)], Retries=3)
    g = make_gateway(config([u]))
    r = g.request("POST", "/release/up-r", body=b"abc")
    assert r.status == 200 and who(r) == "good", r
    assert good.last().body == b"abc"
    u = ups("up-r", [("127.0.0.1", p, 100) for p in dead] + [(good, None, 1)], Retries=1)
    assert g.reload(config([u])) == "ok"
    assert g.request("GET", "/release/up-r").status == 502


# ---- DNS ----

@pytest.fixture
def dnsmasq(tmp_path):
    if not os.path.exists("/usr/sbin/dnsmasq"):
        pytest.skip("dnsmasq not installed (Debian package dnsmasq-base)")
    hosts = tmp_path / "hosts"
    port = free_port()

    class D:
        def set(self, *addrs):
            hosts.write_text("".join("%s svc.test\n" % a for a in addrs))
            if getattr(self, "proc", None):
                self.proc.send_signal(signal.SIGHUP)

        def stop(self):
            if self.proc.poll() is None:
                self.proc.terminate()
                self.proc.wait(5)
    d = D()
    d.port = port
    d.set("127.0.0.1")
    d.proc = subprocess.Popen(["/usr/sbin/dnsmasq", "--no-daemon", "--port=%d" % port,
                               "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv",
                               "--no-hosts", "--addn-hosts=%s" % hosts, "--local-ttl=1",
                               "--user=root", "--pid-file=", "--cache-size=0"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.3)
    assert d.proc.poll() is None, d.proc.stderr.read()
    yield d
    d.stop()


def test_dns_discovery_reresolves_and_keeps_last_good(make_gateway, make_backend, dnsmasq):
    one = make_backend("one", host="127.0.0.1")
    two = make_backend("two", host="127.0.0.2", port=one.port)
    port = free_port()
    u = ups("up-dns", [("svc.test", one.port, 10)])
    g = make_gateway(config([u], admin_port=port, Resolvers=["127.0.0.1:%d" % dnsmasq.port]))

    def wait_for(names, timeout=6):
        t0 = time.time()
        seen = set()
        while time.time() - t0 < timeout:
            r = g.request("GET", "/release/up-dns")
            if r.status == 200:
                seen = set(who(g.request("GET", "/release/up-dns")) for _ in range(4))
                if seen == names:
                    return time.time() - t0
            time.sleep(0.05)
        raise AssertionError("wanted %r, saw %r: %r" % (names, seen, node_health(port, "up-dns")))
    first = wait_for({"one"})
    dnsmasq.set("127.0.0.1", "127.0.0.2")
    both = wait_for({"one", "two"})
    dnsmasq.set("127.0.0.2")
    moved = wait_for({"two"})
    dnsmasq.stop()
    time.sleep(3.2)   # TTL 1 s + query timeout 1.5 s: one failed re-resolution
    assert set(who(g.request("GET", "/release/up-dns")) for _ in range(4)) == {"two"}
    assert "resolving svc.test failed" in g.stderr()
    print("\ndns: first answer used after %.2fs, new address after %.2fs, removal after %.2fs "
          "(TTL 1s); kept the last good address with the DNS server gone" % (first, both, moved))


# ---- TLS ----

def _openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    p = lambda n: str(d / n)  # noqa: E731
    for ca in ("ca", "other"):
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                 "/CN=test %s" % ca, "-keyout", p(ca + ".key"), "-out", p(ca + ".pem"))
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=backend.test", "-keyout",
             p("srv.key"), "-out", p("srv.csr"))
    with open(p("ext"), "w") as f:
        f.write("subjectAltName=DNS:backend.test,IP:127.0.0.1\n")
    _openssl("x509", "-req", "-in", p("srv.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
             "-CAcreateserial", "-days", "2", "-extfile", p("ext"), "-out", p("srv.pem"))
    return p


def _tls_backend(make_backend, pki, name):
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki("srv.pem"), pki("srv.key"))
    return make_backend(name, tls=ctx)


def test_https_upstream_verified_sni_and_resumption(make_gateway, make_backend, pki):
    b = _tls_backend(make_backend, pki, "tls")
    b.set_reply(Reply(keep_alive=False))     # a new connection (and handshake) per request
    u = ups("up-tls", [(b, None, 10)], Scheme="HTTPS", CaFile=pki("ca.pem"),
            UpstreamHost="backend.test")
    u_ip = ups("up-tls-ip", [(b, None, 10)], Scheme="HTTPS", CaFile=pki("ca.pem"))
    g = make_gateway(config([u, u_ip]))
    for _ in range(3):
        r = g.request("GET", "/release/up-tls")
        assert r.status == 200, r
    assert b.last().header("Host") == "backend.test"
    assert g.request("GET", "/release/up-tls-ip").status == 200   # IP SAN checked
    assert getattr(b, "tls_resumed", [])[1:3] == [True, True], getattr(b, "tls_resumed", None)
    b.set_reply(Reply())                      # keep-alive: the pool reuses the TLS connection
    before = b.accepted
    for _ in range(3):
        assert g.request("GET", "/release/up-tls").status == 200
    assert b.accepted - before <= 1


def test_https_wrong_certificate_refused(make_gateway, make_backend, pki):
    b = _tls_backend(make_backend, pki, "tls")
    u = ups("up-bad", [(b, None, 10)], Scheme="HTTPS", CaFile=pki("other.pem"),
            UpstreamHost="backend.test")
    u_name = ups("up-name", [(b, None, 10)], Scheme="HTTPS", CaFile=pki("ca.pem"),
                 UpstreamHost="wrong.test")
    g = make_gateway(config([u, u_name]))
    r = g.request("GET", "/release/up-bad")
    assert r.status == 502, r
    assert "certificate" in json.loads(r.body.decode())["message"]
    assert g.request("GET", "/release/up-name").status == 502
    assert not b.requests
