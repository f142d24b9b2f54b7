"""The dashboard at /ui/ in a real headless browser (Debian's chromium +
chromium-driver through python3-selenium): login with the admin token (a
wrong one refused), the overview, live numbers that move after traffic, a
node turning unhealthy when its backend stops, a service name holding
<script> shown as text with no script run, the explain form, the rollouts
page, the last reload's error, and the Content-Security-Policy on every
file.  Screenshots go to $SY_SCREENSHOT_DIR (or the test's tmp folder);
their paths are printed."""
import json
import os
import re
import signal
import threading
import time
import urllib.error
import urllib.request

import pytest
from selenium import webdriver
from selenium.common.exceptions import (NoSuchElementException, StaleElementReferenceException,
                                        TimeoutException)
from selenium.webdriver.chrome.service import Service as ChromeService
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from syharness.backend import Backend
from syharness.gateway import api, free_port, mock_api

TOKEN = "dash-token-Zq9"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
# Free text a user typed (ServiceName / ServiceDesc may hold anything).
EVIL = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
WAIT = 8  # seconds any one browser wait may take


def health():
    return {"EnableActiveCheck": True, "EnablePassiveCheck": True, "HealthyHttpStatus": "200-399",
            "UnhealthyHttpStatus": "500-599", "TcpFailureThreshold": 1, "TimeoutThreshold": 2,
            "HttpFailureThreshold": 3, "ActiveCheckHttpPath": "/healthz",
            "ActiveCheckInterval": 0.2, "ActiveCheckTimeout": 0.5, "UnhealthyTimeout": 0}


def config(admin_port, b1, b2):
    ups = {"Product": "upstream", "UpstreamId": "up-shop", "Path": "/", "Method": "ANY"}
    return {
        "Gateway": {"AdminListen": "127.0.0.1:%d" % admin_port, "AdminToken": TOKEN, "Workers": 2},
        "Upstreams": [{"UpstreamId": "up-shop", "UpstreamName": "shop pool " + EVIL,
                       "Algorithm": "ROUND-ROBIN", "HealthChecker": health(),
                       "Nodes": [{"Host": "127.0.0.1", "Port": b.port, "Weight": 100}
                                 for b in (b1, b2)]}],
        "Services": [{"ServiceId": "shop", "ServiceName": "Shop " + EVIL,
                      "ServiceDesc": "desc " + EVIL, "Environments": ["release"],
                      "Apis": [api("api-orders", "/orders", config=ups),
                               mock_api("api-ping", "=/ping", "pong")]}],
        "Plugins": [{"PluginId": "plugin-canary", "PluginName": "canary", "PluginType": "Routing",
                     "PluginData": [{"strategy_name": "admins", "strategy_weight": 50,
                                     "condition": "header.UserName = 'admin'",
                                     "backend_type": "MOCK",
                                     "backend_config": {"ServiceType": "MOCK",
                                                        "ServiceMockReturnMessage": "canary"}},
                                    {"strategy_name": "ramp", "strategy_weight": 10,
                                     "condition": "header.X-Ramp = '1'",
                                     "backend_type": "UPSTREAM",
                                     "backend_config": {"ServiceType": "HTTP",
                                                        "ServiceConfig": ups}}],
                     "Attachments": [{"ServiceId": "shop", "EnvironmentName": "release",
                                      "ApiIds": ["api-orders"]}]}],
        # A rollout that stays on its first step for the whole module.
        "Rollouts": [{"RolloutId": "rollout-ramp", "PluginId": "plugin-canary",
                      "StrategyName": "ramp", "Steps": [10, 50, 100], "StepInterval": 3600,
                      "SplitBy": "header.UserId",
                      "Analysis": {"Interval": 60, "MinRequests": 10, "FailureLimit": 1,
                                   "MaxErrorRate": 0.02}}]}


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    d = os.environ.get("SY_SCREENSHOT_DIR") or str(tmp_path_factory.mktemp("screenshots"))
    os.makedirs(d, exist_ok=True)
    return d


@pytest.fixture(scope="module")
def dash(make_module_gateway):
    b1, b2 = Backend("n1"), Backend("n2")
    admin_port = free_port()
    g = make_module_gateway(config(admin_port, b1, b2))
    base = "http://127.0.0.1:%d" % admin_port
    deadline = time.time() + 5
    while True:  # the admin thread may still be starting
        try:
            urllib.request.urlopen(base + "/ui/", timeout=2).read()
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.05)
    yield {"g": g, "base": base, "b1": b1, "b2": b2}
    b1.close()
    b2.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1280,900", "--no-first-run", "--disable-extensions",
              "--user-data-dir=%s" % tmp_path_factory.mktemp("chromium-profile")):
        opts.add_argument(a)
    if os.geteuid() == 0:
        opts.add_argument("--no-sandbox")  # chromium refuses to run as root with it
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=ChromeService(CHROMEDRIVER), options=opts)
    drv.set_page_load_timeout(WAIT)
    drv.set_script_timeout(WAIT)
    yield drv
    drv.quit()


def wait(drv, cond, what, timeout=WAIT):
    try:
        # The pages are rebuilt every 2 s: an element may go stale between
        # finding and reading it; the next poll finds the new one.
        return WebDriverWait(drv, timeout, poll_frequency=0.1,
                             ignored_exceptions=(StaleElementReferenceException,
                                                 NoSuchElementException)).until(lambda d: cond(d))
    except TimeoutException:
        raise AssertionError("timed out waiting for %s; page text:\n%s"
                             % (what, drv.find_element(By.TAG_NAME, "body").text[:3000]))


def shot(drv, shots, name):
    path = os.path.join(shots, name + ".png")
    drv.save_screenshot(path)
    print("screenshot: %s" % path)
    return path


def visible_text(drv, css):
    """textContent (not the CSS-uppercased rendering) of the shown matches,
    read in one script run so a refresh cannot tear it."""
    return drv.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]))"
        ".filter(e => e.offsetParent !== null).map(e => e.textContent).join(' ')", css)


def rows(drv, css):
    """[[cell textContent]] of the table rows under css, in one script run."""
    return drv.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0] + ' tbody tr'))"
        ".map(tr => Array.from(tr.children).map(td => td.textContent))", css)


def login(drv, dash, token=TOKEN):
    drv.get(dash["base"] + "/ui/")
    drv.execute_script("sessionStorage.clear()")
    drv.get(dash["base"] + "/ui/#overview")
    drv.refresh()  # same page, other hash: load it again so it sees the cleared storage
    field = wait(drv, lambda d: d.find_element(By.ID, "token").is_displayed()
                 and d.find_element(By.ID, "token"), "the login form")
    field.send_keys(token)
    drv.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()


def csp_violations(drv):
    return [e["message"] for e in drv.get_log("browser")
            if "Content Security Policy" in e["message"] or "Refused to" in e["message"]]


def no_script_ran(drv):
    assert drv.execute_script("return window.__pwned === undefined"), "an injected script ran"
    # Nothing the gateway sent became an element: the page's own scripts only.
    srcs = drv.execute_script(
        "return Array.from(document.scripts).map(s => s.src + '|' + s.textContent.length)")
    assert srcs == [drv.execute_script("return location.origin") + "/ui/app.js|0"], srcs
    assert drv.execute_script("return document.querySelectorAll('img').length") == 0


# ---- without a browser: headers and files ----

def fetch(url, headers=None, method="GET"):
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def test_files_carry_a_strict_csp_and_hold_no_inline_code(dash):
    for path, ctype in (("/ui/", "text/html"), ("/ui", "text/html"), ("/ui/index.html", "text/html"),
                        ("/ui/app.js", "text/javascript"), ("/ui/style.css", "text/css")):
        st, h, body = fetch(dash["base"] + path)
        assert st == 200 and h["content-type"].startswith(ctype), (path, st, h)
        csp = h["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp, csp
        assert "unsafe" not in csp and "frame-ancestors 'none'" in csp, csp
        assert h["x-content-type-options"] == "nosniff", h
        text = body.decode()
        # No other host, no inline handler or style, every script external.
        assert not re.search(r"https?://(?!api\.example\.com)", text), (path, "external URL")
        if ctype == "text/html":
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "inline script"
            assert not re.search(r"\son[a-z]+\s*=|\sstyle\s*=|<style", text, re.I), "inline code/style"
        if ctype == "text/javascript":
            assert "innerHTML" not in text and "insertAdjacentHTML" not in text
            assert "document.write" not in text and "eval(" not in text
    # Unknown file, wrong method: refused, with the same headers.
    st, h, _ = fetch(dash["base"] + "/ui/nope.js")
    assert st == 404 and "content-security-policy" in h
    st, h, _ = fetch(dash["base"] + "/ui/../metrics")
    assert st in (400, 404), st
    st, h, _ = fetch(dash["base"] + "/ui/", method="POST")
    assert st == 405 and h["allow"] == "GET, HEAD", (st, h)


def test_data_needs_the_token(dash):
    st, _, _ = fetch(dash["base"] + "/v1/traffic")
    assert st == 401
    st, _, _ = fetch(dash["base"] + "/v1/traffic", {"Authorization": "Bearer wrong"})
    assert st == 403
    st, _, body = fetch(dash["base"] + "/v1/traffic", {"Authorization": "Bearer " + TOKEN})
    doc = json.loads(body)
    assert st == 200 and len(doc["bucket_bounds"]) == 16 and "apis" in doc, doc


# ---- in the browser ----

def test_wrong_token_is_refused(dash, browser, shots):
    login(browser, dash, token="not-the-token")
    err = wait(browser, lambda d: d.find_element(By.ID, "login-error").text, "the login error")
    assert "Wrong token" in err and "403" in err, err
    assert browser.execute_script("return sessionStorage.length") == 0
    assert not browser.find_element(By.ID, "nav").is_displayed()
    assert not browser.find_element(By.ID, "page-overview").is_displayed()
    shot(browser, shots, "01-login-refused")


def test_login_shows_the_overview(dash, browser, shots):
    login(browser, dash)
    wait(browser, lambda d: "Config version" in visible_text(d, "#overview-body"), "the overview")
    text = visible_text(browser, "#overview-body")
    st, _, body = fetch(dash["base"] + "/v1/status", {"Authorization": "Bearer " + TOKEN})
    status = json.loads(body)
    # (The rollout's controller commits its first step: that is a reload too.)
    for want in ("Version", status["version"], "Workers", "Uptime", "Last reload",
                 "Config version%d" % status["config_version"]):
        assert want in text, (want, text)
    # The token is in this tab's session storage, never in the URL.
    assert browser.execute_script("return sessionStorage.getItem('switchyard.adminToken')") == TOKEN
    assert TOKEN not in browser.current_url
    assert csp_violations(browser) == []
    shot(browser, shots, "02-overview")


def traffic_row(drv, api_id):
    for cells in rows(drv, "#traffic-body"):
        if len(cells) >= 7 and cells[2] == api_id:
            return cells
    return None


def test_live_traffic_moves_and_names_are_text(dash, browser, shots):
    if browser.execute_script("return sessionStorage.getItem('switchyard.adminToken')") != TOKEN:
        login(browser, dash)
    browser.get(dash["base"] + "/ui/#traffic")
    wait(browser, lambda d: d.find_element(By.ID, "page-traffic").is_displayed(), "the traffic page")
    g = dash["g"]
    stop = threading.Event()

    def load():
        while not stop.is_set():
            g.request("GET", "/release/orders")
            g.request("GET", "/release/orders", headers=[("UserName", "admin")])
            time.sleep(0.01)
    t = threading.Thread(target=load, daemon=True)
    t.start()
    try:
        row = wait(browser, lambda d: (lambda r: r if r and r[3] not in ("…", "0.0") else None)(
            traffic_row(d, "api-orders")), "a non-zero req/s for api-orders")
        first_total = int(row[6])
        assert float(row[3]) > 0 and row[5].endswith("s"), row      # req/s, p99
        assert row[4] == "0.0 %", row                                # no 5xx
        wait(browser, lambda d: int(traffic_row(d, "api-orders")[6]) > first_total,
             "the total to move on")
        pol = visible_text(browser, "#traffic-body")
        assert "plugin-canary" in pol and "admins" in pol and "up-shop" in pol, pol
    finally:
        stop.set()
        t.join(5)
    # The service name and description are shown exactly as typed.
    name = browser.execute_script(
        "return document.querySelector('#traffic-body .svc-name').textContent")
    assert name == "Shop " + EVIL, name
    no_script_ran(browser)
    assert csp_violations(browser) == []
    shot(browser, shots, "03-live-traffic")


def node_states(drv):
    """{node address: state word} from the upstreams page."""
    out = {}
    for cells in rows(drv, "#upstreams-body"):
        if len(cells) >= 4:
            m = re.match(r"unhealthy|healthy|disabled", cells[3])
            out[cells[0]] = m and m.group(0)
    return out


def test_node_goes_unhealthy_when_its_backend_stops(dash, browser, shots):
    if browser.execute_script("return sessionStorage.getItem('switchyard.adminToken')") != TOKEN:
        login(browser, dash)
    browser.get(dash["base"] + "/ui/#upstreams")
    n1, n2 = ("127.0.0.1:%d" % dash[b].port for b in ("b1", "b2"))
    wait(browser, lambda d: node_states(d) == {n1: "healthy", n2: "healthy"}, "two healthy nodes")
    assert "shop pool " + EVIL in visible_text(browser, "#upstreams-body")
    shot(browser, shots, "04-upstreams-healthy")
    dash["b2"].close()   # active probes every 0.2 s now fail to connect
    wait(browser, lambda d: node_states(d) == {n1: "healthy", n2: "unhealthy"},
         "node %s to turn unhealthy" % n2)
    text = visible_text(browser, "#upstreams-body")
    assert "1 / 2 healthy" in text and "ejected by active checks" in text, text
    no_script_ran(browser)
    shot(browser, shots, "05-upstreams-node-down")


def test_explain_form(dash, browser, shots):
    if browser.execute_script("return sessionStorage.getItem('switchyard.adminToken')") != TOKEN:
        login(browser, dash)
    browser.get(dash["base"] + "/ui/#explain")
    url = wait(browser, lambda d: d.find_element(By.ID, "ex-url").is_displayed()
               and d.find_element(By.ID, "ex-url"), "the explain form")
    url.send_keys("http://shop.test/release/orders/7")
    browser.find_element(By.ID, "ex-headers").send_keys("UserName: admin")
    browser.find_element(By.CSS_SELECTOR, "#explain-form button[type=submit]").click()
    res = wait(browser, lambda d: d.find_elements(By.ID, "explain-result") and
               d.find_element(By.ID, "explain-result").text, "the explain result")
    assert "routed" in res and "api-orders" in res and "admins" in res, res
    assert ("Shop " + EVIL) in res, res                      # service name, as text
    pre = browser.find_element(By.ID, "explain-text").text
    assert "MATCHED" in pre, pre
    no_script_ran(browser)
    shot(browser, shots, "06-explain")
    # A bad request shows the gateway's message.
    url.clear()
    browser.find_element(By.CSS_SELECTOR, "#explain-form button[type=submit]").click()
    err = wait(browser, lambda d: d.find_element(By.ID, "explain-error").text, "an explain error")
    assert "url" in err, err


def test_rollouts_page(dash, browser, shots):
    if browser.execute_script("return sessionStorage.getItem('switchyard.adminToken')") != TOKEN:
        login(browser, dash)
    browser.get(dash["base"] + "/ui/#rollouts")
    card = wait(browser, lambda d: visible_text(d, ".rollout"), "the rollout card")
    assert "rollout-ramp" in card and "plugin-canary / ramp" in card, card
    assert "step 1 of 3: 10 % of matching requests" in card and "10 % → 50 % → 100 %" in card, card
    phase = browser.execute_script("return document.querySelector('.rollout h2 .badge').textContent")
    st, _, body = fetch(dash["base"] + "/v1/rollouts/rollout-ramp",
                        {"Authorization": "Bearer " + TOKEN})
    assert st == 200 and phase == json.loads(body)["Status"]["Phase"], (phase, body)
    shot(browser, shots, "07-rollouts")


def test_overview_shows_a_refused_reload(dash, browser, shots):
    if browser.execute_script("return sessionStorage.getItem('switchyard.adminToken')") != TOKEN:
        login(browser, dash)
    g = dash["g"]
    with open(g.config_path) as f:
        good = f.read()
    try:
        with open(g.config_path, "a") as f:
            f.write("Bogus: [\n")
        assert g.reload() == "failed"
        browser.get(dash["base"] + "/ui/#overview")
        err = wait(browser, lambda d: d.find_elements(By.ID, "reload-error") and
                   d.find_element(By.ID, "reload-error").text, "the reload error")
        assert "YAML" in err, err
        assert "refused" in visible_text(browser, "#last-reload")
        shot(browser, shots, "08-overview-reload-refused")
    finally:
        with open(g.config_path, "w") as f:
            f.write(good)
        assert g.reload() == "ok"


def test_a_refused_token_mid_session_returns_to_login(dash, browser):
    if browser.execute_script("return sessionStorage.getItem('switchyard.adminToken')") != TOKEN:
        login(browser, dash)
    browser.get(dash["base"] + "/ui/#overview")
    browser.execute_script("sessionStorage.setItem('switchyard.adminToken', 'stale')")
    err = wait(browser, lambda d: d.find_element(By.ID, "login-error").is_displayed()
               and d.find_element(By.ID, "login-error").text, "the login form again")
    assert "refused the token (403)" in err, err
    assert browser.execute_script("return sessionStorage.length") == 0


def test_discovered_pods_are_shown_with_their_discovery_state(browser, shots, tmp_path,
                                                              make_gateway):
    from test_tunnels import Cluster, tunnel
    c = Cluster(tmp_path)
    try:
        c.service("orders")
        p1, p2 = c.add("orders", "orders-1"), c.add("orders", "orders-2")
        admin = free_port()
        up = tunnel("up-pods", [(c, "shop", "orders", 100, None)], UpstreamName="TKE " + EVIL)
        make_gateway({"Gateway": {"AdminListen": "127.0.0.1:%d" % admin, "AdminToken": TOKEN,
                                  "KubernetesClusters": [c.entry()]},
                      "Upstreams": [up],
                      "Services": [{"ServiceId": "pods", "Environments": ["release"],
                                    "Apis": [api("api-pods", "/p", config={
                                        "Product": "upstream", "UpstreamId": "up-pods",
                                        "Path": "/", "Method": "ANY"})]}]})
        login(browser, {"base": "http://127.0.0.1:%d" % admin})
        wait(browser, lambda d: "Config version" in visible_text(d, "#overview-body"), "sign-in")
        browser.get("http://127.0.0.1:%d/ui/#upstreams" % admin)
        a1, a2 = (p["ip"] + ":%d" % c.port for p in (p1, p2))
        wait(browser, lambda d: node_states(d) == {a1: "healthy", a2: "healthy"}, "two pods")
        text = visible_text(browser, "#upstreams-body")
        assert "pod of shop/orders" in text and "K8S" in text, text
        assert "Discovery: cls-a / shop / orders" in text and "Synced" in text, text
        assert "TKE " + EVIL in text, text
        no_script_ran(browser)
        shot(browser, shots, "09-upstreams-pods")
        c.remove("orders-2")   # the pod goes away: so does its row
        wait(browser, lambda d: node_states(d) == {a1: "healthy"}, "one pod left")
    finally:
        c.close()
