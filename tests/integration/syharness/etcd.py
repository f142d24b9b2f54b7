"""Real etcd servers for the fleet tests: one member or a cluster on loopback
ports, data in a temporary directory (on /dev/shm when there is one, so
fsyncs are cheap), stopped by PID."""
import json
import os
import base64
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

from .gateway import free_port

ETCD = shutil.which("etcd") or "/usr/bin/etcd"


def b64(s):
    return base64.b64encode(s.encode()).decode()


class Member:
    def __init__(self, name, datadir, client_port, peer_port):
        self.name = name
        self.datadir = datadir
        self.client_port = client_port
        self.peer_port = peer_port
        self.url = "http://127.0.0.1:%d" % client_port
        self.peer_url = "http://127.0.0.1:%d" % peer_port
        self.proc = None
        self.log = os.path.join(datadir + ".log")

    def start(self, initial_cluster, state="new", extra=()):
        args = [ETCD, "--name", self.name, "--data-dir", self.datadir,
                "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
                "--listen-peer-urls", self.peer_url,
                "--initial-advertise-peer-urls", self.peer_url,
                "--initial-cluster", initial_cluster, "--initial-cluster-state", state,
                "--initial-cluster-token", "sy-test",
                # fast elections on loopback (the leader-kill test)
                "--heartbeat-interval", "50", "--election-timeout", "500",
                "--max-txn-ops", "100000", "--max-request-bytes", str(64 << 20),
                "--logger", "zap", "--log-outputs", self.log] + list(extra)
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig=signal.SIGKILL):
        if self.alive():
            os.kill(self.proc.pid, sig)
            self.proc.wait(10)

    def post(self, path, body, timeout=3.0):
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read().decode())

    def status(self):
        return self.post("/v3/maintenance/status", {}, timeout=1.0)

    def ready(self):
        try:
            return bool(self.status().get("leader"))
        except OSError:
            return False


class Etcd:
    """A cluster of `n` members (n=1: a single server)."""

    def __init__(self, n=1, extra=()):
        base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        self.dir = tempfile.mkdtemp(prefix="sy-etcd-", dir=base)
        self.extra = extra
        self.members = [Member("m%d" % i, os.path.join(self.dir, "m%d" % i), free_port(),
                               free_port()) for i in range(n)]
        self.initial = ",".join("%s=%s" % (m.name, m.peer_url) for m in self.members)

    @property
    def endpoints(self):
        return [m.url for m in self.members]

    def start(self, timeout=15.0):
        for m in self.members:
            m.start(self.initial, extra=self.extra)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=15.0, members=None):
        deadline = time.time() + timeout
        for m in members or self.members:
            while not m.ready():
                if not m.alive():
                    raise RuntimeError("etcd %s exited; log:\n%s" % (m.name, self.log_tail(m)))
                if time.time() > deadline:
                    raise RuntimeError("etcd %s not ready; log:\n%s" % (m.name, self.log_tail(m)))
                time.sleep(0.05)

    def log_tail(self, m):
        try:
            with open(m.log) as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def restart(self, m, timeout=15.0):
        m.start(self.initial, state="existing", extra=self.extra)
        self.wait_ready(timeout, [m])

    def any(self):
        for m in self.members:
            if m.alive():
                return m
        raise RuntimeError("no etcd member alive")

    def leader(self):
        for m in self.members:
            if m.alive():
                try:
                    st = m.status()
                except OSError:
                    continue
                lead = int(st["leader"])
                for x in self.members:
                    if x.alive() and int(x.status()["header"]["member_id"]) == lead:
                        return x
        return None

    # ---- key/value helpers (the JSON gateway) ----
    def put(self, key, value):
        return self.any().post("/v3/kv/put", {"key": b64(key), "value": b64(value)})

    def get_prefix(self, prefix):
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        r = self.any().post("/v3/kv/range", {"key": b64(prefix), "range_end": b64(end)})
        return {base64.b64decode(kv["key"]).decode(): base64.b64decode(kv.get("value", "")).decode()
                for kv in r.get("kvs", [])}

    def revision(self):
        return int(self.any().post("/v3/kv/range", {"key": b64("/")})["header"]["revision"])

    def compact(self, rev):
        return self.any().post("/v3/kv/compaction", {"revision": str(rev), "physical": True})

    def stop(self):
        for m in self.members:
            m.kill(signal.SIGTERM)
        shutil.rmtree(self.dir, ignore_errors=True)
