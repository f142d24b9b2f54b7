"""The admin listener collects header fields with the proxy's head collector
(http/head.c) and applies the proxy's request-head rules (http/reqrules.c:
request-line spacing, Host, singletons, Transfer-Encoding), so a request
the data plane refuses for its head is refused here too — before the token
is even looked at, and whole or split at every byte."""
import pytest

from syharness.admin import Admin
from syharness.client import raw_status
from syharness.gateway import Gateway, free_port, simple_config

TOKEN = "admin-head-token"
AUTH = b"Authorization: Bearer " + TOKEN.encode() + b"\r\n"


@pytest.fixture(scope="module")
def admin_port(tmp_path_factory):
    port = free_port()
    cfg = simple_config("http://127.0.0.1:9", AdminListen="127.0.0.1:%d" % port, AdminToken=TOKEN)
    g = Gateway(str(tmp_path_factory.mktemp("adminhead")), cfg)
    g.start()
    Admin(port, TOKEN).get("/v1/status")
    yield port
    assert g.stop() == 0


status_of = raw_status


G = b"GET /v1/status HTTP/1.1\r\nHost: a\r\n"

CASES = [
    ("ok", G + AUTH + b"\r\n", 200),
    ("obs-fold", G + AUTH + b"X-A: a\r\n b\r\n\r\n", 400),
    ("obs-fold-empty-first-line", G + AUTH + b"X-A:\r\n b\r\n\r\n", 400),
    ("space-before-colon", G + AUTH + b"X-A : b\r\n\r\n", 400),
    ("ctl-in-value", G + AUTH + b"X-A: a\x01b\r\n\r\n", 400),
    ("authorization-twice", G + AUTH + AUTH + b"\r\n", 400),
    ("too-many-fields", G + AUTH + b"".join(b"X-%d: v\r\n" % i for i in range(120)) + b"\r\n", 431),
    ("too-big", G + AUTH + b"X-Big: " + b"v" * 70000 + b"\r\n\r\n", 431),
    # The proxy's request-line and head rules (http/reqrules.h).
    ("two-sp-after-method", b"GET  /v1/status HTTP/1.1\r\nHost: a\r\n" + AUTH + b"\r\n", 400),
    ("two-sp-before-version", b"GET /v1/status  HTTP/1.1\r\nHost: a\r\n" + AUTH + b"\r\n", 400),
    ("missing-host", b"GET /v1/status HTTP/1.1\r\n" + AUTH + b"\r\n", 400),
    ("two-hosts", G + b"Host: b\r\n" + AUTH + b"\r\n", 400),
    ("host-port-99999", b"GET /v1/status HTTP/1.1\r\nHost: a:99999\r\n" + AUTH + b"\r\n", 400),
    ("host-invalid", b"GET /v1/status HTTP/1.1\r\nHost: a b\r\n" + AUTH + b"\r\n", 400),
    ("two-content-type", G + AUTH + b"Content-Type: a/b\r\nContent-Type: c/d\r\n\r\n", 400),
    ("te-http10", b"POST /v1/upstreams HTTP/1.0\r\nHost: a\r\n" + AUTH +
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("te-not-chunked", b"POST /v1/upstreams HTTP/1.1\r\nHost: a\r\n" + AUTH +
     b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
    ("connect", b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n" + AUTH + b"\r\n", 405),
    ("asterisk-form", b"OPTIONS * HTTP/1.1\r\nHost: a\r\n" + AUTH + b"\r\n", 400),
    # An origin server's own target rules: origin-form, no dot segments.
    ("absolute-form", b"GET http://a/v1/status HTTP/1.1\r\nHost: a\r\n" + AUTH + b"\r\n", 400),
    ("dot-segment", b"GET /v1/x/../status HTTP/1.1\r\nHost: a\r\n" + AUTH + b"\r\n", 400),
    ("encoded-dot-segment", b"GET /v1/%2e%2e/v1/status HTTP/1.1\r\nHost: a\r\n" + AUTH + b"\r\n", 400),
    ("http10-without-host", b"GET /v1/status HTTP/1.0\r\n" + AUTH + b"\r\n", 200),
]


@pytest.mark.parametrize("name,data,want", CASES, ids=[c[0] for c in CASES])
def test_admin_head_rules(admin_port, name, data, want):
    assert status_of(admin_port, data) == want
    if len(data) < 2000:
        assert status_of(admin_port, data, bytewise=True) == want
    # the listener still serves afterwards
    assert status_of(admin_port, G + AUTH + b"\r\n") == 200


# The same bytes to the data plane and to the admin listener: the shared
# rules must give the same status on both (the admin path and token are
# irrelevant to a head refused before routing).
PARITY = [c for c in CASES if c[2] in (400, 405, 501) and not c[0].startswith(
    ("absolute-form", "dot-segment", "encoded-dot-segment"))]


@pytest.fixture(scope="module")
def proxy_port(tmp_path_factory):
    cfg = simple_config("http://127.0.0.1:9")
    g = Gateway(str(tmp_path_factory.mktemp("proxyhead")), cfg)
    g.start()
    yield g.port
    assert g.stop() == 0


@pytest.mark.parametrize("name,data,want", PARITY, ids=[c[0] for c in PARITY])
def test_admin_and_proxy_agree(admin_port, proxy_port, name, data, want):
    assert status_of(proxy_port, data) == want
    assert status_of(admin_port, data) == want
