/* Outboxes and the sender pool against real sockets: each endpoint is one
 * end of a socketpair, and the test reads (or does not read) the other. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "delivery.h"

struct endpoint {
	int fd;
	int peer;
	atomic_size_t frames;
	atomic_int failures;
	atomic_bool failed_by_deadline;
};

static long io_write_some(void *ep, const void *data, size_t len)
{
	const struct endpoint *e = ep;
	ssize_t n = send(e->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
	return n;
}

static int io_fd(void *ep)
{
	return ((const struct endpoint *)ep)->fd;
}

static void io_delivered(void *ep, size_t frames, uint64_t payload_bytes)
{
	(void)payload_bytes;
	atomic_fetch_add(&((struct endpoint *)ep)->frames, frames);
}

static void io_failed(void *ep, bool deadline)
{
	struct endpoint *e = ep;
	atomic_store(&e->failed_by_deadline, deadline);
	atomic_fetch_add(&e->failures, 1);
}

static const struct delivery_io io = {
    .write_some = io_write_some,
    .fd = io_fd,
    .delivered = io_delivered,
    .failed = io_failed,
};

static void endpoint_open(struct endpoint *e)
{
	memset(e, 0, sizeof(*e));
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	e->fd = sv[0];
	e->peer = sv[1];
}

static void endpoint_close(struct endpoint *e)
{
	close(e->fd);
	if (e->peer >= 0)
		close(e->peer);
}

/* Reads exactly len bytes from the peer within timeout_ms. */
static void read_exactly(struct endpoint *e, void *buf, size_t len, int timeout_ms)
{
	size_t got = 0;
	while (got < len) {
		struct pollfd pfd = {.fd = e->peer, .events = POLLIN};
		if (poll(&pfd, 1, timeout_ms) != 1)
			fail_msg("only %zu of %zu bytes arrived", got, len);
		ssize_t n = recv(e->peer, (char *)buf + got, len - got, 0);
		assert_true(n > 0);
		got += (size_t)n;
	}
}

static struct shared_frame *frame_of(const char *text)
{
	struct shared_frame *f = shared_frame_new(text, strlen(text), strlen(text));
	assert_non_null(f);
	return f;
}

static void push(struct outbox *ob, const char *text)
{
	struct shared_frame *f = frame_of(text);
	assert_int_equal(outbox_push(ob, f), OUTBOX_QUEUED);
	shared_frame_unref(f);
}

static void test_frames_arrive_whole_and_in_order(void **state)
{
	(void)state;
	struct sender_pool *pool = sender_pool_start(1, &io);
	assert_non_null(pool);
	struct endpoint e;
	endpoint_open(&e);
	struct outbox *ob = outbox_create(pool, &e, 100000, 1 << 30);
	enum { COUNT = 5000 };
	for (int i = 0; i < COUNT; i++) {
		char text[16];
		snprintf(text, sizeof(text), "%08d", i);
		push(ob, text);
	}
	for (int i = 0; i < COUNT; i++) {
		char want[16], got[9] = "";
		snprintf(want, sizeof(want), "%08d", i);
		read_exactly(&e, got, 8, 5000);
		assert_memory_equal(got, want, 8);
	}
	for (int waited = 0; atomic_load(&e.frames) < COUNT && waited < 5000; waited++)
		usleep(1000);
	assert_int_equal(atomic_load(&e.frames), COUNT);
	outbox_close(ob);
	outbox_destroy(ob);
	endpoint_close(&e);
	sender_pool_stop(pool);
}

/* A message larger than the queue's byte bound (max_message_bytes may be
 * set above client_queue_bytes) still goes to a client with nothing
 * queued; behind another message it has to wait. */
static void test_large_message_fits_an_empty_queue(void **state)
{
	(void)state;
	struct sender_pool *pool = sender_pool_start(1, &io);
	assert_non_null(pool);
	struct endpoint e;
	endpoint_open(&e);
	struct outbox *ob = outbox_create(pool, &e, 1000, 1024);
	static char big[4096];
	memset(big, 'x', sizeof(big) - 1);
	push(ob, big);
	static char got[sizeof(big)];
	read_exactly(&e, got, sizeof(big) - 1, 5000);
	assert_memory_equal(got, big, sizeof(big) - 1);
	outbox_close(ob);
	outbox_destroy(ob);
	endpoint_close(&e);
	sender_pool_stop(pool);
}

/* Waits until the socket's send buffer stays full: the sender has written
 * part of the head frame and parked it. */
static void wait_until_parked(struct endpoint *e)
{
	int queued = -1;
	for (int stable = 0; stable < 5;) {
		int now = 0;
		struct pollfd pfd = {.fd = e->peer, .events = POLLIN};
		(void)poll(&pfd, 1, 20);
		assert_int_equal(ioctl(e->peer, FIONREAD, &now), 0);
		stable = (now > 0 && now == queued) ? stable + 1 : 0;
		queued = now;
	}
}

/* Control frames wait for the end of the frame under way, jump the queue
 * there, and a newer one of a kind replaces an unsent older one. */
static void test_controls_go_between_frames(void **state)
{
	(void)state;
	struct sender_pool *pool = sender_pool_start(1, &io);
	assert_non_null(pool);
	struct endpoint e;
	endpoint_open(&e);
	struct outbox *ob = outbox_create(pool, &e, 1000, 1 << 30);
	enum { BIG = 1 << 20, PINGS = 50 };
	static char big[BIG + 1];
	memset(big, 'x', BIG);
	push(ob, big);
	push(ob, "after");
	wait_until_parked(&e);

	unsigned replaced = 0;
	for (int i = 0; i < PINGS; i++) {
		uint8_t pong[3] = {0x8A, 1, (uint8_t)i};
		replaced += outbox_push_control(ob, OUTBOX_PONG, pong, sizeof(pong));
	}
	uint8_t ping[2] = {0x89, 0};
	assert_false(outbox_push_control(ob, OUTBOX_PING, ping, sizeof(ping)));
	/* The first waits; every later one replaced the one before. */
	assert_int_equal(replaced, PINGS - 1);

	static char got[BIG];
	read_exactly(&e, got, BIG, 5000);
	assert_memory_equal(got, big, BIG);
	uint8_t controls[5];
	read_exactly(&e, controls, sizeof(controls), 5000);
	const uint8_t want[5] = {0x8A, 1, PINGS - 1, 0x89, 0};
	assert_memory_equal(controls, want, sizeof(want));
	char after[5];
	read_exactly(&e, after, sizeof(after), 5000);
	assert_memory_equal(after, "after", sizeof(after));

	outbox_close(ob);
	outbox_destroy(ob);
	endpoint_close(&e);
	sender_pool_stop(pool);
}

/* One sender thread, two clients: the one that stopped reading does not
 * hold up the other. */
static void test_stalled_peer_does_not_block_others(void **state)
{
	(void)state;
	struct sender_pool *pool = sender_pool_start(1, &io);
	struct endpoint stalled, live;
	endpoint_open(&stalled);
	endpoint_open(&live);
	struct outbox *ob_stalled = outbox_create(pool, &stalled, 100000, 1 << 30);
	struct outbox *ob_live = outbox_create(pool, &live, 100000, 1 << 30);

	static char big[64 * 1024];
	memset(big, 'x', sizeof(big) - 1);
	struct shared_frame *f = shared_frame_new(big, sizeof(big), sizeof(big));
	/* Far more than a socketpair buffers. */
	for (int i = 0; i < 200; i++)
		assert_int_equal(outbox_push(ob_stalled, f), OUTBOX_QUEUED);
	shared_frame_unref(f);

	push(ob_live, "hello");
	char got[6] = "";
	read_exactly(&live, got, 5, 5000);
	assert_string_equal(got, "hello");
	assert_true(outbox_length(ob_stalled) > 0);

	outbox_close(ob_stalled);
	outbox_close(ob_live);
	outbox_destroy(ob_stalled);
	outbox_destroy(ob_live);
	endpoint_close(&stalled);
	endpoint_close(&live);
	sender_pool_stop(pool);
}

static void test_full_only_when_socket_is_full_too(void **state)
{
	(void)state;
	struct sender_pool *pool = sender_pool_start(1, &io);
	struct endpoint e;
	endpoint_open(&e);
	struct outbox *ob = outbox_create(pool, &e, 4, 1 << 30);
	static char big[64 * 1024];
	struct shared_frame *f = shared_frame_new(big, sizeof(big), sizeof(big));
	/* The peer does not read: once its socket is full, the queue fills and
	 * then refuses. */
	enum outbox_result r = OUTBOX_QUEUED;
	for (int i = 0; i < 1000 && r == OUTBOX_QUEUED; i++)
		r = outbox_push(ob, f);
	assert_int_equal(r, OUTBOX_FULL);
	assert_int_equal(outbox_length(ob), 4);
	shared_frame_unref(f);
	outbox_close(ob);
	/* Closed: nothing is taken any more. */
	struct shared_frame *g = frame_of("late");
	assert_int_equal(outbox_push(ob, g), OUTBOX_CLOSED);
	shared_frame_unref(g);
	outbox_destroy(ob);
	endpoint_close(&e);
	sender_pool_stop(pool);
}

static void test_finish_sends_close_last(void **state)
{
	(void)state;
	struct sender_pool *pool = sender_pool_start(1, &io);
	struct endpoint e;
	endpoint_open(&e);
	struct outbox *ob = outbox_create(pool, &e, 1000, 1 << 20);
	push(ob, "one");
	outbox_finish(ob, "CLOSE", 5, false, 5000);
	struct shared_frame *g = frame_of("after");
	assert_int_equal(outbox_push(ob, g), OUTBOX_CLOSED);
	shared_frame_unref(g);
	assert_true(outbox_wait_finished(ob, 5000));
	/* Whatever was queued before may or may not have gone out, but the
	 * close frame is the end of the stream. */
	char got[16] = "";
	ssize_t n = recv(e.peer, got, sizeof(got) - 1, 0);
	assert_true(n >= 5);
	assert_string_equal(got + n - 5, "CLOSE");
	/* Still lingering for the peer's answer: no failure yet. */
	assert_int_equal(atomic_load(&e.failures), 0);
	outbox_close(ob);
	outbox_destroy(ob);
	endpoint_close(&e);
	sender_pool_stop(pool);
}

/* A close that keeps the queue goes out after everything queued. */
static void test_finish_keeping_the_queue(void **state)
{
	(void)state;
	struct sender_pool *pool = sender_pool_start(1, &io);
	struct endpoint e;
	endpoint_open(&e);
	struct outbox *ob = outbox_create(pool, &e, 1000, 1 << 20);
	for (int i = 0; i < 100; i++)
		push(ob, "0123456789");
	outbox_finish(ob, "CLOSE", 5, true, 5000);
	assert_true(outbox_wait_finished(ob, 5000));
	char got[1006] = "";
	read_exactly(&e, got, 1005, 5000);
	for (int i = 0; i < 100; i++)
		assert_memory_equal(got + (size_t)10 * (size_t)i, "0123456789", 10);
	assert_memory_equal(got + 1000, "CLOSE", 5);
	outbox_close(ob);
	outbox_destroy(ob);
	endpoint_close(&e);
	sender_pool_stop(pool);
}

static void test_unanswered_close_fails_at_deadline(void **state)
{
	(void)state;
	struct sender_pool *pool = sender_pool_start(1, &io);
	struct endpoint e;
	endpoint_open(&e);
	struct outbox *ob = outbox_create(pool, &e, 1000, 1 << 30);
	outbox_finish(ob, "CLOSE", 5, false, 200);
	for (int waited = 0; atomic_load(&e.failures) == 0 && waited < 5000; waited++)
		usleep(1000);
	assert_int_equal(atomic_load(&e.failures), 1);
	assert_true(atomic_load(&e.failed_by_deadline));
	outbox_close(ob);
	outbox_destroy(ob);
	endpoint_close(&e);
	sender_pool_stop(pool);
}

static void test_write_error_reported_once(void **state)
{
	(void)state;
	struct sender_pool *pool = sender_pool_start(1, &io);
	struct endpoint e;
	endpoint_open(&e);
	close(e.peer);
	e.peer = -1;
	struct outbox *ob = outbox_create(pool, &e, 1000, 1 << 30);
	push(ob, "lost");
	for (int waited = 0; atomic_load(&e.failures) == 0 && waited < 5000; waited++)
		usleep(1000);
	assert_int_equal(atomic_load(&e.failures), 1);
	assert_false(atomic_load(&e.failed_by_deadline));
	struct shared_frame *g = frame_of("more");
	assert_int_equal(outbox_push(ob, g), OUTBOX_CLOSED);
	shared_frame_unref(g);
	usleep(50 * 1000);
	assert_int_equal(atomic_load(&e.failures), 1);
	outbox_close(ob);
	outbox_destroy(ob);
	endpoint_close(&e);
	sender_pool_stop(pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frames_arrive_whole_and_in_order),
	    cmocka_unit_test(test_large_message_fits_an_empty_queue),
	    cmocka_unit_test(test_stalled_peer_does_not_block_others),
	    cmocka_unit_test(test_full_only_when_socket_is_full_too),
	    cmocka_unit_test(test_finish_sends_close_last),
	    cmocka_unit_test(test_finish_keeping_the_queue),
	    cmocka_unit_test(test_unanswered_close_fails_at_deadline),
	    cmocka_unit_test(test_write_error_reported_once),
	    cmocka_unit_test(test_controls_go_between_frames),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
