"""Certificates and TLS/HTTP2 clients for the TLS and HTTP/2 tests.

make_pki(dir) generates, with the openssl CLI, a CA and leaf certificates
(a.test, b.test, a second a.test with another serial for reload tests,
"default.test", and an expired expired.test), each as NAME.pem + NAME.key.
"""
import os
import re
import socket
import subprocess

from syharness.gateway import free_port


def _run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=30, check=True, **kw)


def make_pki(d):
    d = str(d)
    if os.path.exists(os.path.join(d, "ca.pem")):
        return d
    os.makedirs(d, exist_ok=True)
    ca, cakey = os.path.join(d, "ca.pem"), os.path.join(d, "ca.key")
    _run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", cakey,
          "-out", ca, "-days", "30", "-subj", "/CN=Switchyard Test CA"])
    leaves = [("a.test", "a.test", 30), ("a2.test", "a.test", 30), ("b.test", "b.test", 30),
              ("default.test", "default.test", 30), ("expired.test", "expired.test", -1)]
    for i, (fname, cn, days) in enumerate(leaves):
        key, csr = os.path.join(d, fname + ".key"), os.path.join(d, fname + ".csr")
        ext = os.path.join(d, fname + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=DNS:%s\n" % cn)
        _run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
              "-subj", "/CN=%s/O=%s" % (cn, fname)])
        _run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", cakey, "-set_serial",
              str(1000 + i), "-out", os.path.join(d, fname + ".pem"),
              "-days", str(days), "-extfile", ext])
    return d


def cert(d, name):
    return {"CertificateFile": os.path.join(str(d), name + ".pem"),
            "KeyFile": os.path.join(str(d), name + ".key")}


def s_client(port, servername=None, extra=(), timeout=10, linger=0.0):
    """openssl s_client; returns (returncode, stdout+stderr).  `linger`
    keeps stdin open that long (to receive TLS 1.3 tickets)."""
    args = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port]
    if servername:
        args += ["-servername", servername]
    else:
        args += ["-noservername"]
    args += list(extra)
    if linger:
        import time
        p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        time.sleep(linger)
        out, _ = p.communicate("", timeout=timeout)
        return p.returncode, out
    p = subprocess.run(args, input="", capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def peer_subject(port, servername=None):
    rc, out = s_client(port, servername)
    m = re.search(r"^subject=(.*)$", out, re.M)
    return m.group(1).strip() if m else None


def curl(args, timeout=30):
    """curl -s with a status line appended; returns (status, http_version, body bytes, stderr)."""
    p = subprocess.run(["curl", "-sS", "-o", "-", "-w", "\n%{http_code} %{http_version}"] + list(args),
                       capture_output=True, timeout=timeout)
    out = p.stdout
    body, _, tail = out.rpartition(b"\n")
    parts = tail.decode().split()
    status = int(parts[0]) if parts else 0
    ver = parts[1] if len(parts) > 1 else ""
    return status, ver, body, p.stderr.decode()


def https_args(pki, host, port):
    return ["--cacert", os.path.join(str(pki), "ca.pem"), "--resolve", "%s:%d:127.0.0.1" % (host, port)]


def tls_gateway_section(pki, extra=None):
    """A Gateway section with one TlsListen on a free port; returns (gw, port)."""
    port = free_port()
    gw = {"TlsListen": ["127.0.0.1:%d" % port]}
    gw.update(extra or {})
    return gw, port


def wait_port(port, timeout=5.0):
    import time
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.02)
    return False
