#ifndef SY_HTTP_REQUEST_H
#define SY_HTTP_REQUEST_H

#include <llhttp.h>

#include "http/conn.h"

/* Fill the llhttp callbacks for client requests (strict mode). */
void sy_request_settings(llhttp_settings_t *s);

/* Whether r's Upgrade fields offer the protocol proto, or any protocol
 * when proto is empty.  h2c is never offered: HTTP/2 over cleartext is
 * prior knowledge only (RFC 9113 §3.1 dropped the upgrade), and a backend
 * that switched to it would speak HTTP/2 the gateway never parsed. */
bool sy_request_upgrade_offers(const sy_request *r, sy_str proto);

#endif
