"""SIGHUP reload (good file, broken file, in-flight requests), SIGTERM drain,
and the JSON access log."""
import signal
import threading
import time

import pytest

from syharness.client import build
from syharness.gateway import api, service


def cfg_to(b, path="/e", **gw):
    return {"Gateway": gw, "Services": [service("s", [api("a", path, b, timeout=10)])]}


def in_thread(fn):
    out = {}

    def run():
        try:
            out["r"] = fn()
        except Exception as e:   # noqa: BLE001 - reported by the caller
            out["e"] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


def wait_for(cond, timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


def test_reload_applies_new_routing(make_gateway, make_backend):
    blue, green = make_backend("blue"), make_backend("green")
    gw = make_gateway(cfg_to(blue))
    assert gw.request("GET", "/release/e").json()["backend"] == "blue"
    assert gw.reload(cfg_to(green)) != "failed", gw.stderr()[-1000:]
    assert wait_for(lambda: gw.request("GET", "/release/e").json()["backend"] == "green"), \
        "SIGHUP with a new file did not change routing; log:\n" + gw.stderr()[-1500:]
    # new API path appears, old one goes away
    gw.reload(cfg_to(green, path="/new"))
    assert wait_for(lambda: gw.request("GET", "/release/new").status == 200)
    assert gw.request("GET", "/release/e").status == 404


def test_reload_logs_success(make_gateway, backend):
    gw = make_gateway(cfg_to(backend))
    assert gw.reload(cfg_to(backend, path="/x")) == "ok", \
        "no 'reloaded' line in the error log:\n" + gw.stderr()[-1500:]


def test_broken_reload_keeps_old_config(make_gateway, backend):
    gw = make_gateway(cfg_to(backend))
    bad_method = cfg_to(backend)
    bad_method["Services"][0]["Apis"][0]["Method"] = "FETCH"
    dup_id = cfg_to(backend)
    dup_id["Services"][0]["Apis"].append(dict(dup_id["Services"][0]["Apis"][0], Path="/f"))
    for broken in ("Gateway: [unclosed\n", gw.render(bad_method), gw.render(dup_id)):
        since = gw.log_size()
        with open(gw.config_path, "w") as f:
            f.write(broken)
        gw.signal(signal.SIGHUP)
        m = gw.wait_log(r"reload\w*\W+(failed|refused|rejected|error)|(failed|error).*reload", since, 5)
        assert m, "broken reload not logged as failed:\n" + gw.stderr()[since:]
        assert gw.alive(), "gateway died on a broken config"
        r = gw.request("GET", "/release/e")
        assert r.status == 200, "old config stopped serving after a broken reload: %r" % r


def test_reload_problem_has_position(make_gateway, backend):
    gw = make_gateway(cfg_to(backend))
    since = gw.log_size()
    with open(gw.config_path, "w") as f:
        f.write(gw.config_text.replace("Workers", "Workerz"))
    gw.signal(signal.SIGHUP)
    assert gw.wait_log(r"%s:\d+:\d+: " % gw.config_path.replace(".", r"\."), since, 5), \
        gw.stderr()[since:]


def test_request_in_flight_survives_reload(make_gateway, make_backend):
    blue, green = make_backend("blue"), make_backend("green")
    blue.set_reply(delay=1.5)
    gw = make_gateway(cfg_to(blue))
    t, out = in_thread(lambda: gw.request("GET", "/release/e", timeout=10))
    assert wait_for(lambda: blue.requests, 3)
    gw.reload(cfg_to(green))
    t.join(10)
    assert "e" not in out, out.get("e")
    assert out["r"].status == 200 and out["r"].json()["backend"] == "blue"
    assert wait_for(lambda: gw.request("GET", "/release/e").json()["backend"] == "green")


def test_keepalive_connection_uses_new_config_after_reload(make_gateway, make_backend):
    blue, green = make_backend("blue"), make_backend("green")
    gw = make_gateway(cfg_to(blue))
    with gw.client() as c:
        c.send(build("GET", "/release/e"))
        assert c.read_response().json()["backend"] == "blue"
        assert gw.reload(cfg_to(green)) != "failed"
        time.sleep(0.3)
        c.send(build("GET", "/release/e"))
        assert c.read_response().json()["backend"] == "green"


def test_many_reloads_under_traffic(make_gateway, make_backend):
    blue, green = make_backend("blue"), make_backend("green")
    gw = make_gateway(cfg_to(blue))
    stop = time.time() + 3
    bad = []

    def traffic():
        while time.time() < stop:
            try:
                r = gw.request("GET", "/release/e", timeout=5)
                if r.status != 200:
                    bad.append(r)
            except Exception as e:  # noqa: BLE001
                bad.append(e)
    ts = [threading.Thread(target=traffic) for _ in range(3)]
    for t in ts:
        t.start()
    for i in range(10):
        gw.write_config(cfg_to(green if i % 2 == 0 else blue))
        gw.signal(signal.SIGHUP)
        time.sleep(0.2)
    for t in ts:
        t.join(10)
    assert not bad, bad[:5]
    assert gw.alive()


def test_sigterm_drains_in_flight(make_gateway, backend):
    backend.set_reply(delay=1.0)
    gw = make_gateway(cfg_to(backend, GracePeriod=5))
    t, out = in_thread(lambda: gw.request("GET", "/release/e", timeout=10))
    assert wait_for(lambda: backend.requests, 3)
    gw.signal(signal.SIGTERM)
    time.sleep(0.2)
    # No new connections once draining.
    refused = False
    try:
        import socket
        socket.create_connection(("127.0.0.1", gw.port), timeout=1).close()
    except OSError:
        refused = True
    t.join(10)
    assert "e" not in out, out.get("e")
    assert out["r"].status == 200, out["r"]
    gw.proc.wait(10)
    assert gw.proc.returncode == 0, gw.stderr()[-1500:]
    assert refused, "listener still accepting after SIGTERM"


def test_sigterm_grace_period_bounds_drain(make_gateway, backend):
    backend.set_reply(never=True)
    gw = make_gateway(cfg_to(backend, GracePeriod=1))
    in_thread(lambda: gw.request("GET", "/release/e", timeout=15))
    assert wait_for(lambda: backend.requests, 3)
    t0 = time.time()
    gw.signal(signal.SIGTERM)
    gw.proc.wait(10)
    assert time.time() - t0 < 4, "drain not bounded by GracePeriod 1"
    assert gw.proc.returncode == 0


# ---- access log ----

FIELDS = ("time", "request_id", "client", "method", "path", "status", "bytes_sent",
          "duration_ms", "service", "api", "env", "upstream", "node", "policy")


def test_access_log_line_per_request(make_gateway, backend):
    gw = make_gateway(cfg_to(backend))
    r = gw.request("POST", "/release/e/x?q=1", body=b"abc")
    assert r.status == 200
    gw.request("GET", "/release/missing")
    entries = gw.access_entries(2)
    assert len(entries) == 2, entries
    e = entries[0]
    for f in FIELDS:
        assert f in e, "access log lacks %r: %r" % (f, e)
    assert e["request_id"] == r.header("X-Api-RequestId")
    assert e["client"].startswith("127.0.0.1")
    assert e["method"] == "POST"
    assert e["path"].startswith("/release/e/x")
    assert e["status"] == 200
    assert isinstance(e["bytes_sent"], int) and e["bytes_sent"] >= len(r.body)
    assert isinstance(e["duration_ms"], (int, float)) and e["duration_ms"] >= 0
    assert e["service"] in ("s",) and e["api"] in ("a",) and e["env"] == "release"
    assert str(backend.port) in str(e["node"])
    assert entries[1]["status"] == 404


def test_access_log_upstream_and_errors(make_gateway, backend):
    backend.set_reply(never=True)
    gw = make_gateway({"Upstreams": [{"UpstreamId": "up-x", "UpstreamName": "upx", "Scheme": "HTTP",
                                      "Algorithm": "ROUND-ROBIN", "Nodes": [
                                          {"Host": "127.0.0.1", "Port": backend.port, "Weight": 1}]}],
                       "Services": [service("s", [api("a", "/e", timeout=1, config={
                           "Product": "upstream", "UpstreamId": "up-x", "Path": "/", "Method": "ANY"})])]})
    assert gw.request("GET", "/release/e").status == 504
    with gw.client() as c:
        c.send(b"GET /release/e HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
        assert c.read_response().status == 400
    entries = gw.access_entries(2)
    assert [e["status"] for e in entries] == [504, 400], entries
    assert entries[0]["upstream"] == "up-x"
    assert "%d" % backend.port in str(entries[0]["node"])
