"""`make install` and the service files: the binary, the first
configuration, the systemd unit (checked by `systemd-analyze verify`) and
the logrotate snippet (checked by `logrotate -d`) land where PREFIX,
SYSCONFDIR and DESTDIR say; a second install keeps an edited
configuration; the unit's first-start copy gives a configuration the
installed binary accepts."""
import os
import re
import shlex
import subprocess

from syharness.gateway import BIN, REPO


def make(*args):
    return subprocess.run(["make", "-s", "-C", REPO, "install-files", "INSTALL_BIN=" + BIN] +
                          list(args), capture_output=True, text=True, timeout=60)


def installed(tmp_path):
    root = tmp_path / "inst"
    r = make("PREFIX=%s/usr" % root, "SYSCONFDIR=%s/etc" % root)
    assert r.returncode == 0, r.stderr
    return root


def test_install_places_every_file(tmp_path):
    root = installed(tmp_path)
    exe = root / "usr/bin/switchyard"
    assert os.access(exe, os.X_OK)
    assert oct(os.stat(exe).st_mode & 0o777) == "0o755"
    for f in ("etc/switchyard/switchyard.yaml", "etc/logrotate.d/switchyard",
              "usr/lib/systemd/system/switchyard.service", "usr/share/doc/switchyard/README.md",
              "usr/share/doc/switchyard/config.md"):
        assert (root / f).is_file(), f
        assert oct(os.stat(root / f).st_mode & 0o777) == "0o644", f
    v = subprocess.run([str(exe), "version"], capture_output=True, text=True)
    assert v.returncode == 0 and v.stdout.startswith("switchyard "), v
    t = subprocess.run([str(exe), "-t", "-c", str(root / "etc/switchyard/switchyard.yaml")],
                       capture_output=True, text=True)
    assert t.returncode == 0, t.stdout + t.stderr


def test_unit_passes_systemd_analyze_verify(tmp_path):
    root = installed(tmp_path)
    unit = root / "usr/lib/systemd/system/switchyard.service"
    r = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True,
                       timeout=60)
    # Unknown keys are only warnings (exit 0): none may be printed.
    assert r.returncode == 0 and not r.stderr.strip() and not r.stdout.strip(), r
    text = unit.read_text()
    for need in ("Type=simple", "ExecReload=/bin/kill -HUP $MAINPID", "DynamicUser=yes",
                 "AmbientCapabilities=CAP_NET_BIND_SERVICE",
                 "CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "NoNewPrivileges=yes",
                 "ProtectSystem=strict", "StateDirectory=switchyard", "LogsDirectory=switchyard"):
        assert need + "\n" in text, need
    assert "ExecStart=%s/usr/bin/switchyard -c ${STATE_DIRECTORY}/switchyard.yaml" % root in text
    # A unit that names a missing binary is refused by the same check.
    bad = tmp_path / "bad.service"
    bad.write_text(text.replace("%s/usr/bin/switchyard" % root, "/nonexistent/switchyard"))
    r = subprocess.run(["systemd-analyze", "verify", str(bad)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode != 0, r


def test_first_start_copies_the_configuration(tmp_path):
    root = installed(tmp_path)
    text = (root / "usr/lib/systemd/system/switchyard.service").read_text()
    pre = [l.split("=", 1)[1] for l in text.splitlines() if l.startswith("ExecStartPre=")]
    state = tmp_path / "state"
    state.mkdir()
    env = dict(os.environ, STATE_DIRECTORY=str(state))
    for cmd in pre:
        argv = shlex.split(cmd.replace("${STATE_DIRECTORY}", str(state)))
        r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, (cmd, r.stdout, r.stderr)
    copy = state / "switchyard.yaml"
    assert copy.read_text() == (root / "etc/switchyard/switchyard.yaml").read_text()
    # An existing state copy (admin changes) is never replaced.
    copy.write_text(copy.read_text() + "# edited\n")
    for cmd in pre[:1]:
        subprocess.run(shlex.split(cmd), env=env, check=True, timeout=30)
    assert copy.read_text().endswith("# edited\n")


def test_logrotate_snippet_is_valid_and_reopens_with_usr1(tmp_path):
    root = installed(tmp_path)
    snippet = root / "etc/logrotate.d/switchyard"
    r = subprocess.run(["logrotate", "-d", "--state", str(tmp_path / "lr.state"), str(snippet)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "error" not in (r.stdout + r.stderr).lower(), r.stdout + r.stderr
    assert re.search(r"systemctl kill --signal=USR1 .*switchyard\.service", snippet.read_text())


def test_destdir_and_kept_configuration(tmp_path):
    dest = tmp_path / "dest"
    r = make("DESTDIR=%s" % dest, "PREFIX=/usr")
    assert r.returncode == 0, r.stderr
    assert (dest / "usr/bin/switchyard").is_file()
    cfg = dest / "etc/switchyard/switchyard.yaml"
    unit = (dest / "usr/lib/systemd/system/switchyard.service").read_text()
    assert "ExecStart=/usr/bin/switchyard " in unit and str(dest) not in unit
    cfg.write_text(cfg.read_text() + "# mine\n")
    r = make("DESTDIR=%s" % dest, "PREFIX=/usr")
    assert r.returncode == 0, r.stderr
    assert cfg.read_text().endswith("# mine\n")
    r = subprocess.run(["make", "-s", "-C", REPO, "uninstall", "DESTDIR=%s" % dest, "PREFIX=/usr"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert not (dest / "usr/bin/switchyard").exists() and cfg.exists()
