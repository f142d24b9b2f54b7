"""Statements and examples of doc/*.md (other than the admin API's curl
examples, see test_doc_admin_examples.py) checked against the real binary,
so a change that makes one of them false fails here."""
import json
import os
import re
import subprocess

from syharness.admin import Admin
from syharness.gateway import BIN, free_port

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOKEN = "doc-example-token-0123456789abcdef0123456789"


def doc(name):
    with open(os.path.join(REPO, "doc", name)) as f:
        return f.read()


def fenced(text, after, lang=""):
    """The first ```lang block after the text `after`."""
    i = text.index(after)
    i = text.index("```" + lang + "\n", i) + len(lang) + 4
    return text[i:text.index("```", i)]


def run(*args, cwd=REPO):
    return subprocess.run([BIN] + list(args), cwd=cwd, capture_output=True, text=True,
                          timeout=20)


def test_expressions_explain_example(tmp_path):
    """doc/expressions.md: the demo configuration and the explain output
    shown for it, byte for byte."""
    text = doc("expressions.md")
    (tmp_path / "demo.yaml").write_text(fenced(text, "With this configuration", "yaml"))
    shown = fenced(text, "is explained as:").split("\n")
    cmd = shown[0]
    assert cmd.startswith("$ switchyard explain "), cmd
    args = [a.strip("'") for a in re.findall(r"'[^']*'|\S+", cmd[len("$ switchyard "):])]
    r = run(*args, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "\n".join(shown[1:]), r.stdout


def test_expressions_tencent_differences(tmp_path):
    """doc/expressions.md's two stated differences from Tencent."""
    cfg = """Gateway: {Listen: ["127.0.0.1:8080"]}
Services:
  - ServiceId: s
    Environments: [release]
    Apis: [{ApiId: a, Path: /, ServiceType: MOCK, ServiceMockReturnMessage: x}]
Plugins:
  - PluginId: p
    PluginType: Routing
    PluginData: [{strategy_name: x, condition: "%s", backend_type: MOCK,
                  backend_config: {ServiceMockReturnMessage: y}}]
    Attachments: [{ServiceId: s, EnvironmentName: release, ApiIds: [a]}]
"""
    f = tmp_path / "c.yaml"
    f.write_text(cfg % "param.unknown = 1")
    r = run("-t", "-c", str(f))
    assert r.returncode != 0 and "unknown parameter location 'param'" in r.stderr, r
    f.write_text(cfg % "sysparam.httpScheme = 'HTTPS'")
    r = run("explain", "-c", str(f), "--scheme", "https", "GET", "/release/x")
    assert "no match" in r.stdout and "(value: 'https')" in r.stdout, r.stdout


def test_explain_cli_example():
    """doc/explain.md's `switchyard explain` example on the shipped example."""
    shown = fenced(doc("explain.md"), "Example (`examples/tke-conditional-routing.yaml`)")
    lines = shown.split("\n")
    args = [a.strip("'") for a in re.findall(r"'[^']*'|\S+", lines[0][len("$ switchyard "):])]
    r = run(*args)
    assert r.stdout == "\n".join(lines[1:]), r.stdout


def test_status_and_dump(make_gateway):
    """doc/explain.md's /v1/status shape; doc/config.md's "Dumping", run on
    doc/config.md's own example."""
    aport = free_port()
    cfg = fenced(doc("config.md"), "## Example", "yaml")
    cfg = cfg.replace('"0.0.0.0:8080"', '"$LISTEN"').replace("127.0.0.1:9180",
                                                              "127.0.0.1:%d" % aport)
    cfg = cfg.replace("Gateway:\n", "Gateway:\n  AdminToken: %s\n  ConnectTimeout: 2.5\n"
                      "  AccessLog: $ACCESS_LOG\n" % TOKEN, 1)
    g = make_gateway(cfg)
    a = Admin(aport, TOKEN)
    try:
        st, status = a.call("GET", "/v1/status")
        assert st == 200
        shown = json.loads(fenced(doc("explain.md"), "### `GET /v1/status`", "json"))

        def shape(d):
            return {k: shape(v) if isinstance(v, dict) else type(v) for k, v in d.items()}
        assert shape(status) == shape(shown), (status, shown)
        assert status["config_generation"] == 1 and status["config_version"] == 0

        st, hdrs, body = a.raw("GET", "/v1/config")
        assert st == 200
        y = body.decode()
    finally:
        a.close()
    assert "  ConnectTimeout: 2.500\n" in y            # fractional: three decimals
    assert "  RequestHeaderTimeout: 10\n" in y         # whole: no decimals
    assert TOKEN not in y
    # The sample's lines appear in the real dump, in order.
    real = y.replace("127.0.0.1:%d" % g.port, "0.0.0.0:8080").replace(
        "127.0.0.1:%d" % aport, "127.0.0.1:9180").split("\n")
    pos = 0
    for line in fenced(doc("config.md"), "## Dumping", "yaml").rstrip("\n").split("\n"):
        if line.strip() == "...":
            continue
        assert line in real[pos:], "doc/config.md dump line %r not in the real dump:\n%s" % (line, y)
        pos = real.index(line, pos) + 1


def test_plugin_policy_count_not_capped_at_10(tmp_path):
    """doc/config.md: Tencent's cap of 10 policies is not enforced."""
    pols = ",".join('{strategy_name: p%d, condition: "header.t = \'%d\'", backend_type: MOCK, '
                    'backend_config: {ServiceMockReturnMessage: x}}' % (i, i) for i in range(11))
    f = tmp_path / "c.yaml"
    f.write_text("Plugins: [{PluginId: p, PluginType: Routing, PluginData: [%s]}]\n" % pols)
    r = run("-t", "-c", str(f))
    assert r.returncode == 0, r.stderr


def test_tls_certificates_read_only_with_tlslisten(tmp_path):
    """doc/tls-http2.md: certificate files are read only when TlsListen is
    set."""
    cfg = """Gateway:
  Listen: ["127.0.0.1:8080"]
%s  DefaultCertificate: {CertificateFile: /nonexistent/d.pem, KeyFile: /nonexistent/d.key}
"""
    f = tmp_path / "c.yaml"
    f.write_text(cfg % "")
    r = run("-t", "-c", str(f))
    assert r.returncode == 0, r.stderr
    f.write_text(cfg % "  TlsListen: [\"127.0.0.1:8443\"]\n")
    r = run("-t", "-c", str(f))
    assert r.returncode != 0 and "DefaultCertificate.CertificateFile" in r.stderr, r.stderr


def test_rollouts_worked_example(tmp_path):
    """doc/rollouts.md: the rollout of the TKE example's UserName policy
    loads with the example, and explain shows the arm line as the doc
    does."""
    text = doc("rollouts.md")
    block = fenced(text, "add a rollout", "yaml")
    with open(os.path.join(REPO, "examples", "tke-conditional-routing.yaml")) as f:
        example = f.read()
    cfg = tmp_path / "tke-rollout.yaml"
    cfg.write_text(example + "\n" + block)
    r = run("-t", "-c", str(cfg))
    assert r.returncode == 0, r.stdout + r.stderr
    r = run("explain", "-c", str(cfg), "-H", "UserName: admin", "-H", "UserId: u1",
            "GET", "/release/orders")
    assert r.returncode == 0, r.stderr
    # Not started yet (no controller runs in the CLI): Pending, share 0.
    line = re.search(r"rollout rollout-admin-tke \(Pending, step 1\): bucket \S+ >= share 0% -> "
                     r"baseline arm", r.stdout)
    assert line, r.stdout
    shown = fenced(text, "and the arm:")
    assert re.match(r"rollout rollout-admin-tke \(Progressing, step 1\): bucket \S+ < share 5% -> "
                    r"canary arm: this policy serves the request\n", shown), shown
