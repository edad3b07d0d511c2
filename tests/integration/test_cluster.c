/* Cluster mode end to end: real relay binaries on one real broker,
 * Debian's redis-server or nats-server, named by the first argument
 * ("redis" or "nats"), so ctest runs the same suite once per backend. */
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

#include "broker_process.h"
#include "cluster_fixture.h"
#include "relay_process.h"
#include "ws_raw.h"
#include "relay_fixture.h"
#include "storm.h"

/* Generous: only a failure waits this long, and sanitizer builds on a
 * loaded machine are slow. */
#define WAIT_MS      20000
#define LINK_WAIT_MS 30000 /* a reconnect may sit out the longest backoff */
#define SCRAPE_CAP   (64 * 1024)

static struct cluster_fixture cf;

static const char node_config[] = "server:\n"
                                  "  listen: \"127.0.0.1:@PORT@\"\n"
                                  "  max_connections: 32\n"
                                  "  document_root: \"\"\n"
                                  /* fits a default nats-server's max_payload */
                                  "  max_message_bytes: 1047552\n"
                                  "metrics:\n"
                                  "  listen: \"127.0.0.1:@METRICS_PORT@\"\n"
                                  "cluster:\n"
                                  "  enabled: true\n"
                                  "  broker: \"%s\"\n"
                                  "  url: \"%s\"\n"
                                  "  channel: \"%s\"\n"
                                  "  node_id: \"node%zu\"\n"
                                  "%s"
                                  "shutdown:\n"
                                  "  timeout_seconds: 5\n";

/* ---- the cluster under test ---- */

/* extra: more keys for the cluster section, each line indented by two. */
static void start_nodes_with(size_t count, const char *extra)
{
	char url[128], yaml[sizeof(node_config) + 512];
	broker_url(&cf.broker, url, sizeof(url));
	for (size_t i = 0; i < count; i++) {
		snprintf(yaml, sizeof(yaml), node_config, broker_kind_name(cf.kind), url,
		         cf.channel, i + 1, extra);
		cluster_fixture_start_node(&cf, i, WSRELAY_BIN, yaml);
	}
}

static int setup(void **state)
{
	(void)state;
	return cluster_fixture_setup(&cf, "wsrelay-test");
}

static int teardown(void **state)
{
	(void)state;
	return cluster_fixture_teardown(&cf);
}

static void start_nodes(size_t count)
{
	start_nodes_with(count, "");
}

/* ---- metrics ---- */

/* Waits until series on node is at least want (counters and the gauge only
 * ever move that way in these tests). */
static void expect_metric_at_least(const struct relay_process *node, const char *series,
                                   double want, int timeout_ms)
{
	if (!relay_fixture_wait_metric_at_least(node->metrics_port, series, want, timeout_ms))
		fail_msg("on the node of port %u", node->port);
}

static void expect_connected(const struct relay_process *node, bool connected)
{
	if (!relay_fixture_wait_metric(node->metrics_port, "wsrelay_cluster_connected",
	                               connected ? 1 : 0, LINK_WAIT_MS))
		fail_msg("on the node of port %u", node->port);
}

/* ---- clients ---- */

static void send_text(struct ws_raw *c, const char *text)
{
	if (ws_raw_send_text(c, text) != 0)
		fail_msg("send failed: %s", c->err);
}

/* The next text message into buf; false on timeout. */
static bool read_text(struct ws_raw *c, char *buf, size_t cap, int timeout_ms)
{
	struct ws_raw_frame f;
	int r = ws_raw_read_message(c, &f, timeout_ms);
	if (r == WS_TIMEOUT)
		return false;
	if (r != WS_FRAME || f.opcode != WS_OP_TEXT)
		fail_msg("expected a text message, got result %d opcode %d (%s)", r, f.opcode,
		         c->err);
	snprintf(buf, cap, "%s", (const char *)f.payload);
	ws_raw_frame_free(&f);
	return true;
}

static void expect_text(struct ws_raw *c, const char *want)
{
	char got[256];
	if (!read_text(c, got, sizeof(got), WAIT_MS))
		fail_msg("no message, expected \"%s\"", want);
	assert_string_equal(got, want);
}

static void expect_silence(struct ws_raw *c, int ms)
{
	char got[256];
	if (read_text(c, got, sizeof(got), ms))
		fail_msg("unexpected message \"%s\"", got);
}

/* Messages "<phase>-<index>" from one sender, read in the order they came:
 * each must come after the one before (no duplicate, order kept). */
struct ordered_reader {
	struct ws_raw *ws;
	long last; /* phase * 100000 + index of the last message, -1 before any */
};

/* "<a><sep><b>" with decimal a and b, nothing else; false if not. */
static bool parse_pair(const char *s, char sep, int *a, int *b)
{
	char *end;
	long x = strtol(s, &end, 10);
	if (end == s || *end != sep || x < 0 || x > 99999)
		return false;
	const char *second = end + 1;
	long y = strtol(second, &end, 10);
	if (end == second || *end != '\0' || y < 0 || y > 99999)
		return false;
	*a = (int)x;
	*b = (int)y;
	return true;
}

/* Reads one message, checking its place; returns its phase and index. */
static bool read_ordered(struct ordered_reader *r, int timeout_ms, int *phase, int *index)
{
	char got[64];
	*phase = *index = -1;
	if (!read_text(r->ws, got, sizeof(got), timeout_ms))
		return false;
	if (got[0] != 'p' || !parse_pair(got + 1, '-', phase, index))
		fail_msg("malformed message \"%s\"", got);
	long key = (long)*phase * 100000 + *index;
	if (key <= r->last)
		fail_msg("\"%s\" after p%ld-%ld: duplicate or out of order", got, r->last / 100000,
		         r->last % 100000);
	r->last = key;
	return true;
}

static void send_phase(struct ws_raw *c, int phase, int count)
{
	for (int i = 0; i < count; i++) {
		char msg[32];
		snprintf(msg, sizeof(msg), "p%d-%d", phase, i);
		send_text(c, msg);
	}
}

/* Reads until p<phase>-<count-1>, requiring all of that phase in order;
 * earlier phases may still trickle in before it. */
static void expect_phase(struct ordered_reader *r, int phase, int count)
{
	int next = 0;
	while (next < count) {
		int p = -1, i = -1;
		if (!read_ordered(r, WAIT_MS, &p, &i))
			fail_msg("timed out waiting for p%d-%d", phase, next);
		if (p < phase)
			continue;
		if (p != phase || i != next)
			fail_msg("got p%d-%d, expected p%d-%d", p, i, phase, next);
		next++;
	}
}

/* Sends p<phase>-0, -1, ... from sender, one at a time, until receiver
 * gets one of them: whatever the broker is doing, from then on messages
 * cross. No timing is asserted; the loop only gives up after LINK_WAIT_MS. */
static void probe_until_crossing(struct ws_raw *sender, struct ordered_reader *receiver, int phase)
{
	for (int i = 0; i * 200 < LINK_WAIT_MS; i++) {
		char msg[32];
		snprintf(msg, sizeof(msg), "p%d-%d", phase, i);
		send_text(sender, msg);
		int p = -1, idx = -1;
		while (read_ordered(receiver, 200, &p, &idx))
			if (p == phase)
				return;
	}
	fail_msg("no message crossed from one node to the other");
}

/* ---- the storm: everyone sends, everyone gets everything once ---- */

enum { STORM_CLIENTS = 10, STORM_MESSAGES = 100 };

static void test_three_nodes_exactly_once_in_order(void **state)
{
	(void)state;
	static struct storm_client clients[STORM_CLIENTS];

	assert_int_equal(broker_start(&cf.broker), 0);
	start_nodes(3);
	for (size_t n = 0; n < cf.node_count; n++)
		expect_connected(&cf.nodes[n], true);

	for (int i = 0; i < STORM_CLIENTS; i++)
		relay_fixture_connect(&clients[i].ws, cf.nodes[i % 3].port, WAIT_MS);
	int failed = storm_run(clients, STORM_CLIENTS, STORM_MESSAGES);
	if (failed >= 0)
		fail_msg("client %d: %s", failed, clients[failed].error);
	/* No duplicate arrives late. */
	for (int i = 0; i < STORM_CLIENTS; i++)
		expect_silence(&clients[i].ws, 100);
	/* Node n has clients n, n+3, ...: 4, 3 and 3 of them. A node counts
	 * a publish once the broker took it, which may be after the other
	 * nodes' clients read the message: waited for. Once every count is
	 * in, nothing is moving, and the zeros below are final. */
	for (size_t n = 0; n < cf.node_count; n++) {
		double local = (n == 0 ? 4 : 3) * STORM_MESSAGES;
		assert_true(relay_fixture_wait_metric(
		    cf.nodes[n].metrics_port, "wsrelay_cluster_published_total", local, WAIT_MS));
		assert_true(relay_fixture_wait_metric(
		    cf.nodes[n].metrics_port, "wsrelay_cluster_received_total",
		    STORM_CLIENTS * STORM_MESSAGES - local, WAIT_MS));
	}
	for (size_t n = 0; n < cf.node_count; n++) {
		assert_true(relay_fixture_metric(cf.nodes[n].metrics_port,
		                                 "wsrelay_cluster_gaps_total", WAIT_MS) == 0);
		assert_true(
		    relay_fixture_metric(cf.nodes[n].metrics_port,
		                         "wsrelay_cluster_dropped_total{reason=\"queue_full\"}",
		                         WAIT_MS) == 0);
		assert_true(relay_fixture_metric(cf.nodes[n].metrics_port,
		                                 "wsrelay_cluster_malformed_total", WAIT_MS) == 0);
	}
	for (int i = 0; i < STORM_CLIENTS; i++)
		ws_raw_close(&clients[i].ws);
}

/* ---- broker loss ---- */

/* Sends p<phase>-0, -1, ... from its own thread until told to stop. */
struct streamer {
	struct ws_raw *ws;
	int phase;
	atomic_bool stop;
	int sent;
	char error[200];
};

static void *stream_thread(void *arg)
{
	struct streamer *s = arg;
	while (!atomic_load(&s->stop)) {
		char msg[32];
		snprintf(msg, sizeof(msg), "p%d-%d", s->phase, s->sent);
		if (ws_raw_send_text(s->ws, msg) != 0) {
			snprintf(s->error, sizeof(s->error), "send: %s", s->ws->err);
			return NULL;
		}
		s->sent++;
		usleep(5 * 1000);
	}
	return NULL;
}

static void test_broker_restart_mid_stream(void **state)
{
	(void)state;
	struct ws_raw a1, a2, b1;
	assert_int_equal(broker_start(&cf.broker), 0);
	start_nodes(2);
	expect_connected(&cf.nodes[0], true);
	expect_connected(&cf.nodes[1], true);
	relay_fixture_connect(&a1, cf.nodes[0].port, WAIT_MS);
	relay_fixture_connect(&a2, cf.nodes[0].port, WAIT_MS);
	relay_fixture_connect(&b1, cf.nodes[1].port, WAIT_MS);
	struct ordered_reader local = {.ws = &a2, .last = -1};
	struct ordered_reader remote = {.ws = &b1, .last = -1};

	/* Before: across nodes. */
	send_phase(&a1, 1, 20);
	expect_phase(&local, 1, 20);
	expect_phase(&remote, 1, 20);

	/* a1 keeps sending while the broker goes away and comes back on the
	 * same port; both nodes find it again on their own. */
	struct streamer stream = {.ws = &a1, .phase = 2};
	pthread_t thread;
	assert_int_equal(pthread_create(&thread, NULL, stream_thread, &stream), 0);
	assert_int_equal(broker_stop(&cf.broker), 0);
	expect_connected(&cf.nodes[0], false);
	expect_connected(&cf.nodes[1], false);
	assert_int_equal(broker_start(&cf.broker), 0);
	expect_connected(&cf.nodes[0], true);
	expect_connected(&cf.nodes[1], true);
	atomic_store(&stream.stop, true);
	pthread_join(thread, NULL);
	if (stream.error[0])
		fail_msg("streaming client: %s", stream.error);
	expect_metric_at_least(&cf.nodes[0], "wsrelay_cluster_reconnects_total", 1, WAIT_MS);
	expect_metric_at_least(&cf.nodes[1], "wsrelay_cluster_reconnects_total", 1, WAIT_MS);

	/* Local delivery never stopped: a2 has every message of the stream. */
	expect_phase(&local, 2, stream.sent);

	/* Across nodes again, in order, nothing twice. What a1 sent during
	 * the outage waited in node 1's queue; it reached b1 if node 2 was
	 * subscribed again by the time it went out (else it is a gap). */
	probe_until_crossing(&a1, &remote, 3);
	send_phase(&a1, 4, 20);
	expect_phase(&remote, 4, 20);
	expect_phase(&local, 4, 20);
	/* Once every message a1 sent is published (counted after the broker
	 * took it), none can still be dropped. */
	expect_metric_at_least(&cf.nodes[0], "wsrelay_cluster_published_total",
	                       20 + stream.sent + 1 + 20, WAIT_MS);
	assert_true(relay_fixture_metric(cf.nodes[0].metrics_port,
	                                 "wsrelay_cluster_dropped_total{reason=\"queue_full\"}",
	                                 WAIT_MS) == 0);
	ws_raw_close(&a1);
	ws_raw_close(&a2);
	ws_raw_close(&b1);
}

static void test_broker_unreachable_at_start(void **state)
{
	(void)state;
	struct ws_raw a1, a2, b1;
	/* broker_init picked the port; nothing listens there yet. */
	start_nodes(2);
	relay_fixture_connect(&a1, cf.nodes[0].port, WAIT_MS);
	relay_fixture_connect(&a2, cf.nodes[0].port, WAIT_MS);
	relay_fixture_connect(&b1, cf.nodes[1].port, WAIT_MS);
	struct ordered_reader local = {.ws = &a2, .last = -1};
	struct ordered_reader remote = {.ws = &b1, .last = -1};

	send_phase(&a1, 1, 10);
	expect_phase(&local, 1, 10);
	assert_true(relay_fixture_metric(cf.nodes[0].metrics_port, "wsrelay_cluster_connected",
	                                 WAIT_MS) == 0);
	assert_true(relay_fixture_metric(cf.nodes[1].metrics_port, "wsrelay_cluster_connected",
	                                 WAIT_MS) == 0);
	/* Logged by the broker thread, in its own time. */
	assert_true(relay_fixture_wait_log(&cf.nodes[0], "broker not reachable", WAIT_MS));

	assert_int_equal(broker_start(&cf.broker), 0);
	expect_connected(&cf.nodes[0], true);
	expect_connected(&cf.nodes[1], true);
	/* The first link is a connect, not a reconnect: the line comes after
	 * the link's counting, so the count is final by then. */
	assert_true(relay_fixture_wait_log(&cf.nodes[0], "cluster: connected to", WAIT_MS));
	assert_true(relay_fixture_metric(cf.nodes[0].metrics_port,
	                                 "wsrelay_cluster_reconnects_total", WAIT_MS) == 0);
	probe_until_crossing(&a1, &remote, 2);
	send_phase(&a1, 3, 20);
	expect_phase(&remote, 3, 20);
	expect_phase(&local, 3, 20);
	ws_raw_close(&a1);
	ws_raw_close(&a2);
	ws_raw_close(&b1);
}

/* The queue in front of a dead broker holds cluster.queue_messages; the
 * rest is dropped and counted, never blocking the local fan-out. */
static void test_bounded_queue_while_broker_down(void **state)
{
	(void)state;
	struct ws_raw a;
	assert_int_equal(broker_start(&cf.broker), 0);
	start_nodes_with(1, "  queue_messages: 10\n");
	expect_connected(&cf.nodes[0], true);
	relay_fixture_connect(&a, cf.nodes[0].port, WAIT_MS);
	struct ordered_reader local = {.ws = &a, .last = -1};

	assert_int_equal(broker_stop(&cf.broker), 0);
	expect_connected(&cf.nodes[0], false);
	send_phase(&a, 1, 30);
	expect_phase(&local, 1, 30);
	expect_metric_at_least(&cf.nodes[0], "wsrelay_cluster_dropped_total{reason=\"queue_full\"}",
	                       20, WAIT_MS);
	assert_true(relay_fixture_metric(cf.nodes[0].metrics_port,
	                                 "wsrelay_cluster_dropped_total{reason=\"queue_full\"}",
	                                 WAIT_MS) == 20);
	assert_true(relay_fixture_metric(cf.nodes[0].metrics_port, "wsrelay_cluster_queue_messages",
	                                 WAIT_MS) == 10);
	assert_true(relay_fixture_metric(cf.nodes[0].metrics_port,
	                                 "wsrelay_cluster_published_total", WAIT_MS) == 0);

	/* The ten queued go out once the broker is back. */
	assert_int_equal(broker_start(&cf.broker), 0);
	expect_connected(&cf.nodes[0], true);
	expect_metric_at_least(&cf.nodes[0], "wsrelay_cluster_published_total", 10, LINK_WAIT_MS);
	assert_true(relay_fixture_wait_metric(cf.nodes[0].metrics_port,
	                                      "wsrelay_cluster_queue_messages", 0, WAIT_MS));
	assert_true(relay_fixture_metric(cf.nodes[0].metrics_port,
	                                 "wsrelay_cluster_dropped_total{reason=\"queue_full\"}",
	                                 WAIT_MS) == 20);
	ws_raw_close(&a);
}

/* ---- what else may arrive on the channel ---- */

static void publish(const void *data, size_t len)
{
	assert_int_equal(broker_publish_raw(&cf.broker, cf.channel, data, len), 0);
}

static void test_foreign_messages_on_the_channel(void **state)
{
	(void)state;
	struct ws_raw c;
	uint8_t buf[256];
	assert_int_equal(broker_start(&cf.broker), 0);
	start_nodes(1);
	expect_connected(&cf.nodes[0], true);
	relay_fixture_connect(&c, cf.nodes[0].port, WAIT_MS);

	/* Not ours, a newer version, cut short, bad UTF-8: dropped, counted. */
	publish("hello", 5);
	size_t n = cluster_fixture_envelope(buf, "peer", 100, "x");
	buf[1] = 3;
	publish(buf, n);
	publish(buf, 3);
	n = cluster_fixture_envelope(buf, "peer", 100, "\xff");
	publish(buf, n);
	expect_metric_at_least(&cf.nodes[0], "wsrelay_cluster_malformed_total", 4, WAIT_MS);

	/* A peer's messages: a duplicate is dropped, a gap counted. */
	n = cluster_fixture_envelope(buf, "peer", 100, "first");
	publish(buf, n);
	publish(buf, n);
	n = cluster_fixture_envelope(buf, "peer", 103, "after a gap");
	publish(buf, n);
	expect_text(&c, "first");
	expect_text(&c, "after a gap");
	expect_metric_at_least(&cf.nodes[0], "wsrelay_cluster_gaps_total", 2, WAIT_MS);
	assert_true(relay_fixture_metric(cf.nodes[0].metrics_port, "wsrelay_cluster_gaps_total",
	                                 WAIT_MS) == 2);
	assert_true(relay_fixture_metric(cf.nodes[0].metrics_port, "wsrelay_cluster_received_total",
	                                 WAIT_MS) == 2);
	expect_silence(&c, 100);

	/* Another node under this node's id (a configuration mistake): never
	 * delivered, counted and logged as an error. */
	n = cluster_fixture_envelope(buf, "node1", 5, "impostor");
	publish(buf, n);
	expect_metric_at_least(&cf.nodes[0], "wsrelay_cluster_malformed_total", 5, WAIT_MS);
	/* Logged just after the count. */
	assert_true(relay_fixture_wait_log(&cf.nodes[0], "another node publishes as node id node1",
	                                   WAIT_MS));
	expect_silence(&c, 100);

	/* And the node still relays. */
	send_text(&c, "still here");
	expect_text(&c, "still here");
	ws_raw_close(&c);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(int argc, char **argv)
{
	if (cluster_fixture_args(&cf, argc, argv, "test_cluster") != 0)
		return 2;
	const struct CMUnitTest tests[] = {
	    TEST(test_three_nodes_exactly_once_in_order),
	    TEST(test_broker_restart_mid_stream),
	    TEST(test_broker_unreachable_at_start),
	    TEST(test_bounded_queue_while_broker_down),
	    TEST(test_foreign_messages_on_the_channel),
	};
	return cmocka_run_group_tests_name(broker_kind_name(cf.kind), tests, NULL, NULL);
}
