#include "router/reqview.h"

bool sy_req_header(const sy_req_view *rv, sy_str name, sy_str *out)
{
    for (size_t i = 0; i < rv->n_headers; i++) {
        if (sy_str_ieq(rv->headers[i].name, name)) {
            *out = rv->headers[i].value;
            return true;
        }
    }
    return false;
}
