#ifndef SY_HTTP_RESPONSE_H
#define SY_HTTP_RESPONSE_H

#include <llhttp.h>

/* Fill the llhttp callbacks for backend responses (strict mode). */
void sy_response_settings(llhttp_settings_t *s);

#endif
