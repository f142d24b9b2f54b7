"""Hostile admin ids (issue 9 item 7): ids that could never be read or
deleted again through a URL path, or that inject lines into /metrics, are
refused with 400 and the field path over the API and with FILE:LINE:COLUMN
in the file; path segments are percent-decoded exactly once; the label
values /metrics writes stay one line each."""
import re
import urllib.parse

import pytest

from syharness.admin import Admin
from syharness.gateway import free_port, run_cli

TOKEN = "admin-token-for-tests-0123456789"

BAD = ["a/b", "a?b", "a#b", "%2e", "a b", "\u00fc", "x\ny", "a\r\nX-Inj: 1", "", ".", "..",
       "x" * 65]
GOOD = ["upstream-1ca1d6yi", "A.b_c-9", "...", "x" * 64]


@pytest.fixture
def admin(make_gateway, backend):
    aport = free_port()
    make_gateway({"Gateway": {"AdminListen": "127.0.0.1:%d" % aport, "AdminToken": TOKEN}})
    a = Admin(aport, TOKEN)
    yield a
    a.close()


def q(s):
    return urllib.parse.quote(s, safe="")


def upstream(uid, backend):
    return {"UpstreamId": uid, "Nodes": [{"Host": "127.0.0.1", "Port": backend.port, "Weight": 1}]}


def mock(api_id):
    return {"ApiId": api_id, "Path": "/m", "ServiceType": "MOCK", "ServiceMockReturnMessage": "m"}


def plugin(pid):
    return {"PluginId": pid, "PluginType": "Routing", "PluginData": {"rules": []}}


def refused(a, method, path, body, field):
    v = a.version()
    st, doc = a.call(method, path, body)
    if method == "PUT" and st == 404:
        pass      # PUT never creates: an id that cannot exist is not found
    elif any(seg in (".", "..") for seg in path.split("/")):
        # A dot segment in the path is refused with the request itself
        # (http/reqrules + router/target), before any id is read.
        assert st == 400, (method, path, st, doc)
        assert "dot segment" in doc["message"], doc
    else:
        assert st == 400, (method, path, body, st, doc)
        assert doc["errors"][0]["field"] == field, doc
        assert "A-Z a-z 0-9" in doc["errors"][0]["reason"], doc
    assert a.version() == v


@pytest.mark.parametrize("bad", BAD, ids=[repr(b)[:20] for b in BAD])
def test_bad_ids_refused_over_the_api(admin, backend, bad):
    a = admin
    a.post("/v1/services", {"ServiceId": "svc"})
    refused(a, "POST", "/v1/upstreams", upstream(bad, backend), "UpstreamId")
    refused(a, "POST", "/v1/services", {"ServiceId": bad}, "ServiceId")
    refused(a, "POST", "/v1/services/svc/apis", mock(bad), "ApiId")
    refused(a, "POST", "/v1/plugins", plugin(bad), "PluginId")
    if bad:   # the id in the path (decoded once) is checked the same way
        refused(a, "PUT", "/v1/upstreams/" + q(bad), upstream(bad, backend), "UpstreamId")
        refused(a, "PUT", "/v1/services/" + q(bad), {}, "ServiceId")
        refused(a, "PUT", "/v1/plugins/" + q(bad), plugin(bad), "PluginId")
    # Nothing got in: the lists hold only what the test made.
    assert [u["UpstreamId"] for u in a.get("/v1/upstreams")["Items"]] == []
    assert [s["ServiceId"] for s in a.get("/v1/services")["Items"]] == ["svc"]
    assert a.get("/v1/services/svc/apis")["Items"] == []
    assert a.get("/v1/plugins")["Items"] == []


def test_bad_id_in_a_whole_config_put(admin, backend):
    body = 'Upstreams:\n  - UpstreamId: "a\\r\\nX-Inj: 1"\n    Nodes: []\n'
    st, err = admin.call("PUT", "/v1/config", body)
    assert st == 400, err
    assert err["errors"][0]["field"] == "Upstreams[0].UpstreamId", err
    assert (err["errors"][0]["line"], err["errors"][0]["column"]) == (2, 17), err


def test_good_ids_round_trip_through_paths(admin, backend):
    a = admin
    for good in GOOD:
        a.post("/v1/upstreams", upstream(good, backend))
        assert a.get("/v1/upstreams/" + q(good))["UpstreamId"] == good
        assert a.get("/v1/upstreams/%s/health" % q(good))["upstream"] == good
    a.delete("/v1/upstreams/" + GOOD[0])
    assert a.call("GET", "/v1/upstreams/" + GOOD[0])[0] == 404


def test_path_segments_decoded_exactly_once(admin, backend):
    a = admin
    a.post("/v1/upstreams", upstream("up-x", backend))
    assert a.get("/v1/upstreams/up%2dx")["UpstreamId"] == "up-x"
    assert a.get("/v1/upstreams/up%2Dx/health")["upstream"] == "up-x"
    a.put("/v1/upstreams/%75p-x", upstream("up-x", backend))   # %75 = u
    # %25 decodes to '%' once; "up%2Dx" is no id, so nothing is found.
    assert a.call("GET", "/v1/upstreams/up%252Dx")[0] == 404
    for bad in ("up%zz", "up%2", "up%00x"):
        st, doc = a.call("GET", "/v1/upstreams/" + bad)
        assert st == 400, (bad, st, doc)
    a.delete("/v1/upstreams/up%2Dx")
    assert a.call("GET", "/v1/upstreams/up-x")[0] == 404


def test_metrics_labels_are_one_line_each(admin, backend):
    admin.call("POST", "/v1/upstreams", upstream("a\r\nX-Inj: 1", backend))
    admin.call("POST", "/v1/upstreams", upstream('q"b\\', backend))
    admin.post("/v1/upstreams", upstream("A.b_c-9", backend))
    st, _, body = admin.raw("GET", "/metrics")
    text = body.decode()
    assert st == 200 and "\r" not in text
    for line in text.split("\n"):
        if line and not line.startswith("#"):
            assert re.fullmatch(r'[a-z_0-9]+(\{([a-z_]+="([^"\\\n]|\\[\\"n])*",?)*\})? \d+(\.\d+)?', line), line
    assert 'upstream="A.b_c-9"' in text
    assert "X-Inj" not in text


@pytest.mark.parametrize("bad", ["a/b", "a b", "x\\ny", "a\\r\\nX-Inj: 1"])
def test_bad_ids_refused_in_the_file_with_their_location(tmp_path, bad):
    p = tmp_path / "gw.yaml"
    p.write_text('Upstreams:\n  - UpstreamId: "%s"\n' % bad)
    r = run_cli("-t", "-c", str(p))
    assert r.returncode != 0
    assert "%s:2:17: Upstreams[0].UpstreamId: must be 1 to 64 characters" % p in r.stderr + r.stdout, \
        r.stderr
