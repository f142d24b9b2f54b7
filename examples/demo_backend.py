#!/usr/bin/env python3
"""A tiny demo backend for `make run`: answers every request with JSON that
names this backend and echoes the method, path and headers it received.

    python3 examples/demo_backend.py --port 18081 --name blue
"""
import argparse
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=18081)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--name", default="demo")
    args = ap.parse_args()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "switchyard-demo"

        def answer(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n > 0 else b""
            doc = {"backend": args.name, "method": self.command, "path": self.path,
                   "headers": dict(self.headers.items()),
                   "body": body.decode("utf-8", "replace")}
            out = (json.dumps(doc, indent=2) + "\n").encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(out)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = answer

        def log_message(self, fmt, *a):
            sys.stderr.write("[%s] %s\n" % (args.name, fmt % a))

    srv = ThreadingHTTPServer((args.host, args.port), Handler)
    srv.daemon_threads = True
    sys.stderr.write("demo backend %s on http://%s:%d\n" % (args.name, args.host, args.port))
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
