"""Golden byte-level cases (tests/golden/*.http, curl's way: data files, not
code): each request is sent whole and then one byte per write (TCP_NODELAY),
and both deliveries must give the case's status and the backend exactly what
the case says — nothing at all for a refused request."""
import glob
import os
import re
import time

import pytest

from syharness.client import raw_status
from syharness.gateway import api, service

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "golden")


def unescape(text):
    out = bytearray()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            n = text[i + 1]
            if n in "rnt\\":
                out += {"r": b"\r", "n": b"\n", "t": b"\t", "\\": b"\\"}[n]
                i += 2
                continue
            if n == "x":
                out.append(int(text[i + 2:i + 4], 16))
                i += 4
                continue
        out += ch.encode("utf-8")
        i += 1
    return bytes(out)


def load(path):
    sections, cur = {}, None
    for line in open(path, encoding="utf-8").read().split("\n"):
        m = re.match(r"^>>> ([a-z-]+)$", line)
        if m:
            cur = m.group(1)
            sections[cur] = []
        elif cur:
            sections[cur].append(line)
        elif line and not line.startswith("#"):
            raise ValueError("%s: text before the first section: %r" % (path, line))
    for need in ("request", "status", "backend"):
        assert need in sections, "%s: no >>> %s section" % (path, need)
    while sections["request"] and sections["request"][-1] == "":
        sections["request"].pop()
    case = {
        "request": b"".join(unescape(l) for l in sections["request"]),
        "status": int(sections["status"][0]),
        "nothing": [l for l in sections["backend"] if l] == ["(nothing)"],
        "present": [l for l in sections["backend"] if l and not l.startswith("!") and l != "(nothing)"],
        "absent": [l[1:] for l in sections["backend"] if l.startswith("!")],
        "body": None,
    }
    if "backend-body" in sections:
        case["body"] = b"".join(unescape(l) for l in sections["backend-body"] if l)
    return case


CASES = sorted(glob.glob(os.path.join(GOLDEN, "*.http")))


@pytest.fixture(scope="module")
def gw(make_module_gateway, module_backend):
    return make_module_gateway({"Gateway": {"MaxBodyBytes": 1000},
                                "Services": [service("s", [api("a", "/e", module_backend)])]})


send = raw_status


def test_every_case_file_parses():
    assert len(CASES) >= 10
    for path in CASES:
        c = load(path)
        assert c["request"].endswith(b"\r\n") or c["body"] is None or c["request"], path
        assert c["nothing"] or c["present"], "%s: say what the backend gets" % path


@pytest.mark.parametrize("path", CASES, ids=[os.path.basename(p)[:-5] for p in CASES])
@pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "bytewise"])
def test_golden(gw, module_backend, path, bytewise):
    case = load(path)
    module_backend.reset()
    status = send(gw.port, case["request"], bytewise)
    assert status == case["status"], (os.path.basename(path), bytewise, status)
    if case["nothing"]:
        time.sleep(0.05)
        assert module_backend.bytes_received == 0 and not module_backend.requests, \
            module_backend.requests[0].raw_head if module_backend.requests else b""
        return
    module_backend.wait_requests(1)
    r = module_backend.last()
    head = r.raw_head.decode("latin-1").split("\r\n")
    pos = 0
    for line in case["present"]:
        assert line in head[pos:], (os.path.basename(path), line, head)
        pos = head.index(line, pos) + 1
    for prefix in case["absent"]:
        assert not any(h.startswith(prefix) for h in head), (os.path.basename(path), prefix, head)
    if case["body"] is not None:
        assert r.raw_body == case["body"], (r.raw_body, case["body"])
