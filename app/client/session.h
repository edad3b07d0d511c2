/* One WebSocket connection on CivetWeb's client API, shared between the
 * main thread (sends, waits) and CivetWeb's reader thread (callbacks).
 *
 * Every field the two threads share is guarded by the session mutex; the
 * reader thread wakes the main thread through a pipe, so the main thread
 * can wait for the connection, standard input and signals in one poll(). */
#ifndef WSRELAY_CLIENT_SESSION_H
#define WSRELAY_CLIENT_SESSION_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ws_url.h"

/* Messages beyond this are refused both ways: a sanity bound, far above any
 * relay's configured limit (wsrelay's default is 1 MiB). */
#define SESSION_MAX_MESSAGE ((size_t)64 * 1024 * 1024)

enum session_opcode { SESSION_TEXT = 1, SESSION_BINARY = 2 };

struct session_status {
	bool closed;         /* the reader thread has finished: no more messages */
	bool close_received; /* the server sent a close frame */
	uint16_t close_code; /* its status code, 0 when it carried none */
	char close_reason[124];
	unsigned long received; /* messages printed */
	bool echoed;            /* the awaited echo has arrived */
	int output_errno;       /* why printing failed, 0 if it never did */
	bool message_too_big;   /* the server sent more than SESSION_MAX_MESSAGE */
};

struct session_tls {
	const char *ca_file; /* NULL: no verification at all */
};

struct session {
	struct mg_connection *conn; /* main thread only */
	FILE *out;
	unsigned long print_limit; /* 0: print everything */
	int wake[2];               /* reader thread -> main thread */

	/* CivetWeb's frame masking draws from a process-wide random generator
	 * with no lock of its own, and both threads send frames (the reader
	 * answers pings and close frames). */
	pthread_mutex_t write_lock;

	pthread_mutex_t lock; /* guards the fields below */
	struct session_status status;
	bool close_sent;
	int expect_opcode;
	uint8_t *expect;
	size_t expect_len;

	/* A fragmented message being reassembled: reader thread only. */
	uint8_t *partial;
	size_t partial_len;
	int partial_opcode; /* 0 when no fragmented message is under way */
};

/* Prepares s: messages will be printed on out, at most print_limit of them
 * (0: no limit). Returns 0, or -1 with errno set. */
int session_init(struct session *s, FILE *out, unsigned long print_limit);

/* Connects and completes the opening handshake. tls is required for wss://
 * URLs; bearer (a token of client_token_valid's characters, or NULL) is
 * sent as "Authorization: Bearer". Returns 0, or -1 with a one-line reason
 * in err. */
int session_connect(struct session *s, const struct ws_url *url, const struct session_tls *tls,
                    const char *bearer, char *err, size_t errlen);

/* Makes the arrival of a message equal to data (same opcode and bytes) set
 * status.echoed. Call before sending it. Returns 0, or -1 when out of memory. */
int session_expect_echo(struct session *s, int opcode, const void *data, size_t len);

/* Sends one whole message. Returns 0, or -1 if it could not be written. */
int session_send(struct session *s, int opcode, const void *data, size_t len);

/* A descriptor that becomes readable whenever the status may have changed. */
int session_wake_fd(const struct session *s);

/* Consumes pending wake-ups and copies the status. */
void session_status(struct session *s, struct session_status *out);

/* Sends close 1000 (unless a close frame already went out) and waits up to
 * wait_ms for the server to end the connection. Returns true if it did. */
bool session_close(struct session *s, int wait_ms);

/* Stops the reader thread (at once after session_close returned true, within
 * CivetWeb's 2 s poll quantum otherwise) and frees everything. */
void session_destroy(struct session *s);

#endif
