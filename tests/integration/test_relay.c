/* The relay end to end: the real server binary, real sockets, raw clients. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relay_process.h"
#include "ws_raw.h"
#include "test_file.h"
#include "relay_fixture.h"
#include "storm.h"

#define WAIT_MS 20000 /* only a failure waits this long */

static struct relay_process relay;

/* relay_start's defaults, with a queue bound above all that the storm sends
 * one client (32 x 200 messages): a client thread the machine starves of
 * CPU while the others send can never fill its queue and be (rightly) cut
 * as a slow consumer, however slow the machine. */
static const char relay_yaml[] = "server:\n"
                                 "  listen: \"127.0.0.1:@PORT@\"\n"
                                 "  max_connections: 64\n"
                                 "  document_root: \"\"\n"
                                 "relay:\n"
                                 "  client_queue_messages: 8192\n"
                                 "metrics:\n"
                                 "  listen: \"127.0.0.1:@METRICS_PORT@\"\n"
                                 "logging:\n"
                                 "  level: \"debug\"\n";

static int start_default(void **state)
{
	*state = &relay; /* for relay_fixture_stop */
	return relay_start(&relay, WSRELAY_BIN, relay_yaml);
}

/* Closes cleanly: our close, the server's echo, then the TCP close. */
static void close_client(struct ws_raw *c)
{
	struct ws_raw_frame f;
	assert_int_equal(ws_raw_send_close(c, 1000, "done"), 0);
	for (;;) {
		int r = ws_raw_read_frame(c, &f, WAIT_MS);
		assert_int_equal(r, WS_FRAME);
		bool is_close = f.opcode == WS_OP_CLOSE;
		uint16_t code = f.close_code;
		ws_raw_frame_free(&f);
		if (is_close) {
			assert_int_equal(code, 1000);
			break;
		}
	}
	assert_int_equal(ws_raw_expect_eof(c, WAIT_MS), 0);
	ws_raw_close(c);
}

static void expect_message(struct ws_raw *c, uint8_t opcode, const void *payload, size_t len)
{
	struct ws_raw_frame f;
	int r = ws_raw_read_message(c, &f, WAIT_MS);
	if (r != WS_FRAME)
		fail_msg("no message: result %d (%s)", r, c->err);
	assert_int_equal(f.opcode, opcode);
	assert_true(f.fin);
	assert_int_equal(f.len, len);
	assert_memory_equal(f.payload, payload, len);
	ws_raw_frame_free(&f);
}

static void expect_silence(struct ws_raw *c, int ms)
{
	struct ws_raw_frame f;
	int r = ws_raw_read_frame(c, &f, ms);
	if (r == WS_FRAME) {
		ws_raw_frame_free(&f);
		fail_msg("unexpected frame, opcode %d", f.opcode);
	}
	assert_int_equal(r, WS_TIMEOUT);
}

static void test_connect_and_close_handshake(void **state)
{
	(void)state;
	struct ws_raw c;
	relay_fixture_connect(&c, relay.port, WAIT_MS);
	close_client(&c);
}

static void test_broadcast_reaches_all_clients_and_sender(void **state)
{
	(void)state;
	enum { N = 8 };
	struct ws_raw c[N];
	for (int i = 0; i < N; i++)
		relay_fixture_connect(&c[i], relay.port, WAIT_MS);
	assert_int_equal(ws_raw_send_text(&c[3], "hello everyone"), 0);
	for (int i = 0; i < N; i++)
		expect_message(&c[i], WS_OP_TEXT, "hello everyone", 14);
	for (int i = 0; i < N; i++)
		close_client(&c[i]);
}

static void test_text_and_binary_unchanged(void **state)
{
	(void)state;
	struct ws_raw a, b;
	relay_fixture_connect(&a, relay.port, WAIT_MS);
	relay_fixture_connect(&b, relay.port, WAIT_MS);

	uint8_t bin[300];
	for (size_t i = 0; i < sizeof(bin); i++)
		bin[i] = (uint8_t)(i * 7);
	assert_int_equal(ws_raw_send_binary(&a, bin, sizeof(bin)), 0);
	expect_message(&b, WS_OP_BINARY, bin, sizeof(bin));
	expect_message(&a, WS_OP_BINARY, bin, sizeof(bin));

	const char *utf8 = "gr\xC3\xBC\xC3\x9F dich \xF0\x9F\x91\x8B";
	assert_int_equal(ws_raw_send_text(&b, utf8), 0);
	expect_message(&a, WS_OP_TEXT, utf8, strlen(utf8));
	expect_message(&b, WS_OP_TEXT, utf8, strlen(utf8));

	/* 70000 bytes: the 64-bit length form both ways. */
	size_t big_len = 70000;
	uint8_t *big = malloc(big_len);
	assert_non_null(big);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (uint8_t)(i ^ (i >> 8));
	assert_int_equal(ws_raw_send_binary(&a, big, big_len), 0);
	expect_message(&b, WS_OP_BINARY, big, big_len);
	expect_message(&a, WS_OP_BINARY, big, big_len);
	free(big);

	/* The empty message is a message too. */
	assert_int_equal(ws_raw_send_text(&a, ""), 0);
	expect_message(&b, WS_OP_TEXT, "", 0);
	expect_message(&a, WS_OP_TEXT, "", 0);

	close_client(&a);
	close_client(&b);
}

static void test_fragmented_message_is_relayed_whole(void **state)
{
	(void)state;
	struct ws_raw a, b;
	relay_fixture_connect(&a, relay.port, WAIT_MS);
	relay_fixture_connect(&b, relay.port, WAIT_MS);
	assert_int_equal(ws_raw_send_frame(&a, WS_OP_TEXT, "frag", 4, true), 0);
	/* A ping between fragments is allowed and must not break the message. */
	assert_int_equal(ws_raw_send_frame(&a, WS_FIN | WS_OP_PING, "p", 1, true), 0);
	assert_int_equal(ws_raw_send_frame(&a, WS_OP_CONT, "men", 3, true), 0);
	assert_int_equal(ws_raw_send_frame(&a, WS_FIN | WS_OP_CONT, "ted", 3, true), 0);

	/* b must see one final frame, not three fragments. */
	struct ws_raw_frame f;
	assert_int_equal(ws_raw_read_frame(&b, &f, WAIT_MS), WS_FRAME);
	assert_int_equal(f.opcode, WS_OP_TEXT);
	assert_true(f.fin);
	assert_int_equal(f.len, 10);
	assert_memory_equal(f.payload, "fragmented", 10);
	ws_raw_frame_free(&f);

	/* The sender gets its pong and its message back. */
	assert_int_equal(ws_raw_read_frame(&a, &f, WAIT_MS), WS_FRAME);
	assert_int_equal(f.opcode, WS_OP_PONG);
	assert_memory_equal(f.payload, "p", 1);
	ws_raw_frame_free(&f);
	expect_message(&a, WS_OP_TEXT, "fragmented", 10);
	close_client(&a);
	close_client(&b);
}

static void test_order_kept_per_sender(void **state)
{
	(void)state;
	struct ws_raw a, b;
	relay_fixture_connect(&a, relay.port, WAIT_MS);
	relay_fixture_connect(&b, relay.port, WAIT_MS);
	enum { COUNT = 500 };
	for (int i = 0; i < COUNT; i++) {
		char msg[32];
		snprintf(msg, sizeof(msg), "seq-%d", i);
		assert_int_equal(ws_raw_send_text(&a, msg), 0);
	}
	for (int i = 0; i < COUNT; i++) {
		char msg[32];
		snprintf(msg, sizeof(msg), "seq-%d", i);
		expect_message(&b, WS_OP_TEXT, msg, strlen(msg));
	}
	close_client(&a);
	close_client(&b);
}

/* 32 clients each send 200 messages at once: every client gets all 6400,
 * each exactly once, each sender's in the order sent. */
enum { STORM_CLIENTS = 32, STORM_MESSAGES = 200 };

static void test_concurrent_senders_exactly_once_in_order(void **state)
{
	(void)state;
	static struct storm_client clients[STORM_CLIENTS];
	for (int i = 0; i < STORM_CLIENTS; i++)
		relay_fixture_connect(&clients[i].ws, relay.port, WAIT_MS);
	int failed = storm_run(clients, STORM_CLIENTS, STORM_MESSAGES);
	if (failed >= 0)
		fail_msg("client %d: %s", failed, clients[failed].error);
	/* Nothing more: no duplicates arrive late. */
	for (int i = 0; i < STORM_CLIENTS; i++)
		expect_silence(&clients[i].ws, 50);
	for (int i = 0; i < STORM_CLIENTS; i++)
		close_client(&clients[i].ws);
}

static int count_in_stderr(const char *needle)
{
	char *text = test_file_read(relay.stderr_path, NULL);
	if (!text)
		return -1;
	int n = 0;
	for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
		n++;
	free(text);
	return n;
}

static uint16_t local_port(const struct ws_raw *c)
{
	struct sockaddr_in addr = {0};
	socklen_t len = sizeof(addr);
	assert_int_equal(getsockname(c->fd, (struct sockaddr *)&addr, &len), 0);
	return ntohs(addr.sin_port);
}

/* A client that vanishes without a close frame leaves the hub exactly once,
 * and the others keep receiving. */
static void test_vanished_client_does_not_disturb_others(void **state)
{
	(void)state;
	struct ws_raw a, b, gone;
	relay_fixture_connect(&a, relay.port, WAIT_MS);
	relay_fixture_connect(&b, relay.port, WAIT_MS);
	relay_fixture_connect(&gone, relay.port, WAIT_MS);
	char line[96];
	snprintf(line, sizeof(line), "client disconnected: 127.0.0.1:%u ", local_port(&gone));
	ws_raw_close(&gone);
	for (int i = 0; i < 50; i++) {
		char msg[16];
		snprintf(msg, sizeof(msg), "m%d", i);
		assert_int_equal(ws_raw_send_text(&a, msg), 0);
		expect_message(&b, WS_OP_TEXT, msg, strlen(msg));
		expect_message(&a, WS_OP_TEXT, msg, strlen(msg));
	}
	for (int waited = 0; count_in_stderr(line) < 1 && waited < WAIT_MS; waited += 20)
		usleep(20 * 1000);
	assert_int_equal(count_in_stderr(line), 1);
	close_client(&a);
	close_client(&b);
}

static void test_plain_get_on_websocket_path(void **state)
{
	(void)state;
	char resp[2048];
	int status = http_request(relay.port, "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", resp,
	                          sizeof(resp), WAIT_MS);
	assert_int_equal(status, 426);
	assert_non_null(strcasestr(resp, "Upgrade: websocket"));
}

static void test_upgrade_on_other_path_is_404(void **state)
{
	(void)state;
	struct ws_raw c;
	int status = 0;
	ws_raw_init(&c);
	assert_int_equal(ws_raw_connect(&c, relay.port, "/other", NULL, &status, WAIT_MS), -1);
	assert_int_equal(status, 404);
	ws_raw_close(&c);
	ws_raw_init(&c);
	assert_int_equal(ws_raw_connect(&c, relay.port, "/ws/sub", NULL, &status, WAIT_MS), -1);
	assert_int_equal(status, 404);
	ws_raw_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_connect_and_close_handshake),
	    cmocka_unit_test(test_broadcast_reaches_all_clients_and_sender),
	    cmocka_unit_test(test_text_and_binary_unchanged),
	    cmocka_unit_test(test_fragmented_message_is_relayed_whole),
	    cmocka_unit_test(test_order_kept_per_sender),
	    cmocka_unit_test(test_concurrent_senders_exactly_once_in_order),
	    cmocka_unit_test(test_vanished_client_does_not_disturb_others),
	    cmocka_unit_test(test_plain_get_on_websocket_path),
	    cmocka_unit_test(test_upgrade_on_other_path_is_404),
	};
	return cmocka_run_group_tests(tests, start_default, relay_fixture_stop);
}
