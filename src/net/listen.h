#ifndef SY_NET_LISTEN_H
#define SY_NET_LISTEN_H

#include "config/model.h"

/* Non-blocking listening socket with SO_REUSEADDR but not SO_REUSEPORT:
 * the main thread binds one per address and the workers share it, and no
 * other process can bind the same address while it is open.  Returns the
 * fd or -1 with errno set. */
int sy_listen_socket(const sy_endpoint *ep, int backlog);

#endif
