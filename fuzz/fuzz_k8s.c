/* libFuzzer target: Kubernetes API answers (src/discovery/k8s_parse.c).
 * The API server, or whoever sits between it and us with the cluster CA,
 * controls these bytes: every shape must be refused or taken without
 * reading outside what jansson gave us, and what is taken must keep the
 * selection's promises.
 *
 * Input: 1 control byte, then JSON text.
 *   bits 0-1  what it is: 0 an EndpointSlice, 1 a Pod, 2 a list, 3 a Service
 *   bits 2-7  the Service port asked for (3), or the pod filter's size (0)
 * An accepted slice is selected with and without a pod filter: the result
 * is sorted, has no duplicate, no more entries than endpoints, and a port
 * in 1..65535. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/k8s_parse.h"

static void check(int ok)
{
    if (!ok)
        abort(); /* a fuzz invariant was violated */
}

static void select_and_check(const sy_k8s_slice *s, char *const *pods, size_t n_pods)
{
    sy_k8s_addr *a;
    size_t nt, n = sy_k8s_select(s, 1, "http", pods, n_pods, &a, &nt);
    check(n <= s->n_eps && nt <= n);
    for (size_t i = 0; i < n; i++) {
        check(a[i].port >= 1);
        check(memchr(a[i].ip, '\0', sizeof a[i].ip) != NULL);
        if (i)
            check(strcmp(a[i - 1].ip, a[i].ip) < 0 ||
                  (strcmp(a[i - 1].ip, a[i].ip) == 0 && a[i - 1].port < a[i].port));
    }
    free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned ctl = data[0];
    json_t *doc = json_loadb((const char *)data + 1, size - 1, 0, NULL);
    if (!doc)
        return 0;
    char why[256];
    why[0] = '\0';
    switch (ctl & 3) {
    case 0: {
        sy_k8s_slice s;
        if (sy_k8s_parse_slice(doc, &s, why, sizeof why)) {
            check(s.name && s.n_eps <= SY_K8S_MAX_SLICE_EPS);
            select_and_check(&s, NULL, 0);
            char *pods[] = {"a", "b", "pod-1"};
            select_and_check(&s, pods, (ctl >> 2) % 4);
            sy_k8s_slice_free(&s);
        } else {
            check(why[0] != '\0');
        }
        break;
    }
    case 1: {
        char *keys[] = {"version", "app"}, *vals[] = {"canary", "web"};
        const char *name;
        bool ok = sy_k8s_parse_pod(doc, keys, vals, 2, &name, why, sizeof why);
        check(!ok || (name && *name));
        check(ok || !name);
        break;
    }
    case 2: {
        json_t *items;
        const char *rv, *cont;
        if (sy_k8s_parse_list(doc, &items, &rv, &cont, why, sizeof why))
            check(rv && *rv && (!items || json_is_array(items)));
        break;
    }
    default: {
        char *name;
        if (sy_k8s_service_port(doc, (int)(ctl >> 2), &name, why, sizeof why)) {
            check(name != NULL);
            free(name);
        }
        break;
    }
    }
    json_decref(doc);
    return 0;
}
