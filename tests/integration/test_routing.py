"""Service selection by Host, environments, API match priority and methods.

Each API forwards to the recording backend with its own ServiceConfig.Path
(/A-<id>), so the path the backend receives names the API that matched."""
import json

import pytest

from syharness.gateway import api, mock_api, service


def first_seg(resp):
    assert resp.status == 200, resp
    return resp.json()["path"]


@pytest.fixture(scope="module")
def gw(make_module_gateway, module_backend):
    b = module_backend

    def a(aid, path, method="ANY"):
        return api(aid, path, b, method=method, service_path="/A-" + aid)

    cfg = {
        "Services": [
            service("svc-exact", [a("exact-host", "/")], domains=[{"DomainName": "api.example.com"}]),
            service("svc-wild", [a("wild-host", "/")], domains=[{"DomainName": "*.example.com"}]),
            service("svc-mapped", [a("mapped", "/orders")], envs=["test"],
                    domains=[{"DomainName": "pm.test", "PathMappings": [
                        {"Path": "/", "Environment": "release"},
                        {"Path": "/beta", "Environment": "test"}]}]),
            service("svc-default", [
                a("exact", "=/x/exact"),
                a("prefix", "^~/x/"),
                a("var", "/x/{id}"),
                a("yvar", "/y/{id}"),
                a("yplain", "/y"),
                a("user", "/user"),
                a("useradmin", "/user/admin"),
                a("m-get", "=/m", method="GET"),
                a("m-post", "=/m", method="POST"),
                a("any", "/any"),
                a("rec", "/rec"),
                a("only", "=/only"),
                a("dir", "/dir/"),
                a("get-only", "/getonly", method="GET"),
                mock_api("mock", "=/mock", '{"pong":true}', method="GET"),
            ], envs=["release", "prepub"]),
        ]
    }
    return make_module_gateway(cfg)


@pytest.fixture(autouse=True)
def _reset(module_backend):
    module_backend.reset()


def path_of(gw, target, host="other.test", method="GET"):
    r = gw.request(method, target, host=host)
    assert r.status == 200, "%s %s (Host %s): %r" % (method, target, host, r)
    return r.json()["path"]


# ---- Host -> service ----

def test_exact_domain(gw):
    assert path_of(gw, "/release/p", host="api.example.com").startswith("/A-exact-host")


def test_exact_domain_with_port_and_case(gw):
    assert path_of(gw, "/release/p", host="api.example.com:%d" % gw.port).startswith("/A-exact-host")
    assert path_of(gw, "/release/p", host="API.Example.COM").startswith("/A-exact-host")


def test_wildcard_domain(gw):
    assert path_of(gw, "/release/p", host="foo.example.com").startswith("/A-wild-host")


def test_service_without_domains_claims_star(gw):
    assert path_of(gw, "/release/any", host="unknown.org").startswith("/A-any")


# ---- environments ----

def test_env_segment_is_stripped(gw):
    assert path_of(gw, "/release/any/1") == "/A-any/1"
    assert path_of(gw, "/prepub/any/1") == "/A-any/1"


def test_env_not_released_is_404(gw, assert_error, module_backend):
    assert_error(gw.request("GET", "/test/any"), 404)
    assert_error(gw.request("GET", "/nosuchenv/any"), 404)
    assert not module_backend.requests


def test_path_mappings_pick_env(gw, assert_error, module_backend):
    # "/" maps to release, which svc-mapped is not released to -> 404;
    # "/beta" maps to test -> the API, with /beta stripped.
    assert_error(gw.request("GET", "/orders", host="pm.test"), 404)
    assert path_of(gw, "/beta/orders/7", host="pm.test") == "/A-mapped/7"
    assert_error(gw.request("GET", "/release/orders", host="pm.test"), 404)


def test_no_api_is_404(gw, assert_error, module_backend):
    assert_error(gw.request("GET", "/release/nothing-here"), 404)
    assert_error(gw.request("GET", "/release"), 404)
    assert not module_backend.requests


# ---- API priority ----

def test_exact_beats_prefix(gw):
    assert path_of(gw, "/release/x/exact") == "/A-exact"


def test_exact_needs_whole_path(gw):
    assert path_of(gw, "/release/x/exact/more").startswith("/A-prefix")


def test_prefix_without_regex_beats_var(gw):
    assert path_of(gw, "/release/x/42").startswith("/A-prefix")


def test_var_beats_plain_prefix(gw):
    assert path_of(gw, "/release/y/42").startswith("/A-yvar")
    assert path_of(gw, "/release/y").startswith("/A-yplain")


def test_plain_prefix_is_string_prefix(gw):
    assert path_of(gw, "/release/usertest") == "/A-usertest"
    assert path_of(gw, "/release/user/a") == "/A-user/a"


def test_prefix_semantics(gw, assert_error, module_backend):
    """Tencent's rule (doc/tencent-model.md): a plain path is a string
    prefix, so /rec also serves /recfoo; an exact =/p serves only /p; a
    path ending in '/' only what is below it."""
    assert path_of(gw, "/release/rec") == "/A-rec"
    assert path_of(gw, "/release/recfoo") == "/A-recfoo"
    assert path_of(gw, "/release/rec/a") == "/A-rec/a"
    assert path_of(gw, "/release/only") == "/A-only"
    for p in ("/release/onlyfoo", "/release/only/", "/release/only/x", "/release/dirfoo",
              "/release/dir"):
        assert_error(gw.request("GET", p, host="other.test"), 404)
    assert path_of(gw, "/release/dir/x") == "/A-dir/x"
    assert [r.target for r in module_backend.requests] == ["/A-rec", "/A-recfoo", "/A-rec/a",
                                                           "/A-only", "/A-dir/x"]


def test_longest_plain_prefix_wins(gw):
    assert path_of(gw, "/release/user/admin/x") == "/A-useradmin/x"


# ---- methods ----

def test_method_selects_api(gw):
    assert path_of(gw, "/release/m", method="GET") == "/A-m-get"
    assert path_of(gw, "/release/m", method="POST") == "/A-m-post"


def test_wrong_method_is_405(gw, assert_error, module_backend):
    assert_error(gw.request("DELETE", "/release/m"), 405)
    assert_error(gw.request("POST", "/release/getonly"), 405)
    assert not module_backend.requests


def test_any_matches_every_method(gw):
    for m in ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        assert path_of(gw, "/release/any", method=m) == "/A-any"


def test_mock_api(gw, module_backend):
    r = gw.request("GET", "/release/mock")
    assert r.status == 200, r
    assert json.loads(r.body) == {"pong": True}
    assert r.header("X-Api-RequestId"), "MOCK answer without X-Api-RequestId"
    assert not module_backend.requests


def test_mock_status_code_extension(make_gateway):
    gw = make_gateway({"Services": [service("s", [
        mock_api("m", "=/created", "made", ServiceMockStatusCode=201)])]})
    r = gw.request("POST", "/release/created")
    assert r.status == 201 and r.body == b"made", r


def test_two_workers(make_gateway, backend):
    gw = make_gateway({"Gateway": {"Workers": 2},
                       "Services": [service("s", [api("a", "/e", backend)])]})
    for i in range(20):
        assert gw.request("GET", "/release/e/%d" % i).status == 200
    assert gw.reload() != "failed"
    assert gw.request("GET", "/release/e").status == 200
