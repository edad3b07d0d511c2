/* A minimal wss:// endpoint for the client's TLS tests, until the relay
 * itself speaks TLS: it completes the TLS and WebSocket handshakes, echoes
 * every short message and answers the close frame. One connection at a
 * time, on its own thread, on a free 127.0.0.1 port. */
#ifndef WSRELAY_TESTS_TLS_STUB_H
#define WSRELAY_TESTS_TLS_STUB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct tls_stub {
	int listen_fd;
	uint16_t port;
	void *ssl_ctx; /* SSL_CTX */
	pthread_t thread;
	atomic_bool stop;
	atomic_int tls_handshakes; /* completed TLS handshakes */
};

/* Writes a fresh self-signed P-256 certificate for common name cn, usable
 * as its own CA, and its key, as PEM files. Returns 0 or -1. */
int tls_stub_make_cert(const char *cert_path, const char *key_path, const char *cn);

/* Starts serving with that certificate. Returns 0 or -1. */
int tls_stub_start(struct tls_stub *s, const char *cert_path, const char *key_path);

void tls_stub_stop(struct tls_stub *s);

#endif
