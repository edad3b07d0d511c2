/* A client that sends messages at a fixed rate from its own thread, for the
 * cluster tests and the cross-node latency benchmark. */
#ifndef WSRELAY_TESTS_PACED_SENDER_H
#define WSRELAY_TESTS_PACED_SENDER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "ws_raw.h"

/* Room for a message's head (paced_sender.head), NUL included. */
#define PACED_HEAD_CAP 24

struct paced_sender {
	struct ws_raw *ws; /* connected; only the sender's thread writes to it */
	long count;        /* messages to send */
	long rate;         /* a second, paced on the monotonic clock: a late
	                    * message does not push back the ones after it */
	size_t size;       /* bytes each (at least PACED_HEAD_CAP): 'x' after the head */
	/* Writes message i's head into head (PACED_HEAD_CAP bytes of room) and
	 * returns its length; called on the sender's thread. */
	int (*head)(char *head, long i);
	bool failed; /* a send failed: read after paced_sender_join */
	pthread_t thread;
};

/* Starts sending on a thread of its own. 0, or -1 when no thread. */
int paced_sender_start(struct paced_sender *p);

/* Waits until every message went out or a send failed; true for the first. */
bool paced_sender_join(struct paced_sender *p);

#endif
