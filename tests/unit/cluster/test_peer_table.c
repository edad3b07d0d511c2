/* Per-peer sequence accounting (peer_table.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "peer_table.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_peers_order_gaps_duplicates_restarts),
	    cmocka_unit_test(test_peers_forget_the_least_recent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
