/* Answers the gateway writes itself: errors (a short JSON body naming the
 * reason and the request id) and MOCK backends. */
#include <stdio.h>
#include <string.h>

#include "http/conn.h"
#include "http/worker.h"

const char *sy_status_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 417:
        return "Expectation Failed";
    case 421:
        return "Misdirected Request";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return status < 200   ? "Informational"
               : status < 300 ? "Success"
               : status < 400 ? "Redirection"
               : status < 500 ? "Client Error"
                              : "Server Error";
    }
}

/* Statuses after which the request framing can't be trusted any more (or
 * the client is misbehaving): answer and close. */
static bool closes_connection(int status)
{
    return status == 400 || status == 408 || status == 413 || status == 414 || status == 417 ||
           status == 431 || status == 501;
}

static void json_escape(sy_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            char e[2] = {'\\', (char)ch};
            sy_buf_append(b, e, 2);
        } else if (ch < 0x20) {
            char e[8];
            snprintf(e, sizeof(e), "\\u%04x", ch);
            sy_buf_append_str(b, e);
        } else {
            sy_buf_append(b, s, 1);
        }
    }
}

static void write_local_ex(sy_client *c, int status, const char *ctype, const char *body,
                           size_t blen, const char *extra, size_t extra_len)
{
    sy_request *r = c->req;
    char head[512];
    bool no_body = r && r->head_done && sy_str_eq_c(r->method, "HEAD");
    int n;
    if (status == 204 || status == 304) {
        /* RFC 9112 §6.3: these end at their head.  Neither a body nor a
         * Content-Length (which a client could take as a body's) is
         * written: the next bytes on the connection are the next answer. */
        n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nX-Api-RequestId: %s\r\n%s", status,
                     sy_status_reason(status), r ? r->request_id : "-",
                     c->close_after ? "Connection: close\r\n" : "");
        no_body = true;
    } else {
        n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "X-Api-RequestId: %s\r\n%s",
                     status, sy_status_reason(status), ctype, blen, r ? r->request_id : "-",
                     c->close_after ? "Connection: close\r\n" : "");
    }
    if (r)
        r->resp_at = c->out_sent + sy_buf_pending(&c->out); /* see take_back_response */
    sy_buf_append(&c->out, head, (size_t)n);
    if (extra_len)
        sy_buf_append(&c->out, extra, extra_len);
    sy_buf_append(&c->out, "\r\n", 2);
    if (!no_body)
        sy_buf_append(&c->out, body, blen);
    if (r) {
        r->status = status;
        r->resp_started = true;
        r->local = true;
        if (!r->resp_done) {
            r->resp_done = true;
            if (r->head_done)
                sy_access_log(c);
        }
    }
    if (!c->in_parser)
        sy_client_flush(c);
}

static void write_local(sy_client *c, int status, const char *ctype, const char *body, size_t blen)
{
    write_local_ex(c, status, ctype, body, blen, NULL, 0);
}

void sy_respond_error(sy_client *c, int status, const char *word, const char *msg)
{
    sy_request *r = c->req;
    if (r && r->resp_started) {
        /* Mid-response: the only honest signal left is closing. */
        sy_client_close(c);
        return;
    }
    if (closes_connection(status) || !r || !r->head_done) {
        c->close_after = true;
        sy_client_set_state(c, SY_CS_CLOSING);
    }
    sy_buf body = {0};
    sy_buf_append_str(&body, "{\"error\":\"");
    json_escape(&body, word);
    sy_buf_append_str(&body, "\",\"message\":\"");
    json_escape(&body, msg);
    char tail[96];
    snprintf(tail, sizeof(tail), "\",\"status\":%d,\"request_id\":\"%s\"}\n", status,
             r ? r->request_id : "-");
    sy_buf_append_str(&body, tail);
    if (r)
        r->error_word = word;
    write_local(c, status, "application/json", body.data + body.off, sy_buf_pending(&body));
    sy_buf_free(&body);
}

void sy_respond_mock(sy_client *c, const sy_backend_cfg *b)
{
    const char *msg = b->mock_body ? b->mock_body : "";
    size_t len = strlen(msg);
    /* Tencent's mock has no content type; JSON-looking bodies get JSON. */
    const char *ctype =
        len && (msg[0] == '{' || msg[0] == '[') ? "application/json" : "text/plain; charset=utf-8";
    write_local(c, b->mock_status ? b->mock_status : 200, ctype, msg, len);
}

void sy_respond_redirect(sy_client *c, int status, sy_str host, unsigned port, sy_str path,
                         sy_str query)
{
    sy_buf loc = {0};
    sy_buf_append_str(&loc, "Location: https://");
    bool v6 = host.len && memchr(host.p, ':', host.len);
    if (v6)
        sy_buf_append(&loc, "[", 1);
    sy_buf_append(&loc, host.p, host.len);
    if (v6)
        sy_buf_append(&loc, "]", 1);
    if (port != 443) {
        char p[16];
        int n = snprintf(p, sizeof(p), ":%u", port);
        sy_buf_append(&loc, p, (size_t)n);
    }
    sy_buf_append(&loc, path.p, path.len);
    if (query.p) {
        sy_buf_append(&loc, "?", 1);
        sy_buf_append(&loc, query.p, query.len);
    }
    sy_buf_append(&loc, "\r\n", 2);
    static const char body[] =
        "{\"error\":\"moved_permanently\",\"message\":\"this domain is served over HTTPS\"}\n";
    if (c->req)
        c->req->error_word = "forced_https";
    write_local_ex(c, status, "application/json", body, sizeof(body) - 1, loc.data + loc.off,
                   sy_buf_pending(&loc));
    sy_buf_free(&loc);
}
