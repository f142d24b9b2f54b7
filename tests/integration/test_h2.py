"""HTTP/2 to clients: ALPN h2 over TLS and h2c prior knowledge answer like
HTTP/1.1 (routing, proxying, MOCK, errors, bodies both ways), flow control
on large transfers, many concurrent streams, and the protections: header
limits, Host vs :authority, rapid reset, CONTINUATION floods."""
import hashlib
import json
import os
import struct
import subprocess
import time

import pytest

from syharness.backend import Reply, pattern, pattern_sha256
from syharness.gateway import api, free_port, mock_api, service
from syharness.h2raw import H2Raw, frame, lit, req_block, status_of
from tlsutil import cert, curl, https_args, make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def gw(make_gateway, backend, pki):
    port = free_port()
    g = make_gateway({
        "Gateway": {"TlsListen": ["127.0.0.1:%d" % port], "DefaultCertificate": cert(pki, "a.test"),
                    "Http2Cleartext": True, "MaxHeaders": 20, "MaxHeaderBytes": 4096},
        "Services": [service("svc", [api("echo", "/echo", backend),
                                     mock_api("mock", "/mock", "mocked")])]})
    g.tls_port = port
    g.backend = backend
    return g


def variants(g, pki, path):
    """(name, curl args) for HTTP/1.1 plain, HTTP/1.1 TLS, h2 TLS, h2c."""
    tls = https_args(pki, "a.test", g.tls_port)
    return [
        ("h1", ["--http1.1", "http://127.0.0.1:%d%s" % (g.port, path)]),
        ("h1-tls", ["--http1.1"] + tls + ["https://a.test:%d%s" % (g.tls_port, path)]),
        ("h2-tls", ["--http2"] + tls + ["https://a.test:%d%s" % (g.tls_port, path)]),
        ("h2c", ["--http2-prior-knowledge", "http://127.0.0.1:%d%s" % (g.port, path)]),
    ]


def test_same_answers_as_http1(gw, pki):
    for path, want_status in (("/release/echo/a?x=1", 200), ("/release/mock", 200),
                              ("/release/nothing", 404), ("/nowhere", 404)):
        seen = {}
        for name, args in variants(gw, pki, path):
            status, ver, body, err = curl(args)
            assert status == want_status, (name, path, err)
            want_ver = "2" if name.startswith("h2") else "1.1"
            assert ver == want_ver, (name, ver)
            if path.startswith("/release/echo"):
                doc = json.loads(body)
                seen[name] = (doc["method"], doc["path"], doc["query"])
            elif status == 200:
                seen[name] = body
            else:
                seen[name] = json.loads(body)["error"]
        assert len(set(seen.values())) == 1, seen


def test_forwarded_headers_and_scheme(gw, pki):
    for name, args in variants(gw, pki, "/release/echo"):
        status, _, body, err = curl(args + ["-H", "X-Test: " + name, "-H", "Cookie: a=1",
                                            "-H", "Cookie: b=2"])
        assert status == 200, err
        req = gw.backend.last()
        assert req.header("X-Test") == name
        assert req.header("X-Forwarded-Proto") == ("https" if "tls" in name else "http")
        # h2 splits cookies; the backend gets them joined into one field.
        cookies = req.header_all("Cookie")
        assert "; ".join(cookies) == "a=1; b=2", (name, cookies)
        assert req.header("Connection") in (None, "keep-alive")
        assert req.header("TE") is None


def test_post_bodies_with_and_without_length(gw, pki, tmp_path):
    data = pattern(300 * 1024)
    f = tmp_path / "up.bin"
    f.write_bytes(data)
    for name, args in variants(gw, pki, "/release/echo"):
        status, _, body, err = curl(args + ["--data-binary", "@" + str(f)])
        assert status == 200, (name, err)
        req = gw.backend.last()
        assert req.body == data and req.method == "POST", name
        # Without a length (curl streams stdin): h2 DATA becomes chunked.
        p = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-T", "-"] + args,
                           input=data[:5000], capture_output=True, timeout=30)
        assert p.stdout == b"200", (name, p.stderr)
        assert gw.backend.last().body == data[:5000], name


def test_large_download_over_h2_keeps_flow_control(gw, pki):
    size = 6 << 20
    gw.backend.set_reply(Reply(body_size=size))
    for name, args in variants(gw, pki, "/release/echo/big"):
        if not name.startswith("h2"):
            continue
        p = subprocess.run(["curl", "-sS"] + args, capture_output=True, timeout=60)
        assert p.returncode == 0, p.stderr
        assert len(p.stdout) == size and hashlib.sha256(p.stdout).hexdigest() == pattern_sha256(size)


def test_head_and_no_content(gw, pki):
    gw.backend.set_reply(Reply(status=204, body=b""))
    status, ver, body, err = curl(["--http2-prior-knowledge", "http://127.0.0.1:%d/release/echo" % gw.port])
    assert status == 204 and body == b"", err
    gw.backend.set_reply(Reply(body=b"0123456789"))
    p = subprocess.run(["curl", "-sS", "-I", "--http2-prior-knowledge",
                        "http://127.0.0.1:%d/release/echo" % gw.port], capture_output=True, timeout=20)
    assert p.returncode == 0 and b"content-length: 10" in p.stdout.lower(), p


def test_many_concurrent_streams(gw, pki):
    p = subprocess.run(["h2load", "-n", "400", "-c", "4", "-m", "50",
                        "http://127.0.0.1:%d/release/mock" % gw.port],
                       capture_output=True, text=True, timeout=60)
    assert "400 succeeded" in p.stdout and "0 failed" in p.stdout, p.stdout
    assert "status codes: 400 2xx" in p.stdout, p.stdout
    p = subprocess.run(["h2load", "-n", "200", "-c", "2", "-m", "20",
                        "https://127.0.0.1:%d/release/echo" % gw.tls_port],
                       capture_output=True, text=True, timeout=60)
    assert "200 succeeded" in p.stdout, p.stdout
    assert "TLS Protocol: TLSv1.3" in p.stdout and "Application protocol: h2" in p.stdout
    assert gw.alive()
    entries = gw.access_entries(600)
    h2 = [e for e in entries if e["proto"] == "HTTP/2"]
    assert len(h2) >= 600
    assert any(e["alpn"] == "h2" and e["tls"] == "TLSv1.3" for e in h2)


def test_h2c_is_off_unless_enabled(make_gateway, backend):
    g = make_gateway({"Services": [service("svc", [mock_api("mock", "/mock", "m")])]})
    status, _, _, _ = curl(["--http2-prior-knowledge", "http://127.0.0.1:%d/release/mock" % g.port])
    assert status != 200
    assert g.request("GET", "/release/mock").status == 200


# ---- raw frames for the protections (syharness/h2raw.py) ----


def test_raw_request_and_mismatched_host(gw):
    c = H2Raw(gw.port)
    c.send(frame(1, 0x5, 1, req_block()))
    c.send(frame(1, 0x5, 3, req_block(authority="a.test", extra=[("host", "evil.test")])))
    c.send(frame(1, 0x5, 5, req_block(path="/release/mock", extra=[("x-a", "b")])))
    fr = c.frames(until=lambda t, fl, s, p: False, timeout=1.5)
    c.close()
    assert status_of(fr, 1) == 200
    assert status_of(fr, 3) == 400
    assert status_of(fr, 5) == 200


def test_header_limits(gw):
    c = H2Raw(gw.port)
    many = [("x-h%d" % i, "v") for i in range(30)]                 # MaxHeaders 20
    c.send(frame(1, 0x5, 1, req_block(extra=many)))
    fine = [("x-big%d" % i, "v" * 120) for i in range(15)]         # ~2.4 KiB
    c.send(frame(1, 0x5, 3, req_block(extra=fine)))
    fr = c.frames(until=lambda t, fl, s, p: False, timeout=1.5)
    c.close()
    assert status_of(fr, 1) == 431
    assert status_of(fr, 3) == 200
    # Over MaxHeaderBytes (4096) in total.
    c = H2Raw(gw.port)
    big = [("x-b%d" % i, "v" * 400) for i in range(12)]           # ~5 KiB
    c.send(frame(1, 0x5, 1, req_block(extra=big)))
    fr = c.frames(until=lambda t, fl, s, p: False, timeout=1.5)
    c.close()
    assert status_of(fr, 1) in (431, None), fr  # 431, or the stream reset by nghttp2
    assert gw.alive()


def test_rapid_reset_gets_goaway(gw):
    c = H2Raw(gw.port)
    sid = 1
    burst = b""
    for i in range(1000):
        burst += frame(1, 0x5, sid, req_block(path="/release/echo")) + frame(3, 0, sid, struct.pack(">I", 8))
        sid += 2
    try:
        c.send(burst)
    except OSError:
        pass
    fr = c.frames(until=lambda t, fl, s, p: t == 7, timeout=5)
    c.close()
    goaways = [p for t, fl, s, p in fr if t == 7]
    assert goaways, "no GOAWAY after a reset flood"
    code = struct.unpack(">I", goaways[-1][4:8])[0]
    assert code == 0xb, code  # ENHANCE_YOUR_CALM
    assert gw.alive()
    status, _, body, _ = curl(["--http2-prior-knowledge", "http://127.0.0.1:%d/release/mock" % gw.port])
    assert status == 200 and body == b"mocked"


def test_continuation_flood_is_cut_off(gw):
    c = H2Raw(gw.port)
    c.send(frame(1, 0x1, 1, req_block()))  # END_STREAM, no END_HEADERS
    sent = 0
    try:
        for i in range(2000):
            c.send(frame(9, 0, 1, lit("x-c%d" % i, "y" * 60)))
            sent += 1
    except OSError:
        pass
    fr = c.frames(until=lambda t, fl, s, p: t == 7, timeout=5)
    c.close()
    assert sent < 2000 or any(t == 7 for t, fl, s, p in fr), "CONTINUATION flood was not stopped"
    assert gw.alive()
    status, _, _, _ = curl(["--http2-prior-knowledge", "http://127.0.0.1:%d/release/mock" % gw.port])
    assert status == 200


def test_client_reset_aborts_the_upstream_exchange(gw):
    gw.backend.set_reply(Reply(body_size=4 << 20, body_parts=8, part_interval=0.2))
    c = H2Raw(gw.port)
    c.send(frame(1, 0x5, 1, req_block(path="/release/echo")))
    c.frames(until=lambda t, fl, s, p: t == 0 and s == 1, timeout=5)  # first DATA
    c.send(frame(3, 0, 1, struct.pack(">I", 8)))                       # RST_STREAM CANCEL
    c.send(frame(1, 0x5, 3, req_block(path="/release/mock")))
    fr = c.frames(until=lambda t, fl, s, p: t == 0 and s == 3 and fl & 1, timeout=5)
    c.close()
    assert status_of(fr, 3) == 200
    entries = gw.access_entries(2)
    assert any(e["status"] in (200, 499) and e["proto"] == "HTTP/2" for e in entries)
    assert gw.alive()


def test_sigterm_drains_h2_connections(make_gateway, backend):
    backend.set_reply(Reply(body=b"slow", delay=0.5))
    g = make_gateway({"Gateway": {"Http2Cleartext": True},
                      "Services": [service("svc", [api("echo", "/echo", backend)])]})
    c = H2Raw(g.port)
    c.send(frame(1, 0x5, 1, req_block(path="/release/echo")))
    time.sleep(0.2)
    g.signal(15)
    fr = c.frames(until=lambda t, fl, s, p: t == 0 and s == 1 and fl & 1, timeout=5)
    c.close()
    assert status_of(fr, 1) == 200
    assert any(t == 7 for t, fl, s, p in fr)
