"""A fake Kubernetes API server for the TKE tunnel tests.

No kube-apiserver, k3s or kind can run on these machines, so the tests talk
to this instead.  It is checked by real clients in test_fakekube.py (kubectl
and the python3-kubernetes client): if one of them rejects it, it is wrong.

What it serves, over HTTPS with a test CA and bearer-token auth (401 with a
Status body otherwise), HTTP/1.1 with keep-alive and chunked watch streams:

  GET /version, /api, /apis                      enough for clients that look
  GET /api/v1/namespaces/NS/services/NAME        one Service
  GET /api/v1/namespaces/NS/services             Services (list/watch)
  GET /api/v1/namespaces/NS/pods                 Pods (list/watch)
  GET /apis/discovery.k8s.io/v1/namespaces/NS/endpointslices
                                                 EndpointSlices (list/watch)

Lists take labelSelector (=, ==, !=, in, notin, exists, !exists), limit and
continue (a continue token serves the snapshot taken at the first page; one
older than the last compaction answers 410 Expired, like etcd).  Watches take
resourceVersion (events after it; none or "0" starts with ADDED for every
object), allowWatchBookmarks and timeoutSeconds, and send ADDED, MODIFIED,
DELETED, BOOKMARK and, for a resourceVersion older than the compaction,
an ERROR event with a 410 Status, as the real server does.

Hooks for the tests: put/delete objects (every change bumps the global
resourceVersion and is sent to matching watches), compact() (old versions
and continue tokens become 410), expire_watches() (ERROR 410 to every open
watch), drop() (close every open connection), stall(True) (answer nothing,
hold connections open), garbage(mode) (answer nonsense), stop()/start() on
the same port (restart), set_token(), delay (seconds before each answer),
split_events (watch events sent one byte per chunk).
"""
import base64
import copy
import json
import os
import socket
import ssl
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from syharness.gateway import free_port

KINDS = {
    # resource -> (kind, apiVersion, list kind)
    "services": ("Service", "v1", "ServiceList"),
    "pods": ("Pod", "v1", "PodList"),
    "endpointslices": ("EndpointSlice", "discovery.k8s.io/v1", "EndpointSliceList"),
}


# Go's strconv.ParseBool, which the API server uses for query flags.
TRUE = ("1", "t", "T", "TRUE", "true", "True")


def make_ca_and_cert(d, ip="127.0.0.1", name="kube"):
    """A CA and a server certificate for `ip` in directory d: returns
    (ca.pem, cert.pem, key.pem).  Several calls with other names share the
    directory but not the CA."""
    d = str(d)
    os.makedirs(d, exist_ok=True)
    ca, cakey = os.path.join(d, name + "-ca.pem"), os.path.join(d, name + "-ca.key")
    crt, key = os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")
    if os.path.exists(crt):
        return ca, crt, key

    def run(args):
        subprocess.run(args, capture_output=True, timeout=30, check=True)
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", cakey, "-out", ca, "-days", "30", "-subj", "/CN=fake kube CA " + name])
    csr, ext = os.path.join(d, name + ".csr"), os.path.join(d, name + ".ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:%s,DNS:kubernetes.default.svc\n" % ip)
    run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", key, "-out", csr, "-subj", "/CN=kube-apiserver"])
    run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", cakey, "-set_serial", "7",
         "-out", crt, "-days", "30", "-extfile", ext])
    return ca, crt, key


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


def parse_selector(text):
    """labelSelector -> list of (op, key, values)."""
    reqs = []
    if not text:
        return reqs
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    for p in parts:
        p = p.strip()
        if not p:
            raise ValueError("empty requirement")
        for op in (" notin ", " in "):
            if op in p:
                k, v = p.split(op, 1)
                vals = v.strip().strip("()").split(",")
                reqs.append((op.strip(), k.strip(), [x.strip() for x in vals]))
                break
        else:
            if "!=" in p:
                k, v = p.split("!=", 1)
                reqs.append(("!=", k.strip(), [v.strip()]))
            elif "==" in p:
                k, v = p.split("==", 1)
                reqs.append(("=", k.strip(), [v.strip()]))
            elif "=" in p:
                k, v = p.split("=", 1)
                reqs.append(("=", k.strip(), [v.strip()]))
            elif p.startswith("!"):
                reqs.append(("!exists", p[1:].strip(), []))
            else:
                reqs.append(("exists", p, []))
    return reqs


def selector_match(reqs, labels):
    labels = labels or {}
    for op, k, vals in reqs:
        has = k in labels
        v = labels.get(k)
        if op == "=" and v != vals[0]:
            return False
        if op == "!=" and has and v == vals[0]:
            return False
        if op == "in" and v not in vals:
            return False
        if op == "notin" and has and v in vals:
            return False
        if op == "exists" and not has:
            return False
        if op == "!exists" and has:
            return False
    return True


class _Watch:
    def __init__(self, resource, ns, reqs):
        self.resource, self.ns, self.reqs = resource, ns, reqs
        self.cond = threading.Condition()
        self.queue = []
        self.closed = False


class FakeKube:
    def __init__(self, tmpdir, token="test-token", port=0, name="kube", bookmark_interval=1.0):
        self.ca, self.cert, self.key = make_ca_and_cert(tmpdir, name=name)
        self.token = token
        self.port = port or free_port()
        self.rv = 100
        self.compacted = 0
        self.objs = {r: {} for r in KINDS}      # resource -> {(ns, name): obj}
        self.lock = threading.RLock()
        self.watches = []
        self.conns = set()
        self.continues = {}
        self.stalled = threading.Event()
        self.garbage_mode = None
        self.delay = 0.0                        # seconds before every answer
        self.split_events = False               # watch events one byte per chunk
        self.bookmark_interval = bookmark_interval
        self.requests = []                      # request targets, in order
        self.history = []                       # (resource, type, obj, old)
        self.server = None
        self.start()

    # ---- lifecycle ----

    @property
    def url(self):
        return "https://127.0.0.1:%d" % self.port

    def start(self):
        fk = self

        class Handler(_Handler):
            kube = fk
        srv = ThreadingHTTPServer(("127.0.0.1", self.port), Handler, bind_and_activate=False)
        srv.daemon_threads = True
        srv.allow_reuse_address = True
        srv.handle_error = lambda *a: None  # refused handshakes are test cases, not noise
        srv.server_bind()
        srv.server_activate()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        ctx.set_alpn_protocols(["http/1.1"])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
        self.server = srv
        self.thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def stop(self):
        """Stop listening and cut every connection (a crashed API server)."""
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        self.drop()

    def restart(self):
        self.stop()
        self.start()

    def close(self):
        self.stalled.clear()
        self.stop()

    def drop(self):
        with self.lock:
            ws, conns = list(self.watches), list(self.conns)
        for w in ws:
            with w.cond:
                w.closed = True
                w.cond.notify_all()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stall(self, on=True):
        """On: every request (and every open watch) gets nothing more."""
        if on:
            self.stalled.set()
        else:
            self.stalled.clear()

    def garbage(self, mode):
        """None, "json" (a body that is not JSON), "types" (JSON of the
        wrong shape), "huge" (a 40 MB list), "status500"."""
        self.garbage_mode = mode

    def set_token(self, token):
        self.token = token

    # ---- objects ----

    def _bump(self):
        self.rv += 1
        return str(self.rv)

    def put(self, resource, obj):
        """Create or replace; returns the stored object."""
        kind, api, _ = KINDS[resource]
        with self.lock:
            obj = copy.deepcopy(obj)
            md = obj.setdefault("metadata", {})
            md.setdefault("namespace", "default")
            key = (md["namespace"], md["name"])
            old = self.objs[resource].get(key)
            md["uid"] = old["metadata"]["uid"] if old else str(uuid.uuid4())
            md["creationTimestamp"] = "2026-01-01T00:00:00Z"
            md["resourceVersion"] = self._bump()
            obj["kind"], obj["apiVersion"] = kind, api
            old = copy.deepcopy(old) if old else None
            self.objs[resource][key] = obj
            self._notify(resource, "MODIFIED" if old else "ADDED", obj, old)
            return obj

    def delete(self, resource, ns, name):
        with self.lock:
            old = self.objs[resource].pop((ns, name), None)
            if old is None:
                return
            obj = copy.deepcopy(old)
            obj["metadata"]["resourceVersion"] = self._bump()
            self._notify(resource, "DELETED", obj, old)

    def get(self, resource, ns, name):
        with self.lock:
            o = self.objs[resource].get((ns, name))
            return copy.deepcopy(o) if o else None

    def _notify(self, resource, typ, obj, old):
        # Stored objects are replaced, never changed in place: events and
        # history share them (cheap enough for 100 updates/s).
        self.history.append((resource, typ, obj, old))
        for w in self.watches:
            ev = self._event_for(w, resource, typ, obj, old)
            if ev:
                with w.cond:
                    w.queue.append(ev)
                    w.cond.notify_all()

    @staticmethod
    def _event_for(w, resource, typ, obj, old):
        """What watch w sees of a change: objects entering or leaving its
        label selector are ADDED or DELETED, as the real server does."""
        if w.resource != resource or (w.ns and w.ns != obj["metadata"]["namespace"]):
            return None
        now = selector_match(w.reqs, obj["metadata"].get("labels"))
        was = old is not None and selector_match(w.reqs, old["metadata"].get("labels"))
        t = typ
        if typ == "MODIFIED" and now and not was:
            t = "ADDED"
        elif typ == "MODIFIED" and was and not now:
            t = "DELETED"
        elif not now and not (typ == "DELETED" and was):
            return None
        if typ == "DELETED" and not was:
            return None
        return {"type": t, "object": obj}

    # Convenience builders.

    def put_service(self, ns, name, ports, selector=None):
        """ports: [(name or "", port, targetPort)]."""
        return self.put("services", {
            "metadata": {"name": name, "namespace": ns},
            "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.%d" % (len(self.objs["services"]) + 10),
                     "selector": selector or {"app": name},
                     "ports": [dict({"protocol": "TCP", "port": p, "targetPort": t},
                                    **({"name": n} if n else {})) for n, p, t in ports]}})

    def put_pod(self, ns, name, ip, labels):
        return self.put("pods", {
            "metadata": {"name": name, "namespace": ns, "labels": dict(labels)},
            "spec": {"containers": [{"name": "app", "image": "registry.test/app:1"}],
                     "nodeName": "node-1"},
            "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}})

    def put_slice(self, ns, name, service, port_name, port, endpoints):
        """endpoints: [dict(ip=, pod=, ready=, serving=, terminating=)]."""
        eps = []
        for e in endpoints:
            ready, serving = e.get("ready", True), e.get("serving", e.get("ready", True))
            ep = {"addresses": [e["ip"]],
                  "conditions": {"ready": ready, "serving": serving,
                                 "terminating": e.get("terminating", False)},
                  "nodeName": "node-1"}
            if e.get("pod"):
                ep["targetRef"] = {"kind": "Pod", "namespace": ns, "name": e["pod"],
                                   "uid": "uid-" + e["pod"]}
            eps.append(ep)
        ports = [{"protocol": "TCP", "port": port}]
        if port_name is not None:
            ports[0]["name"] = port_name
        return self.put("endpointslices", {
            "metadata": {"name": name, "namespace": ns,
                         "generateName": service + "-",
                         "labels": {"kubernetes.io/service-name": service,
                                    "endpointslice.kubernetes.io/managed-by":
                                        "endpointslice-controller.k8s.io"}},
            "addressType": "IPv4", "endpoints": eps, "ports": ports})

    def compact(self):
        """Everything up to now is compacted: watches from an older version
        and continue tokens issued before now answer 410."""
        with self.lock:
            self.compacted = self.rv
            self._bump()
            self.history = [h for h in self.history
                            if int(h[2]["metadata"]["resourceVersion"]) > self.compacted]

    def expire_watches(self):
        """Send ERROR 410 to every open watch (then they end)."""
        with self.lock:
            ws = list(self.watches)
        for w in ws:
            with w.cond:
                w.queue.append({"type": "ERROR", "object": status(
                    410, "Expired", "too old resource version: 1 (%d)" % self.rv)})
                w.queue.append(None)
                w.cond.notify_all()

    def open_watches(self, resource=None):
        with self.lock:
            return sum(1 for w in self.watches if resource in (None, w.resource))

    def count_requests(self, pred):
        with self.lock:
            return sum(1 for r in self.requests if pred(r))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    kube = None  # set by the subclass

    def log_message(self, *a):
        pass

    def setup(self):
        try:
            self.request.do_handshake()
        except (OSError, ssl.SSLError):
            self.request.close()
            raise
        super().setup()
        self.request.settimeout(30)
        with self.kube.lock:
            self.kube.conns.add(self.request)

    def finish(self):
        with self.kube.lock:
            self.kube.conns.discard(self.request)
        try:
            super().finish()
        except OSError:
            pass

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (OSError, ssl.SSLError, ValueError):
            self.close_connection = True

    def _send(self, code, body, ctype="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        k = self.kube
        with k.lock:
            k.requests.append(self.path)
        if k.stalled.is_set():
            while k.stalled.is_set() and k.server:
                time.sleep(0.05)
            self.close_connection = True
            return
        if k.delay:
            time.sleep(k.delay)
        auth = self.headers.get("Authorization", "")
        if auth != "Bearer " + k.token:
            self._send(401, status(401, "Unauthorized", "Unauthorized"))
            return
        u = urlsplit(self.path)
        q = {a: b[-1] for a, b in parse_qs(u.query, keep_blank_values=True).items()}
        seg = [s for s in u.path.split("/") if s]
        if k.garbage_mode:
            return self._garbage(seg)
        if u.path == "/version":
            return self._send(200, {"major": "1", "minor": "30", "gitVersion": "v1.30.0-fake",
                                    "platform": "linux/amd64"})
        if u.path == "/api":
            return self._send(200, {"kind": "APIVersions", "versions": ["v1"],
                                    "serverAddressByClientCIDRs": []})
        if u.path == "/apis":
            return self._send(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": "discovery.k8s.io", "versions": [
                    {"groupVersion": "discovery.k8s.io/v1", "version": "v1"}],
                 "preferredVersion": {"groupVersion": "discovery.k8s.io/v1", "version": "v1"}}]})
        # /api/v1/namespaces/NS/RES[/NAME]  or  /apis/discovery.k8s.io/v1/namespaces/NS/RES
        if seg[:2] == ["api", "v1"]:
            rest = seg[2:]
            group_ok = lambda r: r in ("services", "pods")  # noqa: E731
        elif seg[:3] == ["apis", "discovery.k8s.io", "v1"]:
            rest = seg[3:]
            group_ok = lambda r: r == "endpointslices"  # noqa: E731
        else:
            return self._send(404, status(404, "NotFound", "the server could not find the requested resource"))
        ns = None
        if len(rest) >= 2 and rest[0] == "namespaces":
            ns, rest = rest[1], rest[2:]
        if not rest or not group_ok(rest[0]) or len(rest) > 2:
            return self._send(404, status(404, "NotFound", "the server could not find the requested resource"))
        resource = rest[0]
        if len(rest) == 2:
            o = k.get(resource, ns, rest[1])
            if not o:
                return self._send(404, status(404, "NotFound", '%s "%s" not found' % (resource, rest[1])))
            return self._send(200, o)
        try:
            reqs = parse_selector(q.get("labelSelector", ""))
        except ValueError as e:
            return self._send(400, status(400, "BadRequest", "unable to parse requirement: %s" % e))
        if q.get("watch") in TRUE:
            return self._watch(resource, ns, reqs, q)
        return self._list(resource, ns, reqs, q)

    def _garbage(self, seg):
        mode = self.kube.garbage_mode
        if mode == "status500":
            return self._send(500, status(500, "InternalError", "etcdserver: request timed out"))
        if mode == "json":
            return self._send(200, b"<html>not json\x00\xff{{{", "text/html")
        if mode == "types":
            return self._send(200, {"kind": 7, "metadata": [], "items": {"endpoints": "x"},
                                    "spec": {"ports": "no"}})
        if mode == "huge":
            return self._send(200, b'{"items":[' + b'{"a":"' + b"x" * (40 << 20) + b'"}]}')

    def _list(self, resource, ns, reqs, q):
        k = self.kube
        kind, api, lkind = KINDS[resource]
        cont = q.get("continue")
        with k.lock:
            if cont:
                try:
                    tid, off = base64.urlsafe_b64decode(cont.encode()).decode().split(":")
                    snap_rv, items = k.continues[tid]
                    off = int(off)
                except (ValueError, KeyError, UnicodeDecodeError):
                    return self._send(400, status(400, "BadRequest", "continue key is not valid"))
                if int(snap_rv) <= k.compacted:
                    return self._send(410, status(
                        410, "Expired", "The provided continue parameter is too old to display a "
                        "consistent list result. You can start a new list without the continue "
                        "parameter, or use the continue token in this response to retrieve the "
                        "remainder of the results."))
            else:
                snap_rv, off = str(k.rv), 0
                items = sorted((o for (ons, _), o in k.objs[resource].items()
                                if (ns is None or ons == ns)
                                and selector_match(reqs, o["metadata"].get("labels"))),
                               key=lambda o: (o["metadata"]["namespace"], o["metadata"]["name"]))
                items = [copy.deepcopy(o) for o in items]
                for o in items:   # items of a list carry no kind/apiVersion
                    o.pop("kind", None)
                    o.pop("apiVersion", None)
                tid = uuid.uuid4().hex
            limit = int(q.get("limit") or 0)
            page = items[off:off + limit] if limit > 0 else items[off:]
            md = {"resourceVersion": snap_rv}
            if limit > 0 and off + limit < len(items):
                k.continues[tid] = (snap_rv, items)
                md["continue"] = base64.urlsafe_b64encode(
                    ("%s:%d" % (tid, off + limit)).encode()).decode()
                md["remainingItemCount"] = len(items) - off - limit
        self._send(200, {"kind": lkind, "apiVersion": api, "metadata": md, "items": page})

    def _watch(self, resource, ns, reqs, q):
        k = self.kube
        kind, api, _ = KINDS[resource]
        rv = q.get("resourceVersion") or ""
        bookmarks = q.get("allowWatchBookmarks") in TRUE
        timeout = float(q.get("timeoutSeconds") or 1800)
        w = _Watch(resource, ns, reqs)
        with k.lock:
            if rv in ("", "0"):
                for (ons, _), o in sorted(k.objs[resource].items()):
                    if (ns is None or ons == ns) and selector_match(reqs, o["metadata"].get("labels")):
                        w.queue.append({"type": "ADDED", "object": copy.deepcopy(o)})
            elif not rv.isdigit():
                return self._send(400, status(400, "BadRequest", "invalid resourceVersion"))
            elif int(rv) < k.compacted:
                w.queue.append({"type": "ERROR", "object": status(
                    410, "Expired", "too old resource version: %s (%d)" % (rv, k.compacted))})
                w.queue.append(None)
            else:
                for (res, typ, o, old) in k.history:
                    if int(o["metadata"]["resourceVersion"]) > int(rv):
                        ev = k._event_for(w, res, typ, o, old)
                        if ev:
                            w.queue.append(ev)
            k.watches.append(w)
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Cache-Control", "no-cache, private")
            self.end_headers()
            self.wfile.flush()
            end = time.monotonic() + timeout
            next_bm = time.monotonic() + k.bookmark_interval
            while True:
                with w.cond:
                    while not w.queue and not w.closed:
                        left = min(end, next_bm) - time.monotonic()
                        if left <= 0:
                            break
                        w.cond.wait(left)
                    batch, w.queue = w.queue, []
                if w.closed:
                    self.close_connection = True
                    return
                if k.stalled.is_set():
                    while k.stalled.is_set() and k.server:
                        time.sleep(0.05)
                    self.close_connection = True
                    return
                done = False
                for ev in batch:
                    if ev is None:
                        done = True
                        break
                    self._chunk(json.dumps(ev).encode() + b"\n")
                if done or time.monotonic() >= end:
                    break
                if bookmarks and time.monotonic() >= next_bm:
                    self._chunk(json.dumps({"type": "BOOKMARK", "object": {
                        "kind": kind, "apiVersion": api,
                        "metadata": {"resourceVersion": str(k.rv)}}}).encode() + b"\n")
                if time.monotonic() >= next_bm:
                    next_bm = time.monotonic() + k.bookmark_interval
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            self.close_connection = True
        finally:
            with k.lock:
                if w in k.watches:
                    k.watches.remove(w)

    def _chunk(self, data):
        if self.kube.split_events:
            # Every byte its own chunk and its own write: the client must
            # join an event from as many reads as it has bytes.
            for i in range(len(data)):
                self.wfile.write(b"1\r\n%s\r\n" % data[i:i + 1])
                self.wfile.flush()
            return
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()
