"""The admin API's one dispatch table (admin/routes.c): every endpoint
answers a method it does not take with 405 and the Allow header of that
endpoint, HEAD works wherever GET does, and paths that are no endpoint
(extra or empty segments, trailing slashes) get 404 — before and after
authentication is checked."""
import pytest

from syharness.admin import Admin
from syharness.gateway import free_port, simple_config

TOKEN = "dispatch-token"

ENDPOINTS = [
    ("/metrics", "GET, HEAD", "POST"),
    ("/v1/status", "GET, HEAD", "DELETE"),
    ("/v1/explain", "POST", "GET"),
    ("/v1/config", "GET, HEAD, PUT", "POST"),
    ("/v1/upstreams", "GET, HEAD, POST", "DELETE"),
    ("/v1/upstreams/u1", "GET, HEAD, PUT, PATCH, DELETE", "POST"),
    ("/v1/upstreams/u1/health", "GET, HEAD", "PUT"),
    ("/v1/services", "GET, HEAD, POST", "PATCH"),
    ("/v1/services/s1", "GET, HEAD, PUT, PATCH, DELETE", "POST"),
    ("/v1/services/s1/apis", "GET, HEAD, POST", "PUT"),
    ("/v1/services/s1/apis/a1", "GET, HEAD, PUT, PATCH, DELETE", "POST"),
    ("/v1/services/s1/releases", "GET, HEAD, POST", "DELETE"),
    ("/v1/services/s1/releases/test", "GET, HEAD, PUT, DELETE", "PATCH"),
    ("/v1/plugins", "GET, HEAD, POST", "PUT"),
    ("/v1/plugins/p1", "GET, HEAD, PUT, PATCH, DELETE", "POST"),
    ("/v1/plugins/p1/attachments", "GET, HEAD, POST, DELETE", "PATCH"),
]


@pytest.fixture(scope="module")
def admin(tmp_path_factory):
    from syharness.gateway import Gateway
    port = free_port()
    cfg = simple_config("http://127.0.0.1:9", AdminListen="127.0.0.1:%d" % port,
                        AdminToken=TOKEN)
    g = Gateway(str(tmp_path_factory.mktemp("dispatch")), cfg)
    g.start()
    yield Admin(port, TOKEN)
    assert g.stop() == 0


@pytest.mark.parametrize("path,allow,wrong", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_wrong_method_gets_405_with_the_endpoints_allow(admin, path, allow, wrong):
    st, hdrs, body = admin.raw(wrong, path, body=b"{}" if wrong in ("POST", "PUT", "PATCH") else None)
    assert st == 405, (path, wrong, st, body)
    assert hdrs.get("allow") == allow, hdrs
    assert b"method_not_allowed" in body


@pytest.mark.parametrize("path", ["/v1/status", "/v1/upstreams", "/metrics", "/v1/config"])
def test_head_works_where_get_does(admin, path):
    st, _, body = admin.raw("HEAD", path)
    assert st == 200 and body == b""


@pytest.mark.parametrize("path", ["/v1/upstreams/", "/v1/upstreams/a/b", "/v1/nothing", "/v2/status",
                                  "/v1/services/s/apis/a/b", "/v1/services//apis", "/v1/plugins/p/x",
                                  "/v1/status/", "/"])
def test_no_such_endpoint_is_404(admin, path):
    st, _, body = admin.raw("GET", path)
    assert st == 404 and b"not_found" in body, (path, st, body)


def test_unauthenticated_is_refused_before_dispatch(admin):
    st, _, _ = admin.raw("DELETE", "/v1/upstreams/u1", token=False)
    assert st == 401
