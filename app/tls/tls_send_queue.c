/* An OpenSSL BIO in front of a non-blocking socket that always accepts the
 * whole write.
 *
 * OpenSSL's socket BIO answers a full socket with "retry", and SSL_write
 * must then be called again with the same data before anything else is
 * written on that SSL object, CivetWeb's own pongs and close frames
 * included. With several threads writing to one connection that rule cannot
 * be kept. Here SSL_write always completes: the records it made go to the
 * socket as far as it takes them and the rest waits in this queue, in
 * order, until a flush. The queue is bounded: a sender only encrypts more
 * when the queue is empty, so what can pile up is one batch plus the few
 * control frames CivetWeb writes in between.
 *
 * An SSL_write of more than 16 KiB makes one record per 16 KiB and hands
 * each to the BIO on its own: uncorked, every record would be a send() of
 * its own. The sender corks the queue around such a write, so that the
 * records leave up to CORK_BYTES at a time. */
#include "tls_send_queue.h"

#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "socket_send.h"

/* Above this the peer is not reading at all: the connection fails rather
 * than buffer without end (a sender's batch is 256 KiB of plaintext). */
#define QUEUE_LIMIT ((size_t)4 << 20)
/* Corked, records are gathered up to this many bytes before they leave in
 * one send: three whole records (16 KiB of plaintext make 16 406 bytes
 * with TLS 1.3), and the buffer stays below malloc's mmap threshold. */
#define CORK_BYTES ((size_t)64 * 1024)

struct tls_send_queue {
	atomic_bool pending; /* len > 0, for readers without the lock */
	int fd;
	bool failed;
	bool corked; /* records are gathered, not sent one by one */
	unsigned char *buf;
	size_t head, len, cap; /* queued bytes: buf[head .. head + len) */
	void (*wake)(void *arg);
	void *wake_arg;
};

static BIO_METHOD *queue_method;
static pthread_once_t queue_method_once = PTHREAD_ONCE_INIT;

static int append(struct tls_send_queue *q, const unsigned char *data, size_t len)
{
	if (q->len + len > QUEUE_LIMIT)
		return -1;
	if (q->head > 0 && q->head + q->len + len > q->cap) {
		memmove(q->buf, q->buf + q->head, q->len);
		q->head = 0;
	}
	if (q->len + len > q->cap) {
		/* Corked, the buffer is made whole at once: it is filled. */
		size_t cap = q->cap ? q->cap : q->corked ? CORK_BYTES : 16384;
		while (cap < q->len + len)
			cap *= 2;
		unsigned char *grown = realloc(q->buf, cap);
		if (!grown)
			return -1;
		q->buf = grown;
		q->cap = cap;
	}
	memcpy(q->buf + q->head + q->len, data, len);
	q->len += len;
	atomic_store(&q->pending, true);
	return 0;
}

/* Sends what the socket takes now, as tls_send_queue_flush, but keeps the
 * buffer (a corked write goes on filling it). */
static int send_queued(struct tls_send_queue *q)
{
	while (q->len > 0 && !q->failed) {
		long n = socket_send_now(q->fd, q->buf + q->head, q->len);
		if (n < 0)
			q->failed = true;
		else if (n == 0)
			return 0;
		else {
			q->head += (size_t)n;
			q->len -= (size_t)n;
		}
	}
	if (q->failed)
		return -1;
	atomic_store(&q->pending, false);
	q->head = 0;
	return 1;
}

int tls_send_queue_flush(struct tls_send_queue *q)
{
	int flushed = send_queued(q);
	/* A long-idle connection should not keep a large buffer (a corked
	 * write's 64 KiB included). */
	if (flushed == 1 && q->cap > 32768) {
		free(q->buf);
		q->buf = NULL;
		q->cap = 0;
	}
	return flushed;
}

static int queue_write(BIO *bio, const char *data, int len)
{
	struct tls_send_queue *q = BIO_get_data(bio);
	BIO_clear_retry_flags(bio);
	if (q->failed || len < 0)
		return -1;
	if (q->corked) {
		/* What is gathered leaves before it would pass CORK_BYTES; this
		 * record then waits with the next ones, unless the socket did
		 * not take everything (the normal path below queues it). */
		if (q->len > 0 && q->len + (size_t)len > CORK_BYTES && send_queued(q) < 0)
			return -1;
		if (q->len + (size_t)len <= CORK_BYTES) {
			if (append(q, (const unsigned char *)data, (size_t)len) != 0) {
				q->failed = true;
				return -1;
			}
			return len;
		}
	}
	size_t done = 0;
	if (q->len == 0) {
		long n = socket_send_now(q->fd, data, (size_t)len);
		if (n < 0) {
			q->failed = true;
			return -1;
		}
		done = (size_t)n;
	}
	if (done < (size_t)len) {
		if (append(q, (const unsigned char *)data + done, (size_t)len - done) != 0) {
			q->failed = true;
			return -1;
		}
		if (q->wake)
			q->wake(q->wake_arg);
	}
	return len;
}

static long queue_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
	(void)bio;
	(void)num;
	(void)ptr;
	/* A flush means "make it leave": it leaves through the sender. */
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int queue_destroy(BIO *bio)
{
	struct tls_send_queue *q = BIO_get_data(bio);
	if (q) {
		free(q->buf);
		free(q);
		BIO_set_data(bio, NULL);
	}
	return 1;
}

static void make_queue_method(void)
{
	BIO_METHOD *m =
	    BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "wsrelay send queue");
	if (m && BIO_meth_set_write(m, queue_write) == 1 && BIO_meth_set_ctrl(m, queue_ctrl) == 1 &&
	    BIO_meth_set_destroy(m, queue_destroy) == 1)
		queue_method = m;
	else
		BIO_meth_free(m);
}

struct tls_send_queue *tls_send_queue_install(void *ssl, int fd)
{
	pthread_once(&queue_method_once, make_queue_method);
	if (!queue_method)
		return NULL;
	struct tls_send_queue *q = calloc(1, sizeof(*q));
	BIO *bio = q ? BIO_new(queue_method) : NULL;
	if (!bio) {
		free(q);
		return NULL;
	}
	q->fd = fd;
	BIO_set_data(bio, q);
	BIO_set_init(bio, 1);
	SSL_set0_wbio(ssl, bio);
	return q;
}

void tls_send_queue_cork(struct tls_send_queue *q)
{
	q->corked = true;
}

int tls_send_queue_uncork(struct tls_send_queue *q)
{
	q->corked = false;
	int flushed = tls_send_queue_flush(q);
	/* The records of one large write: a busy client keeps no 64 KiB
	 * buffer between its writes (a queue the socket left waiting keeps
	 * its buffer until it drains, as before). */
	if (flushed == 1) {
		free(q->buf);
		q->buf = NULL;
		q->cap = 0;
	}
	return flushed;
}

bool tls_send_queue_pending(const struct tls_send_queue *q)
{
	return atomic_load(&q->pending);
}

void tls_send_queue_set_waker(struct tls_send_queue *q, void (*wake)(void *arg), void *arg)
{
	q->wake = wake;
	q->wake_arg = arg;
}
