#ifndef SY_HTTP_REQUEST_H
#define SY_HTTP_REQUEST_H

#include <llhttp.h>

#include "http/conn.h"

/* Fill the llhttp callbacks for client requests (strict mode). */
void sy_request_settings(llhttp_settings_t *s);

#endif
