#!/usr/bin/python3
"""Many idle keep-alive connections, for bench/mem.sh.

  conns.py idle  --pid PID --port P --n 8000 [--proto h1|h2c|tls]
  conns.py burst --pid PID --port P --n 4000 --bursts 8 [--settle 3]

idle:  RSS of PID, then N connections that each make one request and stay
       open (idle keep-alive), RSS again SETTLE seconds later; prints the
       RSS added per connection.  The connections are closed with RST (SO_LINGER 0) so
       that repeated runs leave no TIME_WAIT sockets eating the loopback's
       ephemeral ports.
burst: the same N connections opened, used once and closed, BURSTS times;
       after each burst waits SETTLE seconds and prints PID's RSS, so a
       ratchet (RSS that never comes back) shows.

Only the standard library: asyncio streams, hand-made HTTP/2 frames for h2c
(prior knowledge), the ssl module for TLS (certificate not verified: the
bench makes its own).
"""
import argparse
import asyncio
import socket
import ssl
import struct
import sys
import time


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


REQ = b"GET /release/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: conns.py\r\n\r\n"


async def read_h1(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    cl = None
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        k = k.strip().lower()
        if k == b"content-length":
            cl = int(v.strip())
        elif k == b"transfer-encoding" and b"chunked" in v.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                return head
    if cl:
        await reader.readexactly(cl)
    return head


def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload


def h2_request():
    # HPACK without Huffman: :method GET (2), :scheme http (6), :path and
    # :authority as literals without indexing (name index 4 and 1).
    path, auth = b"/release/", b"127.0.0.1"
    block = b"\x82\x86" + b"\x04" + bytes([len(path)]) + path + b"\x01" + bytes([len(auth)]) + auth
    return (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0) +
            frame(1, 0x5, 1, block))


async def read_h2(reader, writer):
    while True:
        hdr = await reader.readexactly(9)
        length = int.from_bytes(hdr[:3], "big")
        ftype, flags = hdr[3], hdr[4]
        stream = int.from_bytes(hdr[5:9], "big") & 0x7FFFFFFF
        await reader.readexactly(length)
        if ftype == 4 and not flags & 1:
            writer.write(frame(4, 1, 0))
        if stream == 1 and ftype in (0, 1) and flags & 1:
            return
        if ftype == 7:
            raise ConnectionError("GOAWAY")


class Pool:
    def __init__(self, port, proto):
        self.port, self.proto = port, proto
        self.conns = []
        self.errors = 0
        self.sslctx = None
        if proto == "tls":
            self.sslctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            self.sslctx.check_hostname = False
            self.sslctx.verify_mode = ssl.CERT_NONE
            self.sslctx.set_alpn_protocols(["http/1.1"])

    async def one(self, sem):
        async with sem:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", self.port, ssl=self.sslctx), 20)
                if self.proto == "h2c":
                    writer.write(h2_request())
                    await asyncio.wait_for(read_h2(reader, writer), 20)
                else:
                    writer.write(REQ)
                    head = await asyncio.wait_for(read_h1(reader), 20)
                    if not head.startswith(b"HTTP/1.1 200"):
                        raise ConnectionError(head[:40])
                self.conns.append(writer)
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError,
                    ValueError):
                self.errors += 1

    async def open(self, n):
        sem = asyncio.Semaphore(256)
        await asyncio.gather(*(self.one(sem) for _ in range(n)))

    def close(self):
        for w in self.conns:
            sock = w.get_extra_info("socket")
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            w.transport.abort()
        self.conns = []


async def idle(a):
    # First-use allocations are not a per-connection cost: one round at the
    # full opening concurrency (256) grows each proxy's backend keep-alive
    # pool and its allocator to what the measured round will use, for all
    # three proxies alike (a 20-connection warm-up left Switchyard's 214
    # new backend connections, ~0.2 KiB per client, in the figure).
    warm = Pool(a.port, a.proto)
    await warm.open(1000)
    warm.close()
    await asyncio.sleep(a.settle)  # as long as after the measured round
    before = rss_kb(a.pid)
    p = Pool(a.port, a.proto)
    t0 = time.monotonic()
    await p.open(a.n)
    secs = time.monotonic() - t0
    await asyncio.sleep(a.settle)
    after = rss_kb(a.pid)
    ok = len(p.conns)
    per = (after - before) / ok if ok else 0.0
    print(f"RESULT proto={a.proto} conns={ok} errors={p.errors} rss_before_kb={before} "
          f"rss_after_kb={after} per_conn_kib={per:.2f} open_s={secs:.1f}")
    p.close()
    await asyncio.sleep(0.5)


async def burst(a):
    base = rss_kb(a.pid)
    print(f"RESULT burst=0 rss_kb={base}")
    for b in range(1, a.bursts + 1):
        p = Pool(a.port, a.proto)
        await p.open(a.n)
        peak = rss_kb(a.pid)
        ok, errs = len(p.conns), p.errors
        p.close()
        await asyncio.sleep(a.settle)
        print(f"RESULT burst={b} conns={ok} errors={errs} rss_full_kb={peak} rss_kb={rss_kb(a.pid)}")
        sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["idle", "burst"])
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--n", type=int, default=8000)
    ap.add_argument("--proto", choices=["h1", "h2c", "tls"], default="h1")
    ap.add_argument("--bursts", type=int, default=8)
    ap.add_argument("--settle", type=float, default=3.0,
                    help="seconds to wait before measuring (after opening, or after a burst)")
    a = ap.parse_args()
    asyncio.run(idle(a) if a.mode == "idle" else burst(a))


if __name__ == "__main__":
    main()
