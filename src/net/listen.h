#ifndef SY_NET_LISTEN_H
#define SY_NET_LISTEN_H

#include "config/model.h"

/* Non-blocking listening socket with SO_REUSEADDR and SO_REUSEPORT, so
 * every worker binds its own socket to the same address.  Returns the fd
 * or -1 with errno set. */
int sy_listen_socket(const sy_endpoint *ep, int backlog);


#endif
