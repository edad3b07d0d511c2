/* Resilience against the real server: a stalled reader among many, clients
 * vanishing mid-message, hostile HTTP, and connection churn that must leave
 * no descriptors or memory behind. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relay_process.h"
#include "ws_raw.h"
#include "relay_fixture.h"

#define WAIT_MS 10000

static struct relay_process relay;

static int start_relay(void **state)
{
	*state = &relay; /* for relay_fixture_stop */
	if (relay_start(&relay, WSRELAY_BIN,
	                "server:\n  listen: \"127.0.0.1:@PORT@\"\n  document_root: \"\"\n"
	                "  max_connections: 64\n"
	                "relay:\n  client_queue_messages: 256\n"
	                "metrics:\n  listen: \"127.0.0.1:@METRICS_PORT@\"\n"
	                "logging:\n  level: \"warn\"\n") != 0)
		return -1;
	return relay_wait_listener(&relay, relay.metrics_port, WAIT_MS);
}

/* ---- a stalled reader among 50 ---- */

/* WINDOW: how far the sender may run ahead of the slowest healthy
 * receiver (and of its own echoes). Well below the queue bound of 256, so a
 * healthy receiver that the machine starves of CPU (a sanitizer build, a
 * busy CI runner) can never fill its queue and be closed, rightly, as a slow
 * consumer; the stalled one, which reads nothing, still fills its own. */
enum { RECEIVERS = 49, MESSAGES = 2000, MESSAGE_SIZE = 4096, WINDOW = 32 };

struct receiver {
	struct ws_raw ws;
	atomic_int got;     /* messages received in order so far */
	atomic_bool failed; /* stopped early: error says why */
	char error[200];
};

static void *receive_all(void *arg)
{
	struct receiver *r = arg;
	int got = 0;
	while (got < MESSAGES) {
		struct ws_raw_frame f;
		int res = ws_raw_read_message(&r->ws, &f, WAIT_MS);
		if (res != WS_FRAME) {
			snprintf(r->error, sizeof(r->error), "after %d messages: %d", got, res);
			atomic_store(&r->failed, true);
			return NULL;
		}
		char *end = NULL;
		long seq = strtol((const char *)f.payload, &end, 10);
		bool ok = f.opcode == WS_OP_BINARY && f.len == MESSAGE_SIZE && end &&
		          *end == '\0' && seq == got;
		if (!ok) {
			/* Say what came instead: a close (1008: judged a slow
			 * consumer) is not the same failure as a lost message. */
			snprintf(r->error, sizeof(r->error),
			         "message %d out of order: opcode %u, %zu bytes, close code %u, "
			         "number %ld",
			         got, f.opcode, f.len, f.close_code, seq);
			ws_raw_frame_free(&f);
			atomic_store(&r->failed, true);
			return NULL;
		}
		ws_raw_frame_free(&f);
		atomic_store(&r->got, ++got);
	}
	return NULL;
}

/* The fewest messages any receiver still receiving has got (one that failed
 * is reported after the run). */
static int slowest_receiver(struct receiver *receivers)
{
	int fewest = MESSAGES;
	for (int i = 0; i < RECEIVERS; i++) {
		int got = atomic_load(&receivers[i].got);
		if (!atomic_load(&receivers[i].failed) && got < fewest)
			fewest = got;
	}
	return fewest;
}

/* Before message next goes out: reads the sender's own echoes (so it is no
 * slow consumer either) and waits until they and every healthy receiver
 * are at most WINDOW messages behind. A deadline per wait, not for the run:
 * any progress is fine, however slow the machine. */
static void keep_window(struct ws_raw *sender, int *echoes, struct receiver *receivers, int next)
{
	for (int waited_ms = 0;; waited_ms++) {
		struct ws_raw_frame f;
		while (ws_raw_read_frame(sender, &f, 0) == WS_FRAME) {
			if (f.opcode == WS_OP_BINARY)
				(*echoes)++;
			ws_raw_frame_free(&f);
		}
		if (*echoes >= next - WINDOW && slowest_receiver(receivers) >= next - WINDOW)
			return;
		if (waited_ms > 6 * WAIT_MS)
			fail_msg("before message %d: %d echoes, slowest receiver at %d", next,
			         *echoes, slowest_receiver(receivers));
		usleep(1000);
	}
}

/* One client never reads while another sends 2000 messages of 4 KiB: the
 * other 49 get every message in order, and the stalled one is closed as a
 * slow consumer once its queue is full. The sender keeps within WINDOW of
 * the healthy receivers, so what is proven does not depend on the
 * machine's speed: 2000 messages are 8 MiB, far more than the stalled
 * client's socket buffers and its 256-message queue hold. */
static void test_stalled_reader_among_fifty(void **state)
{
	(void)state;
	double slow_before = relay_fixture_metric(
	    relay.metrics_port, "wsrelay_disconnections_total{reason=\"slow_consumer\"}", WAIT_MS);
	static struct receiver receivers[RECEIVERS];
	pthread_t threads[RECEIVERS];
	struct ws_raw stalled, sender;
	relay_fixture_connect(&stalled, relay.port, WAIT_MS);
	for (int i = 0; i < RECEIVERS; i++) {
		memset(&receivers[i], 0, sizeof(receivers[i]));
		relay_fixture_connect(&receivers[i].ws, relay.port, WAIT_MS);
	}
	relay_fixture_connect(&sender, relay.port, WAIT_MS);
	for (int i = 0; i < RECEIVERS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, receive_all, &receivers[i]), 0);

	static char message[MESSAGE_SIZE];
	int echoes = 0;
	for (int i = 0; i < MESSAGES; i++) {
		keep_window(&sender, &echoes, receivers, i);
		memset(message, ' ', sizeof(message));
		snprintf(message, sizeof(message), "%d", i);
		assert_int_equal(ws_raw_send_binary(&sender, message, sizeof(message)), 0);
	}
	for (int i = 0; i < RECEIVERS; i++)
		pthread_join(threads[i], NULL);
	for (int i = 0; i < RECEIVERS; i++) {
		if (receivers[i].error[0])
			fail_msg("receiver %d: %s", i, receivers[i].error);
	}

	/* The stalled client: its socket buffers, then its queue, filled. It
	 * was sent 1008, or cut when it would not even take that. */
	assert_true(relay_fixture_wait_metric(
	    relay.metrics_port, "wsrelay_disconnections_total{reason=\"slow_consumer\"}",
	    slow_before + 1, 60000));
	ws_raw_close(&stalled);
	for (int i = 0; i < RECEIVERS; i++) {
		ws_raw_send_close(&receivers[i].ws, 1000, NULL);
		ws_raw_close(&receivers[i].ws);
	}
	ws_raw_close(&sender);
}

/* ---- hostile input ---- */

static void test_client_vanishes_mid_message(void **state)
{
	(void)state;
	struct ws_raw a, b;
	relay_fixture_connect(&a, relay.port, WAIT_MS);
	relay_fixture_connect(&b, relay.port, WAIT_MS);
	/* Half a frame, then gone. */
	assert_int_equal(ws_raw_send_header_only(&a, WS_FIN | WS_OP_BINARY, 1000), 0);
	assert_int_equal(ws_raw_send_bytes(&a, "partial", 7), 0);
	ws_raw_close(&a);
	/* Half a fragmented message, then gone. */
	relay_fixture_connect(&a, relay.port, WAIT_MS);
	assert_int_equal(ws_raw_send_frame(&a, WS_OP_TEXT, "first half", 10, true), 0);
	ws_raw_close(&a);
	/* Nothing of either reached b, and the relay still works. */
	assert_int_equal(ws_raw_send_text(&b, "after"), 0);
	struct ws_raw_frame f;
	assert_int_equal(ws_raw_read_message(&b, &f, WAIT_MS), WS_FRAME);
	assert_string_equal((const char *)f.payload, "after");
	ws_raw_frame_free(&f);
	ws_raw_send_close(&b, 1000, NULL);
	ws_raw_close(&b);
}

static void test_garbage_and_huge_requests_get_answers(void **state)
{
	(void)state;
	char resp[4096];
	int status = http_request(relay.port, "\x16\x03\x01\x02garbage\r\n\r\n", resp, sizeof(resp),
	                          WAIT_MS);
	assert_true(status == 400 || status == -1);
	/* A bad WebSocket version. */
	status =
	    http_request(relay.port,
	                 "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
	                 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	                 "Sec-WebSocket-Version: 8\r\n\r\n",
	                 resp, sizeof(resp), WAIT_MS);
	assert_int_equal(status, 426);
	/* A request line of 1 MiB: an error or a closed connection, promptly. */
	size_t huge_len = 1 << 20;
	char *huge = malloc(huge_len + 64);
	assert_non_null(huge);
	static const char head[] = "GET /", tail[] = " HTTP/1.1\r\nHost: x\r\n\r\n";
	memcpy(huge, head, sizeof(head) - 1);
	memset(huge + sizeof(head) - 1, 'a', huge_len);
	memcpy(huge + sizeof(head) - 1 + huge_len, tail, sizeof(tail)); /* with its NUL */
	status = http_request(relay.port, huge, resp, sizeof(resp), WAIT_MS);
	free(huge);
	assert_true(status == 413 || status == 414 || status == 400 || status == -1);
	/* None of it stuck a worker: the relay still answers at once. */
	struct ws_raw c;
	relay_fixture_connect(&c, relay.port, WAIT_MS);
	ws_raw_send_close(&c, 1000, NULL);
	assert_int_equal(ws_raw_expect_eof(&c, WAIT_MS), 0);
	ws_raw_close(&c);
}

/* ---- churn ---- */

static long open_fds(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	long n = 0;
	const struct dirent *ent;
	while ((ent = readdir(d)) != NULL)
		n += ent->d_name[0] != '.';
	closedir(d);
	return n;
}

/* 5000 connect/send/disconnect cycles: afterwards the server holds the
 * same descriptors and about the same memory as after the first hundred. */
static void test_churn_leaves_nothing_behind(void **state)
{
	(void)state;
	long fds_start = 0, rss_start = 0;
	for (int i = 0; i < 5000; i++) {
		struct ws_raw c;
		relay_fixture_connect(&c, relay.port, WAIT_MS);
		assert_int_equal(ws_raw_send_text(&c, "churn"), 0);
		struct ws_raw_frame f;
		assert_int_equal(ws_raw_read_message(&c, &f, WAIT_MS), WS_FRAME);
		ws_raw_frame_free(&f);
		if (i % 2)
			ws_raw_send_close(&c, 1000, NULL); /* half leave politely */
		ws_raw_close(&c);
		if (i == 100) {
			assert_true(relay_fixture_wait_metric(
			    relay.metrics_port, "wsrelay_connected_clients", 0, WAIT_MS));
			fds_start = open_fds(relay.pid);
			rss_start = relay_rss_kib(relay.pid);
		}
	}
	/* The last close handlers leave the gauge first, then close their
	 * sockets and free what they held: waited for, not slept on. A leak
	 * never comes back, so it still fails once the wait is over. */
	assert_true(
	    relay_fixture_wait_metric(relay.metrics_port, "wsrelay_connected_clients", 0, WAIT_MS));
	long fds_end = -1, rss_end = -1;
	bool settled = false;
	for (int waited = 0; waited <= WAIT_MS && !settled; waited += 20) {
		usleep(20 * 1000);
		fds_end = open_fds(relay.pid);
		rss_end = relay_rss_kib(relay.pid);
		settled = fds_end <= fds_start + 2;
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
		/* Allocator noise is fine; a leak of even 100 bytes a cycle
		 * is not. (Sanitizer builds hold freed memory back on purpose;
		 * their own leak check covers them.) */
		settled = settled && rss_end <= rss_start + 1024;
#endif
	}
	fprintf(stderr, "churn: fds %ld -> %ld, RSS %ld -> %ld KiB\n", fds_start, fds_end,
	        rss_start, rss_end);
	assert_true(settled);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stalled_reader_among_fifty),
	    cmocka_unit_test(test_client_vanishes_mid_message),
	    cmocka_unit_test(test_garbage_and_huge_requests_get_answers),
	    cmocka_unit_test(test_churn_leaves_nothing_behind),
	};
	return cmocka_run_group_tests(tests, start_relay, relay_fixture_stop);
}
