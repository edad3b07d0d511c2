/* A client on its own thread that sends messages as fast as the relay takes
 * them (reading its echoes so it never stalls the relay), for tests that
 * need traffic going on while something else happens. */
#ifndef WSRELAY_TESTS_FLOODER_H
#define WSRELAY_TESTS_FLOODER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct flooder {
	uint16_t port;
	size_t message_size;
	unsigned pause_us;
	pthread_t thread;
	atomic_bool stop;
	atomic_int sent;
	atomic_bool connected;
};

/* Connects and starts sending message_size-byte text messages, pausing
 * pause_us between them (0: as fast as the relay takes them; faster than
 * readers on the same machine can keep up with, which makes them slow
 * consumers). Returns 0 once connected, -1 if the handshake failed. fl must
 * stay valid until flooder_stop. */
int flooder_start(struct flooder *fl, uint16_t port, size_t message_size, unsigned pause_us);

/* Waits up to timeout_ms until at least count messages were sent; returns
 * how many were. */
int flooder_wait_sent(struct flooder *fl, int count, int timeout_ms);

/* Stops sending, closes and joins. Returns how many messages were sent. */
int flooder_stop(struct flooder *fl);

#endif
