"""A small client for the admin API (JSON in and out, Bearer token)."""
import http.client
import json
import time


class Admin:
    def __init__(self, port, token=None, timeout=10.0):
        self.port = port
        self.token = token
        self.timeout = timeout
        self.conn = None

    def _conn(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        return self.conn

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None

    def raw(self, method, path, body=None, headers=None, token=True):
        """(status, headers dict (lower-case names), body bytes)."""
        h = {}
        if token and self.token:
            h["Authorization"] = "Bearer " + (self.token if token is True else token)
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        elif isinstance(body, str):
            body = body.encode()
        h.update(headers or {})
        deadline = time.time() + 3.0      # the admin thread may still be starting
        for attempt in range(1000):
            c = self._conn()
            try:
                c.request(method, path, body=body, headers=h)
                r = c.getresponse()
                data = r.read()
                hdrs = {k.lower(): v for k, v in r.getheaders()}
                if hdrs.get("connection", "").lower() == "close":
                    self.close()
                return r.status, hdrs, data
            except ConnectionRefusedError:
                self.close()
                if time.time() > deadline:
                    raise
                time.sleep(0.02)
            except (ConnectionError, http.client.HTTPException):
                self.close()
                if attempt:
                    raise

    def call(self, method, path, body=None, **kw):
        """(status, parsed JSON or text)."""
        st, hdrs, data = self.raw(method, path, body, **kw)
        if hdrs.get("content-type", "").startswith("application/json"):
            return st, json.loads(data.decode())
        return st, data.decode()

    def ok(self, method, path, body=None, want=(200, 201)):
        st, doc = self.call(method, path, body)
        if isinstance(want, int):
            want = (want,)
        assert st in want, "%s %s -> %d %r" % (method, path, st, doc)
        return doc

    def get(self, path):
        return self.ok("GET", path, want=200)

    def post(self, path, body):
        return self.ok("POST", path, body, want=201)

    def put(self, path, body):
        return self.ok("PUT", path, body, want=200)

    def patch(self, path, body):
        return self.ok("PATCH", path, body, want=200)

    def delete(self, path):
        return self.ok("DELETE", path, want=200)

    def version(self):
        return self.get("/v1/status")["config_version"]
