/* Rooms across a cluster, end to end: real relay binaries with rooms on, on
 * one real broker, Debian's redis-server or nats-server, named by the first
 * argument ("redis" or "nats"), so ctest runs the suite once per backend.
 *
 * A room's traffic goes over its own channel ("<channel>:<room>" on Redis,
 * "<channel>.<room>" on NATS), which a node subscribes to only while it has
 * a member there. A subscription takes a round trip to be in force, so the
 * tests first exchange sync messages ("s...") in every room until each
 * member has heard every other one, and never assert anything about time. */
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
#include <time.h>
#include <unistd.h>

#include "broker_process.h"
#include "cluster_fixture.h"
#include "relay_fixture.h"
#include "relay_process.h"
#include "ws_raw.h"

/* Generous: only a failure waits this long. */
#define WAIT_MS      20000
#define LINK_WAIT_MS 30000 /* a reconnect may sit out the longest backoff */
/* For every room's messages to cross: sanitizer builds on a loaded machine
 * are slow, and nothing here depends on it being quick. */
#define SYNC_WAIT_MS 60000
#define MAX_MEMBERS  16

static struct cluster_fixture cf;

static const char node_config[] = "server:\n"
                                  "  listen: \"127.0.0.1:@PORT@\"\n"
                                  "  max_connections: 64\n"
                                  /* fits a default nats-server's max_payload */
                                  "  max_message_bytes: 1047552\n"
                                  "  document_root: \"\"\n"
                                  "metrics:\n"
                                  "  listen: \"127.0.0.1:@METRICS_PORT@\"\n"
                                  "rooms:\n"
                                  "  enabled: true\n"
                                  "cluster:\n"
                                  "  enabled: true\n"
                                  "  broker: \"%s\"\n"
                                  "  url: \"%s\"\n"
                                  "  channel: \"%s\"\n"
                                  "  node_id: \"node%zu\"\n"
                                  "shutdown:\n"
                                  "  timeout_seconds: 5\n";

static void start_nodes(size_t count)
{
	char url[128], yaml[sizeof(node_config) + 512];
	broker_url(&cf.broker, url, sizeof(url));
	assert_int_equal(broker_start(&cf.broker), 0);
	for (size_t i = 0; i < count; i++) {
		snprintf(yaml, sizeof(yaml), node_config, broker_kind_name(cf.kind), url,
		         cf.channel, i + 1);
		cluster_fixture_start_node(&cf, i, WSRELAY_BIN, yaml);
	}
	for (size_t i = 0; i < count; i++)
		assert_true(relay_fixture_wait_metric(
		    cf.nodes[i].metrics_port, "wsrelay_cluster_connected", 1, LINK_WAIT_MS));
}

static int setup(void **state)
{
	(void)state;
	return cluster_fixture_setup(&cf, "wsrelay-rooms");
}

static int teardown(void **state)
{
	(void)state;
	return cluster_fixture_teardown(&cf);
}

static double metric(size_t node, const char *series)
{
	return relay_fixture_metric(cf.nodes[node].metrics_port, series, WAIT_MS);
}

#define NO_ROOM "wsrelay_cluster_dropped_total{reason=\"no_room\"}"

/* ---- the broker, as a test can use it ---- */

/* A room's channel on the broker. */
static void room_channel(const char *room, char *out, size_t cap)
{
	snprintf(out, cap, "%s%c%s", cf.channel, cf.kind == TEST_BROKER_NATS ? '.' : ':', room);
}

/* A version 2 envelope from node_id for room (envelope.h). */
static size_t envelope_v2(uint8_t *out, const char *node_id, const char *room, uint64_t epoch,
                          uint64_t seq, const char *text)
{
	size_t id_len = strlen(node_id), room_len = strlen(room), len = strlen(text);
	uint8_t *p = out;
	*p++ = 0x77;
	*p++ = 2;
	*p++ = 1;
	*p++ = (uint8_t)id_len;
	/* Counted bytes, as on the wire: no NUL after the id, room or text. */
	memcpy(p, node_id, id_len); // NOLINT(bugprone-not-null-terminated-result)
	p += id_len;
	*p++ = (uint8_t)room_len;
	memcpy(p, room, room_len); // NOLINT(bugprone-not-null-terminated-result)
	p += room_len;
	for (int i = 0; i < 8; i++)
		*p++ = (uint8_t)(epoch >> (56 - 8 * i));
	for (int i = 0; i < 8; i++)
		*p++ = (uint8_t)(seq >> (56 - 8 * i));
	memcpy(p, text, len); // NOLINT(bugprone-not-null-terminated-result)
	return (size_t)(p - out) + len;
}

/* Publishes a version 2 envelope for room on channel_name. */
static void publish_v2(const char *channel_name, const char *room, uint64_t seq, const char *text)
{
	uint8_t buf[256];
	size_t n = envelope_v2(buf, "outsider", room, 1, seq, text);
	assert_int_equal(broker_publish_raw(&cf.broker, channel_name, buf, n), 0);
}

/* ---- members ---- */

struct member {
	struct ws_raw ws;
	const struct member *all; /* every member, indexed by id */
	pthread_barrier_t *start;
	size_t node;
	int id;
	int room; /* index into the test's rooms */
	int sent;
	int received;
	int expected;            /* real messages to receive in all */
	int count;               /* members in all */
	int next[MAX_MEMBERS];   /* per sender: the next number expected */
	bool heard[MAX_MEMBERS]; /* per sender: a sync message came */
	/* Joined while messages were on their way: a sender's first may be
	 * any of its numbers (those before it were sent before the join). */
	bool late;
	char error[200];
};

/* Connects c to room on node; false (c->err says why) unless a 101 came.
 * Any thread. */
static bool try_join(struct ws_raw *c, size_t node, const char *room)
{
	char path[96];
	int status = 0;
	snprintf(path, sizeof(path), "/ws/%s", room);
	ws_raw_init(c);
	return ws_raw_connect(c, cf.nodes[node].port, path, NULL, &status, WAIT_MS) == 0 &&
	       status == 101;
}

static void join(struct ws_raw *c, size_t node, const char *room)
{
	if (!try_join(c, node, room))
		fail_msg("joining %s on node %zu: %s", room, node + 1, c->err);
}

/* "<a><sep><b>" with decimal a and b; false if not. */
static bool parse_pair(const char *s, char sep, int *a, int *b)
{
	char *end;
	long x = strtol(s, &end, 10);
	if (end == s || *end != sep || x < 0 || x >= 100000)
		return false;
	const char *second = end + 1;
	long y = strtol(second, &end, 10);
	if (end == second || *end != '\0' || y < 0 || y >= 100000)
		return false;
	*a = (int)x;
	*b = (int)y;
	return true;
}

/* Reads one message with timeout_ms: 0 timeout, 1 a message handled, -1
 * an error (in m->error). Sync messages "s<id>-<k>" mark their sender as
 * heard; real ones "<id>:<k>" must come from a member of m's room, in
 * order, once. members: everyone, indexed by id. */
static int member_read(struct member *m, const struct member *members, int count, int timeout_ms)
{
	struct ws_raw_frame f;
	int r = ws_raw_read_message(&m->ws, &f, timeout_ms);
	if (r == WS_TIMEOUT)
		return 0;
	if (r != WS_FRAME || f.opcode != WS_OP_TEXT) {
		snprintf(m->error, sizeof(m->error), "after %d messages: result %d opcode %d",
		         m->received, r, f.opcode);
		if (r == WS_FRAME)
			ws_raw_frame_free(&f);
		return -1;
	}
	const char *text = (const char *)f.payload;
	int sender = -1, k = -1;
	bool sync = text[0] == 's';
	bool ok =
	    parse_pair(text + (sync ? 1 : 0), sync ? '-' : ':', &sender, &k) && sender < count;
	if (!ok) {
		snprintf(m->error, sizeof(m->error), "malformed message \"%.40s\"", text);
	} else if (members[sender].room != m->room) {
		snprintf(m->error, sizeof(m->error), "\"%.40s\" from member %d of another room",
		         text, sender);
		ok = false;
	} else if (sync) {
		m->heard[sender] = true;
	} else if (k != m->next[sender] && !(m->late && m->next[sender] == 0 && k > 0)) {
		snprintf(m->error, sizeof(m->error), "from %d: got %d, expected %d", sender, k,
		         m->next[sender]);
		ok = false;
	} else {
		m->next[sender] = k + 1;
		m->received++;
	}
	ws_raw_frame_free(&f);
	return ok ? 1 : -1;
}

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* For a failure's report: each node's warnings and errors, and what it
 * received. */
static void show_node_trouble(void)
{
	for (size_t n = 0; n < cf.node_count; n++) {
		fprintf(stderr, "node %zu: received %g, no_room %g, gaps %g\n", n + 1,
		        metric(n, "wsrelay_cluster_received_total"), metric(n, NO_ROOM),
		        metric(n, "wsrelay_cluster_gaps_total"));
		FILE *f = fopen(cf.nodes[n].stderr_path, "r");
		char line[512];
		while (f && fgets(line, sizeof(line), f))
			if (strstr(line, "WARN") || strstr(line, "ERROR"))
				fprintf(stderr, "node %zu: %s", n + 1, line);
		if (f)
			(void)fclose(f);
	}
}

/* Until every member has heard a sync message from every other member of
 * its room: from then on each node's subscription to each of its rooms is
 * in force. Only gives up after LINK_WAIT_MS. */
static void sync_rooms(struct member *members, int count)
{
	int64_t deadline = now_ms() + SYNC_WAIT_MS;
	for (int round = 0; now_ms() < deadline; round++) {
		bool all = true;
		for (int s = 0; s < count; s++) {
			bool heard_by_all = true;
			for (int r = 0; r < count; r++)
				if (members[r].room == members[s].room && !members[r].heard[s])
					heard_by_all = false;
			if (heard_by_all)
				continue;
			all = false;
			char msg[32];
			snprintf(msg, sizeof(msg), "s%d-%d", s, round);
			if (ws_raw_send_text(&members[s].ws, msg) != 0)
				fail_msg("member %d: send: %s", s, members[s].ws.err);
		}
		if (all)
			return;
		for (int r = 0; r < count; r++) {
			int got;
			while ((got = member_read(&members[r], members, count, 100 / count + 1)) ==
			       1)
				;
			if (got < 0)
				fail_msg("member %d: %s", r, members[r].error);
		}
	}
	for (int r = 0; r < count; r++)
		for (int s = 0; s < count; s++)
			if (members[r].room == members[s].room && !members[r].heard[s])
				fprintf(stderr,
				        "member %d (node %zu) never heard member %d (node %zu)\n",
				        r, members[r].node + 1, s, members[s].node + 1);
	show_node_trouble();
	fail_msg("the rooms' messages never crossed between the nodes");
}

enum { MESSAGES = 60 };

/* Sends MESSAGES real messages and reads until it has every one of its
 * room's. */
static void *member_thread(void *arg)
{
	struct member *m = arg;
	const struct member *members = m->all;
	int count = m->count;
	pthread_barrier_wait(m->start);
	while (m->received < m->expected) {
		if (m->sent < MESSAGES) {
			char msg[32];
			snprintf(msg, sizeof(msg), "%d:%d", m->id, m->sent++);
			if (ws_raw_send_text(&m->ws, msg) != 0) {
				snprintf(m->error, sizeof(m->error), "send: %s", m->ws.err);
				return NULL;
			}
		}
		int got = member_read(m, members, count, m->sent < MESSAGES ? 0 : 20000);
		if (got < 0)
			return NULL;
		if (got == 0 && m->sent >= MESSAGES) {
			snprintf(m->error, sizeof(m->error), "stalled at %d of %d messages",
			         m->received, m->expected);
			return NULL;
		}
	}
	return NULL;
}

/* ---- 3 nodes, rooms spread over them ---- */

/* Room "all" on every node, "pair" on nodes 1 and 2 only, "solo.c" and
 * "solo-a" each on one node only. */
static const char *const room_names[] = {"all", "pair", "solo.c", "solo-a"};
static const struct {
	int room;
	size_t node;
} layout[] = {
    {0, 0}, {0, 0}, {0, 1}, {0, 2}, /* all */
    {1, 0}, {1, 1},                 /* pair */
    {2, 2}, {2, 2},                 /* solo.c */
    {3, 0},                         /* solo-a */
};
#define LAYOUT_COUNT ((int)(sizeof(layout) / sizeof(layout[0])))

static void test_rooms_across_three_nodes(void **state)
{
	(void)state;
	static struct member members[MAX_MEMBERS];
	pthread_t threads[LAYOUT_COUNT];
	pthread_barrier_t start;

	start_nodes(3);
	memset(members, 0, sizeof(members));
	pthread_barrier_init(&start, NULL, LAYOUT_COUNT);
	for (int i = 0; i < LAYOUT_COUNT; i++) {
		members[i].id = i;
		members[i].room = layout[i].room;
		members[i].node = layout[i].node;
		members[i].start = &start;
		members[i].all = members;
		members[i].count = LAYOUT_COUNT;
		join(&members[i].ws, layout[i].node, room_names[layout[i].room]);
	}
	for (int i = 0; i < LAYOUT_COUNT; i++)
		for (int j = 0; j < LAYOUT_COUNT; j++)
			if (members[j].room == members[i].room)
				members[i].expected += MESSAGES;
	sync_rooms(members, LAYOUT_COUNT);

	/* Everyone sends at once; each gets exactly its room's messages (its
	 * own too: echo_to_sender), each sender's in order, once. */
	for (int i = 0; i < LAYOUT_COUNT; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, member_thread, &members[i]), 0);
	for (int i = 0; i < LAYOUT_COUNT; i++)
		pthread_join(threads[i], NULL);
	pthread_barrier_destroy(&start);
	for (int i = 0; i < LAYOUT_COUNT; i++) {
		if (members[i].error[0])
			fail_msg("member %d (room %s, node %zu): %s", i,
			         room_names[members[i].room], members[i].node + 1,
			         members[i].error);
		for (int j = 0; j < LAYOUT_COUNT; j++)
			assert_int_equal(members[i].next[j],
			                 members[j].room == members[i].room ? MESSAGES : 0);
		/* No duplicate comes late: only stray sync messages may. */
		int got;
		while ((got = member_read(&members[i], members, LAYOUT_COUNT, 100)) == 1)
			assert_int_equal(members[i].received, members[i].expected);
		if (got < 0)
			fail_msg("member %d: %s", i, members[i].error);
	}

	/* What each node published: its members' messages, sync ones aside,
	 * and nothing went missing, came malformed, or came for a room a node
	 * does not have: node 3 was never sent "pair", nor nodes 2 and 3
	 * "solo-a", nor nodes 1 and 2 "solo.c". */
	for (size_t n = 0; n < 3; n++) {
		assert_true(metric(n, "wsrelay_cluster_gaps_total") == 0);
		assert_true(metric(n, "wsrelay_cluster_malformed_total") == 0);
		assert_true(metric(n, NO_ROOM) == 0);
		assert_true(metric(n, "wsrelay_cluster_dropped_total{reason=\"queue_full\"}") == 0);
	}
	assert_true(metric(0, "wsrelay_rooms") == 3);
	assert_true(metric(1, "wsrelay_rooms") == 2);
	assert_true(metric(2, "wsrelay_rooms") == 2);

	/* The broker itself: a message on "pair"'s channel reaches nodes 1 and
	 * 2 and never node 3, which then gets one on a room of its own's
	 * channel (after it, in the broker's order) and nothing else. */
	double before = metric(2, "wsrelay_cluster_received_total");
	char pair[128], solo[128];
	room_channel("pair", pair, sizeof(pair));
	room_channel("solo.c", solo, sizeof(solo));
	publish_v2(pair, "pair", 1, "s4-99999");
	publish_v2(solo, "solo.c", 1, "s6-99999");
	for (int i = 0; i < LAYOUT_COUNT; i++) {
		if (members[i].room != 1 && members[i].room != 2)
			continue;
		int sender = members[i].room == 1 ? 4 : 6;
		members[i].heard[sender] = false;
		while (!members[i].heard[sender])
			if (member_read(&members[i], members, LAYOUT_COUNT, WAIT_MS) != 1)
				fail_msg("member %d never got the outsider's message: %s", i,
				         members[i].error);
	}
	assert_true(metric(2, "wsrelay_cluster_received_total") == before + 1);
	assert_true(metric(2, NO_ROOM) == 0);
	for (int i = 0; i < LAYOUT_COUNT; i++)
		ws_raw_close(&members[i].ws);
}

/* ---- churn: members come and go, those who stay lose nothing ---- */

struct churner {
	atomic_bool done;
	int rounds;
	char error[256];
};

/* Joins and leaves rooms on both nodes as fast as it can: "steady" itself
 * on node 2, and rooms that live only for a moment on both nodes, with a
 * message in each, so node 2 subscribes and unsubscribes all the time. */
static void *churn_thread(void *arg)
{
	struct churner *ch = arg;
	for (int k = 0; k < ch->rounds; k++) {
		struct ws_raw visitor, a, b;
		ws_raw_init(&visitor);
		ws_raw_init(&a);
		ws_raw_init(&b);
		char room[32];
		snprintf(room, sizeof(room), "churn-%d", k % 7);
		bool ok = try_join(&visitor, 1, "steady") && try_join(&a, 0, room) &&
		          try_join(&b, 1, room);
		char msg[32];
		snprintf(msg, sizeof(msg), "c%d", k);
		if (ok && (ws_raw_send_text(&a, msg) != 0 || ws_raw_send_text(&b, msg) != 0))
			ok = false;
		if (!ok && !ch->error[0])
			snprintf(ch->error, sizeof(ch->error), "round %d: %.60s %.60s %.60s", k,
			         visitor.err, a.err, b.err);
		ws_raw_close(&b);
		ws_raw_close(&a);
		ws_raw_close(&visitor);
		if (!ok)
			break;
	}
	atomic_store(&ch->done, true);
	return NULL;
}

struct stream {
	struct ws_raw *ws;
	struct churner *churn;
	int sent;
	char error[200];
};

/* Sends "0:<k>" until the churn is over, MESSAGES at least. */
static void *stream_thread(void *arg)
{
	struct stream *s = arg;
	while (s->sent < MESSAGES || !atomic_load(&s->churn->done)) {
		char msg[32];
		snprintf(msg, sizeof(msg), "0:%d", s->sent);
		if (ws_raw_send_text(s->ws, msg) != 0) {
			snprintf(s->error, sizeof(s->error), "send: %s", s->ws->err);
			return NULL;
		}
		s->sent++;
		usleep(2000);
	}
	return NULL;
}

static void test_churn_loses_nothing_for_members_who_stay(void **state)
{
	(void)state;
	static struct member members[3];
	start_nodes(2);
	/* Member 0 sends on node 1; 1 listens on node 1, 2 on node 2. */
	memset(members, 0, sizeof(members));
	for (int i = 0; i < 3; i++) {
		members[i].id = i;
		members[i].node = i == 2 ? 1 : 0;
		join(&members[i].ws, members[i].node, "steady");
	}
	sync_rooms(members, 3);

	struct churner churn = {.rounds = 40};
	struct stream stream = {.ws = &members[0].ws, .churn = &churn};
	pthread_t churner, streamer;
	assert_int_equal(pthread_create(&streamer, NULL, stream_thread, &stream), 0);
	assert_int_equal(pthread_create(&churner, NULL, churn_thread, &churn), 0);
	pthread_join(churner, NULL);
	pthread_join(streamer, NULL);
	if (churn.error[0])
		fail_msg("churn: %s", churn.error);
	if (stream.error[0])
		fail_msg("stream: %s", stream.error);

	/* Every message of the stream, in order, once, on both nodes. */
	for (int i = 0; i < 3; i++) {
		while (members[i].next[0] < stream.sent)
			if (member_read(&members[i], members, 3, WAIT_MS) != 1)
				fail_msg("member %d after %d of %d: %s", i, members[i].next[0],
				         stream.sent,
				         members[i].error[0] ? members[i].error : "timeout");
	}
	/* The churn's rooms are gone on both nodes; no gap was reported for
	 * what node 2 never subscribed to. */
	assert_true(
	    relay_fixture_wait_metric(cf.nodes[0].metrics_port, "wsrelay_rooms", 1, WAIT_MS));
	assert_true(
	    relay_fixture_wait_metric(cf.nodes[1].metrics_port, "wsrelay_rooms", 1, WAIT_MS));
	for (size_t n = 0; n < 2; n++) {
		assert_true(metric(n, "wsrelay_cluster_gaps_total") == 0);
		assert_true(metric(n, "wsrelay_cluster_malformed_total") == 0);
	}

	/* And node 2 let go of the churn rooms' channels: a message there
	 * comes to nothing (no no_room drop), while one on "steady"'s channel,
	 * published after it, arrives. The unsubscribe may still be on its
	 * way: asked again until a round shows it in force. */
	char churn_channel[128], steady_channel[128];
	room_channel("churn-0", churn_channel, sizeof(churn_channel));
	room_channel("steady", steady_channel, sizeof(steady_channel));
	for (int round = 1;; round++) {
		if (round * 100 > LINK_WAIT_MS)
			fail_msg("node 2 still gets the traffic of a room it no longer has");
		double drops = metric(1, NO_ROOM);
		publish_v2(churn_channel, "churn-0", (uint64_t)round, "c-late");
		members[2].heard[0] = false;
		/* From "outsider" with its own numbers: a sync message here. */
		publish_v2(steady_channel, "steady", (uint64_t)round, "s0-1");
		while (!members[2].heard[0])
			if (member_read(&members[2], members, 3, WAIT_MS) != 1)
				fail_msg("member 2 never got the outsider's message: %s",
				         members[2].error);
		if (metric(1, NO_ROOM) == drops)
			break;
	}
	for (int i = 0; i < 3; i++)
		ws_raw_close(&members[i].ws);
}

/* ---- a room that lives again ---- */

/* Node 2's room goes (its last member leaves, so it unsubscribes) while node
 * 1 keeps sending there; when it comes back, what node 1 sent meanwhile was
 * never node 2's to get: no gap is counted. */
static void test_room_lives_again_without_a_gap(void **state)
{
	(void)state;
	static struct member members[2];
	start_nodes(2);
	memset(members, 0, sizeof(members));
	for (int i = 0; i < 2; i++) {
		members[i].id = i;
		members[i].node = (size_t)i;
		join(&members[i].ws, members[i].node, "again");
	}
	sync_rooms(members, 2);
	ws_raw_close(&members[1].ws);
	assert_true(
	    relay_fixture_wait_metric(cf.nodes[1].metrics_port, "wsrelay_rooms", 0, WAIT_MS));
	/* Numbers node 2 never sees: not subscribed, or no room there. */
	for (int k = 0; k < 5; k++) {
		char msg[32];
		snprintf(msg, sizeof(msg), "0:%d", k);
		assert_int_equal(ws_raw_send_text(&members[0].ws, msg), 0);
	}
	memset(&members[1], 0, sizeof(members[1]));
	members[1].id = 1;
	members[1].node = 1;
	/* Node 1's 0:0..0:4 may still be on their way, and node 2 still
	 * subscribed (a room that goes and comes back at once keeps it). */
	members[1].late = true;
	join(&members[1].ws, 1, "again");
	memset(members[0].heard, 0, sizeof(members[0].heard));
	sync_rooms(members, 2);
	assert_true(metric(1, "wsrelay_cluster_gaps_total") == 0);

	/* Now node 1's room lives again while node 2's stays: node 1 numbers
	 * the new life from 1 under a new epoch, which node 2 takes for what
	 * it is (not for duplicates of what it had). */
	ws_raw_close(&members[0].ws);
	assert_true(
	    relay_fixture_wait_metric(cf.nodes[0].metrics_port, "wsrelay_rooms", 0, WAIT_MS));
	memset(&members[0], 0, sizeof(members[0]));
	join(&members[0].ws, 0, "again");
	memset(members[1].next, 0, sizeof(members[1].next));
	members[1].late = false;
	/* Node 2 stayed subscribed: the first message of the new life
	 * reaches it, no sync needed. */
	for (int k = 0; k < 5; k++) {
		char msg[32];
		snprintf(msg, sizeof(msg), "0:%d", k);
		assert_int_equal(ws_raw_send_text(&members[0].ws, msg), 0);
	}
	while (members[1].next[0] < 5)
		if (member_read(&members[1], members, 2, WAIT_MS) != 1)
			fail_msg("member 1 after %d of 5: %s", members[1].next[0],
			         members[1].error[0] ? members[1].error : "timeout");
	assert_true(metric(0, "wsrelay_cluster_gaps_total") == 0);
	assert_true(metric(1, "wsrelay_cluster_gaps_total") == 0);
	assert_true(metric(0, NO_ROOM) == 0);
	for (int i = 0; i < 2; i++)
		ws_raw_close(&members[i].ws);
}

/* ---- the broker goes and comes back ---- */

/* After a reconnect every room is subscribed again (Redis: by the node,
 * NATS: by the client library), and a room made while the broker was away
 * is subscribed once it is back. */
static void test_rooms_after_broker_restart(void **state)
{
	(void)state;
	static struct member members[4];
	start_nodes(2);
	memset(members, 0, sizeof(members));
	for (int i = 0; i < 2; i++) {
		members[i].id = i;
		members[i].node = (size_t)i;
		join(&members[i].ws, members[i].node, "kept");
	}
	sync_rooms(members, 2);
	assert_int_equal(broker_stop(&cf.broker), 0);
	for (size_t n = 0; n < 2; n++)
		assert_true(relay_fixture_wait_metric(
		    cf.nodes[n].metrics_port, "wsrelay_cluster_connected", 0, LINK_WAIT_MS));
	/* A room made while the broker is away. */
	for (int i = 2; i < 4; i++) {
		members[i].id = i;
		members[i].room = 1;
		members[i].node = (size_t)i - 2;
		join(&members[i].ws, members[i].node, "made-meanwhile");
	}
	assert_int_equal(broker_start(&cf.broker), 0);
	for (size_t n = 0; n < 2; n++)
		assert_true(relay_fixture_wait_metric(
		    cf.nodes[n].metrics_port, "wsrelay_cluster_connected", 1, LINK_WAIT_MS));
	for (int i = 0; i < 4; i++)
		memset(members[i].heard, 0, sizeof(members[i].heard));
	sync_rooms(members, 4);
	for (int i = 0; i < 4; i++)
		ws_raw_close(&members[i].ws);
}

/* ---- a message for a room this node does not have ---- */

static void test_no_room_is_dropped_and_counted(void **state)
{
	(void)state;
	struct ws_raw c;
	start_nodes(1);
	join(&c, 0, "lobby");

	/* On the channel itself, where any node hears it: a room that does
	 * not exist here, and a version 1 envelope (a node without rooms):
	 * dropped, counted, not malformed. */
	publish_v2(cf.channel, "nobody", 1, "lost");
	static const uint8_t v1[] = {0x77, 1, 1, 4, 'p', 'e', 'e', 'r', 0,
	                             0,    0, 0, 0, 0,   0,   1,   'x'};
	assert_int_equal(broker_publish_raw(&cf.broker, cf.channel, v1, sizeof(v1)), 0);
	assert_true(relay_fixture_wait_metric(cf.nodes[0].metrics_port, NO_ROOM, 2, WAIT_MS));
	assert_true(metric(0, "wsrelay_cluster_malformed_total") == 0);
	assert_true(metric(0, "wsrelay_cluster_received_total") == 0);

	/* One for a room it has is delivered to that room. */
	publish_v2(cf.channel, "lobby", 1, "found");
	struct ws_raw_frame f;
	assert_int_equal(ws_raw_read_message(&c, &f, WAIT_MS), WS_FRAME);
	assert_int_equal(f.len, 5);
	assert_memory_equal(f.payload, "found", 5);
	ws_raw_frame_free(&f);
	assert_true(metric(0, NO_ROOM) == 2);
	assert_true(metric(0, "wsrelay_cluster_received_total") == 1);
	ws_raw_close(&c);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(int argc, char **argv)
{
	if (cluster_fixture_args(&cf, argc, argv, "test_cluster_rooms") != 0)
		return 2;
	const struct CMUnitTest tests[] = {
	    TEST(test_rooms_across_three_nodes),
	    TEST(test_churn_loses_nothing_for_members_who_stay),
	    TEST(test_room_lives_again_without_a_gap),
	    TEST(test_rooms_after_broker_restart),
	    TEST(test_no_room_is_dropped_and_counted),
	};
	return cmocka_run_group_tests_name(broker_kind_name(cf.kind), tests, NULL, NULL);
}
