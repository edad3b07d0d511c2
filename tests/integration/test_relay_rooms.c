/* Rooms end to end: the real server binary, real sockets, raw clients. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "relay_fixture.h"
#include "relay_process.h"
#include "ws_raw.h"

#define WAIT_MS 10000

static struct relay_process relay;

static const char rooms_config[] = "server:\n"
                                   "  listen: \"127.0.0.1:@PORT@\"\n"
                                   "  max_connections: 64\n"
                                   "  document_root: \"\"\n"
                                   "metrics:\n"
                                   "  listen: \"127.0.0.1:@METRICS_PORT@\"\n"
                                   "rooms:\n"
                                   "  enabled: true\n"
                                   "logging:\n"
                                   "  level: info\n";

static int start_rooms(void **state)
{
	*state = &relay; /* for relay_fixture_stop */
	return relay_start(&relay, WSRELAY_BIN, rooms_config);
}

static void connect_room(struct ws_raw *c, const struct relay_process *rp, const char *path)
{
	int status = 0;
	ws_raw_init(c);
	if (ws_raw_connect(c, rp->port, path, NULL, &status, WAIT_MS) != 0)
		fail_msg("%s: status %d (%s)", path, status, c->err);
}

/* The status a handshake on path gets (101 when it is accepted). */
static int handshake_status(const struct relay_process *rp, const char *path)
{
	struct ws_raw c;
	int status = 0;
	ws_raw_init(&c);
	(void)ws_raw_connect(&c, rp->port, path, NULL, &status, WAIT_MS);
	ws_raw_close(&c);
	return status;
}

static double metric(const struct relay_process *rp, const char *series)
{
	return relay_fixture_metric(rp->metrics_port, series, WAIT_MS);
}

/* Polls the metric until it equals want, for up to WAIT_MS. */
static void await_metric(const struct relay_process *rp, const char *series, double want)
{
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	double got;
	for (;;) {
		got = metric(rp, series);
		if (got == want)
			return;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >
		    WAIT_MS)
			break;
		struct timespec pause = {0, 20L * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
	fail_msg("%s is %g, expected %g", series, got, want);
}

static char *read_text(struct ws_raw *c)
{
	struct ws_raw_frame f;
	int r = ws_raw_read_message(c, &f, WAIT_MS);
	if (r != WS_FRAME)
		fail_msg("no message: result %d (%s)", r, c->err);
	assert_int_equal(f.opcode, WS_OP_TEXT);
	return (char *)f.payload; /* NUL-terminated; the caller frees it */
}

static void expect_silence(struct ws_raw *c, int ms)
{
	struct ws_raw_frame f;
	int r = ws_raw_read_frame(c, &f, ms);
	if (r == WS_FRAME) {
		fail_msg("unexpected frame: %.*s", (int)f.len, (const char *)f.payload);
		ws_raw_frame_free(&f);
	}
	assert_int_equal(r, WS_TIMEOUT);
}

/* "room sender seq", as the isolation test sends them. */
static void parse_three(const char *msg, long *a, long *b, long *c)
{
	char *end = NULL;
	*a = strtol(msg, &end, 10);
	assert_true(*end == ' ');
	*b = strtol(end + 1, &end, 10);
	assert_true(*end == ' ');
	*c = strtol(end + 1, &end, 10);
	assert_true(*end == '\0');
}

#define ROOMS    3
#define PER_ROOM 5
#define MESSAGES 200

/* 3 rooms of 5 clients; every client sends 200 messages then "end". Each
 * client gets exactly its own room's messages (its own too: echo is on),
 * in each sender's order, and none from another room. */
static void test_isolation(void **state)
{
	(void)state;
	struct ws_raw c[ROOMS][PER_ROOM];
	char path[64], text[64];
	for (int r = 0; r < ROOMS; r++)
		for (int i = 0; i < PER_ROOM; i++) {
			snprintf(path, sizeof(path), "/ws/room-%d", r);
			connect_room(&c[r][i], &relay, path);
		}
	await_metric(&relay, "wsrelay_rooms", ROOMS);
	for (int m = 0; m < MESSAGES; m++)
		for (int r = 0; r < ROOMS; r++)
			for (int i = 0; i < PER_ROOM; i++) {
				snprintf(text, sizeof(text), "%d %d %d", r, i, m);
				assert_int_equal(ws_raw_send_text(&c[r][i], text), 0);
			}
	for (int r = 0; r < ROOMS; r++)
		for (int i = 0; i < PER_ROOM; i++)
			assert_int_equal(ws_raw_send_text(&c[r][i], "end"), 0);

	for (int r = 0; r < ROOMS; r++) {
		for (int i = 0; i < PER_ROOM; i++) {
			int next[PER_ROOM] = {0};
			int ends = 0, got = 0;
			/* Each sender's "end" follows its own 200 messages. */
			while (ends < PER_ROOM) {
				char *msg = read_text(&c[r][i]);
				long room, sender, seq;
				if (strcmp(msg, "end") == 0) {
					ends++;
				} else {
					parse_three(msg, &room, &sender, &seq);
					if (room != r)
						fail_msg("client %d of room %d got \"%s\"", i, r,
						         msg);
					assert_true(sender >= 0 && sender < PER_ROOM);
					assert_int_equal(seq, next[sender]);
					next[sender]++;
					got++;
				}
				free(msg);
			}
			assert_int_equal(got, PER_ROOM * MESSAGES);
			for (int s = 0; s < PER_ROOM; s++)
				assert_int_equal(next[s], MESSAGES);
		}
	}
	expect_silence(&c[0][0], 200);
	for (int r = 0; r < ROOMS; r++)
		for (int i = 0; i < PER_ROOM; i++)
			ws_raw_close(&c[r][i]);
	await_metric(&relay, "wsrelay_rooms", 0);
	await_metric(&relay, "wsrelay_connected_clients", 0);
}

/* websocket_path itself is the default room, "lobby". */
static void test_default_room(void **state)
{
	(void)state;
	struct ws_raw bare, named, other;
	connect_room(&bare, &relay, "/ws");
	connect_room(&named, &relay, "/ws/lobby?x=1");
	connect_room(&other, &relay, "/ws/lobby2");
	assert_int_equal(ws_raw_send_text(&bare, "hello"), 0);
	char *msg = read_text(&named);
	assert_string_equal(msg, "hello");
	free(msg);
	assert_int_equal(ws_raw_send_text(&named, "back"), 0);
	msg = read_text(&bare);
	assert_string_equal(msg, "hello"); /* its own, echoed */
	free(msg);
	msg = read_text(&bare);
	assert_string_equal(msg, "back");
	free(msg);
	expect_silence(&other, 200);
	ws_raw_close(&bare);
	ws_raw_close(&named);
	ws_raw_close(&other);
	await_metric(&relay, "wsrelay_connected_clients", 0);
	/* The connect and disconnect lines name the room. A client leaves the
	 * count before its line is written: waited for. */
	assert_true(relay_fixture_wait_log(&relay, "room lobby2", WAIT_MS));
	assert_true(relay_fixture_wait_log(&relay, "client disconnected: 127.0.0.1", WAIT_MS));
	assert_true(relay_fixture_wait_log(&relay, "room lobby (client_close)", WAIT_MS));
}

/* Decided on the path as sent: anything but one valid name is 404, before
 * the upgrade, and counted. */
static void test_bad_names_are_404(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "/ws/",
	    "/ws/a/",
	    "/ws/a/b",
	    "/ws/a%2Fb",
	    "/ws/a%2fb",
	    "/ws/%61",
	    "/ws/a%00",
	    "/ws/..",
	    "/ws/./a",
	    "/ws/../ws/a",
	    "/ws//a",
	    "/ws/a.",
	    "/ws/a..b",
	    "/ws/a:b",
	    "/ws/a%20b",
	    "/ws/%C3%A9",
	    "/ws/a*",
	    "/ws/a;b",
	    "/ws/12345678901234567890123456789012345678901234567890123456789012345"};
	double before = metric(&relay, "wsrelay_rooms_refused_total{reason=\"bad_name\"}");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int status = handshake_status(&relay, bad[i]);
		if (status != 404)
			fail_msg("%s: status %d", bad[i], status);
	}
	size_t refused = sizeof(bad) / sizeof(bad[0]);
	await_metric(&relay, "wsrelay_rooms_refused_total{reason=\"bad_name\"}",
	             before + (double)refused);
	/* 64 bytes is the longest name. */
	assert_int_equal(
	    handshake_status(
	        &relay, "/ws/1234567890123456789012345678901234567890123456789012345678901234"),
	    101);
	assert_int_equal(handshake_status(&relay, "/ws/A-z_0.9"), 101);
	/* Not under websocket_path at all: 404 as without rooms. */
	assert_int_equal(handshake_status(&relay, "/wsx"), 404);
	assert_int_equal(handshake_status(&relay, "/other/a"), 404);
}

/* A room exists while it has members: gone with the last, made again by
 * the next join. */
static void test_room_comes_and_goes(void **state)
{
	(void)state;
	await_metric(&relay, "wsrelay_rooms", 0);
	double joins = metric(&relay, "wsrelay_room_joins_total");
	struct ws_raw a, b;
	connect_room(&a, &relay, "/ws/again");
	await_metric(&relay, "wsrelay_rooms", 1);
	await_metric(&relay, "wsrelay_room_members_count", 1);
	ws_raw_close(&a);
	await_metric(&relay, "wsrelay_rooms", 0);
	connect_room(&a, &relay, "/ws/again");
	connect_room(&b, &relay, "/ws/again");
	await_metric(&relay, "wsrelay_rooms", 1);
	await_metric(&relay, "wsrelay_room_members_sum", 2);
	assert_int_equal(ws_raw_send_text(&a, "second life"), 0);
	char *msg = read_text(&b);
	assert_string_equal(msg, "second life");
	free(msg);
	ws_raw_close(&a);
	ws_raw_close(&b);
	await_metric(&relay, "wsrelay_rooms", 0);
	await_metric(&relay, "wsrelay_room_joins_total", joins + 3);
}

/* max_rooms and max_members: 503 before the upgrade, counted; default ""
 * refuses websocket_path itself. */
static void test_limits(void **state)
{
	(void)state;
	struct relay_process small;
	assert_int_equal(relay_start(&small, WSRELAY_BIN,
	                             "server:\n"
	                             "  listen: \"127.0.0.1:@PORT@\"\n"
	                             "  document_root: \"\"\n"
	                             "metrics:\n"
	                             "  listen: \"127.0.0.1:@METRICS_PORT@\"\n"
	                             "rooms:\n"
	                             "  enabled: true\n"
	                             "  default: \"\"\n"
	                             "  max_rooms: 2\n"
	                             "  max_members: 2\n"),
	                 0);
	assert_int_equal(handshake_status(&small, "/ws"), 404);
	struct ws_raw a[2], b, c;
	connect_room(&a[0], &small, "/ws/a");
	connect_room(&a[1], &small, "/ws/a");
	assert_int_equal(handshake_status(&small, "/ws/a"), 503);
	connect_room(&b, &small, "/ws/b");
	assert_int_equal(handshake_status(&small, "/ws/c"), 503);
	assert_int_equal(metric(&small, "wsrelay_rooms_refused_total{reason=\"max_members\"}"), 1);
	assert_int_equal(metric(&small, "wsrelay_rooms_refused_total{reason=\"max_rooms\"}"), 1);
	assert_int_equal(metric(&small, "wsrelay_rejected_handshakes_total{reason=\"capacity\"}"),
	                 2);
	/* Room b ends with its member: c fits now. */
	ws_raw_close(&b);
	await_metric(&small, "wsrelay_rooms", 1);
	connect_room(&c, &small, "/ws/c");
	assert_int_equal(ws_raw_send_text(&a[0], "to a"), 0);
	char *msg = read_text(&a[1]);
	assert_string_equal(msg, "to a");
	free(msg);
	expect_silence(&c, 200);
	ws_raw_close(&a[0]);
	ws_raw_close(&a[1]);
	ws_raw_close(&c);
	assert_int_equal(relay_stop(&small, SIGTERM, 15000), 0);
}

/* Rooms off: the one room for everyone, always there. */
static void test_disabled_has_one_room(void **state)
{
	(void)state;
	struct relay_process plain;
	assert_int_equal(relay_start(&plain, WSRELAY_BIN, NULL), 0);
	assert_int_equal(handshake_status(&plain, "/ws/a"), 404);
	assert_int_equal(metric(&plain, "wsrelay_rooms"), 1);
	assert_int_equal(metric(&plain, "wsrelay_rooms_refused_total{reason=\"bad_name\"}"), 0);
	struct ws_raw c;
	connect_room(&c, &plain, "/ws");
	ws_raw_close(&c);
	await_metric(&plain, "wsrelay_connected_clients", 0);
	assert_int_equal(relay_stderr_contains(&plain, " room "), 0);
	assert_int_equal(relay_stop(&plain, SIGTERM, 15000), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_isolation),
	    cmocka_unit_test(test_default_room),
	    cmocka_unit_test(test_bad_names_are_404),
	    cmocka_unit_test(test_room_comes_and_goes),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_disabled_has_one_room),
	};
	return cmocka_run_group_tests(tests, start_rooms, relay_fixture_stop);
}
