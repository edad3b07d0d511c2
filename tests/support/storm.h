/* The storm of the relay tests: every client sends its messages while it
 * reads, until it has every client's every message (its own too: echo on),
 * each exactly once and each sender's in the order sent. */
#ifndef WSRELAY_TESTS_STORM_H
#define WSRELAY_TESTS_STORM_H

#include "ws_raw.h"

#define STORM_MAX_CLIENTS 32

struct storm_client {
	struct ws_raw ws; /* connected by the caller */
	int id;
	int clients;  /* in the storm */
	int messages; /* each sends */
	int received;
	int next_seq[STORM_MAX_CLIENTS]; /* per sender: the next number expected */
	char error[200];
};

/* Runs the storm on clients[0 .. count) (count up to STORM_MAX_CLIENTS, each
 * ws connected): a thread each, started together, each sending `messages`
 * "<id>:<n>" texts. Returns -1 when every client got everything, else the
 * index of the first that did not, whose error says why. A client waits at
 * most 20 s for its next message once it has sent all of its own. */
int storm_run(struct storm_client *clients, int count, int messages);

#endif
