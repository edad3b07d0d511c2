/* --churn: clients that join a room and leave it again at a steady rate, in
 * rooms of their own (churn-0 .. churn-99), beside a load run: does the
 * coming and going in other rooms slow the measured ones? A thread of its
 * own with plain blocking sockets, so the load run's epoll loop and its
 * timing are untouched by it. */
#include "bench_churn.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "bench_pool.h"

#define CHURN_ROOMS 100u

struct bench_churn {
	const struct bench_options *opts;
	pthread_t thread;
	atomic_bool stop;
	atomic_uint_fast64_t done;   /* joins answered 101, then left */
	atomic_uint_fast64_t failed; /* joins that got anything else */
};

/* One join and leave: the handshake, its 101, then a close of the socket
 * (the server sees the client go, as when a tab closes). */
static bool join_and_leave(const struct bench_options *o, unsigned room)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct timeval tv = {.tv_sec = 5};
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(o->port)};
	bool ok = inet_pton(AF_INET, o->host, &addr.sin_addr) == 1 &&
	          connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
	char buf[1024];
	if (ok) {
		int n = snprintf(
		    buf, sizeof(buf),
		    "GET %s/churn-%u HTTP/1.1\r\nHost: %s:%u\r\nUpgrade: websocket\r\n"
		    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		    "Sec-WebSocket-Version: 13\r\n\r\n",
		    o->path, room, o->host, (unsigned)o->port);
		ok = n > 0 && send(fd, buf, (size_t)n, MSG_NOSIGNAL) == n;
	}
	size_t got = 0;
	while (ok && got < sizeof(buf) - 1) {
		ssize_t n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (n <= 0) {
			ok = false;
			break;
		}
		got += (size_t)n;
		buf[got] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			break;
	}
	ok = ok && strncmp(buf, "HTTP/1.1 101", 12) == 0;
	close(fd);
	return ok;
}

static void *churn_main(void *arg)
{
	struct bench_churn *ch = arg;
	uint64_t interval = (uint64_t)(1e9 / ch->opts->churn);
	uint64_t next = bench_now_ns();
	for (unsigned k = 0; !atomic_load(&ch->stop); k++) {
		if (join_and_leave(ch->opts, k % CHURN_ROOMS))
			atomic_fetch_add(&ch->done, 1);
		else
			atomic_fetch_add(&ch->failed, 1);
		next += interval;
		uint64_t now = bench_now_ns();
		if (next > now) {
			struct timespec pause = {.tv_sec = (time_t)((next - now) / 1000000000u),
			                         .tv_nsec = (long)((next - now) % 1000000000u)};
			nanosleep(&pause, NULL);
		} else if (now - next > 1000000000u) {
			next = now; /* a second behind: do not burst to catch up */
		}
	}
	return NULL;
}

static struct bench_churn churn;

struct bench_churn *bench_churn_start(const struct bench_options *opts)
{
	if (opts->churn <= 0)
		return NULL;
	churn.opts = opts;
	atomic_store(&churn.stop, false);
	if (pthread_create(&churn.thread, NULL, churn_main, &churn) != 0) {
		fprintf(stderr, "wsrelay-bench: cannot start the churn thread\n");
		return NULL;
	}
	return &churn;
}

void bench_churn_stop(struct bench_churn *ch, uint64_t *done, uint64_t *failed)
{
	*done = *failed = 0;
	if (!ch)
		return;
	atomic_store(&ch->stop, true);
	pthread_join(ch->thread, NULL);
	*done = atomic_load(&ch->done);
	*failed = atomic_load(&ch->failed);
}
