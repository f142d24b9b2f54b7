"""/metrics after real traffic (HTTP/1.1, TLS, HTTP/2 over TLS): promtool
accepts it with no lint problem, the counts and histograms agree with the
requests sent, connection gauges follow open connections, reloads are
counted, and every metric family is documented in doc/metrics.md (and every
documented one exists)."""
import os
import re
import signal
import socket
import subprocess
import time

import pytest

from syharness.admin import Admin
from syharness.client import build
from syharness.gateway import REPO, api, free_port, mock_api, service
from tlsutil import cert, curl, https_args, make_pki

TOKEN = "metrics-token"
HOST = "a.test"
PROMTOOL = "/usr/bin/promtool"

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """[(name, {label: value}, float)] and {family: type} from exposition text."""
    samples, types = [], {}
    for ln in text.splitlines():
        if ln.startswith("# TYPE "):
            _, _, name, typ = ln.split(" ", 3)
            types[name] = typ
            continue
        if not ln or ln.startswith("#"):
            continue
        m = LINE.match(ln)
        assert m, "unparsable sample line %r" % ln
        labels = {k: re.sub(r'\\(.)', lambda x: {"n": "\n"}.get(x.group(1), x.group(1)), v)
                  for k, v in LABEL.findall(m.group(2) or "")}
        samples.append((m.group(1), labels, float(m.group(3))))
    return samples, types


def pick(samples, name, **want):
    return [(lab, v) for n, lab, v in samples
            if n == name and all(lab.get(k) == w for k, w in want.items())]


def one(samples, name, **want):
    got = pick(samples, name, **want)
    assert len(got) == 1, "%s%r: %r" % (name, want, got)
    return got[0][1]


# A policy name with every kind of character a policy name may hold.
QUIET = "quiet-v2.0_%~{x}?a=b&c/d"


def upstream(uid, b):
    return {"UpstreamId": uid, "UpstreamName": uid, "Algorithm": "ROUND-ROBIN",
            "Nodes": [{"Host": "127.0.0.1", "Port": b.port, "Weight": 100}]}


def ups_config(uid, path="/"):
    return {"Product": "upstream", "UpstreamId": uid, "Path": path, "Method": "ANY"}


def config(pki, blue, green, admin_port, tls_port):
    dom = dict(DomainName=HOST, **cert(pki, "a.test"))
    return {
        "Gateway": {"AdminListen": "127.0.0.1:%d" % admin_port, "AdminToken": TOKEN,
                    "Workers": 2, "TlsListen": ["127.0.0.1:%d" % tls_port]},
        "Upstreams": [upstream("up-blue", blue), upstream("up-green", green)],
        "Services": [service("shop", [
            mock_api("api-ping", "=/ping", "pong", method="GET"),
            api("api-orders", "/orders", config=ups_config("up-blue")),
        ], domains=[dom])],
        "Plugins": [{"PluginId": "plugin-canary", "PluginName": "canary", "PluginType": "Routing",
                     "PluginData": [{
                         "strategy_name": "canary", "strategy_weight": 50,
                         "condition": "header.X-Canary = '1'", "backend_type": "UPSTREAM",
                         "backend_config": {"ServiceType": "HTTP",
                                            "ServiceConfig": ups_config("up-green")}}, {
                         "strategy_name": QUIET, "strategy_weight": 10,
                         "condition": "header.X-Quiet = '1'", "backend_type": "UPSTREAM",
                         "backend_config": {"ServiceType": "HTTP",
                                            "ServiceConfig": ups_config("up-green")}}],
                     "Attachments": [{"ServiceId": "shop", "EnvironmentName": "release",
                                      "ApiIds": ["api-orders"]}]}],
        # A rollout on a policy no request here matches: its families are
        # written (and checked) without changing the counts above.
        "Rollouts": [{"RolloutId": "rollout-quiet", "PluginId": "plugin-canary",
                      "StrategyName": QUIET, "Steps": [10, 100], "StepInterval": 3600,
                      "Analysis": {"Interval": 60, "MinRequests": 10, "FailureLimit": 1,
                                   "MaxErrorRate": 0.02}}]}


# What the traffic fixture sends (the counts the metrics must show).
N_PING_PLAIN = 5          # GET /release/ping over HTTP/1.1, one keep-alive connection
N_POST_BLUE = 4           # POST /release/orders with BODY, to up-blue
N_CANARY = 3              # GET /release/orders with X-Canary: 1, to up-green
N_PING_TLS = 3            # HTTP/1.1 over TLS, one connection each
N_PING_H2 = 2             # HTTP/2 over TLS, one connection each
BODY = b"x" * 1000


@pytest.fixture(scope="module")
def env(make_module_gateway, tmp_path_factory):
    from syharness.backend import Backend
    pki = make_pki(tmp_path_factory.mktemp("pki"))
    blue, green = Backend("blue"), Backend("green")
    admin_port, tls_port = free_port(), free_port()
    g = make_module_gateway(config(pki, blue, green, admin_port, tls_port))
    adm = Admin(admin_port, TOKEN)
    t0 = time.time()
    c = g.client()

    def req(method, target, headers=(), body=None):
        c.send(build(method, target, HOST, headers, body))
        assert c.read_response(method).status == 200

    for _ in range(N_PING_PLAIN):
        req("GET", "/release/ping")
    for _ in range(N_POST_BLUE):
        req("POST", "/release/orders", body=BODY)
    for _ in range(N_CANARY):
        req("GET", "/release/orders", headers=[("X-Canary", "1")])
    c.close()
    base = "https://%s:%d/release/ping" % (HOST, tls_port)
    for flag, n, want_ver in (("--http1.1", N_PING_TLS, "1.1"), ("--http2", N_PING_H2, "2")):
        for _ in range(n):
            st, ver, body, err = curl([flag] + https_args(pki, HOST, tls_port) + [base])
            assert (st, ver, body) == (200, want_ver, b"pong"), err
    elapsed = time.time() - t0
    time.sleep(0.2)  # the last access-log hooks run after the responses went out
    yield {"g": g, "adm": adm, "elapsed": elapsed, "pki": pki, "tls_port": tls_port,
           "blue": blue, "green": green}
    adm.close()
    blue.close()
    green.close()


def scrape(adm):
    st, hdrs, data = adm.raw("GET", "/metrics")
    assert st == 200, data
    assert hdrs["content-type"].startswith("text/plain; version=0.0.4"), hdrs
    return data.decode()


def test_promtool_accepts_with_no_lint_problem(env):
    text = scrape(env["adm"])
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=20)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.strip() == "" and p.stderr.strip() == "", p.stdout + p.stderr


def test_promtool_refuses_a_broken_exposition(env):
    """The check above can fail: a counter without _total is a lint problem."""
    bad = "# HELP x_requests Bad.\n# TYPE x_requests counter\nx_requests 1\n"
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=bad, capture_output=True,
                       text=True, timeout=20)
    assert p.returncode != 0 and "_total" in p.stdout + p.stderr, p


def test_request_counts_match_what_was_sent(env):
    s, types = parse(scrape(env["adm"]))
    ping = N_PING_PLAIN + N_PING_TLS + N_PING_H2
    key = dict(service="shop", env="release")
    assert one(s, "switchyard_requests_total", api="api-ping", code_class="2xx", **key) == ping
    assert one(s, "switchyard_requests_total", api="api-orders", code_class="2xx",
               **key) == N_POST_BLUE + N_CANARY
    assert types["switchyard_request_duration_seconds"] == "histogram"
    assert one(s, "switchyard_request_duration_seconds_count", api="api-ping", **key) == ping
    assert one(s, "switchyard_request_duration_seconds_count", api="api-orders",
               **key) == N_POST_BLUE + N_CANARY
    # Bodies received: only the POSTs carried one.
    assert one(s, "switchyard_received_bytes_total", api="api-orders", **key) == \
        N_POST_BLUE * len(BODY)
    assert one(s, "switchyard_received_bytes_total", api="api-ping", **key) == 0
    # Sent: at least the bodies ("pong") plus a status line per response.
    sent = one(s, "switchyard_sent_bytes_total", api="api-ping", **key)
    assert ping * (len("pong") + len("HTTP/1.1 200 OK\r\n")) <= sent < ping * 2000, sent


def test_histograms_are_consistent(env):
    s, types = parse(scrape(env["adm"]))
    hists = [n for n, t in types.items() if t == "histogram"]
    assert set(hists) >= {"switchyard_request_duration_seconds",
                          "switchyard_policy_request_duration_seconds",
                          "switchyard_upstream_request_duration_seconds"}, hists
    checked = 0
    for h in hists:
        for lab, count in pick(s, h + "_count"):
            buckets = sorted(((float(bl["le"]), v) for bl, v in pick(s, h + "_bucket", **lab)))
            assert buckets[-1][0] == float("inf") and buckets[-1][1] == count, (h, lab)
            vals = [v for _, v in buckets]
            assert vals == sorted(vals), (h, lab, buckets)   # cumulative
            total = one(s, h + "_sum", **lab)
            # Every request took some time, none longer than the whole traffic run.
            if count:
                assert 0 < total <= env["elapsed"] * 1.5 + 0.1, (h, lab, total)
                checked += 1
            else:
                assert total == 0, (h, lab, total)
    assert checked >= 5, checked


def test_policy_and_upstream_series(env):
    s, _ = parse(scrape(env["adm"]))
    pol = dict(plugin="plugin-canary", policy="canary")
    assert one(s, "switchyard_policy_matches_total", **pol) == N_CANARY
    assert one(s, "switchyard_rollout_weight", rollout="rollout-quiet", policy=QUIET) == 10
    assert one(s, "switchyard_policy_requests_total", code_class="2xx", **pol) == N_CANARY
    assert one(s, "switchyard_policy_request_duration_seconds_count", **pol) == N_CANARY
    assert one(s, "switchyard_upstream_request_duration_seconds_count",
               upstream="up-green") == N_CANARY
    assert one(s, "switchyard_upstream_request_duration_seconds_count",
               upstream="up-blue") == N_POST_BLUE
    # The node counters agree with the upstream histogram.
    node = "127.0.0.1:%d" % env["green"].port
    assert one(s, "switchyard_upstream_node_requests_total", upstream="up-green",
               node=node) == N_CANARY


def test_tls_handshakes_by_result(env):
    s, _ = parse(scrape(env["adm"]))
    ok = {(lab["version"], lab["alpn"]): v for lab, v in pick(s, "switchyard_tls_handshakes_total")}
    assert sum(ok.values()) == N_PING_TLS + N_PING_H2, ok
    assert ok.get(("TLSv1.3", "h2")) == N_PING_H2, ok
    # A client offering only TLS 1.1 fails; counted by its reason.
    before = one(s, "switchyard_tls_handshake_failures_total", reason="protocol_version")
    subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % env["tls_port"],
                    "-servername", HOST, "-tls1_1"], input="", capture_output=True, timeout=10)
    deadline = time.time() + 3
    while time.time() < deadline:
        s, _ = parse(scrape(env["adm"]))
        if one(s, "switchyard_tls_handshake_failures_total", reason="protocol_version") > before:
            break
        time.sleep(0.05)
    assert one(s, "switchyard_tls_handshake_failures_total",
               reason="protocol_version") == before + 1


def gauge_until(adm, name, pred, timeout=3.0):
    deadline = time.time() + timeout
    while True:
        s, _ = parse(scrape(adm))
        v = one(s, name)
        if pred(v) or time.time() > deadline:
            return v
        time.sleep(0.05)


def test_open_client_and_backend_connections(env):
    g, adm = env["g"], env["adm"]
    assert gauge_until(adm, "switchyard_client_connections", lambda v: v == 0) == 0
    socks = []
    for _ in range(3):
        sk = socket.create_connection(("127.0.0.1", g.port), timeout=5)
        sk.sendall(b"GET /release/orders HTTP/1.1\r\nHost: a.test\r\n\r\n")
        assert sk.recv(65536).startswith(b"HTTP/1.1 200"), "no answer"
        socks.append(sk)
    assert gauge_until(adm, "switchyard_client_connections", lambda v: v == 3) == 3
    # The backend connections used stay pooled (keep-alive backend).
    assert gauge_until(adm, "switchyard_backend_connections", lambda v: v >= 1) >= 1
    for sk in socks:
        sk.close()
    assert gauge_until(adm, "switchyard_client_connections", lambda v: v == 0) == 0


def test_build_info_and_start_time(env):
    s, types = parse(scrape(env["adm"]))
    st, status = env["adm"].call("GET", "/v1/status")
    assert st == 200
    (lab, v), = pick(s, "switchyard_build_info")
    assert v == 1 and lab["version"] == status["version"] and lab["openssl"].startswith("OpenSSL")
    started = one(s, "switchyard_start_time_seconds")
    assert abs((time.time() - started) - status["uptime_seconds"]) < 3, (started, status)


def test_reloads_counted_with_last_result(env, make_gateway, make_backend):
    b = make_backend("r")
    admin_port = free_port()
    g = make_gateway({"Gateway": {"AdminListen": "127.0.0.1:%d" % admin_port},
                      "Services": [service("s", [api("a", "/", b)])]})
    adm = Admin(admin_port)
    s, _ = parse(scrape(adm))
    assert one(s, "switchyard_config_reloads_total") == 0
    assert one(s, "switchyard_config_last_reload_timestamp_seconds") == 0
    assert one(s, "switchyard_config_last_reload_success") == 1
    g.reload()   # the same file: a good reload
    s, _ = parse(scrape(adm))
    assert one(s, "switchyard_config_reloads_total") == 1
    assert abs(one(s, "switchyard_config_last_reload_timestamp_seconds") - time.time()) < 5
    with open(g.config_path, "a") as f:
        f.write("Bogus: [\n")
    since = g.log_size()
    g.signal(signal.SIGHUP)
    g.wait_log("reload failed", since=since)
    deadline = time.time() + 3
    while one(s, "switchyard_config_reload_failures_total") < 1 and time.time() < deadline:
        time.sleep(0.05)
        s, _ = parse(scrape(adm))
    assert one(s, "switchyard_config_reload_failures_total") == 1
    assert one(s, "switchyard_config_last_reload_success") == 0
    st, status = adm.call("GET", "/v1/status")
    lr = status["last_reload"]
    assert lr["ok"] is False and "YAML" in lr["error"], lr
    adm.close()


# ---- documentation ----

DOC = os.path.join(REPO, "doc", "metrics.md")


def documented():
    """Metric names doc/metrics.md lists: the first column of its tables."""
    names = set()
    with open(DOC) as f:
        for ln in f:
            m = re.match(r"^\|\s*`(switchyard_[a-z0-9_]+)`\s*\|", ln)
            if m:
                names.add(m.group(1))
    return names


def in_source():
    """Every family name the C source spells out (some only appear with etcd
    or Kubernetes tunnels configured, so the scrape alone is not enough).
    A histogram's _bucket/_sum/_count lines name their family; a prefix
    completed by a format ("switchyard_rollout_%s_total") is left to the
    scrape, whose configuration has a rollout."""
    names = set()
    for root, _, files in os.walk(os.path.join(REPO, "src")):
        for fn in files:
            if fn.endswith(".c"):
                with open(os.path.join(root, fn)) as f:
                    found = re.findall(r'"(switchyard_[a-z0-9_]+)', f.read())
                names.update(re.sub(r"_(bucket|sum|count)$", "", n) for n in found
                             if not n.endswith("_"))
    return names


def test_every_metric_is_documented_and_every_documented_one_exists(env):
    s, types = parse(scrape(env["adm"]))
    doc = documented()
    assert len(doc) >= 30, doc
    scraped = set(types)
    assert scraped - doc == set(), "undocumented in doc/metrics.md: %s" % sorted(scraped - doc)
    assert "switchyard_rollout_requests_total" in scraped, sorted(scraped)
    src = in_source()
    assert src - doc == set(), "written by src/ but not in doc/metrics.md: %s" % sorted(src - doc)
    unseen = doc - src - scraped
    assert unseen == set(), "in doc/metrics.md but no code writes it: %s" % sorted(unseen)


def test_traffic_json_reads_the_same_counters(env):
    """GET /v1/traffic (the dashboard's live page) agrees with /metrics."""
    s, _ = parse(scrape(env["adm"]))
    st, doc = env["adm"].call("GET", "/v1/traffic")
    assert st == 200, doc
    assert len(doc["bucket_bounds"]) == 16 and doc["bucket_bounds"][-1] == 10
    apis = {(a["service"], a["env"], a["api"]): a for a in doc["apis"]}
    for (svc, e, a), row in apis.items():
        want = sum(v for _, v in pick(s, "switchyard_requests_total", service=svc, env=e, api=a))
        assert row["requests"] == want == sum(row["classes"].values()) == sum(row["buckets"]), row
        assert row["bytes_in"] == one(s, "switchyard_received_bytes_total", service=svc, env=e, api=a)
        assert abs(row["sum_seconds"] -
                   one(s, "switchyard_request_duration_seconds_sum", service=svc, env=e, api=a)) < 1e-6
    assert apis[("shop", "release", "api-orders")]["service_name"] == "shop"
    pol = {(p["plugin"], p["policy"]): p for p in doc["policies"]}
    assert pol[("plugin-canary", "canary")]["matched"] == N_CANARY
    ups = {u["upstream"]: u for u in doc["upstreams"]}
    assert ups["up-green"]["requests"] == N_CANARY and ups["up-blue"]["requests"] >= N_POST_BLUE
