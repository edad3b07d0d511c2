/* Per-peer, per-room sequence accounting (peer_table.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "peer_table.h"

/* Rooms off: one room "", epoch 0, the one room's life 1. */
static enum peer_verdict observe(struct peer_table *t, const char *id, uint64_t seq,
                                 uint64_t *missed)
{
	const struct peer_message m = {.node_id = id, .node_id_len = strlen(id), .seq = seq};
	return peer_table_observe(t, &m, 1, 0, missed);
}

/* Rooms on: a room, the sender's epoch for it, our room's life. */
static enum peer_verdict observe_room(struct peer_table *t, const char *id, const char *room,
                                      uint64_t epoch, uint64_t seq, uint64_t life, uint64_t now_ms)
{
	uint64_t missed;
	const struct peer_message m = {.node_id = id,
	                               .node_id_len = strlen(id),
	                               .room = room,
	                               .room_len = strlen(room),
	                               .epoch = epoch,
	                               .seq = seq};
	enum peer_verdict v = peer_table_observe(t, &m, life, now_ms, &missed);
	if (v != PEER_GAP)
		assert_int_equal(missed, 0);
	return v;
}

static void test_peers_order_gaps_duplicates_restarts(void **state)
{
	(void)state;
	struct peer_table *t = peer_table_create(4, 0);
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
	struct peer_table *t = peer_table_create(2, 0);
	uint64_t missed;

	assert_int_equal(observe(t, "a", 10, &missed), PEER_FIRST);
	assert_int_equal(observe(t, "b", 10, &missed), PEER_FIRST);
	assert_int_equal(observe(t, "a", 11, &missed), PEER_NEXT);
	assert_int_equal(observe(t, "c", 10, &missed), PEER_FIRST); /* b goes */
	assert_int_equal(peer_table_count(t), 2);
	assert_int_equal(observe(t, "a", 12, &missed), PEER_NEXT);
	assert_int_equal(observe(t, "b", 11, &missed), PEER_FIRST);
	peer_table_destroy(t);
	assert_null(peer_table_create(0, 0));
}

/* A node hearing only some rooms of a peer sees no gap: each room counts
 * on its own, whatever the peer sends in rooms not heard here. */
static void test_rooms_are_counted_apart(void **state)
{
	(void)state;
	struct peer_table *t = peer_table_create(64, 0);
	const uint64_t e = UINT64_C(5000) * PEER_SEQ_WINDOW;

	assert_int_equal(observe_room(t, "n1", "a", e + 1, 1, 1, 0), PEER_FIRST);
	assert_int_equal(observe_room(t, "n1", "b", e + 2, 1, 1, 0), PEER_FIRST);
	assert_int_equal(observe_room(t, "n1", "a", e + 1, 2, 1, 0), PEER_NEXT);
	assert_int_equal(observe_room(t, "n1", "b", e + 2, 2, 1, 0), PEER_NEXT);
	assert_int_equal(observe_room(t, "n1", "a", e + 1, 2, 1, 0), PEER_DUPLICATE);
	/* Same room name from another node: its own entry. */
	assert_int_equal(observe_room(t, "n2", "a", e + 1, 7, 1, 0), PEER_FIRST);
	/* A real gap inside one room's life is still counted. */
	uint64_t missed;
	const struct peer_message m = {.node_id = "n1",
	                               .node_id_len = 2,
	                               .room = "a",
	                               .room_len = 1,
	                               .epoch = e + 1,
	                               .seq = 6};
	assert_int_equal(peer_table_observe(t, &m, 1, 0, &missed), PEER_GAP);
	assert_int_equal(missed, 3);
	/* "n1" + "a" is not "n" + "1a". */
	assert_int_equal(observe_room(t, "n", "1a", e + 1, 7, 1, 0), PEER_FIRST);
	assert_int_equal(peer_table_count(t), 4);
	peer_table_destroy(t);
}

static void test_room_lives(void **state)
{
	(void)state;
	struct peer_table *t = peer_table_create(64, 0);
	const uint64_t e = UINT64_C(5000) * PEER_SEQ_WINDOW;

	assert_int_equal(observe_room(t, "n1", "a", e + 1, 1, 1, 0), PEER_FIRST);
	assert_int_equal(observe_room(t, "n1", "a", e + 1, 2, 1, 0), PEER_NEXT);
	/* The peer's room lived again (every member left, one came back):
	 * numbers start over under a higher epoch: a restart, not a gap. */
	assert_int_equal(observe_room(t, "n1", "a", e + 9, 1, 1, 0), PEER_RESTART);
	assert_int_equal(observe_room(t, "n1", "a", e + 9, 2, 1, 0), PEER_NEXT);
	/* A publish of the earlier life retried after a lost reply: dropped. */
	assert_int_equal(observe_room(t, "n1", "a", e + 1, 2, 1, 0), PEER_DUPLICATE);
	assert_int_equal(observe_room(t, "n1", "a", e + 9, 3, 1, 0), PEER_NEXT);
	/* The peer restarted with its clock set back: a new run. */
	assert_int_equal(observe_room(t, "n1", "a", e - 3 * PEER_SEQ_WINDOW, 1, 1, 0),
	                 PEER_RESTART);
	/* Our own room lived again (we were unsubscribed meanwhile): what
	 * the peer sent in between was never ours to count. */
	assert_int_equal(observe_room(t, "n1", "a", e - 3 * PEER_SEQ_WINDOW, 50, 2, 0), PEER_FIRST);
	assert_int_equal(observe_room(t, "n1", "a", e - 3 * PEER_SEQ_WINDOW, 51, 2, 0), PEER_NEXT);
	assert_int_equal(peer_table_count(t), 1);
	peer_table_destroy(t);
}

/* Bounded memory: idle entries go, and capacity holds under a flood of
 * rooms (every entry found again while it is there). */
static void test_idle_entries_expire_and_capacity_holds(void **state)
{
	(void)state;
	struct peer_table *t = peer_table_create(100, 1000);
	char room[16];

	assert_int_equal(observe_room(t, "n1", "keep", 1, 1, 1, 0), PEER_FIRST);
	for (int i = 0; i < 50; i++) {
		snprintf(room, sizeof(room), "r%d", i);
		assert_int_equal(observe_room(t, "n1", room, 1, 1, 1, 10), PEER_FIRST);
	}
	assert_int_equal(peer_table_count(t), 51);
	assert_int_equal(observe_room(t, "n1", "keep", 1, 2, 1, 900), PEER_NEXT);
	/* 1011 ms on: the 50 rooms heard at 10 are idle for 1001 ms. */
	assert_int_equal(observe_room(t, "n1", "keep", 1, 3, 1, 1011), PEER_NEXT);
	assert_int_equal(peer_table_count(t), 1);
	assert_int_equal(observe_room(t, "n1", "r1", 1, 2, 1, 1011), PEER_FIRST);

	for (int i = 0; i < 10000; i++) {
		snprintf(room, sizeof(room), "f%d", i);
		assert_int_equal(observe_room(t, "n2", room, 1, 1, 1, 1100), PEER_FIRST);
		assert_int_equal(observe_room(t, "n2", room, 1, 2, 1, 1100), PEER_NEXT);
		assert_true(peer_table_count(t) <= 100);
	}
	assert_int_equal(peer_table_count(t), 100);
	peer_table_destroy(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_peers_order_gaps_duplicates_restarts),
	    cmocka_unit_test(test_peers_forget_the_least_recent),
	    cmocka_unit_test(test_rooms_are_counted_apart),
	    cmocka_unit_test(test_room_lives),
	    cmocka_unit_test(test_idle_entries_expire_and_capacity_holds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
