/* Keepalive against the real server: silent clients are pinged and then cut
 * at the idle timeout (counted as timeout); clients that answer stay. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "relay_process.h"
#include "ws_raw.h"
#include "relay_fixture.h"

#define WAIT_MS 20000 /* only a failure waits this long */
/* The idle timeout is 3 s: a cut later than this is no cut at all. */
#define CUT_WITHIN_S 60.0

static struct relay_process relay;

static int start_relay(void **state)
{
	*state = &relay; /* for relay_fixture_stop */
	if (relay_start(&relay, WSRELAY_BIN,
	                "server:\n  listen: \"127.0.0.1:@PORT@\"\n  document_root: \"\"\n"
	                "  max_connections: 8\n  ping_interval_seconds: 1\n"
	                "  idle_timeout_seconds: 3\n"
	                "metrics:\n  listen: \"127.0.0.1:@METRICS_PORT@\"\n") != 0)
		return -1;
	return relay_wait_listener(&relay, relay.metrics_port, WAIT_MS);
}

static double seconds_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A client that reads but never answers: pings arrive about every second,
 * and the connection ends once it has been silent for 3 s. */
static void test_silent_client_is_pinged_then_cut(void **state)
{
	(void)state;
	double before = relay_fixture_metric(
	    relay.metrics_port, "wsrelay_disconnections_total{reason=\"timeout\"}", WAIT_MS);
	struct ws_raw c;
	relay_fixture_connect(&c, relay.port, WAIT_MS);
	double start = seconds_now();
	int pings = 0;
	/* A relay that never cuts it keeps pinging: the loop ends anyway. */
	while (seconds_now() - start < CUT_WITHIN_S) {
		struct ws_raw_frame f;
		int r = ws_raw_read_frame(&c, &f, 10000);
		if (r == WS_EOF)
			break;
		assert_int_equal(r, WS_FRAME);
		if (f.opcode == WS_OP_PING)
			pings++;
		ws_raw_frame_free(&f);
	}
	double lasted = seconds_now() - start;
	ws_raw_close(&c);
	/* Pings at 1 s and 2 s, the end at 3 s. Never before (a slow machine
	 * only makes it later); the upper bound only tells a cut from none
	 * (or one at another timeout), far above what any load adds. */
	if (pings < 2 || lasted < 2.5 || lasted >= CUT_WITHIN_S)
		fail_msg("%d pings, cut after %.2f s", pings, lasted);
	if (!relay_fixture_wait_metric(relay.metrics_port,
	                               "wsrelay_disconnections_total{reason=\"timeout\"}",
	                               before + 1, WAIT_MS))
		fail_msg("the timeout was not counted");
}

/* A client that answers the pings outlives the idle timeout. */
static void test_answering_client_stays(void **state)
{
	(void)state;
	struct ws_raw c;
	relay_fixture_connect(&c, relay.port, WAIT_MS);
	double start = seconds_now();
	int pongs = 0;
	/* 5 s at least, and three pings answered (a loaded machine may ping
	 * later than every second; the idle timer is the relay's, too). */
	while ((seconds_now() - start < 5.0 || pongs < 3) && seconds_now() - start < CUT_WITHIN_S) {
		struct ws_raw_frame f;
		int r = ws_raw_read_frame(&c, &f, 500);
		if (r == WS_TIMEOUT)
			continue;
		assert_int_equal(r, WS_FRAME);
		if (f.opcode == WS_OP_PING) {
			assert_int_equal(
			    ws_raw_send_frame(&c, WS_FIN | WS_OP_PONG, f.payload, f.len, true), 0);
			pongs++;
		}
		ws_raw_frame_free(&f);
	}
	assert_true(pongs >= 3);
	/* Still relaying after 5 s, well past the 3 s idle limit. */
	assert_int_equal(ws_raw_send_text(&c, "alive"), 0);
	struct ws_raw_frame f;
	assert_int_equal(ws_raw_read_message(&c, &f, WAIT_MS), WS_FRAME);
	assert_string_equal((const char *)f.payload, "alive");
	ws_raw_frame_free(&f);
	ws_raw_send_close(&c, 1000, NULL);
	ws_raw_expect_eof(&c, WAIT_MS);
	ws_raw_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_silent_client_is_pinged_then_cut),
	    cmocka_unit_test(test_answering_client_stays),
	};
	return cmocka_run_group_tests(tests, start_relay, relay_fixture_stop);
}
