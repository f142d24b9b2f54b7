#!/usr/bin/env python3
"""Seed corpus for fuzz_h2: 2 control bytes + client frames (after the
preface, which the target prepends).  Run from the repository root."""
import os
import struct

OUT = "fuzz/corpus/h2"


def frame(t, fl, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([t, fl]) + struct.pack(">I", sid) + payload


def lit(n, v):
    n, v = n.encode(), v.encode()
    return b"\x00" + bytes([len(n)]) + n + bytes([len(v)]) + v


def head(method="GET", path="/ping", auth="gw.test", extra=()):
    b = lit(":method", method) + lit(":scheme", "http") + lit(":path", path) + lit(":authority", auth)
    for k, v in extra:
        b += lit(k, v)
    return b


SETTINGS = frame(4, 0, 0, struct.pack(">HI", 4, 65535))
ACK = frame(4, 1, 0)
seeds = {
    "get-mock": SETTINGS + ACK + frame(1, 5, 1, head()),
    "get-proxy": SETTINGS + frame(1, 5, 1, head(path="/plain/x?y=1", extra=[("x-user", "admin")])),
    "indexed-get": SETTINGS + frame(1, 5, 1, b"\x82\x86\x84" + lit(":authority", "gw.test")),
    "post-cl": SETTINGS + frame(1, 4, 1, head("POST", "/m", extra=[("content-length", "5")])) +
               frame(0, 1, 1, b"hello"),
    "post-chunked": SETTINGS + frame(1, 4, 1, head("POST", "/m")) + frame(0, 0, 1, b"abc") +
                    frame(0, 1, 1, b"def"),
    "trailers": SETTINGS + frame(1, 4, 1, head("POST", "/m")) + frame(0, 0, 1, b"x") +
                frame(1, 5, 1, lit("x-trailer", "1")),
    "continuation": SETTINGS + frame(1, 1, 1, head()[:20]) + frame(9, 4, 1, head()[20:]),
    "rst": SETTINGS + frame(1, 5, 1, head(path="/plain")) + frame(3, 0, 1, struct.pack(">I", 8)),
    "many-streams": SETTINGS + b"".join(frame(1, 5, 2 * i + 1, head(path="/users/%d" % i)) for i in range(10)),
    "ping-window-priority": SETTINGS + frame(6, 0, 0, b"12345678") + frame(8, 0, 0, struct.pack(">I", 1000)) +
                            frame(2, 0, 1, struct.pack(">IB", 0, 16)) + frame(1, 5, 1, head()),
    "host-mismatch": SETTINGS + frame(1, 5, 1, head(extra=[("host", "evil")])),
    "cookies": SETTINGS + frame(1, 5, 1, head(path="/plain", extra=[("cookie", "a=1"), ("cookie", "dead=yes")])),
    "goaway": SETTINGS + frame(1, 5, 1, head()) + frame(7, 0, 0, struct.pack(">II", 1, 0)),
    "bad-window": SETTINGS + frame(1, 4, 1, head("POST", "/m")) + frame(8, 0, 1, struct.pack(">I", 0x7fffffff)) +
                  frame(8, 0, 1, struct.pack(">I", 0x7fffffff)),
}
os.makedirs(OUT, exist_ok=True)
for name, body in seeds.items():
    for fl in (0, 1):
        with open(os.path.join(OUT, "%s-%d" % (name, fl)), "wb") as f:
            f.write(bytes([0, fl]) + body)
