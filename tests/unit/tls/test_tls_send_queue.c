/* The TLS send queue (tls_send_queue.c) under real OpenSSL, over a
 * socketpair: SSL_write always completes, what the socket does not take
 * waits in order for a flush, the waker hears of it, and a peer that never
 * reads or is gone fails the queue instead of growing it without end.
 * Corked, the records of a large write leave together, 64 KiB at most. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_pki.h"
#include "tls_send_queue.h"

/* Far more than a socketpair buffers, far less than the queue's limit. */
#define BIG_WRITE ((size_t)1 << 20)

struct pair {
	int fds[2]; /* [0] the server side, with the queue; [1] the client */
	SSL_CTX *server_ctx, *client_ctx;
	SSL *server, *client;
	struct tls_send_queue *queue;
	int wakes;
};

static void on_wake(void *arg)
{
	struct pair *p = arg;
	p->wakes++;
}

static void set_nonblocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);
	assert_true(flags >= 0);
	assert_int_equal(fcntl(fd, F_SETFL, flags | O_NONBLOCK), 0);
}

static SSL_CTX *server_ctx(void)
{
	char dir[] = "/tmp/wsrelay-tlsq-XXXXXX", cert[64], key[64];
	assert_non_null(mkdtemp(dir));
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	struct pki_entity *e = pki_issue(PKI_SERVER, "localhost", 1, -60, 3600, NULL);
	assert_non_null(e);
	assert_int_equal(pki_write(e, cert, key, false), 0);
	pki_free(e);

	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	assert_non_null(ctx);
	assert_int_equal(SSL_CTX_use_certificate_file(ctx, cert, SSL_FILETYPE_PEM), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM), 1);
	assert_int_equal(unlink(cert), 0);
	assert_int_equal(unlink(key), 0);
	assert_int_equal(rmdir(dir), 0);
	return ctx;
}

/* Steps both handshakes until both are done; the server's records leave
 * through the queue, flushed after every step. */
static void handshake(struct pair *p)
{
	bool server_done = false, client_done = false;
	for (int round = 0; round < 10000 && !(server_done && client_done); round++) {
		if (!client_done) {
			int rc = SSL_do_handshake(p->client);
			client_done = rc == 1;
			if (rc != 1)
				assert_int_equal(SSL_get_error(p->client, rc), SSL_ERROR_WANT_READ);
		}
		if (!server_done) {
			int rc = SSL_do_handshake(p->server);
			server_done = rc == 1;
			if (rc != 1)
				assert_int_equal(SSL_get_error(p->server, rc), SSL_ERROR_WANT_READ);
		}
		assert_true(tls_send_queue_flush(p->queue) >= 0);
	}
	assert_true(server_done && client_done);
}

static int setup(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, p->fds), 0);
	int small = 4096;
	assert_int_equal(setsockopt(p->fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	assert_int_equal(setsockopt(p->fds[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	set_nonblocking(p->fds[0]);
	set_nonblocking(p->fds[1]);

	p->server_ctx = server_ctx();
	p->client_ctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(p->client_ctx);
	p->server = SSL_new(p->server_ctx);
	p->client = SSL_new(p->client_ctx);
	assert_non_null(p->server);
	assert_non_null(p->client);
	/* The reads stay on the socket; the queue becomes the write side. */
	assert_int_equal(SSL_set_rfd(p->server, p->fds[0]), 1);
	p->queue = tls_send_queue_install(p->server, p->fds[0]);
	assert_non_null(p->queue);
	tls_send_queue_set_waker(p->queue, on_wake, p);
	SSL_set_accept_state(p->server);
	assert_int_equal(SSL_set_fd(p->client, p->fds[1]), 1);
	SSL_set_connect_state(p->client);
	handshake(p);
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	struct pair *p = *state;
	SSL_free(p->server); /* frees the queue with its BIO */
	SSL_free(p->client);
	SSL_CTX_free(p->server_ctx);
	SSL_CTX_free(p->client_ctx);
	if (p->fds[0] >= 0)
		close(p->fds[0]);
	if (p->fds[1] >= 0)
		close(p->fds[1]);
	free(p);
	ERR_clear_error();
	return 0;
}

static unsigned char *pattern(size_t len)
{
	unsigned char *b = malloc(len);
	assert_non_null(b);
	for (size_t i = 0; i < len; i++)
		b[i] = (unsigned char)(i * 131 + i / 977);
	return b;
}

/* Reads len bytes at the client, flushing the queue after each read, and
 * compares them with sent; the queue is empty after. */
static void read_all(struct pair *p, const unsigned char *sent, size_t len)
{
	unsigned char *got = malloc(len);
	assert_non_null(got);
	size_t have = 0;
	for (long round = 0; round < 10000000 && have < len; round++) {
		int n = SSL_read(p->client, got + have, (int)(len - have));
		if (n > 0)
			have += (size_t)n;
		else
			assert_int_equal(SSL_get_error(p->client, n), SSL_ERROR_WANT_READ);
		assert_true(tls_send_queue_flush(p->queue) >= 0);
	}
	assert_int_equal(have, len);
	assert_memory_equal(got, sent, len);
	assert_int_equal(tls_send_queue_flush(p->queue), 1);
	assert_false(tls_send_queue_pending(p->queue));
	free(got);
}

static void test_write_completes_and_queue_drains_in_order(void **state)
{
	struct pair *p = *state;
	unsigned char *sent = pattern(BIG_WRITE);

	int wakes = p->wakes;
	/* The socket takes a few KiB: SSL_write still takes all of it at once. */
	assert_int_equal(SSL_write(p->server, sent, (int)BIG_WRITE), (int)BIG_WRITE);
	assert_true(tls_send_queue_pending(p->queue));
	assert_true(p->wakes > wakes);
	/* Nobody reads: the socket stays full and the bytes stay queued. */
	assert_int_equal(tls_send_queue_flush(p->queue), 0);
	assert_true(tls_send_queue_pending(p->queue));

	read_all(p, sent, BIG_WRITE);
	free(sent);
}

/* Bytes waiting to be read at the client's end of the socketpair. */
static size_t readable(const struct pair *p)
{
	int n = 0;
	assert_int_equal(ioctl(p->fds[1], FIONREAD, &n), 0);
	return (size_t)n;
}

static void test_cork_gathers_the_records_of_a_write(void **state)
{
	struct pair *p = *state;
	/* Room in the socket for all of it: what stays back is the cork's. */
	int big = 1 << 20;
	assert_int_equal(setsockopt(p->fds[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big)), 0);
	assert_int_equal(setsockopt(p->fds[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big)), 0);
	const size_t small = (size_t)40 * 1024, large = (size_t)200 * 1024;
	unsigned char *sent = pattern(large);

	/* The client takes the session tickets the handshake left. */
	unsigned char none[1];
	assert_true(SSL_read(p->client, none, sizeof(none)) <= 0);
	assert_int_equal(readable(p), 0);
	ERR_clear_error();

	/* Three records, under 64 KiB: none leaves before the uncork, then
	 * all of them at once. */
	tls_send_queue_cork(p->queue);
	assert_int_equal(SSL_write(p->server, sent, (int)small), (int)small);
	assert_int_equal(readable(p), 0);
	assert_true(tls_send_queue_pending(p->queue));
	assert_int_equal(tls_send_queue_uncork(p->queue), 1);
	assert_false(tls_send_queue_pending(p->queue));
	assert_true(readable(p) > small);
	read_all(p, sent, small);

	/* Thirteen records: they leave during the write, 64 KiB at most
	 * held back at any time, the rest at the uncork. */
	tls_send_queue_cork(p->queue);
	assert_int_equal(SSL_write(p->server, sent, (int)large), (int)large);
	size_t early = readable(p);
	assert_true(early > 0);
	assert_true(early + (size_t)64 * 1024 > large);
	assert_int_equal(tls_send_queue_uncork(p->queue), 1);
	assert_true(readable(p) > early);
	read_all(p, sent, large);

	/* Uncorked again: a record leaves as SSL_write makes it. */
	assert_int_equal(SSL_write(p->server, sent, 100), 100);
	assert_true(readable(p) > 100);
	read_all(p, sent, 100);
	free(sent);
}

static void test_cork_on_a_full_socket_queues_the_rest(void **state)
{
	struct pair *p = *state;
	unsigned char *sent = pattern(BIG_WRITE);
	int wakes = p->wakes;

	/* The socket takes a few KiB: corked or not, SSL_write completes and
	 * what the socket does not take waits, in order, for the flushes. */
	tls_send_queue_cork(p->queue);
	assert_int_equal(SSL_write(p->server, sent, (int)BIG_WRITE), (int)BIG_WRITE);
	assert_int_equal(tls_send_queue_uncork(p->queue), 0);
	assert_true(tls_send_queue_pending(p->queue));
	assert_true(p->wakes > wakes);
	read_all(p, sent, BIG_WRITE);
	free(sent);
}

static void test_peer_that_never_reads_fails_the_queue(void **state)
{
	struct pair *p = *state;
	unsigned char *sent = pattern(BIG_WRITE);
	int failed_at = -1;

	/* The queue holds 4 MiB at most: the write that would pass it fails,
	 * and so does every flush after. */
	for (int i = 0; i < 16 && failed_at < 0; i++)
		if (SSL_write(p->server, sent, (int)BIG_WRITE) <= 0)
			failed_at = i;
	assert_true(failed_at >= 3);
	assert_int_equal(tls_send_queue_flush(p->queue), -1);
	free(sent);
}

static void test_peer_gone_fails_the_flush(void **state)
{
	struct pair *p = *state;
	unsigned char *sent = pattern(BIG_WRITE);

	assert_int_equal(SSL_write(p->server, sent, (int)BIG_WRITE), (int)BIG_WRITE);
	assert_true(tls_send_queue_pending(p->queue));
	close(p->fds[1]);
	p->fds[1] = -1;
	assert_int_equal(tls_send_queue_flush(p->queue), -1);
	/* The waker is not needed to learn it: later writes fail at once. */
	assert_true(SSL_write(p->server, sent, 16) <= 0);
	free(sent);
}

static void test_waker_can_be_cleared(void **state)
{
	struct pair *p = *state;
	unsigned char *sent = pattern(BIG_WRITE);

	tls_send_queue_set_waker(p->queue, NULL, NULL);
	int wakes = p->wakes;
	assert_int_equal(SSL_write(p->server, sent, (int)BIG_WRITE), (int)BIG_WRITE);
	assert_true(tls_send_queue_pending(p->queue));
	assert_int_equal(p->wakes, wakes);
	free(sent);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_write_completes_and_queue_drains_in_order, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_cork_gathers_the_records_of_a_write, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_cork_on_a_full_socket_queues_the_rest, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_peer_that_never_reads_fails_the_queue, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_peer_gone_fails_the_flush, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_waker_can_be_cleared, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
