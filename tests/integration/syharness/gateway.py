"""Runs the real build/switchyard on a generated config, on free ports."""
import json
import os
import re
import signal
import socket
import string
import subprocess
import time

from . import yamlgen
from .client import request as _request, Client

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BIN = os.environ.get("SWITCHYARD_BIN") or os.path.join(REPO, "build", "switchyard")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def closed_port():
    """A port nothing listens on (for 502 tests)."""
    return free_port()


def http_backend(backend_or_url, path="/", method="ANY"):
    url = backend_or_url if isinstance(backend_or_url, str) else backend_or_url.url
    return {"Url": url, "Path": path, "Method": method}


def api(api_id, path, backend=None, method="ANY", service_path="/", service_method="ANY",
        timeout=5, config=None, **extra):
    """One Apis[] entry.  `backend` is a Backend or URL; `config` overrides
    ServiceConfig entirely (e.g. Product: upstream)."""
    a = {"ApiId": api_id, "ApiName": api_id, "Path": path, "Method": method,
         "ServiceType": "HTTP", "ServiceTimeout": timeout}
    if config is not None:
        a["ServiceConfig"] = config
    else:
        a["ServiceConfig"] = http_backend(backend, service_path, service_method)
    a.update(extra)
    return a


def mock_api(api_id, path, message, method="ANY", **extra):
    a = {"ApiId": api_id, "ApiName": api_id, "Path": path, "Method": method,
         "ServiceType": "MOCK", "ServiceMockReturnMessage": message}
    a.update(extra)
    return a


def service(sid, apis, envs=("release",), domains=None):
    s = {"ServiceId": sid, "ServiceName": sid, "Environments": list(envs)}
    if domains is not None:
        s["Domains"] = domains
    s["Apis"] = apis
    return s


def simple_config(backend, api_path="/echo", service_path="/", **gw):
    """One service, env release, one ANY API on `api_path` to `backend`."""
    return {"Gateway": gw,
            "Services": [service("svc", [api("api-echo", api_path, backend,
                                                service_path=service_path)])]}


class GatewayError(Exception):
    pass


class Gateway:
    def __init__(self, workdir, config, name="gw", check=True, **subst):
        self.dir = workdir
        os.makedirs(self.dir, exist_ok=True)
        self.name = name
        self.port = free_port()
        self.config_path = os.path.join(self.dir, "%s.yaml" % name)
        self.access_log = os.path.join(self.dir, "%s-access.log" % name)
        self.stdout_path = os.path.join(self.dir, "%s.stdout" % name)
        self.stderr_path = os.path.join(self.dir, "%s.stderr" % name)
        self.proc = None
        self.subst = dict(subst)
        self.check_exit = check
        self.write_config(config)

    # ---- configuration ----
    def render(self, config):
        """A dict gets its Gateway section completed (Listen, AdminListen
        off, Workers 1, AccessLog, LogLevel); text gets $LISTEN, $PORT,
        $ACCESS_LOG and the keyword substitutions applied."""
        if isinstance(config, str):
            vals = dict(self.subst)
            vals.update(LISTEN="127.0.0.1:%d" % self.port, PORT=str(self.port),
                        ACCESS_LOG=self.access_log)
            return string.Template(config).safe_substitute(vals)
        cfg = json.loads(json.dumps(config))
        gw = {"Listen": ["127.0.0.1:%d" % self.port], "AdminListen": "off", "Workers": 1,
              "AccessLog": self.access_log, "LogLevel": "info"}
        gw.update(cfg.get("Gateway") or {})
        out = {"Gateway": gw}
        for k in ("Upstreams", "Services", "Plugins", "Rollouts"):
            if k in cfg:
                out[k] = cfg[k]
        return yamlgen.dump(out)

    def write_config(self, config):
        self.config_text = self.render(config)
        tmp = self.config_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(self.config_text)
        os.rename(tmp, self.config_path)

    # ---- process ----
    def start(self, timeout=None, preexec_fn=None):
        """preexec_fn runs in the child before exec (e.g. a lower
        RLIMIT_NOFILE for fd-exhaustion tests).  A sanitizer build loads
        big configurations several times slower: it gets 3x the time."""
        if timeout is None:
            timeout = 30.0 if "asan" in os.path.basename(os.path.dirname(BIN)) else 10.0
        self._out = open(self.stdout_path, "ab")
        self._err = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen([BIN, "-c", self.config_path], stdout=self._out,
                                     stderr=self._err, stdin=subprocess.DEVNULL,
                                     preexec_fn=preexec_fn)
        self.pid = self.proc.pid
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise GatewayError("switchyard exited with %s at start.\nconfig:\n%s\nstderr:\n%s"
                                   % (self.proc.returncode, self.config_text, self.stderr()))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.02)
        self.kill()
        raise GatewayError("switchyard did not listen on %d within %.0fs.\nstderr:\n%s"
                           % (self.port, timeout, self.stderr()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        os.kill(self.pid, sig)

    def stop(self, timeout=15.0):
        """SIGTERM and wait; returns the exit code (None if it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        return self.proc.returncode

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass

    def close_files(self):
        for f in (getattr(self, "_out", None), getattr(self, "_err", None)):
            if f:
                f.close()

    # ---- logs ----
    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def stdout(self):
        try:
            with open(self.stdout_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_size(self):
        try:
            return os.path.getsize(self.stderr_path)
        except OSError:
            return 0

    def wait_log(self, pattern, since=0, timeout=5.0):
        """Wait for a regex in the error log (stderr) after byte offset
        `since`; returns the match or None."""
        rx = re.compile(pattern, re.I)
        deadline = time.time() + timeout
        while True:
            text = self.stderr()[since:]
            m = rx.search(text)
            if m or time.time() > deadline:
                return m
            time.sleep(0.05)

    def reload(self, config=None, timeout=5.0):
        """Optionally rewrite the config, SIGHUP, and wait for the log to say
        how it went.  Returns 'ok', 'failed' or None (nothing logged)."""
        if config is not None:
            self.write_config(config)
        since = self.log_size()
        self.signal(signal.SIGHUP)
        deadline = time.time() + timeout
        while time.time() < deadline:
            text = self.stderr()[since:]
            if re.search(r"reload\w*\W+(failed|refused|rejected|error)|"
                         r"(failed|refused|rejected|error)\w*\W+.*reload", text, re.I):
                return "failed"
            if re.search(r"reloaded|reload\w*\W+(ok|done|complete|succeeded|applied)", text, re.I):
                return "ok"
            time.sleep(0.05)
        return None

    def access_entries(self, n=1, timeout=3.0):
        """Parsed JSON lines of the access log, waiting for at least n."""
        deadline = time.time() + timeout
        while True:
            try:
                with open(self.access_log) as f:
                    lines = [ln for ln in f.read().splitlines() if ln.strip()]
            except FileNotFoundError:
                lines = []
            if len(lines) >= n or time.time() > deadline:
                return [json.loads(ln) for ln in lines]
            time.sleep(0.05)

    def status_field(self, field):
        with open("/proc/%d/status" % self.pid) as f:
            for ln in f:
                if ln.startswith(field + ":"):
                    return int(ln.split()[1])  # kB
        return 0

    def rss_kb(self):
        return self.status_field("VmRSS")

    def hwm_kb(self):
        return self.status_field("VmHWM")

    def sanitized(self):
        try:
            with open("/proc/%d/maps" % self.pid) as f:
                m = f.read()
            return "asan" in m or "ubsan" in m
        except OSError:
            return False

    # ---- requests ----
    def request(self, method="GET", target="/", host="gw.test", headers=(), body=None,
                version="HTTP/1.1", timeout=10.0):
        return _request(self.port, method, target, host, headers, body, version, timeout)

    def client(self, timeout=10.0):
        return Client(self.port, timeout=timeout)


def run_cli(*args, timeout=20):
    """Run the binary with args; returns CompletedProcess (text)."""
    return subprocess.run([BIN] + list(args), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
