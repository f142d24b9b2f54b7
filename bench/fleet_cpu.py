#!/usr/bin/python3
"""CPU cost of one change on each gateway of a fleet with many policies.

    /usr/bin/python3 bench/fleet_cpu.py [POLICIES] [GATEWAYS]

Starts one etcd (loopback, data on /dev/shm), imports a configuration of
POLICIES routing policies (100 plugins, each attached to its own API), starts
GATEWAYS gateways on it, then makes single-object changes through the first
gateway's admin API (one plugin's Description, then one upstream's node) and
reports, per change: the admin call's time, the time until every gateway
applied it, and the CPU time (user+system, /proc/PID/stat) each gateway spent.
Not part of `make test`; numbers go to doc/fleet.md.
"""
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

from syharness.etcd import Etcd  # noqa: E402
from syharness.gateway import BIN, free_port  # noqa: E402
from syharness import yamlgen  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_ms(pid):
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) * 1000.0 / TICK


def call(port, method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, json.loads(data)


def main():
    n_pol = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    n_gw = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    n_plug = 100
    per = n_pol // n_plug
    work = tempfile.mkdtemp(prefix="sy-fleet-cpu-")
    e = Etcd(1).start()
    procs = []
    try:
        prefix = "/bench"
        store = {"Type": "etcd", "Endpoints": e.endpoints, "Prefix": prefix,
                 "RequestTimeout": 120}
        ports = []
        for i in range(n_gw):
            port, aport = free_port(), free_port()
            ports.append((port, aport))
            with open(os.path.join(work, "gw%d.yaml" % i), "w") as f:
                f.write(yamlgen.dump({"Gateway": {
                    "Listen": ["127.0.0.1:%d" % port], "AdminListen": "127.0.0.1:%d" % aport,
                    "Workers": 1, "AccessLog": "off", "ConfigStore": store}}))
        ups = [{"UpstreamId": "up-%d" % k, "Nodes": [{"Host": "127.0.0.1", "Port": 9000 + k,
                                                      "Weight": 100}]} for k in range(2)]
        apis = [{"ApiId": "api-%d" % p, "Path": "/p%d" % p, "ServiceType": "HTTP",
                 "ServiceConfig": {"Product": "upstream", "UpstreamId": "up-0", "Path": "/"}}
                for p in range(n_plug)]
        plugins = [{"PluginId": "plugin-%d" % p, "PluginType": "Routing",
                    "PluginData": [{"strategy_name": "s%d" % j, "strategy_weight": 50,
                                    "condition": "header.X-User = 'u%d-%d'" % (p, j),
                                    "backend_type": "UPSTREAM",
                                    "backend_config": {"ServiceConfig": {
                                        "Product": "upstream", "UpstreamId": "up-1",
                                        "Path": "/"}}} for j in range(per)],
                    "Attachments": [{"ServiceId": "svc", "EnvironmentName": "release",
                                     "ApiIds": ["api-%d" % p]}]} for p in range(n_plug)]
        objs = os.path.join(work, "objects.yaml")
        with open(objs, "w") as f:
            f.write(yamlgen.dump({"Upstreams": ups, "Services": [
                {"ServiceId": "svc", "Environments": ["release"], "Apis": apis}],
                "Plugins": plugins}))
        t0 = time.time()
        r = subprocess.run([BIN, "store", "import", "-c", os.path.join(work, "gw0.yaml"), objs],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        print("import of %d policies: %.2f s (%s)" % (n_pol, time.time() - t0, r.stdout.strip()))
        for i in range(n_gw):
            procs.append(subprocess.Popen([BIN, "-c", os.path.join(work, "gw%d.yaml" % i)],
                                          stdout=subprocess.DEVNULL,
                                          stderr=open(os.path.join(work, "gw%d.log" % i), "w")))
        deadline = time.time() + 600
        for _, aport in ports:
            while True:
                try:
                    call(aport, "GET", "/v1/status")
                    break
                except OSError:
                    assert time.time() < deadline
                    time.sleep(0.2)
        time.sleep(1)

        def applied():
            return [call(a, "GET", "/v1/status")[1]["config_store"]["applied_revision"]
                    for _, a in ports]

        changes = [("plugin Description", "PATCH", "/v1/plugins/plugin-7",
                    {"Description": "bench"}),
                   ("upstream node", "PATCH", "/v1/upstreams/up-0",
                    {"Nodes": [{"Host": "127.0.0.1", "Port": 9100, "Weight": 100}]}),
                   ("one policy", "PATCH", "/v1/plugins/plugin-3",
                    {"Description": "again"})]
        for name, m, path, body in changes:
            before = [cpu_ms(p.pid) for p in procs]
            t = time.time()
            st, doc = call(ports[0][1], m, path, body)
            took = time.time() - t
            assert st == 200, doc
            want = max(applied())
            while min(applied()) < want:
                time.sleep(0.005)
            conv = time.time() - t
            time.sleep(1.0)  # the cache file is written after the publish
            after = [cpu_ms(p.pid) for p in procs]
            print("%s: admin call %.0f ms, all %d gateways applied after %.0f ms; CPU per "
                  "gateway (ms): %s" % (name, took * 1000, n_gw, conv * 1000,
                                        ", ".join("%.0f" % (a - b)
                                                  for a, b in zip(after, before))))
        rss = []
        for p in procs:
            with open("/proc/%d/status" % p.pid) as f:
                rss += [ln.split()[1] for ln in f if ln.startswith("VmRSS")]
        print("RSS per gateway (kB): %s" % ", ".join(rss))
    finally:
        for p in procs:
            p.terminate()
            p.wait(30)
        e.stop()


if __name__ == "__main__":
    main()
