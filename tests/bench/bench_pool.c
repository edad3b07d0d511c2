/* Level-triggered epoll over every connection. Stalled subscribers are
 * registered without EPOLLIN, so their data piles up in the kernel until the
 * server gives up on them, which is what they are there to test. */
#include "bench_pool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "bench_tls.h"

uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint32_t wanted_events(const struct bench_conn *c)
{
	uint32_t ev = EPOLLRDHUP;
	if (c->role != ROLE_STALLED || c->state == CONN_HANDSHAKE)
		ev |= EPOLLIN;
	if (c->write_wanted)
		ev |= EPOLLOUT;
	return ev;
}

void pool_update_events(struct bench_pool *pool, struct bench_conn *c)
{
	struct epoll_event ev = {.events = wanted_events(c), .data.u64 = c - pool->conns};
	(void)epoll_ctl(pool->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void conn_ended(struct bench_pool *pool, struct bench_conn *c, enum conn_state before)
{
	if (c->fd >= 0)
		(void)epoll_ctl(pool->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	if (before == CONN_OPEN) {
		pool->lost++;
		pool->open_count--;
	} else if (before == CONN_HANDSHAKE) {
		pool->failed++;
		c->failed_to_open = true;
	}
	c->state = CONN_CLOSED;
	/* The socket stays open: a stalled client's end is read from it later. */
}

int pool_init(struct bench_pool *pool, const struct bench_options *opts, size_t count,
              conn_message_fn on_message, void *ctx)
{
	memset(pool, 0, sizeof(*pool));
	pool->epfd = -1;
	pool->addr.sin_family = AF_INET;
	pool->addr.sin_port = htons(opts->port);
	if (inet_pton(AF_INET, opts->host, &pool->addr.sin_addr) != 1) {
		fprintf(stderr, "wsrelay-bench: bad --host\n");
		return -1;
	}
	snprintf(pool->host_header, sizeof(pool->host_header), "%s:%u", opts->host,
	         (unsigned)opts->port);
	pool->path = opts->path;
	pool->rooms = opts->rooms;
	pool->on_message = on_message;
	pool->ctx = ctx;
	pool->count = count;
	if (opts->tls && !(pool->tls = bench_tls_context(opts->ca_file[0] ? opts->ca_file : NULL,
	                                                 opts->insecure)))
		return -1;
	pool->conns = calloc(count ? count : 1, sizeof(*pool->conns));
	pool->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!pool->conns || pool->epfd < 0) {
		fprintf(stderr, "wsrelay-bench: out of memory\n");
		return -1;
	}
	for (size_t i = 0; i < count; i++)
		pool->conns[i].fd = -1;
	return 0;
}

void pool_flush(struct bench_pool *pool, struct bench_conn *c)
{
	if (c->state == CONN_CLOSED)
		return;
	int rc = conn_flush(c);
	if (rc < 0) {
		enum conn_state before = c->state;
		c->failed = true;
		conn_ended(pool, c, before);
		return;
	}
	bool want = rc > 0;
	if (want != c->write_wanted) {
		c->write_wanted = want;
		pool_update_events(pool, c);
	}
}

static void handle_event(struct bench_pool *pool, struct bench_conn *c, uint32_t events)
{
	if (c->state == CONN_CLOSED)
		return;
	enum conn_state before = c->state;
	if (c->role == ROLE_STALLED && before == CONN_OPEN) {
		/* Never read: only the end of the connection is news. */
		if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			conn_ended(pool, c, before);
		return;
	}
	if (events & EPOLLOUT)
		pool_flush(pool, c);
	if (c->state != CONN_CLOSED && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
		int rc = conn_read(c, pool->on_message, pool->ctx);
		if (rc < 0) {
			conn_ended(pool, c, before);
			return;
		}
		if (before == CONN_HANDSHAKE && c->state == CONN_OPEN) {
			pool->open_count++;
			if (c->role == ROLE_STALLED)
				pool_update_events(pool, c);
		}
		/* Pongs and close replies queued by the read. */
		if (conn_pending(c) > 0)
			pool_flush(pool, c);
	}
}

void pool_poll(struct bench_pool *pool, int timeout_ms)
{
	struct epoll_event events[256];
	int n = epoll_wait(pool->epfd, events, 256, timeout_ms);
	for (int i = 0; i < n; i++)
		handle_event(pool, &pool->conns[events[i].data.u64], events[i].events);
}

static bool start_one(struct bench_pool *pool, struct bench_conn *c)
{
	char path[300];
	if (pool->rooms)
		snprintf(path, sizeof(path), "%s/r%u", pool->path, c->room);
	else
		snprintf(path, sizeof(path), "%s", pool->path);
	if (conn_open(c, &pool->addr, pool->host_header, path, pool->tls) != 0) {
		c->failed = c->failed_to_open = true;
		c->state = CONN_CLOSED;
		pool->failed++;
		return false;
	}
	c->write_wanted = true; /* the request goes out once connected */
	struct epoll_event ev = {.events = wanted_events(c), .data.u64 = c - pool->conns};
	if (epoll_ctl(pool->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
		c->failed = c->failed_to_open = true;
		c->state = CONN_CLOSED;
		pool->failed++;
		return false;
	}
	return true;
}

size_t pool_connect(struct bench_pool *pool, double connect_rate, double timeout_s)
{
	uint64_t start = bench_now_ns();
	uint64_t deadline = start + (uint64_t)(timeout_s * 1e9);
	size_t started = 0;
	bool reported_fd_limit = false;
	for (;;) {
		uint64_t now = bench_now_ns();
		/* Pace the connects: a burst of thousands overflows the server's
		 * listen backlog and turns into SYN retries a second later. */
		size_t allowed = pool->count;
		if (connect_rate > 0) {
			double due = (double)(now - start) / 1e9 * connect_rate + 1.0;
			allowed = due < (double)pool->count ? (size_t)due : pool->count;
		}
		while (started < allowed) {
			struct bench_conn *c = &pool->conns[started++];
			if (!start_one(pool, c) && errno == EMFILE && !reported_fd_limit) {
				fprintf(stderr,
				        "wsrelay-bench: out of file descriptors (ulimit -n)\n");
				reported_fd_limit = true;
			}
		}
		if (started == pool->count &&
		    pool->open_count + pool->failed + pool->lost >= pool->count)
			break;
		if (now >= deadline)
			break;
		pool_poll(pool, 5);
	}
	return pool->open_count;
}

void pool_free(struct bench_pool *pool)
{
	for (size_t i = 0; pool->conns && i < pool->count; i++)
		conn_free(&pool->conns[i]);
	free(pool->conns);
	if (pool->epfd >= 0)
		close(pool->epfd);
	pool->epfd = -1;
	pool->conns = NULL;
	SSL_CTX_free(pool->tls);
	pool->tls = NULL;
}
