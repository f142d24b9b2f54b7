"""The fake Kubernetes API server (syharness/fakekube.py) checked by real
clients: kubectl and Debian's python3-kubernetes.  If a real client rejects
the fake, the fake is wrong, and every tunnel test built on it with it."""
import json
import os
import subprocess
import threading

import pytest

from syharness.fakekube import FakeKube

KUBECTL = "/usr/bin/kubectl"


@pytest.fixture
def kube(tmp_path):
    k = FakeKube(tmp_path / "pki")
    k.put_service("shop", "web", [("http", 80, 8080)])
    for i in range(5):
        k.put_pod("shop", "web-%d" % i, "10.1.0.%d" % (i + 1), {"app": "web", "version": "v1"})
    k.put_slice("shop", "web-aaaaa", "web", "http", 8080,
                [dict(ip="10.1.0.%d" % (i + 1), pod="web-%d" % i) for i in range(3)])
    k.put_slice("shop", "web-bbbbb", "web", "http", 8080,
                [dict(ip="10.1.0.4", pod="web-3", ready=False, serving=True, terminating=True),
                 dict(ip="10.1.0.5", pod="web-4", ready=False)])
    k.put_slice("shop", "other-ccccc", "other", "http", 8080, [dict(ip="10.9.0.1")])
    yield k
    k.close()


def kubectl(kube, *args, token=None, timeout=15, ca=None):
    env = dict(os.environ, KUBECONFIG="/dev/null", HOME="/nonexistent")
    cmd = [KUBECTL, "--server", kube.url, "--token", token or kube.token,
           "--certificate-authority", ca or kube.ca, "--request-timeout", "10s"] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


SLICES = "/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices"


@pytest.mark.skipif(not os.access(KUBECTL, os.X_OK), reason="kubectl not installed")
def test_kubectl_lists_pages_and_gets(kube):
    p = kubectl(kube, "get", "--raw", SLICES + "?labelSelector=kubernetes.io/service-name%3Dweb&limit=1")
    assert p.returncode == 0, p.stderr
    page = json.loads(p.stdout)
    assert page["kind"] == "EndpointSliceList" and len(page["items"]) == 1
    assert page["metadata"]["continue"]
    p2 = kubectl(kube, "get", "--raw", SLICES + "?labelSelector=kubernetes.io/service-name%3Dweb"
                 "&limit=1&continue=" + page["metadata"]["continue"])
    assert p2.returncode == 0, p2.stderr
    page2 = json.loads(p2.stdout)
    names = [page["items"][0]["metadata"]["name"], page2["items"][0]["metadata"]["name"]]
    assert names == ["web-aaaaa", "web-bbbbb"] and "continue" not in page2["metadata"]
    p = kubectl(kube, "get", "--raw", "/api/v1/namespaces/shop/services/web")
    assert p.returncode == 0 and json.loads(p.stdout)["spec"]["ports"][0]["targetPort"] == 8080
    p = kubectl(kube, "get", "--raw", "/api/v1/namespaces/shop/services/nope")
    assert p.returncode != 0 and "NotFound" in p.stderr or "not found" in p.stderr


@pytest.mark.skipif(not os.access(KUBECTL, os.X_OK), reason="kubectl not installed")
def test_kubectl_refused_with_bad_token_or_ca(kube, tmp_path):
    p = kubectl(kube, "get", "--raw", SLICES, token="wrong")
    assert p.returncode != 0 and "Unauthorized" in p.stderr
    other = FakeKube(tmp_path / "other", name="other")
    try:
        p = kubectl(kube, "get", "--raw", SLICES, ca=other.ca)
        assert p.returncode != 0 and "certificate" in p.stderr
    finally:
        other.close()


@pytest.mark.skipif(not os.access(KUBECTL, os.X_OK), reason="kubectl not installed")
def test_kubectl_watch_sees_changes(kube):
    lst = json.loads(kubectl(kube, "get", "--raw", SLICES).stdout)
    rv = lst["metadata"]["resourceVersion"]
    env = dict(os.environ, KUBECONFIG="/dev/null", HOME="/nonexistent")
    proc = subprocess.Popen([KUBECTL, "--server", kube.url, "--token", kube.token,
                             "--certificate-authority", kube.ca, "get", "--raw",
                             SLICES + "?watch=1&allowWatchBookmarks=true&timeoutSeconds=3"
                             "&labelSelector=kubernetes.io/service-name%3Dweb&resourceVersion=" + rv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    threading.Timer(0.5, lambda: (
        kube.put_slice("shop", "web-aaaaa", "web", "http", 8080, [dict(ip="10.1.0.1", pod="web-0")]),
        kube.delete("endpointslices", "shop", "web-bbbbb"),
        kube.put_slice("shop", "other-ccccc", "other", "http", 8080, []))).start()
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    kinds = [(e["type"], e["object"]["metadata"].get("name")) for e in events if e["type"] != "BOOKMARK"]
    assert kinds == [("MODIFIED", "web-aaaaa"), ("DELETED", "web-bbbbb")]
    assert any(e["type"] == "BOOKMARK" for e in events)


def _client(kube):
    from kubernetes import client
    cfg = client.Configuration()
    cfg.host = kube.url
    cfg.ssl_ca_cert = kube.ca
    cfg.api_key = {"authorization": kube.token}
    cfg.api_key_prefix = {"authorization": "Bearer"}
    return client.ApiClient(cfg)


def test_python_client_lists_and_pages(kube):
    from kubernetes import client
    api = client.DiscoveryV1Api(_client(kube))
    items, cont = [], None
    while True:
        r = api.list_namespaced_endpoint_slice("shop", label_selector="kubernetes.io/service-name=web",
                                               limit=1, _continue=cont)
        items += r.items
        cont = r.metadata._continue
        if not cont:
            break
    assert [s.metadata.name for s in items] == ["web-aaaaa", "web-bbbbb"]
    eps = items[1].endpoints
    assert eps[0].conditions.terminating is True and eps[0].conditions.serving is True
    assert eps[0].target_ref.name == "web-3" and items[0].ports[0].port == 8080
    core = client.CoreV1Api(_client(kube))
    pods = core.list_namespaced_pod("shop", label_selector="app=web,version in (v1)")
    assert len(pods.items) == 5 and pods.items[0].status.pod_ip == "10.1.0.1"
    svc = core.read_namespaced_service("web", "shop")
    assert svc.spec.ports[0].name == "http"


def test_python_client_watch_and_410_relist(kube):
    from kubernetes import client, watch
    from kubernetes.client.rest import ApiException
    api = client.DiscoveryV1Api(_client(kube))
    sel = "kubernetes.io/service-name=web"
    lst = api.list_namespaced_endpoint_slice("shop", label_selector=sel)
    rv = lst.metadata.resource_version
    threading.Timer(0.3, lambda: kube.put_slice("shop", "web-ddddd", "web", "http", 8080,
                                                [dict(ip="10.1.0.9", pod="web-9")])).start()
    w = watch.Watch()
    seen = []
    for ev in w.stream(api.list_namespaced_endpoint_slice, "shop", label_selector=sel,
                       resource_version=rv, allow_watch_bookmarks=True, timeout_seconds=2):
        seen.append((ev["type"], ev["raw_object"]["metadata"].get("name")))
        if ev["type"] == "ADDED":
            w.stop()
    assert ("ADDED", "web-ddddd") in seen
    # The version is compacted away: the watch gets ERROR 410, the client
    # raises it, a fresh list and a watch from its version work.
    kube.compact()
    with pytest.raises(ApiException) as ei:
        for _ in watch.Watch().stream(api.list_namespaced_endpoint_slice, "shop",
                                      label_selector=sel, resource_version=rv, timeout_seconds=2):
            pass
    assert ei.value.status == 410
    lst = api.list_namespaced_endpoint_slice("shop", label_selector=sel)
    assert len(lst.items) == 3
    threading.Timer(0.3, lambda: kube.delete("endpointslices", "shop", "web-ddddd")).start()
    w = watch.Watch()
    for ev in w.stream(api.list_namespaced_endpoint_slice, "shop", label_selector=sel,
                       resource_version=lst.metadata.resource_version, timeout_seconds=2):
        if ev["type"] == "DELETED":
            assert ev["object"].metadata.name == "web-ddddd"
            w.stop()
            break
    else:
        pytest.fail("no DELETED event after the relist")


def test_python_client_expired_continue_is_410(kube):
    from kubernetes import client
    from kubernetes.client.rest import ApiException
    api = client.DiscoveryV1Api(_client(kube))
    r = api.list_namespaced_endpoint_slice("shop", limit=1)
    kube.compact()
    with pytest.raises(ApiException) as ei:
        api.list_namespaced_endpoint_slice("shop", limit=1, _continue=r.metadata._continue)
    assert ei.value.status == 410 and "Expired" in ei.value.body
