"""A fleet of gateways on one etcd (Gateway.ConfigStore.Type etcd; doc/fleet.md).

Real etcd servers (etcd-server 3.4) on loopback ports, real gateways:

  * a change through any gateway's admin API routes on all three; status
    shows the applied revision and lag
  * 200 changes under steady load on three gateways: zero failed or
    misrouted requests; the writing gateway routes by the change as soon as
    the call returns (read your writes); convergence on the others measured
  * concurrent conflicting edits on two gateways: one wins, one gets 409,
    never a lost update; If-Match
  * etcd killed for 10 s under load: zero failed requests, writes 503,
    `stale_since`, convergence after it returns
  * a gateway starts from its cache file while etcd is down, catches up
  * compaction while a gateway's stream is cut during a burst of changes:
    a fresh list, nothing skipped
  * a three-member etcd cluster with its leader killed under load
  * store export / import round trip, `switchyard -t` on an etcd prefix,
    ConfigStore validation
"""
import http.client
import json
import os
import signal
import socket
import threading
import time

import pytest

from syharness.admin import Admin
from syharness.etcd import Etcd
from syharness.gateway import free_port, run_cli

HOST = "fleet.test"


@pytest.fixture(scope="module")
def etcd():
    e = Etcd(1).start()
    yield e
    e.stop()


_prefixes = iter(range(1, 1000))


def new_prefix():
    return "/sy-test-%d-%d" % (os.getpid(), next(_prefixes))


def fleet_gateway(make_gateway, endpoints, prefix, cache=None, start=True, workers=1, **store_kw):
    aport = free_port()
    store = {"Type": "etcd", "Endpoints": list(endpoints), "Prefix": prefix,
             "DialTimeout": 0.5, "RequestTimeout": 2}
    store.update(store_kw)
    if cache:
        store["CacheFile"] = cache
    g = make_gateway({"Gateway": {"AdminListen": "127.0.0.1:%d" % aport, "Workers": workers,
                                  "AccessLog": "off", "MaxKeepaliveRequests": 1000000000,
                                  "IdleTimeout": 120, "ConfigStore": store}}, start=start)
    g.admin = Admin(aport)
    g.prefix = prefix
    return g


def policy(gen):
    return [{"strategy_name": "gen", "strategy_weight": 50,
             "condition": "header.X-Gen = '%d'" % gen, "backend_type": "UPSTREAM",
             "backend_config": {"ServiceConfig": {"Product": "upstream",
                                                  "UpstreamId": "up-green", "Path": "/"}}}]


def setup_routes(a, blue, green):
    """blue by default; X-Gen = <gen> goes to green (plugin-gen)."""
    for uid, b in (("up-blue", blue), ("up-green", green)):
        a.post("/v1/upstreams", {"UpstreamId": uid,
                                 "Nodes": [{"Host": "127.0.0.1", "Port": b.port, "Weight": 100}]})
    a.post("/v1/services", {"ServiceId": "svc-fleet", "Domains": [{"DomainName": HOST}]})
    a.post("/v1/services/svc-fleet/apis", {
        "ApiId": "api-f", "Path": "/f", "ServiceType": "HTTP", "ServiceTimeout": 5,
        "ServiceConfig": {"Product": "upstream", "UpstreamId": "up-blue", "Path": "/"}})
    a.post("/v1/services/svc-fleet/releases", {"EnvironmentName": "release"})
    a.post("/v1/plugins", {"PluginId": "plugin-gen", "PluginType": "Routing",
                           "PluginData": policy(0)})
    a.post("/v1/plugins/plugin-gen/attachments",
           {"ServiceId": "svc-fleet", "EnvironmentName": "release", "ApiIds": ["api-f"]})


class Probe:
    """A keep-alive connection to one gateway's data plane."""

    def __init__(self, port):
        self.port = port
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def backend(self, gen=None):
        h = {"Host": HOST}
        if gen is not None:
            h["X-Gen"] = str(gen)
        try:
            self.c.request("GET", "/release/f", headers=h)
            r = self.c.getresponse()
            body = r.read()
        except (OSError, http.client.HTTPException) as e:
            self.c.close()
            self.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            return "error: %r" % e
        if r.status != 200:
            return "status %d: %r" % (r.status, body[:200])
        return json.loads(body)["backend"]

    def close(self):
        self.c.close()


def wait_backend(gws, gen, want, timeout=5.0):
    deadline = time.time() + timeout
    for g in gws:
        p = Probe(g.port)
        try:
            while p.backend(gen) != want:
                assert time.time() < deadline, "%s never routed X-Gen %s to %s" % (g.name, gen, want)
                time.sleep(0.005)
        finally:
            p.close()


class Load:
    """Client threads on keep-alive connections to every gateway.  A request
    carries X-Gen = the generation committed when it starts, or the one
    before; green is right only for a generation committed by the time it
    ended (or the one still current on a lagging gateway), blue for any
    other.  Every failure or misroute is kept."""

    def __init__(self, gws, state, per_gateway=1):
        self.state = state              # {"gen": committed generation}
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.ok = 0
        self.bad = []
        self.threads = [threading.Thread(target=self.run, args=(g, i), daemon=True)
                        for g in gws for i in range(per_gateway)]

    def run(self, g, i):
        p = Probe(g.port)
        n = 0
        k = 0
        try:
            while not self.stop.is_set():
                k += 1
                start = self.state["gen"]
                ask = start - (k % 2)
                got = p.backend(ask)
                end = self.state["gen"]
                good = got == "blue" or (got == "green" and start - 1 <= ask <= end)
                if good:
                    n += 1
                else:
                    with self.lock:
                        self.bad.append((g.name, ask, start, end, got))
        finally:
            p.close()
            with self.lock:
                self.ok += n

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(10)


def three_gateways(make_gateway, make_backend, endpoints, prefix=None, cache_dir=None):
    blue, green = make_backend("blue"), make_backend("green")
    prefix = prefix or new_prefix()
    gws = [fleet_gateway(make_gateway, endpoints, prefix,
                         cache=os.path.join(cache_dir, "cache%d.json" % i) if cache_dir else None)
           for i in range(3)]
    setup_routes(gws[0].admin, blue, green)
    wait_backend(gws, 0, "green")
    return gws


def status(g):
    return g.admin.get("/v1/status")["config_store"]


def test_change_through_any_gateway_routes_on_all(make_gateway, make_backend, etcd):
    gws = three_gateways(make_gateway, make_backend, etcd.endpoints)
    for gen in range(1, 7):
        gws[gen % 3].admin.patch("/v1/plugins/plugin-gen", {"PluginData": policy(gen)})
        wait_backend(gws, gen, "green")
        wait_backend(gws, gen - 1, "blue")
    versions = {g.admin.version() for g in gws}
    assert len(versions) == 1
    st = [status(g) for g in gws]
    assert all(s["type"] == "etcd" and s["connected"] and s["stale_since"] is None for s in st)
    assert len({s["applied_revision"] for s in st}) == 1 and st[0]["lag"] == 0
    # One key per object: a plugin edit rewrote the plugin and the version only.
    root = gws[0].prefix + "/config/"
    keys = etcd.get_prefix(root)
    assert sorted(keys) == [root + k for k in ("plugins/plugin-gen", "services/svc-fleet",
                                               "upstreams/up-blue", "upstreams/up-green",
                                               "version")]
    assert json.loads(keys[root + "plugins/plugin-gen"])["PluginData"][0]["condition"] == \
        "header.X-Gen = '6'"
    m = gws[0].admin.raw("GET", "/metrics")[2].decode()
    assert "switchyard_store_applied_revision %d" % st[0]["applied_revision"] in m


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def test_200_changes_under_load_three_gateways(make_gateway, make_backend, etcd):
    gws = three_gateways(make_gateway, make_backend, etcd.endpoints)
    state = {"gen": 0}
    conv = []
    pollers = [Probe(g.port) for g in gws]
    t0 = time.time()
    with Load(gws, state) as load:
        for gen in range(1, 201):
            w = gen % 3
            gws[w].admin.patch("/v1/plugins/plugin-gen", {"PluginData": policy(gen)})
            done = time.monotonic()
            state["gen"] = gen
            # Read your writes: the writing gateway routes by it at once.
            assert pollers[w].backend(gen) == "green"
            for i, p in enumerate(pollers):
                if i == w:
                    continue
                deadline = time.time() + 5
                while p.backend(gen) != "green":
                    assert time.time() < deadline, "gateway %d never converged on %d" % (i, gen)
                conv.append((time.monotonic() - done) * 1000.0)
    elapsed = time.time() - t0
    for p in pollers:
        p.close()
    print("\nfleet: 200 changes on 3 gateways in %.1f s; load: %d ok, %d bad; convergence "
          "p50 %.1f ms p99 %.1f ms max %.1f ms (n=%d)"
          % (elapsed, load.ok, len(load.bad), percentile(conv, 50), percentile(conv, 99),
             max(conv), len(conv)))
    assert load.bad == [], load.bad[:5]
    assert load.ok > 200
    st = [status(g) for g in gws]
    assert len({s["applied_revision"] for s in st}) == 1


def test_concurrent_edits_one_wins_one_409(make_gateway, make_backend, etcd):
    prefix = new_prefix()
    g1, g2 = (fleet_gateway(make_gateway, etcd.endpoints, prefix) for _ in range(2))
    g1.admin.post("/v1/upstreams", {"UpstreamId": "up-x", "UpstreamName": "x0",
                                    "Nodes": [{"Host": "127.0.0.1", "Port": 1, "Weight": 1}]})
    conflicts = 0
    for rnd in range(60):
        barrier = threading.Barrier(2)
        out = {}

        def edit(g, field):
            a = Admin(g.admin.port)
            barrier.wait()
            out[field] = a.call("PATCH", "/v1/upstreams/up-x", {field: "%s-%d" % (field, rnd)})
            a.close()
        ts = [threading.Thread(target=edit, args=(g1, "UpstreamName")),
              threading.Thread(target=edit, args=(g2, "UpstreamHost"))]
        for t in ts:
            t.start()
        for t in ts:
            t.join(10)
        codes = sorted(out[f][0] for f in out)
        assert codes in ([200, 200], [200, 409]), out
        # The gateway whose call got 409 may not have applied the winner's
        # revision yet (only the writer reads its writes at once).
        deadline = time.time() + 5
        while status(g1)["applied_revision"] != status(g2)["applied_revision"]:
            assert time.time() < deadline
            time.sleep(0.01)
        final = g1.admin.get("/v1/upstreams/up-x")
        # Never a lost update: what was acknowledged is there.
        for f, (code, doc) in out.items():
            if code == 200:
                assert final[f] == "%s-%d" % (f, rnd), (f, final, out)
            else:
                assert doc["error"] == "conflict"
                assert final.get(f) != "%s-%d" % (f, rnd)
        if codes == [200, 409]:
            conflicts += 1
            if conflicts >= 2:
                break
    assert conflicts >= 1
    # If-Match: the Version a write expects.
    v = g2.admin.version()
    st, doc = g2.admin.call("PATCH", "/v1/upstreams/up-x", {"UpstreamName": "m"},
                            headers={"If-Match": str(v - 1)})
    assert st == 412 and doc["error"] == "precondition_failed"
    st, doc = g1.admin.call("PATCH", "/v1/upstreams/up-x", {"UpstreamName": "m"},
                            headers={"If-Match": '"%d"' % v})
    assert st == 200 and doc["ConfigVersion"] == v + 1
    st, _ = g2.admin.call("PATCH", "/v1/upstreams/up-x", {"UpstreamName": "n"},
                          headers={"If-Match": "1x"})
    assert st == 400


def test_etcd_killed_10s_under_load(make_gateway, make_backend, tmp_path):
    e = Etcd(1).start()
    try:
        gws = three_gateways(make_gateway, make_backend, e.endpoints)
        state = {"gen": 0}
        with Load(gws, state) as load:
            time.sleep(0.3)
            m = e.members[0]
            m.kill()
            killed = time.time()
            refused = 0
            while time.time() - killed < 10:
                st, doc = gws[refused % 3].admin.call("PATCH", "/v1/plugins/plugin-gen",
                                                      {"PluginData": policy(99)})
                assert st == 503 and doc["error"] == "store_unavailable", (st, doc)
                refused += 1
                time.sleep(0.5)
            stale = [status(g) for g in gws]
            assert all(s["stale_since"] and not s["connected"] for s in stale), stale
            e.restart(m)
            # Writes come back once the gateway reconnects; then everyone converges.
            deadline = time.time() + 10
            while True:
                st, doc = gws[1].admin.call("PATCH", "/v1/plugins/plugin-gen",
                                            {"PluginData": policy(1)})
                if st == 200:
                    break
                assert st == 503 and time.time() < deadline, (st, doc)
                time.sleep(0.1)
            state["gen"] = 1
            wait_backend(gws, 1, "green")
        print("\nfleet: etcd down 10 s: %d requests ok, %d failed; %d writes refused with 503"
              % (load.ok, len(load.bad), refused))
        assert load.bad == [], load.bad[:5]
        assert load.ok > 100
        deadline = time.time() + 5
        while any(status(g)["stale_since"] for g in gws):
            assert time.time() < deadline
            time.sleep(0.05)
        m = gws[0].admin.raw("GET", "/metrics")[2].decode()
        assert "switchyard_store_stale_seconds 0" in m
    finally:
        e.stop()


def test_start_while_etcd_down_from_cache_file(make_gateway, make_backend, tmp_path):
    e = Etcd(1).start()
    try:
        gws = three_gateways(make_gateway, make_backend, e.endpoints, cache_dir=str(tmp_path))
        gws[0].admin.patch("/v1/plugins/plugin-gen", {"PluginData": policy(5)})
        wait_backend(gws, 5, "green")
        g = gws[2]
        assert g.stop() == 0
        e.members[0].kill()
        g.start()
        # Serves the last applied configuration from its cache file.
        wait_backend([g], 5, "green", timeout=1)
        wait_backend([g], 4, "blue", timeout=1)
        assert status(g)["stale_since"]
        assert g.admin.call("DELETE", "/v1/plugins/plugin-gen")[0] == 503
        e.restart(e.members[0])
        # ... and catches up when etcd is back.
        deadline = time.time() + 10
        while gws[0].admin.call("PATCH", "/v1/plugins/plugin-gen",
                                {"PluginData": policy(6)})[0] != 200:
            assert time.time() < deadline
            time.sleep(0.1)
        wait_backend(gws, 6, "green")
        assert status(g)["stale_since"] is None
        # Without etcd and without a cache file a gateway does not start.
        e.members[0].kill()
        bad = fleet_gateway(make_gateway, e.endpoints, "/nothing", start=False)
        r = run_cli("-c", bad.config_path, timeout=20)
        assert r.returncode == 1 and "etcd" in r.stderr and "CacheFile" in r.stderr, r.stderr
    finally:
        e.stop()


class Cutter:
    """A TCP forwarder to etcd that can cut every connection and refuse new
    ones (a network partition for one gateway)."""

    def __init__(self, target_port):
        self.target = target_port
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        self.open = True
        self.socks = []
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            if not self.open:
                c.close()
                continue
            try:
                u = socket.create_connection(("127.0.0.1", self.target), timeout=2)
            except OSError:
                c.close()
                continue
            with self.lock:
                self.socks += [c, u]
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self.pump, args=(a, b), daemon=True).start()

    def pump(self, a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                b.sendall(d)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        self.open = False
        with self.lock:
            for s in self.socks:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.socks = []

    def restore(self):
        self.open = True

    def close(self):
        self.cut()
        self.ls.close()


def test_compaction_during_burst_lists_again(make_gateway, make_backend, etcd):
    blue, green = make_backend("blue"), make_backend("green")
    prefix = new_prefix()
    cutter = Cutter(etcd.members[0].client_port)
    try:
        g1 = fleet_gateway(make_gateway, etcd.endpoints, prefix)
        g2 = fleet_gateway(make_gateway, ["http://127.0.0.1:%d" % cutter.port], prefix)
        setup_routes(g1.admin, blue, green)
        wait_backend([g1, g2], 0, "green")
        cutter.cut()
        for gen in range(1, 21):                     # a burst g2 does not see
            g1.admin.patch("/v1/plugins/plugin-gen", {"PluginData": policy(gen)})
            if gen == 15:
                etcd.compact(etcd.revision())       # ... and compaction in the middle
        etcd.compact(etcd.revision())
        deadline = time.time() + 5
        while not status(g2)["stale_since"]:          # it noticed the cut
            assert time.time() < deadline
            time.sleep(0.02)
        before = status(g2)
        wait_backend([g2], 0, "green", timeout=1)     # still serving its last snapshot
        cutter.restore()
        g1.admin.patch("/v1/plugins/plugin-gen", {"PluginData": policy(21)})
        wait_backend([g2], 21, "green")
        after = status(g2)
        assert after["compactions"] >= 1 and after["relists"] > before["relists"], after
        assert after["applied_revision"] == status(g1)["applied_revision"]
        assert g2.admin.get("/v1/plugins/plugin-gen") == g1.admin.get("/v1/plugins/plugin-gen")
        for path in ("/v1/upstreams", "/v1/services", "/v1/plugins"):
            assert g2.admin.get(path) == g1.admin.get(path)
        assert g2.admin.version() == g1.admin.version()
    finally:
        cutter.close()


def test_three_member_cluster_leader_killed_under_load(make_gateway, make_backend):
    e = Etcd(3).start()
    try:
        gws = three_gateways(make_gateway, make_backend, e.endpoints)
        state = {"gen": 0}
        with Load(gws, state) as load:
            time.sleep(0.2)
            leader = e.leader()
            assert leader is not None
            leader.kill()
            killed = time.time()
            deadline = killed + 15
            n = 0
            while True:
                n += 1
                st, doc = gws[n % 3].admin.call("PATCH", "/v1/plugins/plugin-gen",
                                                {"PluginData": policy(1)})
                if st == 200:
                    break
                assert st == 503 and time.time() < deadline, (st, doc)
                time.sleep(0.05)
            resumed = time.time() - killed
            state["gen"] = 1
            wait_backend(gws, 1, "green")
        print("\nfleet: 3-member etcd, leader killed: writes resumed after %.2f s; load %d ok, "
              "%d bad" % (resumed, load.ok, len(load.bad)))
        assert load.bad == [], load.bad[:5]
        assert load.ok > 50
    finally:
        e.stop()


def test_store_export_import_round_trip_and_check(make_gateway, make_backend, etcd, tmp_path):
    gws = three_gateways(make_gateway, make_backend, etcd.endpoints)
    g = gws[0]
    r = run_cli("store", "export", "-c", g.config_path)
    assert r.returncode == 0, r.stderr
    exported = r.stdout
    assert "Gateway:" not in exported and "plugin-gen" in exported
    # Import into an empty prefix, export again: the same document.
    other = fleet_gateway(make_gateway, etcd.endpoints, new_prefix(), start=False)
    src = tmp_path / "fleet.yaml"
    src.write_text(exported)
    r = run_cli("store", "import", "-c", other.config_path, str(src))
    assert r.returncode == 0, r.stderr
    r2 = run_cli("store", "export", "-c", other.config_path)
    assert r2.returncode == 0 and r2.stdout == exported
    # Importing it again changes nothing but the version.
    r = run_cli("store", "import", "-c", other.config_path, str(src))
    assert r.returncode == 0 and "0 deleted" in r.stdout and "(1 keys written" in r.stdout, r.stdout
    # -t checks what is in etcd.
    r = run_cli("-t", "-c", other.config_path)
    assert r.returncode == 0 and "2 upstreams, 1 services, 1 plugins" in r.stdout, r.stdout
    # An invalid file is refused with its location and nothing is written.
    src.write_text(exported.replace('"up-green"\n', '"up-missing"\n', 1))
    before = etcd.get_prefix(other.prefix + "/")
    r = run_cli("store", "import", "-c", other.config_path, str(src))
    assert r.returncode == 1 and "nothing imported" in r.stderr
    assert etcd.get_prefix(other.prefix + "/") == before
    # The fleet started on the imported prefix routes as the original.
    other.start()
    wait_backend([other], 0, "green")
    wait_backend([other], 1, "blue")


def test_config_store_validation(make_gateway, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("Gateway:\n  ConfigStore:\n    Type: etcd\n    Endpoints: [\"127.0.0.1:2379\","
                   " \"http://h:1/x\"]\n    Prefix: /a/\n    DialTimeout: 0\n"
                   "    Username: u\n    CaFile: /x\n")
    r = run_cli("-t", "-c", str(bad))
    assert r.returncode == 1
    for want in ("Gateway.ConfigStore.Endpoints[0]: must start with http:// or https://",
                 "Gateway.ConfigStore.Endpoints[1]: must be scheme://host:port only",
                 "Gateway.ConfigStore.Prefix: must not end with /",
                 "Gateway.ConfigStore.DialTimeout:",
                 "Gateway.ConfigStore: Username and Password go together",
                 "Gateway.ConfigStore: CaFile/CertFile need https:// Endpoints"):
        assert want in r.stderr, (want, r.stderr)
    assert "bad.yaml:3:" in r.stderr
    bad.write_text("Gateway:\n  ConfigStore: {Type: file, Prefix: /x}\n")
    r = run_cli("-t", "-c", str(bad))
    assert r.returncode == 1 and "Gateway.ConfigStore.Prefix: only for Type: etcd" in r.stderr
    bad.write_text("Gateway:\n  ConfigStore: {Type: etcd, Endpoints: ['http://127.0.0.1:1']}\n"
                   "Upstreams:\n  - {UpstreamId: u, Nodes: [{Host: 127.0.0.1, Port: 1, Weight: 1}]}\n")
    r = run_cli("-c", str(bad))
    assert r.returncode == 1 and "live in etcd" in r.stderr


def test_doc_fleet_gateway_file_runs(make_gateway, make_backend, etcd, tmp_path):
    """The gateway file of doc/fleet.md, with this test's addresses."""
    doc = open(os.path.join(os.path.dirname(__file__), "..", "..", "doc", "fleet.md")).read()
    text = doc.split("## A gateway's file", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    aport = free_port()
    prefix = new_prefix()
    text = (text.replace('"0.0.0.0:8080"', '"$LISTEN"')
            .replace('"127.0.0.1:9180"', '"127.0.0.1:%d"' % aport)
            .replace("/var/lib/switchyard/cache.json", str(tmp_path / "cache.json"))
            .replace("Prefix: /switchyard", "Prefix: " + prefix))
    text = "\n".join('    Endpoints: ["%s"]' % etcd.endpoints[0] if "Endpoints:" in ln else ln
                     for ln in text.splitlines()) + "\n"
    g = make_gateway(text)
    a = Admin(aport, "change-me")
    st = a.get("/v1/status")["config_store"]
    assert st["prefix"] == prefix and st["connected"]
    a.post("/v1/services", {"ServiceId": "svc-doc", "Domains": [{"DomainName": HOST}]})
    assert os.path.exists(str(tmp_path / "cache.json"))
    assert any(k.endswith("/config/services/svc-doc") for k in etcd.get_prefix(prefix + "/"))
    a.close()
    g.stop()


def leaders(gws):
    out = {}
    for g in gws:
        if g.alive():
            out[g.name] = status(g)["leader"]
    return out


def test_lease_leader_dies_another_takes_over_within_ttl(make_gateway, etcd):
    """Exactly-once controllers: one leader per fleet; kill -9 it and another
    takes over within the lease TTL (plus the 100 ms poll)."""
    prefix = new_prefix()
    gws = [fleet_gateway(make_gateway, etcd.endpoints, prefix, LeaseTTL=2) for _ in range(3)]
    deadline = time.time() + 5
    while sum(v["is_leader"] for v in leaders(gws).values()) != 1:
        assert time.time() < deadline, leaders(gws)
        time.sleep(0.05)
    ls = leaders(gws)
    first = next(g for g in gws if ls[g.name]["is_leader"])
    # The others learn the holder at their next poll (100 ms): wait for it.
    while not all(v["holder"] == ls[first.name]["id"] and v["lease_ttl"] == 2
                  for v in leaders(gws).values()):
        assert time.time() < deadline + 2, leaders(gws)
        time.sleep(0.05)
    first.check_exit = False
    first.kill()
    killed = time.time()
    rest = [g for g in gws if g is not first]
    while True:
        now = leaders(rest)
        n = sum(v["is_leader"] for v in now.values())
        assert n <= 1, now                              # never two leaders
        if n == 1:
            break
        assert time.time() - killed < 2 + 1.0, now
        time.sleep(0.02)
    took = time.time() - killed
    print("\nfleet: leader killed, another took over after %.2f s (TTL 2 s)" % took)
    # A clean stop hands over at once (the lease is revoked).
    second = next(g for g in rest if leaders([g])[g.name]["is_leader"])
    assert second.stop() == 0
    stopped = time.time()
    last = next(g for g in rest if g is not second)
    while not leaders([last])[last.name]["is_leader"]:
        assert time.time() - stopped < 1.0
        time.sleep(0.02)


def test_hostile_values_in_etcd_keep_the_last_good_snapshot(make_gateway, make_backend, etcd):
    """What someone writes under the prefix by hand (etcdctl) is validated
    like a file: not JSON, a key that is no object, an object filed under
    another id, an invalid object, a huge value -- the gateways keep routing
    by the last good revision and say why in status."""
    gws = three_gateways(make_gateway, make_backend, etcd.endpoints)
    root = gws[0].prefix + "/config/"
    good = json.loads(etcd.get_prefix(root)[root + "upstreams/up-green"])
    applied = status(gws[1])["applied_revision"]
    etcd.put(root + "upstreams/up-junk", '{"UpstreamId": "up-junk", "Nodes": [')   # not JSON
    etcd.put(root + "rollouts/r1", "{}")                                        # not an object key
    etcd.put(root + "upstreams/up-alias", json.dumps(good))                    # filed under another id
    deadline = time.time() + 5
    while not (status(gws[1])["ignored_keys"] or "").startswith("3 keys ignored"):
        assert time.time() < deadline, status(gws[1])
        time.sleep(0.02)
    st = status(gws[1])
    assert "not JSON" in st["ignored_keys"] and st["apply_error"] is None
    wait_backend(gws, 0, "green")
    # An invalid object: the revision is refused, the last good one serves.
    bad = dict(good, Nodes=[{"Host": "127.0.0.1", "Port": 70000, "Weight": 100}])
    etcd.put(root + "upstreams/up-green", json.dumps(bad))
    deadline = time.time() + 5
    while not status(gws[2])["apply_error"]:
        assert time.time() < deadline
        time.sleep(0.02)
    st = status(gws[2])
    assert "Port" in st["apply_error"] and st["applied_revision"] > applied
    wait_backend(gws, 0, "green")
    # A huge value (8 MiB string) is refused the same way, no crash.
    etcd.put(root + "upstreams/up-green", json.dumps(dict(good, UpstreamName="x" * (8 << 20))))
    time.sleep(0.3)
    assert all(g.alive() for g in gws)
    # Writing it right again heals every gateway.
    etcd.put(root + "upstreams/up-green", json.dumps(good))
    for g in gws:
        deadline = time.time() + 5
        while status(g)["apply_error"]:
            assert time.time() < deadline
            time.sleep(0.02)
    wait_backend(gws, 0, "green")


def test_etcd_wiped_revision_goes_back_lists_again(make_gateway, make_backend, tmp_path):
    """etcd restored from an old backup or wiped: its revision goes back;
    the gateways notice on reconnect and take its state as the truth."""
    e = Etcd(1).start()
    try:
        gws = three_gateways(make_gateway, make_backend, e.endpoints)
        for gen in range(1, 6):
            gws[0].admin.patch("/v1/plugins/plugin-gen", {"PluginData": policy(gen)})
        wait_backend(gws, 5, "green")
        old = status(gws[1])["applied_revision"]
        export = run_cli("store", "export", "-c", gws[0].config_path).stdout
        m = e.members[0]
        m.kill()
        import shutil
        shutil.rmtree(m.datadir)
        m.start(e.initial)
        e.wait_ready()
        src = tmp_path / "restore.yaml"
        src.write_text(export.replace("header.X-Gen = '5'", "header.X-Gen = '42'"))
        r = run_cli("store", "import", "-c", gws[0].config_path, str(src))
        assert r.returncode == 0, r.stderr
        wait_backend(gws, 42, "green", timeout=10)
        wait_backend(gws, 5, "blue")
        st = [status(g) for g in gws]
        assert all(s["applied_revision"] < old for s in st), (old, st)
        assert all(s["relists"] >= 1 for s in st)
    finally:
        e.stop()


def test_restart_while_etcd_holds_an_invalid_config_uses_the_cache(make_gateway, make_backend,
                                                                   etcd, tmp_path):
    gws = three_gateways(make_gateway, make_backend, etcd.endpoints, cache_dir=str(tmp_path))
    root = gws[0].prefix + "/config/"
    good = etcd.get_prefix(root)[root + "upstreams/up-green"]
    g = gws[1]
    assert g.stop() == 0
    bad = dict(json.loads(good), Nodes=[{"Host": "127.0.0.1", "Port": 0, "Weight": 1}])
    etcd.put(root + "upstreams/up-green", json.dumps(bad))
    g.start()
    wait_backend([g], 0, "green", timeout=1)          # the cached configuration serves
    st = status(g)
    assert "refused" in st["apply_error"] and st["stale_since"] is None
    etcd.put(root + "upstreams/up-green", good)      # fixed in etcd: it follows
    deadline = time.time() + 5
    while status(g)["apply_error"]:
        assert time.time() < deadline
        time.sleep(0.02)
    assert status(g)["applied_revision"] == status(gws[0])["applied_revision"]


def test_one_revision_is_applied_as_one_snapshot(make_gateway, make_backend, etcd, tmp_path):
    """A transaction writing a plugin that routes to a new upstream and that
    upstream (keys plugins/... before upstreams/...: applied one event at a
    time, the plugin would name a missing upstream) is one revision: every
    gateway applies it whole, never refusing a half."""
    gws = three_gateways(make_gateway, make_backend, etcd.endpoints)
    purple = make_backend("purple")
    exported = run_cli("store", "export", "-c", gws[0].config_path).stdout
    ups, plugins = exported.split("\nPlugins:\n", 1)
    assert '  - UpstreamId: "up-blue"\n' in ups
    ups = ups.replace('  - UpstreamId: "up-blue"\n',
                      '  - UpstreamId: "up-purple"\n    Nodes:\n      - Host: "127.0.0.1"\n'
                      '        Port: %d\n        Weight: 100\n'
                      '  - UpstreamId: "up-blue"\n' % purple.port, 1)
    plugins = plugins.replace('"up-green"', '"up-purple"')
    src = tmp_path / "both.yaml"
    src.write_text(ups + "\nPlugins:\n" + plugins)
    since = [g.log_size() for g in gws]
    r = run_cli("store", "import", "-c", gws[0].config_path, str(src))
    assert r.returncode == 0 and "(3 keys written" in r.stdout, r.stdout + r.stderr
    wait_backend(gws, 0, "purple")
    for g, n in zip(gws, since):
        assert "not a valid configuration" not in g.stderr()[n:], g.stderr()[n:]
        assert status(g)["apply_error"] is None


def test_etcd_with_authentication(make_gateway, make_backend):
    """Username/Password: the gateway authenticates (and again when its
    token is refused); without them etcd refuses it and it does not start."""
    e = Etcd(1, extra=("--auth-token-ttl", "1")).start()
    try:
        m = e.members[0]
        m.post("/v3/auth/user/add", {"name": "root", "password": "rootpw"})
        m.post("/v3/auth/user/grant", {"user": "root", "role": "root"})
        m.post("/v3/auth/enable", {})
        prefix = new_prefix()
        g1 = fleet_gateway(make_gateway, e.endpoints, prefix, Username="root", Password="rootpw")
        g2 = fleet_gateway(make_gateway, e.endpoints, prefix, Username="root", Password="rootpw")
        g1.admin.post("/v1/services", {"ServiceId": "svc-auth", "Domains": [{"DomainName": HOST}]})
        deadline = time.time() + 5
        while g2.admin.call("GET", "/v1/services/svc-auth")[0] != 200:
            assert time.time() < deadline
            time.sleep(0.02)
        assert "rootpw" not in g1.admin.raw("GET", "/v1/config")[2].decode()
        time.sleep(2)                                   # the tokens expire (TTL 1 s)
        g1.admin.patch("/v1/services/svc-auth", {"ServiceDesc": "after expiry"})
        deadline = time.time() + 5
        while g2.admin.get("/v1/services/svc-auth").get("ServiceDesc") != "after expiry":
            assert time.time() < deadline
            time.sleep(0.02)
        nope = fleet_gateway(make_gateway, e.endpoints, prefix, start=False)
        r = run_cli("-t", "-c", nope.config_path)
        assert r.returncode == 1 and "etcd answered" in r.stderr, r.stderr
    finally:
        e.stop()
