/* One client WebSocket of wsrelay-bench over a non-blocking TCP socket, or
 * TLS on it (wss://): the opening handshake, masked frames out, frames in (fragmented or large),
 * pings answered, the close handshake. */
#ifndef WSRELAY_BENCH_CONN_H
#define WSRELAY_BENCH_CONN_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum conn_role { ROLE_SUBSCRIBER, ROLE_PUBLISHER, ROLE_STALLED, ROLE_IDLE };
enum conn_state { CONN_UNUSED, CONN_HANDSHAKE, CONN_OPEN, CONN_CLOSED };

struct ssl_st;
struct ssl_ctx_st;

struct bench_conn {
	int fd;
	struct ssl_st *ssl; /* wss:// only */
	unsigned index;     /* publishers: the number carried in their payloads */
	unsigned room;      /* with --rooms: the room it joins */
	enum conn_role role;
	enum conn_state state;
	bool failed;         /* refused, reset or broke the protocol */
	bool failed_to_open; /* ended before its handshake completed */
	bool close_received; /* the server sent a close frame */
	uint16_t close_code;
	char accept[32]; /* the Sec-WebSocket-Accept the server must answer */
	uint8_t *in;
	size_t in_len;
	size_t in_cap;
	uint8_t *out;
	size_t out_off;
	size_t out_len;
	size_t out_cap;
	uint8_t *message; /* a fragmented message being put together */
	size_t message_len;
	size_t message_cap;
	bool in_message;
	bool write_wanted; /* registered for EPOLLOUT */
	uint64_t sent;     /* publishers: messages sent */
	uint64_t returned; /* publishers: own messages relayed back */
};

/* Called for each whole data message; payload is valid during the call. */
typedef void (*conn_message_fn)(void *ctx, struct bench_conn *c, const uint8_t *payload,
                                size_t len);

/* Opens the socket and starts a non-blocking connect, with the handshake
 * request already queued; with tls (not NULL), over TLS made from it, whose
 * handshake the first conn_flush starts. Returns 0 or -1 (errno set). */
int conn_open(struct bench_conn *c, const struct sockaddr_in *addr, const char *host_header,
              const char *path, struct ssl_ctx_st *tls);

/* Reads what the socket has, answering pings and closes, and calls fn for
 * every data message. Returns 0 while the connection lives, -1 when it has
 * ended (c->state is CONN_CLOSED then). */
int conn_read(struct bench_conn *c, conn_message_fn fn, void *ctx);

/* Writes what is queued. Returns 0 when everything went out (or, on TLS,
 * when the rest waits for the peer's handshake messages: the next read's
 * caller flushes again), 1 when the socket is full (wait for EPOLLOUT), -1
 * when the connection broke. */
int conn_flush(struct bench_conn *c);

/* Queues one masked frame (FIN set). The payload is copied. Returns 0 or -1
 * (out of memory). */
int conn_queue_frame(struct bench_conn *c, uint8_t opcode, const uint8_t *payload, size_t len);

/* Bytes queued but not yet written. */
size_t conn_pending(const struct bench_conn *c);

/* Closes the socket and frees the buffers. */
void conn_free(struct bench_conn *c);

#endif
