/* K8S upstreams (TKE tunnels) and Gateway.KubernetesClusters: what loads,
 * what is refused and where, and the dump reading back the same. */
#include "config_test.h"

#include "config/dump.h"
#include "config/fields.h"

#define CLUSTERS                                                                                   \
    "Gateway:\n  KubernetesClusters:\n"                                                            \
    "    - {ClusterId: cls-a, Server: \"https://127.0.0.1:6443/\", CaFile: /dev/null,"             \
    " TokenFile: /dev/null, PageSize: 50}\n"                                                       \
    "    - {ClusterId: cls-b, Server: \"https://[::1]:6443\"}\n"
#define TUNNEL(svc)                                                                                \
    "Upstreams:\n  - UpstreamId: upstream-1ca1d6yi\n    UpstreamType: K8S\n"                       \
    "    K8sService:\n" svc

static void test_tunnel_loads(void **state)
{
    sy_config *cfg = expect_ok(CLUSTERS TUNNEL(
        "      - {Weight: 80, ClusterId: cls-a, Namespace: shop, ServiceName: web, Port: 80,"
        " Name: stable}\n"
        "      - Weight: 20\n        ClusterId: cls-b\n        Namespace: shop\n"
        "        ServiceName: web\n        Port: 80\n"
        "        ExtraLabels: [{Key: version, Value: canary}, {Key: app.kubernetes.io/name, Value: "
        "web}]\n"));
    assert_int_equal(cfg->gw.n_k8s_clusters, 2);
    assert_string_equal(cfg->gw.k8s_clusters[0].server, "https://127.0.0.1:6443");
    assert_int_equal(cfg->gw.k8s_clusters[0].page_size, 50);
    assert_int_equal(cfg->gw.k8s_clusters[1].timeout_ms, 10000);
    const sy_upstream_cfg *u = &cfg->upstreams[0];
    assert_true(u->k8s);
    assert_int_equal(u->n_k8s_services, 2);
    assert_int_equal(u->k8s_services[0].weight, 80);
    assert_ptr_equal(u->k8s_services[1].cluster, &cfg->gw.k8s_clusters[1]);
    assert_int_equal(u->k8s_services[1].n_labels, 2);
    assert_string_equal(u->k8s_services[1].labels[1].key, "app.kubernetes.io/name");
    /* The dump reads back as the same tunnel. */
    char *text = sy_config_dump_yaml(cfg);
    sy_config *again = expect_ok(text);
    char *text2 = sy_config_dump_yaml(again);
    assert_string_equal(text, text2);
    free(text);
    free(text2);
    sy_config_free(again);
    sy_config_free(cfg);
}

static void test_in_cluster_default(void **state)
{
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    sy_config *cfg =
        expect_ok("Gateway:\n  KubernetesClusters:\n"
                  "    - {ClusterId: cls-here, TokenFile: /dev/null, CaFile: /dev/null}\n");
    assert_string_equal(cfg->gw.k8s_clusters[0].server, "https://10.96.0.1:443");
    assert_true(cfg->gw.k8s_clusters[0].in_cluster);
    sy_config_free(cfg);
    /* Without the file overrides: the service account's files. */
    expect_error("Gateway:\n  KubernetesClusters: [{ClusterId: cls-here}]\n",
                 "t.yaml:2:24: Gateway.KubernetesClusters[0].TokenFile: cannot read "
                 "/var/run/secrets/kubernetes.io/serviceaccount/token");
    unsetenv("KUBERNETES_SERVICE_HOST");
    expect_error("Gateway:\n  KubernetesClusters: [{ClusterId: cls-here}]\n",
                 "t.yaml:2:24: Gateway.KubernetesClusters[0].Server: is required outside a pod "
                 "(KUBERNETES_SERVICE_HOST is not set)");
}

static void test_cluster_errors(void **state)
{
    expect_error("Gateway:\n  KubernetesClusters:\n    - {ClusterId: a, Server: \"http://h:1\"}\n",
                 "t.yaml:3:30: Gateway.KubernetesClusters[0].Server: must be https://HOST[:PORT]");
    expect_error(
        "Gateway:\n  KubernetesClusters:\n    - {ClusterId: a, Server: \"https://h:1/api\"}\n",
        "t.yaml:3:30: Gateway.KubernetesClusters[0].Server: must be https://HOST[:PORT]");
    expect_error(
        "Gateway:\n  KubernetesClusters:\n    - {ClusterId: a, Server: \"https://h:99999\"}\n",
        "t.yaml:3:30: Gateway.KubernetesClusters[0].Server: must be https://HOST[:PORT]");
    expect_error(
        "Gateway:\n  KubernetesClusters:\n    - {ClusterId: a, Server: \"https://h\","
        " CaFile: /nonexistent/ca.pem}\n",
        "t.yaml:3:51: Gateway.KubernetesClusters[0].CaFile: cannot read /nonexistent/ca.pem");
    expect_error("Gateway:\n  KubernetesClusters:\n    - {ClusterId: a, Server: \"https://h\"}\n"
                 "    - {ClusterId: a, Server: \"https://g\"}\n",
                 "t.yaml:4:19: Gateway.KubernetesClusters[1].ClusterId: duplicate ClusterId \"a\" "
                 "(first at 3:7)");
    expect_error("Gateway:\n  KubernetesClusters:\n    - {Server: \"https://h\"}\n",
                 "t.yaml:3:7: Gateway.KubernetesClusters[0].ClusterId: is required");
    expect_error(
        "Gateway:\n  KubernetesClusters:\n    - {ClusterId: a, Server: \"https://h\", Token: x}\n",
        "t.yaml:3:43: Gateway.KubernetesClusters[0].Token: unknown key");
}

static void test_service_errors(void **state)
{
    expect_error(
        CLUSTERS TUNNEL(
            "      - {Weight: 1, ClusterId: cls-x, Namespace: a, ServiceName: b, Port: 80}\n"),
        "t.yaml:9:32: Upstreams[0].K8sService[0].ClusterId: unknown ClusterId \"cls-x\" "
        "(not in Gateway.KubernetesClusters)");
    expect_error(CLUSTERS TUNNEL("      - {Weight: 1, ClusterId: cls-a, Namespace: a, Port: 80}\n"),
                 "t.yaml:9:9: Upstreams[0].K8sService[0].ServiceName: is required");
    expect_error(
        CLUSTERS TUNNEL(
            "      - {Weight: 101, ClusterId: cls-a, Namespace: a, ServiceName: b, Port: 80}\n"),
        "t.yaml:9:18: Upstreams[0].K8sService[0].Weight: must be between 0 and 100");
    expect_error(
        CLUSTERS TUNNEL(
            "      - {Weight: 0, ClusterId: cls-a, Namespace: a, ServiceName: b, Port: 80}\n"),
        "t.yaml:9:7: Upstreams[0].K8sService: every Weight is 0: no service would take traffic");
    expect_error(
        CLUSTERS TUNNEL(
            "      - {Weight: 1, ClusterId: cls-a, Namespace: A_b, ServiceName: b, Port: 80}\n"),
        "t.yaml:9:50: Upstreams[0].K8sService[0].Namespace: not a Kubernetes name "
        "(lower-case letters, digits and '-', at most 63)");
    expect_error(
        CLUSTERS TUNNEL(
            "      - {Weight: 1, ClusterId: cls-a, Namespace: a, ServiceName: b, Port: 0}\n"),
        "t.yaml:9:75: Upstreams[0].K8sService[0].Port: must be between 1 and 65535");
    expect_error(
        CLUSTERS TUNNEL(
            "      - {Weight: 1, ClusterId: cls-a, Namespace: a, ServiceName: b, Port: 80,"
            " ExtraLabels: [{Key: \"v,x\", Value: y}]}\n"),
        "t.yaml:9:99: Upstreams[0].K8sService[0].ExtraLabels[0].Key: not a Kubernetes label "
        "key ([prefix/]name, name: alphanumerics, '-', '_', '.', at most 63)");
    expect_error(CLUSTERS TUNNEL(
                     "      - {Weight: 1, ClusterId: cls-a, Namespace: a, ServiceName: b, Port: 80,"
                     " ExtraLabels: [{Key: v, Value: \"a b\"}]}\n"),
                 "t.yaml:9:109: Upstreams[0].K8sService[0].ExtraLabels[0].Value: not a Kubernetes "
                 "label value (alphanumerics, '-', '_', '.', at most 63)");
    expect_error(
        CLUSTERS TUNNEL(
            "      - {Weight: 1, ClusterId: cls-a, Namespace: a, ServiceName: b, Port: 80}\n"
            "      - {Weight: 1, ClusterId: cls-a, Namespace: a, ServiceName: b, Port: 80}\n"),
        "t.yaml:10:9: Upstreams[0].K8sService[1]: same service as K8sService[0]");
    expect_error(CLUSTERS TUNNEL("      []\n"),
                 "t.yaml:9:7: Upstreams[0].K8sService: must list 1 to 20 services, got 0");
    expect_error(CLUSTERS "Upstreams:\n  - UpstreamId: u\n    K8sService: []\n",
                 "t.yaml:7:17: Upstreams[0].K8sService: needs UpstreamType K8S");
    expect_error(
        CLUSTERS TUNNEL("      - {Weight: 1, ClusterId: cls-a, Namespace: a, ServiceName: b, Port: "
                        "80}\n") "    Nodes: [{Host: 1.2.3.4, Port: 80, Weight: 1}]\n",
        "t.yaml:10:12: Upstreams[0].Nodes: a K8S upstream's nodes are its services' pods: "
        "list them in K8sService");
    /* 21 services: one over Tencent's limit. */
    char text[8192] = CLUSTERS TUNNEL("");
    for (int i = 0; i < 21; i++)
        snprintf(
            text + strlen(text), sizeof text - strlen(text),
            "      - {Weight: 1, ClusterId: cls-a, Namespace: a, ServiceName: s%d, Port: 80}\n", i);
    expect_error(text, "t.yaml:9:7: Upstreams[0].K8sService: must list 1 to 20 services, got 21");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tunnel_loads),
        cmocka_unit_test(test_in_cluster_default),
        cmocka_unit_test(test_cluster_errors),
        cmocka_unit_test(test_service_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
