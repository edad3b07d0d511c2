/* The write side of a TLS WebSocket connection: an OpenSSL BIO that never
 * makes SSL_write wait or retry. Encrypted bytes the socket does not take
 * at once wait in a queue, which the client's sender flushes when the
 * socket has room (delivery.c). All of it runs under the connection lock. */
#ifndef WSRELAY_TLS_SEND_QUEUE_H
#define WSRELAY_TLS_SEND_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

struct tls_send_queue;

/* Makes the queue ssl's write BIO, writing to fd; the reads stay on the
 * socket. The BIO owns the queue: it is freed with the SSL object, after
 * the connection's close handler. Returns NULL on allocation failure. */
struct tls_send_queue *tls_send_queue_install(void *ssl, int fd);

/* Called, under the connection lock, when a write leaves bytes queued, so
 * that somebody flushes them later; NULL (before the waker goes away)
 * stops the calls. */
void tls_send_queue_set_waker(struct tls_send_queue *q, void (*wake)(void *arg), void *arg);

/* Whether bytes are queued; from any thread, without the connection lock
 * (a stale answer is followed by a waker call or by the writer's own
 * check). */
bool tls_send_queue_pending(const struct tls_send_queue *q);

/* Between cork and uncork, under the connection lock, the records SSL_write
 * makes are gathered and sent up to 64 KiB at a time instead of one send()
 * each; uncork sends the rest and returns as tls_send_queue_flush does.
 * For a write of more than one record (over 16 KiB of plaintext). */
void tls_send_queue_cork(struct tls_send_queue *q);
int tls_send_queue_uncork(struct tls_send_queue *q);

/* Sends what the socket takes now. Returns 1 when the queue is empty, 0 when
 * bytes are left (the socket is full), -1 when the socket failed. */
int tls_send_queue_flush(struct tls_send_queue *q);

#endif
