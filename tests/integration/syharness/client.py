"""A raw HTTP/1.1 client: sends exact bytes, parses what comes back strictly
enough to notice framing mistakes, and tells whether the server closed."""
import json
import socket
import time


class Response:
    def __init__(self):
        self.version = ""
        self.status = 0
        self.reason = ""
        self.headers = []
        self.body = b""
        self.raw_head = b""
        self.chunked = False
        self.close_delimited = False
        self.trailers = []
        self.interim = []          # 1xx responses seen before this one

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        b = self.body if len(self.body) < 300 else self.body[:300] + b"..."
        return "<Response %d %r %r>" % (self.status, self.headers, b)


class Closed(Exception):
    pass


def build(method="GET", target="/", host="gw.test", headers=(), body=None,
          version="HTTP/1.1", content_length=True):
    """Build request bytes.  `host=None` omits Host; body bytes get a
    Content-Length unless content_length is False or headers already frame it."""
    lines = ["%s %s %s" % (method, target, version)]
    if host is not None:
        lines.append("Host: %s" % host)
    names = set()
    for k, v in headers:
        lines.append("%s: %s" % (k, v))
        names.add(k.lower())
    if body is not None and content_length and "content-length" not in names \
            and "transfer-encoding" not in names:
        lines.append("Content-Length: %d" % len(body))
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    if body is not None:
        data += body if isinstance(body, bytes) else body.encode()
    return data


def chunked(body, size=7):
    out = b""
    for i in range(0, len(body), size):
        part = body[i:i + size]
        out += b"%x\r\n" % len(part) + part + b"\r\n"
    return out + b"0\r\n\r\n"


class Client:
    def __init__(self, port, host="127.0.0.1", timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.buf = b""
        self.eof = False

    def send(self, data):
        self.sock.sendall(data)

    def send_stream(self, parts, what="body"):
        """Send an iterable of byte strings; if the peer stops reading or
        closes, fail with how far it got and whatever it answered."""
        sent = 0
        try:
            for p in parts:
                self.sock.settimeout(self.timeout)
                self.sock.sendall(p)
                sent += len(p)
        except OSError as e:
            answer = b""
            try:
                answer = self.recv_some(1.0)
            except Exception:  # noqa: BLE001 - diagnostics only
                pass
            raise AssertionError("sending the %s stopped after %d bytes (%r); the gateway said %r"
                                 % (what, sent, e, answer[:300]))
        return sent

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def _more(self, timeout=None):
        if self.eof:
            raise Closed("connection closed by peer")
        self.sock.settimeout(timeout if timeout is not None else self.timeout)
        try:
            d = self.sock.recv(1 << 18)
        except ConnectionResetError:
            self.eof = True
            raise Closed("connection reset by peer")
        if not d:
            self.eof = True
            raise Closed("connection closed by peer")
        self.buf += d

    def read_until(self, sep, limit=1 << 20):
        while True:
            i = self.buf.find(sep)
            if i >= 0:
                out, self.buf = self.buf[:i + len(sep)], self.buf[i + len(sep):]
                return out
            if len(self.buf) > limit:
                raise ValueError("no %r within %d bytes" % (sep, limit))
            self._more()

    def read_exact(self, n):
        while len(self.buf) < n:
            self._more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_some(self, timeout=2.0):
        """Whatever arrives within timeout (b'' on timeout)."""
        if self.buf:
            out, self.buf = self.buf, b""
            return out
        try:
            self._more(timeout)
        except socket.timeout:
            return b""
        out, self.buf = self.buf, b""
        return out

    def read_head(self):
        raw = self.read_until(b"\r\n\r\n")
        r = Response()
        r.raw_head = raw
        lines = raw[:-4].split(b"\r\n")
        first = lines[0].decode("latin-1")
        parts = first.split(" ", 2)
        r.version = parts[0]
        r.status = int(parts[1])
        r.reason = parts[2] if len(parts) > 2 else ""
        for ln in lines[1:]:
            k, v = ln.split(b":", 1)
            r.headers.append((k.decode("latin-1"), v.strip(b" \t").decode("latin-1")))
        return r

    def read_response(self, method="GET", skip_interim=True, sink=None):
        """Read one response.  1xx other than 101 are collected in .interim
        when skip_interim is true.  `sink(bytes)` receives the body instead of
        storing it (for big bodies); r.body_len is always set."""
        interim = []
        while True:
            r = self.read_head()
            if skip_interim and 100 <= r.status < 200 and r.status != 101:
                interim.append(r)
                continue
            break
        r.interim = interim
        r.body_len = 0
        parts = []

        def put(b):
            r.body_len += len(b)
            if sink:
                sink(b)
            else:
                parts.append(b)

        if method == "HEAD" or 100 <= r.status < 200 or r.status in (204, 304):
            return r
        te = ",".join(r.header_all("Transfer-Encoding")).lower()
        if te:
            assert te.split(",")[-1].strip() == "chunked", "response TE %r" % te
            assert not r.header_all("Content-Length"), \
                "response has both Transfer-Encoding and Content-Length"
            r.chunked = True
            while True:
                line = self.read_until(b"\r\n", 4096)
                size = int(line[:-2].split(b";")[0], 16)
                if size == 0:
                    while True:
                        t = self.read_until(b"\r\n")
                        if t == b"\r\n":
                            break
                        k, v = t[:-2].split(b":", 1)
                        r.trailers.append((k.decode(), v.strip().decode()))
                    break
                left = size
                while left:
                    if not self.buf:
                        self._more()
                    take = self.buf[:left]
                    self.buf = self.buf[left:]
                    left -= len(take)
                    put(take)
                assert self.read_exact(2) == b"\r\n", "bad chunk terminator"
        elif r.header_all("Content-Length"):
            cls = r.header_all("Content-Length")
            assert len(set(cls)) == 1, "differing Content-Length values %r" % cls
            left = int(cls[0])
            while left:
                if not self.buf:
                    self._more()
                take = self.buf[:left]
                self.buf = self.buf[left:]
                left -= len(take)
                put(take)
        else:
            r.close_delimited = True
            while True:
                if self.buf:
                    put(self.buf)
                    self.buf = b""
                try:
                    self._more()
                except Closed:
                    break
        r.body = b"".join(parts)
        return r

    def is_closed(self, timeout=2.0):
        """True when the peer closes (FIN or RST) within timeout with no more
        data.  Extra bytes make it False and stay in self.extra."""
        self.extra = b""
        if self.buf:
            self.extra = self.buf
            return False
        if self.eof:
            return True
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                return False
            try:
                self._more(left)
            except Closed:
                return True
            except socket.timeout:
                return False
            except OSError:
                return True
            if self.buf:
                self.extra = self.buf
                return False


def request(port, method="GET", target="/", host="gw.test", headers=(), body=None,
            version="HTTP/1.1", timeout=10.0):
    """One request on a fresh connection; returns the Response."""
    with Client(port, timeout=timeout) as c:
        c.send(build(method, target, host, headers, body, version))
        return c.read_response(method)


def raw_status(port, data, bytewise=False):
    """Send raw request bytes (whole, or one byte per write with TCP_NODELAY)
    on a new connection and return the status of the first response, or None
    when the connection closed without one.  A peer that refuses and closes
    before the last byte is read from all the same."""
    import socket as _socket
    import time as _time
    s = _socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
    try:
        try:
            if bytewise:
                for i in range(len(data)):
                    s.sendall(data[i:i + 1])
                    _time.sleep(0.0005)
            else:
                s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        got = b""
        while b"\r\n" not in got:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        return int(got.split(b" ", 2)[1]) if got.startswith(b"HTTP/1.") else None
    finally:
        s.close()
