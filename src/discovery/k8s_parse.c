#include "discovery/k8s_parse.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"

static bool fail(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return false;
}

/* An optional string member: absent/null -> NULL and true; another type -> false. */
static bool opt_str(json_t *o, const char *key, const char **out)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v))
        return false;
    *out = json_string_value(v);
    return true;
}

/* An optional boolean: absent/null -> dflt. */
static bool opt_bool(json_t *o, const char *key, bool dflt, bool *out)
{
    json_t *v = json_object_get(o, key);
    *out = dflt;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_boolean(v))
        return false;
    *out = json_is_true(v);
    return true;
}

bool sy_k8s_meta(json_t *obj, const char **name, const char **rv)
{
    *name = *rv = NULL;
    json_t *md = json_object_get(obj, "metadata");
    if (!json_is_object(md))
        return false;
    return opt_str(md, "name", name) && opt_str(md, "resourceVersion", rv);
}

bool sy_k8s_service_port(json_t *svc, int port, char **name, char *why, size_t cap)
{
    *name = NULL;
    if (!json_is_object(svc))
        return fail(why, cap, "the Service is not a JSON object");
    json_t *spec = json_object_get(svc, "spec");
    json_t *ports = json_object_get(spec, "ports");
    if (!json_is_object(spec) || !json_is_array(ports))
        return fail(why, cap, "the Service has no spec.ports list");
    size_t i;
    json_t *p;
    json_array_foreach(ports, i, p)
    {
        json_t *num = json_object_get(p, "port");
        const char *n;
        if (!json_is_object(p) || !json_is_integer(num) || !opt_str(p, "name", &n))
            return fail(why, cap, "spec.ports[%zu] is malformed", i);
        if (json_integer_value(num) == port) {
            *name = sy_strdup(n ? n : "");
            return true;
        }
    }
    return fail(why, cap, "the Service has no port %d", port);
}

void sy_k8s_slice_free(sy_k8s_slice *s)
{
    free(s->name);
    for (size_t i = 0; i < s->n_ports; i++)
        free(s->ports[i].name);
    free(s->ports);
    for (size_t i = 0; i < s->n_eps; i++)
        free(s->eps[i].pod);
    free(s->eps);
    memset(s, 0, sizeof *s);
}

static bool parse_endpoint(json_t *e, int family, sy_k8s_sep *out, char *why, size_t cap, size_t i)
{
    json_t *addrs = json_object_get(e, "addresses");
    if (!json_is_object(e) || !json_is_array(addrs) || json_array_size(addrs) == 0 ||
        !json_is_string(json_array_get(addrs, 0)))
        return fail(why, cap, "endpoints[%zu].addresses is malformed", i);
    const char *ip = json_string_value(json_array_get(addrs, 0));
    unsigned char bin[16];
    if (strlen(ip) >= sizeof out->ip || inet_pton(family, ip, bin) != 1)
        return fail(why, cap, "endpoints[%zu].addresses[0] is not an IPv%c address", i,
                    family == AF_INET ? '4' : '6');
    inet_ntop(family, bin, out->ip, sizeof out->ip); /* canonical text */
    json_t *cond = json_object_get(e, "conditions");
    out->ready = out->serving = true;
    out->terminating = false;
    if (cond && !json_is_null(cond)) {
        if (!json_is_object(cond) || !opt_bool(cond, "ready", true, &out->ready) ||
            !opt_bool(cond, "serving", out->ready, &out->serving) ||
            !opt_bool(cond, "terminating", false, &out->terminating))
            return fail(why, cap, "endpoints[%zu].conditions is malformed", i);
        json_t *sv = json_object_get(cond, "serving");
        if (!sv || json_is_null(sv))
            out->serving = out->ready;
    }
    json_t *ref = json_object_get(e, "targetRef");
    out->pod = NULL;
    if (ref && !json_is_null(ref)) {
        const char *kind, *name;
        if (!json_is_object(ref) || !opt_str(ref, "kind", &kind) || !opt_str(ref, "name", &name))
            return fail(why, cap, "endpoints[%zu].targetRef is malformed", i);
        if (kind && name && strcmp(kind, "Pod") == 0)
            out->pod = sy_strdup(name);
    }
    return true;
}

bool sy_k8s_parse_slice(json_t *obj, sy_k8s_slice *out, char *why, size_t cap)
{
    memset(out, 0, sizeof *out);
    const char *name, *rv;
    if (!json_is_object(obj) || !sy_k8s_meta(obj, &name, &rv) || !name || !*name)
        return fail(why, cap, "an EndpointSlice without metadata.name");
    const char *at;
    if (!opt_str(obj, "addressType", &at) || !at)
        return fail(why, cap, "EndpointSlice %.100s: addressType is missing", name);
    json_t *eps = json_object_get(obj, "endpoints"), *ports = json_object_get(obj, "ports");
    if ((eps && !json_is_null(eps) && !json_is_array(eps)) ||
        (ports && !json_is_null(ports) && !json_is_array(ports)))
        return fail(why, cap, "EndpointSlice %.100s: endpoints or ports is not a list", name);
    if (json_array_size(eps) > SY_K8S_MAX_SLICE_EPS ||
        json_array_size(ports) > SY_K8S_MAX_SLICE_PORTS)
        return fail(why, cap,
                    "EndpointSlice %.100s: more endpoints or ports than Kubernetes allows", name);
    out->name = sy_strdup(name);
    /* FQDN slices name hosts, not pods: nothing to send traffic to. */
    int family = strcmp(at, "IPv4") == 0 ? AF_INET : strcmp(at, "IPv6") == 0 ? AF_INET6 : 0;
    if (!family)
        return true;
    size_t i;
    json_t *v;
    out->ports = sy_calloc(json_array_size(ports) + 1, sizeof *out->ports);
    json_array_foreach(ports, i, v)
    {
        const char *pn;
        json_t *num = json_object_get(v, "port");
        if (!json_is_object(v) || !opt_str(v, "name", &pn) ||
            (num && !json_is_null(num) && !json_is_integer(num))) {
            sy_k8s_slice_free(out);
            return fail(why, cap, "EndpointSlice %.100s: ports[%zu] is malformed", name, i);
        }
        json_int_t p = json_is_integer(num) ? json_integer_value(num) : -1;
        out->ports[out->n_ports].name = sy_strdup(pn ? pn : "");
        out->ports[out->n_ports++].port = p >= 1 && p <= 65535 ? (int)p : -1;
    }
    out->eps = sy_calloc(json_array_size(eps) + 1, sizeof *out->eps);
    json_array_foreach(eps, i, v)
    {
        char w[200];
        if (!parse_endpoint(v, family, &out->eps[out->n_eps], w, sizeof w, i)) {
            sy_k8s_slice_free(out);
            return fail(why, cap, "EndpointSlice %.100s: %s", name, w);
        }
        out->n_eps++;
    }
    return true;
}

bool sy_k8s_parse_pod(json_t *obj, char *const *keys, char *const *vals, size_t n,
                      const char **name, char *why, size_t cap)
{
    const char *rv;
    *name = NULL;
    if (!json_is_object(obj) || !sy_k8s_meta(obj, name, &rv) || !*name || !**name) {
        *name = NULL;
        return fail(why, cap, "a Pod without metadata.name");
    }
    json_t *labels = json_object_get(json_object_get(obj, "metadata"), "labels");
    if (labels && !json_is_null(labels) && !json_is_object(labels)) {
        fail(why, cap, "Pod %.100s: metadata.labels is not a mapping", *name);
        *name = NULL;
        return false;
    }
    /* The server filtered by the selector already; check again rather
     * than trust it. */
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object_get(labels, keys[i]);
        if (!json_is_string(v) || strcmp(json_string_value(v), vals[i]) != 0) {
            *name = NULL;
            why[0] = '\0';
            return false;
        }
    }
    return true;
}

bool sy_k8s_parse_list(json_t *doc, json_t **items, const char **rv, const char **cont, char *why,
                       size_t cap)
{
    *items = NULL;
    *rv = *cont = NULL;
    json_t *md = json_object_get(doc, "metadata");
    json_t *it = json_object_get(doc, "items");
    if (!json_is_object(doc) || !json_is_object(md))
        return fail(why, cap, "the list answer has no metadata");
    if (it && !json_is_null(it) && !json_is_array(it))
        return fail(why, cap, "the list answer's items is not a list");
    if (!opt_str(md, "resourceVersion", rv) || !*rv || !**rv || strlen(*rv) > 64 ||
        !opt_str(md, "continue", cont))
        return fail(why, cap, "the list answer has no usable metadata.resourceVersion");
    *items = it;
    return true;
}

static int addr_cmp(const void *a, const void *b)
{
    const sy_k8s_addr *x = a, *y = b;
    int c = strcmp(x->ip, y->ip);
    return c ? c : (int)x->port - (int)y->port;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t sy_k8s_select(const sy_k8s_slice *slices, size_t n_slices, const char *port_name,
                     char *const *pods, size_t n_pods, sy_k8s_addr **out, size_t *n_terminating)
{
    size_t cap = 1;
    for (size_t i = 0; i < n_slices; i++)
        cap += slices[i].n_eps;
    sy_k8s_addr *ready = sy_calloc(cap, sizeof *ready), *term = sy_calloc(cap, sizeof *term);
    size_t nr = 0, nt = 0;
    for (size_t i = 0; i < n_slices; i++) {
        const sy_k8s_slice *s = &slices[i];
        int port = -1;
        for (size_t k = 0; k < s->n_ports && port < 0; k++)
            if (strcmp(s->ports[k].name, port_name) == 0)
                port = s->ports[k].port;
        if (port < 0)
            continue;
        for (size_t k = 0; k < s->n_eps; k++) {
            const sy_k8s_sep *e = &s->eps[k];
            if (pods && (!e->pod || !bsearch(&e->pod, pods, n_pods, sizeof *pods, str_cmp)))
                continue;
            sy_k8s_addr *a = NULL;
            if (e->ready && !e->terminating)
                a = &ready[nr++];
            else if (e->serving && e->terminating)
                a = &term[nt++];
            if (a) {
                memcpy(a->ip, e->ip, sizeof a->ip);
                a->port = (uint16_t)port;
                a->terminating = !(e->ready && !e->terminating);
            }
        }
    }
    sy_k8s_addr *use = nr ? ready : term;
    size_t n = nr ? nr : nt;
    free(nr ? term : ready);
    qsort(use, n, sizeof *use, addr_cmp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || addr_cmp(&use[k - 1], &use[i]) != 0)
            use[k++] = use[i];
    *out = use;
    *n_terminating = nr ? 0 : k;
    return k;
}
