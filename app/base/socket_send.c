/* Non-blocking send for the sender threads: plain TCP (ws_connection.c) and
 * the TLS send queue (tls_send_queue.c) both write through it. */
#include "socket_send.h"

#include <errno.h>
#include <sys/socket.h>

long socket_send_now(int fd, const void *data, size_t len)
{
	for (;;) {
		ssize_t n = send(fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n >= 0)
			return (long)n;
		if (errno == EINTR)
			continue;
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
	}
}
