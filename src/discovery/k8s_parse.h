/* Kubernetes API answers -> the little discovery needs, as pure functions.
 *
 * Every answer is treated as hostile: a field of the wrong type, a missing
 * name, an address that is not an IP, more endpoints or ports than
 * Kubernetes allows in one slice: the whole object is refused with a reason
 * (the caller keeps its last good state and lists again later).  What
 * Kubernetes documents as optional (conditions, targetRef, port names) may
 * be absent or null.
 *
 * Endpoint selection (sy_k8s_select) follows the EndpointSlice contract:
 *   - a nil `ready` means ready, a nil `serving` means the value of
 *     `ready`, a nil `terminating` means not terminating;
 *   - ready endpoints take traffic; when a service has none, its serving
 *     and terminating endpoints do (graceful rollouts); others none;
 *   - only the first address of an endpoint is used (the API says the
 *     others are the same pod's, and consumers must use the first);
 *   - the port is the slice's port named as the Service port that
 *     K8sService.Port selects ("" for an unnamed single port);
 *   - with ExtraLabels, only endpoints whose targetRef is one of the
 *     selected pods. */
#ifndef SY_DISCOVERY_K8S_PARSE_H
#define SY_DISCOVERY_K8S_PARSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "upstream/balancer.h"

#define SY_K8S_MAX_SLICE_EPS 1000 /* the API server's own limit per slice */
#define SY_K8S_MAX_SLICE_PORTS 100

typedef struct sy_k8s_sep {
    char ip[46];
    bool ready, serving, terminating;
    char *pod; /* targetRef name when its kind is Pod, else NULL */
} sy_k8s_sep;

typedef struct sy_k8s_slice {
    char *name;
    struct {
        char *name; /* "" when unnamed */
        int port;   /* -1 when null (no port) */
    } * ports;
    size_t n_ports;
    sy_k8s_sep *eps;
    size_t n_eps;
} sy_k8s_slice;

/* One endpoint chosen for traffic (the balancer's pod address). */
typedef sy_pod_addr sy_k8s_addr;

/* metadata.name and metadata.resourceVersion of an object (either may be
 * NULL on return when absent; false when metadata has the wrong shape). */
bool sy_k8s_meta(json_t *obj, const char **name, const char **rv);

/* The Service's port named by `port` (spec.ports[].port): its name ("" when
 * unnamed) in *name (malloc'd).  false with a reason otherwise. */
bool sy_k8s_service_port(json_t *svc, int port, char **name, char *why, size_t cap);

/* An EndpointSlice into *out (owned; free with sy_k8s_slice_free). */
bool sy_k8s_parse_slice(json_t *obj, sy_k8s_slice *out, char *why, size_t cap);
void sy_k8s_slice_free(sy_k8s_slice *s);

/* A Pod's name, when it carries every label of `keys`/`vals` (n of them):
 * true and *name set; false (and *name NULL) when it does not match; false
 * with `why` set when the object is malformed. */
bool sy_k8s_parse_pod(json_t *obj, char *const *keys, char *const *vals, size_t n,
                      const char **name, char *why, size_t cap);

/* A list answer: items, metadata.resourceVersion, metadata.continue (NULL
 * or "" when it is the last page). */
bool sy_k8s_parse_list(json_t *doc, json_t **items, const char **rv, const char **cont, char *why,
                       size_t cap);

/* The endpoints that take traffic, sorted and without duplicates, into
 * *out (malloc'd).  `pods` sorted by strcmp (NULL = no pod filter).
 * Returns the count; *n_terminating says how many are serving+terminating
 * fallbacks. */
size_t sy_k8s_select(const sy_k8s_slice *slices, size_t n_slices, const char *port_name,
                     char *const *pods, size_t n_pods, sy_k8s_addr **out, size_t *n_terminating);

#endif
