/* Types shared by the client side (http/server.c) and the upstream side
 * (http/backend.c) of the proxy.
 *
 * One client connection carries one request at a time; pipelined requests
 * wait in its receive buffer (the parser is paused at each message end).
 * A request that goes to a backend owns one upstream connection from the
 * worker's keep-alive pool until the exchange is complete, then gives it
 * back (only after a complete exchange) or closes it. */
#ifndef SY_HTTP_CONN_H
#define SY_HTTP_CONN_H

#include <llhttp.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "gen/snapshot.h"
#include "core/addr.h"
#include "core/buf.h"
#include "http/head.h"
#include "http/status.h"
#include "net/loop.h"
#include "router/router.h"

struct sy_worker;
struct ssl_st;
struct sy_h2conn;
struct sy_h2stream;
typedef struct sy_client sy_client;
typedef struct sy_upconn sy_upconn;

/* Client connection states (names in sy_client_state_names for tracing). */
enum sy_client_state {
    SY_CS_HEAD,    /* reading a request head */
    SY_CS_BODY,    /* head routed; request body streams upstream */
    SY_CS_WAIT,    /* request complete, waiting for the response */
    SY_CS_TUNNEL,  /* after 101 Switching Protocols: raw bytes */
    SY_CS_CLOSING, /* flushing the last response, then close */
};

/* Every state change goes through sy_client_set_state (server.c), which
 * traces "from -> to" at debug level with these names. */
extern const char *const sy_client_state_names[];
struct sy_client;
void sy_client_set_state(struct sy_client *c, enum sy_client_state to);

/* How a client's bytes move: plain TCP, TLS, or one HTTP/2 stream (no
 * socket of its own; its bytes come from and go to the h2 session).
 * server.c defines the three; everything else calls through them. */
typedef struct sy_transport {
    const char *name;
    bool socket; /* owns a file descriptor */
    ssize_t (*recv)(struct sy_client *c, char *p, size_t n);
    ssize_t (*send)(struct sy_client *c, const char *p, size_t n);
    void (*finish)(struct sy_client *c);  /* all sent: half-close */
    void (*release)(struct sy_client *c); /* on close */
} sy_transport;
extern const sy_transport sy_transport_plain, sy_transport_tls, sy_transport_h2_stream;

/* Whether the request-target is being collected (for 414 vs 431). */
enum sy_span { SY_SPAN_NONE, SY_SPAN_URL };

typedef struct sy_request {
    /* Parsed head (slices into the client's receive buffer, which keeps
     * the head in place until the request is done: http/head.h). */
    sy_str method, target, path, query, host_hdr;
    unsigned http_minor; /* 0 or 1 */
    sy_head head;        /* header fields, capacity MaxHeaders */
    enum sy_span span;
    size_t ext_bytes; /* chunk extension bytes of this chunk */
    bool chunk_open;  /* a forwarded chunk awaits its CRLF */
    bool has_cl, chunked, expect_continue, upgrade, conn_close, keep_alive_10;
    bool version_seen; /* the version span's first piece was checked */
    uint64_t content_length;
    bool head_done, body_done, local; /* local = answered by the gateway */
    int local_status;
    uint64_t body_bytes; /* received from the client */
    uint64_t body_start_ms;

    /* Routing. */
    sy_snapshot *snap; /* pinned generation */
    sy_req_view rv;
    sy_route route;
    char client_ip[64];
    bool peer_trusted; /* the socket peer is a TrustedProxy */
    char request_id[33];
    char *up_head; /* serialized upstream head, for retries */
    size_t up_head_len;
    const sy_upstream_cfg *upstream;
    int node; /* index into upstream nodes, -1 = Url */
    const sy_endpoint *ep;
    uint64_t tried; /* target bitmask (index in tset) */
    int attempts;
    const struct sy_target_set *tset; /* targets picked from, pinned for retries */
    const struct sy_target *tgt;      /* current attempt's target, or NULL (Url) */
    uint64_t deadline_ms;             /* ServiceTimeout from the first attempt */
    bool has_hash;                    /* CONSISTENT-HASH key present */
    uint64_t hash;

    /* Response bookkeeping. */
    int status;
    int upstream_status; /* the backend's final status, 0 = none */
    bool resp_started;   /* bytes of a response reached the client buffer */
    uint64_t resp_at;    /* where it starts in the client's byte stream */
    bool resp_chunked;   /* we re-chunk to the client */
    bool resp_done;
    uint64_t bytes_sent;
    uint64_t start_ms, up_start_ms, up_head_ms;
    uint64_t start_us; /* sy_clock_us() at the first head byte */
    const char *error_word;
} sy_request;

struct sy_client {
    sy_io io;
    struct sy_worker *w;
    sy_timer timer;
    enum sy_client_state state;
    sy_ipaddr peer; /* IPv4/IPv6 only: 28 bytes, not 128 */
    char peer_ip[SY_IP_TEXT_MAX];
    /* The parser lives at the front of the receive buffer's block and
     * both exist only while bytes are pending or a request is open: an
     * idle keep-alive connection holds neither (it restarts at a message
     * boundary, where a fresh llhttp_init is the same state). */
    llhttp_t *parser;
    char *rbuf;              /* receive buffer, fixed capacity */
    size_t rlen, rpos, rcap; /* bytes held, bytes parsed, capacity */
    size_t head_start;       /* rbuf offset where this head began */
    sy_buf out;              /* to the client */
    uint64_t out_sent;       /* bytes of `out` ever written */
    bool readable, writable, eof, close_after, closed, paused_upgrade, in_parser, in_process;
    bool hup; /* peer's FIN/error already signalled */
    unsigned n_requests;
    uint64_t head_deadline; /* absolute ms */
    uint64_t last_write_progress;
    sy_arena arena; /* per request */
    sy_request *req;
    sy_upconn *up;
    sy_client *next, *prev; /* worker's connection list */

    /* TLS and HTTP/2 (net/tls_server.h, http/h2.h). */
    const sy_transport *tp;  /* plain, TLS or h2 stream */
    struct ssl_st *ssl;      /* TLS session, NULL on plain connections */
    bool tls;                /* arrived over TLS (h2 streams inherit it) */
    bool handshaking;        /* TLS handshake not finished yet */
    const char *tls_version; /* static strings for the access log, or NULL */
    const char *alpn;
    struct sy_h2conn *h2;    /* this connection speaks HTTP/2 */
    struct sy_h2stream *h2s; /* this client is one h2 stream: no socket */
};

/* SY_US_QUEUED: a request waiting for a connection (http/pool.h): no
 * socket yet, the head and first body bytes already in `out`. */
enum sy_up_state { SY_US_CONNECTING, SY_US_ACTIVE, SY_US_IDLE, SY_US_QUEUED };
struct sy_node_state;
struct ssl_st;

struct sy_upconn {
    sy_io io;
    struct sy_worker *w;
    sy_timer timer;
    enum sy_up_state state;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    sy_client *client; /* owner while ACTIVE */
    llhttp_t parser;
    char *rbuf;
    size_t rlen, rpos, rcap;
    sy_buf out; /* to the backend */
    bool readable, writable, reused, got_bytes, head_done, msg_done, tunnel;
    bool hup;          /* peer's FIN/error already signalled */
    sy_head head;      /* response fields: slices into rbuf,
                                        * dead once the head is serialized */
    sy_header *fields; /* storage for head (SY_HEAD_MAX_FIELDS) */
    int status;
    bool has_cl, chunked, conn_close, interim;
    uint64_t content_length;
    unsigned n_uses;
    uint64_t idle_since;
    struct sy_node_state *st; /* health of the node (NULL for a Url) */
    bool counted;             /* counted in st->active */
    bool judged;              /* passive outcome reported for this exchange */
    struct ssl_st *ssl;       /* Scheme HTTPS */
    void *ssl_ctx;            /* pool key part: whose SSL_CTX */
    bool handshaking;
    struct sy_upnode *node;           /* pool/queue entry while IDLE or QUEUED */
    bool pooled;                      /* on node's idle list or queue now */
    sy_upconn *link_prev, *link_next; /* node's idle list or queue */
    sy_upconn *lru_prev, *lru_next;   /* worker's idle LRU */
    bool abandoned, shut;             /* see sy_upstream_abandon */
    sy_upconn *abandon_next;          /* worker's abandoned list */
    sy_upconn *free_next;
};

/* ---- client side (http/server.c) ---- */
void sy_client_accept(struct sy_worker *w, int fd, const struct sockaddr_storage *peer,
                      socklen_t len);
/* Same, for a TLS listener when `tls` (the handshake comes first). */
void sy_client_accept_ex(struct sy_worker *w, int fd, const struct sockaddr_storage *peer,
                         socklen_t len, bool tls);
void sy_client_close(sy_client *c);
/* The receive buffer exists only while bytes are pending or a request is
 * in progress: taken from the worker's pool before a read, given back
 * (with the request arena and an empty output buffer) when the connection
 * is idle again, so an idle keep-alive connection costs its struct. */
void sy_client_rbuf_ensure(sy_client *c);
void sy_client_release_idle(sy_client *c);
/* Start a graceful close: idle connections close now, busy ones after the
 * current response (which then says Connection: close). */
void sy_client_drain(sy_client *c);
/* Called by the upstream side. */
void sy_client_flush(sy_client *c);
void sy_client_response_done(sy_client *c, bool upstream_reusable);
void sy_client_upstream_failed(sy_client *c, int status, const char *word, const char *msg);
void sy_client_pump_body(sy_client *c);

/* ---- local responses (http/respond.c) ---- */
void sy_respond_error(sy_client *c, int status, const char *word, const char *msg);
void sy_respond_mock(sy_client *c, const sy_backend_cfg *b);
/* 301/308 to https://host[:port]path[?query] (IsForcedHttps). */
void sy_respond_redirect(sy_client *c, int status, sy_str host, unsigned port, sy_str path,
                         sy_str query);

/* ---- upstream side (http/backend.c) ---- */
/* Begin the exchange for c->req: pick a node, take a pooled connection or
 * connect, queue the serialized head. */
void sy_upstream_start(sy_client *c);
void sy_upstream_flush(sy_upconn *u);
/* Client went away / request aborted: drop the exchange. */
void sy_upstream_abort(sy_upconn *u);
/* The request body turned out malformed after its head was queued: the
 * backend still gets exactly the bytes queued for it (head and the valid
 * body before the error, the same whatever the client's read boundaries),
 * then a FIN; the connection is never reused (doc/core-principles.md,
 * "Body errors"). */
void sy_upstream_abandon(sy_upconn *u);
void sy_upstream_close_abandoned(struct sy_worker *w); /* worker exit */
#define SY_ABANDON_MS 5000
/* Client drained its buffer below the low-water mark: read again. */
void sy_upstream_resume_read(sy_upconn *u);
void sy_pool_close_all(struct sy_worker *w);
/* Pool callbacks (http/pool.c): close an idle connection already taken
 * off its pool; start a waiting request if its node and the worker's
 * budget allow (true when it left the queue). */
void sy_upstream_close_idle(sy_upconn *u);
bool sy_upstream_admit(sy_upconn *q);

/* ---- serialization (http/serialize.c) ---- */
/* Append the upstream request head for c->req to `out`; returns 0 or -1
 * (head too large / path does not fit). */
int sy_serialize_request_head(sy_client *c, sy_buf *out);
void sy_serialize_response_head(sy_client *c, sy_upconn *u);
void sy_chunk_append(sy_buf *out, const char *p, size_t n);
/* The size line of a chunk of n bytes (its data and CRLF follow). */
void sy_chunk_head(sy_buf *out, uint64_t n);

/* ---- access log (http/accesslog.c) ---- */
void sy_access_log(sy_client *c);

#define SY_OUT_HIGH (64 * 1024) /* stop producing into a buffer above this */
#define SY_UP_RBUF (32 * 1024)

#endif
