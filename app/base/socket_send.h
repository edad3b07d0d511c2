/* The one way relayed bytes reach a socket: a send that never waits. */
#ifndef WSRELAY_SOCKET_SEND_H
#define WSRELAY_SOCKET_SEND_H

#include <stddef.h>

/* Sends what the socket takes now from data. Returns the bytes sent (0 when
 * the socket is full), or -1 when it failed (the peer is gone). Never
 * raises SIGPIPE. */
long socket_send_now(int fd, const void *data, size_t len);

#endif
