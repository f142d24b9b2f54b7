"""TKE tunnels (issue 11): K8S upstreams whose nodes are a Kubernetes
service's pods, followed through the (fake, syharness/fakekube.py) API
server while a client sends requests back to back.

Pods are recording backends on their own loopback addresses (127.1.x.y),
all on one target port, as pods of one service are.  Every scenario counts
the client's failed requests; the figures are printed (pytest -s)."""
import json
import os
import re
import shutil
import signal
import threading
import time
import urllib.error
import urllib.request

import pytest

from syharness.backend import Backend
from syharness.fakekube import FakeKube
from syharness.gateway import Gateway, api, free_port, run_cli, service

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_ip = [0]


def next_ip():
    _ip[0] += 1
    return "127.1.%d.%d" % (1 + _ip[0] // 250, 1 + _ip[0] % 250)


class Cluster:
    """A fake API server and the pods (backends) of its services."""

    def __init__(self, tmp, cid="cls-a"):
        self.cid = cid
        self.kube = FakeKube(tmp / cid, name=cid, bookmark_interval=0.5)
        self.token_file = str(tmp / (cid + "-token"))
        with open(self.token_file, "w") as f:
            f.write(self.kube.token + "\n")
        self.port = free_port()
        self.pods = {}          # name -> dict(ip, b, svc, ns, labels, ready, serving, terminating)

    def entry(self, **kw):
        e = {"ClusterId": self.cid, "Server": self.kube.url, "TokenFile": self.token_file,
             "CaFile": self.kube.ca, "RequestTimeout": 2}
        e.update(kw)
        return e

    def service(self, name, ns="shop", port=80):
        self.kube.put_service(ns, name, [("http", port, self.port)])

    def add(self, svc, name, labels=None, ns="shop", ready=True, publish=True):
        ip = next_ip()
        labels = dict(labels or {"app": svc, "version": "v1"})
        self.pods[name] = dict(ip=ip, b=Backend(name, host=ip, port=self.port), svc=svc, ns=ns,
                               labels=labels, ready=ready, serving=ready, terminating=False)
        self.kube.put_pod(ns, name, ip, labels)
        if publish:
            self.publish(svc, ns)
        return self.pods[name]

    def set(self, name, publish=True, **cond):
        p = self.pods[name]
        p.update(cond)
        if "labels" in cond:
            self.kube.put_pod(p["ns"], name, p["ip"], p["labels"])
        if publish:
            self.publish(p["svc"], p["ns"])

    def remove(self, name):
        p = self.pods.pop(name)
        self.kube.delete("pods", p["ns"], name)
        self.publish(p["svc"], p["ns"])
        return p

    def publish(self, svc, ns="shop"):
        """The service's endpoints, split over two slices as the
        EndpointSlice controller does for larger services."""
        eps = [dict(ip=p["ip"], pod=n, ready=p["ready"], serving=p["serving"],
                    terminating=p["terminating"])
               for n, p in sorted(self.pods.items()) if p["svc"] == svc and p["ns"] == ns]
        self.kube.put_slice(ns, svc + "-aaaaa", svc, "http", self.port, eps[0::2])
        self.kube.put_slice(ns, svc + "-bbbbb", svc, "http", self.port, eps[1::2])

    def close(self):
        for p in self.pods.values():
            p["b"].close()
        self.kube.close()


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    yield c
    c.close()


def tunnel(uid, services, **kw):
    """services: [(cluster, ns, svc, weight, labels-dict-or-None)]."""
    out = {"UpstreamId": uid, "UpstreamName": uid, "UpstreamType": "K8S", "Scheme": "HTTP",
           "Algorithm": "ROUND-ROBIN", "K8sService": []}
    for c, ns, svc, w, labels in services:
        s = {"Weight": w, "ClusterId": c.cid, "Namespace": ns, "ServiceName": svc, "Port": 80}
        if labels:
            s["ExtraLabels"] = [{"Key": k, "Value": v} for k, v in labels.items()]
        out["K8sService"].append(s)
    out.update(kw)
    return out


def config(clusters, upstreams, admin, plugins=None, default=None):
    apis = [api("api-" + u["UpstreamId"], "/" + u["UpstreamId"], timeout=5,
                config={"Product": "upstream", "UpstreamId": u["UpstreamId"], "Path": "/",
                        "Method": "ANY"}) for u in upstreams]
    cfg = {"Gateway": {"AdminListen": "127.0.0.1:%d" % admin, "Workers": 2,
                       "KubernetesClusters": [c.entry() for c in clusters]},
           "Upstreams": upstreams, "Services": [service("svc-shop", apis)]}
    if plugins:
        cfg["Plugins"] = plugins
    return cfg


def admin_get(port, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=3) as r:
        return json.loads(r.read().decode()) if path != "/metrics" else r.read().decode()


def nodes(port, uid):
    return admin_get(port, "/v1/upstreams/%s/nodes" % uid)


def metric(port, name, **labels):
    text = admin_get(port, "/metrics")
    for line in text.splitlines():
        if line.startswith(name + "{") and all('%s="%s"' % kv in line for kv in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


class Load:
    """GETs back to back on fresh connections (two client threads); every
    answer that is not a 200 is a failure.  Keeps (time, backend) per
    answer."""

    def __init__(self, g, path, headers=(), threads=2):
        self.g, self.path, self.headers = g, path, headers
        self.log = []
        self.errors = []
        self.stop = False
        self.ts = [threading.Thread(target=self.run, daemon=True) for _ in range(threads)]
        for t in self.ts:
            t.start()

    def run(self):
        while not self.stop:
            try:
                r = self.g.request("GET", self.path, headers=self.headers, timeout=5)
                if r.status == 200:
                    self.log.append((time.time(), json.loads(r.body.decode())["backend"]))
                else:
                    self.errors.append((r.status, r.body[:200]))
            except Exception as e:  # noqa: BLE001 - any failure counts
                self.errors.append(repr(e))
            time.sleep(0.001)

    def since(self, t0):
        return [b for t, b in list(self.log) if t >= t0]

    def wait_for(self, backend, t0, timeout=3.0):
        end = time.time() + timeout
        while time.time() < end:
            for t, b in list(self.log):
                if t >= t0 and b == backend:
                    return t - t0
            time.sleep(0.005)
        return None

    def finish(self):
        self.stop = True
        for t in self.ts:
            t.join(10)
        return self.errors


def start(tmp_path, clusters, upstreams, plugins=None):
    admin = free_port()
    g = Gateway(str(tmp_path), config(clusters, upstreams, admin, plugins))
    g.start()
    g.admin = admin
    return g


def stop(g):
    assert g.stop() == 0, g.stderr()[-3000:]


# ---- the fake's own clients agree: see test_fakekube.py ----

def test_scale_up_and_down_under_load(tmp_path, cluster):
    cluster.service("web")
    for i in range(2):
        cluster.add("web", "web-%d" % i)
    g = start(tmp_path, [cluster], [tunnel("up-web", [(cluster, "shop", "web", 100, None)])])
    try:
        load = Load(g, "/release/up-web")
        time.sleep(0.3)
        # Scale up: the new pod takes traffic within a second of the event.
        lat = []
        for i in (2, 3):
            t0 = time.time()
            cluster.add("web", "web-%d" % i)
            d = load.wait_for("web-%d" % i, t0)
            assert d is not None and d < 1.0, "web-%d got no request within 1 s" % i
            lat.append(d)
        # Scale down the way Kubernetes does it: terminating first (not
        # ready), then gone; the pod's process stops last.
        cluster.set("web-0", ready=False, serving=True, terminating=True)
        time.sleep(0.3)
        t_term = time.time()
        time.sleep(0.5)
        assert "web-0" not in load.since(t_term), "a terminating pod got traffic while ready pods exist"
        gone = cluster.remove("web-0")
        time.sleep(0.3)
        gone["b"].close()
        t_closed = time.time()
        time.sleep(0.5)
        errors = load.finish()
        seen = set(load.since(t_closed))
        print("\nscale: event -> first request on the new pod: %s ms; %d requests, %d failed"
              % (", ".join("%.0f" % (x * 1000) for x in lat), len(load.log), len(errors)))
        assert errors == []
        assert seen == {"web-1", "web-2", "web-3"}
        doc = nodes(g.admin, "up-web")
        assert sorted(n["Host"] for n in doc["UpstreamNodeSet"]) == sorted(
            p["ip"] for p in cluster.pods.values())
        n0 = doc["UpstreamNodeSet"][0]
        assert n0["Source"] == "K8S" and n0["ServiceName"] == "web" and n0["NameSpace"] == "shop"
        assert n0["ClusterId"] == "cls-a" and n0["UniqueServiceName"] == "cls-a#shop#web"
        assert n0["Healthy"] == "HEALTHY" and n0["Port"] == cluster.port
    finally:
        stop(g)


def test_rolling_update_and_terminating_fallback(tmp_path, cluster):
    cluster.service("web")
    for i in range(2):
        cluster.add("web", "v1-%d" % i)
    g = start(tmp_path, [cluster], [tunnel("up-web", [(cluster, "shop", "web", 100, None)])])
    try:
        load = Load(g, "/release/up-web")
        time.sleep(0.2)
        # A rolling update, one pod at a time: the new pod starts unready,
        # becomes ready, the old one terminates, then disappears.
        for i in range(2):
            cluster.add("web", "v2-%d" % i, labels={"app": "web", "version": "v2"}, ready=False)
            time.sleep(0.15)
            cluster.set("v2-%d" % i, ready=True, serving=True)
            time.sleep(0.15)
            cluster.set("v1-%d" % i, ready=False, serving=True, terminating=True)
            time.sleep(0.3)
            old = cluster.remove("v1-%d" % i)
            time.sleep(0.2)
            old["b"].close()
        t0 = time.time()
        time.sleep(0.3)
        assert set(load.since(t0)) == {"v2-0", "v2-1"}
        # No ready pod left: serving + terminating pods still take traffic.
        for i in range(2):
            cluster.set("v2-%d" % i, publish=i == 1, ready=False, serving=True, terminating=True)
        time.sleep(0.3)
        t1 = time.time()
        time.sleep(0.3)
        assert set(load.since(t1)) == {"v2-0", "v2-1"}
        errors = load.finish()
        print("\nrollout: %d requests, %d failed" % (len(load.log), len(errors)))
        assert errors == []
        assert metric(g.admin, "switchyard_k8s_discovery_terminating_nodes", upstream="up-web") == 2
        # Not serving either: a real update with nothing to send to empties
        # the tunnel, and requests get the immediate 503 naming it.
        for i in range(2):
            cluster.set("v2-%d" % i, publish=i == 1, serving=False)
        deadline = time.time() + 2
        while time.time() < deadline and nodes(g.admin, "up-web")["TotalCount"]:
            time.sleep(0.02)
        t = time.time()
        r = g.request("GET", "/release/up-web")
        assert r.status == 503 and time.time() - t < 0.5
        assert "no usable node in upstream up-web" in r.body.decode()
    finally:
        stop(g)


def canary_config(cluster, admin, blue_labels):
    """The seed's scenario: api-orders goes to the stable pods; the Routing
    plugin sends UserName: admin to upstream-1ca1d6yi, the canary subset."""
    stable = tunnel("upstream-blue", [(cluster, "shop", "web", 100, blue_labels)])
    canary = tunnel("upstream-1ca1d6yi", [(cluster, "shop", "web", 100, {"version": "canary"})])
    apis = [api("api-orders", "/orders", timeout=5,
                config={"Product": "upstream", "UpstreamId": "upstream-blue", "Path": "/orders",
                        "Method": "ANY"})]
    plugin = {"PluginId": "plugin-admin-canary", "PluginName": "admin_canary",
              "PluginType": "Routing",
              "PluginData": [{"strategy_name": "admin-to-tke", "strategy_weight": 50,
                              "condition": "header.UserName = 'admin'", "backend_type": "UPSTREAM",
                              "backend_config": "ServiceType: HTTP\nServiceConfig:\n  Method: ANY\n"
                                                "  Path: /\n  Url: 'http://127.0.0.1/'\n"
                                                "  UpstreamId: upstream-1ca1d6yi\n"
                                                "  Product: upstream\n"}],
              "Attachments": [{"ServiceId": "svc-shop", "EnvironmentName": "release",
                               "ApiIds": ["api-orders"]}]}
    return {"Gateway": {"AdminListen": "127.0.0.1:%d" % admin, "Workers": 2,
                        "KubernetesClusters": [cluster.entry()]},
            "Upstreams": [stable, canary], "Services": [service("svc-shop", apis)],
            "Plugins": [plugin]}


def test_extra_labels_canary_subset_for_admin(tmp_path, cluster):
    cluster.service("web")
    cluster.add("web", "stable-0")
    cluster.add("web", "stable-1")
    cluster.add("web", "canary-0", labels={"app": "web", "version": "canary"})
    admin = free_port()
    g = Gateway(str(tmp_path), canary_config(cluster, admin, {"version": "v1"}))
    g.start()
    g.admin = admin
    try:
        users = Load(g, "/release/orders")
        admins = Load(g, "/release/orders", headers=[("UserName", "admin")])
        time.sleep(0.5)
        assert set(users.since(0)) == {"stable-0", "stable-1"}
        assert set(admins.since(0)) == {"canary-0"}
        # A pod relabelled canary joins the admin subset and leaves the
        # stable one: a MODIFIED pod event, no slice change.
        cluster.set("stable-1", publish=False, labels={"app": "web", "version": "canary"})
        time.sleep(0.4)
        t0 = time.time()
        time.sleep(0.4)
        e1, e2 = users.finish(), admins.finish()
        assert set(users.since(t0)) == {"stable-0"}
        assert set(admins.since(t0)) == {"canary-0", "stable-1"}
        assert e1 == [] and e2 == []
    finally:
        stop(g)


def test_two_services_split_80_20(tmp_path, cluster):
    cluster.service("web")
    cluster.service("next")
    for i in range(3):
        cluster.add("web", "web-%d" % i)
    cluster.add("next", "next-0", labels={"app": "next"})
    g = start(tmp_path, [cluster], [tunnel("up-split", [(cluster, "shop", "web", 80, None),
                                                        (cluster, "shop", "next", 20, None)])])
    try:
        counts = {}
        for _ in range(4):  # 500 per connection: under MaxKeepaliveRequests
            with g.client() as c:
                for _ in range(500):
                    c.send(b"GET /release/up-split HTTP/1.1\r\nHost: gw.test\r\n\r\n")
                    r = c.read_response("GET")
                    assert r.status == 200
                    b = json.loads(r.body.decode())["backend"]
                    counts[b] = counts.get(b, 0) + 1
        share = 100.0 * counts.get("next-0", 0) / 2000
        print("\n80/20 split: next %.1f%%, %r" % (share, counts))
        assert abs(share - 20) <= 3
        assert all(counts.get("web-%d" % i, 0) > 400 for i in range(3))
    finally:
        stop(g)


def test_two_clusters(tmp_path):
    a, b = Cluster(tmp_path, "cls-a"), Cluster(tmp_path, "cls-b")
    try:
        for c in (a, b):
            c.service("web")
            c.add("web", c.cid + "-pod")
        g = start(tmp_path, [a, b], [tunnel("up-two", [(a, "shop", "web", 50, None),
                                                       (b, "shop", "web", 50, None)])])
        try:
            seen = {}
            for _ in range(20):
                r = g.request("GET", "/release/up-two")
                assert r.status == 200
                who = json.loads(r.body.decode())["backend"]
                seen[who] = seen.get(who, 0) + 1
            # Per-worker round robin (2 workers): each near its half.
            assert set(seen) == {"cls-a-pod", "cls-b-pod"} and min(seen.values()) >= 7
            doc = nodes(g.admin, "up-two")
            assert sorted(n["ClusterId"] for n in doc["UpstreamNodeSet"]) == ["cls-a", "cls-b"]
            assert [d["State"] for d in doc["Discovery"]] == ["synced", "synced"]
        finally:
            stop(g)
    finally:
        a.close()
        b.close()


def test_api_server_restart_stall_410_and_garbage_keep_traffic(tmp_path, cluster):
    cluster.service("web")
    for i in range(2):
        cluster.add("web", "web-%d" % i)
    g = start(tmp_path, [cluster], [tunnel("up-web", [(cluster, "shop", "web", 100, None)])])
    kube = cluster.kube
    try:
        load = Load(g, "/release/up-web")
        time.sleep(0.2)
        # Down: the last good list stays, status and metrics say so.
        kube.stop()
        deadline = time.time() + 5
        while time.time() < deadline and not metric(g.admin, "switchyard_k8s_discovery_stale"):
            time.sleep(0.05)
        assert metric(g.admin, "switchyard_k8s_discovery_stale") == 1
        st = nodes(g.admin, "up-web")
        assert st["TotalCount"] == 2 and st["Discovery"][0]["State"].startswith("stale")
        assert st["Discovery"][0]["LastError"]
        time.sleep(0.3)
        kube.start()
        # Back: the watch resumes; a pod added now is seen.
        t0 = time.time()
        cluster.add("web", "web-2")
        assert load.wait_for("web-2", t0, timeout=5) is not None, "no traffic after the restart"
        # Stalled: nothing answers, traffic keeps flowing on the list.
        kube.stall(True)
        t1 = time.time()
        time.sleep(1.0)
        assert set(load.since(t1)) == {"web-0", "web-1", "web-2"}
        kube.stall(False)
        # 410: a compacted history and expired watches force a fresh list.
        relists = metric(g.admin, "switchyard_k8s_discovery_relists_total")
        kube.compact()
        deadline = time.time() + 5
        while time.time() < deadline and metric(g.admin, "switchyard_k8s_discovery_relists_total") == relists:
            kube.expire_watches()   # the watch may be reconnecting after the stall
            time.sleep(0.1)
        assert metric(g.admin, "switchyard_k8s_discovery_relists_total") > relists, g.stderr()[-3000:]
        # Garbage, wrong shapes, a 40 MB answer, 500s: all refused, the
        # last good list stays.
        for mode in ("json", "types", "huge", "status500"):
            kube.garbage(mode)
            kube.expire_watches()
            time.sleep(0.5)
            assert nodes(g.admin, "up-web")["TotalCount"] == 3, mode
        kube.garbage(None)
        t2 = time.time()
        time.sleep(0.3)
        errors = load.finish()
        assert set(load.since(t2)) == {"web-0", "web-1", "web-2"}
        print("\nAPI restart/stall/410/garbage: %d requests, %d failed" % (len(load.log), len(errors)))
        assert errors == []
    finally:
        stop(g)


def test_bad_token_bad_ca_unknown_cluster(tmp_path, cluster):
    cluster.service("web")
    cluster.add("web", "web-0")
    # Unknown ClusterId: refused with its place, the gateway does not start.
    bad = config([cluster], [tunnel("up-web", [(cluster, "shop", "web", 100, None)])], free_port())
    bad["Upstreams"][0]["K8sService"][0]["ClusterId"] = "cls-nope"
    g0 = Gateway(str(tmp_path), bad, name="g0")
    r = run_cli("-t", "-c", g0.config_path)
    assert r.returncode != 0
    assert re.search(r"g0\.yaml:\d+:\d+: Upstreams\[0\]\.K8sService\[0\]\.ClusterId: "
                     r"unknown ClusterId \"cls-nope\"", r.stderr + r.stdout), r.stderr
    g = start(tmp_path, [cluster], [tunnel("up-web", [(cluster, "shop", "web", 100, None)])])
    try:
        assert g.request("GET", "/release/up-web").status == 200
        # The same over the admin API: 400 with the field path.
        body = json.dumps(tunnel("up-x", [(cluster, "shop", "web", 100, None)]))
        body = body.replace('"cls-a"', '"cls-nope"')
        req = urllib.request.Request("http://127.0.0.1:%d/v1/upstreams" % g.admin,
                                     data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as ei:
            urllib.request.urlopen(req, timeout=3)
        assert ei.value.code == 400
        assert "K8sService[0].ClusterId" in ei.value.read().decode()
        # A rotated token the server does not accept: 401, clearly said;
        # nothing emptied.
        with open(cluster.token_file + ".new", "w") as f:
            f.write("not-the-token\n")
        os.rename(cluster.token_file + ".new", cluster.token_file)
        cluster.kube.drop()
        deadline = time.time() + 5
        err = None
        while time.time() < deadline:
            err = nodes(g.admin, "up-web")["Discovery"][0]["LastError"]
            if err and "401" in err:
                break
            time.sleep(0.05)
        assert err and "401" in err and "TokenFile" in err, err
        assert g.request("GET", "/release/up-web").status == 200
        # The server moves to the new token: discovery recovers by itself.
        cluster.kube.set_token("not-the-token")
        t0 = time.time()
        cluster.add("web", "web-1")
        deadline = time.time() + 8
        while time.time() < deadline and nodes(g.admin, "up-web")["TotalCount"] != 2:
            time.sleep(0.05)
        assert nodes(g.admin, "up-web")["TotalCount"] == 2, "token rotation not picked up"
        print("\ntoken rotation recovered in %.2f s" % (time.time() - t0))
        # A CA that did not sign the server: certificate error, list kept.
        other = FakeKube(tmp_path / "other", name="other")
        try:
            cfg = config([cluster], [tunnel("up-web", [(cluster, "shop", "web", 100, None)])], g.admin)
            cfg["Gateway"]["KubernetesClusters"][0]["CaFile"] = other.ca
            g.reload(cfg)
            deadline = time.time() + 5
            while time.time() < deadline:
                err = nodes(g.admin, "up-web")["Discovery"][0]["LastError"]
                if err and "certificate" in err.lower():
                    break
                time.sleep(0.05)
            assert err and "certificate" in err.lower(), err
            assert nodes(g.admin, "up-web")["TotalCount"] == 2
            assert {g.request("GET", "/release/up-web").status for _ in range(4)} == {200}
        finally:
            other.close()
    finally:
        stop(g)


def test_bad_token_at_start_is_a_clear_runtime_error(tmp_path, cluster):
    cluster.service("web")
    cluster.add("web", "web-0")
    cluster.kube.set_token("other")
    g = start(tmp_path, [cluster], [tunnel("up-web", [(cluster, "shop", "web", 100, None)])])
    try:
        r = g.request("GET", "/release/up-web")
        assert r.status == 503 and "up-web" in r.body.decode()
        d = nodes(g.admin, "up-web")["Discovery"][0]
        assert d["State"] == "failing (no list yet)" and "401" in d["LastError"]
        assert "k8s: cluster cls-a, shop/web: Service: HTTP 401" in g.stderr()
    finally:
        stop(g)


def test_first_requests_wait_for_the_first_list(tmp_path, cluster):
    """A slow API server at start: the listener opens only after the first
    list (bounded), so the first request is served, not a 503."""
    cluster.service("web")
    cluster.add("web", "web-0")
    cluster.kube.delay = 0.4
    t0 = time.time()
    g = start(tmp_path, [cluster], [tunnel("up-web", [(cluster, "shop", "web", 100, None)])])
    try:
        r = g.request("GET", "/release/up-web")
        assert r.status == 200, r.body
        assert time.time() - t0 > 0.8   # the three answers were slow
    finally:
        cluster.kube.delay = 0
        stop(g)


def test_explain_shows_the_pod(tmp_path, cluster):
    cluster.service("web")
    cluster.add("web", "web-0")
    g = start(tmp_path, [cluster], [tunnel("up-web", [(cluster, "shop", "web", 100, None)])])
    try:
        req = urllib.request.Request("http://127.0.0.1:%d/v1/explain" % g.admin, method="POST",
                                     data=json.dumps({"method": "GET",
                                                      "url": "/release/up-web"}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=3) as r:
            doc = json.loads(r.read().decode())
        assert doc["node"]["host"] == cluster.pods["web-0"]["ip"]
        assert doc["node"]["port"] == cluster.port
        assert doc["nodes"][0]["service"] == "web"
    finally:
        stop(g)


def test_shipped_tunnel_example(tmp_path, cluster):
    """examples/tke-tunnels.yaml as shipped, with its clusters pointed at
    the fake: stable pods for everyone, the canary subset for admin."""
    path = os.path.join(REPO, "examples", "tke-tunnels.yaml")
    text = open(path).read()
    r = run_cli("-t", "-c", path)
    # Here the example's token and CA files do not exist: said with their place.
    assert re.search(r"tke-tunnels.yaml:\d+:\d+: Gateway.KubernetesClusters\[0\].TokenFile: "
                     r"cannot read", r.stderr + r.stdout), r.stderr
    for svc in ("orders", "orders-next"):
        cluster.service(svc, ns="shop")
    cluster.add("orders", "orders-stable-0", labels={"app": "orders", "version": "stable"})
    cluster.add("orders", "orders-canary-0", labels={"app": "orders", "version": "canary"})
    cluster.add("orders-next", "orders-next-0", labels={"app": "orders-next"})
    admin = free_port()
    text = text.replace("127.0.0.1:8080", "$LISTEN")
    text = text.replace("127.0.0.1:9180", "127.0.0.1:%d" % admin)
    text = re.sub(r"ClusterId: cls-mvsb6cn3", "ClusterId: " + cluster.cid, text)
    text = re.sub(r"Server: \S+", "Server: " + cluster.kube.url, text)
    text = re.sub(r"TokenFile: \S+", "TokenFile: " + cluster.token_file, text)
    text = re.sub(r"CaFile: \S+", "CaFile: " + cluster.kube.ca, text)
    g = Gateway(str(tmp_path), text, name="example")
    g.start()
    try:
        seen = {}
        for _ in range(50):
            r = g.request("GET", "/release/orders")
            assert r.status == 200
            who = json.loads(r.body.decode())["backend"]
            seen[who] = seen.get(who, 0) + 1
        assert seen == {"orders-stable-0": 40, "orders-next-0": 10}
        for _ in range(5):
            r = g.request("GET", "/release/orders", headers=[("UserName", "admin")])
            assert json.loads(r.body.decode())["backend"] == "orders-canary-0"
    finally:
        stop(g)


def thread_cpu_s(pid, name):
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            if open("/proc/%d/task/%s/comm" % (pid, tid)).read().strip() == name:
                f = open("/proc/%d/task/%s/stat" % (pid, tid)).read().rsplit(")", 1)[1].split()
                return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    raise AssertionError("no thread named %s" % name)


def test_discovery_thread_sleeps_between_events(tmp_path, cluster):
    """With watches open and nothing changing, the discovery thread waits
    in poll: well under a tenth of a core (a busy loop takes all of one)."""
    cluster.service("web")
    cluster.add("web", "web-0")
    g = start(tmp_path, [cluster], [tunnel("up-web", [(cluster, "shop", "web", 100, None)])])
    try:
        time.sleep(0.3)
        c0, t0 = thread_cpu_s(g.pid, "sy-k8s"), time.time()
        time.sleep(1.5)
        used = (thread_cpu_s(g.pid, "sy-k8s") - c0) / (time.time() - t0)
        print("\nidle discovery thread: %.1f%% of a core" % (used * 100))
        assert used < 0.1
    finally:
        stop(g)


def test_paged_lists_and_events_split_at_every_byte(tmp_path, cluster):
    """PageSize 1: the three slices of a service arrive in three pages
    joined by continue tokens.  Then every watch event comes one byte per
    chunk: the pod it adds still gets traffic."""
    cluster.service("web")
    for i in range(5):
        cluster.add("web", "web-%d" % i, publish=False)
    eps = [dict(ip=p["ip"], pod=n) for n, p in sorted(cluster.pods.items())]
    for k in range(3):
        cluster.kube.put_slice("shop", "web-%d" % k, "web", "http", cluster.port, eps[k::3])
    admin = free_port()
    cfg = config([cluster], [tunnel("up-web", [(cluster, "shop", "web", 100, None)])], admin)
    cfg["Gateway"]["KubernetesClusters"][0]["PageSize"] = 1
    g = Gateway(str(tmp_path), cfg)
    g.start()
    g.admin = admin
    try:
        assert nodes(g.admin, "up-web")["TotalCount"] == 5
        pages = [r for r in cluster.kube.requests if "endpointslices" in r and "watch" not in r]
        assert len(pages) == 3 and "limit=1" in pages[0]
        assert "continue=" not in pages[0] and all("continue=" in r for r in pages[1:])
        cluster.kube.split_events = True
        cluster.kube.expire_watches()       # the next watch streams split
        time.sleep(0.5)
        ip = next_ip()
        b = Backend("web-9", host=ip, port=cluster.port)
        try:
            eps.append(dict(ip=ip, pod="web-9"))
            cluster.kube.put_slice("shop", "web-0", "web", "http", cluster.port, eps[0::3] + [eps[-1]])
            deadline = time.time() + 5
            while time.time() < deadline and nodes(g.admin, "up-web")["TotalCount"] != 6:
                time.sleep(0.05)
            assert nodes(g.admin, "up-web")["TotalCount"] == 6
            seen = {json.loads(g.request("GET", "/release/up-web").body.decode())["backend"]
                    for _ in range(12)}
            assert "web-9" in seen
            assert nodes(g.admin, "up-web")["Discovery"][0]["Errors"] == 0
        finally:
            b.close()
    finally:
        cluster.kube.split_events = False
        stop(g)
