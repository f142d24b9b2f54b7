/* Internals shared by the discovery thread (k8s.c) and its API requests
 * (k8s_watch.c).  Everything here belongs to the discovery thread except
 * the fields marked "registry lock", which other threads read. */
#ifndef SY_DISCOVERY_K8S_INT_H
#define SY_DISCOVERY_K8S_INT_H

#include <curl/curl.h>
#include <pthread.h>
#include <sys/stat.h>

#include "discovery/k8s.h"

enum { R_SVC, R_SLICES, R_PODS, R_N };

typedef struct kreq kreq;
typedef struct unit unit;

typedef struct rsrc {
    int kind;
    char rv[72];          /* last resourceVersion seen ("" = none) */
    bool listed;          /* a complete list is in the current objects */
    bool want_list;       /* the next request is a fresh list */
    kreq *req;            /* in flight */
    char *cont;           /* list in progress: the next page's token */
    sy_k8s_slice *slices; /* R_SLICES: current objects */
    size_t n_slices;
    char **pods; /* R_PODS: names of the selected pods */
    size_t n_pods;
    sy_k8s_slice *nslices; /* list in progress */
    size_t n_nslices;
    char **npods;
    size_t n_npods;
    uint64_t next_ms; /* earliest start of the next request */
    int fails;        /* consecutive failures (back-off) */
} rsrc;

struct unit {
    char *key;
    /* Settings (a copy: units outlive configuration generations). */
    char *cluster_id, *server, *token_file, *ca_file;
    uint32_t timeout_ms, page_size;
    char *ns, *svc;
    int port;
    char **lkeys, **lvals;
    size_t n_labels;
    char *selector;  /* the pods' labelSelector (ExtraLabels) or NULL */
    char *port_name; /* from the Service; NULL until read */
    rsrc r[R_N];
    char *token;
    struct stat token_st;
    bool wanted;
    bool dirty; /* objects changed: select again */
    uint64_t last_log_ms;
    /* Registry lock: */
    sy_k8s_addr *eps;
    size_t n_eps, n_term;
    bool synced;      /* eps came from a complete answer */
    bool tried;       /* at least one attempt finished since (re)start */
    bool ready;       /* synced or tried, and the balancers rebuilt since */
    bool stale;       /* the last attempt failed: eps may be old */
    char error[256];  /* last failure, "" once everything works again */
    double last_sync; /* unix time of the last good answer or event */
    uint64_t watch_restarts, relists, errors, updates;
    unit *next;
};

/* The registry: units by key, and the lock for the fields above. */
extern pthread_mutex_t sy_k8s_lock;
extern pthread_cond_t sy_k8s_cond;
extern unit *sy_k8s_units;

/* k8s_watch.c: start the requests that are due for `u`; handle a finished
 * transfer; drop everything in flight (unit removed or restarted). */
void sy_k8s_unit_step(CURLM *m, unit *u, uint64_t now);
void sy_k8s_req_done(CURLM *m, kreq *q, CURLcode rc, uint64_t now);
void sy_k8s_unit_cancel(CURLM *m, unit *u);
void sy_k8s_unit_clear(unit *u);
/* Select endpoints again when objects changed; true when they changed. */
bool sy_k8s_unit_select(unit *u);
/* The earliest time a unit of the list wants to start a request. */
uint64_t sy_k8s_next_due(void);

#endif
