#!/usr/bin/python3
"""TKE tunnel discovery under churn: 1,000 pods in one service (ten
EndpointSlices of 100), 100 pod changes per second (a pod flips ready or
moves to a new address; two per slice write, 50 writes/s, which the
Python fake sustains on a busy 2-core machine) from the fake API server
(tests/integration/syharness/fakekube.py), while wrk drives the data plane
through the tunnel to one nginx that answers for every pod address.

Reports the discovery thread's CPU (from /proc/PID/task/*/stat of the
thread named sy-k8s), the gateway's resident memory, and wrk's p99 latency
without and with the churn.  Bounded (about 40 s); every process it starts
is stopped by PID.

    make && /usr/bin/python3 bench/k8s-churn.py [SECONDS_PER_PHASE]
"""
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from syharness.fakekube import FakeKube  # noqa: E402
from syharness.gateway import Gateway, api, free_port, service  # noqa: E402

PHASE = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
PODS, PER_SLICE, RATE = 1000, 100, 100
PER_WRITE = 2   # pod changes per slice write: 100 changes/s are 50 writes/s


def thread_ticks(pid, name):
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            if open("/proc/%d/task/%s/comm" % (pid, tid)).read().strip() == name:
                f = open("/proc/%d/task/%s/stat" % (pid, tid)).read().rsplit(")", 1)[1].split()
                return int(f[11]) + int(f[12])
        except OSError:
            pass
    return 0


def rss_kb(pid):
    m = re.search(r"VmRSS:\s+(\d+)", open("/proc/%d/status" % pid).read())
    return int(m.group(1))


def wrk(port, seconds):
    out = subprocess.run(["wrk", "-t1", "-c8", "-d%ds" % seconds, "--latency", "-H", "Host: gw.test",
                          "http://127.0.0.1:%d/release/t" % port], capture_output=True, text=True,
                         timeout=seconds + 30).stdout
    p99 = re.search(r"99%\s+(\S+)", out)
    rps = re.search(r"Requests/sec:\s+(\S+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return (p99.group(1) if p99 else "?", rps.group(1) if rps else "?",
            int(non2xx.group(1)) if non2xx else 0)


def main():
    d = tempfile.mkdtemp(prefix="sy-k8s-churn-")
    kube = FakeKube(d, bookmark_interval=5)
    # The pods: one nginx on 0.0.0.0 answers for every 127.x pod address.
    port = free_port()
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write("daemon off; worker_processes 1; pid %s/nginx.pid; error_log %s/nginx.err;\n"
                "worker_rlimit_nofile 20000; events { worker_connections 10000; }\n"
                "http { access_log off; server { listen 0.0.0.0:%d reuseport; keepalive_requests 100000;\n"
                "  location / { return 200 'ok'; } } }\n" % (d, d, port))
    nginx = subprocess.Popen(["nginx", "-c", conf, "-p", d], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    kube.put_service("shop", "web", [("http", 80, port)])
    ips = ["127.2.%d.%d" % (i // 250, 1 + i % 250) for i in range(PODS)]
    slices = [[dict(ip=ip, pod="web-%d" % i) for i, ip in enumerate(ips)][k:k + PER_SLICE]
              for k in range(0, PODS, PER_SLICE)]
    for n, eps in enumerate(slices):
        kube.put_slice("shop", "web-%02d" % n, "web", "http", port, eps)
    tok = os.path.join(d, "token")
    open(tok, "w").write(kube.token)
    cfg = {"Gateway": {"Workers": 1, "AccessLog": os.environ.get("SY_ACCESS_LOG", "off"), "KubernetesClusters": [
               {"ClusterId": "cls-1", "Server": kube.url, "TokenFile": tok, "CaFile": kube.ca}]},
           "Upstreams": [{"UpstreamId": "up", "UpstreamType": "K8S", "K8sService": [
               {"Weight": 100, "ClusterId": "cls-1", "Namespace": "shop", "ServiceName": "web",
                "Port": 80}]}],
           "Services": [service("s", [api("a", "/t", config={"Product": "upstream", "UpstreamId": "up",
                                                             "Path": "/", "Method": "ANY"})])]}
    g = Gateway(d, cfg)
    g.start()
    stop = threading.Event()
    updates = [0]

    def churn():
        # One slice rewritten per update: a pod flips ready, or moves to a
        # new address (a pod replaced), as a rollout does.
        nxt = time.monotonic()
        while not stop.is_set():
            n = random.randrange(len(slices))
            eps = slices[n]
            for _ in range(PER_WRITE):
                e = eps[random.randrange(len(eps))]
                if random.random() < 0.5:
                    e["ready"] = not e.get("ready", True)
                else:
                    e["ip"] = "127.3.%d.%d" % (random.randrange(8), 1 + random.randrange(250))
            kube.put_slice("shop", "web-%02d" % n, "web", "http", port, eps)
            updates[0] += PER_WRITE
            nxt += PER_WRITE / RATE
            time.sleep(max(0, nxt - time.monotonic()))
    try:
        time.sleep(1)
        hz = os.sysconf("SC_CLK_TCK")
        base_rss = rss_kb(g.pid)
        t0, c0 = time.time(), thread_ticks(g.pid, "sy-k8s")
        calm = wrk(g.port, PHASE)
        idle_cpu = (thread_ticks(g.pid, "sy-k8s") - c0) / hz / (time.time() - t0)
        calm_rss = rss_kb(g.pid)
        th = threading.Thread(target=churn, daemon=True)
        th.start()
        t0, c0, u0 = time.time(), thread_ticks(g.pid, "sy-k8s"), updates[0]
        busy = wrk(g.port, PHASE)
        el = time.time() - t0
        cpu = (thread_ticks(g.pid, "sy-k8s") - c0) / hz / el
        rate = (updates[0] - u0) / el
        stop.set()
        th.join(5)
        peak_rss = rss_kb(g.pid)
        print("k8s churn bench: %d pods in %d slices, %.0f pod changes/s (%.0f slice writes/s) "
              "for %.0f s" % (PODS, len(slices), rate, rate / PER_WRITE, el))
        print("  discovery thread CPU: %.1f%% of a core under churn (%.1f%% without)"
              % (cpu * 100, idle_cpu * 100))
        print("  gateway RSS: %.1f MB at start, %.1f MB after the calm load (backend connections "
              "to 1,000 pods), %.1f MB after the churn" % (base_rss / 1024, calm_rss / 1024,
                                                          peak_rss / 1024))
        print("  data plane (wrk -c8 through 1 worker to nginx): p99 %s at %s req/s calm; p99 %s at %s req/s "
              "under churn; non-2xx: %d / %d" % (calm[0], calm[1], busy[0], busy[1], calm[2], busy[2]))
    finally:
        stop.set()
        g.stop()
        kube.close()
        nginx.terminate()
        nginx.wait(10)


if __name__ == "__main__":
    main()
