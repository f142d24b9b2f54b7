"""Admin changes under load and across restarts and crashes.

  * 200 admin changes in a row (plugin edits, attach/detach, upstream node
    changes, API edits + publishes) while client threads send requests on
    keep-alive connections: zero failed or misrouted requests, and every
    change is visible to the very next request on every probe connection
    (Workers: 2, eight probe connections spread over both workers).
  * A restart comes back with exactly the last acknowledged state.
  * kill -9 during a stream of admin writes: the file is always complete
    (`switchyard -t` accepts it) and holds every acknowledged change.
"""
import http.client
import json
import os
import random
import threading
import time

from syharness.admin import Admin
from syharness.gateway import free_port, run_cli

TOKEN = "lifecycle-token-0123456789abcdef"
HOST = "load.test"


def upstream(uid, *backends):
    return {"UpstreamId": uid,
            "Nodes": [{"Host": "127.0.0.1", "Port": b.port, "Weight": 100} for b in backends]}


def policy(gen):
    return [{"strategy_name": "gen", "strategy_weight": 50,
             "condition": "header.X-Gen = '%d'" % gen, "backend_type": "UPSTREAM",
             "backend_config": {"ServiceConfig": {"Product": "upstream",
                                                  "UpstreamId": "up-green", "Path": "/"}}}]


def gateway_with_admin(make_gateway, ups, workers=2):
    aport = free_port()
    g = make_gateway({"Gateway": {"AdminListen": "127.0.0.1:%d" % aport, "AdminToken": TOKEN,
                                  "Workers": workers, "AccessLog": "off",
                                  "MaxKeepaliveRequests": 1000000000, "IdleTimeout": 120},
                      "Upstreams": ups})
    return g, Admin(aport, TOKEN)


class Probe:
    """A keep-alive connection to the data plane."""

    def __init__(self, port):
        self.port = port
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def get(self, path, headers=None):
        h = {"Host": HOST}
        h.update(headers or {})
        self.c.request("GET", path, headers=h)
        r = self.c.getresponse()
        body = r.read()
        return r.status, (json.loads(body) if r.status == 200 else body)

    def close(self):
        self.c.close()


def setup_shop(a):
    a.post("/v1/services", {"ServiceId": "svc-load", "Domains": [{"DomainName": HOST}]})
    a.post("/v1/services/svc-load/apis", {
        "ApiId": "api-l", "Path": "/l", "ServiceType": "HTTP", "ServiceTimeout": 5,
        "ServiceConfig": {"Product": "upstream", "UpstreamId": "up-blue", "Path": "/p0"}})
    a.post("/v1/services/svc-load/releases", {"EnvironmentName": "release", "ReleaseDesc": "v0"})
    a.post("/v1/plugins", {"PluginId": "plugin-load", "PluginType": "Routing",
                           "PluginData": policy(0)})
    a.post("/v1/plugins/plugin-load/attachments",
           {"ServiceId": "svc-load", "EnvironmentName": "release", "ApiIds": ["api-l"]})


def test_200_changes_under_load(make_gateway, make_backend):
    b1, b2, green = make_backend("b1"), make_backend("b2"), make_backend("green")
    g, a = gateway_with_admin(make_gateway, [upstream("up-blue", b1), upstream("up-green", green)])
    setup_shop(a)

    stop = threading.Event()
    stats = {"ok": 0, "fail": []}
    lock = threading.Lock()

    def load():
        p = Probe(g.port)
        n = 0
        try:
            while not stop.is_set():
                try:
                    st, doc = p.get("/release/l/x")
                    good = st == 200 and doc["backend"] in ("b1", "b2") and \
                        doc["path"].endswith("/x")
                except Exception as e:     # noqa: BLE001 - every failure counts
                    good, st, doc = False, None, repr(e)
                    p.close()
                    p = Probe(g.port)
                if good:
                    n += 1
                else:
                    with lock:
                        stats["fail"].append((st, doc))
        finally:
            p.close()
            with lock:
                stats["ok"] += n

    threads = [threading.Thread(target=load, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    probes = [Probe(g.port) for _ in range(8)]

    def expect_all(path, headers, check):
        for p in probes:
            st, doc = p.get(path, headers)
            assert st == 200 and check(doc), (path, headers, st, doc)

    gen, node, attached, rel_path = 0, "b1", True, "/p0"
    changes = 0
    t0 = time.time()
    try:
        for step in range(160):               # 40 rounds of 4 kinds = 200 changes
            kind = step % 4
            if kind == 0:                       # plugin edit
                gen += 1
                a.patch("/v1/plugins/plugin-load", {"PluginData": policy(gen)})
                changes += 1
                want = "green" if attached else node
                expect_all("/release/l", {"X-Gen": str(gen)}, lambda d: d["backend"] == want)
                expect_all("/release/l", {"X-Gen": str(gen - 1)}, lambda d: d["backend"] == node)
            elif kind == 1:                     # upstream node change
                node = "b2" if node == "b1" else "b1"
                a.patch("/v1/upstreams/up-blue",
                        {"Nodes": [{"Host": "127.0.0.1", "Port": (b2 if node == "b2" else b1).port,
                                    "Weight": 100}]})
                changes += 1
                expect_all("/release/l", {}, lambda d: d["backend"] == node)
            elif kind == 2:                     # detach / attach
                q = "ServiceId=svc-load&EnvironmentName=release"
                if attached:
                    a.delete("/v1/plugins/plugin-load/attachments?%s&ApiId=api-l" % q)
                else:
                    a.post("/v1/plugins/plugin-load/attachments",
                           {"ServiceId": "svc-load", "EnvironmentName": "release",
                            "ApiIds": ["api-l"]})
                attached = not attached
                changes += 1
                want = "green" if attached else node
                expect_all("/release/l", {"X-Gen": str(gen)}, lambda d: d["backend"] == want)
            else:                               # API edit (invisible), then publish
                new_path = "/p%d" % changes
                a.patch("/v1/services/svc-load/apis/api-l",
                        {"ServiceConfig": {"Path": new_path}})
                changes += 1
                expect_all("/release/l/y", {}, lambda d: d["path"] == rel_path + "/y")
                a.post("/v1/services/svc-load/releases", {"EnvironmentName": "release",
                                                          "ReleaseDesc": "to %s" % new_path})
                changes += 1
                rel_path = new_path
                expect_all("/release/l/y", {}, lambda d: d["path"] == rel_path + "/y")
    finally:
        elapsed = time.time() - t0
        stop.set()
        for t in threads:
            t.join(10)
        for p in probes:
            p.close()
    print("\nadmin changes: %d in %.2f s; background requests: %d ok, %d failed"
          % (changes, elapsed, stats["ok"], len(stats["fail"])))
    assert stats["fail"] == [], stats["fail"][:5]
    assert stats["ok"] > 200
    assert changes == 200
    assert a.version() >= 200


def test_restart_comes_back_with_last_acknowledged_state(make_gateway, make_backend):
    b1, green = make_backend("b1"), make_backend("green")
    g, a = gateway_with_admin(make_gateway, [upstream("up-blue", b1), upstream("up-green", green)],
                              workers=1)
    setup_shop(a)
    a.patch("/v1/plugins/plugin-load", {"PluginData": policy(7)})
    st, before = a.call("GET", "/v1/config")
    v = a.version()
    assert g.stop() == 0
    a.close()
    g.start()
    assert a.version() == v
    assert a.call("GET", "/v1/config")[1] == before
    p = Probe(g.port)
    try:
        assert p.get("/release/l", {"X-Gen": "7"})[1]["backend"] == "green"
        assert p.get("/release/l", {"X-Gen": "0"})[1]["backend"] == "b1"
    finally:
        p.close()
    # The token still guards the restarted admin API.
    assert a.call("GET", "/v1/status", token=False)[0] == 401


def test_kill9_during_admin_writes_loses_nothing(make_gateway, make_backend):
    b1 = make_backend("b1")
    g, a = gateway_with_admin(make_gateway, [upstream("up-blue", b1)], workers=1)
    acked = []
    rng = random.Random(7)
    for rnd in range(3):
        done = threading.Event()

        def writer():
            w = Admin(a.port, TOKEN, timeout=5)
            i = 0
            try:
                while True:
                    uid = "up-r%d-%d" % (rnd, i)
                    st, doc = w.call("POST", "/v1/upstreams",
                                     {"UpstreamId": uid, "Nodes": [
                                         {"Host": "127.0.0.1", "Port": b1.port, "Weight": 1}]})
                    if st != 201:
                        break
                    acked.append((uid, doc["ConfigVersion"]))
                    i += 1
            except Exception:                   # noqa: BLE001 - the kill ends it
                pass
            finally:
                w.close()
                done.set()

        t = threading.Thread(target=writer, daemon=True)
        t.start()
        time.sleep(0.2 + rng.random() * 0.4)
        g.kill()                                # SIGKILL mid-stream
        assert done.wait(10)
        # The file is complete and holds every acknowledged change.
        r = run_cli("-t", "-c", g.config_path)
        assert r.returncode == 0, r
        with open(g.config_path) as f:
            text = f.read()
        missing = [u for u, _ in acked if '"%s"' % u not in text]
        assert missing == [], missing
        g.close_files()
        g.start()
        a.close()
        have = {u["UpstreamId"] for u in a.get("/v1/upstreams?Limit=100&Offset=0")["Items"]}
        total = a.get("/v1/upstreams")["TotalCount"]
        assert total >= len(acked) + 1
        assert a.version() >= acked[-1][1]
        print("\nkill -9 round %d: %d changes acknowledged so far, all present after restart "
              "(version %d)" % (rnd, len(acked), a.version()))
        assert have  # listing works after the restart
    leftovers = [f for f in os.listdir(os.path.dirname(g.config_path)) if ".tmp-" in f]
    assert len(leftovers) <= 3, leftovers       # at most one stale temp file per kill
