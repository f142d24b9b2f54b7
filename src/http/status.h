/* The reason phrase of a status code, one table for every listener (the
 * proxy's own answers and the admin API). */
#ifndef SY_HTTP_STATUS_H
#define SY_HTTP_STATUS_H

const char *sy_status_reason(int status);

#endif
