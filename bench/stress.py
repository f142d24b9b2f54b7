#!/usr/bin/python3
"""`make stress`: Switchyard under attack and load on loopback, a report
(not pass/fail): writes bench/STRESS.md with one row per scenario.

  slowloris     4,000 connections that send a request head a few bytes at a
                time (and come back when closed), while a legitimate client
                makes requests on fresh connections: its success % and p99
  slow readers  500 clients fetch a 10 MB response and read 16 KB/s each:
                the gateway's RSS stays bounded, the legitimate client served
  flood         connections opened as fast as possible past the fd limit
                (the gateway runs under `prlimit --nofile=4096`): legit
                success % during the flood
  reload storm  200 SIGHUPs (one per 100 ms) under wrk: wrk's errors
  kill -9       admin writes (POST /v1/upstreams) while the gateway is
                killed with SIGKILL and restarted, 5 rounds: acknowledged
                writes missing after the restart (must be 0)
  soak          60 s of HTTP/1.1 (wrk) and HTTP/2 (h2load, h2c) at once:
                RSS before and after, errors

Every scenario also checks the gateway is alive after it (zero crashes)
and counts attack requests that reached the backend (every attack uses
paths under /release/attack-; none may ever be forwarded: "smuggled").
The backend is nginx on 127.0.0.1; everything started is stopped by PID;
every loop has a deadline.  STRESS_QUICK=1 runs a small version (seconds
instead of minutes) and writes bench/gen/STRESS-quick.md instead.
"""
import asyncio
import http.client
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("SWITCHYARD_BIN", os.path.join(ROOT, "build", "switchyard"))
GEN = os.path.join(ROOT, "bench", "gen", "stress")
QUICK = os.environ.get("STRESS_QUICK") == "1"
OUT = os.path.join(ROOT, "bench", "gen", "STRESS-quick.md") if QUICK else \
    os.path.join(ROOT, "bench", "STRESS.md")
BASE = int(os.environ.get("STRESS_PORT_BASE", "18400"))
P_BACKEND, P_GW, P_ADMIN = BASE + 1, BASE + 30, BASE + 31
TOKEN = "stress-admin-token-0123456789abcdef"

# Sizes: (full, quick)
def size(full, quick):
    return quick if QUICK else full

SLOWLORIS_CONNS = int(os.environ.get("STRESS_SLOWLORIS", size(4000, 400)))
SLOWLORIS_SECS = size(30, 6)
SLOW_READERS = size(500, 50)
SLOW_READ_SECS = size(30, 6)
BIG_BYTES = 10 * 1024 * 1024
FLOOD_CONNS = size(6000, 5000)
FLOOD_NOFILE = 4096
FLOOD_SECS = size(15, 5)
RELOADS = size(200, 20)
KILL_ROUNDS = size(5, 2)
SOAK_SECS = size(60, 8)

PROCS = []  # (name, Popen): stopped by PID at exit


def log(msg):
    print("stress: " + msg, flush=True)


def spawn(name, args, **kw):
    out = open(os.path.join(GEN, name + ".log"), "ab")
    p = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **kw)
    PROCS.append((name, p))
    return p


def stop(p, sig=signal.SIGTERM, timeout=15):
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
    return p.returncode


def stop_all():
    for name, p in reversed(PROCS):
        if p.poll() is None:
            stop(p)


def wait_port(port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def rss_kb(pid, field="VmRSS"):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def nofile_used(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return 0


# ---- the backend (nginx) and the gateway ----

def start_backend():
    big = os.path.join(GEN, "www", "big")
    os.makedirs(os.path.dirname(big), exist_ok=True)
    if not os.path.exists(big) or os.path.getsize(big) != BIG_BYTES:
        with open(big, "wb") as f:
            f.write(os.urandom(BIG_BYTES))
    d = os.path.join(GEN, "nginx")
    os.makedirs(d, exist_ok=True)
    conf = os.path.join(GEN, "nginx.conf")
    with open(conf, "w") as f:
        f.write("""worker_processes 1;
daemon off;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log warn;
events { worker_connections 8192; }
http {
    log_format req '$request';
    access_log %(d)s/access.log req;
    keepalive_requests 1000000;
    client_body_temp_path %(d)s/body;
    proxy_temp_path %(d)s/proxy;
    fastcgi_temp_path %(d)s/fastcgi;
    uwsgi_temp_path %(d)s/uwsgi;
    scgi_temp_path %(d)s/scgi;
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:%(port)d backlog=4096;
        location = /big { root %(www)s; }
        location / { return 200 "ok\\n"; }
    }
}
""" % {"d": d, "port": P_BACKEND, "www": os.path.join(GEN, "www")})
    open(os.path.join(d, "access.log"), "w").close()
    p = spawn("nginx", ["nginx", "-e", os.path.join(d, "error.log"), "-p", d, "-c", conf])
    if not wait_port(P_BACKEND):
        raise SystemExit("stress: backend nginx did not start (%s/error.log)" % d)
    return p


def attacks_forwarded():
    """Requests of attack connections the backend received."""
    with open(os.path.join(GEN, "nginx", "access.log"), errors="replace") as f:
        return sum(1 for line in f if "/attack-" in line)


CONFIG = """Gateway:
  Listen: ["127.0.0.1:%(gw)d"]
  AdminListen: 127.0.0.1:%(admin)d
  AdminToken: %(token)s
  Workers: 2
  AccessLog: "off"
  LogLevel: warn
  Http2Cleartext: true
  RequestHeaderTimeout: 10
Upstreams:
  - UpstreamId: up-backend
    Nodes: [{Host: 127.0.0.1, Port: %(backend)d, Weight: 100}]
Services:
  - ServiceId: svc-stress
    Environments: [release]
    Apis:
      - {ApiId: api-mock, Path: =/mock, ServiceType: MOCK, ServiceMockReturnMessage: mocked}
      - ApiId: api-all
        Path: /
        ServiceType: HTTP
        ServiceTimeout: 60
        ServiceConfig: {Product: upstream, UpstreamId: up-backend, Path: /}
"""


class Gateway:
    def __init__(self, name="gw", nofile=None):
        self.name = name
        self.path = os.path.join(GEN, name + ".yaml")
        self.nofile = nofile
        self.p = None

    def write(self):
        with open(self.path, "w") as f:
            f.write(CONFIG % {"gw": P_GW, "admin": P_ADMIN, "token": TOKEN, "backend": P_BACKEND})

    def start(self):
        args = [BIN, "-c", self.path]
        if self.nofile:
            args = ["prlimit", "--nofile=%d:%d" % (self.nofile, self.nofile), "--"] + args
        self.p = spawn(self.name, args)
        if not wait_port(P_GW) or not wait_port(P_ADMIN):
            raise SystemExit("stress: the gateway did not start (%s/%s.log)" % (GEN, self.name))
        return self

    @property
    def pid(self):
        return self.p.pid

    def alive(self):
        return self.p.poll() is None

    def stop(self):
        """SIGTERM; the exit status (0 = clean drain)."""
        return stop(self.p)


# ---- the legitimate client ----

class Legit(threading.Thread):
    """Requests on fresh connections, one after another (a 5 s timeout
    each), until stopped: success % and latency percentiles."""

    def __init__(self, path="/release/ok", pause=0.02):
        super().__init__(daemon=True)
        self.path, self.pause = path, pause
        self.ok, self.fail, self.lat = 0, 0, []
        self.errors = {}
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            t0 = time.time()
            try:
                c = http.client.HTTPConnection("127.0.0.1", P_GW, timeout=5)
                c.request("GET", self.path, headers={"Host": "stress.test"})
                r = c.getresponse()
                r.read()
                c.close()
                if r.status == 200:
                    self.ok += 1
                    self.lat.append(time.time() - t0)
                else:
                    self.fail += 1
                    self.errors[str(r.status)] = self.errors.get(str(r.status), 0) + 1
            except Exception as e:  # noqa: BLE001 -- any failure is a failed request
                self.fail += 1
                k = type(e).__name__
                self.errors[k] = self.errors.get(k, 0) + 1
            self._halt.wait(self.pause)

    def finish(self):
        self._halt.set()
        self.join(10)
        n = self.ok + self.fail
        lat = sorted(self.lat)
        p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else float("nan")  # noqa: E731
        return {"requests": n, "success": 100.0 * self.ok / n if n else 0.0,
                "p50_ms": p(0.50), "p99_ms": p(0.99), "errors": self.errors}


def legit_during(fn, *args):
    """Run fn(*args) while a legitimate client measures; (fn's result, legit stats)."""
    lg = Legit()
    lg.start()
    time.sleep(0.5)
    try:
        res = fn(*args)
    finally:
        stats = lg.finish()
    return res, stats


# ---- attacks (asyncio) ----

async def _slowloris_conn(stats, deadline):
    """One slowloris slot: a head sent in small pieces; reconnect when closed."""
    while time.time() < deadline:
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", P_GW), 5)
        except (OSError, asyncio.TimeoutError):
            stats["connect_fail"] += 1
            await asyncio.sleep(1)
            continue
        stats["open"] += 1
        stats["peak"] = max(stats["peak"], stats["open"])
        try:
            w.write(b"GET /release/attack-slowloris HTTP/1.1\r\nHost: stress.test\r\n")
            i = 0
            while time.time() < deadline:
                await w.drain()
                try:
                    d = await asyncio.wait_for(r.read(1024), 2 + random.random() * 2)
                    if not d:
                        stats["closed_by_gw"] += 1
                        break
                    stats["answered"] += 1  # e.g. 408: fine, and the end of this one
                    break
                except asyncio.TimeoutError:
                    pass
                w.write(b"X-%d: %s\r\n" % (i, b"a" * 8))
                i += 1
        except OSError:
            stats["closed_by_gw"] += 1
        finally:
            stats["open"] -= 1
            w.close()


async def _slowloris(n, secs):
    stats = {"open": 0, "peak": 0, "closed_by_gw": 0, "answered": 0, "connect_fail": 0}
    deadline = time.time() + secs
    tasks = []
    for i in range(n):  # ramp up over ~2 s
        tasks.append(asyncio.ensure_future(_slowloris_conn(stats, deadline)))
        if i % 200 == 199:
            await asyncio.sleep(0.1)
    await asyncio.wait(tasks, timeout=secs + 15)
    for t in tasks:
        t.cancel()
    return stats


async def _slow_reader(stats, deadline):
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection(
            "127.0.0.1", P_GW, limit=16384), 10)
    except (OSError, asyncio.TimeoutError):
        stats["connect_fail"] += 1
        return
    sock = w.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    w.write(b"GET /release/big HTTP/1.1\r\nHost: stress.test\r\n\r\n")
    got, status = 0, None
    try:
        while time.time() < deadline:
            d = await asyncio.wait_for(r.read(16384), 30)
            if not d:
                stats["closed_by_gw"] += 1
                break
            if status is None:
                status = d[9:12].decode(errors="replace")
                stats["status"][status] = stats["status"].get(status, 0) + 1
            got += len(d)
            await asyncio.sleep(1)
    except asyncio.TimeoutError:
        stats["stalled"] += 1  # nothing for 30 s
    except OSError:
        stats["errors"] += 1
    finally:
        stats["bytes"] += got
        w.close()


async def _slow_readers(n, secs, gw, samples):
    stats = {"bytes": 0, "closed_by_gw": 0, "errors": 0, "stalled": 0, "connect_fail": 0,
             "status": {}}
    deadline = time.time() + secs
    tasks = [asyncio.ensure_future(_slow_reader(stats, deadline)) for _ in range(n)]
    while time.time() < deadline:
        samples.append(rss_kb(gw.pid))
        await asyncio.sleep(0.5)
    await asyncio.wait(tasks, timeout=40)
    for t in tasks:
        t.cancel()
    return stats


async def _flood(n, secs, gw, samples):
    stats = {"connected": 0, "connect_fail": 0, "closed_by_gw": 0}
    socks = []
    deadline = time.time() + secs
    loop = asyncio.get_running_loop()

    async def one():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")  # RST on close
        try:
            await asyncio.wait_for(loop.sock_connect(s, ("127.0.0.1", P_GW)), 3)
            stats["connected"] += 1
            socks.append(s)
            # A request head that never ends: an attack the gateway must not forward.
            s.send(b"GET /release/attack-flood HTTP/1.1\r\nHost: x\r\n")
        except (OSError, asyncio.TimeoutError):
            stats["connect_fail"] += 1
            s.close()

    for i in range(0, n, 200):
        await asyncio.gather(*(one() for _ in range(min(200, n - i))))
        samples.append(nofile_used(gw.pid))
        if time.time() > deadline:
            break
    while time.time() < deadline:
        samples.append(nofile_used(gw.pid))
        await asyncio.sleep(0.5)
    for s in socks:
        try:
            if s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                stats["closed_by_gw"] += 1
        except BlockingIOError:
            pass
        except OSError:
            stats["closed_by_gw"] += 1
        s.close()
    return stats


# ---- scenarios: each returns a table row (dict) ----

def row(name, load, legit=None, rss=None, errors="", crashes=0, lost="", note=""):
    return {"name": name, "load": load, "legit": legit, "rss": rss, "errors": errors,
            "crashes": crashes, "lost": lost, "note": note}


def fmt_legit(s):
    if not s:
        return "", ""
    extra = ""
    if s["errors"]:
        extra = " (" + ", ".join("%s %d" % kv for kv in sorted(s["errors"].items())) + ")"
    return ("%.1f%% of %d%s" % (s["success"], s["requests"], extra), "%.0f ms" % s["p99_ms"])


def scenario_slowloris(gw):
    before = rss_kb(gw.pid)
    fwd0 = attacks_forwarded()
    st, legit = legit_during(lambda: asyncio.run(_slowloris(SLOWLORIS_CONNS, SLOWLORIS_SECS)))
    return row("slowloris", "%d conns, head in pieces, %d s (peak %d open, %d closed by the "
               "header deadline)" % (SLOWLORIS_CONNS, SLOWLORIS_SECS, st["peak"],
                                     st["closed_by_gw"] + st["answered"]),
               legit, "%d → %d MB" % (before // 1024, rss_kb(gw.pid) // 1024),
               "connect failures %d" % st["connect_fail"], 0 if gw.alive() else 1,
               "%d forwarded" % (attacks_forwarded() - fwd0))


def scenario_slow_readers(gw):
    before = rss_kb(gw.pid)
    samples = []
    st, legit = legit_during(lambda: asyncio.run(_slow_readers(SLOW_READERS, SLOW_READ_SECS,
                                                               gw, samples)))
    peak = max(samples + [before])
    return row("slow readers", "%d × 10 MB at 16 KB/s, %d s (%.0f MB delivered)"
               % (SLOW_READERS, SLOW_READ_SECS, st["bytes"] / 1e6), legit,
               "%d → peak %d MB" % (before // 1024, peak // 1024),
               "statuses %s; stalled 30 s %d, reset %d, closed early %d, connect failures %d"
               % (", ".join("%s × %d" % kv for kv in sorted(st["status"].items())) or "none",
                  st["stalled"], st["errors"], st["closed_by_gw"], st["connect_fail"]),
               0 if gw.alive() else 1, "")


def scenario_flood(gw_unused):
    """Run by a gateway of its own (the main one is stopped meanwhile)."""
    gw = Gateway("gw-flood", nofile=FLOOD_NOFILE)
    gw.write()
    gw.start()
    fwd0 = attacks_forwarded()
    samples = []
    st, legit = legit_during(lambda: asyncio.run(_flood(FLOOD_CONNS, FLOOD_SECS, gw, samples)))
    alive = gw.alive()
    with open(os.path.join(GEN, "gw-flood.log"), errors="replace") as f:
        emfile = sum(1 for line in f if "Too many open files" in line)
    rc = gw.stop()
    return row("connection flood", "%d conns as fast as possible, gateway at ulimit -n %d "
               "(%d connected, %d refused/failed, peak %d fds in the gateway)"
               % (FLOOD_CONNS, FLOOD_NOFILE, st["connected"], st["connect_fail"],
                  max(samples + [0])), legit, "",
               "EMFILE log lines %d, exit %s" % (emfile, rc), 0 if alive else 1,
               "%d forwarded" % (attacks_forwarded() - fwd0))


def scenario_reload_storm(gw):
    before = rss_kb(gw.pid)
    secs = RELOADS * 0.1 + 3
    wrk = run_bg("wrk", ["wrk", "-t2", "-c50", "-d%ds" % secs, "--timeout", "5s",
                         "http://127.0.0.1:%d/release/ok" % P_GW])
    time.sleep(1)
    sent = 0
    for _ in range(RELOADS):
        if not gw.alive():
            break
        os.kill(gw.pid, signal.SIGHUP)
        sent += 1
        time.sleep(0.1)
    out, _ = wrk.communicate(timeout=secs + 30)
    w = wrk_summary(out)
    return row("reload storm", "%d SIGHUP (one per 100 ms) under wrk -t2 -c50 (%d requests, "
               "mean latency %s)" % (sent, w["done"], w["latency"]), None,
               "%d → %d MB" % (before // 1024, rss_kb(gw.pid) // 1024),
               "socket errors: %s; non-2xx: %d" % (w["errors"], w["non2xx"]),
               0 if gw.alive() else 1, "")


def admin_call(method, path, body=None, timeout=5):
    c = http.client.HTTPConnection("127.0.0.1", P_ADMIN, timeout=timeout)
    try:
        c.request(method, path, body=json.dumps(body) if body is not None else None,
                  headers={"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def scenario_kill9(gw_unused):
    """Run by a gateway of its own (the main one is stopped meanwhile)."""
    gw = Gateway("gw-kill")
    gw.write()
    acked, lost, rounds_ok = [], [], 0
    rng = random.Random(9)
    for rnd in range(KILL_ROUNDS):
        gw.start()
        stop_at = time.time() + 0.5 + rng.random() * 1.5
        done = threading.Event()
        round_acked = []

        def writer():
            i = 0
            while not done.is_set() and i < 100000:
                uid = "stress-r%d-%d" % (rnd, i)
                body = {"UpstreamId": uid, "Nodes": [{"Host": "127.0.0.1", "Port": P_BACKEND,
                                                      "Weight": 1}]}
                try:
                    st, _ = admin_call("POST", "/v1/upstreams", body)
                except OSError:
                    break  # killed: this one was never acknowledged
                if st == 201:
                    round_acked.append(uid)
                i += 1

        t = threading.Thread(target=writer, daemon=True)
        t.start()
        while time.time() < stop_at and t.is_alive():
            time.sleep(0.01)
        os.kill(gw.pid, signal.SIGKILL)
        gw.p.wait(5)
        done.set()
        t.join(10)
        acked += round_acked
        gw.start()  # the same file: what was acknowledged must be there
        have = set()
        offset = 0
        while offset < 100000:
            st, body = admin_call("GET", "/v1/upstreams?Limit=100&Offset=%d" % offset)
            items = json.loads(body)["Items"] if st == 200 else []
            have.update(u["UpstreamId"] for u in items)
            if len(items) < 100:
                break
            offset += 100
        lost += [u for u in acked if u not in have]
        rc = gw.stop()
        rounds_ok += 1 if rc == 0 else 0
        # the next round starts from this file again (writes accumulate)
    check = subprocess.run([BIN, "-t", "-c", gw.path], capture_output=True, text=True)
    return row("kill -9 during admin writes", "%d rounds: POST /v1/upstreams in a loop, SIGKILL "
               "after 0.5-2 s, restart on the same file (%d writes acknowledged)"
               % (KILL_ROUNDS, len(acked)), None, "",
               "stored file %s `switchyard -t`; clean stops %d/%d"
               % ("passes" if check.returncode == 0 else "FAILS", rounds_ok, KILL_ROUNDS),
               0, "%d acknowledged writes lost" % len(lost))


def run_bg(name, args):
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    PROCS.append((name, p))
    return p


def h2load_summary(out):
    req = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                    r"(\d+) failed, (\d+) errored, (\d+) timeout", out)
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    rps = re.search(r"finished in [^,]+, ([\d.]+) req/s", out)
    if not req:
        return {"done": 0, "failed": "?", "rps": 0, "non2xx": "?"}
    return {"done": int(req.group(3)),
            "failed": int(req.group(5)) + int(req.group(6)) + int(req.group(7)),
            "rps": float(rps.group(1)) if rps else 0,
            "non2xx": sum(int(codes.group(i)) for i in (2, 3, 4)) if codes else "?"}


def wrk_summary(out):
    reqs = re.search(r"(\d+) requests in", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    sock = re.search(r"Socket errors: (.*)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    lat = re.search(r"Latency\s+(\S+)", out)
    return {"done": int(reqs.group(1)) if reqs else 0, "rps": float(rps.group(1)) if rps else 0,
            "errors": sock.group(1) if sock else "none", "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "latency": lat.group(1) if lat else "?"}


def scenario_soak(gw):
    """HTTP/1.1 through wrk (h2load --h1 1.52 does not stop at -D) and
    HTTP/2 through h2load (h2c prior knowledge; no Host field: h2 has
    :authority), at once, through the backend route."""
    before = rss_kb(gw.pid)
    url = "http://127.0.0.1:%d/release/ok" % P_GW
    h1 = run_bg("wrk", ["wrk", "-t1", "-c50", "-d%ds" % SOAK_SECS, "--timeout", "5s", url])
    h2 = run_bg("h2load", ["h2load", "-D", str(SOAK_SECS), "-t", "1", "-c", "10", "-m", "10", url])
    mid = []
    deadline = time.time() + SOAK_SECS + 30
    while (h1.poll() is None or h2.poll() is None) and time.time() < deadline:
        mid.append(rss_kb(gw.pid))
        time.sleep(1)
    stop(h1, signal.SIGINT, 5)
    stop(h2, signal.SIGINT, 5)
    s1, s2 = wrk_summary(h1.stdout.read()), h2load_summary(h2.stdout.read())
    time.sleep(1)
    after = rss_kb(gw.pid)
    return row("soak", "%d s of wrk -c50 HTTP/1.1 (%d req, %.0f req/s) and h2load -c10 -m10 h2c "
               "(%d req, %.0f req/s) at once" % (SOAK_SECS, s1["done"], s1["rps"], s2["done"],
                                                  s2["rps"]),
               None, "%d → peak %d → %d MB" % (before // 1024, max(mid + [before]) // 1024,
                                               after // 1024),
               "h1 socket errors: %s, non-2xx %d; h2 failed %s, non-2xx %s"
               % (s1["errors"], s1["non2xx"], s2["failed"], s2["non2xx"]),
               0 if gw.alive() else 1, "")


# ---- report ----

NOTES = """How to read it:

- slowloris: every head is cut by `RequestHeaderTimeout` (10 s here, a
  total deadline, not an inactivity timer) and the attacker comes back;
  "closed by the header deadline" counts those cuts.
- connection flood: at a worker's client cap (`MaxConnections` within the
  descriptor budget derived from `ulimit -n`, doc/config.md) a new
  connection is accepted and closed at once, so the gateway never runs out
  of descriptors (no EMFILE); the legitimate client, indistinguishable from
  the flood on loopback, gets through only as the flood's heads reach their
  deadline and free slots (its failures are those closes).
- kill -9: a write counts as acknowledged when its 201 arrived; the file
  store writes a temporary file, fsyncs it and renames it over the
  configuration before answering.
- RSS figures are VmRSS of the gateway process (MB).
"""


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def write_report(rows, started, gw_exit, load0):
    crashes = sum(r["crashes"] for r in rows)
    lines = ["# Stress report (`make stress`)", "",
             "Generated by bench/stress.py on %s (UTC), %s, in %.0f s, on this machine (%d cores, "
             "shared with other work: load average %s at the start, %s at the end; the figures "
             "are indicative, not a benchmark)."
             % (time.strftime("%Y-%m-%d %H:%M", time.gmtime(started)),
                "quick mode" if QUICK else "full run", time.time() - started,
                os.cpu_count() or 0, load0, loadavg()), "",
             "Gateway: build/switchyard, 2 workers, defaults except Http2Cleartext; backend nginx on "
             "loopback; the legitimate client makes one request per fresh connection (5 s timeout). "
             "\"Attack requests forwarded\" counts requests of attack connections (paths under "
             "/release/attack-) the backend received: any is a smuggled request.", "",
             "| Scenario | Load | Legit success | Legit p99 | Gateway RSS | Errors | Crashes | Lost / forwarded |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ok, p99 = fmt_legit(r["legit"])
        lines.append("| %s | %s | %s | %s | %s | %s | %d | %s |" % (
            r["name"], r["load"], ok, p99, r["rss"] or "", r["errors"], r["crashes"], r["lost"]))
    lines += ["", "Crashes in all: %d. Gateway exit status after SIGTERM at the end: %s. "
              "Total attack requests forwarded to the backend: %d."
              % (crashes, gw_exit, attacks_forwarded()), "", NOTES]
    with open(OUT, "w") as f:
        f.write("\n".join(lines))
    log("wrote " + OUT)
    print("\n".join(lines))


def main():
    os.makedirs(GEN, exist_ok=True)
    for tool in ("nginx", "wrk", "h2load", "prlimit"):
        if subprocess.run(["sh", "-c", "command -v " + tool], capture_output=True).returncode:
            raise SystemExit("stress: %s missing (make deps)" % tool)
    if not os.access(BIN, os.X_OK):
        raise SystemExit("stress: %s not built (make)" % BIN)
    started, load0 = time.time(), loadavg()
    start_backend()
    gw = Gateway()
    gw.write()
    gw.start()
    rows, exits = [], []
    only = os.environ.get("STRESS_ONLY", "").split()
    for name, fn, own in (("slowloris", scenario_slowloris, False),
                          ("slowread", scenario_slow_readers, False),
                          ("flood", scenario_flood, True), ("reload", scenario_reload_storm, False),
                          ("kill9", scenario_kill9, True), ("soak", scenario_soak, False)):
        if only and name not in only:
            continue
        log("%s ..." % name)
        if own:  # its own gateway on the same ports
            exits.append(gw.stop())
        t0 = time.time()
        r = fn(gw)
        log("%s done in %.0f s: %s" % (name, time.time() - t0, r))
        rows.append(r)
        if own or not gw.alive():
            if not own:
                log("the gateway died: restarting it for the next scenario")
            gw.start()
    exits.append(gw.stop())
    gw_exit = ", ".join(str(e) for e in exits)
    write_report(rows, started, gw_exit, load0)


if __name__ == "__main__":
    def _term(signum, frame):
        stop_all()
        sys.exit(128 + signum)
    signal.signal(signal.SIGTERM, _term)
    try:
        main()
    finally:
        stop_all()
