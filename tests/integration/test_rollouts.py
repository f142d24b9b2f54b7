"""Closed-loop canaries (doc/rollouts.md) through the real binary: a
Routing policy's share ramped step by step, rolled back on its own errors
or latency, held when traffic is too thin; the admin actions, stickiness,
restart, validation, and reloads that must not reset a rollout.

Intervals are scaled down (0.3-1 s) so the file stays well under a minute;
a load thread pool sends requests with random UserIds meanwhile."""
import http.client
import random
import threading
import time

import pytest

from syharness.admin import Admin
from syharness.backend import Reply
from syharness.gateway import api, free_port, service


def upstream(uid, b):
    return {"UpstreamId": uid, "UpstreamName": uid, "Scheme": "HTTP", "Algorithm": "ROUND-ROBIN",
            "Nodes": [{"Host": "127.0.0.1", "Port": b.port, "Weight": 100}]}


def policy(name, cond, uid, weight=50):
    return {"strategy_name": name, "strategy_weight": weight, "condition": cond,
            "backend_type": "UPSTREAM",
            "backend_config": {"ServiceType": "HTTP", "ServiceConfig": {
                "Product": "upstream", "UpstreamId": uid, "Path": "/", "Method": "ANY"}}}


def rollout(rid="rollout-orders-v2", steps=(20, 50, 100), interval=0.5, step_interval=0.5,
            min_requests=10, split="header.UserId", **analysis):
    a = {"Interval": interval, "MinRequests": min_requests, "FailureLimit": 1}
    a.update(analysis or {"MaxErrorRate": 0.02, "MaxErrorRateIncrease": 0.01,
                          "MaxLatencyP99Ratio": 1.5})
    r = {"RolloutId": rid, "PluginId": "plugin-canary", "StrategyName": "canary",
         "Steps": list(steps), "StepInterval": step_interval, "Analysis": a}
    if split:
        r["SplitBy"] = split
    return r


def config(stable, canary, aport, rollouts=None):
    ups = {"Product": "upstream", "UpstreamId": "upstream-stable", "Path": "/", "Method": "ANY"}
    cfg = {"Gateway": {"AdminListen": "127.0.0.1:%d" % aport, "Workers": 2},
           "Upstreams": [upstream("upstream-stable", stable), upstream("upstream-canary", canary)],
           "Services": [service("svc", [api("api-orders", "/", config=ups)])],
           "Plugins": [{"PluginId": "plugin-canary", "PluginName": "canary",
                        "PluginType": "Routing",
                        "PluginData": [policy("canary", "header.Region = 'eu'", "upstream-canary"),
                                       policy("other", "header.X-Other = '1'", "upstream-canary",
                                              weight=10)],
                        "Attachments": [{"ServiceId": "svc", "EnvironmentName": "release",
                                         "ApiIds": ["api-orders"]}]}]}
    if rollouts is not None:
        cfg["Rollouts"] = rollouts
    return cfg


class Load:
    """Threads sending GET /release/orders with Region: eu and a random
    UserId over keep-alive connections; records (time, user, backend,
    status)."""

    def __init__(self, port, threads=4, users=None, pace=0.0):
        self.port, self.threads, self.pace = port, threads, pace
        self.users = users
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.results = []
        self.ts = []

    def _run(self, seed):
        rnd = random.Random(seed)
        conn = None
        while not self.stop_flag.is_set():
            user = rnd.choice(self.users) if self.users else "u%d" % rnd.randrange(10 ** 9)
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/release/orders", headers={
                    "Host": "gw.test", "Region": "eu", "UserId": user})
                r = conn.getresponse()
                body = r.read()
                who = body[12:40].split(b'"')[1].decode() if body.startswith(b'{"backend"') else "?"
                with self.lock:
                    self.results.append((time.time(), user, who, r.status))
            except (OSError, http.client.HTTPException, IndexError):
                conn = None
            if self.pace:
                time.sleep(self.pace)

    def __enter__(self):
        for i in range(self.threads):
            t = threading.Thread(target=self._run, args=(i,), daemon=True)
            t.start()
            self.ts.append(t)
        return self

    def __exit__(self, *a):
        self.stop_flag.set()
        for t in self.ts:
            t.join(6)


def status(adm, rid="rollout-orders-v2"):
    st, doc = adm.call("GET", "/v1/rollouts/" + rid)
    assert st == 200, doc
    return doc["Status"]


def wait_phase(adm, phases, timeout=15.0, rid="rollout-orders-v2"):
    deadline = time.time() + timeout
    s = None
    while time.time() < deadline:
        s = status(adm, rid)
        if s["Phase"] in phases:
            return s
        time.sleep(0.05)
    raise AssertionError("rollout never reached %s: %r" % (phases, s))


@pytest.fixture
def arms(make_backend):
    return make_backend("stable"), make_backend("canary")


def start(make_gateway, arms, rollouts):
    aport = free_port()
    g = make_gateway(config(arms[0], arms[1], aport, rollouts))
    return g, Admin(aport)


def test_healthy_canary_walks_every_step_and_succeeds(make_gateway, arms):
    g, adm = start(make_gateway, arms, [rollout(steps=(10, 50, 100))])
    with Load(g.port, threads=4):
        s = wait_phase(adm, ["Succeeded", "RolledBack", "Paused"], timeout=25)
    assert s["Phase"] == "Succeeded", s["Events"][-1]
    assert s["CurrentWeight"] == 100
    moves = [(e["From"], e["To"], e["Weight"]) for e in s["Events"]]
    assert moves[0] == ("Pending", "Progressing", 10), moves
    assert ("Progressing", "Progressing", 50) in moves and ("Progressing", "Progressing", 100) in moves
    # Observed share per step, over the requests the gateway judged there.
    for w in (10, 50):
        c = sum(v["Canary"]["Requests"] for v in s["Verdicts"] if v["Weight"] == w)
        b = sum(v["Baseline"]["Requests"] for v in s["Verdicts"] if v["Weight"] == w)
        assert c + b >= 100, (w, c, b)
        assert abs(100.0 * c / (c + b) - w) <= 3 + 300.0 / (c + b) ** 0.5, (w, c, b)
    # After success the policy serves every matching request.
    r = g.request("GET", "/release/orders", headers=[("Region", "eu"), ("UserId", "anyone")])
    assert r.json()["backend"] == "canary"
    r = g.request("GET", "/release/orders", headers=[("UserId", "anyone")])
    assert r.json()["backend"] == "stable"



def flaky(rate, name="canary"):
    """A backend reply function: `rate` of the requests get a 500."""
    rnd = random.Random(7)

    def reply(req):
        if rnd.random() < rate:
            return Reply(status=500, body=b'{"backend": "canary", "error": true}')
        return Reply()
    return reply


def test_erroring_canary_is_rolled_back_within_two_windows(make_gateway, arms):
    arms[1].set_reply(flaky(0.30))
    g, adm = start(make_gateway, arms, [rollout(steps=(10, 50, 100), interval=0.5,
                                                step_interval=5)])
    with Load(g.port, threads=4) as ld:
        s = wait_phase(adm, ["RolledBack"], timeout=10)
        t_back = time.time()
        time.sleep(0.3)
    started = next(e for e in s["Events"] if e["To"] == "Progressing")
    back = s["Events"][-1]
    assert back["To"] == "RolledBack" and back["Weight"] == 0, s["Events"]
    assert "MaxErrorRate" in back["Reason"] and "failed window" in back["Reason"], back
    windows = [v for v in s["Verdicts"] if v["Result"] != "Inconclusive"]
    assert len(windows) <= 2, s["Verdicts"]
    assert s["CurrentWeight"] == 0 and s["FailedCanaryRequests"] > 0, s
    # No request reaches the canary after the rollback was stored.
    late = [r for r in ld.results if r[0] > t_back + 0.05 and r[2] == "canary"]
    assert late == [], late[:3]
    # The share is 0: every Region eu request goes to the stable backend.
    for i in range(20):
        r = g.request("GET", "/release/orders", headers=[("Region", "eu"), ("UserId", "u%d" % i)])
        assert r.json()["backend"] == "stable"
    st, txt = adm.call("GET", "/metrics")
    assert 'switchyard_rollout_status{rollout="rollout-orders-v2",phase="RolledBack"} 1' in txt
    assert 'switchyard_rollout_weight{rollout="rollout-orders-v2",plugin="plugin-canary",policy="canary"} 0' in txt


def test_slow_canary_is_rolled_back_on_p99_ratio(make_gateway, arms):
    arms[1].set_reply(Reply(delay=0.2))
    g, adm = start(make_gateway, arms, [rollout(steps=(20, 50, 100), interval=0.6,
                                                step_interval=5, min_requests=5)])
    with Load(g.port, threads=8):
        s = wait_phase(adm, ["RolledBack"], timeout=10)
    back = s["Events"][-1]
    assert "MaxLatencyP99Ratio" in back["Reason"] and "p99" in back["Reason"], back
    fail = [v for v in s["Verdicts"] if v["Result"] == "Fail"][-1]
    assert fail["Canary"]["P99Ms"] >= 150 and fail["Baseline"]["P99Ms"] < 100, fail


def test_thin_traffic_stays_inconclusive_and_never_fails(make_gateway, arms):
    arms[1].set_reply(flaky(1.0))   # every canary request fails, but too few to judge
    g, adm = start(make_gateway, arms, [rollout(steps=(10, 100), interval=0.3,
                                                min_requests=1000)])
    with Load(g.port, threads=1, pace=0.01):
        time.sleep(2.0)
        s = status(adm)
    assert s["Phase"] == "Progressing" and s["CurrentStep"] == 0, s
    assert s["Verdicts"] and all(v["Result"] == "Inconclusive" for v in s["Verdicts"]), s
    assert "too little traffic" in s["Verdicts"][-1]["Reason"]


@pytest.mark.parametrize("bad, field, words", [
    ({"PluginId": "plugin-nope"}, "PluginId", "no Routing plugin"),
    ({"StrategyName": "nope"}, "StrategyName", "has no policy"),
    ({"Steps": [5, 5, 100]}, "Steps[1]", "must increase"),
    ({"Steps": [5, 50]}, "Steps[1]", "last step must be 100"),
    ({"Steps": [0, 100]}, "Steps[0]", "percentage"),
    ({"Analysis": {"MaxErrorRate": 1.5}}, "Analysis.MaxErrorRate", "at most 1"),
    ({"Analysis": {"MaxLatencyP99Ratio": 0.5}}, "Analysis.MaxLatencyP99Ratio", "above 1"),
    ({"Analysis": {"Interval": 0}}, "Analysis.Interval", "between"),
    ({"Analysis": {"MinRequests": 100}}, "Analysis", "at least one of"),
    ({"SplitBy": "Random()"}, "SplitBy", "not a request operand"),
    ({"OnFailure": "EXPLODE"}, "OnFailure", "must be one of"),
])
def test_bad_rollout_is_refused_with_its_field_path(make_gateway, arms, bad, field, words):
    g, adm = start(make_gateway, arms, [])
    body = rollout()
    body.update(bad)
    st, doc = adm.call("POST", "/v1/rollouts", body)
    assert st == 400, doc
    text = repr(doc)
    assert field in text and words in text, doc
    st, doc = adm.call("GET", "/v1/rollouts")
    assert doc["TotalCount"] == 0


def canary_users(g, users):
    """The users among `users` whose Region eu request the canary serves."""
    got = set()
    for u in users:
        r = g.request("GET", "/release/orders", headers=[("Region", "eu"), ("UserId", u)])
        assert r.status == 200, r
        if r.json()["backend"] == "canary":
            got.add(u)
    return got


def act(adm, action, rid="rollout-orders-v2", want=200):
    st, doc = adm.call("POST", "/v1/rollouts/%s/%s" % (rid, action))
    assert st == want, (action, st, doc)
    return doc


def ramp_to_50_and_pause(g, adm):
    """Traffic until the rollout reaches 50 %, then pause it there."""
    with Load(g.port, threads=4):
        deadline = time.time() + 15
        while status(adm)["CurrentWeight"] < 50 and time.time() < deadline:
            time.sleep(0.05)
        act(adm, "pause")


def test_actions_and_stickiness(make_gateway, arms):
    """pause holds the share, resume goes on, every user in the canary at
    10 % is still in it at 50 % (buckets of SplitBy are stable), promote
    ends at 100 %, and actions that do not fit the phase are 409."""
    # Only an error threshold: these tests are about the actions, and a
    # p99 ratio can fail a healthy canary on a busy machine.
    g, adm = start(make_gateway, arms, [rollout(steps=(10, 50, 100), interval=0.3,
                                                step_interval=1.0, min_requests=5,
                                                MaxErrorRate=0.5)])
    users = ["user-%d" % i for i in range(300)]
    s = wait_phase(adm, ["Progressing"])
    act(adm, "pause")
    s = status(adm)
    assert s["Phase"] == "Paused" and s["CurrentWeight"] == 10, s
    at10 = canary_users(g, users)
    assert 10 <= len(at10) <= 55, len(at10)          # ~10 % of 300
    act(adm, "pause", want=409)                      # already paused
    act(adm, "resume")
    ramp_to_50_and_pause(g, adm)
    s = status(adm)
    assert s["Phase"] == "Paused" and s["CurrentWeight"] == 50, s
    at50 = canary_users(g, users)
    assert at10 <= at50, sorted(at10 - at50)[:5]
    assert 110 <= len(at50) <= 190, len(at50)        # ~50 % of 300
    act(adm, "promote")
    s = status(adm)
    assert s["Phase"] == "Succeeded" and s["CurrentWeight"] == 100, s
    assert canary_users(g, users[:30]) == set(users[:30])
    act(adm, "abort", want=409)                      # nothing left to abort
    reasons = [e["Reason"] for e in s["Events"]]
    assert "paused by the admin API" in reasons and "resumed by the admin API" in reasons
    assert reasons[-1] == "promoted by the admin API", reasons


def test_abort_rolls_back_at_once(make_gateway, arms):
    g, adm = start(make_gateway, arms, [rollout(steps=(50, 100), step_interval=30)])
    wait_phase(adm, ["Progressing"])
    act(adm, "abort")
    s = status(adm)
    assert s["Phase"] == "RolledBack" and s["CurrentWeight"] == 0, s
    assert s["Events"][-1]["Reason"] == "aborted by the admin API"
    assert canary_users(g, ["u%d" % i for i in range(40)]) == set()
    act(adm, "resume", want=409)


def test_restart_resumes_at_the_same_step_with_its_history(make_gateway, arms):
    g, adm = start(make_gateway, arms, [rollout(steps=(10, 50, 100), interval=0.3,
                                                step_interval=0.6, min_requests=5,
                                                MaxErrorRate=0.5)])
    ramp_to_50_and_pause(g, adm)
    before = status(adm)
    assert before["CurrentWeight"] == 50
    g.stop()
    g.start()
    after = status(adm)
    assert after["Phase"] == "Paused" and after["CurrentStep"] == before["CurrentStep"], after
    assert after["CurrentWeight"] == 50, after
    assert after["Events"][:len(before["Events"])] == before["Events"]
    # Still at 50 % on the wire: neither back to the first step nor at 100 %.
    n = len(canary_users(g, ["r%d" % i for i in range(200)]))
    assert 70 <= n <= 130, n
    act(adm, "resume")
    with Load(g.port, threads=4):
        s = wait_phase(adm, ["Succeeded"], timeout=15)
    assert [e["Weight"] for e in s["Events"]][-1] == 100


def test_reload_and_unrelated_admin_change_do_not_reset_it(make_gateway, arms):
    g, adm = start(make_gateway, arms, [rollout(steps=(10, 50, 100), interval=0.3,
                                                step_interval=0.6, min_requests=5,
                                                MaxErrorRate=0.5)])
    ramp_to_50_and_pause(g, adm)
    before = status(adm)
    assert g.reload() == "ok"
    s = status(adm)
    assert (s["Phase"], s["CurrentStep"], s["CurrentWeight"]) == ("Paused", before["CurrentStep"], 50)
    adm.ok("PATCH", "/v1/upstreams/upstream-stable", {"Retries": 2})
    s = status(adm)
    assert (s["Phase"], s["CurrentStep"], s["CurrentWeight"]) == ("Paused", before["CurrentStep"], 50)
    assert s["Events"][:len(before["Events"])] == before["Events"]


def test_the_ramped_policy_cannot_go_while_the_rollout_runs(make_gateway, arms):
    g, adm = start(make_gateway, arms, [rollout(steps=(10, 100), step_interval=30)])
    wait_phase(adm, ["Progressing"])
    plugin = adm.get("/v1/plugins/plugin-canary")
    keep = [p for p in plugin["PluginData"] if p["strategy_name"] != "canary"]
    st, doc = adm.call("PATCH", "/v1/plugins/plugin-canary", {"PluginData": keep})
    assert st == 409 and "rollout-orders-v2" in doc["message"], doc
    st, doc = adm.call("DELETE", "/v1/plugins/plugin-canary")
    assert st == 409 and "rollout-orders-v2" in doc["message"], doc
    # An edit that keeps the policy is fine; so is removing it once aborted.
    adm.ok("PATCH", "/v1/plugins/plugin-canary", {"Description": "still here"})
    act(adm, "abort")
    adm.ok("PATCH", "/v1/plugins/plugin-canary", {"PluginData": keep})


def test_explain_names_the_arm_and_why(make_gateway, arms):
    g, adm = start(make_gateway, arms, [rollout(steps=(50, 100), step_interval=30)])
    wait_phase(adm, ["Progressing"])
    seen = {}
    for i in range(40):
        st, doc = adm.call("POST", "/v1/explain", {"url": "/release/orders", "headers": {
            "Host": "gw.test", "Region": "eu", "UserId": "e%d" % i}})
        assert st == 200, doc
        detail = " ".join(d for p in doc["policies"] if p["name"] == "canary"
                          for d in p["detail"])
        assert "rollout rollout-orders-v2 (Progressing, step 1)" in detail, detail
        arm = "canary" if "canary arm" in detail else "baseline"
        assert ("share 50%" in detail) and ("bucket" in detail), detail
        # The arm explain names is the backend the gateway picks.
        r = g.request("GET", "/release/orders", headers=[("Region", "eu"), ("UserId", "e%d" % i)])
        assert r.json()["backend"] == ("canary" if arm == "canary" else "stable"), (detail, r.json())
        seen[arm] = seen.get(arm, 0) + 1
    assert seen.get("canary") and seen.get("baseline"), seen


def test_pause_then_resume_between_two_ticks_keeps_both_events(make_gateway, arms):
    """Pause and resume back to back (both within one 50 ms controller
    tick): the controller takes the stored Status over by its Revision, so
    neither event is lost and reads show the stored moves."""
    g, adm = start(make_gateway, arms, [rollout(steps=(10, 50, 100), step_interval=600)])
    wait_phase(adm, ["Progressing"])
    for _ in range(3):
        act(adm, "pause")
        act(adm, "resume")
    s = status(adm)
    reasons = [e["Reason"] for e in s["Events"]]
    assert reasons[-6:] == ["paused by the admin API", "resumed by the admin API"] * 3, reasons
    # Still there once the controller has committed something of its own.
    act(adm, "pause")
    s = wait_phase(adm, ["Paused"])
    reasons = [e["Reason"] for e in s["Events"]]
    assert reasons[-7:] == ["paused by the admin API", "resumed by the admin API"] * 3 + [
        "paused by the admin API"], reasons


def test_reloading_ones_own_yaml_without_status_does_not_start_over(make_gateway, arms):
    """The operator re-applies the file they wrote (no Status): the running
    rollout keeps its step and history, and its Status is stored again."""
    g, adm = start(make_gateway, arms, [rollout(steps=(10, 50, 100), interval=0.3,
                                                step_interval=0.6, min_requests=5,
                                                MaxErrorRate=0.5)])
    ramp_to_50_and_pause(g, adm)
    before = status(adm)
    text = open(g.config_path).read()
    assert "Status:" in text
    with open(g.config_path, "w") as f:
        f.write("\n".join(l for l in text.split("\n") if not l.lstrip().startswith("Status:")))
    assert g.reload() == "ok"
    s = status(adm)
    assert (s["Phase"], s["CurrentStep"], s["CurrentWeight"]) == ("Paused", before["CurrentStep"], 50)
    assert s["Events"][:len(before["Events"])] == before["Events"]
    deadline = time.time() + 5
    while "Status:" not in open(g.config_path).read():
        assert time.time() < deadline, "the carried Status was not stored again"
        time.sleep(0.05)
