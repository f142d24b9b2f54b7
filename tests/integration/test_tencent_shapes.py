"""Tencent's request shapes on the admin API.  The bodies are written from
Tencent Cloud API Gateway's API reference (version 2018-08-08: CreateApi,
CreateService, CreateUpstream, CreatePlugin, with the common parameters
Action/Version/Region): accepted and mapped onto our model (RequestConfig ->
Path/Method, K8sServices -> K8sService...), the no-op values accepted, and
every feature we do not implement refused with a 400 naming the field and
the reason, never dropped in silence (what is dropped is listed in the
reply's TencentIgnored)."""
import json

import pytest

from syharness.admin import Admin
from syharness.gateway import free_port

TOKEN = "tencent-shapes-token-0123456789"


@pytest.fixture
def env(make_gateway, make_backend):
    blue, green = make_backend("blue"), make_backend("green")
    aport = free_port()
    g = make_gateway({"Gateway": {"AdminListen": "127.0.0.1:%d" % aport, "AdminToken": TOKEN}})
    a = Admin(aport, TOKEN)
    yield g, a, blue, green
    a.close()


def create_upstream(backend, uid):
    """CreateUpstream as Tencent's reference writes it."""
    return {"Action": "CreateUpstream", "Version": "2018-08-08", "Region": "ap-guangzhou",
            "UpstreamId": uid, "UpstreamName": "pool_" + backend.name,
            "UpstreamDescription": "pool of " + backend.name,
            "Scheme": "HTTP", "Algorithm": "ROUND_ROBIN", "UniqVpcId": "vpc-abc12345",
            "Retries": 3, "UpstreamType": "IP_PORT",
            "Nodes": [{"Host": "127.0.0.1", "Port": backend.port, "Weight": 100,
                       "VmInstanceId": "", "Tags": []}],
            "HealthChecker": {"EnableActiveCheck": False, "EnablePassiveCheck": True,
                              "HealthyHttpStatus": "200", "UnhealthyHttpStatus": "500",
                              "TcpFailureThreshold": 5, "TimeoutThreshold": 5,
                              "HttpFailureThreshold": 3, "UnhealthyTimeout": 30},
            "Tags": [{"Key": "team", "Value": "shop"}]}


CREATE_SERVICE = {"Action": "CreateService", "Version": "2018-08-08", "Region": "ap-guangzhou",
                  "ServiceId": "service-shop0001", "ServiceName": "shop",
                  "Protocol": "http&https", "ServiceDesc": "orders",
                  "NetTypes": ["OUTER"], "IpVersion": "IPv4", "Tags": []}


def create_api(**over):
    """CreateApi as Tencent's reference writes it: the frontend in
    RequestConfig, Protocol, AuthType, EnableCORS..."""
    body = {"Action": "CreateApi", "Version": "2018-08-08", "Region": "ap-guangzhou",
            "ServiceId": "service-shop0001", "ApiId": "api-orders01", "ApiName": "orders",
            "ApiDesc": "orders", "ApiType": "NORMAL", "Protocol": "HTTP",
            "RequestConfig": {"Path": "/orders", "Method": "GET"},
            "AuthType": "NONE", "EnableCORS": False,
            "RequestParameters": [{"Name": "id", "Position": "PATH", "Type": "string",
                                   "Required": True, "DefaultValue": "", "Desc": ""}],
            "ServiceType": "HTTP", "ServiceTimeout": 15,
            "ServiceConfig": {"Product": "upstream", "UniqVpcId": "vpc-abc12345",
                              "UpstreamId": "upstream-blue0001", "Url": "http://127.0.0.1/",
                              "Path": "/v1/orders", "Method": "GET"},
            "ResponseType": "JSON", "ResponseSuccessExample": "{}"}
    body.update(over)
    return body


def setup_shop(a, blue, green):
    a.post("/v1/upstreams", create_upstream(blue, "upstream-blue0001"))
    a.post("/v1/upstreams", create_upstream(green, "upstream-green001"))
    a.post("/v1/services", CREATE_SERVICE)


def fields(doc):
    return {e["field"]: e["reason"] for e in doc["errors"]}


def test_create_api_shape_routes(env):
    g, a, blue, green = env
    setup_shop(a, blue, green)
    doc = a.post("/v1/services/service-shop0001/apis", create_api())
    assert doc["Path"] == "/orders" and doc["Method"] == "GET", doc
    assert "RequestConfig" not in doc and "AuthType" not in doc
    ignored = {e["field"] for e in doc["TencentIgnored"]}
    # Dropped but said so: the common parameters and response documentation.
    assert {"Version", "Region", "ResponseType", "ResponseSuccessExample"} <= ignored, ignored
    # AuthType NONE, EnableCORS false, ApiType NORMAL, Protocol HTTP are the
    # defaults: nothing to report.
    assert not ignored & {"AuthType", "EnableCORS", "ApiType", "Protocol"}, ignored
    a.post("/v1/services/service-shop0001/releases", {"EnvironmentName": "release"})
    r = g.request("GET", "/release/orders/7", host="any.test")
    assert r.status == 200, r
    body = json.loads(r.body)
    assert body["backend"] == "blue" and body["path"] == "/v1/orders/7", body
    # The method came from RequestConfig.Method.
    assert g.request("POST", "/release/orders/7", host="any.test", body=b"x").status == 405


def test_service_and_upstream_shapes_map(env):
    g, a, blue, green = env
    setup_shop(a, blue, green)
    up = a.get("/v1/upstreams/upstream-blue0001")
    assert up["Algorithm"] == "ROUND-ROBIN" and up["Nodes"][0]["Port"] == blue.port, up
    svc = a.get("/v1/services/service-shop0001")
    assert svc["ServiceName"] == "shop" and svc["ServiceDesc"] == "orders", svc
    # The reply of the create listed what a self-hosted gateway does not keep.
    st, doc = a.call("POST", "/v1/upstreams", dict(create_upstream(blue, "upstream-x"),
                                                    UpstreamId="upstream-x"))
    assert st == 201
    ignored = {e["field"]: e["reason"] for e in doc["TencentIgnored"]}
    assert "UniqVpcId" in ignored and "Tags" in ignored and "UpstreamDescription" in ignored


def test_k8s_services_plural_maps_to_k8s_service(env):
    g, a, _, _ = env
    # UpstreamInfo spells the list K8sServices; it names a cluster this
    # gateway does not know, so the validator (not "unknown key") answers.
    st, doc = a.call("POST", "/v1/upstreams", {
        "UpstreamId": "upstream-tke00001", "Scheme": "HTTP", "Algorithm": "ROUND-ROBIN",
        "UniqVpcId": "vpc-abc12345", "UpstreamType": "K8S",
        "K8sServices": [{"Weight": 100, "ClusterId": "cls-abc12345", "Namespace": "default",
                         "ServiceName": "httpbin", "Port": 8000, "ExtraLabels": []}]})
    assert st == 400, doc
    assert any(f.startswith("K8sService[0].ClusterId") for f in fields(doc)), doc


@pytest.mark.parametrize("over,field,words", [
    ({"AuthType": "SECRET"}, "AuthType", "authentication types other than NONE"),
    ({"AuthType": "OAUTH"}, "AuthType", "authentication types other than NONE"),
    ({"AuthType": "APP"}, "AuthType", "authentication types other than NONE"),
    ({"EnableCORS": True}, "EnableCORS", "CORS is not implemented"),
    ({"Protocol": "WEBSOCKET"}, "Protocol", "WebSocket APIs"),
    ({"ServiceType": "SCF", "ServiceScfFunctionName": "f"}, "ServiceType", "SCF backends"),
    ({"ServiceType": "TSF"}, "ServiceType", "TSF backends"),
    ({"ServiceType": "COS"}, "ServiceType", "COS backends"),
    ({"ApiType": "TSF"}, "ApiType", "microservice"),
    ({"ConstantParameters": [{"Name": "x", "Position": "HEADER", "DefaultValue": "1"}]},
     "ConstantParameters", "constant parameters"),
    ({"RequestParameters": [{"Name": "tenant", "Position": "HEADER", "Required": True}]},
     "RequestParameters[0]", "required"),
    ({"RequestParameters": [{"Name": "page", "Position": "QUERY", "Required": False,
                             "DefaultValue": "1"}]}, "RequestParameters[0]", "default"),
    ({"ServiceParameters": [{"Name": "X-User", "Position": "HEADER",
                             "RelevantRequestParameterName": "user",
                             "RelevantRequestParameterPosition": "QUERY"}]},
     "ServiceParameters[0]", "parameter mapping"),
    ({"ResponseErrorCodes": [{"Code": 1, "Msg": "x", "ConvertedCode": 2, "NeedConvert": True}]},
     "ResponseErrorCodes[0].NeedConvert", "error codes"),
    ({"ServiceId": "service-other001"}, "ServiceId", "not \"service-shop0001\""),
    ({"RequestConfig": {"Path": "/orders", "Method": "GET"}, "Path": "/other"},
     "RequestConfig.Path", "differs"),
])
def test_refused_by_name_and_reason(env, over, field, words):
    g, a, blue, green = env
    setup_shop(a, blue, green)
    before = a.get("/v1/status")["config_version"]
    st, doc = a.call("POST", "/v1/services/service-shop0001/apis", create_api(**over))
    assert st == 400, doc
    assert doc["error"] == "invalid"
    f = fields(doc)
    assert field in f and words in f[field], doc
    assert a.get("/v1/status")["config_version"] == before
    assert a.get("/v1/services/service-shop0001/apis")["TotalCount"] == 0


def test_every_refusal_listed_at_once(env):
    g, a, blue, green = env
    setup_shop(a, blue, green)
    st, doc = a.call("POST", "/v1/services/service-shop0001/apis",
                     create_api(AuthType="SECRET", EnableCORS=True, ServiceType="SCF"))
    assert st == 400
    assert {"AuthType", "EnableCORS", "ServiceType"} <= set(fields(doc)), doc


def test_action_must_match_the_call(env):
    g, a, blue, green = env
    setup_shop(a, blue, green)
    st, doc = a.call("POST", "/v1/services/service-shop0001/apis",
                     create_api(Action="CreateService"))
    assert st == 400 and "Action" in fields(doc) and "CreateApi" in fields(doc)["Action"]
    # ModifyApi on PUT replaces the API, RequestConfig mapped again.
    a.post("/v1/services/service-shop0001/apis", create_api())
    doc = a.put("/v1/services/service-shop0001/apis/api-orders01",
                create_api(Action="ModifyApi", RequestConfig={"Path": "/o2", "Method": "ANY"}))
    assert doc["Path"] == "/o2" and doc["Method"] == "ANY"
    st, doc = a.call("PUT", "/v1/services/service-shop0001/apis/api-orders01",
                     create_api(Action="CreateApi"))
    assert st == 400 and "ModifyApi" in fields(doc)["Action"]


def test_patch_with_request_config(env):
    g, a, blue, green = env
    setup_shop(a, blue, green)
    a.post("/v1/services/service-shop0001/apis", create_api())
    doc = a.patch("/v1/services/service-shop0001/apis/api-orders01",
                  {"RequestConfig": {"Path": "=/exact"}})
    assert doc["Path"] == "=/exact" and doc["Method"] == "GET", doc


def test_create_plugin_shape(env):
    g, a, blue, green = env
    setup_shop(a, blue, green)
    a.post("/v1/services/service-shop0001/apis", create_api())
    a.post("/v1/services/service-shop0001/releases", {"EnvironmentName": "release"})
    data = [{"strategy_name": "admin", "strategy_weight": 80,
             "condition": "header.UserName = 'admin'", "backend_type": "UPSTREAM",
             "backend_config": {"ServiceType": "HTTP", "ServiceConfig": {
                 "Product": "upstream", "UpstreamId": "upstream-green001",
                 "UniqVpcId": "vpc-abc12345", "Url": "http://127.0.0.1/",
                 "Path": "/v1/orders", "Method": "GET"}}}]
    doc = a.post("/v1/plugins", {"Action": "CreatePlugin", "Version": "2018-08-08",
                                 "PluginId": "plugin-admin001", "PluginName": "admin_route",
                                 "PluginType": "Routing", "PluginData": json.dumps(data),
                                 "Description": "admins to green", "Tags": []})
    assert doc["PluginType"] == "Routing"
    a.post("/v1/plugins/plugin-admin001/attachments", {
        "ServiceId": "service-shop0001", "EnvironmentName": "release",
        "ApiIds": ["api-orders01"]})
    r = g.request("GET", "/release/orders/1", host="x.test", headers=[("UserName", "admin")])
    assert json.loads(r.body)["backend"] == "green"
    r = g.request("GET", "/release/orders/1", host="x.test")
    assert json.loads(r.body)["backend"] == "blue"
    st, doc = a.call("POST", "/v1/plugins", {"PluginName": "ipc", "PluginType": "IPControl",
                                              "PluginData": "{}"})
    assert st == 400 and "only Routing plugins" in fields(doc)["PluginType"], doc


def test_upstream_grpc_scheme_refused(env):
    g, a, blue, _ = env
    st, doc = a.call("POST", "/v1/upstreams", dict(create_upstream(blue, "upstream-g"),
                                                    Scheme="gRPC"))
    assert st == 400 and "gRPC" in fields(doc)["Scheme"], doc
    assert a.get("/v1/upstreams")["TotalCount"] == 0


def test_service_protocol_https_reported(env):
    g, a, _, _ = env
    doc = a.post("/v1/services", dict(CREATE_SERVICE, Protocol="https"))
    assert any(e["field"] == "Protocol" for e in doc["TencentIgnored"]), doc


def test_unknown_key_still_named(env):
    g, a, blue, green = env
    setup_shop(a, blue, green)
    st, doc = a.call("POST", "/v1/services/service-shop0001/apis", create_api(Colour="blue"))
    assert st == 400 and "Colour" in fields(doc), doc


def test_release_attach_detach_shapes(env):
    g, a, blue, green = env
    setup_shop(a, blue, green)
    a.post("/v1/services/service-shop0001/apis", create_api())
    doc = a.post("/v1/services/service-shop0001/releases", {
        "Action": "ReleaseService", "Version": "2018-08-08", "ServiceId": "service-shop0001",
        "EnvironmentName": "release", "ReleaseDesc": "first", "ApiIds": ["api-orders01"]})
    assert doc["EnvironmentName"] == "release"
    assert {e["field"] for e in doc["TencentIgnored"]} == {"Version", "ApiIds"}, doc
    st, doc = a.call("POST", "/v1/services/service-shop0001/releases", {
        "ServiceId": "service-other001", "EnvironmentName": "release"})
    assert st == 400 and "ServiceId" in fields(doc), doc
    a.post("/v1/plugins", {"PluginId": "plugin-p0000001", "PluginType": "Routing",
                           "PluginData": "[]"})
    body = {"Action": "AttachPlugin", "PluginId": "plugin-p0000001",
            "ServiceId": "service-shop0001", "EnvironmentName": "release",
            "ApiIds": ["api-orders01"]}
    st, doc = a.call("POST", "/v1/plugins/plugin-p0000001/attachments",
                     dict(body, PluginId="plugin-other001"))
    assert st == 400 and "PluginId" in fields(doc), doc
    st, doc = a.call("POST", "/v1/plugins/plugin-p0000001/attachments",
                     dict(body, Action="DetachPlugin"))
    assert st == 400 and "AttachPlugin" in fields(doc)["Action"], doc
    a.post("/v1/plugins/plugin-p0000001/attachments", body)
    assert a.get("/v1/plugins/plugin-p0000001/attachments")["TotalCount"] == 1
    a.ok("DELETE", "/v1/plugins/plugin-p0000001/attachments", {
        "Action": "DetachPlugin", "PluginId": "plugin-p0000001",
        "ServiceId": "service-shop0001", "EnvironmentName": "release", "ApiId": "api-orders01"})
    assert a.get("/v1/plugins/plugin-p0000001/attachments")["TotalCount"] == 0


def test_describe_objects_post_back(env):
    """The objects of Describe answers (the import's fixtures) go through
    the same mapping when sent to the admin API."""
    import os
    from syharness.gateway import REPO
    g, a, blue, green = env
    fix = os.path.join(REPO, "tests", "fixtures", "tencent")

    def result(name):
        with open(os.path.join(fix, name)) as f:
            return json.load(f)["Response"]

    for u in result("DescribeUpstreams.json")["Result"]["UpstreamSet"]:
        u["Nodes"][0]["Port"] = {8080: blue.port, 8081: green.port}[u["Nodes"][0]["Port"]]
        doc = a.post("/v1/upstreams", u)
        assert any(e["field"] == "CreatedTime" for e in doc["TencentIgnored"]), doc
    svc = result("DescribeServicesStatus.json")["Result"]["ServiceSet"][0]
    doc = a.post("/v1/services", svc)
    assert doc["Domains"][0]["DomainName"] == svc["OuterSubDomain"], doc
    # published nowhere yet, and the reply says why AvailableEnvironments did nothing
    assert "releases" in {e["field"]: e["reason"] for e in doc["TencentIgnored"]}[
        "AvailableEnvironments"]
    assert a.get("/v1/services/service-k3j9x0qa")["Environments"] == []
    api = result("DescribeApi-orders.json")["Result"]
    doc = a.post("/v1/services/service-k3j9x0qa/apis", api)
    assert doc["Path"] == "/orders" and doc["ServiceConfig"]["UpstreamId"] == "upstream-blue0001"
    doc = a.post("/v1/services/service-k3j9x0qa/apis", result("DescribeApi-ping.json")["Result"])
    assert doc["ServiceType"] == "MOCK" and doc["Path"] == "=/ping", doc
    st, doc = a.call("POST", "/v1/services/service-k3j9x0qa/apis",
                     result("DescribeApi-admin.json")["Result"])
    assert st == 400 and {"AuthType", "EnableCORS"} <= set(fields(doc)), doc
    a.post("/v1/services/service-k3j9x0qa/releases", {"EnvironmentName": "release"})
    plugin = result("DescribePlugins.json")["Result"]["PluginSet"][0]
    doc = a.post("/v1/plugins", plugin)
    assert any(e["field"] == "AttachedApis" for e in doc["TencentIgnored"]), doc
    assert a.get("/v1/plugins/plugin-ady4rjzn/attachments")["TotalCount"] == 0
    a.post("/v1/plugins/plugin-ady4rjzn/attachments", {
        "ServiceId": "service-k3j9x0qa", "EnvironmentName": "release", "ApiIds": ["api-orders01"]})
    r = g.request("GET", "/release/ping", host=svc["OuterSubDomain"])
    assert r.status == 200 and json.loads(r.body) == {"pong": True}
    r = g.request("GET", "/release/orders", host=svc["OuterSubDomain"])
    assert r.status == 200 and json.loads(r.body)["path"] == "/v1/orders", r
    assert json.loads(r.body)["backend"] == "blue"
    r = g.request("GET", "/release/orders", host=svc["OuterSubDomain"],
                  headers=[("UserName", "admin")])
    assert r.status == 200 and json.loads(r.body)["backend"] == "green", r
