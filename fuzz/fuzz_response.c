/* libFuzzer target: the upstream response path, end to end.
 *
 * Input: byte 0 chooses where the backend's bytes are cut, byte 1 the
 * client request (low 3 bits, table below) and whether the backend
 * answers at once, before the request arrives (bit 3); the rest is what
 * the fake backend answers to every request it gets (up to four).
 * The client request goes through the real worker to a Url or upstream
 * that points at the harness's loopback listener, so the bytes meet the
 * strict response parser (http/response.c), the rebuilt response head
 * (http/serialize.c), re-chunking, close-delimited bodies, interim
 * responses, 101 tunnels, keep-alive pooling and stale-connection retry
 * (http/backend.c).
 *
 * Invariants:
 *   - whatever the backend sends, the client receives a strictly valid
 *     HTTP/1.1 response stream for the requests it made (possibly cut
 *     short when the backend failed mid-response), never bytes after a
 *     "Connection: close" response;
 *   - the request the backend sees is valid (fuzz_net.h);
 *   - nothing is left after teardown (fz_run_input).
 *
 * fuzz_response_split.c builds this file with FZ_SPLIT_READS: the backend's
 * bytes are then cut at offsets the input chooses (up to 31 cuts anywhere),
 * so the gateway's reads end exactly where a span straddles them (the
 * trailer over-read of issue 9 needed a cut right after a full 32 KiB
 * receive buffer).
 *
 * Build and run: fuzz/build.sh; see fuzz/README.md. */
#include "fuzz_net.h"

static fz_backend be;

static const struct {
    const char *bytes;
    int n_heads; /* responses the client expects (HEAD: body-less) */
    bool head;
} requests[] = {
    {"GET /plain/r HTTP/1.1\r\nHost: a\r\n\r\n", 1, false},
    {"HEAD /plain/r HTTP/1.1\r\nHost: a\r\n\r\n", 1, true},
    {"POST /plain/r HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", 1, false},
    {"POST /plain/r HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nTransfer-Encoding: "
     "chunked\r\n\r\n"
     "5\r\nhello\r\n0\r\n\r\n",
     1, false},
    {"GET /plain/ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 1,
     false},
    {"GET /plain/r HTTP/1.0\r\n\r\n", 1, false},
    {"GET /plain/1 HTTP/1.1\r\nHost: a\r\n\r\nGET /plain/2 HTTP/1.1\r\nHost: a\r\n\r\n", 2, false},
    {"GET /h/pool HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n", 1, false},
};

static const uint8_t *resp_bytes;
static size_t resp_len;
static uint8_t resp_split;
static size_t resp_cuts[FZ_MAX_PIECES];
static int resp_ncuts = -1; /* FZ_SPLIT_READS: explicit cuts */
static int n_answers;

static void respond(fz_conn *c, bool upgrade, void *arg)
{
    if (n_answers >= 4)
        return;
    n_answers++;
    while (!fz_pieces_done(&c->out) && fz_pieces_pump(&c->out, c->fd))
        ;
    if (resp_ncuts >= 0)
        fz_conn_queue_cut(c, (const char *)resp_bytes, resp_len, resp_cuts, resp_ncuts);
    else
        fz_conn_queue_copy(c, (const char *)resp_bytes, resp_len, resp_split);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fz_backend_init(&be);
    be.respond = respond;
    fz_worker_init(fz_config_text(be.port));
    return 0;
}

/* ---- checking what the client received ---- */

typedef struct {
    bool head;  /* the request was HEAD: final responses carry no body */
    int finals; /* final (non-1xx) responses seen */
} client_view;

static int cv_headers_complete(llhttp_t *p)
{
    client_view *v = p->data;
    if (p->status_code < 100 || p->status_code > 599)
        FZ_FAIL("the client got status %d", p->status_code);
    if (p->status_code >= 200 || p->status_code == 101) {
        v->finals++;
        /* A client knows these have no content whatever Content-Length
         * says (RFC 9110 §6.4.1): the response to HEAD, 204 and 304 (a
         * 304 may carry the representation's Content-Length, and the
         * gateway passes it on as HAProxy does). */
        if (v->head || p->status_code == 204 || p->status_code == 304)
            return 1;
    }
    return 0;
}

#ifdef FZ_SPLIT_READS
/* Input: byte 0 = number of cuts (low 5 bits), then per cut a 16-bit
 * little-endian distance from the previous cut, then the control byte
 * (request kind and flags, as byte 1 below), then the backend's bytes. */
static size_t take_cuts(const uint8_t *data, size_t size)
{
    int n = data[0] & 31;
    if (size < 2 + 2 * (size_t)n)
        return 0;
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        at += (size_t)data[1 + 2 * i] | (size_t)data[2 + 2 * i] << 8;
        resp_cuts[i] = at;
    }
    resp_ncuts = n;
    return 1 + 2 * (size_t)n;
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return -1;
#ifdef FZ_SPLIT_READS
    size_t skip = take_cuts(data, size);
    if (!skip)
        return -1;
    data += skip - 1; /* data[1] is the control byte, as below */
    size -= skip - 1;
#endif
    int kind = data[1] & 7;
    be.early = (data[1] & 8) != 0;
    be.close_after_answer = (data[1] & 16) != 0;
    resp_bytes = data + 2;
    resp_len = size - 2;
    resp_split = data[0];
    n_answers = 0;

    const char *req = requests[kind].bytes;
    fz_run r;
    fz_run_input(&r, &be, (const uint8_t *)req, strlen(req), 0);

    if (!r.resp_len)
        return 0;
    fz_check_status_line(r.resp, r.resp_len);
    if (r.resp_len < r.resp_total)
        return 0; /* only the first FZ_RESP_KEEP bytes were kept */
    client_view v = {.head = requests[kind].head};
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_headers_complete = cv_headers_complete;
    llhttp_t p;
    llhttp_init(&p, HTTP_RESPONSE, &s);
    p.data = &v;
    llhttp_errno_t e = llhttp_execute(&p, r.resp, r.resp_len);
    if (e != HPE_OK && e != HPE_PAUSED_UPGRADE)
        FZ_FAIL("the client received an invalid response stream: %s (%s) at offset %zu\n%.*s",
                llhttp_errno_name(e), llhttp_get_error_reason(&p),
                (size_t)(llhttp_get_error_pos(&p) - r.resp),
                (int)(r.resp_len < 600 ? r.resp_len : 600), r.resp);
    if (v.finals > requests[kind].n_heads)
        FZ_FAIL("%d responses for %d requests", v.finals, requests[kind].n_heads);
    return 0;
}
