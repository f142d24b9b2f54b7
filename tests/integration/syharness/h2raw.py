"""HTTP/2 on raw frames, for tests that must send what no real client
would (floods, bad HPACK, window overflows): frame builders, a minimal
HPACK literal encoder, a socket that reads frames back (ACKing the
server's SETTINGS), and a decoder of the :status a response starts with."""
import socket
import struct
import time


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload


def hint(n, prefix=7, flags=0):
    """HPACK integer with an n-bit prefix; `flags` are the bits above it
    (0x80 indexed field, 0x40 literal with indexing, 0x20 table size update)."""
    lim = (1 << prefix) - 1
    if n < lim:
        return bytes([flags | n])
    out, n = [flags | lim], n - lim
    while n >= 128:
        out.append((n & 127) | 128)
        n >>= 7
    return bytes(out + [n])


def lit(name, value):
    """HPACK literal without indexing, new name, no Huffman."""
    name, value = name.encode(), value.encode()
    return b"\x00" + hint(len(name)) + name + hint(len(value)) + value


def req_block(path="/release/mock", authority="a.test", extra=()):
    b = lit(":method", "GET") + lit(":scheme", "http") + lit(":path", path) + lit(":authority", authority)
    for k, v in extra:
        b += lit(k, v)
    return b


PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


class H2Raw:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.s.sendall(PREFACE + frame(4, 0, 0))
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def frames(self, until=None, timeout=5.0):
        """Read frames until `until(type, flags, sid, payload)` is true or
        the connection closes; returns the list."""
        out = []
        deadline = time.time() + timeout
        while time.time() < deadline:
            while len(self.buf) >= 9:
                ln = struct.unpack(">I", b"\0" + self.buf[:3])[0]
                if len(self.buf) < 9 + ln:
                    break
                f = (self.buf[3], self.buf[4], struct.unpack(">I", self.buf[5:9])[0] & 0x7fffffff,
                     self.buf[9:9 + ln])
                self.buf = self.buf[9 + ln:]
                out.append(f)
                if f[0] == 4 and not f[1] & 1:
                    try:
                        self.s.sendall(frame(4, 1, 0))  # ACK their SETTINGS
                    except OSError:
                        pass
                if until and until(*f):
                    return out
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return out
            if not d:
                return out
            self.buf += d
        return out

    def close(self):
        self.s.close()


HUFF_DIGITS = {"00000": "0", "00001": "1", "00010": "2", "011001": "3", "011010": "4",
               "011011": "5", "011100": "6", "011101": "7", "011110": "8", "011111": "9"}
STATIC_STATUS = {8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500}


def _huff_digits(bs):
    out, cur = "", ""
    for ch in "".join(format(b, "08b") for b in bs):
        cur += ch
        if cur in HUFF_DIGITS:
            out += HUFF_DIGITS[cur]
            cur = ""
    return out


def status_of(frames, sid):
    """The :status of stream sid: the first field of its HEADERS, either a
    static-table index or a literal with the :status name (nghttp2 may
    Huffman-code the digits)."""
    for t, fl, s, p in frames:
        if t != 1 or s != sid:
            continue
        while p[0] & 0xe0 == 0x20:  # dynamic table size update
            p = p[1:]
        b = p[0]
        if b & 0x80:
            return STATIC_STATUS.get(b & 0x7f, "dynamic")
        rest = p[1:]
        ln = rest[0] & 0x7f
        val = rest[1:1 + ln]
        return int(_huff_digits(val) if rest[0] & 0x80 else val)
    return None
