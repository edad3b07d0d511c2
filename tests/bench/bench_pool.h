/* wsrelay-bench's connections and the one epoll loop that drives them. */
#ifndef WSRELAY_BENCH_POOL_H
#define WSRELAY_BENCH_POOL_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "bench_conn.h"
#include "bench_options.h"

struct bench_pool {
	int epfd;
	struct sockaddr_in addr;
	char host_header[80];
	const char *path;
	unsigned rooms;         /* 0: every connection at path; else path/r<room> */
	struct ssl_ctx_st *tls; /* wss://: every connection's context; else NULL */
	struct bench_conn *conns;
	size_t count;
	size_t open_count; /* handshakes completed */
	size_t failed;     /* connections that never opened */
	size_t lost;       /* connections that ended after opening */
	conn_message_fn on_message;
	void *ctx;
};

/* Lays out count connections (and, with opts->tls, makes the TLS context);
 * roles are set by the caller before pool_connect. Returns 0 or -1 (the
 * reason printed to stderr). */
int pool_init(struct bench_pool *pool, const struct bench_options *opts, size_t count,
              conn_message_fn on_message, void *ctx);

/* Opens every connection at opts->connect_rate and waits for the
 * handshakes, up to timeout_s. Returns how many are open. */
size_t pool_connect(struct bench_pool *pool, double connect_rate, double timeout_s);

/* Waits up to timeout_ms for socket events and handles them. */
void pool_poll(struct bench_pool *pool, int timeout_ms);

/* Writes what c has queued, registering for EPOLLOUT while the socket is
 * full. */
void pool_flush(struct bench_pool *pool, struct bench_conn *c);

/* Registers c again for the events its role and state call for (after a
 * change of role). */
void pool_update_events(struct bench_pool *pool, struct bench_conn *c);

void pool_free(struct bench_pool *pool);

/* CLOCK_MONOTONIC in ns: the clock of the payloads' timestamps. */
uint64_t bench_now_ns(void);

#endif
