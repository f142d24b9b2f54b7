"""Explain, test-routes and the admin API end to end: the CLI on a real
config file (text, JSON, exit codes), test-routes PASS/FAIL lines and tally,
and the admin listener (token, /metrics after real proxied requests,
/v1/explain, /v1/status, error shapes)."""
import http.client
import json
import re
import socket
import time

import pytest

from syharness.gateway import api, free_port, run_cli, service

TOKEN = "t0ken-for-tests"


def upstream(uid, b):
    return {"UpstreamId": uid, "UpstreamName": uid, "Algorithm": "ROUND-ROBIN",
            "Nodes": [{"Host": "127.0.0.1", "Port": b.port, "Weight": 100}]}


def policy(name, cond, uid, weight=50, path="/"):
    return {"strategy_name": name, "strategy_weight": weight, "condition": cond,
            "backend_type": "UPSTREAM",
            "backend_config": {"ServiceType": "HTTP", "ServiceConfig": {
                "Product": "upstream", "UpstreamId": uid, "Path": path, "Method": "ANY"}}}


def config(blue, green, admin_port=None, token=None):
    ups = {"Product": "upstream", "UpstreamId": "up-blue", "Path": "/orders", "Method": "ANY"}
    gw = {"AdminListen": "127.0.0.1:%d" % admin_port if admin_port else "off", "Workers": 2}
    if token:
        gw["AdminToken"] = token
    return {
        "Gateway": gw,
        "Upstreams": [upstream("up-blue", blue), upstream("up-green", green)],
        "Services": [service("shop", [api("api-orders", "/orders", config=ups, method="GET")])],
        "Plugins": [{"PluginId": "plugin-canary", "PluginName": "canary", "PluginType": "Routing",
                     "PluginData": [
                         policy("admin", "header.UserName = 'admin'", "up-green", path="/canary"),
                         policy("beta", "query.beta = 'yes'", "up-green", weight=10),
                     ],
                     "Attachments": [{"ServiceId": "shop", "EnvironmentName": "release",
                                      "ApiIds": ["api-orders"]}]}]}


# ---- CLI ----

@pytest.fixture
def cfg_file(make_gateway, make_backend):
    g = make_gateway(config(make_backend("blue"), make_backend("green")), start=False)
    return g.config_path


def test_explain_matching_request(cfg_file):
    r = run_cli("explain", "-c", cfg_file, "-H", "UserName: admin", "GET", "/release/orders/7?x=1")
    assert r.returncode == 0, r
    out = r.stdout
    assert "shop" in out and "release" in out and "api-orders" in out, out
    assert re.search(r"1\. admin\s+weight 50\s+MATCHED", out), out
    assert re.search(r"2\. beta .*skipped", out), out
    assert "upstream up-green (from policy 'admin')" in out, out
    assert "/canary/7" in out, out          # ServiceConfig.Path + the rest of the path
    assert "result:      routed" in out, out


def test_explain_non_matching_names_failed_comparison(cfg_file):
    r = run_cli("explain", "-c", cfg_file, "-H", "UserName: bob", "GET",
                "http://shop.example/release/orders")
    assert r.returncode == 0, r
    assert "header.UserName = 'admin' -> false" in r.stdout, r.stdout
    assert "'bob'" in r.stdout, r.stdout
    assert "query.beta = 'yes' -> false" in r.stdout, r.stdout
    assert "upstream up-blue (the API's default backend)" in r.stdout, r.stdout


def test_explain_json(cfg_file):
    r = run_cli("explain", "-c", cfg_file, "--json", "GET", "/release/orders?beta=yes")
    assert r.returncode == 0, r
    doc = json.loads(r.stdout)
    assert doc["policy"] == "beta"
    assert [p["result"] for p in doc["policies"]] == ["no_match", "matched"]
    assert doc["backend"]["upstream"] == "up-green"
    assert doc["backend"]["path"] == "/"
    assert doc["api"]["id"] == "api-orders"


def test_explain_exit_codes(cfg_file, tmp_path):
    r = run_cli("explain", "-c", cfg_file, "GET", "/release/nothing")
    assert r.returncode == 1, r
    assert "404" in r.stdout, r.stdout
    r = run_cli("explain", "-c", cfg_file, "DELETE", "/release/orders")
    assert r.returncode == 1, r
    assert "405" in r.stdout, r.stdout
    r = run_cli("explain", "-c", cfg_file, "GET")                     # URL missing
    assert r.returncode == 2, r
    r = run_cli("explain", "-c", cfg_file, "-H", "no colon", "GET", "/release/orders")
    assert r.returncode == 2, r
    bad = tmp_path / "bad.yaml"
    bad.write_text("Services:\n  - ServiceId: s\n    Apis: [{ApiId: a}]\n")
    r = run_cli("explain", "-c", str(bad), "GET", "/release/x")
    assert r.returncode == 2, r
    assert re.search(r"^%s:\d+:\d+: " % re.escape(str(bad)), r.stderr, re.M), r.stderr


CASES = """\
- name: admin to canary
  request: {method: GET, url: /release/orders/1, headers: {UserName: admin}}
  expect: {service: shop, env: release, api: api-orders, policy: admin, backend: up-green,
           backend_path: /canary/1}
- name: default backend
  request: {url: /release/orders}
  expect: {policy: null, backend: up-blue, backend_path: /orders}
- name: unknown path
  request: {url: /release/other}
  expect: {status: 404}
"""

FAILING = """\
- name: still fine
  request: {url: "/release/orders?beta=yes"}
  expect: {policy: beta}
- name: wrong policy
  request: {url: /release/orders, headers: {UserName: bob}}
  expect: {policy: admin, backend: up-green}
- name: wrong status
  request: {method: POST, url: /release/orders}
  expect: {status: 200}
"""


def test_routes_all_pass(cfg_file, tmp_path):
    p = tmp_path / "cases.yaml"
    p.write_text(CASES)
    r = run_cli("test-routes", "-c", cfg_file, str(p))
    assert r.returncode == 0, r
    lines = r.stdout.strip().splitlines()
    assert lines[:3] == ["PASS admin to canary", "PASS default backend", "PASS unknown path"], lines
    assert lines[-1] == "3 passed, 0 failed", lines


def test_routes_failures(cfg_file, tmp_path):
    p = tmp_path / "cases.yaml"
    p.write_text(FAILING)
    r = run_cli("test-routes", "-c", cfg_file, str(p))
    assert r.returncode == 1, r
    lines = r.stdout.strip().splitlines()
    assert lines[0] == "PASS still fine", lines
    assert lines[1].startswith("FAIL wrong policy: "), lines
    assert "policy: want 'admin', got null" in lines[1], lines
    assert "backend: want 'up-green', got 'up-blue'" in lines[1], lines
    assert lines[2].startswith("FAIL wrong status: status: want '200', got '405"), lines
    assert lines[-1] == "1 passed, 2 failed", lines


def test_routes_bad_case_file(cfg_file, tmp_path):
    p = tmp_path / "cases.yaml"
    p.write_text("- name: x\n  request: {headers: [1]}\n")
    r = run_cli("test-routes", "-c", cfg_file, str(p))
    assert r.returncode == 2, r
    assert re.search(r"cases\.yaml:\d+:\d+: cases\[0\]\.request", r.stderr), r.stderr


# ---- admin API ----

class Admin:
    def __init__(self, port, token=None):
        self.port = port
        self.token = token
        deadline = time.time() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.02)

    def call(self, method, path, body=None, token="default", headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        h = dict(headers or {})
        tok = self.token if token == "default" else token
        if tok:
            h["Authorization"] = "Bearer " + tok
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict(r.getheaders()), data

    def json(self, method, path, body=None, **kw):
        st, hdrs, data = self.call(method, path, body, **kw)
        assert hdrs.get("Content-Type", "").startswith("application/json"), hdrs
        return st, json.loads(data)


@pytest.fixture
def gw(make_gateway, make_backend):
    blue, green = make_backend("blue"), make_backend("green")
    port = free_port()
    g = make_gateway(config(blue, green, admin_port=port, token=TOKEN))
    g.admin = Admin(port, TOKEN)
    return g


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\d+(\.\d+)?)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def parse_metrics(text):
    """Prometheus text format 0.0.4 -> ({(name, frozenset(labels)): value}, types)."""
    samples, types = {}, {}
    for ln in text.splitlines():
        if not ln:
            continue
        if ln.startswith("# TYPE "):
            _, _, name, typ = ln.split(" ", 3)
            types[name] = typ
            continue
        if ln.startswith("# HELP "):
            continue
        assert not ln.startswith("#"), ln
        m = SAMPLE.match(ln)
        assert m, "unparseable sample line %r" % ln
        labels = {}
        if m.group(3):
            rest = m.group(3)
            for lm in LABEL.finditer(rest):
                labels[lm.group(1)] = lm.group(2)
            assert ",".join('%s="%s"' % kv for kv in labels.items()) == rest, ln
        fam = re.sub(r"_(bucket|sum|count)$", "", m.group(1))
        assert m.group(1) in types or types.get(fam) == "histogram", \
            "sample before its # TYPE: %r" % ln
        samples[(m.group(1), frozenset(labels.items()))] = float(m.group(4))
    return samples, types


def metric(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0)


def wait_metric(g, name, want, **labels):
    deadline = time.time() + 5
    while True:
        st, _, data = g.admin.call("GET", "/metrics")
        assert st == 200
        samples, types = parse_metrics(data.decode())
        got = metric(samples, name, **labels)
        if got == want or time.time() > deadline:
            return got, samples, types
        time.sleep(0.05)


def test_metrics_count_policy_matches(gw):
    for _ in range(3):
        assert gw.request("GET", "/release/orders", headers=[("UserName", "admin")]).status == 200
    for _ in range(2):
        assert gw.request("GET", "/release/orders?beta=yes").status == 200
    for _ in range(4):
        assert gw.request("GET", "/release/orders").status == 200
    assert gw.request("GET", "/release/nothing").status == 404

    got, s, types = wait_metric(gw, "switchyard_requests_total", 9, service="shop",
                                env="release", api="api-orders", code_class="2xx")
    assert got == 9
    assert metric(s, "switchyard_policy_matches_total", plugin="plugin-canary", policy="admin") == 3
    assert metric(s, "switchyard_policy_matches_total", plugin="plugin-canary", policy="beta") == 2
    assert metric(s, "switchyard_policy_requests_total", plugin="plugin-canary", policy="admin",
                  code_class="2xx") == 3
    assert metric(s, "switchyard_requests_total", service="shop", env="release", api="",
                  code_class="4xx") == 1
    assert types["switchyard_requests_total"] == "counter"
    assert types["switchyard_policy_matches_total"] == "counter"
    assert types["switchyard_config_generation"] == "gauge"
    assert metric(s, "switchyard_config_generation") >= 1
    assert metric(s, "switchyard_config_reloads_total") == 0


def test_metrics_survive_reload(gw, make_backend):
    gw.request("GET", "/release/orders", headers=[("UserName", "admin")])
    wait_metric(gw, "switchyard_policy_matches_total", 1, plugin="plugin-canary", policy="admin")
    gen0 = parse_metrics(gw.admin.call("GET", "/metrics")[2].decode())[0][
        ("switchyard_config_generation", frozenset())]
    assert gw.reload() == "ok"
    gw.request("GET", "/release/orders", headers=[("UserName", "admin")])
    got, s, _ = wait_metric(gw, "switchyard_policy_matches_total", 2, plugin="plugin-canary",
                            policy="admin")
    assert got == 2
    assert metric(s, "switchyard_config_reloads_total") == 1
    assert metric(s, "switchyard_config_generation") > gen0


def test_explain_endpoint(gw):
    st, doc = gw.admin.json("POST", "/v1/explain", {
        "method": "GET", "url": "/release/orders/5", "headers": {"UserName": "admin"}})
    assert st == 200, doc
    assert doc["routed"] is True and doc["status"] == 200
    assert doc["service"]["id"] == "shop" and doc["environment"] == "release"
    assert doc["api"] == {"id": "api-orders", "name": "api-orders", "path": "/orders",
                          "method": "GET"}
    assert doc["policy"] == "admin"
    assert doc["policies"][0]["result"] == "matched"
    assert doc["policies"][1]["result"] == "skipped"
    assert doc["backend"]["upstream"] == "up-green"
    assert doc["backend"]["path"] == "/canary/5"
    assert doc["node"]["port"] > 0
    assert "text" in doc and "MATCHED" in doc["text"]

    st, doc = gw.admin.json("POST", "/v1/explain", {"url": "/release/orders", "random": 0.5,
                                                    "client_ip": "192.0.2.9"})
    assert st == 200
    assert doc["policy"] is None
    assert doc["request"]["client_ip"] == "192.0.2.9"
    assert "header.UserName = 'admin' -> false" in doc["policies"][0]["detail"][0]

    st, doc = gw.admin.json("POST", "/v1/explain", {"url": "/release/none"})
    assert st == 200 and doc["status"] == 404 and doc["routed"] is False


def test_explain_bad_input(gw):
    st, doc = gw.admin.json("POST", "/v1/explain", "{not json")
    assert st == 400 and doc["error"] == "bad_json" and doc["message"], doc
    assert set(doc) == {"error", "message"}
    st, doc = gw.admin.json("POST", "/v1/explain", [1, 2])
    assert st == 400 and doc["error"] == "bad_request"
    st, doc = gw.admin.json("POST", "/v1/explain", {"method": "GET"})
    assert st == 400 and "url" in doc["message"]
    st, doc = gw.admin.json("POST", "/v1/explain", {"url": "/release/orders", "headers": "x"})
    assert st == 400 and "headers" in doc["message"]
    st, doc = gw.admin.json("POST", "/v1/explain", {"url": "/release/orders", "bogus": 1})
    assert st == 400 and "bogus" in doc["message"]
    st, doc = gw.admin.json("POST", "/v1/explain", {"url": "/x", "client_ip": "nope"})
    assert st == 400 and "client_ip" in doc["message"]


def test_token_required(gw):
    for path in ("/metrics", "/v1/status"):
        st, hdrs, data = gw.admin.call("GET", path, token=None)
        assert st == 401, (path, data)
        assert json.loads(data)["error"] == "unauthorized"
        assert "Bearer" in hdrs.get("WWW-Authenticate", "")
        st, _, data = gw.admin.call("GET", path, token="wrong")
        assert st == 403, (path, data)
        assert json.loads(data)["error"] == "forbidden"
        st, _, _ = gw.admin.call("GET", path)
        assert st == 200, path
    st, _, _ = gw.admin.call("POST", "/v1/explain", {"url": "/release/orders"}, token=None)
    assert st == 401


def test_status_and_errors(gw):
    st, doc = gw.admin.json("GET", "/v1/status")
    assert st == 200
    assert doc["workers"] == 2 and doc["config_generation"] >= 1
    assert re.match(r"\d+\.\d+", doc["version"]) and doc["uptime_seconds"] >= 0
    st, doc = gw.admin.json("GET", "/v1/nothing")
    assert st == 404 and doc["error"] == "not_found"
    st, hdrs, data = gw.admin.call("DELETE", "/metrics")
    assert st == 405 and json.loads(data)["error"] == "method_not_allowed"
    assert "GET" in hdrs.get("Allow", "")
    st, doc = gw.admin.json("GET", "/v1/explain")
    assert st == 405


def test_keepalive_and_large_body(gw):
    c = http.client.HTTPConnection("127.0.0.1", gw.admin.port, timeout=10)
    auth = {"Authorization": "Bearer " + TOKEN}
    for _ in range(3):
        c.request("GET", "/v1/status", headers=auth)
        r = c.getresponse()
        r.read()
        assert r.status == 200
    c.close()
    # Refused from the head alone: Content-Length above 1 MiB.
    s = socket.create_connection(("127.0.0.1", gw.admin.port), timeout=5)
    s.sendall(("POST /v1/explain HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer %s\r\n"
               "Content-Length: %d\r\n\r\n" % (TOKEN, 1024 * 1024 + 1)).encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 "), data
    assert json.loads(body)["error"] == "payload_too_large"
    # And a body actually sent in full is answered too (lingering close).
    st, hdrs, data = gw.admin.call("POST", "/v1/explain", b"x" * (1024 * 1024 + 1))
    assert st == 413, data


def test_no_token_configured(make_gateway, make_backend):
    port = free_port()
    g = make_gateway(config(make_backend("blue"), make_backend("green"), admin_port=port))
    a = Admin(port)
    st, _, data = a.call("GET", "/metrics")
    assert st == 200, data
    assert b"# TYPE switchyard_requests_total counter" in data
