/* The envelope codec between nodes (envelope.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "envelope.h"

static size_t make(uint8_t *out, uint8_t opcode, const char *id, uint64_t seq, const char *payload)
{
	size_t id_len = strlen(id), len = strlen(payload);
	envelope_write_header(out, opcode, id, id_len, NULL, 0, 0, seq);
	uint8_t *body = out + envelope_header_size(id_len, 0);
	/* The payload is counted bytes, as on the wire: no NUL. */
	memcpy(body, payload, len); // NOLINT(bugprone-not-null-terminated-result)
	return envelope_header_size(id_len, 0) + len;
}

/* Version 2: with a room and its epoch. */
static size_t make_v2(uint8_t *out, uint8_t opcode, const char *id, const char *room,
                      uint64_t epoch, uint64_t seq, const char *payload)
{
	size_t id_len = strlen(id), room_len = strlen(room), len = strlen(payload);
	size_t header = envelope_header_size(id_len, room_len);
	envelope_write_header(out, opcode, id, id_len, room, room_len, epoch, seq);
	memcpy(out + header, payload, len); // NOLINT(bugprone-not-null-terminated-result)
	return header + len;
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
	buf[1] = 3;
	assert_int_equal(envelope_decode(buf, n, &env), ENVELOPE_BAD_VERSION);
	buf[1] = 0;
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

/* Version 1 is what a relay without rooms always sent: the exact bytes. */
static void test_envelope_version_1_bytes_unchanged(void **state)
{
	(void)state;
	uint8_t buf[64];
	static const uint8_t want[] = {0x77, 1, 1, 2, 'n',  '1',  0,   0,
	                               0,    0, 0, 0, 0x01, 0x02, 'h', 'i'};
	size_t n = make(buf, 1, "n1", 0x0102, "hi");
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	struct envelope env;
	assert_int_equal(envelope_decode(buf, n, &env), ENVELOPE_OK);
	assert_int_equal(env.version, 1);
	assert_int_equal(env.room_len, 0);
	assert_null(env.room);
	assert_true(env.epoch == 0);
}

static void test_envelope_v2_round_trip(void **state)
{
	(void)state;
	uint8_t buf[600];
	struct envelope env;
	size_t n = make_v2(buf, 2, "node-1", "chat-42", UINT64_C(0x1112131415161718),
	                   UINT64_C(0x0102030405060708), "payload");

	assert_int_equal(n, 21 + 6 + 7 + 7);
	assert_int_equal(buf[1], 2);
	assert_int_equal(buf[4 + 6], 7); /* the room's length */
	assert_memory_equal(buf + 11, "chat-42", 7);
	assert_int_equal(buf[18], 0x11); /* the epoch, big-endian */
	assert_int_equal(buf[26], 0x01); /* then the sequence */
	assert_int_equal(envelope_decode(buf, n, &env), ENVELOPE_OK);
	assert_int_equal(env.version, 2);
	assert_int_equal(env.opcode, 2);
	assert_int_equal(env.node_id_len, 6);
	assert_memory_equal(env.node_id, "node-1", 6);
	assert_int_equal(env.room_len, 7);
	assert_memory_equal(env.room, "chat-42", 7);
	assert_true(env.epoch == UINT64_C(0x1112131415161718));
	assert_true(env.seq == UINT64_C(0x0102030405060708));
	assert_int_equal(env.payload_len, 7);
	assert_memory_equal(env.payload, "payload", 7);

	/* The longest node id and room name, an empty payload. */
	char id[256], room[65];
	memset(id, 'n', 255);
	id[255] = '\0';
	memset(room, 'r', 64);
	room[64] = '\0';
	n = make_v2(buf, 1, id, room, 0, UINT64_MAX, "");
	assert_int_equal(n, ENVELOPE_HEADER_MAX);
	assert_int_equal(envelope_decode(buf, n, &env), ENVELOPE_OK);
	assert_int_equal(env.room_len, 64);
	assert_int_equal(env.payload_len, 0);
	assert_true(env.seq == UINT64_MAX);
}

static void test_envelope_v2_truncations_and_bad_rooms(void **state)
{
	(void)state;
	uint8_t buf[128];
	struct envelope env;
	size_t n = make_v2(buf, 1, "abc", "room", 7, 42, "");

	for (size_t len = 0; len < n; len++) {
		uint8_t *copy = malloc(len ? len : 1);
		assert_non_null(copy);
		memcpy(copy, buf, len);
		assert_int_equal(envelope_decode(copy, len, &env), ENVELOPE_TRUNCATED);
		assert_null(env.room);
		free(copy);
	}
	n = make_v2(buf, 1, "abc", "room", 7, 42, "x");
	/* An empty room, a room over 64 bytes, bytes no room name has. */
	buf[7] = 0;
	assert_int_equal(envelope_decode(buf, n, &env), ENVELOPE_BAD_ROOM);
	buf[7] = 65;
	assert_int_equal(envelope_decode(buf, n, &env), ENVELOPE_BAD_ROOM);
	buf[7] = 4;
	const char bad[] = {'/', '%', ' ', '\0', '*', '>', (char)0xff};
	for (size_t i = 0; i < sizeof(bad); i++) {
		buf[9] = (uint8_t)bad[i];
		assert_int_equal(envelope_decode(buf, n, &env), ENVELOPE_BAD_ROOM);
	}
	/* A dot at either end would make an empty NATS subject token. */
	buf[9] = 'o';
	buf[8] = '.';
	assert_int_equal(envelope_decode(buf, n, &env), ENVELOPE_BAD_ROOM);
	buf[8] = 'r';
	assert_int_equal(envelope_decode(buf, n, &env), ENVELOPE_OK);
	assert_string_equal(envelope_status_text(ENVELOPE_BAD_ROOM), "room name empty or invalid");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_envelope_version_1_bytes_unchanged),
	    cmocka_unit_test(test_envelope_v2_round_trip),
	    cmocka_unit_test(test_envelope_v2_truncations_and_bad_rooms),
	    cmocka_unit_test(test_envelope_round_trip),
	    cmocka_unit_test(test_envelope_every_truncation_is_refused),
	    cmocka_unit_test(test_envelope_bad_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
