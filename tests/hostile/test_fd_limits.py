"""File-descriptor exhaustion (issue 9 item 5).  The gateway runs with a
small RLIMIT_NOFILE and a flood of idle connections far above it.  It must
derive its connection caps from the limit (and say so at start), keep
descriptors for the admin listener and the health prober, not spin, never
blame a healthy node for its own EMFILE, and serve again at once when the
flood is gone."""
import os
import resource
import socket
import time

from syharness.backend import Reply
from syharness.admin import Admin
from syharness.gateway import free_port
from test_upstreams import config, health, ups

NOFILE = 256


def low_nofile():
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))


def node(doc):
    return doc["nodes"][0]


def test_fd_flood_does_not_eject_a_healthy_node(make_gateway, backend):
    backend.set_reply(Reply(status=200, body=b"ok"))
    aport = free_port()
    up = ups("up-a", [(backend, None, 10)], HealthChecker=health(
        EnableActiveCheck=True, ActiveCheckHttpPath="/healthz", ActiveCheckInterval=0.1,
        ActiveCheckTimeout=1, TcpFailureThreshold=0, TimeoutThreshold=1, HttpFailureThreshold=1))
    g = make_gateway(config([up], admin_port=aport, Workers=2), start=False)
    g.start(preexec_fn=low_nofile)
    # The configured 10,000 + 10,000 per worker cannot fit in 256: said at start.
    assert g.wait_log(r"file descriptor limit 256 does not fit", timeout=3), g.stderr()
    assert g.request("GET", "/release/up-a").status == 200

    flood = []
    try:
        for _ in range(NOFILE + 100):
            s = socket.socket()
            s.settimeout(2)
            try:
                s.connect(("127.0.0.1", g.port))
            except OSError:
                s.close()
                continue
            flood.append(s)
        cpu0 = cpu_seconds(g.pid)
        time.sleep(1.0)  # ten probe intervals with the flood held
        spent = cpu_seconds(g.pid) - cpu0
        # The admin listener kept its descriptors: it answers during the flood.
        adm = Admin(aport, timeout=2)
        st, doc = adm.call("GET", "/v1/upstreams/up-a/health")
        adm.close()
        assert st == 200, doc
        assert node(doc)["state"] == "healthy", doc
        assert node(doc)["probe_failures"] == 0, doc
    finally:
        for s in flood:
            s.close()
    assert spent < 0.5, "gateway used %.2f s of CPU in 1 s while flooded (spinning?)" % spent

    # Served again as soon as the flood is gone, by a node never ejected.
    deadline = time.time() + 3
    while True:
        try:
            r = g.request("GET", "/release/up-a", timeout=2)
            if r.status == 200:
                break
        except OSError:
            pass
        assert time.time() < deadline, "not served after the flood"
        time.sleep(0.05)
    adm = Admin(aport, timeout=2)
    st, doc = adm.call("GET", "/v1/upstreams/up-a/health")
    adm.close()
    assert node(doc)["ejections"] == 0, doc
    assert node(doc)["probe_failures"] == 0, doc
