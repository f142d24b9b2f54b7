"""`switchyard import tencent`: the JSON of Tencent Cloud API Gateway's
Describe* answers (tests/fixtures/tencent/, written from Tencent's API
reference, version 2018-08-08) converted into a configuration that passes
`-t` and that a gateway serves as the Tencent objects say; every field
not carried is reported on stderr with its JSON path and the reason."""
import glob
import json
import os
import re

import yaml

from syharness.gateway import REPO, run_cli

FIX = os.path.join(REPO, "tests", "fixtures", "tencent")
DOMAIN = "service-k3j9x0qa-1250000000.gz.apigw.tencentcs.com"
NOTE = re.compile(r"^import: (?P<path>[^ ]+): (?P<what>.*)$", re.M)


def fixtures(tmp_path, blue=None, green=None):
    """The fixtures, with the two upstreams' node ports pointed at our
    backends (8080 and 8081 in the files)."""
    ports = {8080: blue.port if blue else 8080, 8081: green.port if green else 8081}
    out = []
    for f in sorted(glob.glob(os.path.join(FIX, "*.json"))):
        doc = json.load(open(f))
        for u in doc["Response"].get("Result", {}).get("UpstreamSet", []) or []:
            for n in u["Nodes"]:
                n["Port"] = ports[n["Port"]]
        p = tmp_path / os.path.basename(f)
        p.write_text(json.dumps(doc))
        out.append(str(p))
    return out


def notes(stderr):
    return {(m.group("path").split(":", 1)[1], m.group("what")) for m in NOTE.finditer(stderr)}


def paths(stderr):
    return {p for p, _ in notes(stderr)}


def test_import_passes_check_and_routes(tmp_path, make_backend, make_gateway):
    blue, green = make_backend("blue"), make_backend("green")
    out = tmp_path / "shop.yaml"
    r = run_cli("import", "tencent", "-o", str(out), *fixtures(tmp_path, blue, green))
    assert r.returncode == 0, r.stderr
    assert run_cli("-t", "-c", str(out)).returncode == 0
    cfg = yaml.safe_load(out.read_text())
    del cfg["Gateway"]
    g = make_gateway(cfg)
    # DescribeApi api-orders01: GET /orders -> upstream blue, backend path /v1/orders
    resp = g.request("GET", "/release/orders/42", host=DOMAIN)
    assert resp.status == 200, resp
    body = json.loads(resp.body)
    assert body["backend"] == "blue" and body["path"] == "/v1/orders/42", body
    # DescribePlugins: header UserName admin -> upstream green, attached in release
    resp = g.request("GET", "/release/orders/42", host=DOMAIN, headers=[("UserName", "admin")])
    body = json.loads(resp.body)
    assert body["backend"] == "green" and body["path"] == "/v1/orders/42", body
    # green's UpstreamHost is the Host the node gets
    assert green.last().header("Host") == "green.internal"
    # the MOCK API (=/ping)
    resp = g.request("GET", "/release/ping", host=DOMAIN)
    assert resp.status == 200 and json.loads(resp.body) == {"pong": True}
    # RequestConfig.Method GET: POST is a 405
    assert g.request("POST", "/release/orders", host=DOMAIN, body=b"x").status == 405
    # left out: the SECRET-auth API and the SCF one
    assert g.request("GET", "/release/admin", host=DOMAIN).status == 404
    assert g.request("POST", "/release/thumbs", host=DOMAIN, body=b"x").status == 404
    # only the release environment was available
    assert g.request("GET", "/test/orders", host=DOMAIN).status == 404


def test_every_field_not_carried_is_reported(tmp_path):
    r = run_cli("import", "tencent", *fixtures(tmp_path))
    assert r.returncode == 0, r.stderr
    p = paths(r.stderr)
    want = {
        # refused, with their objects left out
        "Response.Result.AuthType", "Response.Result.EnableCORS",     # DescribeApi-admin
        "Response.Result.ServiceType",                                # DescribeApi-thumbs (SCF)
        "Response.Result.PluginSet[1].PluginType",                    # IPControl
        # dropped, said so
        "Response.Result.UpstreamSet[0].Nodes[0].Healthy",
        "Response.Result.UpstreamSet[0].UniqVpcId",
        "Response.Result.UpstreamSet[0].UpstreamDescription",
        "Response.Result.UpstreamSet[1].Tags",
        "Response.Result.ServiceSet[0].NetTypes",
        "Response.Result.ServiceSet[0].Tags",
        "Response.Result.ServiceSet[0].InnerSubDomain",
        "Response.Result.RequestParameters",                          # DescribeApi-orders
        "Response.Result.ResponseSuccessExample",
        "Response.Result.PluginSet[0].AttachedApis[1]",               # the left-out API
        "Response.Result.ApiIdStatusSet[1]",                          # carts: summary only
        "Response.Result",                                            # paging, left-out objects
    }
    assert want <= p, sorted(want - p)
    text = r.stderr
    assert "authentication types other than NONE are not supported" in text
    assert "left out: API api-admin001" in text and "left out: API api-thumbs01" in text
    assert "holds 2 of TotalCount 5" in text
    assert "left out: plugin plugin-ipctl001" in text
    # nothing reported for fields that were carried, or empty in the answer
    orders = {m.group("path").split(":", 1)[1] for m in NOTE.finditer(text)
              if "DescribeApi-orders.json:" in m.group("path")}
    quiet = ("Path", "Method", "ServiceTimeout", "ServiceType", "ServiceConfig",
             "ConstantParameters", "ServiceScfFunctionName", "EnableCORS", "AuthType",
             "ServiceParameters", "ResponseErrorCodes", "OauthConfig", "ApiId", "ApiName")
    assert orders and not {x for x in orders if x.split(".")[-1].split("[")[0] in quiet}, orders
    # stdout is the configuration, loadable as YAML
    assert "Services" in yaml.safe_load(r.stdout.split("\n", 2)[2] if r.stdout.startswith("#")
                                        else r.stdout)


def test_every_reported_path_exists_in_its_file(tmp_path):
    files = fixtures(tmp_path)
    r = run_cli("import", "tencent", *files)
    for m in NOTE.finditer(r.stderr):
        where = m.group("path")
        if ":" not in where:
            continue
        f, path = where.split(":", 1)
        node = json.load(open(f))
        for part in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
            node = node[part[0]] if part[0] else node[int(part[1])]


def test_api_without_its_upstream_left_out(tmp_path):
    files = [f for f in fixtures(tmp_path) if "DescribeUpstreams" not in f]
    r = run_cli("import", "tencent", *files)
    assert r.returncode == 0, r.stderr
    assert "api-orders01 uses upstream upstream-blue0001, which is not among" in r.stderr
    cfg = yaml.safe_load(r.stdout)
    apis = [a["ApiId"] for s in cfg["Services"] for a in s["Apis"]]
    assert apis == ["api-ping0001"]


def test_api_without_its_service_left_out(tmp_path):
    f = [x for x in fixtures(tmp_path) if x.endswith("DescribeApi-ping.json")]
    r = run_cli("import", "tencent", *f)
    assert r.returncode == 0, r.stderr
    assert "belongs to service service-k3j9x0qa, which is not among" in r.stderr


def test_bare_result_without_response_wrapper(tmp_path):
    p = tmp_path / "svc.json"
    p.write_text(json.dumps({"ServiceId": "service-bare0001", "ServiceName": "bare",
                             "Protocol": "http", "AvailableEnvironments": ["test"],
                             "OuterSubDomain": "bare.example"}))
    r = run_cli("import", "tencent", str(p))
    assert r.returncode == 0, r.stderr
    svc = yaml.safe_load(r.stdout)["Services"][0]
    assert svc["Environments"] == ["test"]
    assert svc["Domains"] == [{"DomainName": "bare.example", "Protocol": "http"}], svc


def test_error_answer_and_unknown_shape_exit_2(tmp_path):
    e = tmp_path / "err.json"
    e.write_text(json.dumps({"Response": {"Error": {"Code": "AuthFailure.SignatureFailure",
                                                    "Message": "signature wrong"},
                                          "RequestId": "x"}}))
    r = run_cli("import", "tencent", str(e))
    assert r.returncode == 2 and "AuthFailure.SignatureFailure" in r.stderr
    u = tmp_path / "other.json"
    u.write_text(json.dumps({"Response": {"Result": {"Foo": 1}}}))
    r = run_cli("import", "tencent", str(u))
    assert r.returncode == 2 and "not a Describe answer" in r.stderr
    b = tmp_path / "bad.json"
    b.write_text("{not json")
    r = run_cli("import", "tencent", str(b))
    assert r.returncode == 2 and "bad.json:1:" in r.stderr
    r = run_cli("import", "tencent", str(tmp_path / "missing.json"))
    assert r.returncode == 2


def test_usage(tmp_path):
    assert run_cli("import").returncode == 2
    assert run_cli("import", "aws", "x.json").returncode == 2
    assert run_cli("import", "tencent").returncode == 2
    r = run_cli("import", "tencent", "--help")
    assert r.returncode == 0 and "Describe" in r.stdout


def test_result_that_does_not_load_exits_1(tmp_path):
    # Two services without a default domain both claim every host.
    for i in (1, 2):
        (tmp_path / ("s%d.json" % i)).write_text(json.dumps({"Response": {
            "ServiceId": "service-dup0000%d" % i, "ServiceName": "s", "Protocol": "http",
            "AvailableEnvironments": ["release"]}}))
    r = run_cli("import", "tencent", str(tmp_path / "s1.json"), str(tmp_path / "s2.json"))
    assert r.returncode == 1, r
    assert "does not load" in r.stderr and "Domains" in r.stderr
    assert r.stdout == ""


def test_tke_tunnel_needs_its_cluster(tmp_path):
    tke = os.path.join(FIX, "DescribeUpstreams-tke.json")
    r = run_cli("import", "tencent", tke)
    assert r.returncode == 0, r.stderr
    assert "left out: upstream upstream-tke00001 is a TKE tunnel of cluster cls-abc12345" \
        in r.stderr
    assert not yaml.safe_load(r.stdout).get("Upstreams")
    # With a base configuration that knows the cluster, the tunnel is carried:
    # K8sServices as K8sService, the pods Tencent listed among Nodes dropped.
    base = tmp_path / "base.yaml"
    base.write_text("Gateway:\n  Listen: [\"127.0.0.1:18080\"]\n  AdminListen: \"off\"\n"
                    "  KubernetesClusters:\n    - {ClusterId: cls-abc12345, "
                    "Server: \"https://127.0.0.1:1\"}\n")
    out = tmp_path / "tke.yaml"
    r = run_cli("import", "tencent", "-c", str(base), "-o", str(out), tke)
    assert r.returncode == 0, r.stderr
    assert "UpstreamSet[0].Nodes: not carried: pods discovered" in r.stderr
    assert run_cli("-t", "-c", str(out)).returncode == 0
    cfg = yaml.safe_load(out.read_text())
    assert cfg["Gateway"]["Listen"] == ["127.0.0.1:18080"]
    u = cfg["Upstreams"][0]
    assert u["UpstreamType"] == "K8S" and "Nodes" not in u, u
    assert u["K8sService"][0]["ServiceName"] == "orders"
    assert u["K8sService"][0]["ExtraLabels"] == [{"Key": "version", "Value": "v1"}]


def test_bad_base_exits_2(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text("Gateway:\n  Workers: lots\n")
    r = run_cli("import", "tencent", "-c", str(base), os.path.join(FIX, "DescribeUpstreams.json"))
    assert r.returncode == 2 and "Workers" in r.stderr, r.stderr
