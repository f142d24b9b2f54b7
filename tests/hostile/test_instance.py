"""A second instance must not start beside the first: not on the same
configuration file (both would rewrite it and lose acknowledged admin
changes), and not on the same listening address (SO_REUSEPORT used to let
any process of the same user join and take half of the connections)."""
import re
import subprocess

from syharness.admin import Admin
from syharness.gateway import BIN, free_port, simple_config


def run_second(config_path):
    return subprocess.run([BIN, "-c", config_path], capture_output=True, text=True, timeout=10,
                          stdin=subprocess.DEVNULL)


def test_second_instance_on_same_file_is_refused(make_gateway, backend):
    g = make_gateway(simple_config(backend))
    p = run_second(g.config_path)
    assert p.returncode != 0, p.stderr
    assert g.config_path in p.stderr, p.stderr
    assert re.search(r"pid %d\b" % g.pid, p.stderr), p.stderr
    # The first one is untouched.
    assert g.request("GET", "/release/echo").status == 200


def test_lock_survives_admin_rewrites_of_the_file(make_gateway, backend):
    aport = free_port()
    cfg = simple_config(backend)
    cfg["Gateway"] = {"AdminListen": "127.0.0.1:%d" % aport}
    g = make_gateway(cfg)
    adm = Admin(aport)
    # An admin change replaces the file's inode (temporary file + rename).
    st, _ = adm.call("POST", "/v1/upstreams", {
        "UpstreamId": "up-x", "UpstreamName": "x",
        "Nodes": [{"Host": "127.0.0.1", "Port": backend.port, "Weight": 10}]})
    adm.close()
    assert st in (200, 201), st
    p = run_second(g.config_path)
    assert p.returncode != 0, p.stderr
    assert "pid %d" % g.pid in p.stderr, p.stderr


def test_other_config_on_the_same_port_is_refused(make_gateway, backend, tmp_path):
    g = make_gateway(simple_config(backend))
    other = tmp_path / "other.yaml"
    other.write_text(g.config_text.replace(g.config_path, str(other)))
    p = run_second(str(other))
    assert p.returncode != 0, p.stderr
    assert re.search(r"listen 127\.0\.0\.1:%d: Address already in use" % g.port, p.stderr), p.stderr
    for _ in range(20):  # every connection still reaches the first one
        assert g.request("GET", "/release/echo").status == 200
