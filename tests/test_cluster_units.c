/* The pure parts of cluster mode: the envelope codec, the per-peer
 * sequence accounting, the backoff, broker URLs and the frames made for
 * messages from other nodes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "broker_url.h"
#include "cluster_envelope.h"
#include "cluster_peers.h"
#include "shared_frame.h"

static size_t make(uint8_t *out, uint8_t opcode, const char *id, uint64_t seq, const char *payload)
{
	size_t id_len = strlen(id), len = strlen(payload);
	envelope_write_header(out, opcode, id, id_len, seq);
	uint8_t *body = out + envelope_header_size(id_len);
	/* The payload is counted bytes, as on the wire: no NUL. */
	memcpy(body, payload, len); // NOLINT(bugprone-not-null-terminated-result)
	return envelope_header_size(id_len) + len;
}

static void test_envelope_round_trip(void **state)
{
	(void)state;
	uint8_t buf[600];
	struct envelope env;
	size_t n = make(buf, 2, "node-1", UINT64_C(0x0102030405060708), "payload");

	assert_int_equal(n, 12 + 6 + 7);
	assert_int_equal(buf[0], 0x77);
	assert_int_equal(buf[1], 1);
	assert_int_equal(buf[4 + 6], 0x01); /* big-endian */
	assert_int_equal(envelope_decode(buf, n, &env), ENVELOPE_OK);
	assert_int_equal(env.opcode, 2);
	assert_int_equal(env.node_id_len, 6);
	assert_memory_equal(env.node_id, "node-1", 6);
	assert_true(env.seq == UINT64_C(0x0102030405060708));
	assert_int_equal(env.payload_len, 7);
	assert_memory_equal(env.payload, "payload", 7);

	/* An empty payload, and the longest node id. */
	char id[256];
	memset(id, 'n', 255);
	id[255] = '\0';
	n = make(buf, 1, id, UINT64_MAX, "");
	assert_int_equal(envelope_decode(buf, n, &env), ENVELOPE_OK);
	assert_int_equal(env.node_id_len, 255);
	assert_int_equal(env.payload_len, 0);
	assert_true(env.seq == UINT64_MAX);
}

static void test_envelope_every_truncation_is_refused(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct envelope env;
	size_t n = make(buf, 1, "abc", 42, "");

	/* Cut anywhere inside the header: refused, never read past the end
	 * (ASan would see it: each prefix is decoded from its own copy). */
	for (size_t len = 0; len < n; len++) {
		uint8_t *copy = malloc(len ? len : 1);
		assert_non_null(copy);
		memcpy(copy, buf, len);
		assert_int_equal(envelope_decode(copy, len, &env), ENVELOPE_TRUNCATED);
		assert_null(env.payload);
		free(copy);
	}
	assert_int_equal(envelope_decode(buf, n, &env), ENVELOPE_OK);
}

static void test_envelope_bad_fields(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct envelope env;
	size_t n = make(buf, 1, "abc", 42, "hi");

	buf[0] = 'h';
	assert_int_equal(envelope_decode(buf, n, &env), ENVELOPE_BAD_MAGIC);
	assert_int_equal(envelope_decode("x", 1, &env), ENVELOPE_BAD_MAGIC);
	buf[0] = 0x77;
	buf[1] = 2;
	assert_int_equal(envelope_decode(buf, n, &env), ENVELOPE_BAD_VERSION);
	buf[1] = 1;
	for (unsigned op = 0; op < 256; op++) {
		buf[2] = (uint8_t)op;
		enum envelope_status want = op == 1 || op == 2 ? ENVELOPE_OK : ENVELOPE_BAD_OPCODE;
		assert_int_equal(envelope_decode(buf, n, &env), want);
	}
	buf[2] = 1;
	buf[3] = 0;
	assert_int_equal(envelope_decode(buf, n, &env), ENVELOPE_BAD_NODE_ID);
	buf[3] = 200; /* longer than what follows */
	assert_int_equal(envelope_decode(buf, n, &env), ENVELOPE_TRUNCATED);
	assert_string_equal(envelope_status_text(ENVELOPE_BAD_MAGIC), "not a wsrelay envelope");
}

static enum peer_verdict observe(struct peer_table *t, const char *id, uint64_t seq,
                                 uint64_t *missed)
{
	return peer_table_observe(t, id, strlen(id), seq, missed);
}

static void test_peers_order_gaps_duplicates_restarts(void **state)
{
	(void)state;
	struct peer_table *t = peer_table_create(4);
	uint64_t missed = 99;
	uint64_t base = UINT64_C(1000) * PEER_SEQ_WINDOW + 1;

	assert_non_null(t);
	assert_int_equal(observe(t, "a", base, &missed), PEER_FIRST);
	assert_int_equal(observe(t, "a", base + 1, &missed), PEER_NEXT);
	assert_int_equal(missed, 0);
	assert_int_equal(observe(t, "a", base + 1, &missed), PEER_DUPLICATE);
	assert_int_equal(observe(t, "a", base, &missed), PEER_DUPLICATE);
	assert_int_equal(observe(t, "a", base + 5, &missed), PEER_GAP);
	assert_int_equal(missed, 3);
	assert_int_equal(observe(t, "a", base + 4, &missed), PEER_DUPLICATE);
	/* A restart (a later start time) is not a gap... */
	uint64_t later = base + 7 * PEER_SEQ_WINDOW;
	assert_int_equal(observe(t, "a", later, &missed), PEER_RESTART);
	assert_int_equal(missed, 0);
	/* ...nor is one with the clock set back. */
	assert_int_equal(observe(t, "a", base, &missed), PEER_RESTART);
	assert_int_equal(observe(t, "a", base + 1, &missed), PEER_NEXT);
	/* Peers are told apart by the whole id. */
	assert_int_equal(observe(t, "ab", base, &missed), PEER_FIRST);
	assert_int_equal(peer_table_count(t), 2);
	peer_table_destroy(t);
}

static void test_peers_forget_the_least_recent(void **state)
{
	(void)state;
	struct peer_table *t = peer_table_create(2);
	uint64_t missed;

	assert_int_equal(observe(t, "a", 10, &missed), PEER_FIRST);
	assert_int_equal(observe(t, "b", 10, &missed), PEER_FIRST);
	assert_int_equal(observe(t, "a", 11, &missed), PEER_NEXT);
	assert_int_equal(observe(t, "c", 10, &missed), PEER_FIRST); /* b goes */
	assert_int_equal(peer_table_count(t), 2);
	assert_int_equal(observe(t, "a", 12, &missed), PEER_NEXT);
	assert_int_equal(observe(t, "b", 11, &missed), PEER_FIRST);
	peer_table_destroy(t);
	assert_null(peer_table_create(0));
}

static void test_backoff_grows_capped_with_jitter(void **state)
{
	(void)state;
	for (uint32_t attempt = 0; attempt < 40; attempt++) {
		uint64_t d = 100;
		for (uint32_t i = 0; i < attempt && d < 5000; i++)
			d *= 2;
		if (d > 5000)
			d = 5000;
		uint32_t lowest = backoff_delay_ms(attempt, 100, 5000, 0);
		uint32_t highest = backoff_delay_ms(attempt, 100, 5000, (uint32_t)(d / 2));
		assert_int_equal(lowest, d - d / 2);
		assert_int_equal(highest, d);
		for (uint32_t r = 0; r < 1000; r += 7) {
			uint32_t ms = backoff_delay_ms(attempt, 100, 5000, r * 2654435761u);
			assert_true(ms >= lowest && ms <= highest);
		}
	}
	assert_int_equal(backoff_delay_ms(UINT32_MAX, 100, 5000, 0), 2500);
}

static void test_broker_urls(void **state)
{
	(void)state;
	struct broker_url u;
	char why[256];

	assert_int_equal(broker_url_parse("redis://127.0.0.1:6380", &u, why, sizeof(why)), 0);
	assert_int_equal(u.scheme, CLUSTER_BROKER_REDIS);
	assert_string_equal(u.host, "127.0.0.1");
	assert_int_equal(u.port, 6380);
	assert_int_equal(broker_url_parse("redis://cache.internal", &u, why, sizeof(why)), 0);
	assert_int_equal(u.port, 6379);
	assert_int_equal(broker_url_parse("nats://user:pw@[::1]", &u, why, sizeof(why)), 0);
	assert_int_equal(u.scheme, CLUSTER_BROKER_NATS);
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 4222);

	static const char *const bad[][2] = {
	    {"http://x", "must start with \"redis://\" or \"nats://\""},
	    {"redis://", "names no host"},
	    {"redis://h:0", "needs a port from 1 to 65535"},
	    {"redis://h:65536", "needs a port from 1 to 65535"},
	    {"redis://h:", "needs a port"},
	    {"redis://h/x", "may only have a database number as its path"},
	    {"nats://h/0", "must not have a path"},
	    {"redis://h x", "invalid character in the host"},
	    {"redis://user@h", "user info without a password"},
	    {"nats://[::1", "unclosed"},
	    {"nats://[zz]:1", "invalid IPv6"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (broker_url_parse(bad[i][0], &u, why, sizeof(why)) != -1 ||
		    !strstr(why, bad[i][1]))
			fail_msg("%s: got \"%s\", want \"%s\"", bad[i][0], why, bad[i][1]);
	}
}

static void test_frames_for_remote_messages(void **state)
{
	(void)state;
	static const size_t lens[] = {0, 125, 126, 65535, 65536};
	static const size_t headers[] = {2, 2, 4, 4, 10};
	uint8_t *payload = calloc(1, 65536);

	assert_non_null(payload);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct shared_frame *f = shared_frame_from_payload(2, payload, lens[i]);
		assert_non_null(f);
		assert_int_equal(f->len, headers[i] + lens[i]);
		assert_int_equal(f->payload_len, lens[i]);
		assert_int_equal(f->data[0], 0x82);
		shared_frame_unref(f);
	}
	free(payload);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_envelope_round_trip),
	    cmocka_unit_test(test_envelope_every_truncation_is_refused),
	    cmocka_unit_test(test_envelope_bad_fields),
	    cmocka_unit_test(test_peers_order_gaps_duplicates_restarts),
	    cmocka_unit_test(test_peers_forget_the_least_recent),
	    cmocka_unit_test(test_backoff_grows_capped_with_jitter),
	    cmocka_unit_test(test_broker_urls),
	    cmocka_unit_test(test_frames_for_remote_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
