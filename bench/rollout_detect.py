#!/usr/bin/python3
"""How fast a rollout catches a bad canary, and what it costs the users.

    /usr/bin/python3 bench/rollout_detect.py [INTERVAL_S] [RPS]

Runs the real binary with the issue's rollout (Steps 5/25/50/100,
Analysis.Interval INTERVAL_S (default 10), MinRequests 100, FailureLimit 1,
MaxErrorRate 0.02, MaxErrorRateIncrease 0.01, MaxLatencyP99Ratio 1.5)
in front of a stable and a canary backend, under RPS (default 200)
requests/s that all satisfy the policy's condition, each with its own
UserId.  Two scenarios: the canary answers 30 % of requests with 500; the
canary adds 200 ms.  Reports, per scenario: the time from the rollout
starting to its rollback, the analysis windows it took, and the canary's
failed requests (5xx) the clients saw.  Not part of `make test`.
"""
import http.client
import os
import random
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

from syharness.admin import Admin  # noqa: E402
from syharness.backend import Backend, Reply  # noqa: E402
from syharness.gateway import Gateway, api, free_port, service  # noqa: E402


def config(stable, canary, aport, interval):
    ups = {"Product": "upstream", "UpstreamId": "upstream-stable", "Path": "/", "Method": "ANY"}
    pol = {"strategy_name": "canary", "strategy_weight": 50, "condition": "header.Region = 'eu'",
           "backend_type": "UPSTREAM", "backend_config": {"ServiceType": "HTTP", "ServiceConfig": {
               "Product": "upstream", "UpstreamId": "upstream-canary", "Path": "/",
               "Method": "ANY"}}}
    node = lambda b: [{"Host": "127.0.0.1", "Port": b.port, "Weight": 100}]  # noqa: E731
    return {"Gateway": {"AdminListen": "127.0.0.1:%d" % aport, "Workers": 1, "AccessLog": "off"},
            "Upstreams": [{"UpstreamId": "upstream-stable", "Nodes": node(stable)},
                          {"UpstreamId": "upstream-canary", "Nodes": node(canary)}],
            "Services": [service("svc", [api("api-orders", "/", config=ups)])],
            "Plugins": [{"PluginId": "plugin-canary", "PluginType": "Routing",
                         "PluginData": [pol],
                         "Attachments": [{"ServiceId": "svc", "EnvironmentName": "release",
                                          "ApiIds": ["api-orders"]}]}],
            "Rollouts": [{"RolloutId": "rollout-orders-v2", "PluginId": "plugin-canary",
                          "StrategyName": "canary", "SplitBy": "header.UserId",
                          "Steps": [5, 25, 50, 100], "StepInterval": 6 * interval,
                          "Analysis": {"Interval": interval, "MinRequests": 100,
                                       "MaxErrorRate": 0.02, "MaxErrorRateIncrease": 0.01,
                                       "MaxLatencyP99Ratio": 1.5, "FailureLimit": 1},
                          "OnFailure": "ROLLBACK"}]}


def paced_load(port, rps, stop, seen):
    """rps requests/s over 8 keep-alive connections; seen[(backend, status)] += 1."""
    lock = threading.Lock()
    per = rps / 8.0

    def run(seed):
        rnd = random.Random(seed)
        conn = None
        nxt = time.monotonic()
        while not stop.is_set():
            nxt += 1.0 / per
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/release/orders", headers={
                    "Host": "gw.test", "Region": "eu", "UserId": "u%d" % rnd.randrange(10 ** 9)})
                r = conn.getresponse()
                body = r.read()
                who = "canary" if b'"canary"' in body[:40] else "stable"
                with lock:
                    seen[(who, r.status)] = seen.get((who, r.status), 0) + 1
            except (OSError, http.client.HTTPException):
                conn = None
            delay = nxt - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    ts = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(8)]
    for t in ts:
        t.start()
    return ts


def scenario(name, canary_reply, interval, rps):
    stable, canary = Backend("stable"), Backend("canary")
    canary.set_reply(canary_reply)
    aport = free_port()
    g = Gateway(tempfile.mkdtemp(prefix="sy-rollout-"), config(stable, canary, aport, interval))
    stop = threading.Event()
    seen = {}
    try:
        g.start()
        adm = Admin(aport)
        ts = paced_load(g.port, rps, stop, seen)
        t0 = None
        deadline = time.monotonic() + 40 * interval
        s = None
        while time.monotonic() < deadline:
            s = adm.get("/v1/rollouts/rollout-orders-v2")["Status"]
            if t0 is None and s["Phase"] == "Progressing":
                t0 = time.monotonic()
            if s["Phase"] in ("RolledBack", "Succeeded", "Paused"):
                break
            time.sleep(0.05)
        t1 = time.monotonic()
        time.sleep(1.0)
        stop.set()
        for t in ts:
            t.join(6)
        fails = [v for v in s["Verdicts"] if v["Result"] == "Fail"]
        windows = len([v for v in s["Verdicts"]])
        bad = sum(n for (who, st), n in seen.items() if who == "canary" and st >= 500)
        total = sum(seen.values())
        print("%-26s phase %-10s after %5.1f s (%d windows, %d failed); canary 5xx seen by "
              "clients %d of %d requests; reason: %s"
              % (name, s["Phase"], t1 - (t0 or t1), windows, len(fails), bad, total,
                 s["Events"][-1]["Reason"]))
        sys.stdout.flush()
    finally:
        stop.set()
        g.stop()
        stable.close()
        canary.close()


def main():
    interval = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    rps = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    rnd = random.Random(7)

    def flaky(req):
        if rnd.random() < 0.30:
            return Reply(status=500, body=b'{"backend": "canary", "error": true}')
        return Reply()
    print("# %d requests/s, Analysis.Interval %g s, MinRequests 100, first step 5 %%"
          % (rps, interval))
    scenario("30% 500s", flaky, interval, rps)
    scenario("+200 ms", Reply(delay=0.2), interval, rps)


if __name__ == "__main__":
    main()
