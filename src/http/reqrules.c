#include "http/reqrules.h"

/* Fields that routing, auth or the backend read as one value: a second
 * copy means two readers may each pick a different one. */
static const char *const singletons[] = {"Authorization", "Content-Type"};
#define N_SINGLETONS (sizeof singletons / sizeof singletons[0])

int sy_reqhead_check(const llhttp_t *p, const sy_head *head, sy_str target, sy_reqhead_facts *facts,
                     const char **why)
{
    facts->chunked = false;
    facts->host = SY_STR_NULL;
    if (p->http_major != 1) {
        *why = "unsupported HTTP version";
        return 400;
    }
    if (p->method == HTTP_CONNECT) {
        *why = "CONNECT is not supported";
        return 405;
    }
    if (target.len == 1 && target.p[0] == '*') {
        *why = "asterisk-form request-target is not routable";
        return 400;
    }
    /* One pass over the fields (at most MaxHeaders of them). */
    size_t n_host = 0, n_te = 0, n_single[N_SINGLETONS] = {0};
    bool te_other = false;
    for (size_t i = 0; i < head->n; i++) {
        const sy_header *h = &head->fields[i];
        if (sy_str_ieq_c(h->name, "Host")) {
            n_host++;
            facts->host = h->value;
        } else if (sy_str_ieq_c(h->name, "Transfer-Encoding")) {
            n_te++;
            /* Only exactly "chunked" (llhttp already insists chunked is
             * last). */
            te_other |= !sy_str_ieq_c(h->value, "chunked");
        } else {
            for (size_t k = 0; k < N_SINGLETONS; k++)
                n_single[k] += sy_str_ieq_c(h->name, singletons[k]);
        }
    }
    if (n_host > 1) {
        *why = "more than one Host header";
        return 400;
    }
    if (n_host == 0 && p->http_minor == 1) {
        *why = "missing Host header";
        return 400;
    }
    for (size_t k = 0; k < N_SINGLETONS; k++)
        if (n_single[k] > 1) {
            *why = "a header that must appear once is repeated";
            return 400;
        }
    if (n_te) {
        if (p->http_minor == 0) {
            *why = "Transfer-Encoding in an HTTP/1.0 request";
            return 400;
        }
        if (te_other) {
            *why = "unsupported transfer coding";
            return 501;
        }
        if (n_te != 1) {
            *why = "repeated Transfer-Encoding";
            return 400;
        }
        facts->chunked = true;
    }
    return 0;
}
