/* Cluster mode on a shared network, end to end against the real brokers:
 * signed envelopes (forgeries rejected and counted on every node, the
 * sequence-jump attack, key rotation with SIGHUP and a restart), a client
 * that stops reading while a peer publishes fast, Redis AUTH (requirepass
 * and an ACL user), NATS TLS (a CA made at run time), token, user and
 * password, NKey, and the payload limit. Run once per broker, like
 * test_cluster; the tests of one broker's credentials run only for it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
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
#include "cluster_auth.h"
#include "cluster_fixture.h"
#include "envelope.h"
#include "nkey.h"
#include "paced_sender.h"
#include "relay_fixture.h"
#include "relay_process.h"
#include "test_file.h"
#include "test_pki.h"
#include "ws_raw.h"

/* Generous: only a failure waits this long, and sanitizer builds on a
 * loaded machine are slow. */
#define WAIT_MS      20000
#define LINK_WAIT_MS 30000
#define KEY_BYTES    32

static struct cluster_fixture cf;
static char work_dir[64]; /* key files, certificates: the broker's folder */

/* @PORT@ and @METRICS_PORT@ are filled by relay_start. */
static const char node_config[] = "server:\n"
                                  "  listen: \"127.0.0.1:@PORT@\"\n"
                                  "  max_connections: 32\n"
                                  "  document_root: \"\"\n"
                                  "  max_message_bytes: %s\n"
                                  "relay:\n"
                                  "  client_queue_messages: %s\n"
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

struct node_options {
	const char *url;           /* NULL: the broker's plain URL */
	const char *cluster_extra; /* more cluster keys, indented by two */
	const char *max_message_bytes;
	const char *queue_messages;
};

static void node_yaml(char *out, size_t cap, size_t index, const struct node_options *o)
{
	char url[256];
	if (o->url)
		snprintf(url, sizeof(url), "%s", o->url);
	else
		broker_url(&cf.broker, url, sizeof(url));
	snprintf(out, cap, node_config, o->max_message_bytes ? o->max_message_bytes : "1047552",
	         o->queue_messages ? o->queue_messages : "1024", broker_kind_name(cf.kind), url,
	         cf.channel, index + 1, o->cluster_extra ? o->cluster_extra : "");
}

static void start_node(size_t i, const struct node_options *o)
{
	char yaml[4096];
	node_yaml(yaml, sizeof(yaml), i, o);
	cluster_fixture_start_node(&cf, i, WSRELAY_BIN, yaml);
}

/* Writes yaml to path with relay_start's port placeholders filled with
 * ports free now. */
static void write_config(const char *yaml, const char *path)
{
	char filled[4096], port[8], metrics_port[8];
	snprintf(port, sizeof(port), "%u", free_loopback_port());
	snprintf(metrics_port, sizeof(metrics_port), "%u", free_loopback_port());
	const char *src = yaml;
	size_t used = 0;
	while (*src && used + 8 < sizeof(filled)) {
		if (strncmp(src, "@METRICS_PORT@", 14) == 0) {
			used += (size_t)snprintf(filled + used, sizeof(filled) - used, "%s",
			                         metrics_port);
			src += 14;
		} else if (strncmp(src, "@PORT@", 6) == 0) {
			used += (size_t)snprintf(filled + used, sizeof(filled) - used, "%s", port);
			src += 6;
		} else {
			filled[used++] = *src++;
		}
	}
	filled[used] = '\0';
	assert_int_equal(test_file_write(path, filled), 0);
}

/* Runs a node that is expected to refuse to start; its output into out. */
static int run_refused(const struct node_options *o, char *out, size_t cap)
{
	char yaml[4096], path[256];
	node_yaml(yaml, sizeof(yaml), 0, o);
	snprintf(path, sizeof(path), "%s/refused.yaml", work_dir);
	write_config(yaml, path);
	char *argv[] = {"wsrelay", "--config-file", path, NULL};
	return relay_run(WSRELAY_BIN, argv, out, cap, 30000);
}

static int setup(void **state)
{
	(void)state;
	if (cluster_fixture_setup(&cf, "wsrelay-sec") != 0)
		return -1;
	/* Key files and certificates go with the broker's log, and are
	 * removed with it. */
	snprintf(work_dir, sizeof(work_dir), "%s", cf.broker.dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return cluster_fixture_teardown(&cf);
}

/* ---- metrics ---- */

static double metric(const struct relay_process *node, const char *series)
{
	return relay_fixture_metric(node->metrics_port, series, WAIT_MS);
}

static void wait_metric(const struct relay_process *node, const char *series, double want,
                        int timeout_ms)
{
	if (!relay_fixture_wait_metric_at_least(node->metrics_port, series, want, timeout_ms))
		fail_msg("on the node of port %u", node->port);
}

static void wait_linked(const struct relay_process *node)
{
	wait_metric(node, "wsrelay_cluster_connected", 1, LINK_WAIT_MS);
}

#define REJECTED(reason) "wsrelay_cluster_rejected_total{reason=\"" reason "\"}"

/* ---- clients ---- */

static void open_client(struct ws_raw *c, const struct relay_process *node)
{
	relay_fixture_connect(c, node->port, WAIT_MS);
}

static void say(struct ws_raw *c, const char *text)
{
	assert_int_equal(ws_raw_send_text(c, text), 0);
}

/* The next text message, or "" on a timeout. */
static void next_text(struct ws_raw *c, char *buf, size_t cap, int timeout_ms)
{
	struct ws_raw_frame f;
	buf[0] = '\0';
	if (ws_raw_read_message(c, &f, timeout_ms) != WS_FRAME)
		return;
	if (f.opcode == WS_OP_TEXT)
		snprintf(buf, cap, "%.*s", (int)f.len, (const char *)f.payload);
	ws_raw_frame_free(&f);
}

static void expect_message(struct ws_raw *c, const char *want)
{
	char got[256];
	next_text(c, got, sizeof(got), WAIT_MS);
	if (strcmp(got, want) != 0)
		fail_msg("expected \"%s\", got \"%s\"", want, got);
}

/* Sends probes from a until b hears one: the link from a's node to b's is
 * live (a subscription may still be on its way when the metric says so). */
static void until_crossing(struct ws_raw *a, struct ws_raw *b)
{
	char got[256], probe[32];
	for (int i = 0; i < 100; i++) {
		snprintf(probe, sizeof(probe), "probe-%d", i);
		say(a, probe);
		do
			next_text(b, got, sizeof(got), 300);
		while (got[0] && strncmp(got, "probe-", 6) != 0);
		if (got[0]) {
			/* Drain the rest of the probes. */
			while (got[0])
				next_text(b, got, sizeof(got), 300);
			return;
		}
	}
	fail_msg("no message crossed between the nodes");
}

/* ---- keys and envelopes made here, independently of the relay ---- */

static void random_key(uint8_t key[KEY_BYTES])
{
	assert_int_equal(RAND_bytes(key, KEY_BYTES), 1);
}

static void key_hex(const uint8_t key[KEY_BYTES], char out[2 * KEY_BYTES + 1])
{
	for (size_t i = 0; i < KEY_BYTES; i++)
		snprintf(out + 2 * i, 3, "%02x", key[i]);
}

/* Writes the keys, one a line, to path. */
static void write_keys(const char *path, const uint8_t (*keys)[KEY_BYTES], size_t count)
{
	char text[1024];
	size_t used = (size_t)snprintf(text, sizeof(text), "# cluster keys, first one signs\n");
	for (size_t i = 0; i < count && used < sizeof(text); i++) {
		char hex[2 * KEY_BYTES + 1];
		key_hex(keys[i], hex);
		used += (size_t)snprintf(text + used, sizeof(text) - used, "%s\n", hex);
	}
	assert_int_equal(test_file_write(path, text), 0);
}

/* 'W', scheme 1, HMAC-SHA256 over those two bytes and the envelope. */
static size_t sign(uint8_t *out, const uint8_t key[KEY_BYTES], const uint8_t *env, size_t len)
{
	out[0] = 0x57;
	out[1] = 1;
	memcpy(out + 34, env, len);
	uint8_t *input = malloc(len + 2);
	assert_non_null(input);
	input[0] = out[0];
	input[1] = out[1];
	memcpy(input + 2, env, len);
	unsigned tag_len = 0;
	assert_non_null(HMAC(EVP_sha256(), key, KEY_BYTES, input, len + 2, out + 2, &tag_len));
	assert_int_equal(tag_len, 32);
	free(input);
	return len + 34;
}

static void publish(const void *data, size_t len)
{
	assert_int_equal(broker_publish_raw(&cf.broker, cf.channel, data, len), 0);
}

/* A sequence number far ahead of what any node uses now. */
static uint64_t far_ahead(void)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	uint64_t ms = (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
	return (ms << 22) + (UINT64_C(1) << 21);
}

/* Two signed nodes, a client on each, the link live both ways; with rooms,
 * both clients in the default room, "lobby". */
static void start_signed_pair_rooms(const char *key_path, bool rooms, struct ws_raw *c1,
                                    struct ws_raw *c2)
{
	char extra[512];
	snprintf(extra, sizeof(extra), "  secret_file: \"%s\"\n%s", key_path,
	         rooms ? "rooms:\n  enabled: true\n" : "");
	struct node_options o = {.cluster_extra = extra};
	assert_int_equal(broker_start(&cf.broker), 0);
	start_node(0, &o);
	start_node(1, &o);
	wait_linked(&cf.nodes[0]);
	wait_linked(&cf.nodes[1]);
	open_client(c1, &cf.nodes[0]);
	open_client(c2, &cf.nodes[1]);
	until_crossing(c1, c2);
	until_crossing(c2, c1);
	/* Echo is on: each sender got its own probes back too. */
	char got[64];
	do
		next_text(c1, got, sizeof(got), 200);
	while (got[0]);
	do
		next_text(c2, got, sizeof(got), 200);
	while (got[0]);
}

static void start_signed_pair(const char *key_path, struct ws_raw *c1, struct ws_raw *c2)
{
	start_signed_pair_rooms(key_path, false, c1, c2);
}

/* ---- signed envelopes ---- */

static void test_forged_envelopes_rejected_on_every_node(void **state)
{
	(void)state;
	uint8_t good[1][KEY_BYTES], wrong[KEY_BYTES];
	char path[256];
	struct ws_raw c1, c2;
	uint8_t env[256], msg[512];
	random_key(good[0]);
	random_key(wrong);
	snprintf(path, sizeof(path), "%s/cluster.key", work_dir);
	write_keys(path, good, 1);
	start_signed_pair(path, &c1, &c2);

	/* Unsigned, signed with another key, signed right but altered after. */
	size_t n = cluster_fixture_envelope(env, "mallory", far_ahead(), "unsigned");
	publish(env, n);
	n = cluster_fixture_envelope(env, "mallory", far_ahead(), "wrong key");
	size_t m = sign(msg, wrong, env, n);
	publish(msg, m);
	n = cluster_fixture_envelope(env, "mallory", far_ahead(), "altered");
	m = sign(msg, good[0], env, n);
	msg[m - 1] ^= 1;
	publish(msg, m);
	/* A scheme that does not exist, and a signed envelope of version 3. */
	m = sign(msg, good[0], env, n);
	msg[1] = 2;
	publish(msg, m);
	n = cluster_fixture_envelope(env, "mallory", far_ahead(), "v3");
	env[1] = 3;
	m = sign(msg, good[0], env, n);
	publish(msg, m);
	/* Signed, but cut inside the tag. */
	publish(msg, 20);

	for (size_t i = 0; i < 2; i++) {
		wait_metric(&cf.nodes[i], REJECTED("signature"), 3, WAIT_MS);
		wait_metric(&cf.nodes[i], REJECTED("version"), 2, WAIT_MS);
		wait_metric(&cf.nodes[i], REJECTED("malformed"), 1, WAIT_MS);
		assert_true(metric(&cf.nodes[i], REJECTED("signature")) == 3);
		assert_true(metric(&cf.nodes[i], REJECTED("impostor")) == 0);
		assert_true(metric(&cf.nodes[i], "wsrelay_cluster_malformed_total") == 6);
		/* Logged just after the count. */
		assert_true(relay_fixture_wait_log(&cf.nodes[i], "matches no key", WAIT_MS));
	}

	/* The one made right is delivered on both: the check is not just
	 * refusing everything. */
	n = cluster_fixture_envelope(env, "peer", 1000, "genuine");
	m = sign(msg, good[0], env, n);
	publish(msg, m);
	expect_message(&c1, "genuine");
	expect_message(&c2, "genuine");
	/* And what nodes send each other still crosses. */
	say(&c1, "from node1");
	expect_message(&c1, "from node1");
	expect_message(&c2, "from node1");
	ws_raw_close(&c1);
	ws_raw_close(&c2);
}

/* A publisher that read node1's current number off the channel sends one
 * envelope as node1 with a number 2^21 ahead: unsigned (or with a guessed
 * key) it is rejected before the number is looked at, so node1's next
 * messages are not taken for duplicates. A validly signed envelope naming
 * the receiving node itself is an impostor. */
/* With rooms the envelope (version 2, made here by the relay's own
 * encoder) names the room, and the signature covers it: a room changed on
 * the way is rejected, never delivered to the room it now names. */
static void test_rooms_signature_covers_the_room(void **state)
{
	(void)state;
	uint8_t key[1][KEY_BYTES];
	char path[256];
	struct ws_raw c1, c2;
	uint8_t env[256], msg[512];
	random_key(key[0]);
	snprintf(path, sizeof(path), "%s/cluster.key", work_dir);
	write_keys(path, key, 1);
	start_signed_pair_rooms(path, true, &c1, &c2);

	/* On the channel itself, which every node hears: a signed envelope
	 * for "lobby" is delivered on both nodes. */
	size_t header = envelope_header_size(4, 5);
	envelope_write_header(env, 1, "peer", 4, "lobby", 5, 7, 1);
	/* Counted bytes, as on the wire: no NUL. */
	memcpy(env + header, "genuine", 7); // NOLINT(bugprone-not-null-terminated-result)
	publish(msg, sign(msg, key[0], env, header + 7));
	expect_message(&c1, "genuine");
	expect_message(&c2, "genuine");
	/* The same, signed for "lobbx" and then moved to "lobby". */
	envelope_write_header(env, 1, "peer", 4, "lobbx", 5, 7, 2);
	/* Counted bytes, as on the wire: no NUL. */
	memcpy(env + header, "moved", 5); // NOLINT(bugprone-not-null-terminated-result)
	size_t m = sign(msg, key[0], env, header + 5);
	msg[CLUSTER_AUTH_PREFIX_SIZE + 13] = 'y';
	publish(msg, m);
	envelope_write_header(env, 1, "peer", 4, "lobby", 5, 7, 3);
	/* Counted bytes, as on the wire: no NUL. */
	memcpy(env + header, "after", 5); // NOLINT(bugprone-not-null-terminated-result)
	publish(msg, sign(msg, key[0], env, header + 5));
	expect_message(&c1, "after");
	expect_message(&c2, "after");
	for (size_t i = 0; i < 2; i++) {
		assert_true(metric(&cf.nodes[i], REJECTED("signature")) == 1);
		assert_true(metric(&cf.nodes[i], "wsrelay_cluster_gaps_total") == 1);
	}
	ws_raw_close(&c1);
	ws_raw_close(&c2);
}

static void test_sequence_jump_from_impostor_has_no_effect(void **state)
{
	(void)state;
	uint8_t keys[1][KEY_BYTES], guess[KEY_BYTES];
	char path[256];
	struct ws_raw c1, c2;
	uint8_t env[256], msg[512];
	random_key(keys[0]);
	random_key(guess);
	snprintf(path, sizeof(path), "%s/cluster.key", work_dir);
	write_keys(path, keys, 1);
	start_signed_pair(path, &c1, &c2);

	size_t n = cluster_fixture_envelope(env, "node1", far_ahead(), "jump");
	publish(env, n);
	size_t m = sign(msg, guess, env, n);
	publish(msg, m);
	wait_metric(&cf.nodes[1], REJECTED("signature"), 2, WAIT_MS);

	for (int i = 0; i < 20; i++) {
		char text[32];
		snprintf(text, sizeof(text), "after-%d", i);
		say(&c1, text);
		expect_message(&c2, text);
		expect_message(&c1, text);
	}
	assert_true(metric(&cf.nodes[1], "wsrelay_cluster_gaps_total") == 0);

	/* Signed with the real key but naming node2 itself, at node2. */
	n = cluster_fixture_envelope(env, "node2", far_ahead(), "me?");
	m = sign(msg, keys[0], env, n);
	publish(msg, m);
	wait_metric(&cf.nodes[1], REJECTED("impostor"), 1, WAIT_MS);
	/* Logged just after the count. */
	assert_true(relay_fixture_wait_log(&cf.nodes[1], "another node publishes as node id node2",
	                                   WAIT_MS));
	/* node1 delivers it: for node1 it is a peer called node2 (who sent it
	 * is the key holder's business), a gap in node2's numbers at most. */
	expect_message(&c1, "me?");
	ws_raw_close(&c1);
	ws_raw_close(&c2);
}

struct stream {
	struct ws_raw *ws;
	atomic_bool stop;
	atomic_int sent;
	bool failed;
	pthread_t thread;
};

/* Sends "s-<n>" every 2 ms until stopped. */
static void *stream_main(void *arg)
{
	struct stream *s = arg;
	while (!atomic_load(&s->stop)) {
		char text[32];
		snprintf(text, sizeof(text), "s-%d", atomic_load(&s->sent));
		if (ws_raw_send_text(s->ws, text) != 0) {
			s->failed = true;
			break;
		}
		atomic_fetch_add(&s->sent, 1);
		usleep(2000);
	}
	return NULL;
}

/* Reads "s-<n>" messages in order up to count, skipping nothing. */
static void expect_stream(struct ws_raw *c, int from, int count)
{
	char got[64], want[32];
	for (int i = from; i < count; i++) {
		snprintf(want, sizeof(want), "s-%d", i);
		next_text(c, got, sizeof(got), 20000);
		if (strcmp(got, want) != 0)
			fail_msg("stream: expected %s, got \"%s\"", want, got);
	}
}

/* How many times the node logged that it reread its key file. */
static int reload_count(const struct relay_process *node)
{
	char *log = test_file_read(node->stderr_path, NULL);
	int n = 0;
	for (const char *p = log; p && (p = strstr(p, "cluster.secret_file: reloaded")); p++)
		n++;
	free(log);
	return n;
}

static void sighup_and_wait(struct relay_process *node)
{
	int before = reload_count(node);
	assert_int_equal(kill(node->pid, SIGHUP), 0);
	for (int waited = 0; waited < WAIT_MS; waited += 20) {
		if (reload_count(node) > before)
			return;
		usleep(20 * 1000);
	}
	fail_msg("node on port %u never logged that it reread its keys", node->port);
}

/* [K1] -> [K1, K2] on every node -> [K2, K1] -> [K2], SIGHUP at each step
 * (node2 restarted instead at the third): a stream from node1 to node2
 * runs through all of it and loses nothing, and nothing is rejected. */
static void test_key_rotation_loses_nothing(void **state)
{
	(void)state;
	uint8_t k1[KEY_BYTES], k2[KEY_BYTES];
	uint8_t set[2][KEY_BYTES];
	char path1[256], path2[256];
	struct ws_raw c1, c2;
	random_key(k1);
	random_key(k2);
	/* One file per node, as on separate machines. */
	snprintf(path1, sizeof(path1), "%s/node1.key", work_dir);
	snprintf(path2, sizeof(path2), "%s/node2.key", work_dir);
	memcpy(set[0], k1, KEY_BYTES);
	write_keys(path1, set, 1);
	write_keys(path2, set, 1);

	char extra1[512], extra2[512];
	snprintf(extra1, sizeof(extra1), "  secret_file: \"%s\"\n", path1);
	snprintf(extra2, sizeof(extra2), "  secret_file: \"%s\"\n", path2);
	struct node_options o1 = {.cluster_extra = extra1}, o2 = {.cluster_extra = extra2};
	assert_int_equal(broker_start(&cf.broker), 0);
	start_node(0, &o1);
	start_node(1, &o2);
	wait_linked(&cf.nodes[0]);
	wait_linked(&cf.nodes[1]);
	open_client(&c1, &cf.nodes[0]);
	open_client(&c2, &cf.nodes[1]);
	until_crossing(&c1, &c2);
	char got[64];
	do
		next_text(&c2, got, sizeof(got), 300);
	while (got[0]);
	ws_raw_close(&c1);
	/* node1's sender does not read: echo off for it would be another
	 * config; its client simply never reads, and the stream is slow. */
	open_client(&c1, &cf.nodes[0]);

	struct stream s = {.ws = &c1};
	assert_int_equal(pthread_create(&s.thread, NULL, stream_main, &s), 0);
	int read = 0;

	/* Step 2: [K1, K2] everywhere. */
	memcpy(set[1], k2, KEY_BYTES);
	write_keys(path1, set, 2);
	write_keys(path2, set, 2);
	sighup_and_wait(&cf.nodes[0]);
	sighup_and_wait(&cf.nodes[1]);
	int upto = atomic_load(&s.sent);
	expect_stream(&c2, read, upto);
	read = upto;

	/* Step 3: [K2, K1]: node1 by SIGHUP (it signs with K2 from now on),
	 * node2 by a restart. */
	memcpy(set[0], k2, KEY_BYTES);
	memcpy(set[1], k1, KEY_BYTES);
	write_keys(path1, set, 2);
	write_keys(path2, set, 2);
	sighup_and_wait(&cf.nodes[0]);
	upto = atomic_load(&s.sent);
	expect_stream(&c2, read, upto);
	ws_raw_close(&c2);
	assert_int_equal(relay_stop(&cf.nodes[1], SIGTERM, 15000), 0);
	start_node(1, &o2);
	wait_linked(&cf.nodes[1]);
	open_client(&c2, &cf.nodes[1]);
	/* The restarted node picks the stream up at some number: from there
	 * on nothing is missing. */
	do {
		next_text(&c2, got, sizeof(got), 20000);
	} while (got[0] && strncmp(got, "s-", 2) != 0);
	assert_true(got[0] != '\0');
	read = (int)strtol(got + 2, NULL, 10) + 1;

	/* Step 4: [K2] only. */
	write_keys(path1, set, 1);
	write_keys(path2, set, 1);
	sighup_and_wait(&cf.nodes[0]);
	sighup_and_wait(&cf.nodes[1]);
	upto = atomic_load(&s.sent) + 50;
	while (atomic_load(&s.sent) < upto)
		usleep(10 * 1000);
	atomic_store(&s.stop, true);
	pthread_join(s.thread, NULL);
	assert_false(s.failed);
	expect_stream(&c2, read, atomic_load(&s.sent));

	for (size_t i = 0; i < 2; i++) {
		assert_true(metric(&cf.nodes[i], REJECTED("signature")) == 0);
		assert_true(metric(&cf.nodes[i], "wsrelay_cluster_gaps_total") == 0);
	}
	ws_raw_close(&c1);
	ws_raw_close(&c2);
}

/* A missing, empty, short or non-hex key file: exit 1 naming the file,
 * and the key is never printed. */
static void test_bad_secret_file_refuses_start(void **state)
{
	(void)state;
	static const struct {
		const char *content; /* NULL: no file */
		const char *says;
	} cases[] = {
	    {NULL, "cannot read"},
	    {"", "no key"},
	    {"# only a comment\n\n", "no key"},
	    {"00112233445566778899aabbccddeeff\n", ":1: a key shorter than 32 bytes"},
	    {"# first\n00112233445566778899aabbccddeeff00112233445566778899aabbccddeeZZ\n",
	     ":2: a character that is not a hex digit"},
	};
	char path[256], extra[512], out[8192];
	snprintf(path, sizeof(path), "%s/bad.key", work_dir);
	snprintf(extra, sizeof(extra), "  secret_file: \"%s\"\n", path);
	struct node_options o = {.cluster_extra = extra};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unlink(path);
		if (cases[i].content)
			assert_int_equal(test_file_write(path, cases[i].content), 0);
		assert_int_equal(run_refused(&o, out, sizeof(out)), 1);
		if (!strstr(out, path) || !strstr(out, cases[i].says))
			fail_msg("case %zu: expected %s and \"%s\" in: %s", i, path, cases[i].says,
			         out);
		if (cases[i].content && strstr(out, "00112233445566778899"))
			fail_msg("case %zu: the key was printed: %s", i, out);
	}
}

/* ---- the receive path and a client that stopped reading ---- */

/* "<i> ": the receiver checks the numbers. */
static int number_head(char *head, long i)
{
	return snprintf(head, PACED_HEAD_CAP, "%ld ", i);
}

/* Drains a client's echoes so that the sender is never a slow consumer. */
struct drain {
	struct ws_raw *ws;
	atomic_bool stop;
	pthread_t thread;
};

static void *drain_main(void *arg)
{
	struct drain *d = arg;
	while (!atomic_load(&d->stop)) {
		struct ws_raw_frame f;
		if (ws_raw_read_message(d->ws, &f, 200) == WS_FRAME)
			ws_raw_frame_free(&f);
	}
	return NULL;
}

/* One local client on node2 stops reading while node1's client publishes
 * at 2000 messages a second: the stalled client is dropped on its own,
 * node2's other client gets every message in order, and node2's link to
 * the broker is never cut. */
static void test_stalled_local_client_does_not_stall_the_receiver(void **state)
{
	(void)state;
	enum { COUNT = 10000, SIZE = 2048, RATE = 2000 };
	/* Redis cuts a subscriber that falls 8 MB behind for 5 s, or 16 MB
	 * behind at all (a tighter pub/sub output buffer than its default): a
	 * receiver that waited on a client would lose its link here, 20 MB
	 * in 5 s coming its way. A healthy one under a sanitizer on a loaded
	 * machine need only take 4 MB of them in those 5 s (the rate was 5000
	 * a second, which asked 2.5 times that). */
	if (cf.kind == TEST_BROKER_REDIS)
		snprintf(cf.broker.config_text, sizeof(cf.broker.config_text),
		         "client-output-buffer-limit pubsub 16mb 8mb 5\n");
	struct node_options o = {0};
	assert_int_equal(broker_start(&cf.broker), 0);
	start_node(0, &o);
	start_node(1, &o);
	wait_linked(&cf.nodes[0]);
	wait_linked(&cf.nodes[1]);

	struct ws_raw sender, reader, stalled;
	open_client(&sender, &cf.nodes[0]);
	open_client(&reader, &cf.nodes[1]);
	until_crossing(&sender, &reader);
	char got[64];
	do
		next_text(&reader, got, sizeof(got), 300);
	while (got[0]);
	open_client(&stalled, &cf.nodes[1]);

	struct drain d = {.ws = &sender};
	struct paced_sender p = {
	    .ws = &sender, .count = COUNT, .rate = RATE, .size = SIZE, .head = number_head};
	assert_int_equal(pthread_create(&d.thread, NULL, drain_main, &d), 0);
	assert_int_equal(paced_sender_start(&p), 0);

	for (int i = 0; i < COUNT; i++) {
		struct ws_raw_frame f;
		if (ws_raw_read_message(&reader, &f, 30000) != WS_FRAME)
			fail_msg("the reader got %d of %d messages", i, COUNT);
		int n = (int)strtol((const char *)f.payload, NULL, 10);
		bool ok = f.opcode == 1 && f.len == SIZE && n == i;
		ws_raw_frame_free(&f);
		if (!ok)
			fail_msg("message %d: got number %d (a gap or a reorder)", i, n);
	}
	bool sent_all = paced_sender_join(&p);
	atomic_store(&d.stop, true);
	pthread_join(d.thread, NULL);
	assert_true(sent_all);

	wait_metric(&cf.nodes[1], "wsrelay_disconnections_total{reason=\"slow_consumer\"}", 1,
	            WAIT_MS);
	assert_true(metric(&cf.nodes[1], "wsrelay_cluster_reconnects_total") == 0);
	assert_true(metric(&cf.nodes[1], "wsrelay_cluster_gaps_total") == 0);
	assert_true(metric(&cf.nodes[1], "wsrelay_cluster_connected") == 1);
	ws_raw_close(&sender);
	ws_raw_close(&reader);
	ws_raw_close(&stalled);
}

/* ---- broker credentials ---- */

/* Two nodes on url relay to each other. */
static void expect_pair_relays(const char *url, const char *cluster_extra)
{
	struct node_options o = {.url = url, .cluster_extra = cluster_extra};
	struct ws_raw c1, c2;
	start_node(0, &o);
	start_node(1, &o);
	wait_linked(&cf.nodes[0]);
	wait_linked(&cf.nodes[1]);
	open_client(&c1, &cf.nodes[0]);
	open_client(&c2, &cf.nodes[1]);
	until_crossing(&c1, &c2);
	ws_raw_close(&c1);
	ws_raw_close(&c2);
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(relay_stop(&cf.nodes[i], SIGTERM, 15000), 0);
	cf.node_count = 0;
}

/* The password is shown as "***" by --check-config and never logged. */
static void expect_password_hidden(const char *url, const char *password)
{
	char yaml[4096], path[256], out[16384];
	struct node_options o = {.url = url};
	node_yaml(yaml, sizeof(yaml), 0, &o);
	snprintf(path, sizeof(path), "%s/check.yaml", work_dir);
	write_config(yaml, path);
	char *argv[] = {"wsrelay", "--config-file", path, "--check-config", NULL};
	assert_int_equal(relay_run(WSRELAY_BIN, argv, out, sizeof(out), 20000), 0);
	if (strstr(out, password) || !strstr(out, ":***@127.0.0.1"))
		fail_msg("--check-config shows the password: %s", out);
}

static void test_redis_requirepass(void **state)
{
	(void)state;
	char url[256], out[8192];
	snprintf(cf.broker.config_text, sizeof(cf.broker.config_text), "requirepass s3cret-pw\n");
	assert_int_equal(broker_start(&cf.broker), 0);

	snprintf(url, sizeof(url), "redis://:s3cret-pw@127.0.0.1:%u", cf.broker.port);
	expect_pair_relays(url, NULL);
	expect_password_hidden(url, "s3cret-pw");

	/* Without a password, or a wrong one: exit 1, saying why. */
	snprintf(url, sizeof(url), "redis://:not-it@127.0.0.1:%u", cf.broker.port);
	struct node_options o = {.url = url};
	assert_int_equal(run_refused(&o, out, sizeof(out)), 1);
	if (!strstr(out, "refused AUTH") || strstr(out, "not-it"))
		fail_msg("wrong password: %s", out);
	snprintf(url, sizeof(url), "redis://127.0.0.1:%u", cf.broker.port);
	assert_int_equal(run_refused(&o, out, sizeof(out)), 1);
	if (!strstr(out, "NOAUTH"))
		fail_msg("no password: %s", out);
}

static void test_redis_acl_user(void **state)
{
	(void)state;
	char url[256], out[8192];
	/* The default user is off: only "relay" gets in, and only to publish
	 * and subscribe. */
	snprintf(cf.broker.config_text, sizeof(cf.broker.config_text),
	         "user default off\n"
	         "user relay on >acl-pw &* -@all +publish +subscribe +ping\n");
	assert_int_equal(broker_start(&cf.broker), 0);

	snprintf(url, sizeof(url), "redis://relay:acl-pw@127.0.0.1:%u/0", cf.broker.port);
	/* SELECT is not allowed for this user: without /0 then. */
	snprintf(url, sizeof(url), "redis://relay:acl-pw@127.0.0.1:%u", cf.broker.port);
	expect_pair_relays(url, NULL);
	expect_password_hidden(url, "acl-pw");

	snprintf(url, sizeof(url), "redis://relay:wrong@127.0.0.1:%u", cf.broker.port);
	struct node_options o = {.url = url};
	assert_int_equal(run_refused(&o, out, sizeof(out)), 1);
	if (!strstr(out, "WRONGPASS") || strstr(out, "wrong@"))
		fail_msg("wrong password: %s", out);
	snprintf(url, sizeof(url), "redis://nobody:acl-pw@127.0.0.1:%u", cf.broker.port);
	assert_int_equal(run_refused(&o, out, sizeof(out)), 1);
	if (!strstr(out, "WRONGPASS"))
		fail_msg("unknown user: %s", out);
}

static void test_nats_token_and_user_password(void **state)
{
	(void)state;
	char url[256], extra[512], path[256];
	snprintf(cf.broker.config_text, sizeof(cf.broker.config_text),
	         "authorization {\n  token: \"t0ken-value\"\n}\n");
	assert_int_equal(broker_start(&cf.broker), 0);
	snprintf(path, sizeof(path), "%s/nats.token", work_dir);
	assert_int_equal(test_file_write(path, "t0ken-value\n"), 0);
	snprintf(extra, sizeof(extra), "  nats:\n    token_file: \"%s\"\n", path);
	broker_url(&cf.broker, url, sizeof(url));
	expect_pair_relays(url, extra);

	assert_int_equal(broker_stop(&cf.broker), 0);
	snprintf(cf.broker.config_text, sizeof(cf.broker.config_text),
	         "authorization {\n  user: relay\n  password: \"nats-pw\"\n}\n");
	assert_int_equal(broker_start(&cf.broker), 0);
	snprintf(url, sizeof(url), "nats://relay:nats-pw@127.0.0.1:%u", cf.broker.port);
	expect_pair_relays(url, NULL);
	expect_password_hidden(url, "nats-pw");

	/* A wrong password: the server answers and refuses, exit 1. */
	char out[8192];
	snprintf(url, sizeof(url), "nats://relay:wrong-pw@127.0.0.1:%u", cf.broker.port);
	struct node_options o = {.url = url};
	assert_int_equal(run_refused(&o, out, sizeof(out)), 1);
	if (!strstr(out, "check the user and password") || strstr(out, "wrong-pw"))
		fail_msg("wrong password: %s", out);
}

static void test_nats_nkey(void **state)
{
	(void)state;
	uint8_t raw[32];
	char seed[NKEY_SEED_SIZE], public_key[NKEY_PUBLIC_SIZE];
	char path[256], extra[512], url[256];
	assert_int_equal(RAND_bytes(raw, sizeof(raw)), 1);
	nkey_user_seed_encode(raw, seed);
	assert_int_equal(nkey_user_public_from_seed(seed, public_key), 0);
	assert_int_equal(seed[0], 'S');
	assert_int_equal(seed[1], 'U');
	assert_int_equal(public_key[0], 'U');

	/* nats-server checks the signature against the public key it was
	 * given: a wrong derivation or encoding would not get in. */
	snprintf(cf.broker.config_text, sizeof(cf.broker.config_text),
	         "authorization {\n  users = [ { nkey: %s } ]\n}\n", public_key);
	assert_int_equal(broker_start(&cf.broker), 0);
	snprintf(path, sizeof(path), "%s/user.nk", work_dir);
	char line[NKEY_SEED_SIZE + 2];
	snprintf(line, sizeof(line), "%s\n", seed);
	assert_int_equal(test_file_write(path, line), 0);
	snprintf(extra, sizeof(extra), "  nats:\n    nkey_seed_file: \"%s\"\n", path);
	broker_url(&cf.broker, url, sizeof(url));
	expect_pair_relays(url, extra);

	/* A seed with a broken checksum is refused at start, not printed. */
	seed[10] = seed[10] == 'A' ? 'B' : 'A';
	snprintf(line, sizeof(line), "%s\n", seed);
	assert_int_equal(test_file_write(path, line), 0);
	char out[8192];
	struct node_options o = {.url = url, .cluster_extra = extra};
	assert_int_equal(run_refused(&o, out, sizeof(out)), 1);
	if (!strstr(out, "no NKey user seed") || strstr(out, seed))
		fail_msg("bad seed: %s", out);
}

static void test_nats_tls(void **state)
{
	(void)state;
	char ca_path[256], cert_path[256], key_path[256];
	struct pki_entity *ca = pki_issue(PKI_CA, "test CA", 1, -60, 3600, NULL);
	struct pki_entity *leaf = pki_issue(PKI_SERVER, "localhost", 2, -60, 3600, ca);
	assert_non_null(ca);
	assert_non_null(leaf);
	snprintf(ca_path, sizeof(ca_path), "%s/ca.pem", work_dir);
	snprintf(cert_path, sizeof(cert_path), "%s/server.pem", work_dir);
	snprintf(key_path, sizeof(key_path), "%s/server.key", work_dir);
	assert_int_equal(pki_write(ca, ca_path, NULL, false), 0);
	assert_int_equal(pki_write(leaf, cert_path, key_path, false), 0);
	pki_free(leaf);
	pki_free(ca);

	snprintf(cf.broker.config_text, sizeof(cf.broker.config_text),
	         "tls {\n  cert_file: \"%s\"\n  key_file: \"%s\"\n}\n", cert_path, key_path);
	assert_int_equal(broker_start(&cf.broker), 0);
	char url[256], extra[1024];
	snprintf(url, sizeof(url), "tls://127.0.0.1:%u", cf.broker.port);
	snprintf(extra, sizeof(extra), "  nats:\n    tls:\n      ca: \"%s\"\n", ca_path);
	expect_pair_relays(url, extra);

	/* Without our CA the server's certificate is not trusted: the server
	 * answered, so this is a start-up error, not a retry loop. */
	struct node_options o = {.url = url};
	char out[8192];
	assert_int_equal(run_refused(&o, out, sizeof(out)), 1);
	if (!strstr(out, "check cluster.nats.tls"))
		fail_msg("untrusted certificate: %s", out);
}

/* A nats-server with max_payload 64 KiB: a node whose largest message
 * would not fit refuses to start, saying both numbers and what to change;
 * with allow_local_only_oversize it starts, and relays a large message to
 * its own clients only. */
static void test_nats_max_payload(void **state)
{
	(void)state;
	char out[8192];
	snprintf(cf.broker.config_text, sizeof(cf.broker.config_text), "max_payload: 65536\n");
	assert_int_equal(broker_start(&cf.broker), 0);
	struct node_options o = {.max_message_bytes = "100000"};
	assert_int_equal(run_refused(&o, out, sizeof(out)), 1);
	if (!strstr(out, "65536") || !strstr(out, "100000") || !strstr(out, "max_payload") ||
	    !strstr(out, "allow_local_only_oversize"))
		fail_msg("refusal: %s", out);

	o.cluster_extra = "  allow_local_only_oversize: true\n";
	start_node(0, &o);
	start_node(1, &o);
	wait_linked(&cf.nodes[0]);
	wait_linked(&cf.nodes[1]);
	struct ws_raw c1, c2;
	open_client(&c1, &cf.nodes[0]);
	open_client(&c2, &cf.nodes[1]);
	until_crossing(&c1, &c2);
	char got[64];
	do
		next_text(&c1, got, sizeof(got), 300);
	while (got[0]);

	static char big[90001];
	memset(big, 'b', sizeof(big) - 1);
	for (int i = 0; i < 3; i++)
		say(&c1, big);
	say(&c1, "small");
	for (int i = 0; i < 3; i++) {
		struct ws_raw_frame f;
		assert_int_equal(ws_raw_read_message(&c1, &f, WAIT_MS), WS_FRAME);
		assert_int_equal(f.len, sizeof(big) - 1);
		ws_raw_frame_free(&f);
	}
	expect_message(&c1, "small");
	expect_message(&c2, "small");
	wait_metric(&cf.nodes[0], "wsrelay_cluster_dropped_total{reason=\"too_large\"}", 3,
	            WAIT_MS);
	assert_true(metric(&cf.nodes[0], "wsrelay_cluster_dropped_total{reason=\"too_large\"}") ==
	            3);
	assert_true(metric(&cf.nodes[1], "wsrelay_cluster_gaps_total") == 0);
	ws_raw_close(&c1);
	ws_raw_close(&c2);
	char log[65536];
	assert_int_equal(relay_stop_capture(&cf.nodes[0], SIGTERM, 15000, log, sizeof(log)), 0);
	/* Three in a row, one warning. */
	const char *first = strstr(log, "larger than the broker takes");
	assert_non_null(first);
	assert_null(strstr(first + 1, "larger than the broker takes"));
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(int argc, char **argv)
{
	if (cluster_fixture_args(&cf, argc, argv, "test_cluster_security") != 0)
		return 2;
	const struct CMUnitTest both[] = {
	    TEST(test_forged_envelopes_rejected_on_every_node),
	    TEST(test_sequence_jump_from_impostor_has_no_effect),
	    TEST(test_key_rotation_loses_nothing),
	    TEST(test_bad_secret_file_refuses_start),
	    TEST(test_rooms_signature_covers_the_room),
	    TEST(test_stalled_local_client_does_not_stall_the_receiver),
	};
	const struct CMUnitTest redis[] = {
	    TEST(test_redis_requirepass),
	    TEST(test_redis_acl_user),
	};
	const struct CMUnitTest nats[] = {
	    TEST(test_nats_token_and_user_password),
	    TEST(test_nats_nkey),
	    TEST(test_nats_tls),
	    TEST(test_nats_max_payload),
	};
	int failed = cmocka_run_group_tests_name(broker_kind_name(cf.kind), both, NULL, NULL);
	if (cf.kind == TEST_BROKER_REDIS)
		failed += cmocka_run_group_tests_name("redis credentials", redis, NULL, NULL);
	else
		failed += cmocka_run_group_tests_name("nats security", nats, NULL, NULL);
	return failed;
}
