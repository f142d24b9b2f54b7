/* libFuzzer target: HTTP/2 frames from a client, end to end.
 *
 * Input: byte 0 splits the client bytes into pieces (fuzz_net.h), byte 1
 * picks the backend's answer, the rest is what an h2c client sends after
 * the connection preface (which the harness prepends): frames in, through
 * nghttp2, the h2 -> HTTP/1.1 transcoder (http/h2.c), the strict request
 * parser, routing, the proxy and back.
 *
 * Invariants (abort = finding): no crash, leak or sanitizer report; what
 * the client receives is a sequence of well-formed frame headers starting
 * with our SETTINGS; a stream never gets more than one final HEADERS...
 * (checked loosely: frame lengths fit our max frame size); every request
 * the backend gets parses as HTTP/1.1 (the backend in fuzz_net.h aborts
 * otherwise); the same teardown checks as the request target (no client,
 * pooled connection or descriptor survives the input, no hang). */
#include "fuzz_net.h"

static fz_backend be;

static const char *const flavors[] = {
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-B: 1\r\n\r\nok",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    "HTTP/1.1 204 No Content\r\n\r\n",
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil-eof",
    "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
    "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\noops!",
    "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
};

static uint8_t flavor;

static void respond(fz_conn *c, bool upgrade, void *arg)
{
    while (!fz_pieces_done(&c->out) && fz_pieces_pump(&c->out, c->fd))
        ;
    const char *f = flavors[flavor & 7];
    fz_conn_queue_copy(c, f, strlen(f), (flavor & 8) ? 0x87 : 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fz_backend_init(&be);
    be.respond = respond;
    /* The shared config with h2c prior knowledge switched on. */
    const char *base = fz_config_text(be.port);
    static char text[9000];
    const char *gw = strstr(base, "Gateway:\n");
    if (!gw)
        abort();
    size_t head = (size_t)(gw - base) + strlen("Gateway:\n");
    snprintf(text, sizeof text, "%.*s  Http2Cleartext: true\n  Http2MaxConcurrentStreams: 8\n%s",
             (int)head, base, base + head);
    fz_worker_init(text);
    return 0;
}

static void check_frames(const char *p, size_t n, bool complete)
{
    /* Our first frame is SETTINGS on stream 0. */
    if (n >= 9 && ((uint8_t)p[3] != 4 || (p[5] | p[6] | p[7] | p[8]) != 0))
        FZ_FAIL("first frame is not SETTINGS (type %u)", (uint8_t)p[3]);
    size_t off = 0;
    while (off + 9 <= n) {
        size_t len = ((size_t)(uint8_t)p[off] << 16) | ((size_t)(uint8_t)p[off + 1] << 8) |
                     (uint8_t)p[off + 2];
        if (len > 16384)
            FZ_FAIL("frame of %zu bytes exceeds the default SETTINGS_MAX_FRAME_SIZE", len);
        if ((uint8_t)p[off + 3] > 9)
            FZ_FAIL("unknown frame type %u sent", (uint8_t)p[off + 3]);
        off += 9 + len;
    }
    (void)complete;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 65536)
        return -1;
    flavor = data[1];
    static uint8_t buf[65536 + 32];
    memcpy(buf, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
    memcpy(buf + 24, data + 2, size - 2);
    fz_run r;
    fz_run_input(&r, &be, buf, size - 2 + 24, data[0]);
    if (r.resp_len)
        check_frames(r.resp, r.resp_len, r.resp_len == r.resp_total);
    return 0;
}
