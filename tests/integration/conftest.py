"""Fixtures for the integration suite.

    backend           a recording backend (function scope)
    make_backend      factory for more backends:  make_backend("green")
    make_gateway      factory: make_gateway(config_dict_or_text, **subst) ->
                      a started Gateway; stopped with SIGTERM at teardown,
                      which must exit 0
    assert_error      checks the JSON error body shape

Every test runs under a wall-clock alarm (SY_TEST_TIMEOUT, default 60 s) so
the suite can never hang.
"""
import json
import os
import signal
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from syharness.backend import Backend  # noqa: E402
from syharness.gateway import BIN, Gateway  # noqa: E402

TEST_TIMEOUT = int(os.environ.get("SY_TEST_TIMEOUT", "60"))


def pytest_sessionstart(session):
    if not os.access(BIN, os.X_OK):
        raise pytest.UsageError("switchyard binary not found at %s (run `make` or set "
                                "SWITCHYARD_BIN)" % BIN)


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout("test exceeded %d s (SY_TEST_TIMEOUT)" % TEST_TIMEOUT)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TEST_TIMEOUT)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture
def make_backend():
    made = []

    def make(name="b%d", **kw):
        if "%d" in name:
            name = name % (len(made) + 1)
        b = Backend(name, **kw)
        made.append(b)
        return b
    yield make
    for b in made:
        b.close()


@pytest.fixture
def backend(make_backend):
    return make_backend("b1")


def _gateway_factory(tmpdir):
    made = []

    def make(config, name=None, start=True, **subst):
        g = Gateway(str(tmpdir), config, name=name or "gw%d" % (len(made) + 1), **subst)
        made.append(g)
        if start:
            g.start()
        return g
    return make, made


def _finish(made):
    problems = []
    for g in made:
        if g.proc is None:
            continue
        was_alive = g.alive()
        rc = g.stop()
        g.close_files()
        if not g.check_exit:
            continue
        if not was_alive and g.proc.returncode != 0:
            problems.append("%s had died during the test (exit %s); stderr tail:\n%s"
                            % (g.name, g.proc.returncode, g.stderr()[-2000:]))
        elif rc != 0:
            problems.append("%s: SIGTERM gave exit %s (want 0); stderr tail:\n%s"
                            % (g.name, rc, g.stderr()[-2000:]))
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def make_gateway(tmp_path):
    make, made = _gateway_factory(tmp_path)
    yield make
    _finish(made)


@pytest.fixture(scope="module")
def module_tmp(tmp_path_factory, request):
    return tmp_path_factory.mktemp(request.module.__name__.split(".")[-1])


@pytest.fixture(scope="module")
def make_module_gateway(module_tmp):
    make, made = _gateway_factory(module_tmp)
    yield make
    _finish(made)


@pytest.fixture(scope="module")
def module_backend():
    b = Backend("mb")
    yield b
    b.close()


def check_error(resp, status, request_id_header=True):
    """The error contract: status, JSON content type, and a body
    {"error": word, "message": text, "status": N, "request_id": id}."""
    assert resp.status == status, "want %d, got %r" % (status, resp)
    ctype = (resp.header("Content-Type") or "").lower()
    assert ctype.startswith("application/json"), "error Content-Type %r" % ctype
    try:
        doc = json.loads(resp.body.decode())
    except ValueError:
        raise AssertionError("error body is not JSON: %r" % resp.body)
    for k in ("error", "message", "status", "request_id"):
        assert k in doc, "error body lacks %r: %r" % (k, doc)
    assert doc["status"] == status, doc
    assert isinstance(doc["error"], str) and doc["error"], doc
    assert isinstance(doc["message"], str), doc
    assert isinstance(doc["request_id"], str) and doc["request_id"], doc
    rid = resp.header("X-Api-RequestId")
    if request_id_header and rid is not None:
        assert rid == doc["request_id"], (rid, doc)
    return doc


@pytest.fixture
def assert_error():
    return check_error
