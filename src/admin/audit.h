/* The admin audit log (Gateway.AuditLog): one JSON line per admin write. */
#ifndef SY_ADMIN_AUDIT_H
#define SY_ADMIN_AUDIT_H

#include <stdint.h>

#include "admin/admin_int.h"

/* At start: `path` from the configuration ("-" = standard error, NULL =
 * off).  0, or -1 with errno when the file cannot be opened. */
int sy_audit_open(const char *path);
/* SIGUSR1: open the file again (logrotate moved it); the descriptor
 * number stays, so a line being written is never lost. */
void sy_audit_reopen(void);

/* One write request that reached the handlers (POST, PUT, PATCH, DELETE;
 * not explain): who (which token), from where, what, its status, and the
 * configuration Version before and after. */
void sy_audit_write(const sy_admin_req *rq, const char *client, int status, uint64_t before,
                    uint64_t after);

#endif
