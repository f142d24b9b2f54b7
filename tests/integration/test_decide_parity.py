"""Explain and the proxy share one decision path (router/decide.c): for every
early answer the gateway gives — 400, 301, 404, 405, 413, 421, a MOCK and a
routed request — `POST /v1/explain` and `switchyard explain` report the same
status the running gateway answers on the wire."""
import pytest

from syharness.admin import Admin
from syharness.gateway import api, free_port, mock_api, run_cli, service
from tlsutil import cert, make_pki

TOKEN = "decide-parity-token"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def gw(make_gateway, backend, pki):
    admin = free_port()
    cfg = {
        "Gateway": {"AdminListen": "127.0.0.1:%d" % admin, "AdminToken": TOKEN,
                    "MaxBodyBytes": 100, "TlsListen": ["127.0.0.1:%d" % free_port()]},
        "Services": [
            service("shop", [api("orders", "/orders", backend, method="GET"),
                             mock_api("teapot", "/teapot", "short and stout",
                                      ServiceMockStatusCode=418)],
                    domains=[{"DomainName": "shop.test"}]),
            service("secure", [api("s-echo", "/", backend)],
                    domains=[dict(DomainName="secure.test", Protocol="https",
                                  **cert(pki, "a.test"))]),
            service("forced", [api("f-echo", "/", backend)],
                    domains=[dict(DomainName="forced.test", Protocol="http&https",
                                  IsForcedHttps=True, **cert(pki, "b.test"))]),
        ]}
    g = make_gateway(cfg)
    g.admin = Admin(admin, TOKEN)
    return g


# (method, target, Host, extra headers, body) -> the gateway's own answer
CASES = [
    ("routed", "GET", "/release/orders/1", "shop.test", [], None, 200),
    ("mock", "GET", "/release/teapot", "shop.test", [], None, 418),
    ("dot segment", "GET", "/release/a/../orders", "shop.test", [], None, 400),
    ("fragment", "GET", "/release/orders#x", "shop.test", [], None, 400),
    ("bad host", "GET", "/release/orders", "shop test", [], None, 400),
    ("no service", "GET", "/release/orders", "nowhere.test", [], None, 404),
    ("no api", "GET", "/release/none", "shop.test", [], None, 404),
    ("wrong env", "GET", "/prepub/orders", "shop.test", [], None, 404),
    ("method", "POST", "/release/orders", "shop.test", [], b"", 405),
    ("body limit", "POST", "/release/teapot", "shop.test", [], b"x" * 101, 413),
    ("https only", "GET", "/release/x", "secure.test", [], None, 421),
    ("forced https", "GET", "/release/x?y=1", "forced.test", [], None, 301),
    ("absolute-form", "GET", "http://forced.test/release/x", "shop.test", [], None, 301),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_explain_reports_the_gateways_status(gw, case):
    _, method, target, host, headers, body, expected = case
    r = gw.request(method, target, host=host, headers=headers, body=body)
    assert r.status == expected, (case, r)

    hdrs = {"Host": host}
    if body is not None:
        hdrs["Content-Length"] = str(len(body))
    st, doc = gw.admin.call("POST", "/v1/explain", {"method": method, "url": target,
                                                    "headers": hdrs})
    assert st == 200, doc
    assert doc["status"] == expected, (case, doc["text"])
    assert doc["routed"] is (expected in (200, 418)), doc["text"]
    if expected == 301:
        assert doc["location"].startswith("https://forced.test"), doc
        assert r.header("Location").startswith(doc["location"]), (r.header("Location"), doc)


def test_cli_explain_names_the_early_answer(gw):
    r = run_cli("explain", "-c", gw.config_path, "-H", "Host: secure.test", "GET", "/release/x")
    assert r.returncode == 1, r          # not routed
    assert "result:      421, this domain is only served over HTTPS" in r.stdout, r.stdout
    r = run_cli("explain", "-c", gw.config_path, "GET", "https://secure.test/release/x")
    assert "result:      routed" in r.stdout, r.stdout
    r = run_cli("explain", "-c", gw.config_path, "-H", "Content-Length: 500", "POST",
                "http://shop.test/release/orders")
    assert "result:      413" in r.stdout, r.stdout
    r = run_cli("explain", "-c", gw.config_path, "GET", "http://shop.test/release/teapot")
    assert "result:      418, answered by the MOCK backend" in r.stdout, r.stdout
