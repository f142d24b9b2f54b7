"""The request head is kept as slices into the client's receive buffer
(src/http/head.h).  A body that fills the buffer must not move the head
under those slices (a retry re-serializes it, the access log reads it), and
trailers, which arrive while the buffer is reused, are never kept as
slices."""
import time

from syharness.backend import Backend
from syharness.gateway import simple_config


def test_head_slices_survive_a_body_that_fills_the_buffer(make_gateway, backend):
    gw = make_gateway(simple_config(backend))
    r = gw.request("POST", "/release/echo?q=1", headers=[("X-Keep", "kept")],
                   body=b"Z" * 200000, timeout=5)
    assert r.status == 200, r
    assert backend.last().body_len == 200000
    time.sleep(0.1)
    entry = gw.access_entries(1)[-1]
    # Before the fix the buffer was compacted to offset 0 under the head:
    # the access log printed body bytes as the path.
    assert entry["path"] == "/release/echo", entry["path"][:60]


def test_trailer_after_buffer_reuse_is_accepted(make_gateway):
    """A trailer at a high buffer offset (past MaxHeaderBytes from the start
    of the buffer) used to be measured as if it were part of the head: 431."""
    b = Backend("b1")
    try:
        gw = make_gateway(simple_config(b))
        for size in (20000, 33000, 40000):
            body = b"%x\r\n" % size + b"y" * size + b"\r\n0\r\nX-Trailer: t\r\n\r\n"
            head = (b"POST /release/echo HTTP/1.1\r\nHost: gw.test\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n")
            with gw.client(timeout=5) as c:
                c.send(head + body)
                r = c.read_response()
            assert r.status == 200, (size, r)
            assert b.last().body_len == size
            assert b.last().trailers == []   # trailers are not forwarded
    finally:
        b.close()
