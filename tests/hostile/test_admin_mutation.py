"""Admin bodies mutated at random from valid ones, through the real binary.

A fixed seed makes a few hundred calls (bounded to ~20 s): valid bodies of
every writable resource, each bent by one to three mutations an attacker
would try -- types swapped, huge strings, deep nesting, invalid UTF-8,
duplicate keys, 1e309 and other numbers no field can hold, negative
weights and ports, nulls, required fields dropped, wrong or malformed ids,
bodies that are not objects.  After every call:

  - the status is one the API documents and a JSON reply parses;
  - a refused call left the running configuration exactly as it was
    (same /v1/config text, same version);
  - an acknowledged one moved the version by one, and what the reply
    showed is what GET now returns;
  - nothing invalid is in the running configuration (ids of the
    documented character set, weights, ports and timeouts in range).

At the end the gateway still routes, the stored file passes
`switchyard -t`, and it holds exactly what runs.

A failure names the seed, the call number, the path and the mutations.
"""
import copy
import json
import random
import re
import time
import urllib.parse

import pytest
import yaml

from syharness.admin import Admin
from syharness.gateway import free_port, run_cli

SEED = 9
CALLS = 300
BUDGET_S = 20.0
TOKEN = "admin-token-for-mutation-tests-0123456789"
ID_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
ALLOWED = {200, 201, 400, 404, 405, 409, 413}

NODE = {"Host": "127.0.0.1", "Port": 1, "Weight": 10}
API_BODY = {"ApiId": "api-new", "ApiName": "n", "Path": "/n", "Method": "GET",
            "ServiceType": "HTTP", "ServiceTimeout": 5,
            "ServiceConfig": {"Product": "upstream", "UpstreamId": "up-a", "Path": "/n"}}
POLICY = {"strategy_name": "p1", "strategy_weight": 50, "condition": "header.X-U = 'a'",
          "backend_type": "UPSTREAM",
          "backend_config": {"ServiceConfig": {"Product": "upstream", "UpstreamId": "up-a",
                                               "Path": "/"}}}

# (method, path, valid body, id key the body may carry or None)
TEMPLATES = [
    ("POST", "/v1/upstreams", {"UpstreamId": "up-new", "UpstreamName": "n", "Retries": 2,
                               "Algorithm": "ROUND-ROBIN", "Nodes": [NODE, dict(NODE, Weight=0)]},
     "UpstreamId"),
    ("PUT", "/v1/upstreams/up-b", {"UpstreamName": "b", "Nodes": [NODE]}, "UpstreamId"),
    ("PATCH", "/v1/upstreams/up-b", {"Retries": 1, "Nodes": [dict(NODE, Weight=100)]}, "UpstreamId"),
    ("POST", "/v1/services", {"ServiceId": "svc-new", "ServiceName": "n",
                              "Domains": [{"DomainName": "n.test"}]}, "ServiceId"),
    ("PUT", "/v1/services/svc-b", {"ServiceName": "b", "Domains": [{"DomainName": "b.test"}]},
     "ServiceId"),
    ("PATCH", "/v1/services/svc-a", {"ServiceDesc": "d"}, "ServiceId"),
    ("POST", "/v1/services/svc-a/apis", API_BODY, "ApiId"),
    ("PUT", "/v1/services/svc-a/apis/api-a", dict(API_BODY, ApiId="api-a", Path="/a"), "ApiId"),
    ("PATCH", "/v1/services/svc-a/apis/api-a", {"ServiceTimeout": 9,
                                                "ServiceConfig": {"Path": "/v2"}}, "ApiId"),
    ("PATCH", "/v1/services/svc-a/apis/api-m", {"ServiceMockReturnMessage": "m",
                                                "ServiceMockStatusCode": 503}, "ApiId"),
    ("POST", "/v1/services/svc-a/releases", {"EnvironmentName": "release", "ReleaseDesc": "r"}, None),
    ("POST", "/v1/plugins", {"PluginId": "plugin-new", "PluginType": "Routing",
                             "PluginData": [POLICY]}, "PluginId"),
    ("PUT", "/v1/plugins/plugin-a", {"PluginType": "Routing", "PluginData": json.dumps([POLICY])},
     "PluginId"),
    ("PATCH", "/v1/plugins/plugin-a", {"Description": "x"}, "PluginId"),
    ("POST", "/v1/plugins/plugin-a/attachments", {"ServiceId": "svc-a", "EnvironmentName": "release",
                                                  "ApiIds": ["api-m"]}, None),
]

BAD_IDS = ["a/b", "a?b", "a#b", "a b", "\u00fc", "x\ny", "a\r\nX-Inj: 1", "", "a" * 65, "..",
           "%2e", "a\u0000b", "<script>", "up-a"]
ODD_NUMBERS = ["1e309", "-1e309", "1e-400", "18446744073709551616", "-9223372036854775809",
               "-0", "0.5", "1E2"]
ODD_VALUES = [None, True, 0, -1, -2 ** 31, 2 ** 63 - 1, 3.5, "", "x", [], {}, [1, "a"], {"a": 1}]


# ---- mutations: each returns (body object or None, raw bytes or None, label) ----

class Raw:
    """A body that must be sent as bytes (not expressible as Python JSON)."""
    def __init__(self, data):
        self.data = data


def _paths(v, prefix=()):
    """Every (path, value) inside v, objects and arrays."""
    out = [(prefix, v)]
    if isinstance(v, dict):
        for k, x in v.items():
            out += _paths(x, prefix + (k,))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            out += _paths(x, prefix + (i,))
    return out


def _set(body, path, value):
    if not path:
        return value
    cur = body
    for p in path[:-1]:
        cur = cur[p]
    cur[path[-1]] = value
    return body


def _pick(rng, body, want=None):
    cands = [(p, v) for p, v in _paths(body) if p and (want is None or want(p, v))]
    return rng.choice(cands) if cands else (None, None)


MARK = "\u2603MARK\u2603"


def _raw_at(rng, body, text):
    """Serialize body with `text` spliced in place of one value."""
    p, _ = _pick(rng, body)
    if p is None:
        return Raw(text.encode() if isinstance(text, str) else text)
    b = _set(copy.deepcopy(body), p, MARK)
    s = json.dumps(b, ensure_ascii=False).encode()
    t = text.encode() if isinstance(text, str) else text
    return Raw(s.replace(json.dumps(MARK, ensure_ascii=False).encode(), t, 1))


def m_type_swap(rng, body, tpl):
    p, v = _pick(rng, body)
    if p is None:
        return body, "type_swap(-)"
    choices = [x for x in ODD_VALUES if type(x) is not type(v)]
    return _set(body, p, copy.deepcopy(rng.choice(choices))), "type_swap(%s)" % "/".join(map(str, p))


def m_huge_string(rng, body, tpl):
    n = rng.choice([5000, 70000, 1100000])  # the last one over the 1 MiB body limit
    p, _ = _pick(rng, body, lambda p, v: isinstance(v, str)) if rng.random() < 0.7 else _pick(rng, body)
    if p is None:
        return body, "huge_string(-)"
    return _set(body, p, rng.choice("xé\u2603") * n), "huge_string(%d)" % n


def m_deep(rng, body, tpl):
    d = rng.choice([64, 1000, 2100, 20000])
    op, cl = rng.choice([("[", "]"), ('{"a":', "}")])
    return _raw_at(rng, body, op * d + "1" + cl * d), "deep(%d)" % d


def m_invalid_utf8(rng, body, tpl):
    bad = rng.choice([b'"\xff\xfe"', b'"a\xc0\x80b"', b'"\xed\xa0\x80"', b'"\\ud800"',
                      b'"\xe2\x82"', b'"\\u0000"'])
    return _raw_at(rng, body, bad), "invalid_utf8(%r)" % bad


def m_duplicate_key(rng, body, tpl):
    if not isinstance(body, dict) or not body:
        return body, "duplicate_key(-)"
    k = rng.choice(list(body))
    s = json.dumps(body)
    dup = json.dumps({k: rng.choice(ODD_VALUES)})[1:-1]
    return Raw(("{" + dup + ", " + s[1:]).encode()), "duplicate_key(%s)" % k


def m_number(rng, body, tpl):
    n = rng.choice(ODD_NUMBERS)
    return _raw_at(rng, body, n), "number(%s)" % n


def m_negative(rng, body, tpl):
    keys = ("Weight", "Port", "Retries", "ServiceTimeout", "strategy_weight",
            "ServiceMockStatusCode")
    p, _ = _pick(rng, body, lambda p, v: p[-1] in keys)
    if p is None:
        return body, "negative(-)"
    v = rng.choice([-1, -100, 0, 101, 65536, 2 ** 32, -2 ** 63])
    return _set(body, p, v), "negative(%s=%d)" % (p[-1], v)


def m_null(rng, body, tpl):
    p, _ = _pick(rng, body)
    if p is None:
        return None, "null(body)"
    return _set(body, p, None), "null(%s)" % "/".join(map(str, p))


def m_drop(rng, body, tpl):
    p, _ = _pick(rng, body, lambda p, v: isinstance(p[-1], str))
    if p is None:
        return body, "drop(-)"
    cur = body
    for x in p[:-1]:
        cur = cur[x]
    del cur[p[-1]]
    return body, "drop(%s)" % "/".join(map(str, p))


def m_bad_id(rng, body, tpl):
    key = tpl[3]
    bad = rng.choice(BAD_IDS)
    if key and isinstance(body, dict):
        body[key] = bad
        return body, "bad_id(%r)" % bad
    return body, "bad_id(-)"


def m_not_object(rng, body, tpl):
    return rng.choice([[body], "x", 7, None, True]), "not_object"


MUTATIONS = [m_type_swap, m_huge_string, m_deep, m_invalid_utf8, m_duplicate_key, m_number,
             m_negative, m_null, m_drop, m_bad_id, m_not_object]


def make_call(rng, n):
    """The n-th call: (method, path, body bytes, label)."""
    tpl = rng.choice(TEMPLATES)
    method, path, body = tpl[0], tpl[1], copy.deepcopy(tpl[2])
    if tpl[3] and method == "POST" and isinstance(body, dict):
        body[tpl[3]] = "%s-m%d" % (body[tpl[3]].split("-")[0], n)  # fresh, valid
    labels = []
    if rng.random() < 0.1:  # the id in the path is wrong instead
        bad = rng.choice(BAD_IDS[:-1] + ["nope"])
        if method != "POST":
            parts = path.split("/")
            idx = {"upstreams": 3, "plugins": 3, "services": 3 if len(parts) <= 4 else 5}[parts[2]]
            idx = min(idx, len(parts) - 1)
            parts[idx] = urllib.parse.quote(bad, safe="")
            path = "/".join(parts)
            labels.append("path_id(%r)" % bad)
    for _ in range(rng.choice([1, 1, 2, 3])):
        if isinstance(body, Raw):
            break
        body, label = rng.choice(MUTATIONS)(rng, body, tpl)
        labels.append(label)
    data = body.data if isinstance(body, Raw) else json.dumps(body, ensure_ascii=rng.random() < 0.5).encode()
    return method, path, data, labels


# ---- what must hold ----

def invalid_things(doc):
    """What no acknowledged change may ever have put in the running
    configuration (as GET /v1/config shows it)."""
    bad = []

    def id_ok(where, v):
        if not (isinstance(v, str) and ID_RE.fullmatch(v)):
            bad.append("%s: id %r" % (where, v))

    def int_in(where, v, lo, hi, kind=int):
        if v is not None and not (isinstance(v, kind) and not isinstance(v, bool) and lo <= v <= hi):
            bad.append("%s: %r not in %d..%d" % (where, v, lo, hi))

    for i, u in enumerate(doc.get("Upstreams") or []):
        id_ok("Upstreams[%d].UpstreamId" % i, u.get("UpstreamId"))
        int_in("Upstreams[%d].Retries" % i, u.get("Retries"), 0, 100)
        for j, nd in enumerate(u.get("Nodes") or []):
            int_in("Upstreams[%d].Nodes[%d].Port" % (i, j), nd.get("Port"), 1, 65535)
            int_in("Upstreams[%d].Nodes[%d].Weight" % (i, j), nd.get("Weight"), 0, 100)
            if not isinstance(nd.get("Host"), str) or not nd["Host"]:
                bad.append("Upstreams[%d].Nodes[%d].Host %r" % (i, j, nd.get("Host")))
    for i, s in enumerate(doc.get("Services") or []):
        id_ok("Services[%d].ServiceId" % i, s.get("ServiceId"))
        apis = list(s.get("Apis") or [])
        for r in s.get("Releases") or []:
            apis += r.get("Apis") or []
        for j, a in enumerate(apis):
            id_ok("Services[%d].Apis[%d].ApiId" % (i, j), a.get("ApiId"))
            int_in("Services[%d].Apis[%d].ServiceTimeout" % (i, j), a.get("ServiceTimeout"), 1, 1800,
                   (int, float))  # seconds, decimals allowed
            int_in("Services[%d].Apis[%d].ServiceMockStatusCode" % (i, j),
                   a.get("ServiceMockStatusCode"), 200, 599)
    for i, p in enumerate(doc.get("Plugins") or []):
        id_ok("Plugins[%d].PluginId" % i, p.get("PluginId"))
        data = p.get("PluginData")
        if isinstance(data, str):
            data = json.loads(data)
        for j, pol in enumerate(data or []):
            int_in("Plugins[%d].PluginData[%d].strategy_weight" % (i, j),
                   pol.get("strategy_weight"), 0, 100)
    return bad


@pytest.fixture
def env(make_gateway, backend):
    aport = free_port()
    up = lambda uid: {"UpstreamId": uid, "Nodes": [{"Host": "127.0.0.1", "Port": backend.port,  # noqa: E731
                                                    "Weight": 100}]}
    cfg = {"Gateway": {"AdminListen": "127.0.0.1:%d" % aport, "AdminToken": TOKEN},
           "Upstreams": [up("up-a"), up("up-b")],
           "Services": [
               {"ServiceId": "svc-a", "Domains": [{"DomainName": "a.test"}],
                "Environments": ["release"],
                "Apis": [{"ApiId": "api-a", "Path": "/a", "ServiceType": "HTTP",
                          "ServiceConfig": {"Product": "upstream", "UpstreamId": "up-a",
                                            "Path": "/a"}},
                         {"ApiId": "api-m", "Path": "=/m", "ServiceType": "MOCK",
                          "ServiceMockReturnMessage": "m"}]},
               {"ServiceId": "svc-b", "Domains": [{"DomainName": "b.test"}], "Apis": []},
               # no call names it: it must answer as before at the end
               {"ServiceId": "svc-keep", "Domains": [{"DomainName": "keep.test"}],
                "Environments": ["release"],
                "Apis": [{"ApiId": "api-keep", "Path": "=/keep", "ServiceType": "MOCK",
                          "ServiceMockReturnMessage": "kept"}]}],
           "Plugins": [{"PluginId": "plugin-a", "PluginType": "Routing", "PluginData": [POLICY]}]}
    g = make_gateway(cfg)
    a = Admin(aport, TOKEN)
    yield g, a
    a.close()


def running(a):
    st, _, text = a.raw("GET", "/v1/config")
    assert st == 200
    doc = yaml.load(text, Loader=yaml.CSafeLoader)
    return text, doc, doc.get("Version", 0)


def shown_object(method, path, reply):
    """For a write of one object: the GET path that shows it now, and the
    reply with what GET does not show removed."""
    parts = path.split("/")
    if parts[-1] in ("releases", "attachments") or parts[-2] == "releases":
        return None, None
    key = {"upstreams": "UpstreamId", "services": "ServiceId", "plugins": "PluginId",
           "apis": "ApiId"}[parts[-1] if method == "POST" else parts[-2]]
    oid = reply.get(key)
    if not isinstance(oid, str):
        return None, None
    base = path if method == "POST" else "/".join(parts[:-1])
    shown = {k: v for k, v in reply.items() if k != "ConfigVersion"}
    return base + "/" + urllib.parse.quote(oid, safe=""), shown


def test_mutated_admin_bodies(env):
    g, a = env
    rng = random.Random(SEED)
    text, doc, version = running(a)
    assert not invalid_things(doc)
    deadline = time.time() + BUDGET_S
    counts = {}
    for n in range(CALLS):
        if time.time() > deadline:
            break
        method, path, data, labels = make_call(rng, n)
        where = "seed %d call %d: %s %s %s (%d bytes)" % (SEED, n, method, path, labels, len(data))
        st, hdrs, reply = a.raw(method, path, data, headers={"Content-Type": "application/json"})
        counts[st] = counts.get(st, 0) + 1
        assert st in ALLOWED, (where, st, reply[:300])
        if hdrs.get("content-type", "").startswith("application/json"):
            reply = json.loads(reply.decode())
        text2, doc2, version2 = running(a)
        if st >= 300:
            assert version2 == version and text2 == text, (where, "a refused call changed the config")
        else:
            assert version2 == version + 1, (where, version, version2)
            assert reply.get("ConfigVersion") == version2, (where, reply)
            bad = invalid_things(doc2)
            assert not bad, (where, "acknowledged but invalid", bad)
            get_path, shown = shown_object(method, path, reply)
            if get_path:
                st3, now = a.call("GET", get_path)
                assert st3 == 200 and now == shown, (where, "acknowledged != running", now, shown)
        text, doc, version = text2, doc2, version2
    print("admin mutations: %d calls, statuses %s" % (sum(counts.values()), sorted(counts.items())))
    assert sum(counts.values()) >= 50, counts  # enough calls ran to mean something (ASan: slower)
    assert counts.get(400, 0) and (counts.get(200, 0) + counts.get(201, 0)), counts

    # The gateway still routes, the stored file passes -t and is what runs.
    assert g.alive()
    r = g.request("GET", "/release/keep", host="keep.test")
    assert r.status == 200 and r.body == b"kept", r
    r = run_cli("-t", "-c", g.config_path)
    assert r.returncode == 0, r.stderr
    with open(g.config_path) as f:
        stored = yaml.load(f, Loader=yaml.CSafeLoader)
    assert stored["Gateway"].pop("AdminToken") == TOKEN
    assert stored == doc
