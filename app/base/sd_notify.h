/* Readiness for systemd (Type=notify): the sd_notify(3) datagram protocol,
 * spoken directly rather than through libsystemd. */
#ifndef WSRELAY_SD_NOTIFY_H
#define WSRELAY_SD_NOTIFY_H

#include <stddef.h>

/* The socket systemd named in $NOTIFY_SOCKET, read once (thread: main, before
 * any other thread exists, since it reads the environment). NULL when the
 * variable is unset or empty: then nothing is ever sent. The pointer stays
 * valid for the life of the process. */
const char *sd_notify_socket(void);

/* Sends state (e.g. "READY=1", "STOPPING=1") as one datagram to the AF_UNIX
 * socket at path: a file path, or "@name" for an abstract socket. Returns 0
 * when sent (or path is NULL), else -1 with a one-line reason in err.
 * Thread: any; it touches no shared state. */
int sd_notify_send(const char *path, const char *state, char *err, size_t errlen);

#endif
