/* Limits and protocol violations against the real server: origins,
 * capacity, oversize messages, malformed frames, static files. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flooder.h"
#include "relay_process.h"
#include "ws_raw.h"
#include "relay_fixture.h"

#define WAIT_MS     20000 /* only a failure waits this long */
#define MAX_MESSAGE 65536
#define MAX_CLIENTS 3

static struct relay_process relay;

static const char limits_config[] =
    "server:\n"
    "  listen: \"127.0.0.1:@PORT@\"\n"
    "  max_connections: 3\n"
    "  max_message_bytes: 65536\n"
    "  document_root: \"" WSRELAY_SOURCE_DIR "/www\"\n"
    "  allowed_origins: [\"http://good.example\", \"https://good.example:8443\"]\n"
    "metrics:\n"
    "  listen: \"127.0.0.1:@METRICS_PORT@\"\n"
    "logging:\n"
    "  level: \"debug\"\n";

static int start_limits(void **state)
{
	*state = &relay; /* for relay_fixture_stop */
	return relay_start(&relay, WSRELAY_BIN, limits_config);
}

static int handshake(struct ws_raw *c, const char *headers)
{
	int status = 0;
	ws_raw_init(c);
	ws_raw_connect(c, relay.port, "/ws", headers, &status, WAIT_MS);
	return status;
}

static void connect_client(struct ws_raw *c)
{
	int status = handshake(c, NULL);
	if (status != 101)
		fail_msg("handshake: status %d, %s", status, c->err);
}

/* The server ends the connection with a close frame carrying code, then TCP
 * closes. */
static void expect_closed_with(struct ws_raw *c, uint16_t code)
{
	struct ws_raw_frame f;
	for (;;) {
		int r = ws_raw_read_frame(c, &f, WAIT_MS);
		if (r != WS_FRAME)
			fail_msg("expected close %u, got result %d (%s)", code, r, c->err);
		bool is_close = f.opcode == WS_OP_CLOSE;
		uint16_t got = f.close_code;
		ws_raw_frame_free(&f);
		if (is_close) {
			assert_int_equal(got, code);
			break;
		}
	}
	/* Nothing may follow a close frame: the next thing is the TCP close. */
	int r = ws_raw_read_frame(c, &f, WAIT_MS);
	if (r == WS_FRAME) {
		uint8_t opcode = f.opcode;
		ws_raw_frame_free(&f);
		fail_msg("a frame (opcode %u) followed the close frame", opcode);
	}
	assert_int_equal(r, WS_EOF);
	ws_raw_close(c);
}

static void close_client(struct ws_raw *c)
{
	assert_int_equal(ws_raw_send_close(c, 1000, NULL), 0);
	expect_closed_with(c, 1000);
}

/* After a client was thrown out, the relay still works for others. */
static void expect_relay_works(void)
{
	struct ws_raw a;
	connect_client(&a);
	assert_int_equal(ws_raw_send_text(&a, "still here"), 0);
	struct ws_raw_frame f;
	assert_int_equal(ws_raw_read_message(&a, &f, WAIT_MS), WS_FRAME);
	assert_string_equal((const char *)f.payload, "still here");
	ws_raw_frame_free(&f);
	close_client(&a);
}

static void test_allowed_origin_accepted(void **state)
{
	(void)state;
	struct ws_raw c;
	assert_int_equal(handshake(&c, "Origin: http://good.example\r\n"), 101);
	close_client(&c);
	assert_int_equal(handshake(&c, "Origin: https://good.example:8443\r\n"), 101);
	close_client(&c);
	/* No Origin: not a browser, so not a cross-site page. */
	assert_int_equal(handshake(&c, NULL), 101);
	close_client(&c);
}

static void test_disallowed_origin_gets_403(void **state)
{
	(void)state;
	struct ws_raw c;
	assert_int_equal(handshake(&c, "Origin: http://evil.example\r\n"), 403);
	ws_raw_close(&c);
	/* Exact match only: no prefix, no other port or scheme. */
	assert_int_equal(handshake(&c, "Origin: http://good.example.evil.example\r\n"), 403);
	ws_raw_close(&c);
	assert_int_equal(handshake(&c, "Origin: https://good.example\r\n"), 403);
	ws_raw_close(&c);
}

static void test_capacity_gets_503(void **state)
{
	(void)state;
	struct ws_raw c[MAX_CLIENTS], extra;
	for (int i = 0; i < MAX_CLIENTS; i++)
		connect_client(&c[i]);
	assert_int_equal(handshake(&extra, NULL), 503);
	assert_non_null(extra.http_head);
	assert_non_null(strcasestr(extra.http_head, "Retry-After"));
	ws_raw_close(&extra);

	/* A freed slot can be taken again (once the close handler, which may
	 * run after the client saw the close, has given it back). */
	close_client(&c[0]);
	int status = 0;
	for (int tries = 0; tries < WAIT_MS / 20; tries++) {
		status = handshake(&c[0], NULL);
		if (status == 101)
			break;
		ws_raw_close(&c[0]);
		usleep(20 * 1000);
	}
	assert_int_equal(status, 101);
	for (int i = 0; i < MAX_CLIENTS; i++)
		close_client(&c[i]);
}

static void test_oversize_frame_gets_1009(void **state)
{
	(void)state;
	struct ws_raw c;
	connect_client(&c);
	char *big = calloc(1, MAX_MESSAGE + 1);
	assert_non_null(big);
	/* Exactly the limit passes. */
	assert_int_equal(ws_raw_send_binary(&c, big, MAX_MESSAGE), 0);
	struct ws_raw_frame f;
	assert_int_equal(ws_raw_read_message(&c, &f, WAIT_MS), WS_FRAME);
	assert_int_equal(f.len, MAX_MESSAGE);
	ws_raw_frame_free(&f);
	/* One byte more does not. */
	ws_raw_send_binary(&c, big, MAX_MESSAGE + 1);
	free(big);
	expect_closed_with(&c, 1009);
	expect_relay_works();
}

static void test_oversize_fragmented_message_gets_1009(void **state)
{
	(void)state;
	struct ws_raw c;
	connect_client(&c);
	char *part = calloc(1, MAX_MESSAGE / 2);
	assert_non_null(part);
	assert_int_equal(ws_raw_send_frame(&c, WS_OP_BINARY, part, MAX_MESSAGE / 2, true), 0);
	assert_int_equal(ws_raw_send_frame(&c, WS_OP_CONT, part, MAX_MESSAGE / 2, true), 0);
	ws_raw_send_frame(&c, WS_FIN | WS_OP_CONT, part, 1, true);
	free(part);
	expect_closed_with(&c, 1009);
}

/* The header alone claims 1.5 GiB: refused at once, nothing allocated. */
static void test_declared_length_refused_before_allocation(void **state)
{
	(void)state;
	long before = relay_hwm_kib(relay.pid);
	assert_true(before > 0);
	struct ws_raw c;
	connect_client(&c);
	assert_int_equal(ws_raw_send_header_only(&c, WS_FIN | WS_OP_BINARY, 1536ULL << 20), 0);
	expect_closed_with(&c, 1009);

	/* A real 8 MiB frame over the 64 KiB limit: refused from its header, so
	 * the server never holds it (the client's send fails midway). */
	size_t len = 8u << 20;
	char *big = calloc(1, len);
	assert_non_null(big);
	connect_client(&c);
	ws_raw_send_binary(&c, big, len);
	free(big);
	expect_closed_with(&c, 1009);

	long after = relay_hwm_kib(relay.pid);
	if (after - before >= 4096)
		fail_msg("peak RSS grew by %ld KiB", after - before);
	expect_relay_works();
}

static void test_reserved_bits_get_1002(void **state)
{
	(void)state;
	struct ws_raw c;
	connect_client(&c);
	assert_int_equal(ws_raw_send_frame(&c, WS_FIN | WS_RSV1 | WS_OP_TEXT, "x", 1, true), 0);
	expect_closed_with(&c, 1002);
}

static void test_unknown_opcode_gets_1002(void **state)
{
	(void)state;
	struct ws_raw c;
	connect_client(&c);
	assert_int_equal(ws_raw_send_frame(&c, WS_FIN | 0x3, "x", 1, true), 0);
	expect_closed_with(&c, 1002);
	connect_client(&c);
	assert_int_equal(ws_raw_send_frame(&c, WS_FIN | 0xB, "x", 1, true), 0);
	expect_closed_with(&c, 1002);
}

static void test_continuation_without_start_gets_1002(void **state)
{
	(void)state;
	struct ws_raw c;
	connect_client(&c);
	assert_int_equal(ws_raw_send_frame(&c, WS_FIN | WS_OP_CONT, "x", 1, true), 0);
	expect_closed_with(&c, 1002);
	/* A new message while one is still open is the same violation. */
	connect_client(&c);
	assert_int_equal(ws_raw_send_frame(&c, WS_OP_TEXT, "a", 1, true), 0);
	assert_int_equal(ws_raw_send_frame(&c, WS_FIN | WS_OP_TEXT, "b", 1, true), 0);
	expect_closed_with(&c, 1002);
}

static void test_invalid_utf8_gets_1007(void **state)
{
	(void)state;
	struct ws_raw a, bad;
	connect_client(&a);
	connect_client(&bad);
	assert_int_equal(ws_raw_send_frame(&bad, WS_FIN | WS_OP_TEXT, "ok\xC0\xAF", 4, true), 0);
	expect_closed_with(&bad, 1007);
	/* The invalid message was not relayed. */
	struct ws_raw_frame f;
	assert_int_equal(ws_raw_read_frame(&a, &f, 200), WS_TIMEOUT);
	close_client(&a);
}

static void test_bad_control_frames_get_1002(void **state)
{
	(void)state;
	struct ws_raw c;
	char payload[126];
	memset(payload, 'p', sizeof(payload));
	connect_client(&c);
	assert_int_equal(ws_raw_send_frame(&c, WS_FIN | WS_OP_CLOSE, payload, 126, true), 0);
	expect_closed_with(&c, 1002);
	/* Close codes a peer may not send. */
	connect_client(&c);
	assert_int_equal(ws_raw_send_close(&c, 1005, NULL), 0);
	expect_closed_with(&c, 1002);
	connect_client(&c);
	assert_int_equal(ws_raw_send_frame(&c, WS_FIN | WS_OP_CLOSE, "\x03", 1, true), 0);
	expect_closed_with(&c, 1002);
}

static void test_unmasked_frame_gets_1002(void **state)
{
	(void)state;
	struct ws_raw c;
	connect_client(&c);
	assert_int_equal(ws_raw_send_frame(&c, WS_FIN | WS_OP_TEXT, "bare", 4, false), 0);
	expect_closed_with(&c, 1002);
}

/* Checked before CivetWeb's own ping handling, which would answer them. */
static void test_malformed_pings_get_1002(void **state)
{
	(void)state;
	struct ws_raw c;
	char payload[126];
	memset(payload, 'p', sizeof(payload));
	connect_client(&c);
	assert_int_equal(ws_raw_send_frame(&c, WS_FIN | WS_OP_PING, payload, 126, true), 0);
	expect_closed_with(&c, 1002);
	connect_client(&c);
	assert_int_equal(ws_raw_send_frame(&c, WS_OP_PING, "p", 1, true), 0);
	expect_closed_with(&c, 1002);
	connect_client(&c);
	assert_int_equal(ws_raw_send_frame(&c, WS_FIN | WS_RSV2 | WS_OP_PING, "p", 1, true), 0);
	expect_closed_with(&c, 1002);
	/* A good ping gets its pong. */
	connect_client(&c);
	assert_int_equal(ws_raw_send_frame(&c, WS_FIN | WS_OP_PING, payload, 125, true), 0);
	struct ws_raw_frame f;
	assert_int_equal(ws_raw_read_frame(&c, &f, WAIT_MS), WS_FRAME);
	assert_int_equal(f.opcode, WS_OP_PONG);
	assert_int_equal(f.len, 125);
	ws_raw_frame_free(&f);
	close_client(&c);
}

static void test_bad_websocket_key_gets_400(void **state)
{
	(void)state;
	char resp[2048];
	int status =
	    http_request(relay.port,
	                 "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
	                 "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
	                 "Sec-WebSocket-Key: "
	                 "dGhlIHNhbXBsZSBub25jZQ==dGhlIHNhbXBsZSBub25jZQ==dGhlIHNhbXBsZSBub25j"
	                 "ZQ==\r\n\r\n",
	                 resp, sizeof(resp), WAIT_MS);
	assert_int_equal(status, 400);
	expect_relay_works();
}

/* While others relay a stream of messages, a client refused for an
 * oversize frame gets its close 1009 as the very last frame. */
static void test_no_frame_after_refusal_under_load(void **state)
{
	(void)state;
	/* static: a failed assertion leaves the test before flooder_stop. */
	static struct flooder fl;
	assert_int_equal(flooder_start(&fl, relay.port, 2048, 200), 0);
	char *big = calloc(1, MAX_MESSAGE + 1);
	assert_non_null(big);
	for (int i = 0; i < 20; i++) {
		struct ws_raw c;
		connect_client(&c);
		usleep(2000);
		ws_raw_send_binary(&c, big, MAX_MESSAGE + 1);
		expect_closed_with(&c, 1009);
	}
	free(big);
	assert_true(flooder_stop(&fl) > 0);
}

static void test_close_codes_are_echoed(void **state)
{
	(void)state;
	struct ws_raw c;
	connect_client(&c);
	assert_int_equal(ws_raw_send_close(&c, 4000, "app reason"), 0);
	expect_closed_with(&c, 4000);
	/* An empty close gets an empty close. */
	connect_client(&c);
	assert_int_equal(ws_raw_send_close(&c, 0, NULL), 0);
	expect_closed_with(&c, 0);
}

static void test_static_page_served(void **state)
{
	(void)state;
	char resp[65536];
	int status = http_request(relay.port, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", resp,
	                          sizeof(resp), WAIT_MS);
	assert_int_equal(status, 200);
	assert_non_null(strstr(resp, "<html"));
	status = http_request(relay.port, "GET /missing.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
	                      resp, sizeof(resp), WAIT_MS);
	assert_int_equal(status, 404);
}

/* ---- echo_to_sender: false, on a server of its own ---- */

static const char no_echo_config[] = "server:\n"
                                     "  listen: \"127.0.0.1:@PORT@\"\n"
                                     "  max_connections: 8\n"
                                     "  document_root: \"\"\n"
                                     "relay:\n"
                                     "  echo_to_sender: false\n"
                                     "metrics:\n"
                                     "  listen: \"127.0.0.1:@METRICS_PORT@\"\n";

static int start_no_echo(void **state)
{
	*state = &relay; /* for relay_fixture_stop */
	return relay_start(&relay, WSRELAY_BIN, no_echo_config);
}

static void test_sender_does_not_get_own_message(void **state)
{
	(void)state;
	struct ws_raw a, b;
	connect_client(&a);
	connect_client(&b);
	assert_int_equal(ws_raw_send_text(&a, "from a"), 0);
	assert_int_equal(ws_raw_send_text(&b, "from b"), 0);
	struct ws_raw_frame f;
	assert_int_equal(ws_raw_read_message(&b, &f, WAIT_MS), WS_FRAME);
	assert_string_equal((const char *)f.payload, "from a");
	ws_raw_frame_free(&f);
	assert_int_equal(ws_raw_read_message(&a, &f, WAIT_MS), WS_FRAME);
	assert_string_equal((const char *)f.payload, "from b");
	ws_raw_frame_free(&f);
	assert_int_equal(ws_raw_read_frame(&a, &f, 200), WS_TIMEOUT);
	assert_int_equal(ws_raw_read_frame(&b, &f, 200), WS_TIMEOUT);
	close_client(&a);
	close_client(&b);
}

/* static file serving is off when document_root is "". */
static void test_no_document_root_serves_no_files(void **state)
{
	(void)state;
	char resp[4096];
	int status = http_request(relay.port, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", resp,
	                          sizeof(resp), WAIT_MS);
	assert_int_equal(status, 404);
}

int main(void)
{
	const struct CMUnitTest limits[] = {
	    cmocka_unit_test(test_allowed_origin_accepted),
	    cmocka_unit_test(test_disallowed_origin_gets_403),
	    cmocka_unit_test(test_capacity_gets_503),
	    cmocka_unit_test(test_oversize_frame_gets_1009),
	    cmocka_unit_test(test_oversize_fragmented_message_gets_1009),
	    cmocka_unit_test(test_declared_length_refused_before_allocation),
	    cmocka_unit_test(test_reserved_bits_get_1002),
	    cmocka_unit_test(test_unknown_opcode_gets_1002),
	    cmocka_unit_test(test_continuation_without_start_gets_1002),
	    cmocka_unit_test(test_invalid_utf8_gets_1007),
	    cmocka_unit_test(test_bad_control_frames_get_1002),
	    cmocka_unit_test(test_unmasked_frame_gets_1002),
	    cmocka_unit_test(test_malformed_pings_get_1002),
	    cmocka_unit_test(test_bad_websocket_key_gets_400),
	    cmocka_unit_test(test_no_frame_after_refusal_under_load),
	    cmocka_unit_test(test_close_codes_are_echoed),
	    cmocka_unit_test(test_static_page_served),
	};
	const struct CMUnitTest no_echo[] = {
	    cmocka_unit_test(test_sender_does_not_get_own_message),
	    cmocka_unit_test(test_no_document_root_serves_no_files),
	};
	int failed =
	    cmocka_run_group_tests_name("limits", limits, start_limits, relay_fixture_stop);
	failed +=
	    cmocka_run_group_tests_name("no_echo", no_echo, start_no_echo, relay_fixture_stop);
	return failed;
}
