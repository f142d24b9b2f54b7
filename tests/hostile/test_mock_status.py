"""MOCK statuses that end at their head (issue 9).

A MOCK answer with a 1xx, 204 or 304 status that carried a body (and a
Content-Length) let a pipelined client read the body as the next response:
response splitting under the gateway's own name, and 101 told the client
the protocol had switched.  The rule (doc/config.md, ServiceMockStatusCode):

- ServiceMockStatusCode 100..199 is refused at validation, with the field
  path: by `-t`, by a reload, and by the admin API (400), the running
  configuration untouched;
- 204 and 304 are sent with no body and no Content-Length, over HTTP/1.1
  and HTTP/2;
- a non-empty ServiceMockReturnMessage with 204 or 304 is refused at
  validation, with its field path.
"""
import json
import re
import subprocess

import pytest

from syharness.admin import Admin
from syharness.client import Client, build
from syharness.gateway import free_port, mock_api, run_cli, service
from syharness.h2raw import H2Raw, frame, req_block, status_of

TOKEN = "admin-token-for-tests-0123456789"

APIS = [mock_api("m204", "=/m204", "", ServiceMockStatusCode=204),
        mock_api("m304", "=/m304", "", ServiceMockStatusCode=304),
        mock_api("ok", "=/ok", "second")]


@pytest.fixture
def gw(make_gateway):
    aport = free_port()
    g = make_gateway({"Gateway": {"Http2Cleartext": True, "AdminListen": "127.0.0.1:%d" % aport,
                                  "AdminToken": TOKEN},
                      "Services": [service("svc", list(APIS))]})
    g.admin = Admin(aport, TOKEN)
    yield g
    g.admin.close()


def assert_no_body_head(r, status):
    assert r.status == status, r
    assert r.header("Content-Length") is None, r.raw_head
    assert r.header("Transfer-Encoding") is None, r.raw_head
    assert r.header("Content-Type") is None, r.raw_head
    assert r.header("X-Api-RequestId"), r.raw_head


# ---- HTTP/1.1: the next bytes after a 204/304 head are the next response ----

def test_pipelined_204_304_leave_nothing_for_the_next_response(gw):
    with Client(gw.port, timeout=5) as c:
        c.send(build("GET", "/release/m204") + build("GET", "/release/m304")
               + build("HEAD", "/release/m204") + build("GET", "/release/ok"))
        for status in (204, 304, 204):
            assert_no_body_head(c.read_head(), status)
            # Whatever follows a head that ends its message must be the
            # next status line, never body bytes.
            while len(c.buf) < 9:
                c._more()
            assert c.buf.startswith(b"HTTP/1.1 "), c.buf[:80]
        last = c.read_response()
        assert last.status == 200 and last.body == b"second", last
        assert not c.is_closed(0.3) and c.extra == b"", c.extra


def test_head_on_a_mock_has_its_length_but_no_body(gw):
    with Client(gw.port, timeout=5) as c:
        c.send(build("HEAD", "/release/ok") + build("GET", "/release/ok"))
        h = c.read_head()
        assert h.status == 200 and h.header("Content-Length") == "6", h.raw_head
        r = c.read_response()
        assert r.status == 200 and r.body == b"second", r


# ---- HTTP/2: HEADERS with END_STREAM, no DATA, no content-length ----

def test_h2_204_304_end_at_headers(gw):
    c = H2Raw(gw.port)
    c.send(frame(1, 0x5, 1, req_block(path="/release/m204")))
    c.send(frame(1, 0x5, 3, req_block(path="/release/m304")))
    c.send(frame(1, 0x5, 5, req_block(path="/release/ok")))
    fr = c.frames(until=lambda t, fl, s, p: t == 0 and s == 5 and fl & 1, timeout=3)
    c.close()
    assert status_of(fr, 1) == 204 and status_of(fr, 3) == 304 and status_of(fr, 5) == 200, fr
    for sid in (1, 3):
        heads = [fl for t, fl, s, p in fr if t == 1 and s == sid]
        assert heads and heads[0] & 1, "stream %d: HEADERS without END_STREAM" % sid
        assert not [p for t, fl, s, p in fr if t == 0 and s == sid], "stream %d got DATA" % sid
    assert b"".join(p for t, fl, s, p in fr if t == 0 and s == 5) == b"second"


def test_h2_204_has_no_content_length(gw):
    for path, status in (("/release/m204", 204), ("/release/m304", 304)):
        p = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "-D", "-", "-o", "/dev/null",
                            "http://127.0.0.1:%d%s" % (gw.port, path)],
                           capture_output=True, text=True, timeout=10)
        head = p.stdout.lower()
        assert head.startswith("http/2 %d" % status), (head, p.stderr)
        assert "content-length" not in head and "content-type" not in head, head


# ---- validation: the file, a reload, the admin API ----

def mock_yaml(status, message):
    return """\
Services:
  - ServiceId: svc
    ServiceName: svc
    Environments: [release]
    Apis:
      - ApiId: m
        Path: /m
        ServiceType: MOCK
        ServiceMockReturnMessage: "%s"
        ServiceMockStatusCode: %d
""" % (message, status)


@pytest.mark.parametrize("status", [100, 101, 103, 199])
def test_file_refuses_1xx(tmp_path, status):
    path = tmp_path / "c.yaml"
    path.write_text(mock_yaml(status, "x"))
    r = run_cli("-t", "-c", str(path))
    assert r.returncode != 0, "ServiceMockStatusCode %d passed -t" % status
    want = r"^%s:10:\d+: Services\[0\]\.Apis\[0\]\.ServiceMockStatusCode: must be between 200 and 599" \
        % re.escape(str(path))
    assert re.search(want, r.stderr, re.M), r.stderr


@pytest.mark.parametrize("status", [204, 304])
def test_file_refuses_a_body_with_204_304(tmp_path, status):
    path = tmp_path / "c.yaml"
    path.write_text(mock_yaml(status, "leak"))
    r = run_cli("-t", "-c", str(path))
    assert r.returncode != 0
    want = r"^%s:9:\d+: Services\[0\]\.Apis\[0\]\.ServiceMockReturnMessage: must be empty with " \
        r"ServiceMockStatusCode %d" % (re.escape(str(path)), status)
    assert re.search(want, r.stderr, re.M), r.stderr
    path.write_text(mock_yaml(status, ""))
    r = run_cli("-t", "-c", str(path))
    assert r.returncode == 0, r.stderr


def test_policy_mock_refuses_101(tmp_path):
    text = mock_yaml(200, "x").replace("        ServiceMockStatusCode: 200\n", "") + """\
Plugins:
  - PluginId: p
    PluginName: p
    PluginType: Routing
    PluginData:
      - strategy_name: s
        strategy_weight: 50
        condition: "header.A = 'b'"
        backend_type: MOCK
        backend_config: {ServiceMockReturnMessage: "x", ServiceMockStatusCode: 101}
    Attachments: [{ServiceId: svc, EnvironmentName: release, ApiId: m}]
"""
    path = tmp_path / "c.yaml"
    path.write_text(text)
    r = run_cli("-t", "-c", str(path))
    assert r.returncode != 0
    assert re.search(r"Plugins\[0\]\.PluginData\[0\]\.backend_config\.ServiceMockStatusCode: "
                     r"must be between 200 and 599", r.stderr), r.stderr


def test_reload_refuses_1xx_and_keeps_serving(gw):
    text = gw.config_text
    bad = text.replace("ServiceMockReturnMessage: \"second\"",
                       "ServiceMockReturnMessage: \"second\"\n        ServiceMockStatusCode: 101")
    assert bad != text, text
    with open(gw.config_path, "w") as f:
        f.write(bad)
    assert gw.reload() == "failed"
    assert gw.wait_log(r"ServiceMockStatusCode: must be between 200 and 599")
    r = gw.request("GET", "/release/ok")
    assert r.status == 200 and r.body == b"second", r


def test_admin_refuses_with_the_field_path(gw):
    a = gw.admin
    v = a.version()
    st, doc = a.call("POST", "/v1/services/svc/apis", {
        "ApiId": "m101", "Path": "/m101", "ServiceType": "MOCK",
        "ServiceMockReturnMessage": "x", "ServiceMockStatusCode": 101})
    assert st == 400, doc
    assert doc["errors"][0]["field"] == "ServiceMockStatusCode", doc
    st, doc = a.call("POST", "/v1/services/svc/apis", {
        "ApiId": "m204b", "Path": "/m204b", "ServiceType": "MOCK",
        "ServiceMockReturnMessage": "leak", "ServiceMockStatusCode": 204})
    assert st == 400, doc
    assert doc["errors"][0]["field"] == "ServiceMockReturnMessage", doc
    st, doc = a.call("PATCH", "/v1/services/svc/apis/ok", {"ServiceMockStatusCode": 100})
    assert st == 400 and doc["errors"][0]["field"] == "ServiceMockStatusCode", doc
    # The whole configuration: the field path from the top.
    st, text = a.call("GET", "/v1/config")
    assert st == 200
    bad = text.replace("ServiceMockStatusCode: 204", "ServiceMockStatusCode: 101", 1)
    assert bad != text, text
    st, _, body = a.raw("PUT", "/v1/config", bad)
    doc = json.loads(body)
    assert st == 400 and doc["errors"][0]["field"] == "Services[0].Apis[0].ServiceMockStatusCode", doc
    # Nothing changed.
    assert a.version() == v
    assert a.get("/v1/services/svc/apis/ok").get("ServiceMockStatusCode", 200) == 200
    r = gw.request("GET", "/release/m204")
    assert_no_body_head(r, 204)
    assert gw.request("GET", "/release/ok").body == b"second"
