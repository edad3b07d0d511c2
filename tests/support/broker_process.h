/* The real brokers for the cluster tests: Debian's redis-server and
 * nats-server, started on a loopback port chosen at run time, stopped and
 * started again on the same port, and a raw publish for messages no relay
 * node would send (malformed envelopes). */
#ifndef WSRELAY_TESTS_BROKER_PROCESS_H
#define WSRELAY_TESTS_BROKER_PROCESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "relay_process.h"

enum test_broker { TEST_BROKER_REDIS, TEST_BROKER_NATS };

struct broker_process {
	enum test_broker kind;
	pid_t pid; /* -1 while not running */
	uint16_t port;
	char dir[64]; /* a mkdtemp folder; holds the broker's log */
	char log_path[PATH_MAX];
	/* Set before broker_start for a broker configured beyond the defaults:
	 * written to a file in dir and given to the broker (redis-server's
	 * config file, nats-server -c); port and address stay on the command
	 * line. "" for none. */
	char config_text[4096];
};

/* "redis" or "nats" into *kind; -1 for anything else. */
int broker_kind_from_name(const char *name, enum test_broker *kind);
const char *broker_kind_name(enum test_broker kind);

/* Prepares bp with a free port and a temporary folder, without starting. */
int broker_init(struct broker_process *bp, enum test_broker kind);

/* Starts the broker on bp->port and waits until it accepts connections.
 * Returns 0, or -1 after printing the broker's log. */
int broker_start(struct broker_process *bp);

/* Stops a running broker with SIGTERM (SIGKILL after 10 s). Returns 0 once
 * it is gone. */
int broker_stop(struct broker_process *bp);

/* Stops it if running and removes the folder. */
void broker_cleanup(struct broker_process *bp);

/* "redis://127.0.0.1:PORT" or "nats://127.0.0.1:PORT". */
void broker_url(const struct broker_process *bp, char *out, size_t cap);

/* Publishes data on channel with the broker's own protocol, on a fresh
 * connection, and waits for the broker to confirm it. Returns 0 or -1. */
int broker_publish_raw(const struct broker_process *bp, const char *channel, const void *data,
                       size_t len);

#endif
