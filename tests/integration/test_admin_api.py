"""The admin API's resources through the real binary: CRUD of upstreams,
services, APIs, plugins, attachments and releases with Tencent's field
names; Tencent's lifecycle rules (API edits need a publish, plugin edits and
attachments are immediate, an upstream in use cannot be deleted, deleting an
API detaches it, only released APIs can be attached); every error status
(400 with field paths, 401/403, 404, 405, 409, 413) changing nothing;
GET/PUT /v1/config; the seed's four steps end to end."""
import json
import re
import socket

import pytest

from syharness.admin import Admin
from syharness.gateway import free_port, mock_api, run_cli, service

TOKEN = "admin-token-for-tests-0123456789"


def upstream(uid, b, weight=100):
    return {"UpstreamId": uid, "UpstreamName": uid,
            "Nodes": [{"Host": "127.0.0.1", "Port": b.port, "Weight": weight}]}


def up_api(api_id, path, uid, service_path="/", method="ANY"):
    a = {"ApiId": api_id, "ApiName": api_id or "unnamed", "Path": path, "Method": method,
         "ServiceType": "HTTP", "ServiceTimeout": 5,
         "ServiceConfig": {"Product": "upstream", "UpstreamId": uid, "Path": service_path}}
    if api_id is None:
        del a["ApiId"]
    return a


def policy(name, cond, uid, weight=50, path="/"):
    return {"strategy_name": name, "strategy_weight": weight, "condition": cond,
            "backend_type": "UPSTREAM",
            "backend_config": {"ServiceType": "HTTP", "ServiceConfig": {
                "Product": "upstream", "UpstreamId": uid, "Path": path}}}


@pytest.fixture
def env(make_gateway, make_backend):
    """A gateway with an admin listener, two backends/upstreams and one
    file-written service (legacy, released to release)."""
    blue, green = make_backend("blue"), make_backend("green")
    aport = free_port()
    cfg = {"Gateway": {"AdminListen": "127.0.0.1:%d" % aport, "AdminToken": TOKEN, "Workers": 2},
           "Upstreams": [upstream("up-blue", blue), upstream("up-green", green)],
           "Services": [service("legacy", [up_api("api-legacy", "/legacy", "up-blue")],
                                domains=[{"DomainName": "legacy.test"}])]}
    g = make_gateway(cfg)
    a = Admin(aport, TOKEN)
    yield g, a, blue, green
    a.close()


def data(g, path, host="shop.test", headers=()):
    return g.request("GET", path, host=host, headers=headers)


def who(resp):
    assert resp.status == 200, resp
    return json.loads(resp.body.decode())["backend"]


# ---- access ----

def test_token_required(env):
    g, a, _, _ = env
    st, doc = a.call("GET", "/v1/upstreams", token=False)
    assert st == 401 and doc["error"] == "unauthorized"
    st, doc = a.call("POST", "/v1/upstreams", {"UpstreamId": "x"}, token="wrong")
    assert st == 403
    st, doc = a.call("DELETE", "/v1/upstreams/up-blue", token="wrong")
    assert st == 403
    assert len(a.get("/v1/upstreams")["Items"]) == 2


def test_data_plane_never_reaches_admin(env):
    g, a, _, _ = env
    for path in ("/v1/status", "/v1/config", "/v1/upstreams", "/metrics"):
        r = g.request("GET", path, host="127.0.0.1", headers=[("Authorization", "Bearer " + TOKEN)])
        assert r.status == 404, (path, r)


def test_non_loopback_admin_without_token_refused(make_gateway):
    g = make_gateway({"Gateway": {"AdminListen": "0.0.0.0:%d" % free_port()}}, start=False)
    r = run_cli("-t", "-c", g.config_path)
    assert r.returncode == 1 and "AdminToken" in r.stderr, r


def test_unknown_path_and_method(env):
    g, a, _, _ = env
    st, doc = a.call("GET", "/v1/nothing")
    assert st == 404
    st, hdrs, body = a.raw("PATCH", "/v1/upstreams", "{}")
    assert st == 405 and "POST" in hdrs["allow"]
    st, doc = a.call("GET", "/v1/upstreams/")
    assert st == 404


# ---- upstreams ----

def test_upstream_crud_and_paging(env):
    g, a, blue, green = env
    v0 = a.version()
    made = a.post("/v1/upstreams", {"UpstreamName": "extra",
                                    "Nodes": [{"Host": "127.0.0.1", "Port": blue.port, "Weight": 5}]})
    uid = made["UpstreamId"]
    assert re.fullmatch(r"upstream-[a-z0-9]{8}", uid), uid
    assert made["Algorithm"] == "ROUND-ROBIN" and made["Retries"] == 3   # defaults shown
    assert made["ConfigVersion"] == v0 + 1
    assert a.get("/v1/upstreams/" + uid)["UpstreamName"] == "extra"
    page = a.get("/v1/upstreams?Limit=2&Offset=1")
    assert page["TotalCount"] == 3 and len(page["Items"]) == 2
    assert page["Items"][1]["UpstreamId"] == uid
    assert a.get("/v1/upstreams")["TotalCount"] == 3
    st, doc = a.call("GET", "/v1/upstreams?Limit=101")
    assert st == 400
    # PUT replaces (Nodes gone), PATCH changes fields.
    put = a.put("/v1/upstreams/" + uid, {"UpstreamName": "replaced", "Retries": 1})
    assert put["UpstreamName"] == "replaced" and put["Nodes"] == []
    pat = a.patch("/v1/upstreams/" + uid, {"Retries": 7})
    assert pat["Retries"] == 7 and pat["UpstreamName"] == "replaced"
    assert a.delete("/v1/upstreams/" + uid)["Result"] is True
    st, _ = a.call("GET", "/v1/upstreams/" + uid)
    assert st == 404
    st, _ = a.call("DELETE", "/v1/upstreams/" + uid)
    assert st == 404
    assert a.version() == v0 + 4


def test_upstream_given_id_and_duplicate(env):
    g, a, blue, _ = env
    a.post("/v1/upstreams", {"UpstreamId": "up-mine", "Nodes": []})
    v = a.version()
    st, doc = a.call("POST", "/v1/upstreams", {"UpstreamId": "up-mine"})
    assert st == 409, doc
    st, doc = a.call("PUT", "/v1/upstreams/up-mine", {"UpstreamId": "other"})
    assert st == 400 and doc["errors"][0]["field"] == "UpstreamId"
    assert a.version() == v


def test_validation_errors_carry_field_paths_and_change_nothing(env):
    g, a, blue, _ = env
    before = a.call("GET", "/v1/config")[1]
    v = a.version()
    st, doc = a.call("POST", "/v1/upstreams", {
        "UpstreamName": "bad", "Algorithm": "RANDOM", "Colour": "red",
        "Nodes": [{"Host": "127.0.0.1", "Port": 70000, "Weight": 10}]})
    assert st == 400, doc
    fields = {e["field"]: e["reason"] for e in doc["errors"]}
    assert "Nodes[0].Port" in fields and "Colour" in fields and "Algorithm" in fields, doc
    st, doc = a.call("PATCH", "/v1/upstreams/up-blue", {"Nodes": [{"Host": "127.0.0.1"}]})
    assert st == 400
    assert {"Nodes[0].Port", "Nodes[0].Weight"} <= {e["field"] for e in doc["errors"]}, doc
    st, doc = a.call("POST", "/v1/upstreams", "{not json")
    assert st == 400 and doc["error"] == "bad_json"
    st, doc = a.call("POST", "/v1/upstreams", "[1, 2]")
    assert st == 400
    assert a.version() == v
    assert a.call("GET", "/v1/config")[1] == before
    assert who(data(g, "/release/legacy", host="legacy.test")) == "blue"


def test_oversized_body_413(env):
    g, a, _, _ = env
    v = a.version()
    big = {"UpstreamName": "x" * (1024 * 1024 + 10)}
    st, doc = a.call("POST", "/v1/upstreams", big)
    assert st == 413, doc
    a.close()
    assert a.version() == v


def test_upstream_in_use_cannot_be_deleted(env):
    g, a, blue, green = env
    a.post("/v1/plugins", {"PluginId": "plugin-p1", "PluginType": "Routing",
                           "PluginData": [policy("to-green", "header.X = '1'", "up-green")]})
    v = a.version()
    st, doc = a.call("DELETE", "/v1/upstreams/up-blue")
    assert st == 409, doc
    kinds = {(u["Kind"], u.get("ApiId") or u.get("strategy_name")) for u in doc["UsedBy"]}
    assert ("api", "api-legacy") in kinds, doc
    st, doc = a.call("DELETE", "/v1/upstreams/up-green")
    assert st == 409 and doc["UsedBy"] == [{"Kind": "policy", "PluginId": "plugin-p1",
                                            "strategy_name": "to-green"}], doc
    assert a.version() == v
    a.delete("/v1/plugins/plugin-p1")
    a.delete("/v1/upstreams/up-green")


# ---- services, APIs, releases ----

def new_service(a, sid="svc-shop", host="shop.test"):
    return a.post("/v1/services", {"ServiceId": sid, "ServiceName": "shop",
                                   "Domains": [{"DomainName": host}]})


def test_service_crud(env):
    g, a, _, _ = env
    s = a.post("/v1/services", {"ServiceName": "anon", "Domains": [{"DomainName": "anon.test"}]})
    sid = s["ServiceId"]
    assert re.fullmatch(r"service-[a-z0-9]{8}", sid) and s["Environments"] == []
    assert a.get("/v1/services")["TotalCount"] == 2
    assert a.patch("/v1/services/" + sid, {"ServiceDesc": "d"})["ServiceDesc"] == "d"
    got = a.get("/v1/services/" + sid)
    got["ServiceName"] = "renamed"
    assert a.put("/v1/services/" + sid, got)["ServiceName"] == "renamed"   # GET -> PUT round trip
    st, doc = a.call("POST", "/v1/services", {"ServiceId": "x", "Domains": [{"DomainName": "legacy.test"}]})
    assert st == 400 and "already claimed" in doc["message"], doc
    st, doc = a.call("DELETE", "/v1/services/legacy")
    assert st == 409, doc                       # published: unpublish first
    a.delete("/v1/services/" + sid)
    st, _ = a.call("GET", "/v1/services/" + sid)
    assert st == 404


def test_api_edits_take_effect_only_when_published(env):
    g, a, blue, green = env
    new_service(a)
    api = a.post("/v1/services/svc-shop/apis", up_api(None, "/orders", "up-blue", "/v1"))
    assert re.fullmatch(r"api-[a-z0-9]{8}", api["ApiId"]) and api["ServiceId"] == "svc-shop"
    aid = api["ApiId"]
    assert data(g, "/release/orders").status == 404            # not published anywhere
    rel = a.post("/v1/services/svc-shop/releases", {"EnvironmentName": "release",
                                                    "ReleaseDesc": "first"})
    v1 = rel["ReleaseVersion"]
    assert rel["ApiIds"] == [aid] and rel["Active"] is True
    r = data(g, "/release/orders/7")
    assert who(r) == "blue" and json.loads(r.body)["path"] == "/v1/7"
    assert data(g, "/test/orders").status == 404               # only released to release
    # Edit: the draft changes, the environment does not.
    a.patch("/v1/services/svc-shop/apis/" + aid,
            {"ServiceConfig": {"UpstreamId": "up-green", "Path": "/v2"}})
    assert a.get("/v1/services/svc-shop/apis/" + aid)["ServiceConfig"]["UpstreamId"] == "up-green"
    assert who(data(g, "/release/orders")) == "blue"
    rel2 = a.post("/v1/services/svc-shop/releases", {"EnvironmentName": "release",
                                                     "ReleaseDesc": "second"})
    r = data(g, "/release/orders/7")
    assert who(r) == "green" and json.loads(r.body)["path"] == "/v2/7"
    # Versions, rollback, unpublish.
    vers = a.get("/v1/services/svc-shop/releases?EnvironmentName=release")
    assert [i["ReleaseVersion"] for i in vers["Items"]] == [v1, rel2["ReleaseVersion"]]
    assert [i["Active"] for i in vers["Items"]] == [False, True]
    assert a.get("/v1/services/svc-shop/releases/release")["ReleaseVersion"] == rel2["ReleaseVersion"]
    a.put("/v1/services/svc-shop/releases/release", {"ReleaseVersion": v1})
    assert who(data(g, "/release/orders")) == "blue"
    st, doc = a.call("PUT", "/v1/services/svc-shop/releases/test", {"ReleaseVersion": v1})
    assert st == 404, doc                                       # v1 is a release-env version
    a.delete("/v1/services/svc-shop/releases/release")
    assert data(g, "/release/orders").status == 404
    st, doc = a.call("DELETE", "/v1/services/svc-shop/releases/release")
    assert st == 409, doc                                       # not published there
    st, doc = a.call("POST", "/v1/services/svc-shop/releases", {"EnvironmentName": "staging"})
    assert st == 400 and doc["errors"][0]["field"] == "EnvironmentName"


def test_file_written_service_keeps_serving_until_published(env):
    g, a, blue, green = env
    live = a.get("/v1/services/legacy/releases/release")
    assert live["ApiIds"] == ["api-legacy"] and live["Active"] is True
    st, _ = a.call("GET", "/v1/services/legacy/releases/test")
    assert st == 409
    a.patch("/v1/services/legacy/apis/api-legacy", {"ServiceConfig": {"UpstreamId": "up-green"}})
    assert who(data(g, "/release/legacy", host="legacy.test")) == "blue"
    rel = a.get("/v1/services/legacy/releases")
    assert rel["TotalCount"] == 1 and rel["Items"][0]["EnvironmentName"] == "release"
    a.post("/v1/services/legacy/releases", {"EnvironmentName": "release", "ReleaseDesc": "now"})
    assert who(data(g, "/release/legacy", host="legacy.test")) == "green"


def test_api_validation_paths(env):
    g, a, _, _ = env
    new_service(a)
    st, doc = a.call("POST", "/v1/services/svc-shop/apis",
                     {"Path": "orders", "Method": "FETCH", "ServiceType": "HTTP",
                      "ServiceConfig": {"Product": "upstream", "UpstreamId": "up-nope"}})
    assert st == 400
    fields = {e["field"] for e in doc["errors"]}
    assert {"Path", "Method", "ServiceConfig.UpstreamId"} <= fields, doc
    st, doc = a.call("POST", "/v1/services/svc-shop/apis", {"ApiId": "api-legacy", "Path": "/x",
                                                           "ServiceType": "MOCK",
                                                           "ServiceMockReturnMessage": "m"})
    assert st == 409, doc
    st, doc = a.call("POST", "/v1/services/nope/apis", {"Path": "/x"})
    assert st == 404


# ---- plugins and attachments ----

def test_plugin_crud_attach_detach(env):
    g, a, blue, green = env
    new_service(a)
    a.post("/v1/services/svc-shop/apis", up_api("api-o", "/orders", "up-blue"))
    a.post("/v1/services/svc-shop/apis", up_api("api-x", "/x", "up-blue"))
    p = a.post("/v1/plugins", {"PluginName": "canary", "PluginType": "Routing",
                               "Description": "to green",
                               "PluginData": json.dumps([policy("adm", "header.User = 'admin'",
                                                                "up-green")])})
    pid = p["PluginId"]
    assert re.fullmatch(r"plugin-[a-z0-9]{8}", pid) and p["Description"] == "to green"
    assert p["PluginData"][0]["strategy_name"] == "adm"
    att = {"ServiceId": "svc-shop", "EnvironmentName": "release", "ApiIds": ["api-o"]}
    st, doc = a.call("POST", "/v1/plugins/%s/attachments" % pid, att)
    assert st == 400 and doc["errors"][0]["field"] == "ApiIds[0]", doc   # not released
    a.post("/v1/services/svc-shop/releases", {"EnvironmentName": "release"})
    st, doc = a.call("POST", "/v1/plugins/%s/attachments" % pid, dict(att, EnvironmentName="test"))
    assert st == 400, doc                                                  # not released in test
    got = a.post("/v1/plugins/%s/attachments" % pid, att)
    assert got["AttachedApis"] == [{"PluginId": pid, "ServiceId": "svc-shop",
                                    "EnvironmentName": "release", "ApiId": "api-o"}]
    assert who(data(g, "/release/orders", headers=[("User", "admin")])) == "green"
    assert who(data(g, "/release/orders")) == "blue"
    st, doc = a.call("POST", "/v1/plugins/%s/attachments" % pid, att)
    assert st == 409 and "already attached" in doc["message"], doc
    # A second Routing plugin on the same API is refused.
    p2 = a.post("/v1/plugins", {"PluginType": "Routing", "PluginData": []})["PluginId"]
    st, doc = a.call("POST", "/v1/plugins/%s/attachments" % p2, att)
    assert st == 400 and "already has Routing plugin" in doc["message"], doc
    # Plugin edits apply at once, no publish.
    a.patch("/v1/plugins/" + pid, {"PluginData": [policy("adm", "header.User = 'root'", "up-green")]})
    assert who(data(g, "/release/orders", headers=[("User", "admin")])) == "blue"
    assert who(data(g, "/release/orders", headers=[("User", "root")])) == "green"
    st, doc = a.call("PUT", "/v1/plugins/" + pid, {"PluginType": "Routing", "PluginData": [],
                                                 "Attachments": []})
    assert st == 400 and doc["errors"][0]["field"] == "Attachments"
    listed = a.get("/v1/plugins/%s/attachments" % pid)
    assert listed["TotalCount"] == 1
    assert a.get("/v1/plugins/" + pid)["AttachedApiTotalCount"] == 1
    # Detach one API (query form).
    st, doc = a.call("DELETE", "/v1/plugins/%s/attachments?ServiceId=svc-shop&EnvironmentName="
                     "release&ApiId=api-x" % pid)
    assert st == 404, doc
    a.delete("/v1/plugins/%s/attachments?ServiceId=svc-shop&EnvironmentName=release&ApiId=api-o"
             % pid)
    assert who(data(g, "/release/orders", headers=[("User", "root")])) == "blue"
    assert a.get("/v1/plugins/%s/attachments" % pid)["TotalCount"] == 0
    a.delete("/v1/plugins/" + pid)
    st, _ = a.call("GET", "/v1/plugins/" + pid)
    assert st == 404


def test_plugin_condition_error_has_field_path(env):
    g, a, _, _ = env
    st, doc = a.call("POST", "/v1/plugins", {"PluginType": "Routing", "PluginData": [
        policy("ok", "header.A = '1'", "up-blue"), policy("bad", "header.A = ", "up-blue")]})
    assert st == 400, doc
    assert doc["errors"][0]["field"].startswith("PluginData[1].condition"), doc
    st, doc = a.call("POST", "/v1/plugins", {"PluginType": "IPControl", "PluginData": []})
    assert st == 400 and doc["errors"][0]["field"] == "PluginType"


def test_policy_add_one(env):
    """POST /v1/plugins/ID/policies appends one policy (no whole-plugin
    body): it routes at once, is stored, and a bad one changes nothing."""
    g, a, blue, green = env
    new_service(a)
    a.post("/v1/services/svc-shop/apis", up_api("api-o", "/orders", "up-blue"))
    a.post("/v1/services/svc-shop/releases", {"EnvironmentName": "release"})
    pid = a.post("/v1/plugins", {"PluginType": "Routing", "PluginData": [
        policy("t1", "header.T = '1'", "up-green")]})["PluginId"]
    a.post("/v1/plugins/%s/attachments" % pid,
           {"ServiceId": "svc-shop", "EnvironmentName": "release", "ApiIds": ["api-o"]})
    assert who(data(g, "/release/orders", headers=[("T", "2")])) == "blue"
    st, doc = a.call("POST", "/v1/plugins/%s/policies" % pid, policy("t2", "header.T = '2'", "up-green"))
    assert st == 201 and doc["PolicyCount"] == 2 and doc["strategy_name"] == "t2", doc
    assert who(data(g, "/release/orders", headers=[("T", "2")])) == "green"
    assert [p["strategy_name"] for p in a.get("/v1/plugins/" + pid)["PluginData"]] == ["t1", "t2"]
    version = doc["ConfigVersion"]
    # Refused, with the field path inside the policy, changing nothing.
    for bad, field in [(policy("t2", "header.T = '3'", "up-green"), "strategy_name"),
                       (policy("t3", "header.T = ", "up-green"), "condition"),
                       (policy("t4", "header.T = '4'", "up-nope"), "backend_config.ServiceConfig.UpstreamId"),
                       (dict(policy("t5", "header.T = '5'", "up-green"), extra=1), "extra")]:
        st, doc = a.call("POST", "/v1/plugins/%s/policies" % pid, bad)
        assert st == 400 and doc["errors"][0]["field"].startswith(field), doc
    assert a.version() == version
    with open(g.config_path) as f:
        stored = f.read()
    assert "t2" in stored and "t3" not in stored
    st, doc = a.call("POST", "/v1/plugins/plugin-nope/policies", policy("x", "header.T = '1'", "up-blue"))
    assert st == 404, doc
    st, doc = a.call("POST", "/v1/plugins/%s/policies" % pid, b"[1]")
    assert st == 400, doc
    st, doc = a.call("GET", "/v1/plugins/%s/policies" % pid)
    assert st == 405, doc


def test_unrelated_change_keeps_policies(env, make_backend):
    """An admin change that leaves a plugin's PluginData alone takes its
    policies over from the running configuration (no dump and parse of
    them): they keep routing, an upstream they name is looked up again in
    the new configuration (a new node is used at once), and no text a
    client sends can pass for the internal marker."""
    g, a, blue, green = env
    new_service(a)
    a.post("/v1/services/svc-shop/apis", up_api("api-o", "/orders", "up-blue"))
    a.post("/v1/services/svc-shop/releases", {"EnvironmentName": "release"})
    pols = [policy("t%d" % i, "header.T = '%d'" % i, "up-green" if i % 2 else "up-blue")
            for i in range(300)]
    pid = a.post("/v1/plugins", {"PluginType": "Routing", "PluginData": pols})["PluginId"]
    a.post("/v1/plugins/%s/attachments" % pid,
           {"ServiceId": "svc-shop", "EnvironmentName": "release", "ApiIds": ["api-o"]})
    assert who(data(g, "/release/orders", headers=[("T", "7")])) == "green"
    # The plugin itself, PluginData untouched.
    st, doc = a.call("PATCH", "/v1/plugins/" + pid, {"Description": "tenants"})
    assert st == 200 and len(doc["PluginData"]) == 300 and doc["Description"] == "tenants", doc
    assert who(data(g, "/release/orders", headers=[("T", "7")])) == "green"
    assert who(data(g, "/release/orders", headers=[("T", "8")])) == "blue"
    # The upstream the odd tenants use moves to another node.
    other = make_backend("other")
    st, doc = a.call("PUT", "/v1/upstreams/up-green", upstream("up-green", other))
    assert st == 200, doc
    assert who(data(g, "/release/orders", headers=[("T", "7")])) == "other"
    assert who(data(g, "/release/orders", headers=[("T", "8")])) == "blue"
    # Still in use by the kept policies: refused.
    st, doc = a.call("DELETE", "/v1/upstreams/up-green")
    assert st == 409, doc
    # Stored in full, and read back in full.
    with open(g.config_path) as f:
        stored = f.read()
    assert stored.count("strategy_name") == 300 and "kept policies" not in stored
    got = a.get("/v1/plugins/" + pid)["PluginData"]
    assert [p["strategy_name"] for p in got] == ["t%d" % i for i in range(300)]
    assert got[7]["condition"] == "header.T = '7'"
    # A client's PluginData string shaped like the marker is only JSON.
    for fake in ["(switchyard: kept policies of plugin 0, 0000000000000000)",
                 "(switchyard: kept policies of plugin 0, ffffffffffffffff)"]:
        st, doc = a.call("POST", "/v1/plugins", {"PluginType": "Routing", "PluginData": fake})
        assert st == 400 and doc["errors"][0]["field"].startswith("PluginData"), doc
    assert a.get("/v1/plugins")["TotalCount"] == 1


def test_deleting_api_removes_its_attachments(env):
    g, a, blue, green = env
    new_service(a)
    a.post("/v1/services/svc-shop/apis", up_api("api-o", "/orders", "up-blue"))
    a.post("/v1/services/svc-shop/releases", {"EnvironmentName": "release"})
    pid = a.post("/v1/plugins", {"PluginType": "Routing",
                                 "PluginData": [policy("all", "header.U = 'x'", "up-green")]})["PluginId"]
    a.post("/v1/plugins/%s/attachments" % pid,
           {"ServiceId": "svc-shop", "EnvironmentName": "release", "ApiIds": ["api-o"]})
    a.delete("/v1/services/svc-shop/apis/api-o")
    assert a.get("/v1/plugins/%s/attachments" % pid)["TotalCount"] == 0
    assert "api-o" not in a.call("GET", "/v1/config")[1].split("Plugins:")[-1]
    # Still live in release until the next publish, now without the plugin.
    assert who(data(g, "/release/orders", headers=[("U", "x")])) == "blue"
    a.post("/v1/services/svc-shop/releases", {"EnvironmentName": "release"})
    assert data(g, "/release/orders").status == 404


# ---- whole configuration ----

def test_config_get_put_round_trip(env, tmp_path):
    g, a, blue, green = env
    st, text = a.call("GET", "/v1/config")
    assert st == 200 and "AdminToken" not in text.replace("# AdminToken is set", "")
    f = tmp_path / "dumped.yaml"
    f.write_text(text)
    r = run_cli("-t", "-c", str(f))
    assert r.returncode == 0, r
    v = a.version()
    st, hdrs, body = a.raw("PUT", "/v1/config", text)
    assert st == 200 and json.loads(body)["Version"] == v + 1, body
    def unversioned(t):
        return "".join(l for l in t.splitlines(True) if not l.startswith("Version:"))
    assert unversioned(a.call("GET", "/v1/config")[1]) == unversioned(text)
    # The token survived (it is not in the dump).
    assert a.call("GET", "/v1/status", token=False)[0] == 401
    # A replacement that routes legacy.test to green.
    head, tail = text.split("Services:", 1)
    st, _, _ = a.raw("PUT", "/v1/config",
                     head + "Services:" + tail.replace('UpstreamId: "up-blue"', 'UpstreamId: "up-green"'))
    assert st == 200
    assert who(data(g, "/release/legacy", host="legacy.test")) == "green"
    # Invalid: 400 with the field path and the body's line, nothing changed.
    bad = text.replace("Retries: 3", "Retries: 1000", 1)
    st, hdrs, body = a.raw("PUT", "/v1/config", bad)
    doc = json.loads(body)
    assert st == 400 and doc["errors"][0]["field"] == "Upstreams[0].Retries", doc
    assert doc["errors"][0]["reason"].startswith("must be between") or "100" in doc["errors"][0]["reason"]
    assert a.version() == v + 2
    assert who(data(g, "/release/legacy", host="legacy.test")) == "green"


def test_version_in_status_metrics_and_file(env):
    g, a, _, _ = env
    v = a.version()
    a.post("/v1/upstreams", {"Nodes": []})
    assert a.version() == v + 1
    st, text = a.call("GET", "/metrics")
    assert "switchyard_config_version %d" % (v + 1) in text, text
    with open(g.config_path) as f:
        assert ("Version: %d\n" % (v + 1)) in f.read()
    # SIGHUP of the file keeps the version moving up.
    g.reload()
    assert a.version() == v + 2


# ---- the seed: create API, publish, create + attach plugin, send requests ----

def test_seed_four_steps(env):
    g, a, blue, green = env
    # 1. create the API (in a new service)
    new_service(a, "service-seed", "seed.test")
    a.post("/v1/services/service-seed/apis",
           {"ApiId": "api-orders", "ApiName": "orders", "Path": "/orders", "Method": "GET",
            "ServiceType": "HTTP", "ServiceTimeout": 15,
            "ServiceConfig": {"Product": "upstream", "UpstreamId": "up-blue", "Path": "/orders"}})
    # 2. publish to release
    a.post("/v1/services/service-seed/releases", {"EnvironmentName": "release",
                                                  "ReleaseDesc": "first release"})
    # 3. create a Routing plugin and attach it
    pid = a.post("/v1/plugins", {"PluginName": "admin_to_green", "PluginType": "Routing",
                                 "PluginData": [policy("admin", "header.UserName = 'admin'",
                                                       "up-green", 80, "/orders")]})["PluginId"]
    a.post("/v1/plugins/%s/attachments" % pid,
           {"ServiceId": "service-seed", "EnvironmentName": "release", "ApiIds": ["api-orders"]})
    # 4. requests are routed by header
    for _ in range(3):
        assert who(data(g, "/release/orders/1", host="seed.test",
                        headers=[("UserName", "admin")])) == "green"
        assert who(data(g, "/release/orders/1", host="seed.test",
                        headers=[("UserName", "bob")])) == "blue"


def test_if_match_on_every_write_with_the_file_store(env):
    """Optimistic concurrency without etcd: every kind of admin write takes
    If-Match: <Version> (or the entity-tag form "N"); a stale one is 412
    and changes nothing, a malformed one is 400, the current one goes
    through."""
    g, a, blue, green = env
    new_service(a)
    a.post("/v1/services/svc-shop/apis", up_api("api-o", "/orders", "up-blue"))
    pid = a.post("/v1/plugins", {"PluginId": "plugin-t", "PluginType": "Routing", "PluginData": [
        policy("t1", "header.T = '1'", "up-green")]})["PluginId"]
    writes = [
        ("POST", "/v1/upstreams", upstream("up-new", blue)),
        ("PUT", "/v1/upstreams/up-new", upstream("up-new", green)),
        ("PATCH", "/v1/upstreams/up-new", {"Retries": 1}),
        ("POST", "/v1/plugins/%s/policies" % pid, policy("t2", "header.T = '2'", "up-green")),
        ("PATCH", "/v1/plugins/" + pid, {"Description": "d"}),
        ("POST", "/v1/services/svc-shop/releases", {"EnvironmentName": "release"}),
        ("POST", "/v1/plugins/%s/attachments" % pid,
         {"ServiceId": "svc-shop", "EnvironmentName": "release", "ApiIds": ["api-o"]}),
        ("PATCH", "/v1/services/svc-shop/apis/api-o", {"ApiDesc": "x"}),
        ("DELETE", "/v1/upstreams/up-new", None),
    ]
    for method, path, body in writes:
        v = a.version()
        for bad in (str(v - 1), '"%d"' % (v + 5)):
            st, hdrs, data = a.raw(method, path, body, headers={"If-Match": bad})
            assert st == 412, (method, path, bad, st, data)
            assert json.loads(data)["error"] == "precondition_failed"
        st, hdrs, data = a.raw(method, path, body, headers={"If-Match": "latest"})
        assert st == 400, (method, path, st, data)
        assert a.version() == v, (method, path)
        st, hdrs, data = a.raw(method, path, body, headers={"If-Match": '"%d"' % v})
        assert st in (200, 201), (method, path, st, data)
        assert a.version() == v + 1, (method, path)
    # PUT /v1/config too.
    v = a.version()
    st, hdrs, text = a.raw("GET", "/v1/config")
    st, hdrs, data = a.raw("PUT", "/v1/config", text, headers={"If-Match": str(v - 1),
                                                                "Content-Type": "application/yaml"})
    assert st == 412, data
