"""HTTPS termination: certificates by SNI, the default certificate, domain
protocols and IsForcedHttps, sysparam.httpScheme and X-Forwarded-Proto,
session resumption, config errors, metrics and access-log fields, and a
reload that swaps a certificate under a running download."""
import json
import os
import re
import subprocess
import threading
import urllib.request

import pytest

from syharness.backend import Reply, pattern_sha256
from syharness.gateway import api, free_port, mock_api, run_cli, service
from tlsutil import cert, curl, https_args, make_pki, peer_subject, s_client


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


def two_domains(pki, backend, default=True, gw_extra=None, b_extra=None):
    tls_port = free_port()
    gw = {"TlsListen": ["127.0.0.1:%d" % tls_port]}
    if default:
        gw["DefaultCertificate"] = cert(pki, "default.test")
    gw.update(gw_extra or {})
    dom_a = dict(DomainName="a.test", **cert(pki, "a.test"))
    dom_b = dict(DomainName="b.test", **cert(pki, "b.test"))
    dom_b.update(b_extra or {})
    cfg = {"Gateway": gw, "Services": [
        service("sa", [api("a-echo", "/", backend)], domains=[dom_a]),
        service("sb", [mock_api("b-mock", "/", "hello b")], domains=[dom_b]),
    ]}
    return cfg, tls_port


def test_sni_picks_the_domain_certificate(make_gateway, backend, pki):
    cfg, port = two_domains(pki, backend)
    make_gateway(cfg)
    assert "CN = a.test" in peer_subject(port, "a.test")
    assert "CN = b.test" in peer_subject(port, "b.test")
    # Case does not matter in SNI.
    assert "CN = b.test" in peer_subject(port, "B.TEST")


def test_unknown_sni_gets_the_default_certificate(make_gateway, backend, pki):
    cfg, port = two_domains(pki, backend)
    make_gateway(cfg)
    assert "CN = default.test" in peer_subject(port, "unknown.test")
    assert "CN = default.test" in peer_subject(port, None)


def test_unknown_sni_is_refused_without_a_default(make_gateway, backend, pki):
    admin = free_port()
    cfg, port = two_domains(pki, backend, default=False,
                            gw_extra={"AdminListen": "127.0.0.1:%d" % admin})
    make_gateway(cfg)
    rc, out = s_client(port, "unknown.test")
    assert rc != 0 and "subject=" not in out, out
    rc, out = s_client(port, None)
    assert rc != 0 and "subject=" not in out, out
    assert "CN = a.test" in peer_subject(port, "a.test")
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % admin, timeout=5) as r:
        text = r.read().decode()
    assert re.search(r'switchyard_tls_handshake_failures_total\{reason="unknown_sni"\} 1\b', text), text
    assert re.search(r'switchyard_tls_handshake_failures_total\{reason="no_sni"\} 1\b', text), text
    assert re.search(r'switchyard_tls_handshakes_total\{version="TLSv1.3",alpn="none"\} 1\b', text), text


def test_https_request_is_proxied_with_forwarded_proto(make_gateway, backend, pki):
    cfg, port = two_domains(pki, backend)
    g = make_gateway(cfg)
    status, ver, body, err = curl(["--http1.1"] + https_args(pki, "a.test", port) +
                                  ["https://a.test:%d/release/x?q=1" % port])
    assert status == 200, err
    doc = json.loads(body)
    assert doc["path"] == "/x" and doc["query"] == "q=1"
    assert backend.last().header("X-Forwarded-Proto") == "https"
    # Plain HTTP says http.
    r = g.request("GET", "/release/y", host="a.test")
    assert r.status == 200
    assert backend.last().header("X-Forwarded-Proto") == "http"
    entries = g.access_entries(2)
    tls = [e for e in entries if e.get("tls")]
    plain = [e for e in entries if not e.get("tls")]
    assert tls and tls[0]["tls"] in ("TLSv1.3", "TLSv1.2") and tls[0]["alpn"] == "http/1.1"
    assert plain and plain[0]["alpn"] is None


def test_forced_https_redirects_plain_requests(make_gateway, backend, pki):
    cfg, port = two_domains(pki, backend, b_extra={"Protocol": "http&https", "IsForcedHttps": True})
    g = make_gateway(cfg)
    r = g.request("GET", "/release/p?x=1", host="b.test:%d" % g.port)
    assert r.status == 301, r
    assert r.header("Location") == "https://b.test:%d/release/p?x=1" % port
    # Over TLS the same domain answers.
    status, _, body, err = curl(https_args(pki, "b.test", port) + ["https://b.test:%d/release/p" % port])
    assert status == 200 and body == b"hello b", err
    # Other domains are not redirected.
    assert g.request("GET", "/release/p", host="a.test").status == 200


def test_protocol_restricts_the_scheme(make_gateway, backend, pki):
    cfg, port = two_domains(pki, backend, b_extra={"Protocol": "https"})
    cfg["Services"][0]["Domains"][0]["Protocol"] = "http"
    g = make_gateway(cfg)
    # b.test is https only: plain HTTP is misdirected.
    r = g.request("GET", "/release/p", host="b.test")
    assert r.status == 421, r
    status, _, body, _ = curl(https_args(pki, "b.test", port) + ["https://b.test:%d/release/p" % port])
    assert status == 200 and body == b"hello b"
    # a.test is http only: its certificate is not offered, and a request
    # that arrives over TLS anyway (default certificate) is misdirected.
    assert "CN = default.test" in peer_subject(port, "a.test")
    status, _, _, _ = curl(["-k", "--resolve", "a.test:%d:127.0.0.1" % port, "https://a.test:%d/release/p" % port])
    assert status == 421
    assert g.request("GET", "/release/p", host="a.test").status == 200


def test_scheme_condition_matches_only_over_tls(make_gateway, make_backend, pki):
    blue, green = make_backend("blue"), make_backend("green")
    port = free_port()

    def up(uid, b):
        return {"UpstreamId": uid, "UpstreamName": uid, "Scheme": "HTTP", "Algorithm": "ROUND-ROBIN",
                "Nodes": [{"Host": "127.0.0.1", "Port": b.port, "Weight": 100}]}
    g = make_gateway({
        "Gateway": {"TlsListen": ["127.0.0.1:%d" % port], "DefaultCertificate": cert(pki, "a.test")},
        "Upstreams": [up("u-blue", blue), up("u-green", green)],
        "Services": [service("svc", [api("root", "/", config={
            "Product": "upstream", "UpstreamId": "u-blue", "Path": "/", "Method": "ANY"})])],
        "Plugins": [{"PluginId": "p", "PluginName": "p", "PluginType": "Routing",
                     "PluginData": [{"strategy_name": "tls", "strategy_weight": 50,
                                     "condition": "sysparam.httpScheme = 'https'",
                                     "backend_type": "UPSTREAM",
                                     "backend_config": {"ServiceType": "HTTP", "ServiceConfig": {
                                         "Product": "upstream", "UpstreamId": "u-green",
                                         "Path": "/", "Method": "ANY"}}}],
                     "Attachments": [{"ServiceId": "svc", "EnvironmentName": "release",
                                      "ApiIds": ["root"]}]}]})
    assert g.request("GET", "/release/x").json()["backend"] == "blue"
    for extra in (["--http1.1"], ["--http2"]):
        status, _, body, err = curl(extra + https_args(pki, "a.test", port) + ["https://a.test:%d/release/x" % port])
        assert status == 200, err
        assert json.loads(body)["backend"] == "green"


def test_session_resumption_with_tickets(make_gateway, backend, pki, tmp_path):
    cfg, port = two_domains(pki, backend)
    make_gateway(cfg)
    sess = str(tmp_path / "sess.pem")
    for ver in ("-tls1_2", "-tls1_3"):
        # Linger so the TLS 1.3 ticket (sent after the handshake) arrives.
        rc, out = s_client(port, "a.test", [ver, "-sess_out", sess], linger=0.5)
        assert rc == 0 and os.path.getsize(sess) > 0, out
        rc, out = s_client(port, "a.test", [ver, "-sess_in", sess])
        assert "Reused" in out, out


def test_tls13_resumption_renews_the_ticket(make_gateway, backend, pki, tmp_path):
    # Clients use a TLS 1.3 ticket once: a resumed connection must get a
    # fresh one, or the next connection is a full handshake.
    cfg, port = two_domains(pki, backend)
    make_gateway(cfg)
    s1, s2 = str(tmp_path / "s1.pem"), str(tmp_path / "s2.pem")
    rc, out = s_client(port, "a.test", ["-tls1_3", "-sess_out", s1], linger=0.5)
    assert rc == 0 and os.path.getsize(s1) > 0, out
    rc, out = s_client(port, "a.test", ["-tls1_3", "-sess_in", s1, "-sess_out", s2], linger=0.5)
    assert "Reused" in out, out
    assert os.path.exists(s2) and os.path.getsize(s2) > 0, "no new ticket on resumption"
    rc, out = s_client(port, "a.test", ["-tls1_3", "-sess_in", s2])
    assert "Reused" in out, out


def test_tls_version_floor(make_gateway, backend, pki):
    cfg, port = two_domains(pki, backend, gw_extra={"Tls": {"MinVersion": "TLSv1.3"}})
    make_gateway(cfg)
    rc, out = s_client(port, "a.test", ["-tls1_2"])
    assert rc != 0 and "subject=" not in out
    rc, out = s_client(port, "a.test", ["-tls1_3"])
    assert rc == 0 and "TLSv1.3" in out


def _config_file(tmp_path, text):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return str(p)


BASE = """Gateway:
  Listen: ["127.0.0.1:1"]
  TlsListen: ["127.0.0.1:2"]
  AdminListen: "off"
Services:
  - ServiceId: s
    ServiceName: s
    Environments: [release]
    Domains:
      - DomainName: a.test
        CertificateFile: %s
        KeyFile: %s
    Apis:
      - {ApiId: m, ApiName: m, Path: /, Method: ANY, ServiceType: MOCK, ServiceMockReturnMessage: x}
"""


def test_certificate_problems_are_config_errors(tmp_path, pki):
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    cases = [
        (str(tmp_path / "missing.pem"), os.path.join(pki, "a.test.key"),
         r"CertificateFile: cannot read \S*missing\.pem: No such file"),
        (str(garbage), os.path.join(pki, "a.test.key"),
         r"CertificateFile: \S*garbage\.pem is not a usable PEM certificate"),
        (os.path.join(pki, "a.test.pem"), os.path.join(pki, "b.test.key"),
         r"KeyFile: \S*b\.test\.key does not match CertificateFile \S*a\.test\.pem"),
    ]
    for crt, key, want in cases:
        f = _config_file(tmp_path, BASE % (crt, key))
        p = run_cli("-t", "-c", f)
        assert p.returncode == 1, p.stdout + p.stderr
        assert re.search(r"c\.yaml:\d+:\d+: Services\[0\]\.Domains\[0\]\." + want, p.stderr), p.stderr


def test_expired_certificate_is_a_warning(tmp_path, pki):
    f = _config_file(tmp_path, BASE % (os.path.join(pki, "expired.test.pem"),
                                       os.path.join(pki, "expired.test.key")))
    p = run_cli("-t", "-c", f)
    assert p.returncode == 0, p.stderr
    assert re.search(r"warn.*Domains\[0\]\.CertificateFile: \S*expired\.test\.pem: certificate has expired",
                     p.stderr), p.stderr


def test_tls_listen_needs_a_certificate(tmp_path):
    f = _config_file(tmp_path, """Gateway:
  Listen: ["127.0.0.1:1"]
  TlsListen: ["127.0.0.1:2"]
  AdminListen: "off"
""")
    p = run_cli("-t", "-c", f)
    assert p.returncode == 1 and "no certificate configured" in p.stderr, p.stderr


def test_plain_http_to_the_tls_port_is_refused(make_gateway, backend, pki):
    cfg, port = two_domains(pki, backend)
    g = make_gateway(cfg)
    import socket
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
    data = b""
    try:
        while True:
            d = s.recv(4096)
            if not d:
                break
            data += d
    except OSError:
        pass
    s.close()
    assert b"HTTP/1.1 200" not in data
    assert g.alive()


def test_reload_swaps_the_certificate_under_a_running_download(make_gateway, backend, pki):
    size = 8 << 20
    backend.set_reply(Reply(body_size=size, body_parts=16, part_interval=0.1))
    cfg, port = two_domains(pki, backend)
    g = make_gateway(cfg)
    assert "O = a.test" in peer_subject(port, "a.test")
    result = {}

    def download():
        p = subprocess.run(["curl", "-sS", "--http1.1", "--limit-rate", "4M"] + https_args(pki, "a.test", port) +
                           ["https://a.test:%d/release/big" % port], capture_output=True, timeout=40)
        import hashlib
        result["sha"] = hashlib.sha256(p.stdout).hexdigest()
        result["len"] = len(p.stdout)
        result["rc"] = p.returncode
    t = threading.Thread(target=download)
    t.start()
    import time
    time.sleep(0.5)
    cfg["Services"][0]["Domains"][0].update(cert(pki, "a2.test"))
    assert g.reload(cfg) == "ok"
    # New handshakes get the new certificate (same name, other serial/O).
    assert "O = a2.test" in peer_subject(port, "a.test")
    t.join(45)
    assert result.get("rc") == 0, result
    assert result["len"] == size and result["sha"] == pattern_sha256(size)
