#include "readiness.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

void readiness_notify_ready(void)
{
	/* Read once, on the main thread, before anything else reads the
	 * environment. */
	// NOLINTNEXTLINE(concurrency-mt-unsafe)
	const char *name = getenv("NOTIFY_SOCKET");
	if (!name || !name[0])
		return;
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	size_t len = strlen(name);
	if (len >= sizeof(addr.sun_path) || (name[0] != '/' && name[0] != '@')) {
		log_warn("NOTIFY_SOCKET %s is not a socket path: readiness not reported", name);
		return;
	}
	memcpy(addr.sun_path, name, len);
	if (name[0] == '@')
		addr.sun_path[0] = '\0'; /* an abstract socket */
	socklen_t addr_len =
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (name[0] == '@' ? 0 : 1));
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	static const char ready[] = "READY=1";
	if (fd < 0 || sendto(fd, ready, sizeof(ready) - 1, MSG_NOSIGNAL,
	                     (const struct sockaddr *)&addr, addr_len) < 0)
		log_warn("cannot report readiness to NOTIFY_SOCKET %s", name);
	if (fd >= 0)
		close(fd);
}
