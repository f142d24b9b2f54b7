/* libFuzzer target: the client request path, end to end.
 *
 * Input: byte 0 chooses where the client bytes are cut (fz_pieces_split:
 * partial heads, split CRLFs, bodies arriving late), byte 1 chooses how
 * the fake backend answers, the rest is what the client sends.  The bytes
 * go through the real worker: strict llhttp with our callbacks
 * (http/request.c), routing with policies (router/),
 * the rebuilt upstream head (http/serialize.c), connect (refused for the
 * "dead" routes -> 502, retries across upstream nodes), the response path
 * back, keep-alive and pipelining, then teardown.
 *
 * Invariants, checked on every input:
 *   - the client only ever receives "HTTP/1.1 NNN " responses, and the
 *     first head parses strictly;
 *   - every request the backend receives parses strictly as one HTTP/1.1
 *     message and carries exactly one Host, X-Forwarded-For, X-Real-IP
 *     and X-Api-RequestId, no hop-by-hop field, no name with '_'
 *     (fuzz_net.h, fz_be_on_*);
 *   - after the client and backend close, no connection, pooled upstream
 *     connection or file descriptor is left (fz_run_input).
 *
 * Build and run: fuzz/build.sh; see fuzz/README.md. */
#include "fuzz_net.h"

static fz_backend be;

/* Backend answers, chosen by input byte 1 (low 3 bits); bit 3 splits it. */
static const char *const flavors[] = {
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-B: 1\r\n\r\nok",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    "HTTP/1.1 204 No Content\r\nKeep-Alive: timeout=5\r\n\r\n",
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil-eof",
    "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\nConnection: X-Hop\r\nX-Hop: 1\r\n\r\n",
    "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\noops!",
    "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
};

static uint8_t flavor;

static void respond(fz_conn *c, bool upgrade, void *arg)
{
    if (upgrade) {
        static const char sw[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                 "Connection: Upgrade\r\n\r\n";
        fz_conn_queue_copy(c, sw, sizeof(sw) - 1, 0);
        return;
    }
    /* A pipelined request while the previous answer is still queued:
     * push the rest of that one out first (best effort). */
    while (!fz_pieces_done(&c->out) && fz_pieces_pump(&c->out, c->fd))
        ;
    const char *f = flavors[flavor & 7];
    fz_conn_queue_copy(c, f, strlen(f), (flavor & 8) ? 0x87 : 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fz_backend_init(&be);
    be.respond = respond;
    fz_worker_init(fz_config_text(be.port));
    return 0;
}

static int first_head_done(llhttp_t *p)
{
    return HPE_PAUSED;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return -1;
    flavor = data[1];
    fz_run r;
    fz_run_input(&r, &be, data + 2, size - 2, data[0]);

    if (r.resp_len) {
        fz_check_status_line(r.resp, r.resp_len);
        /* The first head must parse strictly (later ones may answer HEAD
         * requests, whose bodies the harness can't tell apart). */
        llhttp_settings_t s;
        llhttp_settings_init(&s);
        s.on_message_complete = first_head_done;
        s.on_headers_complete = first_head_done;
        llhttp_t p;
        llhttp_init(&p, HTTP_RESPONSE, &s);
        llhttp_errno_t e = llhttp_execute(&p, r.resp, r.resp_len);
        if (e != HPE_OK && e != HPE_PAUSED)
            FZ_FAIL("the client's first response head does not parse: %s (%s)\n%.*s",
                    llhttp_errno_name(e), llhttp_get_error_reason(&p),
                    (int)(r.resp_len < 400 ? r.resp_len : 400), r.resp);
    }
    return 0;
}
