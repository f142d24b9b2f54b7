"""The Routing plugin end to end (the benchmark's scenario): a policy's
condition picks another backend; no match, unattached APIs and other
environments keep the API's own backend; weight orders the policies."""
import pytest

from syharness.gateway import api, service


def upstream(uid, b):
    return {"UpstreamId": uid, "UpstreamName": uid, "Scheme": "HTTP", "Algorithm": "ROUND-ROBIN",
            "Nodes": [{"Host": "127.0.0.1", "Port": b.port, "Weight": 100}]}


def policy(name, cond, uid, weight=50, path="/"):
    return {"strategy_name": name, "strategy_weight": weight, "condition": cond,
            "backend_type": "UPSTREAM",
            "backend_config": {"ServiceType": "HTTP", "ServiceConfig": {
                "Product": "upstream", "UpstreamId": uid, "Path": path, "Method": "ANY"}}}


@pytest.fixture
def gw(make_gateway, make_backend):
    blue, green, red = make_backend("blue"), make_backend("green"), make_backend("red")
    ups = {"Product": "upstream", "UpstreamId": "upstream-blue", "Path": "/", "Method": "ANY"}
    g = make_gateway({
        "Upstreams": [upstream("upstream-blue", blue), upstream("upstream-green", green),
                      upstream("upstream-red", red)],
        "Services": [service("svc", [api("api-root", "/", config=ups),
                                     api("api-other", "/other", config=ups)],
                             envs=["release", "test"])],
        "Plugins": [{"PluginId": "plugin-canary", "PluginName": "canary", "PluginType": "Routing",
                     "PluginData": [
                         policy("admin", "header.UserName = 'admin'", "upstream-green"),
                         policy("vip", "header.UserName = 'admin' or header.X-Vip = 'yes'",
                                "upstream-red", weight=10),
                         policy("newer-same-weight", "header.X-Tie = '1'", "upstream-red", weight=50),
                     ],
                     "Attachments": [{"ServiceId": "svc", "EnvironmentName": "release",
                                      "ApiIds": ["api-root"]}]}]})
    return g


def who(gw, target="/release/x", headers=()):
    r = gw.request("GET", target, headers=headers)
    assert r.status == 200, r
    return r.json()["backend"]


def test_condition_true_routes_to_policy_backend(gw):
    assert who(gw, headers=[("UserName", "admin")]) == "green"


def test_no_match_uses_api_backend(gw):
    assert who(gw) == "blue"
    assert who(gw, headers=[("UserName", "bob")]) == "blue"


def test_weight_orders_policies(gw):
    # "admin" (weight 50) outranks "vip" (weight 10) although both match.
    assert who(gw, headers=[("UserName", "admin"), ("X-Vip", "yes")]) == "green"
    assert who(gw, headers=[("X-Vip", "yes")]) == "red"


def test_later_policy_wins_equal_weight(gw):
    # weight 50 twice: the later in the list ("newer-same-weight") is tried first
    assert who(gw, headers=[("UserName", "admin"), ("X-Tie", "1")]) == "red"


def test_unattached_api_not_routed(gw):
    assert who(gw, "/release/other", headers=[("UserName", "admin")]) == "blue"


def test_other_environment_not_routed(gw):
    assert who(gw, "/test/x", headers=[("UserName", "admin")]) == "blue"


def test_policy_logged(gw):
    gw.request("GET", "/release/x", headers=[("UserName", "admin")])
    e = gw.access_entries(1)[-1]
    assert e.get("policy") == "admin", e
