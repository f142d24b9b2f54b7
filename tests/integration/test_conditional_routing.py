"""The Routing plugin through the real binary: Tencent's scenario, every
operator and function, weights and ties, fallback, the client-IP trust rule,
MOCK policies, Random() and hash() distributions, config errors."""
import collections
import json
import os
import re
import socket

import pytest

from syharness.gateway import REPO, api, run_cli, service

# (condition, [(request spec, expect policy match)]).  A request spec is a
# dict: headers (list of pairs), query (string), path suffix, method, host.
# "{I}" in a condition is replaced by the case's index (its API is /c{I}).
CASES = [
    ("header.UserName = 'admin'", [
        ({"headers": [("UserName", "admin")]}, True),
        ({"headers": [("username", "admin")]}, True),       # header names: HTTP, case-insensitive
        ({"headers": [("UserName", "Admin")]}, False),      # values: exact
        ({}, False)]),                                       # missing -> false
    ("header.id == 1001", [
        ({"headers": [("id", "1001")]}, True),
        ({"headers": [("id", "01001")]}, True),              # numeric comparison
        ({"headers": [("id", "1001x")]}, False),             # not a number -> false
        ({}, False)]),
    ("header.v != 'x'", [
        ({"headers": [("v", "y")]}, True),
        ({"headers": [("v", "x")]}, False),
        ({}, False)]),                                       # missing -> false, even for !=
    ("query.age < 30", [
        ({"query": "age=29"}, True), ({"query": "age=30"}, False),
        ({"query": "age=abc"}, False), ({}, False)]),
    ("query.age <= 30", [({"query": "age=30"}, True), ({"query": "age=31"}, False)]),
    ("query.level > 3", [({"query": "level=3.5"}, True), ({"query": "level=3"}, False)]),
    ("query.level >= 3", [({"query": "level=3"}, True), ({"query": "level=2.9"}, False)]),
    ("query.name > 'm'", [({"query": "name=n"}, True), ({"query": "name=a"}, False)]),  # bytewise
    ("query.need_verify = false", [
        ({"query": "need_verify=false"}, True), ({"query": "need_verify=FALSE"}, True),
        ({"query": "need_verify=true"}, False), ({"query": "need_verify=0"}, False)]),
    ("query.q = 'a b'", [({"query": "q=a%20b"}, True), ({"query": "q=a+b"}, True),
                         ({"query": "q=ab"}, False)]),
    ("query.age<30 and query.need_verify=false or query.level>3", [
        ({"query": "age=20&need_verify=false"}, True),
        ({"query": "age=20&need_verify=true"}, False),
        ({"query": "age=40&level=4"}, True),             # and binds tighter than or
        ({"query": "age=40&need_verify=false"}, False)]),
    ("regex(query.name, \"colou?r\")", [
        ({"query": "name=mycolor"}, True), ({"query": "name=colour"}, True),
        ({"query": "name=colr"}, False), ({}, False)]),
    ("exists(header.Accept)", [({"headers": [("Accept", "*/*")]}, True), ({}, False)]),
    ("not exists(header.X-Beta)", [({}, True), ({"headers": [("X-Beta", "1")]}, False)]),
    ("header.X-Tenant in ('t1', 't2')", [
        ({"headers": [("X-Tenant", "t2")]}, True), ({"headers": [("X-Tenant", "t3")]}, False)]),
    ("header.X-Tenant not in ('t1', 't2')", [
        ({"headers": [("X-Tenant", "t3")]}, True), ({"headers": [("X-Tenant", "t1")]}, False),
        ({}, False)]),
    ("sysparam.clientIp in_cidr ('127.0.0.0/8', '2001:db8::/32')", [({}, True)]),
    ("sysparam.clientIp in_cidr ('10.0.0.0/8')", [({}, False)]),
    ("prefix(path, \"/c{I}/v2/\")", [({"suffix": "/v2/x"}, True), ({"suffix": "/v1/x"}, False)]),
    ("suffix(header.Host, \".example.com\")", [
        ({"host": "a.example.com"}, True), ({"host": "example.org"}, False)]),
    ("contains(sysparam.clientUa, \"Mobile\")", [
        ({"headers": [("User-Agent", "Foo Mobile 1.0")]}, True),
        ({"headers": [("User-Agent", "Desktop")]}, False)]),
    ("cookie.group = 'beta'", [
        ({"headers": [("Cookie", "a=1; group=beta")]}, True),
        ({"headers": [("Cookie", "group=alpha")]}, False), ({}, False)]),
    ("sysparam.method = 'POST'", [({"method": "POST"}, True), ({"method": "GET"}, False)]),
    ("sysparam.host = 'h.test'", [({"host": "h.test"}, True), ({"host": "H.TEST:8080"}, True),
                                  ({"host": "x.test"}, False)]),
    ("sysparam.httpScheme = 'http'", [({}, True)]),
    ("sysparam.httpScheme = 'https'", [({}, False)]),
    ("path = '/c{I}/exact'", [({"suffix": "/exact"}, True), ({"suffix": "/exact/more"}, False)]),
    ("(header.a = '1' or header.b = '1') and not header.c = '1'", [
        ({"headers": [("b", "1")]}, True), ({"headers": [("a", "1"), ("c", "1")]}, False),
        ({}, False)]),
]


def routing_plugin(pid, policies, attachments):
    return {"PluginId": pid, "PluginName": pid.replace("-", "_"), "PluginType": "Routing",
            "PluginData": policies, "Attachments": attachments}


def http_policy(name, url, path, weight=0, cond="true = true"):
    return {"strategy_name": name, "strategy_weight": weight, "condition": cond,
            "backend_type": "HTTP",
            "backend_config": {"ServiceType": "HTTP",
                               "ServiceConfig": {"Url": url, "Path": path, "Method": "ANY"}}}


@pytest.fixture(scope="module")
def backends(make_module_gateway):
    from syharness.backend import Backend
    d, p = Backend("default"), Backend("policy")
    yield d, p
    d.close()
    p.close()


@pytest.fixture(scope="module")
def gw(make_module_gateway, backends):
    d, p = backends
    apis, plugins = [], []
    for i, (cond, _) in enumerate(CASES):
        apis.append(api("api-c%d" % i, "/c%d" % i, d, service_path="/D"))
        # {I} stands for the case's own API path index (`path` is the
        # environment-relative request path).
        pol = http_policy("p%d" % i, p.url, "/P", cond=cond.replace("{I}", str(i)))
        plugins.append(routing_plugin("plugin-c%d" % i, [pol],
                                      [{"ServiceId": "svc", "EnvironmentName": "release",
                                        "ApiIds": ["api-c%d" % i]}]))
    # Weight order and ties: three policies all true for X-Go: 1.
    apis.append(api("api-w", "/w", d, service_path="/D"))
    plugins.append(routing_plugin("plugin-w", [
        http_policy("low", p.url, "/low", weight=10, cond="header.X-Go = '1'"),
        http_policy("high-old", p.url, "/high-old", weight=80, cond="header.X-Go = '1'"),
        http_policy("high-new", p.url, "/high-new", weight=80, cond="header.X-Go = '1'"),
        http_policy("only-low", p.url, "/only-low", weight=10, cond="header.X-Low = '1'"),
    ], [{"ServiceId": "svc", "EnvironmentName": "release", "ApiIds": ["api-w"]}]))
    # MOCK policy with the status-code extension.
    apis.append(api("api-m", "/m", d, service_path="/D"))
    plugins.append(routing_plugin("plugin-m", [{
        "strategy_name": "maintenance", "strategy_weight": 1, "condition": "header.X-Mock = 'on'",
        "backend_type": "MOCK",
        "backend_config": {"ServiceType": "MOCK", "ServiceMockReturnMessage": '{"mock":true}',
                           "ServiceMockStatusCode": 503}}],
        [{"ServiceId": "svc", "EnvironmentName": "release", "ApiIds": ["api-m"]}]))
    # Random() and hash() splits.
    apis.append(api("api-r", "/r", d, service_path="/D"))
    plugins.append(routing_plugin("plugin-r", [http_policy("canary30", p.url, "/P", cond="Random() < 0.3")],
                                  [{"ServiceId": "svc", "EnvironmentName": "release", "ApiIds": ["api-r"]}]))
    apis.append(api("api-h", "/h", d, service_path="/D"))
    plugins.append(routing_plugin("plugin-h", [http_policy("sticky", p.url, "/P", cond="hash(header.X-User) < 0.2")],
                                  [{"ServiceId": "svc", "EnvironmentName": "release", "ApiIds": ["api-h"]}]))
    # Client IP rule: only 127.0.0.1 is a trusted proxy.
    apis.append(api("api-ip", "/ip", d, service_path="/D"))
    plugins.append(routing_plugin("plugin-ip", [
        http_policy("vip", p.url, "/P", cond="sysparam.clientIp = '203.0.113.7'")],
        [{"ServiceId": "svc", "EnvironmentName": "release", "ApiIds": ["api-ip"]}]))
    cfg = {"Gateway": {"Workers": 2, "TrustedProxies": ["127.0.0.1/32"], "MaxKeepaliveRequests": 5000},
           "Services": [service("svc", apis)], "Plugins": plugins}
    return make_module_gateway(cfg)


def routed(gw, i, spec):
    target = "/release/c%d%s" % (i, spec.get("suffix", ""))
    if spec.get("query"):
        target += "?" + spec["query"]
    r = gw.request(spec.get("method", "GET"), target, host=spec.get("host", "gw.test"),
                   headers=spec.get("headers", ()), body=b"x" if spec.get("method") == "POST" else None)
    assert r.status == 200, r
    return r.json()["backend"] == "policy"


@pytest.mark.parametrize("i", range(len(CASES)), ids=[c for c, _ in CASES])
def test_operator(gw, i):
    cond, reqs = CASES[i]
    for spec, want in reqs:
        assert routed(gw, i, spec) == want, "%s with %r: want %s" % (cond, spec, want)


def test_matched_request_carries_policy_header_and_rewrites(gw, backends):
    d, p = backends
    r = gw.request("GET", "/release/c0/deeper?x=1", headers=[("UserName", "admin")])
    assert r.status == 200 and r.json()["backend"] == "policy"
    req = p.last()
    assert req.header("X-Switchyard-Policy") == "p0"
    assert req.target == "/P/deeper?x=1"        # policy Path + rest of the request path
    r = gw.request("GET", "/release/c0/deeper", headers=[("UserName", "bob")])
    assert r.json()["backend"] == "default"
    assert d.last().header("X-Switchyard-Policy") is None
    assert d.last().target == "/D/deeper"


def test_access_log_names_policy(gw):
    gw.request("GET", "/release/c0", headers=[("UserName", "admin")])
    entries = gw.access_entries(n=1)
    assert any(e.get("policy") == "p0" and e.get("api") == "api-c0" for e in entries), entries


def test_weight_order_and_ties(gw, backends):
    d, p = backends
    r = gw.request("GET", "/release/w", headers=[("X-Go", "1")])
    assert r.json()["backend"] == "policy" and p.last().path == "/high-new"   # newer wins the tie
    r = gw.request("GET", "/release/w", headers=[("X-Low", "1")])
    assert p.last().path == "/only-low"
    r = gw.request("GET", "/release/w")
    assert r.json()["backend"] == "default"                                   # fallback


def test_mock_policy(gw, backends):
    d, p = backends
    before = len(d.requests) + len(p.requests)
    r = gw.request("GET", "/release/m", headers=[("X-Mock", "on")])
    assert r.status == 503 and json.loads(r.body) == {"mock": True}
    assert len(d.requests) + len(p.requests) == before
    assert gw.request("GET", "/release/m").json()["backend"] == "default"


def random_share(gw, n):
    hits = 0
    with gw.client() as c:
        for _ in range(n):
            c.send(b"GET /release/r HTTP/1.1\r\nHost: gw.test\r\n\r\n")
            r = c.read_response()
            hits += r.json()["backend"] == "policy"
    return hits / n


def test_random_split_within_3_points(gw):
    """Random() < 0.3 over 2,000 requests lands within +-3 points.  That is
    +-2.9 standard deviations, so a correct generator misses about 1 run in
    270; a second independent sample must then hit (1 in 70,000 overall),
    while a biased generator fails both."""
    shares = [random_share(gw, 2000)]
    if abs(shares[0] - 0.3) > 0.03:
        shares.append(random_share(gw, 2000))
    assert abs(shares[-1] - 0.3) <= 0.03, shares


def test_hash_is_sticky_per_user(gw):
    side = {}
    for round_ in range(3):
        for u in range(200):
            r = gw.request("GET", "/release/h", headers=[("X-User", "user-%d" % u)])
            got = r.json()["backend"]
            assert side.setdefault(u, got) == got, "user-%d flipped" % u
    share = sum(v == "policy" for v in side.values()) / len(side)
    assert 0.1 <= share <= 0.3, share
    # no X-User: hash of a missing parameter is false
    assert gw.request("GET", "/release/h").json()["backend"] == "default"


def raw_from(gw, src_ip, headers):
    s = socket.socket()
    s.bind((src_ip, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", gw.port))
    head = "GET /release/ip HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n"
    head += "".join("%s: %s\r\n" % h for h in headers) + "\r\n"
    s.sendall(head.encode())
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    s.close()
    body = data.split(b"\r\n\r\n", 1)[1]
    return json.loads(body)["backend"]


def test_client_ip_trust_rule(gw, backends):
    d, p = backends
    # Trusted peer (127.0.0.1): the XFF chain is walked from the right.
    assert raw_from(gw, "127.0.0.1", [("X-Forwarded-For", "203.0.113.7")]) == "policy"
    assert raw_from(gw, "127.0.0.1", [("X-Forwarded-For", "203.0.113.7, 127.0.0.1")]) == "policy"
    assert p.last().header("X-Real-IP") == "203.0.113.7"
    assert raw_from(gw, "127.0.0.1", [("X-Forwarded-For", "203.0.113.7, 198.51.100.9")]) == "default"
    assert d.last().header("X-Real-IP") == "198.51.100.9"
    # Several XFF lines are one list.
    assert raw_from(gw, "127.0.0.1", [("X-Forwarded-For", "203.0.113.7"),
                                      ("X-Forwarded-For", "127.0.0.1")]) == "policy"


def test_client_ip_spoofing_from_untrusted_peer(gw, backends):
    d, p = backends
    # 127.0.0.2 is not trusted: whatever it claims, the client is the peer.
    assert raw_from(gw, "127.0.0.2", [("X-Forwarded-For", "203.0.113.7")]) == "default"
    req = d.last()
    assert req.header("X-Real-IP") == "127.0.0.2"
    assert req.header("X-Forwarded-For") == "127.0.0.2"      # the forged chain is not passed on


def write(tmp_path, text):
    f = tmp_path / "c.yaml"
    f.write_text(text)
    return str(f)


BAD_EXPR = """\
Services:
  - ServiceId: svc
    Environments: [release]
    Apis:
      - {ApiId: a1, Path: /a, ServiceType: MOCK, ServiceMockReturnMessage: x}
Plugins:
  - PluginId: plugin-bad
    PluginType: Routing
    PluginData:
      - strategy_name: broken
        condition: "header.a = 'x' and regex(query.q, \\"(\\")"
        backend_type: MOCK
        backend_config: {ServiceMockReturnMessage: y}
      - strategy_name: broken2
        condition: "header.a = "
        backend_type: MOCK
        backend_config: {ServiceMockReturnMessage: y}
    Attachments: [{ServiceId: svc, EnvironmentName: release, ApiIds: [a1]}]
"""


def test_bad_expressions_rejected_with_column(tmp_path):
    f = write(tmp_path, BAD_EXPR)
    r = run_cli("-t", "-c", f)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    m = [l for l in lines if "broken'" in l and "regex" in l.lower() or "broken'" in l and "pattern" in l.lower()]
    assert m, r.stderr
    # file:line:col, the policy, and a column inside the condition string
    assert re.match(r"^%s:11:\d+: Plugins\[.*\]\.PluginData\[0\]\.condition: .*plugin-bad.*broken" % re.escape(f), m[0]), m[0]
    m2 = [l for l in lines if "broken2" in l]
    assert m2 and re.match(r"^%s:15:\d+: " % re.escape(f), m2[0]), r.stderr


def test_cloud_only_backends_refused(tmp_path):
    text = BAD_EXPR.replace('"header.a = \'x\' and regex(query.q, \\"(\\")"', "header.a = 'x'") \
                   .replace("backend_type: MOCK\n        backend_config: {ServiceMockReturnMessage: y}\n      - strategy_name: broken2",
                            "backend_type: SCF\n        backend_config: {ServiceType: SCF}\n      - strategy_name: broken2")
    r = run_cli("-t", "-c", write(tmp_path, text))
    assert r.returncode != 0 and "SCF" in r.stderr and "cloud-only" in r.stderr, r.stderr


def test_one_routing_plugin_per_api_and_env(tmp_path):
    text = """\
Services:
  - ServiceId: svc
    Environments: [release]
    Apis:
      - {ApiId: a1, Path: /a, ServiceType: MOCK, ServiceMockReturnMessage: x}
Plugins:
  - PluginId: plugin-1
    PluginType: Routing
    PluginData: [{strategy_name: s, condition: "header.a = '1'", backend_type: MOCK, backend_config: {ServiceMockReturnMessage: y}}]
    Attachments: [{ServiceId: svc, EnvironmentName: release, ApiIds: [a1]}]
  - PluginId: plugin-2
    PluginType: Routing
    PluginData: [{strategy_name: s, condition: "header.a = '2'", backend_type: MOCK, backend_config: {ServiceMockReturnMessage: y}}]
    Attachments: [{ServiceId: svc, EnvironmentName: release, ApiIds: [a1]}]
  - PluginId: plugin-3
    PluginType: Routing
    PluginData: [{strategy_name: s, condition: "header.a = '3'", backend_type: MOCK, backend_config: {ServiceMockReturnMessage: y}}]
    Attachments: [{ServiceId: svc, EnvironmentName: test, ApiIds: [a1]}]
"""
    r = run_cli("-t", "-c", write(tmp_path, text))
    assert r.returncode != 0
    assert "plugin-1" in r.stderr and "plugin-2" in r.stderr, r.stderr
    assert re.search(r"plugin-3.*|test", r.stderr), r.stderr   # not released in test


def test_shipped_tke_example_validates():
    r = run_cli("-t", "-c", os.path.join(REPO, "examples", "tke-conditional-routing.yaml"))
    assert r.returncode == 0, r.stderr


TKE = """\
Gateway: {Listen: ["127.0.0.1:${PORT}"], AdminListen: "off", Workers: 1, AccessLog: "${ACCESS_LOG}"}
Upstreams:
  - UpstreamId: upstream-blue
    Scheme: HTTP
    Algorithm: ROUND-ROBIN
    Nodes: [{Host: 127.0.0.1, Port: ${BLUE}, Weight: 100}]
  - UpstreamId: upstream-1ca1d6yi
    Scheme: HTTP
    Algorithm: ROUND-ROBIN
    Nodes: [{Host: 127.0.0.1, Port: ${TKE}, Weight: 100}]
Services:
  - ServiceId: service-shop
    Environments: [release]
    Apis:
      - ApiId: api-orders
        Path: /orders
        Method: ANY
        ServiceType: HTTP
        ServiceTimeout: 15
        ServiceConfig: {Product: upstream, UpstreamId: upstream-blue, Path: /orders, Method: ANY}
Plugins:
  - PluginId: plugin-admin
    PluginType: Routing
    PluginData:
      - strategy_name: admin-to-tke
        strategy_weight: 50
        condition: "header.UserName = 'admin'"
        backend_type: UPSTREAM
        backend_config: |
          ServiceType: HTTP
          ServiceConfig:
            Method: ANY
            Path: /
            Url: 'http://127.0.0.1/'
            UniqVpcId: vpc-s0g8gpo5
            UpstreamId: upstream-1ca1d6yi
            Product: upstream
    Attachments: [{ServiceId: service-shop, EnvironmentName: release, ApiIds: [api-orders]}]
"""


def test_tencent_tke_scenario_as_written(make_gateway, make_backend):
    blue, tke = make_backend("blue"), make_backend("tke")
    text = TKE.replace("${BLUE}", str(blue.port)).replace("${TKE}", str(tke.port))
    g = make_gateway(text)
    r = g.request("GET", "/release/orders/1", headers=[("UserName", "admin")])
    assert r.status == 200 and r.json()["backend"] == "tke"
    assert tke.last().target == "/1" and tke.last().header("X-Switchyard-Policy") == "admin-to-tke"
    r = g.request("GET", "/release/orders/1", headers=[("UserName", "guest")])
    assert r.json()["backend"] == "blue" and blue.last().target == "/orders/1"
    r = g.request("GET", "/release/orders/1")
    assert r.json()["backend"] == "blue"


def test_shipped_example_route_cases_pass():
    """The example's own route cases (examples/tke-routes.yaml) hold."""
    r = run_cli("test-routes", "-c", os.path.join(REPO, "examples", "tke-conditional-routing.yaml"),
                os.path.join(REPO, "examples", "tke-routes.yaml"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().splitlines()[-1] == "4 passed, 0 failed"


def test_tenant_plugin_with_100k_policies(make_gateway, make_backend):
    """Tencent caps a plugin at 10 policies; Switchyard indexes equality
    tests, so 100,000 tenant policies load and route (first match by weight
    still exact: a higher-weight catch-all for t000007 wins over its own
    tenant policy)."""
    odd, even = make_backend("odd"), make_backend("even")
    lines = ["Gateway: {Listen: [\"$LISTEN\"], AdminListen: \"off\", Workers: 2, AccessLog: \"$ACCESS_LOG\"}",
             "Services:",
             "  - ServiceId: s",
             "    Environments: [release]",
             "    Apis:",
             "      - {ApiId: a, Path: /, ServiceType: HTTP, ServiceConfig: {Url: \"%s\", Path: /default}}" % odd.url,
             "Plugins:",
             "  - PluginId: plugin-tenants",
             "    PluginType: Routing",
             "    Attachments: [{ServiceId: s, EnvironmentName: release, ApiIds: [a]}]",
             "    PluginData:",
             "      - {strategy_name: vip, strategy_weight: 90, condition: \"header.X-Tenant in ('t000007', 'vip')\","
             " backend_type: HTTP, backend_config: {ServiceType: HTTP, ServiceConfig: {Url: \"%s\", Path: /vip}}}" % even.url]
    for i in range(1, 100001):
        b = odd if i % 2 else even
        lines.append("      - {strategy_name: t%06d, condition: \"header.X-Tenant = 't%06d'\", backend_type: HTTP,"
                     " backend_config: {ServiceType: HTTP, ServiceConfig: {Url: \"%s\", Path: /t%06d}}}"
                     % (i, i, b.url, i))
    g = make_gateway("\n".join(lines) + "\n")
    for t, backend, path in [("t000001", "odd", "/t000001"), ("t000002", "even", "/t000002"),
                             ("t099999", "odd", "/t099999"), ("t100000", "even", "/t100000"),
                             ("t000007", "even", "/vip"), ("nobody", "odd", "/default")]:
        r = g.request("GET", "/release/", headers=[("X-Tenant", t)])
        assert r.status == 200 and r.json()["backend"] == backend, (t, r)
        assert (odd if backend == "odd" else even).last().path == path, t
