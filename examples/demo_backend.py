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
        # TCP_NODELAY, and each response in one write: a head and a body
        # in two sends met Nagle and delayed ACK on reused connections, and
        # every request through `make run` took ~40 ms.
        disable_nagle_algorithm = True

        def answer(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n > 0 else b""
            doc = {"backend": args.name, "method": self.command, "path": self.path,
                   "headers": dict(self.headers.items()),
                   "body": body.decode("utf-8", "replace")}
            out = (json.dumps(doc, indent=2) + "\n").encode()
            head = ("HTTP/1.1 200 OK\r\nServer: %s\r\nDate: %s\r\n"
                    "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                    % (self.server_version, self.date_time_string(), len(out))).encode()
            self.wfile.write(head if self.command == "HEAD" else head + out)
            self.log_request(200)

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
