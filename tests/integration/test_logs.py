"""Access and audit logs through the real binary: every documented access
log field with its value (host, query, user agent, the backend's own
status, bytes both ways), a configured field list in its order, refused
field lists with their location, SIGUSR1 reopening both logs after
logrotate moved them, and one audit line per admin write naming the
credential, the call, its status and the Version before and after."""
import json
import os
import signal
import time

import pytest

from syharness.admin import Admin
from syharness.gateway import free_port, mock_api, run_cli, service, simple_config

ALL = ["time", "request_id", "client", "method", "host", "path", "query", "user_agent", "service",
       "env", "api", "policy", "upstream", "node", "upstream_status", "error", "proto", "tls",
       "alpn", "status", "bytes_sent", "bytes_received", "attempts", "duration_ms", "upstream_ms"]


def lines(path, n, timeout=3.0):
    deadline = time.time() + timeout
    while True:
        try:
            with open(path) as f:
                got = [json.loads(l) for l in f.read().splitlines() if l.strip()]
        except FileNotFoundError:
            got = []
        if len(got) >= n or time.time() > deadline:
            return got
        time.sleep(0.05)


def test_every_field_by_default(make_gateway, make_backend):
    ok = make_backend("ok")
    bad = make_backend("bad")
    bad.set_reply(status=500)
    cfg = simple_config(ok)
    cfg["Services"][0]["Apis"].append(
        {"ApiId": "api-bad", "ApiName": "bad", "Path": "/bad", "Method": "ANY",
         "ServiceType": "HTTP", "ServiceConfig": {"Url": "http://127.0.0.1:%d" % bad.port,
                                                  "Path": "/"}})
    cfg["Services"][0]["Apis"].append(mock_api("api-mock", "/mock", "hi"))
    g = make_gateway(cfg)
    r = g.request("POST", "/release/echo/x?a=1&b=%20", body=b"12345",
                  headers=[("User-Agent", "tester/1.0 \"quoted\"")])
    assert r.status == 200
    g.request("GET", "/release/bad")
    g.request("GET", "/release/mock")
    got = lines(g.access_log, 3)
    assert [list(e) for e in got] == [ALL] * 3, got[0]
    e = got[0]
    assert e["host"] == "gw.test"  # the harness sends Host: gw.test
    assert e["path"] == "/release/echo/x" and e["query"] == "a=1&b=%20"
    assert e["user_agent"] == 'tester/1.0 "quoted"'
    assert e["upstream_status"] == 200 and e["status"] == 200
    assert e["bytes_received"] == 5 and e["bytes_sent"] > 0 and e["method"] == "POST"
    assert e["tls"] is None and e["proto"] == "HTTP/1.1"
    # The backend's 500 is the client's status too; a MOCK had no backend.
    assert got[1]["upstream_status"] == 500 and got[1]["status"] == 500
    assert got[2]["upstream_status"] is None and got[2]["status"] == 200
    assert got[2]["user_agent"] is None and got[2]["query"] is None


def test_unreachable_backend_has_no_upstream_status(make_gateway):
    port = free_port()
    cfg = {"Services": [service("svc", [
        {"ApiId": "api-x", "ApiName": "x", "Path": "/x", "Method": "ANY", "ServiceType": "HTTP",
         "ServiceTimeout": 2, "ServiceConfig": {"Url": "http://127.0.0.1:%d" % port, "Path": "/"}}])]}
    g = make_gateway(cfg)
    assert g.request("GET", "/release/x").status == 502
    e = lines(g.access_log, 1)[0]
    assert e["status"] == 502 and e["upstream_status"] is None and e["error"], e


def test_configured_fields_in_their_order(make_gateway, backend):
    aport = free_port()
    fields = ["status", "path", "user_agent", "upstream_status"]
    cfg = simple_config(backend, AccessLogFields=fields, AdminListen="127.0.0.1:%d" % aport)
    g = make_gateway(cfg)
    g.request("GET", "/release/echo", headers=[("User-Agent", "ua")])
    e = lines(g.access_log, 1)[0]
    assert list(e) == fields, e
    assert e == {"status": 200, "path": "/release/echo", "user_agent": "ua", "upstream_status": 200}
    # The dump (admin API, etcd, the stored file) keeps the list.
    a = Admin(aport, None)
    st, text = a.call("GET", "/v1/config")
    assert st == 200 and "AccessLogFields: [status, path, user_agent, upstream_status]" in text, text
    a.call("POST", "/v1/upstreams", {"UpstreamId": "u1", "Nodes": [
        {"Host": "127.0.0.1", "Port": backend.port, "Weight": 1}]})
    assert "AccessLogFields: [status, path, user_agent, upstream_status]" in open(g.config_path).read()
    a.close()


@pytest.mark.parametrize("fields, where, words", [
    ('[status, nope]', "Gateway.AccessLogFields[1]", 'unknown field "nope"'),
    ('[status, path, status]', "Gateway.AccessLogFields[2]", 'field "status" is listed twice'),
    ('[]', "Gateway.AccessLogFields", "at least one field"),
    ('status', "Gateway.AccessLogFields", "list"),
])
def test_bad_field_lists_are_refused_with_their_location(tmp_path, fields, where, words):
    p = tmp_path / "c.yaml"
    p.write_text("Gateway:\n  Listen: [\"127.0.0.1:%d\"]\n  AccessLogFields: %s\n" % (free_port(), fields))
    r = run_cli("-t", "-c", str(p))
    assert r.returncode != 0
    out = r.stdout + r.stderr
    assert ("c.yaml:3:" in out and where + ":" in out and words in out), out


def test_sigusr1_reopens_access_and_audit_logs(make_gateway, backend, tmp_path):
    aport = free_port()
    audit = str(tmp_path / "audit.log")
    cfg = simple_config(backend, AdminListen="127.0.0.1:%d" % aport, AuditLog=audit)
    g = make_gateway(cfg)
    a = Admin(aport, None)
    g.request("GET", "/release/echo?n=1")
    a.call("POST", "/v1/upstreams", {"UpstreamId": "u1", "Nodes": [
        {"Host": "127.0.0.1", "Port": backend.port, "Weight": 1}]})
    assert len(lines(g.access_log, 1)) == 1 and len(lines(audit, 1)) == 1
    os.rename(g.access_log, g.access_log + ".1")
    os.rename(audit, audit + ".1")
    since = g.log_size()
    g.signal(signal.SIGUSR1)
    assert g.wait_log(r"SIGUSR1: logs reopened", since)
    g.request("GET", "/release/echo?n=2")
    a.call("DELETE", "/v1/upstreams/u1")
    new, old = lines(g.access_log, 1), lines(g.access_log + ".1", 1)
    assert [e["query"] for e in old] == ["n=1"] and [e["query"] for e in new] == ["n=2"]
    assert [e["method"] for e in lines(audit + ".1", 1)] == ["POST"]
    assert [e["method"] for e in lines(audit, 1)] == ["DELETE"]
    a.close()


def test_audit_line_per_admin_write(make_gateway, tmp_path):
    aport = free_port()
    audit = str(tmp_path / "audit.log")
    token = "audit-token-0123456789abcdef"
    g = make_gateway({"Gateway": {"AdminListen": "127.0.0.1:%d" % aport, "AdminToken": token,
                                  "AuditLog": audit},
                      "Services": [service("svc", [mock_api("api-m", "/m", "x")])]})
    a = Admin(aport, token)
    v0 = a.version()
    st, _ = a.call("POST", "/v1/upstreams", {"UpstreamId": "u1", "Nodes": [
        {"Host": "127.0.0.1", "Port": 9, "Weight": 1}]})
    assert st == 201
    st, _ = a.call("PATCH", "/v1/upstreams/u1", {"Retries": "many"})   # refused: 400
    assert st == 400
    st, _ = a.call("DELETE", "/v1/upstreams/u1", token="wrong")       # 403
    assert st == 403
    a.get("/v1/upstreams")                                              # a read: no line
    a.call("POST", "/v1/explain", {"Method": "GET", "Url": "http://x/release/m"})  # no change
    got = lines(audit, 3)
    assert [(e["method"], e["path"], e["status"], e["changed"]) for e in got] == [
        ("POST", "/v1/upstreams", 201, True),
        ("PATCH", "/v1/upstreams/u1", 400, False),
        ("DELETE", "/v1/upstreams/u1", 403, False)], got
    assert got[0]["version_before"] == v0 and got[0]["version_after"] == v0 + 1
    assert all(e["who"] == "AdminToken" and e["client"].startswith("127.0.0.1:") and e["audit"] == "admin"
               for e in got), got
    assert token not in open(audit).read()
    a.close()
