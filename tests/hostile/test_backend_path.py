"""What the backend path can be made into (issue 9).

The backend path is `ServiceConfig.Path` with `{var}` values substituted,
plus the rest of the request path.  A backend that decodes `%2F` or `%5C`,
treats `\\` as `/`, or strips `;` path parameters (Tomcat: `..;` is `..`)
could be walked out of the mapped prefix.  The rule (doc/reliability.md
§1.3): a path with a dot segment hidden behind such a separator, or a `.`
/ `..` segment followed by `;`, is a 400 before anything reaches a
backend; so is a `{var}` value holding an encoded slash or backslash (it
would change the backend path's structure).  Legitimate paths (`/a%2Eb`,
a value `v1.2`, three dots, `;` parameters) pass unchanged.
"""
import json

import pytest

from syharness.client import Client, build
from syharness.gateway import api, service
from syharness.h2raw import H2Raw, frame, req_block, status_of


@pytest.fixture
def gw(make_gateway, backend):
    g = make_gateway({"Gateway": {"Http2Cleartext": True},
                      "Services": [service("svc", [
                          api("prefix", "/e", backend, service_path="/"),
                          api("var", "/v/{ver}/x", backend, service_path="/api/{ver}/data")])]})
    g.backend = backend
    return g


ATTACKS = [
    # dot segments behind encoded or backslash separators
    "/release/e/..%2F..%2Fadmin",
    "/release/e/..%2fadmin",
    "/release/e/%2e%2e%2Fadmin",
    "/release/e/..%5Cadmin",
    "/release/e/..%5cadmin",
    "/release/e/..\\admin",
    "/release/e/a\\..\\admin",
    "/release/e/a%2F..%2Fb",
    # a path parameter after the dots (Tomcat strips it)
    "/release/e/..;/admin",
    "/release/e/.;/admin",
    "/release/e/..;jsessionid=1/admin",
    "/release/e/%2e%2e;/admin",
    # the same through a {var}
    "/release/v/..%2F..%2Fadmin/x",
    "/release/v/..;/x",
    # an encoded slash or backslash in a {var} value
    "/release/v/a%2Fb/x",
    "/release/v/a%2fb/x",
    "/release/v/a%5Cb/x",
    "/release/v/a%5cb/x",
    "/release/v/a\\b/x",
]


def refused(gw, target):
    """Status of `target` on a fresh connection (None when the
    connection closed without an answer)."""
    with Client(gw.port, timeout=5) as c:
        c.send(build("GET", target))
        try:
            return c.read_response().status
        except Exception:  # noqa: BLE001 - closed without an answer
            return None


@pytest.mark.parametrize("target", ATTACKS)
def test_attack_is_400_and_reaches_no_backend(gw, target):
    assert refused(gw, target) == 400, target
    assert gw.backend.wait_requests(1, timeout=0.2) == [], gw.backend.requests


def test_attacks_over_h2_reach_no_backend(gw):
    c = H2Raw(gw.port)
    targets = [t for t in ATTACKS if "\\" not in t]
    sid = 1
    for t in targets:
        c.send(frame(1, 0x5, sid, req_block(path=t)))
        sid += 2
    last = sid - 2
    fr = c.frames(until=lambda ty, fl, s, p: s == last and fl & 1, timeout=3)
    c.close()
    for i, t in enumerate(targets):
        assert status_of(fr, 1 + 2 * i) == 400, t
    assert gw.backend.wait_requests(1, timeout=0.2) == []


def backend_path(gw, target):
    r = gw.request("GET", target)
    assert r.status == 200, (target, r)
    return json.loads(r.body)["path"]


@pytest.mark.parametrize("target,want", [
    ("/release/e/a%2Eb", "/a%2Eb"),
    ("/release/e/.../x", "/.../x"),
    ("/release/e/a..b", "/a..b"),
    ("/release/e/..a", "/..a"),
    ("/release/e/a;b=1", "/a;b=1"),
    ("/release/e/a%2Fb", "/a%2Fb"),           # not a dot segment, not a {var}
    ("/release/v/v1.2/x", "/api/v1.2/data"),
    ("/release/v/a%2Eb/x", "/api/a%2Eb/data"),
    ("/release/v/a;b/x", "/api/a;b/data"),
])
def test_legitimate_paths_pass(gw, target, want):
    assert backend_path(gw, target) == want
    assert gw.backend.last().target == want
