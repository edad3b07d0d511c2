/* Start-up check that the process may create the threads and descriptors
 * that CivetWeb will need: it spends one thread and one descriptor per
 * WebSocket client for the whole connection, and carries on silently with
 * fewer workers when thread creation fails. */
#ifndef WSRELAY_RESOURCE_LIMITS_H
#define WSRELAY_RESOURCE_LIMITS_H

#include <stddef.h>

/* Checks room for `threads` more threads and `fds` descriptors, raising the
 * soft RLIMIT_NOFILE when the hard limit allows. Returns 0, or -1 with a
 * one-line explanation in err. */
int resource_limits_check(unsigned long threads, unsigned long fds, char *err, size_t errlen);

/* Threads of this process now (from /proc/self/status), or -1. CivetWeb
 * carries on with fewer workers when it cannot start them all, so the server
 * counts them after start-up. */
long resource_threads_running(void);

#endif
