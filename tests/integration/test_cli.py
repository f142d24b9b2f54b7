"""Command line: -c runs, -t checks, --version, --help; config errors are
reported as FILE:LINE:COLUMN: field path: reason, every one of them."""
import os
import re
import subprocess

from syharness.gateway import REPO, run_cli

ERR_LINE = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?P<col>\d+): (?P<path>[^:\n]+): (?P<reason>.+)$",
                      re.M)


def write(tmp_path, text, name="c.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


GOOD = """\
Gateway:
  Listen: ["127.0.0.1:18999"]
  AdminListen: "off"
  Workers: 1
Services:
  - ServiceId: svc
    ServiceName: svc
    Environments: [release]
    Apis:
      - ApiId: api-a
        ApiName: a
        Path: /a
        Method: GET
        ServiceType: HTTP
        ServiceTimeout: 5
        ServiceConfig:
          Url: http://127.0.0.1:18998
          Path: /
          Method: GET
"""


def test_version_exits_0():
    r = run_cli("--version")
    assert r.returncode == 0, r
    assert (r.stdout + r.stderr).strip(), "--version printed nothing"
    assert re.search(r"\d+\.\d+", r.stdout + r.stderr), r.stdout


def test_version_command_names_commit_and_libraries():
    """`switchyard version`: release, the commit it was built from (as
    git names HEAD here, "-dirty" for local changes), the compiler, and
    each library's version as the binary runs with it."""
    r = run_cli("version")
    assert r.returncode == 0, r
    fields = dict(line.split(None, 1) for line in r.stdout.strip().splitlines())
    for lib in ("switchyard", "commit", "compiler", "openssl", "nghttp2", "llhttp", "libyaml",
                "jansson", "pcre2", "libcurl", "xxhash"):
        assert fields.get(lib), (lib, r.stdout)
    assert fields["openssl"].startswith("OpenSSL 3"), r.stdout
    assert re.match(r"\d+\.\d+\.\d+", fields["nghttp2"]), r.stdout
    assert fields["switchyard"] == run_cli("--version").stdout.split()[1]
    head = subprocess.run(["git", "-C", REPO, "rev-parse", "--short=12", "HEAD"],
                          capture_output=True, text=True)
    if head.returncode == 0:
        # The binary may be a build of an older HEAD only if it is stale.
        assert fields["commit"].split("-")[0] == head.stdout.strip(), (fields["commit"], head.stdout)
    else:
        assert fields["commit"] == "unknown", r.stdout


def test_help_exits_0():
    r = run_cli("--help")
    assert r.returncode == 0, r
    out = r.stdout + r.stderr
    assert "-c" in out and "-t" in out, out


def test_check_quickstart_example_is_valid():
    r = run_cli("-t", "-c", os.path.join(REPO, "examples", "quickstart.yaml"))
    assert r.returncode == 0, r.stderr


def test_check_good_config(tmp_path):
    r = run_cli("-t", "-c", write(tmp_path, GOOD))
    assert r.returncode == 0, r.stderr


def test_check_missing_file(tmp_path):
    r = run_cli("-t", "-c", str(tmp_path / "nope.yaml"))
    assert r.returncode != 0
    assert "nope.yaml" in r.stderr


def test_check_yaml_syntax_error_has_position(tmp_path):
    path = write(tmp_path, GOOD.replace("    Environments: [release]\n",
                                        "    Environments: [release\n"))
    r = run_cli("-t", "-c", path)
    assert r.returncode != 0
    assert re.search(re.escape(path) + r":\d+:\d+: ", r.stderr), r.stderr


def test_check_reports_every_problem_with_position(tmp_path):
    # Three independent problems on known lines:
    #  line 6:  unknown key in a service
    #  line 12: Method not a method
    #  line 18: ServiceConfig.UpstreamId names no upstream (dangling id)
    text = """\
Gateway:
  Listen: ["127.0.0.1:18999"]
  AdminListen: "off"
Services:
  - ServiceId: svc
    Colour: blue
    ServiceName: svc
    Environments: [release]
    Apis:
      - ApiId: api-a
        Path: /a
        Method: FETCH
        ServiceType: HTTP
        ServiceTimeout: 5
        ServiceConfig:
          Product: upstream
          Path: /
          UpstreamId: upstream-nowhere
          Method: GET
"""
    path = write(tmp_path, text)
    r = run_cli("-t", "-c", path)
    assert r.returncode != 0, "an invalid config passed -t"
    found = [m.groupdict() for m in ERR_LINE.finditer(r.stderr)]
    assert found, "no FILE:LINE:COLUMN: path: reason line in:\n" + r.stderr
    for f in found:
        assert f["file"] == path, f
    lines = {int(f["line"]) for f in found}
    joined = "\n".join("%s %s" % (f["line"], f["path"]) for f in found)
    assert 6 in lines and any("Colour" in f["path"] or "Colour" in f["reason"] for f in found), \
        "unknown key Colour (line 6) not reported:\n" + r.stderr
    assert 12 in lines and any("Method" in f["path"] for f in found), \
        "bad Method (line 12) not reported:\n" + joined
    assert any("UpstreamId" in f["path"] for f in found), \
        "dangling UpstreamId not reported:\n" + joined
    assert len(found) >= 3, "want every problem, got:\n" + r.stderr


def test_check_duplicate_ids(tmp_path):
    text = GOOD + """\
      - ApiId: api-a
        ApiName: b
        Path: /b
        Method: GET
        ServiceType: MOCK
        ServiceMockReturnMessage: hi
"""
    r = run_cli("-t", "-c", write(tmp_path, text))
    assert r.returncode != 0, "duplicate ApiId accepted"
    assert ERR_LINE.search(r.stderr) and "api-a" in r.stderr, r.stderr


def test_check_wrong_type(tmp_path):
    r = run_cli("-t", "-c", write(tmp_path, GOOD.replace("ServiceTimeout: 5",
                                                         "ServiceTimeout: [5]")))
    assert r.returncode != 0, "a list accepted as ServiceTimeout"
    m = ERR_LINE.search(r.stderr)
    assert m and m.group("line") == "15" and "ServiceTimeout" in m.group("path"), r.stderr


def test_run_refuses_bad_config(tmp_path):
    r = run_cli("-c", write(tmp_path, GOOD.replace("Method: GET\n        ServiceType",
                                                   "Method: FETCH\n        ServiceType")),
                timeout=10)
    assert r.returncode != 0
    assert ERR_LINE.search(r.stderr), r.stderr
