"""A recording HTTP/1.1 backend on raw sockets.

Deliberately not http.server: that module accepts almost anything.  This one
parses requests strictly enough to record exactly what the gateway sent:
the raw head bytes, the method/target/version, the header list in order, and
the body (Content-Length or chunked, with the raw chunked framing kept).

What it answers is a Reply (or a callable taking the Request and returning
one): status, headers, body, chunked or close-delimited framing, delays, a
slowly trickled body, no keep-alive, a 101 switch followed by an echo tunnel,
or no answer at all.  `queue()` sets replies for the next requests only;
`reply` is the default for the rest.

Everything is bounded: every socket has a timeout and every thread is a
daemon that ends when the server stops.
"""
import hashlib
import json
import socket
import threading
import time

MAX_HEAD = 1 << 20


class Request:
    def __init__(self):
        self.conn_id = 0
        self.index_on_conn = 0
        self.raw_head = b""
        self.method = ""
        self.target = ""
        self.version = ""
        self.headers = []          # [(name, value)] as received, order kept
        self.body = b""            # decoded body (empty when store_body is off)
        self.raw_body = b""        # body bytes as framed on the wire
        self.body_len = 0
        self.body_sha256 = ""
        self.chunked = False
        self.trailers = []
        self.time = 0.0

    @property
    def path(self):
        return self.target.split("?", 1)[0]

    @property
    def query(self):
        return self.target.split("?", 1)[1] if "?" in self.target else None

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def has(self, name):
        return bool(self.header_all(name))

    def __repr__(self):
        return "<Request conn=%d %s %s %r>" % (self.conn_id, self.method, self.target, self.headers)


class Reply:
    """What the backend answers.  body=None gives the default JSON echo."""

    def __init__(self, status=200, reason=None, headers=None, body=None,
                 chunked=False, close_delimited=False, delay=0.0,
                 body_parts=None, part_interval=0.0, keep_alive=True,
                 upgrade=False, never=False, raw=None, body_size=None,
                 send_100=True, omit_length=False, stall_after_head=False,
                 content_type="application/json"):
        self.status = status
        self.reason = reason
        self.headers = list(headers or [])
        self.body = body
        self.chunked = chunked
        self.close_delimited = close_delimited
        self.delay = delay
        self.body_parts = body_parts          # send body in this many pieces
        self.part_interval = part_interval    # seconds between pieces
        self.keep_alive = keep_alive
        self.upgrade = upgrade
        self.never = never
        self.raw = raw                        # bytes written verbatim
        self.body_size = body_size            # generated pattern body of N bytes
        self.send_100 = send_100              # answer Expect: 100-continue
        self.omit_length = omit_length        # no CL/TE (for 204/304/HEAD tricks)
        self.stall_after_head = stall_after_head  # send head + part of body, then hang
        self.content_type = content_type


REASONS = {100: "Continue", 101: "Switching Protocols", 200: "OK", 201: "Created",
           204: "No Content", 301: "Moved Permanently", 304: "Not Modified",
           400: "Bad Request", 404: "Not Found", 500: "Internal Server Error",
           503: "Service Unavailable"}

_PATTERN = bytes((i * 7 + 3) % 251 for i in range(65536 * 4))


def pattern(n, offset=0):
    """Deterministic test data: n bytes of a repeating pattern."""
    out = bytearray()
    while len(out) < n:
        start = (offset + len(out)) % 251
        take = min(n - len(out), len(_PATTERN) - 251)
        out += _PATTERN[start:start + take]
    return bytes(out)


def pattern_iter(n, piece=1 << 18):
    sent = 0
    while sent < n:
        k = min(piece, n - sent)
        yield pattern(k, sent)
        sent += k


def pattern_sha256(n):
    h = hashlib.sha256()
    for p in pattern_iter(n):
        h.update(p)
    return h.hexdigest()


class _Conn:
    def __init__(self, sock, cid, owner):
        self.sock = sock
        self.id = cid
        self.buf = b""
        self.owner = owner

    def recv_more(self):
        data = self.sock.recv(1 << 18)
        if not data:
            raise EOFError
        with self.owner._lock:
            self.owner.bytes_received += len(data)
        self.buf += data

    def read_until(self, sep, limit):
        while True:
            i = self.buf.find(sep)
            if i >= 0:
                out, self.buf = self.buf[:i + len(sep)], self.buf[i + len(sep):]
                return out
            if len(self.buf) > limit:
                raise ValueError("line too long")
            self.recv_more()

    def read_exact(self, n, sink):
        while n > 0:
            if not self.buf:
                self.recv_more()
            take = self.buf[:n]
            self.buf = self.buf[n:]
            n -= len(take)
            sink(take)


class Backend:
    def __init__(self, name="b1", store_body=True, host="127.0.0.1", port=0, tls=None):
        """host/port: where to listen (port 0 = any free one; a fixed port
        restarts a stopped node).  tls: an ssl.SSLContext (server side)
        to speak HTTPS."""
        self.name = name
        self.store_body = store_body
        self.reply = Reply()
        self._queue = []
        self.requests = []
        self.accepted = 0
        self.bytes_received = 0
        self.errors = []
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._conns = []
        self._stop = False
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.host = host
        self.tls = tls
        self.lsock.bind((host, port))
        self.lsock.listen(512)
        self.port = self.lsock.getsockname()[1]
        self._t = threading.Thread(target=self._accept_loop, daemon=True)
        self._t.start()

    # ---- test-facing API ----
    @property
    def url(self):
        return "http://%s:%d" % (self.host, self.port)

    def set_reply(self, reply=None, **kw):
        self.reply = reply if reply is not None else Reply(**kw)

    def queue(self, reply=None, **kw):
        with self._lock:
            self._queue.append(reply if reply is not None else Reply(**kw))

    def reset(self):
        with self._lock:
            self.requests = []
            self._queue = []
            self.accepted = 0
            self.bytes_received = 0
            self.errors = []
        self.reply = Reply()

    def wait_requests(self, n, timeout=5.0):
        deadline = time.time() + timeout
        with self._cond:
            while len(self.requests) < n:
                left = deadline - time.time()
                if left <= 0:
                    break
                self._cond.wait(left)
            return list(self.requests)

    def last(self):
        assert self.requests, "backend %s received no request" % self.name
        return self.requests[-1]

    def close(self):
        self._stop = True
        try:
            self.lsock.close()
        except OSError:
            pass
        with self._lock:
            conns = list(self._conns)
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass

    # ---- server internals ----
    def _accept_loop(self):
        while not self._stop:
            try:
                s, _ = self.lsock.accept()
                # Head and body go out in separate writes: without NODELAY,
                # Nagle plus delayed ACK adds 40 ms to every response.
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                cid = self.accepted
                self._conns.append(s)
            s.settimeout(30)
            threading.Thread(target=self._serve, args=(s, cid), daemon=True).start()

    def _next_reply(self, req):
        with self._lock:
            r = self._queue.pop(0) if self._queue else self.reply
        if callable(r) and not isinstance(r, Reply):
            r = r(req)
        return r

    def _serve(self, s, cid):
        if self.tls is not None:
            try:
                s = self.tls.wrap_socket(s, server_side=True)
                with self._lock:
                    self.tls_resumed = getattr(self, "tls_resumed", []) + [s.session_reused]
            except (OSError, ValueError) as e:
                with self._lock:
                    self.tls_errors = getattr(self, "tls_errors", []) + [repr(e)]
                try:
                    s.close()
                except OSError:
                    pass
                return
        c = _Conn(s, cid, self)
        silent = False   # after a `never` reply: keep recording, never answer
        n = 0
        try:
            while not self._stop:
                try:
                    req = self._read_request(c)
                except EOFError:
                    return
                n += 1
                req.index_on_conn = n
                expect = (req.header("Expect") or "").lower() == "100-continue"
                reply = None
                if expect:
                    reply = self._next_reply(req)
                    if reply.send_100 and not silent:
                        s.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                try:
                    self._read_body(c, req)
                finally:
                    with self._cond:
                        self.requests.append(req)
                        self._cond.notify_all()
                if reply is None:
                    reply = self._next_reply(req)
                if silent or reply.never:
                    silent = True
                    continue
                if reply.delay:
                    time.sleep(reply.delay)
                keep = self._respond(c, req, reply)
                if not keep:
                    return
        except EOFError:
            pass   # peer closed mid-request (the gateway aborted it)
        except (OSError, ValueError) as e:
            if not self._stop:
                with self._lock:
                    self.errors.append(repr(e))
        finally:
            with self._lock:
                if s in self._conns:
                    self._conns.remove(s)
            try:
                s.close()
            except OSError:
                pass

    def _read_request(self, c):
        head = c.read_until(b"\r\n\r\n", MAX_HEAD)
        req = Request()
        req.conn_id = c.id
        req.raw_head = head
        req.time = time.time()
        lines = head[:-4].split(b"\r\n")
        parts = lines[0].decode("latin-1").split(" ")
        if len(parts) != 3:
            raise ValueError("bad request line %r" % lines[0])
        req.method, req.target, req.version = parts
        for ln in lines[1:]:
            if b":" not in ln:
                raise ValueError("bad header line %r" % ln)
            k, v = ln.split(b":", 1)
            req.headers.append((k.decode("latin-1"), v.strip(b" \t").decode("latin-1")))
        return req

    def _read_body(self, c, req):
        h = hashlib.sha256()
        body = bytearray()
        raw = bytearray()
        store = self.store_body

        def sink(b):
            h.update(b)
            req.body_len += len(b)
            if store:
                body.extend(b)

        def rawsink(b):
            if store:
                raw.extend(b)

        te = [v.strip().lower() for v in ",".join(req.header_all("Transfer-Encoding")).split(",") if v.strip()]
        if te:
            req.chunked = te[-1] == "chunked"
            while True:
                line = c.read_until(b"\r\n", 4096)
                rawsink(line)
                size = int(line[:-2].split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while True:
                        t = c.read_until(b"\r\n", 65536)
                        rawsink(t)
                        if t == b"\r\n":
                            break
                        k, v = t[:-2].split(b":", 1)
                        req.trailers.append((k.decode("latin-1"), v.strip().decode("latin-1")))
                    break

                def both(b):
                    sink(b)
                    rawsink(b)
                c.read_exact(size, both)
                crlf = c.read_until(b"\r\n", 2)
                rawsink(crlf)
                if crlf != b"\r\n":
                    raise ValueError("bad chunk end")
        else:
            cl = req.header("Content-Length")
            if cl is not None:
                n = int(cl)

                def both2(b):
                    sink(b)
                    rawsink(b)
                c.read_exact(n, both2)
        req.body = bytes(body)
        req.raw_body = bytes(raw)
        req.body_sha256 = h.hexdigest()

    def default_body(self, req):
        hd = {}
        for k, v in req.headers:
            hd[k] = v
        return json.dumps({"backend": self.name, "method": req.method, "path": req.path,
                           "target": req.target, "query": req.query, "headers": hd,
                           "body_len": req.body_len, "conn": req.conn_id}).encode()

    def _respond(self, c, req, r):
        s = c.sock
        if r.raw is not None:
            s.sendall(r.raw)
            return r.keep_alive
        status = 101 if r.upgrade and r.status == 200 else r.status
        reason = r.reason or REASONS.get(status, "Status")
        head = ["HTTP/1.1 %d %s" % (status, reason)]
        head += ["%s: %s" % (k, v) for k, v in r.headers]
        names = {k.lower() for k, _ in r.headers}
        if r.upgrade:
            if "upgrade" not in names:
                head.append("Upgrade: %s" % (req.header("Upgrade") or "websocket"))
            if "connection" not in names:
                head.append("Connection: Upgrade")
            s.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
            self._echo(s, c.buf)
            return False
        # body
        gen = None
        if r.body_size is not None:
            length = r.body_size
            gen = pattern_iter(r.body_size)
        else:
            body = r.body if r.body is not None else self.default_body(req)
            if isinstance(body, str):
                body = body.encode()
            length = len(body)
            gen = iter([body])
        no_body = req.method == "HEAD" or r.status in (204, 304) or 100 <= r.status < 200
        if r.content_type and "content-type" not in names and not (r.status in (204, 304)):
            head.append("Content-Type: %s" % r.content_type)
        if not r.omit_length and not (r.status == 204 or r.status < 200):
            if r.chunked:
                head.append("Transfer-Encoding: chunked")
            elif not r.close_delimited and "content-length" not in names:
                head.append("Content-Length: %d" % length)
        keep = r.keep_alive and not r.close_delimited and \
            (req.header("Connection") or "").lower() != "close"
        if not keep and "connection" not in names:
            head.append("Connection: close")
        s.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        if no_body:
            return keep
        data_iter = gen
        if r.body_parts:
            whole = b"".join(gen)
            k = max(1, r.body_parts)
            step = max(1, (len(whole) + k - 1) // k)
            data_iter = (whole[i:i + step] for i in range(0, len(whole), step))
        first = True
        for part in data_iter:
            if not first and r.part_interval:
                time.sleep(r.part_interval)
            first = False
            if r.stall_after_head:
                # Send half of the first piece, then hang: an incomplete exchange.
                half = part[:max(1, len(part) // 2)]
                s.sendall(("%x\r\n" % len(half)).encode() + half if r.chunked else half)
                self._hang(s)
                return False
            if r.chunked:
                if part:
                    s.sendall(("%x\r\n" % len(part)).encode() + part + b"\r\n")
            else:
                s.sendall(part)
        if r.chunked:
            s.sendall(b"0\r\n\r\n")
        if r.close_delimited:
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            return False
        return keep

    def _hang(self, s):
        deadline = time.time() + 20
        s.settimeout(0.5)
        while not self._stop and time.time() < deadline:
            try:
                d = s.recv(65536)
                if not d:
                    return
            except socket.timeout:
                continue
            except OSError:
                return

    def _echo(self, s, pending):
        if pending:
            s.sendall(pending)
        deadline = time.time() + 20
        s.settimeout(0.5)
        while not self._stop and time.time() < deadline:
            try:
                d = s.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if not d:
                return
            s.sendall(d)
