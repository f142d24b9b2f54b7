"""HTTP/2 abuse through the real binary, beyond what test_h2.py already
covers (rapid reset, CONTINUATION flood, MaxHeaders/MaxHeaderBytes):
HPACK games (a dynamic-table size update above what we allowed, an index
past the tables, a small block that decodes into a huge header list),
SETTINGS and PING floods from a client that never reads, SETTINGS frames
with too many entries, and flow-control windows pushed past 2^31-1.

Each attack must end the way RFC 9113 (and nghttp2's flood guards) say --
a GOAWAY or RST_STREAM with the right code, or the connection closed --
with the gateway's memory bounded, and afterwards the same gateway must
still answer a legitimate HTTP/2 client."""
import socket
import struct
import time

import pytest

from syharness.gateway import api, mock_api, service
from syharness.h2raw import PREFACE, H2Raw, frame, hint, req_block, status_of

NO_ERROR, PROTOCOL_ERROR, FLOW_CONTROL_ERROR = 0x0, 0x1, 0x3
COMPRESSION_ERROR, ENHANCE_YOUR_CALM = 0x9, 0xb
SETTINGS, PING, GOAWAY, WINDOW_UPDATE, RST_STREAM = 4, 6, 7, 8, 3


@pytest.fixture
def gw(make_gateway, backend):
    g = make_gateway({
        "Gateway": {"Http2Cleartext": True, "MaxHeaders": 50, "MaxHeaderBytes": 8192},
        "Services": [service("svc", [api("echo", "/echo", backend),
                                     mock_api("mock", "/mock", "mocked")])]})
    g.backend = backend
    return g


def legit_client_served(g):
    """A well-behaved h2c client gets its answer on a fresh connection."""
    c = H2Raw(g.port)
    try:
        c.send(frame(1, 0x5, 1, req_block()))
        fr = c.frames(until=lambda t, fl, s, p: t == 0 and s == 1 and fl & 1, timeout=5)
    finally:
        c.close()
    data = b"".join(p for t, fl, s, p in fr if t == 0 and s == 1)
    return status_of(fr, 1) == 200 and data == b"mocked"


def goaway_code(frames):
    codes = [struct.unpack(">I", p[4:8])[0] for t, fl, s, p in frames if t == GOAWAY]
    return codes[-1] if codes else None


def rst_code(frames, sid):
    codes = [struct.unpack(">I", p[:4])[0] for t, fl, s, p in frames if t == RST_STREAM and s == sid]
    return codes[-1] if codes else None


def ended(frames, c, timeout=5.0):
    """The attack's result: the GOAWAY code; 'closed' when the gateway
    closed the connection without one (a reset counts too); 'open' when it
    still holds the connection after `timeout`."""
    code = goaway_code(frames)
    if code is not None:
        return code
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            c.s.settimeout(max(0.05, deadline - time.time()))
            if not c.s.recv(65536):
                return "closed"
    except socket.timeout:
        return "open"
    except OSError:
        return "closed"
    return "open"


def after_attack(g, rss_before_kb, max_growth_kb=64 * 1024):
    assert g.alive(), g.stderr()
    assert legit_client_served(g)
    assert g.rss_kb() - rss_before_kb < max_growth_kb, (rss_before_kb, g.rss_kb())


# ---- HPACK games ----

def test_hpack_table_size_update_above_our_setting(gw):
    """We announced SETTINGS_HEADER_TABLE_SIZE 4096; a size update to 2^31
    (a decoder that honoured it would let the peer grow our table without
    bound) is a COMPRESSION_ERROR for the connection."""
    rss = gw.rss_kb()
    c = H2Raw(gw.port)
    block = hint(1 << 31, 5, 0x20) + req_block()
    c.send(frame(1, 0x5, 1, block))
    fr = c.frames(until=lambda t, fl, s, p: t == GOAWAY, timeout=5)
    assert goaway_code(fr) == COMPRESSION_ERROR, fr
    assert status_of(fr, 1) is None
    c.close()
    after_attack(gw, rss)


def test_hpack_index_out_of_range(gw):
    """Indexed fields past the static table (61 entries) and an empty
    dynamic table, and a literal whose name index is past it: each is a
    COMPRESSION_ERROR, never a read outside the tables."""
    rss = gw.rss_kb()
    for bad in (hint(5000, 7, 0x80),          # indexed field 5000
                hint(62, 7, 0x80),            # indexed 62: past the static table, none dynamic
                hint(0, 7, 0x80),             # index 0 is never valid
                hint(70, 6, 0x40) + b"\x01v"):                       # literal, name 70
        c = H2Raw(gw.port)
        c.send(frame(1, 0x5, 1, req_block() + bad))
        fr = c.frames(until=lambda t, fl, s, p: t == GOAWAY, timeout=5)
        c.close()
        assert goaway_code(fr) == COMPRESSION_ERROR, (bad, fr)
        assert status_of(fr, 1) is None, bad
    after_attack(gw, rss)


def test_hpack_bomb_small_block_huge_header_list(gw):
    """One 4,000-byte header added to the dynamic table, then referenced
    by a one-byte index 3,000 times: a 3 KB block that decodes to ~12 MB.
    The header list limit (MaxHeaderBytes) must refuse it long before --
    431, a reset stream or a GOAWAY -- and nothing of it reaches the
    backend."""
    rss = gw.rss_kb()
    c = H2Raw(gw.port)
    # Literal with incremental indexing, new name: enters the dynamic table as index 62.
    add = hint(0, 6, 0x40) + hint(6) + b"x-bomb" + hint(4000) + b"b" * 4000
    block = req_block(path="/release/echo") + add + hint(62, 7, 0x80) * 3000
    assert len(block) < 16384  # one HEADERS frame within the default frame size
    c.send(frame(1, 0x5, 1, block))
    fr = c.frames(until=lambda t, fl, s, p: (t == 1 and s == 1) or (t == RST_STREAM and s == 1)
                  or t == GOAWAY, timeout=5)
    c.close()
    st = status_of(fr, 1)
    assert st in (431, None), fr
    assert st == 431 or rst_code(fr, 1) is not None or goaway_code(fr) is not None, fr
    assert gw.backend.requests == []
    after_attack(gw, rss)


# ---- SETTINGS and PING floods ----

def flood(g, unit, count, rcvbuf=4096):
    """Send `count` copies of `unit` without reading anything back (a tiny
    receive buffer, so the gateway's replies pile up on its side); returns
    the connection's end."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(5)
    s.connect(("127.0.0.1", g.port))
    s.sendall(PREFACE + frame(SETTINGS, 0, 0))
    burst = unit * 500
    sent = 0
    deadline = time.time() + 8
    try:
        while sent < count and time.time() < deadline:
            s.sendall(burst)
            sent += 500
    except OSError:
        pass  # the gateway closed or reset the connection: what we want
    c = H2Raw.__new__(H2Raw)
    c.s, c.buf = s, b""
    fr = c.frames(until=lambda t, fl, s_, p: t == GOAWAY, timeout=5)
    res = ended(fr, c)
    s.close()
    return sent, res


def test_ping_flood_from_a_client_that_never_reads(gw):
    """Each PING owes an ACK; a client that never reads would make us
    queue them without end.  nghttp2's outbound-ACK limit (1000) ends the
    connection with ENHANCE_YOUR_CALM (or we close it)."""
    rss = gw.rss_kb()
    sent, res = flood(gw, frame(PING, 0, 0, b"12345678"), 200000)
    print("PING flood: %d sent, end %r" % (sent, res))
    assert res in (ENHANCE_YOUR_CALM, "closed"), res
    after_attack(gw, rss)


def test_settings_flood_from_a_client_that_never_reads(gw):
    rss = gw.rss_kb()
    sent, res = flood(gw, frame(SETTINGS, 0, 0, struct.pack(">HI", 3, 100)), 200000)
    print("SETTINGS flood: %d sent, end %r" % (sent, res))
    assert res in (ENHANCE_YOUR_CALM, "closed"), res
    after_attack(gw, rss)


def test_settings_frame_with_too_many_entries(gw):
    """One SETTINGS frame of 1,000 entries (we accept 32): refused with a
    GOAWAY rather than processed."""
    rss = gw.rss_kb()
    c = H2Raw(gw.port)
    c.send(frame(SETTINGS, 0, 0, struct.pack(">HI", 3, 100) * 1000))
    fr = c.frames(until=lambda t, fl, s, p: t == GOAWAY, timeout=5)
    res = ended(fr, c)
    c.close()
    assert res in (ENHANCE_YOUR_CALM, PROTOCOL_ERROR, "closed"), res
    after_attack(gw, rss)


# ---- windows past 2^31-1 ----

def test_connection_window_update_past_2_31(gw):
    """The connection window starts at 65,535; + 2^31-1 overflows it:
    FLOW_CONTROL_ERROR for the connection (RFC 9113 §6.9.1)."""
    rss = gw.rss_kb()
    c = H2Raw(gw.port)
    c.send(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 0x7fffffff)))
    c.send(frame(1, 0x5, 1, req_block()))
    fr = c.frames(until=lambda t, fl, s, p: t == GOAWAY, timeout=5)
    c.close()
    assert goaway_code(fr) == FLOW_CONTROL_ERROR, fr
    after_attack(gw, rss)


def test_stream_window_update_past_2_31(gw):
    """A stream whose window is pushed past 2^31-1 is reset with
    FLOW_CONTROL_ERROR; the connection and its other streams go on."""
    rss = gw.rss_kb()
    c = H2Raw(gw.port)
    c.send(frame(1, 0x4, 1, req_block(path="/release/echo")))  # open, body to come
    c.send(frame(WINDOW_UPDATE, 0, 1, struct.pack(">I", 0x7fffffff)))
    c.send(frame(1, 0x5, 3, req_block()))
    fr = c.frames(until=lambda t, fl, s, p: t == 0 and s == 3 and fl & 1, timeout=5)
    c.close()
    assert rst_code(fr, 1) == FLOW_CONTROL_ERROR, fr
    assert status_of(fr, 3) == 200
    assert goaway_code(fr) is None
    after_attack(gw, rss)


def test_initial_window_size_setting_past_2_31(gw):
    """SETTINGS_INITIAL_WINDOW_SIZE of 2^31 is a FLOW_CONTROL_ERROR for the
    connection (RFC 9113 §6.5.2)."""
    rss = gw.rss_kb()
    c = H2Raw(gw.port)
    c.send(frame(SETTINGS, 0, 0, struct.pack(">HI", 4, 0x80000000)))
    fr = c.frames(until=lambda t, fl, s, p: t == GOAWAY, timeout=5)
    c.close()
    assert goaway_code(fr) == FLOW_CONTROL_ERROR, fr
    after_attack(gw, rss)


def test_window_update_of_zero(gw):
    """A zero increment is a PROTOCOL_ERROR: on stream 0 for the
    connection; on a stream RFC 9113 allows a stream error, nghttp2 ends
    the connection too (stricter, fine)."""
    rss = gw.rss_kb()
    for sid in (0, 1):
        c = H2Raw(gw.port)
        c.send(frame(1, 0x4, 1, req_block(path="/release/echo")))
        c.send(frame(WINDOW_UPDATE, 0, sid, struct.pack(">I", 0)))
        fr = c.frames(until=lambda t, fl, s, p: t == GOAWAY or t == RST_STREAM, timeout=5)
        c.close()
        code = goaway_code(fr) if sid == 0 or rst_code(fr, 1) is None else rst_code(fr, 1)
        assert code == PROTOCOL_ERROR, (sid, fr)
    after_attack(gw, rss)
