/* Start-up check that the process may create the threads and descriptors
 * that CivetWeb will need at its maximum: it spends one thread and one
 * descriptor per WebSocket client for the whole connection, and starts
 * those threads as clients come (patch 0013), when a failure could only be
 * logged. */
#ifndef WSRELAY_RESOURCE_LIMITS_H
#define WSRELAY_RESOURCE_LIMITS_H

#include <stddef.h>

/* Checks room for `threads` more threads and `fds` descriptors, raising the
 * soft RLIMIT_NOFILE when the hard limit allows. Returns 0, or -1 with a
 * one-line explanation in err. */
int resource_limits_check(unsigned long threads, unsigned long fds, char *err, size_t errlen);

#endif
