#!/usr/bin/env python3
"""Write the seed corpora of the network targets:
fuzz/corpus/request/ and fuzz/corpus/response/.

Each seed is two control bytes and a payload (see fuzz_request.c and
fuzz_response.c).  Re-run after changing a seed here; the files are
committed so a fuzz run never needs Python."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
H = "Host: gw.test\r\n"


def req(line, *headers, body=b"", host=True):
    head = line + "\r\n" + (H if host else "") + "".join(h + "\r\n" for h in headers) + "\r\n"
    return head.encode("latin-1") + body


# name: (split byte, backend flavor byte, client bytes)
REQUEST = {
    "get_plain": (0x00, 0, req("GET /plain/a?x=1&y=%20 HTTP/1.1", "Accept: */*", "User-Agent: seed")),
    "host_service": (0x00, 0, req("GET /plain/a HTTP/1.1", host=False).replace(b"\r\n\r\n", b"\r\nHost: api.example.com\r\n\r\n")),
    "get_split": (0x88, 0, req("GET /users/42 HTTP/1.1", "X-Beta: yes", "Cookie: a=1; dead=no")),
    "get_exact": (0x35, 1, req("GET /x/exact HTTP/1.1", host=False).replace(b"\r\n\r\n", b"\r\nHost: x\r\n\r\n")),
    "get_prefix_var2": (0x00, 2, req("GET /items/7/sub/9?q=1 HTTP/1.1", "X-Forwarded-For: 192.0.2.9")),
    "get_mock": (0x00, 0, req("GET /ping HTTP/1.1")),
    "head_teapot": (0x00, 0, req("HEAD /teapot HTTP/1.1")),
    "get_dead": (0x00, 0, req("GET /dead/x HTTP/1.1")),
    "get_policy_dead": (0x00, 0, req("GET /plain?dead=1 HTTP/1.1")),
    "get_policy_admin": (0x00, 0, req("GET /root HTTP/1.1", "X-User: admin")),
    "get_upstream_retry": (0x00, 3, req("GET /items/1/sub/2 HTTP/1.1") + req("GET /items/3/sub/4 HTTP/1.1")),
    "get_host_service": (0x00, 5, req("GET /a HTTP/1.1", host=False).replace(b"\r\n\r\n", b"\r\nHost: API.Example.com:8080\r\n\r\n")),
    "post_cl": (0x00, 0, req("POST /m HTTP/1.1", "Content-Length: 11", "Content-Type: text/plain", body=b"hello world")),
    "post_chunked": (0x48, 1, req("POST /plain/up HTTP/1.1", "Transfer-Encoding: chunked",
                                  body=b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")),
    "post_too_big": (0x00, 0, req("POST /plain HTTP/1.1", "Content-Length: 99999")),
    "pipelined": (0x00, 4, req("GET /ping HTTP/1.1") + req("GET /plain/1 HTTP/1.1") +
                  req("POST /m HTTP/1.1", "Content-Length: 2", body=b"ab") + req("GET /nothing HTTP/1.1", host=False)),
    "keepalive_10": (0x00, 0, req("GET /plain HTTP/1.0", "Connection: keep-alive", host=False) + req("GET /plain HTTP/1.0", host=False)),
    "conn_close_hop": (0x00, 6, req("GET /plain HTTP/1.1", "Connection: close, X-Secret", "X-Secret: 1", "Keep-Alive: 1",
                                   "TE: trailers", "X_Forwarded_For: 1.2.3.4", "Proxy-Authorization: x")),
    "bad_cl_te": (0x00, 0, req("POST /plain HTTP/1.1", "Content-Length: 3", "Transfer-Encoding: chunked", body=b"0\r\n\r\n")),
    "bad_dup_cl": (0x00, 0, req("POST /plain HTTP/1.1", "Content-Length: 3", "Content-Length: 4", body=b"abcd")),
    "bad_cl_value": (0x00, 0, req("POST /plain HTTP/1.1", "Content-Length: 1x", body=b"a")),
    "bad_obs_fold": (0x00, 0, req("GET /plain HTTP/1.1", "X-Long: a", " continued")),
    "bad_bare_cr": (0x00, 0, b"GET /plain HTTP/1.1\r\nHost: a\rX: b\r\n\r\n"),
    "bad_missing_host": (0x00, 0, req("GET /plain HTTP/1.1", host=False)),
    "bad_two_hosts": (0x00, 0, req("GET /plain HTTP/1.1", "Host: b.example.com")),
    "bad_te_http10": (0x00, 0, req("POST /plain HTTP/1.0", "Transfer-Encoding: chunked", body=b"0\r\n\r\n")),
    "bad_te_gzip": (0x00, 0, req("POST /plain HTTP/1.1", "Transfer-Encoding: gzip, chunked", body=b"0\r\n\r\n")),
    "bad_target": (0x00, 0, req("GET plain HTTP/1.1") + req("GET * HTTP/1.1")),
    "bad_fragment": (0x00, 0, req("GET /plain#frag HTTP/1.1")),
    "huge_header": (0x00, 0, req("GET /plain HTTP/1.1", "X-Big: " + "a" * 5000)),
    "long_target": (0x00, 0, req("GET /plain/" + "b" * 1100 + " HTTP/1.1")),
    "many_headers": (0x00, 0, req("GET /plain HTTP/1.1", *["X-H%d: v" % i for i in range(30)])),
    "nul_in_value": (0x00, 0, b"GET /plain HTTP/1.1\r\nHost: a\r\nX-N: a\x00b\r\n\r\n"),
    "ctl_in_value": (0x00, 0, b"GET /plain HTTP/1.1\r\nHost: a\r\nX-N: a\x01b\r\n\r\n"),
    "expect_continue": (0x00, 3, req("POST /m HTTP/1.1", "Expect: 100-continue", "Content-Length: 4", body=b"data")),
    "expect_other": (0x00, 0, req("POST /m HTTP/1.1", "Expect: something", "Content-Length: 0")),
    "upgrade_ws": (0x00, 0, req("GET /plain/ws HTTP/1.1", "Upgrade: websocket", "Connection: Upgrade",
                                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13") + b"\x81\x05hello"),
    "absolute_form": (0x00, 0, req("GET http://api.example.com:80/plain/abs?x=1 HTTP/1.1", host=False).replace(b"\r\n\r\n", b"\r\nHost: other\r\n\r\n")),
    "absolute_form_query": (0x00, 0, req("GET http://h?x=1 HTTP/1.1", "Host: h")),
    "absolute_userinfo": (0x00, 0, req("GET http://u@h/plain HTTP/1.1")),
    "dot_segments": (0x00, 0, req("GET /plain/../dead HTTP/1.1") + req("GET /plain/%2e%2E/x HTTP/1.1")),
    "dot_ok": (0x00, 0, req("GET /plain/...x/.y HTTP/1.1")),
    "connect": (0x00, 0, req("CONNECT api.example.com:443 HTTP/1.1")),
    "method_405": (0x00, 0, req("DELETE /ping HTTP/1.1")),
    "http2_preface": (0x00, 0, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
    "ipv6_host": (0x00, 0, req("GET /plain HTTP/1.1", host=False).replace(b"\r\n\r\n", b"\r\nHost: [::1]:8080\r\n\r\n")),
    "bad_host": (0x00, 0, req("GET /plain HTTP/1.1", host=False).replace(b"\r\n\r\n", b"\r\nHost: a b:x\r\n\r\n")),
    "env_beta": (0x00, 0, req("GET /beta/plain HTTP/1.1")),
    "chunked_bad_size": (0x00, 0, req("POST /plain HTTP/1.1", "Transfer-Encoding: chunked", body=b"zz\r\nabc\r\n0\r\n\r\n")),
    "body_then_eof": (0x00, 0, req("POST /plain HTTP/1.1", "Content-Length: 100", body=b"only-part")),
}

# name: (split byte, request kind | early bit, backend bytes)
RESPONSE = {
    "cl": (0x00, 0, b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-A: 1\r\n\r\nabc"),
    "cl_split": (0x77, 0, b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-A: 1\r\n\r\nabc"),
    "chunked": (0x00, 0, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nwiki\r\n0\r\nT: 1\r\n\r\n"),
    "eof_body": (0x00, 0, b"HTTP/1.1 200 OK\r\n\r\nuntil the end"),
    "eof_body_http10": (0x00, 5, b"HTTP/1.0 200 OK\r\n\r\nuntil the end"),
    "head": (0x00, 1, b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"),
    "no_content": (0x00, 0, b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"),
    "not_modified": (0x00, 0, b"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 12\r\n\r\n"),
    "interim": (0x00, 3, b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"),
    "upgrade": (0x00, 4, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x02hi"),
    "upgrade_unasked": (0x00, 0, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
    "cl_te": (0x00, 0, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    "dup_cl": (0x00, 0, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc"),
    "conn_close": (0x00, 6, b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx"),
    "pipelined_keepalive": (0x00, 6, b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"),
    "extra_after": (0x00, 7, b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\n\r\n"),
    "obs_fold": (0x00, 0, b"HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n"),
    "hop_named": (0x00, 0, b"HTTP/1.1 200 OK\r\nConnection: X-Drop, keep-alive\r\nX-Drop: 1\r\nKeep-Alive: 5\r\nX-Api-RequestId: forged\r\nContent-Length: 0\r\n\r\n"),
    "status_odd": (0x00, 0, b"HTTP/1.1 599 Whatever\r\nContent-Length: 0\r\n\r\n"),
    "early": (0x00, 8, b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n"),
    "truncated_head": (0x00, 0, b"HTTP/1.1 200 OK\r\nContent-Len"),
    "truncated_body": (0x00, 2, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"),
    "garbage": (0x00, 0, b"\x00\x01SSH-2.0-OpenSSH\r\n"),
    "many_headers": (0x00, 0, b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(140)) + b"\r\n"),
}


def write(dirname, seeds):
    d = os.path.join(HERE, "corpus", dirname)
    os.makedirs(d, exist_ok=True)
    for name, (a, b, payload) in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(bytes([a, b]) + payload)


write("request", REQUEST)
write("response", RESPONSE)
