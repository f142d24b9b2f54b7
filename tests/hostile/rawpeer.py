"""Raw peers for the hostile suite.

ScriptedBackend  a backend that reads one request head per exchange and then
                 plays a script: bytes are written as they are (one send each,
                 TCP_NODELAY), a float sleeps, CLOSE ends the connection.
                 It records every byte each connection received.
RecordingBackend a backend that records every byte it receives per connection
                 and answers each complete request (Content-Length or chunked
                 framing) with a short 200; a framing error closes the
                 connection, as a strict server would.
send_split       write a request whole or one byte per send (TCP_NODELAY).
"""
import socket
import threading
import time

CLOSE = "close"


class _Server:
    def __init__(self):
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.lock = threading.Lock()
        self.conns = []           # bytes received, one bytearray per connection
        self.closed = set()       # indexes of connections that have ended
        self.socks = []
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                s, _ = self.lsock.accept()
            except OSError:
                return
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.settimeout(10)
            rec = bytearray()
            with self.lock:
                self.conns.append(rec)
                self.socks.append(s)
                idx = len(self.conns) - 1
            threading.Thread(target=self._run, args=(s, rec, idx), daemon=True).start()

    def _run(self, s, rec, idx):
        """One request head per exchange; exchange() returns False to close."""
        buf = bytearray()
        try:
            while True:
                head = _read_head(s, rec, buf)
                if head is None or not self.exchange(s, rec, buf, head):
                    return
        except (OSError, ValueError):
            pass
        finally:
            try:
                s.close()
            except OSError:
                pass
            with self.lock:
                self.closed.add(idx)

    def received(self):
        with self.lock:
            return [bytes(c) for c in self.conns]

    def mark(self):
        """Where every connection's recording stands now (for since())."""
        with self.lock:
            return [len(c) for c in self.conns]

    def since(self, mark):
        """Bytes received after mark, per connection that got any:
        {index: bytes}."""
        out = {}
        with self.lock:
            for i, c in enumerate(self.conns):
                start = mark[i] if i < len(mark) else 0
                if len(c) > start:
                    out[i] = bytes(c[start:])
        return out

    def close(self):
        self.stopped = True
        try:
            self.lsock.close()
        except OSError:
            pass
        with self.lock:
            for s in self.socks:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def _read_head(s, rec, buf):
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            return None
        rec += d
        buf += d
    i = buf.index(b"\r\n\r\n") + 4
    head = bytes(buf[:i])
    del buf[:i]
    return head


class ScriptedBackend(_Server):
    """script(head, n) -> list of steps for the n-th exchange (0-based),
    or a plain list used for every exchange."""

    def __init__(self, script):
        self.script = script
        self.exchanges = 0
        super().__init__()

    def exchange(self, s, rec, buf, head):
        with self.lock:
            n = self.exchanges
            self.exchanges += 1
        steps = self.script(head, n) if callable(self.script) else self.script
        for st in steps:
            if st == CLOSE:
                return False
            if isinstance(st, (int, float)):
                time.sleep(st)
            else:
                s.sendall(st)
        return True


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


class RecordingBackend(_Server):
    def __init__(self):
        self.requests = 0
        super().__init__()

    def exchange(self, s, rec, buf, head):
        low = head.lower()
        if b"transfer-encoding: chunked" in low:
            if not self._chunked(s, rec, buf):
                return False
        elif b"content-length:" in low:
            n = int(low.split(b"content-length:")[1].split(b"\r\n")[0])
            while len(buf) < n:
                d = s.recv(65536)
                if not d:
                    return False
                rec += d
                buf += d
            del buf[:n]
        with self.lock:
            self.requests += 1
        s.sendall(OK)
        return True

    def _line(self, s, rec, buf, limit=65536):
        while b"\r\n" not in buf:
            if len(buf) > limit:
                raise ValueError("line too long")
            d = s.recv(65536)
            if not d:
                raise ValueError("eof")
            rec += d
            buf += d
        i = buf.index(b"\r\n")
        line = bytes(buf[:i])
        del buf[:i + 2]
        return line

    def _chunked(self, s, rec, buf):
        while True:
            line = self._line(s, rec, buf)
            size = int(line.split(b";")[0], 16)
            if size == 0:
                while self._line(s, rec, buf):
                    pass
                return True
            while len(buf) < size + 2:
                d = s.recv(65536)
                if not d:
                    return False
                rec += d
                buf += d
            if buf[size:size + 2] != b"\r\n":
                return False
            del buf[:size + 2]


def send_split(sock, data, split, gap=0.0005):
    """Send whole, or one byte per send with TCP_NODELAY and a short gap,
    so that every byte is its own segment and the gateway's reads end at
    every possible split point."""
    if not split:
        sock.sendall(data)
        return
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(len(data)):
        try:
            sock.send(data[i:i + 1])
        except OSError:
            return  # the gateway answered and closed: the rest is moot
        time.sleep(gap)
