"""The admin listener collects header fields with the proxy's head collector
(http/head.c), so a request the data plane refuses for its header section is
refused here too — before the token is even looked at, and whole or split
at every byte."""
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
]


@pytest.mark.parametrize("name,data,want", CASES, ids=[c[0] for c in CASES])
def test_admin_head_rules(admin_port, name, data, want):
    assert status_of(admin_port, data) == want
    if len(data) < 2000:
        assert status_of(admin_port, data, bytewise=True) == want
    # the listener still serves afterwards
    assert status_of(admin_port, G + AUTH + b"\r\n") == 200
