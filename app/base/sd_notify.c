/* sd_notify(3)'s protocol: each message is one datagram of NEWLINE-separated
 * VAR=VALUE assignments, sent to the AF_UNIX datagram socket whose address is
 * in $NOTIFY_SOCKET; a leading '@' there means the Linux abstract namespace
 * (the '@' becomes a NUL byte). systemd reads it and takes READY=1 as the end
 * of start-up and STOPPING=1 as the start of the stop. Nothing is answered. */
#include "sd_notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

const char *sd_notify_socket(void)
{
	/* Read before any thread exists (see the header). */
	// NOLINTNEXTLINE(concurrency-mt-unsafe)
	const char *path = getenv("NOTIFY_SOCKET");
	return path && path[0] ? path : NULL;
}

int sd_notify_send(const char *path, const char *state, char *err, size_t errlen)
{
	if (!path)
		return 0;
	size_t len = strlen(path);
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if ((path[0] != '/' && path[0] != '@') || len < 2 || len >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "NOTIFY_SOCKET=%s is not an AF_UNIX socket path", path);
		return -1;
	}
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	/* An abstract address is exactly its bytes; a path one may count its
	 * NUL. */
	socklen_t salen =
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/' ? 1 : 0));

	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		char why[128];
		snprintf(err, errlen, "sd_notify: socket: %s", strerror_r(errno, why, sizeof(why)));
		return -1;
	}
	size_t want = strlen(state);
	ssize_t n = sendto(fd, state, want, MSG_NOSIGNAL, (const struct sockaddr *)&sa, salen);
	int saved = errno;
	close(fd);
	if (n != (ssize_t)want) {
		char why[128];
		snprintf(err, errlen, "sd_notify: cannot send %s to %s: %s", state, path,
		         n < 0 ? strerror_r(saved, why, sizeof(why)) : "short write");
		return -1;
	}
	return 0;
}
