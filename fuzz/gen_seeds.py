#!/usr/bin/env python3
"""Write the seed corpora of the network targets (fuzz/corpus/request/,
fuzz/corpus/response/: two control bytes and a payload, see fuzz_request.c
and fuzz_response.c), of the DNS reply parser (fuzz/corpus/dns/: one
control byte and a message, see fuzz_dns.c) and of the admin bodies
(fuzz/corpus/admin/: calls separated by two NUL bytes, see fuzz_admin.c).  Re-run after changing a seed here; the files are
committed so a fuzz run never needs Python."""
import json
import os
import struct

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
    "dot_hidden": (0x00, 0, req("GET /plain/..%2F..%5cdead HTTP/1.1") + req("GET /plain/..;/x HTTP/1.1")
                   + req("GET /plain/a\\..\\x HTTP/1.1")),
    "upgrade_h2c": (0x00, 0, req("GET /plain/ws HTTP/1.1", "Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c",
                                 "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA")
                    + req("GET /plain HTTP/1.1", "Upgrade: h2c, websocket", "Connection: Upgrade")),
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


def split_seed(ctl, payload, cuts):
    """A fuzz_response_split input: cuts (absolute offsets), control byte,
    backend bytes."""
    out, prev = bytes([len(cuts)]), 0
    for c in cuts:
        out += (c - prev).to_bytes(2, "little")
        prev = c
    return out + bytes([ctl]) + payload


def trailer_overread():
    """Issue 9 item 1 (heap over-read): the head, then exactly one 32 KiB
    receive buffer ending inside a trailer value, then the rest of it."""
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    tail = b"\r\n0\r\nX-T: " + b"v" * 1000
    size = 32768 - len(tail)
    n = size - len(b"%x\r\n" % size)
    while len(b"%x\r\n" % n) + n != size:
        n -= 1
    body = b"%x\r\n" % n + b"d" * n + tail
    return split_seed(0, head + body + b"v" * 10 + b"\r\n\r\n", [len(head), len(head) + len(body)])


def write_response_split():
    d = os.path.join(HERE, "corpus", "response_split")
    os.makedirs(d, exist_ok=True)
    seeds = {name: split_seed(ctl, payload, list(range(7, min(len(payload), 7 * 31), 7)))
             for name, (_, ctl, payload) in RESPONSE.items()}
    seeds["trailer_split_overread"] = trailer_overread()
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def write(dirname, seeds):
    d = os.path.join(HERE, "corpus", dirname)
    os.makedirs(d, exist_ok=True)
    for name, (a, b, payload) in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(bytes([a, b]) + payload)




def dns_name(name):
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"


def dns_msg(qid=0x1234, flags=0x8180, qd=(("gw.test", 1),), an=(), qdcount=None, ancount=None):
    """A DNS answer; `an` rows are (owner bytes, type, class, ttl, rdata)."""
    head = struct.pack(">HHHHHH", qid, flags, len(qd) if qdcount is None else qdcount,
                       len(an) if ancount is None else ancount, 0, 0)
    body = b"".join(dns_name(n) + struct.pack(">HH", t, 1) for n, t in qd)
    body += b"".join(o + struct.pack(">HHIH", t, c, ttl, len(rd)) + rd for o, t, c, ttl, rd in an)
    return head + body


PTR = b"\xc0\x0c"   # compression pointer to the question's name
V4 = bytes([10, 0, 0, 1])
V6 = bytes(15) + b"\x01"
# name: (control byte, message); control: room for (bits 0-5)+1 addresses,
# bit 6 a mismatched id, bit 7 also encode the message as a query name
DNS = {
    "a_one": (0x3f, dns_msg(an=[(PTR, 1, 1, 300, V4)])),
    "a_many": (0x02, dns_msg(an=[(PTR, 1, 1, 60 + i, bytes([10, 0, 0, i])) for i in range(8)])),
    "aaaa": (0x3f, dns_msg(qd=(("gw.test", 28),), an=[(PTR, 28, 1, 30, V6)])),
    "cname_then_a": (0x3f, dns_msg(an=[(PTR, 5, 1, 60, dns_name("real.gw.test")),
                                       (dns_name("real.gw.test"), 1, 1, 0, V4)])),
    "a_wrong_length": (0x3f, dns_msg(an=[(PTR, 1, 1, 60, V4 + b"\0"), (PTR, 28, 1, 60, V4)])),
    "a_class_chaos": (0x3f, dns_msg(an=[(PTR, 1, 3, 60, V4)])),
    "nxdomain": (0x3f, dns_msg(flags=0x8183)),
    "servfail": (0x3f, dns_msg(flags=0x8182)),
    "not_a_response": (0x3f, dns_msg(flags=0x0100)),
    "wrong_id": (0x7f, dns_msg(an=[(PTR, 1, 1, 300, V4)])),
    "pointer_loop": (0x3f, dns_msg(an=[(b"\xc0\x1d", 1, 1, 60, V4)])[:29] + b"\xc0\x1d" + bytes(14)),
    "pointer_past_end": (0x3f, dns_msg(an=[(b"\xc3\xff", 1, 1, 60, V4)])),
    "label_reserved_bits": (0x3f, dns_msg(an=[(b"\x80abc\0", 1, 1, 60, V4)])),
    "counts_lie": (0x3f, dns_msg(an=[(PTR, 1, 1, 60, V4)], qdcount=3, ancount=0xffff)),
    "rdlength_past_end": (0x3f, dns_msg(an=[(PTR, 1, 1, 60, V4)])[:-4] + b"\xff\xff" + V4),
    "truncated_header": (0x3f, dns_msg()[:11]),
    "ttl_max": (0x3f, dns_msg(an=[(PTR, 1, 1, 0xffffffff, V4)])),
    "query_name": (0x80, b"api.internal.example.com"),
    "query_name_long_label": (0x80, b"a" * 64 + b".example"),
}


def write_dns():
    d = os.path.join(HERE, "corpus", "dns")
    os.makedirs(d, exist_ok=True)
    for name, (ctl, msg) in DNS.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(bytes([ctl]) + msg)



# The order of calls[] in fuzz_admin.c: the first byte of a call picks one.
ADMIN_CALLS = [
    "POST /v1/upstreams", "PUT /v1/upstreams/up-a", "PATCH /v1/upstreams/up-a",
    "DELETE /v1/upstreams/up-b", "PATCH /v1/upstreams/up-b",
    "POST /v1/services", "PUT /v1/services/svc-a", "PATCH /v1/services/svc-b",
    "DELETE /v1/services/svc-b",
    "POST /v1/services/svc-a/apis", "PUT /v1/services/svc-a/apis/api-a",
    "PATCH /v1/services/svc-a/apis/api-m", "DELETE /v1/services/svc-a/apis/api-a",
    "POST /v1/services/svc-a/releases", "PUT /v1/services/svc-a/releases/release",
    "DELETE /v1/services/svc-a/releases/release",
    "POST /v1/plugins", "PUT /v1/plugins/plugin-a", "PATCH /v1/plugins/plugin-a",
    "DELETE /v1/plugins/plugin-a",
    "POST /v1/plugins/plugin-a/attachments", "DELETE /v1/plugins/plugin-a/attachments",
    "PUT /v1/config", "POST /v1/explain",
    "POST /v1/services/svc-b/releases", "PATCH /v1/services/svc-b/apis/api-b",
]
NODE = {"Host": "127.0.0.1", "Port": 8080, "Weight": 10}
API = {"ApiId": "api-n", "ApiName": "n", "Path": "/n", "Method": "GET", "ServiceType": "HTTP",
       "ServiceTimeout": 5, "ServiceConfig": {"Product": "upstream", "UpstreamId": "up-a",
                                               "Path": "/n"}}
POLICY = {"strategy_name": "p1", "strategy_weight": 50, "condition": "header.X-U = 'a'",
          "backend_type": "UPSTREAM", "backend_config": {"ServiceConfig": {
              "Product": "upstream", "UpstreamId": "up-a", "Path": "/"}}}
CONFIG_YAML = """Upstreams:
  - {UpstreamId: up-a, Nodes: [{Host: 127.0.0.1, Port: 1, Weight: 1}]}
Services:
  - ServiceId: svc-a
    Environments: [release]
    Apis: [{ApiId: api-a, Path: /a, ServiceType: MOCK, ServiceMockReturnMessage: ok}]
"""
ADMIN_BODIES = {
    "POST /v1/upstreams": {"UpstreamId": "up-n", "UpstreamName": "n", "Algorithm": "ROUND-ROBIN",
                           "Retries": 2, "Nodes": [NODE, dict(NODE, Host="10.0.0.2", Weight=0)]},
    "PUT /v1/upstreams/up-a": {"Scheme": "HTTP", "Algorithm": "CONSISTENT-HASH", "Nodes": [NODE]},
    "PATCH /v1/upstreams/up-a": {"Retries": 1, "UpstreamName": None},
    "DELETE /v1/upstreams/up-b": {},
    "PATCH /v1/upstreams/up-b": {"Nodes": [NODE]},
    "POST /v1/services": {"ServiceId": "svc-n", "ServiceName": "n", "Domains": [
        {"DomainName": "n.test", "PathMappings": [{"Path": "/", "Environment": "release"}]}]},
    "PUT /v1/services/svc-a": {"ServiceName": "a", "Domains": [{"DomainName": "a.test"}]},
    "PATCH /v1/services/svc-b": {"ServiceDesc": "b"},
    "DELETE /v1/services/svc-b": {},
    "POST /v1/services/svc-a/apis": API,
    "PUT /v1/services/svc-a/apis/api-a": {"Path": "/a", "ServiceType": "MOCK",
                                         "ServiceMockReturnMessage": "{\"down\": true}",
                                         "ServiceMockStatusCode": 503},
    "PATCH /v1/services/svc-a/apis/api-m": {"ServiceConfig": {"Path": "/v2"}, "Method": "POST"},
    "DELETE /v1/services/svc-a/apis/api-a": {},
    "POST /v1/services/svc-a/releases": {"EnvironmentName": "release", "ReleaseDesc": "v2"},
    "PUT /v1/services/svc-a/releases/release": {"ReleaseVersion": "v1"},
    "DELETE /v1/services/svc-a/releases/release": {},
    "POST /v1/plugins": {"PluginId": "plugin-n", "PluginName": "n", "PluginType": "Routing",
                         "Description": "d", "PluginData": [POLICY]},
    "PUT /v1/plugins/plugin-a": {"PluginType": "Routing", "PluginData": json.dumps([POLICY])},
    "PATCH /v1/plugins/plugin-a": {"Description": "off"},
    "DELETE /v1/plugins/plugin-a": {},
    "POST /v1/plugins/plugin-a/attachments": {"ServiceId": "svc-a", "EnvironmentName": "release",
                                             "ApiIds": ["api-a"]},
    "DELETE /v1/plugins/plugin-a/attachments": {"ServiceId": "svc-a", "EnvironmentName": "release",
                                               "ApiId": "api-a"},
    "PUT /v1/config": CONFIG_YAML,
    "POST /v1/explain": {"method": "GET", "url": "/release/a", "headers": {"X-Beta": "yes"},
                         "client_ip": "192.0.2.1"},
    "POST /v1/services/svc-b/releases": {"EnvironmentName": "test"},
    "PATCH /v1/services/svc-b/apis/api-b": {"ServiceConfig": {"Url": "http://127.0.0.1:2"}},
}


def admin_call(name, body):
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    return bytes([ADMIN_CALLS.index(name)]) + body


def admin_hostile():
    """Bodies an attacker sends: each is one of the mutations
    tests/hostile/test_admin_mutation.py applies at random."""
    up = "POST /v1/upstreams"
    return {
        "deep_nesting": admin_call(up, b'{"Nodes":' + b"[" * 3000 + b"]" * 3000 + b"}"),
        "deep_patch": admin_call("PATCH /v1/upstreams/up-a", b'{"X":' + b'{"a":' * 1500 + b"1" + b"}" * 1501),
        "number_overflow": admin_call(up, b'{"Nodes":[{"Host":"h","Port":1e309,"Weight":1}]}'),
        "negative_weight": admin_call(up, {"Nodes": [dict(NODE, Weight=-1)]}),
        "huge_port": admin_call(up, {"Nodes": [dict(NODE, Port=2**63 - 1)]}),
        "duplicate_keys": admin_call(up, b'{"UpstreamId":"a","UpstreamId":"b"}'),
        "invalid_utf8": admin_call(up, b'{"UpstreamName":"\xff\xfe\xc0\x80"}'),
        "escaped_nul": admin_call(up, b'{"UpstreamName":"a\\u0000b"}'),
        "type_swaps": admin_call("PUT /v1/services/svc-a", {"ServiceName": 7, "Domains": "a.test"}),
        "nulls": admin_call("PUT /v1/services/svc-a/apis/api-a", {"Path": None, "ServiceConfig": None}),
        "wrong_id": admin_call("PUT /v1/upstreams/up-a", {"UpstreamId": "up-b"}),
        "bad_ids": admin_call(up, {"UpstreamId": "a/b\r\nX: 1"}) + b"\0\0" +
                   admin_call("POST /v1/services", {"ServiceId": "", "Domains": []}),
        "huge_string": admin_call("PATCH /v1/upstreams/up-a", {"UpstreamName": "n" * 70000}),
        "not_an_object": admin_call(up, b"[1,2,3]"),
        "config_yaml_alias_bomb": admin_call("PUT /v1/config", b"a: &a [1,1]\nb: &b [*a,*a]\nc: [*b,*b]\n"),
        "sequence_create_use": admin_call(up, ADMIN_BODIES[up]) + b"\0\0" +
            admin_call("POST /v1/services/svc-a/apis", dict(API, ServiceConfig=dict(API["ServiceConfig"], UpstreamId="up-n"))) +
            b"\0\0" + admin_call("POST /v1/services/svc-a/releases", {"EnvironmentName": "release"}) +
            b"\0\0" + admin_call("DELETE /v1/upstreams/up-b", {}),
    }


def write_admin():
    d = os.path.join(HERE, "corpus", "admin")
    os.makedirs(d, exist_ok=True)
    seeds = {"ok_" + n.split()[0].lower() + n.split()[1][3:].replace("/", "_"): admin_call(n, b)
             for n, b in ADMIN_BODIES.items()}
    seeds.update(admin_hostile())
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


write("request", REQUEST)
write("response", RESPONSE)
write_response_split()
write_dns()
write_admin()
