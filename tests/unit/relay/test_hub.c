/* The hub against real sockets: each client's endpoint is one end of a
 * socketpair, and the test reads what the hub wrote from the other end. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hub.h"

struct endpoint {
	int fd;   /* the hub writes here */
	int peer; /* the test reads here */
	atomic_int aborted;
	/* When set, a write waits until release_writes is set: lets a test hold
	 * a broadcast in flight. */
	atomic_bool block_writes;
	atomic_bool release_writes;
	atomic_bool write_started;
};

/* Writes the frame to the socket at once, or refuses it (a full queue, to
 * the hub) when the socket cannot take it whole: the test stands in for a
 * client's outbox with the socket's own buffer. */
static int send_now(struct endpoint *e, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = send(e->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int endpoint_deliver(void *ep, struct shared_frame *frame)
{
	struct endpoint *e = ep;
	if (atomic_load(&e->block_writes)) {
		atomic_store(&e->write_started, true);
		while (!atomic_load(&e->release_writes))
			usleep(1000);
	}
	return send_now(e, frame->data, frame->len);
}

static void endpoint_abort(void *ep)
{
	struct endpoint *e = ep;
	atomic_fetch_add(&e->aborted, 1);
	shutdown(e->fd, SHUT_RDWR);
}

static void endpoint_close_frame(void *ep, const void *frame, size_t len)
{
	if (send_now(ep, frame, len) != 0)
		endpoint_abort(ep);
}

static const struct hub_endpoint_ops ops = {
    .deliver = endpoint_deliver, .close = endpoint_close_frame, .abort = endpoint_abort};

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

/* Bytes waiting at the test's end, read without blocking. */
static size_t drain_peer(struct endpoint *e, char *buf, size_t cap)
{
	size_t got = 0;
	struct pollfd pfd = {.fd = e->peer, .events = POLLIN};
	while (got < cap && poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN)) {
		ssize_t n = recv(e->peer, buf + got, cap - got, MSG_DONTWAIT);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

static size_t broadcast_counting(struct hub *hub, const struct hub_client *sender, bool echo,
                                 const char *data, size_t len, size_t *slow)
{
	struct shared_frame *frame = shared_frame_new(data, len, len);
	assert_non_null(frame);
	size_t n = hub_broadcast(hub, sender, echo, frame, slow);
	shared_frame_unref(frame);
	return n;
}

/* For the tests that do not look at slow consumers. */
static size_t broadcast(struct hub *hub, const struct hub_client *sender, bool echo,
                        const char *data, size_t len)
{
	size_t slow;
	return broadcast_counting(hub, sender, echo, data, len, &slow);
}

static struct hub_client *join(struct hub *hub, struct endpoint *e)
{
	struct hub_client *c = hub_join(hub, e);
	assert_non_null(c);
	return c;
}

static void test_join_respects_capacity(void **state)
{
	(void)state;
	struct endpoint e[3];
	struct hub *hub = hub_create(2, &ops);
	struct hub_client *a = hub_join(hub, &e[0]);
	struct hub_client *b = hub_join(hub, &e[1]);
	assert_non_null(a);
	assert_non_null(b);
	assert_null(hub_join(hub, &e[2]));
	assert_int_equal(hub_member_count(hub), 2);
	hub_leave(hub, a, DISCONNECT_CLIENT_CLOSE);
	struct hub_client *c = hub_join(hub, &e[2]);
	assert_non_null(c);
	hub_leave(hub, b, DISCONNECT_CLIENT_CLOSE);
	hub_leave(hub, c, DISCONNECT_CLIENT_CLOSE);
	assert_int_equal(hub_member_count(hub), 0);
	hub_destroy(hub);
}

static void test_broadcast_reaches_every_member(void **state)
{
	(void)state;
	struct endpoint e[3];
	struct hub_client *c[3];
	struct hub *hub = hub_create(8, &ops);
	for (int i = 0; i < 3; i++) {
		endpoint_open(&e[i]);
		c[i] = join(hub, &e[i]);
	}
	assert_int_equal(hub_member_count(hub), 3);

	assert_int_equal(broadcast(hub, c[0], true, "frame-1", 7), 3);
	for (int i = 0; i < 3; i++) {
		char buf[32];
		assert_int_equal(drain_peer(&e[i], buf, sizeof(buf)), 7);
		assert_memory_equal(buf, "frame-1", 7);
	}

	/* Without echo the sender is skipped and only the others receive. */
	assert_int_equal(broadcast(hub, c[1], false, "frame-2", 7), 2);
	char buf[32];
	assert_int_equal(drain_peer(&e[1], buf, sizeof(buf)), 0);
	assert_int_equal(drain_peer(&e[0], buf, sizeof(buf)), 7);
	assert_int_equal(drain_peer(&e[2], buf, sizeof(buf)), 7);

	for (int i = 0; i < 3; i++) {
		assert_int_equal(hub_leave(hub, c[i], DISCONNECT_CLIENT_CLOSE),
		                 DISCONNECT_CLIENT_CLOSE);
		endpoint_close(&e[i]);
	}
	assert_int_equal(hub_member_count(hub), 0);
	hub_destroy(hub);
}

static void test_removed_client_receives_nothing(void **state)
{
	(void)state;
	struct endpoint e[2];
	struct hub *hub = hub_create(8, &ops);
	endpoint_open(&e[0]);
	endpoint_open(&e[1]);
	struct hub_client *a = join(hub, &e[0]);
	struct hub_client *b = join(hub, &e[1]);
	hub_remove(hub, b, DISCONNECT_PROTOCOL_ERROR);
	hub_remove(hub, b, DISCONNECT_CLIENT_CLOSE); /* repeating is harmless */
	assert_int_equal(broadcast(hub, a, true, "x", 1), 1);
	char buf[8];
	assert_int_equal(drain_peer(&e[1], buf, sizeof(buf)), 0);
	/* The first reason recorded is the one reported. */
	assert_int_equal(hub_leave(hub, b, DISCONNECT_CLIENT_CLOSE), DISCONNECT_PROTOCOL_ERROR);
	hub_leave(hub, a, DISCONNECT_CLIENT_CLOSE);
	endpoint_close(&e[0]);
	endpoint_close(&e[1]);
	hub_destroy(hub);
}

/* A receiver whose queue refuses a frame is a slow consumer: removed at
 * once, counted once, and its connection left to the endpoint to close. */
static void test_full_receiver_is_removed_once(void **state)
{
	(void)state;
	struct endpoint e[3];
	struct hub_client *c[3];
	struct hub *hub = hub_create(8, &ops);
	for (int i = 0; i < 3; i++) {
		endpoint_open(&e[i]);
		c[i] = join(hub, &e[i]);
	}
	/* The receiver's peer is gone: the frame cannot be taken. */
	close(e[2].peer);
	e[2].peer = -1;

	size_t slow;
	assert_int_equal(broadcast_counting(hub, c[0], true, "m1", 2, &slow), 2);
	assert_int_equal(slow, 1);
	assert_int_equal(hub_member_count(hub), 2);
	assert_int_equal(atomic_load(&e[2].aborted), 0);

	/* Later broadcasts no longer try it. */
	assert_int_equal(broadcast_counting(hub, c[1], true, "m2", 2, &slow), 2);
	assert_int_equal(slow, 0);

	/* A drop from elsewhere (the sender, on a write error) after that
	 * keeps the first reason. */
	hub_drop(hub, c[2], DISCONNECT_WRITE_ERROR);
	assert_int_equal(hub_leave(hub, c[2], DISCONNECT_CLIENT_CLOSE), DISCONNECT_SLOW_CONSUMER);
	for (int i = 0; i < 2; i++) {
		hub_leave(hub, c[i], DISCONNECT_CLIENT_CLOSE);
		endpoint_close(&e[i]);
	}
	endpoint_close(&e[2]);
	hub_destroy(hub);
}

static void test_drop_removes_without_waiting(void **state)
{
	(void)state;
	struct endpoint e[2];
	struct hub *hub = hub_create(8, &ops);
	endpoint_open(&e[0]);
	endpoint_open(&e[1]);
	struct hub_client *a = join(hub, &e[0]);
	struct hub_client *b = join(hub, &e[1]);
	hub_drop(hub, b, DISCONNECT_WRITE_ERROR);
	assert_int_equal(hub_member_count(hub), 1);
	assert_int_equal(broadcast(hub, a, true, "x", 1), 1);
	assert_int_equal(hub_leave(hub, b, DISCONNECT_CLIENT_CLOSE), DISCONNECT_WRITE_ERROR);
	hub_leave(hub, a, DISCONNECT_CLIENT_CLOSE);
	endpoint_close(&e[0]);
	endpoint_close(&e[1]);
	hub_destroy(hub);
}

struct broadcast_job {
	struct hub *hub;
	struct hub_client *sender;
	atomic_bool done;
};

static void *broadcast_thread(void *arg)
{
	struct broadcast_job *job = arg;
	broadcast(job->hub, job->sender, true, "held", 4);
	atomic_store(&job->done, true);
	return NULL;
}

struct leave_job {
	struct hub *hub;
	struct hub_client *client;
	atomic_bool done;
};

static void *leave_thread(void *arg)
{
	struct leave_job *job = arg;
	hub_remove(job->hub, job->client, DISCONNECT_CLIENT_CLOSE);
	atomic_store(&job->done, true);
	return NULL;
}

/* The guarantee the close handler relies on: hub_remove (and so hub_leave)
 * does not return while a broadcast may still write to the client. */
static void test_leave_waits_for_writes_in_flight(void **state)
{
	(void)state;
	struct endpoint e[2];
	struct hub *hub = hub_create(8, &ops);
	endpoint_open(&e[0]);
	endpoint_open(&e[1]);
	struct hub_client *sender = join(hub, &e[0]);
	struct hub_client *receiver = join(hub, &e[1]);
	atomic_store(&e[1].block_writes, true);

	struct broadcast_job bj = {.hub = hub, .sender = sender};
	pthread_t bt;
	assert_int_equal(pthread_create(&bt, NULL, broadcast_thread, &bj), 0);
	while (!atomic_load(&e[1].write_started))
		usleep(1000);

	struct leave_job lj = {.hub = hub, .client = receiver};
	pthread_t lt;
	assert_int_equal(pthread_create(&lt, NULL, leave_thread, &lj), 0);
	usleep(50 * 1000);
	assert_false(atomic_load(&lj.done));
	/* Already removed: a new broadcast skips it even while the old one is
	 * still writing. */
	assert_int_equal(hub_member_count(hub), 1);

	atomic_store(&e[1].release_writes, true);
	pthread_join(bt, NULL);
	pthread_join(lt, NULL);
	assert_true(atomic_load(&lj.done));

	char buf[8];
	assert_int_equal(drain_peer(&e[1], buf, sizeof(buf)), 4);
	hub_leave(hub, receiver, DISCONNECT_CLIENT_CLOSE);
	hub_leave(hub, sender, DISCONNECT_CLIENT_CLOSE);
	endpoint_close(&e[0]);
	endpoint_close(&e[1]);
	hub_destroy(hub);
}

static void test_close_all_stops_relaying(void **state)
{
	(void)state;
	struct endpoint e[3];
	struct hub_client *c[2];
	struct hub *hub = hub_create(8, &ops);
	for (int i = 0; i < 3; i++)
		endpoint_open(&e[i]);
	for (int i = 0; i < 2; i++)
		c[i] = join(hub, &e[i]);

	assert_int_equal(hub_close_all(hub, "bye", 3, DISCONNECT_SHUTDOWN), 2);
	char buf[8];
	for (int i = 0; i < 2; i++)
		assert_int_equal(drain_peer(&e[i], buf, sizeof(buf)), 3);

	/* Nothing after the close frame, and nobody new. */
	assert_int_equal(broadcast(hub, c[0], true, "data", 4), 0);
	assert_int_equal(drain_peer(&e[1], buf, sizeof(buf)), 0);
	assert_null(hub_join(hub, &e[2]));

	assert_int_equal(hub_leave(hub, c[0], DISCONNECT_CLIENT_CLOSE), DISCONNECT_SHUTDOWN);
	hub_abort_all(hub);
	assert_int_equal(atomic_load(&e[1].aborted), 1);
	assert_int_equal(atomic_load(&e[0].aborted), 0);
	hub_leave(hub, c[1], DISCONNECT_CLIENT_CLOSE);
	for (int i = 0; i < 3; i++)
		endpoint_close(&e[i]);
	hub_destroy(hub);
}

/* Many threads joining, broadcasting and leaving at once: the member list
 * and reference counts stay consistent (run under TSan and ASan in CI). */
#define STRESS_THREADS 8
#define STRESS_ROUNDS  200

struct stress_arg {
	struct hub *hub;
	atomic_size_t *delivered;
};

static void *stress_thread(void *arg)
{
	struct stress_arg *sa = arg;
	for (int round = 0; round < STRESS_ROUNDS; round++) {
		struct endpoint e;
		endpoint_open(&e);
		struct hub_client *c = hub_join(sa->hub, &e);
		if (!c) {
			endpoint_close(&e);
			continue;
		}
		size_t n = broadcast(sa->hub, c, true, "s", 1);
		atomic_fetch_add(sa->delivered, n);
		hub_leave(sa->hub, c, DISCONNECT_CLIENT_CLOSE);
		endpoint_close(&e);
	}
	return NULL;
}

static void test_concurrent_join_broadcast_leave(void **state)
{
	(void)state;
	struct hub *hub = hub_create(STRESS_THREADS, &ops);
	atomic_size_t delivered = 0;
	struct stress_arg sa = {.hub = hub, .delivered = &delivered};
	pthread_t t[STRESS_THREADS];
	for (int i = 0; i < STRESS_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, stress_thread, &sa), 0);
	for (int i = 0; i < STRESS_THREADS; i++)
		pthread_join(t[i], NULL);
	assert_true(atomic_load(&delivered) > 0);
	assert_int_equal(hub_member_count(hub), 0);
	/* Every slot came back. */
	struct endpoint e;
	struct hub_client *slots[STRESS_THREADS];
	for (int i = 0; i < STRESS_THREADS; i++)
		assert_non_null(slots[i] = hub_join(hub, &e));
	assert_null(hub_join(hub, &e));
	for (int i = 0; i < STRESS_THREADS; i++)
		hub_leave(hub, slots[i], DISCONNECT_CLIENT_CLOSE);
	hub_destroy(hub);
}

static void test_reason_names(void **state)
{
	(void)state;
	assert_string_equal(hub_disconnect_reason_name(DISCONNECT_CLIENT_CLOSE), "client_close");
	assert_string_equal(hub_disconnect_reason_name(DISCONNECT_MESSAGE_TOO_BIG),
	                    "message_too_big");
	assert_string_equal(hub_disconnect_reason_name(DISCONNECT_SHUTDOWN), "shutdown");
	assert_string_equal(hub_disconnect_reason_name(DISCONNECT_REASON_COUNT), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_join_respects_capacity),
	    cmocka_unit_test(test_broadcast_reaches_every_member),
	    cmocka_unit_test(test_removed_client_receives_nothing),
	    cmocka_unit_test(test_full_receiver_is_removed_once),
	    cmocka_unit_test(test_drop_removes_without_waiting),
	    cmocka_unit_test(test_leave_waits_for_writes_in_flight),
	    cmocka_unit_test(test_close_all_stops_relaying),
	    cmocka_unit_test(test_concurrent_join_broadcast_leave),
	    cmocka_unit_test(test_reason_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
