"""What the backend receives: path rewrite, method, query, Host, forwarded
headers, request id, hop-by-hop removal, one framing header; upstream
weighted round robin."""
import collections

import pytest

from syharness.client import build, chunked
from syharness.gateway import api, service


# ---- path rewrite (doc/tencent-model.md §1.6) ----

@pytest.mark.parametrize("api_path,backend_path,request_path,want", [
    ("/a", "/b", "/a/b", "/b/b"),          # Tencent's documented examples
    ("/a", "/", "/a/b", "/b"),
    ("/", "/", "/a/b", "/a/b"),
    ("/product/", "/tencent/", "/product/apigw/document", "/tencent/apigw/document"),
    ("/orders", "/v2/orders", "/orders/1", "/v2/orders/1"),
    ("/orders", "/v2/orders", "/orders", "/v2/orders"),
    ("=/exact", "/be", "/exact", "/be"),
    ("^~/pre/", "/be/", "/pre/x/y", "/be/x/y"),
    ("/", "/root", "/items/2", "/root/items/2"),          # the API's trailing '/' is a separator
    ("/api/", "/v1", "/api/x", "/v1/x"),
])
def test_backend_path(make_gateway, backend, api_path, backend_path, request_path, want):
    gw = make_gateway({"Services": [service("s", [
        api("a", api_path, backend, service_path=backend_path)])]})
    r = gw.request("GET", "/release" + request_path)
    assert r.status == 200, r
    assert backend.last().target == want


def test_path_variables_substituted(make_gateway, backend):
    gw = make_gateway({"Services": [service("s", [
        api("u", "/users/{id}/orders/{oid}", backend, service_path="/v1/u/{id}/o/{oid}")])]})
    r = gw.request("GET", "/release/users/42/orders/7")
    assert r.status == 200, r
    assert backend.last().target == "/v1/u/42/o/7"


def test_query_kept(make_gateway, backend):
    gw = make_gateway({"Services": [service("s", [api("a", "/q", backend, service_path="/x")])]})
    r = gw.request("GET", "/release/q/1?a=1&b=%20two&a=3")
    assert r.status == 200, r
    assert backend.last().target == "/x/1?a=1&b=%20two&a=3"


def test_method_mapping(make_gateway, backend):
    gw = make_gateway({"Services": [service("s", [
        api("a", "/a", backend, method="GET", service_method="POST"),
        api("b", "/b", backend, method="ANY", service_method="ANY")])]})
    assert gw.request("GET", "/release/a").status == 200
    assert backend.last().method == "POST"
    assert gw.request("PATCH", "/release/b").status == 200
    assert backend.last().method == "PATCH"


# ---- headers ----

@pytest.fixture
def echo_gw(make_gateway, backend):
    return make_gateway({"Services": [service("s", [api("a", "/e", backend)])]})


def test_host_is_url_host(echo_gw, backend):
    assert echo_gw.request("GET", "/release/e", host="client.example").status == 200
    assert backend.last().header_all("Host") == ["127.0.0.1:%d" % backend.port]


def test_host_is_upstream_host(make_gateway, backend):
    gw = make_gateway({
        "Upstreams": [{"UpstreamId": "up", "UpstreamName": "up", "Scheme": "HTTP",
                       "Algorithm": "ROUND-ROBIN", "UpstreamHost": "internal.svc",
                       "Nodes": [{"Host": "127.0.0.1", "Port": backend.port, "Weight": 100}]}],
        "Services": [service("s", [api("a", "/e", config={
            "Product": "upstream", "UpstreamId": "up", "Path": "/", "Method": "ANY"})])]})
    assert gw.request("GET", "/release/e").status == 200
    assert backend.last().header_all("Host") == ["internal.svc"]


def test_forwarded_headers_untrusted_peer(echo_gw, backend):
    r = echo_gw.request("GET", "/release/e", headers=[("X-Forwarded-For", "203.0.113.7"),
                                                     ("X-Real-IP", "203.0.113.8"),
                                                     ("X-Forwarded-Proto", "https"),
                                                     ("X-Api-RequestId", "forged")])
    assert r.status == 200, r
    req = backend.last()
    # A peer not in TrustedProxies can't inject an address.
    assert req.header_all("X-Forwarded-For") == ["127.0.0.1"]
    assert req.header_all("X-Real-IP") == ["127.0.0.1"]
    assert req.header_all("X-Forwarded-Proto") == ["http"]
    rid = req.header_all("X-Api-RequestId")
    assert len(rid) == 1 and rid[0] and rid[0] != "forged"
    assert r.header("X-Api-RequestId") == rid[0], "request id not returned to the client"


def test_request_ids_unique(echo_gw, backend):
    ids = set()
    for _ in range(20):
        r = echo_gw.request("GET", "/release/e")
        ids.add(r.header("X-Api-RequestId"))
    assert None not in ids and len(ids) == 20


def test_forwarded_for_trusted_chain(make_gateway, backend):
    gw = make_gateway({"Gateway": {"TrustedProxies": ["127.0.0.0/8"]},
                       "Services": [service("s", [api("a", "/e", backend)])]})
    r = gw.request("GET", "/release/e", headers=[("X-Forwarded-For", "203.0.113.7, 10.0.0.1")])
    assert r.status == 200
    req = backend.last()
    assert req.header_all("X-Forwarded-For") == ["203.0.113.7, 10.0.0.1, 127.0.0.1"]
    # doc/reliability.md §0 rule 8: walk from the right, stop at the first
    # untrusted hop.
    assert req.header_all("X-Real-IP") == ["10.0.0.1"]


def test_hop_by_hop_not_forwarded(echo_gw, backend):
    r = echo_gw.request("GET", "/release/e", headers=[
        ("Connection", "keep-alive, X-Secret, x-other"),
        ("X-Secret", "s"), ("X-Other", "o"), ("X-Kept", "k"),
        ("Keep-Alive", "timeout=5"), ("TE", "trailers"),
        ("Proxy-Connection", "keep-alive"), ("Upgrade", "h2c"),
        ("Proxy-Authorization", "Basic eA=="),
    ])
    assert r.status == 200, r
    req = backend.last()
    for h in ("X-Secret", "X-Other", "Keep-Alive", "TE", "Proxy-Connection", "Upgrade"):
        assert not req.has(h), "%s forwarded: %r" % (h, req.headers)
    conn = ",".join(req.header_all("Connection")).lower()
    assert "x-secret" not in conn and "x-other" not in conn, conn
    assert req.header_all("X-Kept") == ["k"]


def test_end_to_end_headers_kept_in_order(echo_gw, backend):
    hs = [("X-A", "1"), ("Accept", "*/*"), ("X-A", "2"), ("Cookie", "a=b"), ("X-B", "x y")]
    assert echo_gw.request("GET", "/release/e", headers=hs).status == 200
    got = [(k.lower(), v) for k, v in backend.last().headers if k.lower() in ("x-a", "accept", "cookie", "x-b")]
    assert got == [(k.lower(), v) for k, v in hs]


def test_response_headers_returned(echo_gw, backend):
    backend.set_reply(headers=[("X-Backend", "yes"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])
    r = echo_gw.request("GET", "/release/e")
    assert r.header("X-Backend") == "yes"
    assert r.header_all("Set-Cookie") == ["a=1", "b=2"]


# ---- framing: exactly one framing header upstream ----

def framing(req):
    return req.header_all("Content-Length"), req.header_all("Transfer-Encoding")


def test_content_length_body_forwarded_with_cl(echo_gw, backend):
    assert echo_gw.request("POST", "/release/e", body=b"hello world").status == 200
    req = backend.last()
    assert framing(req) == (["11"], [])
    assert req.body == b"hello world"


def test_chunked_body_forwarded_chunked_reserialized(echo_gw, backend):
    body = b"0123456789" * 50
    wire = b"5;ext=1\r\n01234\r\n" + chunked(body[5:], size=33)
    with echo_gw.client() as c:
        c.send(build("POST", "/release/e", headers=[("Transfer-Encoding", "chunked")]) + wire)
        r = c.read_response()
    assert r.status == 200, r
    req = backend.last()
    cl, te = framing(req)
    assert cl == [] and te == ["chunked"], req.headers
    assert req.body == body
    assert b"ext" not in req.raw_body, "chunk extensions forwarded raw"


def test_get_without_body_has_no_te(echo_gw, backend):
    assert echo_gw.request("GET", "/release/e").status == 200
    cl, te = framing(backend.last())
    assert te == [] and cl in ([], ["0"])


def test_lowercase_and_mixed_case_te_chunked(echo_gw, backend):
    with echo_gw.client() as c:
        c.send(build("POST", "/release/e", headers=[("transfer-encoding", "Chunked")]) + chunked(b"abc"))
        r = c.read_response()
    assert r.status == 200
    assert backend.last().body == b"abc"


# ---- upstream weighted round robin ----

def test_weighted_round_robin(make_gateway, make_backend):
    b1, b2, b3, b0 = (make_backend(n) for n in ("n1", "n2", "n3", "n0"))
    gw = make_gateway({
        "Upstreams": [{"UpstreamId": "up", "UpstreamName": "up", "Scheme": "HTTP",
                       "Algorithm": "ROUND-ROBIN", "Nodes": [
                           {"Host": "127.0.0.1", "Port": b1.port, "Weight": 30},
                           {"Host": "127.0.0.1", "Port": b2.port, "Weight": 10},
                           {"Host": "127.0.0.1", "Port": b3.port, "Weight": 10},
                           {"Host": "127.0.0.1", "Port": b0.port, "Weight": 0}]}],
        "Services": [service("s", [api("a", "/e", config={
            "Product": "upstream", "UpstreamId": "up", "Path": "/", "Method": "ANY"})])]})
    seen = collections.Counter()
    for _ in range(50):
        r = gw.request("GET", "/release/e")
        assert r.status == 200, r
        seen[r.json()["backend"]] += 1
    assert seen["n0"] == 0, "weight-0 node got traffic: %r" % seen
    assert 27 <= seen["n1"] <= 33 and 8 <= seen["n2"] <= 12 and 8 <= seen["n3"] <= 12, seen
